/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the SLAB tests (test_slab_geometry.c, test_slab.c,
 * test_slab_threads.c, test_kmalloc.c): a thread-safe printk recorder, a
 * slabinfo line parser, per-node list counters, the invariant walker that
 * slab.c's header comment promises (slab_check_node) and the calling
 * thread's array cache. Everything is static: each test program includes it
 * once.
 */
#ifndef KMEM_TESTS_SLAB_TEST_H
#define KMEM_TESTS_SLAB_TEST_H

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kmem/kmem.h>

#include "mm/slab.h"

/* cr_assert() for hot loops and threads: only a failure reaches Criterion's runner. */
#define expect(cond, ...)                                                                          \
	do {                                                                                       \
		if (!(cond))                                                                       \
			cr_assert_fail(__VA_ARGS__);                                               \
	} while (0)

/* ------------------------------------------------------------ printk log */

static pthread_mutex_t printk_lock = PTHREAD_MUTEX_INITIALIZER;
static char printk_log[1 << 16];
static size_t printk_log_len;
static unsigned int printk_nr_msgs;

static void record_printk(int level, const char *msg)
{
	size_t n = strlen(msg);

	(void)level;
	pthread_mutex_lock(&printk_lock);
	printk_nr_msgs++;
	if (printk_log_len + n + 1 < sizeof(printk_log)) {
		memcpy(printk_log + printk_log_len, msg, n + 1);
		printk_log_len += n;
	}
	pthread_mutex_unlock(&printk_lock);
}

/* Forget what was recorded so far (and keep recording, silently). */
static __maybe_unused void printk_clear(void)
{
	pthread_mutex_lock(&printk_lock);
	printk_log[0] = '\0';
	printk_log_len = 0;
	printk_nr_msgs = 0;
	pthread_mutex_unlock(&printk_lock);
}

/* Start recording (and silencing) kmem's messages from now on. */
static __maybe_unused void printk_capture(void)
{
	printk_clear();
	kmem_set_printk(record_printk);
}

static __maybe_unused bool printk_logged(const char *needle)
{
	pthread_mutex_lock(&printk_lock);
	bool found = strstr(printk_log, needle) != NULL;
	pthread_mutex_unlock(&printk_lock);
	return found;
}

static __maybe_unused unsigned int printk_count(void)
{
	pthread_mutex_lock(&printk_lock);
	unsigned int n = printk_nr_msgs;
	pthread_mutex_unlock(&printk_lock);
	return n;
}

/* ------------------------------------------------------------ slabinfo */

#define SLABINFO_BUF_SIZE (1 << 17)

/* The whole of slabinfo in a static buffer; asserts that it fits. */
static __maybe_unused char *slabinfo_read(void)
{
	static char buf[SLABINFO_BUF_SIZE];
	ssize_t len = kmem_proc_read("slabinfo", buf, sizeof(buf));

	cr_assert_gt(len, 0, "kmem_proc_read(slabinfo) returned %zd", len);
	cr_assert_lt((size_t)len, sizeof(buf), "slabinfo is %zd bytes long", len);
	cr_assert_eq(strlen(buf), (size_t)len, "slabinfo: returned length != strlen");
	return buf;
}

struct slabinfo_line {
	char name[64];
	unsigned long active_objs, num_objs;
	unsigned int objsize, objperslab;
	int pagesperslab;
	unsigned int limit, batchcount, shared;
	unsigned long active_slabs, num_slabs, sharedavail;
};

/* Parse one cache line of slabinfo; false if it does not have the kernel's 2.1 layout. */
static __maybe_unused bool slabinfo_parse(const char *line, struct slabinfo_line *s)
{
	return sscanf(line, "%63s %lu %lu %u %u %d : tunables %u %u %u : slabdata %lu %lu %lu",
		      s->name, &s->active_objs, &s->num_objs, &s->objsize, &s->objperslab,
		      &s->pagesperslab, &s->limit, &s->batchcount, &s->shared, &s->active_slabs,
		      &s->num_slabs, &s->sharedavail) == 12;
}

