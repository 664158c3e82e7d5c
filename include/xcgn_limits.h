/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Sizes and bounds shared by the datapath and the control plane.
 * Map sizes here are defaults; the loader may resize a map between open and
 * load (bpf_map__set_max_entries), never by recompiling. */
#ifndef XCGN_LIMITS_H
#define XCGN_LIMITS_H

/* Preallocated tables (resizable at `xcgn link attach`). */
#define XCGN_SUBS_MAX		16384	/* subscribers holding at least one block */
#define XCGN_MAPS_MAX		262144	/* mappings; the reverse table has the same size */
#define XCGN_PEERS_MAX		262144	/* (mapping, remote) pairs for address-dependent filtering */

/* Pools. */
#define XCGN_POOLS_MAX		64	/* pools (prefixes); layouts before 4 pinned 16 */
#define XCGN_PADDRS_MAX		65536	/* public addresses over all pools: the most
					 * `max-addresses` may be */
#define XCGN_ADDRS_DEF		4096	/* the default of `max-addresses` */
#define XCGN_BLK_WORDS		16	/* 64-bit words in one address's block bitmap */
#define XCGN_BLKS_PER_ADDR_MAX	(XCGN_BLK_WORDS * 64)	/* 1024 blocks per address */
#define XCGN_BLOCK_SIZE_MIN	64	/* 65536 / XCGN_BLKS_PER_ADDR_MAX */
#define XCGN_SUB_BLOCKS_MAX	8	/* blocks one subscriber may hold (max-blocks) */
#define XCGN_PCP_MAX		65536	/* mappings made by PCP or NAT-PMP: the table's
					 * size in the object; attach sizes it
					 * (xcgn_pcp_size) */
#define XCGN_PCP_MIN		1024
#define XCGN_BYPASS_MAX		1024	/* bypass prefixes */
#define XCGN_FRAGS_MAX		16384	/* fragmented datagrams in flight */
#define XCGN_RPF_ROUTES_MAX	65536	/* routes of the local and main tables (uRPF) */
#define XCGN_FRAGQ_MAX		1024	/* later fragments held for their first (LRU) */
#define XCGN_FRAG_HELD_MAX	8	/* per datagram: 8 x 1480 bytes covers 12 KB */
#define XCGN_FRAG_HOLD_BYTES	1500	/* a held fragment, IPv4 header included */
#define XCGN_FRAG_NS		2000000000ULL	/* a datagram's fragments follow within 2 s */
#define XCGN_SUB_FRAGS		(XCGN_FRAGS_MAX / 64)	/* one subscriber's new fragmented
							 * datagrams a XCGN_FRAG_NS */

/* Defaults of `xcgn pool add`. */
#define XCGN_DEF_PORT_LO	1024
#define XCGN_DEF_PORT_HI	65535
#define XCGN_DEF_BLOCK_SIZE	512
#define XCGN_DEF_MAX_BLOCKS	4
/* The cap on new subscribers a pool takes (issue 10 item 1): by default
 * three quarters of its blocks at once (none for a pool of at most 256
 * blocks; pool_plan), earned back over 420 s, the UDP timer and the
 * quarantine: what a flood of spoofed subscribers holds. */
#define XCGN_SUB_BURST_AUTO	0xffffffffu
/* pool add warns when fewer subscribers than this, each at its
 * sub-mappings cap, fill the mapping table. */
#define XCGN_FILL_WARN_SUBS	32
#define XCGN_SUB_MAPS_AUTO	0xffffffffu	/* max-blocks x block-size */
#define XCGN_DEF_MAP_PEERS	1024		/* remotes of one mapping (filtering table) */
#define XCGN_SUB_BURST_FLOOR	256
#define XCGN_DEF_SUB_REFILL	420

/* Mapping timers, seconds: defaults and the RFC minimums below which
 * `xcgn pool add` refuses to go. */
#define XCGN_SUB_PEERS_MIN	256	/* a subscriber's filtering entries, at the least */
#define XCGN_DEF_UDP_TIMEOUT	300	/* RFC 4787 REQ-5: >= 120, 300 recommended */
#define XCGN_MIN_UDP_TIMEOUT	120
#define XCGN_DEF_TCP_EST	7440	/* RFC 5382 REQ-5: 2 h 4 min */
#define XCGN_MIN_TCP_EST	7440
#define XCGN_DEF_TCP_TRANS	240	/* RFC 5382 REQ-5: 4 min */
#define XCGN_MIN_TCP_TRANS	240
#define XCGN_DEF_ICMP_TIMEOUT	60	/* RFC 5508 REQ-2: >= 60 */
#define XCGN_MIN_ICMP_TIMEOUT	60
#define XCGN_DEF_QUARANTINE	120	/* RFC 6888 REQ-8: a freed port rests 120 s */

/* Bounded loops in the datapath. */
#define XCGN_ADDR_PROBES	16	/* pool addresses tried for a new subscriber's first block */
#define XCGN_BLK_CLAIM_TRIES	4	/* bitmap claims retried after losing a race */

/* Last-seen timestamps are written only when they moved by this much. */
#define XCGN_TOUCH_NS		1000000000ULL

#define XCGN_EVENTS_BYTES	(256 * 1024)	/* ring buffer of allocation events */
#define XCGN_REFUSALS_BYTES	(64 * 1024)	/* ring buffer of refusal events */
#define XCGN_REFUSAL_EV_NS	1000000ULL	/* at most one refusal event per ms per CPU */
#define XCGN_ICMP_ERR_NS	10000000ULL	/* at most 100 ICMP errors a second per CPU */

#endif /* XCGN_LIMITS_H */
