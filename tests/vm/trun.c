/* SPDX-License-Identifier: GPL-2.0 */
/*
 * trun [HOW] PATH [ARG...]: fork, execute PATH in the child, wait, and report how it went.
 *   execve failed:  prints "trun: execve: <strerror> (errno N)", exit 200
 *   child ran:      exit status of the child (128+signal if killed; the line "trun: signal N" is printed)
 * HOW, the way the child executes PATH (default: execve(PATH)):
 *   --execveat       open(PATH) and execveat(fd, "", AT_EMPTY_PATH)
 *   --memfd NAME     PATH's bytes copied into memfd_create(NAME), executed with fexecve
 *   --tmpfile LINK   PATH's bytes written to an O_TMPFILE in LINK's directory, linked there as LINK with
 *                    linkat, and LINK executed
 * The copies are made in the parent: their failure is "trun: <step>: <strerror> (errno N)", exit 2.
 * Every run has a fresh parent (this process), so the daemon's per-parent event de-duplication never
 * merges the events of two separate test steps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int failed(const char *step)
{
	int e = errno;

	printf("trun: %s: %s (errno %d)\n", step, strerror(e), e);
	return 2;
}

/* PATH's bytes into fd, from its start. */
static int copy_into(const char *path, int fd)
{
	struct stat st;
	off_t off = 0;
	int src = open(path, O_RDONLY | O_CLOEXEC);

	if (src < 0 || fstat(src, &st) < 0)
		return -errno;
	while (off < st.st_size)
		if (sendfile(fd, src, &off, (size_t)(st.st_size - off)) <= 0) {
			int e = errno ? errno : EIO;

			close(src);
			errno = e;
			return -e;
		}
	close(src);
	return fchmod(fd, 0755) < 0 ? -errno : 0;
}

/* The descriptor the child executes with AT_EMPTY_PATH (-1: execve(path)); 2 and a message on failure. */
static int prepare(const char *how, const char *arg, const char *path, int *exec_fd, const char **exec_path)
{
	char dir[PATH_MAX], proc[64];
	int fd;

	*exec_fd = -1;
	*exec_path = path;
	if (!how)
		return 0;
	if (strcmp(how, "--execveat") == 0) {
		*exec_fd = open(path, O_RDONLY | O_CLOEXEC);
		return *exec_fd < 0 ? failed("open") : 0;
	}
	if (strcmp(how, "--memfd") == 0) {
		/* Not MFD_CLOEXEC: fexecve of a close-on-exec memfd fails (ENOENT) for a script. */
		*exec_fd = memfd_create(arg, 0);
		if (*exec_fd < 0)
			return failed("memfd_create");
		if (copy_into(path, *exec_fd) < 0)
			return failed("copy into the memfd");
		return 0;
	}
	/* --tmpfile */
	snprintf(dir, sizeof(dir), "%s", arg);
	fd = open(dirname(dir), O_TMPFILE | O_RDWR | O_CLOEXEC, 0755);
	if (fd < 0)
		return failed("open O_TMPFILE");
	if (copy_into(path, fd) < 0)
		return failed("copy into the O_TMPFILE");
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, arg, AT_SYMLINK_FOLLOW) < 0)
		return failed("linkat");
	/* Executing a file open for writing fails with ETXTBSY. */
	close(fd);
	*exec_path = arg;
	return 0;
}

int main(int argc, char **argv)
{
	const char *how = NULL, *how_arg = NULL, *exec_path;
	int pfd[2], st, err = 0, exec_fd, r;
	ssize_t n;
	pid_t pid;

	if (argc > 1 && strcmp(argv[1], "--execveat") == 0) {
		how = argv[1];
		argv++;
		argc--;
	} else if (argc > 2 && (strcmp(argv[1], "--memfd") == 0 || strcmp(argv[1], "--tmpfile") == 0)) {
		how = argv[1];
		how_arg = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: trun [--execveat|--memfd NAME|--tmpfile LINK] PATH [ARG...]\n");
		return 2;
	}
	r = prepare(how, how_arg, argv[1], &exec_fd, &exec_path);
	if (r)
		return r;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		perror("trun: pipe2");
		return 2;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("trun: fork");
		return 2;
	}
	if (pid == 0) {
		close(pfd[0]);
		if (exec_fd >= 0)
			syscall(__NR_execveat, exec_fd, "", argv + 1, environ, AT_EMPTY_PATH);
		else
			execve(exec_path, argv + 1, environ);
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
		if (errno != EINTR) {
			perror("trun: waitpid");
			return 2;
		}
	if (n == (ssize_t)sizeof(err)) {
		printf("trun: execve: %s (errno %d)\n", strerror(err), err);
		return 200;
	}
	if (WIFSIGNALED(st)) {
		printf("trun: signal %d\n", WTERMSIG(st));
		return 128 + WTERMSIG(st);
	}
	return WEXITSTATUS(st);
}
