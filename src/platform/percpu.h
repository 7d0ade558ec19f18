/* SPDX-License-Identifier: MIT */
/*
 * "This CPU" for user space: per-thread areas with the kernel's percpu API.
 *
 * The kernel's per-CPU data (per-CPU page lists, SLAB array caches, event
 * counters) becomes per-thread data. Every thread that allocates gets a unit:
 * a fixed-size slice of one big reservation, unit N at base + N * pcpu_unit_size,
 * committed only where touched. alloc_percpu() hands out one offset that is
 * valid in every unit, so this_cpu_ptr(p) is a single addition, exactly as
 * with the kernel's __per_cpu_offset[]. A unit is zero when a thread gets it;
 * subsystems initialise their part lazily.
 *
 * Locking. The owner enters its unit with get_cpu_area() and leaves it with
 * put_cpu_area(), the way kernel code brackets per-CPU work with get_cpu() and
 * put_cpu(). Another thread (drain_all_pages, kmem_cache_shrink) reaches a
 * unit only through on_each_cpu(), which stops each owner at its next entry.
 * The owner's side costs two plain stores and a load: the drainer publishes
 * "remote", issues membarrier(), which puts a full barrier in every running
 * thread, and then waits for "active" to drop (an asymmetric Dekker
 * handshake). Where membarrier is missing (old kernels, valgrind) or under
 * ThreadSanitizer, the owner's store is sequentially consistent instead.
 *
 * Lock order: a unit is entered before any zone or node lock is taken, never
 * after; on_each_cpu() is called with no zone or node lock held.
 *
 * A thread's unit is handed back when it exits: the registered cpu_dead
 * callbacks drain it (pages back to the buddy lists, objects back to slabs)
 * and the unit is discarded, so it reads zero for its next owner.
 */
#ifndef KMEM_PLATFORM_PERCPU_H
#define KMEM_PLATFORM_PERCPU_H

#include "compiler.h"

/* Most per-CPU bytes a thread can have, and the allocation granule. */
#define PCPU_MAX_UNIT_SIZE (2UL << 20)
#define PCPU_MIN_ALLOC 64

struct percpu_area {
	atomic_int active; /* the owner is between get_cpu_area() and put_cpu_area() */
	atomic_int remote; /* PCPU_HELD and PCPU_SLOW: the fast paths only enter when zero */
	int cpu; /* unit index, stable while the thread lives */
	int tid; /* owner's thread id */
	/*
	 * Always zero: a per-CPU offset of 0 names this header, and a caller
	 * that reads it as a structure of its own finds a zero here (kfree's
	 * map word of a page that is no slab: an array that fits no object).
	 */
	unsigned int zero;
	bool online;
	/*
	 * The owner's own TLS pointers to this unit. percpu_exit() clears them,
	 * so that a thread idle across kmem_exit() and kmem_init() attaches a
	 * unit of the new instance rather than enter this one, which by then is
	 * offline or another thread's.
	 */
	struct percpu_area **owner_area, **owner_fast;
};

/*
 * ->remote bits. PCPU_HELD: another thread holds this unit through
 * on_each_cpu(). PCPU_SLOW: every fast path steps aside to its out-of-line
 * slow path, which does the work the fast path skipped (fault injection,
 * remote-node frees, sampling): the kernel's static keys, in one word that
 * the fast paths load anyway.
 */
#define PCPU_HELD 1
#define PCPU_SLOW 2

/* Why the fast paths are off (pcpu_set_slow()). */
enum pcpu_slow_reason {
	PCPU_SLOW_FAILSLAB, /* fault injection decides every slab allocation */
	PCPU_SLOW_NUMA, /* several nodes: a free must check the object's node */
	PCPU_SLOW_SAMPLE, /* a sampler (KFENCE) wants the next allocation */
	PCPU_SLOW_NR_REASONS
};

#define __percpu /* marks a pointer that needs this_cpu_ptr() before use */

extern char *pcpu_base;
extern size_t pcpu_unit_size;
extern int pcpu_nr_units; /* NR_CPUS: threads with a unit at once */
extern bool pcpu_asymmetric;
extern __thread struct percpu_area *__this_cpu_area __attribute__((tls_model("initial-exec")));
/*
 * The same unit where the fast paths may enter it with plain stores
 * (membarrier works), else &pcpu_slow_area, whose PCPU_SLOW never clears:
 * never NULL, so the fast paths need no test for it.
 */
extern __thread struct percpu_area *__this_cpu_fast __attribute__((tls_model("initial-exec")));
extern struct percpu_area pcpu_slow_area;

extern atomic_int pcpu_nr_online_units;

/* Threads that hold a unit now: what "the CPUs" are to per-CPU sizing. */
static inline unsigned int pcpu_nr_online(void)
{
	return (unsigned int)atomic_load_explicit(&pcpu_nr_online_units, memory_order_relaxed);
}

struct percpu_area *pcpu_attach_thread(void);
void __get_cpu_area_contended(struct percpu_area *area);

