// SPDX-License-Identifier: GPL-2.0
/*
 * texeccheck PATH  execveat(AT_EXECVE_CHECK) of PATH (6.14 and later): asks whether PATH may be executed,
 *                  as an interpreter that honours the flag does before it reads a script, and runs
 *                  nothing. Prints "check: ok" (exit 0), "check: <strerror> (errno N)" (exit 1), or
 *                  "check: unsupported" (exit 3: the kernel does not know the flag).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef AT_EXECVE_CHECK
#define AT_EXECVE_CHECK 0x10000
#endif

int main(int argc, char **argv)
{
	char *args[] = { argv[1], NULL }, *env[] = { NULL };
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: texeccheck PATH\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		printf("open: %s (errno %d)\n", strerror(errno), errno);
		return 1;
	}
	if (syscall(SYS_execveat, fd, "", args, env, AT_EMPTY_PATH | AT_EXECVE_CHECK) == 0) {
		printf("check: ok\n");
		return 0;
	}
	if (errno == EINVAL) {
		printf("check: unsupported\n");
		return 3;
	}
	printf("check: %s (errno %d)\n", strerror(errno), errno);
	return 1;
}
