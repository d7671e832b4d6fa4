# lxs build. `make` builds the programs, `make check` sets up and runs every
# test, `make run` sets up and starts lxs. See README.md.

CC      ?= gcc
MUSLCC  ?= musl-gcc
WERROR  ?= 1
JOBS    ?= $(shell nproc)
O       := build

WARN    := -Wall -Wextra -Wshadow -Wimplicit-fallthrough -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wcast-qual -Wwrite-strings
ifeq ($(WERROR),1)
WARN    += -Werror
endif
CPPFLAGS += -D_GNU_SOURCE -Isrc -MMD -MP
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu17 $(WARN) -fno-strict-aliasing
# Hardening of the host programs as they are installed: every object under
# $(O)/obj/ and lxs-pico (src/pico/build.mk compiles it in one step), not the
# freestanding lxs-pico-loader nor the static musl programs of the guest,
# which have flags of their own. Not the sanitizer build (unit tests,
# $(O)/asan/): ASan's runtime intercepts few of glibc's fortified __*_chk
# functions, so _FORTIFY_SOURCE would hide errors there that ASan reports
# (google/sanitizers issue 247); SANFLAGS undefines it for compilers that
# define it themselves (Ubuntu's), and ASan's redzones do the stack
# protector's work. _FORTIFY_SOURCE needs optimisation (glibc warns without
# it), so it is left out when CFLAGS asks for none.
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
            -U_FORTIFY_SOURCE
HARDEN   := -fstack-protector-strong
ifneq ($(filter -O -O1 -O2 -O3 -Os -Oz -Og -Ofast,$(CFLAGS)),)
HARDEN   += -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
endif
$(O)/obj/%.o: CFLAGS += $(HARDEN)
$(O)/lxs-pico: CFLAGS += $(HARDEN)

