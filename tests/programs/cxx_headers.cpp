// SPDX-License-Identifier: MIT
// tests/programs/run.sh: kmem's public headers from C++ (they are C, with extern "C"):
// compiled with g++ -Wall -Wextra -Werror against libkmem.so and run; the inline
// kmalloc() of a constant size, a KMEM_CACHE, a kmalloc mempool, vmalloc and pages.
#include <cstdio>
#include <cstring>

#include <kmem/gfp.h>
#include <kmem/kmem.h>
#include <kmem/mempool.h>
#include <kmem/mm.h>
#include <kmem/slab.h>
#include <kmem/vmalloc.h>

struct node {
	node *next;
	char name[48];
};

int main()
{
	struct kmem_config cfg = {};

	cfg.mem_size = 64UL << 20;
	if (kmem_init(&cfg))
		return 1;
	node *n = static_cast<node *>(kmalloc(sizeof(node), GFP_KERNEL));
	struct kmem_cache *cache = KMEM_CACHE(node, SLAB_HWCACHE_ALIGN);
	node *m = cache ? static_cast<node *>(kmem_cache_zalloc(cache, GFP_KERNEL)) : nullptr;
	mempool_t *pool = mempool_create_kmalloc_pool(4, 256);
	void *elem = pool ? mempool_alloc(pool, GFP_KERNEL) : nullptr;
	void *big = vmalloc(1 << 20);
	struct page *pages = alloc_pages(GFP_KERNEL, 2);

	if (!n || !m || !elem || !big || !pages || m->next || ksize(n) != 64)
		return 2;
	std::strcpy(n->name, "kmalloc");
	std::memset(big, 1, 1 << 20);
	std::memset(page_address(pages), 2, 4 * PAGE_SIZE);
	__free_pages(pages, 2);
	vfree(big);
	mempool_free(elem, pool);
	mempool_destroy(pool);
	kmem_cache_free(cache, m);
	kmem_cache_destroy(cache);
	std::puts(n->name);
	kfree(n);
	kmem_exit();
	return 0;
}
