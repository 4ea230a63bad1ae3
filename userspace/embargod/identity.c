// SPDX-License-Identifier: GPL-2.0
/*
 * Files identified by what they are (signer, package, path) rather than by a listed digest. The kernel
 * decides by digest only, synchronously; a file identified here has its digest *learned*: it joins the
 * deny set (the kernel's digest map in the lsm-hash tier, this table in the others), so the next exec,
 * copy or hard link of it is decided like a listed one. Learned digests are kept under state_dir with
 * the rule that taught them, and learned again at start while that rule is still in the policy.
 * Who a file is, is the decision core's to say (verdict.h): the same function inspect and scan use.
 */
#include "bpf.h"
#include "daemon.h"
#include "ident.h"
#include "log.h"
#include "util.h"
#include "verdict.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>

struct learned {
	uint8_t sha256[SHA256_LEN];
	uint32_t ident; /* index into policy->ident_rules */
};

struct ident {
	pthread_mutex_t lock;
	struct embargo_decider *decider; /* over d->policy */
	struct learned *items;
	size_t n, cap;
	char state_path[4096];
};

static struct learned *find(struct ident *x, const uint8_t sha[SHA256_LEN])
{
	for (size_t i = 0; i < x->n; i++)
		if (memcmp(x->items[i].sha256, sha, SHA256_LEN) == 0)
			return &x->items[i];
	return NULL;
}

static void rule_ref_of(const struct daemon *d, uint32_t ident, struct embargo_rule_ref *ref)
{
	const struct embargo_ident_rule *r = &d->policy->ident_rules[ident];
	struct embargo_match m = { .kind = r->kind, .vendor = r->vendor, .ident = r };

	embargo_match_rule_ref(d->policy, &m, ref);
}

/* Called with x->lock held. persist: append to the state file (not when reading it back). */
static int learn_locked(struct daemon *d, struct ident *x, const uint8_t sha[SHA256_LEN], uint32_t ident,
			bool persist)
{
	struct embargo_rule_ref ref;
	char hex[SHA256_HEX_LEN + 1], loc[4200];

	if (find(x, sha))
		return 0;
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 64;
		struct learned *n = realloc(x->items, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		x->items = n;
		x->cap = cap;
	}
	memcpy(x->items[x->n].sha256, sha, SHA256_LEN);
	x->items[x->n++].ident = ident;
	rule_ref_of(d, ident, &ref);
	/* In the hashing tier the kernel itself now refuses every copy of it, from the first exec. */
	if (d->tier == EMBARGO_TIER_LSM_HASH &&
	    bpf_map_update_elem(bpf_digests_fd(d->bpf, d->gen), sha, &ref, BPF_NOEXIST) < 0 &&
	    errno != EEXIST)
		log_warning("Cannot add a learned digest to the kernel's deny map (full?): %m");
	if (persist && x->state_path[0]) {
		_cleanup_fclose_ FILE *f = fopen(x->state_path, "ae");

		hex_encode(sha, SHA256_LEN, hex);
		embargo_ident_rule_location(d->policy, &d->policy->ident_rules[ident], loc, sizeof(loc));
		if (!f || fprintf(f, "%s %s\n", hex, loc) < 0)
			log_warning("Cannot save a learned digest in %s: %m", x->state_path);
	}
	return 0;
}

static void load_learned(struct daemon *d, struct ident *x)
{
	_cleanup_fclose_ FILE *f = fopen(x->state_path, "re");
	char line[4400], loc[4200];
	size_t kept = 0, dropped = 0;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		uint8_t sha[SHA256_LEN];
		char *sp = strchr(line, ' ');
		bool found = false;

		line[strcspn(line, "\n")] = '\0';
		if (!sp || hex_decode(line, (size_t)(sp - line), sha, SHA256_LEN) < 0) {
			dropped++;
			continue;
		}
		/* Only while the rule that taught it is still there: a removed rule unlearns its digests. */
		for (size_t i = 0; i < d->policy->n_ident_rules && !found; i++) {
			embargo_ident_rule_location(d->policy, &d->policy->ident_rules[i], loc, sizeof(loc));
			if (strcmp(loc, sp + 1) == 0) {
				found = learn_locked(d, x, sha, (uint32_t)i, false) == 0;
			}
		}
		if (found)
			kept++;
		else
			dropped++;
	}
	if (kept || dropped)
		log_info(
			"Learned digests from %s: %zu kept, %zu dropped (their rule is gone or changed line)",
			x->state_path, kept, dropped);
}

