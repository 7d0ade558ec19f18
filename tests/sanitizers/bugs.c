// SPDX-License-Identifier: MIT
/*
 * sanitizer-bugs CASE: one memory bug in a kmem object, for run.sh to check
 * the report AddressSanitizer or Valgrind's memcheck gives for it
 * (docs/SANITIZERS.md). Before the bad access the program prints
 * "sanitizer-bugs: CASE at ADDR" with the address it is about to touch, so
 * the script can check the report names that address.
 *
 *   cache-uaf     read a kmem_cache object after kmem_cache_free
 *   kmalloc-uaf   read a kmalloc(100) object after kfree
 *   kmalloc-over  read byte 13 of a kmalloc(13) object (class padding)
 *   page-uaf      read a page after __free_pages (ASan only)
 *   double-free   kfree the same object twice (ASan: kmem's KASAN report)
 *   uninit        branch on a byte of a new kmalloc object (memcheck only)
 *   leak          lose the only pointer to a kmalloc object (memcheck only)
 *   clean         allocate, use and free correctly: no report at all
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kmem/kmem.h>

#define noinline __attribute__((noinline))

static volatile int sink;

/* The read the bug is about, kept by the compiler. */
static int touch(const volatile unsigned char *p)
{
	return *p;
}

static void announce(const char *what, const void *addr)
{
	fprintf(stderr, "sanitizer-bugs: %s at %p\n", what, addr);
	fflush(stderr);
}

/* The bad read of @what at @p, announced first. */
static int read_at(const char *what, const unsigned char *p)
{
	announce(what, p);
	sink = touch(p);
	return 0;
}

static int cache_uaf(void)
{
	struct kmem_cache *c = kmem_cache_create("sanitizer-objs", 96, 0, 0, NULL);
	unsigned char *obj = kmem_cache_alloc(c, GFP_KERNEL);

	memset(obj, 1, 96);
	kmem_cache_free(c, obj);
	return read_at("cache-uaf", obj + 8);
}

static int kmalloc_uaf(void)
{
	unsigned char *p = kmalloc(100, GFP_KERNEL);

	memset(p, 2, 100);
	kfree(p);
	return read_at("kmalloc-uaf", p + 16);
}

static int kmalloc_over(void)
{
	unsigned char *p = kmalloc(13, GFP_KERNEL);

	memset(p, 3, 13);
	read_at("kmalloc-over", p + 13);
	kfree(p);
	return 0;
}

static int page_uaf(void)
{
	struct page *page = alloc_pages(GFP_KERNEL, 1);
	unsigned char *p = page_address(page);

	memset(p, 4, 2 * PAGE_SIZE);
	__free_pages(page, 1);
	return read_at("page-uaf", p + PAGE_SIZE);
}

static int double_free(void)
{
	void *p = kmalloc(64, GFP_KERNEL);

	kfree(p);
	announce("double-free", p);
	kfree(p);
	/* kmem ignored the second free: the next two allocations are different objects. */
	void *a = kmalloc(64, GFP_KERNEL), *b = kmalloc(64, GFP_KERNEL);

	fprintf(stderr, "sanitizer-bugs: after the double free: %s\n",
		a != b ? "two different objects" : "THE SAME OBJECT TWICE");
	return a == b;
}

static int uninit(void)
{
	unsigned char *p = kmalloc(32, GFP_KERNEL);

	announce("uninit", p + 5);
	if (touch(p + 5)) /* the branch on an uninitialised byte */
		sink = 1;
	kfree(p);
	return 0;
}

/* noinline: no pointer to the objects is left in a register or in main's frame. */
static noinline void leak_some(void)
{
	for (int i = 0; i < 4; i++) {
		void *p = kmalloc(200, GFP_KERNEL);

		if (!i)
			announce("leak", p);
		memset(p, 0, 200);
	}
}

/* Overwrite the stack the leaking function used, so no stale copy hides the leak. */
static noinline void scrub_stack(void)
{
	volatile char junk[4096];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = 0;
}

/*
 * memcheck skips its leak search ("All heap blocks were freed -- no leaks are
 * possible") when no C heap block is live, whatever its mempools (kmem's
 * caches) hold: one malloc'd block keeps the search on. (kmem no longer
 * starts its reaper thread, whose TLS block used to be that block, for a few
 * slabs.)
 */
static void *volatile c_heap_block;

static int leak(void)
{
	c_heap_block = malloc(16);
	leak_some();
	scrub_stack();
	return 0;
}

static int clean(void)
{
	struct kmem_cache *c = kmem_cache_create("sanitizer-clean", 40, 0, 0, NULL);
	void *objs[64];
	int sum = 0;

	for (int i = 0; i < 64; i++) {
		objs[i] = i & 1 ? kmem_cache_zalloc(c, GFP_KERNEL) : kzalloc(40 + i, GFP_KERNEL);
		sum += touch(objs[i]);
	}
	char *s = kstrdup("kmem", GFP_KERNEL);

	s = krealloc(s, 300, GFP_KERNEL);
	sum += (int)strlen(s);
	kfree(s);
	for (int i = 0; i < 64; i++) {
		if (i & 1)
			kmem_cache_free(c, objs[i]);
		else
			kfree(objs[i]);
	}
	kmem_cache_destroy(c);
	announce("clean", NULL);
	return sum == 4 ? 0 : 1;
}

static const struct {
	const char *name;
	int (*fn)(void);
} cases[] = {
	{ "cache-uaf", cache_uaf },
	{ "kmalloc-uaf", kmalloc_uaf },
	{ "kmalloc-over", kmalloc_over },
	{ "page-uaf", page_uaf },
	{ "double-free", double_free },
	{ "uninit", uninit },
	{ "leak", leak },
	{ "clean", clean },
};

int main(int argc, char **argv)
{
	for (size_t i = 0; argc == 2 && i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!strcmp(argv[1], cases[i].name))
			return cases[i].fn();
	fprintf(stderr, "usage: %s CASE (see tests/sanitizers/bugs.c)\n", argv[0]);
	return 2;
}
