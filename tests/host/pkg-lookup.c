// SPDX-License-Identifier: GPL-2.0
/*
 * Test helper for tests/host/pkg.sh: the packages owning a path, one per line as
 * "manager<TAB>name<TAB>version<TAB>maintainer<TAB>vendor", and with --policy the rule they match.
 *   pkg-lookup [--admindir DIR] [--no-rpm] [--policy FILE] PATH
 */
#include "match.h"
#include "pkg.h"
#include "policy.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	struct embargo_pkg_opts o = { 0 };
	struct embargo_identity id = { 0 };
	const char *policy = NULL;
	int i, r;

	for (i = 1; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--admindir") == 0)
			o.dpkg_admindir = argv[++i];
		else if (strcmp(argv[i], "--policy") == 0)
			policy = argv[++i];
		else if (strcmp(argv[i], "--no-rpm") == 0)
			o.no_rpm = true;
		else
			break;
	}
	if (i + 1 != argc) {
		fprintf(stderr, "usage: pkg-lookup [--admindir DIR] [--no-rpm] [--policy FILE] PATH\n");
		return 64;
	}
	r = embargo_pkg_lookup(argv[i], &o, &id.pkgs, &id.n_pkgs);
	if (r < 0) {
		fprintf(stderr, "pkg-lookup: %s: %s\n", argv[i], strerror(-r));
		return 1;
	}
	for (size_t k = 0; k < id.n_pkgs; k++) {
		const struct embargo_package *p = &id.pkgs[k];

		printf("%s\t%s\t%s\t%s\t%s\n", p->manager, p->name, p->version ?: "-", p->maintainer ?: "-",
		       p->vendor ?: "-");
	}
	if (policy) {
		struct embargo_policy *pol = NULL;
		struct embargo_policy_error err;
		struct embargo_match m;
		char msg[8192];

		r = embargo_policy_load(policy, &pol, &err);
		if (r < 0) {
			fprintf(stderr, "pkg-lookup: %s\n",
				embargo_policy_error_format(&err, msg, sizeof(msg)));
			return 1;
		}
		/* The path is not given to the matcher: only the packages are to decide. */
		r = embargo_policy_match(pol, &id, &m);
		if (r > 0)
			printf("match\t%s\t%s\t%s\n", embargo_ident_kind_name(m.kind), m.location, m.why);
		else
			printf("no match\n");
		embargo_policy_free(pol);
	}
	embargo_identity_free(&id);
	return r < 0 ? 1 : 0;
}
