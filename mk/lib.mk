# Shared libraries, pkg-config and `make install` (issue 14, part 1).
#
#   $(BUILD)/lib/libxensim.so.0     the whole sim and the drivers: the one sim
#                                   state of the process. Xen's API functions are
#                                   renamed xensim_impl_NAME in it.
#   $(BUILD)/lib/libxenevtchn.so.1  Xen's sonames, version nodes and symbol ->
#   $(BUILD)/lib/libxengnttab.so.1  version assignment (mk/lib/*.map, as Debian's
#   $(BUILD)/lib/libxenstore.so.4   libraries export them); each exported NAME
#                                   jumps to xensim_impl_NAME (mk/lib/trampoline.S)
#                                   and NEEDs libxensim.so.0, found beside it
#                                   (RUNPATH $ORIGIN: a program's own RUNPATH
#                                   does not reach its libraries' NEEDED).
#
# Why this shape: glibc binds a program's reference NAME@VERS_1.0 (verneed
# "libxenevtchn.so.1") to the first object in the lookup scope that defines
# NAME with that version, after checking that libxenevtchn.so.1 itself defines
# the version node. The Xen-named libraries come before libxensim.so.0 in that
# scope (they are the program's direct NEEDED), so their definitions win; if
# libxensim.so.0 also exported NAME, a trampoline jumping to NAME would jump to
# itself, hence the rename. All state lives in libxensim.so.0, loaded once, so a
# program that loads one, two or all three Xen-named libraries (directly or
# through Debian's libxenvchan.so) has one sim.
#
# Objects for them are built with -fPIC -DXENSIM_SHARED in $(BUILD)/obj-pic/, so
# the static build is unchanged. XENSIM_SHARED switches on the standalone mode
# (sim/standalone/standalone.c).

LIB_DIR      := $(BUILD)/lib
PIC_DIR      := $(BUILD)/obj-pic
PIC_SRCS     := $(SIM_SRCS) $(DRV_SRCS)
PIC_OBJS     := $(PIC_SRCS:%.c=$(PIC_DIR)/%.o)
XEN_LIBNAMES := xenevtchn:1 xengnttab:1 xenstore:4
XEN_SOS      := $(foreach l,$(XEN_LIBNAMES),$(LIB_DIR)/lib$(word 1,$(subst :, ,$(l))).so.$(word 2,$(subst :, ,$(l))))
XENSIM_SO    := $(LIB_DIR)/libxensim.so.0
LIB_LINKS    := $(XENSIM_SO:.so.0=.so) $(foreach s,$(XEN_SOS),$(basename $(s)))
LIB_MAPS     := $(foreach l,$(XEN_LIBNAMES),mk/lib/$(word 1,$(subst :, ,$(l))).map)

.PHONY: libs install
all: libs
libs: $(XENSIM_SO) $(XEN_SOS) $(LIB_LINKS) $(BUILD)/xensim.pc

$(PIC_DIR)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC -DXENSIM_SHARED -MMD -MP -c $< -o $@

# "NAME xensim_impl_NAME" for every function the Xen-named libraries export.
$(PIC_DIR)/impl.rename: $(LIB_MAPS)
	@mkdir -p $(@D)
	awk '/^\t\t[A-Za-z_0-9]+;$$/ { s = $$1; sub(/;/, "", s); print s, "xensim_impl_" s }' $^ > $@

# One relocatable object of the whole sim, the API renamed in definitions and
# in the sim's own calls alike.
$(PIC_DIR)/xensim-all.o: $(PIC_OBJS) $(PIC_DIR)/impl.rename
	$(LD) -r -o $@.tmp $(PIC_OBJS)
	objcopy --redefine-syms=$(PIC_DIR)/impl.rename $@.tmp $@
	rm -f $@.tmp

$(XENSIM_SO): $(PIC_DIR)/xensim-all.o mk/lib/xensim.map
	@mkdir -p $(@D)
	$(CC) -shared $(LDFLAGS) -Wl,-soname,$(@F) -Wl,--version-script=mk/lib/xensim.map \
	      -Wl,--no-undefined -o $@ $< $(LDLIBS)

$(PIC_DIR)/%.tramp.h: mk/lib/%.map
	@mkdir -p $(@D)
	awk '/^\t\t[A-Za-z_0-9]+;$$/ { s = $$1; sub(/;/, "", s); print "TRAMP(" s ")" }' $< > $@

$(PIC_DIR)/%.tramp.o: mk/lib/trampoline.S $(PIC_DIR)/%.tramp.h
	$(CC) -fPIC -I. -DXENSIM_TRAMP_LIST='"$(PIC_DIR)/$*.tramp.h"' -c $< -o $@

# libNAME.so.N from NAME's map and trampolines; libNAME.so -> libNAME.so.N.
define xen_lib_rule
$(LIB_DIR)/lib$(1).so.$(2): $(PIC_DIR)/$(1).tramp.o mk/lib/$(1).map $(XENSIM_SO)
	$$(CC) -shared $$(LDFLAGS) -Wl,-soname,lib$(1).so.$(2) -Wl,--version-script=mk/lib/$(1).map \
	      -Wl,--no-undefined -Wl,-rpath,'$$$$ORIGIN' -o $$@ $$< $(XENSIM_SO)
endef
define lib_link_rule
$(LIB_DIR)/lib$(1).so: $(LIB_DIR)/lib$(1).so.$(2)
	ln -sf $$(notdir $$<) $$@
endef
lib_name = $(word 1,$(subst :, ,$(1)))
lib_ver  = $(word 2,$(subst :, ,$(1)))
$(foreach l,$(XEN_LIBNAMES),$(eval $(call xen_lib_rule,$(call lib_name,$(l)),$(call lib_ver,$(l)))))
$(foreach l,$(XEN_LIBNAMES) xensim:0,$(eval $(call lib_link_rule,$(call lib_name,$(l)),$(call lib_ver,$(l)))))

# ---- pkg-config and install ----

PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     := $(PREFIX)/bin
LIBDIR     := $(PREFIX)/lib
INCLUDEDIR := $(PREFIX)/include
DOCDIR     := $(PREFIX)/share/doc/xensim
PCDIR      := $(LIBDIR)/pkgconfig

$(BUILD)/xensim.pc: mk/lib/xensim.pc.in FORCE_PC
	@mkdir -p $(@D)
	@sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	     $< > $@.tmp && { cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@; }
.PHONY: FORCE_PC
FORCE_PC:

install: $(XENSIM) libs
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PCDIR) $(DESTDIR)$(DOCDIR)
	install -m 755 $(XENSIM) $(DESTDIR)$(BINDIR)/xensim
	install -m 755 $(XENSIM_SO) $(XEN_SOS) $(DESTDIR)$(LIBDIR)/
	install -m 644 $(SIM_LIB) $(DESTDIR)$(LIBDIR)/
	for l in $(notdir $(LIB_LINKS)); do ln -sf $$(readlink $(LIB_DIR)/$$l) $(DESTDIR)$(LIBDIR)/$$l; done
	install -m 644 $(BUILD)/xensim.pc $(DESTDIR)$(PCDIR)/xensim.pc
	install -m 644 scenarios/README.md $(DESTDIR)$(DOCDIR)/README.md
	if [ -d include ] && ls include/*.h >/dev/null 2>&1; then \
	  install -d $(DESTDIR)$(INCLUDEDIR) && install -m 644 include/*.h $(DESTDIR)$(INCLUDEDIR)/; fi

-include $(shell find $(PIC_DIR) -name '*.d' 2>/dev/null)
