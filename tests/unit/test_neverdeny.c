// SPDX-License-Identifier: GPL-2.0
/* What learning may never deny, and where a file may teach a digest from (neverdeny.h); dpkg by content. */
#include "test.h"

#include "neverdeny.h"
#include "pkg.h"
#include "util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

TEST(neverdeny_elf_interp)
{
	char buf[4096];
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	REQUIRE(fd >= 0);
	/* The unit tests are linked dynamically: they name a loader, by an absolute path. */
	CHECK_EQ_INT(embargo_elf_interp(fd, buf, sizeof(buf)), 0);
	CHECK(buf[0] == '/');
	CHECK(strstr(buf, "ld") != NULL);
	CHECK_EQ_INT(embargo_elf_interp(fd, buf, 4), -ENAMETOOLONG);
	close(fd);
	/* Not ELF: no loader. */
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0);
	CHECK_EQ_INT(embargo_elf_interp(fd, buf, sizeof(buf)), -ENOENT);
	close(fd);
}

TEST(neverdeny_maps_libc)
{
	char path[4200], buf[4096];
	FILE *f;

	CHECK_EQ_INT(embargo_maps_libc("/proc/self/maps", buf, sizeof(buf)), 0);
	CHECK(strstr(buf, "/libc") != NULL);
	snprintf(path, sizeof(path), "%s/maps", test_tmpdir());
	f = fopen(path, "we");
	REQUIRE(f);
	fputs("7f00-7f10 r-xp 00000000 08:01 12 /usr/lib/x86_64-linux-gnu/libcrypto.so.3\n"
	      "7f10-7f20 r-xp 00000000 08:01 13 /usr/lib/x86_64-linux-gnu/libcap.so.2\n"
	      "7f20-7f30 r-xp 00000000 08:01 14 /lib/libc-2.31.so\n",
	      f);
	fclose(f);
	CHECK_EQ_INT(embargo_maps_libc(path, buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, "/lib/libc-2.31.so");
	f = fopen(path, "we");
	REQUIRE(f);
	fputs("7f00-7f10 r-xp 00000000 08:01 12 /usr/lib/libcrypto.so.3\n[heap]\n", f);
	fclose(f);
	CHECK_EQ_INT(embargo_maps_libc(path, buf, sizeof(buf)), -ENOENT);
}

TEST(neverdeny_writable_dirs)
{
	char dir[4200], file[4300], why[4200];

	/* Root's own directories: nobody else can make a name there. */
	CHECK_EQ_INT(embargo_path_writable_by_others("/proc/self/exe", why, sizeof(why)) >= 0, 1);
	CHECK_EQ_INT(embargo_path_writable_by_others("relative/x", why, sizeof(why)), -EINVAL);
	/* /tmp is sticky and world-writable: anyone can create a name in it, so it counts. */
	if (geteuid() == 0) {
		snprintf(dir, sizeof(dir), "%s/root-only", test_tmpdir());
		REQUIRE(mkdir(dir, 0755) == 0);
		snprintf(file, sizeof(file), "%s/f", dir);
		CHECK_EQ_INT(embargo_path_writable_by_others("/usr/bin/true", why, sizeof(why)), 0);
		/* The test directory sits under /tmp (or $TMPDIR): writable by others higher up. */
		if (strncmp(test_tmpdir(), "/tmp/", 5) == 0) {
			CHECK_EQ_INT(embargo_path_writable_by_others(file, why, sizeof(why)), 1);
			CHECK_EQ_STR(why, "/tmp");
		}
		REQUIRE(chmod(dir, 0775) == 0);
		CHECK_EQ_INT(embargo_path_writable_by_others(file, why, sizeof(why)), 1);
		CHECK_EQ_STR(why, dir);
		REQUIRE(chmod(dir, 01777) == 0);
		CHECK_EQ_INT(embargo_path_writable_by_others(file, why, sizeof(why)), 1);
		CHECK_EQ_STR(why, dir);
	}
	snprintf(file, sizeof(file), "%s/nonexistent/f", test_tmpdir());
	CHECK_EQ_INT(embargo_path_writable_by_others(file, why, sizeof(why)), -ENOENT);
}

TEST(neverdeny_digest_set)
{
	struct embargo_digest_set s = { 0 };
	uint8_t a[SHA256_LEN] = { 1 }, b[SHA256_LEN] = { 2 };

	CHECK(embargo_digest_set_find(&s, a) == NULL);
	for (int i = 0; i < 20; i++) {
		uint8_t x[SHA256_LEN] = { 3, (uint8_t)i };

		CHECK_EQ_INT(embargo_digest_set_add(&s, x, "x"), 0);
	}
	CHECK_EQ_INT(embargo_digest_set_add(&s, a, "the dynamic loader"), 0);
	CHECK_EQ_INT(embargo_digest_set_add(&s, a, "again"), 0);
	CHECK_EQ_INT(s.n, 21);
	CHECK_EQ_STR(embargo_digest_set_find(&s, a), "the dynamic loader");
	CHECK(embargo_digest_set_find(&s, b) == NULL);
	embargo_digest_set_free(&s);
	CHECK_EQ_INT(s.n, 0);
}
