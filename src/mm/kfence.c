// SPDX-License-Identifier: MIT
/*
 * KFENCE: sampled guard pages (mm/kfence/core.c and report.c of Linux 6.12).
 *
 * A low-overhead detector for production runs: now and then a slab
 * allocation is served from a page of its own instead of a slab, placed at
 * the page's right or left edge (alternately), with PROT_NONE guard pages on
 * both sides. An overrun past a right-placed object or an underrun before a
 * left-placed one faults at once; a freed object's page is made PROT_NONE,
 * so a use after free faults too. The fault handler reports the bug with the
 * object's cache and its alloc and free stacks, then makes the page
 * accessible and lets the access go on (or aborts in panic mode). The rest
 * of an object's page is a canary pattern, checked when it is freed, which
 * catches the small overruns that stay inside the page.
 *
 * The pool (KFENCE_POOL_SIZE, reserved at kmem_init from the buddy
 * allocator, so it has page descriptors, which are not PageSlab):
 *
 *   | guard | guard | object 0 | guard | object 1 | guard | ... | object 254 | guard |
 *     page 0  page 1  page 2     page 3  page 4
 *
 * Object i lives on page 2i + 2; odd pages and page 0 are guard pages.
 *
 * Sampling (KMEM_DEBUG "kfence=100ms" or "kfence=N"), on the slab slow path
 * only, so the inline fast paths are untouched: with kfence=T, kswapd opens
 * the allocation gate every interval and turns the fast paths off
 * (PCPU_SLOW_SAMPLE); the next allocation takes the gate and is served here,
 * and kswapd turns them back on. With kfence=N, every N-th allocation that
 * reaches the slow path by itself is. See docs/KFENCE.md.
 *
 * Metadata per object (state, size, cache, owners) lives here, outside the
 * pool. Freed objects go to the tail of the free list, so a page stays
 * protected for as long as possible before it is handed out again.
 *
 * Lock order: n->list_lock (free_block) -> meta->lock -> kfence_freelist_lock.
 * The fault handler takes meta->lock of the object it reports on: kfence never
 * touches a protected page with a lock held.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kfence.h"
#include "platform/os.h"
#include "platform/stacktrace.h"

char *__kfence_pool;
bool kfence_enabled;

enum kfence_object_state {
	KFENCE_OBJECT_UNUSED, /* never handed out */
	KFENCE_OBJECT_ALLOCATED,
	KFENCE_OBJECT_FREED, /* page protected until it is handed out again */
};

struct kfence_metadata {
	struct list_head list; /* on kfence_freelist while not allocated */
	spinlock_t lock;
	enum kfence_object_state state;
	uintptr_t addr; /* the object: its page's start, or its page's end - size */
	size_t size;
	struct kmem_cache *cache;
	uintptr_t unprotected_page; /* a guard page opened after an out-of-bounds report */
	struct track alloc_track, free_track;
};

enum kfence_counter_id {
	KFENCE_COUNTER_ALLOCATED,
	KFENCE_COUNTER_ALLOCS,
	KFENCE_COUNTER_FREES,
	KFENCE_COUNTER_BUGS,
	KFENCE_COUNTER_SKIP_INCOMPAT,
	KFENCE_COUNTER_SKIP_CAPACITY,
	KFENCE_COUNTER_COUNT,
};

static const char *const counter_names[KFENCE_COUNTER_COUNT] = {
	[KFENCE_COUNTER_ALLOCATED] = "currently allocated",
	[KFENCE_COUNTER_ALLOCS] = "total allocations",
	[KFENCE_COUNTER_FREES] = "total frees",
	[KFENCE_COUNTER_BUGS] = "total bugs",
	[KFENCE_COUNTER_SKIP_INCOMPAT] = "skipped allocations (incompatible)",
	[KFENCE_COUNTER_SKIP_CAPACITY] = "skipped allocations (capacity)",
};

