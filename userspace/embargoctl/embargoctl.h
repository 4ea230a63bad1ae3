/* SPDX-License-Identifier: GPL-2.0 */
/* embargoctl: what the commands share. */
#ifndef EMBARGOCTL_H
#define EMBARGOCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sysexits.h>

#ifndef EMBARGO_VERSION
#define EMBARGO_VERSION "0.1.0"
#endif

#define CTL_DEFAULT_TIMEOUT_MS 5000

/* Exit statuses; documented in the usage text and embargoctl(8). */
enum {
	CTL_EXIT_OK = 0,		     /* success; inspect: nothing prohibited found */
	CTL_EXIT_PROHIBITED = 1,	     /* inspect: at least one file is prohibited */
	CTL_EXIT_ERROR = 2,		     /* unreadable file, bad policy, daemon error */
	CTL_EXIT_USAGE = EX_USAGE,	     /* 64 */
	CTL_EXIT_NO_DAEMON = EX_UNAVAILABLE, /* 69: embargod is not running */
};

struct ctl {
	const char *runtime_dir;
	int timeout_ms;	    /* -1: wait as long as it takes */
	bool timeout_given; /* --timeout on the command line: a command may not pick its own */
};

/* Each command gets argv from its own name on and returns the exit status. */
int cmd_status(const struct ctl *ctl, int argc, char **argv);
int cmd_mode(const struct ctl *ctl, int argc, char **argv);
int cmd_inspect(const struct ctl *ctl, int argc, char **argv);
int cmd_policy(const struct ctl *ctl, int argc, char **argv);
int cmd_doctor(const struct ctl *ctl, int argc, char **argv);
int cmd_reload(const struct ctl *ctl, int argc, char **argv);
int cmd_learned(const struct ctl *ctl, int argc, char **argv);

/* main.c */
void ctl_usage(FILE *f);

/* common.c */

/* "embargoctl: [what: ]message" on stderr; returns CTL_EXIT_ERROR. */
int ctl_error(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with a hint to --help; returns CTL_EXIT_USAGE. */
int ctl_usage_error(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * What getopt_long() returned for an option it did not accept (optstring starting with ':'), as a
 * usage error.
 */
int ctl_bad_option(const char *what, int c, char **argv);
/*
 * Option parsing for a command whose only option is -h/--help: -1 when the arguments start at argv[optind],
 * else the exit status (the help was printed, or a usage error).
 */
int ctl_parse_no_options(const char *what, int argc, char **argv);
/* The same for a command that takes only --json and -h/--help, and no arguments: *json says which. */
int ctl_parse_json_option(const char *what, int argc, char **argv, bool *json);

struct json_value;

/* A request to embargod: embargo_control_call() with the global options. */
int ctl_call(const struct ctl *ctl, const char *request, char **body);
/* Why a ctl_call() failed (r, and body when the daemon said), into buf; returns buf. */
const char *ctl_call_strerror(const struct ctl *ctl, int r, const char *body, char *buf, size_t size);
/* Reports a failed ctl_call() on stderr and returns its exit status (CTL_EXIT_NO_DAEMON or CTL_EXIT_ERROR).
 */
int ctl_call_failed(const struct ctl *ctl, const char *what, int r, const char *body);
/* The exit status for a failed ctl_call(). */
int ctl_call_status(int r, const char *body);
/*
 * A request whose reply is a JSON object: with json, the reply is printed as it came and *ret stays NULL;
 * otherwise it is parsed into *ret. CTL_EXIT_OK, or the exit status of the error reported (as what).
 */
int ctl_call_object(const struct ctl *ctl, const char *request, const char *what, bool json,
		    struct json_value **ret);

/*
 * s for a terminal: well-formed UTF-8 as is, control characters (C0, DEL, C1) and bytes outside UTF-8 as
 * \xNN, so that a file or vendor name cannot move the cursor or rewrite what was printed before it.
 */
void ctl_print_safe(FILE *f, const char *s);

struct embargo_policy;
struct embargo_decider;
struct embargo_decider_opts;
/*
 * The decision core over p for the command what (verdict.h): CTL_EXIT_OK with *ret, or the exit status
 * after saying why on stderr (a dpkg database that was named and cannot be read).
 */
int ctl_decider_new(const char *what, const struct embargo_policy *p, const struct embargo_decider_opts *o,
		    struct embargo_decider **ret);

/* Each string of a JSON array on its own line after indent, made safe (other members skipped). */
void ctl_print_strings(const struct json_value *array, const char *indent);
/* The daemon's "probe" array (check, ok, detail), one check a line after indent, details aligned. */
void ctl_print_probe(const struct json_value *probe, const char *indent);

#endif
