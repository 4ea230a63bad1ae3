// SPDX-License-Identifier: GPL-2.0
/*
 * Policy reload (embargoctl reload, systemctl reload, SIGHUP). The new generation is built completely
 * beside the running one: parsed, lists expanded, the kernel's spare digest set filled. Only then does
 * one store switch the kernel to it (bpf_switch_gen); until that store the old policy decides
 * everything, from it on the new one, so there is no moment where neither applies. A policy with an
 * error is refused before anything is touched: the running one stays, the error is logged with its
 * file:line:column and kept for `embargoctl status`.
 *
 * The slow half (reading the policy and its lists, filling the spare set) runs on a thread of its own:
 * a policy on a hung file system must not stall the event loop, which reads the kernel's events and
 * feeds the watchdog. The loop only asks (reload_request) and, once the thread has prepared a
 * generation, swaps it in (reload_complete). SIGHUP is exempt from self-protection, so root could
 * loop reloads: they start at most once per RELOAD_MIN_INTERVAL_NS; requests that arrive meanwhile are
 * coalesced into the next one (the last requester is named), counted, and said once in its log line.
 */
#include "bpf.h"
#include "control.h"
#include "daemon.h"
#include "event.h"
#include "fanotify.h"
#include "ident.h"
#include "interpreters.h"
#include "log.h"
#include "reload.h"
#include "running.h"
#include "startscan.h"
#include "state.h"
#include "tier.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>

#define RELOAD_MIN_INTERVAL_NS 1000000000ull
/* embargoctl reload connections waiting for their result; more are answered at once, refused. */
#define RELOAD_MAX_WAITERS 64

struct reloader {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	int efd;	     /* the loop's: a prepared generation (or a refusal) is waiting */
	bool started, stop;

	/* Asked by the loop: the latest requester and how many asked; taken by the thread. */
	char who[400];
	uint64_t asked, taken;
	int waiters[RELOAD_MAX_WAITERS];
	size_t n_waiters;
	uint64_t last_start_ns;
	/* Asked by the loop: keep a copy of this policy (the one in force) as the last good one. */
	const struct embargo_policy *save;
	uint32_t save_gen;

	/* The thread's result, until the loop has swapped it in (or refused it): done. */
	bool done;
	struct embargo_policy *p;
	struct ident *ident; /* the decision core over p, or NULL (then built on the loop) */
	uint32_t gen;
	int r;
	char why[5000];
	char done_who[400];
	uint64_t coalesced; /* requests this reload answers besides the one that started it */
	uint64_t t0;
	int done_waiters[RELOAD_MAX_WAITERS];
	size_t n_done_waiters;
};

static void failed(struct daemon *d, const char *who, const char *why)
{
	d->reload.failures++;
	d->reload.failed = true;
	snprintf(d->reload.error, sizeof(d->reload.error), "%s", why);
	log_msg(LOG_ERR, EMBARGO_MSGID_RELOAD,
		"Policy reload asked by %s refused, generation %u stays in force: %s", who, d->gen, why);
}

