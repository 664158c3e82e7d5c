// SPDX-License-Identifier: GPL-2.0
/* xcgn datapath entry points. Each reads as parse -> classify -> translate
 * -> account -> verdict; the steps live in bpf/lib/.
 *
 * Verdicts: XDP_PASS / TC_ACT_OK = not ours (or the slow path), XDP_DROP /
 * TC_ACT_SHOT = a bad or refused packet, always counted under an
 * XCGN_DROP_* reason, XDP_ABORTED = a helper failed. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/stats.h"
#include "lib/nat4.h"
#include "lib/icmp.h"
#include "lib/state.h"
#include "lib/rpf.h"
#include "lib/gc.h"
#include "lib/frag.h"
#include "lib/nexthop.h"
#include "lib/mss.h"

/* Worst-case headers the tc program needs linear: Ethernet, one VLAN tag,
 * IPv4 with options, and either a TCP header without options or an ICMP
 * error's header, quoted IPv4 header with options and quoted TCP header. */
#define XCGN_TC_PULL (14 + 4 + 60 + 8 + 60 + 20)
/* ICMP: the whole message, up to what icmp_csum_ok() believes. */
#define XCGN_TC_ICMP_PULL (14 + 4 + 60 + XCGN_ICMP_CSUM_WORDS * 4 + 4)

static __always_inline int is_subscriber(__be32 a)
{
	return (a & xcgn_cfg.sub_mask) == xcgn_cfg.sub_prefix;
}

/* The datapath's check of an IPv4 packet on the attached device @which
 * (XCGN_RPF_DEV_*), before any state is looked up or created: 0, or
 * -XCGN_DROP_* (rpf_eval() gives explain its verdict positive). Not
 * inlined: its stack is its own, apart from the mapping creation's. */
static __noinline int rpf_check(__u32 which, __be32 src, __be32 dst, const struct xcgn_state *rs)
{
	const struct xcgn_rpf_dev *dev = bpf_map_lookup_elem(&xcgn_rpfdev, &which);

	/* Not synced (before attach seeds it, or a bare test load): what needs
	 * no FIB still holds. From the internet a subscriber or pool source
	 * is a spoof; translated in, its first fragment would leave a note
	 * that a subscriber's own later fragments are read by (the packet
	 * fuzzer). */
	if (!dev || !(dev->flags & XCGN_RPFD_VALID))
		return which == XCGN_RPF_DEV_OUTSIDE &&
			       (is_subscriber(src) || (rs && is_pool_addr(rs, src)))
			       ? -XCGN_DROP_SPOOF
			       : 0;
	return -rpf_eval(dev, src, dst, xcgn_cfg.sub_prefix, xcgn_cfg.sub_mask, rs, NULL);
}

/* Only these create or use mappings: TCP, UDP, and ICMP echo in the
 * direction that opens it (request out, reply in). */
static __always_inline int translatable(const struct pkt *p, int outbound)
{
	if (p->cls == L4_TCP || p->cls == L4_UDP)
		return 1;
	if (p->cls == L4_ICMP_QUERY)
		return p->icmp_type == (outbound ? ICMP_ECHO : ICMP_ECHOREPLY);
	return 0;
}

/* A TCP or UDP checksum its sender left to offload (issue 10 item 9). XDP
 * sees no skb state: incrementally updated and redirected, such a packet
 * would arrive with the pseudo-header sum for a checksum and be dropped.
 * The kernel knows it: such packets take the slow path, untranslated, and
 * tc (bpf_l4_csum_replace with the pseudo-header flag) translates them. */
static __always_inline int csum_partial(const struct pkt *p)
{
	__u16 c;

	if ((p->cls != L4_TCP && p->cls != L4_UDP) || p->first_frag)
		return 0;
	c = *p->l4_csum;
	return c && c == xcgn_csum_pseudo(p->ip->saddr, p->ip->daddr,
					  bpf_htons(p->ip->protocol), bpf_htons(p->l4_len));
}

/* Make the first @want bytes of @skb (or all of a shorter one) linear,
 * which GSO and page fragments need not be. 0, or -1 when the kernel could
 * not. Packet pointers are stale after it. */
static __always_inline int tc_linear(struct __sk_buff *skb, __u32 want)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	if (want > skb->len)
		want = skb->len;
	if (data + want <= data_end)
		return 0;
	return bpf_skb_pull_data(skb, want) ? -1 : 0;
}

/* tc_linear(), then the fresh packet pointers and the Ethernet header.
 * 0, or -XCGN_DROP_*; a failed pull is no drop reason but a helper
 * failure: counted as aborted here, and -XCGN_DROP_MAX, which
 * stats_drop() ignores. */
static __always_inline int tc_headers(struct __sk_buff *skb, __u32 want, struct xcgn_stats *st,
				      struct pkt *p, void **data, void **data_end, __u16 *proto)
{
	if (tc_linear(skb, want)) {
		stats_inc(st, XCGN_STAT_ABORTED);
		return -XCGN_DROP_MAX;
	}
	*data = (void *)(long)skb->data;
	*data_end = (void *)(long)skb->data_end;
	return parse_eth(p, *data, *data_end, proto);
}

/* An ICMP error to a subscriber about a packet it sent untranslated to a
 * bypass destination: a router on the way answers from its own address
 * (traceroute, path MTU), and that way back stays open too. */
static __always_inline int bypass_error(struct pkt *p, const struct xcgn_state *rs)
{
	struct icmp_inner q = {};

	if (!rs->nbypass || p->ip->protocol != IPPROTO_ICMP || p->ip->ihl != 5 || parse_l4(p) ||
	    p->cls != L4_ICMP_ERROR || parse_icmp_inner(p, &q))
		return 0;
	return q.ip->saddr == p->ip->daddr && is_bypass(rs, q.ip->daddr);
}

/* Finish a forward at XDP: TTL, MACs, redirect through the devmap. */
static __always_inline int xdp_forward(struct pkt *p, const struct bpf_fib_lookup *fib, __u32 port)
{
	nat4_ttl_dec(p->ip);
	__builtin_memcpy(p->eth->h_dest, fib->dmac, ETH_ALEN);
	__builtin_memcpy(p->eth->h_source, fib->smac, ETH_ALEN);
	return bpf_redirect_map(&xcgn_txport, port, 0);
}

/* Whether a hairpinned packet from @from to @to can leave here: a next
 * hop on the inside, a TTL to spend, no VLAN tag. Else the kernel forwards
 * it untranslated (counted as the slow path). */
