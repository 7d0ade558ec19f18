/* SPDX-License-Identifier: MIT */
/*
 * SLAB's data structures (mm/slab.h, and struct slab of Linux 2.6's
 * mm/slab.c), shared by slab.c, slab_common.c and proc.c.
 */
#ifndef KMEM_MM_SLAB_H
#define KMEM_MM_SLAB_H

#include <string.h>

#include "internal.h"
#include "kasan.h"

/* A free object's index in its slab: one small index per object (kmem_bufctl_t). */
typedef unsigned short kmem_bufctl_t;
#define BUFCTL_END ((kmem_bufctl_t)~0U)
#define SLAB_LIMIT ((unsigned int)BUFCTL_END - 1)

/* Internal cache flags, above the public SLAB_* bits. */
#define CFLGS_OFF_SLAB (1U << 31) /* the slab descriptor lives in a kmalloc cache */
#define CFLGS_FREELIST_RANDOM (1U << 30) /* new slabs hand out objects in random order */
#define CFLGS_VALGRIND (1U << 29) /* under memcheck: objects annotated (kmemcheck.h) */

/*
 * A cache with any of these goes through slab_debug.c: it keeps no per-CPU
 * or shared arrays (limit 0), so every alloc and free misses the inline fast
 * paths and reaches slab_alloc_slow()/slab_free_slow(), which test the flags.
 */
#define SLAB_DEBUG_FLAGS                                                                           \
	(SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_TRACE |    \
	 CFLGS_VALGRIND)

#define BYTES_PER_WORD sizeof(void *)
#define ARCH_SLAB_MINALIGN 8
#define BATCHREFILL_LIMIT 16
#define REAPTIMEOUT_NODE_NS (4ULL * 1000000000ULL)
/* The largest slab: 2^slab_max_order pages, unless one object needs more. */
#define SLAB_MAX_ORDER 3
#define KMALLOC_MAX_ORDER MAX_PAGE_ORDER

/* Per-CPU (per-thread) object cache: the fast paths are entry[--avail] and entry[avail++]. */
struct array_cache {
	unsigned int avail;
	unsigned int limit;
	unsigned int batchcount;
	unsigned int touched;
	/*
	 * kfree's copy of what it checks, in the line it reads anyway (a
	 * thread's array is set up on first use; until then start_bound is 0,
	 * which fails the check and sends kfree to its slow path).
	 */
	unsigned int start_bound; /* cachep->start_bound */
	unsigned int overflows; /* flushes with no allocation in between (ac_shrink()) */
	uint64_t reciprocal_buffer_size; /* cachep's */
	struct kmem_cache *cachep;
	void *guard; /* always NULL: what ac_top() reads when the array is empty */
	void *entry[];
};

_Static_assert(offsetof(struct array_cache, start_bound) == offsetof(struct percpu_area, zero),
	       "a slab map word of 0 makes kfree_fast() read the unit header's zero as start_bound");

_Static_assert(offsetof(struct array_cache, entry) ==
		       offsetof(struct array_cache, guard) + sizeof(void *),
	       "guard sits right before entry[0]");

/*
 * The last entry, or NULL when the array is empty, without a test for
 * empty: the always-on double-free check (SLUB's freelist hardening does
 * the same) compares every freed object with it, catching free(p); free(p).
 */
static __always_inline const void *ac_top(const struct array_cache *ac)
{
	const void *top;

	memcpy(&top, (const char *)&ac->guard + (size_t)ac->avail * sizeof(void *), sizeof(top));
	return top;
}

/* A node's cache of objects that belong to another node (freed here, homed there). */
struct alien_cache {
	spinlock_t lock;
	struct array_cache ac;
};

/*
 * The slab descriptor, on-slab (right after the colour offset, at the start
 * of the slab's memory) or off-slab (in a kmalloc cache). bufctl[] follows
 * it: bufctl[i] is the index of the free object after free object i.
 */
struct slab {
	struct list_head list; /* in slabs_full, slabs_partial or slabs_free */
	unsigned long colouroff; /* offset of this slab's colour */
	void *s_mem; /* first object, colour offset included */
	unsigned int inuse; /* objects handed out (in arrays or to users) */
	kmem_bufctl_t free; /* first free object, or BUFCTL_END */
	unsigned short nodeid;
};

static inline kmem_bufctl_t *slab_bufctl(struct slab *slabp)
{
	return (kmem_bufctl_t *)(slabp + 1);
}

