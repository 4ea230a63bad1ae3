// SPDX-License-Identifier: GPL-2.0
/*
 * The decision core: every kind of rule decides through embargo_decide(), the facts it remembers for a
 * cache mean what they say, and its shortcuts never change a verdict.
 */
#include "test.h"

#include "match.h"
#include "pkg.h"
#include "policy.h"
#include "sha256.h"
#include "util.h"
#include "verdict.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"

static bool put(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	bool ok = fd >= 0 && write(fd, data, len) == (ssize_t)len;

	if (fd >= 0)
		close(fd);
	return ok;
}

static const char *at(const char *name)
{
	static char buf[4][4096];
	static unsigned i;
	char *b = buf[i++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/%s", test_tmpdir(), name);
	return b;
}

static struct embargo_policy *load(const char *text)
{
	struct embargo_policy *p = NULL;
	struct embargo_policy_error err;
	char msg[8192];

	if (!put(at("v.policy"), text, strlen(text)))
		return NULL;
	if (embargo_policy_load(at("v.policy"), &p, &err) < 0)
		test_fail(__FILE__, __LINE__, "load: %s",
			  embargo_policy_error_format(&err, msg, sizeof(msg)));
	return p;
}

/* <tmp>/dpkg: kesl (the vendor's, by name and maintainer) owns /opt/k/kesl; coreutils owns /usr/bin/ls. */
static const char *make_db(void)
{
	static const char status[] = "Package: kesl\nStatus: install ok installed\nVersion: 12\n"
				     "Maintainer: AO Kaspersky Lab <support@kaspersky.com>\n\n"
				     "Package: coreutils\nStatus: install ok installed\nVersion: 9.1-1\n"
				     "Maintainer: Michael Stone <mstone@debian.org>\n";
	static const char kesl[] = "/opt/k/kesl\n", core[] = "/usr/bin/ls\n";

	mkdir(at("dpkg"), 0755);
	mkdir(at("dpkg/info"), 0755);
	if (!put(at("dpkg/status"), status, strlen(status)) ||
	    !put(at("dpkg/info/kesl.list"), kesl, strlen(kesl)) ||
	    !put(at("dpkg/info/coreutils.list"), core, strlen(core)))
		return NULL;
	return at("dpkg");
}

static int decide_path(const struct embargo_decider *d, const char *file, const char *path,
		       struct embargo_decision *dec)
{
	struct embargo_subject s = { .path = path };
	_cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -errno;
	r = embargo_sha256_fd(fd, s.sha256, &s.size);
	if (r < 0)
		return r;
	s.fd = fd;
	return embargo_decide(d, &s, 0, NULL, dec);
}

TEST(verdict_every_kind)
{
	static const char elf[] = "\x7f"
				  "ELF not really";
	_cleanup_(embargo_policy_freep) struct embargo_policy *p = NULL;
	_cleanup_(embargo_decider_freep) struct embargo_decider *d = NULL;
	struct embargo_decision dec;
	uint8_t sha[SHA256_LEN];
	char policy[1024], hex[SHA256_HEX_LEN + 1];

	REQUIRE(put(at("listed"), "listed content", 14));
	REQUIRE(put(at("elf"), elf, sizeof(elf) - 1));
	REQUIRE(embargo_sha256_buf("listed content", 14, sha) == 0);
	hex_encode(sha, SHA256_LEN, hex);
	snprintf(policy, sizeof(policy),
		 "vendor \"K\"\nsha256 %s label listed\nsigner-org \"AO Kaspersky Lab\"\npackage kesl\n"
		 "package-maintainer \"*Kaspersky*\"\npath /opt/k/\n",
		 hex);
	REQUIRE((p = load(policy)));
	REQUIRE(make_db());
	REQUIRE(embargo_decider_new(
			p, &(struct embargo_decider_opts){ .dpkg_admindir = at("dpkg"), .no_rpm = true },
			&d) == 0);
	CHECK(embargo_decider_has_identity_rules(d));
	CHECK(embargo_decider_reads_signatures(d));

	/* Digest first, whatever else matches. */
	REQUIRE(decide_path(d, at("listed"), "/opt/k/kesl", &dec) == 0);
	CHECK(dec.match);
	CHECK_EQ_INT(dec.m.kind, EMBARGO_MATCH_DIGEST);
	CHECK_EQ_STR(embargo_match_kind_name(&dec.m), "sha256");
	CHECK(strstr(dec.m.location, "v.policy:2") != NULL);
	/* A digest match proves nothing about the signer rules, unless the content can carry no signature. */
	CHECK(dec.unsigned_content);
	CHECK(dec.sigs_clean);

	/* The same bytes elsewhere: a package rule (before the maintainer and the path rule). */
	REQUIRE(decide_path(d, at("elf"), "/opt/k/kesl", &dec) == 0);
	CHECK(dec.match);
	CHECK_EQ_STR(embargo_match_kind_name(&dec.m), "package");
	CHECK(strstr(dec.m.location, "v.policy:4") != NULL);
	CHECK(strstr(dec.m.why, "kesl") != NULL);
	CHECK(dec.sigs_clean); /* the signer rules came first and matched nothing */

	/* Under the vendor's directory but owned by nobody: the path rule. */
	REQUIRE(decide_path(d, at("elf"), "/opt/k/other", &dec) == 0);
	CHECK(dec.match);
	CHECK_EQ_STR(embargo_match_kind_name(&dec.m), "path");
	CHECK(strstr(dec.m.location, "v.policy:6") != NULL);

	/* Owned by an unrelated package, elsewhere, unlisted: nothing. Without a path: nothing either. */
	REQUIRE(decide_path(d, at("elf"), "/usr/bin/ls", &dec) == 0);
	CHECK(!dec.match);
	CHECK(dec.sigs_clean);
	CHECK_EQ_INT(dec.pkg_error, 0);
	REQUIRE(decide_path(d, at("elf"), NULL, &dec) == 0);
	CHECK(!dec.match);

	/* No descriptor, signer rules, nothing known: decided without the signatures, and it says so. */
	struct embargo_subject s = { .fd = -1, .path = "/usr/bin/ls" };

	REQUIRE(embargo_decide(d, &s, 0, NULL, &dec) == 0);
	CHECK(!dec.match);
	CHECK(dec.sig_error != 0);
	CHECK(!dec.sigs_clean);
	/* ... unless a cache knows the content is unsigned. */
	s.unsigned_known = true;
	REQUIRE(embargo_decide(d, &s, 0, NULL, &dec) == 0);
	CHECK_EQ_INT(dec.sig_error, 0);
	CHECK(dec.sigs_clean);
}

TEST(verdict_all_facts)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p = load("vendor \"K\"\npath /nowhere/\n");
	_cleanup_(embargo_decider_freep) struct embargo_decider *d = NULL;
	_cleanup_(embargo_identity_free) struct embargo_identity id = {};
	_cleanup_close_ int fd = -1;
	struct embargo_subject s = { .path = "/opt/k/kesl" };
	struct embargo_decision dec;

	REQUIRE(p);
	REQUIRE(make_db());
	REQUIRE(put(at("plain"), "#!/bin/sh\n", 10));
	REQUIRE(embargo_decider_new(p,
				    &(struct embargo_decider_opts){
					    .dpkg_admindir = at("dpkg"), .no_rpm = true, .all_facts = true },
				    &d) == 0);
	REQUIRE((fd = open(at("plain"), O_RDONLY | O_CLOEXEC)) >= 0);
	s.fd = fd;
	/* What inspect shows: every package and the format, though no rule asks for them. */
	REQUIRE(embargo_decide(d, &s, EMBARGO_DECIDE_ALL, &id, &dec) == 0);
	CHECK(!dec.match);
	REQUIRE(id.n_pkgs == 1);
	CHECK_EQ_STR(id.pkgs[0].name, "kesl");
	CHECK_EQ_STR(id.format, "script");
	CHECK_EQ_STR(id.path, "/opt/k/kesl");
}