static __always_inline int hairpin_hop(struct xdp_md *ctx, const struct pkt *p,
				       struct xcgn_stats *st, struct bpf_fib_lookup *fib,
				       __be32 from, __be32 to)
{
	int rc = fib_lookup(ctx, p, from, to, ctx->ingress_ifindex, fib);

	if (rc != BPF_FIB_LKUP_RET_SUCCESS || fib->ifindex != xcgn_cfg.inside_ifindex ||
	    p->ip->ttl <= 1 || p->vlan) {
		stats_inc(st, XCGN_STAT_SLOW_OUT);
		return 0;
	}
	return 1;
}

/* Hairpinning (RFC 4787 REQ-9, RFC 5382 REQ-8): a subscriber sends to
 * another subscriber's public address and port. Both translations happen
 * here, so the receiver sees the sender's public address and port, and the
 * packet turns around at XDP without any policy routing. ICMP queries to a
 * public address reach no host and are not hairpinned. The verdict, or
 * -XCGN_DROP_*. */
static __always_inline int xdp_hairpin(struct xdp_md *ctx, struct pkt *p, struct xcgn_stats *st,
				       struct bpf_fib_lookup *fibp)
{
	struct bpf_fib_lookup *fib = fibp;	/* the caller's: per-CPU scratch */
	struct xcgn_tuple4 in, pub, dst, to;
	__u64 now;
	int ret;

	if (p->cls != L4_TCP && p->cls != L4_UDP)
		return -XCGN_DROP_NO_MAPPING;
	nat4_tuple(p, 1, &in);
	nat4_tuple(p, 0, &dst);
	now = bpf_ktime_get_coarse_ns();
	ret = nat4_snat_lookup(&in, p->ip->daddr, p->tcp_flags, &pub, now);
	if (ret) {
		pool_refusal(st, in.addr, ret);
		return ret;
	}
	ret = nat4_dnat_lookup(&dst, pub.addr, p->tcp_flags, &to, &now);
	if (ret)
		return ret;
	/* No hop here: untranslated to the stack, which routes it towards
	 * the upstream, and tc egress turns it around (tc_hairpin). */
	if (!hairpin_hop(ctx, p, st, fib, pub.addr, to.addr))
		return XDP_PASS;
	frag_note(p, to.addr);	/* a first fragment: where its datagram goes */
	nat4_rewrite(p, 1, &pub);
	nat4_rewrite(p, 0, &to);
	stats_inc(st, XCGN_STAT_HAIRPIN);
	ret = xdp_forward(p, fib, XCGN_TX_INSIDE);
	if (ret != XDP_REDIRECT)
		stats_inc(st, XCGN_STAT_ABORTED);
	return ret;
}

/* The rest of hairpinning: a hairpinned datagram's later fragments, and
 * an ICMP error a subscriber sends about a hairpinned packet (RFC 4787
 * REQ-14 with REQ-9, RFC 5508 REQ-7). Turned around here too, so no
 * upstream router need send a pool-sourced packet back (the outside takes
 * one for a spoof). Both addresses are known before anything is written,
 * so what cannot leave here goes to the kernel untouched, and tc egress
 * turns it around (tc_hairpin). Not inlined: its stack is apart from the
 * mapping creation's, which neither case does. The verdict, or
 * -XCGN_DROP_*. */
static __noinline int xdp_hairpin_rest(struct xdp_md *ctx, struct xcgn_stats *st,
				       struct bpf_fib_lookup *fib)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xcgn_tuple4 from = {}, to = {};
	struct pkt pk = {}, *p = &pk;
	__u16 proto;
	int ret;

	if (!st || !fib)
		return XDP_ABORTED;
	/* Parsed again, not handed over: a pointer to the caller's parse
	 * would make the compiler keep it in memory, where the verifier
	 * loses what it knew of it. The caller's parse passed. */
	if (parse_eth(p, data, data_end, &proto) || proto != ETH_P_IP ||
	    parse_ipv4(p, data, (__u32)(data_end - data)) || parse_l4(p))
		return XDP_ABORTED;
	if (p->cls == L4_FRAGMENT) {
		ret = frag_hairpin(p, &from.addr, &to.addr);
		if (ret)
			return ret;
		if (!hairpin_hop(ctx, p, st, fib, from.addr, to.addr))
			return XDP_PASS;
		nat4_rewrite_addr(p, 1, from.addr);
		nat4_rewrite_addr(p, 0, to.addr);
	} else if (p->cls == L4_ICMP_ERROR) {
		struct icmp_inner q = {};

		ret = nat4_icmp_err_hairpin_lookup(p, &q, &from, &to);
		if (ret)
			return ret;
		if (!hairpin_hop(ctx, p, st, fib, from.addr, to.addr))
			return XDP_PASS;
		nat4_icmp_err_hairpin(p, &q, &from, &to);
	} else {
		return XDP_ABORTED;	/* the caller's parse said otherwise */
	}
	stats_inc(st, XCGN_STAT_HAIRPIN);
	ret = xdp_forward(p, fib, XCGN_TX_INSIDE);
	if (ret != XDP_REDIRECT)
		stats_inc(st, XCGN_STAT_ABORTED);
	return ret;
}

