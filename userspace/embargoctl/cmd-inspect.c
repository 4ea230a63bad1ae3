// SPDX-License-Identifier: GPL-2.0
/*
 * embargoctl inspect FILE... [--json] [--policy PATH] [--ima-keyring FILE]... [--dpkg-admindir DIR]
 * Everything embargo learns about each file (digest, size, format, build id, every signature with the
 * certificates it carries, the packages that own it) and the policy's verdict on it: which rule, of which
 * kind, and why.
 *
 * The policy is the one at --policy PATH, else the one the running daemon was started on (the path in its
 * status, loaded here as the daemon loaded it: the same trick as `scan`). When the daemon names no path,
 * only the digest can be looked up (in the daemon) and identity rules are not checked; the output says so.
 * FILE is opened following symlinks (a CLI argument is the user's to name); the canonical path of the
 * opened file is what `path` and package rules are matched against.
 */
#include "embargoctl.h"

#include "event.h"
#include "identity.h"
#include "json.h"
#include "policy.h"
#include "sha256.h"
#include "util.h"
#include "verdict.h"

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <time.h>

struct inspect {
	const struct ctl *ctl;
	bool json;
	const struct embargo_policy *policy; /* NULL: ask the daemon about the digest only */
	uint8_t global_mode;		     /* the daemon's; EMBARGO_MODE_INHERIT when not known */
	bool detect_only;		     /* the daemon's tier stops nothing */
	/* The decision core, over policy (or, without one, an empty policy: it then only gathers facts). */
	const struct embargo_decider *decider;
};

/* The verdict on one file. Strings point into the policy, the match or the daemon's parsed reply. */
struct verdict {
	bool match;
	bool identity_checked; /* identity rules were looked at (a policy was at hand) */
	const char *vendor;
	const char *rule; /* "file:line" */
	const char *kind; /* "sha256", "component", "signer-org", ... */
	const char *why;
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

static void set_action(const struct inspect *in, uint8_t vendor_mode, struct verdict *v)
{
	uint8_t eff = embargo_effective_mode(vendor_mode, in->global_mode);

	v->vendor_mode = embargo_mode_name(vendor_mode);
	if (eff == EMBARGO_MODE_INHERIT)
		return;
	v->effective_mode = embargo_mode_name(eff);
	v->action = embargo_action_name(embargo_match_action(
		vendor_mode, in->global_mode, in->detect_only ? EMBARGO_TIER_DETECT : EMBARGO_TIER_LSM_HASH));
}

/* The decision core's verdict, in words. */
static void verdict_from_decision(const struct inspect *in, const struct embargo_decision *dec,
				  struct verdict *v)
{
	const struct embargo_match *m = &dec->m;
	const struct embargo_vendor *vendor;

