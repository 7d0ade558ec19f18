// SPDX-License-Identifier: MIT
/*
 * The buddy allocator at work: `make run` shows blocks splitting on
 * allocation and merging on free (seed 001's 16K example, then at scale),
 * with /proc/buddyinfo before, during and after, and the process's resident
 * memory before, at peak and after the free memory went back to the OS.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <kmem/kmem.h>

static void show(const char *title)
{
	char buf[4096];

	kmem_proc_read("buddyinfo", buf, sizeof(buf));
	printf("--- %s\n%s", title, buf);
}

static size_t rss_kb(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (size_t)sysconf(_SC_PAGESIZE) / 1024;
}

int main(void)
{
	/* 64 MiB of "physical memory": 16 MiB ZONE_DMA, 48 MiB ZONE_NORMAL. */
	struct kmem_config cfg = { .mem_size = 64 << 20 };
	enum { NR = 4096 };
	static struct page *pages[NR];

	if (kmem_init(&cfg))
		return 1;
	printf("buddyinfo columns: free blocks of order 0 (4 KiB) .. 10 (4 MiB)\n\n");
	show("start: every block whole (order 10 = 4 MiB)");

	/* Seed 001: a 16K block serves a 3.6K request; it is split twice. */
	struct page *block16k = alloc_pages(GFP_KERNEL, 2);

	__free_pages(block16k, 2);
	drain_all_pages(NULL);
	struct page *a = alloc_pages(GFP_KERNEL | __GFP_DMA, get_order(3686));

	printf("\nseed 001: a 3.6K request rounds up to order %d (4 KiB) and splits a 4 MiB "
	       "block down to it:\n",
	       get_order(3686));
	show("after alloc_pages(GFP_DMA, 0): one free block of each order 1..9 split off in DMA\n    (the 4 KiB buddy went to this thread's per-CPU list with the page handed out)");
	__free_pages(a, 0);
	drain_all_pages(NULL);
	show("after __free_pages: the buddies merged back into one order-10 block");

	/* At scale: take 16 MiB in mixed orders, then give every other block back. */
	size_t rss0 = rss_kb();
	size_t n = 0;

	for (unsigned long taken = 0; taken < (16UL << 20) && n < NR; n++) {
		unsigned int order = n % 4;

		pages[n] = alloc_pages(GFP_KERNEL, order);
		memset(page_address(pages[n]), 0x5a, PAGE_SIZE << order);
		taken += PAGE_SIZE << order;
	}
	size_t rss_peak = rss_kb();

	show("16 MiB taken in orders 0..3 (and touched)");
	for (size_t i = 0; i < n; i += 2)
		__free_pages(pages[i], i % 4);
	drain_all_pages(NULL);
	show("every other block freed: holes cannot merge, their buddies are in use");
	for (size_t i = 1; i < n; i += 2)
		__free_pages(pages[i], i % 4);
	drain_all_pages(NULL);
	show("the rest freed: buddies merge all the way back up");

	size_t released = kmem_release_free_memory();
	size_t rss1 = rss_kb();

	printf("\nRSS: %zu kB before, %zu kB at peak, %zu kB after the free blocks went back "
	       "to the OS (%zu kB released)\n",
	       rss0, rss_peak, rss1, released >> 10);
	kmem_exit();
	return 0;
}
