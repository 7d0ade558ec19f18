// SPDX-License-Identifier: MIT
/*
 * The storvsc pattern (seed 000, §3.3; drivers/scsi/storvsc_drv.c): a driver
 * keeps its per-request structures in a slab cache and puts a mempool over
 * that cache, so that the I/O which frees memory (writing dirty pages out)
 * can still allocate its requests when memory is exhausted.
 *
 *   request_cache = kmem_cache_create("storvsc_request", sizeof(req), ...);
 *   request_pool  = mempool_create_slab_pool(STORVSC_MIN_BUF_NR, request_cache);
 *   req = mempool_alloc(request_pool, GFP_NOIO);   // submission, may sleep
 *   ...the host completes it...
 *   mempool_free(req, request_pool);                // completion
 *
 * The program issues requests to a simulated host (a thread that completes
 * them after a short delay) three times: with memory to spare; with every
 * page and every free object taken, from process context (GFP_NOIO: the
 * submitter sleeps on an empty reserve until a completion refills it, and
 * never gets NULL); and in that state from "interrupt context" (GFP_ATOMIC:
 * NULL on an empty reserve, which the driver answers with "host busy").
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <kmem/kmem.h>

#define STORVSC_MIN_BUF_NR 64
#define QUEUE_DEPTH 256
#define MAX_HOARD 8192

struct storvsc_cmd_request {
	unsigned long tag;
	unsigned long long lba;
	unsigned int sectors;
	int status;
	unsigned char cdb[16];
	unsigned char sense[96];
};

static struct kmem_cache *request_cache;
static mempool_t *request_pool;

/* ------------------------------------------------------------ the simulated host */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct storvsc_cmd_request *ring[QUEUE_DEPTH];
	unsigned int head, tail;
	unsigned long submitted, completed;
	bool stop;
} host = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void sleep_us(long us)
{
	struct timespec ts = { 0, us * 1000 };

	nanosleep(&ts, NULL);
}

/* The host completes requests in order, 20 µs each: completion frees the request. */
static void *host_thread(void *arg)
{
	pthread_mutex_lock(&host.lock);
	for (;;) {
		while (host.head == host.tail && !host.stop)
			pthread_cond_wait(&host.cond, &host.lock);
		if (host.head == host.tail)
			break;
		struct storvsc_cmd_request *req = host.ring[host.tail++ % QUEUE_DEPTH];

		pthread_cond_broadcast(&host.cond);
		pthread_mutex_unlock(&host.lock);
		sleep_us(20);
		req->status = 0;
		mempool_free(req, request_pool); /* storvsc_command_completion() */
		pthread_mutex_lock(&host.lock);
		host.completed++;
		pthread_cond_broadcast(&host.cond);
	}
	pthread_mutex_unlock(&host.lock);
	return arg;
}

static void host_submit(struct storvsc_cmd_request *req)
{
	pthread_mutex_lock(&host.lock);
	while (host.head - host.tail == QUEUE_DEPTH)
		pthread_cond_wait(&host.cond, &host.lock);
	host.ring[host.head++ % QUEUE_DEPTH] = req;
	host.submitted++;
	pthread_cond_broadcast(&host.cond);
	pthread_mutex_unlock(&host.lock);
}

/* Wait until every submitted request has completed; returns how many ever did. */
static unsigned long host_drain(void)
{
	pthread_mutex_lock(&host.lock);
	while (host.completed != host.submitted)
		pthread_cond_wait(&host.cond, &host.lock);
	unsigned long completed = host.completed;

	pthread_mutex_unlock(&host.lock);
	return completed;
}

/* ------------------------------------------------------------ the driver */

struct stats {
	unsigned long issued, busy, waited;
};

/* storvsc_queuecommand(): one request, or "host busy" when an atomic caller finds none. */
static void issue(unsigned long tag, gfp_t gfp, struct stats *st)
{
	bool empty = __atomic_load_n(&request_pool->curr_nr, __ATOMIC_RELAXED) == 0;
	struct storvsc_cmd_request *req = mempool_alloc(request_pool, gfp);

	if (!req) {
		st->busy++; /* SCSI_MLQUEUE_HOST_BUSY: the midlayer retries later */
		return;
	}
	st->waited += empty && (gfp & __GFP_DIRECT_RECLAIM);
	memset(req, 0, sizeof(*req));
	req->tag = tag;
	req->lba = tag * 8;
	req->sectors = 8;
	req->cdb[0] = 0x2a; /* WRITE(10) */
	host_submit(req);
	st->issued++;
}

