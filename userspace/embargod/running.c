// SPDX-License-Identifier: GPL-2.0
/*
 * Code that is already running when it becomes prohibited. The start-up scan finds what runs at start; a
 * reload can list more, and a classification can find after the fact that a program that ran was the
 * vendor's (an identity rule learns its digest; the lsm tier classifies a file after its first run). Then
 * every process whose executable or executable file mapping has that content is reported, and in enforce
 * mode with kill_running killed with SIGKILL through a pidfd opened before its files were read (so a PID
 * reused meanwhile is never hit). Only the process itself: its children that run the same code map it
 * and are found themselves; those that run something else run allowed code.
 *
 * The search walks /proc, hashing files: never on the event loop or a classifier. One sweeper thread
 * takes the requests, and a flood of classifications is one walk: what is classified within
 * SWEEP_BATCH_NS goes into one, walks start at most once per SWEEP_MIN_INTERVAL_NS, and a walk for
 * learned digests reads only the files of their sizes.
 */
#include "daemon.h"
#include "event.h"
#include "ident.h"
#include "log.h"
#include "policy.h"
#include "running.h"
#include "scan.h"
#include "util.h"
#include "verdict.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SWEEP_BATCH_NS (100 * 1000000ull)
#define SWEEP_MIN_INTERVAL_NS (1000 * 1000000ull)
/* Digests one walk looks for; more within a batch make it a walk for everything the policy prohibits. */
#define SWEEP_TARGETS 256

/* A file classified prohibited: its content, and for an inode-only match the file itself. */
struct target {
	uint8_t sha256[SHA256_LEN];
	uint64_t size;
	dev_t dev;
	ino_t ino;
	uint32_t rule_id, gen;
	bool inode_only;
};

struct sweep {
	struct target t[SWEEP_TARGETS];
	size_t n;
	bool all;	/* every process, with the whole policy (a reload, or more targets than fit) */
	uint32_t gen;	/* the generation a reload put in force */
	uint64_t since; /* when the oldest request came */
};

static struct {
	struct daemon *d;
	pthread_t thread;
	bool started, stop;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	struct sweep pending;
	uint64_t last_walk_ns;
	/* Held for a walk: running_pause() takes it, with cancel set, to have none in progress. */
	pthread_mutex_t walk;
	volatile bool cancel;
} sw = { .lock = PTHREAD_MUTEX_INITIALIZER, .walk = PTHREAD_MUTEX_INITIALIZER };

int running_record_match(struct embargo_record *rec, const struct embargo_policy *p,
			 const struct embargo_match *m, const uint8_t sha256[32], const char *path)
{
	char hex[SHA256_HEX_LEN + 1];
	int e = 0;

	hex_encode(sha256, SHA256_LEN, hex);
	e = e ?: record_add(rec, "EMBARGO_VENDOR", p->vendors[m->vendor].name);
	e = e ?: record_add(rec, "EMBARGO_RULE", m->location);
	e = e ?: record_add(rec, "EMBARGO_SHA256", hex);
	e = e ?: record_add(rec, "EMBARGO_PATH", path);
	if (m->rule && m->rule->label)
		e = e ?: record_add(rec, "EMBARGO_LABEL", m->rule->label);
	if (m->ident)
		e = e
			    ?: record_addf(rec, "EMBARGO_LABEL", "%s %s",
					   embargo_ident_kind_name(m->ident->kind), m->ident->written);
	return e;
}

static void log_running(struct daemon *d, const struct embargo_process_match *m, const char *path,
			const char *outcome, const char *found_by)
{
	const struct embargo_match *mt = m->match;
	struct embargo_record rec = { .priority = LOG_WARNING };
	int e = 0;

	e = e
		    ?: record_addf(&rec, "MESSAGE",
				   "Prohibited code running: pid %u (%s%s%s) runs %s: %s (rule %s: %s)%s",
				   (unsigned)m->pid, m->comm, m->unit ? ", " : "", m->unit ? m->unit : "",
				   path, d->policy->vendors[mt->vendor].name, mt->location, mt->why, outcome);
	e = e ?: record_add(&rec, "MESSAGE_ID", EMBARGO_MSGID_RUNNING);
	e = e ?: record_addf(&rec, "PRIORITY", "%d", LOG_WARNING);
	e = e ?: running_record_match(&rec, d->policy, mt, m->sha256, path);
	e = e ?: record_addf(&rec, "EMBARGO_PID", "%u", (unsigned)m->pid);
	e = e ?: record_add(&rec, "EMBARGO_COMM", m->comm);
	if (m->unit)
		e = e ?: record_add(&rec, "EMBARGO_UNIT", m->unit);
	e = e ?: record_add(&rec, "EMBARGO_FOUND_BY", found_by);
	if (e < 0)
		record_free(&rec);
	else
		log_submit(&rec);
}

