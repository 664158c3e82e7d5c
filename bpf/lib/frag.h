/* SPDX-License-Identifier: GPL-2.0 */
/* Fragments (RFC 4787 REQ-14): the notes first fragments leave for the
 * later ones, and tc's holding of the internet's later fragments that
 * come before their first.
 *
 * A note is keyed by the datagram as it arrived (source, destination, id,
 * protocol) and holds the address the datagram got: a subscriber's
 * datagram to the internet notes its public source; one to a pool address
 * (from the internet, or hairpinned from a subscriber) notes the
 * subscriber it goes to. */
#ifndef XCGN_FRAG_H
#define XCGN_FRAG_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "parse.h"
#include "stats.h"

/* The first fragment is translated like any packet and leaves its note;
 * the later ones (no ports in them) follow it. Out of order: from a
 * subscriber to the internet, a later fragment needs only the address,
 * which is its subscriber's (paired pooling puts all its mappings on one
 * address); from the internet it is held in tc until its first fragment
 * says where the datagram goes (below); hairpinned, it is dropped. */
static __always_inline void frag_key(const struct pkt *p, struct xcgn_frag4_key *k)
{
	k->saddr = p->ip->saddr;
	k->daddr = p->ip->daddr;
	k->id = p->ip->id;
	k->proto = p->ip->protocol;
	k->_pad = 0;
}

/* May subscriber @sub begin one more fragmented datagram now? At most
 * XCGN_SUB_FRAGS a XCGN_FRAG_NS, the lifetime of a note: so no one
 * subscriber holds more than a 64th of the table, and a flood of first
 * fragments from one cannot push everybody's notes out. Not inlined: only
 * first fragments ask. */
static __noinline int frag_share_take(__be32 sub)
{
	struct xcgn_fragshare *f = bpf_map_lookup_elem(&xcgn_fragshare, &sub), fresh = {};
	__u64 now = bpf_ktime_get_coarse_ns();

	if (!f) {
		fresh.window_ns = now;
		fresh.n = 1;
		bpf_map_update_elem(&xcgn_fragshare, &sub, &fresh, BPF_ANY);
		return 1;	/* a full LRU forgets another: never a refusal */
	}
	if (now > f->window_ns && now - f->window_ns >= XCGN_FRAG_NS) {
		f->window_ns = now;
		f->n = 0;
	}
	if (f->n >= XCGN_SUB_FRAGS) {
		struct xcgn_stats *st = stats_get();

		if (st)
			stats_inc(st, XCGN_STAT_FRAG_CAPPED);
		return 0;
	}
	f->n++;
	return 1;
}

/* Call before rewriting a first fragment; @to is the address it gets. A
 * datagram its subscriber (the source going out, @to coming in) has no
 * share left for is not noted: its later fragments are dropped. */
static __always_inline void frag_note(const struct pkt *p, __be32 to)
{
	struct xcgn_frag4_key k;
	struct xcgn_frag4 v = {};

	if (!p->first_frag)
		return;
	if (!frag_share_take((p->ip->saddr & xcgn_cfg.sub_mask) == xcgn_cfg.sub_prefix ?
				     p->ip->saddr : to))
		return;
	frag_key(p, &k);
	v.addr = to;
	v.seen_ns = bpf_ktime_get_coarse_ns();
	/* An LRU: a full table forgets its oldest datagram, not this one. */
	bpf_map_update_elem(&xcgn_frag4, &k, &v, BPF_ANY);
}

/* How many later fragments of this datagram wait in tc (0 if none, or
 * if they waited too long). */
static __always_inline __u32 frag_waiting(const struct pkt *p)
{
	struct xcgn_frag4_key k;
	struct xcgn_fragh *h;

	if (!p->first_frag)
		return 0;
	frag_key(p, &k);
	h = bpf_map_lookup_elem(&xcgn_fragh, &k);
	if (!h || bpf_ktime_get_coarse_ns() - h->seen_ns > XCGN_FRAG_NS)
		return 0;
	return h->held;
}

