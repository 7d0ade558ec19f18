// SPDX-License-Identifier: MIT
/*
 * bench_slab: what one small-object allocation and its free cost with kmem's
 * slab allocator (kmem_cache_alloc/free and kmalloc/kfree), next to malloc/free
 * from glibc, mimalloc, jemalloc and tcmalloc, as ns per alloc+free pair:
 *
 *   (a) churn      64-byte objects, batches of 1000 allocations then 1000 frees;
 *   (b) prod/cons  one thread allocates 64-byte objects and passes them through
 *                  a bounded single-producer single-consumer ring (1024 slots)
 *                  to a second thread, which frees them (every free is remote);
 *   (c) mixed      4096 live blocks of random sizes 8 B .. 4 KiB (uniform, fixed
 *                  seed); each step frees one random block and allocates a new
 *                  one of a random size in its place (first byte written).
 *
 * Every measurement is a fresh child process: this program re-executes
 * /proc/self/exe in a child mode, with LD_PRELOAD set to the peer's library for
 * the malloc peers and unset for kmem and glibc, so the same loops measure all
 * of them. A child warms up, then runs its loop for a fixed time and prints ns
 * per pair. Runs alternate: each round runs every allocator of a workload once,
 * the starting one rotating; the figure is the median of the rounds.
 * A peer whose library is not installed is skipped (KMEM_BENCH_<PEER>=path
 * overrides the path). KMEM_BENCH_QUICK=1: fewer, shorter runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <kmem/kmem.h>
#include <kmem/slab.h>

#include "bench_common.h"

#define sink(p) __asm__ volatile("" : : "r"(p) : "memory")

#define CHURN_BATCH 1000
#define RING_SLOTS 1024
#define MIX_LIVE 4096
#define MIX_SEQ (1 << 16)
#define MAX_RUNS BENCH_MAX_RUNS
#define ARENA_SIZE (512UL << 20)

enum api { API_CACHE, API_KMALLOC, API_MALLOC };
enum workload { W_CHURN, W_PRODCONS, W_MIXED, W_REALLOC, W_MIXED_POW2, NR_WORKLOADS };

static const char *const wl_names[NR_WORKLOADS] = { "churn", "prodcons", "mixed", "realloc",
						    "mixed-pow2" };
static const char *const wl_titles[NR_WORKLOADS] = {
	"(a) 64-byte churn: batches of 1000 allocations, then 1000 frees",
	"(b) one-way producer/consumer: 64-byte objects allocated on one thread, "
	"freed on another (SPSC ring of 1024)",
	"(c) mixed sizes: 4096 live blocks of 8 B .. 4 KiB, one random replacement per step",
	"(d) realloc growth: 16 buffers grown side by side from 16 B to 64 KiB in random steps "
	"of 8 .. 264 bytes, then freed (ns per realloc)",
	"(e) mixed sizes rounded up to powers of two: the steps of (c), each size rounded up, so "
	"every allocator serves kmalloc's classes at their natural alignment (no goal: it shows "
	"what (c)'s gap owes to the classes)",
};

static struct peer allocs[] = {
	{ "kmem kmem_cache_alloc + kmem_cache_free", "kmem_cache", NULL, NULL, true, true },
	{ "kmem kmalloc + kfree", "kmalloc", NULL, NULL, true, true },
	{ "kmem malloc replacement (libkmem-malloc.so)", "kmem-malloc", NULL, NULL, true, false },
	MALLOC_PEERS,
};
#define ALLOC_KMEM_MALLOC 2
#define NR_ALLOCS (int)(sizeof(allocs) / sizeof(allocs[0]))

/* ------------------------------------------------------------- child side */

static enum api g_api;
static struct kmem_cache *g_cache;

static inline void *xalloc(size_t size)
{
	void *p;

	switch (g_api) {
	case API_CACHE:
		p = kmem_cache_alloc(g_cache, GFP_KERNEL);
		break;
	case API_KMALLOC:
		p = kmalloc(size, GFP_KERNEL);
		break;
	default:
		p = malloc(size);
		break;
	}
	if (__builtin_expect(!p, 0))
		die("allocation of %zu bytes failed", size);
	sink(p);
	return p;
}

static inline void xfree(void *p)
{
	switch (g_api) {
	case API_CACHE:
		kmem_cache_free(g_cache, p);
		break;
	case API_KMALLOC:
		kfree(p);
		break;
	default:
		free(p);
		break;
	}
}

