/* SPDX-License-Identifier: MIT */
/*
 * printk: every message kmem prints goes through here, and from here through
 * one replaceable hook (kmem_set_printk), so tests can count and read reports
 * without scraping stderr. Formatting happens on the stack: printing never
 * allocates, so it is safe inside the malloc replacement.
 */
#ifndef KMEM_PLATFORM_PRINTK_H
#define KMEM_PLATFORM_PRINTK_H

#include <kmem/kmem.h>

#include "compiler.h"

#define PRINTK_BUF 1024

__printf(2, 3) void printk(int level, const char *fmt, ...);

#define pr_err(...) printk(KMEM_LOGLEVEL_ERR, __VA_ARGS__)
#define pr_warn(...) printk(KMEM_LOGLEVEL_WARNING, __VA_ARGS__)
#define pr_info(...) printk(KMEM_LOGLEVEL_INFO, __VA_ARGS__)

/* A report of a bug kmem caught (bad free, corruption): counted, and fatal in panic mode. */
__printf(1, 2) void kmem_bug(const char *fmt, ...);

/* Make kmem_bug() abort (panic mode: KMEM_DEBUG with panic, or a test's choice). */
void kmem_set_bug_panics(bool panics);

/* WARN_ON_ONCE for a call site: prints the warning the first time @cond holds. */
#define WARN_ON_ONCE(cond, ...)                                                                    \
	({                                                                                         \
		static bool __warned;                                                              \
		bool __c = !!(cond);                                                               \
		if (unlikely(__c) && !__warned) {                                                  \
			__warned = true;                                                           \
			pr_warn(__VA_ARGS__);                                                      \
		}                                                                                  \
		__c;                                                                               \
	})

#endif /* KMEM_PLATFORM_PRINTK_H */
