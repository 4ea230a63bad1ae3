// SPDX-License-Identifier: GPL-2.0
/*
 * Files identified by what they are (signer, package, path) rather than by a listed digest. The kernel
 * decides by digest only, synchronously; a file identified here has its digest *learned*: it joins the
 * deny set (the kernel's digest map in the lsm-hash tier, this table in the others), so the next exec,
 * copy or hard link of it is decided like a listed one. Learned digests are kept under state_dir with
 * the rule that taught them, and learned again at start while that rule is still in the policy.
 * Who a file is, is the decision core's to say (verdict.h): the same function inspect and scan use.
 *
 * A learned digest stops every copy of that content, so what may teach one is narrow (docs/threat-model.md):
 * the caller hands over the very file the kernel saw (its fd) with that file's own digest; a name-derived
 * match (path, package) counts only for files no user but root could have put there; a signature teaches
 * only when it verified; and nothing can teach the digest of what the system needs to run at all (the
 * never-deny list: the loader, the C library, PID 1, embargod, and the files of installed packages no
 * rule names). The learned set is capped (max_learned) and `embargoctl learned forget` is the way out.
 */
#include "bpf.h"
#include "daemon.h"
#include "ident.h"
#include "json.h"
#include "log.h"
#include "neverdeny.h"
#include "pkg.h"
#include "record.h"
#include "util.h"
#include "verdict.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <pthread.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* The inodes whose cached MATCH verdict a learned digest produced, for forget. */
#define LEARNED_KEYS 8

struct learned {
	uint8_t sha256[SHA256_LEN];
	uint32_t ident; /* index into policy->ident_rules */
	int64_t at;	/* when it was learned */
	char *path;	/* of the file it was learned from; NULL when not known */
	struct embargo_inode_key keys[LEARNED_KEYS];
	size_t n_keys;
};

struct ident {
	pthread_mutex_t lock;
	struct embargo_decider *decider; /* over d->policy */
	struct learned *items;
	size_t n, cap;
	char state_path[4096];
	struct embargo_digest_set never; /* digests learning must never deny (hashed at start) */
	uint64_t refused_attack, refused_cap;
};

/* What a match may do: teach its digest, count for this one file, or nothing at all. */
enum gate {
	GATE_LEARN,
	GATE_INODE,
	GATE_REFUSE,
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

static void save_line(const struct daemon *d, FILE *f, const struct learned *l)
{
	char hex[SHA256_HEX_LEN + 1], loc[4200];

	hex_encode(l->sha256, SHA256_LEN, hex);
	embargo_ident_rule_location(d->policy, &d->policy->ident_rules[l->ident], loc, sizeof(loc));
	/* "HEX LOCATION": what older versions wrote; the time and path follow after tabs. */
	fprintf(f, "%s %s\t%lld\t%s\n", hex, loc, (long long)l->at, l->path ? l->path : "");
}

/* Writes the whole learned set anew (after a forget or a reload): to a temporary file, then renamed. */
static int save_all(const struct daemon *d, const struct ident *x)
{
	_cleanup_fclose_ FILE *f = NULL;
	char tmp[4200];

	if (!x->state_path[0])
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.new", x->state_path);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	for (size_t i = 0; i < x->n; i++)
		save_line(d, f, &x->items[i]);
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) < 0) {
		int r = -errno;

		(void)unlink(tmp);
		return r ?: -EIO;
	}
	if (rename(tmp, x->state_path) < 0)
		return -errno;
	return 0;
}

static void learned_clear(struct learned *l)
{
	free(l->path);
	l->path = NULL;
}

/* The kernel's deny map in the hashing tier: the learned digest refused from every copy's first exec. */
static void kernel_deny(struct daemon *d, const uint8_t sha[SHA256_LEN], const struct embargo_rule_ref *ref)
{
	if (d->tier == EMBARGO_TIER_LSM_HASH &&
	    bpf_map_update_elem(bpf_digests_fd(d->bpf, d->gen), sha, ref, BPF_NOEXIST) < 0 && errno != EEXIST)
		log_warning("Cannot add a learned digest to the kernel's deny map (full?): %m");
}

