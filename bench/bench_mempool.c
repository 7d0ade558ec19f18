// SPDX-License-Identifier: MIT
/*
 * bench_mempool: what a mempool costs on top of the slab cache it sits on,
 * as ns per alloc+free pair of 256-byte objects, all in one process:
 *
 *   cache         kmem_cache_alloc + kmem_cache_free (the baseline);
 *   pool          mempool_alloc + mempool_free of a pool of 16 over the same
 *                 cache, in the steady state: the allocator serves every
 *                 request and the reserve stays full (what a pool costs
 *                 nearly always: one indirect call each way and the pool's
 *                 element count);
 *   reserve       the same pool with its allocator failing (memory
 *                 exhausted): every mempool_alloc tries the allocator, pops
 *                 the reserve under pool->lock, and every mempool_free
 *                 pushes the element back under the lock;
 *
 * each as back-to-back pairs and as batches (16 allocations, then their 16
 * frees: a batch empties the reserve exactly). Every case is warmed up and
 * its iteration count calibrated; then the cases of one shape run in turn,
 * the starting case rotating each round, and each figure is the median of
 * the rounds. Then, with the reserve empty and the allocator failing, the
 * wake-up: one thread sleeps in mempool_alloc(GFP_KERNEL), the main thread
 * frees an element, and the time from that mempool_free to the sleeper's
 * return is measured (median and 90th percentile of many hand-offs).
 *
 * KMEM_BENCH_QUICK=1: fewer and shorter runs. Progress goes to stderr, a
 * markdown section to stdout (bench/run.sh puts it in docs/BENCHMARKS.md).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kmem/kmem.h>

#include "bench_common.h"

#define OBJ_SIZE 256
#define POOL_MIN 16
#define BATCH POOL_MIN
#define MAX_RUNS 31
#define MAX_HANDOFFS 2001
#define ARENA_SIZE (256UL << 20)

#define sink(p) __asm__ volatile("" : : "r"(p) : "memory")

/* OOM: the slab pool again, measured apart, with memory really exhausted. */
enum impl { CACHE, POOL, RESERVE, NR_IMPLS, OOM = NR_IMPLS };

static const char *const impl_names[NR_IMPLS] = {
	[CACHE] = "kmem_cache_alloc + kmem_cache_free",
	[POOL] = "mempool_alloc + mempool_free, allocator serving",
	[RESERVE] = "mempool_alloc + mempool_free, from the reserve (allocator failing)",
};

static struct kmem_cache *cache;
static mempool_t *pool, *starved;
static atomic_bool starving;

/* The pool's allocator: the cache, or nothing while "memory is exhausted". */
static void *starving_alloc(gfp_t gfp, void *data)
{
	if (atomic_load_explicit(&starving, memory_order_relaxed))
		return NULL;
	return kmem_cache_alloc(data, gfp);
}

/* ------------------------------------------------------------- the loops */

static inline void *get(enum impl impl)
{
	void *p = impl == CACHE ? kmem_cache_alloc(cache, GFP_KERNEL) :
				  mempool_alloc(impl == RESERVE ? starved : pool, GFP_KERNEL);

	if (__builtin_expect(!p, 0))
		die("allocation failed");
	sink(p);
	return p;
}

static inline void put(enum impl impl, void *p)
{
	if (impl == CACHE)
		kmem_cache_free(cache, p);
	else
		mempool_free(p, impl == RESERVE ? starved : pool);
}

static __attribute__((noinline)) void pairs(enum impl impl, long n)
{
	for (long i = 0; i < n; i++)
		put(impl, get(impl));
}

static __attribute__((noinline)) void batches(enum impl impl, long n)
{
	void *p[BATCH];

	for (long j = 0; j < n; j += BATCH) {
		for (int i = 0; i < BATCH; i++)
			p[i] = get(impl);
		for (int i = 0; i < BATCH; i++)
			put(impl, p[i]);
	}
}

static double time_loop(enum impl impl, bool batch, long n)
{
	uint64_t t0 = now_ns();

	batch ? batches(impl, n) : pairs(impl, n);
	return (double)(now_ns() - t0);
}

/* ------------------------------------------------------------- timing */

struct result {
	long n;
	double ns[MAX_RUNS], median, min, max;
};

static struct result results[2][NR_IMPLS + 1]; /* [batch][impl] */

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static long calibrate(enum impl impl, bool batch, double run_ns)
{
	long n = BATCH;
	double t;

	while ((t = time_loop(impl, batch, n)) < run_ns / 8 && n < (1L << 30))
		n *= 2;
	n = (long)(run_ns * (double)n / (t > 1 ? t : 1)) / BATCH * BATCH;
	return n < BATCH ? BATCH : n;
}

