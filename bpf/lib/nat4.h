/* SPDX-License-Identifier: GPL-2.0 */
/* The translation core, shared by every program: find or create a mapping,
 * find the subscriber behind a public tuple, and rewrite a packet.
 *
 * Mappings are endpoint-independent (RFC 4787 REQ-1): keyed by subscriber
 * address, port and protocol, never by destination. A public port is claimed
 * by inserting its reverse entry with BPF_NOEXIST; the forward entry follows
 * and the reverse one is withdrawn if the forward insert fails. */
#ifndef XCGN_NAT4_H
#define XCGN_NAT4_H

#include <linux/pkt_cls.h>

#include "maps.h"
#include "parse.h"
#include "pool.h"
#include "state.h"
#include "stats.h"

#define XCGN_EEXIST 17
#define XCGN_E2BIG 7

/* Try to claim public port @port (host order) for the reverse value @rv:
 * @key (this CPU's xcgn_probe.tmpl: off the stack) gets the port and is
 * the key. Returns 0 when it is ours, -XCGN_EEXIST when taken, another
 * errno when the table is full. */
static __always_inline int nat4_port_try(struct xcgn_tuple4 *key, __u32 port,
					 const struct xcgn_rev4 *rv, __be16 *out)
{
	int err;

	key->port = bpf_htons((__u16)port);
	err = bpf_map_update_elem(&xcgn_rev4, key, rv, BPF_NOEXIST);
	if (!err)
		*out = key->port;
	return err;
}

/* Random ports a search tries before it walks the window (below). */
#define XCGN_PORT_RANDOM_PROBES 32

/* State of one port search: the numbers on the stack (bpf_loop() wants
 * its context there); the copy of the subscriber's blocks and the entries
 * to insert (built there by nat4_map_create) in this CPU's xcgn_probe:
 * the mapping creation's stack has no room for them. */
struct port_probe {
	__u32 first, span, start, bs, lo;
	__u32 parity;		/* 0: any port; else 1 + the parity to keep */
	int err;
	__be16 port;
	__u16 _pad;
};

static long nat4_port_probe_cb(__u32 i, void *data)
{
	struct port_probe *c = data;
	struct xcgn_probe *sc;
	__u32 off, slot, b, port, zero = 0;

	sc = bpf_map_lookup_elem(&xcgn_probe, &zero);
	if (!sc || !c->span || !c->bs)
		return 1;
	if (i < XCGN_PORT_RANDOM_PROBES)
		off = c->first + bpf_get_prandom_u32() % c->span;
	else
		off = c->first + (c->start + i - XCGN_PORT_RANDOM_PROBES) % c->span;
	slot = off / c->bs;
	b = sc->blocks[slot & (XCGN_SUB_BLOCKS_MAX - 1)];
	if (!b)
		return 0;
	port = c->lo + (b - 1) * c->bs + off % c->bs;
	if (c->parity && (port & 1) != c->parity - 1)
		return 0;
	c->err = nat4_port_try(&sc->tmpl, port, &sc->rv, &c->port);
	return c->err != -XCGN_EEXIST;	/* 1 stops the loop */
}

/* Find a free port in the window [first, first + span) of the subscriber's
 * port space: XCGN_PORT_RANDOM_PROBES random ports first, then every port
 * from a random start. Offsets map to ports through the block slots.
 *
 * Why random probes before the walk: a walk from a random start takes the
 * first free port after it, so taken ports grow into runs, and a start
 * that lands in a run walks all of it. Filling a 512-port block that way
 * cost 17 us a new flow for its last 64 ports (live, bpf_stats_enabled); a
 * random probe at fill f succeeds with probability 1 - f whatever came
 * before. The walk is still there so a free port is never missed.
 * bpf_loop() keeps the bound without the verifier walking each iteration.
 * Returns 0, -XCGN_EEXIST when all are taken, or a full-table error. */
static __always_inline int nat4_port_probe(const struct xcgn_sub *sub, const struct xcgn_pool *pool,
					   __u32 first, __u32 span, __u32 orig, __be16 *out)
{
	struct port_probe c = {};
	struct xcgn_probe *sc;
	__u32 zero = 0;
	int i;

	sc = bpf_map_lookup_elem(&xcgn_probe, &zero);
	if (!sc || !span || !pool->block_size)
		return -XCGN_EEXIST;
	for (i = 0; i < XCGN_SUB_BLOCKS_MAX; i++)
		sc->blocks[i] = sub->blocks[i];
	c.first = first;
	c.span = span;
	c.start = bpf_get_prandom_u32() % span;
	c.bs = pool->block_size;
	c.lo = pool->port_lo;
	c.parity = (pool->flags & XCGN_POOLF_PARITY) ? 1 + (orig & 1) : 0;
	c.err = -XCGN_EEXIST;
	if (bpf_loop(span + XCGN_PORT_RANDOM_PROBES, nat4_port_probe_cb, &c, 0) < 0)
		return -XCGN_EEXIST;
	if (!c.err)
		*out = c.port;
	return c.err;
}

