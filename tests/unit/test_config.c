// SPDX-License-Identifier: GPL-2.0
/* embargo.conf: defaults, every accepted form, every error with its exact message, and format round trips. */
#include "test.h"

#include "config.h"
#include "control.h"
#include "embargo.h"
#include "event.h"
#include "util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

/* ---- helpers -------------------------------------------------------------------------------------- */

static const char *conf_path(void)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/embargo.conf", test_tmpdir());
	return buf;
}

/* Writes len bytes of text (NULs included) as <tmp>/embargo.conf. */
static void put_n(const char *text, size_t len)
{
	FILE *f = fopen(conf_path(), "we");

	if (!f || fwrite(text, 1, len, f) != len)
		test_fail(__FILE__, __LINE__, "cannot write %s", conf_path());
	if (f)
		fclose(f);
}

static void put(const char *text)
{
	put_n(text, strlen(text));
}

/* Loads text as <tmp>/embargo.conf into *c, failing the test with the error if it does not load. */
static int load_text(const char *text, struct embargo_config *c)
{
	struct embargo_config_error err;
	char msg[8192];
	int r;

	put(text);
	r = embargo_config_load(conf_path(), c, &err);
	if (r < 0)
		test_fail(__FILE__, __LINE__, "load: %d %s", r,
			  embargo_config_error_format(&err, msg, sizeof(msg)));
	return r;
}

static bool strv_eq(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!a || !b || !a[i] || !b[i] || strcmp(a[i], b[i]) != 0)
			return false;
	return (!a || !a[na]) && (!b || !b[nb]);
}

/* Every value equal (the path loaded from is not a value). */
static bool config_eq(const struct embargo_config *a, const struct embargo_config *b)
{
	return a->mode == b->mode && strcmp(a->policy, b->policy) == 0 && a->tier == b->tier &&
	       strv_eq(a->scan_paths, a->n_scan_paths, b->scan_paths, b->n_scan_paths) &&
	       a->scan_at_start == b->scan_at_start && a->on_timeout == b->on_timeout &&
	       a->decision_timeout_ms == b->decision_timeout_ms && a->kill_running == b->kill_running &&
	       a->keep_enforcement_on_exit == b->keep_enforcement_on_exit &&
	       a->init_module == b->init_module && a->max_hash_size_mib == b->max_hash_size_mib &&
	       a->remote_fs == b->remote_fs && a->max_learned == b->max_learned &&
	       a->never_deny_packaged == b->never_deny_packaged && a->self_protection == b->self_protection &&
	       a->syscall_filter == b->syscall_filter &&
	       strv_eq(a->interpreters, a->n_interpreters, b->interpreters, b->n_interpreters) &&
	       strv_eq(a->fanotify_paths, a->n_fanotify_paths, b->fanotify_paths, b->n_fanotify_paths) &&
	       a->log == b->log && a->log_rate_limit == b->log_rate_limit &&
	       a->log_rate_interval_s == b->log_rate_interval_s &&
	       strcmp(a->runtime_dir, b->runtime_dir) == 0 && strcmp(a->state_dir, b->state_dir) == 0;
}

/* ---- defaults ------------------------------------------------------------------------------------- */

static void check_defaults(const struct embargo_config *c)
{
	CHECK_EQ_INT(c->mode, EMBARGO_MODE_ENFORCE);
	CHECK_EQ_STR(c->policy, "/etc/embargo/policy.d");
	CHECK_EQ_INT(c->tier, EMBARGO_CONFIG_TIER_AUTO);
	REQUIRE(c->n_scan_paths == 1 && c->scan_paths);
	CHECK_EQ_STR(c->scan_paths[0], "/");
	CHECK(c->scan_paths[1] == NULL);
	CHECK(c->scan_at_start);
	CHECK_EQ_INT(c->on_timeout, EMBARGO_CONFIG_ON_TIMEOUT_AUTO);
	CHECK_EQ_INT(c->decision_timeout_ms, 1000);
	CHECK(!c->kill_running);
	CHECK(!c->keep_enforcement_on_exit);
	CHECK_EQ_INT(c->max_hash_size_mib, 2048);
	CHECK_EQ_INT(c->remote_fs, EMBARGO_CONFIG_REMOTE_FS_CHECK);
	CHECK_EQ_INT(c->max_learned, 10000);
	CHECK(c->never_deny_packaged);
	CHECK(c->self_protection);
	CHECK(c->syscall_filter);
	REQUIRE(c->n_interpreters > 0 && c->interpreters);
	CHECK_EQ_STR(c->interpreters[0], "/bin/sh");
	CHECK(c->interpreters[c->n_interpreters] == NULL);
	CHECK(c->fanotify_paths == NULL);
	CHECK_EQ_INT(c->n_fanotify_paths, 0);
	CHECK_EQ_INT(c->log, EMBARGO_CONFIG_LOG_AUTO);
	CHECK_EQ_INT(c->log_rate_limit, 1000);
	CHECK_EQ_INT(c->log_rate_interval_s, 10);
	CHECK_EQ_STR(c->runtime_dir, "/run/embargo");
	CHECK_EQ_STR(c->state_dir, "/var/lib/embargo");
}