static __always_inline struct percpu_area *per_cpu_area(int cpu)
{
	return (struct percpu_area *)(pcpu_base + (size_t)cpu * pcpu_unit_size);
}

#define per_cpu_ptr(ptr, cpu) ((__typeof__(ptr))((char *)per_cpu_area(cpu) + (uintptr_t)(ptr)))
#define __this_cpu_ptr(area, ptr) ((__typeof__(ptr))((char *)(area) + (uintptr_t)(ptr)))

/* The calling thread's unit, attaching one on first use. NULL only when none is left. */
static __always_inline struct percpu_area *this_cpu_area(void)
{
	struct percpu_area *area = __this_cpu_area;

	if (unlikely(!area))
		area = pcpu_attach_thread();
	return area;
}

/* Enter the calling thread's unit: its per-CPU data is ours until put_cpu_area(). */
static __always_inline struct percpu_area *get_cpu_area(void)
{
	struct percpu_area *area = this_cpu_area();

	if (unlikely(!area))
		return NULL;
	if (likely(pcpu_asymmetric)) {
		atomic_store_explicit(&area->active, 1, memory_order_relaxed);
		barrier();
	} else {
		atomic_store_explicit(&area->active, 1, memory_order_seq_cst);
	}
	/* Only PCPU_HELD makes us wait; PCPU_SLOW is for the fast paths. */
	if (unlikely(atomic_load_explicit(&area->remote, memory_order_acquire) & PCPU_HELD))
		__get_cpu_area_contended(area);
	return area;
}

static __always_inline void put_cpu_area(struct percpu_area *area)
{
	atomic_store_explicit(&area->active, 0, memory_order_release);
}

/*
 * The fast paths' entry: enter @area (__this_cpu_fast) with a plain store
 * and a load, or return false, not entered, when a drainer holds the unit
 * or the fast paths are off (PCPU_SLOW, pcpu_slow_area): the slow path
 * then takes the full get_cpu_area(). Keeps the fast paths free of calls,
 * so they need no frame.
 */
static __always_inline bool get_cpu_area_fast(struct percpu_area *area)
{
	atomic_store_explicit(&area->active, 1, memory_order_relaxed);
	barrier();
	if (likely(!atomic_load_explicit(&area->remote, memory_order_acquire)))
		return true;
	put_cpu_area(area);
	return false;
}

/*
 * Run @fn on every online thread's unit while its owner is held outside it.
 * The units are held one after another; @fn may take zone and node locks.
 */
void on_each_cpu(void (*fn)(struct percpu_area *area, void *info), void *info);
/*
 * The same, calling @held first, once every other unit is held and none can
 * go offline: a change made there (a new array descriptor) is seen by each
 * owner only after @fn has run on its unit, and by no thread that has left.
 */
void on_each_cpu_held(void (*held)(void *info), void (*fn)(struct percpu_area *area, void *info),
		      void *info);

/* Per-CPU allocations: an offset valid in every unit, zero in each; 0 on failure. */
void __percpu *__alloc_percpu(size_t size, size_t align);
#define alloc_percpu(type) ((type __percpu *)__alloc_percpu(sizeof(type), __alignof__(type)))
void free_percpu(void __percpu *ptr);
size_t pcpu_free_bytes(void);

/*
 * Turn the fast paths off (@on) or back on for @reason, in every thread:
 * PCPU_SLOW is set in every unit while any reason is on. The calling
 * thread sees the change at once, others at their next entry.
 */
void pcpu_set_slow(enum pcpu_slow_reason reason, bool on);

/*
 * cpu_dead callbacks run in the exiting thread (inside its own unit) to give
 * back what its unit holds; at most PCPU_MAX_CALLBACKS, registered at init.
 */
#define PCPU_MAX_CALLBACKS 8
void pcpu_register_cpu_dead(void (*fn)(struct percpu_area *area));

/*
 * Units live at @base, @nr_units of @unit_size bytes (a multiple of 4 KiB, at
 * most PCPU_MAX_UNIT_SIZE). @external: memory the caller owns, zeroed by hand
 * rather than given back with madvise.
 */
int percpu_init(char *base, size_t unit_size, int nr_units, bool external);
/*
 * Hand back every unit (kmem_exit). The callbacks run for every online unit
 * first; every owner, running or idle, is left with no unit.
 */
void percpu_exit(void);
/* The calling thread gives its unit back now, as it would at exit. */
void pcpu_detach_thread(void);
/* Fork handlers: hold every unit across fork, then give the child's dead ones back. */
void pcpu_fork_prepare(void);
void pcpu_fork_parent(void);
void pcpu_fork_child(void);
/* Threads holding a unit now. */
/* Highest unit index ever used + 1: the bound for per_cpu_ptr() walks. */
extern int nr_cpu_ids;

#define for_each_online_cpu(cpu)                                                                   \
	for (cpu = 0; cpu < nr_cpu_ids; cpu++)                                                     \
		if (per_cpu_area(cpu)->online)

#endif /* KMEM_PLATFORM_PERCPU_H */
