# make xen-check: boot Debian's Xen 4.17 under QEMU (software emulation, no
# KVM) with a Debian kernel as dom0 and as a PV guest, and run on it:
#   - the dom0-to-itself selftest (xen/qemu/selftest.c, Xen's libraries only):
#     xenstore, gntshr/gnttab aliasing, a ring over an event channel
#   - a PV guest created with xl
#   - once `make xen` builds them (mk/xen.mk, mk/xen-net.mk): xensim-blkback
#     and xensim-blkfront, xensim-netback and xensim-netfront, dom0 to itself
#     and dom0 to the guest, their devices written by xcheck-toolstack
#     (drivers/xenbus's toolstack role)
#   - xensim-netback bridging a vif to a TAP in dom0: xcheck-tappeer
#     (xen/qemu/tappeer.c) on the TAP's kernel side and xensim-netfront
#     --tap-echo on the vif verify frames both ways
# Exits 0 only when every expected verdict passed; writes reports/xen-check.txt.
# Installs qemu-system-x86 if missing (as root); the kernel, hypervisor,
# xen-utils and busybox .debs are unpacked into build/deb-cache/, not
# installed, and fetched only once.

XCHK_CACHE     ?= build/deb-cache
XCHK_OUT       := $(BUILD)/xen-qemu
XCHK_BIN       := $(BUILD)/xen-check
XCHK_XEN       := $(BUILD)/xen
XCHK_REPORT    := reports/xen-check.txt
# The whole run's bound: about 40 s on an idle machine, over 120 s seen on a
# shared one under TCG; every step in dom0 has its own, tighter limit.
XCHK_TIMEOUT_S ?= 300
XCHK_CFLAGS    := $(CFLAGS_BASE) -O2
XCHK_XENLIBS   := -lxenevtchn -lxengnttab -lxenstore

XCHK_SELFTEST  := $(XCHK_BIN)/xcheck-selftest
XCHK_TOOLSTACK := $(XCHK_BIN)/xcheck-toolstack
XCHK_TAPPEER   := $(XCHK_BIN)/xcheck-tappeer
XCHK_TAPVIF    := $(XCHK_BIN)/xcheck-tapvif

# What runs depends on what the tree can build for Xen.
XCHK_HAVE_BLK  := $(wildcard mk/xen.mk)
XCHK_HAVE_NET  := $(wildcard mk/xen-net.mk)

XCHK_STEPS     := selftest guest
XCHK_EXPECT    := boot selftest-xenstore selftest-gnttab selftest-ring guest-create guest-boot
XCHK_DOM0_PROGS  := $(XCHK_SELFTEST)
XCHK_GUEST_PROGS :=
ifneq ($(XCHK_HAVE_BLK)$(XCHK_HAVE_NET),)
  XCHK_DOM0_PROGS += $(XCHK_TOOLSTACK)
endif
ifneq ($(XCHK_HAVE_BLK),)
  XCHK_STEPS       += blk-self blk-guest
  XCHK_EXPECT      += blk-self-ram blk-self-file blk-self-teardown blk-self-backend \
                      blk-guest-ram blk-guest-file blk-guest-teardown blk-guest-backend
  XCHK_DOM0_PROGS  += $(XCHK_XEN)/xensim-blkback $(XCHK_XEN)/xensim-blkfront
  XCHK_GUEST_PROGS += $(XCHK_XEN)/xensim-blkfront
endif
ifneq ($(XCHK_HAVE_NET),)
  XCHK_STEPS       += net-self net-tap net-guest
  XCHK_EXPECT      += net-self-a net-self-b net-self-teardown net-self-backend \
                      net-tap-peer net-tap-vif net-tap-teardown net-tap-backend \
                      net-guest net-guest-dom0 net-guest-teardown net-guest-backend
  XCHK_DOM0_PROGS  += $(XCHK_XEN)/xensim-netback $(XCHK_XEN)/xensim-netfront $(XCHK_TAPPEER)
  XCHK_GUEST_PROGS += $(XCHK_XEN)/xensim-netfront
endif

.PHONY: xen-check xen-check-fetch xen-check-images

$(XCHK_SELFTEST): xen/qemu/selftest.c
	@mkdir -p $(@D)
	$(CC) $(XCHK_CFLAGS) $< -o $@ $(XCHK_XENLIBS)

# The TAP's peer: plain Linux (AF_PACKET), no Xen library. And for
# tests/check-tap.sh, the vif's side without Xen: drivers/net/nettap, the
# TAP code of xensim-netback, on any Linux host (`make xen-check-tap-tools`).
$(XCHK_TAPPEER): $(XCHK_BIN)/obj/xen/qemu/tappeer.o $(XCHK_BIN)/obj/xen/tapframe.o
	$(CC) $^ -o $@

XCHK_TAPVIF_OBJS := $(addprefix $(XCHK_BIN)/obj/,xen/qemu/tapvif.o xen/tapframe.o drivers/net/nettap.o \
                      drivers/net/netpkt.o xen/platform.o)
$(XCHK_TAPVIF): $(XCHK_TAPVIF_OBJS)
	$(CC) -pthread $^ -o $@ $(PKG_LIBS)

.PHONY: xen-check-tap-tools
xen-check-tap-tools: $(XCHK_TAPPEER) $(XCHK_TAPVIF)

# The toolstack helper: drivers/xenbus and the Xen-side platform seam
# (xen/platform.c), compiled here for real Xen's libraries.
XCHK_TS_SRCS := xen/qemu/toolstack.c $(sort $(wildcard drivers/xenbus/*.c)) xen/platform.c
XCHK_TS_OBJS := $(XCHK_TS_SRCS:%.c=$(XCHK_BIN)/obj/%.o)

$(XCHK_BIN)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(XCHK_CFLAGS) -MMD -MP -c $< -o $@

$(XCHK_TOOLSTACK): $(XCHK_TS_OBJS)
	$(CC) -pthread $^ -o $@ $(XCHK_XENLIBS) $(PKG_LIBS)

-include $(wildcard $(XCHK_BIN)/obj/*/*.d $(XCHK_BIN)/obj/*/*/*.d)

xen-check-fetch:
	@bash xen/qemu/host.sh
	@bash xen/qemu/fetch.sh $(XCHK_CACHE)

xen-check-images: xen-check-fetch
	@$(MAKE) --no-print-directory $(XCHK_SELFTEST) \
	  $(if $(XCHK_HAVE_BLK)$(XCHK_HAVE_NET),$(XCHK_TOOLSTACK) xen) \
	  $(if $(XCHK_HAVE_NET),$(XCHK_TAPPEER))
	@mkdir -p $(XCHK_OUT)
	@printf '%s\n' $(XCHK_STEPS) >$(XCHK_OUT)/plan
	@bash xen/qemu/assemble.sh $(XCHK_CACHE) $(XCHK_OUT) $(XCHK_OUT)/plan \
	  "$(strip $(XCHK_DOM0_PROGS))" "$(strip $(XCHK_GUEST_PROGS))"

xen-check: setup
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory xen-check-images && \
	bash xen/qemu/run.sh $(XCHK_CACHE) $(XCHK_OUT) $(XCHK_REPORT) $(XCHK_TIMEOUT_S) $(XCHK_EXPECT); \
	rc=$$?; echo "xen-check: $$(( $$(date +%s) - start )) s of wall time in all"; exit $$rc