static inline void *xrealloc(void *p, size_t size)
{
	void *q = g_api == API_MALLOC ? realloc(p, size) : krealloc(p, size, GFP_KERNEL);

	if (__builtin_expect(!q, 0))
		die("realloc to %zu bytes failed", size);
	sink(q);
	return q;
}

static __attribute__((noinline)) long churn(long rounds)
{
	static void *p[CHURN_BATCH];

	for (long r = 0; r < rounds; r++) {
		for (int i = 0; i < CHURN_BATCH; i++)
			p[i] = xalloc(64);
		for (int i = 0; i < CHURN_BATCH; i++)
			xfree(p[i]);
	}
	return rounds * CHURN_BATCH;
}

/* SPSC ring: head written by the producer, tail by the consumer. */
static struct {
	_Alignas(64) _Atomic unsigned long head;
	_Alignas(64) _Atomic unsigned long tail;
	_Alignas(64) void *slot[RING_SLOTS];
} ring;

static inline void spin_wait(unsigned int *spins)
{
	if (++*spins < 256) {
		__builtin_ia32_pause();
	} else {
		*spins = 0;
		sched_yield(); /* a 2-core, shared machine: do not starve the peer */
	}
}

static void *consumer(void *arg)
{
	long n = *(long *)arg;
	unsigned long t = 0;

	while ((long)t < n) {
		unsigned long h = atomic_load_explicit(&ring.head, memory_order_acquire);
		unsigned int spins = 0;

		while (h == t) {
			spin_wait(&spins);
			h = atomic_load_explicit(&ring.head, memory_order_acquire);
		}
		while (t != h) {
			xfree(ring.slot[t % RING_SLOTS]);
			t++;
		}
		atomic_store_explicit(&ring.tail, t, memory_order_release);
	}
	return NULL;
}

static __attribute__((noinline)) long prodcons(long n)
{
	pthread_t th;
	unsigned long h = atomic_load_explicit(&ring.head, memory_order_relaxed);

	atomic_store(&ring.head, 0);
	atomic_store(&ring.tail, 0);
	h = 0;
	if (pthread_create(&th, NULL, consumer, &n))
		die("pthread_create failed");
	for (long i = 0; i < n; i++) {
		unsigned long t = atomic_load_explicit(&ring.tail, memory_order_acquire);
		unsigned int spins = 0;

		while (h - t >= RING_SLOTS) {
			spin_wait(&spins);
			t = atomic_load_explicit(&ring.tail, memory_order_acquire);
		}
		ring.slot[h % RING_SLOTS] = xalloc(64);
		h++;
		atomic_store_explicit(&ring.head, h, memory_order_release);
	}
	pthread_join(th, NULL);
	return n;
}

static void *mix_live[MIX_LIVE];
static uint32_t mix_idx[MIX_SEQ], mix_size[MIX_SEQ];
static long mix_pos;

static void mixed_setup(bool pow2)
{
	uint64_t x = 0x9e3779b97f4a7c15ull; /* fixed seed */

	for (int i = 0; i < MIX_SEQ; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		mix_idx[i] = (uint32_t)(x % MIX_LIVE);
		mix_size[i] = 8 + (uint32_t)((x >> 20) % (4096 - 8 + 1));
		if (pow2)
			mix_size[i] = 1u << (32 - __builtin_clz(mix_size[i] - 1));
	}
	for (int i = 0; i < MIX_LIVE; i++) {
		size_t sz = mix_size[(i * 7919) % MIX_SEQ];

		mix_live[i] = xalloc(sz);
		*(volatile char *)mix_live[i] = 1;
	}
}

static __attribute__((noinline)) long mixed(long n)
{
	for (long i = 0; i < n; i++) {
		long k = mix_pos++ & (MIX_SEQ - 1);
		uint32_t j = mix_idx[k];

		xfree(mix_live[j]);
		mix_live[j] = xalloc(mix_size[k]);
		*(volatile char *)mix_live[j] = 1;
	}
	return n;
}

