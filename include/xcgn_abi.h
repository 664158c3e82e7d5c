/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The ABI between the xcgn datapath (bpf/) and its control plane (user/).
 *
 * Compiled by clang -target bpf and by the host compiler alike; there is no
 * mirror copy anywhere. Fixed-width types only, every hole is a named _pad,
 * and every layout is locked by _Static_assert right under the struct.
 * Changing a pinned map's layout means bumping XCGN_ABI_VERSION, which is part
 * of the pin path, so an old pin is never reused with a new layout. */
#ifndef XCGN_ABI_H
#define XCGN_ABI_H

#include <linux/types.h>
#include <stddef.h>

#include "xcgn_counters.h"
#include "xcgn_limits.h"

/* The layout version: it names the pin directory (.../v3), and a change of
 * any pinned layout, enum value or map bumps it (tests/abi/ holds each
 * version's layout; `make test` fails when the layout moves alone). `xcgn
 * link reload` moves live state from the versions it knows (user/datapath/reload.c). */
#define XCGN_ABI_VERSION 9

/* The pinned maps, one list: the userspace struct of map handles (struct
 * xcgn_maps, one fd per entry), the table that opens them and the ABI
 * fingerprint are all made from it, and the ABI test checks that the BPF
 * object pins exactly these. X(field, SIZE) stands for the map
 * xcgn_<field>, declared with that name in bpf/lib/maps.h; SIZE is what
 * sets its entries at load (user/datapath/load.c): FIXED its definition,
 * MAPS and PCP link attach's max-mappings, SUBS and SUB_BLOCKS
 * max-subscribers, ADDRS and ADDR_BLOCKS max-addresses, ROUTES
 * max-routes. The maps left out are the programs' own (a devmap and
 * per-CPU scratch), made afresh at each load. */
#define XCGN_PINNED_MAPS(X)                                                     \
	X(abi, FIXED)     /* the layout stamp: version and fingerprint */       \
	X(map4, MAPS)     /* subscriber tuple -> public tuple */                \
	X(rev4, MAPS)     /* public tuple -> subscriber tuple */                \
	X(subs, SUBS)     /* subscriber -> address and blocks */                \
	X(peer4, MAPS)    /* (public tuple, remote) seen, for ADF */            \
	X(pools, FIXED)   /* pool id -> pool */                                 \
	X(paddr, ADDRS)   /* address index -> public address */                 \
	X(pubidx, ADDRS)  /* public address -> address index */                 \
	X(blocks, ADDRS)  /* address index -> block bitmap (mmapable) */        \
	X(blkts, ADDR_BLOCKS) /* block -> when it was taken */                  \
	X(blklog, SUB_BLOCKS) /* block -> holder whose allocation the log has */ \
	X(state, FIXED)   /* runtime state shared with userspace */             \
	X(stats, FIXED)   /* per-CPU counters */                                \
	X(events, FIXED)  /* ring buffer of block allocations, nothing else */  \
	X(refusals, FIXED) /* ring buffer of refusals */                        \
	X(link, FIXED)    /* what `xcgn link attach` set up */                  \
	X(dstat, FIXED)   /* what the daemon is doing */                        \
	X(bypass, FIXED)  /* destinations that leave untranslated */            \
	X(frag4, FIXED)   /* fragmented datagrams in flight */                  \
	X(fragh, FIXED)   /* datagrams with fragments held */                   \
	X(fragq, FIXED)   /* later fragments held for their first */            \
	X(full, SUBS)     /* subscribers known to have no free port */          \
	X(rpf4, ROUTES)   /* the FIB's local and main tables, for uRPF */       \
	X(rpfdev, FIXED)  /* uRPF mode and sysctls of the attached devices */   \
	X(acct, SUBS)     /* per-subscriber packets and bytes (when switched on) */ \
	X(pcp, PCP)       /* mappings subscribers asked for (PCP, NAT-PMP) */   \
	X(nhctl, FIXED)   /* the daemon's word on the next-hop cache */

/* Keys of xcgn_txport. */
#define XCGN_TX_INSIDE	0
#define XCGN_TX_OUTSIDE	1

/* Pin names of the programs' links under the pin root. */
#define XCGN_PIN_LINK_IN	"link_xdp_inside"
#define XCGN_PIN_LINK_OUT	"link_xdp_outside"
#define XCGN_PIN_ROOT		"/sys/fs/bpf/xcgn"
/* The running programs' PCP hands (xcgn_pcp_ctl), for the daemon. */
#define XCGN_PIN_PROG_PCP	"prog_pcp_ctl"

/* Key of the mapping tables: (address, port, protocol). In xcgn_map4 it is
 * the subscriber's side, in xcgn_rev4 the public side. For ICMP echo the
 * port is the echo identifier. */
struct xcgn_tuple4 {
	__be32 addr;
	__be16 port;
	__u8 proto;
	__u8 _pad;
};
_Static_assert(sizeof(struct xcgn_tuple4) == 8, "xcgn_tuple4 size is ABI");
_Static_assert(offsetof(struct xcgn_tuple4, proto) == 6, "xcgn_tuple4.proto moved");

/* Mapping flags. */
#define XCGN_MAPF_ADF		0x01	/* pool filters address-dependently */
#define XCGN_MAPF_PCP		0x02	/* held by a PCP or NAT-PMP lifetime (xcgn_pcp):
					 * the collector leaves it to that; on the
					 * reverse entry without XCGN_MAPF_ADF: an
					 * explicit MAP, open to every remote */

