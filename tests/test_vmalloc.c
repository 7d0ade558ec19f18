// kmem-test: threaded
// SPDX-License-Identifier: MIT
/*
 * vmalloc (seed 002): sizes from one byte to 64 MiB with their contents kept,
 * vzalloc, success in an arena too fragmented for an order-4 block,
 * vmalloc_to_page and the frames really being the arena's, fork
 * copy-on-write, every frame coming back on vfree, thousands of areas in
 * random order against the vmap_area tree's invariants, vmap/vunmap, kvmalloc's
 * fallback, bad input, out of memory, /proc, leaks at kmem_exit, the
 * contiguous mode of a caller's buffer, and threads.
 *
 * A 256 MiB arena with reporting off (no background thread moves blocks while
 * buddyinfo is read); the fragmentation tests use 16 MiB.
 */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mm/kasan.h"
#include "page_test.h"

#define ARENA_SIZE (256UL << 20)
#define SMALL_ARENA (16UL << 20)

static void setup(void)
{
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = ARENA_SIZE, .no_reporting = 1 }),
		     0);
}

static void teardown(void)
{
	kmem_exit();
	kmem_set_printk(NULL);
}

TestSuite(vmalloc, .init = setup, .fini = teardown);

/* ------------------------------------------------------------ helpers */

/* Stamp every 512th byte and the last one (unless it is one of those). */
static void fill(unsigned char *p, size_t size, unsigned int seed)
{
	for (size_t i = 0; i < size; i += 512)
		p[i] = (unsigned char)(seed + i / 512);
	if ((size - 1) % 512)
		p[size - 1] = (unsigned char)~seed;
}

/* Also reads frames vmalloc gave back: not checked by ASan. */
static __no_sanitize_address bool filled(const unsigned char *p, size_t size, unsigned int seed)
{
	for (size_t i = 0; i < size; i += 512)
		if (p[i] != (unsigned char)(seed + i / 512))
			return false;
	return !((size - 1) % 512) || p[size - 1] == (unsigned char)~seed;
}

#define VMA_SLACK 8

/* Mappings this process has (/proc/self/maps lines): what vm.max_map_count limits. */
static int count_vmas(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0;
	int c;

	cr_assert_not_null(f);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static unsigned long meminfo_kb(const char *field)
{
	char *p = strstr(proc_read("meminfo"), field);

	cr_assert_not_null(p, "no %s in meminfo", field);
	return strtoul(p + strlen(field), NULL, 10);
}

/* A small arena whose reserve is tiny, so that atomic allocations can take nearly all of it. */
static const struct kmem_config small_config = {
	.mem_size = SMALL_ARENA,
	.no_reporting = 1,
	.min_free_kbytes = 8,
};

static int cmp_page(const void *a, const void *b)
{
	const struct page *x = *(struct page *const *)a, *y = *(struct page *const *)b;

	return x < y ? -1 : x > y;
}

/*
 * Take every page at order 0, then give back every other frame: no free
 * block larger than one page is left anywhere. Returns the frames still
 * held, in @held (sorted), and their number.
 */
static size_t fragment_arena(struct page ***held)
{
	size_t cap = SMALL_ARENA / PAGE_SIZE, n = 0, kept = 0;
	struct page **pages = calloc(cap, sizeof(*pages));
	/* Then the reserve too: reclaim raising the free count must not uncover a whole block. */
	const gfp_t gfps[] = { GFP_ATOMIC | __GFP_NOWARN, GFP_ATOMIC | GFP_DMA | __GFP_NOWARN,
			       GFP_ATOMIC | __GFP_MEMALLOC | __GFP_NOWARN,
			       GFP_ATOMIC | GFP_DMA | __GFP_MEMALLOC | __GFP_NOWARN };

	cr_assert_not_null(pages);
	for (size_t g = 0; g < ARRAY_SIZE(gfps); g++) {
		struct page *page;

		drain_all_pages(NULL);
		while (n < cap && (page = alloc_pages(gfps[g], 0)))
			pages[n++] = page;
	}
	qsort(pages, n, sizeof(*pages), cmp_page);
	for (size_t i = 0; i < n; i++) {
		if (i % 2)
			__free_pages(pages[i], 0);
		else
			pages[kept++] = pages[i];
	}
	drain_all_pages(NULL);
	*held = pages;
	return kept;
}

static void release_frames(struct page **pages, size_t n)
{
	for (size_t i = 0; i < n; i++)
		__free_pages(pages[i], 0);
	free(pages);
}

/* ------------------------------------------------------------ sizes and contents */

Test(vmalloc, sizes_from_one_byte_to_64_mib_keep_their_contents)
{
	static const size_t sizes[] = {
		1,	    100,       PAGE_SIZE - 1,	PAGE_SIZE, PAGE_SIZE + 1,   3 * PAGE_SIZE,
		64 << 10,   1UL << 20, (1UL << 20) + 3, 4UL << 20, (4UL << 20) + 1, 16UL << 20,
		64UL << 20,
	};
	void *p[ARRAY_SIZE(sizes)];
	unsigned long used_kb = 0;

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		used_kb += ALIGN(sizes[i], PAGE_SIZE) >> 10;
		p[i] = vmalloc(sizes[i]);
		cr_assert_not_null(p[i], "vmalloc(%zu) failed", sizes[i]);
		cr_assert(is_vmalloc_addr(p[i]) && !virt_addr_valid(p[i]));
		cr_assert_eq((uintptr_t)p[i] % PAGE_SIZE, 0);
		fill(p[i], sizes[i], (unsigned int)i);
	}
	/* Every area whole after all the others were written: no overlap. */
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		cr_assert(filled(p[i], sizes[i], (unsigned int)i), "vmalloc(%zu) lost its contents",
			  sizes[i]);
	cr_assert_eq(meminfo_kb("VmallocUsed:"), used_kb);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		vfree(p[i]);
	cr_assert_eq(meminfo_kb("VmallocUsed:"), 0);
	cr_assert_eq(vmap_area_check_tree(), 0);
}

