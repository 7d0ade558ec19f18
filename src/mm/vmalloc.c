// SPDX-License-Identifier: MIT
/*
 * vmalloc (mm/vmalloc.c; seed 002): one virtually contiguous area built from
 * the arena's page frames, which need not be contiguous.
 *
 * The vmalloc range. kmem_init reserves [vmalloc_start, vmalloc_end), twice
 * the arena (at least VMALLOC_MIN_SIZE), as PROT_NONE address space: the
 * user-space VMALLOC_START..VMALLOC_END. Nothing is mapped there except live
 * areas, so a stray pointer into a freed area faults.
 *
 * Frames. __vmalloc_node takes frames from the buddy allocator in the largest
 * blocks it has (high orders tried without reclaim or warning, down to order
 * 0), then moves each run of consecutive frames to its place in the area with
 * mremap(MREMAP_DONTUNMAP) (os_move_pages): the pages themselves move, so
 * fork() keeps copy-on-write and the frames stay the arena's (counted as
 * allocated in buddyinfo and meminfo). The arena keeps an empty mapping where
 * the frames were: nothing else can be mapped into it. vfree moves the pages
 * back the same way, then frees the frames. While a frame is in an area its
 * arena address (page_address) reads as zero: the vmalloc address is its only
 * view (the kernel's linear map would alias it; see docs/VMALLOC.md).
 *
 * Without mremap (a caller's buffer: kmem never remaps memory it does not
 * own; or a kernel older than 5.13) vmalloc_contig is set and an area is one
 * physically contiguous block used in place: vmalloc is then limited to
 * KMALLOC_MAX_SIZE and fails in a fragmented arena, as kmalloc would.
 *
 * Address space, as the kernel's vmap_area: every range of the vmalloc range
 * is either free (free_vmap_area_root, a treap by address augmented with the
 * largest free size in each subtree, plus free_vmap_area_list in address
 * order for merging neighbours) or busy (vmap_area_root, a treap by address,
 * for vfree and vmalloc_to_page). An allocation takes the lowest free range
 * that fits, found by descending along subtree_max_size: O(log n) however
 * many areas exist. Each area is followed by an unmapped guard page (counted
 * in its size, as the kernel's). A freed range merges with free neighbours at
 * once (the kernel purges lazily, to batch TLB flushes we do not have).
 *
 * Invariants (vmap_area_check_tree): free ranges are disjoint, in address
 * order, never adjacent (they would have merged) and their
 * subtree_max_size = max(own size, children's); busy ranges are disjoint from
 * each other and from free ones.
 *
 * Locking: vmap_area_lock covers both trees and is a leaf: nothing else is
 * taken under it, so frames are allocated, moved and freed outside it. An
 * area is published (va->vm set) only once its pages are in place.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fault_inject.h"
#include "platform/os.h"
#include "slab.h"

/* A vmalloc or vmap area (the kernel's struct vm_struct). */
struct vm_struct {
	void *addr;
	unsigned long size; /* bytes, the guard page included */
	unsigned long flags; /* VM_ALLOC or VM_MAP */
	struct page **pages;
	unsigned int nr_pages;
	const void *caller;
	struct vmap_area *va;
};

#define VMALLOC_MIN_SIZE (1UL << 30)
#define VMALLOC_MAX_SIZE (1UL << 43) /* 2^31 pages: nr_pages fits an unsigned int */
/* Blocks above this order are not worth the buddy's largest blocks: 4 MiB per move is plenty. */
#define VMALLOC_MAX_BLOCK_ORDER MAX_PAGE_ORDER

struct vmap_area {
	unsigned long va_start, va_end; /* [va_start, va_end), guard page included */
	struct vmap_area *left, *right; /* treap children */
	unsigned int prio; /* treap heap key: a parent's prio is >= its children's */
	unsigned long subtree_max_size; /* free tree: largest free range in this subtree */
	struct list_head list; /* free tree: address order */
	struct vm_struct *vm; /* busy tree: the area, once its pages are in place */
};

static DEFINE_SPINLOCK(vmap_area_lock);
static struct vmap_area *free_vmap_area_root;
static LIST_HEAD(free_vmap_area_list);
static struct vmap_area *vmap_area_root;
static unsigned int vmap_prio_seed = 2463534242u;

/* The vmalloc range; constant from vmalloc_init to vmalloc_exit. */
static unsigned long vmalloc_start, vmalloc_end;
static bool vmalloc_contig; /* no mremap: areas are contiguous blocks in place */
static atomic_long nr_vmalloc_pages;
static bool vmalloc_atfork_registered;

static __always_inline bool vmalloc_range_addr(unsigned long addr)
{
	return addr - vmalloc_start < vmalloc_end - vmalloc_start;
}

/* ------------------------------------------------------------------ the treaps */

static __always_inline unsigned long va_size(const struct vmap_area *va)
{
	return va->va_end - va->va_start;
}

static __always_inline unsigned long get_subtree_max_size(const struct vmap_area *va)
{
	return va ? va->subtree_max_size : 0;
}

static void augment_update(struct vmap_area *va)
{
	va->subtree_max_size = max(va_size(va), max(get_subtree_max_size(va->left),
						    get_subtree_max_size(va->right)));
}

