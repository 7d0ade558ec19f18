// SPDX-License-Identifier: MIT
/*
 * The SLAB allocator (mm/slab.c of Linux 2.6-6.7, as seed 004 walks through it).
 *
 * A cache (struct kmem_cache) hands out objects of one size. Its memory is
 * slabs: blocks of 2^gfporder pages from the buddy allocator, each cut into
 * num objects after a colour offset that differs from slab to slab so that
 * the first objects of different slabs fall on different cache lines. Each
 * slab has a descriptor (struct slab) and an index per object (bufctl[]),
 * kept at the start of the slab, or off-slab in a kmalloc cache for objects
 * of PAGE_SIZE/8 or more unless the left-over space holds it anyway.
 *
 * Per node (kmem_cache_node): slabs_partial, slabs_full and slabs_free, the
 * count of free objects in slabs, a shared array, and alien arrays for
 * objects of other nodes. Per CPU (per thread here, src/platform/percpu.h):
 * an array_cache of up to limit object pointers. The fast paths are
 * entry[--avail] and entry[avail++] and take no lock; refill and flush move
 * batchcount objects at a time under the node's list_lock, through the
 * shared array first, so a thread that only frees feeds a thread that only
 * allocates with one lock round trip per batch.
 *
 * Invariants (validated by slab_check_node in the tests):
 *   - slab->inuse == num - length of its bufctl free chain;
 *   - a slab is on slabs_full iff inuse == num, on slabs_free iff inuse == 0;
 *   - n->free_objects == sum over the node's slabs of num - inuse;
 *   - n->total_slabs and n->free_slabs count the node's slabs and free slabs;
 *   - every object is in exactly one place: handed out, in one per-CPU or
 *     shared or alien array, or on its slab's free chain.
 *
 * Lock order: slab_mutex -> (per-CPU unit) -> slab_caches_lock ->
 * n->list_lock -> alien lock -> zone->lock. Code inside a unit section
 * (between get_cpu_area() and put_cpu_area()) never calls the page allocator
 * or another cache: slabs to destroy are collected on a list and destroyed
 * after the section ends, and cache_grow() runs outside it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fault_inject.h"
#include "kfence.h"
#include "kmemcheck.h"
#include "platform/os.h"
#include "slab.h"

LIST_HEAD(slab_caches);
DEFINE_SPINLOCK(slab_mutex); /* creation, destruction, tuning, reaping */
/* Membership of slab_caches, for walkers that cannot take slab_mutex (thread exit). */
static DEFINE_SPINLOCK(slab_caches_lock);

struct kmem_cache *kmem_cache;
static struct kmem_cache kmem_cache_boot;
static struct kmem_cache *kmem_cache_node;
static struct kmem_cache kmem_cache_node_boot;
/*
 * The node structs of those two, nr_nodes each: kmem_cache's first, then
 * kmem_cache_node's, so that with one node both share a page.
 */
static struct kmem_cache_node boot_nodes[2 * MAX_NUMNODES] __large_bss;
bool slab_early_init = true;
unsigned int slab_nr_cpus;

#define SLAB_FLAGS_ALLOWED                                                                         \
	(SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_KMALLOC |                    \
	 SLAB_HWCACHE_ALIGN | SLAB_CACHE_DMA | SLAB_CACHE_DMA32 | SLAB_STORE_USER | SLAB_PANIC |   \
	 SLAB_TYPESAFE_BY_RCU | SLAB_TRACE | SLAB_NOLEAKTRACE | SLAB_NO_MERGE | SLAB_ACCOUNT |     \
	 SLAB_RECLAIM_ACCOUNT)

/* ------------------------------------------------------------ object math */

static void *slab_get_obj(struct kmem_cache *cachep, struct slab *slab)
{
	void *objp = index_to_obj(cachep, slab, slab->free);

	slab->inuse++;
	slab->free = slab_bufctl(slab)[slab->free];
	return objp;
}

static void slab_put_obj(struct kmem_cache *cachep, struct slab *slab, void *objp)
{
	unsigned int objnr = obj_to_index(cachep, slab, objp);

	slab_bufctl(slab)[objnr] = slab->free;
	slab->free = (kmem_bufctl_t)objnr;
	slab->inuse--;
}

/* ---------------------------------------------------------- slab geometry */

static size_t slab_mgmt_size(size_t nr_objs, size_t align)
{
	return ALIGN(sizeof(struct slab) + nr_objs * sizeof(kmem_bufctl_t), align);
}

/* How many objects fit a slab of 2^gfporder pages, and what is left over. */
static void cache_estimate(unsigned int gfporder, size_t buffer_size, size_t align,
			   slab_flags_t flags, size_t *left_over, unsigned int *num)
{
	size_t slab_size = PAGE_SIZE << gfporder, mgmt_size, nr_objs;

	if (flags & CFLGS_OFF_SLAB) {
		mgmt_size = 0;
		nr_objs = slab_size / buffer_size;
	} else {
		nr_objs = (slab_size - sizeof(struct slab)) / (buffer_size + sizeof(kmem_bufctl_t));
		if (nr_objs && slab_mgmt_size(nr_objs, align) + nr_objs * buffer_size > slab_size)
			nr_objs--;
	}
	if (nr_objs > SLAB_LIMIT)
		nr_objs = SLAB_LIMIT;
	if (!(flags & CFLGS_OFF_SLAB))
		mgmt_size = slab_mgmt_size(nr_objs, align);
	*num = (unsigned int)nr_objs;
	*left_over = slab_size - nr_objs * buffer_size - mgmt_size;
}

/*
 * The smallest order whose slab wastes at most 1/8 of itself, up to
 * SLAB_MAX_ORDER (further only while not even one object fits).
 */
static size_t calculate_slab_order(struct kmem_cache *cachep, size_t size, size_t align,
				   slab_flags_t flags)
{
	size_t left_over = 0;

	for (unsigned int gfporder = 0; gfporder <= KMALLOC_MAX_ORDER; gfporder++) {
		unsigned int num;
		size_t remainder;

		cache_estimate(gfporder, size, align, flags, &remainder, &num);
		if (!num)
			continue;
		cachep->num = num;
		cachep->gfporder = gfporder;
		left_over = remainder;
		/* Reclaimable caches stay at the smallest order: they are freed often. */
		if (flags & SLAB_RECLAIM_ACCOUNT)
			break;
		if (gfporder >= SLAB_MAX_ORDER)
			break;
		if (left_over * 8 <= (PAGE_SIZE << gfporder))
			break;
	}
	return left_over;
}

/* Size, alignment, order, management placement and colouring (seed 004's kmem_cache_create). */
static int setup_cache_geometry(struct kmem_cache *cachep, size_t size, size_t align,
				slab_flags_t flags)
{
	size_t ralign, left_over, slab_size;

	size = ALIGN(size, BYTES_PER_WORD);
	if (flags & SLAB_HWCACHE_ALIGN) {
		/* Cache-line aligned, but small objects share a line two or more to it. */
		ralign = SMP_CACHE_BYTES;
		while (size <= ralign / 2)
			ralign /= 2;
	} else {
		ralign = BYTES_PER_WORD;
	}
	if (ralign < ARCH_SLAB_MINALIGN)
		ralign = ARCH_SLAB_MINALIGN;
	if (ralign < align)
		ralign = align;
	align = ralign;
	/* Red zones and owner records make a debug slot bigger than the object. */
	size = slab_debug_layout(cachep, size, align, flags);
	if (size >= (PAGE_SIZE >> 3) && !slab_early_init)
		flags |= CFLGS_OFF_SLAB; /* big objects pack better without the descriptor */
	size = ALIGN(size, align);
	cachep->num = 0;
	left_over = calculate_slab_order(cachep, size, align, flags);
	if (!cachep->num)
		return -EINVAL;
	slab_size = slab_mgmt_size(cachep->num, align);
	/* Back on-slab when the left-over space holds the descriptor anyway. */
	if ((flags & CFLGS_OFF_SLAB) && left_over >= slab_size) {
		flags &= ~CFLGS_OFF_SLAB;
		left_over -= slab_size;
	}
	if (flags & CFLGS_OFF_SLAB)
		slab_size = cachep->num * sizeof(kmem_bufctl_t) + sizeof(struct slab);
	cachep->colour_off = max((unsigned int)SMP_CACHE_BYTES, (unsigned int)align);
	cachep->colour = left_over / cachep->colour_off;
	cachep->freelist_size = (unsigned int)slab_size;
	cachep->flags = flags;
	cachep->allocflags = (flags & SLAB_CACHE_DMA) ? GFP_DMA : 0;
	cachep->size = (unsigned int)size;
	cachep->align = (unsigned int)align;
	cachep->reciprocal_buffer_size = obj_reciprocal((unsigned int)size);
	cachep->start_bound =
		obj_start_bound(cachep->num, cachep->size, cachep->reciprocal_buffer_size);
	if (flags & CFLGS_OFF_SLAB) {
		cachep->freelist_cache = kmalloc_slab(slab_size, 0);
		if (!cachep->freelist_cache)
			return -ENOMEM;
	}
	return 0;
}