Test(vmalloc, vzalloc_zeroes_recycled_frames)
{
	size_t size = 2UL << 20;
	unsigned char *p = vmalloc(size);

	cr_assert_not_null(p);
	memset(p, 0xa5, size);
	vfree(p);
	p = vzalloc(size);
	cr_assert_not_null(p);
	for (size_t i = 0; i < size; i++)
		expect(!p[i], "vzalloc: byte %zu is %#x", i, p[i]);
	vfree(p);
	p = __vmalloc(size, GFP_KERNEL | __GFP_ZERO);
	cr_assert_not_null(p);
	cr_assert(!p[0] && !p[size - 1]);
	vfree(p);
}

/* ------------------------------------------------------------ fragmentation */

Test(vmalloc_small, succeeds_where_no_order_4_block_is_left)
{
	cr_assert_eq(kmem_init(&small_config), 0);
	struct page **held;
	size_t nr_held = fragment_arena(&held);
	size_t size = 1UL << 20;

	cr_assert_null(alloc_pages(GFP_KERNEL | __GFP_NOWARN, 4), "an order-4 block is left");
	cr_assert_null(alloc_pages(GFP_KERNEL | __GFP_NOWARN, 1), "an order-1 block is left");
	int vmas = count_vmas();
	unsigned char *p = vmalloc(size);

	cr_assert_not_null(p, "vmalloc of 1 MiB failed in a fragmented arena");
	int added = count_vmas() - vmas;

	fill(p, size, 7);
	cr_assert(filled(p, size, 7));
	/* Scattered frames: no two pages of the area are neighbours in the arena. */
	for (size_t off = PAGE_SIZE; off < size; off += PAGE_SIZE)
		expect(vmalloc_to_page(p + off) != vmalloc_to_page(p + off - PAGE_SIZE) + 1,
		       "pages at %zu are contiguous frames", off);
	/*
	 * One mapping per lone frame. The margin is for the test machinery's own
	 * mappings (Criterion's and the sanitizers' threads and allocators).
	 */
	cr_log_info("vmalloc of %zu pages from scattered frames: %d more mappings (VMAs)",
		    size / PAGE_SIZE, added);
	cr_assert_leq(added, (int)(size / PAGE_SIZE) + VMA_SLACK, "%d more mappings", added);
	vfree(p);
	added = count_vmas() - vmas;
	cr_assert_leq(added, VMA_SLACK, "vfree left %d mappings", added);
	release_frames(held, nr_held);
	kmem_exit();
}

