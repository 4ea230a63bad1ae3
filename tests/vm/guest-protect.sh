#!/bin/sh
# Self-protection in the BPF LSM tiers (busybox sh, sourced by tests/vm/guest.sh, which runs these on
# its daemon in enforce mode). This shell is root and is not PID 1 (/init is): like every process embargo
# polices, it may not signal, trace or unload embargod in enforce mode, and it may in audit mode.
# Every refused attempt is checked for its errno, for the daemon still answering and still enforcing,
# and for the journal entry that names who tried.

# The answer tprotect prints for an attempt refused with EPERM.
is_eperm() {
	case "$1" in
	*": Operation not permitted (errno 1)") return 0 ;;
	esac
	return 1
}

# refused ARGS...: tprotect ARGS is refused with EPERM (else REASON says what it answered).
refused() {
	out=$(tprotect "$@")
	is_eperm "$out" && return 0
	REASON="tprotect $*: $out"
	return 1
}

daemon_answers() {
	if kill -0 "$DPID" 2>/dev/null && ctl status >/dev/null 2>&1; then
		return 0
	fi
	REASON="embargod (pid $DPID) is gone or does not answer"
	return 1
}

# bpf_ids FIELD: the ids (map_id, prog_id, link_id) of the BPF objects embargod holds fds to.
bpf_ids() {
	cat /proc/"$DPID"/fdinfo/* 2>/dev/null | sed -n "s/^$1:[[:space:]]*//p" | sort -u
}

# The id status gives embargo's map called $1.
map_id_named() {
	ctl status --json | tr -d ' \n' | grep -o "{\"kind\":\"map\",\"id\":[0-9]*,\"name\":\"$1\"}" |
		sed 's/.*"id":\([0-9]*\).*/\1/'
}

PIN_DIR=/sys/fs/bpf/embargo

t_protect_status() {
	status_has '*"self_protection":{"state":"active","active":true,*' "self-protection active" || return 1
	status_has '*"syscall_filter":{"active":true,*' "an active system call filter" || return 1
	grep -q '^Seccomp:[[:space:]]*2' /proc/"$DPID"/status || {
		REASON="embargod runs without a seccomp filter: $(grep Seccomp /proc/"$DPID"/status)"
		return 1
	}
	out=$(ctl status 2>&1)
	printf '%s\n' "$out" | grep -q '^Self-protection: active$' || {
		REASON="status text: $(printf '%s\n' "$out" | grep -A2 'Self-protection' | tr '\n' ' ')"
		return 1
	}
	grep -q 'Self-protection: active (enforce mode)' "$LOG" || {
		REASON="the start-up banner does not say self-protection is active"
		return 1
	}
}

t_protect_signal() {
	mark_log
	if out=$(kill -TERM "$DPID" 2>&1); then
		REASON="kill -TERM from a root shell succeeded"
		return 1
	fi
	case "$out" in
	*"Operation not permitted"*) ;;
	*)
		REASON="kill -TERM failed, but not with EPERM: $out"
		return 1
		;;
	esac
	# SIGKILL, SIGSTOP, SIGINT (embargod stops on it) and SIGCONT.
	for sig in 9 19 2 18; do
		out=$(tprotect kill "$DPID" $sig)
		is_eperm "$out" || {
			REASON="signal $sig: $out"
			return 1
		}
	done
	# A liveness check delivers nothing: it passes.
	kill -0 "$DPID" || {
		REASON="kill -0 (no signal) was refused or embargod is gone"
		return 1
	}
	daemon_answers || return 1
	expect_denied $T/listed || return 1
	wait_log 'Self-protection refused signal SIGKILL (9)' 'EMBARGO_TAMPER="signal"' \
		'EMBARGO_COMM="tprotect"' 'EMBARGO_SIGNAL="9"' 'EMBARGO_UID="0"' || return 1
	wait_log 'Self-protection refused signal SIGTERM (15)' || return 1
	status_has '*"refused":{"signals":[1-9]*' "the refused signals counted"
}

t_protect_ptrace() {
	mark_log
	refused seize "$DPID" || return 1
	refused vmread "$DPID" || return 1
	# The kernel turns the refusal into EACCES for /proc/PID/mem.
	out=$(tprotect mem "$DPID")
	case "$out" in
	"open /proc/PID/mem: Permission denied (errno 13)" | "open /proc/PID/mem: Operation not permitted (errno 1)") ;;
	*)
		REASON="$out"
		return 1
		;;
	esac
	# Read-mode access stays open: journald reads /proc/PID/exe of every sender, ps and lsof too.
	[ "$(readlink /proc/"$DPID"/exe)" = /usr/sbin/embargod ] || {
		REASON="/proc/$DPID/exe is unreadable: $(readlink /proc/"$DPID"/exe 2>&1)"
		return 1
	}
	daemon_answers || return 1
	wait_log 'Self-protection refused ptrace access' 'EMBARGO_TAMPER="ptrace"' 'EMBARGO_COMM="tprotect"'
}