enum kfence_error_type {
	KFENCE_ERROR_OOB,
	KFENCE_ERROR_UAF,
	KFENCE_ERROR_CORRUPTION,
	KFENCE_ERROR_INVALID,
	KFENCE_ERROR_INVALID_FREE,
};

static struct kfence_param kfence_param;
static struct kfence_metadata kfence_metadata[KFENCE_NUM_OBJECTS] __large_bss;
static LIST_HEAD(kfence_freelist);
static DEFINE_SPINLOCK(kfence_freelist_lock);
static atomic_ulong counters[KFENCE_COUNTER_COUNT];
static atomic_ulong kfence_nr_candidates; /* kfence=N: slow-path allocations seen */

/*
 * kfence=T: the allocation gate (the kernel's kfence_allocation_gate and
 * static key). kswapd opens it every interval and turns the fast paths off
 * (PCPU_SLOW_SAMPLE), so the next allocation of any thread reaches the slow
 * path, takes the gate and wakes kswapd, which turns the fast paths back on.
 */
enum { KFENCE_GATE_CLOSED, KFENCE_GATE_OPEN, KFENCE_GATE_TAKEN };
static atomic_int kfence_allocation_gate;
static uint64_t kfence_next_sample_ns; /* kswapd's: when to open the gate */
static atomic_uint kfence_nr_placed; /* alternates right and left placement */

/* The canary byte at @addr (KFENCE_CANARY_PATTERN_U8): 0xaa with the address's low bits. */
static inline uint8_t canary_byte(uintptr_t addr)
{
	return (uint8_t)(0xaa ^ (addr & 7));
}

static inline uintptr_t pool_start(void)
{
	return (uintptr_t)__kfence_pool;
}

static inline uintptr_t metadata_to_pageaddr(const struct kfence_metadata *meta)
{
	return pool_start() + ((size_t)(meta - kfence_metadata) * 2 + 2) * PAGE_SIZE;
}

/* The object whose page holds @addr, or NULL for a guard page or outside the pool. */
static struct kfence_metadata *addr_to_metadata(uintptr_t addr)
{
	size_t page;

	if (!is_kfence_address((const void *)addr))
		return NULL;
	page = (addr - pool_start()) / PAGE_SIZE;
	if (page < 2 || (page & 1))
		return NULL;
	return &kfence_metadata[page / 2 - 1];
}

static inline long meta_index(const struct kfence_metadata *meta)
{
	return (long)(meta - kfence_metadata);
}

static void kfence_protect(uintptr_t addr, bool protect)
{
	int err = os_protect((void *)ALIGN_DOWN(addr, PAGE_SIZE), PAGE_SIZE, !protect);

	WARN_ON_ONCE(err, "kfence: cannot %s the page of %#lx: error %d\n",
		     protect ? "protect" : "unprotect", (unsigned long)addr, -err);
}

/* ------------------------------------------------------------ KMEM_DEBUG */

static int parse_interval(const char *s, const char *end, struct kfence_param *p)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = { { "us", 1000ULL }, { "ms", 1000000ULL }, { "s", 1000000000ULL } };
	uint64_t v = 0;
	const char *d = s;

	for (; d < end && *d >= '0' && *d <= '9'; d++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*d - '0');
	}
	if (d == s || !v)
		return -EINVAL;
	if (d == end) {
		p->every_nth = (unsigned long)v;
		return v > ~0U ? -EINVAL : 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if ((size_t)(end - d) == strlen(units[i].unit) &&
		    !memcmp(d, units[i].unit, end - d)) {
			if (v > UINT64_MAX / units[i].ns)
				return -EINVAL;
			p->interval_ns = v * units[i].ns;
			return 0;
		}
	}
	return -EINVAL;
}