/* Called with x->lock held. persist: append to the state file (not when reading it back). */
static int learn_locked(struct daemon *d, struct ident *x, const uint8_t sha[SHA256_LEN], uint32_t ident,
			bool persist, const char *path, int64_t at)
{
	struct embargo_rule_ref ref;

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
	x->items[x->n] = (struct learned){ .ident = ident, .at = at };
	memcpy(x->items[x->n].sha256, sha, SHA256_LEN);
	if (path && *path) {
		x->items[x->n].path = strdup(path);
		if (!x->items[x->n].path)
			return -ENOMEM;
	}
	x->n++;
	rule_ref_of(d, ident, &ref);
	kernel_deny(d, sha, &ref);
	if (persist && x->state_path[0]) {
		_cleanup_fclose_ FILE *f = fopen(x->state_path, "ae");

		if (f)
			save_line(d, f, &x->items[x->n - 1]);
		if (!f || fflush(f) != 0 || ferror(f))
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
		char *sp = strchr(line, ' '), *tab, *path = NULL;
		int64_t at = 0;
		bool found = false;

		line[strcspn(line, "\n")] = '\0';
		if (!sp || hex_decode(line, (size_t)(sp - line), sha, SHA256_LEN) < 0) {
			dropped++;
			continue;
		}
		tab = strchr(sp + 1, '\t');
		if (tab) {
			uint64_t v;
			char *tab2 = strchr(tab + 1, '\t');

			*tab = '\0';
			if (tab2) {
				*tab2 = '\0';
				path = tab2 + 1;
			}
			if (parse_u64(tab + 1, INT64_MAX, &v) == 0)
				at = (int64_t)v;
		}
		/* A state file written before the never-deny list existed may hold ld.so's digest. */
		if (embargo_digest_set_find(&x->never, sha) || x->n >= d->cfg->max_learned) {
			dropped++;
			continue;
		}
		/* Only while the rule that taught it is still there: a removed rule unlearns its digests. */
		for (size_t i = 0; i < d->policy->n_ident_rules && !found; i++) {
			embargo_ident_rule_location(d->policy, &d->policy->ident_rules[i], loc, sizeof(loc));
			if (strcmp(loc, sp + 1) == 0) {
				found = learn_locked(d, x, sha, (uint32_t)i, false, path, at) == 0;
			}
		}
		if (found)
			kept++;
		else
			dropped++;
	}
	if (kept || dropped)
		log_info(
			"Learned digests from %s: %zu kept, %zu dropped (their rule is gone or changed line, they are "
			"never denied, or over max_learned)",
			x->state_path, kept, dropped);
}

/* The digest of path (what it resolves to) into the never-deny list under name. */
static void never_add(struct embargo_digest_set *never, const char *path, const char *name)
{
	uint8_t sha[SHA256_LEN];
	int r = embargo_sha256_path(path, sha, NULL);

	if (r == 0)
		r = embargo_digest_set_add(never, sha, name);
	if (r < 0 && r != -ENOENT)
		log_warning("Cannot hash %s (%s) for the never-deny list: %s", path, name, strerror(-r));
}

