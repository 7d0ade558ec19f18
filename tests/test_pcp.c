// kmem-test: threaded
// SPDX-License-Identifier: MIT
/*
 * Per-CPU (per-thread) page lists: where an order-0..3 free goes, when the
 * buddy lists see it, the high mark, draining other threads' lists (idle or
 * busy), and what a thread gives back when it exits.
 *
 * Each test runs with no_reporting = 1 so that no background thread moves
 * free pages while the counts are compared exactly.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <kmem/kmem.h>
#include <kmem/slab.h>

#include "mm/internal.h"

/* ------------------------------------------------------------------ helpers */

static int gettid_(void)
{
	return (int)syscall(SYS_gettid);
}

/* Failures seen in helper threads, reported by the main thread after the join. */
static atomic_int thread_failed;
static char thread_failure[512];

__attribute__((format(printf, 1, 2))) static void thread_fail(const char *fmt, ...)
{
	va_list ap;

	if (atomic_exchange(&thread_failed, 1))
		return;
	va_start(ap, fmt);
	vsnprintf(thread_failure, sizeof(thread_failure), fmt, ap);
	va_end(ap);
}

#define tcheck(cond, ...)                                                                          \
	do {                                                                                       \
		if (!(cond))                                                                       \
			thread_fail(__VA_ARGS__);                                                  \
	} while (0)

/* An assertion for loops: Criterion's --full-stats reports every cr_assert, passed or not. */
#define check(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			cr_assert_fail(__VA_ARGS__);                                               \
	} while (0)

static void assert_threads_ok(void)
{
	cr_assert_eq(atomic_load(&thread_failed), 0, "helper thread: %s", thread_failure);
}

static struct zone *normal_zone(void)
{
	return &NODE_DATA(0)->node_zones[ZONE_NORMAL];
}

static long zone_free(void)
{
	return (long)zone_page_state_free(normal_zone());
}

struct pageset {
	int cpu, count, high, batch, tid;
};

/*
 * The pagesets of node 0's Normal zone from zoneinfo; returns how many were
 * listed (at most @max are stored).
 */
static int zoneinfo_pagesets(struct pageset *ps, int max)
{
	static char buf[1 << 16];
	ssize_t len = kmem_proc_read("zoneinfo", buf, sizeof(buf));
	int n = 0;

	if (len <= 0 || (size_t)len >= sizeof(buf)) {
		thread_fail("zoneinfo: read returned %zd", len);
		return -1;
	}
	char *p = strstr(buf, "Node 0, zone   Normal");

	if (!p) {
		thread_fail("zoneinfo has no Normal zone");
		return -1;
	}
	char *end = strstr(p, "node_unreclaimable");

	if (end)
		*end = '\0';
	while ((p = strstr(p, "cpu: "))) {
		struct pageset s;

		if (sscanf(p, "cpu: %d count: %d high: %d batch: %d tid: %d", &s.cpu, &s.count,
			   &s.high, &s.batch, &s.tid) != 5) {
			thread_fail("zoneinfo pageset does not parse: %.80s", p);
			return -1;
		}
		if (n < max)
			ps[n] = s;
		n++;
		p += 5;
	}
	return n;
}

/* This thread's pageset for the Normal zone; false when it has none. */
static bool my_pageset(struct pageset *out)
{
	struct pageset ps[64];
	int n = zoneinfo_pagesets(ps, 64), tid = gettid_();

	for (int i = 0; i < n && i < 64; i++) {
		if (ps[i].tid == tid) {
			*out = ps[i];
			return true;
		}
	}
	return false;
}

static int my_pcp_count(void)
{
	struct pageset s;

	return my_pageset(&s) ? s.count : -1;
}

static unsigned long vmstat(const char *name)
{
	char buf[4096];
	size_t len = strlen(name);

	cr_assert_gt(kmem_proc_read("vmstat", buf, sizeof(buf)), 0);
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (!strncmp(line, name, len) && line[len] == ' ')
			return strtoul(line + len + 1, NULL, 10);
	cr_assert_fail("vmstat has no %s", name);
	return 0;
}

static void stamp(struct page *page, unsigned int order, unsigned long v)
{
	for (unsigned long i = 0; i < (1UL << order); i++)
		*(unsigned long *)page_address(page + i) = v + i;
}

static bool stamp_ok(struct page *page, unsigned int order, unsigned long v)
{
	for (unsigned long i = 0; i < (1UL << order); i++)
		if (*(unsigned long *)page_address(page + i) != v + i)
			return false;
	return true;
}

