// SPDX-License-Identifier: MIT
/*
 * SLAB cache geometry (seed 004's kmem_cache_create, calculate_slab_order and
 * cache_estimate) against numbers worked out by hand, and slab colouring
 * (cache_grow's colour_next) on real slabs.
 *
 * The rules, from seed 004 and src/mm/slab.c, with PAGE_SIZE 4096, a 64-byte
 * cache line, sizeof(struct slab) == 40 and a 2-byte bufctl per object:
 *
 *  1. size is rounded up to a word (8 bytes).
 *  2. alignment: SLAB_HWCACHE_ALIGN starts at 64 and halves while
 *     size <= ralign / 2; otherwise 8. At least 8; at least the caller's align.
 *     size is then rounded up to the alignment.
 *  3. size >= PAGE_SIZE / 8 (512) puts the descriptor off-slab (user caches
 *     are made after the boot caches, so slab_early_init is over).
 *  4. cache_estimate(order): slab bytes S = 4096 << order.
 *     off-slab: num = S / size, left = S - num * size.
 *     on-slab:  num = (S - 40) / (size + 2), one less if
 *               ALIGN(40 + 2 * num, align) + num * size > S;
 *               left = S - num * size - ALIGN(40 + 2 * num, align).
 *  5. calculate_slab_order: the first order with num > 0 is taken, and the
 *     search stops there if SLAB_RECLAIM_ACCOUNT, or at order >= 3
 *     (SLAB_MAX_ORDER: kmem's documented choice; the kernel's slab_max_order
 *     default is 1 on small machines), or when left * 8 <= S.
 *  6. an off-slab cache goes back on-slab when left >= ALIGN(40 + 2 * num,
 *     align), and left shrinks by that much. Off-slab the descriptor is
 *     40 + 2 * num bytes, from a kmalloc cache.
 *  7. colour_off = max(64, align); colour = left / colour_off.
 */
#include "slab_test.h"

#define ARENA_SIZE (128UL << 20)

static void setup(void)
{
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = ARENA_SIZE, .no_reporting = 1 }),
		     0);
}

static void teardown(void)
{
	kmem_exit();
}

TestSuite(slab_geometry, .init = setup, .fini = teardown);

struct geometry {
	const char *name;
	unsigned int size, align;
	slab_flags_t flags;
	/* expected */
	unsigned int buffer_size, ralign, num, order;
	bool off_slab;
	unsigned int colour, colour_off;
	unsigned int freelist_size; /* on-slab: ALIGN(40 + 2 * num, align); off: 40 + 2 * num */
};

#define HW SLAB_HWCACHE_ALIGN
#define RCL SLAB_RECLAIM_ACCOUNT

