// SPDX-License-Identifier: GPL-2.0
/*
 * What the kernel reports: matches are logged; files the kernel could not judge (no in-kernel hashing)
 * are hashed here and their verdict is put into the kernel's cache, so the next exec is decided there.
 */
#include "bpf.h"
#include "daemon.h"
#include "event.h"
#include "events.h"
#include "ident.h"
#include "log.h"
#include "running.h"
#include "sha256.h"
#include "util.h"
#include "workq.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Recent matches, so that a later "repeated N times" report can name the file. */
#define RECENT 256

struct recent {
	uint64_t dev, ino;
	uint32_t rule_id;
	uint8_t action; /* of the last report: what a "repeated N times" record says was done */
	bool used;
	char path[EMBARGO_PATH_LEN];
};

static struct recent recent[RECENT];
static unsigned recent_next;

static void verdict_match(struct embargo_verdict *v, const struct embargo_rule_ref *ref)
{
	v->verdict = EMBARGO_VERDICT_MATCH;
	v->rule_id = ref->rule_id;
	v->vendor_id = ref->vendor_id;
	v->vendor_mode = ref->vendor_mode;
}

bool daemon_verdict(const struct daemon *d, const uint8_t sha256[32], const struct stat *st,
		    struct embargo_verdict *v)
{
	const struct embargo_rule *rule = embargo_policy_lookup(d->policy, sha256);
	struct embargo_rule_ref ref;

	*v = (struct embargo_verdict){
		.ctime_sec = st->st_ctim.tv_sec,
		.ctime_nsec = (uint32_t)st->st_ctim.tv_nsec,
		.gen = d->gen,
		.verdict = EMBARGO_VERDICT_CLEAN,
	};
	if (rule) {
		ref = (struct embargo_rule_ref){ .rule_id = (uint32_t)(rule - d->policy->rules),
						 .vendor_id = (uint16_t)rule->vendor,
						 .vendor_mode = d->policy->vendors[rule->vendor].mode };
		verdict_match(v, &ref);
	} else if (ident_learned(d, sha256, &ref)) {
		verdict_match(v, &ref);
	}
	return v->verdict == EMBARGO_VERDICT_MATCH;
}

bool daemon_identify(struct daemon *d, int fd, const char *path, const uint8_t sha256[32],
		     const struct stat *st, struct embargo_verdict *v)
{
	struct embargo_rule_ref ref;
	uint32_t ident;

	if (daemon_verdict(d, sha256, st, v))
		return true;
	if (!d->ident || !ident_check(d, fd, path, sha256, &ident))
		return false;
	ref = (struct embargo_rule_ref){
		.rule_id = EMBARGO_RULE_IDENT | ident,
		.vendor_id = (uint16_t)d->policy->ident_rules[ident].vendor,
		.vendor_mode = d->policy->vendors[d->policy->ident_rules[ident].vendor].mode
	};
	verdict_match(v, &ref);
	return true;
}

/* The identity rule named by a rule id with EMBARGO_RULE_IDENT, or NULL. */
static const struct embargo_ident_rule *ident_rule(const struct embargo_policy *p, uint32_t rule_id)
{
	uint32_t i = rule_id & ~EMBARGO_RULE_IDENT;

	if (!p || !(rule_id & EMBARGO_RULE_IDENT) || i >= p->n_ident_rules)
		return NULL;
	return &p->ident_rules[i];
}

static const char *rule_location_in(const struct embargo_policy *p, uint32_t rule_id, char *buf, size_t size)
{
	const struct embargo_ident_rule *ir = ident_rule(p, rule_id);

	if (ir)
		return embargo_ident_rule_location(p, ir, buf, size);
	if (!p || rule_id >= p->n_rules)
		return snprintf(buf, size, "?"), buf;
	return embargo_rule_location(p, &p->rules[rule_id], buf, size);
}

const char *rule_location(const struct daemon *d, uint32_t rule_id, char *buf, size_t size)
{
	return rule_location_in(d->policy, rule_id, buf, size);
}

const struct embargo_policy *policy_of_gen(const struct daemon *d, uint32_t gen)
{
	return gen == d->prev_gen && d->prev_policy ? d->prev_policy : d->policy;
}

