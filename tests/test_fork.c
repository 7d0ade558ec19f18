// kmem-test: threaded
// SPDX-License-Identifier: MIT
/*
 * fork() in a threaded program. kmem's fork handlers hold every per-CPU unit
 * and zone lock across fork, so the child finds consistent lists; in the
 * child only the forking thread lives on, and the dead threads' per-CPU
 * lists are given back.
 *
 * Two kinds of fork:
 *
 *  - quiesced: the test's own prepare handler (which runs before kmem's)
 *    parks every worker between two operations, its per-CPU lists full.
 *    The child knows every block the dead threads held, frees them all, and
 *    buddyinfo must read exactly as before the workers started.
 *
 *  - while the workers are inside kmem: a dead thread may have been half way
 *    through an allocation or a free (waiting for a zone lock, or for its
 *    per-CPU unit), so nobody can know which blocks it held. The child checks
 *    what must hold anyway, with a walk of the page descriptors: no page is on
 *    a per-CPU list after drain_all_pages(), the free lists are fully
 *    coalesced (no two free buddies of the same order), the zone's free count
 *    matches its lists, the dead threads hold no more than they could, and the
 *    child's own work coalesces back to the state it started from.
 *
 * And the background reporter: a fork must not catch a batch of blocks it
 * took off the free lists to discard, or the child loses them for good.
 *
 * A child reports through its exit status (Criterion's asserts belong to the
 * parent): 0 is success, and a message on stderr says what went wrong.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <kmem/kmem.h>

#include "mm/internal.h"

#define NR_WORKERS 4
#define HOLD 32
#define NR_FORKS 6
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define REPORTER_ROUNDS 6 /* a fork copies the sanitizer's shadow too: it costs a lot */
#else
#define REPORTER_ROUNDS 10
#endif

/* --------------------------------------------------------------- the child */

static char child_msg[1024];

__attribute__((format(printf, 1, 2))) static int child_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(child_msg, sizeof(child_msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "fork child %d: %s\n", getpid(), child_msg);
	return 1;
}

static void read_buddyinfo(char *buf, size_t size)
{
	ssize_t n = kmem_proc_read("buddyinfo", buf, size);

	if (n <= 0 || (size_t)n >= size)
		buf[0] = '\0';
}

/* Fork and run @fn in the child; returns the child's exit status (or -1). */
static int run_in_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn(arg)); /* never return into Criterion's runner */
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * Pages kmem itself held before the workers started (the slab layer's first
 * caches, say): not the workers', so the walk leaves them alone.
 */
static unsigned char *baseline_busy;
static unsigned long baseline_pfns;

static bool in_baseline(unsigned long pfn)
{
	return pfn < baseline_pfns && baseline_busy[pfn];
}

struct walk {
	unsigned long free; /* pages in free blocks, deferred ones included */
	unsigned long busy; /* pages neither free, nor slab, nor in the baseline */
	unsigned long first_busy;
};

/*
 * Walk every zone's descriptors. Fails (0 after child_fail) when a page is
 * still on a per-CPU list, when two free buddies of one order were not
 * merged, or when a zone's free count disagrees with its lists.
 */
static bool walk_zones(struct walk *w, bool record)
{
	struct zone *zone;

	memset(w, 0, sizeof(*w));
	for_each_populated_zone(zone) {
		unsigned long end = zone_end_pfn(zone), zone_free = 0;

		for (unsigned long pfn = zone->zone_start_pfn; pfn < end;) {
			struct page *page = pfn_to_page(pfn);

			if (pfn == zone->deferred_pfn && zone->deferred_pfn < zone->deferred_end) {
				/* Never-initialised order-10 blocks: free, descriptors untouched. */
				zone_free += zone->deferred_end - pfn;
				pfn = zone->deferred_end;
				continue;
			}
			if (PageBuddy(page)) {
				unsigned int order = (unsigned int)page->private;
				unsigned long buddy = pfn ^ (1UL << order);

				if (order < MAX_PAGE_ORDER && zone_spans_pfn(zone, buddy) &&
				    PageBuddy(pfn_to_page(buddy)) &&
				    pfn_to_page(buddy)->private == order)
					return !child_fail(
						"free blocks at pfn %#lx and %#lx, order %u, "
						"are buddies but were not merged",
						pfn, buddy, order);
				zone_free += 1UL << order;
				pfn += 1UL << order;
				continue;
			}
			if (PagePcp(page))
				return !child_fail("pfn %#lx is still on a per-CPU list after "
						   "drain_all_pages()",
						   pfn);
			if (!PageSlab(page) && !PageReserved(page) && !in_baseline(pfn)) {
				if (!w->busy)
					w->first_busy = pfn;
				w->busy++;
				if (record)
					baseline_busy[pfn] = 1;
			}
			pfn++;
		}
		if (zone_free != zone_page_state_free(zone))
			return !child_fail("zone %s: the lists hold %lu free pages, the counter "
					   "says %lu",
					   zone->name, zone_free, zone_page_state_free(zone));
		w->free += zone_free;
	}
	return true;
}