/* ----------------------------------------------------------- array caches */

static void init_arraycache(struct array_cache *ac, unsigned int limit, unsigned int batch)
{
	ac->avail = 0;
	ac->limit = limit;
	ac->batchcount = batch;
	ac->touched = 0;
	ac->overflows = 0;
	ac->guard = NULL;
}

/*
 * Per-thread arrays start small and grow (tcmalloc's free lists do the same):
 * an array that runs dry doubles its limit, up to the @capacity its per-CPU
 * space was sized for, so a thread that allocates in bursts soon keeps a
 * whole burst, while a thread that only frees (a consumer) keeps the
 * kernel's limit and gives the rest back to the node at once.
 */
static void ac_grow(struct array_cache *ac, unsigned int capacity)
{
	ac->overflows = 0;
	if (ac->limit >= capacity)
		return;
	ac->limit = min(ac->limit * 2, capacity);
	ac->batchcount = (ac->limit + 1) / 2;
}

/*
 * An array that keeps overflowing with no allocation from it in between
 * belongs to a thread that only frees (a consumer): a large limit only holds
 * memory for it, so it halves, down to half the cache's starting limit (the
 * kernel's batchcount: what the thread flushes at a time is all it keeps;
 * bench_threads' xmalloc, whose three consumers free into seven caches:
 * peak RSS 2.93 -> 2.80 MiB, 1.20 -> 1.14 of glibc's; its throughput 96 ->
 * 91 ops/us, bench_slab's prodcons through the preload 10.8 -> 13.1 ns a
 * pair). Tunables written to slabinfo (no slow start) stay as written. A
 * thread that allocates and frees in bursts (churn) overflows once a burst
 * but allocates in between, and keeps its limit. Every allocation sets
 * ->touched to 1; a flush that finds 1 makes it AC_TOUCHED_FLUSHED, still
 * "used" for the reaper (which clears it each pass, as the kernel's does),
 * but no longer "allocated from since the last flush".
 */
#define AC_MAX_OVERFLOWS 3
#define AC_TOUCHED_FLUSHED 2

static void ac_shrink(struct kmem_cache *cachep, struct array_cache *ac)
{
	unsigned int start = READ_ONCE(cachep->start_limit);

	if (ac->touched == 1) {
		ac->touched = AC_TOUCHED_FLUSHED;
		ac->overflows = 0;
		return;
	}
	unsigned int floor = start < READ_ONCE(cachep->limit) ? max(start / 2, 1u) : start;

	if (++ac->overflows <= AC_MAX_OVERFLOWS || ac->limit <= floor)
		return;
	ac->overflows = 0;
	ac->limit = max(ac->limit / 2, floor);
	ac->batchcount = (ac->limit + 1) / 2;
}

/* A thread's array for @cachep is set up on its first use, from the descriptor. */
static struct array_cache *cpu_cache_prepare(struct percpu_area *area, struct kmem_cache *cachep)
{
	uint64_t desc = atomic_load_explicit(&cachep->cpu_cache, memory_order_acquire);
	struct array_cache *ac = (struct array_cache *)((char *)area + CPU_CACHE_OFFSET(desc));

	if (unlikely(!ac->limit)) {
		unsigned int limit = CPU_CACHE_LIMIT(desc), batch = CPU_CACHE_BATCH(desc);

		/*
		 * A retune may be changing start_limit: with the old descriptor
		 * (ours until the swap, which needs our unit) either value fits.
		 */
		unsigned int start = READ_ONCE(cachep->start_limit);

		if (start < limit) {
			limit = start; /* slow start: see ac_grow() */
			batch = (limit + 1) / 2;
		}
		init_arraycache(ac, limit, batch);
		/* What kfree_fast() checks, next to the array it pushes on. */
		ac->cachep = cachep;
		ac->reciprocal_buffer_size = cachep->reciprocal_buffer_size;
		ac->start_bound = cachep->start_bound;
	}
	return ac;
}

/* Shared and alien arrays come straight from the page allocator: no bootstrap order. */
static struct array_cache *alloc_arraycache(int node, unsigned int entries, unsigned int batch,
					    gfp_t gfp)
{
	size_t bytes = sizeof(struct alien_cache) + entries * sizeof(void *);
	struct page *page = alloc_pages_node(node, gfp | __GFP_NOWARN, get_order(bytes));

	if (!page)
		return NULL;
	struct alien_cache *alc = __page_address(page);

	spin_lock_init(&alc->lock);
	init_arraycache(&alc->ac, entries, batch);
	return &alc->ac;
}

static void free_arraycache(struct array_cache *ac)
{
	if (!ac)
		return;
	size_t bytes = sizeof(struct alien_cache) + ac->limit * sizeof(void *);

	__free_pages(__virt_to_page(ac), get_order(bytes));
}

static inline struct alien_cache *ac_to_alien(struct array_cache *ac)
{
	return container_of(ac, struct alien_cache, ac);
}

/* Move up to @max objects from @from to @to. */
static unsigned int transfer_objects(struct array_cache *to, struct array_cache *from,
				     unsigned int max)
{
	unsigned int nr = min(from->avail, max);

	nr = min(nr, to->limit - to->avail);
	if (!nr)
		return 0;
	memcpy(to->entry + to->avail, from->entry + from->avail - nr, sizeof(void *) * nr);
	from->avail -= nr;
	to->avail += nr;
	return nr;
}

/* --------------------------------------------------------- free and grow */

/*
 * Give @nr objects back to their slabs on @node; free slabs beyond
 * free_limit go on @list for slabs_destroy() (kept when @list is NULL).
 * n->list_lock held.
 */
void free_block(struct kmem_cache *cachep, void **objpp, unsigned int nr, int node,
		struct list_head *list)
{
	struct kmem_cache_node *n = cachep->node[node];

	n->free_objects += nr;
	for (unsigned int i = 0; i < nr; i++) {
		void *objp = objpp[i];

		if (unlikely(is_kfence_address(objp))) {
			/* kmem_cache_free() parked it in a per-CPU array: freed only now. */
			n->free_objects--;
			__kfence_free(objp);
			continue;
		}
		struct slab *slab = virt_to_slab(objp);

		list_del(&slab->list);
		slab_put_obj(cachep, slab, objp);
		if (slab->inuse == 0) {
			list_add(&slab->list, &n->slabs_free);
			n->free_slabs++;
		} else {
			/* Partial slabs go to the tail: the fullest are used first. */
			list_add_tail(&slab->list, &n->slabs_partial);
		}
	}
	unsigned int free_limit = node_free_limit(n);

	while (list && n->free_objects > free_limit && !list_empty(&n->slabs_free)) {
		struct slab *slab = list_last_entry(&n->slabs_free, struct slab, list);

		list_move(&slab->list, list);
		n->free_slabs--;
		n->total_slabs--;
		n->free_objects -= cachep->num;
	}
}

/* Up to @tofree free slabs of @n onto @list. n->list_lock held. Returns slabs taken. */
static unsigned int take_free_slabs(struct kmem_cache *cachep, struct kmem_cache_node *n,
				    unsigned int tofree, struct list_head *list)
{
	unsigned int nr = 0;

	while (nr < tofree && !list_empty(&n->slabs_free)) {
		struct slab *slab = list_last_entry(&n->slabs_free, struct slab, list);

		list_move(&slab->list, list);
		n->free_slabs--;
		n->total_slabs--;
		n->free_objects -= cachep->num;
		nr++;
	}
	return nr;
}

/* The pages of a slab, from the buddy allocator, marked as the cache's. */
static struct page *kmem_getpages(struct kmem_cache *cachep, gfp_t flags, int nodeid)
{
	flags |= cachep->allocflags;
	if (cachep->flags & SLAB_RECLAIM_ACCOUNT)
		flags |= __GFP_RECLAIMABLE;
	return alloc_pages_node(nodeid, flags & ~(__GFP_ZERO | __GFP_COMP), cachep->gfporder);
}

static void kmem_freepages(struct kmem_cache *cachep, struct page *page)
{
	for (unsigned long i = 0; i < (1UL << cachep->gfporder); i++) {
		slab_map_set(__page_to_pfn(&page[i]), 0);
		ClearPageSlab(&page[i]);
		page[i].slab_cache = NULL;
		page[i].slab = NULL;
	}
	__free_pages(page, cachep->gfporder);
}

