// SPDX-License-Identifier: MIT
/*
 * The /proc views of the page allocator: buddyinfo, pagetypeinfo, zoneinfo,
 * meminfo and vmstat, in the kernel's formats (mm/vmstat.c,
 * fs/proc/meminfo.c). Every line is parsed with the kernel's format and
 * rendered again from what was parsed: the two must be identical, so a
 * wrong width or a missing space fails. The values are checked against the
 * zones, and kmem_proc_read()'s snprintf semantics against a guard band.
 */
#include <errno.h>

#include "page_test.h"

#define ARENA_SIZE (64UL << 20)

static void setup(void)
{
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = ARENA_SIZE, .no_reporting = 1 }),
		     0);
}

static void teardown(void)
{
	kmem_set_printk(NULL);
	kmem_exit();
}

TestSuite(proc, .init = setup, .fini = teardown);

static const char *const proc_names[] = { "buddyinfo", "pagetypeinfo", "zoneinfo", "meminfo",
					  "vmstat" };

/* A copy of a view, split into NUL-terminated lines (the text must end with a newline). */
struct lines {
	char text[PROC_BUF_SIZE];
	char *line[1024];
	int nr;
};

static void read_lines(const char *name, struct lines *l)
{
	char *p = l->text;
	size_t len = strlen(strcpy(l->text, proc_read(name)));

	cr_assert_gt(len, 0);
	cr_assert_eq(l->text[len - 1], '\n', "%s does not end with a newline", name);
	l->nr = 0;
	while (*p) {
		char *nl = strchr(p, '\n');

		cr_assert_lt(l->nr, (int)ARRAY_SIZE(l->line));
		*nl = '\0';
		l->line[l->nr++] = p;
		p = nl + 1;
	}
}

/* @line is evaluated once. */
#define assert_line(line, fmt, ...)                                                                \
	do {                                                                                       \
		const char *__line = (line);                                                       \
		char __want[512];                                                                  \
		snprintf(__want, sizeof(__want), fmt, __VA_ARGS__);                                \
		cr_assert_str_eq(__line, __want, "line '%s' is not in the kernel's format '%s'",   \
				 __line, fmt);                                                     \
	} while (0)

/* ------------------------------------------------------------------ buddyinfo */

/* "Node %d, zone %8s " then "%6lu " per order: one line per populated zone. */
static void check_buddyinfo(void)
{
	static struct lines lines;
	struct lines *l = &lines;
	struct zone *zone;
	int i = 0;

	read_lines("buddyinfo", l);
	for_each_populated_zone(zone) {
		char name[16], want[256];
		unsigned long c[NR_PAGE_ORDERS], pages = 0;
		int node, n = 0, len;

		cr_assert_lt(i, l->nr, "no line for node %d zone %s", zone->node, zone->name);
		cr_assert_eq(sscanf(l->line[i], "Node %d, zone %8s %n", &node, name, &n), 2);
		char *p = l->line[i] + n;

		for (int o = 0; o < NR_PAGE_ORDERS; o++) {
			cr_assert_eq(sscanf(p, "%6lu %n", &c[o], &n), 1, "line '%s'", l->line[i]);
			p += n;
			pages += c[o] << o;
		}
		len = snprintf(want, sizeof(want), "Node %d, zone %8s ", node, name);
		for (int o = 0; o < NR_PAGE_ORDERS; o++)
			len += snprintf(want + len, sizeof(want) - len, "%6lu ", c[o]);
		cr_assert_str_eq(l->line[i], want);
		cr_assert_eq(node, zone->node);
		cr_assert_str_eq(name, zone->name);
		/* The blocks add up to the zone's free pages. */
		cr_assert_eq(pages, zone_page_state_free(zone), "%s: %lu pages in blocks, %lu free",
			     name, pages, zone_page_state_free(zone));
		i++;
	}
	cr_assert_eq(i, l->nr, "buddyinfo has %d lines for %d populated zones", l->nr, i);
}