/* xorshift32: treap priorities need only be independent of the addresses. */
static unsigned int vmap_next_prio(void)
{
	unsigned int x = vmap_prio_seed;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	vmap_prio_seed = x;
	return x;
}

/* Split @t into the nodes below @key (*l) and the rest (*r). */
static void treap_split(struct vmap_area *t, unsigned long key, struct vmap_area **l,
			struct vmap_area **r)
{
	if (!t) {
		*l = *r = NULL;
	} else if (t->va_start < key) {
		treap_split(t->right, key, &t->right, r);
		augment_update(t);
		*l = t;
	} else {
		treap_split(t->left, key, l, &t->left);
		augment_update(t);
		*r = t;
	}
}

/* Join @a and @b, every key of @a below every key of @b. */
static struct vmap_area *treap_join(struct vmap_area *a, struct vmap_area *b)
{
	if (!a || !b)
		return a ? a : b;
	if (a->prio > b->prio) {
		a->right = treap_join(a->right, b);
		augment_update(a);
		return a;
	}
	b->left = treap_join(a, b->left);
	augment_update(b);
	return b;
}

static struct vmap_area *treap_insert(struct vmap_area *root, struct vmap_area *va)
{
	if (!root || va->prio > root->prio) {
		treap_split(root, va->va_start, &va->left, &va->right);
		augment_update(va);
		return va;
	}
	if (va->va_start < root->va_start)
		root->left = treap_insert(root->left, va);
	else
		root->right = treap_insert(root->right, va);
	augment_update(root);
	return root;
}

static struct vmap_area *treap_erase(struct vmap_area *root, struct vmap_area *va)
{
	if (root == va)
		return treap_join(va->left, va->right);
	if (va->va_start < root->va_start)
		root->left = treap_erase(root->left, va);
	else
		root->right = treap_erase(root->right, va);
	augment_update(root);
	return root;
}

/* The node with the largest va_start <= @addr, or NULL. */
static struct vmap_area *treap_floor(struct vmap_area *t, unsigned long addr)
{
	struct vmap_area *best = NULL;

	while (t) {
		if (t->va_start <= addr) {
			best = t;
			t = t->right;
		} else {
			t = t->left;
		}
	}
	return best;
}

/* The node with the smallest va_start > @addr, or NULL. */
static struct vmap_area *treap_above(struct vmap_area *t, unsigned long addr)
{
	struct vmap_area *best = NULL;

	while (t) {
		if (t->va_start > addr) {
			best = t;
			t = t->left;
		} else {
			t = t->right;
		}
	}
	return best;
}

/* ------------------------------------------------------------ free ranges */

/* The lowest free range of at least @size bytes (all sizes are page multiples). */
static struct vmap_area *find_vmap_lowest_match(unsigned long size)
{
	struct vmap_area *va = free_vmap_area_root;

	while (va) {
		if (get_subtree_max_size(va->left) >= size)
			va = va->left;
		else if (va_size(va) >= size)
			return va;
		else if (get_subtree_max_size(va->right) >= size)
			va = va->right;
		else
			return NULL;
	}
	return NULL;
}

static void insert_free_area(struct vmap_area *va, struct list_head *before)
{
	va->prio = vmap_next_prio();
	va->vm = NULL;
	free_vmap_area_root = treap_insert(free_vmap_area_root, va);
	list_add_tail(&va->list, before);
}

static void unlink_free_area(struct vmap_area *va)
{
	free_vmap_area_root = treap_erase(free_vmap_area_root, va);
	list_del(&va->list);
}

/*
 * Carve @size bytes from the lowest fitting free range; its start, or 0. A
 * range used up whole comes back in *@spare, to be freed after the lock.
 */
static unsigned long __alloc_vmap_area(unsigned long size, struct vmap_area **spare)
{
	struct vmap_area *va = find_vmap_lowest_match(size);

	if (!va)
		return 0;
	unsigned long addr = va->va_start;

	/* The range shrinks from below: its place in the treap stays, its augment changes. */
	free_vmap_area_root = treap_erase(free_vmap_area_root, va);
	va->va_start += size;
	if (va->va_start == va->va_end) {
		list_del(&va->list);
		*spare = va;
		return addr;
	}
	free_vmap_area_root = treap_insert(free_vmap_area_root, va);
	return addr;
}

/*
 * Give @va's range back to the free ranges, merged with its neighbours: @va
 * grows over them and they come back in @spare (0, 1 or 2 of them), to be
 * freed after the lock. Returns how many.
 */
static unsigned int merge_or_add_vmap_area(struct vmap_area *va, struct vmap_area *spare[2])
{
	struct vmap_area *next = treap_above(free_vmap_area_root, va->va_start);
	struct list_head *pos = next ? &next->list : &free_vmap_area_list;
	struct vmap_area *prev = pos->prev != &free_vmap_area_list ?
					 list_entry(pos->prev, struct vmap_area, list) :
					 NULL;
	unsigned int n = 0;

	if (next && next->va_start == va->va_end) {
		unlink_free_area(next);
		va->va_end = next->va_end;
		spare[n++] = next;
	}
	if (prev && prev->va_end == va->va_start) {
		unlink_free_area(prev);
		va->va_start = prev->va_start;
		spare[n++] = prev;
	}
	next = treap_above(free_vmap_area_root, va->va_start);
	insert_free_area(va, next ? &next->list : &free_vmap_area_list);
	return n;
}

