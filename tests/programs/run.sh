#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tests/programs/run.sh BUILD_DIR: real programs under the malloc replacement.
# Each runs once on glibc's malloc and once under BUILD_DIR/kmem-run, and the
# two outputs must be the same: python3 (dicts, threads, subprocess, sqlite3),
# sqlite3 building and querying a database, git in a temporary repository, a
# C++ program using the standard containers (compiled by g++, itself run
# under the preload), and sort of a large generated file. Then kmem-run's own
# behaviour: --stats reports, LD_PRELOAD kept, option errors and exit codes.
# Missing programs are installed with apt-get when we may (root or sudo).
set -eu

build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
run="$build/kmem-run"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kmem-programs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# Install what is missing: command name -> Debian package.
need() {
	missing=""
	for pair in "$@"; do
		command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair#*:}"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" = 0 ]; then
		sudo=""
	elif command -v sudo >/dev/null 2>&1; then
		sudo="sudo"
	else
		echo "run.sh: missing:$missing; install them (apt-get install$missing)" >&2
		exit 1
	fi
	echo "run.sh: installing:$missing" >&2
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
	# shellcheck disable=SC2086
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		$missing >&2
}

need python3:python3 sqlite3:sqlite3 git:git g++:g++ sort:coreutils
python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3)

# same NAME CMD...: CMD's stdout and exit status, with and without the preload.
same() {
	name=$1
	shift
	set +e
	"$@" >"$tmp/$name.glibc" 2>"$tmp/$name.glibc.err"
	want=$?
	"$run" -- "$@" >"$tmp/$name.kmem" 2>"$tmp/$name.kmem.err"
	got=$?
	set -e
	if [ "$want" != "$got" ]; then
		fail "$name: exit status $got under kmem, $want without"
		sed 's/^/  /' "$tmp/$name.kmem.err" >&2
	elif ! cmp -s "$tmp/$name.glibc" "$tmp/$name.kmem"; then
		fail "$name: output differs under kmem"
		diff "$tmp/$name.glibc" "$tmp/$name.kmem" | head -20 >&2
	elif [ ! -s "$tmp/$name.kmem" ]; then
		fail "$name: no output"
	else
		echo "ok: $name ($(wc -l <"$tmp/$name.kmem") lines)"
	fi
}

# --- python3: dicts, strings, threads, a subprocess, sqlite3, json
same python "$python" "$src/examples/workload.py"

# --- sqlite3: build a database of 200k rows, index it, query it
cat >"$tmp/db.sql" <<'SQL'
CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, v INTEGER, pad TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 200000)
INSERT INTO t (k, v, pad) SELECT printf('key%06d', (x * 7919) % 100003), x % 1000,
	substr('abcdefghijklmnopqrstuvwxyz0123456789', 1 + x % 30) FROM c;
CREATE INDEX t_k ON t (k);
CREATE INDEX t_v ON t (v);
SELECT count(*), count(DISTINCT k), sum(v) FROM t;
SELECT v, count(*), min(k), max(k) FROM t GROUP BY v ORDER BY count(*) DESC, v LIMIT 5;
SELECT a.k, count(*) FROM t a JOIN t b ON a.k = b.k WHERE a.v < 3 GROUP BY a.k ORDER BY 2 DESC, 1 LIMIT 5;
UPDATE t SET pad = upper(pad) WHERE v % 3 = 0;
DELETE FROM t WHERE v > 900;
VACUUM;
SELECT count(*), sum(length(pad)) FROM t;
SQL
same sqlite3 sh -c 'rm -f "$1"; sqlite3 "$1" <"$2"' sh "$tmp/run.db" "$tmp/db.sql"

# --- git: init, add, commit, log in a temporary repository (fixed dates: same hashes)
cat >"$tmp/git.sh" <<'GIT'
set -e
rm -rf "$1" && mkdir "$1" && cd "$1"
export GIT_AUTHOR_NAME=kmem GIT_AUTHOR_EMAIL=kmem@example.org GIT_COMMITTER_NAME=kmem
export GIT_COMMITTER_EMAIL=kmem@example.org GIT_CONFIG_NOSYSTEM=1 HOME="$1"
export GIT_AUTHOR_DATE='2024-01-01T00:00:00Z' GIT_COMMITTER_DATE='2024-01-01T00:00:00Z'
git init -q -b main .
for i in 1 2 3 4 5 6 7 8; do
	seq 1 $((i * 2000)) | sed "s/^/line $i /" >"file$i.txt"
	git add "file$i.txt"
	git commit -q -m "commit $i"
