// SPDX-License-Identifier: MIT
/*
 * Memory pools (mm/mempool.c; seed 000 "mempool"): a guaranteed reserve in
 * front of an allocator, for allocations that must make progress when memory
 * is exhausted (the storvsc driver's requests, a block layer's bios).
 *
 * A pool holds up to min_nr preallocated elements in pool->elements, a stack
 * of curr_nr pointers. The reserve is a last resort, not a cache:
 *
 *   mempool_alloc   asks the allocator first, with the caller's gfp minus
 *                   __GFP_DIRECT_RECLAIM and __GFP_IO, plus __GFP_NORETRY,
 *                   __GFP_NOWARN and __GFP_NOMEMALLOC (failing is fine, the
 *                   reserve is there; the page allocator's own emergency
 *                   reserves are left to others). Then it pops the reserve.
 *                   If the reserve is empty it asks the allocator once more
 *                   with the full gfp (direct reclaim allowed); then a caller
 *                   that may not sleep gets NULL, and one that may
 *                   (__GFP_DIRECT_RECLAIM) sleeps until mempool_free() puts
 *                   an element back, or MEMPOOL_RETRY_NS pass (the kernel's
 *                   io_schedule_timeout(5*HZ)), and starts over. It never
 *                   returns NULL to such a caller.
 *   mempool_free    refills the reserve while curr_nr < min_nr, waking the
 *                   sleepers, and gives elements back to the allocator only
 *                   when the reserve is full.
 *
 * Waiting: the kernel's wait queue becomes a futex word (pool->wait.seq, an
 * os_event) and a count of sleepers. A sleeper reads seq under pool->lock
 * after finding the reserve empty, so any mempool_free() that refills the
 * reserve afterwards bumps seq and its futex wait returns at once or is woken.
 * mempool_free() makes the wake-up system call only when the count says
 * someone sleeps.
 *
 * Invariants (under pool->lock): 0 <= curr_nr <= min_nr, except that a
 * shrinking mempool_resize() lowers min_nr after freeing the surplus, and
 * elements[0 .. curr_nr-1] are distinct elements the allocator handed out.
 * nr_out counts elements returned by mempool_alloc*() minus those given to
 * mempool_free(): mempool_destroy() reports it when it is not zero.
 *
 * Locking: pool->lock is a leaf lock, never held across a call to the
 * pool's alloc or free function (they may sleep or take their own locks).
 * curr_nr and min_nr are written under the lock with WRITE_ONCE and read
 * without it (mempool_free's fast check, mempool_is_saturated) with
 * READ_ONCE.
 */
#include <errno.h>
#include <string.h>

#include <kmem/mempool.h>

#include "platform/os.h"
#include "platform/printk.h"
#include "platform/spinlock.h"
#include "slab.h"

/* How long a sleeper waits for mempool_free() before trying the allocator again. */
#define MEMPOOL_RETRY_NS (5ULL * 1000000000ULL)

/* What mempool_alloc adds to every request: failing is fine, the reserve is there. */
#define MEMPOOL_GFP_ADD (__GFP_NOMEMALLOC | __GFP_NORETRY | __GFP_NOWARN)
/* ... and what the first try leaves out: no sleeping in reclaim before the reserve is tried. */
#define MEMPOOL_GFP_FIRST_TRY_CLEAR (__GFP_DIRECT_RECLAIM | __GFP_IO)

BUILD_BUG_ON(sizeof(spinlock_t) != sizeof(((mempool_t *)0)->lock));
BUILD_BUG_ON(sizeof(struct os_event) != sizeof(((mempool_t *)0)->wait.seq));

/* The public header spells the lock and the futex word as plain ints (it cannot see ours). */
static inline spinlock_t *pool_lock(mempool_t *pool)
{
	return (spinlock_t *)&pool->lock;
}

static inline struct os_event *pool_event(mempool_t *pool)
{
	return (struct os_event *)&pool->wait.seq;
}

static inline void element_out(mempool_t *pool)
{
	__atomic_fetch_add(&pool->nr_out, 1, __ATOMIC_RELAXED);
}

static inline void element_in(mempool_t *pool)
{
	__atomic_fetch_sub(&pool->nr_out, 1, __ATOMIC_RELAXED);
}

static inline void add_element(mempool_t *pool, void *element)
{
	pool->elements[pool->curr_nr] = element;
	WRITE_ONCE(pool->curr_nr, pool->curr_nr + 1);
}

static inline void *remove_element(mempool_t *pool)
{
	WRITE_ONCE(pool->curr_nr, pool->curr_nr - 1);
	return pool->elements[pool->curr_nr];
}

/* ------------------------------------------------------------ set-up and tear-down */

