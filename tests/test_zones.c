// SPDX-License-Identifier: MIT
/*
 * Zones, nodes, watermarks and migratetypes: which memory a request may get.
 *
 * A 64 MiB arena, one node: ZONE_DMA is the first 16 MiB (pfns [0, 4096)),
 * ZONE_NORMAL the rest. min_free_kbytes = sqrt(64 MiB in kB * 16) = 1024 kB
 * = 256 pages, shared by size: DMA min 64 pages, Normal min 192, and DMA
 * keeps 1/256 of Normal (48 pages) back from Normal requests (lowmem_reserve).
 * The tests read the numbers from the zones rather than trusting this sum.
 */
#include "page_test.h"

#define ARENA_SIZE (64UL << 20)
#define MAX_PAGES (ARENA_SIZE / PAGE_SIZE)

static void setup(void)
{
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = ARENA_SIZE, .no_reporting = 1 }),
		     0);
}

static void teardown(void)
{
	kmem_exit();
}

TestSuite(zones, .init = setup, .fini = teardown);

static struct page *pages[MAX_PAGES];

static bool in_dma(struct page *p, unsigned int order)
{
	return page_to_pfn(p) + (1UL << order) <= kmem_memory.dma_pages;
}

/* Allocate order-0 pages with @gfp until one fails; returns how many, stored from pages[from]. */
static size_t exhaust(gfp_t gfp, size_t from)
{
	size_t n = from;
	struct page *p;

	while ((p = alloc_pages(gfp | __GFP_NOWARN, 0))) {
		expect(n < MAX_PAGES, "more than %lu pages", MAX_PAGES);
		pages[n++] = p;
	}
	return n - from;
}

static void free_all(size_t n)
{
	for (size_t i = 0; i < n; i++)
		__free_pages(pages[i], 0);
}

/* ZONE_DMA is the first 16 MiB of a 64 MiB arena, as zoneinfo shows. */
Test(zones, layout)
{
	struct zone *dma = zone_of(0, ZONE_DMA), *normal = zone_of(0, ZONE_NORMAL);

	cr_assert_eq(kmem_memory.dma_pages, (16UL << 20) / PAGE_SIZE);
	cr_assert_eq(dma->zone_start_pfn, 0);
	cr_assert_eq(dma->spanned_pages, 4096);
	cr_assert_eq(normal->zone_start_pfn, 4096);
	cr_assert_eq(normal->spanned_pages, 12288);
	/* The watermarks the rest of this file relies on, as the kernel computes them. */
	cr_assert_eq(wmark_pages(dma, WMARK_MIN), 64);
	cr_assert_eq(wmark_pages(normal, WMARK_MIN), 192);
	cr_assert_eq(dma->lowmem_reserve[ZONE_NORMAL], 12288 / 256);
	cr_assert_eq(dma->lowmem_reserve[ZONE_DMA], 0);
	cr_assert_eq(normal->lowmem_reserve[ZONE_NORMAL], 0);
}

Test(zones, gfp_dma_comes_from_dma)
{
	for (unsigned int order = 0; order < NR_PAGE_ORDERS; order++) {
		struct page *d = alloc_pages(GFP_DMA, order);
		struct page *k = alloc_pages(GFP_KERNEL, order);
		struct page *z = alloc_pages(GFP_DMA | __GFP_ZERO | __GFP_COMP, order);

		cr_assert_not_null(d);
		cr_assert_not_null(k);
		cr_assert_not_null(z);
		cr_assert(in_dma(d, order), "GFP_DMA order %u at pfn %lu", order, page_to_pfn(d));
		cr_assert(in_dma(z, order), "GFP_DMA|... order %u at pfn %lu", order,
			  page_to_pfn(z));
		/* Normal has plenty: GFP_KERNEL does not touch ZONE_DMA. */
		cr_assert_geq(page_to_pfn(k), kmem_memory.dma_pages,
			      "GFP_KERNEL order %u at pfn %lu", order, page_to_pfn(k));
		__free_pages(d, order);
		__free_pages(k, order);
		__free_pages(z, order);
	}
}