TEST(config_defaults)
{
	struct embargo_config c;

	REQUIRE(embargo_config_defaults(&c) == 0);
	check_defaults(&c);
	CHECK(c.path == NULL);
	embargo_config_free(&c);
	CHECK(c.policy == NULL && c.scan_paths == NULL);
	embargo_config_free(&c); /* zeroed: freeing again is harmless */
}

TEST(config_empty_file_is_defaults)
{
	struct embargo_config c = { 0 };

	REQUIRE(load_text("# nothing set\n\n   \t\n", &c) == 0);
	check_defaults(&c);
	CHECK_EQ_STR(c.path, conf_path());
	embargo_config_free(&c);
	REQUIRE(load_text("", &c) == 0);
	check_defaults(&c);
	embargo_config_free(&c);
}

/* The default path may be absent (the defaults apply); a path given must exist. */
TEST(config_missing_file)
{
	struct embargo_config c = { 0 };
	struct embargo_config_error err;
	char path[4096], want[8192], got[8192];

	snprintf(path, sizeof(path), "%s/none.conf", test_tmpdir());
	CHECK_EQ_INT(embargo_config_load(path, &c, &err), -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot read configuration file: No such file or directory", path);
	CHECK_EQ_STR(embargo_config_error_format(&err, got, sizeof(got)), want);
	CHECK(c.policy == NULL);

	if (access(EMBARGO_CONFIG_PATH, F_OK) < 0 && errno == ENOENT) {
		/* Named or not, the default file may be absent. */
		CHECK_EQ_INT(embargo_config_load(NULL, &c, &err), 0);
		check_defaults(&c);
		CHECK(c.path == NULL);
		embargo_config_free(&c);
		CHECK_EQ_INT(embargo_config_load(EMBARGO_CONFIG_PATH, &c, &err), 0);
		check_defaults(&c);
		CHECK(c.path == NULL);
		embargo_config_free(&c);
	} else {
		/* An installed machine: whatever is there must at least load or say why not. */
		int r = embargo_config_load(NULL, &c, &err);

		CHECK(r == 0 || err.file[0] != '\0');
		embargo_config_free(&c);
	}
}

TEST(config_not_a_file)
{
	struct embargo_config c = { 0 };
	struct embargo_config_error err;
	char path[4096], want[8192], got[8192];

	CHECK_EQ_INT(embargo_config_load(test_tmpdir(), &c, &err), -EISDIR);
	snprintf(want, sizeof(want), "%s: cannot read configuration file: Is a directory", test_tmpdir());
	CHECK_EQ_STR(embargo_config_error_format(&err, got, sizeof(got)), want);

	/* A FIFO is refused at once, never waited on. */
	snprintf(path, sizeof(path), "%s/fifo", test_tmpdir());
	REQUIRE(mkfifo(path, 0600) == 0);
	CHECK_EQ_INT(embargo_config_load(path, &c, &err), -EINVAL);
	snprintf(want, sizeof(want), "%s: cannot read configuration file: not a regular file", path);
	CHECK_EQ_STR(embargo_config_error_format(&err, got, sizeof(got)), want);
	CHECK(c.policy == NULL);
}

TEST(config_too_large)
{
	struct embargo_config c = { 0 };
	struct embargo_config_error err;
	size_t n = 1024 * 1024 + 1;
	char *big = malloc(n);
	char want[8192], got[8192];

	REQUIRE(big);
	memset(big, '\n', n);
	put_n(big, n);
	CHECK_EQ_INT(embargo_config_load(conf_path(), &c, &err), -EFBIG);
	snprintf(want, sizeof(want), "%s: configuration file is larger than 1048576 bytes", conf_path());
	CHECK_EQ_STR(embargo_config_error_format(&err, got, sizeof(got)), want);
	/* Exactly the limit is fine. */
	put_n(big, n - 1);
	CHECK_EQ_INT(embargo_config_load(conf_path(), &c, &err), 0);
	embargo_config_free(&c);
	free(big);
}

/* ---- good inputs ---------------------------------------------------------------------------------- */

TEST(config_every_key)
{
	struct embargo_config c = { 0 };

	REQUIRE(load_text("# every key, not the default\n"
			  "mode audit\n"
			  "policy /srv/policy/main.policy\n"
			  "tier fanotify\n"
			  "scan_paths /opt /usr\n"
			  "scan_at_start no\n"
			  "on_timeout deny\n"
			  "decision_timeout_ms 250\n"
			  "kill_running yes\n"
			  "keep_enforcement_on_exit yes\n"
			  "max_hash_size_mib 1\n"
			  "remote_fs deny\n"
			  "max_learned 0\n"
			  "never_deny_packaged no\n"
			  "self_protection no\n"
			  "syscall_filter no\n"
			  "interpreters /opt/bin/sh \"/usr/bin/python3*\"\n"
			  "fanotify_paths /opt /home\n"
			  "log stderr\n"
			  "log_rate_limit 0\n"
			  "log_rate_interval_s 60\n"
			  "runtime_dir /run/embargo-test\n"
			  "state_dir /var/lib/embargo-test\n",
			  &c) == 0);
	CHECK_EQ_INT(c.mode, EMBARGO_MODE_AUDIT);
	CHECK_EQ_STR(c.policy, "/srv/policy/main.policy");
	CHECK_EQ_INT(c.tier, EMBARGO_CONFIG_TIER_FANOTIFY);
	REQUIRE(c.n_scan_paths == 2);
	CHECK_EQ_STR(c.scan_paths[0], "/opt");
	CHECK_EQ_STR(c.scan_paths[1], "/usr");
	CHECK(c.scan_paths[2] == NULL);
	CHECK(!c.scan_at_start);
	CHECK_EQ_INT(c.on_timeout, EMBARGO_CONFIG_ON_TIMEOUT_DENY);
	CHECK_EQ_INT(c.decision_timeout_ms, 250);
	CHECK(c.kill_running);
	CHECK(c.keep_enforcement_on_exit);
	CHECK(!c.self_protection);
	CHECK(!c.syscall_filter);
	REQUIRE(c.n_interpreters == 2);
	CHECK_EQ_STR(c.interpreters[0], "/opt/bin/sh");
	CHECK_EQ_STR(c.interpreters[1], "/usr/bin/python3*");
	REQUIRE(c.n_fanotify_paths == 2);
	CHECK_EQ_STR(c.fanotify_paths[0], "/opt");
	CHECK_EQ_STR(c.fanotify_paths[1], "/home");
	CHECK(c.fanotify_paths[2] == NULL);
	CHECK_EQ_INT(c.log, EMBARGO_CONFIG_LOG_STDERR);
	CHECK_EQ_INT(c.log_rate_limit, 0);
	CHECK_EQ_INT(c.log_rate_interval_s, 60);
	CHECK_EQ_STR(c.runtime_dir, "/run/embargo-test");
	CHECK_EQ_STR(c.state_dir, "/var/lib/embargo-test");
	embargo_config_free(&c);
}

TEST(config_every_choice)
{
	static const struct {
		const char *text;
		size_t offset;
		uint8_t want;
	} cases[] = {
		{ "mode enforce", offsetof(struct embargo_config, mode), EMBARGO_MODE_ENFORCE },
		{ "mode audit", offsetof(struct embargo_config, mode), EMBARGO_MODE_AUDIT },
		{ "tier auto", offsetof(struct embargo_config, tier), EMBARGO_CONFIG_TIER_AUTO },
		{ "tier lsm-hash", offsetof(struct embargo_config, tier), EMBARGO_CONFIG_TIER_LSM_HASH },
		{ "tier lsm", offsetof(struct embargo_config, tier), EMBARGO_CONFIG_TIER_LSM },
		{ "tier fanotify", offsetof(struct embargo_config, tier), EMBARGO_CONFIG_TIER_FANOTIFY },
		{ "tier detect", offsetof(struct embargo_config, tier), EMBARGO_CONFIG_TIER_DETECT },
		{ "on_timeout auto", offsetof(struct embargo_config, on_timeout),
		  EMBARGO_CONFIG_ON_TIMEOUT_AUTO },
		{ "on_timeout allow", offsetof(struct embargo_config, on_timeout),
		  EMBARGO_CONFIG_ON_TIMEOUT_ALLOW },
		{ "on_timeout deny", offsetof(struct embargo_config, on_timeout),
		  EMBARGO_CONFIG_ON_TIMEOUT_DENY },
		{ "init_module auto", offsetof(struct embargo_config, init_module),
		  EMBARGO_CONFIG_INIT_MODULE_AUTO },
		{ "init_module deny", offsetof(struct embargo_config, init_module),
		  EMBARGO_CONFIG_INIT_MODULE_DENY },
		{ "init_module allow", offsetof(struct embargo_config, init_module),
		  EMBARGO_CONFIG_INIT_MODULE_ALLOW },
		{ "log auto", offsetof(struct embargo_config, log), EMBARGO_CONFIG_LOG_AUTO },
		{ "log journal", offsetof(struct embargo_config, log), EMBARGO_CONFIG_LOG_JOURNAL },
		{ "log stderr", offsetof(struct embargo_config, log), EMBARGO_CONFIG_LOG_STDERR },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct embargo_config c = { 0 };

		if (load_text(cases[i].text, &c) < 0) {
			test_fail(__FILE__, __LINE__, "case '%s'", cases[i].text);
			continue;
		}
		if (*((uint8_t *)&c + cases[i].offset) != cases[i].want)
			test_fail(__FILE__, __LINE__, "case '%s': got %u", cases[i].text,
				  *((uint8_t *)&c + cases[i].offset));
		embargo_config_free(&c);
	}
}

TEST(config_lexical_forms)
{
	struct embargo_config c = { 0 };

	/* A byte-order mark, CR LF, tabs, quoted keys' values, comments glued to words, the range ends. */
	REQUIRE(load_text("\xef\xbb\xbf"
			  "mode\t\"audit\"   # comment\r\n"
			  "\t policy \"/etc/my policy/x#1.policy\"#glued comment\r\n"
			  "runtime_dir /run/a\\b\n"
			  "state_dir \"/var/lib/q\\\"uote\\\\\"\n"
			  "decision_timeout_ms 10\n"
			  "log_rate_limit 1000000\n"
			  "log_rate_interval_s 3600\n"
			  "scan_at_start yes#x\n"
			  "tier detect",
			  &c) == 0);
	CHECK_EQ_INT(c.mode, EMBARGO_MODE_AUDIT);
	CHECK_EQ_STR(c.policy, "/etc/my policy/x#1.policy");
	CHECK_EQ_STR(c.runtime_dir, "/run/a\\b"); /* outside quotes a backslash is a character */
	CHECK_EQ_STR(c.state_dir, "/var/lib/q\"uote\\");
	CHECK_EQ_INT(c.decision_timeout_ms, 10);
	CHECK_EQ_INT(c.log_rate_limit, 1000000);
	CHECK_EQ_INT(c.log_rate_interval_s, 3600);
	CHECK(c.scan_at_start);
	CHECK_EQ_INT(c.tier, EMBARGO_CONFIG_TIER_DETECT);
	embargo_config_free(&c);

	REQUIRE(load_text("decision_timeout_ms 60000\n", &c) == 0);
	CHECK_EQ_INT(c.decision_timeout_ms, 60000);
	embargo_config_free(&c);
}

TEST(config_lists)
{
	struct embargo_config c = { 0 };

	/* The file's first line replaces the default "/", later ones append. */
	REQUIRE(load_text("scan_paths /home\n"
			  "scan_paths \"/srv/with space\" /opt\n"
			  "fanotify_paths /a\n"
			  "fanotify_paths /b\n",
			  &c) == 0);
	REQUIRE(c.n_scan_paths == 3);
	CHECK_EQ_STR(c.scan_paths[0], "/home");
	CHECK_EQ_STR(c.scan_paths[1], "/srv/with space");
	CHECK_EQ_STR(c.scan_paths[2], "/opt");
	CHECK(c.scan_paths[3] == NULL);
	REQUIRE(c.n_fanotify_paths == 2);
	CHECK_EQ_STR(c.fanotify_paths[0], "/a");
	CHECK_EQ_STR(c.fanotify_paths[1], "/b");
	embargo_config_free(&c);

	REQUIRE(load_text("fanotify_paths auto\nfanotify_paths \"auto\"\n", &c) == 0);
	CHECK(c.fanotify_paths == NULL);
	CHECK_EQ_INT(c.n_fanotify_paths, 0);
	embargo_config_free(&c);
}

/* A load replaces what the struct held (a reload); a failed one leaves it as it was. */
TEST(config_reload_and_untouched_on_error)
{
	struct embargo_config c = { 0 }, before;
	struct embargo_config_error err;
	char *policy;

	REQUIRE(load_text("mode audit\nscan_paths /x /y\n", &c) == 0);
	REQUIRE(load_text("mode audit\npolicy /p\nscan_paths /z\n", &c) == 0);
	CHECK_EQ_STR(c.policy, "/p");
	REQUIRE(c.n_scan_paths == 1);
	CHECK_EQ_STR(c.scan_paths[0], "/z");

	before = c;
	policy = c.policy;
	put("mode audit\npolicy /q\nscan_paths /w\nmode enforce\n");
	CHECK_EQ_INT(embargo_config_load(conf_path(), &c, &err), -EINVAL);
	CHECK(memcmp(&before, &c, sizeof(c)) == 0);
	CHECK(c.policy == policy);
	CHECK_EQ_STR(c.policy, "/p");
	CHECK_EQ_STR(c.scan_paths[0], "/z");
	CHECK_EQ_INT(c.mode, EMBARGO_MODE_AUDIT);
	embargo_config_free(&c);
}

/* ---- bad inputs: each with its whole message ------------------------------------------------------ */

struct bad_case {
	const char *text;
	const char *expect; /* "line:column: message" */
};

static const struct bad_case bad_cases[] = {
	/* keys */
	{ "mdoe audit\n", "1:1: unknown key 'mdoe'; did you mean 'mode'?" },
	{ "\n  scan_path /\n", "2:3: unknown key 'scan_path'; did you mean 'scan_paths'?" },
	{ "verbose yes\n",
	  "1:1: unknown key 'verbose'; expected one of: mode, policy, tier, scan_paths, "
	  "scan_at_start, on_timeout, decision_timeout_ms, kill_running, keep_enforcement_on_exit, "
	  "init_module, max_hash_size_mib, remote_fs, max_learned, never_deny_packaged, "
	  "self_protection, syscall_filter, interpreters, "
	  "fanotify_paths, log, log_rate_limit, log_rate_interval_s, runtime_dir, state_dir" },
	{ "Mode audit\n", "1:1: unknown key 'Mode'; did you mean 'mode'?" },
	{ "\"mode\" audit\n", "1:1: expected a key, found \"mode\" (keys are not quoted)" },
	{ "mode = audit\n", "1:6: unexpected '=': write 'mode VALUE', without '='" },
	{ "mode=audit\n", "1:5: unexpected '=': write 'mode VALUE', without '='" },
	{ "  log_rate_limit= 5\n", "1:17: unexpected '=': write 'log_rate_limit VALUE', without '='" },
	/* duplicates */
	{ "mode audit\n#\nmode audit\n", "3:1: duplicate key 'mode' (already set at line 1)" },
	{ "policy /a\npolicy /b\n", "2:1: duplicate key 'policy' (already set at line 1)" },
	{ "kill_running no\n kill_running no\n",
	  "2:2: duplicate key 'kill_running' (already set at line 1)" },
	/* missing values, trailing words */
	{ "mode\n", "1:5: expected 'audit' or 'enforce' after 'mode'" },
	{ "mode   # none\n", "1:5: expected 'audit' or 'enforce' after 'mode'" },
	{ "tier\n", "1:5: expected 'auto', 'lsm-hash', 'lsm', 'fanotify' or 'detect' after 'tier'" },
	{ "policy\n", "1:7: expected an absolute path after 'policy'" },
	{ "scan_paths\n", "1:11: expected one or more absolute paths after 'scan_paths'" },
	{ "fanotify_paths\n", "1:15: expected 'auto' or absolute paths after 'fanotify_paths'" },
	{ "decision_timeout_ms\n", "1:20: expected a number of milliseconds from 10 to 60000 after "
				   "'decision_timeout_ms'" },
	{ "mode audit enforce\n", "1:12: expected end of line, found 'enforce'" },
	{ "policy /a \"/b\"\n", "1:11: expected end of line, found \"/b\"" },
	{ "decision_timeout_ms 100 ms\n", "1:25: expected end of line, found 'ms'" },
	/* bad values, with what is allowed */
	{ "mode enforcing\n", "1:6: expected 'audit' or 'enforce', found 'enforcing'" },
	{ "mode inherit\n", "1:6: expected 'audit' or 'enforce', found 'inherit'" },
	{ "mode \"\"\n", "1:6: expected 'audit' or 'enforce', found \"\"" },
	{ "tier bpf\n", "1:6: expected 'auto', 'lsm-hash', 'lsm', 'fanotify' or 'detect', found 'bpf'" },
	{ "on_timeout block\n", "1:12: expected 'auto', 'allow' or 'deny', found 'block'" },
	{ "init_module refuse\n", "1:13: expected 'auto', 'deny' or 'allow', found 'refuse'" },
	{ "init_module\n", "1:12: expected 'auto', 'deny' or 'allow' after 'init_module'" },
	{ "log syslog\n", "1:5: expected 'auto', 'journal' or 'stderr', found 'syslog'" },
	{ "scan_at_start true\n", "1:15: expected 'yes' or 'no', found 'true'" },
	{ "kill_running YES\n", "1:14: expected 'yes' or 'no', found 'YES'" },
	{ "keep_enforcement_on_exit 1\n", "1:26: expected 'yes' or 'no', found '1'" },
	{ "self_protection off\n", "1:17: expected 'yes' or 'no', found 'off'" },
	{ "self_protection\n", "1:16: expected 'yes' or 'no' after 'self_protection'" },
	{ "self_protection no yes\n", "1:20: expected end of line, found 'yes'" },
	{ "self_protection yes\nself_protection no\n",
	  "2:1: duplicate key 'self_protection' (already set at line 1)" },
	{ "selfprotection no\n", "1:1: unknown key 'selfprotection'; did you mean 'self_protection'?" },
	{ "syscall_filter false\n", "1:16: expected 'yes' or 'no', found 'false'" },
	{ "syscall-filter no\n", "1:1: unknown key 'syscall-filter'; did you mean 'syscall_filter'?" },
	{ "decision_timeout_ms 9\n", "1:21: expected a number of milliseconds from 10 to 60000, found '9'" },
	{ "decision_timeout_ms 60001\n",
	  "1:21: expected a number of milliseconds from 10 to 60000, found '60001'" },
	{ "decision_timeout_ms -5\n",
	  "1:21: expected a number of milliseconds from 10 to 60000, found '-5'" },
	{ "decision_timeout_ms +50\n",
	  "1:21: expected a number of milliseconds from 10 to 60000, found '+50'" },
	{ "decision_timeout_ms 1e3\n",
	  "1:21: expected a number of milliseconds from 10 to 60000, found '1e3'" },
	{ "decision_timeout_ms 99999999999999999999999\n",
	  "1:21: expected a number of milliseconds from 10 to 60000, found '99999999999999999999999'" },
	{ "log_rate_limit 1000001\n",
	  "1:16: expected a number of events from 0 to 1000000, found '1000001'" },
	{ "log_rate_interval_s 0\n", "1:21: expected a number of seconds from 1 to 3600, found '0'" },
	{ "log_rate_interval_s 10s\n", "1:21: expected a number of seconds from 1 to 3600, found '10s'" },
	/* paths */
	{ "policy policies\n", "1:8: expected an absolute path, found 'policies'" },
	{ "policy ./policies\n", "1:8: expected an absolute path, found './policies'" },
	{ "policy ~/p\n", "1:8: expected an absolute path, found '~/p'" },
	{ "policy \"\"\n", "1:8: path is empty" },
	{ "runtime_dir run/embargo\n", "1:13: expected an absolute path, found 'run/embargo'" },
	{ "state_dir var\n", "1:11: expected an absolute path, found 'var'" },
	{ "scan_paths / home\n", "1:14: expected an absolute path, found 'home'" },
	{ "fanotify_paths /a b\n", "1:19: expected an absolute path, found 'b'" },
	{ "scan_paths auto\n", "1:12: expected an absolute path, found 'auto'" },
	{ "fanotify_paths auto /a\n", "1:21: 'auto' cannot be combined with paths" },
	{ "fanotify_paths /a auto\n", "1:19: 'auto' cannot be combined with paths" },
	{ "fanotify_paths /a\nfanotify_paths auto\n",
	  "2:16: 'auto' cannot follow the paths given at line 1" },
	{ "fanotify_paths auto\nfanotify_paths /a\n",
	  "2:16: fanotify_paths is 'auto' since line 1: paths cannot be added to it" },
	/* words and strings, as in the policy language */
	{ "policy \"/a\n", "1:8: unterminated string" },
	{ "policy \"/a\\\n", "1:8: unterminated string" },
	{ "policy \"/a\\n\"\n", "1:11: invalid escape '\\n' (only \\\" and \\\\ are allowed)" },
	{ "policy \"/a\\\x01\"\n",
	  "1:11: invalid escape: backslash before byte 0x01 (only \\\" and \\\\ are allowed)" },
	{ "policy \"/a\"b\n", "1:12: expected whitespace after string, found 'b'" },
	{ "policy /a\"b\"\n", "1:10: unexpected '\"' inside a word" },
	{ "mode\x01 audit\n", "1:5: unexpected control character 0x01" },
	{ "mode audit\rx\n", "1:11: unexpected control character 0x0d" },
	{ "policy \"/a\x1b[2J\"\n", "1:11: unexpected control character 0x1b" },
};

TEST(config_bad_inputs)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		struct embargo_config c = { 0 };
		struct embargo_config_error err;
		char got[1024];
		int r;

		put(bad_cases[i].text);
		r = embargo_config_load(conf_path(), &c, &err);
		snprintf(got, sizeof(got), "%u:%u: %s", err.line, err.column, err.message);
		if (r != -EINVAL || strcmp(got, bad_cases[i].expect) != 0 ||
		    strcmp(err.file, conf_path()) != 0)
			test_fail(__FILE__, __LINE__, "case %zu %s: got %d \"%s\" in %s, expected \"%s\"", i,
				  bad_cases[i].text, r, got, err.file, bad_cases[i].expect);
		if (c.policy) {
			test_fail(__FILE__, __LINE__, "case %zu: the struct was written", i);
			embargo_config_free(&c);
		}
	}
}

