// SPDX-License-Identifier: GPL-2.0
/* The probe library's building blocks: kernel configuration, command line, lsm= suggestion, small checks. */
#include "test.h"

#include "probe.h"
#include "util.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <zlib.h>

static const char sample_config[] = "#\n"
				    "# Automatically generated file; DO NOT EDIT.\n"
				    "#\n"
				    "CONFIG_BPF_LSM=y\n"
				    "# CONFIG_IMA is not set\n"
				    "CONFIG_IMA_APPRAISE=m\n"
				    "CONFIG_LSM=\"lockdown,capability,landlock,yama,apparmor\"\n"
				    "CONFIG_ESCAPED=\"a\\\"b\\\\c\"\n"
				    "CONFIG_NR_CPUS=8192\n"
				    "CONFIG_EMPTY=\"\"\n"
				    "CONFIG_LAST=y";

static const char *tmp_path(const char *name)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", test_tmpdir(), name);
	return buf;
}

static void write_file(const char *path, const char *text, size_t len)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write_all(fd, text, len) < 0)
		test_fail(__FILE__, __LINE__, "cannot write %s", path);
}

static void write_gz(const char *path, const char *text, size_t len)
{
	gzFile gz = gzopen(path, "wb");

	if (!gz || gzwrite(gz, text, (unsigned)len) != (int)len)
		test_fail(__FILE__, __LINE__, "cannot write %s", path);
	if (gz)
		gzclose(gz);
}

/* The values of sample_config, however it was stored. */
static void check_sample(const struct embargo_kconfig *k)
{
	char buf[128], small[4];

	CHECK_EQ_STR(embargo_kconfig_get(k, "CONFIG_BPF_LSM", buf, sizeof(buf)), "y");
	CHECK_EQ_STR(embargo_kconfig_get(k, "CONFIG_IMA_APPRAISE", buf, sizeof(buf)), "m");
	CHECK_EQ_STR(embargo_kconfig_get(k, "CONFIG_NR_CPUS", buf, sizeof(buf)), "8192");
	CHECK_EQ_STR(embargo_kconfig_get(k, "CONFIG_LSM", buf, sizeof(buf)),
		     "lockdown,capability,landlock,yama,apparmor");
	CHECK_EQ_STR(embargo_kconfig_get(k, "CONFIG_ESCAPED", buf, sizeof(buf)), "a\"b\\c");
	CHECK_EQ_STR(embargo_kconfig_get(k, "CONFIG_EMPTY", buf, sizeof(buf)), "");
	/* The last line has no newline. */
	CHECK_EQ_STR(embargo_kconfig_get(k, "CONFIG_LAST", buf, sizeof(buf)), "y");
	/* "is not set", absent, and a prefix of a set option are all "not set". */
	CHECK(embargo_kconfig_get(k, "CONFIG_IMA", buf, sizeof(buf)) == NULL);
	CHECK(embargo_kconfig_get(k, "CONFIG_NOPE", buf, sizeof(buf)) == NULL);
	CHECK(embargo_kconfig_get(k, "CONFIG_BPF", buf, sizeof(buf)) == NULL);
	CHECK(embargo_kconfig_get(k, "BPF_LSM", buf, sizeof(buf)) == NULL);
	/* A short buffer gets a truncated, terminated value. */
	CHECK_EQ_STR(embargo_kconfig_get(k, "CONFIG_LSM", small, sizeof(small)), "loc");
	CHECK_EQ_STR(embargo_kconfig_get(k, "CONFIG_NR_CPUS", small, sizeof(small)), "819");
}

TEST(probe_kconfig_plain)
{
	struct embargo_kconfig k;

	write_file(tmp_path("config"), sample_config, sizeof(sample_config) - 1);
	REQUIRE(embargo_kconfig_load(&k, tmp_path("config")) == 0);
	CHECK_EQ_STR(k.path, tmp_path("config"));
	CHECK_EQ_INT(k.len, sizeof(sample_config) - 1);
	check_sample(&k);
	embargo_kconfig_free(&k);
	CHECK(k.text == NULL);
}

