// SPDX-License-Identifier: GPL-2.0
/* What a file is (ELF, kernel module, PE, script, data) and an ELF's GNU build id, through libelf. */
#include "identify.h"
#include "util.h"

#include <gelf.h>
#include <libelf.h>
#include <string.h>

#define ELF_NOTE_GNU_NAME "GNU"

static int set_format(struct embargo_identity *id, const char *format)
{
	char *s = strdup(format);

	if (!s)
		return -ENOMEM;
	free(id->format);
	id->format = s;
	return 0;
}

/* "MZ" with e_lfanew pointing at "PE\0\0": anything less is a DOS program or data. */
static bool is_pe(const uint8_t *buf, size_t len)
{
	uint32_t lfanew;

	if (len < 0x40 || buf[0] != 'M' || buf[1] != 'Z')
		return false;
	lfanew = (uint32_t)buf[0x3c] | (uint32_t)buf[0x3d] << 8 | (uint32_t)buf[0x3e] << 16 |
		 (uint32_t)buf[0x3f] << 24;
	return lfanew <= len && len - lfanew >= 4 && memcmp(buf + lfanew, "PE\0\0", 4) == 0;
}

/* The build id from the first NT_GNU_BUILD_ID note; and whether there is a .modinfo section. */
static int elf_facts(uint8_t *buf, size_t len, char **build_id, bool *modinfo)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	Elf *e;
	int r = 0;

	*build_id = NULL;
	*modinfo = false;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return 0;
	e = elf_memory((char *)buf, len);
	if (!e)
		return 0;
	if (elf_kind(e) != ELF_K_ELF || elf_getshdrstrndx(e, &shstrndx) < 0)
		goto out;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		const char *name;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(e, shstrndx, sh.sh_name);
		if (name && strcmp(name, ".modinfo") == 0)
			*modinfo = true;
		if (sh.sh_type != SHT_NOTE || *build_id)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t off = 0; d && d->d_buf && off < d->d_size;) {
			GElf_Nhdr nh;
			size_t name_off, desc_off, next;

			next = gelf_getnote(d, off, &nh, &name_off, &desc_off);
			if (next == 0 || next <= off)
				break;
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == sizeof(ELF_NOTE_GNU_NAME) &&
			    memcmp((const char *)d->d_buf + name_off, ELF_NOTE_GNU_NAME, nh.n_namesz) == 0 &&
			    nh.n_descsz > 0 && nh.n_descsz <= 64) {
				*build_id = malloc(2 * nh.n_descsz + 1);
				if (!*build_id) {
					r = -ENOMEM;
					goto out;
				}
				hex_encode((const uint8_t *)d->d_buf + desc_off, nh.n_descsz, *build_id);
				break;
			}
			off = next;
		}
	}
out:
	elf_end(e);
	return r;
}

int ident_elf_format(uint8_t *buf, size_t len, struct embargo_identity *id)
{
	bool modinfo = false;
	char *build_id = NULL;
	int r;

	if (len >= 4 && memcmp(buf, ELFMAG, SELFMAG) == 0) {
		r = elf_facts(buf, len, &build_id, &modinfo);
		if (r < 0)
			return r;
		free(id->build_id);
		id->build_id = build_id;
		return set_format(id, modinfo || ident_kmod_has_trailer(buf, len) ? "elf-kmod" : "elf");
	}
	if (is_pe(buf, len))
		return set_format(id, "pe");
	if (len >= 2 && buf[0] == '#' && buf[1] == '!')
		return set_format(id, "script");
	return set_format(id, "data");
}
