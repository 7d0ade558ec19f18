// SPDX-License-Identifier: MIT
/*
 * Free memory going back to the OS (page_reporting.c, vmscan.c): the
 * resident set falls when large blocks are freed, at once with
 * kmem_release_free_memory() or later by the background thread; reported
 * memory reads as zero; blocks freed and taken again quickly stay resident;
 * no_reporting and caller-supplied memory never discard anything.
 *
 * RSS is read from /proc/self/statm. The bounds leave room for whatever else
 * the process maps or frees meanwhile (Criterion, the sanitizers).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <kmem/kmem.h>

#include "mm/internal.h"
#include "mm/kasan.h"

#define MiB (1UL << 20)
#define MAX_BLOCKS 256

/* An assertion for loops: Criterion's --full-stats reports every cr_assert, passed or not. */
#define check(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			cr_assert_fail(__VA_ARGS__);                                               \
	} while (0)

static size_t rss(void)
{
	unsigned long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");

	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%lu %lu", &size, &resident), 2);
	fclose(f);
	return resident * (size_t)sysconf(_SC_PAGESIZE);
}

static unsigned long vmstat(const char *name)
{
	char buf[4096];
	size_t len = strlen(name);

	cr_assert_gt(kmem_proc_read("vmstat", buf, sizeof(buf)), 0);
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (!strncmp(line, name, len) && line[len] == ' ')
			return strtoul(line + len + 1, NULL, 10);
	cr_assert_fail("vmstat has no %s", name);
	return 0;
}

/* Busy-wait: a sleep would give the background thread the processor. */
static void spin_us(unsigned int us)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000L + (t.tv_nsec - t0.tv_nsec) / 1000 < (long)us);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts))
		;
}

struct blocks {
	struct page *page[MAX_BLOCKS];
	unsigned int order[MAX_BLOCKS];
	int nr;
};

/* Allocate @bytes in blocks of alternating order 10 and 9 (or just @only_order if set). */
static void alloc_blocks(struct blocks *b, size_t bytes, gfp_t gfp, int only_order)
{
	size_t got = 0;

	b->nr = 0;
	while (got < bytes) {
		unsigned int order = only_order >= 0 ?
					     (unsigned int)only_order :
					     (b->nr & 1 ? pageblock_order : MAX_PAGE_ORDER);

		if (got + (PAGE_SIZE << order) > bytes)
			order = pageblock_order;
		cr_assert_lt(b->nr, MAX_BLOCKS);
		b->page[b->nr] = alloc_pages(gfp, order);
		cr_assert_not_null(b->page[b->nr], "block %d of order %u", b->nr, order);
		b->order[b->nr++] = order;
		got += PAGE_SIZE << order;
	}
}

/* Write a pattern to every page (so it is resident), distinct per page. */
static void touch_blocks(const struct blocks *b, unsigned long seed)
{
	for (int i = 0; i < b->nr; i++) {
		char *p = page_address(b->page[i]);

		for (unsigned long off = 0; off < (PAGE_SIZE << b->order[i]); off += PAGE_SIZE) {
			memset(p + off, 0xa5, PAGE_SIZE);
			*(unsigned long *)(p + off) = seed ^ (unsigned long)(p + off);
		}
	}
}

/* Pages of @b whose pattern is intact; the rest must read as zero (discarded). */
static __no_sanitize_address unsigned long intact_pages(const struct blocks *b, unsigned long seed)
{
	unsigned long intact = 0;

	for (int i = 0; i < b->nr; i++) {
		char *p = page_address(b->page[i]);

		for (unsigned long off = 0; off < (PAGE_SIZE << b->order[i]); off += PAGE_SIZE) {
			unsigned long w = *(unsigned long *)(p + off);

			if (w == (seed ^ (unsigned long)(p + off)) &&
			    (unsigned char)p[off + PAGE_SIZE - 1] == 0xa5)
				intact++;
			else
				check(w == 0 && p[off + PAGE_SIZE - 1] == 0,
				      "page at %p neither intact nor zero", (void *)(p + off));
		}
	}
	return intact;
}

static __no_sanitize_address bool all_zero(const void *addr, size_t len)
{
	const unsigned long *w = addr;

	for (size_t i = 0; i < len / sizeof(long); i++)
		if (w[i])
			return false;
	return true;
}