Test(proc, buddyinfo_format)
{
	check_buddyinfo();
	/* ZONE_DMA is untouched until the first GFP_DMA request (Normal may not be). */
	static const char dma_fresh[] = "Node 0, zone      DMA      0      0      0      0      0 "
					"     0      0      0      0      0      4 \n";
	static const char dma_split[] = "Node 0, zone      DMA      0      0      0      0      1 "
					"     1      1      1      1      1      3 \n";

	cr_assert_eq(strncmp(proc_read("buddyinfo"), dma_fresh, strlen(dma_fresh)), 0, "%s",
		     proc_read("buddyinfo"));
	struct page *p = alloc_pages(GFP_DMA, 4);

	check_buddyinfo();
	cr_assert_eq(strncmp(proc_read("buddyinfo"), dma_split, strlen(dma_split)), 0, "%s",
		     proc_read("buddyinfo"));
	__free_pages(p, 4);
	cr_assert_eq(strncmp(proc_read("buddyinfo"), dma_fresh, strlen(dma_fresh)), 0);
}

/* ------------------------------------------------------------------ pagetypeinfo */

/*
 * mm/vmstat.c pagetypeinfo_show(), once per node with memory:
 *   "Page block order: %d\n", "Pages per block:  %lu\n", "\n",
 *   "%-43s " header then "%6d " per order,
 *   "Node %4d, zone %8s, type %12s " then "%6lu " per order, per zone and type,
 *   "\n%-23s" "Number of blocks type " then "%12s " per type,
 *   "Node %d, zone %8s " then "%12lu " per type, per zone.
 */
static void check_pagetypeinfo(void)
{
	static struct lines lines;
	struct lines *l = &lines;
	int i = 0, nid;

	read_lines("pagetypeinfo", l);
	for_each_online_node(nid) {
		char want[512];
		int len;

		cr_assert_lt(i + 3, l->nr);
		cr_assert_str_eq(l->line[i++], "Page block order: 9");
		cr_assert_str_eq(l->line[i++], "Pages per block:  512");
		cr_assert_str_eq(l->line[i++], "");
		len = snprintf(want, sizeof(want), "%-43s ",
			       "Free pages count per migrate type at order");
		for (int o = 0; o < NR_PAGE_ORDERS; o++)
			len += snprintf(want + len, sizeof(want) - len, "%6d ", o);
		cr_assert_str_eq(l->line[i++], want);

		for (int z = 0; z < MAX_NR_ZONES; z++) {
			struct zone *zone = zone_of(nid, (enum zone_type)z);
			unsigned long by_order[NR_PAGE_ORDERS] = { 0 }, buddy[NR_PAGE_ORDERS];

			if (!populated_zone(zone))
				continue;
			for (int t = 0; t < MIGRATE_TYPES; t++) {
				unsigned long c[NR_PAGE_ORDERS];
				char name[16], type[16];
				int node, n = 0;

				cr_assert_lt(i, l->nr);
				cr_assert_eq(sscanf(l->line[i],
						    "Node %4d, zone %8[^,], type %12s %n", &node,
						    name, type, &n),
					     3, "line '%s'", l->line[i]);
				char *p = l->line[i] + n;

				for (int o = 0; o < NR_PAGE_ORDERS; o++) {
					cr_assert_eq(sscanf(p, "%6lu %n", &c[o], &n), 1);
					p += n;
					by_order[o] += c[o];
				}
				len = snprintf(want, sizeof(want), "Node %4d, zone %8s, type %12s ",
					       nid, zone->name, migratetype_names[t]);
				for (int o = 0; o < NR_PAGE_ORDERS; o++)
					len += snprintf(want + len, sizeof(want) - len, "%6lu ",
							c[o]);
				cr_assert_str_eq(l->line[i], want);
				i++;
			}
			/* Per type, the free blocks add up to buddyinfo's per order. */
			buddyinfo(nid, zone->name, buddy);
			assert_counts_eq(by_order, buddy, "pagetypeinfo vs buddyinfo");
		}
		cr_assert_str_eq(l->line[i++], "");
		len = snprintf(want, sizeof(want), "%-23s", "Number of blocks type ");
		for (int t = 0; t < MIGRATE_TYPES; t++)
			len += snprintf(want + len, sizeof(want) - len, "%12s ",
					migratetype_names[t]);
		cr_assert_str_eq(l->line[i++], want);
		for (int z = 0; z < MAX_NR_ZONES; z++) {
			struct zone *zone = zone_of(nid, (enum zone_type)z);
			unsigned long blocks[MIGRATE_TYPES], total = 0;
			char name[16];
			int node, n = 0;

			if (!populated_zone(zone))
				continue;
			cr_assert_lt(i, l->nr);
			cr_assert_eq(sscanf(l->line[i], "Node %d, zone %8s %n", &node, name, &n),
				     2);
			char *p = l->line[i] + n;

			for (int t = 0; t < MIGRATE_TYPES; t++) {
				cr_assert_eq(sscanf(p, "%12lu %n", &blocks[t], &n), 1);
				p += n;
				total += blocks[t];
			}
			len = snprintf(want, sizeof(want), "Node %d, zone %8s ", nid, zone->name);
			for (int t = 0; t < MIGRATE_TYPES; t++)
				len += snprintf(want + len, sizeof(want) - len, "%12lu ",
						blocks[t]);
			cr_assert_str_eq(l->line[i], want);
			cr_assert_eq(total, DIV_ROUND_UP(zone->spanned_pages, pageblock_nr_pages));
			i++;
		}
	}
	cr_assert_eq(i, l->nr, "pagetypeinfo: %d lines, %d expected", l->nr, i);
}