/* Growing buffers side by side, as a program appending to several strings or vectors. */
static __attribute__((noinline)) long realloc_growth(void)
{
	enum { NR_BUFS = 16, MAX_LEN = 64 << 10 };
	static uint64_t x = 0x2545f4914f6cdd1dull;
	void *buf[NR_BUFS] = { NULL };
	size_t len[NR_BUFS] = { 0 };
	long calls = 0;

	for (bool growing = true; growing;) {
		growing = false;
		for (int i = 0; i < NR_BUFS; i++) {
			if (len[i] >= MAX_LEN)
				continue;
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			len[i] += 8 + (x >> 32) % 257;
			buf[i] = xrealloc(buf[i], len[i]);
			((volatile char *)buf[i])[len[i] - 1] = 1;
			calls++;
			growing = true;
		}
	}
	for (int i = 0; i < NR_BUFS; i++)
		xfree(buf[i]);
	return calls;
}

static long run_step(enum workload w)
{
	switch (w) {
	case W_CHURN:
		return churn(16);
	case W_PRODCONS:
		return prodcons(100000);
	case W_REALLOC:
		return realloc_growth();
	case W_MIXED:
	case W_MIXED_POW2:
	default:
		return mixed(20000);
	}
}

/* Child: argv = exe --child API WORKLOAD RUN_MS. Prints ns per pair. */
static int child(const char *api, const char *wl, double run_ms)
{
	enum workload w = NR_WORKLOADS;

	for (int i = 0; i < NR_WORKLOADS; i++)
		if (!strcmp(wl, wl_names[i]))
			w = (enum workload)i;
	if (w == NR_WORKLOADS)
		die("unknown workload %s", wl);
	g_api = !strcmp(api, "kmem_cache") ? API_CACHE :
		!strcmp(api, "kmalloc")	   ? API_KMALLOC :
					     API_MALLOC;
	if (w == W_REALLOC && g_api == API_CACHE)
		die("realloc growth has no kmem_cache form: run it with kmalloc or malloc");
	if (g_api != API_MALLOC) {
		struct kmem_config cfg = { .mem_size = ARENA_SIZE };
		int err = kmem_init(&cfg);

		if (err)
			die("kmem_init: %s", strerror(-err));
		if (g_api == API_CACHE) {
			g_cache = kmem_cache_create("bench_64", 64, 0, 0, NULL);
			if (!g_cache)
				die("kmem_cache_create failed");
		}
	}
	if (w == W_MIXED || w == W_MIXED_POW2)
		mixed_setup(w == W_MIXED_POW2);
	/* Warm up for a tenth of the run, at least one step. */
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(run_ms * 1e5);

	do
		run_step(w);
	while (now_ns() < end);

	long pairs = 0;

	t0 = now_ns();
	end = t0 + (uint64_t)(run_ms * 1e6);
	uint64_t t;

	do {
		pairs += run_step(w);
		t = now_ns();
	} while (t < end);
	printf("%.3f\n", (double)(t - t0) / (double)pairs);
	fflush(stdout);
	if (w == W_MIXED || w == W_MIXED_POW2)
		for (int i = 0; i < MIX_LIVE; i++)
			xfree(mix_live[i]);
	if (g_api != API_MALLOC) {
		if (g_cache)
			kmem_cache_destroy(g_cache);
		if (kmem_error_count())
			die("kmem reported %lu errors", kmem_error_count());
		kmem_exit();
	}
	return 0;
}

/* ------------------------------------------------------------- parent side */

static double spawn(const struct peer *a, enum workload w, double run_ms)
{
	char ms[32], out[64];
	char *argv[] = { "bench_slab", "--child", (char *)a->tag, (char *)wl_names[w], ms, NULL };

	snprintf(ms, sizeof(ms), "%g", run_ms);
	run_child(a->lib, argv, out, sizeof(out));
	return atof(out);
}

static bool used(int k, enum workload w)
{
	return allocs[k].present &&
	       !((w == W_MIXED || w == W_REALLOC || w == W_MIXED_POW2) && k == 0);
}

static double med[NR_WORKLOADS][8], mn[NR_WORKLOADS][8], mx[NR_WORKLOADS][8];

