/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tdlopen PATH             dlopen(PATH, RTLD_NOW): prints "dlopen: ok" (exit 0) or "dlopen: <dlerror()>"
 *                          (exit 1). glibc's message says why only for some failures: a refused executable
 *                          mapping reads "failed to map segment from shared object" without the errno.
 * tdlopen --mmap-exec PATH open(O_RDONLY) + mmap(PROT_READ|PROT_EXEC, MAP_PRIVATE) of the first page, as
 *                          ld.so maps a text segment: prints "mmap: ok" (exit 0) or
 *                          "mmap: <strerror> (errno N)" (exit 1).
 * tdlopen --mmap-read PATH the same with PROT_READ only (reading a listed file must keep working).
 * tdlopen --hold SECONDS PATH  dlopen(PATH) as above, then keeps it mapped for SECONDS before exit 0: a
 *                          running process that maps a library.
 * tdlopen --mprotect PATH  the PROT_READ mapping, then mprotect(PROT_READ|PROT_EXEC) of it: prints
 *                          "mprotect: ok" (exit 0) or "mprotect: <strerror> (errno N)" (exit 1).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int map(const char *path, int prot, int then_prot)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *p;

	if (fd < 0) {
		printf("open: %s (errno %d)\n", strerror(errno), errno);
		return 1;
	}
	p = mmap(NULL, 4096, prot, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		printf("mmap: %s (errno %d)\n", strerror(e), e);
		close(fd);
		return 1;
	}
	if (then_prot && mprotect(p, 4096, then_prot) < 0) {
		int e = errno;
		printf("mprotect: %s (errno %d)\n", strerror(e), e);
		munmap(p, 4096);
		close(fd);
		return 1;
	}
	printf("%s: ok\n", then_prot ? "mprotect" : "mmap");
	munmap(p, 4096);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned hold = 0;
	void *h;

	if (argc == 4 && strcmp(argv[1], "--hold") == 0) {
		char *end;
		unsigned long v = strtoul(argv[2], &end, 10);

		if (*argv[2] == '\0' || *end || v > 3600) {
			fprintf(stderr, "tdlopen: bad seconds: %s\n", argv[2]);
			return 2;
		}
		hold = (unsigned)v;
		argv += 2;
		argc -= 2;
	}
	if (argc == 3 && strcmp(argv[1], "--mmap-exec") == 0)
		return map(argv[2], PROT_READ | PROT_EXEC, 0);
	if (argc == 3 && strcmp(argv[1], "--mmap-read") == 0)
		return map(argv[2], PROT_READ, 0);
	if (argc == 3 && strcmp(argv[1], "--mprotect") == 0)
		return map(argv[2], PROT_READ, PROT_READ | PROT_EXEC);
	if (argc != 2) {
		fprintf(stderr, "usage: tdlopen [--mmap-exec|--mmap-read|--mprotect] PATH\n");
		return 2;
	}
	h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		printf("dlopen: %s\n", e ? e : "(no error text)");
		return 1;
	}
	printf("dlopen: ok\n");
	fflush(stdout);
	for (unsigned left = hold; left;)
		left = sleep(left);
	dlclose(h);
	return 0;
}
