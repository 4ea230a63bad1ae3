// SPDX-License-Identifier: GPL-2.0
#include "event.h"
#include "policy.h"
#include "util.h"

#include <string.h>
#include <syslog.h>

int embargo_event_parse(const void *data, size_t size, struct embargo_event *ev)
{
	const struct embargo_event_hdr *h = data;

	if (size < sizeof(*h))
		return -EPROTO;
	if (h->version != EMBARGO_EVENT_VERSION || h->size != sizeof(*ev) || size < sizeof(*ev))
		return -EPROTO;
	if (h->kind != EMBARGO_EV_MATCH && h->kind != EMBARGO_EV_UNKNOWN)
		return -EINVAL;
	memcpy(ev, data, sizeof(*ev));
	ev->comm[sizeof(ev->comm) - 1] = '\0';
	ev->parent_comm[sizeof(ev->parent_comm) - 1] = '\0';
	ev->path[sizeof(ev->path) - 1] = '\0';
	return 0;
}

const char *embargo_hook_name(uint8_t hook)
{
	switch (hook) {
	case EMBARGO_HOOK_EXEC:
		return "exec";
	case EMBARGO_HOOK_MMAP:
		return "mmap";
	case EMBARGO_HOOK_OPEN:
		return "open";
	case EMBARGO_HOOK_MODULE:
		return "module";
	case EMBARGO_HOOK_READ:
		return "read";
	case EMBARGO_HOOK_MPROTECT:
		return "mprotect";
	case EMBARGO_HOOK_EXEC_CHECK:
		return "exec-check";
	default:
		return "unknown";
	}
}

const char *embargo_action_name(uint8_t action)
{
	switch (action) {
	case EMBARGO_ACTION_DENIED:
		return "denied";
	case EMBARGO_ACTION_AUDITED:
		return "audited";
	default:
		return "unknown";
	}
}

static const char *const tier_names[] = {
	[EMBARGO_TIER_DETECT] = "detect",
	[EMBARGO_TIER_LSM] = "lsm",
	[EMBARGO_TIER_LSM_HASH] = "lsm-hash",
	[EMBARGO_TIER_FANOTIFY] = "fanotify",
};

const char *embargo_tier_name(uint8_t tier)
{
	if (tier < ARRAY_SIZE(tier_names) && tier_names[tier])
		return tier_names[tier];
	return "unknown";
}

int embargo_tier_from_string(const char *s, uint8_t *tier)
{
	for (size_t i = 0; i < ARRAY_SIZE(tier_names); i++)
		if (tier_names[i] && strcmp(s, tier_names[i]) == 0) {
			*tier = (uint8_t)i;
			return 0;
		}
	return -EINVAL;
}

static const char *verb(uint8_t hook, uint8_t action)
{
	bool deny = action == EMBARGO_ACTION_DENIED;

	switch (hook) {
	case EMBARGO_HOOK_MMAP:
		return deny ? "Denied loading" : "Loaded (audit)";
	case EMBARGO_HOOK_OPEN:
		return deny ? "Denied opening" : "Opened (audit)";
	case EMBARGO_HOOK_MODULE:
		return deny ? "Denied loading the kernel module" : "Loaded the kernel module (audit)";
	case EMBARGO_HOOK_READ:
		return deny ? "Denied reading" : "Read (audit)";
	case EMBARGO_HOOK_MPROTECT:
		return deny ? "Denied making executable" : "Made executable (audit)";
	case EMBARGO_HOOK_EXEC_CHECK:
		return deny ? "Denied (execveat check) exec of" : "Checked for exec (audit)";
	default:
		return deny ? "Denied exec of" : "Executed (audit)";
	}
}

