// SPDX-License-Identifier: GPL-2.0
/*
 * Lines of a policy or digest-list file. Everything goes through zlib, which reads gzip data (by its
 * magic, whatever the file's name) and passes anything else through untouched. The file is read in
 * 1 MiB blocks; a line is handed out in place, so a million-line list costs no allocation per line.
 */
#include "lexer.h"
#include "policy-internal.h"
#include "util.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#define READ_BLOCK (1024 * 1024)
#define GZ_BUFFER (128 * 1024)

int line_reader_open(struct line_reader *r, const char *path, char *why, size_t whysize)
{
	struct stat st;
	_cleanup_close_ int fd = open_trusted(path, &st, why, whysize);

	if (fd < 0)
		return fd;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;

	/* The reserve byte past a full block lets the last line of the file be NUL-terminated in place. */
	r->buf = malloc(READ_BLOCK + 1);
	if (!r->buf)
		return -ENOMEM;
	r->gz = gzdopen(fd, "rb");
	if (!r->gz)
		return -ENOMEM;
	TAKE_FD(fd); /* gzclose closes it */
	gzbuffer(r->gz, GZ_BUFFER);
	r->start = r->end = 0;
	r->eof = false;
	r->line = 0;
	r->bytes = 0;
	r->path = path;
	return 0;
}

void line_reader_close(struct line_reader *r)
{
	if (r->gz)
		gzclose(r->gz);
	r->gz = NULL;
	free(r->buf);
	r->buf = NULL;
}

static int fill(struct line_reader *r, struct loader *l)
{
	int errnum = Z_OK;
	const char *msg;
	int n;

	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	/* A pending partial line is at most POLICY_MAX_LINE bytes, so there is always room. */
	n = gzread(r->gz, r->buf + r->end, (unsigned)(READ_BLOCK - r->end));
	if (n > 0) {
		r->end += (size_t)n;
		r->bytes += (size_t)n;
		if (r->bytes > l->max_file_bytes)
			return policy_fail(l, -EFBIG, r->path, 0, 0,
					   "larger than %llu MiB (after decompression)",
					   (unsigned long long)(l->max_file_bytes >> 20));
		return 0;
	}
	msg = gzerror(r->gz, &errnum);
	/* zlib names a gzdopen()ed file "<fd:N>": the path is in the error's file already. */
	if (msg && strncmp(msg, "<fd:", 4) == 0 && strstr(msg, ">: "))
		msg = strstr(msg, ">: ") + 3;
	if (n < 0 || (errnum != Z_OK && errnum != Z_STREAM_END)) {
		if (errnum == Z_ERRNO) {
			int e = errno ? errno : EIO;

			return policy_fail(l, -e, r->path, 0, 0, "read error: %s", strerror(e));
		}
		return policy_fail(l, -EIO, r->path, 0, 0, "read error: %s",
				   msg ? msg : "corrupt compressed data");
	}
	r->eof = true;
	return 0;
}

int line_reader_next(struct line_reader *r, struct loader *l, char **line, size_t *len)
{
	for (;;) {
		char *s = r->buf + r->start;
		size_t avail = r->end - r->start;
		char *nl = memchr(s, '\n', avail);
		size_t n;

		if (nl) {
			n = (size_t)(nl - s);
			r->start += n + 1;
		} else if (r->eof) {
			if (avail == 0)
				return 0;
			n = avail;
			r->start = r->end;
		} else {
			int k;

			if (avail > POLICY_MAX_LINE)
				return policy_fail(l, -EINVAL, r->path, r->line + 1, 0,
						   "line is longer than %d bytes", POLICY_MAX_LINE);
			k = fill(r, l);
			if (k < 0)
				return k;
			continue;
		}
		if (n > POLICY_MAX_LINE)
			return policy_fail(l, -EINVAL, r->path, r->line + 1, 0,
					   "line is longer than %d bytes", POLICY_MAX_LINE);
		if (r->line == UINT32_MAX)
			return policy_fail(l, -EFBIG, r->path, r->line, 0, "too many lines");
		r->line++;
		lex_line_trim(&s, &n, r->line);
		*line = s;
		*len = n;
		return 1;
	}
}
