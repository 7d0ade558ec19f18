// SPDX-License-Identifier: MIT
/*
 * The SLAB allocator's contract (seed 004): constructors once per object,
 * LIFO reuse through the per-thread arrays, slabs moving between
 * slabs_partial, slabs_full and slabs_free, free_limit, shrink and destroy,
 * slabinfo and its tunables, bulk calls, bad arguments, DMA and reclaimable
 * caches, NUMA nodes with alien caches, and the reaper's 'touched' logic.
 *
 * Objects sit in per-thread arrays (and, on machines with more than one CPU,
 * a shared array per node) between the user and the slabs. Tests that check
 * the lists exactly tune the cache with "name 1 1 0" (limit 1, batchcount 1,
 * no shared array) so that every allocation takes one object from the slabs
 * and at most one freed object waits in the array.
 *
 * The background reaper (kswapd's cache_reap every 2 s) is stopped, so that
 * nothing moves objects behind a test's back; kmem_cache_reap() runs the
 * same pass by hand.
 */
#include <errno.h>
#include <signal.h>
#include <stdalign.h>
#include <sys/wait.h>
#include <unistd.h>

#include "platform/os.h"
#include "slab_test.h"

#define ARENA_SIZE (128UL << 20)

static void setup(void)
{
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = ARENA_SIZE, .no_reporting = 1 }),
		     0);
	kswapd_stop(); /* no background reaper: the tests look at lists and arrays exactly */
}

static void teardown(void)
{
	kmem_exit();
	kmem_set_printk(NULL);
}

TestSuite(slab, .init = setup, .fini = teardown);

static struct kmem_cache *create_tuned(const char *name, unsigned int size, const char *tunables)
{
	struct kmem_cache *c = kmem_cache_create(name, size, 0, 0, NULL);
	char text[128];

	cr_assert_not_null(c, "kmem_cache_create(%s, %u) failed", name, size);
	snprintf(text, sizeof(text), "%s %s", name, tunables);
	cr_assert_eq(kmem_proc_write("slabinfo", text), 0, "slabinfo write '%s' failed", text);
	return c;
}

#define assert_lists(c, want_partial, want_full, want_free, want_free_objects)                     \
	do {                                                                                       \
		struct node_counts __nc = node_counts((c), 0);                                     \
		cr_assert(__nc.partial == (want_partial) && __nc.full == (want_full) &&            \
				  __nc.free == (want_free) &&                                      \
				  __nc.free_objects == (want_free_objects),                        \
			  "%s: partial %lu full %lu free %lu free_objects %lu; expected %d %d %d " \
			  "%d",                                                                    \
			  (c)->name, __nc.partial, __nc.full, __nc.free, __nc.free_objects,        \
			  (int)(want_partial), (int)(want_full), (int)(want_free),                 \
			  (int)(want_free_objects));                                               \
		slab_check(c);                                                                     \
	} while (0)

static bool all_bytes(const void *p, int byte, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((const unsigned char *)p)[i] != (unsigned char)byte)
			return false;
	return true;
}

/* ------------------------------------------------------------ constructors */

#define CTOR_SIZE 200 /* num 20, order 0 (test_slab_geometry.c: geo-200) */
static atomic_uint ctor_calls;

static void ctor_c7(void *obj)
{
	atomic_fetch_add(&ctor_calls, 1);
	memset(obj, 0xc7, CTOR_SIZE);
}

Test(slab, ctor_runs_once_per_object_never_on_reuse)
{
	struct kmem_cache *c = kmem_cache_create("ctor-test", CTOR_SIZE, 0, 0, ctor_c7);
	void *objs[41];

	cr_assert_not_null(c);
	cr_assert_eq(c->num, 20);
	cr_assert_eq(atomic_load(&ctor_calls), 0, "no slab yet, no constructor call");

	unsigned char *p = kmem_cache_alloc(c, GFP_KERNEL);

	cr_assert_not_null(p);
	cr_assert_eq(atomic_load(&ctor_calls), 20, "one slab: the constructor ran %u times",
		     atomic_load(&ctor_calls));
	cr_assert(all_bytes(p, 0xc7, CTOR_SIZE), "a new object is in its constructed state");

	/* The user leaves the object in another state: SLAB gives it back exactly so. */
	memset(p, 0x5a, CTOR_SIZE);
	kmem_cache_free(c, p);
	unsigned char *q = kmem_cache_alloc(c, GFP_KERNEL);

	cr_assert_eq(q, p, "LIFO: the object just freed comes back first");
	cr_assert(all_bytes(q, 0x5a, CTOR_SIZE), "reuse must not touch the object");
	cr_assert_eq(atomic_load(&ctor_calls), 20, "reuse ran the constructor");
	kmem_cache_free(c, q);

	/* 41 live objects need ceil(41/20) = 3 slabs: 60 constructor calls, no more. */
	for (int i = 0; i < 41; i++) {
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
		cr_assert_not_null(objs[i]);
	}
	cr_assert_eq(node_counts(c, 0).total_slabs, 3);
	cr_assert_eq(atomic_load(&ctor_calls), 60);
	for (int round = 0; round < 100; round++) {
		for (int i = 0; i < 41; i++)
			kmem_cache_free(c, objs[i]);
		for (int i = 0; i < 41; i++)
			objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
	}
	cr_assert_eq(atomic_load(&ctor_calls), 60, "churn ran the constructor %u times",
		     atomic_load(&ctor_calls) - 60);
	for (int i = 0; i < 41; i++)
		kmem_cache_free(c, objs[i]);

	/* After a shrink the next slab is new: its objects are constructed again. */
	cr_assert_eq(kmem_cache_shrink(c), 0);
	p = kmem_cache_alloc(c, GFP_KERNEL);
	cr_assert(all_bytes(p, 0xc7, CTOR_SIZE));
	cr_assert_eq(atomic_load(&ctor_calls), 80);
	kmem_cache_free(c, p);
	kmem_cache_destroy(c);
}

Test(slab, zalloc_on_a_ctor_cache_is_refused)
{
	struct kmem_cache *c = kmem_cache_create("ctor-zero", CTOR_SIZE, 0, 0, ctor_c7);

	printk_capture();
	cr_assert_null(kmem_cache_zalloc(c, GFP_KERNEL));
	cr_assert(printk_logged("__GFP_ZERO on cache ctor-zero"), "log: %s", printk_log);
	printk_clear();
	cr_assert_null(kmem_cache_alloc(c, GFP_KERNEL | __GFP_ZERO));
	cr_assert(printk_logged("ctor-zero"));
	cr_assert_eq(node_counts(c, 0).total_slabs, 0, "a refused zalloc grew the cache");
	kmem_cache_destroy(c);
}

Test(slab, zalloc_zeroes_a_recycled_object)
{
	struct kmem_cache *c = kmem_cache_create("zero-test", 100, 0, 0, NULL);
	unsigned char *p = kmem_cache_alloc(c, GFP_KERNEL);

	memset(p, 0xee, 100);
	kmem_cache_free(c, p);
	unsigned char *q = kmem_cache_zalloc(c, GFP_KERNEL);

	cr_assert_eq(q, p);
	cr_assert(all_bytes(q, 0, 100), "kmem_cache_zalloc left dirty bytes");
	kmem_cache_free(c, q);
	kmem_cache_destroy(c);
}

