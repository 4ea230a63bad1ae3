// SPDX-License-Identifier: GPL-2.0
/* The policy language: every error with its exact message, every accepted form, and load speed. */
#include "test.h"

#include "policy-internal.h"
#include "policy.h"
#include "util.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <zlib.h>

#define H1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define H3 "00000000000000000000000000000000000000000000000000000000000000ff"
#define H4 "8000000000000000000000000000000000000000000000000000000000000001"
#define H63 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"

/* ---- helpers -------------------------------------------------------------------------------------- */

static void mkdirs(const char *path)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *s = buf + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(buf, 0755);
			*s = '/';
		}
	mkdir(buf, 0755);
}

/* Writes dir/name (creating directories); gzip-compressed when gz. */
static void put(const char *dir, const char *name, const char *content, bool gz)
{
	char path[4096];
	char *slash;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	slash = strrchr(path, '/');
	*slash = '\0';
	mkdirs(path);
	*slash = '/';
	if (gz) {
		gzFile f = gzopen(path, "wbe");

		if (!f || gzwrite(f, content, (unsigned)strlen(content)) != (int)strlen(content)) {
			test_fail(__FILE__, __LINE__, "cannot write %s", path);
			if (f)
				gzclose(f);
			return;
		}
		gzclose(f);
	} else {
		FILE *f = fopen(path, "we");

		if (!f) {
			test_fail(__FILE__, __LINE__, "cannot write %s", path);
			return;
		}
		fputs(content, f);
		fclose(f);
	}
}

static char *path_in(const char *name)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", test_tmpdir(), name);
	return buf;
}

/* Loads path, failing the test with the error if it does not load. */
static struct embargo_policy *load_path(const char *path)
{
	struct embargo_policy *p = NULL;
	struct embargo_policy_error err;
	char msg[8192];
	int r = embargo_policy_load(path, &p, &err);

	if (r < 0)
		test_fail(__FILE__, __LINE__, "load %s: %d %s", path, r,
			  embargo_policy_error_format(&err, msg, sizeof(msg)));
	return p;
}

/* Loads the policy file `text` written as <tmp>/a.policy. */
static struct embargo_policy *load_text(const char *text)
{
	put(test_tmpdir(), "a.policy", text, false);
	return load_path(path_in("a.policy"));
}

/* Loading `text` as <tmp>/a.policy fails with want and the message "<tmp>/a.policy<expect>". */
static void check_error(const char *text, int want, const char *expect)
{
	struct embargo_policy *p = NULL;
	struct embargo_policy_error err;
	char full[8192], got[8192];

	put(test_tmpdir(), "a.policy", text, false);
	CHECK_EQ_INT(embargo_policy_load(path_in("a.policy"), &p, &err), want);
	snprintf(full, sizeof(full), "%s%s", path_in("a.policy"), expect);
	CHECK_EQ_STR(embargo_policy_error_format(&err, got, sizeof(got)), full);
	CHECK(p == NULL);
}

static void digest(const char *hex, uint8_t out[32])
{
	if (hex_decode(hex, strlen(hex), out, 32) < 0)
		test_fail(__FILE__, __LINE__, "bad test digest %s", hex);
}

static const struct embargo_rule *lookup_hex(const struct embargo_policy *p, const char *hex)
{
	uint8_t d[32];

	digest(hex, d);
	return embargo_policy_lookup(p, d);
}

/* "@" in s replaced by dir. */
static void expand(const char *s, const char *dir, char *out, size_t size)
{
	size_t n = 0;

	for (; *s && n + 1 < size; s++) {
		if (*s == '@')
			n += (size_t)snprintf(out + n, size - n, "%s", dir);
		else
			out[n++] = *s;
		if (n >= size)
			n = size - 1;
	}
	out[n] = '\0';
}

#define N_1M 1000000

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The i-th test digest: uniformly distributed, like real ones. */
static void nth_digest(uint32_t i, uint8_t out[32])
{
	uint64_t s = i;

	for (int k = 0; k < 4; k++) {
		uint64_t v = splitmix64(&s);

		memcpy(out + 8 * k, &v, 8);
	}
}

/* ---- errors: a table of bad inputs, each with its full message ------------------------------------ */

struct bad_case {
	const char *name;
	/* Name, content, name, content...: a name ending in '/' is a directory, one ending in ".gz" is
	 * written gzip-compressed. */
	const char *files[8];
	const char *load;   /* relative to the case's directory; "a.policy" when NULL */
	int err;	    /* expected return: -EINVAL when 0 */
	const char *expect; /* the formatted error, '@' standing for the case's directory */
};

