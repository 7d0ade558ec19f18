// SPDX-License-Identifier: MIT
/*
 * kmem-run: run a program on kmem's allocators.
 *
 *   kmem-run [--stats[=FILE]] [--debug=SPEC] [--fail=SPEC] [--mem=SIZE] [--] CMD [ARG]...
 *
 * Puts libkmem-malloc.so (found next to this program, or in the library
 * directory it was installed to) in front of LD_PRELOAD, sets KMEM_STATS,
 * KMEM_DEBUG, KMEM_FAIL and KMEM_MEM from the options and executes CMD. The
 * preload reaches CMD's children too; every process that has it writes its
 * own report at exit when --stats is given (docs/MALLOC.md).
 *
 * Exit status: CMD's; 125 for a usage error, 126 when CMD cannot be run,
 * 127 when it is not found (as env(1) does).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mm/internal.h"

#define EXIT_USAGE 125
#define EXIT_CANNOT_RUN 126
#define EXIT_NOT_FOUND 127
#define PRELOAD_NAME "libkmem-malloc.so"

#ifndef KMEM_LIBDIR
#define KMEM_LIBDIR "/usr/local/lib"
#endif

static const char usage_text[] =
	"usage: kmem-run [OPTION]... [--] CMD [ARG]...\n"
	"Run CMD with its malloc, free, ... (and C++'s new and delete) on kmem.\n"
	"\n"
	"  --stats[=FILE]  at the exit of CMD and of each of its children, write its\n"
	"                  slabinfo, buddyinfo and meminfo to FILE (appended) or stderr\n"
	"  --debug=SPEC    slab debugging, the kernel's slub_debug= syntax (KMEM_DEBUG)\n"
	"  --fail=SPEC     fault injection (KMEM_FAIL)\n"
	"  --mem=SIZE      kmem's \"physical memory\", e.g. 512M or 4G (KMEM_MEM);\n"
	"                  default: the machine's RAM\n"
	"  -h, --help      show this help\n"
	"\n"
	"Exit status: CMD's, or 125 (bad usage), 126 (CMD cannot run), 127 (CMD not found).\n";

static __attribute__((noreturn)) void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "kmem-run: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'kmem-run --help' for more information.\n");
	exit(EXIT_USAGE);
}

static bool readable(const char *path)
{
	return access(path, R_OK) == 0;
}

/* The preload: next to our own executable (the build tree), else the install's libdir. */
static const char *find_preload(void)
{
	static char path[PATH_MAX];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');

		if (slash) {
			*slash = '\0';
			if ((size_t)snprintf(path, sizeof(path), "%.*s/%s",
					     (int)(sizeof(path) - sizeof(PRELOAD_NAME) - 1), exe,
					     PRELOAD_NAME) < sizeof(path) &&
			    readable(path))
				return path;
		}
	}
	snprintf(path, sizeof(path), "%s/%s", KMEM_LIBDIR, PRELOAD_NAME);
	return readable(path) ? path : NULL;
}

/* KMEM_STATS for a FILE relative to here: absolute, since CMD may change directory. */
static const char *stats_target(const char *file)
{
	static char path[PATH_MAX];
	char cwd[PATH_MAX];

	if (!file)
		return "-";
	if (!*file)
		usage_error("--stats=: empty file name%s", "");
	if (file[0] == '/' || !strcmp(file, "-") || !getcwd(cwd, sizeof(cwd)))
		return file;
	if ((size_t)snprintf(path, sizeof(path), "%.*s/%s", (int)(sizeof(path) / 2), cwd, file) >=
	    sizeof(path))
		usage_error("--stats=%s: path too long", file);
	return path;
}

static void set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *value;

	if (old && *old) {
		if (asprintf(&value, "%s %s", lib, old) < 0) {
			perror("kmem-run");
			exit(EXIT_CANNOT_RUN);
		}
		setenv("LD_PRELOAD", value, 1);
		free(value);
	} else {
		setenv("LD_PRELOAD", lib, 1);
	}
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "stats", optional_argument, NULL, 's' },
		{ "debug", required_argument, NULL, 'd' },
		{ "fail", required_argument, NULL, 'f' },
		{ "mem", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *stats = NULL, *debug = NULL, *fail = NULL, *mem = NULL;
	bool want_stats = false;
	int c;

	opterr = 0;
	/* "+": options end at CMD, so CMD's own options are left alone. */
	while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
		switch (c) {
		case 's':
			want_stats = true;
			stats = optarg;
			break;
		case 'd':
			debug = optarg;
			break;
		case 'f':
			fail = optarg;
			break;
		case 'm':
			mem = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			if (optopt)
				usage_error("option '%s' needs no argument, or was not understood",
					    argv[optind - 1]);
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		usage_error("no command given%s", "");
	if (mem) {
		size_t bytes;

		if (kmem_parse_size(mem, &bytes) || !bytes)
			usage_error("--mem=%s: not a size (bytes with an optional K, M, G or T "
				    "suffix, e.g. 512M)",
				    mem);
		setenv("KMEM_MEM", mem, 1);
	}
	if (debug)
		setenv("KMEM_DEBUG", debug, 1);
	if (fail)
		setenv("KMEM_FAIL", fail, 1);
	if (want_stats)
		setenv("KMEM_STATS", stats_target(stats), 1);
	const char *lib = find_preload();

	if (!lib) {
		fprintf(stderr, "kmem-run: cannot find %s next to kmem-run or in %s\n",
			PRELOAD_NAME, KMEM_LIBDIR);
		return EXIT_CANNOT_RUN;
	}
	set_preload(lib);
	execvp(argv[optind], &argv[optind]);
	int err = errno;

	fprintf(stderr, "kmem-run: %s: %s\n", argv[optind],
		err == ENOENT ? "command not found" : strerror(err));
	return err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN;
}