/* ------------------------------------------------------------ LIFO and lists */

Test(slab, lifo_reuse)
{
	struct kmem_cache *c = kmem_cache_create("lifo-test", 64, 0, 0, NULL);
	void *a = kmem_cache_alloc(c, GFP_KERNEL), *b = kmem_cache_alloc(c, GFP_KERNEL),
	     *d = kmem_cache_alloc(c, GFP_KERNEL);

	cr_assert(a && b && d && a != b && b != d && a != d);
	kmem_cache_free(c, a);
	cr_assert_eq(kmem_cache_alloc(c, GFP_KERNEL), a);
	kmem_cache_free(c, a);
	kmem_cache_free(c, b);
	kmem_cache_free(c, d);
	cr_assert_eq(kmem_cache_alloc(c, GFP_KERNEL), d);
	cr_assert_eq(kmem_cache_alloc(c, GFP_KERNEL), b);
	cr_assert_eq(kmem_cache_alloc(c, GFP_KERNEL), a);
	kmem_cache_free(c, a);
	kmem_cache_free(c, b);
	kmem_cache_free(c, d);
	kmem_cache_destroy(c);
}

/*
 * 256-byte objects, 15 per slab, arrays of one entry. A (slab 1) and B (slab 2)
 * walk free -> partial -> full and back, and the kernel's preferences show:
 * the array first, then partial slabs, then free slabs, then a new slab.
 */
Test(slab, list_transitions)
{
	struct kmem_cache *c = create_tuned("list-test", 256, "1 1 0");
	void *a[15], *b[3];

	cr_assert_eq(c->num, 15);
	cr_assert_eq(c->limit, 1);
	cr_assert_eq(c->node[0]->shared, NULL);
	assert_lists(c, 0, 0, 0, 0);

	a[0] = kmem_cache_alloc(c, GFP_KERNEL);
	cr_assert_eq(node_counts(c, 0).total_slabs, 1);
	assert_lists(c, 1, 0, 0, 14); /* a fresh slab gave one object: partial */
	for (int i = 1; i < 15; i++)
		a[i] = kmem_cache_alloc(c, GFP_KERNEL);
	assert_lists(c, 0, 1, 0, 0); /* every object handed out: full */
	cr_assert_eq(my_array(c)->avail, 0);

	b[0] = kmem_cache_alloc(c, GFP_KERNEL);
	cr_assert_neq(virt_to_page(b[0])->slab, virt_to_page(a[0])->slab);
	assert_lists(c, 1, 1, 0, 14);
	cr_assert_eq(node_counts(c, 0).total_slabs, 2);

	/* The first free waits in the array: the slabs do not see it. */
	kmem_cache_free(c, b[0]);
	cr_assert_eq(my_array(c)->avail, 1);
	cr_assert_eq(my_array(c)->entry[0], b[0]);
	assert_lists(c, 1, 1, 0, 14);

	/* The array is full: b[0] goes home (B is free now), a[0] waits. */
	kmem_cache_free(c, a[0]);
	cr_assert_eq(my_array(c)->entry[0], a[0]);
	assert_lists(c, 0, 1, 1, 15);
	cr_assert_eq(node_counts(c, 0).free_slabs, 1);

	/* a[0] goes home: A is partial; a[1] waits. */
	kmem_cache_free(c, a[1]);
	assert_lists(c, 1, 0, 1, 16);

	/* Allocation order: the array (a[1]), then the partial slab (A's a[0]), then B. */
	cr_assert_eq(kmem_cache_alloc(c, GFP_KERNEL), a[1]);
	assert_lists(c, 1, 0, 1, 16);
	cr_assert_eq(kmem_cache_alloc(c, GFP_KERNEL), a[0]);
	assert_lists(c, 0, 1, 1, 15);
	b[0] = kmem_cache_alloc(c, GFP_KERNEL);
	cr_assert_neq(virt_to_page(b[0])->slab, virt_to_page(a[0])->slab);
	assert_lists(c, 1, 1, 0, 14);
	cr_assert_eq(node_counts(c, 0).total_slabs, 2, "a free slab was there: no growing");

	/* Shrink: B's object is live, A is full: nothing to free, slabs remain (1). */
	cr_assert_eq(kmem_cache_shrink(c), 1);
	assert_lists(c, 1, 1, 0, 14);

	kmem_cache_free(c, b[0]);
	kmem_cache_free(c, a[0]); /* b[0] home: B free again */
	assert_lists(c, 0, 1, 1, 15);
	cr_assert_eq(kmem_cache_shrink(c), 1, "A still has live objects");
	/* Shrink drained a[0] from the array and destroyed B. */
	assert_lists(c, 1, 0, 0, 1);
	cr_assert_eq(my_array(c)->avail, 0);
	cr_assert_eq(node_counts(c, 0).total_slabs, 1);

	for (int i = 1; i < 15; i++)
		kmem_cache_free(c, a[i]);
	cr_assert_eq(kmem_cache_shrink(c), 0);
	assert_lists(c, 0, 0, 0, 0);
	cr_assert_eq(node_counts(c, 0).total_slabs, 0);
	kmem_cache_destroy(c);
}

/*
 * free_block keeps free slabs only up to free_limit free objects per node
 * ((1 + CPUs) * batchcount + num, as the kernel sets it); beyond, the free
 * slabs go back to the buddy allocator at once.
 */
Test(slab, free_limit_destroys_free_slabs)
{
	struct kmem_cache *c = create_tuned("limit-test", 256, "1 1 0");
	struct kmem_cache_node *n = c->node[0];
	enum { NR_SLABS = 20, NR = NR_SLABS * 15 };
	void *objs[NR];

	cr_assert_eq(n->free_limit, (1 + os_nr_cpus()) * 1 + 15);
	unsigned long before = zone_free_pages(0, ZONE_NORMAL);

	for (int i = 0; i < NR; i++)
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
	cr_assert_eq(node_counts(c, 0).total_slabs, NR_SLABS);
	cr_assert_eq(zone_free_pages(0, ZONE_NORMAL), before - NR_SLABS);
	for (int i = 0; i < NR; i++)
		kmem_cache_free(c, objs[i]);

	struct node_counts nc = node_counts(c, 0);

	slab_check(c);
	/* One object waits in the array; its slab is partial. */
	cr_assert_eq(my_array(c)->avail, 1);
	cr_assert_eq(nc.free_objects, nc.total_slabs * 15 - 1);
	cr_assert_leq(nc.free_objects, n->free_limit, "%lu free objects kept, free_limit %u",
		      nc.free_objects, n->free_limit);
	cr_assert_gt(
		nc.free_objects + 15, n->free_limit,
		"a whole free slab more than needed was destroyed (%lu free objects, limit %u)",
		nc.free_objects, n->free_limit);
	cr_assert_lt(nc.total_slabs, NR_SLABS);
	cr_assert_eq(zone_free_pages(0, ZONE_NORMAL), before - nc.total_slabs,
		     "destroyed slabs' pages are back in the buddy lists");

	cr_assert_eq(kmem_cache_shrink(c), 0);
	cr_assert_eq(node_counts(c, 0).total_slabs, 0);
	cr_assert_eq(zone_free_pages(0, ZONE_NORMAL), before);
	kmem_cache_destroy(c);
}

