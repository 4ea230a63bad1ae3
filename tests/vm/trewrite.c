// SPDX-License-Identifier: GPL-2.0
/*
 * trewrite FILE INVERTED write|mmap: a cached clean verdict must not outlive a rewrite made within one
 * timestamp tick. INVERTED holds the listed bytes with every bit flipped (no scan finds it, so reading it
 * is never refused). FILE (created, executable, of the listed size; same inode throughout) gets zeros, is
 * exec'd (the enforcer checks and clears it; the kernel then fails it with ENOEXEC, in this very process, so
 * the attempt is quick), and is then rewritten in place with LISTED's bytes, by write(2) or through a shared
 * mapping. Only when the rewrite left FILE's ctime as it was (the same tick; kernels with multigrain time
 * stamps never do) is FILE run again with the listed bytes. Prints "ran" (a stale verdict let the listed
 * bytes run), "refused" (exec failed with EPERM), or why it could not try; exit 3: no rewrite within one tick
 * in all attempts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int put(const char *path, const char *b, size_t len, bool mapped)
{
	int fd = open(path, (mapped ? O_RDWR : O_WRONLY) | O_CLOEXEC);
	char *m;

	if (fd < 0)
		return -errno;
	if (!mapped) {
		if (pwrite(fd, b, len, 0) != (ssize_t)len)
			return -EIO;
		return close(fd);
	}
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -errno;
	memcpy(m, b, len);
	return munmap(m, len);
}

/* The exit status of FILE run in a child; 126 when its exec failed with EPERM. */
static int run(const char *path)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		alarm(30);
		execl(path, path, (char *)NULL);
		_exit(errno == EPERM ? 126 : 127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* IN with every bit flipped, to OUT. */
static int invert(const char *in, const char *out)
{
	FILE *i = fopen(in, "rb"), *o = fopen(out, "wb");
	int c;

	if (!i || !o)
		return 2;
	while ((c = getc(i)) != EOF)
		putc(~c & 0xff, o);
	return fclose(o) == 0 && !ferror(i) ? 0 : 2;
}

int main(int argc, char **argv)
{
	bool mapped;
	struct stat a, b, ls;
	char *listed, *zeros;
	int fd;

	if (argc == 4 && strcmp(argv[1], "--invert") == 0)
		return invert(argv[2], argv[3]);
	if (argc != 4)
		return 2;
	alarm(200);
	mapped = strcmp(argv[3], "mmap") == 0;
	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &ls) < 0 || ls.st_size == 0)
		return 2;
	listed = malloc((size_t)ls.st_size);
	zeros = calloc(1, (size_t)ls.st_size);
	if (!listed || !zeros || read(fd, listed, (size_t)ls.st_size) != ls.st_size)
		return 2;
	close(fd);
	for (off_t i = 0; i < ls.st_size; i++)
		listed[i] = (char)~listed[i];
	fd = open(argv[1], O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
	if (fd < 0 || ftruncate(fd, ls.st_size) < 0 || fchmod(fd, 0755) < 0)
		return 2;
	close(fd);
	for (int i = 0; i < 2000; i++) {
		int r = put(argv[1], zeros, (size_t)ls.st_size, mapped);

		if (r < 0) {
			printf("cannot write zeros: %s\n", strerror(-r));
			return 2;
		}
		if (stat(argv[1], &a) < 0)
			return 2;
		execl(argv[1], argv[1], (char *)NULL);
		if (errno != ENOEXEC) {
			printf("exec of the zeros failed with %s, not ENOEXEC\n", strerror(errno));
			return 2;
		}
		if (put(argv[1], listed, (size_t)ls.st_size, mapped) < 0 || stat(argv[1], &b) < 0)
			return 2;
		if (a.st_ctim.tv_sec != b.st_ctim.tv_sec || a.st_ctim.tv_nsec != b.st_ctim.tv_nsec)
			continue; /* the tick turned between the two writes: not the case to test */
		r = run(argv[1]);
		printf("%s after %d tries\n", r == 0 ? "ran" : r == 126 ? "refused" : "failed", i + 1);
		return r == 0 || r == 126 ? 0 : 2;
	}
	puts("no rewrite within one tick");
	return 3;
}
