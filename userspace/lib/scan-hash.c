// SPDX-License-Identifier: GPL-2.0
/* What the scanner hashes: the "can carry code" classifier (how: the hasher of sha256.c). */
#include "scan.h"
#include "scan-internal.h"
#include "util.h"

#include <string.h>

enum embargo_scan_class embargo_scan_classify(const char *name, mode_t mode)
{
	const char *so;

	if (!S_ISREG(mode))
		return EMBARGO_SCAN_NOT_CODE;
	if (mode & (S_IXUSR | S_IXGRP | S_IXOTH))
		return EMBARGO_SCAN_CODE;
	/* Shared objects are mapped, not executed: Debian installs them 0644. */
	for (so = strstr(name, ".so"); so; so = strstr(so + 1, ".so")) {
		if (so[3] == '\0' || so[3] == '.')
			return EMBARGO_SCAN_CODE;
	}
	return EMBARGO_SCAN_NEEDS_MAGIC;
}

bool embargo_scan_magic_is_code(const uint8_t *buf, size_t n)
{
	if (n >= 4 && memcmp(buf,
			     "\x7f"
			     "ELF",
			     4) == 0)
		return true;
	/* "MZ": PE (Windows binaries run through wine or binfmt_misc); "#!": a script the kernel executes. */
	return n >= 2 && (memcmp(buf, "MZ", 2) == 0 || memcmp(buf, "#!", 2) == 0);
}
