/* SPDX-License-Identifier: GPL-2.0 */
/* Next hops: where a translated packet leaves, and with which MACs.
 *
 * bpf_fib_lookup() answers for every packet it is asked about, at about two
 * thirds of the established path's cost (issue 13). nh_lookup() keeps its
 * answers per (destination, arrival device) in xcgn_nh and serves them
 * again while the daemon vouches for them (struct xcgn_nhctl): its lease
 * runs, a destination alone decides the route, and the entry was made in
 * the current generation, which the daemon moves on every route, rule,
 * address, link, neighbour or netconf change it hears of. Whatever the
 * cache cannot answer (no entry, a longer packet than the route's MTU, a
 * lease run out, a daemon gone) goes to bpf_fib_lookup(), which keeps
 * every check it made for us: forwarding on, a unicast route, the MTU, a
 * valid neighbour. A cached answer was one of those, no older than the
 * last change the daemon heard of. */
#ifndef XCGN_NEXTHOP_H
#define XCGN_NEXTHOP_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "maps.h"
#include "parse.h"
#include "stats.h"

#define AF_INET 2

/* The fib lookup's 64 bytes live here, not on the stack: the inside
 * program stood at the verifier's 512 bytes (issue 10 item 4). Per CPU,
 * so a program's run owns it; scratch, so never pinned (no state, no ABI). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpf_fib_lookup);
} xcgn_fib_scratch SEC(".maps");

/* ... and a cache entry being made. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xcgn_nh);
} xcgn_nh_scratch SEC(".maps");

static __always_inline struct bpf_fib_lookup *fib_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&xcgn_fib_scratch, &zero);
}

/* The route from @src to @dst of @p, arrived on @ifindex, for a packet of
 * @tot_len bytes. */
static __always_inline int fib_lookup_len(void *ctx, const struct pkt *p, __be32 src, __be32 dst,
					  __u32 ifindex, struct bpf_fib_lookup *fib, __u16 tot_len)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->tos = p->ip->tos;
	fib->l4_protocol = p->ip->protocol;
	if (p->cls == L4_TCP || p->cls == L4_UDP) {
		fib->sport = *p->sport;
		fib->dport = *p->dport;
	}
	fib->tot_len = tot_len;
	fib->ipv4_src = src;
	fib->ipv4_dst = dst;
	fib->ifindex = ifindex;
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
}

static __always_inline int fib_lookup(void *ctx, const struct pkt *p, __be32 src, __be32 dst,
				      __u32 ifindex, struct bpf_fib_lookup *fib)
{
	return fib_lookup_len(ctx, p, src, dst, ifindex, fib, bpf_ntohs(p->ip->tot_len));
}

/* The cache's answer for @dst arrived on @ifin, a packet of @tot_len
 * bytes: 1 when it answered (@fib holds ifindex, smac and dmac); 0 when it
 * may keep the FIB's answer (the generation it would carry left in this
 * CPU's xcgn_nh_scratch, read before the FIB is asked: an entry made
 * while the daemon moves it carries the old one, and is dead at once);
 * -1 when the daemon does not vouch for it now. Not inlined, nor is
 * nh_keep(): the inside program's frame has no room for theirs. */