static void remember_recent(const struct embargo_event *ev, uint32_t rule_id, uint8_t action,
			    const char *path)
{
	struct recent *r = &recent[recent_next++ % RECENT];

	r->dev = ev->dev;
	r->ino = ev->ino;
	r->rule_id = rule_id;
	r->action = action;
	r->used = true;
	snprintf(r->path, sizeof(r->path), "%s", path);
}

/* The latest report of the file: its name, rule and action as last reported. */
static const struct recent *find_recent(uint64_t dev, uint64_t ino)
{
	for (unsigned i = 1; i <= RECENT; i++) {
		const struct recent *r = &recent[(recent_next - i) % RECENT];

		if (r->used && r->dev == dev && r->ino == ino)
			return r;
	}
	return NULL;
}

static void read_exe(uint32_t pid, char *buf, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%u/exe", pid);
	n = readlink(link, buf, size - 1);
	buf[n < 0 ? 0 : n] = '\0';
}

/* report() runs on the event loop and on the fanotify threads: recent[] is shared. */
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

/* Why a file could not be checked (EMBARGO_EVF_UNDECIDABLE), for the entry's note. */
static const char *undecidable_note(const struct daemon *d, const struct embargo_event *ev, char *buf,
				    size_t size)
{
	bool deny = ev->action == EMBARGO_ACTION_DENIED;
	const char *outcome = deny ? "refused, as enforce mode does with what it cannot check"
				   : "allowed unchecked (audit mode)";

	if (ev->flags & EMBARGO_EVF_TOO_LARGE)
		snprintf(buf, size, "%llu bytes, above max_hash_size_mib (%u MiB): not hashed; %s",
			 (unsigned long long)ev->size, d->cfg->max_hash_size_mib, outcome);
	else if (ev->flags & EMBARGO_EVF_HASH_FAILED)
		snprintf(buf, size,
			 "the kernel could not hash it (bpf_ima_file_hash failed: opened with O_DIRECT, an "
			 "I/O error, or IMA's hash is not SHA-256); %s",
			 outcome);
	else
		snprintf(
			buf, size,
			"on a remote file system (FUSE, NFS, CIFS, 9p, Ceph, AFS): its content cannot be pinned "
			"and this tier cannot hash it before it runs; %s (remote_fs deny)",
			outcome);
	return buf;
}

static void report_locked(struct daemon *d, const struct embargo_event *ev, uint32_t rule_id, uint8_t action,
			  const char *path, const char *note);

static void report(struct daemon *d, const struct embargo_event *ev, uint32_t rule_id, uint8_t action,
		   const char *path, const char *note)
{
	pthread_mutex_lock(&report_lock);
	report_locked(d, ev, rule_id, action, path, note);
	pthread_mutex_unlock(&report_lock);
}

void events_remember_path(uint64_t dev, uint64_t ino, uint32_t rule_id, const char *path)
{
	struct embargo_event ev = { .dev = dev, .ino = ino };

	pthread_mutex_lock(&report_lock);
	remember_recent(&ev, rule_id, 0, path);
	pthread_mutex_unlock(&report_lock);
}

void events_report(struct daemon *d, const struct embargo_event *ev, uint32_t rule_id, const char *path,
		   const char *note)
{
	report(d, ev, rule_id, 0, path, note);
}

