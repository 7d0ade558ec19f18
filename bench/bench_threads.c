// SPDX-License-Identifier: MIT
/*
 * bench_threads: server-like loads in the spirit of the classic allocator
 * benchmarks (mimalloc-bench's larson, xmalloc, cache-scratch, cache-thrash),
 * a thread-scaling sweep, and a phase change that checks memory goes back to
 * the OS after a peak. kmem runs through its native API (kmalloc/kfree) and,
 * when it is built, through the malloc replacement (libkmem-malloc.so); the
 * peers are glibc, mimalloc, jemalloc and tcmalloc through LD_PRELOAD.
 *
 *   larson    each thread replaces random blocks (16 .. 512 B) in an array of
 *             1000; every 2000 steps it swaps its array with one another
 *             thread left, so most frees are of blocks another thread
 *             allocated (Larson and Krishnan's server model);
 *   churn     each thread: batches of 1000 kmalloc(64)/malloc(64), then frees;
 *   xmalloc   one thread allocates (8 .. 256 B), the others free (remote frees
 *             only), through single-producer rings;
 *   scratch   cache-scratch: each thread frees a block the main thread
 *             allocated next to the other threads' blocks, then allocates,
 *             writes and frees 8-byte blocks (passive false sharing);
 *   thrash    cache-thrash: the same without the hand-over (active false
 *             sharing: does the allocator give two threads the same line?);
 *   phase     one thread fills 256 MiB with blocks of 16 B .. 4 KiB, frees
 *             all but the oldest 1/32, and idles 10 s (3 s quick): resident
 *             memory afterwards against the peak.
 *
 * Throughput is operations (an allocation and its free) per microsecond over
 * all threads; every figure is the median of alternating runs, each a fresh
 * process. Peak RSS is the child's VmHWM. With
 * KMEM_BENCH_DATA=DIR, the scaling sweep is also written as gnuplot data.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/resource.h>

#include <kmem/kmem.h>
#include <kmem/slab.h>

#include "bench_common.h"

#define sink(p) __asm__ volatile("" : : "r"(p) : "memory")

enum workload { W_LARSON, W_CHURN, W_XMALLOC, W_SCRATCH, W_THRASH, W_PHASE, NR_WORKLOADS };

static const char *const wl_names[NR_WORKLOADS] = { "larson",  "churn",	 "xmalloc",
						    "scratch", "thrash", "phase" };

static struct peer peers[] = {
	{ "kmem kmalloc + kfree (native API)", "kmem", NULL, NULL, true, true },
	{ "kmem malloc replacement (libkmem-malloc.so)", "kmem-malloc", NULL, NULL, true, false },
	MALLOC_PEERS,
};
#define NR_PEERS (int)(sizeof(peers) / sizeof(peers[0]))
#define PEER_KMEM_MALLOC 1

static const int scaling_threads[] = { 1, 2, 4, 8, 16 };
#define NR_SCALING (int)(sizeof(scaling_threads) / sizeof(scaling_threads[0]))

/* ------------------------------------------------------------- child side */

static bool native;

static inline void *xalloc(size_t size)
{
	void *p = native ? kmalloc(size, GFP_KERNEL) : malloc(size);

	if (__builtin_expect(!p, 0))
		die("allocation of %zu bytes failed", size);
	sink(p);
	return p;
}

static inline void xfree(void *p)
{
	if (native)
		kfree(p);
	else
		free(p);
}

static inline uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static _Atomic bool stop;
static int nr_threads;
static _Atomic long total_ops;

/* larson: arrays of blocks wander between threads through a mailbox. */
#define LARSON_SLOTS 1000
#define LARSON_SWAP 2000
static void **_Atomic mailbox;

static void **larson_array(uint64_t *x)
{
	void **slot = calloc(LARSON_SLOTS, sizeof(void *));

	if (!slot)
		die("calloc failed");
	for (int i = 0; i < LARSON_SLOTS; i++)
		slot[i] = xalloc(16 + xorshift(x) % 497);
	return slot;
}

static void larson_free(void **slot)
{
	for (int i = 0; i < LARSON_SLOTS; i++)
		xfree(slot[i]);
	free(slot);
}

/*
 * The mailbox always holds one array (main puts the first one in), so the
 * exchange always hands back an array nobody else is using.
 */