Test(proc, pagetypeinfo_format)
{
	check_pagetypeinfo();
	/* In ZONE_DMA (8 pageblocks, untouched so far) each type claims an order-10 block. */
	struct page *u = alloc_pages(GFP_DMA, 5);
	struct page *m = alloc_pages(GFP_DMA | __GFP_MOVABLE, 6);
	struct page *r = alloc_pages(GFP_DMA | __GFP_RECLAIMABLE, 7);

	check_pagetypeinfo();
	unsigned long blocks[MIGRATE_TYPES];

	pageblock_counts(0, "DMA", blocks);
	cr_assert_eq(blocks[MIGRATE_UNMOVABLE], 2);
	cr_assert_eq(blocks[MIGRATE_RECLAIMABLE], 2);
	cr_assert_eq(blocks[MIGRATE_MOVABLE], 8 - 4);
	__free_pages(u, 5);
	__free_pages(m, 6);
	__free_pages(r, 7);
}

/* ------------------------------------------------------------------ zoneinfo */

/* "prefix%lu": the line must be exactly that. Returns the number. */
static unsigned long zoneinfo_value(struct lines *l, int *i, const char *prefix)
{
	char fmt[64];
	unsigned long v;

	cr_assert_lt(*i, l->nr, "zoneinfo ends before '%s'", prefix);
	snprintf(fmt, sizeof(fmt), "%s%%lu", prefix);
	cr_assert_eq(sscanf(l->line[*i], fmt, &v), 1, "line '%s' is not '%s'", l->line[*i], fmt);
	assert_line(l->line[*i], "%s%lu", prefix, v);
	(*i)++;
	return v;
}

/*
 * mm/vmstat.c zoneinfo_show_print(), zone after zone, unpopulated ones
 * included: the header, the watermarks and sizes, the protection (the
 * lowmem_reserve), and for a populated zone the counters, the pagesets and
 * the tail. An unpopulated zone ends after its protection ("If unpopulated,
 * no other information is useful").
 */
