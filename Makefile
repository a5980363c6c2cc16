# dumpfs — see README.md.  `make` builds ./dumpfs; `make test` installs what
# is missing (as root), builds, and runs the unit and integration tests.

VERSION := 0.1.0

# Install locations.  The mount helper lives where mount(8) looks for
# helpers (/sbin), whatever the prefix.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
SBINDIR ?= /sbin

CC ?= cc
AR ?= ar
BUILD ?= build

# The user's flags (packagers: CFLAGS, CPPFLAGS, LDFLAGS, e.g. from
# dpkg-buildflags) are kept; the project's flags are added in front of them,
# so the user's come last and win.
CFLAGS ?= -O2 -g

# DEVELOPER=1 turns warnings into errors: on in a git checkout, in `make test`
# and CI; off in a release tarball (a newer compiler's new warning must not
# break a user's build).  `make DEVELOPER=` turns it off in a checkout.
DEVELOPER ?= $(if $(wildcard .git),1)

# SAN=asan (or 1): ASan+UBSan; SAN=thread: ThreadSanitizer (see `make asan`/`tsan`);
# SAN=fuzz: libFuzzer targets (see `make fuzz`).
SAN ?=

# Hardening, on unless HARDEN=0: stack protector, PIE, full RELRO, and
# _FORTIFY_SOURCE=2 when optimising (it needs -O) and not under a sanitizer,
# unless the user's flags already choose a _FORTIFY_SOURCE level.
HARDEN ?= 1

WARN := -std=gnu11 -Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes \
	-Wstrict-prototypes -Wwrite-strings -Wvla
ifeq ($(DEVELOPER),1)
WARN += -Werror
endif

ifneq ($(filter asan 1,$(SAN)),)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
else ifeq ($(SAN),thread)
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
else ifeq ($(SAN),fuzz)
# clang only: libFuzzer's coverage, with ASan+UBSan (`make fuzz`)
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
else ifneq ($(SAN),)
$(error SAN=$(SAN): use SAN=asan or SAN=thread)
endif

LIB_PKGS := libmariadb gpgme libcurl zlib libdeflate
FS_PKGS := fuse3 inih
PKG_CFLAGS = $(shell pkg-config --cflags $(1) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(1) 2>/dev/null)
# (pkg-config's errors are reported by the pkg-check target, which runs before
# any compilation.)  The Debian package providing each pkg-config package:
DEB_libmariadb := libmariadb-dev
DEB_gpgme := libgpgme-dev
DEB_libcurl := libcurl4-openssl-dev
DEB_zlib := zlib1g-dev
DEB_libdeflate := libdeflate-dev
DEB_fuse3 := libfuse3-dev
DEB_inih := libinih-dev

OPT_LEVEL := $(lastword $(filter -O%,$(CFLAGS)))
ifeq ($(HARDEN),1)
HARDEN_CFLAGS := -fstack-protector-strong -fPIE
HARDEN_LDFLAGS := -pie -Wl,-z,relro,-z,now
ifeq ($(SAN)$(findstring _FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS)),)
ifneq ($(filter-out -O0,$(OPT_LEVEL)),)
HARDEN_CPPFLAGS := -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
endif
endif
endif

BASE_CPPFLAGS := -D_GNU_SOURCE -DDUMPFS_VERSION='"$(VERSION)"' $(HARDEN_CPPFLAGS)
BASE_CFLAGS := $(WARN) $(HARDEN_CFLAGS) $(SANFLAGS) -pthread
DUMPER_CFLAGS := $(BASE_CPPFLAGS) $(call PKG_CFLAGS,$(LIB_PKGS)) $(CPPFLAGS) \
	$(BASE_CFLAGS) $(CFLAGS)
FS_CFLAGS := $(BASE_CPPFLAGS) -DFUSE_USE_VERSION=31 \
	$(call PKG_CFLAGS,$(LIB_PKGS) $(FS_PKGS)) $(CPPFLAGS) $(BASE_CFLAGS) $(CFLAGS)
ALL_LDFLAGS := $(HARDEN_LDFLAGS) $(SANFLAGS) -pthread $(CFLAGS) $(LDFLAGS)
LDLIBS := $(call PKG_LIBS,$(FS_PKGS) $(LIB_PKGS)) -pthread

