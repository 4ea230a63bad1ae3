// SPDX-License-Identifier: GPL-2.0
/*
 * The decision core (verdict.h). The matcher (match.c) is the only place that knows which rule wins;
 * this module decides what the matcher gets to look at. The shortcuts taken for speed never change
 * the verdict, only skip what cannot change it:
 *  - signatures are read only when a signer rule exists and the file can carry one
 *    (embargo_identify_may_have_signatures(): the very test the parsers start from);
 *  - a package's name, maintainer and vendor are checked against the package rules once per package
 *    when the decider is built; a file whose packages all match none needs no lookup of its own.
 */
#include "verdict.h"

#include "pkg.h"
#include "sha256.h"
#include "util.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

struct embargo_decider {
	const struct embargo_policy *policy;
	bool sig_rules, pkg_rules, path_rules;
	struct embargo_identify_opts id_opts;
	const char **anchors;
	struct embargo_pkg_opts pkg_opts;
	struct embargo_pkg_db *db;
	/* Bit i: package i of db matches some package rule (only such packages can make a file match). */
	uint8_t *pkg_relevant;
	uint8_t signer_key[SHA256_LEN];
};

static bool is_signer_kind(uint8_t kind)
{
	return kind == EMBARGO_IDENT_SIGNER_CERT || kind == EMBARGO_IDENT_SIGNER_ORG ||
	       kind == EMBARGO_IDENT_SIGNER_CN;
}

static bool is_package_kind(uint8_t kind)
{
	return kind == EMBARGO_IDENT_PACKAGE || kind == EMBARGO_IDENT_PACKAGE_MAINTAINER;
}

/* A growing byte buffer for the signer key; its first failure is sticky. */
struct keybuf {
	uint8_t *b;
	size_t len, cap;
	int error;
};

static void key_add(struct keybuf *k, const void *data, size_t len)
{
	if (k->error)
		return;
	if (k->len + len + 8 > k->cap) {
		size_t cap = (k->len + len + 8) * 2;
		uint8_t *n = realloc(k->b, cap);

		if (!n) {
			k->error = -ENOMEM;
			return;
		}
		k->b = n;
		k->cap = cap;
	}
	/* Length-prefixed: no two different lists of fields give the same bytes. */
	memcpy(k->b + k->len, &(uint64_t){ len }, 8);
	memcpy(k->b + k->len + 8, data, len);
	k->len += len + 8;
}

static void key_add_str(struct keybuf *k, const char *s)
{
	key_add(k, s ? s : "", s ? strlen(s) + 1 : 0);
}

/* A certificate file's digest, or its error: a changed or vanished anchor changes the key. */
static void key_add_file(struct keybuf *k, const char *path)
{
	uint8_t sha[SHA256_LEN];
	int r = embargo_sha256_path(path, sha, NULL);

	key_add_str(k, path);
	if (r < 0)
		key_add(k, &r, sizeof(r));
	else
		key_add(k, sha, sizeof(sha));
}

static int make_signer_key(struct embargo_decider *d, const struct embargo_decider_opts *o)
{
	const struct embargo_policy *p = d->policy;
	struct keybuf k = {};
	int r;

	for (size_t i = 0; i < p->n_ident_rules; i++) {
		const struct embargo_ident_rule *ir = &p->ident_rules[i];
		uint8_t flags[3] = { ir->kind, ir->verified, ir->glob };

		if (!is_signer_kind(ir->kind))
			continue;
		key_add(&k, flags, sizeof(flags));
		key_add_str(&k, ir->text);
		key_add(&k, ir->sha256, sizeof(ir->sha256));
	}
	for (size_t i = 0; i < p->n_trust_anchors; i++)
		key_add_file(&k, p->trust_anchors[i].path);
	for (size_t i = 0; o && i < o->n_ima_keyring; i++)
		key_add_file(&k, o->ima_keyring[i]);
	r = k.error ?: embargo_sha256_buf(k.b ? k.b : (const uint8_t *)"", k.len, d->signer_key);
	free(k.b);
	return r;
}

/* Marks the packages of the database that some package rule matches: the matcher decides, per package. */
static int index_packages(struct embargo_decider *d)
{
	size_t n = embargo_pkg_db_n_packages(d->db);

	d->pkg_relevant = calloc(n / 8 + 1, 1);
	if (!d->pkg_relevant)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct embargo_package pkg;
		struct embargo_identity one = { .pkgs = &pkg, .n_pkgs = 1 };
		struct embargo_match m;
		int r;

		if (embargo_pkg_db_package(d->db, i, &pkg) < 0)
			continue;
		for (size_t k = 0; k < d->policy->n_ident_rules; k++) {
			const struct embargo_ident_rule *ir = &d->policy->ident_rules[k];

			if (!is_package_kind(ir->kind))
				continue;
			r = embargo_ident_rule_match(ir, &one, &m);
			if (r < 0)
				return r;
			if (r > 0) {
				d->pkg_relevant[i / 8] |= (uint8_t)(1u << (i % 8));
				break;
			}
		}
	}
	return 0;
}

