// SPDX-License-Identifier: GPL-2.0
/*
 * Timing loops for `make bench`, and the material they run on. Every loop runs N operations in BATCHES
 * batches after a short warm-up and prints the median, minimum and maximum per-operation time over the
 * batches, machine-readable on one line:
 *
 *   loop exec N PATH         posix_spawn (vfork+execve) + waitpid of PATH, which must exit 0
 *   loop exec-each N PREFIX  the same, of PREFIX0 .. PREFIX<N-1>: every file exactly once, no warm-up
 *   loop open N PATH         open(O_RDONLY) + close
 *   loop mmap N PATH         open + mmap(PROT_READ | PROT_EXEC) of the first page + munmap + close
 *   loop mmap-each N PREFIX  the same, of PREFIX0 .. PREFIX<N-1>, each once
 *   loop cmd N PROG [ARG...] posix_spawn + waitpid of PROG ARG... with this environment (a shell command
 *                            line, an interpreter's start-up); it must exit 0. Warm-up: N / 50 + 1
 *
 *   -> exec_ns_median=712345 exec_ns_min=... exec_ns_max=... n=5000 batches=25
 *
 * With --stats PID[,PID...] first, the run-time statistics of the BPF programs those processes hold are
 * sampled right before the first timed batch and right after the last, and the difference printed, one
 * program a line (BPF statistics must be on, see empty-loader):
 *
 *   -> prog name=exec_hash pid=412 runs=5000 ns_per_run=151.2
 *
 * Material:
 *   loop copies N SRC PREFIX    PREFIX0 .. PREFIX<N-1>: copies of SRC, each with its index appended, so
 *                               every copy is a distinct file with a distinct SHA-256 (still runnable:
 *                               an ELF file may carry trailing bytes)
 *   loop digests N FILE         N random SHA-256 digests, one lower-case hex digest a line
 */
#include "progstats.h"
#include "util.h"

#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define BATCHES 25
#define MAX_N 10000000ull
#define MAX_PIDS 8

enum op { OP_EXEC, OP_OPEN, OP_MMAP, OP_CMD };

static const char *const op_names[] = {
	[OP_EXEC] = "exec", [OP_OPEN] = "open", [OP_MMAP] = "mmap", [OP_CMD] = "cmd"
};

extern char **environ;

/* PROG ARG... of `loop cmd`. */
static char **cmd_argv;

static int spawn_wait(const char *path, char *const argv[], char *const envp[])
{
	pid_t pid;
	int status, r;

	r = posix_spawn(&pid, path, NULL, NULL, argv, envp);
	if (r != 0)
		return -r;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	/* posix_spawn reports a failed execve as exit status 127. */
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -ECHILD;
	return 0;
}

static int run_exec(const char *path)
{
	char *const argv[] = { (char *)path, NULL };
	char *const envp[] = { NULL };

	return spawn_wait(path, argv, envp);
}

static int run_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int run_mmap(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *m;

	if (fd < 0)
		return -errno;
	m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	munmap(m, 4096);
	return 0;
}

static int run_op(enum op op, const char *path)
{
	switch (op) {
	case OP_EXEC:
		return run_exec(path);
	case OP_OPEN:
		return run_open(path);
	case OP_CMD:
		return spawn_wait(path, cmd_argv, environ);
	default:
		return run_mmap(path);
	}
}

/* The path of operation i: PATH itself, or PREFIX<i> for the -each variants. */
static const char *op_path(const char *arg, bool each, uint64_t i, char *buf, size_t size)
{
	if (!each)
		return arg;
	snprintf(buf, size, "%s%llu", arg, (unsigned long long)i);
	return buf;
}

static int op_failed(enum op op, const char *path, int r)
{
	fprintf(stderr, "loop: %s %s: %s\n", op_names[op], path,
		r == -ECHILD ? "did not exit with status 0" : strerror(-r));
	return r;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The processes whose BPF programs --stats reads; none without --stats. */
static uint32_t stat_pids[MAX_PIDS];
static size_t n_stat_pids;
static struct progstats stats;
static struct progstats_sample stats_before, stats_after;

static int sample_stats(struct progstats_sample *sample)
{
	int r;

	if (n_stat_pids == 0)
		return 0;
	r = progstats_sample(&stats, sample);
	if (r < 0)
		fprintf(stderr, "loop: cannot read BPF program statistics: %s\n", strerror(-r));
	return r;
}

static int timed_loop(enum op op, bool each, uint64_t n, const char *arg)
{
	uint64_t per_op[BATCHES], batches = n < BATCHES ? n : BATCHES, done = 0, warm;
	char buf[4096];
	int r;

	/* Warm-up: page cache, the enforcer's verdict cache, the dynamic loader. Not for -each (every
	 * file must be seen exactly once, in the timed part). */
	warm = each ? 0 : op == OP_CMD ? n / 50 + 1 : n / 50 + 3;
	for (uint64_t i = 0; i < warm; i++) {
		r = run_op(op, arg);
		if (r < 0)
			return op_failed(op, arg, r);
	}
	r = sample_stats(&stats_before);
	if (r < 0)
		return r;
	for (uint64_t b = 0; b < batches; b++) {
		/* The first n % batches batches take one operation more. */
		uint64_t count = n / batches + (b < n % batches), t0 = now_ns();

		for (uint64_t i = 0; i < count; i++, done++) {
			const char *path = op_path(arg, each, done, buf, sizeof(buf));

			r = run_op(op, path);
			if (r < 0)
				return op_failed(op, path, r);
		}
		per_op[b] = (now_ns() - t0) / count;
	}
	r = sample_stats(&stats_after);
	if (r < 0)
		return r;
	qsort(per_op, batches, sizeof(per_op[0]), cmp_u64);
	printf("%s_ns_median=%llu %s_ns_min=%llu %s_ns_max=%llu n=%llu batches=%llu\n", op_names[op],
	       (unsigned long long)(batches % 2 ? per_op[batches / 2]
						: (per_op[batches / 2 - 1] + per_op[batches / 2]) / 2),
	       op_names[op], (unsigned long long)per_op[0], op_names[op],
	       (unsigned long long)per_op[batches - 1], (unsigned long long)n, (unsigned long long)batches);
	if (n_stat_pids)
		progstats_print_delta(&stats, &stats_before, &stats_after);
	return 0;
}

static int read_file(const char *path, char **ret, size_t *len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t off = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	while (off < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + off, (size_t)st.st_size - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		off += (size_t)k;
	}
	*len = off;
	*ret = TAKE_PTR(buf);
	return 0;
}

static int write_file(const char *path, mode_t mode, const void *a, size_t alen, const void *b, size_t blen)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	int r;

	if (fd < 0)
		return -errno;
	r = write_all(fd, a, alen);
	if (r == 0)
		r = write_all(fd, b, blen);
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	return r;
}