int kfence_parse(const char *s, const char *end, const char *whole, struct kfence_param *p)
{
	memset(p, 0, sizeof(*p));
	p->on = true;
	if (end - s == 6) {
		p->interval_ns = KFENCE_DEFAULT_INTERVAL_NS;
		return 0;
	}
	if (!parse_interval(s + 7, end, p))
		return 0;
	pr_err("KMEM_DEBUG='%s': bad sampling in '%.*s': expected 'kfence' (every 100 ms), "
	       "'kfence=N' (one in N slow-path slab allocations, N from 1 to %u) or "
	       "'kfence=T' with T a positive time in us, ms or s (e.g. kfence=100ms)\n",
	       whole, (int)(end - s), s, ~0U);
	return -EINVAL;
}

void kfence_setup(const struct kfence_param *p)
{
	kfence_param = *p;
	for (int i = 0; i < KFENCE_COUNTER_COUNT; i++)
		atomic_store(&counters[i], 0);
}

/* ------------------------------------------------------------ reports */

static DEFINE_SPINLOCK(report_lock);

static const char *access_type(int is_write)
{
	return is_write < 0 ? "access" : is_write ? "write" : "read";
}

/* The current stack from @ip on (the faulting instruction), else from the caller. */
static void print_stack(const void *ip)
{
	struct stack_frame frames[32];
	unsigned int nr = stack_trace_save(frames, ARRAY_SIZE(frames)), first = 0;
	char sym[256];

	for (unsigned int i = 0; ip && i < nr; i++) {
		if (frames[i].ip == ip || (const char *)frames[i].ip == (const char *)ip + 1) {
			first = i;
			break;
		}
	}
	for (unsigned int i = first; i < nr && i < first + 16; i++) {
		stack_trace_symbol(frames[i].ip, sym, sizeof(sym));
		pr_err("    #%u %p %s\n", i - first, frames[i].ip, sym);
	}
}

static void print_object(const struct kfence_metadata *meta)
{
	pr_err("kfence-#%ld: %#lx-%#lx, size=%zu, cache=%s\n", meta_index(meta),
	       (unsigned long)meta->addr, (unsigned long)(meta->addr + meta->size - 1), meta->size,
	       meta->cache ? meta->cache->name : "(destroyed)");
	print_track("Allocated", &meta->alloc_track);
	print_track("Freed", &meta->free_track);
}

/* The freeing caller's stack, from its owner frame on (as an owner record shows it). */
static void print_caller(const struct track *t)
{
	char sym[256];

	for (unsigned int i = 0; i < TRACK_ADDRS_COUNT && t->addrs[i]; i++) {
		stack_trace_symbol(t->addrs[i], sym, sizeof(sym));
		pr_err("    #%u %p %s\n", i, t->addrs[i], sym);
	}
}

/*
 * kfence_report_error: the kernel's layout. @ip is the faulting instruction
 * (fault reports), else @caller is the stack of the free that found the bug.
 * The last line goes through kmem_bug(): counted, and fatal in panic mode.
 */
static void kfence_report_error(uintptr_t address, int is_write, const void *ip,
				const struct track *caller, const struct kfence_metadata *meta,
				enum kfence_error_type type, const char *action)
{
	char where[256];

