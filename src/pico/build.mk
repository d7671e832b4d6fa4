# src/pico: version 1 (no VM). Two programs:
#  lxs-pico         the launcher and tar import/export (hosted, libarchive)
#  lxs-pico-loader  the static loader + SIGSYS translator (freestanding: no
#                   libc, because it runs inside guest processes whose libc
#                   owns %fs; position-independent, because each session
#                   puts it at an address of its own, far from where
#                   programs and mmap go, and the seccomp filter tells its
#                   own system calls by instruction pointer: see loader.c)

PICO_FREE_SRC := src/pico/rt.c src/pico/path.c src/pico/meta.c src/pico/perm.c src/pico/trap.c \
	src/pico/filter.c src/pico/procview.c src/pico/pidview.c src/pico/privilege.c src/pico/open.c \
	src/pico/open2.c src/pico/ipc.c src/pico/exec.c src/pico/loader.c
PICO_HOST_SRC := src/pico/main.c src/pico/volfs_tar.c
PICO_HDR      := $(wildcard src/pico/*.h) src/common/volfs.h
# -fno-tree-loop-distribute-patterns: no memset/memcpy calls made up by the
# compiler inside rt.c's own memset/memcpy.
PICO_FREE_CFLAGS := -std=gnu17 $(WARN) -O2 -g -Isrc -ffreestanding -fno-stack-protector \
	-fpie -fno-plt -fno-asynchronous-unwind-tables -fno-strict-aliasing -fcf-protection=none \
	-fno-tree-loop-distribute-patterns

$(O)/lxs-pico-loader: $(PICO_FREE_SRC) $(PICO_HDR) src/pico/build.mk
	@mkdir -p $(@D)
	$(CC) $(PICO_FREE_CFLAGS) -nostdlib -static-pie \
		-Wl,--build-id=none -Wl,-z,noexecstack -o $@.tmp $(PICO_FREE_SRC) -lgcc
	@# Nothing applies relocations: the loader runs where it is mapped as
	@# it is, so a static table of pointers (which needs one) must not creep in.
	@if readelf -rW $@.tmp | grep -q 'R_X86_64'; then \
		echo "$@: relocations in the loader (a static table of pointers?); it must have none:" >&2; \
		readelf -rW $@.tmp | grep R_X86_64 | head -n 5 >&2; rm -f $@.tmp; exit 1; fi
	@mv $@.tmp $@

$(O)/lxs-pico: $(PICO_HOST_SRC) $(PICO_HDR) src/common/tar_rules.h src/pico/build.mk | $(O)/lxs-pico-loader
	@mkdir -p $(@D)
	$(CC) -D_GNU_SOURCE -Isrc $(CFLAGS) -o $@ $(PICO_HOST_SRC) -larchive

# One object per file, for tests/cycles.sh only: the loader's files with its
# own flags, the launcher's with the ordinary rule of the Makefile.
PICO_FREE_OBJ := $(patsubst src/%.c,$(O)/obj/%.o,$(PICO_FREE_SRC))
$(PICO_FREE_OBJ): $(O)/obj/pico/%.o: src/pico/%.c $(PICO_HDR) src/pico/build.mk
	@mkdir -p $(@D)
	$(CC) $(PICO_FREE_CFLAGS) -c -o $@ $<
CHECK_DEPS += $(PICO_FREE_OBJ) $(patsubst src/%.c,$(O)/obj/%.o,$(PICO_HOST_SRC))

PROGS      += $(O)/lxs-pico $(O)/lxs-pico-loader
CHECK_DEPS += $(O)/lxs-pico $(O)/lxs-pico-loader

# The compatibility suite (tests/pico/compat/t_*.c): ordinary glibc programs,
# run natively and under lxs-pico by tests/pico/compat/run.sh.
PICO_COMPAT_SRC := $(wildcard tests/pico/compat/t_*.c)
PICO_COMPAT_BIN := $(patsubst tests/pico/compat/%.c,$(O)/pico-compat/%,$(PICO_COMPAT_SRC))
$(O)/pico-compat/%: tests/pico/compat/%.c tests/pico/compat/compat.h
	@mkdir -p $(@D)
	$(CC) -std=gnu17 -O1 -g -Wall -Wno-unused-function -pthread -o $@ $< -lrt -ldl
pico-compat: $(PICO_COMPAT_BIN)
.PHONY: pico-compat
CHECK_DEPS += $(PICO_COMPAT_BIN)
