// SPDX-License-Identifier: GPL-2.0
/*
 * What embargod keeps across restarts, under state_dir: the mode set with `embargoctl mode`, and a copy
 * of the last policy that loaded, to start on when the configured one does not.
 */
#include "daemon.h"
#include "state.h"
#include "util.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
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

/* ---- the last good policy ------------------------------------------------------------------------- */

/*
 * state_dir/policy.last-good holds a copy of every file the policy in force read (policy files, lists,
 * trust anchors) under root/ at its absolute path, and in `path` the policy's own path. It is written
 * beside as policy.new, loaded back to check it is the same policy, then exchanged with the old copy
 * in one rename: a crash leaves the old copy or the new one.
 */
#define LAST_GOOD "policy.last-good"
#define LAST_GOOD_NEW "policy.new"

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -errno : 0;
}

static int rm_tree(const char *path)
{
	int r = nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);

	return r < 0 && errno == ENOENT ? 0 : r;
}

/* mkdir -p of the directories of path (not its last component), mode 0700. */
static int mkdir_parents(char *path)
{
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		int r = mkdir(path, 0700) < 0 && errno != EEXIST ? -errno : 0;
		*s = '/';
		if (r < 0)
			return r;
	}
	return 0;
}

static int copy_file(const char *from, const char *to)
{
	char why[PATH_MAX + 128], buf[65536];
	struct stat st;
	_cleanup_close_ int in = open_trusted(from, &st, why, sizeof(why));
	_cleanup_close_ int out = -1;
	ssize_t n;
	int r;

	if (in < 0)
		return in;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0)
		return errno == EEXIST ? 0 : -errno; /* read twice: copied once */
	while ((n = read_all(in, buf, sizeof(buf))) > 0) {
		r = write_all(out, buf, (size_t)n);
		if (r < 0)
			return r;
	}
	if (n < 0)
		return (int)n;
	return fsync(out) < 0 ? -errno : 0;
}

static int copy_into(const char *root, const char *path)
{
	_cleanup_free_ char *to = NULL;

	if (path[0] != '/')
		return -EINVAL;
	if (asprintf(&to, "%s%s", root, path) < 0)
		return -ENOMEM;
	int r = mkdir_parents(to);
	return r < 0 ? r : copy_file(path, to);
}

static bool same_policy(const struct embargo_policy *a, const struct embargo_policy *b)
{
	return a->n_vendors == b->n_vendors && a->n_rules == b->n_rules &&
	       a->n_ident_rules == b->n_ident_rules && a->n_trust_anchors == b->n_trust_anchors;
}

int state_save_policy(const struct daemon *d, const struct embargo_policy *p, char *why, size_t whysize)
{
	char dir[4096], last[4096], root[4200], path_file[4200];
	struct embargo_policy_error perr = {};
	struct embargo_policy *check = NULL;
	char msg[5000];
	int r;

	if (state_path(d, LAST_GOOD_NEW, dir, sizeof(dir)) < 0 ||
	    state_path(d, LAST_GOOD, last, sizeof(last)) < 0)
		return -ENAMETOOLONG;
	snprintf(root, sizeof(root), "%s/root", dir);
	snprintf(path_file, sizeof(path_file), "%s/path", dir);
	if (p->path[0] != '/') {
		snprintf(why, whysize, "the policy path %s is not absolute", p->path);
		return -EINVAL;
	}
	if (mkdir(d->cfg->state_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	r = rm_tree(dir);
	if (r == 0 && (mkdir(dir, 0700) < 0 || mkdir(root, 0700) < 0))
		r = -errno;
	for (size_t i = 0; r == 0 && i < p->n_sources; i++) {
		r = copy_into(root, p->sources[i]);
		if (r < 0)
			snprintf(why, whysize, "cannot copy %s: %s", p->sources[i], strerror(-r));
	}
	for (size_t i = 0; r == 0 && i < p->n_trust_anchors; i++) {
		r = copy_into(root, p->trust_anchors[i].path);
		if (r < 0)
			snprintf(why, whysize, "cannot copy %s: %s", p->trust_anchors[i].path, strerror(-r));
	}
	if (r == 0) {
		_cleanup_close_ int fd =
			open(path_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

		r = fd < 0 ? -errno : write_all(fd, p->path, strlen(p->path));
		if (r == 0 && fsync(fd) < 0)
			r = -errno;
		if (r < 0)
			snprintf(why, whysize, "cannot write %s: %s", path_file, strerror(-r));
	}
	/* The copy must be the policy in force: files that changed since it was read are not. */
	if (r == 0) {
		r = embargo_policy_load_rooted(root, p->path, &check, &perr);
		if (r < 0)
			snprintf(why, whysize, "the copy does not load: %s",
				 embargo_policy_error_format(&perr, msg, sizeof(msg)));
		else if (!same_policy(check, p)) {
			r = -ESTALE;
			snprintf(why, whysize, "the files changed while they were copied");
		}
		embargo_policy_free(check);
	}
	if (r == 0) {
		if (renameat2(AT_FDCWD, dir, AT_FDCWD, last, RENAME_EXCHANGE) < 0) {
			r = errno == ENOENT && rename(dir, last) == 0 ? 0 : -errno;
			if (r < 0)
				snprintf(why, whysize, "cannot rename %s to %s: %s", dir, last, strerror(-r));
		}
	}
	(void)rm_tree(dir);
	if (r < 0 && !why[0])
		snprintf(why, whysize, "%s", strerror(-r));
	return r;
}

int state_load_policy(const struct daemon *d, struct embargo_policy **ret, time_t *saved, char *why,
		      size_t whysize)
{
	char last[4096], root[4200], path_file[4200], path[4096], msg[5000];
	struct embargo_policy_error perr = {};
	struct stat st;
	ssize_t n;
	int r;

	if (state_path(d, LAST_GOOD, last, sizeof(last)) < 0)
		return -ENAMETOOLONG;
	snprintf(root, sizeof(root), "%s/root", last);
	snprintf(path_file, sizeof(path_file), "%s/path", last);
	_cleanup_close_ int fd = open_trusted(path_file, &st, msg, sizeof(msg));
	if (fd < 0) {
		snprintf(why, whysize, "%s: %s", path_file, msg[0] ? msg : strerror(-fd));
		return fd;
	}
	n = read_all(fd, path, sizeof(path) - 1);
	if (n <= 0) {
		snprintf(why, whysize, "%s: %s", path_file, n < 0 ? strerror((int)-n) : "empty");
		return n < 0 ? (int)n : -EBADMSG;
	}
	path[n] = '\0';
	r = embargo_policy_load_rooted(root, path, ret, &perr);
	if (r < 0) {
		snprintf(why, whysize, "%s", embargo_policy_error_format(&perr, msg, sizeof(msg)));
		return r;
	}
	*saved = st.st_mtime;
	return 0;
}