	*v = (struct verdict){ .identity_checked = true };
	if (!dec->match)
		return;
	vendor = &in->policy->vendors[m->vendor];
	v->match = true;
	v->vendor = vendor->name;
	v->rule = m->location;
	v->why = m->why;
	v->kind = embargo_match_kind_name(m);
	v->label = m->rule ? m->rule->label : NULL;
	set_action(in, vendor->mode, v);
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
	if (v->match)
		v->kind = "sha256";
	*reply = TAKE_PTR(j);
	return 0;
}

/* ---- text ---- */

static void print_field(const char *name, const char *value)
{
	printf("%s", name);
	ctl_print_safe(stdout, value ? value : "-");
	putchar('\n');
}

/* "O=..., CN=..." of a certificate's subject or issuer. */
static void print_dn(const char *o, const char *cn)
{
	if (o) {
		fputs("O=", stdout);
		ctl_print_safe(stdout, o);
	}
	if (o && cn)
		fputs(", ", stdout);
	if (cn) {
		fputs("CN=", stdout);
		ctl_print_safe(stdout, cn);
	}
	if (!o && !cn)
		fputs("-", stdout);
	putchar('\n');
}

static void print_cert(const struct embargo_cert *c, size_t i)
{
	char hex[SHA256_HEX_LEN + 1], from[64], to[64];

	printf("    certificate %zu%s\n      subject:  ", i + 1, i == 0 ? " (signer)" : "");
	print_dn(c->subject_o, c->subject_cn);
	fputs("      issuer:   ", stdout);
	print_dn(c->issuer_o, c->issuer_cn);
	print_field("      serial:   ", c->serial);
	hex_encode(c->sha256, SHA256_LEN, hex);
	printf("      sha256:   %s\n",
	       embargo_cert_digest_known(c) ? hex : "- (certificate not carried nor found)");
	if (embargo_cert_validity_known(c))
		printf("      valid:    %s to %s\n", format_utc_time(c->not_before, from, sizeof(from)),
		       format_utc_time(c->not_after, to, sizeof(to)));
	else
		puts("      valid:    -");
}

static void print_signature(const struct embargo_signature *s, size_t i)
{
	char keyid[9];

	printf("  signature %zu: %s, %s", i + 1, embargo_sig_kind_name(s->kind),
	       embargo_sig_state_name(s->state));
	if (s->detail) {
		fputs(" (", stdout);
		ctl_print_safe(stdout, s->detail);
		putchar(')');
	}
	putchar('\n');
	print_field("    digest:   ", s->digest_algorithm);
	printf("    nesting:  %u\n", s->nesting);
	if (s->has_keyid) {
		hex_encode(s->keyid, sizeof(s->keyid), keyid);
		printf("    key id:   %s\n", keyid);
	}
	if (s->n_chain == 0)
		puts("    certificates: none carried or found");
	for (size_t c = 0; c < s->n_chain; c++)
		print_cert(&s->chain[c], c);
}

static void print_package(const struct embargo_package *p, size_t i)
{
	printf("  package %zu: ", i + 1);
	ctl_print_safe(stdout, p->manager ? p->manager : "?");
	putchar(' ');
	ctl_print_safe(stdout, p->name ? p->name : "?");
	putchar('\n');
	print_field("    version:     ", p->version);
	print_field("    maintainer:  ", p->maintainer);
	print_field("    vendor:      ", p->vendor);
	print_field("    signing key: ", p->signing_key);
}

static void print_action(const struct verdict *v)
{
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

static void print_human(const char *path, const char *hex, const struct embargo_identity *id,
			const struct verdict *v)
{
	ctl_print_safe(stdout, path);
	putchar('\n');
	if (id->path && strcmp(id->path, path) != 0)
		print_field("  resolved:  ", id->path);
	printf("  sha256:    %s\n  size:      %" PRIu64 "\n", hex, id->size);
	print_field("  format:    ", id->format);
	print_field("  build-id:  ", id->build_id);
	if (id->n_sigs == 0)
		puts("  signatures: none");
	for (size_t i = 0; i < id->n_sigs; i++)
		print_signature(&id->sigs[i], i);
	if (id->n_pkgs == 0)
		puts("  packages:  none");
	for (size_t i = 0; i < id->n_pkgs; i++)
		print_package(&id->pkgs[i], i);
	fputs("  verdict:   ", stdout);
	if (!v->match) {
		puts(v->identity_checked
			     ? "not listed"
			     : "not listed by digest (identity rules not checked: no policy path; "
			       "give --policy PATH)");
		return;
	}
	fputs("prohibited: vendor ", stdout);
	ctl_print_safe(stdout, v->vendor ? v->vendor : "?");
	fputs(", rule ", stdout);
	ctl_print_safe(stdout, v->rule ? v->rule : "?");
	fputs(" (", stdout);
	ctl_print_safe(stdout, v->kind ? v->kind : "sha256");
	if (v->why) {
		fputs(": ", stdout);
		ctl_print_safe(stdout, v->why);
	} else if (v->label && *v->label) {
		fputs(": ", stdout);
		ctl_print_safe(stdout, v->label);
	}
	fputs(") \u2014 ", stdout);
	print_action(v);
}

/* ---- JSON ---- */

static void json_signature(struct json_writer *w, const struct embargo_signature *s)
{
	char keyid[9];

	json_begin_object(w);
	json_key_string(w, "kind", embargo_sig_kind_name(s->kind));
	json_key_string(w, "state", embargo_sig_state_name(s->state));
	json_key_string(w, "detail", s->detail);
	json_key_string(w, "digest_algorithm", s->digest_algorithm);
	json_key_u64(w, "nesting", s->nesting);
	if (s->has_keyid) {
		hex_encode(s->keyid, sizeof(s->keyid), keyid);
		json_key_string(w, "keyid", keyid);
	} else {
		json_key_null(w, "keyid");
	}
	json_key_array(w, "chain");
	for (size_t c = 0; c < s->n_chain; c++)
		embargo_cert_write_json(w, &s->chain[c], EMBARGO_CERT_JSON_ISO_TIMES);
	json_end_array(w);
	json_end_object(w);
}

static void json_package(struct json_writer *w, const struct embargo_package *p)
{
	json_begin_object(w);
	json_key_string(w, "manager", p->manager);
	json_key_string(w, "name", p->name);
	json_key_string(w, "version", p->version);
	json_key_string(w, "maintainer", p->maintainer);
	json_key_string(w, "vendor", p->vendor);
	json_key_string(w, "signing_key", p->signing_key);
	json_end_object(w);
}

static int print_json(const struct inspect *in, const char *path, const char *hex,
		      const struct embargo_identity *id, const struct verdict *v)
{
	struct json_writer w = JSON_WRITER_INIT;

	json_begin_object(&w);
	json_key_string(&w, "path", path);
	json_key_string(&w, "resolved_path", id->path);
	json_key_string(&w, "sha256", hex);
	json_key_u64(&w, "size", id->size);
	json_key_string(&w, "format", id->format);
	json_key_string(&w, "build_id", id->build_id);
	json_key_array(&w, "signatures");
	for (size_t i = 0; i < id->n_sigs; i++)
		json_signature(&w, &id->sigs[i]);
	json_end_array(&w);
	json_key_array(&w, "packages");
	for (size_t i = 0; i < id->n_pkgs; i++)
		json_package(&w, &id->pkgs[i]);
	json_end_array(&w);
	json_key_string(&w, "policy", in->policy ? in->policy->path : NULL);
	json_key_bool(&w, "identity_rules_checked", v->identity_checked);
	json_key_bool(&w, "match", v->match);
	if (v->match) {
		json_key_string(&w, "vendor", v->vendor);
		json_key_string(&w, "rule", v->rule);
		json_key_string(&w, "kind", v->kind);
		json_key_string(&w, "why", v->why);
		json_key_string(&w, "label", v->label);
		json_key_string(&w, "vendor_mode", v->vendor_mode);
		json_key_string(&w, "effective_mode", v->effective_mode);
		json_key_string(&w, "action", v->action);
	}
	json_end_object(&w);
	return print_json_line(&w);
}

/* ---- one file ---- */

/* The canonical path of what fd is open on (symlinks resolved), else of path. */
static int canonical_path(int fd, const char *path, char **ret)
{
	char proc[64], buf[PATH_MAX];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, buf, sizeof(buf) - 1);
	if (n > 0 && buf[0] == '/') {
		buf[n] = '\0';
		*ret = strdup(buf);
	} else {
		*ret = realpath(path, NULL);
		if (!*ret && errno != ENOMEM)
			*ret = strdup(path);
	}
	return *ret ? 0 : -ENOMEM;
}

/* The daemon's verdict on the digest: CTL_EXIT_OK with *v, or the status to return for this file. */
static int ask_daemon(const struct inspect *in, const char *path, const char *hex, uint64_t size,
		      struct json_value **reply, struct verdict *v)
{
	_cleanup_free_ char *body = NULL;
	char request[sizeof("lookup ") + SHA256_HEX_LEN], msg[1024];
	int r, status;

