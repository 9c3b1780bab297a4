# nobounce — see README.md.  `make` builds the program and nothing else;
# `make check` (and demo, asan, bench, fuzz) first install with apt-get the
# Debian packages they need, then build and run.
#
# Packagers: CPPFLAGS, CFLAGS and LDFLAGS are honoured; WERROR= turns off
# -Werror, which is on for development and CI.

VERSION := 0.2
PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
CFLAGS ?= -O2 -g
WERROR ?= -Werror
WARN := -std=c11 -Wall -Wextra $(WERROR) -Wshadow -Wformat=2 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64
# tool/ holds one folder per layer; includes name the folder ("disk/blockdev.h")
INC := -Itool
PKGS := hivex jansson nettle libxml-2.0 libntfs-3g libnbd zlib
# libldm's own .pc file asks for json-glib's and device-mapper's headers,
# which its interface does not use: glib and gobject are enough.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) gobject-2.0)
PKG_LIBS = $(shell pkg-config --libs $(PKGS)) -lldm-1.0 $(shell pkg-config --libs gobject-2.0) -lpthread -lm
# --version names the libraries it was built with
BUILT_WITH = $(shell for p in hivex libxml-2.0 libntfs-3g libnbd jansson nettle zlib; do \
	printf '%s %s, ' $$p "$$(pkg-config --modversion $$p 2>/dev/null)"; done; \
	printf 'libldm %s' "$$(dpkg-query -W -f='$${Version}' libldm-1.0-0 2>/dev/null)")
DEFS = -DNOBOUNCE_VERSION='"$(VERSION)"' -DNOBOUNCE_BUILT_WITH='"$(BUILT_WITH)"'
COMPILE = $(CC) $(CPPFLAGS) $(INC) $(WARN) $(CFLAGS)
LINK_FLAGS = $(LDFLAGS)

# Debian packages: to build, then to test (peers that read our results back).
BUILD_DEBS := gcc make pkg-config libhivex-dev libjansson-dev nettle-dev libxml2-dev ntfs-3g-dev libnbd-dev zlib1g-dev libldm-dev libglib2.0-dev
# what the program runs: qemu-nbd serves qcow2, VMDK, VHD(X) and VDI images
RUN_DEBS := qemu-utils
TEST_DEBS := python3-libregf libvirt0 nbdkit nbdkit-plugin-python libnbd-bin fuse3 ldmtool libhivex-bin libwin-hivex-perl chntpw libxml2-utils xz-utils jq strace util-linux groff-base ntfs-3g fdisk procps parallel valgrind python3-jsonschema debhelper lintian ansible-core
DEBS := $(BUILD_DEBS) $(RUN_DEBS) $(TEST_DEBS)

TOOL_SRCS := $(wildcard tool/*/*.c)
TOOL_HDRS := $(wildcard tool/*/*.h)
BUILD ?= build

.PHONY: all deps check check-built check-fast check-fast-built test powercut race demo demo-built asan install uninstall clean fixtures format bench bench-deps fuzz fuzz-deps build-deps-present

all: $(BUILD)/nobounce

# $(call apt_install,TARGET,PACKAGES): installs those not yet installed.
define apt_install
	@missing=$$(for p in $(2); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "make $(1): installing:" $$missing; \
	  if [ "$$(id -u)" != 0 ]; then SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call apt_install,deps,$(DEBS))

# Plain `make` installs nothing: it says what is missing instead.
build-deps-present:
	@pkg-config --exists $(PKGS) gobject-2.0 || { \
	  echo "nobounce: the build needs the development packages of: $(PKGS) (and libldm)."; \
	  echo "  On Debian: apt-get install $(BUILD_DEBS); or run 'make deps'."; exit 1; }

$(BUILD)/nobounce: $(TOOL_SRCS) $(TOOL_HDRS) | build-deps-present
	@mkdir -p $(BUILD)
	$(COMPILE) $(DEFS) $(PKG_CFLAGS) -o $@ $(TOOL_SRCS) $(LINK_FLAGS) $(PKG_LIBS)

MKHIVE_SRCS := hives/mkhive.c tool/reg/regname.c
$(BUILD)/mkhive: $(MKHIVE_SRCS) tool/reg/regname.h | deps
	@mkdir -p $(BUILD)
	$(COMPILE) $(shell pkg-config --cflags hivex) -o $@ $(MKHIVE_SRCS) $(LINK_FLAGS) $(shell pkg-config --libs hivex)

