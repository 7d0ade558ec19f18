/* SPDX-License-Identifier: MIT */
/*
 * The memory map shared by everything in src/mm/: nodes, zones, free areas,
 * per-CPU page lists and the page descriptor helpers (mm/internal.h,
 * include/linux/mmzone.h and include/linux/page-flags.h in the kernel).
 *
 * Physical memory is one contiguous range, kmem_mem.base, holding the nodes
 * one after another, each node_pages long. pfn N is the page at
 * base + N * PAGE_SIZE and its descriptor is mem_map[N]: every conversion is
 * arithmetic. Node 0 begins with ZONE_DMA ([0, dma_pages)); the rest of each
 * node is ZONE_NORMAL.
 */
#ifndef KMEM_MM_INTERNAL_H
#define KMEM_MM_INTERNAL_H

#include <kmem/kmem.h>

#include "platform/compiler.h"
#include "platform/list.h"
#include "platform/percpu.h"
#include "platform/printk.h"
#include "platform/spinlock.h"

enum zone_type { ZONE_DMA, ZONE_NORMAL, MAX_NR_ZONES };

enum migratetype {
	MIGRATE_UNMOVABLE,
	MIGRATE_MOVABLE,
	MIGRATE_RECLAIMABLE,
	MIGRATE_PCPTYPES,
	MIGRATE_TYPES = MIGRATE_PCPTYPES,
};

#define pageblock_order 9
#define pageblock_nr_pages (1UL << pageblock_order)
#define MAX_ORDER_NR_PAGES (1UL << MAX_PAGE_ORDER)

enum zone_watermarks { WMARK_MIN, WMARK_LOW, WMARK_HIGH, NR_WMARK };

/* The kernel's internal allocation flags (mm/internal.h). */
#define ALLOC_WMARK_MIN WMARK_MIN
#define ALLOC_WMARK_LOW WMARK_LOW
#define ALLOC_WMARK_HIGH WMARK_HIGH
#define ALLOC_NO_WATERMARKS 0x04
#define ALLOC_WMARK_MASK (ALLOC_NO_WATERMARKS - 1)
#define ALLOC_NON_BLOCK 0x10 /* the caller cannot reclaim: may use a little more of the reserve */
#define ALLOC_MIN_RESERVE 0x20 /* __GFP_HIGH: may use half of the reserve below min */
#define ALLOC_KSWAPD 0x800
BUILD_BUG_ON(ALLOC_MIN_RESERVE != __GFP_HIGH);
/* Descriptors cost 1/64 of the memory they describe, as in the kernel. */
BUILD_BUG_ON(sizeof(struct page) != 64);

/* Page flags (the low bits of page->flags). */
enum pageflags {
	PG_buddy, /* free, heads a block in a free_area list; page->private = order */
	PG_pcp, /* free, on a per-CPU list; page->private = order */
	PG_reported, /* free block whose memory went back to the OS: it reads as zero */
	PG_head, /* first page of a compound allocation */
	PG_slab, /* belongs to a slab */
	PG_large_kmalloc, /* head of a kmalloc allocation served by the page allocator */
	PG_vmalloc, /* mapped into a vmalloc area */
	PG_reserved, /* never to be freed (metadata carved from the arena) */
};

/*
 * Flags are tested without the owner's knowledge: __free_one_page() looks at
 * the buddy of the block it frees, which may be an allocated page whose owner
 * is preparing or freeing it right now. PG_buddy itself only changes under
 * zone->lock, and an owner only writes pages that are not free, so the answer
 * is right either way; the accesses are marked so they are not torn (the
 * kernel's page flag bitops are atomic or READ_ONCE for the same reason).
 */
#define PAGEFLAG(name, bit)                                                                        \
	static inline bool Page##name(const struct page *page)                                     \
	{                                                                                          \
		return READ_ONCE(page->flags) & (1UL << (bit));                                    \
	}                                                                                          \
	static inline void SetPage##name(struct page *page)                                        \
	{                                                                                          \
		WRITE_ONCE(page->flags, page->flags | 1UL << (bit));                               \
	}                                                                                          \
	static inline void ClearPage##name(struct page *page)                                      \
	{                                                                                          \
		WRITE_ONCE(page->flags, page->flags & ~(1UL << (bit)));                            \
	}

PAGEFLAG(Buddy, PG_buddy)
PAGEFLAG(Pcp, PG_pcp)
PAGEFLAG(Reported, PG_reported)
PAGEFLAG(Head, PG_head)
PAGEFLAG(Slab, PG_slab)
PAGEFLAG(LargeKmalloc, PG_large_kmalloc)
PAGEFLAG(Vmalloc, PG_vmalloc)
PAGEFLAG(Reserved, PG_reserved)

