// SPDX-License-Identifier: MIT
/*
 * The memory map (mm/memblock.c, mm/mm_init.c): where "physical memory" comes
 * from, how it is cut into nodes and zones, and kmem's start and end.
 *
 * Layout. With no caller buffer, three reservations (MAP_NORESERVE, so they
 * cost nothing until touched): the arena itself, aligned to 4 MiB so that
 * every order-k block is naturally aligned; the page descriptors (mem_map)
 * and pageblock flags; and the per-CPU units. With a caller buffer
 * (kmem_config.mem) there is no mmap at all: the buffer is carved into units,
 * descriptors and arena, in that order, and blocks are aligned relative to
 * the arena's start.
 *
 * Nodes follow one another in the arena, node_pages each; node 0 begins with
 * ZONE_DMA. Each zone's whole MAX_PAGE_ORDER blocks are initialised lazily
 * (deferred_grow_zone), the rest at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fault_inject.h"
#include "internal.h"
#include "kasan.h"
#include "kfence.h"
#include "kmemcheck.h"
#include "platform/os.h"
#include "slab.h"

struct kmem_memory kmem_memory;
/* Page-aligned: node 0 (under 4 KiB), all a one-node process touches, takes one page, not two. */
pg_data_t node_data[MAX_NUMNODES] __aligned(PAGE_SIZE) __large_bss;
atomic_bool kmem_initialised;

static DEFINE_SPINLOCK(init_lock);
static bool init_failed;
/* This thread is inside __kmem_init: the slab bootstrap allocates pages already. */
static __thread bool initialising;
static bool atfork_registered;

/* The mmap-mode reservations, kept from one kmem_init() to its kmem_exit(). */
static struct {
	char *arena;
	size_t arena_size;
	char *meta;
	size_t meta_size;
	char *pcpu; /* kept across kmem_exit: threads may still point into it */
} reservation;

#define DEFAULT_NR_CPUS 4096
#define DEFAULT_NR_CPUS_EXTERNAL 8
#define EXTERNAL_UNIT_SIZE (64UL << 10)
#define DEFAULT_DMA_SIZE (16UL << 20)
#define DEFAULT_REPORTING_DELAY_MS 2000
#define MIN_NODE_PAGES 256

/* "256M", "4G", "1048576", "64k", "2GiB": bytes, or -EINVAL. Also kmem-run's --mem. */
int kmem_parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	unsigned int shift = 0;

	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	case 't':
	case 'T':
		shift = 40;
		end++;
		break;
	}
	if (shift && (*end == 'i' || *end == 'I'))
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end || (shift && v > (~0ULL >> shift)))
		return -EINVAL;
	*out = (size_t)(v << shift);
	return 0;
}

static int parse_uint(const char *s, unsigned int *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > ~0U)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

/* Fill the fields the caller left zero from the environment. */
static int config_from_env(struct kmem_config *c)
{
	const char *v;

	if (!c->mem_size && (v = os_getenv("KMEM_MEM")) && kmem_parse_size(v, &c->mem_size)) {
		pr_err("KMEM_MEM='%s' is not a size: expected bytes with an optional K, M, G or T "
		       "suffix, e.g. 256M\n",
		       v);
		return -EINVAL;
	}
	if (!c->nr_nodes && (v = os_getenv("KMEM_NODES")) &&
	    (parse_uint(v, &c->nr_nodes) || !c->nr_nodes || c->nr_nodes > MAX_NUMNODES)) {
		pr_err("KMEM_NODES='%s' is not a node count: expected 1..%d\n", v, MAX_NUMNODES);
		return -EINVAL;
	}
	if (!c->slab_debug)
		c->slab_debug = os_getenv("KMEM_DEBUG");
	/* Before the first cache: the kmalloc caches are created with their debug flags. */
	int err = slab_debug_setup(c->slab_debug);

	if (err || (err = kmemcheck_init()))
		return err;
	return fault_inject_parse_env();
}

