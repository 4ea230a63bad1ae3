/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest test program. Built several times with a different PROG_NAME so that every build has its own
 * SHA-256: "listed" (in the test policy), "unlisted" (not), "audited" (listed under an audit-mode vendor).
 * When it runs it prints "<name> ran" and, if $MARKER is set, creates that file: a denied program must
 * leave no marker behind.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef PROG_NAME
#define PROG_NAME "prog"
#endif

/* Makes the builds differ in their bytes, not only in the string table. */
const char prog_id[] = "embargo-vm-test-program:" PROG_NAME;

int main(void)
{
	const char *marker = getenv("MARKER");

	printf("%s ran\n", prog_id + strlen("embargo-vm-test-program:"));
	fflush(stdout);
	if (marker && *marker) {
		int fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			perror(marker);
			return 2;
		}
		if (write(fd, PROG_NAME "\n", strlen(PROG_NAME) + 1) < 0)
			perror("write");
		close(fd);
	}
	return 0;
}
