#!/bin/sh
# The coverage matrix's guest half (busybox sh, sourced by tests/vm/guest.sh and
# tests/vm/guest-fanotify.sh after lib.sh; run at the end of their suites, with no daemon running).
# `coverage TIER [EMBARGOD-ARG...]` starts embargod (enforce mode) on a policy that lists a test binary, a
# library, a shell script and a python file, tries every way of getting such code to run, each with an
# unlisted twin made the same way, and prints one line per try for tools/coverage (docs/coverage.md):
#
#   @@ COVERAGE <tier> <case> listed|twin <outcome> <detail>
#
# outcome: refused (the call failed or the process was killed; detail: errno name or signal, and the
# step), reported (the code ran and embargod logged an event naming it), runs (it ran, nothing logged),
# n/a (the guest cannot try it; detail says why), error (the try itself broke). Then the result line
# "coverage-twins-<tier>": PASS when every twin ran, FAIL naming the twins that did not (nothing else
# may ever be blocked).
#
# Every case keeps its files under a directory named cov-<case>-<listed|twin> (known files, made before
# embargod starts, in /opt/cov/; fresh ones, made during the try, in /tmp/), and a memfd is named the
# same: the daemon's events are matched to a try by that name in EMBARGO_PATH.

COV_CASES="exec-path fresh-copy memfd execveat tmpfile tmpfs-mount userns chroot overlay-upper
overlay-lower loop ldso preload dlopen mprotect rewrite rename sh-file sh-stdin sh-dot sh-fresh python"
COV_POL=/tmp/coverage.policy
COV_CONF=/tmp/coverage.conf
COV_PENDING=/tmp/coverage.pending
LDSO=/lib64/ld-linux-x86-64.so.2

# The listed and the twin material of the interpreted cases: same shape, different bytes.
cov_script() { # KIND: prints the shell script
	printf '# embargo coverage: the %s shell script\necho %s script ran\n: >"$MARKER"\n' "$1" "$1"
}
cov_python() { # KIND
	printf '# embargo coverage: the %s python file\nimport os\nprint("%s python ran")\nopen(os.environ["MARKER"], "w").close()\n' "$1" "$1"
}

# cov_fresh KIND DST: a new file with the listed (made from its inverted bytes: no known listed file is
# read, which the fanotify tier refuses) or the twin program's bytes, executable.
cov_fresh() {
	mkdir -p "$(dirname "$2")"
	if [ "$1" = listed ]; then
		trewrite --invert $T/listed.inv "$2"
	else
		cat $T/unlisted >"$2"
	fi && chmod 0755 "$2"
}
cov_fresh_lib() { # KIND DST
	mkdir -p "$(dirname "$2")"
	if [ "$1" = listed ]; then
		trewrite --invert $T/liblisted.so.inv "$2"
	else
		cat $T/libunlisted.so >"$2"
	fi
}
# cov_other DST: a second program that is not listed (the twins' replacement bytes).
cov_other() { cat $T/audited >"$1" && chmod 0755 "$1"; }

# Known material, made before embargod starts (its start-up scan classifies it).
cov_material() {
	rm -rf /opt/cov && mkdir -p /opt/cov || return 1
	for k in listed twin; do
		d=/opt/cov/cov-exec-path-$k
		mkdir -p $d /opt/cov/cov-ldso-$k /opt/cov/cov-dlopen-$k /opt/cov/cov-mprotect-$k || return 1
		# From the inverted bytes: a daemon left attached may already refuse reads of the known files.
		cov_fresh $k $d/prog && cov_fresh_lib $k /opt/cov/cov-dlopen-$k/lib.so || return 1
		cp $d/prog /opt/cov/cov-ldso-$k/prog && cp /opt/cov/cov-dlopen-$k/lib.so /opt/cov/cov-mprotect-$k/lib.so ||
			return 1
		for c in sh-file sh-stdin sh-dot; do
			mkdir -p /opt/cov/cov-$c-$k && cov_script $k >/opt/cov/cov-$c-$k/script.sh || return 1
		done
		mkdir -p /opt/cov/cov-python-$k && cov_python $k >/opt/cov/cov-python-$k/file.py || return 1
	done
	# The start-up scan only where the known material is: it is what the cases need, and scanning the
	# whole guest (the suite's leftovers) would take seconds per tier.
	printf 'scan_paths /opt/cov\n' >"$COV_CONF" || return 1
	cat >"$COV_POL" <<EOF
# embargo coverage policy, generated in the guest (tests/vm/coverage.sh)
vendor "Listed"
sha256 $(sha $T/listed) label "listed test program"
component sha256 $(sha $T/liblisted.so) label "liblisted.so"
sha256 $(sha /opt/cov/cov-sh-file-listed/script.sh) label "listed shell script"
sha256 $(sha /opt/cov/cov-python-listed/file.py) label "listed python file"
EOF
}

