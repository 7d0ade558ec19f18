/* SPDX-License-Identifier: MIT */
/* Compiler helpers with the kernel's names (<linux/compiler.h>, <linux/log2.h>). */
#ifndef KMEM_PLATFORM_COMPILER_H
#define KMEM_PLATFORM_COMPILER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define noinline __attribute__((noinline))
#define __cold __attribute__((cold))
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define __maybe_unused __attribute__((unused))
#define __aligned(x) __attribute__((aligned(x)))
#define __cacheline_aligned __aligned(SMP_CACHE_BYTES)
#define __export __attribute__((visibility("default")))
/*
 * An allocator fast path's entry starts a cache line, so that its few dozen
 * instructions sit in the fewest lines and decode the same way whatever the
 * code before them: a change elsewhere that moved kfree and kmalloc by 16
 * bytes made larson 12% slower with the very same instructions.
 */
#define __fastpath __aligned(SMP_CACHE_BYTES)
/*
 * A large zero-initialised array goes after every other variable (".lbss",
 * which the x86-64 linker scripts place after .bss): the small variables then
 * share a few pages, instead of sitting between arrays, a page each, and
 * making every one of those pages resident. Elsewhere it stays in .bss.
 */
#ifdef __x86_64__
#define __large_bss __attribute__((section(".lbss")))
#else
#define __large_bss
#endif
#define barrier() atomic_signal_fence(memory_order_seq_cst)
/*
 * A plain variable read or written outside the lock that protects it, as
 * the kernel marks such accesses: never torn, never cached, and visible to
 * ThreadSanitizer as atomic (relaxed), since the race is intended.
 */
#define READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, val) __atomic_store_n(&(x), (val), __ATOMIC_RELAXED)

#define SMP_CACHE_BYTES 64
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN(x, a) (((x) + ((__typeof__(x))(a)-1)) & ~((__typeof__(x))(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a)-1)) == 0)
#define DIV_ROUND_UP(n, d) (((n) + (d)-1) / (d))
#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))
#define clamp(v, lo, hi) min(max(v, lo), hi)

#define BUILD_BUG_ON(cond) _Static_assert(!(cond), #cond)

static inline bool is_power_of_2(unsigned long n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

/* Index of the most significant set bit, 1-based; fls(0) == 0. */
static inline int fls_long(unsigned long x)
{
	return x ? (int)(sizeof(x) * 8) - __builtin_clzl(x) : 0;
}

static inline int ilog2(unsigned long n)
{
	return fls_long(n) - 1;
}

static inline unsigned long rounddown_pow_of_two(unsigned long n)
{
	return 1UL << ilog2(n);
}

static inline unsigned long int_sqrt(unsigned long x)
{
	unsigned long r = 0, bit = 1UL << (sizeof(long) * 8 - 2);

	while (bit > x)
		bit >>= 2;
	while (bit) {
		if (x >= r + bit) {
			x -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
		bit >>= 2;
	}
	return r;
}

#endif /* KMEM_PLATFORM_COMPILER_H */
