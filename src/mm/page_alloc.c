// SPDX-License-Identifier: MIT
/*
 * The buddy page allocator (mm/page_alloc.c).
 *
 * Each zone keeps free blocks of 2^order pages, order 0..MAX_PAGE_ORDER, in
 * free_area[order], one list per migratetype. A request takes the smallest
 * order that has a block and splits the rest down (expand); a free merges the
 * block with its buddy, the block at pfn ^ (1 << order), for as long as the
 * buddy is free and of the same order (__free_one_page).
 *
 * Invariants, each checked by check_zone_invariants():
 *   - a free block of order k starts at a pfn that is a multiple of 2^k:
 *     it is naturally aligned, whatever the node and zone boundaries;
 *   - its head has PG_buddy and private == k; no two free blocks overlap;
 *   - zone->free_pages == sum over k of free_area[k].nr_free << k
 *     (deferred blocks included); pages on per-CPU lists are not free;
 *   - a block never spans two zones.
 *
 * Anti-fragmentation: every pageblock (2^9 pages) has a migratetype. A
 * request of one type that finds its lists empty takes fresh memory first
 * (deferred blocks), then falls back to another type, stealing the whole
 * pageblock where the kernel would, so unmovable allocations do not scatter.
 *
 * Watermarks min/low/high per zone follow min_free_kbytes; GFP_KERNEL stops at
 * min, __GFP_HIGH may use half of the reserve below it and GFP_ATOMIC (which
 * cannot reclaim) a quarter more; lowmem_reserve keeps ZONE_DMA for those who
 * need it.
 *
 * Per-CPU lists: orders 0..PAGE_ALLOC_COSTLY_ORDER are served from the
 * calling thread's per_cpu_pages without the zone lock; they are refilled and
 * drained batch pages at a time.
 *
 * Lock order: this thread's per-CPU unit (get_cpu_area) -> zone->lock.
 */
#include <stdio.h>
#include <string.h>

#include "fault_inject.h"
#include "internal.h"
#include "kasan.h"
#include "platform/os.h"

const char *const migratetype_names[MIGRATE_TYPES] = {
	"Unmovable",
	"Movable",
	"Reclaimable",
};

const char *const zone_names[MAX_NR_ZONES] = { "DMA", "Normal" };

/* Where a request of each type looks when its own lists are empty. */
static const int fallbacks[MIGRATE_TYPES][MIGRATE_PCPTYPES - 1] = {
	[MIGRATE_UNMOVABLE] = { MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE },
	[MIGRATE_MOVABLE] = { MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE },
	[MIGRATE_RECLAIMABLE] = { MIGRATE_UNMOVABLE, MIGRATE_MOVABLE },
};

struct vm_event_state __percpu *vm_event_states;
static _Atomic unsigned long vm_events_dead[NR_VM_EVENT_ITEMS];

#define MAX_RECLAIM_RETRIES 16

struct alloc_context {
	struct zone **zonelist;
	enum zone_type highest_zoneidx;
	int migratetype;
};

/* ---------------------------------------------------------------- free lists */

static inline void set_buddy_order(struct page *page, unsigned int order)
{
	page->private = order;
	SetPageBuddy(page);
}

static inline unsigned int buddy_order(const struct page *page)
{
	return (unsigned int)page->private;
}

static inline void __add_to_free_list(struct page *page, struct zone *zone, unsigned int order,
				      int migratetype, bool tail)
{
	struct free_area *area = &zone->free_area[order];

	if (tail)
		list_add_tail(page_lru(page), &area->free_list[migratetype]);
	else
		list_add(page_lru(page), &area->free_list[migratetype]);
	WRITE_ONCE(area->nr_free, area->nr_free + 1); /* read locklessly by the watermark check */
	if (PageReported(page))
		area->nr_reported++;
}

void del_page_from_free_list(struct page *page, struct zone *zone, unsigned int order)
{
	struct free_area *area = &zone->free_area[order];

	list_del(page_lru(page));
	ClearPageBuddy(page);
	WRITE_ONCE(area->nr_free, area->nr_free - 1);
	if (PageReported(page))
		area->nr_reported--;
}

static inline void account_free(struct zone *zone, long nr_pages)
{
	atomic_fetch_add_explicit(&zone->free_pages, nr_pages, memory_order_relaxed);
}

static inline struct page *get_page_from_free_area(struct free_area *area, int migratetype)
{
	struct list_head *list = &area->free_list[migratetype];

	return list_empty(list) ? NULL : lru_to_page(list->next);
}

static inline bool page_is_buddy(struct zone *zone, struct page *buddy, unsigned long buddy_pfn,
				 unsigned int order)
{
	return zone_spans_pfn(zone, buddy_pfn) && PageBuddy(buddy) && buddy_order(buddy) == order;
}

/*
 * As in the kernel, buddies are found in absolute pfns, so every block is
 * naturally aligned whatever the node boundaries are (a node need not be
 * 4 MiB aligned: its edges just hold smaller blocks). Relative to the node
 * start, a block of a node that is not aligned would straddle two pageblocks
 * and be misaligned in memory. page_is_buddy() keeps merges inside the zone.
 */
static inline unsigned long find_buddy_pfn(const struct zone *zone, unsigned long pfn,
					   unsigned int order)
{
	return pfn ^ (1UL << order);
}

/*
 * Is [pfn, pfn + 2^order) already free, inside a larger free block? A double
 * free whose first free merged with its buddy leaves no mark on the page
 * itself; the enclosing block's head, at each larger alignment, tells.
 */