t_protect_bpf() {
	maps=$(bpf_ids map_id)
	progs=$(bpf_ids prog_id)
	links=$(bpf_ids link_id)
	[ -n "$maps" ] && [ -n "$progs" ] && [ -n "$links" ] || {
		REASON="no BPF ids in embargod's fdinfo: maps '$maps', programs '$progs', links '$links'"
		return 1
	}
	mark_log
	for id in $maps; do
		for how in rw ro; do
			out=$(tprotect map "$id" $how)
			is_eperm "$out" || {
				REASON="map $id ($how): $out"
				return 1
			}
		done
	done
	for kind in prog link; do
		[ $kind = prog ] && ids=$progs || ids=$links
		for id in $ids; do
			out=$(tprotect $kind "$id")
			is_eperm "$out" || {
				REASON="$out"
				return 1
			}
		done
	done
	note "protect-bpf: $(echo $maps | wc -w) maps (read-write and read-only), $(echo $progs | wc -w) programs, $(echo $links | wc -w) links refused"
	dmap=$(map_id_named digests_even)
	printf '%s\n' $maps | grep -qx "${dmap:-none}" || {
		REASON="status names no digests_even map among embargod's maps ($dmap; $(echo $maps))"
		return 1
	}
	tool_tries=0
	if command -v bpftool >/dev/null; then
		tool_tries=2
		key=
		for _ in $(seq 32); do key="$key 00"; done
		out=$(timeout $STEP_TIMEOUT bpftool map update id "$dmap" key hex $key value hex 0 0 0 0 0 0 0 0 2>&1)
		case "$out" in
		*"Operation not permitted"*) ;;
		*)
			REASON="bpftool map update on the digest map (id $dmap): $out"
			return 1
			;;
		esac
		out=$(timeout $STEP_TIMEOUT bpftool map delete id "$dmap" key hex $key 2>&1)
		case "$out" in
		*"Operation not permitted"*) ;;
		*)
			REASON="bpftool map delete on the digest map (id $dmap): $out"
			return 1
			;;
		esac
	else
		note "protect-bpf: no bpftool in the guest, tried through bpf() only"
	fi
	daemon_answers || return 1
	expect_denied $T/listed || return 1
	# Beyond 32 per housekeeping tick, refusals are logged as one summary: the counter is exact.
	n=$(($(echo $maps | wc -w) * 2 + $(echo $progs | wc -w) + $(echo $links | wc -w) + tool_tries))
	status_has "*\"refused\":{*\"bpf\":$n,*" "$n refused bpf() requests" || return 1
	wait_log "Self-protection refused an fd to embargo's BPF map id" 'EMBARGO_TAMPER="bpf"' \
		'EMBARGO_BPF_OBJECT="map '
}

# embargod's own pins (its links and maps, kept for enforcement across a restart), plus a directory and
# a map pinned by bpftool made here for rmdir and another pin's unlink.
t_protect_pins() {
	own=$(ls $PIN_DIR 2>/dev/null | grep -v '^protect-' | head -n1)
	[ -d $PIN_DIR ] || mkdir $PIN_DIR || {
		REASON="cannot create $PIN_DIR"
		return 1
	}
	mkdir -p $PIN_DIR/protect-test || {
		REASON="cannot create $PIN_DIR/protect-test"
		return 1
	}
	have_pin=0
	if command -v bpftool >/dev/null &&
		timeout $STEP_TIMEOUT bpftool map create $PIN_DIR/protect-map type array key 4 value 4 entries 1 \
			name protecttest >/dev/null 2>&1; then
		have_pin=1
	fi
	# Noticed on embargod's next housekeeping tick.
	wait_until 10 status_has "*\"pin_dir\":\"$PIN_DIR\"*" "the pin directory watched" || return 1
	mark_log
	if out=$(rmdir $PIN_DIR/protect-test 2>&1) || [ ! -d $PIN_DIR/protect-test ]; then
		REASON="rmdir in $PIN_DIR was not refused"
		return 1
	fi
	if out=$(mv $PIN_DIR/protect-test $PIN_DIR/moved 2>&1) || [ ! -d $PIN_DIR/protect-test ]; then
		REASON="a rename in $PIN_DIR was not refused"
		return 1
	fi
	case "$out" in
	*"Operation not permitted"*) ;;
	*)
		REASON="the rename failed, but not with EPERM: $out"
		return 1
		;;
	esac
	if [ -n "$own" ]; then
		if out=$(rm -f "$PIN_DIR/$own" 2>&1) || [ ! -e "$PIN_DIR/$own" ]; then
			REASON="unlinking embargod's pin $PIN_DIR/$own was not refused"
			return 1
		fi
		if out=$(mv "$PIN_DIR/$own" $PIN_DIR/protect-moved 2>&1) || [ ! -e "$PIN_DIR/$own" ]; then
			REASON="renaming embargod's pin $PIN_DIR/$own was not refused"
			return 1
		fi
	else
		note "protect-pins: embargod pinned nothing in $PIN_DIR"
	fi
	if [ $have_pin = 1 ]; then
		if rm -f $PIN_DIR/protect-map 2>/dev/null || [ ! -e $PIN_DIR/protect-map ]; then
			REASON="unlinking a pin in $PIN_DIR was not refused"
			return 1
		fi
	else
		note "protect-pins: no bpftool in the guest: no pin to unlink, directories only"
	fi
	wait_log "Self-protection refused removing or moving inode" "in $PIN_DIR" 'EMBARGO_TAMPER="pin"'
}

