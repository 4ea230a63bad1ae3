// SPDX-License-Identifier: GPL-2.0
/* The matcher: each kind of rule matches what it should and nothing that merely looks like it. */
#include "test.h"

#include "match.h"
#include "policy.h"
#include "util.h"

#include <stdlib.h>

#define HF "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HC "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static struct embargo_policy *load(const char *text)
{
	char path[4096], msg[8192];
	struct embargo_policy *p = NULL;
	struct embargo_policy_error err;
	FILE *f;

	snprintf(path, sizeof(path), "%s/m.policy", test_tmpdir());
	f = fopen(path, "we");
	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	if (embargo_policy_load(path, &p, &err) < 0)
		test_fail(__FILE__, __LINE__, "load: %s",
			  embargo_policy_error_format(&err, msg, sizeof(msg)));
	return p;
}

static char *sdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* An identity with one signature whose chain is leaf (o, cn) issued by a CA (ca_o), and one package. */
static void ident(struct embargo_identity *id, const char *path, uint8_t state, const char *o, const char *cn,
		  const char *ca_o, const char *pkg, const char *maint)
{
	*id = (struct embargo_identity){ .path = sdup(path) };
	if (state) {
		struct embargo_signature *s = calloc(1, sizeof(*s));

		s->kind = EMBARGO_SIG_AUTHENTICODE;
		s->state = state;
		if (state != EMBARGO_SIG_MALFORMED) {
			s->chain = calloc(3, sizeof(*s->chain));
			s->n_chain = 3;
			s->chain[0] = (struct embargo_cert){ .subject_o = sdup(o),
							     .subject_cn = sdup(cn),
							     .issuer_o = sdup(ca_o),
							     .issuer_cn = sdup("Root") };
			hex_decode(HC, 64, s->chain[0].sha256, 32);
			/* An unrelated certificate carried along: never looked at. */
			s->chain[1] = (struct embargo_cert){ .subject_o = sdup("Unrelated Kaspersky Lab"),
							     .subject_cn = sdup("X"),
							     .issuer_o = sdup("Y") };
			s->chain[2] = (struct embargo_cert){ .subject_o = sdup(ca_o),
							     .subject_cn = sdup("Root"),
							     .issuer_o = sdup(ca_o),
							     .issuer_cn = sdup("Root") };
		}
		id->sigs = s;
		id->n_sigs = 1;
	}
	if (pkg) {
		id->pkgs = calloc(1, sizeof(*id->pkgs));
		id->pkgs[0] = (struct embargo_package){ .manager = sdup("dpkg"),
							.name = sdup(pkg),
							.version = sdup("12.0"),
							.maintainer = sdup(maint) };
		id->n_pkgs = 1;
	}
}

/* Matches id against p: the kind matched (-1 for none), with why and location in m. */
static int kind_of(const struct embargo_policy *p, struct embargo_identity *id, struct embargo_match *m)
{
	int r = embargo_policy_match(p, id, m);

	embargo_identity_free(id);
	if (r < 0)
		test_fail(__FILE__, __LINE__, "match: %d", r);
	return r > 0 ? m->kind : -1;
}

#define U EMBARGO_SIG_UNVERIFIED
#define V EMBARGO_SIG_VERIFIED
#define M EMBARGO_SIG_MALFORMED

TEST(match_signer_org)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p =
		load("vendor K\nsigner-org \"AO Kaspersky Lab\"\nsigner-org \"Kaspersky Lab, Inc.\"\n");
	struct embargo_identity id;
	struct embargo_match m;
	char loc[4200];

	REQUIRE(p);
	ident(&id, "/x", U, "AO Kaspersky Lab", "Kaspersky", "DigiCert Inc", NULL, NULL);
	CHECK_EQ_INT(kind_of(p, &id, &m), EMBARGO_IDENT_SIGNER_ORG);
	CHECK_EQ_STR(m.why, "signed by O=AO Kaspersky Lab (authenticode, unverified)");
	/* It matches, but says it is unverified: such a match teaches no digest (embargod identity.c). */
	CHECK(!m.sig_verified);
	snprintf(loc, sizeof(loc), "%s/m.policy:2", test_tmpdir());
	CHECK_EQ_STR(m.location, loc);
	CHECK_EQ_INT(m.vendor, 0);
	/* Case differs: matches. */
	ident(&id, "/x", V, "ao KASPERSKY lab", NULL, "DigiCert Inc", NULL, NULL);
	CHECK_EQ_INT(kind_of(p, &id, &m), EMBARGO_IDENT_SIGNER_ORG);
	CHECK_EQ_STR(m.why, "signed by O=ao KASPERSKY lab (authenticode, verified)");
	CHECK(m.sig_verified);
	/* Look-alikes, other organisations, no signature, a malformed one: no. */
	ident(&id, "/x", U, "AO Kaspersky Labs", NULL, "DigiCert Inc", NULL, NULL);
	CHECK_EQ_INT(kind_of(p, &id, &m), -1);
	ident(&id, "/x", U, "AO Kaspersky Lab ", NULL, "DigiCert Inc", NULL, NULL);
	CHECK_EQ_INT(kind_of(p, &id, &m), -1);
	ident(&id, "/x", U, "Kaspersky Lab, Inc", NULL, "DigiCert Inc", NULL, NULL);
	CHECK_EQ_INT(kind_of(p, &id, &m), -1);
	ident(&id, "/x", U, "Microsoft Corporation", "Kaspersky Lab", "DigiCert Inc", NULL, NULL);
	CHECK_EQ_INT(kind_of(p, &id, &m), -1);
	ident(&id, "/x", 0, NULL, NULL, NULL, NULL, NULL);
	CHECK_EQ_INT(kind_of(p, &id, &m), -1);
	ident(&id, "/x", M, NULL, NULL, NULL, NULL, NULL);
	CHECK_EQ_INT(kind_of(p, &id, &m), -1);
	/* An unrelated certificate in the bag is not the signer's. */
	ident(&id, "/x", U, "Someone", NULL, "DigiCert Inc", NULL, NULL);
	CHECK_EQ_INT(kind_of(p, &id, &m), -1);
	/* Non-UTF-8 text from a file never errors and never matches. */
	ident(&id, "/x", U, "AO Kaspersky Lab\xff", NULL, "DigiCert Inc", NULL, NULL);
	CHECK_EQ_INT(kind_of(p, &id, &m), -1);
}

