#!/usr/bin/env bash
# The inventory half of `make bench` (bench/run): `embargoctl scan` on /usr with a warm page cache.
#   - hashing throughput with --jobs 1 and 2, next to OpenSSL's own SHA-256 rate measured right before each
#     run (`openssl speed`), as a ratio to that rate times the jobs (target: >= 80%), on the whole tree and
#     on code-dense directories (BENCH_SCAN_CODE), where hashing is nearly all the work; and as CPU
#     efficiency (the CPU time OpenSSL alone would take for those bytes / the CPU time the scan took),
#     which other load on the machine does not change the way it changes wall-clock ratios;
#   - every file (--all) next to `find /usr -type f -print0 | xargs -0 sha256sum`;
#   - a re-scan of the unchanged /usr from the scan cache (target: under 2 s);
#   - the shipped policy (policies/: signer, package and path rules, decided by the decision core) against
#     a digest-only policy: the first scan with a cache (target: within 1.5x) and the re-scan (within 1.2x);
#   - memory: peak resident set, and its anonymous part, on /usr and on a synthetic tree of
#     BENCH_SCAN_FILES files (default 1,000,000, on a private tmpfs, removed afterwards).
# Prints a Markdown section on stdout, keeps it in $BUILD/bench/results/scan.md with the raw lines in
# scan.txt and the log in scan.log, and writes it into docs/bench.md between the bench:scan markers
# (unless BENCH_NO_DOCS=1).
#
# Environment: BENCH_SCAN_ROUNDS (3), BENCH_SCAN_FILES (1000000), BENCH_SCAN_TREE (/usr),
# BENCH_SCAN_CODE ("/usr/bin /usr/lib/x86_64-linux-gnu"), BENCH_NO_DOCS.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

if [ "${EMBARGO_IN_NS:-}" != 1 ]; then
	exec timeout --kill-after=10 900 unshare --mount --propagation private env EMBARGO_IN_NS=1 "$0" "$@"
fi

BUILD=${BUILD:-build}
OUT=$BUILD/bench/results
EMBARGOCTL=$PWD/$BUILD/embargoctl
ROUNDS=${BENCH_SCAN_ROUNDS:-3}
NFILES=${BENCH_SCAN_FILES:-1000000}
TREE=${BENCH_SCAN_TREE:-/usr}
read -r -a CODE <<<"${BENCH_SCAN_CODE:-/usr/bin /usr/lib/x86_64-linux-gnu}"
DOC=docs/bench.md
MD=$OUT/scan.md
t_start=$SECONDS

mkdir -p "$OUT" || exit 1
log() {
	echo "bench: scan: $*" >&2
	[ -z "${LOG:-}" ] || echo "bench: scan: $*" >>"$LOG"
}
fail() {
	log "$*"
	exit 1
}
[ -x "$EMBARGOCTL" ] || fail "no $EMBARGOCTL: build it first (make)"
command -v openssl >/dev/null || fail "no openssl"
command -v jq >/dev/null || fail "no jq"

