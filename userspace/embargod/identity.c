// SPDX-License-Identifier: GPL-2.0
/*
 * Files identified by what they are (signer, package, path) rather than by a listed digest. The kernel
 * decides by digest only, synchronously; a file identified here has its digest *learned*: it joins the
 * deny set (the kernel's digest map in the lsm-hash tier, this table in the others), so the next exec,
 * copy or hard link of it is decided like a listed one. Learned digests are kept under state_dir with
 * the rule that taught them, and learned again at start while that rule is still in the policy.
 * Signatures are read by the confined worker (identify.h) only for files that can carry one.
 */
#include "bpf.h"
#include "daemon.h"
#include "ident.h"
#include "identify.h"
#include "log.h"
#include "match.h"
#include "pkg.h"
#include "util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

struct learned {
	uint8_t sha256[SHA256_LEN];
	uint32_t ident; /* index into policy->ident_rules */
};

struct ident {
	pthread_mutex_t lock;
	struct embargo_pkg_db *dpkg;
	bool sig_rules, pkg_rules;
	struct learned *items;
	size_t n, cap;
	char state_path[4096];
	const char **anchors;
};

static bool has_kind(const struct embargo_policy *p, uint8_t a, uint8_t b, uint8_t c)
{
	for (size_t i = 0; i < p->n_ident_rules; i++)
		if (p->ident_rules[i].kind == a || p->ident_rules[i].kind == b || p->ident_rules[i].kind == c)
			return true;
	return false;
}

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

	*ref = (struct embargo_rule_ref){
		.rule_id = EMBARGO_RULE_IDENT | ident,
		.vendor_id = (uint16_t)r->vendor,
		.vendor_mode = d->policy->vendors[r->vendor].mode,
	};
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

	if (p->n_ident_rules == 0)
		return 0;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	pthread_mutex_init(&x->lock, NULL);
	x->sig_rules =
		has_kind(p, EMBARGO_IDENT_SIGNER_ORG, EMBARGO_IDENT_SIGNER_CN, EMBARGO_IDENT_SIGNER_CERT);
	x->pkg_rules =
		has_kind(p, EMBARGO_IDENT_PACKAGE, EMBARGO_IDENT_PACKAGE_MAINTAINER, EMBARGO_IDENT_PACKAGE);
	if (x->pkg_rules) {
		r = embargo_pkg_db_open(NULL, &x->dpkg);
		if (r < 0 && r != -ENOENT)
			log_warning("Cannot read the dpkg database: %s; package rules match through rpm only",
				    strerror(-r));
	}
	x->anchors = calloc(p->n_trust_anchors + 1, sizeof(char *));
	for (size_t i = 0; x->anchors && i < p->n_trust_anchors; i++)
		x->anchors[i] = p->trust_anchors[i].path;
	if (d->cfg->state_dir && (mkdir(d->cfg->state_dir, 0700) == 0 || errno == EEXIST))
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
	embargo_pkg_db_free(x->dpkg);
	free(x->items);
	free(x->anchors);
	pthread_mutex_destroy(&x->lock);
	free(x);
	d->ident = NULL;
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

/* Only files that can carry a signature go to the worker (a fork each): PE, kernel modules, IMA. */
static bool may_be_signed(int fd)
{
	static const char trailer[] = "~Module signature appended~\n";
	char head[2], tail[sizeof(trailer) - 1];
	struct stat st;

	if (fgetxattr(fd, "security.ima", NULL, 0) > 0)
		return true;
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(tail))
		return false;
	if (pread(fd, head, sizeof(head), 0) == sizeof(head) && head[0] == 'M' && head[1] == 'Z')
		return true;
	return pread(fd, tail, sizeof(tail), st.st_size - (off_t)sizeof(tail)) == sizeof(tail) &&
	       memcmp(tail, trailer, sizeof(tail)) == 0;
}

bool ident_check(struct daemon *d, int fd, const char *path, const uint8_t sha[SHA256_LEN], uint32_t *ident)
{
	struct ident *x = d->ident;
	struct embargo_identity id = { 0 };
	struct embargo_match m;
	struct embargo_identify_opts o = { .trust_anchors = x ? x->anchors : NULL,
					   .n_trust_anchors = d->policy->n_trust_anchors };
	struct embargo_pkg_opts po = { .db = x ? x->dpkg : NULL };
	_cleanup_close_ int own_fd = -1;
	bool hit = false;
	int r;

	if (!x)
		return false;
	/* Called without a descriptor (the start-up scan): open our own, which the fanotify tier never
	 * refuses to us; only signer rules need to read the file. */
	if (fd < 0 && x->sig_rules && path)
		fd = own_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (x->sig_rules && fd >= 0 && may_be_signed(fd)) {
		r = embargo_identify_fd(fd, &o, &id);
		if (r < 0)
			log_warning("Cannot read the signatures of %s: %s", path ? path : "(file)",
				    strerror(-r));
	}
	memcpy(id.sha256, sha, SHA256_LEN);
	free(id.path);
	id.path = path ? strdup(path) : NULL;
	if (x->pkg_rules && path && embargo_pkg_lookup(path, &po, &id.pkgs, &id.n_pkgs) < 0)
		id.n_pkgs = 0;
	if (embargo_policy_match(d->policy, &id, &m) == 1 && m.ident) {
		*ident = (uint32_t)(m.ident - d->policy->ident_rules);
		pthread_mutex_lock(&x->lock);
		hit = learn_locked(d, x, sha, *ident, true) == 0;
		pthread_mutex_unlock(&x->lock);
		log_notice("Identified %s as %s's: %s (rule %s); its digest is denied from now on",
			   path ? path : "(file)", d->policy->vendors[m.vendor].name, m.why, m.location);
	}
	embargo_identity_free(&id);
	return hit;
}
