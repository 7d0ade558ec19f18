// SPDX-License-Identifier: MIT
/*
 * malloc_larson: a Larson-style server workload for bench_programs.sh, run
 * unmodified under each allocator. THREADS threads each own SLOTS blocks and
 * replace a random one per step with a block of a random size (16 B .. 1 KiB,
 * one in 64 up to 64 KiB), writing its first and last bytes. After each round
 * the threads exit and a new generation inherits their blocks, so frees of
 * another thread's blocks and thread exits happen all along, as in Larson and
 * Krishnan's benchmark of a server whose threads come and go.
 *
 * usage: malloc_larson [THREADS [ROUNDS [STEPS]]]   (default 4 20 200000)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 2000

struct worker {
	void *slot[SLOTS];
	uint64_t rng;
	long steps;
};

static size_t pick_size(uint64_t r)
{
	if ((r & 63) == 0)
		return 16 + (r >> 8) % (64 << 10);
	return 16 + (r >> 8) % 1009;
}

static uint64_t next(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 11;
}

static void *run(void *arg)
{
	struct worker *w = arg;

	for (long i = 0; i < w->steps; i++) {
		uint64_t r = next(&w->rng);
		size_t k = r % SLOTS, size = pick_size(next(&w->rng));
		char *p;

		free(w->slot[k]);
		p = malloc(size);
		if (!p) {
			fprintf(stderr, "malloc_larson: malloc(%zu) failed\n", size);
			exit(1);
		}
		p[0] = (char)i;
		p[size - 1] = (char)i;
		w->slot[k] = p;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 4;
	int rounds = argc > 2 ? atoi(argv[2]) : 20;
	long steps = argc > 3 ? atol(argv[3]) : 200000;
	struct worker *w = calloc((size_t)threads, sizeof(*w));
	pthread_t *t = calloc((size_t)threads, sizeof(*t));

	if (threads < 1 || rounds < 1 || steps < 1 || !w || !t) {
		fprintf(stderr, "usage: malloc_larson [THREADS [ROUNDS [STEPS]]]\n");
		return 2;
	}
	for (int i = 0; i < threads; i++)
		w[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < threads; i++) {
			w[i].steps = steps;
			if (pthread_create(&t[i], NULL, run, &w[i])) {
				perror("malloc_larson: pthread_create");
				return 1;
			}
		}
		for (int i = 0; i < threads; i++)
			pthread_join(t[i], NULL);
		/* The next generation frees what its neighbour allocated. */
		struct worker first = w[0];

		memmove(&w[0], &w[1], (size_t)(threads - 1) * sizeof(*w));
		w[threads - 1] = first;
	}
	for (int i = 0; i < threads; i++)
		for (int k = 0; k < SLOTS; k++)
			free(w[i].slot[k]);
	printf("%d threads x %d rounds x %ld steps\n", threads, rounds, steps);
	free(w);
	free(t);
	return 0;
}
