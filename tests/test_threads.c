// kmem-test: threaded
// SPDX-License-Identifier: MIT
/*
 * The buddy allocator under threads: many threads allocating and freeing
 * blocks of orders 0..5 at once, some blocks freed by another thread than the
 * one that allocated them, per-CPU lists drained from other threads while
 * their owners work, threads coming and going. Afterwards every page must be
 * back and coalesced: buddyinfo reads exactly as it did before the first
 * allocation, and kmem caught no error.
 *
 * Every allocated page is claimed in an ownership map (one atomic word per
 * pfn) and stamped; a page handed to two threads at once, or a block whose
 * stamp changed while it was allocated, fails the test.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kmem/kmem.h>

#include "mm/internal.h"

#define MEM_SIZE (256UL << 20)
#define NR_WORKERS 8
#define MAX_ORDER_USED 5
#define HOLD 48 /* blocks a worker holds at most */
#define QUEUE_SIZE 256 /* blocks in flight between threads */
#define RUN_NS (2000ULL * 1000000ULL)

/* ------------------------------------------------------------------ helpers */

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

static void assert_threads_ok(void)
{
	cr_assert_eq(atomic_load(&thread_failed), 0, "worker thread: %s", thread_failure);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void read_proc(const char *name, char *buf, size_t size)
{
	ssize_t n = kmem_proc_read(name, buf, size);

	cr_assert(n > 0 && (size_t)n < size, "%s: %zd", name, n);
}

/* ---------------------------------------------------- ownership and stamps */

static _Atomic unsigned int *owner; /* per pfn: 0 free, else worker id + 1 */
static unsigned long nr_pfns;

struct block {
	struct page *page;
	unsigned int order;
	unsigned int owner; /* worker id + 1 of the allocator */
	unsigned long stamp;
};

static unsigned long block_stamp(unsigned int id, unsigned long serial)
{
	return ((unsigned long)id << 56) ^ (serial * 0x9e3779b97f4a7c15UL);
}

/* Claim every page of a fresh block; false (after a report) if another thread holds one. */
static bool claim(struct block *b)
{
	unsigned long pfn = page_to_pfn(b->page);

	if (pfn + (1UL << b->order) > nr_pfns) {
		thread_fail("block pfn %#lx order %u lies outside the arena", pfn, b->order);
		return false;
	}
	if (pfn & ((1UL << b->order) - 1)) {
		thread_fail("block pfn %#lx is not aligned to its order %u", pfn, b->order);
		return false;
	}
	for (unsigned long i = 0; i < (1UL << b->order); i++) {
		unsigned int expected = 0;

		if (!atomic_compare_exchange_strong(&owner[pfn + i], &expected, b->owner)) {
			thread_fail("pfn %#lx (order %u block) handed to worker %u while worker %u "
				    "holds it",
				    pfn + i, b->order, b->owner - 1, expected - 1);
			return false;
		}
	}
	for (unsigned long i = 0; i < (1UL << b->order); i++) {
		unsigned long *w = page_address(b->page + i);

		w[0] = b->stamp + i;
		w[PAGE_SIZE / sizeof(long) - 1] = ~(b->stamp + i);
	}
	return true;
}

/* Check the stamp and give up the claim; the caller frees the block right after. */
static void unclaim(struct block *b)
{
	unsigned long pfn = page_to_pfn(b->page);

	for (unsigned long i = 0; i < (1UL << b->order); i++) {
		unsigned long *w = page_address(b->page + i);

		if (w[0] != b->stamp + i || w[PAGE_SIZE / sizeof(long) - 1] != ~(b->stamp + i))
			thread_fail("pfn %#lx: stamp of worker %u overwritten while allocated",
				    pfn + i, b->owner - 1);
		unsigned int expected = b->owner;

		if (!atomic_compare_exchange_strong(&owner[pfn + i], &expected, 0))
			thread_fail("pfn %#lx: owned by %u, expected %u", pfn + i, expected,
				    b->owner);
	}
}

/* ------------------------------------------------ blocks passed between threads */

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static struct block queue[QUEUE_SIZE];
static int queue_len;

static bool queue_push(const struct block *b)
{
	bool ok = false;

	pthread_mutex_lock(&queue_lock);
	if (queue_len < QUEUE_SIZE) {
		queue[queue_len++] = *b;
		ok = true;
	}
	pthread_mutex_unlock(&queue_lock);
	return ok;
}

/* Take a block some other worker queued; false when there is none. */
static bool queue_pop_foreign(unsigned int me, struct block *b)
{
	bool ok = false;

	pthread_mutex_lock(&queue_lock);
	for (int i = queue_len - 1; i >= 0; i--) {
		if (queue[i].owner == me)
			continue;
		*b = queue[i];
		queue[i] = queue[--queue_len];
		ok = true;
		break;
	}
	pthread_mutex_unlock(&queue_lock);
	return ok;
}

/* ------------------------------------------------------------------ workers */

struct worker {
	pthread_t thread;
	unsigned int id;
	unsigned long allocs, frees, cross_frees, failures;
};

static atomic_bool stop;
static uint64_t deadline;
static pthread_barrier_t start_line;

static gfp_t pick_gfp(unsigned int *seed)
{
	static const gfp_t gfps[] = {
		GFP_KERNEL,
		GFP_KERNEL | __GFP_MOVABLE,
		GFP_KERNEL | __GFP_RECLAIMABLE,
		GFP_ATOMIC,
		GFP_KERNEL | __GFP_ZERO,
		GFP_KERNEL | __GFP_COMP,
		GFP_KERNEL | __GFP_DMA,
	};
	unsigned int r = rand_r(seed) % 32;

	return gfps[r < ARRAY_SIZE(gfps) ? r : 0];
}

static void free_block(struct worker *w, struct block *b)
{
	unclaim(b);
	__free_pages(b->page, b->order);
	w->frees++;
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	unsigned int seed = w->id * 7919 + 1;
	struct block held[HOLD];
	unsigned long serial = 0;
	int nr = 0;

	pthread_barrier_wait(&start_line);
	while (!atomic_load_explicit(&stop, memory_order_relaxed) && !atomic_load(&thread_failed)) {
		unsigned int r = rand_r(&seed) % 16;

		if ((r < 7 && nr < HOLD) || nr == 0) {
			/* Allocate. */
			struct block b = { .order = rand_r(&seed) % (MAX_ORDER_USED + 1),
					   .owner = w->id + 1 };
			gfp_t gfp = pick_gfp(&seed);

			b.page = alloc_pages(gfp | __GFP_NOWARN, b.order);
			if (!b.page) {
				w->failures++;
				continue;
			}
			w->allocs++;
			if (gfp & __GFP_ZERO) {
				for (unsigned long i = 0; i < (PAGE_SIZE << b.order) / sizeof(long);
				     i++)
					if (((unsigned long *)page_address(b.page))[i]) {
						thread_fail(
							"__GFP_ZERO block pfn %#lx order %u not "
							"zero at word %lu",
							page_to_pfn(b.page), b.order, i);
						break;
					}
			}
			b.stamp = block_stamp(w->id, ++serial);
			if (!claim(&b))
				break;
			held[nr++] = b;
		} else if (r < 12) {
			/* Free one of ours. */
			int i = rand_r(&seed) % nr;

			free_block(w, &held[i]);
			held[i] = held[--nr];
		} else if (r < 14) {
			/* Hand one to another thread. */
			int i = rand_r(&seed) % nr;

			if (queue_push(&held[i]))
				held[i] = held[--nr];
		} else {
			/* Free one another thread allocated. */
			struct block b;

			if (queue_pop_foreign(w->id + 1, &b)) {
				free_block(w, &b);
				w->cross_frees++;
			}
		}
		if ((w->allocs & 255) == 0 && now_ns() > deadline)
			atomic_store(&stop, true);
	}
	while (nr)
		free_block(w, &held[--nr]);
	return NULL;
}

static void drain_queue(void)
{
	struct worker w = { 0 };
	struct block b;

	while (queue_pop_foreign(~0U, &b))
		free_block(&w, &b);
}

static void start_workers(struct worker *w, int n, int extra_at_start_line)
{
	atomic_store(&stop, false);
	atomic_store(&thread_failed, 0);
	deadline = now_ns() + RUN_NS;
	pthread_barrier_init(&start_line, NULL, n + extra_at_start_line + 1);
	for (int i = 0; i < n; i++) {
		w[i] = (struct worker){ .id = (unsigned int)i };
		cr_assert_eq(pthread_create(&w[i].thread, NULL, worker_fn, &w[i]), 0);
	}
}

static void join_workers(struct worker *w, int n)
{
	unsigned long allocs = 0, cross = 0;

	for (int i = 0; i < n; i++) {
		cr_assert_eq(pthread_join(w[i].thread, NULL), 0);
		allocs += w[i].allocs;
		cross += w[i].cross_frees;
	}
	pthread_barrier_destroy(&start_line);
	drain_queue();
	assert_threads_ok();
	/* Loose bounds: a loaded machine under TSan still does thousands. */
	cr_assert_gt(allocs, 200, "only %lu allocations in the run", allocs);
	cr_assert_gt(cross, 5, "only %lu blocks freed by another thread", cross);
	for (unsigned long pfn = 0; pfn < nr_pfns; pfn++)
		if (atomic_load(&owner[pfn]))
			cr_assert_fail("pfn %#lx still claimed", pfn);
}

static void setup(struct kmem_config cfg)
{
	cr_assert_eq(kmem_init(&cfg), 0);
	nr_pfns = MEM_SIZE >> PAGE_SHIFT;
	owner = calloc(nr_pfns, sizeof(*owner));
	cr_assert_not_null(owner);
	queue_len = 0;
}

static void teardown(void)
{
	free(owner);
	owner = NULL;
	kmem_exit();
}

/* --------------------------------------------------------------------- tests */

Test(threads, concurrent_alloc_free_coalesces_fully, .timeout = 60)
{
	static char before[4096], after[4096];
	struct worker w[NR_WORKERS];

	setup((struct kmem_config){ .mem_size = MEM_SIZE, .no_reporting = 1 });
	/* Initialisation may leave pages on the main thread's list: start from empty lists. */
	drain_all_pages(NULL);
	read_proc("buddyinfo", before, sizeof(before));
	start_workers(w, NR_WORKERS, 0);
	pthread_barrier_wait(&start_line);
	join_workers(w, NR_WORKERS);
	/* The main thread never allocated; the workers' lists went back when they exited. */
	drain_all_pages(NULL);
	read_proc("buddyinfo", after, sizeof(after));
	cr_assert_str_eq(after, before, "not fully coalesced:\nbefore:\n%s\nafter:\n%s", before,
			 after);
	cr_assert_eq(kmem_error_count(), 0);
	teardown();
}

/* ---------------------------------------------- drains racing allocations */

static void *drainer_fn(void *arg)
{
	unsigned long *rounds = arg;

	pthread_barrier_wait(&start_line);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		drain_all_pages(NULL);
		(*rounds)++;
	}
	return NULL;
}