static int make_copies(uint64_t n, const char *src, const char *prefix)
{
	_cleanup_free_ char *content = NULL;
	char path[4096], tail[32];
	size_t len = 0;
	int r = read_file(src, &content, &len);

	if (r < 0) {
		fprintf(stderr, "loop: cannot read %s: %s\n", src, strerror(-r));
		return r;
	}
	for (uint64_t i = 0; i < n; i++) {
		int k = snprintf(tail, sizeof(tail), "\n%llu\n", (unsigned long long)i);

		snprintf(path, sizeof(path), "%s%llu", prefix, (unsigned long long)i);
		r = write_file(path, 0755, content, len, tail, (size_t)k);
		if (r < 0) {
			fprintf(stderr, "loop: cannot write %s: %s\n", path, strerror(-r));
			return r;
		}
	}
	return 0;
}

static int make_digests(uint64_t n, const char *path)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	uint8_t d[32];
	char hex[65];

	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f)
		return -errno;
	fd = -1;
	for (uint64_t i = 0; i < n; i++) {
		if (getrandom(d, sizeof(d), 0) != (ssize_t)sizeof(d))
			return -EIO;
		hex_encode(d, sizeof(d), hex);
		fprintf(f, "%s\n", hex);
	}
	if (fflush(f) != 0 || ferror(f))
		return -EIO;
	return 0;
}

/* PID[,PID...] */
static int parse_pids(const char *arg)
{
	_cleanup_free_ char *copy = strdup(arg);
	char *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (n_stat_pids == MAX_PIDS || parse_u32(t, &stat_pids[n_stat_pids]) < 0 ||
		    stat_pids[n_stat_pids] == 0)
			return -EINVAL;
		n_stat_pids++;
	}
	return n_stat_pids ? 0 : -EINVAL;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: loop [--stats PID[,PID...]] exec|exec-each|open|mmap|mmap-each N PATH\n"
		   "       loop cmd N PROG [ARG...]\n"
		   "       loop copies N SRC PREFIX\n"
		   "       loop digests N FILE\n");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		enum op op;
		bool each;
	} loops[] = {
		{ "exec", OP_EXEC, false }, { "exec-each", OP_EXEC, true }, { "open", OP_OPEN, false },
		{ "mmap", OP_MMAP, false }, { "mmap-each", OP_MMAP, true }, { "cmd", OP_CMD, false },
	};
	uint64_t n;
	int r;

	if (argc > 2 && strcmp(argv[1], "--stats") == 0) {
		if (parse_pids(argv[2]) < 0) {
			fprintf(stderr, "loop: --stats: expected PID[,PID...], got '%s'\n", argv[2]);
			return 2;
		}
		r = progstats_open(stat_pids, n_stat_pids, &stats);
		if (r < 0) {
			fprintf(stderr, "loop: --stats %s: cannot open their BPF programs: %s\n", argv[2],
				strerror(-r));
			return 1;
		}
		argc -= 2;
		argv += 2;
	}
	if (argc < 4) {
		usage(stderr);
		return 2;
	}
	if (parse_u64(argv[2], MAX_N, &n) < 0 || n == 0) {
		fprintf(stderr, "loop: N: expected 1..%llu, got '%s'\n", MAX_N, argv[2]);
		return 2;
	}
	if (strcmp(argv[1], "copies") == 0 && argc == 5) {
		r = make_copies(n, argv[3], argv[4]);
	} else if (strcmp(argv[1], "digests") == 0 && argc == 4) {
		r = make_digests(n, argv[3]);
		if (r < 0)
			fprintf(stderr, "loop: cannot write %s: %s\n", argv[3], strerror(-r));
	} else {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(loops); i++)
			if (strcmp(argv[1], loops[i].name) == 0)
				break;
		if (i == ARRAY_SIZE(loops) || (argc != 4 && loops[i].op != OP_CMD)) {
			usage(stderr);
			return 2;
		}
		cmd_argv = argv + 3;
		r = timed_loop(loops[i].op, loops[i].each, n, argv[3]);
	}
	return r < 0 ? 1 : 0;
}