static void free_blocks(const struct blocks *b)
{
	for (int i = 0; i < b->nr; i++)
		__free_pages(b->page[i], b->order[i]);
}

static size_t blocks_bytes(const struct blocks *b)
{
	size_t n = 0;

	for (int i = 0; i < b->nr; i++)
		n += PAGE_SIZE << b->order[i];
	return n;
}

/*
 * Every free block the reporter deals with (pageblock order and up) is
 * reported, in every zone; smaller free blocks never are.
 */
static void assert_all_free_reported(void)
{
	struct zone *zone;

	for_each_populated_zone(zone) {
		unsigned long nr_free[NR_PAGE_ORDERS], nr_reported[NR_PAGE_ORDERS];

		spin_lock(&zone->lock);
		for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++) {
			nr_free[o] = zone->free_area[o].nr_free;
			nr_reported[o] = zone->free_area[o].nr_reported;
		}
		spin_unlock(&zone->lock);
		for (unsigned int o = pageblock_order; o < NR_PAGE_ORDERS; o++)
			cr_assert_eq(nr_reported[o], nr_free[o],
				     "zone %s order %u: %lu free blocks, %lu reported", zone->name,
				     o, nr_free[o], nr_reported[o]);
	}
}

/* ------------------------------------------------------------------- tests */

static unsigned long free_pages_now(void)
{
	return vmstat("nr_free_pages");
}

/*
 * 128 MiB touched and freed: kmem_release_free_memory() gives it back. The
 * RSS falls by at least 100 MiB, all of it is reported (by the call, or by
 * the background thread, which starts at once because 128 MiB is far above
 * the reporting mark of a 256 MiB arena), and the memory reads as zero
 * afterwards, through the old addresses and through __GFP_ZERO allocations
 * that skip the memset because of it.
 */
Test(reporting, release_drops_rss)
{
	static struct blocks b;

	/* A long delay: only kmem_release_free_memory() (or pressure) reports. */
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = 256 * MiB,
						      .reporting_delay_ms = 60000 }),
		     0);
	kmem_release_free_memory();
	unsigned long free0 = free_pages_now();

	alloc_blocks(&b, 128 * MiB, GFP_KERNEL, -1);
	cr_assert_eq(blocks_bytes(&b), 128 * MiB);
	touch_blocks(&b, 1);
	size_t peak = rss();
	unsigned long reported0 = vmstat("pgreported");

	free_blocks(&b);
	size_t ret = kmem_release_free_memory();
	size_t after = rss();
	unsigned long reported = vmstat("pgreported") - reported0;

	cr_assert_geq(peak - after, 100 * MiB, "RSS %zu MiB -> %zu MiB", peak / MiB, after / MiB);
	/* Between them, the background reporter and the call gave back all of it. */
	cr_assert_geq(reported << PAGE_SHIFT, 128 * MiB, "pgreported rose by %lu pages", reported);
	cr_assert_gt(ret, 0);
	cr_assert_leq(ret, reported << PAGE_SHIFT, "returned %zu MiB, %lu pages reported in all",
		      ret / MiB, reported);
	/* When it returns, no block is still off the lists being discarded. */
	cr_assert_eq(free_pages_now(), free0);
	assert_all_free_reported();
	/* Nothing is left to report. */
	cr_assert_eq(kmem_release_free_memory(), 0);

	/*
	 * The freed memory reads as zero. (Whether reading it costs memory again
	 * is the kernel's business: with transparent huge pages a read fault may
	 * take a whole huge page.)
	 */
	for (int i = 0; i < b.nr; i++)
		check(all_zero(page_address(b.page[i]), PAGE_SIZE << b.order[i]),
		      "block %d (order %u) not zero after release", i, b.order[i]);

	/* __GFP_ZERO on reported blocks: zero without a memset. */
	static struct blocks z;

	alloc_blocks(&z, 96 * MiB, GFP_KERNEL | __GFP_ZERO, -1);
	for (int i = 0; i < z.nr; i++)
		check(all_zero(page_address(z.page[i]), PAGE_SIZE << z.order[i]),
		      "__GFP_ZERO block %d (order %u) not zero", i, z.order[i]);
	/* Small orders split from reported blocks, through the per-CPU lists too. */
	for (unsigned int order = 0; order <= 4; order++) {
		for (int i = 0; i < 64; i++) {
			struct page *p = alloc_pages(GFP_KERNEL | __GFP_ZERO, order);

			cr_assert_not_null(p);
			check(all_zero(page_address(p), PAGE_SIZE << order),
			      "__GFP_ZERO order %u not zero", order);
			memset(page_address(p), 0x77, PAGE_SIZE << order);
			__free_pages(p, order);
		}
	}
	/*
	 * Dirty, resident blocks freed and taken again at once are not reported:
	 * __GFP_ZERO must clear them itself.
	 */
	touch_blocks(&z, 2);
	free_blocks(&z);
	alloc_blocks(&z, 96 * MiB, GFP_KERNEL | __GFP_ZERO, -1);
	for (int i = 0; i < z.nr; i++)
		check(all_zero(page_address(z.page[i]), PAGE_SIZE << z.order[i]),
		      "__GFP_ZERO block %d (order %u) holds old data", i, z.order[i]);
	free_blocks(&z);
	for (int i = 0; i < 64; i++) {
		unsigned long addr = get_zeroed_page(GFP_KERNEL);

		cr_assert_neq(addr, 0);
		check(all_zero((void *)addr, PAGE_SIZE), "get_zeroed_page not zero");
		memset((void *)addr, 0x33, PAGE_SIZE);
		free_page(addr);
	}
	cr_assert_eq(kmem_error_count(), 0);
	kmem_exit();
}

