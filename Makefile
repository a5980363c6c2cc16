# dumpfs — see README.md.  `make` builds ./dumpfs; `make test` installs what
# is missing (as root), builds, and runs the unit and integration tests.

VERSION := 0.1.0
PREFIX ?= /usr/local
CC ?= cc
BUILD ?= build
OPT ?= -O2 -g
SAN ?=

WARN := -std=gnu11 -Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes \
	-Wstrict-prototypes -Wwrite-strings -Wvla -Werror
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
endif

LIB_PKGS := libmariadb gpgme libcurl zlib libdeflate
FS_PKGS := fuse3 inih
PKG_CFLAGS = $(shell pkg-config --cflags $(1) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(1) 2>/dev/null)

BASE_CFLAGS := $(WARN) $(OPT) $(SANFLAGS) -D_GNU_SOURCE -pthread \
	-DDUMPFS_VERSION='"$(VERSION)"'
DUMPER_CFLAGS := $(BASE_CFLAGS) $(call PKG_CFLAGS,$(LIB_PKGS))
FS_CFLAGS := $(BASE_CFLAGS) -DFUSE_USE_VERSION=31 \
	$(call PKG_CFLAGS,$(LIB_PKGS) $(FS_PKGS))
LDLIBS := $(call PKG_LIBS,$(FS_PKGS) $(LIB_PKGS)) -pthread
LDFLAGS += $(SANFLAGS)

DUMPER_SRC := $(sort $(wildcard dumper/*.c))
FS_SRC := $(filter-out fs/main.c,$(sort $(wildcard fs/*.c)))
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))

DUMPER_OBJ := $(DUMPER_SRC:%.c=$(BUILD)/%.o)
FS_OBJ := $(FS_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)

.PHONY: all clean deps test unit check-layering demo bench install format asan

all: dumpfs

dumpfs: $(BUILD)/dumpfs
	@if [ "$(BUILD)" = build ]; then cp $< $@; fi

$(BUILD)/libdumper.a: $(DUMPER_OBJ)
	ar rcs $@ $^

$(BUILD)/dumpfs: $(BUILD)/fs/main.o $(FS_OBJ) $(BUILD)/libdumper.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit-tests: $(UNIT_OBJ) $(FS_OBJ) $(BUILD)/libdumper.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/dumper/%.o: dumper/%.c
	@mkdir -p $(@D)
	$(CC) $(DUMPER_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/fs/%.o: fs/%.c
	@mkdir -p $(@D)
	$(CC) $(FS_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	$(CC) $(FS_CFLAGS) -Wno-missing-prototypes -MMD -MP -c -o $@ $<

-include $(DUMPER_OBJ:.o=.d) $(FS_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(BUILD)/fs/main.d

# dumper/ is the FUSE-free library: it must never include fs/ or fuse.
check-layering:
	@! grep -nE '#include *[<"](\.\./fs/|fuse)' dumper/*.c dumper/*.h || \
		{ echo "layering: dumper/ must not include fs/ or fuse headers"; exit 1; }

deps:
	@tests/deps.sh build test

unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

asan:
	$(MAKE) BUILD=build/asan SAN=1 OPT='-O1 -g' build/asan/dumpfs build/asan/unit-tests

# Unit, integration and compose stack tests (tests/run.sh), which prints
# the final totals.
test: deps
	$(MAKE) check-layering all asan
	tests/run.sh

demo:
	@tests/deps.sh build demo
	$(MAKE) all
	tests/demo.sh

bench:
	@tests/deps.sh build test bench
	$(MAKE) all
	tests/bench/bench.sh

install: all
	install -D -m 0755 dumpfs $(DESTDIR)$(PREFIX)/bin/dumpfs
	install -D -m 0644 dumpfs.1 $(DESTDIR)$(PREFIX)/share/man/man1/dumpfs.1
	install -d $(DESTDIR)/sbin
	ln -sf $(PREFIX)/bin/dumpfs $(DESTDIR)/sbin/mount.fuse.dumpfs

format:
	clang-format -i dumper/*.[ch] fs/*.[ch] tests/unit/*.[ch]

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
