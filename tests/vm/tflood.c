/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tflood PATH N: calls execve(PATH) N times from this one process, as fast as it can. A refused execve
 * returns (EPERM), so no fork is needed and every call is a separate match by the same parent, which
 * the daemon must count exactly. Prints
 *   "tflood: N calls, E EPERM, O other errors, S succeeded, T s"
 * and exits 0 when every call failed with EPERM, 1 otherwise. If one call succeeds the program is
 * replaced and the count is never printed: the caller sees the listed program's output instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned long n, eperm = 0, other = 0;
	int first_other = 0;
	struct timespec t0, t1;
	char *end;

	if (argc != 3) {
		fprintf(stderr, "usage: tflood PATH N\n");
		return 2;
	}
	errno = 0;
	n = strtoul(argv[2], &end, 10);
	if (errno || *end || end == argv[2] || n == 0) {
		fprintf(stderr, "tflood: bad count '%s'\n", argv[2]);
		return 2;
	}
	char *args[] = { argv[1], NULL }, *env[] = { NULL };

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned long i = 0; i < n; i++) {
		execve(argv[1], args, env);
		if (errno == EPERM) {
			eperm++;
		} else {
			if (!other)
				first_other = errno;
			other++;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("tflood: %lu calls, %lu EPERM, %lu other errors, 0 succeeded, %.1f s\n", n, eperm, other,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (other)
		printf("tflood: first other error: %s (errno %d)\n", strerror(first_other), first_other);
	return eperm == n ? 0 : 1;
}