TEST(verdict_may_have_signatures)
{
	static const char trailer[] = "module body" MODULE_SIG_STRING;
	_cleanup_close_ int a = -1, b = -1, c = -1, e = -1;

	REQUIRE(put(at("pe"), "MZ and the rest", 15));
	REQUIRE(put(at("kmod"), trailer, sizeof(trailer) - 1));
	REQUIRE(put(at("elf2"),
		    "\x7f"
		    "ELF",
		    4));
	REQUIRE(put(at("empty"), "", 0));
	REQUIRE((a = open(at("pe"), O_RDONLY | O_CLOEXEC)) >= 0);
	REQUIRE((b = open(at("kmod"), O_RDONLY | O_CLOEXEC)) >= 0);
	REQUIRE((c = open(at("elf2"), O_RDONLY | O_CLOEXEC)) >= 0);
	REQUIRE((e = open(at("empty"), O_RDONLY | O_CLOEXEC)) >= 0);
	CHECK_EQ_INT(embargo_identify_may_have_signatures(a), 1);
	CHECK_EQ_INT(embargo_identify_may_have_signatures(b), 1);
	CHECK_EQ_INT(embargo_identify_may_have_signatures(c), 0);
	CHECK_EQ_INT(embargo_identify_may_have_signatures(e), 0);
	CHECK(embargo_identify_may_have_signatures(-1) < 0);
}

