/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tstall SOCKET SECONDS: connects to embargod's control socket and sends nothing for SECONDS. The daemon
 * waits up to a second for the request on its event loop, so events queue meanwhile: a test can change a
 * file between the kernel's event and the daemon's classification of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: tstall SOCKET SECONDS\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("tstall: connect");
		return 1;
	}
	sleep((unsigned)atoi(argv[2]));
	close(fd);
	return 0;
}