static int config_check(struct kmem_config *c)
{
	if (c->nr_nodes > MAX_NUMNODES) {
		pr_err("kmem_init: nr_nodes %u is above MAX_NUMNODES (%d)\n", c->nr_nodes,
		       MAX_NUMNODES);
		return -EINVAL;
	}
	if (c->mem && !c->mem_size) {
		pr_err("kmem_init: a caller buffer (mem) needs its size in mem_size\n");
		return -EINVAL;
	}
	if (!c->nr_nodes)
		c->nr_nodes = 1;
	/*
	 * The machine's RAM in whole MAX_PAGE_ORDER blocks: a ragged end would be
	 * freed at once as smaller blocks (init_zone), writing descriptors on
	 * pages of the memory map that no allocation comes near: 8 KiB of
	 * every process's RSS, for the last few pages of a reservation.
	 */
	if (!c->mem_size) {
		size_t ram = os_ram_size(),
		       blocks = ALIGN_DOWN(ram, MAX_ORDER_NR_PAGES * PAGE_SIZE);

		c->mem_size = blocks ? blocks : ram;
	}
	if (!c->nr_cpus)
		c->nr_cpus = c->mem ? DEFAULT_NR_CPUS_EXTERNAL : DEFAULT_NR_CPUS;
	if (!c->reporting_delay_ms)
		c->reporting_delay_ms = DEFAULT_REPORTING_DELAY_MS;
	return 0;
}

/*
 * Where kfree's slab map starts after the descriptors: on a page boundary, so
 * that the map words of the first pages of ZONE_NORMAL (where the first
 * slabs go) share one page instead of straddling two.
 */
static size_t meta_slab_map_offset(unsigned long pages)
{
	return ALIGN(pages * sizeof(struct page), PAGE_SIZE);
}

/* The descriptors, kfree's slab map and the pageblock flags of @pages pages. */
static size_t meta_bytes(unsigned long pages)
{
	return ALIGN(meta_slab_map_offset(pages) + pages * sizeof(uint64_t) +
			     pages / pageblock_nr_pages + 1,
		     PAGE_SIZE);
}

/* Cut the caller's buffer into per-CPU units, descriptors and the arena. */
static int layout_external(const struct kmem_config *c, char **units, char **meta,
			   unsigned long *nr_pages)
{
	char *p = (char *)ALIGN((uintptr_t)c->mem, PAGE_SIZE);
	char *end = (char *)c->mem + c->mem_size;
	size_t units_size = (size_t)c->nr_cpus * EXTERNAL_UNIT_SIZE;

	if (end < p || (size_t)(end - p) < units_size) {
		pr_err("kmem_init: the buffer of %zu bytes cannot hold %u per-CPU units of %lu KiB\n",
		       c->mem_size, c->nr_cpus, EXTERNAL_UNIT_SIZE >> 10);
		return -EINVAL;
	}
	*units = p;
	p += units_size;
	/* Each page costs PAGE_SIZE, its descriptor, its slab map word and 1/512 of a pageblock byte. */
	size_t avail = end - p;
	unsigned long pages = avail / (PAGE_SIZE + sizeof(struct page) + sizeof(uint64_t) + 1);
	size_t meta_size = meta_bytes(pages);

	*meta = p;
	if (meta_size >= avail)
		pages = 0;
	else
		pages = min(pages, (unsigned long)((avail - meta_size) / PAGE_SIZE));
	*nr_pages = pages;
	return 0;
}

static int layout_reserve(const struct kmem_config *c, char **units, char **meta,
			  unsigned long *nr_pages)
{
	size_t size = ALIGN_DOWN(c->mem_size, PAGE_SIZE);
	unsigned long pages = size >> PAGE_SHIFT;

	reservation.arena = os_reserve(size, MAX_ORDER_NR_PAGES * PAGE_SIZE);
	reservation.arena_size = size;
	reservation.meta_size = meta_bytes(pages);
	reservation.meta = os_reserve(reservation.meta_size, PAGE_SIZE);
	if (!reservation.pcpu)
		reservation.pcpu =
			os_reserve(DEFAULT_NR_CPUS * PCPU_MAX_UNIT_SIZE, PCPU_MAX_UNIT_SIZE);
	if (!reservation.arena || !reservation.meta || !reservation.pcpu) {
		pr_err("kmem_init: cannot reserve %zu MiB of address space\n", size >> 20);
		return -ENOMEM;
	}
	*units = reservation.pcpu;
	*meta = reservation.meta;
	*nr_pages = pages;
	return 0;
}