/* GFP_DMA's zonelist is ZONE_DMA alone: when DMA runs out the request fails. */
Test(zones, gfp_dma_never_falls_back)
{
	struct zone *dma = zone_of(0, ZONE_DMA);
	unsigned long normal_free = zone_free(0, ZONE_NORMAL);
	size_t n = exhaust(GFP_DMA, 0);

	for (size_t i = 0; i < n; i++)
		expect(in_dma(pages[i], 0), "GFP_DMA page %zu at pfn %lu", i,
		       page_to_pfn(pages[i]));
	cr_assert_eq(zone_free(0, ZONE_NORMAL), normal_free, "GFP_DMA took Normal pages");
	/* It stops exactly at DMA's min watermark (no lowmem_reserve for DMA's own requests). */
	cr_assert_eq(zone_free(0, ZONE_DMA), wmark_pages(dma, WMARK_MIN));
	cr_assert_eq(n, dma->managed_pages - wmark_pages(dma, WMARK_MIN));
	cr_assert_null(alloc_pages(GFP_DMA | __GFP_NOWARN, 0));
	cr_assert_null(alloc_pages(GFP_DMA | __GFP_NOWARN, 4));
	/* Normal requests still succeed: the DMA zone's state does not matter to them. */
	struct page *p = alloc_pages(GFP_KERNEL, 0);

	cr_assert_not_null(p);
	__free_pages(p, 0);
	free_all(n);
}

/*
 * The kernel's zonelist for a Normal request is Normal, then DMA: a
 * GFP_KERNEL page comes from ZONE_DMA only when Normal has fallen to its
 * watermark (low on the fast path, min on the slow path), and never from
 * DMA's lowmem_reserve. At the end each zone holds exactly its reserve.
 */
Test(zones, gfp_kernel_falls_back_to_dma_last)
{
	struct zone *dma = zone_of(0, ZONE_DMA), *normal = zone_of(0, ZONE_NORMAL);
	unsigned long normal_start = zone_free(0, ZONE_NORMAL); /* kmem_init() may take some */
	size_t n = 0, first_dma = 0;
	struct page *p;

	while (true) {
		unsigned long normal_free = zone_page_state_free(normal);

		p = alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0);
		if (!p)
			break;
		pages[n++] = p;
		if (in_dma(p, 0)) {
			expect(normal_free <= wmark_pages(normal, WMARK_LOW),
			       "page %zu from DMA while Normal had %lu free (low %lu)", n - 1,
			       normal_free, wmark_pages(normal, WMARK_LOW));
			if (!first_dma)
				first_dma = n;
		}
	}
	cr_assert_gt(first_dma, 0, "GFP_KERNEL never fell back to ZONE_DMA");
	cr_assert_geq(first_dma, normal_start - wmark_pages(normal, WMARK_LOW) - 3,
		      "first DMA page after only %zu Normal pages", first_dma - 1);
	cr_assert_eq(zone_free(0, ZONE_NORMAL), wmark_pages(normal, WMARK_MIN));
	cr_assert_eq(zone_free(0, ZONE_DMA),
		     wmark_pages(dma, WMARK_MIN) + (unsigned long)dma->lowmem_reserve[ZONE_NORMAL],
		     "GFP_KERNEL ate into ZONE_DMA's lowmem_reserve");
	/* What Normal requests left in ZONE_DMA is still there for GFP_DMA. */
	size_t d = exhaust(GFP_DMA, n);

	cr_assert_eq(d, (size_t)dma->lowmem_reserve[ZONE_NORMAL]);
	cr_assert_eq(zone_free(0, ZONE_DMA), wmark_pages(dma, WMARK_MIN));
	free_all(n + d);
	cr_assert_eq(zone_free(0, ZONE_NORMAL), normal_start);
	cr_assert_eq(zone_free(0, ZONE_DMA), dma->managed_pages);
}

/*
 * __zone_watermark_ok(): a request fails when free <= its mark + reserve.
 * GFP_KERNEL's mark is min; __GFP_HIGH (ALLOC_MIN_RESERVE) halves it; a
 * __GFP_HIGH caller that cannot reclaim (GFP_ATOMIC, ALLOC_NON_BLOCK) takes
 * a quarter of what is left: 3/8 of min. Order-0 exhaustion stops exactly
 * there in both zones, the DMA zone's lowmem_reserve on top.
 */
struct stage {
	gfp_t gfp;
	const char *name;
};

static unsigned long stage_mark(gfp_t gfp, unsigned long min)
{
	long mark = (long)min;

	if (gfp & __GFP_HIGH) {
		mark -= mark / 2;
		if (!(gfp & __GFP_DIRECT_RECLAIM))
			mark -= mark / 4;
	}
	return (unsigned long)mark;
}

