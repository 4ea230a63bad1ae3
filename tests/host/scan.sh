#!/usr/bin/env bash
# Host tests of `embargoctl scan`: exit statuses, text and JSON output, the persistent cache (re-scan reads
# nothing, a damaged cache is rebuilt), pseudo filesystems skipped, running listed processes found (also
# once their file is deleted), the progress line only on a terminal, the policy of a running embargod.
# Runs in a private mount namespace on a private tmpfs: nothing of the machine's own filesystems is written.
set -uo pipefail
cd "$(dirname "$0")/../.."

if [ "${EMBARGO_IN_NS:-}" != 1 ]; then
	exec timeout --kill-after=10 300 unshare --mount --propagation private env EMBARGO_IN_NS=1 "$0" "$@"
fi

. tests/lib.sh
T=host/scan

work=$(mktemp -d /tmp/embargo-scan.XXXXXX)
mount -t tmpfs -o mode=0755 embargo-test "$work" || { fail "$T/setup" "cannot mount a private tmpfs"; exit 1; }
tpid= dpid=
cleanup() {
	stop_pid "$tpid"
	stop_pid "$dpid"
	exec 7>&- 2>/dev/null
	umount -R "$work" 2>/dev/null
	rmdir "$work" 2>/dev/null
}
trap cleanup EXIT

scan() { timeout 120 "$EMBARGOCTL" scan "$@"; }
# Careful: `jq -e` exits 4 when its last input gives no output (a select() on the summary line), and
# `grep -q` ends a pipeline early (SIGPIPE under pipefail): select()s are piped to `grep -c true`.

# Test material: a listed program that waits for a byte on stdin, an unlisted one, a listed script.
cat >"$work/prog.c" <<'C'
#include <unistd.h>
int main(void) { char c; return read(0, &c, 1) < 0; }
C
mkdir -p "$work/tree/bin" "$work/tree/lib/deep/er" "$work/tree/data" "$work/clean" "$work/state"
cc -O1 -o "$work/tree/bin/unlisted" "$work/prog.c" || { fail "$T/setup" "cc failed"; exit 1; }
cp "$work/tree/bin/unlisted" "$work/tree/bin/listed" && printf 'A' >>"$work/tree/bin/listed"
# The same content under another name, without the exec bit (an ELF all the same).
cp "$work/tree/bin/listed" "$work/tree/lib/deep/er/renamed.dat" && chmod 0644 "$work/tree/lib/deep/er/renamed.dat"
printf '#!/bin/sh\necho listed script\n' >"$work/tree/bin/script.sh" && chmod 0755 "$work/tree/bin/script.sh"
printf 'just data\n' >"$work/tree/data/readme.txt"
ln -s ../bin/listed "$work/tree/data/link-to-listed"
ln -s . "$work/tree/data/loop"
mkfifo "$work/tree/data/fifo"
cp "$work/tree/bin/unlisted" "$work/clean/unlisted"
sha_bin=$(sha256sum "$work/tree/bin/listed" | cut -d' ' -f1)
sha_sh=$(sha256sum "$work/tree/bin/script.sh" | cut -d' ' -f1)
cat >"$work/test.policy" <<P
vendor "Listed Vendor" reason "test"
sha256 $sha_bin label "listed binary"
sha256 $sha_sh label "listed script"
P
P="--policy $work/test.policy"

# 1. Exit statuses: 0 nothing found, 1 found, 2 error.
scan "$work/clean" $P --no-cache --no-processes >"$work/out0" 2>"$work/err0"
check "$T/exit-0-nothing-found" test $? = 0 -a ! -s "$work/out0"
scan "$work/tree" $P --no-cache --no-processes >"$work/out1" 2>"$work/err1"
st=$?
check "$T/exit-1-found" test $st = 1
scan "$work/nonexistent" $P --no-cache --no-processes >/dev/null 2>"$work/err2"
st=$?
if [ $st = 2 ] && grep -q "nonexistent: No such file or directory" "$work/err2"; then pass "$T/exit-2-missing-path"; else fail "$T/exit-2-missing-path" "status $st: $(head -3 "$work/err2")"; fi
printf 'vendor "X"\nsha256 12\n' >"$work/bad.policy"
scan "$work/tree" --policy "$work/bad.policy" --no-cache >/dev/null 2>"$work/err3"
st=$?
if [ $st = 2 ] && grep -q "bad.policy:2:" "$work/err3"; then pass "$T/exit-2-bad-policy"; else fail "$T/exit-2-bad-policy" "status $st: $(head -3 "$work/err3")"; fi
timeout 20 "$EMBARGOCTL" --runtime-dir "$work/no-daemon" scan "$work/tree" --no-cache >/dev/null 2>"$work/err4"
st=$?
if [ $st = 2 ] && grep -q -- "--policy PATH" "$work/err4"; then pass "$T/exit-2-no-policy-hint"; else fail "$T/exit-2-no-policy-hint" "status $st: $(head -3 "$work/err4")"; fi
timeout 20 "$EMBARGOCTL" scan --jobs 0 "$work/tree" $P >/dev/null 2>&1
check "$T/exit-64-usage" test $? = 64

