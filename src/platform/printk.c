// SPDX-License-Identifier: MIT
#include <stdio.h>

#include "os.h"
#include "printk.h"

static kmem_printk_fn printk_hook;
static atomic_ulong nr_bugs;
static bool bug_panics;

static const char *const level_prefix[] = {
	[KMEM_LOGLEVEL_ERR] = "kmem: ",
	[KMEM_LOGLEVEL_WARNING] = "kmem: ",
	[KMEM_LOGLEVEL_INFO] = "kmem: ",
};

__export kmem_printk_fn kmem_set_printk(kmem_printk_fn fn)
{
	kmem_printk_fn old = printk_hook;

	printk_hook = fn;
	return old;
}

__export unsigned long kmem_error_count(void)
{
	return atomic_load(&nr_bugs);
}

void kmem_set_bug_panics(bool panics)
{
	bug_panics = panics;
}

static void vprintk(int level, const char *fmt, va_list ap)
{
	char buf[PRINTK_BUF];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	if (printk_hook) {
		printk_hook(level, buf);
		return;
	}
	os_write_stderr(level_prefix[level], 6);
	os_write_stderr(buf, n);
	if (n == 0 || buf[n - 1] != '\n')
		os_write_stderr("\n", 1);
}

void printk(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintk(level, fmt, ap);
	va_end(ap);
}

void kmem_bug(const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(&nr_bugs, 1);
	va_start(ap, fmt);
	vprintk(KMEM_LOGLEVEL_ERR, fmt, ap);
	va_end(ap);
	if (bug_panics) {
		printk(KMEM_LOGLEVEL_ERR, "Kernel panic - not syncing: kmem found a bug and "
					  "panic mode is on\n");
		os_abort();
	}
}
