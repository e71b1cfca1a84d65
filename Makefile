# xensim — one entry point. `make help` lists the targets.
#
# Variants build into their own trees so they never mix objects:
#   build/        default (-O1 -g)           build-asan/  ASan+UBSan
#   build-tsan/   ThreadSanitizer            build-cov/   gcov (coverage)
#   build-bench/  -O2, no instrumentation

BUILD   ?= build
VARIANT ?= default
CC      ?= gcc

PKGS       := libevent libevent_pthreads
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS_BASE := -std=gnu11 -Wall -Wextra -Werror -pthread -g -I. $(PKG_CFLAGS) \
               -D_GNU_SOURCE -Wno-missing-field-initializers \
               -D__XEN_INTERFACE_VERSION__=0x00040e00
ifeq ($(VARIANT),asan)
  OPT := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else ifeq ($(VARIANT),tsan)
  # TSan does not model fences (ring.h barriers); it warns about each one.
  OPT := -O1 -fno-omit-frame-pointer -fsanitize=thread -Wno-tsan
else ifeq ($(VARIANT),cov)
  OPT := -O0 --coverage -DXENSIM_GCOV
else ifeq ($(VARIANT),bench)
  OPT := -O2 -DNDEBUG_BENCH
else
  OPT := -O1
endif
CFLAGS  := $(CFLAGS_BASE) $(OPT) $(EXTRA_CFLAGS)
LDFLAGS := $(OPT) -pthread
LDLIBS  := $(PKG_LIBS) -lrt -lm

