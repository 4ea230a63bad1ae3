// SPDX-License-Identifier: GPL-2.0
/*
 * tmprotect PATH FIFO  open PATH, map its first page PROT_READ (MAP_PRIVATE), print "mapped", wait until a
 *                      byte can be read from FIFO (the test makes the file known meanwhile), then mprotect
 *                      the mapping PROT_READ|PROT_EXEC: "mprotect: ok" (exit 0) or
 *                      "mprotect: <strerror> (errno N)" (exit 1).
 * tmprotect --anon     an anonymous read-write page made PROT_READ|PROT_EXEC, as a JIT does: the same output.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int make_exec(void *p)
{
	if (mprotect(p, 4096, PROT_READ | PROT_EXEC) < 0) {
		int e = errno;

		printf("mprotect: %s (errno %d)\n", strerror(e), e);
		return 1;
	}
	printf("mprotect: ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	char c;
	void *p;
	int fd;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 2 && strcmp(argv[1], "--anon") == 0) {
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 2;
		memset(p, 0xc3, 16);
		return make_exec(p);
	}
	if (argc != 3) {
		fprintf(stderr, "usage: tmprotect PATH FIFO | tmprotect --anon\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		printf("open: %s (errno %d)\n", strerror(errno), errno);
		return 1;
	}
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		printf("mmap: %s (errno %d)\n", strerror(errno), errno);
		return 1;
	}
	printf("mapped\n");
	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, &c, 1) != 1)
		return 2;
	return make_exec(p);
}
