/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal unit-test harness: TEST(name) { ... } registers a test; CHECK* record a failure and go on,
 * REQUIRE* record it and end the test. The runner prints one line per test and then
 * "N passed, N failed".
 */
#ifndef EMBARGO_TEST_H
#define EMBARGO_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct test_case {
	const char *name;
	void (*fn)(void);
	struct test_case *next;
};

void test_register(struct test_case *t);
void test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A directory private to the running test, removed afterwards. */
const char *test_tmpdir(void);

#define TEST(n)                                                                                              \
	static void test_##n(void);                                                                          \
	static struct test_case test_case_##n = { .name = #n, .fn = test_##n };                              \
	__attribute__((constructor)) static void test_register_##n(void)                                     \
	{                                                                                                    \
		test_register(&test_case_##n);                                                               \
	}                                                                                                    \
	static void test_##n(void)

#define CHECK(cond)                                                                                          \
	do {                                                                                                 \
		if (!(cond))                                                                                 \
			test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                                   \
	} while (0)

#define REQUIRE(cond)                                                                                        \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			test_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond);                                 \
			return;                                                                              \
		}                                                                                            \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                                                   \
	do {                                                                                                 \
		long long _a = (long long)(a), _b = (long long)(b);                                          \
		if (_a != _b)                                                                                \
			test_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a, _a, #b, _b);    \
	} while (0)

#define CHECK_EQ_STR(a, b)                                                                                   \
	do {                                                                                                 \
		const char *_a = (a), *_b = (b);                                                             \
		if (!_a || !_b || strcmp(_a, _b) != 0)                                                       \
			test_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a,                   \
				  _a ? _a : "(null)", _b ? _b : "(null)");                                   \
	} while (0)

#endif
