// SPDX-License-Identifier: MIT
/*
 * kmalloc and the general caches (mm/slab_common.c; seed 004 "通用缓存"):
 * the kernel's cache names, the size -> class mapping for every size up to
 * 8 KiB, alignment, large kmallocs from the page allocator, the limits,
 * ZERO_SIZE_PTR, kzalloc/kcalloc/kmalloc_array, krealloc, kfree_sensitive,
 * kmemdup and friends, GFP_DMA and __GFP_RECLAIMABLE, bad kfree()s, kvmalloc
 * and the leak report of kmem_exit().
 */
#include <errno.h>

#include "slab_test.h"

#define ARENA_SIZE (128UL << 20)

static void setup(void)
{
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = ARENA_SIZE, .no_reporting = 1 }),
		     0);
	kswapd_stop(); /* no background reaper between a kfree and the kmalloc that reuses it */
}

static void teardown(void)
{
	kmem_exit();
	kmem_set_printk(NULL);
}

TestSuite(kmalloc, .init = setup, .fini = teardown);

static bool all_bytes(const void *p, int byte, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((const unsigned char *)p)[i] != (unsigned char)byte)
			return false;
	return true;
}

/* The general caches: each size class, its kernel name suffix and the alignment it gets. */
static const struct {
	unsigned int size;
	const char *suffix;
	unsigned int align;
} classes[] = {
	{ 8, "8", 8 },	      { 16, "16", 16 },	    { 32, "32", 32 },	  { 64, "64", 64 },
	{ 96, "96", 32 },     { 128, "128", 128 },  { 192, "192", 64 },	  { 256, "256", 256 },
	{ 512, "512", 512 },  { 1024, "1k", 1024 }, { 2048, "2k", 2048 }, { 4096, "4k", 4096 },
	{ 8192, "8k", 4096 },
};
#define NR_CLASSES (sizeof(classes) / sizeof(classes[0]))

/* The smallest class that holds @size: 9..16 -> 16, 65..96 -> 96, 129..192 -> 192, ... */
static unsigned int class_of(size_t size)
{
	for (unsigned int i = 0; i < NR_CLASSES; i++)
		if (size <= classes[i].size)
			return i;
	cr_assert_fail("no class for %zu", size);
	return 0;
}

/* ------------------------------------------------------------ the caches */

Test(kmalloc, general_caches_have_the_kernel_names)
{
	static const char *const prefixes[] = { "kmalloc-", "kmalloc-rcl-", "dma-kmalloc-" };

	/* The DMA and reclaimable caches are made on first use. */
	for (unsigned int i = 0; i < NR_CLASSES; i++) {
		kfree(kmalloc(classes[i].size, GFP_KERNEL | __GFP_RECLAIMABLE));
		kfree(kmalloc(classes[i].size, GFP_DMA));
	}
	char *text = slabinfo_read();

	for (unsigned int i = 0; i < NR_CLASSES; i++) {
		for (unsigned int t = 0; t < 3; t++) {
			char name[64];
			struct slabinfo_line s;

			snprintf(name, sizeof(name), "%s%s", prefixes[t], classes[i].suffix);
			cr_assert(slabinfo_find(text, name, &s), "no %s in slabinfo", name);
			cr_assert_eq(s.objsize, classes[i].size, "%s: objsize %u", name, s.objsize);
		}
	}
	struct slabinfo_line s;

	cr_assert_not(slabinfo_find(text, "kmalloc-16k", &s), "kmalloc-8k is the largest");
	cr_assert_not(slabinfo_find(text, "kmalloc-4", &s));
}

