// SPDX-License-Identifier: MIT
/*
 * Slab debugging (the debug parts of mm/slab.c up to Linux 6.7, with SLUB's
 * reports and slub_debug= syntax): red zones, poisoning, owner tracking,
 * consistency checks on every free, leak reports and a validation walk.
 *
 * A debug cache (any of SLAB_DEBUG_FLAGS, from kmem_cache_create() or from
 * KMEM_DEBUG) keeps no per-CPU and no shared arrays: its arrays have limit
 * 0, so the inline fast paths of slab.h always miss and every alloc and free
 * reaches slab_alloc_slow()/slab_free_slow(), whose first test sends it
 * here. Objects go straight to and from their slab under the node's
 * list_lock, so the allocator always knows which objects are free: a double
 * free is found on the slab's free chain, and a bad free is reported and
 * ignored, so an object is never handed out twice. Caches without debugging
 * pay nothing: the fast paths are unchanged.
 *
 * A debug slot (cachep->size bytes; the object starts obj_offset into it):
 *
 *   | left red zone | object (object_size) | pad | red word | orig size | track[2] | align |
 *   ^ slot          ^ object                     ^ red_right  ^ orig_off  ^ track_off
 *
 *   - left red zone (SLAB_RED_ZONE): max(8, align) bytes of RED_ACTIVE or
 *     RED_INACTIVE words, so the object keeps the cache's alignment;
 *   - the right red zone starts at the size asked for (the object size, or
 *     for kmalloc the requested size, remembered per object): the bytes up
 *     to the word boundary are SLUB_RED_ACTIVE (0xcc) while allocated, then
 *     one RED_ACTIVE/RED_INACTIVE word, as SLAB's dbg_redzone2;
 *   - orig size: what kmalloc was asked for (the object size otherwise);
 *   - track[TRACK_ALLOC], track[TRACK_FREE] (SLAB_STORE_USER): the owner's
 *     stack, thread and time of the last alloc and free.
 *
 * Poisoning (SLAB_POISON): a free object is POISON_FREE ending in
 * POISON_END, checked when it is handed out again, validated or its slab
 * destroyed; a new one is POISON_INUSE up to the size asked for. Caches with
 * a constructor are not poisoned (the constructed state must survive while
 * an object is free: SLAB keeps its free list outside the objects), as SLUB
 * does; their red zones are still checked.
 *
 * Lock order: n->list_lock -> report_lock. Reports are printed with the node
 * lock held, so the object cannot change under the report.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kmemcheck.h"
#include "platform/os.h"
#include "platform/stacktrace.h"
#include "kfence.h"
#include "poison.h"
#include "slab.h"

/* ------------------------------------------------------------ KMEM_DEBUG */

#define BITS_PER_LONG (8 * sizeof(long))
#define BITS_TO_LONGS(n) (((n) + BITS_PER_LONG - 1) / BITS_PER_LONG)

#define DEBUG_STR_MAX 1024
#define DEBUG_DEFAULT_FLAGS                                                                        \
	(SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER)

/* The accepted KMEM_DEBUG, kept to match cache names against at creation. */
static char slab_debug_string[DEBUG_STR_MAX];

static const struct {
	char letter;
	slab_flags_t flag;
} debug_options[] = {
	{ 'f', SLAB_CONSISTENCY_CHECKS }, { 'z', SLAB_RED_ZONE }, { 'p', SLAB_POISON },
	{ 'u', SLAB_STORE_USER },	  { 't', SLAB_TRACE },	  { 'r', CFLGS_FREELIST_RANDOM },
};

/* The flags of options [s, end); -1 (after a message) on a letter we do not know. */
static long parse_options(const char *s, const char *end, const char *whole)
{
	slab_flags_t flags = 0;

	if (s == end)
		return DEBUG_DEFAULT_FLAGS; /* slub_debug=,dentry: everything for dentry */
	if (*s == '-' && end == s + 1)
		return 0;
	for (; s < end; s++) {
		char c = (char)(*s | 0x20);
		size_t i;

		for (i = 0; i < ARRAY_SIZE(debug_options); i++)
			if (debug_options[i].letter == c)
				break;
		if (i < ARRAY_SIZE(debug_options)) {
			flags |= debug_options[i].flag;
			continue;
		}
		if (c == 'a')
			pr_err("KMEM_DEBUG='%s': option 'A' (failslab) is not set here: use "
			       "KMEM_FAIL\n",
			       whole);
		else
			pr_err("KMEM_DEBUG='%s': unknown option '%c' in '%.*s': expected letters of "
			       "F (checks), Z (red zones), P (poison), U (owners), T (trace), "
			       "R (random free list), or '-' (off), or 'panic', or 'kfence[=...]'\n",
			       whole, *s, (int)(end - s), s);
		return -1;
	}
	return flags;
}

/* "kfence" or "kfence=...": sampled guard pages (kfence.c), not a cache option. */
static bool is_kfence_block(const char *s, const char *end)
{
	return end - s >= 6 && !memcmp(s, "kfence", 6) && (end - s == 6 || s[6] == '=');
}

/* Check one ';'-separated block: "options[,cache[,cache...]]", "panic" or "kfence[=...]". */

static int parse_block(const char *s, const char *end, const char *whole, bool *panic,
		       struct kfence_param *kfence)
{
	const char *comma = memchr(s, ',', end - s);

