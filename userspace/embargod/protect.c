// SPDX-License-Identifier: GPL-2.0
/*
 * Self-protection (bpf/protect.bpf.c): in enforce mode, the processes embargo polices may not signal
 * embargod (PID 1 and the kernel may), ptrace it, get fds to its maps, programs and links, or remove its
 * pins. Only the BPF LSM tiers have the hooks; elsewhere status and the banner say it is not available,
 * and why. Loading it never stops embargod from enforcing: a failure is reported and enforcement goes on
 * without it.
 *
 * Which objects are embargo's is a set of ids in the kernel, filled after every program is attached:
 * every map and program of both BPF objects, and every link to one of those programs.
 */
#include "bpf.h"
#include "daemon.h"
#include "event.h"
#include "json.h"
#include "log.h"
#include "protection.h"
#include "record.h"
#include "util.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <string.h>

#include "protect.h"
#include "protect.skel.h"

/* Refused attempts logged one by one per housekeeping tick; the rest are counted into one summary. */
#define PROTECT_REPORTS_PER_POLL 32

enum protect_state {
	PROTECT_DISABLED,    /* self_protection no */
	PROTECT_UNAVAILABLE, /* not a BPF LSM tier */
	PROTECT_FAILED,	     /* could not be loaded: enforcement goes on without it */
	PROTECT_LOADED,	     /* in force while the global mode is enforce */
};

/* What is protected, for status: an administrator compares it with what bpftool shows. */
struct protected_obj {
	uint32_t kind, id;
	char name[BPF_OBJ_NAME_LEN];
};

struct protect {
	enum protect_state state;
	char detail[512];
	struct protect_bpf *skel;
	struct ring_buffer *rb;
	uint32_t n_maps, n_progs, n_links;
	struct protected_obj objs[PROTECT_MAX_OBJECTS];
	size_t n_objs;
	uint64_t events_bad;
	unsigned reported, suppressed; /* in the current poll */
};

static const char *const stat_names[PROTECT_STAT_MAX] = PROTECT_STAT_NAMES;

static bool lsm_tier(uint8_t tier)
{
	return tier == EMBARGO_TIER_LSM_HASH || tier == EMBARGO_TIER_LSM;
}

/* Parameters of security_bpf() before the hook's return value, from the kernel's own BTF. */
static unsigned bpf_hook_params(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *t;
	unsigned n = 3;
	int id;

	if (!btf)
		return n;
	id = btf__find_by_name_kind(btf, "bpf_lsm_bpf", BTF_KIND_FUNC);
	t = id > 0 ? btf__type_by_id(btf, id) : NULL;
	t = t ? btf__type_by_id(btf, t->type) : NULL;
	if (t && btf_is_func_proto(t))
		n = btf_vlen(t);
	btf__free(btf);
	return n;
}

static int add_id(struct protect *p, uint32_t kind, uint32_t id, const char *name)
{
	struct protect_obj key = { .kind = kind, .id = id };
	uint8_t one = 1;
	size_t i;

	if (bpf_map_update_elem(bpf_map__fd(p->skel->maps.protected), &key, &one, BPF_ANY) < 0)
		return -errno;
	for (i = 0; i < p->n_objs; i++)
		if (p->objs[i].kind == kind && p->objs[i].id == id)
			break;
	if (i == p->n_objs && i < ARRAY_SIZE(p->objs))
		p->n_objs++;
	if (i < ARRAY_SIZE(p->objs)) {
		p->objs[i].kind = kind;
		p->objs[i].id = id;
		snprintf(p->objs[i].name, sizeof(p->objs[i].name), "%s", name);
	}
	return 0;
}

/* The map or program behind fd, by its id and name. */
static int add_fd(struct protect *p, uint32_t kind, int fd, uint32_t *id)
{
	union {
		struct bpf_map_info map;
		struct bpf_prog_info prog;
	} info = {};
	__u32 len = kind == PROTECT_OBJ_MAP ? sizeof(info.map) : sizeof(info.prog);
	int r;

	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return -errno;
	*id = kind == PROTECT_OBJ_MAP ? info.map.id : info.prog.id;
	r = add_id(p, kind, *id, kind == PROTECT_OBJ_MAP ? info.map.name : info.prog.name);
	if (r == 0 && kind == PROTECT_OBJ_MAP)
		p->n_maps++;
	else if (r == 0)
		p->n_progs++;
	return r;
}