static bool page_in_free_block(struct zone *zone, unsigned long pfn, unsigned int order)
{
	for (unsigned int o = order; o < NR_PAGE_ORDERS; o++) {
		unsigned long head_pfn = ALIGN_DOWN(pfn, 1UL << o);
		struct page *head = __pfn_to_page(head_pfn);

		if (!zone_spans_pfn(zone, head_pfn))
			break;
		if (PageBuddy(head) && buddy_order(head) >= o)
			return true;
	}
	return false;
}

static void bad_page(struct page *page, const char *reason);

/*
 * Free a block of 2^order pages at @pfn, merging it with its buddy as long as
 * the buddy is free. A merged block is reported (its memory back with the OS)
 * only when every part was. zone->lock held.
 */
bool __free_one_page(struct page *page, unsigned long pfn, struct zone *zone, unsigned int order,
		     int migratetype, bool reported)
{
	if (unlikely(page_in_free_block(zone, pfn, order))) {
		bad_page(page, "double free: the page lies in a free block");
		return false;
	}
	account_free(zone, 1L << order);
	while (order < MAX_PAGE_ORDER) {
		unsigned long buddy_pfn = find_buddy_pfn(zone, pfn, order);
		struct page *buddy = page + (buddy_pfn - pfn);

		if (!page_is_buddy(zone, buddy, buddy_pfn, order))
			break;
		del_page_from_free_list(buddy, zone, order);
		reported = reported && PageReported(buddy);
		ClearPageReported(buddy);
		ClearPageReported(page);
		unsigned long combined_pfn = buddy_pfn & pfn;

		page += combined_pfn - pfn;
		pfn = combined_pfn;
		order++;
	}
	set_buddy_order(page, order);
	if (reported)
		SetPageReported(page);
	else
		ClearPageReported(page);
	/* Reported blocks go to the tail: hot, resident blocks are handed out first. */
	__add_to_free_list(page, zone, order, migratetype, reported);
	if (!reported && order >= pageblock_order) {
		page->index = os_now_ns() >> 20; /* ~ms: when it became free, for the reporter */
		page_reporting_notify_free(zone, order);
	} else if (!reported) {
		page_reporting_notify_low(zone, page, order);
	}
	return true;
}

/*
 * Split a block of 2^high pages down to 2^low: the upper halves go back on the
 * free lists (seed 001: 16K -> 8K + 8K -> 4K + 4K + 8K). zone->lock held.
 */
static inline void expand(struct zone *zone, struct page *page, unsigned int low, unsigned int high,
			  int migratetype, bool reported)
{
	unsigned long size = 1UL << high;

	while (high > low) {
		high--;
		size >>= 1;
		struct page *half = &page[size];

		set_buddy_order(half, high);
		if (reported)
			SetPageReported(half);
		else
			ClearPageReported(half);
		half->index = page->index;
		__add_to_free_list(half, zone, high, migratetype, reported);
	}
}

/* Take a block of exactly 2^order pages off the lists: the smallest that fits. */
static struct page *__rmqueue_smallest(struct zone *zone, unsigned int order, int migratetype)
{
	for (unsigned int current_order = order; current_order < NR_PAGE_ORDERS; current_order++) {
		struct page *page =
			get_page_from_free_area(&zone->free_area[current_order], migratetype);

		if (!page)
			continue;
		bool reported = PageReported(page);

		del_page_from_free_list(page, zone, current_order);
		expand(zone, page, order, current_order, migratetype, reported);
		account_free(zone, -(1L << order));
		return page;
	}
	return NULL;
}

/* ------------------------------------------------------- deferred page init */

bool deferred_grow_zone(struct zone *zone, int migratetype)
{
	unsigned long pfn = zone->deferred_pfn;
	struct free_area *area = &zone->free_area[MAX_PAGE_ORDER];

	if (pfn >= zone->deferred_end)
		return false;
	zone->deferred_pfn += MAX_ORDER_NR_PAGES;
	/* The block was counted free and reported all along; now it gets a descriptor. */
	WRITE_ONCE(area->nr_free, area->nr_free - 1);
	area->nr_reported--;
	for (unsigned long i = 0; i < MAX_ORDER_NR_PAGES; i += pageblock_nr_pages)
		set_pageblock_migratetype(pfn + i, migratetype);
	struct page *page = __pfn_to_page(pfn);

	set_buddy_order(page, MAX_PAGE_ORDER);
	SetPageReported(page);
	__add_to_free_list(page, zone, MAX_PAGE_ORDER, migratetype, true);
	return true;
}

/* --------------------------------------------------------------- fallback */

/* Move the free blocks of @pfn's pageblock to @migratetype's lists; returns pages moved. */
static unsigned long move_freepages_block(struct zone *zone, unsigned long pfn, int migratetype)
{
	unsigned long start = ALIGN_DOWN(pfn, pageblock_nr_pages), moved = 0;
	unsigned long end = min(start + pageblock_nr_pages, zone_end_pfn(zone));

	start = max(start, zone->zone_start_pfn);
	for (pfn = start; pfn < end;) {
		struct page *page = __pfn_to_page(pfn);

		if (!PageBuddy(page)) {
			pfn++;
			continue;
		}
		unsigned int order = buddy_order(page);

		struct list_head *list = &zone->free_area[order].free_list[migratetype];

		/* Keep reported blocks behind resident ones. */
		if (PageReported(page))
			list_move_tail(page_lru(page), list);
		else
			list_move(page_lru(page), list);
		pfn += 1UL << order;
		moved += 1UL << order;
	}
	return moved;
}