/* Is subscriber @saddr known to have no free port for @proto (@set: note
 * that it has none, for XCGN_FULL_HINT_NS or until the collector frees
 * one)? Not inlined: the mapping creation's stack has no room left; this
 * small frame has its own. */
static __noinline int nat4_full_hint(__be32 saddr, __u8 proto, int set, __u64 now)
{
	__u32 slot = xcgn_proto_slot(proto) % 3;
	struct xcgn_full *f = bpf_map_lookup_elem(&xcgn_full, &saddr);

	if (!set)
		return f && now < f->until_ns[slot];
	if (!f) {
		struct xcgn_full zero = {};

		/* A full table only costs the walks this spares. */
		bpf_map_update_elem(&xcgn_full, &saddr, &zero, BPF_NOEXIST);
		f = bpf_map_lookup_elem(&xcgn_full, &saddr);
		if (!f)
			return 0;
	}
	f->until_ns[slot] = now + XCGN_FULL_HINT_NS;
	return 0;
}

/* Could @sub have no free port for some protocol? Only if it holds as many
 * mappings (all protocols together, so at least as many as any one
 * protocol has) as it holds ports of one parity, or of any parity when
 * the pool does not keep it. Inside a held block a port is taken only by
 * a mapping of the holder (quarantine is per block), so below that some
 * port is free for every protocol, and the full hint (a hash lookup that
 * misses for nearly everybody) need not be asked. A block of odd size
 * holds one port less of one parity than of the other: the smaller count
 * is the one that can run out. A mapping counts from just after its
 * port's claim, so two creations racing may each ask one walk more. */
static __always_inline int nat4_may_be_full(const struct xcgn_sub *sub, const struct xcgn_pool *pool)
{
	__u32 per = pool->flags & XCGN_POOLF_PARITY ? pool->block_size / 2 : pool->block_size;
	__u32 slot, held = 0;

	for (slot = 0; slot < XCGN_SUB_BLOCKS_MAX; slot++)
		if (sub->blocks[slot])
			held += per;
	return (sub->nmaps & ~XCGN_SUB_DEAD) >= held;
}

/* Choose a public port for subscriber port @orig (host order) and claim it.
 * The original port is kept when it lies in one of the subscriber's blocks
 * and is free; otherwise a random free port of its blocks is taken (of the
 * same parity, when the pool asks for it); when they are all busy the
 * subscriber gets one more block, up to max-blocks. */
static __always_inline int nat4_port_pick(struct xcgn_sub *sub, const struct xcgn_pool *pool,
					  __be32 saddr, __u32 orig, struct xcgn_tuple4 *tmpl,
					  const struct xcgn_rev4 *rv, struct xcgn_stats *st, __be16 *out)
{
	__u32 bs = pool->block_size, nslots = 0, slot;
	int err, grown;

	for (slot = 0; slot < XCGN_SUB_BLOCKS_MAX; slot++) {
		__u32 b = sub->blocks[slot], base;

		if (!b)
			break;
		nslots++;
		base = pool->port_lo + (b - 1) * bs;
		if (orig >= base && orig < base + bs) {
			err = nat4_port_try(tmpl, orig, rv, out);
			if (err != -XCGN_EEXIST)
				return err ? -XCGN_DROP_MAP_FULL : 0;
		}
	}
	err = nat4_port_probe(sub, pool, 0, nslots * bs, orig, out);
	if (err != -XCGN_EEXIST)
		return err ? -XCGN_DROP_MAP_FULL : 0;

	grown = pool_sub_grow(sub, pool, saddr, st);
	if (grown < 0)
		return -XCGN_DROP_SUB_LIMIT;
	slot = grown & (XCGN_SUB_BLOCKS_MAX - 1);
	if (sub->blocks[slot]) {
		__u32 port = pool->port_lo + (sub->blocks[slot] - 1) * bs + orig % bs;

		if (!(pool->flags & XCGN_POOLF_PARITY) || !((port ^ orig) & 1)) {
			err = nat4_port_try(tmpl, port, rv, out);
			if (err != -XCGN_EEXIST)
				return err ? -XCGN_DROP_MAP_FULL : 0;
		}
	}
	err = nat4_port_probe(sub, pool, slot * bs, bs, orig, out);
	if (err != -XCGN_EEXIST)
		return err ? -XCGN_DROP_MAP_FULL : 0;
	return -XCGN_DROP_NO_PORT;
}