/* ------------------------------------------------------------ shrink and destroy */

Test(slab, shrink_frees_every_slab_when_nothing_is_live)
{
	struct kmem_cache *c = kmem_cache_create("shrink-test", 512, 0, 0, NULL);
	struct kmem_cache *kmalloc64 = kmalloc_slab(64, 0);
	struct slabinfo_line s;
	void *objs[300];

	/* Off-slab: the descriptors come from kmalloc-64, which is shrunk alongside. */
	cr_assert(c->flags & CFLGS_OFF_SLAB);
	cr_assert_eq(c->freelist_cache, kmalloc64);
	kmem_cache_shrink(kmalloc64);
	unsigned long before = all_free_pages() + shared_array_pages();

	for (int i = 0; i < 300; i++)
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
	cr_assert_geq(node_counts(c, 0).total_slabs, 300 / 8);
	for (int i = 0; i < 300; i++)
		kmem_cache_free(c, objs[i]);
	cr_assert_neq(my_array(c)->avail, 0, "the array should hold objects");
	cr_assert_neq(node_counts(c, 0).total_slabs, 0);
	cr_assert_eq(kmem_cache_shrink(c), 0);
	cr_assert_eq(node_counts(c, 0).total_slabs, 0);
	cr_assert_eq(node_counts(c, 0).free_objects, 0);
	cr_assert_eq(node_counts(c, 0).shared_avail, 0);
	cr_assert_eq(my_array(c)->avail, 0);
	cr_assert(slabinfo_find(NULL, "shrink-test", &s));
	cr_assert_eq(s.active_objs, 0);
	cr_assert_eq(s.num_objs, 0);
	cr_assert_eq(s.num_slabs, 0);

	/*
	 * Every page is back once kmalloc-64 lets go of the descriptors' slabs,
	 * but for the shared arrays the overflows made.
	 */
	kmem_cache_shrink(kmalloc64);
	cr_assert_eq(all_free_pages() + shared_array_pages(), before);
	kmem_cache_destroy(c);
}

Test(slab, shrink_of_null_is_a_noop)
{
	cr_assert_eq(kmem_cache_shrink(NULL), 0);
	kmem_cache_destroy(NULL);
}

Test(slab, destroy_with_live_objects_is_refused)
{
	struct kmem_cache *c = kmem_cache_create("destroy-test", 128, 0, 0, NULL);
	void *objs[20];

	for (int i = 0; i < 20; i++)
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
	for (int i = 3; i < 20; i++)
		kmem_cache_free(c, objs[i]);

	unsigned long errors = kmem_error_count();

	printk_capture();
	kmem_cache_destroy(c);
	cr_assert_eq(kmem_error_count(), errors + 1);
	cr_assert(printk_logged("destroy-test"), "log: %s", printk_log);
	cr_assert(printk_logged(" 3 objects"), "log: %s", printk_log);

	/* Still there and usable. */
	struct slabinfo_line s;

	cr_assert(slabinfo_find(NULL, "destroy-test", &s));
	cr_assert_eq(s.active_objs, 3, "the refused destroy drained the arrays: %lu active",
		     s.active_objs);
	void *p = kmem_cache_alloc(c, GFP_KERNEL);

	cr_assert_not_null(p);
	cr_assert_eq(virt_to_cache(p), c);
	kmem_cache_free(c, p);
	for (int i = 0; i < 3; i++)
		kmem_cache_free(c, objs[i]);

	printk_clear();
	kmem_cache_destroy(c);
	cr_assert_eq(kmem_error_count(), errors + 1, "a clean destroy reported a bug");
	cr_assert_eq(printk_count(), 0, "a clean destroy printed: %s", printk_log);
	cr_assert_not(slabinfo_find(NULL, "destroy-test", &s));
}

/* ------------------------------------------------------------ slabinfo */

static const char slabinfo_header[] =
	"slabinfo - version: 2.1\n"
	"# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : "
	"tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> "
	"<sharedavail>\n";

Test(slab, slabinfo_format)
{
	struct kmem_cache *c = kmem_cache_create("info-test", 256, 0, 0, NULL);
	struct kmem_cache *big = kmem_cache_create("info-3000", 3000, 0, 0, NULL);
	unsigned int shared = os_nr_cpus() > 1 ? 8 : 0;
	struct slabinfo_line s;
	char *text = slabinfo_read();

	cr_assert_eq(strncmp(text, slabinfo_header, strlen(slabinfo_header)), 0,
		     "slabinfo starts with:\n%.300s", text);
	/* Every other line is a cache in the 2.1 layout, the name padded to 17. */
	unsigned int lines = 0;

	for (char *line = text + strlen(slabinfo_header); *line; lines++) {
		char *end = strchr(line, '\n');

		cr_assert_not_null(end, "slabinfo does not end with a newline");
		*end = '\0';
		cr_assert(slabinfo_parse(line, &s), "bad slabinfo line '%s'", line);
		cr_assert_geq(strlen(line), 17);
		cr_assert(strlen(s.name) >= 17 || line[16] == ' ', "name not padded: '%s'", line);
		line = end + 1;
	}
	/* The bootstrap caches, kmalloc's 13 (its DMA and reclaimable ones come on first use). */
	cr_assert_geq(lines, 2 + 13 + 2, "only %u caches", lines);

	cr_assert(slabinfo_find(NULL, "info-test", &s));
	cr_assert_eq(s.active_objs, 0);
	cr_assert_eq(s.num_objs, 0);
	cr_assert_eq(s.objsize, 256);
	cr_assert_eq(s.objperslab, 15);
	cr_assert_eq(s.pagesperslab, 1);
	/* 64 KiB of objects per thread while per-CPU space is plentiful (the kernel: 120). */
	cr_assert_eq(s.limit, 256, "default limit for 256-byte objects");
	cr_assert_eq(s.batchcount, 128);
	cr_assert_eq(s.shared, shared);
	cr_assert_eq(s.active_slabs + s.num_slabs + s.sharedavail, 0);

	/*
	 * One object in use: the first refill took the whole slab (15 objects,
	 * batch 16 for an untouched array) and slabinfo counts the 14 waiting
	 * in the array as active, as the kernel does.
	 */
	void *p = kmem_cache_alloc(c, GFP_KERNEL);

	cr_assert(slabinfo_find(NULL, "info-test", &s));
	cr_assert_eq(s.active_objs, 15);
	cr_assert_eq(s.num_objs, 15);
	cr_assert_eq(s.active_slabs, 1);
	cr_assert_eq(s.num_slabs, 1);
	kmem_cache_free(c, p);
	cr_assert(slabinfo_find(NULL, "info-test", &s));
	cr_assert_eq(s.active_objs, 15, "the freed object sits in the array: still active");
	cr_assert_eq(kmem_cache_shrink(c), 0);
	cr_assert(slabinfo_find(NULL, "info-test", &s));
	cr_assert_eq(s.active_objs, 0);
	cr_assert_eq(s.num_slabs, 0);

	cr_assert(slabinfo_find(NULL, "info-3000", &s));
	cr_assert_eq(s.objsize, 3000);
	cr_assert_eq(s.objperslab, 5);
	cr_assert_eq(s.pagesperslab, 4);
	cr_assert_eq(s.limit, 24, "the kernel's default limit for 1025..4096 bytes is 24");
	cr_assert_eq(s.batchcount, 12);
	kmem_cache_destroy(c);
	kmem_cache_destroy(big);
}

