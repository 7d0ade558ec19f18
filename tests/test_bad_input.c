// SPDX-License-Identifier: MIT
/*
 * The page allocator on bad input: impossible orders, frees of what kmem
 * never handed out, double frees, wrong orders, bad configurations and
 * environment, and allocation failures. Every bug kmem catches is reported
 * exactly once through kmem_bug() (kmem_error_count()) and leaves the free
 * lists as they were; warnings and configuration errors go through printk
 * without counting as caught bugs.
 */
#include <errno.h>

#include "page_test.h"

#define ARENA_SIZE (64UL << 20)

static void setup(void)
{
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = ARENA_SIZE, .no_reporting = 1 }),
		     0);
	printk_capture();
}

static void teardown(void)
{
	kmem_set_printk(NULL);
	kmem_exit();
}

TestSuite(bad_input, .init = setup, .fini = teardown);

/* Both zones' buddyinfo and free counts, after draining the per-CPU lists. */
struct free_state {
	unsigned long dma[NR_PAGE_ORDERS], normal[NR_PAGE_ORDERS];
	unsigned long dma_free, normal_free;
};

static void free_state(struct free_state *s)
{
	drain_all_pages(NULL);
	buddyinfo(0, "DMA", s->dma);
	buddyinfo(0, "Normal", s->normal);
	s->dma_free = zone_free(0, ZONE_DMA);
	s->normal_free = zone_free(0, ZONE_NORMAL);
}

static void assert_free_state_unchanged(const struct free_state *before, const char *what)
{
	struct free_state now;

	free_state(&now);
	assert_counts_eq(now.dma, before->dma, what);
	assert_counts_eq(now.normal, before->normal, what);
	cr_assert_eq(now.dma_free, before->dma_free, "%s: DMA free pages changed", what);
	cr_assert_eq(now.normal_free, before->normal_free, "%s: Normal free pages changed", what);
}

/* Run @stmt; it must be reported as exactly one bug whose message contains @needle. */
#define assert_one_bug(needle, stmt)                                                               \
	do {                                                                                       \
		unsigned long __errors = kmem_error_count();                                       \
		printk_capture();                                                                  \
		stmt;                                                                              \
		cr_assert_eq(kmem_error_count(), __errors + 1, "%s: %lu bugs reported", #stmt,     \
			     kmem_error_count() - __errors);                                       \
		cr_assert(printk_logged(needle), "%s: no '%s' in: %s", #stmt, needle, printk_log); \
	} while (0)

/* ------------------------------------------------------------------ orders */

Test(bad_input, order_above_max_page_order)
{
	struct free_state before;

	free_state(&before);
	cr_assert_null(alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER + 1));
	cr_assert_eq(printk_nr_msgs, 1, "%u messages: %s", printk_nr_msgs, printk_log);
	cr_assert(printk_logged("MAX_PAGE_ORDER"), "log: %s", printk_log);
	cr_assert(printk_logged("order 11"), "log: %s", printk_log);
	cr_assert_eq(kmem_error_count(), 0, "an impossible request is not a caught bug");

	printk_capture();
	cr_assert_null(alloc_pages(GFP_KERNEL | __GFP_NOWARN, MAX_PAGE_ORDER + 1));
	cr_assert_null(alloc_pages_node(0, GFP_KERNEL | __GFP_NOWARN, 31));
	cr_assert_eq(__get_free_pages(GFP_KERNEL | __GFP_NOWARN, 12), 0);
	cr_assert_eq(printk_nr_msgs, 0, "__GFP_NOWARN, yet: %s", printk_log);
	assert_free_state_unchanged(&before, "after order-11 requests");
	/* MAX_PAGE_ORDER itself is fine. */
	struct page *p = alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER);

	cr_assert_not_null(p);
	__free_pages(p, MAX_PAGE_ORDER);
}

/* ------------------------------------------------------------------ bad frees */