static void init_kmem(size_t mem_size)
{
	struct kmem_config cfg = { .mem_size = mem_size, .no_reporting = 1 };

	cr_assert_eq(kmem_init(&cfg), 0);
	/* Initialisation may leave pages on our list (the slab layer's first caches). */
	drain_all_pages(NULL);
}

/* ----------------------------------------------------------- single thread */

/*
 * An order-0 free lands on this thread's list: the zone does not see it, and
 * the next allocation returns the same page (LIFO). The zone's free count
 * moves only when a list is refilled or trimmed, batch pages at a time.
 */
Test(pcp, free_stays_local_and_lifo)
{
	init_kmem(64 << 20);

	struct page *first = alloc_page(GFP_KERNEL);
	struct pageset s;

	cr_assert_not_null(first);
	cr_assert(my_pageset(&s), "no pageset for this thread in zoneinfo");
	cr_assert_gt(s.batch, 0);
	cr_assert_gt(s.high, s.batch, "high %d <= batch %d", s.high, s.batch);
	/* The first allocation refilled the empty list with max(batch, 2) pages. */
	int refill = s.batch > 2 ? s.batch : 2;

	cr_assert_eq(s.count, refill - 1);
	__free_page(first);
	drain_all_pages(NULL);
	cr_assert_eq(my_pcp_count(), 0);

	long f0 = zone_free();
	struct page *p = alloc_page(GFP_KERNEL);

	cr_assert_not_null(p);
	cr_assert_eq(zone_free(), f0 - refill, "refill took %ld pages, batch is %d",
		     f0 - zone_free(), refill);
	cr_assert_eq(my_pcp_count(), refill - 1);

	/* Free it: the zone does not see it; it is this thread's. */
	__free_page(p);
	cr_assert_eq(zone_free(), f0 - refill);
	cr_assert_eq(my_pcp_count(), refill);
	/* LIFO: the same page comes back, still without touching the zone. */
	struct page *q = alloc_page(GFP_KERNEL);

	cr_assert_eq(q, p, "LIFO: freed %p, got %p", (void *)p, (void *)q);
	cr_assert_eq(zone_free(), f0 - refill);
	/* And again with several: the last freed is the first out. */
	struct page *r = alloc_page(GFP_KERNEL);

	cr_assert_not_null(r);
	__free_page(q);
	__free_page(r);
	cr_assert_eq(alloc_page(GFP_KERNEL), r);
	cr_assert_eq(alloc_page(GFP_KERNEL), q);
	__free_page(q);
	__free_page(r);
	cr_assert_eq(zone_free(), f0 - refill);

	/* Empty the list by allocation: the zone sees nothing until the next refill. */
	int have = my_pcp_count();
	struct page **held = calloc(4096, sizeof(*held));
	int nr = 0;

	cr_assert_not_null(held);
	for (int i = 0; i < have; i++) {
		held[nr++] = alloc_page(GFP_KERNEL);
		check(zone_free() == f0 - refill, "allocation %d from the list touched the zone",
		      i);
	}
	cr_assert_eq(my_pcp_count(), 0);
	held[nr++] = alloc_page(GFP_KERNEL);
	cr_assert_eq(zone_free(), f0 - 2 * refill);

	/* Allocate well past high, then free one at a time: the zone gains batch pages at once. */
	while (nr < 4 * s.high)
		cr_assert_not_null(held[nr++] = alloc_page(GFP_KERNEL));
	drain_all_pages(NULL);
	long base = zone_free();
	int count = 0;

	cr_assert_eq(my_pcp_count(), 0);
	while (nr) {
		long before = zone_free();

		__free_page(held[--nr]);
		count++;
		if (count >= s.high) {
			/* Reached high: the coldest batch pages went back to the zone. */
			check(zone_free() == before + s.batch, "at count %d: zone %+ld pages",
			      count, zone_free() - before);
			count -= s.batch;
		} else {
			check(zone_free() == before, "free %d below high moved the zone", count);
		}
		check(my_pcp_count() == count, "count %d, expected %d", my_pcp_count(), count);
	}
	cr_assert_eq(zone_free(), base + 4 * s.high - count);
	drain_all_pages(NULL);
	cr_assert_eq(my_pcp_count(), 0);
	/* Every page is back: the zone holds what it held before the first refill. */
	cr_assert_eq(zone_free(), f0, "zone free %ld, expected %ld", zone_free(), f0);
	free(held);
	cr_assert_eq(kmem_error_count(), 0);
	kmem_exit();
}