$(BUILD)/mklog: hives/mklog.c | deps
	@mkdir -p $(BUILD)
	$(COMPILE) -o $@ $< $(LINK_FLAGS)

$(BUILD)/race: tests/race.c | deps
	@mkdir -p $(BUILD)
	$(COMPILE) -o $@ $< $(LINK_FLAGS)

$(BUILD)/ntfsput: hives/ntfsput.c | deps
	@mkdir -p $(BUILD)
	$(COMPILE) -o $@ $< $(LINK_FLAGS) $(shell pkg-config --libs libntfs-3g)

# The same program with fault points compiled in, for the crash tests only.
$(BUILD)/nobounce-faults: $(TOOL_SRCS) $(TOOL_HDRS) | deps
	@mkdir -p $(BUILD)
	$(COMPILE) $(DEFS) -DNOBOUNCE_FAULTS $(PKG_CFLAGS) -o $@ $(TOOL_SRCS) $(LINK_FLAGS) $(PKG_LIBS)

# Fixture volumes, generated from the text sources in hives/.
fixtures: $(BUILD)/mkhive
	hives/mkvolumes $(BUILD)/mkhive $(BUILD)/fixtures

# Fuzzing (libFuzzer, clang): `make fuzz` runs each harness FUZZ_SECONDS.
# The harnesses are also built with a plain main (tests/fuzz/replay.c) so
# that `make check` replays every input that ever crashed one.
FUZZERS := metabase hive probe hivelog ntindex undolog mftrec journal imgfmt regfile hread
FUZZ_SECONDS ?= 60
FUZZ_LIB_SRCS := $(filter-out tool/cli/main.c,$(TOOL_SRCS))
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
build-fuzz/fuzz-%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_SRCS) $(TOOL_HDRS) | deps fuzz-deps
	@mkdir -p build-fuzz
	clang $(FUZZ_FLAGS) $(INC) -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(PKG_CFLAGS) -o $@ $< $(FUZZ_LIB_SRCS) $(PKG_LIBS)

$(BUILD)/unit: tests/unit.c $(FUZZ_LIB_SRCS) $(TOOL_HDRS) | deps
	@mkdir -p $(BUILD)
	$(COMPILE) $(DEFS) $(PKG_CFLAGS) -o $@ $< $(FUZZ_LIB_SRCS) $(LINK_FLAGS) $(PKG_LIBS)

# the whole tree as nobounce's reader or hivex reads it (t-hread.sh)
$(BUILD)/tree-dump: tests/tree-dump.c $(FUZZ_LIB_SRCS) $(TOOL_HDRS) | deps
	@mkdir -p $(BUILD)
	$(COMPILE) $(DEFS) $(PKG_CFLAGS) -o $@ $< $(FUZZ_LIB_SRCS) $(LINK_FLAGS) $(PKG_LIBS)

$(BUILD)/replay-%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_LIB_SRCS) $(TOOL_HDRS) | deps
	@mkdir -p $(BUILD)
	$(COMPILE) $(DEFS) $(PKG_CFLAGS) -o $@ $< tests/fuzz/replay.c $(FUZZ_LIB_SRCS) $(LINK_FLAGS) $(PKG_LIBS)

fuzz-deps: | deps
	$(call apt_install,fuzz-deps,clang libclang-rt-14-dev)

fuzz: $(addprefix build-fuzz/fuzz-,$(FUZZERS)) $(BUILD)/mkhive $(BUILD)/mklog $(BUILD)/ntfsput $(BUILD)/nobounce-faults
	tests/fuzz/run build-fuzz $(BUILD) $(FUZZ_SECONDS)

# check and demo install what they need first, then build and run (a make
# of their own, so that nothing is built before the packages are there)
CHECK_BINS = $(BUILD)/nobounce $(BUILD)/mkhive $(BUILD)/mklog $(BUILD)/nobounce-faults $(BUILD)/ntfsput $(BUILD)/race $(BUILD)/unit $(BUILD)/tree-dump $(addprefix $(BUILD)/replay-,$(FUZZERS))
check: deps
	$(MAKE) --no-print-directory -j$$(nproc) $(CHECK_BINS)
	$(MAKE) --no-print-directory check-built