static struct slab *alloc_slabmgmt(struct kmem_cache *cachep, void *addr, size_t colour_off,
				   gfp_t flags, int nodeid)
{
	struct slab *slab;

	if (cachep->flags & CFLGS_OFF_SLAB) {
		slab = kmem_cache_alloc_node(cachep->freelist_cache, flags & ~__GFP_ZERO, nodeid);
		if (!slab)
			return NULL;
	} else {
		slab = (struct slab *)((char *)addr + colour_off);
		colour_off += cachep->freelist_size;
	}
	slab->inuse = 0;
	slab->colouroff = colour_off;
	slab->s_mem = (char *)addr + colour_off;
	slab->nodeid = (unsigned short)nodeid;
	slab->free = 0;
	if (unlikely(cachep->freelist_cache && (cachep->freelist_cache->flags & SLAB_DEBUG_FLAGS) &&
		     (cachep->flags & CFLGS_OFF_SLAB)))
		slab_debug_mark_internal(cachep->freelist_cache, slab);
	return slab;
}

/* Constructors run here, once per object in the slab's life, never on reuse. */
static void cache_init_objs(struct kmem_cache *cachep, struct slab *slab)
{
	kmem_bufctl_t *bufctl = slab_bufctl(slab);

	if (unlikely(cachep->flags & (SLAB_DEBUG_FLAGS | CFLGS_FREELIST_RANDOM))) {
		if (cachep->flags & SLAB_DEBUG_FLAGS)
			slab_debug_init_objs(cachep, slab);
		else
			for (unsigned int i = 0; cachep->ctor && i < cachep->num; i++)
				cachep->ctor(index_to_obj(cachep, slab, i));
		slab_randomize_freelist(cachep, slab);
		return;
	}
	for (unsigned int i = 0; i < cachep->num; i++) {
		if (cachep->ctor)
			cachep->ctor(index_to_obj(cachep, slab, i));
		bufctl[i] = (kmem_bufctl_t)(i + 1);
	}
	bufctl[cachep->num - 1] = BUFCTL_END;
}

/* kfree's map words for every page of @slab. */
static void slab_map_slab(struct kmem_cache *cachep, struct slab *slab, uint32_t cpu_offset)
{
	struct page *page = __virt_to_page((char *)slab->s_mem - slab->colouroff);
	unsigned long pfn = __page_to_pfn(page);

	for (unsigned long i = 0; i < (1UL << cachep->gfporder); i++)
		slab_map_set(pfn + i,
			     slab_map_word(cpu_offset, __page_address(&page[i]), page[i].s_mem));
}

/*
 * Add a slab to the cache on @nodeid (or wherever the page allocator found
 * memory). Returns the node the slab went to, or -1. Called outside any
 * unit section and without locks.
 */
int cache_grow(struct kmem_cache *cachep, gfp_t flags, int nodeid)
{
	struct page *page = kmem_getpages(cachep, flags, nodeid);

	if (!page)
		return -1;
	int node = page_to_nid(page);
	struct kmem_cache_node *n = cachep->node[node];
	void *addr = __page_address(page);
	size_t offset;

	spin_lock(&n->list_lock);
	offset = n->colour_next;
	if (++n->colour_next >= cachep->colour)
		n->colour_next = 0;
	spin_unlock(&n->list_lock);
	offset *= cachep->colour_off;

	struct slab *slab = alloc_slabmgmt(cachep, addr, offset, flags, node);

	if (!slab) {
		__free_pages(page, cachep->gfporder);
		return -1;
	}
	for (unsigned long i = 0; i < (1UL << cachep->gfporder); i++) {
		SetPageSlab(&page[i]);
		page[i].slab_cache = cachep;
		page[i].slab = slab;
		/*
		 * kfree checks "object start" from the page alone, without touching
		 * the slab: the first object, past a debug cache's left red zone.
		 */
		page[i].s_mem = (char *)slab->s_mem + cachep->obj_offset;
	}
	cache_init_objs(cachep, slab);
	kasan_poison_slab(cachep, slab, addr);
	wakeup_reaper();

	spin_lock(&n->list_lock);
	/* Under the lock slab_map_retune() takes: the words carry the arrays' offset now. */
	slab_map_slab(cachep, slab, CPU_CACHE_OFFSET(atomic_load(&cachep->cpu_cache)));
	list_add_tail(&slab->list, &n->slabs_free);
	n->free_objects += cachep->num;
	n->total_slabs++;
	n->free_slabs++;
	spin_unlock(&n->list_lock);
	return node;
}

/*
 * The arrays moved (a retune, every unit held): point the map words of every
 * slab of the cache at the new ones. A slab on its way into the lists takes
 * the new offset in cache_grow(), under the same lock.
 */
void slab_map_retune(struct kmem_cache *cachep)
{
	uint32_t cpu_offset = CPU_CACHE_OFFSET(atomic_load(&cachep->cpu_cache));
	struct list_head *lists[3];
	struct slab *slab;
	int node;

	for_each_online_node(node) {
		struct kmem_cache_node *n = cachep->node[node];

		if (!n)
			continue;
		lists[0] = &n->slabs_full;
		lists[1] = &n->slabs_partial;
		lists[2] = &n->slabs_free;
		spin_lock(&n->list_lock);
		for (int l = 0; l < 3; l++)
			list_for_each_entry(slab, lists[l], list)
				slab_map_slab(cachep, slab, cpu_offset);
		spin_unlock(&n->list_lock);
	}
}

static void slab_destroy(struct kmem_cache *cachep, struct slab *slab)
{
	struct page *page = __virt_to_page((char *)slab->s_mem - slab->colouroff);

	if (unlikely(cachep->flags & SLAB_DEBUG_FLAGS))
		slab_debug_destroy_check(cachep, slab);
	kmem_freepages(cachep, page);
	if (cachep->flags & CFLGS_OFF_SLAB)
		kmem_cache_free(cachep->freelist_cache, slab);
}

/* Destroy the slabs collected on @list. No lock held, outside any unit section. */
void slabs_destroy(struct list_head *list)
{
	struct slab *slab, *next;

	list_for_each_entry_safe(slab, next, list, list) {
		list_del(&slab->list);
		slab_destroy(virt_to_cache(slab->s_mem), slab);
	}
}

/* ------------------------------------------------------------- allocation */

static struct slab *get_first_slab(struct kmem_cache_node *n)
{
	if (!list_empty(&n->slabs_partial))
		return list_first_entry(&n->slabs_partial, struct slab, list);
	n->free_touched = 1;
	if (!list_empty(&n->slabs_free))
		return list_first_entry(&n->slabs_free, struct slab, list);
	return NULL;
}

/* After taking objects from @slab: move it to the list its inuse now says. */
static void fixup_slab_list(struct kmem_cache *cachep, struct kmem_cache_node *n, struct slab *slab,
			    bool was_free)
{
	if (was_free)
		n->free_slabs--;
	list_del(&slab->list);
	if (slab->free == BUFCTL_END)
		list_add(&slab->list, &n->slabs_full);
	else
		list_add(&slab->list, &n->slabs_partial);
}

/* One object from @n's slabs (its slab in *@slabp), or NULL if none. n->list_lock held. */
void *cache_alloc_from_node(struct kmem_cache *cachep, struct kmem_cache_node *n,
			    struct slab **slabp)
{
	struct slab *slab = get_first_slab(n);

	if (!slab)
		return NULL;
	bool was_free = slab->inuse == 0;
	void *objp = slab_get_obj(cachep, slab);

	n->free_objects--;
	fixup_slab_list(cachep, n, slab, was_free);
	*slabp = slab;
	return objp;
}

/* One object straight from @nodeid's slabs (kmem_cache_alloc_node, or no unit left). */
static noinline void *____cache_alloc_node(struct kmem_cache *cachep, gfp_t flags, int nodeid)
{
	for (;;) {
		struct kmem_cache_node *n = cachep->node[nodeid];
		struct slab *slab;

		spin_lock(&n->list_lock);
		void *objp = cache_alloc_from_node(cachep, n, &slab);

		spin_unlock(&n->list_lock);
		kasan_slab_alloc(cachep, objp);
		if (objp)
			return objp;
		int node = cache_grow(cachep, flags, nodeid);

		if (node < 0)
			return NULL;
		nodeid = node;
	}
}

/*
 * The per-CPU array is empty: refill it with a batch from the shared array
 * or the slabs, growing the cache if need be. Ends the unit section.
 */
static noinline void *cache_alloc_refill(struct kmem_cache *cachep, gfp_t flags,
					 struct percpu_area *area)
{
	int node = numa_node_id();
	struct array_cache *ac;
	void *objp;

retry:
	ac = cpu_cache_prepare(area, cachep);
	unsigned int batchcount = ac->batchcount;
	struct kmem_cache_node *n = cachep->node[node];