	atomic_fetch_add(&counters[KFENCE_COUNTER_BUGS], 1);
	stack_trace_symbol(ip ? ip : caller->addrs[0], where, sizeof(where));
	spin_lock(&report_lock);
	pr_err("==================================================================\n");
	switch (type) {
	case KFENCE_ERROR_OOB: {
		bool left = address < meta->addr;
		unsigned long dist = left ? meta->addr - address :
					    address - (meta->addr + meta->size);

		pr_err("BUG: KFENCE: out-of-bounds %s in %s\n", access_type(is_write), where);
		pr_err("Out-of-bounds %s at %#lx (%luB %s of kfence-#%ld):\n",
		       access_type(is_write), (unsigned long)address, left ? dist : dist + 1,
		       left ? "left" : "right", meta_index(meta));
		break;
	}
	case KFENCE_ERROR_UAF:
		pr_err("BUG: KFENCE: use-after-free %s in %s\n", access_type(is_write), where);
		pr_err("Use-after-free %s at %#lx (in kfence-#%ld):\n", access_type(is_write),
		       (unsigned long)address, meta_index(meta));
		break;
	case KFENCE_ERROR_CORRUPTION:
		pr_err("BUG: KFENCE: memory corruption in %s\n", where);
		pr_err("Corrupted memory at %#lx (in kfence-#%ld): first byte %#x instead of %#x\n",
		       (unsigned long)address, meta_index(meta), *(const uint8_t *)address,
		       canary_byte(address));
		break;
	case KFENCE_ERROR_INVALID:
		pr_err("BUG: KFENCE: invalid %s in %s\n", access_type(is_write), where);
		pr_err("Invalid %s at %#lx:\n", access_type(is_write), (unsigned long)address);
		break;
	case KFENCE_ERROR_INVALID_FREE:
		pr_err("BUG: KFENCE: invalid free in %s\n", where);
		pr_err("Invalid free of %#lx (in kfence-#%ld):\n", (unsigned long)address,
		       meta ? meta_index(meta) : -1L);
		break;
	}
	if (ip)
		print_stack(ip);
	else
		print_caller(caller);
	pr_err("\n");
	if (meta)
		print_object(meta);
	if (type == KFENCE_ERROR_CORRUPTION) {
		uintptr_t from = ALIGN_DOWN(address, 16);

		print_section("Page", (const void *)from, 32);
	}
	pr_err("KFENCE: %s\n", action);
	spin_unlock(&report_lock);
	kmem_bug("==================================================================\n");
}

/* ------------------------------------------------------------ the fault handler */

/* kfence_handle_page_fault: an access to a guard page or a freed object. */
static bool kfence_handle_page_fault(void *fault_addr, void *ip, int is_write)
{
	uintptr_t addr = (uintptr_t)fault_addr;
	struct kfence_metadata *to_report = NULL;
	enum kfence_error_type type;
	size_t page;

	if (!is_kfence_address(fault_addr))
		return false;
	page = (addr - pool_start()) / PAGE_SIZE;
	if (page < 2 || (page & 1)) {
		/* A guard page: report on the nearer allocated neighbour. */
		struct kfence_metadata *left = addr_to_metadata(addr - PAGE_SIZE);
		struct kfence_metadata *right = addr_to_metadata(addr + PAGE_SIZE);
		uintptr_t dist_left = 0;

		if (left && READ_ONCE(left->state) == KFENCE_OBJECT_ALLOCATED) {
			to_report = left;
			dist_left = addr - (left->addr + left->size);
		}
		if (right && READ_ONCE(right->state) == KFENCE_OBJECT_ALLOCATED &&
		    (!to_report || dist_left > right->addr - addr))
			to_report = right;
		type = KFENCE_ERROR_OOB;
	} else {
		to_report = addr_to_metadata(addr);
		type = READ_ONCE(to_report->state) == KFENCE_OBJECT_FREED ? KFENCE_ERROR_UAF :
									    KFENCE_ERROR_INVALID;
	}
	if (!to_report) {
		kfence_report_error(addr, is_write, ip, NULL, NULL, KFENCE_ERROR_INVALID,
				    "unprotecting the page; the access proceeds");
	} else {
		spin_lock(&to_report->lock);
		if (type == KFENCE_ERROR_OOB)
			to_report->unprotected_page = ALIGN_DOWN(addr, PAGE_SIZE);
		kfence_report_error(addr, is_write, ip, NULL, to_report, type,
				    "unprotecting the page; the access proceeds");
		spin_unlock(&to_report->lock);
	}
	kfence_protect(addr, false);
	return true;
}

/* ------------------------------------------------------------ alloc and free */

static void set_canary(const struct kfence_metadata *meta)
{
	uintptr_t page = ALIGN_DOWN(meta->addr, PAGE_SIZE);

	for (uintptr_t a = page; a < meta->addr; a++)
		*(uint8_t *)a = canary_byte(a);
	for (uintptr_t a = meta->addr + meta->size; a < page + PAGE_SIZE; a++)
		*(uint8_t *)a = canary_byte(a);
}

