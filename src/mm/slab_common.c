// SPDX-License-Identifier: MIT
/*
 * kmalloc and the general caches (mm/slab_common.c; seed 004 "通用缓存").
 *
 * kmalloc serves a size from one of the general caches, kmalloc-8 ..
 * kmalloc-8k, in three kinds: normal, dma-kmalloc-* (slabs in ZONE_DMA, for
 * GFP_DMA) and kmalloc-rcl-* (reclaimable pageblocks, for
 * __GFP_RECLAIMABLE). The size's class comes from a table for sizes up to
 * 192 and from fls() above, never from a loop. Above 8 KiB kmalloc goes
 * straight to the page allocator: a compound block whose head page carries
 * PG_large_kmalloc and its order. Above KMALLOC_MAX_SIZE (4 MiB) it fails.
 *
 * Alignment: at least 8 bytes; power-of-two sizes are aligned to their size
 * (up to PAGE_SIZE), and 96 and 192 to 32 and 64, so every object of 16
 * bytes or more is 16-byte aligned.
 *
 * kfree needs only the address: the page descriptor says whether it is a
 * slab (and of which cache) or a large allocation (and of which order).
 *
 * The normal caches are created at initialisation, as in the kernel; the
 * dma-kmalloc-* and kmalloc-rcl-* ones on their first allocation
 * (kmalloc_create_lazy()): each cache costs a kmem_cache, its node struct
 * and a shared array, about 5 KiB resident, and most programs never ask for
 * GFP_DMA or __GFP_RECLAIMABLE. They appear in slabinfo from then on.
 */
#include <string.h>

#include "fault_inject.h"
#include "kfence.h"
#include "platform/os.h"
#include "slab.h"

/*
 * The caches the inline kmalloc() serves from. A debug cache is not in it
 * but in kmalloc_debug_caches, so that kmalloc takes __do_kmalloc_node(),
 * which knows the size asked for and passes it on to be red-zoned: the
 * inline path stays as it is. In ASan builds every cache is there, so that
 * the bytes past the size asked for are poisoned (kasan_kmalloc).
 */
__export struct kmem_cache *kmalloc_caches[NR_KMALLOC_TYPES][KMALLOC_SHIFT_HIGH + 1];
static struct kmem_cache *kmalloc_debug_caches[NR_KMALLOC_TYPES][KMALLOC_SHIFT_HIGH + 1];