/* The child's own work: orders 0..5 through its own per-CPU lists, stamped. */
static int child_churn(void)
{
	struct page *held[64];
	unsigned int order[64];
	unsigned int seed = (unsigned int)getpid();

	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 64; i++) {
			order[i] = rand_r(&seed) % 6;
			held[i] = alloc_pages(GFP_KERNEL, order[i]);
			if (!held[i])
				return child_fail("order-%u allocation failed in the child",
						  order[i]);
			for (unsigned long p = 0; p < (1UL << order[i]); p++)
				*(unsigned long *)page_address(held[i] + p) =
					(unsigned long)i << 8 | p;
		}
		for (int i = 63; i >= 0; i--) {
			for (unsigned long p = 0; p < (1UL << order[i]); p++)
				if (*(unsigned long *)page_address(held[i] + p) !=
				    ((unsigned long)i << 8 | p))
					return child_fail("block %d lost its stamp", i);
			__free_pages(held[i], order[i]);
		}
	}
	drain_all_pages(NULL);
	return 0;
}

/* ---------------------------------------------------------------- workers */

struct worker {
	pthread_t thread;
	int id;
	int max_order;
	gfp_t gfp;
	/* What it holds; consistent whenever it is parked. */
	struct page *held[HOLD];
	unsigned int order[HOLD];
};

static struct worker workers[NR_WORKERS];
static atomic_bool stop;
static atomic_ulong worker_ops;

/* The test's fork handlers: park the workers between two operations. */
static atomic_bool quiesce_on_fork, quiesce_req;
static atomic_int parked;

static void quiesce_prepare(void)
{
	if (!atomic_load(&quiesce_on_fork))
		return;
	atomic_store(&quiesce_req, true);
	while (atomic_load(&parked) < NR_WORKERS)
		sched_yield();
}

static void quiesce_release(void)
{
	atomic_store(&quiesce_req, false);
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	unsigned int seed = (unsigned int)w->id * 31 + 7;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		if (atomic_load(&quiesce_req)) {
			atomic_fetch_add(&parked, 1);
			while (atomic_load(&quiesce_req))
				sched_yield();
			atomic_fetch_sub(&parked, 1);
		}
		int i = rand_r(&seed) % HOLD;

		if (!w->held[i]) {
			w->order[i] = rand_r(&seed) % (w->max_order + 1);
			w->held[i] = alloc_pages(w->gfp | __GFP_NOWARN, w->order[i]);
			if (w->held[i])
				memset(page_address(w->held[i]), 0x10 + w->id, 64);
		} else {
			__free_pages(w->held[i], w->order[i]);
			w->held[i] = NULL;
		}
		atomic_fetch_add_explicit(&worker_ops, 1, memory_order_relaxed);
	}
	for (int i = 0; i < HOLD; i++)
		if (w->held[i])
			__free_pages(w->held[i], w->order[i]);
	return NULL;
}

/* Busy-wait: a sleep would give the background thread the processor. */
static void spin_us(unsigned int us)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000L + (t.tv_nsec - t0.tv_nsec) / 1000 < (long)us);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts))
		;
}

/* Wait until the workers did @n more operations (or 2 s passed). */
static void let_workers_run(unsigned long n)
{
	unsigned long ops = atomic_load(&worker_ops);

	for (int ms = 0; ms < 2000 && atomic_load(&worker_ops) < ops + n; ms += 5)
		sleep_ms(5);
}

struct child_args {
	const char *before; /* buddyinfo before the workers started */
	int max_order; /* largest order the workers use */
};