check-built: $(CHECK_BINS)
	tests/run $(BUILD)

test: check

# The edit-build-test loop: every test file but the slow ones.
SLOW_TESTS := t-crash.sh t-race.sh t-confine.sh t-randomkill.sh t-valgrind.sh t-powercut.sh t-package.sh
check-fast: deps
	$(MAKE) --no-print-directory -j$$(nproc) $(CHECK_BINS)
	$(MAKE) --no-print-directory check-fast-built

check-fast-built: $(CHECK_BINS)
	tests/run $(BUILD) $(filter-out $(SLOW_TESTS),$(notdir $(wildcard tests/t-*.sh)))

# Every state a power cut can leave during a fix, an undo and a recovery
# (t-powercut checks a sample of them), and t-randomkill with a fresh seed
# and more kills.
powercut: deps
	$(MAKE) --no-print-directory $(BUILD)/nobounce $(BUILD)/mkhive $(BUILD)/ntfsput
	POWERCUT_SAMPLE=0 NOBOUNCE_SEED=fresh NOBOUNCE_KILLS=$${NOBOUNCE_KILLS:-128} \
	  tests/run $(BUILD) t-powercut.sh t-randomkill.sh

# The attacker's races of t-race, each run 50 times instead of check's 20.
race: deps
	$(MAKE) --no-print-directory $(BUILD)/nobounce $(BUILD)/mkhive $(BUILD)/ntfsput $(BUILD)/race
	RACE_RUNS=$${RACE_RUNS:-50} tests/run $(BUILD) t-race.sh

demo: deps
	$(MAKE) --no-print-directory demo-built

demo-built: $(BUILD)/nobounce $(BUILD)/mkhive $(BUILD)/ntfsput
	tests/demo $(BUILD)

# The whole suite again with AddressSanitizer (leaks included) and
# UndefinedBehaviorSanitizer, on binaries of its own in build-asan/: the
# same rules and the same list as check's, so that none can be missed.
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
asan: | deps
	$(MAKE) --no-print-directory -j$$(nproc) BUILD=build-asan CFLAGS='$(ASAN_FLAGS)' \
	  $(patsubst $(BUILD)/%,build-asan/%,$(CHECK_BINS))
	NOBOUNCE=$(CURDIR)/build-asan/nobounce NOBOUNCE_SANITIZED=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp tests/run build-asan

# Benchmarks: not part of check (docs/performance.md).  The peers and the
# timing tool are installed here only.
BENCH_DEBS := hyperfine libguestfs-tools linux-image-amd64 time
bench-deps: | deps
	$(call apt_install,bench-deps,$(BENCH_DEBS))

BENCH_TOOL_SRCS := $(FUZZ_LIB_SRCS)
$(BUILD)/iofloor: tests/bench/iofloor.c $(BENCH_TOOL_SRCS) $(TOOL_HDRS) | deps
	$(COMPILE) $(PKG_CFLAGS) -o $@ $< $(BENCH_TOOL_SRCS) $(LINK_FLAGS) $(PKG_LIBS)

bench: $(BUILD)/nobounce $(BUILD)/mkhive $(BUILD)/ntfsput $(BUILD)/iofloor | bench-deps
	tests/bench/run $(BUILD)

BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
install: $(BUILD)/nobounce
	install -D -m 0755 $(BUILD)/nobounce $(DESTDIR)$(PREFIX)/bin/nobounce
	install -D -m 0644 docs/nobounce.1 $(DESTDIR)$(PREFIX)/share/man/man1/nobounce.1
	install -D -m 0644 tool/cli/nobounce.bash $(DESTDIR)$(BASHCOMPDIR)/nobounce
	install -d $(DESTDIR)$(PREFIX)/share/doc/nobounce
	install -m 0644 README.md docs/*.md docs/nobounce-line.schema.json $(DESTDIR)$(PREFIX)/share/doc/nobounce/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/nobounce $(DESTDIR)$(PREFIX)/share/man/man1/nobounce.1 \
	  $(DESTDIR)$(BASHCOMPDIR)/nobounce
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/nobounce

format:
	clang-format -i tool/*/*.c tool/*/*.h hives/*.c tests/fuzz/*.c tests/bench/*.c

clean:
	rm -rf build build-asan build-fuzz