/* clang-format off */
static const struct geometry table[] = {
	/* 8: align 8. num = 4056/10 = 405; ALIGN(40+810,8) = 856, 856+405*8 = 4096 fits;
	 * left 4096-3240-856 = 0. order 0, colour 0. */
	{ "geo-8", 8, 0, 0,              8, 8, 405, 0, false, 0, 64, 856 },
	/* 24: num = 4056/26 = 156; ALIGN(352,8) = 352, 352+3744 = 4096; left 0. */
	{ "geo-24", 24, 0, 0,            24, 8, 156, 0, false, 0, 64, 352 },
	/* 24 HW: ralign 64 -> 32 (24 <= 32) and stops (24 > 16): size 32, align 32.
	 * num = 4056/34 = 119; ALIGN(278,32) = 288, 288+3808 = 4096; left 0. */
	{ "geo-24hw", 24, 0, HW,         32, 32, 119, 0, false, 0, 64, 288 },
	/* 32 HW: 32 <= 32 halves to 32, 32 > 16 stops: align 32; as above. */
	{ "geo-32hw", 32, 0, HW,         32, 32, 119, 0, false, 0, 64, 288 },
	/* 64: num = 4056/66 = 61; ALIGN(162,8) = 168, 168+3904 = 4072; left 24;
	 * 24*8 <= 4096: order 0; colour 24/64 = 0. */
	{ "geo-64", 64, 0, 0,            64, 8, 61, 0, false, 0, 64, 168 },
	/* 96: num = 4056/98 = 41; ALIGN(122,8) = 128, 128+3936 = 4064; left 32. */
	{ "geo-96", 96, 0, 0,            96, 8, 41, 0, false, 0, 64, 128 },
	/* 100 -> 104 (word). num = 4056/106 = 38; ALIGN(116,8) = 120, 120+3952 = 4072;
	 * left 24. */
	{ "geo-100", 100, 0, 0,          104, 8, 38, 0, false, 0, 64, 120 },
	/* 100 HW: 104 > 32: align 64, size 128. num = 4056/130 = 31; ALIGN(102,64) = 128,
	 * 128+3968 = 4096; left 0. */
	{ "geo-100hw", 100, 0, HW,       128, 64, 31, 0, false, 0, 64, 128 },
	/* 128 HW: align 64, as above. */
	{ "geo-128hw", 128, 0, HW,       128, 64, 31, 0, false, 0, 64, 128 },
	/* 192: num = 4056/194 = 20; ALIGN(80,8) = 80, 80+3840 = 3920; left 176;
	 * colour 176/64 = 2. */
	{ "geo-192", 192, 0, 0,          192, 8, 20, 0, false, 2, 64, 80 },
	/* 200: num = 4056/202 = 20; 80+4000 = 4080; left 16; colour 0. */
	{ "geo-200", 200, 0, 0,          200, 8, 20, 0, false, 0, 64, 80 },
	/* 256: num = 4056/258 = 15; ALIGN(70,8) = 72, 72+3840 = 3912; left 184;
	 * 184*8 <= 4096; colour 184/64 = 2. */
	{ "geo-256", 256, 0, 0,          256, 8, 15, 0, false, 2, 64, 72 },
	/* 256 HW: align 64. num 15; ALIGN(70,64) = 128, 128+3840 = 3968; left 128;
	 * colour 2. */
	{ "geo-256hw", 256, 0, HW,       256, 64, 15, 0, false, 2, 64, 128 },
	/* 500 -> 504 < 512: on-slab. num = 4056/506 = 8; ALIGN(56,8) = 56, 56+4032 = 4088;
	 * left 8. */
	{ "geo-500", 500, 0, 0,          504, 8, 8, 0, false, 0, 64, 56 },
	/* 512: off-slab. order 0: num 8, left 0 <= 512: order 0. 0 < ALIGN(56,8):
	 * stays off-slab, descriptor 40+16 = 56. */
	{ "geo-512", 512, 0, 0,          512, 8, 8, 0, true, 0, 64, 56 },
	/* 600: off-slab candidate. order 0: num 6, left 496, 496*8 = 3968 <= 4096.
	 * 496 >= ALIGN(52,8) = 56: back on-slab, left 440; colour 440/64 = 6. */
	{ "geo-600", 600, 0, 0,          600, 8, 6, 0, false, 6, 64, 56 },
	/* 1000: order 0: num 4, left 96 (768 <= 4096). 96 >= ALIGN(48,8) = 48: on-slab,
	 * left 48; colour 0. */
	{ "geo-1000", 1000, 0, 0,        1000, 8, 4, 0, false, 0, 64, 48 },
	/* 1024: num 4, left 0: off-slab, descriptor 48. */
	{ "geo-1024", 1024, 0, 0,        1024, 8, 4, 0, true, 0, 64, 48 },
	/* 2000: num 2, left 96; 96 >= ALIGN(44,8) = 48: on-slab, left 48. */
	{ "geo-2000", 2000, 0, 0,        2000, 8, 2, 0, false, 0, 64, 48 },
	/* 2048: num 2, left 0: off-slab, descriptor 44. */
	{ "geo-2048", 2048, 0, 0,        2048, 8, 2, 0, true, 0, 64, 44 },
	/* 3000: order 0: num 1, left 1096, 8768 > 4096. order 1: num 2, left 2192,
	 * 17536 > 8192. order 2: num 5, left 1384, 11072 <= 16384: order 2.
	 * 1384 >= ALIGN(50,8) = 56: on-slab, left 1328; colour 1328/64 = 20. */
	{ "geo-3000", 3000, 0, 0,        3000, 8, 5, 2, false, 20, 64, 56 },
	/* 3000 reclaimable: the first order that fits, order 0: num 1, left 1096.
	 * 1096 >= 48: on-slab, left 1048; colour 1048/64 = 16. */
	{ "geo-3000rcl", 3000, 0, RCL,   3000, 8, 1, 0, false, 16, 64, 48 },
	/* 4096: num 1, left 0: off-slab, descriptor 42. */
	{ "geo-4096", 4096, 0, 0,        4096, 8, 1, 0, true, 0, 64, 42 },
	/* 5000: order 0: none fits. order 1: num 1, left 3192, 25536 > 8192.
	 * order 2: num 3, left 1384, 11072 <= 16384: order 2. 1384 >= ALIGN(46,8) = 48:
	 * on-slab, left 1336; colour 20. */
	{ "geo-5000", 5000, 0, 0,        5000, 8, 3, 2, false, 20, 64, 48 },
	/* 5000 reclaimable: order 1 (the first with an object): num 1, left 3192;
	 * on-slab, left 3144; colour 3144/64 = 49. */
	{ "geo-5000rcl", 5000, 0, RCL,   5000, 8, 1, 1, false, 49, 64, 48 },
	/* 8192: order 1: num 1, left 0: off-slab, descriptor 42. */
	{ "geo-8192", 8192, 0, 0,        8192, 8, 1, 1, true, 0, 64, 42 },
	/* 12000: orders 0, 1: none; order 2: num 1, left 4384 (35072 > 16384);
	 * order 3: num 2, left 8768, 70144 > 32768 but order 3 is SLAB_MAX_ORDER: stop.
	 * On-slab, left 8720; colour 8720/64 = 136. */
	{ "geo-12000", 12000, 0, 0,      12000, 8, 2, 3, false, 136, 64, 48 },
	/* 40000: no object fits up to order 3; order 4: num 1, left 25536, and order 4
	 * is past SLAB_MAX_ORDER: stop. On-slab, left 25488; colour 398. */
	{ "geo-40000", 40000, 0, 0,      40000, 8, 1, 4, false, 398, 64, 48 },
	/* 3, align 64: word 8, align 64, size 64. num = 4056/66 = 61;
	 * ALIGN(162,64) = 192, 192+3904 = 4096; left 0. */
	{ "geo-3a64", 3, 64, 0,          64, 64, 61, 0, false, 0, 64, 192 },
	/* 100, align 128: 104 -> 128. num = 4056/130 = 31; ALIGN(102,128) = 128,
	 * 128+3968 = 4096; left 0. colour_off = align = 128. */
	{ "geo-100a128", 100, 128, 0,    128, 128, 31, 0, false, 0, 128, 128 },
	/* 200, align 64, HW (both): align 64, size 256; num 15; ALIGN(70,64) = 128,
	 * 128+3840 = 3968; left 128; colour 2. */
	{ "geo-200a64hw", 200, 64, HW,   256, 64, 15, 0, false, 2, 64, 128 },
	/* 700, align 256: 704 -> 768; off-slab candidate. order 0: num 5, left 256
	 * (2048 <= 4096). 256 >= ALIGN(50,256) = 256: on-slab, left 0. colour_off 256. */
	{ "geo-700a256", 700, 256, 0,    768, 256, 5, 0, false, 0, 256, 256 },
};
/* clang-format on */

