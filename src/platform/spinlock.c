// SPDX-License-Identifier: MIT
/* The contended half of spinlock_t: spin a little, then sleep on the futex. */
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "spinlock.h"

#define SPIN_TRIES 100

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static void futex_wait(atomic_int *addr, int val)
{
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

void __spin_lock_slow(spinlock_t *lock)
{
	for (int i = 0; i < SPIN_TRIES; i++) {
		cpu_relax();
		if (atomic_load_explicit(&lock->state, memory_order_relaxed) == 0 &&
		    spin_trylock(lock))
			return;
	}
	/* Announce a waiter (state 2) and sleep until the holder wakes us. */
	while (atomic_exchange_explicit(&lock->state, 2, memory_order_acquire) != 0)
		futex_wait(&lock->state, 2);
}

void __spin_unlock_wake(spinlock_t *lock)
{
	syscall(SYS_futex, &lock->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
