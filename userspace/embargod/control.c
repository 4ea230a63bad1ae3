// SPDX-License-Identifier: GPL-2.0
/* The daemon's side of the control socket: status, runtime mode switch, digest lookup. */
#include "bpf.h"
#include "confine.h"
#include "control-server.h"
#include "control.h"
#include "daemon.h"
#include "event.h"
#include "fanotify.h"
#include "hybrid.h"
#include "ident.h"
#include "json.h"
#include "log.h"
#include "protection.h"
#include "reload.h"
#include "sha256.h"
#include "state.h"
#include "tier.h"
#include "util.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>

static const char *const stat_names[] = EMBARGO_STAT_NAMES;

static void tty_of(pid_t pid, char *buf, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/fd/0", (int)pid);
	n = readlink(link, buf, size - 1);
	buf[n < 0 ? 0 : n] = '\0';
}

/* What is actually in place, in words an administrator can check against the kernel. */
static void mechanisms_json(const struct daemon *d, struct json_writer *w)
{
	struct fan_stats fs;

	json_key_array(w, "mechanisms");
	switch (d->tier) {
	case EMBARGO_TIER_LSM_HASH:
		json_string(w, "BPF LSM bprm_check_security and mmap_file (PROT_EXEC), sleepable, hashing "
			       "misses with "
			       "bpf_ima_file_hash");
		json_string(w, "BPF LSM file_open: write-opens drop cached verdicts, exec-opens of known "
			       "files refused");
		break;
	case EMBARGO_TIER_LSM:
		json_string(
			w, "BPF LSM bprm_check_security and mmap_file (PROT_EXEC) on cached verdicts; misses "
			   "classified by embargod");
		json_string(w, "BPF LSM file_open: write-opens drop cached verdicts, exec-opens of known "
			       "files refused");
		break;
	case EMBARGO_TIER_FANOTIFY:
		fanotify_stats(d, &fs);
		for (size_t i = 0;; i++) {
			char m[PATH_MAX + 128], name[PATH_MAX + 64];

			if (!fanotify_marked_fs(d, i, name, sizeof(name)))
				break;
			snprintf(m, sizeof(m), "fanotify FAN_OPEN_EXEC_PERM on the filesystem of %s", name);
			json_string(w, m);
		}
		json_string(w, "fanotify FAN_OPEN_PERM on each known prohibited inode");
		json_string(
			w,
			"tp_btf/sched_process_exec: context, and SIGKILL of known prohibited images (pinned: "
			"survives the daemon)");
		break;
	default:
		json_string(w, "tp_btf/sched_process_exec: reports only");
		break;
	}
	if (hybrid_active(d)) {
		json_string(w,
			    "fanotify FAN_OPEN_EXEC_PERM on the local file systems: execs the kernel has "
			    "not classified wait for embargod's hash; classified clean files carry an ignore "
			    "mark that any write drops");
	}
	json_end_array(w);
	if (d->tier == EMBARGO_TIER_FANOTIFY || hybrid_active(d)) {
		fanotify_stats(d, &fs);
		json_key_object(w, "fanotify");
		json_key_u64(w, "events", fs.events);
		json_key_u64(w, "allowed", fs.allowed);
		json_key_u64(w, "denied", fs.denied);
		json_key_u64(w, "timeouts", fs.timeouts);
		json_key_u64(w, "hashed", fs.hashed);
		json_key_u64(w, "cache_hits", fs.cache_hits);
		json_key_u64(w, "late_kills", fs.late_kills);
		json_key_u64(w, "marked_inodes", fs.marked_inodes);
		json_key_u64(w, "workers", fs.workers);
		json_key_u64(w, "hashing", fs.busy);
		json_key_u64(w, "queued", fs.queued);
		json_key_u64(w, "too_big", fs.too_big);
		json_key_u64(w, "queue_full", fs.queue_full);
		json_key_u64(w, "hash_errors", fs.errors);
		json_key_u64(w, "watched", fs.watched);
		json_key_u64(w, "invalidations", fs.invalidations);
		json_key_u64(w, "late_dropped", fs.late_dropped);
		json_key_u64(w, "held", fs.held);
		json_key_u64(w, "mount_namespaces", fs.mount_namespaces);
		json_key_u64(w, "mounts_marked", fs.mounts_marked);
		json_key_u64(w, "mount_mark_failures", fs.mount_mark_failures);
		json_key_u64(w, "mark_latency_last_us", fs.mark_latency_last_us);
		json_key_u64(w, "mark_latency_max_us", fs.mark_latency_max_us);
		json_key_u64(w, "max_hash_size_mib", d->cfg->max_hash_size_mib);
		json_key_u64(w, "decision_timeout_ms", d->cfg->decision_timeout_ms);
		json_key_string(w, "on_timeout",
				embargo_config_on_timeout_allows(d->cfg->on_timeout) ? "allow" : "deny");
		json_end_object(w);
	}
}

