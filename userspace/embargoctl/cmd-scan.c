// SPDX-License-Identifier: GPL-2.0
/*
 * embargoctl scan [PATH...] [--json] [--jobs N] [--all] [--policy PATH] [--cache PATH | --no-cache]
 *                 [--no-processes] [--dpkg-admindir DIR] [--ima-keyring FILE]...
 * The inventory: every file under PATH (default: the local filesystems from /) and every running process
 * that a policy lists. Results on stdout (one line, or one JSON object, per match), progress and summary on
 * stderr, the progress line only when stderr is a terminal.
 */
#include "embargoctl.h"

#include "json.h"
#include "policy.h"
#include "scan.h"
#include "util.h"
#include "verdict.h"

#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#define SHOW_UNREADABLE 5

struct unreadable {
	char *path;
	char *why;
};

struct scanctl {
	const struct embargo_policy *policy;
	bool json;
	bool progress;	     /* stderr is a terminal */
	bool progress_shown; /* a progress line is on it now */
	bool running_header; /* "Running:" printed */
	struct unreadable shown[SHOW_UNREADABLE];
	size_t n_shown;
	uint64_t process_matches;
};

static volatile bool interrupted;
static volatile sig_atomic_t caught;

static void on_signal(int sig)
{
	caught = sig;
	interrupted = true;
}

static void clear_progress(struct scanctl *sc)
{
	if (!sc->progress_shown)
		return;
	fputs("\r\033[K", stderr);
	sc->progress_shown = false;
}

static const char *owner_name(uid_t uid, char *buf, size_t size)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, size, "%s", res->pw_name);
	else
		snprintf(buf, size, "%u", (unsigned)uid);
	return buf;
}

static const char *utc_time(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "%lld", (long long)t);
	return buf;
}

static void print_json_line(struct json_writer *w)
{
	_cleanup_free_ char *text = NULL;
	int r = json_writer_finish(w, &text, NULL);

	if (r < 0)
		ctl_error("scan", "cannot write JSON: %s", strerror(-r));
	else
		puts(text);
}

static void json_rule(struct json_writer *w, const struct embargo_policy *p, const struct embargo_match *m,
		      const uint8_t sha256[SHA256_LEN])
{
	char hex[SHA256_HEX_LEN + 1];

	hex_encode(sha256, SHA256_LEN, hex);
	json_key_string(w, "sha256", hex);
	json_key_string(w, "vendor", p->vendors[m->vendor].name);
	json_key_string(w, "rule", m->location);
	json_key_string(w, "kind", embargo_match_kind_name(m));
	json_key_string(w, "why", m->why);
	json_key_string(w, "label", m->rule ? m->rule->label : NULL);
}

/* "VENDOR  RULE  SHA256" */
static void print_rule(const struct embargo_policy *p, const struct embargo_match *m,
		       const uint8_t sha256[SHA256_LEN])
{
	char hex[SHA256_HEX_LEN + 1];

	hex_encode(sha256, SHA256_LEN, hex);
	ctl_print_safe(stdout, p->vendors[m->vendor].name);
	fputs("  ", stdout);
	ctl_print_safe(stdout, m->location);
	printf("  %s", hex);
}

/* "  (KIND: WHY)": the last column, since why may hold spaces. */
static void print_why(const struct embargo_match *m)
{
	fputs("  (", stdout);
	ctl_print_safe(stdout, embargo_match_kind_name(m));
	fputs(": ", stdout);
	ctl_print_safe(stdout, m->why);
	putchar(')');
}