Test(vmalloc_small, kvmalloc_falls_back_to_vmalloc_when_kmalloc_fails)
{
	cr_assert_eq(kmem_init(&small_config), 0);
	struct page **held;
	size_t nr_held = fragment_arena(&held);

	printk_capture();
	void *p = kvmalloc(64 << 10, GFP_KERNEL);

	cr_assert_not_null(p);
	cr_assert(is_vmalloc_addr(p), "kvmalloc(64K) in a fragmented arena is not vmalloc");
	cr_assert_eq(printk_nr_msgs, 0, "kvmalloc warned: %s", printk_log);
	memset(p, 1, 64 << 10);
	kvfree(p);
	release_frames(held, nr_held);
	kmem_exit();
}

/* ------------------------------------------------------------ the frames */

Test(vmalloc, vmalloc_to_page_gives_the_arena_frames)
{
	size_t size = 3UL << 20, nr = size / PAGE_SIZE;
	unsigned char *p = vmalloc(size);
	struct page **pages = calloc(nr, sizeof(*pages));

	cr_assert_not_null(p);
	fill(p, size, 3);
	for (size_t i = 0; i < nr; i++) {
		pages[i] = vmalloc_to_page(p + i * PAGE_SIZE);
		cr_assert_not_null(pages[i]);
		cr_assert_eq(vmalloc_to_page(p + i * PAGE_SIZE + 123), pages[i]);
		cr_assert_eq(vmalloc_to_pfn(p + i * PAGE_SIZE), page_to_pfn(pages[i]));
		cr_assert(virt_addr_valid(page_address(pages[i])), "frame %zu is not the arena's",
			  i);
		cr_assert(PageVmalloc(pages[i]));
	}
	qsort(pages, nr, sizeof(*pages), cmp_page);
	for (size_t i = 1; i < nr; i++)
		cr_assert_neq(pages[i], pages[i - 1], "two pages share a frame");
	cr_assert_null(vmalloc_to_page(p + size + PAGE_SIZE / 2), "the guard page has a frame");
	cr_assert_null(vmalloc_to_page(&size));
	/* vfree moves the contents back into the frames themselves. */
	unsigned char *first = page_address(vmalloc_to_page(p));

	vfree(p);
	cr_assert(filled(first, PAGE_SIZE - 1, 3) || filled(first, 1, 3),
		  "the frame does not hold what was written at the vmalloc address");
	free(pages);
}

Test(vmalloc, vfree_returns_every_frame)
{
	static const size_t sizes[] = { 1, 5000, 64 << 10, 1 << 20, 3 << 20, 9 << 20 };
	unsigned long before_n[NR_PAGE_ORDERS], before_d[NR_PAGE_ORDERS], after[NR_PAGE_ORDERS];
	void *p[ARRAY_SIZE(sizes)];

	for (int round = 0; round < 2; round++) {
		if (round == 1) { /* the first round warmed the slab caches of the metadata */
			drain_all_pages(NULL);
			buddyinfo(0, "Normal", before_n);
			buddyinfo(0, "DMA", before_d);
		}
		for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
			p[i] = vmalloc(sizes[i]);
			cr_assert_not_null(p[i]);
			memset(p[i], 0x5a, sizes[i]);
		}
		for (size_t i = ARRAY_SIZE(sizes); i-- > 0;)
			vfree(p[i]);
	}
	drain_all_pages(NULL);
	buddyinfo(0, "Normal", after);
	assert_counts_eq(after, before_n, "Normal after vfree");
	buddyinfo(0, "DMA", after);
	assert_counts_eq(after, before_d, "DMA after vfree");
}

/* ------------------------------------------------------------ fork */

