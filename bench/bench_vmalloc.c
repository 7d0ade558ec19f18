// SPDX-License-Identifier: MIT
/*
 * bench_vmalloc: vmalloc + vfree of 64 KiB and 1 MiB next to mmap + munmap of
 * the same size, in the same run, each once untouched and once with every
 * page written ("touched"):
 *
 *   vmalloc   frames from the buddy allocator (the largest blocks it has),
 *             moved into the vmalloc range with mremap(MREMAP_DONTUNMAP) and
 *             moved back by vfree; the vmap_area treap finds the range;
 *   mmap      a fresh anonymous mapping from the kernel and munmap.
 *
 * A touched vmalloc writes frames that stay resident in the arena after
 * vfree, so the next vmalloc gets them without page faults; a touched mmap
 * faults in fresh zeroed pages every time. A third kmem row does the same
 * vmalloc in an arena fragmented so that every frame is a lone page (the case
 * vmalloc exists for): one mremap per page instead of one per block.
 *
 * Each case is calibrated to about 50 ms a run (10 ms with
 * KMEM_BENCH_QUICK=1), the cases of one size run in turn, and each figure is
 * the median of its runs. Progress to stderr, markdown to stdout.
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include <kmem/kmem.h>

#include "bench_common.h"

#define ARENA_SIZE (512UL << 20)
#define MAX_RUNS 21 /* at most BENCH_MAX_RUNS */

enum bench_case {
	VMALLOC_UNTOUCHED,
	VMALLOC_TOUCHED,
	MMAP_UNTOUCHED,
	MMAP_TOUCHED,
	VMALLOC_FRAGMENTED, /* measured last: the arena stays fragmented */
	NR_CASES
};

static const char *const case_names[NR_CASES] = {
	[VMALLOC_UNTOUCHED] = "kmem vmalloc + vfree, untouched",
	[VMALLOC_TOUCHED] = "kmem vmalloc + vfree, every page written",
	[VMALLOC_FRAGMENTED] = "kmem vmalloc + vfree, written, arena fragmented to lone pages",
	[MMAP_UNTOUCHED] = "mmap + munmap, untouched",
	[MMAP_TOUCHED] = "mmap + munmap, every page written",
};

/* The mmap case each row is compared with. */
static const enum bench_case peer[NR_CASES] = {
	[VMALLOC_UNTOUCHED] = MMAP_UNTOUCHED, [VMALLOC_TOUCHED] = MMAP_TOUCHED,
	[VMALLOC_FRAGMENTED] = MMAP_TOUCHED,  [MMAP_UNTOUCHED] = MMAP_UNTOUCHED,
	[MMAP_TOUCHED] = MMAP_TOUCHED,
};

static const size_t sizes[] = { 64UL << 10, 1UL << 20 };
#define NR_SIZES (sizeof(sizes) / sizeof(sizes[0]))

static double medians[NR_SIZES][NR_CASES];
static struct page **fragment_held;
static size_t nr_fragment_held;
#define MAX_BLOCKS 256
static struct {
	struct page *page;
	unsigned int order;
} blocks[MAX_BLOCKS];
static size_t nr_blocks;

static void touch(char *p, size_t size)
{
	for (size_t off = 0; off < size; off += PAGE_SIZE)
		((volatile char *)p)[off] = 1;
}

static __attribute__((noinline)) void vmalloc_pairs(size_t size, bool write, long n)
{
	for (long i = 0; i < n; i++) {
		char *p = vmalloc(size);

		if (!p)
			die("vmalloc(%zu) failed", size);
		if (write)
			touch(p, size);
		vfree(p);
	}
}

static __attribute__((noinline)) void mmap_pairs(size_t size, bool write, long n)
{
	for (long i = 0; i < n; i++) {
		char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			       0);

		if (p == MAP_FAILED)
			die("mmap: %s", strerror(errno));
		if (write)
			touch(p, size);
		munmap(p, size);
	}
}

/*
 * Take every free page at order 0 and give back every other one: what vmalloc
 * then gets are lone frames. The held pages are kept until the end, and so
 * are the few larger blocks the watermarks had kept out of reach.
 */
static void fragment_arena(void)
{
	size_t cap = ARENA_SIZE / PAGE_SIZE, n = 0;
	struct page *page, **pages = malloc(cap * sizeof(*pages));

	if (!pages)
		die("out of memory");
	while (n < cap && (page = alloc_pages(GFP_ATOMIC | __GFP_NOWARN, 0)))
		pages[n++] = page;
	/* Free the odd frames (by address), keeping the even ones: no two free frames touch. */
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		if (page_to_pfn(pages[i]) % 2)
			__free_pages(pages[i], 0);
		else
			pages[kept++] = pages[i];
	}
	drain_all_pages(NULL);
	/* The blocks the watermarks kept out of reach while the arena was full. */
	for (unsigned int order = MAX_PAGE_ORDER; order > 0; order--)
		while (nr_blocks < MAX_BLOCKS &&
		       (page = alloc_pages(GFP_KERNEL | __GFP_NOWARN, order))) {
			blocks[nr_blocks].page = page;
			blocks[nr_blocks++].order = order;
		}
	fragment_held = pages;
	nr_fragment_held = kept;
}

