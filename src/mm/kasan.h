/* SPDX-License-Identifier: MIT */
/*
 * AddressSanitizer integration, with the names of the kernel's KASAN
 * (include/linux/kasan.h); docs/SANITIZERS.md has the design.
 *
 * In a build with -fsanitize=address (CONFIG_KASAN below) the allocators
 * mark memory for ASan through its manual interface: a slab object is
 * addressable from kasan_slab_alloc() to kasan_slab_free() (a kmalloc object
 * only up to the size asked for: kasan_kmalloc()); free objects, colour and
 * left-over space of slabs, and pages freed to the buddy allocator are
 * poisoned, so a use after free or an overrun into a class's padding is an
 * ASan report. Debug caches (SLAB_DEBUG_FLAGS) are left to their own red
 * zones and poison, which read free objects.
 *
 * In every other build each hook is an empty static inline: the fast paths
 * compile to the same code as without them.
 */
#ifndef KMEM_MM_KASAN_H
#define KMEM_MM_KASAN_H

#include <stdbool.h>
#include <stddef.h>

#include "platform/compiler.h"

#if defined(__SANITIZE_ADDRESS__)
#define CONFIG_KASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONFIG_KASAN 1
#endif
#endif

/* On a function that reads memory kmem holds free (white-box tests): ASan does not check it. */
#define __no_sanitize_address __attribute__((no_sanitize_address))

struct kmem_cache;
struct slab;
struct page;

/* KASAN_HOOK(declaration, no-op body): out of line in kasan.c, or the no-op inline. */
#ifdef CONFIG_KASAN
#define KASAN_HOOK(decl, body) decl
#else
#define KASAN_HOOK(decl, body) static __always_inline decl body
#endif

#ifdef CONFIG_KASAN
#define kasan_enabled() true
#else
#define kasan_enabled() false
#endif

/* Make [addr, addr+size) unaddressable / addressable (ASan's 8-byte granules). */
KASAN_HOOK(void kasan_poison(const void *addr, size_t size), {});
KASAN_HOOK(void kasan_unpoison(const void *addr, size_t size), {});

/* A new slab, its objects constructed: every object, the colour and the left-over poisoned. */
KASAN_HOOK(void kasan_poison_slab(struct kmem_cache *s, struct slab *slab, void *addr), {});
/* An object handed out: its object_size bytes addressable. */
KASAN_HOOK(void kasan_slab_alloc(struct kmem_cache *s, void *obj), {});
/* An object being freed: poisoned; true (after a report) if it already was: do not free it. */
KASAN_HOOK(bool kasan_slab_free(struct kmem_cache *s, void *obj), { return false; });
/* kmalloc(@size) got @obj (or NULL) from @s: the bytes past @size poisoned. Returns @obj. */
KASAN_HOOK(void *kasan_kmalloc(struct kmem_cache *s, void *obj, size_t size), { return obj; });
/* A large kmalloc of @size at @ptr (or NULL): the rest of its pages poisoned. Returns @ptr. */
KASAN_HOOK(void *kasan_kmalloc_large(void *ptr, size_t size), { return ptr; });

/* Pages handed out by the buddy allocator, and freed to it. */
KASAN_HOOK(void kasan_alloc_pages(struct page *page, unsigned int order), {});
KASAN_HOOK(void kasan_free_pages(struct page *page, unsigned int order), {});

/*
 * kmem_exit: the arena is about to be unmapped (or handed back to its
 * owner). ASan keeps shadow memory across munmap, so whatever was poisoned
 * is made addressable again, or the next mapping at that address would be
 * reported.
 */
KASAN_HOOK(void kasan_release_arena(void), {});

#undef KASAN_HOOK

#endif /* KMEM_MM_KASAN_H */
