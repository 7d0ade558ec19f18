// kmem-test: threaded
// SPDX-License-Identifier: MIT
/*
 * SLAB under threads: objects allocated by one thread and freed by another
 * (a producer/consumer queue) for about two seconds, with the arrays retuned,
 * the caches shrunk and reaped while the workers run; threads that exit with
 * objects in their arrays; shrink and destroy while the array owners are
 * alive but idle; fork with threads holding arrays (and one allocating).
 *
 * Every object handed out is claimed in an ownership map (one atomic byte
 * per 8 bytes of the arena, at the object's start) and stamped from end to
 * end; an object handed to two holders at once, or one whose stamp changed
 * while it was allocated, fails the test. Afterwards every slab must be gone
 * and every page back.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "platform/os.h"
#include "slab_test.h"

#define MEM_SIZE (256UL << 20)
#define HOLD 64 /* objects a worker holds at most */
#define QUEUE_SIZE 512 /* objects in flight between threads */

/* ------------------------------------------------------------------ helpers */

static atomic_int thread_failed;
static char thread_failure[512];
static atomic_bool stop;

__attribute__((format(printf, 1, 2))) static void thread_fail(const char *fmt, ...)
{
	va_list ap;

	if (atomic_exchange(&thread_failed, 1))
		return;
	va_start(ap, fmt);
	vsnprintf(thread_failure, sizeof(thread_failure), fmt, ap);
	va_end(ap);
	atomic_store(&stop, true);
}

static void assert_threads_ok(void)
{
	cr_assert_eq(atomic_load(&thread_failed), 0, "worker thread: %s", thread_failure);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t prng(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static void setup(void)
{
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = MEM_SIZE, .no_reporting = 1 }),
		     0);
	printk_capture();
	atomic_store(&stop, false);
	atomic_store(&thread_failed, 0);
}

static void teardown(void)
{
	kmem_exit();
	kmem_set_printk(NULL);
}

TestSuite(slab_threads, .init = setup, .fini = teardown, .timeout = 60);

/* Slab pages of every cache (meminfo's Slab). */
static unsigned long slab_pages(void)
{
	unsigned long rcl, unrcl;

	slab_meminfo(&rcl, &unrcl);
	return rcl + unrcl;
}

/*
 * The caches' own structs come from kmem_cache and kmem_cache_node: create
 * and destroy as many caches as a test makes first, so that the caches under
 * test take their structs from the arrays and the page counts compare exactly.
 */
static void warm_up_cache_structs(void)
{
	struct kmem_cache *c[4];

	for (int i = 0; i < 4; i++) {
		c[i] = kmem_cache_create("warm-up", 64, 0, 0, NULL);
		cr_assert_not_null(c[i]);
	}
	for (int i = 0; i < 4; i++)
		kmem_cache_destroy(c[i]);
}

/* Shrink every cache, kmalloc's too (nothing may create or destroy caches meanwhile). */
static void shrink_all_caches(void)
{
	struct kmem_cache *c;

	list_for_each_entry(c, &slab_caches, list)
		kmem_cache_shrink(c);
}

/* ---------------------------------------------------- ownership and stamps */

static _Atomic unsigned char *owner; /* per 8 bytes of arena: 1 while handed out */

static void owner_init(void)
{
	owner = calloc(MEM_SIZE / 8, 1);
	cr_assert_not_null(owner);
}

static void owner_check_all_free(void)
{
	for (size_t i = 0; i < MEM_SIZE / 8; i++)
		if (atomic_load_explicit(&owner[i], memory_order_relaxed))
			cr_assert_fail("object at arena offset %#zx still claimed", i * 8);
	free(owner);
	owner = NULL;
}

struct obj {
	void *p;
	size_t size; /* bytes stamped */
	int kind; /* >= 0: index into the worker's caches; -1: kmalloc */
	uint64_t stamp;
};

static bool claim(const struct obj *o)
{
	size_t off = (size_t)((char *)o->p - kmem_memory.base);
	unsigned char expected = 0;

	if (off >= MEM_SIZE || off % 8) {
		thread_fail("object %p lies outside the arena or is misaligned", o->p);
		return false;
	}
	if (!atomic_compare_exchange_strong(&owner[off / 8], &expected, 1)) {
		thread_fail("object %p handed out while another holder has it", o->p);
		return false;
	}
	uint64_t *w = o->p;

	for (size_t i = 0; i < o->size / 8; i++)
		w[i] = o->stamp + i;
	return true;
}

/* Check the stamp and give up the claim; false (after a report) when it changed. */
static bool release(const struct obj *o)
{
	size_t off = (size_t)((char *)o->p - kmem_memory.base);
	const uint64_t *w = o->p;
	unsigned char expected = 1;

	for (size_t i = 0; i < o->size / 8; i++) {
		if (w[i] != o->stamp + i) {
			thread_fail("object %p (%zu bytes): word %zu is %#llx, stamped %#llx", o->p,
				    o->size, i, (unsigned long long)w[i],
				    (unsigned long long)(o->stamp + i));
			return false;
		}
	}
	if (!atomic_compare_exchange_strong(&owner[off / 8], &expected, 0)) {
		thread_fail("object %p was not claimed when freed", o->p);
		return false;
	}
	return true;
}

/* ------------------------------------------------------------ the queue */

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static struct obj queue[QUEUE_SIZE];
static unsigned int queue_len;