/* The child checks its copy, writes its own, and reports through its exit status. */
static int fork_child(unsigned char *p, size_t size, int ready_fd)
{
	char c;

	if (read(ready_fd, &c, 1) != 1) /* the parent has written after the fork */
		return 2;
	if (!filled(p, size, 1))
		return 3; /* the parent's write after fork reached the child */
	fill(p, size, 2);
	if (!filled(p, size, 2))
		return 4;
	vfree(p); /* the child's own copy of the area goes back to its own arena */
	return kmem_error_count() ? 5 : 0;
}

Test(vmalloc, fork_keeps_copy_on_write)
{
	size_t size = 1UL << 20;
	unsigned char *p = vmalloc(size);
	int fds[2], status;

	cr_assert_not_null(p);
	fill(p, size, 1);
	cr_assert_eq(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();

	if (pid == 0) /* no Criterion assert in the child, not even a passing one */
		_exit(fork_child(p, size, fds[0]));
	cr_assert_geq(pid, 0);
	fill(p, size, 9); /* after the fork: the child must not see it */
	cr_assert_eq(write(fds[1], "x", 1), 1);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed: status %#x",
		  status);
	cr_assert(filled(p, size, 9), "the child's write reached the parent");
	close(fds[0]);
	close(fds[1]);
	vfree(p);
}

/* ------------------------------------------------------------ many areas */

struct live_area {
	unsigned char *addr;
	size_t size;
};