Test(kmalloc, every_size_maps_to_its_class)
{
	for (size_t n = 1; n <= 8192; n++) {
		unsigned char *p = kmalloc(n, GFP_KERNEL);
		unsigned int i = class_of(n);
		char name[32];

		expect(p != NULL && !ZERO_OR_NULL_PTR(p), "kmalloc(%zu) failed", n);
		expect(ksize(p) == classes[i].size, "kmalloc(%zu): ksize %zu, expected %u", n,
		       ksize(p), classes[i].size);
		snprintf(name, sizeof(name), "kmalloc-%s", classes[i].suffix);
		expect(!strcmp(virt_to_cache(p)->name, name), "kmalloc(%zu) came from %s, not %s",
		       n, virt_to_cache(p)->name, name);
		/* Alignment: 8 always, 16 from 16 bytes on, powers of two their size (to 4 KiB). */
		expect((uintptr_t)p % 8 == 0, "kmalloc(%zu) = %p", n, (void *)p);
		expect(n < 16 || (uintptr_t)p % 16 == 0, "kmalloc(%zu) = %p", n, (void *)p);
		expect(!is_power_of_2(n) || (uintptr_t)p % (n < 4096 ? n : 4096) == 0,
		       "kmalloc(%zu) = %p", n, (void *)p);
		expect((uintptr_t)p % classes[i].align == 0, "kmalloc(%zu) = %p, class align %u", n,
		       (void *)p, classes[i].align);
		p[0] = 1;
		p[ksize(p) - 1] = 2; /* the whole of ksize() is usable */
		kfree(p);
	}
	/* The boundaries, spelled out. */
	static const size_t edges[][2] = {
		{ 1, 8 },     { 8, 8 },	    { 9, 16 },	   { 16, 16 },
		{ 17, 32 },   { 24, 32 },   { 33, 64 },	   { 65, 96 },
		{ 96, 96 },   { 97, 128 },  { 129, 192 },  { 192, 192 },
		{ 193, 256 }, { 257, 512 }, { 513, 1024 }, { 4097, 8192 }
	};

	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		void *p = kmalloc(edges[i][0], GFP_KERNEL);

		cr_assert_eq(ksize(p), edges[i][1], "kmalloc(%zu): ksize %zu", edges[i][0],
			     ksize(p));
		kfree(p);
	}
}

/* The bytes of class @i of kmalloc_index(): 2^i, but for 1 (96) and 2 (192). */
static unsigned int index_bytes(unsigned int i)
{
	return i == 1 ? 96 : i == 2 ? 192 : 1U << i;
}

/*
 * What the header's inline kmalloc() finds for class @i once kmem is up: the
 * general cache, or NULL in the sanitizer builds, whose caches all take
 * __kmalloc() (to poison past the size asked for).
 */
static struct kmem_cache *inline_cache(unsigned int i)
{
	struct kmem_cache *s = kmalloc_caches[KMALLOC_NORMAL][i];

	if (kasan_enabled())
		cr_assert_null(s, "a sanitizer build with kmalloc-%u in the inline table",
			       index_bytes(i));
	return kasan_enabled() ? kmalloc_slab(index_bytes(i), GFP_KERNEL) : s;
}