static bool queue_push(const struct obj *o)
{
	bool ok;

	pthread_mutex_lock(&queue_lock);
	ok = queue_len < QUEUE_SIZE;
	if (ok)
		queue[queue_len++] = *o;
	pthread_mutex_unlock(&queue_lock);
	return ok;
}

static bool queue_pop(struct obj *o, uint64_t r)
{
	bool ok;

	pthread_mutex_lock(&queue_lock);
	ok = queue_len > 0;
	if (ok) {
		unsigned int i = (unsigned int)(r % queue_len);

		*o = queue[i];
		queue[i] = queue[--queue_len];
	}
	pthread_mutex_unlock(&queue_lock);
	return ok;
}

/* ------------------------------------------------------------ workers */

struct worker {
	pthread_t thread;
	unsigned int id;
	struct kmem_cache **caches;
	unsigned int nr_caches;
	bool use_kmalloc;
	unsigned long allocs, cross_frees, serial;
	uint64_t rng;
	struct obj held[HOLD];
	unsigned int nr_held;
};

static void free_obj(struct worker *w, const struct obj *o)
{
	if (!release(o))
		return;
	if (o->kind >= 0)
		kmem_cache_free(w->caches[o->kind], o->p);
	else
		kfree(o->p);
}

static bool alloc_obj(struct worker *w, uint64_t r)
{
	struct obj o;

	o.kind = w->use_kmalloc && (r & 3) == 0 ? -1 : (int)((r >> 2) % w->nr_caches);
	if (o.kind < 0) {
		size_t size = 8 + (r >> 8) % 3000;

		o.p = kmalloc(size, GFP_KERNEL);
		o.size = size & ~7UL;
	} else {
		o.p = kmem_cache_alloc(w->caches[o.kind], GFP_KERNEL);
		o.size = kmem_cache_size(w->caches[o.kind]) & ~7U;
	}
	if (!o.p) {
		thread_fail("worker %u: allocation failed", w->id);
		return false;
	}
	o.stamp = ((uint64_t)w->id << 56) ^ (++w->serial * 0x9e3779b97f4a7c15ULL);
	if (!claim(&o))
		return false;
	w->held[w->nr_held++] = o;
	w->allocs++;
	return true;
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t r = prng(&w->rng);
		struct obj o;

		switch ((r >> 40) % 8) {
		case 0:
		case 1:
		case 2:
			if (w->nr_held < HOLD)
				alloc_obj(w, r);
			break;
		case 3:
		case 4: /* hand one over */
			if (w->nr_held) {
				unsigned int i = (unsigned int)(r % w->nr_held);

				if (queue_push(&w->held[i]))
					w->held[i] = w->held[--w->nr_held];
			}
			break;
		case 5: /* free one of ours */
			if (w->nr_held) {
				unsigned int i = (unsigned int)(r % w->nr_held);

				o = w->held[i];
				w->held[i] = w->held[--w->nr_held];
				free_obj(w, &o);
			}
			break;
		default: /* free one somebody else allocated */
			if (queue_pop(&o, r)) {
				free_obj(w, &o);
				w->cross_frees++;
			}
			break;
		}
		if ((r & 0xfff) == 0) { /* now and then a bulk round trip */
			void *bulk[16];
			struct kmem_cache *c = w->caches[(r >> 12) % w->nr_caches];

			if (kmem_cache_alloc_bulk(c, GFP_KERNEL, 16, bulk) != 16)
				thread_fail("worker %u: bulk allocation failed", w->id);
			else
				kmem_cache_free_bulk(c, 16, bulk);
		}
	}
	while (w->nr_held)
		free_obj(w, &w->held[--w->nr_held]);
	return NULL;
}

static void start_workers(struct worker *w, unsigned int n, struct kmem_cache **caches,
			  unsigned int nr_caches, bool use_kmalloc)
{
	for (unsigned int i = 0; i < n; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].id = i + 1;
		w[i].caches = caches;
		w[i].nr_caches = nr_caches;
		w[i].use_kmalloc = use_kmalloc;
		w[i].rng = 0x1234567ULL * (i + 1) + 99;
		cr_assert_eq(pthread_create(&w[i].thread, NULL, worker_fn, &w[i]), 0);
	}
}

static void run_for(uint64_t ns)
{
	uint64_t end = now_ns() + ns;

	while (now_ns() < end && !atomic_load(&stop))
		usleep(10000);
	atomic_store(&stop, true);
}

/* Join the workers and free what is left in the queue (from this thread). */
static void join_workers(struct worker *w, unsigned int n, unsigned long *allocs,
			 unsigned long *cross)
{
	struct obj o;

	*allocs = *cross = 0;
	for (unsigned int i = 0; i < n; i++) {
		cr_assert_eq(pthread_join(w[i].thread, NULL), 0);
		*allocs += w[i].allocs;
		*cross += w[i].cross_frees;
	}
	while (queue_pop(&o, 0))
		free_obj(&w[0], &o);
	assert_threads_ok();
}

/* ------------------------------------------------------------ the tests */

/*
 * Six threads allocate, hand objects to each other and free for two seconds.
 * The background reaper is stopped, so afterwards the zones hold exactly the
 * free pages they held before the caches were created.
 */