/* Allocate and free random orders 0..@max_order, checking the list never holds more than high. */
static void churn_checking_high(unsigned int max_order, int ops, unsigned int seed)
{
	enum { HOLD = 64 };
	struct page *held[HOLD] = { 0 };
	unsigned int order[HOLD] = { 0 };
	struct pageset s;

	for (int i = 0; i < ops; i++) {
		int slot = rand_r(&seed) % HOLD;

		if (held[slot]) {
			check(stamp_ok(held[slot], order[slot], (unsigned long)slot << 20),
			      "stamp");
			__free_pages(held[slot], order[slot]);
			held[slot] = NULL;
		} else {
			order[slot] = rand_r(&seed) % (max_order + 1);
			held[slot] = alloc_pages(GFP_KERNEL, order[slot]);
			check(held[slot], "allocation of order %u failed", order[slot]);
			stamp(held[slot], order[slot], (unsigned long)slot << 20);
		}
		check(my_pageset(&s), "no pageset");
		check(s.count >= 0 && s.count <= s.high, "op %d (%s order %u): count %d > high %d",
		      i, held[slot] ? "alloc" : "free", order[slot], s.count, s.high);
	}
	for (int i = 0; i < HOLD; i++)
		if (held[i])
			__free_pages(held[i], order[i]);
}

Test(pcp, count_never_exceeds_high_order0)
{
	init_kmem(64 << 20);
	long f0 = zone_free();

	churn_checking_high(0, 3000, 1);
	drain_all_pages(NULL);
	cr_assert_eq(zone_free(), f0);
	cr_assert_eq(kmem_error_count(), 0);
	kmem_exit();
}

Test(pcp, count_never_exceeds_high_mixed_orders)
{
	init_kmem(64 << 20);
	long f0 = zone_free();

	churn_checking_high(PAGE_ALLOC_COSTLY_ORDER, 3000, 2);
	drain_all_pages(NULL);
	cr_assert_eq(zone_free(), f0);
	cr_assert_eq(kmem_error_count(), 0);
	kmem_exit();
}

/* ------------------------------------------------------ other threads' lists */

/* One helper thread driven step by step from the main thread. */
struct stepper {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int step; /* raised by the main thread */
	int done; /* raised by the helper when it finished a step */
	int tid, cpu;
	int count; /* its pcp count when it parked */
	struct page *held[512];
	int nr_held;
};

static void stepper_wait(struct stepper *t, int step)
{
	pthread_mutex_lock(&t->lock);
	while (t->step < step)
		pthread_cond_wait(&t->cond, &t->lock);
	pthread_mutex_unlock(&t->lock);
}