static void *larson_thread(void *arg)
{
	uint64_t x = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
	void **slot = larson_array(&x);
	long ops = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int i = 0; i < LARSON_SWAP; i++) {
			uint64_t r = xorshift(&x);
			unsigned int j = (unsigned int)(r % LARSON_SLOTS);

			xfree(slot[j]);
			slot[j] = xalloc(16 + (r >> 32) % 497);
			*(volatile char *)slot[j] = 1;
		}
		ops += LARSON_SWAP;
		slot = atomic_exchange(&mailbox, slot);
	}
	atomic_fetch_add(&total_ops, ops);
	larson_free(slot);
	return NULL;
}

static void *churn_thread(void *arg)
{
	void *p[1000];
	long ops = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int i = 0; i < 1000; i++)
			p[i] = xalloc(64);
		for (int i = 0; i < 1000; i++)
			xfree(p[i]);
		ops += 1000;
	}
	atomic_fetch_add(&total_ops, ops);
	return NULL;
}

/* xmalloc: thread 0 fills one ring per consumer; consumers free what they find. */
#define RING 1024
struct ring {
	_Alignas(64) _Atomic unsigned long head;
	_Alignas(64) _Atomic unsigned long tail;
	_Alignas(64) void *slot[RING];
};
static struct ring *rings;

static _Atomic bool producer_done;

static void *xmalloc_consumer(void *arg)
{
	struct ring *r = &rings[(uintptr_t)arg];
	unsigned long t = 0;

	for (;;) {
		unsigned long h = atomic_load_explicit(&r->head, memory_order_acquire);

		if (h == t) {
			if (atomic_load(&producer_done) && t == atomic_load(&r->head))
				break;
			sched_yield();
			continue;
		}
		while (t != h)
			xfree(r->slot[t++ % RING]);
		atomic_store_explicit(&r->tail, t, memory_order_release);
	}
	return NULL;
}

static void xmalloc_producer(void)
{
	int nr = nr_threads - 1;
	unsigned long *h = calloc((size_t)nr, sizeof(*h));
	uint64_t x = 42;
	long ops = 0;

	if (!h)
		die("calloc failed");
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int c = 0; c < nr; c++) {
			struct ring *r = &rings[c];
			unsigned long t = atomic_load_explicit(&r->tail, memory_order_acquire);
			int n = 0;

			while (h[c] - t < RING && n++ < 64) {
				r->slot[h[c] % RING] = xalloc(8 + xorshift(&x) % 249);
				h[c]++;
				ops++;
			}
			atomic_store_explicit(&r->head, h[c], memory_order_release);
			if (!n)
				sched_yield();
		}
	}
	atomic_fetch_add(&total_ops, ops);
	atomic_store(&producer_done, true);
	free(h);
}

/* scratch/thrash: 8-byte blocks written many times; are threads' blocks on one line? */
#define THRASH_WRITES 200
static void **scratch_given;

static void *thrash_thread(void *arg)
{
	long ops = 0;

	if (scratch_given)
		xfree(scratch_given[(uintptr_t)arg]);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int i = 0; i < 100; i++) {
			volatile char *p = xalloc(8);

			for (int w = 0; w < THRASH_WRITES; w++)
				p[w & 7]++;
			xfree((void *)p);
		}
		ops += 100;
	}
	atomic_fetch_add(&total_ops, ops);
	return NULL;
}

/* Sets stop after the run. */
static void *timer_thread(void *arg)
{
	usleep((useconds_t)(*(double *)arg * 1000));
	atomic_store(&stop, true);
	return NULL;
}

static void run_threads(void *(*fn)(void *), int first, double run_ms)
{
	pthread_t th[64];

	for (int i = first; i < nr_threads; i++)
		if (pthread_create(&th[i], NULL, fn, (void *)(uintptr_t)i))
			die("pthread_create failed");
	usleep((useconds_t)(run_ms * 1000));
	atomic_store(&stop, true);
	for (int i = first; i < nr_threads; i++)
		pthread_join(th[i], NULL);
}