/* Why the process must not be killed whatever the policy says, or NULL. */
static const char *spared(const struct daemon *d, const struct embargo_process_match *m, char *buf,
			  size_t size)
{
	const char *never = ident_never_denied(d, m->sha256);
	struct stat self, its;
	char exe[64];

	if (m->pid == getpid())
		return "it is embargod";
	if (m->pid == 1)
		return "it is PID 1";
	if (never) {
		snprintf(buf, size, "its code is that of %s, which is never denied", never);
		return buf;
	}
	/* embargod's own workers (forked, or executed from its program). */
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)m->pid);
	if (stat("/proc/self/exe", &self) == 0 && stat(exe, &its) == 0 && self.st_dev == its.st_dev &&
	    self.st_ino == its.st_ino)
		return "it runs embargod's program";
	return NULL;
}

bool running_report(struct daemon *d, const struct embargo_process_match *m, const char *found_by, bool learn)
{
	uint8_t mode = embargo_effective_mode(d->policy->vendors[m->match->vendor].mode, d->mode);
	bool kill_it = d->cfg->kill_running && mode == EMBARGO_MODE_ENFORCE && d->tier != EMBARGO_TIER_DETECT;
	char path[4200], outcome[400] = "", why[300];
	const char *spare = kill_it ? spared(d, m, why, sizeof(why)) : NULL;
	bool killed = false;

	snprintf(path, sizeof(path), "%s%s%s", m->path, m->exe ? "" : " (mapped)",
		 m->deleted ? " (deleted)" : "");
	if (kill_it && spare) {
		snprintf(outcome, sizeof(outcome), "; not killed: %s", spare);
	} else if (kill_it) {
		/* Through the pidfd when there is one: it cannot hit a process that reused the PID. */
		int r = m->pidfd >= 0 ? (int)syscall(SYS_pidfd_send_signal, m->pidfd, SIGKILL, NULL, 0)
				      : kill(m->pid, SIGKILL);

		killed = r == 0;
		snprintf(outcome, sizeof(outcome), "%s",
			 killed ? "; killed (kill_running)" : "; could not be killed");
	} else if (mode == EMBARGO_MODE_ENFORCE) {
		snprintf(outcome, sizeof(outcome), "; left running (kill_running is off)");
	}
	if (learn && m->match->ident)
		ident_learn(d, m->match, m->sha256, path);
	log_running(d, m, path, outcome, found_by);
	return killed;
}

/* ---- the sweeper ---- */

struct walk {
	struct daemon *d;
	const struct sweep *s;
	const char *found_by;
	bool by_file; /* the file now being decided matched through walk_file, not the decider */
	uint64_t found, killed;
};

static bool walk_size(void *ud, uint64_t size)
{
	const struct walk *w = ud;

	for (size_t i = 0; i < w->s->n; i++)
		if (w->s->t[i].size == size)
			return true;
	return false;
}

/* The rule a target's content is prohibited by in the policy in force: a digest rule, else an identity rule.
 */
static bool match_of(struct daemon *d, const struct target *t, const uint8_t sha[SHA256_LEN],
		     struct embargo_match *m)
{
	const struct embargo_policy *p = d->policy;
	struct embargo_identity id = {};
	struct embargo_rule_ref ref;
	const struct embargo_ident_rule *ir = NULL;
	char hex[SHA256_HEX_LEN + 1];

