/* SPDX-License-Identifier: GPL-2.0 */
/* Every map of the datapath, with key -> value, who writes, who reads.
 *
 * NAT state lives in preallocated HASH maps (no BPF_F_NO_PREALLOC): memory is
 * reserved at load, an insert under memory pressure cannot fail for lack of
 * an allocation, and a full table is an explicit, counted event. Never
 * LRU_HASH: under pressure it evicts live entries, one half of a pair at a
 * time, which breaks a customer's connection and falsifies the NAT log. */
#ifndef XCGN_MAPS_H
#define XCGN_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xcgn_abi.h"

/* Load-time constants (rodata), filled by the loader before load. */
const volatile struct xcgn_cfg xcgn_cfg = {};

/* Never read: it puts every enum of the ABI and the ring buffers' record
 * into the object's BTF, where the layout fingerprint reads them
 * (user/datapath/abi.c). */
const volatile struct xcgn_abi_anchor xcgn_abi_anchor = {};

/* 0 -> the layout stamp; userspace writes it at attach and reload. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xcgn_abi_stamp);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_abi SEC(".maps");

/* subscriber tuple -> mapping; datapath creates, GC (userspace) removes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XCGN_MAPS_MAX);
	__type(key, struct xcgn_tuple4);
	__type(value, struct xcgn_map4);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_map4 SEC(".maps");

/* public tuple -> subscriber tuple; inserted with BPF_NOEXIST first, which
 * is how a public port is claimed; datapath creates, GC removes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XCGN_MAPS_MAX);
	__type(key, struct xcgn_tuple4);
	__type(value, struct xcgn_rev4);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_rev4 SEC(".maps");

/* subscriber address -> public address and blocks; datapath creates and
 * adds blocks, userspace releases them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XCGN_SUBS_MAX);
	__type(key, __be32);
	__type(value, struct xcgn_sub);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_subs SEC(".maps");

/* (public tuple, remote address) -> last seen, only for pools with
 * address-dependent filtering; outbound creates, inbound reads. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XCGN_PEERS_MAX);
	__type(key, struct xcgn_peer4_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_peer4 SEC(".maps");

/* pool id -> pool; userspace writes (`xcgn pool`), datapath reads. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XCGN_POOLS_MAX);
	__type(key, __u32);
	__type(value, struct xcgn_pool);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_pools SEC(".maps");

/* address index -> public address; userspace writes, datapath reads when
 * it picks an address for a new subscriber. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XCGN_ADDRS_DEF);
	__type(key, __u32);
	__type(value, struct xcgn_paddr);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_paddr SEC(".maps");

/* public address -> its index and pool; userspace writes, datapath reads on
 * every inbound packet (is this a pool address?). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XCGN_ADDRS_DEF);
	__type(key, __be32);
	__type(value, struct xcgn_paddr);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_pubidx SEC(".maps");

/* address index -> block bitmap. Mmapable so userspace shares it; the
 * datapath claims blocks with atomic fetch-or, userspace frees them. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XCGN_ADDRS_DEF);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct xcgn_blkmap);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_blocks SEC(".maps");

/* 0 -> runtime state; userspace writes, datapath reads. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xcgn_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_state SEC(".maps");

/* 0 -> counters, per CPU so the hot path never shares a cache line. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xcgn_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_stats SEC(".maps");

/* Block allocations (struct xcgn_event), nothing else: the NAT log's
 * records never compete with refusals for room. The datapath writes, the
 * daemon reads; what is lost here (the daemon down for long) the daemon's
 * reconcile recovers from xcgn_subs and xcgn_blkts. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, XCGN_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_events SEC(".maps");

/* Refusals (struct xcgn_event), rate-limited per CPU; a flood fills this
 * one and only this one. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, XCGN_REFUSALS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_refusals SEC(".maps");

/* xcgn_blk_key(address index, block) -> when the block was taken
 * (bpf_ktime_get_coarse_ns); the datapath writes it right after its claim,
 * before the event, so a record recovered after a lost event carries the
 * real time. 8 bytes a block: 32 MiB for 4096 addresses of 1024 blocks. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XCGN_ADDRS_DEF * XCGN_BLKS_PER_ADDR_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_blkts SEC(".maps");

/* xcgn_blk_key() -> the subscriber whose allocation of the block the NAT
 * log holds; the daemon alone writes it, after the record is written, and
 * deletes it after the release is. What reconcile compares the tables
 * with: in bpffs, so it outlives a daemon killed at any moment. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XCGN_SUBS_MAX * XCGN_SUB_BLOCKS_MAX);
	__type(key, __u32);
	__type(value, __be32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_blklog SEC(".maps");

/* 0 -> what the running daemon reports; the daemon writes, `xcgn link
 * show` reads. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xcgn_dstat);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_dstat SEC(".maps");

/* XCGN_TX_INSIDE/OUTSIDE -> ifindex; a devmap so redirects are bulked. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} xcgn_txport SEC(".maps");

/* XCGN_RLIM_* -> when this CPU last emitted a refusal event or sent an
 * ICMP error (ns). */
