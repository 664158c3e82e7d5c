/* SPDX-License-Identifier: GPL-2.0 */
/* Reverse-path validation (RFC 3704) with the kernel's semantics.
 *
 * A frame redirected at XDP never meets the kernel's fib_validate_source(),
 * so a spoofed subscriber source would be translated and sent on. This is
 * that function's decision, step by step in the kernel's order
 * (ip_route_input_slow() martian checks, then fib_validate_source()), over
 * the FIB that userspace copies into xcgn_rpf4:
 *
 *   martian source (multicast, broadcast, 0/8, 127/8 without route_localnet)
 *   mode off, no custom routes or rules: only a local-address source is
 *     refused, unless accept_local
 *   otherwise the route back to the source decides: none -> refused unless
 *     off; not unicast -> refused, local only with accept_local; leaving
 *     through the arrival device -> accepted, and so is a local route when
 *     the arrival device is lo (the route names the device the address
 *     lives on, not lo: the case the kernel once got wrong); a device
 *     without an address -> refused unless off; strict -> refused;
 *     loose -> accepted.
 *
 * On the outside xcgn adds what the FIB cannot know: a subscriber or pool
 * source arriving from the internet is spoofed. When userspace could not
 * make the tables follow the FIB (XCGN_RPFD_NO_FIB), the FIB part is
 * suspended and only the rules above it apply.
 *
 * The same code answers `xcgn rpf explain` (xcgn_rpf_explain, run with
 * BPF_PROG_RUN), which passes a trace to learn which rule decided. */
#ifndef XCGN_RPF_H
#define XCGN_RPF_H

#include <bpf/bpf_endian.h>

#include "maps.h"
#include "state.h"

/* Route types (<linux/rtnetlink.h>, which drags in more than BPF needs). */
#define XCGN_RTN_UNICAST	1
#define XCGN_RTN_LOCAL		2
#define XCGN_RTN_BLACKHOLE	6
#define XCGN_RTN_UNREACHABLE	7
#define XCGN_RTN_PROHIBIT	8
#define XCGN_RTN_THROW		9

/* What the explain program learns besides the verdict. */
struct rpf_trace {
	__u32 why;		/* enum xcgn_rpf_why */
	__u32 found;
	struct xcgn_rpf_route route;
};

static __always_inline int rpf_is_error(const struct xcgn_rpf_route *r)
{
	return r->type == XCGN_RTN_BLACKHOLE || r->type == XCGN_RTN_UNREACHABLE ||
	       r->type == XCGN_RTN_PROHIBIT || r->type == XCGN_RTN_THROW;
}

static __always_inline const struct xcgn_rpf_route *rpf_slot(__u32 slot, __be32 addr)
{
	struct xcgn_rpf_key k = { .prefixlen = 64, .table = bpf_htonl(slot), .addr = addr };

	return bpf_map_lookup_elem(&xcgn_rpf4, &k);
}

/* The route the kernel's fib_lookup() returns for @addr.
 * Without custom rules the kernel keeps local and main in one trie (so
 * does userspace, in the merged slot: one lookup) and tries the default
 * table when that gives nothing usable. With rules: local, main, default,
 * each consulted only when the one before found nothing or a throw. */
static __always_inline const struct xcgn_rpf_route *rpf_route(__be32 addr, __u16 dflags)
{
	const struct xcgn_rpf_route *r, *d;

	if (dflags & XCGN_RPFD_MERGED) {
		r = rpf_slot(XCGN_RPF_TB_MERGED, addr);
		if (!(dflags & XCGN_RPFD_DEFAULT_TB) || (r && !rpf_is_error(r)))
			return r;
		d = rpf_slot(XCGN_RPF_TB_DEFAULT, addr);
		return d ? d : r;
	}
	r = rpf_slot(XCGN_RPF_TB_LOCAL, addr);
	if (r && r->type != XCGN_RTN_THROW)
		return r;
	r = rpf_slot(XCGN_RPF_TB_MAIN, addr);
	if ((r && r->type != XCGN_RTN_THROW) || !(dflags & XCGN_RPFD_DEFAULT_TB))
		return r;
	return rpf_slot(XCGN_RPF_TB_DEFAULT, addr);
}

static __always_inline int rpf_route_uses(const struct xcgn_rpf_route *r, __u32 ifindex)
{
	__u32 i;

#pragma unroll
	for (i = 0; i < XCGN_RPF_NH_MAX; i++)
		if (i < r->nnh && r->oif[i] == ifindex)
			return 1;
	return 0;
}

/* For explain: the route that decided. */
static __always_inline void rpf_trace_route(struct rpf_trace *tr, const struct xcgn_rpf_route *r)
{
	if (tr && r) {
		tr->found = 1;
		tr->route = *r;
	}
}

#define RPF_DECIDE(w, verdict)                          \
	do {                                            \
		if (tr)                                 \
			tr->why = (w);                  \
		return (verdict);                       \
	} while (0)

/* The verdict on a packet from @src to @dst arriving on @dev: 0 accepted,
 * or the XCGN_DROP_* reason. @rs may be NULL (no pool known). @tr is NULL
 * in the datapath. */