/* Create the mapping for subscriber tuple @in, on public port @want (host
 * order) when that is free in the subscriber's blocks (0: the subscriber's
 * own port, as traffic asks; PCP suggests one), made at @now (the coarse
 * clock, read once by the caller). Returns 0 or -XCGN_DROP_*.
 *
 * Global (verified once, on its own): the creation path is long and holds
 * loops, and inlined into every packet path of three programs it would be
 * verified again for each of them. */
__noinline int nat4_map_create(const struct xcgn_tuple4 *in, __u32 want, __u64 now)
{
	struct xcgn_stats *st = stats_get();
	struct xcgn_tuple4 *tmpl;
	struct xcgn_rev4 *rv;
	struct xcgn_pool *pool;
	struct xcgn_probe *sc;
	struct xcgn_map4 *mv;
	struct xcgn_sub *sub;
	__u32 zero = 0;
	int err;

	sc = bpf_map_lookup_elem(&xcgn_probe, &zero);
	if (!in || !st || !sc)
		return -XCGN_DROP_MAP_FULL;
	/* The mapping being inserted, off the stack (struct port_probe); it
	 * keeps @now from here, so no stack slot has to. */
	mv = &sc->mv;
	__builtin_memset(mv, 0, sizeof(*mv));
	mv->created_ns = now;

	err = pool_sub_get(in->addr, st, &sub, &pool);
	if (err)
		return err;
	err = pool_sub_rate(sub, pool, mv->created_ns);
	if (err)
		return err;
	/* One subscriber may not fill the tables everybody shares: its
	 * mappings, all protocols together, up to the pool's cap (two CPUs
	 * may both take the last one). */
	if (pool->sub_maps && (sub->nmaps & ~XCGN_SUB_DEAD) >= pool->sub_maps)
		return -XCGN_DROP_SUB_MAPS;
	/* Known full: refuse without walking every port again (a subscriber
	 * at its limit opening flows as fast as it can would otherwise cost a
	 * whole walk a packet). Asked only of a subscriber that could be: one
	 * holding fewer mappings than ports has a free one. */
	if (nat4_may_be_full(sub, pool) &&
	    nat4_full_hint(in->addr, in->proto, 0, mv->created_ns)) {
		stats_inc(st, XCGN_STAT_FULL_HINT);
		return -XCGN_DROP_SUB_LIMIT;
	}
	/* The reverse entry and the key of the port search, off the stack too. */
	rv = &sc->rv;
	__builtin_memset(rv, 0, sizeof(*rv));
	rv->saddr = in->addr;
	rv->sport = in->port;
	rv->pool_id = (__u8)sub->pool_id;
	rv->flags = pool->filtering & xcgn_filter_bit(in->proto) ? XCGN_MAPF_ADF : 0;
	tmpl = &sc->tmpl;
	__builtin_memset(tmpl, 0, sizeof(*tmpl));
	tmpl->addr = sub->paddr;
	tmpl->proto = in->proto;
	err = nat4_port_pick(sub, pool, in->addr, want ? want & 0xffff : bpf_ntohs(in->port), tmpl,
			     rv, st, &mv->pport);
	if (err == -XCGN_DROP_SUB_LIMIT)
		nat4_full_hint(in->addr, in->proto, 1, mv->created_ns);
	if (err)
		return err;

	mv->paddr = sub->paddr;
	mv->pool_id = sub->pool_id;
	mv->out_seen_ns = mv->created_ns;
	mv->flags = rv->flags;
	err = bpf_map_update_elem(&xcgn_map4, in, mv, BPF_NOEXIST);
	if (err) {
		tmpl->port = mv->pport;	/* the reverse entry just made */
		if (bpf_map_delete_elem(&xcgn_rev4, tmpl))
			stats_inc(st, XCGN_STAT_ABORTED);
		if (err != -XCGN_EEXIST)
			return -XCGN_DROP_MAP_FULL;
		/* Another CPU mapped the same tuple first: use its mapping. */
		stats_inc(st, XCGN_STAT_MAP_RACE);
		return 0;
	}
	if ((__sync_fetch_and_add(&sub->nmaps, 1) & XCGN_SUB_DEAD) || sub->addr != in->addr) {
		/* The collector released this subscriber while we were mapping
		 * on its blocks, and the entry may even belong to another
		 * subscriber by now: take it all back. The next packet finds
		 * the subscriber gone and starts afresh. */
		if (sub->addr != in->addr)
			__sync_fetch_and_add(&sub->nmaps, -1);
		tmpl->port = mv->pport;
		bpf_map_delete_elem(&xcgn_map4, in);
		bpf_map_delete_elem(&xcgn_rev4, tmpl);
		stats_inc(st, XCGN_STAT_SUB_DIED);
		return -XCGN_DROP_RACE;
	}
	stats_inc(st, XCGN_STAT_MAP_NEW);
	return 0;
}

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