	if (end - s == 5 && !memcmp(s, "panic", 5)) {
		*panic = true;
		return 0;
	}
	if (is_kfence_block(s, end))
		return kfence_parse(s, end, whole, kfence);
	if (parse_options(s, comma ? comma : end, whole) < 0)
		return -EINVAL;
	while (comma) {
		const char *name = comma + 1;

		comma = memchr(name, ',', end - name);
		if (name == (comma ? comma : end)) {
			pr_err("KMEM_DEBUG='%s': an empty cache name in '%.*s'\n", whole,
			       (int)(end - s), s);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * KMEM_DEBUG, in the syntax of the kernel's slub_debug=: blocks separated by
 * ';', each "options" (every cache) or "options,name,name..." (caches whose
 * name matches one of the globs), plus "panic" and "kfence[=interval]"
 * (sampled guard pages, kfence.c). Read once per kmem_init,
 * before the first cache exists. 0, or -EINVAL after a message naming the
 * variable and the bad part.
 */
int slab_debug_setup(const char *str)
{
	struct kfence_param kfence = { 0 };
	bool panic = false;

	slab_debug_string[0] = '\0';
	kfence_setup(&kfence);
	if (!str)
		return 0;
	if (strlen(str) >= DEBUG_STR_MAX) {
		pr_err("KMEM_DEBUG is %zu characters long: at most %d\n", strlen(str),
		       DEBUG_STR_MAX - 1);
		return -EINVAL;
	}
	for (const char *s = str; *s;) {
		const char *end = strchrnul(s, ';');

		if (end > s && parse_block(s, end, str, &panic, &kfence))
			return -EINVAL;
		s = *end ? end + 1 : end;
	}
	strcpy(slab_debug_string, str);
	kmem_set_bug_panics(panic);
	kfence_setup(&kfence);
	return 0;
}

static bool block_names_match(const char *comma, const char *end, const char *name)
{
	char glob[128];

	while (comma) {
		const char *s = comma + 1, *next = memchr(s, ',', end - s);
		size_t len = (size_t)((next ? next : end) - s);

		if (len < sizeof(glob)) {
			memcpy(glob, s, len);
			glob[len] = '\0';
			if (!fnmatch(glob, name, 0))
				return true;
		}
		comma = next;
	}
	return false;
}

/*
 * The flags of a new cache: its own, plus KMEM_DEBUG's for its name (the
 * first block listing it, else the block without names). "-" adds nothing.
 */
slab_flags_t kmem_cache_flags(const char *name, slab_flags_t flags)
{
	long global = 0, mine = -1;

	for (const char *s = slab_debug_string; *s && mine < 0;) {
		const char *end = strchrnul(s, ';'), *comma = memchr(s, ',', end - s);

		if ((end - s == 5 && !memcmp(s, "panic", 5)) || is_kfence_block(s, end)) {
			/* not a cache option */
		} else if (!comma) {
			global = parse_options(s, end, slab_debug_string);
		} else if (block_names_match(comma, end, name)) {
			mine = parse_options(s, comma, slab_debug_string);
		}
		s = *end ? end + 1 : end;
	}
	return flags | (slab_flags_t)(mine >= 0 ? mine : global) | kmemcheck_cache_flags();
}

/* ------------------------------------------------------------ object layout */

enum track_item { TRACK_ALLOC, TRACK_FREE };

/*
 * The slot size of a debug cache, and its obj_offset. Only that is stored:
 * the rest lies at fixed distances after the object (see the top).
 */
size_t slab_debug_layout(struct kmem_cache *cachep, size_t size, size_t align, slab_flags_t flags)
{
	cachep->obj_offset = 0;
	if (!(flags & SLAB_DEBUG_FLAGS))
		return size;
	/* size is the object size rounded up to a word already. */
	if (flags & SLAB_RED_ZONE) {
		cachep->obj_offset = (unsigned int)max(BYTES_PER_WORD, align);
		size += BYTES_PER_WORD;
	}
	size += sizeof(size_t);
	if (flags & SLAB_STORE_USER)
		size += 2 * sizeof(struct track);
	return cachep->obj_offset + size;
}

/* From the object: the right red zone word, the size asked for, the owner records. */
static inline size_t red_right_off(const struct kmem_cache *c)
{
	return ALIGN((size_t)c->object_size, BYTES_PER_WORD);
}

static inline size_t orig_off(const struct kmem_cache *c)
{
	return red_right_off(c) + ((c->flags & SLAB_RED_ZONE) ? BYTES_PER_WORD : 0);
}

static inline void *slot_to_obj(struct kmem_cache *c, void *slot)
{
	return (char *)slot + c->obj_offset;
}

static inline void *obj_to_slot(struct kmem_cache *c, const void *obj)
{
	return (char *)obj - c->obj_offset;
}

static inline size_t *orig_size_ptr(struct kmem_cache *c, void *obj)
{
	return (size_t *)((char *)obj + orig_off(c));
}

static inline uint64_t *red_right_ptr(struct kmem_cache *c, void *obj)
{
	return (uint64_t *)((char *)obj + red_right_off(c));
}

static inline struct track *get_track(struct kmem_cache *c, void *obj, enum track_item item)
{
	return (struct track *)((char *)obj + orig_off(c) + sizeof(size_t)) + item;
}

static inline bool poisons(struct kmem_cache *c)
{
	return (c->flags & SLAB_POISON) && !c->ctor;
}

static void set_red_zones(struct kmem_cache *c, void *obj, uint64_t word, int pad_byte, size_t from)
{
	if (!(c->flags & SLAB_RED_ZONE))
		return;
	for (uint64_t *p = obj_to_slot(c, obj); (void *)p < obj; p++)
		*p = word;
	memset((char *)obj + from, pad_byte, red_right_off(c) - from);
	*red_right_ptr(c, obj) = word;
}

static void poison_obj(struct kmem_cache *c, void *obj)
{
	memset(obj, POISON_FREE, c->object_size - 1);
	((unsigned char *)obj)[c->object_size - 1] = POISON_END;
}

/* Every slot of a new slab: free red zones, poison or the constructor, no owners. */
void slab_debug_init_objs(struct kmem_cache *cachep, struct slab *slab)
{
	for (unsigned int i = 0; i < cachep->num; i++) {
		void *obj = slot_to_obj(cachep, index_to_obj(cachep, slab, i));

		set_red_zones(cachep, obj, RED_INACTIVE, SLUB_RED_INACTIVE, cachep->object_size);
		*orig_size_ptr(cachep, obj) = cachep->object_size;
		if (cachep->flags & SLAB_STORE_USER)
			memset(get_track(cachep, obj, TRACK_ALLOC), 0, 2 * sizeof(struct track));
		if (cachep->ctor)
			cachep->ctor(obj);
		else if (cachep->flags & SLAB_POISON)
			poison_obj(cachep, obj);
	}
	kmemcheck_new_slab(cachep, slab);
}

/*
 * CONFIG_SLAB_FREELIST_RANDOM: the free chain of a new slab in a random
 * order (Fisher-Yates), so the address of the next object is hard to guess
 * from the last one. The plain order otherwise.
 */
void slab_randomize_freelist(struct kmem_cache *cachep, struct slab *slab)
{
	kmem_bufctl_t *bufctl = slab_bufctl(slab);
	kmem_bufctl_t order[SLAB_LIMIT + 1];
	uint64_t x = os_now_ns() ^ (uintptr_t)slab->s_mem;
	unsigned int num = cachep->num;

	for (unsigned int i = 0; i < num; i++)
		order[i] = (kmem_bufctl_t)i;
	for (unsigned int i = num - 1; (cachep->flags & CFLGS_FREELIST_RANDOM) && i > 0; i--) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned int j = (unsigned int)(x % (i + 1));
		kmem_bufctl_t t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	slab->free = order[0];
	for (unsigned int i = 0; i + 1 < num; i++)
		bufctl[order[i]] = order[i + 1];
	bufctl[order[num - 1]] = BUFCTL_END;
}

/* ------------------------------------------------------------ owners */

/*
 * The functions an allocation or free passes through inside kmem, from the
 * public entry points to set_track(). A trace skips them: its first frame is
 * the owner, the code that called kmem. (Compared by function start, from
 * the unwinder: tail calls leave some of them off the stack, which does not
 * matter, and none of them is split into hot and cold parts.)
 */
static const void *kmem_path[128];
static unsigned int nr_kmem_path;
static DEFINE_SPINLOCK(kmem_path_lock);

/* Another layer's allocation functions (vmalloc, malloc): not owners either. */
void slab_debug_register_entry(const void *fn)
{
	spin_lock(&kmem_path_lock);
	for (unsigned int i = 0; i < nr_kmem_path; i++)
		if (kmem_path[i] == fn)
			goto out;
	if (nr_kmem_path < ARRAY_SIZE(kmem_path))
		kmem_path[nr_kmem_path++] = fn;
out:
	spin_unlock(&kmem_path_lock);
}

/* Set while a layer above allocates for kmem itself: never a leak (see slab.h). */
__thread bool slab_track_internal __attribute__((tls_model("initial-exec")));

static void register_kmem_path(void)
{
	static const void *const path[] = {
		kmem_cache_alloc,
		kmem_cache_alloc_node,
		kmem_cache_alloc_bulk,
		kmem_cache_free,
		kmem_cache_free_bulk,
		__kmalloc, /* also the exported kmalloc: the same address (slab_common.c) */
		kmalloc_node,
		kfree,
		kfree_sensitive,
		krealloc,
		kmemdup,
		kstrdup,
		kstrndup,
		kvmalloc,
		kvmalloc_node,
		kvfree,
		slab_alloc_slow,
		__slab_alloc_slow,
		slab_alloc_zero,
		slab_free_slow,
		__do_kmalloc_node,
		kfree_slow,
		slab_debug_alloc,
		slab_debug_free,
		__kfence_alloc,
		__kfence_free,
		free_block,
		set_track,
		stack_trace_save,
		/* mempool's: the owner is mempool_alloc's caller */
		mempool_alloc,
		mempool_alloc_preallocated,
		mempool_alloc_noreserve,
		mempool_free,
		mempool_alloc_slab,
		mempool_free_slab,
		mempool_kmalloc,
		mempool_kfree,
		mempool_kvmalloc,
		mempool_kvfree,
		mempool_init_node,
		mempool_resize,
	};

	static atomic_bool registered; /* other layers may have registered theirs first */

	if (atomic_load_explicit(&registered, memory_order_acquire))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(path); i++)
		slab_debug_register_entry(path[i]);
	atomic_store_explicit(&registered, true, memory_order_release);
}

static bool in_kmem_path(const void *func)
{
	unsigned int nr = READ_ONCE(nr_kmem_path);

	for (unsigned int i = 0; func && i < nr; i++)
		if (kmem_path[i] == func)
			return true;
	return false;
}

/*
 * C++'s global operator new and delete, every variant (mangled _Znw, _Zna,
 * _Zdl, _Zda: new, new[], delete, delete[]), call malloc and free: not
 * owners either, so a report names the function with the new expression.
 * Known by name, since libstdc++ may be any build or absent (dladdr()
 * allocates nothing, dlsym() of a missing name would); each answer is
 * cached by function start, as only a few functions ever come first.
 */
#define CXX_VERDICTS 64
static _Atomic uintptr_t cxx_verdicts[CXX_VERDICTS]; /* function start, | 1 for an operator */

static bool cxx_allocation_operator(const void *func)
{
	uintptr_t f = (uintptr_t)func;
	_Atomic uintptr_t *slot = &cxx_verdicts[(f >> 4) % CXX_VERDICTS];
	uintptr_t v = atomic_load_explicit(slot, memory_order_relaxed);

	if (!f)
		return false;
	if (!(f & 1) && (v & ~1UL) == f)
		return v & 1;
	const char *name = os_symbol_at(func);
	bool op = name && (!strncmp(name, "_Znw", 4) || !strncmp(name, "_Zna", 4) ||
			   !strncmp(name, "_Zdl", 4) || !strncmp(name, "_Zda", 4));

	if (!(f & 1)) /* an odd start would not survive the tag bit: asked again each time */
		atomic_store_explicit(slot, f | op, memory_order_relaxed);
	return op;
}

noinline void set_track(struct track *t)
{
	struct stack_frame frames[TRACK_ADDRS_COUNT + 16];
	unsigned int nr, first = 0;

	register_kmem_path();
	nr = stack_trace_save(frames, ARRAY_SIZE(frames));
	while (first < nr && in_kmem_path(frames[first].func))
		first++;
	while (first < nr && cxx_allocation_operator(frames[first].func))
		first++;
	memset(t->addrs, 0, sizeof(t->addrs));
	for (unsigned int i = 0; first + i < nr && i < TRACK_ADDRS_COUNT; i++)
		t->addrs[i] = frames[first + i].ip;
	t->when = os_now_ns();
	t->tid = os_gettid();
	t->internal = slab_track_internal;
}

void slab_debug_mark_internal(struct kmem_cache *cachep, void *objp)
{
	kmemcheck_quiet(cachep);
	if (cachep->flags & SLAB_STORE_USER)
		get_track(cachep, objp, TRACK_ALLOC)->internal = 1;
	kmemcheck_loud(cachep);
}

/* ------------------------------------------------------------ reports */

static DEFINE_SPINLOCK(report_lock);

void print_track(const char *s, const struct track *t)
{
	char sym[256];

	if (!t->when) {
		pr_err("%s: never\n", s);
		return;
	}
	stack_trace_symbol(t->addrs[0], sym, sizeof(sym));
	pr_err("%s in %s age=%llu ms tid=%d\n", s, sym,
	       (unsigned long long)((os_now_ns() - t->when) / 1000000), t->tid);
	for (unsigned int i = 0; i < TRACK_ADDRS_COUNT && t->addrs[i]; i++) {
		stack_trace_symbol(t->addrs[i], sym, sizeof(sym));
		pr_err("    #%u %p %s\n", i, t->addrs[i], sym);
	}
}

/* print_hex_dump of [addr, addr + len), 16 bytes a line, at most 256 bytes. */
void print_section(const char *text, const void *addr, size_t len)
{
	const unsigned char *p = addr;

	len = min(len, (size_t)256);
	for (size_t off = 0; off < len; off += 16) {
		char hex[16 * 3 + 1], ascii[17];
		size_t n = min((size_t)16, len - off), i;

		for (i = 0; i < n; i++) {
			unsigned char b = p[off + i];

			snprintf(hex + 3 * i, 4, "%02x ", b);
			ascii[i] = b >= 0x20 && b < 0x7f ? (char)b : '.';
		}
		hex[3 * n - 1] = '\0';
		ascii[n] = '\0';
		pr_err("%-8s %p: %-47s  %s\n", text, (const void *)(p + off), hex, ascii);
	}
}

static void slab_bug(struct kmem_cache *c, const char *fmt, ...) __printf(2, 3);

static void slab_bug(struct kmem_cache *c, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	pr_err("=============================================================================\n");
	pr_err("BUG %s (%s): %s\n", c->name, os_comm(), what);
	pr_err("-----------------------------------------------------------------------------\n");
}

/* The action taken, last: the one line counted as a caught bug (and fatal in panic mode). */
#define slab_fix(c, fmt, ...) kmem_bug("FIX %s: " fmt "\n", (c)->name, ##__VA_ARGS__)

/* The object's owners and bytes, around @hint (an address inside the slot, or NULL). */
static void print_trailer(struct kmem_cache *c, struct slab *slab, void *obj, const void *hint)
{
	size_t orig = *orig_size_ptr(c, obj);

	pr_err("Slab %p objects=%u used=%u fp=%#x\n", (void *)slab, c->num, slab->inuse,
	       slab->free);
	pr_err("Object %p @offset=%zu size %zu of %u\n", obj,
	       (size_t)((char *)obj - (char *)slab->s_mem), orig, c->object_size);
	if (c->flags & SLAB_STORE_USER) {
		print_track("Allocated", get_track(c, obj, TRACK_ALLOC));
		print_track("Freed", get_track(c, obj, TRACK_FREE));
	}
	if (c->flags & SLAB_RED_ZONE)
		print_section("Redzone", obj_to_slot(c, obj), c->obj_offset);
	size_t from = 0, len = c->object_size;

	if (hint && (const char *)hint >= (char *)obj && (const char *)hint < (char *)obj + len &&
	    len > 256)
		from = ALIGN_DOWN((size_t)((const char *)hint - (char *)obj), 16);
	print_section("Object", (char *)obj + from, min(len - from, (size_t)256));
	if (c->flags & SLAB_RED_ZONE) {
		if (red_right_off(c) > c->object_size)
			print_section("Padding", (char *)obj + c->object_size,
				      red_right_off(c) - c->object_size);
		print_section("Redzone", red_right_ptr(c, obj), BYTES_PER_WORD);
	}
}

/*
 * check_bytes_and_report: [start, start + len) should all be @value.
 * Reports the first and last byte that is not, restores them. Returns false
 * when something was wrong.
 */
static bool check_bytes(struct kmem_cache *c, struct slab *slab, void *obj, const char *what,
			void *start, int value, size_t len)
{
	unsigned char *p = start, *first = NULL, *last = NULL;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == (unsigned char)value)
			continue;
		if (!first)
			first = p + i;
		last = p + i;
	}
	if (!first)
		return true;
	spin_lock(&report_lock);
	slab_bug(c, "%s overwritten", what);
	pr_err("%p-%p @offset=%zd. First byte %#x instead of %#x\n", (void *)first, (void *)last,
	       (char *)first - (char *)obj, *first, value & 0xff);
	print_trailer(c, slab, obj, first);
	memset(first, value, last - first + 1);
	slab_fix(c, "Restoring %s %p-%p=%#x", what, (void *)first, (void *)last, value & 0xff);
	spin_unlock(&report_lock);
	return false;
}

