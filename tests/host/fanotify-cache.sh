#!/usr/bin/env bash
# The fanotify tier's verdict cache means the content is what was checked (issue 11, section 2): a file
# rewritten in place within one timestamp tick (same inode, same size, same ctime), with write(2) or
# through a shared mapping, is decided again, and refused once it holds listed bytes; what is not written
# is still answered from the cache. Scoped to a private tmpfs in a private mount namespace (the only
# filesystem marked) and a private bpffs.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
T=host/fanotify-cache
private_namespace "$0" "$@"

private_workdir
mount -t bpf bpf /sys/fs/bpf || { fail "$T/setup" "cannot mount a private bpffs"; exit 1; }
cleanup_extra() { umount /sys/fs/bpf 2>/dev/null; }
private_journal "$work" || { fail "$T/setup" "no private journal"; exit 1; }

B=$work/bin
mkdir -p "$B"
cc -O1 -DPROG_NAME='"unlisted"' -o "$B/prog" tests/vm/prog.c &&
	cc -O1 -o "$B/trewrite" tests/vm/trewrite.c || { fail "$T/setup" "cannot build"; exit 1; }
# Listed: the program with this run's name appended (another test's daemon must not count it).
{ cat "$B/prog"; printf 'L%s' "$work"; } >"$B/listed.bin"
# Its bits flipped: trewrite's material (reading it is never refused).
"$B/trewrite" --invert "$B/listed.bin" "$B/listed.inv" || { fail "$T/setup" "cannot invert"; exit 1; }
cp "$B/prog" "$B/stays"
printf 'vendor "Listed Vendor"\nsha256 %s label "listed"\n' "$(sha256sum "$B/listed.bin" | cut -d' ' -f1)" \
	>"$work/test.policy"

if ! start_daemon "$work" --tier fanotify --fanotify-path "$work" --mode enforce; then
	fail "$T/start" "$(tail -5 "$work/embargod.out")"
	exit 1
fi
ctl() { "$EMBARGOCTL" --runtime-dir "$work/run" "$@"; }
quiet() { "$@" >/dev/null; }
stat_of() { ctl status --json | jq -r ".fanotify.$1"; }

# Unwritten files are still answered from the cache.
check "$T/unwritten-runs" quiet timeout 10 "$B/stays"
hits=$(stat_of cache_hits)
check "$T/unwritten-runs-again" quiet timeout 10 "$B/stays"
if [ "$(stat_of cache_hits)" -gt "$hits" ] && [ "$(stat_of watched)" -ge 1 ]; then
	pass "$T/unwritten-cached"
else
	fail "$T/unwritten-cached" "$(ctl status --json | jq -c .fanotify)"
fi

# Rewritten within one tick: the exec of the zeros cached CLEAN under the very ctime the listed bytes now
# have. A kernel with multigrain time stamps (6.13 and later: the enforcer's fstat asks for the ctime, so
# the next write gets a finer one) never lets that happen: there it is skipped, the VM guest (6.1) runs it.
for how in write mmap; do
	r=$(timeout 250 "$B/trewrite" "$B/by-$how" "$B/listed.inv" "$how")
	case "$r" in
	refused*) pass "$T/rewrite-$how-same-tick-refused" ;;
	"no rewrite within one tick") echo "SKIP: $T/rewrite-$how-same-tick-refused: $r (multigrain time stamps)" ;;
	*) fail "$T/rewrite-$how-same-tick-refused" "$r" ;;
	esac
done
# Either way, each rewrite dropped the verdict cached on the zeros.
if [ "$(stat_of invalidations)" -ge 2 ]; then pass "$T/rewrites-invalidate"; else fail "$T/rewrites-invalidate" "$(ctl status --json | jq -c .fanotify)"; fi

[ $failures -eq 0 ]