	if (!ac->touched && batchcount > BATCHREFILL_LIMIT)
		batchcount = BATCHREFILL_LIMIT; /* an idle array is not filled up */
	spin_lock(&n->list_lock);
	if (n->shared && transfer_objects(ac, n->shared, batchcount)) {
		n->shared->touched = 1;
		goto alloc_done;
	}
	while (batchcount > 0) {
		struct slab *slab = get_first_slab(n);

		if (!slab)
			break;
		bool was_free = slab->inuse == 0;

		while (slab->inuse < cachep->num && batchcount) {
			ac->entry[ac->avail++] = slab_get_obj(cachep, slab);
			batchcount--;
			n->free_objects--;
		}
		fixup_slab_list(cachep, n, slab, was_free);
	}
alloc_done:
	spin_unlock(&n->list_lock);
	if (unlikely(!ac->avail)) {
		/* Growing allocates pages: step out of the unit, as the kernel re-enables irqs. */
		put_cpu_area(area);
		int grown = cache_grow(cachep, flags, node);

		if (grown < 0)
			return NULL;
		if (grown != node)
			return ____cache_alloc_node(cachep, flags, grown);
		area = get_cpu_area();
		goto retry;
	}
	ac->touched = 1;
	ac_grow(ac,
		CPU_CACHE_LIMIT(atomic_load_explicit(&cachep->cpu_cache, memory_order_relaxed)));
	objp = ac->entry[--ac->avail];
	put_cpu_area(area);
	kasan_slab_alloc(cachep, objp);
	return objp;
}

/* Everything the inline fast path leaves: no unit yet, a drainer, an empty array. */
noinline void *__slab_alloc_slow(struct kmem_cache *cachep, gfp_t flags)
{
	struct percpu_area *area;
	struct array_cache *ac;
	void *objp;

	if (unlikely(cachep->flags & SLAB_DEBUG_FLAGS))
		return slab_debug_alloc(cachep, flags, numa_node_id(), cachep->object_size);
	if (unlikely(flags & __GFP_ZERO))
		return slab_alloc_zero(cachep, flags);
	/* A sample, when one is due, before the array is refilled (kfence.c). */
	objp = kfence_alloc(cachep, cachep->object_size, flags);
	if (unlikely(objp))
		return objp;
	area = get_cpu_area();
	if (unlikely(!area))
		return ____cache_alloc_node(cachep, flags, numa_node_id());
	ac = cpu_cache_get(area, cachep);
	if (likely(ac->avail)) {
		ac->touched = 1;
		objp = ac->entry[--ac->avail];
		put_cpu_area(area);
		kasan_slab_alloc(cachep, objp);
		return objp;
	}
	return cache_alloc_refill(cachep, flags, area);
}

noinline void *slab_alloc_zero(struct kmem_cache *cachep, gfp_t flags)
{
	if (cachep->ctor) {
		/* Zeroing would undo the constructor: the kernel warns and so do we. */
		pr_err("kmem_cache_alloc: __GFP_ZERO on cache %s, which has a constructor: "
		       "refused\n",
		       cachep->name);
		return NULL;
	}
	void *objp = __slab_alloc_slow(cachep, flags & ~__GFP_ZERO);

	if (objp)
		memset(objp, 0, cachep->object_size);
	return objp;
}

/*
 * The slow path of every slab_alloc(). While fault injection is on, the
 * fast paths are off (PCPU_SLOW_FAILSLAB), so each allocation asks
 * should_failslab() here exactly once.
 */
noinline void *slab_alloc_slow(struct kmem_cache *cachep, gfp_t flags)
{
	if (should_failslab(cachep, flags))
		return NULL;
	return __slab_alloc_slow(cachep, flags);
}

__fastpath __export void *kmem_cache_alloc(struct kmem_cache *cachep, gfp_t flags)
{
	return slab_alloc(cachep, flags);
}

__export void *kmem_cache_alloc_node(struct kmem_cache *cachep, gfp_t flags, int nodeid)
{
	if (nodeid == -1 || nodeid == numa_node_id())
		return slab_alloc(cachep, flags);
	if (should_failslab(cachep, flags))
		return NULL;
	if (nodeid < 0 || nodeid >= kmem_memory.nr_nodes) {
		pr_err("kmem_cache_alloc_node: node %d does not exist (nodes 0..%d)\n", nodeid,
		       kmem_memory.nr_nodes - 1);
		return NULL;
	}
	if (unlikely(cachep->flags & SLAB_DEBUG_FLAGS))
		return slab_debug_alloc(cachep, flags, nodeid, cachep->object_size);
	if (unlikely((flags & __GFP_ZERO) && cachep->ctor))
		return slab_alloc_zero(cachep, flags);
	void *objp = ____cache_alloc_node(cachep, flags & ~__GFP_ZERO, nodeid);

	if (objp && (flags & __GFP_ZERO))
		memset(objp, 0, cachep->object_size);
	return objp;
}

/* ------------------------------------------------------------------ free */

/*
 * The array is full: move a batch to the shared array, or back to the slabs.
 * Returns true when the node wants its shared array made (cache_alloc_shared()).
 */
static bool cache_flusharray(struct kmem_cache *cachep, struct array_cache *ac, int node,
			     struct list_head *list)
{
	struct kmem_cache_node *n = cachep->node[node];
	bool want_shared = false;

	ac_shrink(cachep, ac);
	/* Down to limit - batchcount: a batch, or more when the limit just halved. */
	unsigned int batchcount = ac->avail - ac->limit + ac->batchcount;

	spin_lock(&n->list_lock);
	if (n->shared) {
		struct array_cache *shared_array = n->shared;
		unsigned int max = shared_array->limit - shared_array->avail;

		if (max) {
			if (batchcount > max)
				batchcount = max;
			memcpy(&shared_array->entry[shared_array->avail], ac->entry,
			       sizeof(void *) * batchcount);
			shared_array->avail += batchcount;
			goto free_done;
		}
	}
	want_shared = n->shared_wanted;
	free_block(cachep, ac->entry, batchcount, node, list);
free_done:
	spin_unlock(&n->list_lock);
	ac->avail -= batchcount;
	memmove(ac->entry, &ac->entry[batchcount], sizeof(void *) * ac->avail);
	return want_shared;
}

/*
 * A cache's shared arrays are made at its first overflow, not with the cache
 * as the kernel does: each is a page, and most caches of a small process
 * never overflow a thread's array. Called outside the unit and every lock;
 * no reclaim from a free path: if there is no page now, a later flush tries
 * again. A retune meanwhile decides (it clears shared_wanted under the lock).
 */
static void cache_alloc_shared(struct kmem_cache *cachep, int node)
{
	struct kmem_cache_node *n = cachep->node[node];
	unsigned int entries = READ_ONCE(n->shared_wanted);
	struct array_cache *shared;

	if (!entries)
		return;
	shared = alloc_arraycache(node, entries, 0xbaadf00d, GFP_NOWAIT);
	if (!shared)
		return;
	spin_lock(&n->list_lock);
	if (!n->shared && n->shared_wanted == entries) {
		n->shared = shared;
		WRITE_ONCE(n->shared_wanted, 0);
		shared = NULL;
	}
	spin_unlock(&n->list_lock);
	free_arraycache(shared);
}

/* Flush an alien array back to its home node. Alien lock held. */
static void __drain_alien_cache(struct kmem_cache *cachep, struct array_cache *ac, int node,
				struct list_head *list)
{
	struct kmem_cache_node *n = cachep->node[node];

	if (!ac->avail)
		return;
	spin_lock(&n->list_lock);
	/* Stuff as many as fit into the home node's shared array first. */
	if (n->shared)
		transfer_objects(n->shared, ac, ac->limit);
	free_block(cachep, ac->entry, ac->avail, node, list);
	ac->avail = 0;
	spin_unlock(&n->list_lock);
}

/* An object of another node goes to this node's alien array for that node. */
static void cache_free_alien(struct kmem_cache *cachep, void *objp, int page_node,
			     struct list_head *list)
{
	struct kmem_cache_node *n = cachep->node[numa_node_id()];

	if (!n->alien || !n->alien[page_node]) {
		/* No alien array (bootstrap caches): straight back to the home node. */
		struct kmem_cache_node *home = cachep->node[page_node];

		spin_lock(&home->list_lock);
		free_block(cachep, &objp, 1, page_node, list);
		spin_unlock(&home->list_lock);
		return;
	}
	struct alien_cache *alien = ac_to_alien(n->alien[page_node]);

	spin_lock(&alien->lock);
	if (unlikely(alien->ac.avail == alien->ac.limit))
		__drain_alien_cache(cachep, &alien->ac, page_node, list);
	alien->ac.entry[alien->ac.avail++] = objp;
	spin_unlock(&alien->lock);
}

/* One object straight back to its slab, under its node's list_lock. */
static void free_block_home(struct kmem_cache *cachep, void *objp, struct list_head *list)
{
	int node = virt_to_slab(objp)->nodeid;

	spin_lock(&cachep->node[node]->list_lock);
	free_block(cachep, &objp, 1, node, list);
	spin_unlock(&cachep->node[node]->list_lock);
}

/*
 * Frees that miss the fast path: a full array, a remote node's object, a
 * thread's first free of the cache, or no unit.
 */