# errname TEXT: the errno name a failure message carries ("errno N" or the C library's text).
errname() {
	n=$(printf '%s' "$1" | sed -n 's/.*(errno \([0-9]*\)).*/\1/p' | head -n1)
	case "$n:$1" in
	1:* | *"Operation not permitted"*) echo EPERM ;;
	2:* | *"No such file"*) echo ENOENT ;;
	13:* | *"Permission denied"*) echo EACCES ;;
	26:* | *"Text file busy"*) echo ETXTBSY ;;
	8:* | *"Exec format error"*) echo ENOEXEC ;;
	*"failed to map segment"*) echo "mapping refused" ;;
	*) echo "${n:+errno $n}" ;;
	esac
}

# cov_try VAR CMD...: runs CMD with VAR set to a fresh marker path; sets OUT, RC, MK (as prog_run).
cov_try() {
	N=$((N + 1))
	MK=/tmp/marker.$N
	rm -f "$MK"
	var=$1
	shift
	OUT=$(env "$var=$MK" timeout $STEP_TIMEOUT "$@" 2>&1)
	RC=$?
}

# cov_result CASE KIND: outcome from RC, OUT and the marker (RAN_TEST, if set, decides instead of the
# marker), recorded for cov_report.
cov_result() {
	if [ -n "$RAN_TEST" ]; then eval "$RAN_TEST"; else test -e "$MK"; fi
	if [ $? -eq 0 ]; then
		outcome=ran
		detail=
	elif [ "$RC" -ge 129 ] && [ "$RC" -le 192 ]; then
		outcome=refused
		detail="signal $((RC - 128))"
		case $((RC - 128)) in 9) detail=SIGKILL ;; 11) detail=SIGSEGV ;; esac
	else
		outcome=refused
		detail=$(errname "$OUT")
		[ -n "$detail" ] || outcome=error
		detail="$detail: exit $RC, $(flat "$OUT" | cut -c1-120)"
	fi
	RAN_TEST=
	echo "$1 $2 $COV_OFF $outcome $detail" >>"$COV_PENDING"
}

cov_na() { # CASE KIND WHY
	echo "$1 $2 $COV_OFF n/a $3" >>"$COV_PENDING"
}

# ------------------------------------------------------------------------------------------- the cases
# c_CASE KIND: one try; W is its directory under /tmp, K its directory of known material.

c_exec_path() { cov_try MARKER trun $K/prog; }

c_fresh_copy() { cov_fresh $1 $W/prog && cov_try MARKER trun $W/prog; }

c_memfd() { cov_fresh $1 /tmp/src.memfd.$1 && cov_try MARKER trun --memfd cov-memfd-$1 /tmp/src.memfd.$1; }

c_execveat() { cov_fresh $1 $W/prog && cov_try MARKER trun --execveat $W/prog; }

c_tmpfile() {
	mkdir -p $W && cov_fresh $1 /tmp/src.tmpfile.$1 && cov_try MARKER trun --tmpfile $W/prog /tmp/src.tmpfile.$1
}

c_tmpfs_mount() {
	mkdir -p $W && mount -t tmpfs none $W && cov_fresh $1 $W/prog && cov_try MARKER trun $W/prog
	r=$?
	umount $W 2>/dev/null
	return $r
}

# A container's tmpfs: a new user and mount namespace (unshare -Urm), the program written and run there.
c_userns() {
	mkdir -p $W && cov_fresh $1 /tmp/src.userns.$1 || return 1
	cov_try MARKER unshare -Urm sh -c "mount -t tmpfs none $W && cp /tmp/src.userns.$1 $W/prog &&
		chmod 0755 $W/prog && exec trun $W/prog"
}