/*
 * Without pressure the background thread waits for the delay, so the call
 * itself reports everything: in a 8 GiB arena (reserved, not committed) the
 * reporting mark is 256 MiB, and 128 MiB freed stays resident until the call.
 */
Test(reporting, release_returns_what_it_reported)
{
	static struct blocks b;

	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = 8192 * MiB,
						      .reporting_delay_ms = 60000 }),
		     0);
	kmem_release_free_memory();
	alloc_blocks(&b, 128 * MiB, GFP_KERNEL, -1);
	touch_blocks(&b, 9);
	size_t peak = rss();
	unsigned long reported0 = vmstat("pgreported");

	free_blocks(&b);
	size_t ret = kmem_release_free_memory();

	cr_assert_geq(ret, 128 * MiB, "kmem_release_free_memory() returned %zu MiB", ret / MiB);
	cr_assert_eq(vmstat("pgreported") - reported0, ret >> PAGE_SHIFT);
	cr_assert_geq(peak - rss(), 100 * MiB);
	assert_all_free_reported();
	cr_assert_eq(intact_pages(&b, 9), 0);
	kmem_exit();
}

/*
 * kmem_release_free_memory() racing the background thread: whenever it
 * returns, every free page is back on the lists and reported, even when the
 * background thread had a batch off the lists when the call came.
 */
Test(reporting, release_waits_for_background_pass)
{
	static struct blocks b;

	cr_assert_eq(
		kmem_init(&(struct kmem_config){ .mem_size = 256 * MiB, .reporting_delay_ms = 1 }),
		0);
	kmem_release_free_memory();
	unsigned long free0 = free_pages_now();

	for (int round = 0; round < 20; round++) {
		alloc_blocks(&b, 32 * MiB, GFP_KERNEL, MAX_PAGE_ORDER);
		touch_blocks(&b, 10);
		free_blocks(&b);
		/*
		 * Come in at a different point of the background pass each round
		 * (it starts within a millisecond or so and discards for a few).
		 */
		spin_us((unsigned int)(round % 10) * 200);
		kmem_release_free_memory();
		unsigned long now = free_pages_now();

		cr_assert_eq(now, free0, "round %d: %ld pages still off the lists", round,
			     (long)(free0 - now));
		assert_all_free_reported();
	}
	kmem_exit();
}

/*
 * The lazy path: with a 100 ms delay, 64 MiB freed and left alone goes back to
 * the OS by itself, within a few seconds at most.
 */
