/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcache: what the kernel's verdict cache must not trust, and what it must not hash (tests/vm/guest.sh).
 *   tcache memfd LISTED          a memfd of zeros, already written through a shared mapping, is mapped
 *                                executable (decided clean), then LISTED's bytes are written through that
 *                                mapping (no open, no fault, no ctime change) and the memfd is executed:
 *                                prints what trun prints (exit 200 on a refused execve)
 *   tcache truncate PATH SIZE    append to PATH, map it executable (clean), truncate(2) it back to SIZE by
 *                                name within one timestamp tick, map it again: "truncate: refused" (exit 0),
 *                                "truncate: mapped" (exit 1), or "truncate: no tick" (exit 3)
 *   tcache mapexec PATH [odirect] open (O_DIRECT) and mmap PROT_EXEC: "mmap: ok" or "mmap: <error>";
 *                                exit 3 if O_DIRECT cannot be opened here
 *   tcache bigmemfd              a 2^62-byte sparse memfd mapped PROT_EXEC: "bigmemfd: <result>, T s"
 *   tcache mapmany DIR N         N distinct small files in DIR, each mapped PROT_EXEC once: "mapmany: N"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int map_exec(int fd, size_t len)
{
	void *m = mmap(NULL, len ? len : 1, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);

	if (m == MAP_FAILED)
		return -errno;
	munmap(m, len ? len : 1);
	return 0;
}

static int read_file(const char *path, char **buf, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	*len = (size_t)st.st_size;
	*buf = malloc(*len);
	if (!*buf || read(fd, *buf, *len) != (ssize_t)*len) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

static int parse_long(const char *s, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	return errno || end == s || *end || *v < 0 ? -EINVAL : 0;
}

/* Like trun: fork, exec the descriptor, report. */
static int exec_fd(int fd)
{
	int pfd[2], st, err = 0;
	char *argv[] = { "memfd-listed", NULL };
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return 2;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		close(pfd[0]);
		syscall(__NR_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
		err = errno;
		if (write(pfd[1], &err, sizeof(err)) < 0)
			_exit(254);
		_exit(255);
	}
	close(pfd[1]);
	do
		n = read(pfd[0], &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 2;
	if (n == (ssize_t)sizeof(err)) {
		printf("trun: execve: %s (errno %d)\n", strerror(err), err);
		return 200;
	}
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

static int cmd_memfd(const char *listed)
{
	char *buf = NULL;
	size_t len = 0;
	void *m;
	int fd, r;

	if (read_file(listed, &buf, &len) < 0)
		return 2;
	fd = memfd_create("tcache", 0);
	if (fd < 0 || ftruncate(fd, (off_t)len) < 0)
		return 2;
	/*
	 * The first write to each page faults, and a fault on a mapping without page_mkwrite (shmem) moves
	 * the ctime; later writes through the same writable PTEs do not fault, so nothing moves it again.
	 */
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return 2;
	memset(m, 0, len);
	/* Zeros: not listed, decided clean. */
	r = map_exec(fd, len);
	if (r < 0) {
		printf("memfd: mapping zeros: %s\n", strerror(-r));
		return 2;
	}
	memcpy(m, buf, len);
	munmap(m, len);
	return exec_fd(fd);
}

static int same_ctime(const struct stat *a, const struct stat *b)
{
	return a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static int cmd_truncate(const char *path, const char *size_s)
{
	long size;

	if (parse_long(size_s, &size) < 0)
		return 2;
	for (int attempt = 0; attempt < 500; attempt++) {
		struct stat before, after;
		int w, fd, r;

		w = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (w < 0 || write(w, "junk", 4) != 4)
			return 2;
		close(w);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &before) < 0)
			return 2;
		r = map_exec(fd, (size_t)before.st_size);
		if (r < 0) {
			printf("truncate: the appended file was refused: %s\n", strerror(-r));
			return 2;
		}
		if (truncate(path, size) < 0 || fstat(fd, &after) < 0)
			return 2;
		if (!same_ctime(&before, &after)) {
			close(fd);
			continue;
		}
		r = map_exec(fd, (size_t)size);
		close(fd);
		if (r == -EPERM) {
			printf("truncate: refused (attempt %d)\n", attempt + 1);
			return 0;
		}
		printf("truncate: mapped: %s\n", r ? strerror(-r) : "listed bytes mapped executable");
		return 1;
	}
	printf("truncate: no tick: the truncate never kept the ctime\n");
	return 3;
}

static int cmd_mapexec(const char *path, int odirect)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | (odirect ? O_DIRECT : 0)), r;

	if (fd < 0) {
		printf("open: %s\n", strerror(errno));
		return odirect && errno == EINVAL ? 3 : 2;
	}
	if (fstat(fd, &st) < 0)
		return 2;
	r = map_exec(fd, (size_t)st.st_size);
	if (r < 0)
		printf("mmap: %s (errno %d)\n", strerror(-r), -r);
	else
		printf("mmap: ok\n");
	return 0;
}

static int cmd_bigmemfd(void)
{
	struct timespec t0, t1;
	int fd = memfd_create("tcache-big", 0), r;

	if (fd < 0 || ftruncate(fd, (off_t)1 << 62) < 0) {
		printf("bigmemfd: setup: %s\n", strerror(errno));
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = map_exec(fd, 4096);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("bigmemfd: %s, %.3f s\n", r ? strerror(-r) : "mapped",
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}

static int cmd_mapmany(const char *dir, const char *n_s)
{
	long n, ok = 0;
	char path[4096], line[64];

	if (parse_long(n_s, &n) < 0)
		return 2;
	for (long i = 0; i < n; i++) {
		int len = snprintf(line, sizeof(line), "#!/bin/sh\n# %ld\n", i), fd;

		snprintf(path, sizeof(path), "%s/f%ld", dir, i);
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
		if (fd < 0 || write(fd, line, (size_t)len) != len)
			return 2;
		close(fd);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return 2;
		ok += map_exec(fd, (size_t)len) == 0;
		close(fd);
	}
	printf("mapmany: %ld of %ld mapped\n", ok, n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "memfd") == 0)
		return cmd_memfd(argv[2]);
	if (argc == 4 && strcmp(argv[1], "truncate") == 0)
		return cmd_truncate(argv[2], argv[3]);
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "mapexec") == 0)
		return cmd_mapexec(argv[2], argc == 4 && strcmp(argv[3], "odirect") == 0);
	if (argc == 2 && strcmp(argv[1], "bigmemfd") == 0)
		return cmd_bigmemfd();
	if (argc == 4 && strcmp(argv[1], "mapmany") == 0)
		return cmd_mapmany(argv[2], argv[3]);
	fprintf(stderr,
		"usage: tcache memfd LISTED | truncate PATH SIZE | mapexec PATH [odirect] | bigmemfd | "
		"mapmany DIR N\n");
	return 2;
}