static void summarise(struct result *r, int nr_runs, bool batch, const char *name)
{
	double v[MAX_RUNS];

	memcpy(v, r->ns, sizeof(double) * (size_t)nr_runs);
	r->median = median(v, nr_runs);
	r->min = v[0];
	r->max = v[nr_runs - 1];
	fprintf(stderr, "bench_mempool: %-7s %-68s %7.1f ns/pair (min %.1f, max %.1f)\n",
		batch ? "batch16" : "pair", name, r->median, r->min, r->max);
}

static void bench_shape(bool batch, int nr_runs, double run_ns)
{
	struct result *res = results[batch];

	for (int k = 0; k < NR_IMPLS; k++)
		res[k].n = calibrate((enum impl)k, batch, run_ns);
	for (int r = 0; r < nr_runs; r++) {
		for (int j = 0; j < NR_IMPLS; j++) {
			int k = (r + j) % NR_IMPLS;

			res[k].ns[r] = time_loop((enum impl)k, batch, res[k].n) / (double)res[k].n;
		}
	}
	for (int k = 0; k < NR_IMPLS; k++)
		summarise(&res[k], nr_runs, batch, impl_names[k]);
}

/* ------------------------------------------------------------- real exhaustion */

static const char oom_name[] = "mempool_alloc + mempool_free, memory really exhausted";

static struct {
	struct page **pages;
	unsigned int *orders;
	void **objs;
	long nr_pages, nr_objs;
} hoard;

/* Take every page of both zones and every free object of the cache. */
static void exhaust(void)
{
	static const gfp_t masks[] = { GFP_ATOMIC | __GFP_NOWARN,
				       GFP_ATOMIC | __GFP_DMA | __GFP_NOWARN };
	long max = (long)(ARENA_SIZE / PAGE_SIZE);
	struct page *page;
	void *obj;

	hoard.pages = malloc(sizeof(*hoard.pages) * (size_t)max);
	hoard.orders = malloc(sizeof(*hoard.orders) * (size_t)max);
	hoard.objs = malloc(sizeof(*hoard.objs) * (size_t)max);
	if (!hoard.pages || !hoard.orders || !hoard.objs)
		die("malloc");
	for (size_t m = 0; m < sizeof(masks) / sizeof(masks[0]); m++)
		for (int order = MAX_PAGE_ORDER; order >= 0; order--)
			while (hoard.nr_pages < max &&
			       (page = alloc_pages(masks[m], (unsigned int)order))) {
				hoard.orders[hoard.nr_pages] = (unsigned int)order;
				hoard.pages[hoard.nr_pages++] = page;
			}
	while (hoard.nr_objs < max && (obj = kmem_cache_alloc(cache, GFP_NOWAIT)))
		hoard.objs[hoard.nr_objs++] = obj;
}

static void give_back(void)
{
	while (hoard.nr_objs)
		kmem_cache_free(cache, hoard.objs[--hoard.nr_objs]);
	while (hoard.nr_pages--)
		__free_pages(hoard.pages[hoard.nr_pages], hoard.orders[hoard.nr_pages]);
	free(hoard.pages);
	free(hoard.orders);
	free(hoard.objs);
}

/* The slab pool with nothing left: each mempool_alloc sees the slab and the buddy fail. */
static void bench_oom(int nr_runs, double run_ns)
{
	exhaust();
	for (int batch = 0; batch < 2; batch++) {
		struct result *r = &results[batch][OOM];

		r->n = calibrate(OOM, batch, run_ns);
		for (int i = 0; i < nr_runs; i++)
			r->ns[i] = time_loop(OOM, batch, r->n) / (double)r->n;
		summarise(r, nr_runs, batch, oom_name);
	}
	give_back();
}

/* ------------------------------------------------------------- wake-up latency */

static struct {
	atomic_int state; /* 0 idle, 1 go, 2 got an element */
	atomic_ullong freed_at, woke_at;
	void *got;
} handoff;

static void *sleeper(void *arg)
{
	for (;;) {
		int s;

		while ((s = atomic_load(&handoff.state)) == 0)
			sched_yield();
		if (s < 0)
			return arg;
		void *p = mempool_alloc(starved, GFP_KERNEL); /* sleeps: the reserve is empty */

		atomic_store(&handoff.woke_at, now_ns());
		handoff.got = p;
		atomic_store(&handoff.state, 2);
		while (atomic_load(&handoff.state) == 2)
			sched_yield();
	}
}

/* Sleep until @n threads wait in mempool_alloc on @p. */
static void wait_sleepers(mempool_t *p, unsigned int n)
{
	while (__atomic_load_n(&p->wait.nr_waiters, __ATOMIC_ACQUIRE) < n)
		sched_yield();
}