#define XCGN_RLIM_EVENT	0
#define XCGN_RLIM_ICMP	1
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} xcgn_rlim SEC(".maps");

/* A subscriber's filtering-table entries (xcgn_sub.npeers). BPF has no
 * 16-bit atomics: the count moves as the upper half of the 32-bit word it
 * shares with pool_id, which an addition of whole 1 << 16 steps leaves
 * alone (the count stays far below 65536). Never below zero. */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "sub_peers_*: npeers is the upper half of its word on little-endian only"
#endif
#define XCGN_SUB_PEER_ONE 0x10000u

static __always_inline void sub_peers_inc(struct xcgn_sub *sub)
{
	__sync_fetch_and_add((__u32 *)&sub->pool_id, XCGN_SUB_PEER_ONE);
}

static __always_inline void sub_peers_sub(struct xcgn_sub *sub, __u32 n)
{
	__u32 *w = (__u32 *)&sub->pool_id, old, cnt, i;

	for (i = 0; i < 4 && n; i++) {	/* a CAS lost to another CPU: again */
		old = *(volatile __u32 *)w;
		cnt = old >> 16;
		cnt = cnt > n ? cnt - n : 0;
		if (__sync_val_compare_and_swap(w, old, (old & 0xffff) | (cnt << 16)) == old)
			return;
	}
}

/* One more of XCGN_RLIM_* @key on this CPU at @now, at most one each
 * @gap ns? A stamp of 0 is "never": the first one after boot is let
 * through however soon after boot it comes. */
static __always_inline int rlim_allow(__u32 key, __u64 now, __u64 gap)
{
	__u64 *last = bpf_map_lookup_elem(&xcgn_rlim, &key);

	if (!last || (*last && now - *last < gap))
		return 0;
	*last = now ? now : 1;
	return 1;
}

/* destination prefix -> 1: leaves untranslated (`xcgn pool bypass`); an
 * LPM trie, which the kernel allocates per entry (BPF_F_NO_PREALLOC is
 * mandatory for it); userspace writes, the datapath reads. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XCGN_BYPASS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xcgn_lpm4_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_bypass SEC(".maps");

/* fragmented datagram -> the address its first fragment got; the datapath
 * writes on a first fragment and reads on the others. An LRU on purpose:
 * this is no mapping, only the memory of a datagram in flight, and under
 * pressure losing the oldest costs one datagram, while the size stays
 * bounded whatever a flood of bogus fragments does (RFC 4787 REQ-14). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XCGN_FRAGS_MAX);
	__type(key, struct xcgn_frag4_key);
	__type(value, struct xcgn_frag4);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_frag4 SEC(".maps");

/* (table, prefix) -> route: the FIB's local and main tables as the kernel
 * would pick in each (`xcgn rpf`); userspace builds it from rtnetlink and
 * keeps it in step, the reverse-path check reads it. An LPM trie, so not
 * preallocated (the kernel allows no other way). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XCGN_RPF_ROUTES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xcgn_rpf_key);
	__type(value, struct xcgn_rpf_route);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_rpf4 SEC(".maps");

/* XCGN_RPF_DEV_* -> the device's uRPF mode and sysctls; userspace writes
 * (attach, `xcgn rpf`, the daemon), the datapath reads. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct xcgn_rpf_dev);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_rpfdev SEC(".maps");

/* subscriber -> the fragmented datagrams it began in the current
 * XCGN_FRAG_NS window: its share of xcgn_frag4 (an LRU, which counts no
 * entry of anybody's: a rate over the entries' lifetime bounds what one
 * subscriber holds of it). The programs' own, not pinned: a reload starts
 * it afresh. An LRU too: a flood of subscribers forgets the oldest. */
struct xcgn_fragshare {
	__u64 window_ns;
	__u32 n;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XCGN_FRAGS_MAX);
	__type(key, __be32);
	__type(value, struct xcgn_fragshare);
} xcgn_fragshare SEC(".maps");