static bool mempool_bad_args(const char *fn, int min_nr, mempool_alloc_t *alloc_fn,
			     mempool_free_t *free_fn)
{
	if (min_nr < 0)
		pr_err("%s: min_nr %d is negative (it is the number of elements to reserve)\n", fn,
		       min_nr);
	else if (!alloc_fn || !free_fn)
		pr_err("%s: NULL %s function: a pool needs both alloc_fn and free_fn\n", fn,
		       !alloc_fn ? "alloc" : "free");
	else
		return false;
	return true;
}

/* Fill the reserve up to min_nr; false (with the reserve freed again) if the allocator fails. */
static bool mempool_prealloc(mempool_t *pool, gfp_t gfp_mask)
{
	while (pool->curr_nr < pool->min_nr) {
		void *element = pool->alloc(gfp_mask, pool->pool_data);

		if (unlikely(!element)) {
			if (!(gfp_mask & __GFP_NOWARN))
				pr_warn("mempool: could preallocate only %d of the %d reserved "
					"elements: out of memory\n",
					pool->curr_nr, pool->min_nr);
			mempool_exit(pool);
			return false;
		}
		add_element(pool, element);
	}
	return true;
}

__export int mempool_init_node(mempool_t *pool, int min_nr, mempool_alloc_t *alloc_fn,
			       mempool_free_t *free_fn, void *pool_data, gfp_t gfp_mask,
			       int node_id)
{
	if (!pool) {
		pr_err("mempool_init: NULL pool\n");
		return -EINVAL;
	}
	if (mempool_bad_args("mempool_init", min_nr, alloc_fn, free_fn))
		return -EINVAL;
	memset(pool, 0, sizeof(*pool));
	spin_lock_init(pool_lock(pool));
	pool->min_nr = min_nr;
	pool->pool_data = pool_data;
	pool->alloc = alloc_fn;
	pool->free = free_fn;
	/* kmalloc(0) gives ZERO_SIZE_PTR: a pool of min_nr 0 still reads as initialised. */
	pool->elements = kmalloc_node((size_t)min_nr * sizeof(void *), gfp_mask, node_id);
	if (!pool->elements)
		return -ENOMEM;
	return mempool_prealloc(pool, gfp_mask) ? 0 : -ENOMEM;
}

__export int mempool_init(mempool_t *pool, int min_nr, mempool_alloc_t *alloc_fn,
			  mempool_free_t *free_fn, void *pool_data)
{
	return mempool_init_node(pool, min_nr, alloc_fn, free_fn, pool_data, GFP_KERNEL,
				 NUMA_NO_NODE);
}

/* Elements still handed out, or threads still asleep, when the pool goes away. */
static void mempool_report_busy(mempool_t *pool, const char *fn)
{
	long out = __atomic_load_n(&pool->nr_out, __ATOMIC_RELAXED);
	unsigned int sleepers = __atomic_load_n(&pool->wait.nr_waiters, __ATOMIC_RELAXED);

	if (out > 0)
		kmem_bug("%s(%p): %ld element%s still allocated from the pool (never given back "
			 "with mempool_free); left to the allocator, not freed\n",
			 fn, (void *)pool, out, out == 1 ? "" : "s");
	if (sleepers)
		kmem_bug("%s(%p): %u thread%s still waiting in mempool_alloc\n", fn, (void *)pool,
			 sleepers, sleepers == 1 ? "" : "s");
}

static void __mempool_exit(mempool_t *pool, const char *fn)
{
	if (pool->elements)
		mempool_report_busy(pool, fn);
	while (pool->curr_nr) {
		void *element = remove_element(pool);

		pool->free(element, pool->pool_data);
	}
	kfree(pool->elements);
	WRITE_ONCE(pool->elements, NULL);
}

__export void mempool_exit(mempool_t *pool)
{
	if (pool)
		__mempool_exit(pool, "mempool_exit");
}

__export mempool_t *mempool_create_node(int min_nr, mempool_alloc_t *alloc_fn,
					mempool_free_t *free_fn, void *pool_data, gfp_t gfp_mask,
					int node_id)
{
	if (mempool_bad_args("mempool_create", min_nr, alloc_fn, free_fn))
		return NULL;
	mempool_t *pool = kmalloc_node(sizeof(*pool), gfp_mask | __GFP_ZERO, node_id);

	if (!pool)
		return NULL;
	if (mempool_init_node(pool, min_nr, alloc_fn, free_fn, pool_data, gfp_mask, node_id)) {
		kfree(pool);
		return NULL;
	}
	return pool;
}

__export mempool_t *mempool_create(int min_nr, mempool_alloc_t *alloc_fn, mempool_free_t *free_fn,
				   void *pool_data)
{
	return mempool_create_node(min_nr, alloc_fn, free_fn, pool_data, GFP_KERNEL, NUMA_NO_NODE);
}