static void check_geometry(const struct geometry *g)
{
	struct kmem_cache *c = kmem_cache_create(g->name, g->size, g->align, g->flags, NULL);

	cr_assert_not_null(c, "%s: kmem_cache_create failed", g->name);
	cr_expect_eq(c->size, g->buffer_size, "%s: size %u, expected %u", g->name, c->size,
		     g->buffer_size);
	cr_expect_eq(c->align, g->ralign, "%s: align %u, expected %u", g->name, c->align,
		     g->ralign);
	cr_expect_eq(c->num, g->num, "%s: num %u, expected %u", g->name, c->num, g->num);
	cr_expect_eq(c->gfporder, g->order, "%s: gfporder %u, expected %u", g->name, c->gfporder,
		     g->order);
	cr_expect_eq(!!(c->flags & CFLGS_OFF_SLAB), g->off_slab, "%s: %s-slab, expected %s-slab",
		     g->name, (c->flags & CFLGS_OFF_SLAB) ? "off" : "on",
		     g->off_slab ? "off" : "on");
	cr_expect_eq(c->colour, (size_t)g->colour, "%s: colour %zu, expected %u", g->name,
		     c->colour, g->colour);
	cr_expect_eq(c->colour_off, g->colour_off, "%s: colour_off %u, expected %u", g->name,
		     c->colour_off, g->colour_off);
	cr_expect_eq(c->freelist_size, g->freelist_size, "%s: freelist_size %u, expected %u",
		     g->name, c->freelist_size, g->freelist_size);
	cr_expect_eq(c->object_size, g->size, "%s: object_size %u", g->name, c->object_size);
	cr_expect_eq(kmem_cache_size(c), g->size);
	cr_expect_eq(c->flags & ~CFLGS_OFF_SLAB, g->flags, "%s: flags %#x, expected %#x", g->name,
		     c->flags & ~CFLGS_OFF_SLAB, g->flags);
	/* Every descriptor here is at most 64 bytes: kmalloc-64 holds the off-slab ones. */
	if (g->off_slab) {
		cr_assert_not_null(c->freelist_cache, "%s: off-slab without a descriptor cache",
				   g->name);
		cr_expect_str_eq(c->freelist_cache->name, "kmalloc-64", "%s: descriptors in %s",
				 g->name, c->freelist_cache->name);
	}
	kmem_cache_destroy(c);
}