/* TCP segments seen on a mapping, for its timer (RFC 7857 §2.1 in the
 * spirit of RFC 6146): SYN both ways and no FIN pair or RST since means
 * established; anything else is transitory. An outbound SYN after a
 * FIN or RST starts over. */
#define XCGN_TCP_SYN_OUT	0x01
#define XCGN_TCP_SYN_IN		0x02
#define XCGN_TCP_FIN_OUT	0x04
#define XCGN_TCP_FIN_IN		0x08
#define XCGN_TCP_RST		0x10
#define XCGN_TCP_PEERS		0x20	/* the subscriber's peers on it are noted in
					 * xcgn_peer4: only theirs move its state
					 * (issue 10 item 2; unset on mappings made
					 * before layout 6, and when the note failed) */

#define XCGN_MAP_PEER_ONE	0x10000u
#define XCGN_MAP_PEERS(t)	((t) >> 16)
#define XCGN_MAP_PEERS_MAX	0xffffu

static inline int xcgn_tcp_established(__u32 t)
{
	return (t & (XCGN_TCP_SYN_OUT | XCGN_TCP_SYN_IN)) == (XCGN_TCP_SYN_OUT | XCGN_TCP_SYN_IN) &&
	       !(t & XCGN_TCP_RST) &&
	       (t & (XCGN_TCP_FIN_OUT | XCGN_TCP_FIN_IN)) != (XCGN_TCP_FIN_OUT | XCGN_TCP_FIN_IN);
}

/* Value of xcgn_map4: one endpoint-independent mapping. */
struct xcgn_map4 {
	__be32 paddr;		/* public address */
	__be16 pport;		/* public port or echo id */
	__u16 pool_id;
	__u64 created_ns;	/* bpf_ktime_get_coarse_ns() at creation */
	__u64 out_seen_ns;	/* last outbound packet, moved >= XCGN_TOUCH_NS */
	__u32 tcp;		/* bits 0-15: XCGN_TCP_* seen on this mapping
				 * (atomic or); bits 16-31: its remotes noted in
				 * xcgn_peer4 (atomic add of XCGN_MAP_PEER_ONE) */
	__u8 flags;		/* XCGN_MAPF_* */
	__u8 _pad0;
	__u16 _pad1;
};
_Static_assert(sizeof(struct xcgn_map4) == 32, "xcgn_map4 size is ABI");
_Static_assert(offsetof(struct xcgn_map4, out_seen_ns) == 16, "xcgn_map4.out_seen_ns moved");

/* Value of xcgn_rev4: where inbound traffic for a public tuple goes. */
struct xcgn_rev4 {
	__be32 saddr;		/* subscriber address */
	__be16 sport;		/* subscriber port or echo id */
	__u8 pool_id;
	__u8 flags;		/* XCGN_MAPF_*: inbound needs no pool lookup */
	__u64 in_seen_ns;	/* last inbound packet, moved >= XCGN_TOUCH_NS */
};
_Static_assert(sizeof(struct xcgn_rev4) == 16, "xcgn_rev4 size is ABI");
_Static_assert(offsetof(struct xcgn_rev4, in_seen_ns) == 8, "xcgn_rev4.in_seen_ns moved");

/* Value of xcgn_subs. All of a subscriber's blocks sit on one public
 * address (paired pooling, RFC 6888 REQ-2). A slot holds block index + 1,
 * 0 when free; the datapath fills a slot with a compare-and-swap, so two
 * CPUs never both think they added a block. */
struct xcgn_sub {
	__be32 paddr;
	__u32 addr_idx;
	__u16 pool_id;
	__u16 npeers;		/* its entries in xcgn_peer4, at most xcgn_cfg.sub_peers:
				 * moved atomically with pool_id as one 32-bit word
				 * (bpf/lib/pool.h, sub_peers_*) */
	__u32 nmaps;		/* mappings held (atomic); XCGN_SUB_DEAD once released */
	__u32 blocks[XCGN_SUB_BLOCKS_MAX];
	__u64 created_ns;
	__u64 rate_ns;		/* new-mapping rate limit: last refill */
	__u32 rate_tokens;	/* mappings it may still open now */
	__be32 addr;		/* the subscriber itself: a preallocated entry is
				 * reused at once after a delete, so a datapath
				 * holding a pointer checks whose it is now */
};
_Static_assert(sizeof(struct xcgn_sub) == 72, "xcgn_sub size is ABI");

/* Value of xcgn_full: per xcgn_proto_slot(), every port taken and no block
 * to add, known until then (or until the collector frees one). Spares a
 * subscriber at its limit a walk of all its ports on each new flow. */
struct xcgn_full {
	__u64 until_ns[3];
};
_Static_assert(sizeof(struct xcgn_full) == 24, "xcgn_full size is ABI");

/* The port spaces of a subscriber: TCP, UDP, ICMP identifiers. */
static inline __u32 xcgn_proto_slot(__u8 proto)
{
	return proto == 6 ? 0 : proto == 17 ? 1 : 2;
}
#define XCGN_FULL_HINT_NS	1000000000ULL	/* a full subscriber re-walks after 1 s */
_Static_assert(offsetof(struct xcgn_sub, blocks) == 16, "xcgn_sub.blocks moved");

/* Set in xcgn_sub.nmaps by the collector when it takes a subscriber with no
 * mapping out of service; a datapath that raced with it undoes its work. */
#define XCGN_SUB_DEAD		0x80000000u