TEST(probe_kconfig_gzip)
{
	struct embargo_kconfig k;

	/* Recognised by content: the name says nothing (like /proc/config.gz, or a .gz that is plain). */
	write_gz(tmp_path("config.plain-name"), sample_config, sizeof(sample_config) - 1);
	REQUIRE(embargo_kconfig_load(&k, tmp_path("config.plain-name")) == 0);
	CHECK_EQ_INT(k.len, sizeof(sample_config) - 1);
	check_sample(&k);
	embargo_kconfig_free(&k);
}

TEST(probe_kconfig_errors)
{
	struct embargo_kconfig k;
	char gz[512], buf[16];
	struct stat st;
	int fd;

	CHECK_EQ_INT(embargo_kconfig_load(&k, tmp_path("missing")), -ENOENT);
	CHECK(k.text == NULL);
	CHECK(embargo_kconfig_get(&k, "CONFIG_BPF_LSM", buf, sizeof(buf)) == NULL);
	CHECK_EQ_INT(embargo_kconfig_load(&k, test_tmpdir()), -EINVAL);

	/* A gzip stream cut short is an error, not a shorter configuration. */
	write_gz(tmp_path("full.gz"), sample_config, sizeof(sample_config) - 1);
	fd = open(tmp_path("full.gz"), O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0);
	REQUIRE(fstat(fd, &st) == 0 && st.st_size > 20 && (size_t)st.st_size <= sizeof(gz));
	REQUIRE(read(fd, gz, (size_t)st.st_size) == st.st_size);
	close(fd);
	write_file(tmp_path("cut.gz"), gz, (size_t)st.st_size - 12);
	CHECK_EQ_INT(embargo_kconfig_load(&k, tmp_path("cut.gz")), -EBADMSG);
	CHECK(k.text == NULL);
}

TEST(probe_kconfig_running)
{
	struct embargo_kconfig k;
	char buf[16];
	int r = embargo_kconfig_load_running(&k);

	/* Depends on the machine: either a configuration that names itself, or a plain error. */
	if (r == 0) {
		CHECK(strncmp(k.path, "/boot/config-", 13) == 0 || strcmp(k.path, "/proc/config.gz") == 0);
		CHECK(embargo_kconfig_get(&k, "CONFIG_BPF_SYSCALL", buf, sizeof(buf)) != NULL);
	} else {
		CHECK(r == -ENOENT || r == -EACCES || r == -EPERM);
	}
	embargo_kconfig_free(&k);
}

TEST(probe_cmdline)
{
	static const char cl[] =
		"BOOT_IMAGE=/vmlinuz-6.1.0-13-amd64 root=UUID=1234 ro quiet ima_hash=sha1 "
		"xima_hash=md5 ima-hash=sha512 \"dyndbg=file a.c +p\" lsm=\"lockdown,yama,bpf\" "
		"nokey ro -- ima_hash=md4 init_arg";
	char buf[64], small[4];

	/* The last occurrence wins; '-' and '_' are the same in a name; a longer name does not match. */
	CHECK_EQ_STR(embargo_cmdline_get(cl, "ima_hash", buf, sizeof(buf)), "sha512");
	CHECK_EQ_STR(embargo_cmdline_get(cl, "ima-hash", buf, sizeof(buf)), "sha512");
	CHECK_EQ_STR(embargo_cmdline_get(cl, "xima_hash", buf, sizeof(buf)), "md5");
	/* Values may contain '=' and, quoted, white space; the quotes go. */
	CHECK_EQ_STR(embargo_cmdline_get(cl, "root", buf, sizeof(buf)), "UUID=1234");
	CHECK_EQ_STR(embargo_cmdline_get(cl, "dyndbg", buf, sizeof(buf)), "file a.c +p");
	CHECK_EQ_STR(embargo_cmdline_get(cl, "lsm", buf, sizeof(buf)), "lockdown,yama,bpf");
	/* A flag has no value; what follows "--" is init's. */
	CHECK(embargo_cmdline_get(cl, "nokey", buf, sizeof(buf)) == NULL);
	CHECK(embargo_cmdline_get(cl, "init_arg", buf, sizeof(buf)) == NULL);
	CHECK(embargo_cmdline_get(cl, "hash", buf, sizeof(buf)) == NULL);
	CHECK(embargo_cmdline_get("", "lsm", buf, sizeof(buf)) == NULL);
	CHECK(embargo_cmdline_get("   \n", "lsm", buf, sizeof(buf)) == NULL);
	CHECK_EQ_STR(embargo_cmdline_get(" lsm=bpf\n", "lsm", buf, sizeof(buf)), "bpf");
	CHECK_EQ_STR(embargo_cmdline_get(cl, "lsm", small, sizeof(small)), "loc");
}

