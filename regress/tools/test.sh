#!/bin/sh
# make test: the whole suite in obj/, then again built with ASan+UBSan in
# obj-san/, then the e2e leak check under valgrind in obj-vg/.  The last
# line sums them: "N passed, N failed".
set -u

jobs=$(nproc 2>/dev/null || echo 2)
status=0
out=$(mktemp)
trap 'rm -f "$out" "$out.sum"' EXIT

for tree in obj obj-san obj-vg; do
	flags=
	[ "$tree" = obj-san ] && flags=SAN=1
	[ "$tree" = obj-vg ] && flags=VG=1
	if ! make -s -j"$jobs" OBJ=$tree $flags all >"$out" 2>&1; then
		cat "$out"
		echo "test: the $tree build failed"
		echo "0 passed, 1 failed"
		exit 1
	fi
	if [ "$tree" = obj-vg ]; then
		# the leak check of the e2e path, under valgrind
		VALGRIND=1 sh regress/tools/check.sh $tree e2e/valgrind \
		    >"$out" 2>&1
	else
		sh regress/tools/check.sh $tree >"$out" 2>&1
	fi
	[ $? -eq 0 ] || status=1
	cat "$out"
	cat "$out" >> "$out.sum"
done
set -- $(grep -E '^obj(-san|-vg)?: [0-9]+ passed' "$out.sum" |
    tr -cs '0-9\n' ' ' | awk '{p += $1; f += $2; s += $3}
    END {print p + 0, f + 0, s + 0}')
rm -f "$out.sum"
echo "$1 passed, $2 failed, $3 skipped"
[ "$2" -eq 0 ] || status=1
exit $status
