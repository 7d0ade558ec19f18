// SPDX-License-Identifier: MIT
/*
 * Fault injection (lib/fault-inject.c, mm/failslab.c, mm/fail_page_alloc.c):
 * make chosen allocations fail as if memory had run out, so that error paths
 * get run. Three kinds, each with its own fault_attr: slab (every
 * kmem_cache_alloc and small kmalloc), page (alloc_pages and what is built on
 * it) and vmalloc.
 *
 * A fault_attr decides as the kernel's should_fail_ex() does, in this order:
 * probability 0 never fails; times == 0 never fails (times counts down the
 * failures left, -1 is unlimited); while space is above the request's size
 * the size is taken off space and nothing fails; with interval > 1 only
 * every interval-th remaining call is a candidate; a candidate fails with
 * probability percent. Before that, the kind's own filters: __GFP_NOFAIL is
 * never failed, ignore-gfp-wait spares callers that may sleep
 * (__GFP_DIRECT_RECLAIM), min-order spares small page allocations, cache=
 * limits slab failures to caches whose name matches a glob.
 *
 * Differences from the kernel, because user space configures it in one
 * string rather than file by file: the defaults are times=-1 (kernel 1),
 * ignore-gfp-wait=0 (kernel 1), min-order=0 (kernel 1) and verbose=1 (kernel
 * 2: we have no stack dump); the random numbers come from a per-attribute
 * splitmix64 generator started from seed=, so a single-threaded run fails
 * the same allocations every time. Count, generator, times and space change
 * under the attribute's lock, so the sequence is also reproducible when
 * threads allocate one after another.
 *
 * fail_key has one bit per kind that needs a decision; the hooks in
 * fault_inject.h test it before calling in here. It is written under
 * fail_lock and read without it: a change reaches other threads at their
 * next allocation.
 */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_inject.h"
#include "internal.h"
#include "platform/os.h"
#include "slab.h"

#define FAIL_CACHE_GLOB 64

/* What a kind is told to do: parsed from KMEM_FAIL or kmem_fail_set(). */
struct fault_config {
	unsigned long probability; /* percent, 0..100 */
	unsigned long interval; /* >= 1 */
	long times; /* failures left; -1: unlimited */
	long space; /* bytes (slab, vmalloc) or pages (page) let through first */
	unsigned long verbose; /* 0 quiet, 1 a line per failure, 2 with the caller */
	uint64_t seed;
	bool ignore_gfp_wait;
	unsigned int min_order; /* page only */
	char cache[FAIL_CACHE_GLOB]; /* slab only: '|'-separated globs; "" = every cache */
};

/* A kind's configuration and state; everything changes under lock. */
struct fault_attr {
	struct fault_config c; /* times and space count down here */
	uint64_t rnd;
	unsigned long count;
	unsigned long injected;
	spinlock_t lock;
};

static const char *const kind_names[KMEM_FAIL_NR_KINDS] = { "slab", "page", "vmalloc" };
static const char *const attr_names[KMEM_FAIL_NR_KINDS] = { "failslab", "fail_page_alloc",
							    "fail_vmalloc" };

unsigned int fail_key;
static DEFINE_SPINLOCK(fail_lock); /* configuration changes; then attr->lock */
static struct fault_attr fail_attrs[KMEM_FAIL_NR_KINDS];
/* KMEM_FAIL as parsed by kmem_init, armed once kmem is up. */
static struct fault_config env_config[KMEM_FAIL_NR_KINDS];
static bool env_pending;

/*
 * A per-cache hook slot. Written under fail_lock, read on every slab
 * allocation without it, so each slot is a seqlock: a reader takes cache, fn
 * and data as one consistent snapshot. A hook removed while a thread is
 * deciding may still run once on that thread.
 */
struct fail_hook {
	atomic_uint seq; /* odd while the slot is being rewritten */
	struct kmem_cache *_Atomic cache;
	_Atomic(kmem_fail_cache_fn) fn;
	void *_Atomic data;
};
static struct fail_hook fail_hooks[KMEM_FAIL_MAX_HOOKS];
static int nr_fail_hooks; /* written under fail_lock */

