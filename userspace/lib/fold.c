// SPDX-License-Identifier: GPL-2.0
/*
 * UTF-8 case folding and globs (see fold.h). Decoding is done here rather than with mbrtowc() so that
 * the rules for invalid input are ours, identical on every libc; only the per-code-point mapping comes
 * from the C library (towlower_l under C.UTF-8), which keeps embargo free of ICU.
 */
#include "fold.h"

#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_locale_init(void)
{
	/* Never freed: it lives as long as the process, like the global locale. */
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* Length of the valid UTF-8 sequence at s[0..n) and its code point, or 0 if it is not one. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t len;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		len = 2, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static size_t utf8_encode(uint32_t c, char *out)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

static int fold(const char *s, size_t len, bool strict, char **ret, size_t *bad)
{
	const unsigned char *u = (const unsigned char *)s;
	char *out, *o;

	pthread_once(&utf8_once, utf8_locale_init);
	/* A lower-case form can be longer in UTF-8 than the upper-case one (U+023A is 2 bytes, U+2C65 3). */
	out = malloc(2 * len + 1);
	if (!out)
		return -ENOMEM;
	o = out;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode(u + i, len - i, &cp);

		if (n == 0) {
			if (strict) {
				free(out);
				if (bad)
					*bad = i;
				return -EILSEQ;
			}
			*o++ = s[i++];
			continue;
		}
		/*
		 * Without the C.UTF-8 locale's data (a minimal system or an initramfs) only ASCII letters
		 * fold: loading a policy must never fail for it, and a non-ASCII capital then matches as
		 * written.
		 */
		if (utf8_locale)
			cp = (uint32_t)towlower_l((wint_t)cp, utf8_locale);
		else if (cp >= 'A' && cp <= 'Z')
			cp += 'a' - 'A';
		o += utf8_encode(cp, o);
		i += n;
	}
	*o = '\0';
	*ret = out;
	return 0;
}

int embargo_fold(const char *s, size_t len, char **ret, size_t *bad)
{
	return fold(s, len, true, ret, bad);
}

int embargo_fold_lenient(const char *s, char **ret)
{
	return fold(s, strlen(s), false, ret, NULL);
}

bool embargo_is_glob(const char *s)
{
	return strpbrk(s, "*?") != NULL;
}

/* Bytes of the character at s: a whole UTF-8 sequence, or 1 for a byte that does not start one. */
static size_t char_len(const char *s)
{
	uint32_t cp;
	size_t n = utf8_decode((const unsigned char *)s, strnlen(s, 4), &cp);

	return n ? n : 1;
}

bool embargo_glob_match(const char *g, const char *t, bool paths)
{
	/* Iterative with two backtracking points, so a crafted glob can neither recurse deeply nor take
	 * exponential time: the last star that may cross '/' (every star for names, '**' for paths) and,
	 * for paths, the last '*' after it, which may only grow within its path component. When the '*'
	 * cannot grow any more, the '**' before it takes one more character and the rest is tried again. */
	const char *any_g = NULL, *any_t = NULL, *seg_g = NULL, *seg_t = NULL;

	for (;;) {
		if (*g == '*') {
			if (!paths || g[1] == '*') {
				while (*g == '*')
					g++;
				any_g = g;
				any_t = t;
				seg_g = NULL;
			} else {
				g++;
				seg_g = g;
				seg_t = t;
			}
			continue;
		}
		if (*t == '\0' && *g == '\0')
			return true;
		if (*t != '\0') {
			if (*g == '?' && !(paths && *t == '/')) {
				g++;
				t += char_len(t);
				continue;
			}
			if (*g == '\\' && g[1] && g[1] == *t) {
				g += 2;
				t++;
				continue;
			}
			if (*g != '\\' && *g != '?' && *g != '\0' && *g == *t) {
				g++;
				t++;
				continue;
			}
		}
		/* Mismatch: the last star takes one more character, if it may. */
		if (seg_g && *seg_t != '\0' && *seg_t != '/') {
			seg_t += char_len(seg_t);
			g = seg_g;
			t = seg_t;
		} else if (any_g && *any_t != '\0') {
			any_t += char_len(any_t);
			g = any_g;
			t = any_t;
			seg_g = NULL;
		} else {
			return false;
		}
	}
}
