// SPDX-License-Identifier: MIT
/*
 * The /proc views (mm/vmstat.c, fs/proc/meminfo.c): buddyinfo, pagetypeinfo,
 * zoneinfo, meminfo and vmstat, in the kernel's own text formats, rendered
 * into a caller's buffer with snprintf semantics. Each file is one row of
 * proc_files[]; later layers (slabinfo, vmallocinfo) add theirs there.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kfence.h"
#include "slab.h"

void seq_printf(struct seq_file *m, const char *fmt, ...)
{
	va_list ap;
	size_t room = m->count < m->size ? m->size - m->count : 0;

	va_start(ap, fmt);
	int n = vsnprintf(room ? m->buf + m->count : NULL, room, fmt, ap);

	va_end(ap);
	if (n > 0)
		m->count += (size_t)n;
}

#define K(pages) ((pages) << (PAGE_SHIFT - 10))

static const char *const vm_event_names[NR_VM_EVENT_ITEMS] = {
	[PGALLOC_DMA] = "pgalloc_dma",
	[PGALLOC_NORMAL] = "pgalloc_normal",
	[ALLOCSTALL_DMA] = "allocstall_dma",
	[ALLOCSTALL_NORMAL] = "allocstall_normal",
	[PGFREE] = "pgfree",
	[PGALLOC_FAIL] = "pgalloc_fail",
	[PAGEOUTRUN] = "pageoutrun",
	[PGREPORTED] = "pgreported",
};

/* A consistent copy of a zone's free-area counts, taken under its lock. */
struct zone_snapshot {
	unsigned long nr_free[NR_PAGE_ORDERS];
	unsigned long nr_type[MIGRATE_TYPES][NR_PAGE_ORDERS];
	unsigned long blocks[MIGRATE_TYPES];
	unsigned long free, reported, deferred_pages;
};

static void snapshot_zone(struct zone *zone, struct zone_snapshot *s, bool by_type)
{
	memset(s, 0, sizeof(*s));
	spin_lock(&zone->lock);
	for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++) {
		s->nr_free[o] = zone->free_area[o].nr_free;
		for (int t = 0; by_type && t < MIGRATE_TYPES; t++) {
			struct list_head *pos;

			list_for_each(pos, &zone->free_area[o].free_list[t])
				s->nr_type[t][o]++;
		}
	}
	/* Deferred blocks are movable MAX_PAGE_ORDER blocks not yet on a list. */
	unsigned long deferred = (zone->deferred_end - zone->deferred_pfn) >> MAX_PAGE_ORDER;

	s->nr_type[MIGRATE_MOVABLE][MAX_PAGE_ORDER] += deferred;
	s->deferred_pages = deferred << MAX_PAGE_ORDER;
	for (unsigned long pfn = zone->zone_start_pfn; by_type && pfn < zone_end_pfn(zone);
	     pfn += pageblock_nr_pages)
		s->blocks[get_pfnblock_migratetype(pfn)]++;
	s->free = zone_page_state_free(zone);
	s->reported = zone_reported_pages(zone);
	spin_unlock(&zone->lock);
}

static void show_buddyinfo(struct seq_file *m)
{
	struct zone *zone;
	struct zone_snapshot s;

	for_each_populated_zone(zone) {
		snapshot_zone(zone, &s, false);
		seq_printf(m, "Node %d, zone %8s ", zone->node, zone->name);
		for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++)
			seq_printf(m, "%6lu ", s.nr_free[o]);
		seq_printf(m, "\n");
	}
}

