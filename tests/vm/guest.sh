#!/bin/sh
# The guest side of the VM tests (busybox sh, run by /init in the qemu guest; see tools/vmtest).
# Every test prints "@@ PASS: name", "@@ FAIL: name: why" or "@@ SKIP: name: why"; diagnostics "@@ # ...".
# The daemon's own output is printed at the end of each daemon run as "@@ embargod| ...".
#
# Environment (from the kernel command line, see tools/vmtest):
#   embargo_tests   comma-separated names: run only these (lsm-active always runs)
#   embargo_daemon  0 when build/embargod was not built: the daemon tests are skipped
#   embargo_tier    the tier the daemon must report (default lsm-hash)
#   embargo_daemon_args  extra embargod options, comma-separated (e.g. --verbose)

# shellcheck source=tests/vm/lib.sh
. /opt/embargo-test/lib.sh
# shellcheck source=tests/vm/guest-protect.sh
. /opt/embargo-test/guest-protect.sh

# --------------------------------------------------------------------------------------------- tests

# The test programs work in this guest at all (no daemon yet): a later "denied" means something.
t_baseline() {
	expect_runs $T/listed listed || return 1
	expect_runs $T/unlisted unlisted || return 1
	prog_run /lib64/ld-linux-x86-64.so.2 $T/listed
	[ $RC -eq 0 ] && [ -e "$MK" ] || {
		REASON="ld.so $T/listed: exit $RC, $(flat "$OUT")"
		return 1
	}
	out=$(LIB_MARKER=/tmp/lib.baseline tdlopen $T/liblisted.so 2>&1)
	[ "$out" = "dlopen: ok" ] && [ -e /tmp/lib.baseline ] || {
		REASON="dlopen of liblisted.so without the daemon: $out"
		return 1
	}
	rm -f /tmp/lib.baseline
	out=$(tdlopen --mmap-exec $T/liblisted.so 2>&1)
	[ "$out" = "mmap: ok" ] || {
		REASON="mmap(PROT_EXEC) of liblisted.so without the daemon: $out"
		return 1
	}
	prog_run /usr/bin/env LD_PRELOAD=$T/liblisted.so LIB_MARKER=/tmp/lib.baseline $T/unlisted
	[ $RC -eq 0 ] && [ -e /tmp/lib.baseline ] || {
		REASON="LD_PRELOAD=liblisted.so without the daemon: exit $RC, $(flat "$OUT")"
		return 1
	}
	rm -f /tmp/lib.baseline
}

t_daemon_start() {
	start_daemon "$POL" || return 1
	status_has "*\"tier\":\"$EXPECT_TIER\"*" "tier $EXPECT_TIER" || return 1
	status_has '*"mode":"enforce"*' "mode enforce"
}

t_exec_listed_denied() {
	mark_log
	expect_denied_first $T/listed || return 1
	wait_log 'EMBARGO_ACTION="denied"' 'EMBARGO_HOOK="exec"' "EMBARGO_PATH=\"$T/listed\"" \
		'EMBARGO_VENDOR="Listed"' "EMBARGO_SHA256=\"$H_LISTED\"" "EMBARGO_RULE=\"$POL:$RULE_LISTED\"" \
		'EMBARGO_MODE="enforce"'
}

t_exec_copy_denied() {
	cp $T/listed /tmp/copy-listed || return 1
	mark_log
	expect_denied_first /tmp/copy-listed || return 1
	wait_log 'EMBARGO_ACTION="denied"' 'EMBARGO_PATH="/tmp/copy-listed"'
}

t_exec_hardlink_denied() {
	# A never-executed copy, executed first through a second name.
	cp $T/listed /tmp/copy-for-link && ln /tmp/copy-for-link /tmp/hardlink-listed || return 1
	expect_denied_first /tmp/hardlink-listed
}

t_exec_renamed_denied() {
	cp $T/listed /tmp/copy-to-rename && mv /tmp/copy-to-rename /tmp/renamed-listed || return 1
	expect_denied_first /tmp/renamed-listed
}