/* Flags a page must not carry when it is freed or handed out. */
#define PAGE_FLAGS_CHECK_AT_FREE                                                                   \
	((1UL << PG_buddy) | (1UL << PG_pcp) | (1UL << PG_slab) | (1UL << PG_reserved))

static inline struct list_head *page_lru(struct page *page)
{
	return (struct list_head *)&page->lru;
}

#define lru_to_page(head) container_of((void *)(head), struct page, lru)

static inline bool PageTail(const struct page *page)
{
	return page->compound_head & 1;
}

struct free_area {
	struct list_head free_list[MIGRATE_TYPES];
	unsigned long nr_free; /* blocks of this order, every type */
	unsigned long nr_reported; /* of those, blocks whose memory is back with the OS */
};

/*
 * Per-CPU page lists: one list per (order <= PAGE_ALLOC_COSTLY_ORDER,
 * migratetype), LIFO so the hottest page goes out first. count is in pages.
 */
#define NR_PCP_LISTS (MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1))

struct per_cpu_pages {
	int count; /* pages on the lists */
	int high; /* free to the buddy lists above this; 0 until first use */
	int batch; /* pages moved at a time */
	struct list_head lists[NR_PCP_LISTS];
};

static inline unsigned int order_to_pindex(int migratetype, unsigned int order)
{
	return order * MIGRATE_PCPTYPES + migratetype;
}

/* Events counted per CPU and summed when read (vm_event_item.h). */
enum vm_event_item {
	PGALLOC_DMA,
	PGALLOC_NORMAL,
	ALLOCSTALL_DMA,
	ALLOCSTALL_NORMAL,
	PGFREE,
	PGALLOC_FAIL, /* not in the kernel: allocations that returned NULL */
	PAGEOUTRUN, /* background reclaim passes */
	PGREPORTED, /* not in the kernel: pages given back to the OS */
	NR_VM_EVENT_ITEMS
};

struct vm_event_state {
	_Atomic unsigned long event[NR_VM_EVENT_ITEMS];
};

struct pglist_data;

struct zone {
	spinlock_t lock;
	unsigned long _watermark[NR_WMARK];
	long lowmem_reserve[MAX_NR_ZONES];
	struct per_cpu_pages __percpu *per_cpu_pageset;
	struct pglist_data *zone_pgdat;
	const char *name;
	int node;
	enum zone_type idx;

	unsigned long zone_start_pfn;
	unsigned long spanned_pages;
	unsigned long present_pages;
	unsigned long managed_pages;

	/*
	 * Deferred struct page init: [deferred_pfn, deferred_end) are free
	 * MAX_PAGE_ORDER blocks whose descriptors were never touched. They
	 * count in free_area[MAX_PAGE_ORDER] (and as reported: not resident)
	 * and join the free lists one at a time when the lists run dry, so a
	 * large arena costs nothing until it is used.
	 */
	unsigned long deferred_pfn;
	unsigned long deferred_end;

	_Atomic long free_pages; /* NR_FREE_PAGES: pages in the free lists (not per-CPU) */
	struct free_area free_area[NR_PAGE_ORDERS];

	/* Page reporting (page_reporting.c) */
	unsigned long report_high, report_low; /* unreported high-order free pages */
	unsigned long low_freed; /* pages freed below pageblock order since the last pass */
	unsigned long low_drain; /* while nonzero: stamp of the newest low-order block to drain */
	atomic_bool report_pending;
} __cacheline_aligned;

static inline unsigned long zone_end_pfn(const struct zone *zone)
{
	return zone->zone_start_pfn + zone->spanned_pages;
}

static inline bool zone_spans_pfn(const struct zone *zone, unsigned long pfn)
{
	return pfn - zone->zone_start_pfn < zone->spanned_pages;
}

static inline bool populated_zone(const struct zone *zone)
{
	return zone->present_pages != 0;
}

static inline unsigned long wmark_pages(const struct zone *zone, int wmark)
{
	return zone->_watermark[wmark];
}

static inline unsigned long zone_page_state_free(const struct zone *zone)
{
	long v = atomic_load_explicit(&zone->free_pages, memory_order_relaxed);

	return v < 0 ? 0 : (unsigned long)v;
}

#define MAX_ZONELIST (MAX_NUMNODES * MAX_NR_ZONES + 1)

typedef struct pglist_data {
	struct zone node_zones[MAX_NR_ZONES];
	/* Fallback order for a request whose highest zone is [i]; NULL-terminated. */
	struct zone *node_zonelists[MAX_NR_ZONES][MAX_ZONELIST];
	int node_id;
	unsigned long node_start_pfn;
	unsigned long node_spanned_pages;
} pg_data_t;

