// SPDX-License-Identifier: MIT
/* Linux implementation of the platform interface (os.h). */
#define _GNU_SOURCE
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "os.h"

static void *map_aligned(size_t size, size_t align, int flags)
{
	if (align <= 4096) {
		void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);

		return p == MAP_FAILED ? NULL : p;
	}
	size_t span = size + align;
	char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags,
			 -1, 0);

	if (raw == MAP_FAILED)
		return NULL;
	/* Trim the slack so the reservation starts on an @align boundary. */
	char *start = (char *)ALIGN((uintptr_t)raw, align);
	size_t head = start - raw, tail = span - head - size;

	if (head)
		munmap(raw, head);
	if (tail)
		munmap(start + size, tail);
	return start;
}

void *os_reserve(size_t size, size_t align)
{
	return map_aligned(size, align, MAP_NORESERVE);
}

void *os_map(size_t size, size_t align)
{
	if (size + align < size)
		return NULL;
	return map_aligned(size, align, 0);
}

void *os_remap(void *addr, size_t old_size, size_t new_size)
{
	void *p = mremap(addr, old_size, new_size, MREMAP_MAYMOVE);

	return p == MAP_FAILED ? NULL : p;
}

bool os_mapped(const void *addr, size_t size)
{
	unsigned char vec[1];
	uintptr_t page = (uintptr_t)addr & ~(uintptr_t)4095, end = (uintptr_t)addr + size;

	/* mincore fails with ENOMEM for an unmapped page: one page at a time keeps vec tiny. */
	for (; page < end; page += 4096)
		if (mincore((void *)page, 4096, vec) && errno == ENOMEM)
			return false;
	return true;
}

void os_unreserve(void *addr, size_t size)
{
	munmap(addr, size);
}

void os_clear(void *addr, size_t size)
{
	char *p = addr, *end = p + size;

	while (p < end) {
		char *next = (char *)ALIGN((uintptr_t)p + 1, 4096);
		size_t n = (size_t)((next < end ? next : end) - p);
		size_t i = 0;

		/* Reading a page that was never written maps the zero page: no memory. */
		while (i < n && !p[i])
			i++;
		if (i < n)
			memset(p + i, 0, n - i);
		p += n;
	}
}

void *os_reserve_none(size_t size)
{
	void *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int os_unmap_fixed(void *addr, size_t size)
{
	void *p = mmap(addr, size, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);

	return p == MAP_FAILED ? -errno : 0;
}

int os_move_pages(void *from, void *to, size_t size)
{
	void *p = mremap(from, size, size, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, to);

	return p == MAP_FAILED ? -errno : 0;
}

const char *os_symbol_at(const void *addr)
{
	Dl_info info;

	if (dladdr(addr, &info) && info.dli_sname && info.dli_saddr == addr)
		return info.dli_sname;
	return NULL;
}

const char *os_symbolize(const void *addr, char *buf, size_t size)
{
	Dl_info info;

	if (dladdr(addr, &info) && info.dli_sname && info.dli_saddr)
		snprintf(buf, size, "%s+0x%lx", info.dli_sname,
			 (unsigned long)((const char *)addr - (const char *)info.dli_saddr));
	else
		snprintf(buf, size, "0x%lx", (unsigned long)addr);
	return buf;
}

int os_discard(void *addr, size_t size)
{
	return madvise(addr, size, MADV_DONTNEED) ? -errno : 0;
}

int os_protect(void *addr, size_t size, bool accessible)
{
	return mprotect(addr, size, accessible ? PROT_READ | PROT_WRITE : PROT_NONE) ? -errno : 0;
}

static os_fault_fn fault_fn;
static struct sigaction fault_old[2]; /* SIGSEGV, SIGBUS */

/* The page-fault error code says whether the access wrote; other machines: unknown. */
static int fault_is_write(const ucontext_t *uc)
{
#if defined(__x86_64__)
	return (uc->uc_mcontext.gregs[REG_ERR] & 2) ? 1 : 0;
#else
	(void)uc;
	return -1;
#endif
}

static void *fault_ip(const ucontext_t *uc)
{
#if defined(__x86_64__)
	return (void *)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	return (void *)uc->uc_mcontext.pc;
#else
	(void)uc;
	return NULL;
#endif
}

/* Not ours: what was there before runs, or the default action on the next try. */
static void fault_chain(int sig, siginfo_t *si, void *uctx)
{
	struct sigaction *old = &fault_old[sig == SIGBUS];

	if (old->sa_flags & SA_SIGINFO) {
		old->sa_sigaction(sig, si, uctx);
	} else if (old->sa_handler == SIG_DFL || old->sa_handler == SIG_IGN) {
		/* Returning re-executes the access, which now ends the process as it would have. */
		signal(sig, SIG_DFL);
	} else {
		old->sa_handler(sig);
	}
}

static void fault_handler(int sig, siginfo_t *si, void *uctx)
{
	int saved_errno = errno;
	os_fault_fn fn = __atomic_load_n(&fault_fn, __ATOMIC_ACQUIRE);

	if (!fn || !fn(si->si_addr, fault_ip(uctx), fault_is_write(uctx)))
		fault_chain(sig, si, uctx);
	errno = saved_errno;
}

int os_fault_handler_install(os_fault_fn fn)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fault_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (fault_fn)
		return -EBUSY;
	if (sigaction(SIGSEGV, &sa, &fault_old[0]))
		return -errno;
	if (sigaction(SIGBUS, &sa, &fault_old[1])) {
		int err = -errno;

		sigaction(SIGSEGV, &fault_old[0], NULL);
		return err;
	}
	__atomic_store_n(&fault_fn, fn, __ATOMIC_RELEASE);
	return 0;
}

