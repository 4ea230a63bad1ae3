/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tfinit PATH      finit_module(open(PATH), "", 0): prints "finit_module: ok" (exit 0) or
 *                  "finit_module: <strerror> (errno N)" (exit 1).
 * tfinit -r NAME   delete_module(NAME): unload it again.
 * tfinit -m PATH   init_module() of PATH's content read into memory: "init_module: ok" or the error.
 * Through finit_module, the way modprobe loads a module from a file (what kernel_read_file sees);
 * busybox insmod might read the file itself and use init_module.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int from_memory(const char *path)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0 || !(buf = malloc((size_t)st.st_size)) ||
	    read(fd, buf, (size_t)st.st_size) != st.st_size) {
		printf("read: %s (errno %d)\n", strerror(errno), errno);
		return 1;
	}
	close(fd);
	if (syscall(SYS_init_module, buf, (unsigned long)st.st_size, "") < 0) {
		printf("init_module: %s (errno %d)\n", strerror(errno), errno);
		return 1;
	}
	printf("init_module: ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	int fd;

	if (argc == 3 && strcmp(argv[1], "-r") == 0) {
		if (syscall(SYS_delete_module, argv[2], O_NONBLOCK) < 0) {
			printf("delete_module: %s (errno %d)\n", strerror(errno), errno);
			return 1;
		}
		printf("delete_module: ok\n");
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "-m") == 0)
		return from_memory(argv[2]);
	if (argc != 2) {
		fprintf(stderr, "usage: tfinit PATH | tfinit -r NAME\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		printf("open: %s (errno %d)\n", strerror(errno), errno);
		return 1;
	}
	if (syscall(SYS_finit_module, fd, "", 0) < 0) {
		printf("finit_module: %s (errno %d)\n", strerror(errno), errno);
		return 1;
	}
	printf("finit_module: ok\n");
	return 0;
}