/* Record what a TCP segment says about the connection on a mapping. Writes
 * only when a bit is new, so established traffic leaves the line alone. */
static __always_inline void nat4_tcp_note(__u32 *state, __u8 flags, int outbound)
{
	__u32 cur = *state, bits = 0;

	if (flags & TH_RST)
		bits |= XCGN_TCP_RST;
	if (flags & TH_FIN)
		bits |= outbound ? XCGN_TCP_FIN_OUT : XCGN_TCP_FIN_IN;
	if (flags & TH_SYN) {
		if (outbound && !(flags & TH_ACK) &&
		    (cur & (XCGN_TCP_RST | XCGN_TCP_FIN_OUT | XCGN_TCP_FIN_IN))) {
			/* A new connection from a port whose last one closed;
			 * the count of remotes above stays (lost to a race, the
			 * next SYN starts over). */
			__sync_val_compare_and_swap(state, cur,
						    (cur & ~(XCGN_MAP_PEER_ONE - 1)) | XCGN_TCP_SYN_OUT);
			return;
		}
		bits |= outbound ? XCGN_TCP_SYN_OUT : XCGN_TCP_SYN_IN;
		/* The subscriber accepting a connection: its peer's SYN came
		 * (counted here, not on arrival, where anyone's would count). */
		if (outbound && (flags & TH_ACK))
			bits |= XCGN_TCP_SYN_IN;
	}
	if (bits & ~cur)
		__sync_fetch_and_or(state, bits);
}

/* Subscriber @saddr's filtering entries: below its share (@take 0: 1 when
 * one more may be made), or one more made (@take 1). A subscriber without
 * an entry (a race with its release) takes nothing. Not inlined: only a
 * new remote asks, and the callers' stack has no room for it. */
static __noinline int nat4_sub_peers(__be32 saddr, int take)
{
	struct xcgn_sub *sub = bpf_map_lookup_elem(&xcgn_subs, &saddr);

	if (!sub || sub->addr != saddr)
		return 1;
	if (take) {
		sub_peers_inc(sub);
		return 1;
	}
	return !xcgn_cfg.sub_peers || sub->npeers < xcgn_cfg.sub_peers;
}

/* Remember that mapping @m (public side @pub) sent to @raddr: for
 * address-dependent filtering, and for whose TCP segments move its state.
 * A new remote is counted in the mapping, up to its pool's map-peers: one
 * mapping sending to many hosts cannot fill the table everybody shares
 * (issue 10 item 5). Returns 0, -XCGN_DROP_MAP_PEERS at the cap, or
 * -XCGN_DROP_PEER_FULL. */
static __always_inline int nat4_peer_note(struct xcgn_map4 *m, const struct xcgn_tuple4 *pub,
					  __be32 saddr, __be32 raddr, __u64 now)
{
	struct xcgn_peer4_key k = {};
	struct xcgn_pool *pool;
	__u32 pid, n;
	__u64 *seen;
	int err;

	k.pub = *pub;
	k.raddr = raddr;
	seen = bpf_map_lookup_elem(&xcgn_peer4, &k);
	if (seen) {
		if (now - *seen >= XCGN_TOUCH_NS)
			*seen = now;
		return 0;
	}
	n = XCGN_MAP_PEERS(m->tcp);
	pid = m->pool_id;
	pool = bpf_map_lookup_elem(&xcgn_pools, &pid);
	if ((pool && pool->map_peers && n >= pool->map_peers) || n >= XCGN_MAP_PEERS_MAX)
		return -XCGN_DROP_MAP_PEERS;
	/* The subscriber's share of the table: one subscriber sending to
	 * many hosts from many mappings cannot fill it for everybody. */
	if (!nat4_sub_peers(saddr, 0))
		return -XCGN_DROP_SUB_PEERS;
	err = bpf_map_update_elem(&xcgn_peer4, &k, &now, BPF_NOEXIST);
	if (err == -XCGN_EEXIST)
		return 0;
	if (err)
		return -XCGN_DROP_PEER_FULL;
	__sync_fetch_and_add(&m->tcp, XCGN_MAP_PEER_ONE);
	nat4_sub_peers(saddr, 1);
	return 0;
}

