# make xen: the block drivers for real Xen. The same drivers/ sources as the
# sim build, compiled again and linked against Debian's libxenevtchn,
# libxengnttab and libxenstore (pkg-config) and libevent, with xen/platform.c
# as the platform seam (no scheduling points; log lines to stderr):
#   $(XEN_OUT)/xensim-blkback    blkback as a daemon (dom0 or a driver domain)
#   $(XEN_OUT)/xensim-blkfront   blkfront + the verified workload in a guest
# tests/check-xen-build.sh builds them and checks with ldd what they link.

XEN_OUT      := $(BUILD)/xen
XEN_PKGS     := xenevtchn xengnttab xenstore libevent
XEN_CFLAGS   := $(CFLAGS_BASE) -O2 $(shell pkg-config --cflags $(XEN_PKGS) 2>/dev/null)
XEN_LIBS     := $(shell pkg-config --libs $(XEN_PKGS) 2>/dev/null)
XEN_LIBS     := $(if $(strip $(XEN_LIBS)),$(XEN_LIBS),-lxenevtchn -lxengnttab -lxenstore -levent)
XEN_BLK_SRCS := $(sort $(wildcard drivers/xenbus/*.c drivers/blk/*.c))
XEN_BLK_OBJS := $(XEN_BLK_SRCS:%.c=$(XEN_OUT)/obj/%.o) $(XEN_OUT)/obj/xen/platform.o
XEN_BLK_BINS := $(XEN_OUT)/xensim-blkback $(XEN_OUT)/xensim-blkfront

.PHONY: xen
xen: $(XEN_BLK_BINS)

$(XEN_OUT)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(XEN_CFLAGS) -MMD -MP -c $< -o $@

$(XEN_OUT)/xensim-blkback: $(XEN_OUT)/obj/xen/blkback_main.o $(XEN_BLK_OBJS)
	$(CC) -pthread $^ $(XEN_LIBS) -o $@

$(XEN_OUT)/xensim-blkfront: $(XEN_OUT)/obj/xen/blkfront_main.o $(XEN_BLK_OBJS)
	$(CC) -pthread $^ $(XEN_LIBS) -o $@

-include $(wildcard $(XEN_OUT)/obj/*/*.d $(XEN_OUT)/obj/*/*/*.d)
