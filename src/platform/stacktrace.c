// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unwind.h>

#include "compiler.h"
#include "stacktrace.h"

struct trace_state {
	struct stack_frame *frames;
	unsigned int nr, max;
};

static _Unwind_Reason_Code save_frame(struct _Unwind_Context *ctx, void *arg)
{
	struct trace_state *st = arg;
	uintptr_t ip = _Unwind_GetIP(ctx);

	if (!ip)
		return _URC_END_OF_STACK;
	st->frames[st->nr].ip = (void *)ip;
	st->frames[st->nr].func = (void *)_Unwind_GetRegionStart(ctx);
	if (++st->nr >= st->max)
		return _URC_END_OF_STACK;
	return _URC_NO_REASON;
}

noinline unsigned int stack_trace_save(struct stack_frame *frames, unsigned int max)
{
	struct trace_state st = { .frames = frames, .nr = 0, .max = max };

	if (max)
		_Unwind_Backtrace(save_frame, &st);
	return st.nr;
}

void stack_trace_symbol(const void *ip, char *buf, size_t size)
{
	Dl_info info;
	const char *obj;

	if (!dladdr(ip, &info) || !info.dli_fname) {
		snprintf(buf, size, "%p", ip);
		return;
	}
	obj = strrchr(info.dli_fname, '/');
	obj = obj ? obj + 1 : info.dli_fname;
	if (info.dli_sname)
		snprintf(buf, size, "%s+%#lx (%s)", info.dli_sname,
			 (unsigned long)((const char *)ip - (const char *)info.dli_saddr), obj);
	else
		snprintf(buf, size, "%s+%#lx", obj,
			 (unsigned long)((const char *)ip - (const char *)info.dli_fbase));
}
