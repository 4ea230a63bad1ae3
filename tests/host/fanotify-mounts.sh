#!/usr/bin/env bash
# The fanotify tier follows mounts made after its start, in every mount namespace: a tmpfs, a loop-mounted
# ext2 image, a tmpfs in a new user+mount namespace (unshare -Urm), a mount point whose name mountinfo
# escapes, and more than 256 superblocks. Each is marked within 100 ms (measured from the kernel's own
# list of the group's marks, /proc/PID/fdinfo), a listed program copied there is refused with EPERM and
# an unlisted one runs. Everything happens below a private tmpfs in a private mount namespace: embargod
# marks only what is mounted below it (--fanotify-path), never the machine's own file systems.
set -uo pipefail
cd "$(dirname "$0")/../.."

if [ "${EMBARGO_IN_NS:-}" != 1 ]; then
	exec timeout --kill-after=10 600 unshare --mount --propagation private env EMBARGO_IN_NS=1 "$0" "$@"
fi

. tests/lib.sh
T=host/fanotify-mounts
LIMIT_MS=100

work=$(mktemp -d /tmp/embargo-fanm.XXXXXX)
mount -t tmpfs -o mode=0755,size=512m embargo-fanm "$work" || { fail "$T/setup" "cannot mount a private tmpfs"; exit 1; }
mount -t bpf bpf /sys/fs/bpf || { fail "$T/setup" "cannot mount a private bpffs"; exit 1; }
dpid=
nspid=
cleanup() {
	[ -n "$nspid" ] && kill "$nspid" 2>/dev/null
	stop_pid "$dpid"
	umount -R "$work" 2>/dev/null || umount -l "$work" 2>/dev/null
	umount /sys/fs/bpf 2>/dev/null
	rmdir "$work" 2>/dev/null
}
trap cleanup EXIT

B=$work/bin
mkdir -p "$B"
cc -O1 -DPROG_NAME='"unlisted"' -o "$B/unlisted" tests/vm/prog.c
cc -O1 -DPROG_NAME='"listed"' -o "$B/listed" tests/vm/prog.c
cc -O1 -o "$B/tmarkwait" tests/vm/tmarkwait.c
# The listed program can no longer be read once embargod knows it: copies are made now, used later.
cp "$B/listed" "$work/listed.copy"
cat >"$work/test.policy" <<P
vendor "Listed Vendor"
sha256 $(sha256sum "$B/listed" | cut -d' ' -f1) label "listed program"
P

# Over 256 superblocks before the start (the old fixed table skipped the rest); the listed copy in the last.
mkdir -p "$work/many"
for i in $(seq 1 300); do
	mkdir "$work/many/$i" && mount -t tmpfs -o size=1m "many$i" "$work/many/$i" || break
done
cp "$B/listed" "$work/many/300/listed" && cp "$B/unlisted" "$work/many/300/unlisted"

RUN=$work/run
LOG=$work/embargod.log
"$EMBARGOD" --policy "$work/test.policy" --log stderr --runtime-dir "$RUN" --tier fanotify \
	--fanotify-path "$work" --no-scan --state-dir "$work/state" >>"$LOG" 2>&1 &
dpid=$!
if ! wait_for 30 "$EMBARGOCTL" --runtime-dir "$RUN" status; then
	fail "$T/start" "$(tail -5 "$LOG")"
	exit 1
fi
pass "$T/start"

run() {
	local out rc
	out=$(timeout 10 "$@" 2>&1)
	rc=$?
	echo "rc=$rc out=$out"
}
denied() { # denied NAME PATH
	local r
	r=$(run "$2")
	if [[ $r == "rc=126 out="*"Operation not permitted" ]]; then pass "$T/$1"; else fail "$T/$1" "$r"; fi
}
runs() { # runs NAME PATH
	local r
	r=$(run "$2")
	if [ "$r" = "rc=0 out=unlisted ran" ]; then pass "$T/$1"; else fail "$T/$1" "$r"; fi
}
# latency NAME OUTPUT: tmarkwait's output, marked within LIMIT_MS
latency() {
	local ms
	ms=$(sed -n 's/^marked \([0-9.]*\) ms after the mount$/\1/p' <<<"$2")
	echo "# $1: $2"
	if [ -n "$ms" ] && awk -v m="$ms" -v l=$LIMIT_MS 'BEGIN { exit !(m <= l) }'; then
		pass "$T/$1-marked-within-${LIMIT_MS}ms"
	else
		fail "$T/$1-marked-within-${LIMIT_MS}ms" "$2"
	fi
}

denied many-superblocks-listed-denied "$work/many/300/listed"
runs many-superblocks-unlisted-runs "$work/many/300/unlisted"

