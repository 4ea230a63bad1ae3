// SPDX-License-Identifier: GPL-2.0
#include "cgroup.h"
#include "util.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

/* Where cgroup2 is mounted: /sys/fs/cgroup on a unified system, /sys/fs/cgroup/unified on a hybrid one. */
static char cgroup2_root[PATH_MAX];

/* mountinfo escapes blanks and backslashes as \ooo. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

static void find_cgroup2(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[2 * PATH_MAX];

	while (f && fgets(line, sizeof(line), f)) {
		/* id parent maj:min root mountpoint options... - fstype source superoptions */
		char *save = NULL, *mnt = NULL, *sep = strstr(line, " - ");
		char *tok = strtok_r(line, " ", &save);

		for (int i = 1; tok && i < 5; i++)
			tok = strtok_r(NULL, " ", &save);
		mnt = tok;
		if (!mnt || !sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		unescape(mnt);
		snprintf(cgroup2_root, sizeof(cgroup2_root), "%s", mnt);
		return;
	}
}

int embargo_cgroup_id(pid_t pid, uint64_t *id)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct {
		struct file_handle h;
		uint64_t id;
	} fh = { .h.handle_bytes = sizeof(uint64_t) };
	char p[64], text[PATH_MAX + 64], path[2 * PATH_MAX + 8], *line, *save = NULL;
	_cleanup_close_ int fd = -1;
	ssize_t n;
	int mnt;

	pthread_once(&once, find_cgroup2);
	if (!cgroup2_root[0])
		return -ENOENT;
	snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH ? -ENOENT : -errno;
	n = read_all(fd, text, sizeof(text) - 1);
	if (n < 0)
		return (int)n;
	text[n] = '\0';
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "0::/", 4) == 0)
			break;
	if (!line)
		return -ENOENT;
	snprintf(path, sizeof(path), "%s%s", cgroup2_root, line + 3);
	if (name_to_handle_at(AT_FDCWD, path, &fh.h, &mnt, 0) < 0)
		return -errno;
	if (fh.h.handle_bytes != sizeof(uint64_t))
		return -EPROTO;
	memcpy(id, fh.h.f_handle, sizeof(*id));
	return 0;
}
