# lxsd, the per-user manager. libdaemon holds the registry, config,
# import/export and the VM side, and is shared with lxs (src/cli).
DAEMON_LIBS = daemon session image common
PROGS += $(O)/lxsd

$(O)/lxsd: $(O)/obj/daemon/main.o $(call libs_of,$(O),$(DAEMON_LIBS))
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
