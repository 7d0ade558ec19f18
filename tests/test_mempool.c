// kmem-test: threaded
// SPDX-License-Identifier: MIT
/*
 * mempool (mm/mempool.c; seed 000): the reserve survives total memory
 * exhaustion; mempool_alloc's gfp masking (first try without reclaim, then
 * with it); a sleeping mempool_alloc is woken by mempool_free and gets that
 * element, or retries the allocator after its timeout; GFP_ATOMIC/GFP_NOWAIT
 * get NULL from an empty reserve; mempool_free refills the reserve before the
 * allocator; resize up and down (memory really freed); destroy with elements
 * still out (reported with the count); many threads on a small pool with no
 * element lost or shared; the slab, kmalloc, kvmalloc and page pools;
 * mempool_init/exit embedded in a structure; bad arguments.
 *
 * Most tests use a "counting allocator" (struct counting below): a slab cache
 * behind alloc/free functions that count what they hand out, record the gfp
 * masks they were called with, and fail on demand, so a test can empty the
 * reserve without exhausting the whole arena, and see what went where.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include "slab_test.h"

#define MEM_SIZE (64UL << 20)
#define SMALL_MEM_SIZE (8UL << 20)
#define OBJ_SIZE 192

static void setup_with(size_t mem_size)
{
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = mem_size, .no_reporting = 1 }),
		     0);
	kswapd_stop(); /* no background reaper moving objects while a test counts them */
}

static void setup(void)
{
	setup_with(MEM_SIZE);
}

static void setup_small(void)
{
	setup_with(SMALL_MEM_SIZE);
}

static void teardown(void)
{
	kmem_exit();
	kmem_set_printk(NULL);
}

TestSuite(mempool, .init = setup, .fini = teardown);
TestSuite(mempool_oom, .init = setup_small, .fini = teardown);

/* ------------------------------------------------------------ the counting allocator */

#define NR_GFP_LOG 64

struct counting {
	struct kmem_cache *cache;
	atomic_long live; /* handed out by alloc and not yet freed */
	atomic_long allocs, frees;
	atomic_bool fail; /* alloc returns NULL */
	long cap; /* > 0: alloc fails once live reaches cap */
	atomic_uint nr_calls;
	gfp_t gfp[NR_GFP_LOG]; /* masks of the first calls */
};

static void *counting_alloc(gfp_t gfp, void *data)
{
	struct counting *c = data;
	unsigned int call = atomic_fetch_add(&c->nr_calls, 1);

	if (call < NR_GFP_LOG)
		c->gfp[call] = gfp;
	if (atomic_load(&c->fail))
		return NULL;
	if (c->cap && atomic_fetch_add(&c->live, 1) >= c->cap) {
		atomic_fetch_sub(&c->live, 1);
		return NULL;
	}
	void *p = kmem_cache_alloc(c->cache, gfp);

	if (!p) {
		if (c->cap)
			atomic_fetch_sub(&c->live, 1);
		return NULL;
	}
	if (!c->cap)
		atomic_fetch_add(&c->live, 1);
	atomic_fetch_add(&c->allocs, 1);
	return p;
}

static void counting_free(void *element, void *data)
{
	struct counting *c = data;

	kmem_cache_free(c->cache, element);
	atomic_fetch_sub(&c->live, 1);
	atomic_fetch_add(&c->frees, 1);
}

static struct counting *counting_new(long cap)
{
	static struct counting c;

	memset(&c, 0, sizeof(c));
	c.cache = kmem_cache_create("mempool_test", OBJ_SIZE, 0, 0, NULL);
	cr_assert_not_null(c.cache);
	c.cap = cap;
	return &c;
}

static mempool_t *counting_pool(int min_nr, long cap, struct counting **cp)
{
	struct counting *c = counting_new(cap);
	mempool_t *pool = mempool_create(min_nr, counting_alloc, counting_free, c);

	cr_assert_not_null(pool, "mempool_create(%d) failed", min_nr);
	cr_assert_eq(pool->curr_nr, min_nr);
	cr_assert_eq(pool->min_nr, min_nr);
	cr_assert_eq(atomic_load(&c->live), min_nr);
	*cp = c;
	return pool;
}

/* Destroy @pool and its cache; every element must be back with the allocator. */
static void counting_done(mempool_t *pool, struct counting *c)
{
	unsigned long errors = kmem_error_count();

	mempool_destroy(pool);
	cr_assert_eq(kmem_error_count(), errors, "mempool_destroy reported a problem");
	cr_assert_eq(atomic_load(&c->live), 0, "%ld elements never reached the allocator again",
		     atomic_load(&c->live));
	cr_assert_eq(atomic_load(&c->allocs), atomic_load(&c->frees));
	kmem_cache_shrink(c->cache);
	struct slabinfo_line s;

	cr_assert(slabinfo_find(NULL, "mempool_test", &s));
	cr_assert_eq(s.active_objs, 0, "slabinfo: %lu objects still active", s.active_objs);
	kmem_cache_destroy(c->cache);
}