/* The first corrupted canary byte of @meta's page, or 0. */
static uintptr_t check_canary(const struct kfence_metadata *meta)
{
	uintptr_t page = ALIGN_DOWN(meta->addr, PAGE_SIZE);

	for (uintptr_t a = page; a < meta->addr; a++)
		if (*(const uint8_t *)a != canary_byte(a))
			return a;
	for (uintptr_t a = meta->addr + meta->size; a < page + PAGE_SIZE; a++)
		if (*(const uint8_t *)a != canary_byte(a))
			return a;
	return 0;
}

static bool kfence_compatible(struct kmem_cache *s, size_t size, gfp_t flags)
{
	/* The pool lies in ZONE_NORMAL: DMA caches and GFP_DMA stay on slabs. */
	return size && size <= PAGE_SIZE && s->align <= PAGE_SIZE && !(flags & __GFP_DMA) &&
	       !(s->flags & SLAB_CACHE_DMA);
}

static bool kfence_sample_due(void)
{
	if (kfence_param.every_nth)
		return atomic_fetch_add_explicit(&kfence_nr_candidates, 1, memory_order_relaxed) %
			       kfence_param.every_nth ==
		       0;
	int open = KFENCE_GATE_OPEN;

	if (atomic_load_explicit(&kfence_allocation_gate, memory_order_relaxed) != open ||
	    !atomic_compare_exchange_strong(&kfence_allocation_gate, &open, KFENCE_GATE_TAKEN))
		return false;
	wakeup_kswapd(NULL); /* to turn the fast paths back on, as the kernel's irq_work */
	return true;
}

/*
 * kswapd's part of the gate (toggle_allocation_gate): open it when the
 * interval is over, close it once taken. Returns the ns until it wants to run
 * again (UINT64_MAX: only when woken).
 */
uint64_t kfence_timer(void)
{
	uint64_t now;

	if (!READ_ONCE(kfence_enabled) || kfence_param.every_nth)
		return UINT64_MAX;
	now = os_now_ns();
	switch (atomic_load(&kfence_allocation_gate)) {
	case KFENCE_GATE_TAKEN:
		pcpu_set_slow(PCPU_SLOW_SAMPLE, false);
		atomic_store(&kfence_allocation_gate, KFENCE_GATE_CLOSED);
		kfence_next_sample_ns = now + kfence_param.interval_ns;
		break;
	case KFENCE_GATE_CLOSED:
		if (now < kfence_next_sample_ns)
			break;
		atomic_store(&kfence_allocation_gate, KFENCE_GATE_OPEN);
		pcpu_set_slow(PCPU_SLOW_SAMPLE, true);
		return UINT64_MAX;
	default:
		return UINT64_MAX;
	}
	return kfence_next_sample_ns - now;
}

static struct kfence_metadata *kfence_get_free(void)
{
	struct kfence_metadata *meta = NULL;

	spin_lock(&kfence_freelist_lock);
	if (!list_empty(&kfence_freelist)) {
		meta = list_first_entry(&kfence_freelist, struct kfence_metadata, list);
		list_del_init(&meta->list);
	}
	spin_unlock(&kfence_freelist_lock);
	return meta;
}