# 2. Text output: one line per match (the binary, its renamed copy, the script), never a symlink's name,
# nothing but results on stdout, the summary on stderr.
if [ "$(wc -l <"$work/out1")" = 3 ] &&
	grep -q "^$work/tree/bin/listed  Listed Vendor  $work/test.policy:2  $sha_bin  [0-9]*  root  20" "$work/out1" &&
	grep -q "^$work/tree/lib/deep/er/renamed.dat  " "$work/out1" &&
	grep -q "^$work/tree/bin/script.sh  Listed Vendor  $work/test.policy:3  $sha_sh" "$work/out1" &&
	! grep -q "link-to-listed" "$work/out1" && grep -q "^scan: .* 3 matches" "$work/err1"; then
	pass "$T/text-matches"
else
	fail "$T/text-matches" "$(cat "$work/out1" "$work/err1")"
fi

# 3. JSON lines: every line an object, one per match, the summary last.
scan "$work/tree" $P --no-cache --no-processes --json >"$work/j1" 2>"$work/j1.err"
if jq -e . "$work/j1" >/dev/null 2>&1 &&
	[ "$(jq -s '[.[] | select(.type == "file")] | length' "$work/j1")" = 3 ] &&
	[ "$(tail -n1 "$work/j1" | jq -r .type)" = summary ] &&
	jq --arg p "$work/tree/bin/listed" --arg s "$sha_bin" \
		'select(.path == $p) | .sha256 == $s and .vendor == "Listed Vendor" and .label == "listed binary" and .owner == "root" and .size > 0 and (.mtime | test("^20"))' \
		"$work/j1" | grep -c true >/dev/null &&
	tail -n1 "$work/j1" | jq -e '.matches == 3 and .files_seen == 5 and .other_skipped == 3 and .unreadable == 0' >/dev/null; then
	pass "$T/json-lines"
else
	fail "$T/json-lines" "$(head -c 2000 "$work/j1")"
fi

# 4. The cache: the first scan writes it, the second reads no content and finds the same.
C="--cache $work/state/cache"
scan "$work/tree" $P $C --no-processes --json >"$work/c1" 2>/dev/null
scan "$work/tree" $P $C --no-processes --json >"$work/c2" 2>/dev/null
if tail -n1 "$work/c1" | jq -e '.cache.written and .files_hashed == 4' >/dev/null &&
	tail -n1 "$work/c2" | jq -e '.cache.loaded and .files_hashed == 0 and .files_probed == 0 and .bytes_hashed == 0 and .files_cached == .files_seen and .matches == 3' >/dev/null &&
	[ "$(jq -s '[.[] | select(.type == "file" and .from_cache)] | length' "$work/c2")" = 3 ]; then
	pass "$T/rescan-from-cache"
else
	fail "$T/rescan-from-cache" "$(tail -n1 "$work/c1") / $(tail -n1 "$work/c2")"
fi
# A changed file is read again.
printf 'B' >>"$work/tree/bin/unlisted"
scan "$work/tree" $P $C --no-processes --json >"$work/c3" 2>/dev/null
check "$T/rescan-changed-file-rehashed" bash -c "tail -n1 '$work/c3' | jq -e '.files_hashed == 1 and .matches == 3' >/dev/null"
# A damaged cache is said to be so, not used, and rebuilt.
printf '\xff' | dd of="$work/state/cache" bs=1 seek=200 conv=notrunc status=none
scan "$work/tree" $P $C --no-processes --json >"$work/c4" 2>"$work/c4.err"
if grep -q "cache .*checksum" "$work/c4.err" &&
	tail -n1 "$work/c4" | jq -e '.cache.rejected and .cache.written and .files_hashed == 4 and .matches == 3' >/dev/null; then
	pass "$T/damaged-cache-rebuilt"
else
	fail "$T/damaged-cache-rebuilt" "$(cat "$work/c4.err") $(tail -n1 "$work/c4")"
fi

# 5. Pseudo filesystems below a tree are not entered (named, they are).
mkdir -p "$work/tree/proc"
mount -t proc proc "$work/tree/proc"
scan "$work/tree" $P --no-cache --no-processes --json >"$work/m1" 2>/dev/null
check "$T/proc-mount-skipped" bash -c "tail -n1 '$work/m1' | jq -e '.mounts_skipped == 1 and .files_seen == 5' >/dev/null"
umount "$work/tree/proc"
rmdir "$work/tree/proc"