static const struct bad_case bad_cases[] = {
	{ "unknown keyword",
	  { "a.policy", "vendor X\nsha512 abc\n" },
	  NULL,
	  0,
	  "@/a.policy:2:1: expected one of: vendor, entity, sha256, sha256-list, component, signer-org, "
	  "signer-cn, signer-cert, package, package-maintainer, path, trust-anchor, strict; found 'sha512'" },
	{ "quoted keyword",
	  { "a.policy", "\"vendor\" X\n" },
	  NULL,
	  0,
	  "@/a.policy:1:1: expected one of: vendor, entity, sha256, sha256-list, component, signer-org, "
	  "signer-cn, signer-cert, package, package-maintainer, path, trust-anchor, strict; found \"vendor\"" },
	{ "keyword case",
	  { "a.policy", "  Vendor X\n" },
	  NULL,
	  0,
	  "@/a.policy:1:3: expected one of: vendor, entity, sha256, sha256-list, component, signer-org, "
	  "signer-cn, signer-cert, package, package-maintainer, path, trust-anchor, strict; found 'Vendor'" },
	{ "short digest",
	  { "a.policy", "vendor X\nsha256 " H63 "\n" },
	  NULL,
	  0,
	  "@/a.policy:2:8: expected 64 hex digits, found 63" },
	{ "long digest",
	  { "a.policy", "vendor X\nsha256 " H1 "0\n" },
	  NULL,
	  0,
	  "@/a.policy:2:8: expected 64 hex digits, found 65" },
	{ "non-hex digest",
	  { "a.policy",
	    "vendor X\nsha256\t0123456789abcdeg0123456789abcdef0123456789abcdef0123456789abcdef\n" },
	  NULL,
	  0,
	  "@/a.policy:2:8: expected 64 hex digits, found non-hex character 'g' at position 16" },
	{ "prefixed digest",
	  { "a.policy", "vendor X\nsha256 sha256:" H1 "\n" },
	  NULL,
	  0,
	  "@/a.policy:2:8: expected 64 hex digits, found non-hex character 's' at position 1" },
	{ "missing digest",
	  { "a.policy", "vendor X\nsha256 # nothing\n" },
	  NULL,
	  0,
	  "@/a.policy:2:7: expected 64 hex digits after 'sha256'" },
	{ "bad mode",
	  { "a.policy", "vendor X mode block\n" },
	  NULL,
	  0,
	  "@/a.policy:1:15: expected 'audit' or 'enforce', found 'block'" },
	{ "mode inherit is not written",
	  { "a.policy", "vendor X mode \"inherit\"\n" },
	  NULL,
	  0,
	  "@/a.policy:1:15: expected 'audit' or 'enforce', found \"inherit\"" },
	{ "mode without value",
	  { "a.policy", "vendor X mode\n" },
	  NULL,
	  0,
	  "@/a.policy:1:14: expected 'audit' or 'enforce' after 'mode'" },
	{ "duplicate mode",
	  { "a.policy", "vendor X mode audit mode enforce\n" },
	  NULL,
	  0,
	  "@/a.policy:1:21: duplicate option 'mode' (already given at column 10)" },
	{ "duplicate reason",
	  { "a.policy", "vendor X reason a mode audit reason \"b\"\n" },
	  NULL,
	  0,
	  "@/a.policy:1:30: duplicate option 'reason' (already given at column 10)" },
	{ "unknown vendor option",
	  { "a.policy", "vendor X because \"y\"\n" },
	  NULL,
	  0,
	  "@/a.policy:1:10: expected 'mode', 'reason' or end of line, found 'because'" },
	{ "reason without value",
	  { "a.policy", "vendor X reason\n" },
	  NULL,
	  0,
	  "@/a.policy:1:16: expected a string after 'reason'" },
	{ "duplicate vendor",
	  { "a.policy", "vendor X\n\nvendor \"X\" mode audit\n" },
	  NULL,
	  0,
	  "@/a.policy:3:8: duplicate vendor 'X' (first defined at @/a.policy:1)" },
	{ "duplicate vendor across files",
	  { "d/10-a.policy", "vendor \"Kaspersky\"\n", "d/20-b.policy",
	    "# b\nvendor Kaspersky mode audit\n" },
	  "d",
	  0,
	  "@/d/20-b.policy:2:8: duplicate vendor 'Kaspersky' (first defined at @/d/10-a.policy:1)" },
	{ "empty vendor name",
	  { "a.policy", "vendor \"\"\n" },
	  NULL,
	  0,
	  "@/a.policy:1:8: vendor name is empty" },
	{ "vendor name with a tab",
	  { "a.policy", "vendor \"a\tb\"\n" },
	  NULL,
	  0,
	  "@/a.policy:1:8: vendor name contains a control character" },
	{ "missing vendor name",
	  { "a.policy", "vendor\n" },
	  NULL,
	  0,
	  "@/a.policy:1:7: expected a vendor name after 'vendor'" },
	{ "comment glued to keyword",
	  { "a.policy", "vendor#c\n" },
	  NULL,
	  0,
	  "@/a.policy:1:7: expected a vendor name after 'vendor'" },
	{ "rule before vendor",
	  { "a.policy", "# c\nsha256 " H1 "\nvendor X\n" },
	  NULL,
	  0,
	  "@/a.policy:2:1: expected 'vendor' before 'sha256'" },
	{ "entity before vendor",
	  { "a.policy", "entity \"AO Kaspersky Lab\"\n" },
	  NULL,
	  0,
	  "@/a.policy:1:1: expected 'vendor' before 'entity'" },
	{ "vendor does not carry over files",
	  { "d/a.policy", "vendor X\n", "d/b.policy", "sha256-list l.sha256\n" },
	  "d",
	  0,
	  "@/d/b.policy:1:1: expected 'vendor' before 'sha256-list'" },
	{ "unterminated string",
	  { "a.policy", "vendor \"Kaspersky mode audit\n" },
	  NULL,
	  0,
	  "@/a.policy:1:8: unterminated string" },
	{ "unterminated string at end of file",
	  { "a.policy", "vendor X reason \"a \\\"" },
	  NULL,
	  0,
	  "@/a.policy:1:17: unterminated string" },
	{ "string ends in backslash",
	  { "a.policy", "vendor X reason \"a\\\n" },
	  NULL,
	  0,
	  "@/a.policy:1:17: unterminated string" },
	{ "bad escape",
	  { "a.policy", "vendor X\nentity \"a\\tb\"\n" },
	  NULL,
	  0,
	  "@/a.policy:2:10: invalid escape '\\t' (only \\\" and \\\\ are allowed)" },
	{ "quote inside word",
	  { "a.policy", "vendor ab\"c\"\n" },
	  NULL,
	  0,
	  "@/a.policy:1:10: unexpected '\"' inside a word" },
	{ "string glued to word",
	  { "a.policy", "vendor \"a\"b\n" },
	  NULL,
	  0,
	  "@/a.policy:1:11: expected whitespace after string, found 'b'" },
	{ "control character",
	  { "a.policy", "vendor X\x01\n" },
	  NULL,
	  0,
	  "@/a.policy:1:9: unexpected control character 0x01" },
	{ "lone carriage return",
	  { "a.policy", "vendor X\rmode audit\n" },
	  NULL,
	  0,
	  "@/a.policy:1:9: unexpected control character 0x0d" },
	{ "extra token after entity",
	  { "a.policy", "vendor X\nentity \"AO\" extra\n" },
	  NULL,
	  0,
	  "@/a.policy:2:13: expected end of line, found 'extra'" },
	{ "extra token after label",
	  { "a.policy", "vendor X\nsha256 " H1 " label \"a\" \"b\"\n" },
	  NULL,
	  0,
	  "@/a.policy:2:83: expected end of line, found \"b\"" },
	{ "extra token after list",
	  { "a.policy", "vendor X\nsha256-list a b\n" },
	  NULL,
	  0,
	  "@/a.policy:2:15: expected end of line, found 'b'" },
	{ "not a label",
	  { "a.policy", "vendor X\nsha256 " H1 " lable x\n" },
	  NULL,
	  0,
	  "@/a.policy:2:73: expected 'label' or end of line, found 'lable'" },
	{ "label without value",
	  { "a.policy", "vendor X\nsha256 " H1 " label\n" },
	  NULL,
	  0,
	  "@/a.policy:2:78: expected a string after 'label'" },
	{ "entity without name",
	  { "a.policy", "vendor X\nentity   # none\n" },
	  NULL,
	  0,
	  "@/a.policy:2:7: expected a name after 'entity'" },
	{ "empty entity",
	  { "a.policy", "vendor X\nentity \"\"\n" },
	  NULL,
	  0,
	  "@/a.policy:2:8: entity name is empty" },
	{ "list without path",
	  { "a.policy", "vendor X\nsha256-list\n" },
	  NULL,
	  0,
	  "@/a.policy:2:12: expected a file name after 'sha256-list'" },
	{ "missing list file",
	  { "a.policy", "vendor X\nsha256-list   nope.sha256\n" },
	  NULL,
	  -ENOENT,
	  "@/a.policy:2:15: cannot read digest list '@/nope.sha256': No such file or directory" },
	{ "list is a directory",
	  { "a.policy", "vendor X\nsha256-list \"sub\"\n", "sub/", "" },
	  NULL,
	  -EISDIR,
	  "@/a.policy:2:13: cannot read digest list '@/sub': Is a directory" },
	{ "short digest in list",
	  { "a.policy", "vendor X\nsha256-list l.sha256\n", "l.sha256", "# inventory\n\n" H1 "\n" H63 "\n" },
	  NULL,
	  0,
	  "@/l.sha256:4:1: expected 64 hex digits, found 63" },
	{ "non-hex in gzip list",
	  {
		  "a.policy",
		  "vendor X\nsha256-list l.sha256.gz\n",
		  "l.sha256.gz",
		  H1 "\n  " H2 "x\n",
	  },
	  NULL,
	  0,
	  "@/l.sha256.gz:2:3: expected 64 hex digits, found non-hex character 'x' at position 65" },
	{ "one space before file name",
	  { "a.policy", "vendor X\nsha256-list l.sha256\n", "l.sha256", H1 " /opt/kaspersky/kesl\n" },
	  NULL,
	  0,
	  "@/l.sha256:1:65: expected two spaces or ' *' between the digest and the file name" },
	{ "comment after digest in list",
	  { "a.policy", "vendor X\nsha256-list l.sha256\n", "l.sha256", H1 "\t# kesl\n" },
	  NULL,
	  0,
	  "@/l.sha256:1:65: expected two spaces or ' *' between the digest and the file name" },
	{ "binary marker without name",
	  { "a.policy", "vendor X\nsha256-list l.sha256\n", "l.sha256", H1 " *\n" },
	  NULL,
	  0,
	  "@/l.sha256:1:67: expected a file name after ' *'" },
	{ "control character in list file name",
	  { "a.policy", "vendor X\nsha256-list l.sha256\n", "l.sha256", H1 "  a\x1b[31mb\n" },
	  NULL,
	  0,
	  "@/l.sha256:1:68: unexpected control character 0x1b in file name" },
	{ "signer-org without name",
	  { "a.policy", "vendor X\nsigner-org\n" },
	  NULL,
	  0,
	  "@/a.policy:2:11: expected an organization name after 'signer-org'" },
	{ "empty signer-org",
	  { "a.policy", "vendor X\nsigner-org \"\"\n" },
	  NULL,
	  0,
	  "@/a.policy:2:12: organization name is empty" },
	{ "signer-org not UTF-8",
	  { "a.policy", "vendor X\nsigner-org \"Kaspersky \xc0\xaf Lab\"\n" },
	  NULL,
	  0,
	  "@/a.policy:2:12: organization name is not valid UTF-8 (byte 0xc0 at position 11)" },
	{ "signer-org cut UTF-8 sequence",
	  { "a.policy", "vendor X\nsigner-cn Kaspersky\xe2\x80\n" },
	  NULL,
	  0,
	  "@/a.policy:2:11: common name is not valid UTF-8 (byte 0xe2 at position 10)" },
	{ "signer-org surrogate",
	  { "a.policy", "vendor X\nsigner-cn \"\xed\xa0\x80\"\n" },
	  NULL,
	  0,
	  "@/a.policy:2:11: common name is not valid UTF-8 (byte 0xed at position 1)" },
	{ "signer-org unknown option",
	  { "a.policy", "vendor X\nsigner-org \"AO Kaspersky Lab\" verifed\n" },
	  NULL,
	  0,
	  "@/a.policy:2:31: expected 'verified' or end of line, found 'verifed'" },
	{ "signer-org extra after verified",
	  { "a.policy", "vendor X\nsigner-org \"AO Kaspersky Lab\" verified x\n" },
	  NULL,
	  0,
	  "@/a.policy:2:40: expected end of line, found 'x'" },
	{ "signer-cn without name",
	  { "a.policy", "vendor X\nsigner-cn  # none\n" },
	  NULL,
	  0,
	  "@/a.policy:2:10: expected a common name after 'signer-cn'" },
	{ "signer-cert without digest",
	  { "a.policy", "vendor X\nsigner-cert\n" },
	  NULL,
	  0,
	  "@/a.policy:2:12: expected 64 hex digits after 'signer-cert'" },
	{ "signer-cert bad hex",
	  { "a.policy", "vendor X\nsigner-cert 3f:2a\n" },
	  NULL,
	  0,
	  "@/a.policy:2:13: expected 64 hex digits, found non-hex character ':' at position 3" },
	{ "signer-cert non-hex",
	  { "a.policy", "vendor X\nsigner-cert " H63 "x\n" },
	  NULL,
	  0,
	  "@/a.policy:2:13: expected 64 hex digits, found non-hex character 'x' at position 64" },
	{ "signer-cert unknown option",
	  { "a.policy", "vendor X\nsigner-cert " H1 " label x\n" },
	  NULL,
	  0,
	  "@/a.policy:2:78: expected 'verified' or end of line, found 'label'" },
	{ "verified without trust anchor",
	  { "a.policy", "vendor X\nsigner-org a\nsigner-cn \"b\" verified\n" },
	  NULL,
	  0,
	  "@/a.policy:3:11: 'verified' needs a trust-anchor in the policy, and there is none" },
	{ "package without name",
	  { "a.policy", "vendor X\npackage\n" },
	  NULL,
	  0,
	  "@/a.policy:2:8: expected a package name after 'package'" },
	{ "empty package",
	  { "a.policy", "vendor X\npackage \"\"\n" },
	  NULL,
	  0,
	  "@/a.policy:2:9: package name is empty" },
	{ "package with option",
	  { "a.policy", "vendor X\npackage kesl verified\n" },
	  NULL,
	  0,
	  "@/a.policy:2:14: expected end of line, found 'verified'" },
	{ "package-maintainer without value",
	  { "a.policy", "vendor X\npackage-maintainer\n" },
	  NULL,
	  0,
	  "@/a.policy:2:19: expected a maintainer after 'package-maintainer'" },
	{ "package-maintainer not UTF-8",
	  { "a.policy", "vendor X\npackage-maintainer \"*Kaspersk\xff*\"\n" },
	  NULL,
	  0,
	  "@/a.policy:2:20: maintainer is not valid UTF-8 (byte 0xff at position 10)" },
	{ "path without value",
	  { "a.policy", "vendor X\npath\n" },
	  NULL,
	  0,
	  "@/a.policy:2:5: expected an absolute path after 'path'" },
	{ "relative path",
	  { "a.policy", "vendor X\npath opt/kaspersky/\n" },
	  NULL,
	  0,
	  "@/a.policy:2:6: path must be absolute (start with '/')" },
	{ "path with dot-dot",
	  { "a.policy", "vendor X\npath /opt/kaspersky/../bin\n" },
	  NULL,
	  0,
	  "@/a.policy:2:6: path must not have '.', '..' or empty components" },
	{ "path with empty component",
	  { "a.policy", "vendor X\npath //opt/kaspersky\n" },
	  NULL,
	  0,
	  "@/a.policy:2:6: path must not have '.', '..' or empty components" },
	{ "path extra token",
	  { "a.policy", "vendor X\npath /opt/kaspersky/ /var/opt/kaspersky/\n" },
	  NULL,
	  0,
	  "@/a.policy:2:22: expected end of line, found '/var/opt/kaspersky/'" },
	{ "path before vendor",
	  { "a.policy", "path /opt/kaspersky/\n" },
	  NULL,
	  0,
	  "@/a.policy:1:1: expected 'vendor' before 'path'" },
	{ "component without kind",
	  { "a.policy", "vendor X\ncomponent\n" },
	  NULL,
	  0,
	  "@/a.policy:2:10: expected 'sha256' after 'component'" },
	{ "component wrong kind",
	  { "a.policy", "vendor X\ncomponent sha512 " H1 "\n" },
	  NULL,
	  0,
	  "@/a.policy:2:11: expected 'sha256', found 'sha512'" },
	{ "component bad digest",
	  { "a.policy", "vendor X\ncomponent sha256 " H63 "\n" },
	  NULL,
	  0,
	  "@/a.policy:2:18: expected 64 hex digits, found 63" },
	{ "trust-anchor without file",
	  { "a.policy", "vendor X\ntrust-anchor\n" },
	  NULL,
	  0,
	  "@/a.policy:2:13: expected a file name after 'trust-anchor'" },
	{ "missing trust-anchor",
	  { "a.policy", "vendor X\ntrust-anchor ca/root.pem\n" },
	  NULL,
	  -ENOENT,
	  "@/a.policy:2:14: cannot read trust anchor '@/ca/root.pem': No such file or directory" },
	{ "trust-anchor is a directory",
	  { "a.policy", "vendor X\ntrust-anchor ca\n", "ca/", "" },
	  NULL,
	  -EISDIR,
	  "@/a.policy:2:14: cannot read trust anchor '@/ca': Is a directory" },
	{ "strict without value",
	  { "a.policy", "vendor X\nstrict\n" },
	  NULL,
	  0,
	  "@/a.policy:2:7: expected 'yes' or 'no' after 'strict'" },
	{ "bad strict",
	  { "a.policy", "vendor X\nstrict maybe\n" },
	  NULL,
	  0,
	  "@/a.policy:2:8: expected 'yes' or 'no', found 'maybe'" },
	{ "strict quoted",
	  { "a.policy", "vendor X\nstrict \"yes\"\n" },
	  NULL,
	  0,
	  "@/a.policy:2:8: expected 'yes' or 'no', found \"yes\"" },
	{ "strict twice",
	  { "a.policy", "vendor X\nstrict yes\npath /opt/x/\nstrict no\n" },
	  NULL,
	  0,
	  "@/a.policy:4:8: duplicate 'strict' for vendor 'X' (first given at line 2)" },
	{ "strict with more",
	  { "a.policy", "vendor X\nstrict yes no\n" },
	  NULL,
	  0,
	  "@/a.policy:2:12: expected end of line, found 'no'" },
	{ "strict before vendor",
	  { "a.policy", "strict yes\n" },
	  NULL,
	  0,
	  "@/a.policy:1:1: expected 'vendor' before 'strict'" },
	{ "missing policy path",
	  { NULL },
	  "nope.policy",
	  -ENOENT,
	  "@/nope.policy: cannot read policy: No such file or directory" },
	{ "empty directory",
	  { "empty/", "", "empty/README", "not a policy\n", "empty/.x.policy", "vendor X\n" },
	  "empty",
	  -ENOENT,
	  "@/empty: no *.policy files in directory" },
};