int embargo_decider_new(const struct embargo_policy *p, const struct embargo_decider_opts *o,
			struct embargo_decider **ret)
{
	_cleanup_(embargo_decider_freep) struct embargo_decider *d = NULL;
	int r;

	if (!p || !ret)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->policy = p;
	for (size_t i = 0; i < p->n_ident_rules; i++) {
		uint8_t kind = p->ident_rules[i].kind;

		d->sig_rules = d->sig_rules || is_signer_kind(kind);
		d->pkg_rules = d->pkg_rules || is_package_kind(kind);
		d->path_rules = d->path_rules || kind == EMBARGO_IDENT_PATH;
	}
	d->anchors = calloc(p->n_trust_anchors + 1, sizeof(*d->anchors));
	if (!d->anchors)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_trust_anchors; i++)
		d->anchors[i] = p->trust_anchors[i].path;
	d->id_opts = (struct embargo_identify_opts){
		.trust_anchors = d->anchors,
		.n_trust_anchors = p->n_trust_anchors,
		.ima_keyring = o ? o->ima_keyring : NULL,
		.n_ima_keyring = o ? o->n_ima_keyring : 0,
		.timeout_ms = o ? o->identify_timeout_ms : 0,
	};
	r = make_signer_key(d, o);
	if (r < 0)
		return r;

	d->pkg_opts = (struct embargo_pkg_opts){
		.dpkg_admindir = o ? o->dpkg_admindir : NULL,
		.rpm = o ? o->rpm : NULL,
		.no_dpkg = o && o->no_dpkg,
		/* Asked once here rather than searched for on every file. */
		.no_rpm = (o && o->no_rpm) || !embargo_pkg_rpm_present(o ? o->rpm : NULL),
	};
	if (!d->pkg_opts.no_dpkg && (d->pkg_rules || (o && o->all_facts))) {
		r = embargo_pkg_db_open(d->pkg_opts.dpkg_admindir, &d->db);
		if (r == -ENOENT && !d->pkg_opts.dpkg_admindir)
			d->pkg_opts.no_dpkg = true;
		else if (r < 0)
			return r;
		d->pkg_opts.db = d->db;
	}
	if (d->db) {
		r = index_packages(d);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(d);
	return 0;
}

void embargo_decider_free(struct embargo_decider *d)
{
	if (!d)
		return;
	embargo_pkg_db_free(d->db);
	free(d->pkg_relevant);
	free(d->anchors);
	free(d);
}

bool embargo_decider_has_identity_rules(const struct embargo_decider *d)
{
	return d->sig_rules || d->pkg_rules || d->path_rules;
}

bool embargo_decider_reads_signatures(const struct embargo_decider *d)
{
	return d->sig_rules;
}

const uint8_t *embargo_decider_signer_key(const struct embargo_decider *d)
{
	return d->signer_key;
}

/*
 * Reads the signatures into id. A worker that timed out, crashed or answered garbage leaves an entry of no
 * kind (identify.h): the file was not read, whatever it holds, and the verdict must say it is incomplete.
 */
static int read_signatures(const struct embargo_decider *d, int fd, struct embargo_identity *id)
{
	size_t before = id->n_sigs;
	int r = embargo_identify_fd(fd, &d->id_opts, id);

	if (r < 0)
		return r;
	for (size_t i = before; i < id->n_sigs; i++)
		if (id->sigs[i].kind == 0 && id->sigs[i].state == EMBARGO_SIG_MALFORMED)
			return -EIO;
	return 0;
}

/* Whether a package rule could match path's packages: dpkg's through the index, rpm's always. */
static bool packages_may_match(const struct embargo_decider *d, const char *path)
{
	uint32_t idx[16];
	size_t n;

	if (!d->pkg_opts.no_rpm)
		return true;
	if (!d->db)
		return false;
	n = embargo_pkg_db_find(d->db, path, idx, ARRAY_SIZE(idx));
	if (n > ARRAY_SIZE(idx))
		return true;
	for (size_t i = 0; i < n; i++)
		if (d->pkg_relevant[idx[i] / 8] & (1u << (idx[i] % 8)))
			return true;
	return false;
}

int embargo_decide(const struct embargo_decider *d, const struct embargo_subject *s, unsigned flags,
		   struct embargo_identity *id, struct embargo_decision *out)
{
	_cleanup_(embargo_identity_free) struct embargo_identity own = {};
	bool all = flags & EMBARGO_DECIDE_ALL, signer_stage_passed;
	int r;

