#!/usr/bin/env bash
# The signature extraction worker (userspace/lib/identify.c) on real signed material and on garbage:
# signers named exactly, verified only with the CA as trust anchor, nothing crashes the caller, the
# worker is confined (seccomp kills it when it opens a file, Seccomp: 2 in its status) and timed out.
#   tests/host/identify.sh                 the tests
#   tests/host/identify.sh --material DIR  only make the signed material into DIR (the unit tests use it)
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh

SIGN_FILE=${SIGN_FILE:-/usr/lib/linux-kbuild-6.1/scripts/sign-file}

# A minimal valid PE32+ (EFI application: one .text section holding "ret"), enough for osslsigncode.
write_mkpe() {
	cat > "$1" <<'C'
#include <stdint.h>
#include <stdio.h>
#include <string.h>
static void w16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void w32(uint8_t *p, uint32_t v) { w16(p, v); w16(p + 2, v >> 16); }
int main(int argc, char **argv)
{
	uint8_t b[0x400] = { 'M', 'Z' };
	uint8_t *pe = b + 0x40, *coff = pe + 4, *o = coff + 20, *s = o + 240;
	FILE *f;
	if (argc != 2 || !(f = fopen(argv[1], "wb")))
		return 2;
	w32(b + 0x3c, 0x40);
	memcpy(pe, "PE\0\0", 4);
	w16(coff, 0x8664); w16(coff + 2, 1); w16(coff + 16, 240); w16(coff + 18, 0x22);
	w16(o, 0x20b); w32(o + 4, 0x200); w32(o + 16, 0x1000); w32(o + 20, 0x1000);
	w32(o + 32, 0x1000); w32(o + 36, 0x200); w16(o + 40, 6); w16(o + 48, 6);
	w32(o + 56, 0x2000); w32(o + 60, 0x200); w16(o + 68, 10);
	w32(o + 72, 0x100000); w32(o + 80, 0x1000); w32(o + 88, 0x100000); w32(o + 96, 0x1000); w32(o + 108, 16);
	memcpy(s, ".text", 5); w32(s + 8, 0x200); w32(s + 12, 0x1000); w32(s + 16, 0x200); w32(s + 20, 0x200);
	w32(s + 36, 0x60000020);
	b[0x200] = 0xc3;
	fwrite(b, 1, sizeof(b), f);
	return fclose(f) != 0;
}
C
}

