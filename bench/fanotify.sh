#!/usr/bin/env bash
# The fanotify tier against no enforcer and against fapolicyd, on this machine's kernel: part of
# `make bench` (bench/run calls it). Three modes:
#
#   bench/fanotify.sh [run]          measure; result lines (the format of bench/common.sh) on stdout
#   bench/fanotify.sh report         the Markdown table and the targets, from result lines on stdin
#   bench/fanotify.sh doc REPORT DOC replace what is between the bench:fanotify markers in DOC by REPORT
#
# Timed loops (bench/loop: exec of a static one-syscall binary, open+close, exec of a dynamically linked
# program, and the first again with the loop and every thread of the enforcer on one CPU) in BENCH_ROUNDS
# interleaved rounds of four configurations:
#   none       no enforcer
#   audit      embargod --tier fanotify --mode audit   (policy of BENCH_DIGESTS random digests)
#   enforce    embargod --tier fanotify --mode enforce (the same policy)
#   fapolicyd  fapolicyd 1.1.7: `deny perm=any all : sha256hash=D` (D: the first digest of that policy),
#              then `allow perm=any all : all`
# none of the files measured is listed; every enforcer's cache is warm (the binary runs once first, and
# every loop warms up). The order turns round every other round; a ratio divides by the run without an
# enforcer of the same round.
#
# Safety. Everything runs in a private mount namespace (under `timeout`):
# - the binary and the file the loops use live on a private tmpfs, the only filesystem embargod marks
#   (--fanotify-path); its pinned backstop goes to a private bpffs mounted on /sys/fs/bpf;
# - fapolicyd marks every mount *it can see*: started inside the namespace, those are the namespace's
#   own copies of the mounts (fanotify mount marks, allow_filesystem_mark = 0), so processes outside the
#   namespace never wait for it. Its configuration, trust database and run directory are private tmpfs
#   directories mounted over /etc/fapolicyd, /var/lib/fapolicyd and /run inside the namespace: nothing
#   of the machine's own fapolicyd files is read or changed, nothing needs restoring, even after SIGKILL;
# - fapolicyd and embargod each run under `timeout` (a hung one is killed, which releases every waiting
#   open) and are stopped by their own PID; every wait is a poll with a limit.
# If fapolicyd is missing or does not start, its rows say why and the rest of the bench goes on.
#
# Environment: BENCH_ROUNDS (7), BENCH_DIGESTS (100000), BENCH_FAN_EXEC (execs per loop, 5000),
# BENCH_FAN_OPEN (open+close per loop, 50000: fapolicyd makes each ~10-30x slower), BENCH_FAN_DYN
# (execs of the dynamically linked program per loop, 1000).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

MARK_BEGIN='<!-- bench:fanotify:begin -->'
MARK_END='<!-- bench:fanotify:end -->'