/* Every map and loaded program of obj; the programs' ids go to prog_ids for the link walk. */
static int add_object(struct protect *p, struct bpf_object *obj, uint32_t *prog_ids, size_t *n_prog_ids,
		      size_t max_prog_ids)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	uint32_t id;
	int r;

	for (map = bpf_object__next_map(obj, NULL); map; map = bpf_object__next_map(obj, map)) {
		if (bpf_map__fd(map) < 0)
			continue;
		r = add_fd(p, PROTECT_OBJ_MAP, bpf_map__fd(map), &id);
		if (r < 0)
			return r;
	}
	for (prog = bpf_object__next_program(obj, NULL); prog; prog = bpf_object__next_program(obj, prog)) {
		if (bpf_program__fd(prog) < 0)
			continue;
		r = add_fd(p, PROTECT_OBJ_PROG, bpf_program__fd(prog), &id);
		if (r < 0)
			return r;
		if (*n_prog_ids < max_prog_ids)
			prog_ids[(*n_prog_ids)++] = id;
	}
	return 0;
}

/* Links carry no owner: every link on the machine whose program is one of ours. */
static int add_links(struct protect *p, const uint32_t *prog_ids, size_t n_prog_ids)
{
	__u32 id = 0;

	while (bpf_link_get_next_id(id, &id) == 0) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);
		_cleanup_close_ int fd = bpf_link_get_fd_by_id(id);

		/* Gone since, or not ours to read. */
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
			continue;
		for (size_t i = 0; i < n_prog_ids; i++) {
			if (info.prog_id != prog_ids[i])
				continue;
			int r = add_id(p, PROTECT_OBJ_LINK, info.id, "");
			if (r < 0)
				return r;
			p->n_links++;
			break;
		}
	}
	return 0;
}

/* The pins' directory, if there is one now. */
static void watch_pin_dir(struct protect *p)
{
	struct stat st;

	if (stat(EMBARGO_PIN_DIR, &st) < 0 || !S_ISDIR(st.st_mode)) {
		p->skel->bss->pin_ino = 0;
		return;
	}
	p->skel->bss->pin_dev = kernel_dev(st.st_dev);
	p->skel->bss->pin_ino = st.st_ino;
}

int protect_refresh(struct daemon *d)
{
	struct protect *p = d->protect;
	uint32_t prog_ids[64];
	size_t n = 0;
	int r;

	if (!p || p->state != PROTECT_LOADED)
		return 0;
	p->n_maps = p->n_progs = p->n_links = 0;
	r = add_object(p, p->skel->obj, prog_ids, &n, ARRAY_SIZE(prog_ids));
	if (r == 0 && d->bpf)
		r = add_object(p, bpf_object_of(d->bpf), prog_ids, &n, ARRAY_SIZE(prog_ids));
	if (r == 0)
		r = add_links(p, prog_ids, n);
	watch_pin_dir(p);
	return r;
}

int protect_add_map_fd(struct daemon *d, int fd)
{
	struct protect *p = d->protect;
	uint32_t id;

	if (!p || p->state != PROTECT_LOADED)
		return 0;
	return add_fd(p, PROTECT_OBJ_MAP, fd, &id);
}

/* ---- reports ---------------------------------------------------------------------------------------- */

static const char *what_name(uint32_t what)
{
	switch (what) {
	case PROTECT_SIGNAL:
		return "signal";
	case PROTECT_PTRACE:
		return "ptrace";
	case PROTECT_BPF:
		return "bpf";
	case PROTECT_PIN:
		return "pin";
	default:
		return "?";
	}
}

static const char *obj_name(uint32_t kind)
{
	return kind == PROTECT_OBJ_MAP ? "map" : kind == PROTECT_OBJ_PROG ? "program" : "link";
}

