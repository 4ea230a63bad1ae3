// SPDX-License-Identifier: GPL-2.0
/*
 * embargoctl inspect FILE... [--json] [--policy PATH]: the SHA-256 and size of each file, and whether the
 * running daemon (or the policy at PATH) prohibits it.
 */
#include "embargoctl.h"

#include "json.h"
#include "policy.h"
#include "sha256.h"
#include "util.h"

#include <getopt.h>
#include <inttypes.h>
#include <string.h>

struct inspect {
	const struct ctl *ctl;
	bool json;
	struct embargo_policy *policy; /* NULL: ask the daemon */
};

/* What is known of one file. Strings point into the policy or the daemon's parsed reply. */
struct verdict {
	bool match;
	const char *vendor;
	const char *rule; /* "file:line" */
	const char *label;
	const char *vendor_mode;    /* inherit, audit, enforce */
	const char *effective_mode; /* NULL: follows a global mode not known here */
	const char *action;	    /* denied, audited; NULL as above */
};

static const char *file_strerror(int r)
{
	return r == -EBADFD ? "not a regular file" : strerror(-r);
}

static int print_json_line(struct json_writer *w)
{
	_cleanup_free_ char *text = NULL;
	int r = json_writer_finish(w, &text, NULL);

	if (r < 0)
		return ctl_error("inspect", "cannot write JSON: %s", strerror(-r));
	puts(text);
	return CTL_EXIT_OK;
}

/* A file that could not be inspected (hex and size when they are known); returns CTL_EXIT_ERROR. */
static int report_error(const struct inspect *in, const char *path, const char *hex, uint64_t size,
			const char *msg)
{
	fputs("embargoctl: inspect: ", stderr);
	ctl_print_safe(stderr, path);
	fputs(": ", stderr);
	ctl_print_safe(stderr, msg);
	fputc('\n', stderr);
	if (in->json) {
		struct json_writer w = JSON_WRITER_INIT;

		json_begin_object(&w);
		json_key_string(&w, "path", path);
		if (hex) {
			json_key_string(&w, "sha256", hex);
			json_key_u64(&w, "size", size);
		}
		json_key_string(&w, "error", msg);
		json_end_object(&w);
		print_json_line(&w);
	}
	return CTL_EXIT_ERROR;
}

static void verdict_from_policy(const struct embargo_policy *p, const uint8_t digest[SHA256_LEN],
				char *rule_buf, size_t rule_size, struct verdict *v)
{
	const struct embargo_rule *rule = embargo_policy_lookup(p, digest);
	const struct embargo_vendor *vendor;

	*v = (struct verdict){.match = rule != NULL};
	if (!rule)
		return;
	vendor = &p->vendors[rule->vendor];
	v->vendor = vendor->name;
	v->rule = embargo_rule_location(p, rule, rule_buf, rule_size);
	v->label = rule->label;
	v->vendor_mode = embargo_mode_name(vendor->mode);
	if (vendor->mode == EMBARGO_MODE_ENFORCE) {
		v->effective_mode = "enforce";
		v->action = "denied";
	} else if (vendor->mode == EMBARGO_MODE_AUDIT) {
		v->effective_mode = "audit";
		v->action = "audited";
	}
}

/* The daemon's reply to "lookup <hex>" into *v; *reply keeps the strings. */
static int verdict_from_reply(const char *body, struct json_value **reply, struct verdict *v)
{
	_cleanup_(json_value_freep) struct json_value *j = NULL;
	int r;

	r = json_parse(body, strlen(body), &j);
	if (r < 0)
		return r;
	*v = (struct verdict){};
	if (json_get_bool(j, "match", &v->match) < 0)
		return -EBADMSG;
	v->vendor = json_get_string(j, "vendor");
	v->rule = json_get_string(j, "rule");
	v->label = json_get_string(j, "label");
	v->vendor_mode = json_get_string(j, "vendor_mode");
	v->effective_mode = json_get_string(j, "effective_mode");
	v->action = json_get_string(j, "action");
	*reply = TAKE_PTR(j);
	return 0;
}

static void print_human(const char *path, const char *hex, uint64_t size, const struct verdict *v)
{
	ctl_print_safe(stdout, path);
	printf("\n  sha256:  %s\n  size:    %" PRIu64 "\n  verdict: ", hex, size);
	if (!v->match) {
		puts("not listed");
		return;
	}
	fputs("prohibited (vendor ", stdout);
	ctl_print_safe(stdout, v->vendor ? v->vendor : "?");
	fputs(", rule ", stdout);
	ctl_print_safe(stdout, v->rule ? v->rule : "?");
	if (v->label && *v->label) {
		fputs(", ", stdout);
		ctl_print_safe(stdout, v->label);
	}
	fputs(") \u2014 ", stdout);
	if (v->action && strcmp(v->action, "denied") == 0) {
		puts("would be denied");
	} else if (v->action && strcmp(v->action, "audited") == 0) {
		puts("would be audited (allowed to run, and logged)");
	} else if (v->action) {
		fputs("action ", stdout);
		ctl_print_safe(stdout, v->action);
		putchar('\n');
	} else if (!v->effective_mode && v->vendor_mode && strcmp(v->vendor_mode, "inherit") == 0) {
		puts("would be denied in enforce mode, audited in audit mode (the vendor follows the global "
		     "mode)");
	} else {
		puts("action not reported");
	}
}