static bool in_set(void *const *set, int n, const void *p)
{
	for (int i = 0; i < n; i++)
		if (set[i] == p)
			return true;
	return false;
}

/* The reserve's elements, oldest first (what mempool_alloc hands out last). */
static int reserve_copy(mempool_t *pool, void **out)
{
	memcpy(out, pool->elements, sizeof(void *) * (size_t)pool->curr_nr);
	return pool->curr_nr;
}

/*
 * Make kmalloc's caches hold a free object for each of @sizes, so that a pool
 * struct or reserve array kmalloc'd next takes no new slab page and free-page
 * counts show only the elements.
 */
static void prime_kmalloc(const size_t *sizes, int n)
{
	for (int i = 0; i < n; i++)
		kfree(kmalloc(sizes[i], GFP_KERNEL));
}

/* ------------------------------------------------------------ total exhaustion */

#define EXHAUST_MAX 4096

/* Take every page any caller could get (both zones, every order) and every free object. */
static int exhaust_pages(struct page **pages, unsigned int *orders, int max)
{
	static const gfp_t masks[] = { GFP_ATOMIC | __GFP_NOWARN,
				       GFP_ATOMIC | __GFP_DMA | __GFP_NOWARN };
	int n = 0;

	for (size_t m = 0; m < ARRAY_SIZE(masks); m++) {
		for (int order = MAX_PAGE_ORDER; order >= 0; order--) {
			struct page *page;

			while (n < max && (page = alloc_pages(masks[m], (unsigned int)order))) {
				pages[n] = page;
				orders[n++] = (unsigned int)order;
			}
		}
	}
	cr_assert_lt(n, max, "more than %d blocks: the arena is larger than the test thinks", max);
	return n;
}

Test(mempool_oom, reserve_survives_total_exhaustion)
{
	enum { MIN_NR = 16 };
	struct kmem_cache *cache = kmem_cache_create("mempool_oom", 512, 0, 0, NULL);
	mempool_t *pool = mempool_create_slab_pool(MIN_NR, cache);
	static struct page *pages[EXHAUST_MAX];
	static unsigned int orders[EXHAUST_MAX];
	static void *objs[EXHAUST_MAX], *reserve[MIN_NR], *got[MIN_NR];
	int nr_objs = 0;

	cr_assert_not_null(pool);
	reserve_copy(pool, reserve);
	int nr_pages = exhaust_pages(pages, orders, EXHAUST_MAX);

	while (nr_objs < EXHAUST_MAX &&
	       (objs[nr_objs] = kmem_cache_alloc(cache, GFP_KERNEL | __GFP_NOWARN)))
		nr_objs++;
	cr_assert_null(alloc_pages(GFP_ATOMIC | __GFP_NOWARN, 0), "a page is still free");
	cr_assert_null(alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0), "a page is still free");
	cr_assert_null(kmem_cache_alloc(cache, GFP_ATOMIC | __GFP_NOWARN), "an object is left");

	/* Nothing left anywhere: the reserve is all there is, and all of it is there. */
	printk_capture();
	for (int i = 0; i < MIN_NR; i++) {
		got[i] = mempool_alloc(pool, GFP_KERNEL);
		cr_assert_not_null(got[i], "mempool_alloc #%d failed with the reserve not empty",
				   i);
		cr_assert(in_set(reserve, MIN_NR, got[i]), "element %p is not from the reserve",
			  got[i]);
		memset(got[i], 0x5a, 512);
	}
	cr_assert_eq(pool->curr_nr, 0);
	cr_assert_null(mempool_alloc(pool, GFP_ATOMIC), "empty reserve, no memory: NULL");
	cr_assert_null(mempool_alloc(pool, GFP_NOWAIT));
	cr_assert_eq(printk_count(), 0, "mempool_alloc must not warn (it adds __GFP_NOWARN): %s",
		     printk_log);

	/* Freed elements refill the reserve first, even with the allocator starving. */
	for (int i = 0; i < MIN_NR; i++)
		mempool_free(got[i], pool);
	cr_assert_eq(pool->curr_nr, MIN_NR);
	cr_assert_null(kmem_cache_alloc(cache, GFP_ATOMIC | __GFP_NOWARN),
		       "mempool_free gave an element to the cache although the reserve was short");

	for (int i = 0; i < nr_objs; i++)
		kmem_cache_free(cache, objs[i]);
	for (int i = 0; i < nr_pages; i++)
		__free_pages(pages[i], orders[i]);
	mempool_destroy(pool);
	kmem_cache_destroy(cache);
	cr_assert_eq(kmem_error_count(), 0);
}