static void bench_wakeup(int nr, double *p50, double *p90)
{
	static double lat[MAX_HANDOFFS];
	void *held[POOL_MIN];
	pthread_t t;

	atomic_store(&starving, true);
	for (int i = 0; i < POOL_MIN; i++)
		held[i] = get(RESERVE);
	if (pthread_create(&t, NULL, sleeper, NULL))
		die("pthread_create");
	for (int i = 0; i < nr; i++) {
		atomic_store(&handoff.state, 1);
		wait_sleepers(starved, 1);
		struct timespec pause = { 0, 200000 }; /* let it really fall asleep */

		nanosleep(&pause, NULL);
		uint64_t t0 = now_ns();

		mempool_free(held[0], starved);
		while (atomic_load(&handoff.state) != 2)
			;
		lat[i] = (double)(atomic_load(&handoff.woke_at) - t0);
		held[0] = handoff.got;
		atomic_store(&handoff.state, 0);
	}
	atomic_store(&handoff.state, -1);
	pthread_join(t, NULL);
	for (int i = 0; i < POOL_MIN; i++)
		put(RESERVE, held[i]);
	atomic_store(&starving, false);
	*p50 = median(lat, nr);
	*p90 = lat[nr * 9 / 10];
}

/* ------------------------------------------------------------- report */

static void print_markdown(int nr_runs, double run_ns, int nr_handoffs, double p50, double p90)
{
	printf("## mempool: mempool_alloc / mempool_free against the slab cache (bench_mempool)\n\n");
	printf("256-byte objects from one `kmem_cache`; the pool (`mempool_create_slab_pool`-style, "
	       "%d reserved) sits on that same cache. One *pair* is one allocation and its free "
	       "in one thread; batches are %d allocations, then their %d frees (a batch empties "
	       "the reserve exactly). Figures are ns per pair, the median of %d runs of about "
	       "%.0f ms per case, the cases taking turns run by run. *Allocator serving*: the "
	       "steady state, the reserve stays full and every element comes from the cache. "
	       "*From the reserve*: the pool's allocator fails (memory exhausted), so every "
	       "element is popped from and pushed back to the reserve under the pool's lock. "
	       "*Memory really exhausted*: the slab pool once more, measured after the other "
	       "cases (not alternated with them), with every page of the arena and every free "
	       "object of the cache taken, so each `mempool_alloc` first sees "
	       "`kmem_cache_alloc` fail through the page allocator's slow path (a per-CPU list "
	       "drain included) before it takes the reserve. "
	       "\"× cache\" is the row's time over `kmem_cache_alloc + kmem_cache_free`'s.\n\n",
	       POOL_MIN, BATCH, BATCH, nr_runs, run_ns / 1e6);
	printf("| shape | path | ns/pair | min – max | × cache |\n|---|---|---:|---:|---:|\n");
	for (int b = 0; b < 2; b++) {
		double base = results[b][CACHE].median;

		for (int k = 0; k <= OOM; k++) {
			const struct result *r = &results[b][k];

			printf("| %s | %s | %.1f | %.1f – %.1f | %.2f |\n",
			       b ? "batches of 16" : "pairs", k == OOM ? oom_name : impl_names[k],
			       r->median, r->min, r->max, r->median / base);
		}
	}
	printf("\nWake-up of a sleeping `mempool_alloc(GFP_KERNEL)` on an empty reserve (allocator "
	       "failing): time from the `mempool_free` that refills the reserve to the sleeper's "
	       "return with that element, over %d hand-offs: median %.1f µs, 90th percentile "
	       "%.1f µs (a futex wake-up and a thread switch; the sleeper would otherwise retry "
	       "the allocator only after 5 s).\n\n",
	       nr_handoffs, p50 / 1e3, p90 / 1e3);
}

int main(void)
{
	bench_name = "bench_mempool";
	bool quick = bench_quick();
	int nr_runs = quick ? 5 : 21, nr_handoffs = quick ? 201 : MAX_HANDOFFS;
	double run_ns = quick ? 10e6 : 100e6, p50, p90;
	struct kmem_config cfg = { .mem_size = ARENA_SIZE };

	if (kmem_init(&cfg))
		die("kmem_init failed");
	cache = kmem_cache_create("bench_mempool", OBJ_SIZE, 0, 0, NULL);
	pool = mempool_create_slab_pool(POOL_MIN, cache);
	starved = mempool_create(POOL_MIN, starving_alloc, mempool_free_slab, cache);
	if (!cache || !pool || !starved)
		die("cannot create the cache and pools");
	atomic_store(&starving, true);
	fprintf(stderr, "bench_mempool: %s run: %d runs of ~%.0f ms per case\n",
		quick ? "quick" : "full", nr_runs, run_ns / 1e6);
	bench_shape(false, nr_runs, run_ns);
	bench_shape(true, nr_runs, run_ns);
	bench_oom(nr_runs, run_ns);
	bench_wakeup(nr_handoffs, &p50, &p90);
	fprintf(stderr, "bench_mempool: wake-up after mempool_free: median %.1f us, p90 %.1f us\n",
		p50 / 1e3, p90 / 1e3);
	mempool_destroy(starved);
	mempool_destroy(pool);
	kmem_cache_destroy(cache);
	if (kmem_error_count())
		die("kmem reported errors");
	kmem_exit();
	print_markdown(nr_runs, run_ns, nr_handoffs, p50, p90);
	return 0;
}
