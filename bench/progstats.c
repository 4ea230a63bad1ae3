// SPDX-License-Identifier: GPL-2.0
/*
 * progstats PID...: the run-time statistics of every BPF program the given processes hold (through a
 * program or link descriptor), one line each:
 *
 *   pid=412 id=37 name=exec_hash run_time_ns=123456 run_cnt=789
 *
 * By process, not by name: other embargod instances (a test running at the same time) have programs of
 * the same names. The counters only move while BPF statistics are on (kernel.bpf_stats_enabled or a
 * BPF_ENABLE_STATS descriptor, see empty-loader).
 */
#include "util.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <string.h>

#define MAX_IDS 256

/* The "prog_id:" line of a descriptor's fdinfo (program and link descriptors have one). */
static int fdinfo_prog_id(int dirfd, const char *name, uint32_t *id)
{
	_cleanup_fclose_ FILE *f = NULL;
	char line[256];
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "prog_id:", 8) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		return parse_u32(line + 8 + strspn(line + 8, " \t"), id);
	}
	return -ENOENT;
}

static int print_prog(const char *pid, uint32_t id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	_cleanup_close_ int fd = bpf_prog_get_fd_by_id(id);

	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return -errno;
	printf("pid=%s id=%u name=%s run_time_ns=%llu run_cnt=%llu\n", pid, id,
	       info.name[0] ? info.name : "-", (unsigned long long)info.run_time_ns,
	       (unsigned long long)info.run_cnt);
	return 0;
}

static int show_pid(const char *pid)
{
	uint32_t ids[MAX_IDS], id;
	char path[64];
	size_t n = 0;
	struct dirent *de;
	DIR *dir;
	uint64_t check;
	int r = 0, k;

	if (parse_u64(pid, INT32_MAX, &check) < 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%s/fdinfo", pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		bool seen = false;

		if (de->d_name[0] == '.' || fdinfo_prog_id(dirfd(dir), de->d_name, &id) < 0)
			continue;
		for (size_t i = 0; i < n && !seen; i++)
			seen = ids[i] == id;
		if (seen || n == MAX_IDS)
			continue;
		ids[n++] = id;
		k = print_prog(pid, id);
		if (k < 0 && r == 0)
			r = k;
	}
	closedir(dir);
	return r;
}

int main(int argc, char **argv)
{
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "Usage: progstats PID...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		int r = show_pid(argv[i]);

		if (r < 0) {
			fprintf(stderr, "progstats: pid %s: %s\n", argv[i], strerror(-r));
			rc = 1;
		}
	}
	return rc;
}