/* The loader a program names (PT_INTERP), resolved: its digest into the never-deny list. */
static void never_add_interp(struct embargo_digest_set *never, const char *exe)
{
	_cleanup_close_ int fd = open(exe, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	char interp[PATH_MAX];

	if (fd >= 0 && embargo_elf_interp(fd, interp, sizeof(interp)) == 0)
		never_add(never, interp, "the dynamic loader");
}

/*
 * What learning must never deny, hashed once: without these nothing runs, and a wrong learn would be
 * persisted and stop the machine at every boot.
 */
static void never_build(struct embargo_digest_set *never)
{
	char libc[PATH_MAX];

	never_add(never, "/proc/1/exe", "PID 1's program");
	never_add(never, "/proc/self/exe", "embargod");
	never_add_interp(never, "/proc/1/exe");
	never_add_interp(never, "/proc/self/exe");
	if (embargo_maps_libc("/proc/self/maps", libc, sizeof(libc)) == 0)
		never_add(never, libc, "the C library");
}

static int ident_new(const struct daemon *d, const struct embargo_policy *p, struct ident **ret)
{
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
	*ret = x;
	return 0;
}

static void ident_free(struct ident *x)
{
	if (!x)
		return;
	embargo_decider_free(x->decider);
	for (size_t i = 0; i < x->n; i++)
		learned_clear(&x->items[i]);
	free(x->items);
	embargo_digest_set_free(&x->never);
	pthread_mutex_destroy(&x->lock);
	free(x);
}

int ident_start(struct daemon *d)
{
	struct ident *x;
	int r = ident_new(d, d->policy, &x);

	if (r < 0)
		return r;
	never_build(&x->never);
	d->ident = x;
	pthread_mutex_lock(&x->lock);
	load_learned(d, x);
	pthread_mutex_unlock(&x->lock);
	return 0;
}

struct ident *ident_detach(struct daemon *d)
{
	struct ident *x = d->ident;

	d->ident = NULL;
	return x;
}

int ident_prepare(const struct daemon *d, const struct embargo_policy *p, struct ident **ret)
{
	return ident_new(d, p, ret);
}

void ident_discard(struct ident *x)
{
	ident_free(x);
}

int ident_restart(struct daemon *d, struct ident *old, const struct embargo_policy *old_policy,
		  struct ident *prepared)
{
	struct ident *x = prepared;
	size_t kept = 0, dropped = 0;
	int r = 0;

	if (!old) {
		ident_free(prepared);
		return ident_start(d);
	}
	if (!x)
		r = ident_new(d, d->policy, &x);
	if (r < 0) {
		ident_free(old);
		return r;
	}
	x->never = old->never;
	old->never = (struct embargo_digest_set){ 0 };
	x->refused_attack = old->refused_attack;
	x->refused_cap = old->refused_cap;
	pthread_mutex_lock(&x->lock);
	/*
	 * In memory, not from the state file: what was learned stays learned while its rule exists, wherever
	 * the rule now is (a reload must not open a window in which a learned file runs again).
	 */
	for (size_t i = 0; i < old->n; i++) {
		const struct learned *l = &old->items[i];
		const struct embargo_ident_rule *nr = embargo_policy_same_ident_rule(
			d->policy, old_policy, &old_policy->ident_rules[l->ident]);

		if (!nr || learn_locked(d, x, l->sha256, (uint32_t)(nr - d->policy->ident_rules), false,
					l->path, l->at) < 0) {
			dropped++;
			continue;
		}
		memcpy(x->items[x->n - 1].keys, l->keys, sizeof(l->keys));
		x->items[x->n - 1].n_keys = l->n_keys;
		kept++;
	}
	/* An empty state file is kept for a policy that can learn nothing: the next rule may use it. */
	if (x->state_path[0] && (kept || dropped))
		r = save_all(d, x);
	pthread_mutex_unlock(&x->lock);
	if (r < 0)
		log_warning("Cannot save the learned digests in %s: %s", x->state_path, strerror(-r));
	if (kept || dropped)
		log_info("Learned digests carried to policy generation %u: %zu kept, %zu dropped (their rule "
			 "is gone)",
			 d->gen, kept, dropped);
	ident_free(old);
	d->ident = x;
	return 0;
}

void ident_stop(struct daemon *d)
{
	ident_free(ident_detach(d));
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

const char *ident_never_denied(const struct daemon *d, const uint8_t sha[SHA256_LEN])
{
	/* Built at start and only moved by a reload's swap: read without the lock. */
	return d->ident ? embargo_digest_set_find(&d->ident->never, sha) : NULL;
}

void ident_note_verdict(struct daemon *d, const uint8_t sha[SHA256_LEN], const struct embargo_inode_key *key)
{
	struct ident *x = d->ident;
	struct learned *l;

	if (!x)
		return;
	pthread_mutex_lock(&x->lock);
	l = find(x, sha);
	if (l) {
		bool seen = false;

		for (size_t i = 0; i < l->n_keys; i++)
			seen = seen || (l->keys[i].dev == key->dev && l->keys[i].ino == key->ino);
		/* The oldest gives way: a forget drops the verdicts of the copies it still knows. */
		if (!seen)
			l->keys[l->n_keys < LEARNED_KEYS ? l->n_keys++ : LEARNED_KEYS - 1] = *key;
	}
	pthread_mutex_unlock(&x->lock);
}

static bool is_name_kind(uint8_t kind)
{
	return kind == EMBARGO_IDENT_PATH || kind == EMBARGO_IDENT_PACKAGE ||
	       kind == EMBARGO_IDENT_PACKAGE_MAINTAINER;
}

/* Whether a package rule of the policy names one of pkgs. */
static bool packages_named(const struct embargo_policy *p, const struct embargo_package *pkgs, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		struct embargo_identity one = { .pkgs = (struct embargo_package *)&pkgs[k], .n_pkgs = 1 };

		for (size_t i = 0; i < p->n_ident_rules; i++) {
			struct embargo_match m;

			if ((p->ident_rules[i].kind == EMBARGO_IDENT_PACKAGE ||
			     p->ident_rules[i].kind == EMBARGO_IDENT_PACKAGE_MAINTAINER) &&
			    embargo_ident_rule_match(&p->ident_rules[i], &one, &m) > 0)
				return true;
		}
	}
	return false;
}

/*
 * Content an installed package ships, from a package no rule names: the system's, whoever put a copy under
 * a rule's name. 1 with the package in why, 0, or -errno (then it is not learned either).
 */
static int packaged_content(const struct daemon *d, int fd, char *why, size_t size)
{
	struct embargo_package *pkgs = NULL;
	uint8_t md5[MD5_LEN];
	size_t n = 0;
	int r;

	r = embargo_md5_fd(fd, md5);
	if (r < 0)
		return r;
	r = embargo_dpkg_md5_owners(NULL, md5, &pkgs, &n);
	if (r == -ENOENT)
		return 0;
	if (r == 0 && n > 0 && !packages_named(d->policy, pkgs, n)) {
		snprintf(why, size,
			 "it is the content of a file of the installed package %s, which no rule "
			 "names",
			 pkgs[0].name);
		r = 1;
	}
	embargo_packages_free(pkgs, n);
	return r;
}

/* Why a match of m on the file (fd, path, sha: sha is fd's digest) may not teach its digest. */
static enum gate learn_gate(struct daemon *d, struct ident *x, int fd, const char *path,
			    const uint8_t sha[SHA256_LEN], const struct embargo_match *m, char *why,
			    size_t size)
{
	const char *never = embargo_digest_set_find(&x->never, sha);
	char dir[PATH_MAX];
	int r;

	if (never) {
		snprintf(why, size, "its digest is that of %s, which is never denied", never);
		return GATE_REFUSE;
	}
	r = path ? embargo_path_writable_by_others(path, dir, sizeof(dir)) : -EINVAL;
	if (is_name_kind(m->kind) && r != 0) {
		/* Also not for the one file: it may be a hard link to the system's own. */
		if (r > 0)
			snprintf(why, size, "a user other than root can create names in %s", dir);
		else
			snprintf(why, size, "its directories cannot be checked: %s", strerror(-r));
		return GATE_REFUSE;
	}
	if (d->cfg->never_deny_packaged && fd >= 0) {
		r = packaged_content(d, fd, why, size);
		if (r > 0)
			return GATE_REFUSE;
		if (r < 0) {
			snprintf(why, size, "cannot tell whether an installed package ships it: %s",
				 strerror(-r));
			return GATE_INODE;
		}
	}
	if (!is_name_kind(m->kind) && !m->sig_verified) {
		snprintf(why, size, "its signature is not verified");
		return GATE_INODE;
	}
	if (r != 0) {
		snprintf(why, size, "a user other than root can create names in %s", r > 0 ? dir : "?");
		return GATE_INODE;
	}
	return GATE_LEARN;
}

static void report_refused(struct daemon *d, enum gate g, const struct embargo_match *m, const char *path,
			   const uint8_t sha[SHA256_LEN], const char *why)
{
	char hex[SHA256_HEX_LEN + 1];

	hex_encode(sha, SHA256_LEN, hex);
	log_msg(g == GATE_REFUSE ? LOG_WARNING : LOG_NOTICE, EMBARGO_MSGID_LEARN_REFUSED,
		"%s matched rule %s (%s's: %s) but %s: %s; sha256 %s", path ? path : "(file)", m->location,
		d->policy->vendors[m->vendor].name, m->why,
		g == GATE_REFUSE ? "it is not denied, a possible attack on learning"
				 : "its digest is not learned, only this file is",
		why, hex);
}

/*
 * Learns sha (the digest of the file fd, -1 when not at hand: then path is opened and must still have
 * sha) for match m, if the gate lets it. Returns the gate's answer (GATE_INODE also when the cap is hit).
 */
static enum gate learn_checked(struct daemon *d, const struct embargo_match *m, int fd, const char *path,
			       const uint8_t sha[SHA256_LEN])
{
	struct ident *x = d->ident;
	_cleanup_close_ int own = -1;
	uint8_t check[SHA256_LEN];
	char why[600];
	enum gate g;
	int r = 0;

	if (fd < 0 && path) {
		/* The start-up scan hashed path earlier: what is there now must still be that. */
		own = open_regular(path, NULL);
		r = own < 0 ? own : embargo_sha256_fd(own, check, NULL);
		if (r == 0 && memcmp(check, sha, SHA256_LEN) != 0)
			r = -ESTALE;
		fd = own;
	}
	if (r < 0) {
		snprintf(why, sizeof(why), "it cannot be read again: %s", strerror(-r));
		g = GATE_INODE;
	} else {
		g = learn_gate(d, x, fd, path, sha, m, why, sizeof(why));
	}
	pthread_mutex_lock(&x->lock);
	if (g == GATE_REFUSE)
		x->refused_attack++;
	if (g == GATE_LEARN && !find(x, sha) && x->n >= d->cfg->max_learned) {
		snprintf(why, sizeof(why), "the learned set is full (max_learned %u)", d->cfg->max_learned);
		x->refused_cap++;
		g = GATE_INODE;
	}
	if (g == GATE_LEARN && learn_locked(d, x, sha, (uint32_t)(m->ident - d->policy->ident_rules), true,
					    path, time(NULL)) < 0) {
		snprintf(why, sizeof(why), "out of memory");
		g = GATE_INODE;
	}
	pthread_mutex_unlock(&x->lock);
	if (g == GATE_LEARN)
		log_notice("Identified %s as %s's: %s (rule %s); its digest is denied from now on",
			   path ? path : "(file)", d->policy->vendors[m->vendor].name, m->why, m->location);
	else
		report_refused(d, g, m, path, sha, why);
	return g;
}

bool ident_learn(struct daemon *d, const struct embargo_match *m, const uint8_t sha[SHA256_LEN],
		 const char *path)
{
	if (!d->ident || !m->ident)
		return false;
	return learn_checked(d, m, -1, path, sha) == GATE_LEARN;
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
	if (!dec.match || !dec.m.ident || learn_checked(d, &dec.m, fd, path, sha) == GATE_REFUSE)
		return false;
	*ident = (uint32_t)(dec.m.ident - d->policy->ident_rules);
	return true;
}

bool ident_name_match(struct daemon *d, int fd, const char *path, const uint8_t sha[SHA256_LEN])
{
	struct ident *x = d->ident;
	struct embargo_subject s = { .fd = fd, .path = path };
	struct embargo_decision dec;

	if (!x || !path || !embargo_decider_has_identity_rules(x->decider))
		return false;
	memcpy(s.sha256, sha, SHA256_LEN);
	return embargo_decide(x->decider, &s, 0, NULL, &dec) == 0 && dec.match && dec.m.ident &&
	       is_name_kind(dec.m.kind);
}

/*
 * The cached MATCH verdicts a forgotten digest produced. The daemon knows those it stored; in the hashing
 * tier the kernel stores its own for every copy it refused by the digest: there every identity match of
 * the same rule is dropped, and the kernel hashes those files again (the other learned digests of the
 * rule are still in its map, so nothing else runs meanwhile).
 */
static void drop_verdicts(struct daemon *d, int vfd, const struct learned *l)
{
	struct embargo_inode_key key, *prev = NULL, due[256];
	struct embargo_rule_ref ref;
	struct embargo_verdict v;
	size_t n = 0;

	if (vfd < 0)
		return;
	for (size_t i = 0; i < l->n_keys; i++)
		if (bpf_map_lookup_elem(vfd, &l->keys[i], &v) == 0 && v.verdict == EMBARGO_VERDICT_MATCH &&
		    (v.rule_id & EMBARGO_RULE_IDENT))
			(void)bpf_map_delete_elem(vfd, &l->keys[i]);
	if (d->tier != EMBARGO_TIER_LSM_HASH)
		return;
	rule_ref_of(d, l->ident, &ref);
	/* First collect, then delete: deleting while walking would restart the walk. */
	while (bpf_map_get_next_key(vfd, prev, &key) == 0) {
		prev = &key;
		if (bpf_map_lookup_elem(vfd, &key, &v) == 0 && v.verdict == EMBARGO_VERDICT_MATCH &&
		    v.rule_id == ref.rule_id) {
			due[n++] = key;
			if (n == ARRAY_SIZE(due)) {
				for (size_t i = 0; i < n; i++)
					(void)bpf_map_delete_elem(vfd, &due[i]);
				n = 0;
				prev = NULL;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		(void)bpf_map_delete_elem(vfd, &due[i]);
}

int ident_forget(struct daemon *d, const uint8_t sha[SHA256_LEN])
{
	struct ident *x = d->ident;
	struct learned *l, gone;
	int vfd = bpf_verdicts_fd(d->bpf), r;

	if (!x)
		return -ENOENT;
	pthread_mutex_lock(&x->lock);
	l = find(x, sha);
	if (!l) {
		pthread_mutex_unlock(&x->lock);
		return -ENOENT;
	}
	gone = *l;
	*l = x->items[--x->n];
	/* A digest the policy lists itself stays in the kernel's map: it is the rule's, not the learn's. */
	if (d->tier == EMBARGO_TIER_LSM_HASH && !embargo_policy_lookup(d->policy, sha))
		(void)bpf_map_delete_elem(bpf_digests_fd(d->bpf, d->gen), sha);
	drop_verdicts(d, vfd, &gone);
	r = save_all(d, x);
	pthread_mutex_unlock(&x->lock);
	learned_clear(&gone);
	if (r < 0)
		log_warning("Cannot save the learned digests in %s: %s", x->state_path, strerror(-r));
	return 0;
}

void ident_status_json(const struct daemon *d, struct json_writer *w)
{
	struct ident *x = d->ident;

	json_key_object(w, "learned");
	if (x)
		pthread_mutex_lock(&x->lock);
	json_key_u64(w, "count", x ? x->n : 0);
	json_key_u64(w, "max", d->cfg->max_learned);
	json_key_u64(w, "refused_full", x ? x->refused_cap : 0);
	json_key_u64(w, "refused_attack", x ? x->refused_attack : 0);
	if (x)
		pthread_mutex_unlock(&x->lock);
	json_end_object(w);
}

int ident_list_json(const struct daemon *d, char **ret)
{
	_cleanup_(json_writer_free) struct json_writer w = JSON_WRITER_INIT;
	struct ident *x = d->ident;
	char hex[SHA256_HEX_LEN + 1], loc[4200], when[64];

	json_begin_object(&w);
	json_key_u64(&w, "max", d->cfg->max_learned);
	json_key_array(&w, "learned");
	if (x)
		pthread_mutex_lock(&x->lock);
	for (size_t i = 0; x && i < x->n; i++) {
		const struct learned *l = &x->items[i];
		const struct embargo_ident_rule *ir = &d->policy->ident_rules[l->ident];

		hex_encode(l->sha256, SHA256_LEN, hex);
		json_begin_object(&w);
		json_key_string(&w, "sha256", hex);
		json_key_string(&w, "rule", embargo_ident_rule_location(d->policy, ir, loc, sizeof(loc)));
		json_key_string(&w, "vendor", d->policy->vendors[ir->vendor].name);
		if (l->path)
			json_key_string(&w, "path", l->path);
		else
			json_key_null(&w, "path");
		json_key_string(&w, "learned_at", format_utc_time(l->at, when, sizeof(when)));
		json_end_object(&w);
	}
	if (x)
		pthread_mutex_unlock(&x->lock);
	json_end_array(&w);
	json_end_object(&w);
	return json_writer_finish(&w, ret, NULL);
}
