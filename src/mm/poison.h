/* SPDX-License-Identifier: MIT */
/*
 * The poison values (include/linux/poison.h): one registry, so that a hex
 * dump can be read by anyone who knows the kernel's.
 */
#ifndef KMEM_MM_POISON_H
#define KMEM_MM_POISON_H

/* SLAB's red zone words around each object (Linux up to 6.7). */
#define RED_INACTIVE 0x09F911029D74E35BULL /* when the object is free */
#define RED_ACTIVE 0xD84156C5635688C0ULL /* when the object is allocated */

/* SLUB's red zone bytes: the padding from the requested size to the right red zone word. */
#define SLUB_RED_INACTIVE 0xbb
#define SLUB_RED_ACTIVE 0xcc

#define POISON_INUSE 0x5a /* a new object: reading it uninitialised shows 5a5a5a5a */
#define POISON_FREE 0x6b /* a free object: any other byte is a write after free */
#define POISON_END 0xa5 /* the last byte of a free object */

#endif /* KMEM_MM_POISON_H */
