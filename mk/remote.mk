# Exec'd domains (issue 15): the client variant of Xen's sonames.
#
#   $(BUILD)/lib-remote/libxenevtchn.so.1   every call forwarded to the sim over the
#   $(BUILD)/lib-remote/libxengnttab.so.1   exec'd domain's socket (sim/remote/client/)
#   $(BUILD)/lib-remote/libxenctrl.so.4.17  xc_interface_open/close, xc_domain_getinfo only
#
# Same sonames and version nodes as Debian's (mk/lib/*.map), so an unmodified
# program linked against Debian's libraries binds to them when xensim starts it
# with LD_LIBRARY_PATH=$(BUILD)/lib-remote. Debian's own libxenstore.so.4 is
# not replaced: it reaches the sim's store through XENSTORED_PATH. The sim side
# (sim/remote/*.c) is part of the sim like any module.

REMOTE_DIR   := $(BUILD)/lib-remote
REMOTE_OBJ   := $(BUILD)/obj-remote
REMOTE_COMMON := $(REMOTE_OBJ)/rc.o
REMOTE_SOS   := $(REMOTE_DIR)/libxenevtchn.so.1 $(REMOTE_DIR)/libxengnttab.so.1 \
                $(REMOTE_DIR)/libxenctrl.so.4.17

.PHONY: lib-remote
all: lib-remote
lib-remote: $(REMOTE_SOS)

$(REMOTE_OBJ)/%.o: sim/remote/client/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) -O2 -fPIC -fvisibility=default -MMD -MP -c $< -o $@

$(REMOTE_DIR)/libxenevtchn.so.1: $(REMOTE_OBJ)/evtchn.o $(REMOTE_COMMON) mk/lib/xenevtchn.map
	@mkdir -p $(@D)
	$(CC) -shared -pthread -Wl,-soname,$(@F) -Wl,--version-script=mk/lib/xenevtchn.map \
	      -Wl,--no-undefined -o $@ $(filter %.o,$^)

$(REMOTE_DIR)/libxengnttab.so.1: $(REMOTE_OBJ)/gnttab.o $(REMOTE_OBJ)/maps.o $(REMOTE_COMMON) mk/lib/xengnttab.map
	@mkdir -p $(@D)
	$(CC) -shared -pthread -Wl,-soname,$(@F) -Wl,--version-script=mk/lib/xengnttab.map \
	      -Wl,--no-undefined -o $@ $(filter %.o,$^)

# Only xc_interface_open/close and xc_domain_getinfo (client/ctrl.c): enough
# for Debian's vchan-socket-proxy to ask whether its peer lives.
$(REMOTE_DIR)/libxenctrl.so.4.17: $(REMOTE_OBJ)/ctrl.o $(REMOTE_COMMON) sim/remote/client/xenctrl.map
	@mkdir -p $(@D)
	$(CC) -shared -pthread -Wl,-soname,$(@F) -Wl,--version-script=sim/remote/client/xenctrl.map \
	      -Wl,--no-undefined -o $@ $(filter %.o,$^)

-include $(wildcard $(REMOTE_OBJ)/*.d)

# tests/check-exec.sh's own exec'd program, built against Debian's Xen
# headers and libraries only (like make xen).
REMOTE_PEER := $(BUILD)/tests/exec/grant_peer
all: $(REMOTE_PEER)
$(REMOTE_PEER): tests/exec/grant_peer.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) -O1 $(shell pkg-config --cflags xengnttab xenstore 2>/dev/null) $< \
	      $(or $(shell pkg-config --libs xengnttab xenstore 2>/dev/null),-lxengnttab -lxenstore) -o $@

# xensim_domain_exec from the embedding API (tests/check-exec.sh).
REMOTE_EMBED := $(BUILD)/tests/exec/embed_exec
all: $(REMOTE_EMBED)
$(REMOTE_EMBED): tests/exec/embed_exec.c $(SIM_LIB) $(DRV_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< -o $@ -Wl,--whole-archive $(SIM_LIB) -Wl,--no-whole-archive $(DRV_LIB) \
	      $(LDLIBS) -pthread