/* Quiesced: free everything the dead threads held; the lists must read as before. */
static int child_quiesced(void *arg)
{
	const struct child_args *a = arg;
	static char after[4096];
	unsigned long errors = kmem_error_count();
	struct walk w;
	int blocks = 0;

	if (pcpu_nr_online() != 1)
		return child_fail("%u units online in the child; only the forking thread lives",
				  pcpu_nr_online());
	for (int t = 0; t < NR_WORKERS; t++) {
		for (int i = 0; i < HOLD; i++) {
			struct page *p = workers[t].held[i];

			if (!p)
				continue;
			/* The parent's data, copied on write. */
			for (int b = 0; b < 64; b++)
				if (((unsigned char *)page_address(p))[b] != 0x10 + t)
					return child_fail("worker %d's block lost its data", t);
			__free_pages(p, workers[t].order[i]);
			blocks++;
		}
	}
	if (!blocks)
		return child_fail("the workers held nothing: the test proves nothing");
	drain_all_pages(NULL);
	if (!walk_zones(&w, false))
		return 1;
	if (w.busy)
		return child_fail("%lu pages neither free nor held by anyone (first pfn %#lx)",
				  w.busy, w.first_busy);
	if (child_churn())
		return 1;
	read_buddyinfo(after, sizeof(after));
	if (strcmp(after, a->before))
		return child_fail("not fully coalesced:\nbefore:\n%safter:\n%s", a->before, after);
	if (kmem_error_count() != errors)
		return child_fail("%lu errors in the child", kmem_error_count() - errors);
	kmem_exit();
	return 0;
}

/* Forked while the workers were inside kmem: check what must hold whatever they held. */
static int child_inflight(void *arg)
{
	const struct child_args *a = arg;
	static char start[4096], after[4096];
	unsigned long errors = kmem_error_count();
	unsigned long bound = (unsigned long)NR_WORKERS * (HOLD + 1) << a->max_order;
	struct walk w, w2;

	if (pcpu_nr_online() != 1)
		return child_fail("%u units online in the child; only the forking thread lives",
				  pcpu_nr_online());
	drain_all_pages(NULL);
	if (!walk_zones(&w, false))
		return 1;
	if (w.busy > bound)
		return child_fail("the dead threads hold %lu pages; they could hold at most %lu",
				  w.busy, bound);
	read_buddyinfo(start, sizeof(start));
	if (child_churn())
		return 1;
	read_buddyinfo(after, sizeof(after));
	if (strcmp(after, start))
		return child_fail("the child's own work did not coalesce:\nbefore:\n%safter:\n%s",
				  start, after);
	if (!walk_zones(&w2, false))
		return 1;
	if (w2.busy != w.busy || w2.free != w.free)
		return child_fail("busy %lu -> %lu, free %lu -> %lu pages", w.busy, w2.busy, w.free,
				  w2.free);
	if (kmem_error_count() != errors)
		return child_fail("%lu errors in the child", kmem_error_count() - errors);
	return 0;
}

/* What kmem holds now, before any worker runs. */
static void record_baseline(void)
{
	struct walk w;

	free(baseline_busy);
	baseline_pfns = 0;
	baseline_busy = calloc(kmem_memory.max_pfn, 1);
	cr_assert_not_null(baseline_busy);
	cr_assert(walk_zones(&w, true), "%s", child_msg);
	baseline_pfns = kmem_memory.max_pfn;
}