static void check_zoneinfo(void)
{
	static struct lines lines;
	struct lines *l = &lines;
	struct zone *zone;
	int i = 0;

	read_lines("zoneinfo", l);
	for_each_zone(zone) {
		long prot[MAX_NR_ZONES];

		cr_assert_lt(i, l->nr);
		assert_line(l->line[i], "Node %d, zone %8s", zone->node, zone->name);
		i++;
		cr_assert_eq(zoneinfo_value(l, &i, "  pages free     "),
			     zone_page_state_free(zone));
		cr_assert_eq(zoneinfo_value(l, &i, "        boost    "), 0);
		cr_assert_eq(zoneinfo_value(l, &i, "        min      "),
			     wmark_pages(zone, WMARK_MIN));
		cr_assert_eq(zoneinfo_value(l, &i, "        low      "),
			     wmark_pages(zone, WMARK_LOW));
		cr_assert_eq(zoneinfo_value(l, &i, "        high     "),
			     wmark_pages(zone, WMARK_HIGH));
		cr_assert_eq(zoneinfo_value(l, &i, "        spanned  "), zone->spanned_pages);
		cr_assert_eq(zoneinfo_value(l, &i, "        present  "), zone->present_pages);
		cr_assert_eq(zoneinfo_value(l, &i, "        managed  "), zone->managed_pages);
		cr_assert_eq(zoneinfo_value(l, &i, "        cma      "), 0);
		cr_assert_lt(i, l->nr);
		cr_assert_eq(sscanf(l->line[i], "        protection: (%ld, %ld)", &prot[0],
				    &prot[1]),
			     2, "line '%s'", l->line[i]);
		assert_line(l->line[i], "        protection: (%ld, %ld)", prot[0], prot[1]);
		for (int z = 0; z < MAX_NR_ZONES; z++)
			cr_assert_eq(prot[z], zone->lowmem_reserve[z]);
		i++;
		if (!populated_zone(zone))
			continue;
		/* Counters: "      %-12s %lu". */
		bool seen_free = false;

		while (i < l->nr && strcmp(l->line[i], "  pagesets") != 0) {
			char name[64];
			unsigned long v;

			cr_assert_eq(sscanf(l->line[i], "      %63s %lu", name, &v), 2, "line '%s'",
				     l->line[i]);
			assert_line(l->line[i], "      %-12s %lu", name, v);
			if (!strcmp(name, "nr_free_pages")) {
				cr_assert_eq(v, zone_page_state_free(zone));
				seen_free = true;
			}
			i++;
		}
		cr_assert(seen_free, "no nr_free_pages for %s", zone->name);
		cr_assert_lt(i, l->nr);
		cr_assert_str_eq(l->line[i], "  pagesets");
		i++;
		/* One entry per thread with a per-CPU unit: cpu, count, high, batch (+ tid). */
		unsigned long pcp_pages = 0;

		while (i < l->nr && !strncmp(l->line[i], "    cpu: ", 9)) {
			int cpu, count, high, batch, tid;

			cr_assert_eq(sscanf(l->line[i], "    cpu: %i", &cpu), 1);
			assert_line(l->line[i], "    cpu: %i", cpu);
			i++;
			cr_assert_lt(i + 2, l->nr);
			cr_assert_eq(sscanf(l->line[i], "              count: %i", &count), 1);
			assert_line(l->line[i++], "              count: %i", count);
			cr_assert_eq(sscanf(l->line[i], "              high:  %i", &high), 1,
				     "line %s", l->line[i]);
			assert_line(l->line[i++], "              high:  %i", high);
			cr_assert_eq(sscanf(l->line[i], "              batch: %i", &batch), 1);
			assert_line(l->line[i++], "              batch: %i", batch);
			if (i < l->nr && sscanf(l->line[i], "              tid:   %i", &tid) == 1)
				assert_line(l->line[i++], "              tid:   %i", tid);
			/* A thread's lists are set up on its first use of the zone: 0 until then. */
			cr_assert_geq(count, 0);
			cr_assert(batch > 0 ? high >= batch : high == 0 && count == 0,
				  "count %d high %d batch %d", count, high, batch);
			pcp_pages += (unsigned long)count;
		}
		cr_assert_eq(pcp_pages, nr_free_pcp_pages(zone), "%s: counts add up to %lu",
			     zone->name, pcp_pages);
		cr_assert_eq(zoneinfo_value(l, &i, "  node_unreclaimable:  "), 0);
		cr_assert_eq(zoneinfo_value(l, &i, "  start_pfn:           "),
			     zone->zone_start_pfn);
	}
	cr_assert_eq(i, l->nr, "zoneinfo: %d lines, %d expected", l->nr, i);
}