/* kmalloc(@n) with @n a constant: the header's inline path. */
#define EXPECT_CONSTANT_KMALLOC(n)                                                                 \
	do {                                                                                       \
		void *p = kmalloc(n, GFP_KERNEL);                                                  \
		unsigned int i = class_of(n);                                                      \
		char name[32];                                                                     \
                                                                                                   \
		snprintf(name, sizeof(name), "kmalloc-%s", classes[i].suffix);                     \
		expect(p && !strcmp(virt_to_cache(p)->name, name),                                 \
		       "kmalloc(" #n "): from %s, not %s", p ? virt_to_cache(p)->name : "nowhere", \
		       name);                                                                      \
		expect(virt_to_cache(p) == inline_cache(kmalloc_index(n)),                         \
		       "kmalloc(" #n ") is not from kmalloc_caches[]");                            \
		kfree(p);                                                                          \
	} while (0)

/*
 * A size the compiler knows picks its cache at compile time, as in the
 * kernel: kmalloc_index() (the header's ladder) must agree with the
 * run-time table for every size, and such a kmalloc must land in the
 * general cache of its class, at every class boundary.
 */
Test(kmalloc, constant_sizes_pick_their_cache_at_compile_time)
{
	for (size_t n = 1; n <= KMALLOC_MAX_CACHE_SIZE; n++)
		expect(index_bytes(kmalloc_index(n)) == classes[class_of(n)].size,
		       "kmalloc_index(%zu) = %u (%u bytes), the class holds %u", n,
		       kmalloc_index(n), index_bytes(kmalloc_index(n)), classes[class_of(n)].size);
	EXPECT_CONSTANT_KMALLOC(1);
	EXPECT_CONSTANT_KMALLOC(8);
	EXPECT_CONSTANT_KMALLOC(9);
	EXPECT_CONSTANT_KMALLOC(16);
	EXPECT_CONSTANT_KMALLOC(24);
	EXPECT_CONSTANT_KMALLOC(64);
	EXPECT_CONSTANT_KMALLOC(65);
	EXPECT_CONSTANT_KMALLOC(96);
	EXPECT_CONSTANT_KMALLOC(97);
	EXPECT_CONSTANT_KMALLOC(128);
	EXPECT_CONSTANT_KMALLOC(129);
	EXPECT_CONSTANT_KMALLOC(192);
	EXPECT_CONSTANT_KMALLOC(193);
	EXPECT_CONSTANT_KMALLOC(512);
	EXPECT_CONSTANT_KMALLOC(2048);
	EXPECT_CONSTANT_KMALLOC(4097);
	EXPECT_CONSTANT_KMALLOC(8192);
	/* Constant, but not for the inline path: size 0, a large size, DMA, reclaimable. */
	cr_assert_eq(kmalloc(0, GFP_KERNEL), ZERO_SIZE_PTR);
	void *large = kmalloc(8193, GFP_KERNEL);

	cr_assert_not_null(large);
	cr_assert_eq(ksize(large), 4 * PAGE_SIZE);
	kfree(large);
	void *rcl = kmalloc(64, GFP_KERNEL | __GFP_RECLAIMABLE);

	cr_assert_str_eq(virt_to_cache(rcl)->name, "kmalloc-rcl-64");
	kfree(rcl);
	/* __GFP_ZERO through the inline path. */
	unsigned char *z = kmalloc(200, GFP_KERNEL);

	memset(z, 0xa5, 200);
	kfree(z);
	z = kzalloc(200, GFP_KERNEL);
	cr_assert(all_bytes(z, 0, 200), "kzalloc(200) handed out a dirty object");
	kfree(z);
}

/* The header's kmalloc() is inline; the library still exports kmalloc for older binaries. */
extern void *kmalloc_exported(size_t size, gfp_t flags) __asm__("kmalloc");

Test(kmalloc, the_exported_kmalloc_symbol_still_allocates)
{
	void *(*volatile fn)(size_t, gfp_t) = kmalloc_exported;
	void *p = fn(100, GFP_KERNEL);

	cr_assert_not_null(p);
	cr_assert_str_eq(virt_to_cache(p)->name, "kmalloc-128");
	kfree(p);
	cr_assert_eq(fn(0, GFP_KERNEL), ZERO_SIZE_PTR);
	p = fn(20000, GFP_KERNEL);
	cr_assert_not_null(p);
	cr_assert_eq(ksize(p), 8 * PAGE_SIZE);
	kfree(p);
}

/* A program that never called kmem_init(): the table is empty, and __kmalloc() initialises kmem. */
Test(kmalloc_boot, constant_size_kmalloc_before_kmem_init)
{
	setenv("KMEM_MEM", "64M", 1);
	cr_assert_null(kmalloc_caches[KMALLOC_NORMAL][kmalloc_index(64)]);
	void *p = kmalloc(64, GFP_KERNEL);

	cr_assert_not_null(p);
	cr_assert_str_eq(virt_to_cache(p)->name, "kmalloc-64");
	cr_assert_eq(virt_to_cache(p), inline_cache(kmalloc_index(64)));
	kfree(p);
	kmem_exit();
	cr_assert_null(kmalloc_caches[KMALLOC_NORMAL][kmalloc_index(64)], "kmem_exit() left it");
	unsetenv("KMEM_MEM");
}

/* Above 8 KiB: a compound block of PAGE_SIZE << get_order(size). */
Test(kmalloc, large_kmalloc_from_the_page_allocator)
{
	static const size_t sizes[][2] = {
		{ 8193, 16384 },	  { 12288, 16384 },
		{ 16384, 16384 },	  { 16385, 32768 },
		{ 65536, 65536 },	  { 100000, 131072 },
		{ 1UL << 20, 1UL << 20 }, { (1UL << 20) + 1, 2UL << 20 },
		{ 4UL << 20, 4UL << 20 },
	};
	unsigned long before = all_free_pages();

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *p = kmalloc(sizes[i][0], GFP_KERNEL);
		struct page *page = virt_to_page(p);

		cr_assert_not_null(p, "kmalloc(%zu) failed", sizes[i][0]);
		cr_assert_eq(ksize(p), sizes[i][1], "kmalloc(%zu): ksize %zu, expected %zu",
			     sizes[i][0], ksize(p), sizes[i][1]);
		cr_assert_eq((uintptr_t)((char *)p - kmem_memory.base) % sizes[i][1], 0,
			     "a block of %zu bytes is not naturally aligned", sizes[i][1]);
		cr_assert(!PageSlab(page));
		cr_assert(PageLargeKmalloc(page));
		memset(p, 0xa5, ksize(p));
		cr_assert_eq(all_free_pages(), before - sizes[i][1] / PAGE_SIZE);
		kfree(p);
		cr_assert(!PageLargeKmalloc(page));
		cr_assert_eq(all_free_pages(), before);
	}
}