static void fork_while_working(struct kmem_config cfg, int max_order, gfp_t gfp, bool quiesce)
{
	static char before[4096], after[4096];
	struct child_args args = { before, max_order };

	cr_assert_eq(kmem_init(&cfg), 0);
	/* Registered after kmem's handlers, so ours run first in prepare. */
	cr_assert_eq(pthread_atfork(quiesce_prepare, quiesce_release, quiesce_release), 0);
	atomic_store(&quiesce_on_fork, quiesce);
	drain_all_pages(NULL);
	kmem_release_free_memory();
	read_buddyinfo(before, sizeof(before));
	cr_assert_neq(before[0], '\0');
	record_baseline();
	atomic_store(&stop, false);
	for (int i = 0; i < NR_WORKERS; i++) {
		workers[i] = (struct worker){ .id = i, .max_order = max_order, .gfp = gfp };
		cr_assert_eq(pthread_create(&workers[i].thread, NULL, worker_fn, &workers[i]), 0);
	}
	for (int f = 0; f < NR_FORKS; f++) {
		/* Let the workers get going, so their lists and hands are full. */
		let_workers_run(2000);
		int status = run_in_child(quiesce ? child_quiesced : child_inflight, &args);

		cr_assert_eq(status, 0, "fork %d: the child exited with %d", f, status);
	}
	/* The parent goes on working after its children. */
	unsigned long ops = atomic_load(&worker_ops);

	let_workers_run(2000);
	atomic_store(&stop, true);
	for (int i = 0; i < NR_WORKERS; i++)
		cr_assert_eq(pthread_join(workers[i].thread, NULL), 0);
	atomic_store(&quiesce_on_fork, false);
	cr_assert_gt(atomic_load(&worker_ops), ops, "the workers stopped after the forks");
	drain_all_pages(NULL);
	if (!cfg.no_reporting) {
		/* The reporter may hold blocks off the lists while it discards them. */
		for (int i = 0; i < 500; i++) {
			kmem_release_free_memory();
			read_buddyinfo(after, sizeof(after));
			if (!strcmp(after, before))
				break;
			sleep_ms(10);
		}
	}
	read_buddyinfo(after, sizeof(after));
	cr_assert_str_eq(after, before, "the parent did not coalesce:\nbefore:\n%s\nafter:\n%s",
			 before, after);
	cr_assert_eq(kmem_error_count(), 0);
	kmem_exit();
}

/* ------------------------------------------------------------------ tests */

/* Quiesced workers, orders 0..5 of every migratetype: exact accounting in the child. */
Test(fork, quiesced_threads_lists_given_back, .timeout = 120)
{
	fork_while_working((struct kmem_config){ .mem_size = 128 << 20, .no_reporting = 1 }, 5,
			   GFP_KERNEL, true);
}

Test(fork, quiesced_movable_threads, .timeout = 120)
{
	fork_while_working((struct kmem_config){ .mem_size = 128 << 20, .no_reporting = 1 }, 3,
			   GFP_KERNEL | __GFP_MOVABLE | __GFP_COMP, true);
}

/* Orders 0..3 only: the workers are inside their per-CPU units when the fork comes. */
Test(fork, threads_inside_pcp_lists, .timeout = 120)
{
	fork_while_working((struct kmem_config){ .mem_size = 128 << 20, .no_reporting = 1 }, 3,
			   GFP_KERNEL, false);
}

/* Orders 0..5: some workers wait for a zone lock when the fork comes. */
Test(fork, threads_inside_zone_locks, .timeout = 120)
{
	fork_while_working((struct kmem_config){ .mem_size = 128 << 20, .no_reporting = 1 }, 5,
			   GFP_KERNEL | __GFP_RECLAIMABLE, false);
}

/* ---------------------------------------------------------- page reporting */

static int child_nothing_lost(void *arg)
{
	const struct child_args *a = arg;
	static char after[4096];
	struct walk w;

	drain_all_pages(NULL);
	if (!walk_zones(&w, false))
		return 1;
	if (w.busy)
		return child_fail("%lu pages are neither free nor allocated (first pfn %#lx): the "
				  "reporter had them off the lists when the fork came",
				  w.busy, w.first_busy);
	read_buddyinfo(after, sizeof(after));
	if (strcmp(after, a->before))
		return child_fail("not fully coalesced:\nbefore:\n%safter:\n%s", a->before, after);
	return 0;
}

/*
 * Free 64 MiB of touched order-10 blocks (far above the reporting mark, so
 * the background thread starts discarding at once) and fork straight away,
 * while it is at work: the child, where that thread is gone, must find every
 * block on the free lists.
 */
Test(fork, reporter_batch_not_lost, .timeout = 120)
{
	static char before[4096];
	struct child_args args = { before, MAX_PAGE_ORDER };
	struct page *blocks[16];

	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = 256 << 20 }), 0);
	drain_all_pages(NULL);
	kmem_release_free_memory();
	read_buddyinfo(before, sizeof(before));
	record_baseline();
	for (int round = 0; round < REPORTER_ROUNDS; round++) {
		for (int i = 0; i < 16; i++) {
			blocks[i] = alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER);
			cr_assert_not_null(blocks[i]);
			/* One word a page makes it resident: discarding it takes time. */
			for (unsigned long p = 0; p < (1UL << MAX_PAGE_ORDER); p++)
				*(unsigned long *)page_address(blocks[i] + p) = p;
		}
		for (int i = 0; i < 16; i++)
			__free_pages(blocks[i], MAX_PAGE_ORDER);
		/* Fork at a different moment of the reporter's work each round. */
		spin_us((unsigned int)(round % 10) * 200);
		int status = run_in_child(child_nothing_lost, &args);

		cr_assert_eq(status, 0, "round %d: the child exited with %d", round, status);
	}
	/* The reporter did run meanwhile (or the test proved nothing), and the parent is whole. */
	static char vm[4096];
	unsigned long reported = 0;

	cr_assert_gt(kmem_proc_read("vmstat", vm, sizeof(vm)), 0);
	cr_assert_not_null(strstr(vm, "pgreported "));
	cr_assert_eq(sscanf(strstr(vm, "pgreported "), "pgreported %lu", &reported), 1);
	cr_assert_gt(reported, 0);
	kmem_release_free_memory();
	cr_assert_eq(child_nothing_lost(&args), 0, "%s", child_msg);
	kmem_exit();
}