/* datagram -> how many of its later fragments are held: apart from
 * xcgn_frag4, so a flood of bogus fragments never pushes out the
 * translations of real datagrams. LRU, as xcgn_fragq. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XCGN_FRAGQ_MAX);
	__type(key, struct xcgn_frag4_key);
	__type(value, struct xcgn_fragh);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_fragh SEC(".maps");

/* (datagram, slot) -> a later fragment that came before its first; tc
 * ingress on the outside holds and releases them. An LRU for the same
 * reason as xcgn_frag4: it is no mapping, and a flood of bogus fragments
 * costs at most its size. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XCGN_FRAGQ_MAX);
	__type(key, struct xcgn_fragq_key);
	__type(value, struct xcgn_fragq);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_fragq SEC(".maps");

/* 0 -> room to copy a fragment into before it is held (1.5 KB does not
 * fit on the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xcgn_fragq);
} xcgn_fragbuf SEC(".maps");

/* 0 -> the daemon's word on the next-hop cache (struct xcgn_nhctl). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xcgn_nhctl);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_nhctl SEC(".maps");

/* (destination, arrival device) -> its next hop, as bpf_fib_lookup() gave
 * it (bpf/lib/nexthop.h). A cache: an LRU, not pinned (a reload starts
 * it empty), every entry good only for the generation it was made in. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XCGN_NH_MAX);
	__type(key, struct xcgn_nh_key);
	__type(value, struct xcgn_nh);
} xcgn_nh SEC(".maps");

/* 0 -> a mapping creation's working copies: the port search's
 * (nat4_port_probe()) and the subscriber being made (pool_sub_get()), off
 * the stack, which the inside program had filled to the verifier's 512
 * bytes (tests/bpf/test_verifier.c measures it). This CPU's own: a
 * creation runs start to end without leaving it (softirqs do not nest,
 * and BPF_PROG_RUN runs with bottom halves off in the kernels we run on:
 * the README's PCP section, "Kernel"). */
struct xcgn_probe {
	__u32 blocks[XCGN_SUB_BLOCKS_MAX];
	struct xcgn_tuple4 tmpl;
	struct xcgn_rev4 rv;
	struct xcgn_sub fresh;
	struct xcgn_map4 mv;	/* the mapping being inserted */
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xcgn_probe);
} xcgn_probe SEC(".maps");

/* subscriber -> until when each of its port spaces is known to be full
 * (xcgn_proto_slot()); the datapath writes when a search found nothing
 * and no block could be added, the collector clears when it frees a
 * port. Preallocated, one entry a subscriber at most. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XCGN_SUBS_MAX);
	__type(key, __be32);
	__type(value, struct xcgn_full);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_full SEC(".maps");

/* subscriber -> packets and bytes each way, per CPU; the datapath adds
 * while `link set accounting on`, the collector removes a subscriber's
 * entry when it releases it, `subscriber show` sums. Sized like xcgn_subs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, XCGN_SUBS_MAX);
	__type(key, __be32);
	__type(value, struct xcgn_acct);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_acct SEC(".maps");

/* subscriber tuple -> the PCP or NAT-PMP lifetime holding its mapping;
 * xcgn_pcp_ctl writes and ends, the daemon reads (and asks it to end). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XCGN_PCP_MAX);
	__type(key, struct xcgn_tuple4);
	__type(value, struct xcgn_pcp);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_pcp SEC(".maps");

/* Pool id -> the credit of its cap on new subscribers: nanoseconds of
 * refill earned, at most the pool's sub_refill_s; each new subscriber
 * spends sub_refill_s / sub_burst of it. Shared by every CPU (a lock: two
 * CPUs must not both spend the last credit). The programs' own, not
 * pinned. A bucket starts full when it is first used for a pool's cap
 * (@tag: pool_newsub_tag()), whatever the clock reads: after an attach, a
 * reload, a new pool in the slot or a changed cap. */
struct xcgn_newsub {
	struct bpf_spin_lock lock;
	__u32 tag;		/* the pool and cap it was filled for; 0: never */
	__u64 last_ns;		/* the newest reading it refilled at */
	__u64 credit_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XCGN_POOLS_MAX);
	__type(key, __u32);
	__type(value, struct xcgn_newsub);
} xcgn_newsub SEC(".maps");

/* 0 -> what attach set up; userspace only (the datapath uses rodata). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xcgn_link_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xcgn_link SEC(".maps");

#endif /* XCGN_MAPS_H */