/*
 * Slow start: a thread's array begins at the kernel's limit for the size,
 * doubles each time it runs dry, up to the cache's limit, and halves back
 * after more than three overflows in a row. The node-wide parts are sized
 * by the starting batch, and the shared array is made at the first overflow.
 */
Test(slab, arrays_start_at_the_kernel_limit_and_grow)
{
	struct kmem_cache *c = kmem_cache_create("slow-start", 64, 0, 0, NULL);
	enum { NR = 3000 };
	static void *objs[NR];

	cr_assert_not_null(c);
	cr_assert_eq(c->limit, 1024, "64 KiB of 64-byte objects, at most 1024");
	cr_assert_eq(c->start_limit, 120, "the kernel's limit for 64-byte objects");
	cr_assert_eq(c->node[0]->free_limit, (1 + os_nr_cpus()) * 60 + c->num);
	cr_assert_null(c->node[0]->shared, "the shared array is made at the first overflow");
	cr_assert_eq(c->node[0]->shared_wanted, c->shared * 60);

	objs[0] = kmem_cache_alloc(c, GFP_KERNEL);
	cr_assert_eq(my_array(c)->limit, 240, "one refill doubles 120");
	cr_assert_eq(my_array(c)->batchcount, 120);
	for (int i = 1; i < NR; i++) {
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
		cr_assert_not_null(objs[i]);
	}
	cr_assert_eq(my_array(c)->limit, 1024, "a burst of allocations grows it to the cache's");
	cr_assert_eq(my_array(c)->batchcount, 512);
	/* A burst of frees: it keeps 1024, then each overflow flushes; the fourth halves it. */
	unsigned int limits[8], n = 0, last = 0;

	for (int i = 0; i < NR; i++) {
		kmem_cache_free(c, objs[i]);
		if (my_array(c)->limit != last && n < 8)
			limits[n++] = last = my_array(c)->limit;
		expect(my_array(c)->avail <= 1024, "%u objects in an array of 1024",
		       my_array(c)->avail);
	}
	cr_assert_geq(n, 2, "the limit never shrank");
	if (c->shared) {
		cr_assert_not_null(c->node[0]->shared, "overflows made no shared array");
		cr_assert_eq(c->node[0]->shared->limit, c->shared * 60);
		cr_assert_eq(c->node[0]->shared_wanted, 0);
	}
	cr_assert_eq(limits[0], 1024);
	cr_assert_eq(limits[1], 512, "halved after the overflows");
	cr_assert_geq(my_array(c)->limit, c->start_limit / 2, "never below half where it started");
	slab_check_and_destroy(c);
}

/*
 * A thread that only frees (objects another thread allocated) ends with an
 * array of half the starting limit, the kernel's batchcount for the size,
 * and holds no more than that: anything beyond a flush's worth would only
 * be memory that no allocation of its comes to take.
 */
struct freer {
	struct kmem_cache *c;
	void **objs;
	unsigned int nr, limit, max_avail;
};

static void *free_them_all(void *arg)
{
	struct freer *f = arg;

	for (unsigned int i = 0; i < f->nr; i++) {
		kmem_cache_free(f->c, f->objs[i]);
		f->max_avail = max(f->max_avail, my_array(f->c)->avail);
	}
	f->limit = my_array(f->c)->limit;
	return NULL;
}

/* Allocate @nr objects of @c here, and free them all in another thread. */
static struct freer free_in_a_thread(struct kmem_cache *c, void **objs, unsigned int nr)
{
	struct freer f = { .c = c, .objs = objs, .nr = nr };
	pthread_t t;