Test(proc, zoneinfo_format)
{
	struct page *p = alloc_pages(GFP_KERNEL, 0); /* this thread now has pagesets */

	check_zoneinfo();
	char *z = proc_read("zoneinfo");

	cr_assert(strstr(z, "Node 0, zone      DMA\n  pages free     4096\n"), "%s", z);
	cr_assert(strstr(z, "\n        protection: (0, 48)\n"), "%s", z);
	cr_assert(strstr(z, "Node 0, zone   Normal\n"), "%s", z);
	cr_assert(strstr(z, "\n        protection: (0, 0)\n"), "%s", z);
	cr_assert(strstr(z, "\n  start_pfn:           4096\n"), "%s", z);
	__free_pages(p, 0);
}

/* ------------------------------------------------------------------ multi-node */

TestSuite(proc_nodes, .fini = teardown);

/* Two nodes: node 1 has no ZONE_DMA; every view still follows the kernel's layout. */
Test(proc_nodes, two_nodes)
{
	cr_assert_eq(kmem_init(&(struct kmem_config){
			     .mem_size = ARENA_SIZE, .nr_nodes = 2, .no_reporting = 1 }),
		     0);
	struct page *p = alloc_pages_node(1, GFP_KERNEL, 3);

	check_buddyinfo();
	check_pagetypeinfo();
	check_zoneinfo();
	char *b = proc_read("buddyinfo");

	cr_assert(strstr(b, "Node 1, zone   Normal "), "%s", b);
	cr_assert_null(strstr(b, "Node 1, zone      DMA"), "unpopulated zone in buddyinfo: %s", b);
	__free_pages(p, 3);
}

/* ------------------------------------------------------------------ meminfo */

struct meminfo {
	unsigned long total, free, available;
};

/* Every line "%-16s%8lu kB"; MemTotal, MemFree, MemAvailable first, as in the kernel. */
static void read_meminfo(struct meminfo *mi)
{
	static struct lines lines;
	struct lines *l = &lines;
	static const char *const first[] = { "MemTotal:", "MemFree:", "MemAvailable:" };
	unsigned long *dst[] = { &mi->total, &mi->free, &mi->available };

	read_lines("meminfo", l);
	cr_assert_geq(l->nr, 3);
	for (int i = 0; i < l->nr; i++) {
		char label[32];
		unsigned long kb;

		cr_assert_eq(sscanf(l->line[i], "%31s %lu kB", label, &kb), 2, "line '%s'",
			     l->line[i]);
		cr_assert_eq(label[strlen(label) - 1], ':', "line '%s'", l->line[i]);
		assert_line(l->line[i], "%-16s%8lu kB", label, kb);
		if (i < 3) {
			cr_assert_str_eq(label, first[i]);
			*dst[i] = kb;
		}
	}
}