int ident_start(struct daemon *d)
{
	const struct embargo_policy *p = d->policy;
	struct ident *x;
	int r;

	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	pthread_mutex_init(&x->lock, NULL);
	r = embargo_decider_new(p, NULL, &x->decider);
	if (r < 0 && r != -ENOMEM) {
		log_warning("Cannot read the dpkg database: %s; package rules match through rpm only",
			    strerror(-r));
		r = embargo_decider_new(p, &(struct embargo_decider_opts){ .no_dpkg = true }, &x->decider);
	}
	if (r < 0) {
		pthread_mutex_destroy(&x->lock);
		free(x);
		return r;
	}
	if (p->n_ident_rules > 0 && d->cfg->state_dir &&
	    (mkdir(d->cfg->state_dir, 0700) == 0 || errno == EEXIST))
		snprintf(x->state_path, sizeof(x->state_path), "%s/learned", d->cfg->state_dir);
	d->ident = x;
	pthread_mutex_lock(&x->lock);
	load_learned(d, x);
	pthread_mutex_unlock(&x->lock);
	return 0;
}

void ident_stop(struct daemon *d)
{
	struct ident *x = d->ident;

	if (!x)
		return;
	embargo_decider_free(x->decider);
	free(x->items);
	pthread_mutex_destroy(&x->lock);
	free(x);
	d->ident = NULL;
}

const struct embargo_decider *ident_decider(const struct daemon *d)
{
	return d->ident ? d->ident->decider : NULL;
}

bool ident_learned(const struct daemon *d, const uint8_t sha[SHA256_LEN], struct embargo_rule_ref *ref)
{
	struct ident *x = d->ident;
	struct learned *l;
	bool found = false;

	if (!x)
		return false;
	pthread_mutex_lock(&x->lock);
	l = find(x, sha);
	if (l) {
		rule_ref_of(d, l->ident, ref);
		found = true;
	}
	pthread_mutex_unlock(&x->lock);
	return found;
}

bool ident_learn(struct daemon *d, const struct embargo_match *m, const uint8_t sha[SHA256_LEN],
		 const char *path)
{
	struct ident *x = d->ident;
	bool hit;

	if (!x || !m->ident)
		return false;
	pthread_mutex_lock(&x->lock);
	hit = learn_locked(d, x, sha, (uint32_t)(m->ident - d->policy->ident_rules), true) == 0;
	pthread_mutex_unlock(&x->lock);
	log_notice("Identified %s as %s's: %s (rule %s); its digest is denied from now on",
		   path ? path : "(file)", d->policy->vendors[m->vendor].name, m->why, m->location);
	return hit;
}

bool ident_check(struct daemon *d, int fd, const char *path, const uint8_t sha[SHA256_LEN], uint32_t *ident)
{
	struct ident *x = d->ident;
	struct embargo_subject s = { .fd = fd, .path = path };
	struct embargo_decision dec;
	int r;

	if (!x || !embargo_decider_has_identity_rules(x->decider))
		return false;
	memcpy(s.sha256, sha, SHA256_LEN);
	r = embargo_decide(x->decider, &s, 0, NULL, &dec);
	if (r < 0) {
		log_warning("Cannot match %s against the identity rules: %s", path ? path : "(file)",
			    strerror(-r));
		return false;
	}
	if (dec.sig_error)
		log_warning("Cannot read the signatures of %s: %s", path ? path : "(file)",
			    strerror(-dec.sig_error));
	if (!dec.match || !dec.m.ident || !ident_learn(d, &dec.m, sha, path))
		return false;
	*ident = (uint32_t)(dec.m.ident - d->policy->ident_rules);
	return true;
}
