/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tmarkwait DAEMON_PID DIR [TIMEOUT_MS]: how long after a file system appears at DIR the daemon's fanotify
 * group has a superblock mark on it, as the kernel shows it (/proc/PID/fdinfo: "sdev:"), not as the daemon
 * says. Start it before the mount; DIR may be /proc/PID/root/... of a process in another mount namespace.
 *   prints "marked N.N ms after the mount", exit 0; "mounted, not marked within T ms", exit 1;
 *   "nothing mounted at DIR within T ms", exit 2
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A superblock mark of a fanotify group of pid on the device (kernel encoding, as fdinfo prints it). */
static int marked(const char *pid, unsigned long kdev)
{
	char dir[64], path[320], line[512], want[64];
	struct dirent *de;
	DIR *d;
	int found = 0;

	snprintf(dir, sizeof(dir), "/proc/%s/fdinfo", pid);
	snprintf(want, sizeof(want), "sdev:%lx ", kdev);
	d = opendir(dir);
	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "re");
		while (f && !found && fgets(line, sizeof(line), f))
			found = strncmp(line, "fanotify ", 9) == 0 && strstr(line, want) != NULL;
		if (f)
			fclose(f);
	}
	closedir(d);
	return found;
}

int main(int argc, char **argv)
{
	char parent[4200];
	double t0 = 0, start, limit;
	struct stat st, pst;

	if (argc < 3) {
		fprintf(stderr, "usage: tmarkwait DAEMON_PID DIR [TIMEOUT_MS]\n");
		return 3;
	}
	limit = argc > 3 ? strtod(argv[3], NULL) : 5000;
	snprintf(parent, sizeof(parent), "%s/..", argv[2]);
	start = now_ms();
	while (now_ms() - start < limit) {
		if (stat(argv[2], &st) == 0 && stat(parent, &pst) == 0 && st.st_dev != pst.st_dev) {
			unsigned long kdev = ((unsigned long)major(st.st_dev) << 20) | minor(st.st_dev);

			if (!t0)
				t0 = now_ms();
			if (marked(argv[1], kdev)) {
				printf("marked %.1f ms after the mount\n", now_ms() - t0);
				return 0;
			}
		}
		usleep(200);
	}
	if (t0) {
		printf("mounted, not marked within %.0f ms\n", now_ms() - t0);
		return 1;
	}
	printf("nothing mounted at %s within %.0f ms\n", argv[2], limit);
	return 2;
}