noinline void slab_free_slow(struct kmem_cache *cachep, void *objp)
{
	struct percpu_area *area;
	LIST_HEAD(list);

	if (unlikely(is_kfence_address(objp))) {
		__kfence_free(objp);
		return;
	}
	if (unlikely(cachep->flags & SLAB_DEBUG_FLAGS)) {
		slab_debug_free(cachep, objp);
		return;
	}
	area = get_cpu_area();
	if (unlikely(!area)) {
		free_block_home(cachep, objp, &list);
		slabs_destroy(&list);
		return;
	}
	bool first_use = !cpu_cache_get(area, cachep)->limit, want_shared = false;
	struct array_cache *ac = cpu_cache_prepare(area, cachep);

	if (unlikely(ac_top(ac) == objp)) {
		put_cpu_area(area);
		slab_double_free(cachep, objp, __builtin_return_address(0));
		return;
	}
	if (unlikely(first_use)) {
		/*
		 * This thread never allocated from the cache: the object was
		 * handed over by another thread, next to that thread's objects.
		 * Kept in the array it would be this thread's next allocation,
		 * and two threads would write one cache line (passive false
		 * sharing, what cache-scratch measures): it goes back to its
		 * slab instead. Only the first free takes this path.
		 */
		free_block_home(cachep, objp, &list);
		goto out;
	}
	if (kmem_memory.nr_nodes > 1) {
		int page_node = virt_to_slab(objp)->nodeid;

		if (page_node != numa_node_id()) {
			cache_free_alien(cachep, objp, page_node, &list);
			goto out;
		}
	}
	if (ac->avail >= ac->limit)
		want_shared = cache_flusharray(cachep, ac, numa_node_id(), &list);
	ac->entry[ac->avail++] = objp;
out:
	put_cpu_area(area);
	slabs_destroy(&list);
	if (unlikely(want_shared))
		cache_alloc_shared(cachep, numa_node_id());
}

__fastpath __export void kmem_cache_free(struct kmem_cache *cachep, void *objp)
{
	if (unlikely(!objp))
		return;
	__cache_free(cachep, objp);
}

__export int kmem_cache_alloc_bulk(struct kmem_cache *cachep, gfp_t flags, size_t nr, void **p)
{
	for (size_t i = 0; i < nr; i++) {
		p[i] = kmem_cache_alloc(cachep, flags);
		if (unlikely(!p[i])) {
			kmem_cache_free_bulk(cachep, i, p);
			return 0;
		}
	}
	return (int)nr;
}

__export void kmem_cache_free_bulk(struct kmem_cache *cachep, size_t nr, void **p)
{
	for (size_t i = 0; i < nr; i++)
		kmem_cache_free(cachep, p[i]);
}

__export unsigned int kmem_cache_size(struct kmem_cache *cachep)
{
	return cachep->object_size;
}

__export const char *kmem_cache_name(struct kmem_cache *cachep)
{
	return cachep->name;
}

/* ------------------------------------------------------- draining arrays */

struct drain_ctx {
	struct kmem_cache *cachep; /* NULL: every cache */
	uint64_t desc; /* which per-CPU arrays to drain (0: the cache's current ones) */
	uint64_t new_desc; /* swap_cpu_cache(): the arrays that replace them */
	bool force; /* everything, not the reaper's share */
	struct list_head list; /* slabs to destroy afterwards */
};

static inline int unit_node(struct percpu_area *area)
{
	return kmem_memory.nr_nodes > 1 ? area->cpu % kmem_memory.nr_nodes : 0;
}

/*
 * Give back part of an array (the reaper: a fifth of its limit, unless it was
 * touched since the last pass) or all of it (@force).
 */
static void drain_array(struct kmem_cache *cachep, struct kmem_cache_node *n,
			struct array_cache *ac, bool force, int node, struct list_head *list)
{
	if (!ac)
		return;
	/* Look under the lock: a shared array changes under it (refill, flush) meanwhile. */
	spin_lock(&n->list_lock);
	if (!ac->avail || (ac->touched && !force)) {
		if (ac->avail)
			ac->touched = 0;
		spin_unlock(&n->list_lock);
		return;
	}
	unsigned int tofree = force ? ac->avail : (ac->limit + 4) / 5;

	if (tofree > ac->avail)
		tofree = (ac->avail + 1) / 2;
	free_block(cachep, ac->entry, tofree, node, list);
	ac->avail -= tofree;
	memmove(ac->entry, &ac->entry[tofree], sizeof(void *) * ac->avail);
	spin_unlock(&n->list_lock);
}

static void drain_unit_cache(struct percpu_area *area, struct kmem_cache *cachep, uint64_t desc,
			     bool force, struct list_head *list)
{
	if (!desc)
		desc = atomic_load_explicit(&cachep->cpu_cache, memory_order_relaxed);
	struct array_cache *ac = (struct array_cache *)((char *)area + CPU_CACHE_OFFSET(desc));
	int node = unit_node(area);

	drain_array(cachep, cachep->node[node], ac, force, node, list);
}

static void do_drain(struct percpu_area *area, void *info)
{
	struct drain_ctx *ctx = info;

	if (ctx->cachep) {
		drain_unit_cache(area, ctx->cachep, ctx->desc, ctx->force, &ctx->list);
		return;
	}
	struct kmem_cache *cachep;

	list_for_each_entry(cachep, &slab_caches, list)
		drain_unit_cache(area, cachep, 0, ctx->force, &ctx->list);
}

/* on_each_cpu_held(): the old arrays are the ones to drain. */
static void swap_cpu_cache(void *info)
{
	struct drain_ctx *ctx = info;

	ctx->desc = atomic_exchange(&ctx->cachep->cpu_cache, ctx->new_desc);
	slab_map_retune(ctx->cachep);
}

static void drain_alien_caches(struct kmem_cache *cachep, struct kmem_cache_node *n,
			       struct list_head *list)
{
	int nid;

	if (!n->alien)
		return;
	for_each_online_node(nid) {
		if (!n->alien[nid])
			continue;
		struct alien_cache *alc = ac_to_alien(n->alien[nid]);

		spin_lock(&alc->lock);
		__drain_alien_cache(cachep, &alc->ac, nid, list);
		spin_unlock(&alc->lock);
	}
}

/* Every thread's array, the shared arrays and the alien arrays back to the slabs. */
static void drain_cpu_caches(struct kmem_cache *cachep, struct list_head *list)
{
	struct drain_ctx ctx = { .cachep = cachep, .force = true };
	int node;

	INIT_LIST_HEAD(&ctx.list);
	on_each_cpu(do_drain, &ctx);
	list_splice(&ctx.list, list);
	for_each_online_node(node)
		drain_alien_caches(cachep, cachep->node[node], list);
	/* Then the shared arrays: draining an alien array fills its home node's (as the kernel). */
	for_each_online_node(node) {
		struct kmem_cache_node *n = cachep->node[node];

		spin_lock(&n->list_lock);
		if (n->shared) {
			free_block(cachep, n->shared->entry, n->shared->avail, node, list);
			n->shared->avail = 0;
		}
		spin_unlock(&n->list_lock);
	}
}

/* A thread exits: its arrays go back to the slabs (kept, not destroyed: we are in a unit). */
static void slab_cpu_dead(struct percpu_area *area)
{
	struct kmem_cache *cachep;

	spin_lock(&slab_caches_lock);
	list_for_each_entry(cachep, &slab_caches, list)
		drain_unit_cache(area, cachep, 0, true, NULL);
	spin_unlock(&slab_caches_lock);
}

/* ----------------------------------------------------------------- tuning */

/*
 * What the node-wide parts (the shared array, the free objects kept) are
 * sized by: the batch a thread's array starts with, the kernel's for a
 * default cache, rather than what its array may grow to.
 */
static unsigned int node_batchcount(const struct kmem_cache *cachep)
{
	if (cachep->start_limit < cachep->limit)
		return (cachep->start_limit + 1) / 2;
	return cachep->batchcount;
}

static int init_cache_node(struct kmem_cache *cachep, int node, struct kmem_cache_node *boot)
{
	struct kmem_cache_node *n = cachep->node[node];

	if (!n) {
		n = boot ? boot : kmem_cache_alloc_node(kmem_cache_node, GFP_KERNEL, node);
		if (!n)
			return -ENOMEM;
		memset(n, 0, sizeof(*n));
		spin_lock_init(&n->list_lock);
		INIT_LIST_HEAD(&n->slabs_partial);
		INIT_LIST_HEAD(&n->slabs_full);
		INIT_LIST_HEAD(&n->slabs_free);
		n->next_reap = os_now_ns() + REAPTIMEOUT_NODE_NS;
		cachep->node[node] = n;
	}
	/* free_block() reads free_limit under list_lock while a retune runs (as the kernel). */
	spin_lock(&n->list_lock);
	n->free_batch = node_batchcount(cachep);
	n->free_limit = (1 + slab_nr_cpus) * n->free_batch + cachep->num;
	spin_unlock(&n->list_lock);
	return 0;
}

