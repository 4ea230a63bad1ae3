// SPDX-License-Identifier: GPL-2.0
/* Package ownership: a private dpkg database written by hand, and rpm through stand-in programs. */
#include "test.h"

#include "pkg.h"
#include "util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "we");

	if (!f) {
		test_fail(__FILE__, __LINE__, "cannot write %s", path);
		return;
	}
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

/* <tmp>/dpkg: kesl (by the vendor), coreutils (multi-arch name), a package with no status entry. */
static const char *make_db(void)
{
	static char dir[4096];
	char path[4200];

	snprintf(dir, sizeof(dir), "%s/dpkg", test_tmpdir());
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/info", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/status", dir);
	write_file(path,
		   "Package: kesl\nStatus: install ok installed\nVersion: 12.0.0-6672\n"
		   "Maintainer: AO Kaspersky Lab <support@kaspersky.com>\nDescription: endpoint\n"
		   " Maintainer: not a field (a continuation line)\n\n\n"
		   "Package: coreutils\r\nStatus: install ok installed\r\nVersion: 9.1-1\r\n"
		   "Maintainer: Michael Stone <mstone@debian.org>\r\nOrigin: Debian\r\n",
		   0644);
	snprintf(path, sizeof(path), "%s/info/kesl.list", dir);
	write_file(path, "/.\n/opt\n/opt/kaspersky\n/opt/kaspersky/kesl/bin/kesl\n/bin/kesl-control\n", 0644);
	snprintf(path, sizeof(path), "%s/info/coreutils:amd64.list", dir);
	write_file(path, "/.\n/opt\n/usr/bin/ls\n", 0644);
	snprintf(path, sizeof(path), "%s/info/orphan.list", dir);
	write_file(path, "/opt/orphan/x", 0644); /* no final newline */
	snprintf(path, sizeof(path), "%s/info/kesl.md5sums", dir);
	write_file(path, "0123  opt/kaspersky/not-a-list\n", 0644);
	return dir;
}

TEST(pkg_dpkg_index)
{
	_cleanup_(embargo_pkg_db_freep) struct embargo_pkg_db *db = NULL;
	struct embargo_package *p = NULL;
	size_t n = 0;

	REQUIRE(embargo_pkg_db_open(make_db(), &db) == 0);
	CHECK_EQ_INT(embargo_pkg_db_size(db), 7);

	REQUIRE(embargo_pkg_db_lookup(db, "/opt/kaspersky/kesl/bin/kesl", &p, &n) == 0);
	REQUIRE(n == 1);
	CHECK_EQ_STR(p[0].manager, "dpkg");
	CHECK_EQ_STR(p[0].name, "kesl");
	CHECK_EQ_STR(p[0].version, "12.0.0-6672");
	CHECK_EQ_STR(p[0].maintainer, "AO Kaspersky Lab <support@kaspersky.com>");
	CHECK(p[0].vendor == NULL);
	embargo_packages_free(p, n);

	/* A directory listed by two packages: both. Multi-arch list names lose their ":arch". */
	p = NULL, n = 0;
	REQUIRE(embargo_pkg_db_lookup(db, "/opt", &p, &n) == 0);
	CHECK_EQ_INT(n, 2);
	embargo_packages_free(p, n);
	p = NULL, n = 0;
	REQUIRE(embargo_pkg_db_lookup(db, "/usr/bin/ls", &p, &n) == 0);
	REQUIRE(n == 1);
	CHECK_EQ_STR(p[0].name, "coreutils");
	CHECK_EQ_STR(p[0].version, "9.1-1");
	CHECK_EQ_STR(p[0].vendor, "Debian");
	embargo_packages_free(p, n);

	/* Merged /usr both ways. */
	p = NULL, n = 0;
	REQUIRE(embargo_pkg_db_lookup(db, "/bin/ls", &p, &n) == 0);
	CHECK_EQ_INT(n, 1);
	REQUIRE(embargo_pkg_db_lookup(db, "/usr/bin/kesl-control", &p, &n) == 0);
	REQUIRE(n == 2);
	CHECK_EQ_STR(p[1].name, "kesl");
	embargo_packages_free(p, n);

	/* No status entry: name only. Not listed: nothing. Not a prefix match. */
	p = NULL, n = 0;
	REQUIRE(embargo_pkg_db_lookup(db, "/opt/orphan/x", &p, &n) == 0);
	REQUIRE(n == 1);
	CHECK_EQ_STR(p[0].name, "orphan");
	CHECK(p[0].version == NULL && p[0].maintainer == NULL);
	embargo_packages_free(p, n);
	p = NULL, n = 0;
	REQUIRE(embargo_pkg_db_lookup(db, "/opt/kaspersky/kesl/bin", &p, &n) == 0);
	CHECK_EQ_INT(n, 0);
	REQUIRE(embargo_pkg_db_lookup(db, "/opt/kaspersky/not-a-list", &p, &n) == 0);
	CHECK_EQ_INT(n, 0);
	CHECK(p == NULL);
}