static long rss_kb(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f || fscanf(f, "%ld %ld", &pages, &resident) != 2)
		die("cannot read /proc/self/statm");
	fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/*
 * The child's own peak resident set: VmHWM. getrusage()'s ru_maxrss would
 * also keep the peak of the process that forked it before exec (the
 * parent's, which can exceed a small workload's), and reads the kernel's
 * per-CPU RSS counters without summing them.
 */
static long peak_rss_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	if (kb < 0) {
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		kb = ru.ru_maxrss;
	}
	return kb;
}

/* Prints the resident set after the idle as a percentage of the peak. */
static double phase_change(double idle_ms)
{
	enum { NR = 1 << 17 };
	void **p = calloc(NR, sizeof(void *));
	uint64_t x = 7;
	size_t bytes = 0;
	int n = 0;

	if (!p)
		die("calloc failed");
	while (bytes < (256u << 20) && n < NR) {
		size_t size = 16 + xorshift(&x) % 4081;

		p[n] = xalloc(size);
		memset(p[n], 1, size);
		bytes += size;
		n++;
	}
	long peak = rss_kb();

	/* Keep the oldest 1/32: a long-lived minority, as a server keeps its caches. */
	for (int i = n / 32; i < n; i++)
		xfree(p[i]);
	usleep((useconds_t)(idle_ms * 1000)); /* background trimming, if the allocator has any */
	long after = rss_kb();

	for (int i = 0; i < n / 32; i++)
		xfree(p[i]);
	free(p);
	return 100.0 * (double)after / (double)peak;
}

/* Child: argv = exe --child API WORKLOAD THREADS RUN_MS. Prints "OPS_PER_US PEAK_RSS_KB". */
static int child(const char *api, const char *wl, int threads, double run_ms)
{
	int w = 0;
	double v;

	while (w < NR_WORKLOADS && strcmp(wl, wl_names[w]))
		w++;
	if (w == NR_WORKLOADS)
		die("unknown workload %s", wl);
	native = !strcmp(api, "kmem");
	if (native) {
		struct kmem_config cfg = { .mem_size = 2UL << 30 };
		int err = kmem_init(&cfg);

		if (err)
			die("kmem_init: %s", strerror(-err));
	}
	nr_threads = threads;
	uint64_t t0 = now_ns();

	switch (w) {
	case W_LARSON: {
		uint64_t x = 1;

		atomic_store(&mailbox, larson_array(&x));
		run_threads(larson_thread, 0, run_ms);
		larson_free(atomic_exchange(&mailbox, NULL));
		break;
	}
	case W_CHURN:
		run_threads(churn_thread, 0, run_ms);
		break;
	case W_XMALLOC: {
		pthread_t th[64];

		rings = aligned_alloc(64, sizeof(struct ring) * (size_t)(threads - 1));
		if (!rings)
			die("aligned_alloc failed");
		memset(rings, 0, sizeof(struct ring) * (size_t)(threads - 1));
		for (int i = 0; i < threads - 1; i++)
			if (pthread_create(&th[i], NULL, xmalloc_consumer, (void *)(uintptr_t)i))
				die("pthread_create failed");
		pthread_t timer;

		if (pthread_create(&timer, NULL, timer_thread, &run_ms))
			die("pthread_create failed");
		xmalloc_producer();
		pthread_join(timer, NULL);
		for (int i = 0; i < threads - 1; i++)
			pthread_join(th[i], NULL);
		free(rings);
		break;
	}
	case W_SCRATCH:
	case W_THRASH:
		scratch_given = NULL;
		if (w == W_SCRATCH) {
			scratch_given = calloc((size_t)threads, sizeof(void *));
			for (int i = 0; i < threads; i++)
				scratch_given[i] = xalloc(8);
		}
		run_threads(thrash_thread, 0, run_ms);
		free(scratch_given);
		break;
	default:
		break;
	}
	double us = (double)(now_ns() - t0) / 1000.0;

	if (w == W_PHASE)
		v = phase_change(run_ms);
	else
		v = (double)atomic_load(&total_ops) / us;
	printf("%.4f %ld\n", v, peak_rss_kb());
	fflush(stdout);
	if (native) {
		if (kmem_error_count())
			die("kmem reported %lu errors", kmem_error_count());
		kmem_exit();
	}
	return 0;
}

/* ------------------------------------------------------------- parent side */