# 6. Running code: the listed binary, waiting on a pipe, under timeout (its child).
mkfifo "$work/pipe"
exec 7<>"$work/pipe" # a writer that never writes: the reader blocks
timeout 120 "$work/tree/bin/listed" <"$work/pipe" &
tpid=$!
lpid=
wait_for 10 pgrep -P "$tpid" && lpid=$(pgrep -P "$tpid")
if [ -z "$lpid" ] || ! wait_for 10 test "$(readlink "/proc/$lpid/exe" 2>/dev/null)" = "$work/tree/bin/listed"; then
	fail "$T/running-process-found" "the listed program did not start"
else
	scan "$work/clean" $P --no-cache >"$work/p1" 2>"$work/p1.err"
	st=$?
	if [ $st = 1 ] && grep -q "^Running:" "$work/p1" &&
		grep -q "^  $lpid  root  exe  $work/tree/bin/listed  Listed Vendor  $work/test.policy:2  $sha_bin  " "$work/p1"; then
		pass "$T/running-process-found"
	else
		fail "$T/running-process-found" "status $st: $(cat "$work/p1" "$work/p1.err")"
	fi
	scan "$work/clean" $P --no-cache --json >"$work/p2" 2>/dev/null
	if jq --argjson pid "$lpid" --arg p "$work/tree/bin/listed" \
		'select(.type == "process" and .pid == $pid) | .exe and (.deleted | not) and .path == $p and .user == "root" and .comm == "listed" and (.cmdline | test("bin/listed$")) and (.cgroup != null)' \
		"$work/p2" | grep -c true >/dev/null; then
		pass "$T/running-process-json"
	else
		fail "$T/running-process-json" "$(grep process "$work/p2")"
	fi
	# Deleted while running: still found, through /proc/PID/exe.
	rm "$work/tree/bin/listed"
	scan "$work/clean" $P --no-cache --json >"$work/p3" 2>/dev/null
	st=$?
	if [ $st = 1 ] && jq --argjson pid "$lpid" --arg p "$work/tree/bin/listed" --arg s "$sha_bin" \
		'select(.type == "process" and .pid == $pid) | .exe and .deleted and .path == $p and .sha256 == $s' \
		"$work/p3" | grep -c true >/dev/null; then
		pass "$T/deleted-running-process-found"
	else
		fail "$T/deleted-running-process-found" "status $st: $(grep process "$work/p3")"
	fi
	scan "$work/clean" $P --no-cache >"$work/p4" 2>/dev/null
	check "$T/deleted-shown-in-text" grep -q "  exe  $work/tree/bin/listed (deleted)  " "$work/p4"
	stop_pid "$tpid"
	tpid=
	scan "$work/clean" $P --no-cache >/dev/null 2>&1
	check "$T/stopped-process-gone" test $? = 0
fi

# 7. Progress: never in a pipe or file; on a terminal, rewritten in place.
scan /usr $P --no-cache --no-processes >/dev/null 2>"$work/prog.err"
if ! grep -q $'\r' "$work/prog.err" && [ "$(wc -l <"$work/prog.err")" -le 2 ]; then
	pass "$T/no-progress-when-not-a-tty"
else
	fail "$T/no-progress-when-not-a-tty" "$(head -c 300 "$work/prog.err" | od -c | head -5)"
fi
if command -v script >/dev/null; then
	script -qec "$EMBARGOCTL scan /usr --policy $work/test.policy --no-cache --no-processes" /dev/null >"$work/tty.out" 2>&1
	if grep -q $'\r\e\[Kscan: [0-9]* files, [0-9]* files/s, [0-9]* MB/s, 0 matches' "$work/tty.out"; then
		pass "$T/progress-on-a-tty"
	else
		fail "$T/progress-on-a-tty" "$(head -c 300 "$work/tty.out" | od -c | head -5)"
	fi
else
	echo "SKIP: $T/progress-on-a-tty: no script(1)"
fi

# 8. Without --policy: the policy of the running embargod (its status names the path).
if [ -x "$EMBARGOD" ]; then
	nscan=
	"$EMBARGOD" --help 2>&1 | grep -q -- --no-scan && nscan=--no-scan
	# --tier detect: auto would pick fanotify here and mark the machine's own filesystems (never in a test).
	timeout 120 "$EMBARGOD" --policy "$work/test.policy" --log stderr --runtime-dir "$work/run" --tier detect \
		--state-dir "$work/state" $nscan >"$work/embargod.log" 2>&1 &
	dpid=$!
	if wait_for 30 "$EMBARGOCTL" --runtime-dir "$work/run" status; then
		timeout 120 "$EMBARGOCTL" --runtime-dir "$work/run" scan "$work/tree" --no-cache --no-processes >"$work/d1" 2>"$work/d1.err"
		st=$?
		check "$T/policy-from-daemon" test $st = 1 -a "$(wc -l <"$work/d1")" = 2
	else
		echo "SKIP: $T/policy-from-daemon: embargod did not start: $(tail -n 3 "$work/embargod.log" | tr '\n' ' ')"
	fi
	stop_pid "$dpid"
	dpid=
fi

[ $failures -eq 0 ]