/* The memory map: set by memblock.c at initialisation, constant until kmem_exit(). */
struct kmem_memory {
	char *base; /* pfn 0 */
	struct page *mem_map; /* descriptor of every pfn */
	uint64_t *slab_map; /* kfree's 8-byte view of every pfn (slab.h, slab_map_set()) */
	unsigned char *pageblock_flags; /* migratetype of each pageblock */
	unsigned long max_pfn;
	unsigned long span_bytes; /* max_pfn << PAGE_SHIFT: kmem_addr_valid()'s bound */
	unsigned long node_pages; /* pages per node */
	unsigned long dma_pages; /* ZONE_DMA: pfns [0, dma_pages) */
	int nr_nodes;
	bool external; /* caller-supplied memory: never madvise or munmap it */
	bool reporting; /* give free memory back to the OS */
	uint64_t reporting_delay_ns;
	unsigned long min_free_kbytes;
};

extern struct kmem_memory kmem_memory;
extern pg_data_t node_data[MAX_NUMNODES];
extern atomic_bool kmem_initialised;

#define NODE_DATA(nid) (&node_data[nid])

#define for_each_online_node(nid) for (nid = 0; nid < kmem_memory.nr_nodes; nid++)
static inline struct zone *next_zone(struct zone *zone)
{
	pg_data_t *pgdat = zone->zone_pgdat ? zone->zone_pgdat : &node_data[zone->node];

	if (zone < &pgdat->node_zones[MAX_NR_ZONES - 1])
		return zone + 1;
	return pgdat->node_id + 1 < kmem_memory.nr_nodes ?
		       &node_data[pgdat->node_id + 1].node_zones[0] :
		       NULL;
}

#define for_each_zone(zone)                                                                        \
	for (zone = kmem_memory.nr_nodes ? &node_data[0].node_zones[0] : NULL; zone;               \
	     zone = next_zone(zone))
#define for_each_populated_zone(zone)                                                              \
	for_each_zone(zone)                                                                        \
		if (populated_zone(zone))

int kmem_auto_init(void);
/*
 * The malloc layer's ties to kmem's lifetime (src/malloc/). kmem_exit()
 * refuses while kmem_exit_blocker names a reason (the preload: the whole
 * process's memory is kmem's), and otherwise first calls kmem_exit_notify,
 * so that the layer forgets the caches it made before they go.
 */
extern const char *kmem_exit_blocker;
extern void (*kmem_exit_notify)(void);
/* "256M", "4G", "64KiB": 0 and the bytes in *out, or -EINVAL. */
int kmem_parse_size(const char *s, size_t *out);

/* Make sure kmem is initialised; false (after a message) when it cannot be. */
static __always_inline bool kmem_ready(void)
{
	if (likely(atomic_load_explicit(&kmem_initialised, memory_order_acquire)))
		return true;
	return kmem_auto_init() == 0;
}

/* The node a thread allocates from: threads are spread over nodes by their unit number. */
static inline int numa_node_id(void)
{
	struct percpu_area *area = __this_cpu_area;

	return area && kmem_memory.nr_nodes > 1 ? area->cpu % kmem_memory.nr_nodes : 0;
}

static __always_inline struct page *__pfn_to_page(unsigned long pfn)
{
	return kmem_memory.mem_map + pfn;
}

static __always_inline unsigned long __page_to_pfn(const struct page *page)
{
	return page - kmem_memory.mem_map;
}

static __always_inline void *__page_address(const struct page *page)
{
	return kmem_memory.base + (__page_to_pfn(page) << PAGE_SHIFT);
}

static __always_inline bool kmem_addr_valid(const void *addr)
{
	return (uintptr_t)((const char *)addr - kmem_memory.base) < kmem_memory.span_bytes;
}

static __always_inline struct page *__virt_to_page(const void *addr)
{
	return __pfn_to_page((uintptr_t)((const char *)addr - kmem_memory.base) >> PAGE_SHIFT);
}

static __always_inline int pfn_to_nid(unsigned long pfn)
{
	return kmem_memory.nr_nodes == 1 ? 0 : (int)(pfn / kmem_memory.node_pages);
}

static __always_inline struct zone *pfn_zone(unsigned long pfn)
{
	int nid = pfn_to_nid(pfn);

	return &node_data[nid].node_zones[pfn < kmem_memory.dma_pages ? ZONE_DMA : ZONE_NORMAL];
}

static __always_inline struct zone *page_zone(const struct page *page)
{
	return pfn_zone(__page_to_pfn(page));
}