done
git log --stat --format='%H %s'
git gc -q
git log --oneline | wc -l
GIT
same git sh "$tmp/git.sh" "$tmp/repo"

# --- C++: g++ (under the preload, and without) compiles the containers program
"$run" -- g++ -O1 -std=c++17 -pthread -o "$tmp/containers" "$src/tests/programs/containers.cpp" ||
	fail "g++ under kmem could not compile containers.cpp"
[ -x "$tmp/containers" ] && same containers "$tmp/containers"

# --- sort: a large generated file, in memory and with temporary files and threads
awk 'BEGIN { x = 1; for (i = 0; i < 400000; i++) { x = (x * 69069 + 1) % 4294967296;
	printf "%08x %d line %d\n", x, x % 1000, i } }' >"$tmp/big.txt"
same sort sort "$tmp/big.txt"
same sort-parallel sort -S 4M --parallel=2 -T "$tmp" -k2,2n -k1,1 "$tmp/big.txt"

# --- kmem-run --stats: one report per process, the subprocess's included
rm -f "$tmp/stats.txt"
"$run" --stats="$tmp/stats.txt" -- "$python" -c \
	'import subprocess, sys; subprocess.run([sys.executable, "-c", "print(1)"], check=True)' \
	>/dev/null || fail "--stats run failed"
reports=$(grep -c '^==== kmem: pid [0-9]* (python3) exits ====$' "$tmp/stats.txt" || true)
[ "$reports" -ge 2 ] || fail "--stats=FILE: $reports reports, expected one per process (2)"
grep -q '^kmalloc-64 ' "$tmp/stats.txt" || fail "--stats: no slabinfo in the report"
grep -q '^Node 0, zone' "$tmp/stats.txt" || fail "--stats: no buddyinfo in the report"
grep -q '^MemTotal:' "$tmp/stats.txt" || fail "--stats: no meminfo in the report"
"$run" --stats -- true 2>"$tmp/stderr.txt" || fail "--stats -- true failed"
grep -q '^==== kmem: pid [0-9]* (true) exits' "$tmp/stderr.txt" || fail "--stats: no report on stderr"
[ $failures -eq 0 ] && echo "ok: --stats"

