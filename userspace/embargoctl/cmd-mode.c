// SPDX-License-Identifier: GPL-2.0
/* embargoctl mode audit|enforce: switch the daemon's global mode. */
#include "embargoctl.h"

#include "util.h"

#include <string.h>

int cmd_mode(const struct ctl *ctl, int argc, char **argv)
{
	_cleanup_free_ char *body = NULL;
	const char *mode;
	char request[32];
	int r;

	r = ctl_parse_no_options("mode", argc, argv);
	if (r >= 0)
		return r;
	if (optind >= argc)
		return ctl_usage_error("mode", "which mode: audit or enforce?");
	if (argc - optind > 1)
		return ctl_usage_error("mode", "unexpected argument '%s'", argv[optind + 1]);
	mode = argv[optind];
	if (strcmp(mode, "audit") != 0 && strcmp(mode, "enforce") != 0)
		return ctl_usage_error("mode", "'%s' is not a mode: audit or enforce", mode);

	snprintf(request, sizeof(request), "mode %s", mode);
	r = ctl_call(ctl, request, &body);
	if (r < 0)
		return ctl_call_failed(ctl, "mode", r, body);
	/* The daemon confirms with the mode now in force. */
	for (size_t len = strlen(body); len > 0 && body[len - 1] == '\n'; len--)
		body[len - 1] = '\0';
	fputs("mode: ", stdout);
	ctl_print_safe(stdout, *body ? body : mode);
	putchar('\n');
	return CTL_EXIT_OK;
}