int main(int argc, char **argv)
{
	bench_name = "bench_slab";
	if (argc == 5 && !strcmp(argv[1], "--child"))
		return child(argv[2], argv[3], atof(argv[4]));
	if (argc != 1) {
		fprintf(stderr, "usage: %s   (KMEM_BENCH_QUICK=1: short run)\n", argv[0]);
		return 2;
	}
	bool quick = bench_quick();
	int nr_runs = quick ? 5 : 7;
	double run_ms = quick ? 40 : 250;
	int nr_present = 0;

	allocs[ALLOC_KMEM_MALLOC].lib = kmem_malloc_lib();
	nr_present = detect_peers(allocs, NR_ALLOCS);
	fprintf(stderr, "bench_slab: %s run: %d allocators, %d alternating runs of ~%.0f ms each\n",
		quick ? "quick" : "full", nr_present, nr_runs, run_ms);

	for (int w = 0; w < NR_WORKLOADS; w++) {
		static double ns[8][MAX_RUNS];
		int ks[8], nk = 0;

		for (int k = 0; k < NR_ALLOCS; k++)
			if (used(k, (enum workload)w))
				ks[nk++] = k;
		for (int r = 0; r < nr_runs; r++)
			for (int j = 0; j < nk; j++) {
				int k = ks[(r + j) % nk];

				ns[k][r] = spawn(&allocs[k], (enum workload)w, run_ms);
			}
		for (int j = 0; j < nk; j++) {
			int k = ks[j];
			struct summary sum = summarize(ns[k], nr_runs);

			med[w][k] = sum.median;
			mn[w][k] = sum.min;
			mx[w][k] = sum.max;
			fprintf(stderr,
				"bench_slab: %-9s %-40s %8.1f ns/pair (median of %d; min %.1f, max %.1f)\n",
				wl_names[w], allocs[k].name, med[w][k], nr_runs, mn[w][k],
				mx[w][k]);
		}
	}

	/* ---- markdown */
	printf("## Slab: small objects (bench_slab)\n\n");
	printf("ns per allocation + free pair, median of %d alternating runs of ~%.0f ms, each "
	       "run a fresh process (the peers: this same binary under LD_PRELOAD). "
	       "\"ratio\" is to the fastest row of the table; \"vs best peer\" is to the "
	       "fastest malloc peer.\n\n",
	       nr_runs, run_ms);
	printf("Goals: kmem_cache_alloc/free ahead of every peer (vs best peer < 1.00) on (a) "
	       "and (b); kmalloc ahead on small fixed sizes (a) and within 10%% of the fastest "
	       "peer (vs best peer <= 1.10) on (c) and (d); the malloc replacement within 10%% "
	       "of the fastest peer everywhere.\n\n");
	for (int k = 0; k < NR_ALLOCS; k++)
		if (!allocs[k].present)
			printf("- %s: skipped, %s not installed\n\n", allocs[k].tag, allocs[k].lib);
	for (int w = 0; w < NR_WORKLOADS; w++) {
		double best = 1e300, best_peer = 1e300;

		for (int k = 0; k < NR_ALLOCS; k++) {
			if (!used(k, (enum workload)w))
				continue;
			if (med[w][k] < best)
				best = med[w][k];
			if (!allocs[k].kmem && med[w][k] < best_peer)
				best_peer = med[w][k];
		}
		printf("### %s\n\n", wl_titles[w]);
		printf("| allocator | ns/pair (median) | min .. max | ratio | vs best peer |\n");
		printf("|---|---:|---:|---:|---:|\n");
		for (int k = 0; k < NR_ALLOCS; k++) {
			if (!used(k, (enum workload)w))
				continue;
			printf("| %s | %.1f | %.1f .. %.1f | %.2f | %.2f |\n", allocs[k].name,
			       med[w][k], mn[w][k], mx[w][k], med[w][k] / best,
			       med[w][k] / best_peer);
		}
		bool loose = w == W_MIXED || w == W_REALLOC;

		for (int gk = 0; gk <= ALLOC_KMEM_MALLOC && w != W_MIXED_POW2; gk++) {
			if (!used(gk, (enum workload)w) || (gk == 1 && w == W_PRODCONS))
				continue;
			double v = med[w][gk] / best_peer;
			/* malloc through the preload: within 10% of the fastest peer everywhere */
			bool met = loose || gk == ALLOC_KMEM_MALLOC ? v <= 1.10 : v < 1.0;

			printf("\nGoal (%s vs best peer %s): %.2f, **%s**.\n", allocs[gk].tag,
			       loose || gk == ALLOC_KMEM_MALLOC ? "<= 1.10" : "< 1.00", v,
			       met ? "met" : "not met");
		}
		printf("\n");
	}
	return 0;
}