Test(reporting, background_thread_releases)
{
	static struct blocks b;

	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = 256 * MiB,
						      .reporting_delay_ms = 100 }),
		     0);
	alloc_blocks(&b, 64 * MiB, GFP_KERNEL, -1);
	touch_blocks(&b, 3);
	size_t peak = rss();
	unsigned long reported0 = vmstat("pgreported");

	free_blocks(&b);
	size_t now = peak;
	unsigned long reported = 0;

	for (int ms = 0; ms < 5000; ms += 20) {
		now = rss();
		reported = vmstat("pgreported") - reported0;
		if (peak - now >= 56 * MiB && reported << PAGE_SHIFT >= 64 * MiB)
			break;
		sleep_ms(20);
	}
	cr_assert_geq(peak - now, 56 * MiB, "after 5 s RSS fell only from %zu to %zu MiB",
		      peak / MiB, now / MiB);
	cr_assert_geq(reported << PAGE_SHIFT, 64 * MiB, "after 5 s only %lu pages reported",
		      reported);
	assert_all_free_reported();
	cr_assert_eq(intact_pages(&b, 3), 0);
	kmem_exit();
}

/*
 * Free memory below the pressure mark is reported only once it has aged: a
 * small amount freed with a 100 ms delay is reported by the background thread
 * alone, with no allocation or call to wake it again.
 */
Test(reporting, background_thread_reports_aged_blocks)
{
	static struct blocks b;

	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = 256 * MiB,
						      .reporting_delay_ms = 100 }),
		     0);
	alloc_blocks(&b, 8 * MiB, GFP_KERNEL, MAX_PAGE_ORDER);
	touch_blocks(&b, 4);
	unsigned long reported0 = vmstat("pgreported"), reported = 0;

	free_blocks(&b);
	for (int ms = 0; ms < 5000 && reported < (8 * MiB >> PAGE_SHIFT); ms += 20) {
		sleep_ms(20);
		reported = vmstat("pgreported") - reported0;
	}
	cr_assert_geq(reported, 8 * MiB >> PAGE_SHIFT, "after 5 s only %lu pages reported",
		      reported);
	cr_assert_eq(intact_pages(&b, 4), 0);
	kmem_exit();
}

/* Deal @b's blocks out: one in eight to @pinned, the rest to @freed. */
static void pin_one_in_eight(const struct blocks *b, struct blocks *freed, struct blocks *pinned)
{
	freed->nr = pinned->nr = 0;
	for (int i = 0; i < b->nr; i++) {
		struct blocks *to = i % 8 ? freed : pinned;

		to->page[to->nr] = b->page[i];
		to->order[to->nr++] = b->order[i];
	}
}

/*
 * Blocks below pageblock order go back too, once aged and when there are
 * more than 16 MiB of them: 48 MiB of 256 KiB blocks with one in eight kept
 * (so no 2 MiB block can form) gives back the 42 MiB freed around the pins.
 */
Test(reporting, background_thread_reports_aged_low_order_blocks)
{
	static struct blocks b, freed, pinned;

	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = 256 * MiB,
						      .reporting_delay_ms = 100 }),
		     0);
	alloc_blocks(&b, 48 * MiB, GFP_KERNEL, 6);
	touch_blocks(&b, 7);
	pin_one_in_eight(&b, &freed, &pinned);
	unsigned long reported0 = vmstat("pgreported"), reported = 0;
	unsigned long want = blocks_bytes(&freed) >> PAGE_SHIFT;

	free_blocks(&freed);
	/*
	 * The reporter works in passes on a background thread: on a slow build
	 * (ASan) or a loaded machine the last pass may still be due, so wait up
	 * to 15 s for all of it, and then accept the last 1/16 still pending.
	 * pgreported also counts other free pages (what init freed), so it can
	 * reach @want first: wait for the freed pages themselves to be gone.
	 */
	unsigned long intact = want;

	for (int ms = 0; ms < 15000 && (reported < want || intact); ms += 20) {
		sleep_ms(20);
		reported = vmstat("pgreported") - reported0;
		if (reported >= want - want / 16)
			intact = intact_pages(&freed, 7);
	}
	cr_assert_geq(reported, want - want / 16, "after 15 s %lu of %lu pages reported", reported,
		      want);
	/*
	 * The reporter stops looking at low-order blocks once fewer than its
	 * backlog (16 MiB) of them are unreported, so on a slow build up to
	 * that much may stay resident by design.
	 */
	cr_assert_leq(intact, (16 * MiB) >> PAGE_SHIFT,
		      "after 15 s %lu of %lu freed pages still resident", intact, want);
	cr_assert_eq(intact_pages(&pinned, 7), blocks_bytes(&pinned) >> PAGE_SHIFT,
		     "a block in use was discarded");
	free_blocks(&pinned);
	kmem_exit();
}