/* Key of xcgn_peer4: a remote address a mapping has sent to. */
struct xcgn_peer4_key {
	struct xcgn_tuple4 pub;
	__be32 raddr;
	__u32 _pad;
};
_Static_assert(sizeof(struct xcgn_peer4_key) == 16, "xcgn_peer4_key size is ABI");
_Static_assert(offsetof(struct xcgn_peer4_key, raddr) == 8, "xcgn_peer4_key.raddr moved");

/* Key of xcgn_bypass (an LPM trie): destinations reached untranslated
 * (RFC 6888 REQ-6). */
struct xcgn_lpm4_key {
	__u32 prefixlen;
	__be32 addr;
};
_Static_assert(sizeof(struct xcgn_lpm4_key) == 8, "xcgn_lpm4_key size is ABI");

/* Key of xcgn_frag4: one fragmented datagram, as it arrived (RFC 791
 * identifies a datagram by source, destination, protocol and id). */
struct xcgn_frag4_key {
	__be32 saddr;
	__be32 daddr;
	__be16 id;
	__u8 proto;
	__u8 _pad;
};
_Static_assert(sizeof(struct xcgn_frag4_key) == 12, "xcgn_frag4_key size is ABI");

/* Value of xcgn_frag4: the address its first fragment was translated to. */
struct xcgn_frag4 {
	__be32 addr;
	__u32 _pad;
	__u64 seen_ns;
};
_Static_assert(sizeof(struct xcgn_frag4) == 16, "xcgn_frag4 size is ABI");

/* Value of xcgn_fragh: a datagram whose later fragments came first. */
struct xcgn_fragh {
	__u32 held;		/* slots taken in xcgn_fragq (atomic add) */
	__u32 _pad;
	__u64 seen_ns;
};
_Static_assert(sizeof(struct xcgn_fragh) == 16, "xcgn_fragh size is ABI");

/* Key of xcgn_fragq: one held fragment of a datagram. */
struct xcgn_fragq_key {
	struct xcgn_frag4_key dgram;
	__u32 slot;		/* 0 .. XCGN_FRAG_HELD_MAX - 1 */
};
_Static_assert(sizeof(struct xcgn_fragq_key) == 16, "xcgn_fragq_key size is ABI");

/* Value of xcgn_fragq: the held fragment from its IPv4 header on. */
struct xcgn_fragq {
	__u16 len;
	__u16 _pad;
	__u8 data[XCGN_FRAG_HOLD_BYTES];
};
_Static_assert(sizeof(struct xcgn_fragq) == 4 + XCGN_FRAG_HOLD_BYTES, "xcgn_fragq size is ABI");

/* Filtering (RFC 4787 REQ-8), per protocol (RFC 5382 REQ-3b): the bits
 * of xcgn_pool.filtering name the protocols whose mappings filter
 * address-dependently; the others filter endpoint-independently.
 * (Layout 8 and before: 1 meant every protocol.) */
enum xcgn_filtering {
	XCGN_FILTER_EIF = 0,		/* endpoint-independent, every protocol */
	XCGN_FILTER_ADF_UDP = 0x01,
	XCGN_FILTER_ADF_TCP = 0x02,
	XCGN_FILTER_ADF_ICMP = 0x04,
	XCGN_FILTER_ADF = 0x07,		/* address-dependent, every protocol */
};
/* The bit of xcgn_pool.filtering that is @proto's (TCP, UDP, else ICMP). */
static inline __u8 xcgn_filter_bit(__u8 proto)
{
	return proto == 6 ? XCGN_FILTER_ADF_TCP : proto == 17 ? XCGN_FILTER_ADF_UDP
							: XCGN_FILTER_ADF_ICMP;
}

#define XCGN_POOLF_ACTIVE	0x01
#define XCGN_POOLF_DETERMINISTIC 0x02	/* RFC 7422: block = f(subscriber) */
#define XCGN_POOLF_PARITY	0x04	/* RFC 4787 REQ-4: public port keeps the parity */

/* Mapping timers, seconds (RFC 4787 REQ-5, RFC 5382 REQ-5, RFC 5508 REQ-2). */
enum xcgn_timer {
	XCGN_TIMER_UDP = 0,
	XCGN_TIMER_TCP_EST = 1,
	XCGN_TIMER_TCP_TRANS = 2,
	XCGN_TIMER_ICMP = 3,
	XCGN_TIMER_MAX
};

/* Value of xcgn_pools: one prefix of public addresses. */
struct xcgn_pool {
	__be32 prefix;
	__u8 plen;
	__u8 filtering;		/* XCGN_FILTER_ADF_* bits */
	__u8 flags;		/* XCGN_POOLF_* */
	__u8 det_plen;		/* deterministic: subscriber prefix length */
	__u16 port_lo;		/* host order, inclusive */
	__u16 port_hi;
	__u16 block_size;
	__u16 nblocks;		/* blocks per address */
	__u16 max_blocks;	/* blocks per subscriber (deterministic: exactly) */
	__u16 sub_refill_s;	/* seconds to earn sub_burst back (issue 10 item 1) */
	__u32 addr_first;	/* first index in xcgn_paddr */
	__u32 naddrs;
	__be32 det_prefix;	/* deterministic: the subscribers it serves */
	__u32 timeout[XCGN_TIMER_MAX];	/* seconds, enum xcgn_timer */
	__u32 new_rate;		/* new mappings a second per subscriber, 0 = no cap */
	__u32 sub_burst;	/* new subscribers at once, 0 = no cap: the pool's
				 * share an inside host spoofing sources can take */
	__u32 sub_maps;		/* mappings one subscriber may hold, all protocols
				 * together, 0 = no cap (issue 10 item 5) */
	__u32 map_peers;	/* remotes one mapping may have in xcgn_peer4,
				 * 0 = no cap (issue 10 item 5) */
};
_Static_assert(sizeof(struct xcgn_pool) == 64, "xcgn_pool size is ABI");
_Static_assert(offsetof(struct xcgn_pool, addr_first) == 20, "xcgn_pool.addr_first moved");
_Static_assert(offsetof(struct xcgn_pool, timeout) == 32, "xcgn_pool.timeout moved");