static void report_locked(struct daemon *d, const struct embargo_event *ev, uint32_t rule_id, uint8_t action,
			  const char *path, const char *note)
{
	struct embargo_record rec = {};
	char unchecked[512];
	struct embargo_event_context ctx = {
		.path = path,
		.note = note || !(ev->flags & EMBARGO_EVF_UNDECIDABLE)
				? note
				: undecidable_note(d, ev, unchecked, sizeof(unchecked)),
	};
	char rule[4200], hex[SHA256_HEX_LEN + 1], parent_exe[PATH_MAX], resolved[PATH_MAX];
	/* The event's own generation numbered its rule: a reload may have happened since. */
	const struct embargo_policy *p = policy_of_gen(d, ev->gen);
	const struct embargo_ident_rule *ir = ident_rule(p, rule_id);
	const struct embargo_rule *r = NULL;
	char label[600];

	if (p && rule_id < p->n_rules)
		r = &p->rules[rule_id];
	if (r) {
		ctx.vendor = p->vendors[r->vendor].name;
		ctx.label = r->label;
		ctx.rule = rule_location_in(p, rule_id, rule, sizeof(rule));
		hex_encode(r->sha256, SHA256_LEN, hex);
		ctx.sha256_hex = hex;
		/* White-label: the vendor's engine inside another product makes that product the vendor's. */
		if (r->component && !note) {
			snprintf(label, sizeof(label),
				 "component of %s: the loading program (pid %u, %s) is %s's code", ctx.vendor,
				 ev->pid, ev->comm, ctx.vendor);
			ctx.note = label;
		}
	} else if (ir) {
		/* Identified by what it is; its digest, where the kernel computed it, is in the event. */
		ctx.vendor = p->vendors[ir->vendor].name;
		snprintf(label, sizeof(label), "%s %s", embargo_ident_kind_name(ir->kind), ir->written);
		ctx.label = label;
		ctx.rule = rule_location_in(p, rule_id, rule, sizeof(rule));
		if (ev->flags & EMBARGO_EVF_KERNEL_HASH) {
			hex_encode(ev->sha256, SHA256_LEN, hex);
			ctx.sha256_hex = hex;
		}
	}
	read_exe(ev->ppid, parent_exe, sizeof(parent_exe));
	ctx.parent_exe = parent_exe;
	if (!path && !ev->path[0]) {
		/* No bpf_d_path on this kernel and nothing mapped yet: the name it had when classified. */
		const struct recent *rc = find_recent(ev->dev, ev->ino);

		if (rc)
			ctx.path = path = rc->path;
	} else if (!path && (ev->flags & EMBARGO_EVF_PATH_ARGV) && ev->path[0] != '/') {
		/* execve's name was relative: the process, while it lives, knows the real one. */
		read_exe(ev->pid, resolved, sizeof(resolved));
		if (resolved[0] == '/')
			ctx.path = path = resolved;
	}
	remember_recent(ev, rule_id, action ? action : ev->action, path ? path : ev->path);
	if (embargo_event_record(ev, &ctx, action, &rec) < 0) {
		record_free(&rec);
		log_error("Out of memory formatting an event for %s", ev->path);
		return;
	}
	log_submit_event(&rec);
}

/* Whether st is the reported file: the kernel's s_dev is MAJOR << 20 | MINOR, st_dev glibc's encoding. */
static bool same_file(const struct embargo_event *ev, const struct stat *st)
{
	return st->st_ino == ev->ino && major(st->st_dev) == (unsigned)(ev->dev >> 20) &&
	       minor(st->st_dev) == (unsigned)(ev->dev & 0xfffff);
}

/*
 * Open path if it is the reported file; its name into name. exact: path is the process's own link to it
 * (/proc/PID/exe, map_files), which is that file whatever its name now leads to; a name is checked by
 * device and inode.
 */
static int open_checked(const char *path, const struct embargo_event *ev, bool is_link, bool exact,
			char *name, size_t size, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	/*
	 * Through the process's own link the device number may differ from the kernel's s_dev where a file
	 * system reports another one to stat (btrfs subvolumes): the inode alone checks it is that file.
	 */
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) ||
	    (exact ? st->st_ino != ev->ino : !same_file(ev, st))) {
		close(fd);
		return -ESTALE;
	}
	if (is_link) {
		ssize_t n = readlink(path, name, size - 1);

		name[n < 0 ? 0 : n] = '\0';
	} else {
		snprintf(name, size, "%s", path);
	}
	return fd;
}