static inline struct page *compound_head(const struct page *page)
{
	unsigned long head = page->compound_head;

	return (struct page *)((head & 1) ? head - 1 : (uintptr_t)page);
}

static inline unsigned int compound_order(const struct page *page)
{
	return PageHead(page) ? page[1].compound_order : 0;
}

/*
 * A pageblock's byte holds its migratetype XOR MIGRATE_MOVABLE, so that the
 * zero of fresh memory means MOVABLE, what every block starts as: the table
 * (1 byte per 2 MiB, 12 KiB for 24 GiB) needs no writing at initialisation,
 * and only the bytes of blocks that change type become resident.
 */
static inline int get_pfnblock_migratetype(unsigned long pfn)
{
	return kmem_memory.pageblock_flags[pfn >> pageblock_order] ^ MIGRATE_MOVABLE;
}

static inline void set_pageblock_migratetype(unsigned long pfn, int migratetype)
{
	kmem_memory.pageblock_flags[pfn >> pageblock_order] =
		(unsigned char)(migratetype ^ MIGRATE_MOVABLE);
}

/* Per-CPU event counters: only the owner writes, so a plain add suffices. */
extern struct vm_event_state __percpu *vm_event_states;

static __always_inline void __count_vm_events(struct percpu_area *area, enum vm_event_item item,
					      unsigned long delta)
{
	_Atomic unsigned long *c = &__this_cpu_ptr(area, vm_event_states)->event[item];

	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + delta,
			      memory_order_relaxed);
}

void count_vm_events(enum vm_event_item item, unsigned long delta);
void all_vm_events(unsigned long *ret);

/* page_alloc.c */
int page_alloc_init(void);
void page_alloc_exit(void);
bool __free_one_page(struct page *page, unsigned long pfn, struct zone *zone, unsigned int order,
		     int migratetype, bool reported);
void del_page_from_free_list(struct page *page, struct zone *zone, unsigned int order);
bool deferred_grow_zone(struct zone *zone, int migratetype);
void setup_per_zone_wmarks(void);
unsigned long nr_free_pcp_pages(struct zone *zone);
void show_free_areas(void);
extern const char *const migratetype_names[MIGRATE_TYPES];
extern const char *const zone_names[MAX_NR_ZONES];

/* page_reporting.c */
void page_reporting_init_zone(struct zone *zone);
void page_reporting_notify_free(struct zone *zone, unsigned int order);
void page_reporting_notify_low(struct zone *zone, struct page *page, unsigned int order);
unsigned long page_reporting_process(bool force);
unsigned long zone_reported_pages(const struct zone *zone);
void page_reporting_kick(void);
bool page_reporting_pending(void);
void page_reporting_fork_prepare(void);
void page_reporting_fork_parent(void);
void page_reporting_fork_child(void);

/* slab_debug.c: KMEM_DEBUG, parsed before the first cache exists */
int slab_debug_setup(const char *str);

/* kfence.c: kswapd opens and closes the sampling gate; ns until it wants to run again */
uint64_t kfence_timer(void);

/* slab.c: what the layers below call back into */
void cache_reap(void);
bool slab_reap_wanted(void);
void slab_meminfo(unsigned long *reclaimable, unsigned long *unreclaimable);
void slab_fork_prepare(void);
void slab_fork_locks(void);
void slab_fork_parent(void);
void slab_fork_parent_mutex(void);
void slab_fork_child(void);

/* proc.c: the /proc renderer's output buffer */
struct seq_file {
	char *buf;
	size_t size;
	size_t count; /* the full length, even past size */
};

__printf(2, 3) void seq_printf(struct seq_file *m, const char *fmt, ...);

/* vmalloc.c */
int vmalloc_init(void);
void vmalloc_exit(void);
void vmallocinfo_show(struct seq_file *m);
void vmalloc_meminfo(unsigned long *total_kb, unsigned long *used_pages, unsigned long *chunk_kb);
int vmap_area_check_tree(void);

/* vmscan.c */
void wakeup_kswapd(struct zone *zone);
unsigned long try_to_free_pages(gfp_t gfp, unsigned int order);
void kswapd_stop(void);
void kswapd_reset(void);
void vmscan_fork_child(void);
/* The malloc replacement: thread starts wait for kswapd_run_deferred() at a safe point. */
void kswapd_defer_start(void);
extern atomic_bool kswapd_start_wanted;
/* Inline: the malloc fast path asks after every allocation. */
static inline bool kswapd_start_pending(void)
{
	return atomic_load_explicit(&kswapd_start_wanted, memory_order_relaxed);
}
void kswapd_run_deferred(void);

#endif /* KMEM_MM_INTERNAL_H */
