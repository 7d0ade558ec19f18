/* SPDX-License-Identifier: MIT */
/*
 * kmem: the Linux kernel's memory allocators in user space. Including this
 * header gives the whole API: the kernel's names from <kmem/gfp.h> and
 * <kmem/mm.h>, and kmem's own set-up and inspection calls below.
 */
#ifndef KMEM_KMEM_H
#define KMEM_KMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <kmem/gfp.h>
#include <kmem/mempool.h>
#include <kmem/mm.h>
#include <kmem/slab.h>
#include <kmem/vmalloc.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MAX_NUMNODES 64

/* Zero fields take the defaults (and the environment, see README). */
struct kmem_config {
	size_t mem_size; /* bytes of "physical memory", all nodes; default: the RAM, 4 MiB-aligned */
	unsigned int nr_nodes; /* NUMA nodes, each with an equal share; default 1 */
	size_t dma_size; /* bytes of ZONE_DMA at the start of node 0; default 16 MiB */
	void *mem; /* caller-supplied memory (embedded use): no mmap at all; mem_size bytes */
	unsigned long
		min_free_kbytes; /* reserve below which GFP_KERNEL fails; default: kernel formula */
	unsigned int
		reporting_delay_ms; /* free memory goes back to the OS after this; default 2000 */
	int no_reporting; /* keep free memory resident (never madvise) */
	unsigned int nr_cpus; /* threads with per-CPU caches at once; default 4096 (8 with mem) */
	const char *slab_debug; /* slab debugging, KMEM_DEBUG's syntax; default: $KMEM_DEBUG */
};

/* Initialise with @cfg (NULL: defaults). 0, or -EINVAL/-ENOMEM/-EBUSY with a message. */
int kmem_init(const struct kmem_config *cfg);
/*
 * Give everything back to the OS and report what leaked. kmem may be initialised
 * again; threads that used it before start afresh then. No other thread may be
 * inside kmem while this runs.
 */
void kmem_exit(void);

/* Render a /proc file ("buddyinfo", "zoneinfo", ...): snprintf semantics, -ENOENT if unknown. */
ssize_t kmem_proc_read(const char *name, char *buf, size_t size);
/* Write to a /proc file where the kernel allows it. 0 or -errno. */
int kmem_proc_write(const char *name, const char *text);

/* Every message kmem prints goes through one hook; NULL restores stderr. Returns the old hook. */
enum { KMEM_LOGLEVEL_ERR = 0, KMEM_LOGLEVEL_WARNING = 1, KMEM_LOGLEVEL_INFO = 2 };
typedef void (*kmem_printk_fn)(int level, const char *msg);
kmem_printk_fn kmem_set_printk(kmem_printk_fn fn);
/* Bugs kmem has caught and reported (bad frees, corruption) since the process started. */
unsigned long kmem_error_count(void);

/*
 * Reclaim hooks for __GFP_DIRECT_RECLAIM callers (the kernel's shrinkers):
 * called when an allocation would fail; return the number of pages freed.
 */
struct kmem_shrinker {
	unsigned long (*scan)(struct kmem_shrinker *s, gfp_t gfp, unsigned long nr_to_scan);
	void *private_data;
	struct kmem_shrinker *next; /* kmem's */
};
int kmem_register_shrinker(struct kmem_shrinker *s);
void kmem_unregister_shrinker(struct kmem_shrinker *s);

/* Give free memory back to the OS now (what the reporter does after its delay). Returns bytes. */
size_t kmem_release_free_memory(void);

/*
 * Fault injection (the kernel's failslab and fail_page_alloc; docs/FAULT_INJECTION.md).
 * kmem_fail_set() takes KMEM_FAIL's syntax, e.g. "probability=5,times=-1,seed=42" or
 * "slab:probability=10,cache=kmalloc-64;page:probability=1,min-order=2"; the groups change
 * the current settings of the kinds they name. NULL or "" turns every kind off.
 * Returns 0, or -EINVAL with a message naming the bad token (nothing changes then).
 */
enum kmem_fail_kind { KMEM_FAIL_SLAB, KMEM_FAIL_PAGE, KMEM_FAIL_VMALLOC, KMEM_FAIL_NR_KINDS };
int kmem_fail_set(const char *spec);
/* Failures injected for @kind since it was last configured (slab: per-cache hooks' too). */
unsigned long kmem_fail_injected(enum kmem_fail_kind kind);
/*
 * A per-cache decision made before the probability rules: @fn returns true to fail this
 * allocation from @s (the kernel test harness's non_kernel budget is one). @fn NULL removes
 * the hook. -ENOSPC when KMEM_FAIL_MAX_HOOKS caches already have one.
 */
#define KMEM_FAIL_MAX_HOOKS 16
typedef bool (*kmem_fail_cache_fn)(struct kmem_cache *s, gfp_t gfp, void *data);
int kmem_fail_set_cache_hook(struct kmem_cache *s, kmem_fail_cache_fn fn, void *data);

#ifdef __cplusplus
}
#endif

#endif /* KMEM_KMEM_H */