# make_material DIR: CA, vendor and look-alike code-signing certificates; PE signed and nested-signed;
# a kernel module re-signed with sign-file; an ELF IMA signature. 1 when a tool is missing.
make_material() {
	local d=$1 t m
	for t in openssl osslsigncode evmctl cc objcopy strip; do
		command -v $t >/dev/null || { echo "missing tool: $t" >&2; return 1; }
	done
	[ -x "$SIGN_FILE" ] || { echo "missing tool: $SIGN_FILE" >&2; return 1; }
	# A small module of the kernels the VM tests download, else of the running kernel.
	m=$(ls /var/cache/embargo/kernels/*/modules/*.ko 2>/dev/null | head -1)
	[ -n "$m" ] || m=$(find /lib/modules/"$(uname -r)" -name 'nls_utf8.ko*' 2>/dev/null | head -1)
	mkdir -p "$d" && cd "$d" || return 1
	(
		set -e
		openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 \
			-subj "/O=Embargo Test CA/CN=Embargo Test Root" 2>/dev/null
		openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days 30 \
			-subj "/O=Other CA/CN=Other Root" 2>/dev/null
		printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=codeSigning\nsubjectKeyIdentifier=hash\n' > ext
		for who in "vendor:AO Kaspersky Lab:Kaspersky Lab" "lookalike:AO Kaspersky Labs:Kaspersky Labs"; do
			IFS=: read -r n o cn <<<"$who"
			openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj "/O=$o/CN=$cn" 2>/dev/null
			openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $n.pem -days 30 \
				-extfile ext 2>/dev/null
			openssl x509 -in $n.pem -outform DER -out $n.der
			openssl x509 -in $n.pem -outform DER | sha256sum | cut -d' ' -f1 > $n.sha256
		done
		write_mkpe mkpe.c
		cc -o mkpe mkpe.c
		./mkpe unsigned.exe
		osslsigncode sign -certs vendor.pem -key vendor.key -h sha256 -in unsigned.exe -out signed.exe >/dev/null
		osslsigncode sign -nest -certs lookalike.pem -key lookalike.key -h sha256 -in signed.exe \
			-out nested.exe >/dev/null
		cp /bin/true unsigned.elf
		cp /bin/true ima.elf
		evmctl ima_sign --sigfile --key vendor.key -a sha256 ima.elf >/dev/null 2>&1
		if [ -n "$m" ]; then
			case $m in
			*.xz) xz -dc "$m" > unsigned.ko ;;
			*.zst) zstd -qdc "$m" > unsigned.ko ;;
			*) cp "$m" unsigned.ko ;;
			esac
			chmod u+w unsigned.ko
			# Rewriting the ELF drops the appended signature the distribution put there.
			strip --strip-debug unsigned.ko
			cp unsigned.ko signed.ko
			"$SIGN_FILE" sha256 vendor.key vendor.der signed.ko
		fi
	)
}

if [ "${1:-}" = --material ]; then
	make_material "$2"
	exit
fi

tmp=$(mktemp -d /tmp/embargo-identify.XXXXXX)
mnt=
cleanup() {
	[ -n "$mnt" ] && umount "$mnt" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# A driver built with the test hooks (never in the production build): prints one line per signature.
cat > "$tmp/driver.c" <<'C'
#include "identify.h"
#include "util.h"
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv)
{
	const char *anchors[8], *keyring[8];
	struct embargo_identify_opts o = { .trust_anchors = anchors, .ima_keyring = keyring };
	struct embargo_identity id = { 0 };
	char hex[SHA256_HEX_LEN + 1];
	int i, fd, r;
	for (i = 1; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		uint32_t v;
		if (!strcmp(argv[i], "-a") && o.n_trust_anchors < 8)
			anchors[o.n_trust_anchors++] = argv[i + 1];
		else if (!strcmp(argv[i], "-k") && o.n_ima_keyring < 8)
			keyring[o.n_ima_keyring++] = argv[i + 1];
		else if (!strcmp(argv[i], "-t") && parse_u32(argv[i + 1], &v) == 0)
			o.timeout_ms = v;
		else
			return 64;
	}
	if (i != argc - 1 || (fd = open(argv[i], O_RDONLY | O_CLOEXEC)) < 0)
		return 64;
	r = embargo_identify_fd(fd, &o, &id);
	if (r < 0) {
		fprintf(stderr, "identify: %s\n", strerror(-r));
		return 2;
	}
	printf("format %s build_id %s\n", id.format ?: "-", id.build_id ?: "-");
	for (size_t s = 0; s < id.n_sigs; s++) {
		const struct embargo_signature *g = &id.sigs[s];
		printf("sig %s %s nesting=%u detail=%s\n", embargo_sig_kind_name(g->kind),
		       embargo_sig_state_name(g->state), g->nesting, g->detail ?: "-");
		for (size_t c = 0; c < g->n_chain; c++) {
			hex_encode(g->chain[c].sha256, SHA256_LEN, hex);
			printf("cert O=%s CN=%s sha256=%s\n", g->chain[c].subject_o ?: "-",
			       g->chain[c].subject_cn ?: "-", hex);
		}
	}
	embargo_identity_free(&id);
	return 0;
}
C
drv=$tmp/driver
if ! cc -O1 -g -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -DEMBARGO_IDENTIFY_TEST_HOOKS -Iuserspace/lib \
	-o "$drv" "$tmp/driver.c" userspace/lib/identify.c userspace/lib/ident-*.c "$BUILD/libembargo.a" \
	-lelf -lcrypto -lseccomp 2>"$tmp/cc.log"; then
	fail "identify: test driver builds" "$(head -5 "$tmp/cc.log")"
	exit 1
fi

m=$tmp/m
if ! make_material "$m" 2>"$tmp/material.log"; then
	fail "identify: signed material" "$(tail -3 "$tmp/material.log")"
	exit 1
fi
cd - >/dev/null

out() { "$drv" "$@" 2>&1; }

o=$(out -a "$m/ca.pem" "$m/nested.exe")
vendor=$(cat "$m/vendor.sha256") lookalike=$(cat "$m/lookalike.sha256")
check "identify: nested PE: outer signer named and verified" grep -qx "cert O=AO Kaspersky Lab CN=Kaspersky Lab sha256=$vendor" <<<"$o"
check "identify: nested PE: nested signer named" grep -qx "cert O=AO Kaspersky Labs CN=Kaspersky Labs sha256=$lookalike" <<<"$o"
check "identify: nested PE: two verified signatures, one nested" \
	test "$(grep -c '^sig authenticode verified' <<<"$o")" = 2 -a "$(grep -c 'nesting=1' <<<"$o")" = 1

# The worker really is confined, times out, and a crash stays in it.
o=$(EMBARGO_IDENTIFY_TEST_HOOK=open out "$m/signed.exe")
check "identify: worker opening a file is killed by seccomp (SIGSYS)" grep -q 'parser crashed (signal 31)' <<<"$o"
o=$(EMBARGO_IDENTIFY_TEST_HOOK=crash out "$m/signed.exe")
check "identify: worker crash reported, caller survives" grep -q 'parser crashed (signal 11)' <<<"$o"
EMBARGO_IDENTIFY_TEST_HOOK=stall "$drv" -t 3000 "$m/signed.exe" > "$tmp/stall.out" 2>&1 &
dpid=$!
wpid=
wait_for 2 pgrep -P $dpid && wpid=$(pgrep -P $dpid | head -1)
seccomp=$( [ -n "$wpid" ] && awk '/^Seccomp:/ {print $2}' /proc/$wpid/status)
check "identify: worker runs under a seccomp filter (Seccomp: 2)" test "$seccomp" = 2
check "identify: worker limits: open files" \
	grep -Eq '^Max open files +4 +4' /proc/$wpid/limits
wait $dpid
check "identify: stalled worker killed on timeout" grep -q 'parser timed out' "$tmp/stall.out"

# Garbage and lies: the caller always gets an answer.
head -c 4194304 /dev/urandom > "$tmp/garbage"
check "identify: 4 MiB of random bytes" bash -c "'$drv' '$tmp/garbage' | grep -q '^format data'"
# A PE whose certificate table claims to be huge, then one whose WIN_CERTIFICATE length is huge.
cp "$m/signed.exe" "$tmp/huge1.exe"
printf '\xff\xff\xff\x7f' | dd of="$tmp/huge1.exe" bs=1 seek=$((0x40 + 24 + 112 + 32 + 4)) conv=notrunc 2>/dev/null
check "identify: huge certificate table size is malformed" bash -c "'$drv' '$tmp/huge1.exe' | grep -q '^sig authenticode malformed'"
cp "$m/signed.exe" "$tmp/huge2.exe"
printf '\xf0\xff\xff\xff' | dd of="$tmp/huge2.exe" bs=1 seek=1024 conv=notrunc 2>/dev/null
check "identify: huge WIN_CERTIFICATE length is malformed" bash -c "'$drv' '$tmp/huge2.exe' | grep -q '^sig authenticode malformed'"
if [ -e "$m/signed.ko" ]; then
	cp "$m/signed.ko" "$tmp/huge.ko"
	sz=$(stat -c %s "$tmp/huge.ko")
	printf '\x7f\xff\xff\xff' | dd of="$tmp/huge.ko" bs=1 seek=$((sz - 28 - 4)) conv=notrunc 2>/dev/null
	check "identify: module signature length beyond the file is malformed" bash -c "'$drv' '$tmp/huge.ko' | grep -q '^sig module malformed'"
	o=$(out -a "$m/ca.pem" -k "$m/vendor.pem" "$m/signed.ko")
	check "identify: module signer named and verified" bash -c "grep -q '^sig module verified' <<<'$o' && grep -qx 'cert O=AO Kaspersky Lab CN=Kaspersky Lab sha256=$vendor' <<<'$o'"
else
	echo "SKIP: identify: module tests: no kernel module in /var/cache/embargo/kernels (the VM tests download it)"
fi

# security.ima from the file itself, read by the caller and handed to the worker.
mnt=$tmp/mnt
mkdir -p "$mnt"
if mount -t tmpfs -o size=16m none "$mnt" 2>/dev/null; then
	cp /bin/true "$mnt/elf"
	evmctl ima_sign --key "$m/vendor.key" -a sha256 "$mnt/elf" >/dev/null 2>&1
	o=$(out -a "$m/ca.pem" -k "$m/vendor.pem" "$mnt/elf")
	check "identify: security.ima signature verified, signer named" bash -c "grep -q '^sig ima verified' <<<'$o' && grep -qx 'cert O=AO Kaspersky Lab CN=Kaspersky Lab sha256=$vendor' <<<'$o'"
	echo x >> "$mnt/elf"
	o=$(out -a "$m/ca.pem" -k "$m/vendor.pem" "$mnt/elf")
	check "identify: security.ima over changed content is unverified" grep -q '^sig ima unverified .*signature does not verify' <<<"$o"
else
	echo "SKIP: identify: security.ima: cannot mount a tmpfs"
fi
[ $failures -eq 0 ]