t_dlopen_denied() {
	mark_log
	i=0
	while :; do
		rm -f /tmp/lib.dlopen
		out=$(LIB_MARKER=/tmp/lib.dlopen timeout $STEP_TIMEOUT trun $T/tdlopen $T/liblisted.so 2>&1)
		rc=$?
		# Tier lsm: an unseen library may load once while the daemon classifies it.
		[ "$EXPECT_TIER" = lsm-hash ] || [ $rc -ne 0 ] || [ $i -ge $((STEP_TIMEOUT * 10)) ] && break
		i=$((i + 1))
		sleep 0.1
	done
	if [ -e /tmp/lib.dlopen ]; then
		REASON="the library's constructor ran (exit $rc: $(flat "$out"))"
		return 1
	fi
	# glibc reports a refused executable mapping without its errno; the mapping itself is checked below.
	case "$out" in
	"dlopen: "*"Operation not permitted"* | "dlopen: "*"failed to map segment from shared object"*) ;;
	*)
		REASON="dlopen did not fail on a refused mapping: exit $rc, $(flat "$out")"
		return 1
		;;
	esac
	[ $rc -eq 1 ] || {
		REASON="tdlopen exit $rc: $(flat "$out")"
		return 1
	}
	# A component (white-label): the program that loads it is reported as the vendor's.
	wait_log 'EMBARGO_ACTION="denied"' 'EMBARGO_HOOK="mmap"' "EMBARGO_PATH=\"$T/liblisted.so\"" \
		"EMBARGO_SHA256=\"$H_LIB\"" "EMBARGO_RULE=\"$POL:$RULE_LIB\"" \
		'EMBARGO_NOTE="component of Listed: the loading program' || return 1
	out=$(timeout $STEP_TIMEOUT trun $T/tdlopen --mmap-exec $T/liblisted.so 2>&1)
	[ "$out" = "mmap: Operation not permitted (errno 1)" ] || {
		REASON="mmap(PROT_EXEC) of liblisted.so: $(flat "$out")"
		return 1
	}
}

# Listed files stay readable: only executing and executable mappings are refused.
t_read_allowed() {
	[ "$(sha $T/listed)" = "$H_LISTED" ] && [ "$(sha $T/liblisted.so)" = "$H_LIB" ] || {
		REASON="sha256sum of a listed file failed or differs while the daemon runs"
		return 1
	}
	out=$(timeout $STEP_TIMEOUT trun $T/tdlopen --mmap-read $T/liblisted.so 2>&1)
	[ "$out" = "mmap: ok" ] || {
		REASON="mmap(PROT_READ) of liblisted.so: $(flat "$out")"
		return 1
	}
	cp $T/listed /tmp/read-copy && cmp -s $T/listed /tmp/read-copy || {
		REASON="copying a listed file failed"
		return 1
	}
}

t_ld_preload_denied() {
	rm -f /tmp/lib.preload
	mark_log
	# Only the unlisted program gets LD_PRELOAD (env is busybox, static), not trun itself.
	prog_run /usr/bin/env LD_PRELOAD=$T/liblisted.so LIB_MARKER=/tmp/lib.preload $T/unlisted
	if [ -e /tmp/lib.preload ]; then
		REASON="LD_PRELOAD=liblisted.so: the library's constructor ran (exit $RC: $(flat "$OUT"))"
		return 1
	fi
	note "ld-preload-denied: exit $RC: $(flat "$OUT")"
	wait_log 'EMBARGO_ACTION="denied"' 'EMBARGO_HOOK="mmap"' "EMBARGO_PATH=\"$T/liblisted.so\""
}

t_ldso_exec_denied() {
	mark_log
	prog_run /lib64/ld-linux-x86-64.so.2 $T/listed
	if [ $RC -eq 0 ] || [ -e "$MK" ]; then
		REASON="ld.so ran the listed program: exit $RC, marker $([ -e "$MK" ] && echo written || echo missing), $(flat "$OUT")"
		return 1
	fi
	case "$OUT" in
	*"listed ran"*)
		REASON="the listed program printed: $(flat "$OUT")"
		return 1
		;;
	esac
	note "ldso-exec-denied: exit $RC: $(flat "$OUT")"
	wait_log 'EMBARGO_ACTION="denied"' 'EMBARGO_HOOK="mmap"' "EMBARGO_PATH=\"$T/listed\""
}