/* The line of cache @name in slabinfo @text (NULL: read it now); false when absent. */
static __maybe_unused bool slabinfo_find(const char *text, const char *name,
					 struct slabinfo_line *s)
{
	if (!text)
		text = slabinfo_read();
	for (const char *line = text; line && *line; line = strchr(line, '\n'), line += !!line) {
		size_t n = strlen(name);

		if (strncmp(line, name, n) || line[n] != ' ')
			continue;
		cr_assert(slabinfo_parse(line, s), "slabinfo line of %s does not parse: '%.200s'",
			  name, line);
		return true;
	}
	return false;
}

/* ------------------------------------------------------------ slab lists */

static __maybe_unused unsigned long list_count(const struct list_head *head)
{
	unsigned long n = 0;
	const struct list_head *pos;

	list_for_each(pos, head)
		n++;
	return n;
}

struct node_counts {
	unsigned long partial, full, free; /* lengths of the three lists */
	unsigned long total_slabs, free_slabs, free_objects;
	unsigned long shared_avail;
};

static __maybe_unused struct node_counts node_counts(struct kmem_cache *c, int nid)
{
	struct kmem_cache_node *n = c->node[nid];
	struct node_counts nc;

	spin_lock(&n->list_lock);
	nc.partial = list_count(&n->slabs_partial);
	nc.full = list_count(&n->slabs_full);
	nc.free = list_count(&n->slabs_free);
	nc.total_slabs = n->total_slabs;
	nc.free_slabs = n->free_slabs;
	nc.free_objects = n->free_objects;
	nc.shared_avail = n->shared ? n->shared->avail : 0;
	spin_unlock(&n->list_lock);
	return nc;
}

static __maybe_unused unsigned long cache_total_slabs(struct kmem_cache *c)
{
	unsigned long total = 0;

	for (int nid = 0; nid < kmem_memory.nr_nodes; nid++)
		total += node_counts(c, nid).total_slabs;
	return total;
}

/* Length of @slab's free chain (bufctl), bounded by num + 1 to stop on a loop. */
static __maybe_unused unsigned int slab_free_chain(struct kmem_cache *c, struct slab *slab)
{
	unsigned int len = 0;

	for (kmem_bufctl_t i = slab->free; i != BUFCTL_END && len <= c->num;
	     i = slab_bufctl(slab)[i]) {
		if (i >= c->num)
			return c->num + 1;
		len++;
	}
	return len;
}

/*
 * The invariants of slab.c's header comment, for one node: every slab's inuse
 * matches its free chain, each list holds only slabs of its kind, free_objects
 * is the sum of the slabs' free objects, and the counters match the lists.
 */
static __maybe_unused void slab_check_node(struct kmem_cache *c, int nid)
{
	struct kmem_cache_node *n = c->node[nid];
	struct list_head *lists[3] = { &n->slabs_partial, &n->slabs_full, &n->slabs_free };
	static const char *const names[3] = { "slabs_partial", "slabs_full", "slabs_free" };
	unsigned long free_objects = 0, slabs = 0;
	struct slab *slab;

	spin_lock(&n->list_lock);
	for (int l = 0; l < 3; l++) {
		list_for_each_entry(slab, lists[l], list) {
			unsigned int chain = slab_free_chain(c, slab);
			bool ok = chain <= c->num && slab->inuse == c->num - chain &&
				  (l != 1 || slab->inuse == c->num) &&
				  (l != 2 || slab->inuse == 0) &&
				  (l != 0 || (slab->inuse > 0 && slab->inuse < c->num)) &&
				  slab->nodeid == nid;

			if (!ok)
				spin_unlock(&n->list_lock);
			cr_assert(
				ok,
				"%s node %d: slab %p on %s has inuse %u, a free chain of %u, node "
				"%u (num %u)",
				c->name, nid, (void *)slab, names[l], slab->inuse, chain,
				slab->nodeid, c->num);
			free_objects += c->num - slab->inuse;
			slabs++;
		}
	}
	unsigned long free_slabs = list_count(&n->slabs_free);
	bool ok = free_objects == n->free_objects && slabs == n->total_slabs &&
		  free_slabs == n->free_slabs;
	unsigned long nfo = n->free_objects, nts = n->total_slabs, nfs = n->free_slabs;

	spin_unlock(&n->list_lock);
	cr_assert(ok,
		  "%s node %d: lists hold %lu slabs (%lu free) with %lu free objects; the node "
		  "says %lu slabs (%lu free) with %lu free objects",
		  c->name, nid, slabs, free_slabs, free_objects, nts, nfs, nfo);
}