TEST(config_nul_byte)
{
	struct embargo_config c = { 0 };
	struct embargo_config_error err;
	char want[8192], got[8192];

	put_n("mode audit\npolicy /a\0b\n", 23);
	CHECK_EQ_INT(embargo_config_load(conf_path(), &c, &err), -EINVAL);
	snprintf(want, sizeof(want), "%s:2:10: unexpected control character 0x00", conf_path());
	CHECK_EQ_STR(embargo_config_error_format(&err, got, sizeof(got)), want);
}

TEST(config_long_path)
{
	struct embargo_config c = { 0 };
	struct embargo_config_error err;
	char text[8192];

	/* PATH_MAX - 1 bytes fit, PATH_MAX do not. */
	memcpy(text, "policy /", 8);
	memset(text + 8, 'a', 4094);
	strcpy(text + 8 + 4094, "\n");
	put(text);
	REQUIRE(embargo_config_load(conf_path(), &c, &err) == 0);
	CHECK_EQ_INT(strlen(c.policy), 4095);
	embargo_config_free(&c);
	strcpy(text + 8 + 4094, "a\n");
	put(text);
	CHECK_EQ_INT(embargo_config_load(conf_path(), &c, &err), -EINVAL);
	CHECK_EQ_INT(err.line, 1);
	CHECK_EQ_INT(err.column, 8);
	CHECK_EQ_STR(err.message, "path is longer than 4095 bytes");
}