Test(slab_geometry, table)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		check_geometry(&table[i]);
}

/* The slab really is laid out as computed: objects after the descriptor, all inside. */
Test(slab_geometry, layout_of_a_slab)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct geometry *g = &table[i];
		struct kmem_cache *c =
			kmem_cache_create(g->name, g->size, g->align, g->flags, NULL);
		size_t slab_bytes = PAGE_SIZE << g->order;

		cr_assert_not_null(c);
		char *obj = kmem_cache_alloc(c, GFP_KERNEL);

		cr_assert_not_null(obj, "%s: no object", g->name);
		struct page *page = virt_to_page(obj);
		struct slab *slab = page->slab;
		char *base = (char *)ALIGN_DOWN((uintptr_t)obj, (uintptr_t)slab_bytes);

		cr_assert_eq(page->slab_cache, c, "%s: the page does not name its cache", g->name);
		cr_assert_eq(base, (char *)slab->s_mem - slab->colouroff,
			     "%s: s_mem - colouroff is not the slab's naturally aligned start",
			     g->name);
		if (g->off_slab) {
			cr_assert(slab_bytes <= (uintptr_t)((char *)slab - base),
				  "%s: off-slab descriptor %p lies inside the slab at %p", g->name,
				  (void *)slab, (void *)base);
			cr_assert_eq(slab->colouroff, 0, "%s: first slab has colour offset %lu",
				     g->name, slab->colouroff);
		} else {
			/* The first slab of a cache has colour 0: the descriptor at its start. */
			cr_assert_eq((char *)slab, base, "%s: on-slab descriptor at +%td", g->name,
				     (char *)slab - base);
			cr_assert_eq(slab->colouroff, g->freelist_size,
				     "%s: objects start at +%lu, expected +%u", g->name,
				     slab->colouroff, g->freelist_size);
		}
		/* The last object ends inside the slab, with the left-over space after it. */
		size_t end = slab->colouroff + (size_t)c->num * c->size;

		cr_assert_leq(end + (size_t)c->colour * c->colour_off, slab_bytes,
			      "%s: objects and colour run to %zu of %zu bytes", g->name,
			      end + c->colour * c->colour_off, slab_bytes);
		cr_assert_eq((uintptr_t)obj % g->ralign, 0, "%s: object %p not aligned to %u",
			     g->name, (void *)obj, g->ralign);
		kmem_cache_free(c, obj);
		kmem_cache_destroy(c);
	}
}

/*
 * cache_grow's colouring: slab k of a node starts its objects at
 * (k % colour) * colour_off past the slab's start (plus the descriptor when
 * on-slab). With limit 1 and batchcount 1 every allocation takes one object
 * straight from the slabs, so a new slab shows up exactly when the previous
 * ones are full and its first object (index 0) is s_mem.
 */
