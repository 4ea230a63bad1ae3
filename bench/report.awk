# The tables of `make bench`, in Markdown, from the result lines of bench/host.sh and bench/guest.sh (see
# bench/common.sh for their format). Plain POSIX awk. Variables: target (the ratio a cache hit may cost
# at most, relative to an empty program on the same hook).

function parse(   i, kv) {
	split("", F)
	for (i = 2; i <= NF; i++) {
		split($i, kv, "=")
		F[kv[1]] = substr($i, length(kv[1]) + 2)
		if (F[kv[1]] ~ /^[0-9]+(\.[0-9]+)?$/)
			F[kv[1]] += 0
	}
}

# Median of the n values in a[1..n] (sorts a).
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
	if (ns < 0)
		return "-"
	if (ns >= 1000000)
		return sprintf("%.2f ms", ns / 1000000)
	if (ns >= 10000)
		return sprintf("%.1f us", ns / 1000)
	if (ns >= 1000)
		return sprintf("%.2f us", ns / 1000)
	return sprintf("%.0f ns", ns)
}

$1 == "info" {
	parse()
	for (k in F)
		if (k != "tier")
			info[F["tier"], k] = F[k]
	tiers[F["tier"]] = 1
}

$1 == "result" && $0 ~ / config=(none|audit|enforce) / {
	parse()
	t = F["tier"]; l = F["loop"]
	if (!((t, l) in seen_loop)) {
		seen_loop[t, l] = 1
		loops[t] = loops[t] " " l
	}
	if (F["round"] > nrounds[t])
		nrounds[t] = F["round"]
	ns[t, l, F["config"], F["round"]] = F["ns"]
	mn[t, l, F["config"], F["round"]] = F["min"]
	n_ops[t, l] = F["n"]
}

$1 == "stat" {
	parse()
	stat_ns[F["tier"], F["phase"], F["prog"]] = F["ns_per_run"]
	stat_runs[F["tier"], F["phase"], F["prog"]] = F["runs"]
}

$1 == "counters" {
	parse()
	c = ""
	for (k in F)
		if (k != "tier" && k != "phase" && F[k] != 0)
			c = c (c ? ", " : "") k " " F[k]
	counters[F["tier"], F["phase"]] = c
}

# The median over the rounds of the per-round ratio config / none of the values in arr (ns: batch
# medians, mn: fastest batches), with the smallest and largest per-round ratio: " **m** (lo-hi) |".
function ratio_cell(arr, t, l, c,   r, n, v, lo, hi) {
	n = 0
	for (r = 1; r <= nrounds[t]; r++)
		if ((t, l, c, r) in arr && arr[t, l, "none", r] > 0)
			v[++n] = arr[t, l, c, r] / arr[t, l, "none", r]
	if (!n)
		return " - |"
	lo = hi = v[1]
	for (r = 2; r <= n; r++) {
		if (v[r] < lo) lo = v[r]
		if (v[r] > hi) hi = v[r]
	}
	return sprintf(" **%.2f** (%.2f-%.2f) |", median(v, n), lo, hi)
}

function loop_table(t,   nl, ls, i, l, c, r, n, v, k, line, what) {
	what["exec"] = "exec: posix_spawn (vfork+execve) + wait of a static one-syscall binary"
	what["open"] = "open(O_RDONLY) + close of a small unlisted file, by a non-interpreter"
	what["mmap"] = "open + mmap(PROT_EXEC) + munmap + close of a small file"
	what["cc"] = "compile and run: sh -c 'cc t.c && ./a.out' (tcc in the guest)"
	what["sh"] = "interpreter start-up: sh -c :"
	what["python"] = "interpreter start-up: python3 -c pass"
	what["dpkg"] = "install and remove a package of 1,000 files (dpkg -i, dpkg -r)"
	what["tar"] = "extract 1,000 files from a tar and remove them (stand-in for a package install)"
	printf "| loop (median per operation) | no embargod | audit | enforce | audit / none | enforce / none | fastest batches: audit / none | fastest batches: enforce / none |\n"
	printf "|---|---|---|---|---|---|---|---|\n"
	nl = split(loops[t], ls, " ")
	for (i = 1; i <= nl; i++) {
		l = ls[i]
		line = sprintf("| %s, %d per run |", what[l] ? what[l] : l, n_ops[t, l])
		for (k = 1; k <= 3; k++) {
			c = k == 1 ? "none" : k == 2 ? "audit" : "enforce"
			n = 0
			for (r = 1; r <= nrounds[t]; r++)
				if ((t, l, c, r) in ns)
					v[++n] = ns[t, l, c, r]
			line = line " " human(median(v, n)) " |"
		}
		line = line ratio_cell(ns, t, l, "audit") ratio_cell(ns, t, l, "enforce")
		line = line ratio_cell(mn, t, l, "audit") ratio_cell(mn, t, l, "enforce")
		print line
	}
}

# One row of the program table: tier, hook, phase, what the phase does, embargo's program, the empty
# program on the same hook (same sleepability), the other empty program on that hook (or "").
# "TIME (RATIOx)" of program p relative to b ns, or "-".
function rel(t, phase, p, b) {
	if (p == "" || !((t, phase, p) in stat_ns) || b <= 0)
		return "-"
	return sprintf("%s (%.1fx)", human(stat_ns[t, phase, p]), stat_ns[t, phase, p] / b)
}

