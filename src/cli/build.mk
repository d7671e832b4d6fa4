# lxs, the wsl.exe-compatible command line: its parsing is libcli, the rest
# (registry, import/export, talking to lxsd) is libstore's. Two programs
# from src/cli/main.c: lxs-manage has every command; lxs (LXS_LEAN) runs
# commands, lists and stops, and hands the commands that write distros to
# lxs-manage, so that it links neither libarchive nor libext2fs (see there).
CLI_LIBS = cli store session relay interop image common
PROGS += $(O)/lxs $(O)/lxs-manage

$(O)/obj/cli/main-lean.o: src/cli/main.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -DLXS_LEAN $(CFLAGS) -c -o $@ $<

$(O)/lxs: $(O)/obj/cli/main-lean.o $(call libs_of,$(O),$(CLI_LIBS))
	$(CC) $(CFLAGS) -Wl,--as-needed -o $@ $^ $(LDLIBS)

$(O)/lxs-manage: $(O)/obj/cli/main.o $(call libs_of,$(O),$(CLI_LIBS))
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
