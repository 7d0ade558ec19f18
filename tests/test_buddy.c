// SPDX-License-Identifier: MIT
/* The buddy allocator's splitting and merging, step by step (seeds 000-003). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kmem/kmem.h>

/* Free blocks per order in @zone ("DMA" or "Normal") of node 0, from buddyinfo. */
static void buddyinfo(const char *zone, unsigned long counts[NR_PAGE_ORDERS])
{
	char buf[4096], name[16];
	int node;

	cr_assert_gt(kmem_proc_read("buddyinfo", buf, sizeof(buf)), 0);
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		int n = 0;

		cr_assert_eq(sscanf(line, "Node %d, zone %15s%n", &node, name, &n), 2);
		if (node != 0 || strcmp(name, zone))
			continue;
		char *p = line + n;

		for (int o = 0; o < NR_PAGE_ORDERS; o++)
			counts[o] = strtoul(p, &p, 10);
		return;
	}
	cr_assert_fail("zone %s not in buddyinfo", zone);
}

static void setup(void)
{
	struct kmem_config cfg = { .mem_size = 64 << 20 };

	cr_assert_eq(kmem_init(&cfg), 0);
}

static void teardown(void)
{
	kmem_exit();
}

TestSuite(buddy, .init = setup, .fini = teardown);

/* Seed 001: 16K managed; a 3.6K request is rounded to 4K by two splits; the free merges back. */
Test(buddy, seed001_split_and_merge)
{
	unsigned long c[NR_PAGE_ORDERS];

	cr_assert_eq(get_order(3686), 0);
	/* Orders above the per-CPU lists go straight to the zone: the split shows exactly. */
	struct page *p = alloc_pages(GFP_DMA, 4 + 0); /* 64K from a 4M block: 6 splits */

	buddyinfo("DMA", c);
	for (int o = 4; o < MAX_PAGE_ORDER; o++)
		cr_assert_eq(c[o], 1, "order %d: %lu free blocks, expected 1", o, c[o]);
	cr_assert_eq(c[MAX_PAGE_ORDER], 3);
	__free_pages(p, 4);
	buddyinfo("DMA", c);
	for (int o = 0; o < MAX_PAGE_ORDER; o++)
		cr_assert_eq(c[o], 0, "order %d did not merge back", o);
	cr_assert_eq(c[MAX_PAGE_ORDER], 4);
}