t_unlisted_runs() {
	expect_runs $T/unlisted unlisted
}

t_modified_runs() {
	cp $T/listed /tmp/modified && printf 'x' >>/tmp/modified || return 1
	expect_runs /tmp/modified listed
}

t_restored_denied() {
	# Back to the listed bytes in the same inode, by truncation, after it ran clean.
	truncate -s "$(stat -c %s $T/listed)" /tmp/modified || return 1
	[ "$(sha /tmp/modified)" = "$H_LISTED" ] || {
		REASON="truncate did not restore the bytes"
		return 1
	}
	expect_denied_first /tmp/modified
}

t_rewritten_denied() {
	# Modified again (runs), then the listed bytes written over it in place.
	printf 'y' >>/tmp/modified || return 1
	expect_runs /tmp/modified listed || return 1
	cat $T/listed >/tmp/modified || return 1
	expect_denied_first /tmp/modified
}

t_interp_denied() {
	cp $T/listed /tmp/listed-interp && cp $T/unlisted /tmp/unlisted-interp || return 1
	printf '#!/tmp/unlisted-interp\n' >/tmp/script-ok && chmod +x /tmp/script-ok || return 1
	printf '#!/tmp/listed-interp\n' >/tmp/script-listed && chmod +x /tmp/script-listed || return 1
	expect_runs /tmp/script-ok unlisted || {
		REASON="control: script with an unlisted interpreter: $REASON"
		return 1
	}
	expect_denied_first /tmp/script-listed
}

t_runtime_audit() {
	out=$(ctl mode audit 2>&1) || {
		REASON="embargoctl mode audit failed: $out"
		return 1
	}
	st=$(ctl status --json 2>&1 | tr -d ' \t\n')
	case "$st" in
	*'"mode":"audit"'*) ;;
	*)
		REASON="status after mode audit: $st"
		return 1
		;;
	esac
	mark_log
	expect_runs $T/listed listed || return 1
	wait_log 'EMBARGO_ACTION="audited"' 'EMBARGO_HOOK="exec"' "EMBARGO_PATH=\"$T/listed\"" 'EMBARGO_MODE="audit"'
}

t_runtime_enforce() {
	out=$(ctl mode enforce 2>&1) || {
		REASON="embargoctl mode enforce failed: $out"
		return 1
	}
	mark_log
	expect_denied $T/listed || return 1
	wait_log 'EMBARGO_ACTION="denied"' "EMBARGO_PATH=\"$T/listed\""
}

t_vendor_audit_mode() {
	mark_log
	expect_runs $T/audited audited || return 1
	wait_log 'EMBARGO_ACTION="audited"' "EMBARGO_PATH=\"$T/audited\"" 'EMBARGO_VENDOR="Audited"' \
		"EMBARGO_RULE=\"$POL:$RULE_AUDITED\""
}

t_vendor_enforce_mode() {
	# The same daemon, global mode enforce: the vendor without a mode of its own is enforced.
	cp $T/listed /tmp/vendor-b || return 1
	expect_denied_first /tmp/vendor-b
}

# Reload: a file already decided clean under generation 1 (cached) is denied once generation 2 lists it.
t_reload_adds() {
	cp $T/unlisted /tmp/reload-new && printf 'R' >>/tmp/reload-new || return 1
	expect_runs /tmp/reload-new unlisted || return 1
	cp "$POL" /tmp/policy.before-reload
	printf 'vendor "Reloaded"\nsha256 %s label "added by reload"\n' "$(sha /tmp/reload-new)" >>"$POL"
	out=$(ctl reload 2>&1) || {
		REASON="embargoctl reload: $out"
		return 1
	}
	status_has '*"generation":2*' "policy generation 2" || return 1
	mark_log
	expect_denied_first /tmp/reload-new || return 1
	wait_log 'EMBARGO_ACTION="denied"' 'EMBARGO_POLICY_GENERATION="2"' 'EMBARGO_VENDOR="Reloaded"' \
		"EMBARGO_PATH=\"/tmp/reload-new\""
}