Test(kmalloc, above_kmalloc_max_size_fails)
{
	printk_capture();
	cr_assert_eq(KMALLOC_MAX_SIZE, 4UL << 20);
	cr_assert_null(kmalloc(KMALLOC_MAX_SIZE + 1, GFP_KERNEL));
	cr_assert(printk_logged("KMALLOC_MAX_SIZE"), "log: %s", printk_log);
	cr_assert(printk_logged("4194305"), "the message names the size: %s", printk_log);
	printk_clear();
	cr_assert_null(kmalloc(SIZE_MAX, GFP_KERNEL));
	cr_assert(printk_logged("KMALLOC_MAX_SIZE"));
	printk_clear();
	cr_assert_null(kmalloc(KMALLOC_MAX_SIZE + 1, GFP_KERNEL | __GFP_NOWARN));
	cr_assert_null(kzalloc(8UL << 20, GFP_KERNEL | __GFP_NOWARN));
	cr_assert_eq(printk_count(), 0, "__GFP_NOWARN printed: %s", printk_log);
}

Test(kmalloc, zero_size)
{
	unsigned long errors = kmem_error_count();

	printk_capture();
	cr_assert_eq(kmalloc(0, GFP_KERNEL), ZERO_SIZE_PTR);
	cr_assert_eq(kzalloc(0, GFP_KERNEL), ZERO_SIZE_PTR);
	cr_assert_eq(kcalloc(0, 8, GFP_KERNEL), ZERO_SIZE_PTR);
	cr_assert(ZERO_OR_NULL_PTR(ZERO_SIZE_PTR));
	cr_assert(ZERO_OR_NULL_PTR(NULL));
	kfree(ZERO_SIZE_PTR);
	kfree(NULL);
	kfree_sensitive(NULL);
	kfree_sensitive(ZERO_SIZE_PTR);
	kvfree(NULL);
	cr_assert_eq(ksize(ZERO_SIZE_PTR), 0);
	cr_assert_eq(ksize(NULL), 0);
	cr_assert_eq(kmem_error_count(), errors);
	cr_assert_eq(printk_count(), 0, "log: %s", printk_log);
}

/* ------------------------------------------------------------ zeroing */

Test(kmalloc, kzalloc_zeroes_a_recycled_object)
{
	unsigned char *p = kmalloc(50, GFP_KERNEL);

	memset(p, 0xab, ksize(p));
	kfree(p);
	unsigned char *q = kzalloc(50, GFP_KERNEL);

	cr_assert_eq(q, p, "LIFO: the dirty object comes back");
	/* ksize() first: it makes the whole object the caller's (ASan builds poison the rest). */
	cr_assert(all_bytes(q, 0, ksize(q)), "kzalloc left dirty bytes in the 64-byte object");
	kfree(q);

	p = kmalloc(100, GFP_KERNEL);
	memset(p, 0xab, ksize(p));
	kfree(p);
	q = kcalloc(10, 10, GFP_KERNEL);
	cr_assert_eq(q, p);
	cr_assert(all_bytes(q, 0, ksize(q)));
	kfree(q);

	/* Large ones too: dirty pages come back zeroed. */
	for (int i = 0; i < 4; i++) {
		p = kmalloc(20000, GFP_KERNEL);
		memset(p, 0xab, ksize(p));
		kfree(p);
		q = kzalloc(20000, GFP_KERNEL);
		cr_assert_eq(ksize(q), 32768);
		cr_assert(all_bytes(q, 0, 32768), "kzalloc(20000) left dirty bytes");
		kfree(q);
	}
}

Test(kmalloc, array_overflow)
{
	unsigned long errors = kmem_error_count();

	cr_assert_null(kmalloc_array(SIZE_MAX / 2 + 1, 2, GFP_KERNEL));
	cr_assert_null(kmalloc_array(2, SIZE_MAX / 2 + 1, GFP_KERNEL));
	cr_assert_null(kcalloc(SIZE_MAX / 8 + 1, 8, GFP_KERNEL));
	cr_assert_null(kvmalloc_array(SIZE_MAX / 3 + 1, 3, GFP_KERNEL));
	cr_assert_null(kvcalloc(SIZE_MAX / 16 + 1, 16, GFP_KERNEL));

	void *p = kmalloc(16, GFP_KERNEL);

	cr_assert_null(krealloc_array(p, SIZE_MAX / 4 + 1, 4, GFP_KERNEL));
	cr_assert_eq(ksize(p), 16, "a refused krealloc_array freed the object");
	kfree(p);
	p = kmalloc_array(100, 40, GFP_KERNEL);
	cr_assert_eq(ksize(p), 4096);
	kfree(p);
	cr_assert_eq(kmem_error_count(), errors);
}

