// SPDX-License-Identifier: GPL-2.0
/* SHA-256 of buffers, descriptors and paths: the FIPS 180-2 vectors, read boundaries, non-files. */
#include "test.h"

#include "sha256.h"
#include "util.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

struct vector {
	const char *name;
	const char *msg; /* NULL: one million 'a' */
	const char *hex;
};

static const struct vector vectors[] = {
	{ "empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "448 bits", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	{ "896 bits",
	  "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmn"
	  "opqrs"
	  "tn"
	  "opqrstu",
	  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	{ "one million 'a'", NULL, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
};

#define MILLION 1000000

/* The message of a vector; *len set. The million 'a' is malloc'ed into *owned. */
static const char *vector_msg(const struct vector *v, size_t *len, char **owned)
{
	if (v->msg) {
		*len = strlen(v->msg);
		return v->msg;
	}
	*owned = malloc(MILLION);
	if (!*owned)
		return NULL;
	memset(*owned, 'a', MILLION);
	*len = MILLION;
	return *owned;
}

static void check_digest(const char *what, const uint8_t d[SHA256_LEN], const char *hex)
{
	char got[SHA256_HEX_LEN + 1];

	hex_encode(d, SHA256_LEN, got);
	if (strcmp(got, hex) != 0)
		test_fail(__FILE__, __LINE__, "%s: %s, expected %s", what, got, hex);
}

static int write_file(const char *path, const void *buf, size_t len)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	return write_all(fd, buf, len);
}

TEST(sha256_vectors_buf)
{
	for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
		_cleanup_free_ char *owned = NULL;
		uint8_t d[SHA256_LEN];
		size_t len = 0;
		const char *msg = vector_msg(&vectors[i], &len, &owned);

		REQUIRE(msg);
		CHECK_EQ_INT(embargo_sha256_buf(msg, len, d), 0);
		check_digest(vectors[i].name, d, vectors[i].hex);
	}
}

TEST(sha256_vectors_fd_and_path)
{
	for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
		_cleanup_free_ char *owned = NULL;
		_cleanup_close_ int fd = -1;
		char path[4096];
		uint8_t d[SHA256_LEN];
		uint64_t size = 12345;
		size_t len = 0;
		const char *msg = vector_msg(&vectors[i], &len, &owned);

		REQUIRE(msg);
		snprintf(path, sizeof(path), "%s/v%zu", test_tmpdir(), i);
		REQUIRE(write_file(path, msg, len) == 0);

		fd = open(path, O_RDONLY | O_CLOEXEC);
		REQUIRE(fd >= 0);
		/* pread: the descriptor's offset is not used and not moved. */
		CHECK_EQ_INT(lseek(fd, len / 2, SEEK_SET), (off_t)(len / 2));
		CHECK_EQ_INT(embargo_sha256_fd(fd, d, &size), 0);
		check_digest(vectors[i].name, d, vectors[i].hex);
		CHECK_EQ_INT(size, len);
		CHECK_EQ_INT(lseek(fd, 0, SEEK_CUR), (off_t)(len / 2));

		memset(d, 0, sizeof(d));
		size = 12345;
		CHECK_EQ_INT(embargo_sha256_path(path, d, &size), 0);
		check_digest(vectors[i].name, d, vectors[i].hex);
		CHECK_EQ_INT(size, len);
		CHECK_EQ_INT(embargo_sha256_path(path, d, NULL), 0);
	}
}

/* Sizes around the 256 KiB read size agree with the one-buffer digest. */
TEST(sha256_read_boundaries)
{
	static const size_t sizes[] = { 1,	4095,	4096,	       262143,	      262144,
					262145, 524288, 524288 + 4097, 3 * 262144 + 1 };
	const size_t max = 3 * 262144 + 1;
	_cleanup_free_ uint8_t *buf = malloc(max);
	uint64_t s = 0x1234567;

	REQUIRE(buf);
	for (size_t i = 0; i < max; i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		buf[i] = (uint8_t)(s >> 56);
	}
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		char path[4096], hex[SHA256_HEX_LEN + 1];
		uint8_t want[SHA256_LEN], got[SHA256_LEN];
		uint64_t size = 0;

		snprintf(path, sizeof(path), "%s/b%zu", test_tmpdir(), sizes[i]);
		REQUIRE(write_file(path, buf, sizes[i]) == 0);
		CHECK_EQ_INT(embargo_sha256_buf(buf, sizes[i], want), 0);
		CHECK_EQ_INT(embargo_sha256_path(path, got, &size), 0);
		CHECK_EQ_INT(size, sizes[i]);
		hex_encode(want, SHA256_LEN, hex);
		check_digest(path, got, hex);
	}
}