	snprintf(request, sizeof(request), "lookup %s", hex);
	r = ctl_call(in->ctl, request, &body);
	if (r < 0) {
		status = ctl_call_status(r, body);
		if (status == CTL_EXIT_NO_DAEMON) {
			ctl_call_failed(in->ctl, "inspect", r, body);
			fputs("embargoctl: inspect: use --policy PATH to check files without the daemon\n",
			      stderr);
			return status;
		}
		return report_error(in, path, hex, size,
				    ctl_call_strerror(in->ctl, r, body, msg, sizeof(msg)));
	}
	if (verdict_from_reply(body, reply, v) < 0)
		return report_error(in, path, hex, size, "embargod's reply to the lookup is not understood");
	return CTL_EXIT_OK;
}

/* One file: CTL_EXIT_OK or CTL_EXIT_PROHIBITED, CTL_EXIT_ERROR for this file, CTL_EXIT_NO_DAEMON to stop. */
static int inspect_one(const struct inspect *in, const char *path)
{
	_cleanup_(embargo_identity_free) struct embargo_identity id = {};
	_cleanup_(json_value_freep) struct json_value *reply = NULL;
	_cleanup_free_ char *canonical = NULL;
	_cleanup_close_ int fd = -1;
	struct embargo_subject subject = {};
	struct embargo_decision dec;
	char hex[SHA256_HEX_LEN + 1], msg[1024];
	struct verdict v;
	bool incomplete = false;
	int r, status;

	/* Follows symlinks; O_NONBLOCK: a FIFO named by mistake does not hang the open. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return report_error(in, path, NULL, 0, file_strerror(-errno));
	r = embargo_sha256_fd(fd, subject.sha256, &subject.size);
	if (r < 0)
		return report_error(in, path, NULL, 0, file_strerror(r));
	hex_encode(subject.sha256, SHA256_LEN, hex);
	r = canonical_path(fd, path, &canonical);
	if (r < 0)
		return report_error(in, path, hex, subject.size, strerror(-r));
	subject.fd = fd;
	subject.path = canonical;

	r = embargo_decide(in->decider, &subject, EMBARGO_DECIDE_ALL, &id, &dec);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "cannot match it against the policy: %s",
			 r == -ENOENT ? "the C.UTF-8 locale is missing" : strerror(-r));
		return report_error(in, path, hex, subject.size, msg);
	}
	/* A worker that failed (-EIO) is shown as the malformed entry it left, with why; anything else is
	 * ours. */
	if (dec.sig_error && dec.sig_error != -EIO) {
		snprintf(msg, sizeof(msg), "cannot read its signatures: %s", strerror(-dec.sig_error));
		return report_error(in, path, hex, subject.size, msg);
	}
	if (dec.pkg_error) {
		/* The rest is still shown; the exit status says the answer is incomplete. */
		fputs("embargoctl: inspect: ", stderr);
		ctl_print_safe(stderr, path);
		fprintf(stderr, ": cannot find the packages owning it: %s\n", strerror(-dec.pkg_error));
		incomplete = true;
	}

	if (in->policy) {
		verdict_from_decision(in, &dec, &v);
	} else {
		status = ask_daemon(in, path, hex, id.size, &reply, &v);
		if (status != CTL_EXIT_OK)
			return status;
	}
	status = CTL_EXIT_OK;
	if (in->json)
		status = print_json(in, path, hex, &id, &v);
	else
		print_human(path, hex, &id, &v);
	if (status != CTL_EXIT_OK || incomplete)
		return CTL_EXIT_ERROR;
	return v.match ? CTL_EXIT_PROHIBITED : CTL_EXIT_OK;
}

/* ---- the policy ---- */

/*
 * What the running daemon says of itself: its global mode and tier into *in, and in *path the policy it
 * was started on (NULL when it names none), owned by *status or *resolved. CTL_EXIT_OK or the exit status.
 */
static int daemon_policy_path(struct inspect *in, struct json_value **status, char **resolved,
			      const char **path)
{
	_cleanup_free_ char *body = NULL;
	const struct json_value *pol;
	bool enforcing = true;
	uint64_t pid = 0;
	int r;

	r = ctl_call(in->ctl, "status", &body);
	if (r < 0) {
		r = ctl_call_failed(in->ctl, "inspect", r, body);
		fputs("embargoctl: inspect: use --policy PATH to check files without the daemon\n", stderr);
		return r;
	}
	if (json_parse(body, strlen(body), status) < 0)
		return ctl_error("inspect", "embargod's status is not understood");
	(void)embargo_mode_from_string(json_get_string(*status, "mode") ?: "", &in->global_mode);
	in->detect_only = json_get_bool(*status, "enforcing", &enforcing) == 0 && !enforcing;
	pol = json_get(*status, "policy");
	*path = pol ? json_get_string(pol, "path") : NULL;
	/* A relative path is the daemon's, from its working directory. */
	if (*path && (*path)[0] != '/' && json_get_u64(*status, "pid", &pid) == 0 &&
	    asprintf(resolved, "/proc/%" PRIu64 "/cwd/%s", pid, *path) >= 0)
		*path = *resolved;
	return CTL_EXIT_OK;
}

/*
 * --policy PATH, else the policy the running daemon was started on (loaded here from its path, as `scan`
 * does). CTL_EXIT_OK with in->policy set, or unset when the daemon's cannot be had (digests are then asked
 * of the daemon, and identity rules are not checked); otherwise the exit status.
 */
static int load_policy(struct inspect *in, const char *path, struct embargo_policy **ret)
{
	_cleanup_(json_value_freep) struct json_value *status = NULL;
	_cleanup_free_ char *resolved = NULL;
	struct embargo_policy_error err = {};
	char buf[sizeof(err.file) + sizeof(err.message) + 64];
	bool from_daemon = !path;
	int r;

	in->global_mode = EMBARGO_MODE_INHERIT;
	if (from_daemon) {
		r = daemon_policy_path(in, &status, &resolved, &path);
		if (r != CTL_EXIT_OK)
			return r;
		if (!path) {
			fputs("embargoctl: inspect: embargod's status names no policy path: only digests are "
			      "looked up; give --policy PATH to check identity rules\n",
			      stderr);
			return CTL_EXIT_OK;
		}
	}
	r = embargo_policy_load(path, ret, &err);
	if (r < 0) {
		fputs("embargoctl: inspect: ", stderr);
		if (from_daemon)
			fputs("cannot load embargod's policy (only digests are looked up; give --policy PATH "
			      "to "
			      "check identity rules): ",
			      stderr);
		ctl_print_safe(stderr, embargo_policy_error_format(&err, buf, sizeof(buf)));
		fputc('\n', stderr);
		return from_daemon ? CTL_EXIT_OK : CTL_EXIT_ERROR;
	}
	in->policy = *ret;
	return CTL_EXIT_OK;
}

int cmd_inspect(const struct ctl *ctl, int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "policy", required_argument, NULL, 'p' },
		{ "ima-keyring", required_argument, NULL, 'k' },
		{ "dpkg-admindir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_(embargo_policy_freep) struct embargo_policy *policy = NULL;
	_cleanup_free_ struct embargo_policy *empty = NULL;
	_cleanup_(embargo_decider_freep) struct embargo_decider *decider = NULL;
	_cleanup_free_ const char **keyring = calloc((size_t)argc + 1, sizeof(*keyring));
	struct inspect in = { .ctl = ctl };
	const char *policy_path = NULL, *admindir = NULL;
	bool prohibited = false, failed = false;
	size_t n_keyring = 0;
	int c, r;

	if (!keyring)
		return ctl_error("inspect", "%s", strerror(ENOMEM));
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (c) {
		case 'j':
			in.json = true;
			break;
		case 'p':
			policy_path = optarg;
			break;
		case 'k':
			keyring[n_keyring++] = optarg;
			break;
		case 'd':
			if (!*optarg)
				return ctl_usage_error("inspect", "--dpkg-admindir needs a directory");
			admindir = optarg;
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

	r = load_policy(&in, policy_path, &policy);
	if (r != CTL_EXIT_OK)
		return r;
	/* Without a policy the decision core still gathers every fact; the digest is the daemon's to judge.
	 */
	if (!in.policy && !(empty = calloc(1, sizeof(*empty))))
		return ctl_error("inspect", "%s", strerror(ENOMEM));
	r = ctl_decider_new("inspect", in.policy ? in.policy : empty,
			    &(struct embargo_decider_opts){ .ima_keyring = keyring,
							    .n_ima_keyring = n_keyring,
							    .dpkg_admindir = admindir,
							    .all_facts = true },
			    &decider);
	if (r != CTL_EXIT_OK)
		return r;
	in.decider = decider;

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