/* ------------------------------------------------------------ krealloc */

Test(kmalloc, krealloc)
{
	unsigned char *p = kmalloc(40, GFP_KERNEL);

	memset(p, 0x11, ksize(p));
	/* In place while the object (64 bytes) holds the new size, growing or shrinking. */
	cr_assert_eq(krealloc(p, 64, GFP_KERNEL), p);
	cr_assert_eq(krealloc(p, 1, GFP_KERNEL), p);
	cr_assert(all_bytes(p, 0x11, ksize(p)));

	/* 65 bytes: a 96-byte object, the contents copied, the old one freed. */
	unsigned char *q = krealloc(p, 65, GFP_KERNEL);

	cr_assert_not_null(q);
	cr_assert_neq(q, p);
	cr_assert_eq(ksize(q), 96);
	cr_assert(all_bytes(q, 0x11, 64));
	cr_assert_eq(kmalloc(64, GFP_KERNEL), p, "the old object was not freed");
	kfree(p);

	/* Growing with __GFP_ZERO: the new tail reads zero. */
	memset(q, 0x22, 96);
	unsigned char *r = krealloc(q, 300, GFP_KERNEL | __GFP_ZERO);

	cr_assert_eq(ksize(r), 512);
	cr_assert(all_bytes(r, 0x22, 96));
	cr_assert(all_bytes(r + 96, 0, 512 - 96));

	/* Shrinking in place with __GFP_ZERO clears what lies past the new size. */
	cr_assert_eq(krealloc(r, 100, GFP_KERNEL | __GFP_ZERO), r);
	cr_assert_eq(ksize(r), 512);
	cr_assert(all_bytes(r, 0x22, 96));
	cr_assert(all_bytes(r + 100, 0, 512 - 100));

	/* Into and within a large kmalloc. */
	unsigned char *big = krealloc(r, 20000, GFP_KERNEL);

	cr_assert_eq(ksize(big), 32768);
	cr_assert(all_bytes(big, 0x22, 96));
	cr_assert_eq(krealloc(big, 30000, GFP_KERNEL), big, "20000 -> 30000 fits in 32 KiB");
	memset(big, 0x33, ksize(big));
	unsigned char *bigger = krealloc(big, 40000, GFP_KERNEL);

	cr_assert_eq(ksize(bigger), 65536);
	cr_assert(all_bytes(bigger, 0x33, 32768));

	/* krealloc(p, 0) frees and returns ZERO_SIZE_PTR. */
	unsigned char *s = kmalloc(96, GFP_KERNEL);

	cr_assert_eq(krealloc(s, 0, GFP_KERNEL), ZERO_SIZE_PTR);
	cr_assert_eq(kmalloc(96, GFP_KERNEL), s, "krealloc(p, 0) did not free p");
	kfree(s);
	cr_assert_eq(krealloc(bigger, 0, GFP_KERNEL), ZERO_SIZE_PTR);

	/* krealloc(NULL or ZERO_SIZE_PTR, n) is kmalloc(n). */
	void *t = krealloc(NULL, 100, GFP_KERNEL);

	cr_assert_eq(ksize(t), 128);
	kfree(t);
	t = krealloc(ZERO_SIZE_PTR, 10, GFP_KERNEL);
	cr_assert_eq(ksize(t), 16);
	kfree(t);
	cr_assert_eq(krealloc(NULL, 0, GFP_KERNEL), ZERO_SIZE_PTR);

	/* A failed move leaves the old object alone. */
	unsigned char *u = kmalloc(200, GFP_KERNEL);

	memset(u, 0x44, 200);
	cr_assert_null(krealloc(u, KMALLOC_MAX_SIZE + 1, GFP_KERNEL | __GFP_NOWARN));
	cr_assert_eq(ksize(u), 256);
	cr_assert(all_bytes(u, 0x44, 200));
	kfree(u);
}

