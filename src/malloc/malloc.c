// SPDX-License-Identifier: MIT
/*
 * The C allocation interface on kmalloc (docs/MALLOC.md has the design).
 *
 * Sizes: up to 8 KiB a slab cache: kmalloc's (kmalloc-16 .. kmalloc-8k;
 * never kmalloc-8, whose objects are only 8-byte aligned), and above 256
 * bytes also the malloc-* caches between kmalloc's powers of two (malloc-384
 * .. malloc-6528), so that a 4368-byte sqlite page takes 4.6 KiB, not 8; up
 * to KMALLOC_MAX_SIZE (4 MiB) a compound block from the buddy allocator
 * (kmalloc's large path); above that, or when realloc grows a block past
 * 256 KiB, a mapping of its own (huge.c). Every kmalloc object of 16 bytes
 * or more is 16-byte aligned, and blocks are naturally aligned, which also
 * gives memalign its alignments without padding: a power-of-two size of at
 * least the alignment lands on an aligned object.
 *
 * Initialisation: the first call initialises kmem (kmem_auto_init). Calls
 * that arrive from inside that initialisation on the same thread (the C
 * library allocating for pthread_atfork, say) are served from a small static
 * bootstrap buffer, never freed. kswapd is started not from where kmem asks
 * for it (possibly under slab_mutex, deep in an allocation) but at the end of
 * a malloc call, where no kmem lock is held (kswapd_run_deferred).
 *
 * Foreign pointers, ones kmem never handed out (the dynamic loader's
 * allocations from before the preload took over, the bootstrap buffer),
 * are recognised by address: not in the arena and not in the huge table.
 * free() ignores them, realloc() copies what it can read of them.
 */
#include <errno.h>
#include <string.h>

#include "malloc.h"
#include "mm/slab.h"
#include "platform/os.h"

#define MALLOC_GFP (GFP_KERNEL | __GFP_NOWARN)
#define BOOTSTRAP_SIZE (64UL << 10)

static __thread bool malloc_initialising __attribute__((tls_model("initial-exec")));
static char bootstrap_buf[BOOTSTRAP_SIZE] __aligned(PAGE_SIZE) __large_bss;
static atomic_size_t bootstrap_used;
static atomic_ulong foreign_frees;
static atomic_bool malloc_atfork_registered;

/*
 * The size classes between kmalloc's, above 256 bytes where a power of two
 * wastes up to half. Each is the largest multiple of 64 that fits as many
 * objects in the slab SLAB chooses for it (calculate_slab_order: the
 * smallest order that wastes at most an eighth) as it holds: 4672 bytes, 7
 * in an order-3 slab, holds sqlite's 4368-byte page buffers for 4681 bytes
 * each, where the 5120-byte class these replaced took 5461 (3 in order 2).
 * Their objects are 64-byte aligned; memalign uses kmalloc's classes only.
 */
static const struct {
	const char *name;
	unsigned int size;
} malloc_extra_classes[] = {
	{ "malloc-384", 384 }, /* 10 per page */
	{ "malloc-768", 768 }, /* 5 per page */
	{ "malloc-1600", 1600 }, /* 5 in 2 pages */
	{ "malloc-2688", 2688 }, /* 3 in 2 pages */
	{ "malloc-3264", 3264 }, /* 5 in 4 pages */
	{ "malloc-4672", 4672 }, /* 7 in 8 pages */
	{ "malloc-5440", 5440 }, /* 3 in 4 pages */
	{ "malloc-6528", 6528 }, /* 5 in 8 pages */
};

/*
 * Above kmalloc-8k, up to 64 KiB: slab caches too, made on first use, where
 * kmalloc takes whole pages from the buddy allocator (a compound block, the
 * zone lock from order 4) for every block. The sizes fill the slab SLAB
 * picks for them (the smallest order that wastes at most an eighth, at most
 * order 3 while one object fits: calculate_slab_order), so
 * no block takes more memory than the pages kmalloc would give it, and a
 * freed block stays in the thread's array (8 of them, the kernel's limit for
 * objects above a page) for the next allocation, as tcmalloc and mimalloc
 * keep blocks this size. Slab classes of SLAB's kmalloc went up to 32 MiB.
 */