static const char *suggest(const char *active, char *buf, size_t size)
{
	struct embargo_probe p = {};

	snprintf(p.lsm_list, sizeof(p.lsm_list), "%s", active);
	return embargo_probe_lsm_suggestion(&p, buf, size);
}

TEST(probe_lsm_suggestion)
{
	char buf[300];

	/* Debian 12's default: bpf goes last, the others keep their order. */
	CHECK_EQ_STR(suggest("lockdown,capability,landlock,yama,apparmor", buf, sizeof(buf)),
		     "lsm=lockdown,capability,landlock,yama,apparmor,bpf");
	CHECK_EQ_STR(suggest("capability,selinux", buf, sizeof(buf)), "lsm=capability,selinux,bpf");
	CHECK_EQ_STR(suggest("capability", buf, sizeof(buf)), "lsm=capability,bpf");
	/* Already active: the list as it is. */
	CHECK_EQ_STR(suggest("lockdown,capability,landlock,bpf", buf, sizeof(buf)),
		     "lsm=lockdown,capability,landlock,bpf");
	CHECK_EQ_STR(suggest("bpf,capability", buf, sizeof(buf)), "lsm=bpf,capability");
	/* A name that only contains "bpf" is not bpf. */
	CHECK_EQ_STR(suggest("capability,bpfx,xbpf", buf, sizeof(buf)), "lsm=capability,bpfx,xbpf,bpf");
	/* Unknown list: Debian's usual set. */
	CHECK_EQ_STR(suggest("", buf, sizeof(buf)), "lsm=lockdown,capability,landlock,yama,apparmor,bpf");
}

TEST(probe_fanotify_perm)
{
	const char *step = "unset";
	int r = embargo_probe_fanotify_perm(&step);

	/* Only a private memfd is marked: safe on any machine. Root gets an answer, others EPERM. */
	if (r == 0) {
		CHECK(step == NULL);
	} else {
		CHECK(step != NULL && strcmp(step, "unset") != 0);
		if (geteuid() != 0)
			CHECK_EQ_INT(r, -EPERM);
	}
}

TEST(probe_bpffs_and_socket)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK_EQ_INT(embargo_probe_bpffs(test_tmpdir()), -ENODEV);
	CHECK_EQ_INT(embargo_probe_bpffs(tmp_path("missing")), -ENOENT);

	CHECK_EQ_INT(embargo_probe_socket(tmp_path("missing")), -ENOENT);
	write_file(tmp_path("file"), "x", 1);
	CHECK_EQ_INT(embargo_probe_socket(tmp_path("file")), -ENOTSOCK);
	REQUIRE(s >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", tmp_path("sock"));
	REQUIRE(bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK_EQ_INT(embargo_probe_socket(tmp_path("sock")), 0);
}

TEST(probe_helper_known)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		CHECK(embargo_probe_helper_known("map_lookup_elem") < 0);
		return;
	}
	/* Helper 1 exists in every kernel with BTF. */
	CHECK_EQ_INT(embargo_probe_helper_known("map_lookup_elem"), 1);
	CHECK_EQ_INT(embargo_probe_helper_known("no_such_helper"), 0);
	CHECK_EQ_INT(embargo_probe_helper_known("map_lookup"), 0);
}
