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
# shellcheck source=tests/vm/coverage.sh
. /opt/embargo-test/coverage.sh

# listed_copy DST: a fresh file with the listed program's bytes. A known listed file cannot be read (not
# even to copy it): the bytes come from listed.inv, which no scan finds.
listed_copy() { trewrite --invert $T/listed.inv "$1" && chmod 755 "$1"; }
lib_copy() { trewrite --invert $T/liblisted.so.inv "$1"; }

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
	listed_copy /tmp/copy-listed || return 1
	mark_log
	expect_denied_first /tmp/copy-listed || return 1
	wait_log 'EMBARGO_ACTION="denied"' 'EMBARGO_PATH="/tmp/copy-listed"'
}

t_exec_hardlink_denied() {
	# A never-executed copy, executed first through a second name.
	listed_copy /tmp/copy-for-link && ln /tmp/copy-for-link /tmp/hardlink-listed || return 1
	expect_denied_first /tmp/hardlink-listed
}

t_exec_renamed_denied() {
	listed_copy /tmp/copy-to-rename && mv /tmp/copy-to-rename /tmp/renamed-listed || return 1
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
	# Known from the start-up scan, it is refused at its open already (hook read); a fresh copy at its
	# mapping (dlopen-fresh-copy-denied).
	wait_log 'EMBARGO_ACTION="denied"' "EMBARGO_PATH=\"$T/liblisted.so\"" \
		"EMBARGO_SHA256=\"$H_LIB\"" "EMBARGO_RULE=\"$POL:$RULE_LIB\"" \
		'EMBARGO_NOTE="component of Listed: the loading program' || return 1
	out=$(timeout $STEP_TIMEOUT trun $T/tdlopen --mmap-exec $T/liblisted.so 2>&1)
	[ "$out" = "mmap: Operation not permitted (errno 1)" ] || [ "$out" = "open: Operation not permitted (errno 1)" ] || {
		REASON="mmap(PROT_EXEC) of liblisted.so: $(flat "$out")"
		return 1
	}
}

# A listed file nothing has decided yet stays readable (by a program that is no interpreter): a fresh
# copy is hashed, mapped for reading and copied.
t_read_allowed() {
	listed_copy /tmp/read-src && lib_copy /tmp/read-src.so || return 1
	[ "$(sha /tmp/read-src)" = "$H_LISTED" ] && [ "$(sha /tmp/read-src.so)" = "$H_LIB" ] || {
		REASON="sha256sum of a fresh copy of a listed file failed or differs while the daemon runs"
		return 1
	}
	out=$(timeout $STEP_TIMEOUT trun $T/tdlopen --mmap-read /tmp/read-src.so 2>&1)
	[ "$out" = "mmap: ok" ] || {
		REASON="mmap(PROT_READ) of a fresh copy of liblisted.so: $(flat "$out")"
		return 1
	}
	cp /tmp/read-src /tmp/read-copy && cmp -s /tmp/read-src /tmp/read-copy || {
		REASON="copying a fresh copy of a listed file failed"
		return 1
	}
}

# A file known to be listed (the start-up scan found it) is not opened at all, but by embargod: reading
# it is refused in enforce mode (hook read), as its exec is.
t_read_known_denied() {
	mark_log
	if out=$(sha256sum $T/listed 2>&1); then
		REASON="sha256sum of the known listed program worked: $(flat "$out")"
		return 1
	fi
	case "$out" in
	*"ermission denied"* | *"not permitted"*) ;;
	*)
		REASON="sha256sum of the known listed program failed, but not with EPERM: $(flat "$out")"
		return 1
		;;
	esac
	out=$(timeout $STEP_TIMEOUT trun $T/tdlopen --mmap-read $T/liblisted.so 2>&1)
	[ "$out" = "open: Operation not permitted (errno 1)" ] || {
		REASON="open of the known liblisted.so for reading: $(flat "$out")"
		return 1
	}
	wait_log 'EMBARGO_ACTION="denied"' 'EMBARGO_HOOK="read"' "EMBARGO_PATH=\"$T/listed\"" \
		"EMBARGO_RULE=\"$POL:$RULE_LISTED\""
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
	wait_log 'EMBARGO_ACTION="denied"' "EMBARGO_PATH=\"$T/liblisted.so\""
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
	wait_log 'EMBARGO_ACTION="denied"' "EMBARGO_PATH=\"$T/listed\""
}

t_unlisted_runs() {
	expect_runs $T/unlisted unlisted
}

t_modified_runs() {
	listed_copy /tmp/modified && printf 'x' >>/tmp/modified || return 1
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
	trewrite --invert $T/listed.inv /tmp/modified || return 1
	expect_denied_first /tmp/modified
}

t_interp_denied() {
	listed_copy /tmp/listed-interp && cp $T/unlisted /tmp/unlisted-interp || return 1
	printf '#!/tmp/unlisted-interp\n' >/tmp/script-ok && chmod +x /tmp/script-ok || return 1
	printf '#!/tmp/listed-interp\n' >/tmp/script-listed && chmod +x /tmp/script-listed || return 1
	expect_runs /tmp/script-ok unlisted || {
		REASON="control: script with an unlisted interpreter: $REASON"
		return 1
	}
	expect_denied_first /tmp/script-listed
}

# ------------------------------------------------------------- issue 12: interpreters, mprotect

# write_script PATH WHO, write_py PATH WHO: the test scripts (fixed bytes: the same WHO, the same digest).
write_script() { printf '%s\n' '#!/bin/sh' "echo \"$2 script ran\"" ': >"${MARKER:-/dev/null}"' >"$1"; }
write_py() { printf 'print("%s python ran")\n' "$2" >"$1"; }

# script_run CMD...: sets OUT, RC, MK as prog_run does, without trun (the interpreter is the program).
script_run() {
	N=$((N + 1))
	MK=/tmp/marker.$N
	rm -f "$MK"
	OUT=$(MARKER=$MK timeout $STEP_TIMEOUT "$@" 2>&1)
	RC=$?
}

# expect_script_runs WANT CMD...: exit 0 and WANT in the output.
expect_script_runs() {
	want=$1
	shift
	script_run "$@"
	if [ $RC -eq 0 ]; then
		case "$OUT" in
		*"$want"*) return 0 ;;
		esac
	fi
	REASON="$*: exit $RC, output: $(flat "$OUT")"
	return 1
}

# expect_script_denied CMD...: the interpreter could not open the script (EPERM) and nothing of it ran.
expect_script_denied() {
	script_run "$@"
	case "$OUT" in
	*"script ran"* | *"python ran"*)
		REASON="$*: the listed script ran: $(flat "$OUT")"
		return 1
		;;
	esac
	if [ -e "$MK" ] || [ $RC -eq 0 ]; then
		REASON="$*: exit $RC, marker $([ -e "$MK" ] && echo written || echo missing): $(flat "$OUT")"
		return 1
	fi
	case "$OUT" in
	*"not permitted"*) return 0 ;;
	esac
	REASON="$*: failed, but not with EPERM: exit $RC, $(flat "$OUT")"
	return 1
}

# The kernel hashes what an interpreter reads in lsm-hash from 6.9 on (file_post_open).
interp_sync() { [ "$EXPECT_TIER" = lsm-hash ] && grep -q ' bpf_lsm_file_post_open$' /proc/kallsyms; }

# until_denied CMD...: refused at once where the kernel hashes what an interpreter reads; elsewhere an
# unseen script may run once while the daemon classifies it (docs/threat-model.md).
until_denied() {
	interp_sync && {
		expect_script_denied "$@"
		return
	}
	i=0
	while ! expect_script_denied "$@"; do
		i=$((i + 1))
		[ $i -ge $((STEP_TIMEOUT * 10)) ] && return 1
		sleep 0.1
	done
	[ $i -gt 0 ] && note "$*: denied after $i attempts (tier $EXPECT_TIER)"
	return 0
}