/* Has the subscriber sent to @raddr on @pub (nat4_peer_note)? */
static __always_inline int nat4_peer_sent(const struct xcgn_tuple4 *pub, __be32 raddr)
{
	struct xcgn_peer4_key k = {};

	k.pub = *pub;
	k.raddr = raddr;
	return bpf_map_lookup_elem(&xcgn_peer4, &k) != 0;
}

/* Outbound: the public tuple for subscriber tuple @in going to @raddr,
 * creating the mapping on the first packet. @now: the packet's one reading
 * of the coarse clock (the collector reads the same clock). */
static __always_inline int nat4_snat_lookup(const struct xcgn_tuple4 *in, __be32 raddr,
					    __u8 tcp_flags, struct xcgn_tuple4 *pub, __u64 now)
{
	struct xcgn_map4 *m = bpf_map_lookup_elem(&xcgn_map4, in);
	int err;

	if (!m) {
		err = nat4_map_create(in, 0, now);
		if (err)
			return err;
		m = bpf_map_lookup_elem(&xcgn_map4, in);
		if (!m)	/* made by another CPU and already expired or undone */
			return -XCGN_DROP_RACE;
	}
	/* Shared cache line: write only when the second moved. */
	if (now - m->out_seen_ns >= XCGN_TOUCH_NS)
		m->out_seen_ns = now;
	pub->addr = m->paddr;
	pub->port = m->pport;
	pub->proto = in->proto;
	pub->_pad = 0;
	if (in->proto == IPPROTO_TCP) {
		/* A RST to a host that was never the subscriber's peer on this
		 * mapping is its stack's answer to a stray segment (anyone may
		 * send one under endpoint-independent filtering): it ends no
		 * connection of the mapping's (issue 10 item 2). */
		if ((tcp_flags & TH_RST) && (m->tcp & XCGN_TCP_PEERS) && !nat4_peer_sent(pub, raddr))
			tcp_flags &= ~TH_RST;
		nat4_tcp_note(&m->tcp, tcp_flags, 1);
	}
	if (m->flags & XCGN_MAPF_ADF) {
		err = nat4_peer_note(m, pub, in->addr, raddr, now);
		if (!err && in->proto == IPPROTO_TCP && !(m->tcp & XCGN_TCP_PEERS))
			__sync_fetch_and_or(&m->tcp, XCGN_TCP_PEERS);
		return err;
	}
	/* Endpoint-independent TCP: the hosts the subscriber opens or accepts
	 * a connection with are the only ones whose SYN, RST, FIN or traffic
	 * moves the mapping's state. A note that cannot be made (the table
	 * full, the subscriber at its share) never costs the packet, nor the
	 * gate: strangers' control segments still move nothing; the peer's
	 * own, unnoted, move nothing either, and the timers end the mapping. */
	if (in->proto == IPPROTO_TCP && (tcp_flags & TH_SYN)) {
		nat4_peer_note(m, pub, in->addr, raddr, now);
		if (!(m->tcp & XCGN_TCP_PEERS))
			__sync_fetch_and_or(&m->tcp, XCGN_TCP_PEERS);
	}
	return 0;
}

/* Has the subscriber sent to @raddr on @pub (noted by nat4_snat_lookup)?
 * Under address-dependent filtering the filter already asked. */
static __always_inline int nat4_peer_known(const struct xcgn_rev4 *r,
					   const struct xcgn_tuple4 *pub, __be32 raddr)
{
	if ((r->flags & XCGN_MAPF_ADF) && !state_filter_eif())
		return 1;
	return nat4_peer_sent(pub, raddr);
}

/* Inbound: the subscriber tuple behind public tuple @pub, if a mapping
 * exists and the pool's filtering lets @raddr in. @now: the packet's
 * reading of the coarse clock; 0: none yet, and one is taken (and left in
 * @now) only once the mapping is known, so a flood of unsolicited packets
 * never reads the clock. */