struct kmem_cache_node {
	spinlock_t list_lock;
	struct list_head slabs_partial; /* partial list first: the most used */
	struct list_head slabs_full;
	struct list_head slabs_free;
	unsigned long total_slabs;
	unsigned long free_slabs;
	unsigned long free_objects; /* in slabs, not in per-CPU arrays */
	unsigned int free_limit; /* free objects beyond which free slabs are destroyed */
	unsigned int colour_next; /* per-node cache colouring */
	struct array_cache *shared; /* shared per node */
	unsigned int shared_wanted; /* entries of a shared array to make at the first flush */
	unsigned int free_batch; /* what free_limit counts per CPU (node_free_limit()) */
	struct array_cache **alien; /* on other nodes (inside struct alien_cache), nr_nodes > 1 */
	uint64_t next_reap;
	int free_touched;
};

extern unsigned int slab_nr_cpus; /* the machine's, at kmem_cache_init() */

/*
 * free_limit is the kernel's: a batch for each CPU and one more, and a slab.
 * Here every thread with a per-CPU unit has arrays, as each CPU has, so the
 * threads beyond the CPUs count a batch each. With fewer (bench_threads'
 * xmalloc: four threads on two CPUs), the slabs that the consumers' frees
 * empty were destroyed, their pages waited on the consumers' per-CPU page
 * lists, and the producer grew its slabs from fresh pages: peak RSS 2.86
 * MiB, median of 13 runs, against 2.76 now. n->list_lock held.
 */
static inline unsigned int node_free_limit(const struct kmem_cache_node *n)
{
	unsigned int units = pcpu_nr_online();

	return n->free_limit + (units > slab_nr_cpus ? (units - slab_nr_cpus) * n->free_batch : 0);
}

/*
 * The per-CPU array descriptor, one word so a tuner can swap it while
 * threads run: the percpu offset of the arrays (low 32 bits), and the limit
 * and batchcount they were sized for (16 bits each).
 */
#define CPU_CACHE_OFFSET(desc) ((uint32_t)(desc))
#define CPU_CACHE_LIMIT(desc) ((unsigned int)((desc) >> 32) & 0xffff)
#define CPU_CACHE_BATCH(desc) ((unsigned int)((desc) >> 48))
#define MAX_CPU_CACHE_LIMIT 4096

struct kmem_cache {
	/* 1) per-CPU data, touched on every alloc and free */
	union {
		_Atomic uint64_t cpu_cache;
		/* Its low half, all the fast paths need: one load, no zero-extension. */
		_Atomic uint32_t cpu_cache_offset;
	};
	/* 2) cache tunables, under slab_mutex */
	unsigned int batchcount;
	unsigned int limit;
	unsigned int shared;
	unsigned int start_limit; /* a thread's array starts here, grows up to limit (slab.c) */
	unsigned int size; /* object size with alignment (buffer_size) */
	/* obj_reciprocal(size): offset_to_index() and the object-start tests without division */
	uint64_t reciprocal_buffer_size;
	/* 3) touched by every alloc and free from the backend */
	slab_flags_t flags;
	unsigned int num; /* objects per slab */
	unsigned int start_bound; /* obj_start_bound(num, size, reciprocal): is_obj_start() */
	/* 4) cache_grow/shrink */
	gfp_t allocflags; /* forced GFP flags, e.g. GFP_DMA */
	size_t colour; /* colour range: left_over / colour_off */
	unsigned int colour_off;
	unsigned int obj_offset; /* debug caches: the object lies past the left red zone */
	struct kmem_cache *freelist_cache; /* off-slab descriptors come from here */
	unsigned int freelist_size; /* descriptor + bufctl[num], aligned when on-slab */
	unsigned int gfporder; /* 2^gfporder pages per slab */
	void (*ctor)(void *obj);
	/* 5) cache creation/removal */
	const char *name;
	struct list_head list;
	int refcount;
	unsigned int object_size; /* what the caller asked for */
	unsigned int align;
	struct kmem_cache_node *node[MAX_NUMNODES];
};

static inline struct array_cache *cpu_cache_get(struct percpu_area *area, struct kmem_cache *cachep)
{
	/*
	 * Acquire (a plain load on x86): a retune may hand out per-CPU space
	 * that free_percpu() zeroed for the previous arrays; the zeroing must
	 * be visible before the new array is read.
	 */
	uint64_t desc = atomic_load_explicit(&cachep->cpu_cache, memory_order_acquire);

	return (struct array_cache *)((char *)area + CPU_CACHE_OFFSET(desc));
}

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "cpu_cache_offset is the low half");

