// SPDX-License-Identifier: GPL-2.0
/*
 * The scan at start: what is already on disk and already running. It warms the kernel's verdict cache
 * (so first execs are decided without hashing, and in the lsm tier existing files have no first-exec
 * window), marks known prohibited files in the fanotify tier (so their opens are refused), and reports
 * running prohibited processes (stopping them in enforce mode with kill_running: running.c). After a
 * reload it runs again for the files; running.c searches the processes then, without waiting for it.
 * It runs on a thread of its own: enforcement is in place before it starts and never waits for it.
 */
#include "bpf.h"
#include "daemon.h"
#include "event.h"
#include "events.h"
#include "fanotify.h"
#include "ident.h"
#include "log.h"
#include "running.h"
#include "scan.h"
#include "startscan.h"
#include "tier.h"
#include "util.h"

#include <bpf/bpf.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

struct startscan {
	struct daemon *d;
	pthread_t thread;
	volatile bool cancel;
	bool processes; /* at start; after a reload they are running.c's, searched at once */
	char cache_path[4096];
	uint64_t running, killed;
};

static void log_found(struct daemon *d, const struct embargo_match *m, const uint8_t sha[SHA256_LEN],
		      const char *path)
{
	struct embargo_record rec = { .priority = LOG_WARNING };
	int e = 0;

	e = e
		    ?: record_addf(&rec, "MESSAGE", "Prohibited file on disk: %s: %s (rule %s: %s)", path,
				   d->policy->vendors[m->vendor].name, m->location, m->why);
	e = e ?: record_add(&rec, "MESSAGE_ID", EMBARGO_MSGID_FOUND);
	e = e ?: record_addf(&rec, "PRIORITY", "%d", LOG_WARNING);
	e = e ?: running_record_match(&rec, d->policy, m, sha, path);
	if (e < 0)
		record_free(&rec);
	else
		log_submit(&rec);
}

static void on_file(void *ud, const struct embargo_scan_file *f)
{
	struct startscan *s = ud;
	struct daemon *d = s->d;
	struct embargo_inode_key key = { .dev = kernel_dev(f->st->st_dev), .ino = f->st->st_ino };
	struct embargo_verdict v;
	bool matched;

	/* The scan decided with every rule (verdict.h); what an identity rule found, the kernel learns. */
	if (f->match && f->match->ident)
		ident_learn(d, f->match, f->sha256, f->path);
	matched = daemon_verdict(d, f->sha256, f->st, &v);
	if (matched) {
		if (d->tier == EMBARGO_TIER_FANOTIFY)
			fanotify_mark_path(d, f->path);
		events_remember_path(key.dev, key.ino, v.rule_id, f->path);
	}
	if (f->match)
		log_found(d, f->match, f->sha256, f->path);
	/* Never over a verdict the kernel made meanwhile: same stamp, same content, nothing to gain. */
	(void)bpf_map_update_elem(bpf_verdicts_fd(d->bpf), &key, &v, BPF_NOEXIST);
}

static void on_process(void *ud, const struct embargo_process_match *m)
{
	struct startscan *s = ud;

	s->running++;
	s->killed += running_report(s->d, m, "start-up scan", true);
}

static void on_error(void *ud, const struct embargo_scan_error *e)
{
	(void)ud;
	if (e->kind == EMBARGO_SCAN_ERROR_FILE || e->kind == EMBARGO_SCAN_ERROR_PROCESS)
		log_debug("Start-up scan: %s: %s%s%s", e->path, strerror(-e->err), e->detail ? ": " : "",
			  e->detail ? e->detail : "");
	else
		log_warning("Start-up scan: %s: %s%s%s", e->path, strerror(-e->err), e->detail ? ": " : "",
			    e->detail ? e->detail : "");
}

static void *scan_thread(void *arg)
{
	struct startscan *s = arg;
	struct daemon *d = s->d;
	struct embargo_scan_stats st = {}, pst = {};
	struct embargo_scan_opts o = {
		.paths = (const char *const *)d->cfg->scan_paths,
		.n_paths = d->cfg->n_scan_paths,
		.jobs = 1, /* one core at most: the machine has work of its own at boot */
		.cache_path = s->cache_path[0] ? s->cache_path : NULL,
		.on_file = on_file,
		.on_error = on_error,
		.on_process = on_process,
		.userdata = s,
		.cancel = &s->cancel,
	};
	const struct embargo_decider *dec = ident_decider(d);
	int r, rp;

	if (!dec)
		return NULL;
	r = embargo_scan(dec, &o, &st);
	if (r == -ECANCELED)
		return NULL;
	/* Every file on disk has its verdict cached: a previous run's programs are not needed any more. */
	tier_complete_takeover(d);
	rp = s->processes ? embargo_scan_processes(dec, &o, &pst) : 0;
	if (r < 0)
		log_warning("Start-up scan failed: %s", strerror(-r));
	if (rp < 0 && rp != -ECANCELED)
		log_warning("Start-up scan of running processes failed: %s", strerror(-rp));
	log_msg(LOG_NOTICE, EMBARGO_MSGID_SCANNED,
		"Start-up scan done in %.1f s: %llu files, %llu hashed, %llu from the cache, %llu "
		"unreadable, "
		"%llu prohibited on disk; %llu processes checked, %llu running prohibited code, %llu killed",
		(double)(st.elapsed_ns + pst.process_elapsed_ns) / 1e9, (unsigned long long)st.files_seen,
		(unsigned long long)st.files_hashed, (unsigned long long)st.files_cached,
		(unsigned long long)st.unreadable, (unsigned long long)st.matches,
		(unsigned long long)pst.processes, (unsigned long long)s->running,
		(unsigned long long)s->killed);
	return NULL;
}

static int begin(struct daemon *d, bool processes)
{
	struct startscan *s;
	int r;

	if (!d->cfg->scan_at_start)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->d = d;
	s->processes = processes;
	if (d->cfg->state_dir && (mkdir(d->cfg->state_dir, 0700) == 0 || errno == EEXIST))
		snprintf(s->cache_path, sizeof(s->cache_path), "%s/scan-cache", d->cfg->state_dir);
	r = -pthread_create(&s->thread, NULL, scan_thread, s);
	if (r < 0) {
		free(s);
		return r;
	}
	d->scan = s;
	return 0;
}

int startscan_begin(struct daemon *d)
{
	return begin(d, true);
}

int startscan_rescan(struct daemon *d)
{
	return begin(d, false);
}

void startscan_end(struct daemon *d)
{
	struct startscan *s = d->scan;

	if (!s)
		return;
	s->cancel = true;
	pthread_join(s->thread, NULL);
	free(s);
	d->scan = NULL;
}
