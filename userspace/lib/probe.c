// SPDX-License-Identifier: GPL-2.0
#include "probe.h"
#include "util.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <zlib.h>

#define SECURITYFS "/sys/kernel/security"
#define LSM_FILE SECURITYFS "/lsm"
#define BTF_FILE "/sys/kernel/btf/vmlinux"

void embargo_probe_add(struct embargo_probe *p, const char *name, bool ok, const char *fmt, ...)
{
	struct embargo_probe_check *c;
	va_list ap;

	if (p->n >= EMBARGO_PROBE_MAX)
		return;
	c = &p->checks[p->n++];
	c->name = name;
	c->ok = ok;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
}

/* The first line of a small kernel file (securityfs, procfs) into buf, without its newline. */
static int read_first_line(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int read_lsm_list(char *buf, size_t size)
{
	int r = read_first_line(LSM_FILE, buf, size);

	if (r != -ENOENT)
		return r;
	/* Not mounted (no systemd, or a minimal container): mount it, as systemd would. */
	if (mount("securityfs", SECURITYFS, "securityfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 &&
	    errno != EBUSY)
		return -errno;
	return read_first_line(LSM_FILE, buf, size);
}

static bool list_has(const char *list, const char *name)
{
	size_t nl = strlen(name);

	for (const char *s = list; *s;) {
		size_t l = strcspn(s, ",");

		if (l == nl && strncmp(s, name, nl) == 0)
			return true;
		s += l;
		if (*s == ',')
			s++;
	}
	return false;
}

const char *embargo_probe_lsm_suggestion(const struct embargo_probe *p, char *buf, size_t size)
{
	if (!p->lsm_list[0])
		snprintf(buf, size, "lsm=lockdown,capability,landlock,yama,apparmor,bpf");
	else if (list_has(p->lsm_list, "bpf"))
		snprintf(buf, size, "lsm=%s", p->lsm_list);
	else
		snprintf(buf, size, "lsm=%s,bpf", p->lsm_list);
	return buf;
}

void embargo_probe_kernel(struct embargo_probe *p)
{
	char sugg[300];
	int r;

	*p = (struct embargo_probe){};
	p->btf = access(BTF_FILE, R_OK) == 0;
	embargo_probe_add(p, "btf", p->btf,
			  p->btf ? "%s present" : "%s missing: the kernel needs CONFIG_DEBUG_INFO_BTF=y",
			  BTF_FILE);

	r = read_lsm_list(p->lsm_list, sizeof(p->lsm_list));
	if (r < 0) {
		embargo_probe_add(p, "lsm_list", false, "cannot read %s: %s", LSM_FILE, strerror(-r));
		return;
	}
	p->bpf_lsm_active = list_has(p->lsm_list, "bpf");
	if (p->bpf_lsm_active)
		embargo_probe_add(p, "bpf_lsm", true, "active LSMs: %s", p->lsm_list);
	else
		embargo_probe_add(
			p, "bpf_lsm", false,
			"bpf is not in the active LSM list (%s); boot with %s (needs CONFIG_BPF_LSM=y)",
			p->lsm_list, embargo_probe_lsm_suggestion(p, sugg, sizeof(sugg)));
}

/* ---- kernel configuration ---------------------------------------------------------------------------- */

/* Far above any real .config (a few hundred KiB): a bound on what a wrong path can make us allocate. */
#define KCONFIG_MAX (16u << 20)
#define KCONFIG_CHUNK (64u << 10)

int embargo_kconfig_load(struct embargo_kconfig *k, const char *path)
{
	_cleanup_close_ int fd = open_regular(path, NULL);
	_cleanup_free_ char *text = NULL;
	size_t len = 0, cap = 0;
	int errnum = Z_OK, n, r = 0;
	gzFile gz;

	*k = (struct embargo_kconfig){};
	if (fd < 0) /* the documented contract: anything but a regular file is -EINVAL */
		return fd == -EISDIR ? -EINVAL : fd;
	/* zlib reads gzip by its magic and passes plain text through: one reader for both places. */
	gz = gzdopen(fd, "rb");
	if (!gz)
		return -ENOMEM;
	TAKE_FD(fd); /* gzclose closes it */
	for (;;) {
		if (cap - len < KCONFIG_CHUNK + 1) {
			char *t;

			if (cap >= KCONFIG_MAX) {
				r = -EFBIG;
				break;
			}
			cap = cap ? cap * 2 : 4 * KCONFIG_CHUNK;
			t = realloc(text, cap);
			if (!t) {
				r = -ENOMEM;
				break;
			}
			text = t;
		}
		n = gzread(gz, text + len, KCONFIG_CHUNK);
		if (n <= 0) {
			(void)gzerror(gz, &errnum);
			if (n < 0 || (errnum != Z_OK && errnum != Z_STREAM_END))
				r = errnum == Z_ERRNO && errno ? -errno : -EBADMSG;
			break;
		}
		len += (size_t)n;
	}
	gzclose(gz);
	if (r < 0)
		return r;
	text[len] = '\0';
	k->text = TAKE_PTR(text);
	k->len = len;
	snprintf(k->path, sizeof(k->path), "%s", path);
	return 0;
}

int embargo_kconfig_load_running(struct embargo_kconfig *k)
{
	char boot[sizeof(((struct utsname *)0)->release) + 16];
	struct utsname u;
	int r = -ENOENT;

	/* Debian installs the configuration beside the kernel; other kernels may only have IKCONFIG_PROC. */
	if (uname(&u) == 0) {
		snprintf(boot, sizeof(boot), "/boot/config-%s", u.release);
		r = embargo_kconfig_load(k, boot);
		if (r == 0)
			return 0;
	}
	int r2 = embargo_kconfig_load(k, "/proc/config.gz");

	/* "Not there" is the less useful answer when the other one could not be read. */
	return r2 == 0 ? 0 : r2 == -ENOENT ? r : r2;
}

void embargo_kconfig_free(struct embargo_kconfig *k)
{
	free(k->text);
	*k = (struct embargo_kconfig){};
}

const char *embargo_kconfig_get(const struct embargo_kconfig *k, const char *name, char *buf, size_t size)
{
	size_t nl = strlen(name);

	if (!k->text || size == 0)
		return NULL;
	for (const char *l = k->text; l < k->text + k->len;) {
		const char *end = memchr(l, '\n', (size_t)(k->text + k->len - l));
		size_t o = 0;

		if (!end)
			end = k->text + k->len;
		if ((size_t)(end - l) > nl && strncmp(l, name, nl) == 0 && l[nl] == '=') {
			const char *v = l + nl + 1;

			if (*v != '"') {
				snprintf(buf, size, "%.*s", (int)(end - v), v);
				return buf;
			}
			/* A string: Kconfig escapes '"' and '\\' with a backslash. */
			for (v++; v < end && *v != '"'; v++) {
				if (*v == '\\' && v + 1 < end)
					v++;
				if (o + 1 < size)
					buf[o++] = *v;
			}
			buf[o] = '\0';
			return buf;
		}
		l = end + 1;
	}
	return NULL;
}

/* ---- kernel command line ----------------------------------------------------------------------------- */

int embargo_probe_read_cmdline(char *buf, size_t size)
{
	return read_first_line("/proc/cmdline", buf, size);
}

/* The kernel compares parameter names with '-' and '_' as one (parameq()). */
static bool param_eq(const char *a, size_t na, const char *b)
{
	if (strlen(b) != na)
		return false;
	for (size_t i = 0; i < na; i++) {
		char x = a[i] == '-' ? '_' : a[i], y = b[i] == '-' ? '_' : b[i];

		if (x != y)
			return false;
	}
	return true;
}

const char *embargo_cmdline_get(const char *cmdline, const char *key, char *buf, size_t size)
{
	bool found = false;

	if (size == 0)
		return NULL;
	for (const char *s = cmdline; *s;) {
		char tok[4096];
		size_t n = 0;
		bool quoted = false;
		char *eq;

		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		if (!*s)
			break;
		/* One parameter: up to unquoted white space; the quotes themselves are not part of it. */
		for (; *s && (quoted || (*s != ' ' && *s != '\t' && *s != '\n')); s++) {
			if (*s == '"')
				quoted = !quoted;
			else if (n + 1 < sizeof(tok))
				tok[n++] = *s;
		}
		tok[n] = '\0';
		if (strcmp(tok, "--") == 0)
			break;
		eq = strchr(tok, '=');
		if (eq && param_eq(tok, (size_t)(eq - tok), key)) {
			snprintf(buf, size, "%s", eq + 1);
			found = true;
		}
	}
	return found ? buf : NULL;
}

/* ---- fanotify, bpffs, sockets ------------------------------------------------------------------------ */

int embargo_probe_fanotify_perm(const char **step)
{
	_cleanup_close_ int fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_CLOEXEC);

	*step = "fanotify_init";
	if (fan < 0)
		return -errno;
	_cleanup_close_ int mfd = memfd_create("embargo-probe", MFD_CLOEXEC);

	*step = "memfd_create";
	if (mfd < 0)
		return -errno;
	*step = "fanotify_mark";
	if (fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN_EXEC_PERM, mfd, NULL) < 0)
		return -errno;
	*step = NULL;
	return 0;
}

