// SPDX-License-Identifier: MIT
/*
 * The buddy allocator's splitting and merging, step by step (seeds 000-003),
 * natural alignment, no overlap and full coalescing under random mixed-order
 * exhaustion, __GFP_ZERO on recycled memory, __GFP_COMP and get_order().
 *
 * A 64 MiB arena: ZONE_DMA is pfns [0, 4096) (four order-10 blocks),
 * ZONE_NORMAL pfns [4096, 16384) (twelve). Reporting is off so that no
 * background thread takes blocks off the lists while buddyinfo is read.
 *
 * kmem_init() itself may take Normal pages (the slab layer's boot caches),
 * so the step-by-step scripts run in ZONE_DMA, which nothing touches before
 * the first GFP_DMA request, and the Normal zone is compared with what it
 * held right after kmem_init().
 */
#include "page_test.h"

#define ARENA_SIZE (64UL << 20)
#define DMA_BLOCKS 4UL /* order-10 blocks in ZONE_DMA */

static const unsigned long fresh_dma[NR_PAGE_ORDERS] = { [MAX_PAGE_ORDER] = DMA_BLOCKS };

static void setup(void)
{
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = ARENA_SIZE, .no_reporting = 1 }),
		     0);
}

static void teardown(void)
{
	kmem_exit();
}

TestSuite(buddy, .init = setup, .fini = teardown);

static void assert_dma_fresh(void)
{
	unsigned long c[NR_PAGE_ORDERS];

	buddyinfo(0, "DMA", c);
	assert_counts_eq(c, fresh_dma, "ZONE_DMA right after kmem_init()");
}

/* Seed 001: 16K managed; a 3.6K request is rounded to 4K by two splits; the free merges back. */
Test(buddy, seed001_split_and_merge)
{
	unsigned long c[NR_PAGE_ORDERS];

	cr_assert_eq(get_order(3686), 0);
	/* Orders above the per-CPU lists go straight to the zone: the split shows exactly. */
	struct page *p = alloc_pages(GFP_DMA, 4 + 0); /* 64K from a 4M block: 6 splits */

	buddyinfo(0, "DMA", c);
	for (int o = 4; o < MAX_PAGE_ORDER; o++)
		cr_assert_eq(c[o], 1, "order %d: %lu free blocks, expected 1", o, c[o]);
	cr_assert_eq(c[MAX_PAGE_ORDER], 3);
	__free_pages(p, 4);
	buddyinfo(0, "DMA", c);
	for (int o = 0; o < MAX_PAGE_ORDER; o++)
		cr_assert_eq(c[o], 0, "order %d did not merge back", o);
	cr_assert_eq(c[MAX_PAGE_ORDER], 4);
}

/*
 * One step of a split/merge script: allocate (order >= 0) into slot, or free
 * slot; then ZONE_DMA's buddyinfo must read exactly @after, and an
 * allocation must be the block at pfn @pfn.
 */
struct step {
	int alloc_order; /* -1: free @slot */
	int slot;
	unsigned long pfn;
	unsigned long after[NR_PAGE_ORDERS];
};

static void run_script(const struct step *steps, size_t nr)
{
	struct page *slot[8] = { 0 };
	unsigned int slot_order[8] = { 0 };
	unsigned long c[NR_PAGE_ORDERS];

	assert_dma_fresh();
	for (size_t i = 0; i < nr; i++) {
		const struct step *s = &steps[i];
		char what[64];

		if (s->alloc_order >= 0) {
			slot[s->slot] = alloc_pages(GFP_DMA, (unsigned int)s->alloc_order);
			slot_order[s->slot] = (unsigned int)s->alloc_order;
			cr_assert_not_null(slot[s->slot], "step %zu: order-%d allocation failed", i,
					   s->alloc_order);
			cr_assert_eq(page_to_pfn(slot[s->slot]), s->pfn,
				     "step %zu: order %d at pfn %lu, expected %lu", i,
				     s->alloc_order, page_to_pfn(slot[s->slot]), s->pfn);
		} else {
			__free_pages(slot[s->slot], slot_order[s->slot]);
		}
		snprintf(what, sizeof(what), "after step %zu", i);
		buddyinfo(0, "DMA", c);
		assert_counts_eq(c, s->after, what);
	}
}

