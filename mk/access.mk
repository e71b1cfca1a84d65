# make access: the drivers instrumented for shared-memory access tracing, in
# build-access/ (sim/access has the runtime, scenarios/README.md the use).
# Only the driver objects (drivers/**) are instrumented: gcc's
# -fsanitize=kernel-address with every check outlined into a call
# (__asan_load4_noabort(addr), ...) that sim/access implements; no sanitizer
# runtime is linked. Their memcpy/memmove/memset/memcmp calls are renamed to
# sim/access's, which record the shared bytes and call the real ones.
# User code opts in with the same two steps: $(ACCESS_CFLAGS), then
# objcopy $(ACCESS_REDEFINE) on the object.

ACCESS_CFLAGS := -fsanitize=kernel-address --param asan-instrumentation-with-call-threshold=0 \
                 --param asan-stack=0 --param asan-globals=0 -fno-omit-frame-pointer
ACCESS_REDEFINE := --redefine-sym memcpy=sim_access_memcpy --redefine-sym memmove=sim_access_memmove \
                   --redefine-sym memset=sim_access_memset --redefine-sym memcmp=sim_access_memcmp

ifeq ($(VARIANT),access)
$(BUILD)/obj/sim/access/access.o: CFLAGS += -DSIM_ACCESS_BUILD
# The shorter stem wins: this rule, not the generic one, builds drivers/.
$(BUILD)/obj/drivers/%.o: drivers/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(ACCESS_CFLAGS) -MMD -MP -MT $@ -MF $(@:.o=.d) -c $< -o $@.tmp
	objcopy $(ACCESS_REDEFINE) $@.tmp $@ && rm -f $@.tmp
endif

.PHONY: access
access: setup
	@$(MAKE) --no-print-directory BUILD=build-access VARIANT=access build-access/xensim \
	  build-access/examples/libxensim-vchan.so

# make bench's `access` entry compares build-bench/xensim with this sibling:
# the same -O2, the drivers instrumented.
.PHONY: bench-access-bin
bench: bench-access-bin
bench-access-bin: setup
	@$(MAKE) --no-print-directory BUILD=build-bench-access VARIANT=access \
	  EXTRA_CFLAGS="-O2 -DNDEBUG_BENCH" build-bench-access/xensim

# The attack surface of the drivers, for a reviewer: every source line that
# read or wrote shared memory in a blk and a net scenario (text and JSON).
.PHONY: access-report
access-report: access
	@mkdir -p reports
	@for s in blk net; do \
	  build-access/xensim run scenarios/$$s/basic.scn --quiet --access-report reports/access-$$s.txt >/dev/null && \
	  build-access/xensim run scenarios/$$s/basic.scn --quiet --access-report reports/access-$$s.json >/dev/null && \
	  echo "reports/access-$$s.txt reports/access-$$s.json"; done