static __always_inline int rpf_eval(const struct xcgn_rpf_dev *dev, __be32 src, __be32 dst,
				    __be32 sub_prefix, __be32 sub_mask,
				    const struct xcgn_state *rs, struct rpf_trace *tr)
{
	const __u32 hs = bpf_ntohl(src), hd = bpf_ntohl(dst);
	const int localnet = dev->flags & XCGN_RPFD_ROUTE_LOCALNET;
	const struct xcgn_rpf_route *r;
	int mode = dev->mode;

	/* Martians before any lookup: ip_route_input_slow(), or for a
	 * multicast destination ip_mc_validate_source(). */
	if ((hs & 0xf0000000) == 0xe0000000 || hs == 0xffffffff)
		RPF_DECIDE(XCGN_RPFW_MARTIAN_BCAST, XCGN_DROP_MARTIAN);
	if ((hd & 0xf0000000) == 0xe0000000) {
		if ((hs >> 24) == 127 && !localnet)
			RPF_DECIDE(XCGN_RPFW_MARTIAN_LOOPBACK, XCGN_DROP_MARTIAN);
		if ((hs >> 24) == 0) {
			/* (The kernel also lets IGMP to any group through.) */
			if ((hd & 0xffffff00) == 0xe0000000)
				RPF_DECIDE(XCGN_RPFW_MCAST_ZERONET, XCGN_DROP_NONE);
			RPF_DECIDE(XCGN_RPFW_MARTIAN_ZERONET, XCGN_DROP_MARTIAN);
		}
	} else if (hd == 0xffffffff || (hs == 0 && hd == 0)) {
		if ((hs >> 24) == 0)
			RPF_DECIDE(XCGN_RPFW_OFF, XCGN_DROP_NONE);	/* DHCP */
	} else {
		if ((hs >> 24) == 0)
			RPF_DECIDE(XCGN_RPFW_MARTIAN_ZERONET, XCGN_DROP_MARTIAN);
		if ((hd >> 24) == 127) {
			if (!localnet)
				RPF_DECIDE(XCGN_RPFW_MARTIAN_LOOPBACK, XCGN_DROP_MARTIAN);
		} else if ((hs >> 24) == 127 && !localnet) {
			RPF_DECIDE(XCGN_RPFW_MARTIAN_LOOPBACK, XCGN_DROP_MARTIAN);
		}
	}

	/* What the FIB cannot know: from the internet, a subscriber or a
	 * pool source is spoofed. Pool to pool too: xcgn turns every
	 * hairpin around itself, so none comes back from the upstream. */
	if (dev->flags & XCGN_RPFD_OUTSIDE) {
		if ((src & sub_mask) == sub_prefix)
			RPF_DECIDE(XCGN_RPFW_SPOOF_SUBSCRIBER, XCGN_DROP_SPOOF);
		if (rs && is_pool_addr(rs, src))
			RPF_DECIDE(XCGN_RPFW_SPOOF_POOL, XCGN_DROP_SPOOF);
	}
	if (dev->flags & XCGN_RPFD_NO_FIB)
		RPF_DECIDE(XCGN_RPFW_SUSPENDED, XCGN_DROP_NONE);

	/* fib_validate_source(): off with accept_local accepts without a
	 * look; off otherwise refuses only a local-address source, unless
	 * custom local routes or rules force the full check. */
	if (mode == XCGN_RPF_OFF && (dev->flags & XCGN_RPFD_ACCEPT_LOCAL))
		RPF_DECIDE(XCGN_RPFW_OFF_ACCEPT_LOCAL, XCGN_DROP_NONE);
	if (mode == XCGN_RPF_OFF && !(dev->flags & XCGN_RPFD_FULL_CHECK)) {
		r = rpf_route(src, dev->flags);
		/* An address of this host is a /32 local route, the longest
		 * match there is (custom local routes force the full check). */
		if (r && r->type == XCGN_RTN_LOCAL && r->plen == 32) {
			rpf_trace_route(tr, r);
			RPF_DECIDE(XCGN_RPFW_OFF_LOCAL, XCGN_DROP_MARTIAN);
		}
		RPF_DECIDE(XCGN_RPFW_OFF, XCGN_DROP_NONE);
	}

	/* __fib_validate_source(). */
	r = rpf_route(src, dev->flags);
	rpf_trace_route(tr, r);
	if (!r || rpf_is_error(r))
		RPF_DECIDE(XCGN_RPFW_NO_ROUTE, mode ? XCGN_DROP_RPF : XCGN_DROP_NONE);
	if (r->type != XCGN_RTN_UNICAST) {
		if (r->type != XCGN_RTN_LOCAL)
			RPF_DECIDE(XCGN_RPFW_NOT_UNICAST, XCGN_DROP_MARTIAN);
		if (!(dev->flags & XCGN_RPFD_ACCEPT_LOCAL))
			RPF_DECIDE(XCGN_RPFW_LOCAL_REFUSED, XCGN_DROP_MARTIAN);
	}
	if (rpf_route_uses(r, dev->ifindex))
		RPF_DECIDE(XCGN_RPFW_DEV_MATCH, XCGN_DROP_NONE);
	if (r->type == XCGN_RTN_LOCAL && (dev->flags & XCGN_RPFD_LOOPBACK))
		RPF_DECIDE(XCGN_RPFW_LOOPBACK_LOCAL, XCGN_DROP_NONE);
	if (dev->flags & XCGN_RPFD_NO_ADDR)
		RPF_DECIDE(XCGN_RPFW_NO_ADDR, mode ? XCGN_DROP_RPF : XCGN_DROP_NONE);
	if (mode == XCGN_RPF_STRICT)
		RPF_DECIDE(XCGN_RPFW_OTHER_DEV, XCGN_DROP_RPF);
	RPF_DECIDE(XCGN_RPFW_ROUTED, XCGN_DROP_NONE);
}

#endif /* XCGN_RPF_H */