/* The slow half, on the reload thread: d->gen and d->policy do not change while it runs. */
static int prepare(struct daemon *d, uint32_t gen, struct embargo_policy **ret, char *why, size_t whysize)
{
	struct embargo_policy_error perr = {};
	struct embargo_policy *p = NULL;
	char msg[5000];
	int r = embargo_policy_load(d->cfg->policy, &p, &perr);

	if (r < 0) {
		snprintf(why, whysize, "%s", embargo_policy_error_format(&perr, msg, sizeof(msg)));
		return r;
	}
	r = tier_prepare_gen(d, p, gen, why, whysize);
	if (r < 0) {
		embargo_policy_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

static void *reload_thread(void *arg)
{
	struct daemon *d = arg;
	struct reloader *rl = d->reloader;

	pthread_mutex_lock(&rl->lock);
	for (;;) {
		uint64_t now;

		while (!rl->stop && !rl->save && (rl->asked == rl->taken || rl->done))
			pthread_cond_wait(&rl->cond, &rl->lock);
		if (rl->stop)
			break;
		if (rl->save) {
			/* In force until a later reload is swapped in, which only this thread prepares. */
			const struct embargo_policy *p = rl->save;
			uint32_t gen = rl->save_gen;
			char why[5000] = "";
			int r;

			rl->save = NULL;
			pthread_mutex_unlock(&rl->lock);
			r = state_save_policy(d, p, why, sizeof(why));
			if (r < 0)
				log_warning(
					"Cannot keep policy generation %u as the last good policy in %s: %s",
					gen, d->cfg->state_dir, why);
			else
				log_info("Policy generation %u kept as the last good policy in %s", gen,
					 d->cfg->state_dir);
			pthread_mutex_lock(&rl->lock);
			continue;
		}
		now = now_ns();
		if (rl->last_start_ns && now - rl->last_start_ns < RELOAD_MIN_INTERVAL_NS) {
			uint64_t at = rl->last_start_ns + RELOAD_MIN_INTERVAL_NS;
			struct timespec ts = { .tv_sec = (time_t)(at / 1000000000ull),
					       .tv_nsec = (long)(at % 1000000000ull) };

			(void)pthread_cond_timedwait(&rl->cond, &rl->lock, &ts);
			continue;
		}
		rl->last_start_ns = rl->t0 = now;
		snprintf(rl->done_who, sizeof(rl->done_who), "%s", rl->who);
		rl->coalesced = rl->asked - rl->taken - 1;
		rl->taken = rl->asked;
		memcpy(rl->done_waiters, rl->waiters, rl->n_waiters * sizeof(rl->waiters[0]));
		rl->n_done_waiters = rl->n_waiters;
		rl->n_waiters = 0;
		rl->gen = d->gen + 1;
		pthread_mutex_unlock(&rl->lock);

		struct embargo_policy *p = NULL;
		char why[sizeof(rl->why)] = "";
		int r = prepare(d, rl->gen, &p, why, sizeof(why));
		struct ident *ident = NULL;

		/* The identity rules' decision core reads the dpkg database: not on the loop either. */
		if (r == 0 && ident_prepare(d, p, &ident) < 0)
			ident = NULL;

		pthread_mutex_lock(&rl->lock);
		rl->p = p;
		rl->ident = ident;
		rl->r = r;
		memcpy(rl->why, why, sizeof(why));
		rl->done = true;
		(void)eventfd_write(rl->efd, 1);
	}
	pthread_mutex_unlock(&rl->lock);
	return NULL;
}

int reload_start(struct daemon *d)
{
	struct reloader *rl = calloc(1, sizeof(*rl));
	pthread_condattr_t ca;
	int r;

	if (!rl)
		return -ENOMEM;
	rl->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (rl->efd < 0) {
		r = -errno;
		free(rl);
		return r;
	}
	pthread_mutex_init(&rl->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rl->cond, &ca);
	pthread_condattr_destroy(&ca);
	d->reloader = rl;
	r = -pthread_create(&rl->thread, NULL, reload_thread, d);
	if (r < 0) {
		close(rl->efd);
		free(rl);
		d->reloader = NULL;
		return r;
	}
	rl->started = true;
	return 0;
}

int reload_fd(const struct daemon *d)
{
	return d->reloader ? d->reloader->efd : -1;
}

static void reply_all(int *fds, size_t n, int err, const char *text)
{
	for (size_t i = 0; i < n; i++) {
		(void)embargo_control_reply(fds[i], err, text);
		close(fds[i]);
	}
}

int reload_stop(struct daemon *d)
{
	struct reloader *rl = d->reloader;

	if (!rl)
		return 0;
	pthread_mutex_lock(&rl->lock);
	rl->stop = true;
	pthread_cond_signal(&rl->cond);
	pthread_mutex_unlock(&rl->lock);
	/* A reload stuck on a hung file system keeps the thread; the process is about to end anyway. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	if (pthread_timedjoin_np(rl->thread, NULL, &ts) != 0) {
		log_warning("The policy reload in progress did not finish within 5 s: leaving it");
		return -EBUSY;
	}
	reply_all(rl->waiters, rl->n_waiters, ECANCELED, "embargod is stopping");
	reply_all(rl->done_waiters, rl->done ? rl->n_done_waiters : 0, ECANCELED, "embargod is stopping");
	embargo_policy_free(rl->done ? rl->p : NULL);
	ident_discard(rl->done ? rl->ident : NULL);
	close(rl->efd);
	free(rl);
	d->reloader = NULL;
	return 0;
}

void reload_save(struct daemon *d)
{
	struct reloader *rl = d->reloader;

	if (!rl)
		return;
	pthread_mutex_lock(&rl->lock);
	rl->save = d->policy;
	rl->save_gen = d->gen;
	pthread_cond_signal(&rl->cond);
	pthread_mutex_unlock(&rl->lock);
}

void reload_request(struct daemon *d, const char *who, int reply_fd)
{
	struct reloader *rl = d->reloader;
	bool coalesced;

	if (!rl) {
		if (reply_fd >= 0) {
			(void)embargo_control_reply(reply_fd, EAGAIN, "embargod cannot reload now");
			close(reply_fd);
		}
		return;
	}
	pthread_mutex_lock(&rl->lock);
	if (reply_fd >= 0 && rl->n_waiters == RELOAD_MAX_WAITERS) {
		pthread_mutex_unlock(&rl->lock);
		(void)embargo_control_reply(reply_fd, EBUSY, "too many reload requests waiting: try again");
		close(reply_fd);
		return;
	}
	coalesced = rl->asked != rl->taken;
	snprintf(rl->who, sizeof(rl->who), "%s", who);
	rl->asked++;
	if (reply_fd >= 0)
		rl->waiters[rl->n_waiters++] = reply_fd;
	pthread_cond_signal(&rl->cond);
	pthread_mutex_unlock(&rl->lock);
	if (coalesced)
		d->reload.coalesced++;
}

/* The fast half, on the loop: the prepared generation goes into force. */
static void swap_in(struct daemon *d, struct embargo_policy *p, struct ident *ident, uint32_t gen,
		    const char *who, uint64_t coalesced, uint64_t t0)
{
	struct embargo_policy *old_prev;
	struct ident *learned;
	int r;

	/* The start-up scan and the search for running code read the policy without the lock: both are
	 * stopped and run again on the new one below. */
	startscan_end(d);
	running_pause(d);
	pthread_rwlock_wrlock(&d->policy_lock);
	learned = ident_detach(d);
	old_prev = d->prev_policy;
	d->prev_policy = d->policy;
	d->prev_gen = d->gen;
	d->policy = p;
	d->gen = gen;
	r = ident_restart(d, learned, d->prev_policy, ident);
	pthread_rwlock_unlock(&d->policy_lock);
	bpf_carry_matches(d->bpf, d->prev_policy, d->prev_gen, d->policy, gen);
	/* The learned digests of the new generation are in its set: now the kernel switches. */
	bpf_switch_gen(d->bpf, gen, p->n_ident_rules > 0);
	/* What runs already and the new generation prohibits: searched now, not after the file scan. */
	running_reloaded(d);
	embargo_policy_free(old_prev);
	if (r < 0)
		log_warning(
			"Policy generation %u: cannot prepare its identity rules: %s; its digests are enforced",
			gen, strerror(-r));
	fanotify_policy_changed(d);
	/* A package upgrade may have replaced an interpreter's file since the last look. */
	interp_apply(d);

	d->loaded_at = time(NULL);
	if (d->fallback.active)
		log_notice("The configured policy loaded: the last good copy is no longer in force");
	d->fallback.active = false;
	d->reload.failed = false;
	d->reload.error[0] = '\0';
	d->reload.seconds = (double)(now_ns() - t0) / 1e9;
	if (coalesced)
		log_msg(LOG_NOTICE, EMBARGO_MSGID_RELOAD,
			"Policy reloaded by %s in %.3f s (and for %llu more requests, coalesced: at most one reload a second): generation %u in force (was %u): %s: %zu vendors, %zu digests, %zu identity rules",
			who, d->reload.seconds, (unsigned long long)coalesced, gen, d->prev_gen, p->path,
			p->n_vendors, p->n_rules, p->n_ident_rules);
	else
		log_msg(LOG_NOTICE, EMBARGO_MSGID_RELOAD,
			"Policy reloaded by %s in %.3f s: generation %u in force (was %u): %s: %zu vendors, %zu digests, %zu identity rules",
			who, d->reload.seconds, gen, d->prev_gen, p->path, p->n_vendors, p->n_rules,
			p->n_ident_rules);
	r = startscan_rescan(d);
	if (r < 0)
		log_warning("Cannot start the scan for policy generation %u: %s", gen, strerror(-r));
	reload_save(d);
}

void reload_complete(struct daemon *d)
{
	struct reloader *rl = d->reloader;
	char ok[128];
	eventfd_t n;

	if (!rl || eventfd_read(rl->efd, &n) < 0)
		return;
	pthread_mutex_lock(&rl->lock);
	if (!rl->done) {
		pthread_mutex_unlock(&rl->lock);
		return;
	}
	pthread_mutex_unlock(&rl->lock);
	/* The thread waits for done to clear: what it left is the loop's until then. */
	d->reload.attempts++;
	d->reload.at = time(NULL);
	if (rl->r < 0) {
		failed(d, rl->done_who, rl->why);
		ident_discard(rl->ident);
		reply_all(rl->done_waiters, rl->n_done_waiters, rl->r == -ENOSPC ? ENOSPC : EINVAL, rl->why);
	} else {
		swap_in(d, rl->p, rl->ident, rl->gen, rl->done_who, rl->coalesced, rl->t0);
		snprintf(ok, sizeof(ok), "generation %u in force", d->gen);
		reply_all(rl->done_waiters, rl->n_done_waiters, 0, ok);
	}
	notify_status(d);
	pthread_mutex_lock(&rl->lock);
	rl->p = NULL;
	rl->ident = NULL;
	rl->n_done_waiters = 0;
	rl->done = false;
	pthread_cond_signal(&rl->cond);
	pthread_mutex_unlock(&rl->lock);
}
