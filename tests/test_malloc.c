// kmem-test: threaded
// SPDX-License-Identifier: MIT
/*
 * The malloc replacement's functions (src/malloc/), called by their kmem_*
 * names: the preload's public names are these (or one jump to them), and linking them
 * directly lets the sanitizer builds run this too. What only a real preload
 * shows (the dynamic loader's first calls, C++, glibc's frees after a
 * thread's key destructors) is in tests/programs/run.sh.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "malloc/malloc.h"
#include "platform/os.h"
#include "slab_test.h"

#define KiB (1UL << 10)
#define MiB (1UL << 20)
#define GiB (1UL << 30)

/*
 * The bytes a pattern covers: the first 64 KiB, then one in every 4093 (the
 * sanitizer builds would spend minutes on every byte of the 48 MiB blocks).
 * The same offsets whatever the block's size, so a block filled at one size
 * can be checked at a smaller one.
 */
static size_t pattern_next(size_t i)
{
	if (i < 64 * 1024)
		return i + 1;
	return (i / 4093 + 1) * 4093;
}

/* Fill @p with a pattern derived from @seed; check it back with pattern_ok. */
static void pattern_fill(void *p, size_t n, unsigned int seed)
{
	unsigned char *c = p;

	for (size_t i = 0; i < n; i = pattern_next(i))
		c[i] = (unsigned char)(seed + i * 7);
}

static bool pattern_ok(const void *p, size_t n, unsigned int seed)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i = pattern_next(i))
		if (c[i] != (unsigned char)(seed + i * 7))
			return false;
	return true;
}

static void check_block(void *p, size_t size, size_t align)
{
	cr_assert_not_null(p, "allocation of %zu bytes (alignment %zu) failed", size, align);
	cr_assert_eq((uintptr_t)p % align, 0, "%p (%zu bytes) is not %zu-byte aligned", p, size,
		     align);
	cr_assert_geq(kmem_malloc_usable_size(p), size, "usable size %zu < %zu requested",
		      kmem_malloc_usable_size(p), size);
	pattern_fill(p, size, (unsigned int)size);
	cr_assert(pattern_ok(p, size, (unsigned int)size));
}

static const size_t sizes[] = {
	0,	 1,	  7,	   8,		9,	  15,	     16,	   17,
	24,	 31,	  33,	   48,		64,	  65,	     96,	   97,
	128,	 129,	  192,	   193,		255,	  256,	     257,	   511,
	513,	 1000,	  1024,	   2047,	2049,	  4095,	     4096,	   4097,
	8191,	 8192,	  8193,	   12 * KiB,	64 * KiB, 100 * KiB, MiB - 1,	   MiB + 1,
	2 * MiB, 3 * MiB, 4 * MiB, 4 * MiB + 1, 5 * MiB,  16 * MiB,  33 * MiB + 5,
};

Test(malloc, every_size_is_16_byte_aligned_and_usable)
{
	void *p[ARRAY_SIZE(sizes)];

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		p[i] = kmem_malloc(sizes[i]);
		check_block(p[i], sizes[i], MALLOC_ALIGN);
	}
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		cr_assert(pattern_ok(p[i], sizes[i], (unsigned int)sizes[i]),
			  "block of %zu bytes was overwritten", sizes[i]);
		kmem_free(p[i]);
	}
}

/* Between kmalloc's powers of two, the malloc-* caches: a 4200-byte block takes 5 KiB. */
Test(malloc, sizes_between_powers_of_two_use_the_malloc_classes)
{
	void *p = kmem_malloc(4368); /* sqlite's page buffer */
	struct slabinfo_line line;

	check_block(p, 4368, MALLOC_ALIGN);
	cr_assert_eq(kmem_malloc_usable_size(p), 4672, "4368 bytes took %zu",
		     kmem_malloc_usable_size(p));
	cr_assert(slabinfo_find(NULL, "malloc-4672", &line), "no malloc-4672 cache in slabinfo");
	cr_assert_geq(line.active_objs, 1);
	cr_assert_eq(line.objperslab, 7, "malloc-4672: %u objects per slab", line.objperslab);
	void *q = kmem_malloc(300);

	cr_assert_eq(kmem_malloc_usable_size(q), 384);
	/* memalign keeps to kmalloc's power-of-two classes, whose alignment it relies on. */
	void *a = kmem_memalign(256, 300);

	check_block(a, 300, 256);
	cr_assert_eq(kmem_malloc_usable_size(a), 512);
	kmem_free(a);
	kmem_free(q);
	kmem_free(p);
}

