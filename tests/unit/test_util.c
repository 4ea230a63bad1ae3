// SPDX-License-Identifier: GPL-2.0
/* util.h: checked number parsing, hex, the read loops, UTC times and the cleanup helpers. */
#include "test.h"

#include "util.h"

#include <fcntl.h>
#include <stdint.h>

struct u64_case {
	const char *s;
	uint64_t max;
	int r;
	uint64_t v; /* when r == 0 */
};

static const struct u64_case u64_cases[] = {
	{ "0", UINT64_MAX, 0, 0 },
	{ "1", UINT64_MAX, 0, 1 },
	{ "007", UINT64_MAX, 0, 7 }, /* base 10 always: a leading zero is not octal */
	{ "18446744073709551615", UINT64_MAX, 0, UINT64_MAX },
	{ "18446744073709551616", UINT64_MAX, -ERANGE, 0 },
	{ "99999999999999999999999", UINT64_MAX, -ERANGE, 0 },
	{ "10", 10, 0, 10 },
	{ "11", 10, -ERANGE, 0 },
	{ "0", 0, 0, 0 },
	{ "1", 0, -ERANGE, 0 },
	{ "", UINT64_MAX, -EINVAL, 0 },
	{ "-1", UINT64_MAX, -EINVAL, 0 },
	{ "-0", UINT64_MAX, -EINVAL, 0 },
	{ "+1", UINT64_MAX, -EINVAL, 0 },
	{ " 1", UINT64_MAX, -EINVAL, 0 },
	{ "1 ", UINT64_MAX, -EINVAL, 0 },
	{ "1\n", UINT64_MAX, -EINVAL, 0 },
	{ "0x10", UINT64_MAX, -EINVAL, 0 },
	{ "1e3", UINT64_MAX, -EINVAL, 0 },
	{ "12a", UINT64_MAX, -EINVAL, 0 },
	{ "a", UINT64_MAX, -EINVAL, 0 },
	{ "1.0", UINT64_MAX, -EINVAL, 0 },
};

TEST(util_parse_u64)
{
	uint64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(u64_cases); i++) {
		const struct u64_case *c = &u64_cases[i];
		int r;

		v = 12345;
		r = parse_u64(c->s, c->max, &v);
		if (r != c->r)
			test_fail(__FILE__, __LINE__, "parse_u64(\"%s\", %llu) = %d, expected %d", c->s,
				  (unsigned long long)c->max, r, c->r);
		else if (r == 0 && v != c->v)
			test_fail(__FILE__, __LINE__, "parse_u64(\"%s\") gave %llu, expected %llu", c->s,
				  (unsigned long long)v, (unsigned long long)c->v);
		else if (r < 0 && v != 12345)
			test_fail(__FILE__, __LINE__, "parse_u64(\"%s\") wrote its result on error", c->s);
	}
	CHECK_EQ_INT(parse_u64(NULL, UINT64_MAX, &v), -EINVAL);
}

/* Any leading blank, not only ' ': strtoull skips them all and then accepts a sign. */
TEST(util_parse_u64_leading_whitespace)
{
	static const char *const bad[] = { "\t1", "\n1", "\v1", "\f1", "\r1", "\t-1", "\n+1" };
	uint64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		v = 12345;
		if (parse_u64(bad[i], UINT64_MAX, &v) != -EINVAL)
			test_fail(__FILE__, __LINE__, "parse_u64(\"\\x%02x%s\") accepted (%llu)",
				  (unsigned char)bad[i][0], bad[i] + 1, (unsigned long long)v);
	}
}

TEST(util_parse_u32)
{
	uint32_t v = 7;

	CHECK_EQ_INT(parse_u32("0", &v), 0);
	CHECK_EQ_INT(v, 0);
	CHECK_EQ_INT(parse_u32("4294967295", &v), 0);
	CHECK_EQ_INT(v, UINT32_MAX);
	v = 7;
	CHECK_EQ_INT(parse_u32("4294967296", &v), -ERANGE);
	CHECK_EQ_INT(parse_u32("18446744073709551615", &v), -ERANGE);
	CHECK_EQ_INT(parse_u32("18446744073709551616", &v), -ERANGE);
	CHECK_EQ_INT(parse_u32("", &v), -EINVAL);
	CHECK_EQ_INT(parse_u32("-1", &v), -EINVAL);
	CHECK_EQ_INT(parse_u32("+1", &v), -EINVAL);
	CHECK_EQ_INT(parse_u32(" 1", &v), -EINVAL);
	CHECK_EQ_INT(parse_u32("1x", &v), -EINVAL);
	CHECK_EQ_INT(parse_u32(NULL, &v), -EINVAL);
	CHECK_EQ_INT(v, 7);
}