	cr_assert_not_null(c);
	for (unsigned int i = 0; i < nr; i++)
		cr_assert_not_null(objs[i] = kmem_cache_alloc(c, GFP_KERNEL));
	cr_assert_eq(pthread_create(&t, NULL, free_them_all, &f), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	return f;
}

Test(slab, a_thread_that_only_frees_keeps_one_batch)
{
	enum { NR = 4000 };
	static void *objs[NR];
	struct kmem_cache *c = kmem_cache_create("only-frees", 64, 0, 0, NULL);
	struct freer f = free_in_a_thread(c, objs, NR);

	cr_assert_eq(f.limit, c->start_limit / 2, "limit %u after %d frees, start %u", f.limit, NR,
		     c->start_limit);
	cr_assert_leq(f.max_avail, c->start_limit, "the freeing thread held %u objects",
		      f.max_avail);
	slab_check_and_destroy(c);
}

/* Tunables written to slabinfo have no slow start: a freeing thread keeps the limit written. */
Test(slab, a_tuned_cache_keeps_its_limit_in_a_thread_that_only_frees)
{
	enum { NR = 400 };
	static void *objs[NR];
	struct kmem_cache *c = kmem_cache_create("only-frees-tuned", 64, 0, 0, NULL);

	cr_assert_not_null(c);
	cr_assert_eq(kmem_proc_write("slabinfo", "only-frees-tuned 32 16 4"), 0);
	struct freer f = free_in_a_thread(c, objs, NR);

	cr_assert_eq(f.limit, 32);
	slab_check_and_destroy(c);
}

/*
 * A thread that allocates as well as frees keeps its grown limit even when
 * it frees more than it allocates (two frees for each allocation here): the
 * array overflows again and again, but it was allocated from in between.
 */
Test(slab, mixed_use_keeps_the_grown_limit)
{
	struct kmem_cache *c = kmem_cache_create("mixed-limit", 64, 0, 0, NULL);
	enum { NR = 8000 };
	static void *objs[NR];
	unsigned int held = 0;

	cr_assert_not_null(c);
	while (held < NR)
		objs[held++] = kmem_cache_alloc(c, GFP_KERNEL);
	cr_assert_eq(my_array(c)->limit, c->limit, "the allocations grew the array");
	while (held >= 2) {
		kmem_cache_free(c, objs[--held]);
		kmem_cache_free(c, objs[--held]);
		objs[held++] = kmem_cache_alloc(c, GFP_KERNEL);
		expect(my_array(c)->limit == c->limit, "%u held: limit %u, the cache's %u", held,
		       my_array(c)->limit, c->limit);
	}
	while (held)
		kmem_cache_free(c, objs[--held]);
	slab_check_and_destroy(c);
}

Test(slab, slabinfo_write_tunables)
{
	struct kmem_cache *c = kmem_cache_create("tune-test", 256, 0, 0, NULL);
	struct slabinfo_line s;
	void *objs[200];

	/* Objects in the old arrays survive the switch. */
	for (int i = 0; i < 200; i++)
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
	for (int i = 0; i < 100; i++)
		kmem_cache_free(c, objs[i]);

	cr_assert_eq(kmem_proc_write("slabinfo", "tune-test 32 16 4"), 0);
	cr_assert(slabinfo_find(NULL, "tune-test", &s));
	cr_assert_eq(s.limit, 32);
	cr_assert_eq(s.batchcount, 16);
	cr_assert_eq(s.shared, 4);
	cr_assert_eq(s.active_objs, 100, "the old arrays were drained: %lu active", s.active_objs);
	cr_assert_eq(c->node[0]->shared->limit, 4 * 16);
	cr_assert_eq(c->node[0]->free_limit, (1 + os_nr_cpus()) * 16 + 15);
	slab_check(c);

	for (int i = 0; i < 100; i++)
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
	cr_assert_eq(my_array(c)->limit, 32, "tunables written by hand: no slow start");
	cr_assert_eq(my_array(c)->batchcount, 16);
	for (int i = 0; i < 200; i++) {
		cr_assert_not_null(objs[i]);
		for (int j = 0; j < i; j++)
			expect(objs[i] != objs[j], "object %p handed out twice", objs[i]);
	}
	for (int i = 0; i < 200; i++)
		kmem_cache_free(c, objs[i]);
	cr_assert_leq(my_array(c)->avail, 32);
	cr_assert_leq(node_counts(c, 0).shared_avail, 64);
	cr_assert_gt(node_counts(c, 0).shared_avail, 0, "200 frees into arrays of 32 fill it");
	cr_assert(slabinfo_find(NULL, "tune-test", &s));
	cr_assert_eq(s.sharedavail, node_counts(c, 0).shared_avail);

	printk_capture();
	cr_assert_eq(kmem_proc_write("slabinfo", "tune-test 8 16 0"), -EINVAL,
		     "batchcount above limit");
	cr_assert(printk_logged("out of range"));
	cr_assert_eq(kmem_proc_write("slabinfo", "tune-test 0 0 0"), -EINVAL);
	cr_assert_eq(kmem_proc_write("slabinfo", "tune-test 32 16 -1"), -EINVAL);
	cr_assert_eq(kmem_proc_write("slabinfo", "no-such-cache 32 16 4"), -EINVAL);
	cr_assert(printk_logged("no cache named no-such-cache"));
	cr_assert_eq(kmem_proc_write("slabinfo", "garbage"), -EINVAL);
	cr_assert_eq(kmem_proc_write("slabinfo", "tune-test lots some none"), -EINVAL);
	cr_assert_eq(kmem_proc_write("slabinfo", ""), -EINVAL);
	cr_assert(slabinfo_find(NULL, "tune-test", &s));
	cr_assert(s.limit == 32 && s.batchcount == 16 && s.shared == 4,
		  "a refused write changed the tunables to %u %u %u", s.limit, s.batchcount,
		  s.shared);

	/* Back to the smallest arrays: still works. */
	cr_assert_eq(kmem_proc_write("slabinfo", "tune-test 1 1 0"), 0);
	cr_assert_null(c->node[0]->shared);
	void *p = kmem_cache_alloc(c, GFP_KERNEL);

	cr_assert_not_null(p);
	kmem_cache_free(c, p);
	cr_assert_eq(kmem_cache_shrink(c), 0);
	kmem_cache_destroy(c);
}

/*
 * Each cache's per-thread arrays take per-CPU space (2 MiB a thread): what a
 * destroyed cache took is reused, so caches can come and go forever.
 */
Test(slab, many_caches_come_and_go)
{
	enum { NR = 400 };
	static char names[NR][24];
	static struct kmem_cache *caches[NR];

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < NR; i++) {
			snprintf(names[i], sizeof(names[i]), "many-%d-%d", round, i);
			caches[i] = kmem_cache_create(names[i], 16 + 8 * (i % 40), 0, 0, NULL);
			cr_assert_not_null(caches[i], "round %d: cache %d failed", round, i);
			void *p = kmem_cache_alloc(caches[i], GFP_KERNEL);

			expect(p != NULL, "round %d: cache %d gives no object", round, i);
			/* One refill: the array started at start_limit and doubled once. */
			unsigned int expected = min(2 * caches[i]->start_limit, caches[i]->limit);

			expect(my_array(caches[i])->limit == expected,
			       "cache %d: array limit %u, expected %u (stale per-CPU space?)", i,
			       my_array(caches[i])->limit, expected);
			kmem_cache_free(caches[i], p);
		}
		/* Wide arrays while space is plentiful, then the kernel's limits. */
		expect(caches[0]->limit > 120, "round %d: first cache limit %u", round,
		       caches[0]->limit);
		expect(caches[NR - 40]->limit <= 120, "round %d: late cache limit %u", round,
		       caches[NR - 40]->limit);
		for (int i = 0; i < NR; i++)
			kmem_cache_destroy(caches[i]);
	}
	cr_assert_eq(kmem_error_count(), 0);
}

/* kfree() takes an object of any cache, as the kernel's does. */
Test(slab, kfree_of_a_cache_object)
{
	struct kmem_cache *c = kmem_cache_create("kfree-test", 72, 0, 0, NULL);
	void *p = kmem_cache_alloc(c, GFP_KERNEL);

	cr_assert_eq(ksize(p), 72);
	kfree(p);
	cr_assert_eq(kmem_cache_alloc(c, GFP_KERNEL), p, "the object went back to its cache");
	kmem_cache_free(c, p);
	cr_assert_eq(kmem_error_count(), 0);
	kmem_cache_destroy(c);
}

/* ------------------------------------------------------------ bulk */

Test(slab, bulk_alloc_and_free)
{
	struct kmem_cache *c = kmem_cache_create("bulk-test", 96, 0, 0, NULL);
	void *p[500];

	cr_assert_eq(kmem_cache_alloc_bulk(c, GFP_KERNEL, 500, p), 500);
	for (int i = 0; i < 500; i++) {
		cr_assert_not_null(p[i]);
		expect(virt_to_cache(p[i]) == c, "object %d is not from the cache", i);
		memset(p[i], i & 0xff, 96);
	}
	for (int i = 0; i < 500; i++)
		expect(all_bytes(p[i], i & 0xff, 96), "object %d overlaps another", i);
	kmem_cache_free_bulk(c, 500, p);
	cr_assert_eq(kmem_cache_alloc_bulk(c, GFP_KERNEL, 0, p), 0);
	cr_assert_eq(kmem_cache_shrink(c), 0);
	cr_assert_eq(node_counts(c, 0).total_slabs, 0);
	kmem_cache_destroy(c);
}

/* Objects of 4 MiB, one order-10 slab each: the arena runs out after ~30. */
Test(slab, bulk_alloc_is_all_or_nothing)
{
	struct kmem_cache *c = kmem_cache_create("bulk-huge", 4U << 20, 0, 0, NULL);
	void *p[64];

	cr_assert_not_null(c);
	cr_assert_eq(c->gfporder, MAX_PAGE_ORDER);
	cr_assert_eq(c->num, 1);
	/* Off-slab: the descriptors come from kmalloc-64, which is shrunk alongside. */
	cr_assert(c->flags & CFLGS_OFF_SLAB);
	kmem_cache_shrink(kmalloc_slab(64, 0));
	unsigned long before = all_free_pages();

	memset(p, 0, sizeof(p));
	cr_assert_eq(kmem_cache_alloc_bulk(c, GFP_KERNEL | __GFP_NOWARN, 64, p), 0);
	cr_assert_eq(kmem_cache_shrink(c), 0, "a failed bulk allocation left objects live");
	cr_assert_eq(node_counts(c, 0).total_slabs, 0);
	kmem_cache_shrink(kmalloc_slab(64, 0));
	cr_assert_eq(all_free_pages(), before);

	/* A bulk request that fits still succeeds afterwards. */
	cr_assert_eq(kmem_cache_alloc_bulk(c, GFP_KERNEL, 4, p), 4);
	kmem_cache_free_bulk(c, 4, p);
	cr_assert_eq(kmem_cache_shrink(c), 0);
	kmem_cache_destroy(c);
}