Test(mempool_oom, create_fails_cleanly_when_memory_is_short)
{
	/* One order-9 element more than the arena has. */
	int min_nr = (int)(SMALL_MEM_SIZE / (PAGE_SIZE << 9));
	const size_t sizes[] = { sizeof(mempool_t), (size_t)(min_nr + 1) * sizeof(void *) };

	prime_kmalloc(sizes, ARRAY_SIZE(sizes));
	unsigned long before = all_free_pages();

	printk_capture();
	cr_assert_null(mempool_create_page_pool(min_nr + 1, 9));
	cr_assert(printk_logged("could preallocate only"), "no message: %s", printk_log);
	/* Reclaim may have freed more than was there before; a leak would show 512-page holes. */
	unsigned long after = all_free_pages();

	cr_assert_geq(after, before,
		      "%lu free pages before, %lu after: the elements it got were "
		      "not given back",
		      before, after);
	cr_assert_eq(kmem_error_count(), 0);
}

/* ------------------------------------------------------------ gfp masking, no sleeping */

Test(mempool, first_try_without_reclaim_then_with_it)
{
	struct counting *c;
	mempool_t *pool = counting_pool(2, 0, &c);
	void *a = mempool_alloc(pool, GFP_KERNEL);

	cr_assert_not_null(a);
	cr_assert_eq(pool->curr_nr, 2, "the allocator could serve it: the reserve is untouched");
	unsigned int first = 2; /* calls 0 and 1 filled the reserve, with mempool_create's gfp */

	cr_assert_eq(c->gfp[0], GFP_KERNEL);
	gfp_t g = c->gfp[first];

	cr_assert(g & __GFP_NORETRY && g & __GFP_NOWARN && g & __GFP_NOMEMALLOC,
		  "first try gfp %#x lacks NORETRY|NOWARN|NOMEMALLOC", g);
	cr_assert_eq(g & (__GFP_DIRECT_RECLAIM | __GFP_IO), 0,
		     "first try gfp %#x may reclaim or do IO", g);
	cr_assert(g & __GFP_FS && g & __GFP_KSWAPD_RECLAIM, "first try lost other flags: %#x", g);

	/* Allocator failing: try without reclaim, reserve, try with reclaim... reserve first. */
	atomic_store(&c->fail, true);
	unsigned int calls = atomic_load(&c->nr_calls);
	void *b = mempool_alloc(pool, GFP_KERNEL);

	cr_assert_not_null(b);
	cr_assert_eq(pool->curr_nr, 1);
	cr_assert_eq(atomic_load(&c->nr_calls), calls + 1, "one try, then the reserve");
	void *r = mempool_alloc(pool, GFP_NOIO);

	cr_assert_not_null(r);
	cr_assert_eq(pool->curr_nr, 0);

	/* Reserve empty: a second try, with direct reclaim, before giving up. */
	calls = atomic_load(&c->nr_calls);
	cr_assert_null(mempool_alloc(pool, GFP_ATOMIC));
	cr_assert_eq(atomic_load(&c->nr_calls), calls + 1, "GFP_ATOMIC: a single try");
	cr_assert_null(mempool_alloc(pool, GFP_NOWAIT));
	cr_assert_null(mempool_alloc(pool, 0));
	cr_assert_eq(c->gfp[calls] & __GFP_DIRECT_RECLAIM, 0);

	atomic_store(&c->fail, false);
	mempool_free(r, pool);
	mempool_free(b, pool);
	mempool_free(a, pool);
	cr_assert_eq(pool->curr_nr, 2);
	counting_done(pool, c);
}

Test(mempool, free_refills_the_reserve_before_the_allocator)
{
	struct counting *c;
	mempool_t *pool = counting_pool(3, 0, &c);
	void *held[8];

	atomic_store(&c->fail, true);
	for (int i = 0; i < 3; i++)
		held[i] = mempool_alloc(pool, GFP_KERNEL);
	atomic_store(&c->fail, false);
	for (int i = 3; i < 8; i++)
		held[i] = mempool_alloc(pool, GFP_KERNEL);
	cr_assert_eq(pool->curr_nr, 0);
	cr_assert_eq(atomic_load(&c->live), 8);
	cr_assert(!mempool_is_saturated(pool));

	/* Whichever element comes back first, the reserve takes it until full. */
	for (int i = 7; i >= 0; i--) {
		long frees = atomic_load(&c->frees);

		mempool_free(held[i], pool);
		if (7 - i < 3) {
			cr_assert_eq(pool->curr_nr, 8 - i, "element %d should refill the reserve",
				     i);
			cr_assert_eq(atomic_load(&c->frees), frees);
		} else {
			cr_assert_eq(pool->curr_nr, 3);
			cr_assert_eq(atomic_load(&c->frees), frees + 1,
				     "reserve full: to the cache");
		}
	}
	cr_assert(mempool_is_saturated(pool));
	cr_assert_eq(pool->nr_out, 0);
	counting_done(pool, c);
}

