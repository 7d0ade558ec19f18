// SPDX-License-Identifier: MIT
/*
 * Reclaim (mm/vmscan.c): the shrinkers that __GFP_DIRECT_RECLAIM callers run
 * when memory is short, and kswapd, the background thread that keeps zones
 * above their high watermark and hands long-free memory back to the OS
 * (page_reporting.c), and opens KFENCE's sampling gate every interval
 * (kfence_timer).
 *
 * kswapd starts on first need, never from under a lock or inside a per-CPU
 * section (starting a thread may allocate), takes no signals, and never
 * keeps the process alive: it is detached, and exit() ends it.
 */
#include "internal.h"
#include "platform/os.h"

#define SHRINK_BATCH 128
#define KSWAPD_IDLE_NS (60ULL * 1000000000ULL)
#define REAPTIMEOUT_AC_NS (2ULL * 1000000000ULL) /* cache_reap's period */

static DEFINE_SPINLOCK(shrinker_lock);
static struct kmem_shrinker *shrinker_list;
static __thread bool in_reclaim; /* PF_MEMALLOC: reclaim does not recurse into reclaim */

static struct os_event kswapd_wait;
static atomic_bool kswapd_started, kswapd_should_stop, kswapd_sleeping;
static atomic_int kswapd_running;
/*
 * Under the malloc replacement, starting a thread calls malloc (the new
 * thread's TLS), and wakeup_kswapd() may run deep inside an allocation, even
 * under slab_mutex: the start is then only recorded, and the malloc layer
 * makes it at its next safe point (kswapd_run_deferred).
 */
static atomic_bool kswapd_defer; /* set by every thread that initialises the malloc layer */
atomic_bool kswapd_start_wanted;

__export int kmem_register_shrinker(struct kmem_shrinker *s)
{
	if (!s || !s->scan) {
		pr_err("kmem_register_shrinker: a shrinker needs a scan function\n");
		return -22; /* EINVAL */
	}
	spin_lock(&shrinker_lock);
	s->next = shrinker_list;
	shrinker_list = s;
	spin_unlock(&shrinker_lock);
	return 0;
}

__export void kmem_unregister_shrinker(struct kmem_shrinker *s)
{
	spin_lock(&shrinker_lock);
	for (struct kmem_shrinker **p = &shrinker_list; *p; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			break;
		}
	}
	spin_unlock(&shrinker_lock);
}

/* Run every shrinker once; returns pages they freed. Shrinkers run one at a time. */
unsigned long try_to_free_pages(gfp_t gfp, unsigned int order)
{
	unsigned long freed = 0;

	if (in_reclaim)
		return 0;
	in_reclaim = true;
	spin_lock(&shrinker_lock);
	for (struct kmem_shrinker *s = shrinker_list; s; s = s->next)
		freed += s->scan(s, gfp, SHRINK_BATCH << order);
	spin_unlock(&shrinker_lock);
	in_reclaim = false;
	return freed;
}

static bool zone_below_high(struct zone *zone)
{
	return zone_page_state_free(zone) < wmark_pages(zone, WMARK_HIGH);
}

/* Reclaim until every zone is above its high watermark or the shrinkers give up. */
static void balance_pgdat(void)
{
	struct zone *zone;

	for_each_populated_zone(zone) {
		if (!zone_below_high(zone))
			continue;
		count_vm_events(PAGEOUTRUN, 1);
		while (zone_below_high(zone) && try_to_free_pages(GFP_KERNEL, 0))
			;
	}
}

static uint64_t kswapd_timeout(void)
{
	uint64_t timeout = KSWAPD_IDLE_NS;

	if (page_reporting_pending())
		timeout = kmem_memory.reporting_delay_ns / 2;
	if (slab_reap_wanted())
		timeout = min(timeout, REAPTIMEOUT_AC_NS);
	return timeout;
}

