// SPDX-License-Identifier: MIT
/*
 * bench_debug: what slab debugging costs, as ns per kmem_cache_alloc +
 * kmem_cache_free pair of a 64-byte object (batches of 100 allocations, then
 * 100 frees), for caches with no debugging and with KMEM_DEBUG's F, Z, P,
 * FZP and FZPU, all in the same process and run. Each figure is the median
 * of rounds that alternate between the caches. Then KFENCE's cost: the same
 * kind of pairs with kfence off and on, in turns (kfence_bench below).
 * KMEM_BENCH_QUICK=1: fewer, shorter rounds.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kmem/kmem.h>

#include "bench_common.h"

#define BATCH 100
#define KFENCE_BIG_BATCH 1000
#define MAX_ROUNDS 15

static const struct {
	const char *name, *title;
} caches[] = {
	{ "bench-off", "no debugging" }, { "bench-f", "F (checks)" },
	{ "bench-z", "Z (red zones)" },	 { "bench-p", "P (poison)" },
	{ "bench-fzp", "FZP" },		 { "bench-fzpu", "FZPU (owners: stack traces)" },
};
#define NR_CACHES (sizeof(caches) / sizeof(caches[0]))

static double run_batch(struct kmem_cache *c, int batch, uint64_t duration_ns)
{
	static void *objs[KFENCE_BIG_BATCH];
	uint64_t start = now_ns(), pairs = 0, t;

	do {
		for (int i = 0; i < batch; i++) {
			objs[i] = c ? kmem_cache_alloc(c, GFP_KERNEL) : kmalloc(64, GFP_KERNEL);
			*(volatile char *)objs[i] = 1;
		}
		for (int i = 0; i < batch; i++) {
			if (c)
				kmem_cache_free(c, objs[i]);
			else
				kfree(objs[i]);
		}
		pairs += (uint64_t)batch;
	} while ((t = now_ns()) - start < duration_ns);
	return (double)(t - start) / (double)pairs;
}

static double run(struct kmem_cache *c, uint64_t duration_ns)
{
	return run_batch(c, BATCH, duration_ns);
}

/* ------------------------------------------------------------------ KFENCE */

/*
 * KFENCE's cost: kmem initialised without it and with it, in turns within
 * one process, on the same workloads: batches of 100 (the per-thread array
 * absorbs them: the slow path, where kfence samples, is rarely reached) and
 * of 1000 (past the array: every batch refills and flushes through it).
 */
static const struct {
	const char *debug, *title;
} kfence_modes[] = {
	{ NULL, "off" },
	{ "kfence", "kfence (every 100 ms)" },
	{ "kfence=1ms", "kfence=1ms" },
	{ "kfence=100", "kfence=100 (1 in 100 slow paths)" },
};
#define NR_KFENCE_MODES (sizeof(kfence_modes) / sizeof(kfence_modes[0]))

static const struct {
	bool kmalloc;
	int batch;
	const char *title;
} kfence_loads[] = {
	{ false, BATCH, "kmem_cache, batch 100" },
	{ false, KFENCE_BIG_BATCH, "kmem_cache, batch 1000" },
	{ true, KFENCE_BIG_BATCH, "kmalloc(64), batch 1000" },
};
#define NR_KFENCE_LOADS (sizeof(kfence_loads) / sizeof(kfence_loads[0]))

static unsigned long kfence_allocations(void)
{
	char buf[1024];
	const char *line;
	unsigned long v = 0;

	if (kmem_proc_read("kfence/stats", buf, sizeof(buf)) > 0 &&
	    (line = strstr(buf, "total allocations: ")))
		v = strtoul(line + strlen("total allocations: "), NULL, 10);
	return v;
}

static void kfence_round(size_t mode, uint64_t duration, double *ns, unsigned long *sampled)
{
	if (kmem_init(&(struct kmem_config){ .mem_size = 256UL << 20,
					     .slab_debug = kfence_modes[mode].debug }))
		die("kmem_init(%s) failed", kfence_modes[mode].title);
	struct kmem_cache *c = kmem_cache_create("bench-kfence", 64, 0, 0, NULL);

	if (!c)
		die("kmem_cache_create failed");
	for (size_t l = 0; l < NR_KFENCE_LOADS; l++) {
		struct kmem_cache *cache = kfence_loads[l].kmalloc ? NULL : c;

		run_batch(cache, kfence_loads[l].batch, duration / 4); /* warm up */
		ns[l] = run_batch(cache, kfence_loads[l].batch, duration);
	}
	*sampled = kfence_allocations();
	kmem_cache_destroy(c);
	kmem_exit();
}

