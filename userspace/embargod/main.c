// SPDX-License-Identifier: GPL-2.0
/*
 * embargod: loads the policy and the kernel programs, then serves one event loop: kernel events,
 * control requests, signals and a housekeeping timer.
 */
#include "bpf.h"
#include "config.h"
#include "confine.h"
#include "control-server.h"
#include "control.h"
#include "daemon.h"
#include "event.h"
#include "events.h"
#include "fanotify.h"
#include "hybrid.h"
#include "ident.h"
#include "log.h"
#include "protection.h"
#include "reload.h"
#include "startscan.h"
#include "state.h"
#include "tier.h"
#include "util.h"

#include <getopt.h>
#include <systemd/sd-daemon.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/utsname.h>
#include <limits.h>
#include <sys/timerfd.h>
#include <sysexits.h>

#define SWEEP_INTERVAL_S 2

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: embargod [--config PATH] [OPTIONS]\n"
		"Keeps a prohibited vendor's code from running: see embargod(8).\n"
		"Options override the configuration file (default " EMBARGO_CONFIG_PATH
		", see embargo.conf(5)).\n\n"
		"  -c, --config PATH        configuration file\n"
		"  -p, --policy PATH        policy file or directory of *.policy files\n"
		"  -m, --mode MODE          audit | enforce\n"
		"  -t, --tier TIER          auto | lsm-hash | lsm | fanotify | detect (auto: the best that "
		"works)\n"
		"  -l, --log TARGET         auto | journal | stderr\n"
		"  -r, --runtime-dir DIR    control socket directory\n"
		"      --fanotify-path DIR  fanotify tier: mark this filesystem (repeatable; default: every\n"
		"                           local filesystem)\n"
		"      --decision-timeout-ms N  fanotify tier: longest wait for a verdict\n"
		"      --on-timeout allow|deny  fanotify tier: the answer when it runs out\n"
		"      --scan-path DIR      the start-up scan walks this tree (repeatable; replaces "
		"scan_paths)\n"
		"      --no-scan            no start-up scan\n"
		"      --kill-running       enforce mode: kill processes found running prohibited code at "
		"start\n"
		"      --keep-enforcement-on-exit  leave the kernel programs attached after a clean stop\n"
		"      --state-dir DIR      persistent state (scan cache)\n"
		"      --no-self-protection let other processes signal, trace and unload embargod in "
		"enforce\n"
		"                           mode (test suites that stop it by PID)\n"
		"      --print-config       print the effective configuration and exit\n"
		"  -v, --verbose            also log debug messages (libbpf, verifier)\n"
		"  -h, --help\n");
}

enum {
	OPT_FANOTIFY_PATH = 0x100,
	OPT_DECISION_TIMEOUT,
	OPT_ON_TIMEOUT,
	OPT_PRINT_CONFIG,
	OPT_SCAN_PATH,
	OPT_NO_SCAN,
	OPT_KILL_RUNNING,
	OPT_KEEP_ENFORCEMENT,
	OPT_STATE_DIR,
	OPT_NO_SELF_PROTECTION,
};

static const struct option options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "policy", required_argument, NULL, 'p' },
	{ "mode", required_argument, NULL, 'm' },
	{ "tier", required_argument, NULL, 't' },
	{ "log", required_argument, NULL, 'l' },
	{ "runtime-dir", required_argument, NULL, 'r' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "fanotify-path", required_argument, NULL, OPT_FANOTIFY_PATH },
	{ "decision-timeout-ms", required_argument, NULL, OPT_DECISION_TIMEOUT },
	{ "on-timeout", required_argument, NULL, OPT_ON_TIMEOUT },
	{ "print-config", no_argument, NULL, OPT_PRINT_CONFIG },
	{ "scan-path", required_argument, NULL, OPT_SCAN_PATH },
	{ "no-scan", no_argument, NULL, OPT_NO_SCAN },
	{ "kill-running", no_argument, NULL, OPT_KILL_RUNNING },
	{ "keep-enforcement-on-exit", no_argument, NULL, OPT_KEEP_ENFORCEMENT },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "no-self-protection", no_argument, NULL, OPT_NO_SELF_PROTECTION },
	{},
};
#define SHORT_OPTIONS "c:p:m:t:l:r:vh"

/* What the command line said, beyond the configuration it overrides. */
struct cli {
	bool print_config;
	bool scan_paths_given;
	bool mode_given; /* --mode wins over a mode saved by `embargoctl mode` */
	bool config_error;
};