/* ------------------------------------------------------------ busy areas */

static struct vmap_area *find_vmap_area_containing(unsigned long addr)
{
	struct vmap_area *va = treap_floor(vmap_area_root, addr);

	return va && addr < va->va_end ? va : NULL;
}

/* Reserve @size bytes of the vmalloc range for @va; false when the range is full. */
static bool alloc_vmap_area(struct vmap_area *va, unsigned long size)
{
	struct vmap_area *spare = NULL;

	spin_lock(&vmap_area_lock);
	unsigned long addr = __alloc_vmap_area(size, &spare);

	if (addr) {
		va->va_start = addr;
		va->va_end = addr + size;
		va->vm = NULL;
		va->prio = vmap_next_prio();
		vmap_area_root = treap_insert(vmap_area_root, va);
	}
	spin_unlock(&vmap_area_lock);
	kfree(spare);
	return addr != 0;
}

/* Busy area @va (already unlinked from vmap_area_root) goes back to the free ranges. */
static void free_vmap_area(struct vmap_area *va)
{
	struct vmap_area *spare[2];
	unsigned int n;

	if (!vmalloc_range_addr(va->va_start)) {
		kfree(va); /* a contiguous area in the arena, or none yet: no range to give back */
		return;
	}
	spin_lock(&vmap_area_lock);
	n = merge_or_add_vmap_area(va, spare);
	spin_unlock(&vmap_area_lock);
	while (n)
		kfree(spare[--n]);
}

/* Publish a busy area whose pages are in place. */
static void publish_vmap_area(struct vmap_area *va, struct vm_struct *vm)
{
	spin_lock(&vmap_area_lock);
	va->vm = vm;
	spin_unlock(&vmap_area_lock);
}

static void unlink_busy_area(struct vmap_area *va)
{
	spin_lock(&vmap_area_lock);
	vmap_area_root = treap_erase(vmap_area_root, va);
	spin_unlock(&vmap_area_lock);
}

/* ------------------------------------------------------------ moving frames */

/* Pages from @i on that are consecutive frames. */
static unsigned int run_length(struct page **pages, unsigned int i, unsigned int nr)
{
	unsigned int n = 1;

	while (i + n < nr && pages[i + n] == pages[i] + n)
		n++;
	return n;
}

/*
 * Move one run; a run that spans two of the OS's mappings (EFAULT) is moved
 * page by page. 0 or -errno.
 */
static int move_run(char *from, char *to, size_t size)
{
	int err = os_move_pages(from, to, size);

	if (err != -EFAULT || size == PAGE_SIZE)
		return err;
	for (size_t off = 0; off < size; off += PAGE_SIZE)
		if ((err = os_move_pages(from + off, to + off, PAGE_SIZE)))
			return err;
	return 0;
}

/* Move frames [0, nr) of @vm back from the area to the arena. */
static void vunmap_pages(struct vm_struct *vm, unsigned int nr)
{
	for (unsigned int i = 0, n; i < nr; i += n) {
		n = run_length(vm->pages, i, nr);
		int err = move_run((char *)vm->addr + ((size_t)i << PAGE_SHIFT),
				   __page_address(vm->pages[i]), (size_t)n << PAGE_SHIFT);

		/* The frames are already back to the buddy's view: a failure here loses data. */
		if (err)
			kmem_bug("BUG: vfree(%p): cannot move %u pages back to the arena: %s\n",
				 vm->addr, n, strerror(-err));
	}
	if (nr)
		os_unmap_fixed(vm->addr, (size_t)nr << PAGE_SHIFT);
}