static bool check_word(struct kmem_cache *c, struct slab *slab, void *obj, const char *what,
		       uint64_t *p, uint64_t value)
{
	if (*p == value)
		return true;
	spin_lock(&report_lock);
	slab_bug(c, "%s overwritten", what);
	pr_err("%p: %#llx instead of %#llx (%s)\n", (void *)p, (unsigned long long)*p,
	       (unsigned long long)value, value == RED_ACTIVE ? "RED_ACTIVE" : "RED_INACTIVE");
	print_trailer(c, slab, obj, p);
	*p = value;
	slab_fix(c, "Restoring %s %p=%#llx", what, (void *)p, (unsigned long long)value);
	spin_unlock(&report_lock);
	return false;
}

/*
 * check_object: the red zones (and, for a free object, the poison) of @obj
 * are intact; what is not is reported and restored. Returns the problems.
 */
static int check_object(struct kmem_cache *c, struct slab *slab, void *obj, bool active)
{
	uint64_t word = active ? RED_ACTIVE : RED_INACTIVE;
	int problems = 0;

	if (c->flags & SLAB_RED_ZONE) {
		size_t from = active ? *orig_size_ptr(c, obj) : c->object_size;

		for (uint64_t *p = obj_to_slot(c, obj); (void *)p < obj; p++)
			problems += !check_word(c, slab, obj, "Left Redzone", p, word);
		if (from > red_right_off(c))
			from = red_right_off(c); /* a corrupt orig size: check what can be */
		problems += !check_bytes(c, slab, obj, "Right Redzone", (char *)obj + from,
					 active ? SLUB_RED_ACTIVE : SLUB_RED_INACTIVE,
					 red_right_off(c) - from);
		problems += !check_word(c, slab, obj, "Right Redzone", red_right_ptr(c, obj), word);
	}
	if (!active && poisons(c)) {
		problems +=
			!check_bytes(c, slab, obj, "Poison", obj, POISON_FREE, c->object_size - 1);
		problems += !check_bytes(c, slab, obj, "Poison", (char *)obj + c->object_size - 1,
					 POISON_END, 1);
	}
	return problems;
}