noinline void *__kfence_alloc(struct kmem_cache *s, size_t size, gfp_t flags)
{
	struct kfence_metadata *meta;
	uintptr_t addr;

	if (!kfence_compatible(s, size, flags)) {
		atomic_fetch_add(&counters[KFENCE_COUNTER_SKIP_INCOMPAT], 1);
		return NULL;
	}
	if (!kfence_sample_due())
		return NULL;
	meta = kfence_get_free();
	if (!meta) {
		atomic_fetch_add(&counters[KFENCE_COUNTER_SKIP_CAPACITY], 1);
		return NULL;
	}
	spin_lock(&meta->lock);
	addr = metadata_to_pageaddr(meta);
	if (meta->state == KFENCE_OBJECT_FREED)
		kfence_protect(addr, false);
	/* Alternately at the right edge (overruns fault) and the left (underruns fault). */
	if (!(atomic_fetch_add(&kfence_nr_placed, 1) & 1))
		addr = ALIGN_DOWN(addr + PAGE_SIZE - size, max(s->align, 1U));
	meta->addr = addr;
	meta->size = size;
	meta->cache = s;
	set_track(&meta->alloc_track);
	memset(&meta->free_track, 0, sizeof(meta->free_track));
	WRITE_ONCE(meta->state, KFENCE_OBJECT_ALLOCATED);
	spin_unlock(&meta->lock);
	set_canary(meta);
	if (flags & __GFP_ZERO)
		memset((void *)addr, 0, size);
	if (s->ctor)
		s->ctor((void *)addr);
	atomic_fetch_add(&counters[KFENCE_COUNTER_ALLOCATED], 1);
	atomic_fetch_add(&counters[KFENCE_COUNTER_ALLOCS], 1);
	return (void *)addr;
}

/* kfence_guarded_free: check the canary, protect the page, queue it at the free list's tail. */
noinline void __kfence_free(void *addr)
{
	struct kfence_metadata *meta = addr_to_metadata((uintptr_t)addr);
	struct track t;
	uintptr_t corrupt;

	set_track(&t); /* here, so that the record starts at the code that called kmem */
	if (!meta) {
		kfence_report_error((uintptr_t)addr, -1, NULL, &t, NULL, KFENCE_ERROR_INVALID_FREE,
				    "a guard page, not an object: ignored");
		return;
	}
	spin_lock(&meta->lock);
	if (meta->state != KFENCE_OBJECT_ALLOCATED || meta->addr != (uintptr_t)addr) {
		kfence_report_error((uintptr_t)addr, -1, NULL, &t, meta, KFENCE_ERROR_INVALID_FREE,
				    meta->state == KFENCE_OBJECT_ALLOCATED ?
					    "not the object's start: ignored" :
					    "the object is not allocated (double free?): ignored");
		spin_unlock(&meta->lock);
		return;
	}
	if (meta->unprotected_page) {
		/* A guard page opened by an out-of-bounds report: closed again. */
		memset((void *)meta->unprotected_page, 0, PAGE_SIZE);
		kfence_protect(meta->unprotected_page, true);
		meta->unprotected_page = 0;
	}
	meta->free_track = t;
	WRITE_ONCE(meta->state, KFENCE_OBJECT_FREED);
	corrupt = check_canary(meta);
	if (corrupt)
		kfence_report_error(corrupt, -1, NULL, &t, meta, KFENCE_ERROR_CORRUPTION,
				    "the object is freed anyway");
	spin_unlock(&meta->lock);
	kfence_protect(meta->addr, true);
	spin_lock(&kfence_freelist_lock);
	list_add_tail(&meta->list, &kfence_freelist);
	spin_unlock(&kfence_freelist_lock);
	atomic_fetch_sub(&counters[KFENCE_COUNTER_ALLOCATED], 1);
	atomic_fetch_add(&counters[KFENCE_COUNTER_FREES], 1);
}

size_t kfence_ksize(const void *addr)
{
	struct kfence_metadata *meta = addr_to_metadata((uintptr_t)addr);

	if (!meta || READ_ONCE(meta->state) != KFENCE_OBJECT_ALLOCATED ||
	    meta->addr != (uintptr_t)addr)
		return 0;
	return meta->size;
}

