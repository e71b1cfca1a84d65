# build-drvasan/xensim: the scenario engine with only the drivers (drivers/**)
# under ASan+UBSan, linked with build/'s own sim and tool objects: a driver's
# out-of-bounds read or write, use after free or undefined behaviour on input
# from a hostile peer or a fault fails the scenario run that provoked it
# (the run's process dies with the sanitizer's report as its log), at a small
# cost, since the sim itself runs uninstrumented. tests/check-drvasan.sh runs
# the adversarial scenarios with it; `make drvasan` builds it.
DRVASAN := build-drvasan
DRVASAN_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
DRVASAN_OBJS := $(DRV_SRCS:%.c=$(DRVASAN)/obj/%.o) $(DRVASAN)/obj/mk/drvasan/options.o

$(DRVASAN)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DRVASAN_SAN) -MMD -MP -c $< -o $@

$(DRVASAN)/xensim: $(TOOL_OBJS) $(SIM_LIB) $(DRVASAN_OBJS)
	$(CC) $(LDFLAGS) $(DRVASAN_SAN) $(XENSIM_LDFLAGS) $(TOOL_OBJS) -Wl,--whole-archive $(SIM_LIB) \
	  -Wl,--no-whole-archive $(DRVASAN_OBJS) $(LDLIBS) -o $@

-include $(DRVASAN_OBJS:.o=.d)

.PHONY: drvasan
drvasan: setup
	@$(MAKE) --no-print-directory BUILD=build VARIANT=default $(DRVASAN)/xensim
