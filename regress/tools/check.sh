#!/bin/sh
# Run the suite of one build tree under kyua and print
#   "<tree>: N passed, N failed, N skipped"
# then exit with kyua's status.  A private PostgreSQL serves the
# end-to-end tests that share one (each test makes its own database);
# tests that stop PostgreSQL start their own.
set -u

obj=${1:-obj}
shift 2>/dev/null
# what else is given: kyua test filters (e2e/valgrind)
top=$(pwd)
objabs=$(cd "$obj" && pwd)
pgdir=$objabs/regress-pg
pgport=${CERTAOS_TEST_PGPORT:-55432}
results=$objabs/kyua-results.db
log=$objabs/kyua.log

rm -f "$results"
if ! sh regress/tools/pgctl.sh start "$pgdir" "$pgport" >/dev/null; then
	echo "check: cannot start PostgreSQL" >&2
	exit 1
fi

# The sanitizers: make their reports fatal and readable; the children's
# leak check is left to valgrind (it cannot run under seccomp).
ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=0}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS

HOME=$objabs kyua \
    -v test_suites.certaos.builddir="$objabs" \
    -v test_suites.certaos.srcdir="$top" \
    -v test_suites.certaos.pghost="$pgdir/run" \
    -v test_suites.certaos.pgport="$pgport" \
    ${VALGRIND:+-v test_suites.certaos.valgrind=1} \
    test --kyuafile "$objabs/regress/Kyuafile" \
    --results-file "$results" "$@" >"$log" 2>&1
status=$?
grep -E -- '->  (failed|broken)' "$log" | sed "s|^|$obj: |"

sh regress/tools/pgctl.sh stop "$pgdir"

HOME=$objabs kyua report --results-file "$results" \
    --verbose --results-filter broken,failed >"$objabs/kyua-report.txt" \
    2>&1 || true
line=$(HOME=$objabs kyua report --results-file "$results" 2>/dev/null |
    grep '^Test cases:')
# Test cases: T total, S skipped, X expected failures, B broken, F failed
set -- $(echo "$line" | tr -cs '0-9' ' ')
total=${1:-0} skipped=${2:-0} xfail=${3:-0} broken=${4:-0} failed=${5:-0}
passed=$((total - skipped - xfail - broken - failed))
echo "$obj: $passed passed, $((failed + broken)) failed, $skipped skipped"
[ "$total" -gt 0 ] || status=1
exit $status