TEST(policy_errors)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct embargo_policy *p = (struct embargo_policy *)&bad_cases; /* must stay untouched */
		struct embargo_policy_error err;
		char dir[1024], load[2048], expect[8192], got[8192];
		int r;

		snprintf(dir, sizeof(dir), "%s/case%zu", test_tmpdir(), i);
		mkdirs(dir);
		for (const char *const *f = c->files; *f; f += 2) {
			size_t n = strlen(f[0]);

			if (f[0][n - 1] == '/') {
				char sub[2048];

				snprintf(sub, sizeof(sub), "%s/%s", dir, f[0]);
				mkdirs(sub);
			} else {
				put(dir, f[0], f[1], n > 3 && strcmp(f[0] + n - 3, ".gz") == 0);
			}
		}
		snprintf(load, sizeof(load), "%s/%s", dir, c->load ? c->load : "a.policy");
		expand(c->expect, dir, expect, sizeof(expect));

		r = embargo_policy_load(load, &p, &err);
		embargo_policy_error_format(&err, got, sizeof(got));
		if (r != (c->err ? c->err : -EINVAL))
			test_fail(__FILE__, __LINE__, "%s: returned %d, expected %d", c->name, r,
				  c->err ? c->err : -EINVAL);
		if (strcmp(got, expect) != 0)
			test_fail(__FILE__, __LINE__, "%s:\n    got      %s\n    expected %s", c->name, got,
				  expect);
		if (p != (struct embargo_policy *)&bad_cases)
			test_fail(__FILE__, __LINE__, "%s: *ret was written", c->name);
	}
}

TEST(policy_error_limits)
{
	_cleanup_free_ char *text = malloc(70000 + 64);
	struct embargo_policy *p = NULL;
	size_t n;

	REQUIRE(text);
	/* 255 bytes of vendor name are fine, 256 are not. */
	n = (size_t)sprintf(text, "vendor ");
	memset(text + n, 'v', 255);
	strcpy(text + n + 255, "\n");
	p = load_text(text);
	REQUIRE(p);
	CHECK_EQ_INT(strlen(p->vendors[0].name), 255);
	embargo_policy_free(p);
	p = NULL;
	strcpy(text + n + 255, "w\n");
	check_error(text, -EINVAL, ":1:8: vendor name is longer than 255 bytes");

	/* A line longer than 64 KiB. */
	n = (size_t)sprintf(text, "# x\nvendor X reason \"");
	memset(text + n, 'r', 66000);
	strcpy(text + n + 66000, "\"\n");
	check_error(text, -EINVAL, ":2: line is longer than 65536 bytes");
}

TEST(policy_too_many_vendors)
{
	const size_t n = EMBARGO_POLICY_MAX_VENDORS + 1;
	_cleanup_free_ char *text = malloc(n * 16 + 1);
	struct embargo_policy *p = NULL;
	size_t len = 0;

	REQUIRE(text);
	for (size_t i = 0; i < n - 1; i++)
		len += (size_t)sprintf(text + len, "vendor v%zu\n", i);
	p = load_text(text);
	REQUIRE(p);
	CHECK_EQ_INT(p->n_vendors, EMBARGO_POLICY_MAX_VENDORS);
	CHECK_EQ_STR(p->vendors[65534].name, "v65534");
	embargo_policy_free(p);
	p = NULL;

	sprintf(text + len, "vendor last\n");
	check_error(text, -EINVAL, ":65536:8: too many vendors (at most 65535)");
}