/* The kernel's rule: big requests and unmovable/reclaimable ones steal whole pageblocks. */
static bool can_steal_fallback(unsigned int order, int start_mt)
{
	return order >= pageblock_order / 2 || start_mt == MIGRATE_RECLAIMABLE ||
	       start_mt == MIGRATE_UNMOVABLE;
}

static void steal_suitable_fallback(struct zone *zone, struct page *page, unsigned int order,
				    int start_type)
{
	unsigned long pfn = __page_to_pfn(page);

	if (order >= pageblock_order) {
		/* A block of whole pageblocks changes type outright. */
		for (unsigned long i = 0; i < (1UL << order); i += pageblock_nr_pages)
			set_pageblock_migratetype(pfn + i, start_type);
		list_move(page_lru(page), &zone->free_area[order].free_list[start_type]);
		return;
	}
	/* Seed 002: the pageblock changes type when at least half of it moves. */
	unsigned long moved = move_freepages_block(zone, pfn, start_type);

	if (moved >= pageblock_nr_pages / 2)
		set_pageblock_migratetype(pfn, start_type);
}

static int find_suitable_fallback(struct free_area *area, int migratetype)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(fallbacks[0]); i++)
		if (!list_empty(&area->free_list[fallbacks[migratetype][i]]))
			return fallbacks[migratetype][i];
	return -1;
}

static struct page *__rmqueue_fallback(struct zone *zone, unsigned int order, int start_type)
{
	int current_order, fallback_mt;
	struct free_area *area;

	/* Steal the largest block of another type, to keep types in few pageblocks. */
	for (current_order = MAX_PAGE_ORDER; current_order >= (int)order; current_order--) {
		area = &zone->free_area[current_order];
		fallback_mt = find_suitable_fallback(area, start_type);
		if (fallback_mt < 0)
			continue;
		if (!can_steal_fallback(current_order, start_type))
			goto take_smallest;
		steal_suitable_fallback(zone, get_page_from_free_area(area, fallback_mt),
					current_order, start_type);
		return __rmqueue_smallest(zone, order, start_type);
	}
	return NULL;

take_smallest:
	/* Too small to steal a pageblock: borrow the smallest block, leaving its type alone. */
	for (current_order = order; current_order < NR_PAGE_ORDERS; current_order++) {
		area = &zone->free_area[current_order];
		fallback_mt = find_suitable_fallback(area, start_type);
		if (fallback_mt >= 0)
			return __rmqueue_smallest(zone, order, fallback_mt);
	}
	return NULL;
}

/* Take a block off the zone's lists for @migratetype. zone->lock held. */
static struct page *__rmqueue(struct zone *zone, unsigned int order, int migratetype)
{
	struct page *page = __rmqueue_smallest(zone, order, migratetype);

	if (likely(page))
		return page;
	if (deferred_grow_zone(zone, migratetype))
		return __rmqueue_smallest(zone, order, migratetype);
	return __rmqueue_fallback(zone, order, migratetype);
}

/* ------------------------------------------------------------ per-CPU lists */

static void pcp_init(struct zone *zone, struct per_cpu_pages *pcp)
{
	/* zone_batchsize(): about 1/1024 of the zone, at most 256 KiB, then 2^n - 1. */
	unsigned long batch = min(zone->managed_pages / 1024, (256UL << 10) / PAGE_SIZE);

	batch /= 4;
	batch = batch < 1 ? 1 : rounddown_pow_of_two(batch + batch / 2) - 1;
	pcp->batch = max((int)batch, 1);
	pcp->high = 6 * pcp->batch;
	for (int i = 0; i < NR_PCP_LISTS; i++)
		INIT_LIST_HEAD(&pcp->lists[i]);
}

static inline struct per_cpu_pages *zone_pcp(struct percpu_area *area, struct zone *zone)
{
	struct per_cpu_pages *pcp = __this_cpu_ptr(area, zone->per_cpu_pageset);

	if (unlikely(!pcp->high))
		pcp_init(zone, pcp);
	return pcp;
}

/* Move up to @count blocks onto a per-CPU list. Returns pages moved. */
static int rmqueue_bulk(struct zone *zone, unsigned int order, int count, struct list_head *list,
			int migratetype)
{
	int moved = 0;

	spin_lock(&zone->lock);
	for (int i = 0; i < count; i++) {
		struct page *page = __rmqueue(zone, order, migratetype);

		if (!page)
			break;
		page->private = order;
		SetPagePcp(page);
		list_add_tail(page_lru(page), list);
		moved += 1 << order;
	}
	spin_unlock(&zone->lock);
	return moved;
}

/* Give @count pages of the per-CPU lists back to the buddy lists, coldest first. */
static void free_pcppages_bulk(struct zone *zone, int count, struct per_cpu_pages *pcp)
{
	unsigned int pindex = 0;

	count = min(count, pcp->count);
	spin_lock(&zone->lock);
	while (count > 0) {
		struct list_head *list;

		do {
			pindex = (pindex + 1) % NR_PCP_LISTS;
			list = &pcp->lists[pindex];
		} while (list_empty(list));
		struct page *page = lru_to_page(list->prev);
		unsigned int order = (unsigned int)page->private;
		unsigned long pfn = __page_to_pfn(page);

		list_del(page_lru(page));
		ClearPagePcp(page);
		pcp->count -= 1 << order;
		count -= 1 << order;
		__free_one_page(page, pfn, zone, order, get_pfnblock_migratetype(pfn), false);
	}
	spin_unlock(&zone->lock);
}

