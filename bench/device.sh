#!/bin/bash
# The scaling sweep (issue 8: 1 .. 16 threads, larson and churn) on a machine with more cores
# than this one, which has no network and no Debian packages: pack here, run there.
#
#   bench/device.sh pack [BUILD_DIR]   here: copies bench_threads, libkmem-malloc.so and the
#                                      peers' libraries into BUILD_DIR/device (default build)
#   bench/device.sh run [DIR]          there: runs bench_threads over them, writes the
#                                      markdown section and gnuplot data to $OUT (or DIR/out)
#
# With the session's device tool: run(command="bench/device.sh run build/device",
# carry=["build/device"]). The figures replace the oversubscribed ones of docs/BENCHMARKS.md's
# "Scaling" sections by hand; say which machine gave them.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
peer_dir=/usr/lib/x86_64-linux-gnu
peers="libmimalloc.so.2 libjemalloc.so.2 libtcmalloc_minimal.so.4"

pack() {
	local build
	build=$(cd "${1:-$here/build}" && pwd)
	local dir=$build/device

	[ -x "$build/bench/bench_threads" ] && [ -f "$build/libkmem-malloc.so" ] ||
		{ echo "device.sh: build $build first (make build)" >&2; exit 1; }
	rm -rf "$dir"
	mkdir -p "$dir/bin" "$dir/peers"
	cp "$build/bench/bench_threads" "$dir/bin/"
	cp "$build/libkmem-malloc.so" "$dir/" # bench_threads looks for it in ../
	for lib in $peers; do
		if [ -f "$peer_dir/$lib" ]; then
			cp -L "$peer_dir/$lib" "$dir/peers/"
		else
			echo "device.sh: $peer_dir/$lib missing (make bench-deps): that peer is left out" >&2
		fi
	done
	git -C "$here" describe --always --dirty >"$dir/commit"
	echo "device.sh: packed $(du -sh "$dir" | cut -f1) into $dir" >&2
}

run() {
	local dir
	dir=$(cd "${1:-$here/build/device}" && pwd)
	local out=${OUT:-$dir/out}

	mkdir -p "$out"
	export KMEM_BENCH_MIMALLOC=$dir/peers/libmimalloc.so.2
	export KMEM_BENCH_JEMALLOC=$dir/peers/libjemalloc.so.2
	export KMEM_BENCH_TCMALLOC=$dir/peers/libtcmalloc_minimal.so.4
	export KMEM_BENCH_DATA=$out
	{
		echo "commit $(cat "$dir/commit" 2>/dev/null || echo unknown)"
		echo "cpus $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
		uname -r
		ldd --version | head -1
	} >"$out/machine.txt"
	"$dir/bin/bench_threads" >"$out/threads.md" 2> >(tee "$out/progress.txt" >&2)
	echo "device.sh: results in $out" >&2
}

case "${1:-}" in
pack) pack "${2:-}" ;;
run) run "${2:-}" ;;
*)
	echo "usage: bench/device.sh pack [BUILD_DIR] | run [DIR]" >&2
	exit 2
	;;
esac