/* free_pages(0, order) does nothing, silently: kernel cleanup paths rely on it. */
Test(bad_input, free_pages_zero_is_a_noop)
{
	struct free_state before;

	free_state(&before);
	free_pages(0, 0);
	free_pages(0, 5);
	free_page(0);
	cr_assert_eq(printk_nr_msgs, 0, "messages: %s", printk_log);
	cr_assert_eq(kmem_error_count(), 0);
	assert_free_state_unchanged(&before, "after free_pages(0, ...)");
}

Test(bad_input, free_pages_outside_kmem)
{
	struct free_state before;
	static char not_kmem[2 * PAGE_SIZE];
	unsigned long outside = ALIGN((unsigned long)not_kmem, PAGE_SIZE);
	unsigned long end = (unsigned long)kmem_memory.base + (kmem_memory.max_pfn << PAGE_SHIFT);

	free_state(&before);
	assert_one_bug("not the address of a kmem page", free_pages(outside, 0));
	assert_one_bug("not the address of a kmem page", free_pages(outside, 4));
	assert_one_bug("not the address of a kmem page", free_pages(end, 0));
	assert_one_bug("not the address of a kmem page",
		       free_pages((unsigned long)kmem_memory.base - PAGE_SIZE, 0));
	assert_free_state_unchanged(&before, "after frees of foreign addresses");
}

Test(bad_input, free_pages_unaligned)
{
	unsigned long addr = __get_free_pages(GFP_KERNEL, 4);
	struct free_state before;

	cr_assert_neq(addr, 0);
	free_state(&before);
	assert_one_bug("not the address of a kmem page", free_pages(addr + 8, 4));
	assert_one_bug("not the address of a kmem page", free_pages(addr + PAGE_SIZE - 1, 0));
	assert_free_state_unchanged(&before, "after unaligned frees");
	/* The block is still the caller's, and frees normally. */
	unsigned long errors = kmem_error_count();

	free_pages(addr, 4);
	cr_assert_eq(kmem_error_count(), errors);
}

Test(bad_input, free_pages_bad_descriptor_or_order)
{
	struct page *p = alloc_pages(GFP_KERNEL, 0);
	struct free_state before;

	free_state(&before);
	assert_one_bug("not a page descriptor", __free_pages(NULL, 0));
	assert_one_bug("not a page descriptor", __free_pages((struct page *)((char *)p + 8), 0));
	assert_one_bug("order 11 is invalid", __free_pages(p, MAX_PAGE_ORDER + 1));
	assert_free_state_unchanged(&before, "after bad __free_pages");
	__free_pages(p, 0);
}

/* ------------------------------------------------------------------ double frees */

/* The first free merged the block into a larger one: nothing on the page itself tells. */
Test(bad_input, double_free_order4_merged)
{
	struct page *p = alloc_pages(GFP_KERNEL, 4);
	struct free_state before;

	__free_pages(p, 4);
	free_state(&before);
	assert_one_bug("double free", __free_pages(p, 4));
	assert_free_state_unchanged(&before, "after an order-4 double free");
	/* And as a different order. */
	assert_one_bug("double free", __free_pages(p, 2));
	assert_one_bug("double free", __free_pages(p + 8, 3));
	assert_free_state_unchanged(&before, "after freeing parts of a free block");
}

/* The first free left the block a free buddy head (its buddy is busy): PG_buddy tells. */
Test(bad_input, double_free_order4_buddy_head)
{
	/* ZONE_DMA: untouched until now, so a and b are the first two order-4 blocks. */
	struct page *a = alloc_pages(GFP_DMA, 4);
	struct page *b = alloc_pages(GFP_DMA, 4);
	struct free_state before;

	cr_assert_eq(page_to_pfn(b), page_to_pfn(a) ^ 16, "a and b are not buddies");
	__free_pages(a, 4);
	free_state(&before);
	cr_assert_eq(before.dma[4], 1);
	assert_one_bug("double free", __free_pages(a, 4));
	assert_free_state_unchanged(&before, "after a double free of a free buddy");
	__free_pages(b, 4);
}