function prog_row(t, hook, phase, doing, prog, ref, ref2, floor, istore, hit,   a, b, ratio, verdict, other, shown) {
	if (!((t, phase, prog) in stat_ns))
		return
	a = stat_ns[t, phase, prog]
	b = stat_ns[t, phase, ref]
	ratio = b > 0 ? a / b : -1
	verdict = ""
	if (hit && ratio >= 0) {
		verdict = ratio <= target ? "yes" : "**no**"
		checked++
		if (ratio <= target)
			met++
		else
			missed = missed (missed ? "; " : "") sprintf("%s on %s, %s: %.1fx", prog, hook, phase, ratio)
	}
	other = "-"
	if (ref2 != "" && (t, phase, ref2) in stat_ns)
		other = ref2 " " human(stat_ns[t, phase, ref2])
	shown = "-"
	if (ratio >= 0)
		shown = sprintf("**%.1fx**", ratio)
	printf "| %s | %s: %s | %s | %s | %s | %s %s | %s | %s | %s | %s | %s |\n", hook, phase, doing, stat_runs[t, phase, prog],
		prog, human(a), ref, human(b), other, rel(t, phase, floor, b), rel(t, phase, istore, b), shown, verdict
}

function prog_table(t) {
	printf "| hook | phase | runs | embargo program | ns/run | empty program, ns/run | empty, other kind | floor: hash map lookup (x empty) | floor: inode storage (x empty) | embargo / empty | hit <= %gx? |\n", target
	printf "|---|---|---|---|---|---|---|---|---|---|---|\n"
	if (t == "host") {
		prog_row(t, "tp_btf/sched_process_exec", "exec-hit", "the same binary exec'ed again (verdict cached)", "exec_detect", "empty_detect", "", "floor_detect", "", 1)
		prog_row(t, "tp_btf/sched_process_exec", "exec-miss", "fresh copies, each exec'ed once (reported to embargod, hashed there)", "exec_detect", "empty_detect", "", "floor_detect", "", 0)
		return
	}
	prog_row(t, "bprm_check_security", "exec-hit", "the same binary exec'ed again (verdict cached)", "exec_hash", "empty_exec_s", "empty_exec", "floor_exec_s", "istore_exec_s", 1)
	prog_row(t, "mmap_file", "mmap-hit", "the same file mapped PROT_EXEC again", "mmap_hash", "empty_mmap_s", "empty_mmap", "floor_mmap_s", "istore_mmap_s", 1)
	prog_row(t, "mmap_file", "exec-hit", "the ELF loader's mappings of a cached binary (exec and non-exec)", "mmap_hash", "empty_mmap_s", "empty_mmap", "floor_mmap_s", "istore_mmap_s", 1)
	prog_row(t, "file_open", "exec-hit", "the exec-open of a cached binary", "file_open", "empty_open", "", "", "", 1)
	prog_row(t, "file_open", "open", "read-only open of a data file (returns at once)", "file_open", "empty_open", "", "", "", 1)
	prog_row(t, "bprm_check_security", "exec-miss", "fresh copies, each exec'ed once: hashed in the kernel", "exec_hash", "empty_exec_s", "empty_exec", "floor_exec_s", "istore_exec_s", 0)
	prog_row(t, "mmap_file", "mmap-miss", "fresh files, each mapped PROT_EXEC once: hashed in the kernel", "mmap_hash", "empty_mmap_s", "empty_mmap", "floor_mmap_s", "istore_mmap_s", 0)
}

END {
	for (ti = 1; ti <= 2; ti++) {
		t = ti == 1 ? "host" : "guest"
		if (!(t in tiers))
			continue
		if (t == "host")
			printf "### Host: detection tier, kernel %s, %s CPUs\n\n", info[t, "kernel"], info[t, "cpus"]
		else
			printf "### Guest: BPF LSM tier %s, Debian kernel %s under qemu TCG, %s vCPUs\n\n", info[t, "embargod_tier"], info[t, "kernel"], info[t, "cpus"]
		printf "embargod tier `%s`, policy of %s random digests (rules loaded: %s); %d interleaved rounds; a ratio is the median of the per-round ratios, min-max over the rounds in brackets; \"fastest batches\" divides the fastest batch of each run instead of the median one (less sensitive to other load on the machine).\n\n", info[t, "embargod_tier"], info[t, "digests"], info[t, "rules"], nrounds[t]
		loop_table(t)
		printf "\nIn-kernel cost per program run (`bpf_stats`: run_time_ns / run_cnt over the phase), embargod in enforce mode, next to the empty reference programs on the same events:\n\n"
		prog_table(t)
		printf "\nembargod's own counters over each phase (the loop's start-up included): "
		np = split("exec-hit exec-miss mmap-hit mmap-miss open", phases, " ")
		sep = ""
		for (p = 1; p <= np; p++)
			if ((t, phases[p]) in counters) {
				printf "%s%s: %s", sep, phases[p], counters[t, phases[p]]
				sep = "; "
			}
		printf ".\n\n"
	}
	if (checked)
		printf "**Target (a cache hit costs at most %gx an empty program on the same hook): met in %d of %d cache-hit rows%s.**\n", target, met, checked, missed ? "; missed: " missed : ""
}