/* ---- format --------------------------------------------------------------------------------------- */

/* c → text → load → the same values, and the same text again. */
static void round_trip(const struct embargo_config *c)
{
	_cleanup_free_ char *text = NULL, *again = NULL;
	struct embargo_config back = { 0 };

	REQUIRE(embargo_config_format(c, &text) == 0);
	REQUIRE(load_text(text, &back) == 0);
	if (!config_eq(c, &back))
		test_fail(__FILE__, __LINE__, "round trip changed the values; text:\n%s", text);
	REQUIRE(embargo_config_format(&back, &again) == 0);
	CHECK_EQ_STR(again, text);
	embargo_config_free(&back);
}

TEST(config_format_defaults)
{
	_cleanup_free_ char *text = NULL;
	struct embargo_config c;

	REQUIRE(embargo_config_defaults(&c) == 0);
	REQUIRE(embargo_config_format(&c, &text) == 0);
	CHECK_EQ_STR(text,
		     "mode enforce\n"
		     "policy /etc/embargo/policy.d\n"
		     "tier auto\n"
		     "scan_paths /\n"
		     "scan_at_start yes\n"
		     "on_timeout auto\n"
		     "decision_timeout_ms 1000\n"
		     "kill_running no\n"
		     "keep_enforcement_on_exit no\n"
		     "init_module auto\n"
		     "max_hash_size_mib 2048\n"
		     "remote_fs check\n"
		     "max_learned 10000\n"
		     "never_deny_packaged yes\n"
		     "self_protection yes\n"
		     "syscall_filter yes\n"
		     "interpreters /bin/sh /bin/dash /bin/bash /usr/bin/sh /usr/bin/dash /usr/bin/bash "
		     "/usr/bin/python3* /usr/bin/perl /usr/bin/perl5* /usr/bin/ruby* /usr/bin/node "
		     "/usr/bin/nodejs /usr/bin/php* /usr/bin/lua* /usr/bin/java /usr/lib/jvm/*/bin/java\n"
		     "fanotify_paths auto\n"
		     "log auto\n"
		     "log_rate_limit 1000\n"
		     "log_rate_interval_s 10\n"
		     "runtime_dir /run/embargo\n"
		     "state_dir /var/lib/embargo\n");
	round_trip(&c);
	embargo_config_free(&c);
}