static void release_reservations(void)
{
	if (reservation.arena)
		os_unreserve(reservation.arena, reservation.arena_size);
	if (reservation.meta)
		os_unreserve(reservation.meta, reservation.meta_size);
	reservation.arena = reservation.meta = NULL;
}

/* Free [start, end) into @zone at once, as the largest naturally aligned blocks that fit. */
static void memblock_free_pages(struct zone *zone, unsigned long start, unsigned long end)
{
	while (start < end) {
		unsigned int order = MAX_PAGE_ORDER;

		while (order && ((start & ((1UL << order) - 1)) || start + (1UL << order) > end))
			order--;
		__free_one_page(__pfn_to_page(start), start, zone, order, MIGRATE_MOVABLE, true);
		start += 1UL << order;
	}
}

static void init_zone(pg_data_t *pgdat, enum zone_type idx, unsigned long start,
		      unsigned long pages)
{
	struct zone *zone = &pgdat->node_zones[idx];
	unsigned long end = start + pages;

	spin_lock_init(&zone->lock);
	zone->zone_pgdat = pgdat;
	zone->node = pgdat->node_id;
	zone->idx = idx;
	zone->name = zone_names[idx];
	zone->zone_start_pfn = start;
	zone->spanned_pages = zone->present_pages = zone->managed_pages = pages;
	for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++)
		for (int t = 0; t < MIGRATE_TYPES; t++)
			INIT_LIST_HEAD(&zone->free_area[o].free_list[t]);
	if (!pages)
		return;
	/* Every pageblock is MOVABLE already: the flags are zero (set_pageblock_migratetype). */

	/* Whole MAX_PAGE_ORDER blocks are deferred; the ragged edges are freed now. */
	unsigned long dstart = ALIGN(start, MAX_ORDER_NR_PAGES);
	unsigned long dend = ALIGN_DOWN(end, MAX_ORDER_NR_PAGES);

	if (dstart >= dend)
		dstart = dend = end;
	memblock_free_pages(zone, start, dstart);
	memblock_free_pages(zone, dend, end);
	zone->deferred_pfn = dstart;
	zone->deferred_end = dend;
	unsigned long nr_deferred = (dend - dstart) >> MAX_PAGE_ORDER;

	zone->free_area[MAX_PAGE_ORDER].nr_free += nr_deferred;
	zone->free_area[MAX_PAGE_ORDER].nr_reported += nr_deferred;
	atomic_fetch_add(&zone->free_pages, (long)(dend - dstart));
	page_reporting_init_zone(zone);
}

/* Fallback order: this node's zones from @highest down, then every other node's likewise. */
static void build_zonelists(pg_data_t *pgdat)
{
	int nr_nodes = kmem_memory.nr_nodes;

	for (int highest = 0; highest < MAX_NR_ZONES; highest++) {
		struct zone **zl = pgdat->node_zonelists[highest];
		int n = 0;

		for (int k = 0; k < nr_nodes; k++) {
			pg_data_t *other = NODE_DATA((pgdat->node_id + k) % nr_nodes);

			for (int z = highest; z >= 0; z--)
				if (populated_zone(&other->node_zones[z]))
					zl[n++] = &other->node_zones[z];
		}
		zl[n] = NULL;
	}
}