TEST(pkg_lookup_dpkg_and_missing)
{
	struct embargo_pkg_opts o = { .dpkg_admindir = make_db(), .no_rpm = true };
	struct embargo_pkg_db *db = NULL;
	struct embargo_package *p = NULL;
	char dir[4096];
	size_t n = 9;

	REQUIRE(embargo_pkg_lookup("/opt/kaspersky/kesl/bin/kesl", &o, &p, &n) == 0);
	REQUIRE(n == 1);
	CHECK_EQ_STR(p[0].name, "kesl");
	embargo_packages_free(p, n);
	/* No database at all: skipped, nothing owns anything. */
	snprintf(dir, sizeof(dir), "%s/nodpkg", test_tmpdir());
	CHECK_EQ_INT(embargo_pkg_db_open(dir, &db), -ENOENT);
	o.dpkg_admindir = dir;
	p = (struct embargo_package *)&o, n = 9;
	REQUIRE(embargo_pkg_lookup("/opt/kaspersky/kesl/bin/kesl", &o, &p, &n) == 0);
	CHECK_EQ_INT(n, 0);
	CHECK(p == NULL);
}

TEST(pkg_rpm)
{
	char rpm[4096], slow[4096], args[4096], script[8192];
	struct embargo_package *p = NULL;
	size_t n = 0;

	snprintf(args, sizeof(args), "%s/rpm-args", test_tmpdir());
	snprintf(rpm, sizeof(rpm), "%s/rpm", test_tmpdir());
	/* A stand-in that records its arguments and answers like rpm -qf (including the tab escapes
	 * rpm would have expanded). */
	snprintf(script, sizeof(script),
		 "#!/bin/sh\nprintf '%%s\\n' \"$@\" > %s\n"
		 "printf 'kesl\\t12.0.0-6672\\tKaspersky Lab\\tAO Kaspersky Lab\\tRSA/SHA256, Mon 01 Jan "
		 "2024, Key "
		 "ID 0123456789abcdef\\n'\n"
		 "printf 'klnagent64\\t15.0-1\\t(none)\\t(none)\\t(none)\\n'\n"
		 "echo 'file /x is not owned by any package'\nexit 1\n",
		 args);
	write_file(rpm, script, 0755);
	REQUIRE(embargo_pkg_rpm_lookup("/opt/kaspersky/kesl/bin/kesl", rpm, 0, &p, &n) == 0);
	REQUIRE(n == 2);
	CHECK_EQ_STR(p[0].manager, "rpm");
	CHECK_EQ_STR(p[0].name, "kesl");
	CHECK_EQ_STR(p[0].version, "12.0.0-6672");
	CHECK_EQ_STR(p[0].maintainer, "Kaspersky Lab");
	CHECK_EQ_STR(p[0].vendor, "AO Kaspersky Lab");
	CHECK_EQ_STR(p[0].signing_key, "0123456789abcdef");
	CHECK_EQ_STR(p[1].name, "klnagent64");
	CHECK(p[1].maintainer == NULL && p[1].vendor == NULL && p[1].signing_key == NULL);
	embargo_packages_free(p, n);
	{
		FILE *f = fopen(args, "re");
		char got[4096] = "";
		size_t k = f ? fread(got, 1, sizeof(got) - 1, f) : 0;

		if (f)
			fclose(f);
		got[k] = '\0';
		CHECK_EQ_STR(
			got,
			"-qf\n--queryformat\n%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{PACKAGER}\\t%{VENDOR}\\t%{"
			"SIGPGP:pgpsig}\\n\n/opt/kaspersky/kesl/bin/kesl\n");
	}

	/* A hung rpm is killed at the deadline. */
	snprintf(slow, sizeof(slow), "%s/rpm-slow", test_tmpdir());
	write_file(slow, "#!/bin/sh\nexec sleep 10\n", 0755);
	p = NULL, n = 0;
	{
		uint64_t t0 = now_ns();

		CHECK_EQ_INT(embargo_pkg_rpm_lookup("/x", slow, 200, &p, &n), -ETIMEDOUT);
		CHECK(now_ns() - t0 < 3000000000ull);
	}
	/* Absent: -ENOENT from the backend, skipped by embargo_pkg_lookup. */
	snprintf(slow, sizeof(slow), "%s/no-such-rpm", test_tmpdir());
	CHECK_EQ_INT(embargo_pkg_rpm_lookup("/x", slow, 0, &p, &n), -ENOENT);
	CHECK_EQ_INT(embargo_pkg_rpm_lookup("relative", rpm, 0, &p, &n), -EINVAL);
	{
		struct embargo_pkg_opts o = { .no_dpkg = true, .rpm = slow };

		CHECK_EQ_INT(embargo_pkg_lookup("/x", &o, &p, &n), 0);
		CHECK_EQ_INT(n, 0);
		o.rpm = rpm;
		REQUIRE(embargo_pkg_lookup("/x", &o, &p, &n) == 0);
		CHECK_EQ_INT(n, 2);
		embargo_packages_free(p, n);
	}
}

