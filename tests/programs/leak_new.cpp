// SPDX-License-Identifier: MIT
// tests/programs/run.sh: leaks four objects made with new and three arrays made
// with new[] from one function each, and deletes everything else, for
// kmem-run --debug=U's leak report: it must name the functions with the new
// expressions, not libstdc++'s operator new (which calls malloc). Built with
// -rdynamic so that the report can name them.
#include <cstring>

struct node {
	char payload[200];
};

node *kept_nodes[4];
char *kept_arrays[3];

__attribute__((noinline)) void leaky_new(int i)
{
	kept_nodes[i] = new node;
	std::memset(kept_nodes[i]->payload, i, sizeof(kept_nodes[i]->payload));
}

__attribute__((noinline)) void leaky_new_array(int i)
{
	kept_arrays[i] = new char[700];
	std::memset(kept_arrays[i], i, 700);
}

int main()
{
	node *gone = new node;
	char *gone_array = new char[3000];

	for (int i = 0; i < 4; i++)
		leaky_new(i);
	for (int i = 0; i < 3; i++)
		leaky_new_array(i);
	delete gone;
	delete[] gone_array;
	return 0;
}
