// kmem-test: threaded
// SPDX-License-Identifier: MIT
/*
 * KFENCE (src/mm/kfence.c): sampled allocations come from the guard-page
 * pool; an overrun, an underrun and a use after free fault and are reported
 * (kind, address, cache, owners) and the program goes on; canary damage is
 * reported on free; double and invalid frees are reported and ignored; an
 * exhausted pool falls back to slabs; KMEM_DEBUG's kfence option is parsed;
 * threads allocate and free sampled objects at once.
 *
 * The faulting tests run the bad access in the test process: kfence's
 * SIGSEGV handler reports it, opens the page and returns, so the access
 * completes. Under ASan that handler is installed over ASan's (which it
 * chains to for other faults), so they run there too.
 */
#include <errno.h>
#include <time.h>

#include "debug_test.h"
#include "mm/kfence.h"

/* Every slow-path allocation sampled: a cache's first allocations all come from the pool. */
static void setup_every(void)
{
	cr_assert_eq(debug_init("kfence=1"), 0, "log: %s", printk_log);
	printk_clear();
}

TestSuite(kfence, .init = setup_every, .fini = teardown);
TestSuite(kfence_config, .fini = teardown);

/* The faulting accesses, in functions of their own so the reports can name them. */
noinline void kfence_write_byte(volatile char *p);
noinline void kfence_write_byte(volatile char *p)
{
	*p = 1;
}

noinline char kfence_read_byte(const volatile char *p);
noinline char kfence_read_byte(const volatile char *p)
{
	return *p;
}

static bool right_placed(const void *p, size_t size)
{
	return ((uintptr_t)p + size) % PAGE_SIZE == 0;
}

static bool left_placed(const void *p)
{
	return (uintptr_t)p % PAGE_SIZE == 0;
}

/* A sampled object of @c placed at the right (or left) edge of its page. */
static void *alloc_placed(struct kmem_cache *c, bool right)
{
	for (int i = 0; i < 4; i++) {
		void *p = alloc_site(c);

		cr_assert(is_kfence_address(p), "%p is not from the kfence pool", p);
		if (right ? right_placed(p, kmem_cache_size(c)) : left_placed(p))
			return p;
		kmem_cache_free(c, p);
	}
	cr_assert_fail("no %s-placed object in 4 allocations", right ? "right" : "left");
	return NULL;
}

static void expect_logged(const char *what)
{
	cr_assert(printk_logged(what), "no '%s' in:\n%s", what, printk_log);
}

static void expect_address(const void *p)
{
	char addr[32];

	snprintf(addr, sizeof(addr), "%#lx", (unsigned long)p);
	expect_logged(addr);
}