# --- kmem-run --debug=U: a leak report at exit naming the allocation site and count, for
# the command and for each child that execs (here the shell's child)
cc=$(command -v gcc || command -v cc || true)
if [ -n "$cc" ]; then
	"$cc" -O1 -g -rdynamic -o "$tmp/leak" "$src/tests/programs/leak.c"
	"$run" --debug=U -- sh -c '"$1"; echo shell-done' sh "$tmp/leak" >"$tmp/leak.out" \
		2>"$tmp/leak.err" || fail "--debug=U: the leaking program failed"
	grep -q 'pid [0-9]* (leak) exits: 5 objects remaining in kmalloc-128, by allocation site' \
		"$tmp/leak.err" || fail "--debug=U: no report of the 5 leaked objects: $(cat "$tmp/leak.err")"
	grep -q '^kmem: 5 objects allocated like' "$tmp/leak.err" ||
		fail "--debug=U: the 5 objects are not one site"
	grep -q '^kmem: Allocated in leaky_site+0x[0-9a-f]* (leak)' "$tmp/leak.err" ||
		fail "--debug=U: the report does not name leaky_site"
	grep -q 'libkmem-malloc' "$tmp/leak.err" &&
		fail "--debug=U: kmem's own allocations reported: $(cat "$tmp/leak.err")"
	[ $failures -eq 0 ] && echo "ok: --debug=U leak report"

	# C++: the owner is the function with the new expression, not libstdc++'s operator new
	cxx=$(command -v g++ || true)
	if [ -n "$cxx" ]; then
		"$cxx" -O1 -g -rdynamic -o "$tmp/leak_new" "$src/tests/programs/leak_new.cpp"
		"$run" --debug=U -- "$tmp/leak_new" 2>"$tmp/leak_new.err" ||
			fail "--debug=U: the leaking C++ program failed"
		grep -q '^kmem: Allocated in _Z9leaky_newi+0x[0-9a-f]* (leak_new)' "$tmp/leak_new.err" ||
			fail "--debug=U: new's leak is not charged to leaky_new: $(cat "$tmp/leak_new.err")"
		grep -q '^kmem: Allocated in _Z15leaky_new_arrayi+0x[0-9a-f]* (leak_new)' \
			"$tmp/leak_new.err" ||
			fail "--debug=U: new[]'s leak is not charged to leaky_new_array"
		grep -q '_Zn[wa]' "$tmp/leak_new.err" &&
			fail "--debug=U: the report names operator new: $(cat "$tmp/leak_new.err")"
		grep -q '4 objects remaining' "$tmp/leak_new.err" ||
			fail "--debug=U: not 4 leaked nodes"
		[ $failures -eq 0 ] && echo "ok: --debug=U leak report for new and new[]"
	fi

	# kmem_exit() under the preload refuses, and malloc's blocks stay valid
	"$cc" -O1 -I"$src/include" -o "$tmp/kmem_exit" "$src/tests/programs/kmem_exit.c" \
		-L"$build" -lkmem -Wl,-rpath,"$build"
	out=$("$run" -- "$tmp/kmem_exit" 2>"$tmp/exit.err") || fail "kmem_exit under the preload crashed"
	[ "$out" = "still here" ] || fail "kmem_exit under the preload: '$out'"
	grep -q 'kmem_exit: refused' "$tmp/exit.err" || fail "kmem_exit under the preload: no refusal"
	[ $failures -eq 0 ] && echo "ok: kmem_exit refused under the preload"

	# Programs built against an older <kmem/slab.h> call kmalloc itself (the header's is
	# inline now): both libraries still export it, and it allocates.
	cat >"$tmp/old_abi.c" <<-'EOF'
	#include <dlfcn.h>
	#include <stdio.h>
	#include <string.h>
	#include <kmem/gfp.h>
	int main(void)
	{
		void *lib = dlopen("libkmem.so", RTLD_NOW);
		void *(*km)(size_t, unsigned int) = lib ? (void *(*)(size_t, unsigned int))dlsym(lib, "kmalloc") : 0;
		void (*kf)(const void *) = lib ? (void (*)(const void *))dlsym(lib, "kfree") : 0;
		char *p = km ? km(100, GFP_KERNEL) : 0;
		if (!p)
			return 1;
		strcpy(p, "kmalloc");
		puts(p);
		kf(p);
		return 0;
	}
	EOF
	"$cc" -O1 -I"$src/include" -o "$tmp/old_abi" "$tmp/old_abi.c" -ldl
	out=$(LD_LIBRARY_PATH="$build" "$tmp/old_abi" 2>&1) || fail "dlsym(kmalloc) in libkmem.so: $out"
	[ "$out" = kmalloc ] || fail "the exported kmalloc: '$out'"
	for lib in libkmem.so libkmem-malloc.so; do
		nm -D --defined-only "$build/$lib" | grep -q ' T kmalloc$' ||
			fail "$lib does not export kmalloc"
	done
	[ $failures -eq 0 ] && echo "ok: kmalloc still exported for older binaries"

	# The fast paths' entries start a cache line (__fastpath in src/platform/compiler.h):
	# without it they run at whatever offset the code before them ends (docs/DESIGN.md).
	for lib in libkmem.so libkmem-malloc.so; do
		fns="kmem_cache_alloc kmem_cache_free __kmalloc kfree alloc_pages __free_pages"
		[ $lib = libkmem-malloc.so ] && fns="$fns malloc free"
		for fn in $fns; do
			addr=$(nm -D --defined-only "$build/$lib" | awk -v f="$fn" '$3 == f { print $1 }')
			if [ -z "$addr" ]; then
				fail "$lib does not export $fn"
			elif [ $((0x$addr % 64)) -ne 0 ]; then
				fail "$lib: $fn at 0x$addr does not start a cache line"
			fi
		done
	done
	[ $failures -eq 0 ] && echo "ok: the fast paths start cache lines"

	# The functions every process runs lead the preload's text (src/hot_text.ld, included
	# in the linker's .text statement; docs/MALLOC.md, "Resident text"): none of the others
	# may sit among them, or the kernel's fault-around maps the whole text again.
	lib=$build/libkmem-malloc.so
	text=$(readelf -SW "$lib" | awk '{ for (i = 1; i < NF; i++) if ($i == ".text") print $(i + 2) }')
	sed -n 's/^\*(\.text\.\([A-Za-z_0-9]*\) .*/\1/p' "$src/src/hot_text.ld" >"$tmp/hot"
	nm -n --defined-only "$lib" | awk -v text="$text" '
		NR == FNR { hot[$1] = 1; next }
		$2 !~ /^[tT]$/ || ($1 "") < (text "") { next }
		{ name = $3; sub(/\.(isra|part|constprop)\.[0-9]+$|\.localalias$/, "", name) }
		# An address is listed if any of its names is (kmalloc is an alias of __kmalloc).
		$1 != last { addr[++na] = $1; first[na] = $3; last = $1 }
		name in hot { listed[$1] = 1 }
		END {
			for (i = 1; i <= na; i++) {
				if (!(addr[i] in listed)) {
					if (n && cold == "") # (constructors and libc_nonshared lead)
						cold = first[i]
				} else if (cold != "") {
					print first[i] " after " cold
					exit 1
				} else {
					n++
				}
			}
			if (n < 50) { print "only " n " listed functions found"; exit 1 }
		}' \
		"$tmp/hot" - >"$tmp/layout" || fail "libkmem-malloc.so's hot text: $(cat "$tmp/layout")"
	[ $failures -eq 0 ] && echo "ok: the functions every process runs lead the text"

	# The public headers from C++ (extern "C"; struct page's "private" is a C++ keyword)
	if [ -n "${cxx:-}" ]; then
		"$cxx" -std=c++17 -O2 -Wall -Wextra -Werror -I"$src/include" -o "$tmp/cxx_headers" \
			"$src/tests/programs/cxx_headers.cpp" -L"$build" -lkmem -Wl,-rpath,"$build" ||
			fail "the public headers do not compile as C++"
		out=$("$tmp/cxx_headers" 2>&1) || fail "cxx_headers failed: $out"
		[ "$out" = kmalloc ] || fail "cxx_headers: '$out'"
		[ $failures -eq 0 ] && echo "ok: the public headers from C++"
	fi