/*
 * Above kmalloc-8k, up to 64 KiB: malloc's large slab classes, each made on
 * its first use, filling its slab; a block freed stays in the thread's array
 * and is the next one of its class handed out. Above 64 KiB: whole pages.
 */
Test(malloc, sizes_up_to_64k_use_the_large_malloc_classes)
{
	static const struct {
		size_t size, usable;
		const char *cache;
		unsigned int per_slab;
		int pages;
	} cases[] = {
		{ 8193, 10880, "malloc-10880", 3, 8 }, { 10880, 10880, "malloc-10880", 3, 8 },
		{ 10881, 16384, "malloc-16k", 1, 4 },  { 16384, 16384, "malloc-16k", 1, 4 },
		{ 16385, 32768, "malloc-32k", 1, 8 },  { 32768, 32768, "malloc-32k", 1, 8 },
		{ 40000, 65536, "malloc-64k", 1, 16 }, { 65536, 65536, "malloc-64k", 1, 16 },
	};
	struct slabinfo_line line;

	cr_assert_not(slabinfo_find(NULL, "malloc-16k", &line), "made before its first use");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		void *p = kmem_malloc(cases[i].size);

		check_block(p, cases[i].size, MALLOC_ALIGN);
		cr_assert_eq(kmem_malloc_usable_size(p), cases[i].usable, "%zu bytes took %zu",
			     cases[i].size, kmem_malloc_usable_size(p));
		cr_assert(slabinfo_find(NULL, cases[i].cache, &line), "no %s", cases[i].cache);
		cr_assert_eq(line.objperslab, cases[i].per_slab, "%s: %u a slab", cases[i].cache,
			     line.objperslab);
		cr_assert_eq(line.pagesperslab, cases[i].pages, "%s: %d pages a slab",
			     cases[i].cache, line.pagesperslab);
		kmem_free(p);
		void *again = kmem_malloc(cases[i].size);

		cr_assert_eq(again, p, "%s: the block just freed is not the next one",
			     cases[i].cache);
		kmem_free(again);
	}
	void *pages = kmem_malloc(64 * KiB + 1);

	check_block(pages, 64 * KiB + 1, PAGE_SIZE);
	cr_assert_eq(kmem_malloc_usable_size(pages), 128 * KiB, "above 64 KiB: an order-5 block");
	kmem_free(pages);
}

/* Threads racing to make the same large class: one cache, the others' destroyed unused. */
static void *first_16k(void *arg)
{
	void **out = arg;

	*out = kmem_malloc(12 * KiB);
	return NULL;
}

Test(malloc, a_large_class_made_by_racing_threads_is_made_once)
{
	enum { NR = 6 };
	pthread_t th[NR];
	void *p[NR];

	for (int i = 0; i < NR; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, first_16k, &p[i]), 0);
	for (int i = 0; i < NR; i++)
		pthread_join(th[i], NULL);
	char *text = slabinfo_read();
	unsigned int found = 0;

	for (char *line = strstr(text, "\nmalloc-16k "); line;
	     line = strstr(line + 1, "\nmalloc-16k "))
		found++;
	cr_assert_eq(found, 1, "malloc-16k listed %u times", found);
	for (int i = 0; i < NR; i++) {
		check_block(p[i], 12 * KiB, MALLOC_ALIGN);
		cr_assert_eq(kmem_malloc_usable_size(p[i]), 16 * KiB);
		kmem_free(p[i]);
	}
}

/*
 * kmem_exit() destroys the caches malloc's table points at: the table is
 * forgotten with them, and the next allocation (or kmem_init) brings kmem
 * and malloc's classes up again.
 */
