# nobounce — see README.md.  `make check` installs what is missing, builds and
# runs every test; `make demo` shows check -> fix -> check -> undo.

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
CFLAGS ?= -O2 -g
WARN := -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64
PKGS := hivex jansson libcrypto libxml-2.0 libntfs-3g libnbd zlib
# libldm's own .pc file asks for json-glib's and device-mapper's headers,
# which its interface does not use: glib and gobject are enough.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) gobject-2.0)
PKG_LIBS = $(shell pkg-config --libs $(PKGS)) -lldm-1.0 $(shell pkg-config --libs gobject-2.0)

# Debian packages: to build, then to test (peers that read our results back).
BUILD_DEBS := gcc make pkg-config libhivex-dev libjansson-dev libssl-dev libxml2-dev ntfs-3g-dev libnbd-dev zlib1g-dev libldm-dev libglib2.0-dev qemu-utils
TEST_DEBS := libhivex-bin libwin-hivex-perl chntpw libxml2-utils xz-utils jq strace util-linux groff-base ntfs-3g fdisk procps parallel valgrind
DEBS := $(BUILD_DEBS) $(TEST_DEBS)

TOOL_SRCS := $(wildcard tool/*.c)
TOOL_HDRS := $(wildcard tool/*.h)
BUILD ?= build

.PHONY: all deps check test demo asan install clean fixtures format bench bench-deps fuzz fuzz-deps

all: tool/nobounce

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

tool/nobounce: $(TOOL_SRCS) $(TOOL_HDRS) | deps
	$(CC) $(WARN) $(CFLAGS) $(PKG_CFLAGS) -o $@ $(TOOL_SRCS) $(PKG_LIBS)

MKHIVE_SRCS := hives/mkhive.c tool/regname.c
$(BUILD)/mkhive: $(MKHIVE_SRCS) tool/regname.h | deps
	@mkdir -p $(BUILD)
	$(CC) $(WARN) $(CFLAGS) $(shell pkg-config --cflags hivex) -o $@ $(MKHIVE_SRCS) $(shell pkg-config --libs hivex)

$(BUILD)/mklog: hives/mklog.c | deps
	@mkdir -p $(BUILD)
	$(CC) $(WARN) $(CFLAGS) -o $@ $<

$(BUILD)/ntfsput: hives/ntfsput.c | deps
	@mkdir -p $(BUILD)
	$(CC) $(WARN) $(CFLAGS) -o $@ $< $(shell pkg-config --libs libntfs-3g)

# The same program with fault points compiled in, for the crash tests only.
$(BUILD)/nobounce-faults: $(TOOL_SRCS) $(TOOL_HDRS) | deps
	@mkdir -p $(BUILD)
	$(CC) $(WARN) $(CFLAGS) -DNOBOUNCE_FAULTS $(PKG_CFLAGS) -o $@ $(TOOL_SRCS) $(PKG_LIBS)

# Fixture volumes, generated from the text sources in hives/.
fixtures: $(BUILD)/mkhive
	hives/mkvolumes $(BUILD)/mkhive $(BUILD)/fixtures

# Fuzzing (libFuzzer, clang): `make fuzz` runs each harness FUZZ_SECONDS.
# The harnesses are also built with a plain main (tests/fuzz/replay.c) so
# that `make check` replays every input that ever crashed one.
FUZZERS := metabase hive probe hivelog
FUZZ_SECONDS ?= 60
FUZZ_LIB_SRCS := $(filter-out tool/main.c,$(TOOL_SRCS))
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
build-fuzz/fuzz-%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_SRCS) $(TOOL_HDRS) | deps fuzz-deps
	@mkdir -p build-fuzz
	clang $(FUZZ_FLAGS) -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(PKG_CFLAGS) -o $@ $< $(FUZZ_LIB_SRCS) $(PKG_LIBS)

$(BUILD)/replay-%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_LIB_SRCS) $(TOOL_HDRS) | deps
	@mkdir -p $(BUILD)
	$(CC) $(WARN) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< tests/fuzz/replay.c $(FUZZ_LIB_SRCS) $(PKG_LIBS)

fuzz-deps: | deps
	$(call apt_install,fuzz-deps,clang libclang-rt-14-dev)

fuzz: $(addprefix build-fuzz/fuzz-,$(FUZZERS)) $(BUILD)/mkhive $(BUILD)/mklog $(BUILD)/ntfsput
	tests/fuzz/run build-fuzz $(BUILD) $(FUZZ_SECONDS)

check: tool/nobounce $(BUILD)/mkhive $(BUILD)/mklog $(BUILD)/nobounce-faults $(BUILD)/ntfsput $(addprefix $(BUILD)/replay-,$(FUZZERS))
	tests/run $(BUILD)

test: check

demo: tool/nobounce $(BUILD)/mkhive $(BUILD)/ntfsput
	tests/demo $(BUILD)

# The whole suite again with AddressSanitizer (leaks included) and
# UndefinedBehaviorSanitizer, on binaries of its own in build-asan/.
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
asan: | deps
	@mkdir -p build-asan
	$(CC) $(WARN) $(ASAN_FLAGS) $(PKG_CFLAGS) -o build-asan/nobounce $(TOOL_SRCS) $(PKG_LIBS)
	$(CC) $(WARN) $(ASAN_FLAGS) -DNOBOUNCE_FAULTS $(PKG_CFLAGS) -o build-asan/nobounce-faults $(TOOL_SRCS) $(PKG_LIBS)
	for f in $(FUZZERS); do $(CC) $(WARN) $(ASAN_FLAGS) $(PKG_CFLAGS) -o build-asan/replay-$$f tests/fuzz/fuzz_$$f.c tests/fuzz/replay.c $(FUZZ_LIB_SRCS) $(PKG_LIBS) || exit 1; done
	$(CC) $(WARN) $(ASAN_FLAGS) -o build-asan/ntfsput hives/ntfsput.c $(shell pkg-config --libs libntfs-3g)
	$(CC) $(WARN) $(ASAN_FLAGS) -o build-asan/mklog hives/mklog.c
	$(CC) $(WARN) $(ASAN_FLAGS) $(shell pkg-config --cflags hivex) -o build-asan/mkhive $(MKHIVE_SRCS) $(shell pkg-config --libs hivex)
	NOBOUNCE=$(CURDIR)/build-asan/nobounce NOBOUNCE_SANITIZED=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp tests/run build-asan

# Benchmarks: not part of check (docs/performance.md).  The peers and the
# timing tool are installed here only.
BENCH_DEBS := hyperfine libguestfs-tools linux-image-amd64 time
bench-deps: | deps
	$(call apt_install,bench-deps,$(BENCH_DEBS))

BENCH_TOOL_SRCS := tool/blockdev.c tool/image.c tool/sandbox.c tool/partitions.c tool/vol.c tool/vol_ntfs.c tool/util.c
$(BUILD)/iofloor: tests/bench/iofloor.c $(BENCH_TOOL_SRCS) $(TOOL_HDRS) | deps
	$(CC) $(WARN) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(BENCH_TOOL_SRCS) $(PKG_LIBS)

bench: tool/nobounce $(BUILD)/mkhive $(BUILD)/ntfsput $(BUILD)/iofloor | bench-deps
	tests/bench/run $(BUILD)

install: tool/nobounce
	install -D -m 0755 tool/nobounce $(DESTDIR)$(PREFIX)/bin/nobounce
	install -D -m 0644 docs/nobounce.1 $(DESTDIR)$(PREFIX)/share/man/man1/nobounce.1

format:
	clang-format -i tool/*.c tool/*.h hives/*.c tests/fuzz/*.c tests/bench/*.c

clean:
	rm -rf tool/nobounce build build-asan build-fuzz