/* ------------------------------------------------------------ random numbers */

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, 100): the generator's 64 bits scaled, not reduced modulo 100. */
static unsigned long random_below_100(struct fault_attr *attr)
{
	return (unsigned long)(((unsigned __int128)splitmix64(&attr->rnd) * 100) >> 64);
}

/* ------------------------------------------------------------------ deciding */

/* fail_dump's rate limit: a window of 5 seconds, notices printed in it. */
static atomic_ulong dump_window, dump_printed;

/*
 * The kernel's fail_dump, rate-limited to 10 lines per 5 seconds (and per
 * setting: kmem_fail_set() starts a new count). attr->lock held.
 */
static void fail_dump(const struct fault_attr *attr, enum kmem_fail_kind kind, const char *what,
		      void *caller)
{
	uint64_t now = os_now_ns() >> 30;
	const struct fault_config *c = &attr->c;

	if (!c->verbose)
		return;
	if (atomic_exchange(&dump_window, now) / 5 != now / 5)
		atomic_store(&dump_printed, 0);
	if (atomic_fetch_add(&dump_printed, 1) >= 10)
		return;
	pr_info("FAULT_INJECTION: forcing a failure.\nname %s, interval %lu, probability %lu, "
		"space %ld, times %ld, seed %llu: %s\n",
		attr_names[kind], c->interval, c->probability, c->space, c->times,
		(unsigned long long)c->seed, what);
	if (c->verbose > 1)
		pr_info("FAULT_INJECTION: called from %p\n", caller);
}

static bool cache_matches(const char *globs, const char *name)
{
	char one[FAIL_CACHE_GLOB];

	for (const char *p = globs; *p;) {
		size_t len = strcspn(p, "|");

		memcpy(one, p, len);
		one[len] = '\0';
		if (fnmatch(one, name, 0) == 0)
			return true;
		p += len + (p[len] == '|');
	}
	return false;
}

/* The kind's own filters (failslab's and fail_page_alloc's). attr->lock held. */
static bool fail_filtered(const struct fault_config *c, gfp_t gfp, const char *cache,
			  unsigned int order)
{
	if (gfp & __GFP_NOFAIL)
		return true;
	if (c->ignore_gfp_wait && (gfp & __GFP_DIRECT_RECLAIM))
		return true;
	if (order < c->min_order)
		return true;
	return cache && c->cache[0] && !cache_matches(c->cache, cache);
}

/*
 * should_fail_ex: @kind's filters, then its rules, for a request of @size
 * from cache @cache (slab) or of @order (page).
 */
static bool should_fail(enum kmem_fail_kind kind, long size, gfp_t gfp, const char *cache,
			unsigned int order, void *caller)
{
	struct fault_attr *attr = &fail_attrs[kind];
	struct fault_config *c = &attr->c;
	bool fail = false;

	spin_lock(&attr->lock);
	if (!c->probability || !c->times || fail_filtered(c, gfp, cache, order))
		goto out;
	if (c->space > size) {
		c->space -= size;
		goto out;
	}
	if (c->interval > 1 && ++attr->count % c->interval)
		goto out;
	if (c->probability <= random_below_100(attr))
		goto out;
	fail = true;
	__atomic_add_fetch(&attr->injected, 1, __ATOMIC_RELAXED); /* hooks count without lock */
	if (c->times > 0)
		c->times--;
	if (!(gfp & __GFP_NOWARN))
		fail_dump(attr, kind, cache ? cache : kind_names[kind], caller);
out:
	spin_unlock(&attr->lock);
	return fail;
}

/* The slot of @s (NULL: a free slot), for a writer. fail_lock held. */
static struct fail_hook *find_hook(struct kmem_cache *s)
{
	for (int i = 0; i < KMEM_FAIL_MAX_HOOKS; i++)
		if (atomic_load_explicit(&fail_hooks[i].cache, memory_order_relaxed) == s)
			return &fail_hooks[i];
	return NULL;
}

