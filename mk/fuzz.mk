# Coverage-guided fuzzing (libFuzzer, clang-14): fuzz/README.md.
# The sim and the drivers are built again in their own tree, build-fuzz/, with
# -fsanitize=fuzzer-no-link,address,undefined; each fuzz/fuzz_*.c is linked
# with -fsanitize=fuzzer into build-fuzz/fuzz/<target>.
#
#   make fuzz                 every target for FUZZ_SECONDS (60) over its corpus
#   make fuzz FUZZ_TARGETS=fuzz_blkback FUZZ_SECONDS=600
#   make fuzz-build           just build them
#
# -Wno-tautological-constant-compare: clang (not gcc) warns on
# `if (DOMAIN_STACK_BYTES)` in sim/hypervisor/domain.c, a constant that is
# there to be tuned; that is the only warning clang finds in the tree.
FUZZ_CC      ?= clang-14
FUZZ_BUILD   := build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := -fsanitize=fuzzer-no-link $(FUZZ_SAN) -Wno-tautological-constant-compare \
                -fsanitize-coverage-ignorelist=fuzz/coverage-ignore.txt
FUZZ_ALL     := $(sort $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c)))
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_BINS    := $(FUZZ_ALL:%=$(FUZZ_BUILD)/fuzz/%)

.PHONY: fuzz fuzz-build fuzz-libs
# The objects do not depend on flags: a change of them (or of the ignore
# list) starts build-fuzz/obj over.
FUZZ_STAMP := $(FUZZ_CFLAGS) $(shell cat fuzz/coverage-ignore.txt 2>/dev/null | cksum)
fuzz-libs:
	@mkdir -p $(FUZZ_BUILD); echo '$(FUZZ_STAMP)' | cmp -s - $(FUZZ_BUILD)/flags || \
	  { rm -rf $(FUZZ_BUILD)/obj $(FUZZ_BUILD)/*.a; echo '$(FUZZ_STAMP)' > $(FUZZ_BUILD)/flags; }
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) \
	  EXTRA_CFLAGS="$(FUZZ_CFLAGS)" $(FUZZ_BUILD)/libxensim.a $(FUZZ_BUILD)/libxendrv.a

# fuzz/world.c: the driver targets' one-thread world (fuzz/world.h); linked
# into every target, used by the four driver ones. A target's own further
# files: fuzz/NAME_*.c for fuzz/fuzz_NAME.c (fuzz/xs_wire_judge.c).
FUZZ_OWN    = $(wildcard fuzz/$(patsubst fuzz_%,%,$*)_*.c)
FUZZ_SHARED := $(wildcard fuzz/*.h) $(filter-out fuzz/fuzz_%,$(wildcard fuzz/*_*.c))
$(FUZZ_BUILD)/fuzz/%: fuzz/%.c fuzz/world.c $(FUZZ_SHARED) \
  $(FUZZ_BUILD)/libxensim.a $(FUZZ_BUILD)/libxendrv.a
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CFLAGS_BASE) -O1 $(FUZZ_SAN) -fsanitize=fuzzer $< $(FUZZ_OWN) fuzz/world.c \
	  -Wl,--whole-archive $(FUZZ_BUILD)/libxensim.a -Wl,--no-whole-archive \
	  $(FUZZ_BUILD)/libxendrv.a $(LDLIBS) -o $@

fuzz-build: fuzz-libs
	@$(MAKE) --no-print-directory $(FUZZ_BINS)

fuzz: fuzz-build
	@bash fuzz/run.sh --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

.PHONY: fuzz-clean
fuzz-clean:
	rm -rf $(FUZZ_BUILD)