static int init_nodes(const struct kmem_config *c, unsigned long nr_pages)
{
	unsigned long node_pages = nr_pages / c->nr_nodes;

	/*
	 * Several nodes start on 4 MiB boundaries, so each has whole order-10
	 * blocks. One node keeps every page: its ragged end is freed as smaller
	 * blocks, and a caller's buffer is not cut by up to 4 MiB.
	 */
	if (c->nr_nodes > 1 && node_pages >= 2 * MAX_ORDER_NR_PAGES)
		node_pages = ALIGN_DOWN(node_pages, MAX_ORDER_NR_PAGES);
	if (node_pages < MIN_NODE_PAGES) {
		pr_err("kmem_init: %zu bytes give %lu pages per node; each of the %u nodes needs "
		       "at least %d (%lu KiB)\n",
		       c->mem_size, node_pages, c->nr_nodes, MIN_NODE_PAGES,
		       MIN_NODE_PAGES * PAGE_SIZE >> 10);
		return -EINVAL;
	}
	unsigned long dma_pages;

	if (c->dma_size) {
		dma_pages = DIV_ROUND_UP(c->dma_size, PAGE_SIZE);
		if (dma_pages > node_pages) {
			pr_err("kmem_init: dma_size %zu is larger than node 0 (%lu bytes)\n",
			       c->dma_size, node_pages * PAGE_SIZE);
			return -EINVAL;
		}
	} else {
		dma_pages = min(DEFAULT_DMA_SIZE / PAGE_SIZE, node_pages / 4);
		if (dma_pages >= MAX_ORDER_NR_PAGES)
			dma_pages = ALIGN_DOWN(dma_pages, MAX_ORDER_NR_PAGES);
	}
	kmem_memory.nr_nodes = (int)c->nr_nodes;
	kmem_memory.node_pages = node_pages;
	kmem_memory.max_pfn = node_pages * c->nr_nodes;
	kmem_memory.span_bytes = kmem_memory.max_pfn << PAGE_SHIFT;
	kmem_memory.dma_pages = dma_pages;
	for (int nid = 0; nid < (int)c->nr_nodes; nid++) {
		pg_data_t *pgdat = NODE_DATA(nid);
		unsigned long start = (unsigned long)nid * node_pages;
		unsigned long dma = nid == 0 ? dma_pages : 0;

		pgdat->node_id = nid;
		pgdat->node_start_pfn = start;
		pgdat->node_spanned_pages = node_pages;
		init_zone(pgdat, ZONE_DMA, start, dma);
		init_zone(pgdat, ZONE_NORMAL, start + dma, node_pages - dma);
	}
	for (int nid = 0; nid < (int)c->nr_nodes; nid++)
		build_zonelists(NODE_DATA(nid));
	return 0;
}

/*
 * fork: every lock is taken before and released (parent) or reset (child)
 * after, in the lock order, so the child finds consistent lists; the child's
 * dead threads' per-CPU units are then given back.
 */
static void kmem_fork_prepare(void)
{
	struct zone *zone;

	if (!atomic_load(&kmem_initialised))
		return;
	page_reporting_fork_prepare(); /* first: no unit is held while a batch is discarded */
	slab_fork_prepare();
	pcpu_fork_prepare();
	slab_fork_locks();
	for_each_zone(zone)
		spin_lock(&zone->lock);
}

static void kmem_fork_parent(void)
{
	struct zone *zone;

	if (!atomic_load(&kmem_initialised))
		return;
	for_each_zone(zone)
		spin_unlock(&zone->lock);
	slab_fork_parent();
	pcpu_fork_parent();
	slab_fork_parent_mutex();
	page_reporting_fork_parent();
}

static void kmem_fork_child(void)
{
	struct zone *zone;

	if (!atomic_load(&kmem_initialised))
		return;
	for_each_zone(zone)
		spin_lock_init(&zone->lock);
	page_reporting_fork_child();
	slab_fork_child();
	vmscan_fork_child();
	pcpu_fork_child();
}

