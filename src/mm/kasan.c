// SPDX-License-Identifier: MIT
/*
 * AddressSanitizer integration (the kernel's mm/kasan/common.c): the hooks of
 * kasan.h, compiled only into -fsanitize=address builds. docs/SANITIZERS.md.
 *
 * What is poisoned, and when:
 *   - pages, from __free_pages() until the buddy allocator hands them out
 *     again (prep_new_page);
 *   - in a new slab, once the constructor has run: every object (all free),
 *     the colour offset before an on-slab descriptor and the left-over tail;
 *     the descriptor and bufctl[] stay addressable, as kmem reads them;
 *   - an object from kmem_cache_free()/kfree() until it is handed out again,
 *     whether it waits in a per-thread array, a shared array or its slab;
 *   - for kmalloc, the bytes from the requested size to the class size.
 *
 * Memory never handed out is never poisoned: the shadow of an untouched
 * arena stays untouched (poisoning a 64 GiB arena at start-up would commit
 * 8 GiB of shadow). ASan keeps shadow bytes across munmap(), so every 4 MiB
 * block of the arena that was ever poisoned is noted in kasan_touched, and
 * kasan_release_arena() makes those addressable again before kmem_exit
 * unmaps the arena.
 */
#include "kasan.h"
#include "kfence.h"

#ifdef CONFIG_KASAN

#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#include <string.h>

#include "slab.h"

#define KASAN_BLOCK_SHIFT (PAGE_SHIFT + MAX_PAGE_ORDER)
#define KASAN_MAX_BLOCKS (1UL << 20) /* 4 TiB of arena; the rest is one "touched" flag */
#define BITS_PER_LONG (8 * sizeof(unsigned long))

static unsigned long kasan_touched[KASAN_MAX_BLOCKS / BITS_PER_LONG];
static bool kasan_touched_beyond;

/* Note the arena blocks that [addr, addr+size) lies in (addresses outside the arena: none). */
static void kasan_note(const void *addr, size_t size)
{
	if (!size || !kmem_addr_valid(addr))
		return;
	uintptr_t off = (uintptr_t)((const char *)addr - kmem_memory.base);

	for (uintptr_t b = off >> KASAN_BLOCK_SHIFT; b <= (off + size - 1) >> KASAN_BLOCK_SHIFT;
	     b++) {
		if (b >= KASAN_MAX_BLOCKS) {
			WRITE_ONCE(kasan_touched_beyond, true);
			return;
		}
		unsigned long bit = 1UL << (b % BITS_PER_LONG);

		if (!(READ_ONCE(kasan_touched[b / BITS_PER_LONG]) & bit))
			__atomic_fetch_or(&kasan_touched[b / BITS_PER_LONG], bit, __ATOMIC_RELAXED);
	}
}

void kasan_poison(const void *addr, size_t size)
{
	kasan_note(addr, size);
	ASAN_POISON_MEMORY_REGION(addr, size);
}

void kasan_unpoison(const void *addr, size_t size)
{
	ASAN_UNPOISON_MEMORY_REGION(addr, size);
}

/*
 * Debug caches check themselves; kfence objects are kfence's (its guard
 * pages and canary), as the kernel's KASAN leaves them alone too.
 */
static bool kasan_skips(const struct kmem_cache *s, const void *obj)
{
	return (s->flags & SLAB_DEBUG_FLAGS) || is_kfence_address(obj);
}

void kasan_poison_slab(struct kmem_cache *s, struct slab *slab, void *addr)
{
	char *end = (char *)addr + (PAGE_SIZE << s->gfporder);
	char *colour_end = (s->flags & CFLGS_OFF_SLAB) ? (char *)slab->s_mem : (char *)slab;

	if (kasan_skips(s, addr))
		return;
	kasan_poison(addr, (size_t)(colour_end - (char *)addr));
	kasan_poison(slab->s_mem, (size_t)(end - (char *)slab->s_mem));
}

void kasan_slab_alloc(struct kmem_cache *s, void *obj)
{
	if (obj && !kasan_skips(s, obj))
		kasan_unpoison(obj, s->object_size);
}

bool kasan_slab_free(struct kmem_cache *s, void *obj)
{
	if (kasan_skips(s, obj))
		return false;
	if (unlikely(__asan_address_is_poisoned(obj))) {
		/* Objects have at least one byte: a poisoned first byte is a free object. */
		kmem_bug("BUG %s (KASAN): Object already free\n"
			 "Double free of %p: its first byte is poisoned; the free is ignored\n",
			 s->name, obj);
		__sanitizer_print_stack_trace();
		return true;
	}
	kasan_poison(obj, s->size);
	return false;
}

void *kasan_kmalloc(struct kmem_cache *s, void *obj, size_t size)
{
	if (obj && !kasan_skips(s, obj) && size < s->object_size)
		kasan_poison((char *)obj + size, s->object_size - size);
	return obj;
}

void *kasan_kmalloc_large(void *ptr, size_t size)
{
	size_t bytes = PAGE_SIZE << get_order(size);

	if (ptr && size < bytes)
		kasan_poison((char *)ptr + size, bytes - size);
	return ptr;
}

void kasan_alloc_pages(struct page *page, unsigned int order)
{
	kasan_unpoison(__page_address(page), PAGE_SIZE << order);
}

void kasan_free_pages(struct page *page, unsigned int order)
{
	kasan_poison(__page_address(page), PAGE_SIZE << order);
}

void kasan_release_arena(void)
{
	size_t arena = kmem_memory.max_pfn << PAGE_SHIFT;

	for (unsigned long b = 0; b < KASAN_MAX_BLOCKS && (b << KASAN_BLOCK_SHIFT) < arena; b++) {
		unsigned long bit = 1UL << (b % BITS_PER_LONG);

		if (!(kasan_touched[b / BITS_PER_LONG] & bit))
			continue;
		size_t off = b << KASAN_BLOCK_SHIFT;

		kasan_unpoison(kmem_memory.base + off, min(arena - off, 1UL << KASAN_BLOCK_SHIFT));
	}
	if (kasan_touched_beyond)
		kasan_unpoison(kmem_memory.base + (KASAN_MAX_BLOCKS << KASAN_BLOCK_SHIFT),
			       arena - (KASAN_MAX_BLOCKS << KASAN_BLOCK_SHIFT));
	memset(kasan_touched, 0, sizeof(kasan_touched));
	kasan_touched_beyond = false;
}

#endif /* CONFIG_KASAN */