/*
 * Orders 4..7 bypass the per-CPU lists, so every split (expand) and every
 * merge (__free_one_page) shows in buddyinfo at once. The first request takes
 * the zone's first order-10 block and leaves one free block at each order
 * 4..9; later requests take the smallest block that fits.
 */
Test(buddy, split_and_merge_step_by_step)
{
	/* order:                                  0  1  2  3  4  5  6  7  8  9  10 */
	static const struct step script[] = {
		{ 4, 0, 0, { 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 3 } }, /* A: 10 -> 9,8,7,6,5,4 + A */
		{ 4, 1, 16, { 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 3 } }, /* B: A's buddy, no split */
		{ 6, 2, 64, { 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, 3 } }, /* C: the free order 6 */
		{ 5, 3, 32, { 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 3 } }, /* D: the free order 5 */
		{ 4, 4, 128, { 0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 3 } }, /* E: 7 -> 6,5,4 + E */
		{ -1, 1, 0, { 0, 0, 0, 0, 2, 1, 1, 0, 1, 1, 3 } }, /* free B: A is busy */
		{ -1, 0, 0, { 0, 0, 0, 0, 1, 2, 1, 0, 1, 1, 3 } }, /* free A: A+B = 5, D busy */
		{ -1, 3, 0, { 0, 0, 0, 0, 1, 1, 2, 0, 1, 1, 3 } }, /* free D: AB+D = 6, C busy */
		{ -1, 2, 0, { 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 3 } }, /* free C: ABDC = 7, E busy */
		{ -1, 4, 0, { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4 } }, /* free E: all merges up to 10 */
	};

	run_script(script, ARRAY_SIZE(script));
}

/*
 * Orders 0..3 go through the calling thread's per-CPU list, which takes a
 * batch from the zone and keeps what the caller did not use: buddyinfo is
 * exact only after drain_all_pages().
 */
Test(buddy, pcp_orders_after_drain)
{
	unsigned long c[NR_PAGE_ORDERS];

	assert_dma_fresh();
	for (unsigned int order = 0; order <= PAGE_ALLOC_COSTLY_ORDER; order++) {
		struct page *p = alloc_pages(GFP_DMA, order);

		cr_assert_not_null(p);
		cr_assert_eq(page_to_pfn(p), 0, "order %u at pfn %lu", order, page_to_pfn(p));
		drain_all_pages(NULL);
		buddyinfo(0, "DMA", c);
		for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++) {
			unsigned long want = o == MAX_PAGE_ORDER ? DMA_BLOCKS - 1 : o >= order;

			cr_assert_eq(c[o], want,
				     "order-%u page: order %u has %lu free, expected %lu", order, o,
				     c[o], want);
		}
		/*
		 * Freed, it waits on the per-CPU list, unless that takes the list
		 * to its high mark (6 pages for this small zone): then a batch goes
		 * back to the zone at once, the coldest block first.
		 */
		struct per_cpu_pages *pcp =
			__this_cpu_ptr(__this_cpu_area, zone_of(0, ZONE_DMA)->per_cpu_pageset);

		cr_assert_eq(pcp->count, 0);
		__free_pages(p, order);
		buddyinfo(0, "DMA", c);
		if ((1 << order) < pcp->high) {
			cr_assert_eq(c[MAX_PAGE_ORDER], DMA_BLOCKS - 1,
				     "order-%u page went straight to the zone", order);
			cr_assert_eq(pcp->count, 1 << order);
			drain_all_pages(NULL);
		} else {
			cr_assert_eq(pcp->count, 0, "order %u: %d pages kept, high is %d", order,
				     pcp->count, pcp->high);
		}
		assert_dma_fresh();
	}
}

static void assert_naturally_aligned(struct page *p, unsigned int order, const char *what)
{
	unsigned long pfn = page_to_pfn(p);
	uintptr_t addr = (uintptr_t)page_address(p);

	expect(pfn % (1UL << order) == 0, "%s: order-%u block at pfn %#lx", what, order, pfn);
	expect(addr % (PAGE_SIZE << order) == 0, "%s: order-%u block at %p", what, order,
	       (void *)addr);
	expect(virt_to_page((void *)addr) == p, "%s: virt_to_page(page_address(p)) != p", what);
}

