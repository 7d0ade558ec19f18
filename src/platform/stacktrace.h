/* SPDX-License-Identifier: MIT */
/*
 * Stack traces for slab debugging (the kernel's stack_trace_save), through
 * libgcc's _Unwind_Backtrace: it reads .eh_frame, which gcc emits by
 * default, so it works without frame pointers, and unlike glibc's
 * backtrace() it neither dlopens nor mallocs (backtrace() loads libgcc_s on
 * first use, which allocates: fatal inside a malloc replacement).
 * Symbolising (dladdr) happens only when a report is printed.
 */
#ifndef KMEM_PLATFORM_STACKTRACE_H
#define KMEM_PLATFORM_STACKTRACE_H

#include <stddef.h>

struct stack_frame {
	void *ip; /* return address (the call site, +1 instruction) */
	void *func; /* start of the function it lies in, or NULL when unknown */
};

/* The calling thread's stack, innermost first: up to @max frames. Returns how many. */
unsigned int stack_trace_save(struct stack_frame *frames, unsigned int max);

/* "symbol+0xoff (object)" for @ip into @buf; the raw address when nothing is known. */
void stack_trace_symbol(const void *ip, char *buf, size_t size);

#endif /* KMEM_PLATFORM_STACKTRACE_H */
