/* SPDX-License-Identifier: GPL-2.0 */
/*
 * thold: the ways a fresh file gets executed that the fanotify hold must see (tests/vm/guest.sh, hold-*).
 *   thold execveat PATH          open PATH, then execveat(fd, "", AT_EMPTY_PATH) in a child
 *   thold tmpfile DIR SRC DEST   O_TMPFILE in DIR with SRC's bytes, mode 0755, linkat() to DEST
 *   thold tmpexec DIR SRC        O_TMPFILE in DIR with SRC's bytes, never linked, execveat() in a child
 * Like trun: an exec that fails prints "trun: execve: <strerror> (errno N)" and exits 200; otherwise
 * the child's exit status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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

int main(int argc, char **argv)
{
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