static void on_file(void *userdata, const struct embargo_scan_file *f)
{
	struct scanctl *sc = userdata;
	char owner[256], mtime[64];
	struct json_writer w = JSON_WRITER_INIT;

	if (!f->match)
		return;
	clear_progress(sc);
	owner_name(f->st->st_uid, owner, sizeof(owner));
	utc_time(f->st->st_mtime, mtime, sizeof(mtime));
	if (!sc->json) {
		/* path  vendor  rule  sha256  size  owner  mtime  (kind: why) */
		ctl_print_safe(stdout, f->path);
		fputs("  ", stdout);
		print_rule(sc->policy, f->match, f->sha256);
		printf("  %" PRIu64 "  ", (uint64_t)f->st->st_size);
		ctl_print_safe(stdout, owner);
		printf("  %s", mtime);
		print_why(f->match);
		putchar('\n');
		return;
	}
	json_begin_object(&w);
	json_key_string(&w, "type", "file");
	json_key_string(&w, "path", f->path);
	json_rule(&w, sc->policy, f->match, f->sha256);
	json_key_u64(&w, "size", (uint64_t)f->st->st_size);
	json_key_u64(&w, "uid", f->st->st_uid);
	json_key_string(&w, "owner", owner);
	json_key_string(&w, "mtime", mtime);
	json_key_u64(&w, "device", f->st->st_dev);
	json_key_u64(&w, "inode", f->st->st_ino);
	json_key_bool(&w, "from_cache", f->from_cache);
	json_end_object(&w);
	print_json_line(&w);
}

static void on_process(void *userdata, const struct embargo_process_match *m)
{
	struct scanctl *sc = userdata;
	struct json_writer w = JSON_WRITER_INIT;
	char user[256];

	sc->process_matches++;
	owner_name(m->uid, user, sizeof(user));
	if (!sc->json) {
		/* pid  user  exe|map  path[ (deleted)]  vendor  rule  sha256  unit-or-cgroup  cmdline  (kind:
		 * why) */
		if (!sc->running_header)
			puts("Running:");
		sc->running_header = true;
		printf("  %d  ", (int)m->pid);
		ctl_print_safe(stdout, user);
		fputs(m->exe ? "  exe  " : "  map  ", stdout);
		ctl_print_safe(stdout, m->path);
		fputs(m->deleted ? " (deleted)  " : "  ", stdout);
		print_rule(sc->policy, m->match, m->sha256);
		fputs("  ", stdout);
		ctl_print_safe(stdout, m->unit ? m->unit : m->cgroup ? m->cgroup : "-");
		fputs("  ", stdout);
		ctl_print_safe(stdout, m->cmdline);
		print_why(m->match);
		putchar('\n');
		return;
	}
	json_begin_object(&w);
	json_key_string(&w, "type", "process");
	json_key_i64(&w, "pid", m->pid);
	json_key_u64(&w, "uid", m->uid);
	json_key_string(&w, "user", user);
	json_key_string(&w, "comm", m->comm);
	json_key_string(&w, "cmdline", m->cmdline);
	json_key_string(&w, "cgroup", m->cgroup);
	json_key_string(&w, "unit", m->unit);
	json_key_string(&w, "path", m->path);
	json_key_bool(&w, "exe", m->exe);
	json_key_bool(&w, "deleted", m->deleted);
	json_rule(&w, sc->policy, m->match, m->sha256);
	json_key_u64(&w, "size", (uint64_t)m->st->st_size);
	json_key_u64(&w, "device", m->st->st_dev);
	json_key_u64(&w, "inode", m->st->st_ino);
	json_end_object(&w);
	print_json_line(&w);
}

static void on_error(void *userdata, const struct embargo_scan_error *e)
{
	struct scanctl *sc = userdata;
	const char *why = e->detail ? e->detail : strerror(-e->err);

	switch (e->kind) {
	case EMBARGO_SCAN_ERROR_FILE:
		if (sc->n_shown < SHOW_UNREADABLE) {
			sc->shown[sc->n_shown].path = strdup(e->path);
			sc->shown[sc->n_shown].why =
				e->detail ? strdup(e->detail) : strdup(strerror(-e->err));
			sc->n_shown++;
		}
		return;
	case EMBARGO_SCAN_ERROR_PROCESS:
		return; /* counted in the summary: as non-root, most processes are not ours to read */
	case EMBARGO_SCAN_ERROR_DECISION:
	case EMBARGO_SCAN_ERROR_ROOT:
	case EMBARGO_SCAN_ERROR_CACHE:
		break;
	}
	clear_progress(sc);
	fprintf(stderr, "embargoctl: scan: %s", e->kind == EMBARGO_SCAN_ERROR_CACHE ? "cache " : "");
	ctl_print_safe(stderr, e->path);
	fputs(": ", stderr);
	ctl_print_safe(stderr, why);
	if (e->kind == EMBARGO_SCAN_ERROR_CACHE && e->detail && e->err != -ENOENT)
		fprintf(stderr, " (%s)", strerror(-e->err));
	fputc('\n', stderr);
}

