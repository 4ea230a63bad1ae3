// SPDX-License-Identifier: GPL-2.0
/* embargoctl status [--json]: the daemon's state, as it reports it. */
#include "embargoctl.h"

#include "json.h"
#include "util.h"

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

/* Started on the last good copy: the configured policy is not the one in force. */
static void print_fallback(const struct json_value *policy)
{
	bool copy = false;

	if (json_get_bool(policy, "last_good_copy", &copy) < 0 || !copy)
		return;
	label("");
	fputs("RUNNING THE LAST GOOD COPY saved ", stdout);
	put_str(policy, "copy_saved_at");
	fputs(": the configured policy was rejected at start: ", stdout);
	put_str(policy, "rejected");
	putchar('\n');
}

/* A flat object, one member a line, values aligned: numbers as written, strings made safe. */
/* The last reload, above all a refused one: the running policy is then not what is on disk. */
static void print_reload(const struct json_value *r)
{
	bool failed = false;

	if (!r || !json_get_string(r, "last_at"))
		return;
	(void)json_get_bool(r, "last_failed", &failed);
	label("");
	fputs(failed ? "last reload REFUSED at " : "last reload at ", stdout);
	put_str(r, "last_at");
	if (failed) {
		fputs(", the generation above stays in force: ", stdout);
		put_str(r, "last_error");
	} else {
		fputs(", took ", stdout);
		put_num(r, "last_ms");
		fputs(" ms", stdout);
	}
	fputs(" (", stdout);
	put_num(r, "attempts");
	fputs(" reloads, ", stdout);
	put_num(r, "failures");
	puts(" refused)");
}

/* Self-protection and the system call filter: in force or not, why, and what they refused. */
static void print_protection(const struct json_value *sp, const struct json_value *sf)
{
	const struct json_value *refused = json_get(sp, "refused");

	if (sp && sp->type == JSON_OBJECT) {
		fputs("Self-protection: ", stdout);
		put_str(sp, "state");
		fputs("\n  ", stdout);
		put_str(sp, "detail");
		putchar('\n');
		if (refused && refused->type == JSON_OBJECT) {
			fputs("  refused: ", stdout);
			put_num(refused, "signals");
			fputs(" signals, ", stdout);
			put_num(refused, "ptrace");
			fputs(" ptrace, ", stdout);
			put_num(refused, "bpf");
			fputs(" bpf(), ", stdout);
			put_num(refused, "pins");
			fputs(" pin removals (", stdout);
			put_num(sp, "reports_dropped");
			puts(" not logged one by one)");
		}
	}
	if (sf && sf->type == JSON_OBJECT) {
		bool active = false;

		(void)json_get_bool(sf, "active", &active);
		printf("System call filter: %s\n  ", active ? "active" : "inactive");
		put_str(sf, "detail");
		fputs("; refused: ", stdout);
		put_num(sf, "refused");
		putchar('\n');
	}
}

static void print_members(const char *title, const struct json_value *obj)
{
	int width = 0;

	if (!obj || obj->type != JSON_OBJECT)
		return;
	puts(title);
	for (size_t i = 0; i < obj->n; i++)
		if ((int)strlen(obj->members[i].key) > width)
			width = (int)strlen(obj->members[i].key);
	for (size_t i = 0; i < obj->n; i++) {
		const struct json_member *m = &obj->members[i];
		const struct json_value *v = &m->value;
		const char *text = "?";

		if (v->type == JSON_NUMBER || v->type == JSON_STRING)
			text = v->string;
		else if (v->type == JSON_BOOL)
			text = v->boolean ? "true" : "false";
		fputs("  ", stdout);
		ctl_print_safe(stdout, m->key);
		printf("%*s  ", width - (int)strlen(m->key), "");
		ctl_print_safe(stdout, text);
		putchar('\n');
	}
}

static void print_status(const struct json_value *st)
{
	const struct json_value *policy = json_get(st, "policy"), *vendors = json_get(st, "vendors"),
				*mechanisms = json_get(st, "mechanisms"), *probe = json_get(st, "probe");
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
	const char *mech = json_get_string(st, "mechanism"),
		   *hold_why = json_get_string(json_get(st, "hold"), "why");

	if (mech && *mech) {
		label("Mechanism:");
		ctl_print_safe(stdout, mech);
		putchar('\n');
		if (hold_why && *hold_why) {
			label("");
			ctl_print_safe(stdout, hold_why);
			putchar('\n');
		}
	}
	if (json_get_bool(st, "enforcing", &enforcing) == 0 && !enforcing) {
		label("Warning:");
		puts("DETECTION ONLY: nothing is prevented (prohibited files are reported, not stopped)");
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
	print_fallback(policy);
	print_reload(json_get(st, "reload"));

	/* What is really in place, in words an administrator can check against the kernel. */
	if (mechanisms && mechanisms->type == JSON_ARRAY) {
		puts("Mechanisms:");
		ctl_print_strings(mechanisms, "  ");
	}
	print_members("Learned:", json_get(st, "learned"));
	print_members("Fanotify:", json_get(st, "fanotify"));
	print_members("Persistence:", json_get(st, "persistence"));
	print_protection(json_get(st, "self_protection"), json_get(st, "syscall_filter"));

	if (vendors && vendors->type == JSON_ARRAY) {
		puts("Vendors:");
		for (size_t i = 0; i < vendors->n; i++)
			print_vendor(&vendors->members[i].value);
	}
	print_members("Counters:", json_get(st, "counters"));
	if (probe && probe->type == JSON_ARRAY) {
		puts("Probe:");
		ctl_print_probe(probe, "  ");
	}
}

int cmd_status(const struct ctl *ctl, int argc, char **argv)
{
	_cleanup_(json_value_freep) struct json_value *st = NULL;
	bool json = false;
	int r;

	r = ctl_parse_json_option("status", argc, argv, &json);
	if (r >= 0)
		return r;

	r = ctl_call_object(ctl, "status", "status", json, &st);
	if (r == CTL_EXIT_OK && st)
		print_status(st);
	return r;
}