TEST(config_format_round_trip)
{
	struct embargo_config c = { 0 };

	REQUIRE(load_text("mode audit\n"
			  "policy \"/etc/my policy/\\\"q\\\"#1\\\\.policy\"\n"
			  "tier lsm\n"
			  "scan_paths /home \"/srv/a b\" \"/x\ttab\"\n"
			  "scan_at_start no\n"
			  "on_timeout allow\n"
			  "decision_timeout_ms 60000\n"
			  "kill_running yes\n"
			  "keep_enforcement_on_exit yes\n"
			  "self_protection no\n"
			  "syscall_filter no\n"
			  "fanotify_paths /opt \"/srv/#x\"\n"
			  "log journal\n"
			  "log_rate_limit 0\n"
			  "log_rate_interval_s 1\n"
			  "runtime_dir /run/a\\b\n"
			  "state_dir /var/lib/\xc3\xa9t\xc3\xa9\n",
			  &c) == 0);
	round_trip(&c);
	embargo_config_free(&c);

	/* Every value of every choice. */
	for (uint8_t t = EMBARGO_CONFIG_TIER_AUTO; t <= EMBARGO_CONFIG_TIER_DETECT; t++) {
		REQUIRE(embargo_config_defaults(&c) == 0);
		c.tier = t;
		c.on_timeout = t % 3;
		c.log = (t + 1) % 3;
		c.mode = t % 2 ? EMBARGO_MODE_AUDIT : EMBARGO_MODE_ENFORCE;
		round_trip(&c);
		embargo_config_free(&c);
	}
}