# hold_open FILE: where the kernel does not hash what an interpreter reads, a first read that holds FILE
# open for a while: the report of it reaches embargod, which finds the file among the reader's open
# files where the kernel could not name it (5.10: no bpf_d_path), and classifies it.
hold_open() { interp_sync || timeout $STEP_TIMEOUT dash -c "exec 3<$1; sleep 2" >/dev/null 2>&1; }

have_dash() {
	command -v dash >/dev/null && return 0
	REASON="no dash in this guest (tools/vmtest installs the build machine's)"
	return 3
}

t_script_sh_denied() {
	have_dash || return
	write_script /tmp/unlisted.sh unlisted
	expect_script_runs "unlisted script ran" dash /tmp/unlisted.sh || return 1
	mark_log
	until_denied dash $SCRIPT_LISTED || return 1
	wait_log 'EMBARGO_ACTION="denied"' 'EMBARGO_HOOK="read"' "EMBARGO_PATH=\"$SCRIPT_LISTED\"" \
		"EMBARGO_RULE=\"$POL:$RULE_SCRIPT\""
}

# sh < script: the shell that redirects opens it. An interpreter's open is decided; anyone's open of a
# file known to be listed (as it is since script-sh-denied) is refused, busybox sh's too.
t_script_stdin_denied() {
	have_dash || return
	expect_script_runs "unlisted script ran" dash -c 'dash </tmp/unlisted.sh' || return 1
	expect_script_denied dash -c "dash <$SCRIPT_LISTED" || return 1
	expect_script_denied sh -c "dash <$SCRIPT_LISTED"
}

t_script_dot_denied() {
	have_dash || return
	expect_script_runs "unlisted script ran" dash -c '. /tmp/unlisted.sh' || return 1
	expect_script_denied dash -c ". $SCRIPT_LISTED"
}

# A copy made now, never seen: hashed at the interpreter's first read and refused (lsm-hash, 6.9 and
# later), or refused once embargod has classified it.
t_script_fresh_copy_denied() {
	have_dash || return
	write_script /tmp/fresh-unlisted.sh unlisted && write_script /tmp/fresh-listed.sh listed || return 1
	expect_script_runs "unlisted script ran" dash /tmp/fresh-unlisted.sh || return 1
	mark_log
	hold_open /tmp/fresh-listed.sh
	until_denied dash /tmp/fresh-listed.sh || return 1
	wait_log 'EMBARGO_ACTION="denied"' 'EMBARGO_HOOK="read"' 'EMBARGO_PATH="/tmp/fresh-listed.sh"'
}

t_python_denied() {
	command -v python3 >/dev/null || {
		REASON="no python3 in this guest (tools/vmtest installs the build machine's)"
		return 3
	}
	write_py /tmp/unlisted.py unlisted || return 1
	expect_script_runs "unlisted python ran" python3 -S -I /tmp/unlisted.py || return 1
	mark_log
	hold_open $PY_LISTED
	until_denied python3 -S -I $PY_LISTED || return 1
	wait_log 'EMBARGO_ACTION="denied"' 'EMBARGO_HOOK="read"' "EMBARGO_PATH=\"$PY_LISTED\"" \
		"EMBARGO_RULE=\"$POL:$RULE_PY\""
}

# known_lib PATH: the library mapped executable until the daemon knows it (refused at once in lsm-hash).
known_lib() {
	i=0
	while [ "$(tdlopen --mmap-exec "$1" 2>&1)" = "mmap: ok" ]; do
		i=$((i + 1))
		[ $i -ge $((STEP_TIMEOUT * 10)) ] && return 1
		sleep 0.1
	done
	return 0
}

# mprotect_after PATH CMD...: tmprotect maps PATH for reading, CMD runs, then the mapping is made
# executable; OUT is tmprotect's last line.
mprotect_after() {
	f=$1
	shift
	rm -f /tmp/mp.fifo /tmp/mp.out
	mkfifo /tmp/mp.fifo || return 1
	timeout $STEP_TIMEOUT tmprotect "$f" /tmp/mp.fifo >/tmp/mp.out 2>&1 &
	mp=$!
	wait_until 10 grep -q mapped /tmp/mp.out || {
		REASON="tmprotect did not map $f: $(flat "$(cat /tmp/mp.out)")"
		kill $mp 2>/dev/null
		return 1
	}
	"$@"
	echo x >/tmp/mp.fifo
	wait $mp
	OUT=$(tail -n 1 /tmp/mp.out)
}

# A listed library mapped PROT_READ, known meanwhile, then mprotect(PROT_EXEC): refused like its mmap.
t_mprotect_denied() {
	cp $T/unlisted /tmp/mp-unlisted.so || return 1
	mprotect_after /tmp/mp-unlisted.so true || return 1
	[ "$OUT" = "mprotect: ok" ] || {
		REASON="mprotect(PROT_EXEC) of an unlisted file mapping: $(flat "$OUT")"
		return 1
	}
	lib_copy /tmp/mp-listed.so || return 1
	mark_log
	mprotect_after /tmp/mp-listed.so known_lib /tmp/mp-listed.so || return 1
	[ "$OUT" = "mprotect: Operation not permitted (errno 1)" ] || {
		REASON="mprotect(PROT_EXEC) of a listed library mapped PROT_READ: $(flat "$OUT")"
		return 1
	}
	wait_log 'EMBARGO_ACTION="denied"' 'EMBARGO_HOOK="mprotect"' "EMBARGO_SHA256=\"$H_LIB\""
}

# JITs: anonymous memory made executable is not embargo's business.
t_mprotect_anon_allowed() {
	out=$(timeout $STEP_TIMEOUT tmprotect --anon 2>&1)
	[ "$out" = "mprotect: ok" ] || {
		REASON="mprotect(PROT_EXEC) of anonymous memory: $(flat "$out")"
		return 1
	}
}

# execveat(AT_EXECVE_CHECK), 6.14 and later: an interpreter that asks gets exec's answer for its script.
t_exec_check_denied() {
	out=$(timeout $STEP_TIMEOUT texeccheck $T/unlisted 2>&1)
	[ "$out" = "check: unsupported" ] && {
		REASON="this kernel has no AT_EXECVE_CHECK (6.14 and later)"
		return 3
	}
	[ "$out" = "check: ok" ] || {
		REASON="AT_EXECVE_CHECK of the unlisted program: $(flat "$out")"
		return 1
	}
	hash_tier_only "the check of an unseen file is answered before embargod classifies it" || return
	listed_copy /tmp/check-listed || return 1
	mark_log
	out=$(timeout $STEP_TIMEOUT texeccheck /tmp/check-listed 2>&1)
	[ "$out" = "check: Operation not permitted (errno 1)" ] || {
		REASON="AT_EXECVE_CHECK of a fresh copy of the listed program: $(flat "$out")"
		return 1
	}
	wait_log 'EMBARGO_ACTION="denied"' 'EMBARGO_HOOK="exec-check"' 'EMBARGO_PATH="/tmp/check-listed"'
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
	listed_copy /tmp/vendor-b || return 1
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
	# In the lsm tier what the pinned programs enforce alone is the verdict cache, which the start-up
	# scan fills: a kill before it reached $T would test an empty cache (issue 12's first-run window).
	wait_log "Start-up scan done" || return 1
	kill -KILL "$DPID"
	wait "$DPID"
	DPID=
	expect_denied $T/listed || {
		REASON="daemon killed: $REASON"
		return 1
	}
	if [ "$EXPECT_TIER" = lsm-hash ]; then
		# Hashed in the kernel with nobody in userspace: a copy never seen before is refused too.
		listed_copy /tmp/crash-copy && expect_denied /tmp/crash-copy || {
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
	# As in crash-keeps-denial: what is kept in the lsm tier is the cache the start-up scan filled.
	wait_log "Start-up scan done" || return 1
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
		REASON="$REASON; $(enforcers_left)"
		return 1
	}
}

