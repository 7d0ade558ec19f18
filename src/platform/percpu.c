// SPDX-License-Identifier: MIT
/*
 * Per-thread units and the percpu allocator (see percpu.h for the model).
 *
 * pcpu_lock protects: which units are online, nr_cpu_ids, the chunk map of
 * the percpu allocator, and the walk of on_each_cpu(). It is never taken
 * inside a unit section (between get_cpu_area() and put_cpu_area()).
 */
#include <string.h>

#include "os.h"
#include "percpu.h"
#include "printk.h"
#include "spinlock.h"

#define PCPU_NR_CHUNKS (PCPU_MAX_UNIT_SIZE / PCPU_MIN_ALLOC)
#define PCPU_HDR_CHUNKS DIV_ROUND_UP(sizeof(struct percpu_area), PCPU_MIN_ALLOC)

char *pcpu_base;
size_t pcpu_unit_size;
int pcpu_nr_units;
bool pcpu_asymmetric;
static bool pcpu_external;
int nr_cpu_ids;
atomic_int pcpu_nr_online_units; /* pcpu_nr_online() */
__thread struct percpu_area *__this_cpu_area __attribute__((tls_model("initial-exec")));
__thread struct percpu_area *__this_cpu_fast
	__attribute__((tls_model("initial-exec"))) = &pcpu_slow_area;
/* Where threads without a fast unit enter: the fast paths store to it, then step aside. */
struct percpu_area pcpu_slow_area = { .remote = PCPU_SLOW, .cpu = -1 };
/* Bit per enum pcpu_slow_reason that is on; under pcpu_lock. */
static unsigned int pcpu_slow_reasons;

static DEFINE_SPINLOCK(pcpu_lock);
static unsigned long chunk_map[PCPU_NR_CHUNKS / (8 * sizeof(long))];
static uint16_t chunk_len[PCPU_NR_CHUNKS] __large_bss;
static size_t chunks_in_use;
static void (*cpu_dead_fn[PCPU_MAX_CALLBACKS])(struct percpu_area *area);
static int nr_cpu_dead_fn;
static bool key_created;
/*
 * The thread's unit went back at its exit; the C library still frees (its
 * TLS, its per-thread buffers) after the key destructors ran. Those calls go
 * the locked way rather than attach a unit nobody would give back.
 */
static __thread bool pcpu_thread_exited __attribute__((tls_model("initial-exec")));

static bool chunk_used(size_t i)
{
	return chunk_map[i / (8 * sizeof(long))] & (1UL << (i % (8 * sizeof(long))));
}

static void chunk_set(size_t i, bool used)
{
	unsigned long bit = 1UL << (i % (8 * sizeof(long)));

	if (used)
		chunk_map[i / (8 * sizeof(long))] |= bit;
	else
		chunk_map[i / (8 * sizeof(long))] &= ~bit;
}

static void thread_exit_destructor(void *arg)
{
	pcpu_thread_exited = true;
	pcpu_detach_thread();
}

int percpu_init(char *base, size_t unit_size, int nr_units, bool external)
{
	pcpu_base = base;
	pcpu_unit_size = unit_size;
	pcpu_nr_units = nr_units;
	pcpu_external = external;
	/*
	 * A caller's buffer may hold anything, and a unit must read zero when a
	 * thread gets it: a stale "remote" or "online" in a header would make
	 * its owner wait for a drainer that does not exist. Reserved memory
	 * comes zeroed from the OS (and is discarded when a unit goes offline).
	 */
	if (external)
		memset(base, 0, (size_t)nr_units * unit_size);
	nr_cpu_ids = 0;
	atomic_store(&pcpu_nr_online_units, 0);
	if (!key_created) {
		if (os_thread_key_create(thread_exit_destructor))
			return -11; /* EAGAIN */
		key_created = true;
	}
#if defined(__SANITIZE_THREAD__)
	pcpu_asymmetric = false; /* TSan cannot see the barrier membarrier() puts in us */
#else
	pcpu_asymmetric = os_membarrier_register();
#endif
	os_clear(chunk_map, sizeof(chunk_map));
	chunks_in_use = 0;
	for (size_t i = 0; i < PCPU_HDR_CHUNKS; i++)
		chunk_set(i, true);
	return 0;
}

void pcpu_register_cpu_dead(void (*fn)(struct percpu_area *area))
{
	for (int i = 0; i < nr_cpu_dead_fn; i++)
		if (cpu_dead_fn[i] == fn)
			return;
	if (nr_cpu_dead_fn < PCPU_MAX_CALLBACKS)
		cpu_dead_fn[nr_cpu_dead_fn++] = fn;
}

static void run_cpu_dead(struct percpu_area *area)
{
	for (int i = 0; i < nr_cpu_dead_fn; i++)
		cpu_dead_fn[i](area);
}

