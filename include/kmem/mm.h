/* SPDX-License-Identifier: MIT */
/*
 * The page allocator's interface (<linux/gfp.h>, <linux/mm.h>): pages of
 * PAGE_SIZE bytes handed out in power-of-two blocks by the buddy allocator.
 */
#ifndef KMEM_MM_H
#define KMEM_MM_H

#include <stddef.h>

#include <kmem/gfp.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define MAX_PAGE_ORDER 10
#define NR_PAGE_ORDERS (MAX_PAGE_ORDER + 1)
#define PAGE_ALLOC_COSTLY_ORDER 3

struct kmem_cache;
struct slab;

/*
 * One descriptor per page frame. A node's descriptors form one array, so
 * page + i is the i-th following frame. Which fields mean what depends on
 * the page's state (free in the buddy lists, a slab, part of a compound
 * allocation), as in the kernel; code outside kmem should treat them as
 * read-only.
 */
struct page {
	unsigned long flags; /* PG_* state bits; node and zone in the top bits */
	union {
		struct {
			void *next, *prev;
		} lru; /* a struct list_head: free lists, per-CPU lists, slab lists */
		struct {
			unsigned long compound_head; /* tail pages: head page | 1 */
			unsigned int compound_order; /* the head's page[1]: its order */
		};
	};
#ifndef __cplusplus
	unsigned long private; /* buddy order while free */
#else
	unsigned long private_; /* the same field: "private" is a C++ keyword */
#endif
	struct kmem_cache *slab_cache; /* owning cache while a slab page */
	struct slab *slab; /* slab descriptor while a slab page */
	union {
		unsigned long index; /* free pages: when they became free */
		void *s_mem; /* slab pages: the slab's first object */
	};
	unsigned int _refcount;
	unsigned int _mapcount;
};

struct page *alloc_pages(gfp_t gfp_mask, unsigned int order);
struct page *alloc_pages_node(int nid, gfp_t gfp_mask, unsigned int order);
void __free_pages(struct page *page, unsigned int order);
unsigned long __get_free_pages(gfp_t gfp_mask, unsigned int order);
unsigned long get_zeroed_page(gfp_t gfp_mask);
void free_pages(unsigned long addr, unsigned int order);

#define alloc_page(gfp_mask) alloc_pages(gfp_mask, 0)
#define __get_free_page(gfp_mask) __get_free_pages((gfp_mask), 0)
#define __free_page(page) __free_pages((page), 0)
#define free_page(addr) free_pages((addr), 0)

void *page_address(const struct page *page);
struct page *virt_to_page(const void *addr);
unsigned long page_to_pfn(const struct page *page);
struct page *pfn_to_page(unsigned long pfn);
int page_to_nid(const struct page *page);
/* True when @addr lies in kmem's memory (any page kmem manages). */
int virt_addr_valid(const void *addr);

/* The smallest order whose block holds @size bytes (size 0 gives an undefined order, as in Linux). */
static inline int get_order(unsigned long size)
{
	if (size <= PAGE_SIZE)
		return 0;
	return (int)(sizeof(long) * 8) - __builtin_clzl((size - 1) >> PAGE_SHIFT);
}

#ifdef __cplusplus
}
#endif

#endif /* KMEM_MM_H */
