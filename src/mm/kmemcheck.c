// SPDX-License-Identifier: MIT
/*
 * Valgrind memcheck client requests for slab objects (kmemcheck.h has the
 * design, docs/SANITIZERS.md the use). Everything here runs only for caches
 * with CFLGS_VALGRIND, that is only under memcheck: the fast paths never
 * reach it.
 *
 * memcheck is told apart from valgrind's other tools by a client request
 * only it answers: VALGRIND_MAKE_MEM_DEFINED returns -1 under memcheck and
 * the default, 0, under callgrind, cachegrind, helgrind, drd and natively.
 */
#include <errno.h>
#include <string.h>

#include "kmemcheck.h"
#include "platform/os.h"
#include "slab.h"

#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define CONFIG_KMEMCHECK 1
#endif

static bool kmemcheck_enabled;

static bool running_on_memcheck(void)
{
#ifdef CONFIG_KMEMCHECK
	int probe = 0;

	return RUNNING_ON_VALGRIND && (long)VALGRIND_MAKE_MEM_DEFINED(&probe, sizeof(probe)) == -1;
#else
	return false;
#endif
}

int kmemcheck_init(void)
{
	const char *v = os_getenv("KMEM_VALGRIND");

	if (v && strcmp(v, "0") && strcmp(v, "1")) {
		pr_err("KMEM_VALGRIND='%s' is not 0 or 1: 0 turns the memcheck annotations off, 1 "
		       "(the default) leaves them on under memcheck\n",
		       v);
		return -EINVAL;
	}
	kmemcheck_enabled = running_on_memcheck() && !(v && !strcmp(v, "0"));
	return 0;
}

unsigned int kmemcheck_cache_flags(void)
{
	return kmemcheck_enabled ? CFLGS_VALGRIND : 0;
}

#ifdef CONFIG_KMEMCHECK

static bool annotated(const struct kmem_cache *s)
{
	return s->flags & CFLGS_VALGRIND;
}

static char *slab_start(struct slab *slab)
{
	return (char *)slab->s_mem - slab->colouroff;
}

void kmemcheck_create_cache(struct kmem_cache *s)
{
	if (annotated(s))
		VALGRIND_CREATE_MEMPOOL(s, 0, 0);
}

void kmemcheck_destroy_cache(struct kmem_cache *s)
{
	if (annotated(s))
		VALGRIND_DESTROY_MEMPOOL(s);
}

void kmemcheck_new_slab(struct kmem_cache *s, struct slab *slab)
{
	char *addr = slab_start(slab), *end = addr + (PAGE_SIZE << s->gfporder);
	char *colour_end = (s->flags & CFLGS_OFF_SLAB) ? (char *)slab->s_mem : (char *)slab;

	if (!annotated(s))
		return;
	VALGRIND_MAKE_MEM_NOACCESS(addr, colour_end - addr);
	VALGRIND_MAKE_MEM_NOACCESS(slab->s_mem, end - (char *)slab->s_mem);
}

void kmemcheck_free_slab(struct kmem_cache *s, struct slab *slab)
{
	if (annotated(s))
		VALGRIND_MAKE_MEM_DEFINED(slab_start(slab), PAGE_SIZE << s->gfporder);
}

void kmemcheck_slab_alloc(struct kmem_cache *s, void *obj, size_t size, gfp_t flags)
{
	if (!annotated(s))
		return;
	VALGRIND_MEMPOOL_ALLOC(s, obj, size);
	/* A constructed object keeps its constructor's state: that is defined. */
	if (s->ctor || (flags & __GFP_ZERO))
		VALGRIND_MAKE_MEM_DEFINED(obj, size);
}

void kmemcheck_slab_free(struct kmem_cache *s, void *obj)
{
	if (annotated(s))
		VALGRIND_MEMPOOL_FREE(s, obj);
}

void kmemcheck_quiet(const struct kmem_cache *s)
{
	if (annotated(s))
		VALGRIND_DISABLE_ERROR_REPORTING;
}

void kmemcheck_loud(const struct kmem_cache *s)
{
	if (annotated(s))
		VALGRIND_ENABLE_ERROR_REPORTING;
}

#else /* !CONFIG_KMEMCHECK: no cache ever has CFLGS_VALGRIND */

void kmemcheck_create_cache(struct kmem_cache *s)
{
}
void kmemcheck_destroy_cache(struct kmem_cache *s)
{
}
void kmemcheck_new_slab(struct kmem_cache *s, struct slab *slab)
{
}
void kmemcheck_free_slab(struct kmem_cache *s, struct slab *slab)
{
}
void kmemcheck_slab_alloc(struct kmem_cache *s, void *obj, size_t size, gfp_t flags)
{
}
void kmemcheck_slab_free(struct kmem_cache *s, void *obj)
{
}
void kmemcheck_quiet(const struct kmem_cache *s)
{
}
void kmemcheck_loud(const struct kmem_cache *s)
{
}

#endif /* CONFIG_KMEMCHECK */