SEC("xdp")
int xcgn_xdp_inside(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xcgn_stats *st = stats_get();
	struct xcgn_state *rs = state_get();
	struct bpf_fib_lookup *fib = fib_scratch();
	struct xcgn_tuple4 in, pub;
	struct pkt p = {};
	__u64 now;
	__u16 proto;
	int ret, rc;

	if (!st || !rs || !fib)
		return XDP_ABORTED;
	stats_inc(st, XCGN_STAT_IN_RX);

	/* Stepped aside (`link set bypass-all on`): the kernel's own rules. */
	if (rs->switches & XCGN_SW_BYPASS_ALL)
		goto pass;
	ret = parse_eth(&p, data, data_end, &proto);
	if (ret)
		goto drop;
	if (proto != ETH_P_IP)
		goto pass;
	ret = parse_ipv4(&p, data, (__u32)(data_end - data));
	if (ret)
		goto drop;
	/* Spoofed sources go before any state is looked at (rpf.h). */
	ret = rpf_check(XCGN_RPF_DEV_INSIDE, p.ip->saddr, p.ip->daddr, rs);
	if (ret)
		goto drop;
	if (!is_subscriber(p.ip->saddr) || is_subscriber(p.ip->daddr))
		goto pass;
	if (is_bypass(rs, p.ip->daddr)) {
		stats_inc(st, XCGN_STAT_BYPASS);
		return XDP_PASS;
	}
	/* IP options: the kernel applies its rules to them (source routes
	 * refused, record route filled in, malformed ones answered), and tc
	 * egress translates what it forwards. */
	if (p.ip->ihl != 5) {
		stats_inc(st, XCGN_STAT_SLOW_OUT);
		return XDP_PASS;
	}
	ret = parse_l4(&p);
	if (ret)
		goto drop;
	if (!translatable(&p, 1) && p.cls != L4_ICMP_ERROR && p.cls != L4_FRAGMENT)
		goto pass;	/* tc egress stops it if it would leak */
	if (csum_partial(&p)) {
		stats_inc(st, XCGN_STAT_SLOW_OUT);
		return XDP_PASS;
	}
	if (is_pool_addr(rs, p.ip->daddr)) {
		if (p.cls == L4_FRAGMENT || p.cls == L4_ICMP_ERROR)
			ret = xdp_hairpin_rest(ctx, st, fib);
		else
			ret = xdp_hairpin(ctx, &p, st, fib);
		if (ret < 0)
			goto drop;
		return ret;
	}

	/* A TCP SYN under an MSS clamp takes the slow path: tc egress clamps
	 * it as it translates. One packet a connection, and the fast path
	 * keeps its stack, which has no room for the clamp's frame. */
	if ((p.tcp_flags & TH_SYN) && rs->mss_clamp) {
		stats_inc(st, XCGN_STAT_SLOW_OUT);
		return XDP_PASS;
	}
	/* The packet's one reading of the clock: the lease on the next-hop
	 * cache and the mapping's last-seen stamp. */
	now = bpf_ktime_get_coarse_ns();
	rc = nh_lookup(ctx, &p, p.ip->saddr, p.ip->daddr, ctx->ingress_ifindex, fib, st, now);
	if (fib->ifindex != xcgn_cfg.outside_ifindex) {
		/* Routed back into the access network, to the host, or
		 * nowhere: the kernel's. Routed out of another device (a
		 * backup uplink, a management route, a tunnel), it would
		 * leave there with its subscriber source: never. */
		if ((rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH) &&
		    fib->ifindex && fib->ifindex != xcgn_cfg.inside_ifindex) {
			ret = -XCGN_DROP_WRONG_DEVICE;
			goto drop;
		}
		goto pass;
	}
	/* No neighbour yet, an MTU problem, TTL expiring, a VLAN tag to
	 * handle: the kernel forwards it untranslated and tc egress
	 * translates after routing. Translating here would hand the
	 * kernel a pool source on the inside device, a martian. */
	if (rc != BPF_FIB_LKUP_RET_SUCCESS || p.ip->ttl <= 1 || p.vlan) {
		stats_inc(st, XCGN_STAT_SLOW_OUT);
		return XDP_PASS;
	}

	if (p.cls == L4_FRAGMENT) {
		in.addr = p.ip->saddr;	/* the subscriber, for its accounting */
		ret = frag_lookup(&p, 1, &pub.addr);
		if (ret)
			goto drop;
		nat4_rewrite_addr(&p, 1, pub.addr);
		stats_inc(st, XCGN_STAT_FRAG);
	} else if (p.cls == L4_ICMP_ERROR) {
		/* A subscriber reports on a packet it received from outside. */
		in.addr = p.ip->saddr;
		ret = nat4_icmp_err_xlate(&p, 0, &pub);
		if (ret)
			goto drop;
		stats_inc(st, XCGN_STAT_ICMP_ERR_OUT);
	} else {
		nat4_tuple(&p, 1, &in);
		ret = nat4_snat_lookup(&in, p.ip->daddr, p.tcp_flags, &pub, now);
		if (ret) {
			pool_refusal(st, in.addr, ret);
			if (!pool_is_refusal(ret))
				goto drop;
			stats_drop(st, ret);
			return icmp_send_prohibited(ctx, &p, st, rs);
		}
		frag_note(&p, pub.addr);
		nat4_rewrite(&p, 1, &pub);
		stats_inc(st, XCGN_STAT_SNAT_XDP);
	}
	ret = xdp_forward(&p, fib, XCGN_TX_OUTSIDE);
	if (ret == XDP_REDIRECT) {
		stats_inc(st, XCGN_STAT_REDIRECT_OUT);
		/* The subscriber's bytes (its own address, as it came; the
		 * length read again from ctx, nothing kept). */
		if (rs->switches & XCGN_SW_ACCOUNTING)	/* off: no call at all */
			acct_add(in.addr, ctx->data_end - ctx->data, 1);
	} else
		stats_inc(st, XCGN_STAT_ABORTED);
	return ret;
pass:
	stats_inc(st, XCGN_STAT_PASS);
	return XDP_PASS;
drop:
	stats_drop(st, ret);
	return XDP_DROP;
}