/* Input and output of the collector's xcgn_gc_expire program (run with
 * BPF_PROG_RUN): expire one mapping if it is still as idle as the
 * collector saw it. */
struct xcgn_gc_req {
	struct xcgn_tuple4 key;		/* subscriber side */
	__u64 out_seen_ns;		/* as read by the collector */
	__u64 in_seen_ns;
	__u32 result;			/* XCGN_GC_* */
	__u32 nmaps_left;		/* the subscriber's mappings after this one */
};
_Static_assert(sizeof(struct xcgn_gc_req) == 32, "xcgn_gc_req size is ABI");

/* One mapping for xcgn_gc_expire_batch: the collector's pass hands the
 * kernel up to XCGN_GC_WORK_MAX at once in the program's own global array
 * (gc_work, memory the daemon writes directly), one BPF_PROG_RUN for all
 * of them instead of one each. */
struct xcgn_gc_work {
	struct xcgn_tuple4 key;		/* subscriber side */
	__u64 out_seen_ns;		/* as read by the collector */
	__u64 timeout_ns;		/* its timer: TCP inbound within it keeps it */
};
#define XCGN_GC_WORK_MAX	1024

/* Input and output of xcgn_gc_release: take an idle subscriber out. */
struct xcgn_gc_sub {
	__be32 addr;
	__u32 result;			/* XCGN_GC_* */
	struct xcgn_sub sub;		/* out: what it held */
};

_Static_assert(sizeof(struct xcgn_gc_sub) == 80, "xcgn_gc_sub size is ABI");

/* Input and output of xcgn_gc_peer_del: a remote the collector found
 * idle or orphaned, removed with its mapping's count of remotes. */
struct xcgn_gc_peer {
	struct xcgn_peer4_key key;
	__u32 result;			/* XCGN_GC_* */
	__u32 _pad;
};
_Static_assert(sizeof(struct xcgn_gc_peer) == 24, "xcgn_gc_peer size is ABI");

#define XCGN_GC_EXPIRED		1	/* removed */
#define XCGN_GC_REFRESHED	2	/* used since it was read: kept */
#define XCGN_GC_GONE		3	/* no such entry (any more) */
#define XCGN_GC_BUSY		4	/* subscriber has mappings again: kept */

/* Value of xcgn_pcp, keyed by the subscriber tuple (as xcgn_map4): a
 * mapping a subscriber asked for (RFC 6887 PCP, RFC 6886 NAT-PMP). Written
 * by the xcgn_pcp_ctl program for the daemon; ended by it too, when the
 * lifetime runs out or the client deletes it. */
struct xcgn_pcp {
	__u64 expires_ns;	/* the datapath's clock (CLOCK_MONOTONIC) */
	__u8 nonce[12];		/* the MAP or PEER request's; zero for NAT-PMP */
	__be32 client;		/* who asked: the subscriber, or with THIRD_PARTY
				 * the host that spoke for it */
	__be32 peer;		/* PEER: the remote address; else 0 */
	__be16 peer_port;
	__u8 opcode;		/* XCGN_PCP_OP_MAP, _PEER, or XCGN_PCP_NATPMP */
	__u8 flags;		/* XCGN_PCPF_* */
	__u32 lifetime_s;	/* as granted */
	__be32 paddr;		/* the public endpoint it holds (the NAT log's */
	__be16 pport;		/* pcp_end names it even once the mapping is gone) */
	__u16 _pad;
};
_Static_assert(sizeof(struct xcgn_pcp) == 48, "xcgn_pcp size is ABI");
_Static_assert(offsetof(struct xcgn_pcp, client) == 20, "xcgn_pcp.client moved");

/* Value of xcgn_nhctl (one entry): the daemon's word on the next-hop
 * cache (issue 13 item 1). The established path takes a packet's next hop
 * (device, MACs, MTU) from a per-destination cache instead of
 * bpf_fib_lookup() only while the daemon vouches for it: its lease runs
 * (it renews it every few tens of ms and stops when it stops), the FIB is
 * one a destination alone decides (XCGN_NHF_ON: no policy rules beyond
 * the default three, no multipath route), and an entry carries the
 * current generation, which the daemon moves on every route, rule,
 * address, link, neighbour or netconf change. Otherwise: the FIB, as
 * before. The cache itself (xcgn_nh) is not pinned: a reload starts it
 * empty. */
struct xcgn_nhctl {
	__u64 until_ns;		/* the lease: CLOCK_MONOTONIC, as bpf_ktime_get_coarse_ns() */
	__u32 gen;		/* moved on every change the daemon hears of */
	__u32 flags;		/* XCGN_NHF_* */
};
_Static_assert(sizeof(struct xcgn_nhctl) == 16, "xcgn_nhctl size is ABI");

/* Key and value of xcgn_nh, the cache itself (not pinned: no ABI, but
 * the tests and the bench read it). */