static void on_progress(void *userdata, const struct embargo_scan_progress *p)
{
	struct scanctl *sc = userdata;
	double s = (double)p->elapsed_ns / 1e9;

	if (!sc->progress || s <= 0)
		return;
	fprintf(stderr, "\r\033[Kscan: %" PRIu64 " files, %.0f files/s, %.0f MB/s, %" PRIu64 " matches",
		p->files_seen, (double)p->files_seen / s, (double)p->bytes_hashed / 1e6 / s, p->matches);
	if (p->entries_estimate > p->entries_seen && p->entries_seen > 0 && s >= 1) {
		uint64_t eta = (uint64_t)(s * (double)(p->entries_estimate - p->entries_seen) /
					  (double)p->entries_seen);

		fprintf(stderr, ", ETA %" PRIu64 ":%02" PRIu64, eta / 60, eta % 60);
	}
	sc->progress_shown = true;
}

/* --policy, else the path of the policy the running daemon enforces (there is no request for the policy
 * itself: it is loaded from that path here, as the daemon loaded it). */
static int load_policy(const struct ctl *ctl, const char *path, struct embargo_policy **ret)
{
	_cleanup_(json_value_freep) struct json_value *status = NULL;
	_cleanup_free_ char *body = NULL, *resolved = NULL;
	struct embargo_policy_error err = {};
	char buf[sizeof(err.file) + sizeof(err.message) + 64];
	const struct json_value *pol;
	uint64_t pid = 0;
	int r;

	if (!path) {
		r = ctl_call(ctl, "status", &body);
		if (r < 0) {
			ctl_error("scan", "no policy: %s", ctl_call_strerror(ctl, r, body, buf, sizeof(buf)));
			fputs("embargoctl: scan: give one with --policy PATH\n", stderr);
			return CTL_EXIT_ERROR;
		}
		if (json_parse(body, strlen(body), &status) < 0 || !(pol = json_get(status, "policy")) ||
		    !(path = json_get_string(pol, "path")))
			return ctl_error(
				"scan",
				"embargod's status names no policy path; give one with --policy PATH");
		/* A relative path is the daemon's, from its working directory. */
		if (path[0] != '/' && json_get_u64(status, "pid", &pid) == 0 &&
		    asprintf(&resolved, "/proc/%" PRIu64 "/cwd/%s", pid, path) >= 0)
			path = resolved;
	}
	r = embargo_policy_load(path, ret, &err);
	if (r < 0) {
		fputs("embargoctl: scan: ", stderr);
		ctl_print_safe(stderr, embargo_policy_error_format(&err, buf, sizeof(buf)));
		fputc('\n', stderr);
		return CTL_EXIT_ERROR;
	}
	return CTL_EXIT_OK;
}