static void kfence_bench(int rounds, uint64_t duration)
{
	static double ns[NR_KFENCE_MODES][NR_KFENCE_LOADS][MAX_ROUNDS];
	unsigned long sampled[NR_KFENCE_MODES] = { 0 };

	for (int r = 0; r < rounds; r++) {
		fprintf(stderr, "bench_debug: kfence round %d/%d\n", r + 1, rounds);
		for (size_t k = 0; k < NR_KFENCE_MODES; k++) {
			size_t m = (k + (size_t)r) % NR_KFENCE_MODES;
			double one[NR_KFENCE_LOADS];
			unsigned long n;

			kfence_round(m, duration, one, &n);
			sampled[m] += n;
			for (size_t l = 0; l < NR_KFENCE_LOADS; l++)
				ns[m][l][r] = one[l];
		}
	}
	printf("## KFENCE overhead (bench_debug)\n\n");
	printf("64-byte objects, alloc + free pairs in batches; kmem initialised without and "
	       "with kfence in turns, same process; median of %d rounds. \"sampled\": kfence "
	       "objects handed out per round (every workload of the round).\n\n",
	       rounds);
	printf("| kfence |");
	for (size_t l = 0; l < NR_KFENCE_LOADS; l++)
		printf(" %s: ns per pair | x off |", kfence_loads[l].title);
	printf(" sampled |\n|---|");
	for (size_t l = 0; l < NR_KFENCE_LOADS; l++)
		printf("---:|---:|");
	printf("---:|\n");
	double base[NR_KFENCE_LOADS];

	for (size_t m = 0; m < NR_KFENCE_MODES; m++) {
		printf("| %s |", kfence_modes[m].title);
		for (size_t l = 0; l < NR_KFENCE_LOADS; l++) {
			qsort(ns[m][l], (size_t)rounds, sizeof(double), cmp_double);
			double med = ns[m][l][rounds / 2];

			if (m == 0)
				base[l] = med;
			printf(" %.1f | %.2f |", med, med / base[l]);
		}
		printf(" %lu |\n", sampled[m] / (unsigned long)rounds);
	}
	printf("\n");
}

int main(void)
{
	bench_name = "bench_debug";
	bool is_quick = bench_quick();
	int rounds = is_quick ? 5 : MAX_ROUNDS;
	uint64_t duration = is_quick ? 50000000ULL : 200000000ULL;
	struct kmem_cache *c[NR_CACHES];
	double ns[NR_CACHES][MAX_ROUNDS];

	if (kmem_init(&(struct kmem_config){
		    .mem_size = 256UL << 20,
		    .slab_debug = "F,bench-f;Z,bench-z;P,bench-p;FZP,bench-fzp;FZPU,bench-fzpu" })) {
		fprintf(stderr, "bench_debug: kmem_init failed\n");
		return 1;
	}
	for (size_t i = 0; i < NR_CACHES; i++) {
		c[i] = kmem_cache_create(caches[i].name, 64, 0, 0, NULL);
		if (!c[i])
			return 1;
		run(c[i], duration / 4); /* warm up: slabs grown, arrays filled */
	}
	for (int r = 0; r < rounds; r++) {
		fprintf(stderr, "bench_debug: round %d/%d\n", r + 1, rounds);
		for (size_t k = 0; k < NR_CACHES; k++) {
			size_t i = (k + (size_t)r) % NR_CACHES;

			ns[i][r] = run(c[i], duration);
		}
	}
	printf("## Slab debugging overhead (bench_debug)\n\n");
	printf("64-byte objects, kmem_cache_alloc + kmem_cache_free, batches of %d; "
	       "median of %d rounds, same process.\n\n",
	       BATCH, rounds);
	printf("| cache | ns per pair | x no debugging |\n|---|---:|---:|\n");
	double base = 0;

	for (size_t i = 0; i < NR_CACHES; i++) {
		qsort(ns[i], (size_t)rounds, sizeof(double), cmp_double);
		double med = ns[i][rounds / 2];

		if (i == 0)
			base = med;
		printf("| %s | %.1f | %.1f |\n", caches[i].title, med, med / base);
	}
	printf("\n");
	for (size_t i = 0; i < NR_CACHES; i++)
		kmem_cache_destroy(c[i]);
	kmem_exit();
	kfence_bench(rounds, duration / 2);
	return 0;
}