Test(malloc, kmem_exit_then_malloc_starts_again)
{
	struct kmem_config cfg = { .mem_size = 64 * MiB };
	struct slabinfo_line line;
	void *p = kmem_malloc(4368);

	kmem_free(p);
	kmem_exit();
	cr_assert(!atomic_load(&kmem_initialised));
	p = kmem_malloc(4368);
	check_block(p, 4368, MALLOC_ALIGN);
	cr_assert_eq(kmem_malloc_usable_size(p), 4672);
	cr_assert(slabinfo_find(NULL, "malloc-4672", &line), "no malloc-4672 after kmem_exit");
	cr_assert_geq(line.active_objs, 1);
	kmem_free(p);
	kmem_exit();
	cr_assert_eq(kmem_init(&cfg), 0);
	p = kmem_malloc(300);
	check_block(p, 300, MALLOC_ALIGN);
	cr_assert_eq(kmem_malloc_usable_size(p), 384);
	kmem_free(p);
	/* The large classes too: forgotten with their caches, made again on first use. */
	p = kmem_malloc(20 * KiB);
	kmem_free(p);
	kmem_exit();
	p = kmem_malloc(20 * KiB);
	check_block(p, 20 * KiB, MALLOC_ALIGN);
	cr_assert_eq(kmem_malloc_usable_size(p), 32 * KiB);
	cr_assert(slabinfo_find(NULL, "malloc-32k", &line), "no malloc-32k after kmem_exit");
	kmem_free(p);
}

Test(malloc, zero_size_gives_distinct_pointers)
{
	void *a = kmem_malloc(0), *b = kmem_malloc(0);

	cr_assert(a && b && a != b);
	cr_assert_geq(kmem_malloc_usable_size(a), 1);
	kmem_free(a);
	kmem_free(b);
}

Test(malloc, null_and_zero_edge_cases)
{
	kmem_free(NULL);
	void *p = kmem_realloc(NULL, 100);

	check_block(p, 100, MALLOC_ALIGN);
	errno = 0;
	cr_assert_null(kmem_realloc(p, 0), "realloc(p, 0) frees and returns NULL, as glibc");
	cr_assert_eq(kmem_malloc_usable_size(NULL), 0);
	p = kmem_reallocarray(NULL, 10, 10);
	check_block(p, 100, MALLOC_ALIGN);
	kmem_free(p);
}

Test(malloc, too_big_fails_with_enomem)
{
	errno = 0;
	cr_assert_null(kmem_malloc(SIZE_MAX));
	cr_assert_eq(errno, ENOMEM);
	errno = 0;
	cr_assert_null(kmem_malloc(SIZE_MAX - 4096));
	cr_assert_eq(errno, ENOMEM);
	errno = 0;
	cr_assert_null(kmem_calloc(SIZE_MAX / 2, 3), "calloc's multiplication overflows");
	cr_assert_eq(errno, ENOMEM);
	errno = 0;
	cr_assert_null(kmem_calloc(1UL << 33, 1UL << 33));
	cr_assert_eq(errno, ENOMEM);
	errno = 0;
	cr_assert_null(kmem_reallocarray(NULL, SIZE_MAX / 2, 3));
	cr_assert_eq(errno, ENOMEM);
	void *p = kmem_malloc(64);

	errno = 0;
	cr_assert_null(kmem_realloc(p, SIZE_MAX - 100));
	cr_assert_eq(errno, ENOMEM);
	cr_assert_geq(kmem_malloc_usable_size(p), 64, "a failed realloc keeps the old block");
	kmem_free(p);
}

Test(malloc, calloc_zeroes_reused_memory)
{
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t n = sizes[i] ? sizes[i] : 1;
		unsigned char *d = kmem_malloc(n);

		memset(d, 0xa5, n);
		kmem_free(d);
		unsigned char *z = kmem_calloc(1, n);

		cr_assert_not_null(z);
		for (size_t k = 0; k < n; k = pattern_next(k))
			expect(z[k] == 0, "calloc(%zu) byte %zu is %#x", n, k, z[k]);
		kmem_free(z);
	}
}

Test(malloc, calloc_of_a_gigabyte_is_zero_and_untouched)
{
	size_t before = os_rss();
	unsigned char *p = kmem_calloc(1, GiB);

	cr_assert_not_null(p, "calloc(1 GiB) failed");
	cr_assert_eq((uintptr_t)p % MALLOC_ALIGN, 0);
	for (size_t off = 0; off < GiB; off += 64 * MiB + 4096)
		expect(p[off] == 0, "byte %zu is not zero", off);
	cr_assert_eq(p[GiB - 1], 0);
	/* Reading touched only a few pages: the gigabyte was never written. */
	cr_assert_lt(os_rss(), before + 256 * MiB, "calloc touched the memory: rss %zu -> %zu",
		     before, os_rss());
	cr_assert_geq(kmem_malloc_usable_size(p), GiB);
	p[GiB / 2] = 1;
	kmem_free(p);
}