TEST(policy_unreadable_files)
{
	struct embargo_policy *p = NULL;
	struct embargo_policy_error err;
	char got[8192], expect[8192];
	int fd;

	/* A FIFO is refused at once, not waited on. */
	REQUIRE(mkfifo(path_in("fifo.policy"), 0600) == 0);
	CHECK_EQ_INT(embargo_policy_load(path_in("fifo.policy"), &p, &err), -EINVAL);
	snprintf(expect, sizeof(expect), "%s: cannot read policy: not a regular file",
		 path_in("fifo.policy"));
	CHECK_EQ_STR(embargo_policy_error_format(&err, got, sizeof(got)), expect);

	/* A truncated gzip list is an error, not a shorter list. */
	put(test_tmpdir(), "a.policy", "vendor X\nsha256-list l.gz\n", false);
	{
		gzFile gz = gzopen(path_in("full.gz"), "wbe");

		REQUIRE(gz);
		for (uint32_t i = 0; i < 5000; i++) {
			uint8_t d[32];
			char hex[65];

			nth_digest(i, d);
			hex_encode(d, 32, hex);
			gzprintf(gz, "%s\n", hex);
		}
		gzclose(gz);
	}
	{
		struct stat st;
		_cleanup_free_ char *buf = NULL;
		_cleanup_close_ int in = open(path_in("full.gz"), O_RDONLY | O_CLOEXEC);

		REQUIRE(in >= 0 && fstat(in, &st) == 0);
		buf = malloc((size_t)st.st_size);
		REQUIRE(buf && read(in, buf, (size_t)st.st_size) == st.st_size);
		fd = open(path_in("l.gz"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		REQUIRE(fd >= 0);
		CHECK_EQ_INT(write_all(fd, buf, (size_t)st.st_size / 2), 0);
		close(fd);
	}
	CHECK(embargo_policy_load(path_in("a.policy"), &p, &err) < 0);
	snprintf(expect, sizeof(expect), "%s: read error: unexpected end of file", path_in("l.gz"));
	embargo_policy_error_format(&err, got, sizeof(got));
	CHECK_EQ_STR(got, expect);
	CHECK(p == NULL);
}

/* ---- accepted policies ----------------------------------------------------------------------------- */

TEST(policy_single_file)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p =
		load_text("# the vendor\n"
			  "vendor \"Kaspersky\" mode enforce reason \"US Commerce BIS Final Determination, "
			  "2024-06-20\"\n"
			  "entity \"AO Kaspersky Lab\"          # legal entity\n"
			  "entity Kaspersky\\Labs\n"
			  "sha256 " H2 " label \"kesl 12.0 /opt/kaspersky/kesl/bin/kesl\"\n"
			  "sha256 " H1 "\n"
			  "  sha256   \"" H4 "\"   label   \"say \\\"hi\\\" \\\\ # not a comment\"\n");
	const struct embargo_rule *r;
	const struct embargo_vendor *v;
	char buf[8192], expect[8192];

	REQUIRE(p);
	CHECK_EQ_STR(p->path, path_in("a.policy"));
	REQUIRE(p->n_vendors == 1);
	v = &p->vendors[0];
	CHECK_EQ_STR(v->name, "Kaspersky");
	CHECK_EQ_STR(v->reason, "US Commerce BIS Final Determination, 2024-06-20");
	CHECK_EQ_INT(v->mode, EMBARGO_MODE_ENFORCE);
	CHECK_EQ_INT(v->line, 2);
	CHECK_EQ_INT(v->source, 0);
	CHECK_EQ_INT(v->n_entities, 2);
	CHECK_EQ_STR(v->entities[0], "AO Kaspersky Lab");
	CHECK_EQ_STR(v->entities[1], "Kaspersky\\Labs"); /* escapes are only for quoted strings */
	CHECK(v->entities[2] == NULL);
	CHECK_EQ_INT(v->n_rules, 3);
	CHECK_EQ_INT(p->n_sources, 1);
	CHECK_EQ_STR(p->sources[0], path_in("a.policy"));

	/* Sorted by digest. */
	REQUIRE(p->n_rules == 3);
	r = &p->rules[0];
	CHECK(memcmp(r->sha256, "\x01\x23\x45\x67", 4) == 0);
	CHECK(r->label == NULL);
	CHECK_EQ_INT(r->line, 6);
	CHECK_EQ_INT(r->column, 8);
	r = &p->rules[1];
	CHECK(r->sha256[0] == 0x80 && r->sha256[31] == 0x01);
	CHECK_EQ_STR(r->label, "say \"hi\" \\ # not a comment");
	CHECK_EQ_INT(r->line, 7);
	CHECK_EQ_INT(r->column, 12);
	r = &p->rules[2];
	CHECK(r->sha256[0] == 0xfe);
	CHECK_EQ_STR(r->label, "kesl 12.0 /opt/kaspersky/kesl/bin/kesl");
	CHECK_EQ_INT(r->vendor, 0);
	CHECK_EQ_INT(r->source, 0);
	snprintf(expect, sizeof(expect), "%s:5", path_in("a.policy"));
	CHECK_EQ_STR(embargo_rule_location(p, r, buf, sizeof(buf)), expect);
	CHECK_EQ_INT(p->n_duplicates, 0);
}

TEST(policy_directory_order)
{
	char dir[4096];
	_cleanup_(embargo_policy_freep) struct embargo_policy *p = NULL;
	char msg[8192];
	const struct embargo_rule *r;

	snprintf(dir, sizeof(dir), "%s", path_in("policy.d"));
	/* Byte order: "10-" < "20-" < "3-" < "B" < "a". */
	put(dir, "20-b.policy", "vendor B2\nsha256 " H2 "\n", false);
	put(dir, "10-a.policy", "vendor A1 mode audit\nsha256 " H1 "\nsha256-list a.sha256\n", false);
	put(dir, "10-a.sha256", H3 "\n", false);
	put(dir, "a.sha256", H4 "\n", false);
	put(dir, "3-c.policy", "# only comments\n", false);
	put(dir, "a.policy", "vendor a\n", false);
	put(dir, "B.policy", "vendor \"B\"\nentity \"B Ltd\"\n", false);
	put(dir, "README", "vendor Ignored\n", false);
	put(dir, ".hidden.policy", "vendor Hidden\n", false);
	put(dir, "x.policy.bak", "vendor Backup\n", false);
	put(dir, "sub.policy/z.policy", "vendor Nested\n", false);

	p = load_path(dir);
	REQUIRE(p);
	REQUIRE(p->n_vendors == 4);
	CHECK_EQ_STR(p->vendors[0].name, "A1");
	CHECK_EQ_STR(p->vendors[1].name, "B2");
	CHECK_EQ_STR(p->vendors[2].name, "B");
	CHECK_EQ_STR(p->vendors[3].name, "a");
	CHECK_EQ_INT(p->vendors[0].mode, EMBARGO_MODE_AUDIT);
	CHECK_EQ_INT(p->vendors[1].mode, EMBARGO_MODE_INHERIT);
	CHECK_EQ_INT(p->vendors[2].n_entities, 1);
	CHECK_EQ_INT(p->vendors[0].n_rules, 2);
	CHECK_EQ_INT(p->vendors[1].n_rules, 1);
	CHECK_EQ_INT(p->vendors[3].n_rules, 0);

	/* Every file read, in order, list files where they were read. */
	REQUIRE(p->n_sources == 6);
	snprintf(msg, sizeof(msg), "%s/10-a.policy", dir);
	CHECK_EQ_STR(p->sources[0], msg);
	snprintf(msg, sizeof(msg), "%s/a.sha256", dir);
	CHECK_EQ_STR(p->sources[1], msg);
	snprintf(msg, sizeof(msg), "%s/20-b.policy", dir);
	CHECK_EQ_STR(p->sources[2], msg);
	snprintf(msg, sizeof(msg), "%s/3-c.policy", dir);
	CHECK_EQ_STR(p->sources[3], msg);
	snprintf(msg, sizeof(msg), "%s/B.policy", dir);
	CHECK_EQ_STR(p->sources[4], msg);
	snprintf(msg, sizeof(msg), "%s/a.policy", dir);
	CHECK_EQ_STR(p->sources[5], msg);
	CHECK_EQ_INT(p->vendors[1].source, 2);

	/* Rules stay with the vendor of their file. */
	r = lookup_hex(p, H1);
	REQUIRE(r);
	CHECK_EQ_INT(r->vendor, 0);
	r = lookup_hex(p, H4);
	REQUIRE(r);
	CHECK_EQ_INT(r->vendor, 0);
	CHECK_EQ_INT(r->source, 1);
	r = lookup_hex(p, H2);
	REQUIRE(r);
	CHECK_EQ_INT(r->vendor, 1);
	CHECK(lookup_hex(p, H3) == NULL); /* 10-a.sha256 is not named by any policy */
}

/* Links named *.policy are followed: to a file it is read, to a directory it is skipped, broken it fails. */
TEST(policy_directory_links)
{
	struct embargo_policy *p = NULL;
	struct embargo_policy_error err;
	char dir[4096], link[4200], expect[8192], got[8192];

	snprintf(dir, sizeof(dir), "%s", path_in("d"));
	put(test_tmpdir(), "elsewhere/real.txt", "vendor Linked\n", false);
	put(dir, "00.policy", "vendor First\n", false);
	snprintf(link, sizeof(link), "%s/10-linked.policy", dir);
	REQUIRE(symlink("../elsewhere/real.txt", link) == 0);
	snprintf(link, sizeof(link), "%s/20-dir.policy", dir);
	REQUIRE(symlink("../elsewhere", link) == 0);
	p = load_path(dir);
	REQUIRE(p);
	CHECK_EQ_INT(p->n_vendors, 2);
	CHECK_EQ_STR(p->vendors[1].name, "Linked");
	embargo_policy_free(p);
	p = NULL;

	snprintf(link, sizeof(link), "%s/30-broken.policy", dir);
	REQUIRE(symlink("nowhere.policy", link) == 0);
	CHECK_EQ_INT(embargo_policy_load(dir, &p, &err), -ENOENT);
	snprintf(expect, sizeof(expect), "%s: cannot read policy: No such file or directory", link);
	CHECK_EQ_STR(embargo_policy_error_format(&err, got, sizeof(got)), expect);
	CHECK(p == NULL);
}

TEST(policy_digest_lists)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p = NULL;
	const struct embargo_rule *r;
	char abs_line[4200], expect[4200];

	put(test_tmpdir(), "lists/plain.sha256",
	    "# a plain list\n\n" H1 "\n   \n\t# indented comment\n" H2 "\n", false);
	put(test_tmpdir(), "lists/packed.sha256.gz", H3 "\n" H4 "\n", true);
	put(test_tmpdir(), "lists/gz-without-suffix", "# gzip magic, no .gz\n" H4 "\n", true);
	snprintf(abs_line, sizeof(abs_line), "sha256-list \"%s\"\n", path_in("lists/packed.sha256.gz"));
	put(test_tmpdir(), "sub/x.policy",
	    "vendor One\nsha256-list ../lists/plain.sha256\n"
	    "vendor Two\nsha256-list \"../lists/gz-without-suffix\"\n",
	    false);
	{
		char text[8192];

		snprintf(text, sizeof(text), "vendor Three\n%s", abs_line);
		put(test_tmpdir(), "sub/y.policy", text, false);
	}
	{
		struct embargo_policy_error err;
		char msg[8192];

		CHECK_EQ_INT(embargo_policy_load(path_in("sub"), &p, &err), 0);
		if (!p)
			test_fail(__FILE__, __LINE__, "%s",
				  embargo_policy_error_format(&err, msg, sizeof(msg)));
	}
	REQUIRE(p);
	CHECK_EQ_INT(p->n_rules, 4);
	CHECK_EQ_INT(p->n_duplicates, 1); /* H4 from Three's list: Two listed it first */
	REQUIRE(p->n_sources == 5);
	snprintf(expect, sizeof(expect), "%s/../lists/plain.sha256", path_in("sub"));
	CHECK_EQ_STR(p->sources[1], expect);
	CHECK_EQ_STR(p->sources[4], path_in("lists/packed.sha256.gz"));

	r = lookup_hex(p, H2);
	REQUIRE(r);
	CHECK_EQ_INT(r->vendor, 0);
	CHECK_EQ_INT(r->source, 1);
	CHECK_EQ_INT(r->line, 6);
	CHECK_EQ_INT(r->column, 1);
	CHECK(r->label == NULL);
	snprintf(expect, sizeof(expect), "%s/../lists/plain.sha256:6", path_in("sub"));
	CHECK_EQ_STR(embargo_rule_location(p, r, abs_line, sizeof(abs_line)), expect);
	r = lookup_hex(p, H3);
	REQUIRE(r);
	CHECK_EQ_INT(r->vendor, 2);
	CHECK_EQ_INT(r->source, 4);
	CHECK_EQ_INT(r->line, 1);
	r = lookup_hex(p, H4);
	REQUIRE(r);
	CHECK_EQ_INT(r->vendor, 1);
	CHECK_EQ_INT(r->line, 2);
	CHECK_EQ_INT(p->vendors[0].n_rules, 2);
	CHECK_EQ_INT(p->vendors[1].n_rules, 1);
	CHECK_EQ_INT(p->vendors[2].n_rules, 1);
}