static void run(const char *what, gfp_t gfp, unsigned long n)
{
	struct stats st = { 0 };
	unsigned long done = host_drain();

	for (unsigned long i = 0; i < n; i++)
		issue(i, gfp, &st);
	done = host_drain() - done;
	printf("%-44s %5lu issued, %5lu completed, %4lu host-busy, %4lu submissions slept on "
	       "an empty reserve\n",
	       what, st.issued, done, st.busy, st.waited);
}

/* ------------------------------------------------------------ memory pressure */

static struct page *hoard_pages[MAX_HOARD];
static unsigned int hoard_orders[MAX_HOARD];
static void *hoard_objs[MAX_HOARD];
static int nr_hoard_pages, nr_hoard_objs;

/* The rest of the system takes every page and every free request structure. */
static void eat_memory(void)
{
	for (int order = MAX_PAGE_ORDER; order >= 0; order--) {
		struct page *page;

		while (nr_hoard_pages < MAX_HOARD &&
		       (page = alloc_pages(GFP_ATOMIC | __GFP_NOWARN, (unsigned int)order))) {
			hoard_orders[nr_hoard_pages] = (unsigned int)order;
			hoard_pages[nr_hoard_pages++] = page;
		}
	}
	while (nr_hoard_objs < MAX_HOARD &&
	       (hoard_objs[nr_hoard_objs] = kmem_cache_alloc(request_cache, GFP_NOWAIT)))
		nr_hoard_objs++;
}

static void give_memory_back(void)
{
	while (nr_hoard_objs)
		kmem_cache_free(request_cache, hoard_objs[--nr_hoard_objs]);
	while (nr_hoard_pages) {
		nr_hoard_pages--;
		__free_pages(hoard_pages[nr_hoard_pages], hoard_orders[nr_hoard_pages]);
	}
}

static void show_slabinfo(const char *when)
{
	char buf[1 << 16], *line;

	kmem_proc_read("slabinfo", buf, sizeof(buf));
	line = strstr(buf, "\nstorvsc_request ");
	if (line)
		printf("slabinfo %s: %.*s\n", when, (int)strcspn(line + 1, "\n"), line + 1);
}

int main(void)
{
	struct kmem_config cfg = { .mem_size = 16 << 20 };
	pthread_t host_tid;

	if (kmem_init(&cfg))
		return 1;
	request_cache = kmem_cache_create("storvsc_request", sizeof(struct storvsc_cmd_request), 0,
					  SLAB_HWCACHE_ALIGN, NULL);
	request_pool = mempool_create_slab_pool(STORVSC_MIN_BUF_NR, request_cache);
	if (!request_cache || !request_pool || pthread_create(&host_tid, NULL, host_thread, NULL))
		return 1;
	printf("storvsc: cache storvsc_request (%u-byte objects), pool of %d reserved requests\n",
	       kmem_cache_size(request_cache), request_pool->min_nr);
	show_slabinfo("at start");

	run("plenty of memory, GFP_NOIO:", GFP_NOIO, 2000);

	eat_memory();
	printf("memory pressure: %d blocks of pages and %d free requests taken; "
	       "kmem_cache_alloc now %s\n",
	       nr_hoard_pages, nr_hoard_objs,
	       kmem_cache_alloc(request_cache, GFP_NOWAIT) ? "SUCCEEDS (unexpected)" : "fails");
	run("no memory left, GFP_NOIO (process context):", GFP_NOIO, 2000);
	run("no memory left, GFP_ATOMIC (interrupt):", GFP_ATOMIC, 2000);
	show_slabinfo("under pressure");
	give_memory_back();

	pthread_mutex_lock(&host.lock);
	host.stop = true;
	pthread_cond_broadcast(&host.cond);
	pthread_mutex_unlock(&host.lock);
	pthread_join(host_tid, NULL);
	printf("storvsc: %d requests back in the reserve of %d\n", request_pool->curr_nr,
	       request_pool->min_nr);
	mempool_destroy(request_pool);
	kmem_cache_destroy(request_cache);
	printf("storvsc: %lu requests completed, none lost; pool and cache destroyed, "
	       "%lu errors reported\n",
	       host.completed, kmem_error_count());
	kmem_exit();
	return kmem_error_count() ? 1 : 0;
}