/* Order 0, freed twice while the first free still sits on the per-CPU list (PG_pcp). */
Test(bad_input, double_free_order0_on_pcp_list)
{
	struct free_state start, before;

	free_state(&start);
	struct page *p = alloc_pages(GFP_KERNEL, 0);

	__free_pages(p, 0);
	cr_assert(PagePcp(p));
	assert_one_bug("double free", __free_pages(p, 0));
	free_state(&before);
	/* Back in the zone exactly once. */
	assert_counts_eq(before.normal, start.normal, "after the drain");
	cr_assert_eq(before.normal_free, start.normal_free);
	/* Handed out once, not twice. */
	struct page *q = alloc_pages(GFP_KERNEL, 0), *r = alloc_pages(GFP_KERNEL, 0);

	cr_assert_neq(q, r);
	__free_pages(q, 0);
	__free_pages(r, 0);
}

/*
 * Order 0 after drain_all_pages(): the page merged into a larger free block.
 * The second free must be caught at once, before the page reaches a
 * per-CPU list from which it could be handed out while it is also free in
 * the buddy lists.
 */
Test(bad_input, double_free_order0_after_drain)
{
	/* ZONE_DMA, untouched until now: p and q are pfns 0 and 1. */
	struct page *p = alloc_pages(GFP_DMA, 0);
	struct page *q = alloc_pages(GFP_DMA, 0);
	struct free_state before;

	cr_assert_eq(page_to_pfn(p), 0);
	cr_assert_eq(q, p + 1);
	__free_pages(p, 0);
	__free_pages(q, 0);
	free_state(&before); /* drains: q is now inside p's order-10 block, not a block head */
	cr_assert_not(PageBuddy(q));
	cr_assert_not(PagePcp(q));
	assert_one_bug("double free", __free_pages(q, 0));
	cr_assert_not(PagePcp(q), "the double-freed page went onto a per-CPU list");
	assert_free_state_unchanged(&before, "after an order-0 double free");
	/* q is handed out at most once: as part of the block, never also on its own. */
	struct page *pages[8];

	for (int i = 0; i < 8; i++) {
		pages[i] = alloc_pages(GFP_DMA, 0);
		for (int j = 0; j < i; j++)
			cr_assert_neq(pages[i], pages[j], "page %d handed out twice", j);
	}
	for (int i = 0; i < 8; i++)
		__free_pages(pages[i], 0);
	cr_assert_eq(kmem_error_count(), 1);
	/* The same for the block head: PG_buddy. */
	assert_one_bug("double free", __free_pages(p, 0));
}

/* A page kmem never handed out (free since kmem_init) freed by mistake. */
Test(bad_input, free_of_never_allocated_page)
{
	struct free_state before;
	struct page *p = alloc_pages(GFP_DMA, 0);

	free_state(&before);
	/* Deep inside ZONE_DMA, of which only p's order-10 block was ever touched. */
	assert_one_bug("free", __free_pages(pfn_to_page(page_to_pfn(p) + 3000), 0));
	assert_free_state_unchanged(&before, "after freeing a free page");
	__free_pages(p, 0);
}

/* ------------------------------------------------------------------ compound pages */

Test(bad_input, compound_freed_with_wrong_order)
{
	struct free_state start, before;

	free_state(&start);
	struct page *p = alloc_pages(GFP_KERNEL | __GFP_COMP, 3);
	struct page *big = alloc_pages(GFP_KERNEL | __GFP_COMP, 6);

	free_state(&before);
	assert_one_bug("compound order", __free_pages(p, 2));
	assert_one_bug("compound order", __free_pages(p, 4));
	assert_one_bug("compound order", __free_pages(big, 5));
	assert_one_bug("compound order", __free_pages(big, 0));
	assert_one_bug("tail page", __free_pages(p + 1, 0));
	assert_one_bug("tail page", __free_pages(big + 32, 5));
	assert_free_state_unchanged(&before, "after wrong-order frees");
	/* Still intact: the right order frees them. */
	cr_assert_eq(compound_order(p), 3);
	cr_assert_eq(compound_head(p + 7), p);
	unsigned long errors = kmem_error_count();

	__free_pages(p, 3);
	__free_pages(big, 6);
	cr_assert_eq(kmem_error_count(), errors);
	assert_free_state_unchanged(&start, "after the right frees");
}