/* What was refused, in words. */
static void describe(const struct protect_event *e, char *buf, size_t size)
{
	const char *abbrev;

	switch (e->what) {
	case PROTECT_SIGNAL:
		abbrev = e->detail ? sigabbrev_np((int)e->detail) : NULL;
		if (e->detail == 0)
			snprintf(buf, size, "an I/O signal (F_SETOWN) to pid %u", e->target);
		else
			snprintf(buf, size, "signal %s%s (%u) to pid %u", abbrev ? "SIG" : "", abbrev ?: "",
				 e->detail, e->target);
		break;
	case PROTECT_PTRACE:
		snprintf(buf, size, "ptrace access (attach, or its memory) to pid %u", e->target);
		break;
	case PROTECT_BPF:
		if (e->target == BPF_LINK_DETACH)
			snprintf(buf, size, "detaching embargo's BPF link id %u", e->detail);
		else if (e->target == BPF_LINK_UPDATE)
			snprintf(buf, size, "replacing the program of embargo's BPF link id %u", e->detail);
		else
			snprintf(buf, size, "an fd to embargo's BPF %s id %u", obj_name(e->kind), e->detail);
		break;
	default:
		snprintf(buf, size, "removing or moving inode %u in %s", e->detail, EMBARGO_PIN_DIR);
		break;
	}
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct protect *p = ctx;
	struct protect_event e;
	struct embargo_record rec = { .priority = LOG_WARNING };
	char what[160], comm[PROTECT_COMM_LEN + 1];
	int r;

	if (size < sizeof(e)) {
		p->events_bad++;
		return 0;
	}
	if (p->reported >= PROTECT_REPORTS_PER_POLL) {
		p->suppressed++;
		return 0;
	}
	p->reported++;
	memcpy(&e, data, sizeof(e));
	memcpy(comm, e.comm, PROTECT_COMM_LEN);
	comm[PROTECT_COMM_LEN] = '\0';
	describe(&e, what, sizeof(what));
	r = record_addf(&rec, "MESSAGE", "Self-protection refused %s, asked by pid %u (%s, uid %u)", what,
			e.pid, comm, e.uid);
	r = r ?: record_add(&rec, "MESSAGE_ID", EMBARGO_MSGID_TAMPER);
	r = r ?: record_addf(&rec, "PRIORITY", "%d", LOG_WARNING);
	r = r ?: record_add(&rec, "EMBARGO_TAMPER", what_name(e.what));
	r = r ?: record_addf(&rec, "EMBARGO_PID", "%u", e.pid);
	r = r ?: record_addf(&rec, "EMBARGO_UID", "%u", e.uid);
	r = r ?: record_add(&rec, "EMBARGO_COMM", comm);
	r = r ?: record_addf(&rec, "EMBARGO_CGROUP_ID", "%llu", (unsigned long long)e.cgroup_id);
	if (e.what == PROTECT_SIGNAL)
		r = r ?: record_addf(&rec, "EMBARGO_SIGNAL", "%u", e.detail);
	if (e.what == PROTECT_BPF)
		r = r ?: record_addf(&rec, "EMBARGO_BPF_OBJECT", "%s %u", obj_name(e.kind), e.detail);
	if (r < 0)
		record_free(&rec);
	else
		log_submit(&rec);
	return 0;
}

void protect_poll(struct daemon *d)
{
	struct protect *p = d->protect;

	if (!p || p->state != PROTECT_LOADED)
		return;
	p->reported = p->suppressed = 0;
	(void)ring_buffer__consume(p->rb);
	if (p->suppressed)
		log_msg(LOG_WARNING, EMBARGO_MSGID_TAMPER,
			"Self-protection refused %u more attempts since the last report, not logged one by one (embargoctl status counts every one)",
			p->suppressed);
	/* Pins may be made (or the directory removed) after start. */
	watch_pin_dir(p);
}

/* ---- start, stop, mode ------------------------------------------------------------------------------ */

static int load(struct daemon *d, struct protect *p)
{
	int r;

	p->skel = protect_bpf__open();
	if (!p->skel)
		return fail(p->detail, sizeof(p->detail), -errno, "opening its BPF object failed: %m");
	p->skel->rodata->daemon_tgid = (uint32_t)getpid();
	p->skel->rodata->bpf_hook_params = bpf_hook_params();
	r = protect_bpf__load(p->skel);
	if (r < 0)
		return fail(p->detail, sizeof(p->detail), r, "loading its programs failed: %s", strerror(-r));
	/* Attached with enforce off: nothing is refused before the ids are in place. */
	r = protect_bpf__attach(p->skel);
	if (r < 0)
		return fail(p->detail, sizeof(p->detail), r, "attaching its programs failed: %s",
			    strerror(-r));
	p->rb = ring_buffer__new(bpf_map__fd(p->skel->maps.protect_events), on_event, p, NULL);
	if (!p->rb)
		return fail(p->detail, sizeof(p->detail), -errno, "its ring buffer: %m");
	p->state = PROTECT_LOADED;
	r = protect_refresh(d);
	if (r < 0) {
		p->state = PROTECT_FAILED;
		return fail(p->detail, sizeof(p->detail), r, "registering embargo's BPF objects failed: %s",
			    strerror(-r));
	}
	return 0;
}