/* Every order 0..10, in both zones, several times over, interleaved so blocks get split. */
Test(buddy, natural_alignment_every_order)
{
	/* Two rounds fill 2/3 of Normal; ZONE_DMA (4096 pages) has room for one. */
	static const gfp_t gfps[] = { GFP_KERNEL, GFP_DMA, GFP_KERNEL | __GFP_MOVABLE };
	static const int rounds[] = { 2, 1, 2 };
	struct page *blocks[2][ARRAY_SIZE(gfps)][NR_PAGE_ORDERS];

	for (int round = 0; round < 2; round++)
		for (size_t g = 0; g < ARRAY_SIZE(gfps); g++)
			for (unsigned int order = 0; order < NR_PAGE_ORDERS && round < rounds[g];
			     order++) {
				struct page *p = alloc_pages(gfps[g], order);

				cr_assert_not_null(p, "round %d gfp %#x order %u failed", round,
						   gfps[g], order);
				assert_naturally_aligned(p, order, "64 MiB arena");
				blocks[round][g][order] = p;
			}
	for (int round = 0; round < 2; round++)
		for (size_t g = 0; g < ARRAY_SIZE(gfps); g++)
			for (unsigned int order = 0; order < NR_PAGE_ORDERS && round < rounds[g];
			     order++)
				__free_pages(blocks[round][g][order], order);
	cr_assert_eq(kmem_error_count(), 0);
}

TestSuite(buddy_config);

/*
 * Nodes whose size is not a multiple of 4 MiB (three nodes of 6.5 MiB, 1664
 * pages: node 1 is pfns [1664, 3328), node 2 [3328, 4992)): the kernel keeps
 * every block naturally aligned in pfn space whatever the node boundaries
 * are; the architecture promises the same ("every order-k block is
 * naturally aligned as real page frames are"). Every order up to 9 is taken
 * from each node (three times up to order 8, once at 9: node 0 has only two
 * order-9 blocks) and must be aligned.
 */
Test(buddy_config, natural_alignment_unaligned_nodes)
{
	cr_assert_eq(kmem_init(&(struct kmem_config){
			     .mem_size = 3 * (13UL << 19), .nr_nodes = 3, .no_reporting = 1 }),
		     0);
	cr_assert_eq(kmem_memory.node_pages, 1664);
	for (int nid = 0; nid < 3; nid++) {
		for (unsigned int order = 0; order <= 9; order++) {
			struct page *p[3];
			char what[32];

			snprintf(what, sizeof(what), "node %d", nid);
			int nr = order < 9 ? 3 : 1;

			for (int i = 0; i < nr; i++) {
				p[i] = alloc_pages_node(nid, GFP_KERNEL | __GFP_THISNODE, order);
				cr_assert_not_null(p[i], "node %d order %u", nid, order);
				cr_assert_eq(page_to_nid(p[i]), nid);
				assert_naturally_aligned(p[i], order, what);
			}
			for (int i = 0; i < nr; i++)
				__free_pages(p[i], order);
		}
	}
	cr_assert_eq(kmem_error_count(), 0);
	kmem_exit();
}

/* ------------------------------------------------- random mixed-order exhaustion */

struct block {
	struct page *page;
	unsigned int order;
	uint64_t stamp;
};

#define MAX_BLOCKS 16384

static struct block blocks[MAX_BLOCKS];

static uint64_t stamp_word(uint64_t stamp, size_t i)
{
	return stamp ^ (i * 0x9E3779B97F4A7C15ULL);
}

static void stamp_block(const struct block *b)
{
	uint64_t *w = page_address(b->page);
	size_t n = (PAGE_SIZE << b->order) / sizeof(*w);

	for (size_t i = 0; i < n; i++)
		w[i] = stamp_word(b->stamp, i);
}