struct xcgn_nh_key {
	__be32 dst;
	__u32 ifin;		/* the device the packet arrived on */
};

struct xcgn_nh {
	__u32 gen;		/* xcgn_nhctl.gen when it was made */
	__u32 ifindex;		/* the device it leaves by */
	__u16 mtu;		/* of the route: longer packets take the FIB's answer */
	__u8 smac[6];
	__u8 dmac[6];
	__u16 _pad;
	struct xcgn_nh_key key;	/* its own key again: an LRU entry's storage may be
				 * taken for another while a CPU reads it */
};

#define XCGN_NH_MAX 65536

#define XCGN_NHF_ON	0x01	/* a destination alone decides the next hop */
#define XCGN_NH_LEASE_NS	(100ULL * 1000000ULL)	/* the daemon's lease, renewed well within */

#define XCGN_PCP_OP_ANNOUNCE	0	/* RFC 6887 opcodes */
#define XCGN_PCP_OP_MAP		1
#define XCGN_PCP_OP_PEER	2
#define XCGN_PCP_OP_FORWARD	3	/* `xcgn forward add`: the operator's, no lifetime */
#define XCGN_PCP_NATPMP		0x80	/* made by a NAT-PMP request (RFC 6886) */

#define XCGN_PCPF_MADE		0x01	/* the request made the mapping: it ends with
					 * the lifetime (else the mapping carried
					 * traffic before and goes back to its timers) */
#define XCGN_PCPF_LOGGED	0x02	/* a forward the daemon has written to the log */
#define XCGN_PCP_NEVER		(~0ULL)	/* expires_ns of a forward */

/* Input and output of xcgn_pcp_ctl (run with BPF_PROG_RUN, the request
 * as its packet): the datapath's own mapping creation on a subscriber's
 * request, and the end of such a mapping. */
struct xcgn_pcp_req {
	struct xcgn_tuple4 in;	/* the subscriber's tuple */
	__u16 want;		/* public port it would like, host order; 0: none */
	__u8 op;		/* XCGN_PCP_CTL_* */
	__u8 _pad;
	__u32 result;		/* out: 0 or XCGN_DROP_* */
	struct xcgn_pcp ent;	/* in: the lifetime to record; out: as recorded,
				 * its paddr and pport the public tuple */
};
_Static_assert(sizeof(struct xcgn_pcp_req) == 64, "xcgn_pcp_req size is ABI");

#define XCGN_PCP_CTL_MAP	1	/* make or find the mapping, hold it: MAP */
#define XCGN_PCP_CTL_PEER	2	/* the same, its filtering kept, the peer noted */
#define XCGN_PCP_CTL_END	3	/* lifetime over or deleted: made ones go,
					 * others return to their own timers */
#define XCGN_PCP_CTL_ADDR	4	/* the subscriber's public address (made
					 * as its first packet would make it) */
#define XCGN_PCP_CTL_EXPIRE	5	/* lifetime over: as END, but a made mapping
					 * that carried traffic goes back to its
					 * timers (END: deleted by its client) */
#define XCGN_PCP_CTL_FORWARD	6	/* `forward add`: public port want on address
					 * ent.paddr, its block taken for the
					 * subscriber when free, held for ever */

/* What a FORWARD may answer besides XCGN_DROP_* (xcgn_pcp_req.result). */
enum xcgn_fwd_result {
	XCGN_FWD_NOT_POOL = 100,	/* the address is in no active pool */
	XCGN_FWD_PORT_RANGE,		/* the port is outside the pool's range */
	XCGN_FWD_DRAINED,		/* the address takes no new subscriber */
	XCGN_FWD_OTHER_ADDR,		/* the subscriber is on another address
					 * (ent.paddr says which) */
	XCGN_FWD_BLOCK_TAKEN,		/* the port's block is another subscriber's */
	XCGN_FWD_NO_SLOT,		/* the subscriber holds max-blocks already */
	XCGN_FWD_NOT_ITS_BLOCK,		/* deterministic: not among its blocks */
	XCGN_FWD_PORT_TAKEN,		/* the public port, or the subscriber's,
					 * is another mapping's */
	XCGN_FWD_HELD,			/* (MAP, PEER) the port is the operator's
					 * forward */
};

/* Value of xcgn_paddr and of xcgn_pubidx (keyed by the address). */
struct xcgn_paddr {
	__be32 addr;		/* 0: slot unused */
	__u32 idx;		/* index in xcgn_paddr and xcgn_blocks */
	__u16 pool_id;
	__u16 flags;		/* XCGN_PADDRF_* (layout 3: always 0) */
};
/* No new subscriber lands on the address (`xcgn pool drain`); those on it
 * keep it, and their further blocks. */
#define XCGN_PADDRF_DRAINED	0x0001
/* Not the pool's (`exclude`): every block taken, not in xcgn_pubidx. */
#define XCGN_PADDRF_EXCLUDED	0x0002
_Static_assert(sizeof(struct xcgn_paddr) == 12, "xcgn_paddr size is ABI");

/* Value of xcgn_blocks: bit b set = block b of the address is taken (or
 * does not exist: userspace sets the bits past nblocks, so the datapath
 * never has to know the bound). Claimed with atomic fetch-or. */
struct xcgn_blkmap {
	__u64 w[XCGN_BLK_WORDS];
};
_Static_assert(sizeof(struct xcgn_blkmap) == 128, "xcgn_blkmap size is ABI");

/* Value of xcgn_state (one entry): what changes at runtime. Every program
 * reads it once a packet, so the runtime switches live here too. */
