# lxs, the wsl.exe-compatible command line: its parsing is libcli, the rest
# (registry, import/export, talking to lxsd) is libdaemon's.
CLI_LIBS = cli daemon session image common
PROGS += $(O)/lxs

$(O)/lxs: $(O)/obj/cli/main.o $(call libs_of,$(O),$(CLI_LIBS))
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
