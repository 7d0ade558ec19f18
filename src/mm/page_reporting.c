// SPDX-License-Identifier: MIT
/*
 * Free page reporting (mm/page_reporting.c): giving free memory back to the OS.
 *
 * In the kernel a balloon driver tells the hypervisor which free blocks it may
 * take back; here the "hypervisor" is the OS and the report is
 * madvise(MADV_DONTNEED). A block of pageblock order or more that stays free
 * is taken off its free list, discarded outside the zone lock, and put back
 * with PG_reported, at the tail of its list so resident blocks are used first.
 * Its memory reads as zero afterwards, so __GFP_ZERO costs nothing on it.
 *
 * Lazily, with hysteresis: re-faulting a discarded page costs about 14 us on
 * this kind of machine, so only blocks free for at least reporting_delay (2 s)
 * are reported, by the background thread (vmscan.c), unless the unreported
 * free memory in such blocks passes report_high, in which case it is brought
 * down to report_low at once, oldest first.
 *
 * Blocks below pageblock order are reported too, but only aged and only
 * once a zone holds more than 16 MiB of them unreported (then all of that
 * backlog goes, as it ages: see low_order_drain()): after
 * a program's peak, the few pages still in use (a long-lived minority, slab
 * descriptors) pin most 2 MiB blocks, so the memory freed around them never
 * merges to pageblock order (the kernel's page_reporting_order knob, set
 * low). Their free time is a pass number, not a clock reading, so that
 * __free_one_page stays free of clock calls: see reporting_stamp().
 */
#include "internal.h"
#include "platform/os.h"

#define REPORTING_BATCH 16
/* Low-order blocks are looked at only beyond this many unreported pages (16 MiB) in them. */
#define REPORT_LOW_BACKLOG ((16UL << 20) >> PAGE_SHIFT)

struct reported_block {
	struct page *page;
	unsigned int order;
	int migratetype;
};

static atomic_bool reporting_kick;

/*
 * Low-order blocks are stamped with the reporter's pass number (with
 * STAMP_PASS set, to tell them from the clock readings of pageblock-order
 * blocks, whose split halves keep them); pass_ms[] keeps when recent passes
 * began. A block stamped p was freed before pass p + 1 began.
 */
#define STAMP_PASS (~0UL ^ (~0UL >> 1))
#define PASS_HISTORY 16
static _Atomic unsigned long reporting_pass;
static unsigned long pass_ms[PASS_HISTORY]; /* under reporting_lock */

/*
 * A block below pageblock order became free: its stamp (no clock call on
 * this path), and the reporter woken once enough was freed since its last
 * pass to make a backlog possible. zone->lock held.
 */
void page_reporting_notify_low(struct zone *zone, struct page *page, unsigned int order)
{
	page->index = STAMP_PASS | atomic_load_explicit(&reporting_pass, memory_order_relaxed);
	if (!kmem_memory.reporting)
		return;
	zone->low_freed += 1UL << order;
	if (zone->low_freed > REPORT_LOW_BACKLOG &&
	    !atomic_exchange_explicit(&zone->report_pending, true, memory_order_relaxed))
		atomic_store_explicit(&reporting_kick, true, memory_order_relaxed);
}

/* A free block's stamp says it has been free for at least reporting_delay. */
static bool block_aged(unsigned long stamp, unsigned long now_ms, unsigned long delay_ms)
{
	unsigned long pass = atomic_load_explicit(&reporting_pass, memory_order_relaxed);

	if (!(stamp & STAMP_PASS))
		return now_ms - stamp >= delay_ms;
	stamp &= ~STAMP_PASS;
	if (pass - stamp >= PASS_HISTORY)
		return true;
	return pass > stamp && now_ms - pass_ms[(stamp + 1) % PASS_HISTORY] >= delay_ms;
}