# A chroot with the C library: trun and the program inside (their paths there name the case too).
c_chroot() {
	libc=$(ldd $T/unlisted 2>/dev/null | awk '$3 ~ /libc\.so/ { print $3 }')
	[ -n "$libc" ] || libc=/lib/x86_64-linux-gnu/libc.so.6
	mkdir -p $W/usr/lib64 "$W$(dirname "$libc")" $W/tmp $W/cov-chroot-$1 && cp $LDSO $W/usr/lib64/ &&
		ln -sfn usr/lib64 $W/lib64 && cp "$libc" "$W$libc" && cp $T/trun $W/trun &&
		cov_fresh $1 $W/cov-chroot-$1/prog || return 1
	cov_try MARKER chroot $W /trun /cov-chroot-$1/prog
	# The marker is written inside the chroot.
	MK=$W$MK
}

cov_overlay() { # KIND WHERE (upper|lower)
	grep -qw overlay /proc/filesystems || {
		REASON="no overlay file system in the guest (overlay.ko not in the initramfs)"
		return 3
	}
	mkdir -p $W/l $W/u $W/w $W/m || return 1
	[ "$2" = lower ] && { cov_fresh $1 $W/l/prog || return 1; }
	mount -t overlay overlay -o lowerdir=$W/l,upperdir=$W/u,workdir=$W/w $W/m || {
		REASON="mount -t overlay failed"
		return 3
	}
	[ "$2" = upper ] && { cov_fresh $1 $W/m/prog || return 1; }
	cov_try MARKER trun $W/m/prog
	umount $W/m 2>/dev/null
	return 0
}
c_overlay_upper() { cov_overlay $1 upper; }
c_overlay_lower() { cov_overlay $1 lower; }

# An image file (FAT, made in the guest) loop-mounted, the program written into it, mounted again.
c_loop() {
	grep -qw msdos /proc/filesystems && [ -e /dev/loop-control ] || {
		REASON="no loop device or FAT file system in the guest (loop.ko, fat.ko, msdos.ko not in the initramfs)"
		return 3
	}
	mkdir -p $W/m && dd if=/dev/zero of=$W/img bs=1k count=2048 2>/dev/null && mkdosfs $W/img >/dev/null 2>&1 &&
		out=$(mount -t msdos -o loop $W/img $W/m 2>&1) || {
		REASON="could not loop-mount a FAT image: $(flat "$out")"
		return 3
	}
	cov_fresh $1 /tmp/src.loop.$1 && cp /tmp/src.loop.$1 $W/m/prog && umount $W/m &&
		mount -t msdos -o loop,ro $W/img $W/m || return 1
	cov_try MARKER trun $W/m/prog
	umount $W/m 2>/dev/null
	return 0
}

c_ldso() { cov_try MARKER trun $LDSO $K/prog; }

# The unlisted program with a fresh copy of the library preloaded: did its constructor run?
c_preload() {
	cov_fresh_lib $1 $W/lib.so && cov_try LIB_MARKER trun /usr/bin/env LD_PRELOAD=$W/lib.so $T/unlisted
}

c_dlopen() { cov_try LIB_MARKER trun $T/tdlopen $K/lib.so; }

c_mprotect() {
	cov_try MARKER trun $T/tdlopen --mprotect $K/lib.so
	RAN_TEST='test "$OUT" = "mprotect: ok"'
}

# An allowed program (it ran: its clean verdict is cached) rewritten in place with the case's bytes.
c_rewrite() {
	cp $T/unlisted $W/prog 2>/dev/null || { mkdir -p $W && cp $T/unlisted $W/prog; } || return 1
	cov_try MARKER trun $W/prog
	[ -e "$MK" ] || {
		REASON="the allowed program did not run before the rewrite: $(flat "$OUT")"
		return 1
	}
	if [ $1 = listed ]; then trewrite --invert $T/listed.inv $W/prog; else cov_other $W/prog; fi || return 1
	cov_try MARKER trun $W/prog
}

