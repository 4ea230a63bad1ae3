// SPDX-License-Identifier: GPL-2.0
/*
 * PE/COFF Authenticode: every WIN_CERTIFICATE of the attribute certificate table (data directory 4,
 * whose "address" is a file offset, not an RVA). Each PKCS#7 SignedData goes to ident_pkcs7(), which
 * also follows the signatures nested in it.
 */
#include "identify.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define PE_OPT_MAGIC_PE32 0x10b
#define PE_OPT_MAGIC_PE32PLUS 0x20b
#define PE_DIR_SECURITY 4
#define WIN_CERT_REVISION_2_0 0x0200
#define WIN_CERT_TYPE_PKCS_SIGNED_DATA 0x0002
/* dwLength, wRevision, wCertificateType */
#define WIN_CERT_HEADER 8

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The certificate table's file offset and size: 0 when there is none, -EBADMSG when the headers lie. */
static int security_dir(const uint8_t *buf, size_t len, uint32_t *off, uint32_t *size)
{
	size_t pe, opt, dirs;
	uint32_t ndirs;
	uint16_t optsz, magic;

	if (len < 0x40)
		return -EBADMSG;
	pe = le32(buf + 0x3c);
	/* "PE\0\0", then the 20-byte COFF header. */
	if (pe > len || len - pe < 24)
		return -EBADMSG;
	optsz = le16(buf + pe + 4 + 16);
	opt = pe + 24;
	if (len - opt < optsz || optsz < 2)
		return -EBADMSG;
	magic = le16(buf + opt);
	if (magic == PE_OPT_MAGIC_PE32)
		dirs = 96;
	else if (magic == PE_OPT_MAGIC_PE32PLUS)
		dirs = 112;
	else
		return -EBADMSG;
	if (optsz < dirs)
		return -EBADMSG;
	ndirs = le32(buf + opt + dirs - 4);
	if (ndirs <= PE_DIR_SECURITY || (size_t)optsz < dirs + 8 * (PE_DIR_SECURITY + 1))
		return 0;
	*off = le32(buf + opt + dirs + 8 * PE_DIR_SECURITY);
	*size = le32(buf + opt + dirs + 8 * PE_DIR_SECURITY + 4);
	if (*off == 0 || *size == 0)
		return 0;
	if (*off > len || *size > len - *off)
		return -EBADMSG;
	return 1;
}

int ident_pe(const struct ident_ctx *c, const uint8_t *buf, size_t len, struct embargo_identity *id)
{
	uint32_t off = 0, size = 0;
	size_t pos, end;
	int r;

	r = security_dir(buf, len, &off, &size);
	if (r == -EBADMSG)
		return ident_add_malformed(id, EMBARGO_SIG_AUTHENTICODE, 0,
					   "PE headers or certificate table out of bounds");
	if (r <= 0)
		return r;
	pos = off;
	end = (size_t)off + size;
	/* Entries follow one another, each padded to 8 bytes. */
	while (end - pos >= WIN_CERT_HEADER) {
		uint32_t length = le32(buf + pos);
		uint16_t revision = le16(buf + pos + 4), type = le16(buf + pos + 6);
		char detail[96];

		if (length < WIN_CERT_HEADER || length > end - pos)
			return ident_add_malformed(id, EMBARGO_SIG_AUTHENTICODE, 0,
						   "WIN_CERTIFICATE length out of bounds");
		if (revision != WIN_CERT_REVISION_2_0 || type != WIN_CERT_TYPE_PKCS_SIGNED_DATA) {
			snprintf(detail, sizeof(detail),
				 "WIN_CERTIFICATE revision 0x%04x type 0x%04x not supported", revision, type);
			r = ident_add_malformed(id, EMBARGO_SIG_AUTHENTICODE, 0, detail);
		} else {
			r = ident_pkcs7(c, EMBARGO_SIG_AUTHENTICODE, buf + pos + WIN_CERT_HEADER,
					length - WIN_CERT_HEADER, NULL, 0, 0, id);
		}
		if (r < 0)
			return r;
		pos += ((size_t)length + 7) & ~(size_t)7;
		if (pos > end)
			break;
	}
	return 0;
}
