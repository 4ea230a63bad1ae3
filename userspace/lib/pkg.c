// SPDX-License-Identifier: GPL-2.0
/* Package ownership from every package manager there is (see pkg.h). */
#include "pkg.h"

#include "util.h"

void embargo_packages_free(struct embargo_package *pkgs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		embargo_package_free(&pkgs[i]);
	free(pkgs);
}

int embargo_pkg_lookup(const char *path, const struct embargo_pkg_opts *o, struct embargo_package **pkgs,
		       size_t *n)
{
	static const struct embargo_pkg_opts defaults = { 0 };
	_cleanup_(embargo_pkg_db_freep) struct embargo_pkg_db *own = NULL;
	struct embargo_package *v = NULL;
	size_t k = 0;
	int r = 0;

	if (!path || !pkgs || !n)
		return -EINVAL;
	if (!o)
		o = &defaults;
	if (!o->no_dpkg) {
		const struct embargo_pkg_db *db = o->db;

		if (!db) {
			r = embargo_pkg_db_open(o->dpkg_admindir, &own);
			/* No dpkg database: not a Debian system, nothing owned by dpkg. */
			if (r == -ENOENT)
				r = 0;
			db = own;
		}
		if (r == 0 && db)
			r = embargo_pkg_db_lookup(db, path, &v, &k);
	}
	if (r == 0 && !o->no_rpm) {
		r = embargo_pkg_rpm_lookup(path, o->rpm, o->rpm_timeout_ms, &v, &k);
		if (r == -ENOENT)
			r = 0;
	}
	if (r < 0) {
		embargo_packages_free(v, k);
		return r;
	}
	*pkgs = v;
	*n = k;
	return 0;
}