Test(kmalloc, kfree_sensitive_zeroes_before_freeing)
{
	unsigned char *p = kmalloc(60, GFP_KERNEL);

	memset(p, 0x77, ksize(p));
	kfree_sensitive(p);
	/* The object is free now; the next kmalloc(64) hands it back (LIFO) as it was left. */
	unsigned char *q = kmalloc(64, GFP_KERNEL);

	cr_assert_eq(q, p);
	cr_assert(all_bytes(q, 0, 64), "kfree_sensitive left secrets behind");
	kfree(q);
}

Test(kmalloc, kmemdup_kstrdup_kstrndup)
{
	unsigned char buf[100];

	for (int i = 0; i < 100; i++)
		buf[i] = (unsigned char)(i * 7);
	unsigned char *d = kmemdup(buf, sizeof(buf), GFP_KERNEL);

	cr_assert_not_null(d);
	cr_assert_neq(d, buf);
	cr_assert_eq(memcmp(d, buf, sizeof(buf)), 0);
	cr_assert_eq(ksize(d), 128);
	kfree(d);
	cr_assert_eq(kmemdup(buf, 0, GFP_KERNEL), ZERO_SIZE_PTR);

	char *s = kstrdup("hello", GFP_KERNEL);

	cr_assert_str_eq(s, "hello");
	cr_assert_eq(ksize(s), 8);
	kfree(s);
	s = kstrdup("", GFP_KERNEL);
	cr_assert_str_eq(s, "");
	kfree(s);
	cr_assert_null(kstrdup(NULL, GFP_KERNEL));

	s = kstrndup("hello world", 5, GFP_KERNEL);
	cr_assert_str_eq(s, "hello");
	kfree(s);
	s = kstrndup("hi", 100, GFP_KERNEL);
	cr_assert_str_eq(s, "hi");
	cr_assert_eq(ksize(s), 8);
	kfree(s);
	s = kstrndup("abc", 0, GFP_KERNEL);
	cr_assert_str_eq(s, "");
	kfree(s);
	cr_assert_null(kstrndup(NULL, 3, GFP_KERNEL));
}

/* ------------------------------------------------------------ GFP types */

/* dma-kmalloc-* and kmalloc-rcl-* cost nothing until a kmalloc asks for them. */
Test(kmalloc, dma_and_reclaimable_caches_appear_on_first_use)
{
	struct slabinfo_line s;

	cr_assert(slabinfo_find(NULL, "kmalloc-64", &s));
	cr_assert_not(slabinfo_find(NULL, "dma-kmalloc-64", &s), "made before its first use");
	cr_assert_not(slabinfo_find(NULL, "kmalloc-rcl-64", &s), "made before its first use");
	void *d = kmalloc(64, GFP_DMA), *r = kmalloc(50, GFP_KERNEL | __GFP_RECLAIMABLE);

	cr_assert(d && r);
	cr_assert_str_eq(virt_to_cache(d)->name, "dma-kmalloc-64");
	cr_assert_str_eq(virt_to_cache(r)->name, "kmalloc-rcl-64");
	cr_assert_eq(kmalloc_slab(64, GFP_DMA), virt_to_cache(d));
	cr_assert_eq(kmalloc_slab(33, __GFP_RECLAIMABLE), virt_to_cache(r));
	cr_assert(slabinfo_find(NULL, "dma-kmalloc-64", &s));
	cr_assert_geq(s.active_objs, 1); /* and the rest of the batch in this thread's array */
	cr_assert(slabinfo_find(NULL, "kmalloc-rcl-64", &s));
	cr_assert_not(slabinfo_find(NULL, "dma-kmalloc-32", &s), "only the class asked for");
	/* The same cache from then on. */
	void *d2 = kmalloc(64, GFP_DMA);

	cr_assert_eq(virt_to_cache(d2), virt_to_cache(d));
	kfree(d);
	kfree(d2);
	kfree(r);
}

