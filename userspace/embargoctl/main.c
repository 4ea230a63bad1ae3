// SPDX-License-Identifier: GPL-2.0
/* embargoctl: global options and dispatch to a command. */
#include "embargoctl.h"

#include "control.h"
#include "util.h"

#include <getopt.h>
#include <limits.h>
#include <string.h>

int cmd_scan(const struct ctl *ctl, int argc, char **argv); /* cmd-scan.c */

static const struct command {
	const char *name;
	int (*run)(const struct ctl *ctl, int argc, char **argv);
} commands[] = {
	{ "status", cmd_status }, { "mode", cmd_mode },	      { "inspect", cmd_inspect },
	{ "policy", cmd_policy }, { "doctor", cmd_doctor },   { "scan", cmd_scan },
	{ "reload", cmd_reload }, { "learned", cmd_learned },
};

void ctl_usage(FILE *f)
{
	fprintf(f,
		"Usage: embargoctl [--runtime-dir DIR] [--timeout MS] COMMAND ...\n"
		"Query and steer embargod, check files and policies.\n"
		"\n"
		"Commands:\n"
		"  status [--json]                 the daemon's mode, tier, policy, vendors, counters\n"
		"  mode audit|enforce              switch the global mode\n"
		"  reload                          read the policy again and switch to it atomically; a\n"
		"                                  policy with errors is refused, the running one stays\n"
		"  learned list [--json]           the digests identity rules taught: rule, file, when\n"
		"  learned forget DIGEST           unlearn one: no longer denied (memory, kernel, state)\n"
		"  inspect FILE... [--json] [--policy PATH]\n"
		"                                  SHA-256, size and verdict of each file: from the running\n"
		"                                  daemon, or from the policy at PATH (no daemon needed)\n"
		"  policy check PATH...            load a policy file or directory and report what it holds\n"
		"  doctor [--json]                 what the kernel offers, what to change, the tier in use\n"
		"  scan [PATH...] [--json] [--jobs N] [--all] [--policy PATH] [--cache PATH | --no-cache]\n"
		"       [--no-processes] [--dpkg-admindir DIR] [--ima-keyring FILE]...\n"
		"                                  prohibited files under PATH (default: local filesystems\n"
		"                                  from /) and running processes, decided as inspect\n"
		"                                  decides; see embargoctl(8)\n"
		"\n"
		"Options:\n"
		"  --runtime-dir DIR   where embargod's control socket is (default %s)\n"
		"  --timeout MS        how long to wait for the daemon, 0 for no limit (default %d)\n"
		"  -h, --help          this text\n"
		"  -V, --version       the version\n"
		"\n"
		"Exit status:\n"
		"  0   success; inspect, scan: nothing prohibited found\n"
		"  1   inspect, scan: at least one file (or process) is prohibited\n"
		"  2   error: unreadable file, bad policy, the daemon refused or failed\n"
		"  64  usage error\n"
		"  69  embargod is not running\n"
		"\n"
		"Talking to embargod requires root. See embargoctl(8).\n",
		EMBARGO_RUNTIME_DIR, CTL_DEFAULT_TIMEOUT_MS);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "runtime-dir", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	struct ctl ctl = { .runtime_dir = EMBARGO_RUNTIME_DIR, .timeout_ms = CTL_DEFAULT_TIMEOUT_MS };
	uint64_t v;
	int c, r;

	opterr = 0;
	/* '+': the first non-option is the command; what follows it is the command's. */
	while ((c = getopt_long(argc, argv, "+:hV", options, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (!*optarg)
				return ctl_usage_error(NULL, "--runtime-dir needs a directory");
			ctl.runtime_dir = optarg;
			break;
		case 't':
			if (parse_u64(optarg, INT_MAX, &v) < 0)
				return ctl_usage_error(
					NULL, "--timeout: '%s' is not a number of milliseconds", optarg);
			ctl.timeout_ms = v == 0 ? -1 : (int)v;
			ctl.timeout_given = true;
			break;
		case 'h':
			ctl_usage(stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf("embargoctl %s\n", EMBARGO_VERSION);
			return CTL_EXIT_OK;
		default:
			return ctl_bad_option(NULL, c, argv);
		}
	}
	if (optind >= argc)
		return ctl_usage_error(NULL, "no command given");

	r = -1;
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[optind], commands[i].name) != 0)
			continue;
		/* The command parses its own options from a fresh getopt state. */
		argc -= optind;
		argv += optind;
		optind = 0;
		r = commands[i].run(&ctl, argc, argv);
		break;
	}
	if (r < 0)
		return ctl_usage_error(NULL, "unknown command '%s'", argv[optind]);
	if (fflush(stdout) != 0 || ferror(stdout))
		return ctl_error(NULL, "write error: %s", strerror(errno));
	return r;
}
