/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the tests of kmem's bug detectors (test_slab_debug.c,
 * test_kfence.c): kmem initialised with a KMEM_DEBUG string and kmem's
 * messages recorded, allocation and free sites the reports must name (global
 * and noinline: the tests link with -rdynamic, so reports say
 * "Allocated in alloc_site+0x.."), and expect_report(), which runs a
 * statement and checks that it was reported as exactly one bug. Each test
 * program includes it once, after slab_test.h.
 */
#ifndef KMEM_TESTS_DEBUG_TEST_H
#define KMEM_TESTS_DEBUG_TEST_H

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "slab_test.h"

#define ARENA_SIZE (64UL << 20)

/* kmem_init() with @str as KMEM_DEBUG, recording what kmem prints. */
static __maybe_unused int debug_init(const char *str)
{
	printk_capture();
	return kmem_init(&(struct kmem_config){
		.mem_size = ARENA_SIZE, .no_reporting = 1, .slab_debug = str });
}

static __maybe_unused void teardown(void)
{
	kmem_exit();
	kmem_set_printk(NULL);
}

/* A printk hook that drops everything (forked children: nothing to record for). */
static __maybe_unused void quiet(int level, const char *msg)
{
	(void)level;
	(void)msg;
}

noinline void *alloc_site(struct kmem_cache *c);
noinline void *alloc_site(struct kmem_cache *c)
{
	void *p = kmem_cache_alloc(c, GFP_KERNEL);

	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

noinline void free_site(struct kmem_cache *c, void *p);
noinline void free_site(struct kmem_cache *c, void *p)
{
	kmem_cache_free(c, p);
	__asm__ volatile("" : : : "memory");
}

/* Run @stmt: exactly one caught bug, and every needle (NULL-terminated) in the report. */
#define expect_report(stmt, ...)                                                                   \
	do {                                                                                       \
		unsigned long __errors = kmem_error_count();                                       \
		const char *__needles[] = { __VA_ARGS__, NULL };                                   \
		printk_clear();                                                                    \
		stmt;                                                                              \
		cr_assert_eq(kmem_error_count(), __errors + 1, "%s: %lu bugs reported: %s", #stmt, \
			     kmem_error_count() - __errors, printk_log);                           \
		for (const char **__n = __needles; *__n; __n++)                                    \
			cr_assert(printk_logged(*__n), "%s: no '%s' in:\n%s", #stmt, *__n,         \
				  printk_log);                                                     \
	} while (0)

/*
 * Panic mode: fork a child with kmem initialised from @debug (which asks for
 * panic) and its messages dropped. Returns 0 in the child, which runs the
 * bug (no Criterion asserts there) and _exits; the parent passes the pid to
 * expect_panic(). A child that cannot initialise exits with 2.
 */
static __maybe_unused pid_t fork_panic_child(const char *debug)
{
	pid_t pid = fork();

	if (pid == 0) {
		/* The plain abort, not Criterion's crash report to its runner. */
		signal(SIGABRT, SIG_DFL);
		kmem_set_printk(quiet);
		if (kmem_init(&(struct kmem_config){
			    .mem_size = ARENA_SIZE, .no_reporting = 1, .slab_debug = debug }))
			_exit(2);
		return 0;
	}
	cr_assert_gt(pid, 0, "fork failed");
	return pid;
}

/* The child of fork_panic_child() died of the abort that panic mode ends with. */
static __maybe_unused void expect_panic(pid_t pid)
{
	int status;

	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "child status %#x", status);
}

#endif /* KMEM_TESTS_DEBUG_TEST_H */