static const struct {
	const char *name;
	unsigned int size;
} malloc_large_classes[] = {
	{ "malloc-10880", 10880 }, /* 3 in 8 pages */
	{ "malloc-16k", 16384 }, /* 1 in 4 pages */
	{ "malloc-32k", 32768 }, /* 1 in 8 pages */
	{ "malloc-64k", 65536 }, /* 1 in 16 pages */
};
/* The largest: malloc_large_class() looks no further. */
#define MALLOC_LARGE_MAX (malloc_large_classes[ARRAY_SIZE(malloc_large_classes) - 1].size)
static struct kmem_cache *malloc_large_cache[ARRAY_SIZE(malloc_large_classes)];

/*
 * malloc's fast path: malloc_size_cache[(size + 15) >> 4] is the cache for
 * any size up to KMALLOC_MAX_CACHE_SIZE, the smallest of kmalloc's (never
 * kmalloc-8) and malloc's own that holds it; one load, then the slab's
 * inline array pop. NULL (before kmem is up, while the table is being
 * filled, and for kmalloc's debug caches, which want the size asked for to
 * place the red zone) sends the size to malloc_slow() and kmalloc.
 */
#define MALLOC_CLASS_SHIFT 4
static struct kmem_cache *malloc_size_cache[(KMALLOC_MAX_CACHE_SIZE >> MALLOC_CLASS_SHIFT) + 1];
static atomic_bool malloc_classes_built;

static bool in_bootstrap(const void *ptr)
{
	return (uintptr_t)((const char *)ptr - bootstrap_buf) < BOOTSTRAP_SIZE;
}

static void *bootstrap_alloc(size_t size)
{
	size_t need = ALIGN(size ? size : 1, MALLOC_ALIGN);
	size_t start = atomic_fetch_add(&bootstrap_used, need);

	if (need > BOOTSTRAP_SIZE || start > BOOTSTRAP_SIZE - need) {
		errno = ENOMEM;
		return NULL;
	}
	return bootstrap_buf + start; /* static storage: already zero */
}

static struct kmem_cache *malloc_best_cache(size_t size, struct kmem_cache *const *extra)
{
	struct kmem_cache *best = kmalloc_slab(max(size, (size_t)MALLOC_ALIGN), 0);

	for (size_t k = 0; size > 256 && k < ARRAY_SIZE(malloc_extra_classes); k++)
		if (extra[k] && malloc_extra_classes[k].size >= size &&
		    (!best || malloc_extra_classes[k].size < kmem_cache_size(best)))
			best = extra[k];
	if (best && (best->flags & SLAB_KMALLOC) && (best->flags & SLAB_DEBUG_FLAGS))
		return NULL;
	return best;
}

/* kmem_exit(): its caches are about to go; the next kmem_init() makes them again. */
static void malloc_classes_forget(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(malloc_size_cache); i++)
		WRITE_ONCE(malloc_size_cache[i], NULL);
	for (size_t k = 0; k < ARRAY_SIZE(malloc_large_cache); k++)
		WRITE_ONCE(malloc_large_cache[k], NULL);
	atomic_store(&malloc_classes_built, false);
}

static void malloc_debug_register(void);

/* Once per kmem_init(): malloc's caches and the fast path's table (docs/MALLOC.md). */
static noinline void malloc_classes_init(void)
{
	struct kmem_cache *extra[ARRAY_SIZE(malloc_extra_classes)];

	if (atomic_exchange(&malloc_classes_built, true))
		return;
	kmem_exit_notify = malloc_classes_forget;
	malloc_debug_register();
	slab_track_internal = true;
	for (size_t k = 0; k < ARRAY_SIZE(extra); k++)
		extra[k] = kmem_cache_create(malloc_extra_classes[k].name,
					     malloc_extra_classes[k].size, 64, 0, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(malloc_size_cache); i++)
		WRITE_ONCE(malloc_size_cache[i], malloc_best_cache(i << MALLOC_CLASS_SHIFT, extra));
	slab_track_internal = false;
}