void os_fault_handler_remove(void)
{
	struct sigaction cur;

	if (!fault_fn)
		return;
	__atomic_store_n(&fault_fn, NULL, __ATOMIC_RELEASE);
	/* Put the old handlers back unless someone installed theirs over ours since. */
	if (!sigaction(SIGSEGV, NULL, &cur) && cur.sa_sigaction == fault_handler)
		sigaction(SIGSEGV, &fault_old[0], NULL);
	if (!sigaction(SIGBUS, NULL, &cur) && cur.sa_sigaction == fault_handler)
		sigaction(SIGBUS, &fault_old[1], NULL);
}

size_t os_ram_size(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);

	return pages > 0 && psize > 0 ? (size_t)pages * (size_t)psize : 0;
}

unsigned int os_nr_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned int)n : 1;
}

uint64_t os_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *os_comm(void)
{
	return program_invocation_short_name;
}

int os_gettid(void)
{
	return (int)syscall(SYS_gettid);
}

void os_yield(void)
{
	sched_yield();
}

void os_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000ull, .tv_nsec = ns % 1000000000ull };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

size_t os_rss(void)
{
	char buf[64];
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);

	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = strchr(buf, ' ');

	return p ? strtoul(p + 1, NULL, 10) * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

int os_open_append(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

	return fd < 0 ? -errno : fd;
}

void os_close(int fd)
{
	close(fd);
}

int os_getpid(void)
{
	return (int)getpid();
}

void os_write_stderr(const char *buf, size_t len)
{
	os_write_fd(STDERR_FILENO, buf, len);
}

void os_write_fd(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= n;
	}
}

void os_abort(void)
{
	abort();
}

const char *os_getenv(const char *name)
{
	return getenv(name);
}

int os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
	return pthread_atfork(prepare, parent, child);
}

static long sys_membarrier(int cmd)
{
	return syscall(__NR_membarrier, cmd, 0, 0);
}

/*
 * Under Valgrind, which runs one thread at a time and switches between them
 * through its own lock, every store is seen by the next thread to run: the
 * plain-store side of the per-CPU handshake is safe without membarrier()
 * (which Valgrind does not support), and callgrind then counts the same
 * fast paths a native run executes.
 */
static bool threads_serialized;

static bool running_on_valgrind(void)
{
#if __has_include(<valgrind/valgrind.h>)
	return RUNNING_ON_VALGRIND;
#else
	return false;
#endif
}

bool os_membarrier_register(void)
{
	long cmds = sys_membarrier(MEMBARRIER_CMD_QUERY);

	threads_serialized = false;
	if (cmds >= 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
	    sys_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0)
		return true;
	threads_serialized = running_on_valgrind();
	return threads_serialized;
}

void os_membarrier(void)
{
	if (threads_serialized)
		return;
	if (sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED))
		os_abort(); /* registered at start-up: failing now would break per-CPU locking */
}

int os_thread_start(void *(*fn)(void *), void *arg)
{
	pthread_t tid;
	pthread_attr_t attr;
	sigset_t all, old;
	int err;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Helper threads take no signals meant for the program. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&tid, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return -err;
}

static pthread_key_t thread_key;

int os_thread_key_create(void (*destructor)(void *))
{
	return -pthread_key_create(&thread_key, destructor);
}

void os_thread_key_set(void *value)
{
	pthread_setspecific(thread_key, value);
}

void os_event_wait(struct os_event *ev, unsigned int seen, uint64_t timeout_ns)
{
	struct timespec ts = { .tv_sec = timeout_ns / 1000000000ull,
			       .tv_nsec = timeout_ns % 1000000000ull };

	syscall(SYS_futex, &ev->seq, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
}

void os_event_wake(struct os_event *ev)
{
	atomic_fetch_add_explicit(&ev->seq, 1, memory_order_release);
	syscall(SYS_futex, &ev->seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void os_event_wake_all(struct os_event *ev)
{
	atomic_fetch_add_explicit(&ev->seq, 1, memory_order_release);
	syscall(SYS_futex, &ev->seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}