static __always_inline struct page *rmqueue_pcplist(struct zone *zone, unsigned int order,
						    int migratetype)
{
	struct percpu_area *area = get_cpu_area();

	if (unlikely(!area))
		return NULL;
	struct per_cpu_pages *pcp = zone_pcp(area, zone);
	struct list_head *list = &pcp->lists[order_to_pindex(migratetype, order)];

	if (unlikely(list_empty(list))) {
		int batch = max(pcp->batch >> order, 2);
		/*
		 * Refill no further than high: the other lists may already hold
		 * nearly high pages, and an order-3 refill of a small zone's
		 * batch is two 8-page blocks. One block at least, the one we
		 * hand out, so the count never grows past high here.
		 */
		int room = (pcp->high - pcp->count) >> order;

		batch = clamp(room, 1, batch);
		pcp->count += rmqueue_bulk(zone, order, batch, list, migratetype);
		if (list_empty(list)) {
			put_cpu_area(area);
			return NULL;
		}
	}
	struct page *page = lru_to_page(list->next);

	list_del(page_lru(page));
	ClearPagePcp(page);
	pcp->count -= 1 << order;
	__count_vm_events(area, PGALLOC_DMA + zone->idx, 1UL << order);
	put_cpu_area(area);
	return page;
}

static struct page *rmqueue_buddy(struct zone *zone, unsigned int order, int migratetype,
				  unsigned int alloc_flags)
{
	spin_lock(&zone->lock);
	struct page *page = __rmqueue(zone, order, migratetype);

	spin_unlock(&zone->lock);
	if (page)
		count_vm_events(PGALLOC_DMA + zone->idx, 1UL << order);
	return page;
}

static inline struct page *rmqueue(struct zone *zone, unsigned int order, int migratetype,
				   unsigned int alloc_flags)
{
	/* A thread that found no per-CPU unit left takes its pages from the buddy lists. */
	if (likely(order <= PAGE_ALLOC_COSTLY_ORDER) && likely(this_cpu_area()))
		return rmqueue_pcplist(zone, order, migratetype);
	return rmqueue_buddy(zone, order, migratetype, alloc_flags);
}

static void free_unref_page(struct page *page, unsigned long pfn, unsigned int order)
{
	struct zone *zone = pfn_zone(pfn);
	struct percpu_area *area = get_cpu_area();

	if (unlikely(!area)) {
		spin_lock(&zone->lock);
		__free_one_page(page, pfn, zone, order, get_pfnblock_migratetype(pfn), false);
		spin_unlock(&zone->lock);
		return;
	}
	struct per_cpu_pages *pcp = zone_pcp(area, zone);
	int migratetype = get_pfnblock_migratetype(pfn);

	page->private = order;
	SetPagePcp(page);
	list_add(page_lru(page), &pcp->lists[order_to_pindex(migratetype, order)]);
	pcp->count += 1 << order;
	__count_vm_events(area, PGFREE, 1UL << order);
	if (unlikely(pcp->count >= pcp->high)) {
		/* A high-order free may overshoot high by more than a batch: trim it all. */
		free_pcppages_bulk(zone, max(pcp->batch, pcp->count - pcp->high + pcp->batch), pcp);
		put_cpu_area(area);
		page_reporting_kick();
		return;
	}
	put_cpu_area(area);
}

static void drain_pages_zone(struct percpu_area *area, struct zone *zone)
{
	struct per_cpu_pages *pcp = __this_cpu_ptr(area, zone->per_cpu_pageset);

	if (pcp->count)
		free_pcppages_bulk(zone, pcp->count, pcp);
}

static void drain_local_pages(struct percpu_area *area, void *info)
{
	struct zone *zone = info;

	if (zone) {
		drain_pages_zone(area, zone);
		return;
	}
	for_each_populated_zone(zone)
		drain_pages_zone(area, zone);
}

__export void drain_all_pages(struct zone *zone)
{
	if (atomic_load(&kmem_initialised))
		on_each_cpu(drain_local_pages, zone);
}

struct pcp_count {
	struct zone *zone;
	unsigned long pages;
};

static void count_pcp_pages(struct percpu_area *area, void *info)
{
	struct pcp_count *c = info;

	c->pages += (unsigned long)__this_cpu_ptr(area, c->zone->per_cpu_pageset)->count;
}

/* Pages on every thread's lists for @zone. Stops each thread briefly, as an IPI would. */
unsigned long nr_free_pcp_pages(struct zone *zone)
{
	struct pcp_count c = { zone, 0 };

	on_each_cpu(count_pcp_pages, &c);
	return c.pages;
}

/* A thread exits: its lists go back to the buddy lists, its counters to the totals. */
static void page_alloc_cpu_dead(struct percpu_area *area)
{
	drain_local_pages(area, NULL);
	struct vm_event_state *ev = __this_cpu_ptr(area, vm_event_states);

	for (int i = 0; i < NR_VM_EVENT_ITEMS; i++)
		atomic_fetch_add(&vm_events_dead[i], atomic_load(&ev->event[i]));
}

