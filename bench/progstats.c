// SPDX-License-Identifier: GPL-2.0
/*
 * BPF program statistics by process: the prog_id of every descriptor in /proc/PID/fdinfo, a descriptor of
 * our own for each program, then its run_time_ns and run_cnt whenever a sample is taken. The counters only
 * move while BPF statistics are on (kernel.bpf_stats_enabled or a BPF_ENABLE_STATS descriptor, see
 * empty-loader).
 */
#include "progstats.h"
#include "util.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <string.h>

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

static bool known(const struct progstats *s, uint32_t pid, uint32_t id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->progs[i].pid == pid && s->progs[i].id == id)
			return true;
	return false;
}

static int add_prog(struct progstats *s, uint32_t pid, uint32_t id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd;

	if (s->n == PROGSTATS_MAX)
		return -E2BIG;
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	s->progs[s->n].fd = fd;
	s->progs[s->n].pid = pid;
	s->progs[s->n].id = id;
	snprintf(s->progs[s->n].name, sizeof(s->progs[s->n].name), "%s", info.name[0] ? info.name : "-");
	s->n++;
	return 0;
}

static int open_pid(uint32_t pid, struct progstats *s)
{
	char path[64];
	struct dirent *de;
	uint32_t id;
	DIR *dir;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%u/fdinfo", pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while (r == 0 && (de = readdir(dir)))
		if (de->d_name[0] != '.' && fdinfo_prog_id(dirfd(dir), de->d_name, &id) == 0 &&
		    !known(s, pid, id))
			r = add_prog(s, pid, id);
	closedir(dir);
	return r;
}

int progstats_open(const uint32_t *pids, size_t n_pids, struct progstats *s)
{
	s->n = 0;
	for (size_t i = 0; i < n_pids; i++) {
		int r = open_pid(pids[i], s);

		if (r < 0) {
			progstats_close(s);
			return r;
		}
	}
	return 0;
}

int progstats_sample(const struct progstats *s, struct progstats_sample *out)
{
	for (size_t i = 0; i < s->n; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(s->progs[i].fd, &info, &len) < 0)
			return -errno;
		out->run_time_ns[i] = info.run_time_ns;
		out->run_cnt[i] = info.run_cnt;
	}
	return 0;
}

void progstats_print_delta(const struct progstats *s, const struct progstats_sample *before,
			   const struct progstats_sample *after)
{
	for (size_t i = 0; i < s->n; i++) {
		uint64_t runs = after->run_cnt[i] - before->run_cnt[i];
		uint64_t ns = after->run_time_ns[i] - before->run_time_ns[i];

		printf("prog name=%s pid=%u runs=%llu ns_per_run=%.1f\n", s->progs[i].name, s->progs[i].pid,
		       (unsigned long long)runs, runs ? (double)ns / (double)runs : 0.0);
	}
}

void progstats_close(struct progstats *s)
{
	for (size_t i = 0; i < s->n; i++)
		close(s->progs[i].fd);
	s->n = 0;
}
