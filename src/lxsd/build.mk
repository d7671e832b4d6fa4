# lxsd, the per-user manager: its supervisor (liblxsd: the VM, the running
# distros, the network helpers) over libstore, which it shares with lxs.
LXSD_LIBS = lxsd store session image common
PROGS += $(O)/lxsd

$(O)/lxsd: $(O)/obj/lxsd/main.o $(call libs_of,$(O),$(LXSD_LIBS))
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