void count_vm_events(enum vm_event_item item, unsigned long delta)
{
	struct percpu_area *area = get_cpu_area();

	if (area) {
		__count_vm_events(area, item, delta);
		put_cpu_area(area);
	} else {
		atomic_fetch_add(&vm_events_dead[item], delta);
	}
}

void all_vm_events(unsigned long *ret)
{
	int cpu;

	for (int i = 0; i < NR_VM_EVENT_ITEMS; i++)
		ret[i] = atomic_load(&vm_events_dead[i]);
	for_each_online_cpu(cpu) {
		struct vm_event_state *ev = per_cpu_ptr(vm_event_states, cpu);

		for (int i = 0; i < NR_VM_EVENT_ITEMS; i++)
			ret[i] += atomic_load_explicit(&ev->event[i], memory_order_relaxed);
	}
}

/* ------------------------------------------------------------- watermarks */

static bool __zone_watermark_ok(struct zone *z, unsigned int order, unsigned long mark,
				int highest_zoneidx, unsigned int alloc_flags, long free_pages)
{
	long min = (long)mark;

	free_pages -= (1L << order) - 1;
	if (alloc_flags & ALLOC_MIN_RESERVE) {
		min -= min / 2;
		if (alloc_flags & ALLOC_NON_BLOCK)
			min -= min / 4;
	}
	if (free_pages <= min + z->lowmem_reserve[highest_zoneidx])
		return false;
	if (!order)
		return true;
	/* Enough pages, but is there a block big enough? */
	for (unsigned int o = order; o < NR_PAGE_ORDERS; o++) {
		struct free_area *area = &z->free_area[o];

		/* Without zone->lock, as in the kernel: a hint that may be stale at once. */
		if (READ_ONCE(area->nr_free))
			return true;
	}
	return false;
}

static inline bool zone_watermark_fast(struct zone *z, unsigned int order, unsigned long mark,
				       int highest_zoneidx, unsigned int alloc_flags)
{
	long free_pages = (long)zone_page_state_free(z);

	/* The common case, cheaply: an order-0 request well above the mark. */
	if (!order && free_pages > (long)mark + z->lowmem_reserve[highest_zoneidx])
		return true;
	return __zone_watermark_ok(z, order, mark, highest_zoneidx, alloc_flags, free_pages);
}

/*
 * min_free_kbytes = sqrt(lowmem_kbytes * 16), 128 KiB .. 256 MiB, shared among
 * zones by size; low and high sit 1/4 and 1/2 of min above it, or
 * watermark_scale_factor (0.1%) of the zone if that is more.
 */
void setup_per_zone_wmarks(void)
{
	unsigned long lowmem_pages = 0, pages_min;
	struct zone *zone;

	for_each_zone(zone)
		lowmem_pages += zone->managed_pages;
	if (!kmem_memory.min_free_kbytes)
		kmem_memory.min_free_kbytes =
			clamp(int_sqrt(lowmem_pages * (PAGE_SIZE >> 10) * 16), 128UL, 262144UL);
	pages_min = kmem_memory.min_free_kbytes >> (PAGE_SHIFT - 10);
	for_each_zone(zone) {
		unsigned long tmp = lowmem_pages ? pages_min * zone->managed_pages / lowmem_pages :
						   0;
		unsigned long delta = max(tmp >> 2, zone->managed_pages * 10 / 10000);

		zone->_watermark[WMARK_MIN] = tmp;
		zone->_watermark[WMARK_LOW] = tmp + delta;
		zone->_watermark[WMARK_HIGH] = tmp + 2 * delta;
	}
}

/* sysctl_lowmem_reserve_ratio: ZONE_DMA keeps 1/256 of the larger zones above it in reserve. */
static void setup_per_zone_lowmem_reserve(void)
{
	int nid;

	for_each_online_node(nid) {
		struct zone *dma = &NODE_DATA(nid)->node_zones[ZONE_DMA];
		struct zone *normal = &NODE_DATA(nid)->node_zones[ZONE_NORMAL];

		dma->lowmem_reserve[ZONE_DMA] = 0;
		dma->lowmem_reserve[ZONE_NORMAL] =
			populated_zone(dma) ? (long)(normal->managed_pages / 256) : 0;
		normal->lowmem_reserve[ZONE_DMA] = 0;
		normal->lowmem_reserve[ZONE_NORMAL] = 0;
	}
}

/* ------------------------------------------------------- allocation proper */

static inline enum zone_type gfp_zone(gfp_t gfp)
{
	return (gfp & __GFP_DMA) ? ZONE_DMA : ZONE_NORMAL;
}

static inline int gfp_migratetype(gfp_t gfp)
{
	if (gfp & __GFP_MOVABLE)
		return MIGRATE_MOVABLE;
	if (gfp & __GFP_RECLAIMABLE)
		return MIGRATE_RECLAIMABLE;
	return MIGRATE_UNMOVABLE;
}

static void prep_compound_page(struct page *page, unsigned int order)
{
	unsigned long nr = 1UL << order;

	SetPageHead(page);
	for (unsigned long i = 1; i < nr; i++)
		page[i].compound_head = (unsigned long)page | 1;
	page[1].compound_order = order;
}