static __maybe_unused void slab_check(struct kmem_cache *c)
{
	for (int nid = 0; nid < kmem_memory.nr_nodes; nid++)
		slab_check_node(c, nid);
}

/* A test's end: lists consistent, nothing live, the cache gone, no error reported. */
static __maybe_unused void slab_check_and_destroy(struct kmem_cache *c)
{
	slab_check(c);
	cr_assert_eq(kmem_cache_shrink(c), 0, "%s still has live objects", c->name);
	kmem_cache_destroy(c);
	cr_assert_eq(kmem_error_count(), 0);
}

/* ------------------------------------------------------------ per-thread arrays */

/* The calling thread's array cache for @c (the thread must have allocated before). */
static __maybe_unused struct array_cache *my_array(struct kmem_cache *c)
{
	struct percpu_area *area = __this_cpu_area;

	cr_assert_not_null(area, "this thread has no per-CPU unit yet");
	return cpu_cache_get(area, c);
}

/* ------------------------------------------------------------ zones */

/* Free pages of zone @idx of node @nid in the buddy lists (per-CPU lists drained first). */
static __maybe_unused unsigned long zone_free_pages(int nid, enum zone_type idx)
{
	drain_all_pages(NULL);
	return zone_page_state_free(&NODE_DATA(nid)->node_zones[idx]);
}

/* All free pages of every zone of every node, per-CPU lists drained first. */
static __maybe_unused unsigned long all_free_pages(void)
{
	unsigned long free = 0;

	drain_all_pages(NULL);
	for (int nid = 0; nid < kmem_memory.nr_nodes; nid++)
		for (int z = 0; z < MAX_NR_ZONES; z++)
			free += zone_page_state_free(&NODE_DATA(nid)->node_zones[z]);
	return free;
}

/*
 * Pages that shared arrays hold: a cache makes them at its first overflow,
 * so a test that counts pages across one adds them to the count. Nothing
 * may create or destroy caches meanwhile.
 */
static __maybe_unused unsigned long shared_array_pages(void)
{
	struct kmem_cache *c;
	unsigned long pages = 0;

	list_for_each_entry(c, &slab_caches, list)
		for (int nid = 0; nid < kmem_memory.nr_nodes; nid++) {
			struct array_cache *shared = c->node[nid] ? c->node[nid]->shared : NULL;

			if (shared)
				pages += 1UL << get_order(sizeof(struct alien_cache) +
							  shared->limit * sizeof(void *));
		}
	return pages;
}

/* ------------------------------------------------------------ leak checks */

#define LEAK_CHECK_ARENA (64UL << 20)

/* kmem for leak checks: a small arena, no reaper between the counts, printk captured. */
static __maybe_unused void leak_check_setup(void)
{
	cr_assert_eq(
		kmem_init(&(struct kmem_config){ .mem_size = LEAK_CHECK_ARENA, .no_reporting = 1 }),
		0);
	kswapd_stop();
	printk_capture();
}

static __maybe_unused void leak_check_teardown(void)
{
	kmem_exit();
	kmem_set_printk(NULL);
}

/* Live slab objects after every cache gave back what threads and free slabs hold. */
static __maybe_unused unsigned long live_objects(void)
{
	struct kmem_cache *c;
	unsigned long live = 0;
	struct slabinfo_line s;

	list_for_each_entry(c, &slab_caches, list)
		kmem_cache_shrink(c);
	char *text = slabinfo_read();

	for (char *line = strchr(text, '\n') + 1; (line = strchr(line, '\n')) && line[1];) {
		line++;
		if (slabinfo_parse(line, &s))
			live += s.active_objs;
	}
	return live;
}

struct usage {
	unsigned long objs, pages;
};

/* What a leak check compares: live slab objects and free pages (fault injection tests). */
static __maybe_unused struct usage usage_now(void)
{
	struct usage u;

	u.objs = live_objects();
	u.pages = all_free_pages();
	return u;
}

static __maybe_unused void assert_usage(struct usage before, const char *when)
{
	struct usage after = usage_now();

	cr_assert_eq(after.objs, before.objs, "%s: %lu live slab objects, %lu at the start", when,
		     after.objs, before.objs);
	cr_assert_eq(after.pages, before.pages, "%s: %lu free pages, %lu at the start", when,
		     after.pages, before.pages);
}

#endif /* KMEM_TESTS_SLAB_TEST_H */