static void check_stamp(const struct block *b, size_t idx)
{
	const uint64_t *w = page_address(b->page);
	size_t n = (PAGE_SIZE << b->order) / sizeof(*w);

	for (size_t i = 0; i < n; i++)
		if (w[i] != stamp_word(b->stamp, i))
			cr_assert_fail("block %zu (pfn %#lx order %u): word %zu overwritten", idx,
				       page_to_pfn(b->page), b->order, i);
}

static int cmp_pfn(const void *a, const void *b)
{
	unsigned long pa = page_to_pfn(((const struct block *)a)->page);
	unsigned long pb = page_to_pfn(((const struct block *)b)->page);

	return pa < pb ? -1 : pa > pb;
}

/*
 * Allocate random orders with random zone and mobility flags until even an
 * order-0 request fails; every block is stamped as it is handed out. An
 * order that fails is not tried again (a larger one cannot succeed either).
 * Returns the number of blocks.
 */
static size_t exhaust_randomly(uint64_t seed)
{
	static const gfp_t gfps[] = {
		GFP_KERNEL,
		GFP_KERNEL | __GFP_MOVABLE,
		GFP_KERNEL | __GFP_RECLAIMABLE,
		GFP_KERNEL | __GFP_COMP,
		GFP_DMA,
	};
	uint64_t rng = seed;
	int max_order = MAX_PAGE_ORDER;
	size_t nr = 0;

	while (max_order >= 0) {
		unsigned int order = (unsigned int)(prng_next(&rng) % (uint64_t)(max_order + 1));
		gfp_t gfp = gfps[prng_next(&rng) % ARRAY_SIZE(gfps)] | __GFP_NOWARN;
		struct page *p = alloc_pages(gfp, order);

		if (!p) {
			/* GFP_DMA fails early; only a Normal failure ends an order. */
			if (!(gfp & __GFP_DMA))
				max_order = (int)order - 1;
			continue;
		}
		expect(nr < MAX_BLOCKS, "more than %d blocks", MAX_BLOCKS);
		assert_naturally_aligned(p, order, "random exhaustion");
		if (gfp & __GFP_DMA)
			expect(page_to_pfn(p) + (1UL << order) <= kmem_memory.dma_pages,
			       "GFP_DMA order-%u block at pfn %#lx", order, page_to_pfn(p));
		blocks[nr] = (struct block){ p, order, prng_next(&rng) };
		stamp_block(&blocks[nr]);
		nr++;
	}
	return nr;
}

/* Free pages in every zone, per-CPU lists drained. */
static unsigned long total_free(void)
{
	unsigned long free = 0;
	struct zone *zone;

	drain_all_pages(NULL);
	for_each_populated_zone(zone)
		free += zone_page_state_free(zone);
	return free;
}

static void check_blocks(size_t nr, unsigned long free_at_start)
{
	unsigned long pages = 0, free = 0;
	struct zone *zone;

	for (size_t i = 0; i < nr; i++)
		check_stamp(&blocks[i], i);
	qsort(blocks, nr, sizeof(blocks[0]), cmp_pfn);
	for (size_t i = 0; i < nr; i++) {
		pages += 1UL << blocks[i].order;
		if (i + 1 < nr)
			expect(page_to_pfn(blocks[i].page) + (1UL << blocks[i].order) <=
				       page_to_pfn(blocks[i + 1].page),
			       "blocks at pfn %#lx (order %u) and %#lx overlap",
			       page_to_pfn(blocks[i].page), blocks[i].order,
			       page_to_pfn(blocks[i + 1].page));
	}
	/* Every page is either handed out or free in the zones: none lost, none twice. */
	drain_all_pages(NULL);
	for_each_populated_zone(zone)
		free += zone_page_state_free(zone);
	cr_assert_eq(pages + free, free_at_start,
		     "%lu pages handed out + %lu free, %lu at the start", pages, free,
		     free_at_start);
}

static void shuffle(size_t nr, uint64_t seed)
{
	uint64_t rng = seed;

	for (size_t i = nr - 1; i > 0; i--) {
		size_t j = (size_t)(prng_next(&rng) % (i + 1));
		struct block t = blocks[i];

		blocks[i] = blocks[j];
		blocks[j] = t;
	}
}

