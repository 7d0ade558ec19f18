/* SPDX-License-Identifier: MIT */
/*
 * spinlock_t: the kernel's name for a short-held lock. In user space a thread
 * holding it can be preempted, so pure spinning would burn the other core while
 * the holder sleeps; this is a futex mutex (three states, after Drepper's
 * "Futexes Are Tricky") that spins briefly before sleeping. It never allocates,
 * so the malloc replacement can use it before anything else is initialised.
 */
#ifndef KMEM_PLATFORM_SPINLOCK_H
#define KMEM_PLATFORM_SPINLOCK_H

#include "compiler.h"

typedef struct {
	atomic_int state; /* 0 unlocked, 1 locked, 2 locked with waiters */
} spinlock_t;

#define __SPIN_LOCK_UNLOCKED                                                                       \
	{                                                                                          \
		0                                                                                  \
	}
#define DEFINE_SPINLOCK(name) spinlock_t name = __SPIN_LOCK_UNLOCKED

void __spin_lock_slow(spinlock_t *lock);
void __spin_unlock_wake(spinlock_t *lock);

static inline void spin_lock_init(spinlock_t *lock)
{
	atomic_store_explicit(&lock->state, 0, memory_order_relaxed);
}

static inline void spin_lock(spinlock_t *lock)
{
	int unlocked = 0;

	if (likely(atomic_compare_exchange_strong_explicit(
		    &lock->state, &unlocked, 1, memory_order_acquire, memory_order_relaxed)))
		return;
	__spin_lock_slow(lock);
}

static inline bool spin_trylock(spinlock_t *lock)
{
	int unlocked = 0;

	return atomic_compare_exchange_strong_explicit(&lock->state, &unlocked, 1,
						       memory_order_acquire, memory_order_relaxed);
}

static inline void spin_unlock(spinlock_t *lock)
{
	if (unlikely(atomic_exchange_explicit(&lock->state, 0, memory_order_release) == 2))
		__spin_unlock_wake(lock);
}

static inline bool spin_is_locked(spinlock_t *lock)
{
	return atomic_load_explicit(&lock->state, memory_order_relaxed) != 0;
}

#endif /* KMEM_PLATFORM_SPINLOCK_H */