static void summary_json(const struct scanctl *sc, const struct embargo_scan_stats *st, const char *cache,
			 bool processes)
{
	struct json_writer w = JSON_WRITER_INIT;
	uint64_t ms = st->elapsed_ns / 1000000;

	json_begin_object(&w);
	json_key_string(&w, "type", "summary");
	json_key_u64(&w, "files_seen", st->files_seen);
	json_key_u64(&w, "files_hashed", st->files_hashed);
	json_key_u64(&w, "files_cached", st->files_cached);
	json_key_u64(&w, "files_probed", st->files_probed);
	json_key_u64(&w, "bytes_hashed", st->bytes_hashed);
	json_key_u64(&w, "dirs", st->dirs);
	json_key_u64(&w, "other_skipped", st->other_skipped);
	json_key_u64(&w, "mounts_skipped", st->mounts_skipped);
	json_key_u64(&w, "unreadable", st->unreadable);
	json_key_array(&w, "unreadable_first");
	for (size_t i = 0; i < sc->n_shown; i++) {
		json_begin_object(&w);
		json_key_string(&w, "path", sc->shown[i].path);
		json_key_string(&w, "error", sc->shown[i].why);
		json_end_object(&w);
	}
	json_end_array(&w);
	json_key_u64(&w, "roots_failed", st->roots_failed);
	json_key_u64(&w, "matches", st->matches);
	json_key_u64(&w, "elapsed_ms", ms);
	json_key_u64(&w, "bytes_per_s", ms ? st->bytes_hashed * 1000 / ms : 0);
	json_key_object(&w, "cache");
	json_key_string(&w, "path", cache);
	json_key_bool(&w, "loaded", st->cache_loaded);
	json_key_u64(&w, "entries", st->cache_entries);
	json_key_bool(&w, "rejected", st->cache_rejected);
	json_key_bool(&w, "written", st->cache_written);
	json_key_bool(&w, "unchanged", st->cache_unchanged);
	json_end_object(&w);
	if (processes) {
		json_key_object(&w, "processes");
		json_key_u64(&w, "checked", st->processes);
		json_key_u64(&w, "files", st->process_files);
		json_key_u64(&w, "hashed", st->process_hashed);
		json_key_u64(&w, "errors", st->process_errors);
		json_key_u64(&w, "matches", st->process_matches);
		json_key_u64(&w, "elapsed_ms", st->process_elapsed_ns / 1000000);
		json_end_object(&w);
	}
	json_end_object(&w);
	print_json_line(&w);
}

static void summary_text(const struct scanctl *sc, const struct embargo_scan_stats *st, const char *cache,
			 bool processes)
{
	double s = (double)st->elapsed_ns / 1e9;

	fprintf(stderr,
		"scan: %" PRIu64 " files seen, %" PRIu64 " hashed (%.1f MB), %" PRIu64
		" from the cache, %" PRIu64 " probed not code, %" PRIu64 " unreadable; %" PRIu64
		" matches; %.2f s, %.0f MB/s\n",
		st->files_seen, st->files_hashed, (double)st->bytes_hashed / 1e6, st->files_cached,
		st->files_probed, st->unreadable, st->matches, s,
		s > 0 ? (double)st->bytes_hashed / 1e6 / s : 0);
	for (size_t i = 0; i < sc->n_shown; i++) {
		fputs("scan: unreadable: ", stderr);
		ctl_print_safe(stderr, sc->shown[i].path);
		fputs(": ", stderr);
		ctl_print_safe(stderr, sc->shown[i].why);
		fputc('\n', stderr);
	}
	if (st->unreadable > sc->n_shown)
		fprintf(stderr, "scan: unreadable: %" PRIu64 " more\n", st->unreadable - sc->n_shown);
	if (cache) {
		fputs("scan: cache ", stderr);
		ctl_print_safe(stderr, cache);
		fprintf(stderr, ": %s%s\n",
			st->cache_loaded     ? "used"
			: st->cache_rejected ? "rejected, rebuilt"
					     : "none yet",
			st->cache_written     ? ", rewritten"
			: st->cache_unchanged ? ", unchanged"
					      : ", not written");
	}
	if (processes)
		fprintf(stderr,
			"scan: running: %" PRIu64 " processes, %" PRIu64 " files checked (%" PRIu64
			" hashed), %" PRIu64 " not readable; %" PRIu64 " matches; %.2f s\n",
			st->processes, st->process_files, st->process_hashed, st->process_errors,
			st->process_matches, (double)st->process_elapsed_ns / 1e9);
}

static void free_shown(struct scanctl *sc)
{
	for (size_t i = 0; i < sc->n_shown; i++) {
		free(sc->shown[i].path);
		free(sc->shown[i].why);
	}
	sc->n_shown = 0;
}

/* Interrupted: leave as the signal would have (the library removed its temporary cache file). */
static void die_of_signal(int sig)
{
	fflush(stdout);
	signal(sig, SIG_DFL);
	raise(sig);
}

