// SPDX-License-Identifier: MIT
/*
 * tests/programs/run.sh: kmem_exit() in a process whose malloc is kmem's
 * (linked with libkmem.so, run under kmem-run, so the preload's kmem_exit is
 * the one called). It must refuse: the blocks malloc handed out stay valid.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kmem/kmem.h>

int main(void)
{
	char *p = malloc(100);
	char *q;

	strcpy(p, "still here");
	kmem_exit();
	q = malloc(200);
	if (!q)
		return 1;
	strcpy(q, p);
	printf("%s\n", q);
	free(p);
	free(q);
	return 0;
}