# A policy with an error is refused: embargoctl exits 2 naming file:line:column; generation 2 decides on.
t_reload_bad_keeps_old() {
	cp "$POL" /tmp/policy.good
	lines=$(wc -l <"$POL")
	printf 'sha256 xyz\n' >>"$POL"
	out=$(ctl reload 2>&1)
	rc=$?
	cp /tmp/policy.good "$POL"
	[ $rc -eq 2 ] && case "$out" in *"$POL:$((lines + 1)):8: "*) true ;; *) false ;; esac || {
		REASON="bad reload: exit $rc: $out"
		return 1
	}
	status_has '*"generation":2*"last_failed":true*' "generation 2 kept, last reload failed" || return 1
	expect_denied /tmp/reload-new || return 1
	expect_denied $T/listed
}

# Back to the policy without the added vendor: the file runs again.
t_reload_removes() {
	cp /tmp/policy.before-reload "$POL"
	kill -HUP "$DPID"
	wait_until 20 status_has '*"generation":3*"last_failed":false*' "generation 3" || return 1
	expect_runs /tmp/reload-new unlisted || return 1
	expect_denied $T/listed
}

# kill -9: the pinned links keep enforcing while no daemon runs; a restarted daemon takes over with no
# exec of the listed program getting through at any moment (one runs in a loop throughout).
t_crash_keeps_denial() {
	# Self-protection would refuse this shell's SIGKILL in enforce mode (systemd, PID 1, may send it).
	stop_daemon
	start_daemon "$POL" --no-self-protection || return 1
	ls /sys/fs/bpf/embargo/exec_hash /sys/fs/bpf/embargo/exec_cache >/dev/null 2>&1 || [ -e /sys/fs/bpf/embargo/map-verdicts ] || {
		REASON="nothing pinned under /sys/fs/bpf/embargo: $(ls /sys/fs/bpf/embargo 2>&1 | tr '\n' ' ')"
		return 1
	}
	kill -KILL "$DPID"
	wait "$DPID"
	DPID=
	expect_denied $T/listed || {
		REASON="daemon killed: $REASON"
		return 1
	}
	if [ "$EXPECT_TIER" = lsm-hash ]; then
		# Hashed in the kernel with nobody in userspace: a copy never seen before is refused too.
		cp $T/listed /tmp/crash-copy && expect_denied /tmp/crash-copy || {
			REASON="daemon killed, fresh copy: $REASON"
			return 1
		}
	fi
	rm -f /tmp/loop.stop /tmp/loop.ran /tmp/loop.count
	(
		n=0
		while [ ! -e /tmp/loop.stop ]; do
			MARKER=/tmp/loop.ran trun $T/listed >/dev/null 2>&1
			n=$((n + 1))
			echo $n >/tmp/loop.count
		done
	) &
	lpid=$!
	start_daemon "$POL"
	started=$?
	# A few more execs under the new daemon's programs, then stop the loop.
	c0=$(cat /tmp/loop.count 2>/dev/null || echo 0)
	wait_until 20 sh -c "[ \$(cat /tmp/loop.count 2>/dev/null || echo 0) -ge $((c0 + 3)) ]"
	touch /tmp/loop.stop
	wait $lpid
	note "crash-keeps-denial: $(cat /tmp/loop.count 2>/dev/null) execs of the listed program across the restart"
	[ $started -eq 0 ] || return 1
	[ ! -e /tmp/loop.ran ] || {
		REASON="the listed program ran while the daemon was restarting"
		return 1
	}
	log_has "left its programs attached" || {
		REASON="the restarted daemon did not say it found the previous programs"
		return 1
	}
	# The lsm tier keeps the previous programs until the start-up scan has warmed its cache.
	wait_until 60 sh -c '! ls /sys/fs/bpf/embargo | grep -q pending' || {
		REASON="temporary pins left: $(ls /sys/fs/bpf/embargo | tr '\n' ' ')"
		return 1
	}
	expect_denied $T/listed
}