Test(proc, meminfo)
{
	struct meminfo before, during, after;

	read_meminfo(&before);
	cr_assert_eq(before.total, ARENA_SIZE >> 10, "MemTotal %lu kB", before.total);
	cr_assert_leq(before.free, before.total);
	cr_assert_leq(before.available, before.free);

	struct page *p = alloc_pages(GFP_KERNEL, 5);

	read_meminfo(&during);
	cr_assert_eq(during.total, before.total);
	cr_assert_eq(during.free, before.free - (32 * PAGE_SIZE >> 10), "MemFree %lu -> %lu kB",
		     before.free, during.free);
	cr_assert_eq(during.available, before.available - (32 * PAGE_SIZE >> 10));
	__free_pages(p, 5);
	read_meminfo(&after);
	cr_assert_eq(after.free, before.free);
	cr_assert_eq(after.available, before.available);
}

/* ------------------------------------------------------------------ vmstat */

/* "%s %lu" per line; returns the value of @name. */
static unsigned long vmstat(const char *name)
{
	static struct lines lines;
	struct lines *l = &lines;
	unsigned long found = ~0UL;

	read_lines("vmstat", l);
	cr_assert_eq(strncmp(l->line[0], "nr_free_pages ", 14), 0, "first line '%s'", l->line[0]);
	for (int i = 0; i < l->nr; i++) {
		char key[64];
		unsigned long v;

		cr_assert_eq(sscanf(l->line[i], "%63s %lu", key, &v), 2, "line '%s'", l->line[i]);
		assert_line(l->line[i], "%s %lu", key, v);
		if (!strcmp(key, name)) {
			cr_assert_eq(found, ~0UL, "%s twice", name);
			found = v;
		}
	}
	cr_assert_neq(found, ~0UL, "no %s in vmstat", name);
	return found;
}

Test(proc, vmstat_counters)
{
	unsigned long normal = vmstat("pgalloc_normal"), dma = vmstat("pgalloc_dma");
	unsigned long freed = vmstat("pgfree"), fail = vmstat("pgalloc_fail");
	unsigned long free = vmstat("nr_free_pages"); /* kmem_init() may have taken some */

	cr_assert_leq(free, ARENA_SIZE / PAGE_SIZE);
	struct page *p = alloc_pages(GFP_KERNEL, 5);

	cr_assert_eq(vmstat("pgalloc_normal"), normal + 32);
	cr_assert_eq(vmstat("pgalloc_dma"), dma);
	cr_assert_eq(vmstat("nr_free_pages"), free - 32);
	__free_pages(p, 5);
	cr_assert_eq(vmstat("pgfree"), freed + 32);
	cr_assert_eq(vmstat("nr_free_pages"), free);

	/* Per-CPU orders count when handed out and when freed, not when the lists refill. */
	p = alloc_pages(GFP_DMA, 0);
	cr_assert_eq(vmstat("pgalloc_dma"), dma + 1);
	cr_assert_eq(vmstat("pgalloc_normal"), normal + 32);
	struct page *q = alloc_pages(GFP_KERNEL, 2);

	cr_assert_eq(vmstat("pgalloc_normal"), normal + 32 + 4);
	__free_pages(p, 0);
	__free_pages(q, 2);
	cr_assert_eq(vmstat("pgfree"), freed + 32 + 1 + 4);
	drain_all_pages(NULL);
	cr_assert_eq(vmstat("pgfree"), freed + 32 + 1 + 4, "draining counted as freeing");

	/* A failed allocation. */
	cr_assert_null(alloc_pages(GFP_KERNEL | __GFP_NOWARN, MAX_PAGE_ORDER + 1));
	struct page *big[16];
	int n = 0;

	while ((big[n] = alloc_pages(GFP_DMA | __GFP_NOWARN, MAX_PAGE_ORDER)))
		n++;
	cr_assert_eq(vmstat("pgalloc_fail"), fail + 1);
	cr_assert_eq(vmstat("pgalloc_dma"), dma + 1 + (unsigned long)n * 1024);
	while (n--)
		__free_pages(big[n], MAX_PAGE_ORDER);
}

/* ------------------------------------------------------------------ kmem_proc_read */