# enforcers_left: what could still decide with no embargod running, for a failure's reason: pins, BPF
# links, embargod processes, fanotify groups.
enforcers_left() {
	printf 'pinned: %s; ' "$(flat "$(ls -R /sys/fs/bpf 2>&1)")"
	command -v bpftool >/dev/null && printf 'links: %s; ' "$(flat "$(bpftool link show 2>&1)")"
	printf 'embargod processes: %s; ' "$(flat "$(ps 2>&1 | grep '[e]mbargod')")"
	printf 'listed %s; ' "$([ "$(sha $T/listed)" = "$H_LISTED" ] && echo unchanged || echo CHANGED)"
	prog_run $T/unlisted
	printf 'unlisted: exit %s %s; ' "$RC" "$(flat "$OUT")"
	printf 'dmesg: %s; ' "$(flat "$(dmesg 2>&1 | tail -n 4)")"
	printf 'fanotify groups in: %s' "$(flat "$(for f in /proc/[0-9]*/fd/*; do
		[ "$(readlink "$f" 2>/dev/null)" = 'anon_inode:[fanotify]' ] && echo "$f"
	done)")"
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

# run_held PATH: runs PATH with its marker a FIFO, so that it stays alive (its exe and mount namespace can
# be read) until the marker is read a second later. RC its exit status.
run_held() {
	rm -f /tmp/hold.fifo && mkfifo /tmp/hold.fifo
	MARKER=/tmp/hold.fifo "$@" >/dev/null 2>&1 &
	hp=$!
	sleep 1
	cat /tmp/hold.fifo >/dev/null 2>&1 &
	cp=$!
	wait $hp
	RC=$?
	kill $cp 2>/dev/null
	wait $cp 2>/dev/null
	rm -f /tmp/hold.fifo
}

# An identity rule (path): the file is not listed by digest; embargod identifies it (at its first use in
# the lsm-hash tier, which the kernel allows and hands over) and learns its digest, so that from then on
# the kernel refuses it, and a copy of it elsewhere on its very first exec. The directory is root's
# (names in a directory others can write teach nothing), the process alive while it is classified (its
# mount namespace must be seen to be the initial one).
# learn_by_path FILE: runs FILE (under the path rule) held alive until it is refused: identified, learned.
learn_by_path() {
	i=0
	while :; do
		run_held "$1"
		prog_run "$1"
		[ $RC -eq 200 ] && break
		i=$((i + 1))
		[ $i -ge 20 ] && {
			REASON="$1 under the path rule was never refused: exit $RC, $(flat "$OUT")"
			return 1
		}
	done
	[ $i -gt 0 ] && note "$1: refused after $i allowed run(s) (identified after its first use)"
	return 0
}

t_identity_path_learned() {
	mkdir -p /opt/pathvendor
	cp $T/unlisted /opt/pathvendor/engine && printf 'P' >>/opt/pathvendor/engine
	mark_log
	# Copied before it is learned: once it is, no one but embargod may read it.
	cp /opt/pathvendor/engine /tmp/copy-of-engine && ENGINE_SHA=$(sha /opt/pathvendor/engine) || return 1
	learn_by_path /opt/pathvendor/engine || return 1
	wait_log "Identified /opt/pathvendor/engine as Pathvendor's" || return 1
	# lsm-hash: the kernel knows the learned digest, the copy is refused on its first exec; lsm: no
	# in-kernel hashing, the copy may run once while embargod classifies it.
	expect_denied_first /tmp/copy-of-engine
}

# A reload keeps what identity rules taught, and their cached matches: the first exec after it is
# refused (in the lsm tier a dropped match would let it run once before it is classified again).
t_reload_keeps_learned() {
	mkdir -p /opt/pathvendor
	cp $T/unlisted /opt/pathvendor/engine2 && printf 'Q' >>/opt/pathvendor/engine2
	h=$(sha /opt/pathvendor/engine2)
	learn_by_path /opt/pathvendor/engine2 || return 1
	out=$(ctl reload 2>&1) || {
		REASON="embargoctl reload: $out"
		return 1
	}
	expect_denied /opt/pathvendor/engine2 || {
		REASON="after a reload: $REASON"
		return 1
	}
	ctl learned list | grep -q "^$h " || {
		REASON="the learned digest was dropped by the reload"
		return 1
	}
}

# learned_has SHA: the daemon's learned set (embargoctl learned list, or its state file) holds SHA.
learned_has() {
	ctl learned list 2>/dev/null | grep -q "^$1 " && return 0
	grep -q "^$1 " /var/lib/embargo/learned 2>/dev/null
}

# A path rule over a directory anyone can write, and the dynamic loader copied there and run: learning
# its digest would refuse every dynamically linked program. Nothing is learned, the attempt is reported.
t_learn_writable_dir() {
	mkdir -p /tmp/dropbox && chmod 1777 /tmp/dropbox
	cp /lib64/ld-linux-x86-64.so.2 /tmp/dropbox/ld.so
	h=$(sha /lib64/ld-linux-x86-64.so.2)
	mark_log
	run_held /tmp/dropbox/ld.so $T/unlisted
	sleep 1
	learned_has "$h" && {
		REASON="the loader's digest was learned from /tmp/dropbox/ld.so"
		return 1
	}
	expect_runs $T/unlisted unlisted || return 1
	wait_log "a possible attack on learning" "/tmp/dropbox/ld.so" || return 1
	grep -q "Identified /tmp/dropbox/ld.so" "$LOG" && {
		REASON="the loader's copy was identified and its digest learned"
		return 1
	}
	return 0
}

# A name seen through the caller's own mount namespace: /opt bind-mounted over in a namespace of its own
# fakes /opt/kaspersky/ (and /proc/PID/exe names the file as that namespace sees it). The path rule does
# not apply there: nothing is learned.
t_learn_foreign_mntns() {
	mkdir -p /opt/kaspersky /tmp/fakeopt/kaspersky
	cp $T/unlisted /tmp/fakeopt/kaspersky/engine && printf 'K' >>/tmp/fakeopt/kaspersky/engine
	cp /tmp/fakeopt/kaspersky/engine /tmp/fake-engine
	mark_log
	rm -f /tmp/hold.fifo && mkfifo /tmp/hold.fifo
	unshare -m --propagation private sh -c "mount --bind /tmp/fakeopt /opt &&
		MARKER=/tmp/hold.fifo exec /opt/kaspersky/engine" >/dev/null 2>&1 &
	hp=$!
	sleep 1
	cat /tmp/hold.fifo >/dev/null 2>&1
	wait $hp
	rm -f /tmp/hold.fifo
	sleep 1
	grep -q "Identified /opt/kaspersky/" "$LOG" && {
		REASON="the file was identified by a name of another mount namespace"
		return 1
	}
	expect_runs /tmp/fake-engine unlisted
}

# The file rewritten in place between the kernel's event and the daemon's classification (the daemon's
# loop held by a silent control client): the kernel hashed the old content, the daemon identifies the new.
# The learned digest is that of what was identified, or nothing; never the kernel's of other content.
t_learn_rewritten() {
	cp $T/unlisted /opt/pathvendor/rw && printf 'A' >>/opt/pathvendor/rw
	cp /opt/pathvendor/rw /tmp/rw.a
	cp $T/unlisted /tmp/rw.b && printf 'B' >>/tmp/rw.b
	ha=$(sha /opt/pathvendor/rw)
	tstall $RD/control.sock 2 &
	sp=$!
	sleep 0.2
	prog_run /opt/pathvendor/rw
	cat /tmp/rw.b >/opt/pathvendor/rw
	wait $sp
	sleep 1
	learned_has "$ha" && {
		REASON="the kernel's digest of the old content was learned from the rewritten file"
		return 1
	}
	# A copy of the old content, never under the rule: refused only if its digest was learned.
	expect_runs /tmp/rw.a unlisted || {
		REASON="the kernel's digest of the old content was learned: $REASON"
		return 1
	}
}

# Classification leaves the event loop: while embargod hashes a file that takes seconds (1.5 GiB, sparse),
# the control socket still answers at once. Tier lsm only (VM_TIER=lsm): in lsm-hash the kernel hashes
# such a file itself at the exec first, unbounded on this kernel (issue 11, section 3).
t_classify_off_loop() {
	rm -f /tmp/big.bin
	dd if=/dev/zero of=/tmp/big.bin bs=1 count=0 seek=1536M 2>/dev/null && chmod +x /tmp/big.bin || {
		REASON="cannot make a sparse file"
		return 1
	}
	before=$(ctl status --json | sed -n 's/.*"classified_in_userspace":\([0-9]*\).*/\1/p')
	prog_run /tmp/big.bin
	out=$(embargoctl --runtime-dir "$RD" --timeout 1000 status --json 2>&1) || {
		REASON="status did not answer within 1 s while a file was being classified: $(flat "$out")"
		rm -f /tmp/big.bin
		return 1
	}
	i=0
	while [ $i -lt 100 ]; do
		after=$(ctl status --json | sed -n 's/.*"classified_in_userspace":\([0-9]*\).*/\1/p')
		[ "${after:-0}" -gt "${before:-0}" ] && break
		sleep 0.2
		i=$((i + 1))
	done
	rm -f /tmp/big.bin
	note "classify-off-loop: classified $before -> $after"
}

# The learned set is capped; embargoctl learned list shows it and learned forget is the way out.
t_learned_forget() {
	h=$ENGINE_SHA
	ctl learned list | grep -q "^$h .*/opt/pathvendor/engine" || {
		REASON="learned list does not show the engine's digest: $(flat "$(ctl learned list 2>&1)")"
		return 1
	}
	ctl status --json | grep -q '"learned":{"count":[1-9][0-9]*,"max":' || {
		REASON="status has no learned count and max"
		return 1
	}
	ctl learned forget "$h" >/dev/null || {
		REASON="learned forget $h failed"
		return 1
	}
	ctl learned list | grep -q "^$h " && {
		REASON="the digest is still listed after forget"
		return 1
	}
	grep -q "^$h " /var/lib/embargo/learned && {
		REASON="the digest is still in the state file after forget"
		return 1
	}
	expect_runs /tmp/copy-of-engine unlisted
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
	# Known since the scan: refused at its open already (hook read), or at finit_module.
	[ "$out" = "finit_module: Operation not permitted (errno 1)" ] || [ "$out" = "open: Operation not permitted (errno 1)" ] || {
		[ "$out" = "finit_module: ok" ] && tfinit -r nls_iso8859_1 >/dev/null 2>&1
		REASON="the module signed by the vendor's key was not refused: $out"
		return 1
	}
	wait_log 'EMBARGO_ACTION="denied"' 'EMBARGO_VENDOR="Signer"' 'EMBARGO_LABEL="signer-org'
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
		# Known since the scan: refused at its open already (hook read).
		[ "$out" = "open: Operation not permitted (errno 1)" ] && break
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
	wait_log 'EMBARGO_ACTION="denied"' "EMBARGO_SHA256=\"$H_MOD\"" \
		"EMBARGO_RULE=\"$POL:$RULE_MOD\""
}

# ------------------------------------------- issue 11: honest caches, bounded hashes, lost events

PLAIN_POL=/tmp/plain.policy
HARD_CONF=/tmp/hard.conf

# hash_tier_only: 3 (SKIP) outside the in-kernel hashing tier, where an unseen file runs once anyway
# (these tests prove a clean verdict is not trusted for content it was not made on).
hash_tier_only() {
	[ "$EXPECT_TIER" = lsm-hash ] && return 0
	REASON="tier $EXPECT_TIER decides unseen files in userspace, after they ran: $1"
	return 3
}

# A daemon without identity rules (no clean file is handed to embargod, whose look-up of a memfd by name
# would fail and drop the cached verdict, hiding what the cache kept) and with max_hash_size_mib 1.
t_cache_daemon() {
	stop_daemon
	printf 'vendor "Listed"\nsha256 %s label "listed test program"\n' "$H_LISTED" >$PLAIN_POL
	printf 'max_hash_size_mib 1\ninterpreters /usr/bin/dash\n' >$HARD_CONF
	start_daemon $PLAIN_POL --config $HARD_CONF --no-self-protection
}

# A memfd of zeros is decided clean; the listed bytes written through a shared mapping move no ctime and
# take no open: executing it must still be refused (files on internal mounts are never cached).
t_memfd_shared_write_denied() {
	hash_tier_only "a memfd cannot be looked up by name" || return
	N=$((N + 1))
	MK=/tmp/marker.$N
	listed_copy /tmp/memfd-src || return 1
	OUT=$(MARKER=$MK timeout $STEP_TIMEOUT tcache memfd /tmp/memfd-src 2>&1)
	RC=$?
	[ $RC -eq 200 ] && [ "$OUT" = "trun: execve: Operation not permitted (errno 1)" ] && [ ! -e "$MK" ] && return 0
	REASON="the listed bytes written into a memfd decided clean ran: exit $RC, $(flat "$OUT"), marker $([ -e "$MK" ] && echo written || echo missing)"
	return 1
}

# truncate(2) by name takes no open: appended junk is decided clean, truncating back to the listed bytes
# within one timestamp tick keeps the ctime, and the next executable mapping must still be refused.
t_truncate_restore_denied() {
	hash_tier_only "the restored file would run once there anyway" || return
	listed_copy /tmp/trunc-listed || return 1
	out=$(timeout $STEP_TIMEOUT tcache truncate /tmp/trunc-listed "$(stat -c %s $T/listed)" 2>&1)
	rc=$?
	note "truncate-restore-denied: $(flat "$out")"
	[ $rc -eq 0 ] && return 0
	REASON="exit $rc: $(flat "$out")"
	return 1
}

# le64 N: N's 8 bytes, little-endian, as bpftool takes them.
le64() {
	i=0
	while [ $i -lt 8 ]; do
		printf '0x%02x ' $((($1 >> (8 * i)) & 255))
		i=$((i + 1))
	done
}

# A pending verdict whose classification never came (planted here with bpftool over a known match, as a
# lost classification would leave it) lets the file run; embargod sweeps it once older than the TTL, and
# the kernel decides the file again (lsm tier: reports it again, and embargod classifies it).
t_pending_swept() {
	command -v bpftool >/dev/null || {
		REASON="no bpftool in the guest"
		return 3
	}
	listed_copy /tmp/pending-listed || return 1
	mark_log
	expect_denied_first /tmp/pending-listed || return 1
	wait_log 'EMBARGO_PATH="/tmp/pending-listed"' || return 1
	line=$(tail -c +$((LOGOFF + 1)) "$LOG" | grep -F 'EMBARGO_PATH="/tmp/pending-listed"' | head -n1)
	maj=$(echo "$line" | sed -n 's/.*EMBARGO_DEVICE="\([0-9]*\):.*/\1/p')
	min=$(echo "$line" | sed -n 's/.*EMBARGO_DEVICE="[0-9]*:\([0-9]*\)".*/\1/p')
	ino=$(echo "$line" | sed -n 's/.*EMBARGO_INODE="\([0-9]*\)".*/\1/p')
	key="$(le64 $(((maj << 20) | min)))$(le64 "$ino")"
	map=/sys/fs/bpf/embargo/map-verdicts
	# shellcheck disable=SC2086 # key: separate bytes
	val=$(bpftool -j map lookup pinned $map key $key 2>&1 | sed -n 's/.*"value":\[\([^]]*\)\].*/\1/p' | tr -d '"' | tr ',' ' ')
	[ -n "$val" ] || {
		REASON="no cached verdict for /tmp/pending-listed (key $key)"
		return 1
	}
	# The verdict byte (offset 22) PENDING, stored_ns (24..31) now (CLOCK_MONOTONIC, the guest's uptime):
	# fresh, so that it lets the file run until the sweep finds it older than the TTL.
	now=$(awk '{ split($1, t, "."); printf "%d%02d0000000\n", t[1], t[2] }' /proc/uptime)
	stamp=$(le64 "$now")
	new=$(echo "$val" | awk -v stamp="$stamp" '{ n = split(stamp, b, " ")
		for (i = 1; i <= NF; i++) { if (i == 23) $i = "0x03"; if (i >= 25 && i - 24 <= n) $i = b[i - 24] }
		print }')
	# shellcheck disable=SC2086
	out=$(bpftool map update pinned $map key $key value $new 2>&1) || {
		REASON="bpftool map update: $out"
		return 1
	}
	# Under the fanotify hold an exec does not trust a PENDING entry (the hold decides it, and the file is
	# refused at its first exec): the kernel's own trust in it shows at an executable mapping, which is
	# not held.
	if hold_active; then
		pending_swept_mapped "$map" "$key" || return 1
		expect_denied /tmp/pending-listed
		return
	fi
	expect_runs /tmp/pending-listed listed || {
		REASON="with a planted pending verdict: $REASON"
		return 1
	}
	i=0
	while ! expect_denied /tmp/pending-listed; do
		i=$((i + 1))
		[ $i -ge 200 ] && {
			REASON="the stale pending verdict still lets it run: $REASON"
			return 1
		}
		sleep 0.1
	done
	note "pending-swept: refused again after $i run(s)"
}

# pending_swept_mapped MAP KEY: the planted PENDING lets /tmp/pending-listed be mapped executable, and the
# sweep drops it once older than the TTL. (On 5.10 the kernel's report of a mapping by a process gone at
# once cannot be classified, no bpf_d_path: the entry itself is watched, not the next mapping.)
pending_swept_mapped() {
	out=$(timeout $STEP_TIMEOUT tcache mapexec /tmp/pending-listed 2>&1)
	[ "$out" = "mmap: ok" ] || {
		REASON="with a planted pending verdict, mmap(PROT_EXEC) of /tmp/pending-listed: $(flat "$out")"
		return 1
	}
	PS_MAP=$1
	PS_KEY=$2
	wait_until 20 pending_gone || {
		REASON="the planted pending verdict was not swept within 20 s"
		return 1
	}
	note "pending-swept: the planted pending verdict was swept (fanotify hold: checked through a mapping)"
}

# pending_gone: the verdict for PS_KEY in PS_MAP is no longer PENDING (byte 22), or gone.
pending_gone() {
	# shellcheck disable=SC2086 # PS_KEY: separate bytes
	v=$(bpftool -j map lookup pinned $PS_MAP key $PS_KEY 2>/dev/null | sed -n 's/.*"value":\[\([^]]*\)\].*/\1/p' | tr -d '"' | tr ',' ' ')
	[ -z "$v" ] || [ "$(echo "$v" | awk '{ print $23 }')" != 0x03 ]
}

# Above max_hash_size_mib (1 here) a file is not hashed: refused in enforce mode and reported with its
# size, allowed and reported in audit mode; both LSM tiers (the lsm tier refuses it in the kernel, before
# embargod would hash it).
t_huge_file_denied() {
	cp $T/unlisted /tmp/huge && truncate -s 2M /tmp/huge || {
		REASON="cannot make /tmp/huge"
		return 1
	}
	mark_log
	expect_denied /tmp/huge || return 1
	wait_log 'EMBARGO_ACTION="denied"' 'EMBARGO_FILE_SIZE="2097152"' 'EMBARGO_PATH="/tmp/huge"' \
		'EMBARGO_NOTE="2097152 bytes, above max_hash_size_mib (1 MiB)' || return 1
	out=$(timeout $STEP_TIMEOUT tcache mapexec /tmp/huge 2>&1)
	[ "$out" = "mmap: Operation not permitted (errno 1)" ] || {
		REASON="mmap(PROT_EXEC) of the large file: $(flat "$out")"
		return 1
	}
	ctl mode audit >/dev/null 2>&1 || return 1
	mark_log
	expect_runs /tmp/huge unlisted
	r=$?
	ctl mode enforce >/dev/null 2>&1
	[ $r -eq 0 ] || return 1
	wait_log 'EMBARGO_ACTION="audited"' 'EMBARGO_FILE_SIZE="2097152"' 'EMBARGO_PATH="/tmp/huge"'
}

# A 2^62-byte sparse memfd mapped executable is refused at once, not read to its end.
t_bigmemfd_bounded() {
	out=$(timeout $STEP_TIMEOUT tcache bigmemfd 2>&1)
	rc=$?
	case "$out" in
	"bigmemfd: Operation not permitted, 0."*) return 0 ;;
	esac
	REASON="exit $rc: $(flat "$out")"
	return 1
}