TEST(policy_sha256sum_lists)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p = NULL;
	const struct embargo_rule *r;

	/* What `sha256sum` and `sha256sum -b` print, including its escaped-name form. */
	put(test_tmpdir(), "inv.sha256",
	    H1 "  /opt/kaspersky/kesl/bin/kesl\n"
	       "FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210 *kesl-control\n"
	       "\\" H3 "  /opt/kaspersky/odd\\nname\n"
	       "  " H4 "   leading space\tand tab  \n",
	    false);
	p = load_text("vendor K\nsha256-list inv.sha256\n");
	REQUIRE(p);
	CHECK_EQ_INT(p->n_rules, 4);
	r = lookup_hex(p, H1);
	REQUIRE(r);
	CHECK_EQ_STR(r->label, "/opt/kaspersky/kesl/bin/kesl");
	r = lookup_hex(p, H2);
	REQUIRE(r);
	CHECK_EQ_STR(r->label, "kesl-control");
	r = lookup_hex(p, H3);
	REQUIRE(r);
	CHECK_EQ_STR(r->label, "/opt/kaspersky/odd\\nname"); /* kept as sha256sum wrote it */
	CHECK_EQ_INT(r->column, 2);
	r = lookup_hex(p, H4);
	REQUIRE(r);
	CHECK_EQ_STR(r->label, " leading space\tand tab  ");
	CHECK_EQ_INT(r->column, 3);
}

TEST(policy_comments_everywhere)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p = NULL;

	put(test_tmpdir(), "l.sha256", "#only\n#" H2 "\n", false);
	p = load_text("#\n"
		      "   # indented\n"
		      "vendor \"#not a comment\"# comment right after a string\n"
		      "vendor V mode audit reason \"r # r\" # trailing\n"
		      "entity E#glued\n"
		      "sha256 " H1 "#glued\n"
		      "sha256 " H2 " label x # and more\n"
		      "sha256-list l.sha256 # an empty list\n"
		      "# end");
	REQUIRE(p);
	REQUIRE(p->n_vendors == 2);
	CHECK_EQ_STR(p->vendors[0].name, "#not a comment");
	CHECK_EQ_STR(p->vendors[1].reason, "r # r");
	CHECK_EQ_STR(p->vendors[1].entities[0], "E");
	CHECK_EQ_INT(p->n_rules, 2);
	CHECK_EQ_STR(lookup_hex(p, H2)->label, "x");
}

TEST(policy_crlf)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p = NULL;

	put(test_tmpdir(), "l.sha256", "# windows\r\n" H1 "  C:\\kaspersky\\avp.exe\r\n\r\n" H2 "\r\n",
	    false);
	p = load_text("\xef\xbb\xbfvendor \"K\" mode enforce reason \"r\"\r\n"
		      "entity \"AO\"\r\n"
		      "\r\n"
		      "sha256 " H3 " label \"l\"\r\n"
		      "sha256-list l.sha256 # list\r\n"
		      "sha256 " H4 "\r");
	REQUIRE(p);
	CHECK_EQ_STR(p->vendors[0].name, "K");
	CHECK_EQ_STR(p->vendors[0].reason, "r");
	CHECK_EQ_INT(p->vendors[0].mode, EMBARGO_MODE_ENFORCE);
	CHECK_EQ_STR(p->vendors[0].entities[0], "AO");
	CHECK_EQ_INT(p->n_rules, 4);
	CHECK_EQ_STR(lookup_hex(p, H1)->label, "C:\\kaspersky\\avp.exe");
	CHECK(lookup_hex(p, H2)->label == NULL);
	CHECK_EQ_STR(lookup_hex(p, H3)->label, "l");
	CHECK_EQ_INT(lookup_hex(p, H4)->line, 6);
}

TEST(policy_modes)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p =
		load_text("vendor A mode audit\nvendor B mode \"enforce\" reason x\nvendor C reason y\n");
	uint8_t m = 99;

	REQUIRE(p && p->n_vendors == 3);
	CHECK_EQ_INT(p->vendors[0].mode, EMBARGO_MODE_AUDIT);
	CHECK_EQ_INT(p->vendors[1].mode, EMBARGO_MODE_ENFORCE);
	CHECK_EQ_INT(p->vendors[2].mode, EMBARGO_MODE_INHERIT);
	CHECK(p->vendors[0].reason == NULL);

	CHECK_EQ_STR(embargo_mode_name(EMBARGO_MODE_INHERIT), "inherit");
	CHECK_EQ_STR(embargo_mode_name(EMBARGO_MODE_AUDIT), "audit");
	CHECK_EQ_STR(embargo_mode_name(EMBARGO_MODE_ENFORCE), "enforce");
	CHECK_EQ_STR(embargo_mode_name(77), "unknown");
	CHECK_EQ_INT(embargo_mode_from_string("audit", &m), 0);
	CHECK_EQ_INT(m, EMBARGO_MODE_AUDIT);
	CHECK_EQ_INT(embargo_mode_from_string("enforce", &m), 0);
	CHECK_EQ_INT(m, EMBARGO_MODE_ENFORCE);
	CHECK_EQ_INT(embargo_mode_from_string("inherit", &m), 0);
	CHECK_EQ_INT(m, EMBARGO_MODE_INHERIT);
	CHECK_EQ_INT(embargo_mode_from_string("Enforce", &m), -EINVAL);
	CHECK_EQ_INT(embargo_mode_from_string("", &m), -EINVAL);
	CHECK_EQ_INT(embargo_mode_from_string(NULL, &m), -EINVAL);
	CHECK_EQ_INT(m, EMBARGO_MODE_INHERIT);
}