static int print_verdict(const struct inspect *in, const char *path, const char *hex, uint64_t size,
			 const struct verdict *v)
{
	struct json_writer w = JSON_WRITER_INIT;

	if (!in->json) {
		print_human(path, hex, size, v);
		return CTL_EXIT_OK;
	}
	json_begin_object(&w);
	json_key_string(&w, "path", path);
	json_key_string(&w, "sha256", hex);
	json_key_u64(&w, "size", size);
	json_key_bool(&w, "match", v->match);
	if (v->match) {
		json_key_string(&w, "vendor", v->vendor);
		json_key_string(&w, "rule", v->rule);
		json_key_string(&w, "label", v->label);
		json_key_string(&w, "vendor_mode", v->vendor_mode);
		json_key_string(&w, "effective_mode", v->effective_mode);
		json_key_string(&w, "action", v->action);
	}
	json_end_object(&w);
	return print_json_line(&w);
}

/* One file: CTL_EXIT_OK or CTL_EXIT_PROHIBITED, CTL_EXIT_ERROR for this file, CTL_EXIT_NO_DAEMON to stop. */
static int inspect_one(const struct inspect *in, const char *path)
{
	_cleanup_(json_value_freep) struct json_value *reply = NULL;
	_cleanup_free_ char *body = NULL;
	uint8_t digest[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1], request[sizeof("lookup ") + SHA256_HEX_LEN], rule_buf[4200], msg[1024];
	struct verdict v;
	uint64_t size = 0;
	int r, status;

	r = embargo_sha256_path(path, digest, &size);
	if (r < 0)
		return report_error(in, path, NULL, 0, file_strerror(r));
	hex_encode(digest, SHA256_LEN, hex);

	if (in->policy) {
		verdict_from_policy(in->policy, digest, rule_buf, sizeof(rule_buf), &v);
	} else {
		snprintf(request, sizeof(request), "lookup %s", hex);
		r = ctl_call(in->ctl, request, &body);
		if (r < 0) {
			status = ctl_call_status(r, body);
			if (status == CTL_EXIT_NO_DAEMON) {
				ctl_call_failed(in->ctl, "inspect", r, body);
				fputs("embargoctl: inspect: use --policy PATH to check files without the "
				      "daemon\n",
				      stderr);
				return status;
			}
			return report_error(in, path, hex, size,
					    ctl_call_strerror(in->ctl, r, body, msg, sizeof(msg)));
		}
		if (verdict_from_reply(body, &reply, &v) < 0)
			return report_error(in, path, hex, size,
					    "embargod's reply to the lookup is not understood");
	}
	status = print_verdict(in, path, hex, size, &v);
	if (status != CTL_EXIT_OK)
		return status;
	return v.match ? CTL_EXIT_PROHIBITED : CTL_EXIT_OK;
}

int cmd_inspect(const struct ctl *ctl, int argc, char **argv)
{
	static const struct option options[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"policy", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	_cleanup_(embargo_policy_freep) struct embargo_policy *policy = NULL;
	struct inspect in = {.ctl = ctl};
	const char *policy_path = NULL;
	bool prohibited = false, failed = false;
	int c, r;

	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (c) {
		case 'j':
			in.json = true;
			break;
		case 'p':
			policy_path = optarg;
			break;
		case 'h':
			ctl_usage(stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_bad_option("inspect", c, argv);
		}
	}
	if (optind >= argc)
		return ctl_usage_error("inspect", "no file given");

	if (policy_path) {
		struct embargo_policy_error err = {};
		char buf[sizeof(err.file) + sizeof(err.message) + 64];

		r = embargo_policy_load(policy_path, &policy, &err);
		if (r < 0) {
			fprintf(stderr, "%s\n", embargo_policy_error_format(&err, buf, sizeof(buf)));
			return CTL_EXIT_ERROR;
		}
		in.policy = policy;
	}

	for (int i = optind; i < argc; i++) {
		r = inspect_one(&in, argv[i]);
		if (r == CTL_EXIT_NO_DAEMON)
			return r;
		if (r == CTL_EXIT_PROHIBITED)
			prohibited = true;
		else if (r != CTL_EXIT_OK)
			failed = true;
	}
	/* As grep: an error wins, the result being incomplete. */
	if (failed)
		return CTL_EXIT_ERROR;
	return prohibited ? CTL_EXIT_PROHIBITED : CTL_EXIT_OK;
}
