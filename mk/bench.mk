# make bench's client for the xenstore-over-socket figures: Debian's
# libxenstore speaking xs_wire to the sim's server, like the real tools do.
# Self-contained (mk/ files are included in name order): part of `make xen`.

XSBENCH_OUT    := $(BUILD)/xen
XSBENCH_CFLAGS := $(CFLAGS_BASE) -O2 $(shell pkg-config --cflags xenstore 2>/dev/null)
XSBENCH_LIBS   := $(shell pkg-config --libs xenstore 2>/dev/null)
XSBENCH_LIBS   := $(if $(strip $(XSBENCH_LIBS)),$(XSBENCH_LIBS),-lxenstore)

.PHONY: xen
xen: $(XSBENCH_OUT)/xensim-xsbench

$(XSBENCH_OUT)/xensim-xsbench: xen/xs_bench.c
	@mkdir -p $(@D)
	$(CC) $(XSBENCH_CFLAGS) $< $(XSBENCH_LIBS) -o $@
