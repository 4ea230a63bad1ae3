// SPDX-License-Identifier: GPL-2.0
#include "probe.h"
#include "util.h"

#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mount.h>

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

static int read_lsm_list(char *buf, size_t size)
{
	_cleanup_close_ int fd = open(LSM_FILE, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0 && errno == ENOENT) {
		/* Not mounted (no systemd, or a minimal container): mount it, as systemd would. */
		if (mount("securityfs", SECURITYFS, "securityfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) <
			0 &&
		    errno != EBUSY)
			return -errno;
		fd = open(LSM_FILE, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
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