static void stepper_done(struct stepper *t, int step)
{
	pthread_mutex_lock(&t->lock);
	t->done = step;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

/* Main thread: let the helper run @step and wait until it has. */
static void stepper_run(struct stepper *t, int step)
{
	pthread_mutex_lock(&t->lock);
	t->step = step;
	pthread_cond_broadcast(&t->cond);
	while (t->done < step)
		pthread_cond_wait(&t->cond, &t->lock);
	pthread_mutex_unlock(&t->lock);
}

static void stepper_init(struct stepper *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
}

/*
 * Step 1: allocate 3 * high order-0 pages, stamp them, free all but a few,
 * record the pcp count and park. Step 2: check the list is empty, allocate
 * and free again, checking stamps and LIFO. Step 3: free the rest and exit.
 */
static void *idle_holder(void *arg)
{
	struct stepper *t = arg;
	struct pageset s;

	t->tid = gettid_();
	stepper_wait(t, 1);
	struct page *p = alloc_page(GFP_KERNEL);

	tcheck(p && my_pageset(&s), "first allocation");
	__free_page(p);
	for (int i = 0; i < 3 * s.high && i < 512; i++) {
		t->held[t->nr_held] = alloc_page(GFP_KERNEL);
		tcheck(t->held[t->nr_held], "allocation %d failed", i);
		stamp(t->held[t->nr_held], 0, 0x1d1e0000UL + i);
		t->nr_held++;
	}
	/* Free all but 4: what stays on the list depends on high and batch; read it back. */
	while (t->nr_held > 4)
		__free_page(t->held[--t->nr_held]);
	tcheck(my_pageset(&s), "no pageset after the frees");
	t->count = s.count;
	t->cpu = s.cpu;
	tcheck(s.count > 0, "nothing left on the list to drain (count %d)", s.count);
	stepper_done(t, 1);

	stepper_wait(t, 2);
	/* Drained while we slept: our list is empty, and we just go on. */
	tcheck(my_pageset(&s) && s.count == 0, "after the remote drain our count is %d", s.count);
	for (int i = 0; i < 4; i++)
		tcheck(stamp_ok(t->held[i], 0, 0x1d1e0000UL + i), "page %d lost its stamp", i);
	for (int round = 0; round < 200; round++) {
		struct page *a = alloc_page(GFP_KERNEL), *b = alloc_pages(GFP_KERNEL, 2);

		tcheck(a && b, "allocation after the drain failed");
		if (!a || !b)
			break;
		stamp(a, 0, 0xaaaa);
		stamp(b, 2, 0xbbbb);
		tcheck(stamp_ok(a, 0, 0xaaaa) && stamp_ok(b, 2, 0xbbbb), "stamps");
		__free_pages(b, 2);
		__free_page(a);
		tcheck(alloc_page(GFP_KERNEL) == a, "LIFO broken after a remote drain");
		__free_page(a);
	}
	stepper_done(t, 2);

	stepper_wait(t, 3);
	while (t->nr_held)
		__free_page(t->held[--t->nr_held]);
	stepper_done(t, 3);
	return NULL;
}

Test(pcp, drain_empties_idle_thread_lists)
{
	struct stepper t;
	struct pageset ps[64];

	init_kmem(64 << 20);
	stepper_init(&t);
	drain_all_pages(NULL);
	long start = zone_free();

	cr_assert_eq(pthread_create(&t.thread, NULL, idle_holder, &t), 0);
	stepper_run(&t, 1);
	assert_threads_ok();
	/* The helper sleeps on a condition variable holding pages on its list. */
	int n = zoneinfo_pagesets(ps, 64);
	bool seen = false;

	for (int i = 0; i < n; i++) {
		if (ps[i].tid != t.tid)
			continue;
		seen = true;
		cr_assert_eq(ps[i].count, t.count,
			     "zoneinfo from the main thread: count %d, "
			     "the helper saw %d",
			     ps[i].count, t.count);
	}
	cr_assert(seen, "the helper's pageset is not in zoneinfo");
	long before = zone_free();

	cr_assert_eq(before, start - 4 - t.count,
		     "zone free %ld: start %ld, 4 held, %d on the list", before, start, t.count);
	drain_all_pages(NULL);
	cr_assert_eq(zone_free(), before + t.count,
		     "the drain gave back %ld pages, the list held %d", zone_free() - before,
		     t.count);
	n = zoneinfo_pagesets(ps, 64);
	for (int i = 0; i < n; i++)
		cr_assert_eq(ps[i].count, 0, "cpu %d (tid %d) still has %d pages", ps[i].cpu,
			     ps[i].tid, ps[i].count);

	stepper_run(&t, 2);
	stepper_run(&t, 3);
	assert_threads_ok();
	cr_assert_eq(pthread_join(t.thread, NULL), 0);
	drain_all_pages(NULL);
	cr_assert_eq(zone_free(), start);
	cr_assert_eq(kmem_error_count(), 0);
	kmem_exit();
}

/* A thread that exits gives its lists back: every order, every migratetype. */
static int exited_tid;

static void *exiting_thread(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;
	struct page *held[256];
	unsigned int order[256];
	int nr = 0;
	static const gfp_t gfps[] = { GFP_KERNEL, GFP_KERNEL | __GFP_MOVABLE,
				      GFP_KERNEL | __GFP_RECLAIMABLE };

	for (int i = 0; i < 256; i++) {
		order[nr] = rand_r(&seed) % (PAGE_ALLOC_COSTLY_ORDER + 1);
		held[nr] = alloc_pages(gfps[i % 3], order[nr]);
		tcheck(held[nr], "allocation %d failed", i);
		if (held[nr])
			nr++;
	}
	/* Free in a shuffled order so several lists hold pages when we exit. */
	for (int i = nr - 1; i > 0; i--) {
		int j = rand_r(&seed) % (i + 1);
		struct page *p = held[i];
		unsigned int o = order[i];

		held[i] = held[j];
		order[i] = order[j];
		held[j] = p;
		order[j] = o;
	}
	while (nr--)
		__free_pages(held[nr], order[nr]);
	tcheck(my_pcp_count() > 0, "nothing left on the lists: the test would prove nothing");
	exited_tid = gettid_();
	return NULL;
}

Test(pcp, exiting_thread_gives_lists_back)
{
	struct pageset ps[64];

	init_kmem(64 << 20);
	long start = zone_free();
	unsigned long pgfree0 = vmstat("pgfree");
	int nr_pagesets = zoneinfo_pagesets(ps, 64);

	for (int i = 0; i < 4; i++) {
		pthread_t th;

		cr_assert_eq(pthread_create(&th, NULL, exiting_thread, (void *)(uintptr_t)(i + 1)),
			     0);
		cr_assert_eq(pthread_join(th, NULL), 0);
		assert_threads_ok();
		/* Our own list is empty (drained at the start): nothing else to drain. */
		cr_assert_eq(zone_free(), start, "after thread %d exited: %ld pages missing", i,
			     start - zone_free());
		int n = zoneinfo_pagesets(ps, 64);

		cr_assert_eq(n, nr_pagesets, "%d pagesets, %d before the thread", n, nr_pagesets);
		for (int j = 0; j < n && j < 64; j++)
			cr_assert_neq(ps[j].tid, exited_tid, "the dead thread still has a pageset");
	}
	/* Its event counters outlive it. */
	cr_assert_gt(vmstat("pgfree"), pgfree0);
	/* The same with the main thread's list in play: drained, the totals match again. */
	struct page *mine = alloc_pages(GFP_KERNEL, 1);
	pthread_t th;

	cr_assert_not_null(mine);
	__free_pages(mine, 1);
	cr_assert_eq(pthread_create(&th, NULL, exiting_thread, (void *)99), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	assert_threads_ok();
	drain_all_pages(NULL);
	cr_assert_eq(zone_free(), start);
	cr_assert_eq(kmem_error_count(), 0);
	kmem_exit();
}

/* A unit handed back is zero for its next owner: count 0, lists re-initialised. */
static void *count_at_start(void *arg)
{
	struct pageset *s = arg;
	struct page *p = alloc_page(GFP_KERNEL);

	tcheck(p && my_pageset(s), "allocation");
	__free_page(p);
	s->count = my_pcp_count();
	return NULL;
}

Test(pcp, reused_unit_starts_empty)
{
	struct pageset a, b;
	pthread_t th;

	init_kmem(64 << 20);
	cr_assert_eq(pthread_create(&th, NULL, count_at_start, &a), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	cr_assert_eq(pthread_create(&th, NULL, count_at_start, &b), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	assert_threads_ok();
	cr_assert_eq(a.cpu, b.cpu, "the second thread should reuse unit %d, got %d", a.cpu, b.cpu);
	cr_assert_eq(b.count, a.count, "a reused unit started with pages: %d vs %d", b.count,
		     a.count);
	cr_assert_eq(b.high, a.high);
	cr_assert_eq(b.batch, a.batch);
	kmem_exit();
}

/* ------------------------------------------------------------ on_each_cpu */

#define NR_VISIT_THREADS 6

struct visit_log {
	int tid[64];
	int cpu[64];
	int n;
	int self_calls;
	int online; /* units online, counted inside the walk (pcp_lock held) */
	int online_tid[64];
	bool not_held; /* a remote unit visited without ->remote raised */
};

static void record_visit(struct percpu_area *area, void *info)
{
	struct visit_log *log = info;
	int cpu;

	if (area != __this_cpu_area) {
		if (!(atomic_load(&area->remote) & PCPU_HELD))
			log->not_held = true;
		/* The walk holds pcpu_lock: no unit comes or goes until it ends. */
		if (log->online < 0) {
			log->online = 0;
			for_each_online_cpu(cpu)
				if (log->online < 64)
					log->online_tid[log->online++] = per_cpu_area(cpu)->tid;
		}
	} else {
		log->self_calls++;
	}
	if (log->n < 64) {
		log->tid[log->n] = area->tid;
		log->cpu[log->n] = area->cpu;
	}
	log->n++;
}

static pthread_barrier_t visit_start, visit_end;
static atomic_bool visit_stop;

static void *parked_thread(void *arg)
{
	int *tid = arg;
	struct page *p = alloc_page(GFP_KERNEL);

	*tid = gettid_();
	pthread_barrier_wait(&visit_start);
	pthread_barrier_wait(&visit_end);
	__free_page(p);
	return NULL;
}

static void *busy_thread(void *arg)
{
	int *tid = arg;
	unsigned int seed = (unsigned int)(uintptr_t)tid;
	struct page *p = alloc_page(GFP_KERNEL);

	*tid = gettid_();
	pthread_barrier_wait(&visit_start);
	while (!atomic_load(&visit_stop)) {
		unsigned int order = rand_r(&seed) % 4;
		struct page *q = alloc_pages(GFP_KERNEL, order);

		tcheck(q, "allocation failed");
		if (q)
			__free_pages(q, order);
	}
	__free_page(p);
	return NULL;
}

/*
 * Every online unit visited exactly once, remote ones while held, our own
 * (if we have one) in the ordinary way; @tids (the helpers) among them.
 */
static void check_visits(struct visit_log *log, const int *tids, int nr, bool self_has_unit)
{
	tcheck(!log->not_held, "a remote unit was visited while its owner could enter it");
	tcheck(log->self_calls == (self_has_unit ? 1 : 0), "own unit visited %d times",
	       log->self_calls);
	tcheck(log->online >= 0, "no remote unit was visited");
	tcheck(log->n == log->online, "%d units visited, %d online during the walk", log->n,
	       log->online);
	for (int i = 0; i < log->online; i++) {
		int seen = 0;

		for (int j = 0; j < log->n; j++)
			seen += log->tid[j] == log->online_tid[i];
		tcheck(seen == 1, "online thread %d visited %d times", log->online_tid[i], seen);
	}
	for (int i = 0; i < nr; i++) {
		int seen = 0;

		for (int j = 0; j < log->n; j++)
			seen += log->tid[j] == tids[i];
		tcheck(seen == 1, "helper thread %d visited %d times", tids[i], seen);
	}
	for (int i = 0; i < log->n; i++)
		for (int j = i + 1; j < log->n; j++)
			tcheck(log->cpu[i] != log->cpu[j], "unit %d visited twice", log->cpu[i]);
}

struct visitor {
	void *(*helper)(void *);
	bool allocate; /* the visiting thread takes a unit of its own first */
	int rounds;
};

/* The visiting thread: a fresh one, so whether it has a unit is up to the test. */
static void *visitor_fn(void *arg)
{
	struct visitor *v = arg;
	pthread_t th[NR_VISIT_THREADS];
	int tids[NR_VISIT_THREADS];
	struct visit_log log;

	if (v->allocate)
		__free_page(alloc_page(GFP_KERNEL));
	tcheck((__this_cpu_area != NULL) == v->allocate, "visitor unit: %p",
	       (void *)__this_cpu_area);
	for (int i = 0; i < NR_VISIT_THREADS; i++)
		pthread_create(&th[i], NULL, v->helper, &tids[i]);
	pthread_barrier_wait(&visit_start);
	for (int round = 0; round < 50; round++) {
		memset(&log, 0, sizeof(log));
		log.online = -1;
		on_each_cpu(record_visit, &log);
		check_visits(&log, tids, NR_VISIT_THREADS, v->allocate);
		v->rounds++;
	}
	atomic_store(&visit_stop, true);
	if (v->helper == parked_thread)
		pthread_barrier_wait(&visit_end);
	for (int i = 0; i < NR_VISIT_THREADS; i++)
		pthread_join(th[i], NULL);
	/* The helpers are gone: none of them is visited any more. */
	memset(&log, 0, sizeof(log));
	log.online = -1;
	on_each_cpu(record_visit, &log);
	check_visits(&log, tids, 0, v->allocate);
	for (int i = 0; i < log.n; i++)
		for (int j = 0; j < NR_VISIT_THREADS; j++)
			tcheck(log.tid[i] != tids[j], "exited thread %d still visited", tids[j]);
	return NULL;
}

static void visit_each(void *(*helper)(void *), bool allocate)
{
	struct visitor v = { helper, allocate, 0 };
	pthread_t th;

	init_kmem(64 << 20);
	pthread_barrier_init(&visit_start, NULL, NR_VISIT_THREADS + 1);
	pthread_barrier_init(&visit_end, NULL, NR_VISIT_THREADS + 1);
	atomic_store(&visit_stop, false);
	/* The main thread has a unit (kmem_init allocated) and waits in pthread_join. */
	cr_assert_not_null(__this_cpu_area);
	cr_assert_eq(pthread_create(&th, NULL, visitor_fn, &v), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	assert_threads_ok();
	cr_assert_eq(v.rounds, 50);
	pthread_barrier_destroy(&visit_start);
	pthread_barrier_destroy(&visit_end);
	kmem_exit();
}

Test(pcp, on_each_cpu_visits_parked_threads_once)
{
	visit_each(parked_thread, true);
}

Test(pcp, on_each_cpu_visits_busy_threads_once)
{
	visit_each(busy_thread, true);
}

Test(pcp, on_each_cpu_from_thread_without_unit)
{
	visit_each(parked_thread, false);
}

/*
 * While on_each_cpu() holds a unit, its owner stays out: a snapshot of the
 * owner's list taken at the start of the callback is unchanged at its end,
 * even while the owner tries to allocate and free as fast as it can.
 */
struct stable_check {
	struct zone *zone;
	int changed;
	int visited;
};

static void list_stays_put(struct percpu_area *area, void *info)
{
	struct stable_check *c = info;
	struct per_cpu_pages *pcp = __this_cpu_ptr(area, c->zone->per_cpu_pageset);

	if (area == __this_cpu_area)
		return;
	int count = pcp->count;
	void *heads[NR_PCP_LISTS];

	for (int i = 0; i < NR_PCP_LISTS; i++)
		heads[i] = pcp->lists[i].next;
	/* Hold it a while: 50 us, and give the processor away once, so the owner tries to enter. */
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 50000);
	sched_yield();
	if (pcp->count != count)
		c->changed++;
	for (int i = 0; i < NR_PCP_LISTS; i++)
		if (pcp->high && heads[i] != pcp->lists[i].next)
			c->changed++;
	c->visited++;
}

Test(pcp, owner_stays_out_while_held)
{
	pthread_t th[3];
	int tids[3];
	struct stable_check c = { normal_zone(), 0, 0 };

	init_kmem(64 << 20);
	pthread_barrier_init(&visit_start, NULL, 4);
	atomic_store(&visit_stop, false);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, busy_thread, &tids[i]), 0);
	pthread_barrier_wait(&visit_start);
	for (int round = 0; round < 100; round++)
		on_each_cpu(list_stays_put, &c);
	atomic_store(&visit_stop, true);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(pthread_join(th[i], NULL), 0);
	assert_threads_ok();
	cr_assert_eq(c.visited, 300);
	cr_assert_eq(c.changed, 0, "an owner changed its list %d times while it was held",
		     c.changed);
	pthread_barrier_destroy(&visit_start);
	kmem_exit();
}

/* drain_all_pages() from the main thread while helpers allocate and free: nothing is lost. */
Test(pcp, drain_while_threads_busy)
{
	pthread_t th[3];
	int tids[3];

	init_kmem(64 << 20);
	long start = zone_free();

	pthread_barrier_init(&visit_start, NULL, 4);
	atomic_store(&visit_stop, false);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, busy_thread, &tids[i]), 0);
	pthread_barrier_wait(&visit_start);
	for (int round = 0; round < 2000; round++) {
		drain_all_pages(NULL);
		long f = zone_free();

		/* Each helper holds one page, one block in flight and whatever it refilled since. */
		check(f <= start, "more pages free (%ld) than exist (%ld)", f, start);
	}
	atomic_store(&visit_stop, true);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(pthread_join(th[i], NULL), 0);
	assert_threads_ok();
	drain_all_pages(NULL);
	cr_assert_eq(zone_free(), start);
	cr_assert_eq(kmem_error_count(), 0);
	pthread_barrier_destroy(&visit_start);
	kmem_exit();
}