struct xcgn_state {
	__u32 naddrs_hwm;	/* highest used address index + 1 */
	__u32 nbypass;		/* bypass prefixes: 0 spares the trie lookup */
	__u32 paddr_min;	/* lowest and highest pool address, host order: */
	__u32 paddr_max;	/* outside them no lookup is needed (min > max: none) */
	__u32 switches;		/* XCGN_SW_*, `xcgn link set` */
	__u8 refusal_icmp;	/* enum xcgn_refusal_icmp */
	__u8 _pad;
	__u16 mss_clamp;	/* the largest TCP MSS a SYN may carry, 0: off */
};
_Static_assert(sizeof(struct xcgn_state) == 24, "xcgn_state size is ABI");
_Static_assert(offsetof(struct xcgn_state, mss_clamp) == 22, "xcgn_state.mss_clamp moved");
_Static_assert(offsetof(struct xcgn_state, switches) == 16, "xcgn_state.switches moved");

/* Runtime switches, effective with the next packet. */
#define XCGN_SW_BYPASS_ALL	0x01	/* xcgn steps aside: every packet goes to the
					 * kernel as it came, tc lets all through */
#define XCGN_SW_FILTER_EIF	0x02	/* endpoint-independent filtering for every
					 * mapping, whatever its pool says */
#define XCGN_SW_REFUSAL_LOG_OFF	0x04	/* no refusal events (allocations and
					 * releases are always logged) */
#define XCGN_SW_ACCOUNTING	0x08	/* per-subscriber packets and bytes */
#define XCGN_SW_MSS_AUTO	0x10	/* mss_clamp came from the devices' MTU */
#define XCGN_SW_ROUTE_SUBS	0x20	/* the outside may reach subscribers directly
					 * (routed subscribers): no not_translated_in */

/* Value of xcgn_acct (per CPU), keyed by subscriber: what crossed the
 * fast path each way while accounting was on. */
struct xcgn_acct {
	__u64 pkts_out, bytes_out;	/* subscriber to internet */
	__u64 pkts_in, bytes_in;
};
_Static_assert(sizeof(struct xcgn_acct) == 32, "xcgn_acct size is ABI");

/* Load-time constants, in the programs' rodata. */
struct xcgn_cfg {
	__u32 inside_ifindex;
	__u32 outside_ifindex;
	__be32 sub_prefix;	/* subscriber range, network order */
	__be32 sub_mask;
	__u32 log_level;
	__be32 inside_addr;	/* source of ICMP xcgn sends inside; 0: none sent */
	__u32 sub_peers;	/* filtering-table entries one subscriber may hold, 0 = no cap */
};
_Static_assert(sizeof(struct xcgn_cfg) == 28, "xcgn_cfg size");

/* What a subscriber refused a new mapping hears: RFC 5508 REQ-8 asks for
 * "administratively prohibited", RFC 6888 REQ-11b for "host unreachable". */
enum xcgn_refusal_icmp {
	XCGN_REFUSAL_PROHIBITED = 0,	/* type 3 code 13 (the default) */
	XCGN_REFUSAL_HOST_UNREACH = 1,	/* type 3 code 1 */
	XCGN_REFUSAL_SILENT = 2,	/* nothing: only the drop */
	XCGN_REFUSAL_MAX
};

enum xcgn_xdp_mode {
	XCGN_XDP_NATIVE = 0,
	XCGN_XDP_GENERIC = 1,
};

#define XCGN_LINKF_QDISC_CREATED 0x01	/* detach removes the outside's clsact qdisc */
#define XCGN_LINKF_QDISC_IN_CREATED 0x02	/* ... and the inside's */

/* Value of xcgn_link (one entry): what attach did, so that detach can undo
 * exactly that and later commands know the configuration. Userspace only. */
struct xcgn_link_info {
	__u32 inside_ifindex;
	__u32 outside_ifindex;
	__be32 sub_prefix;
	__u8 sub_plen;
	__u8 xdp_mode;		/* enum xcgn_xdp_mode */
	__u8 flags;		/* XCGN_LINKF_* */
	__u8 refusal_icmp;	/* enum xcgn_refusal_icmp */
	__u64 attached_unix;	/* wall clock, seconds */
	__u64 boot_offset_ns;	/* CLOCK_REALTIME - CLOCK_MONOTONIC at attach */
	__u32 max_maps;
	__u32 max_subs;
};
_Static_assert(sizeof(struct xcgn_link_info) == 40, "xcgn_link_info size is ABI");
_Static_assert(offsetof(struct xcgn_link_info, attached_unix) == 16, "xcgn_link_info moved");

/* Counters of what happened, by slot. */
enum xcgn_stat {
#define X(e, v, name, help) XCGN_STAT_##e = v,
	XCGN_STAT_LIST(X)
#undef X
	XCGN_STAT_MAX
};

/* Why a packet was dropped; the index of the per-CPU drop counters. */
enum xcgn_drop {
#define X(e, v, name, help) XCGN_DROP_##e = v,
	XCGN_DROP_LIST(X)
#undef X
	XCGN_DROP_MAX
};

/* Value of xcgn_stats (one per-CPU entry). */
struct xcgn_stats {
	__u64 stat[XCGN_STAT_MAX];
	__u64 drop[XCGN_DROP_MAX];
};
_Static_assert(XCGN_STAT_MAX == 35 && XCGN_DROP_MAX == 28, "counters are appended only");
_Static_assert(sizeof(struct xcgn_stats) == 504, "xcgn_stats size is ABI");