/*
 * A low-order backlog goes back whole, however its frees fall between the
 * reporter's passes: 28 MiB freed (past the 16 MiB backlog, which wakes the
 * reporter), then 14 MiB more after its pass has begun. The first 28 MiB age
 * one pass before the rest; the 14 MiB left then are under the backlog but
 * were part of it, so they go too.
 */
Test(reporting, low_order_backlog_freed_across_passes_goes_back_whole)
{
	static struct blocks b, freed, pinned, first, rest;

	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = 256 * MiB,
						      .reporting_delay_ms = 1000 }),
		     0);
	alloc_blocks(&b, 48 * MiB, GFP_KERNEL, 6);
	touch_blocks(&b, 8);
	pin_one_in_eight(&b, &freed, &pinned);
	for (int i = 0; i < freed.nr; i++) {
		struct blocks *to = i < freed.nr * 2 / 3 ? &first : &rest;

		to->page[to->nr] = freed.page[i];
		to->order[to->nr++] = freed.order[i];
	}
	cr_assert_lt(blocks_bytes(&rest), 16 * MiB);
	cr_assert_gt(blocks_bytes(&first), 16 * MiB);

	free_blocks(&first);
	sleep_ms(100); /* the reporter's first pass begins; its next is 500 ms away */
	free_blocks(&rest);

	unsigned long intact = blocks_bytes(&freed) >> PAGE_SHIFT;

	for (int ms = 0; ms < 15000 && intact; ms += 50) {
		sleep_ms(50);
		intact = intact_pages(&freed, 8);
	}
	cr_assert_eq(intact, 0, "after 15 s %lu of %zu freed pages still resident", intact,
		     blocks_bytes(&freed) >> PAGE_SHIFT);
	cr_assert_eq(intact_pages(&pinned, 8), blocks_bytes(&pinned) >> PAGE_SHIFT,
		     "a block in use was discarded");
	free_blocks(&pinned);
	kmem_exit();
}

/*
 * Hysteresis: 32 MiB allocated, freed and allocated again within a few ms is
 * not all given back; the same blocks come back (resident ones first), and
 * pgreported stays below what a full release would count.
 */
Test(reporting, quick_reuse_is_not_released)
{
	static struct blocks b, again, both;

	/* A 10 s delay: nothing ages while the test runs, only pressure reports. */
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = 256 * MiB,
						      .reporting_delay_ms = 10000 }),
		     0);
	kmem_release_free_memory();
	unsigned long report_low = NODE_DATA(0)->node_zones[ZONE_NORMAL].report_low;

	alloc_blocks(&b, 32 * MiB, GFP_KERNEL, MAX_PAGE_ORDER);
	touch_blocks(&b, 5);
	unsigned long reported0 = vmstat("pgreported");

	free_blocks(&b);
	alloc_blocks(&again, 32 * MiB, GFP_KERNEL, MAX_PAGE_ORDER);
	unsigned long reported = vmstat("pgreported") - reported0;

	cr_assert_lt(reported, 32 * MiB >> PAGE_SHIFT, "all of it was reported: %lu pages",
		     reported);
	/* Pressure brings the resident free memory down to report_low, no further. */
	cr_assert_leq(reported, (32 * MiB >> PAGE_SHIFT) - report_low,
		      "%lu pages reported, report_low is %lu", reported, report_low);
	/*
	 * Resident blocks are handed out first, so the ones not reported came
	 * back still holding our data. (Blocks being discarded when we asked
	 * are off the lists: fresh ones were taken instead.)
	 */
	both.nr = 0;
	for (int i = 0; i < b.nr; i++) {
		for (int j = 0; j < again.nr; j++) {
			if (again.page[j] == b.page[i]) {
				both.page[both.nr] = b.page[i];
				both.order[both.nr++] = b.order[i];
			}
		}
	}
	unsigned long intact = intact_pages(&both, 5);

	cr_assert_geq(intact, report_low, "only %lu pages came back intact", intact);
	free_blocks(&again);
	kmem_exit();
}

/*
 * The same without pressure: in a 2 GiB arena 32 MiB is far below the mark at
 * which reporting starts at once, so with a 10 s delay nothing at all is
 * reported and every page keeps its contents.
 */
