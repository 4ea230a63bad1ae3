// SPDX-License-Identifier: GPL-2.0
/*
 * embargod: loads the policy and the kernel programs, then serves one event loop: kernel events,
 * control requests, signals and a housekeeping timer.
 */
#include "control.h"
#include "daemon.h"
#include "event.h"
#include "log.h"
#include "util.h"

#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sysexits.h>

#define SWEEP_INTERVAL_S 2

static void usage(FILE *f)
{
	fprintf(f, "Usage: embargod --policy PATH [OPTIONS]\n"
		   "Keeps a prohibited vendor's code from running: see embargod(8).\n\n"
		   "  -p, --policy PATH        policy file or directory of *.policy files (required)\n"
		   "  -m, --mode MODE          audit | enforce (default: enforce)\n"
		   "  -t, --tier TIER          auto | lsm-hash | lsm | fanotify | detect (default: auto, the "
		   "best that works)\n"
		   "  -l, --log TARGET         auto | journal | stderr (default: auto)\n"
		   "  -r, --runtime-dir DIR    control socket directory (default: " EMBARGO_RUNTIME_DIR ")\n"
		   "      --fanotify-path DIR  fanotify tier: mark only this filesystem (repeatable; default:\n"
		"                           every local filesystem)\n"
		"      --decision-timeout-ms N  fanotify tier: longest wait for a verdict (default 1000)\n"
		"      --on-timeout allow|deny  fanotify tier: the answer when it runs out (default allow;\n"
		"                           a late match is then denied from that moment and its process killed)\n"
		"  -v, --verbose            also log debug messages (libbpf, verifier)\n"
		   "  -h, --help\n");
}

