// SPDX-License-Identifier: GPL-2.0
/* Interpreter patterns to files and digests: globs, symlinks, one entry per inode, missing names. */
#include "config.h"
#include "interp.h"
#include "sha256.h"
#include "test.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);

	REQUIRE(fd >= 0);
	REQUIRE(write_all(fd, text, strlen(text)) == 0);
	close(fd);
}

TEST(interp_resolve_globs_links_and_missing)
{
	char d[512], a[600], b[600], link[600], glob[600], none[600], dir[600];
	struct embargo_interp_set set = { 0 };
	uint8_t want[SHA256_LEN];
	char *bad = NULL;

	snprintf(d, sizeof(d), "%s/interp", test_tmpdir());
	REQUIRE(mkdir(d, 0755) == 0);
	snprintf(a, sizeof(a), "%s/python3.11", d);
	snprintf(b, sizeof(b), "%s/python3.12", d);
	snprintf(link, sizeof(link), "%s/sh", d);
	snprintf(glob, sizeof(glob), "%s/python3*", d);
	snprintf(none, sizeof(none), "%s/ruby", d);
	snprintf(dir, sizeof(dir), "%s/python3.d", d);
	put(a, "interpreter a");
	put(b, "interpreter b");
	REQUIRE(symlink(a, link) == 0);
	REQUIRE(mkdir(dir, 0755) == 0);

	/* The link and the glob name a twice: one entry; the directory the glob matches is no file. */
	char *pats[] = { link, glob, none };

	REQUIRE(embargo_interp_resolve(pats, 3, &set, &bad) == 0);
	CHECK(bad == NULL);
	REQUIRE(set.n == 2);
	CHECK_EQ_INT(set.n_missing, 1);
	CHECK_EQ_STR(set.v[0].path, a);
	REQUIRE(embargo_sha256_path(a, want, NULL) == 0);
	CHECK(memcmp(set.v[0].sha256, want, SHA256_LEN) == 0);
	CHECK(strcmp(set.v[1].path, b) == 0);
	embargo_interp_set_free(&set);
	CHECK(set.v == NULL && set.n == 0);
}

TEST(interp_defaults_are_absolute)
{
	size_t n = 0;

	for (; embargo_interp_defaults[n]; n++)
		CHECK(embargo_interp_defaults[n][0] == '/');
	CHECK(n > 8);
}