/* Rewrite a slot (@s NULL: free it). fail_lock held. */
static void hook_write(struct fail_hook *hook, struct kmem_cache *s, kmem_fail_cache_fn fn,
		       void *data)
{
	/* Acquire: the stores below cannot be seen before the count turns odd. */
	unsigned int seq = atomic_fetch_add_explicit(&hook->seq, 1, memory_order_acq_rel);

	atomic_store_explicit(&hook->cache, s, memory_order_relaxed);
	atomic_store_explicit(&hook->fn, fn, memory_order_relaxed);
	atomic_store_explicit(&hook->data, data, memory_order_relaxed);
	atomic_store_explicit(&hook->seq, seq + 2, memory_order_release);
}

/* Ask the hook of @s, if it has one; false when there is none. */
static bool run_hook(struct kmem_cache *s, gfp_t gfp)
{
	for (int i = 0; i < KMEM_FAIL_MAX_HOOKS; i++) {
		struct fail_hook *hook = &fail_hooks[i];
		kmem_fail_cache_fn fn;
		unsigned int seq;
		void *data;
		bool mine;

		do {
			/* Acquire loads: the second look at seq cannot move before them. */
			seq = atomic_load_explicit(&hook->seq, memory_order_acquire);
			mine = atomic_load_explicit(&hook->cache, memory_order_acquire) == s;
			fn = atomic_load_explicit(&hook->fn, memory_order_acquire);
			data = atomic_load_explicit(&hook->data, memory_order_acquire);
		} while ((seq & 1) ||
			 atomic_load_explicit(&hook->seq, memory_order_relaxed) != seq);
		if (mine)
			return fn(s, gfp, data);
	}
	return false;
}

noinline bool __should_failslab(struct kmem_cache *s, gfp_t gfp)
{
	if (unlikely(s == kmem_cache)) /* the bootstrap cache, as in the kernel */
		return false;
	if (READ_ONCE(nr_fail_hooks)) {
		if (run_hook(s, gfp)) {
			__atomic_add_fetch(&fail_attrs[KMEM_FAIL_SLAB].injected, 1,
					   __ATOMIC_RELAXED);
			return true;
		}
	}
	return should_fail(KMEM_FAIL_SLAB, (long)s->object_size, gfp, s->name, 0,
			   __builtin_return_address(0));
}

noinline bool __should_fail_alloc_page(gfp_t gfp, unsigned int order)
{
	return should_fail(KMEM_FAIL_PAGE, 1L << order, gfp, NULL, order,
			   __builtin_return_address(0));
}

noinline bool __should_fail_vmalloc(unsigned long size, gfp_t gfp)
{
	return should_fail(KMEM_FAIL_VMALLOC, (long)size, gfp, NULL, 0,
			   __builtin_return_address(0));
}

/* ------------------------------------------------------------------- parsing */