static int set_str(char **field, const char *v)
{
	char *n = strdup(v);

	if (!n)
		return -ENOMEM;
	free(*field);
	*field = n;
	return 0;
}

static int append_str(char ***list, size_t *n, const char *v)
{
	char **l = realloc(*list, (*n + 2) * sizeof(char *));

	if (!l)
		return -ENOMEM;
	*list = l;
	l[*n] = strdup(v);
	if (!l[*n])
		return -ENOMEM;
	l[++*n] = NULL;
	return 0;
}

static int usage_error(const char *opt, const char *expected, const char *got)
{
	fprintf(stderr, "embargod: %s: expected %s, got '%s'\n", opt, expected, got);
	return -EINVAL;
}

/* One option onto the configuration: the command line overrides the file. */
static int apply_option(int c, const char *arg, struct embargo_config *cfg, int *level, struct cli *cli)
{
	uint64_t v;

	switch (c) {
	case 'c':
		return 0; /* read in the first pass */
	case 'p':
		return arg[0] ? set_str(&cfg->policy, arg) : usage_error("--policy", "a path", arg);
	case 'm':
		if (embargo_mode_from_string(arg, &cfg->mode) < 0 || cfg->mode == EMBARGO_MODE_INHERIT)
			return usage_error("--mode", "'audit' or 'enforce'", arg);
		cli->mode_given = true;
		return 0;
	case 't':
		if (embargo_config_tier_from_string(arg, &cfg->tier) < 0)
			return usage_error("--tier", "auto, lsm-hash, lsm, fanotify or detect", arg);
		return 0;
	case 'l':
		if (strcmp(arg, "auto") == 0)
			cfg->log = EMBARGO_CONFIG_LOG_AUTO;
		else if (strcmp(arg, "journal") == 0)
			cfg->log = EMBARGO_CONFIG_LOG_JOURNAL;
		else if (strcmp(arg, "stderr") == 0)
			cfg->log = EMBARGO_CONFIG_LOG_STDERR;
		else
			return usage_error("--log", "auto, journal or stderr", arg);
		return 0;
	case 'r':
		return arg[0] == '/' ? set_str(&cfg->runtime_dir, arg)
				     : usage_error("--runtime-dir", "an absolute path", arg);
	case OPT_FANOTIFY_PATH:
		if (arg[0] != '/')
			return usage_error("--fanotify-path", "an absolute path", arg);
		return append_str(&cfg->fanotify_paths, &cfg->n_fanotify_paths, arg);
	case OPT_DECISION_TIMEOUT:
		if (parse_u64(arg, EMBARGO_CONFIG_TIMEOUT_MS_MAX, &v) < 0 ||
		    v < EMBARGO_CONFIG_TIMEOUT_MS_MIN)
			return usage_error("--decision-timeout-ms", "10 to 60000", arg);
		cfg->decision_timeout_ms = (uint32_t)v;
		return 0;
	case OPT_ON_TIMEOUT:
		if (strcmp(arg, "allow") == 0)
			cfg->on_timeout = EMBARGO_CONFIG_ON_TIMEOUT_ALLOW;
		else if (strcmp(arg, "deny") == 0)
			cfg->on_timeout = EMBARGO_CONFIG_ON_TIMEOUT_DENY;
		else
			return usage_error("--on-timeout", "'allow' or 'deny'", arg);
		return 0;
	case OPT_PRINT_CONFIG:
		cli->print_config = true;
		return 0;
	case OPT_SCAN_PATH:
		if (arg[0] != '/')
			return usage_error("--scan-path", "an absolute path", arg);
		if (!cli->scan_paths_given) {
			/* The first one replaces the configured list rather than adding to "/". */
			for (size_t i = 0; i < cfg->n_scan_paths; i++)
				free(cfg->scan_paths[i]);
			cfg->n_scan_paths = 0;
			if (cfg->scan_paths)
				cfg->scan_paths[0] = NULL;
			cli->scan_paths_given = true;
		}
		cfg->scan_at_start = true;
		return append_str(&cfg->scan_paths, &cfg->n_scan_paths, arg);
	case OPT_NO_SCAN:
		cfg->scan_at_start = false;
		return 0;
	case OPT_KILL_RUNNING:
		cfg->kill_running = true;
		return 0;
	case OPT_KEEP_ENFORCEMENT:
		cfg->keep_enforcement_on_exit = true;
		return 0;
	case OPT_STATE_DIR:
		return arg[0] == '/' ? set_str(&cfg->state_dir, arg)
				     : usage_error("--state-dir", "an absolute path", arg);
	case OPT_NO_SELF_PROTECTION:
		cfg->self_protection = false;
		return 0;
	case 'v':
		*level = LOG_DEBUG;
		bpf_verbose = true;
		return 0;
	case 'h':
		usage(stdout);
		exit(0);
	default:
		usage(stderr);
		return -EINVAL;
	}
}