Test(zones, watermark_reserves)
{
	static const struct stage stages[] = {
		{ GFP_KERNEL, "GFP_KERNEL" },
		{ GFP_NOWAIT, "GFP_NOWAIT" }, /* cannot reclaim, but no __GFP_HIGH: min */
		{ __GFP_HIGH | __GFP_DIRECT_RECLAIM, "__GFP_HIGH" },
		{ GFP_ATOMIC, "GFP_ATOMIC" },
	};
	struct zone *dma = zone_of(0, ZONE_DMA), *normal = zone_of(0, ZONE_NORMAL);
	unsigned long normal_min = wmark_pages(normal, WMARK_MIN);
	unsigned long dma_min = wmark_pages(dma, WMARK_MIN);
	unsigned long reserve = (unsigned long)dma->lowmem_reserve[ZONE_NORMAL];
	size_t n = 0;

	for (size_t s = 0; s < ARRAY_SIZE(stages); s++) {
		size_t got = exhaust(stages[s].gfp, n);
		unsigned long normal_mark = stage_mark(stages[s].gfp, normal_min);
		unsigned long dma_mark = stage_mark(stages[s].gfp, dma_min) + reserve;

		n += got;
		if (stages[s].gfp == GFP_NOWAIT)
			cr_assert_eq(got, 0, "GFP_NOWAIT went below min: %zu pages", got);
		else
			cr_assert_gt(got, 0, "%s got no page past the previous stage",
				     stages[s].name);
		cr_assert_eq(zone_free(0, ZONE_NORMAL), normal_mark,
			     "%s: Normal has %lu free, expected %lu", stages[s].name,
			     zone_free(0, ZONE_NORMAL), normal_mark);
		cr_assert_eq(zone_free(0, ZONE_DMA), dma_mark, "%s: DMA has %lu free, expected %lu",
			     stages[s].name, zone_free(0, ZONE_DMA), dma_mark);
	}
	/* GFP_ATOMIC ends at 3/8 of min, __GFP_HIGH at 1/2 of min. */
	cr_assert_eq(stage_mark(GFP_ATOMIC, normal_min), normal_min * 3 / 8);
	cr_assert_eq(stage_mark(__GFP_HIGH | __GFP_DIRECT_RECLAIM, normal_min), normal_min / 2);
	free_all(n);
}

/* GFP_ATOMIC straight after GFP_KERNEL: it gets the pages between min and 3/8 min. */
Test(zones, atomic_after_kernel)
{
	struct zone *normal = zone_of(0, ZONE_NORMAL), *dma = zone_of(0, ZONE_DMA);
	size_t n = exhaust(GFP_KERNEL, 0);
	size_t a = exhaust(GFP_ATOMIC, n);
	unsigned long normal_min = wmark_pages(normal, WMARK_MIN);
	unsigned long dma_min = wmark_pages(dma, WMARK_MIN);

	cr_assert_eq(a, (normal_min - stage_mark(GFP_ATOMIC, normal_min)) +
				(dma_min - stage_mark(GFP_ATOMIC, dma_min)));
	free_all(n + a);
}

/*
 * __GFP_MEMALLOC (ALLOC_NO_WATERMARKS) takes what every watermark and the
 * lowmem_reserve leave, down to the last page; __GFP_NOMEMALLOC cancels it.
 */
Test(zones, memalloc_takes_the_whole_reserve)
{
	size_t n = exhaust(GFP_ATOMIC, 0);

	cr_assert_eq(exhaust(GFP_ATOMIC | __GFP_MEMALLOC | __GFP_NOMEMALLOC, n), 0,
		     "__GFP_NOMEMALLOC did not cancel __GFP_MEMALLOC");
	n += exhaust(GFP_ATOMIC | __GFP_MEMALLOC, n);
	cr_assert_eq(zone_free(0, ZONE_NORMAL), 0);
	cr_assert_eq(zone_free(0, ZONE_DMA), 0);
	free_all(n);
}

/* ------------------------------------------------------------------ nodes */

TestSuite(nodes);

/*
 * Two nodes of 32 MiB: node 0 is DMA [0, 2048) + Normal [2048, 8192), node 1
 * is Normal [8192, 16384). alloc_pages_node() takes its node's memory first;
 * __GFP_THISNODE never leaves it.
 */
