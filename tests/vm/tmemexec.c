/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tmemexec [--invert] FILE [ARG...]: copy FILE (every bit flipped back with --invert: trewrite's material,
 * which no scan finds) into a memfd and fexecve it, as runc and fileless loaders do. Replaces itself: the
 * caller sees the program's own exit status (137 if it was killed).
 *   the copy failed: "tmemexec: ...", exit 2; fexecve failed: "tmemexec: fexecve: <strerror>", exit 200
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	int inv = argc > 1 && strcmp(argv[1], "--invert") == 0, fd, c;
	FILE *in, *out;

	if (argc < 2 + inv) {
		fprintf(stderr, "usage: tmemexec [--invert] FILE [ARG...]\n");
		return 2;
	}
	in = fopen(argv[1 + inv], "rb");
	fd = memfd_create("tmemexec", 0);
	out = fd >= 0 ? fdopen(dup(fd), "wb") : NULL;
	if (!in || !out) {
		fprintf(stderr, "tmemexec: %s\n", strerror(errno));
		return 2;
	}
	while ((c = getc(in)) != EOF)
		putc(inv ? ~c & 0xff : c, out);
	if (fclose(out) != 0 || ferror(in)) {
		fprintf(stderr, "tmemexec: copy failed\n");
		return 2;
	}
	fexecve(fd, argv + 1 + inv, environ);
	printf("tmemexec: fexecve: %s\n", strerror(errno));
	return 200;
}