Test(malloc, posix_memalign_every_alignment)
{
	for (size_t align = sizeof(void *); align <= 8 * MiB; align <<= 1) {
		const size_t want[] = { 1, align - 1, align, align + 1, 3 * align + 5, 100 };

		for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
			void *p = NULL;
			int ret = kmem_posix_memalign(&p, align, want[i]);

			cr_assert_eq(ret, 0, "posix_memalign(%zu, %zu) = %d", align, want[i], ret);
			check_block(p, want[i], align);
			kmem_free(p);
		}
	}
}

Test(malloc, posix_memalign_rejects_bad_alignments)
{
	const size_t bad[] = { 0, 1, 2, 4, 3, 24, 48, 100, 4097, SIZE_MAX };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		void *p = (void *)0x1;

		cr_assert_eq(kmem_posix_memalign(&p, bad[i], 64), EINVAL,
			     "posix_memalign accepted alignment %zu", bad[i]);
		cr_assert_eq(p, (void *)0x1, "posix_memalign wrote *memptr on failure");
	}
	void *p = (void *)0x1;

	cr_assert_eq(kmem_posix_memalign(&p, 64, SIZE_MAX - 10), ENOMEM);
	cr_assert_eq(p, (void *)0x1);
}

Test(malloc, memalign_aligned_alloc_valloc_pvalloc)
{
	void *p = kmem_memalign(48, 100); /* glibc rounds 48 up to 64 */

	check_block(p, 100, 64);
	kmem_free(p);
	p = kmem_memalign(1, 10);
	check_block(p, 10, MALLOC_ALIGN);
	kmem_free(p);
	errno = 0;
	cr_assert_null(kmem_aligned_alloc(24, 48), "aligned_alloc accepted alignment 24");
	cr_assert_eq(errno, EINVAL);
	p = kmem_aligned_alloc(256, 1000);
	check_block(p, 1000, 256);
	kmem_free(p);
	p = kmem_valloc(10);
	check_block(p, 10, PAGE_SIZE);
	kmem_free(p);
	p = kmem_pvalloc(PAGE_SIZE + 1);
	check_block(p, 2 * PAGE_SIZE, PAGE_SIZE);
	kmem_free(p);
	p = kmem_pvalloc(0);
	check_block(p, PAGE_SIZE, PAGE_SIZE);
	kmem_free(p);
}

Test(malloc, realloc_grows_and_shrinks_across_classes_keeping_contents)
{
	size_t size = 1;
	unsigned char *p = kmem_malloc(size);

	pattern_fill(p, size, 3);
	/* Up through the slab classes, the page allocator and into huge mappings. */
	while (size < 48 * MiB) {
		size_t next = size + size / 2 + 1;

		p = kmem_realloc(p, next);
		cr_assert_not_null(p, "realloc to %zu failed", next);
		cr_assert_eq((uintptr_t)p % MALLOC_ALIGN, 0);
		cr_assert(pattern_ok(p, size, 3), "realloc %zu -> %zu lost the contents", size,
			  next);
		pattern_fill(p, next, 3);
		size = next;
	}
	/* And back down. */
	while (size > 1) {
		size_t next = size / 3;

		next = next ? next : 1;
		p = kmem_realloc(p, next);
		cr_assert_not_null(p, "realloc down to %zu failed", next);
		cr_assert(pattern_ok(p, next, 3), "realloc %zu -> %zu lost the contents", size,
			  next);
		cr_assert_geq(kmem_malloc_usable_size(p), next);
		size = next;
	}
	kmem_free(p);
}

/*
 * A block that grows past 256 KiB moves into a mapping of its own and grows
 * with mremap (no freed buddy blocks left behind); below 256 KiB it moves
 * back to kmalloc.
 */
/*
 * A block that grows moves to at least a quarter more than it held, so a
 * buffer grown a byte at a time moves a logarithmic number of times.
 */
