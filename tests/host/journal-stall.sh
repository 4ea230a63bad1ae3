#!/usr/bin/env bash
# A journal that stops taking entries must not stop decisions (fapolicyd's deadlock: its log waited on
# a journald that waited on an exec fapolicyd held). In the fanotify tier, where every exec on the
# marked filesystem waits for embargod's answer, journald is stopped (SIGSTOP) while thousands of
# denied execs come from distinct parents: every one must be refused at once (no decision timeout, which
# would let them run), and once journald runs again, every denial must be in the journal, one by one or
# counted in a summary of what the full log queue lost.
# Private mount namespace, private journald, private tmpfs (the only filesystem marked), private bpffs.
set -uo pipefail
cd "$(dirname "$0")/../.."

. tests/lib.sh
private_namespace "$0" "$@"
T=host/journal-stall
# More than embargod's log queue (4096 entries) and the journal socket's backlog together.
EXECS=${EMBARGO_STALL_EXECS:-7000}

private_workdir
mount -t bpf bpf /sys/fs/bpf || { fail "$T/setup" "cannot mount a private bpffs"; exit 1; }
cleanup_extra() {
	[ -n "${jd:-}" ] && kill -CONT "$jd" 2>/dev/null
	umount /sys/fs/bpf 2>/dev/null
}

private_journal "$work" || { fail "$T/journald" "no private journald"; exit 1; }
# journald itself (private_journal runs it under timeout): the process to stop.
jd=$(pgrep -P "$jpid" -x systemd-journal) || { fail "$T/journald" "no journald process under $jpid"; exit 1; }
listed_material "$work" || { fail "$T/setup" "cannot build the test programs"; exit 1; }

# execs N PATH: N execs of PATH, each by a parent of its own (so the kernel's dedup does not count them
# into one report); prints how many were refused with EPERM, how many not, and the median, 99th
# percentile and slowest time of one (fork, fork, exec, waits) in µs.
cat >"$work/execs.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static long long now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}
static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}
int main(int argc, char **argv)
{
	int n = atoi(argv[1]), denied = 0, other = 0, st;
	long long *t = calloc(n, sizeof(*t));
	if (!t)
		return 1;
	for (int i = 0; i < n; i++) {
		long long t0 = now_us();
		pid_t c = fork();
		if (c == 0) {
			pid_t g = fork();
			if (g == 0) {
				execv(argv[2], argv + 2);
				_exit(errno == EPERM ? 126 : 127);
			}
			waitpid(g, &st, 0);
			_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128);
		}
		waitpid(c, &st, 0);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 126)
			denied++;
		else
			other++;
		t[i] = now_us() - t0;
	}
	qsort(t, n, sizeof(*t), cmp);
	printf("%d %d %lld %lld %lld\n", denied, other, t[n / 2], t[n * 99 / 100], t[n - 1]);
	return 0;
}
C
cc -O1 -o "$work/execs" "$work/execs.c" || { fail "$T/setup" "cannot build the exec driver"; exit 1; }

# No rate limit: what the journal cannot take is what the full queue loses, nothing else.
printf 'log_rate_limit 0\n' >"$work/embargo.conf"
start_daemon "$work" --config "$work/embargo.conf" --tier fanotify --fanotify-path "$work" ||
	{ fail "$T/start" "embargod did not start: $(tail -3 "$work/embargod.out")"; exit 1; }
ctl() { "$EMBARGOCTL" --runtime-dir "$work/run" "$@"; }
denied_now() { ctl status --json | jq '.fanotify.denied'; }

# The pipeline works: one denial, in the journal.
r=$("$work/execs" 1 "$work/listed")
if [ "${r%% *}" = 1 ] && wait_for 15 has journal MESSAGE_ID=$MSGID_DENIED EMBARGO_SHA256="$sha_listed"; then
	pass "$T/denied-and-logged"
else
	fail "$T/denied-and-logged" "execs: $r; $(journal EMBARGO_SHA256="$sha_listed" | head -2)"
	exit 1
fi
d0=$(denied_now)

# For comparison: the same with journald running.
read -r _ _ p50 p99 max <<<"$("$work/execs" 1000 "$work/listed")"
echo "# journald running: 1000 denied execs, per exec median $p50 µs, 99th percentile $p99 µs, slowest $max µs"

# The journal stops; the execs go on.
kill -STOP "$jd"
read -r n_denied n_other p50 p99 max <<<"$("$work/execs" "$EXECS" "$work/listed")"
st=$(ctl status --json)
echo "# journald stopped: $EXECS denied execs, per exec median $p50 µs, 99th percentile $p99 µs, slowest $max µs; $n_denied refused, $n_other not; log records dropped so far $(jq .counters.log_dropped <<<"$st")"
check "$T/every-exec-refused-while-journal-stalled" test "$n_denied" = "$EXECS" -a "$n_other" = 0
# A decision that had waited for the log would have run into decision_timeout_ms (1000) and been
# answered by on_timeout (allow: the exec would have run): none did.
check "$T/no-decision-waited-for-the-journal" test "$(jq .fanotify.timeouts <<<"$st")" = 0
check "$T/full-queue-drops-counted" test "$(jq .counters.log_dropped <<<"$st")" -gt 0

# The journal runs again: every denial is accounted for, one by one or in a summary.
kill -CONT "$jd"
jd=
total=$(($(denied_now) - d0))
accounted() {
	local one rep sup
	one=$(journal MESSAGE_ID=$MSGID_DENIED EMBARGO_SHA256="$sha_listed" | jq -s 'map(1 + (.EMBARGO_REPEATED // "0" | tonumber)) | add // 0')
	rep=$(journal MESSAGE_ID=$MSGID_REPEATED EMBARGO_PATH="$work/listed" | jq -s 'map(.EMBARGO_REPEATED | tonumber) | add // 0')
	sup=$(journal MESSAGE_ID=$MSGID_SUPPRESSED | jq -s 'map(.EMBARGO_SUPPRESSED | tonumber) | add // 0')
	echo $((one + rep + sup))
}
all_accounted() { [ "$(accounted)" = "$((total + 1))" ]; }
if wait_for 60 all_accounted; then
	pass "$T/every-denial-in-the-journal"
else
	fail "$T/every-denial-in-the-journal" "$(accounted) accounted for, $((total + 1)) denied"
fi
# The summaries say what the full queue lost: denials of this vendor (plus any plain messages).
dropped=$(ctl status --json | jq .counters.log_dropped)
sum=$(journal MESSAGE_ID=$MSGID_SUPPRESSED | jq -s -c '{q: (map(.EMBARGO_SUPPRESSED_QUEUE | tonumber) | add),
	records: (map(.EMBARGO_SUPPRESSED_RECORDS | tonumber) | add),
	m: (map(.EMBARGO_LOG_DROPPED // "0" | tonumber) | add), r: (map(.EMBARGO_SUPPRESSED_RATE | tonumber) | add),
	d: (map(.EMBARGO_SUPPRESSED_DENIED | tonumber) | add), v: ([.[].EMBARGO_SUPPRESSED_VENDORS | fromjson | .[].vendor] | unique)}')
echo "# summaries: $sum"
if jq -e --argjson n "$dropped" '.records + .m == $n and .q > 0 and .r == 0 and .d == .q and .v == ["Listed Vendor"]' \
	<<<"$sum" >/dev/null; then
	pass "$T/summary-says-queue-lost-denials"
else
	fail "$T/summary-says-queue-lost-denials" "log_dropped $dropped, summaries $sum"
fi

[ $failures -eq 0 ]