TEST(util_hex)
{
	static const uint8_t bytes[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff };
	uint8_t out[8], big[32];
	char hex[2 * sizeof(bytes) + 1], hex32[65];

	hex_encode(bytes, sizeof(bytes), hex);
	CHECK_EQ_STR(hex, "00017f80abcdefff");
	hex_encode(bytes, 0, hex);
	CHECK_EQ_STR(hex, "");

	memset(out, 0, sizeof(out));
	CHECK_EQ_INT(hex_decode("00017f80abcdefff", 16, out, 8), 0);
	CHECK(memcmp(out, bytes, 8) == 0);
	memset(out, 0, sizeof(out));
	CHECK_EQ_INT(hex_decode("00017F80ABCDEFFF", 16, out, 8), 0);
	CHECK(memcmp(out, bytes, 8) == 0);
	CHECK_EQ_INT(hex_decode("00017F80abCDefFf", 16, out, 8), 0);
	CHECK(memcmp(out, bytes, 8) == 0);
	CHECK_EQ_INT(hex_decode("", 0, out, 0), 0);

	/* Exactly 2n digits. */
	CHECK_EQ_INT(hex_decode("00017f80abcdeff", 15, out, 8), -EINVAL);
	CHECK_EQ_INT(hex_decode("00017f80abcdefff0", 17, out, 8), -EINVAL);
	CHECK_EQ_INT(hex_decode("00017f80abcdefff", 16, out, 7), -EINVAL);
	/* Only hex digits, anywhere. */
	CHECK_EQ_INT(hex_decode("g0017f80abcdefff", 16, out, 8), -EINVAL);
	CHECK_EQ_INT(hex_decode("00017f80abcdeffg", 16, out, 8), -EINVAL);
	CHECK_EQ_INT(hex_decode("0x017f80abcdefff", 16, out, 8), -EINVAL);
	CHECK_EQ_INT(hex_decode(" 0017f80abcdefff", 16, out, 8), -EINVAL);
	CHECK_EQ_INT(hex_decode("00017f80abcd\0fff", 16, out, 8), -EINVAL);

	/* Round trip of every byte value. */
	for (int i = 0; i < 256; i += 32) {
		uint8_t back[32];

		for (int k = 0; k < 32; k++)
			big[k] = (uint8_t)(i + k);
		hex_encode(big, 32, hex32);
		CHECK_EQ_INT(strlen(hex32), 64);
		CHECK_EQ_INT(hex_decode(hex32, 64, back, 32), 0);
		CHECK(memcmp(big, back, 32) == 0);
	}
}

TEST(util_write_all_and_clock)
{
	char path[4096], buf[16] = { 0 };
	uint64_t a, b;
	int fd;

	snprintf(path, sizeof(path), "%s/w", test_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	REQUIRE(fd >= 0);
	CHECK_EQ_INT(write_all(fd, "hello", 5), 0);
	CHECK_EQ_INT(write_all(fd, "", 0), 0);
	CHECK_EQ_INT(pread(fd, buf, sizeof(buf), 0), 5);
	CHECK_EQ_STR(buf, "hello");
	close(fd);
	CHECK_EQ_INT(write_all(fd, "x", 1), -EBADF);

	a = now_ns();
	b = now_ns();
	CHECK(a > 0 && b >= a);
}

TEST(util_fail)
{
	char why[64], small[8];

	errno = ENOENT;
	CHECK_EQ_INT(fail(why, sizeof(why), -errno, "cannot open %s: %m", "x"), -ENOENT);
	CHECK_EQ_STR(why, "cannot open x: No such file or directory");
	CHECK_EQ_INT(fail(why, sizeof(why), -ENOSPC, "%zu of %d", (size_t)3, 2), -ENOSPC);
	CHECK_EQ_STR(why, "3 of 2");
	/* Truncated, still terminated; no room at all is no error either. */
	CHECK_EQ_INT(fail(small, sizeof(small), -EINVAL, "%s", "much too long"), -EINVAL);
	CHECK_EQ_STR(small, "much to");
	CHECK_EQ_INT(fail(NULL, 0, -EPERM, "nowhere"), -EPERM);
}

TEST(util_closep_resets)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC), none = -1;

	REQUIRE(fd >= 0);
	errno = EXDEV;
	closep(&fd);
	CHECK_EQ_INT(fd, -1);
	CHECK_EQ_INT(errno, EXDEV); /* close's own errno does not leak into the caller's */
	closep(&fd);		    /* again: nothing to close */
	CHECK_EQ_INT(fd, -1);
	closep(&none);
	CHECK_EQ_INT(none, -1);
	{
		_cleanup_close_ int scoped = open("/dev/null", O_RDONLY | O_CLOEXEC);

		REQUIRE(scoped >= 0);
		closep(&scoped); /* closed early: the cleanup at the end of the scope then does nothing */
		CHECK_EQ_INT(scoped, -1);
	}
}