SEC("xdp")
int xcgn_xdp_outside(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xcgn_stats *st = stats_get();
	struct xcgn_state *rs = state_get();
	struct bpf_fib_lookup *fib = fib_scratch();
	struct xcgn_tuple4 in, pub;
	struct pkt p = {};
	__u64 now = 0;
	__u16 proto;
	int ret, rc;

	if (!st || !rs || !fib)
		return XDP_ABORTED;
	stats_inc(st, XCGN_STAT_OUT_RX);
	if (rs->switches & XCGN_SW_BYPASS_ALL)
		return XDP_PASS;

	ret = parse_eth(&p, data, data_end, &proto);
	if (ret)
		goto drop;
	if (proto != ETH_P_IP)
		goto pass;
	ret = parse_ipv4(&p, data, (__u32)(data_end - data));
	if (ret)
		goto drop;
	ret = rpf_check(XCGN_RPF_DEV_OUTSIDE, p.ip->saddr, p.ip->daddr, rs);
	if (ret)
		goto drop;
	/* Only translated traffic enters: a neighbour that routes the
	 * subscriber range here (an IX peer, an upstream's static route)
	 * would otherwise reach every subscriber's own address, past every
	 * mapping and filter. The way back of a bypass destination's
	 * untranslated flows stays open, and so does everything when the
	 * operator says subscribers are routed. */
	if (is_subscriber(p.ip->daddr) && !(rs->switches & XCGN_SW_ROUTE_SUBS) &&
	    !is_bypass(rs, p.ip->saddr) && !bypass_error(&p, rs)) {
		ret = -XCGN_DROP_NOT_TRANSLATED_IN;
		goto drop;
	}
	/* Anything not addressed to the pool (the host itself, transit) is
	 * not ours. Within the pools' range an address is taken for one of
	 * theirs: the reverse mapping found proves it (issue 13 item 2: one
	 * hash lookup less on the established path), and only a packet about
	 * to be refused or handed up as ours asks the public-address index
	 * (not_ours below). */
	if (!in_pool_range(rs, p.ip->daddr))
		goto pass;
	/* IP options: tc ingress translates, the kernel then applies its
	 * rules to them as it forwards (see xcgn_xdp_inside). */
	if (p.ip->ihl != 5)
		goto not_ours_or_slow;
	ret = parse_l4(&p);
	if (ret)
		goto not_ours_or_drop;
	if (csum_partial(&p))
		goto not_ours_or_slow;	/* untranslated: tc ingress translates it */
	if (p.cls == L4_FRAGMENT) {
		/* Before its first fragment: tc ingress holds it. */
		if (frag_lookup(&p, 0, &in.addr))
			goto not_ours_or_slow;
		nat4_rewrite_addr(&p, 0, in.addr);
		stats_inc(st, XCGN_STAT_FRAG);
	} else if (p.first_frag && frag_waiting(&p)) {
		/* Later fragments wait in tc: it translates this one and
		 * sends them on after it. */
		goto slow;
	} else if (p.cls == L4_ICMP_ERROR) {
		/* About a packet we sent: back to the subscriber who sent it.
		 * Never refreshes the mapping (RFC 5508 REQ-6). */
		ret = nat4_icmp_err_xlate(&p, 1, &in);
		if (ret)
			goto not_ours_or_drop;
		stats_inc(st, XCGN_STAT_ICMP_ERR_IN);
	} else {
		if (!translatable(&p, 0)) {
			ret = -XCGN_DROP_NO_MAPPING;
			goto not_ours_or_drop;
		}
		nat4_tuple(&p, 0, &pub);
		ret = nat4_dnat_lookup(&pub, p.ip->saddr, p.tcp_flags, &in, &now);
		if (ret)
			goto not_ours_or_drop;
		frag_note(&p, in.addr);
		nat4_rewrite(&p, 0, &in);
		stats_inc(st, XCGN_STAT_DNAT_XDP);
	}
	/* Translated (a flow, a fragment or an error): the subscriber's
	 * bytes in, whichever path it takes from here. */
	if (rs->switches & XCGN_SW_ACCOUNTING)
		acct_add(in.addr, ctx->data_end - ctx->data, 0);

	if (!now)	/* a fragment or an error: no mapping was refreshed */
		now = bpf_ktime_get_coarse_ns();
	rc = nh_lookup(ctx, &p, p.ip->saddr, in.addr, ctx->ingress_ifindex, fib, st, now);
	/* What cannot leave here goes up translated: the kernel forwards it,
	 * or answers it (a TTL that runs out, an inside link too narrow for
	 * it), and tc egress translates the answer back (host_pkt_kind()). */
	if (rc != BPF_FIB_LKUP_RET_SUCCESS || fib->ifindex != xcgn_cfg.inside_ifindex ||
	    p.ip->ttl <= 1 || p.vlan) {
		/* Translated, so the kernel routes it to the subscriber. */
		stats_inc(st, XCGN_STAT_SLOW_IN);
		ret = XDP_PASS;
	} else {
		ret = xdp_forward(&p, fib, XCGN_TX_INSIDE);
		stats_inc(st, ret == XDP_REDIRECT ? XCGN_STAT_REDIRECT_IN : XCGN_STAT_ABORTED);
	}
	if (p.tcp_flags & TH_SYN)
		xdp_mss_clamp(ctx, p.l4_off);
	return ret;
not_ours_or_slow:
	if (!is_pool_addr(rs, p.ip->daddr))
		goto pass;
slow:
	stats_inc(st, XCGN_STAT_SLOW_IN);
	return XDP_PASS;
not_ours_or_drop:
	if (!is_pool_addr(rs, p.ip->daddr))
		goto pass;
	stats_drop(st, ret);
	return XDP_DROP;
pass:
	stats_inc(st, XCGN_STAT_PASS);
	return XDP_PASS;
drop:
	stats_drop(st, ret);
	return XDP_DROP;
}

/* What a packet leaving the outside from a source that is no subscriber
 * says of subscribers. */
enum host_pkt {
	HOST_CLEAN,	/* nothing: not ours */
	HOST_ERR_IN,	/* an ICMP error about a packet sent to a subscriber */
	HOST_LEAK,	/* a subscriber address that must not leave */
};

/* An ICMP error this host or a router on the inside made about a packet
 * XDP translated inwards (fragmentation needed on a narrower inside link,
 * a TTL that ran out, an unreachable subscriber) quotes the packet as it
 * went to the subscriber: HOST_ERR_IN, translated back to what the server
 * sent, as the kernel's NAT does, since dropping it would black-hole
 * path-MTU discovery behind every narrower access link. Any other mention
 * of a subscriber (a route that sends one's address out here, an error
 * quoting one as a source) is a leak. Read with bpf_skb_load_bytes:
 * nothing needs pulling. */
static __always_inline enum host_pkt host_pkt_kind(struct __sk_buff *skb, const struct iphdr *ip,
						   __u32 l3_off)
{
	struct {
		__u8 type, code;
		__u16 csum;
		__u32 rest;
		struct iphdr q;
	} e;

	if (is_subscriber(ip->daddr))
		return HOST_LEAK;
	if (ip->protocol != IPPROTO_ICMP || (ip->frag_off & bpf_htons(IP_OFFSET)))
		return HOST_CLEAN;
	if (bpf_skb_load_bytes(skb, l3_off + ip->ihl * 4, &e, sizeof(e)))
		return HOST_CLEAN;
	if (e.type != ICMP_DEST_UNREACH && e.type != ICMP_TIME_EXCEEDED &&
	    e.type != ICMP_PARAMETERPROB && e.type != 4 /* source quench */ &&
	    e.type != 5 /* redirect */)
		return HOST_CLEAN;
	if (is_subscriber(e.q.saddr))
		return HOST_LEAK;
	return is_subscriber(e.q.daddr) ? HOST_ERR_IN : HOST_CLEAN;
}

/* Hairpinning after routing: what XDP left to the kernel (no neighbour
 * known yet for the receiver, IP options, a checksum left to offload, a
 * VLAN tag, an MTU or TTL matter the kernel dealt with) comes here on its
 * way to the upstream router. Both translations happen here and the
 * packet turns to the inside device, its next hop found by the kernel's
 * own neighbour table (bpf_redirect_neigh, which also resolves a missing
 * one): nothing hairpinned leaves for the upstream, whose filters may
 * well drop a pool source coming back (RFC 4787 REQ-9, RFC 5382 REQ-8,
 * RFC 5508 REQ-7). The verdict, or -XCGN_DROP_*. */
