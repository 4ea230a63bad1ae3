/* SPDX-License-Identifier: GPL-2.0 */
/*
 * thold: the ways a fresh file gets executed that the fanotify hold must see (tests/vm/guest.sh, hold-*).
 *   thold execveat PATH          open PATH, then execveat(fd, "", AT_EMPTY_PATH) in a child
 *   thold tmpfile DIR SRC DEST   O_TMPFILE in DIR with SRC's bytes, mode 0755, linkat() to DEST
 *   thold tmpexec DIR SRC        O_TMPFILE in DIR with SRC's bytes, never linked, execveat() in a child
 *   thold bench-cc N TOOL SRC DIR   N times: run TOOL 4 times (the compiler driver, cc1, as, ld), write a
 *                                fresh DIR/a.out (SRC's bytes and the iteration: a new digest), run it;
 *                                prints "cc_ns_median=... cc_ns_min=... n=N"
 *   thold bench-install N SRC DIR   an install of N files: each written as DIR/fI.tmp and renamed into
 *                                place (what dpkg does), then 3 of them run; prints "install_ns=..."
 * Like trun: an exec that fails prints "trun: execve: <strerror> (errno N)" and exits 200; otherwise
 * the child's exit status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int copy_into(int out, const char *src)
{
	char buf[65536];
	ssize_t n;
	int in = open(src, O_RDONLY | O_CLOEXEC);

	if (in < 0)
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			close(in);
			return -1;
		}
	close(in);
	return n < 0 ? -1 : fchmod(out, 0755);
}

/* The O_TMPFILE's writer must be gone before an exec (ETXTBSY): reopen it read-only through /proc. */
static int reopen_ro(int fd)
{
	char p[64];
	int ro;

	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	ro = open(p, O_RDONLY | O_CLOEXEC);
	close(fd);
	return ro;
}

static int run_fd(int fd, const char *name)
{
	char *argv[] = { (char *)name, NULL };
	int pfd[2], st, err = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return 2;
	pid = fork();
	if (pid == 0) {
		syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
		err = errno;
		if (write(pfd[1], &err, sizeof(err)) < 0)
			_exit(127);
		_exit(127);
	}
	close(pfd[1]);
	if (read(pfd[0], &err, sizeof(err)) == sizeof(err)) {
		waitpid(pid, &st, 0);
		printf("trun: execve: %s (errno %d)\n", strerror(err), err);
		return 200;
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Spawn path quietly and wait: 0 when it exited 0. */
static int spawn_wait(const char *path)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { (char *)path, NULL };
	pid_t pid;
	int st, r;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	r = posix_spawn(&pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* SRC's bytes and a tag into path, replacing what was there by a new inode. */
static int write_fresh(const char *path, const char *src, uint64_t tag, bool by_rename)
{
	char tmp[4200];
	const char *p = path;
	int fd;

	if (by_rename) {
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		p = tmp;
	} else {
		unlink(path);
	}
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (fd < 0 || copy_into(fd, src) < 0 || write(fd, &tag, sizeof(tag)) != sizeof(tag)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return by_rename ? rename(tmp, path) : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int bench_cc(unsigned long n, const char *tool, const char *src, const char *dir)
{
	uint64_t *t = calloc(n, sizeof(*t)), salt = now_ns();
	char out[4096];

	if (!t || n == 0)
		return 2;
	snprintf(out, sizeof(out), "%s/a.out", dir);
	for (unsigned long i = 0; i < n; i++) {
		uint64_t t0 = now_ns();

		for (int k = 0; k < 4; k++)
			if (spawn_wait(tool) < 0)
				return fprintf(stderr, "thold: %s failed\n", tool), 1;
		if (write_fresh(out, src, salt + i, false) < 0 || spawn_wait(out) < 0)
			return fprintf(stderr, "thold: a.out (iteration %lu) failed\n", i), 1;
		t[i] = now_ns() - t0;
	}
	qsort(t, n, sizeof(*t), cmp_u64);
	printf("cc_ns_median=%llu cc_ns_min=%llu n=%lu\n", (unsigned long long)t[n / 2],
	       (unsigned long long)t[0], n);
	free(t);
	return 0;
}

static int bench_install(unsigned long n, const char *src, const char *dir)
{
	uint64_t t0 = now_ns(), salt = t0;
	char path[4096];

	for (unsigned long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%lu", dir, i);
		if (write_fresh(path, src, salt + i, true) < 0)
			return perror(path), 1;
	}
	for (unsigned long i = 0; i < 3 && i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%lu", dir, i);
		if (spawn_wait(path) < 0)
			return fprintf(stderr, "thold: %s failed\n", path), 1;
	}
	printf("install_ns=%llu n=%lu\n", (unsigned long long)(now_ns() - t0), n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "bench-cc") == 0)
		return bench_cc(strtoul(argv[2], NULL, 10), argv[3], argv[4], argv[5]);
	if (argc == 5 && strcmp(argv[1], "bench-install") == 0)
		return bench_install(strtoul(argv[2], NULL, 10), argv[3], argv[4]);

	int fd;

	if (argc == 3 && strcmp(argv[1], "execveat") == 0) {
		fd = open(argv[2], O_RDONLY | O_CLOEXEC);
		return fd < 0 ? (perror("thold: open"), 2) : run_fd(fd, argv[2]);
	}
	if ((argc == 5 && strcmp(argv[1], "tmpfile") == 0) ||
	    (argc == 4 && strcmp(argv[1], "tmpexec") == 0)) {
		char p[64];

		fd = open(argv[2], O_TMPFILE | O_RDWR | O_CLOEXEC, 0700);
		if (fd < 0 || copy_into(fd, argv[3]) < 0) {
			perror("thold: O_TMPFILE");
			return 2;
		}
		if (argc == 4) {
			fd = reopen_ro(fd);
			return fd < 0 ? 2 : run_fd(fd, argv[3]);
		}
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, p, AT_FDCWD, argv[4], AT_SYMLINK_FOLLOW) < 0) {
			perror("thold: linkat");
			return 2;
		}
		return 0;
	}
	fprintf(stderr, "usage: thold execveat PATH | tmpfile DIR SRC DEST | tmpexec DIR SRC\n");
	return 2;
}
