#!/bin/sh
# SPDX-License-Identifier: MIT
#
# bench/bench_programs.sh [BUILD_DIR]: real programs under kmem (kmem-run) and
# under its peers, each preloaded the same way: glibc's malloc (no preload),
# mimalloc, jemalloc and tcmalloc (Debian's libmimalloc.so.2,
# libjemalloc.so.2, libtcmalloc_minimal.so.4). Wall time, CPU time (user +
# system: steadier than wall time on a busy machine) and peak RSS from
# /usr/bin/time -f '%e %U %S %M', the median of RUNS runs taken in turns. Prints
# markdown (bench/run.sh puts it in docs/BENCHMARKS.md); progress on stderr.
# KMEM_BENCH_QUICK=1: one run each, smaller inputs.
set -eu

build=$(cd "${1:-${KMEM_BUILD_DIR:-.}}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
case "${KMEM_BENCH_QUICK:-}" in
'' | 0) runs=5 scale=3 rows=300000 lines=1500000 larson_rounds=20 larson_steps=400000 ;;
*) runs=1 scale=1 rows=100000 lines=400000 larson_rounds=5 larson_steps=100000 ;;
esac
[ -x "$build/kmem-run" ] || { echo "bench_programs.sh: no $build/kmem-run" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench_programs.sh: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kmem-bench-programs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# The peers that are installed: NAME=PATH (glibc and kmem always).
lib() { # PACKAGE SONAME
	dpkg -L "$1" 2>/dev/null | grep "/$2\$" | head -n 1
}
peers="glibc kmem"
mimalloc=$(lib libmimalloc2.0 libmimalloc.so.2)
jemalloc=$(lib libjemalloc2 libjemalloc.so.2)
tcmalloc=$(lib libtcmalloc-minimal4 libtcmalloc_minimal.so.4)
[ -n "$mimalloc" ] && peers="$peers mimalloc"
[ -n "$jemalloc" ] && peers="$peers jemalloc"
[ -n "$tcmalloc" ] && peers="$peers tcmalloc"

# measure PEER CMD...: "wall cpu kilobytes" of one run; CMD's output is discarded.
measure() {
	peer=$1
	shift
	case $peer in
	glibc) set -- "$@" ;;
	kmem) set -- "$build/kmem-run" -- "$@" ;;
	mimalloc) set -- env LD_PRELOAD="$mimalloc" "$@" ;;
	jemalloc) set -- env LD_PRELOAD="$jemalloc" "$@" ;;
	tcmalloc) set -- env LD_PRELOAD="$tcmalloc" "$@" ;;
	esac
	if ! /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err"; then
		echo "bench_programs.sh: $peer: $* failed:" >&2
		cat "$tmp/err" >&2
		exit 1
	fi
	tail -n 1 "$tmp/time" | awk '{ print $1, $2 + $3, $4 }'
}

median() { # numbers on stdin
	sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# workload NAME CMD...: one table row per peer.
workload() {
	name=$1
	shift
	echo "bench_programs.sh: $name" >&2
	for peer in $peers; do
		: >"$tmp/$peer.t"
		: >"$tmp/$peer.c"
		: >"$tmp/$peer.m"
	done
	r=0
	while [ $r -lt $runs ]; do
		for peer in $peers; do
			measure "$peer" "$@" >"$tmp/res"
			read -r t c m <"$tmp/res"
			echo "$t" >>"$tmp/$peer.t"
			echo "$c" >>"$tmp/$peer.c"
			echo "$m" >>"$tmp/$peer.m"
		done
		r=$((r + 1))
	done
	: >"$tmp/rows"
	for peer in $peers; do
		echo "$peer $(median <"$tmp/$peer.t") $(median <"$tmp/$peer.c") $(median <"$tmp/$peer.m")" \
			>>"$tmp/rows"
	done
	echo
	echo "### $name"
	echo
	echo "| allocator | wall time (s) | CPU time (s) | peak RSS (MiB) | wall / best peer | CPU / best peer | RSS / best peer |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	# The best peer in each column: the smallest figure of any allocator but kmem.
	awk 'NR == FNR { if ($1 != "kmem") for (i = 2; i <= 4; i++) if (!(i in b) || $i < b[i]) b[i] = $i; next }
	{ printf "| %s | %.2f | %.2f | %.1f | %.2f | %.2f | %.2f |\n", $1, $2, $3, $4 / 1024,
		$2 / b[2], $3 / b[3], $4 / b[4] }' "$tmp/rows" "$tmp/rows"
}

# Inputs.
cat >"$tmp/db.sql" <<SQL
CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, v INTEGER, pad TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT $rows)
INSERT INTO t (k, v, pad) SELECT printf('key%06d', (x * 7919) % 100003), x % 1000,
	substr('abcdefghijklmnopqrstuvwxyz0123456789', 1 + x % 30) FROM c;
CREATE INDEX t_k ON t (k);
SELECT v, count(*), min(k), max(k) FROM t GROUP BY v ORDER BY count(*) DESC, v LIMIT 5;
SELECT a.k, count(*) FROM t a JOIN t b ON a.k = b.k WHERE a.v < 3 GROUP BY a.k ORDER BY 2 DESC LIMIT 5;
SQL
awk -v n="$lines" 'BEGIN { x = 1; for (i = 0; i < n; i++) { x = (x * 69069 + 1) % 4294967296;
	printf "%08x %d line %d\n", x, x % 1000, i } }' >"$tmp/big.txt"

cat <<HDR
## Real programs under each allocator (bench_programs.sh)

Each program runs unmodified with the allocator preloaded (kmem through
\`kmem-run\`, the others with \`LD_PRELOAD\`; glibc is the program as it is).
Wall time, CPU time (user + system) and peak RSS
(\`/usr/bin/time -f '%e %U %S %M'\`), median of $runs runs taken in turns; on
a busy machine the CPU time is the steadier figure. The ratios compare each allocator with the best of the
*peers* (glibc, mimalloc, jemalloc, tcmalloc), so kmem's row says how far it
is from the best one.
HDR

workload "python3 examples/workload.py $scale (dicts, threads, subprocess, sqlite3)" \
	/usr/bin/python3 "$src/examples/workload.py" "$scale"
workload "sqlite3: $rows rows, index, group by, self-join" sh -c 'sqlite3 "$1" <"$2"' sh \
	":memory:" "$tmp/db.sql"
workload "g++ -O2: compile tests/programs/containers.cpp" \
	g++ -O2 -std=c++17 -pthread -o "$tmp/a.out" "$src/tests/programs/containers.cpp"
workload "sort: $lines lines, 2 threads" sort --parallel=2 -S 256M -k2,2n -k1,1 "$tmp/big.txt"
if [ -x "$build/bench/malloc_larson" ]; then
	workload "malloc_larson (bench/malloc_larson.c): 4 threads x $larson_rounds generations x $larson_steps steps, 16 B .. 64 KiB" \
		"$build/bench/malloc_larson" 4 "$larson_rounds" "$larson_steps"
fi