/* Reads zoneinfo and meminfo, which visit every unit too: two remote visitors at once. */
static void *reader_fn(void *arg)
{
	unsigned long *rounds = arg;
	static char buf[1 << 16];

	pthread_barrier_wait(&start_line);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		ssize_t n =
			kmem_proc_read((*rounds & 1) ? "zoneinfo" : "meminfo", buf, sizeof(buf));

		if (n <= 0 || (size_t)n >= sizeof(buf))
			thread_fail("proc read returned %zd", n);
		(*rounds)++;
	}
	return NULL;
}

/* Short-lived threads: each allocates, frees and exits, its unit offlined mid-drain. */
static void *short_lived(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;

	for (int i = 0; i < 32; i++) {
		unsigned int order = rand_r(&seed) % 4;
		struct page *p = alloc_pages(GFP_KERNEL | __GFP_NOWARN, order);

		if (p) {
			memset(page_address(p), 0x5a, PAGE_SIZE << order);
			__free_pages(p, order);
		}
	}
	return NULL;
}

static void *spawner_fn(void *arg)
{
	unsigned long *spawned = arg;

	pthread_barrier_wait(&start_line);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		pthread_t t;

		if (pthread_create(&t, NULL, short_lived, (void *)(uintptr_t)(*spawned + 1)))
			break;
		pthread_join(t, NULL);
		(*spawned)++;
	}
	return NULL;
}