static __noinline int nh_cached(__be32 dst, __u32 ifin, __u32 tot_len, struct bpf_fib_lookup *fib,
				__u64 now)
{
	struct xcgn_stats *st = stats_get();
	struct xcgn_nh_key k = { .dst = dst, .ifin = ifin };
	const struct xcgn_nhctl *ctl;
	struct xcgn_nh *e, *nh;
	__u32 zero = 0, gen;

	ctl = bpf_map_lookup_elem(&xcgn_nhctl, &zero);
	nh = bpf_map_lookup_elem(&xcgn_nh_scratch, &zero);
	if (!ctl || !nh || !fib || !st || !(ctl->flags & XCGN_NHF_ON) ||
	    now >= ctl->until_ns)
		return -1;
	gen = *(volatile const __u32 *)&ctl->gen;
	nh->gen = gen;
	nh->mtu = 0;
	e = bpf_map_lookup_elem(&xcgn_nh, &k);
	if (!e || e->gen != gen || tot_len > e->mtu)
		return 0;
	fib->ifindex = e->ifindex;
	__builtin_memcpy(fib->smac, e->smac, ETH_ALEN);
	__builtin_memcpy(fib->dmac, e->dmac, ETH_ALEN);
	/* An LRU entry's storage can be taken for another key while we
	 * read it: what was copied counts only if it is still this key's,
	 * of this generation. */
	asm volatile("" ::: "memory");
	if (*(volatile __be32 *)&e->key.dst != dst || *(volatile __u32 *)&e->key.ifin != ifin ||
	    *(volatile __u32 *)&e->gen != gen)
		return 0;
	stats_inc(st, XCGN_STAT_NH_HIT);
	return 1;
}

/* The route's MTU, from a lookup that asked for the longest packet (@rc,
 * @fib): the kernel answers BPF_FIB_LKUP_RET_FRAG_NEEDED and the MTU of
 * the route to the destination (its PMTU exception included), or success
 * when even that fits. Left in this CPU's xcgn_nh_scratch for nh_keep();
 * 0 (keep nothing) on any other answer. */
static __noinline void nh_mtu(int rc, const struct bpf_fib_lookup *fib)
{
	struct xcgn_nh *nh;
	__u32 zero = 0;

	nh = bpf_map_lookup_elem(&xcgn_nh_scratch, &zero);
	if (!nh || !fib)
		return;
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		nh->mtu = fib->mtu_result;
	else
		nh->mtu = rc == BPF_FIB_LKUP_RET_SUCCESS ? 0xffff : 0;
}

/* Keep the answer @fib just gave for @dst arrived on @ifin, with the
 * generation nh_cached() and the MTU nh_mtu() left. */
static __noinline void nh_keep(__be32 dst, __u32 ifin, const struct bpf_fib_lookup *fib,
			       struct xcgn_stats *st)
{
	struct xcgn_nh_key k = { .dst = dst, .ifin = ifin };
	struct xcgn_nh *nh;
	__u32 zero = 0;

	nh = bpf_map_lookup_elem(&xcgn_nh_scratch, &zero);
	if (!nh || !fib || !st || !nh->mtu)
		return;
	nh->ifindex = fib->ifindex;
	__builtin_memcpy(nh->smac, fib->smac, ETH_ALEN);
	__builtin_memcpy(nh->dmac, fib->dmac, ETH_ALEN);
	nh->key = k;
	if (!bpf_map_update_elem(&xcgn_nh, &k, nh, BPF_ANY))
		stats_inc(st, XCGN_STAT_NH_FILL);
}

/* fib_lookup(), from the cache when it may answer. The same return; on
 * success @fib holds ifindex, smac and dmac (nothing else is read). A
 * miss the cache may keep asks the FIB twice: first for the route's MTU
 * (the same question, for the longest packet), then the question itself,
 * whose answer is kept. */
static __always_inline int nh_lookup(void *ctx, const struct pkt *p, __be32 src, __be32 dst,
				     __u32 ifin, struct bpf_fib_lookup *fib, struct xcgn_stats *st,
				     __u64 now)
{
	int cached = nh_cached(dst, ifin, bpf_ntohs(p->ip->tot_len), fib, now), rc;

	if (cached > 0)
		return BPF_FIB_LKUP_RET_SUCCESS;
	if (cached == 0)
		nh_mtu(fib_lookup_len(ctx, p, src, dst, ifin, fib, 0xffff), fib);
	rc = fib_lookup(ctx, p, src, dst, ifin, fib);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS && cached == 0)
		nh_keep(dst, ifin, fib, st);
	return rc;
}

#endif /* XCGN_NEXTHOP_H */