int embargo_probe_bpffs(const char *path)
{
	struct statfs sfs;

	if (statfs(path, &sfs) < 0)
		return -errno;
	return sfs.f_type == BPF_FS_MAGIC ? 0 : -ENODEV;
}

int embargo_probe_socket(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	return S_ISSOCK(st.st_mode) ? 0 : -ENOTSOCK;
}

/* ---- BTF and BPF LSM programs ------------------------------------------------------------------------ */

static void btf_freep(struct btf **b)
{
	btf__free(*b);
}

int embargo_probe_helper_known(const char *name)
{
	_cleanup_(btf_freep) struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *t;
	const struct btf_enum *e;
	char want[128];
	int id;

	if (!btf)
		return errno ? -errno : -ENOENT;
	snprintf(want, sizeof(want), "BPF_FUNC_%s", name);
	id = btf__find_by_name_kind(btf, "bpf_func_id", BTF_KIND_ENUM);
	if (id < 0)
		return 0;
	t = btf__type_by_id(btf, (__u32)id);
	e = btf_enum(t);
	for (unsigned i = 0; i < btf_vlen(t); i++)
		if (strcmp(btf__name_by_offset(btf, e[i].name_off), want) == 0)
			return 1;
	return 0;
}

/* Byte offset of member in struct sname, from BTF; -ENOENT when either is unknown. */
static int btf_member_offset(const struct btf *btf, const char *sname, const char *member)
{
	const struct btf_type *t;
	const struct btf_member *m;
	int id = btf__find_by_name_kind(btf, sname, BTF_KIND_STRUCT);

	if (id < 0)
		return -ENOENT;
	t = btf__type_by_id(btf, (__u32)id);
	m = btf_members(t);
	for (unsigned i = 0; i < btf_vlen(t); i++)
		if (strcmp(btf__name_by_offset(btf, m[i].name_off), member) == 0)
			return (int)(btf_member_bit_offset(t, i) / 8);
	return -ENOENT;
}