	if (!d || !s || !out)
		return -EINVAL;
	if (!id)
		id = &own;
	*out = (struct embargo_decision){};
	memcpy(id->sha256, s->sha256, SHA256_LEN);
	id->size = s->size;
	if (s->path && !id->path) {
		id->path = strdup(s->path);
		if (!id->path)
			return -ENOMEM;
	}

	/*
	 * Signatures: what the signer rules look at. Whether the content can carry one at all is noted even
	 * without signer rules (three system calls): a cache that keeps it spares re-reading every file when
	 * signer rules are added later.
	 */
	if (all && s->fd >= 0) {
		/* The worker also gives the format and build id that inspect shows. */
		r = read_signatures(d, s->fd, id);
		if (r == -ENOMEM)
			return r;
		out->sig_error = r < 0 ? r : 0;
	} else if (s->unsigned_known) {
		out->unsigned_content = true;
	} else if (s->fd >= 0 && !s->sigs_clean) {
		r = embargo_identify_may_have_signatures(s->fd);
		if (r == 0)
			out->unsigned_content = true;
		else if (r > 0 && d->sig_rules)
			r = read_signatures(d, s->fd, id);
		if (r == -ENOMEM)
			return r;
		out->sig_error = r < 0 && d->sig_rules ? r : 0;
	} else if ((all || d->sig_rules) && !s->sigs_clean) {
		out->sig_error = -EBADF;
	}

	/* Packages, for the package rules. */
	if (s->path && (all || (d->pkg_rules && packages_may_match(d, s->path)))) {
		r = embargo_pkg_lookup(s->path, &d->pkg_opts, &id->pkgs, &id->n_pkgs);
		if (r == -ENOMEM)
			return r;
		out->pkg_error = r < 0 ? r : 0;
	}

	r = embargo_policy_match_ex(d->policy, id, s->sigs_clean && !all ? EMBARGO_MATCH_SKIP_SIGNERS : 0,
				    &out->m);
	if (r < 0)
		return r;
	out->match = r > 0;
	/*
	 * Whether no signer rule can match this content, for a cache: a digest match ends the matcher
	 * before the signer rules are looked at, so it proves nothing about them (the digest rule may go).
	 */
	signer_stage_passed =
		!out->match || (out->m.kind != EMBARGO_MATCH_DIGEST && !is_signer_kind(out->m.kind));
	out->sigs_clean = !out->sig_error &&
			  (out->unsigned_content || !d->sig_rules || s->sigs_clean || signer_stage_passed);
	return 0;
}

/* ---- rule ids ---- */

void embargo_match_rule_ref(const struct embargo_policy *p, const struct embargo_match *m,
			    struct embargo_rule_ref *ref)
{
	*ref = (struct embargo_rule_ref){
		.rule_id = m->ident ? EMBARGO_RULE_IDENT | (uint32_t)(m->ident - p->ident_rules)
				    : (uint32_t)(m->rule - p->rules),
		.vendor_id = (uint16_t)m->vendor,
		.vendor_mode = p->vendors[m->vendor].mode,
	};
}

const struct embargo_ident_rule *embargo_rule_id_ident(const struct embargo_policy *p, uint32_t rule_id)
{
	uint32_t i = rule_id & ~EMBARGO_RULE_IDENT;

	if (!p || rule_id == EMBARGO_RULE_NONE || !(rule_id & EMBARGO_RULE_IDENT) || i >= p->n_ident_rules)
		return NULL;
	return &p->ident_rules[i];
}

const struct embargo_rule *embargo_rule_id_digest(const struct embargo_policy *p, uint32_t rule_id)
{
	if (!p || (rule_id & EMBARGO_RULE_IDENT) || rule_id >= p->n_rules)
		return NULL;
	return &p->rules[rule_id];
}

int embargo_rule_id_vendor(const struct embargo_policy *p, uint32_t rule_id, uint32_t *vendor)
{
	const struct embargo_ident_rule *ir = embargo_rule_id_ident(p, rule_id);
	const struct embargo_rule *r = embargo_rule_id_digest(p, rule_id);

	if (ir)
		*vendor = ir->vendor;
	else if (r)
		*vendor = r->vendor;
	else
		return -ENOENT;
	return 0;
}

const char *embargo_rule_id_location(const struct embargo_policy *p, uint32_t rule_id, char *buf, size_t size)
{
	const struct embargo_ident_rule *ir = embargo_rule_id_ident(p, rule_id);
	const struct embargo_rule *r = embargo_rule_id_digest(p, rule_id);

	if (ir)
		return embargo_ident_rule_location(p, ir, buf, size);
	if (r)
		return embargo_rule_location(p, r, buf, size);
	snprintf(buf, size, "?");
	return buf;
}

const char *embargo_match_kind_name(const struct embargo_match *m)
{
	if (m->kind == EMBARGO_MATCH_DIGEST)
		return m->component ? "component" : "sha256";
	return embargo_ident_kind_name(m->kind);
}
