# lxs-net, the user-mode NAT of version 2 (libslirp in a process of its own,
# see src/net/main.c). libnet (frame.c) is linked into lxs-vm too; only this
# program links libslirp (directly: its .pc file wants glib's headers,
# which the C API does not use).
NET_LIBS = net common
PROGS += $(O)/lxs-net

$(O)/lxs-net: $(O)/obj/net/main.o $(call libs_of,$(O),$(NET_LIBS))
	$(CC) $(CFLAGS) -o $@ $^ -lslirp -lseccomp