/* snprintf semantics: the full length whatever the size; at most size - 1 bytes and a NUL. */
Test(proc, snprintf_semantics)
{
	for (size_t f = 0; f < ARRAY_SIZE(proc_names); f++) {
		const char *name = proc_names[f];
		static char full[PROC_BUF_SIZE], buf[PROC_BUF_SIZE];
		ssize_t len = kmem_proc_read(name, full, sizeof(full));

		cr_assert_gt(len, 0);
		cr_assert_eq(strlen(full), (size_t)len);
		cr_assert_eq(kmem_proc_read(name, NULL, 0), len, "%s: size 0", name);
		memset(buf, '#', sizeof(buf));
		cr_assert_eq(kmem_proc_read(name, buf, 0), len);
		cr_assert_eq(buf[0], '#', "%s: size 0 wrote to the buffer", name);
		static const size_t sizes[] = { 1, 2, 10, 22, 100 };

		for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
			size_t size = sizes[s];

			memset(buf, '#', sizeof(buf));
			cr_assert_eq(kmem_proc_read(name, buf, size), len, "%s: size %zu", name,
				     size);
			cr_assert_eq(buf[size - 1], '\0', "%s: size %zu not terminated", name,
				     size);
			cr_assert_eq(strncmp(buf, full, size - 1), 0, "%s: size %zu: '%s'", name,
				     size, buf);
			cr_assert_eq(strlen(buf), size - 1);
			cr_assert_eq(buf[size], '#', "%s: size %zu wrote past the end", name, size);
		}
		/* Exactly the length: one byte short of the NUL, and just enough. */
		memset(buf, '#', sizeof(buf));
		cr_assert_eq(kmem_proc_read(name, buf, (size_t)len), len);
		cr_assert_eq(buf[len - 1], '\0');
		cr_assert_eq(strncmp(buf, full, (size_t)len - 1), 0);
		memset(buf, '#', sizeof(buf));
		cr_assert_eq(kmem_proc_read(name, buf, (size_t)len + 1), len);
		cr_assert_str_eq(buf, full);
		cr_assert_eq(buf[len + 1], '#');
	}
	/* Every prefix of buddyinfo, byte by byte. */
	static char full[4096], buf[4096];
	ssize_t len = kmem_proc_read("buddyinfo", full, sizeof(full));

	for (size_t size = 1; size <= (size_t)len + 1; size++) {
		memset(buf, '#', sizeof(buf));
		cr_assert_eq(kmem_proc_read("buddyinfo", buf, size), len);
		cr_assert_eq(strlen(buf), min(size - 1, (size_t)len));
		cr_assert_eq(memcmp(buf, full, strlen(buf)), 0);
		cr_assert_eq(buf[size], '#');
	}
}

Test(proc, unknown_and_read_only)
{
	char buf[64];

	cr_assert_eq(kmem_proc_read("nosuchfile", buf, sizeof(buf)), -ENOENT);
	cr_assert_eq(kmem_proc_read("", buf, sizeof(buf)), -ENOENT);
	cr_assert_eq(kmem_proc_read(NULL, buf, sizeof(buf)), -ENOENT);
	cr_assert_eq(kmem_proc_read("BuddyInfo", buf, sizeof(buf)), -ENOENT);
	cr_assert_eq(kmem_proc_read("buddyinfo\n", buf, sizeof(buf)), -ENOENT);
	cr_assert_eq(kmem_proc_write("nosuchfile", "1"), -ENOENT);
	cr_assert_eq(kmem_proc_write(NULL, "1"), -ENOENT);
	for (size_t f = 0; f < ARRAY_SIZE(proc_names); f++) {
		printk_capture();
		cr_assert_eq(kmem_proc_write(proc_names[f], "1"), -EACCES, "%s is writable",
			     proc_names[f]);
		cr_assert(printk_logged("read-only"), "%s: log '%s'", proc_names[f], printk_log);
		cr_assert(printk_logged(proc_names[f]));
	}
	kmem_set_printk(NULL);
	cr_assert_eq(kmem_error_count(), 0);
}
