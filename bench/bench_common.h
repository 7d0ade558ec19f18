/* SPDX-License-Identifier: MIT */
/*
 * What the benchmarks share: errors, the clock, medians, the allocators
 * they compare (kmem and the malloc peers, found as Debian installs them),
 * and running one measurement in a fresh child process.
 *
 * A measurement runs in a child: the benchmark re-executes /proc/self/exe
 * with its child arguments, with LD_PRELOAD set to the peer's library (or
 * unset for kmem's native API and glibc), and reads what the child prints.
 */
#ifndef KMEM_BENCH_COMMON_H
#define KMEM_BENCH_COMMON_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BENCH_MAX_RUNS 31

/* The program name for messages; each benchmark sets it first thing in main(). */
static const char *bench_name = "bench";

static inline __attribute__((noreturn, cold, format(printf, 1, 2))) void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", bench_name);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct summary {
	double median, min, max;
};

static inline struct summary summarize(const double *v, int n)
{
	double s[BENCH_MAX_RUNS];
	struct summary r;

	memcpy(s, v, sizeof(double) * (size_t)n);
	qsort(s, (size_t)n, sizeof(double), cmp_double);
	r.median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	r.min = s[0];
	r.max = s[n - 1];
	return r;
}

/* KMEM_BENCH_QUICK=1 (make bench QUICK=1): fewer, shorter runs. */
static inline bool bench_quick(void)
{
	const char *q = getenv("KMEM_BENCH_QUICK");

	return q && *q && strcmp(q, "0") != 0;
}

/* ------------------------------------------------------------ allocators */

struct peer {
	const char *name; /* table row */
	const char *tag; /* progress lines, child argv, plot titles */
	const char *lib; /* LD_PRELOAD (NULL: none) */
	const char *env; /* variable that overrides lib */
	bool kmem; /* one of ours, not a peer */
	bool present;
};

#define PEER_LIBDIR "/usr/lib/x86_64-linux-gnu/"
#define MALLOC_PEERS                                                                               \
	{ "glibc malloc (system)", "glibc", NULL, NULL, false, true },                             \
		{ "mimalloc", "mimalloc", PEER_LIBDIR "libmimalloc.so.2", "KMEM_BENCH_MIMALLOC",   \
		  false,      false },                                                             \
		{ "jemalloc", "jemalloc", PEER_LIBDIR "libjemalloc.so.2", "KMEM_BENCH_JEMALLOC",   \
		  false,      false },                                                             \
	{                                                                                          \
		"tcmalloc", "tcmalloc", PEER_LIBDIR "libtcmalloc_minimal.so.4",                    \
			"KMEM_BENCH_TCMALLOC", false, false                                        \
	}

/*
 * Mark which peers are installed (KMEM_BENCH_<PEER>=path overrides a path);
 * a missing one is skipped with a message. Returns how many are present.
 */
static inline int detect_peers(struct peer *p, int n)
{
	int present = 0;

	for (int k = 0; k < n; k++) {
		const char *o = p[k].env ? getenv(p[k].env) : NULL;

		if (o && *o)
			p[k].lib = o;
		if (p[k].lib)
			p[k].present = access(p[k].lib, R_OK) == 0;
		if (!p[k].present)
			fprintf(stderr, "%s: %s not found (%s): skipped\n", bench_name, p[k].tag,
				p[k].lib);
		present += p[k].present;
	}
	return present;
}

/* The malloc replacement, next to the benchmark's build directory (build/bench/..). */
static inline const char *kmem_malloc_lib(void)
{
	static char path[4096];
	char exe[4000];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (len <= 0)
		return NULL;
	exe[len] = '\0';
	char *slash = strrchr(exe, '/');

	if (!slash)
		return NULL;
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/../libkmem-malloc.so", exe);
	return access(path, R_OK) == 0 ? path : NULL;
}

/* ------------------------------------------------------------ children */

/*
 * Run /proc/self/exe with @argv (argv[0] included, NULL-terminated) under
 * @lib, and read its standard output into @out. Dies if the child fails.
 */
static inline void run_child(const char *lib, char *const argv[], char *out, size_t size)
{
	int fd[2];

	if (pipe(fd))
		die("pipe: %s", strerror(errno));
	pid_t pid = fork();

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(fd[0]);
		dup2(fd[1], 1);
		if (lib)
			setenv("LD_PRELOAD", lib, 1);
		else
			unsetenv("LD_PRELOAD");
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(fd[1]);
	size_t len = 0;
	ssize_t r;

	while (len < size - 1 && (r = read(fd[0], out + len, size - 1 - len)) > 0)
		len += (size_t)r;
	close(fd[0]);
	out[len] = '\0';
	int st;

	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || !len)
		die("child '%s %s %s' under %s failed", argv[1], argv[2] ? argv[2] : "",
		    argv[2] && argv[3] ? argv[3] : "", lib ? lib : "no preload");
}

#endif /* KMEM_BENCH_COMMON_H */
