// SPDX-License-Identifier: GPL-2.0
/*
 * The matcher. Identity text (certificate names, package fields) comes from files and may be anything:
 * it is folded leniently (invalid UTF-8 kept as bytes), so it can never equal a policy value, which is
 * valid UTF-8, by accident of folding.
 */
#include "match.h"

#include "fold.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Text of a rule against text from an identity; -errno, 0 or 1. */
static int text_matches(const struct embargo_ident_rule *r, const char *s)
{
	_cleanup_free_ char *f = NULL;
	int ret;

	if (!s)
		return 0;
	ret = embargo_fold_lenient(s, &f);
	if (ret < 0)
		return ret;
	if (r->glob)
		return embargo_glob_match(r->text, f, false);
	return strcmp(r->text, f) == 0;
}

static bool path_matches(const struct embargo_ident_rule *r, const char *path)
{
	if (!path)
		return false;
	if (r->glob)
		return embargo_glob_match(r->text, path, true);
	if (r->prefix)
		return strncmp(path, r->text, strlen(r->text)) == 0;
	return strcmp(path, r->text) == 0;
}

static bool same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/*
 * The certificates a signer rule looks at: the signer's (the first of the chain) and, walking up, each
 * certificate of the chain whose subject is the issuer of the one before. Other certificates a
 * signature happens to carry name nobody in particular and are not looked at. Returns how many, their
 * indexes in out.
 */
static size_t signer_path(const struct embargo_signature *s, size_t *out, size_t max)
{
	size_t n = 0;

	if (s->n_chain == 0)
		return 0;
	out[n++] = 0;
	while (n < max) {
		const struct embargo_cert *c = &s->chain[out[n - 1]];
		size_t next = s->n_chain;

		/* A self-signed certificate ends the walk. */
		if (same(c->issuer_cn, c->subject_cn) && same(c->issuer_o, c->subject_o))
			break;
		for (size_t i = 0; i < s->n_chain && next == s->n_chain; i++) {
			const struct embargo_cert *d = &s->chain[i];
			bool seen = false;

			for (size_t k = 0; k < n; k++)
				seen = seen || out[k] == i;
			if (!seen && (c->issuer_cn || c->issuer_o) &&
			    (!c->issuer_cn || same(c->issuer_cn, d->subject_cn)) &&
			    (!c->issuer_o || same(c->issuer_o, d->subject_o)))
				next = i;
		}
		if (next == s->n_chain)
			break;
		out[n++] = next;
	}
	return n;
}

static void describe_signer(struct embargo_match *m, const struct embargo_signature *s, size_t depth,
			    const char *field, const char *value)
{
	snprintf(m->why, sizeof(m->why), "signed %s %s=%s (%s, %s)", depth ? "under issuer" : "by", field,
		 value, embargo_sig_kind_name(s->kind), embargo_sig_state_name(s->state));
	m->sig_verified = s->state == EMBARGO_SIG_VERIFIED;
}

/* A signer rule against every signature; 1 with m->why set, 0, or -errno. */
static int match_signer(const struct embargo_ident_rule *r, const struct embargo_identity *id,
			struct embargo_match *m)
{
	char hex[2 * SHA256_LEN + 1];

	for (size_t i = 0; i < id->n_sigs; i++) {
		const struct embargo_signature *s = &id->sigs[i];
		size_t idx[16], n;

		/* A malformed signature names no signer; an unverified one matches unless `verified`. */
		if (s->state == EMBARGO_SIG_MALFORMED || (r->verified && s->state != EMBARGO_SIG_VERIFIED))
			continue;
		n = signer_path(s, idx, ARRAY_SIZE(idx));
		for (size_t k = 0; k < n; k++) {
			const struct embargo_cert *c = &s->chain[idx[k]];
			int ret = 0;

			switch (r->kind) {
			case EMBARGO_IDENT_SIGNER_CERT:
				if (memcmp(c->sha256, r->sha256, SHA256_LEN) == 0) {
					hex_encode(c->sha256, SHA256_LEN, hex);
					describe_signer(m, s, k, "SHA256", hex);
					return 1;
				}
				break;
			case EMBARGO_IDENT_SIGNER_ORG:
				ret = text_matches(r, c->subject_o);
				if (ret > 0)
					describe_signer(m, s, k, "O", c->subject_o);
				break;
			case EMBARGO_IDENT_SIGNER_CN:
				ret = text_matches(r, c->subject_cn);
				if (ret > 0)
					describe_signer(m, s, k, "CN", c->subject_cn);
				break;
			}
			if (ret != 0)
				return ret;
		}
	}
	return 0;
}