Test(kmalloc, gfp_dma_and_reclaimable)
{
	void *d = kmalloc(100, GFP_DMA);
	void *dk = kmalloc(100, GFP_KERNEL | __GFP_DMA);
	void *big = kmalloc(20000, GFP_DMA);
	void *r = kmalloc(100, GFP_KERNEL | __GFP_RECLAIMABLE);
	void *both = kmalloc(100, GFP_KERNEL | __GFP_DMA | __GFP_RECLAIMABLE);
	void *n = kmalloc(100, GFP_KERNEL);

	cr_assert(d && dk && big && r && both && n);
	cr_assert_str_eq(virt_to_cache(d)->name, "dma-kmalloc-128");
	cr_assert_str_eq(virt_to_cache(dk)->name, "dma-kmalloc-128");
	cr_assert_str_eq(virt_to_cache(both)->name, "dma-kmalloc-128",
			 "DMA wins, as in the kernel");
	cr_assert_str_eq(virt_to_cache(r)->name, "kmalloc-rcl-128");
	cr_assert_str_eq(virt_to_cache(n)->name, "kmalloc-128");
	void *in_dma[] = { d, dk, big, both };

	for (int i = 0; i < 4; i++) {
		unsigned long pfn = page_to_pfn(virt_to_page(in_dma[i]));

		cr_assert_lt(pfn, kmem_memory.dma_pages, "GFP_DMA object %d at pfn %lu", i, pfn);
	}
	cr_assert_geq(page_to_pfn(virt_to_page(n)), kmem_memory.dma_pages);
	cr_assert_eq(get_pfnblock_migratetype(page_to_pfn(virt_to_page(r))), MIGRATE_RECLAIMABLE);
	cr_assert_eq(ksize(d), 128);
	cr_assert_eq(ksize(big), 32768);
	kfree(d);
	kfree(dk);
	kfree(big);
	kfree(r);
	kfree(both);
	kfree(n);
}

/* ------------------------------------------------------------ bad kfree */

static char *slabinfo_copy(void)
{
	char *copy = strdup(slabinfo_read());

	cr_assert_not_null(copy);
	return copy;
}

static void expect_bad_kfree(const void *ptr, const char *what, const char *needle)
{
	char addr[32];
	unsigned long errors = kmem_error_count();
	char *before = slabinfo_copy();

	snprintf(addr, sizeof(addr), "%p", ptr);
	printk_clear();
	kfree(ptr);
	cr_assert_eq(kmem_error_count(), errors + 1, "kfree(%s) was not reported", what);
	cr_assert(printk_logged(addr), "kfree(%s): the report does not name %s: %s", what, addr,
		  printk_log);
	cr_assert(printk_logged(needle), "kfree(%s): expected '%s' in: %s", what, needle,
		  printk_log);
	cr_assert_str_eq(slabinfo_read(), before, "kfree(%s) changed slabinfo", what);
	free(before);
}

/*
 * Debugging off, the always-on check still catches free(p); free(p): the
 * second free is reported with the cache and the address and ignored, so the
 * object is not handed out twice.
 */
Test(kmalloc, immediate_double_free_caught_without_debugging)
{
	struct kmem_cache *cache = kmem_cache_create("dfree-48", 48, 0, 0, NULL);
	void *obj = kmalloc(64, GFP_KERNEL), *a, *b;
	unsigned long errors;

	cr_assert(obj && cache);
	printk_capture();
	kfree(obj);
	expect_bad_kfree(obj, "an object freed twice", "Double free of");
	cr_assert(printk_logged("kmalloc-64"), "the report names no cache: %s", printk_log);
	a = kmalloc(64, GFP_KERNEL);
	b = kmalloc(64, GFP_KERNEL);
	cr_assert(a && b && a != b, "the object freed twice was handed out twice");
	kfree(a);
	kfree(b);

	obj = kmem_cache_alloc(cache, GFP_KERNEL);
	cr_assert_not_null(obj);
	kmem_cache_free(cache, obj);
	errors = kmem_error_count();
	printk_clear();
	kmem_cache_free(cache, obj);
	cr_assert_eq(kmem_error_count(), errors + 1, "kmem_cache_free twice was not reported");
	cr_assert(printk_logged("dfree-48") && printk_logged("Double free of"), "log: %s",
		  printk_log);
	a = kmem_cache_alloc(cache, GFP_KERNEL);
	b = kmem_cache_alloc(cache, GFP_KERNEL);
	cr_assert(a && b && a != b, "the object freed twice was handed out twice");
	kmem_cache_free(cache, a);
	kmem_cache_free(cache, b);
	kmem_cache_destroy(cache);
}