int embargo_event_record(const struct embargo_event *ev, const struct embargo_event_context *ctx,
			 uint8_t action, struct embargo_record *rec)
{
	const char *path = ctx->path ? ctx->path : ev->path[0] ? ev->path : "(unknown path)";
	const char *vendor = ctx->vendor ? ctx->vendor : "(unknown vendor)";
	char dev[32];
	int r = 0;

	if (!action)
		action = ev->action;
	rec->priority = action == EMBARGO_ACTION_DENIED ? LOG_WARNING : LOG_NOTICE;
	snprintf(dev, sizeof(dev), "%u:%u", (unsigned)(ev->dev >> 20), (unsigned)(ev->dev & 0xfffff));

	char repeated[64] = "";

	if (ev->repeated)
		snprintf(repeated, sizeof(repeated), "; %llu more like it since the last report",
			 (unsigned long long)ev->repeated);
	r = r
		    ?: record_addf(rec, "MESSAGE",
				   "%s %s: %s (rule %s%s%s), pid %u (%s) uid %u, parent %u (%s)%s%s%s",
				   verb(ev->hook, action), path, vendor, ctx->rule ? ctx->rule : "?",
				   ctx->label ? ", " : "", ctx->label ? ctx->label : "", ev->pid, ev->comm,
				   ev->uid, ev->ppid, ev->parent_comm, repeated, ctx->note ? "; " : "",
				   ctx->note ? ctx->note : "");
	if (!r && ev->repeated)
		r = record_addf(rec, "EMBARGO_REPEATED", "%llu", (unsigned long long)ev->repeated);
	r = r
		    ?: record_add(rec, "MESSAGE_ID",
				  ev->hdr.kind == EMBARGO_EV_UNKNOWN	  ? EMBARGO_MSGID_UNCLASSIFIED
				  : (ev->flags & EMBARGO_EVF_UNDECIDABLE) ? EMBARGO_MSGID_UNCHECKED
				  : action == EMBARGO_ACTION_DENIED	  ? EMBARGO_MSGID_DENIED
									  : EMBARGO_MSGID_AUDITED);
	r = r ?: record_addf(rec, "PRIORITY", "%d", rec->priority);
	r = r ?: record_add(rec, "EMBARGO_ACTION", embargo_action_name(action));
	r = r ?: record_add(rec, "EMBARGO_MODE", embargo_mode_name(ev->mode));
	r = r ?: record_add(rec, "EMBARGO_HOOK", embargo_hook_name(ev->hook));
	r = r ?: record_add(rec, "EMBARGO_TIER", embargo_tier_name(ev->tier));
	r = r ?: record_add(rec, "EMBARGO_VENDOR", vendor);
	r = r ?: record_add(rec, "EMBARGO_RULE", ctx->rule ? ctx->rule : "");
	if (!r && ctx->label)
		r = record_add(rec, "EMBARGO_LABEL", ctx->label);
	r = r ?: record_add(rec, "EMBARGO_SHA256", ctx->sha256_hex ? ctx->sha256_hex : "");
	r = r ?: record_add(rec, "EMBARGO_PATH", path);
	r = r ?: record_addf(rec, "EMBARGO_PID", "%u", ev->pid);
	r = r ?: record_addf(rec, "EMBARGO_PPID", "%u", ev->ppid);
	r = r ?: record_addf(rec, "EMBARGO_UID", "%u", ev->uid);
	r = r ?: record_add(rec, "EMBARGO_COMM", ev->comm);
	r = r ?: record_add(rec, "EMBARGO_PARENT_COMM", ev->parent_comm);
	r = r ?: record_add(rec, "EMBARGO_PARENT_EXE", ctx->parent_exe ? ctx->parent_exe : "");
	r = r ?: record_addf(rec, "EMBARGO_CGROUP_ID", "%llu", (unsigned long long)ev->cgroup_id);
	r = r ?: record_add(rec, "EMBARGO_DEVICE", dev);
	r = r ?: record_addf(rec, "EMBARGO_INODE", "%llu", (unsigned long long)ev->ino);
	r = r ?: record_addf(rec, "EMBARGO_POLICY_GENERATION", "%u", ev->gen);
	if (!r && (ev->flags & EMBARGO_EVF_UNDECIDABLE))
		r = record_addf(rec, "EMBARGO_FILE_SIZE", "%llu", (unsigned long long)ev->size);
	if (!r && ctx->note)
		r = record_add(rec, "EMBARGO_NOTE", ctx->note);
	return r;
}