/* The mapping of the reported inode in the process's address space: /proc/PID/map_files/START-END. */
static int find_mapping(const struct embargo_event *ev, char *buf, size_t size)
{
	_cleanup_fclose_ FILE *f = NULL;
	char maps[64], line[4096 + 128];
	unsigned maj = (unsigned)(ev->dev >> 20), min = (unsigned)(ev->dev & 0xfffff);

	snprintf(maps, sizeof(maps), "/proc/%u/maps", ev->pid);
	f = fopen(maps, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, ino;
		unsigned ma, mi;

		if (sscanf(line, "%llx-%llx %*s %*s %x:%x %llu", &start, &end, &ma, &mi, &ino) != 5)
			continue;
		if (ma == maj && mi == min && ino == ev->ino) {
			snprintf(buf, size, "/proc/%u/map_files/%llx-%llx", ev->pid, start, end);
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * The reported inode among the process's open files (an interpreter reading a script): /proc/PID/fd/N.
 * Where the kernel cannot name the file (no bpf_d_path, 5.10) this finds it while the process holds it.
 */
static int find_fd(const struct embargo_event *ev, char *buf, size_t size)
{
	_cleanup_closedir_ DIR *dir = NULL;
	struct dirent *de;
	char fds[64];
	struct stat st;

	snprintf(fds, sizeof(fds), "/proc/%u/fd", ev->pid);
	dir = opendir(fds);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(buf, size, "%s/%s", fds, de->d_name);
		if (stat(buf, &st) == 0 && st.st_ino == ev->ino && S_ISREG(st.st_mode))
			return 0;
	}
	return -ENOENT;
}

/*
 * Open the file the kernel reported, making sure it is the reported file. Best is through the process
 * that uses it (its exe or its mapping: exact even when renamed or deleted, while the process lives), then
 * the name the kernel gave (a full path from bpf_d_path, or execve's argument, relative to the cwd),
 * checked by device and inode.
 */
static int open_subject(const struct embargo_event *ev, char *name, size_t size, struct stat *st)
{
	char p[EMBARGO_PATH_LEN + 64];
	int fd = -ENOENT;

	if (ev->hook == EMBARGO_HOOK_EXEC) {
		snprintf(p, sizeof(p), "/proc/%u/exe", ev->pid);
		fd = open_checked(p, ev, true, true, name, size, st);
	} else if ((ev->hook == EMBARGO_HOOK_MMAP || ev->hook == EMBARGO_HOOK_MPROTECT) &&
		   find_mapping(ev, p, sizeof(p)) == 0) {
		fd = open_checked(p, ev, true, true, name, size, st);
	} else if (ev->hook == EMBARGO_HOOK_READ && !ev->path[0] && find_fd(ev, p, sizeof(p)) == 0) {
		fd = open_checked(p, ev, true, true, name, size, st);
	}
	if (fd >= 0 || !ev->path[0])
		return fd;
	if (ev->path[0] == '/')
		return open_checked(ev->path, ev, false, false, name, size, st);
	snprintf(p, sizeof(p), "/proc/%u/cwd/%s", ev->pid, ev->path);
	fd = open_checked(p, ev, false, false, name, size, st);
	if (fd >= 0)
		snprintf(name, size, "%s", ev->path);
	return fd;
}

/* embargod itself may run in a namespace of its own (ProtectSystem=): PID 1's is the initial one. */
int daemon_in_initial_mntns(uint32_t pid)
{
	struct stat init, its;
	char ns[64];

	snprintf(ns, sizeof(ns), "/proc/%u/ns/mnt", pid);
	if (stat(ns, &its) < 0 || stat("/proc/1/ns/mnt", &init) < 0)
		return -errno;
	return its.st_ino == init.st_ino && its.st_dev == init.st_dev;
}

static void decide_and_store(struct daemon *d, const struct embargo_event *ev, int fd, const char *path,
			     const char *ident_path, int ns, const uint8_t digest[SHA256_LEN],
			     const struct stat *st);

/* On the classifier thread (below): what it opens may hang, the event loop goes on meanwhile. */
static void classify(struct daemon *d, const struct embargo_event *ev)
{
	struct embargo_inode_key key = { .dev = ev->dev, .ino = ev->ino };
	uint8_t digest[SHA256_LEN];
	char path[EMBARGO_PATH_LEN];
	const char *ident_path;
	struct stat st;
	int r, ns;

	_cleanup_close_ int fd = open_subject(ev, path, sizeof(path), &st);
	if (fd < 0) {
		/* The kernel holds the file as pending, not to report it twice: let it report it again. */
		(void)bpf_map_delete_elem(bpf_verdicts_fd(d->bpf), &key);
		/* Common for short-lived processes on the detect path: information, not a fault. */
		log_info("Cannot classify %s (pid %u, %s): %s; it is reported again at its next use",
			 ev->path[0] ? ev->path : "(no path)", ev->pid, ev->comm, strerror(-fd));
		return;
	}
	/* The kernel refuses larger files before handing them over; this one grew since: let it look again.
	 */
	if ((uint64_t)st.st_size > (uint64_t)d->cfg->max_hash_size_mib << 20) {
		(void)bpf_map_delete_elem(bpf_verdicts_fd(d->bpf), &key);
		log_notice(
			"Not hashing %s: %lld bytes, above max_hash_size_mib (%u MiB); it is decided again at "
			"its next use",
			path, (long long)st.st_size, d->cfg->max_hash_size_mib);
		return;
	}
	/*
	 * What is identified is what is learned: the digest of the file open here. The hashing tier hands
	 * over files it found clean with their digest; content rewritten since is not what the kernel saw.
	 */
	r = embargo_sha256_fd(fd, digest, NULL);
	if (r < 0 || ((ev->flags & EMBARGO_EVF_KERNEL_HASH) && memcmp(digest, ev->sha256, SHA256_LEN) != 0)) {
		(void)bpf_map_delete_elem(bpf_verdicts_fd(d->bpf), &key);
		log_warning("Cannot hash %s: %s; it is reported again at its next use", path,
			    r < 0 ? strerror(-r) : "its content changed since the kernel hashed it");
		return;
	}
	/* Names mean what they say in the initial mount namespace only (embargo.policy(5)). */
	ns = daemon_in_initial_mntns(ev->pid);
	ident_path = ns > 0 ? path : NULL;
	__atomic_fetch_add(&d->classified, 1, __ATOMIC_RELAXED);
	/* The opening and hashing above may hang on a file system; a reload waits only for what follows. */
	pthread_rwlock_rdlock(&d->policy_lock);
	decide_and_store(d, ev, fd, path, ident_path, ns, digest, &st);
	pthread_rwlock_unlock(&d->policy_lock);
}

/* The verdict on the file open at fd, whose digest is digest, into the kernel's cache; a match reported. */
static void decide_and_store(struct daemon *d, const struct embargo_event *ev, int fd, const char *path,
			     const char *ident_path, int ns, const uint8_t digest[SHA256_LEN],
			     const struct stat *st)
{
	struct embargo_inode_key key = { .dev = ev->dev, .ino = ev->ino };
	struct embargo_verdict v = {};
	bool matched;

	matched = daemon_identify(d, fd, ident_path, digest, st, &v);
	if (!matched && ns < 0 && ident_name_match(d, fd, path, digest)) {
		/* Gone before its namespace could be told: decided again at its next use, not allowed. */
		(void)bpf_map_delete_elem(bpf_verdicts_fd(d->bpf), &key);
		log_info(
			"Cannot classify %s (pid %u, %s): a path or package rule names it and the process is "
			"gone, its mount namespace unknown; it is reported again at its next use",
			path, ev->pid, ev->comm);
		return;
	}
	/*
	 * A match is always kept (that fails closed). A clean verdict only where the kernel would keep one
	 * (not on internal mounts, overlayfs, remote file systems: EMBARGO_EVF_NO_CACHE), and only over the
	 * kernel's own PENDING entry (BPF_EXIST): a write-open or truncate since the event dropped it, and
	 * then what was hashed here may not be the content any more.
	 */
	if (!(ev->flags & EMBARGO_EVF_WRITERS) && (matched || !(ev->flags & EMBARGO_EVF_KERNEL_HASH)) &&
	    (matched || !(ev->flags & EMBARGO_EVF_NO_CACHE))) {
		if (bpf_map_update_elem(bpf_verdicts_fd(d->bpf), &key, &v, matched ? BPF_ANY : BPF_EXIST) <
		    0) {
			if (errno != ENOENT)
				log_warning("Cannot cache the verdict for %s: %m", path);
		} else if (matched && (v.rule_id & EMBARGO_RULE_IDENT)) {
			ident_note_verdict(d, digest, &key);
		}
	}
	if (!matched)
		return;
	/* It could run before this verdict: what runs or maps it now is searched for off this thread. */
	struct embargo_rule_ref learned;
	running_classified(d, digest, st, v.rule_id,
			   (v.rule_id & EMBARGO_RULE_IDENT) && !ident_learned(d, digest, &learned));

	struct embargo_event m = *ev;
	m.mode = embargo_effective_mode(v.vendor_mode, d->mode);
	m.vendor_id = v.vendor_id;
	report(d, &m, v.rule_id, EMBARGO_ACTION_AUDITED, path,
	       ev->tier == EMBARGO_TIER_DETECT ? "detection-only tier: reported, not prevented"
	       : (ev->flags & EMBARGO_EVF_KERNEL_HASH)
		       ? "identified by an identity rule after it had run; its digest is "
			 "denied from now on"
		       : "ran before it was classified (no in-kernel hashing in this "
			 "tier); denied from now on");
}

/*
 * Classifier threads behind a bounded queue: the event loop only queues. One per CPU (2 to 8): a file
 * that hangs one (a dead FUSE server) or takes seconds to hash leaves the others going. A full queue
 * stores no verdict: the kernel's PENDING entry is dropped, so the file is reported again at its next use.
 */
#define CLASSIFY_QUEUE 64
#define CLASSIFY_WORKERS_MAX 8

static struct embargo_workq classify_q;
static pthread_t classifiers[CLASSIFY_WORKERS_MAX];
static size_t n_classifiers;
static bool classifier_running;

static void *classify_thread(void *arg)
{
	struct daemon *d = arg;
	_cleanup_free_ struct embargo_event *ev = malloc(sizeof(*ev));

	while (ev && embargo_workq_pop(&classify_q, ev) == 0)
		classify(d, ev);
	return NULL;
}

static void classify_submit(struct daemon *d, const struct embargo_event *ev)
{
	struct embargo_inode_key key = { .dev = ev->dev, .ino = ev->ino };
	uint64_t n;

	if (!classifier_running) {
		classify(d, ev);
		return;
	}
	if (embargo_workq_push(&classify_q, ev) == 0)
		return;
	(void)bpf_map_delete_elem(bpf_verdicts_fd(d->bpf), &key);
	n = __atomic_add_fetch(&d->classify_dropped, 1, __ATOMIC_RELAXED);
	/* Counted in status; logged at the 1st, 2nd, 4th, 8th... so that a flood does not flood the log. */
	if ((n & (n - 1)) == 0)
		log_warning("The classifier's queue is full (%d files): %s (pid %u) is reported again at its "
			    "next use; %llu so far",
			    CLASSIFY_QUEUE, ev->path[0] ? ev->path : "(no path)", ev->pid,
			    (unsigned long long)n);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct daemon *d = ctx;
	static struct embargo_event ev;

	if (embargo_event_parse(data, size, &ev) < 0) {
		d->events_bad++;
		return 0;
	}
	if (ev.hdr.kind == EMBARGO_EV_UNKNOWN)
		classify_submit(d, &ev);
	else if (ev.flags & EMBARGO_EVF_MEMORY)
		/* No file, so no rule: the init_module setting decided. */
		report(d, &ev, ev.rule_id, 0, "(init_module from memory)",
		       ev.action == EMBARGO_ACTION_DENIED ? "a kernel module loaded from memory "
							    "(init_module) cannot be identified: refused "
							    "in enforce mode (init_module in embargo.conf)"
							  : "a kernel module was loaded from memory "
							    "(init_module): it cannot be identified, "
							    "nothing was checked");
	else
		report(d, &ev, ev.rule_id, 0, NULL, NULL);
	return 0;
}

int events_start(struct daemon *d)
{
	int r;

	d->rb = ring_buffer__new(bpf_ringbuf_fd(d->bpf), on_event, d, NULL);
	if (!d->rb)
		return -errno;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t want = cpus < 2 ? 2 : cpus > CLASSIFY_WORKERS_MAX ? CLASSIFY_WORKERS_MAX : (size_t)cpus;

	r = embargo_workq_init(&classify_q, sizeof(struct embargo_event), CLASSIFY_QUEUE);
	for (n_classifiers = 0; r == 0 && n_classifiers < want; n_classifiers++) {
		r = -pthread_create(&classifiers[n_classifiers], NULL, classify_thread, d);
		if (r < 0)
			break;
	}
	classifier_running = n_classifiers > 0;
	if (!classifier_running) {
		embargo_workq_free(&classify_q);
		log_warning("Cannot start the classifier threads: %s; files are classified on the event loop",
			    strerror(-r));
	}
	r = running_start(d);
	if (r < 0)
		log_warning("Cannot start the search for running prohibited code: %s; what a reload or a "
			    "classification prohibits is not looked for among running processes",
			    strerror(-r));
	return 0;
}

void events_stop(struct daemon *d)
{
	struct timespec deadline;

	running_stop(d);
	if (classifier_running) {
		size_t stuck = 0;

		embargo_workq_stop(&classify_q);
		/* A classification stuck on a hung file system must not hold up the exit. */
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += 2;
		for (size_t i = 0; i < n_classifiers; i++)
			stuck += pthread_timedjoin_np(classifiers[i], NULL, &deadline) != 0;
		if (!stuck)
			embargo_workq_free(&classify_q);
		else
			log_warning(
				"%zu classifier threads are stuck (a hung file system?): not waiting for them",
				stuck);
		classifier_running = false;
	}
	ring_buffer__free(d->rb);
	d->rb = NULL;
}

int events_poll(struct daemon *d)
{
	int r = ring_buffer__consume(d->rb);

	return r < 0 ? r : 0;
}

void events_report_repeated(struct daemon *d, const struct embargo_dedup_key *key, uint64_t n)
{
	struct embargo_record rec = { .priority = LOG_NOTICE };
	char rule[4200], path[EMBARGO_PATH_LEN] = "", vendor[512] = "";
	const char *hook = embargo_hook_name((uint8_t)key->hook);
	const struct recent *rc;
	uint8_t action = 0;
	int r = 0;

	pthread_mutex_lock(&report_lock);
	rc = find_recent(key->dev, key->ino);
	if (rc) {
		snprintf(path, sizeof(path), "%s", rc->path);
		rule_location(d, rc->rule_id, rule, sizeof(rule));
		action = rc->action;
		if (rc->rule_id & EMBARGO_RULE_IDENT) {
			const struct embargo_ident_rule *ir = ident_rule(d->policy, rc->rule_id);

			if (ir)
				snprintf(vendor, sizeof(vendor), "%s", d->policy->vendors[ir->vendor].name);
		} else if (d->policy && rc->rule_id < d->policy->n_rules) {
			snprintf(vendor, sizeof(vendor), "%s",
				 d->policy->vendors[d->policy->rules[rc->rule_id].vendor].name);
		}
	}
	pthread_mutex_unlock(&report_lock);

	r = r
		    ?: record_addf(&rec, "MESSAGE",
				   "%llu more %s of %s by children of pid %u in cgroup %llu were not "
				   "reported one "
				   "by one",
				   (unsigned long long)n, hook, rc ? path : "(unknown path)", key->ppid,
				   (unsigned long long)key->cgroup_id);
	r = r ?: record_add(&rec, "MESSAGE_ID", EMBARGO_MSGID_REPEATED);
	r = r ?: record_addf(&rec, "PRIORITY", "%d", LOG_NOTICE);
	r = r ?: record_addf(&rec, "EMBARGO_REPEATED", "%llu", (unsigned long long)n);
	r = r ?: record_add(&rec, "EMBARGO_HOOK", hook);
	if (!r && action)
		r = record_add(&rec, "EMBARGO_ACTION", embargo_action_name(action));
	if (!r && vendor[0])
		r = record_add(&rec, "EMBARGO_VENDOR", vendor);
	r = r ?: record_add(&rec, "EMBARGO_PATH", path);
	r = r ?: record_add(&rec, "EMBARGO_RULE", rc ? rule : "");
	r = r ?: record_addf(&rec, "EMBARGO_PPID", "%u", key->ppid);
	r = r ?: record_addf(&rec, "EMBARGO_CGROUP_ID", "%llu", (unsigned long long)key->cgroup_id);
	r = r
		    ?: record_addf(&rec, "EMBARGO_DEVICE", "%u:%u", (unsigned)(key->dev >> 20),
				   (unsigned)(key->dev & 0xfffff));
	r = r ?: record_addf(&rec, "EMBARGO_INODE", "%llu", (unsigned long long)key->ino);
	if (r < 0)
		record_free(&rec);
	else
		log_submit_event(&rec);
}

void events_sweep_dedup(struct daemon *d)
{
	/* The dedup map's size: every key fits, so one walk finds them all. */
	static struct embargo_dedup_key due[8192];
	struct embargo_dedup_key cur, next;
	struct embargo_dedup_val v;
	uint64_t now = now_ns(), window = EMBARGO_DEDUP_WINDOW_NS;
	int fd = bpf_dedup_fd(d->bpf);
	bool first = true;
	size_t n = 0;

	/* First collect, then delete: deleting while walking would restart the walk each time. */
	while (n < ARRAY_SIZE(due) && bpf_map_get_next_key(fd, first ? NULL : &cur, &next) == 0) {
		first = false;
		cur = next;
		if (bpf_map_lookup_elem(fd, &cur, &v) == 0 && v.hits > v.emitted_hits &&
		    now - v.last_emit_ns >= window)
			due[n++] = cur;
	}
	for (size_t i = 0; i < n; i++) {
		/* Atomically: a match racing with us starts a fresh entry and its own report. */
		if (bpf_map_lookup_and_delete_elem(fd, &due[i], &v) < 0) {
			if (bpf_map_lookup_elem(fd, &due[i], &v) < 0)
				continue;
			(void)bpf_map_delete_elem(fd, &due[i]);
		}
		if (v.hits > v.emitted_hits)
			events_report_repeated(d, &due[i], v.hits - v.emitted_hits);
	}
}

/*
 * A PENDING verdict is stored only with its event reserved, so embargod hears of every one; but one whose
 * classification never came (a previous embargod's event, a classification that failed without cleaning
 * up) would keep the file unreported for as long as the entry lives. Entries older than the TTL go: the
 * kernel reports the file again at its next use. Batched: the cache holds up to 65536 entries.
 */
void events_sweep_pending(struct daemon *d)
{
	static uint64_t last;
	static struct embargo_inode_key keys[1024], stale[1024];
	static struct embargo_verdict vals[1024];
	uint64_t now = now_ns();
	__u32 batch, n_stale = 0;
	struct embargo_inode_key *in = NULL, out;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int fd, r;

	if (!d->bpf || now - last < EMBARGO_PENDING_TTL_NS)
		return;
	last = now;
	fd = bpf_verdicts_fd(d->bpf);
	do {
		batch = ARRAY_SIZE(keys);
		r = bpf_map_lookup_batch(fd, in, &out, keys, vals, &batch, &opts);
		if (r < 0 && errno != ENOENT)
			break;
		for (__u32 i = 0; i < batch && n_stale < ARRAY_SIZE(stale); i++)
			if (vals[i].verdict == EMBARGO_VERDICT_PENDING &&
			    now - vals[i].stored_ns >= EMBARGO_PENDING_TTL_NS)
				stale[n_stale++] = keys[i];
		in = &out;
	} while (r == 0 && n_stale < ARRAY_SIZE(stale));
	for (__u32 i = 0; i < n_stale; i++) {
		struct embargo_verdict v;

		/* A verdict stored since the walk is not ours to drop. */
		if (bpf_map_lookup_elem(fd, &stale[i], &v) == 0 && v.verdict == EMBARGO_VERDICT_PENDING &&
		    now - v.stored_ns >= EMBARGO_PENDING_TTL_NS)
			(void)bpf_map_delete_elem(fd, &stale[i]);
	}
	if (n_stale)
		log_info("Dropped %u pending verdicts older than %llu s: those files are reported again at "
			 "their next use",
			 n_stale, EMBARGO_PENDING_TTL_NS / 1000000000ull);
}

/*
 * Events the kernel could not put into the full ring buffer (counted in ringbuf_drops): one entry per
 * interval with the count. Nothing was lost for enforcement (a lost use is not cached, and is decided or
 * reported again at the next one), but the journal lacks those entries.
 */
#define LOST_REPORT_INTERVAL_NS (10 * 1000000000ull)

void events_report_drops(struct daemon *d)
{
	static uint64_t reported, last_ns;
	struct embargo_record rec = { .priority = LOG_WARNING };
	uint64_t stats[EMBARGO_STAT_MAX], now = now_ns(), n;
	int r = 0;

	if (!d->bpf || (last_ns && now - last_ns < LOST_REPORT_INTERVAL_NS))
		return;
	bpf_read_stats(d->bpf, stats);
	if (stats[EMBARGO_STAT_RINGBUF_DROPS] <= reported)
		return;
	n = stats[EMBARGO_STAT_RINGBUF_DROPS] - reported;
	reported = stats[EMBARGO_STAT_RINGBUF_DROPS];
	last_ns = now;
	r = r
		    ?: record_addf(
			       &rec, "MESSAGE",
			       "%llu kernel events were lost: the ring buffer was full (%llu since start); "
			       "the uses they reported were not cached and are decided or reported again",
			       (unsigned long long)n, (unsigned long long)reported);
	r = r ?: record_add(&rec, "MESSAGE_ID", EMBARGO_MSGID_LOST);
	r = r ?: record_addf(&rec, "PRIORITY", "%d", LOG_WARNING);
	r = r ?: record_addf(&rec, "EMBARGO_LOST", "%llu", (unsigned long long)n);
	r = r ?: record_addf(&rec, "EMBARGO_LOST_TOTAL", "%llu", (unsigned long long)reported);
	if (r < 0)
		record_free(&rec);
	else
		log_submit(&rec);
}