int protect_start(struct daemon *d)
{
	struct protect *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	d->protect = p;
	if (!d->cfg->self_protection) {
		p->state = PROTECT_DISABLED;
		snprintf(p->detail, sizeof(p->detail), "disabled by self_protection no");
		return 0;
	}
	if (!lsm_tier(d->tier)) {
		p->state = PROTECT_UNAVAILABLE;
		snprintf(
			p->detail, sizeof(p->detail),
			"not available in tier %s: it needs the BPF LSM hooks (task_kill, ptrace_access_check, bpf), so any root process can signal, trace or unload embargod",
			embargo_tier_name(d->tier));
		return 0;
	}
	r = load(d, p);
	if (r < 0) {
		p->state = PROTECT_FAILED;
		ring_buffer__free(p->rb);
		p->rb = NULL;
		protect_bpf__destroy(p->skel);
		p->skel = NULL;
		log_warning("Self-protection is not in force: %s; enforcement goes on without it", p->detail);
		return 0;
	}
	snprintf(
		p->detail, sizeof(p->detail),
		"in enforce mode only PID 1 and the kernel may signal embargod; nobody may ptrace it, get an fd to its %u maps, %u programs and %u links, or remove its pins",
		p->n_maps, p->n_progs, p->n_links);
	protect_set_mode(d, d->mode);
	return 0;
}

void protect_stop(struct daemon *d)
{
	struct protect *p = d->protect;

	if (!p)
		return;
	if (p->rb)
		(void)ring_buffer__consume(p->rb);
	ring_buffer__free(p->rb);
	protect_bpf__destroy(p->skel);
	free(p);
	d->protect = NULL;
}

void protect_set_mode(struct daemon *d, uint8_t mode)
{
	struct protect *p = d->protect;

	if (p && p->state == PROTECT_LOADED)
		p->skel->bss->enforce = mode == EMBARGO_MODE_ENFORCE;
}

/* ---- status ----------------------------------------------------------------------------------------- */

static const char *state_name(const struct daemon *d, const struct protect *p)
{
	switch (p->state) {
	case PROTECT_DISABLED:
		return "disabled";
	case PROTECT_UNAVAILABLE:
		return "unavailable";
	case PROTECT_FAILED:
		return "failed";
	default:
		return d->mode == EMBARGO_MODE_ENFORCE ? "active" : "standby";
	}
}

bool protect_active(const struct daemon *d)
{
	const struct protect *p = d->protect;

	return p && p->state == PROTECT_LOADED && p->skel->bss->enforce;
}

const char *protect_summary(const struct daemon *d, char *buf, size_t size)
{
	const struct protect *p = d->protect;

	if (!p)
		snprintf(buf, size, "not started");
	else if (p->state == PROTECT_LOADED)
		snprintf(buf, size, "%s (%s)", d->mode == EMBARGO_MODE_ENFORCE ? "active" : "standby",
			 d->mode == EMBARGO_MODE_ENFORCE ? "enforce mode"
							 : "in force once the mode is enforce");
	else
		snprintf(buf, size, "%s: %s", state_name(d, p), p->detail);
	return buf;
}

void protect_status_json(const struct daemon *d, struct json_writer *w)
{
	const struct protect *p = d->protect;

	json_key_object(w, "self_protection");
	if (!p) {
		json_key_string(w, "state", "not started");
		json_key_bool(w, "active", false);
		json_end_object(w);
		return;
	}
	json_key_string(w, "state", state_name(d, p));
	json_key_bool(w, "active", protect_active(d));
	json_key_string(w, "detail",
			p->state == PROTECT_LOADED && d->mode != EMBARGO_MODE_ENFORCE
				? "standby in audit mode: it is in force while the global mode is enforce"
				: p->detail);
	if (p->state == PROTECT_LOADED) {
		json_key_object(w, "refused");
		for (unsigned i = 0; i < PROTECT_STAT_RINGBUF_DROPS; i++)
			json_key_u64(w, stat_names[i], p->skel->bss->stats[i]);
		json_end_object(w);
		json_key_u64(w, stat_names[PROTECT_STAT_RINGBUF_DROPS],
			     p->skel->bss->stats[PROTECT_STAT_RINGBUF_DROPS]);
		json_key_u64(w, "reports_malformed", p->events_bad);
		json_key_object(w, "protected");
		json_key_u64(w, "maps", p->n_maps);
		json_key_u64(w, "programs", p->n_progs);
		json_key_u64(w, "links", p->n_links);
		json_key_string(w, "pin_dir", p->skel->bss->pin_ino ? EMBARGO_PIN_DIR : "");
		json_end_object(w);
		json_key_array(w, "objects");
		for (size_t i = 0; i < p->n_objs; i++) {
			json_begin_object(w);
			json_key_string(w, "kind", obj_name(p->objs[i].kind));
			json_key_u64(w, "id", p->objs[i].id);
			if (p->objs[i].name[0])
				json_key_string(w, "name", p->objs[i].name);
			json_end_object(w);
		}
		json_end_array(w);
	}
	json_end_object(w);
}
