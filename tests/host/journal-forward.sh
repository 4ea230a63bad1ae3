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
start_daemon "$work" || { fail "$T/start" "embargod did not start: $(tail -3 "$work/embargod.out")"; exit 1; }

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

# start_remote NAME OPTION...: systemd-journal-remote on a free loopback port, writing
# $work/remote/NAME.journal; sets port, and its PID joins extra_pids. 1 if it never listened.
start_remote() {
	local name=$1 pid
	shift
	for _ in 1 2 3; do
		port=$(free_tcp_port) || return 1
		timeout 120 $REMOTE "${@/PORT/$port}" --output="$work/remote/$name.journal" --split-mode=none \
			>"$work/$name.log" 2>&1 &
		pid=$!
		extra_pids="${extra_pids:-} $pid"
		# Listening, or gone (the port was taken meanwhile: try another).
		wait_for 10 eval 'tcp_listening "$port" || ! kill -0 "$pid"'
		tcp_listening "$port" && return 0
		stop_pid "$pid"
	done
	return 1
}

mkdir "$work/remote"
if ! start_remote remote --listen-http=127.0.0.1:PORT; then
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

# Production transport: HTTPS, the uploader checking the collector's certificate against the fleet's
# CA. (systemd 252 as Debian 12 builds it cannot check client certificates: --trust is "not
# available" in journal-remote, so the collector takes any client that reaches it; docs/journal.md.)
pki="$work/pki"
mkdir "$pki"
mkcert() { # mkcert NAME CA: a key and a certificate for localhost signed by CA (or self-signed)
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null &&
		openssl x509 -req -in "$pki/$1.csr" -CA "$pki/$2.pem" -CAkey "$pki/$2.key" -CAcreateserial -days 2 \
			-extfile <(printf 'subjectAltName=DNS:localhost\n') -out "$pki/$1.pem" 2>/dev/null
}
mkca() { openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" -keyout "$pki/$1.key" -out "$pki/$1.pem" 2>/dev/null; }
if ! { mkca fleet-ca && mkca other-ca && mkcert collector fleet-ca && mkcert server-1 fleet-ca; }; then
	fail "$T/https" "cannot make the test certificates"
elif ! start_remote tls --listen-https=127.0.0.1:PORT --key="$pki/collector.key" --cert="$pki/collector.pem"; then
	fail "$T/https" "systemd-journal-remote did not listen on HTTPS: $(tail -3 "$work/tls.log")"
else
	up() { # up CA: upload everything to the HTTPS collector, trusting CA
		timeout 60 $UPLOAD --url="https://localhost:$port" --key="$pki/server-1.key" \
			--cert="$pki/server-1.pem" --trust="$pki/$1.pem" --follow=no >>"$work/upload-tls.log" 2>&1
	}
	tls() { journalctl --no-pager --file "$work/remote/tls.journal" -o json "$@" 2>/dev/null; }
	# A collector whose certificate the fleet's CA did not sign is refused: nothing is sent.
	up other-ca
	st=$?
	if [ $st -ne 0 ] && [ "$(tls | wc -l)" = 0 ] && grep -q "SSL certificate problem" "$work/upload-tls.log"; then
		pass "$T/https-refuses-unknown-collector"
	else
		fail "$T/https-refuses-unknown-collector" "status $st: $(tail -2 "$work/upload-tls.log")"
	fi
	if up fleet-ca && wait_for 15 has tls MESSAGE_ID="$msgid" EMBARGO_SHA256="$sha_listed"; then
		pass "$T/https-upload-verified-collector"
	else
		fail "$T/https-upload-verified-collector" "$(tail -3 "$work/upload-tls.log")"
	fi
fi

[ $failures -eq 0 ]