/* Is slot @idx on @slab's free chain? (Bounded: a looping chain is not followed forever.) */
static bool on_free_chain(struct kmem_cache *c, struct slab *slab, unsigned int idx)
{
	unsigned int steps = 0;

	for (kmem_bufctl_t i = slab->free; i != BUFCTL_END && steps <= c->num;
	     i = slab_bufctl(slab)[i], steps++) {
		if (i >= c->num)
			return false;
		if (i == idx)
			return true;
	}
	return false;
}

/* ------------------------------------------------------------ alloc and free */

/* A slot just taken from its slab: checked, red zones active, owner recorded. n->list_lock held. */
static void *alloc_debugcheck(struct kmem_cache *c, struct slab *slab, void *slot, size_t orig,
			      gfp_t flags, const struct track *t)
{
	void *obj = slot_to_obj(c, slot);

	kmemcheck_quiet(c); /* kmem's own look at a slot memcheck sees as free */
	check_object(c, slab, obj, false);
	*orig_size_ptr(c, obj) = orig;
	set_red_zones(c, obj, RED_ACTIVE, SLUB_RED_ACTIVE, orig);
	if (c->flags & SLAB_STORE_USER)
		*get_track(c, obj, TRACK_ALLOC) = *t;
	if (poisons(c))
		memset(obj, POISON_INUSE, orig);
	if (flags & __GFP_ZERO)
		memset(obj, 0, orig);
	if (c->flags & SLAB_TRACE)
		pr_info("TRACE %s alloc %p inuse=%u\n", c->name, obj, slab->inuse);
	kmemcheck_loud(c);
	kmemcheck_slab_alloc(c, obj, orig, flags);
	return obj;
}