/* strict: as written, else on exactly for vendors with identity rules. */
TEST(policy_strict)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p =
		load_text("vendor A\nsha256 " H1 "\nvendor B\npath /opt/b/\nvendor C\nstrict no\npackage c\n"
			  "vendor D\nstrict yes\nsha256 " H2 "\n");
	_cleanup_(embargo_policy_freep) struct embargo_policy *q =
		load_text("vendor A\nsha256 " H1 "\nvendor C\nstrict no\nsigner-org \"C\"\n");
	_cleanup_(embargo_policy_freep) struct embargo_policy *r = load_text("vendor A\nsha256 " H1 "\n");

	REQUIRE(p && p->n_vendors == 4 && q && r);
	CHECK(!embargo_vendor_strict(p, 0));
	CHECK(embargo_vendor_strict(p, 1));
	CHECK(!embargo_vendor_strict(p, 2));
	CHECK(embargo_vendor_strict(p, 3));
	CHECK(!embargo_vendor_strict(p, 4));
	CHECK_EQ_INT(p->vendors[2].strict_line, 6);
	CHECK_EQ_INT(p->vendors[1].strict_line, 0);
	CHECK(embargo_policy_strict_identity(p));
	/* Identity rules, but only of a vendor that said no; and none at all. */
	CHECK(!embargo_policy_strict_identity(q));
	CHECK(!embargo_policy_strict_identity(r));
}

TEST(policy_duplicates)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p = NULL;
	const struct embargo_rule *r;

	put(test_tmpdir(), "l.sha256", H1 "  from-list\n" H2 "\n" H2 "\n", false);
	p = load_text("vendor A\n"
		      "sha256 " H1 " label first\n"
		      "sha256 " H1 " label second\n"
		      "vendor B\n"
		      "sha256 " H1 " label third\n"
		      "sha256-list l.sha256\n"
		      "sha256 " H3 "\n");
	REQUIRE(p);
	CHECK_EQ_INT(p->n_rules, 3);
	CHECK_EQ_INT(p->n_duplicates, 4);
	r = lookup_hex(p, H1);
	REQUIRE(r);
	CHECK_EQ_STR(r->label, "first");
	CHECK_EQ_INT(r->vendor, 0);
	CHECK_EQ_INT(r->line, 2);
	r = lookup_hex(p, H2);
	REQUIRE(r);
	CHECK_EQ_INT(r->line, 2);
	CHECK_EQ_INT(r->source, 1);
	CHECK_EQ_INT(p->vendors[0].n_rules, 1);
	CHECK_EQ_INT(p->vendors[1].n_rules, 2);
}

/* Digests sharing their first 8 bytes land in one bucket and compare on the rest: still sorted, and the
 * first listing of each still wins. */
TEST(policy_crafted_digests)
{
	const unsigned n = 3000;
	_cleanup_free_ char *list = malloc((size_t)n * 2 * 80);
	_cleanup_(embargo_policy_freep) struct embargo_policy *p = NULL;
	size_t len = 0;

	REQUIRE(list);
	/* Vendor A lists 0..n-1 (line i + 1), vendor B lists n-1..0 again: all duplicates of A's. */
	for (unsigned pass = 0; pass < 2; pass++)
		for (unsigned k = 0; k < n; k++) {
			unsigned i = pass ? n - 1 - k : k;

			len += (size_t)sprintf(list + len, "%s%s%056x\n", pass && k == 0 ? "#B\n" : "",
					       "abcdef01", i * 2654435761u);
		}
	put(test_tmpdir(), "crafted.sha256", list, false);
	{
		char *b = strstr(list, "#B\n");

		REQUIRE(b);
		put(test_tmpdir(), "b.sha256", b, false);
		*b = '\0';
		put(test_tmpdir(), "a.sha256", list, false);
	}
	p = load_text("vendor A\nsha256-list a.sha256\nvendor B\nsha256-list b.sha256\n");
	REQUIRE(p);
	CHECK_EQ_INT(p->n_rules, n);
	CHECK_EQ_INT(p->n_duplicates, n);
	CHECK_EQ_INT(p->vendors[0].n_rules, n);
	CHECK_EQ_INT(p->vendors[1].n_rules, 0);
	for (size_t i = 0; i + 1 < p->n_rules; i++)
		CHECK(memcmp(p->rules[i].sha256, p->rules[i + 1].sha256, 32) < 0);
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].vendor != 0 || p->rules[i].source != 1)
			test_fail(__FILE__, __LINE__, "rule %zu is vendor %u source %u", i,
				  p->rules[i].vendor, p->rules[i].source);
}

TEST(policy_lookup)
{
	static const char *const hex[] = { H1, H2, H3, H4 };
	_cleanup_(embargo_policy_freep) struct embargo_policy *p =
		load_text("vendor V\nsha256 " H1 "\nsha256 " H2 "\nsha256 " H3 "\nsha256 " H4 "\n");
	uint8_t d[32];

	REQUIRE(p && p->n_rules == 4);
	for (size_t i = 0; i + 1 < p->n_rules; i++)
		CHECK(memcmp(p->rules[i].sha256, p->rules[i + 1].sha256, 32) < 0);
	for (size_t i = 0; i < ARRAY_SIZE(hex); i++) {
		const struct embargo_rule *r = lookup_hex(p, hex[i]);

		REQUIRE(r);
		CHECK_EQ_INT(r->line, i + 2);
	}
	memset(d, 0, sizeof(d));
	CHECK(embargo_policy_lookup(p, d) == NULL);
	memset(d, 0xff, sizeof(d));
	CHECK(embargo_policy_lookup(p, d) == NULL);
	digest(H1, d);
	d[31] ^= 1;
	CHECK(embargo_policy_lookup(p, d) == NULL);
	CHECK(embargo_policy_lookup(NULL, d) == NULL);
}

TEST(policy_empty)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p = load_text("# nothing\n\n   \n");
	_cleanup_(embargo_policy_freep) struct embargo_policy *q = NULL;
	_cleanup_(embargo_policy_freep) struct embargo_policy *z = NULL;

	REQUIRE(p);
	CHECK_EQ_INT(p->n_vendors, 0);
	CHECK_EQ_INT(p->n_rules, 0);
	CHECK_EQ_INT(p->n_sources, 1);
	CHECK(embargo_policy_lookup(p, (const uint8_t *)H1) == NULL);

	q = load_text("vendor \"Nothing yet\"\n");
	REQUIRE(q);
	CHECK_EQ_INT(q->n_vendors, 1);
	CHECK_EQ_INT(q->vendors[0].n_rules, 0);
	CHECK_EQ_INT(q->vendors[0].n_entities, 0);
	CHECK(q->vendors[0].entities && q->vendors[0].entities[0] == NULL);

	z = load_text(""); /* a zero-byte file */
	REQUIRE(z);
	CHECK_EQ_INT(z->n_vendors, 0);
}

/* ---- identity rules --------------------------------------------------------------------------------- */

TEST(policy_identity_rules)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p = NULL;
	const struct embargo_ident_rule *r;
	char loc[4096], want[4096];
	uint8_t d[32];

	put(test_tmpdir(), "ca/root.pem", "-----BEGIN CERTIFICATE-----\n", false);
	p = load_text("vendor A\n"
		      "signer-org  \"AO KASPERSKY Lab\"   # folded\n"
		      "vendor B\n"
		      "signer-cn \"ÉDITEUR Ωmega\" verified\n"
		      "signer-cert " H2 "\n"
		      "package KESL\n"
		      "package-maintainer \"*Kaspersky*\"\n"
		      "path /opt/kaspersky/\n"
		      "path \"/opt/x/**/bin/*\"\n"
		      "path /usr/bin/kesl-control\n"
		      "signer-org \"Kaspersky*\"\n"
		      "trust-anchor ca/root.pem\n"
		      "component sha256 " H1 " label \"libkav.so\"\n"
		      "sha256 " H2 "\n");
	REQUIRE(p);
	REQUIRE(p->n_ident_rules == 9);
	r = &p->ident_rules[0];
	CHECK_EQ_INT(r->kind, EMBARGO_IDENT_SIGNER_ORG);
	CHECK_EQ_INT(r->vendor, 0);
	CHECK_EQ_STR(r->text, "ao kaspersky lab");
	CHECK_EQ_STR(r->written, "AO KASPERSKY Lab");
	CHECK(!r->glob && !r->verified);
	CHECK_EQ_INT(r->line, 2);
	CHECK_EQ_INT(r->column, 13);
	snprintf(want, sizeof(want), "%s:2", path_in("a.policy"));
	CHECK_EQ_STR(embargo_ident_rule_location(p, r, loc, sizeof(loc)), want);
	r = &p->ident_rules[1];
	CHECK_EQ_INT(r->kind, EMBARGO_IDENT_SIGNER_CN);
	CHECK_EQ_INT(r->vendor, 1);
	CHECK_EQ_STR(r->text, "éditeur ωmega");
	CHECK(r->verified);
	r = &p->ident_rules[2];
	CHECK_EQ_INT(r->kind, EMBARGO_IDENT_SIGNER_CERT);
	digest(H2, d);
	CHECK(memcmp(r->sha256, d, 32) == 0);
	CHECK(r->text == NULL);
	r = &p->ident_rules[3];
	CHECK_EQ_INT(r->kind, EMBARGO_IDENT_PACKAGE);
	CHECK_EQ_STR(r->text, "kesl");
	r = &p->ident_rules[4];
	CHECK_EQ_INT(r->kind, EMBARGO_IDENT_PACKAGE_MAINTAINER);
	CHECK_EQ_STR(r->text, "*kaspersky*");
	CHECK(r->glob);
	r = &p->ident_rules[5];
	CHECK_EQ_INT(r->kind, EMBARGO_IDENT_PATH);
	CHECK_EQ_STR(r->text, "/opt/kaspersky/");
	CHECK(r->prefix && !r->glob);
	r = &p->ident_rules[6];
	CHECK_EQ_STR(r->text, "/opt/x/**/bin/*");
	CHECK(r->glob && !r->prefix);
	r = &p->ident_rules[7];
	CHECK_EQ_STR(r->text, "/usr/bin/kesl-control"); /* paths are not folded */
	CHECK(!r->glob && !r->prefix);
	CHECK(p->ident_rules[8].glob);
	REQUIRE(p->n_trust_anchors == 1);
	CHECK_EQ_STR(p->trust_anchors[0].path, path_in("ca/root.pem"));
	CHECK_EQ_INT(p->trust_anchors[0].line, 12);
	/* The component is a digest rule like any other, flagged; a plain digest is not. */
	REQUIRE(p->n_rules == 2);
	CHECK(lookup_hex(p, H1) && lookup_hex(p, H1)->component);
	CHECK_EQ_STR(lookup_hex(p, H1)->label, "libkav.so");
	CHECK(lookup_hex(p, H2) && !lookup_hex(p, H2)->component);
	CHECK_EQ_INT(p->vendors[1].n_rules, 2);
	CHECK_EQ_STR(embargo_ident_kind_name(EMBARGO_IDENT_PACKAGE_MAINTAINER), "package-maintainer");
}

