#!/bin/sh
# make test: the whole suite in obj/, then again built with ASan+UBSan in
# obj-san/.  The last line sums both: "N passed, N failed".
set -u

jobs=$(nproc 2>/dev/null || echo 2)
status=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

for tree in obj obj-san; do
	san=
	[ "$tree" = obj-san ] && san=1
	if ! make -s -j"$jobs" OBJ=$tree SAN=$san all >"$out" 2>&1; then
		cat "$out"
		echo "test: the $tree build failed"
		echo "0 passed, 1 failed"
		exit 1
	fi
	sh regress/tools/check.sh $tree | tee -a "$out.sum" || status=1
done
set -- $(grep -E '^obj(-san)?: [0-9]+ passed' "$out.sum" |
    tr -cs '0-9\n' ' ' | awk '{p += $1; f += $2; s += $3}
    END {print p + 0, f + 0, s + 0}')
rm -f "$out.sum"
echo "$1 passed, $2 failed, $3 skipped"
[ "$2" -eq 0 ] || status=1
exit $status