/* ------------------------------------------------------------------ failures */

/* Take everything with @gfp | __GFP_NOWARN at @order; the blocks go to @pages. */
static size_t exhaust(gfp_t gfp, unsigned int order, struct page **pages, size_t max)
{
	size_t n = 0;
	struct page *p;

	while (n < max && (p = alloc_pages(gfp | __GFP_NOWARN, order)))
		pages[n++] = p;
	cr_assert_lt(n, max);
	return n;
}

Test(bad_input, allocation_failure_warning)
{
	static struct page *pages[4096];
	size_t n = exhaust(GFP_KERNEL, MAX_PAGE_ORDER, pages, ARRAY_SIZE(pages));
	unsigned int order, mode;

	cr_assert_gt(n, 0);
	printk_capture();
	cr_assert_null(alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER));
	const char *msg = strstr(printk_log, "page allocation failure: ");

	cr_assert_not_null(msg, "no warning: %s", printk_log);
	cr_assert_eq(sscanf(msg, "page allocation failure: order:%u, mode:%x", &order, &mode), 2,
		     "bad warning: %s", msg);
	cr_assert_eq(order, MAX_PAGE_ORDER);
	cr_assert_eq(mode, GFP_KERNEL);
	cr_assert(strstr(msg, "mode:0xcc0(GFP_KERNEL)"), "warning: %s", msg);
	cr_assert_eq(kmem_error_count(), 0, "running out of memory is not a caught bug");

	/* DMA: the zone modifier shows in the mode. */
	size_t d = exhaust(GFP_DMA, 0, pages + n, ARRAY_SIZE(pages) - n);

	printk_capture();
	cr_assert_null(alloc_pages(GFP_DMA, 0));
	msg = strstr(printk_log, "page allocation failure: ");
	cr_assert_not_null(msg, "no warning: %s", printk_log);
	cr_assert_eq(sscanf(msg, "page allocation failure: order:%u, mode:%x", &order, &mode), 2);
	cr_assert_eq(order, 0);
	cr_assert_eq(mode, GFP_DMA);

	/* __GFP_NOWARN: not a word. */
	printk_capture();
	cr_assert_null(alloc_pages(GFP_KERNEL | __GFP_NOWARN, MAX_PAGE_ORDER));
	cr_assert_null(alloc_pages(GFP_DMA | __GFP_NOWARN, 0));
	cr_assert_null(alloc_pages(GFP_ATOMIC | __GFP_NOWARN, MAX_PAGE_ORDER));
	cr_assert_eq(printk_nr_msgs, 0, "__GFP_NOWARN, yet: %s", printk_log);

	for (size_t i = 0; i < d; i++)
		__free_pages(pages[n + i], 0);
	for (size_t i = 0; i < n; i++)
		__free_pages(pages[i], MAX_PAGE_ORDER);
}

/* ------------------------------------------------------------------ configuration */

TestSuite(config, .fini = teardown);

Test(config, caller_buffer_too_small)
{
	static char small[64 << 10];

	printk_capture();
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem = small, .mem_size = sizeof(small) }),
		     -EINVAL);
	cr_assert_gt(printk_nr_msgs, 0);
	cr_assert(printk_logged("buffer"), "log: %s", printk_log);
	cr_assert_not(virt_addr_valid(small));
	/* A buffer needs its size. */
	printk_capture();
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem = small }), -EINVAL);
	cr_assert(printk_logged("mem_size"), "log: %s", printk_log);
	/* Room for the per-CPU units, but not for enough pages. */
	static char medium[600 << 10];

	printk_capture();
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem = medium, .mem_size = sizeof(medium) }),
		     -EINVAL);
	cr_assert_gt(printk_nr_msgs, 0);
	/* None of these left kmem half initialised. */
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = ARENA_SIZE }), 0);
}