# keep_enforcement_on_exit: a clean stop leaves the programs enforcing; the default detaches them.
t_keep_enforcement() {
	stop_daemon
	start_daemon "$POL" --keep-enforcement-on-exit --no-self-protection || return 1
	stop_daemon
	[ "$DSTATUS" = 0 ] || {
		REASON="embargod exited with status $DSTATUS"
		return 1
	}
	expect_denied $T/listed || {
		REASON="after a clean stop with keep_enforcement_on_exit: $REASON"
		return 1
	}
	[ -e /sys/fs/bpf/embargo/map-verdicts ] || {
		REASON="no pins after a clean stop with keep_enforcement_on_exit"
		return 1
	}
	start_daemon "$POL"
}

t_daemon_stop() {
	stop_daemon
	[ "$DSTATUS" = 0 ] || {
		REASON="embargod exited with status $DSTATUS on SIGTERM"
		return 1
	}
}

# The daemon says it detaches its programs when it stops: nothing stays enforced behind its back.
t_detached_after_stop() {
	[ -z "$DPID" ] || stop_daemon
	expect_runs $T/listed listed || {
		REASON="$REASON; pinned: $(ls /sys/fs/bpf/embargo 2>&1 | tr '\n' ' ')"
		return 1
	}
}

# The policy the project ships (policies/, copied in by tools/vmtest) loads into the kernel.
t_shipped_policy() {
	[ -d $T/policies ] || {
		REASON="no policies/ in the initramfs"
		return 1
	}
	start_daemon $T/policies || return 1
	st=$(ctl status --json 2>&1) || {
		REASON="embargoctl status --json failed: $st"
		stop_daemon
		return 1
	}
	expect_runs $T/unlisted unlisted || {
		stop_daemon
		return 1
	}
	stop_daemon
}

# embargoctl doctor before the daemon starts: its checks and its own load attempts (never attached) must
# agree with the tier the daemon has to reach here: exit 0 and lsm-hash, or exit 1 and lsm (5.10).
t_doctor() {
	out=$(timeout $STEP_TIMEOUT embargoctl --runtime-dir "$RD" doctor --json 2>&1)
	rc=$?
	want=1
	[ "$EXPECT_TIER" = lsm-hash ] && want=0
	[ $rc -eq $want ] || {
		REASON="exit $rc, expected $want: $(flat "$out")"
		return 1
	}
	case "$out" in
	*'"tier":"'$EXPECT_TIER'"'*) ;;
	*)
		REASON="doctor does not expect tier $EXPECT_TIER: $(flat "$out")"
		return 1
		;;
	esac
	ok="btf bpf_lsm_config bpf_lsm_active lsm_program fanotify bpffs"
	no=
	if [ "$EXPECT_TIER" = lsm-hash ]; then
		ok="$ok ima_file_hash lsm_hash_program"
	else
		no="lsm_hash_program"
	fi
	for c in $ok; do
		case "$out" in
		*'{"check":"'$c'","result":"ok"'*) ;;
		*)
			REASON="check $c is not ok: $(flat "$out")"
			return 1
			;;
		esac
	done
	for c in $no; do
		case "$out" in
		*'{"check":"'$c'","result":"no"'*) ;;
		*)
			REASON="check $c is not no: $(flat "$out")"
			return 1
			;;
		esac
	done
}

# With the daemon: doctor reports the tier it chose, exit 0 only for lsm-hash.
t_doctor_daemon() {
	out=$(ctl doctor 2>&1)
	rc=$?
	if [ "$EXPECT_TIER" = lsm-hash ]; then
		[ $rc -eq 0 ] && echo "$out" | grep -q '^Result: embargod runs in the best tier, lsm-hash' && return 0
	else
		[ $rc -eq 1 ] && echo "$out" | grep -q "^Result: embargod runs in tier $EXPECT_TIER, not lsm-hash" && return 0
	fi
	REASON="exit $rc: $(flat "$out")"
	return 1
}

