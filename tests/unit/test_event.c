// SPDX-License-Identifier: GPL-2.0
#include "event.h"
#include "record.h"
#include "test.h"

#include <errno.h>
#include <stdlib.h>

static struct embargo_event sample(void)
{
	struct embargo_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.hdr.version = EMBARGO_EVENT_VERSION;
	ev.hdr.kind = EMBARGO_EV_MATCH;
	ev.hdr.size = sizeof(ev);
	ev.pid = 4242;
	ev.ppid = 1;
	ev.uid = 1000;
	ev.cgroup_id = 77;
	ev.dev = (8ull << 20) | 3;
	ev.ino = 123456;
	ev.hook = EMBARGO_HOOK_MMAP;
	ev.action = EMBARGO_ACTION_DENIED;
	ev.mode = EMBARGO_MODE_ENFORCE;
	ev.tier = EMBARGO_TIER_LSM_HASH;
	ev.gen = 3;
	strcpy(ev.comm, "kesl");
	strcpy(ev.parent_comm, "systemd");
	strcpy(ev.path, "/opt/kaspersky/lib/libkav.so");
	return ev;
}

TEST(event_parse_accepts_current_version)
{
	struct embargo_event in = sample(), out;

	CHECK_EQ_INT(embargo_event_parse(&in, sizeof(in), &out), 0);
	CHECK_EQ_INT(out.pid, 4242);
	CHECK_EQ_STR(out.path, "/opt/kaspersky/lib/libkav.so");
}

TEST(event_parse_rejects_other_layouts)
{
	struct embargo_event in = sample(), out;

	CHECK_EQ_INT(embargo_event_parse(&in, sizeof(in.hdr) - 1, &out), -EPROTO);
	CHECK_EQ_INT(embargo_event_parse(&in, sizeof(in) - 1, &out), -EPROTO);
	in.hdr.version = EMBARGO_EVENT_VERSION + 1;
	CHECK_EQ_INT(embargo_event_parse(&in, sizeof(in), &out), -EPROTO);
	in = sample();
	in.hdr.size = sizeof(in) + 8;
	CHECK_EQ_INT(embargo_event_parse(&in, sizeof(in), &out), -EPROTO);
	in = sample();
	in.hdr.kind = 99;
	CHECK_EQ_INT(embargo_event_parse(&in, sizeof(in), &out), -EINVAL);
}

TEST(event_parse_terminates_strings)
{
	struct embargo_event in = sample(), out;

	memset(in.comm, 'x', sizeof(in.comm));
	memset(in.path, 'y', sizeof(in.path));
	REQUIRE(embargo_event_parse(&in, sizeof(in), &out) == 0);
	CHECK_EQ_INT(strlen(out.comm), sizeof(out.comm) - 1);
	CHECK_EQ_INT(strlen(out.path), sizeof(out.path) - 1);
}

TEST(event_record_has_every_field)
{
	struct embargo_event ev = sample();
	struct embargo_event_context ctx = {
		.vendor = "Kaspersky",
		.rule = "/etc/embargo/policy.d/kaspersky.policy:12",
		.label = "engine",
		.sha256_hex = "00ff",
		.parent_exe = "/usr/lib/systemd/systemd",
	};
	struct embargo_record rec = {};

	REQUIRE(embargo_event_record(&ev, &ctx, 0, &rec) == 0);
	CHECK_EQ_STR(record_get(&rec, "MESSAGE_ID"), EMBARGO_MSGID_DENIED);
	CHECK_EQ_STR(record_get(&rec, "EMBARGO_ACTION"), "denied");
	CHECK_EQ_STR(record_get(&rec, "EMBARGO_MODE"), "enforce");
	CHECK_EQ_STR(record_get(&rec, "EMBARGO_HOOK"), "mmap");
	CHECK_EQ_STR(record_get(&rec, "EMBARGO_TIER"), "lsm-hash");
	CHECK_EQ_STR(record_get(&rec, "EMBARGO_VENDOR"), "Kaspersky");
	CHECK_EQ_STR(record_get(&rec, "EMBARGO_RULE"), "/etc/embargo/policy.d/kaspersky.policy:12");
	CHECK_EQ_STR(record_get(&rec, "EMBARGO_SHA256"), "00ff");
	CHECK_EQ_STR(record_get(&rec, "EMBARGO_PATH"), "/opt/kaspersky/lib/libkav.so");
	CHECK_EQ_STR(record_get(&rec, "EMBARGO_PID"), "4242");
	CHECK_EQ_STR(record_get(&rec, "EMBARGO_PPID"), "1");
	CHECK_EQ_STR(record_get(&rec, "EMBARGO_UID"), "1000");
	CHECK_EQ_STR(record_get(&rec, "EMBARGO_COMM"), "kesl");
	CHECK_EQ_STR(record_get(&rec, "EMBARGO_PARENT_EXE"), "/usr/lib/systemd/systemd");
	CHECK_EQ_STR(record_get(&rec, "EMBARGO_CGROUP_ID"), "77");
	CHECK_EQ_STR(record_get(&rec, "EMBARGO_DEVICE"), "8:3");
	CHECK_EQ_STR(record_get(&rec, "PRIORITY"), "4");
	CHECK(strstr(record_get(&rec, "MESSAGE"), "Denied loading /opt/kaspersky/lib/libkav.so: Kaspersky") !=
	      NULL);
	CHECK(record_get(&rec, "EMBARGO_REPEATED") == NULL);
	record_free(&rec);
}

