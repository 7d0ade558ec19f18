/* SPDX-License-Identifier: MIT */
/*
 * The one narrow interface to the operating system. Nothing above
 * src/platform/ calls mmap, madvise, futex or clock_gettime directly, so an
 * embedded port replaces these few functions and nothing else.
 */
#ifndef KMEM_PLATFORM_OS_H
#define KMEM_PLATFORM_OS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

/* Reserve @size bytes of address space aligned to @align; committed on first touch. */
void *os_reserve(size_t size, size_t align);
/* Map @size bytes of ordinary (committed, overcommit-accounted) memory aligned to @align. */
void *os_map(size_t size, size_t align);
/* Grow or shrink a mapping, moving it if need be; NULL on failure (the old one stays). */
void *os_remap(void *addr, size_t old_size, size_t new_size);
/* Whether every page of [addr, addr+size) is mapped. */
bool os_mapped(const void *addr, size_t size);
/* Give a reservation or a mapping back. */
void os_unreserve(void *addr, size_t size);
/*
 * memset(@addr, 0, @size) that writes only the pages not already zero: a
 * static table that was never written (or was cleared before) stays on the
 * shared zero page instead of becoming resident in every process.
 */
void os_clear(void *addr, size_t size);
/* Reserve @size bytes of address space that no access may touch (PROT_NONE). */
void *os_reserve_none(size_t size);
/* Turn [addr, addr+size), inside a reservation, back into untouchable address space. */
int os_unmap_fixed(void *addr, size_t size);
/*
 * Move the pages of [from, from+size) to [to, to+size), replacing what was
 * mapped there; [from, from+size) stays mapped, empty (mremap with
 * MREMAP_DONTUNMAP). 0, or -errno: -EINVAL where the kernel is older than
 * 5.13, -EFAULT when the source spans two mappings, -ENOMEM past
 * vm.max_map_count.
 */
int os_move_pages(void *from, void *to, size_t size);
/* "symbol+0xoff" for a code address, or its hex value; returns @buf. */
const char *os_symbolize(const void *addr, char *buf, size_t size);
/* The dynamic symbol that starts exactly at @addr, or NULL. Allocates nothing. */
const char *os_symbol_at(const void *addr);
/* Drop the contents of [addr, addr+size): the memory reads as zero afterwards. */
int os_discard(void *addr, size_t size);
/* Make [addr, addr+size) (page aligned) readable and writable, or untouchable. 0 or -errno. */
int os_protect(void *addr, size_t size, bool accessible);
/*
 * A handler for memory faults (SIGSEGV, SIGBUS): @fn gets the faulting
 * address, the faulting instruction and whether it was a write (1), a read
 * (0) or unknown (-1), and returns true when it made the access valid, so
 * the instruction runs again. Faults it does not claim go to the handler
 * installed before it (or the default action). One handler at a time; 0 or
 * -errno.
 */
typedef bool (*os_fault_fn)(void *addr, void *ip, int is_write);
int os_fault_handler_install(os_fault_fn fn);
void os_fault_handler_remove(void);
/* Bytes of physical memory this machine has. */
size_t os_ram_size(void);
/* Number of processors online. */
unsigned int os_nr_cpus(void);
/* Monotonic time in nanoseconds. */
uint64_t os_now_ns(void);
/* The program's short name, for messages. */
const char *os_comm(void);
/* The calling thread's id. */
int os_gettid(void);
/* Give the processor to another runnable thread. */
void os_yield(void);
/* Sleep for @ns nanoseconds. */
void os_sleep_ns(uint64_t ns);
/* Resident set size of this process in bytes, or 0 when unknown. */
size_t os_rss(void);
/* Write @len bytes to standard error, retrying on short writes. */
void os_write_stderr(const char *buf, size_t len);
/* Likewise to @fd. */
void os_write_fd(int fd, const char *buf, size_t len);
/* Open @path for appending, creating it: a descriptor, or -errno. */
int os_open_append(const char *path);
void os_close(int fd);
/* This process's id. */
int os_getpid(void);
/* Abort the process after flushing what can be flushed. */
__attribute__((noreturn)) void os_abort(void);
/* Value of environment variable @name or NULL; safe before main. */
const char *os_getenv(const char *name);
/* Register fork handlers (prepare, parent, child). */
int os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));

/*
 * membarrier(PRIVATE_EXPEDITED): every running thread of this process executes
 * a full memory barrier before it returns. Returns false when unsupported.
 */
bool os_membarrier_register(void);
void os_membarrier(void);

/* Threads: a detached helper thread, and a destructor run at each thread's exit. */
int os_thread_start(void *(*fn)(void *), void *arg);
int os_thread_key_create(void (*destructor)(void *));
void os_thread_key_set(void *value);

/*
 * A sleeping wait for a timeout or a wake-up (background threads, mempool
 * waiters): read seq, check the condition, then wait while seq is unchanged.
 */
struct os_event {
	atomic_uint seq;
};
void os_event_wait(struct os_event *ev, unsigned int seen, uint64_t timeout_ns);
void os_event_wake(struct os_event *ev);
/* Wake every thread waiting on @ev (the kernel's wake_up() of a whole wait queue). */
void os_event_wake_all(struct os_event *ev);

#endif /* KMEM_PLATFORM_OS_H */
