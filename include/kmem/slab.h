/* SPDX-License-Identifier: MIT */
/*
 * Object caches (<linux/slab.h>): the SLAB allocator of Linux 2.6-6.7, with
 * per-CPU (here per-thread) array caches, per-node slab lists, colouring and
 * constructors that run once per object.
 */
#ifndef KMEM_SLAB_H
#define KMEM_SLAB_H

#include <stddef.h>

#include <kmem/gfp.h>
#include <kmem/mm.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef unsigned int slab_flags_t;

/* The values of Linux 6.12's enum _slab_flag_bits. */
#define SLAB_CONSISTENCY_CHECKS (1U << 0) /* check every free (issue: debugging) */
#define SLAB_RED_ZONE (1U << 1) /* guard words around each object */
#define SLAB_POISON (1U << 2) /* fill free objects with 0x6b */
#define SLAB_KMALLOC (1U << 3) /* a kmalloc cache */
#define SLAB_HWCACHE_ALIGN (1U << 4) /* align objects to cache lines */
#define SLAB_CACHE_DMA (1U << 5) /* slabs from ZONE_DMA */
#define SLAB_CACHE_DMA32 (1U << 6) /* accepted: served as SLAB_CACHE_DMA is not */
#define SLAB_STORE_USER (1U << 7) /* remember who allocated and freed each object */
#define SLAB_PANIC (1U << 8) /* abort if kmem_cache_create fails */
#define SLAB_TYPESAFE_BY_RCU (1U << 9) /* accepted (kmem frees slab pages at once, see docs) */
#define SLAB_TRACE (1U << 10)
#define SLAB_NOLEAKTRACE (1U << 12)
#define SLAB_NO_MERGE (1U << 13) /* accepted: kmem never merges caches */
#define SLAB_ACCOUNT (1U << 15) /* accepted: no memory cgroups here */
#define SLAB_RECLAIM_ACCOUNT (1U << 19) /* slabs from reclaimable pageblocks */
#define SLAB_MEM_SPREAD 0U

struct kmem_cache;

struct kmem_cache *kmem_cache_create(const char *name, unsigned int size, unsigned int align,
				     slab_flags_t flags, void (*ctor)(void *));
void kmem_cache_destroy(struct kmem_cache *s);
int kmem_cache_shrink(struct kmem_cache *s);
void *kmem_cache_alloc(struct kmem_cache *s, gfp_t flags);
void *kmem_cache_alloc_node(struct kmem_cache *s, gfp_t flags, int node);
void kmem_cache_free(struct kmem_cache *s, void *objp);
/* All @nr or nothing: returns @nr, or 0 with nothing allocated. */
int kmem_cache_alloc_bulk(struct kmem_cache *s, gfp_t flags, size_t nr, void **p);
void kmem_cache_free_bulk(struct kmem_cache *s, size_t nr, void **p);
unsigned int kmem_cache_size(struct kmem_cache *s);
const char *kmem_cache_name(struct kmem_cache *s);
/*
 * Walk every slab of @s (NULL: of every cache): free chains, counters, and
 * for debug caches every red zone and poison. Reports each problem (and
 * restores red zones and poison); returns the number found.
 */
int kmem_cache_validate(struct kmem_cache *s);

static inline void *kmem_cache_zalloc(struct kmem_cache *s, gfp_t flags)
{
	return kmem_cache_alloc(s, flags | __GFP_ZERO);
}

/* A cache named after @__struct, sized and aligned for it. */
#define KMEM_CACHE(__struct, __flags)                                                              \
	kmem_cache_create(#__struct, sizeof(struct __struct), __alignof__(struct __struct),        \
			  (__flags), NULL)

/* ---- kmalloc and the general caches (mm/slab_common.c) ---- */

/* kmalloc(0) returns this: not NULL, but never to be dereferenced. */
#define ZERO_SIZE_PTR ((void *)16)
#define ZERO_OR_NULL_PTR(x) ((unsigned long)(x) <= (unsigned long)ZERO_SIZE_PTR)

#define KMALLOC_SHIFT_HIGH (PAGE_SHIFT + 1) /* kmalloc-8k is the largest general cache */
#define KMALLOC_MAX_CACHE_SIZE (1UL << KMALLOC_SHIFT_HIGH)
#define KMALLOC_SHIFT_MAX (MAX_PAGE_ORDER + PAGE_SHIFT)
#define KMALLOC_MAX_SIZE (1UL << KMALLOC_SHIFT_MAX) /* 4 MiB: above, kmalloc fails */
#define KMALLOC_MIN_SIZE 8
#define ARCH_KMALLOC_MINALIGN 8

/*
 * The general caches, by type and class (mm/slab_common.c). An entry is
 * NULL until its cache exists (a DMA or reclaimable class is made on first
 * use) and stays NULL for a debug cache (KMEM_DEBUG) and in sanitizer
 * builds: kmalloc() then takes __kmalloc(), which knows what to do.
 */
