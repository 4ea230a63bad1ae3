// SPDX-License-Identifier: GPL-2.0
/*
 * fuse-hang DIR: mounts a FUSE file system on DIR that never answers (not even FUSE_INIT): every access
 * below DIR waits, like a hung network or FUSE server. Killing this process aborts the connection and
 * the waiting calls fail with ENOTCONN. For the host tests that prove a hung file system cannot stall
 * embargod's event loop; run it in a private mount namespace.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char opts[128];
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: fuse-hang DIR\n");
		return 2;
	}
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror("/dev/fuse");
		return 1;
	}
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", fd);
	if (mount("fuse-hang", argv[1], "fuse", MS_NOSUID | MS_NODEV, opts) < 0) {
		perror("mount");
		return 1;
	}
	puts("mounted");
	fflush(stdout);
	for (;;)
		pause();
}
