#!/bin/sh
# The fanotify tier in a Debian kernel booted WITHOUT bpf in lsm= (busybox sh, run by /init; see
# tools/vmtest, which runs it with VM_LSM set to a list without bpf). embargod must find BPF LSM inactive,
# choose the fanotify tier by itself, and enforce with it; a SIGKILLed daemon leaves no hung exec and its
# pinned backstop still kills the known prohibited program. Same result lines as tests/vm/guest.sh.

# shellcheck source=tests/vm/lib.sh
. /opt/embargo-test/lib.sh
# shellcheck source=tests/vm/coverage.sh
. /opt/embargo-test/coverage.sh
EXPECT_TIER=fanotify

t_lsm_inactive() {
	lsms=$(cat /sys/kernel/security/lsm 2>/dev/null)
	case ",$lsms," in
	*,bpf,*)
		REASON="bpf is an active LSM ('$lsms'): this suite needs a kernel booted without it"
		return 1
		;;
	esac
	return 0
}

t_daemon_start() {
	start_daemon "$POL" || return 1
	status_has '*"tier":"fanotify"*bpfisnotintheactiveLSMlist*' \
		"tier fanotify chosen because bpf is not an active LSM" || return 1
	# No BPF LSM, no self-protection: status says so, and why.
	status_has '*"self_protection":{"state":"unavailable","active":false,"detail":"notavailableintierfanotify*' \
		"self-protection unavailable in the fanotify tier"
}

t_exec_listed_denied() {
	mark_log
	expect_denied $T/listed || return 1
	wait_log 'EMBARGO_ACTION="denied"' 'EMBARGO_HOOK="exec"' 'EMBARGO_TIER="fanotify"' \
		"EMBARGO_PATH=\"$T/listed\"" "EMBARGO_SHA256=\"$H_LISTED\"" "EMBARGO_RULE=\"$POL:3\""
}

# Made before the daemon started (a known prohibited file cannot be opened, so not copied, afterwards).
t_exec_copy_denied() { expect_denied /tmp/copy-listed; }
t_exec_hardlink_denied() { expect_denied /tmp/hardlink-listed; }
t_exec_renamed_denied() { expect_denied /tmp/renamed-listed; }

t_unlisted_runs() { expect_runs $T/unlisted unlisted; }

t_open_of_known_refused() {
	out=$(cat $T/listed 2>&1 >/dev/null)
	case "$out" in
	*"Operation not permitted"*) return 0 ;;
	esac
	REASON="cat of the known prohibited file: $out"
	return 1
}

# An identity rule is decided before the answer in this tier: refused on the very first exec, and a
# copy of it elsewhere (its digest learned) too.
t_identity_path_first_exec() {
	mkdir -p /opt/pathvendor
	cp $T/unlisted /opt/pathvendor/engine && printf 'P' >>/opt/pathvendor/engine
	cp /opt/pathvendor/engine /tmp/engine-copy
	expect_denied /opt/pathvendor/engine || return 1
	expect_denied /tmp/engine-copy
}

# A clean verdict must not outlive a rewrite within one time stamp tick (6.1 has no multigrain time
# stamps: the ctime stays as it was): zeros exec'd and cleared, then the listed bytes written in place.
t_rewrite_same_tick() {
	for how in write mmap; do
		out=$(timeout 250 trewrite /tmp/rewrite-$how $T/listed.inv $how 2>&1)
		case "$out" in
		refused*) note "rewrite by $how: $out" ;;
		"no rewrite within one tick")
			note "rewrite by $how: $out; nothing to show on this kernel"
			;;
		*)
			REASON="rewrite by $how: $out"
			return 1
			;;
		esac
	done
	return 0
}

t_runtime_audit() {
	ctl mode audit >/dev/null || {
		REASON="embargoctl mode audit failed"
		return 1
	}
	mark_log
	expect_runs /tmp/copy-listed listed || return 1
	wait_log 'EMBARGO_ACTION="audited"' 'EMBARGO_HOOK="exec"' 'EMBARGO_MODE="audit"'
}

t_runtime_enforce() {
	ctl mode enforce >/dev/null || {
		REASON="embargoctl mode enforce failed"
		return 1
	}
	expect_denied /tmp/copy-listed
}

# SIGKILL: the group goes with the process (no exec waits for it), the pinned backstop stays.
t_sigkill_no_hang() {
	kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null
	DPID=
	dump_log
	expect_runs $T/unlisted unlisted || return 1
	prog_run $T/listed
	if [ $RC -ne 137 ] || [ -e "$MK" ]; then
		REASON="the backstop did not kill the known prohibited program: exit $RC, $(flat "$OUT")"
		return 1
	fi
	[ -e /sys/fs/bpf/embargo/exec-backstop ] || {
		REASON="no pinned backstop after SIGKILL"
		return 1
	}
}

# A restarted daemon replaces the stale pin, and its clean stop removes it.
t_restart_and_clean_stop() {
	start_daemon "$POL" || return 1
	expect_denied $T/listed || return 1
	stop_daemon
	[ "$DSTATUS" = 0 ] || {
		REASON="embargod exited with status $DSTATUS on SIGTERM"
		return 1
	}
	[ ! -e /sys/fs/bpf/embargo/exec-backstop ] || {
		REASON="the backstop is still pinned after a clean stop"
		return 1
	}
	expect_runs $T/listed listed
}

DAEMON_REQUIRED=0
run_test lsm-inactive
if [ "${embargo_daemon:-1}" != 1 ] || ! command -v embargod >/dev/null; then
	NO_DAEMON_WHY="build/embargod is not built"
else
	H_LISTED=$(sha $T/listed)
	cat >"$POL" <<EOF
# embargo VM fanotify test policy, generated in the guest
vendor "Listed"
sha256 $H_LISTED label "listed test program"

vendor "Pathvendor"
path /opt/pathvendor/
EOF
	cp $T/listed /tmp/copy-listed && cp $T/listed /tmp/hl &&
		ln /tmp/hl /tmp/hardlink-listed && cp $T/listed /tmp/to-rename && mv /tmp/to-rename /tmp/renamed-listed
fi
DAEMON_REQUIRED=1
daemon_start_step
run_test exec-listed-denied
run_test exec-copy-denied
run_test exec-hardlink-denied
run_test exec-renamed-denied
run_test unlisted-runs
run_test open-of-known-refused
run_test identity-path-first-exec
run_test rewrite-same-tick
run_test runtime-audit
run_test runtime-enforce
run_test sigkill-no-hang
DAEMON_REQUIRED=0
run_test restart-and-clean-stop
coverage fanotify
run_test syscall-filter-quiet
stop_daemon
[ $FAILED -eq 0 ]
