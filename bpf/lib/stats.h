/* SPDX-License-Identifier: GPL-2.0 */
/* Per-CPU counters: one lookup per packet at the entry point, then plain
 * increments through the pointer (the entry is this CPU's own). */
#ifndef XCGN_STATS_H
#define XCGN_STATS_H

#include "maps.h"

static __always_inline struct xcgn_stats *stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&xcgn_stats, &zero);
}

static __always_inline void stats_inc(struct xcgn_stats *st, enum xcgn_stat s)
{
	if (s < XCGN_STAT_MAX)
		st->stat[s]++;
}

/* Count a drop. One sign convention runs through the datapath: a helper
 * that refuses a packet returns -XCGN_DROP_* (0: go on), and that value
 * travels as it is, through pool_refusal() and pool_is_refusal() to here.
 * Only the ABI turns it positive: an event's reason, the PCP program's
 * result, the counters' index. Anything else (0, -XCGN_DROP_MAX for a
 * helper failure counted elsewhere) is not a drop reason. */
static __always_inline void stats_drop(struct xcgn_stats *st, int err)
{
	if (err < 0 && err > -XCGN_DROP_MAX)
		st->drop[-err]++;
}

#endif /* XCGN_STATS_H */