/* The configuration file (named by --config, or the default one if it exists), then the options. */
static int parse_args(int argc, char **argv, struct embargo_config *cfg, int *level, struct cli *cli)
{
	struct embargo_config_error err = {};
	const char *config = NULL;
	char msg[5000];
	int c, r;

	opterr = 0;
	while ((c = getopt_long(argc, argv, SHORT_OPTIONS, options, NULL)) != -1)
		if (c == 'c')
			config = optarg;
	opterr = 1;
	r = embargo_config_load(config, cfg, &err);
	if (r < 0) {
		fprintf(stderr, "embargod: configuration rejected, not starting: %s\n",
			embargo_config_error_format(&err, msg, sizeof(msg)));
		cli->config_error = true;
		return r;
	}
	optind = 0;
	while ((c = getopt_long(argc, argv, SHORT_OPTIONS, options, NULL)) != -1) {
		r = apply_option(c, optarg, cfg, level, cli);
		if (r < 0)
			return r;
	}
	if (optind < argc) {
		fprintf(stderr, "embargod: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/*
 * Whether init_module (a module from memory: nothing for the kernel programs to hash) is refused in
 * enforce mode. kmod loads an uncompressed module with finit_module, which is decided like an exec; it
 * falls back to init_module for a compressed one when it decompresses in userspace (kmod before 31, or a
 * kernel without in-kernel decompression). auto refuses init_module only where modules are not
 * compressed, so that the system's own module loading never breaks.
 */
static void resolve_init_module(struct daemon *d, uint8_t setting)
{
	struct utsname u;
	char path[PATH_MAX], line[1024];
	bool compressed = false;

	if (setting == EMBARGO_CONFIG_INIT_MODULE_DENY || setting == EMBARGO_CONFIG_INIT_MODULE_ALLOW) {
		d->deny_init_module = setting == EMBARGO_CONFIG_INIT_MODULE_DENY;
		snprintf(d->init_module_why, sizeof(d->init_module_why), "init_module %s in embargo.conf",
			 d->deny_init_module ? "deny" : "allow");
		return;
	}
	if (uname(&u) == 0) {
		snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", u.release);
		_cleanup_fclose_ FILE *f = fopen(path, "re");

		/* The first line names a module file: all of a kernel's modules share one suffix. */
		if (f && fgets(line, sizeof(line), f)) {
			char *colon = strchr(line, ':');

			if (colon) {
				*colon = '\0';
				compressed = !!strstr(line, ".ko.");
			}
		}
	}
	d->deny_init_module = !compressed;
	snprintf(d->init_module_why, sizeof(d->init_module_why), "%s",
		 compressed
			 ? "init_module auto: this kernel's modules are compressed, so kmod may load them "
			   "with init_module: allowed and reported (set init_module deny if kmod >= 31 and "
			   "the kernel decompresses modules itself)"
			 : "init_module auto: modules are loaded from files (finit_module), so a module from "
			   "memory is refused in enforce mode");
}

static enum log_target log_target_of(const struct embargo_config *cfg)
{
	return cfg->log == EMBARGO_CONFIG_LOG_JOURNAL  ? LOG_TARGET_JOURNAL
	       : cfg->log == EMBARGO_CONFIG_LOG_STDERR ? LOG_TARGET_STDERR
						       : LOG_TARGET_AUTO;
}

static void banner(const struct daemon *d)
{
	char protection[600], confinement[200];
	const char *what;

	switch (d->tier) {
	case EMBARGO_TIER_LSM_HASH:
		what = "ENFORCING in the kernel with in-kernel SHA-256";
		break;
	case EMBARGO_TIER_LSM:
		what = hybrid_first_exec_window(d)
			       ? "ENFORCING verdicts in the kernel; WARNING: a never-seen file can run once "
				 "before it is classified (no in-kernel hashing on this kernel)"
			       : "ENFORCING verdicts in the kernel; a never-seen program waits at its exec "
				 "for embargod's hash (fanotify hold); WARNING: a never-seen library "
				 "(ld.so, dlopen), a memfd or a file on a file system the hold does not mark "
				 "can be mapped once before it is classified (no in-kernel hashing on this "
				 "kernel)";
		break;
	case EMBARGO_TIER_FANOTIFY:
		what = "ENFORCING through fanotify permission events: every exec on the marked filesystems "
		       "waits "
		       "for a verdict; known prohibited files cannot be opened; sched_process_exec kills "
		       "known "
		       "prohibited images if the daemon is gone";
		break;
	default:
		what = "DETECTION ONLY: nothing is prevented, executions of listed files are reported";
		break;
	}
	log_msg(LOG_NOTICE, EMBARGO_MSGID_STARTED,
		"embargod started: tier %s, %s; mode %s; policy %s: %zu vendors, %zu digests. Why this tier: "
		"%s. Self-protection: %s. System call filter: %s.",
		embargo_tier_name(d->tier), what, embargo_mode_name(d->mode), d->policy->path,
		d->policy->n_vendors, d->policy->n_rules, d->tier_reason,
		protect_summary(d, protection, sizeof(protection)),
		confine_summary(confinement, sizeof(confinement)));
	if (d->tier == EMBARGO_TIER_LSM_HASH || d->tier == EMBARGO_TIER_LSM)
		log_info("Kernel modules from memory: %s", d->init_module_why);
	for (size_t i = 0; i < d->probe.n; i++)
		log_info("Probe %s: %s: %s", d->probe.checks[i].name, d->probe.checks[i].ok ? "ok" : "no",
			 d->probe.checks[i].detail);
}

static void handled_signals(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGHUP);
}

/*
 * The watchdog is fed from this loop, so a stalled loop stops feeding it; and only while the fanotify
 * reader, which every exec on the machine may wait for, still turns round.
 */
static void feed_watchdog(const struct daemon *d)
{
	if (d->fan && !fanotify_healthy(d)) {
		log_error("The fanotify reader has not turned round for over %d s: not feeding the watchdog",
			  FAN_HEARTBEAT_LIMIT_S);
		return;
	}
	(void)sd_notify(0, "WATCHDOG=1");
}

void notify_status(const struct daemon *d)
{
	(void)sd_notifyf(0, "STATUS=tier %s, mode %s, policy generation %u: %zu vendors, %zu digests%s",
			 embargo_tier_name(d->tier), embargo_mode_name(d->mode), d->gen, d->policy->n_vendors,
			 d->policy->n_rules, d->reload.failed ? "; the last reload was refused" : "");
}

static int setup_fds(struct daemon *d, int *epfd, int *sigfd, int *tfd)
{
	struct itimerspec its = { .it_interval = { SWEEP_INTERVAL_S, 0 },
				  .it_value = { SWEEP_INTERVAL_S, 0 } };
	struct epoll_event ev = { .events = EPOLLIN };
	uint64_t wd_usec = 0;
	sigset_t mask;

	/* Under a systemd watchdog the housekeeping tick feeds it, at least twice per period. */
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec / 2 < SWEEP_INTERVAL_S * 1000000ull) {
		its.it_interval.tv_sec = its.it_value.tv_sec = (time_t)(wd_usec / 2 / 1000000);
		its.it_interval.tv_nsec = its.it_value.tv_nsec = (long)(wd_usec / 2 % 1000000 * 1000);
	}

	handled_signals(&mask);
	*sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	*tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	*epfd = epoll_create1(EPOLL_CLOEXEC);
	if (*sigfd < 0 || *tfd < 0 || *epfd < 0)
		return -errno;
	if (timerfd_settime(*tfd, 0, &its, NULL) < 0)
		return -errno;
	ev.data.fd = bpf_ringbuf_fd(d->bpf);
	if (epoll_ctl(*epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0)
		return -errno;
	ev.data.fd = d->ctl_fd;
	if (epoll_ctl(*epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0)
		return -errno;
	ev.data.fd = *sigfd;
	if (epoll_ctl(*epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0)
		return -errno;
	ev.data.fd = *tfd;
	if (epoll_ctl(*epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0)
		return -errno;
	ev.data.fd = reload_fd(d);
	if (ev.data.fd >= 0 && epoll_ctl(*epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0)
		return -errno;
	return 0;
}

static int loop(struct daemon *d)
{
	_cleanup_close_ int epfd = -1, sigfd = -1, tfd = -1;
	int r = setup_fds(d, &epfd, &sigfd, &tfd);
	bool stop = false;

	if (r < 0) {
		log_error("Cannot set up the event loop: %s", strerror(-r));
		return r;
	}
	while (!stop) {
		struct epoll_event evs[8];
		int n = epoll_wait(epfd, evs, ARRAY_SIZE(evs), -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("epoll_wait: %m");
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == sigfd) {
				struct signalfd_siginfo si;

				while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						char who[64];

						snprintf(who, sizeof(who), "SIGHUP from pid %u uid %u",
							 si.ssi_pid, si.ssi_uid);
						reload_request(d, who, -1);
						continue;
					}
					log_notice("Stopping on signal %u from pid %u", si.ssi_signo,
						   si.ssi_pid);
					stop = true;
				}
			} else if (fd == tfd) {
				uint64_t expirations;

				if (read(tfd, &expirations, sizeof(expirations)) == sizeof(expirations)) {
					events_sweep_dedup(d);
					events_sweep_pending(d);
					events_report_drops(d);
					log_tick();
					protect_poll(d);
					confine_poll(d);
					feed_watchdog(d);
				}
			} else if (fd == d->ctl_fd) {
				control_handle(d);
			} else if (fd == reload_fd(d)) {
				reload_complete(d);
			} else {
				r = events_poll(d);
				if (r < 0)
					log_error("Reading kernel events failed: %s", strerror(-r));
			}
		}
	}
	/* What is still in the ring buffer is reported before we go. */
	(void)events_poll(d);
	protect_poll(d);
	confine_poll(d);
	return 0;
}

static int print_effective_config(const struct embargo_config *cfg)
{
	_cleanup_free_ char *text = NULL;
	int r = embargo_config_format(cfg, &text);

	if (r < 0)
		return r;
	fputs(text, stdout);
	return 0;
}

/*
 * The configured policy does not load: rather than leave the machine unprotected (the unit does not
 * restart on a bad policy), start on the copy of the last one that did, and say so loudly. 0, or
 * -errno when there is none either.
 */
static int start_on_last_good(struct daemon *d, const char *error)
{
	char why[5000], when[64];
	struct tm tm;
	int r = state_load_policy(d, &d->policy, &d->fallback.saved, why, sizeof(why));

	if (r < 0) {
		log_error("Policy rejected, not starting: %s (and no last good policy to start on: %s)",
			  error, why);
		return r;
	}
	d->fallback.active = true;
	snprintf(d->fallback.error, sizeof(d->fallback.error), "%s", error);
	gmtime_r(&d->fallback.saved, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	log_msg(LOG_ERR, EMBARGO_MSGID_POLICY_FALLBACK,
		"Policy rejected: %s. Started on the LAST GOOD POLICY instead (the copy saved %s in %s/policy.last-good): fix the policy and reload",
		error, when, d->cfg->state_dir);
	return 0;
}

/* From loading the policy to the stop: what was started is stopped at out, in reverse order. */
static int run(struct daemon *d, int saved_r)
{
	struct embargo_policy_error perr = {};
	bool stuck = false;
	char msg[5000];
	int r;

	uint64_t t0 = now_ns();
	r = embargo_policy_load(d->cfg->policy, &d->policy, &perr);
	if (r < 0) {
		r = start_on_last_good(d, embargo_policy_error_format(&perr, msg, sizeof(msg)));
		if (r < 0) {
			r = EX_DATAERR;
			goto out;
		}
	}
	d->loaded_at = time(NULL);
	if (saved_r == 0)
		log_notice("Mode %s, as last set with embargoctl mode (%s/mode); the configuration says %s",
			   embargo_mode_name(d->mode), d->cfg->state_dir, embargo_mode_name(d->cfg->mode));
	else if (saved_r == -EBADMSG)
		log_warning("Ignoring %s/mode: it does not hold 'audit' or 'enforce'", d->cfg->state_dir);
	log_info("Policy %s parsed in %.3f s: %zu vendors, %zu digests (%zu duplicates ignored)",
		 d->policy->path, (double)(now_ns() - t0) / 1e9, d->policy->n_vendors, d->policy->n_rules,
		 d->policy->n_duplicates);

	embargo_probe_kernel(&d->probe);
	if (bpf_previous_pins())
		log_notice(
			"A previous embargod left its programs attached (crash or keep_enforcement_on_exit): "
			"they keep enforcing until this one's are attached, then are replaced");
	r = tier_start(d);
	if (r < 0) {
		log_error("No enforcement tier could be loaded: %s", d->tier_reason);
		r = EX_UNAVAILABLE;
		goto out;
	}
	r = protect_start(d);
	if (r < 0) {
		log_error("Cannot prepare self-protection: %s", strerror(-r));
		r = EX_OSERR;
		goto out;
	}
	r = ident_start(d);
	if (r < 0) {
		log_error("Cannot prepare the identity rules: %s", strerror(-r));
		r = EX_OSERR;
		goto out;
	}
	r = events_start(d);
	if (r < 0) {
		log_error("Cannot read the kernel's event ring buffer: %s", strerror(-r));
		r = EX_OSERR;
		goto out;
	}
	r = reload_start(d);
	if (r < 0) {
		log_error("Cannot start the policy reload thread: %s", strerror(-r));
		r = EX_OSERR;
		goto out;
	}
	if (!d->fallback.active)
		reload_save(d);
	/* Last: the control socket's existence tells embargoctl (and the tests) we are ready. */
	r = control_start(d);
	if (r < 0) {
		log_error("Cannot listen on %s/%s: %s", d->cfg->runtime_dir, EMBARGO_CONTROL_NAME,
			  strerror(-r));
		r = EX_OSERR;
		goto out;
	}
	/* Start-up is over: from here on only the steady state's system calls. */
	(void)confine_start(d);
	banner(d);
	/* Under systemd (Type=notify): ready means attached and loaded, which is now. */
	(void)sd_notify(0, "READY=1");
	notify_status(d);
	r = startscan_begin(d);
	if (r < 0)
		log_warning("Cannot start the start-up scan: %s", strerror(-r));
	if (!d->scan)
		tier_complete_takeover(d);
	r = loop(d) < 0 ? EX_SOFTWARE : 0;
	(void)sd_notify(0, "STOPPING=1");
	if (bpf_pinned(d->bpf) && d->cfg->keep_enforcement_on_exit)
		log_notice(
			"embargod stopped; keep_enforcement_on_exit: its kernel programs stay attached "
			"under %s and keep enforcing policy generation %u in mode %s until embargod starts "
			"again",
			"/sys/fs/bpf/embargo", d->gen, embargo_mode_name(d->mode));
	else
		log_notice("embargod stopped: the kernel programs are detached, nothing is enforced any "
			   "more");
out:
	startscan_end(d);
	control_stop(d);
	stuck = reload_stop(d) < 0;
	events_stop(d);
	protect_stop(d);
	tier_stop(d);
	ident_stop(d);
	if (!stuck)
		embargo_policy_free(d->policy);
	return r;
}

int main(int argc, char **argv)
{
	_cleanup_(embargo_config_free) struct embargo_config cfg = {};
	struct daemon d = {
		.policy_lock = PTHREAD_RWLOCK_INITIALIZER,
		.gen = 1,
		.ctl_fd = -1,
		.cfg = &cfg,
	};
	int level = LOG_INFO, r;
	struct cli cli = {};
	char *policy_abs;
	uint8_t saved_mode;
	int saved_r;

	r = embargo_config_defaults(&cfg);
	if (r == 0)
		r = parse_args(argc, argv, &cfg, &level, &cli);
	if (r < 0)
		return cli.config_error ? EX_CONFIG : EX_USAGE;
	if (cli.print_config)
		return print_effective_config(&cfg) < 0 ? EX_SOFTWARE : 0;
	d.mode = cfg.mode;
	resolve_init_module(&d, cfg.init_module);
	saved_r = cli.mode_given ? -ENOENT : state_load_mode(&d, &saved_mode);
	if (saved_r == 0)
		d.mode = saved_mode;
	if (geteuid() != 0) {
		fprintf(stderr, "embargod: must run as root (loading BPF programs needs CAP_BPF and "
				"CAP_SYS_ADMIN)\n");
		return EX_NOPERM;
	}
	/* Blocked before any thread exists, so every thread inherits the mask and only the event loop's
	 * signalfd sees them: a SIGTERM must be a clean stop, not the default death of the process. */
	sigset_t mask;
	handled_signals(&mask);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
		fprintf(stderr, "embargod: sigprocmask: %m\n");
		return EX_OSERR;
	}
	log_set_rate_limit(cfg.log_rate_limit, cfg.log_rate_interval_s);
	r = log_start(log_target_of(&cfg), level);
	if (r < 0) {
		fprintf(stderr, "embargod: cannot start the logger: %s\n", strerror(-r));
		return EX_OSERR;
	}
	/* Rules are reported as file:line: make that file name absolute. */
	policy_abs = realpath(cfg.policy, NULL);
	if (policy_abs) {
		free(cfg.policy);
		cfg.policy = policy_abs;
	}
	r = run(&d, saved_r);
	log_stop();
	return r;
}