static void check_colouring(const char *name)
{
	const struct geometry *g = NULL;

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (!strcmp(table[i].name, name))
			g = &table[i];
	cr_assert_not_null(g, "no table entry %s", name);
	cr_assert_geq(g->colour, 2, "%s: colour %u is too small to show cycling", name, g->colour);

	struct kmem_cache *c = kmem_cache_create(g->name, g->size, g->align, g->flags, NULL);
	char tune[96];

	cr_assert_not_null(c);
	snprintf(tune, sizeof(tune), "%s 1 1 0", g->name);
	cr_assert_eq(kmem_proc_write("slabinfo", tune), 0);

	unsigned int nr_slabs = g->colour + 2, nr = nr_slabs * g->num, k = 0;
	size_t slab_bytes = PAGE_SIZE << g->order;
	void **objs = calloc(nr, sizeof(void *));
	struct slab *last = NULL;

	cr_assert_not_null(objs);
	for (unsigned int i = 0; i < nr; i++) {
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
		cr_assert_not_null(objs[i]);
		struct slab *slab = virt_to_page(objs[i])->slab;

		if (slab == last)
			continue;
		/* A new slab: only after the previous one was used up. */
		cr_assert_eq(i, k * g->num, "%s: slab %u appeared after %u objects, not %u",
			     g->name, k, i, k * g->num);
		size_t want = (size_t)(k % g->colour) * g->colour_off +
			      (g->off_slab ? 0 : g->freelist_size);
		size_t got = (uintptr_t)((char *)objs[i] - kmem_memory.base) % slab_bytes;

		cr_assert_eq(objs[i], slab->s_mem, "%s: slab %u's first object is not s_mem",
			     g->name, k);
		cr_assert_eq(got, want, "%s: slab %u's first object at +%zu, expected +%zu",
			     g->name, k, got, want);
		cr_assert_eq(slab->colouroff, want, "%s: slab %u colouroff %lu, expected %zu",
			     g->name, k, slab->colouroff, want);
		last = slab;
		k++;
	}
	cr_assert_eq(k, nr_slabs);
	cr_assert_eq(node_counts(c, 0).total_slabs, nr_slabs);
	for (unsigned int i = 0; i < nr; i++)
		kmem_cache_free(c, objs[i]);
	free(objs);
	cr_assert_eq(kmem_cache_shrink(c), 0);
	cr_assert_eq(node_counts(c, 0).total_slabs, 0);
	kmem_cache_destroy(c);
}

Test(slab_geometry, colour_192)
{
	check_colouring("geo-192"); /* colour 2: +80, +144, +80, +144 */
}

Test(slab_geometry, colour_256_hwcache)
{
	check_colouring("geo-256hw"); /* colour 2, on-slab descriptor of 128 */
}

Test(slab_geometry, colour_600_back_on_slab)
{
	check_colouring("geo-600"); /* colour 6: +56, +120, ... +376, +56 */
}

Test(slab_geometry, colour_3000_order2)
{
	check_colouring("geo-3000"); /* 22 slabs of 4 pages */
}

Test(slab_geometry, colour_5000_reclaimable_order1)
{
	check_colouring("geo-5000rcl"); /* colour 49 */
}

