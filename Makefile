# embargo: build, run, test, install.
#   make            build embargod, embargoctl and the BPF objects into build/
#   make run        install what is missing, build, run embargod on the shipped policy
#   make test       unit, host and VM tests; ends with "N passed, N failed"
#   make bench      overhead table (host detection tier and guest LSM tier)
#   make coverage   docs/coverage.md, what each tier refuses, measured in the VM guests
#   make install    PREFIX=/usr/local DESTDIR=
#   make clean

BUILD      ?= build
PREFIX     ?= /usr/local
DESTDIR    ?=
SBINDIR    ?= $(PREFIX)/sbin
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
POLICYDIR  ?= /etc/embargo/policy.d

CC         ?= cc
CLANG      ?= clang
BPFTOOL    ?= bpftool
# One vmlinux.h strategy everywhere: generated from the BTF of the build machine's kernel. The
# programs are CO-RE, so the objects load on any kernel with BTF (6.1 and 6.12 in the VM tests).
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

POLICY     ?= policies
MODE       ?=
ARCH       := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

WARN       := -Wall -Wextra -Werror
CFLAGS     ?= -O2 -g
# snprintf truncation is deliberate wherever it can happen (messages into fixed buffers).
CFLAGS     += $(WARN) -Wno-format-truncation -std=gnu11 -D_GNU_SOURCE -fno-strict-aliasing -fstack-protector-strong \
              -D_FORTIFY_SOURCE=2 -Ibpf -Iuserspace/lib -I$(BUILD)
LDLIBS     := -lbpf -lelf -lz -lcrypto -lsystemd -lseccomp -lpthread
# BPF_PROG() declares ctx and every hook argument, used or not.
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) $(WARN) -Wno-unused-function -Wno-unused-parameter \
              -I$(BUILD) -Ibpf