/* ------------------------------------------------------------ bad arguments */

Test(slab, create_rejects_bad_arguments)
{
	static const struct {
		const char *name;
		unsigned int size, align;
		slab_flags_t flags;
		const char *message;
	} bad[] = {
		{ NULL, 64, 0, 0, "the name (null) is not valid" },
		{ "", 64, 0, 0, "the name '' is not valid" },
		{ "two words", 64, 0, 0, "the name 'two words' is not valid" },
		{ "tab\tname", 64, 0, 0, "is not valid" },
		{ "zero-size", 0, 0, 0, "object size 0 is not in 1..4194304" },
		{ "huge-size", 5U << 20, 0, 0, "object size 5242880 is not in 1..4194304" },
		{ "align-3", 64, 3, 0, "align 3 is not a power of two" },
		{ "align-8k", 64, 8192, 0, "align 8192 is not a power of two up to 4096" },
		{ "bad-flag", 64, 0, 1U << 30, "unknown flags 0x40000000" },
		{ "internal-flag", 64, 0, CFLGS_OFF_SLAB, "unknown flags 0x80000000" },
	};
	struct slabinfo_line s;

	printk_capture();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		printk_clear();
		cr_assert_null(kmem_cache_create(bad[i].name, bad[i].size, bad[i].align,
						 bad[i].flags, NULL),
			       "case %zu (%s) was accepted", i, bad[i].name);
		cr_assert(printk_logged(bad[i].message), "case %zu: expected '%s', got '%s'", i,
			  bad[i].message, printk_log);
		if (bad[i].name && *bad[i].name)
			cr_assert_not(slabinfo_find(NULL, bad[i].name, &s));
	}
	/* The largest object size, 4 MiB, is fine; so is align 4096. */
	struct kmem_cache *c = kmem_cache_create("max-size", 4U << 20, 0, 0, NULL);

	cr_assert_not_null(c);
	kmem_cache_destroy(c);
	c = kmem_cache_create("align-4k", 100, 4096, 0, NULL);
	cr_assert_not_null(c);
	cr_assert_eq(c->size, 4096);
	void *p = kmem_cache_alloc(c, GFP_KERNEL);

	cr_assert_eq((uintptr_t)p % 4096, 0);
	kmem_cache_free(c, p);
	kmem_cache_destroy(c);
}

Test(slab, slab_panic_aborts_on_a_bad_argument, .signal = SIGABRT)
{
	printk_capture();
	kmem_cache_create("panic-test", 0, 0, SLAB_PANIC, NULL);
	cr_assert_fail("kmem_cache_create returned despite SLAB_PANIC");
}

Test(slab, slab_panic_with_good_arguments_is_a_cache)
{
	struct kmem_cache *c = kmem_cache_create("panic-ok", 64, 0, SLAB_PANIC, NULL);

	cr_assert_not_null(c);
	cr_assert(c->flags & SLAB_PANIC);
	kmem_cache_destroy(c);
}

/* The panic message names the cache, as the kernel's does; seen from a child that aborts. */
static int panic_pipe = -1;

static void write_to_pipe(int level, const char *msg)
{
	(void)level;
	if (write(panic_pipe, msg, strlen(msg)) < 0)
		_exit(99);
}