/* ------------------------------------------------------------- slow mode */

struct slow_probe {
	struct kmem_cache *cache;
	bool fast_was_slow_area; /* before its first allocation */
	int remote; /* its unit's ->remote after one */
	bool ok;
};

static void *slow_probe_thread(void *arg)
{
	struct slow_probe *sp = arg;

	sp->fast_was_slow_area = __this_cpu_fast == &pcpu_slow_area;
	void *p = kmem_cache_alloc(sp->cache, GFP_KERNEL);

	sp->remote = __this_cpu_area ? atomic_load(&__this_cpu_area->remote) : -1;
	sp->ok = p != NULL;
	kmem_cache_free(sp->cache, p);
	return NULL;
}

static struct slow_probe run_slow_probe(struct kmem_cache *cache)
{
	struct slow_probe sp = { .cache = cache };
	pthread_t th;

	cr_assert_eq(pthread_create(&th, NULL, slow_probe_thread, &sp), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	cr_assert(sp.ok, "the probe thread's allocation failed");
	cr_assert(sp.fast_was_slow_area, "a thread without a unit must enter pcpu_slow_area");
	return sp;
}

/*
 * pcpu_set_slow(): PCPU_SLOW is in every unit while any reason is on, in
 * units attached meanwhile too, and leaves them when the last reason goes;
 * allocations keep working either way (through the slow paths).
 */
Test(pcp, slow_mode_reaches_every_unit)
{
	init_kmem(64 << 20);
	struct kmem_cache *cache = kmem_cache_create("pcp-slow", 64, 0, 0, NULL);
	void *objs[300];

	cr_assert_not_null(cache);
	pcpu_set_slow(PCPU_SLOW_SAMPLE, true);
	cr_assert(atomic_load(&__this_cpu_area->remote) & PCPU_SLOW);
	cr_assert(run_slow_probe(cache).remote & PCPU_SLOW, "a new thread's unit is not slow");
	for (int i = 0; i < 300; i++)
		cr_assert_not_null(objs[i] = kmem_cache_alloc(cache, GFP_KERNEL));
	pcpu_set_slow(PCPU_SLOW_FAILSLAB, true);
	pcpu_set_slow(PCPU_SLOW_SAMPLE, false);
	cr_assert(atomic_load(&__this_cpu_area->remote) & PCPU_SLOW, "one reason is still on");
	pcpu_set_slow(PCPU_SLOW_FAILSLAB, false);
	cr_assert_eq(atomic_load(&__this_cpu_area->remote) & PCPU_SLOW, 0);
	cr_assert_eq(run_slow_probe(cache).remote & PCPU_SLOW, 0, "a new thread's unit is slow");
	/* Objects taken in slow mode go back through the fast path. */
	for (int i = 0; i < 300; i++)
		kmem_cache_free(cache, objs[i]);
	cr_assert_eq(kmem_cache_shrink(cache), 0);
	kmem_cache_destroy(cache);
	cr_assert_eq(kmem_error_count(), 0);
	kmem_exit();
}

/* ----------------------------------------------- threads outliving kmem_exit */

/*
 * A thread that used kmem, then sat idle across kmem_exit() and kmem_init(),
 * must attach a unit of the new instance, not enter its old one: that one is
 * offline, and the next thread to attach would be handed it too.
 */
struct survivor {
	pthread_barrier_t step;
	struct percpu_area *before, *after;
	struct pageset set;
	bool listed;
	void *obj;
};

static void *survivor_thread(void *arg)
{
	struct survivor *s = arg;
	struct page *p = alloc_page(GFP_KERNEL);

	tcheck(p != NULL, "first allocation");
	__free_page(p);
	s->before = __this_cpu_area;
	pthread_barrier_wait(&s->step); /* main: kmem_exit(), kmem_init() */
	pthread_barrier_wait(&s->step);
	tcheck(__this_cpu_area == NULL, "kmem_exit left this thread its unit %p", __this_cpu_area);
	p = alloc_page(GFP_KERNEL);
	tcheck(p != NULL, "allocation after kmem_init");
	s->listed = my_pageset(&s->set);
	s->after = __this_cpu_area;
	s->obj = kmalloc(64, GFP_KERNEL);
	__free_page(p);
	pthread_barrier_wait(&s->step); /* main: a third thread attaches */
	pthread_barrier_wait(&s->step);
	kfree(s->obj);
	return NULL;
}

static void *attach_probe(void *arg)
{
	struct pageset *set = arg;
	struct page *p = alloc_page(GFP_KERNEL);

	tcheck(p && my_pageset(set), "the probe thread has no pageset");
	__free_page(p);
	return NULL;
}

Test(pcp, thread_outliving_kmem_exit_attaches_afresh)
{
	struct survivor s = { 0 };
	struct pageset probe;
	pthread_t th, th2;

	pthread_barrier_init(&s.step, NULL, 2);
	init_kmem(64 << 20);
	cr_assert_eq(pthread_create(&th, NULL, survivor_thread, &s), 0);
	pthread_barrier_wait(&s.step);
	kmem_exit();
	init_kmem(64 << 20);
	pthread_barrier_wait(&s.step);
	pthread_barrier_wait(&s.step);
	cr_assert_not_null(s.before);
	cr_assert(s.listed, "after kmem_init the thread allocates from a unit nobody lists");
	cr_assert_not_null(s.after);
	cr_assert(s.after->online);
	/* A thread attaching now must not be handed the survivor's unit. */
	cr_assert_eq(pthread_create(&th2, NULL, attach_probe, &probe), 0);
	cr_assert_eq(pthread_join(th2, NULL), 0);
	cr_assert_neq(probe.cpu, s.set.cpu, "two threads share unit %d", probe.cpu);
	pthread_barrier_wait(&s.step);
	cr_assert_eq(pthread_join(th, NULL), 0);
	assert_threads_ok();
	cr_assert_eq(kmem_error_count(), 0);
	kmem_exit();
	pthread_barrier_destroy(&s.step);
}