WORK=$(mktemp -d /tmp/embargo-bench-scan.XXXXXX) || exit 1
# Raw lines and log stay on the private tmpfs until the end: another `make bench` in the same tree
# empties $OUT when it starts.
RAW=$WORK/scan.txt
LOG=$WORK/scan.log
cleanup() {
	cp "$RAW" "$OUT/scan.txt" 2>/dev/null
	cp "$LOG" "$OUT/scan.log" 2>/dev/null
	umount "$WORK/many" 2>/dev/null
	umount "$WORK" 2>/dev/null
	rmdir "$WORK" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mount -t tmpfs -o mode=0755 embargo-bench-scan "$WORK" || fail "cannot mount a private tmpfs on $WORK"
mkdir -p "$WORK/state"
: >"$RAW"
: >"$LOG"

# A policy that lists nothing on the machine: every file is hashed and looked up, none matches.
printf 'vendor "Bench"\nsha256 %064d label "nothing"\n' 0 >"$WORK/bench.policy"

# OpenSSL's SHA-256 on this CPU, now: bytes per second on one core (16 KiB blocks, as documented).
openssl_rate() {
	openssl speed -seconds "${1:-1}" -bytes 16384 sha256 2>/dev/null |
		awk '$1 == "sha256" { sub(/k$/, "", $2); printf "%.0f\n", $2 * 1000 }'
}

# scan_run NAME ARGS...: one `embargoctl scan --json` under /usr/bin/time; appends a raw line with the
# summary's figures, the wall time and the peak RSS. The last summary is left in $WORK/last.json.
scan_run() {
	local name=$1 t0 t1
	shift
	t0=$(date +%s%N)
	/usr/bin/time -f '%M %U %S' -o "$WORK/time" "$EMBARGOCTL" scan --json --policy "${SCAN_POLICY:-$WORK/bench.policy}" \
		--no-processes "$@" >"$WORK/out.json" 2>>"$LOG"
	local rc=$?
	t1=$(date +%s%N)
	if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
		log "$name: embargoctl scan $* exited with $rc"
		return 1
	fi
	tail -n1 "$WORK/out.json" >"$WORK/last.json"
	read -r rss user sys < <(tail -n1 "$WORK/time")
	jq -r --arg name "$name" --arg wall "$(((t1 - t0) / 1000000))" --arg rss "$rss" --arg cpu "$(echo "$user $sys" | awk '{ printf "%.0f", ($1 + $2) * 1000 }')" \
		'"scan name=\($name) files=\(.files_seen) hashed=\(.files_hashed) cached=\(.files_cached) probed=\(.files_probed) bytes=\(.bytes_hashed) ms=\(.elapsed_ms) wall_ms=\($wall) cpu_ms=\($cpu) rss_kb=\($rss) unreadable=\(.unreadable)"' \
		"$WORK/last.json" | tee -a "$RAW" >>"$LOG"
}

# field NAME KEY [N]: KEY of the Nth raw line named NAME (default: the last).
field() {
	awk -v n="$1" -v k="$2" -v want="${3:-0}" '
		{ for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
		$1 == "scan" && f["name"] == n { c++; if (want == 0 || c == want) v = f[k] }
		END { print v }' "$RAW"
}

# peak_anon PID: follows a process until it exits, printing its peak anonymous and total resident KB.
peak_anon() {
	local pid=$1 anon=0 rss=0 k v
	while [ -r "/proc/$pid/status" ]; do
		while read -r k v _; do
			case $k in
			RssAnon:) [ "$v" -gt "$anon" ] && anon=$v ;;
			VmRSS:) [ "$v" -gt "$rss" ] && rss=$v ;;
			esac
		done <"/proc/$pid/status" 2>/dev/null
		sleep 0.1
	done
	echo "$anon $rss"
}

# sampled NAME ARGS...: scan_run with the anonymous memory followed (10 samples a second).
sampled() {
	local name=$1
	shift
	scan_run "$name" "$@" &
	local runner=$! pid=
	for _ in $(seq 50); do
		pid=$(pgrep -P "$(pgrep -P $runner -x time 2>/dev/null || echo 0)" -x embargoctl 2>/dev/null) && break
		sleep 0.02
	done
	local peak="0 0"
	[ -n "$pid" ] && peak=$(peak_anon "$pid")
	wait $runner || return 1
	echo "mem name=$name anon_kb=${peak% *} rss_kb=${peak#* }" | tee -a "$RAW" >>"$LOG"
}

emit() { echo "$*" | tee -a "$RAW" >>"$LOG"; }

