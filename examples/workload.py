#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A small, deterministic Python workload for `make run` and the real-program
tests (tests/programs/run.sh): dicts and strings, threads, a subprocess (which
gets the preload too), json and an sqlite3 database. It prints only results
that do not depend on the allocator, so its output can be compared with a run
on glibc's malloc.

usage: workload.py [SCALE]   (default 1; the work grows linearly)
"""
import hashlib
import json
import sqlite3
import subprocess
import sys
import threading


def words(n, seed):
    """n pseudo-random words, the same on every run."""
    out, x = [], seed
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out.append("w%x_%s" % (x % 50021, "ab" * (x % 7)))
    return out


def dict_work(scale):
    counts = {}
    for w in words(120000 * scale, 1):
        counts[w] = counts.get(w, 0) + 1
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    text = " ".join(k.upper() for k, _ in sorted(counts.items()))
    return len(counts), top, hashlib.sha256(text.encode()).hexdigest()[:16]


def thread_work(scale, nthreads=4):
    results = [None] * nthreads

    def run(i):
        d = {}
        for j, w in enumerate(words(40000 * scale, 100 + i)):
            d.setdefault(w, []).append(j)
        results[i] = sum(len(v) for v in d.values()), len(d)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def subprocess_work():
    code = "import json; print(json.dumps(sorted({str(i): i * i for i in range(5000)}.items())[:3]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def sqlite_work(scale):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, word TEXT, n INTEGER)")
    db.executemany("INSERT INTO t (word, n) VALUES (?, ?)",
                   ((w, i % 97) for i, w in enumerate(words(60000 * scale, 7))))
    db.execute("CREATE INDEX t_word ON t (word)")
    rows = db.execute("SELECT n, count(*), count(DISTINCT word) FROM t GROUP BY n "
                      "ORDER BY 2 DESC, 1 LIMIT 3").fetchall()
    return rows


def main():
    scale = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    print("dicts:", dict_work(scale))
    print("threads:", thread_work(scale))
    print("subprocess:", subprocess_work())
    print("sqlite3:", sqlite_work(scale))
    print("json:", len(json.dumps({str(i): [i] * 3 for i in range(20000 * scale)})))


if __name__ == "__main__":
    main()