/*
 * Held across each pass, from taking blocks off the lists until they are back
 * on them (page_reporting_mutex in the kernel). While a batch is off the
 * lists its pages are neither free nor allocated, so: a forced pass
 * (kmem_release_free_memory) waits for the background one, and returns only
 * when every free block has been discarded; and fork waits for it too, or the
 * child, where the reporting thread does not exist, would lose the batch.
 * Lock order: reporting_lock -> per-CPU unit -> zone->lock.
 */
static DEFINE_SPINLOCK(reporting_lock);

void page_reporting_init_zone(struct zone *zone)
{
	zone->report_high = max((16UL << 20) >> PAGE_SHIFT, zone->managed_pages / 32);
	zone->report_low = zone->report_high / 2;
}

unsigned long zone_reported_pages(const struct zone *zone)
{
	unsigned long pages = 0;

	for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++)
		pages += zone->free_area[o].nr_reported << o;
	return pages;
}

/* Free pages in blocks the reporter would take that are still resident. zone->lock held. */
static unsigned long unreported_pages(const struct zone *zone)
{
	unsigned long pages = 0;

	for (unsigned int o = pageblock_order; o < NR_PAGE_ORDERS; o++)
		pages += (zone->free_area[o].nr_free - zone->free_area[o].nr_reported) << o;
	return pages;
}

/* Free pages below pageblock order not yet reported. zone->lock held. */
static unsigned long unreported_low_pages(const struct zone *zone)
{
	unsigned long pages = 0;

	for (unsigned int o = 0; o < pageblock_order; o++)
		pages += (zone->free_area[o].nr_free - zone->free_area[o].nr_reported) << o;
	return pages;
}

/* A block of pageblock order or more became free. zone->lock held: only flags here. */
void page_reporting_notify_free(struct zone *zone, unsigned int order)
{
	if (!kmem_memory.reporting)
		return;
	/*
	 * Wake the reporter only to start its delay, or when free memory passed
	 * the high-water mark: a block churned at this order wakes nobody.
	 */
	bool was_pending =
		atomic_exchange_explicit(&zone->report_pending, true, memory_order_relaxed);

	if (!was_pending || unreported_pages(zone) > zone->report_high)
		atomic_store_explicit(&reporting_kick, true, memory_order_relaxed);
}

/* Called with no lock held and outside any per-CPU section: wake the reporter if needed. */
void page_reporting_kick(void)
{
	if (atomic_exchange_explicit(&reporting_kick, false, memory_order_relaxed))
		wakeup_kswapd(NULL);
}

/* Take up to REPORTING_BATCH blocks to report off the lists. zone->lock held. */
static int isolate_blocks(struct zone *zone, struct reported_block *batch, bool force,
			  bool low_orders)
{
	unsigned long now_ms = os_now_ns() >> 20;
	unsigned long delay_ms = kmem_memory.reporting_delay_ns >> 20;
	unsigned long unreported = unreported_pages(zone);
	bool pressure = unreported > zone->report_high;
	int n = 0;

	/* Below pageblock order: aged blocks only, and only with a backlog (see the top). */
	int low = force || low_orders ? 0 : pageblock_order;

	for (int o = MAX_PAGE_ORDER; o >= low && n < REPORTING_BATCH; o--) {
		for (int mt = 0; mt < MIGRATE_TYPES && n < REPORTING_BATCH; mt++) {
			struct list_head *list = &zone->free_area[o].free_list[mt];
			struct page *page, *next;

			/* Oldest first: free blocks are added at the head. */
			for (page = lru_to_page(list->prev), next = lru_to_page(page->lru.prev);
			     page_lru(page) != list;
			     page = next, next = lru_to_page(next->lru.prev)) {
				if (PageReported(page))
					continue;
				bool aged = block_aged(page->index, now_ms, delay_ms);

				if (o < (int)pageblock_order && !force && !aged)
					break; /* the rest of the list is younger */
				if (!force && !aged && !(pressure && unreported > zone->report_low))
					continue;
				del_page_from_free_list(page, zone, o);
				atomic_fetch_sub_explicit(&zone->free_pages, 1L << o,
							  memory_order_relaxed);
				if (o >= (int)pageblock_order)
					unreported -= 1UL << o;
				batch[n++] = (struct reported_block){ page, (unsigned int)o, mt };
				if (n == REPORTING_BATCH)
					break;
			}
		}
	}
	return n;
}