static void assert_env_rejected(const char *var, const char *value)
{
	char want[64];

	setenv(var, value, 1);
	printk_capture();
	cr_assert_eq(kmem_init(NULL), -EINVAL, "%s=%s accepted", var, value);
	snprintf(want, sizeof(want), "%s='%s'", var, value);
	cr_assert(printk_logged(want), "%s=%s: no \"%s\" in: %s", var, value, want, printk_log);
	cr_assert_eq(kmem_error_count(), 0);
	unsetenv(var);
}

Test(config, bad_environment)
{
	setenv("KMEM_MEM", "64M", 1);
	assert_env_rejected("KMEM_MEM", "12Q");
	assert_env_rejected("KMEM_MEM", "-64M");
	assert_env_rejected("KMEM_MEM", "");
	assert_env_rejected("KMEM_MEM", "64M ");
	setenv("KMEM_MEM", "64M", 1);
	assert_env_rejected("KMEM_NODES", "0");
	setenv("KMEM_MEM", "64M", 1);
	assert_env_rejected("KMEM_NODES", "65");
	setenv("KMEM_MEM", "64M", 1);
	assert_env_rejected("KMEM_NODES", "x");
	setenv("KMEM_MEM", "64M", 1);
	assert_env_rejected("KMEM_NODES", "2x");
	/* Good values are taken. */
	setenv("KMEM_MEM", "32M", 1);
	setenv("KMEM_NODES", "2", 1);
	cr_assert_eq(kmem_init(NULL), 0);
	cr_assert_eq(kmem_memory.max_pfn, (32UL << 20) / PAGE_SIZE);
	cr_assert_eq(kmem_memory.nr_nodes, 2);
	kmem_exit();
	/* An explicit configuration wins over the environment, which is not even read. */
	setenv("KMEM_MEM", "12Q", 1);
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = 16UL << 20, .nr_nodes = 1 }), 0);
	cr_assert_eq(kmem_memory.max_pfn, (16UL << 20) / PAGE_SIZE);
	unsetenv("KMEM_MEM");
	unsetenv("KMEM_NODES");
}

/* A program that never calls kmem_init(): the first allocation reports the bad variable. */
Test(config, bad_environment_auto_init)
{
	setenv("KMEM_MEM", "12Q", 1);
	printk_capture();
	cr_assert_null(alloc_pages(GFP_KERNEL, 0));
	cr_assert(printk_logged("KMEM_MEM='12Q'"), "log: %s", printk_log);
	/* Said once, not at every allocation. */
	unsigned int msgs = printk_nr_msgs;

	cr_assert_null(alloc_pages(GFP_KERNEL, 0));
	cr_assert_eq(printk_nr_msgs, msgs, "log: %s", printk_log);
	unsetenv("KMEM_MEM");
	/* An explicit kmem_init() still works after the failed automatic one. */
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = ARENA_SIZE }), 0);
	struct page *p = alloc_pages(GFP_KERNEL, 0);

	cr_assert_not_null(p);
	__free_pages(p, 0);
}

Test(config, init_twice_and_again_after_exit)
{
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = ARENA_SIZE }), 0);
	struct page *p = alloc_pages(GFP_KERNEL, 3);

	cr_assert_not_null(p);
	printk_capture();
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = ARENA_SIZE }), -EBUSY);
	cr_assert(printk_logged("already initialised"), "log: %s", printk_log);
	/* The running instance is untouched. */
	cr_assert_eq(kmem_memory.max_pfn, ARENA_SIZE / PAGE_SIZE);
	void *addr = page_address(p);

	cr_assert(virt_addr_valid(addr));
	__free_pages(p, 3);
	kmem_exit();
	kmem_exit(); /* a second exit does nothing */
	cr_assert_not(virt_addr_valid(addr));

	/* A fresh instance, of another size, starts from scratch. */
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = 32UL << 20, .no_reporting = 1 }),
		     0);
	unsigned long c[NR_PAGE_ORDERS];
	static const unsigned long want[NR_PAGE_ORDERS] = { [MAX_PAGE_ORDER] = 2 };

	cr_assert_eq(kmem_memory.max_pfn, (32UL << 20) / PAGE_SIZE);
	buddyinfo(0, "DMA", c); /* a quarter of 32 MiB: 8 MiB */
	assert_counts_eq(c, want, "DMA after re-init");
	p = alloc_pages(GFP_KERNEL, 3);
	cr_assert_not_null(p);
	__free_pages(p, 3);
}