# Another root process gets an fd to each of embargod's pinned links from its pin (BPF_OBJ_GET names a
# path: no hook refuses it) and tries what bpftool link detach / a program swap would: BPF_LINK_DETACH
# and BPF_LINK_UPDATE are refused with EPERM, and the listed program is still denied afterwards.
t_protect_link_detach() {
	pins=
	for p in $PIN_DIR/*; do
		case "$(basename "$p")" in protect-* | pending-*) continue ;; esac
		# Links only: a map's pin gives a map fd, which is refused (bpf_map) before anything.
		out=$(tprotect detach "$p")
		case "$out" in
		"obj get: "*) continue ;;
		esac
		pins="$pins $p"
		is_eperm "$out" || {
			REASON="$p: $out"
			return 1
		}
		refused update "$p" || return 1
	done
	[ -n "$pins" ] || {
		REASON="no link pinned under $PIN_DIR: $(ls $PIN_DIR)"
		return 1
	}
	note "protect-link-detach: detach and update refused for$pins"
	if command -v bpftool >/dev/null; then
		p=$(echo $pins | cut -d' ' -f1)
		out=$(timeout $STEP_TIMEOUT bpftool link detach pinned "$p" 2>&1)
		case "$out" in
		*"Operation not permitted"*) ;;
		*)
			REASON="bpftool link detach pinned $p: $out"
			return 1
			;;
		esac
	fi
	daemon_answers || return 1
	expect_denied $T/listed || return 1
	wait_log "Self-protection refused detaching embargo's BPF link id" 'EMBARGO_TAMPER="bpf"'
}

# Audit mode lifts the protection (and enforce mode brings it back); SIGTERM from this shell then stops
# embargod cleanly. A new daemon is started for the rest of the suite.
t_protect_audit() {
	out=$(ctl mode audit 2>&1) || {
		REASON="embargoctl mode audit: $out"
		return 1
	}
	status_has '*"self_protection":{"state":"standby","active":false,*' "self-protection on standby" ||
		return 1
	id=$(bpf_ids map_id | head -n1)
	for try in "kill $DPID 18" "seize $DPID" "map $id"; do
		# shellcheck disable=SC2086 # the attempt's words
		out=$(tprotect $try)
		case "$out" in
		*": ok") ;;
		*)
			REASON="audit mode: tprotect $try: $out"
			return 1
			;;
		esac
	done
	# $PIN_DIR itself also holds embargod's own pins.
	rm -f $PIN_DIR/protect-map && rmdir $PIN_DIR/protect-test || {
		REASON="audit mode: cannot remove the test pins under $PIN_DIR"
		return 1
	}
	out=$(ctl mode enforce 2>&1) || {
		REASON="embargoctl mode enforce: $out"
		return 1
	}
	out=$(tprotect kill "$DPID" 18)
	is_eperm "$out" || {
		REASON="back in enforce mode, SIGCONT: $out"
		return 1
	}
	ctl mode audit >/dev/null || return 1
	kill -TERM "$DPID" || {
		REASON="audit mode: kill -TERM from the shell failed"
		return 1
	}
	stop_daemon
	[ "$DSTATUS" = 0 ] || {
		REASON="embargod exited with status $DSTATUS on SIGTERM in audit mode"
		return 1
	}
	start_daemon "$POL"
}