/*
 * A backlog of low-order blocks seen at the start of pass @pass: every one of
 * them goes, not just the excess, including those not yet aged. So the zone
 * keeps looking at low orders until a pass in which a block freed before the
 * next pass began counts as aged; otherwise what had not aged by the first
 * pass would stay resident whenever it alone was under the backlog, which
 * depends only on how the frees fell between passes. Returns whether low
 * orders are looked at in this pass; *@last says it is the draining's last.
 * zone->lock held.
 */
static bool low_order_drain(struct zone *zone, unsigned long pass, bool *last)
{
	if (unreported_low_pages(zone) > REPORT_LOW_BACKLOG)
		zone->low_drain = STAMP_PASS | pass;
	*last = zone->low_drain && block_aged(zone->low_drain, os_now_ns() >> 20,
					      kmem_memory.reporting_delay_ns >> 20);
	return zone->low_drain;
}

static unsigned long report_zone(struct zone *zone, unsigned long pass, bool force)
{
	struct reported_block batch[REPORTING_BATCH];
	unsigned long reported = 0;
	bool drained;
	int n;

	spin_lock(&zone->lock);
	bool low_orders = low_order_drain(zone, pass, &drained);

	spin_unlock(&zone->lock);
	do {
		spin_lock(&zone->lock);
		n = isolate_blocks(zone, batch, force, low_orders);
		spin_unlock(&zone->lock);
		for (int i = 0; i < n; i++)
			os_discard(__page_address(batch[i].page), PAGE_SIZE << batch[i].order);
		spin_lock(&zone->lock);
		for (int i = 0; i < n; i++) {
			struct page *page = batch[i].page;

			__free_one_page(page, __page_to_pfn(page), zone, batch[i].order,
					batch[i].migratetype, true);
			reported += 1UL << batch[i].order;
		}
		if (!n) {
			zone->low_freed = 0;
			if (drained)
				zone->low_drain = 0;
			atomic_store(&zone->report_pending,
				     unreported_pages(zone) != 0 || zone->low_drain ||
					     unreported_low_pages(zone) > REPORT_LOW_BACKLOG);
		}
		spin_unlock(&zone->lock);
	} while (n == REPORTING_BATCH);
	return reported;
}

/* Report what is due in every zone (everything when @force). Returns pages reported. */
unsigned long page_reporting_process(bool force)
{
	unsigned long reported = 0;
	struct zone *zone;

	if (!kmem_memory.reporting || !atomic_load(&kmem_initialised))
		return 0;
	spin_lock(&reporting_lock);
	/* A new pass: blocks freed from now on are stamped with its number. */
	unsigned long pass = atomic_load_explicit(&reporting_pass, memory_order_relaxed) + 1;

	pass_ms[pass % PASS_HISTORY] = os_now_ns() >> 20;
	atomic_store_explicit(&reporting_pass, pass, memory_order_relaxed);
	for_each_populated_zone(zone)
		if (force || atomic_load(&zone->report_pending))
			reported += report_zone(zone, pass, force);
	spin_unlock(&reporting_lock);
	if (reported)
		count_vm_events(PGREPORTED, reported);
	return reported;
}

/* Fork: no batch may be off the lists while the address space is copied. */
void page_reporting_fork_prepare(void)
{
	spin_lock(&reporting_lock);
}

void page_reporting_fork_parent(void)
{
	spin_unlock(&reporting_lock);
}

void page_reporting_fork_child(void)
{
	spin_lock_init(&reporting_lock);
}

bool page_reporting_pending(void)
{
	struct zone *zone;

	for_each_populated_zone(zone)
		if (atomic_load(&zone->report_pending))
			return true;
	return false;
}

__export size_t kmem_release_free_memory(void)
{
	if (!atomic_load(&kmem_initialised))
		return 0;
	drain_all_pages(NULL);
	return page_reporting_process(true) << PAGE_SHIFT;
}
