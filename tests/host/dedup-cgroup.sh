#!/usr/bin/env bash
# The kernel counts repeats of one file by one parent in one cgroup into one report: the same file
# run by the same parent in two cgroups (two containers, two services) is reported once per cgroup,
# each with its own cgroup id and counts. Private mount namespace, private journald, private tmpfs,
# detection tier (see detect.sh); two child cgroups of this test's own, on a private cgroup2 mount.
set -uo pipefail
cd "$(dirname "$0")/../.."

. tests/lib.sh
private_namespace "$0" "$@"
T=host/dedup-cgroup

private_workdir
cga= cgb=
cleanup_extra() {
	[ -n "$cga" ] && rmdir "$cga" 2>/dev/null
	[ -n "$cgb" ] && rmdir "$cgb" 2>/dev/null
	umount "$work/cg" 2>/dev/null
}

# Two cgroups under this test's own (cgroup v2), or a SKIP that says why not.
own=$(sed -n 's/^0:://p' /proc/self/cgroup)
mkdir "$work/cg"
if [ -z "$own" ] || ! mount -t cgroup2 none "$work/cg" 2>"$work/cg.err"; then
	echo "SKIP: $T: no cgroup v2 here (${own:+mount: }$(cat "$work/cg.err" 2>/dev/null))"
	exit 0
fi
cga="$work/cg${own%/}/embargo-dedup-$$-a"
cgb="$work/cg${own%/}/embargo-dedup-$$-b"
if ! mkdir "$cga" "$cgb" 2>"$work/cg.err"; then
	echo "SKIP: $T: cannot create cgroups under ${own}: $(cat "$work/cg.err")"
	cga= cgb=
	exit 0
fi
id_a=$(stat -c %i "$cga")
id_b=$(stat -c %i "$cgb")

private_journal "$work" || { fail "$T/journald" "no private journald"; exit 1; }
listed_material "$work" || { fail "$T/setup" "cannot build the test programs"; exit 1; }
start_daemon "$work" || { fail "$T/start" "embargod did not start: $(tail -3 "$work/embargod.out")"; exit 1; }

# The first exec is classified in userspace (detection tier); the later ones are decided in the
# kernel from the cached verdict, where the dedup map is.
"$work/listed" >/dev/null
wait_for 15 has journal MESSAGE_ID=$MSGID_UNCLASSIFIED EMBARGO_PATH="$work/listed" ||
	{ fail "$T/classified" "the first exec was not reported"; exit 1; }

# run_in CGROUP: the listed program, exec'd by a child of this shell moved into CGROUP first: the
# same parent (this shell) every time.
run_in() { sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" >/dev/null' sh "$1" "$work/listed"; }
run_in "$cga"
run_in "$cgb"
run_in "$cga"
run_in "$cga"

# Every exec in a cgroup is accounted for: its own records plus the repeats they and the repeat
# summaries carry, all under that cgroup's id. Repeats are flushed within the dedup window plus a sweep.
audited() { journal MESSAGE_ID=$MSGID_AUDITED EMBARGO_PATH="$work/listed"; }
repeats() { journal MESSAGE_ID=$MSGID_REPEATED EMBARGO_PATH="$work/listed"; }
events_in() { # events_in CGROUP_ID
	{ audited; repeats; } | jq -s --arg c "$1" \
		'map(select(.EMBARGO_CGROUP_ID == $c) | (if .MESSAGE_ID == "'$MSGID_REPEATED'" then 0 else 1 end) +
			(.EMBARGO_REPEATED // "0" | tonumber)) | add // 0'
}
counts_are() { [ "$(events_in "$id_a")" = 3 ] && [ "$(events_in "$id_b")" = 1 ]; }
if wait_for 20 counts_are; then
	pass "$T/every-exec-counted-per-cgroup"
else
	fail "$T/every-exec-counted-per-cgroup" "cgroup a $id_a: $(events_in "$id_a") of 3, b $id_b: $(events_in "$id_b") of 1: $({ audited; repeats; } | jq -c '{M: .MESSAGE_ID, C: .EMBARGO_CGROUP_ID, R: .EMBARGO_REPEATED, P: .EMBARGO_PPID}' | tr '\n' ' ')"
fi

# One report per cgroup, same file, same parent: not one report for both.
reports=$(audited | jq -s -c --arg p "$$" '[.[] | select(.EMBARGO_PPID == $p) | .EMBARGO_CGROUP_ID] | unique')
check "$T/separate-report-per-cgroup" test "$reports" = "$(jq -c -n --arg a "$id_a" --arg b "$id_b" '[$a, $b] | sort')"

# Within one cgroup the repeats were counted, not logged one by one (the three execs in a come within
# the dedup window of 1 s), and the repeat record names the cgroup.
n_a=$({ audited; repeats; } | jq -s --arg c "$id_a" 'map(select(.EMBARGO_CGROUP_ID == $c)) | length')
rep=$(repeats | jq -c --arg c "$id_a" 'select(.EMBARGO_CGROUP_ID == $c)' | head -1)
if [ "$n_a" -lt 3 ] && [ -n "$rep" ] && jq -e --arg p "$$" --arg c "$id_a" '.EMBARGO_PPID == $p and
	.EMBARGO_ACTION == "audited" and .EMBARGO_VENDOR == "Listed Vendor" and
	(.MESSAGE | contains("in cgroup \($c)"))' <<<"$rep" >/dev/null; then
	pass "$T/repeats-counted-within-cgroup"
else
	fail "$T/repeats-counted-within-cgroup" "$n_a records for 3 execs in a; repeat record: $rep"
fi

[ $failures -eq 0 ]
