// SPDX-License-Identifier: GPL-2.0
/*
 * embargoctl doctor [--json]: what the kernel offers embargo, checked one feature at a time, what the
 * administrator can change for each missing one, and what the running daemon really chose. The static checks
 * tell why; only the daemon's load attempts (and the loads tried here) tell whether.
 */
#include "embargoctl.h"

#include "json.h"
#include "probe.h"
#include "util.h"

#include <bpf/libbpf.h>
#include <stdarg.h>
#include <string.h>
#include <sys/utsname.h>

#define BPFFS "/sys/fs/bpf"
#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#define SECURITYFS_LSM "/sys/kernel/security/lsm"
#define NAME_WIDTH 18

/* How to change the kernel command line on Debian, appended to every boot-parameter remedy. */
#define GRUB_HOWTO "on Debian, add it to GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub and reboot"

/* Exit status 1 (as inspect's "prohibited"): embargo runs, or would run, in a lesser tier than lsm-hash. */
#define DOCTOR_EXIT_LESSER_TIER CTL_EXIT_PROHIBITED

enum result {
	RESULT_OK,
	RESULT_NO,
	RESULT_UNKNOWN,
};

static const char *const result_names[] = { "ok", "no", "unknown" };

struct check {
	const char *name;
	enum result result;
	char detail[768];
	char remedy[768]; /* empty: nothing to change */
};

struct doctor {
	struct check checks[16];
	size_t n;
	bool root;
	struct utsname uts;
	struct embargo_kconfig kc;
	int kc_err; /* 0: kc holds the running kernel's configuration */
	char cmdline[4096];
	bool have_cmdline;
	struct embargo_probe probe;

	/* What the verdict needs. */
	bool btf, bpf_lsm_active, lsm_prog, lsm_hash_prog, ima_blocks, fanotify;

	/* The daemon: its parsed status, or why there is none. */
	struct json_value *status;
	bool daemon_error; /* it could not be asked, for another reason than not running */
	char daemon_msg[1024];
};

static void doctor_free(struct doctor *d)
{
	embargo_kconfig_free(&d->kc);
	json_value_free(d->status);
}

static struct check *add(struct doctor *d, const char *name, enum result result)
{
	struct check *c = &d->checks[d->n < ARRAY_SIZE(d->checks) ? d->n++ : ARRAY_SIZE(d->checks) - 1];

	*c = (struct check){ .name = name, .result = result };
	return c;
}