# A file the kernel cannot hash (opened with O_DIRECT: IMA refuses to hash it) is refused in enforce
# mode and reported. tmpfs takes O_DIRECT from 6.6 on; older kernels have no file system for it here.
t_hash_failure_denied() {
	hash_tier_only "no in-kernel hash to fail" || return
	mkdir -p /tmp/odirect && mount -t tmpfs none /tmp/odirect && cp $T/unlisted /tmp/odirect/f || return 1
	mark_log
	out=$(timeout $STEP_TIMEOUT tcache mapexec /tmp/odirect/f odirect 2>&1)
	rc=$?
	if [ $rc -eq 3 ]; then
		umount /tmp/odirect
		REASON="tmpfs here has no O_DIRECT ($(flat "$out"))"
		return 3
	fi
	[ "$out" = "mmap: Operation not permitted (errno 1)" ] || {
		umount /tmp/odirect
		REASON="mmap(PROT_EXEC) through an O_DIRECT descriptor: $(flat "$out")"
		return 1
	}
	wait_log 'EMBARGO_ACTION="denied"' 'EMBARGO_PATH="/tmp/odirect/f"' 'EMBARGO_NOTE="the kernel could not hash it'
	r=$?
	umount /tmp/odirect
	return $r
}

# The ring buffer full (embargod stopped while thousands of unseen files are mapped): the use of a file an
# identity rule names is lost with it; it must not stay allowed forever. Once embargod reads again the file
# is reported at its next use, identified and refused; the drops are in the log and in status.
t_flood_not_forever() {
	stop_daemon
	start_daemon "$POL" --no-self-protection || return 1
	hold_active && HOLD=1 || HOLD=0
	mkdir -p /opt/pathvendor /tmp/flood
	cp $T/unlisted /opt/pathvendor/flood-engine && printf 'F' >>/opt/pathvendor/flood-engine || return 1
	mark_log
	# Under the fanotify hold every exec the new daemon's group has no ignore mark for (timeout, tcache)
	# waits for it: it is not stopped there, and the engine must be refused at its first run.
	[ $HOLD = 1 ] || kill -STOP "$DPID"
	out=$(timeout 300 tcache mapmany /tmp/flood 2500 2>&1)
	prog_run /opt/pathvendor/flood-engine
	first=$RC
	[ $HOLD = 1 ] || kill -CONT "$DPID"
	[ $HOLD = 1 ] && [ $first -ne 200 ] && {
		REASON="under the fanotify hold the engine ran at its first exec after the flood: exit $first"
		return 1
	}
	note "flood-not-forever: $(flat "$out"); the engine's first run: exit $first"
	i=0
	while :; do
		prog_run /opt/pathvendor/flood-engine
		[ $RC -eq 200 ] && break
		i=$((i + 1))
		[ $i -ge 600 ] && {
			REASON="the file under the path rule still runs 60 s after the flood: exit $RC, $(flat "$OUT")"
			return 1
		}
		sleep 0.1
	done
	note "flood-not-forever: refused after $i more run(s)"
	# With the daemon reading on, the flood need not fill the ring buffer.
	[ $HOLD = 1 ] && return 0
	wait_log 'kernel events were lost: the ring buffer was full' || return 1
	status_has '*"ringbuf_drops":[1-9]*' "ring buffer drops"
}

