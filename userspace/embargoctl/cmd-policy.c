// SPDX-License-Identifier: GPL-2.0
/* embargoctl policy check PATH...: load a policy as embargod would and say what it holds, or where it is
 * wrong. */
#include "embargoctl.h"

#include "policy.h"
#include "util.h"

#include <string.h>

static int check_one(const char *path)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p = NULL;
	struct embargo_policy_error err = {};
	char buf[sizeof(err.file) + sizeof(err.message) + 64];
	int r;

	r = embargo_policy_load(path, &p, &err);
	if (r < 0) {
		/* As the loader puts it, file:line:column: message, for editors to jump to. */
		fprintf(stderr, "%s\n", embargo_policy_error_format(&err, buf, sizeof(buf)));
		return CTL_EXIT_ERROR;
	}
	ctl_print_safe(stdout, path);
	printf(": OK: %zu vendors, %zu digests (%zu duplicates ignored)\n", p->n_vendors, p->n_rules,
	       p->n_duplicates);
	for (size_t i = 0; i < p->n_vendors; i++) {
		const struct embargo_vendor *v = &p->vendors[i];

		fputs("  ", stdout);
		ctl_print_safe(stdout, v->name);
		printf(": %zu digests, mode %s\n", v->n_rules, embargo_mode_name(v->mode));
	}
	return CTL_EXIT_OK;
}

int cmd_policy(const struct ctl *ctl, int argc, char **argv)
{
	int r, status = CTL_EXIT_OK;

	(void)ctl;
	r = ctl_parse_no_options("policy", argc, argv);
	if (r >= 0)
		return r;
	if (optind >= argc)
		return ctl_usage_error("policy", "which subcommand? (check)");
	if (strcmp(argv[optind], "check") != 0)
		return ctl_usage_error("policy", "unknown subcommand '%s' (check)", argv[optind]);
	if (++optind >= argc)
		return ctl_usage_error("policy check", "no policy file or directory given");
	for (int i = optind; i < argc; i++)
		if (check_one(argv[i]) != CTL_EXIT_OK)
			status = CTL_EXIT_ERROR;
	return status;
}