/* The public address of subscriber @saddr: with paired pooling every
 * mapping of a subscriber is on it. 0, or -XCGN_DROP_FRAGMENT when the
 * subscriber has none (unknown, or going). */
static __always_inline int frag_sub_paddr(__be32 saddr, __be32 *to)
{
	struct xcgn_sub *sub = bpf_map_lookup_elem(&xcgn_subs, &saddr);

	if (!sub || sub->addr != saddr || (sub->nmaps & XCGN_SUB_DEAD) || !sub->paddr)
		return -XCGN_DROP_FRAGMENT;
	*to = sub->paddr;
	return 0;
}

/* The note the first fragment of @p's datagram left, if still good. */
static __always_inline int frag_noted(const struct pkt *p, __be32 *to)
{
	struct xcgn_frag4_key k;
	struct xcgn_frag4 *v;

	frag_key(p, &k);
	v = bpf_map_lookup_elem(&xcgn_frag4, &k);
	if (!v || bpf_ktime_get_coarse_ns() - v->seen_ns > XCGN_FRAG_NS)
		return -XCGN_DROP_FRAGMENT;
	*to = v->addr;
	return 0;
}

/* The address a later fragment's datagram got, or -XCGN_DROP_FRAGMENT.
 * @outbound: a subscriber's fragment, whose address is known without its
 * first fragment when the subscriber is. */
static __always_inline int frag_lookup(const struct pkt *p, int outbound, __be32 *to)
{
	if (!frag_noted(p, to))
		return 0;
	if (!outbound)
		return -XCGN_DROP_FRAGMENT;
	return frag_sub_paddr(p->ip->saddr, to);
}

/* A later fragment of a hairpinned datagram (a subscriber's, to a pool
 * address): @from gets the sender's public address, @to the subscriber
 * the first fragment went to. Its note is keyed like an inbound one, by a
 * pool destination, and holds where the datagram goes. A later fragment
 * before its first has nowhere to go: 0, or -XCGN_DROP_FRAGMENT. */
static __always_inline int frag_hairpin(const struct pkt *p, __be32 *from, __be32 *to)
{
	if (frag_noted(p, to))
		return -XCGN_DROP_FRAGMENT;
	return frag_sub_paddr(p->ip->saddr, from);
}

/* ---- tc ingress on the outside: fragments out of order ------------------
 *
 * RFC 4787 REQ-14 with the fragments in any order. A later fragment from
 * the internet that comes before its first cannot be placed: its ports
 * are in the first. XDP passes it up; here it is copied into xcgn_fragq
 * and the skb dropped. When the first fragment comes, XDP passes it up too
 * (frag_waiting()), and here it is translated and releases the held
 * ones: each is written into the skb, translated, and re-injected at this
 * device's ingress with bpf_clone_redirect(); the kernel forwards them,
 * now addressed to the subscriber. At most XCGN_FRAG_HELD_MAX a datagram,
 * XCGN_FRAGQ_MAX in all (an LRU), each good for XCGN_FRAG_NS. */

/* Hold the later fragment in @skb. The verdict. */
static __always_inline int frag_hold(struct __sk_buff *skb, const struct pkt *p,
				     struct xcgn_stats *st)
{
	struct xcgn_fragq_key qk = {};
	struct xcgn_fragh nv = {}, *v;
	struct xcgn_fragq *buf;
	__u32 zero = 0, len, slot;
	__u64 now = bpf_ktime_get_coarse_ns();