/* The signer key follows what the signer rules' verdict depends on, and nothing else. */
TEST(verdict_signer_key)
{
	static const char *const policies[] = {
		"vendor \"K\"\nsigner-org \"A\"\npath /x/\n",
		"vendor \"K\"\nsigner-org \"A\"\npath /y/\nsha256 " H1 "\n",
		"vendor \"K\"\nsigner-org \"B\"\npath /x/\n",
		"vendor \"K\"\nsigner-cn \"A\"\npath /x/\n",
	};
	uint8_t key[4][SHA256_LEN];

	for (size_t i = 0; i < 4; i++) {
		_cleanup_(embargo_policy_freep) struct embargo_policy *p = load(policies[i]);
		_cleanup_(embargo_decider_freep) struct embargo_decider *d = NULL;

		REQUIRE(p);
		REQUIRE(embargo_decider_new(p,
					    &(struct embargo_decider_opts){ .no_dpkg = true, .no_rpm = true },
					    &d) == 0);
		memcpy(key[i], embargo_decider_signer_key(d), SHA256_LEN);
	}
	CHECK(memcmp(key[0], key[1], SHA256_LEN) == 0); /* path and digest rules do not count */
	CHECK(memcmp(key[0], key[2], SHA256_LEN) != 0);
	CHECK(memcmp(key[0], key[3], SHA256_LEN) != 0);
}

/* Skipping the signer rules (a cache's "none matched") changes nothing but the signer rules' say. */
TEST(verdict_skip_signers)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p =
		load("vendor \"K\"\nsigner-org \"AO Kaspersky Lab\"\npath /opt/k/\n");
	struct embargo_cert cert = { .subject_o = (char *)"ao kaspersky lab", .subject_cn = (char *)"x" };
	struct embargo_signature sig = { .kind = EMBARGO_SIG_AUTHENTICODE,
					 .state = EMBARGO_SIG_UNVERIFIED,
					 .chain = &cert,
					 .n_chain = 1 };
	struct embargo_identity id = { .path = (char *)"/opt/k/x", .sigs = &sig, .n_sigs = 1 };
	struct embargo_match m;

	REQUIRE(p);
	REQUIRE(embargo_policy_match_ex(p, &id, 0, &m) == 1);
	CHECK_EQ_INT(m.kind, EMBARGO_IDENT_SIGNER_ORG);
	REQUIRE(embargo_policy_match_ex(p, &id, EMBARGO_MATCH_SKIP_SIGNERS, &m) == 1);
	CHECK_EQ_INT(m.kind, EMBARGO_IDENT_PATH);
	id.path = (char *)"/elsewhere";
	CHECK_EQ_INT(embargo_policy_match_ex(p, &id, EMBARGO_MATCH_SKIP_SIGNERS, &m), 0);
}