SIM_SRCS    := $(sort $(wildcard sim/*/*.c))
DRV_SRCS    := $(sort $(wildcard drivers/*/*.c))
TOOL_SRCS   := $(sort $(wildcard tools/*.c))
TEST_SRCS   := $(sort $(wildcard tests/*_test.c))
TEST_COMMON := tests/cunit_main.c

SIM_OBJS  := $(SIM_SRCS:%.c=$(BUILD)/obj/%.o)
DRV_OBJS  := $(DRV_SRCS:%.c=$(BUILD)/obj/%.o)
TOOL_OBJS := $(TOOL_SRCS:%.c=$(BUILD)/obj/%.o)
SIM_LIB   := $(BUILD)/libxensim.a
DRV_LIB   := $(BUILD)/libxendrv.a
TESTS     := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
XENSIM    := $(BUILD)/xensim

# Keep every object: intermediates would otherwise be deleted and rebuilt.
.SECONDARY:

.PHONY: all setup demo check check-run check-asan check-tsan coverage coverage-scenarios bench clean help
.DEFAULT_GOAL := all

all: $(XENSIM) $(TESTS)

help:
	@echo "make demo        set up, build, run the main job"
	@echo "make check       set up, build, run every test; ends with 'N passed, N failed'"
	@echo "make check-asan  make check under ASan+UBSan (build-asan/)"
	@echo "make check-tsan  the free-running tests under ThreadSanitizer (build-tsan/)"
	@echo "make coverage    line and branch coverage into reports/coverage/index.html"
	@echo "make coverage-scenarios  which scenario reaches which driver line (reports/coverage/scenarios.txt)"
	@echo "make fuzz        the libFuzzer targets for FUZZ_SECONDS each (fuzz/README.md)"
	@echo "make access      the drivers instrumented for shared-memory access tracing (build-access/)"
	@echo "make drvasan     xensim with the drivers under ASan+UBSan (build-drvasan/; tests/check-drvasan.sh)"
	@echo "make bench       speed and scale (-O2, build-bench/): table + reports/bench.json"
	@echo "make libs        Xen-compatible shared libraries in build/lib/ (part of all)"
	@echo "make install     PREFIX=/usr/local DESTDIR=: libraries, xensim, headers, xensim.pc"
	@echo "make xen         the drivers built against Debian's Xen libraries (build/xen/)"
	@echo "make xen-check   boot Xen 4.17 under QEMU and run the drivers on it"
	@echo "make clean       remove build trees and generated reports"

setup:
	@bash mk/setup.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(SIM_LIB): $(SIM_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(DRV_LIB): $(DRV_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^ $(if $(DRV_OBJS),,$(BUILD)/obj/empty.o)

# The whole archive: fault sites and domain hooks register from constructors.
LINK_LIBS = -Wl,--whole-archive $(SIM_LIB) -Wl,--no-whole-archive $(DRV_LIB) $(LDLIBS)

$(XENSIM): $(TOOL_OBJS) $(DRV_LIB) $(SIM_LIB)
	$(CC) $(LDFLAGS) $(XENSIM_LDFLAGS) $(TOOL_OBJS) $(LINK_LIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(BUILD)/obj/tests/cunit_main.o $(DRV_LIB) $(SIM_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $< $(BUILD)/obj/tests/cunit_main.o $(LINK_LIBS) -lcunit -o $@

$(BUILD)/obj/empty.o:
	@mkdir -p $(@D)
	echo 'typedef int xensim_empty_unit;' | $(CC) -x c -c - -o $@
$(DRV_LIB): | $(BUILD)/obj/empty.o

demo: setup
	@$(MAKE) --no-print-directory $(XENSIM)
	@$(XENSIM) run scenarios --seeds 1..3 --report reports

check: setup
	@$(MAKE) --no-print-directory check-run

check-run: all
	@BUILD=$(BUILD) VARIANT=$(VARIANT) bash tests/run-all.sh

check-asan: setup
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(MAKE) --no-print-directory BUILD=build-asan VARIANT=asan check-run

check-tsan: setup
	@TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  $(MAKE) --no-print-directory BUILD=build-tsan VARIANT=tsan check-run

coverage: setup
	@# All of it: an archive left from an older build would be linked as it is
	@# (make does not remake .SECONDARY objects that are missing), its objects
	@# writing counters without their notes.
	@rm -rf build-cov
	@# A build that fails stops here; a failing test still leaves its coverage.
	@$(MAKE) --no-print-directory BUILD=build-cov VARIANT=cov all
	@$(MAKE) --no-print-directory BUILD=build-cov VARIANT=cov check-run || true
	@mkdir -p reports/coverage
	bash mk/lcov.sh lcov --quiet --rc lcov_branch_coverage=1 --capture --directory build-cov/obj \
	     --output-file build-cov/coverage.info
	bash mk/lcov.sh lcov --quiet --rc lcov_branch_coverage=1 --remove build-cov/coverage.info '/usr/*' '*/tests/*' \
	     --output-file build-cov/coverage.info
	bash mk/lcov.sh genhtml --quiet --branch-coverage --output-directory reports/coverage build-cov/coverage.info
	@bash mk/lcov.sh lcov --rc lcov_branch_coverage=1 --summary build-cov/coverage.info
	@echo "coverage report: reports/coverage/index.html"

# Coverage per scenario file and of the unit suites apart (tools/covmap.py).
coverage-scenarios: setup
	@$(MAKE) --no-print-directory BUILD=build-cov VARIANT=cov all
	@bash mk/coverage-scenarios.sh

# -O2 in its own tree; the table on stdout, the numbers in reports/bench.json.
# BENCH_ARGS narrows it, e.g. make bench BENCH_ARGS="blk --runs 3".
bench: setup
	@$(MAKE) --no-print-directory BUILD=build-bench VARIANT=bench build-bench/xensim build-bench/xen/xensim-xsbench
	@mkdir -p reports
	@build-bench/xensim bench --json reports/bench.json $(BENCH_ARGS)

clean:
	rm -rf build build-asan build-tsan build-cov build-bench build-access build-bench-access build-fuzz build-drvasan
	find reports -mindepth 1 ! -name README.md ! -name .gitignore -exec rm -rf {} + 2>/dev/null; true

# Further targets (e.g. `make xen`) live in mk/*.mk, one file per area.
-include $(sort $(wildcard mk/*.mk))

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# Planted bugs (tests/plants/*.patch): how many the scenarios and the sweeps
# of make check catch. PLANTS_ARGS adds options, e.g. "--mode scenarios",
# "--unit", "--src /tmp/main-copy", "--plants 'NAME ...'" (tests/plants-run.sh).
.PHONY: plants
plants: setup
	@$(MAKE) --no-print-directory $(XENSIM)
	@mkdir -p reports
	@bash tests/plants-run.sh --mode check --out reports/plants.tsv $(PLANTS_ARGS)
