/* SPDX-License-Identifier: MIT */
/*
 * GFP ("get free pages") flags, with the values of Linux 6.12's
 * <linux/gfp_types.h>, so kernel code passes them unchanged.
 */
#ifndef KMEM_GFP_H
#define KMEM_GFP_H

#ifdef __cplusplus
extern "C" {
#endif

typedef unsigned int gfp_t;

/* Zone modifiers: which zones may satisfy the request. */
#define __GFP_DMA 0x01u
#define __GFP_HIGHMEM 0x02u /* no highmem here: accepted and ignored */
#define __GFP_DMA32 0x04u /* no ZONE_DMA32 here: served from ZONE_NORMAL */
#define __GFP_MOVABLE 0x08u /* page mobility: movable pageblocks */
#define __GFP_RECLAIMABLE 0x10u /* page mobility: reclaimable pageblocks */
/* Watermark modifiers. */
#define __GFP_HIGH 0x20u /* may dip into the reserve below the min watermark */
/* Reclaim modifiers. */
#define __GFP_IO 0x40u
#define __GFP_FS 0x80u
/* Action modifiers. */
#define __GFP_ZERO 0x100u /* return zeroed memory */
#define __GFP_DIRECT_RECLAIM 0x400u /* the caller may sleep and run reclaim itself */
#define __GFP_KSWAPD_RECLAIM 0x800u /* wake the background reclaimer */
#define __GFP_WRITE 0x1000u
#define __GFP_NOWARN 0x2000u /* no allocation-failure warning */
#define __GFP_RETRY_MAYFAIL 0x4000u
#define __GFP_NOFAIL 0x8000u /* retry forever: never returns NULL */
#define __GFP_NORETRY 0x10000u /* fail rather than retry after reclaim */
#define __GFP_MEMALLOC 0x20000u
#define __GFP_COMP 0x40000u /* a compound page: the head page knows the order */
#define __GFP_NOMEMALLOC 0x80000u
#define __GFP_HARDWALL 0x100000u
#define __GFP_THISNODE 0x200000u /* no fallback to other nodes */
#define __GFP_ACCOUNT 0x400000u
#define __GFP_ZEROTAGS 0x800000u

#define __GFP_RECLAIM (__GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM)
#define GFP_ZONEMASK (__GFP_DMA | __GFP_HIGHMEM | __GFP_DMA32 | __GFP_MOVABLE)
#define GFP_MOVABLE_MASK (__GFP_RECLAIMABLE | __GFP_MOVABLE)

#define GFP_ATOMIC (__GFP_HIGH | __GFP_KSWAPD_RECLAIM)
#define GFP_KERNEL (__GFP_RECLAIM | __GFP_IO | __GFP_FS)
#define GFP_KERNEL_ACCOUNT (GFP_KERNEL | __GFP_ACCOUNT)
#define GFP_NOWAIT (__GFP_KSWAPD_RECLAIM | __GFP_NOWARN)
#define GFP_NOIO (__GFP_RECLAIM)
#define GFP_NOFS (__GFP_RECLAIM | __GFP_IO)
#define GFP_USER (__GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL)
#define GFP_DMA __GFP_DMA
#define GFP_DMA32 __GFP_DMA32
#define GFP_HIGHUSER (GFP_USER | __GFP_HIGHMEM)
#define GFP_HIGHUSER_MOVABLE (GFP_HIGHUSER | __GFP_MOVABLE)

static inline int gfpflags_allow_blocking(const gfp_t gfp_flags)
{
	return !!(gfp_flags & __GFP_DIRECT_RECLAIM);
}

/* Empty every thread's per-CPU page lists (zone NULL: every zone) into the buddy lists. */
struct zone;
void drain_all_pages(struct zone *zone);

#ifdef __cplusplus
}
#endif

#endif /* KMEM_GFP_H */
