#!/bin/bash
# Regenerates src/hot_text.ld, the list of functions that the shared libraries place together
# at the start of their text (docs/MALLOC.md, "Resident text"), from callgrind profiles of
# small programs run through the preload.
#
#   tools/hot-text.sh [BUILD_DIR]     (default: build; needs valgrind and python3)
#
# Every function that any profile executes is listed, busiest first, so the fast paths share
# lines and pages, then the slow paths and the start-up code that every process runs once.
# Aliases (malloc is kmem_malloc) are resolved through the library's symbol table, and GCC's
# clone suffixes (.isra.0, .part.0, ...) become wildcards, so the list survives a rebuild.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$here/build}" && pwd)
lib=$build/libkmem-malloc.so
out=$here/src/hot_text.ld

for tool in valgrind python3 nm; do
	command -v $tool >/dev/null || { echo "hot-text: $tool is missing" >&2; exit 1; }
done
[ -x "$build/bench/bench_threads" ] && [ -f "$lib" ] ||
	{ echo "hot-text: build $build first (make build)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

profile() {
	local name=$1
	shift
	echo "hot-text: profiling $name" >&2
	valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$work/cg.$name.%p" \
		env LD_PRELOAD="$lib" "$@" >/dev/null 2>"$work/$name.log" ||
		{ cat "$work/$name.log" >&2; exit 1; }
}

seq 20000 -1 1 >"$work/lines"
profile larson "$build/bench/bench_threads" --child malloc larson 2 100
profile xmalloc "$build/bench/bench_threads" --child malloc xmalloc 4 100
profile scratch "$build/bench/bench_threads" --child malloc scratch 4 100
profile sort sort -n "$work/lines" -o "$work/sorted"
profile python /usr/bin/python3 -c '
import json, threading
d = {i: str(i) * (i % 7) for i in range(5000)}
t = threading.Thread(target=lambda: json.dumps(d)); t.start(); t.join()
print(len(json.dumps(sorted(d.items()))))'

# The native API's fast paths (__fastpath) come first whether or not the preload runs them.
grep -rh -A1 '^__fastpath' "$here/src" | grep -oE '^[^(]*[A-Za-z_0-9]+\(' |
	grep -oE '[A-Za-z_0-9]+\($' | tr -d '(' >"$work/fastpath"
# What every process runs but valgrind hides: under it mremap(MREMAP_DONTUNMAP) fails, so
# vmalloc_init() reserves no address space (perf record -e page-faults -d on a native run
# shows what else faults in outside the list).
# And the spinlocks' contended paths: valgrind runs one thread at a time, so whether a profile
# sees them is chance, while threaded programs run them all the time.
native_only="os_reserve_none insert_free_area treap_insert treap_split __spin_lock_slow __spin_unlock_wake"
# The functions that have a section of their own (-ffunction-sections): an alias (malloc is
# kmem_malloc) has none, and constructors and destructors are in .text.startup.* (listed as a
# whole) and .text.exit.* (run at exit, after any peak: left where the default script puts them).
find "$build/CMakeFiles/kmem_malloc.dir" -name '*.o' -exec readelf -SW {} + |
	grep -oE ' \.text\.[A-Za-z_][A-Za-z_0-9]*' | sed 's/^ \.text\.//' |
	grep -vxE 'startup|exit|unlikely|hot' | sort -u >"$work/sections"
python3 - "$lib" "$out" "$work/fastpath" "$native_only" "$work/sections" "$work"/cg.* <<'EOF'
import re, subprocess, sys
lib, out = sys.argv[1], sys.argv[2]
cost = {name.strip(): float('inf') for name in open(sys.argv[3]) if name.strip()}
cost.update({name: 0 for name in sys.argv[4].split()})

# The raw profiles, not callgrind_annotate, which leaves out the cheapest functions: a start-up
# function run once still maps its page. Names are compressed: "(id) name" defines an id.
for path in sys.argv[6:]:
    names = {'ob': {}, 'fn': {}}
    ob = fn = None
    after_call = False
    for line in open(path):
        m = re.match(r'(c?)(ob|fn)=(?:\((\d+)\))? ?(.*)', line.rstrip('\n'))
        if m:
            kind, ident, name = m.group(2), m.group(3), m.group(4)
            if ident and name:
                names[kind][ident] = name
            value = names[kind].get(ident, name) if ident else name
            if not m.group(1):
                ob, fn = (value, fn) if kind == 'ob' else (ob, value)
            continue
        if line.startswith('calls='):
            after_call = True
            continue
        if line[:1].isdigit() or line[:1] in '+-*':
            if not after_call and ob == lib and fn:
                name = re.sub(r"'\d+$", '', fn)
                cost[name] = cost.get(name, 0) + int(line.split()[-1])
            after_call = False

# Every name at an executed function's address: the section is named after whichever of them
# defined the function.
by_addr, addr_of = {}, {}
for line in subprocess.run(['nm', lib], capture_output=True, text=True).stdout.splitlines():
    parts = line.split()
    if len(parts) == 3 and parts[1] in 'tTiW':
        by_addr.setdefault(parts[0], []).append(parts[2])
        addr_of[parts[2]] = parts[0]

sections = set(name.strip() for name in open(sys.argv[5]))
order, seen = [], set()
for name in sorted(cost, key=lambda n: -cost[n]):
    for sym in by_addr.get(addr_of.get(name), [name]):
        base = re.sub(r'\.(isra|part|constprop|cold)\.\d+.*$', '', sym)
        if base in sections and base not in seen:
            seen.add(base)
            order.append(base)

with open(out, 'w') as f:
    f.write('/*\n * Generated by tools/hot-text.sh: the functions that small programs run through\n'
            ' * the preload execute, busiest first (the __fastpath entries lead). CMakeLists.txt\n'
            ' * includes this at the start of the shared libraries\' .text statement (they are\n'
            ' * compiled with -ffunction-sections), so these share the first pages of the text\n'
            ' * and the kernel\'s fault-around leaves the rest unmapped. docs/MALLOC.md,\n'
            ' * "Resident text".\n */\n'
            '*(.text.startup .text.startup.*)\n'
            '*libc_nonshared.a:*(.text .text.*)\n')
    for name in order:
        f.write('*(.text.%s .text.%s.*)\n' % (name, name))
print('hot-text: %d functions in %s' % (len(order), out), file=sys.stderr)
EOF