static struct array_cache **alloc_alien_cache(int node, unsigned int limit, unsigned int batch)
{
	struct page *page = alloc_pages_node(node, GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN, 0);
	struct array_cache **alien;
	int nid;

	if (!page)
		return NULL;
	alien = __page_address(page);
	for_each_online_node(nid) {
		if (nid == node)
			continue;
		alien[nid] = alloc_arraycache(node, limit, batch, GFP_KERNEL);
		if (!alien[nid])
			return alien; /* partial: frees go straight home for those nodes */
	}
	return alien;
}

/* (Re)build the per-node parts: node structs, shared arrays, alien arrays. slab_mutex held. */
static int setup_kmem_cache_nodes(struct kmem_cache *cachep, struct kmem_cache_node *boot,
				  bool lazy_shared, struct list_head *list)
{
	int node;

	for_each_online_node(node) {
		if (init_cache_node(cachep, node, boot ? &boot[node] : NULL))
			return -ENOMEM;
		struct kmem_cache_node *n = cachep->node[node];
		struct array_cache *new_shared = NULL, *old_shared;
		unsigned int entries = cachep->shared * node_batchcount(cachep);

		if (entries && !lazy_shared) {
			new_shared = alloc_arraycache(node, entries, 0xbaadf00d, GFP_KERNEL);
			if (!new_shared)
				return -ENOMEM;
		}
		if (kmem_memory.nr_nodes > 1 && !n->alien && !boot)
			n->alien = alloc_alien_cache(node, cachep->limit > 1 ? 12 : 1, 0xbaadf00d);
		spin_lock(&n->list_lock);
		old_shared = n->shared;
		if (old_shared)
			free_block(cachep, old_shared->entry, old_shared->avail, node, list);
		n->shared = new_shared;
		WRITE_ONCE(n->shared_wanted, lazy_shared ? entries : 0);
		spin_unlock(&n->list_lock);
		free_arraycache(old_shared);
	}
	return 0;
}

/*
 * Give the cache new per-CPU arrays of @limit entries. The old arrays are
 * drained through on_each_cpu after the switch, so an object freed into an
 * old array meanwhile is not lost. slab_mutex held.
 */
static int do_tune_cpucache(struct kmem_cache *cachep, unsigned int limit, unsigned int batchcount,
			    unsigned int start, unsigned int shared, struct kmem_cache_node *boot)
{
	void __percpu *cpu_cache =
		__alloc_percpu(sizeof(struct array_cache) + limit * sizeof(void *), 64);
	LIST_HEAD(list);

	if (!cpu_cache)
		return -ENOMEM;
	uint64_t desc = (uint64_t)(uintptr_t)cpu_cache | (uint64_t)limit << 32 |
			(uint64_t)batchcount << 48;

	WRITE_ONCE(cachep->limit, limit); /* read by ac_shrink() */
	cachep->batchcount = batchcount;
	WRITE_ONCE(cachep->start_limit, start); /* read by cpu_cache_prepare() and ac_shrink() */
	cachep->shared = shared;
	bool new_cache = !atomic_load(&cachep->cpu_cache);

	if (new_cache) {
		atomic_store(&cachep->cpu_cache, desc); /* a new cache: no thread has arrays */
	} else {
		/*
		 * Swap while every unit is held: a thread exiting meanwhile has
		 * either drained the old arrays itself or has its unit drained here.
		 */
		struct drain_ctx ctx = { .cachep = cachep, .new_desc = desc, .force = true };

		INIT_LIST_HEAD(&ctx.list);
		on_each_cpu_held(swap_cpu_cache, do_drain, &ctx);
		free_percpu((void __percpu *)(uintptr_t)CPU_CACHE_OFFSET(ctx.desc));
		list_splice(&ctx.list, &list);
	}
	/* A new cache makes its shared arrays when it needs them; a retune at once. */
	int ret = setup_kmem_cache_nodes(cachep, boot, new_cache, &list);

	slabs_destroy(&list);
	return ret;
}

/* The kernel's defaults: fewer cached objects the bigger they are. */
static unsigned int kernel_cpucache_limit(unsigned int size)
{
	if (size > 131072)
		return 1;
	if (size > PAGE_SIZE)
		return 8;
	if (size > 1024)
		return 24;
	if (size > 256)
		return 54;
	return 120;
}

/*
 * Per-thread arrays hold up to CPUCACHE_BUDGET bytes of objects (at most
 * MAX_DEFAULT_LIMIT entries) while per-CPU space is plentiful. The kernel's
 * limits were sized for per-CPU caches shared by every task on a CPU; a
 * thread that allocates and frees a thousand small objects in a row would
 * pass each of them through the node's lists. Peers cache as much per
 * thread (tcmalloc's free lists grow to thousands of objects, mimalloc's
 * are unbounded). Once half the per-CPU space is taken, new caches get the
 * kernel's limits, so that many caches still fit. A thread's array only
 * grows to the wide limit when it keeps running dry (ac_grow()).
 */
#define CPUCACHE_BUDGET (64U << 10)
#define MAX_DEFAULT_LIMIT 1024U

static unsigned int default_cpucache_limit(unsigned int size)
{
	unsigned int limit = kernel_cpucache_limit(size);
	unsigned int wide = min(CPUCACHE_BUDGET / size, MAX_DEFAULT_LIMIT);

	if (size > PAGE_SIZE || wide <= limit)
		return limit;
	if (pcpu_free_bytes() < pcpu_unit_size / 2 + wide * sizeof(void *))
		return limit;
	return wide;
}

static int enable_cpucache(struct kmem_cache *cachep, struct kmem_cache_node *boot)
{
	unsigned int limit = default_cpucache_limit(cachep->size), shared = 0;
	unsigned int kernel_limit = kernel_cpucache_limit(cachep->size);
	int err;

	/* Debug caches cache nothing: every object goes to and from its slab, checked. */
	if (cachep->flags & SLAB_DEBUG_FLAGS)
		return do_tune_cpucache(cachep, 0, 0, 0, 0, boot);
	if (cachep->size <= PAGE_SIZE && slab_nr_cpus > 1)
		shared = 8;
	err = do_tune_cpucache(cachep, limit, (limit + 1) / 2, min(limit, kernel_limit), shared,
			       boot);
	if (err == -ENOMEM && limit > kernel_limit) {
		/* Unit space is running out: many caches, smaller arrays. */
		err = do_tune_cpucache(cachep, kernel_limit, (kernel_limit + 1) / 2, kernel_limit,
				       shared, boot);
	}
	if (err == -ENOMEM)
		pr_err("kmem_cache %s: no per-CPU space left for arrays of %u entries\n",
		       cachep->name, min(limit, kernel_limit));
	return err;
}

/* ---------------------------------------------------------- create/destroy */

static bool name_ok(const char *name)
{
	if (!name || !*name)
		return false;
	for (const char *p = name; *p; p++)
		if (isspace((unsigned char)*p))
			return false;
	return true;
}

static int check_create_args(const char *name, unsigned int size, unsigned int align,
			     slab_flags_t flags)
{
	if (!name_ok(name)) {
		pr_err("kmem_cache_create: the name %s%s%s is not valid: it must be non-empty and "
		       "without blanks (slabinfo is split on them)\n",
		       name ? "'" : "", name ? name : "(null)", name ? "'" : "");
		return -EINVAL;
	}
	if (size == 0 || size > (PAGE_SIZE << KMALLOC_MAX_ORDER)) {
		pr_err("kmem_cache_create(%s): object size %u is not in 1..%lu\n", name, size,
		       PAGE_SIZE << KMALLOC_MAX_ORDER);
		return -EINVAL;
	}
	if (align && (!is_power_of_2(align) || align > PAGE_SIZE)) {
		pr_err("kmem_cache_create(%s): align %u is not a power of two up to %lu\n", name,
		       align, PAGE_SIZE);
		return -EINVAL;
	}
	if (flags & ~SLAB_FLAGS_ALLOWED) {
		pr_err("kmem_cache_create(%s): unknown flags %#x\n", name,
		       flags & ~SLAB_FLAGS_ALLOWED);
		return -EINVAL;
	}
	return 0;
}

static int __setup_cache(struct kmem_cache *cachep, const char *name, unsigned int size,
			 unsigned int align, slab_flags_t flags, void (*ctor)(void *),
			 struct kmem_cache_node *boot)
{
	cachep->name = name;
	cachep->object_size = size;
	cachep->ctor = ctor;
	cachep->refcount = 1;
	flags = kmem_cache_flags(name, flags);
	if (setup_cache_geometry(cachep, size, align, flags)) {
		pr_err("kmem_cache_create: couldn't create cache %s: no slab order fits objects "
		       "of %u bytes\n",
		       name, size);
		return -EINVAL;
	}
	kmemcheck_create_cache(cachep);
	return enable_cpucache(cachep, boot);
}