/* Reverse-path validation (RFC 3704), with the numbers of the kernel's
 * rp_filter sysctl. Values of xcgn_rpf_dev.mode. */
enum xcgn_rpf_mode {
	XCGN_RPF_OFF = 0,
	XCGN_RPF_STRICT = 1,	/* the best route back leaves through the arrival device */
	XCGN_RPF_LOOSE = 2,	/* there is a route back, through any device */
	XCGN_RPF_MODE_MAX
};

/* Keys of xcgn_rpfdev: the attached devices. */
#define XCGN_RPF_DEV_INSIDE	XCGN_TX_INSIDE
#define XCGN_RPF_DEV_OUTSIDE	XCGN_TX_OUTSIDE

/* Flags of xcgn_rpf_dev: the device's sysctls as the kernel combines them
 * (accept_local and route_localnet: "all" or the device), and facts. */
#define XCGN_RPFD_ACCEPT_LOCAL	0x01	/* sources that are local addresses allowed */
#define XCGN_RPFD_ROUTE_LOCALNET 0x02	/* 127.0.0.0/8 is no martian */
#define XCGN_RPFD_NO_ADDR	0x04	/* the device has no IPv4 address */
#define XCGN_RPFD_LOOPBACK	0x08	/* the device is lo */
#define XCGN_RPFD_FULL_CHECK	0x10	/* custom local routes or policy rules: no
					 * shortcut when the mode is off */
#define XCGN_RPFD_MERGED	0x20	/* no custom rules: the kernel merges the
					 * local and main tables into one trie */
#define XCGN_RPFD_OUTSIDE	0x40	/* xcgn's outside: subscriber and pool
					 * sources are spoofed, whatever the FIB says */
#define XCGN_RPFD_VALID		0x80	/* filled by userspace; until then: off */
#define XCGN_RPFD_NO_FIB	0x100	/* the tables could not follow the FIB: its
					 * part of the check is suspended (martian
					 * and spoof rules still apply) */
#define XCGN_RPFD_DEFAULT_TB	0x200	/* table default (253) has routes: look
					 * there when main has none */

/* Value of xcgn_rpfdev, and the device part of an explain query. */
struct xcgn_rpf_dev {
	__u32 ifindex;
	__u8 mode;		/* enum xcgn_rpf_mode */
	__u8 _pad;
	__u16 flags;		/* XCGN_RPFD_* */
};
_Static_assert(sizeof(struct xcgn_rpf_dev) == 8, "xcgn_rpf_dev size is ABI");

/* The slots of xcgn_rpf4, leading the key: local, main and default
 * apart (with policy rules), or local and main merged as the kernel
 * merges them (without). Both layouts can live side by side while the
 * daemon moves from one to the other. */
#define XCGN_RPF_TB_LOCAL	0
#define XCGN_RPF_TB_MAIN	1
#define XCGN_RPF_TB_DEFAULT	2
#define XCGN_RPF_TB_MERGED	3

/* Key of xcgn_rpf4 (an LPM trie): prefixlen is 32 + the route's length,
 * so the table is matched whole and the address by the route's length. */
struct xcgn_rpf_key {
	__u32 prefixlen;
	__be32 table;		/* XCGN_RPF_TB_*, network order: it leads */
	__be32 addr;
};
_Static_assert(sizeof(struct xcgn_rpf_key) == 12, "xcgn_rpf_key size is ABI");

#define XCGN_RPF_NH_MAX		8	/* nexthop devices kept per route */
#define XCGN_RPFR_NH_MORE	0x01	/* more nexthops than fit: lint says so */

/* Value of xcgn_rpf4: the route the kernel would pick for that prefix in
 * that table (lowest metric), with what the reverse-path check needs. */
struct xcgn_rpf_route {
	__be32 prefix;
	__u8 plen;
	__u8 type;		/* RTN_* */
	__u8 nnh;		/* devices in oif[] */
	__u8 flags;		/* XCGN_RPFR_* */
	__u32 table;		/* the kernel's table id (254 main, 255 local) */
	__u32 metric;
	__u32 oif[XCGN_RPF_NH_MAX];
};
_Static_assert(sizeof(struct xcgn_rpf_route) == 48, "xcgn_rpf_route size is ABI");

/* Which rule decided, for `xcgn rpf explain` (enum xcgn_rpf_why). */
enum xcgn_rpf_why {
	XCGN_RPFW_NONE = 0,
	XCGN_RPFW_MARTIAN_BCAST = 1,	/* multicast or limited-broadcast source */
	XCGN_RPFW_MARTIAN_ZERONET = 2,	/* 0.0.0.0/8 source */
	XCGN_RPFW_MARTIAN_LOOPBACK = 3,	/* 127.0.0.0/8 source, route_localnet off */
	XCGN_RPFW_SPOOF_SUBSCRIBER = 4,	/* outside: a subscriber address */
	XCGN_RPFW_SPOOF_POOL = 5,		/* outside: a pool address */
	XCGN_RPFW_OFF_ACCEPT_LOCAL = 6,	/* mode off, accept_local: no lookup */
	XCGN_RPFW_OFF_LOCAL = 7,		/* mode off: the source is a local address */
	XCGN_RPFW_OFF = 8,			/* mode off: not a local address */
	XCGN_RPFW_NO_ROUTE = 9,		/* no route back (or unreachable, blackhole,
					 * prohibit) */
	XCGN_RPFW_NOT_UNICAST = 10,		/* the route back is broadcast, multicast, ... */
	XCGN_RPFW_LOCAL_REFUSED = 11,	/* the route back is local, accept_local off */
	XCGN_RPFW_DEV_MATCH = 12,		/* the route back leaves through this device */
	XCGN_RPFW_LOOPBACK_LOCAL = 13,	/* a local route, arriving on lo */
	XCGN_RPFW_NO_ADDR = 14,		/* route back elsewhere, device without address */
	XCGN_RPFW_OTHER_DEV = 15,		/* strict: the route back leaves elsewhere */
	XCGN_RPFW_ROUTED = 16,		/* loose (or off, checked in full): there is
					 * a route back */
	XCGN_RPFW_MCAST_ZERONET = 17,	/* 0.0.0.0 to link-local multicast (IGMP) */
	XCGN_RPFW_SUSPENDED = 18,		/* the tables lag the FIB: not checked */
	XCGN_RPFW_MAX
};

