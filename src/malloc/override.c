// SPDX-License-Identifier: MIT
/*
 * libkmem-malloc.so: the C library's allocation functions, by name, on the
 * kmem_* implementations of malloc.c. Preloaded (kmem-run, or LD_PRELOAD),
 * these names win over the C library's for the whole process: its libraries,
 * the dynamic loader once it has relocated the program, and C++'s operator
 * new and delete, which libstdc++ implements with malloc and free.
 */
#include <errno.h>
#include <stdlib.h>

#include "malloc.h"
#include "mm/internal.h"
#include "platform/compiler.h"

void cfree(void *ptr);

/*
 * Each is one jump to its kmem_* implementation (hidden, so a direct one);
 * malloc and free, the hottest, are the implementations themselves under a
 * second name (malloc.c, KMEM_MALLOC_OVERRIDE).
 */
__export void cfree(void *ptr)
{
	kmem_free(ptr);
}

__export void *calloc(size_t nmemb, size_t size)
{
	return kmem_calloc(nmemb, size);
}

__export void *realloc(void *ptr, size_t size)
{
	return kmem_realloc(ptr, size);
}

__export void *reallocarray(void *ptr, size_t nmemb, size_t size)
{
	return kmem_reallocarray(ptr, nmemb, size);
}

__export void *memalign(size_t align, size_t size)
{
	return kmem_memalign(align, size);
}

__export int posix_memalign(void **memptr, size_t align, size_t size)
{
	return kmem_posix_memalign(memptr, align, size);
}

__export void *aligned_alloc(size_t align, size_t size)
{
	return kmem_aligned_alloc(align, size);
}

__export void *valloc(size_t size)
{
	return kmem_valloc(size);
}

__export void *pvalloc(size_t size)
{
	return kmem_pvalloc(size);
}

__export size_t malloc_usable_size(void *ptr)
{
	return kmem_malloc_usable_size(ptr);
}

__export int malloc_trim(size_t pad)
{
	return kmem_malloc_trim(pad);
}

__export void malloc_stats(void)
{
	kmem_malloc_stats();
}

__export struct mallinfo2 mallinfo2(void)
{
	return kmem_mallinfo2();
}

/* The old interface, with int fields: values above INT_MAX are clamped. */
__export struct mallinfo mallinfo(void)
{
	struct mallinfo2 m2 = kmem_mallinfo2();
	struct mallinfo mi = { 0 };

#define CLAMP_INT(v) ((v) > 0x7fffffff ? 0x7fffffff : (int)(v))
	mi.arena = CLAMP_INT(m2.arena);
	mi.hblks = CLAMP_INT(m2.hblks);
	mi.hblkhd = CLAMP_INT(m2.hblkhd);
	mi.uordblks = CLAMP_INT(m2.uordblks);
	mi.fordblks = CLAMP_INT(m2.fordblks);
#undef CLAMP_INT
	return mi;
}

__attribute__((constructor)) static void kmem_malloc_start(void)
{
	/* Everything the process allocated lives in kmem: kmem_exit() would pull it away. */
	kmem_exit_blocker = "libkmem-malloc.so serves this process's malloc from it";
	malloc_stats_setup();
}

__attribute__((destructor)) static void kmem_malloc_end(void)
{
	malloc_stats_at_exit();
}
