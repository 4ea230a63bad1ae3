// SPDX-License-Identifier: GPL-2.0
/*
 * empty-loader: loads and attaches the reference programs of bench/empty.bpf.c, turns on the kernel's
 * BPF run-time statistics for as long as it runs, and waits for SIGTERM or SIGINT.
 *
 *   empty-loader --lsm OBJ [SECONDS]   the lsm/ and lsm.s/ programs (the guest: BPF LSM active)
 *   empty-loader --tp OBJ [SECONDS]    the tp_btf/ program (the detection tier's hook, for the host)
 *
 * Prints "ready" on stdout once everything is attached and the statistics are on; exits 1 if anything
 * fails. Gives up on its own after SECONDS (default 1800) if nobody stops it: it is stopped by its PID,
 * so it runs without a `timeout` wrapper in between. Statistics are enabled through BPF_ENABLE_STATS: the
 * same counters as kernel.bpf_stats_enabled, switched off again by the kernel when this process exits,
 * however it exits.
 */
#include "util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#define MAX_LINKS 16
#define DEFAULT_LIFETIME_S 1800

static bool wanted(const char *section, bool lsm)
{
	if (lsm)
		return strncmp(section, "lsm/", 4) == 0 || strncmp(section, "lsm.s/", 6) == 0;
	return strncmp(section, "tp_btf/", 7) == 0;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int run(const char *path, bool lsm, uint64_t lifetime_s)
{
	struct bpf_link *links[MAX_LINKS] = {};
	struct bpf_object *obj;
	struct bpf_program *prog;
	_cleanup_close_ int stats_fd = -1;
	unsigned n = 0;
	sigset_t mask;
	int r, sig;

	/* Signals first: a SIGTERM that arrives while loading must still end us cleanly. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;

	libbpf_set_print(libbpf_print);
	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		r = -errno;
		fprintf(stderr, "empty-loader: cannot open %s: %s\n", path, strerror(-r));
		return r;
	}
	bpf_object__for_each_program(prog, obj)
	{
		bpf_program__set_autoload(prog, wanted(bpf_program__section_name(prog), lsm));
	}
	r = bpf_object__load(obj);
	if (r < 0) {
		fprintf(stderr, "empty-loader: loading %s failed: %s\n", path, strerror(-r));
		goto out;
	}
	bpf_object__for_each_program(prog, obj)
	{
		if (!bpf_program__autoload(prog))
			continue;
		if (n == MAX_LINKS) {
			r = -E2BIG;
			goto out;
		}
		links[n] = bpf_program__attach(prog);
		if (!links[n]) {
			r = -errno;
			fprintf(stderr, "empty-loader: attaching %s failed: %s\n", bpf_program__name(prog),
				strerror(-r));
			goto out;
		}
		n++;
	}
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		r = -errno;
		fprintf(stderr, "empty-loader: BPF_ENABLE_STATS failed: %s\n", strerror(-r));
		goto out;
	}
	printf("ready: %u programs attached, statistics on\n", n);
	fflush(stdout);
	do
		sig = sigtimedwait(&mask, NULL, &(struct timespec){ .tv_sec = (time_t)lifetime_s });
	while (sig < 0 && errno == EINTR);
	if (sig < 0)
		fprintf(stderr, "empty-loader: not stopped within %llu s: exiting\n",
			(unsigned long long)lifetime_s);
	r = 0;
out:
	for (unsigned i = 0; i < n; i++)
		bpf_link__destroy(links[i]);
	bpf_object__close(obj);
	return r;
}

int main(int argc, char **argv)
{
	uint64_t lifetime_s = DEFAULT_LIFETIME_S;

	if (argc < 3 || argc > 4 || (strcmp(argv[1], "--lsm") != 0 && strcmp(argv[1], "--tp") != 0) ||
	    (argc == 4 && (parse_u64(argv[3], 86400, &lifetime_s) < 0 || lifetime_s == 0))) {
		fprintf(stderr, "Usage: empty-loader --lsm|--tp OBJECT [SECONDS]\n");
		return 2;
	}
	return run(argv[2], strcmp(argv[1], "--lsm") == 0, lifetime_s) < 0 ? 1 : 0;
}