__export void mempool_destroy(mempool_t *pool)
{
	if (unlikely(!pool))
		return;
	__mempool_exit(pool, "mempool_destroy");
	kfree(pool);
}

/* ------------------------------------------------------------ resize */

/* Free reserved elements above @new_min_nr, then lower min_nr. Called and returns locked. */
static void mempool_shrink_locked(mempool_t *pool, int new_min_nr)
{
	while (new_min_nr < pool->curr_nr) {
		void *element = remove_element(pool);

		spin_unlock(pool_lock(pool));
		pool->free(element, pool->pool_data);
		spin_lock(pool_lock(pool));
	}
	WRITE_ONCE(pool->min_nr, new_min_nr);
}

/* Allocate into the grown reserve, outside the lock, until it is full or the allocator fails. */
static void mempool_grow_fill(mempool_t *pool)
{
	spinlock_t *lock = pool_lock(pool);

	spin_lock(lock);
	while (pool->curr_nr < pool->min_nr) {
		spin_unlock(lock);
		void *element = pool->alloc(GFP_KERNEL, pool->pool_data);

		if (!element)
			return; /* later mempool_free()s refill it, as in the kernel */
		spin_lock(lock);
		if (pool->curr_nr >= pool->min_nr) {
			spin_unlock(lock);
			pool->free(element, pool->pool_data); /* raced with mempool_free */
			return;
		}
		add_element(pool, element);
	}
	spin_unlock(lock);
}

__export int mempool_resize(mempool_t *pool, int new_min_nr)
{
	if (!pool || !pool->elements || new_min_nr <= 0) {
		pr_err("mempool_resize: %s\n",
		       !pool	       ? "NULL pool" :
		       !pool->elements ? "the pool was never set up (or already destroyed)" :
					 "new_min_nr must be positive");
		return -EINVAL;
	}
	spinlock_t *lock = pool_lock(pool);

	spin_lock(lock);
	if (new_min_nr <= pool->min_nr) {
		mempool_shrink_locked(pool, new_min_nr);
		spin_unlock(lock);
		return 0;
	}
	spin_unlock(lock);

	void **new_elements = kmalloc_array(new_min_nr, sizeof(*new_elements), GFP_KERNEL);

	if (!new_elements)
		return -ENOMEM;
	spin_lock(lock);
	if (unlikely(new_min_nr <= pool->min_nr)) {
		/* Another resize grew it meanwhile; it does our work. */
		spin_unlock(lock);
		kfree(new_elements);
		return 0;
	}
	memcpy(new_elements, pool->elements, (size_t)pool->curr_nr * sizeof(*new_elements));
	void **old = pool->elements;

	WRITE_ONCE(pool->elements, new_elements);
	WRITE_ONCE(pool->min_nr, new_min_nr);
	spin_unlock(lock);
	kfree(old);
	mempool_grow_fill(pool);
	return 0;
}

/* ------------------------------------------------------------ alloc and free */

/*
 * Sleep until mempool_free() refills the reserve, or MEMPOOL_RETRY_NS pass.
 * Called with pool->lock held and the reserve empty; returns unlocked.
 */
static void mempool_wait(mempool_t *pool)
{
	struct os_event *ev = pool_event(pool);
	unsigned int seen = atomic_load_explicit(&ev->seq, memory_order_relaxed);

	__atomic_fetch_add(&pool->wait.nr_waiters, 1, __ATOMIC_RELAXED);
	spin_unlock(pool_lock(pool));
	os_event_wait(ev, seen, MEMPOOL_RETRY_NS);
	__atomic_fetch_sub(&pool->wait.nr_waiters, 1, __ATOMIC_RELAXED);
}

/* Pop the reserve; NULL when it is empty. Called and returns with pool->lock held. */
static inline void *mempool_take_locked(mempool_t *pool)
{
	if (likely(pool->curr_nr)) {
		element_out(pool);
		return remove_element(pool);
	}
	return NULL;
}

/* The allocator failed: the reserve, a second try with reclaim, then NULL or sleeping. */
static noinline void *mempool_alloc_slow(mempool_t *pool, gfp_t gfp_mask, gfp_t gfp_temp)
{
	spinlock_t *lock = pool_lock(pool);

	for (;;) {
		spin_lock(lock);
		void *element = mempool_take_locked(pool);

		if (element) {
			spin_unlock(lock);
			return element;
		}
		if (gfp_temp != gfp_mask) {
			/* Reserve empty after a try without reclaim: try again with it at once. */
			spin_unlock(lock);
			gfp_temp = gfp_mask;
		} else if (!(gfp_mask & __GFP_DIRECT_RECLAIM)) {
			spin_unlock(lock);
			return NULL;
		} else {
			mempool_wait(pool);
		}
		element = pool->alloc(gfp_temp, pool->pool_data);
		if (element) {
			element_out(pool);
			return element;
		}
	}
}