static uint64_t now_ns_for_test(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static unsigned long kfence_stat(const char *name)
{
	char buf[1024], *line;
	unsigned long v = ~0UL;

	cr_assert_gt(kmem_proc_read("kfence/stats", buf, sizeof(buf)), 0);
	line = strstr(buf, name);
	cr_assert(line, "no '%s' in kfence/stats:\n%s", name, buf);
	sscanf(line + strlen(name), ": %lu", &v);
	return v;
}

Test(kfence, sampled_objects_come_from_the_pool_at_alternate_edges)
{
	struct kmem_cache *c = kmem_cache_create("kf-obj", 64, 0, 0, NULL);
	/* kmem's own objects (the struct kmem_cache just made) are sampled too: count from here. */
	unsigned long allocs = kfence_stat("total allocations");
	unsigned long frees = kfence_stat("total frees");
	void *a = alloc_site(c), *b = alloc_site(c);

	cr_assert(is_kfence_address(a) && is_kfence_address(b), "%p %p", a, b);
	cr_assert(right_placed(a, 64) != right_placed(b, 64), "%p and %p on the same edge", a, b);
	cr_assert(left_placed(a) || left_placed(b));
	cr_assert_neq((uintptr_t)a / PAGE_SIZE, (uintptr_t)b / PAGE_SIZE, "one page each");
	memset(a, 0x11, 64);
	memset(b, 0x22, 64);
	cr_assert_eq(kfence_stat("total allocations"), allocs + 2);
	free_site(c, a);
	free_site(c, b);
	cr_assert_eq(kfence_stat("total frees"), frees + 2);
	kmem_cache_destroy(c);
	cr_assert_eq(kfence_stat("total bugs"), 0);
	cr_assert_eq(kmem_error_count(), 0);
}

Test(kfence, kmalloc_ksize_krealloc_and_kfree_handle_kfence_objects)
{
	char *p = kmalloc(100, GFP_KERNEL);

	cr_assert(is_kfence_address(p), "%p", p);
	cr_assert_eq(ksize(p), 128, "kmalloc-128's object size");
	memset(p, 'x', 100);
	char *q = krealloc(p, 120, GFP_KERNEL);

	cr_assert_eq(q, p, "fits: in place");
	char *r = krealloc(q, 1000, GFP_KERNEL);

	cr_assert_not_null(r);
	cr_assert_neq(r, q);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(r[i], 'x');
	kfree(r);
	char *z = kzalloc(64, GFP_KERNEL);

	cr_assert(is_kfence_address(z));
	for (int i = 0; i < 64; i++)
		cr_assert_eq(z[i], 0);
	unsigned long frees = kfence_stat("total frees");

	kfree_sensitive(z);
	cr_assert_eq(kfence_stat("total frees"), frees + 1);
	cr_assert_eq(kmem_error_count(), 0, "%s", printk_log);
}

Test(kfence, overrun_past_a_right_placed_object_faults_and_is_reported)
{
	struct kmem_cache *c = kmem_cache_create("kf-oob", 64, 0, 0, NULL);
	char *p = alloc_placed(c, true);

	expect_report(kfence_write_byte(p + 64),
		      "BUG: KFENCE: out-of-bounds write in kfence_write_byte");
	expect_logged("Out-of-bounds write at");
	expect_logged("(1B right of kfence-#");
	expect_address(p + 64);
	expect_logged("cache=kf-oob");
	expect_logged("Allocated in alloc_site");
	expect_logged("Freed: never");
	/* The page stays open for this object: the program goes on, the next access is silent. */
	p[65] = 2;
	cr_assert_eq(kfence_read_byte(p + 64), 1);
	free_site(c, p);
	cr_assert_eq(kfence_stat("total bugs"), 1);
	kmem_cache_destroy(c);
}

Test(kfence, underrun_before_a_left_placed_object_faults_and_is_reported)
{
	struct kmem_cache *c = kmem_cache_create("kf-under", 48, 0, 0, NULL);
	char *p = alloc_placed(c, false);

	expect_report(kfence_read_byte(p - 1),
		      "BUG: KFENCE: out-of-bounds read in kfence_read_byte");
	expect_logged("(1B left of kfence-#");
	expect_address(p - 1);
	expect_logged("cache=kf-under");
	expect_logged("Allocated in alloc_site");
	free_site(c, p);
	kmem_cache_destroy(c);
}

Test(kfence, use_after_free_is_reported_with_both_stacks)
{
	struct kmem_cache *c = kmem_cache_create("kf-uaf", 32, 0, 0, NULL);
	char *p = alloc_site(c);

	cr_assert(is_kfence_address(p));
	free_site(c, p);
	expect_report(kfence_read_byte(p + 3),
		      "BUG: KFENCE: use-after-free read in kfence_read_byte");
	expect_logged("Use-after-free read at");
	expect_address(p + 3);
	expect_logged("cache=kf-uaf");
	expect_logged("Allocated in alloc_site");
	expect_logged("Freed in free_site");
	kmem_cache_destroy(c);
}

Test(kfence, kfree_then_write_is_a_use_after_free)
{
	char *p = kmalloc(64, GFP_KERNEL);

	cr_assert(is_kfence_address(p));
	kfree(p);
	expect_report(kfence_write_byte(p), "BUG: KFENCE: use-after-free write");
	expect_logged("cache=kmalloc-64");
}

Test(kfence, canary_damage_inside_the_page_is_reported_on_free)
{
	struct kmem_cache *c = kmem_cache_create("kf-canary", 64, 0, 0, NULL);
	char *p = alloc_placed(c, false);

	unsigned long frees = kfence_stat("total frees");

	p[64] = 0; /* past the object, still in its page: no fault */
	cr_assert_eq(kmem_error_count(), 0);
	expect_report(free_site(c, p), "BUG: KFENCE: memory corruption in free_site");
	expect_logged("Corrupted memory at");
	expect_address(p + 64);
	expect_logged("cache=kf-canary");
	cr_assert_eq(kfence_stat("total frees"), frees + 1, "freed anyway");
	kmem_cache_destroy(c);
}

Test(kfence, double_free_is_reported_and_ignored)
{
	struct kmem_cache *c = kmem_cache_create("kf-double", 64, 0, 0, NULL);
	char *p = alloc_site(c);

	free_site(c, p);
	expect_report(free_site(c, p), "BUG: KFENCE: invalid free in free_site");
	expect_logged("Invalid free of");
	expect_logged("Freed in free_site");
	char *q = kmalloc(64, GFP_KERNEL);

	kfree(q);
	expect_report(kfree(q), "BUG: KFENCE: invalid free");
	char *m = kmalloc(64, GFP_KERNEL);
	unsigned long frees = kfence_stat("total frees");

	cr_assert(is_kfence_address(m));
	expect_report(kfree(m + 8), "not the object's start");
	cr_assert_eq(kfence_stat("total frees"), frees, "the bad free freed nothing");
	kfree(m);
	cr_assert_eq(kfence_stat("total frees"), frees + 1);
	kmem_cache_destroy(c);
}

Test(kfence, an_exhausted_pool_falls_back_to_slabs)
{
	enum { NR = KFENCE_NUM_OBJECTS + 40 };
	static void *objs[NR];
	struct kmem_cache *c = kmem_cache_create("kf-full", 128, 0, 0, NULL);
	unsigned long before = kfence_stat("currently allocated");
	int in_pool = 0;

	for (int i = 0; i < NR; i++) {
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
		cr_assert_not_null(objs[i]);
		in_pool += is_kfence_address(objs[i]);
		memset(objs[i], 0x33, 128);
	}
	cr_assert_eq(in_pool + before, KFENCE_NUM_OBJECTS, "the whole pool, then slabs");
	cr_assert(!is_kfence_address(objs[NR - 1]));
	cr_assert_eq(kfence_stat("currently allocated"), KFENCE_NUM_OBJECTS);
	cr_assert_gt(kfence_stat("skipped allocations (capacity)"), 0);
	for (int i = 0; i < NR; i++)
		kmem_cache_free(c, objs[i]);
	/* Frees parked in the thread's array reach kfence when the array is drained. */
	kmem_cache_shrink(c);
	cr_assert_eq(kfence_stat("currently allocated"), before);
	kmem_cache_destroy(c);
	cr_assert_eq(kmem_error_count(), 0, "%s", printk_log);
}

Test(kfence, destroy_reports_a_live_kfence_object)
{
	struct kmem_cache *c = kmem_cache_create("kf-leak", 64, 0, 0, NULL);
	void *p = alloc_site(c);

	cr_assert(is_kfence_address(p));
	unsigned long live = kfence_stat("currently allocated");

	kmem_cache_destroy(c);
	expect_logged("kf-leak: kfence-#");
	expect_logged("Allocated in alloc_site");
	cr_assert_lt(kfence_stat("currently allocated"), live);
}

/*
 * kfence=T: kswapd opens the gate and turns the fast paths off, so even a
 * thread that allocates and frees one object at a time from a warm array
 * (never reaching the slow path on its own) gets a sample.
 */
Test(kfence_config, the_timer_samples_allocations_from_a_warm_array)
{
	cr_assert_eq(debug_init("kfence=1ms"), 0, "%s", printk_log);
	struct kmem_cache *c = kmem_cache_create("kf-timer", 64, 0, 0, NULL);
	bool sampled = false;

	/* The first slab grown starts kswapd, which runs the timer. */
	for (uint64_t deadline = now_ns_for_test() + 10000000000ULL;
	     !sampled && now_ns_for_test() < deadline;) {
		for (int i = 0; i < 1000 && !sampled; i++) {
			void *p = kmem_cache_alloc(c, GFP_KERNEL);

			sampled = is_kfence_address(p);
			kmem_cache_free(c, p);
		}
	}
	cr_assert(sampled, "no sampled allocation in 10 s; stats: %lu allocations",
		  kfence_stat("total allocations"));
	cr_assert_eq(kmem_error_count(), 0, "%s", printk_log);
	kmem_cache_destroy(c);
}

/* ------------------------------------------------------------------ threads */

#define NR_THREADS 4
#define ROUNDS 500

static struct kmem_cache *thread_cache;

static void *alloc_free_loop(void *arg)
{
	void *objs[16];

	(void)arg;
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < 16; i++) {
			objs[i] = (r + i) & 1 ? kmem_cache_alloc(thread_cache, GFP_KERNEL) :
						kmalloc(24 + i, GFP_KERNEL);
			if (!objs[i])
				return (void *)1;
			memset(objs[i], i, 24);
		}
		for (int i = 0; i < 16; i++) {
			if (((unsigned char *)objs[i])[23] != i)
				return (void *)2;
			if ((r + i) & 1)
				kmem_cache_free(thread_cache, objs[i]);
			else
				kfree(objs[i]);
		}
	}
	return NULL;
}