# Each folder under src/ is one host library (libNAME.a), except the folders
# in NOLIB (built by rules of their own: src/guest is static musl programs for
# inside the VM, src/pico is freestanding code with its own flags) and each
# folder's main.c (a program). New folders and files are picked up without
# editing this file; a folder that needs rules of its own keeps them in
# src/<folder>/build.mk, included below.
NOLIB     := guest pico
LIBS      := $(filter-out $(NOLIB),$(notdir $(patsubst %/,%,$(dir $(wildcard src/*/*.c)))))
LIBS      := $(sort $(LIBS))
LDLIBS    := -luring -larchive -lext2fs -lcom_err -linih -lseccomp -lpthread
lib_src    = $(filter-out src/$(1)/main.c,$(wildcard src/$(1)/*.c))
lib_obj    = $(patsubst src/%.c,$(2)/obj/%.o,$(call lib_src,$(1)))

PROGS     := $(O)/lxs-vm $(O)/lxs-session $(O)/lxs-mkimage
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(patsubst tests/unit/%.c,$(O)/asan/tests/%,$(UNIT_SRC))
GUEST_BIN := $(O)/guest/testinit $(O)/guest/lxs-init $(O)/guest/blkbench
INITRAMFS := $(O)/guest/test-initramfs.cpio $(O)/guest/lxs-initramfs.cpio $(O)/guest/blkbench-initramfs.cpio

# Each program links the libraries it uses, users before what they use.
VM_LIBS      = vmm vsock fusesrv p9 hostfs net common
SESSION_LIBS = session common
IMAGE_LIBS   = image common
libs_of      = $(foreach l,$(2),$(1)/lib$(l).a)

# Folder-owned rules (src/*/build.mk, in alphabetical order) may use the
# above and add to PROGS, GUEST_BIN and CHECK_DEPS.
.DEFAULT_GOAL := all
CHECK_DEPS :=
-include $(wildcard src/*/build.mk)

all: $(PROGS) $(GUEST_BIN) $(INITRAMFS)

# --- libraries, normal and sanitizer builds ---------------------------------
$(O)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(O)/asan/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) -c -o $@ $<

define lib_rules
$(O)/lib$(1).a: $(call lib_obj,$(1),$(O))
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
$(O)/asan/lib$(1).a: $(call lib_obj,$(1),$(O)/asan)
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach l,$(LIBS),$(eval $(call lib_rules,$(l))))

ALL_LIBS  := $(foreach l,$(LIBS),$(O)/lib$(l).a)
ASAN_LIBS := $(foreach l,$(LIBS),$(O)/asan/lib$(l).a)
# Unit tests link every library: as a group, so that the archives' order
# (alphabetical) does not matter.
LINK_LIBS  = -Wl,--start-group $(1) -Wl,--end-group

# --- programs ----------------------------------------------------------------

$(O)/lxs-vm: $(O)/obj/vmm/main.o $(call libs_of,$(O),$(VM_LIBS))
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(O)/asan/lxs-vm: $(O)/asan/obj/vmm/main.o $(call libs_of,$(O)/asan,$(VM_LIBS))
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

$(O)/lxs-mkimage: $(O)/obj/image/main.o $(call libs_of,$(O),$(IMAGE_LIBS))
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(O)/lxs-session: $(O)/obj/session/main.o $(call libs_of,$(O),$(SESSION_LIBS))
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# --- unit tests (sanitizer build, no KVM) ------------------------------------
$(O)/asan/tests/%: tests/unit/%.c $(ASAN_LIBS) tests/unit/unit.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(SANFLAGS) -o $@ $< $(call LINK_LIBS,$(ASAN_LIBS)) $(LDLIBS)

# This one runs lxs-init --serve-unix: it is told where this build puts it.
$(O)/asan/tests/test_distrofs_guest: private CPPFLAGS += -DLXS_INIT_BIN='"$(O)/guest/lxs-init"'
$(O)/asan/tests/test_distrofs_guest: | $(O)/guest/lxs-init

# --- guest side: static test init and its initramfs --------------------------
$(O)/guest/testinit: tests/vm/testinit.c src/common/proto.h
	@mkdir -p $(@D)
	$(MUSLCC) -static -Os -std=gnu17 $(WARN) -Isrc -o $@ $<

# The kernel's own headers (rtnetlink, sock_diag) for musl programs: Debian's
# linux-libc-dev, which glibc's headers come with, seen through a folder of
# links so that nothing else of glibc's /usr/include mixes with musl's.
GUEST_UAPI := $(O)/guest/uapi
$(GUEST_UAPI)/.made:
	@mkdir -p $(@D)
	ln -sfn /usr/include/linux $(@D)/linux
	ln -sfn /usr/include/asm-generic $(@D)/asm-generic
	ln -sfn /usr/include/$(shell gcc -print-multiarch)/asm $(@D)/asm
	touch $@

# lxs-init takes from src/common only what a static musl program can use,
# and the whole 9P server library (src/p9, with the host layer it stands on,
# src/hostfs) for the distros' files (src/guest/distrofs.c), unchanged:
# src/guest/musl_compat.h, included into every file, gives them what musl
# 1.2.3 lacks (statx).
GUEST_COMMON := src/common/wire.c src/common/clock.c src/common/dirs.c src/relay/relay.c
GUEST_P9  := $(call lib_src,p9) $(call lib_src,hostfs)
GUEST_SRC := $(wildcard src/guest/*.c) $(GUEST_COMMON) $(GUEST_P9)
$(O)/guest/lxs-init: $(GUEST_SRC) $(wildcard src/guest/*.h) src/common/proto.h $(GUEST_COMMON:.c=.h) \
		$(wildcard src/p9/*.h src/hostfs/*.h) $(GUEST_UAPI)/.made
	@mkdir -p $(@D)
	$(MUSLCC) -static -Os -std=gnu17 $(WARN) -D_GNU_SOURCE -Isrc -isystem $(GUEST_UAPI) \
		-include src/guest/musl_compat.h -o $@ $(GUEST_SRC) -lpthread

# One object per guest file, with lxs-init's flags, for tests/cycles.sh only
# (lxs-init itself is built from the sources in one step, above).
GUEST_OBJ := $(patsubst src/%.c,$(O)/obj/%.o,$(wildcard src/guest/*.c))
$(GUEST_OBJ): $(O)/obj/guest/%.o: src/guest/%.c $(wildcard src/guest/*.h) src/common/proto.h \
		src/common/wire.h $(wildcard src/p9/*.h src/hostfs/*.h) $(GUEST_UAPI)/.made
	@mkdir -p $(@D)
	$(MUSLCC) -Os -std=gnu17 $(WARN) -D_GNU_SOURCE -Isrc -isystem $(GUEST_UAPI) \
		-include src/guest/musl_compat.h -c -o $@ $<
CHECK_DEPS += $(GUEST_OBJ)

# lxs-host (also lxspath and every host command name), the distro's side of
# interop: static, so it runs in any distro, in the VM and under lxs-pico
# alike. lxs copies it into the tools folder that distros see at /usr/lib/lxs.
HOSTTOOL_SRC := src/interop/main.c src/interop/xlate.c src/interop/lxspath.c \
		src/session/client.c src/common/wire.c
$(O)/lxs-host: $(HOSTTOOL_SRC) $(wildcard src/interop/*.h) src/session/session.h \
		src/common/proto.h src/common/wire.h $(GUEST_UAPI)/.made
	$(MUSLCC) -static -Os -std=gnu17 $(WARN) -D_GNU_SOURCE -Isrc -isystem $(GUEST_UAPI) -o $@ $(HOSTTOOL_SRC)
all: $(O)/lxs-host
# Its own file as an object too, for tests/cycles.sh only.
$(O)/obj/interop/main.o: src/interop/main.c $(wildcard src/interop/*.h) src/session/session.h \
		src/common/proto.h $(GUEST_UAPI)/.made
	@mkdir -p $(@D)
	$(MUSLCC) -Os -std=gnu17 $(WARN) -D_GNU_SOURCE -Isrc -isystem $(GUEST_UAPI) -c -o $@ $<
CHECK_DEPS += $(O)/obj/interop/main.o

$(O)/guest/blkbench: bench/blkbench.c src/common/proto.h
	@mkdir -p $(@D)
	$(MUSLCC) -static -O2 -std=gnu17 $(WARN) -D_GNU_SOURCE -Isrc -o $@ $< -lpthread

$(O)/guest/blkbench-initramfs.cpio: $(O)/guest/blkbench scripts/mkinitramfs.sh
	scripts/mkinitramfs.sh $@ $(O)/guest/blkbench

$(O)/guest/test-initramfs.cpio: $(O)/guest/testinit scripts/mkinitramfs.sh
	scripts/mkinitramfs.sh $@ $(O)/guest/testinit

$(O)/guest/lxs-initramfs.cpio: $(O)/guest/lxs-init scripts/mkinitramfs.sh
	scripts/mkinitramfs.sh $@ $(O)/guest/lxs-init

# --- entry points --------------------------------------------------------------
.PHONY: all deps kernel unit check run clean format ltp
deps:
	scripts/deps.sh all

kernel: deps
	kernel/build.sh >/dev/null

unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

check: deps
	$(MAKE) -j$(JOBS) all $(O)/asan/lxs-vm $(UNIT_BIN) $(CHECK_DEPS)
	tests/check.sh

run: deps
	$(MAKE) all
	scripts/run.sh

# The Linux Test Project's runtest/syscalls natively and under lxs-pico
# (issue 15; not part of check): built once into the cache (~15 minutes),
# run ~1 hour; per-test results in build/ltp/{native,pico}.tsv, the table in
# bench/RESULTS.md's section "tests/ltp (issue 15)".
ltp: deps $(O)/lxs-pico $(O)/lxs-pico-loader
	tests/ltp/build.sh >/dev/null
	tests/ltp/run.sh
	tests/ltp/report.py --write bench/RESULTS.md

format:
	find src tests/unit tests/vm -type f \( -name "*.c" -o -name "*.h" \) -exec clang-format -i {} +

clean:
	rm -rf $(O)

# The compiler's dependency files (build/ also holds unpacked distros, whose
# etc/rc2.d must not be taken for one).
-include $(wildcard $(O)/obj/*/*.d $(O)/asan/obj/*/*.d $(O)/asan/tests/*.d)