/* What the command line may put in the struct but the file cannot say is refused, not written wrong. */
TEST(config_format_refuses)
{
	static const char *bad_paths[] = { "relative", "", "/a\nb", "/a\x01" };
	char *text = NULL;
	struct embargo_config c;

	for (size_t i = 0; i < ARRAY_SIZE(bad_paths); i++) {
		REQUIRE(embargo_config_defaults(&c) == 0);
		free(c.policy);
		c.policy = strdup(bad_paths[i]);
		CHECK_EQ_INT(embargo_config_format(&c, &text), -EINVAL);
		CHECK(text == NULL);
		embargo_config_free(&c);
	}
	REQUIRE(embargo_config_defaults(&c) == 0);
	c.decision_timeout_ms = 5;
	CHECK_EQ_INT(embargo_config_format(&c, &text), -EINVAL);
	c.decision_timeout_ms = 1000;
	c.mode = EMBARGO_MODE_INHERIT;
	CHECK_EQ_INT(embargo_config_format(&c, &text), -EINVAL);
	c.mode = EMBARGO_MODE_AUDIT;
	c.tier = 17;
	CHECK_EQ_INT(embargo_config_format(&c, &text), -EINVAL);
	c.tier = EMBARGO_CONFIG_TIER_AUTO;
	free(c.scan_paths[0]);
	c.scan_paths[0] = NULL;
	c.n_scan_paths = 0;
	CHECK_EQ_INT(embargo_config_format(&c, &text), -EINVAL);
	CHECK(text == NULL);
	embargo_config_free(&c);
}