static int __kmem_init(const struct kmem_config *cfg)
{
	struct kmem_config c = { 0 };
	char *units, *meta;
	unsigned long nr_pages;
	int ret;

	if (cfg)
		c = *cfg;
	if ((ret = config_from_env(&c)) || (ret = config_check(&c)))
		return ret;
	/*
	 * node_data is zero here (static, and zeroed again by kmem_exit and a
	 * failed init): not cleared now, as 250 KB of it would become resident
	 * in every process (the malloc preload) for nothing.
	 */
	memset(&kmem_memory, 0, sizeof(kmem_memory));
	if (c.mem)
		ret = layout_external(&c, &units, &meta, &nr_pages);
	else
		ret = layout_reserve(&c, &units, &meta, &nr_pages);
	if (ret)
		goto fail;
	kmem_memory.external = c.mem != NULL;
	kmem_memory.mem_map = (struct page *)meta;
	kmem_memory.slab_map = (uint64_t *)(meta + meta_slab_map_offset(nr_pages));
	kmem_memory.pageblock_flags = (unsigned char *)meta + meta_slab_map_offset(nr_pages) +
				      nr_pages * sizeof(uint64_t);
	kmem_memory.base = c.mem ? meta + meta_bytes(nr_pages) : reservation.arena;
	kmem_memory.reporting = !c.mem && !c.no_reporting;
	kmem_memory.reporting_delay_ns = (uint64_t)c.reporting_delay_ms * 1000000;
	kmem_memory.min_free_kbytes = c.min_free_kbytes;
	if (c.mem)
		memset(meta, 0, meta_bytes(nr_pages));
	ret = percpu_init(units, c.mem ? EXTERNAL_UNIT_SIZE : PCPU_MAX_UNIT_SIZE, (int)c.nr_cpus,
			  c.mem != NULL);
	if (ret)
		goto fail;
	if ((ret = init_nodes(&c, nr_pages)) || (ret = page_alloc_init()))
		goto fail;
	pcpu_set_slow(PCPU_SLOW_NUMA, kmem_memory.nr_nodes > 1);
	initialising = true;
	ret = kmem_cache_init();
	if (!ret)
		ret = vmalloc_init();
	if (!ret)
		kfence_init();
	initialising = false;
	if (ret)
		goto fail;
	if (!atfork_registered) {
		os_atfork(kmem_fork_prepare, kmem_fork_parent, kmem_fork_child);
		atfork_registered = true;
	}
	atomic_store_explicit(&kmem_initialised, true, memory_order_release);
	fault_inject_start();
	return 0;
fail:
	pcpu_set_slow(PCPU_SLOW_NUMA, false);
	kasan_release_arena();
	release_reservations();
	memset(&kmem_memory, 0, sizeof(kmem_memory));
	memset(node_data, 0, sizeof(node_data));
	return ret;
}

__export int kmem_init(const struct kmem_config *cfg)
{
	int ret;

	spin_lock(&init_lock);
	if (atomic_load(&kmem_initialised)) {
		spin_unlock(&init_lock);
		pr_err("kmem_init: kmem is already initialised (call kmem_exit() first)\n");
		return -EBUSY;
	}
	ret = __kmem_init(cfg);
	init_failed = false;
	spin_unlock(&init_lock);
	return ret;
}

/* The first allocation of a program that never called kmem_init(). */
int kmem_auto_init(void)
{
	int ret = 0;

	if (initialising)
		return 0;
	spin_lock(&init_lock);
	if (!atomic_load(&kmem_initialised)) {
		if (init_failed) {
			ret = -EINVAL;
		} else {
			ret = __kmem_init(NULL);
			init_failed = ret != 0;
		}
	}
	spin_unlock(&init_lock);
	return ret;
}

/* Pages neither free nor in slabs (slab leaks are reported per cache). */
static void report_leaks(unsigned long slab_pages)
{
	unsigned long leaked = 0;
	struct zone *zone;

	for_each_populated_zone(zone)
		leaked += zone->managed_pages - zone_page_state_free(zone);
	leaked = leaked > slab_pages ? leaked - slab_pages : 0;
	if (leaked)
		pr_warn("kmem_exit: %lu pages (%lu kB) were never freed\n", leaked,
			leaked << (PAGE_SHIFT - 10));
}

const char *kmem_exit_blocker;
void (*kmem_exit_notify)(void);

__export void kmem_exit(void)
{
	spin_lock(&init_lock);
	if (!atomic_load(&kmem_initialised)) {
		spin_unlock(&init_lock);
		return;
	}
	if (kmem_exit_blocker) {
		spin_unlock(&init_lock);
		pr_warn("kmem_exit: refused: %s; kmem stays up\n", kmem_exit_blocker);
		return;
	}
	if (kmem_exit_notify)
		kmem_exit_notify();
	fault_inject_exit(); /* first: the teardown must not fail */
	kswapd_stop();
	vmalloc_exit();
	percpu_exit();
	pcpu_set_slow(PCPU_SLOW_NUMA, false);
	unsigned long slab_pages = kmem_cache_exit();

	kfence_exit(); /* after the caches: draining them frees parked kfence objects */
	report_leaks(slab_pages);
	atomic_store(&kmem_initialised, false);
	kasan_release_arena();
	release_reservations();
	memset(&kmem_memory, 0, sizeof(kmem_memory));
	memset(node_data, 0, sizeof(node_data));
	kswapd_reset();
	spin_unlock(&init_lock);
}