static __always_inline int tc_hairpin(struct __sk_buff *skb, struct pkt *p, struct xcgn_stats *st)
{
	struct xcgn_tuple4 in, dst, pub = {}, to = {};
	int ret;

	if (p->cls == L4_FRAGMENT) {
		ret = frag_hairpin(p, &pub.addr, &to.addr);
		if (ret)
			return ret;
		nat4_rewrite_addr(p, 1, pub.addr);	/* never a partial checksum */
		nat4_rewrite_addr(p, 0, to.addr);
	} else if (p->cls == L4_ICMP_ERROR) {
		struct icmp_inner q = {};

		ret = nat4_icmp_err_hairpin_lookup(p, &q, &pub, &to);
		if (ret)
			return ret;
		nat4_icmp_err_hairpin(p, &q, &pub, &to);
	} else if (p->cls == L4_TCP || p->cls == L4_UDP) {
		__u64 now = bpf_ktime_get_coarse_ns();

		nat4_tuple(p, 1, &in);
		nat4_tuple(p, 0, &dst);
		ret = nat4_snat_lookup(&in, dst.addr, p->tcp_flags, &pub, now);
		if (ret) {
			pool_refusal(st, in.addr, ret);
			return ret;
		}
		ret = nat4_dnat_lookup(&dst, pub.addr, p->tcp_flags, &to, &now);
		if (ret)
			return ret;
		frag_note(p, to.addr);	/* a first fragment: where its datagram goes */
		if (nat4_rewrite_skb_from(skb, p, 1, &in, &pub) ||
		    nat4_rewrite_skb_from(skb, p, 0, &dst, &to)) {
			stats_inc(st, XCGN_STAT_ABORTED);
			return TC_ACT_SHOT;
		}
	} else {
		return -XCGN_DROP_NO_MAPPING;	/* ICMP queries reach no host there */
	}
	stats_inc(st, XCGN_STAT_HAIRPIN);
	return bpf_redirect_neigh(xcgn_cfg.inside_ifindex, NULL, 0, 0);
}

/* tc egress on the outside device: the slow path. Translates what the
 * kernel forwarded untranslated, after routing (where netfilter does SNAT),
 * and is the last guard: no subscriber address leaves untranslated. */
SEC("tc")
int xcgn_tc_outside(struct __sk_buff *skb)
{
	struct xcgn_stats *st = stats_get();
	struct xcgn_state *rs = state_get();
	struct xcgn_tuple4 in, pub;
	struct pkt p = {};
	void *data, *data_end;
	__u16 proto;
	int ret;

	if (!st || !rs)
		return TC_ACT_SHOT;
	stats_inc(st, XCGN_STAT_TC_RX);
	if (rs->switches & XCGN_SW_BYPASS_ALL)
		return TC_ACT_OK;	/* the guard too: the operator said so */

	ret = tc_headers(skb, XCGN_TC_PULL, st, &p, &data, &data_end, &proto);
	if (ret)
		goto drop;
	if (proto != ETH_P_IP)
		return TC_ACT_OK;
	/* Only subscriber sources are ours here; the host's own traffic (and
	 * whatever else leaves) passes after one look: no subscriber address
	 * in it, outer or quoted. */
	{
		struct iphdr *ip = data + p.l3_off;

		if ((void *)(ip + 1) > data_end)
			return TC_ACT_OK;
		if (!is_subscriber(ip->saddr)) {
			enum host_pkt k = host_pkt_kind(skb, ip, p.l3_off);

			if (k == HOST_CLEAN)
				return TC_ACT_OK;
			if (k == HOST_LEAK) {
				ret = -XCGN_DROP_UNTRANSLATED;
				goto drop;
			}
			/* HOST_ERR_IN: translated below, like a subscriber's. */
		}
		/* A subscriber source is translated only when it came in
		 * on the inside: one arriving elsewhere (a management port, a
		 * tunnel) is a spoof, and translating it would log it against
		 * the subscriber it names. */
		if (is_subscriber(ip->saddr) && skb->ingress_ifindex != xcgn_cfg.inside_ifindex) {
			ret = -XCGN_DROP_WRONG_DEVICE;
			goto drop;
		}
		/* An ICMP error's checksum covers the whole message: all of
		 * it must be linear to be checked. */
		if (ip->protocol == IPPROTO_ICMP) {
			ret = tc_headers(skb, XCGN_TC_ICMP_PULL, st, &p, &data, &data_end, &proto);
			if (ret)
				goto drop;
		}
	}
	ret = parse_ipv4(&p, data, skb->len);
	if (ret)
		goto drop;
	if (is_bypass(rs, p.ip->daddr)) {
		stats_inc(st, XCGN_STAT_BYPASS);
		return TC_ACT_OK;
	}
	ret = parse_l4(&p);
	if (ret)
		goto drop;
	if (is_pool_addr(rs, p.ip->daddr)) {
		ret = tc_hairpin(skb, &p, st);
		if (ret < 0)
			goto drop;
		return ret;
	}
	if (p.cls == L4_ICMP_ERROR) {
		/* A subscriber's, or one about a packet sent to a subscriber
		 * (HOST_ERR_IN): its outer source becomes the mapping's public
		 * address too. Errors are never CHECKSUM_PARTIAL: the XDP
		 * rewrite serves. */
		ret = nat4_icmp_err_xlate(&p, 0, &pub);
		if (ret)
			goto drop;
		stats_inc(st, XCGN_STAT_ICMP_ERR_OUT);
		return TC_ACT_OK;
	}
	if (p.cls == L4_FRAGMENT) {
		__be32 from = p.ip->saddr, to;

		ret = frag_lookup(&p, 1, &to);
		if (ret)
			goto drop;
		if (bpf_l3_csum_replace(skb, p.l3_off + offsetof(struct iphdr, check), from, to, 4) ||
		    bpf_skb_store_bytes(skb, p.l3_off + offsetof(struct iphdr, saddr), &to, 4, 0)) {
			stats_inc(st, XCGN_STAT_ABORTED);
			return TC_ACT_SHOT;
		}
		stats_inc(st, XCGN_STAT_FRAG);
		return TC_ACT_OK;
	}
	if (!translatable(&p, 1)) {
		ret = -XCGN_DROP_UNTRANSLATED;
		goto drop;
	}

	nat4_tuple(&p, 1, &in);
	ret = nat4_snat_lookup(&in, p.ip->daddr, p.tcp_flags, &pub, bpf_ktime_get_coarse_ns());
	if (ret) {
		pool_refusal(st, in.addr, ret);
		goto drop;
	}
	frag_note(&p, pub.addr);
	if (nat4_rewrite_skb(skb, &p, 1, &pub)) {
		stats_inc(st, XCGN_STAT_ABORTED);
		return TC_ACT_SHOT;
	}
	stats_inc(st, XCGN_STAT_SNAT_TC);
	if (p.tcp_flags & TH_SYN)
		tc_mss_clamp(skb, p.l4_off);
	return TC_ACT_OK;
drop:
	stats_drop(st, ret);
	return TC_ACT_SHOT;
}