TEST(config_names)
{
	uint8_t t = 0xff;

	CHECK_EQ_STR(embargo_config_tier_name(EMBARGO_CONFIG_TIER_FANOTIFY), "fanotify");
	CHECK_EQ_STR(embargo_config_tier_name(99), "?");
	CHECK_EQ_INT(embargo_config_tier_from_string("lsm-hash", &t), 0);
	CHECK_EQ_INT(t, EMBARGO_CONFIG_TIER_LSM_HASH);
	CHECK_EQ_INT(embargo_config_tier_from_string("LSM", &t), -EINVAL);
	CHECK_EQ_STR(embargo_config_on_timeout_name(EMBARGO_CONFIG_ON_TIMEOUT_DENY), "deny");
	CHECK_EQ_STR(embargo_config_log_name(EMBARGO_CONFIG_LOG_JOURNAL), "journal");
}

/* The tier asked for is the kernel tier of the same name; auto is none. */
TEST(config_kernel_tier)
{
	static const uint8_t tiers[] = { EMBARGO_CONFIG_TIER_LSM_HASH, EMBARGO_CONFIG_TIER_LSM,
					 EMBARGO_CONFIG_TIER_FANOTIFY, EMBARGO_CONFIG_TIER_DETECT };

	for (size_t i = 0; i < sizeof(tiers) / sizeof(tiers[0]); i++) {
		int k = embargo_config_kernel_tier(tiers[i]);

		REQUIRE(k >= 0);
		CHECK_EQ_STR(embargo_tier_name((uint8_t)k), embargo_config_tier_name(tiers[i]));
	}
	CHECK_EQ_INT(embargo_config_kernel_tier(EMBARGO_CONFIG_TIER_AUTO), -1);
	CHECK_EQ_INT(embargo_config_kernel_tier(99), -1);
}

