// SPDX-License-Identifier: GPL-2.0
/*
 * Policy reload (embargoctl reload, systemctl reload, SIGHUP). The new generation is built completely
 * beside the running one: parsed, lists expanded, the kernel's spare digest set filled. Only then does
 * one store switch the kernel to it (bpf_switch_gen); until that store the old policy decides
 * everything, from it on the new one, so there is no moment where neither applies. A policy with an
 * error is refused before anything is touched: the running one stays, the error is logged with its
 * file:line:column and kept for `embargoctl status`.
 */
#include "bpf.h"
#include "daemon.h"
#include "event.h"
#include "fanotify.h"
#include "ident.h"
#include "log.h"
#include "reload.h"
#include "startscan.h"
#include "tier.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void failed(struct daemon *d, const char *who, const char *why)
{
	d->reload.failures++;
	d->reload.failed = true;
	snprintf(d->reload.error, sizeof(d->reload.error), "%s", why);
	log_msg(LOG_ERR, EMBARGO_MSGID_RELOAD,
		"Policy reload asked by %s refused, generation %u stays in force: %s", who, d->gen, why);
}

int daemon_reload(struct daemon *d, const char *who, char *why, size_t whysize)
{
	struct embargo_policy_error perr = {};
	struct embargo_policy *p = NULL, *old_prev;
	struct ident *learned;
	uint64_t t0 = now_ns();
	uint32_t gen = d->gen + 1;
	char msg[5000];
	int r;

	d->reload.attempts++;
	d->reload.at = time(NULL);
	r = embargo_policy_load(d->cfg->policy, &p, &perr);
	if (r < 0) {
		snprintf(why, whysize, "%s", embargo_policy_error_format(&perr, msg, sizeof(msg)));
		failed(d, who, why);
		return r;
	}
	r = tier_prepare_gen(d, p, gen, why, whysize);
	if (r < 0) {
		embargo_policy_free(p);
		failed(d, who, why);
		return r;
	}

	/* The start-up scan reads the policy without the lock: it is run again on the new one below. */
	startscan_end(d);
	pthread_rwlock_wrlock(&d->policy_lock);
	learned = ident_detach(d);
	old_prev = d->prev_policy;
	d->prev_policy = d->policy;
	d->prev_gen = d->gen;
	d->policy = p;
	d->gen = gen;
	r = ident_restart(d, learned, d->prev_policy);
	pthread_rwlock_unlock(&d->policy_lock);
	bpf_carry_matches(d->bpf, d->prev_policy, d->prev_gen, d->policy, gen);
	/* The learned digests of the new generation are in its set: now the kernel switches. */
	bpf_switch_gen(d->bpf, gen, p->n_ident_rules > 0);
	embargo_policy_free(old_prev);
	if (r < 0)
		log_warning(
			"Policy generation %u: cannot prepare its identity rules: %s; its digests are enforced",
			gen, strerror(-r));
	fanotify_policy_changed(d);

	d->loaded_at = time(NULL);
	d->reload.failed = false;
	d->reload.error[0] = '\0';
	d->reload.seconds = (double)(now_ns() - t0) / 1e9;
	log_msg(LOG_NOTICE, EMBARGO_MSGID_RELOAD,
		"Policy reloaded by %s in %.3f s: generation %u in force (was %u): %s: %zu vendors, %zu digests, %zu identity rules",
		who, d->reload.seconds, gen, d->prev_gen, p->path, p->n_vendors, p->n_rules,
		p->n_ident_rules);
	r = startscan_begin(d);
	if (r < 0)
		log_warning("Cannot start the scan for policy generation %u: %s", gen, strerror(-r));
	return 0;
}