	memcpy(id.sha256, sha, SHA256_LEN);
	if (embargo_policy_match(p, &id, m) > 0 && m->rule)
		return true;
	if (ident_learned(d, sha, &ref))
		ir = embargo_rule_id_ident(p, ref.rule_id);
	else if (t && t->gen == d->gen)
		ir = embargo_rule_id_ident(p, t->rule_id);
	if (!ir)
		return false;
	*m = (struct embargo_match){ .kind = ir->kind, .vendor = ir->vendor, .ident = ir };
	embargo_ident_rule_location(p, ir, m->location, sizeof(m->location));
	hex_encode(sha, SHA256_LEN, hex);
	snprintf(m->why, sizeof(m->why), "%s sha256 %s, identified by %s %s",
		 t && t->inode_only ? "the file" : "content", hex, embargo_ident_kind_name(ir->kind),
		 ir->written);
	return true;
}

static bool walk_file(void *ud, const struct stat *st, const uint8_t sha[SHA256_LEN], struct embargo_match *m)
{
	struct walk *w = ud;

	w->by_file = false;
	if (w->s->all) {
		/* The decider knows the policy's digests and identity rules; learned digests only this. */
		struct embargo_rule_ref ref;

		w->by_file = !embargo_policy_lookup(w->d->policy, sha) && ident_learned(w->d, sha, &ref) &&
			     match_of(w->d, NULL, sha, m);
		return w->by_file;
	}
	for (size_t i = 0; i < w->s->n && !w->by_file; i++) {
		const struct target *t = &w->s->t[i];

		if (t->size == (uint64_t)st->st_size && memcmp(t->sha256, sha, SHA256_LEN) == 0 &&
		    (!t->inode_only || (t->dev == st->st_dev && t->ino == st->st_ino)))
			w->by_file = match_of(w->d, t, sha, m);
	}
	return w->by_file;
}

static void walk_process(void *ud, const struct embargo_process_match *m)
{
	struct walk *w = ud;

	w->found++;
	/* What the decider matched by an identity rule teaches its digest, as at start. */
	w->killed += running_report(w->d, m, w->found_by, !w->by_file);
}

static void walk_error(void *ud, const struct embargo_scan_error *e)
{
	(void)ud;
	log_debug("Search for running prohibited code: %s: %s%s%s", e->path, strerror(-e->err),
		  e->detail ? ": " : "", e->detail ? e->detail : "");
}

/* One walk of /proc for s; -ECANCELED when a reload stopped it. */
static int walk(struct daemon *d, const struct sweep *s)
{
	char found_by[64], what[64];
	struct walk w = { .d = d, .s = s, .found_by = found_by };
	struct embargo_scan_opts o = {
		.on_error = walk_error,
		.on_process = walk_process,
		.want_size = s->all ? NULL : walk_size,
		.match_file = walk_file,
		.userdata = &w,
		.cancel = &sw.cancel,
	};
	struct embargo_scan_stats st = {};
	int r;

	if (s->all && s->gen == d->gen)
		snprintf(found_by, sizeof(found_by), "policy reload to generation %u", s->gen);
	else
		snprintf(found_by, sizeof(found_by), "%s",
			 s->all ? "classifications (too many at once: the whole policy)" : "classification");
	r = embargo_scan_processes(s->all ? ident_decider(d) : NULL, &o, &st);
	if (r == -ECANCELED)
		return r;
	if (r < 0)
		log_warning("Cannot search the running processes (%s): %s", found_by, strerror(-r));
	snprintf(what, sizeof(what), s->all ? "the whole policy" : "%zu digests", s->n);
	log_msg(w.found ? LOG_NOTICE : LOG_INFO, NULL,
		"Searched the running processes (%s) for %s in %.3f s: %llu processes, %llu files read; %llu "
		"running prohibited code, %llu killed",
		found_by, what, (double)st.process_elapsed_ns / 1e9, (unsigned long long)st.processes,
		(unsigned long long)st.process_hashed, (unsigned long long)w.found,
		(unsigned long long)w.killed);
	return 0;
}

/* Adds what b asks to a (under sw.lock). */
static void merge(struct sweep *a, const struct sweep *b)
{
	if (!a->n && !a->all)
		a->since = b->since;
	a->all |= b->all;
	if (b->all)
		a->gen = b->gen;
	for (size_t i = 0; i < b->n; i++) {
		if (a->n == SWEEP_TARGETS) {
			a->all = true;
			break;
		}
		a->t[a->n++] = b->t[i];
	}
}