# ------------------------------------------------------------------ the fanotify hold (hybrid.c, issue 12)
# In tier lsm (no in-kernel hashing) every unclassified exec waits for embargod's hash; in lsm-hash the
# policy's strict vendors with identity rules (Pathvendor, Signer, ...: strict by default) bring the same
# hold. Each case has its unlisted twin, which must run.

t_hold_status() {
	status_has '*"mechanism":"'$EXPECT_TIER'+fanotifyholdforunclassifiedfiles"*"hold":{"active":true*' \
		"the fanotify hold" || return 1
	status_has '*"first_exec_window":false*' "no first-exec window" || return 1
	ctl status | grep -q "^Mechanism: *$EXPECT_TIER + fanotify hold" || {
		REASON="text status names no mechanism: $(flat "$(ctl status 2>&1)")"
		return 1
	}
	grep -qF "Mechanism: $EXPECT_TIER + fanotify hold for unclassified files. Why: " "$LOG" || {
		REASON="the journal does not name the mechanism"
		return 1
	}
}

# A fresh copy of the listed program: refused at its very first exec (no retries).
t_hold_fresh_copy_denied() {
	listed_copy /tmp/hold-copy || return 1
	mark_log
	expect_denied /tmp/hold-copy || return 1
	wait_log 'EMBARGO_ACTION="denied"' 'EMBARGO_HOOK="exec"' 'EMBARGO_PATH="/tmp/hold-copy"' \
		'EMBARGO_VENDOR="Listed"'
}