int embargo_probe_func_known(const char *name)
{
	_cleanup_(btf_freep) struct btf *btf = btf__load_vmlinux_btf();

	if (!btf)
		return errno ? -errno : -ENOENT;
	return btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0;
}

int embargo_probe_member_known(const char *sname, const char *member)
{
	_cleanup_(btf_freep) struct btf *btf = btf__load_vmlinux_btf();

	if (!btf)
		return errno ? -errno : -ENOENT;
	return btf_member_offset(btf, sname, member) >= 0;
}

#define INSN(c, d, s, o, i)                                                                                  \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

/* The last non-empty line of a verifier log, into why. */
static void last_line(const char *log, char *why, size_t size)
{
	const char *end = log + strlen(log), *start;

	while (end > log && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	start = end;
	while (start > log && start[-1] != '\n')
		start--;
	snprintf(why, size, "%.*s", (int)(end - start), start);
}

int embargo_probe_lsm_load(bool hash, char *why, size_t size)
{
	_cleanup_(btf_freep) struct btf *btf = btf__load_vmlinux_btf();
	char log[16384] = "";
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_LSM_MAC,
		    .prog_flags = hash ? BPF_F_SLEEPABLE : 0, .log_buf = log, .log_size = sizeof(log));
	struct bpf_insn insns[8];
	size_t n = 0;
	int id, off, fd;

	why[0] = '\0';
	if (!btf)
		return fail(why, size, errno ? -errno : -ENOENT, "no vmlinux BTF");
	id = btf__find_by_name_kind(btf, "bpf_lsm_bprm_check_security", BTF_KIND_FUNC);
	if (id < 0)
		return fail(why, size, -EOPNOTSUPP, "the kernel has no BPF LSM hook bprm_check_security");
	opts.attach_btf_id = (__u32)id;
	if (hash) {
		/* bpf_ima_file_hash(bprm->file, stack buffer, 32), as the lsm-hash tier's exec program calls
		 * it. */
		off = btf_member_offset(btf, "linux_binprm", "file");
		if (off < 0)
			return fail(why, size, -EOPNOTSUPP, "struct linux_binprm has no member file in BTF");
		insns[n++] = INSN(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_6, BPF_REG_1, 0, 0);
		insns[n++] = INSN(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_1, BPF_REG_6, (__s16)off, 0);
		insns[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
		insns[n++] = INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -32);
		insns[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, 32);
		insns[n++] = INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ima_file_hash);
	}
	insns[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
	insns[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

	fd = bpf_prog_load(BPF_PROG_TYPE_LSM, hash ? "embargo_probe_s" : "embargo_probe", "GPL", insns, n,
			   &opts);
	if (fd < 0) {
		/* libbpf 1.x returns -errno itself. */
		last_line(log, why, size);
		return fd;
	}
	close(fd);
	return 0;
}
