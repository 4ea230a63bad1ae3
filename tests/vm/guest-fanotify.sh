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

# Mounts after the start (mounts.c): marked within LIMIT_MS as the kernel's own list of the group's marks
# shows it (tmarkwait reads /proc/PID/fdinfo), then decided like any file system.
LIMIT_MS=100
# lat_ok OUTPUT: tmarkwait's line says marked within LIMIT_MS
lat_ok() {
	ms=$(echo "$1" | sed -n 's/^marked \([0-9.]*\) ms after the mount$/\1/p')
	[ -n "$ms" ] && awk -v m="$ms" -v l=$LIMIT_MS 'BEGIN { exit !(m <= l) }' && return 0
	REASON="not marked within ${LIMIT_MS} ms: $1"
	return 1
}
# listed_at PATH: the listed program's bytes at PATH (from listed.inv: the listed file cannot be read now)
listed_at() { trewrite --invert $T/listed.inv "$1" && chmod 0755 "$1"; }

t_rootfs_marked() {
	st=$(ctl status --json)
	case "$st" in
	*'on the filesystem of /"'*) return 0 ;;
	esac
	REASON="the root file system (rootfs in this guest) is not marked: $(flat "$st" | head -c 800)"
	return 1
}

t_mount_after_start() {
	mkdir -p /mnt/late
	tmarkwait "$DPID" /mnt/late 3000 >/tmp/lat.late &
	w=$!
	usleep 100000
	mount -t tmpfs -o size=16m late /mnt/late
	wait $w
	out=$(cat /tmp/lat.late)
	note "tmpfs mounted after the start: $out"
	lat_ok "$out" || return 1
	listed_at /mnt/late/listed && cp $T/unlisted /mnt/late/unlisted
	expect_denied /mnt/late/listed || return 1
	expect_runs /mnt/late/unlisted unlisted
}

t_mount_escaped_name() {
	d="/mnt/with space	tab"
	mkdir -p "$d"
	tmarkwait "$DPID" "$d" 3000 >/tmp/lat.esc &
	w=$!
	usleep 100000
	mount -t tmpfs -o size=16m esc "$d"
	wait $w
	out=$(cat /tmp/lat.esc)
	note "mount point with a space and a tab: $out"
	lat_ok "$out" || return 1
	listed_at "$d/listed" && cp $T/unlisted "$d/unlisted"
	expect_denied "$d/listed" || return 1
	expect_runs "$d/unlisted" unlisted
}

# A container's tmpfs: a new user and mount namespace mounts it, copies both programs there and runs them.
t_userns_tmpfs() {
	mkdir -p /tmp/nsmnt
	rm -f /tmp/ns-go /tmp/ns-go2 /tmp/ns-done /tmp/ns-*.out
	unshare -U -r -m --propagation private sh -c '
		while [ ! -e /tmp/ns-go ]; do usleep 10000; done
		mount -t tmpfs -o size=16m nsfs /tmp/nsmnt || exit 1
		trewrite --invert '$T'/listed.inv /tmp/nsmnt/listed && chmod 0755 /tmp/nsmnt/listed
		cp '$T'/unlisted /tmp/nsmnt/unlisted
		while [ ! -e /tmp/ns-go2 ]; do usleep 10000; done
		trun /tmp/nsmnt/listed >/tmp/ns-listed.out 2>&1; echo "rc=$?" >>/tmp/ns-listed.out
		trun /tmp/nsmnt/unlisted >/tmp/ns-unlisted.out 2>&1; echo "rc=$?" >>/tmp/ns-unlisted.out
		touch /tmp/ns-done
		sleep 30' &
	nspid=$!
	usleep 200000
	tmarkwait "$DPID" /proc/$nspid/root/tmp/nsmnt 3000 >/tmp/lat.ns &
	w=$!
	usleep 100000
	touch /tmp/ns-go
	wait $w
	out=$(cat /tmp/lat.ns)
	note "tmpfs in a new user+mount namespace: $out"
	touch /tmp/ns-go2
	wait_until $STEP_TIMEOUT test -e /tmp/ns-done
	kill $nspid 2>/dev/null
	lat_ok "$out" || return 1
	l=$(flat "$(cat /tmp/ns-listed.out)")
	u=$(flat "$(cat /tmp/ns-unlisted.out)")
	case "$l" in
	*"Operation not permitted"*"rc=200"*) ;;
	*)
		REASON="listed in the namespace's tmpfs: $l"
		return 1
		;;
	esac
	[ "$u" = "unlisted ran rc=0" ] || {
		REASON="unlisted in the namespace's tmpfs: $u"
		return 1
	}
}