void kfence_shutdown_cache(struct kmem_cache *s)
{
	for (int i = 0; __kfence_pool && i < KFENCE_NUM_OBJECTS; i++) {
		struct kfence_metadata *meta = &kfence_metadata[i];

		if (READ_ONCE(meta->cache) != s)
			continue;
		if (READ_ONCE(meta->state) == KFENCE_OBJECT_ALLOCATED) {
			pr_err("kmem_cache_destroy %s: kfence-#%d at %#lx still allocated; freed\n",
			       s->name, i, (unsigned long)meta->addr);
			print_track("Allocated", &meta->alloc_track);
			__kfence_free((void *)meta->addr);
		}
		WRITE_ONCE(meta->cache, NULL);
	}
}

/* ------------------------------------------------------------ set-up */

static struct page *kfence_pages;

void kfence_init(void)
{
	unsigned int order = get_order(KFENCE_POOL_SIZE);
	int err;

	if (!kfence_param.on || __kfence_pool)
		return;
	kfence_pages = alloc_pages(GFP_KERNEL | __GFP_NOWARN, order);
	if (!kfence_pages) {
		pr_warn("kfence: cannot allocate a pool of %zu KiB: kfence stays off\n",
			KFENCE_POOL_SIZE >> 10);
		return;
	}
	char *pool = page_address(kfence_pages);

	memset(kfence_metadata, 0, sizeof(kfence_metadata));
	INIT_LIST_HEAD(&kfence_freelist);
	for (int i = 0; i < KFENCE_NUM_OBJECTS; i++) {
		spin_lock_init(&kfence_metadata[i].lock);
		list_add_tail(&kfence_metadata[i].list, &kfence_freelist);
	}
	for (size_t page = 0; page < KFENCE_POOL_SIZE / PAGE_SIZE; page++)
		if (page < 2 || (page & 1))
			if (os_protect(pool + page * PAGE_SIZE, PAGE_SIZE, false))
				goto fail;
	__kfence_pool = pool;
	err = os_fault_handler_install(kfence_handle_page_fault);
	if (err) {
		pr_warn("kfence: cannot install the fault handler (error %d): kfence stays off\n",
			-err);
		goto fail;
	}
	atomic_store(&kfence_nr_candidates, 0);
	atomic_store(&kfence_allocation_gate, KFENCE_GATE_CLOSED);
	kfence_next_sample_ns = os_now_ns() + kfence_param.interval_ns;
	WRITE_ONCE(kfence_enabled, true);
	pr_info("kfence: initialized - using %zu bytes for %d objects at %p-%p\n", KFENCE_POOL_SIZE,
		KFENCE_NUM_OBJECTS, (void *)pool, (void *)(pool + KFENCE_POOL_SIZE));
	return;
fail:
	__kfence_pool = NULL;
	os_protect(pool, KFENCE_POOL_SIZE, true);
	__free_pages(kfence_pages, order);
	kfence_pages = NULL;
}

void kfence_exit(void)
{
	char *pool = __kfence_pool;

	if (!pool)
		return;
	WRITE_ONCE(kfence_enabled, false);
	/* kswapd has stopped: a gate it left open is closed here. */
	atomic_store(&kfence_allocation_gate, KFENCE_GATE_CLOSED);
	pcpu_set_slow(PCPU_SLOW_SAMPLE, false);
	os_fault_handler_remove();
	/* Live objects go with the arena, like the slabs of caches nobody destroyed. */
	__kfence_pool = NULL;
	os_protect(pool, KFENCE_POOL_SIZE, true);
	__free_pages(kfence_pages, get_order(KFENCE_POOL_SIZE));
	kfence_pages = NULL;
}

void kfence_stats_show(struct seq_file *m)
{
	seq_printf(m, "enabled: %d\n", READ_ONCE(kfence_enabled) ? 1 : 0);
	if (kfence_param.every_nth)
		seq_printf(m, "sample: one in %lu\n", kfence_param.every_nth);
	else
		seq_printf(m, "sample interval: %llu us\n",
			   (unsigned long long)(kfence_param.interval_ns / 1000));
	for (int i = 0; i < KFENCE_COUNTER_COUNT; i++)
		seq_printf(m, "%s: %lu\n", counter_names[i], atomic_load(&counters[i]));
}