TEST(policy_component_duplicates)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p = NULL;

	/* The first listing wins the vendor and label, but a component stays one whoever listed it first. */
	p = load_text("vendor A\nsha256 " H1 " label first\nvendor B\ncomponent sha256 " H1 "\n");
	REQUIRE(p);
	REQUIRE(p->n_rules == 1);
	CHECK(p->rules[0].component);
	CHECK_EQ_INT(p->rules[0].vendor, 0);
	CHECK_EQ_STR(p->rules[0].label, "first");
	CHECK_EQ_INT(p->n_duplicates, 1);
}

TEST(policy_error_format)
{
	struct embargo_policy_error e = { .file = "x.policy", .line = 0, .column = 0, .message = "m" };
	char buf[64];

	CHECK_EQ_STR(embargo_policy_error_format(&e, buf, sizeof(buf)), "x.policy: m");
	e.line = 3;
	CHECK_EQ_STR(embargo_policy_error_format(&e, buf, sizeof(buf)), "x.policy:3: m");
	e.column = 7;
	CHECK_EQ_STR(embargo_policy_error_format(&e, buf, sizeof(buf)), "x.policy:3:7: m");
	CHECK_EQ_STR(embargo_policy_error_format(&e, buf, 6), "x.pol");
	CHECK_EQ_INT(embargo_policy_load(NULL, NULL, &e), -EINVAL);
}

/* The policy that ships, loaded as `make run` loads it (the tests run from the repository root). */
TEST(policy_shipped)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p = load_path("policies/kaspersky.policy");
	const struct embargo_vendor *v;

	REQUIRE(p);
	REQUIRE(p->n_vendors == 1);
	v = &p->vendors[0];
	CHECK_EQ_STR(v->name, "Kaspersky");
	CHECK_EQ_INT(v->mode, EMBARGO_MODE_INHERIT);
	REQUIRE(v->reason);
	CHECK(strstr(v->reason, "BIS Final Determination") != NULL);
	CHECK(strstr(v->reason, "EO 13873") != NULL);
	CHECK(strstr(v->reason, "15 CFR Part 7") != NULL);
	REQUIRE(v->n_entities == 3);
	CHECK_EQ_STR(v->entities[0], "AO Kaspersky Lab");
	CHECK_EQ_STR(v->entities[1], "OOO Kaspersky Group");
	CHECK_EQ_STR(v->entities[2], "Kaspersky Labs Limited");
	CHECK_EQ_INT(p->n_rules, 0);
	CHECK_EQ_INT(v->n_rules, 0);
	/* Identity rules: 6 organisations, 3 common names, 3 packages, 1 maintainer glob, 2 paths. */
	REQUIRE(p->n_ident_rules == 15);
	CHECK_EQ_INT(p->ident_rules[0].kind, EMBARGO_IDENT_SIGNER_ORG);
	CHECK_EQ_STR(p->ident_rules[0].text, "ao kaspersky lab");
	CHECK_EQ_STR(p->ident_rules[5].text, "kaspersky lab, inc.");
	CHECK_EQ_INT(p->ident_rules[8].kind, EMBARGO_IDENT_SIGNER_CN);
	CHECK_EQ_STR(p->ident_rules[9].text, "kesl");
	CHECK_EQ_INT(p->ident_rules[12].kind, EMBARGO_IDENT_PACKAGE_MAINTAINER);
	CHECK_EQ_STR(p->ident_rules[13].text, "/opt/kaspersky/");
	CHECK_EQ_STR(p->ident_rules[14].text, "/var/opt/kaspersky/");
	for (size_t i = 0; i < p->n_ident_rules; i++)
		CHECK(!p->ident_rules[i].verified && p->ident_rules[i].vendor == 0);
	CHECK_EQ_INT(p->n_trust_anchors, 0);

	/* And as installed: the directory. */
	embargo_policy_free(p);
	p = load_path("policies");
	REQUIRE(p);
	CHECK_EQ_INT(p->n_vendors, 1);
}

/* ---- speed ------------------------------------------------------------------------------------------ */

/* N_1M lines (with a sha256sum file name column when names), plain or gzip (level 6, the default). */
static int write_1m(const char *path, bool gz, bool names)
{
	_cleanup_free_ char *buf = malloc(1 << 20);
	_cleanup_close_ int fd = -1;
	gzFile g = NULL;
	size_t n = 0;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	if (gz)
		g = gzopen(path, "wbe");
	else
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (gz ? !g : fd < 0)
		return -EIO;
	for (uint32_t i = 0; i < N_1M && r == 0; i++) {
		uint8_t d[32];

		nth_digest(i, d);
		hex_encode(d, 32, buf + n);
		n += 64;
		if (names)
			n += (size_t)sprintf(buf + n, "  /opt/kaspersky/kesl/lib/file-%u.so", i);
		buf[n++] = '\n';
		if (n > (1 << 20) - 256 || i == N_1M - 1) {
			if (gz)
				r = gzwrite(g, buf, (unsigned)n) == (int)n ? 0 : -EIO;
			else
				r = write_all(fd, buf, n);
			n = 0;
		}
	}
	if (gz && gzclose(g) != Z_OK)
		r = -EIO;
	return r;
}

static double load_1m(const char *list)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p = NULL;
	char text[4096];
	uint64_t t0, t1;

	snprintf(text, sizeof(text), "vendor \"Kaspersky\"\nsha256-list %s\n", list);
	put(test_tmpdir(), "big.policy", text, false);
	t0 = now_ns();
	p = load_path(path_in("big.policy"));
	t1 = now_ns();
	if (!p)
		return -1;
	CHECK_EQ_INT(p->n_rules, N_1M);
	CHECK_EQ_INT(p->n_duplicates, 0);
	CHECK_EQ_INT(p->vendors[0].n_rules, N_1M);
	for (size_t i = 0; i + 1 < p->n_rules; i += 997)
		CHECK(memcmp(p->rules[i].sha256, p->rules[i + 1].sha256, 32) < 0);
	for (uint32_t i = 0; i < N_1M; i += 99991) {
		uint8_t d[32];
		const struct embargo_rule *rule;

		nth_digest(i, d);
		rule = embargo_policy_lookup(p, d);
		if (!rule) {
			test_fail(__FILE__, __LINE__, "digest %u not found", i);
			continue;
		}
		CHECK_EQ_INT(rule->line, i + 1);
		CHECK_EQ_INT(rule->source, 1);
	}
	{
		uint8_t d[32];

		nth_digest(N_1M, d);
		CHECK(embargo_policy_lookup(p, d) == NULL);
	}
	return (double)(t1 - t0) / 1e9;
}

TEST(policy_load_1m)
{
	double plain, gz, named;

	REQUIRE(write_1m(path_in("1m.sha256"), false, false) == 0);
	REQUIRE(write_1m(path_in("1m.sha256.gz"), true, false) == 0);
	REQUIRE(write_1m(path_in("1m-names.sha256"), false, true) == 0);
	plain = load_1m("1m.sha256");
	gz = load_1m("1m.sha256.gz");
	named = load_1m("1m-names.sha256");
	printf("# policy_load_1m: plain %.3f s, gz %.3f s\n", plain, gz);
	printf("# policy_load_1m: sha256sum format with file names %.3f s\n", named);
	/* Generous: the target is well under a second; CI machines vary. */
	CHECK(plain >= 0 && plain < 3.0);
	CHECK(gz >= 0 && gz < 3.0);
	CHECK(named >= 0 && named < 3.0);
}

