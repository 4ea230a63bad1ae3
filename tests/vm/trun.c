/* SPDX-License-Identifier: GPL-2.0 */
/*
 * trun PATH [ARG...]: fork, execve(PATH, [PATH, ARG...], environ) in the child, wait, and report how it went.
 *   execve failed:  prints "trun: execve: <strerror> (errno N)", exit 200
 *   child ran:      exit status of the child (128+signal if killed; the line "trun: signal N" is printed)
 * Every run has a fresh parent (this process), so the daemon's per-parent event de-duplication never
 * merges the events of two separate test steps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	int pfd[2], st, err = 0;
	ssize_t n;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: trun PATH [ARG...]\n");
		return 2;
	}
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
		execve(argv[1], argv + 1, environ);
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