/* cpu_cache_get() for the fast paths, which run in a unit that a retune holds. */
static __always_inline struct array_cache *cpu_cache_get_fast(struct percpu_area *area,
							      struct kmem_cache *cachep)
{
	uint32_t offset = atomic_load_explicit(&cachep->cpu_cache_offset, memory_order_acquire);

	return (struct array_cache *)((char *)area + offset);
}

/*
 * @offset / size for a 32-bit @offset: the high half of offset times
 * floor(2^64 / size) + 1 (Lemire, Kaser and Kurz, "Faster remainder by direct
 * computation", 2019, with ceil(); the + 1 for powers of two changes no
 * quotient below 2^64 / size, and obj_start_check() needs it).
 */
static inline unsigned int offset_to_index(const struct kmem_cache *cache, uint64_t offset)
{
	return (unsigned int)(((unsigned __int128)offset * cache->reciprocal_buffer_size) >> 64);
}

static inline unsigned int obj_to_index(const struct kmem_cache *cache, const struct slab *slab,
					const void *obj)
{
	return offset_to_index(cache, (uint64_t)((const char *)obj - (const char *)slab->s_mem));
}

/*
 * Whether @offset from s_mem is an object start: inside the slab's objects
 * and a multiple of the size, decided by one multiplication and one compare
 * (after Lemire, Kaser and Kurz's divisibility test). The reciprocal c is
 * floor(2^64 / size) + 1, so c * size = 2^64 + e with 0 < e <= size (e = size
 * for a power of two). The low half of offset * c is then k * e for the k-th
 * object start, growing with k, and at least c - 2^23 for every other
 * offset under 4 MiB either side of s_mem (a remainder adds a multiple of c,
 * a negative offset wraps to the top): far above num * e, which is below
 * num * size < 2^32 while c > 2^40 (sizes under 16 MiB). So "below num * e"
 * is "one of the num object starts".
 */
static inline uint64_t obj_reciprocal(unsigned int size)
{
	/*
	 * floor(2^64 / size) without a 128-bit division (a call into libgcc's
	 * __udivti3, whose page the preload would otherwise fault in at every
	 * cache creation): it is floor((2^64 - 1) / size), plus one when size
	 * divides 2^64.
	 */
	return UINT64_MAX / size + ((size & (size - 1)) == 0) + 1;
}

static inline unsigned int obj_start_bound(unsigned int num, unsigned int size, uint64_t recip)
{
	return num * (unsigned int)(recip * size);
}

static __always_inline bool obj_start_check(uint64_t offset, uint64_t recip, unsigned int bound)
{
	return offset * recip < bound;
}

static __always_inline bool is_obj_start(const struct kmem_cache *cache, uint64_t offset)
{
	return obj_start_check(offset, cache->reciprocal_buffer_size, cache->start_bound);
}

/*
 * kfree's view of a page, one word where struct page takes a cache line, so
 * that the pages of a large live set share lines (eight to one): the low
 * half is the percpu offset of the page's cache's arrays (0: not a slab
 * page), the high half the page's s_mem (object 0, past a debug cache's red
 * zone) relative to the page's address, negative for the later pages of a
 * multi-page slab. From the word kfree goes straight to this thread's array,
 * whose header repeats the cache and its object-start constants: three
 * dependent loads (map, array, top entry) where the cache pointer would add
 * two. A retune moves the arrays, so it rewrites the words of every slab of
 * the cache while every unit is held (slab_map_retune()); kfree reads the
 * word only inside its unit.
 */
static inline uint64_t slab_map_word(uint32_t cpu_offset, const void *page_addr, const void *s_mem)
{
	int64_t delta = (const char *)s_mem - (const char *)page_addr;

	return cpu_offset | (uint64_t)(uint32_t)(int32_t)delta << 32;
}

static __always_inline void slab_map_set(unsigned long pfn, uint64_t word)
{
	WRITE_ONCE(kmem_memory.slab_map[pfn], word);
}

static __always_inline uint64_t slab_map_get(const void *objp)
{
	uintptr_t off = (uintptr_t)((const char *)objp - kmem_memory.base);

	return off < kmem_memory.span_bytes ? READ_ONCE(kmem_memory.slab_map[off >> PAGE_SHIFT]) :
					      0;
}