/*
 * One object for a debug cache, from @nodeid's slabs; @orig is the size
 * asked for (kmalloc's request, else the object size).
 */
void *slab_debug_alloc(struct kmem_cache *cachep, gfp_t flags, int nodeid, size_t orig_size)
{
	struct track t = { 0 };

	if ((flags & __GFP_ZERO) && cachep->ctor) {
		pr_err("kmem_cache_alloc: __GFP_ZERO on cache %s, which has a constructor: "
		       "refused\n",
		       cachep->name);
		return NULL;
	}
	void *sample = kfence_alloc(cachep, orig_size, flags);

	if (sample)
		return sample;
	if (cachep->flags & SLAB_STORE_USER)
		set_track(&t);
	for (;;) {
		struct kmem_cache_node *n = cachep->node[nodeid];

		struct slab *slab;

		spin_lock(&n->list_lock);
		void *slot = cache_alloc_from_node(cachep, n, &slab);
		void *obj = slot ? alloc_debugcheck(cachep, slab, slot, orig_size, flags, &t) :
				   NULL;

		spin_unlock(&n->list_lock);
		if (obj)
			return obj;
		int node = cache_grow(cachep, flags, nodeid);

		if (node < 0)
			return NULL;
		nodeid = node;
	}
}

/*
 * Is @objp an object start of @cachep? Reports and returns NULL when not:
 * not kmem's, not a slab, another cache's, or inside an object.
 */
