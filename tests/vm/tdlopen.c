/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tdlopen PATH: dlopen(PATH, RTLD_NOW) and report.
 *   success: prints "dlopen: ok", exit 0
 *   failure: prints "dlopen: <dlerror()>", exit 1 (glibc ends the message with strerror of the failure,
 *            e.g. "failed to map segment from shared object: Operation not permitted")
 */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	void *h;

	if (argc != 2) {
		fprintf(stderr, "usage: tdlopen PATH\n");
		return 2;
	}
	h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		printf("dlopen: %s\n", e ? e : "(no error text)");
		return 1;
	}
	printf("dlopen: ok\n");
	dlclose(h);
	return 0;
}
