// SPDX-License-Identifier: MIT
/*
 * bench_debug: what slab debugging costs, as ns per kmem_cache_alloc +
 * kmem_cache_free pair of a 64-byte object (batches of 100 allocations, then
 * 100 frees), for caches with no debugging and with KMEM_DEBUG's F, Z, P,
 * FZP and FZPU, all in the same process and run. Each figure is the median
 * of rounds that alternate between the caches. KMEM_BENCH_QUICK=1: fewer,
 * shorter rounds.
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
#define MAX_ROUNDS 15

static const struct {
	const char *name, *title;
} caches[] = {
	{ "bench-off", "no debugging" }, { "bench-f", "F (checks)" },
	{ "bench-z", "Z (red zones)" },	 { "bench-p", "P (poison)" },
	{ "bench-fzp", "FZP" },		 { "bench-fzpu", "FZPU (owners: stack traces)" },
};
#define NR_CACHES (sizeof(caches) / sizeof(caches[0]))

static double run(struct kmem_cache *c, uint64_t duration_ns)
{
	void *objs[BATCH];
	uint64_t start = now_ns(), pairs = 0, t;

	do {
		for (int i = 0; i < BATCH; i++) {
			objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
			*(volatile char *)objs[i] = 1;
		}
		for (int i = 0; i < BATCH; i++)
			kmem_cache_free(c, objs[i]);
		pairs += BATCH;
	} while ((t = now_ns()) - start < duration_ns);
	return (double)(t - start) / (double)pairs;
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
	return 0;
}