/* Move every frame of @vm into the area; on failure put back what moved. 0 or -errno. */
static int vmap_pages(struct vm_struct *vm)
{
	for (unsigned int i = 0, n; i < vm->nr_pages; i += n) {
		n = run_length(vm->pages, i, vm->nr_pages);
		int err = move_run(__page_address(vm->pages[i]),
				   (char *)vm->addr + ((size_t)i << PAGE_SHIFT),
				   (size_t)n << PAGE_SHIFT);

		if (err) {
			vunmap_pages(vm, i);
			return err;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ vm_struct */

static void warn_vmalloc(gfp_t gfp, unsigned long size, const char *fmt, const char *why)
{
	if (gfp & __GFP_NOWARN)
		return;
	pr_warn("%s: vmalloc error: size %lu, %s%s, mode:%#x\n", os_comm(), size, fmt, why, gfp);
}

/* The metadata of a new area: a vm_struct and its vmap_area, reserved in the range. */
static struct vm_struct *get_vm_area(unsigned long size, unsigned long flags, gfp_t gfp,
				     const void *caller)
{
	gfp_t meta_gfp = (gfp & (__GFP_RECLAIM | __GFP_NOFAIL | __GFP_HIGH)) | __GFP_NOWARN;
	struct vm_struct *vm = kzalloc(sizeof(*vm), meta_gfp);
	struct vmap_area *va = kzalloc(sizeof(*va), meta_gfp);

	if (!vm || !va) {
		warn_vmalloc(gfp, size, "vm_struct allocation failed", "");
		goto fail;
	}
	if (!vmalloc_contig) {
		if (!alloc_vmap_area(va, size + PAGE_SIZE)) {
			if (!(gfp & __GFP_NOWARN))
				pr_warn("%s: vmap allocation for size %lu failed: the vmalloc "
					"range (%lu MiB) is full\n",
					os_comm(), size + PAGE_SIZE,
					(vmalloc_end - vmalloc_start) >> 20);
			goto fail;
		}
		vm->addr = (void *)va->va_start;
	}
	vm->size = size + (vmalloc_contig ? 0 : PAGE_SIZE);
	vm->flags = flags;
	vm->caller = caller;
	vm->va = va;
	return vm;
fail:
	kfree(vm);
	kfree(va);
	return NULL;
}

static void free_vm_area(struct vm_struct *vm)
{
	if (!vmalloc_contig || vm->va->va_end)
		unlink_busy_area(vm->va);
	free_vmap_area(vm->va);
	kfree(vm);
}

/* In contiguous mode the area's range is the block's own: insert it now. */
static void insert_contig_area(struct vm_struct *vm)
{
	struct vmap_area *va = vm->va;

	va->va_start = (unsigned long)vm->addr;
	va->va_end = va->va_start + vm->size;
	spin_lock(&vmap_area_lock);
	va->prio = vmap_next_prio();
	vmap_area_root = treap_insert(vmap_area_root, va);
	spin_unlock(&vmap_area_lock);
}

/* ------------------------------------------------------------ vmalloc */

/* The largest order worth trying for @nr_pages still to allocate. */
static unsigned int block_order(unsigned long nr_pages, unsigned int limit)
{
	unsigned int order = (unsigned int)fls_long(nr_pages) - 1;

	return min(order, limit);
}

static int cmp_frame(const void *a, const void *b)
{
	const struct page *x = *(struct page *const *)a, *y = *(struct page *const *)b;

	return x < y ? -1 : x > y;
}

/*
 * Fill vm->pages with frames: the largest blocks the buddy has, without
 * reclaim or warnings, stepping down to order 0 (with the caller's flags).
 * Each block's head keeps its order in page->private. Returns pages taken.
 *
 * The frames are then put in address order: neighbouring frames that came
 * out of the per-CPU lists in any order become one run, moved with one
 * mremap and mapped by one VMA. A block stays whole (no frame lies inside
 * another's block), its head first.
 */
static unsigned int vm_area_alloc_pages(struct vm_struct *vm, gfp_t gfp, int node,
					unsigned int nr_pages)
{
	gfp_t high_gfp = (gfp & ~(__GFP_DIRECT_RECLAIM | __GFP_NOFAIL)) | __GFP_NOWARN |
			 __GFP_NORETRY;
	unsigned int limit = VMALLOC_MAX_BLOCK_ORDER, nr = 0;

	while (nr < nr_pages) {
		unsigned int order = block_order(nr_pages - nr, limit);
		struct page *page =
			alloc_pages_node(node, order ? high_gfp : gfp | __GFP_NOWARN, order);

		if (!page) {
			if (!order)
				break;
			limit = order - 1; /* smaller blocks from now on, as the kernel does */
			continue;
		}
		page->private = order;
		for (unsigned int i = 0; i < (1U << order); i++) {
			SetPageVmalloc(page + i);
			vm->pages[nr++] = page + i;
		}
	}
	if (limit < VMALLOC_MAX_BLOCK_ORDER)
		qsort(vm->pages, nr, sizeof(*vm->pages), cmp_frame);
	return nr;
}

static void vm_area_free_pages(struct vm_struct *vm, unsigned int nr)
{
	for (unsigned int i = 0; i < nr;) {
		struct page *page = vm->pages[i];
		unsigned int order = (unsigned int)page->private;

		for (unsigned int k = 0; k < (1U << order); k++)
			ClearPageVmalloc(page + k);
		page->private = 0;
		__free_pages(page, order);
		i += 1U << order;
	}
}

static int vmalloc_node_to_nid(int node)
{
	return node == NUMA_NO_NODE ? numa_node_id() : node;
}

/* vmalloc without mremap: one physically contiguous block, used in place. */
static void *__vmalloc_contig(struct vm_struct *vm, gfp_t gfp, int node)
{
	unsigned int order = (unsigned int)get_order(vm->size);

	if (order > MAX_PAGE_ORDER) {
		warn_vmalloc(gfp, vm->size, "above what one block holds", " (contiguous mode)");
		return NULL;
	}
	struct page *page = alloc_pages_node(node, gfp | __GFP_NOWARN, order);

	if (!page) {
		warn_vmalloc(gfp, vm->size, "failed to allocate pages", " (contiguous mode)");
		return NULL;
	}
	page->private = order;
	for (unsigned int i = 0; i < (1U << order); i++) {
		if (i < vm->nr_pages)
			vm->pages[i] = page + i;
		SetPageVmalloc(page + i);
	}
	vm->addr = __page_address(page);
	insert_contig_area(vm);
	return vm->addr;
}

static void vm_account(struct vm_struct *vm, long sign)
{
	atomic_fetch_add_explicit(&nr_vmalloc_pages, sign * (long)vm->nr_pages,
				  memory_order_relaxed);
}

static void *vmalloc_fill(struct vm_struct *vm, gfp_t gfp, int node)
{
	unsigned int nr = vm_area_alloc_pages(vm, gfp, node, vm->nr_pages);

	if (nr < vm->nr_pages) {
		warn_vmalloc(gfp, vm->size - PAGE_SIZE, "failed to allocate pages", "");
		vm_area_free_pages(vm, nr);
		return NULL;
	}
	int err = vmap_pages(vm);

	if (err) {
		if (!(gfp & __GFP_NOWARN))
			pr_warn("%s: vmalloc error: size %lu, cannot map %u pages: %s%s\n",
				os_comm(), vm->size - PAGE_SIZE, vm->nr_pages, strerror(-err),
				err == -ENOMEM ? " (vm.max_map_count reached?)" : "");
		vm_area_free_pages(vm, nr);
		return NULL;
	}
	return vm->addr;
}

__export void *__vmalloc_node(unsigned long size, unsigned long align, gfp_t gfp, int node,
			      const void *caller)
{
	(void)align; /* areas are page aligned; the kernel's callers pass PAGE_SIZE or 1 */
	if (unlikely(!size || size > VMALLOC_MAX_SIZE)) {
		warn_vmalloc(gfp, size, "invalid size", "");
		return NULL;
	}
	if (unlikely(!kmem_ready()))
		return NULL;
	if (unlikely(node != NUMA_NO_NODE && (node < 0 || node >= kmem_memory.nr_nodes))) {
		pr_err("vmalloc_node: node %d does not exist (nodes 0..%d)\n", node,
		       kmem_memory.nr_nodes - 1);
		return NULL;
	}
	/* fail_vmalloc (KMEM_FAIL): before anything is reserved, so a forced failure leaks nothing. */
	if (should_fail_vmalloc(size, gfp))
		return NULL;
	size = ALIGN(size, PAGE_SIZE);
	struct vm_struct *vm = get_vm_area(size, VM_ALLOC, gfp, caller);

	if (!vm)
		return NULL;
	vm->nr_pages = (unsigned int)(size >> PAGE_SHIFT);
	/* Large page arrays come from vmalloc itself, as in the kernel. */
	vm->pages = kvmalloc_node(vm->nr_pages * sizeof(struct page *),
				  (gfp & ~__GFP_ZERO) | __GFP_NOWARN, node);
	if (!vm->pages) {
		warn_vmalloc(gfp, size, "failed to allocate the page array", "");
		free_vm_area(vm);
		return NULL;
	}
	node = vmalloc_node_to_nid(node);
	void *addr = vmalloc_contig ? __vmalloc_contig(vm, gfp, node) : vmalloc_fill(vm, gfp, node);

	if (!addr) {
		kvfree(vm->pages);
		free_vm_area(vm);
		return NULL;
	}
	vm_account(vm, 1);
	publish_vmap_area(vm->va, vm);
	return addr;
}

__export void *__vmalloc(unsigned long size, gfp_t gfp_mask)
{
	return __vmalloc_node(size, 1, gfp_mask, NUMA_NO_NODE, __builtin_return_address(0));
}

__export void *vmalloc(unsigned long size)
{
	return __vmalloc_node(size, 1, GFP_KERNEL, NUMA_NO_NODE, __builtin_return_address(0));
}

__export void *vzalloc(unsigned long size)
{
	return __vmalloc_node(size, 1, GFP_KERNEL | __GFP_ZERO, NUMA_NO_NODE,
			      __builtin_return_address(0));
}

__export void *vmalloc_node(unsigned long size, int node)
{
	return __vmalloc_node(size, 1, GFP_KERNEL, node, __builtin_return_address(0));
}

__export void *vzalloc_node(unsigned long size, int node)
{
	return __vmalloc_node(size, 1, GFP_KERNEL | __GFP_ZERO, node, __builtin_return_address(0));
}

/* ------------------------------------------------------------ vmap */

/* Why @page cannot be mapped by vmap(), or NULL when it can. */
static const char *vmap_page_refused(const struct page *page)
{
	if ((uintptr_t)page - (uintptr_t)kmem_memory.mem_map >=
	    kmem_memory.max_pfn * sizeof(struct page))
		return "not a kmem page";
	if (PageBuddy(page) || PagePcp(page) || !page->_refcount)
		return "a free page";
	if (PageSlab(page))
		return "a slab page (its objects are reached through the arena)";
	if (PageVmalloc(page))
		return "already mapped in a vmalloc area";
	return NULL;
}

static void vmap_clear_pages(struct page **pages, unsigned int count)
{
	for (unsigned int i = 0; i < count; i++)
		ClearPageVmalloc(pages[i]);
}

/* Check and claim (PG_vmalloc) every page, so a page given twice is caught too. */
static bool vmap_claim_pages(struct page **pages, unsigned int count, const void *caller)
{
	for (unsigned int i = 0; i < count; i++) {
		const char *why = vmap_page_refused(pages[i]);

		if (why) {
			kmem_bug("BUG: vmap: page %u of %u (%p) is %s (called from %p); refused\n",
				 i, count, (void *)pages[i], why, caller);
			vmap_clear_pages(pages, i);
			return false;
		}
		SetPageVmalloc(pages[i]);
	}
	return true;
}

static bool pages_contiguous(struct page **pages, unsigned int count)
{
	return run_length(pages, 0, count) == count;
}

__export void *vmap(struct page **pages, unsigned int count, unsigned long flags, pgprot_t prot)
{
	const void *caller = __builtin_return_address(0);

	if (!pages || !count || pgprot_val(prot) != pgprot_val(PAGE_KERNEL) ||
	    count > (unsigned int)(VMALLOC_MAX_SIZE >> PAGE_SHIFT)) {
		pr_err("vmap(%p, %u, %#lx, %#lx): bad arguments (need pages, a count and "
		       "PAGE_KERNEL; called from %p)\n",
		       (void *)pages, count, flags, pgprot_val(prot), caller);
		return NULL;
	}
	if (!kmem_ready())
		return NULL;
	if (vmalloc_contig && !pages_contiguous(pages, count)) {
		pr_err("vmap: %u scattered pages need mremap, which kmem cannot use here "
		       "(contiguous mode; called from %p)\n",
		       count, caller);
		return NULL;
	}
	if (!vmap_claim_pages(pages, count, caller))
		return NULL;
	unsigned long size = (unsigned long)count << PAGE_SHIFT;
	struct vm_struct *vm = get_vm_area(size, VM_MAP, GFP_KERNEL, caller);

	if (!vm)
		goto unclaim;
	vm->nr_pages = count;
	vm->pages = kvmalloc(count * sizeof(struct page *), GFP_KERNEL | __GFP_NOWARN);
	if (!vm->pages) {
		free_vm_area(vm);
		goto unclaim;
	}
	memcpy(vm->pages, pages, count * sizeof(struct page *));
	if (vmalloc_contig) {
		vm->addr = __page_address(pages[0]);
		insert_contig_area(vm);
	} else {
		int err = vmap_pages(vm);

		if (err) {
			pr_warn("%s: vmap of %u pages failed: %s\n", os_comm(), count,
				strerror(-err));
			kvfree(vm->pages);
			free_vm_area(vm);
			goto unclaim;
		}
	}
	publish_vmap_area(vm->va, vm);
	return vm->addr;
unclaim:
	vmap_clear_pages(pages, count);
	return NULL;
}

/* ------------------------------------------------------------ vfree */

/* What remove_vm_area found at an address that is not an area it may remove. */
struct vm_area_miss {
	unsigned long start, end; /* the area containing the address, if any */
	unsigned long flags; /* its flags when the address is its start */
};

static void report_vm_area_miss(const void *addr, const char *who, unsigned long flags,
				const struct vm_area_miss *miss, const void *caller)
{
	if (miss->flags)
		kmem_bug("BUG: %s(%p): the area was made by %s, not %s (called from %p); "
			 "ignored\n",
			 who, addr, miss->flags & VM_ALLOC ? "vmalloc" : "vmap",
			 flags & VM_ALLOC ? "vmalloc" : "vmap", caller);
	else if (miss->end)
		kmem_bug("BUG: %s(%p): not the start of a vmalloc area (%#lx-%#lx; called "
			 "from %p); ignored\n",
			 who, addr, miss->start, miss->end, caller);
	else
		kmem_bug("BUG: %s(%p): not a vmalloc address%s (called from %p); ignored\n", who,
			 addr, kmem_addr_valid(addr) ? " but kmem's memory: kfree it?" : "",
			 caller);
}

/* Unlink the area starting at @addr made with one of @flags, or report what @addr is. */
static struct vm_struct *remove_vm_area(const void *addr, const char *who, unsigned long flags,
					const void *caller)
{
	unsigned long a = (unsigned long)addr;
	struct vm_area_miss miss = { 0 };
	struct vm_struct *vm = NULL;
	struct vmap_area *va;

	spin_lock(&vmap_area_lock);
	va = find_vmap_area_containing(a);
	if (va && va->vm && va->va_start == a && (va->vm->flags & flags)) {
		vmap_area_root = treap_erase(vmap_area_root, va);
		vm = va->vm;
	} else if (va && va->vm) {
		miss.start = va->va_start;
		miss.end = va->va_end;
		miss.flags = va->va_start == a ? va->vm->flags : 0;
	}
	spin_unlock(&vmap_area_lock);
	if (!vm)
		report_vm_area_miss(addr, who, flags, &miss, caller);
	return vm;
}

static void __vunmap(struct vm_struct *vm)
{
	if (!vmalloc_contig)
		vunmap_pages(vm, vm->nr_pages);
	if (vm->flags & VM_ALLOC) {
		vm_account(vm, -1);
		/* A contiguous area is one block: its head's order covers every page. */
		vm_area_free_pages(vm, vmalloc_contig ? 1 : vm->nr_pages);
	} else {
		vmap_clear_pages(vm->pages, vm->nr_pages);
	}
	kvfree(vm->pages);
	free_vmap_area(vm->va);
	kfree(vm);
}

__export void vfree(const void *addr)
{
	if (!addr)
		return;
	struct vm_struct *vm =
		remove_vm_area(addr, "vfree", VM_ALLOC | VM_MAP, __builtin_return_address(0));

	if (vm)
		__vunmap(vm);
}

__export void vunmap(const void *addr)
{
	if (!addr)
		return;
	struct vm_struct *vm = remove_vm_area(addr, "vunmap", VM_MAP, __builtin_return_address(0));

	if (vm)
		__vunmap(vm);
}

/* ------------------------------------------------------------ lookups */

__export bool is_vmalloc_addr(const void *addr)
{
	if (vmalloc_range_addr((unsigned long)addr))
		return true;
	return vmalloc_contig && kmem_addr_valid(addr) && PageVmalloc(__virt_to_page(addr));
}

__export struct page *vmalloc_to_page(const void *addr)
{
	unsigned long a = (unsigned long)addr;
	struct page *page = NULL;
	struct vmap_area *va;

	if (!is_vmalloc_addr(addr))
		return NULL;
	spin_lock(&vmap_area_lock);
	va = find_vmap_area_containing(a);
	if (va && va->vm && a - va->va_start < ((unsigned long)va->vm->nr_pages << PAGE_SHIFT))
		page = va->vm->pages[(a - va->va_start) >> PAGE_SHIFT];
	spin_unlock(&vmap_area_lock);
	return page;
}

__export unsigned long vmalloc_to_pfn(const void *addr)
{
	struct page *page = vmalloc_to_page(addr);

	return page ? __page_to_pfn(page) : 0;
}

/* ------------------------------------------------------------ /proc */

static void show_vmap_area(struct seq_file *m, const struct vm_struct *vm)
{
	char sym[128];
	unsigned int per_node[MAX_NUMNODES] = { 0 };

	seq_printf(m, "0x%016lx-0x%016lx %7lu", (unsigned long)vm->addr,
		   (unsigned long)vm->addr + vm->size, vm->size);
	if (vm->caller)
		seq_printf(m, " %s", os_symbolize(vm->caller, sym, sizeof(sym)));
	if (vm->nr_pages)
		seq_printf(m, " pages=%u", vm->nr_pages);
	if (vm->flags & VM_ALLOC)
		seq_printf(m, " vmalloc");
	if (vm->flags & VM_MAP)
		seq_printf(m, " vmap");
	if (is_vmalloc_addr(vm->pages))
		seq_printf(m, " vpages");
	for (unsigned int i = 0; i < vm->nr_pages; i++)
		per_node[pfn_to_nid(__page_to_pfn(vm->pages[i]))]++;
	for (int nid = 0; nid < kmem_memory.nr_nodes; nid++)
		if (per_node[nid])
			seq_printf(m, " N%d=%u", nid, per_node[nid]);
	seq_printf(m, "\n");
}

static void show_vmap_tree(struct seq_file *m, const struct vmap_area *va)
{
	if (!va)
		return;
	show_vmap_tree(m, va->left);
	if (va->vm)
		show_vmap_area(m, va->vm);
	show_vmap_tree(m, va->right);
}

void vmallocinfo_show(struct seq_file *m)
{
	spin_lock(&vmap_area_lock);
	show_vmap_tree(m, vmap_area_root);
	spin_unlock(&vmap_area_lock);
}

void vmalloc_meminfo(unsigned long *total_kb, unsigned long *used_pages, unsigned long *chunk_kb)
{
	spin_lock(&vmap_area_lock);
	*total_kb = (vmalloc_end - vmalloc_start) >> 10;
	*chunk_kb = get_subtree_max_size(free_vmap_area_root) >> 10;
	spin_unlock(&vmap_area_lock);
	long used = atomic_load_explicit(&nr_vmalloc_pages, memory_order_relaxed);

	*used_pages = used > 0 ? (unsigned long)used : 0;
}

/* ------------------------------------------------------------ checks */

static long check_free_subtree(const struct vmap_area *va, unsigned long lo, unsigned long hi)
{
	if (!va)
		return 0;
	long l = check_free_subtree(va->left, lo, va->va_start);
	long r = check_free_subtree(va->right, va->va_end, hi);

	if (l < 0 || r < 0 || va->va_start < lo || va->va_end > hi || va->va_end <= va->va_start ||
	    (va->left && va->left->prio > va->prio) || (va->right && va->right->prio > va->prio) ||
	    va->subtree_max_size != max(va_size(va), max(get_subtree_max_size(va->left),
							 get_subtree_max_size(va->right))))
		return -1;
	return l + r + 1;
}

int vmap_area_check_tree(void)
{
	unsigned long prev_end = 0, nr_list = 0;
	struct vmap_area *va;
	int ret = 0;

	spin_lock(&vmap_area_lock);
	long nr_tree = check_free_subtree(free_vmap_area_root, vmalloc_start, vmalloc_end);

	list_for_each_entry(va, &free_vmap_area_list, list) {
		/* In address order and never touching: touching ranges must have merged. */
		if (nr_list++ && va->va_start <= prev_end)
			ret = -1;
		prev_end = va->va_end;
		struct vmap_area *busy = treap_floor(vmap_area_root, va->va_end - 1);

		if (busy && busy->va_end > va->va_start)
			ret = -1;
	}
	if (nr_tree < 0 || (unsigned long)nr_tree != nr_list)
		ret = -1;
	spin_unlock(&vmap_area_lock);
	return ret;
}

/* ------------------------------------------------------------ init and exit */

static void vmalloc_fork_prepare(void)
{
	spin_lock(&vmap_area_lock);
}

static void vmalloc_fork_parent(void)
{
	spin_unlock(&vmap_area_lock);
}

static void vmalloc_fork_child(void)
{
	spin_lock_init(&vmap_area_lock);
}

/* Can this kernel move pages with MREMAP_DONTUNMAP? Tried once on two scratch pages. */
static bool mremap_dontunmap_works(void)
{
	char *scratch = os_reserve(2 * PAGE_SIZE, PAGE_SIZE);

	if (!scratch)
		return false;
	int err = os_move_pages(scratch, scratch + PAGE_SIZE, PAGE_SIZE);

	os_unreserve(scratch, 2 * PAGE_SIZE);
	if (err)
		pr_warn("vmalloc: mremap(MREMAP_DONTUNMAP) fails here (%s; Linux >= 5.13 "
			"needed): vmalloc areas will be physically contiguous, at most %lu "
			"bytes\n",
			strerror(-err), KMALLOC_MAX_SIZE);
	return err == 0;
}

/*
 * vmalloc's own descriptors (vm_struct, vmap_area) come from kmalloc: with
 * owner tracking on, their owner is vmalloc's caller, not vmalloc, so a
 * leaked area shows up in the leak report under the code that leaked it.
 */
static void register_vmalloc_path(void)
{
	static const void *const path[] = {
		get_vm_area,  __vmalloc_node, __vmalloc,      vmalloc, vzalloc, vmalloc_node,
		vzalloc_node, vmap,	      remove_vm_area, vfree,   vunmap,
	};

	for (size_t i = 0; i < ARRAY_SIZE(path); i++)
		slab_debug_register_entry(path[i]);
}

int vmalloc_init(void)
{
	struct vmap_area *first;
	size_t arena = (size_t)kmem_memory.max_pfn << PAGE_SHIFT;
	size_t size = clamp(ALIGN(2 * arena, MAX_ORDER_NR_PAGES << PAGE_SHIFT), VMALLOC_MIN_SIZE,
			    VMALLOC_MAX_SIZE);

	free_vmap_area_root = vmap_area_root = NULL;
	INIT_LIST_HEAD(&free_vmap_area_list);
	atomic_store(&nr_vmalloc_pages, 0);
	vmalloc_start = vmalloc_end = 0;
	vmalloc_contig = kmem_memory.external || !mremap_dontunmap_works();
	register_vmalloc_path();
	if (!vmalloc_atfork_registered) {
		os_atfork(vmalloc_fork_prepare, vmalloc_fork_parent, vmalloc_fork_child);
		vmalloc_atfork_registered = true;
	}
	if (vmalloc_contig)
		return 0;
	char *range = os_reserve_none(size);

	first = kzalloc(sizeof(*first), GFP_KERNEL);
	if (!range || !first) {
		pr_err("kmem_init: cannot reserve %zu MiB of address space for vmalloc\n",
		       size >> 20);
		if (range)
			os_unreserve(range, size);
		kfree(first);
		return -ENOMEM;
	}
	vmalloc_start = (unsigned long)range;
	vmalloc_end = vmalloc_start + size;
	first->va_start = vmalloc_start;
	first->va_end = vmalloc_end;
	insert_free_area(first, &free_vmap_area_list);
	return 0;
}

static void vmalloc_exit_tree(struct vmap_area *va, bool busy)
{
	if (!va)
		return;
	vmalloc_exit_tree(va->left, busy);
	vmalloc_exit_tree(va->right, busy);
	if (busy && va->vm) {
		char sym[128];

		pr_warn("kmem_exit: vmalloc area 0x%lx-0x%lx (%lu bytes, %u pages, from %s) was "
			"never freed\n",
			va->va_start, va->va_end, va->vm->size, va->vm->nr_pages,
			os_symbolize(va->vm->caller, sym, sizeof(sym)));
		if (!is_vmalloc_addr(va->vm->pages))
			kfree(va->vm->pages);
		kfree(va->vm);
	}
	kfree(va);
}

/* Report the areas never freed, drop the metadata, give the range back. */
void vmalloc_exit(void)
{
	vmalloc_exit_tree(vmap_area_root, true);
	vmalloc_exit_tree(free_vmap_area_root, false);
	free_vmap_area_root = vmap_area_root = NULL;
	INIT_LIST_HEAD(&free_vmap_area_list);
	if (vmalloc_end)
		os_unreserve((void *)vmalloc_start, vmalloc_end - vmalloc_start);
	vmalloc_start = vmalloc_end = 0;
}