/* ------------------------------------------------------------ copy-on-write */

struct cow {
	struct page *page[4];
	unsigned int order[4];
};

static int child_cow(void *arg)
{
	struct cow *c = arg;

	for (int b = 0; b < 4; b++) {
		unsigned char *p = page_address(c->page[b]);

		for (unsigned long i = 0; i < (PAGE_SIZE << c->order[b]); i++)
			if (p[i] != (unsigned char)(0x40 + b))
				return child_fail(
					"block %d byte %lu: the child reads %#x, the parent "
					"wrote %#x",
					b, i, p[i], 0x40 + b);
		memset(p, 0xc0 + b, PAGE_SIZE << c->order[b]);
	}
	/* The child's allocator is its own: freeing and allocating do not touch the parent. */
	for (int b = 0; b < 4; b++)
		__free_pages(c->page[b], c->order[b]);
	drain_all_pages(NULL);
	for (int b = 0; b < 4; b++) {
		struct page *p = alloc_pages(GFP_KERNEL, c->order[b]);

		if (!p)
			return child_fail("allocation in the child failed");
		memset(page_address(p), 0xee, PAGE_SIZE << c->order[b]);
	}
	return 0;
}

static void *cow_worker(void *arg)
{
	unsigned int seed = 99;

	while (!atomic_load(&stop)) {
		unsigned int order = rand_r(&seed) % 4;
		struct page *p = alloc_pages(GFP_KERNEL, order);

		if (p) {
			memset(page_address(p), 0x11, PAGE_SIZE << order);
			__free_pages(p, order);
		}
	}
	return NULL;
}

/* The parent's memory reads the same in the child, and the child's writes stay there. */
Test(fork, copy_on_write)
{
	static char before[4096], after[4096];
	struct cow c = { .order = { 0, 2, 3, 9 } };
	pthread_t th;

	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = 64 << 20, .no_reporting = 1 }),
		     0);
	for (int b = 0; b < 4; b++) {
		c.page[b] = alloc_pages(GFP_KERNEL, c.order[b]);
		cr_assert_not_null(c.page[b]);
		memset(page_address(c.page[b]), 0x40 + b, PAGE_SIZE << c.order[b]);
	}
	drain_all_pages(NULL);
	read_buddyinfo(before, sizeof(before));
	/* Another thread allocates and frees all the while: the fork is a threaded one. */
	atomic_store(&stop, false);
	cr_assert_eq(pthread_create(&th, NULL, cow_worker, NULL), 0);
	for (int round = 0; round < 3; round++) {
		int status = run_in_child(child_cow, &c);

		cr_assert_eq(status, 0, "round %d: the child exited with %d", round, status);
		for (int b = 0; b < 4; b++) {
			unsigned char *p = page_address(c.page[b]);
			unsigned long bad = 0;

			for (unsigned long i = 0; i < (PAGE_SIZE << c.order[b]); i++)
				bad += p[i] != (unsigned char)(0x40 + b);
			cr_assert_eq(bad, 0, "block %d: %lu bytes changed by the child", b, bad);
		}
	}
	atomic_store(&stop, true);
	cr_assert_eq(pthread_join(th, NULL), 0);
	drain_all_pages(NULL);
	read_buddyinfo(after, sizeof(after));
	/* The child's frees and allocations did not reach the parent's lists. */
	cr_assert_str_eq(after, before);
	for (int b = 0; b < 4; b++)
		__free_pages(c.page[b], c.order[b]);
	cr_assert_eq(kmem_error_count(), 0);
	kmem_exit();
}