/* The general caches follow the same rules (created with kmalloc's alignments). */
Test(slab_geometry, kmalloc_caches)
{
	/* clang-format off */
	static const struct {
		const char *name;
		unsigned int size, num, order;
		bool off_slab;
		unsigned int colour;
	} want[] = {
		/* align 8 (power of two 8 -> align 8): as geo-8. */
		{ "kmalloc-8", 8, 405, 0, false, 0 },
		/* align 16: num = 4056/18 = 225; ALIGN(490,16) = 496, 496+3600 = 4096. */
		{ "kmalloc-16", 16, 225, 0, false, 0 },
		/* align 32: num = 4056/34 = 119; ALIGN(278,32) = 288, 288+3808 = 4096. */
		{ "kmalloc-32", 32, 119, 0, false, 0 },
		/* align 64: num 61; ALIGN(162,64) = 192, 192+3904 = 4096. */
		{ "kmalloc-64", 64, 61, 0, false, 0 },
		/* align 32: num 41; ALIGN(122,32) = 128, 128+3936 = 4064; left 32. */
		{ "kmalloc-96", 96, 41, 0, false, 0 },
		/* align 128: num 31; ALIGN(102,128) = 128, 128+3968 = 4096. */
		{ "kmalloc-128", 128, 31, 0, false, 0 },
		/* align 64: num 20; ALIGN(80,64) = 128, 128+3840 = 3968; left 128: colour 2. */
		{ "kmalloc-192", 192, 20, 0, false, 2 },
		/* align 256: num 15; ALIGN(70,256) = 256, 256+3840 = 4096; left 0. */
		{ "kmalloc-256", 256, 15, 0, false, 0 },
		/* created after kmalloc-256, so off-slab: num 8, left 0. */
		{ "kmalloc-512", 512, 8, 0, true, 0 },
		{ "kmalloc-1k", 1024, 4, 0, true, 0 },
		{ "kmalloc-2k", 2048, 2, 0, true, 0 },
		{ "kmalloc-4k", 4096, 1, 0, true, 0 },
		{ "kmalloc-8k", 8192, 1, 1, true, 0 },
	};
	/* clang-format on */

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct kmem_cache *c = NULL, *pos;

		list_for_each_entry(pos, &slab_caches, list)
			if (!strcmp(pos->name, want[i].name))
				c = pos;
		cr_assert_not_null(c, "no cache %s", want[i].name);
		cr_expect_eq(c->size, want[i].size, "%s: size %u", want[i].name, c->size);
		cr_expect_eq(c->num, want[i].num, "%s: num %u, expected %u", want[i].name, c->num,
			     want[i].num);
		cr_expect_eq(c->gfporder, want[i].order, "%s: order %u", want[i].name, c->gfporder);
		cr_expect_eq(!!(c->flags & CFLGS_OFF_SLAB), want[i].off_slab, "%s: off-slab %d",
			     want[i].name, !!(c->flags & CFLGS_OFF_SLAB));
		cr_expect_eq(c->colour, (size_t)want[i].colour, "%s: colour %zu", want[i].name,
			     c->colour);
	}
}

/*
 * kfree's slab map agrees with struct page for every object of caches of
 * every shape (on- and off-slab, coloured, multi-page, debug with red
 * zones), says "no" for every other address inside their slabs, and forgets
 * the pages when the slabs go.
 */
Test(slab_geometry, slab_map_matches_every_object)
{
	static const struct {
		unsigned int size;
		slab_flags_t flags;
	} shapes[] = {
		{ 24, 0 },
		{ 192, 0 },
		{ 256, SLAB_HWCACHE_ALIGN },
		{ 600, 0 },
		{ 3000, 0 },
		{ 5000, 0 },
		{ 100, SLAB_RED_ZONE | SLAB_STORE_USER },
	};
	enum { NR_OBJS = 40 };

	for (size_t s = 0; s < ARRAY_SIZE(shapes); s++) {
		char name[32];
		void *objs[NR_OBJS];

		snprintf(name, sizeof(name), "map-%u-%u", shapes[s].size, shapes[s].flags);
		struct kmem_cache *c =
			kmem_cache_create(name, shapes[s].size, 0, shapes[s].flags, NULL);

		cr_assert_not_null(c, "%s", name);
		for (int i = 0; i < NR_OBJS; i++) {
			objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
			cr_assert_not_null(objs[i]);
			uint64_t word = slab_map_get(objs[i]);

			cr_assert_eq((uint32_t)word, CPU_CACHE_OFFSET(atomic_load(&c->cpu_cache)),
				     "%s: the map word of %p does not name the cache's arrays",
				     name, objs[i]);
			cr_assert(is_obj_start(c, slab_map_offset(objs[i], word)),
				  "%s: %p is not an object start by the map", name, objs[i]);
			cr_assert(!is_obj_start(c, slab_map_offset((char *)objs[i] + 8, word)),
				  "%s: %p + 8 is an object start by the map", name, objs[i]);
			cr_assert(!is_obj_start(c,
						slab_map_offset((char *)objs[i] - 8,
								slab_map_get((char *)objs[i] - 8))),
				  "%s: %p - 8 is an object start by the map", name, objs[i]);
			cr_assert_geq(ksize(objs[i]), shapes[s].size, "%s: ksize through the map",
				      name);
		}
		unsigned long pfn = __page_to_pfn(__virt_to_page(objs[0]));
		char tune[64];

		/* A retune moves the arrays: the map of the live slabs follows. */
		snprintf(tune, sizeof(tune), "%s 32 16 0", name);
		if (!(c->flags & SLAB_DEBUG_FLAGS)) {
			cr_assert_eq(kmem_proc_write("slabinfo", tune), 0, "%s", tune);
			for (int i = 0; i < NR_OBJS; i++)
				cr_assert_eq((uint32_t)slab_map_get(objs[i]),
					     CPU_CACHE_OFFSET(atomic_load(&c->cpu_cache)),
					     "%s: the map names the old arrays after a retune",
					     name);
		}

		for (int i = 0; i < NR_OBJS; i++)
			kfree(objs[i]); /* kfree takes any slab object, as the kernel's does */
		cr_assert_eq(kmem_error_count(), 0, "%s", name);
		kmem_cache_destroy(c);
		cr_assert_eq(kmem_memory.slab_map[pfn], 0, "%s: the map kept a destroyed slab",
			     name);
	}
}