static void race_drains(struct kmem_config cfg)
{
	static char before[4096], after[4096];
	struct worker w[4];
	pthread_t drainer, reader, spawner;
	unsigned long drains = 0, reads = 0, spawned = 0;

	setup(cfg);
	drain_all_pages(NULL);
	kmem_release_free_memory();
	read_proc("buddyinfo", before, sizeof(before));
	start_workers(w, 4, 3);
	cr_assert_eq(pthread_create(&drainer, NULL, drainer_fn, &drains), 0);
	cr_assert_eq(pthread_create(&reader, NULL, reader_fn, &reads), 0);
	cr_assert_eq(pthread_create(&spawner, NULL, spawner_fn, &spawned), 0);
	pthread_barrier_wait(&start_line);
	/* The main thread drains too, and allocates between drains: it has a unit of its own. */
	unsigned long mine = 0;

	while (!atomic_load(&stop)) {
		struct page *p = alloc_pages(GFP_KERNEL, mine % 4);

		cr_assert_not_null(p);
		drain_all_pages(NULL);
		__free_pages(p, mine % 4);
		mine++;
		if (now_ns() > deadline)
			atomic_store(&stop, true);
	}
	cr_assert_eq(pthread_join(drainer, NULL), 0);
	cr_assert_eq(pthread_join(reader, NULL), 0);
	cr_assert_eq(pthread_join(spawner, NULL), 0);
	join_workers(w, 4);
	cr_assert_gt(drains, 10, "the drainer ran only %lu times", drains);
	cr_assert_gt(spawned, 2, "only %lu short-lived threads", spawned);
	drain_all_pages(NULL);
	if (cfg.no_reporting) {
		read_proc("buddyinfo", after, sizeof(after));
	} else {
		/*
		 * The reporter may hold a batch of blocks off the lists while it
		 * discards them: give it a moment to put them back.
		 */
		for (int i = 0; i < 500; i++) {
			kmem_release_free_memory();
			read_proc("buddyinfo", after, sizeof(after));
			if (!strcmp(after, before))
				break;
			usleep(10000);
		}
	}
	cr_assert_str_eq(after, before, "not fully coalesced:\nbefore:\n%s\nafter:\n%s", before,
			 after);
	cr_assert_eq(kmem_error_count(), 0);
	teardown();
}

Test(threads, drain_races_allocation, .timeout = 60)
{
	race_drains((struct kmem_config){ .mem_size = MEM_SIZE, .no_reporting = 1 });
}

/* The same with the background reporter busy: a 1 ms delay reports blocks as soon as they form. */
Test(threads, drain_races_allocation_and_reporting, .timeout = 60)
{
	race_drains((struct kmem_config){ .mem_size = MEM_SIZE, .reporting_delay_ms = 1 });
}