static __always_inline int nat4_dnat_lookup(const struct xcgn_tuple4 *pub, __be32 raddr,
					    __u8 tcp_flags, struct xcgn_tuple4 *in, __u64 *now_io)
{
	struct xcgn_rev4 *r = bpf_map_lookup_elem(&xcgn_rev4, pub);
	__u64 now;

	if (!r)
		return -XCGN_DROP_NO_MAPPING;
	if ((r->flags & XCGN_MAPF_ADF) && !state_filter_eif()) {
		struct xcgn_peer4_key k = {};

		k.pub = *pub;
		k.raddr = raddr;
		if (!bpf_map_lookup_elem(&xcgn_peer4, &k))
			return -XCGN_DROP_FILTERED;
	}
	in->addr = r->saddr;
	in->port = r->sport;
	in->proto = pub->proto;
	in->_pad = 0;
	now = *now_io;
	if (!now)
		*now_io = now = bpf_ktime_get_coarse_ns();
	if (pub->proto != IPPROTO_TCP) {
		if (now - r->in_seen_ns >= XCGN_TOUCH_NS)
			r->in_seen_ns = now;
		return 0;
	}
	/* TCP: a segment from a host the subscriber never opened or accepted
	 * a connection with goes through (the subscriber's stack judges its
	 * sequence number) but moves nothing: no SYN, FIN or RST noted, no
	 * refresh (issue 10 item 2). The forward entry is read only when
	 * something would move: a SYN, FIN or RST, or the stamp's second. */
	if ((tcp_flags & (TH_SYN | TH_FIN | TH_RST)) || now - r->in_seen_ns >= XCGN_TOUCH_NS) {
		struct xcgn_map4 *m = bpf_map_lookup_elem(&xcgn_map4, in);

		if (m && (!(m->tcp & XCGN_TCP_PEERS) || nat4_peer_known(r, pub, raddr))) {
			if (now - r->in_seen_ns >= XCGN_TOUCH_NS)
				r->in_seen_ns = now;
			if (tcp_flags & (TH_SYN | TH_FIN | TH_RST))
				nat4_tcp_note(&m->tcp, tcp_flags, 0);
		}
	}
	return 0;
}

/* The tuple of a parsed packet's source (@src) or destination side. */
static __always_inline void nat4_tuple(const struct pkt *p, int src, struct xcgn_tuple4 *t)
{
	t->addr = src ? p->ip->saddr : p->ip->daddr;
	t->port = src ? *p->sport : *p->dport;
	t->proto = p->ip->protocol;
	t->_pad = 0;
}

/* Rewrite the source (@snat) or destination address and port of a parsed
 * packet in place, with incremental checksum updates (XDP). */
static __always_inline void nat4_rewrite(struct pkt *p, int snat, const struct xcgn_tuple4 *to)
{
	struct iphdr *ip = p->ip;
	__be32 *addr = snat ? &ip->saddr : &ip->daddr;
	__be16 *port = snat ? p->sport : p->dport;
	__be32 from_addr = *addr;
	__be16 from_port = *port;
	__u16 c;

	*addr = to->addr;
	ip->check = xcgn_csum_update32(ip->check, from_addr, to->addr);
	*port = to->port;
	c = *p->l4_csum;
	switch (p->cls) {
	case L4_TCP:
		*p->l4_csum = xcgn_csum_update48(c, from_addr, to->addr, from_port, to->port);
		break;
	case L4_UDP:
		if (c)
			*p->l4_csum = xcgn_csum_udp_fixup(
				1, xcgn_csum_update48(c, from_addr, to->addr, from_port, to->port));
		break;
	case L4_ICMP_QUERY:
		/* The ICMP checksum has no pseudo-header. */
		*p->l4_csum = xcgn_csum_update16(c, from_port, to->port);
		break;
	}
}

/* Rewrite an ICMP error and the packet it quotes (RFC 5508 REQ-4/5, RFC
 * 5382 REQ-9). Inbound (@inbound), the error is about a packet we sent
 * with a public source: the outer destination and the quoted source become
 * the subscriber's @to. Outbound, the error is about a packet a subscriber
 * got (the subscriber's own, or a router's on the way to it): the outer
 * source and the quoted destination become the public @to.
 *
 * Every changed word inside the ICMP message moves the ICMP checksum (no
 * pseudo-header): the quoted address, the quoted IP checksum (which moves
 * too), the quoted port and, when quoted, the quoted L4 checksum. Plain
 * pointer writes, so XDP and tc (for errors, never CHECKSUM_PARTIAL) share
 * it. Type and code are not touched (REQ-4). */