Test(kmalloc, bad_kfree_is_reported_and_ignored)
{
	long on_stack = 0;
	long *heap = malloc(64);
	unsigned char *obj = kmalloc(64, GFP_KERNEL);
	unsigned char *big = kmalloc(20000, GFP_KERNEL);
	struct page *page = alloc_pages(GFP_KERNEL, 0);

	printk_capture();
	expect_bad_kfree(&on_stack, "a stack address", "not an address kmem handed out");
	expect_bad_kfree(heap, "a glibc malloc pointer", "not an address kmem handed out");
	expect_bad_kfree(obj + 8, "the middle of an object",
			 "not the start of an object of cache kmalloc-64");
	expect_bad_kfree(big + PAGE_SIZE, "the middle of a large kmalloc",
			 "inside a large kmalloc block");
	expect_bad_kfree(big + 8, "an offset into a large kmalloc's head page",
			 "inside a large kmalloc block");
	expect_bad_kfree(page_address(page), "a page from alloc_pages", "not a kmalloc allocation");

	unsigned long errors = kmem_error_count();

	cr_assert_eq(ksize(obj + 8), 0);
	cr_assert_eq(kmem_error_count(), errors + 1, "ksize of a bad pointer is reported too");
	printk_clear();
	cr_assert_null(krealloc(&on_stack, 100, GFP_KERNEL));
	cr_assert_eq(kmem_error_count(), errors + 2, "krealloc of a bad pointer is reported");
	cr_assert(printk_logged("not an address kmem handed out"), "log: %s", printk_log);

	/* The real objects are intact and free normally. */
	errors = kmem_error_count();
	cr_assert_eq(ksize(obj), 64);
	cr_assert_eq(ksize(big), 32768);
	kfree(obj);
	kfree(big);
	__free_pages(page, 0);
	cr_assert_eq(kmem_error_count(), errors);
	free(heap);
}

/* ------------------------------------------------------------ kvmalloc */

Test(kmalloc, kvmalloc)
{
	unsigned char *small = kvmalloc(100, GFP_KERNEL);

	cr_assert_not_null(small);
	cr_assert_str_eq(virt_to_cache(small)->name, "kmalloc-128");
	kvfree(small);

	unsigned char *z = kvzalloc(5000, GFP_KERNEL);

	cr_assert(all_bytes(z, 0, 5000));
	kvfree(z);

	/* 4 MiB: still kmalloc (one order-10 block). */
	unsigned char *big = kvmalloc(4UL << 20, GFP_KERNEL);

	cr_assert_not_null(big);
	cr_assert_eq(ksize(big), 4UL << 20);
	memset(big, 0x5c, 4UL << 20);
	kvfree(big);

	/* 8 MiB is above KMALLOC_MAX_SIZE: vmalloc serves it, quietly. */
	printk_capture();
	big = kvmalloc(8UL << 20, GFP_KERNEL);
	cr_assert_not_null(big);
	cr_assert(is_vmalloc_addr(big));
	memset(big, 0x5d, 8UL << 20);
	kvfree(big);
	cr_assert_eq(printk_count(), 0, "kvmalloc printed: %s", printk_log);
}

/* ------------------------------------------------------------ kmem_exit */

Test(kmalloc, kmem_exit_reports_a_leaked_cache_object)
{
	struct kmem_cache *c = kmem_cache_create("leaky-cache", 48, 0, 0, NULL);
	struct kmem_cache *clean = kmem_cache_create("clean-cache", 48, 0, 0, NULL);
	static void *objs[1000];

	/* Shared arrays even on one CPU: freed objects wait there too, and are not leaks. */
	cr_assert_eq(kmem_proc_write("slabinfo", "leaky-cache 120 60 8"), 0);
	cr_assert_eq(kmem_proc_write("slabinfo", "clean-cache 120 60 8"), 0);
	for (int round = 0; round < 2; round++) {
		struct kmem_cache *cache = round ? clean : c;

		for (int i = 0; i < 1000; i++)
			objs[i] = kmem_cache_alloc(cache, GFP_KERNEL);
		for (int i = 0; i < 1000; i++)
			kmem_cache_free(cache, objs[i]);
		cr_assert_gt(cache->node[0]->shared->avail, 0);
	}
	cr_assert_not_null(kmem_cache_alloc(c, GFP_KERNEL));
	cr_assert_not_null(kmem_cache_alloc(c, GFP_KERNEL));
	printk_capture();
	kmem_exit();
	cr_assert(printk_logged("kmem_exit: cache leaky-cache still has 2 objects allocated"),
		  "log: %s", printk_log);
	cr_assert_not(printk_logged("clean-cache"), "a cache without leaks was reported: %s",
		      printk_log);
	/* kmem comes back up cleanly afterwards. */
	setup();
	void *p = kmalloc(10, GFP_KERNEL);

	cr_assert_not_null(p);
	kfree(p);
}