/* Appends "; text" (or text when buf is empty). */
static void __attribute__((format(printf, 3, 4))) append(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if (len + 3 >= size)
		return;
	if (len) {
		memcpy(buf + len, "; ", 3);
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

/* What kconfig() returns for an option the configuration does not set (compared by address). */
static const char kc_not_set[] = "not set";

/* A kernel option's value, kc_not_set, or NULL when no configuration could be read. */
static const char *kconfig(const struct doctor *d, const char *name, char *buf, size_t size)
{
	if (d->kc_err < 0)
		return NULL;
	return embargo_kconfig_get(&d->kc, name, buf, size) ?: kc_not_set;
}

/* "CONFIG_X=v" or "CONFIG_X is not set", for a detail. */
static const char *kc_show(const char *name, const char *v, char *buf, size_t size)
{
	if (v == kc_not_set)
		snprintf(buf, size, "%s is not set", name);
	else
		snprintf(buf, size, "%s=%s", name, v);
	return buf;
}

static bool is_y(const char *v)
{
	return v && strcmp(v, "y") == 0;
}

static void check_root(struct doctor *d)
{
	struct check *c = add(d, "root", d->root ? RESULT_OK : RESULT_NO);

	if (d->root) {
		snprintf(c->detail, sizeof(c->detail), "running as root");
		return;
	}
	snprintf(
		c->detail, sizeof(c->detail),
		"running as uid %u: loading BPF programs, fanotify and the daemon's socket need root, so the checks below may fail for that reason alone",
		(unsigned)geteuid());
	snprintf(c->remedy, sizeof(c->remedy), "run embargoctl doctor as root");
}

static void check_btf(struct doctor *d)
{
	struct check *c = add(d, "btf", d->probe.btf ? RESULT_OK : RESULT_NO);
	char v[64], show[96];
	const char *cfg = kconfig(d, "CONFIG_DEBUG_INFO_BTF", v, sizeof(v));

	d->btf = d->probe.btf;
	snprintf(c->detail, sizeof(c->detail), "/sys/kernel/btf/vmlinux %s%s%s%s",
		 d->probe.btf ? "present" : "missing", cfg ? " (" : "",
		 cfg ? kc_show("CONFIG_DEBUG_INFO_BTF", cfg, show, sizeof(show)) : "", cfg ? ")" : "");
	if (!d->probe.btf)
		snprintf(
			c->remedy, sizeof(c->remedy),
			"a kernel built with CONFIG_DEBUG_INFO_BTF=y (Debian's are): without BTF no tier of embargo can load");
}

static void check_bpf_lsm_config(struct doctor *d)
{
	char v[64], show[96];
	const char *cfg = kconfig(d, "CONFIG_BPF_LSM", v, sizeof(v));
	struct check *c = add(d, "bpf_lsm_config", !cfg ? RESULT_UNKNOWN : is_y(cfg) ? RESULT_OK : RESULT_NO);

	if (!cfg) {
		snprintf(
			c->detail, sizeof(c->detail),
			"CONFIG_BPF_LSM unknown: neither /boot/config-%s nor /proc/config.gz is readable (%s)",
			d->uts.release, strerror(-d->kc_err));
		return;
	}
	snprintf(c->detail, sizeof(c->detail), "%s (from %s)",
		 kc_show("CONFIG_BPF_LSM", cfg, show, sizeof(show)), d->kc.path);
	if (!is_y(cfg))
		snprintf(
			c->remedy, sizeof(c->remedy),
			"a kernel built with CONFIG_BPF_LSM=y (Debian's are): without it only the fanotify and detect tiers are possible");
}

static void check_bpf_lsm_active(struct doctor *d)
{
	struct embargo_probe *p = &d->probe;
	char sugg[300], cur[512];
	struct check *c;

	if (!p->lsm_list[0]) {
		/* embargo_probe_kernel() recorded why the list could not be read. */
		const char *why = "";

		for (size_t i = 0; i < p->n; i++)
			if (strcmp(p->checks[i].name, "lsm_list") == 0)
				why = p->checks[i].detail;
		c = add(d, "bpf_lsm_active", RESULT_UNKNOWN);
		snprintf(c->detail, sizeof(c->detail), "%s", *why ? why : "cannot read " SECURITYFS_LSM);
		return;
	}
	d->bpf_lsm_active = p->bpf_lsm_active;
	c = add(d, "bpf_lsm_active", p->bpf_lsm_active ? RESULT_OK : RESULT_NO);
	snprintf(c->detail, sizeof(c->detail), "%s in the active LSM list (%s)",
		 p->bpf_lsm_active ? "bpf" : "bpf not", p->lsm_list);
	if (p->bpf_lsm_active)
		return;
	if (d->have_cmdline && embargo_cmdline_get(d->cmdline, "lsm", cur, sizeof(cur)))
		append(c->detail, sizeof(c->detail), "the command line sets lsm=%s", cur);
	embargo_probe_lsm_suggestion(p, sugg, sizeof(sugg));
	snprintf(c->remedy, sizeof(c->remedy), "boot with %s: " GRUB_HOWTO " (GRUB_CMDLINE_LINUX=\"... %s\")",
		 sugg, sugg);
}

/* The sleepable hook with bpf_ima_file_hash that lsm-hash needs, and IMA hashing with SHA-256. */
static void check_ima(struct doctor *d)
{
	char ima[64], algo[64], alg_cmd[64], sha[64], show[96];
	const char *cfg_ima = kconfig(d, "CONFIG_IMA", ima, sizeof(ima));
	const char *cfg_algo = kconfig(d, "CONFIG_IMA_DEFAULT_HASH", algo, sizeof(algo));
	const char *cmd_algo = d->have_cmdline
				       ? embargo_cmdline_get(d->cmdline, "ima_hash", alg_cmd, sizeof(alg_cmd))
				       : NULL;
	int helper = embargo_probe_helper_known("ima_file_hash");
	enum result res = RESULT_OK;
	struct check *c = add(d, "ima_file_hash", RESULT_OK);

	/* Only sleepable LSM programs may call the helper, and they came first: the helper implies them. */
	if (helper < 0) {
		res = RESULT_UNKNOWN;
		append(c->detail, sizeof(c->detail),
		       "cannot read the kernel's BTF to look for bpf_ima_file_hash: %s", strerror(-helper));
	} else if (helper == 0) {
		res = RESULT_NO;
		append(c->detail, sizeof(c->detail), "the kernel has no bpf_ima_file_hash helper");
		append(c->remedy, sizeof(c->remedy),
		       "a kernel with bpf_ima_file_hash and sleepable LSM programs (Linux 5.18 or later, e.g. Debian 12's 6.1)");
	} else {
		append(c->detail, sizeof(c->detail),
		       "the kernel has bpf_ima_file_hash (sleepable LSM programs)");
	}

	if (!cfg_ima) {
		if (res == RESULT_OK)
			res = RESULT_UNKNOWN;
		append(c->detail, sizeof(c->detail), "CONFIG_IMA unknown (no readable kernel configuration)");
	} else if (!is_y(cfg_ima)) {
		res = RESULT_NO;
		append(c->detail, sizeof(c->detail), "%s: bpf_ima_file_hash cannot hash without IMA",
		       kc_show("CONFIG_IMA", cfg_ima, show, sizeof(show)));
		append(c->remedy, sizeof(c->remedy), "a kernel built with CONFIG_IMA=y (Debian's are)");
	} else {
		append(c->detail, sizeof(c->detail), "CONFIG_IMA=y");
	}

	/* bpf_ima_file_hash hashes with IMA's algorithm: ima_hash= on the command line, else the default. */
	if (cmd_algo && strcmp(cmd_algo, "sha256") != 0) {
		res = RESULT_NO;
		append(c->detail, sizeof(c->detail), "the command line sets ima_hash=%s, not sha256",
		       cmd_algo);
		append(c->remedy, sizeof(c->remedy),
		       "remove ima_hash=%s from the kernel command line or make it ima_hash=sha256: " GRUB_HOWTO,
		       cmd_algo);
	} else if (cmd_algo) {
		append(c->detail, sizeof(c->detail), "ima_hash=sha256 on the command line");
	} else if (cfg_ima && is_y(cfg_ima)) {
		/* Older configurations have only the choice symbol, not the string. */
		if (cfg_algo == kc_not_set &&
		    is_y(kconfig(d, "CONFIG_IMA_DEFAULT_HASH_SHA256", sha, sizeof(sha))))
			cfg_algo = "sha256";
		if (strcmp(cfg_algo, "sha256") == 0) {
			append(c->detail, sizeof(c->detail),
			       "IMA hashes with sha256 (CONFIG_IMA_DEFAULT_HASH)");
		} else {
			res = RESULT_NO;
			append(c->detail, sizeof(c->detail),
			       "IMA's default hash is %s, not sha256 (CONFIG_IMA_DEFAULT_HASH)", cfg_algo);
			append(c->remedy, sizeof(c->remedy), "boot with ima_hash=sha256: " GRUB_HOWTO);
		}
	}
	c->result = res;
	d->ima_blocks = res == RESULT_NO;
}

/* The loads: the last word before the daemon's own attempt, and safe (nothing is attached). */
static void check_lsm_load(struct doctor *d)
{
	char why[512];
	struct check *c;
	int r;

	if (!d->root) {
		c = add(d, "lsm_program", RESULT_UNKNOWN);
		snprintf(c->detail, sizeof(c->detail), "not tried: loading BPF programs needs root");
		c = add(d, "lsm_hash_program", RESULT_UNKNOWN);
		snprintf(c->detail, sizeof(c->detail), "not tried: loading BPF programs needs root");
		return;
	}
	r = embargo_probe_lsm_load(false, why, sizeof(why));
	d->lsm_prog = r == 0;
	c = add(d, "lsm_program", r == 0 ? RESULT_OK : RESULT_NO);
	if (r == 0) {
		snprintf(c->detail, sizeof(c->detail),
			 "a BPF LSM program on bprm_check_security loads (not attached)");
	} else {
		snprintf(
			c->detail, sizeof(c->detail),
			"loading a BPF LSM program on bprm_check_security failed: %s%s%s%s", strerror(-r),
			*why ? ": " : "", why,
			r == -EPERM
				? " (the kernel, or a sandbox around it, refuses BPF LSM programs even to root)"
				: "");
		snprintf(
			c->remedy, sizeof(c->remedy),
			r == -EPERM
				? "run embargo on a kernel that is not confined this way (a VM or a host kernel of your own); the fanotify tier works without BPF LSM"
				: "a kernel built with CONFIG_BPF_LSM=y and CONFIG_BPF_SYSCALL=y");
	}

	r = embargo_probe_lsm_load(true, why, sizeof(why));
	d->lsm_hash_prog = r == 0;
	c = add(d, "lsm_hash_program", r == 0 ? RESULT_OK : RESULT_NO);
	if (r == 0) {
		snprintf(c->detail, sizeof(c->detail),
			 "a sleepable BPF LSM program calling bpf_ima_file_hash loads (not attached)");
		return;
	}
	snprintf(c->detail, sizeof(c->detail),
		 "loading a sleepable BPF LSM program calling bpf_ima_file_hash failed: %s%s%s", strerror(-r),
		 *why ? ": " : "", why);
	if (d->lsm_prog)
		snprintf(
			c->remedy, sizeof(c->remedy),
			"a kernel with sleepable LSM programs and bpf_ima_file_hash (see ima_file_hash); until then embargo can use the lsm tier");
	else
		snprintf(c->remedy, sizeof(c->remedy), "see lsm_program");
}

static void check_fanotify(struct doctor *d)
{
	const char *step = NULL;
	char v[64], show[96];
	int r = embargo_probe_fanotify_perm(&step);
	const char *cfg = kconfig(d, "CONFIG_FANOTIFY_ACCESS_PERMISSIONS", v, sizeof(v));
	struct check *c = add(d, "fanotify", r == 0 ? RESULT_OK : RESULT_NO);

	d->fanotify = r == 0;
	if (r == 0) {
		snprintf(
			c->detail, sizeof(c->detail),
			"permission events work (a FAN_CLASS_CONTENT group took a FAN_OPEN_EXEC_PERM mark on a private memfd)");
		return;
	}
	snprintf(c->detail, sizeof(c->detail), "%s failed: %s%s%s", step, strerror(-r), cfg ? "; " : "",
		 cfg ? kc_show("CONFIG_FANOTIFY_ACCESS_PERMISSIONS", cfg, show, sizeof(show)) : "");
	if (r == -EPERM)
		snprintf(c->remedy, sizeof(c->remedy),
			 "run as root (fanotify permission events need CAP_SYS_ADMIN)");
	else
		snprintf(
			c->remedy, sizeof(c->remedy),
			"a kernel built with CONFIG_FANOTIFY=y and CONFIG_FANOTIFY_ACCESS_PERMISSIONS=y (Debian's are)");
}

static void check_bpffs(struct doctor *d)
{
	int r = embargo_probe_bpffs(BPFFS);
	struct check *c = add(d, "bpffs", r == 0 ? RESULT_OK : RESULT_NO);

	if (r == 0) {
		snprintf(c->detail, sizeof(c->detail), "a BPF filesystem is mounted at " BPFFS);
		return;
	}
	snprintf(c->detail, sizeof(c->detail), "%s at " BPFFS,
		 r == -ENODEV ? "another filesystem than bpffs is mounted" : strerror(-r));
	snprintf(
		c->remedy, sizeof(c->remedy),
		"mount -t bpf bpf " BPFFS
		" (systemd does at boot; embargod mounts it itself to pin the fanotify tier's exec backstop)");
}

static void check_journal(struct doctor *d)
{
	int r = embargo_probe_socket(JOURNAL_SOCKET);
	struct check *c = add(d, "journal", r == 0 ? RESULT_OK : RESULT_NO);

	if (r == 0) {
		snprintf(c->detail, sizeof(c->detail),
			 JOURNAL_SOCKET " is there: embargod logs to the journal");
		return;
	}
	snprintf(c->detail, sizeof(c->detail), JOURNAL_SOCKET ": %s: embargod logs to stderr instead",
		 strerror(-r));
	snprintf(c->remedy, sizeof(c->remedy),
		 "run systemd-journald (systemd does), or keep embargod's stderr (--log stderr)");
}

/* Asks the daemon for its status; not running is an answer, not an error. */
static void ask_daemon(struct doctor *d, const struct ctl *ctl)
{
	_cleanup_free_ char *body = NULL;
	int r = ctl_call(ctl, "status", &body);

	if (r < 0) {
		ctl_call_strerror(ctl, r, body, d->daemon_msg, sizeof(d->daemon_msg));
		d->daemon_error = ctl_call_status(r, body) != CTL_EXIT_NO_DAEMON;
		return;
	}
	r = json_parse(body, strlen(body), &d->status);
	if (r < 0 || d->status->type != JSON_OBJECT) {
		json_value_free(d->status);
		d->status = NULL;
		d->daemon_error = true;
		snprintf(d->daemon_msg, sizeof(d->daemon_msg), "embargod's reply is not a JSON object");
	}
}

/* The daemon's load attempt for tier, if it reported a failed one. */
static const char *daemon_probe_failure(const struct json_value *st, const char *tier)
{
	const struct json_value *probe = json_get(st, "probe");
	bool ok;

	for (size_t i = 0; probe && probe->type == JSON_ARRAY && i < probe->n; i++) {
		const struct json_value *p = &probe->members[i].value;
		const char *check = json_get_string(p, "check");

		if (check && strcmp(check, tier) == 0 && json_get_bool(p, "ok", &ok) == 0 && !ok)
			return json_get_string(p, "detail");
	}
	return NULL;
}

/*
 * The answer: exit status, the tier embargo runs in (or would start in), and one sentence why.
 * With a daemon, what it chose; without, what the checks and loads here say.
 */
static int verdict(const struct doctor *d, const char **tier, char *why, size_t size)
{
	const char *t, *reason, *lsm_hash_failed;

	if (d->status) {
		t = json_get_string(d->status, "tier") ?: "?";
		*tier = t;
		if (strcmp(t, "lsm-hash") == 0) {
			snprintf(why, size, "embargod runs in the best tier, lsm-hash");
			return CTL_EXIT_OK;
		}
		reason = json_get_string(d->status, "tier_reason");
		lsm_hash_failed = daemon_probe_failure(d->status, "lsm-hash");
		snprintf(why, size, "embargod runs in tier %s, not lsm-hash: %s", t,
			 reason && *reason ? reason : "?");
		if (lsm_hash_failed && (!reason || !strstr(reason, lsm_hash_failed)))
			append(why, size, "its lsm-hash attempt: %s", lsm_hash_failed);
		return DOCTOR_EXIT_LESSER_TIER;
	}
	if (!d->root) {
		*tier = NULL;
		snprintf(why, size, "inconclusive: not running as root");
		return CTL_EXIT_ERROR;
	}
	/* Not running: the tier embargod would take, in its own order. */
	if (d->btf && d->bpf_lsm_active && d->lsm_prog && d->lsm_hash_prog && !d->ima_blocks) {
		*tier = "lsm-hash";
		snprintf(
			why, size,
			"embargod is not running; lsm-hash is available (its self-test at start proves in-kernel hashing)");
		return CTL_EXIT_OK;
	}
	if (!d->btf)
		*tier = NULL;
	else if (d->bpf_lsm_active && d->lsm_prog)
		*tier = "lsm";
	else if (d->fanotify)
		*tier = "fanotify";
	else
		*tier = "detect";
	snprintf(why, size, "embargod is not running; lsm-hash is not available (");
	for (size_t i = 0, first = 1; i < d->n; i++) {
		const struct check *c = &d->checks[i];

		if (c->result != RESULT_NO || strcmp(c->name, "fanotify") == 0 ||
		    strcmp(c->name, "bpffs") == 0 || strcmp(c->name, "journal") == 0)
			continue;
		snprintf(why + strlen(why), size - strlen(why), "%s%s", first ? "" : ", ", c->name);
		first = 0;
	}
	snprintf(why + strlen(why), size - strlen(why), "); it would start in %s%s",
		 *tier ? "tier " : "no tier: without BTF nothing loads", *tier ?: "");
	return DOCTOR_EXIT_LESSER_TIER;
}

static void run_checks(struct doctor *d, const struct ctl *ctl)
{
	d->root = geteuid() == 0;
	if (uname(&d->uts) < 0)
		snprintf(d->uts.release, sizeof(d->uts.release), "?");
	d->kc_err = embargo_kconfig_load_running(&d->kc);
	d->have_cmdline = embargo_probe_read_cmdline(d->cmdline, sizeof(d->cmdline)) == 0;
	embargo_probe_kernel(&d->probe);

	check_root(d);
	check_btf(d);
	check_bpf_lsm_config(d);
	check_bpf_lsm_active(d);
	check_ima(d);
	check_lsm_load(d);
	check_fanotify(d);
	check_bpffs(d);
	check_journal(d);
	ask_daemon(d, ctl);
}

static void print_line(const char *indent, const char *s)
{
	fputs(indent, stdout);
	ctl_print_safe(stdout, s);
	putchar('\n');
}

static void print_daemon(const struct doctor *d)
{
	const struct json_value *st = d->status, *pid, *probe, *mech;
	const char *reason;
	bool enforcing = true;

	if (!st) {
		/* The message names embargod or its socket itself. */
		print_line("", d->daemon_msg);
		return;
	}
	pid = json_get(st, "pid");
	fputs("embargod: running, pid ", stdout);
	ctl_print_safe(stdout, pid && pid->type == JSON_NUMBER ? pid->string : "?");
	fputs(", tier ", stdout);
	ctl_print_safe(stdout, json_get_string(st, "tier") ?: "?");
	if (json_get_bool(st, "enforcing", &enforcing) == 0 && !enforcing)
		fputs(", DETECTION ONLY: nothing is prevented", stdout);
	putchar('\n');
	reason = json_get_string(st, "tier_reason");
	if (reason && *reason)
		print_line("  why: ", reason);
	probe = json_get(st, "probe");
	if (probe && probe->type == JSON_ARRAY && probe->n) {
		puts("  its checks and load attempts:");
		ctl_print_probe(probe, "    ");
	}
	mech = json_get(st, "mechanisms");
	if (mech && mech->type == JSON_ARRAY) {
		puts("  mechanisms in place:");
		ctl_print_strings(mech, "    ");
	}
}

static void print_human(const struct doctor *d, const char *why)
{
	fputs("Kernel ", stdout);
	ctl_print_safe(stdout, d->uts.release);
	if (d->kc_err == 0) {
		fputs(", configuration from ", stdout);
		ctl_print_safe(stdout, d->kc.path);
	} else {
		printf(", configuration not readable (/boot/config-%s, /proc/config.gz: %s)", d->uts.release,
		       strerror(-d->kc_err));
	}
	putchar('\n');
	for (size_t i = 0; i < d->n; i++) {
		const struct check *c = &d->checks[i];

		printf("  %-8s %-*s ", result_names[c->result], NAME_WIDTH, c->name);
		ctl_print_safe(stdout, c->detail);
		putchar('\n');
		if (c->remedy[0])
			print_line("           change: ", c->remedy);
	}
	putchar('\n');
	print_daemon(d);
	putchar('\n');
	print_line("Result: ", why);
}

/* The daemon's members doctor reports, copied from its status. */
static void daemon_json(const struct doctor *d, struct json_writer *w)
{
	const struct json_value *st = d->status, *v;
	uint64_t pid;
	bool b;

	json_key_object(w, "embargod");
	json_key_bool(w, "running", st != NULL);
	if (!st) {
		json_key_string(w, d->daemon_error ? "error" : "detail", d->daemon_msg);
		json_end_object(w);
		return;
	}
	if (json_get_u64(st, "pid", &pid) == 0)
		json_key_u64(w, "pid", pid);
	json_key_string(w, "tier", json_get_string(st, "tier"));
	json_key_string(w, "tier_reason", json_get_string(st, "tier_reason"));
	if (json_get_bool(st, "enforcing", &b) == 0)
		json_key_bool(w, "enforcing", b);
	json_key_array(w, "mechanisms");
	v = json_get(st, "mechanisms");
	for (size_t i = 0; v && v->type == JSON_ARRAY && i < v->n; i++)
		if (v->members[i].value.type == JSON_STRING)
			json_string(w, v->members[i].value.string);
	json_end_array(w);
	json_key_array(w, "probe");
	v = json_get(st, "probe");
	for (size_t i = 0; v && v->type == JSON_ARRAY && i < v->n; i++) {
		const struct json_value *p = &v->members[i].value;

		json_begin_object(w);
		json_key_string(w, "check", json_get_string(p, "check"));
		if (json_get_bool(p, "ok", &b) == 0)
			json_key_bool(w, "ok", b);
		json_key_string(w, "detail", json_get_string(p, "detail"));
		json_end_object(w);
	}
	json_end_array(w);
	json_end_object(w);
}

static int print_json(const struct doctor *d, int status, const char *tier, const char *why)
{
	_cleanup_(json_writer_free) struct json_writer w = JSON_WRITER_INIT;
	_cleanup_free_ char *text = NULL;
	int r;

	json_begin_object(&w);
	json_key_u64(&w, "version", 1);
	json_key_string(&w, "kernel", d->uts.release);
	json_key_string(&w, "kernel_config", d->kc_err == 0 ? d->kc.path : NULL);
	json_key_array(&w, "checks");
	for (size_t i = 0; i < d->n; i++) {
		const struct check *c = &d->checks[i];

		json_begin_object(&w);
		json_key_string(&w, "check", c->name);
		json_key_string(&w, "result", result_names[c->result]);
		json_key_string(&w, "detail", c->detail);
		if (c->remedy[0])
			json_key_string(&w, "remedy", c->remedy);
		json_end_object(&w);
	}
	json_end_array(&w);
	daemon_json(d, &w);
	json_key_bool(&w, "best_tier_available", status == CTL_EXIT_OK);
	json_key_string(&w, "tier", tier);
	json_key_string(&w, "summary", why);
	json_end_object(&w);
	r = json_writer_finish(&w, &text, NULL);
	if (r < 0)
		return ctl_error("doctor", "cannot write JSON: %s", strerror(-r));
	puts(text);
	return status;
}

int cmd_doctor(const struct ctl *ctl, int argc, char **argv)
{
	_cleanup_(doctor_free) struct doctor d = { .kc_err = -ENOENT };
	const char *tier = NULL;
	char why[2048];
	bool json = false;
	int r, status;

	r = ctl_parse_json_option("doctor", argc, argv, &json);
	if (r >= 0)
		return r;

	/* libbpf would print its own complaints about the probe loads; the checks say what failed. */
	libbpf_set_print(NULL);
	run_checks(&d, ctl);
	status = verdict(&d, &tier, why, sizeof(why));
	if (d.daemon_error) {
		/* The checks are still worth reading; the answer is not complete without the daemon's. */
		status = CTL_EXIT_ERROR;
		append(why, sizeof(why), "embargod could not be asked: %s", d.daemon_msg);
	}
	if (json)
		return print_json(&d, status, tier, why);
	print_human(&d, why);
	return status;
}