/* pagetypeinfo_show() runs once per node, as the kernel's seq_file walks the nodes. */
static void show_pagetypeinfo_node(struct seq_file *m, pg_data_t *pgdat)
{
	static struct zone_snapshot snap[MAX_NR_ZONES];
	struct zone *zones = pgdat->node_zones;

	for (int z = 0; z < MAX_NR_ZONES; z++)
		if (populated_zone(&zones[z]))
			snapshot_zone(&zones[z], &snap[z], true);
	seq_printf(m, "Page block order: %d\n", pageblock_order);
	seq_printf(m, "Pages per block:  %lu\n\n", pageblock_nr_pages);
	seq_printf(m, "%-43s ", "Free pages count per migrate type at order");
	for (int o = 0; o < NR_PAGE_ORDERS; o++)
		seq_printf(m, "%6d ", o);
	seq_printf(m, "\n");
	for (int z = 0; z < MAX_NR_ZONES; z++) {
		if (!populated_zone(&zones[z]))
			continue;
		for (int t = 0; t < MIGRATE_TYPES; t++) {
			seq_printf(m, "Node %4d, zone %8s, type %12s ", pgdat->node_id,
				   zones[z].name, migratetype_names[t]);
			for (int o = 0; o < NR_PAGE_ORDERS; o++)
				seq_printf(m, "%6lu ", snap[z].nr_type[t][o]);
			seq_printf(m, "\n");
		}
	}
	seq_printf(m, "\n%-23s", "Number of blocks type ");
	for (int t = 0; t < MIGRATE_TYPES; t++)
		seq_printf(m, "%12s ", migratetype_names[t]);
	seq_printf(m, "\n");
	for (int z = 0; z < MAX_NR_ZONES; z++) {
		if (!populated_zone(&zones[z]))
			continue;
		seq_printf(m, "Node %d, zone %8s ", pgdat->node_id, zones[z].name);
		for (int t = 0; t < MIGRATE_TYPES; t++)
			seq_printf(m, "%12lu ", snap[z].blocks[t]);
		seq_printf(m, "\n");
	}
}

static void show_pagetypeinfo(struct seq_file *m)
{
	static DEFINE_SPINLOCK(snap_lock); /* the snapshots are static: too big for the stack */
	int nid;

	spin_lock(&snap_lock);
	for_each_online_node(nid)
		show_pagetypeinfo_node(m, NODE_DATA(nid));
	spin_unlock(&snap_lock);
}

struct pcp_show {
	struct seq_file *m;
	struct zone *zone;
};

static void show_pageset(struct percpu_area *area, void *info)
{
	struct pcp_show *p = info;
	struct per_cpu_pages *pcp = __this_cpu_ptr(area, p->zone->per_cpu_pageset);

	seq_printf(p->m,
		   "\n    cpu: %i"
		   "\n              count: %i"
		   "\n              high:  %i"
		   "\n              batch: %i"
		   "\n              tid:   %i",
		   area->cpu, pcp->count, pcp->high, pcp->batch, area->tid);
}

static void show_zoneinfo(struct seq_file *m)
{
	struct zone *zone;
	struct zone_snapshot s;

	for_each_zone(zone) {
		snapshot_zone(zone, &s, false);
		seq_printf(m, "Node %d, zone %8s", zone->node, zone->name);
		seq_printf(m,
			   "\n  pages free     %lu"
			   "\n        boost    0"
			   "\n        min      %lu"
			   "\n        low      %lu"
			   "\n        high     %lu"
			   "\n        spanned  %lu"
			   "\n        present  %lu"
			   "\n        managed  %lu"
			   "\n        cma      0",
			   s.free, wmark_pages(zone, WMARK_MIN), wmark_pages(zone, WMARK_LOW),
			   wmark_pages(zone, WMARK_HIGH), zone->spanned_pages, zone->present_pages,
			   zone->managed_pages);
		seq_printf(m, "\n        protection: (%ld", zone->lowmem_reserve[0]);
		for (int z = 1; z < MAX_NR_ZONES; z++)
			seq_printf(m, ", %ld", zone->lowmem_reserve[z]);
		seq_printf(m, ")");
		/* As the kernel: "If unpopulated, no other information is useful". */
		if (!populated_zone(zone)) {
			seq_printf(m, "\n");
			continue;
		}
		seq_printf(m, "\n      %-12s %lu", "nr_free_pages", s.free);
		seq_printf(m, "\n      %-12s %lu", "nr_reported", s.reported);
		seq_printf(m, "\n      %-12s %lu", "nr_deferred", s.deferred_pages);
		seq_printf(m, "\n  pagesets");
		struct pcp_show p = { m, zone };

		on_each_cpu(show_pageset, &p);
		seq_printf(m,
			   "\n  node_unreclaimable:  0"
			   "\n  start_pfn:           %lu\n",
			   zone->zone_start_pfn);
	}
}

