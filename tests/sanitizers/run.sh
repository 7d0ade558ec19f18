#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tests/sanitizers/run.sh asan|memcheck BUGS: run each case of BUGS
# (tests/sanitizers/bugs.c, built against kmem) and check the report:
#   asan      BUGS built with -fsanitize=address: ASan names use-after-poison at the
#             address the program printed (kmem poisons free objects, src/mm/kasan.c);
#   memcheck  BUGS from the normal build, under valgrind --tool=memcheck: "Invalid read"
#             inside a freed block of the right size, uninitialised reads, leaks
#             (src/mm/kmemcheck.c). Exit 77 (ctest: skipped) when valgrind is missing.
# A clean run must give no report at all. docs/SANITIZERS.md shows the reports.
set -eu

mode=${1:?usage: run.sh asan|memcheck BUGS}
bugs=${2:?usage: run.sh asan|memcheck BUGS}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kmem-sanitizers.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
failures=0
# A small arena: memcheck tracks every page of it.
export KMEM_MEM=64M

fail() {
	echo "FAIL: $mode $case: $*" >&2
	sed 's/^/    | /' "$tmp/out" >&2
	failures=$((failures + 1))
}

# run CASE: BUGS CASE under the tool; its stderr in $tmp/out, the address it printed in $addr.
run() {
	case=$1
	if [ "$mode" = asan ]; then
		# Report and exit (no abort, no core); kmem's arena is no malloc heap to leak-check.
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:abort_on_error=0:halt_on_error=1:detect_leaks=0" \
			"$bugs" "$case" >"$tmp/out" 2>&1 || true
	else
		# The leak check reads every readable mapping, kmem's reservations included
		# (seconds): only where the case is a leak.
		leaks=no
		[ "$case" = leak ] && leaks=full
		valgrind --tool=memcheck --leak-check=$leaks --show-leak-kinds=definite \
			--errors-for-leak-kinds=definite "$bugs" "$case" >"$tmp/out" 2>&1 || true
	fi
	addr=$(sed -n "s/^sanitizer-bugs: $case at \(0x[0-9a-f]*\)$/\1/p" "$tmp/out")
	if [ -z "$addr" ] && [ "$case" != clean ]; then
		fail "the program did not print the address it touches"
		return 1
	fi
}

# expect PATTERN WHAT: the report holds a line matching the extended regex PATTERN.
expect() {
	grep -Eq -- "$1" "$tmp/out" || fail "no $2 (expected /$1/)"
}

reject() {
	! grep -Eq -- "$1" "$tmp/out" || fail "unexpected $2 (/$1/)"
}

asan_checks() {
	for case in cache-uaf kmalloc-uaf kmalloc-over page-uaf; do
		run "$case" || continue
		expect "ERROR: AddressSanitizer: use-after-poison on address $addr" \
			"ASan use-after-poison report at $addr"
		expect "READ of size 1 at $addr" "READ of size 1"
	done
	if run double-free; then
		expect "BUG kmalloc-64 \\(KASAN\\): Object already free" "kmem's KASAN double-free report"
		expect "Double free of $addr" "the address in the report"
		expect "after the double free: two different objects" "a second free that was ignored"
	fi
	run clean
	reject "AddressSanitizer" "ASan report on a clean run"
	expect "sanitizer-bugs: clean at" "end of the clean run"
}

memcheck_checks() {
	if ! command -v valgrind >/dev/null 2>&1; then
		echo "SKIPPED: valgrind is not installed (make deps installs it)"
		exit 77
	fi
	for case in cache-uaf kmalloc-uaf kmalloc-over; do
		run "$case" || continue
		expect "Invalid read of size 1" "memcheck Invalid read"
		case $case in
		cache-uaf) block="8 bytes inside a block of size 96 free'd" ;;
		kmalloc-uaf) block="16 bytes inside a block of size 100 free'd" ;; # the size asked for
		*) block="in a " ;; # the class padding: no block holds it
		esac
		expect "Address $addr is $block" "memcheck's description of $addr"
	done
	run uninit &&
		expect "Conditional jump or move depends on uninitialised value" \
			"memcheck uninitialised-value report"
	run leak &&
		expect "definitely lost: [1-9][0-9,]* bytes in [1-9][0-9]* blocks" \
			"memcheck leak report"
	if run double-free; then
		expect "Double free of $addr" "kmem's double-free report"
		expect "after the double free: two different objects" "a second free that was ignored"
	fi
	run clean
	expect "ERROR SUMMARY: 0 errors" "clean memcheck run"
}

"${mode}_checks"
if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed" >&2
	exit 1
fi
echo "all $mode reports as expected"