Test(slab, slab_panic_message_names_the_cache)
{
	int fds[2];
	char buf[4096];
	size_t len = 0;
	ssize_t n;
	int status;

	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();

	if (pid == 0) {
		close(fds[0]);
		panic_pipe = fds[1];
		kmem_set_printk(write_to_pipe);
		kmem_cache_create("panic-named", 64, 3, SLAB_PANIC, NULL);
		_exit(0); /* not reached: SLAB_PANIC aborts */
	}
	cr_assert_neq(pid, -1);
	close(fds[1]);
	while (len < sizeof(buf) - 1 && (n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
		  "the child was not aborted (status %#x)", status);
	cr_assert(strstr(buf, "align 3 is not a power of two"), "messages: %s", buf);
	cr_assert(strstr(buf, "Kernel panic - not syncing: kmem_cache_create(): failed to create "
			      "slab `panic-named'"),
		  "messages: %s", buf);
}

Test(slab, bootstrap_caches_cannot_be_destroyed)
{
	unsigned long errors = kmem_error_count();
	struct slabinfo_line s;

	printk_capture();
	kmem_cache_destroy(kmem_cache);
	cr_assert_eq(kmem_error_count(), errors + 1);
	cr_assert(printk_logged("kmem_cache is a bootstrap cache"), "log: %s", printk_log);
	cr_assert(slabinfo_find(NULL, "kmem_cache", &s));
	cr_assert(slabinfo_find(NULL, "kmem_cache_node", &s));
	/* Still works. */
	struct kmem_cache *c = kmem_cache_create("after-bootstrap", 64, 0, 0, NULL);

	cr_assert_not_null(c);
	kmem_cache_destroy(c);
}

/* ------------------------------------------------------------ KMEM_CACHE */

struct foo {
	char c;
	double d;
	int x;
};

struct bar {
	int a;
	alignas(32) char b[40];
};

Test(slab, kmem_cache_macro)
{
	struct kmem_cache *foo = KMEM_CACHE(foo, 0);
	struct kmem_cache *bar = KMEM_CACHE(bar, SLAB_HWCACHE_ALIGN);

	cr_assert_not_null(foo);
	cr_assert_str_eq(kmem_cache_name(foo), "foo");
	cr_assert_eq(kmem_cache_size(foo), sizeof(struct foo));
	cr_assert_eq(foo->align, alignof(struct foo));
	cr_assert_eq(foo->size, 24);
	cr_assert_not_null(bar);
	cr_assert_str_eq(kmem_cache_name(bar), "bar");
	cr_assert_eq(kmem_cache_size(bar), sizeof(struct bar));
	cr_assert_eq(sizeof(struct bar), 96);
	cr_assert_eq(bar->align, 64, "HWCACHE_ALIGN over alignof 32: a cache line");
	cr_assert(bar->flags & SLAB_HWCACHE_ALIGN);
	struct foo *f[100];
	struct bar *b[100];

	for (int i = 0; i < 100; i++) {
		f[i] = kmem_cache_alloc(foo, GFP_KERNEL);
		b[i] = kmem_cache_alloc(bar, GFP_KERNEL);
		expect((uintptr_t)f[i] % alignof(struct foo) == 0, "foo %p misaligned",
		       (void *)f[i]);
		expect((uintptr_t)b[i] % 64 == 0, "bar %p misaligned", (void *)b[i]);
	}
	cr_assert(slabinfo_find(NULL, "foo", &(struct slabinfo_line){ 0 }));
	cr_assert(slabinfo_find(NULL, "bar", &(struct slabinfo_line){ 0 }));
	for (int i = 0; i < 100; i++) {
		kmem_cache_free(foo, f[i]);
		kmem_cache_free(bar, b[i]);
	}
	kmem_cache_destroy(foo);
	kmem_cache_destroy(bar);
}

/* ------------------------------------------------------------ zones */

Test(slab, dma_cache_slabs_lie_in_zone_dma)
{
	struct kmem_cache *c = kmem_cache_create("dma-test", 300, 0, SLAB_CACHE_DMA, NULL);
	void *objs[200];

	cr_assert_not_null(c);
	cr_assert(kmem_memory.dma_pages > 0);
	cr_assert_eq(c->allocflags & GFP_DMA, GFP_DMA);
	for (int i = 0; i < 200; i++) {
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
		unsigned long pfn = page_to_pfn(virt_to_page(objs[i]));

		expect(pfn < kmem_memory.dma_pages, "object %d at pfn %lu, above ZONE_DMA (%lu)", i,
		       pfn, kmem_memory.dma_pages);
		expect(page_zone(virt_to_page(objs[i]))->idx == ZONE_DMA, "object %d not in DMA",
		       i);
	}
	for (int i = 0; i < 200; i++)
		kmem_cache_free(c, objs[i]);
	cr_assert_eq(kmem_cache_shrink(c), 0);
	kmem_cache_destroy(c);
}

Test(slab, reclaimable_cache_slabs_are_reclaimable_pageblocks)
{
	struct kmem_cache *c = kmem_cache_create("rcl-test", 300, 0, SLAB_RECLAIM_ACCOUNT, NULL);
	void *objs[100];

	for (int i = 0; i < 100; i++) {
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
		unsigned long pfn = page_to_pfn(virt_to_page(objs[i]));

		expect(get_pfnblock_migratetype(pfn) == MIGRATE_RECLAIMABLE,
		       "object %d lies in a %s pageblock", i,
		       migratetype_names[get_pfnblock_migratetype(pfn)]);
	}
	for (int i = 0; i < 100; i++)
		kmem_cache_free(c, objs[i]);
	kmem_cache_destroy(c);
}

/* ------------------------------------------------------------ the reaper */

/*
 * cache_reap leaves an array alone on the pass after it was used (clearing
 * 'touched'), and on the next one takes (limit + 4) / 5 objects from it, or
 * half of what it holds (rounded up) if it holds fewer.
 */
Test(slab, reap_array_touched_logic)
{
	struct kmem_cache *c = create_tuned("reap-array", 256, "120 60 0");
	void *objs[10];

	for (int i = 0; i < 10; i++)
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
	for (int i = 0; i < 10; i++)
		kmem_cache_free(c, objs[i]);
	struct array_cache *ac = my_array(c);

	/* The first refill of an idle array is BATCHREFILL_LIMIT (16): one whole slab (15). */
	cr_assert_eq(ac->avail, 15);
	cr_assert_eq(ac->touched, 1);
	cr_assert_eq(node_counts(c, 0).free_objects, 0);

	kmem_cache_reap();
	cr_assert_eq(ac->avail, 15, "used since the last pass: left alone");
	cr_assert_eq(ac->touched, 0);
	kmem_cache_reap();
	cr_assert_eq(ac->avail, 7, "24 > 15: half, rounded up (8), goes back");
	cr_assert_eq(node_counts(c, 0).free_objects, 8);
	kmem_cache_reap();
	cr_assert_eq(ac->avail, 3);
	cr_assert_eq(node_counts(c, 0).free_objects, 12);
	slab_check(c);

	void *p = kmem_cache_alloc(c, GFP_KERNEL);

	cr_assert_eq(ac->avail, 2);
	kmem_cache_reap();
	cr_assert_eq(ac->avail, 2, "touched by the allocation: left alone once more");
	kmem_cache_reap();
	cr_assert_eq(ac->avail, 1);
	cr_assert_eq(node_counts(c, 0).free_objects, 13);
	kmem_cache_free(c, p);
	cr_assert_eq(kmem_cache_shrink(c), 0);
	kmem_cache_destroy(c);
}

/*
 * The shared array is reaped the same way: a fifth of its limit a pass,
 * except on the pass after a refill took objects from it.
 */
Test(slab, reap_shared_array_touched_logic)
{
	struct kmem_cache *c = create_tuned("reap-shared", 256, "8 4 4");
	struct array_cache *shared = c->node[0]->shared;
	void *objs[40];

	cr_assert_not_null(shared);
	cr_assert_eq(shared->limit, 16);
	for (int i = 0; i < 40; i++)
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
	for (int i = 0; i < 40; i++)
		kmem_cache_free(c, objs[i]);
	cr_assert_eq(shared->avail, 16, "flushes of 4 filled the shared array");
	cr_assert_eq(shared->touched, 0, "no refill came from it yet");
	struct array_cache *ac = my_array(c);
	unsigned int mine = ac->avail;

	kmem_cache_reap();
	cr_assert_eq(shared->avail, 12, "(16 + 4) / 5 = 4 objects back to the slabs");
	cr_assert_eq(ac->avail, mine, "this thread's array was used: left alone");

	/* Empty this thread's array, then one more: a refill of 4 from the shared array. */
	for (unsigned int i = 0; i <= mine; i++)
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
	cr_assert_eq(shared->avail, 8);
	cr_assert_eq(shared->touched, 1);
	cr_assert_eq(ac->avail, 3);
	kmem_cache_reap();
	cr_assert_eq(shared->avail, 8, "refilled from since the last pass: left alone");
	kmem_cache_reap();
	cr_assert_eq(shared->avail, 4);
	kmem_cache_reap();
	cr_assert_eq(shared->avail, 0, "4 left: (16 + 4) / 5 = 4 of them go");
	slab_check(c);
	for (unsigned int i = 0; i <= mine; i++)
		kmem_cache_free(c, objs[i]);
	cr_assert_eq(kmem_cache_shrink(c), 0);
	kmem_cache_destroy(c);
}

/*
 * Free slabs: a node whose free list was used since the last pass
 * (free_touched) keeps them; afterwards every pass destroys
 * (free_limit + 5 * num - 1) / (5 * num) of them.
 */
Test(slab, reap_free_slabs_touched_logic)
{
	struct kmem_cache *c = create_tuned("reap-slabs", 256, "64 32 0");
	struct kmem_cache_node *n = c->node[0];
	void *objs[60];

	for (int i = 0; i < 60; i++)
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
	for (int i = 0; i < 60; i++)
		kmem_cache_free(c, objs[i]);
	/* Retuning drains the arrays into the slabs without destroying what free_limit allows. */
	cr_assert_eq(kmem_proc_write("slabinfo", "reap-slabs 64 32 0"), 0);
	struct node_counts nc = node_counts(c, 0);
	unsigned long slabs = nc.total_slabs;

	cr_assert_geq(slabs, 4);
	cr_assert_eq(nc.free_slabs, slabs, "every slab is free");
	cr_assert_eq(n->free_touched, 1, "allocation used the free list");

	unsigned long per_pass = (n->free_limit + 5 * 15 - 1) / (5 * 15);

	kmem_cache_reap();
	cr_assert_eq(node_counts(c, 0).total_slabs, slabs, "touched: no slab destroyed");
	cr_assert_eq(n->free_touched, 0);
	while (slabs) {
		unsigned long want = slabs > per_pass ? slabs - per_pass : 0;

		kmem_cache_reap();
		cr_assert_eq(node_counts(c, 0).total_slabs, want, "%lu slabs left, expected %lu",
			     node_counts(c, 0).total_slabs, want);
		slab_check(c);
		slabs = want;
	}
	kmem_cache_destroy(c);
}

/* ------------------------------------------------------------ NUMA */

static void setup_nodes(void)
{
	cr_assert_eq(kmem_init(&(struct kmem_config){
			     .mem_size = ARENA_SIZE, .nr_nodes = 2, .no_reporting = 1 }),
		     0);
	kswapd_stop();
}

TestSuite(slab_nodes, .init = setup_nodes, .fini = teardown);

struct node_thread {
	struct kmem_cache *c;
	int node;
	void *objs[30];
};

static void *alloc_on_own_node(void *arg)
{
	struct node_thread *t = arg;

	for (int i = 0; i < 30; i++)
		t->objs[i] = kmem_cache_alloc(t->c, GFP_KERNEL);
	t->node = numa_node_id(); /* known once the thread has a unit */
	return NULL;
}

Test(slab_nodes, alloc_node_and_alien_frees)
{
	struct kmem_cache *c = kmem_cache_create("node-test", 256, 0, 0, NULL);
	void *local = kmem_cache_alloc(c, GFP_KERNEL); /* gives this thread its unit */
	int me = numa_node_id(), other = 1 - me;
	void *objs[40];

	cr_assert_eq(kmem_memory.nr_nodes, 2);
	cr_assert_eq(page_to_nid(virt_to_page(local)), me);
	cr_assert_not_null(c->node[0]->alien);
	cr_assert_not_null(c->node[1]->alien);

	for (int i = 0; i < 40; i++) {
		objs[i] = kmem_cache_alloc_node(c, GFP_KERNEL, other);
		cr_assert_not_null(objs[i]);
		expect(page_to_nid(virt_to_page(objs[i])) == other, "object %d on node %d", i,
		       page_to_nid(virt_to_page(objs[i])));
		expect(virt_to_page(objs[i])->slab->nodeid == other, "slab of object %d", i);
	}
	void *mine = kmem_cache_alloc_node(c, GFP_KERNEL, me);

	cr_assert_eq(page_to_nid(virt_to_page(mine)), me);
	kmem_cache_free(c, mine);

	/* 40 objects straight from node `other`'s slabs: 3 slabs, 5 objects free there. */
	struct node_counts home = node_counts(c, other);

	cr_assert_eq(home.total_slabs, 3);
	cr_assert_eq(home.free_objects, 5);

	/* Freed here, they wait in this node's alien array for `other` (12 entries). */
	struct array_cache *alien = c->node[me]->alien[other];

	cr_assert_not_null(alien);
	cr_assert_eq(alien->limit, 12);
	for (int i = 0; i < 12; i++)
		kmem_cache_free(c, objs[i]);
	cr_assert_eq(alien->avail, 12);
	cr_assert_eq(node_counts(c, other).free_objects, 5, "alien frees reached home early");
	/* The 13th finds the alien array full: the 12 go home first. */
	kmem_cache_free(c, objs[12]);
	cr_assert_eq(alien->avail, 1);
	cr_assert_eq(node_counts(c, other).free_objects + node_counts(c, other).shared_avail, 17);
	for (int i = 13; i < 40; i++)
		kmem_cache_free(c, objs[i]);
	slab_check(c);

	/* A thread of the other node allocates there without asking for a node. */
	struct node_thread t = { .c = c };
	pthread_t tid;

	for (int tries = 0; tries < 8; tries++) {
		cr_assert_eq(pthread_create(&tid, NULL, alloc_on_own_node, &t), 0);
		pthread_join(tid, NULL);
		for (int i = 0; i < 30; i++)
			expect(page_to_nid(virt_to_page(t.objs[i])) == t.node,
			       "thread of node %d got object %d from node %d", t.node, i,
			       page_to_nid(virt_to_page(t.objs[i])));
		for (int i = 0; i < 30; i++)
			kmem_cache_free(c, t.objs[i]);
		if (t.node == other)
			break;
	}
	cr_assert_eq(t.node, other, "no thread landed on node %d", other);

	kmem_cache_free(c, local);
	cr_assert_eq(kmem_cache_shrink(c), 0);
	cr_assert_eq(node_counts(c, 0).total_slabs, 0);
	cr_assert_eq(node_counts(c, 1).total_slabs, 0);
	cr_assert_eq(alien->avail, 0);
	slab_check(c);
	kmem_cache_destroy(c);
}

struct alien_freer {
	struct kmem_cache *c;
	void **objs;
	int nr;
	int node;
};

/* On a thread of the wanted node (else nothing): free the other node's objects. */
static void *free_as_alien(void *arg)
{
	struct alien_freer *f = arg;

	kmem_cache_free(f->c, kmem_cache_alloc(f->c, GFP_KERNEL)); /* get a unit */
	f->node = numa_node_id();
	if (f->node != 1)
		return NULL;
	for (int i = 0; i < f->nr; i++)
		kmem_cache_free(f->c, f->objs[i]);
	return NULL;
}

/*
 * Node 1's alien array holds node 0's objects; node 0 has a shared array.
 * kmem_cache_shrink drains every alien array before the shared arrays, or
 * the objects it moves into node 0's shared array stay there.
 */
Test(slab_nodes, shrink_drains_alien_arrays_before_shared_arrays)
{
	struct kmem_cache *c = create_tuned("alien-order", 256, "120 60 8");
	void *objs[5];
	struct alien_freer f = { .c = c, .objs = objs, .nr = 5, .node = -1 };

	for (int i = 0; i < 5; i++)
		objs[i] = kmem_cache_alloc_node(c, GFP_KERNEL, 0);
	cr_assert_not_null(c->node[0]->shared);
	for (int tries = 0; tries < 8 && f.node != 1; tries++) {
		pthread_t t;

		cr_assert_eq(pthread_create(&t, NULL, free_as_alien, &f), 0);
		cr_assert_eq(pthread_join(t, NULL), 0);
	}
	cr_assert_eq(f.node, 1, "no thread landed on node 1");
	cr_assert_eq(c->node[1]->alien[0]->avail, 5,
		     "node 0's objects wait in node 1's alien array");
	cr_assert_eq(kmem_cache_shrink(c), 0, "objects left behind in a shared array");
	cr_assert_eq(node_counts(c, 0).total_slabs, 0);
	cr_assert_eq(node_counts(c, 0).shared_avail, 0);
	cr_assert_eq(node_counts(c, 1).total_slabs, 0);
	kmem_cache_destroy(c);
	cr_assert_eq(kmem_error_count(), 0);
}

Test(slab_nodes, kmalloc_node)
{
	for (int nid = 0; nid < 2; nid++) {
		void *p = kmalloc_node(100, GFP_KERNEL, nid);
		void *big = kmalloc_node(100000, GFP_KERNEL, nid);

		cr_assert_eq(page_to_nid(virt_to_page(p)), nid);
		cr_assert_eq(page_to_nid(virt_to_page(big)), nid);
		kfree(p);
		kfree(big);
	}
	printk_capture();
	cr_assert_null(kmem_cache_alloc_node(kmalloc_slab(64, 0), GFP_KERNEL, 2));
	cr_assert(printk_logged("node 2 does not exist"), "log: %s", printk_log);
}