Test(nodes, alloc_pages_node_and_thisnode)
{
	cr_assert_eq(kmem_init(&(struct kmem_config){
			     .mem_size = ARENA_SIZE, .nr_nodes = 2, .no_reporting = 1 }),
		     0);
	for (int nid = 0; nid < 2; nid++)
		for (unsigned int order = 0; order < NR_PAGE_ORDERS; order++) {
			struct page *p = alloc_pages_node(nid, GFP_KERNEL, order);

			cr_assert_not_null(p);
			cr_assert_eq(page_to_nid(p), nid, "node %d order %u: page of node %d", nid,
				     order, page_to_nid(p));
			cr_assert_geq(page_to_pfn(p), kmem_memory.dma_pages);
			__free_pages(p, order);
		}
	/* NUMA_NO_NODE: the caller's node (node 0 for the first thread). */
	struct page *p = alloc_pages_node(-1, GFP_KERNEL, 0);

	cr_assert_not_null(p);
	__free_pages(p, 0);
	/* GFP_DMA from node 1 falls back to node 0's DMA zone; with __GFP_THISNODE it cannot. */
	p = alloc_pages_node(1, GFP_DMA, 0);
	cr_assert_not_null(p);
	cr_assert_eq(page_to_nid(p), 0);
	cr_assert(in_dma(p, 0));
	__free_pages(p, 0);
	cr_assert_null(alloc_pages_node(1, GFP_DMA | __GFP_THISNODE | __GFP_NOWARN, 0));

	/* Exhaust node 1 with __GFP_THISNODE: every page is node 1's, node 0 is untouched. */
	struct zone *n1 = zone_of(1, ZONE_NORMAL);
	unsigned long n1_start = zone_free(1, ZONE_NORMAL); /* kmem_init() may take some */
	unsigned long n0_free = zone_free(0, ZONE_NORMAL) + zone_free(0, ZONE_DMA);
	size_t n = 0;

	while ((p = alloc_pages_node(1, GFP_KERNEL | __GFP_THISNODE | __GFP_NOWARN, 0))) {
		expect(page_to_nid(p) == 1, "__GFP_THISNODE page %zu from node %d", n,
		       page_to_nid(p));
		pages[n++] = p;
	}
	cr_assert_eq(n, n1_start - wmark_pages(n1, WMARK_MIN));
	cr_assert_eq(zone_free(0, ZONE_NORMAL) + zone_free(0, ZONE_DMA), n0_free);
	/* Without it, node 1's requests now fall back to node 0. */
	p = alloc_pages_node(1, GFP_KERNEL | __GFP_NOWARN, 0);
	cr_assert_not_null(p);
	cr_assert_eq(page_to_nid(p), 0);
	pages[n++] = p;
	p = alloc_pages_node(1, GFP_KERNEL | __GFP_NOWARN, 5);
	cr_assert_not_null(p);
	cr_assert_eq(page_to_nid(p), 0);
	__free_pages(p, 5);
	free_all(n);
	cr_assert_eq(zone_free(1, ZONE_NORMAL), n1_start);
	kmem_exit();
}

Test(nodes, bad_node_id)
{
	cr_assert_eq(kmem_init(&(struct kmem_config){
			     .mem_size = ARENA_SIZE, .nr_nodes = 2, .no_reporting = 1 }),
		     0);
	printk_capture();
	cr_assert_null(alloc_pages_node(2, GFP_KERNEL, 0));
	cr_assert(printk_logged("node 2 does not exist"), "log: %s", printk_log);
	cr_assert_null(alloc_pages_node(-5, GFP_KERNEL | __GFP_NOWARN, 0));
	kmem_set_printk(NULL);
	kmem_exit();
}

/* ------------------------------------------------------------ migratetypes */

static const char *const type_name[] = { "unmovable", "movable", "reclaimable" };

/*
 * Interleave @per_type requests of each migratetype (orders 0..2, all through
 * the per-CPU lists of their type) in @zone_gfp's zone: each must lie in
 * pageblocks of its own type. Returns with everything freed.
 */
static void interleave_types(gfp_t zone_gfp, int per_type)
{
	static const gfp_t mobility[MIGRATE_TYPES] = {
		[MIGRATE_UNMOVABLE] = 0,
		[MIGRATE_MOVABLE] = __GFP_MOVABLE,
		[MIGRATE_RECLAIMABLE] = __GFP_RECLAIMABLE,
	};
	static struct page *got[MIGRATE_TYPES][1024];

	cr_assert_leq(per_type, 1024);
	for (int i = 0; i < per_type; i++)
		for (int t = 0; t < MIGRATE_TYPES; t++) {
			unsigned int order = (unsigned int)((i + t) % 3);
			struct page *p = alloc_pages(zone_gfp | mobility[t], order);

			expect(p, "%s request %d failed", type_name[t], i);
			got[t][i] = p;
			for (unsigned long k = 0; k < (1UL << order); k++) {
				int mt = get_pfnblock_migratetype(page_to_pfn(p) + k);

				expect(mt == t, "%s page %d (pfn %#lx) in a %s pageblock",
				       type_name[t], i, page_to_pfn(p) + k, type_name[mt]);
			}
		}
	for (int i = 0; i < per_type; i++)
		for (int t = 0; t < MIGRATE_TYPES; t++)
			__free_pages(got[t][i], (unsigned int)((i + t) % 3));
}