static int match_package(const struct embargo_ident_rule *r, const struct embargo_identity *id,
			 struct embargo_match *m)
{
	for (size_t i = 0; i < id->n_pkgs; i++) {
		const struct embargo_package *pk = &id->pkgs[i];
		int ret;

		if (r->kind == EMBARGO_IDENT_PACKAGE) {
			ret = text_matches(r, pk->name);
			if (ret > 0)
				snprintf(m->why, sizeof(m->why), "owned by %s package %s %s",
					 pk->manager ?: "?", pk->name, pk->version ?: "");
			if (ret != 0)
				return ret;
			continue;
		}
		/* package-maintainer: the maintainer (dpkg) or packager (rpm), then the vendor or origin. */
		ret = text_matches(r, pk->maintainer);
		if (ret > 0)
			snprintf(m->why, sizeof(m->why), "owned by %s package %s maintained by %s",
				 pk->manager ?: "?", pk->name ?: "?", pk->maintainer);
		if (ret == 0) {
			ret = text_matches(r, pk->vendor);
			if (ret > 0)
				snprintf(m->why, sizeof(m->why), "owned by %s package %s from vendor %s",
					 pk->manager ?: "?", pk->name ?: "?", pk->vendor);
		}
		if (ret != 0)
			return ret;
	}
	return 0;
}

static int match_ident(const struct embargo_ident_rule *r, const struct embargo_identity *id,
		       struct embargo_match *m)
{
	switch (r->kind) {
	case EMBARGO_IDENT_SIGNER_CERT:
	case EMBARGO_IDENT_SIGNER_ORG:
	case EMBARGO_IDENT_SIGNER_CN:
		return match_signer(r, id, m);
	case EMBARGO_IDENT_PACKAGE:
	case EMBARGO_IDENT_PACKAGE_MAINTAINER:
		return match_package(r, id, m);
	case EMBARGO_IDENT_PATH:
		if (!path_matches(r, id->path))
			return 0;
		snprintf(m->why, sizeof(m->why), "path %s matches %s", id->path, r->written);
		return 1;
	}
	return 0;
}

int embargo_ident_rule_match(const struct embargo_ident_rule *r, const struct embargo_identity *id,
			     struct embargo_match *m)
{
	if (!r || !id || !m)
		return -EINVAL;
	return match_ident(r, id, m);
}

int embargo_policy_match(const struct embargo_policy *p, const struct embargo_identity *id,
			 struct embargo_match *m)
{
	return embargo_policy_match_ex(p, id, 0, m);
}

int embargo_policy_match_ex(const struct embargo_policy *p, const struct embargo_identity *id, unsigned skip,
			    struct embargo_match *m)
{
	/* Strongest evidence first: the content itself, then who signed it, who packaged it, where it is.
	 * signer-org and signer-cn are one step: the first of them in the policy wins. */
	static const uint8_t order[][2] = {
		{ EMBARGO_IDENT_SIGNER_CERT, EMBARGO_IDENT_SIGNER_CERT },
		{ EMBARGO_IDENT_SIGNER_ORG, EMBARGO_IDENT_SIGNER_CN },
		{ EMBARGO_IDENT_PACKAGE, EMBARGO_IDENT_PACKAGE },
		{ EMBARGO_IDENT_PACKAGE_MAINTAINER, EMBARGO_IDENT_PACKAGE_MAINTAINER },
		{ EMBARGO_IDENT_PATH, EMBARGO_IDENT_PATH },
	};
	const struct embargo_rule *rule;
	char hex[2 * SHA256_LEN + 1];

	if (!p || !id || !m)
		return -EINVAL;
	*m = (struct embargo_match){ 0 };
	rule = embargo_policy_lookup(p, id->sha256);
	if (rule) {
		m->kind = EMBARGO_MATCH_DIGEST;
		m->component = rule->component;
		m->vendor = rule->vendor;
		m->rule = rule;
		embargo_rule_location(p, rule, m->location, sizeof(m->location));
		hex_encode(id->sha256, SHA256_LEN, hex);
		snprintf(m->why, sizeof(m->why), "%s sha256 %s%s%s", rule->component ? "component" : "file",
			 hex, rule->label ? " " : "", rule->label ?: "");
		return 1;
	}
	for (size_t o = 0; o < ARRAY_SIZE(order); o++) {
		bool signer_stage =
			order[o][0] == EMBARGO_IDENT_SIGNER_CERT || order[o][0] == EMBARGO_IDENT_SIGNER_ORG;

		if (signer_stage && (skip & EMBARGO_MATCH_SKIP_SIGNERS))
			continue;
		for (size_t i = 0; i < p->n_ident_rules; i++) {
			const struct embargo_ident_rule *r = &p->ident_rules[i];
			int ret;

			if (r->kind != order[o][0] && r->kind != order[o][1])
				continue;
			ret = match_ident(r, id, m);
			if (ret < 0) {
				*m = (struct embargo_match){ 0 };
				return ret;
			}
			if (ret > 0) {
				m->kind = r->kind;
				m->vendor = r->vendor;
				m->ident = r;
				embargo_ident_rule_location(p, r, m->location, sizeof(m->location));
				return 1;
			}
		}
	}
	return 0;
}
