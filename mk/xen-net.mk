# make xen (net half): the network drivers for real Xen. The same drivers/
# sources as the sim build, compiled again and linked against Debian's
# libxenevtchn, libxengnttab and libxenstore (pkg-config) and libevent, with
# xen/platform.c as the platform seam:
#   $(XEN_NET_OUT)/xensim-netback    netback as a daemon: a hub of the vifs, optionally a TAP
#   $(XEN_NET_OUT)/xensim-netfront   netfront + the verified network workload in a domain
# Objects go to their own tree (obj-net/), so this file depends on nothing of
# mk/xen.mk; both add their programs to `make xen`. `make xen-net` builds
# only these. tests/check-xen-net-build.sh checks with ldd what they link.

XEN_NET_OUT    := $(BUILD)/xen
XEN_NET_PKGS   := xenevtchn xengnttab xenstore libevent
XEN_NET_CFLAGS := $(CFLAGS_BASE) -O2 $(shell pkg-config --cflags $(XEN_NET_PKGS) 2>/dev/null)
XEN_NET_LIBS   := $(shell pkg-config --libs $(XEN_NET_PKGS) 2>/dev/null)
XEN_NET_LIBS   := $(if $(strip $(XEN_NET_LIBS)),$(XEN_NET_LIBS),-lxenevtchn -lxengnttab -lxenstore -levent)
XEN_NET_SRCS   := $(sort $(wildcard drivers/xenbus/*.c drivers/net/*.c)) xen/platform.c
XEN_NET_OBJS   := $(XEN_NET_SRCS:%.c=$(XEN_NET_OUT)/obj-net/%.o)
XEN_NET_BINS   := $(XEN_NET_OUT)/xensim-netback $(XEN_NET_OUT)/xensim-netfront

.PHONY: xen xen-net
xen: $(XEN_NET_BINS)
xen-net: $(XEN_NET_BINS)

$(XEN_NET_OUT)/obj-net/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(XEN_NET_CFLAGS) -MMD -MP -c $< -o $@

$(XEN_NET_OUT)/xensim-netback: $(XEN_NET_OUT)/obj-net/xen/netback_main.o $(XEN_NET_OBJS)
	$(CC) -pthread $^ $(XEN_NET_LIBS) -o $@

# --tap-echo: the vif's side of xen-check's TAP step (xen/tapframe.h).
XEN_NET_TAPECHO := $(XEN_NET_OUT)/obj-net/xen/tapecho.o $(XEN_NET_OUT)/obj-net/xen/tapframe.o

$(XEN_NET_OUT)/xensim-netfront: $(XEN_NET_OUT)/obj-net/xen/netfront_main.o $(XEN_NET_TAPECHO) $(XEN_NET_OBJS)
	$(CC) -pthread $^ $(XEN_NET_LIBS) -o $@

-include $(wildcard $(XEN_NET_OUT)/obj-net/*/*.d $(XEN_NET_OUT)/obj-net/*/*/*.d)