static void free_cache_parts(struct kmem_cache *cachep)
{
	int node;
	uint64_t desc = atomic_load(&cachep->cpu_cache);

	kmemcheck_destroy_cache(cachep);
	if (desc)
		free_percpu((void __percpu *)(uintptr_t)CPU_CACHE_OFFSET(desc));
	for_each_online_node(node) {
		struct kmem_cache_node *n = cachep->node[node];

		if (!n)
			continue;
		free_arraycache(n->shared);
		if (n->alien) {
			int nid;

			for_each_online_node(nid)
				free_arraycache(n->alien[nid]);
			__free_pages(__virt_to_page(n->alien), 0);
		}
		kmem_cache_free(kmem_cache_node, n);
	}
}

struct kmem_cache *__kmem_cache_create(const char *name, unsigned int size, unsigned int align,
				       slab_flags_t flags, void (*ctor)(void *))
{
	struct kmem_cache *cachep = NULL;

	if (!kmem_ready() || check_create_args(name, size, align, flags))
		goto out;
	spin_lock(&slab_mutex);
	cachep = kmem_cache_zalloc(kmem_cache, GFP_KERNEL);
	if (cachep && __setup_cache(cachep, name, size, align, flags, ctor, NULL)) {
		free_cache_parts(cachep);
		kmem_cache_free(kmem_cache, cachep);
		cachep = NULL;
	}
	if (cachep) {
		spin_lock(&slab_caches_lock);
		list_add(&cachep->list, &slab_caches);
		spin_unlock(&slab_caches_lock);
	}
	spin_unlock(&slab_mutex);
out:
	if (!cachep && (flags & SLAB_PANIC)) {
		pr_err("Kernel panic - not syncing: kmem_cache_create(): failed to create slab "
		       "`%s'\n",
		       name ? name : "(null)");
		os_abort();
	}
	return cachep;
}

__export struct kmem_cache *kmem_cache_create(const char *name, unsigned int size,
					      unsigned int align, slab_flags_t flags,
					      void (*ctor)(void *))
{
	return __kmem_cache_create(name, size, align, flags, ctor);
}

/* Destroy every free slab of @cachep. slab_mutex held. Returns true if slabs remain. */
static bool __kmem_cache_shrink(struct kmem_cache *cachep)
{
	LIST_HEAD(list);
	bool remain = false;
	int node;

	drain_cpu_caches(cachep, &list);
	for_each_online_node(node) {
		struct kmem_cache_node *n = cachep->node[node];

		spin_lock(&n->list_lock);
		take_free_slabs(cachep, n, ~0U, &list);
		remain |= !list_empty(&n->slabs_full) || !list_empty(&n->slabs_partial);
		spin_unlock(&n->list_lock);
	}
	slabs_destroy(&list);
	return remain;
}

__export int kmem_cache_shrink(struct kmem_cache *cachep)
{
	if (!cachep)
		return 0;
	spin_lock(&slab_mutex);
	bool remain = __kmem_cache_shrink(cachep);

	spin_unlock(&slab_mutex);
	return remain ? 1 : 0;
}

static unsigned long cache_live_objects(struct kmem_cache *cachep)
{
	unsigned long live = 0;
	int node;

	for_each_online_node(node) {
		struct kmem_cache_node *n = cachep->node[node];

		spin_lock(&n->list_lock);
		live += n->total_slabs * cachep->num - n->free_objects;
		spin_unlock(&n->list_lock);
	}
	return live;
}

__export void kmem_cache_destroy(struct kmem_cache *cachep)
{
	if (!cachep)
		return;
	if (cachep == kmem_cache || cachep == kmem_cache_node) {
		kmem_bug("kmem_cache_destroy: %s is a bootstrap cache and cannot be destroyed\n",
			 cachep->name);
		return;
	}
	spin_lock(&slab_mutex);
	if (__kmem_cache_shrink(cachep)) {
		unsigned long live = cache_live_objects(cachep);

		slab_debug_list_leaks(cachep, "kmem_cache_destroy");
		spin_unlock(&slab_mutex);
		kmem_bug("kmem_cache_destroy %s: Slab cache still has objects: %lu objects are "
			 "still allocated; the cache is kept\n",
			 cachep->name, live);
		return;
	}
	/* Off the list only now: an exiting thread drains through the list until then. */
	spin_lock(&slab_caches_lock);
	list_del(&cachep->list);
	spin_unlock(&slab_caches_lock);
	fault_inject_forget_cache(cachep);
	kfence_shutdown_cache(cachep);
	free_cache_parts(cachep);
	kmem_cache_free(kmem_cache, cachep);
	spin_unlock(&slab_mutex);
}

/* ------------------------------------------------------------------ reaping */

static atomic_bool reaper_started;

/*
 * Slabs grown before the reaper starts. A small program's few slabs hold
 * little for cache_reap to give back, and the thread would cost it more:
 * its stack, its TLS and the C library's thread code, about 70 KiB
 * resident. KFENCE's sampling timer runs in kswapd, so it starts at once.
 */
#define REAPER_MIN_SLABS 64
static atomic_uint slabs_grown;

/* Make sure the background thread runs, so idle caches shrink. Outside locks and units. */
void wakeup_reaper(void)
{
	/* Nothing starts during kmem_init(): the first slab grown afterwards asks again. */
	if (!atomic_load_explicit(&kmem_initialised, memory_order_acquire) ||
	    atomic_load_explicit(&reaper_started, memory_order_relaxed))
		return;
	if (atomic_fetch_add_explicit(&slabs_grown, 1, memory_order_relaxed) + 1 <
		    REAPER_MIN_SLABS &&
	    !READ_ONCE(kfence_enabled))
		return;
	if (!atomic_exchange(&reaper_started, true))
		wakeup_kswapd(NULL);
}

bool slab_reap_wanted(void)
{
	return atomic_load(&reaper_started);
}

/*
 * cache_reap: per-CPU arrays not touched since the last pass give back a
 * fifth of their limit; shared arrays likewise; free slabs of nodes not
 * touched since the last pass go back to the buddy allocator, a fifth of
 * free_limit's worth at a time.
 */
void cache_reap(void)
{
	struct drain_ctx ctx = { .cachep = NULL, .force = false };
	struct kmem_cache *cachep;
	uint64_t now = os_now_ns();
	int node;

	if (!atomic_load(&kmem_initialised) || !spin_trylock(&slab_mutex))
		return;
	INIT_LIST_HEAD(&ctx.list);
	on_each_cpu(do_drain, &ctx);
	list_for_each_entry(cachep, &slab_caches, list) {
		for_each_online_node(node) {
			struct kmem_cache_node *n = cachep->node[node];

			drain_alien_caches(cachep, n, &ctx.list);
			drain_array(cachep, n, n->shared, false, node, &ctx.list);
			if (now < n->next_reap)
				continue;
			n->next_reap = now + REAPTIMEOUT_NODE_NS;
			spin_lock(&n->list_lock);
			if (n->free_touched)
				n->free_touched = 0;
			else
				take_free_slabs(cachep, n,
						(node_free_limit(n) + 5 * cachep->num - 1) /
							(5 * cachep->num),
						&ctx.list);
			spin_unlock(&n->list_lock);
		}
	}
	spin_unlock(&slab_mutex);
	slabs_destroy(&ctx.list);
}

__export void kmem_cache_reap(void)
{
	if (!atomic_load(&kmem_initialised))
		return;
	/* By hand: every node is due now. */
	spin_lock(&slab_mutex);
	struct kmem_cache *cachep;
	int node;

	list_for_each_entry(cachep, &slab_caches, list)
		for_each_online_node(node)
			cachep->node[node]->next_reap = 0;
	spin_unlock(&slab_mutex);
	cache_reap();
}

/* ----------------------------------------------------------------- slabinfo */

struct slabinfo {
	unsigned long active_objs, num_objs, active_slabs, num_slabs, shared_avail;
};

static void get_slabinfo(struct kmem_cache *cachep, struct slabinfo *info)
{
	int node;

	memset(info, 0, sizeof(*info));
	for_each_online_node(node) {
		struct kmem_cache_node *n = cachep->node[node];

		spin_lock(&n->list_lock);
		info->num_slabs += n->total_slabs;
		info->active_slabs += n->total_slabs - n->free_slabs;
		info->num_objs += n->total_slabs * cachep->num;
		info->active_objs += n->total_slabs * cachep->num - n->free_objects;
		if (n->shared)
			info->shared_avail += n->shared->avail;
		spin_unlock(&n->list_lock);
	}
}