Test(malloc, realloc_growth_leaves_a_quarter_of_room)
{
	char *p = kmem_malloc(1);
	unsigned int moves = 0;

	cr_assert_not_null(p);
	for (size_t size = 2; size <= 128 * KiB; size++) {
		size_t old = kmem_malloc_usable_size(p);
		char *q = kmem_realloc(p, size);

		cr_assert_not_null(q, "realloc to %zu failed", size);
		q[size - 1] = (char)size;
		if (q != p) {
			moves++;
			cr_assert_geq(kmem_malloc_usable_size(q), old + old / 4,
				      "grew from %zu to %zu bytes: no room to grow in", old,
				      kmem_malloc_usable_size(q));
			for (size_t i = 2; i < size; i++) /* byte i - 1 was written at size i */
				expect(q[i - 1] == (char)i, "byte %zu lost when moving to %zu",
				       i - 1, size);
		}
		p = q;
	}
	cr_assert_leq(moves, 40, "%u moves from 1 byte to 128 KiB", moves);
	kmem_free(p);
}

Test(malloc, realloc_growing_past_256k_moves_to_a_mapping)
{
	struct mallinfo2 before = kmem_mallinfo2();
	void *p = kmem_malloc(128 * KiB);

	pattern_fill(p, 128 * KiB, 5);
	cr_assert_eq(kmem_mallinfo2().hblks, before.hblks, "128 KiB is not a buddy block");
	p = kmem_realloc(p, 300 * KiB);
	cr_assert_not_null(p);
	cr_assert(pattern_ok(p, 128 * KiB, 5), "the move to a mapping lost the contents");
	cr_assert_eq(kmem_mallinfo2().hblks, before.hblks + 1, "300 KiB by realloc: no mapping");
	pattern_fill(p, 300 * KiB, 6);
	p = kmem_realloc(p, 3 * MiB);
	cr_assert_not_null(p);
	cr_assert(pattern_ok(p, 300 * KiB, 6));
	cr_assert_eq(kmem_mallinfo2().hblks, before.hblks + 1, "mremap'd, not a new mapping");
	cr_assert_geq(kmem_malloc_usable_size(p), 3 * MiB);
	p = kmem_realloc(p, 100 * KiB);
	cr_assert_not_null(p);
	cr_assert(pattern_ok(p, 100 * KiB, 6));
	cr_assert_eq(kmem_mallinfo2().hblks, before.hblks, "100 KiB still in a mapping");
	kmem_free(p);
}

Test(malloc, realloc_shrinking_a_big_block_gives_memory_back)
{
	void *p = kmem_malloc(2 * MiB);
	void *q = kmem_realloc(p, 100);

	cr_assert_not_null(q);
	cr_assert_lt(kmem_malloc_usable_size(q), 4096, "2 MiB -> 100 bytes kept %zu bytes",
		     kmem_malloc_usable_size(q));
	q = kmem_realloc(q, 90); /* a small shrink stays in place */
	cr_assert_not_null(q);
	kmem_free(q);
}

/* Not from kmem: free ignores them, realloc copies them, usable size is 0. */
Test(malloc, foreign_pointers_are_ignored)
{
	static char buf[256] __aligned(16);
	char stack[64];
	unsigned long before = kmem_foreign_frees();
	void *glibc = malloc(100);

	kmem_malloc(1); /* initialised */
	memset(buf, 'x', sizeof(buf));
	kmem_free(buf);
	kmem_free(stack);
	kmem_free(glibc);
	cr_assert_eq(kmem_foreign_frees(), before + 3);
	cr_assert_eq(buf[10], 'x', "freeing a foreign pointer wrote to it");
	cr_assert_eq(kmem_malloc_usable_size(buf), 0);
	char *copy = kmem_realloc(buf, 200);

	cr_assert_not_null(copy);
	cr_assert_eq(copy[199], 'x', "realloc of a foreign pointer did not copy it");
	kmem_free(copy);
	free(glibc);
}

/* A free into the middle of a kmem object is reported by kfree and changes nothing. */
Test(malloc, interior_pointer_free_is_reported)
{
	char *p = kmem_malloc(128);

	printk_capture();
	unsigned long bugs = kmem_error_count();

	kmem_free(p + 16);
	cr_assert_eq(kmem_error_count(), bugs + 1);
	cr_assert(printk_logged("not the start of an object"), "log: %s", printk_log);
	kmem_free(p);
}