# A new file renamed over an allowed program (which ran).
c_rename() {
	mkdir -p $W && cp $T/unlisted $W/prog || return 1
	cov_try MARKER trun $W/prog
	[ -e "$MK" ] || {
		REASON="the allowed program did not run before the rename: $(flat "$OUT")"
		return 1
	}
	if [ $1 = listed ]; then cov_fresh listed $W/new; else cov_other $W/new; fi && mv $W/new $W/prog || return 1
	cov_try MARKER trun $W/prog
}

c_sh_file() { cov_try MARKER trun /bin/sh $K/script.sh; }
c_sh_stdin() { cov_try MARKER trun /bin/sh -c "sh < $K/script.sh"; }
c_sh_dot() { cov_try MARKER trun /bin/sh -c ". $K/script.sh"; }
c_sh_fresh() { mkdir -p $W && cov_script $1 >$W/script.sh && cov_try MARKER trun /bin/sh $W/script.sh; }

c_python() {
	command -v python3 >/dev/null || {
		REASON="no python3 in the guest"
		return 3
	}
	cov_try MARKER trun "$(command -v python3)" $K/file.py
}

# Outcomes that ran become reported or runs: an event naming the try's files, logged since it began.
cov_report() {
	tier=$1
	failed=
	while read -r c k off outcome detail; do
		if [ "$outcome" = ran ]; then
			ev=$(tail -c +$((off + 1)) "$LOG" | grep -F 'EMBARGO_ACTION="' | grep -F "cov-$c-$k" | head -n1)
			if [ -n "$ev" ]; then
				outcome=reported
				detail="$(echo "$ev" | sed -n 's/.*EMBARGO_ACTION="\([a-z]*\)".*/\1/p') $(echo "$ev" |
					sed -n 's/.*EMBARGO_HOOK="\([a-z_]*\)".*/\1/p')"
			else
				outcome=runs
				detail=
			fi
		fi
		echo "@@ COVERAGE $tier $c $k $outcome $detail"
		[ "$k" = twin ] && case "$outcome" in
		reported | runs | n/a) ;;
		*) failed="$failed $c ($outcome: $detail);" ;;
		esac
	done <"$COV_PENDING"
	REASON="twins that did not run:$failed"
	[ -z "$failed" ]
}

# coverage TIER [EMBARGOD-ARG...]: the whole matrix column for one tier, and its twins' result line.
coverage() {
	tier=$1
	shift
	selected coverage || return 0
	name=coverage-twins-$tier
	[ -z "$NO_DAEMON_WHY" ] || {
		skip $name "$NO_DAEMON_WHY"
		return 0
	}
	[ -z "$DPID" ] || stop_daemon
	t0=$(cut -d' ' -f1 /proc/uptime)
	for m in overlay loop fat msdos nls_cp437; do
		[ -e $T/modules/$m.ko ] && insmod $T/modules/$m.ko 2>/dev/null
	done
	cov_material || {
		fail $name "could not make the coverage material"
		return 1
	}
	start_daemon "$COV_POL" --config "$COV_CONF" --no-self-protection "$@" || {
		fail $name "embargod did not start: $REASON"
		return 1
	}
	wait_log "Start-up scan done" || {
		fail $name "$REASON"
		stop_daemon
		return 1
	}
	: >"$COV_PENDING"
	for c in $COV_CASES; do
		fn=c_$(echo "$c" | tr - _)
		for k in listed twin; do
			W=/tmp/cov-$c-$k
			K=/opt/cov/cov-$c-$k
			COV_OFF=$(wc -c <"$LOG")
			REASON=
			RAN_TEST=
			"$fn" $k
			r=$?
			if [ $r -eq 3 ]; then
				cov_na $c $k "$REASON"
			elif [ $r -ne 0 ]; then
				echo "$c $k $COV_OFF error ${REASON:-the try could not be set up}" >>"$COV_PENDING"
			else
				cov_result $c $k
			fi
			OUT=
			RC=
		done
	done
	# The lsm tier classifies what ran in userspace: give its events a moment to reach the log.
	sleep 1
	if cov_report "$tier"; then pass $name; else fail $name "$REASON"; fi
	note "coverage $tier: $(awk -v a="$t0" '{ printf "%.1f", $1 - a }' /proc/uptime) s"
	stop_daemon
	umount /tmp/cov-*/m 2>/dev/null
	rm -rf /tmp/cov-* /tmp/src.*
}
