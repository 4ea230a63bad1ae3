// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: embargo.conf, written to a file in a private directory and loaded from there. */
#include "config.h"
#include "fuzz_files.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct embargo_config c = { 0 };
	struct embargo_config_error err;
	char msg[8192], path[4200], *text = NULL;

	fuzz_write("embargo.conf", data, size);
	snprintf(path, sizeof(path), "%s/embargo.conf", fuzz_dir());
	if (embargo_config_defaults(&c) < 0)
		abort();
	if (embargo_config_load(path, &c, &err) == 0) {
		/* What loaded formats back. */
		if (embargo_config_format(&c, &text) < 0)
			abort();
		free(text);
	} else {
		embargo_config_error_format(&err, msg, sizeof(msg));
	}
	embargo_config_free(&c);
	return 0;
}