static __always_inline void prep_new_page(struct page *page, unsigned int order, gfp_t gfp)
{
	/*
	 * Its memory came back from the OS as zeroes. Not so with a caller's
	 * buffer (embedded use): its blocks start out "reported" but hold
	 * whatever the caller left there.
	 */
	bool zeroed = PageReported(page) && !kmem_memory.external;

	WRITE_ONCE(page->flags, 0); /* a buddy's free may be testing PG_buddy: see PAGEFLAG */
	page->compound_head = 0;
	page->private = 0;
	page->_refcount = 1;
	kasan_alloc_pages(page, order);
	if ((gfp & __GFP_ZERO) && !zeroed)
		memset(__page_address(page), 0, PAGE_SIZE << order);
	if (order && (gfp & __GFP_COMP))
		prep_compound_page(page, order);
}

static __always_inline struct page *get_page_from_freelist(gfp_t gfp, unsigned int order,
							   unsigned int alloc_flags,
							   const struct alloc_context *ac)
{
	for (struct zone **z = ac->zonelist; *z; z++) {
		struct zone *zone = *z;

		if (!(alloc_flags & ALLOC_NO_WATERMARKS)) {
			unsigned long mark = wmark_pages(zone, alloc_flags & ALLOC_WMARK_MASK);

			if (!zone_watermark_fast(zone, order, mark, ac->highest_zoneidx,
						 alloc_flags))
				continue;
		}
		struct page *page = rmqueue(zone, order, ac->migratetype, alloc_flags);

		if (page) {
			prep_new_page(page, order, gfp);
			return page;
		}
	}
	return NULL;
}

static unsigned int gfp_to_alloc_flags(gfp_t gfp)
{
	unsigned int alloc_flags = ALLOC_WMARK_MIN;

	alloc_flags |= gfp & __GFP_HIGH; /* ALLOC_MIN_RESERVE */
	if (!(gfp & __GFP_DIRECT_RECLAIM) && !(gfp & __GFP_NOMEMALLOC))
		alloc_flags |= ALLOC_NON_BLOCK;
	if (gfp & __GFP_KSWAPD_RECLAIM)
		alloc_flags |= ALLOC_KSWAPD;
	/* The kernel's __gfp_pfmemalloc_flags(): the whole reserve, for whoever frees memory. */
	if ((gfp & __GFP_MEMALLOC) && !(gfp & __GFP_NOMEMALLOC))
		alloc_flags |= ALLOC_NO_WATERMARKS;
	return alloc_flags;
}

static int gfp_flag_names(gfp_t gfp, char *buf, size_t size)
{
	static const struct {
		gfp_t mask;
		const char *name;
	} names[] = {
		{ GFP_KERNEL, "GFP_KERNEL" },
		{ GFP_ATOMIC, "GFP_ATOMIC" },
		{ GFP_NOWAIT, "GFP_NOWAIT" },
		{ __GFP_DMA, "__GFP_DMA" },
		{ __GFP_MOVABLE, "__GFP_MOVABLE" },
		{ __GFP_RECLAIMABLE, "__GFP_RECLAIMABLE" },
		{ __GFP_HIGH, "__GFP_HIGH" },
		{ __GFP_IO, "__GFP_IO" },
		{ __GFP_FS, "__GFP_FS" },
		{ __GFP_ZERO, "__GFP_ZERO" },
		{ __GFP_DIRECT_RECLAIM, "__GFP_DIRECT_RECLAIM" },
		{ __GFP_KSWAPD_RECLAIM, "__GFP_KSWAPD_RECLAIM" },
		{ __GFP_NOWARN, "__GFP_NOWARN" },
		{ __GFP_NOFAIL, "__GFP_NOFAIL" },
		{ __GFP_NORETRY, "__GFP_NORETRY" },
		{ __GFP_COMP, "__GFP_COMP" },
		{ __GFP_THISNODE, "__GFP_THISNODE" },
	};
	int len = 0;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if ((gfp & names[i].mask) != names[i].mask)
			continue;
		len += snprintf(buf + len, size > (size_t)len ? size - len : 0, "%s%s",
				len ? "|" : "", names[i].name);
		gfp &= ~names[i].mask;
	}
	return len;
}

/* The kernel's rate limit for warnings: 10 per 5 seconds. */
static bool warn_ratelimit(void)
{
	static atomic_ulong window_start, printed;
	uint64_t now = os_now_ns() >> 30;

	if (atomic_exchange(&window_start, now) / 5 != now / 5)
		atomic_store(&printed, 0);
	return atomic_fetch_add(&printed, 1) < 10;
}

static void warn_alloc(gfp_t gfp, unsigned int order, const char *why)
{
	char names[256] = "";

	if ((gfp & __GFP_NOWARN) || !warn_ratelimit())
		return;
	gfp_flag_names(gfp, names, sizeof(names));
	pr_warn("%s: page allocation failure: order:%u, mode:%#x(%s), nodemask=(null)%s\n",
		os_comm(), order, gfp, names, why);
	show_free_areas();
}

