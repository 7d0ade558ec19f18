/* SPDX-License-Identifier: MIT */
/*
 * Valgrind memcheck integration (named after the kernel's kmemcheck, which
 * did for the kernel what memcheck does for programs); docs/SANITIZERS.md.
 *
 * Under memcheck (detected at kmem_init; KMEM_VALGRIND=0 turns it off) every
 * cache gets CFLGS_VALGRIND, one of SLAB_DEBUG_FLAGS: like a debug cache it
 * keeps no per-thread arrays, so every alloc and free leaves the inline fast
 * paths for slab_debug.c, which tells memcheck about the object: each cache
 * is a memcheck mempool, an object handed out is a chunk of it (of the size
 * kmalloc was asked for), a free object and every byte of a slab outside its
 * descriptor are no-access. Memcheck then reports use after free, overruns,
 * reads of uninitialised object memory and leaked objects.
 *
 * Natively, and under other tools (callgrind counts the real fast paths), no
 * cache has the flag and none of this runs. Without <valgrind/memcheck.h>
 * at build time the functions are empty and kmemcheck_init() finds nothing.
 */
#ifndef KMEM_MM_KMEMCHECK_H
#define KMEM_MM_KMEMCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include <kmem/gfp.h>

struct kmem_cache;
struct slab;

/* kmem_init: are we under memcheck, and did KMEM_VALGRIND leave the annotations on? */
int kmemcheck_init(void);
/* The flag kmem_cache_flags() adds to every new cache: CFLGS_VALGRIND or 0. */
unsigned int kmemcheck_cache_flags(void);

/* A CFLGS_VALGRIND cache is created / destroyed (its objects forgotten). */
void kmemcheck_create_cache(struct kmem_cache *s);
void kmemcheck_destroy_cache(struct kmem_cache *s);
/* A new slab, its objects initialised: all but the descriptor no-access. */
void kmemcheck_new_slab(struct kmem_cache *s, struct slab *slab);
/* A slab going back to the page allocator: all of it accessible again. */
void kmemcheck_free_slab(struct kmem_cache *s, struct slab *slab);
/* @obj handed out for @size bytes (defined when zeroed or constructed) / freed. */
void kmemcheck_slab_alloc(struct kmem_cache *s, void *obj, size_t size, gfp_t flags);
void kmemcheck_slab_free(struct kmem_cache *s, void *obj);
/*
 * Around kmem's own reads and writes of slot memory that memcheck sees as
 * no-access (red zones, poison, owner records of free objects): memcheck's
 * error reporting off for this thread. Nest.
 */
void kmemcheck_quiet(const struct kmem_cache *s);
void kmemcheck_loud(const struct kmem_cache *s);

#endif /* KMEM_MM_KMEMCHECK_H */
