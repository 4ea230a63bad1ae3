// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: a security.ima value. The input's first byte splits it into the attribute and the
 * file content the signature is checked against, so both the header and the verification paths run.
 */
#include "fuzz_common.h"

#include <errno.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct embargo_signature sig = { 0 };
	size_t xlen;
	int r;

	if (size < 1)
		return 0;
	xlen = data[0] ? (size_t)data[0] * (size - 1) / 255 : size - 1;
	r = ident_ima(fuzz_ctx(), data + 1, xlen, data + 1 + xlen, size - 1 - xlen, &sig);
	if (r < 0 && r != -ENODATA)
		abort();
	embargo_signature_free(&sig);
	return 0;
}
