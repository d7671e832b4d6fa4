# lxs-fs, the distros' files on the host: FUSE (Debian's libfuse3) over the
# 9P client of src/p9, with src/p9's server in-process for version 1.
DISTROFS_LIBS = distrofs p9 hostfs store session image common
PROGS += $(O)/lxs-fs

$(O)/obj/distrofs/%.o $(O)/asan/obj/distrofs/%.o: CPPFLAGS += $(shell pkg-config --cflags fuse3)

$(O)/lxs-fs: $(O)/obj/distrofs/main.o $(call libs_of,$(O),$(DISTROFS_LIBS))
	$(CC) $(CFLAGS) -Wl,--as-needed -o $@ $^ $(shell pkg-config --libs fuse3) $(LDLIBS)