	len = skb->len - p->l3_off;
	if (len > XCGN_FRAG_HOLD_BYTES || len < sizeof(struct iphdr))
		goto unknown;
	frag_key(p, &qk.dgram);
	v = bpf_map_lookup_elem(&xcgn_fragh, &qk.dgram);
	if (v && now - v->seen_ns > XCGN_FRAG_NS) {
		/* A datagram long given up: this id starts over. */
		bpf_map_delete_elem(&xcgn_fragh, &qk.dgram);
		v = NULL;
	}
	if (!v) {
		nv.seen_ns = now;
		/* Another CPU may have just made it: then use theirs. */
		bpf_map_update_elem(&xcgn_fragh, &qk.dgram, &nv, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&xcgn_fragh, &qk.dgram);
		if (!v)
			goto unknown;
	}
	slot = __sync_fetch_and_add(&v->held, 1);
	if (slot >= XCGN_FRAG_HELD_MAX)
		goto unknown;
	buf = bpf_map_lookup_elem(&xcgn_fragbuf, &zero);
	if (!buf)
		goto unknown;
	if (bpf_skb_load_bytes(skb, p->l3_off, buf->data, len))
		goto unknown;
	buf->len = (__u16)len;
	qk.slot = slot;
	if (bpf_map_update_elem(&xcgn_fragq, &qk, buf, BPF_ANY))
		goto unknown;
	stats_inc(st, XCGN_STAT_FRAG_HELD);
	return TC_ACT_SHOT;
unknown:
	stats_drop(st, -XCGN_DROP_FRAGMENT);
	return TC_ACT_SHOT;
}

/* Send on the @n fragments of @dgram held before its first, translated to
 * @to; the translated first fragment, in @skb, goes first. The skb is
 * used as the buffer, so what is left of it is dropped. */
static __always_inline int frag_release(struct __sk_buff *skb, const struct xcgn_frag4_key *dgram,
					__u32 n, __be32 to, __u32 l3_off, struct xcgn_stats *st)
{
	struct xcgn_fragq_key qk = { .dgram = *dgram };
	__u32 ifindex = skb->ifindex, i;

	bpf_map_delete_elem(&xcgn_fragh, dgram);
	if (bpf_clone_redirect(skb, ifindex, BPF_F_INGRESS))
		return TC_ACT_OK;	/* at least the first goes on */
	for (i = 0; i < XCGN_FRAG_HELD_MAX; i++) {
		struct xcgn_fragq *h;
		__u32 len;

		if (i >= n)
			break;
		qk.slot = i;
		h = bpf_map_lookup_elem(&xcgn_fragq, &qk);
		if (!h)
			continue;	/* forgotten under pressure */
		len = h->len;
		if (len < sizeof(struct iphdr) || len > XCGN_FRAG_HOLD_BYTES ||
		    bpf_skb_change_tail(skb, l3_off + len, 0))
			goto bad;
		/* The verifier wants the bound proven on the register passed. */
		asm volatile("" : "+r"(len));
		if (len < sizeof(struct iphdr) || len > XCGN_FRAG_HOLD_BYTES ||
		    bpf_skb_store_bytes(skb, l3_off, h->data, len, BPF_F_RECOMPUTE_CSUM))
			goto bad;
		{
			struct iphdr *ip = (struct iphdr *)h->data;
			__be32 from = ip->daddr;

			if (bpf_l3_csum_replace(skb, l3_off + offsetof(struct iphdr, check), from,
						to, 4) ||
			    bpf_skb_store_bytes(skb, l3_off + offsetof(struct iphdr, daddr), &to, 4,
						BPF_F_RECOMPUTE_CSUM) ||
			    bpf_clone_redirect(skb, ifindex, BPF_F_INGRESS))
				stats_drop(st, -XCGN_DROP_FRAGMENT);
			else
				stats_inc(st, XCGN_STAT_FRAG_RELEASED);
		}
		bpf_map_delete_elem(&xcgn_fragq, &qk);
		continue;
bad:
		bpf_map_delete_elem(&xcgn_fragq, &qk);
		stats_drop(st, -XCGN_DROP_FRAGMENT);
	}
	return TC_ACT_SHOT;
}

#endif /* XCGN_FRAG_H */