# ------------------------------------------------------------------------------- throughput vs OpenSSL
log "warming the page cache with one unreported pass over $TREE"
scan_run warmup "$TREE" --all --jobs 2 --no-cache || fail "the warm-up scan failed"
emit "info tree=$TREE cpus=$(nproc) openssl_multi=$(openssl speed -multi "$(nproc)" -seconds 1 -bytes 16384 sha256 2>/dev/null | awk '$1 == "sha256" { sub(/k$/, "", $2); printf "%.0f", $2 * 1000 }')"
log "throughput: $ROUNDS rounds of --jobs 1 and 2 on $TREE and on ${CODE[*]}, each after an openssl speed run"
scan_run warmup-code "${CODE[@]}" --all --jobs 2 --no-cache || fail "the warm-up scan failed"
for r in $(seq "$ROUNDS"); do
	for j in 1 2; do
		for corpus in tree code; do
			rate=$(openssl_rate 1)
			[ -n "$rate" ] || fail "openssl speed gave no rate"
			if [ $corpus = tree ]; then
				scan_run "$corpus-jobs$j" "$TREE" --jobs "$j" --no-cache || fail "scan --jobs $j failed"
			else
				scan_run "$corpus-jobs$j" "${CODE[@]}" --jobs "$j" --no-cache || fail "scan --jobs $j failed"
			fi
			emit "openssl name=$corpus-jobs$j round=$r rate=$rate"
		done
	done
done

# -------------------------------------------------------------------------- every file vs sha256sum
log "every file: embargoctl scan --all --jobs 2, and find | xargs sha256sum"
rate=$(openssl_rate 1)
sampled all "$TREE" --all --jobs 2 --no-cache || fail "scan --all failed"
emit "openssl name=all round=1 rate=$rate"
t0=$(date +%s%N)
find "$TREE" -type f -print0 2>/dev/null | xargs -0 sha256sum >/dev/null 2>&1
t1=$(date +%s%N)
emit "sha256sum ms=$(((t1 - t0) / 1000000)) bytes=$(find "$TREE" -type f -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }')"

# ------------------------------------------------------------------------------------------ re-scan
log "re-scan of the unchanged $TREE from the cache"
sampled cache-first "$TREE" --cache "$WORK/state/cache" || fail "the first cached scan failed"
# The shipped policy decides by signer, package and path too: the same tree, a cache of its own.
SCAN_POLICY=$PWD/policies scan_run id-first "$TREE" --cache "$WORK/state/id-cache" || fail "the first scan with the shipped policy failed"
for r in $(seq "$ROUNDS"); do
	scan_run rescan "$TREE" --cache "$WORK/state/cache" || fail "re-scan failed"
	SCAN_POLICY=$PWD/policies scan_run id-rescan "$TREE" --cache "$WORK/state/id-cache" || fail "re-scan with the shipped policy failed"
done
emit "cachefile bytes=$(stat -c %s "$WORK/state/cache")"
sampled rescan-mem "$TREE" --cache "$WORK/state/cache" || fail "re-scan failed"

# ---------------------------------------------------------------------------- 1M files: flat memory
if [ "$NFILES" -gt 0 ]; then
	log "$NFILES files on tmpfs: creating"
	mkdir -p "$WORK/many"
	mount -t tmpfs -o "mode=0755,size=4g,nr_inodes=$((NFILES + NFILES / 100 + 10000))" embargo-bench-many "$WORK/many" ||
		fail "cannot mount the tmpfs for the synthetic tree"
	cat >"$WORK/mkfiles.c" <<'C'