enum kmalloc_cache_type { KMALLOC_NORMAL, KMALLOC_RECLAIM, KMALLOC_DMA, NR_KMALLOC_TYPES };
extern struct kmem_cache *kmalloc_caches[NR_KMALLOC_TYPES][KMALLOC_SHIFT_HIGH + 1];

/*
 * The class of @size (1 .. KMALLOC_MAX_CACHE_SIZE): class i holds 2^i
 * bytes, but for 1 (96 bytes) and 2 (192). Written as the kernel's ladder
 * so that a constant size folds to a constant class.
 */
static __attribute__((always_inline)) inline unsigned int kmalloc_index(size_t size)
{
	if (size <= KMALLOC_MIN_SIZE)
		return 3;
	if (size > 64 && size <= 96)
		return 1;
	if (size > 128 && size <= 192)
		return 2;
	if (size <= 16)
		return 4;
	if (size <= 32)
		return 5;
	if (size <= 64)
		return 6;
	if (size <= 128)
		return 7;
	if (size <= 256)
		return 8;
	if (size <= 512)
		return 9;
	if (size <= 1024)
		return 10;
	if (size <= 2048)
		return 11;
	if (size <= 4096)
		return 12;
	return 13;
}

/* kmalloc() for any size: the class looked up at run time. */
void *__kmalloc(size_t size, gfp_t flags);

#ifdef KMEM_NO_INLINE_KMALLOC
/*
 * The exported function, for a wrapper that interposes kmalloc by renaming
 * it (tests/kernel's shim counts every allocation): the inline version
 * would call kmem_cache_alloc() behind its back.
 */
void *kmalloc(size_t size, gfp_t flags);
#else
/*
 * As the kernel's: a size the compiler knows picks its cache at compile
 * time, and the allocation is kmem_cache_alloc() from it; any other size,
 * a DMA or reclaimable allocation, or a class whose cache is not there
 * goes through __kmalloc(). The library still exports kmalloc itself, for
 * programs built against an older header and for function pointers
 * (and KMEM_NO_INLINE_KMALLOC declares that one instead).
 */
static __attribute__((always_inline)) inline void *kmalloc(size_t size, gfp_t flags)
{
	if (__builtin_constant_p(size) && size && size <= KMALLOC_MAX_CACHE_SIZE &&
	    !(flags & (__GFP_DMA | __GFP_RECLAIMABLE))) {
		struct kmem_cache *s = __atomic_load_n(
			&kmalloc_caches[KMALLOC_NORMAL][kmalloc_index(size)], __ATOMIC_ACQUIRE);

		if (__builtin_expect(s != NULL, 1))
			return kmem_cache_alloc(s, flags);
	}
	return __kmalloc(size, flags);
}
#endif

void *kmalloc_node(size_t size, gfp_t flags, int node);
void kfree(const void *objp);
void kfree_sensitive(const void *objp);
size_t ksize(const void *objp);
void *krealloc(const void *p, size_t new_size, gfp_t flags);
void *kmemdup(const void *src, size_t len, gfp_t gfp);
char *kstrdup(const char *s, gfp_t gfp);
char *kstrndup(const char *s, size_t max, gfp_t gfp);
void *kvmalloc(size_t size, gfp_t flags);
void *kvmalloc_node(size_t size, gfp_t flags, int node);
void kvfree(const void *addr);

static inline void *kzalloc(size_t size, gfp_t flags)
{
	return kmalloc(size, flags | __GFP_ZERO);
}

static inline void *kzalloc_node(size_t size, gfp_t flags, int node)
{
	return kmalloc_node(size, flags | __GFP_ZERO, node);
}

/* n * size bytes, or NULL when the product overflows. */
static inline void *kmalloc_array(size_t n, size_t size, gfp_t flags)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	return kmalloc(bytes, flags);
}

static inline void *kcalloc(size_t n, size_t size, gfp_t flags)
{
	return kmalloc_array(n, size, flags | __GFP_ZERO);
}

static inline void *krealloc_array(void *p, size_t new_n, size_t new_size, gfp_t flags)
{
	size_t bytes;

	if (__builtin_mul_overflow(new_n, new_size, &bytes))
		return NULL;
	return krealloc(p, bytes, flags);
}

static inline void *kvzalloc(size_t size, gfp_t flags)
{
	return kvmalloc(size, flags | __GFP_ZERO);
}

static inline void *kvmalloc_array(size_t n, size_t size, gfp_t flags)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	return kvmalloc(bytes, flags);
}

static inline void *kvcalloc(size_t n, size_t size, gfp_t flags)
{
	return kvmalloc_array(n, size, flags | __GFP_ZERO);
}

/*
 * kmem's own: one pass of the periodic cache reaper now (the background
 * thread runs it every 2 seconds): idle per-thread arrays give back part of
 * their objects, and free slabs that stayed unused go back to the page
 * allocator.
 */
void kmem_cache_reap(void);

#ifdef __cplusplus
}
#endif

#endif /* KMEM_SLAB_H */
