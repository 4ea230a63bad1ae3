/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The policy: vendors and the rules that identify their code. Parsed whole or not at all: a policy that
 * fails to load leaves nothing behind, so the caller keeps running on the one it had.
 * The language is documented in docs/policy.md and embargo.policy(5).
 */
#ifndef EMBARGO_POLICY_H
#define EMBARGO_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "embargo.h"

#define EMBARGO_POLICY_MAX_VENDORS 65535

struct embargo_vendor {
	char *name;
	char *reason;	 /* NULL when not given */
	char **entities; /* legal entities noted with `entity "..."`, NULL-terminated */
	size_t n_entities;
	uint8_t mode; /* enum embargo_mode; EMBARGO_MODE_INHERIT when the line gives none */
	/* `strict yes|no`: EMBARGO_STRICT_DEFAULT when not given (see embargo_vendor_strict()) */
	uint8_t strict;
	uint32_t strict_line; /* where `strict` was given, 0 when not */
	uint32_t source;      /* index into embargo_policy.sources */
	uint32_t line;
	size_t n_rules; /* digests attributed to this vendor */
};

enum embargo_strict {
	EMBARGO_STRICT_DEFAULT = 0, /* on when the vendor has identity rules */
	EMBARGO_STRICT_NO = 1,
	EMBARGO_STRICT_YES = 2,
};

/* One digest rule. A rule's id (what the kernel reports) is its index in embargo_policy.rules. */
struct embargo_rule {
	uint8_t sha256[32];
	uint32_t vendor; /* index into embargo_policy.vendors */
	uint32_t source; /* file the digest is written in (the policy file or the list file) */
	uint32_t line;	 /* line in that file */
	/* Bit fields keep a rule at 56 bytes (a million-digest list): a column is at most 65,537. */
	uint32_t column : 24;
	/* Written `component sha256 ...` (by any listing of the digest, duplicates included): a library or
	 * engine whose load identifies the loading program as the vendor's. The kernel denies it like any
	 * digest; the daemon also reports the process that loaded it. */
	uint32_t component : 1;
	const char *label; /* from `label "..."` or the file name column of a sha256sum-style list; or NULL */
};

/* Rules that identify a file by what it is rather than by its digest (matched by match.h). */
enum embargo_ident_kind {
	EMBARGO_IDENT_SIGNER_CERT = 1,	  /* sha256 of a certificate's DER */
	EMBARGO_IDENT_SIGNER_ORG,	  /* O= of a certificate */
	EMBARGO_IDENT_SIGNER_CN,	  /* CN= of a certificate */
	EMBARGO_IDENT_PACKAGE,		  /* name of an owning package */
	EMBARGO_IDENT_PACKAGE_MAINTAINER, /* Maintainer/Packager or Vendor/Origin of an owning package */
	EMBARGO_IDENT_PATH,		  /* the file's path */
};

struct embargo_ident_rule {
	uint8_t kind;  /* enum embargo_ident_kind */
	bool verified; /* `verified` given: only a signature in state VERIFIED matches */
	bool glob;     /* text has '*' or '?' (package-maintainer: always) */
	bool prefix;   /* path ending in '/': that directory and everything below it */
	uint32_t vendor;
	uint32_t source;
	uint32_t line;
	uint32_t column;
	/* Names: case-folded (see fold.h); paths: as written (paths are case-sensitive); NULL for
	 * signer-cert. */
	const char *text;
	const char *written; /* the value as written in the policy, for messages */
	uint8_t sha256[32];  /* signer-cert */
};

/* `trust-anchor PATH`: a certificate (PEM or DER) a signature's chain must reach to be VERIFIED. */
struct embargo_trust_anchor {
	const char *path; /* resolved against the policy file's directory */
	uint32_t vendor;
	uint32_t source;
	uint32_t line;
};

struct embargo_policy {
	char *path; /* what was loaded: a file or a directory */
	struct embargo_vendor *vendors;
	size_t n_vendors;
	struct embargo_rule *rules; /* sorted by sha256, unique */
	size_t n_rules;
	char **sources; /* every file read, in the order read */
	size_t n_sources;
	/* The same digest listed again: the first listing wins (kept in n_duplicates, see `policy check`). */
	size_t n_duplicates;
	struct embargo_ident_rule *ident_rules; /* in read order */
	size_t n_ident_rules;
	struct embargo_trust_anchor *trust_anchors; /* in read order */
	size_t n_trust_anchors;
	void *arena; /* owns the strings; private */
};

struct embargo_policy_error {
	char file[4096];
	uint32_t line;	   /* 1-based; 0 when the error is not about a place in a file */
	uint32_t column;   /* 1-based */
	char message[512]; /* what was found and what was expected, without the file:line:column prefix */
};

/*
 * Load a policy file, or a directory of *.policy files read in lexical (byte) order.
 * Returns 0 and *ret, or -errno with *err filled (file:line:column and what was expected); on error
 * *ret is untouched and nothing is kept.
 */
int embargo_policy_load(const char *path, struct embargo_policy **ret, struct embargo_policy_error *err);
/*
 * The same for a copy of a policy kept under the directory root (embargod's last good policy): path is
 * the policy's absolute path as it was, and every absolute path in it (the policy, its lists, trust
 * anchors) is read under root instead.
 */
int embargo_policy_load_rooted(const char *root, const char *path, struct embargo_policy **ret,
			       struct embargo_policy_error *err);

void embargo_policy_free(struct embargo_policy *p);

/* The rule for a digest, or NULL. O(log n). */
const struct embargo_rule *embargo_policy_lookup(const struct embargo_policy *p, const uint8_t sha256[32]);

/* "file:line" of a rule into buf; returns buf. */
const char *embargo_rule_location(const struct embargo_policy *p, const struct embargo_rule *r, char *buf,
				  size_t size);

/* "file:line" of an identity rule into buf; returns buf. */
/*
 * The identity rule of p that is rule r of policy rp (the same kind, value as written, `verified` and
 * vendor name), wherever it now is: how a reload carries what a rule taught over to the new policy. NULL
 * when p has no such rule.
 */
const struct embargo_ident_rule *embargo_policy_same_ident_rule(const struct embargo_policy *p,
								const struct embargo_policy *rp,
								const struct embargo_ident_rule *r);
const char *embargo_ident_rule_location(const struct embargo_policy *p, const struct embargo_ident_rule *r,
					char *buf, size_t size);
/* The keyword of a kind: "signer-org", ... */
const char *embargo_ident_kind_name(uint8_t kind);

/* "file:line:column: message" into buf; returns buf. */
const char *embargo_policy_error_format(const struct embargo_policy_error *err, char *buf, size_t size);

static inline void embargo_policy_freep(struct embargo_policy **p)
{
	embargo_policy_free(*p);
}

/*
 * Whether vendor v (an index into p->vendors) is strict: a never-seen file only its identity rules name is
 * held until it is classified instead of running once (embargo.policy(5)). `strict` as written, or on when
 * the vendor has identity rules.
 */
bool embargo_vendor_strict(const struct embargo_policy *p, size_t v);
/* Some strict vendor has identity rules: the only vendors whose files an in-kernel hash cannot judge. */
bool embargo_policy_strict_identity(const struct embargo_policy *p);

/* "audit"/"enforce"/"inherit" and back; -EINVAL on anything else. */
const char *embargo_mode_name(uint8_t mode);
int embargo_mode_from_string(const char *s, uint8_t *mode);

#endif
