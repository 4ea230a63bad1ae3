// SPDX-License-Identifier: GPL-2.0
/*
 * Once started, embargod needs far fewer system calls than a process may make: it reads and hashes
 * files, talks bpf() to its maps, answers fanotify, logs, serves its control socket, forks its confined
 * identify workers, kills prohibited processes (kill_running) and reloads its policy. Everything else
 * (loading kernel modules, mounting, tracing other processes, namespaces, io_uring, kexec, reboot...) is
 * refused from then on, on every thread (SCMP_FLTATR_CTL_TSYNC) and in every child.
 *
 * A refused call fails with EPERM; it does not kill the process: a missed path in this list must never
 * take the enforcer down. It is trapped (SIGSYS) so that it can be counted and named: the handler makes
 * the call return -EPERM, the housekeeping timer logs what was refused. Where the handler cannot set the
 * return value (an architecture not listed below), the filter answers EPERM itself and nothing is counted.
 */
#include "confine.h"
#include "daemon.h"
#include "json.h"
#include "log.h"
#include "record.h"
#include "util.h"

#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <ucontext.h>

#if defined(__x86_64__) || defined(__aarch64__)
#define CONFINE_TRAP 1
#else
#define CONFINE_TRAP 0
#endif

/* Above every system call number of the architectures we build for; others are counted together. */
#define NR_SLOTS 1024

/*
 * The steady state's system calls. Names missing on this architecture are skipped. execve: rpm -qf
 * (package rules on rpm systems), which then runs under this filter too.
 */
static const char *const allowed[] = {
	/* files: the policy, files to hash, /proc, state and runtime directories, pins */
	"read",
	"write",
	"readv",
	"writev",
	"pread64",
	"pwrite64",
	"preadv",
	"preadv2",
	"lseek",
	"open",
	"openat",
	"close",
	"close_range",
	"dup",
	"dup2",
	"dup3",
	"fcntl",
	"flock",
	"stat",
	"fstat",
	"lstat",
	"newfstatat",
	"statx",
	"statfs",
	"fstatfs",
	/* the fanotify tier keys its verdict cache by file handle */
	"name_to_handle_at",
	"getdents",
	"getdents64",
	"readlink",
	"readlinkat",
	"access",
	"faccessat",
	"faccessat2",
	"getxattr",
	"lgetxattr",
	"fgetxattr",
	"fsync",
	"fdatasync",
	"ftruncate",
	"fadvise64",
	"rename",
	"renameat",
	"renameat2",
	"unlink",
	"unlinkat",
	"mkdir",
	"mkdirat",
	"rmdir",
	"chmod",
	"fchmod",
	"fchmodat",
	"umask",
	"getcwd",
	"memfd_create",
	/* memory */
	"brk",
	"mmap",
	"munmap",
	"mremap",
	"mprotect",
	"madvise",
	/* threads, workers, signals */
	"futex",
	"set_robust_list",
	"get_robust_list",
	"set_tid_address",
	"rseq",
	"exit",
	"exit_group",
	"execve",
	"wait4",
	"waitid",
	"kill",
	"tgkill",
	"tkill",
	"rt_sigaction",
	"rt_sigprocmask",
	"rt_sigreturn",
	"sigaltstack",
	"restart_syscall",
	"sched_yield",
	"sched_getaffinity",
	"getcpu",
	"prctl",
	"arch_prctl",
	"seccomp",
	"getrandom",
	"setrlimit",
	"getrlimit",
	"prlimit64",
	"pidfd_open",
	"pidfd_send_signal",
	/* events and time */
	"epoll_create1",
	"epoll_ctl",
	"epoll_wait",
	"epoll_pwait",
	"epoll_pwait2",
	"poll",
	"ppoll",
	"select",
	"pselect6",
	"eventfd2",
	"pipe",
	"pipe2",
	"signalfd4",
	"timerfd_create",
	"timerfd_settime",
	"timerfd_gettime",
	"clock_gettime",
	"clock_getres",
	"gettimeofday",
	"time",
	"nanosleep",
	"clock_nanosleep",
	/* the control socket, sd_notify, the journal (AF_UNIX only, below) */
	"connect",
	"accept",
	"accept4",
	"sendto",
	"sendmsg",
	"recvfrom",
	"recvmsg",
	"getsockopt",
	"setsockopt",
	"getsockname",
	"getpeername",
	"shutdown",
	/* who and where we are */
	"getpid",
	"gettid",
	"getppid",
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"getresuid",
	"getresgid",
	"getgroups",
	"uname",
	"sysinfo",
	"getrusage",
	"getpriority",
	"capget",
	/* the kernel side */
	"bpf",
	"fanotify_mark",
};