/* Not a regular file: an error at once, never a wait. */
TEST(sha256_not_a_file)
{
	char fifo[4096];
	uint8_t d[SHA256_LEN];
	int fd;

	alarm(10); /* a hang ends the run instead of stalling it */

	CHECK(embargo_sha256_path(test_tmpdir(), d, NULL) < 0);
	fd = open(test_tmpdir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	REQUIRE(fd >= 0);
	CHECK(embargo_sha256_fd(fd, d, NULL) < 0);
	close(fd);

	snprintf(fifo, sizeof(fifo), "%s/fifo", test_tmpdir());
	REQUIRE(mkfifo(fifo, 0600) == 0);
	CHECK(embargo_sha256_path(fifo, d, NULL) < 0);
	fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	REQUIRE(fd >= 0);
	CHECK(embargo_sha256_fd(fd, d, NULL) < 0);
	close(fd);

	CHECK_EQ_INT(embargo_sha256_path("/dev/null", d, NULL) < 0, 1);
	snprintf(fifo, sizeof(fifo), "%s/missing", test_tmpdir());
	CHECK_EQ_INT(embargo_sha256_path(fifo, d, NULL), -ENOENT);
	CHECK_EQ_INT(embargo_sha256_fd(-1, d, NULL), -EBADF);

	alarm(0);
}

/* One hasher across files of every size, and a wrong size hint: the digest is the file's all the same. */
TEST(sha256_hasher_reused_and_size_hint)
{
	static const size_t sizes[] = { 0, 1, 262143, 262144, 262145, 3 * 262144 + 1, 5 };
	const size_t max = 3 * 262144 + 1;
	_cleanup_(embargo_sha256_hasher_free) struct embargo_sha256_hasher h = {};
	_cleanup_free_ uint8_t *buf = malloc(max);

	REQUIRE(buf);
	for (size_t i = 0; i < max; i++)
		buf[i] = (uint8_t)(i * 7 + i / 251);
	REQUIRE(embargo_sha256_hasher_init(&h) == 0);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		const uint64_t hints[] = { sizes[i], 0, sizes[i] + 1, sizes[i] ? sizes[i] - 1 : 0,
					   UINT64_MAX };
		_cleanup_close_ int fd = -1;
		char path[4096], hex[SHA256_HEX_LEN + 1];
		uint8_t want[SHA256_LEN];

		snprintf(path, sizeof(path), "%s/h%zu", test_tmpdir(), sizes[i]);
		REQUIRE(write_file(path, buf, sizes[i]) == 0);
		REQUIRE(embargo_sha256_buf(buf, sizes[i], want) == 0);
		hex_encode(want, SHA256_LEN, hex);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		REQUIRE(fd >= 0);
		for (size_t k = 0; k < ARRAY_SIZE(hints); k++) {
			uint8_t got[SHA256_LEN];
			uint64_t bytes = 12345;

			CHECK_EQ_INT(embargo_sha256_hasher_fd(&h, fd, hints[k], got, &bytes, NULL), 0);
			CHECK_EQ_INT(bytes, sizes[i]);
			check_digest(path, got, hex);
		}
	}
	embargo_sha256_hasher_free(&h);
	embargo_sha256_hasher_free(&h); /* safe twice: the cleanup runs it again */
}

/* A set cancel flag stops a file longer than one read; a file that ends in the first read completes. */
TEST(sha256_hasher_cancel)
{
	_cleanup_(embargo_sha256_hasher_free) struct embargo_sha256_hasher h = {};
	_cleanup_free_ uint8_t *buf = calloc(1, 600000);
	_cleanup_close_ int fd = -1;
	volatile bool cancel = true, go = false;
	uint8_t d[SHA256_LEN];
	uint64_t bytes = 0;
	char path[4096];

	REQUIRE(buf);
	REQUIRE(embargo_sha256_hasher_init(&h) == 0);
	snprintf(path, sizeof(path), "%s/c", test_tmpdir());
	REQUIRE(write_file(path, buf, 600000) == 0);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0);
	CHECK_EQ_INT(embargo_sha256_hasher_fd(&h, fd, 600000, d, &bytes, &cancel), -ECANCELED);
	CHECK_EQ_INT(embargo_sha256_hasher_fd(&h, fd, 600000, d, &bytes, &go), 0);
	CHECK_EQ_INT(bytes, 600000);
	/* The hasher is usable again after a cancelled file. */
	REQUIRE(write_file(path, "abc", 3) == 0);
	CHECK_EQ_INT(embargo_sha256_hasher_fd(&h, fd, 3, d, &bytes, &cancel), 0);
	CHECK_EQ_INT(bytes, 3);
	check_digest("abc after a cancel", d, vectors[1].hex);
}

/* What each entry point says about what is not a regular file. */
TEST(sha256_not_a_file_errors)
{
	char fifo[4096];
	uint8_t d[SHA256_LEN];
	_cleanup_close_ int dir = open(test_tmpdir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	alarm(10);
	REQUIRE(dir >= 0);
	CHECK_EQ_INT(embargo_sha256_fd(dir, d, NULL), -EBADFD);
	CHECK_EQ_INT(embargo_sha256_path(test_tmpdir(), d, NULL), -EISDIR);
	snprintf(fifo, sizeof(fifo), "%s/fifo", test_tmpdir());
	REQUIRE(mkfifo(fifo, 0600) == 0);
	CHECK_EQ_INT(embargo_sha256_path(fifo, d, NULL), -EINVAL);
	CHECK_EQ_INT(embargo_sha256_path("/dev/null", d, NULL), -EINVAL);
	alarm(0);
}