SEC("tc")
int xcgn_tc_outside_in(struct __sk_buff *skb)
{
	struct xcgn_stats *st = stats_get();
	struct xcgn_state *rs = state_get();
	struct xcgn_frag4_key dgram;
	struct xcgn_tuple4 in, pub;
	struct pkt p = {};
	void *data, *data_end;
	__u64 now = 0;
	__u32 held;
	__u16 proto;
	int ret;

	if (!st || !rs || (rs->switches & XCGN_SW_BYPASS_ALL))
		return TC_ACT_OK;
	/* Only what XDP left untranslated to the pool is ours: fragments,
	 * datagrams with IP options, checksums left to offload. What else
	 * goes up (the host's own traffic, large GRO skbs) is looked at
	 * without being pulled. */
	{
		struct iphdr iph;

		if (skb->protocol != bpf_htons(ETH_P_IP) ||
		    bpf_skb_load_bytes(skb, sizeof(struct ethhdr), &iph, sizeof(iph)) ||
		    !is_pool_addr(rs, iph.daddr))
			return TC_ACT_OK;
	}
	if (tc_headers(skb, XCGN_TC_PULL, st, &p, &data, &data_end, &proto) || proto != ETH_P_IP)
		return TC_ACT_OK;
	ret = parse_ipv4(&p, data, skb->len);
	if (ret)
		goto drop;
	/* From the internet, a subscriber or pool source is a spoof (XDP
	 * said so too, unless it stood aside): its first fragment must not
	 * leave a note that a subscriber's own later fragments would be read
	 * by. */
	if (is_subscriber(p.ip->saddr) || is_pool_addr(rs, p.ip->saddr)) {
		ret = -XCGN_DROP_SPOOF;
		goto drop;
	}
	ret = parse_l4(&p);
	if (ret)
		goto drop;
	if (p.cls == L4_FRAGMENT) {
		__be32 from = p.ip->daddr, to;

		if (frag_lookup(&p, 0, &to))
			return frag_hold(skb, &p, st);
		if (bpf_l3_csum_replace(skb, p.l3_off + offsetof(struct iphdr, check), from, to, 4) ||
		    bpf_skb_store_bytes(skb, p.l3_off + offsetof(struct iphdr, daddr), &to, 4, 0)) {
			stats_inc(st, XCGN_STAT_ABORTED);
			return TC_ACT_SHOT;
		}
		stats_inc(st, XCGN_STAT_FRAG);
		return TC_ACT_OK;
	}
	/* A first fragment, or a whole datagram with options. */
	if (!translatable(&p, 0))
		return TC_ACT_OK;
	held = frag_waiting(&p);
	frag_key(&p, &dgram);
	nat4_tuple(&p, 0, &pub);
	ret = nat4_dnat_lookup(&pub, p.ip->saddr, p.tcp_flags, &in, &now);
	if (ret)
		goto drop;
	frag_note(&p, in.addr);
	if (nat4_rewrite_skb(skb, &p, 0, &in)) {
		stats_inc(st, XCGN_STAT_ABORTED);
		return TC_ACT_SHOT;
	}
	stats_inc(st, XCGN_STAT_DNAT_TC);
	if (p.tcp_flags & TH_SYN)
		tc_mss_clamp(skb, p.l4_off);
	if (!held)
		return TC_ACT_OK;
	return frag_release(skb, &dgram, held, in.addr, p.l3_off, st);
drop:
	stats_drop(st, ret);
	return TC_ACT_SHOT;
}

/* Forwarding decrements the TTL, as the kernel would have: in an skb,
 * through the helpers, which need no packet pointer (those are stale after
 * a rewrite). 0, or -1 when the kernel could not. */
static __always_inline int tc_ttl_dec(struct __sk_buff *skb, __u32 l3_off)
{
	__u32 off = l3_off + offsetof(struct iphdr, ttl);
	__be16 old, new;	/* the TTL and the protocol: one 16-bit word */
	__u8 ttl;

	if (bpf_skb_load_bytes(skb, off, &old, sizeof(old)))
		return -1;
	new = old;
	ttl = *(__u8 *)&new - 1;
	*(__u8 *)&new = ttl;
	if (bpf_l3_csum_replace(skb, l3_off + offsetof(struct iphdr, check), old, new, 2) ||
	    bpf_skb_store_bytes(skb, off, &ttl, 1, 0))
		return -1;
	return 0;
}

/* tc ingress on the inside device: hairpinning before the routing
 * decision, where the kernel's NAT does it too. XDP leaves some hairpinned
 * packets to the kernel (a checksum left to offload, IP options, no
 * neighbour yet); routed, they would meet whatever route the pool has
 * here, and the usual one, a null route against routing loops, swallows
 * them untranslated. Both translations happen here and the packet turns
 * to the inside device (tc_hairpin). Everything else passes after one
 * look, unpulled, to the filters after this one (TC_ACT_UNSPEC: the
 * operator's own, which come first, and any after it still apply). */
SEC("tc")
int xcgn_tc_inside_in(struct __sk_buff *skb)
{
	struct xcgn_stats *st = stats_get();
	struct xcgn_state *rs = state_get();
	struct pkt p = {};
	void *data, *data_end;
	__u32 want = XCGN_TC_PULL;
	__u16 proto;
	int ret;

	if (!st || !rs || (rs->switches & XCGN_SW_BYPASS_ALL))
		return TC_ACT_UNSPEC;
	{
		struct iphdr iph;

		if (skb->protocol != bpf_htons(ETH_P_IP) ||
		    bpf_skb_load_bytes(skb, sizeof(struct ethhdr), &iph, sizeof(iph)) ||
		    !is_subscriber(iph.saddr) || !is_pool_addr(rs, iph.daddr))
			return TC_ACT_UNSPEC;
		/* An ICMP error's checksum covers the whole message. */
		if (iph.protocol == IPPROTO_ICMP)
			want = XCGN_TC_ICMP_PULL;
	}
	ret = tc_headers(skb, want, st, &p, &data, &data_end, &proto);
	if (ret)
		goto drop;
	if (proto != ETH_P_IP)
		return TC_ACT_UNSPEC;
	ret = parse_ipv4(&p, data, skb->len);
	if (ret)
		goto drop;
	if (p.ip->ttl <= 1)
		return TC_ACT_UNSPEC;	/* the kernel answers time exceeded */
	ret = parse_l4(&p);
	if (ret)
		goto drop;
	ret = tc_hairpin(skb, &p, st);
	if (ret < 0)
		goto drop;
	if (tc_ttl_dec(skb, p.l3_off)) {
		stats_inc(st, XCGN_STAT_ABORTED);
		return TC_ACT_SHOT;
	}
	return ret;
drop:
	stats_drop(st, ret);
	return TC_ACT_SHOT;
}