static struct page *__alloc_pages_slowpath(gfp_t gfp, unsigned int order,
					   const struct alloc_context *ac)
{
	unsigned int alloc_flags = gfp_to_alloc_flags(gfp);
	bool drained = false;
	int no_progress_loops = 0;
	struct page *page;

	if (alloc_flags & ALLOC_KSWAPD)
		wakeup_kswapd(ac->zonelist[0]);
retry:
	page = get_page_from_freelist(gfp, order, alloc_flags, ac);
	if (page)
		return page;
	if (!(gfp & __GFP_DIRECT_RECLAIM)) {
		/* Atomic callers may still find pages parked on per-CPU lists. */
		if (!drained) {
			drained = true;
			drain_all_pages(NULL);
			goto retry;
		}
		goto nopage;
	}
	/* Direct reclaim: run the shrinkers ourselves, then drain the per-CPU lists. */
	count_vm_events(ALLOCSTALL_DMA + ac->highest_zoneidx, 1);
	unsigned long progress = try_to_free_pages(gfp, order);

	page = get_page_from_freelist(gfp, order, alloc_flags, ac);
	if (page)
		return page;
	if (!drained) {
		drained = true;
		drain_all_pages(NULL);
		goto retry;
	}
	if (gfp & __GFP_NORETRY)
		goto nopage;
	if (progress && ++no_progress_loops < MAX_RECLAIM_RETRIES)
		goto retry;
nopage:
	if (gfp & __GFP_NOFAIL) {
		/* Never NULL: wait for someone to free memory, as the kernel's retry loop does. */
		WARN_ON_ONCE(order > PAGE_ALLOC_COSTLY_ORDER,
			     "__GFP_NOFAIL allocation of order %u may never succeed\n", order);
		os_sleep_ns(1000000);
		drained = false;
		goto retry;
	}
	count_vm_events(PGALLOC_FAIL, 1);
	warn_alloc(gfp, order, "");
	return NULL;
}

static struct page *__alloc_pages(gfp_t gfp, unsigned int order, int preferred_nid)
{
	if (unlikely(order > MAX_PAGE_ORDER)) {
		if (!(gfp & __GFP_NOWARN))
			pr_warn("%s: page allocation of order %u refused: MAX_PAGE_ORDER is %d\n",
				os_comm(), order, MAX_PAGE_ORDER);
		return NULL;
	}
	if (unlikely(!kmem_ready()))
		return NULL;
	if (should_fail_alloc_page(gfp, order))
		return NULL;
	if (unlikely(preferred_nid < 0 || preferred_nid >= kmem_memory.nr_nodes)) {
		pr_err("alloc_pages_node: node %d does not exist (nodes 0..%d)\n", preferred_nid,
		       kmem_memory.nr_nodes - 1);
		return NULL;
	}
	struct alloc_context ac = {
		.highest_zoneidx = gfp_zone(gfp),
		.migratetype = gfp_migratetype(gfp),
	};

	ac.zonelist = NODE_DATA(preferred_nid)->node_zonelists[ac.highest_zoneidx];
	if (gfp & __GFP_THISNODE) {
		/* Only this node's zones: the list is node-ordered, so cut it at the first other. */
		static __thread struct zone *local[MAX_NR_ZONES + 1];
		int n = 0;

		for (struct zone **z = ac.zonelist; *z; z++)
			if ((*z)->node == preferred_nid)
				local[n++] = *z;
		local[n] = NULL;
		ac.zonelist = local;
	}
	struct page *page = get_page_from_freelist(gfp, order, ALLOC_WMARK_LOW, &ac);

	if (likely(page))
		return page;
	return __alloc_pages_slowpath(gfp, order, &ac);
}

__fastpath __export struct page *alloc_pages(gfp_t gfp_mask, unsigned int order)
{
	return __alloc_pages(gfp_mask, order, numa_node_id());
}

__export struct page *alloc_pages_node(int nid, gfp_t gfp_mask, unsigned int order)
{
	if (nid == -1) /* NUMA_NO_NODE */
		nid = numa_node_id();
	return __alloc_pages(gfp_mask, order, nid);
}

__export unsigned long __get_free_pages(gfp_t gfp_mask, unsigned int order)
{
	struct page *page = alloc_pages(gfp_mask, order);

	return page ? (unsigned long)__page_address(page) : 0;
}

__export unsigned long get_zeroed_page(gfp_t gfp_mask)
{
	return __get_free_pages(gfp_mask | __GFP_ZERO, 0);
}

/* ------------------------------------------------------------------ freeing */

static void bad_page(struct page *page, const char *reason)
{
	kmem_bug("BUG: Bad page state in process %s: %s\n"
		 "page: %p pfn:%#lx addr:%p flags:%#lx order:%lu\n"
		 "The page is left as it was; nothing was freed.\n",
		 os_comm(), reason, (void *)page, __page_to_pfn(page), __page_address(page),
		 page->flags, page->private);
}

/* Checks of the kernel's free_pages_prepare(): true when the page may be freed. */
static bool free_pages_prepare(struct page *page, unsigned int order)
{
	if (unlikely(page->flags & PAGE_FLAGS_CHECK_AT_FREE)) {
		if (PageBuddy(page) || PagePcp(page))
			bad_page(page, "double free: the page is already free");
		else if (PageSlab(page))
			bad_page(page, "freeing a slab page with __free_pages");
		else
			bad_page(page, "freeing a reserved page");
		return false;
	}
	if (unlikely(PageTail(page))) {
		bad_page(page, "freeing a tail page of a compound allocation");
		return false;
	}
	/*
	 * The kernel's page refcount: 1 from prep_new_page() until here, 0
	 * while free. A page whose first free merged it into a larger free
	 * block carries no other mark, and an order-0..3 free goes to a
	 * per-CPU list without looking at the buddy lists; without this check
	 * the second free would put the page on that list, to be handed out
	 * while it is also free inside the block. It also catches a free of a
	 * page never handed out (descriptors start zeroed).
	 */
	if (unlikely(!page->_refcount)) {
		bad_page(page, "double free: the page is already free (refcount 0)");
		return false;
	}
	if (PageHead(page)) {
		if (unlikely(compound_order(page) != order)) {
			bad_page(page, "freed with an order other than its compound order");
			return false;
		}
		for (unsigned long i = 1; i < (1UL << order); i++)
			page[i].compound_head = 0;
		page[1].compound_order = 0;
	}
	WRITE_ONCE(page->flags, 0); /* a buddy's free may be testing PG_buddy: see PAGEFLAG */
	page->_refcount = 0;
	kasan_free_pages(page, order);
	return true;
}