/* Out of memory: NULL and ENOMEM, and no kernel allocation-failure warning per call. */
Test(malloc, out_of_memory_sets_errno_quietly)
{
	struct kmem_config cfg = { .mem_size = 8 * MiB, .no_reporting = 1 };
	void *blocks[4096];
	size_t n = 0;

	cr_assert_eq(kmem_init(&cfg), 0);
	printk_capture();
	for (; n < ARRAY_SIZE(blocks); n++) {
		errno = 0;
		blocks[n] = kmem_malloc(256 * KiB);
		if (!blocks[n])
			break;
	}
	cr_assert_lt(n, ARRAY_SIZE(blocks), "8 MiB of memory never ran out");
	cr_assert_eq(errno, ENOMEM);
	errno = 0;
	cr_assert_null(kmem_malloc(1 * MiB));
	cr_assert_eq(errno, ENOMEM);
	cr_assert_eq(printk_count(), 0, "out of memory printed: %s", printk_log);
	while (n)
		kmem_free(blocks[--n]);
	void *p = kmem_malloc(256 * KiB);

	cr_assert_not_null(p, "memory freed is not reused");
	kmem_free(p);
}

Test(malloc, trim_stats_and_mallinfo)
{
	void *p[64];

	for (int i = 0; i < 64; i++)
		p[i] = kmem_malloc(64 * KiB);
	void *huge = kmem_malloc(8 * MiB);
	struct mallinfo2 mi = kmem_mallinfo2();

	cr_assert_geq(mi.arena, 64 * 64 * KiB);
	cr_assert_eq(mi.hblks, 1);
	cr_assert_geq(mi.hblkhd, 8 * MiB);
	for (int i = 0; i < 64; i++)
		kmem_free(p[i]);
	kmem_free(huge);
	kmem_malloc_trim(0);
	struct mallinfo2 after = kmem_mallinfo2();

	cr_assert_eq(after.hblks, 0);
	cr_assert_lt(after.arena, mi.arena);
	cr_assert_lt(after.fordblks, 4 * MiB, "%zu bytes free but resident after malloc_trim",
		     after.fordblks);

	/* malloc_stats writes to standard error: point it at a file for a moment. */
	FILE *f = tmpfile();
	int saved = dup(2);

	cr_assert(f && saved >= 0);
	dup2(fileno(f), 2);
	kmem_malloc_stats();
	dup2(saved, 2);
	close(saved);
	char out[8192];
	size_t len = pread(fileno(f), out, sizeof(out) - 1, 0);

	out[len] = '\0';
	fclose(f);
	cr_assert(strstr(out, "slabinfo - version: 2.1"), "malloc_stats printed: %.300s", out);
	cr_assert(strstr(out, "Node 0, zone"), "no buddyinfo in: %.300s", out);
}

/* ------------------------------------------------------------ threads */

#define NR_THREADS 8
#define THREAD_OPS 20000
#define MAILBOX 64

/* Each thread frees what its left neighbour allocated: every free is cross-thread. */
struct mailbox {
	pthread_mutex_t lock;
	void *ptr[MAILBOX];
	size_t size[MAILBOX];
	unsigned int n;
};

static struct mailbox mailboxes[NR_THREADS];
static atomic_int worker_errors;

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	struct mailbox *out = &mailboxes[(id + 1) % NR_THREADS], *in = &mailboxes[id];
	uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);

	for (int op = 0; op < THREAD_OPS; op++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		size_t size = (rng >> 33) % (op % 64 == 0 ? 300 * KiB : 2048);
		void *p = kmem_malloc(size);

		if (!p || (uintptr_t)p % MALLOC_ALIGN) {
			atomic_fetch_add(&worker_errors, 1);
			continue;
		}
		pattern_fill(p, min(size, (size_t)64), (unsigned int)size);
		pthread_mutex_lock(&out->lock);
		if (out->n < MAILBOX) {
			out->ptr[out->n] = p;
			out->size[out->n++] = size;
			p = NULL;
		}
		pthread_mutex_unlock(&out->lock);
		kmem_free(p);
		pthread_mutex_lock(&in->lock);
		while (in->n) {
			in->n--;
			if (!pattern_ok(in->ptr[in->n], min(in->size[in->n], (size_t)64),
					(unsigned int)in->size[in->n]))
				atomic_fetch_add(&worker_errors, 1);
			kmem_free(in->ptr[in->n]);
		}
		pthread_mutex_unlock(&in->lock);
	}
	return NULL;
}

