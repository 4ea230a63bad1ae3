// SPDX-License-Identifier: GPL-2.0
/*
 * embargoctl learned list [--json] | learned forget DIGEST: the digests identity rules taught embargod,
 * and the way out of a wrong one (it is forgotten in memory, in the kernel and in the state file).
 */
#include "embargoctl.h"

#include "json.h"
#include "sha256.h"
#include "util.h"

#include <getopt.h>
#include <string.h>

static void print_learned(const struct json_value *list)
{
	const struct json_value *items = json_get(list, "learned");
	uint64_t max = 0;

	(void)json_get_u64(list, "max", &max);
	printf("%zu learned digests (max_learned %llu)\n", items && items->type == JSON_ARRAY ? items->n : 0,
	       (unsigned long long)max);
	for (size_t i = 0; items && items->type == JSON_ARRAY && i < items->n; i++) {
		const struct json_value *e = &items->members[i].value;
		const char *f[] = { json_get_string(e, "sha256"), json_get_string(e, "rule"),
				    json_get_string(e, "learned_at"), json_get_string(e, "path") };

		for (size_t k = 0; k < ARRAY_SIZE(f); k++) {
			if (k)
				putchar(' ');
			ctl_print_safe(stdout, f[k] ? f[k] : "-");
		}
		putchar('\n');
	}
}

static int learned_list(const struct ctl *ctl, bool json)
{
	_cleanup_(json_value_freep) struct json_value *list = NULL;
	int r = ctl_call_object(ctl, "learned", "learned list", json, &list);

	if (r == CTL_EXIT_OK && list)
		print_learned(list);
	return r;
}

static int learned_forget(const struct ctl *ctl, const char *digest)
{
	_cleanup_free_ char *body = NULL;
	uint8_t sha[SHA256_LEN];
	char request[16 + SHA256_HEX_LEN];
	int r;

	if (strlen(digest) != SHA256_HEX_LEN || hex_decode(digest, strlen(digest), sha, sizeof(sha)) < 0)
		return ctl_usage_error("learned forget", "'%s' is not a SHA-256 in hex", digest);
	snprintf(request, sizeof(request), "forget %s", digest);
	r = ctl_call(ctl, request, &body);
	if (r < 0)
		return ctl_call_failed(ctl, "learned forget", r, body);
	fputs("forgotten: ", stdout);
	ctl_print_safe(stdout, digest);
	putchar('\n');
	return CTL_EXIT_OK;
}

int cmd_learned(const struct ctl *ctl, int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			ctl_usage(stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_bad_option("learned", c, argv);
		}
	}
	if (optind >= argc)
		return ctl_usage_error("learned", "which subcommand? (list, forget)");
	if (strcmp(argv[optind], "list") == 0) {
		if (optind + 1 < argc)
			return ctl_usage_error("learned list", "unexpected argument '%s'", argv[optind + 1]);
		return learned_list(ctl, json);
	}
	if (strcmp(argv[optind], "forget") == 0) {
		if (json)
			return ctl_usage_error("learned forget", "--json is for list");
		if (optind + 1 >= argc)
			return ctl_usage_error("learned forget", "which digest?");
		if (optind + 2 < argc)
			return ctl_usage_error("learned forget", "unexpected argument '%s'",
					       argv[optind + 2]);
		return learned_forget(ctl, argv[optind + 1]);
	}
	return ctl_usage_error("learned", "unknown subcommand '%s' (list, forget)", argv[optind]);
}