static struct slab *free_pointer_check(struct kmem_cache *c, const void *objp)
{
	if (!kmem_addr_valid(objp) || !PageSlab(__virt_to_page(objp))) {
		spin_lock(&report_lock);
		slab_bug(c, "Invalid object pointer %p", objp);
		pr_err("%p is %s\n", objp,
		       kmem_addr_valid(objp) ? "not in a slab page" :
					       "not an address kmem handed out");
		slab_fix(c, "Object at %p not freed", objp);
		spin_unlock(&report_lock);
		return NULL;
	}
	struct page *page = __virt_to_page(objp);
	struct kmem_cache *owner = page->slab_cache;

	if (owner != c) {
		spin_lock(&report_lock);
		slab_bug(c, "Wrong slab cache: object %p is from %s", objp, owner->name);
		slab_fix(c, "Object at %p not freed", objp);
		spin_unlock(&report_lock);
		return NULL;
	}
	size_t offset = (size_t)((const char *)objp - (const char *)page->s_mem);

	if ((const char *)objp < (const char *)page->s_mem || offset % c->size ||
	    offset / c->size >= c->num) {
		slab_debug_bad_pointer(c, objp, "kmem_cache_free", NULL);
		return NULL;
	}
	return page->slab;
}

/* The object containing @p (NULL if none), for reports of pointers into the middle. */
static void *containing_object(struct kmem_cache *c, struct slab *slab, const void *p)
{
	if ((const char *)p < (const char *)slab->s_mem)
		return NULL;
	size_t idx = (size_t)((const char *)p - (const char *)slab->s_mem) / c->size;

	return idx < c->num ? slot_to_obj(c, index_to_obj(c, slab, (unsigned int)idx)) : NULL;
}

/* A free or kfree of a pointer inside a debug cache's slab that is no object start. */
void slab_debug_bad_pointer(struct kmem_cache *cachep, const void *objp, const char *who,
			    void *caller)
{
	struct slab *slab = virt_to_slab(objp);
	struct kmem_cache_node *n = cachep->node[slab->nodeid];
	void *obj = containing_object(cachep, slab, objp);

	spin_lock(&n->list_lock);
	spin_lock(&report_lock);
	kmemcheck_quiet(cachep);
	slab_bug(cachep, "%s(%p): not the start of an object", who, objp);
	if (obj) {
		unsigned int idx = obj_to_index(cachep, slab, obj_to_slot(cachep, obj));

		pr_err("%p is %td bytes into the %s object %p\n", objp,
		       (const char *)objp - (char *)obj,
		       on_free_chain(cachep, slab, idx) ? "free" : "allocated", obj);
		print_trailer(cachep, slab, obj, objp);
	}
	slab_fix(cachep, "Object at %p not freed", objp);
	kmemcheck_loud(cachep);
	spin_unlock(&report_lock);
	spin_unlock(&n->list_lock);
}

/*
 * The always-on check of caches without debugging: @objp is already the
 * last object in this thread's array. Nothing is known of its owners, so
 * the report names the cache, the address and the caller, and the free is
 * ignored: the object stays in the array once.
 */
void slab_double_free(struct kmem_cache *cachep, void *objp, void *caller)
{
	spin_lock(&report_lock);
	slab_bug(cachep, "Object already free");
	pr_err("Double free of %p (called from %p): it is the last object this thread freed\n",
	       objp, caller);
	slab_fix(cachep, "Object at %p not freed", objp);
	spin_unlock(&report_lock);
}

static void report_double_free(struct kmem_cache *c, struct slab *slab, void *obj)
{
	spin_lock(&report_lock);
	slab_bug(c, "Object already free");
	pr_err("Double free of %p\n", obj);
	print_trailer(c, slab, obj, NULL);
	slab_fix(c, "Object at %p not freed", obj);
	spin_unlock(&report_lock);
}