static void run_workers(void)
{
	pthread_t t[NR_THREADS];

	for (int i = 0; i < NR_THREADS; i++) {
		pthread_mutex_init(&mailboxes[i].lock, NULL);
		mailboxes[i].n = 0;
	}
	for (int i = 0; i < NR_THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i), 0);
	for (int i = 0; i < NR_THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < NR_THREADS; i++)
		while (mailboxes[i].n)
			kmem_free(mailboxes[i].ptr[--mailboxes[i].n]);
}

Test(malloc_threads, cross_thread_frees_and_thread_exits)
{
	kmem_free(kmem_malloc(1));
	unsigned int online = pcpu_nr_online();

	for (int round = 0; round < 3; round++)
		run_workers();
	cr_assert_eq(atomic_load(&worker_errors), 0, "%d bad blocks", atomic_load(&worker_errors));
	cr_assert_leq(pcpu_nr_online(), online + 1,
		      "exited threads kept their per-CPU units (%u online, %u before)",
		      pcpu_nr_online(), online);
}

/*
 * glibc frees a thread's buffers after the key destructors ran, kmem's among
 * them: allocating and freeing then must work and must not take a unit that
 * nobody gives back. A key created after kmem's runs its destructor later.
 */
static pthread_key_t late_key;
static atomic_int late_ok;

static void late_destructor(void *arg)
{
	void *p = kmem_malloc(100);

	kmem_free(arg);
	if (p) {
		memset(p, 1, 100);
		kmem_free(p);
		atomic_fetch_add(&late_ok, 1);
	}
}

static void *late_thread(void *arg)
{
	pthread_setspecific(late_key, kmem_malloc(64));
	return arg;
}

Test(malloc_threads, allocation_after_the_thread_gave_its_unit_back)
{
	kmem_free(kmem_malloc(1)); /* kmem's key first */
	cr_assert_eq(pthread_key_create(&late_key, late_destructor), 0);
	unsigned int online = pcpu_nr_online();

	for (int i = 0; i < 16; i++) {
		pthread_t t;

		cr_assert_eq(pthread_create(&t, NULL, late_thread, NULL), 0);
		pthread_join(t, NULL);
	}
	cr_assert_eq(atomic_load(&late_ok), 16);
	cr_assert_leq(pcpu_nr_online(), online + 1, "units taken after thread exit: %u, was %u",
		      pcpu_nr_online(), online);
}

/* ------------------------------------------------------------ fork */

static atomic_bool spin_stop;

static void *spinner(void *arg)
{
	while (!atomic_load(&spin_stop)) {
		void *p[32];

		for (int i = 0; i < 32; i++)
			p[i] = kmem_malloc((size_t)(i * 97) % 3000);
		void *h = kmem_malloc(5 * MiB);

		for (int i = 0; i < 32; i++)
			kmem_free(p[i]);
		kmem_free(h);
	}
	return arg;
}

/* The child: only plain checks and _exit, no Criterion asserts. */
static int child_work(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		void *p = kmem_malloc(sizes[i]);

		if (!p || (uintptr_t)p % MALLOC_ALIGN)
			return 1;
		pattern_fill(p, sizes[i], 9);
		if (!pattern_ok(p, sizes[i], 9))
			return 2;
		p = kmem_realloc(p, sizes[i] * 2 + 1);
		if (!p)
			return 3;
		kmem_free(p);
	}
	return 0;
}

Test(malloc_threads, fork_in_a_threaded_process)
{
	pthread_t t[3];
	void *kept = kmem_malloc(1000);

	pattern_fill(kept, 1000, 5);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, spinner, NULL), 0);
	for (int f = 0; f < 8; f++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(pattern_ok(kept, 1000, 5) ? child_work() : 10);
		cr_assert_gt(pid, 0, "fork failed");
		int status;

		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "fork %d: child status %#x", f, status);
		cr_assert_eq(child_work(), 0, "the parent cannot allocate after fork %d", f);
	}
	atomic_store(&spin_stop, true);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	cr_assert(pattern_ok(kept, 1000, 5));
	kmem_free(kept);
}