/*
 * kfree's one-compare object-start test agrees with the arithmetic for every
 * offset from 8 KiB before s_mem to two objects past the last, for every
 * size up to 4 KiB (all of them to 512, multiples of 8 above), the kmalloc
 * and malloc class sizes up to 64 KiB, and large ones up to 4 MiB, with
 * one, a few and many objects per slab.
 */
static void check_obj_start(unsigned int size, unsigned int num)
{
	uint64_t recip = obj_reciprocal(size);
	unsigned int bound = obj_start_bound(num, size, recip);
	int64_t objs = (int64_t)num * size;
	int64_t step = size > 4096 ? 8 : 1; /* large objects: offsets of 8-byte pointers */

	cr_assert_gt(bound, 0, "size %u: bound 0", size);
	for (int64_t off = -8192; off < objs + 2 * (int64_t)size; off += step) {
		bool want = off >= 0 && off < objs && off % size == 0;

		/* Not cr_assert in the loop: --full-stats would log every pass. */
		if (obj_start_check((uint64_t)off, recip, bound) != want)
			cr_assert_fail("size %u, %u objects: offset %lld says %d", size, num,
				       (long long)off, !want);
	}
	/* The last object start and the first past the end, whatever the step. */
	cr_assert(obj_start_check((uint64_t)(objs - size), recip, bound), "size %u: last", size);
	cr_assert(!obj_start_check((uint64_t)objs, recip, bound), "size %u: past the end", size);
}

/* obj_reciprocal() avoids a 128-bit division; it must still be floor(2^64 / size) + 1. */
Test(slab_geometry, object_reciprocal_is_exact)
{
	for (unsigned int size = 1; size <= (1u << 24); size += size < 65536 ? 1 : 61) {
		uint64_t want = (uint64_t)(((unsigned __int128)1 << 64) / size) + 1;

		if (obj_reciprocal(size) != want)
			cr_assert_fail("size %u: reciprocal %#llx, not %#llx", size,
				       (unsigned long long)obj_reciprocal(size),
				       (unsigned long long)want);
	}
	for (unsigned int shift = 0; shift < 32; shift++)
		cr_assert_eq(obj_reciprocal(1u << shift),
			     shift ? (UINT64_C(1) << (64 - shift)) + 1 : 1, /* 2^64 + 1 wraps */
			     "size 2^%u", shift);
}

Test(slab_geometry, one_compare_object_start)
{
	static const unsigned int big[] = { 6144,  8192,   10880,   16384,   32768,
					    65536, 100000, 1 << 20, 3 << 20, 4 << 20 };

	for (unsigned int size = 1; size <= 4096; size += size < 512 ? 1 : 8) {
		check_obj_start(size, 1);
		check_obj_start(size, 3);
		check_obj_start(size, max(1u, 32768 / size));
	}
	for (size_t i = 0; i < ARRAY_SIZE(big); i++) {
		check_obj_start(big[i], 1);
		check_obj_start(big[i], 2);
	}
}