/* A reload carries what a rule taught to the same rule of the new policy, wherever it now is. */
TEST(policy_same_ident_rule)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *a =
		load_text("vendor K\npath /opt/kaspersky/\npackage kesl\n");
	struct embargo_policy *b;

	REQUIRE(a && a->n_ident_rules == 2);
	/* Moved down a line, another rule before it: found. */
	b = load_text("vendor K\n\npackage klnagent\npackage kesl\npath /opt/kaspersky/\n");
	REQUIRE(b);
	CHECK(embargo_policy_same_ident_rule(b, a, &a->ident_rules[0]) == &b->ident_rules[2]);
	CHECK(embargo_policy_same_ident_rule(b, a, &a->ident_rules[1]) == &b->ident_rules[1]);
	embargo_policy_free(b);
	/* Another vendor's, or another value: not the same rule. */
	b = load_text("vendor D\npath /opt/kaspersky/\nvendor K\npath /opt/kaspersky/x/\n");
	REQUIRE(b);
	CHECK(embargo_policy_same_ident_rule(b, a, &a->ident_rules[0]) == NULL);
	CHECK(embargo_policy_same_ident_rule(b, a, &a->ident_rules[1]) == NULL);
	embargo_policy_free(b);
}

/* ---- untrusted files and bounds ---------------------------------------------------------------------- */

/* Loading path fails with want and the message expect (with "@" for the test's directory). */
static void check_load_error(const char *path, int want, const char *expect)
{
	struct embargo_policy *p = NULL;
	struct embargo_policy_error err;
	char full[8192], got[8192];

	expand(expect, test_tmpdir(), full, sizeof(full));
	CHECK_EQ_INT(embargo_policy_load(path, &p, &err), want);
	CHECK_EQ_STR(embargo_policy_error_format(&err, got, sizeof(got)), full);
	CHECK(p == NULL);
}

/* Anyone who could write a policy file, a list or a directory on their way could disable enforcement. */
TEST(policy_untrusted_modes)
{
	struct embargo_policy *p;
	char link[4200];

	put(test_tmpdir(), "a.policy", "vendor X\nsha256-list l.sha256\n", false);
	put(test_tmpdir(), "l.sha256", H1 "\n", false);
	p = load_path(path_in("a.policy"));
	CHECK(p && p->n_rules == 1);
	embargo_policy_free(p);

	REQUIRE(chmod(path_in("a.policy"), 0666) == 0);
	check_load_error(path_in("a.policy"), -EPERM,
			 "@/a.policy: untrusted policy: file @/a.policy is writable by others (mode 0666, "
			 "owner uid 0)");
	REQUIRE(chmod(path_in("a.policy"), 0620) == 0);
	check_load_error(path_in("a.policy"), -EPERM,
			 "@/a.policy: untrusted policy: file @/a.policy is writable by its group (mode "
			 "0620, owner uid 0)");
	REQUIRE(chmod(path_in("a.policy"), 0644) == 0);

	/* A list: the error is at the line that names it. */
	REQUIRE(chmod(path_in("l.sha256"), 0664) == 0);
	check_load_error(path_in("a.policy"), -EPERM,
			 "@/a.policy:2:13: untrusted digest list '@/l.sha256': file @/l.sha256 is writable "
			 "by its group (mode 0664, owner uid 0)");
	REQUIRE(chmod(path_in("l.sha256"), 0644) == 0);

	/* A directory on the way (the test's own), and a sticky one, which is fine. */
	REQUIRE(chmod(test_tmpdir(), 0777) == 0);
	check_load_error(path_in("a.policy"), -EPERM,
			 "@/a.policy: untrusted policy: directory @ is writable by others (mode 0777, owner "
			 "uid 0)");
	REQUIRE(chmod(test_tmpdir(), 01777) == 0);
	p = load_path(path_in("a.policy"));
	CHECK(p != NULL);
	embargo_policy_free(p);
	REQUIRE(chmod(test_tmpdir(), 0700) == 0);

	/* A policy directory: the directory itself, then each file in it. */
	put(test_tmpdir(), "d/x.policy", "vendor D\n", false);
	REQUIRE(chmod(path_in("d"), 0757) == 0);
	check_load_error(
		path_in("d"), -EPERM,
		"@/d: untrusted policy: directory @/d is writable by others (mode 0757, owner uid 0)");
	REQUIRE(chmod(path_in("d"), 0755) == 0);
	REQUIRE(chmod(path_in("d/x.policy"), 0646) == 0);
	check_load_error(
		path_in("d"), -EPERM,
		"@/d/x.policy: untrusted policy: file @/d/x.policy is writable by others (mode 0646, "
		"owner uid 0)");
	REQUIRE(chmod(path_in("d/x.policy"), 0644) == 0);

	/* A link is followed through its whole chain: into a writable directory, it is refused. */
	put(test_tmpdir(), "open/real.policy", "vendor Open\n", false);
	snprintf(link, sizeof(link), "%s", path_in("link.policy"));
	REQUIRE(symlink("open/./../open/real.policy", link) == 0);
	p = load_path(link);
	CHECK(p && p->n_vendors == 1);
	embargo_policy_free(p);
	REQUIRE(chmod(path_in("open"), 0777) == 0);
	check_load_error(
		link, -EPERM,
		"@/link.policy: untrusted policy: directory @/open is writable by others (mode 0777, "
		"owner uid 0)");
}

/* Files, directories and links owned by another user than root are refused (run as root). */
TEST(policy_untrusted_owners)
{
	char link[4200];

	if (geteuid() != 0) {
		printf("# skipped: not root\n");
		return;
	}
	put(test_tmpdir(), "a.policy", "vendor X\n", false);
	REQUIRE(chown(path_in("a.policy"), 1000, 1000) == 0);
	check_load_error(path_in("a.policy"), -EPERM,
			 "@/a.policy: untrusted policy: file @/a.policy is owned by uid 1000, not root (mode "
			 "0644)");
	REQUIRE(chown(path_in("a.policy"), 0, 0) == 0);

	put(test_tmpdir(), "sub/b.policy", "vendor Y\n", false);
	REQUIRE(chown(path_in("sub"), 1000, 0) == 0);
	check_load_error(path_in("sub/b.policy"), -EPERM,
			 "@/sub/b.policy: untrusted policy: directory @/sub is owned by uid 1000, not root "
			 "(mode 0755)");
	REQUIRE(chown(path_in("sub"), 0, 0) == 0);

	/* A link someone else made could be pointed at any file they like. */
	snprintf(link, sizeof(link), "%s", path_in("l.policy"));
	REQUIRE(symlink("a.policy", link) == 0);
	REQUIRE(lchown(link, 1000, 1000) == 0);
	check_load_error(link, -EPERM,
			 "@/l.policy: untrusted policy: symlink @/l.policy is owned by uid 1000, not root "
			 "(mode 0777)");
}

/* A gzip bomb or an endless list is an error, not an exhausted machine. */
TEST(policy_bounds)
{
	struct embargo_policy *p = NULL;
	struct embargo_policy_error err;
	char got[8192], expect[8192];

	put(test_tmpdir(), "a.policy", "vendor X\nsha256-list l.gz\n", false);
	{
		gzFile gz = gzopen(path_in("l.gz"), "wbe");

		REQUIRE(gz);
		for (uint32_t i = 0; i < 40000; i++) {
			uint8_t d[32];
			char hex[65];

			nth_digest(i, d);
			hex_encode(d, 32, hex);
			gzprintf(gz, "%s\n", hex);
		}
		gzclose(gz);
	}
	p = load_path(path_in("a.policy"));
	CHECK(p && p->n_rules == 40000);
	embargo_policy_free(p);
	p = NULL;

	/* 40000 lines of 65 bytes are 2.5 MiB: over a 2 MiB bound, under 3. */
	CHECK_EQ_INT(policy_load_bounded(path_in("a.policy"), 2 << 20, UINT32_MAX, &p, &err), -EFBIG);
	snprintf(expect, sizeof(expect), "%s: larger than 2 MiB (after decompression)", path_in("l.gz"));
	CHECK_EQ_STR(embargo_policy_error_format(&err, got, sizeof(got)), expect);
	CHECK(p == NULL);
	CHECK_EQ_INT(policy_load_bounded(path_in("a.policy"), 3 << 20, UINT32_MAX, &p, &err), 0);
	embargo_policy_free(p);
	p = NULL;

	CHECK_EQ_INT(policy_load_bounded(path_in("a.policy"), 3 << 20, 39999, &p, &err), -E2BIG);
	snprintf(expect, sizeof(expect), "%s:40000: too many digests (at most 39999)", path_in("l.gz"));
	CHECK_EQ_STR(embargo_policy_error_format(&err, got, sizeof(got)), expect);
	CHECK(p == NULL);

	/* The bounds the daemon uses. */
	CHECK_EQ_INT(POLICY_MAX_FILE_BYTES, 2ull << 30);
	CHECK_EQ_INT(POLICY_MAX_DIGESTS, 20000000);
}