/* A pool argument that cannot be used: NULL, never set up, or already exited. */
static __cold void mempool_report_bad_pool(mempool_t *pool, const char *fn, const void *element)
{
	const char *what = pool ? "not set up, or already destroyed" : "NULL";

	if (element)
		kmem_bug("%s: pool %p is %s: element %p is not freed\n", fn, (void *)pool, what,
			 element);
	else
		kmem_bug("%s: pool %p is %s\n", fn, (void *)pool, what);
}

static __always_inline bool mempool_bad_pool(mempool_t *pool, const char *fn, const void *element)
{
	if (likely(pool && READ_ONCE(pool->elements)))
		return false;
	mempool_report_bad_pool(pool, fn, element);
	return true;
}

__export void *mempool_alloc(mempool_t *pool, gfp_t gfp_mask)
{
	if (unlikely(mempool_bad_pool(pool, "mempool_alloc", NULL)))
		return NULL;
	WARN_ON_ONCE(gfp_mask & __GFP_ZERO,
		     "mempool_alloc: __GFP_ZERO is not supported (elements from the reserve are "
		     "not zeroed)\n");
	gfp_mask |= MEMPOOL_GFP_ADD;

	gfp_t gfp_temp = gfp_mask & ~MEMPOOL_GFP_FIRST_TRY_CLEAR;
	void *element = pool->alloc(gfp_temp, pool->pool_data);

	if (likely(element)) {
		element_out(pool);
		return element;
	}
	return mempool_alloc_slow(pool, gfp_mask, gfp_temp);
}

__export void *mempool_alloc_preallocated(mempool_t *pool)
{
	if (unlikely(mempool_bad_pool(pool, "mempool_alloc_preallocated", NULL)))
		return NULL;
	spin_lock(pool_lock(pool));
	void *element = mempool_take_locked(pool);

	spin_unlock(pool_lock(pool));
	return element;
}

__export void *mempool_alloc_noreserve(mempool_t *pool, gfp_t gfp_mask)
{
	if (unlikely(mempool_bad_pool(pool, "mempool_alloc_noreserve", NULL)))
		return NULL;
	void *element = pool->alloc(gfp_mask, pool->pool_data);

	if (element)
		element_out(pool);
	return element;
}

/* Put @element in the reserve if it is short, waking sleepers; false if it is full. */
static noinline bool mempool_refill(mempool_t *pool, void *element)
{
	spinlock_t *lock = pool_lock(pool);

	spin_lock(lock);
	if (unlikely(pool->curr_nr >= pool->min_nr)) {
		spin_unlock(lock);
		return false;
	}
	add_element(pool, element);
	bool sleepers = __atomic_load_n(&pool->wait.nr_waiters, __ATOMIC_RELAXED) != 0;

	spin_unlock(lock);
	if (sleepers)
		os_event_wake_all(pool_event(pool));
	return true;
}

__export void mempool_free(void *element, mempool_t *pool)
{
	if (unlikely(!element))
		return;
	if (unlikely(mempool_bad_pool(pool, "mempool_free", element)))
		return;
	element_in(pool);
	/*
	 * Unlocked check: the thread that took @element from the reserve lowered
	 * curr_nr before this thread could get @element, so it sees curr_nr <
	 * min_nr unless the reserve was refilled meanwhile.
	 */
	if (unlikely(READ_ONCE(pool->curr_nr) < READ_ONCE(pool->min_nr)) &&
	    mempool_refill(pool, element))
		return;
	pool->free(element, pool->pool_data);
}

/* ------------------------------------------------------------ allocator helpers */

__export void *mempool_alloc_slab(gfp_t gfp_mask, void *pool_data)
{
	return kmem_cache_alloc(pool_data, gfp_mask);
}

__export void mempool_free_slab(void *element, void *pool_data)
{
	kmem_cache_free(pool_data, element);
}

__export void *mempool_kmalloc(gfp_t gfp_mask, void *pool_data)
{
	return kmalloc((size_t)pool_data, gfp_mask);
}

__export void mempool_kfree(void *element, void *pool_data)
{
	kfree(element);
}

__export void *mempool_kvmalloc(gfp_t gfp_mask, void *pool_data)
{
	return kvmalloc((size_t)pool_data, gfp_mask);
}

__export void mempool_kvfree(void *element, void *pool_data)
{
	kvfree(element);
}

__export void *mempool_alloc_pages(gfp_t gfp_mask, void *pool_data)
{
	return alloc_pages(gfp_mask, (unsigned int)(long)pool_data);
}

__export void mempool_free_pages(void *element, void *pool_data)
{
	__free_pages(element, (unsigned int)(long)pool_data);
}
