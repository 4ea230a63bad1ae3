// SPDX-License-Identifier: GPL-2.0
/*
 * embargoctl reload: have embargod read its policy again and switch to it, or keep the running one.
 * Synchronous: the exit status says whether the new policy is in force, so `systemctl reload` (whose
 * ExecReload= runs this) fails when the policy was refused.
 */
#include "embargoctl.h"

#include "util.h"

#include <string.h>

/* Parsing and loading a policy of a million digests takes seconds, more on a loaded machine. */
#define RELOAD_TIMEOUT_MS 300000

int cmd_reload(const struct ctl *ctl, int argc, char **argv)
{
	_cleanup_free_ char *body = NULL;
	struct ctl c = *ctl;
	int r;

	r = ctl_parse_no_options("reload", argc, argv);
	if (r >= 0)
		return r;
	if (optind < argc)
		return ctl_usage_error("reload", "unexpected argument '%s'", argv[optind]);
	if (!c.timeout_given)
		c.timeout_ms = RELOAD_TIMEOUT_MS;
	r = ctl_call(&c, "reload", &body);
	if (r < 0)
		return ctl_call_failed(&c, "reload refused, the running policy stays in force", r, body);
	for (size_t len = strlen(body); len > 0 && body[len - 1] == '\n'; len--)
		body[len - 1] = '\0';
	fputs("reloaded: ", stdout);
	ctl_print_safe(stdout, body);
	putchar('\n');
	return CTL_EXIT_OK;
}