struct config {
	enum workload w;
	int threads;
	const char *title;
};

static const struct config fixed[] = {
	{ W_XMALLOC, 4, "xmalloc: 1 thread allocates 8 .. 256 B, 3 threads free (ops/us)" },
	{ W_SCRATCH, 4, "cache-scratch: 4 threads, 8-byte blocks written 200 times (ops/us)" },
	{ W_THRASH, 4, "cache-thrash: 4 threads, 8-byte blocks written 200 times (ops/us)" },
};
#define NR_FIXED (int)(sizeof(fixed) / sizeof(fixed[0]))

struct result {
	struct summary v;
	double rss_mib;
};

/*
 * Runs per allocator: nr_runs, and goal_runs for the loads with goals. Their
 * peak RSS is a few MiB, of which the text the kernel faults in around
 * what runs (64 KiB windows, placed by address-space randomisation) moves
 * from run to run: glibc's cache-thrash peak went from 1.6 to 1.9 MiB, so
 * a median of 5 moved a ratio by 0.1 from one make bench to the next.
 */
static int nr_runs, goal_runs;
static double run_ms, phase_idle_ms;
static int done, total;

static struct result measure(const struct config *c, int runs, struct result *res)
{
	double v[NR_PEERS][BENCH_MAX_RUNS], rss[NR_PEERS][BENCH_MAX_RUNS];
	int ks[NR_PEERS], nk = 0;
	char th[16], ms[32], out[128];

	for (int k = 0; k < NR_PEERS; k++)
		if (peers[k].present)
			ks[nk++] = k;
	snprintf(th, sizeof(th), "%d", c->threads);
	snprintf(ms, sizeof(ms), "%g", c->w == W_PHASE ? phase_idle_ms : run_ms);

	for (int r = 0; r < runs; r++)
		for (int j = 0; j < nk; j++) {
			int k = ks[(r + j) % nk];
			char *argv[] = { "bench_threads",
					 "--child",
					 (char *)peers[k].tag,
					 (char *)wl_names[c->w],
					 th,
					 ms,
					 NULL };
			long rss_kb_peak = 0;

			run_child(peers[k].lib, argv, out, sizeof(out));
			if (sscanf(out, "%lf %ld", &v[k][r], &rss_kb_peak) != 2)
				die("child %s %s printed '%s'", peers[k].tag, wl_names[c->w], out);
			rss[k][r] = (double)rss_kb_peak / 1024.0;
		}
	for (int j = 0; j < nk; j++) {
		int k = ks[j];

		res[k].v = summarize(v[k], runs);
		res[k].rss_mib = summarize(rss[k], runs).median;
		fprintf(stderr,
			"%s: [%3d/%d] %-8s %2d threads %-44s %9.3f (min %.3f, max %.3f) "
			"peak RSS %.1f MiB\n",
			bench_name, ++done, total, wl_names[c->w], c->threads, peers[k].name,
			res[k].v.median, res[k].v.min, res[k].v.max, res[k].rss_mib);
	}
	return res[0];
}

/* Higher is better for throughput, lower for the phase change's resident share. */
/*
 * Issue 8's goals for kmem's rows: within 10% of the fastest peer (for
 * throughput, at least 1/1.10 of it) and peak RSS within 10% of the leanest.
 * The phase-change table's figure is itself memory (resident after the
 * peak, lower is better): its goal is that figure alone.
 */
static void print_goals(const struct result *res, bool lower_better, double best_peer,
			double best_rss)
{
	for (int k = 0; k < NR_PEERS; k++) {
		if (!peers[k].present || !peers[k].kmem)
			continue;
		double v = res[k].v.median / best_peer, r = res[k].rss_mib / best_rss;
		bool fast = lower_better ? v <= 1.10 : v >= 1 / 1.10, lean = r <= 1.10;

		if (lower_better) {
			printf("Goal (%s: resident after the peak vs the leanest peer <= 1.10): "
			       "%.2f, **%s**.\n\n",
			       peers[k].tag, v, fast ? "met" : "not met");
			continue;
		}
		printf("Goal (%s: vs best peer >= 0.91, peak RSS vs leanest peer <= 1.10): %.2f, "
		       "%.2f, **%s**.\n\n",
		       peers[k].tag, v, r,
		       fast && lean ? "met" :
		       fast	    ? "not met (memory)" :
		       lean	    ? "not met (speed)" :
				      "not met (speed, memory)");
	}
}

