// SPDX-License-Identifier: MIT
/*
 * What the malloc replacement shows: malloc_stats() and, when KMEM_STATS is
 * set (kmem-run --stats), a report at the exit of every process that has the
 * preload: slabinfo, buddyinfo and meminfo in the kernel's formats, after a
 * header naming the process. KMEM_STATS is "-" (or "1", or "stderr") for
 * standard error, or a file to append to; each report is one write(2), so
 * the reports of processes exiting together do not interleave.
 *
 * With KMEM_DEBUG set (kmem-run --debug), each process also reports at exit
 * the objects still allocated in its debug caches, as kmem_exit() would:
 * grouped by allocation site with counts and stacks when owners are tracked
 * (U), on standard error, like every slab debugging report.
 */
#include <stdio.h>
#include <string.h>

#include <kmem/kmem.h>

#include "malloc.h"
#include "mm/slab.h"
#include "platform/os.h"

#define STATS_PATH_MAX 4096

static const char *const stats_files[] = { "slabinfo", "buddyinfo", "meminfo" };
static char stats_path[STATS_PATH_MAX] __large_bss;
static bool stats_wanted, leaks_wanted;

void malloc_stats_setup(void)
{
	const char *v = os_getenv("KMEM_DEBUG");

	leaks_wanted = v && *v && strcmp(v, "-");
	v = os_getenv("KMEM_STATS");

	if (!v || !*v || !strcmp(v, "0"))
		return;
	stats_wanted = true;
	if (strcmp(v, "-") && strcmp(v, "1") && strcmp(v, "stderr"))
		snprintf(stats_path, sizeof(stats_path), "%s", v);
}

/* Append "==== @name ====" and the file's text to @buf at @len; returns the new length. */
static size_t append_proc(char *buf, size_t size, size_t len, const char *name)
{
	int n = snprintf(buf + len, size - len, "---- %s ----\n", name);

	len += (size_t)n < size - len ? (size_t)n : size - len;
	ssize_t r = kmem_proc_read(name, buf + len, size - len);

	if (r > 0)
		len += (size_t)r < size - len ? (size_t)r : size - len - 1;
	return len;
}

void malloc_stats_write(int fd, const char *header)
{
	size_t size = strlen(header) + 1;

	for (size_t i = 0; i < ARRAY_SIZE(stats_files); i++) {
		ssize_t r = kmem_proc_read(stats_files[i], NULL, 0);

		size += 64 + (r > 0 ? (size_t)r : 0);
	}
	size += 4096; /* the caches may grow while we read */
	char *buf = kmem_malloc(size);

	if (!buf)
		return;
	size_t len = (size_t)snprintf(buf, size, "%s", header);

	for (size_t i = 0; i < ARRAY_SIZE(stats_files); i++)
		len = append_proc(buf, size, len, stats_files[i]);
	os_write_fd(fd, buf, len);
	kmem_free(buf);
}

/* kmem-run --debug: what the process never freed, by allocation site. */
static void malloc_leaks_at_exit(void)
{
	char when[128];

	if (!leaks_wanted || !atomic_load(&kmem_initialised))
		return;
	snprintf(when, sizeof(when), "pid %d (%s) exits", os_getpid(), os_comm());
	kmem_cache_list_leaks(when);
}

void malloc_stats_at_exit(void)
{
	char header[256];
	int fd = 2;

	malloc_leaks_at_exit();
	if (!stats_wanted)
		return;
	if (stats_path[0]) {
		fd = os_open_append(stats_path);
		if (fd < 0) {
			fprintf(stderr, "kmem: KMEM_STATS=%s: cannot open: %s\n", stats_path,
				strerror(-fd));
			return;
		}
	}
	snprintf(header, sizeof(header), "==== kmem: pid %d (%s) exits ====\n", os_getpid(),
		 os_comm());
	malloc_stats_write(fd, header);
	if (fd != 2)
		os_close(fd);
}

void kmem_malloc_stats(void)
{
	malloc_stats_write(2, "==== kmem: malloc_stats ====\n");
}