Test(slab_threads, producer_consumer_gives_every_page_back)
{
	enum { NR_WORKERS = 6 };
	struct worker w[NR_WORKERS];
	unsigned long allocs, cross;

	kswapd_stop(); /* no background reaping: the page counts compare exactly */
	owner_init();
	warm_up_cache_structs();
	unsigned long before = all_free_pages();
	unsigned long errors = kmem_error_count();
	struct kmem_cache *caches[2] = {
		kmem_cache_create("pc-64", 64, 0, 0, NULL),
		kmem_cache_create("pc-200", 200, 0, SLAB_HWCACHE_ALIGN, NULL),
	};

	cr_assert(caches[0] && caches[1]);
	start_workers(w, NR_WORKERS, caches, 2, false);
	run_for(2000ULL * 1000000ULL);
	join_workers(w, NR_WORKERS, &allocs, &cross);
	cr_assert_gt(allocs, 10000, "only %lu allocations", allocs);
	cr_assert_gt(cross, 1000, "only %lu objects freed by another thread", cross);

	/* The workers exited with objects in their arrays: their exits gave them back. */
	for (int i = 0; i < 2; i++) {
		slab_check(caches[i]);
		cr_assert_eq(kmem_cache_shrink(caches[i]), 0, "%s kept live objects",
			     caches[i]->name);
		cr_assert_eq(cache_total_slabs(caches[i]), 0);
		kmem_cache_destroy(caches[i]);
	}
	cr_assert_eq(kmem_error_count(), errors, "log: %s", printk_log);
	unsigned long after = all_free_pages();

	cr_assert_eq(after, before,
		     "pages not back after every slab was destroyed: %lu free, %lu before", after,
		     before);
	owner_check_all_free();
}

static struct kmem_cache *tuned_cache;

static void *tuner_fn(void *arg)
{
	static const char *const tunables[] = { "1 1 0", "32 16 4", "120 60 8", "7 3 1",
						"200 100 0" };
	unsigned long *rounds = arg;
	char text[96];

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		snprintf(text, sizeof(text), "%s %s", tuned_cache->name,
			 tunables[*rounds % (sizeof(tunables) / sizeof(tunables[0]))]);
		if (kmem_proc_write("slabinfo", text))
			thread_fail("slabinfo write '%s' failed", text);
		if (*rounds % 4 == 0)
			kmem_cache_reap();
		if (*rounds % 8 == 1)
			kmem_cache_shrink(tuned_cache);
		(*rounds)++;
		usleep(500);
	}
	return NULL;
}

/*
 * The same with kmalloc and an off-slab cache in the mix, the arrays of one
 * cache swapped under the workers' feet, the caches reaped and shrunk, and
 * the background reaper running: afterwards the caches are empty and every
 * page is either free or in some slab, as before.
 */
