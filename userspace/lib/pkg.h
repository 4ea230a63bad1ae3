/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which installed packages own a file: dpkg (its database read directly, indexed once) and rpm (the rpm
 * program, when it is installed). The packages are struct embargo_package of identity.h.
 */
#ifndef EMBARGO_PKG_H
#define EMBARGO_PKG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "identity.h"
#include "sha256.h"

#define EMBARGO_DPKG_ADMINDIR "/var/lib/dpkg"
#define EMBARGO_RPM_TIMEOUT_MS 5000

/* Every path of every <admindir>/info/<package>.list, with Version, Maintainer and Origin from
 * <admindir>/status. */
struct embargo_pkg_db;

/*
 * Reads the dpkg database of admindir (NULL: /var/lib/dpkg) into memory: 0 and *ret, or -errno (-ENOENT
 * when there is no dpkg database). The index does not follow later changes: reopen it after package
 * installs (the modification time of <admindir>/info tells).
 */
int embargo_pkg_db_open(const char *admindir, struct embargo_pkg_db **ret);
void embargo_pkg_db_free(struct embargo_pkg_db *db);
static inline void embargo_pkg_db_freep(struct embargo_pkg_db **db)
{
	embargo_pkg_db_free(*db);
}
/* Number of paths indexed (a path listed by two packages counts twice). */
size_t embargo_pkg_db_size(const struct embargo_pkg_db *db);

/*
 * The packages of db listing path (both names under a merged /usr), as indexes for
 * embargo_pkg_db_package(): up to max of them into idx; returns how many there are (may exceed max).
 */
size_t embargo_pkg_db_find(const struct embargo_pkg_db *db, const char *path, uint32_t *idx, size_t max);
/* The number of packages in db, and package i (its strings are db's: not to be freed). 0 or -ENOENT. */
size_t embargo_pkg_db_n_packages(const struct embargo_pkg_db *db);
int embargo_pkg_db_package(const struct embargo_pkg_db *db, size_t i, struct embargo_package *out);

/*
 * Appends to (*pkgs, *n) the packages of db listing path. With a merged /usr, a file can be listed as
 * /bin/x and found as /usr/bin/x (or the other way round): both are looked up. 0 or -ENOMEM.
 */
int embargo_pkg_db_lookup(const struct embargo_pkg_db *db, const char *path, struct embargo_package **pkgs,
			  size_t *n);

/*
 * Appends to (*pkgs, *n) the rpm packages owning path, from `rpm -qf` (rpm: the program, NULL to find
 * "rpm" in PATH), killed after timeout_ms (0: EMBARGO_RPM_TIMEOUT_MS). 0 (also when no package owns
 * it), -ENOENT when rpm is not installed, -ETIMEDOUT, -EINVAL for a relative path, -errno.
 */
int embargo_pkg_rpm_lookup(const char *path, const char *rpm, unsigned timeout_ms,
			   struct embargo_package **pkgs, size_t *n);
/* Whether the rpm program (as embargo_pkg_rpm_lookup() finds it) is installed. */
bool embargo_pkg_rpm_present(const char *rpm);

/*
 * Appends to (*pkgs, *n) the dpkg packages (admindir: NULL for /var/lib/dpkg) one of whose files has this
 * MD5 in <admindir>/info/<package>.md5sums: who ships this content, wherever the copy is. Reads every
 * md5sums file (tens of milliseconds): for rare questions. 0, -ENOENT without a dpkg database, -errno.
 */
int embargo_dpkg_md5_owners(const char *admindir, const uint8_t md5[MD5_LEN], struct embargo_package **pkgs,
			    size_t *n);

struct embargo_pkg_opts {
	const char *dpkg_admindir; /* NULL: /var/lib/dpkg */
	struct embargo_pkg_db *db; /* an index to reuse; NULL: one is read for this call */
	const char *rpm;	   /* NULL: "rpm" from PATH */
	unsigned rpm_timeout_ms;   /* 0: EMBARGO_RPM_TIMEOUT_MS */
	bool no_dpkg, no_rpm;
};

/*
 * The packages owning path, dpkg's then rpm's: 0 and a malloc'ed array in *pkgs (NULL when *n is 0),
 * free with embargo_packages_free(). A package manager that is not there (no dpkg database, no rpm
 * program) is skipped; other errors are returned and nothing is kept. o may be NULL.
 */
int embargo_pkg_lookup(const char *path, const struct embargo_pkg_opts *o, struct embargo_package **pkgs,
		       size_t *n);
void embargo_packages_free(struct embargo_package *pkgs, size_t n);

#endif