struct percpu_area *pcpu_attach_thread(void)
{
	struct percpu_area *area = NULL;
	int cpu;

	if (unlikely(!pcpu_base || pcpu_thread_exited))
		return NULL;
	spin_lock(&pcpu_lock);
	for (cpu = 0; cpu < nr_cpu_ids; cpu++)
		if (!per_cpu_area(cpu)->online)
			break;
	if (cpu < pcpu_nr_units) {
		if (cpu == nr_cpu_ids)
			nr_cpu_ids++;
		area = per_cpu_area(cpu);
		area->cpu = cpu;
		area->tid = os_gettid();
		area->online = true;
		atomic_fetch_add_explicit(&pcpu_nr_online_units, 1, memory_order_relaxed);
		if (pcpu_slow_reasons)
			atomic_fetch_or(&area->remote, PCPU_SLOW);
	}
	spin_unlock(&pcpu_lock);
	if (!area) {
		/* Such threads still work, through the locked paths: say so once, not per call. */
		WARN_ON_ONCE(true,
			     "more than %d threads allocate at once: no per-CPU unit left; "
			     "the others take the slower locked paths\n",
			     pcpu_nr_units);
		return NULL;
	}
	area->owner_area = &__this_cpu_area;
	area->owner_fast = &__this_cpu_fast;
	__this_cpu_area = area;
	__this_cpu_fast = pcpu_asymmetric ? area : &pcpu_slow_area;
	os_thread_key_set(area);
	return area;
}

/* Hand @area back: run the callbacks, then zero it for the next owner. Needs pcpu_lock. */
static void __pcpu_offline(struct percpu_area *area)
{
	size_t hdr = PCPU_HDR_CHUNKS * PCPU_MIN_ALLOC;

	area->online = false;
	atomic_fetch_sub_explicit(&pcpu_nr_online_units, 1, memory_order_relaxed);
	/* Keep the header page mapped: other threads read ->online while they scan. */
	if (pcpu_external)
		memset((char *)area + hdr, 0, pcpu_unit_size - hdr);
	else if (os_discard((char *)area + 4096, pcpu_unit_size - 4096) == 0)
		memset((char *)area + hdr, 0, 4096 - hdr);
	else
		memset((char *)area + hdr, 0, pcpu_unit_size - hdr);
	atomic_store(&area->active, 0);
	atomic_store(&area->remote, 0);
}

void pcpu_detach_thread(void)
{
	struct percpu_area *area = __this_cpu_area;

	if (!area)
		return;
	area = get_cpu_area();
	if (unlikely(!area)) /* kmem_exit() took it back meanwhile (a caller's bug) */
		return;
	run_cpu_dead(area);
	put_cpu_area(area);
	spin_lock(&pcpu_lock);
	__pcpu_offline(area);
	spin_unlock(&pcpu_lock);
	__this_cpu_area = NULL;
	__this_cpu_fast = &pcpu_slow_area;
}

void __get_cpu_area_contended(struct percpu_area *area)
{
	/* A drainer holds us: step out, let it finish, and enter again. */
	do {
		atomic_store_explicit(&area->active, 0, memory_order_release);
		while (atomic_load_explicit(&area->remote, memory_order_acquire) & PCPU_HELD)
			os_yield();
		atomic_store_explicit(&area->active, 1, memory_order_seq_cst);
	} while (atomic_load_explicit(&area->remote, memory_order_seq_cst) & PCPU_HELD);
}

static void hold_remote(struct percpu_area *area)
{
	atomic_fetch_or_explicit(&area->remote, PCPU_HELD, memory_order_seq_cst);
}

static void wait_owner_out(struct percpu_area *area)
{
	for (int spins = 0; atomic_load_explicit(&area->active, memory_order_acquire); spins++)
		if (spins > 64)
			os_yield();
}

static void release_remote(struct percpu_area *area)
{
	atomic_fetch_and_explicit(&area->remote, ~PCPU_HELD, memory_order_release);
}

void pcpu_set_slow(enum pcpu_slow_reason reason, bool on)
{
	unsigned int was, now;
	int cpu;

	spin_lock(&pcpu_lock);
	was = pcpu_slow_reasons;
	now = on ? was | 1u << reason : was & ~(1u << reason);
	pcpu_slow_reasons = now;
	if (pcpu_base && !was != !now) {
		/* Offline units read zero for their next owner, who looks at the reasons. */
		for_each_online_cpu(cpu) {
			if (now)
				atomic_fetch_or(&per_cpu_area(cpu)->remote, PCPU_SLOW);
			else
				atomic_fetch_and(&per_cpu_area(cpu)->remote, ~PCPU_SLOW);
		}
	}
	spin_unlock(&pcpu_lock);
}

