// SPDX-License-Identifier: GPL-2.0
#include "test.h"

#include <fnmatch.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

static struct test_case *tests;
static bool current_failed;
static char tmpdir[256];

void test_register(struct test_case *t)
{
	t->next = tests;
	tests = t;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	current_failed = true;
	fprintf(stderr, "  %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

const char *test_tmpdir(void)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "%s/embargo-unit-XXXXXX", getenv("TMPDIR") ?: "/tmp");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			exit(2);
		}
	}
	return tmpdir;
}

int main(int argc, char **argv)
{
	struct test_case *rev = NULL;
	unsigned passed = 0, failed = 0;

	/* Registration by constructors runs in reverse; run in file order. */
	while (tests) {
		struct test_case *t = tests;
		tests = t->next;
		t->next = rev;
		rev = t;
	}
	for (struct test_case *t = rev; t; t = t->next) {
		if (argc > 1 && fnmatch(argv[1], t->name, 0) != 0)
			continue;
		current_failed = false;
		t->fn();
		if (tmpdir[0]) {
			nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
			tmpdir[0] = '\0';
		}
		printf("%s: %s\n", current_failed ? "FAIL" : "PASS", t->name);
		if (current_failed)
			failed++;
		else
			passed++;
	}
	printf("unit: %u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