/* Who ships a content, wherever the copy is: dpkg's md5sums, with the package's status fields. */
TEST(pkg_dpkg_md5_owners)
{
	char dir[4200], path[4300], line[512];
	struct embargo_package *pkgs = NULL;
	uint8_t md5[MD5_LEN], other[MD5_LEN] = { 0x22 };
	char hex[2 * MD5_LEN + 1];
	size_t n = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/content", test_tmpdir());
	write_file(path, "the loader's bytes\n", 0644);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0);
	REQUIRE(embargo_md5_fd(fd, md5) == 0);
	close(fd);
	hex_encode(md5, MD5_LEN, hex);
	/* md5sum of "the loader's bytes\n", as coreutils computes it. */
	CHECK_EQ_STR(hex, "8655663de82bac9df1aa6565e872ed79");

	snprintf(dir, sizeof(dir), "%s/dpkg", test_tmpdir());
	REQUIRE(mkdir(dir, 0755) == 0);
	snprintf(path, sizeof(path), "%s/info", dir);
	REQUIRE(mkdir(path, 0755) == 0);
	snprintf(path, sizeof(path), "%s/status", dir);
	write_file(path,
		   "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\n"
		   "Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>\n\n"
		   "Package: kesl\nVersion: 12\nMaintainer: AO Kaspersky Lab\n\n",
		   0644);
	snprintf(path, sizeof(path), "%s/info/libc6:amd64.md5sums", dir);
	snprintf(line, sizeof(line), "00000000000000000000000000000000  usr/lib/other\n%s  usr/lib/ld.so\n",
		 hex);
	write_file(path, line, 0644);
	snprintf(path, sizeof(path), "%s/info/kesl.md5sums", dir);
	write_file(path, "11111111111111111111111111111111  opt/kaspersky/kesl/bin/kesl\n", 0644);
	snprintf(path, sizeof(path), "%s/info/kesl.list", dir);
	write_file(path, "/opt/kaspersky/kesl/bin/kesl\n", 0644);

	REQUIRE(embargo_dpkg_md5_owners(dir, md5, &pkgs, &n) == 0);
	REQUIRE(n == 1);
	CHECK_EQ_STR(pkgs[0].manager, "dpkg");
	CHECK_EQ_STR(pkgs[0].name, "libc6");
	CHECK_EQ_STR(pkgs[0].version, "2.36-9");
	CHECK_EQ_STR(pkgs[0].maintainer, "GNU Libc Maintainers <debian-glibc@lists.debian.org>");
	embargo_packages_free(pkgs, n);
	pkgs = NULL;
	n = 0;
	CHECK_EQ_INT(embargo_dpkg_md5_owners(dir, other, &pkgs, &n), 0);
	CHECK_EQ_INT(n, 0);
	snprintf(path, sizeof(path), "%s/none", test_tmpdir());
	CHECK_EQ_INT(embargo_dpkg_md5_owners(path, md5, &pkgs, &n), -ENOENT);
}