void slabinfo_show(struct seq_file *m)
{
	struct kmem_cache *cachep;
	struct slabinfo info;

	seq_printf(m, "slabinfo - version: 2.1\n");
	seq_printf(m, "# name            <active_objs> <num_objs> <objsize> <objperslab> "
		      "<pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata "
		      "<active_slabs> <num_slabs> <sharedavail>\n");
	spin_lock(&slab_mutex);
	list_for_each_entry(cachep, &slab_caches, list) {
		get_slabinfo(cachep, &info);
		seq_printf(m, "%-17s %6lu %6lu %6u %4u %4d", cachep->name, info.active_objs,
			   info.num_objs, cachep->size, cachep->num, 1 << cachep->gfporder);
		seq_printf(m, " : tunables %4u %4u %4u", cachep->limit, cachep->batchcount,
			   cachep->shared);
		seq_printf(m, " : slabdata %6lu %6lu %6lu\n", info.active_slabs, info.num_slabs,
			   info.shared_avail);
	}
	spin_unlock(&slab_mutex);
}

/* "name limit batchcount shared", as written to /proc/slabinfo. */
int slabinfo_write(const char *text)
{
	char name[64];
	int limit, batchcount, shared, ret = -EINVAL;
	struct kmem_cache *cachep;

	if (sscanf(text, " %63s %d %d %d", name, &limit, &batchcount, &shared) != 4) {
		pr_err("slabinfo: expected \"name limit batchcount shared\", got \"%s\"\n", text);
		return -EINVAL;
	}
	if (limit < 1 || batchcount < 1 || batchcount > limit || shared < 0 ||
	    limit > MAX_CPU_CACHE_LIMIT || (unsigned long)shared * batchcount > 65536) {
		pr_err("slabinfo: %s: tunables limit %d batchcount %d shared %d are out of range "
		       "(1 <= batchcount <= limit <= %d, shared >= 0)\n",
		       name, limit, batchcount, shared, MAX_CPU_CACHE_LIMIT);
		return -EINVAL;
	}
	spin_lock(&slab_mutex);
	list_for_each_entry(cachep, &slab_caches, list) {
		if (strcmp(cachep->name, name))
			continue;
		if (cachep->flags & SLAB_DEBUG_FLAGS) {
			pr_err("slabinfo: %s is a debug cache: it keeps no per-CPU arrays to tune\n",
			       name);
			ret = -EPERM;
			break;
		}
		/* Tunables written by hand are taken as they are: no slow start. */
		ret = do_tune_cpucache(cachep, (unsigned int)limit, (unsigned int)batchcount,
				       (unsigned int)limit, (unsigned int)shared, NULL);
		break;
	}
	spin_unlock(&slab_mutex);
	if (ret == -EINVAL)
		pr_err("slabinfo: no cache named %s\n", name);
	else if (ret == -ENOMEM)
		pr_err("slabinfo: %s: no per-CPU space left for arrays of %d entries\n", name,
		       limit);
	return ret;
}

/* Pages in slabs, for meminfo's Slab, SReclaimable and SUnreclaim. */
void slab_meminfo(unsigned long *reclaimable, unsigned long *unreclaimable)
{
	struct kmem_cache *cachep;
	int node;

	*reclaimable = *unreclaimable = 0;
	spin_lock(&slab_mutex);
	list_for_each_entry(cachep, &slab_caches, list) {
		unsigned long pages = 0;

		for_each_online_node(node) {
			spin_lock(&cachep->node[node]->list_lock);
			pages += cachep->node[node]->total_slabs << cachep->gfporder;
			spin_unlock(&cachep->node[node]->list_lock);
		}
		if (cachep->flags & SLAB_RECLAIM_ACCOUNT)
			*reclaimable += pages;
		else
			*unreclaimable += pages;
	}
	spin_unlock(&slab_mutex);
}

/* -------------------------------------------------------------- bootstrap */

int kmem_cache_init(void)
{
	int ret;

	slab_early_init = true;
	slab_nr_cpus = os_nr_cpus();
	INIT_LIST_HEAD(&slab_caches);
	atomic_store(&reaper_started, false);
	atomic_store(&slabs_grown, 0);
	os_clear(&kmem_cache_boot, sizeof(kmem_cache_boot));
	os_clear(&kmem_cache_node_boot, sizeof(kmem_cache_node_boot));
	os_clear(boot_nodes, sizeof(boot_nodes)); /* 15 KiB, of which node 0's are used */
	/* The cache of caches and the cache of node structs describe themselves statically. */
	kmem_cache = &kmem_cache_boot;
	kmem_cache_node = &kmem_cache_node_boot;
	/*
	 * As in the kernel, a cache's struct ends with node pointers for the
	 * nodes there are, not MAX_NUMNODES: 192 bytes instead of 640 with one
	 * node, 21 to a page instead of 6.
	 */
	ret = __setup_cache(kmem_cache, "kmem_cache",
			    offsetof(struct kmem_cache, node) +
				    kmem_memory.nr_nodes * sizeof(struct kmem_cache_node *),
			    __alignof__(struct kmem_cache), SLAB_HWCACHE_ALIGN, NULL, boot_nodes);
	if (!ret)
		ret = __setup_cache(kmem_cache_node, "kmem_cache_node",
				    sizeof(struct kmem_cache_node), 0, SLAB_HWCACHE_ALIGN, NULL,
				    boot_nodes + kmem_memory.nr_nodes);
	if (ret)
		return ret;
	list_add(&kmem_cache->list, &slab_caches);
	list_add(&kmem_cache_node->list, &slab_caches);
	ret = create_kmalloc_caches();
	slab_early_init = false;
	pcpu_register_cpu_dead(slab_cpu_dead);
	return ret;
}

/* kmem_exit: report caches that still hold objects; returns pages still in slabs. */
unsigned long kmem_cache_exit(void)
{
	struct kmem_cache *cachep;
	unsigned long pages = 0;
	int node;

	list_for_each_entry(cachep, &slab_caches, list) {
		for_each_online_node(node) {
			struct kmem_cache_node *n = cachep->node[node];

			drain_alien_caches(cachep, n, NULL);
			if (n->shared)
				free_block(cachep, n->shared->entry, n->shared->avail, node, NULL);
			free_arraycache(n->shared);
			n->shared = NULL;
			if (n->alien) {
				int nid;

				for_each_online_node(nid)
					free_arraycache(n->alien[nid]);
				__free_pages(__virt_to_page(n->alien), 0);
				n->alien = NULL;
			}
			pages += n->total_slabs << cachep->gfporder;
		}
		/* Counted once the shared and alien arrays are back: their objects were free. */
		unsigned long live = cache_live_objects(cachep);

		if (live && !(cachep->flags & SLAB_KMALLOC) && cachep != kmem_cache &&
		    cachep != kmem_cache_node)
			pr_warn("kmem_exit: cache %s still has %lu objects allocated\n",
				cachep->name, live);
		if (live && (cachep->flags & SLAB_DEBUG_FLAGS) && cachep != kmem_cache &&
		    cachep != kmem_cache_node)
			slab_debug_list_leaks(cachep, "kmem_exit");
		kmemcheck_destroy_cache(cachep); /* the arena goes: memcheck forgets its objects */
	}
	kmalloc_caches_reset();
	return pages;
}

/*
 * The objects still allocated in every debug cache, grouped by allocation
 * site (SLAB_STORE_USER) or listed: what kmem_exit() reports, for a process
 * that never calls it (the malloc preload at exit, kmem-run --debug).
 */
void kmem_cache_list_leaks(const char *when)
{
	struct kmem_cache *cachep;

	spin_lock(&slab_mutex);
	list_for_each_entry(cachep, &slab_caches, list)
		if ((cachep->flags & SLAB_DEBUG_FLAGS) && cachep != kmem_cache &&
		    cachep != kmem_cache_node)
			slab_debug_list_leaks(cachep, when);
	spin_unlock(&slab_mutex);
}

void slab_fork_prepare(void)
{
	spin_lock(&slab_mutex);
}

void slab_fork_locks(void)
{
	struct kmem_cache *cachep;
	int node;

	spin_lock(&slab_caches_lock);
	list_for_each_entry(cachep, &slab_caches, list)
		for_each_online_node(node)
			spin_lock(&cachep->node[node]->list_lock);
}

void slab_fork_parent(void)
{
	struct kmem_cache *cachep;
	int node;

	list_for_each_entry(cachep, &slab_caches, list)
		for_each_online_node(node)
			spin_unlock(&cachep->node[node]->list_lock);
	spin_unlock(&slab_caches_lock);
}

void slab_fork_parent_mutex(void)
{
	spin_unlock(&slab_mutex);
}

void slab_fork_child(void)
{
	struct kmem_cache *cachep;
	int node;

	list_for_each_entry(cachep, &slab_caches, list) {
		for_each_online_node(node) {
			struct kmem_cache_node *n = cachep->node[node];

			spin_lock_init(&n->list_lock);
			if (n->alien) {
				int nid;

				for_each_online_node(nid)
					if (n->alien[nid])
						spin_lock_init(&ac_to_alien(n->alien[nid])->lock);
			}
		}
	}
	spin_lock_init(&slab_caches_lock);
	spin_lock_init(&slab_mutex);
	atomic_store(&reaper_started, false);
}