/*
 * Free into a debug cache: consistency checks, double-free check on the
 * slab's free chain, red zones, then poison and back to the slab, all under
 * the node's lock. A bad free is reported and ignored.
 */
void slab_debug_free(struct kmem_cache *cachep, void *objp)
{
	struct slab *slab = free_pointer_check(cachep, objp);
	struct track t = { 0 };
	LIST_HEAD(list);

	if (!slab)
		return;
	if (cachep->flags & SLAB_STORE_USER)
		set_track(&t);
	int node = slab->nodeid;
	struct kmem_cache_node *n = cachep->node[node];
	void *slot = obj_to_slot(cachep, objp);

	spin_lock(&n->list_lock);
	kmemcheck_quiet(cachep);
	if (on_free_chain(cachep, slab, obj_to_index(cachep, slab, slot))) {
		report_double_free(cachep, slab, objp);
		kmemcheck_loud(cachep);
		spin_unlock(&n->list_lock);
		return;
	}
	kmemcheck_slab_free(cachep, objp);
	check_object(cachep, slab, objp, true);
	if (cachep->flags & SLAB_STORE_USER)
		*get_track(cachep, objp, TRACK_FREE) = t;
	if (cachep->flags & SLAB_TRACE)
		pr_info("TRACE %s free %p inuse=%u\n", cachep->name, objp, slab->inuse - 1);
	set_red_zones(cachep, objp, RED_INACTIVE, SLUB_RED_INACTIVE, cachep->object_size);
	*orig_size_ptr(cachep, objp) = cachep->object_size;
	if (poisons(cachep))
		poison_obj(cachep, objp);
	kmemcheck_loud(cachep);
	free_block(cachep, &slot, 1, node, &list);
	spin_unlock(&n->list_lock);
	slabs_destroy(&list);
}

/* ksize of a debug kmalloc object: what was asked for, so callers stay off the red zone. */
size_t slab_debug_ksize(struct kmem_cache *cachep, const void *objp)
{
	kmemcheck_quiet(cachep);
	size_t size = *orig_size_ptr(cachep, (void *)objp);

	kmemcheck_loud(cachep);
	return size;
}

/* A slab on its way back to the page allocator: every object is free and must be intact. */
void slab_debug_destroy_check(struct kmem_cache *cachep, struct slab *slab)
{
	kmemcheck_free_slab(cachep, slab);
	for (unsigned int i = 0; i < cachep->num; i++)
		check_object(cachep, slab, slot_to_obj(cachep, index_to_obj(cachep, slab, i)),
			     false);
}

/* ------------------------------------------------------------ validation */

/* Free objects of @slab, from its chain, as a bitmap; false if the chain is broken. */
static bool free_bitmap(struct kmem_cache *c, struct slab *slab, unsigned long *map,
			unsigned int *nr_free)
{
	unsigned int nr = 0;

	memset(map, 0, BITS_TO_LONGS(c->num) * sizeof(long));
	for (kmem_bufctl_t i = slab->free; i != BUFCTL_END; i = slab_bufctl(slab)[i]) {
		if (i >= c->num || (map[i / BITS_PER_LONG] >> (i % BITS_PER_LONG) & 1))
			return false;
		map[i / BITS_PER_LONG] |= 1UL << (i % BITS_PER_LONG);
		nr++;
	}
	*nr_free = nr;
	return true;
}

static int validate_slab(struct kmem_cache *c, struct slab *slab, int list_kind, int nid)
{
	unsigned long map[BITS_TO_LONGS(SLAB_LIMIT + 1)];
	unsigned int nr_free;
	int problems = 0;

	if (!free_bitmap(c, slab, map, &nr_free) || slab->inuse != c->num - nr_free ||
	    slab->nodeid != nid || (list_kind == 1 && slab->inuse != c->num) ||
	    (list_kind == 2 && slab->inuse) ||
	    (list_kind == 0 && (!slab->inuse || slab->inuse == c->num))) {
		spin_lock(&report_lock);
		slab_bug(c, "Slab %p: free chain, inuse %u and list disagree", (void *)slab,
			 slab->inuse);
		pr_err("Slab %p on %s of node %d: inuse %u, objects %u, free chain %s\n",
		       (void *)slab,
		       list_kind == 0 ? "slabs_partial" :
		       list_kind == 1 ? "slabs_full" :
					"slabs_free",
		       nid, slab->inuse, c->num, "broken or not matching");
		slab_fix(c, "Slab %p left as it is", (void *)slab);
		spin_unlock(&report_lock);
		return 1;
	}
	if (!(c->flags & SLAB_DEBUG_FLAGS))
		return 0;
	for (unsigned int i = 0; i < c->num; i++) {
		bool is_free = map[i / BITS_PER_LONG] >> (i % BITS_PER_LONG) & 1;

		problems +=
			check_object(c, slab, slot_to_obj(c, index_to_obj(c, slab, i)), !is_free);
	}
	return problems;
}