# A tmpfs mounted after the start.
mkdir -p "$work/late"
"$B/tmarkwait" "$dpid" "$work/late" 3000 >"$work/lat.late" &
w=$!
sleep 0.1
mount -t tmpfs -o size=16m late "$work/late"
wait "$w"
latency tmpfs "$(cat "$work/lat.late")"
cp "$work/listed.copy" "$work/late/listed" && cp "$B/unlisted" "$work/late/unlisted"
denied tmpfs-listed-denied "$work/late/listed"
runs tmpfs-unlisted-runs "$work/late/unlisted"

# A loop-mounted ext2 image, made and filled before it is mounted.
dd if=/dev/zero of="$work/img" bs=1M count=16 status=none && mkfs.ext2 -q -F "$work/img" >/dev/null 2>&1
mkdir -p "$work/loop"
if mount -o loop "$work/img" "$work/loop" 2>/dev/null; then
	cp "$work/listed.copy" "$work/loop/listed" && cp "$B/unlisted" "$work/loop/unlisted"
	umount "$work/loop"
	"$B/tmarkwait" "$dpid" "$work/loop" 3000 >"$work/lat.loop" &
	w=$!
	sleep 0.1
	mount -o loop "$work/img" "$work/loop"
	wait "$w"
	latency loop "$(cat "$work/lat.loop")"
	denied loop-listed-denied "$work/loop/listed"
	runs loop-unlisted-runs "$work/loop/unlisted"
	umount "$work/loop"
else
	fail "$T/loop" "cannot loop-mount an ext2 image here"
fi

# A mount point whose name mountinfo escapes (\040 for the space, \011 for the tab, \134 for '\').
sp="$work/with space"$'\t''and \ slash'
mkdir -p "$sp"
"$B/tmarkwait" "$dpid" "$sp" 3000 >"$work/lat.esc" &
w=$!
sleep 0.1
mount -t tmpfs -o size=16m esc "$sp"
wait "$w"
latency escaped-name "$(cat "$work/lat.esc")"
cp "$work/listed.copy" "$sp/listed" && cp "$B/unlisted" "$sp/unlisted"
denied escaped-name-listed-denied "$sp/listed"
runs escaped-name-unlisted-runs "$sp/unlisted"

# A tmpfs in a new user and mount namespace, as a rootless container makes it. The shell there waits for
# go, mounts, copies, waits for go2, then runs both programs and writes what happened where we can read it.
# Its first exec is of a program on a marked file system, as every exec is where the whole machine is
# marked (no --fanotify-path): that exec's permission event makes embargod follow the new namespace at
# once (else the /proc sweep finds it within 2 s).
mkdir -p "$work/ns"
unshare -Urm --propagation private sh -c "
	$B/unlisted >/dev/null
	while [ ! -e $work/go ]; do sleep 0.01; done
	mount -t tmpfs -o size=16m nsfs $work/ns || exit 1
	cp $work/listed.copy $work/ns/listed && cp $B/unlisted $work/ns/unlisted
	while [ ! -e $work/go2 ]; do sleep 0.01; done
	$work/ns/listed >$work/ns-listed.out 2>&1; echo \$? >>$work/ns-listed.out
	$work/ns/unlisted >$work/ns-unlisted.out 2>&1; echo \$? >>$work/ns-unlisted.out
	touch $work/ns-done
	sleep 30" &
nspid=$!
sleep 0.2
"$B/tmarkwait" "$dpid" "/proc/$nspid/root$work/ns" 3000 >"$work/lat.ns" &
w=$!
sleep 0.1
touch "$work/go"
wait "$w"
latency userns-tmpfs "$(cat "$work/lat.ns")"
touch "$work/go2"
wait_for 10 test -e "$work/ns-done"
if grep -q "Operation not permitted" "$work/ns-listed.out" && ! grep -q "listed ran" "$work/ns-listed.out"; then
	pass "$T/userns-listed-denied"
else
	fail "$T/userns-listed-denied" "$(tr '\n' ' ' <"$work/ns-listed.out")"
fi
if [ "$(tr '\n' ' ' <"$work/ns-unlisted.out")" = "unlisted ran 0 " ]; then
	pass "$T/userns-unlisted-runs"
else
	fail "$T/userns-unlisted-runs" "$(tr '\n' ' ' <"$work/ns-unlisted.out")"
fi
st=$("$EMBARGOCTL" --runtime-dir "$RUN" status --json)
if jq -e '([.mechanisms[] | select(test("mount namespace"))] | length >= 1) and .fanotify.mount_namespaces >= 2 and .fanotify.mark_latency_max_us > 0 and .fanotify.held == 0' <<<"$st" >/dev/null; then
	pass "$T/status-names-other-namespace"
else
	fail "$T/status-names-other-namespace" "$(jq -c .mechanisms <<<"$st" | head -c 600)"
fi
kill "$nspid" 2>/dev/null
nspid=

grep 'new file system(s) marked' "$LOG" | sed 's/^/# /' | tail -5
[ $failures -eq 0 ]