# Unlisted fresh files run (and again: the second exec skips the hold on an ignore mark).
t_hold_unlisted_runs() {
	cp $T/unlisted /tmp/hold-fresh && printf 'F' >>/tmp/hold-fresh || return 1
	expect_runs /tmp/hold-fresh unlisted || return 1
	expect_runs /tmp/hold-fresh unlisted || return 1
	status_has '*"ignore_marks_added":[1-9]*' "ignore marks added"
}

t_hold_execveat() {
	listed_copy /tmp/hold-at && cp $T/unlisted /tmp/hold-at-ok && printf 'E' >>/tmp/hold-at-ok || return 1
	OUT=$(MARKER=/tmp/hold-at.mk timeout $STEP_TIMEOUT thold execveat /tmp/hold-at-ok 2>&1)
	[ $? -eq 0 ] || {
		REASON="execveat of an unlisted fresh file: $(flat "$OUT")"
		return 1
	}
	OUT=$(MARKER=/tmp/hold-at.mk2 timeout $STEP_TIMEOUT thold execveat /tmp/hold-at 2>&1)
	[ "$OUT" = "trun: execve: Operation not permitted (errno 1)" ] || {
		REASON="execveat of a fresh listed copy: $(flat "$OUT")"
		return 1
	}
}

# O_TMPFILE then linkat, and an O_TMPFILE never linked, run through execveat.
t_hold_tmpfile() {
	rm -f /tmp/hold-tmp /tmp/hold-tmp-ok
	# A fresh source: reading the known listed file itself is refused.
	listed_copy /tmp/hold-src || return 1
	thold tmpfile /tmp /tmp/hold-src /tmp/hold-tmp && thold tmpfile /tmp $T/unlisted /tmp/hold-tmp-ok || {
		REASON="O_TMPFILE + linkat failed"
		return 1
	}
	expect_runs /tmp/hold-tmp-ok unlisted || return 1
	expect_denied /tmp/hold-tmp || return 1
	OUT=$(MARKER=/tmp/hold-tmpx.mk timeout $STEP_TIMEOUT thold tmpexec /tmp /tmp/hold-src 2>&1)
	[ "$OUT" = "trun: execve: Operation not permitted (errno 1)" ] || {
		REASON="unlinked O_TMPFILE copy of the listed program: $(flat "$OUT")"
		return 1
	}
	OUT=$(MARKER=/tmp/hold-tmpx.mk timeout $STEP_TIMEOUT thold tmpexec /tmp $T/unlisted 2>&1)
	[ "$OUT" = "unlisted ran" ] || {
		REASON="unlinked O_TMPFILE copy of an unlisted program: $(flat "$OUT")"
		return 1
	}
}

# A chroot (the same file system, another root) and a mount namespace of its own.
t_hold_chroot_ns() {
	r=/tmp/hold-root
	mkdir -p $r/lib64 $r/lib/x86_64-linux-gnu $r/usr/lib/x86_64-linux-gnu
	for l in /lib64/ld-linux-x86-64.so.2 /lib/x86_64-linux-gnu/libc.so.6 /usr/lib/x86_64-linux-gnu/libc.so.6; do
		[ -e $l ] && cp $l $r$l
	done
	listed_copy $r/l && cp $T/unlisted $r/u && printf 'C' >>$r/u || return 1
	out=$(MARKER=/hold-c.mk timeout $STEP_TIMEOUT chroot $r /u 2>&1)
	[ "$out" = "unlisted ran" ] || {
		REASON="unlisted fresh file in a chroot: $(flat "$out")"
		return 1
	}
	out=$(MARKER=/hold-c.mk timeout $STEP_TIMEOUT chroot $r /l 2>&1)
	case "$out" in
	*"Operation not permitted"*) ;;
	*)
		REASON="fresh listed copy in a chroot: $(flat "$out")"
		return 1
		;;
	esac
	listed_copy /tmp/hold-ns && cp $T/unlisted /tmp/hold-ns-ok && printf 'N' >>/tmp/hold-ns-ok || return 1
	out=$(unshare -m --propagation private sh -c 'MARKER=/tmp/hold-ns.mk trun /tmp/hold-ns-ok; MARKER=/tmp/hold-ns.mk2 trun /tmp/hold-ns' 2>&1)
	[ "$out" = "unlisted ran
trun: execve: Operation not permitted (errno 1)" ] || {
		REASON="in a mount namespace of its own: $(flat "$out")"
		return 1
	}
}

# A clean file that ran (ignore mark) rewritten in place with the listed bytes; another replaced by rename.
t_hold_rewrite_rename() {
	cp $T/unlisted /tmp/hold-rw && printf 'W' >>/tmp/hold-rw || return 1
	expect_runs /tmp/hold-rw unlisted && expect_runs /tmp/hold-rw unlisted || return 1
	trewrite --invert $T/listed.inv /tmp/hold-rw || return 1
	expect_denied /tmp/hold-rw || {
		REASON="rewritten in place: $REASON"
		return 1
	}
	cp $T/unlisted /tmp/hold-mv && printf 'M' >>/tmp/hold-mv || return 1
	expect_runs /tmp/hold-mv unlisted && expect_runs /tmp/hold-mv unlisted || return 1
	listed_copy /tmp/hold-mv.new && mv /tmp/hold-mv.new /tmp/hold-mv || return 1
	expect_denied /tmp/hold-mv || {
		REASON="replaced by rename: $REASON"
		return 1
	}
	# And back: a fresh unlisted file renamed over it runs.
	cp $T/unlisted /tmp/hold-mv.new && printf 'B' >>/tmp/hold-mv.new && mv /tmp/hold-mv.new /tmp/hold-mv
	expect_runs /tmp/hold-mv unlisted
}

# Only a path rule names the file (no digest anywhere): refused at its first exec, identified while held.
t_hold_identity_first() {
	mkdir -p /opt/pathvendor
	cp $T/unlisted /opt/pathvendor/held && printf 'H' >>/opt/pathvendor/held || return 1
	mark_log
	expect_denied /opt/pathvendor/held || return 1
	wait_log "Identified /opt/pathvendor/held as Pathvendor's" || return 1
	# The twin outside the rule's directory runs. Made from the unlisted material: once identified, the
	# held file is known listed and reading it (cp) is refused.
	cp $T/unlisted /tmp/held-twin && printf 'HT' >>/tmp/held-twin || {
		REASON="cannot make the twin /tmp/held-twin"
		return 1
	}
	expect_runs /tmp/held-twin unlisted
}

