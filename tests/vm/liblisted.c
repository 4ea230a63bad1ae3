/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A shared library listed in the guest test policy. Its constructor creates $LIB_MARKER: when the library
 * is refused (dlopen, LD_PRELOAD), the constructor must not have run.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

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
	return 42;
}