DUMPER_SRC := $(sort $(wildcard dumper/*.c))
FS_SRC := $(filter-out fs/main.c,$(sort $(wildcard fs/*.c fs/*/*.c)))
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
FORMAT_SRC = $(sort $(wildcard dumper/*.[ch] fs/*.[ch] fs/*/*.[ch] tests/unit/*.[ch]))
FORMAT_SRC += $(wildcard tests/unit/selftest/*.c tests/fuzz/*.[ch])
# The libFuzzer targets (tests/fuzz/fuzz_NAME.c -> $(BUILD)/fuzz/fuzz_NAME).
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

DUMPER_OBJ := $(DUMPER_SRC:%.c=$(BUILD)/%.o)
FS_OBJ := $(FS_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)

.PHONY: all clean deps test unit check check-layering check-format pkg-check \
	demo bench install uninstall format asan tsan clang
.PHONY: fuzz fuzz-build

all: dumpfs

dumpfs: $(BUILD)/dumpfs
	@if [ "$(BUILD)" = build ]; then cp $< $@; fi

# The compiler, flags and object lists of the last build in $(BUILD) (like
# git's GIT-CFLAGS): rewritten only when they change, which then rebuilds
# everything, so `make DEVELOPER=` after `make` recompiles, and a deleted
# source leaves the archive and the programs.
BUILD_INFO = $(strip $(CC) $(DUMPER_CFLAGS) $(FS_CFLAGS) $(ALL_LDFLAGS) $(LDLIBS) \
	$(DUMPER_OBJ) $(FS_OBJ) $(UNIT_OBJ))
same = $(and $(findstring $(1),$(2)),$(findstring $(2),$(1)))
DRY_RUN := $(findstring n,$(firstword -$(MAKEFLAGS)))
$(BUILD)/build-info: FORCE
	@$(if $(DRY_RUN)$(call same,$(BUILD_INFO),$(strip $(file <$@))),:,$(shell mkdir -p \
		$(@D))$(file >$@,$(BUILD_INFO))echo "$(BUILD): new compiler, flags or sources: rebuilding all")
FORCE:

# Rebuilt from scratch: `ar r` on an existing archive would keep the
# members of deleted or renamed sources.
$(BUILD)/libdumper.a: $(DUMPER_OBJ) $(BUILD)/build-info
	rm -f $@
	$(AR) rcs $@ $(DUMPER_OBJ)

$(BUILD)/dumpfs: $(BUILD)/fs/main.o $(FS_OBJ) $(BUILD)/libdumper.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit-tests: $(UNIT_OBJ) $(FS_OBJ) $(BUILD)/libdumper.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

# The unit runner's own tests (tests/unit/selftest/check.sh runs them).
$(BUILD)/runner-selftest: $(BUILD)/tests/unit/runner.o $(BUILD)/tests/unit/selftest/selftest.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^

$(BUILD)/fuzz/%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/unit/strbufsink.o $(FS_OBJ) \
		$(BUILD)/libdumper.a
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

# pkg-check runs first (order-only: it never forces a rebuild).
$(DUMPER_OBJ) $(FS_OBJ) $(UNIT_OBJ) $(BUILD)/fs/main.o: $(BUILD)/build-info | pkg-check

$(BUILD)/dumper/%.o: dumper/%.c
	@mkdir -p $(@D)
	$(CC) $(DUMPER_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/fs/%.o: fs/%.c
	@mkdir -p $(@D)
	$(CC) $(FS_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	$(CC) $(FS_CFLAGS) -Wno-missing-prototypes -MMD -MP -c -o $@ $<

$(BUILD)/tests/fuzz/%.o: tests/fuzz/%.c $(BUILD)/build-info | pkg-check
	@mkdir -p $(@D)
	$(CC) $(FS_CFLAGS) -MMD -MP -c -o $@ $<

-include $(DUMPER_OBJ:.o=.d) $(FS_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(BUILD)/fs/main.d
-include $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/fuzz/%.d)

# A missing library stops the build here, named, instead of as a missing
# header further on.
pkg-check:
	@command -v pkg-config >/dev/null 2>&1 || { echo "error: pkg-config not found:" \
		"install it (Debian: apt-get install pkg-config)" >&2; exit 1; }
	@missing=; $(foreach p,$(LIB_PKGS) $(FS_PKGS),pkg-config --exists $(p) || { \
		pkg-config --print-errors --exists $(p) 2>&1 | sed 's/^/pkg-config: /' >&2; \
		echo "error: pkg-config package '$(p)' not found: install $(if $(DEB_$(p)),$(DEB_$(p)) (Debian),its development package), or set PKG_CONFIG_PATH" >&2; \
		missing=1; };) \
	[ -z "$$missing" ] || { echo "(make deps installs them all, as root)" >&2; exit 1; }

# dumper/ is the FUSE-free library: it must never include fs/ or fuse;
# in fs/, config/ stands alone, cli/ (the commands) uses config/, mount/
# (the FUSE program) uses both;
# no two modules include each other, directly or through others.
check-layering:
	@! grep -nE '#include *[<"](\.\./fs/|fuse)' dumper/*.c dumper/*.h || \
		{ echo "layering: dumper/ must not include fs/ or fuse headers"; exit 1; }
	@! grep -nE '#include *"\.\./(cli|mount)/' fs/config/*.[ch] || \
		{ echo "layering: fs/config/ must not include the commands or the mount"; exit 1; }
	@! grep -nE '#include *"\.\./mount/' fs/cli/*.[ch] || \
		{ echo "layering: fs/cli/ must not include the mount"; exit 1; }
	@! grep -nE '#include *<fuse' fs/main.c fs/cli/*.[ch] fs/config/*.[ch] || \
		{ echo "layering: only fs/mount/ uses FUSE"; exit 1; }
	@python3 tests/tools/include_cycles.py dumper fs || \
		{ echo "layering: modules must not include each other in a cycle"; exit 1; }
	@! git grep -nE 'SPEC(\.md| section| [0-9])' -- . ':!docs' 2>/dev/null || \
		{ echo "docs: cite a page of docs/, not a document outside the repository"; exit 1; }
	@for d in $$(git grep -IohE 'docs/[a-z_]+\.md' -- . | sort -u); do \
		test -f "$$d" || { echo "docs: $$d is cited but does not exist"; exit 1; }; done

# The C sources must match the committed .clang-format (`make format` fixes).
check-format:
	@echo "clang-format --dry-run -Werror dumper/ fs/ tests/unit/"
	@clang-format --dry-run -Werror $(FORMAT_SRC)

deps:
	@tests/deps.sh build test

# The unit tests alone, with whatever is installed (no `make deps`).
check unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

asan:
	$(MAKE) BUILD=build/asan SAN=asan CFLAGS='-O1 -g' build/asan/dumpfs build/asan/unit-tests \
		build/asan/runner-selftest

tsan:
	$(MAKE) BUILD=build/tsan SAN=thread CFLAGS='-O1 -g' build/tsan/dumpfs build/tsan/unit-tests \
		build/tsan/runner-selftest

# libFuzzer targets of the parsers of untrusted input (tests/fuzz/), built
# with clang; `make fuzz` runs each for FUZZ_SECONDS (default 60), crashes
# saved under build/fuzz/artifacts/ (tests/fuzz/run.sh).
FUZZ_SECONDS ?= 60
fuzz-build:
	$(MAKE) CC=clang BUILD=build/fuzz SAN=fuzz CFLAGS='-O1 -g' \
		$(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/fuzz/%)

fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_SECONDS)

clang:
	$(MAKE) CC=clang BUILD=build/clang build/clang/dumpfs build/clang/unit-tests

# Unit, integration and compose stack tests (tests/run.sh), which prints
# the final totals.  Built as a developer: warnings are errors, with gcc and
# clang, formatting checked.
# The builds run in parallel (TEST_JOBS, default: the number of CPUs): they
# are a quarter of CI's time otherwise.
TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
test: deps
	$(MAKE) -j$(TEST_JOBS) DEVELOPER=1 check-layering check-format all asan tsan clang
	$(MAKE) -j$(TEST_JOBS) DEVELOPER=1 fuzz-build
	tests/run.sh

demo:
	@tests/deps.sh build demo
	$(MAKE) all
	tests/demo.sh

bench:
	@tests/deps.sh build test bench
	$(MAKE) all
	$(MAKE) BUILD=build/nodigest CPPFLAGS=-DDUMPFS_BENCH_NO_DIGESTS build/nodigest/dumpfs
	tests/bench/bench.sh

# DESTDIR stages a package.  The mount helper link points at the installed
# binary's final path, absolute: /sbin is a symlink to usr/sbin on merged-/usr
# systems, where a relative ../usr/... target would resolve wrongly.
install: all
	install -D -m 0755 dumpfs $(DESTDIR)$(BINDIR)/dumpfs
	install -D -m 0644 dumpfs.1 $(DESTDIR)$(MANDIR)/man1/dumpfs.1
	install -d $(DESTDIR)$(SBINDIR)
	ln -sfn $(BINDIR)/dumpfs $(DESTDIR)$(SBINDIR)/mount.fuse.dumpfs

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/dumpfs $(DESTDIR)$(MANDIR)/man1/dumpfs.1 \
		$(DESTDIR)$(SBINDIR)/mount.fuse.dumpfs

format:
	clang-format -i $(FORMAT_SRC)

clean:
	rm -rf build dumpfs

# --- Deployment: the compose stack (docker/, docs/deployment.md) ----------
# COMPOSE: `docker compose` when Docker's compose plugin answers, else
# podman-compose, else docker-compose (evaluated once, only when used).
# The operations live in docker/stack.sh; call it directly when the exact
# exit code matters (make reports every failure as 2: `make monitor` shows
# dumpfs check's code as "Error N").
COMPOSE ?= $(eval COMPOSE := $(shell if docker compose version >/dev/null 2>&1; \
	then echo docker compose; elif command -v podman-compose >/dev/null 2>&1; \
	then echo podman-compose; elif command -v docker-compose >/dev/null 2>&1; \
	then echo docker-compose; else echo docker compose; fi))$(COMPOSE)
STACK = COMPOSE='$(COMPOSE)' docker/stack.sh

.PHONY: build up down backup monitor logs restore secrets stack-test

build:
	$(STACK) build
up:
	$(STACK) up
down:
	$(STACK) down
backup:
	$(STACK) backup
monitor:
	@$(STACK) monitor
logs:
	$(STACK) logs
restore:
	@test -n "$(FILE)" || { echo "usage: make restore FILE=backups/<name>.sql.gz.gpg [GNUPGHOME=...] [RESTORE_ARGS='--database NAME']"; exit 2; }
	$(STACK) restore '$(FILE)' $(RESTORE_ARGS)
secrets:
	$(STACK) secrets
stack-test:
	tests/stack/stack-test.sh
