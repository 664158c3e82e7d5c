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

static __always_inline void stats_drop(struct xcgn_stats *st, int reason)
{
	if (reason > 0 && reason < XCGN_DROP_MAX)
		st->drop[reason]++;
}

#endif /* XCGN_STATS_H */