/* Context of xcgn_rpf_explain (BPF_PROG_RUN): the datapath's check on one
 * source, with the rule that decided and the route it matched. */
struct xcgn_rpf_query {
	struct xcgn_rpf_dev dev;	/* in */
	__be32 saddr;			/* in */
	__be32 sub_prefix;		/* in: the subscriber range (outside rule) */
	__be32 sub_mask;
	__be32 daddr;			/* in: the destination (martian rules) */
	__u32 verdict;			/* out: XCGN_DROP_NONE or the drop reason */
	__u32 why;			/* out: enum xcgn_rpf_why */
	__u32 found;			/* out: 1 when @route holds the route matched */
	__u32 _pad;
	struct xcgn_rpf_route route;	/* out */
};
_Static_assert(sizeof(struct xcgn_rpf_query) == 88, "xcgn_rpf_query size is ABI");

enum xcgn_event_type {
	XCGN_EV_BLOCK_ALLOC = 0,		/* a subscriber got a block */
	XCGN_EV_REFUSED = 1,		/* a new flow was refused; reason = enum xcgn_drop */
	XCGN_EV_MAX
};

/* A record in xcgn_events. */
struct xcgn_event {
	__u64 ts_ns;			/* bpf_ktime_get_coarse_ns() */
	__be32 sub;
	__be32 paddr;
	__u16 port_lo;			/* host order, inclusive */
	__u16 port_hi;
	__u8 type;			/* enum xcgn_event_type */
	__u8 reason;			/* enum xcgn_drop */
	__u16 _pad;
};
_Static_assert(sizeof(struct xcgn_event) == 24, "xcgn_event size is ABI");

/* Value of xcgn_abi (one entry), written at attach and by `xcgn link
 * reload`. This one struct never changes, whatever the version: it is how
 * a binary tells a layout it cannot read from one it can. */
struct xcgn_abi_stamp {
	char magic[8];		/* XCGN_ABI_MAGIC, no terminating NUL */
	__u32 version;		/* XCGN_ABI_VERSION of the binary that pinned */
	__u32 _pad;
	__u64 fingerprint;	/* of the layout (user/datapath/abi.c) */
	char build[32];		/* that binary's version string */
};
#define XCGN_ABI_MAGIC		"xcgn-abi"
_Static_assert(sizeof(struct xcgn_abi_stamp) == 56, "xcgn_abi_stamp never changes");
_Static_assert(offsetof(struct xcgn_abi_stamp, fingerprint) == 16, "xcgn_abi_stamp never changes");

/* Value of xcgn_dstat (one entry): the running daemon says what it does,
 * for `xcgn link show`. Whether one runs is told by its lock, not here. */
struct xcgn_dstat {
	__u32 pid;
	__u32 sync_ms;		/* fdatasync of the NAT log at most this often */
	__u64 started_unix;	/* wall clock, seconds */
	__u64 gc_end_unix_ms;	/* end of the last full GC pass */
	__u64 gc_wall_us;	/* its duration */
	__u64 written;		/* NAT log records written */
	__u64 recovered;	/* of those, made up from the tables by reconcile */
	__u64 lost;		/* records that could not be kept (queue full) */
	__u64 write_errors;	/* failed writes (each retried from the queue) */
	__u64 queued;		/* records waiting to be written now */
	__s32 last_errno;	/* of the last failed write, 0 when none */
	__u32 _pad;
	char log_path[128];	/* "" when logging to syslog only */
};
_Static_assert(sizeof(struct xcgn_dstat) == 208, "xcgn_dstat size is ABI");

/* Key of xcgn_blkts and xcgn_blklog: one block of one public address. */
static inline __u32 xcgn_blk_key(__u32 addr_idx, __u32 blk)
{
	return addr_idx * XCGN_BLKS_PER_ADDR_MAX + blk;
}

/* Every enum that crosses the pins, and the ring buffers' record, as one
 * type, so that the BPF object's BTF carries them and the fingerprint
 * covers them (bpf/lib/maps.h keeps one constant of it). */
struct xcgn_abi_anchor {
	enum xcgn_filtering filtering;
	enum xcgn_timer timer;
	enum xcgn_refusal_icmp refusal_icmp;
	enum xcgn_xdp_mode xdp_mode;
	enum xcgn_stat stat;
	enum xcgn_drop drop;
	enum xcgn_rpf_mode rpf_mode;
	enum xcgn_rpf_why rpf_why;
	enum xcgn_event_type event_type;
	enum xcgn_fwd_result fwd_result;
	struct xcgn_event event;
};

#endif /* XCGN_ABI_H */