TEST(config_on_timeout_allows)
{
	CHECK(embargo_config_on_timeout_allows(EMBARGO_CONFIG_ON_TIMEOUT_AUTO));
	CHECK(embargo_config_on_timeout_allows(EMBARGO_CONFIG_ON_TIMEOUT_ALLOW));
	CHECK(!embargo_config_on_timeout_allows(EMBARGO_CONFIG_ON_TIMEOUT_DENY));
}

/*
 * The shipped file: as it is, it changes nothing; with its commented settings ("#key value", prose is
 * "# text") switched on, it names every key once, with its real default.
 */
TEST(config_shipped_file)
{
	_cleanup_free_ char *text = NULL;
	struct embargo_config c = { 0 }, d;
	struct embargo_config_error err;
	size_t size = 0, settings = 0;
	char msg[8192];
	FILE *f;

	if (embargo_config_load("etc/embargo.conf", &c, &err) < 0) {
		test_fail(__FILE__, __LINE__, "%s", embargo_config_error_format(&err, msg, sizeof(msg)));
		return;
	}
	REQUIRE(embargo_config_defaults(&d) == 0);
	CHECK(config_eq(&c, &d));
	embargo_config_free(&c);

	f = fopen("etc/embargo.conf", "re");
	REQUIRE(f);
	text = malloc(64 * 1024);
	if (text)
		size = fread(text, 1, 64 * 1024 - 1, f);
	fclose(f);
	REQUIRE(text && size > 0);
	text[size] = '\0';
	/* Uncomment in place: the '#' of "#key" becomes a blank, so columns stay those of the file. */
	for (char *line = text; line && *line;) {
		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z') {
			line[0] = ' ';
			settings++;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	CHECK_EQ_INT(settings, 25);
	put(text);
	if (embargo_config_load(conf_path(), &c, &err) < 0) {
		test_fail(__FILE__, __LINE__, "uncommented: %s",
			  embargo_config_error_format(&err, msg, sizeof(msg)));
		embargo_config_free(&d);
		return;
	}
	CHECK(config_eq(&c, &d));
	embargo_config_free(&c);
	embargo_config_free(&d);
}
