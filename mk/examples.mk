# examples/: a workload plugin (examples/vchan, Debian's libxenvchan between two
# domains) and a test program (examples/embed) a user can copy. Built here in
# the tree; each examples/*/Makefile builds the same file against an installed
# xensim with pkg-config alone.
#
# The xensim executable exports Xen's userspace API and include/xensim*.h to
# plugins (and only those: mk/xensim.dynlist), so that a plugin, or a library
# it links such as Debian's libxenvchan.so, binds xs_*/xenevtchn_*/xengnttab_*
# to the sim rather than to Debian's libraries.
XENSIM_LDFLAGS := -Wl,--dynamic-list=mk/xensim.dynlist
$(XENSIM): mk/xensim.dynlist

EXAMPLES_OUT  := $(BUILD)/examples
VCHAN_PLUGIN  := $(EXAMPLES_OUT)/libxensim-vchan.so
EMBED_EXAMPLE := $(EXAMPLES_OUT)/vchan-pair
EXAMPLE_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -g -O1 -Iinclude $(EXTRA_CFLAGS)

all: $(VCHAN_PLUGIN) $(EMBED_EXAMPLE)

$(VCHAN_PLUGIN): examples/vchan/vchan.c include/xensim_plugin.h include/xensim.h
	@mkdir -p $(@D)
	$(CC) $(EXAMPLE_CFLAGS) -fPIC -shared $< -o $@ -lxenvchan

# In-tree: the static archive, whole (fault sites register from constructors).
$(EMBED_EXAMPLE): examples/embed/vchan-pair.c include/xensim.h $(SIM_LIB) $(DRV_LIB)
	@mkdir -p $(@D)
	$(CC) $(EXAMPLE_CFLAGS) $(LDFLAGS) $< -o $@ -Wl,--whole-archive $(SIM_LIB) -Wl,--no-whole-archive $(DRV_LIB) \
	  -lxenvchan $(LDLIBS) -pthread