static int parse_args(int argc, char **argv, struct daemon *d, enum log_target *target, int *level)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "tier", required_argument, NULL, 't' },
		{ "log", required_argument, NULL, 'l' },
		{ "runtime-dir", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "fanotify-path", required_argument, NULL, 'F' },
		{ "decision-timeout-ms", required_argument, NULL, 'T' },
		{ "on-timeout", required_argument, NULL, 'O' },
		{},
	};
	int c;

	while ((c = getopt_long(argc, argv, "p:m:t:l:r:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			d->policy_path = optarg;
			break;
		case 'm':
			if (embargo_mode_from_string(optarg, &d->mode) < 0 ||
			    d->mode == EMBARGO_MODE_INHERIT) {
				fprintf(stderr, "embargod: --mode: expected 'audit' or 'enforce', got '%s'\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 't':
			if (strcmp(optarg, "auto") == 0)
				d->tier_request = TIER_AUTO;
			else if (embargo_tier_from_string(optarg, &d->tier_request) < 0) {
				fprintf(stderr,
					"embargod: --tier: expected auto, lsm-hash, lsm, fanotify or detect, "
					"got '%s'\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'l':
			if (log_target_from_string(optarg, target) < 0) {
				fprintf(stderr,
					"embargod: --log: expected auto, journal or stderr, got '%s'\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'r':
			d->runtime_dir = optarg;
			break;
		case 'F':
			if (d->n_fan_paths == FAN_MAX_PATHS || optarg[0] != '/') {
				fprintf(stderr,
					"embargod: --fanotify-path: expected an absolute path (at most %d), got '%s'\n",
					FAN_MAX_PATHS, optarg);
				return -EINVAL;
			}
			d->fan_paths[d->n_fan_paths++] = optarg;
			break;
		case 'T': {
			uint64_t v;

			if (parse_u64(optarg, 60000, &v) < 0 || v < 10) {
				fprintf(stderr, "embargod: --decision-timeout-ms: expected 10 to 60000, got '%s'\n",
					optarg);
				return -EINVAL;
			}
			d->decision_timeout_ms = (unsigned)v;
			break;
		}
		case 'O':
			if (strcmp(optarg, "allow") == 0) {
				d->on_timeout = ON_TIMEOUT_ALLOW;
			} else if (strcmp(optarg, "deny") == 0) {
				d->on_timeout = ON_TIMEOUT_DENY;
			} else {
				fprintf(stderr, "embargod: --on-timeout: expected 'allow' or 'deny', got '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'v':
			*level = LOG_DEBUG;
			bpf_verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "embargod: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!d->policy_path) {
		fprintf(stderr, "embargod: --policy PATH is required\n");
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

static void banner(const struct daemon *d)
{
	const char *what;

	switch (d->tier) {
	case EMBARGO_TIER_LSM_HASH:
		what = "ENFORCING in the kernel with in-kernel SHA-256";
		break;
	case EMBARGO_TIER_LSM:
		what = "ENFORCING verdicts in the kernel; WARNING: a never-seen file can run once before it "
		       "is "
		       "classified (no in-kernel hashing on this kernel)";
		break;
	case EMBARGO_TIER_FANOTIFY:
		what = "ENFORCING through fanotify permission events: every exec on the marked filesystems waits "
		       "for a verdict; known prohibited files cannot be opened; sched_process_exec kills known "
		       "prohibited images if the daemon is gone";
		break;
	default:
		what = "DETECTION ONLY: nothing is prevented, executions of listed files are reported";
		break;
	}
	log_msg(LOG_NOTICE, EMBARGO_MSGID_STARTED,
		"embargod started: tier %s, %s; mode %s; policy %s: %zu vendors, %zu digests. Why this tier: "
		"%s",
		embargo_tier_name(d->tier), what, embargo_mode_name(d->mode), d->policy->path,
		d->policy->n_vendors, d->policy->n_rules, d->tier_reason);
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

static int setup_fds(struct daemon *d, int *epfd, int *sigfd, int *tfd)
{
	struct itimerspec its = { .it_interval = { SWEEP_INTERVAL_S, 0 },
				  .it_value = { SWEEP_INTERVAL_S, 0 } };
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;

	handled_signals(&mask);
	*sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	*tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	*epfd = epoll_create1(EPOLL_CLOEXEC);
	if (*sigfd < 0 || *tfd < 0 || *epfd < 0)
		return -errno;
	if (timerfd_settime(*tfd, 0, &its, NULL) < 0)
		return -errno;
	ev.data.fd = bpf_ringbuf_fd(d);
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
	return 0;
}

static int loop(struct daemon *d)
{
	_cleanup_close_ int epfd = -1, sigfd = -1, tfd = -1;
	int r = setup_fds(d, &epfd, &sigfd, &tfd);

	if (r < 0) {
		log_error("Cannot set up the event loop: %s", strerror(-r));
		return r;
	}
	while (!d->stop) {
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
						log_notice("SIGHUP: policy reload is not supported yet; "
							   "keeping generation %u",
							   d->gen);
						continue;
					}
					log_notice("Stopping on signal %u from pid %u", si.ssi_signo,
						   si.ssi_pid);
					d->stop = true;
				}
			} else if (fd == tfd) {
				uint64_t expirations;

				if (read(tfd, &expirations, sizeof(expirations)) == sizeof(expirations))
					events_sweep_dedup(d);
			} else if (fd == d->ctl_fd) {
				control_handle(d);
			} else {
				r = events_poll(d);
				if (r < 0)
					log_error("Reading kernel events failed: %s", strerror(-r));
			}
		}
	}
	/* What is still in the ring buffer is reported before we go. */
	(void)events_poll(d);
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon d = {
		.runtime_dir = EMBARGO_RUNTIME_DIR,
		.mode = EMBARGO_MODE_ENFORCE,
		.tier_request = TIER_AUTO,
		.gen = 1,
		.ctl_fd = -1,
		.decision_timeout_ms = 1000,
		.on_timeout = ON_TIMEOUT_ALLOW,
		.hash_workers = 2,
	};
	struct embargo_policy_error perr = {};
	enum log_target target = LOG_TARGET_AUTO;
	int level = LOG_INFO, r;
	char msg[5000], *policy_abs = NULL;

	if (parse_args(argc, argv, &d, &target, &level) < 0)
		return EX_USAGE;
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
	r = log_start(target, level);
	if (r < 0) {
		fprintf(stderr, "embargod: cannot start the logger: %s\n", strerror(-r));
		return EX_OSERR;
	}

	/* Rules are reported as file:line: make that file name absolute. */
	policy_abs = realpath(d.policy_path, NULL);
	if (policy_abs)
		d.policy_path = policy_abs;
	uint64_t t0 = now_ns();
	r = embargo_policy_load(d.policy_path, &d.policy, &perr);
	if (r < 0) {
		log_error("Policy rejected, not starting: %s",
			  embargo_policy_error_format(&perr, msg, sizeof(msg)));
		r = EX_DATAERR;
		goto out;
	}
	d.loaded_at = time(NULL);
	log_info("Policy %s parsed in %.3f s: %zu vendors, %zu digests (%zu duplicates ignored)",
		 d.policy->path, (double)(now_ns() - t0) / 1e9, d.policy->n_vendors, d.policy->n_rules,
		 d.policy->n_duplicates);

	embargo_probe_kernel(&d.probe);
	r = bpf_start(&d);
	if (r < 0) {
		log_error("No enforcement tier could be loaded: %s", d.tier_reason);
		r = EX_UNAVAILABLE;
		goto out;
	}
	r = events_start(&d);
	if (r < 0) {
		log_error("Cannot read the kernel's event ring buffer: %s", strerror(-r));
		r = EX_OSERR;
		goto out;
	}
	/* Last: the control socket's existence tells embargoctl (and the tests) we are ready. */
	r = control_start(&d);
	if (r < 0) {
		log_error("Cannot listen on %s/%s: %s", d.runtime_dir, EMBARGO_CONTROL_NAME, strerror(-r));
		r = EX_OSERR;
		goto out;
	}
	banner(&d);
	r = loop(&d) < 0 ? EX_SOFTWARE : 0;
	log_notice("embargod stopped: the kernel programs are detached, nothing is enforced any more");
out:
	control_stop(&d);
	events_stop(&d);
	bpf_stop(&d);
	embargo_policy_free(d.policy);
	free(policy_abs);
	log_stop();
	return r;
}