/* Hold every online unit except the caller's own; pcpu_lock held. */
static void hold_all_units(void)
{
	int cpu;

	for_each_online_cpu(cpu)
		if (per_cpu_area(cpu) != __this_cpu_area)
			hold_remote(per_cpu_area(cpu));
	if (pcpu_asymmetric)
		os_membarrier();
	for_each_online_cpu(cpu)
		if (per_cpu_area(cpu) != __this_cpu_area)
			wait_owner_out(per_cpu_area(cpu));
}

void on_each_cpu(void (*fn)(struct percpu_area *area, void *info), void *info)
{
	on_each_cpu_held(NULL, fn, info);
}

void on_each_cpu_held(void (*held)(void *info), void (*fn)(struct percpu_area *area, void *info),
		      void *info)
{
	struct percpu_area *self = NULL;
	int cpu;

	if (!pcpu_base) {
		if (held)
			held(info);
		return;
	}
	spin_lock(&pcpu_lock);
	hold_all_units();
	if (held)
		held(info);
	for_each_online_cpu(cpu) {
		struct percpu_area *area = per_cpu_area(cpu);

		if (area == __this_cpu_area) {
			self = area;
			continue;
		}
		fn(area, info);
		release_remote(area);
	}
	spin_unlock(&pcpu_lock);
	/* Our own unit is entered the ordinary way. */
	if (self) {
		get_cpu_area();
		fn(self, info);
		put_cpu_area(self);
	}
}

void percpu_exit(void)
{
	int cpu;

	if (!pcpu_base)
		return;
	spin_lock(&pcpu_lock);
	hold_all_units();
	for_each_online_cpu(cpu) {
		struct percpu_area *area = per_cpu_area(cpu);

		run_cpu_dead(area);
		/*
		 * The owner is held outside its unit, and a thread that lives
		 * keeps its TLS: it finds no unit at its next call, as a new
		 * thread does. One that exited gave its unit back already.
		 */
		*area->owner_fast = &pcpu_slow_area;
		*area->owner_area = NULL;
		__pcpu_offline(area);
	}
	nr_cpu_ids = 0;
	spin_unlock(&pcpu_lock);
	nr_cpu_dead_fn = 0;
	pcpu_base = NULL;
}

void pcpu_fork_prepare(void)
{
	spin_lock(&pcpu_lock);
	hold_all_units();
}

void pcpu_fork_parent(void)
{
	int cpu;

	for_each_online_cpu(cpu)
		if (per_cpu_area(cpu) != __this_cpu_area)
			release_remote(per_cpu_area(cpu));
	spin_unlock(&pcpu_lock);
}

void pcpu_fork_child(void)
{
	int cpu;

	/* Only the forking thread lives on: give every other unit back. */
	for_each_online_cpu(cpu) {
		struct percpu_area *area = per_cpu_area(cpu);

		if (area == __this_cpu_area)
			continue;
		run_cpu_dead(area);
		__pcpu_offline(area);
	}
	if (__this_cpu_area)
		__this_cpu_area->tid = os_gettid();
	spin_lock_init(&pcpu_lock);
}

void __percpu *__alloc_percpu(size_t size, size_t align)
{
	size_t n = DIV_ROUND_UP(size, PCPU_MIN_ALLOC);
	size_t step = max(align, (size_t)PCPU_MIN_ALLOC) / PCPU_MIN_ALLOC;
	void __percpu *ptr = NULL;

	if (!n || n > pcpu_unit_size / PCPU_MIN_ALLOC)
		return NULL;
	spin_lock(&pcpu_lock);
	for (size_t start = 0; start + n <= pcpu_unit_size / PCPU_MIN_ALLOC; start += step) {
		size_t i;

		for (i = 0; i < n && !chunk_used(start + i); i++)
			;
		if (i < n)
			continue;
		for (i = 0; i < n; i++)
			chunk_set(start + i, true);
		chunk_len[start] = (uint16_t)n;
		chunks_in_use += n;
		ptr = (void *)(start * PCPU_MIN_ALLOC);
		break;
	}
	spin_unlock(&pcpu_lock);
	return ptr;
}

void free_percpu(void __percpu *ptr)
{
	size_t start = (uintptr_t)ptr / PCPU_MIN_ALLOC;
	int cpu;

	if (!ptr)
		return;
	spin_lock(&pcpu_lock);
	size_t n = chunk_len[start];

	/* Zero it in every unit, so its next user finds it as a new allocation would. */
	for_each_online_cpu(cpu)
		memset(per_cpu_ptr((char *)ptr, cpu), 0, n * PCPU_MIN_ALLOC);
	for (size_t i = 0; i < n; i++)
		chunk_set(start + i, false);
	chunk_len[start] = 0;
	chunks_in_use -= n;
	spin_unlock(&pcpu_lock);
}

/* Per-CPU bytes not yet handed out (a hint: others may take them meanwhile). */
size_t pcpu_free_bytes(void)
{
	return pcpu_unit_size - READ_ONCE(chunks_in_use) * PCPU_MIN_ALLOC;
}