static int validate_cache(struct kmem_cache *c)
{
	int problems = 0, nid;

	for_each_online_node(nid) {
		struct kmem_cache_node *n = c->node[nid];
		struct list_head *lists[3] = { &n->slabs_partial, &n->slabs_full, &n->slabs_free };
		unsigned long free_objects = 0, slabs = 0, free_slabs = 0;
		struct slab *slab;

		spin_lock(&n->list_lock);
		for (int l = 0; l < 3; l++) {
			list_for_each_entry(slab, lists[l], list) {
				problems += validate_slab(c, slab, l, nid);
				free_objects += c->num - slab->inuse;
				slabs++;
				free_slabs += l == 2;
			}
		}
		if (free_objects != n->free_objects || slabs != n->total_slabs ||
		    free_slabs != n->free_slabs) {
			spin_lock(&report_lock);
			slab_bug(c, "node %d counters disagree with its lists", nid);
			pr_err("lists: %lu slabs (%lu free), %lu free objects; node: %lu slabs "
			       "(%lu free), %lu free objects\n",
			       slabs, free_slabs, free_objects, n->total_slabs, n->free_slabs,
			       n->free_objects);
			slab_fix(c, "Counters left as they are");
			spin_unlock(&report_lock);
			problems++;
		}
		spin_unlock(&n->list_lock);
	}
	return problems;
}

/* validate_cache: under memcheck, kmem reads free slots, which memcheck sees as no-access. */
static int validate_cache_quietly(struct kmem_cache *c)
{
	kmemcheck_quiet(c);
	int problems = validate_cache(c);

	kmemcheck_loud(c);
	return problems;
}

/*
 * The validation walk (SLUB's validate_slab_cache): every slab of @cachep
 * (NULL: of every cache), its free chain against inuse and its list, the
 * node's counters, and for debug caches every object's red zones and every
 * free object's poison. Problems are reported (and red zones and poison
 * restored). Returns the number of problems.
 */
__export int kmem_cache_validate(struct kmem_cache *cachep)
{
	struct kmem_cache *c;
	int problems = 0;

	if (!atomic_load(&kmem_initialised))
		return 0;
	if (cachep)
		return validate_cache_quietly(cachep);
	spin_lock(&slab_mutex);
	list_for_each_entry(c, &slab_caches, list)
		problems += validate_cache_quietly(c);
	spin_unlock(&slab_mutex);
	return problems;
}

/* ------------------------------------------------------------ leaks */

#define LEAK_SITES 16

struct leak_site {
	struct track track; /* of the first object seen */
	void *obj;
	unsigned long count;
};

struct leak_scan {
	struct leak_site sites[LEAK_SITES];
	unsigned int nr_sites;
	unsigned long objects, other;
};

static void leak_add(struct kmem_cache *c, struct leak_scan *ls, void *obj)
{
	const struct track *t = NULL;
	void *site = NULL;

	if (c->flags & SLAB_STORE_USER) {
		t = get_track(c, obj, TRACK_ALLOC);
		if (t->internal)
			return;
		site = t->addrs[0];
	}
	ls->objects++;
	for (unsigned int i = 0; i < ls->nr_sites; i++) {
		/* Without owners, every object is its own "site" (its address is listed). */
		if (t && ls->sites[i].track.addrs[0] == site) {
			ls->sites[i].count++;
			return;
		}
	}
	if (ls->nr_sites == LEAK_SITES) {
		ls->other++;
		return;
	}
	struct leak_site *s = &ls->sites[ls->nr_sites++];

	memset(s, 0, sizeof(*s));
	if (t)
		s->track = *t;
	s->obj = obj;
	s->count = 1;
}

static void leak_scan_cache(struct kmem_cache *c, struct leak_scan *ls)
{
	unsigned long map[BITS_TO_LONGS(SLAB_LIMIT + 1)];
	struct slab *slab;
	unsigned int nr_free;
	int nid;

	for_each_online_node(nid) {
		struct kmem_cache_node *n = c->node[nid];
		struct list_head *lists[2] = { &n->slabs_partial, &n->slabs_full };

		spin_lock(&n->list_lock);
		for (int l = 0; l < 2; l++) {
			list_for_each_entry(slab, lists[l], list) {
				if (!free_bitmap(c, slab, map, &nr_free))
					continue;
				for (unsigned int i = 0; i < c->num; i++)
					if (!(map[i / BITS_PER_LONG] >> (i % BITS_PER_LONG) & 1))
						leak_add(c, ls,
							 slot_to_obj(c, index_to_obj(c, slab, i)));
			}
		}
		spin_unlock(&n->list_lock);
	}
}

/*
 * The objects still allocated in @cachep (kmem_cache_destroy, kmem_exit),
 * grouped by allocation site with counts and the site's stack when owners
 * are tracked, else listed by address (the first LEAK_SITES).
 */
void slab_debug_list_leaks(struct kmem_cache *cachep, const char *when)
{
	static struct leak_scan ls; /* under slab_mutex or kmem_exit: one at a time */

	memset(&ls, 0, sizeof(ls));
	kmemcheck_quiet(cachep);
	leak_scan_cache(cachep, &ls);
	kmemcheck_loud(cachep);
	if (!ls.objects)
		return;
	spin_lock(&report_lock);
	pr_err("=============================================================================\n");
	pr_err("%s: %lu objects remaining in %s%s\n", when, ls.objects, cachep->name,
	       (cachep->flags & SLAB_STORE_USER) ? ", by allocation site:" : ":");
	for (unsigned int i = 0; i < ls.nr_sites; i++) {
		struct leak_site *s = &ls.sites[i];

		if (cachep->flags & SLAB_STORE_USER) {
			pr_err("%lu object%s allocated like %p:\n", s->count,
			       s->count > 1 ? "s" : "", s->obj);
			print_track("Allocated", &s->track);
		} else {
			pr_err("Object %p\n", s->obj);
		}
	}
	if (ls.other)
		pr_err("... and %lu more objects\n", ls.other);
	spin_unlock(&report_lock);
}