static __always_inline void nat4_rewrite_icmp_err(struct pkt *p, struct icmp_inner *q, int inbound,
						  const struct xcgn_tuple4 *to)
{
	struct iphdr *ip = p->ip, *iip = q->ip;
	__be32 *outer = inbound ? &ip->daddr : &ip->saddr;
	__be32 *inner = inbound ? &iip->saddr : &iip->daddr;
	__be16 *port = inbound ? q->sport : q->dport;
	__be32 from_addr = *inner;
	__be16 from_port = *port;
	__u16 ic = *p->l4_csum, old, new;

	ip->check = xcgn_csum_update32(ip->check, *outer, to->addr);
	*outer = to->addr;

	old = iip->check;
	new = xcgn_csum_update32(old, from_addr, to->addr);
	iip->check = new;
	*inner = to->addr;
	ic = xcgn_csum_update32(ic, from_addr, to->addr);
	ic = xcgn_csum_update16(ic, old, new);

	*port = to->port;
	ic = xcgn_csum_update16(ic, from_port, to->port);

	if (q->l4_csum) {
		old = *q->l4_csum;
		new = old;
		if (q->proto == IPPROTO_ICMP) {
			new = xcgn_csum_update16(old, from_port, to->port);
		} else if (q->proto == IPPROTO_TCP || old) {
			new = xcgn_csum_update32(old, from_addr, to->addr);
			new = xcgn_csum_update16(new, from_port, to->port);
			if (q->proto == IPPROTO_UDP)
				new = xcgn_csum_udp_fixup(old, new);
		}
		*q->l4_csum = new;
		ic = xcgn_csum_update16(ic, old, new);
	}
	*p->l4_csum = ic;
}

/* The mapping an ICMP error refers to, looked up without refreshing it
 * (RFC 5508 REQ-6): inbound through the quoted public source, outbound
 * through the quoted subscriber destination. Fills @to with the other side. */
static __always_inline int nat4_icmp_err_lookup(const struct pkt *p, const struct icmp_inner *q,
						int inbound, struct xcgn_tuple4 *to)
{
	struct xcgn_tuple4 k = {};

	k.proto = q->proto;
	if (inbound) {
		struct xcgn_rev4 *r;

		/* It must quote what we sent: from the pool address it came to. */
		if (q->ip->saddr != p->ip->daddr)
			return -XCGN_DROP_ICMP_ERROR;
		k.addr = q->ip->saddr;
		k.port = *q->sport;
		r = bpf_map_lookup_elem(&xcgn_rev4, &k);
		if (!r)
			return -XCGN_DROP_NO_MAPPING;
		to->addr = r->saddr;
		to->port = r->sport;
	} else {
		struct xcgn_map4 *m;

		/* About a packet sent to a subscriber: from the subscriber
		 * itself, from this host or from a router on the way to it
		 * (an inside link narrower than the packet, a TTL run out).
		 * Whoever made it, it leaves from the mapping's public
		 * address, as the kernel's NAT sends it: nothing private
		 * leaves, outer or quoted. */
		k.addr = q->ip->daddr;
		k.port = *q->dport;
		m = bpf_map_lookup_elem(&xcgn_map4, &k);
		if (!m)
			return -XCGN_DROP_NO_MAPPING;
		to->addr = m->paddr;
		to->port = m->pport;
	}
	to->proto = q->proto;
	to->_pad = 0;
	return 0;
}

/* Translate an ICMP error in place, inbound (@inbound) or outbound: parse
 * what it quotes, find the mapping without refreshing it, rewrite. @to
 * gets the new outer address. Returns 0 or -XCGN_DROP_*. */
static __always_inline int nat4_icmp_err_xlate(struct pkt *p, int inbound, struct xcgn_tuple4 *to)
{
	struct icmp_inner q = {};
	int ret;

	ret = parse_icmp_inner(p, &q);
	if (!ret)
		ret = nat4_icmp_err_lookup(p, &q, inbound, to);
	if (!ret)
		nat4_rewrite_icmp_err(p, &q, inbound, to);
	return ret;
}

