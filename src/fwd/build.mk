# lxs-fwd, the host side of localhost forwarding (fwd.h). The unit test of
# src/fwd also covers the guest's listener parser (src/guest/diag.c), which
# is plain C with no musl-only parts, so it links that file too.
FWD_LIBS = fwd common
PROGS += $(O)/lxs-fwd

$(O)/lxs-fwd: $(O)/obj/fwd/main.o $(call libs_of,$(O),$(FWD_LIBS))
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# (ASAN_LIBS is defined after this file is read: the prerequisites spell it out.)
$(O)/asan/tests/test_fwd: tests/unit/test_fwd.c src/guest/diag.c src/guest/diag.h \
		$(foreach l,$(LIBS),$(O)/asan/lib$(l).a) tests/unit/unit.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(SANFLAGS) -o $@ $< src/guest/diag.c $(call LINK_LIBS,$(ASAN_LIBS)) $(LDLIBS)