/* ---- PCP and NAT-PMP: mappings on request ------------------------------------ */

/* End the PCP hold of subscriber tuple @in. A mapping the request made
 * goes, unless its lifetime ran out (@expired) while it carried traffic:
 * then, like one that carried traffic before the request, it goes back to
 * its own timers and its pool's filtering. */
static __always_inline void pcp_end(const struct xcgn_tuple4 *in, int expired)
{
	struct xcgn_pcp *cur = bpf_map_lookup_elem(&xcgn_pcp, in);
	struct xcgn_map4 *m = bpf_map_lookup_elem(&xcgn_map4, in);
	struct xcgn_tuple4 rk = {};
	struct xcgn_rev4 *r;
	__u32 left;

	/* A forward ends only once `forward del` has handed it over (its
	 * lifetime set to 0): not by a sweep's stale reading, not by a PCP
	 * client. */
	if (cur && cur->opcode == XCGN_PCP_OP_FORWARD && cur->expires_ns)
		return;
	if (m) {
		rk.addr = m->paddr;
		rk.port = m->pport;
		rk.proto = in->proto;
		r = bpf_map_lookup_elem(&xcgn_rev4, &rk);
		if (cur && (cur->flags & XCGN_PCPF_MADE) &&
		    !(expired && (m->out_seen_ns != m->created_ns || (r && r->in_seen_ns)))) {
			gc_map_remove(in, &rk, &left);
		} else {
			m->flags &= ~XCGN_MAPF_PCP;
			if (r)
				r->flags = m->flags & XCGN_MAPF_ADF;
		}
	}
	bpf_map_delete_elem(&xcgn_pcp, in);
}

/* The public address of subscriber @saddr, made as its first packet would
 * make it. Global, verified on its own: the subscriber's creation does not
 * fit in xcgn_pcp_ctl's stack besides its own. */
__noinline int pcp_sub_addr(__be32 saddr, __u32 *paddr)
{
	struct xcgn_stats *st = stats_get();
	struct xcgn_pool *pool;
	struct xcgn_sub *sub;
	int err;

	if (!paddr || !st)
		return -XCGN_DROP_NO_POOL;
	err = pool_sub_get(saddr, st, &sub, &pool);
	if (!err)
		*paddr = sub->paddr;
	return err;
}

/* A forward of public @paddr:@port (host order) to subscriber @saddr: the
 * subscriber on that address, holding the port's block. A subscriber not
 * yet known is made there with that block; one known gets the block when
 * it is free and it has a slot left (max-blocks). A deterministic pool's
 * subscriber is made by arithmetic (the mapping's creation does it); then
 * asked again, the block must be one of its own. Global: verified once.
 * 0, or XCGN_FWD_* or XCGN_DROP_* (positive). */
__noinline int pcp_fwd_block(__be32 saddr, __be32 paddr, __u32 port)
{
	struct xcgn_stats *st = stats_get();
	struct xcgn_paddr *pa = bpf_map_lookup_elem(&xcgn_pubidx, &paddr);
	struct xcgn_probe *sc;
	struct xcgn_pool *pool;
	struct xcgn_sub *sub, *fresh;
	__u32 pid, idx, blk, slot, zero = 0;
	int err;

	if (!st)
		return XCGN_DROP_NO_POOL;
	if (!pa || !pa->addr)
		return XCGN_FWD_NOT_POOL;
	pid = pa->pool_id;
	idx = pa->idx;
	pool = bpf_map_lookup_elem(&xcgn_pools, &pid);
	if (!pool || !(pool->flags & XCGN_POOLF_ACTIVE) || !pool->block_size)
		return XCGN_FWD_NOT_POOL;
	if (port < pool->port_lo || port > pool->port_hi)
		return XCGN_FWD_PORT_RANGE;
	blk = (port - pool->port_lo) / pool->block_size;
	sub = bpf_map_lookup_elem(&xcgn_subs, &saddr);
	if (sub) {
		if (sub->nmaps & XCGN_SUB_DEAD)
			return XCGN_DROP_RACE;
		if (sub->paddr != paddr)
			return XCGN_FWD_OTHER_ADDR;
		for (slot = 0; slot < XCGN_SUB_BLOCKS_MAX; slot++)
			if (sub->blocks[slot] == blk + 1)
				return 0;
		if (pool->flags & XCGN_POOLF_DETERMINISTIC)
			return XCGN_FWD_NOT_ITS_BLOCK;
		if (pool_block_claim_at(idx, blk))
			return XCGN_FWD_BLOCK_TAKEN;
		for (slot = 0; slot < XCGN_SUB_BLOCKS_MAX && slot < pool->max_blocks; slot++) {
			if (__sync_val_compare_and_swap(&sub->blocks[slot], 0, blk + 1) == 0) {
				stats_inc(st, XCGN_STAT_BLOCK_NEW);
				pool_alloc_event(st, saddr, paddr, pool, blk);
				return 0;
			}
		}
		pool_block_release(idx, blk);
		return XCGN_FWD_NO_SLOT;
	}
	if (pool->flags & XCGN_POOLF_DETERMINISTIC) {
		/* Made as its first packet would make it, when the pool serves
		 * it (asked again once made: its own address and block). */
		if (!pool->det_plen || pool->det_plen > 32 ||
		    ((bpf_ntohl(saddr) ^ bpf_ntohl(pool->det_prefix)) &
		     (pool->det_plen == 32 ? ~0u : ~(~0u >> pool->det_plen))))
			return XCGN_FWD_OTHER_ADDR;
		return 0;
	}
	if (pa->flags & XCGN_PADDRF_DRAINED)
		return XCGN_FWD_DRAINED;
	sc = bpf_map_lookup_elem(&xcgn_probe, &zero);
	if (!sc)
		return XCGN_DROP_NO_POOL;
	if (pool_block_claim_at(idx, blk))
		return XCGN_FWD_BLOCK_TAKEN;
	fresh = &sc->fresh;
	__builtin_memset(fresh, 0, sizeof(*fresh));
	fresh->addr = saddr;
	fresh->paddr = paddr;
	fresh->addr_idx = idx;
	fresh->pool_id = (__u16)pid;
	fresh->blocks[0] = blk + 1;
	fresh->created_ns = bpf_ktime_get_coarse_ns();
	err = bpf_map_update_elem(&xcgn_subs, &saddr, fresh, BPF_NOEXIST);
	if (err) {
		pool_block_release(idx, blk);
		return err == -17 /* EEXIST: its first packet, meanwhile */ ? XCGN_DROP_RACE
									: XCGN_DROP_SUB_FULL;
	}
	stats_inc(st, XCGN_STAT_SUB_NEW);
	stats_inc(st, XCGN_STAT_BLOCK_NEW);
	pool_alloc_event(st, saddr, paddr, pool, blk);
	return 0;
}