Test(mempool, preallocated_and_noreserve)
{
	struct counting *c;
	mempool_t *pool = counting_pool(1, 0, &c);
	void *p = mempool_alloc_preallocated(pool);

	cr_assert_not_null(p);
	cr_assert_eq(pool->curr_nr, 0);
	cr_assert_null(mempool_alloc_preallocated(pool), "the reserve is empty");
	atomic_store(&c->fail, true);
	cr_assert_null(mempool_alloc_noreserve(pool, GFP_KERNEL));
	atomic_store(&c->fail, false);
	void *q = mempool_alloc_noreserve(pool, GFP_KERNEL);

	cr_assert_not_null(q);
	cr_assert_eq(pool->nr_out, 2);
	mempool_free(q, pool);
	mempool_free(p, pool);
	counting_done(pool, c);
}

Test(mempool, zero_reserve_pool)
{
	struct counting *c;
	mempool_t *pool = counting_pool(0, 0, &c);

	cr_assert(mempool_initialized(pool));
	void *p = mempool_alloc(pool, GFP_KERNEL);

	cr_assert_not_null(p);
	mempool_free(p, pool);
	cr_assert_eq(pool->curr_nr, 0);
	cr_assert_eq(atomic_load(&c->frees), 1);
	atomic_store(&c->fail, true);
	cr_assert_null(mempool_alloc(pool, GFP_ATOMIC));
	counting_done(pool, c);
}

/* ------------------------------------------------------------ sleeping */

struct sleeper {
	mempool_t *pool;
	gfp_t gfp;
	void *got;
	atomic_bool done;
};