__fastpath __export void __free_pages(struct page *page, unsigned int order)
{
	unsigned long pfn = (uintptr_t)(page - kmem_memory.mem_map);

	if (unlikely(!atomic_load_explicit(&kmem_initialised, memory_order_relaxed) || !page ||
		     pfn >= kmem_memory.max_pfn ||
		     (uintptr_t)page % __alignof__(struct page) != 0 ||
		     ((uintptr_t)page - (uintptr_t)kmem_memory.mem_map) % sizeof(struct page))) {
		kmem_bug("BUG: __free_pages: %p is not a page descriptor of kmem's (order %u); "
			 "ignored\n",
			 (void *)page, order);
		return;
	}
	if (unlikely(order > MAX_PAGE_ORDER || pfn + (1UL << order) > kmem_memory.max_pfn)) {
		kmem_bug("BUG: __free_pages: order %u is invalid for pfn %#lx; ignored\n", order,
			 pfn);
		return;
	}
	if (unlikely(!free_pages_prepare(page, order)))
		return;
	if (likely(order <= PAGE_ALLOC_COSTLY_ORDER)) {
		free_unref_page(page, pfn, order);
		return;
	}
	struct zone *zone = pfn_zone(pfn);

	spin_lock(&zone->lock);
	bool freed = __free_one_page(page, pfn, zone, order, get_pfnblock_migratetype(pfn), false);

	spin_unlock(&zone->lock);
	if (freed)
		count_vm_events(PGFREE, 1UL << order);
	page_reporting_kick();
}

__export void free_pages(unsigned long addr, unsigned int order)
{
	/* As in the kernel, free_pages(0, order) does nothing: cleanup paths rely on it. */
	if (!addr)
		return;
	if (unlikely(!atomic_load(&kmem_initialised) || !kmem_addr_valid((void *)addr) ||
		     !IS_ALIGNED(addr, PAGE_SIZE))) {
		kmem_bug("BUG: free_pages: %#lx is not the address of a kmem page (order %u); "
			 "ignored\n",
			 addr, order);
		return;
	}
	__free_pages(__virt_to_page((void *)addr), order);
}

/* ------------------------------------------------------------- conversions */

__export void *page_address(const struct page *page)
{
	return __page_address(page);
}

__export struct page *virt_to_page(const void *addr)
{
	return __virt_to_page(addr);
}

__export unsigned long page_to_pfn(const struct page *page)
{
	return __page_to_pfn(page);
}

__export struct page *pfn_to_page(unsigned long pfn)
{
	return __pfn_to_page(pfn);
}

__export int page_to_nid(const struct page *page)
{
	return pfn_to_nid(__page_to_pfn(page));
}

__export int virt_addr_valid(const void *addr)
{
	return atomic_load(&kmem_initialised) && kmem_addr_valid(addr);
}

/* ------------------------------------------------------------ diagnostics */

void show_free_areas(void)
{
	struct zone *zone;

	for_each_populated_zone(zone) {
		char line[PRINTK_BUF];
		unsigned long total = 0;
		int len;

		pr_warn("Node %d %s free:%lukB min:%lukB low:%lukB high:%lukB managed:%lukB "
			"free_pcp:%lukB\n",
			zone->node, zone->name, zone_page_state_free(zone) << (PAGE_SHIFT - 10),
			wmark_pages(zone, WMARK_MIN) << (PAGE_SHIFT - 10),
			wmark_pages(zone, WMARK_LOW) << (PAGE_SHIFT - 10),
			wmark_pages(zone, WMARK_HIGH) << (PAGE_SHIFT - 10),
			zone->managed_pages << (PAGE_SHIFT - 10),
			nr_free_pcp_pages(zone) << (PAGE_SHIFT - 10));
		len = snprintf(line, sizeof(line), "Node %d %s: ", zone->node, zone->name);
		for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++) {
			unsigned long nr = READ_ONCE(zone->free_area[o].nr_free);

			total += nr << o;
			len += snprintf(line + len, sizeof(line) - len, "%lu*%lukB ", nr,
					(PAGE_SIZE >> 10) << o);
		}
		snprintf(line + len, sizeof(line) - len, "= %lukB", total << (PAGE_SHIFT - 10));
		pr_warn("%s\n", line);
	}
}

/* ------------------------------------------------------------- set-up */

int page_alloc_init(void)
{
	struct zone *zone;

	vm_event_states = alloc_percpu(struct vm_event_state);
	if (!vm_event_states)
		return -12;
	for_each_zone(zone) {
		zone->per_cpu_pageset = alloc_percpu(struct per_cpu_pages);
		if (!zone->per_cpu_pageset)
			return -12;
	}
	memset((void *)vm_events_dead, 0, sizeof(vm_events_dead));
	setup_per_zone_wmarks();
	setup_per_zone_lowmem_reserve();
	pcpu_register_cpu_dead(page_alloc_cpu_dead);
	return 0;
}