/* @objp's offset from s_mem, given its page's map word; huge below object 0. */
static __always_inline uint64_t slab_map_offset(const void *objp, uint64_t word)
{
	uintptr_t off = (uintptr_t)((const char *)objp - kmem_memory.base);

	return (off & (PAGE_SIZE - 1)) - (uint64_t)(int64_t)(int32_t)(word >> 32);
}

static inline struct kmem_cache *virt_to_cache(const void *obj)
{
	return __virt_to_page(obj)->slab_cache;
}

static inline struct slab *virt_to_slab(const void *obj)
{
	return __virt_to_page(obj)->slab;
}

/* Slot @idx of @slab (for a debug cache the object is obj_offset further). */
static inline void *index_to_obj(struct kmem_cache *cache, struct slab *slab, unsigned int idx)
{
	return (char *)slab->s_mem + (size_t)cache->size * idx;
}

extern struct list_head slab_caches;
extern spinlock_t slab_mutex;
extern struct kmem_cache *kmem_cache; /* the cache of struct kmem_cache */

/* slab.c */
int kmem_cache_init(void);
unsigned long kmem_cache_exit(void);
void kmem_cache_list_leaks(const char *when);
void wakeup_reaper(void);
struct kmem_cache *__kmem_cache_create(const char *name, unsigned int size, unsigned int align,
				       slab_flags_t flags, void (*ctor)(void *));
int slabinfo_write(const char *text);
void slabinfo_show(struct seq_file *m);

/* What slab_debug.c uses of slab.c's slab lists (n->list_lock held where noted). */
void *cache_alloc_from_node(struct kmem_cache *cachep, struct kmem_cache_node *n,
			    struct slab **slabp);
void free_block(struct kmem_cache *cachep, void **objpp, unsigned int nr, int node,
		struct list_head *list);
int cache_grow(struct kmem_cache *cachep, gfp_t flags, int nodeid);
void slabs_destroy(struct list_head *list);

#define TRACK_ADDRS_COUNT 8

/* Who allocated or freed an object last (SLUB's struct track; KFENCE's too). */
struct track {
	void *addrs[TRACK_ADDRS_COUNT]; /* addrs[0]: the owner's call; then its callers */
	uint64_t when;
	int tid;
	int internal; /* a slab descriptor of kmem's own: never a leak */
};

/* slab_debug.c */
void set_track(struct track *t);
void print_track(const char *s, const struct track *t);
void print_section(const char *text, const void *addr, size_t len);
slab_flags_t kmem_cache_flags(const char *name, slab_flags_t flags);
size_t slab_debug_layout(struct kmem_cache *cachep, size_t size, size_t align, slab_flags_t flags);
void slab_debug_init_objs(struct kmem_cache *cachep, struct slab *slab);
void slab_randomize_freelist(struct kmem_cache *cachep, struct slab *slab);
void slab_debug_destroy_check(struct kmem_cache *cachep, struct slab *slab);
void *slab_debug_alloc(struct kmem_cache *cachep, gfp_t flags, int nodeid, size_t orig_size);
void slab_debug_free(struct kmem_cache *cachep, void *objp);
void slab_debug_bad_pointer(struct kmem_cache *cachep, const void *objp, const char *who,
			    void *caller);
size_t slab_debug_ksize(struct kmem_cache *cachep, const void *objp);
void slab_debug_mark_internal(struct kmem_cache *cachep, void *objp);
void slab_debug_list_leaks(struct kmem_cache *cachep, const char *when);
void slab_debug_register_entry(const void *fn);
void slab_double_free(struct kmem_cache *cachep, void *objp, void *caller);
/*
 * Nonzero while the calling thread allocates for kmem itself from above the
 * slab layer (the malloc layer initialising kmem, starting kswapd): owner
 * tracking marks those objects internal, and leak reports leave them out.
 */
extern __thread bool slab_track_internal __attribute__((tls_model("initial-exec")));

/* The slow paths behind the inline fast paths below (slab.c). */
void *slab_alloc_zero(struct kmem_cache *cachep, gfp_t flags);
void *slab_alloc_slow(struct kmem_cache *cachep, gfp_t flags);
void *__slab_alloc_slow(struct kmem_cache *cachep, gfp_t flags);
void slab_free_slow(struct kmem_cache *cachep, void *objp);
void slab_map_retune(struct kmem_cache *cachep);

