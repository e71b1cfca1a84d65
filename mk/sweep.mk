# make sweep-full: the long hunt. Nemesis sweeps (crash, restart, destroy,
# unplug at every XenbusState reached and every Nth step) at seeds
# 1..NEMESIS_SEEDS (5) and the fault sweep of every blk, net and hostile
# scenario (the engine skips what it cannot judge); tens of minutes on 2
# cores. `make check` runs the bounded one
# (tests/check-nemesis.sh). Tune with NEMESIS_SCENARIOS, NEMESIS_SEEDS,
# NEMESIS_EVERY, NEMESIS_JOBS, NEMESIS_XFAIL (see that script).
.PHONY: sweep-full
sweep-full: all
	@BUILD=$(BUILD) NEMESIS_FULL=1 bash tests/check-nemesis.sh
