#!/usr/bin/env bash
# Fleet forwarding of embargo's journal entries with systemd's own pair, on loopback: an embargo event
# in a private journal is sent by systemd-journal-upload to systemd-journal-remote (plain HTTP on
# 127.0.0.1), and the remote journal file holds the same entry: MESSAGE_ID and every EMBARGO_* field.
# Private mount namespace, private journald, private tmpfs (see detect.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."

. tests/lib.sh
private_namespace "$0" "$@"
T=host/journal-forward
REMOTE=/lib/systemd/systemd-journal-remote
UPLOAD=/lib/systemd/systemd-journal-upload

if [ ! -x $REMOTE ] || [ ! -x $UPLOAD ]; then
	echo "SKIP: $T: systemd-journal-remote is not installed (tools/install-deps installs it)"
	exit 0
fi

private_workdir

private_journal "$work" || { fail "$T/journald" "no private journald"; exit 1; }
listed_material "$work" || { fail "$T/setup" "cannot build the test programs"; exit 1; }
start_detect_daemon "$work" || { fail "$T/start" "embargod did not start: $(tail -3 "$work/embargod.out")"; exit 1; }

# A real event: the listed program runs (detection tier: reported, not prevented).
"$work/listed" >/dev/null
remote() { journalctl --no-pager --file "$work/remote/remote.journal" -o json "$@" 2>/dev/null; }

if ! wait_for 15 has journal EMBARGO_SHA256="$sha_listed"; then
	fail "$T/local-entry" "no journal entry for the listed program"
	exit 1
fi
local_rec=$(journal EMBARGO_SHA256="$sha_listed" | head -1)
msgid=$(jq -r .MESSAGE_ID <<<"$local_rec")
pass "$T/local-entry"

# The receiving side: systemd-journal-remote on a free loopback port, writing one journal file.
mkdir "$work/remote"
port=
for _ in 1 2 3; do
	port=$(free_tcp_port) || break
	timeout 120 $REMOTE --listen-http=127.0.0.1:"$port" --output="$work/remote/remote.journal" \
		--split-mode=none >"$work/remote.log" 2>&1 &
	rpid=$!
	extra_pids=$rpid
	# Listening, or gone (the port was taken meanwhile: try another).
	wait_for 10 eval 'tcp_listening "$port" || ! kill -0 "$rpid"'
	tcp_listening "$port" && break
	stop_pid "$rpid"
	rpid= extra_pids=
done
if [ -z "$rpid" ]; then
	fail "$T/remote-listens" "systemd-journal-remote did not listen: $(tail -3 "$work/remote.log")"
	exit 1
fi
pass "$T/remote-listens"

# The sending side: everything in the private journal, then exit (--follow=no); a cursor file as in
# production, so a second run sends only what is new.
timeout 60 $UPLOAD --url="http://127.0.0.1:$port" --save-state="$work/upload.state" --follow=no \
	>"$work/upload.log" 2>&1
st=$?
if [ $st -eq 0 ] && [ -s "$work/upload.state" ]; then
	pass "$T/upload-completes"
else
	fail "$T/upload-completes" "status $st: $(tail -3 "$work/upload.log")"
fi

# The remote journal file has the entry, field for field.
if wait_for 15 has remote MESSAGE_ID="$msgid" EMBARGO_SHA256="$sha_listed"; then
	remote_rec=$(remote MESSAGE_ID="$msgid" EMBARGO_SHA256="$sha_listed" | head -1)
	# Every field embargod wrote (MESSAGE, MESSAGE_ID, PRIORITY, EMBARGO_*) and when it was written.
	pick='with_entries(select(.key | test("^(EMBARGO_|MESSAGE$|MESSAGE_ID$|PRIORITY$|__REALTIME_TIMESTAMP$|_BOOT_ID$)")))'
	lf=$(jq -cS "$pick" <<<"$local_rec")
	rf=$(jq -cS "$pick" <<<"$remote_rec")
	if [ "$lf" = "$rf" ] && jq -e --arg p "$work/listed" '.EMBARGO_PATH == $p and .EMBARGO_VENDOR == "Listed Vendor" and (.EMBARGO_CGROUP_ID | length) > 0' <<<"$remote_rec" >/dev/null; then
		pass "$T/remote-has-entry-with-every-field"
	else
		fail "$T/remote-has-entry-with-every-field" "local $lf remote $rf"
	fi
	n=$(jq -r 'keys[] | select(startswith("EMBARGO_"))' <<<"$remote_rec" | wc -l)
	echo "# forwarded entry: MESSAGE_ID $msgid with $n EMBARGO_* fields"
else
	fail "$T/remote-has-entry-with-every-field" "not in the remote journal: $(tail -3 "$work/remote.log")"
fi

# A second upload from the saved cursor sends what is new, once. systemd 252's journal-upload also sends
# the entry its cursor names a second time (it seeks to the cursor and takes one step, which lands on
# that entry): delivery is at least once, and the original entry's identity (_BOOT_ID and
# __MONOTONIC_TIMESTAMP, kept by journal-remote) tells a repeat from a new event (docs/journal.md).
cp "$work/listed" "$work/listed-2"
"$work/listed-2" >/dev/null
if wait_for 15 has journal EMBARGO_PATH="$work/listed-2" &&
	timeout 60 $UPLOAD --url="http://127.0.0.1:$port" --save-state="$work/upload.state" --follow=no \
		>>"$work/upload.log" 2>&1 &&
	wait_for 15 has remote EMBARGO_PATH="$work/listed-2"; then
	n_new=$(remote EMBARGO_PATH="$work/listed-2" | wc -l)
	n_old=$(remote EMBARGO_PATH="$work/listed" | wc -l)
	events=$(remote EMBARGO_SHA256="$sha_listed" | jq -r '._BOOT_ID + " " + .__MONOTONIC_TIMESTAMP' | sort -u | wc -l)
	echo "# second upload: the new entry arrived $n_new time(s), the first one $n_old time(s) in all"
	check "$T/resume-from-cursor-delivers-new-once" test "$n_new" = 1 -a "$events" = 2 -a "$n_old" -le 2
else
	fail "$T/resume-from-cursor-delivers-new-once" "$(tail -3 "$work/upload.log")"
fi

[ $failures -eq 0 ]