static const struct {
	const char *name[NR_KMALLOC_TYPES];
	unsigned int size;
} kmalloc_info[KMALLOC_SHIFT_HIGH + 1] = {
#define INIT_KMALLOC_INFO(__size, __short)                                                         \
	{                                                                                          \
		{ "kmalloc-" #__short, "kmalloc-rcl-" #__short, "dma-kmalloc-" #__short }, __size  \
	}
	[1] = INIT_KMALLOC_INFO(96, 96),    [2] = INIT_KMALLOC_INFO(192, 192),
	[3] = INIT_KMALLOC_INFO(8, 8),	    [4] = INIT_KMALLOC_INFO(16, 16),
	[5] = INIT_KMALLOC_INFO(32, 32),    [6] = INIT_KMALLOC_INFO(64, 64),
	[7] = INIT_KMALLOC_INFO(128, 128),  [8] = INIT_KMALLOC_INFO(256, 256),
	[9] = INIT_KMALLOC_INFO(512, 512),  [10] = INIT_KMALLOC_INFO(1024, 1k),
	[11] = INIT_KMALLOC_INFO(2048, 2k), [12] = INIT_KMALLOC_INFO(4096, 4k),
	[13] = INIT_KMALLOC_INFO(8192, 8k),
#undef INIT_KMALLOC_INFO
};

/*
 * kmalloc's fast path reads the class from one table instead: every size up
 * to 8 KiB in steps of 8 (sizes above 192 have power-of-two classes, so no
 * step of 8 straddles two), one byte each, filled from kmalloc_index() (<kmem/slab.h>) when
 * the caches are created. All zero before that: class 0 has no cache, so a
 * kmalloc before kmem_init() takes the slow path, which initialises kmem.
 */
static unsigned char kmalloc_size_class[KMALLOC_MAX_CACHE_SIZE / 8];

static void init_kmalloc_size_class(void)
{
	for (size_t size = 8; size <= KMALLOC_MAX_CACHE_SIZE; size += 8)
		kmalloc_size_class[(size - 1) / 8] = (unsigned char)kmalloc_index(size);
}

static __always_inline enum kmalloc_cache_type kmalloc_type(gfp_t flags)
{
	if (likely(!(flags & (__GFP_DMA | __GFP_RECLAIMABLE))))
		return KMALLOC_NORMAL;
	return (flags & __GFP_DMA) ? KMALLOC_DMA : KMALLOC_RECLAIM;
}

static unsigned int kmalloc_align(unsigned int size)
{
	if (is_power_of_2(size))
		return min(size, (unsigned int)PAGE_SIZE);
	return size == 96 ? 32 : 64;
}

/* kmem_exit(): the caches are gone, and kmalloc must see that before the next kmem_init(). */
void kmalloc_caches_reset(void)
{
	memset(kmalloc_caches, 0, sizeof(kmalloc_caches));
	memset(kmalloc_debug_caches, 0, sizeof(kmalloc_debug_caches));
}

/*
 * The general cache of class @i for @type, made now and published in its
 * table; another thread may have published one first. NULL when it cannot be
 * made (no DMA zone for a DMA cache, or no memory).
 */
static struct kmem_cache *create_kmalloc_cache(enum kmalloc_cache_type type, unsigned int i)
{
	slab_flags_t flags = SLAB_KMALLOC;
	unsigned int size = kmalloc_info[i].size;

	if (type == KMALLOC_DMA) {
		/* No DMA zone, no DMA caches: GFP_DMA kmallocs then fail with a warning. */
		if (!populated_zone(&NODE_DATA(0)->node_zones[ZONE_DMA]))
			return NULL;
		flags |= SLAB_CACHE_DMA;
	} else if (type == KMALLOC_RECLAIM) {
		flags |= SLAB_RECLAIM_ACCOUNT;
	}
	struct kmem_cache *cachep = __kmem_cache_create(kmalloc_info[i].name[type], size,
							kmalloc_align(size), flags, NULL);

	if (!cachep)
		return NULL;
	struct kmem_cache **slot = ((cachep->flags & SLAB_DEBUG_FLAGS) || kasan_enabled()) ?
					   &kmalloc_debug_caches[type][i] :
					   &kmalloc_caches[type][i];
	struct kmem_cache *old = NULL;

	/* Release: a kmalloc that finds the cache finds it complete. */
	if (__atomic_compare_exchange_n(slot, &old, cachep, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE))
		return cachep;
	/* Another thread made the same cache first: ours never held an object. */
	kmem_cache_destroy(cachep);
	return old;
}

/* The published cache of class @i for @type, normal or debug; NULL while there is none. */
static __always_inline struct kmem_cache *kmalloc_cache_lookup(enum kmalloc_cache_type type,
							       unsigned int i)
{
	struct kmem_cache *cachep = __atomic_load_n(&kmalloc_caches[type][i], __ATOMIC_ACQUIRE);

	return cachep ? cachep : __atomic_load_n(&kmalloc_debug_caches[type][i], __ATOMIC_ACQUIRE);
}

/*
 * First use of a dma-kmalloc-* or kmalloc-rcl-* class: make its cache. Any
 * thread may get here, several at once (create_kmalloc_cache() keeps the
 * first); it takes slab_mutex like kmem_cache_create(), so the rule is
 * kmem_cache_create()'s: not from inside kmem (a constructor or a shrinker
 * that kmallocs with these flags runs with no kmem lock held, as everywhere).
 */
static noinline struct kmem_cache *kmalloc_create_lazy(enum kmalloc_cache_type type, unsigned int i)
{
	struct kmem_cache *cachep = kmalloc_cache_lookup(type, i);

	if (cachep || type == KMALLOC_NORMAL || !kmem_ready())
		return cachep;
	return create_kmalloc_cache(type, i);
}

/* The general cache for @size (1..KMALLOC_MAX_CACHE_SIZE) and @flags (made now
 * if it is a DMA or reclaimable one not used before). */
struct kmem_cache *kmalloc_slab(size_t size, gfp_t flags)
{
	if (!size || size > KMALLOC_MAX_CACHE_SIZE)
		return NULL;
	return kmalloc_create_lazy(kmalloc_type(flags), kmalloc_index(size));
}

int create_kmalloc_caches(void)
{
	kmalloc_caches_reset();
	init_kmalloc_size_class();
	/* The normal caches now; the DMA and reclaimable ones on first use. */
	for (unsigned int i = 1; i <= KMALLOC_SHIFT_HIGH; i++) {
		if (!create_kmalloc_cache(KMALLOC_NORMAL, i))
			return -12;
		/* The small caches exist now: bigger ones may keep descriptors off-slab. */
		if (kmalloc_info[i].size == 256)
			slab_early_init = false;
	}
	return 0;
}

/* ------------------------------------------------------------------ kmalloc */

static void *kmalloc_large_node(size_t size, gfp_t flags, int node)
{
	if (unlikely(size > KMALLOC_MAX_SIZE)) {
		if (!(flags & __GFP_NOWARN))
			pr_warn("%s: kmalloc of %zu bytes refused: above KMALLOC_MAX_SIZE (%lu); "
				"use kvmalloc or vmalloc\n",
				os_comm(), size, KMALLOC_MAX_SIZE);
		return NULL;
	}
	struct page *page = alloc_pages_node(node, flags | __GFP_COMP, get_order(size));

	if (!page)
		return NULL;
	SetPageLargeKmalloc(page);
	return kasan_kmalloc_large(__page_address(page), size);
}

/* An object of the kmalloc cache @cachep (the kernel's __kmalloc_cache_node). */
static __always_inline void *__kmalloc_cache_node(struct kmem_cache *cachep, gfp_t flags, int node)
{
	if (node == -1)
		return slab_alloc(cachep, flags);
	return kmem_cache_alloc_node(cachep, flags, node);
}

noinline void *__do_kmalloc_node(size_t size, gfp_t flags, int node)
{
	if (unlikely(size > KMALLOC_MAX_CACHE_SIZE))
		return kmalloc_large_node(size, flags, node);
	if (unlikely(!size))
		return ZERO_SIZE_PTR;
	if (unlikely(!kmem_ready()))
		return NULL;
	enum kmalloc_cache_type type = kmalloc_type(flags);
	unsigned int i = kmalloc_index(size);
	struct kmem_cache *cachep = __atomic_load_n(&kmalloc_caches[type][i], __ATOMIC_ACQUIRE);

	if (unlikely(!cachep)) {
		/* A debug (or KASAN) cache, or a DMA or reclaimable class's first use. */
		cachep = kmalloc_create_lazy(type, i);
		if (cachep && !(cachep->flags & SLAB_DEBUG_FLAGS) && !kasan_enabled())
			return __kmalloc_cache_node(cachep, flags, node);
		if (cachep && kasan_enabled() && !(cachep->flags & SLAB_DEBUG_FLAGS))
			return kasan_kmalloc(cachep, __kmalloc_cache_node(cachep, flags, node),
					     size);
		if (cachep) {
			if (should_failslab(cachep, flags))
				return NULL;
			return slab_debug_alloc(cachep, flags, node == -1 ? numa_node_id() : node,
						size);
		}
		if (!(flags & __GFP_NOWARN) && type == KMALLOC_DMA &&
		    !populated_zone(&NODE_DATA(0)->node_zones[ZONE_DMA]))
			pr_warn("%s: kmalloc(%zu, %#x): no DMA zone, so no dma-kmalloc caches\n",
				os_comm(), size, flags);
		else if (!(flags & __GFP_NOWARN))
			pr_warn("%s: kmalloc(%zu, %#x): cannot create the cache %s\n", os_comm(),
				size, flags, kmalloc_info[i].name[type]);
		return NULL;
	}
	return __kmalloc_cache_node(cachep, flags, node);
}

/*
 * The common case inline: a normal-zone size class whose cache exists (so
 * kmem is initialised). Size 0, large sizes, DMA and reclaimable classes,
 * and the first call before kmem_init() take __do_kmalloc_node().
 */
__fastpath __export void *__kmalloc(size_t size, gfp_t flags)
{
	if (likely(size - 1 < KMALLOC_MAX_CACHE_SIZE &&
		   !(flags & (__GFP_DMA | __GFP_RECLAIMABLE)))) {
		struct kmem_cache *cachep =
			kmalloc_caches[KMALLOC_NORMAL][kmalloc_size_class[(size - 1) / 8]];

		if (likely(cachep))
			return slab_alloc(cachep, flags);
	}
	return __do_kmalloc_node(size, flags, -1);
}

/*
 * The exported kmalloc, which <kmem/slab.h> makes inline: programs built
 * against an older header, dlsym() and function pointers reach it. It is
 * __kmalloc under a second name (an alias in assembly, as C cannot name it
 * next to the header's inline kmalloc()).
 */
__asm__(".globl kmalloc\n\t.type kmalloc, %function\n\t.set kmalloc, __kmalloc");

__export void *kmalloc_node(size_t size, gfp_t flags, int node)
{
	return __do_kmalloc_node(size, flags, node);
}

/* ---------------------------------------------------------------- kfree */

/*
 * What @objp is: a slab object start (its cache), a large kmalloc (its head
 * page), or neither, reported with the caller and refused.
 */
struct kmalloc_obj {
	struct kmem_cache *cachep;
	struct page *large;
	bool kfence; /* an object of the KFENCE pool (neither of the above) */
};

/* The cache of a slab object start, from its page descriptor; NULL for anything else. */
static __always_inline struct kmem_cache *kmalloc_slab_object(const void *objp)
{
	if (unlikely(!kmem_addr_valid(objp)))
		return NULL;
	struct page *page = __virt_to_page(objp);

	if (unlikely(!PageSlab(page)))
		return NULL;
	struct kmem_cache *cachep = page->slab_cache;

	if (unlikely(!is_obj_start(cachep,
				   (uint64_t)((const char *)objp - (const char *)page->s_mem))))
		return NULL;
	return cachep;
}

/* Not a slab object start: a large kmalloc's head, or a bad pointer, reported. */
static noinline bool kmalloc_lookup_slow(const void *objp, const char *who, void *caller,
					 struct kmalloc_obj *obj)
{
	if (unlikely(!atomic_load_explicit(&kmem_initialised, memory_order_relaxed) ||
		     !kmem_addr_valid(objp))) {
		kmem_bug("BUG: %s(%p): not an address kmem handed out (called from %p); "
			 "ignored\n",
			 who, objp, caller);
		return false;
	}
	if (is_kfence_address(objp)) {
		/* kfence.c checks it (and reports a bad one) when it frees it. */
		obj->kfence = true;
		return true;
	}
	struct page *page = __virt_to_page(objp);

	if (PageSlab(page)) {
		struct kmem_cache *cachep = page->slab_cache;

		if (cachep->flags & SLAB_DEBUG_FLAGS) {
			slab_debug_bad_pointer(cachep, objp, who, caller);
			return false;
		}
		kmem_bug("BUG: %s(%p): not the start of an object of cache %s (objects of "
			 "%u bytes from %p; called from %p); ignored\n",
			 who, objp, cachep->name, cachep->size, page->s_mem, caller);
		return false;
	}
	struct page *head = compound_head(page);

	if (likely(PageLargeKmalloc(head) && page == head && objp == __page_address(head))) {
		obj->large = head;
		return true;
	}
	kmem_bug("BUG: %s(%p): the page is %s (called from %p); ignored\n", who, objp,
		 PageLargeKmalloc(head) ?
			 "inside a large kmalloc block, not its start" :
			 "not a kmalloc allocation (free, or from the page allocator)",
		 caller);
	return false;
}

static __always_inline bool kmalloc_lookup(const void *objp, const char *who, void *caller,
					   struct kmalloc_obj *obj)
{
	obj->large = NULL;
	obj->kfence = false;
	obj->cachep = kmalloc_slab_object(objp);
	if (likely(obj->cachep))
		return true;
	return kmalloc_lookup_slow(objp, who, caller, obj);
}

static void free_large_kmalloc(struct page *head)
{
	ClearPageLargeKmalloc(head);
	__free_pages(head, compound_order(head));
}

/* What kfree does with what kmalloc_lookup() found that is not a slab object. */
static void free_kmalloc_obj(const struct kmalloc_obj *obj, const void *objp)
{
	if (obj->kfence)
		__kfence_free((void *)objp);
	else
		free_large_kmalloc(obj->large);
}

static __always_inline void __kfree(const void *objp, void *caller)
{
	struct kmalloc_obj obj;

	if (unlikely(ZERO_OR_NULL_PTR(objp)))
		return;
	if (unlikely(!kmalloc_lookup(objp, "kfree", caller, &obj)))
		return;
	if (likely(obj.cachep))
		__cache_free(obj.cachep, (void *)objp);
	else
		free_kmalloc_obj(&obj, objp);
}

noinline void kfree_slow(const void *objp, void *caller)
{
	__kfree(objp, caller);
}

/*
 * A slab object into this thread's array inline (kfree_fast(): the slab map
 * and the array, not struct page); NULL, large allocations, full arrays,
 * drainers and bad pointers in kfree_slow().
 */
__fastpath __export void kfree(const void *objp)
{
	if (likely(kfree_fast(objp)))
		return;
	kfree_slow(objp, __builtin_return_address(0));
}

static size_t __ksize(const void *objp, void *caller)
{
	struct kmalloc_obj obj;

	if (unlikely(ZERO_OR_NULL_PTR(objp)))
		return 0;
	if (!kmalloc_lookup(objp, "ksize", caller, &obj))
		return 0;
	if (unlikely(obj.kfence))
		return kfence_ksize(objp);
	if (obj.cachep && unlikely(obj.cachep->flags & SLAB_DEBUG_FLAGS))
		return slab_debug_ksize(obj.cachep, objp);
	if (obj.cachep)
		return obj.cachep->object_size;
	return PAGE_SIZE << compound_order(obj.large);
}

__export size_t ksize(const void *objp)
{
	size_t ks = __ksize(objp, __builtin_return_address(0));

	kasan_unpoison(objp, ks); /* the caller may use all of it, as the kernel's ksize */
	return ks;
}

__export void kfree_sensitive(const void *objp)
{
	size_t ks = __ksize(objp, __builtin_return_address(0));

	if (ks) {
		kasan_unpoison(objp, ks);
		memset((void *)objp, 0, ks);
		/* Keep the compiler from dropping the memset of memory about to be freed. */
		__asm__ __volatile__("" : : "r"(objp) : "memory");
	}
	__kfree(objp, __builtin_return_address(0));
}

/* In place when the new size fits what the object already has; krealloc(p, 0) frees. */
__export void *krealloc(const void *p, size_t new_size, gfp_t flags)
{
	void *caller = __builtin_return_address(0);
	struct kmalloc_obj obj;

	if (unlikely(!new_size)) {
		__kfree(p, caller);
		return ZERO_SIZE_PTR;
	}
	if (ZERO_OR_NULL_PTR(p))
		return kmalloc(new_size, flags);
	/* One lookup serves the size, the in-place test and the free. */
	if (unlikely(!kmalloc_lookup(p, "krealloc", caller, &obj)))
		return NULL; /* a bad pointer, reported: nothing is touched */
	size_t ks;
	/* A debug object is red-zoned from the size asked for: resized by moving it. */
	bool debug = obj.cachep && unlikely(obj.cachep->flags & SLAB_DEBUG_FLAGS);

	if (obj.cachep)
		ks = unlikely(debug) ? slab_debug_ksize(obj.cachep, p) : obj.cachep->object_size;
	else if (unlikely(obj.kfence))
		ks = kfence_ksize(p);
	else
		ks = PAGE_SIZE << compound_order(obj.large);
	if (unlikely(!ks)) {
		__kfence_free((void *)p); /* not a live kfence object: reported, ignored */
		return NULL;
	}
	kasan_unpoison(p, ks); /* copied or zeroed up to ks below; kasan_kmalloc re-poisons */
	if (new_size <= ks && (!debug || new_size == ks)) {
		if (flags & __GFP_ZERO)
			memset((char *)p + new_size, 0, ks - new_size);
		if (obj.cachep)
			return kasan_kmalloc(obj.cachep, (void *)p, new_size);
		/* A kfence page is kfence's: its canary, not ASan's poison, guards the rest. */
		return obj.kfence ? (void *)p : kasan_kmalloc_large((void *)p, new_size);
	}
	void *ret = kmalloc(new_size, flags & ~__GFP_ZERO);

	if (!ret)
		return NULL; /* as realloc: the old object stays valid */
	memcpy(ret, p, min(ks, new_size));
	if ((flags & __GFP_ZERO) && new_size > ks)
		memset((char *)ret + ks, 0, new_size - ks);
	if (obj.cachep)
		__cache_free(obj.cachep, (void *)p);
	else
		free_kmalloc_obj(&obj, p);
	return ret;
}

__export void *kmemdup(const void *src, size_t len, gfp_t gfp)
{
	void *p = kmalloc(len, gfp);

	if (p && !ZERO_OR_NULL_PTR(p))
		memcpy(p, src, len);
	return p;
}

__export char *kstrdup(const char *s, gfp_t gfp)
{
	if (!s)
		return NULL;
	return kmemdup(s, strlen(s) + 1, gfp);
}

__export char *kstrndup(const char *s, size_t max, gfp_t gfp)
{
	if (!s)
		return NULL;
	size_t len = strnlen(s, max);
	char *buf = kmalloc(len + 1, gfp);

	if (buf) {
		memcpy(buf, s, len);
		buf[len] = '\0';
	}
	return buf;
}

/*
 * kvmalloc: kmalloc first, quietly and without retrying for big sizes, then
 * vmalloc (which also takes every size above KMALLOC_MAX_SIZE).
 */
__export void *kvmalloc_node(size_t size, gfp_t flags, int node)
{
	gfp_t kmalloc_flags = flags;

	if (size > PAGE_SIZE)
		kmalloc_flags |= __GFP_NOWARN | __GFP_NORETRY;
	void *p = kmalloc_node(size, kmalloc_flags, node);

	if (p || size <= PAGE_SIZE)
		return p;
	return __vmalloc_node(size, 1, flags, node, __builtin_return_address(0));
}

__export void *kvmalloc(size_t size, gfp_t flags)
{
	return kvmalloc_node(size, flags, -1);
}

__export void kvfree(const void *addr)
{
	if (is_vmalloc_addr(addr))
		vfree(addr);
	else
		__kfree(addr, __builtin_return_address(0));
}
