// SPDX-License-Identifier: GPL-2.0
/* What embargod keeps across restarts, under state_dir: for now the mode set with `embargoctl mode`. */
#include "daemon.h"
#include "state.h"
#include "util.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int state_path(const struct daemon *d, const char *name, char *buf, size_t size)
{
	if (!d->cfg->state_dir || (size_t)snprintf(buf, size, "%s/%s", d->cfg->state_dir, name) >= size)
		return -ENAMETOOLONG;
	return 0;
}

int state_load_mode(const struct daemon *d, uint8_t *mode)
{
	char path[4096], buf[32];
	ssize_t n;
	int r = state_path(d, "mode", path, sizeof(path));

	if (r < 0)
		return r;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	/* Anything but the two words is not ours to trust: the configured mode applies. */
	if (embargo_mode_from_string(buf, mode) < 0 || *mode == EMBARGO_MODE_INHERIT)
		return -EBADMSG;
	return 0;
}

/* Written whole or not at all: a crash leaves the old file or the new one, never half of one. */
int state_save_mode(const struct daemon *d, uint8_t mode)
{
	char path[4096], tmp[4200], text[32];
	int r = state_path(d, "mode", path, sizeof(path)), n;

	if (r < 0)
		return r;
	if (mkdir(d->cfg->state_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	n = snprintf(text, sizeof(text), "%s\n", embargo_mode_name(mode));
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	r = write_all(fd, text, (size_t)n);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		(void)unlink(tmp);
	return r;
}