static void print_table(const char *title, const struct result *res, bool lower_better,
			const char *unit)
{
	double best_peer = lower_better ? 1e300 : 0, best_rss = 1e300;

	for (int k = 0; k < NR_PEERS; k++) {
		if (!peers[k].present || peers[k].kmem)
			continue;
		double m = res[k].v.median;

		best_peer = lower_better ? (m < best_peer ? m : best_peer) :
					   (m > best_peer ? m : best_peer);
		if (res[k].rss_mib < best_rss)
			best_rss = res[k].rss_mib;
	}
	printf("### %s\n\n", title);
	printf("| allocator | %s (median) | min .. max | vs best peer | peak RSS MiB | RSS vs "
	       "leanest peer |\n",
	       unit);
	printf("|---|---:|---:|---:|---:|---:|\n");
	for (int k = 0; k < NR_PEERS; k++) {
		if (!peers[k].present)
			continue;
		double m = res[k].v.median;

		printf("| %s | %.3f | %.3f .. %.3f | %.2f | %.1f | %.2f |\n", peers[k].name, m,
		       res[k].v.min, res[k].v.max, lower_better ? m / best_peer : m / best_peer,
		       res[k].rss_mib, res[k].rss_mib / best_rss);
	}
	printf("\n");
	print_goals(res, lower_better, best_peer, best_rss);
}

static void write_scaling_data(const char *dir, enum workload w,
			       struct result res[NR_SCALING][NR_PEERS])
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/scaling-%s.dat", dir, wl_names[w]);
	FILE *f = fopen(path, "w");

	if (!f)
		die("cannot write %s: %s", path, strerror(errno));
	fprintf(f, "threads");
	for (int k = 0; k < NR_PEERS; k++)
		if (peers[k].present)
			fprintf(f, " \"%s\"", peers[k].tag);
	fprintf(f, "\n");
	for (int i = 0; i < NR_SCALING; i++) {
		fprintf(f, "%d", scaling_threads[i]);
		for (int k = 0; k < NR_PEERS; k++)
			if (peers[k].present)
				fprintf(f, " %.4f", res[i][k].v.median);
		fprintf(f, "\n");
	}
	fclose(f);
}

static void print_scaling(enum workload w, struct result res[NR_SCALING][NR_PEERS])
{
	printf("### Scaling: %s, ops/us over all threads\n\n", wl_names[w]);
	printf("| allocator |");
	for (int i = 0; i < NR_SCALING; i++)
		printf(" %d |", scaling_threads[i]);
	printf(" %d vs 1 |\n|---|", scaling_threads[NR_SCALING - 1]);
	for (int i = 0; i <= NR_SCALING; i++)
		printf("---:|");
	printf("\n");
	for (int k = 0; k < NR_PEERS; k++) {
		if (!peers[k].present)
			continue;
		printf("| %s |", peers[k].name);
		for (int i = 0; i < NR_SCALING; i++)
			printf(" %.2f |", res[i][k].v.median);
		printf(" %.1fx |\n", res[NR_SCALING - 1][k].v.median / res[0][k].v.median);
	}
	printf("\n");
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	for (int k = 0; k < NR_PEERS; k++) {
		if (!peers[k].present || !peers[k].kmem)
			continue;
		double x = res[NR_SCALING - 1][k].v.median / res[0][k].v.median;

		if (cpus >= scaling_threads[NR_SCALING - 1])
			printf("Goal (%s: %d threads >= 12x one thread): %.1fx, **%s**.\n\n",
			       peers[k].tag, scaling_threads[NR_SCALING - 1], x,
			       x >= 12 ? "met" : "not met");
		else
			printf("Goal (%s: %d threads >= 12x one thread): **not measured** (%ld "
			       "CPUs here; the figure above is oversubscription; bench/device.sh "
			       "runs the sweep on a larger machine).\n\n",
			       peers[k].tag, scaling_threads[NR_SCALING - 1], cpus);
	}
}