Test(buddy, random_exhaustion_no_overlap)
{
	static const uint64_t seeds[] = { 0x5eed, 0xdeadbeefcafe, 42 };

	for (size_t s = 0; s < ARRAY_SIZE(seeds); s++) {
		unsigned long free_at_start = total_free();
		size_t nr = exhaust_randomly(seeds[s]);

		cr_assert_gt(nr, 100, "seed %#lx: only %zu blocks", (unsigned long)seeds[s], nr);
		check_blocks(nr, free_at_start);
		shuffle(nr, seeds[s]);
		for (size_t i = 0; i < nr; i++)
			__free_pages(blocks[i].page, blocks[i].order);
	}
}

/* Freed in random order, everything merges back: buddyinfo reads as it did at the start. */
Test(buddy, random_free_coalesces_fully)
{
	static const uint64_t seeds[] = { 1, 0x1234567, 0xfeedface };
	unsigned long dma0[NR_PAGE_ORDERS], normal0[NR_PAGE_ORDERS], c[NR_PAGE_ORDERS];

	assert_dma_fresh();
	drain_all_pages(NULL);
	buddyinfo(0, "DMA", dma0);
	buddyinfo(0, "Normal", normal0);
	unsigned long normal_free = zone_page_state_free(zone_of(0, ZONE_NORMAL));

	/* Normal holds at least 11 whole order-10 blocks (kmem_init() takes little). */
	cr_assert_geq(normal0[MAX_PAGE_ORDER], 11);
	for (size_t s = 0; s < ARRAY_SIZE(seeds); s++) {
		size_t nr = exhaust_randomly(seeds[s]);

		shuffle(nr, seeds[s] * 3);
		for (size_t i = 0; i < nr; i++) {
			__free_pages(blocks[i].page, blocks[i].order);
			if (i == nr / 2) {
				/* Half freed: the remaining blocks are intact. */
				for (size_t j = i + 1; j < nr; j++)
					check_stamp(&blocks[j], j);
			}
		}
		drain_all_pages(NULL);
		buddyinfo(0, "DMA", c);
		assert_counts_eq(c, dma0, "DMA after freeing everything");
		buddyinfo(0, "Normal", c);
		assert_counts_eq(c, normal0, "Normal after freeing everything");
		cr_assert_eq(zone_page_state_free(zone_of(0, ZONE_DMA)), 4096);
		cr_assert_eq(zone_page_state_free(zone_of(0, ZONE_NORMAL)), normal_free);
	}
	cr_assert_eq(kmem_error_count(), 0);
}

/* ------------------------------------------------------------------ __GFP_ZERO */

static bool all_bytes(const void *p, size_t size, unsigned char c)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < size; i++)
		if (b[i] != c)
			return false;
	return true;
}

/*
 * A freed block is handed out again, dirty, to the next request of its order
 * (per-CPU lists and free lists are LIFO): without __GFP_ZERO it keeps its
 * contents, with __GFP_ZERO it is cleared, for the per-CPU orders (0..3) and
 * the zone orders (4..10) alike.
 */
Test(buddy, gfp_zero_on_recycled_pages)
{
	for (unsigned int order = 0; order < NR_PAGE_ORDERS; order++) {
		size_t size = PAGE_SIZE << order;

		/*
		 * Empty per-CPU lists: a free that takes them over high drains
		 * a batch, which may be the block itself when little else is
		 * on them (a small zone's high is a few order-3 blocks).
		 */
		drain_all_pages(NULL);
		struct page *p = alloc_pages(GFP_KERNEL, order);

		cr_assert_not_null(p);
		memset(page_address(p), 0xaa, size);
		__free_pages(p, order);
		struct page *q = alloc_pages(GFP_KERNEL, order);

		cr_assert_eq(q, p, "order %u: the hot block was not reused", order);
		cr_assert(all_bytes(page_address(q), size, 0xaa),
			  "order %u: contents changed without __GFP_ZERO", order);
		__free_pages(q, order);
		q = alloc_pages(GFP_KERNEL | __GFP_ZERO, order);
		cr_assert_eq(q, p, "order %u: the hot block was not reused", order);
		cr_assert(all_bytes(page_address(q), size, 0),
			  "order %u: __GFP_ZERO returned dirty memory", order);
		__free_pages(q, order);
	}
	unsigned long addr = __get_free_page(GFP_KERNEL);

	memset((void *)addr, 0x55, PAGE_SIZE);
	free_page(addr);
	unsigned long z = get_zeroed_page(GFP_KERNEL);

	cr_assert_eq(z, addr);
	cr_assert(all_bytes((void *)z, PAGE_SIZE, 0), "get_zeroed_page returned dirty memory");
	free_page(z);
}