static void *sweep_thread(void *arg)
{
	struct daemon *d = arg;
	static struct sweep s;

	pthread_mutex_lock(&sw.lock);
	for (;;) {
		uint64_t now, due;

		while (!sw.stop && !sw.pending.n && !sw.pending.all)
			pthread_cond_wait(&sw.cond, &sw.lock);
		if (sw.stop)
			break;
		now = now_ns();
		due = sw.pending.all ? now : sw.pending.since + SWEEP_BATCH_NS;
		if (sw.last_walk_ns && due < sw.last_walk_ns + SWEEP_MIN_INTERVAL_NS)
			due = sw.last_walk_ns + SWEEP_MIN_INTERVAL_NS;
		if (now < due) {
			struct timespec ts = { .tv_sec = (time_t)(due / 1000000000ull),
					       .tv_nsec = (long)(due % 1000000000ull) };

			(void)pthread_cond_timedwait(&sw.cond, &sw.lock, &ts);
			continue;
		}
		s = sw.pending;
		sw.pending = (struct sweep){};
		sw.last_walk_ns = now;
		pthread_mutex_unlock(&sw.lock);

		pthread_mutex_lock(&sw.walk);
		/* What came while a reload held the walk back: the reload's search takes it along. */
		pthread_mutex_lock(&sw.lock);
		merge(&s, &sw.pending);
		sw.pending = (struct sweep){};
		pthread_mutex_unlock(&sw.lock);
		int r = sw.stop ? -ECANCELED : walk(d, &s);
		pthread_mutex_unlock(&sw.walk);

		pthread_mutex_lock(&sw.lock);
		/* Stopped by a reload: done again on the new policy (its all-walk covers a cancelled one). */
		if (r == -ECANCELED) {
			merge(&sw.pending, &s);
			sw.last_walk_ns = 0;
		}
	}
	pthread_mutex_unlock(&sw.lock);
	return NULL;
}

int running_start(struct daemon *d)
{
	pthread_condattr_t ca;
	int r;

	sw.d = d;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sw.cond, &ca);
	pthread_condattr_destroy(&ca);
	r = -pthread_create(&sw.thread, NULL, sweep_thread, d);
	if (r < 0)
		return r;
	sw.started = true;
	return 0;
}

void running_stop(struct daemon *d)
{
	struct timespec deadline;

	(void)d;
	if (!sw.started)
		return;
	pthread_mutex_lock(&sw.lock);
	sw.stop = true;
	sw.cancel = true;
	pthread_cond_signal(&sw.cond);
	pthread_mutex_unlock(&sw.lock);
	/* A walk stuck on a hung file system must not hold up the exit. */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 2;
	if (pthread_timedjoin_np(sw.thread, NULL, &deadline) != 0)
		log_warning("The search for running prohibited code is stuck (a hung file system?): not "
			    "waiting for it");
	sw.started = false;
}

void running_classified(struct daemon *d, const uint8_t sha256[32], const struct stat *st, uint32_t rule_id,
			bool inode_only)
{
	struct sweep one = { .n = 1, .since = now_ns() };

	if (!sw.started)
		return;
	one.t[0] = (struct target){ .size = (uint64_t)st->st_size,
				    .dev = st->st_dev,
				    .ino = st->st_ino,
				    .rule_id = rule_id,
				    .gen = d->gen,
				    .inode_only = inode_only };
	memcpy(one.t[0].sha256, sha256, SHA256_LEN);
	pthread_mutex_lock(&sw.lock);
	merge(&sw.pending, &one);
	pthread_cond_signal(&sw.cond);
	pthread_mutex_unlock(&sw.lock);
}

void running_pause(struct daemon *d)
{
	(void)d;
	if (!sw.started)
		return;
	sw.cancel = true;
	pthread_mutex_lock(&sw.walk);
	sw.cancel = false;
}

void running_reloaded(struct daemon *d)
{
	struct sweep all = { .all = true, .gen = d->gen, .since = now_ns() };

	if (!sw.started)
		return;
	pthread_mutex_unlock(&sw.walk);
	pthread_mutex_lock(&sw.lock);
	merge(&sw.pending, &all);
	/* A reload is at most once a second already: its search does not wait for the last one's interval. */
	sw.last_walk_ns = 0;
	pthread_cond_signal(&sw.cond);
	pthread_mutex_unlock(&sw.lock);
}
