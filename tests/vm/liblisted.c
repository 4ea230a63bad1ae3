/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A shared library listed in the guest test policy. Its constructor creates $LIB_MARKER: when the library
 * is refused (dlopen, LD_PRELOAD), the constructor must not have run. Built a second time with
 * LIB_NAME "unlisted" (other bytes, not listed): the coverage matrix's twin (tests/vm/coverage.sh).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef LIB_NAME
#define LIB_NAME "listed"
#endif

const char lib_id[] = "embargo-vm-test-library:" LIB_NAME;

__attribute__((constructor)) static void liblisted_init(void)
{
	const char *marker = getenv("LIB_MARKER");

	if (marker && *marker) {
		int fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			if (write(fd, "liblisted\n", 10) < 0) {
				/* nothing to do: the test sees the marker is missing */
			}
			close(fd);
		}
	}
}

int liblisted_answer(void)
{
	return lib_id[0] ? 42 : 0;
}