/* Dirty the whole arena, free it, then take it all again with __GFP_ZERO. */
static void dirty_all_then_zero(uint64_t seed, bool release_first)
{
	size_t nr = exhaust_randomly(seed);

	for (size_t i = 0; i < nr; i++) {
		memset(page_address(blocks[i].page), 0xa5, PAGE_SIZE << blocks[i].order);
		__free_pages(blocks[i].page, blocks[i].order);
	}
	if (release_first)
		cr_assert_gt(kmem_release_free_memory(), 0);
	uint64_t rng = seed ^ 0xffff;
	int max_order = MAX_PAGE_ORDER;

	nr = 0;
	while (max_order >= 0) {
		unsigned int order = (unsigned int)(prng_next(&rng) % (uint64_t)(max_order + 1));
		struct page *p = alloc_pages(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN, order);

		if (!p) {
			max_order = (int)order - 1;
			continue;
		}
		expect(all_bytes(page_address(p), PAGE_SIZE << order, 0),
		       "order-%u block at pfn %#lx is not zeroed", order, page_to_pfn(p));
		/* Dirty it again so a block handed out twice would show. */
		memset(page_address(p), 0x3c, PAGE_SIZE << order);
		blocks[nr++] = (struct block){ p, order, 0 };
	}
	for (size_t i = 0; i < nr; i++)
		__free_pages(blocks[i].page, blocks[i].order);
}

Test(buddy, gfp_zero_whole_arena_dirty)
{
	dirty_all_then_zero(7, false);
}

/* Blocks whose memory went back to the OS (PG_reported) skip the memset: they must read zero. */
Test(buddy_config, gfp_zero_after_reporting)
{
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = ARENA_SIZE }), 0);
	dirty_all_then_zero(11, true);
	kmem_exit();
}

/*
 * A caller's buffer (embedded use) may hold anything: kmem never gave that
 * memory back to an OS, so __GFP_ZERO must clear it even on first use.
 */
Test(buddy_config, gfp_zero_dirty_caller_buffer)
{
	size_t size = 16UL << 20;
	char *buf = malloc(size);

	cr_assert_not_null(buf);
	memset(buf, 0xee, size);
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = size, .mem = buf }), 0);
	for (unsigned int order = 0; order <= 9; order++) {
		struct page *p = alloc_pages(GFP_KERNEL | __GFP_ZERO, order);

		cr_assert_not_null(p, "order %u", order);
		cr_assert(all_bytes(page_address(p), PAGE_SIZE << order, 0),
			  "order %u: __GFP_ZERO returned the buffer's old contents", order);
		__free_pages(p, order);
	}
	unsigned long z = get_zeroed_page(GFP_DMA);

	cr_assert_neq(z, 0);
	cr_assert(all_bytes((void *)z, PAGE_SIZE, 0), "get_zeroed_page: old contents");
	free_page(z);
	kmem_exit();
	free(buf);
}

/* ------------------------------------------------------------------ __GFP_COMP */

static void assert_compound(struct page *p, unsigned int order)
{
	cr_assert(PageHead(p), "order-%u compound page has no PG_head", order);
	cr_assert_not(PageTail(p));
	cr_assert_eq(compound_head(p), p);
	cr_assert_eq(compound_order(p), order, "compound_order %u, expected %u", compound_order(p),
		     order);
	for (unsigned long i = 1; i < (1UL << order); i++) {
		expect(PageTail(&p[i]), "order %u: page %lu is not a tail", order, i);
		expect(!PageHead(&p[i]), "order %u: tail page %lu has PG_head", order, i);
		expect(compound_head(&p[i]) == p, "order %u: page %lu has the wrong head", order,
		       i);
	}
}