/* The namespaces a clone may not create: what RestrictNamespaces= does, here for every tier. */
#define CLONE_NS_FLAGS                                                                                       \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |        \
	 CLONE_NEWNET)

static const unsigned long ioctls[] = { TCGETS, TIOCGWINSZ, FIONREAD, FIONBIO };

static struct {
	bool active;
	char detail[160];
	unsigned n_allowed;
	uint64_t reported_total;
	uint32_t reported[NR_SLOTS + 1];
} C;

/* Written by the SIGSYS handler on any thread; read by the event loop. */
static _Atomic uint64_t refused_total;
static _Atomic uint32_t refused[NR_SLOTS + 1]; /* the last slot: numbers beyond NR_SLOTS */

#if CONFINE_TRAP
/* Async-signal-safe: two atomic increments and the return value of the refused call. */
static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	int nr = si->si_syscall;

	(void)sig;
	atomic_fetch_add_explicit(&refused_total, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&refused[nr >= 0 && nr < NR_SLOTS ? nr : NR_SLOTS], 1,
				  memory_order_relaxed);
#if defined(__x86_64__)
	uc->uc_mcontext.gregs[REG_RAX] = -EPERM;
#else
	uc->uc_mcontext.regs[0] = (uint64_t)-EPERM;
#endif
}
#endif

static int add_rules(scmp_filter_ctx ctx)
{
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);

		/* Not a system call of this architecture (open on arm64, arch_prctl off x86). */
		if (nr == __NR_SCMP_ERROR || nr < 0)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (r < 0)
			return r;
		C.n_allowed++;
	}
	/* Threads, forks and posix_spawn, without new namespaces. clone3 hides its flags in memory a filter
	 * cannot read: ENOSYS makes glibc fall back to clone. */
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
			     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NS_FLAGS, 0));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(ioctls); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_EQ, ioctls[i]));
	if (r == 0)
		C.n_allowed += 3;
	return r;
}

int confine_start(struct daemon *d)
{
	scmp_filter_ctx ctx;
	uint32_t action = SCMP_ACT_ERRNO(EPERM);
	int r;

	if (!d->cfg->syscall_filter) {
		snprintf(C.detail, sizeof(C.detail), "off (syscall_filter no)");
		return 0;
	}
#if CONFINE_TRAP
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	sigset_t sys;

	sigemptyset(&sa.sa_mask);
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	if (sigaction(SIGSYS, &sa, NULL) == 0 && pthread_sigmask(SIG_UNBLOCK, &sys, NULL) == 0)
		action = SCMP_ACT_TRAP;
#endif
	ctx = seccomp_init(action);
	if (!ctx) {
		snprintf(C.detail, sizeof(C.detail), "not in force: seccomp_init failed");
		log_warning("System call filter not in force: seccomp_init failed");
		return -ENOMEM;
	}
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (r == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM));
	if (r == 0)
		r = add_rules(ctx);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0) {
		snprintf(C.detail, sizeof(C.detail), "not in force: %s", strerror(-r));
		log_warning("System call filter not in force: loading it failed: %s", strerror(-r));
		return r;
	}
	C.active = true;
	snprintf(C.detail, sizeof(C.detail),
		 "%u system calls allowed on every thread, others fail with EPERM%s", C.n_allowed,
		 action == SCMP_ACT_TRAP ? " and are logged" : "");
	return 0;
}

void confine_poll(struct daemon *d)
{
	uint64_t total = atomic_load_explicit(&refused_total, memory_order_relaxed);

	(void)d;
	if (total == C.reported_total)
		return;
	C.reported_total = total;
	for (int nr = 0; nr <= NR_SLOTS; nr++) {
		uint32_t n = atomic_load_explicit(&refused[nr], memory_order_relaxed);
		_cleanup_free_ char *name = NULL;

		if (n == C.reported[nr])
			continue;
		if (nr < NR_SLOTS)
			name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
		log_msg(LOG_WARNING, EMBARGO_MSGID_SYSCALL,
			"The system call filter refused %s (%d) %u time(s) with EPERM (%u in all)",
			name ? name : "an unknown system call", nr < NR_SLOTS ? nr : -1, n - C.reported[nr],
			n);
		C.reported[nr] = n;
	}
}

const char *confine_summary(char *buf, size_t size)
{
	snprintf(buf, size, "%s", C.detail[0] ? C.detail : "not started");
	return buf;
}

void confine_status_json(struct json_writer *w)
{
	json_key_object(w, "syscall_filter");
	json_key_bool(w, "active", C.active);
	json_key_string(w, "detail", C.detail[0] ? C.detail : "not started");
	json_key_u64(w, "allowed", C.active ? C.n_allowed : 0);
	json_key_u64(w, "refused", atomic_load_explicit(&refused_total, memory_order_relaxed));
	json_end_object(w);
}