/* mkfiles DIR N: N empty executable files, 1000 to a directory. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	long n = strtol(argv[2], NULL, 10);
	char path[4096];
	for (long i = 0; i < n; i++) {
		if (i % 1000 == 0) {
			snprintf(path, sizeof(path), "%s/d%ld", argv[1], i / 1000);
			if (mkdir(path, 0755) < 0)
				return 1;
		}
		snprintf(path, sizeof(path), "%s/d%ld/f%ld", argv[1], i / 1000, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0755);
		if (fd < 0)
			return 1;
		close(fd);
	}
	return 0;
}
C
	cc -O2 -o "$WORK/mkfiles" "$WORK/mkfiles.c" || fail "cannot build the file generator"
	t=$SECONDS
	"$WORK/mkfiles" "$WORK/many" "$NFILES" || fail "cannot create $NFILES files"
	log "created in $((SECONDS - t)) s; scanning"
	sampled many-nocache "$WORK/many" --jobs 2 --no-cache || fail "scan of the synthetic tree failed"
	sampled many-first "$WORK/many" --jobs 2 --cache "$WORK/state/many-cache" || fail "scan failed"
	sampled many-rescan "$WORK/many" --jobs 2 --cache "$WORK/state/many-cache" || fail "re-scan failed"
	umount "$WORK/many"
fi

# ------------------------------------------------------------------------------------------- report
log "done in $((SECONDS - t_start)) s; report"
awk -v tree="$TREE" -v code="${CODE[*]}" -v date="$(date -u '+%Y-%m-%d %H:%M UTC')" -v secs="$((SECONDS - t_start))" -v commit="$(git rev-parse --short HEAD 2>/dev/null || echo '?')" '
	function kv(   i, p) { delete f; for (i = 2; i <= NF; i++) { split($i, p, "="); f[p[1]] = p[2] } }
	function median(a, n,   i, j, t) {
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function gbs(b, ms) { return ms > 0 ? b / ms / 1e6 : 0 }
	# One row: the runs named n with jobs j; the ratio of each run to the OpenSSL rate measured before it.
	function row(label, n, j,   i, k, lo, hi, r, g, t, o, e) {
		k = 0
		for (i = 1; i <= cnt[n]; i++) {
			k++; g[k] = gbs(bytes[n, i], ms[n, i]); o[k] = orate[n, i] * j / 1e9; r[k] = g[k] / o[k]
			t[k] = ms[n, i] / 1000; e[k] = cpu[n, i] > 0 ? bytes[n, i] / orate[n, i] / (cpu[n, i] / 1000) : 0
		}
		if (!k) return
		lo = 1e9; hi = 0; for (i = 1; i <= k; i++) { if (r[i] < lo) lo = r[i]; if (r[i] > hi) hi = r[i] }
		mr = median(r, k)
		printf "| %s | %d | %d | %d | %.2f | %.2f | %.2f | %.2f | **%.0f%%** [%.0f-%.0f%%] | %s | %.0f%% | %.0f |\n", label, files[n], hashed[n], probed[n], bytes[n, 1] / 1e9, median(t, k), median(g, k), median(o, k), mr * 100, lo * 100, hi * 100, (mr >= 0.8 ? "yes" : "no"), median(e, k) * 100, rss[n] / 1024
	}
	$1 == "info" { kv(); cpus = f["cpus"]; multi = f["openssl_multi"] }
	$1 == "scan" { kv(); n = f["name"]; cnt[n]++
		bytes[n, cnt[n]] = f["bytes"]; ms[n, cnt[n]] = f["ms"]; wall[n, cnt[n]] = f["wall_ms"]; cpu[n, cnt[n]] = f["cpu_ms"]
		files[n] = f["files"]; hashed[n] = f["hashed"]; cached[n] = f["cached"]; probed[n] = f["probed"]
		rss[n] = f["rss_kb"] }
	$1 == "openssl" { kv(); n = f["name"]; oc[n]++; orate[n, oc[n]] = f["rate"]; one[++none] = f["rate"] / 1e9 }
	$1 == "mem" { kv(); anon[f["name"]] = f["anon_kb"] }
	$1 == "sha256sum" { kv(); sums_ms = f["ms"]; sums_bytes = f["bytes"] }
	$1 == "cachefile" { kv(); cachebytes = f["bytes"] }
	END {
		printf "Measured %s by `bench/scan.sh` (`make bench`) at commit %s in %d s; %d CPUs; page cache warm.\n\n", date, commit, secs, cpus
		printf "OpenSSL SHA-256 (`openssl speed -bytes 16384`), measured right before each run: one core %.2f GB/s (median of %d); all %d cores together (`-multi`, once) %.2f GB/s.\n\n", median(one, none), none, cpus, multi / 1e9
		print "| run | files seen | hashed | probed | hashed GB | time, s | GB/s | OpenSSL GB/s x jobs | ratio (median [min-max]) | >= 80%? | CPU efficiency | peak RSS, MB |"
		print "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|"
		for (j = 1; j <= 2; j++) row(sprintf("`scan %s --jobs %d`", tree, j), "tree-jobs" j, j)
		for (j = 1; j <= 2; j++) row(sprintf("`scan %s --jobs %d`", code, j), "code-jobs" j, j)
		row(sprintf("`scan %s --all --jobs 2` (every file)", tree), "all", 2)
		printf "| `find %s -type f -print0 \\| xargs -0 sha256sum` | | %d | | %.2f | %.2f | %.2f | | | | | |\n\n", tree, files["all"], sums_bytes / 1e9, sums_ms / 1000, gbs(sums_bytes, sums_ms)
		k = 0; for (i = 1; i <= cnt["rescan"]; i++) { rs[++k] = wall["rescan", i] / 1000 }
		mrs = median(rs, k); hi = 0; for (i = 1; i <= k; i++) if (rs[i] > hi) hi = rs[i]
		printf "Re-scan of the unchanged %s from the cache (%d files, cache file %.1f MB): **%.2f s** (median of %d, slowest %.2f s; the whole command, wall clock): target < 2 s %s. The first scan with the cache took %.2f s.\n\n", tree, files["rescan"], cachebytes / 1e6, mrs, k, hi, (mrs < 2 ? "met" : "NOT met"), wall["cache-first", 1] / 1000
		k = 0; for (i = 1; i <= cnt["id-rescan"]; i++) { ir[++k] = wall["id-rescan", i] / 1000 }
		if (k) {
			mir = median(ir, k); f1 = wall["cache-first", 1] / 1000; i1 = wall["id-first", 1] / 1000
			print "Identity rules: the shipped policy (`policies/`: signer, package and path rules, no digests; every file decided by the decision core, the dpkg database read once into an index) against the digest-only policy above, same tree, each with a cache of its own (wall clock, whole command):"
			print ""
			print "| run | digest-only, s | shipped policy, s | ratio | target |"
			print "|---|---:|---:|---:|---|"
			printf "| first scan with the cache | %.2f | %.2f | **%.2fx** | <= 1.5x %s |\n", f1, i1, (f1 > 0 ? i1 / f1 : 0), (f1 > 0 && i1 / f1 <= 1.5 ? "met" : "NOT met")
			printf "| re-scan of the unchanged tree (median of %d) | %.2f | %.2f | **%.2fx** | <= 1.2x %s |\n\n", k, mrs, mir, (mrs > 0 ? mir / mrs : 0), (mrs > 0 && mir / mrs <= 1.2 ? "met" : "NOT met")
		}
		print "Memory: peak resident set (from `/usr/bin/time`), and its anonymous part (heap and stacks, sampled 10 times a second); the rest is mapped files: the program, its libraries and the cache file (page cache, 80 bytes a file)."
		print ""
		print "| run | files | time, s | files/s | peak RSS, MB | anonymous, MB |"
		print "|---|---:|---:|---:|---:|---:|"
		split("all cache-first rescan-mem many-nocache many-first many-rescan", names, " ")
		split("every file of " tree "|first scan of " tree " with the cache|re-scan of " tree " from the cache|synthetic tree, no cache|synthetic tree, first scan with the cache|synthetic tree, re-scan from the cache", what, "|")
		for (i = 1; i <= 6; i++) {
			n = names[i]
			if (!(n in rss)) continue
			s = ms[n, 1] / 1000
			printf "| %s | %d | %.2f | %.0f | %.1f | %.1f |\n", what[i], files[n], s, (s > 0 ? files[n] / s : 0), rss[n] / 1024, anon[n] / 1024
		}
	}' "$RAW" >"$WORK/scan.md" || fail "report failed"
cp "$WORK/scan.md" "$MD" || fail "cannot write $MD"
cat "$MD"

if [ "${BENCH_NO_DOCS:-0}" != 1 ]; then
	begin='<!-- bench:scan:begin -->'
	end='<!-- bench:scan:end -->'
	if ! grep -qF "$begin" "$DOC" 2>/dev/null || ! grep -qF "$end" "$DOC"; then
		printf '\n## embargoctl scan\n\n%s\n%s\n' "$begin" "$end" >>"$DOC"
	fi
	awk -v begin="$begin" -v end="$end" -v report="$MD" '
		$0 == begin { print; while ((getline line < report) > 0) print line; skip = 1; next }
		$0 == end { skip = 0 }
		!skip' "$DOC" >"$DOC.tmp" && mv "$DOC.tmp" "$DOC"
	log "results written to $DOC"
fi
exit 0