# An identity rule (path): the file is not listed by digest; embargod identifies it (at its first use in
# the lsm-hash tier, which the kernel allows and hands over) and learns its digest, so that from then on
# the kernel refuses it, and a copy of it elsewhere on its very first exec.
t_identity_path_learned() {
	mkdir -p /tmp/pathvendor
	cp $T/unlisted /tmp/pathvendor/engine && printf 'P' >>/tmp/pathvendor/engine
	mark_log
	i=0
	while :; do
		prog_run /tmp/pathvendor/engine
		[ $RC -eq 200 ] && break
		i=$((i + 1))
		[ $i -ge 50 ] && {
			REASON="the file under the path rule was never refused: exit $RC, $(flat "$OUT")"
			return 1
		}
		sleep 0.1
	done
	[ $i -gt 0 ] && note "identity-path-learned: refused after $i allowed run(s) (identified after its first use)"
	wait_log "Identified /tmp/pathvendor/engine as Pathvendor's" || return 1
	cp /tmp/pathvendor/engine /tmp/copy-of-engine
	# lsm-hash: the kernel knows the learned digest, the copy is refused on its first exec; lsm: no
	# in-kernel hashing, the copy may run once while embargod classifies it.
	expect_denied_first /tmp/copy-of-engine
}

# A kernel module identified by its signer (re-signed with a throw-away key whose certificate says
# O=AO Kaspersky Lab): no digest of it is listed. The start-up scan identifies it (module signature,
# parsed in the confined worker) and its digest joins the deny set before anyone loads it.
t_module_signer_denied() {
	[ -e $T/sig/resigned.ko ] || {
		REASON="no re-signed module in the initramfs (see tools/vmtest's log)"
		return 1
	}
	i=0
	# Logged by the start-up scan, before any mark_log of the tests: the whole log.
	until grep -qF "Identified $T/sig/resigned.ko as Signer's: signed by O=AO Kaspersky Lab" "$LOG"; do
		i=$((i + 1))
		[ $i -ge $((STEP_TIMEOUT * 10)) ] && {
			REASON="the start-up scan did not identify the re-signed module by its signer"
			note "$(grep -i 'resigned\|scan' "$LOG" | tail -n 5)"
			return 1
		}
		sleep 0.1
	done
	mark_log
	out=$(timeout $STEP_TIMEOUT tfinit $T/sig/resigned.ko 2>&1)
	[ "$out" = "finit_module: Operation not permitted (errno 1)" ] || {
		[ "$out" = "finit_module: ok" ] && tfinit -r nls_iso8859_1 >/dev/null 2>&1
		REASON="the module signed by the vendor's key was not refused: $out"
		return 1
	}
	wait_log 'EMBARGO_ACTION="denied"' 'EMBARGO_HOOK="module"' 'EMBARGO_VENDOR="Signer"' 'EMBARGO_LABEL="signer-org'
}

# Kernel modules through finit_module: an unlisted one loads (and is unloaded again), a listed one is
# refused before the kernel reads it.
t_module_unlisted_loads() {
	[ -e $T/modules/nls_iso8859-1.ko ] || {
		REASON="no test module in the initramfs"
		return 1
	}
	out=$(timeout $STEP_TIMEOUT tfinit $T/modules/nls_iso8859-1.ko 2>&1)
	[ "$out" = "finit_module: ok" ] || {
		REASON="the unlisted module did not load: $out"
		return 1
	}
	tfinit -r nls_iso8859_1 >/dev/null 2>&1
	return 0
}

# init_module: a module from memory has no file to hash; refused in enforce mode (init_module auto: the
# guest's modules are loaded from files), while finit_module of the same unlisted module loads.
t_module_memory_denied() {
	status_has '*"init_module":{"deny":true*' "init_module deny" || return 1
	mark_log
	out=$(timeout $STEP_TIMEOUT tfinit -m $T/modules/nls_iso8859-1.ko 2>&1)
	[ "$out" = "init_module: Operation not permitted (errno 1)" ] || {
		tfinit -r nls_iso8859_1 >/dev/null 2>&1
		REASON="init_module from memory was not refused: $out"
		return 1
	}
	wait_log 'EMBARGO_ACTION="denied"' 'EMBARGO_HOOK="module"' 'EMBARGO_PATH="(init_module from memory)"' \
		'EMBARGO_COMM="tfinit"'
}

# In audit mode it loads, and is reported.
t_module_memory_audited() {
	mark_log
	out=$(timeout $STEP_TIMEOUT tfinit -m $T/modules/nls_iso8859-1.ko 2>&1)
	tfinit -r nls_iso8859_1 >/dev/null 2>&1
	[ "$out" = "init_module: ok" ] || {
		REASON="init_module in audit mode: $out"
		return 1
	}
	wait_log 'EMBARGO_ACTION="audited"' 'EMBARGO_HOOK="module"' 'EMBARGO_PATH="(init_module from memory)"'
}

