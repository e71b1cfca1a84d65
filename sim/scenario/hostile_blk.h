/* Private to sim/scenario's hostile block peers (hostile_blk_*.c). */
#ifndef SIM_SCENARIO_HOSTILE_BLK_H
#define SIM_SCENARIO_HOSTILE_BLK_H

#include "drivers/blk/blkwork.h"
#include "sim/scenario/wl_blk.h"

extern const struct scn_wl_type scn_wl_blk_hostile_front;
extern const struct scn_wl_type scn_wl_blk_hostile_back;

#endif
