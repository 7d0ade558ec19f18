/* SPDX-License-Identifier: MIT */
/*
 * vmalloc (<linux/vmalloc.h>): memory that is contiguous in virtual address
 * space but built from page frames that need not be, so it succeeds where the
 * buddy allocator has no block large enough. The frames are the arena's own;
 * see docs/VMALLOC.md for how they are moved into the vmalloc range and what
 * differs from the kernel.
 */
#ifndef KMEM_VMALLOC_H
#define KMEM_VMALLOC_H

#include <stdbool.h>
#include <stddef.h>

#include <kmem/gfp.h>
#include <kmem/mm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* vm_struct flags (the kernel's values). */
#define VM_IOREMAP 0x00000001UL
#define VM_ALLOC 0x00000002UL /* vmalloc(): the area owns its pages */
#define VM_MAP 0x00000004UL /* vmap(): the caller owns the pages */

/* Page protection for vmap(). Only PAGE_KERNEL (read and write) exists here. */
typedef struct {
	unsigned long pgprot;
} pgprot_t;
#define __pgprot(x) ((pgprot_t){ (x) })
#define pgprot_val(x) ((x).pgprot)
#define PAGE_KERNEL __pgprot(0x63UL) /* x86's _PAGE_PRESENT|RW|ACCESSED|DIRTY */

#define NUMA_NO_NODE (-1)

void *vmalloc(unsigned long size);
void *vzalloc(unsigned long size);
void *vmalloc_node(unsigned long size, int node);
void *vzalloc_node(unsigned long size, int node);
void *__vmalloc(unsigned long size, gfp_t gfp_mask);
void *__vmalloc_node(unsigned long size, unsigned long align, gfp_t gfp_mask, int node,
		     const void *caller);
/* Free a vmalloc() or vmap() area; NULL is a no-op; anything else is reported and ignored. */
void vfree(const void *addr);

/* Map @count pages the caller owns at one virtual range. See docs/VMALLOC.md for the aliasing. */
void *vmap(struct page **pages, unsigned int count, unsigned long flags, pgprot_t prot);
void vunmap(const void *addr);

/* The frame behind a vmalloc address, or NULL when @addr is not in a vmalloc area. */
struct page *vmalloc_to_page(const void *addr);
unsigned long vmalloc_to_pfn(const void *addr);
/* True when @addr lies in a vmalloc area (or the vmalloc range). */
bool is_vmalloc_addr(const void *addr);

#ifdef __cplusplus
}
#endif

#endif /* KMEM_VMALLOC_H */