int cmd_scan(const struct ctl *ctl, int argc, char **argv)
{
	/* clang-format off: one option a line */
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "jobs", required_argument, NULL, 'J' },
		{ "all", no_argument, NULL, 'a' },
		{ "policy", required_argument, NULL, 'p' },
		{ "cache", required_argument, NULL, 'c' },
		{ "no-cache", no_argument, NULL, 'C' },
		{ "no-processes", no_argument, NULL, 'P' },
		{ "dpkg-admindir", required_argument, NULL, 'd' },
		{ "ima-keyring", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	/* clang-format on */
	_cleanup_(embargo_policy_freep) struct embargo_policy *policy = NULL;
	_cleanup_(embargo_decider_freep) struct embargo_decider *decider = NULL;
	struct scanctl sc = { .progress = isatty(STDERR_FILENO) == 1 };
	struct embargo_scan_opts o = { .on_file = on_file,
				       .on_error = on_error,
				       .on_progress = on_progress,
				       .on_process = on_process,
				       .userdata = &sc,
				       .cancel = &interrupted };
	struct embargo_scan_stats st = {};
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
	_cleanup_free_ const char **keyring = calloc((size_t)argc + 1, sizeof(*keyring));
	const char *policy_path = NULL, *admindir = NULL;
	size_t n_keyring = 0;
	bool no_cache = false, processes = true;
	int c, r, rp = 0, status;
	uint32_t jobs;

	if (!keyring)
		return ctl_error("scan", "%s", strerror(ENOMEM));
	o.cache_path = geteuid() == 0 ? EMBARGO_SCAN_CACHE_PATH : NULL;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (c) {
		case 'j':
			sc.json = true;
			break;
		case 'J':
			if (parse_u32(optarg, &jobs) < 0 || jobs == 0 || jobs > 256)
				return ctl_usage_error("scan", "--jobs: '%s' is not a number from 1 to 256",
						       optarg);
			o.jobs = jobs;
			break;
		case 'a':
			o.all = true;
			break;
		case 'p':
			policy_path = optarg;
			break;
		case 'c':
			if (!*optarg)
				return ctl_usage_error("scan", "--cache needs a file");
			o.cache_path = optarg;
			break;
		case 'C':
			no_cache = true;
			break;
		case 'P':
			processes = false;
			break;
		case 'd':
			if (!*optarg)
				return ctl_usage_error("scan", "--dpkg-admindir needs a directory");
			admindir = optarg;
			break;
		case 'k':
			keyring[n_keyring++] = optarg;
			break;
		case 'h':
			ctl_usage(stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_bad_option("scan", c, argv);
		}
	}
	if (no_cache)
		o.cache_path = NULL;
	o.paths = (const char *const *)argv + optind;
	o.n_paths = (size_t)(argc - optind);

	status = load_policy(ctl, policy_path, &policy);
	if (status != CTL_EXIT_OK)
		return status;
	sc.policy = policy;
	/* The same decision as inspect's, for every file and process (verdict.h). */
	status = ctl_decider_new("scan", policy,
				 &(struct embargo_decider_opts){ .ima_keyring = keyring,
								 .n_ima_keyring = n_keyring,
								 .dpkg_admindir = admindir },
				 &decider);
	if (status != CTL_EXIT_OK)
		return status;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	r = embargo_scan(decider, &o, &st);
	clear_progress(&sc);
	if (r >= 0 && processes)
		rp = embargo_scan_processes(decider, &o, &st);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	clear_progress(&sc);
	if (r == -ECANCELED || rp == -ECANCELED) {
		free_shown(&sc);
		die_of_signal(caught ? caught : SIGINT);
		return CTL_EXIT_ERROR;
	}
	if (r < 0 || rp < 0) {
		free_shown(&sc);
		return ctl_error("scan", "%s: %s", r < 0 ? "scan failed" : "reading the processes failed",
				 strerror(r < 0 ? -r : -rp));
	}
	if (sc.json)
		summary_json(&sc, &st, o.cache_path, processes);
	else
		summary_text(&sc, &st, o.cache_path, processes);
	free_shown(&sc);
	/* As inspect: an error wins, the result being incomplete. */
	if (st.roots_failed)
		return CTL_EXIT_ERROR;
	return st.matches || sc.process_matches ? CTL_EXIT_PROHIBITED : CTL_EXIT_OK;
}
