/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Text comparison for identities: UTF-8 case folding and globs. Certificate names, package names and
 * maintainers are compared after folding both sides, so "AO KASPERSKY LAB" in a certificate matches
 * `signer-org "AO Kaspersky Lab"`. Folding is simple (one code point to one code point: towlower() under
 * C.UTF-8); no Unicode normalization is applied, so a composed "é" (U+00E9) and a decomposed one
 * ("e" U+0301) are different texts. docs/policy.md ("Text matching") is the user-facing definition.
 */
#ifndef EMBARGO_FOLD_H
#define EMBARGO_FOLD_H

#include <stdbool.h>
#include <stddef.h>

/*
 * s[0..len) folded, as a malloc'ed NUL-terminated string in *ret. -EILSEQ when s is not valid UTF-8
 * (overlong forms, surrogates, code points above U+10FFFF and stray bytes are all invalid), with the
 * byte offset of the first bad byte in *bad (when bad is not NULL); -ENOMEM. Without the C.UTF-8 locale's
 * data only ASCII letters are folded.
 */
int embargo_fold(const char *s, size_t len, char **ret, size_t *bad);

/*
 * Like embargo_fold(), for text read from files (certificates, package databases), which need not be
 * UTF-8: invalid bytes are kept as they are, and only valid sequences are folded. Never -EILSEQ.
 */
int embargo_fold_lenient(const char *s, char **ret);

/* Whether s contains a glob character ('*' or '?'). */
bool embargo_is_glob(const char *s);

/*
 * Glob match of the whole of text. '*' matches any run of characters, '?' one character (one UTF-8
 * sequence, or one byte that is not part of one), '\' makes the next character literal. With paths,
 * '*' and '?' do not match '/', and '**' matches any run including '/'.
 */
bool embargo_glob_match(const char *glob, const char *text, bool paths);

#endif
