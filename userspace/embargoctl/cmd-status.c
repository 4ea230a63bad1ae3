// SPDX-License-Identifier: GPL-2.0
/* embargoctl status [--json]: the daemon's state, as it reports it. */
#include "embargoctl.h"

#include "json.h"
#include "util.h"

#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#define LABEL_WIDTH 11

/* A string field, made safe for the terminal; "?" when missing or not a string. */
static void put_str(const struct json_value *obj, const char *key)
{
	const char *s = json_get_string(obj, key);

	ctl_print_safe(stdout, s ? s : "?");
}

/* A number field as the daemon wrote it; "?" when missing or not a number. */
static void put_num(const struct json_value *obj, const char *key)
{
	const struct json_value *v = json_get(obj, key);

	ctl_print_safe(stdout, v && v->type == JSON_NUMBER ? v->string : "?");
}

static void label(const char *name)
{
	printf("%-*s", LABEL_WIDTH, name);
}

static void print_vendor(const struct json_value *v)
{
	const char *mode = json_get_string(v, "mode"), *effective = json_get_string(v, "effective_mode");
	const struct json_value *entities = json_get(v, "entities");
	const char *reason = json_get_string(v, "reason");
	bool first = true;

	fputs("  ", stdout);
	put_str(v, "name");
	fputs(": ", stdout);
	ctl_print_safe(stdout, effective ? effective : mode ? mode : "?");
	if (mode && strcmp(mode, "inherit") == 0)
		fputs(" (inherited)", stdout);
	else if (mode)
		fputs(" (set for this vendor)", stdout);
	fputs(", ", stdout);
	put_num(v, "digests");
	fputs(" digests", stdout);
	for (size_t i = 0; entities && entities->type == JSON_ARRAY && i < entities->n; i++) {
		const struct json_value *e = &entities->members[i].value;

		if (e->type != JSON_STRING)
			continue;
		fputs(first ? "; entities: " : ", ", stdout);
		ctl_print_safe(stdout, e->string);
		first = false;
	}
	putchar('\n');
	if (reason && *reason) {
		fputs("    reason: ", stdout);
		ctl_print_safe(stdout, reason);
		putchar('\n');
	}
}

static void print_counters(const struct json_value *counters)
{
	int width = 0;

	if (!counters || counters->type != JSON_OBJECT)
		return;
	puts("Counters:");
	for (size_t i = 0; i < counters->n; i++)
		if ((int)strlen(counters->members[i].key) > width)
			width = (int)strlen(counters->members[i].key);
	for (size_t i = 0; i < counters->n; i++) {
		const struct json_member *m = &counters->members[i];

		fputs("  ", stdout);
		ctl_print_safe(stdout, m->key);
		printf("%*s  ", width - (int)strlen(m->key), "");
		ctl_print_safe(stdout, m->value.type == JSON_NUMBER ? m->value.string : "?");
		putchar('\n');
	}
}

static void print_probe(const struct json_value *probe)
{
	int width = 0;

	if (!probe || probe->type != JSON_ARRAY)
		return;
	puts("Probe:");
	for (size_t i = 0; i < probe->n; i++) {
		const char *check = json_get_string(&probe->members[i].value, "check");

		if (check && (int)strlen(check) > width)
			width = (int)strlen(check);
	}
	for (size_t i = 0; i < probe->n; i++) {
		const struct json_value *p = &probe->members[i].value;
		const char *check = json_get_string(p, "check") ?: "?",
			   *detail = json_get_string(p, "detail");
		bool ok = false;

		printf("  %-4s  ", json_get_bool(p, "ok", &ok) < 0 ? "?" : ok ? "ok" : "FAIL");
		ctl_print_safe(stdout, check);
		if (detail && *detail) {
			printf("%*s  ", width - (int)strlen(check), "");
			ctl_print_safe(stdout, detail);
		}
		putchar('\n');
	}
}

static void print_status(const struct json_value *st)
{
	const struct json_value *policy = json_get(st, "policy"), *vendors = json_get(st, "vendors");
	const char *reason = json_get_string(st, "tier_reason"), *log = json_get_string(st, "log");
	bool window = false, enforcing = true;

	label("embargod:");
	fputs("running, pid ", stdout);
	put_num(st, "pid");
	putchar('\n');

	label("Mode:");
	put_str(st, "mode");
	putchar('\n');

	label("Tier:");
	put_str(st, "tier");
	putchar('\n');
	if (reason && *reason) {
		label("");
		ctl_print_safe(stdout, reason);
		putchar('\n');
	}
	if (json_get_bool(st, "enforcing", &enforcing) == 0 && !enforcing) {
		label("Warning:");
		puts("detection only: prohibited files are reported, not stopped");
	}
	if (json_get_bool(st, "first_exec_window", &window) == 0 && window) {
		label("Warning:");
		puts("a never-seen file can run once before it is classified");
	}
	if (log) {
		label("Log:");
		ctl_print_safe(stdout, log);
		putchar('\n');
	}

	label("Policy:");
	put_str(policy, "path");
	putchar('\n');
	label("");
	fputs("generation ", stdout);
	put_num(policy, "generation");
	fputs(", loaded ", stdout);
	put_str(policy, "loaded_at");
	putchar('\n');
	label("");
	put_num(policy, "vendors");
	fputs(" vendors, ", stdout);
	put_num(policy, "rules");
	fputs(" digests (", stdout);
	put_num(policy, "duplicates");
	puts(" duplicates ignored)");

	if (vendors && vendors->type == JSON_ARRAY) {
		puts("Vendors:");
		for (size_t i = 0; i < vendors->n; i++)
			print_vendor(&vendors->members[i].value);
	}
	print_counters(json_get(st, "counters"));
	print_probe(json_get(st, "probe"));
}

int cmd_status(const struct ctl *ctl, int argc, char **argv)
{
	static const struct option options[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	_cleanup_(json_value_freep) struct json_value *st = NULL;
	_cleanup_free_ char *body = NULL;
	bool json = false;
	size_t len;
	int c, r;

	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			ctl_usage(stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_bad_option("status", c, argv);
		}
	}
	if (optind < argc)
		return ctl_usage_error("status", "unexpected argument '%s'", argv[optind]);

	r = ctl_call(ctl, "status", &body);
	if (r < 0)
		return ctl_call_failed(ctl, "status", r, body);
	len = strlen(body);
	if (json) {
		fputs(body, stdout);
		if (len == 0 || body[len - 1] != '\n')
			putchar('\n');
		return CTL_EXIT_OK;
	}
	r = json_parse(body, len, &st);
	if (r < 0 || st->type != JSON_OBJECT)
		return ctl_error("status", "embargod's reply is not a JSON object (try --json to see it)");
	print_status(st);
	return CTL_EXIT_OK;
}