static int cmp_area(const void *a, const void *b)
{
	const struct live_area *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Live areas never overlap, and a guard page separates neighbours. */
static void check_no_overlap(struct live_area *slots, size_t nr)
{
	struct live_area live[1024];
	size_t n = 0;

	for (size_t i = 0; i < nr; i++)
		if (slots[i].addr)
			live[n++] = slots[i];
	qsort(live, n, sizeof(*live), cmp_area);
	for (size_t i = 1; i < n; i++)
		expect(live[i].addr >=
			       live[i - 1].addr + ALIGN(live[i - 1].size, PAGE_SIZE) + PAGE_SIZE,
		       "areas %p (+%zu) and %p overlap or touch", live[i - 1].addr,
		       live[i - 1].size, live[i].addr);
}

Test(vmalloc, thousands_of_areas_in_random_order)
{
	enum { NR_SLOTS = 1024, NR_OPS = 20000 };
	static struct live_area slots[NR_SLOTS];
	uint64_t rng = 0x5eed;

	for (int op = 0; op < NR_OPS; op++) {
		size_t i = prng_next(&rng) % NR_SLOTS;

		if (slots[i].addr) {
			expect(slots[i].addr[0] == (unsigned char)i &&
				       slots[i].addr[slots[i].size - 1] == (unsigned char)(i >> 3),
			       "area %zu lost its stamp", i);
			vfree(slots[i].addr);
			slots[i].addr = NULL;
			continue;
		}
		/* Mostly small areas, some of hundreds of KiB. */
		size_t size = prng_next(&rng) % 8 ? 2 + prng_next(&rng) % (16 << 10) :
						    2 + prng_next(&rng) % (512 << 10);

		slots[i].addr = vmalloc(size);
		slots[i].size = size;
		cr_assert_not_null(slots[i].addr);
		slots[i].addr[0] = (unsigned char)i;
		slots[i].addr[size - 1] = (unsigned char)(i >> 3);
		if (op % 2000 == 0) {
			check_no_overlap(slots, NR_SLOTS);
			cr_assert_eq(vmap_area_check_tree(), 0, "vmap_area trees broken at op %d",
				     op);
		}
	}
	check_no_overlap(slots, NR_SLOTS);
	for (size_t i = 0; i < NR_SLOTS; i++)
		vfree(slots[i].addr);
	cr_assert_eq(vmap_area_check_tree(), 0);
	/* Every range merged back: one free range, the whole vmalloc range. */
	cr_assert_eq(meminfo_kb("VmallocChunk:"), meminfo_kb("VmallocTotal:"));
	cr_assert_eq(meminfo_kb("VmallocUsed:"), 0);
}

/* ------------------------------------------------------------ vmap */

Test(vmalloc, vmap_maps_the_callers_pages)
{
	enum { N = 8 };
	struct page *pages[N];

	for (int i = 0; i < N; i++) {
		pages[i] = alloc_page(GFP_KERNEL);
		cr_assert_not_null(pages[i]);
		memset(page_address(pages[i]), 'a' + i, PAGE_SIZE);
	}
	unsigned char *v = vmap(pages, N, VM_MAP, PAGE_KERNEL);

	cr_assert_not_null(v);
	cr_assert(is_vmalloc_addr(v));
	for (int i = 0; i < N; i++) {
		cr_assert_eq(v[i * PAGE_SIZE], 'a' + i);
		cr_assert_eq(v[i * PAGE_SIZE + PAGE_SIZE - 1], 'a' + i);
		cr_assert_eq(vmalloc_to_page(v + i * PAGE_SIZE), pages[i]);
		v[i * PAGE_SIZE + 7] = 'A' + i;
	}
	cr_assert(strstr(proc_read("vmallocinfo"), " pages=8 vmap"));
	vunmap(v);
	for (int i = 0; i < N; i++) {
		unsigned char *a = page_address(pages[i]);

		cr_assert(a[0] == 'a' + i && a[7] == 'A' + i, "page %d lost the write through vmap",
			  i);
		__free_page(pages[i]);
	}
}

Test(vmalloc, vmap_refuses_pages_it_cannot_map)
{
	struct page *page = alloc_page(GFP_KERNEL), *pages[2];
	void *obj = kmalloc(64, GFP_KERNEL);
	unsigned long errors = kmem_error_count();

	printk_capture();
	pages[0] = page;
	pages[1] = page; /* the same page twice */
	cr_assert_null(vmap(pages, 2, VM_MAP, PAGE_KERNEL));
	cr_assert(printk_logged("already mapped in a vmalloc area"), "%s", printk_log);
	pages[1] = virt_to_page(obj);
	cr_assert_null(vmap(pages, 2, VM_MAP, PAGE_KERNEL));
	cr_assert(printk_logged("a slab page"), "%s", printk_log);
	cr_assert_null(vmap(pages, 0, VM_MAP, PAGE_KERNEL));
	cr_assert_null(vmap(pages, 1, VM_MAP, __pgprot(0)));
	cr_assert_eq(kmem_error_count() - errors, 2);
	/* The refused page is untouched and still the caller's. */
	cr_assert(!PageVmalloc(page));
	void *v = vmap(&page, 1, VM_MAP, PAGE_KERNEL);

	cr_assert_not_null(v);
	vunmap(v);
	__free_page(page);
	cr_assert_null(vmap(&page, 1, VM_MAP, PAGE_KERNEL), "vmap of a free page");
	cr_assert(printk_logged("a free page"), "%s", printk_log);
	kfree(obj);
}

/* ------------------------------------------------------------ kvmalloc */

Test(vmalloc, kvmalloc_uses_vmalloc_above_kmalloc_max_size)
{
	void *small = kvmalloc(100, GFP_KERNEL);
	void *large = kvmalloc(KMALLOC_MAX_SIZE / 2, GFP_KERNEL);
	void *huge = kvzalloc(KMALLOC_MAX_SIZE + 1, GFP_KERNEL);

	cr_assert(small && large && huge);
	cr_assert(!is_vmalloc_addr(small) && !is_vmalloc_addr(large));
	cr_assert(is_vmalloc_addr(huge));
	cr_assert_eq(((unsigned char *)huge)[KMALLOC_MAX_SIZE], 0);
	kvfree(small);
	kvfree(large);
	kvfree(huge);
	kvfree(NULL);
	cr_assert_eq(meminfo_kb("VmallocUsed:"), 0);
}

/* ------------------------------------------------------------ bad input */

Test(vmalloc, bad_frees_are_reported_and_free_nothing)
{
	size_t size = 3 * PAGE_SIZE;
	unsigned char *p = vmalloc(size);
	void *obj = kmalloc(128, GFP_KERNEL);
	int on_stack;
	unsigned long errors = kmem_error_count();

	cr_assert(p && obj);
	fill(p, size, 4);
	printk_capture();
	vfree(NULL);
	cr_assert_eq(printk_nr_msgs, 0);
	vfree(obj);
	cr_assert(printk_logged("vfree") && printk_logged("not a vmalloc address") &&
			  printk_logged("kfree it?"),
		  "%s", printk_log);
	vfree(p + PAGE_SIZE);
	cr_assert(printk_logged("not the start of a vmalloc area"), "%s", printk_log);
	vfree(&on_stack);
	vunmap(p);
	cr_assert(printk_logged("made by vmalloc, not vmap"), "%s", printk_log);
	kfree(p);
	cr_assert_eq(kmem_error_count() - errors, 5, "%s", printk_log);
	/* Nothing was freed: the area and the object are whole. */
	cr_assert(filled(p, size, 4));
	cr_assert_eq(vmalloc_to_page(p + PAGE_SIZE) != NULL, true);
	memset(obj, 0, 128);
	vfree(p);
	vfree(p); /* double free */
	cr_assert_eq(kmem_error_count() - errors, 6);
	kfree(obj);
	cr_assert_eq(kmem_error_count() - errors, 6);
}

Test(vmalloc, out_of_memory_warns_unless_nowarn)
{
	unsigned long before[NR_PAGE_ORDERS], after[NR_PAGE_ORDERS];
	void *p;

	/* Warm up: the metadata's slab caches take their pages now, not during the count. */
	cr_assert_null(__vmalloc(ARENA_SIZE, GFP_KERNEL | __GFP_NOWARN));
	drain_all_pages(NULL);
	buddyinfo(0, "Normal", before);
	printk_capture();
	p = vmalloc(ARENA_SIZE);
	cr_assert_null(p);
	cr_assert(printk_logged("vmalloc error: size"), "%s", printk_log);
	unsigned int msgs = printk_nr_msgs;

	cr_assert_null(__vmalloc(ARENA_SIZE, GFP_KERNEL | __GFP_NOWARN));
	cr_assert_null(__vmalloc(1UL << 50, GFP_KERNEL | __GFP_NOWARN));
	cr_assert_eq(printk_nr_msgs, msgs, "__GFP_NOWARN printed: %s", printk_log);
	cr_assert_null(vmalloc(0));
	cr_assert_null(vmalloc_node(PAGE_SIZE, 7));
	/* Every frame of the failed attempts went back. */
	drain_all_pages(NULL);
	buddyinfo(0, "Normal", after);
	assert_counts_eq(after, before, "Normal after failed vmallocs");
	cr_assert_eq(meminfo_kb("VmallocUsed:"), 0);
	cr_assert_eq(vmap_area_check_tree(), 0);
}

/* ------------------------------------------------------------ /proc and exit */

static void *caller_of_vmallocinfo(void)
{
	return vmalloc(5 * PAGE_SIZE);
}

Test(vmalloc, vmallocinfo_and_meminfo)
{
	void *p = caller_of_vmallocinfo();
	char want[64], *line;
	unsigned long start, end, size;
	int pages;

	cr_assert_not_null(p);
	snprintf(want, sizeof(want), "0x%016lx-", (unsigned long)p);
	line = strstr(proc_read("vmallocinfo"), want);
	cr_assert_not_null(line, "no line for %p in vmallocinfo", p);
	cr_assert_eq(sscanf(line, "0x%lx-0x%lx %lu", &start, &end, &size), 3, "%s", line);
	cr_assert_eq(start, (unsigned long)p);
	cr_assert_eq(size, 6 * PAGE_SIZE, "the size counts the guard page, as the kernel's");
	cr_assert_eq(end - start, size);
	char *eol = strchr(line, '\n');

	*eol = '\0';
	cr_assert(strstr(line, " pages=5 vmalloc N0=5"), "'%s'", line);
	cr_assert(sscanf(strstr(line, "pages="), "pages=%d", &pages) == 1 && pages == 5);
	cr_assert_eq(meminfo_kb("VmallocUsed:"), 20);
	cr_assert_geq(meminfo_kb("VmallocTotal:"), 2 * (ARENA_SIZE >> 10));
	vfree(p);
	cr_assert_eq(kmem_proc_read("vmallocinfo", want, sizeof(want)), 0);
}

Test(vmalloc, kmem_exit_reports_leaked_areas)
{
	void *p = vmalloc(3 * PAGE_SIZE);

	cr_assert_not_null(p);
	printk_capture();
	kmem_exit();
	cr_assert(printk_logged("was never freed") && printk_logged("16384 bytes, 3 pages"), "%s",
		  printk_log);
	/* kmem starts again with an empty vmalloc range. */
	setup();
	cr_assert_eq(meminfo_kb("VmallocUsed:"), 0);
	cr_assert_eq(kmem_proc_read("vmallocinfo", NULL, 0), 0);
}

/* ------------------------------------------------------------ a caller's buffer */

Test(vmalloc_embedded, contiguous_areas_in_a_callers_buffer)
{
	size_t buf_size = 16UL << 20;
	void *buf = aligned_alloc(PAGE_SIZE, buf_size);

	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem = buf, .mem_size = buf_size }), 0);
	unsigned char *p = vmalloc(100 << 10);

	cr_assert_not_null(p);
	cr_assert(is_vmalloc_addr(p) && virt_addr_valid(p), "in place: the arena's own address");
	cr_assert_eq(vmalloc_to_page(p + PAGE_SIZE), virt_to_page(p + PAGE_SIZE));
	fill(p, 100 << 10, 6);
	cr_assert(filled(p, 100 << 10, 6));
	cr_assert(strstr(proc_read("vmallocinfo"), " pages=25 vmalloc"));
	printk_capture();
	cr_assert_null(vmalloc(KMALLOC_MAX_SIZE + PAGE_SIZE));
	cr_assert(printk_logged("contiguous mode"), "%s", printk_log);
	vfree(p);
	cr_assert(!is_vmalloc_addr(p));
	kmem_exit();
	kmem_set_printk(NULL);
	free(buf);
}

