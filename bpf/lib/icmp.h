/* SPDX-License-Identifier: GPL-2.0 */
/* ICMP that xcgn itself sends. */
#ifndef XCGN_ICMP_H
#define XCGN_ICMP_H

#include "maps.h"
#include "parse.h"
#include "stats.h"

#define ICMP_PKT_FILTERED 13	/* destination unreachable: administratively prohibited */
#define ICMP_HOST_UNREACH 1	/* destination unreachable: host unreachable */
#define ICMP_QUOTE_MAX (60 + 8)	/* IPv4 header with options + 8 bytes */

/* RFC 5508 REQ-8, RFC 6888 REQ-11(b): a subscriber whose new flow is
 * refused for want of resources hears "administratively prohibited" (type
 * 3 code 13), or "host unreachable" (code 1, RFC 6888's choice) if so
 * configured, at most once per XCGN_ICMP_ERR_NS per CPU. The refused frame is
 * turned into the error in place: cut after the quoted IPv4 header and 8
 * bytes, grown at the front by an IPv4 and an ICMP header, and sent back
 * out of the inside device through the devmap, like every other forward
 * (veth peers did not take XDP_TX frames built from an skb here, and a
 * redirect to the arrival device works on every driver with XDP). Needs the
 * inside address as source (rodata); without it, or for a tagged frame, the
 * packet is just dropped. Returns XDP_REDIRECT or XDP_DROP. */
static __always_inline int icmp_send_prohibited(struct xdp_md *ctx, const struct pkt *p,
						struct xcgn_stats *st, const struct xcgn_state *rs)
{
	__u32 quote, len;
	__u64 wsum = 0;
	__u8 smac[ETH_ALEN], dmac[ETH_ALEN];
	struct iphdr *ip;
	struct icmphdr *ih;
	struct ethhdr *eth;
	void *data, *data_end;
	__be32 sub;

	/* rs->refusal_icmp is live: `xcgn link set refusal-icmp`. */
	if (!xcgn_cfg.inside_addr || p->vlan || rs->refusal_icmp == XCGN_REFUSAL_SILENT)
		return XDP_DROP;
	if (!rlim_allow(XCGN_RLIM_ICMP, bpf_ktime_get_coarse_ns(), XCGN_ICMP_ERR_NS))
		return XDP_DROP;

	quote = p->ip->ihl * 4 + 8;
	sub = p->ip->saddr;
	__builtin_memcpy(smac, p->eth->h_source, ETH_ALEN);
	__builtin_memcpy(dmac, p->eth->h_dest, ETH_ALEN);
	len = (__u32)(p->data_end - (void *)p->eth);
	if (bpf_xdp_adjust_tail(ctx, (int)(ETH_HLEN + quote) - (int)len) ||
	    bpf_xdp_adjust_head(ctx, -(int)(sizeof(*ip) + sizeof(*ih))))
		return XDP_DROP;

	/* The old Ethernet header now sits where the new IPv4 and ICMP
	 * headers go, and the quoted datagram right after them. */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	ip = (void *)(eth + 1);
	ih = (void *)(ip + 1);
	if ((void *)(ih + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(eth->h_dest, smac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, dmac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);

	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0xc0;	/* internetwork control, as the kernel sends ICMP */
	ip->tot_len = bpf_htons((__u16)(sizeof(*ip) + sizeof(*ih) + quote));
	ip->id = 0;
	ip->frag_off = 0;
	ip->ttl = 64;
	ip->protocol = IPPROTO_ICMP;
	ip->check = 0;
	ip->saddr = xcgn_cfg.inside_addr;
	ip->daddr = sub;
	if (csum_words(ip, data_end, 5, 5, &wsum))
		return XDP_DROP;
	ip->check = (__u16)~csum_fold64(wsum);
	wsum = 0;

	ih->type = ICMP_DEST_UNREACH;
	ih->code = rs->refusal_icmp == XCGN_REFUSAL_HOST_UNREACH ? ICMP_HOST_UNREACH
								      : ICMP_PKT_FILTERED;
	ih->checksum = 0;
	ih->id = 0;
	ih->sequence = 0;
	/* The quote is an IPv4 header and 8 bytes: whole 32-bit words. */
	if (csum_words(ih, data_end, (sizeof(*ih) + quote) / 4,
		       (sizeof(*ih) + ICMP_QUOTE_MAX) / 4, &wsum))
		return XDP_DROP;
	ih->checksum = (__u16)~csum_fold64(wsum);
	stats_inc(st, XCGN_STAT_ICMP_PROHIBITED);
	return bpf_redirect_map(&xcgn_txport, XCGN_TX_INSIDE, XDP_DROP);
}

#endif /* XCGN_ICMP_H */