/*
 * Anti-fragmentation, in ZONE_DMA (untouched until the first GFP_DMA
 * request): at first every pageblock is Movable. The first unmovable page
 * claims a whole free order-10 block (two pageblocks) for Unmovable, as the
 * kernel's steal_suitable_fallback() does for a block of pageblock order or
 * more. Then interleaved movable, unmovable and reclaimable requests each
 * stay inside pageblocks of their own type: 300 of each (700 pages with
 * orders 0..2) fit in one order-10 block per type.
 */
Test(zones, migratetypes_do_not_share_pageblocks)
{
	unsigned long blocks[MIGRATE_TYPES];
	unsigned long dma_blocks = kmem_memory.dma_pages / pageblock_nr_pages;

	pageblock_counts(0, "DMA", blocks);
	cr_assert_eq(blocks[MIGRATE_UNMOVABLE], 0);
	cr_assert_eq(blocks[MIGRATE_MOVABLE], dma_blocks);
	cr_assert_eq(blocks[MIGRATE_RECLAIMABLE], 0);

	struct page *first = alloc_pages(GFP_DMA, 0);

	cr_assert_not_null(first);
	cr_assert_eq(get_pfnblock_migratetype(page_to_pfn(first)), MIGRATE_UNMOVABLE);
	pageblock_counts(0, "DMA", blocks);
	cr_assert_eq(blocks[MIGRATE_UNMOVABLE], 2, "%lu Unmovable pageblocks after one page",
		     blocks[MIGRATE_UNMOVABLE]);
	cr_assert_eq(blocks[MIGRATE_MOVABLE], dma_blocks - 2);

	interleave_types(GFP_DMA, 300);
	pageblock_counts(0, "DMA", blocks);
	cr_assert_eq(blocks[MIGRATE_UNMOVABLE], 2);
	cr_assert_eq(blocks[MIGRATE_RECLAIMABLE], 2);
	cr_assert_eq(blocks[MIGRATE_MOVABLE], dma_blocks - 4);
	__free_pages(first, 0);
	/* The same in ZONE_NORMAL, whatever kmem_init() took there. */
	interleave_types(GFP_KERNEL, 1000);
}

/*
 * When no fresh memory is left, an unmovable request steals from a movable
 * pageblock: a whole free pageblock changes type (steal_suitable_fallback),
 * and the page comes from it.
 */
Test(zones, unmovable_steals_a_free_movable_pageblock)
{
	unsigned long before[MIGRATE_TYPES], after[MIGRATE_TYPES];
	size_t n = 0;
	struct page *p;

	/* Fill ZONE_DMA with movable pageblock-sized blocks. */
	while ((p = alloc_pages(GFP_DMA | __GFP_MOVABLE | __GFP_NOWARN, pageblock_order)))
		pages[n++] = p;
	cr_assert_gt(n, 4);
	/*
	 * Give one pageblock back, the first: its buddy is still allocated, so
	 * it stays a pageblock-sized block (the last one's buddy may be the
	 * free block left above the watermark, and they would merge).
	 */
	struct page *hole = pages[0];

	pages[0] = pages[--n];
	__free_pages(hole, pageblock_order);
	pageblock_counts(0, "DMA", before);
	cr_assert_eq(before[MIGRATE_UNMOVABLE], 0);

	p = alloc_pages(GFP_DMA, 0);
	cr_assert_not_null(p);
	cr_assert_eq(get_pfnblock_migratetype(page_to_pfn(p)), MIGRATE_UNMOVABLE);
	pageblock_counts(0, "DMA", after);
	cr_assert_eq(after[MIGRATE_UNMOVABLE], 1, "%lu Unmovable pageblocks",
		     after[MIGRATE_UNMOVABLE]);
	cr_assert_eq(after[MIGRATE_MOVABLE], before[MIGRATE_MOVABLE] - 1);
	__free_pages(p, 0);
	for (size_t i = 0; i < n; i++)
		__free_pages(pages[i], pageblock_order);
}
