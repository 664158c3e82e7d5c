/* SPDX-License-Identifier: GPL-2.0 */
/* The link's MSS clamp on translated TCP SYNs and SYN-ACKs, both ways: the
 * options copied out, lowered by the shared core (include/xcgn_mss.h), the
 * changed words and the checksum written back. Only a SYN pays: the
 * callers test the flags (set for TCP alone) and call these for a SYN,
 * which look at the clamp. Global functions: verified once, on their own,
 * and their 64-byte copy is a frame apart from the callers'. Each returns
 * 1 when it lowered the MSS (and counted it), else 0. */
#ifndef XCGN_MSS_BPF_H
#define XCGN_MSS_BPF_H

#include "xcgn_mss.h"
#include "stats.h"
#include "state.h"

/* The options' length of the TCP header at @doff_byte (its 13th byte), or
 * 0 when it has none or more than it can. */
static __always_inline __u32 mss_opt_len(__u8 doff_byte)
{
	__u32 olen = (__u32)(doff_byte >> 4) * 4;

	return olen > 20 && olen - 20 <= XCGN_TCP_OPT_MAX ? olen - 20 : 0;
}

/* At XDP: the checksum is the full one (partial ones take the slow path),
 * updated here. */
__noinline int xdp_mss_clamp(struct xdp_md *ctx, __u32 l4_off)
{
	struct xcgn_stats *st = stats_get();
	struct xcgn_state *rs = state_get();
	__u8 opt[XCGN_TCP_OPT_BUF] = {};
	struct xcgn_mss_window w = {};
	__u8 doff = 0;
	__u16 csum = 0;
	__u32 olen;

	if (!ctx || !st || !rs || !rs->mss_clamp || l4_off > 0xffff ||
	    bpf_xdp_load_bytes(ctx, l4_off + 12, &doff, 1))
		return 0;
	olen = mss_opt_len(doff);
	if (!olen || bpf_xdp_load_bytes(ctx, l4_off + 20, opt, olen) ||
	    bpf_xdp_load_bytes(ctx, l4_off + 16, &csum, 2) ||
	    !xcgn_mss_clamp(opt, olen, rs->mss_clamp, &csum, &w))
		return 0;
	if (w.off > XCGN_TCP_OPT_BUF - 8 ||
	    bpf_xdp_store_bytes(ctx, l4_off + 20 + w.off, w.to, w.len == 8 ? 8 : 4) ||
	    bpf_xdp_store_bytes(ctx, l4_off + 16, &csum, 2))
		return 0;
	stats_inc(st, XCGN_STAT_MSS_CLAMPED);
	return 1;
}

/* In tc: the kernel updates the checksum (bpf_l4_csum_replace), which
 * leaves a partial one as it is: the option bytes are summed when the
 * segment leaves. */
__noinline int tc_mss_clamp(struct __sk_buff *skb, __u32 l4_off)
{
	struct xcgn_stats *st = stats_get();
	struct xcgn_state *rs = state_get();
	__u8 opt[XCGN_TCP_OPT_BUF] = {};
	struct xcgn_mss_window w = {};
	__u8 doff = 0;
	__u16 csum = 0;
	__u32 olen, i;

	if (!skb || !st || !rs || !rs->mss_clamp || l4_off > 0xffff ||
	    bpf_skb_load_bytes(skb, l4_off + 12, &doff, 1))
		return 0;
	olen = mss_opt_len(doff);
	if (!olen || bpf_skb_load_bytes(skb, l4_off + 20, opt, olen) ||
	    !xcgn_mss_clamp(opt, olen, rs->mss_clamp, &csum, &w))
		return 0;
	for (i = 0; i < 2; i++) {
		if (i && w.len != 8)
			break;
		if (bpf_l4_csum_replace(skb, l4_off + 16, w.from[i], w.to[i], 4) ||
		    bpf_skb_store_bytes(skb, l4_off + 20 + w.off + i * 4, &w.to[i], 4, 0))
			return 0;
	}
	stats_inc(st, XCGN_STAT_MSS_CLAMPED);
	return 1;
}

#endif /* XCGN_MSS_BPF_H */