TEST(util_read_all_and_pread_all)
{
	char path[4096], buf[16];
	_cleanup_close_ int fd = -1;
	int p[2];

	snprintf(path, sizeof(path), "%s/r", test_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	REQUIRE(fd >= 0);
	REQUIRE(write_all(fd, "0123456789", 10) == 0);
	REQUIRE(lseek(fd, 3, SEEK_SET) == 3);

	/* pread_all: from off, short at the end of the file, the fd's offset neither used nor moved. */
	memset(buf, 0, sizeof(buf));
	CHECK_EQ_INT(pread_all(fd, buf, 4, 0), 4);
	CHECK(memcmp(buf, "0123", 4) == 0);
	CHECK_EQ_INT(pread_all(fd, buf, sizeof(buf), 6), 4);
	CHECK(memcmp(buf, "6789", 4) == 0);
	CHECK_EQ_INT(pread_all(fd, buf, sizeof(buf), 10), 0);
	CHECK_EQ_INT(pread_all(fd, buf, sizeof(buf), 100), 0);
	CHECK_EQ_INT(pread_all(fd, buf, sizeof(buf), UINT64_MAX), -EINVAL);
	CHECK_EQ_INT(lseek(fd, 0, SEEK_CUR), 3);

	/* read_all: from the fd's offset, which it moves. */
	CHECK_EQ_INT(read_all(fd, buf, 5), 5);
	CHECK(memcmp(buf, "34567", 5) == 0);
	CHECK_EQ_INT(read_all(fd, buf, sizeof(buf)), 2);
	CHECK_EQ_INT(lseek(fd, 0, SEEK_CUR), 10);

	/* A pipe: read_all gathers short reads until the end; pread_all cannot seek it. */
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	REQUIRE(write_all(p[1], "ab", 2) == 0);
	REQUIRE(write_all(p[1], "cd", 2) == 0);
	close(p[1]);
	CHECK_EQ_INT(pread_all(p[0], buf, sizeof(buf), 0), -ESPIPE);
	CHECK_EQ_INT(read_all(p[0], buf, sizeof(buf)), 4);
	CHECK(memcmp(buf, "abcd", 4) == 0);
	close(p[0]);
	CHECK_EQ_INT(read_all(-1, buf, 1), -EBADF);
	CHECK_EQ_INT(pread_all(-1, buf, 1, 0), -EBADF);
}

TEST(util_format_utc_time)
{
	char buf[64], small[8];

	CHECK_EQ_STR(format_utc_time(0, buf, sizeof(buf)), "1970-01-01T00:00:00Z");
	CHECK_EQ_STR(format_utc_time(1767225599, buf, sizeof(buf)), "2025-12-31T23:59:59Z");
	CHECK_EQ_STR(format_utc_time(-1, buf, sizeof(buf)), "1969-12-31T23:59:59Z");
	/* A year gmtime cannot hold: the number. */
	CHECK_EQ_STR(format_utc_time(INT64_MAX, buf, sizeof(buf)), "9223372036854775807");
	/* Too small a buffer for the time: the number, cut to fit. */
	CHECK_EQ_STR(format_utc_time(1767225599, small, sizeof(small)), "1767225");
}

TEST(util_cancel_requested)
{
	volatile bool flag = false;

	CHECK(!cancel_requested(NULL));
	CHECK(!cancel_requested(&flag));
	flag = true;
	CHECK(cancel_requested(&flag));
}