# The daemon killed: the fanotify group dies with it, nothing waits for it; the pinned programs go on.
t_hold_daemon_killed() {
	stop_daemon
	start_daemon "$POL" --no-self-protection || return 1
	wait_log "Start-up scan done" || return 1
	kill -KILL "$DPID"
	wait "$DPID"
	DPID=
	cp $T/unlisted /tmp/hold-dead && printf 'D' >>/tmp/hold-dead || return 1
	t0=$(cut -d' ' -f1 /proc/uptime)
	expect_runs /tmp/hold-dead unlisted || {
		REASON="daemon killed, fresh unlisted file: $REASON"
		return 1
	}
	note "hold-daemon-killed: a fresh file ran $(awk "BEGIN{print $(cut -d' ' -f1 /proc/uptime) - $t0}") s after the kill"
	expect_denied $T/listed || {
		REASON="daemon killed: $REASON"
		return 1
	}
	start_daemon "$POL"
}

# What the hold costs (run only when named in embargo_tests): a compile-and-run loop (4 execs of a known
# dynamically linked program standing in for cc, cc1, as and ld, then a fresh a.out written and run) and
# an install of 1,000 files (written, renamed into place, 3 of them run), without embargod (0), with it
# (1), and with it holding only /run, a file system the loops do not touch (2: the tier without the
# hold's cost), in alternating rounds. Per-iteration medians.
t_hold_bench() {
	hb_n=${embargo_bench_cc:-1000}
	files=${embargo_bench_files:-1000}
	mkdir -p /tmp/hb
	for r in 1 2; do
		for with in 0 1 2; do
			stop_daemon
			if [ $with != 0 ]; then
				# shellcheck disable=SC2046 # no option, or one
				start_daemon "$POL" $([ $with = 2 ] && echo --fanotify-path=/run) || return 1
				wait_log "Start-up scan done" || return 1
			fi
			cc=$(timeout 600 thold bench-cc "$hb_n" $T/unlisted $T/unlisted /tmp/hb) || {
				REASON="bench-cc: $cc"
				return 1
			}
			rm -rf /tmp/hb/pkg && mkdir -p /tmp/hb/pkg
			inst=$(timeout 600 thold bench-install "$files" $T/unlisted /tmp/hb/pkg) || {
				REASON="bench-install: $inst"
				return 1
			}
			note "hold-bench round=$r embargo=$with $cc $inst"
			[ $with != 0 ] && note "hold-bench status: $(ctl status --json | tr -d ' \n' | grep -o '"hold":{[^}]*}')"
		done
	done
	stop_daemon
	start_daemon "$POL"
}

# ---- running code that a reload or a classification prohibits (issue 12, "Running code")

# uptime_ms: the guest's clock in milliseconds, for how long a kill took.
uptime_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# running_start NAME: a fresh unlisted long-running program (a copy of busybox named sleep, changed by a
# byte so that no policy knows it) and a program mapping a fresh unlisted library; RK_EXE, RK_LIB,
# RK_SPID and RK_LPID are set. Both stop by themselves after 60 s at the latest.
running_start() {
	RK=/tmp/rk-$1
	rm -rf "$RK" && mkdir -p "$RK" || return 1
	RK_EXE=$RK/sleep
	RK_LIB=$RK/librun.so
	# The library from the inverted material: reading the known listed one is refused.
	cp /bin/busybox "$RK_EXE" && printf '%s' "$1" >>"$RK_EXE" && lib_copy "$RK_LIB" &&
		printf '%s' "$1" >>"$RK_LIB" || {
		REASON="cannot make $RK_EXE and $RK_LIB"
		return 1
	}
	"$RK_EXE" 60 &
	RK_SPID=$!
	LIB_MARKER=$RK/lib.ran $T/tdlopen --hold 60 "$RK_LIB" >"$RK/tdlopen.out" 2>&1 &
	RK_LPID=$!
	wait_until 10 test -e "$RK/lib.ran" || {
		REASON="the library of $RK_LIB was not loaded: $(cat "$RK/tdlopen.out")"
		return 1
	}
	kill -0 "$RK_SPID" || {
		REASON="$RK_EXE did not keep running"
		return 1
	}
}

running_cleanup() {
	kill -KILL "$RK_SPID" "$RK_LPID" 2>/dev/null
	wait "$RK_SPID" "$RK_LPID" 2>/dev/null
	[ -f /tmp/policy.before-running ] && cp /tmp/policy.before-running "$POL" && rm -f /tmp/policy.before-running
	ctl reload >/dev/null 2>&1
	return 0
}

# running_list: a reload whose policy lists RK_EXE and RK_LIB.
running_list() {
	cp "$POL" /tmp/policy.before-running
	printf 'vendor "Running"\nsha256 %s label "listed while running"\nsha256 %s label "library listed while mapped"\n' \
		"$(sha "$RK_EXE")" "$(sha "$RK_LIB")" >>"$POL"
	mark_log
	out=$(ctl reload 2>&1) || {
		REASON="embargoctl reload: $out"
		return 1
	}
}

# Enforce mode with kill_running: a reload that lists a running program and a mapped library kills both
# processes (SIGKILL) and names them.
t_running_reload_kill() {
	stop_daemon
	start_daemon "$POL" --kill-running || return 1
	running_start kill || return 1
	t0=$(uptime_ms)
	running_list || {
		running_cleanup
		return 1
	}
	wait "$RK_SPID"
	st=$?
	t1=$(uptime_ms)
	wait "$RK_LPID"
	lst=$?
	note "running-reload-kill: reload to SIGKILL of the listed program in $((t1 - t0)) ms (embargoctl reload included)"
	[ $st -eq 137 ] && [ $lst -eq 137 ] || {
		REASON="after the reload: $RK_EXE exit $st, tdlopen mapping $RK_LIB exit $lst (137 expected: SIGKILL)"
		running_cleanup
		return 1
	}
	wait_log 'Prohibited code running' "runs $RK_EXE: Running" 'killed (kill_running)' \
		"EMBARGO_PATH=\"$RK_EXE\"" "EMBARGO_PID=\"$RK_SPID\"" 'EMBARGO_FOUND_BY="policy reload' || {
		running_cleanup
		return 1
	}
	wait_log 'Prohibited code running' "EMBARGO_PATH=\"$RK_LIB (mapped)\"" "EMBARGO_PID=\"$RK_LPID\"" \
		'killed (kill_running)' || {
		running_cleanup
		return 1
	}
	log_has 'Searched the running processes (policy reload' && note "$(tail -c +$((LOGOFF + 1)) "$LOG" | grep -F 'Searched the running processes' | head -n 1)"
	running_cleanup
}

# Audit mode (kill_running still on): both keep running, both are reported.
t_running_reload_audit() {
	out=$(ctl mode audit 2>&1) || {
		REASON="embargoctl mode audit: $out"
		return 1
	}
	running_start audit || return 1
	running_list || {
		running_cleanup
		return 1
	}
	wait_log 'Prohibited code running' "EMBARGO_PATH=\"$RK_EXE\"" "EMBARGO_PID=\"$RK_SPID\"" || {
		running_cleanup
		return 1
	}
	wait_log 'Prohibited code running' "EMBARGO_PATH=\"$RK_LIB (mapped)\"" "EMBARGO_PID=\"$RK_LPID\"" || {
		running_cleanup
		return 1
	}
	sleep 0.5
	kill -0 "$RK_SPID" && kill -0 "$RK_LPID" || {
		REASON="a reported process did not keep running in audit mode"
		running_cleanup
		return 1
	}
	! log_has 'Prohibited code running' 'killed (kill_running)' || {
		REASON="a process was killed in audit mode"
		running_cleanup
		return 1
	}
	running_cleanup
	ctl mode enforce >/dev/null 2>&1
}