/* The daemon's PCP and NAT-PMP server (user/daemon/pcp_server.c) has the
 * datapath's own code carry out a request, so that a mapping made on
 * request is made exactly as traffic makes one: on the subscriber's
 * public address, inside its blocks, under every cap, logged alike.
 * Never attached: the request (struct xcgn_pcp_req) is the "packet" of
 * BPF_PROG_RUN and comes back answered. */
SEC("xdp")
int xcgn_pcp_ctl(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xcgn_pcp_req *q = data;
	struct xcgn_tuple4 in, pub = {};
	struct xcgn_pcp ent, *cur;
	struct xcgn_map4 *m;
	struct xcgn_rev4 *r;
	__u32 left;
	int err, made = 0;

	if ((void *)(q + 1) > data_end)
		return XDP_ABORTED;
	in = q->in;
	in._pad = 0;
	q->result = XCGN_DROP_NONE;
	if (q->op == XCGN_PCP_CTL_END || q->op == XCGN_PCP_CTL_EXPIRE) {
		pcp_end(&in, q->op == XCGN_PCP_CTL_EXPIRE);
		return XDP_PASS;
	}
	if (!is_subscriber(in.addr)) {
		q->result = XCGN_DROP_RPF;	/* only for a subscriber */
		return XDP_PASS;
	}
	if (q->op == XCGN_PCP_CTL_ADDR) {
		__u32 paddr = 0;

		err = pcp_sub_addr(in.addr, &paddr);
		if (err)
			q->result = (__u32)-err;
		q->ent.paddr = paddr;
		return XDP_PASS;
	}
	if ((q->op != XCGN_PCP_CTL_MAP && q->op != XCGN_PCP_CTL_PEER &&
	     q->op != XCGN_PCP_CTL_FORWARD) ||
	    (in.proto != IPPROTO_TCP && in.proto != IPPROTO_UDP))
		return XDP_ABORTED;
	m = bpf_map_lookup_elem(&xcgn_map4, &in);
	cur = bpf_map_lookup_elem(&xcgn_pcp, &in);
	/* The operator's forward is no client's to take over. */
	if (cur && cur->opcode == XCGN_PCP_OP_FORWARD && q->op != XCGN_PCP_CTL_FORWARD) {
		q->result = XCGN_FWD_HELD;
		return XDP_PASS;
	}
	if (q->op == XCGN_PCP_CTL_FORWARD) {
		/* Mapped already, elsewhere: refused before anything is taken. */
		if (m && (m->paddr != q->ent.paddr || bpf_ntohs(m->pport) != q->want)) {
			q->result = XCGN_FWD_PORT_TAKEN;
			q->ent.paddr = m->paddr;
			return XDP_PASS;
		}
		err = pcp_fwd_block(in.addr, q->ent.paddr, q->want);
		if (err) {
			q->result = (__u32)err;
			return XDP_PASS;
		}
	}
	if (!m) {
		err = nat4_map_create(&in, q->want, bpf_ktime_get_coarse_ns());
		if (err) {
			q->result = (__u32)-err;
			return XDP_PASS;
		}
		m = bpf_map_lookup_elem(&xcgn_map4, &in);
		if (!m) {
			q->result = XCGN_DROP_RACE;
			return XDP_PASS;
		}
		made = 1;
	}
	pub.addr = m->paddr;
	pub.port = m->pport;
	pub.proto = in.proto;
	/* A forward is that public port or nothing: on its block (a
	 * deterministic subscriber made just now is asked again), free. */
	if (q->op == XCGN_PCP_CTL_FORWARD &&
	    ((err = pcp_fwd_block(in.addr, q->ent.paddr, q->want)) ||
	     pub.addr != q->ent.paddr || bpf_ntohs(pub.port) != q->want)) {
		if (made)
			gc_map_remove(&in, &pub, &left);
		q->result = err ? (__u32)err : XCGN_FWD_PORT_TAKEN;
		q->ent.paddr = pub.addr;
		return XDP_PASS;
	}
	r = bpf_map_lookup_elem(&xcgn_rev4, &pub);
	if (!r) {	/* half made by another CPU, or half gone */
		q->result = XCGN_DROP_RACE;
		return XDP_PASS;
	}
	/* PEER: its remote may come in (address-dependent pools) before
	 * anything is recorded, so a full table leaves nothing behind. */
	if (q->op == XCGN_PCP_CTL_PEER && (m->flags & XCGN_MAPF_ADF)) {
		err = nat4_peer_note(m, &pub, in.addr, q->ent.peer, bpf_ktime_get_coarse_ns());
		if (err) {
			if (made)
				gc_map_remove(&in, &pub, &left);
			q->result = (__u32)-err;
			return XDP_PASS;
		}
	}
	ent = q->ent;
	ent.paddr = pub.addr;
	ent.pport = pub.port;
	cur = bpf_map_lookup_elem(&xcgn_pcp, &in);
	/* The same forward again: as it was, logged. */
	if (cur && cur->opcode == XCGN_PCP_OP_FORWARD && q->op == XCGN_PCP_CTL_FORWARD)
		ent.flags |= cur->flags & XCGN_PCPF_LOGGED;
	if (cur && q->op == XCGN_PCP_CTL_PEER && cur->opcode != XCGN_PCP_OP_PEER) {
		ent = *cur;	/* a PEER on an explicit mapping keeps its MAP */
	} else {
		ent.flags &= ~XCGN_PCPF_MADE;
		if (made || (cur && (cur->flags & XCGN_PCPF_MADE)))
			ent.flags |= XCGN_PCPF_MADE;
		if (bpf_map_update_elem(&xcgn_pcp, &in, &ent, BPF_ANY)) {
			if (made)
				gc_map_remove(&in, &pub, &left);
			q->result = XCGN_DROP_MAP_FULL;
			return XDP_PASS;
		}
	}
	m->flags |= XCGN_MAPF_PCP;
	if (ent.opcode != XCGN_PCP_OP_PEER)	/* explicit: every remote may come in */
		r->flags = XCGN_MAPF_PCP;
	q->ent = ent;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