fi

# --- kmem-run: the environment it sets, and an LD_PRELOAD that was there before
out=$(LD_PRELOAD=libm.so.6 "$run" --mem=512M --debug=FZ --fail=none -- env)
echo "$out" | grep -q "^LD_PRELOAD=$build/libkmem-malloc.so libm.so.6\$" ||
	fail "LD_PRELOAD not prepended: $(echo "$out" | grep LD_PRELOAD)"
echo "$out" | grep -q '^KMEM_MEM=512M$' || fail "--mem did not set KMEM_MEM"
echo "$out" | grep -q '^KMEM_DEBUG=FZ$' || fail "--debug did not set KMEM_DEBUG"
echo "$out" | grep -q '^KMEM_FAIL=none$' || fail "--fail did not set KMEM_FAIL"
"$run" --mem=64M -- "$python" -c 'print(sum(range(10**6)))' >/dev/null ||
	fail "a program in 64 MiB failed"

# --- kmem-run's errors: status and message
expect_error() { # STATUS PATTERN ARGS...
	status=$1 pattern=$2
	shift 2
	set +e
	"$run" "$@" >/dev/null 2>"$tmp/err.txt"
	got=$?
	set -e
	if [ "$got" != "$status" ]; then
		fail "kmem-run $*: exit status $got, expected $status"
	elif [ -n "$pattern" ] && ! grep -q "$pattern" "$tmp/err.txt"; then
		fail "kmem-run $*: message '$(cat "$tmp/err.txt")' lacks '$pattern'"
	else
		echo "ok: kmem-run $* -> $status"
	fi
}
expect_error 125 'no command given'
expect_error 125 'no command given' --stats --
expect_error 125 "unknown option '--frobnicate'" --frobnicate -- true
expect_error 125 "not a size" --mem=lots -- true
expect_error 125 "not a size" --mem=0 -- true
expect_error 127 'no-such-command-kmem: command not found' -- no-such-command-kmem
expect_error 126 'Permission denied' -- "$tmp/big.txt"
expect_error 3 '' -- sh -c 'exit 3'
"$run" --help | grep -q '^usage: kmem-run' || fail "--help prints no usage"

if [ $failures -ne 0 ]; then
	echo "run.sh: $failures failures" >&2
	exit 1
fi
echo "run.sh: every program ran the same under kmem"