# classified_start DIR TAG: code under the path rule in DIR, started before it is classified; CK_PID its
# process, CK_PATH the file that is identified. Without the hold a program (DIR/sleep) runs at its first
# exec; under the fanotify hold that exec is refused (checked here, the intended behaviour) and what
# still starts unclassified is a library the program maps (DIR/lib.so, dlopen: no exec-open to hold).
classified_start() {
	mkdir -p "$1" && rm -f "$1/sleep" "$1/lib.so" "$1/lib.ran" || return 1
	if ! hold_active; then
		cp /bin/busybox "$1/sleep" && printf '%s' "$2" >>"$1/sleep" || return 1
		"$1/sleep" 30 &
		CK_PID=$!
		CK_PATH=$1/sleep
		return 0
	fi
	cp /bin/busybox "$1/sleep" && printf '%s' "$2" >>"$1/sleep" && lib_copy "$1/lib.so" &&
		printf '%s' "$2" >>"$1/lib.so" || return 1
	prog_run "$1/sleep" 1
	[ $RC -eq 200 ] || {
		REASON="under the fanotify hold $1/sleep ran at its first exec: exit $RC, $(flat "$OUT")"
		return 1
	}
	LIB_MARKER=$1/lib.ran $T/tdlopen --hold 30 "$1/lib.so" >/dev/null 2>&1 &
	CK_PID=$!
	CK_PATH="$1/lib.so (mapped)"
}

# A classification after the first run: code a path rule names ran before embargod identified it; once
# its digest is learned, the running process is found and killed (kill_running, enforce mode).
t_running_classified_kill() {
	mark_log
	classified_start /opt/pathvendor C || {
		REASON=${REASON:-cannot start code under the path rule}
		return 1
	}
	t0=$(uptime_ms)
	pid=$CK_PID
	wait "$pid"
	st=$?
	t1=$(uptime_ms)
	[ $st -eq 137 ] || {
		REASON="$CK_PATH (identified after it started) exit $st, 137 expected (SIGKILL)"
		[ $st -eq 126 ] && REASON="$REASON; refused at its exec: the digest was already known"
		return 1
	}
	note "running-classified-kill: start to SIGKILL in $((t1 - t0)) ms ($CK_PATH)"
	wait_log 'Prohibited code running' "EMBARGO_PATH=\"$CK_PATH\"" "EMBARGO_PID=\"$pid\"" \
		'killed (kill_running)' 'EMBARGO_FOUND_BY="classification"'
}

# A flood of such classifications is searched for in a few walks of /proc, not one each: all are killed.
t_running_classified_flood() {
	n=12
	pids=
	mark_log
	for i in $(seq 1 $n); do
		classified_start /opt/pathvendor/flood$i F$i || {
			REASON=${REASON:-cannot start code under the path rule in /opt/pathvendor/flood$i}
			return 1
		}
		pids="$pids $CK_PID"
	done
	bad=
	unnamed=0
	for p in $pids; do
		wait "$p"
		st=$?
		[ $st -eq 137 ] && continue
		# 5.10 has no bpf_d_path: a mapping the kernel reported before /proc shows it has no name to
		# classify by (threat model: the lsm tier's libraries); it is not what this test is about.
		if log_has "Cannot classify (no path) (pid $p,"; then
			unnamed=$((unnamed + 1))
		else
			bad="$bad $p:$st"
		fi
	done
	[ -z "$bad" ] && [ $unnamed -lt $n ] || {
		REASON="not killed (pid:status):$bad; $unnamed could not be named"
		return 1
	}
	wait_log 'Searched the running processes (classification' || return 1
	walks=$(tail -c +$((LOGOFF + 1)) "$LOG" | grep -cF 'Searched the running processes (classification')
	note "running-classified-flood: $n programs identified after they started ($unnamed could not be named), killed in $walks walks of /proc"
	[ "$walks" -lt $n ] || {
		REASON="$walks walks of /proc for $n classifications: not coalesced"
		return 1
	}
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
	SCRIPT_LISTED=/tmp/listed.sh
	PY_LISTED=/tmp/listed.py
	write_script $SCRIPT_LISTED listed && write_py $PY_LISTED listed
	H_SCRIPT=$(sha $SCRIPT_LISTED)
	H_PY=$(sha $PY_LISTED)
	# busybox is the guest's sh and every applet at once: as an interpreter it would make every cp and
	# cat one. The guest names dash and python3 only.
	mkdir -p /etc/embargo && printf '%s\n' 'interpreters /usr/bin/dash "/usr/bin/python3*"' >/etc/embargo/embargo.conf
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
path /opt/pathvendor/

vendor "Signer"
signer-org "AO Kaspersky Lab"
trust-anchor $T/sig/ca.pem
trust-anchor $T/sig/vendor.pem

vendor "Dropbox"
path /tmp/dropbox/

vendor "Kaspersky"
path /opt/kaspersky/

vendor "Scripts"
sha256 $H_SCRIPT label "listed script"
sha256 $H_PY label "listed python script"
EOF
	RULE_SCRIPT=25
	RULE_PY=26
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
run_test read-known-denied
run_test ld-preload-denied
run_test ldso-exec-denied
run_test unlisted-runs
run_test modified-runs
run_test restored-denied
run_test rewritten-denied
run_test interp-denied
run_test script-sh-denied
run_test script-stdin-denied
run_test script-dot-denied
run_test script-fresh-copy-denied
run_test python-denied
run_test mprotect-denied
run_test mprotect-anon-allowed
run_test exec-check-denied
run_test module-unlisted-loads
run_test module-listed-denied
run_test module-memory-denied
run_test identity-path-learned
run_test learn-writable-dir
run_test learn-foreign-mntns
# Under the hold the file is identified before it runs: nothing is hashed by the kernel first.
if [ "$EXPECT_TIER" = lsm-hash ] && [ -n "$DPID" ] && ! hold_active; then
	run_test learn-rewritten
elif selected learn-rewritten; then
	skip learn-rewritten "the kernel hashes first only in the lsm-hash tier without the fanotify hold"
fi
run_test learned-forget
if [ "$EXPECT_TIER" = lsm ]; then
	run_test classify-off-loop
elif selected classify-off-loop; then
	skip classify-off-loop "tier lsm only (VM_TIER=lsm): in lsm-hash the kernel hashes the file first"
fi
run_test module-signer-denied
run_test runtime-audit
run_test module-memory-audited
# Back to enforce whatever runtime-audit did.
[ -n "$DPID" ] && ctl mode enforce >/dev/null 2>&1
run_test runtime-enforce
run_test vendor-audit-mode
run_test vendor-enforce-mode
if [ -n "$embargo_tests" ]; then
	run_test hold-bench
fi
run_test hold-status
run_test hold-fresh-copy-denied
run_test hold-unlisted-runs
run_test hold-execveat
run_test hold-tmpfile
run_test hold-chroot-ns
run_test hold-rewrite-rename
run_test hold-identity-first
run_test reload-adds
run_test reload-bad-keeps-old
run_test reload-removes
run_test reload-keeps-learned
run_test running-reload-kill
run_test running-classified-kill
run_test running-classified-flood
run_test running-reload-audit
run_test crash-keeps-denial
run_test keep-enforcement
run_test protect-status
run_test protect-signal
run_test protect-ptrace
run_test protect-bpf
run_test protect-pins
run_test protect-link-detach
run_test protect-audit
run_test cache-daemon
run_test memfd-shared-write-denied
run_test truncate-restore-denied
run_test pending-swept
# In the lsm tier the hold decides every unclassified exec in userspace with the same limit: busybox (every
# tool here, 2 MiB) is refused as too large too under cache-daemon's 1 MiB, once its verdict is gone.
if [ "$EXPECT_TIER" = lsm ] && [ -n "$DPID" ] && hold_active; then
	selected huge-file-denied && skip huge-file-denied "under the fanotify hold a 1 MiB max_hash_size_mib refuses this guest's busybox itself"
else
	run_test huge-file-denied
fi
run_test hash-failure-denied
run_test flood-not-forever
# Last: on a kernel that does not bound the hash, this one never returns.
run_test cache-daemon
run_test bigmemfd-bounded
run_test hold-daemon-killed
run_test daemon-stop
DAEMON_REQUIRED=0
run_test detached-after-stop
run_test shipped-policy
# The coverage matrix (docs/coverage.md): this tier, and on the default kernel the detection tier too.
coverage "$EXPECT_TIER"
[ "$EXPECT_TIER" = lsm-hash ] && [ "$(uname -r | cut -d. -f1-2)" = 6.1 ] && coverage detect --tier detect
run_test syscall-filter-quiet
stop_daemon

[ $FAILED -eq 0 ]