Test(slab_threads, retune_reap_and_shrink_while_threads_run)
{
	enum { NR_WORKERS = 4 };
	struct worker w[NR_WORKERS];
	unsigned long allocs, cross, rounds = 0;
	pthread_t tuner;

	owner_init();
	warm_up_cache_structs();
	/* Within 2 s of kmem_init(): the background reaper has not run yet. */
	unsigned long before = all_free_pages() + slab_pages() + shared_array_pages();
	unsigned long errors = kmem_error_count();
	struct kmem_cache *caches[2] = {
		kmem_cache_create("tune-256", 256, 0, 0, NULL),
		kmem_cache_create("tune-1024", 1024, 0, 0, NULL),
	};

	cr_assert(caches[0] && caches[1]);
	cr_assert(caches[1]->flags & CFLGS_OFF_SLAB);
	tuned_cache = caches[0];
	start_workers(w, NR_WORKERS, caches, 2, true);
	cr_assert_eq(pthread_create(&tuner, NULL, tuner_fn, &rounds), 0);
	run_for(1500ULL * 1000000ULL);
	cr_assert_eq(pthread_join(tuner, NULL), 0);
	join_workers(w, NR_WORKERS, &allocs, &cross);
	cr_assert_gt(allocs, 5000, "only %lu allocations", allocs);
	cr_assert_gt(rounds, 20, "only %lu tuning rounds", rounds);

	kswapd_stop(); /* the reaper must not move pages while they are counted */
	for (int i = 0; i < 2; i++) {
		slab_check(caches[i]);
		cr_assert_eq(kmem_cache_shrink(caches[i]), 0, "%s kept live objects",
			     caches[i]->name);
		cr_assert_eq(cache_total_slabs(caches[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		kmem_cache_destroy(caches[i]);
	/*
	 * Other caches (kmalloc's, kmem_cache) may have grown or been reaped, and
	 * the off-slab descriptors went back to kmalloc-64, but every page is
	 * free, in a slab or in a shared array again: nothing leaked (the old
	 * shared arrays, large kmallocs).
	 */
	cr_assert_eq(all_free_pages() + slab_pages() + shared_array_pages(), before);
	cr_assert_eq(kmem_error_count(), errors, "log: %s", printk_log);
	owner_check_all_free();
}

/* ------------------------------------------------ exits, idle threads, fork */

struct holder {
	pthread_t thread;
	struct kmem_cache *c;
	unsigned int nr;
	unsigned int avail_at_exit; /* objects left in its array when it finished */
	pthread_barrier_t *idle; /* wait here twice (idle, then released), if set */
};

static void *alloc_free_and_exit(void *arg)
{
	struct holder *h = arg;
	void *objs[200];

	for (unsigned int i = 0; i < h->nr; i++) {
		objs[i] = kmem_cache_alloc(h->c, GFP_KERNEL);
		if (!objs[i]) {
			thread_fail("allocation failed");
			return NULL;
		}
		memset(objs[i], 0x3c, kmem_cache_size(h->c));
	}
	for (unsigned int i = 0; i < h->nr; i++)
		kmem_cache_free(h->c, objs[i]);
	/* Inside the unit: a retune may be draining this array meanwhile. */
	struct percpu_area *area = get_cpu_area();

	h->avail_at_exit = cpu_cache_get(area, h->c)->avail;
	put_cpu_area(area);
	if (h->idle) {
		pthread_barrier_wait(h->idle); /* idle but alive ... */
		pthread_barrier_wait(h->idle); /* ... until released */
	}
	return NULL;
}

/*
 * Passive false sharing: a thread whose first act on a cache is to free an
 * object another thread allocated sends it back to its slab, so the thread's
 * own allocations then come from a batch of its own, not from that object.
 */
struct handover {
	struct kmem_cache *c;
	void *given, *got;
	unsigned int avail_after_free;
};

static void *free_given_then_alloc(void *arg)
{
	struct handover *h = arg;

	kmem_cache_free(h->c, h->given);
	struct percpu_area *area = get_cpu_area();

	h->avail_after_free = cpu_cache_get(area, h->c)->avail;
	put_cpu_area(area);
	h->got = kmem_cache_alloc(h->c, GFP_KERNEL);
	kmem_cache_free(h->c, h->got);
	return NULL;
}

Test(slab_threads, first_free_of_a_handed_over_object_goes_home)
{
	struct kmem_cache *c = kmem_cache_create("handover", 64, 0, 0, NULL);
	void *mine[4];
	struct handover h = { .c = c };
	pthread_t t;

	cr_assert_not_null(c);
	for (int i = 0; i < 4; i++)
		mine[i] = kmem_cache_alloc(c, GFP_KERNEL);
	h.given = mine[0];
	cr_assert_eq(pthread_create(&t, NULL, free_given_then_alloc, &h), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	assert_threads_ok();
	cr_assert_eq(h.avail_after_free, 0, "the handed-over object stayed in the thread's array");
	cr_assert_not_null(h.got);
	cr_assert_neq(h.got, h.given,
		      "the thread's first allocation reused the object it was given");
	for (int i = 1; i < 4; i++)
		kmem_cache_free(c, mine[i]);
	slab_check_and_destroy(c);
}

Test(slab_threads, exiting_thread_gives_its_array_back)
{
	struct kmem_cache *c = kmem_cache_create("exit-test", 256, 0, 0, NULL);
	struct holder h = { .c = c, .nr = 100 };

	cr_assert_eq(pthread_create(&h.thread, NULL, alloc_free_and_exit, &h), 0);
	cr_assert_eq(pthread_join(h.thread, NULL), 0);
	assert_threads_ok();
	cr_assert_gt(h.avail_at_exit, 0, "the thread's array was empty: nothing to test");

	/* Every object is back in the slabs or the shared array: none sat in a dead array. */
	struct node_counts nc = node_counts(c, 0);

	slab_check(c);
	cr_assert_eq(nc.free_objects + nc.shared_avail, nc.total_slabs * c->num,
		     "%lu free + %lu shared of %lu objects", nc.free_objects, nc.shared_avail,
		     nc.total_slabs * c->num);
	cr_assert_eq(kmem_cache_shrink(c), 0);
	cr_assert_eq(cache_total_slabs(c), 0);
	kmem_cache_destroy(c);
	cr_assert_eq(kmem_error_count(), 0, "log: %s", printk_log);
}

static atomic_bool retuning;

/* Fill the array and exit (nothing read outside the allocator: the tuner drains it meanwhile). */
static void *fill_array_and_exit(void *arg)
{
	struct kmem_cache *c = arg;
	void *objs[30];

	for (unsigned int i = 0; i < 30; i++) {
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
		if (!objs[i]) {
			thread_fail("allocation failed");
			return NULL;
		}
	}
	for (unsigned int i = 0; i < 30; i++)
		kmem_cache_free(c, objs[i]);
	return NULL;
}

static void *retune_loop(void *arg)
{
	struct kmem_cache *c = arg;
	char text[96];

	for (unsigned int i = 0; atomic_load(&retuning); i++) {
		snprintf(text, sizeof(text), "%s %u %u 0", c->name, 40 + i % 3 * 40, 20);
		if (kmem_proc_write("slabinfo", text))
			thread_fail("slabinfo write '%s' failed", text);
	}
	return NULL;
}

/*
 * Threads exit with objects in their arrays while the arrays are swapped
 * under them: whichever arrays an exiting thread held, its objects end up
 * back in the slabs (none stranded in a dead thread's old array).
 */
Test(slab_threads, exits_racing_retunes_strand_nothing)
{
	enum { ROUNDS = 1000, NR = 2 };
	struct kmem_cache *c = kmem_cache_create("exit-retune", 128, 0, 0, NULL);
	pthread_t tuner;

	cr_assert_not_null(c);
	atomic_store(&retuning, true);
	cr_assert_eq(pthread_create(&tuner, NULL, retune_loop, c), 0);
	for (int r = 0; r < ROUNDS; r++) {
		pthread_t th[NR];

		for (int i = 0; i < NR; i++)
			cr_assert_eq(pthread_create(&th[i], NULL, fill_array_and_exit, c), 0);
		for (int i = 0; i < NR; i++)
			cr_assert_eq(pthread_join(th[i], NULL), 0);
	}
	atomic_store(&retuning, false);
	cr_assert_eq(pthread_join(tuner, NULL), 0);
	assert_threads_ok();
	slab_check(c);
	cr_assert_eq(kmem_cache_shrink(c), 0, "objects stranded in a dead thread's arrays");
	cr_assert_eq(cache_total_slabs(c), 0);
	kmem_cache_destroy(c);
	cr_assert_eq(kmem_error_count(), 0, "log: %s", printk_log);
}

Test(slab_threads, shrink_and_destroy_drain_idle_threads)
{
	enum { NR = 4 };
	struct kmem_cache *c = kmem_cache_create("idle-test", 512, 0, 0, NULL);
	struct holder h[NR];
	pthread_barrier_t idle;

	cr_assert_eq(pthread_barrier_init(&idle, NULL, NR + 1), 0);
	for (int i = 0; i < NR; i++) {
		h[i] = (struct holder){ .c = c, .nr = 30 + 10 * i, .idle = &idle };
		cr_assert_eq(pthread_create(&h[i].thread, NULL, alloc_free_and_exit, &h[i]), 0);
	}
	pthread_barrier_wait(&idle); /* every holder is idle now, objects in its array */
	assert_threads_ok();
	unsigned long in_arrays = 0;

	for (int i = 0; i < NR; i++)
		in_arrays += h[i].avail_at_exit;
	cr_assert_gt(in_arrays, 0);
	struct slabinfo_line s;

	cr_assert(slabinfo_find(NULL, "idle-test", &s));
	cr_assert_geq(s.active_objs, in_arrays, "objects in arrays count as active");

	unsigned long errors = kmem_error_count();

	cr_assert_eq(kmem_cache_shrink(c), 0, "shrink did not reach the idle threads' arrays");
	cr_assert_eq(cache_total_slabs(c), 0);
	/* The arrays refill when used again, then destroy must drain them once more. */
	void *p = kmem_cache_alloc(c, GFP_KERNEL);

	kmem_cache_free(c, p);
	printk_clear();
	kmem_cache_destroy(c);
	cr_assert_eq(kmem_error_count(), errors, "destroy refused: %s", printk_log);
	cr_assert_eq(printk_count(), 0, "destroy printed: %s", printk_log);
	cr_assert_not(slabinfo_find(NULL, "idle-test", &s));

	/*
	 * A new cache may reuse the arrays' per-thread space: when the idle
	 * threads exit, their units must not hand stale entries to it.
	 */
	struct kmem_cache *c2 = kmem_cache_create("idle-test2", 512, 0, 0, NULL);

	pthread_barrier_wait(&idle); /* release them: they exit */
	for (int i = 0; i < NR; i++)
		cr_assert_eq(pthread_join(h[i].thread, NULL), 0);
	pthread_barrier_destroy(&idle);
	cr_assert_eq(cache_total_slabs(c2), 0);
	p = kmem_cache_alloc(c2, GFP_KERNEL);
	cr_assert_not_null(p);
	kmem_cache_free(c2, p);
	cr_assert_eq(kmem_cache_shrink(c2), 0);
	kmem_cache_destroy(c2);
	cr_assert_eq(kmem_error_count(), errors);
}

Test(slab_threads, destroy_counts_live_objects_across_idle_threads)
{
	struct kmem_cache *c = kmem_cache_create("live-test", 128, 0, 0, NULL);
	pthread_barrier_t idle;
	struct holder h = { .c = c, .nr = 10, .idle = &idle };
	void *live = kmem_cache_alloc(c, GFP_KERNEL);

	cr_assert_eq(pthread_barrier_init(&idle, NULL, 2), 0);
	cr_assert_eq(pthread_create(&h.thread, NULL, alloc_free_and_exit, &h), 0);
	pthread_barrier_wait(&idle);

	unsigned long errors = kmem_error_count();

	kmem_cache_destroy(c);
	cr_assert_eq(kmem_error_count(), errors + 1);
	cr_assert(printk_logged("live-test"));
	cr_assert(printk_logged(" 1 objects"), "log: %s", printk_log);
	pthread_barrier_wait(&idle);
	cr_assert_eq(pthread_join(h.thread, NULL), 0);
	pthread_barrier_destroy(&idle);
	kmem_cache_free(c, live);
	kmem_cache_destroy(c);
	cr_assert_eq(kmem_error_count(), errors + 1);
}

/*
 * fork() while three threads sit idle with objects in their arrays and a
 * fourth allocates and frees as fast as it can. The child only has the
 * forking thread: the others' arrays are given back, so it can allocate,
 * free and shrink the cache to nothing without growing it (growing would
 * start the reaper thread, which ThreadSanitizer forbids after a
 * multi-threaded fork). The parent goes on as if nothing happened.
 */
static struct kmem_cache *busy_cache;

static void *busy_fn(void *arg)
{
	atomic_ulong *rounds = arg;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		void *p = kmem_cache_alloc(busy_cache, GFP_KERNEL);

		if (!p) {
			thread_fail("busy allocation failed");
			break;
		}
		memset(p, 0x42, 64);
		kmem_cache_free(busy_cache, p);
		atomic_fetch_add_explicit(rounds, 1, memory_order_relaxed);
	}
	return NULL;
}

/* The child's side; returns its exit status: 0, or the step that failed. */
static int child_main(struct kmem_cache *c)
{
	enum { NR = 200 };
	static void *objs[NR];
	unsigned long errors = kmem_error_count();

	/* The idle threads' arrays went back to the slabs at fork: every object is free. */
	struct node_counts nc = node_counts(c, 0);
	unsigned int mine = cpu_cache_get(__this_cpu_area, c)->avail;

	if (nc.free_objects + nc.shared_avail + mine != nc.total_slabs * c->num)
		return 10;
	unsigned long slabs = nc.total_slabs;

	for (int i = 0; i < NR; i++) {
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
		if (!objs[i])
			return 11;
		memset(objs[i], i & 0xff, 256);
	}
	if (cache_total_slabs(c) != slabs)
		return 12; /* the child had to grow the cache */
	for (int i = 0; i < NR; i++) {
		for (int b = 0; b < 256; b++)
			if (((unsigned char *)objs[i])[b] != (i & 0xff))
				return 13;
		kmem_cache_free(c, objs[i]);
	}
	/* The busy thread's cache is usable too (its locks were reset). */
	void *p = kmem_cache_alloc(busy_cache, GFP_KERNEL);

	if (!p)
		return 14;
	kmem_cache_free(busy_cache, p);
	if (kmem_cache_shrink(c) != 0)
		return 15;
	if (cache_total_slabs(c) != 0)
		return 16;
	if (kmem_error_count() != errors)
		return 17;
	return 0;
}

Test(slab_threads, fork_with_threads_holding_arrays)
{
	enum { NR = 3 };
	struct kmem_cache *c = kmem_cache_create("fork-test", 256, 0, 0, NULL);
	struct holder h[NR];
	pthread_barrier_t idle;
	pthread_t busy;
	atomic_ulong busy_rounds = 0;
	void *objs[300];

	busy_cache = kmem_cache_create("fork-busy", 64, 0, 0, NULL);
	/* Enough free objects for the child: 300 allocated and freed (20 slabs). */
	for (int i = 0; i < 300; i++)
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
	for (int i = 0; i < 300; i++)
		kmem_cache_free(c, objs[i]);
	cr_assert_eq(pthread_barrier_init(&idle, NULL, NR + 1), 0);
	for (int i = 0; i < NR; i++) {
		h[i] = (struct holder){ .c = c, .nr = 40, .idle = &idle };
		cr_assert_eq(pthread_create(&h[i].thread, NULL, alloc_free_and_exit, &h[i]), 0);
	}
	pthread_barrier_wait(&idle);
	cr_assert_eq(pthread_create(&busy, NULL, busy_fn, &busy_rounds), 0);
	while (atomic_load_explicit(&busy_rounds, memory_order_relaxed) < 1000)
		usleep(1000);

	pid_t pid = fork();

	/* No Criterion call in the child: with --full-stats even a passing one talks to the runner. */
	if (pid == 0)
		_exit(child_main(c));
	cr_assert_neq(pid, -1);

	/* The parent keeps working while the child runs. */
	void *p = kmem_cache_alloc(c, GFP_KERNEL);

	cr_assert_not_null(p);
	kmem_cache_free(c, p);
	int status = 0;
	uint64_t deadline = now_ns() + 20ULL * 1000000000ULL;
	pid_t got;

	while ((got = waitpid(pid, &status, WNOHANG)) == 0 && now_ns() < deadline)
		usleep(5000);
	if (got == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		cr_assert_fail("the child hung (a lock held across fork?)");
	}
	cr_assert(WIFEXITED(status), "the child died (status %#x)", status);
	cr_assert_eq(WEXITSTATUS(status), 0, "the child failed at step %d", WEXITSTATUS(status));

	atomic_store(&stop, true);
	cr_assert_eq(pthread_join(busy, NULL), 0);
	pthread_barrier_wait(&idle);
	for (int i = 0; i < NR; i++)
		cr_assert_eq(pthread_join(h[i].thread, NULL), 0);
	pthread_barrier_destroy(&idle);
	assert_threads_ok();
	cr_assert_eq(kmem_cache_shrink(c), 0);
	cr_assert_eq(kmem_cache_shrink(busy_cache), 0);
	cr_assert_eq(cache_total_slabs(c), 0);
	cr_assert_eq(cache_total_slabs(busy_cache), 0);
	kmem_cache_destroy(c);
	kmem_cache_destroy(busy_cache);
	cr_assert_eq(kmem_error_count(), 0, "log: %s", printk_log);
}

/* ------------------------------------------------ more threads than units */

static void setup_few_units(void)
{
	cr_assert_eq(kmem_init(&(struct kmem_config){
			     .mem_size = MEM_SIZE, .nr_cpus = 3, .no_reporting = 1 }),
		     0);
	printk_capture();
	atomic_store(&stop, false);
	atomic_store(&thread_failed, 0);
}

TestSuite(slab_few_units, .init = setup_few_units, .fini = teardown, .timeout = 60);

struct unitless {
	pthread_t thread;
	struct kmem_cache *c;
	pthread_barrier_t *together;
	bool had_unit;
};

/* Allocate while every other worker holds on: most of them find no unit left. */
static void *unitless_fn(void *arg)
{
	struct unitless *u = arg;
	void *first = kmem_cache_alloc(u->c, GFP_KERNEL);
	void *objs[50];

	if (!first)
		thread_fail("the first allocation failed");
	u->had_unit = __this_cpu_area != NULL;
	pthread_barrier_wait(u->together);
	for (int round = 0; round < 200 && !atomic_load(&thread_failed); round++) {
		for (int i = 0; i < 50; i++) {
			objs[i] = kmem_cache_alloc(u->c, GFP_KERNEL);
			if (!objs[i]) {
				thread_fail("kmem_cache_alloc failed (unit: %d)", u->had_unit);
				return NULL;
			}
			memset(objs[i], 0x6e, 200);
		}
		void *k = kmalloc(100 + round, GFP_KERNEL);

		if (!k) {
			thread_fail("kmalloc failed (unit: %d)", u->had_unit);
			return NULL;
		}
		kfree(k);
		for (int i = 0; i < 50; i++)
			kmem_cache_free(u->c, objs[i]);
	}
	pthread_barrier_wait(u->together);
	kmem_cache_free(u->c, first);
	return NULL;
}

/*
 * A thread that finds every per-CPU unit taken still allocates and frees,
 * straight from the slabs and the buddy lists, with plenty of memory free.
 */
Test(slab_few_units, threads_without_a_unit_still_allocate)
{
	enum { NR = 6 };
	struct unitless u[NR];
	pthread_barrier_t together;

	kswapd_stop();
	warm_up_cache_structs();
	shrink_all_caches();
	unsigned long before = all_free_pages();
	struct kmem_cache *c = kmem_cache_create("unitless", 200, 0, 0, NULL);
	unsigned int without = 0;

	cr_assert_eq(pthread_barrier_init(&together, NULL, NR), 0);
	for (int i = 0; i < NR; i++) {
		u[i] = (struct unitless){ .c = c, .together = &together };
		cr_assert_eq(pthread_create(&u[i].thread, NULL, unitless_fn, &u[i]), 0);
	}
	for (int i = 0; i < NR; i++) {
		cr_assert_eq(pthread_join(u[i].thread, NULL), 0);
		without += !u[i].had_unit;
	}
	pthread_barrier_destroy(&together);
	assert_threads_ok();
	cr_assert_geq(without, NR - 2, "only %u threads ran without a unit", without);
	cr_assert(printk_logged("no per-CPU unit left"));
	cr_assert_eq(kmem_cache_shrink(c), 0);
	cr_assert_eq(cache_total_slabs(c), 0);
	kmem_cache_destroy(c);
	cr_assert_eq(kmem_error_count(), 0);
	shrink_all_caches(); /* the kmalloc caches the threads used */
	cr_assert_eq(all_free_pages(), before);
}

/* ------------------------------------------------ two nodes */

static void setup_two_nodes(void)
{
	cr_assert_eq(kmem_init(&(struct kmem_config){
			     .mem_size = MEM_SIZE, .nr_nodes = 2, .no_reporting = 1 }),
		     0);
	printk_capture();
	atomic_store(&stop, false);
	atomic_store(&thread_failed, 0);
}

TestSuite(slab_two_nodes, .init = setup_two_nodes, .fini = teardown, .timeout = 60);

/*
 * Threads of both nodes hand objects to each other: frees of the other
 * node's objects go through the alien arrays. One cache keeps its slab
 * descriptors off-slab (in kmalloc-64, node-local to the slab). Afterwards
 * both nodes' slabs are gone and every page is back.
 */
Test(slab_two_nodes, cross_node_frees_through_alien_arrays)
{
	enum { NR_WORKERS = 4 };
	struct worker w[NR_WORKERS];
	unsigned long allocs, cross;

	kswapd_stop();
	owner_init();
	warm_up_cache_structs();
	shrink_all_caches();
	unsigned long before = all_free_pages();
	struct kmem_cache *caches[2] = {
		kmem_cache_create("numa-96", 96, 0, 0, NULL),
		kmem_cache_create("numa-512", 512, 0, 0, NULL),
	};

	cr_assert(caches[0] && caches[1]);
	cr_assert(caches[1]->flags & CFLGS_OFF_SLAB);
	start_workers(w, NR_WORKERS, caches, 2, false);
	run_for(1000ULL * 1000000ULL);
	join_workers(w, NR_WORKERS, &allocs, &cross);
	cr_assert_gt(allocs, 5000, "only %lu allocations", allocs);
	cr_assert_gt(cross, 500, "only %lu objects freed by another thread", cross);
	for (int i = 0; i < 2; i++) {
		for (int nid = 0; nid < 2; nid++)
			cr_assert_neq(caches[i]->node[nid]->alien, NULL);
		slab_check(caches[i]);
		cr_assert_eq(kmem_cache_shrink(caches[i]), 0, "%s kept live objects",
			     caches[i]->name);
		cr_assert_eq(node_counts(caches[i], 0).total_slabs, 0);
		cr_assert_eq(node_counts(caches[i], 1).total_slabs, 0);
		kmem_cache_destroy(caches[i]);
	}
	cr_assert_eq(kmem_error_count(), 0, "log: %s", printk_log);
	shrink_all_caches(); /* kmalloc-64 held the off-slab descriptors */
	cr_assert_eq(all_free_pages(), before);
	owner_check_all_free();
}

/* ------------------------------------------- lazily made kmalloc caches */

static pthread_barrier_t lazy_barrier;

static void *lazy_kmalloc_fn(void *arg)
{
	void **out = arg;

	pthread_barrier_wait(&lazy_barrier);
	out[0] = kmalloc(200, GFP_DMA);
	out[1] = kmalloc(200, GFP_KERNEL | __GFP_RECLAIMABLE);
	return NULL;
}

static unsigned int slabinfo_lines(const char *text, const char *name)
{
	unsigned int n = 0;
	size_t len = strlen(name);

	for (const char *p = text; (p = strstr(p, name)); p += len)
		if ((p == text || p[-1] == '\n') && p[len] == ' ')
			n++;
	return n;
}

/*
 * Threads that make the first GFP_DMA and __GFP_RECLAIMABLE kmallocs of a
 * class at once all get their objects from one cache of each kind, and
 * slabinfo lists each once.
 */
Test(slab_threads, dma_and_reclaimable_caches_made_once_under_a_race)
{
	enum { NR = 8 };
	pthread_t t[NR];
	void *objs[NR][2];
	unsigned long errors = kmem_error_count();

	cr_assert_eq(pthread_barrier_init(&lazy_barrier, NULL, NR), 0);
	for (int i = 0; i < NR; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, lazy_kmalloc_fn, objs[i]), 0);
	for (int i = 0; i < NR; i++)
		cr_assert_eq(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&lazy_barrier);
	for (int i = 0; i < NR; i++) {
		cr_assert(objs[i][0] && objs[i][1], "thread %d got no object", i);
		cr_assert_eq(virt_to_cache(objs[i][0]), kmalloc_slab(200, GFP_DMA));
		cr_assert_eq(virt_to_cache(objs[i][1]), kmalloc_slab(200, __GFP_RECLAIMABLE));
	}
	cr_assert_str_eq(kmalloc_slab(200, GFP_DMA)->name, "dma-kmalloc-256");
	cr_assert_str_eq(kmalloc_slab(200, __GFP_RECLAIMABLE)->name, "kmalloc-rcl-256");
	char *text = slabinfo_read();

	cr_assert_eq(slabinfo_lines(text, "dma-kmalloc-256"), 1, "%s", text);
	cr_assert_eq(slabinfo_lines(text, "kmalloc-rcl-256"), 1, "%s", text);
	for (int i = 0; i < NR; i++) {
		kfree(objs[i][0]);
		kfree(objs[i][1]);
	}
	cr_assert_eq(kmem_error_count(), errors, "log: %s", printk_log);
}

/* ------------------------------------------------------- free_limit and threads */

/*
 * The free objects a node keeps in free slabs: the kernel's free_limit, a
 * batch per CPU and one more, with every thread that holds a per-CPU unit
 * counted as a CPU. With idle threads holding units, a burst of frees keeps
 * more free slabs; once they exit, the limit is the CPUs' again.
 */
struct unit_holder {
	pthread_t thread;
	pthread_barrier_t *attached, *leave;
};

static void *hold_a_unit(void *arg)
{
	struct unit_holder *h = arg;

	kfree(kmalloc(32, GFP_KERNEL)); /* attaches this thread's unit */
	pthread_barrier_wait(h->attached);
	pthread_barrier_wait(h->leave);
	return NULL;
}

Test(slab_threads, free_limit_counts_threads_with_units)
{
	enum { NR_HOLDERS = 6, NR = 3000 };
	static void *objs[NR];
	struct kmem_cache *c = kmem_cache_create("free-limit-units", 256, 0, 0, NULL);
	struct unit_holder h[NR_HOLDERS];
	pthread_barrier_t attached, leave;

	cr_assert_not_null(c);
	kfree(kmalloc(32, GFP_KERNEL));
	struct kmem_cache_node *n = c->node[0];
	unsigned int units0 = pcpu_nr_online(), cpus = slab_nr_cpus;

	cr_assert_eq(cpus, os_nr_cpus());
	cr_assert_eq(n->free_limit, (1 + cpus) * n->free_batch + c->num);
	cr_assert_eq(n->free_batch, 60, "half the kernel's 120 for 256-byte objects");
	cr_assert_eq(pthread_barrier_init(&attached, NULL, NR_HOLDERS + 1), 0);
	cr_assert_eq(pthread_barrier_init(&leave, NULL, NR_HOLDERS + 1), 0);
	for (int i = 0; i < NR_HOLDERS; i++) {
		h[i] = (struct unit_holder){ .attached = &attached, .leave = &leave };
		cr_assert_eq(pthread_create(&h[i].thread, NULL, hold_a_unit, &h[i]), 0);
	}
	pthread_barrier_wait(&attached);
	unsigned int units = pcpu_nr_online();

	cr_assert_eq(units, units0 + NR_HOLDERS);
	cr_assert_eq(node_free_limit(n),
		     n->free_limit + (units > cpus ? (units - cpus) * n->free_batch : 0));
	/* A burst of frees: every free slab beyond the limit is destroyed, no more. */
	for (int i = 0; i < NR; i++)
		cr_assert_not_null(objs[i] = kmem_cache_alloc(c, GFP_KERNEL));
	for (int i = 0; i < NR; i++)
		kmem_cache_free(c, objs[i]);
	spin_lock(&n->list_lock);
	unsigned long kept = n->free_objects;
	spin_unlock(&n->list_lock);

	cr_assert_leq(kept, node_free_limit(n));
	cr_assert_gt(kept, n->free_limit, "%lu free objects kept, no more than with no threads",
		     kept);
	pthread_barrier_wait(&leave);
	for (int i = 0; i < NR_HOLDERS; i++)
		cr_assert_eq(pthread_join(h[i].thread, NULL), 0);
	cr_assert_eq(pcpu_nr_online(), units0, "the exited threads' units are back");
	cr_assert_eq(node_free_limit(n),
		     n->free_limit + (units0 > cpus ? (units0 - cpus) * 60 : 0));
	pthread_barrier_destroy(&attached);
	pthread_barrier_destroy(&leave);
	kmem_cache_destroy(c);
	assert_threads_ok();
}