static void assert_not_compound(struct page *p, unsigned int order)
{
	cr_assert_not(PageHead(p), "order-%u page without __GFP_COMP has PG_head", order);
	cr_assert_eq(compound_order(p), 0);
	for (unsigned long i = 0; i < (1UL << order); i++) {
		expect(!PageTail(&p[i]), "order %u: page %lu is a tail", order, i);
		expect(compound_head(&p[i]) == &p[i], "order %u: page %lu has a head", order, i);
	}
}

Test(buddy, gfp_comp_head_and_tails)
{
	for (unsigned int order = 1; order < NR_PAGE_ORDERS; order++) {
		struct page *p = alloc_pages(GFP_KERNEL | __GFP_COMP, order);

		cr_assert_not_null(p);
		assert_compound(p, order);
		/* The frame after the block belongs to nobody's compound page. */
		cr_assert_not(PageTail(&p[1UL << order]));
		__free_pages(p, order);
		cr_assert_eq(kmem_error_count(), 0, "order %u: freeing a compound page", order);
		/* The same block again, plain: no head, no tails left over. */
		struct page *q = alloc_pages(GFP_KERNEL, order);

		cr_assert_eq(q, p, "order %u: the hot block was not reused", order);
		assert_not_compound(q, order);
		__free_pages(q, order);
	}
	/* Order 0 has nothing to compound (prep_compound_page only runs for order > 0). */
	struct page *p = alloc_pages(GFP_KERNEL | __GFP_COMP, 0);

	cr_assert_not(PageHead(p));
	cr_assert_eq(compound_order(p), 0);
	__free_pages(p, 0);
}

/* A compound page's frames, freed and split up again as order-0 pages, are plain pages. */
Test(buddy, gfp_comp_split_after_free)
{
	assert_dma_fresh();
	struct page *p = alloc_pages(GFP_DMA | __GFP_COMP, 4);
	struct page *pages[16];

	assert_compound(p, 4);
	__free_pages(p, 4);
	/* It merged back into its order-10 block, which splits again from p: one page at a time. */
	for (int i = 0; i < 16; i++) {
		pages[i] = alloc_pages(GFP_DMA, 0);
		cr_assert_not_null(pages[i]);
		assert_not_compound(pages[i], 0);
		cr_assert_geq(pages[i], p);
		cr_assert_lt(pages[i], p + 16, "order-0 page %d is not from the freed block", i);
	}
	for (int i = 0; i < 16; i++)
		__free_pages(pages[i], 0);
}

/* ------------------------------------------------------------------ get_order */

Test(buddy, get_order_table)
{
	static const struct {
		unsigned long size;
		int order;
	} table[] = {
		{ 1, 0 },
		{ 3686, 0 },
		{ PAGE_SIZE - 1, 0 },
		{ PAGE_SIZE, 0 },
		{ PAGE_SIZE + 1, 1 },
		{ 2 * PAGE_SIZE, 1 },
		{ 2 * PAGE_SIZE + 1, 2 },
		{ 3 * PAGE_SIZE, 2 },
		{ 4 * PAGE_SIZE, 2 },
		{ 4 * PAGE_SIZE + 1, 3 },
		{ 8 * PAGE_SIZE, 3 },
		{ 1UL << 20, 8 },
		{ (1UL << 20) + 1, 9 },
		{ 1UL << 22, MAX_PAGE_ORDER },
		{ (1UL << 22) + 1, MAX_PAGE_ORDER + 1 },
		{ 1UL << 32, 20 },
		{ 1UL << 40, 28 },
		{ (1UL << 63) + 1, 52 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		cr_assert_eq(get_order(table[i].size), table[i].order,
			     "get_order(%lu) = %d, expected %d", table[i].size,
			     get_order(table[i].size), table[i].order);
	/* The kernel's definition: the smallest order with PAGE_SIZE << order >= size. */
	for (unsigned long size = 1; size <= (4UL << 22); size += 511) {
		int order = get_order(size);

		expect(PAGE_SIZE << order >= size, "get_order(%lu) = %d is too small", size, order);
		expect(order == 0 || (PAGE_SIZE << (order - 1)) < size,
		       "get_order(%lu) = %d is too large", size, order);
	}
}
