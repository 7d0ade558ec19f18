// SPDX-License-Identifier: MIT
/*
 * Huge allocations: sizes above what kmalloc serves (KMALLOC_MAX_SIZE, 4 MiB)
 * and alignments above it, and blocks that realloc grew past 256 KiB. Each is a private anonymous mapping of its own,
 * given back with munmap at free and resized with mremap at realloc. Fresh
 * mappings read zero, so calloc of a gigabyte touches nothing.
 *
 * free() must tell such a pointer from a foreign one (one kmem never handed
 * out), so every mapping is in a table: open addressing on the start
 * address, linear probing, deletion by backward shift (no tombstones), grown
 * to keep the load under a half. The table's memory is a mapping too: it
 * never calls back into malloc. huge_lock protects it; it is a leaf lock
 * (nothing else is taken under it) held across fork by the fork handlers.
 */
#include "malloc.h"
#include "mm/internal.h"
#include "platform/os.h"

struct huge_entry {
	uintptr_t addr; /* 0: empty slot */
	size_t size; /* bytes mapped, a multiple of PAGE_SIZE */
};

#define HUGE_MIN_SLOTS 256

static DEFINE_SPINLOCK(huge_lock);
static struct huge_entry *huge_table;
static size_t huge_slots; /* a power of two */
static size_t huge_nr, huge_bytes;

static size_t huge_hash(uintptr_t addr)
{
	return (size_t)(((addr >> PAGE_SHIFT) * 0x9e3779b97f4a7c15ull) >> 32) & (huge_slots - 1);
}

/* The slot holding @addr, or the empty slot where it would go. huge_lock held. */
static struct huge_entry *huge_slot(uintptr_t addr)
{
	size_t i = huge_hash(addr);

	while (huge_table[i].addr && huge_table[i].addr != addr)
		i = (i + 1) & (huge_slots - 1);
	return &huge_table[i];
}

/* Double the table (or make the first). huge_lock held. Returns false when out of memory. */
static bool huge_grow(void)
{
	struct huge_entry *old = huge_table;
	size_t old_slots = huge_slots;
	size_t slots = old_slots ? 2 * old_slots : HUGE_MIN_SLOTS;
	struct huge_entry *table = os_map(slots * sizeof(*table), PAGE_SIZE);

	if (!table)
		return false;
	huge_table = table;
	huge_slots = slots;
	for (size_t i = 0; i < old_slots; i++)
		if (old[i].addr)
			*huge_slot(old[i].addr) = old[i];
	if (old)
		os_unreserve(old, old_slots * sizeof(*old));
	return true;
}

static bool huge_insert(uintptr_t addr, size_t size)
{
	bool ok = true;

	spin_lock(&huge_lock);
	if (2 * (huge_nr + 1) > huge_slots)
		ok = huge_grow();
	if (ok) {
		struct huge_entry *e = huge_slot(addr);

		e->addr = addr;
		e->size = size;
		huge_nr++;
		huge_bytes += size;
	}
	spin_unlock(&huge_lock);
	return ok;
}

/* Empty slot @i and shift later members of its probe run back. huge_lock held. */
static void huge_remove_slot(size_t i)
{
	size_t mask = huge_slots - 1;

	huge_nr--;
	huge_bytes -= huge_table[i].size;
	for (size_t j = (i + 1) & mask; huge_table[j].addr; j = (j + 1) & mask) {
		size_t home = huge_hash(huge_table[j].addr);

		/* j may move to i only if its home is not in (i, j] (cyclically). */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			huge_table[i] = huge_table[j];
			i = j;
		}
	}
	huge_table[i].addr = 0;
	huge_table[i].size = 0;
}

/* The entry of @ptr, or NULL. huge_lock held. */
static struct huge_entry *huge_find(const void *ptr)
{
	if (!huge_slots)
		return NULL;
	struct huge_entry *e = huge_slot((uintptr_t)ptr);

	return e->addr ? e : NULL;
}

void *huge_alloc(size_t size, size_t align)
{
	size_t len = ALIGN(size, PAGE_SIZE);

	if (len < size)
		return NULL;
	void *p = os_map(len, max(align, PAGE_SIZE));

	if (!p)
		return NULL;
	if (!huge_insert((uintptr_t)p, len)) {
		os_unreserve(p, len);
		return NULL;
	}
	return p;
}

bool huge_free(void *ptr)
{
	struct huge_entry *e;
	size_t len = 0;

	spin_lock(&huge_lock);
	e = huge_find(ptr);
	if (e) {
		len = e->size;
		huge_remove_slot((size_t)(e - huge_table));
	}
	spin_unlock(&huge_lock);
	if (!len)
		return false;
	os_unreserve(ptr, len);
	return true;
}

size_t huge_size(const void *ptr)
{
	struct huge_entry *e;
	size_t len;

	spin_lock(&huge_lock);
	e = huge_find(ptr);
	len = e ? e->size : 0;
	spin_unlock(&huge_lock);
	return len;
}

void *huge_realloc(void *ptr, size_t size)
{
	size_t len = ALIGN(size, PAGE_SIZE), old;
	struct huge_entry *e;

	if (len < size)
		return NULL;
	/*
	 * Out of the table while it moves: no other thread may free or resize
	 * the same allocation at the same time, so nobody looks for it.
	 */
	spin_lock(&huge_lock);
	e = huge_find(ptr);
	old = e ? e->size : 0;
	if (e)
		huge_remove_slot((size_t)(e - huge_table));
	spin_unlock(&huge_lock);
	if (!old)
		return NULL;
	void *p = os_remap(ptr, old, len);

	/*
	 * Back in. Only a table that cannot grow fails here, and then the
	 * mapping stays in use untracked: free() will take it for a foreign
	 * pointer and leak it, which beats handing back a pointer that is gone.
	 */
	huge_insert((uintptr_t)(p ? p : ptr), p ? len : old);
	return p;
}

void huge_stats(size_t *nr, size_t *bytes)
{
	spin_lock(&huge_lock);
	*nr = huge_nr;
	*bytes = huge_bytes;
	spin_unlock(&huge_lock);
}

void huge_fork_prepare(void)
{
	spin_lock(&huge_lock);
}

void huge_fork_parent(void)
{
	spin_unlock(&huge_lock);
}

void huge_fork_child(void)
{
	spin_lock_init(&huge_lock);
}