/*
 * The large class for @size (KMALLOC_MAX_CACHE_SIZE < size <= MALLOC_LARGE_MAX),
 * made now if this is its first use; several threads may make one at once,
 * and the first published stays. NULL when it cannot be made: kmalloc then.
 */
static struct kmem_cache *malloc_large_class(size_t size)
{
	size_t k = 0;

	while (malloc_large_classes[k].size < size)
		k++;
	struct kmem_cache *s = __atomic_load_n(&malloc_large_cache[k], __ATOMIC_ACQUIRE),
			  *old = NULL;

	if (likely(s))
		return s;
	slab_track_internal = true;
	s = kmem_cache_create(malloc_large_classes[k].name, malloc_large_classes[k].size, 64, 0,
			      NULL);
	slab_track_internal = false;
	if (!s || __atomic_compare_exchange_n(&malloc_large_cache[k], &old, s, false,
					      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return s;
	kmem_cache_destroy(s); /* another thread's came first; ours never held a block */
	return old;
}

/* kmem is initialised (false: the caller is inside the initialisation, or it failed). */
static noinline bool malloc_init_slow(void)
{
	int ret;

	if (malloc_initialising)
		return false;
	malloc_initialising = true;
	slab_track_internal = true;
	kswapd_defer_start();
	ret = kmem_auto_init();
	/*
	 * Once, though threads may race here: registered twice, the handlers
	 * would take huge_lock twice. After kmem's: our prepare runs first and
	 * our child handler last.
	 */
	if (!ret && !atomic_exchange(&malloc_atfork_registered, true))
		os_atfork(huge_fork_prepare, huge_fork_parent, huge_fork_child);
	slab_track_internal = false;
	malloc_initialising = false;
	return ret == 0;
}

static __always_inline bool malloc_ready(void)
{
	if (likely(atomic_load_explicit(&kmem_initialised, memory_order_acquire)))
		return true;
	return malloc_init_slow();
}

/*
 * The end of an allocation: no lock held, so a pending thread start can be
 * made. What starting it allocates (the thread's TLS) is kmem's, not a leak.
 */
static __always_inline void malloc_safe_point(void)
{
	if (unlikely(kswapd_start_pending())) {
		slab_track_internal = true;
		kswapd_run_deferred();
		slab_track_internal = false;
	}
}

static void *malloc_huge(size_t size, size_t align)
{
	void *p = huge_alloc(size, align);

	if (unlikely(!p))
		errno = ENOMEM;
	return p;
}

/*
 * Everything but the fast path: kmem not initialised yet (or by the program
 * itself: malloc's classes are made here then), fault injection armed, an
 * empty per-thread array (the refill may want kswapd started), a debug
 * kmalloc cache, sizes above 8 KiB.
 */
static noinline void *malloc_slow(size_t size)
{
	struct kmem_cache *s = NULL;
	void *p;

	if (!malloc_ready())
		return malloc_initialising ? bootstrap_alloc(size) : (errno = ENOMEM, NULL);
	if (unlikely(!atomic_load_explicit(&malloc_classes_built, memory_order_relaxed)))
		malloc_classes_init();
	if (size > KMALLOC_MAX_SIZE)
		return malloc_huge(size, PAGE_SIZE);
	if (size <= KMALLOC_MAX_CACHE_SIZE)
		s = READ_ONCE(malloc_size_cache[(size + MALLOC_ALIGN - 1) >> MALLOC_CLASS_SHIFT]);
	else if (size <= MALLOC_LARGE_MAX)
		s = malloc_large_class(size);
	if (s)
		p = kmem_cache_alloc(s, MALLOC_GFP);
	else
		p = kmalloc(max(size, (size_t)MALLOC_ALIGN), MALLOC_GFP);
	if (unlikely(!p))
		errno = ENOMEM;
	malloc_safe_point();
	return p;
}

/*
 * The fast path is kmalloc's: one table load for the cache and the thread's
 * array pop (slab_alloc_fast, inline); no call, no frame. Fault injection
 * turns the pop off (PCPU_SLOW) and decides in malloc_slow(); so does an
 * empty array, whose refill may want kswapd started, which malloc_slow()
 * does at its end.
 */
__fastpath void *kmem_malloc(size_t size)
{
	if (likely(size <= KMALLOC_MAX_CACHE_SIZE)) {
		struct kmem_cache *s = READ_ONCE(
			malloc_size_cache[(size + MALLOC_ALIGN - 1) >> MALLOC_CLASS_SHIFT]);

		if (likely(s)) {
			void *p = slab_alloc_fast(s);

			if (likely(p))
				return p;
		}
	}
	return malloc_slow(size);
}

static noinline void free_outside_arena(void *ptr)
{
	if (in_bootstrap(ptr) || huge_free(ptr))
		return;
	atomic_fetch_add_explicit(&foreign_frees, 1, memory_order_relaxed);
}

/* Not a slab object: a large kmalloc block or a bad pointer (kfree), foreign, huge, NULL. */
static noinline void free_slow(void *ptr, void *caller)
{
	if (kmem_addr_valid(ptr))
		kfree_slow(ptr, caller);
	else if (ptr)
		free_outside_arena(ptr);
}

/* kfree's inline fast path (the slab map word, the thread's array push), nothing more. */
__fastpath void kmem_free(void *ptr)
{
	if (likely(kfree_fast(ptr)))
		return;
	free_slow(ptr, __builtin_return_address(0));
}

#ifdef KMEM_MALLOC_OVERRIDE
/*
 * libkmem-malloc.so: malloc and free are aliases, not a jump to kmem_malloc
 * and kmem_free (override.c has the other names). An alias must sit next to
 * its target; its return address is the program's as kmem_free() expects.
 */
__export void *malloc(size_t size) __attribute__((alias("kmem_malloc")));
__export void free(void *ptr) __attribute__((alias("kmem_free")));
#endif

unsigned long kmem_foreign_frees(void)
{
	return atomic_load(&foreign_frees);
}

void *kmem_calloc(size_t nmemb, size_t size)
{
	size_t bytes;
	void *p;

	if (unlikely(__builtin_mul_overflow(nmemb, size, &bytes))) {
		errno = ENOMEM;
		return NULL;
	}
	p = kmem_malloc(bytes);
	/* Huge ones are fresh mappings and the bootstrap buffer was never used: both zero. */
	if (p && bytes <= KMALLOC_MAX_SIZE && !in_bootstrap(p))
		memset(p, 0, bytes);
	return p;
}

/* Bytes @ptr may hold: 0 for a pointer kmem never handed out. */
static size_t usable_size(void *ptr)
{
	if (likely(kmem_addr_valid(ptr)))
		return ksize(ptr);
	if (!ptr || in_bootstrap(ptr))
		return 0;
	return huge_size(ptr);
}

/* Bytes of @ptr that can be read, up to @size: what realloc keeps of a foreign pointer. */
static size_t foreign_readable(const void *ptr, size_t size)
{
	if (in_bootstrap(ptr))
		return min(size, (size_t)(bootstrap_buf + BOOTSTRAP_SIZE - (const char *)ptr));
	size_t page_rest = PAGE_SIZE - ((uintptr_t)ptr & (PAGE_SIZE - 1));

	if (size <= page_rest || os_mapped((const char *)ptr + page_rest, size - page_rest))
		return size;
	return page_rest;
}

static void *realloc_move(void *ptr, size_t keep, size_t size)
{
	void *p = kmem_malloc(size);

	if (p) {
		memcpy(p, ptr, min(keep, size));
		kmem_free(ptr);
	}
	return p;
}

/*
 * A block that grows moves to at least a quarter more than it holds
 * (tcmalloc's realloc does the same): a buffer grown a few bytes at a time
 * then moves a logarithmic number of times, not once per size class, and
 * what it may waste is bounded by that quarter.
 */
static void *realloc_grow(void *ptr, size_t old, size_t size)
{
	size_t more = old + old / 4;

	if (size < more) {
		void *p = kmem_malloc(more);

		if (p) {
			memcpy(p, ptr, old);
			kmem_free(ptr);
			return p;
		}
	}
	return realloc_move(ptr, old, size);
}

/*
 * A block that grows past MALLOC_REALLOC_MAP_MIN moves into a mapping of its
 * own (huge.c), as glibc's mmapped chunks do: from then on it grows with
 * mremap, which moves no bytes, and each step no longer leaves the old
 * buddy block behind, freed but resident (a chain of doublings touched
 * twice its final size: sqlite's sorter, vectors).
 */
#define MALLOC_REALLOC_MAP_MIN (256UL << 10)

static void *realloc_to_map(void *ptr, size_t old, size_t size)
{
	void *p = huge_alloc(size, PAGE_SIZE);

	if (!p)
		return realloc_move(ptr, old, size);
	memcpy(p, ptr, old);
	kmem_free(ptr);
	return p;
}

void *kmem_realloc(void *ptr, size_t size)
{
	size_t old;

	if (!ptr)
		return kmem_malloc(size);
	if (!size) {
		kmem_free(ptr); /* glibc's realloc(p, 0): frees and returns NULL */
		return NULL;
	}
	if (likely(kmem_addr_valid(ptr))) {
		old = ksize(ptr);
		if (unlikely(!old)) {
			errno = EINVAL; /* reported by ksize: not an object kmem handed out */
			return NULL;
		}
		/* In place unless it grows, or shrinks to less than half of what it holds. */
		if (size <= old && (size >= old / 2 || old <= MALLOC_ALIGN))
			return ptr;
		if (size > old && size >= MALLOC_REALLOC_MAP_MIN)
			return realloc_to_map(ptr, old, size);
		if (size > old)
			return realloc_grow(ptr, old, size);
		return realloc_move(ptr, old, size);
	}
	old = in_bootstrap(ptr) ? 0 : huge_size(ptr);
	if (!old) /* bootstrap or foreign: keep what can be read */
		return realloc_move(ptr, foreign_readable(ptr, size), size);
	if (size >= MALLOC_REALLOC_MAP_MIN) {
		void *p = huge_realloc(ptr, size);

		if (!p)
			errno = ENOMEM;
		return p;
	}
	return realloc_move(ptr, old, size);
}

void *kmem_reallocarray(void *ptr, size_t nmemb, size_t size)
{
	size_t bytes;

	if (unlikely(__builtin_mul_overflow(nmemb, size, &bytes))) {
		errno = ENOMEM;
		return NULL;
	}
	return kmem_realloc(ptr, bytes);
}

/*
 * @align: a power of two above MALLOC_ALIGN. kmalloc objects of a
 * power-of-two size are aligned to that size up to PAGE_SIZE (96 and 192 to
 * 32 and 64), and compound blocks to their size: a size that is a multiple of
 * the alignment gets it, except a slab object asked for more than PAGE_SIZE,
 * which is sent to the page allocator instead.
 */
static void *malloc_aligned(size_t align, size_t size)
{
	size_t asize;
	void *p;

	if (unlikely(size > SIZE_MAX - align)) {
		errno = ENOMEM;
		return NULL;
	}
	asize = ALIGN(max(size, align), align);
	if (align > PAGE_SIZE && asize <= KMALLOC_MAX_CACHE_SIZE)
		asize = KMALLOC_MAX_CACHE_SIZE + 1;
	if (asize > KMALLOC_MAX_SIZE || !malloc_ready())
		return malloc_huge(size, align);
	p = kmalloc(asize, MALLOC_GFP);
	if (unlikely(!p)) {
		errno = ENOMEM;
		return NULL;
	}
	malloc_safe_point();
	if (unlikely(!IS_ALIGNED((uintptr_t)p, align))) {
		/* A layout kmem's debugging changed: take a mapping rather than fail. */
		kmem_free(p);
		return malloc_huge(size, align);
	}
	return p;
}

void *kmem_memalign(size_t align, size_t size)
{
	if (align <= MALLOC_ALIGN)
		return kmem_malloc(size);
	/* glibc: an alignment that is not a power of two is rounded up to one. */
	if (!is_power_of_2(align)) {
		if (align > (SIZE_MAX >> 1) + 1) {
			errno = EINVAL;
			return NULL;
		}
		align = 1UL << fls_long(align);
	}
	return malloc_aligned(align, size);
}

int kmem_posix_memalign(void **memptr, size_t align, size_t size)
{
	void *p;
	int saved = errno;

	if (!is_power_of_2(align) || align % sizeof(void *))
		return EINVAL;
	p = kmem_memalign(align, size);
	if (!p)
		return ENOMEM;
	errno = saved; /* posix_memalign reports through its result, not errno */
	*memptr = p;
	return 0;
}

void *kmem_aligned_alloc(size_t align, size_t size)
{
	/* C17 DR 460 and glibc 2.38: an alignment that is not a power of two is refused. */
	if (!is_power_of_2(align)) {
		errno = EINVAL;
		return NULL;
	}
	return kmem_memalign(align, size);
}

void *kmem_valloc(size_t size)
{
	return kmem_memalign(PAGE_SIZE, size);
}

void *kmem_pvalloc(size_t size)
{
	size_t rounded = ALIGN(size ? size : 1, PAGE_SIZE);

	if (rounded < size) {
		errno = ENOMEM;
		return NULL;
	}
	return kmem_memalign(PAGE_SIZE, rounded);
}

size_t kmem_malloc_usable_size(void *ptr)
{
	return usable_size(ptr);
}

/*
 * Shrink every cache malloc uses (each thread's arrays drained, every free
 * slab back to the buddy allocator), then give free memory to the OS. The
 * reaper alone would take a fifth of the free slabs per pass.
 */
int kmem_malloc_trim(size_t pad)
{
	struct kmem_cache *last = NULL;

	if (!atomic_load(&kmem_initialised))
		return 0;
	for (size_t size = MALLOC_ALIGN; size <= KMALLOC_MAX_CACHE_SIZE; size += MALLOC_ALIGN) {
		struct kmem_cache *s = READ_ONCE(malloc_size_cache[size >> MALLOC_CLASS_SHIFT]);

		if (!s)
			s = kmalloc_slab(size, 0);
		if (s && s != last)
			kmem_cache_shrink(s);
		last = s;
	}
	for (size_t k = 0; k < ARRAY_SIZE(malloc_large_cache); k++) {
		struct kmem_cache *s = __atomic_load_n(&malloc_large_cache[k], __ATOMIC_ACQUIRE);

		if (s)
			kmem_cache_shrink(s);
	}
	kmem_cache_reap();
	return kmem_release_free_memory() != 0;
}

struct mallinfo2 kmem_mallinfo2(void)
{
	struct mallinfo2 mi = { 0 };
	unsigned long used = 0, resident_free = 0;
	struct zone *zone;

	if (atomic_load(&kmem_initialised)) {
		for_each_populated_zone(zone) {
			unsigned long free, reported;

			spin_lock(&zone->lock);
			free = zone_page_state_free(zone);
			reported = zone_reported_pages(zone);
			spin_unlock(&zone->lock);

			used += zone->managed_pages - free;
			resident_free += free > reported ? free - reported : 0;
		}
	}
	huge_stats(&mi.hblks, &mi.hblkhd);
	mi.arena = used << PAGE_SHIFT;
	mi.uordblks = mi.arena + mi.hblkhd;
	mi.fordblks = resident_free << PAGE_SHIFT;
	return mi;
}

/*
 * The functions an allocation passes through here: slab debugging's owner
 * tracking skips them, so a leak report names the program's call of malloc.
 */
static void malloc_debug_register(void)
{
	static const void *const path[] = {
		kmem_malloc,   malloc_slow,    kmem_calloc,	    kmem_realloc,
		realloc_move,  realloc_grow,   realloc_to_map,	    kmem_reallocarray,
		kmem_memalign, malloc_aligned, kmem_posix_memalign, kmem_aligned_alloc,
		kmem_valloc,   kmem_pvalloc,   kmem_free,	    free_slow,
	};

	for (size_t i = 0; i < ARRAY_SIZE(path); i++)
		slab_debug_register_entry(path[i]);
}
