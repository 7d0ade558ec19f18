/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the page allocator's single-threaded tests
 * (test_buddy.c, test_zones.c, test_bad_input.c, test_proc.c): a printk hook
 * that records every message, readers for the /proc views, and a small fixed
 * seed PRNG. Everything is static: each test program includes it once.
 */
#ifndef KMEM_TESTS_PAGE_TEST_H
#define KMEM_TESTS_PAGE_TEST_H

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kmem/kmem.h>

#include "mm/internal.h"

/*
 * cr_assert() for hot loops: with --full-stats (as ctest runs the tests)
 * Criterion sends every assertion to its runner, which costs milliseconds
 * per thousand; this one only reports a failure.
 */
#define expect(cond, ...)                                                                          \
	do {                                                                                       \
		if (!(cond))                                                                       \
			cr_assert_fail(__VA_ARGS__);                                               \
	} while (0)

/* ------------------------------------------------------------ printk log */

static char printk_log[1 << 16];
static size_t printk_log_len;
static unsigned int printk_nr_msgs;

static void record_printk(int level, const char *msg)
{
	size_t n = strlen(msg);

	(void)level;
	printk_nr_msgs++;
	if (printk_log_len + n + 1 < sizeof(printk_log)) {
		memcpy(printk_log + printk_log_len, msg, n + 1);
		printk_log_len += n;
	}
}

/* Start recording (and silencing) kmem's messages from now on. */
static __maybe_unused void printk_capture(void)
{
	printk_log[0] = '\0';
	printk_log_len = 0;
	printk_nr_msgs = 0;
	kmem_set_printk(record_printk);
}

static __maybe_unused bool printk_logged(const char *needle)
{
	return strstr(printk_log, needle) != NULL;
}

/* ------------------------------------------------------------ /proc views */

#define PROC_BUF_SIZE (1 << 16)

/* Read a whole /proc view into a static buffer; asserts that it fits. */
static __maybe_unused char *proc_read(const char *name)
{
	static char buf[PROC_BUF_SIZE];
	ssize_t len = kmem_proc_read(name, buf, sizeof(buf));

	cr_assert_gt(len, 0, "kmem_proc_read(%s) returned %zd", name, len);
	cr_assert_lt((size_t)len, sizeof(buf), "%s is %zd bytes long", name, len);
	cr_assert_eq(strlen(buf), (size_t)len, "%s: returned length != strlen", name);
	return buf;
}

/* Free blocks per order of @zone ("DMA", "Normal") of node @nid, from buddyinfo. */
static __maybe_unused void buddyinfo(int nid, const char *zone,
				     unsigned long counts[NR_PAGE_ORDERS])
{
	char *buf = proc_read("buddyinfo"), *save = NULL;

	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[16];
		int node, n = 0;

		cr_assert_eq(sscanf(line, "Node %d, zone %15s%n", &node, name, &n), 2,
			     "bad buddyinfo line '%s'", line);
		if (node != nid || strcmp(name, zone))
			continue;
		char *p = line + n;

		for (int o = 0; o < NR_PAGE_ORDERS; o++) {
			char *end;

			counts[o] = strtoul(p, &end, 10);
			cr_assert_neq(end, p, "buddyinfo line '%s': no order %d", line, o);
			p = end;
		}
		return;
	}
	cr_assert_fail("node %d zone %s is not in buddyinfo", nid, zone);
}

static __maybe_unused void assert_counts_eq(const unsigned long got[NR_PAGE_ORDERS],
					    const unsigned long want[NR_PAGE_ORDERS],
					    const char *what)
{
	for (int o = 0; o < NR_PAGE_ORDERS; o++)
		cr_assert_eq(got[o], want[o], "%s: order %d has %lu free blocks, expected %lu",
			     what, o, got[o], want[o]);
}

/* "Number of blocks type" row of pagetypeinfo for one zone: pageblocks per migratetype. */
static __maybe_unused void pageblock_counts(int nid, const char *zone,
					    unsigned long blocks[MIGRATE_TYPES])
{
	char *buf = proc_read("pagetypeinfo");
	char *p = strstr(buf, "\nNumber of blocks type ");
	char head[64];

	cr_assert_not_null(p, "no 'Number of blocks type' header in pagetypeinfo");
	snprintf(head, sizeof(head), "\nNode %d, zone %8s ", nid, zone);
	p = strstr(p, head);
	cr_assert_not_null(p, "no '%s' row in the pageblock counts", head + 1);
	p += strlen(head);
	for (int t = 0; t < MIGRATE_TYPES; t++)
		blocks[t] = strtoul(p, &p, 10);
}

/* ------------------------------------------------------------ zones */

static __maybe_unused struct zone *zone_of(int nid, enum zone_type idx)
{
	return &NODE_DATA(nid)->node_zones[idx];
}

/* Free pages of a zone in the buddy lists (per-CPU lists drained first). */
static __maybe_unused unsigned long zone_free(int nid, enum zone_type idx)
{
	drain_all_pages(NULL);
	return zone_page_state_free(zone_of(nid, idx));
}

/* ------------------------------------------------------------ randomness */

/* xorshift64*: the same sequence on every machine, for a fixed seed. */
static __maybe_unused uint64_t prng_next(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

#endif /* KMEM_TESTS_PAGE_TEST_H */