static void *kswapd(void *arg)
{
	uint64_t next_reap = os_now_ns() + REAPTIMEOUT_AC_NS;

	while (!atomic_load(&kswapd_should_stop)) {
		unsigned int seen = atomic_load(&kswapd_wait.seq);
		uint64_t kfence_ns = kfence_timer();

		balance_pgdat();
		if (slab_reap_wanted() && os_now_ns() >= next_reap) {
			cache_reap();
			next_reap = os_now_ns() + REAPTIMEOUT_AC_NS;
		}
		page_reporting_process(false);
		if (!atomic_load(&kswapd_should_stop)) {
			atomic_store(&kswapd_sleeping, true);
			os_event_wait(&kswapd_wait, seen, min(kswapd_timeout(), kfence_ns));
			atomic_store(&kswapd_sleeping, false);
		}
	}
	/*
	 * Give our per-CPU unit back now, not from the thread-exit destructor:
	 * kswapd_stop() returns as soon as we stop running, and kmem_exit()
	 * then tears every unit down; a destructor running after that would
	 * drain a unit that is gone, or one a later kmem_init() handed out.
	 */
	pcpu_detach_thread();
	atomic_store(&kswapd_running, 0);
	return NULL;
}

static void kswapd_run(void)
{
	if (atomic_load(&kswapd_started) || atomic_exchange(&kswapd_started, true))
		return;
	atomic_store(&kswapd_should_stop, false);
	atomic_store(&kswapd_running, 1);
	if (os_thread_start(kswapd, NULL)) {
		atomic_store(&kswapd_running, 0);
		pr_warn("cannot start the background reclaim thread: free memory stays "
			"resident until kmem_release_free_memory()\n");
	}
}

/* Wake kswapd, starting it first if need be (or asking for it, see kswapd_defer). */
void wakeup_kswapd(struct zone *zone)
{
	if (!atomic_load(&kmem_initialised))
		return;
	if (!atomic_load_explicit(&kswapd_started, memory_order_relaxed)) {
		if (atomic_load_explicit(&kswapd_defer, memory_order_relaxed)) {
			atomic_store_explicit(&kswapd_start_wanted, true, memory_order_relaxed);
			return;
		}
		kswapd_run();
	}
	/*
	 * No system call while kswapd is awake: bumping the sequence is enough
	 * for it to look again. Either it sees the bump before it sleeps (the
	 * futex wait then returns at once) or we see it asleep (both seq_cst).
	 */
	atomic_fetch_add(&kswapd_wait.seq, 1);
	if (atomic_load(&kswapd_sleeping))
		os_event_wake(&kswapd_wait);
}

void kswapd_defer_start(void)
{
	atomic_store_explicit(&kswapd_defer, true, memory_order_relaxed);
}

/* The malloc layer's safe point: no lock held, not inside an allocation. */
void kswapd_run_deferred(void)
{
	if (!atomic_exchange(&kswapd_start_wanted, false) || !atomic_load(&kmem_initialised))
		return;
	kswapd_run();
	os_event_wake(&kswapd_wait);
}

/*
 * Stop kswapd for kmem_exit(). It stays "started" so that frees during the
 * teardown (which kick page reporting) cannot start it again; kmem_exit()
 * calls kswapd_reset() once the memory map is gone.
 */
void kswapd_stop(void)
{
	if (atomic_exchange(&kswapd_started, true)) {
		atomic_store(&kswapd_should_stop, true);
		while (atomic_load(&kswapd_running)) {
			os_event_wake(&kswapd_wait);
			os_yield();
		}
	}
}

void kswapd_reset(void)
{
	atomic_store(&kswapd_start_wanted, false);
	atomic_store(&kswapd_should_stop, false);
	atomic_store(&kswapd_started, false);
}

void vmscan_fork_child(void)
{
	/*
	 * Threads do not survive fork: the child starts its own kswapd when it
	 * needs one. Except under ThreadSanitizer, which kills a child of a
	 * threaded process that starts a thread: there the child goes without
	 * (direct reclaim and kmem_release_free_memory still work).
	 */
#if defined(__SANITIZE_THREAD__)
	atomic_store(&kswapd_started, true);
#else
	atomic_store(&kswapd_started, false);
#endif
	atomic_store(&kswapd_running, 0);
	atomic_store(&kswapd_sleeping, false);
	spin_lock_init(&shrinker_lock);
}