Test(reporting, quick_reuse_below_pressure_reports_nothing)
{
	static struct blocks b, again;

	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = 2048 * MiB,
						      .reporting_delay_ms = 10000 }),
		     0);
	alloc_blocks(&b, 32 * MiB, GFP_KERNEL, MAX_PAGE_ORDER);
	touch_blocks(&b, 6);
	unsigned long reported0 = vmstat("pgreported");

	for (int round = 0; round < 10; round++) {
		free_blocks(&b);
		alloc_blocks(&again, 32 * MiB, GFP_KERNEL, MAX_PAGE_ORDER);
		b = again;
	}
	cr_assert_eq(vmstat("pgreported"), reported0);
	cr_assert_eq(intact_pages(&b, 6), 32 * MiB >> PAGE_SHIFT);
	free_blocks(&b);
	kmem_exit();
}

/* no_reporting = 1: free memory stays resident and keeps its contents. */
Test(reporting, no_reporting_keeps_memory)
{
	static struct blocks b;

	cr_assert_eq(kmem_init(&(struct kmem_config){
			     .mem_size = 256 * MiB, .reporting_delay_ms = 1, .no_reporting = 1 }),
		     0);
	alloc_blocks(&b, 64 * MiB, GFP_KERNEL, MAX_PAGE_ORDER);
	touch_blocks(&b, 7);
	size_t peak = rss();

	free_blocks(&b);
	cr_assert_eq(kmem_release_free_memory(), 0);
	sleep_ms(300);
	cr_assert_eq(kmem_release_free_memory(), 0);
	cr_assert_geq(rss() + 8 * MiB, peak, "RSS fell from %zu to %zu MiB", peak / MiB,
		      rss() / MiB);
	cr_assert_eq(vmstat("pgreported"), 0);
	/* Taken again, every page still holds what we wrote. */
	alloc_blocks(&b, 64 * MiB, GFP_KERNEL, MAX_PAGE_ORDER);
	cr_assert_eq(intact_pages(&b, 7), 64 * MiB >> PAGE_SHIFT);
	free_blocks(&b);
	kmem_exit();
}

/*
 * Embedded use: kmem never madvises the caller's buffer (pgreported stays 0,
 * freed memory keeps its contents), and never hands out its old contents
 * as zeroed memory: the buffer need not be zero when it is given to kmem.
 */
Test(reporting, embedded_buffer_never_discards)
{
	static struct blocks b;
	size_t size = 64 * MiB;
	char *buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(buf, MAP_FAILED);
	memset(buf, 0x5a, size); /* what a reused buffer might hold */
	cr_assert_eq(kmem_init(&(struct kmem_config){
			     .mem = buf, .mem_size = size, .reporting_delay_ms = 1 }),
		     0);
	/* __GFP_ZERO clears what the buffer held, at every order. */
	for (unsigned int order = 0; order <= MAX_PAGE_ORDER; order++) {
		struct page *p = alloc_pages(GFP_KERNEL | __GFP_ZERO, order);

		cr_assert_not_null(p, "order %u", order);
		cr_assert((char *)page_address(p) >= buf &&
			  (char *)page_address(p) + (PAGE_SIZE << order) <= buf + size);
		cr_assert(all_zero(page_address(p), PAGE_SIZE << order),
			  "__GFP_ZERO order %u block holds the buffer's old bytes", order);
		__free_pages(p, order);
	}
	unsigned long addr = get_zeroed_page(GFP_KERNEL | __GFP_DMA);

	cr_assert_neq(addr, 0);
	cr_assert(all_zero((void *)addr, PAGE_SIZE), "get_zeroed_page(GFP_DMA) not zero");
	free_page(addr);

	alloc_blocks(&b, 32 * MiB, GFP_KERNEL, pageblock_order);
	touch_blocks(&b, 8);
	free_blocks(&b);
	cr_assert_eq(kmem_release_free_memory(), 0);
	sleep_ms(200);
	cr_assert_eq(vmstat("pgreported"), 0);
	/* Nothing was discarded: the old contents are still in the buffer. */
	cr_assert_eq(intact_pages(&b, 8), 32 * MiB >> PAGE_SHIFT);
	kmem_exit();
	/* The buffer is still the caller's, mapped and writable. */
	memset(buf, 0, size);
	cr_assert_eq(munmap(buf, size), 0);
}