/* An ICMP error about a hairpinned packet (RFC 5508 REQ-7): subscriber B
 * reports on what subscriber A sent to B's public endpoint, so the outer
 * destination and the quoted source are A's public endpoint, the outer
 * source and the quoted destination B itself. Both lookups (no refresh,
 * REQ-6) come before any write, so the caller can still hand the packet
 * on untouched: @from gets B's public endpoint, @to A's own. 0 or
 * -XCGN_DROP_*. */
static __always_inline int nat4_icmp_err_hairpin_lookup(const struct pkt *p, struct icmp_inner *q,
							struct xcgn_tuple4 *from,
							struct xcgn_tuple4 *to)
{
	int ret = parse_icmp_inner(p, q);

	if (!ret)
		ret = nat4_icmp_err_lookup(p, q, 0, from);
	if (!ret)
		ret = nat4_icmp_err_lookup(p, q, 1, to);
	return ret;
}

/* ... and both rewrites: out as B's public endpoint, in to A (REQ-7a:
 * the outer destination is the quoted source, A). */
static __always_inline void nat4_icmp_err_hairpin(struct pkt *p, struct icmp_inner *q,
						  const struct xcgn_tuple4 *from,
						  const struct xcgn_tuple4 *to)
{
	nat4_rewrite_icmp_err(p, q, 0, from);
	nat4_rewrite_icmp_err(p, q, 1, to);
}

/* Rewrite only the source (@snat) or destination address: a later
 * fragment carries no L4 header, and the L4 checksum travels in the first. */
static __always_inline void nat4_rewrite_addr(struct pkt *p, int snat, __be32 to)
{
	__be32 *a = snat ? &p->ip->saddr : &p->ip->daddr;

	p->ip->check = xcgn_csum_update32(p->ip->check, *a, to);
	*a = to;
}

/* Forwarding decrements the TTL, as the kernel would have. */
static __always_inline void nat4_ttl_dec(struct iphdr *ip)
{
	ip->check = xcgn_csum_ttl_dec(ip->check);
	ip->ttl--;
}

/* Rewrite the source (@snat) or destination of a packet in an skb (tc),
 * from @from (what the packet holds there, read before: the helpers leave
 * no packet pointer valid) to @to. The skb may carry a partial checksum
 * (CHECKSUM_PARTIAL), which only the kernel's helpers update correctly,
 * so tc goes through them; BPF_F_MARK_MANGLED_0 keeps a UDP checksum of 0
 * at 0 and sends a computed 0 as 0xFFFF. */
static __always_inline int nat4_rewrite_skb_from(struct __sk_buff *skb, const struct pkt *p,
						 int snat, const struct xcgn_tuple4 *from,
						 const struct xcgn_tuple4 *to)
{
	__u32 l3 = p->l3_off, l4 = p->l4_off, csum_off, port_off = l4 + (snat ? 0 : 2);
	__u32 addr_off = l3 + (snat ? offsetof(struct iphdr, saddr) : offsetof(struct iphdr, daddr));
	__u64 mm = 0;

	switch (p->cls) {
	case L4_TCP:
		csum_off = l4 + offsetof(struct tcphdr, check);
		break;
	case L4_UDP:
		csum_off = l4 + offsetof(struct udphdr, check);
		mm = BPF_F_MARK_MANGLED_0;
		break;
	case L4_ICMP_QUERY:
		csum_off = l4 + offsetof(struct icmphdr, checksum);
		port_off = l4 + offsetof(struct icmphdr, id);
		break;
	default:
		return -1;
	}
	if (p->cls != L4_ICMP_QUERY &&
	    bpf_l4_csum_replace(skb, csum_off, from->addr, to->addr, BPF_F_PSEUDO_HDR | mm | 4))
		return -1;
	if (bpf_l4_csum_replace(skb, csum_off, from->port, to->port, mm | 2))
		return -1;
	if (bpf_l3_csum_replace(skb, l3 + offsetof(struct iphdr, check), from->addr, to->addr, 4))
		return -1;
	if (bpf_skb_store_bytes(skb, addr_off, &to->addr, 4, 0))
		return -1;
	if (bpf_skb_store_bytes(skb, port_off, &to->port, 2, 0))
		return -1;
	return 0;
}

static __always_inline int nat4_rewrite_skb(struct __sk_buff *skb, const struct pkt *p, int snat,
					    const struct xcgn_tuple4 *to)
{
	struct xcgn_tuple4 from;

	nat4_tuple(p, snat, &from);
	return nat4_rewrite_skb_from(skb, p, snat, &from, to);
}

#endif /* XCGN_NAT4_H */