TEST(event_record_audit_and_repeats)
{
	struct embargo_event ev = sample();
	struct embargo_event_context ctx = { .vendor = "V", .note = "detection-only tier" };
	struct embargo_record rec = {};

	ev.hook = EMBARGO_HOOK_EXEC;
	ev.repeated = 41;
	REQUIRE(embargo_event_record(&ev, &ctx, EMBARGO_ACTION_AUDITED, &rec) == 0);
	CHECK_EQ_STR(record_get(&rec, "MESSAGE_ID"), EMBARGO_MSGID_AUDITED);
	CHECK_EQ_STR(record_get(&rec, "EMBARGO_ACTION"), "audited");
	CHECK_EQ_STR(record_get(&rec, "EMBARGO_REPEATED"), "41");
	CHECK_EQ_STR(record_get(&rec, "EMBARGO_NOTE"), "detection-only tier");
	CHECK(strstr(record_get(&rec, "MESSAGE"), "41 more like it") != NULL);
	record_free(&rec);
}

TEST(record_line_escapes)
{
	struct embargo_record rec = {};
	char *line;

	REQUIRE(record_add(&rec, "MESSAGE", "hello") == 0);
	REQUIRE(record_add(&rec, "PRIORITY", "5") == 0);
	REQUIRE(record_add(&rec, "EMBARGO_PATH", "/tmp/a \"b\"\\c\nd") == 0);
	line = record_format_line(&rec);
	REQUIRE(line != NULL);
	CHECK_EQ_STR(line, "hello EMBARGO_PATH=\"/tmp/a \\\"b\\\"\\\\c\\x0ad\"");
	free(line);
	record_free(&rec);
}

TEST(record_field_limit)
{
	struct embargo_record rec = {};
	int r = 0;

	for (int i = 0; i < EMBARGO_RECORD_MAX_FIELDS && r == 0; i++)
		r = record_addf(&rec, "F", "%d", i);
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT(record_add(&rec, "ONE_TOO_MANY", "x"), -E2BIG);
	record_free(&rec);
}

TEST(hook_names)
{
	CHECK_EQ_STR(embargo_hook_name(EMBARGO_HOOK_READ), "read");
	CHECK_EQ_STR(embargo_hook_name(EMBARGO_HOOK_MPROTECT), "mprotect");
	CHECK_EQ_STR(embargo_hook_name(EMBARGO_HOOK_EXEC_CHECK), "exec-check");
	CHECK_EQ_STR(embargo_hook_name(99), "unknown");
}

TEST(tier_names_round_trip)
{
	uint8_t t;

	for (uint8_t i = EMBARGO_TIER_DETECT; i <= EMBARGO_TIER_FANOTIFY; i++) {
		REQUIRE(embargo_tier_from_string(embargo_tier_name(i), &t) == 0);
		CHECK_EQ_INT(t, i);
	}
	CHECK_EQ_INT(embargo_tier_from_string("fapolicyd", &t), -EINVAL);
}

/* A file the kernel could not check: its own MESSAGE_ID, the size, the kernel's action. */
TEST(event_record_undecidable)
{
	struct embargo_event ev = sample();
	struct embargo_event_context ctx = { .note = "too large" };
	struct embargo_record rec = {};

	ev.flags = EMBARGO_EVF_TOO_LARGE;
	ev.rule_id = EMBARGO_RULE_NONE;
	ev.size = 1ull << 62;
	CHECK_EQ_INT(embargo_event_record(&ev, &ctx, 0, &rec), 0);
	CHECK_EQ_STR(record_get(&rec, "MESSAGE_ID"), EMBARGO_MSGID_UNCHECKED);
	CHECK_EQ_STR(record_get(&rec, "EMBARGO_ACTION"), "denied");
	CHECK_EQ_STR(record_get(&rec, "EMBARGO_FILE_SIZE"), "4611686018427387904");
	CHECK_EQ_STR(record_get(&rec, "EMBARGO_NOTE"), "too large");
	record_free(&rec);

	/* An ordinary match carries no size. */
	ev = sample();
	CHECK_EQ_INT(embargo_event_record(&ev, &ctx, 0, &rec), 0);
	CHECK_EQ_STR(record_get(&rec, "MESSAGE_ID"), EMBARGO_MSGID_DENIED);
	CHECK(record_get(&rec, "EMBARGO_FILE_SIZE") == NULL);
	record_free(&rec);
}

/* The one list of file systems whose content the cache cannot pin. */
TEST(fs_kind_by_magic)
{
	CHECK_EQ_INT(embargo_fs_kind(0x794c7630), EMBARGO_FS_OVERLAY);
	CHECK_EQ_INT(embargo_fs_kind(0x65735546), EMBARGO_FS_REMOTE); /* fuse */
	CHECK_EQ_INT(embargo_fs_kind(0x6969), EMBARGO_FS_REMOTE);     /* nfs */
	CHECK_EQ_INT(embargo_fs_kind(0xff534d42), EMBARGO_FS_REMOTE); /* cifs */
	CHECK_EQ_INT(embargo_fs_kind(0xfe534d42), EMBARGO_FS_REMOTE); /* smb2 */
	CHECK_EQ_INT(embargo_fs_kind(0x01021997), EMBARGO_FS_REMOTE); /* 9p */
	CHECK_EQ_INT(embargo_fs_kind(0x00c36400), EMBARGO_FS_REMOTE); /* ceph */
	CHECK_EQ_INT(embargo_fs_kind(0x5346414f), EMBARGO_FS_REMOTE); /* afs */
	CHECK_EQ_INT(embargo_fs_kind(0x517b), EMBARGO_FS_REMOTE);     /* smb */
	CHECK_EQ_INT(embargo_fs_kind(0x0bd00bd0), EMBARGO_FS_REMOTE); /* lustre */
	CHECK_EQ_INT(embargo_fs_kind(0xef53), EMBARGO_FS_LOCAL);      /* ext4 */
	CHECK_EQ_INT(embargo_fs_kind(0x01021994), EMBARGO_FS_LOCAL);  /* tmpfs */
}