/*
 * ____cache_alloc's array pop alone: NULL when a drainer holds the unit, the
 * fast paths are off (PCPU_SLOW) or the array is empty. malloc() pops with
 * it directly and takes its own slow path on NULL (src/malloc/).
 */
static __always_inline void *slab_alloc_fast(struct kmem_cache *cachep)
{
	struct percpu_area *area = __this_cpu_fast;
	void *objp = NULL;

	if (likely(get_cpu_area_fast(area))) {
		struct array_cache *ac = cpu_cache_get_fast(area, cachep);

		if (likely(ac->avail)) {
			ac->touched = 1;
			objp = ac->entry[--ac->avail];
			if (!objp) /* arrays never hold NULL: lets slab_alloc() skip a test */
				__builtin_unreachable();
		}
		put_cpu_area(area);
	}
	kasan_slab_alloc(cachep, objp);
	return objp;
}

/*
 * ____cache_alloc: an object from the thread's array, the whole fast path.
 * Inline here so that kmalloc runs it without a call; everything else (no
 * unit yet, a drainer, an empty array, __GFP_ZERO, fault injection and the
 * other PCPU_SLOW reasons) is slab_alloc_slow().
 */
static __always_inline void *slab_alloc(struct kmem_cache *cachep, gfp_t flags)
{
	if (likely(!(flags & __GFP_ZERO))) {
		void *objp = slab_alloc_fast(cachep);

		if (likely(objp))
			return objp;
	}
	return slab_alloc_slow(cachep, flags);
}

/*
 * __cache_free: into the thread's array unless it is full. With several
 * nodes (PCPU_SLOW_NUMA) every free takes the slow path, which sends
 * objects of other nodes to the alien arrays.
 */
static __always_inline void __cache_free(struct kmem_cache *cachep, void *objp)
{
	struct percpu_area *area = __this_cpu_fast;

	if (kasan_slab_free(cachep, objp))
		return;
	if (likely(get_cpu_area_fast(area))) {
		struct array_cache *ac = cpu_cache_get_fast(area, cachep);

		if (likely(ac->avail < ac->limit) && likely(ac_top(ac) != objp)) {
			/*
			 * LIFO: this object is the next one handed out. SLAB never
			 * touches a free object, so start bringing its first line in
			 * now rather than stall the next owner's first access.
			 */
			__builtin_prefetch(objp, 1, 3);
			ac->entry[ac->avail++] = objp;
			put_cpu_area(area);
			return;
		}
		put_cpu_area(area);
	}
	slab_free_slow(cachep, objp);
}

/*
 * kfree's whole fast path: @objp must be an object start of a slab page the
 * map describes, and this thread's array for its cache set up and not full.
 * Returns false, having done nothing, for everything else.
 */
static __always_inline bool kfree_fast(const void *objp)
{
	uintptr_t off = (uintptr_t)((const char *)objp - kmem_memory.base);
	struct percpu_area *area = __this_cpu_fast;

	if (kasan_enabled()) /* ASan builds: through __cache_free(), which poisons */
		return false;
	if (unlikely(off >= kmem_memory.span_bytes))
		return false;
	if (likely(get_cpu_area_fast(area))) {
		uint64_t word = READ_ONCE(kmem_memory.slab_map[off >> PAGE_SHIFT]);
		struct array_cache *ac = (struct array_cache *)((char *)area + (uint32_t)word);
		uint64_t offset =
			(off & (PAGE_SIZE - 1)) - (uint64_t)(int64_t)(int32_t)(word >> 32);

		/* No slab (word 0): ac is the unit's header, whose zero fails the first test. */
		if (likely(obj_start_check(offset, ac->reciprocal_buffer_size, ac->start_bound) &&
			   ac->avail < ac->limit && ac_top(ac) != objp)) {
			__builtin_prefetch(objp, 1, 3);
			ac->entry[ac->avail++] = (void *)objp;
			put_cpu_area(area);
			return true;
		}
		put_cpu_area(area);
	}
	return false;
}

/* slab_common.c */
int create_kmalloc_caches(void);
void kmalloc_caches_reset(void);
struct kmem_cache *kmalloc_slab(size_t size, gfp_t flags);
void *__do_kmalloc_node(size_t size, gfp_t flags, int node);
void kfree_slow(const void *objp, void *caller);
extern bool slab_early_init;

#endif /* KMEM_MM_SLAB_H */