static void run_case(enum bench_case c, size_t size, long n)
{
	switch (c) {
	case VMALLOC_UNTOUCHED:
		vmalloc_pairs(size, false, n);
		break;
	case VMALLOC_TOUCHED:
	case VMALLOC_FRAGMENTED:
		vmalloc_pairs(size, true, n);
		break;
	case MMAP_UNTOUCHED:
		mmap_pairs(size, false, n);
		break;
	default:
		mmap_pairs(size, true, n);
		break;
	}
}

static double time_case(enum bench_case c, size_t size, long n)
{
	uint64_t t0 = now_ns();

	run_case(c, size, n);
	return (double)(now_ns() - t0) / (double)n;
}

static long calibrate(enum bench_case c, size_t size, double run_ns)
{
	long n = 8;
	double per;

	while ((per = time_case(c, size, n)) * (double)n < run_ns / 8 && n < (1L << 24))
		n *= 2;
	long pairs = (long)(run_ns / (per > 1 ? per : 1));

	return pairs < 8 ? 8 : pairs;
}

/* The cases [first, last] of one size, alternating, each the median of its runs. */
static void bench_cases(size_t si, int first, int last, int nr_runs, double run_ns)
{
	double ns[NR_CASES][MAX_RUNS];
	long pairs[NR_CASES];
	int nr = last - first + 1;

	for (int c = first; c <= last; c++)
		pairs[c] = calibrate((enum bench_case)c, sizes[si], run_ns);
	for (int r = 0; r < nr_runs; r++)
		for (int j = 0; j < nr; j++) {
			int c = first + (r + j) % nr;

			ns[c][r] = time_case((enum bench_case)c, sizes[si], pairs[c]);
		}
	for (int c = first; c <= last; c++) {
		medians[si][c] = summarize(ns[c], nr_runs).median;
		fprintf(stderr, "bench_vmalloc: %4zu KiB %-62s %9.0f ns/pair (median of %d)\n",
			sizes[si] >> 10, case_names[c], medians[si][c], nr_runs);
	}
}

static void print_markdown(int nr_runs)
{
	printf("## vmalloc (bench_vmalloc)\n\n");
	printf("vmalloc + vfree against mmap + munmap of the same size, same run, nanoseconds "
	       "per pair (median of %d runs). \"Written\" writes one byte in every page. A "
	       "vmalloc area's frames come from the buddy allocator and move into the vmalloc "
	       "range with mremap(MREMAP_DONTUNMAP), one call per run of contiguous frames; "
	       "the fragmented row has only lone frames (one mremap per page). Ratio: to the "
	       "mmap row of the same kind (below 1: vmalloc is faster).\n\n",
	       nr_runs);
	printf("| size | case | ns/pair | ratio to mmap |\n|---|---|---:|---:|\n");
	for (size_t si = 0; si < NR_SIZES; si++)
		for (int c = 0; c < NR_CASES; c++)
			printf("| %zu KiB | %s | %.0f | %.2f |\n", sizes[si] >> 10, case_names[c],
			       medians[si][c], medians[si][c] / medians[si][peer[c]]);
	printf("\n");
}

int main(void)
{
	bool quick = bench_quick();
	int nr_runs = quick ? 5 : MAX_RUNS;
	double run_ns = quick ? 10e6 : 50e6;

	bench_name = "bench_vmalloc";

	if (kmem_init(&(struct kmem_config){ .mem_size = ARENA_SIZE, .no_reporting = 1 }))
		die("kmem_init failed");
	for (size_t si = 0; si < NR_SIZES; si++) {
		bench_cases(si, VMALLOC_UNTOUCHED, MMAP_TOUCHED, nr_runs, run_ns);
	}
	fragment_arena();
	for (size_t si = 0; si < NR_SIZES; si++)
		bench_cases(si, VMALLOC_FRAGMENTED, VMALLOC_FRAGMENTED, nr_runs, run_ns);
	for (size_t i = 0; i < nr_fragment_held; i++)
		__free_pages(fragment_held[i], 0);
	for (size_t i = 0; i < nr_blocks; i++)
		__free_pages(blocks[i].page, blocks[i].order);
	free(fragment_held);
	kmem_exit();
	print_markdown(nr_runs);
	return 0;
}