TEST(match_signer_issuer_cn_unicode_glob)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p =
		load("vendor K\nsigner-org \"Kaspersky Lab ZAO\"\nsigner-cn \"ÉDITEUR*\"\n");
	struct embargo_identity id;
	struct embargo_match m;

	REQUIRE(p);
	/* The issuer of the signer (walked up the chain) counts. */
	ident(&id, "/x", U, "Reseller GmbH", "R", "KASPERSKY LAB ZAO", NULL, NULL);
	CHECK_EQ_INT(kind_of(p, &id, &m), EMBARGO_IDENT_SIGNER_ORG);
	CHECK_EQ_STR(m.why, "signed under issuer O=KASPERSKY LAB ZAO (authenticode, unverified)");
	/* Non-ASCII case folding, and a glob. */
	ident(&id, "/x", U, "Other", "éditeur de logiciels", "CA", NULL, NULL);
	CHECK_EQ_INT(kind_of(p, &id, &m), EMBARGO_IDENT_SIGNER_CN);
	ident(&id, "/x", U, "Other", "editeur", "CA", NULL, NULL);
	CHECK_EQ_INT(kind_of(p, &id, &m), -1);
	/* No normalization: a decomposed É (E + U+0301) is another text. */
	ident(&id, "/x", U, "Other",
	      "E\xcc\x81"
	      "DITEUR",
	      "CA", NULL, NULL);
	CHECK_EQ_INT(kind_of(p, &id, &m), -1);
}

TEST(match_signer_cert_and_verified)
{
	char text[4096];
	struct embargo_identity id;
	struct embargo_match m;
	struct embargo_policy *p;
	FILE *f;

	snprintf(text, sizeof(text), "%s/root.pem", test_tmpdir());
	f = fopen(text, "we");
	REQUIRE(f);
	fclose(f);
	p = load("vendor K\ntrust-anchor root.pem\nsigner-org \"AO Kaspersky Lab\" verified\nsigner-cert " HC
		 "\n");
	REQUIRE(p);
	/* signer-cert comes before signer-org whatever the order in the policy. */
	ident(&id, "/x", V, "AO Kaspersky Lab", NULL, "CA", NULL, NULL);
	CHECK_EQ_INT(kind_of(p, &id, &m), EMBARGO_IDENT_SIGNER_CERT);
	CHECK_EQ_STR(m.why, "signed by SHA256=" HC " (authenticode, verified)");
	/* `verified`: an unverified signature by the same name does not do. */
	embargo_policy_free(p);
	p = load("vendor K\ntrust-anchor root.pem\nsigner-org \"AO Kaspersky Lab\" verified\n");
	REQUIRE(p);
	ident(&id, "/x", U, "AO Kaspersky Lab", NULL, "CA", NULL, NULL);
	CHECK_EQ_INT(kind_of(p, &id, &m), -1);
	ident(&id, "/x", V, "AO Kaspersky Lab", NULL, "CA", NULL, NULL);
	CHECK_EQ_INT(kind_of(p, &id, &m), EMBARGO_IDENT_SIGNER_ORG);
	embargo_policy_free(p);
}