LIB_SRC    := $(sort $(wildcard userspace/lib/*.c))
DAEMON_SRC := $(sort $(wildcard userspace/embargod/*.c))
CTL_SRC    := $(sort $(wildcard userspace/embargoctl/*.c))
UNIT_SRC   := $(sort $(wildcard tests/unit/*.c))
BPF_SRC    := $(sort $(wildcard bpf/*.bpf.c))
BPF_HDR    := $(wildcard bpf/*.h)

LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o)
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(BUILD)/%.o)
CTL_OBJ    := $(CTL_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJ   := $(UNIT_SRC:%.c=$(BUILD)/%.o)
SKELS      := $(BPF_SRC:bpf/%.bpf.c=$(BUILD)/%.skel.h)

BINS       := $(BUILD)/embargod $(BUILD)/embargoctl
DEPS_STAMP := $(BUILD)/.deps-ok

.PHONY: all run test unit-test host-test vm-test bench coverage install clean deps format
.DELETE_ON_ERROR:

all: $(BINS)

# Installs only what is missing; a no-op when everything is there.
deps: $(DEPS_STAMP)
$(DEPS_STAMP): tools/install-deps
	tools/install-deps
	@mkdir -p $(@D) && touch $@

$(BUILD)/vmlinux.h: | $(BUILD)/.dir
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDR) $(BUILD)/vmlinux.h
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/%.o: %.c | $(BUILD)/.dir
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# The daemon includes the skeletons.
$(DAEMON_OBJ): $(SKELS)

$(BUILD)/libembargo.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/embargod: $(DAEMON_OBJ) $(BUILD)/libembargo.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/embargoctl: $(CTL_OBJ) $(BUILD)/libembargo.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit-tests: $(UNIT_OBJ) $(BUILD)/libembargo.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/.dir:
	@mkdir -p $(BUILD) && touch $@

run: deps
	$(MAKE) all
	$(BUILD)/embargod --policy $(POLICY) $(if $(MODE),--mode $(MODE))

test: deps
	$(MAKE) all $(BUILD)/unit-tests
	tests/run

unit-test: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

host-test: all
	tests/run host

vm-test: all
	tests/run vm

bench: deps
	$(MAKE) all
	bench/run

# Runs the guests' coverage cases (unless the results of the last `make test` are newer than what they
# measured) and rewrites docs/coverage.md from them.
coverage: deps
	$(MAKE) all
	BUILD=$(BUILD) tools/coverage

# The configuration is in /etc whatever PREFIX is (embargod reads /etc/embargo/embargo.conf). systemd
# units go where systemd's own are for PREFIX=/usr (/lib/systemd/system on Debian 12), and under the
# prefix otherwise (/usr/local/lib/systemd/system is on systemd's search path too); the unit is
# rewritten to start the embargod installed here.
install uninstall: CONFDIR ?= /etc/embargo
install uninstall: UNITDIR ?= $(if $(filter /usr,$(PREFIX)),$(or $(shell pkg-config \
	--variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system),$(PREFIX)/lib/systemd/system)
install uninstall: COMPLETIONDIR ?= $(DATADIR)/bash-completion/completions
install uninstall: CATALOGDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/systemd/catalog,$(PREFIX)/lib/systemd/catalog)
install: all
	install -D -m 0755 $(BUILD)/embargod $(DESTDIR)$(SBINDIR)/embargod
	install -D -m 0755 $(BUILD)/embargoctl $(DESTDIR)$(SBINDIR)/embargoctl
	install -D -m 0644 policies/kaspersky.policy $(DESTDIR)$(POLICYDIR)/kaspersky.policy
	@# An administrator's embargo.conf is never replaced: the new default goes next to it.
	if [ -z "$(DESTDIR)" ] && [ -e $(CONFDIR)/embargo.conf ]; then \
		install -D -m 0644 etc/embargo.conf $(CONFDIR)/embargo.conf.dist && \
		echo "install: kept $(CONFDIR)/embargo.conf; the shipped default is $(CONFDIR)/embargo.conf.dist"; \
	else \
		install -D -m 0644 etc/embargo.conf $(DESTDIR)$(CONFDIR)/embargo.conf; \
	fi
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|/usr/sbin/embargod|$(SBINDIR)/embargod|g' etc/embargo.service > $(DESTDIR)$(UNITDIR)/embargo.service.tmp
	chmod 0644 $(DESTDIR)$(UNITDIR)/embargo.service.tmp
	mv $(DESTDIR)$(UNITDIR)/embargo.service.tmp $(DESTDIR)$(UNITDIR)/embargo.service
	install -D -m 0644 docs/embargod.8 $(DESTDIR)$(MANDIR)/man8/embargod.8
	install -D -m 0644 docs/embargoctl.8 $(DESTDIR)$(MANDIR)/man8/embargoctl.8
	install -D -m 0644 docs/embargo.conf.5 $(DESTDIR)$(MANDIR)/man5/embargo.conf.5
	install -D -m 0644 docs/embargo.policy.5 $(DESTDIR)$(MANDIR)/man5/embargo.policy.5
	install -D -m 0644 completions/embargoctl.bash $(DESTDIR)$(COMPLETIONDIR)/embargoctl
	install -D -m 0644 etc/embargo.catalog $(DESTDIR)$(CATALOGDIR)/embargo.catalog
	@# journalctl -x explains embargo's entries once the catalog database is rebuilt.
	if [ -z "$(DESTDIR)" ]; then journalctl --update-catalog 2>/dev/null || true; fi

# Removes what install put in place except the configuration and the policy under /etc/embargo, which
# may hold the administrator's changes (as a package removal keeps its configuration files).
.PHONY: uninstall
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/embargod $(DESTDIR)$(SBINDIR)/embargoctl
	rm -f $(DESTDIR)$(UNITDIR)/embargo.service
	rm -f $(DESTDIR)$(MANDIR)/man8/embargod.8 $(DESTDIR)$(MANDIR)/man8/embargoctl.8
	rm -f $(DESTDIR)$(MANDIR)/man5/embargo.conf.5 $(DESTDIR)$(MANDIR)/man5/embargo.policy.5
	rm -f $(DESTDIR)$(COMPLETIONDIR)/embargoctl $(DESTDIR)$(CATALOGDIR)/embargo.catalog
	@echo "uninstall: kept $(DESTDIR)$(CONFDIR) (configuration and policy)"

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# --- bench ---
# The programs `make bench` (bench/run) runs, in $(BUILD)/bench/. Built by bench/run itself.
BENCH_DIR  := $(BUILD)/bench
BENCH_BINS := $(BENCH_DIR)/loop $(BENCH_DIR)/tiny $(BENCH_DIR)/empty-loader $(BENCH_DIR)/empty.bpf.o

.PHONY: bench-build
bench-build: $(BENCH_BINS)

# Only loop's own start-up maps libbpf; what it times are system calls and tiny static children.
$(BENCH_DIR)/loop: bench/loop.c bench/progstats.c bench/progstats.h $(BUILD)/libembargo.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Ibench -o $@ bench/loop.c bench/progstats.c $(BUILD)/libembargo.a -lbpf -lelf -lz

$(BENCH_DIR)/empty-loader: bench/empty-loader.c $(BUILD)/libembargo.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libembargo.a -lbpf -lelf -lz

# No C library, no stack protector: the program is one system call.
$(BENCH_DIR)/tiny: bench/tiny.c
	@mkdir -p $(@D)
	$(CC) -O2 $(WARN) -static -nostdlib -fno-stack-protector -s -o $@ $<

$(BENCH_DIR)/empty.bpf.o: bench/empty.bpf.c $(BUILD)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
# --- end bench ---