static void *sleeper_fn(void *arg)
{
	struct sleeper *s = arg;

	s->got = mempool_alloc(s->pool, s->gfp);
	atomic_store(&s->done, true);
	return NULL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Wait until @n threads sleep in mempool_alloc on @pool (bounded: a hang fails the test). */
static void wait_for_sleepers(mempool_t *pool, unsigned int n)
{
	for (int i = 0; i < 20000; i++) {
		if (__atomic_load_n(&pool->wait.nr_waiters, __ATOMIC_RELAXED) >= n)
			return;
		usleep(500);
	}
	cr_assert_fail("no %u threads asleep in mempool_alloc after 10 s", n);
}

Test(mempool, sleeping_alloc_wakes_on_free_and_gets_that_element)
{
	struct counting *c;
	mempool_t *pool = counting_pool(2, 0, &c);
	struct sleeper s = { .pool = pool, .gfp = GFP_KERNEL };
	pthread_t t;

	atomic_store(&c->fail, true);
	void *a = mempool_alloc(pool, GFP_KERNEL), *b = mempool_alloc(pool, GFP_KERNEL);

	cr_assert(a && b && pool->curr_nr == 0);
	unsigned int calls = atomic_load(&c->nr_calls);

	cr_assert_eq(pthread_create(&t, NULL, sleeper_fn, &s), 0);
	wait_for_sleepers(pool, 1);
	cr_assert(!atomic_load(&s.done), "mempool_alloc(GFP_KERNEL) returned on an empty reserve");
	uint64_t t0 = now_ns();

	mempool_free(b, pool);
	pthread_join(t, NULL);
	/* Not a speed test: 4 s only tells a wake-up (microseconds) from the 5 s retry. */
	cr_assert_lt(now_ns() - t0, 4000000000ULL,
		     "the sleeper was not woken by mempool_free (it waited for its timeout)");
	cr_assert_eq(s.got, b, "the sleeper got %p, not the freed element %p", s.got, b);
	/* Before sleeping it tried the allocator twice: without, then with direct reclaim. */
	cr_assert_eq(c->gfp[calls] & __GFP_DIRECT_RECLAIM, 0);
	cr_assert_neq(c->gfp[calls + 1] & __GFP_DIRECT_RECLAIM, 0, "gfp %#x", c->gfp[calls + 1]);
	cr_assert_eq(pool->curr_nr, 0);
	cr_assert_eq(pool->wait.nr_waiters, 0);

	atomic_store(&c->fail, false);
	mempool_free(s.got, pool);
	mempool_free(a, pool);
	counting_done(pool, c);
}

Test(mempool, every_sleeper_is_served)
{
	enum { NR = 4 };
	struct counting *c;
	mempool_t *pool = counting_pool(NR, 0, &c);
	struct sleeper s[NR];
	pthread_t t[NR];
	void *held[NR];

	atomic_store(&c->fail, true);
	for (int i = 0; i < NR; i++)
		held[i] = mempool_alloc(pool, GFP_NOIO);
	for (int i = 0; i < NR; i++) {
		s[i] = (struct sleeper){ .pool = pool, .gfp = GFP_NOIO };
		cr_assert_eq(pthread_create(&t[i], NULL, sleeper_fn, &s[i]), 0);
	}
	wait_for_sleepers(pool, NR);
	for (int i = 0; i < NR; i++)
		mempool_free(held[i], pool);
	for (int i = 0; i < NR; i++) {
		pthread_join(t[i], NULL);
		cr_assert(in_set(held, NR, s[i].got), "sleeper %d got %p", i, s[i].got);
		for (int j = 0; j < i; j++)
			cr_assert_neq(s[i].got, s[j].got, "sleepers %d and %d got one element", i,
				      j);
	}
	atomic_store(&c->fail, false);
	for (int i = 0; i < NR; i++)
		mempool_free(s[i].got, pool);
	counting_done(pool, c);
}

Test(mempool, sleeper_retries_the_allocator_after_its_timeout)
{
	struct counting *c;
	mempool_t *pool = counting_pool(1, 0, &c);
	struct sleeper s = { .pool = pool, .gfp = GFP_KERNEL };
	pthread_t t;

	atomic_store(&c->fail, true);
	void *a = mempool_alloc(pool, GFP_KERNEL);

	cr_assert_eq(pthread_create(&t, NULL, sleeper_fn, &s), 0);
	wait_for_sleepers(pool, 1);
	/* Memory comes back to the allocator, but nobody calls mempool_free: 5 s, then a retry. */
	atomic_store(&c->fail, false);
	pthread_join(t, NULL);
	cr_assert_not_null(s.got);
	cr_assert_neq(s.got, a);
	cr_assert_eq(pool->curr_nr, 0);
	mempool_free(s.got, pool);
	mempool_free(a, pool);
	counting_done(pool, c);
}

/* ------------------------------------------------------------ resize */

Test(mempool, resize_up_and_down)
{
	struct counting *c;
	mempool_t *pool = counting_pool(4, 0, &c);

	cr_assert_eq(mempool_resize(pool, 16), 0);
	cr_assert_eq(pool->min_nr, 16);
	cr_assert_eq(pool->curr_nr, 16, "resize up fills the new reserve at once");
	cr_assert_eq(atomic_load(&c->live), 16);

	cr_assert_eq(mempool_resize(pool, 2), 0);
	cr_assert_eq(pool->min_nr, 2);
	cr_assert_eq(pool->curr_nr, 2);
	cr_assert_eq(atomic_load(&c->live), 2, "resize down gives the surplus back");
	cr_assert_eq(atomic_load(&c->frees), 14);

	/* With elements out: the reserve shrinks to what is there, and refills later. */
	void *a = mempool_alloc_preallocated(pool);

	cr_assert_eq(mempool_resize(pool, 1), 0);
	cr_assert_eq(pool->curr_nr, 1);
	cr_assert_eq(mempool_resize(pool, 5), 0);
	cr_assert_eq(pool->curr_nr, 5);
	mempool_free(a, pool);
	cr_assert_eq(pool->curr_nr, 5, "reserve full: the element goes to the allocator");
	cr_assert_eq(atomic_load(&c->live), 5);

	/* Growing with the allocator failing: min_nr grows, and frees fill it. */
	atomic_store(&c->fail, true);
	cr_assert_eq(mempool_resize(pool, 8), 0);
	cr_assert_eq(pool->min_nr, 8);
	cr_assert_eq(pool->curr_nr, 5);
	atomic_store(&c->fail, false);
	void *b = mempool_alloc(pool, GFP_KERNEL);

	mempool_free(b, pool);
	cr_assert_eq(pool->curr_nr, 6, "a free refills a short reserve");
	counting_done(pool, c);
}

Test(mempool, resize_of_a_page_pool_frees_the_pages)
{
	static const size_t sizes[] = { sizeof(mempool_t), 4 * sizeof(void *),
					32 * sizeof(void *) };

	prime_kmalloc(sizes, ARRAY_SIZE(sizes));
	unsigned long before = all_free_pages();
	mempool_t *pool = mempool_create_page_pool(4, 2);

	cr_assert_not_null(pool);
	cr_assert_eq(before - all_free_pages(), 4 * 4);
	cr_assert_eq(mempool_resize(pool, 32), 0);
	cr_assert_eq(before - all_free_pages(), 32 * 4, "resize up took %lu pages",
		     before - all_free_pages());
	cr_assert_eq(mempool_resize(pool, 1), 0);
	cr_assert_eq(before - all_free_pages(), 1 * 4, "resize down kept %lu pages",
		     before - all_free_pages());
	mempool_destroy(pool);
	cr_assert_eq(all_free_pages(), before);
}

Test(mempool, resize_bad_arguments)
{
	struct counting *c;
	mempool_t *pool = counting_pool(2, 0, &c);
	mempool_t zeroed = { 0 };

	printk_capture();
	cr_assert_eq(mempool_resize(pool, 0), -EINVAL);
	cr_assert(printk_logged("new_min_nr must be positive"), "%s", printk_log);
	cr_assert_eq(mempool_resize(pool, -3), -EINVAL);
	cr_assert_eq(mempool_resize(NULL, 3), -EINVAL);
	cr_assert(printk_logged("NULL pool"));
	cr_assert_eq(mempool_resize(&zeroed, 3), -EINVAL);
	cr_assert(printk_logged("never set up"));
	cr_assert_eq(pool->min_nr, 2);
	cr_assert_eq(pool->curr_nr, 2);
	counting_done(pool, c);
}

/* ------------------------------------------------------------ destroy */

Test(mempool, destroy_with_elements_out_is_reported)
{
	struct counting *c;
	mempool_t *pool = counting_pool(2, 0, &c);
	void *out[5];

	for (int i = 0; i < 5; i++)
		out[i] = mempool_alloc(pool, GFP_KERNEL);
	mempool_free(out[4], pool);
	printk_capture();
	unsigned long errors = kmem_error_count();

	mempool_destroy(pool);
	cr_assert_eq(kmem_error_count(), errors + 1);
	cr_assert(printk_logged("mempool_destroy("), "%s", printk_log);
	cr_assert(printk_logged(": 4 elements still allocated from the pool"), "%s", printk_log);
	/* The reserve went back; the 4 elements out are untouched, valid objects. */
	cr_assert_eq(atomic_load(&c->live), 4);
	for (int i = 0; i < 4; i++) {
		memset(out[i], i, OBJ_SIZE);
		counting_free(out[i], c);
	}
	cr_assert_eq(atomic_load(&c->live), 0);
	kmem_cache_destroy(c->cache);
	cr_assert_eq(kmem_error_count(), errors + 1, "nothing else was reported");
}

Test(mempool, destroy_with_nothing_out_is_silent)
{
	struct counting *c;
	mempool_t *pool = counting_pool(3, 0, &c);
	void *p = mempool_alloc(pool, GFP_KERNEL);

	mempool_free(p, pool);
	printk_capture();
	counting_done(pool, c);
	mempool_destroy(NULL);
	cr_assert_eq(printk_count(), 0, "%s", printk_log);
}

/* ------------------------------------------------------------ threads */

#ifdef __SANITIZE_THREAD__
#define HAMMER_ITERS 400
#else
#define HAMMER_ITERS 5000
#endif
#define HAMMER_THREADS 8

static atomic_bool hammer_stop; /* a thread failed: the others stop too */

struct hammer {
	mempool_t *pool;
	int id;
	long allocs;
	char failure[160]; /* the thread's first failure, reported after the join */
};

__attribute__((format(printf, 2, 3))) static void hammer_fail(struct hammer *h, const char *fmt,
							      ...)
{
	va_list ap;

	if (h->failure[0])
		return;
	va_start(ap, fmt);
	vsnprintf(h->failure, sizeof(h->failure), fmt, ap);
	va_end(ap);
	atomic_store(&hammer_stop, true);
}

static void *hammer_fn(void *arg)
{
	struct hammer *h = arg;
	static const gfp_t masks[] = { GFP_KERNEL, GFP_NOIO, GFP_ATOMIC, GFP_NOWAIT };

	for (int i = 0; i < HAMMER_ITERS && !atomic_load(&hammer_stop); i++) {
		gfp_t gfp = masks[(i + h->id) % ARRAY_SIZE(masks)];
		unsigned char *p = mempool_alloc(h->pool, gfp);

		if (!p) {
			if (gfp & __GFP_DIRECT_RECLAIM)
				hammer_fail(h, "mempool_alloc(%#x) returned NULL", gfp);
			continue;
		}
		int *owner = (int *)p;

		if (*owner != 0)
			hammer_fail(h, "element %p handed out while thread %d holds it", (void *)p,
				    *owner);
		*owner = h->id + 1;
		memset(p + sizeof(int), h->id, OBJ_SIZE - sizeof(int));
		if (i % 3 == 0)
			sched_yield();
		for (int b = sizeof(int); b < OBJ_SIZE; b++)
			if (p[b] != (unsigned char)h->id) {
				hammer_fail(h, "element %p changed while thread %d held it",
					    (void *)p, h->id);
				break;
			}
		*owner = 0;
		h->allocs++;
		mempool_free(p, h->pool);
	}
	return NULL;
}

static void *zeroing_alloc(gfp_t gfp, void *data)
{
	void *p = counting_alloc(gfp, data);

	if (p)
		memset(p, 0, sizeof(int));
	return p;
}

Test(mempool, many_threads_on_a_small_pool)
{
	/* 8 threads, room for 3 elements (2 reserved + 1 held here): most wait. */
	struct counting *c = counting_new(3);
	mempool_t *pool = mempool_create(2, zeroing_alloc, counting_free, c);
	struct hammer h[HAMMER_THREADS];
	pthread_t t[HAMMER_THREADS];
	long total = 0;

	cr_assert_not_null(pool);
	/* The allocator's last element stays out: every thread's first try is refused. */
	void *held = mempool_alloc(pool, GFP_KERNEL);

	cr_assert_not_null(held);
	for (int i = 0; i < HAMMER_THREADS; i++) {
		h[i] = (struct hammer){ .pool = pool, .id = i };
		cr_assert_eq(pthread_create(&t[i], NULL, hammer_fn, &h[i]), 0);
	}
	for (int i = 0; i < HAMMER_THREADS; i++) {
		pthread_join(t[i], NULL);
		total += h[i].allocs;
	}
	*(int *)held = 0;
	mempool_free(held, pool);
	for (int i = 0; i < HAMMER_THREADS; i++)
		cr_assert_eq(h[i].failure[0], '\0', "thread %d: %s", i, h[i].failure);
	cr_assert_geq(total, HAMMER_THREADS * HAMMER_ITERS / 2, "only %ld allocations", total);
	cr_assert_eq(pool->nr_out, 0, "%ld elements lost", pool->nr_out);
	cr_assert_eq(pool->curr_nr, 2, "the reserve is full again");
	cr_assert_leq(atomic_load(&c->live), 3);
	cr_assert_gt(atomic_load(&c->nr_calls), atomic_load(&c->allocs),
		     "the allocator never refused: the reserve was not exercised");
	counting_done(pool, c);
}

/* ------------------------------------------------------------ the pool variants */

Test(mempool, slab_pool)
{
	struct kmem_cache *cache = kmem_cache_create("mempool_slab", 100, 0, 0, NULL);
	mempool_t *pool = mempool_create_slab_pool(4, cache);
	struct slabinfo_line s;

	cr_assert_not_null(pool);
	cr_assert_eq(pool->pool_data, cache);
	cr_assert(slabinfo_find(NULL, "mempool_slab", &s));
	cr_assert_geq(s.active_objs, 4);
	void *p = mempool_alloc(pool, GFP_KERNEL);

	cr_assert_eq(virt_to_page(p)->slab_cache, cache);
	memset(p, 1, 100);
	mempool_free(p, pool);
	mempool_destroy(pool);
	kmem_cache_shrink(cache);
	cr_assert(slabinfo_find(NULL, "mempool_slab", &s));
	cr_assert_eq(s.active_objs, 0);
	kmem_cache_destroy(cache);
}

Test(mempool, kmalloc_pool)
{
	mempool_t *pool = mempool_create_kmalloc_pool(3, 300);

	cr_assert_not_null(pool);
	for (int i = 0; i < 3; i++)
		cr_assert_geq(ksize(pool->elements[i]), 300);
	char *p = mempool_alloc(pool, GFP_KERNEL);

	cr_assert_geq(ksize(p), 300);
	memset(p, 2, 300);
	mempool_free(p, pool);
	mempool_destroy(pool);
}

Test(mempool, kvmalloc_pool)
{
	mempool_t *pool = mempool_create_kvmalloc_pool(2, 40000);

	cr_assert_not_null(pool);
	char *p = mempool_alloc(pool, GFP_KERNEL);

	memset(p, 3, 40000);
	mempool_free(p, pool);
	mempool_destroy(pool);
}

Test(mempool, page_pool)
{
	static const size_t sizes[] = { sizeof(mempool_t), 3 * sizeof(void *) };

	prime_kmalloc(sizes, ARRAY_SIZE(sizes));
	unsigned long before = all_free_pages();
	mempool_t *pool = mempool_create_page_pool(3, 2);

	cr_assert_not_null(pool);
	struct page *page = mempool_alloc(pool, GFP_KERNEL);

	cr_assert_not_null(page);
	memset(page_address(page), 4, 4 * PAGE_SIZE);
	cr_assert_eq(before - all_free_pages(), 4 * 4);
	mempool_free(page, pool);
	mempool_destroy(pool);
	cr_assert_eq(all_free_pages(), before, "the page pool kept pages");
}

/* ------------------------------------------------------------ embedded pools */

struct device_like {
	int id;
	mempool_t pool;
	struct kmem_cache *cache;
};

Test(mempool, init_and_exit_embedded_in_a_struct)
{
	struct device_like *dev = kzalloc(sizeof(*dev), GFP_KERNEL);

	cr_assert(!mempool_initialized(&dev->pool));
	mempool_exit(&dev->pool); /* a zeroed, never set up pool is fine */
	dev->cache = kmem_cache_create("mempool_embedded", 64, 0, 0, NULL);
	cr_assert_eq(mempool_init_slab_pool(&dev->pool, 5, dev->cache), 0);
	cr_assert(mempool_initialized(&dev->pool));
	cr_assert(mempool_is_saturated(&dev->pool));
	cr_assert_eq(dev->pool.curr_nr, 5);
	void *p = mempool_alloc(&dev->pool, GFP_KERNEL);

	mempool_free(p, &dev->pool);
	mempool_exit(&dev->pool);
	cr_assert(!mempool_initialized(&dev->pool));
	mempool_exit(&dev->pool); /* twice is harmless */

	cr_assert_eq(mempool_init_kmalloc_pool(&dev->pool, 2, 48), 0);
	mempool_exit(&dev->pool);
	cr_assert_eq(mempool_init_page_pool(&dev->pool, 2, 0), 0);
	mempool_exit(&dev->pool);
	cr_assert_eq(mempool_init_kvmalloc_pool(&dev->pool, 1, 100), 0);
	mempool_exit(&dev->pool);
	kmem_cache_destroy(dev->cache);
	kfree(dev);
	cr_assert_eq(kmem_error_count(), 0);
}

/* ------------------------------------------------------------ bad arguments */

static void *never_alloc(gfp_t gfp, void *data)
{
	return NULL;
}

static void never_free(void *element, void *data)
{
}

Test(mempool, bad_arguments)
{
	mempool_t pool;
	struct counting *c;

	printk_capture();
	cr_assert_null(mempool_create(-1, never_alloc, never_free, NULL));
	cr_assert(printk_logged("min_nr -1 is negative"), "%s", printk_log);
	cr_assert_null(mempool_create(1, NULL, never_free, NULL));
	cr_assert(printk_logged("NULL alloc function"), "%s", printk_log);
	cr_assert_null(mempool_create(1, never_alloc, NULL, NULL));
	cr_assert(printk_logged("NULL free function"), "%s", printk_log);
	cr_assert_eq(mempool_init(NULL, 1, never_alloc, never_free, NULL), -EINVAL);
	cr_assert_eq(mempool_init(&pool, -5, never_alloc, never_free, NULL), -EINVAL);
	cr_assert_eq(kmem_error_count(), 0, "bad arguments are errors, not detected bugs");

	/* An allocator that never succeeds cannot fill a reserve. */
	cr_assert_null(mempool_create(2, never_alloc, never_free, NULL));
	cr_assert(printk_logged("could preallocate only 0 of the 2"), "%s", printk_log);

	/* NULL elements are fine; NULL or dead pools are reported bugs. */
	mempool_t *p = counting_pool(1, 0, &c);
	unsigned long errors = kmem_error_count();

	mempool_free(NULL, p);
	mempool_free(NULL, NULL);
	cr_assert_eq(kmem_error_count(), errors);
	cr_assert_null(mempool_alloc(NULL, GFP_KERNEL));
	cr_assert_eq(kmem_error_count(), errors + 1);
	cr_assert(printk_logged("mempool_alloc: pool (nil) is NULL"), "%s", printk_log);
	void *e = mempool_alloc(p, GFP_KERNEL);

	mempool_free(e, NULL);
	cr_assert_eq(kmem_error_count(), errors + 2);
	cr_assert(printk_logged("is not freed"), "%s", printk_log);
	mempool_t dead = { 0 };

	cr_assert_null(mempool_alloc(&dead, GFP_KERNEL));
	cr_assert(printk_logged("not set up, or already destroyed"), "%s", printk_log);
	mempool_free(e, p);
	counting_done(p, c);
}

Test(mempool, gfp_zero_is_warned_once)
{
	struct counting *c;
	mempool_t *pool = counting_pool(1, 0, &c);

	printk_capture();
	void *a = mempool_alloc(pool, GFP_KERNEL | __GFP_ZERO);
	void *b = mempool_alloc(pool, GFP_KERNEL | __GFP_ZERO);

	cr_assert(printk_logged("__GFP_ZERO is not supported"), "%s", printk_log);
	cr_assert_eq(printk_count(), 1, "warned more than once: %s", printk_log);
	mempool_free(a, pool);
	mempool_free(b, pool);
	counting_done(pool, c);
}