# memfd exec (fexecve), as runc and fileless loaders do: the backstop holds the image, embargod hashes it
# through /proc/PID/exe, then kills (listed) or continues (unlisted) it.
t_memfd_listed_killed() {
	rm -f /tmp/marker.memfd
	out=$(MARKER=/tmp/marker.memfd timeout $STEP_TIMEOUT tmemexec --invert $T/listed.inv 2>&1)
	rc=$?
	if [ $rc -ne 137 ] || [ -e /tmp/marker.memfd ]; then
		REASON="memfd exec of the listed program: exit $rc, $(flat "$out"), marker $([ -e /tmp/marker.memfd ] && echo written || echo missing)"
		return 1
	fi
}

t_memfd_unlisted_runs() {
	rm -f /tmp/marker.memfd
	out=$(MARKER=/tmp/marker.memfd timeout $STEP_TIMEOUT tmemexec $T/unlisted 2>&1)
	rc=$?
	if [ $rc -ne 0 ] || [ "$out" != "unlisted ran" ] || [ ! -e /tmp/marker.memfd ]; then
		REASON="memfd exec of an unlisted program: exit $rc, $(flat "$out")"
		return 1
	fi
}

# The report: right after a listed binary was refused in a chroot, an unlisted static binary there failed
# with ENOENT. A static one must run; a dynamic one whose loader the chroot lacks fails with ENOENT from
# the kernel (the interpreter is not found), with or without embargo.
t_chroot_static_after_denial() {
	mkdir -p /tmp/chr
	listed_at /tmp/chr/listed && cp $T/static /tmp/chr/static && cp $T/unlisted /tmp/chr/dynamic
	out=$(timeout $STEP_TIMEOUT chroot /tmp/chr /listed 2>&1)
	rc=$?
	case "$out" in
	*"Operation not permitted"*) ;;
	*)
		REASON="listed in the chroot: exit $rc, $(flat "$out")"
		return 1
		;;
	esac
	out=$(timeout $STEP_TIMEOUT chroot /tmp/chr /static 2>&1)
	rc=$?
	[ $rc -eq 0 ] && [ "$out" = "static ran" ] || {
		REASON="static unlisted in the chroot right after the denial: exit $rc, $(flat "$out")"
		return 1
	}
	out=$(timeout $STEP_TIMEOUT chroot /tmp/chr /dynamic 2>&1)
	note "a dynamic unlisted program in a chroot without its loader: exit $?, $(flat "$out")"
	return 0
}

# A listed file put in place by rename(2) over an allowed one, and listed bytes written into an allowed
# inode: each refused at its next exec (a new inode is decided anew; a write drops the cached verdict).
t_rename_over_allowed() {
	cp $T/unlisted /tmp/ro
	expect_runs /tmp/ro unlisted || return 1
	listed_at /tmp/ro.new && mv /tmp/ro.new /tmp/ro
	expect_denied /tmp/ro
}

t_rewrite_allowed_inode() {
	cp $T/unlisted /tmp/rw
	expect_runs /tmp/rw unlisted || return 1
	ino=$(stat -c %i /tmp/rw)
	trewrite --invert $T/listed.inv /tmp/rw
	[ "$(stat -c %i /tmp/rw)" = "$ino" ] || {
		REASON="the rewrite made a new inode"
		return 1
	}
	expect_denied /tmp/rw
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
	# Nobody answers held images now: once the holder stamp is stale (1 s) the backstop holds nothing.
	sleep 2
	out=$(timeout $STEP_TIMEOUT tmemexec $T/unlisted 2>&1)
	rc=$?
	[ $rc -eq 0 ] && [ "$out" = "unlisted ran" ] || {
		REASON="memfd exec after the daemon was killed: exit $rc, $(flat "$out")"
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
run_test rootfs-marked
run_test mount-after-start
run_test mount-escaped-name
run_test userns-tmpfs
run_test memfd-listed-killed
run_test memfd-unlisted-runs
run_test chroot-static-after-denial
run_test rename-over-allowed
run_test rewrite-allowed-inode
run_test runtime-audit
run_test runtime-enforce
run_test sigkill-no-hang
DAEMON_REQUIRED=0
run_test restart-and-clean-stop
coverage fanotify
run_test syscall-filter-quiet
stop_daemon
[ $FAILED -eq 0 ]