static int status_json(struct daemon *d, char **ret)
{
	_cleanup_(json_writer_free) struct json_writer w = JSON_WRITER_INIT;
	uint64_t stats[EMBARGO_STAT_MAX];
	char when[64];
	struct tm tm;

	bpf_read_stats(d->bpf, stats);
	gmtime_r(&d->loaded_at, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);

	json_begin_object(&w);
	json_key_u64(&w, "version", 1);
	json_key_u64(&w, "pid", (uint64_t)getpid());
	json_key_string(&w, "mode", embargo_mode_name(d->mode));
	json_key_string(&w, "tier", embargo_tier_name(d->tier));
	json_key_string(&w, "tier_reason", d->tier_reason);
	json_key_bool(&w, "first_exec_window", hybrid_first_exec_window(d));
	hybrid_status_json(d, &w);
	json_key_bool(&w, "enforcing", d->tier != EMBARGO_TIER_DETECT);
	mechanisms_json(d, &w);
	protect_status_json(d, &w);
	confine_status_json(&w);
	json_key_string(&w, "log", log_target_name());

	json_key_object(&w, "policy");
	json_key_string(&w, "path", d->policy->path);
	json_key_u64(&w, "generation", d->gen);
	json_key_u64(&w, "vendors", d->policy->n_vendors);
	json_key_u64(&w, "rules", d->policy->n_rules);
	json_key_u64(&w, "duplicates", d->policy->n_duplicates);
	json_key_string(&w, "loaded_at", when);
	json_key_u64(&w, "capacity", bpf_digest_capacity(d->bpf));
	json_key_bool(&w, "last_good_copy", d->fallback.active);
	if (d->fallback.active) {
		json_key_string(&w, "rejected", d->fallback.error);
		gmtime_r(&d->fallback.saved, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_key_string(&w, "copy_saved_at", when);
	}
	json_end_object(&w);

	ident_status_json(d, &w);

	json_key_object(&w, "init_module");
	json_key_bool(&w, "deny",
		      d->deny_init_module &&
			      (d->tier == EMBARGO_TIER_LSM_HASH || d->tier == EMBARGO_TIER_LSM));
	json_key_string(&w, "why", d->init_module_why);
	json_end_object(&w);

	json_key_object(&w, "persistence");
	json_key_bool(&w, "pinned", bpf_pinned(d->bpf));
	json_key_string(&w, "pin_dir", "/sys/fs/bpf/embargo");
	json_key_bool(&w, "keep_enforcement_on_exit", d->cfg->keep_enforcement_on_exit);
	json_key_bool(&w, "took_over", bpf_took_over(d->bpf));
	json_end_object(&w);

	json_key_object(&w, "reload");
	json_key_u64(&w, "attempts", d->reload.attempts);
	json_key_u64(&w, "failures", d->reload.failures);
	json_key_u64(&w, "coalesced", d->reload.coalesced);
	if (d->reload.attempts) {
		gmtime_r(&d->reload.at, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_key_string(&w, "last_at", when);
		json_key_bool(&w, "last_failed", d->reload.failed);
		if (d->reload.failed)
			json_key_string(&w, "last_error", d->reload.error);
		else
			json_key_u64(&w, "last_ms", (uint64_t)(d->reload.seconds * 1000));
	}
	json_end_object(&w);

	json_key_array(&w, "vendors");
	for (size_t i = 0; i < d->policy->n_vendors; i++) {
		const struct embargo_vendor *v = &d->policy->vendors[i];

		json_begin_object(&w);
		json_key_string(&w, "name", v->name);
		json_key_string(&w, "mode", embargo_mode_name(v->mode));
		json_key_string(&w, "effective_mode",
				embargo_mode_name(embargo_effective_mode(v->mode, d->mode)));
		json_key_u64(&w, "digests", v->n_rules);
		json_key_bool(&w, "strict", embargo_vendor_strict(d->policy, i));
		if (v->reason)
			json_key_string(&w, "reason", v->reason);
		json_key_array(&w, "entities");
		for (size_t e = 0; e < v->n_entities; e++)
			json_string(&w, v->entities[e]);
		json_end_array(&w);
		json_end_object(&w);
	}
	json_end_array(&w);

	json_key_object(&w, "counters");
	json_key_u64(&w, "decisions", stats[EMBARGO_STAT_CACHE_HITS] + stats[EMBARGO_STAT_CACHE_MISSES]);
	for (unsigned i = 0; i < EMBARGO_STAT_MAX; i++)
		json_key_u64(&w, stat_names[i], stats[i]);
	json_key_u64(&w, "log_dropped", log_dropped());
	json_key_u64(&w, "log_suppressed", log_suppressed());
	json_key_u64(&w, "events_malformed", d->events_bad);
	json_key_u64(&w, "classified_in_userspace", __atomic_load_n(&d->classified, __ATOMIC_RELAXED));
	json_key_u64(&w, "classify_queue_full", __atomic_load_n(&d->classify_dropped, __ATOMIC_RELAXED));
	json_end_object(&w);

	json_key_array(&w, "probe");
	for (size_t i = 0; i < d->probe.n; i++) {
		json_begin_object(&w);
		json_key_string(&w, "check", d->probe.checks[i].name);
		json_key_bool(&w, "ok", d->probe.checks[i].ok);
		json_key_string(&w, "detail", d->probe.checks[i].detail);
		json_end_object(&w);
	}
	json_end_array(&w);
	json_end_object(&w);
	return json_writer_finish(&w, ret, NULL);
}

static int lookup_json(struct daemon *d, const char *hex, char **ret)
{
	_cleanup_(json_writer_free) struct json_writer w = JSON_WRITER_INIT;
	const struct embargo_rule *r;
	uint8_t digest[SHA256_LEN];
	char loc[4200];

	if (hex_decode(hex, strlen(hex), digest, SHA256_LEN) < 0)
		return -EINVAL;
	r = embargo_policy_lookup(d->policy, digest);
	json_begin_object(&w);
	json_key_bool(&w, "match", r != NULL);
	if (r) {
		const struct embargo_vendor *v = &d->policy->vendors[r->vendor];
		uint8_t eff = embargo_effective_mode(v->mode, d->mode);

		json_key_string(&w, "vendor", v->name);
		json_key_string(&w, "rule", embargo_rule_location(d->policy, r, loc, sizeof(loc)));
		if (r->label)
			json_key_string(&w, "label", r->label);
		json_key_string(&w, "vendor_mode", embargo_mode_name(v->mode));
		json_key_string(&w, "effective_mode", embargo_mode_name(eff));
		json_key_string(&w, "action",
				embargo_action_name(embargo_match_action(v->mode, d->mode, d->tier)));
	}
	json_end_object(&w);
	return json_writer_finish(&w, ret, NULL);
}

static void req_status(struct daemon *d, int fd, const char *who, const char *arg)
{
	_cleanup_free_ char *body = NULL;
	int r = status_json(d, &body);

	(void)who;
	(void)arg;
	(void)embargo_control_reply(fd, r < 0 ? -r : 0, r < 0 ? "cannot format status" : body);
}

static void req_lookup(struct daemon *d, int fd, const char *who, const char *arg)
{
	_cleanup_free_ char *body = NULL;
	int r = lookup_json(d, arg, &body);

	(void)who;
	(void)embargo_control_reply(fd, r < 0 ? -r : 0, r < 0 ? "expected a SHA-256 in hex" : body);
}

static void req_learned(struct daemon *d, int fd, const char *who, const char *arg)
{
	_cleanup_free_ char *body = NULL;
	int r = ident_list_json(d, &body);

	(void)who;
	(void)arg;
	(void)embargo_control_reply(fd, r < 0 ? -r : 0, r < 0 ? "cannot format the learned digests" : body);
}

static void req_forget(struct daemon *d, int fd, const char *who, const char *arg)
{
	uint8_t digest[SHA256_LEN];
	int r;

	if (strlen(arg) != SHA256_HEX_LEN || hex_decode(arg, strlen(arg), digest, SHA256_LEN) < 0) {
		(void)embargo_control_reply(fd, EINVAL, "expected a SHA-256 in hex");
		return;
	}
	r = ident_forget(d, digest);
	if (r == -ENOENT) {
		(void)embargo_control_reply(fd, ENOENT, "no such learned digest");
		return;
	}
	log_notice("Learned digest %s forgotten by %s: no longer denied", arg, who);
	(void)embargo_control_reply(fd, 0, arg);
}

static void req_reload(struct daemon *d, int fd, const char *who, const char *arg)
{
	/* The reply comes when the reload thread is done: the connection is reload.c's until then. */
	int keep = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	(void)arg;
	if (keep < 0) {
		(void)embargo_control_reply(fd, errno, "cannot keep the connection for the reply");
		return;
	}
	reload_request(d, who, keep);
}

static void req_mode(struct daemon *d, int fd, const char *who, const char *arg)
{
	uint8_t mode, old = d->mode;
	int r;

	if (embargo_mode_from_string(arg, &mode) < 0 || mode == EMBARGO_MODE_INHERIT) {
		(void)embargo_control_reply(fd, EINVAL, "mode must be 'audit' or 'enforce'");
		return;
	}
	tier_set_mode(d, mode);
	/* Kept for the next start: an administrator's switch survives a restart or a reboot. */
	r = state_save_mode(d, mode);
	if (r < 0)
		log_warning(
			"Mode %s is in effect but could not be saved under %s: %s; a restart would use the "
			"configured mode",
			embargo_mode_name(mode), d->cfg->state_dir, strerror(-r));
	log_msg(LOG_NOTICE, EMBARGO_MSGID_MODE, "Mode changed from %s to %s by %s%s", embargo_mode_name(old),
		embargo_mode_name(mode), who,
		d->tier == EMBARGO_TIER_DETECT ? "; this tier only detects, so nothing is denied either way"
					       : "");
	(void)embargo_control_reply(fd, 0, embargo_mode_name(mode));
	notify_status(d);
}

/*
 * Every request embargod answers. Queries only read; a change is handed who asked (uid, pid, terminal)
 * and logs it. A request is its name, then, for those with an argument, one blank and the argument.
 */
static const struct request {
	const char *name;
	bool has_arg;
	bool changes;
	void (*handle)(struct daemon *d, int fd, const char *who, const char *arg);
} requests[] = {
	{ "status", false, false, req_status },	  { "lookup", true, false, req_lookup },
	{ "mode", true, true, req_mode },	  { "reload", false, true, req_reload },
	{ "learned", false, false, req_learned }, { "forget", true, true, req_forget },
};

static void dispatch(struct daemon *d, int fd, const struct ucred *cred, const char *req)
{
	for (size_t i = 0; i < ARRAY_SIZE(requests); i++) {
		const struct request *q = &requests[i];
		size_t n = strlen(q->name);
		char who[400] = "", tty[256];

		if (strncmp(req, q->name, n) != 0 || req[n] != (q->has_arg ? ' ' : '\0'))
			continue;
		if (q->changes) {
			tty_of(cred->pid, tty, sizeof(tty));
			snprintf(who, sizeof(who), "uid %u pid %d (%s)", cred->uid, (int)cred->pid,
				 tty[0] ? tty : "no tty");
		}
		q->handle(d, fd, who, q->has_arg ? req + n + 1 : "");
		return;
	}
	(void)embargo_control_reply(fd, EINVAL, "unknown request");
}

int control_start(struct daemon *d)
{
	int fd = embargo_control_listen(d->cfg->runtime_dir);

	if (fd < 0)
		return fd;
	d->ctl_fd = fd;
	return 0;
}

void control_stop(struct daemon *d)
{
	char path[256];

	if (d->ctl_fd < 0)
		return;
	close(d->ctl_fd);
	d->ctl_fd = -1;
	if (embargo_control_path(d->cfg->runtime_dir, path, sizeof(path)) == 0)
		(void)unlink(path);
}

void control_handle(struct daemon *d)
{
	_cleanup_close_ int fd = embargo_control_accept(d->ctl_fd);
	_cleanup_free_ char *req = NULL;
	struct ucred cred = {};
	int r;

	if (fd < 0)
		return;
	r = embargo_control_peer(fd, &cred);
	if (r < 0) {
		log_warning("Refused a control connection from uid %u pid %d: only root may control embargod",
			    cred.uid, (int)cred.pid);
		(void)embargo_control_reply(fd, EPERM, "only root may control embargod");
		return;
	}
	/* The client sends right after connecting: wait for it, but never long enough to stall the loop. */
	struct timeval tv = { .tv_sec = 1 };
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	r = embargo_control_recv(fd, &req);
	if (r < 0)
		return;
	dispatch(d, fd, &cred, req);
}