TEST(match_digest_first_and_component)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p =
		load("vendor A\npath /opt/\nvendor B\ncomponent sha256 " HF " label libkav.so\n");
	struct embargo_identity id;
	struct embargo_match m;

	REQUIRE(p);
	ident(&id, "/opt/libkav.so", 0, NULL, NULL, NULL, NULL, NULL);
	hex_decode(HF, 64, id.sha256, 32);
	CHECK_EQ_INT(kind_of(p, &id, &m), EMBARGO_MATCH_DIGEST);
	CHECK(m.component);
	CHECK_EQ_INT(m.vendor, 1);
	CHECK(m.rule && !m.ident);
	CHECK_EQ_STR(m.why, "component sha256 " HF " libkav.so");
	ident(&id, "/opt/other", 0, NULL, NULL, NULL, NULL, NULL);
	CHECK_EQ_INT(kind_of(p, &id, &m), EMBARGO_IDENT_PATH);
	CHECK_EQ_INT(m.vendor, 0);
	CHECK(!m.component && !m.rule && m.ident);
}

TEST(match_packages)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p =
		load("vendor K\npackage-maintainer \"*Kaspersky*\"\npackage kesl\npackage \"klnagent*\"\n");
	struct embargo_identity id;
	struct embargo_match m;

	REQUIRE(p);
	/* package before package-maintainer, whatever the policy's order. */
	ident(&id, "/x", 0, NULL, NULL, NULL, "KESL", "Kaspersky Lab <support@kaspersky.com>");
	CHECK_EQ_INT(kind_of(p, &id, &m), EMBARGO_IDENT_PACKAGE);
	CHECK_EQ_STR(m.why, "owned by dpkg package KESL 12.0");
	ident(&id, "/x", 0, NULL, NULL, NULL, "klnagent64", NULL);
	CHECK_EQ_INT(kind_of(p, &id, &m), EMBARGO_IDENT_PACKAGE);
	ident(&id, "/x", 0, NULL, NULL, NULL, "kesl-gui", "Debian <x@debian.org>");
	CHECK_EQ_INT(kind_of(p, &id, &m), -1);
	ident(&id, "/x", 0, NULL, NULL, NULL, "av", "AO KASPERSKY LAB <x@y>");
	CHECK_EQ_INT(kind_of(p, &id, &m), EMBARGO_IDENT_PACKAGE_MAINTAINER);
	CHECK_EQ_STR(m.why, "owned by dpkg package av maintained by AO KASPERSKY LAB <x@y>");
	ident(&id, "/x", 0, NULL, NULL, NULL, "av", "Kaspersk Lab");
	CHECK_EQ_INT(kind_of(p, &id, &m), -1);
	/* The rpm Vendor (dpkg Origin) counts too. */
	ident(&id, "/x", 0, NULL, NULL, NULL, "av", "Build <b@example.org>");
	id.pkgs[0].vendor = strdup("Kaspersky Lab");
	CHECK_EQ_INT(kind_of(p, &id, &m), EMBARGO_IDENT_PACKAGE_MAINTAINER);
	CHECK_EQ_STR(m.why, "owned by dpkg package av from vendor Kaspersky Lab");
}

TEST(match_paths)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p =
		load("vendor K\npath /opt/kaspersky/\npath /usr/bin/kesl-control\npath \"/srv/*/kav?.so\"\n"
		     "path \"/var/opt/**/bin/*\"\n");
	struct embargo_identity id;
	struct embargo_match m;
	static const struct {
		const char *path;
		bool match;
	} cases[] = {
		{ "/opt/kaspersky/kesl/bin/kesl", true },
		{ "/opt/kaspersky/x", true },
		{ "/opt/kaspersky", false }, /* the prefix is the directory's contents */
		{ "/opt/kasperskyx/a", false },
		{ "/opt/Kaspersky/a", false }, /* paths are case-sensitive */
		{ "/usr/bin/kesl-control", true },
		{ "/usr/bin/kesl-control2", false }, /* exact, not a prefix */
		{ "/usr/bin/kesl", false },
		{ "/srv/a/kav1.so", true },
		{ "/srv/a/b/kav1.so", false }, /* '*' stays in its component */
		{ "/srv/a/kav12.so", false },
		{ "/srv/a/kavé.so", true },  /* '?' is one character, not one byte */
		{ "/var/opt/bin/x", false }, /* '**' between two '/' needs at least the '/' */
		{ "/var/opt/k/bin/x", true },
		{ "/var/opt/k/l/bin/bin/x", true },
		{ "/var/opt/k/bin/x/y", false },
		{ "/var/opt/a/bin/x/bin/y", true },
	};

	REQUIRE(p);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int k;

		ident(&id, cases[i].path, 0, NULL, NULL, NULL, NULL, NULL);
		k = kind_of(p, &id, &m);
		if ((k == EMBARGO_IDENT_PATH) != cases[i].match)
			test_fail(__FILE__, __LINE__, "%s: matched %d, expected %d", cases[i].path, k,
				  cases[i].match);
	}
	ident(&id, "/opt/kaspersky/kesl", 0, NULL, NULL, NULL, NULL, NULL);
	CHECK_EQ_INT(kind_of(p, &id, &m), EMBARGO_IDENT_PATH);
	CHECK_EQ_STR(m.why, "path /opt/kaspersky/kesl matches /opt/kaspersky/");
	CHECK_EQ_INT(embargo_policy_match(p, NULL, &m), -EINVAL);
}