# ------------------------------------------------------------------------------------------ report
# The table from the result lines: medians per configuration, per-round ratios to none, and the targets.
report() {
	local in dirty secs
	in=$(cat)
	dirty=$(git status --porcelain -- bench bpf userspace Makefile 2>/dev/null | awk '{ print $NF }' | tr '\n' ' ')
	secs=$(echo "$in" | sed -nE 's/^info tier=fanotify seconds=([0-9]+)$/\1/p')
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`make bench\` (bench/fanotify.sh) at commit" \
		"$(git rev-parse --short HEAD 2>/dev/null || echo '?')" \
		"${dirty:+(uncommitted changes in: ${dirty% }) }${secs:+in $secs s}; host CPU:" \
		"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(nproc) cores."
	echo
	echo "$in" | awk '
	function parse(   i, kv) {
		split("", F)
		for (i = 2; i <= NF; i++) {
			split($i, kv, "=")
			F[kv[1]] = substr($i, length(kv[1]) + 2)
		}
	}
	function median(a, n,   i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		if (n == 0)
			return -1
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function human(ns) {
		if (ns < 0) return "-"
		return size(ns)
	}
	function signed(ns) { # a difference
		return ns < 0 ? "-" size(-ns) : size(ns)
	}
	function size(ns) {
		if (ns >= 1000000) return sprintf("%.2f ms", ns / 1000000)
		if (ns >= 10000) return sprintf("%.1f us", ns / 1000)
		if (ns >= 1000) return sprintf("%.2f us", ns / 1000)
		return sprintf("%.0f ns", ns)
	}
	# Per-round values of config c for loop l: ratio to none (kind "ratio", from arr) or the difference
	# in ns (kind "diff"); sets R[1..] and returns how many.
	function per_round(arr, l, c, kind,   r, n) {
		n = 0
		split("", R)
		for (r = 1; r <= nrounds; r++)
			if ((l, c, r) in arr && arr[l, "none", r] > 0)
				R[++n] = kind == "ratio" ? arr[l, c, r] / arr[l, "none", r] : arr[l, c, r] - arr[l, "none", r]
		return n
	}
	function spread(n,   i, lo, hi) {
		lo = hi = R[1]
		for (i = 2; i <= n; i++) {
			if (R[i] < lo) lo = R[i]
			if (R[i] > hi) hi = R[i]
		}
		LO = lo; HI = hi
	}
	function ratio(arr, l, c,   n, m) {
		n = per_round(arr, l, c, "ratio")
		if (!n) return -1
		spread(n)
		return median(R, n)
	}
	function ratio_cell(arr, l, c,   m) {
		m = ratio(arr, l, c)
		return m < 0 ? " - |" : sprintf(" **%.2f** (%.2f-%.2f) |", m, LO, HI)
	}
	function extra(arr, l, c,   n) { # median per-round extra time per operation, ns (LO, HI: its range)
		n = per_round(arr, l, c, "diff")
		if (!n) return "none"
		spread(n)
		return median(R, n)
	}
	function val(l, c,   r, n, v) {
		n = 0
		for (r = 1; r <= nrounds; r++)
			if ((l, c, r) in ns) v[++n] = ns[l, c, r]
		return median(v, n)
	}
	# The exec target on loop l: the extra time per exec of embargo against that of fapolicyd, from the median
	# batches and from the fastest batches (which other load on the machine disturbs less). "met" when
	# both say at most half, "MISSED" when neither does.
	function exec_target(l, how,   ee, elo, ehi, ea, ef, flo, fhi, fe, ff, okm, okf, v) {
		ee = extra(ns, l, "enforce"); elo = LO; ehi = HI
		ea = extra(ns, l, "audit")
		ef = extra(ns, l, "fapolicyd"); flo = LO; fhi = HI
		fe = extra(mn, l, "enforce")
		ff = extra(mn, l, "fapolicyd")
		if (ee == "none")
			printf "- **Exec overhead (%s): not measured.**\n", how
		else if (ef == "none")
			printf "- **Exec overhead (%s) against fapolicyd: not compared (fapolicyd not measured);** embargo enforce adds %s per exec (%s to %s over the rounds), audit %s.\n", how, signed(ee), signed(elo), signed(ehi), signed(ea)
		else {
			okm = ef > 0 && ee <= ef / 2
			okf = ff > 0 && fe <= ff / 2
			v = okm && okf ? "met" : okm || okf ? "borderline" : "MISSED"
			printf "- **Exec overhead (%s) well below fapolicyd'"'"'s (at most half of its extra time per exec): %s**: embargo enforce adds %s per exec (%s to %s over the rounds; audit %s), fapolicyd %s (%s to %s): %s; by fastest batches embargo %s, fapolicyd %s: %s.\n", \
				how, v, signed(ee), signed(elo), signed(ehi), signed(ea), signed(ef), signed(flo), signed(fhi), pct(ee, ef), signed(fe), signed(ff), pct(fe, ff)
		}
	}
	function pct(e, f) {
		return f > 0 ? sprintf("%.0f%% of fapolicyd'"'"'s", 100 * e / f) : "fapolicyd added nothing measurable"
	}
	$1 == "info" {
		parse()
		for (k in F) if (k != "tier") info[k] = F[k]
	}
	$1 == "skip" {
		why = $0
		sub(/^skip tier=[^ ]+ what=[^ ]+ why=/, "", why)
		skipped = why
	}
	$1 == "result" {
		parse()
		l = F["loop"]
		if (!(l in seen)) { seen[l] = 1; order[++nl] = l }
		if (F["round"] + 0 > nrounds) nrounds = F["round"] + 0
		ns[l, F["config"], F["round"]] = F["ns"] + 0
		mn[l, F["config"], F["round"]] = F["min"] + 0
		n_ops[l] = F["n"]
	}
	END {
		what["exec"] = "exec: posix_spawn (vfork+execve) + wait of a static one-syscall binary"
		what["open"] = "open(O_RDONLY) + close of a small file"
		what["exec-dyn"] = "exec: posix_spawn + wait of a dynamically linked `main() { return 0; }`, its ld.so and libc on the same tmpfs"
		what["exec-1cpu"] = "exec, the same, with the loop and every thread of the enforcer on one CPU"
		fa = "fapolicyd" (info["fapolicyd_version"] != "" ? " " info["fapolicyd_version"] : "")
		printf "embargod tier `%s` without its start-up scan (marks: exec permission on the benchmark tmpfs; open permission only on inodes known to be prohibited, here none), policy of %s random digests (rules loaded: %s); %s with `deny perm=any all : sha256hash=<one of those digests>` and `allow perm=any all : all`, its package configuration otherwise (uid and gid root, trust from a file); kernel %s, %s CPUs; %d interleaved rounds. A ratio is the median of the per-round ratios to no enforcer, min-max over the rounds in brackets; \"fastest batches\" divides the fastest batch of each run instead of the median one.\n\n", \
			info["embargod_tier"], info["digests"], info["rules"], fa, info["kernel"], info["cpus"], nrounds
		if (skipped != "")
			printf "**fapolicyd was not measured: %s**\n\n", skipped
		printf "| loop (median per operation) | no enforcer | embargo fanotify audit | embargo fanotify enforce | %s | audit / none | enforce / none | fapolicyd / none | fastest batches: audit / none | fastest batches: enforce / none | fastest batches: fapolicyd / none |\n", fa
		printf "|---|---|---|---|---|---|---|---|---|---|---|\n"
		for (i = 1; i <= nl; i++) {
			l = order[i]
			line = sprintf("| %s, %d per run |", what[l] ? what[l] : l, n_ops[l])
			line = line " " human(val(l, "none")) " | " human(val(l, "audit")) " | " human(val(l, "enforce")) " | " human(val(l, "fapolicyd")) " |"
			line = line ratio_cell(ns, l, "audit") ratio_cell(ns, l, "enforce") ratio_cell(ns, l, "fapolicyd")
			line = line ratio_cell(mn, l, "audit") ratio_cell(mn, l, "enforce") ratio_cell(mn, l, "fapolicyd")
			print line
		}
		# Target 1: opens of unlisted files cost nothing measurable (median ratio within 1.00 +- 0.05).
		oa = ratio(ns, "open", "audit"); oe = ratio(ns, "open", "enforce"); of = ratio(ns, "open", "fapolicyd")
		printf "\n"
		if (oa < 0 || oe < 0)
			printf "- **Opens of unlisted files: not measured.**\n"
		else {
			ok = oa <= 1.05 && oe <= 1.05
			printf "- **Opens of unlisted files cost nothing measurable (median ratio <= 1.05): %s** (embargo audit %.2fx, enforce %.2fx%s).\n", \
				ok ? "met" : "MISSED", oa, oe, (of > 0 ? sprintf("; fapolicyd %.2fx", of) : "")
		}
		# Target 2: exec overhead well below fapolicyd (here: at most half of its extra time per exec),
		# as the scheduler places things, and with everything on one CPU.
		exec_target("exec", "as the scheduler places the threads")
		exec_target("exec-1cpu", "everything on one CPU")
		exec_target("exec-dyn", "dynamically linked program")
	}'
}

if [ "${1:-run}" = report ]; then
	report
	exit
fi

if [ "${1:-run}" = doc ]; then
	[ $# -eq 3 ] && [ -f "$2" ] || {
		echo "usage: bench/fanotify.sh doc REPORT DOC" >&2
		exit 64
	}
	if [ ! -f "$3" ] || ! grep -qF "$MARK_BEGIN" "$3" || ! grep -qF "$MARK_END" "$3"; then
		printf '\n## The fanotify tier against fapolicyd\n\n%s\n%s\n' "$MARK_BEGIN" "$MARK_END" >>"$3"
	fi
	awk -v begin="$MARK_BEGIN" -v end="$MARK_END" -v report="$2" '
		$0 == begin { print; while ((getline line < report) > 0) print line; skip = 1; next }
		$0 == end { skip = 0 }
		!skip' "$3" >"$3.tmp" && mv "$3.tmp" "$3"
	exit
fi

[ "${1:-run}" = run ] || {
	echo "usage: bench/fanotify.sh [run | report | doc REPORT DOC]" >&2
	exit 64
}

# --------------------------------------------------------------------------------------------- run
if [ "${EMBARGO_BENCH_FAN_NS:-}" != 1 ]; then
	exec timeout --kill-after=10 400 unshare --mount --propagation private env EMBARGO_BENCH_FAN_NS=1 "$0" run
fi

BUILD=${BUILD:-build}
BIN=$PWD/$BUILD/bench
EMBARGOD=$PWD/$BUILD/embargod
EMBARGOCTL=$PWD/$BUILD/embargoctl
TIER=fanotify
BENCH_PREFIX=
DAEMON_TIMEOUT=120
LOOP_TIMEOUT=120
EXPECT_TIER=fanotify
ROUNDS=${BENCH_ROUNDS:-7}
N_EXEC=${BENCH_FAN_EXEC:-5000}
N_OPEN=${BENCH_FAN_OPEN:-50000}
N_DYN=${BENCH_FAN_DYN:-1000}
N_DIGESTS=${BENCH_DIGESTS:-100000}
FA_TIMEOUT=120
# shellcheck source=bench/common.sh
. bench/common.sh

FA_OK=1 # fapolicyd can be measured
FTPID=  # its timeout
FAPID=  # fapolicyd itself
FA_MOUNTS= # what setup_fapolicyd mounted, last first

stop_fapolicyd() {
	stop_pid "$FAPID"
	stop_pid "$FTPID"
	FAPID=
	FTPID=
}

WORK=$(mktemp -d /tmp/embargo-bench-fan.XXXXXX) || exit 1
RUNDIR=$WORK/run
cleanup() {
	stop_fapolicyd
	stop_embargod
	for m in $FA_MOUNTS; do umount "$m"; done
	umount /sys/fs/bpf "$WORK" 2>/dev/null
	rmdir "$WORK" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
	echo "bench: fanotify: $*" >&2
	exit 1
}

mount -t tmpfs -o mode=0755 embargo-bench-fan "$WORK" || fail "cannot mount a private tmpfs on $WORK"
# The daemon pins its backstop here: a bpffs of this namespace's own.
mount -t bpf bpf /sys/fs/bpf || fail "cannot mount a private bpffs on /sys/fs/bpf"

write_policy "$N_DIGESTS" || fail "cannot write the policy"
cp "$BIN/tiny" "$WORK/tiny" && printf 'small\n' >"$WORK/small" || fail "cannot write test files"
# A dynamically linked program with its ld.so and libc on the tmpfs too (found through its interpreter
# path and RUNPATH): what an enforcer sees of a real program's exec. embargod: the exec-opens of the
# program and of ld.so; fapolicyd: those and every open (libc).
dyn_ld=$(readelf -l /bin/true | sed -nE 's/.*interpreter: (.*)]$/\1/p')
dyn_libc=$(ldd /bin/true | awk '/libc\.so/ { print $3 }')
mkdir -p "$WORK/lib" && cp -L "$dyn_ld" "$dyn_libc" "$WORK/lib/" &&
	printf 'int main(void) { return 0; }\n' >"$WORK/dyn.c" &&
	cc -O2 -o "$WORK/dyn" "$WORK/dyn.c" -Wl,--dynamic-linker="$WORK/lib/${dyn_ld##*/}" -Wl,-rpath,"$WORK/lib" &&
	ldd "$WORK/dyn" | grep -q "=> $WORK/lib/libc" || fail "cannot build the dynamically linked program"
emit "info tier=$TIER kernel=$(uname -r) cpus=$(nproc) digests=$N_DIGESTS"

# fapolicyd skipped: says why in the result lines and on stderr; the bench goes on without it.
skip_fapolicyd() {
	FA_OK=0
	emit "skip tier=$TIER what=fapolicyd why=$*"
	echo "bench: fanotify: fapolicyd not measured: $*" >&2
}

# fapolicyd's private world, inside this namespace only: configuration, rules and an empty trust file
# over /etc/fapolicyd, its trust database over /var/lib/fapolicyd, its fifo and pid file under /run.
setup_fapolicyd() {
	local v d fa=$WORK/fapolicyd
	command -v fapolicyd >/dev/null || {
		skip_fapolicyd "not installed (tools/install-deps installs it)"
		return
	}
	v=$(dpkg-query -W -f '${Version}' fapolicyd 2>/dev/null)
	emit "info tier=$TIER fapolicyd_version=${v%%-*}"
	[ -d /etc/fapolicyd ] && [ -d /var/lib/fapolicyd ] || {
		skip_fapolicyd "/etc/fapolicyd or /var/lib/fapolicyd is missing"
		return
	}
	d=$(head -n1 "$WORK/digests.sha256" | cut -c1-64)
	mkdir -p "$fa/etc/rules.d" "$fa/etc/trust.d" "$fa/lib" || return
	# The package's fapolicyd.conf with what this machine needs (uid, gid root), trust from the file
	# backend only, no usage report on exit, and per-mount marks (allow_filesystem_mark = 0: a
	# filesystem mark would reach the host's own mounts of the same filesystems).
	cat >"$fa/etc/fapolicyd.conf" <<EOF
permissive = 0
nice_val = 14
q_size = 640
uid = root
gid = root
do_stat_report = 0
detailed_report = 0
db_max_size = 50
subj_cache_size = 1549
obj_cache_size = 8191
watch_fs = ext2,ext3,ext4,tmpfs,xfs,vfat,iso9660,btrfs
trust = file
integrity = none
syslog_format = rule,dec,perm,auid,pid,exe,:,path,ftype,trust
rpm_sha256_only = 0
allow_filesystem_mark = 0
EOF
	printf 'deny perm=any all : sha256hash=%s\nallow perm=any all : all\n' "$d" >"$fa/etc/compiled.rules"
	# One trusted file (the trust database refuses to be empty); no rule here uses trust.
	printf '%s %s %s\n' "$WORK/tiny" "$(stat -c %s "$WORK/tiny")" "$(sha256sum "$WORK/tiny" | cut -c1-64)" \
		>"$fa/etc/fapolicyd.trust"
	mount --bind "$fa/etc" /etc/fapolicyd && FA_MOUNTS="/etc/fapolicyd $FA_MOUNTS" &&
		mount --bind "$fa/lib" /var/lib/fapolicyd && FA_MOUNTS="/var/lib/fapolicyd $FA_MOUNTS" &&
		mount -t tmpfs -o mode=0755 embargo-bench-fan-run /run && FA_MOUNTS="/run $FA_MOUNTS" &&
		mkdir -m 0770 /run/fapolicyd || skip_fapolicyd "cannot mount its private directories"
}

fa_ready_or_gone() { gone "$FTPID" || grep -q '^Starting to listen for events' "$WORK/fapolicyd.log"; }

# start_fapolicyd: in the foreground (--debug-deny: prints denials only), under timeout; returns once it
# says it listens. FTPID: the timeout, FAPID: fapolicyd (coreutils' timeout forks it).
start_fapolicyd() {
	timeout --kill-after=10 "$FA_TIMEOUT" fapolicyd --debug-deny >"$WORK/fapolicyd.log" 2>&1 &
	FTPID=$!
	if wait_until 60 fa_ready_or_gone && ! gone "$FTPID"; then
		FAPID=$(cat "/proc/$FTPID/task/$FTPID/children" 2>/dev/null | awk '{ print $1 }')
		[ -n "$FAPID" ] || FAPID=$(pgrep -P "$FTPID" | head -n1)
		[ -n "$FAPID" ] && return 0
	fi
	echo "bench: fanotify: fapolicyd did not start listening within 60 s; its output:" >&2
	tail -n 20 "$WORK/fapolicyd.log" >&2
	stop_fapolicyd
	return 1
}

# The exec loop again with the loop and every thread of the enforcer PID (if any) on CPU, the first CPU
# this script may use: without the wake-up of another CPU, which costs tens of microseconds in this VM and
# makes the unpinned exec figures depend on where the scheduler puts the enforcer's threads.
CPU=$(taskset -cp $$ | sed -E 's/.*: *//; s/[-,].*//')
one_cpu() { # CONFIG [PID]
	if [ -n "${2:-}" ] && ! taskset -a -p -c "$CPU" "$2" >/dev/null; then
		echo "bench: fanotify: cannot pin pid $2 to CPU $CPU" >&2
		return 1
	fi
	(taskset -p -c "$CPU" "$BASHPID" >/dev/null && run_loop "$1" exec "$N_EXEC" "$WORK/tiny") |
		sed 's/ loop=exec / loop=exec-1cpu /'
}

loops() { # CONFIG [PID: the enforcer]
	run_loop "$1" exec "$N_EXEC" "$WORK/tiny" && run_loop "$1" open "$N_OPEN" "$WORK/small" &&
		(run_loop "$1" exec "$N_DYN" "$WORK/dyn" | sed 's/ loop=exec / loop=exec-dyn /') &&
		one_cpu "$1" "${2:-}"
}

setup_fapolicyd

# One unreported pass first: the first loops run on cold caches.
ROUND=0
loops warmup >/dev/null || fail "the warm-up loops failed"
ROUND=1
while [ "$ROUND" -le "$ROUNDS" ]; do
	order="none audit enforce fapolicyd"
	[ $((ROUND % 2)) -eq 0 ] && order="fapolicyd enforce audit none"
	for c in $order; do
		case $c in
		audit | enforce)
			# --no-scan: the steady state is measured; the start-up scan (a walk hashing every file,
			# once per start) would compete with the loops for the CPU (bench/scan.sh measures it).
			start_embargod "$c" 60 --tier fanotify --fanotify-path "$WORK" --no-scan \
				--state-dir "$WORK/state" || fail "embargod did not start"
			st=$(ctl status --json | tr -d ' \n')
			tier=$(echo "$st" | sed -nE 's/.*"tier":"([a-z-]+)".*/\1/p')
			[ "$ROUND" -eq 1 ] && emit "info tier=$TIER mode=$c embargod_tier=$tier" \
				"rules=$(echo "$st" | sed -nE 's/.*"rules":([0-9]+).*/\1/p')"
			[ "$tier" = "$EXPECT_TIER" ] || fail "embargod runs tier '$tier', expected $EXPECT_TIER"
			warm || fail "warm-up under embargod failed"
			loops "$c" "$DPID" || fail "the loops under embargod --mode $c failed"
			stop_embargod
			;;
		fapolicyd)
			[ "$FA_OK" = 1 ] || continue
			if ! start_fapolicyd; then
				skip_fapolicyd "it did not start (see bench/fanotify.sh's log)"
				continue
			fi
			if warm && loops fapolicyd "$FAPID"; then
				stop_fapolicyd
			else
				stop_fapolicyd
				skip_fapolicyd "its loops failed (a denial? its output: $(tail -n 3 "$WORK/fapolicyd.log" | tr '\n' ' '))"
			fi
			;;
		*) loops "$c" || fail "the loops without an enforcer failed" ;;
		esac
	done
	ROUND=$((ROUND + 1))
done
emit "info tier=$TIER seconds=$SECONDS"
exit 0
