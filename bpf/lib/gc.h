/* SPDX-License-Identifier: GPL-2.0 */
/* Ending a mapping: both halves removed, the subscriber's count taken
 * down, its "no free port" hint cleared. Shared by the collector's
 * program (an idle mapping) and by PCP's (a lifetime that ran out). */
#ifndef XCGN_GC_H
#define XCGN_GC_H

#include "maps.h"

/* Remove the mapping of subscriber tuple @key, whose public side is @rk.
 * Returns 0 when it was there to remove, and the subscriber's mappings
 * left in @nmaps_left (0 when that count was already off). */
static __always_inline int gc_map_remove(const struct xcgn_tuple4 *key,
					 const struct xcgn_tuple4 *rk, __u32 *nmaps_left)
{
	__be32 saddr = key->addr;
	struct xcgn_map4 *m = bpf_map_lookup_elem(&xcgn_map4, key);
	__u32 peers = m ? XCGN_MAP_PEERS(m->tcp) : 0;
	struct xcgn_sub *sub;
	struct xcgn_full *f;

	if (bpf_map_delete_elem(&xcgn_map4, key))
		return -1;
	bpf_map_delete_elem(&xcgn_rev4, rk);
	*nmaps_left = 0;
	sub = bpf_map_lookup_elem(&xcgn_subs, &saddr);
	if (sub && sub->addr == saddr) {
		__u32 old = __sync_fetch_and_add(&sub->nmaps, -1);

		/* Its remotes leave the subscriber's share with it (their
		 * entries go later, and no longer count: gc_peer_del). */
		sub_peers_sub(sub, peers);

		/* Never below zero: a count that was already off stays put. */
		if (!(old & ~XCGN_SUB_DEAD))
			__sync_fetch_and_add(&sub->nmaps, 1);
		else
			*nmaps_left = (old & ~XCGN_SUB_DEAD) - 1;
	}
	/* A port is free again: the next new flow may look for it. */
	f = bpf_map_lookup_elem(&xcgn_full, &saddr);
	if (f)
		f->until_ns[xcgn_proto_slot(key->proto) % 3] = 0;
	return 0;
}

#endif /* XCGN_GC_H */