TEST(verdict_rule_ids)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p =
		load("vendor \"A\"\nvendor \"K\" mode audit\nsha256 " H1 " label one\npath /opt/k/\n");
	struct embargo_rule_ref ref;
	struct embargo_match m = {};
	uint32_t vendor = 99;
	char loc[4200];

	REQUIRE(p);
	REQUIRE(p->n_rules == 1 && p->n_ident_rules == 1);
	m = (struct embargo_match){ .kind = EMBARGO_MATCH_DIGEST, .vendor = 1, .rule = &p->rules[0] };
	embargo_match_rule_ref(p, &m, &ref);
	CHECK_EQ_INT(ref.rule_id, 0);
	CHECK_EQ_INT(ref.vendor_id, 1);
	CHECK_EQ_INT(ref.vendor_mode, EMBARGO_MODE_AUDIT);
	m = (struct embargo_match){ .kind = EMBARGO_IDENT_PATH, .vendor = 1, .ident = &p->ident_rules[0] };
	embargo_match_rule_ref(p, &m, &ref);
	CHECK_EQ_INT(ref.rule_id, EMBARGO_RULE_IDENT | 0);
	CHECK(strstr(embargo_rule_id_location(p, ref.rule_id, loc, sizeof(loc)), "v.policy:4") != NULL);
	CHECK(strstr(embargo_rule_id_location(p, 0, loc, sizeof(loc)), "v.policy:3") != NULL);
	CHECK_EQ_STR(embargo_rule_id_location(p, 7, loc, sizeof(loc)), "?");
	CHECK_EQ_STR(embargo_rule_id_location(p, EMBARGO_RULE_NONE, loc, sizeof(loc)), "?");
	CHECK_EQ_INT(embargo_rule_id_vendor(p, EMBARGO_RULE_IDENT | 0, &vendor), 0);
	CHECK_EQ_INT(vendor, 1);
	CHECK_EQ_INT(embargo_rule_id_vendor(p, EMBARGO_RULE_IDENT | 5, &vendor), -ENOENT);
}

/* The one definition of the mode and action of a match (embargo.h), as every consumer reads it. */
TEST(verdict_effective_mode)
{
	CHECK_EQ_INT(embargo_effective_mode(EMBARGO_MODE_INHERIT, EMBARGO_MODE_ENFORCE),
		     EMBARGO_MODE_ENFORCE);
	CHECK_EQ_INT(embargo_effective_mode(EMBARGO_MODE_AUDIT, EMBARGO_MODE_ENFORCE), EMBARGO_MODE_AUDIT);
	CHECK_EQ_INT(embargo_effective_mode(EMBARGO_MODE_ENFORCE, EMBARGO_MODE_AUDIT), EMBARGO_MODE_ENFORCE);
	CHECK_EQ_INT(embargo_match_action(EMBARGO_MODE_INHERIT, EMBARGO_MODE_ENFORCE, EMBARGO_TIER_LSM_HASH),
		     EMBARGO_ACTION_DENIED);
	CHECK_EQ_INT(embargo_match_action(EMBARGO_MODE_INHERIT, EMBARGO_MODE_ENFORCE, EMBARGO_TIER_DETECT),
		     EMBARGO_ACTION_AUDITED);
	CHECK_EQ_INT(embargo_match_action(EMBARGO_MODE_INHERIT, EMBARGO_MODE_AUDIT, EMBARGO_TIER_FANOTIFY),
		     EMBARGO_ACTION_AUDITED);
	CHECK_EQ_INT(embargo_match_action(EMBARGO_MODE_ENFORCE, EMBARGO_MODE_AUDIT, EMBARGO_TIER_FANOTIFY),
		     EMBARGO_ACTION_DENIED);
}