/* ------------------------------------------------------------ threads */

#define NR_THREADS 4

static void *vmalloc_worker(void *arg)
{
	uint64_t rng = (uintptr_t)arg * 7919 + 1;
	struct live_area held[16] = { 0 };
	long bad = 0;

	for (int op = 0; op < 3000; op++) {
		size_t i = prng_next(&rng) % ARRAY_SIZE(held);

		if (held[i].addr) {
			bad += !filled(held[i].addr, held[i].size,
				       (unsigned int)(i + (uintptr_t)arg));
			vfree(held[i].addr);
			held[i].addr = NULL;
			continue;
		}
		held[i].size = 1 + prng_next(&rng) % (96 << 10);
		held[i].addr = vmalloc(held[i].size);
		if (!held[i].addr)
			return (void *)-1L;
		fill(held[i].addr, held[i].size, (unsigned int)(i + (uintptr_t)arg));
	}
	for (size_t i = 0; i < ARRAY_SIZE(held); i++)
		vfree(held[i].addr);
	return (void *)bad;
}

static void *vmallocinfo_reader(void *arg)
{
	static char buf[1 << 16];
	atomic_bool *stop = arg;

	while (!atomic_load(stop)) {
		kmem_proc_read("vmallocinfo", buf, sizeof(buf));
		kmem_proc_read("meminfo", buf, sizeof(buf));
	}
	return NULL;
}

Test(vmalloc, threads_vmalloc_and_vfree_concurrently)
{
	pthread_t t[NR_THREADS], reader;
	atomic_bool stop = false;

	cr_assert_eq(pthread_create(&reader, NULL, vmallocinfo_reader, &stop), 0);
	for (uintptr_t i = 0; i < NR_THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, vmalloc_worker, (void *)i), 0);
	for (int i = 0; i < NR_THREADS; i++) {
		void *ret;

		pthread_join(t[i], &ret);
		cr_assert_eq((long)ret, 0, "thread %d: %ld areas corrupted (or -1: out of memory)",
			     i, (long)ret);
	}
	atomic_store(&stop, true);
	pthread_join(reader, NULL);
	cr_assert_eq(vmap_area_check_tree(), 0);
	cr_assert_eq(meminfo_kb("VmallocUsed:"), 0);
	cr_assert_eq(meminfo_kb("VmallocChunk:"), meminfo_kb("VmallocTotal:"));
}