static void show_val_kb(struct seq_file *m, const char *label, unsigned long pages)
{
	seq_printf(m, "%-16s%8lu kB\n", label, K(pages));
}

static void show_meminfo(struct seq_file *m)
{
	unsigned long total = 0, free = 0, reserve = 0, pcp = 0;
	struct zone *zone;

	for_each_populated_zone(zone) {
		total += zone->managed_pages;
		free += zone_page_state_free(zone);
		reserve += wmark_pages(zone, WMARK_HIGH);
		pcp += nr_free_pcp_pages(zone);
	}
	show_val_kb(m, "MemTotal:", total);
	show_val_kb(m, "MemFree:", free);
	unsigned long sreclaimable, sunreclaim;

	slab_meminfo(&sreclaimable, &sunreclaim);
	show_val_kb(m, "MemAvailable:",
		    free + pcp + sreclaimable > reserve ? free + pcp + sreclaimable - reserve : 0);
	show_val_kb(m, "Slab:", sreclaimable + sunreclaim);
	show_val_kb(m, "SReclaimable:", sreclaimable);
	show_val_kb(m, "SUnreclaim:", sunreclaim);
	unsigned long vmalloc_total, vmalloc_used, vmalloc_chunk;

	vmalloc_meminfo(&vmalloc_total, &vmalloc_used, &vmalloc_chunk);
	seq_printf(m, "%-16s%8lu kB\n", "VmallocTotal:", vmalloc_total);
	show_val_kb(m, "VmallocUsed:", vmalloc_used);
	seq_printf(m, "%-16s%8lu kB\n", "VmallocChunk:", vmalloc_chunk);
	show_val_kb(m, "Percpu:", (unsigned long)pcpu_nr_online() * (pcpu_unit_size >> PAGE_SHIFT));
}

static void show_vmstat(struct seq_file *m)
{
	unsigned long free = 0, events[NR_VM_EVENT_ITEMS];
	struct zone *zone;

	for_each_populated_zone(zone)
		free += zone_page_state_free(zone);
	seq_printf(m, "nr_free_pages %lu\n", free);
	all_vm_events(events);
	for (int i = 0; i < NR_VM_EVENT_ITEMS; i++)
		seq_printf(m, "%s %lu\n", vm_event_names[i], events[i]);
}

struct proc_file {
	const char *name;
	void (*show)(struct seq_file *m);
	int (*write)(const char *text);
};

static void show_slabinfo(struct seq_file *m)
{
	slabinfo_show(m);
}

static const struct proc_file proc_files[] = {
	{ "slabinfo", show_slabinfo, slabinfo_write },
	{ "buddyinfo", show_buddyinfo, NULL },
	{ "pagetypeinfo", show_pagetypeinfo, NULL },
	{ "zoneinfo", show_zoneinfo, NULL },
	{ "meminfo", show_meminfo, NULL },
	{ "vmstat", show_vmstat, NULL },
	{ "vmallocinfo", vmallocinfo_show, NULL },
	{ "kfence/stats", kfence_stats_show, NULL }, /* the kernel's debugfs kfence/stats */
};

static const struct proc_file *proc_lookup(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(proc_files); i++)
		if (!strcmp(proc_files[i].name, name))
			return &proc_files[i];
	return NULL;
}

__export ssize_t kmem_proc_read(const char *name, char *buf, size_t size)
{
	const struct proc_file *f = proc_lookup(name);
	struct seq_file m = { buf, buf ? size : 0, 0 };

	if (!f)
		return -ENOENT;
	if (!kmem_ready())
		return -ENOMEM;
	if (m.size)
		buf[0] = '\0';
	f->show(&m);
	return (ssize_t)m.count;
}

__export int kmem_proc_write(const char *name, const char *text)
{
	const struct proc_file *f = proc_lookup(name);

	if (!f)
		return -ENOENT;
	if (!f->write) {
		pr_err("kmem_proc_write: /proc/%s is read-only\n", name);
		return -EACCES;
	}
	if (!text) {
		pr_err("kmem_proc_write: no text for /proc/%s\n", name);
		return -EINVAL;
	}
	if (!kmem_ready())
		return -ENOMEM;
	return f->write(text);
}