t_module_listed_denied() {
	[ -n "$H_MOD" ] || {
		REASON="no test module in the initramfs"
		return 1
	}
	mark_log
	i=0
	while :; do
		out=$(timeout $STEP_TIMEOUT tfinit $T/modules/nls_utf8.ko 2>&1)
		[ "$out" = "finit_module: Operation not permitted (errno 1)" ] && break
		# Tier lsm: a module never seen may load once while the daemon classifies it.
		[ "$out" = "finit_module: ok" ] && tfinit -r nls_utf8 >/dev/null 2>&1
		i=$((i + 1))
		if [ "$EXPECT_TIER" = lsm-hash ] || [ $i -ge 50 ]; then
			REASON="the listed module was not refused: $out"
			return 1
		fi
		sleep 0.1
	done
	grep -q '^nls_utf8 ' /proc/modules && {
		REASON="finit_module failed, yet nls_utf8 is loaded"
		return 1
	}
	wait_log 'EMBARGO_ACTION="denied"' 'EMBARGO_HOOK="module"' "EMBARGO_SHA256=\"$H_MOD\"" \
		"EMBARGO_RULE=\"$POL:$RULE_MOD\""
}

# ---------------------------------------------------------------------------------------------- main

DAEMON_REQUIRED=0
run_test lsm-active
run_test baseline

if [ "${embargo_daemon:-1}" != 1 ] || ! command -v embargod >/dev/null; then
	NO_DAEMON_WHY="build/embargod is not built"
else
	H_LISTED=$(sha $T/listed)
	H_LIB=$(sha $T/liblisted.so)
	H_AUDITED=$(sha $T/audited)
	H_MOD=$(sha $T/modules/nls_utf8.ko 2>/dev/null)
	# Line numbers matter: events name the rule as file:line.
	cat >"$POL" <<EOF
# embargo VM test policy, generated in the guest
vendor "Listed"
sha256 $H_LISTED label "listed test program"
component sha256 $H_LIB label "liblisted.so"
sha256 ${H_MOD:-0000000000000000000000000000000000000000000000000000000000000000} label "nls_utf8.ko"

vendor "Audited" mode audit
sha256 $H_AUDITED label "audited test program"

vendor "Pathvendor"
path /tmp/pathvendor/

vendor "Signer"
signer-org "AO Kaspersky Lab"
trust-anchor $T/sig/ca.pem
trust-anchor $T/sig/vendor.pem
EOF
	RULE_LISTED=3
	RULE_LIB=4
	RULE_MOD=5
	RULE_AUDITED=8
fi

run_test doctor

DAEMON_REQUIRED=1
daemon_start_step

run_test doctor-daemon
run_test exec-listed-denied
run_test exec-copy-denied
run_test exec-hardlink-denied
run_test exec-renamed-denied
run_test dlopen-denied
run_test read-allowed
run_test ld-preload-denied
run_test ldso-exec-denied
run_test unlisted-runs
run_test modified-runs
run_test restored-denied
run_test rewritten-denied
run_test interp-denied
run_test module-unlisted-loads
run_test module-listed-denied
run_test module-memory-denied
run_test identity-path-learned
run_test module-signer-denied
run_test runtime-audit
run_test module-memory-audited
# Back to enforce whatever runtime-audit did.
[ -n "$DPID" ] && ctl mode enforce >/dev/null 2>&1
run_test runtime-enforce
run_test vendor-audit-mode
run_test vendor-enforce-mode
run_test reload-adds
run_test reload-bad-keeps-old
run_test reload-removes
run_test crash-keeps-denial
run_test keep-enforcement
run_test protect-status
run_test protect-signal
run_test protect-ptrace
run_test protect-bpf
run_test protect-pins
run_test protect-link-detach
run_test protect-audit
run_test daemon-stop
DAEMON_REQUIRED=0
run_test detached-after-stop
run_test shipped-policy
run_test syscall-filter-quiet
stop_daemon

[ $FAILED -eq 0 ]