static void config_defaults(struct fault_config *c)
{
	memset(c, 0, sizeof(*c));
	c->interval = 1;
	c->times = -1;
	c->verbose = 1;
	c->seed = os_now_ns();
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!*s)
		return false;
	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool parse_seed(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

struct fail_parser {
	const char *who; /* "KMEM_FAIL" or "kmem_fail_set" */
	const char *spec;
};

static __printf(3, 4) int parse_error(const struct fail_parser *p, const char *token,
				      const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	pr_err("%s='%s': bad token '%s': %s (see docs/FAULT_INJECTION.md)\n", p->who, p->spec,
	       token, why);
	return -EINVAL;
}

/* Each attribute: its name, the kind it is limited to (-1: any), its range. */
enum attr_id {
	A_PROB,
	A_INTERVAL,
	A_TIMES,
	A_SPACE,
	A_VERBOSE,
	A_SEED,
	A_IGNORE,
	A_ORDER,
	A_CACHE
};
static const struct {
	const char *name;
	int kind;
	long lo, hi;
	const char *expect;
} attr_table[] = {
	[A_PROB] = { "probability", -1, 0, 100, "a percentage, 0..100" },
	[A_INTERVAL] = { "interval", -1, 1, LONG_MAX, "a count of 1 or more" },
	[A_TIMES] = { "times", -1, -1, LONG_MAX, "-1 (unlimited) or a count of 0 or more" },
	[A_SPACE] = { "space", -1, 0, LONG_MAX, "a size of 0 or more" },
	[A_VERBOSE] = { "verbose", -1, 0, 2, "0, 1 or 2" },
	[A_SEED] = { "seed", -1, 0, 0, "an unsigned 64-bit number" },
	[A_IGNORE] = { "ignore-gfp-wait", -1, 0, 1, "0 or 1 (alone: 1)" },
	[A_ORDER] = { "min-order", KMEM_FAIL_PAGE, 0, MAX_PAGE_ORDER, "an order, 0..10" },
	[A_CACHE] = { "cache", KMEM_FAIL_SLAB, 0, 0, "a glob of 1..63 characters" },
};

static void set_attr(struct fault_config *c, enum attr_id id, long v)
{
	switch (id) {
	case A_PROB:
		c->probability = v;
		break;
	case A_INTERVAL:
		c->interval = v;
		break;
	case A_TIMES:
		c->times = v;
		break;
	case A_SPACE:
		c->space = v;
		break;
	case A_VERBOSE:
		c->verbose = v;
		break;
	case A_IGNORE:
		c->ignore_gfp_wait = v;
		break;
	case A_ORDER:
		c->min_order = (unsigned int)v;
		break;
	default:
		break;
	}
}

/* One "name=value" (or the bare flag ignore-gfp-wait) applied to @c, for @kind (-1: all). */
static int parse_attr(const struct fail_parser *p, char *token, struct fault_config *c, int kind)
{
	const char *eq = strchr(token, '=');
	const char *val = eq ? eq + 1 : NULL;
	size_t len = eq ? (size_t)(eq - token) : strlen(token);
	unsigned int id;
	long v = 1;

	for (id = 0; id < ARRAY_SIZE(attr_table); id++)
		if (strlen(attr_table[id].name) == len && !strncmp(token, attr_table[id].name, len))
			break;
	if (id == ARRAY_SIZE(attr_table))
		return parse_error(p, token,
				   "unknown attribute: probability, interval, times, "
				   "space, verbose, seed, ignore-gfp-wait, min-order or "
				   "cache");
	if (attr_table[id].kind >= 0 && kind != attr_table[id].kind)
		return parse_error(p, token, "%s applies to %s: only", attr_table[id].name,
				   kind_names[attr_table[id].kind]);
	if (!val && id != A_IGNORE)
		return parse_error(p, token, "expected %s=<%s>", attr_table[id].name,
				   attr_table[id].expect);
	if (id == A_SEED) {
		if (!parse_seed(val, &c->seed))
			goto bad;
	} else if (id == A_CACHE) {
		if (!*val || strlen(val) >= FAIL_CACHE_GLOB)
			goto bad;
		strcpy(c->cache, val);
	} else if (val && !parse_long(val, attr_table[id].lo, attr_table[id].hi, &v)) {
		goto bad;
	}
	set_attr(c, id, v);
	return 0;
bad:
	return parse_error(p, token, "%s is %s", attr_table[id].name, attr_table[id].expect);
}

/* The kernel's boot-parameter form "<interval>,<probability>,<space>,<times>". */
static int parse_kernel_form(const struct fail_parser *p, char *body, struct fault_config *c)
{
	static const char form[] =
		"the kernel's form is <interval>,<probability>,<space>,<times> "
		"with interval >= 1, probability 0..100, space >= 0, times >= -1";
	long v[4];
	int n = 0;

	for (char *tok = body, *next; tok; tok = next, n++) {
		next = strchr(tok, ',');
		if (next)
			*next++ = '\0';
		if (n == 4 || !parse_long(tok, -1, LONG_MAX, &v[n]))
			return parse_error(p, tok, form);
	}
	if (n != 4 || v[0] < 1 || v[1] < 0 || v[1] > 100 || v[2] < 0)
		return parse_error(p, p->spec, form);
	c->interval = v[0];
	c->probability = v[1];
	c->space = v[2];
	c->times = v[3];
	return 0;
}

/* Copy @a to the kinds in @kinds, keeping the kind-specific fields of the others. */
static void apply_to_kinds(struct fault_config *cfg, unsigned int kinds,
			   const struct fault_config *a)
{
	for (int k = 0; k < KMEM_FAIL_NR_KINDS; k++) {
		if (!(kinds & (1u << k)))
			continue;
		struct fault_config old = cfg[k];

		cfg[k] = *a;
		if (k != KMEM_FAIL_PAGE)
			cfg[k].min_order = old.min_order;
		if (k != KMEM_FAIL_SLAB)
			strcpy(cfg[k].cache, old.cache);
	}
}

/* "[kind:]attr,attr...": change the kinds it names (all three without a prefix). */
static int parse_group(const struct fail_parser *p, char *group, struct fault_config *cfg)
{
	char *colon = strchr(group, ':');
	unsigned int kinds = (1u << KMEM_FAIL_NR_KINDS) - 1;
	int kind = -1, ret = 0;

	if (colon) {
		*colon = '\0';
		for (kind = 0; kind < KMEM_FAIL_NR_KINDS; kind++)
			if (!strcmp(group, kind_names[kind]))
				break;
		if (kind < KMEM_FAIL_NR_KINDS)
			kinds = 1u << kind;
		else if (strcmp(group, "all"))
			return parse_error(p, group, "unknown kind: slab, page, vmalloc or all");
		else
			kind = -1;
		group = colon + 1;
	}
	/* Start from the settings so far, so that later groups refine earlier ones. */
	struct fault_config a = cfg[kind < 0 ? KMEM_FAIL_SLAB : kind];

	if (*group && strspn(group, "-0123456789,") == strlen(group))
		ret = parse_kernel_form(p, group, &a);
	else
		for (char *tok = group, *next; tok; tok = next) {
			next = strchr(tok, ',');
			if (next)
				*next++ = '\0';
			if (*tok && (ret = parse_attr(p, tok, &a, kind)))
				break;
		}
	if (!ret)
		apply_to_kinds(cfg, kinds, &a);
	return ret;
}

/* Parse @spec on top of @cfg. 0, or -EINVAL with a message (@cfg half-changed then). */
static int fail_parse(const char *who, const char *spec, struct fault_config *cfg)
{
	struct fail_parser p = { .who = who, .spec = spec };
	size_t len = strlen(spec);
	char buf[512];

	if (!strcmp(spec, "none") || !strcmp(spec, "off")) {
		for (int k = 0; k < KMEM_FAIL_NR_KINDS; k++)
			config_defaults(&cfg[k]);
		return 0;
	}
	if (len >= sizeof(buf))
		return parse_error(&p, spec + sizeof(buf) - 1, "longer than %zu characters",
				   sizeof(buf) - 1);
	memcpy(buf, spec, len + 1);
	for (char *g = buf, *next; g; g = next) {
		next = strchr(g, ';');
		if (next)
			*next++ = '\0';
		int ret = *g ? parse_group(&p, g, cfg) : 0;

		if (ret)
			return ret;
	}
	return 0;
}

/* ------------------------------------------------------------- configuring */

static void update_fail_key(void)
{
	unsigned int key = 0;

	for (int k = 0; k < KMEM_FAIL_NR_KINDS; k++)
		if (fail_attrs[k].c.probability && fail_attrs[k].c.times)
			key |= 1u << k;
	if (nr_fail_hooks)
		key |= 1u << KMEM_FAIL_SLAB;
	WRITE_ONCE(fail_key, key);
	/* The slab fast paths do not test fail_key: they step aside while it is set. */
	pcpu_set_slow(PCPU_SLOW_FAILSLAB, key & (1u << KMEM_FAIL_SLAB));
}

/* Make @cfg the live settings, counts and generators restarted. fail_lock held. */
static void fail_install(const struct fault_config *cfg)
{
	atomic_store(&dump_printed, 0);
	for (int k = 0; k < KMEM_FAIL_NR_KINDS; k++) {
		struct fault_attr *attr = &fail_attrs[k];

		spin_lock(&attr->lock);
		attr->c = cfg[k];
		attr->rnd = cfg[k].seed;
		attr->count = 0;
		__atomic_store_n(&attr->injected, 0, __ATOMIC_RELAXED);
		spin_unlock(&attr->lock);
	}
	update_fail_key();
}

/* The live settings (defaults if never set). fail_lock held. */
static void fail_current(struct fault_config *cfg)
{
	for (int k = 0; k < KMEM_FAIL_NR_KINDS; k++) {
		spin_lock(&fail_attrs[k].lock);
		cfg[k] = fail_attrs[k].c;
		spin_unlock(&fail_attrs[k].lock);
		if (!cfg[k].interval) /* never configured */
			config_defaults(&cfg[k]);
	}
}

__export int kmem_fail_set(const char *spec)
{
	struct fault_config cfg[KMEM_FAIL_NR_KINDS];
	int ret = 0;

	spin_lock(&fail_lock);
	if (!spec || !*spec) {
		for (int k = 0; k < KMEM_FAIL_NR_KINDS; k++)
			config_defaults(&cfg[k]);
	} else {
		fail_current(cfg);
		ret = fail_parse("kmem_fail_set", spec, cfg);
	}
	if (!ret)
		fail_install(cfg);
	spin_unlock(&fail_lock);
	return ret;
}

__export unsigned long kmem_fail_injected(enum kmem_fail_kind kind)
{
	if ((unsigned int)kind >= KMEM_FAIL_NR_KINDS)
		return 0;
	return __atomic_load_n(&fail_attrs[kind].injected, __ATOMIC_RELAXED);
}

__export int kmem_fail_set_cache_hook(struct kmem_cache *s, kmem_fail_cache_fn fn, void *data)
{
	struct fail_hook *hook;
	int ret = 0;

	if (!s) {
		pr_err("kmem_fail_set_cache_hook: NULL cache\n");
		return -EINVAL;
	}
	spin_lock(&fail_lock);
	hook = find_hook(s);
	if (hook && !fn) {
		hook_write(hook, NULL, NULL, NULL);
		WRITE_ONCE(nr_fail_hooks, nr_fail_hooks - 1);
	} else if (fn) {
		if (!hook && !(hook = find_hook(NULL))) {
			pr_err("kmem_fail_set_cache_hook %s: all %d hooks are taken\n", s->name,
			       KMEM_FAIL_MAX_HOOKS);
			ret = -ENOSPC;
			goto out;
		}
		if (!atomic_load_explicit(&hook->cache, memory_order_relaxed))
			WRITE_ONCE(nr_fail_hooks, nr_fail_hooks + 1);
		hook_write(hook, s, fn, data);
	}
	update_fail_key();
out:
	spin_unlock(&fail_lock);
	return ret;
}

void fault_inject_forget_cache(struct kmem_cache *s)
{
	if (READ_ONCE(nr_fail_hooks))
		kmem_fail_set_cache_hook(s, NULL, NULL);
}

int fault_inject_parse_env(void)
{
	const char *v = os_getenv("KMEM_FAIL");
	int ret;

	spin_lock(&fail_lock);
	env_pending = false;
	if (v && *v) {
		for (int k = 0; k < KMEM_FAIL_NR_KINDS; k++)
			config_defaults(&env_config[k]);
		ret = fail_parse("KMEM_FAIL", v, env_config);
		env_pending = ret == 0;
	} else {
		ret = 0;
	}
	spin_unlock(&fail_lock);
	return ret;
}

void fault_inject_start(void)
{
	spin_lock(&fail_lock);
	if (env_pending)
		fail_install(env_config);
	env_pending = false;
	spin_unlock(&fail_lock);
}

void fault_inject_exit(void)
{
	struct fault_config cfg[KMEM_FAIL_NR_KINDS];

	spin_lock(&fail_lock);
	for (int k = 0; k < KMEM_FAIL_NR_KINDS; k++)
		config_defaults(&cfg[k]);
	for (int i = 0; i < KMEM_FAIL_MAX_HOOKS; i++)
		hook_write(&fail_hooks[i], NULL, NULL, NULL);
	WRITE_ONCE(nr_fail_hooks, 0);
	fail_install(cfg);
	spin_unlock(&fail_lock);
}