Test(kfence, threads_allocate_and_free_sampled_objects)
{
	pthread_t t[NR_THREADS];

	thread_cache = kmem_cache_create("kf-threads", 40, 0, 0, NULL);
	for (int i = 0; i < NR_THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, alloc_free_loop, NULL), 0);
	for (int i = 0; i < NR_THREADS; i++) {
		void *ret;

		pthread_join(t[i], &ret);
		cr_assert_null(ret, "thread %d failed: %ld", i, (long)ret);
	}
	kmem_cache_destroy(thread_cache);
	cr_assert_gt(kfence_stat("total allocations"), 0);
	cr_assert_eq(kfence_stat("total bugs"), 0);
	cr_assert_eq(kmem_error_count(), 0, "%s", printk_log);
}

/* ------------------------------------------------------------------ KMEM_DEBUG */

Test(kfence_config, good_strings)
{
	static const char *const good[] = { "kfence",
					    "kfence=1",
					    "kfence=100ms",
					    "kfence=250us",
					    "kfence=2s",
					    "FZ;kfence=10",
					    "kfence=5;U,kmalloc-*;panic" };

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		cr_assert_eq(debug_init(good[i]), 0, "'%s': %s", good[i], printk_log);
		cr_assert_eq(kfence_stat("enabled"), 1, "'%s'", good[i]);
		kmem_exit();
	}
	kmem_set_bug_panics(false);
	/* The cache options around it still apply. */
	cr_assert_eq(debug_init("kfence=10;FZ,kf-dbg"), 0);
	struct kmem_cache *c = kmem_cache_create("kf-dbg", 64, 0, 0, NULL);

	cr_assert(c->flags & SLAB_RED_ZONE);
	kmem_cache_destroy(c);
	kmem_exit();
	/* No kfence block: off, and no pool. */
	cr_assert_eq(debug_init("FZ"), 0);
	cr_assert_eq(kfence_stat("enabled"), 0);
	cr_assert_null(__kfence_pool);
}

Test(kfence_config, bad_strings_fail_with_a_clear_error)
{
	static const char *const bad[] = { "kfence=",	   "kfence=0",		"kfence=0ms",
					   "kfence=abc",   "kfence=10xs",	"kfence=-1",
					   "kfence=1,foo", "kfence=99999999999" };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cr_assert_eq(debug_init(bad[i]), -EINVAL, "'%s' accepted", bad[i]);
		expect_logged("KMEM_DEBUG='");
		expect_logged("bad sampling in 'kfence");
		expect_logged("kfence=100ms");
	}
	cr_assert_eq(debug_init("kfencex"), -EINVAL);
	expect_logged("unknown option");
}

/* panic mode: the report is printed, then the process aborts (in a child: no asserts there). */
Test(kfence_config, panic_mode_aborts_after_the_report)
{
#if defined(__SANITIZE_THREAD__)
	cr_skip_test("fork + thread start is not supported under TSan");
#endif
	pid_t pid = fork_panic_child("kfence=1;panic");

	if (pid == 0) {
		char *p = kmalloc(64, GFP_KERNEL);

		if (!is_kfence_address(p))
			_exit(3);
		kfree(p);
		kfence_read_byte(p);
		_exit(0);
	}
	expect_panic(pid);
}