/* Embedded use: a static buffer, no mmap; every page kmem hands out lies inside it. */
#define EMBEDDED_SIZE (16UL << 20)
static char embedded[EMBEDDED_SIZE] __attribute__((aligned(4096)));

Test(config, embedded_static_buffer)
{
	static struct page *pages[EMBEDDED_SIZE / PAGE_SIZE];
	static unsigned int orders[EMBEDDED_SIZE / PAGE_SIZE];
	uint64_t rng = 99;

	for (int run = 0; run < 2; run++) { /* the second run reuses the dirty buffer */
		size_t n = 0;
		int max_order = MAX_PAGE_ORDER;

		cr_assert_eq(kmem_init(&(struct kmem_config){
				     .mem = embedded, .mem_size = EMBEDDED_SIZE, .nr_cpus = 8 }),
			     0);
		cr_assert_geq((char *)kmem_memory.mem_map, embedded);
		cr_assert_leq((char *)(kmem_memory.mem_map + kmem_memory.max_pfn),
			      embedded + EMBEDDED_SIZE);
		cr_assert_geq(kmem_memory.base, embedded);
		cr_assert_leq(kmem_memory.base + (kmem_memory.max_pfn << PAGE_SHIFT),
			      embedded + EMBEDDED_SIZE);
		/*
		 * What is not pages is per-CPU units, descriptors and the slab map: the buffer
		 * is not wasted (no more than a page or two of rounding).
		 */
		long meta =
			(long)(kmem_memory.max_pfn * (sizeof(struct page) + sizeof(uint64_t) + 1) +
			       PAGE_SIZE);
		long units = 8 * (64L << 10);
		long waste = (long)EMBEDDED_SIZE - units - meta -
			     (long)(kmem_memory.max_pfn << PAGE_SHIFT);

		cr_assert_lt(waste, 2 * (long)PAGE_SIZE,
			     "%lu pages of a %lu MiB buffer: %ld bytes unused", kmem_memory.max_pfn,
			     EMBEDDED_SIZE >> 20, waste);

		while (max_order >= 0) {
			unsigned int order = (unsigned int)(prng_next(&rng) % (max_order + 1));
			gfp_t gfp = (prng_next(&rng) & 1) ? GFP_KERNEL : GFP_DMA;
			struct page *p = alloc_pages(gfp | __GFP_NOWARN, order);

			if (!p) {
				if (gfp == GFP_KERNEL)
					max_order = (int)order - 1;
				continue;
			}
			char *addr = page_address(p);

			expect(addr >= embedded &&
				       addr + (PAGE_SIZE << order) <= embedded + EMBEDDED_SIZE,
			       "order-%u block at %p outside the buffer", order, addr);
			memset(addr, 0x77, PAGE_SIZE << order);
			pages[n] = p;
			orders[n++] = order;
		}
		unsigned long taken = 0;

		for (size_t i = 0; i < n; i++)
			taken += 1UL << orders[i];
		cr_assert_gt(taken, kmem_memory.max_pfn * 8 / 10,
			     "only %lu of %lu pages handed out", taken, kmem_memory.max_pfn);
		for (size_t i = 0; i < n; i++)
			__free_pages(pages[i], orders[i]);
		cr_assert_eq(kmem_error_count(), 0);
		kmem_exit();
	}
}
