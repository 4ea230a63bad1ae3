// SPDX-License-Identifier: GPL-2.0
/* Interpreter patterns to files, inodes and digests (see interp.h). */
#include "interp.h"
#include "util.h"

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void embargo_interp_set_free(struct embargo_interp_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->v[i].path);
	free(set->v);
	*set = (struct embargo_interp_set){ 0 };
}

static bool known(const struct embargo_interp_set *set, const struct stat *st)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].dev == st->st_dev && set->v[i].ino == st->st_ino)
			return true;
	return false;
}

/* One file a pattern matched: 1 it is an interpreter (added now or before), 0 not a regular file, -errno. */
static int add_file(struct embargo_interp_set *set, const char *name, char **bad)
{
	_cleanup_free_ char *real = realpath(name, NULL);
	_cleanup_close_ int fd = -EBADF;
	struct embargo_interp *e, *nv;
	struct stat st;
	int r;

	if (!real)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	fd = open_regular(real, &st);
	if (fd == -EISDIR || fd == -EINVAL || fd == -ENOENT)
		return 0;
	if (fd < 0) {
		*bad = TAKE_PTR(real);
		return fd;
	}
	if (known(set, &st))
		return 1;
	nv = reallocarray(set->v, set->n + 1, sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	set->v = nv;
	e = &set->v[set->n];
	*e = (struct embargo_interp){
		.dev = st.st_dev,
		.ino = st.st_ino,
		.ctime_sec = st.st_ctim.tv_sec,
		.ctime_nsec = (uint32_t)st.st_ctim.tv_nsec,
	};
	r = embargo_sha256_fd(fd, e->sha256, NULL);
	if (r < 0) {
		*bad = TAKE_PTR(real);
		return r;
	}
	e->path = TAKE_PTR(real);
	set->n++;
	return 1;
}

int embargo_interp_resolve(char *const *patterns, size_t n, struct embargo_interp_set *set, char **bad)
{
	struct embargo_interp_set s = { 0 };
	int r = 0;

	*bad = NULL;
	for (size_t i = 0; i < n && r >= 0; i++) {
		glob_t g = { 0 };
		int found = 0;

		r = glob(patterns[i], GLOB_NOSORT, NULL, &g);
		if (r == GLOB_NOMATCH) {
			s.n_missing++;
			r = 0;
			continue;
		}
		if (r != 0) {
			globfree(&g);
			r = r == GLOB_NOSPACE ? -ENOMEM : -EIO;
			break;
		}
		for (size_t j = 0; j < g.gl_pathc && r >= 0; j++) {
			r = add_file(&s, g.gl_pathv[j], bad);
			found += r > 0;
		}
		globfree(&g);
		/* A glob names a file that is there; a plain path may name one that is not. */
		if (r >= 0 && found == 0 && !strpbrk(patterns[i], "*?["))
			s.n_missing++;
	}
	if (r < 0) {
		embargo_interp_set_free(&s);
		return r;
	}
	*set = s;
	return 0;
}