int main(int argc, char **argv)
{
	static struct result scaling[2][NR_SCALING][NR_PEERS], fixed_res[NR_FIXED][NR_PEERS],
		phase_res[NR_PEERS];

	bench_name = "bench_threads";
	if (argc == 6 && !strcmp(argv[1], "--child"))
		return child(argv[2], argv[3], atoi(argv[4]), atof(argv[5]));
	if (argc != 1) {
		fprintf(stderr,
			"usage: %s   (KMEM_BENCH_QUICK=1: short run; KMEM_BENCH_DATA=DIR: "
			"gnuplot data)\n",
			argv[0]);
		return 2;
	}
	bool quick = bench_quick();

	nr_runs = quick ? 3 : 5;
	goal_runs = quick ? 3 : 11;
	run_ms = quick ? 60 : 250;
	phase_idle_ms = quick ? 3000 : 10000;
	peers[PEER_KMEM_MALLOC].lib = kmem_malloc_lib();
	peers[PEER_KMEM_MALLOC].present = peers[PEER_KMEM_MALLOC].lib != NULL;
	if (!peers[PEER_KMEM_MALLOC].present)
		fprintf(stderr,
			"bench_threads: libkmem-malloc.so not built: kmem-malloc skipped\n");
	int np = detect_peers(peers + 2, NR_PEERS - 2) + 1 + peers[PEER_KMEM_MALLOC].present;

	total = np * (2 * NR_SCALING + NR_FIXED + 1);
	fprintf(stderr,
		"bench_threads: %s run: %d allocators, %d alternating runs of ~%.0f ms "
		"(%d for the loads with goals)\n",
		quick ? "quick" : "full", np, nr_runs, run_ms, goal_runs);
	for (int s = 0; s < 2; s++)
		for (int i = 0; i < NR_SCALING; i++) {
			struct config c = { s ? W_CHURN : W_LARSON, scaling_threads[i], NULL };

			/* Larson at 1 and 2 threads carries goals (print_table below). */
			measure(&c, !s && i < 2 ? goal_runs : nr_runs, scaling[s][i]);
		}
	for (int i = 0; i < NR_FIXED; i++)
		measure(&fixed[i], goal_runs, fixed_res[i]);
	struct config ph = { W_PHASE, 1, NULL };

	measure(&ph, 1, phase_res); /* long: one run each */

	const char *data = getenv("KMEM_BENCH_DATA");

	if (data && *data) {
		write_scaling_data(data, W_LARSON, scaling[0]);
		write_scaling_data(data, W_CHURN, scaling[1]);
	}

	printf("## Threads: server-like loads, scaling, memory after a peak (bench_threads)\n\n");
	printf("Median of %d alternating runs of ~%.0f ms (%d for the loads with goals, whose "
	       "peak RSS moves with where address-space randomisation puts the libraries' "
	       "text), each a fresh process. Throughput in "
	       "operations (an allocation and its free) per microsecond over all threads: higher "
	       "is better, and \"vs best peer\" above 1.00 means ahead of every peer. Peak RSS "
	       "is the child's own (VmHWM from /proc/self/status: getrusage() would also keep "
	       "the peak of the parent that forked it). This machine has %ld CPUs: thread counts above that measure "
	       "oversubscription, not scaling.\n\n",
	       nr_runs, run_ms, goal_runs, sysconf(_SC_NPROCESSORS_ONLN));
	print_table("larson: 1 thread, blocks of 16 .. 512 B (ops/us)", scaling[0][0], false,
		    "ops/us");
	print_table("larson: 2 threads, arrays handed between threads (ops/us)", scaling[0][1],
		    false, "ops/us");
	for (int i = 0; i < NR_FIXED; i++)
		print_table(fixed[i].title, fixed_res[i], false, "ops/us");
	char title[160];

	snprintf(title, sizeof(title),
		 "phase change: resident memory %.0f s after freeing the newest 31/32 of a 256 MiB "
		 "peak (%% of the peak, one run; lower is better)",
		 phase_idle_ms / 1000);
	print_table(title, phase_res, true, "% of peak");
	print_scaling(W_LARSON, scaling[0]);
	print_scaling(W_CHURN, scaling[1]);
	if (data && *data)
		printf("![larson scaling](bench/scaling-larson.png) "
		       "![churn scaling](bench/scaling-churn.png)\n\n");
	return 0;
}
