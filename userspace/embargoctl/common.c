// SPDX-License-Identifier: GPL-2.0
/* embargoctl: messages, and requests to the daemon. */
#include "embargoctl.h"

#include "control.h"
#include "json.h"
#include "pkg.h"
#include "util.h"
#include "verdict.h"

#include <getopt.h>
#include <stdarg.h>
#include <string.h>

static void vreport(const char *what, const char *fmt, va_list ap)
{
	fputs("embargoctl: ", stderr);
	if (what)
		fprintf(stderr, "%s: ", what);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int ctl_error(const char *what, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(what, fmt, ap);
	va_end(ap);
	return CTL_EXIT_ERROR;
}

int ctl_usage_error(const char *what, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(what, fmt, ap);
	va_end(ap);
	fputs("Try 'embargoctl --help' for more information.\n", stderr);
	return CTL_EXIT_USAGE;
}

int ctl_bad_option(const char *what, int c, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	bool is_long = strncmp(arg, "--", 2) == 0;

	if (c == ':')
		return is_long || !optopt
			       ? ctl_usage_error(what, "option '%s' requires an argument", arg)
			       : ctl_usage_error(what, "option '-%c' requires an argument", optopt);
	return is_long || !optopt ? ctl_usage_error(what, "unrecognized option '%s'", arg)
				  : ctl_usage_error(what, "invalid option -- '%c'", optopt);
}

int ctl_parse_no_options(const char *what, int argc, char **argv)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (c != 'h')
			return ctl_bad_option(what, c, argv);
		ctl_usage(stdout);
		return CTL_EXIT_OK;
	}
	return -1;
}

int ctl_parse_json_option(const char *what, int argc, char **argv, bool *json)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	*json = false;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (c) {
		case 'j':
			*json = true;
			break;
		case 'h':
			ctl_usage(stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_bad_option(what, c, argv);
		}
	}
	if (optind < argc)
		return ctl_usage_error(what, "unexpected argument '%s'", argv[optind]);
	return -1;
}

void ctl_print_safe(FILE *f, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t len = json_utf8_len(s + i, n - i);
		/* C1 controls, U+0080..U+009F: some terminals act on them too. */
		bool c1 = len == 2 && c == 0xc2 && (unsigned char)s[i + 1] < 0xa0;

		if (len == 0 || c < 0x20 || c == 0x7f || c1) {
			fprintf(f, "\\x%02x", c);
			i++;
			continue;
		}
		fwrite(s + i, 1, len, f);
		i += len;
	}
}

void ctl_print_strings(const struct json_value *array, const char *indent)
{
	for (size_t i = 0; array && array->type == JSON_ARRAY && i < array->n; i++) {
		if (array->members[i].value.type != JSON_STRING)
			continue;
		fputs(indent, stdout);
		ctl_print_safe(stdout, array->members[i].value.string);
		putchar('\n');
	}
}

void ctl_print_probe(const struct json_value *probe, const char *indent)
{
	int width = 0;

	if (!probe || probe->type != JSON_ARRAY)
		return;
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

		printf("%s%-4s  ", indent, json_get_bool(p, "ok", &ok) < 0 ? "?" : ok ? "ok" : "FAIL");
		ctl_print_safe(stdout, check);
		if (detail && *detail) {
			printf("%*s  ", width - (int)strlen(check), "");
			ctl_print_safe(stdout, detail);
		}
		putchar('\n');
	}
}

int ctl_call(const struct ctl *ctl, const char *request, char **body)
{
	return embargo_control_call(ctl->runtime_dir, request, ctl->timeout_ms, body);
}

const char *ctl_call_strerror(const struct ctl *ctl, int r, const char *body, char *buf, size_t size)
{
	char path[256];

	if (body) {
		snprintf(buf, size, "embargod: %s", *body ? body : strerror(-r));
		return buf;
	}
	if (embargo_control_path(ctl->runtime_dir, path, sizeof(path)) < 0)
		snprintf(path, sizeof(path), "%.200s/%s", ctl->runtime_dir, EMBARGO_CONTROL_NAME);
	switch (-r) {
	case ENOENT:
		snprintf(buf, size, "embargod is not running (no control socket %s)", path);
		break;
	case ECONNREFUSED:
		snprintf(buf, size, "embargod is not running (nothing listening on %s)", path);
		break;
	case EACCES:
	case EPERM:
		snprintf(buf, size, "cannot connect to %s: %s (embargoctl must run as root)", path,
			 strerror(-r));
		break;
	case ECONNRESET:
	case EPIPE:
		snprintf(
			buf, size,
			"embargod closed the connection without replying (only root may use the control socket)");
		break;
	case ETIMEDOUT:
		snprintf(buf, size, "embargod did not reply within %d ms (see --timeout)", ctl->timeout_ms);
		break;
	case EBADMSG:
		snprintf(buf, size, "embargod sent a malformed reply");
		break;
	case ENAMETOOLONG:
		snprintf(buf, size, "the runtime directory is too long for a socket path: %.200s...",
			 ctl->runtime_dir);
		break;
	default:
		snprintf(buf, size, "cannot talk to embargod at %s: %s", path, strerror(-r));
		break;
	}
	return buf;
}

int ctl_call_status(int r, const char *body)
{
	return !body && (r == -ENOENT || r == -ECONNREFUSED) ? CTL_EXIT_NO_DAEMON : CTL_EXIT_ERROR;
}

int ctl_call_object(const struct ctl *ctl, const char *request, const char *what, bool json,
		    struct json_value **ret)
{
	_cleanup_free_ char *body = NULL;
	size_t len;
	int r;

	*ret = NULL;
	r = ctl_call(ctl, request, &body);
	if (r < 0)
		return ctl_call_failed(ctl, what, r, body);
	len = strlen(body);
	if (json) {
		fputs(body, stdout);
		if (len == 0 || body[len - 1] != '\n')
			putchar('\n');
		return CTL_EXIT_OK;
	}
	r = json_parse(body, len, ret);
	if (r < 0 || (*ret)->type != JSON_OBJECT) {
		json_value_free(r < 0 ? NULL : *ret);
		*ret = NULL;
		return ctl_error(what, "embargod's reply is not a JSON object (try --json to see it)");
	}
	return CTL_EXIT_OK;
}

int ctl_call_failed(const struct ctl *ctl, const char *what, int r, const char *body)
{
	char msg[1024];

	fputs("embargoctl: ", stderr);
	if (what)
		fprintf(stderr, "%s: ", what);
	ctl_print_safe(stderr, ctl_call_strerror(ctl, r, body, msg, sizeof(msg)));
	fputc('\n', stderr);
	return ctl_call_status(r, body);
}

int ctl_decider_new(const char *what, const struct embargo_policy *p, const struct embargo_decider_opts *o,
		    struct embargo_decider **ret)
{
	int r = embargo_decider_new(p, o, ret);

	if (r == -ENOMEM)
		return ctl_error(what, "%s", strerror(ENOMEM));
	if (r < 0) {
		fprintf(stderr, "embargoctl: %s: cannot read the dpkg database ", what);
		ctl_print_safe(stderr, o && o->dpkg_admindir ? o->dpkg_admindir : EMBARGO_DPKG_ADMINDIR);
		fprintf(stderr, ": %s\n", strerror(-r));
		return CTL_EXIT_ERROR;
	}
	return CTL_EXIT_OK;
}
