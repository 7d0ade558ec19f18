// SPDX-License-Identifier: MIT
/*
 * tests/programs/run.sh: a program that leaks five 100-byte blocks from one
 * site (leaky_site) and frees everything else, for kmem-run --debug=U's leak
 * report at exit. Built with -rdynamic so the report can name the function.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *kept[5];

__attribute__((noinline)) void leaky_site(int i)
{
	kept[i] = malloc(100);
	memset(kept[i], i, 100);
}

int main(void)
{
	void *p = malloc(3000);

	for (int i = 0; i < 5; i++)
		leaky_site(i);
	free(p);
	return 0;
}
