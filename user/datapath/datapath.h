/* SPDX-License-Identifier: GPL-2.0 */
/* user/datapath: the pinned state of this namespace's instance and the
 * programs over it: bpffs and the lock, the maps, load, attach, reload
 * and migration, the layout as an ABI, the invariants, pools, the link's
 * live options, the routes xcgn announces and the reverse-path tables. */
#ifndef XCGN_DATAPATH_H
#define XCGN_DATAPATH_H

#include "lib/lib.h"
#include "lib/options.h"
#include "net/net.h"
#include "net/rpf.h"

/* ---- announce.c: the routes that say what this node offers ------------- */
/* The routing protocol number of xcgn's routes (dist/rt_protos.d names it
 * "xcgn" for ip-route(8)). */
#define XCGN_RTPROT 244
struct xcgn_maps;
/* The table xcgn keeps its routes in, from the kernel: 0 when none. */
int announce_table(uint32_t *table);
/* Make xcgn's routes exactly: in @table (0: none at all), a blackhole
 * route for each active pool of @m (NULL: none) and the default route.
 * 0 or -errno (said). */
int announce_sync(const struct xcgn_maps *m, uint32_t table);
/* After a pool change: the same, in the table already in use (if any). */
int announce_refresh(const struct xcgn_maps *m);
/* The daemon's watch over the datapath, for the announcement. */
struct announce_watch {
	bool working;		/* as last seen */
	uint32_t table;		/* the routes' table, read when they were withdrawn */
};
void announce_watch_init(struct announce_watch *w);
/* Withdraw the routes when the datapath stops working (an XDP link
 * detached, a device gone, down or without carrier), put them back when
 * it works again. 1 withdrawn, 2 announced again, 0 nothing to do, or
 * -errno. */
int announce_watch(struct announce_watch *w, const struct xcgn_maps *m, const char *dir);

/* ---- loader.c: bpffs, skeleton, attach --------------------------------- */
/* Where this network namespace's state lives. Returns 0 or -errno with the
 * reason already printed. */
int xcgn_pin_dir(char *buf, size_t len);

/* One fd per pinned map, made from the one list (XCGN_PINNED_MAPS), in
 * its order; xcgn_map_names[] has their names in the same order. */
enum {
#define X(f, size) XCGN_MI_##f,
	XCGN_PINNED_MAPS(X)
#undef X
	XCGN_NMAPS
};
extern const char *const xcgn_map_names[XCGN_NMAPS];
bool xcgn_map_is_pinned(const char *name);
struct xcgn_maps {
#define X(f, size) int f;
	XCGN_PINNED_MAPS(X)
#undef X
};
/* What `xcgn link attach` recorded; -errno (printed) when unreadable. */
struct xcgn_maps;
struct xcgn_link_info;
int xcgn_link_read(const struct xcgn_maps *m, struct xcgn_link_info *li);

/* Every fd of @m -1 (none open): what xcgn_maps_close may always take. */
void xcgn_maps_none(struct xcgn_maps *m);
/* Open the pinned maps of this namespace's instance and check their layout
 * stamp; -ENOENT (printed) if xcgn is not attached here, -EPROTO (printed,
 * naming both versions) if they were pinned by a binary of another layout. */
int xcgn_maps_open(struct xcgn_maps *m);
/* The kernel memory @m's maps are charged, in bytes (their fdinfo). */
uint64_t xcgn_maps_memlock(const struct xcgn_maps *m);
/* The same under @dir, without the stamp check (reload, migration). */
int xcgn_maps_open_dir(struct xcgn_maps *m, const char *dir);
/* Is this version attached under @dir (its XDP link pinned)? */
bool xcgn_attached_here(const char *dir);
/* The pins at @dir served a network namespace that is gone (their XDP link
 * lost its device): never to be adopted; `xcgn link clean` removes them. */
bool xcgn_instance_stale(const char *dir);
/* Remove the pins of every instance whose namespace is gone: the number
 * removed (each said on stdout), or -errno. */
int xcgn_clean_locked(void);
/* Another layout version pinned in this namespace (its number), or 0. */
int xcgn_pinned_version(const char *dir);

/* ---- abi.c: the pinned layout as an ABI -------------------------------- */
/* The datapath object embedded in this binary (the skeleton's). */
const void *xcgn_xdp_elf(size_t *len);
/* This binary's layout, as text (tests/abi/ keeps each version's). NULL
 * with errno set when the embedded object cannot be read. */
const char *xcgn_abi_layout(void);
uint64_t xcgn_abi_fingerprint(void);
void xcgn_abi_stamp_make(struct xcgn_abi_stamp *s);
/* 0 when the stamp in @stamp_fd is this binary's layout; else the reason
 * printed, naming both layouts and what to do. */
int xcgn_abi_check(int stamp_fd, const char *dir);
void xcgn_maps_close(struct xcgn_maps *m);
/* Take the configuration lock (flock on the pin dir): one writer at a time. */
int xcgn_lock(void);
/* The same without waiting or printing: -EWOULDBLOCK when it is held. */
int xcgn_trylock(void);
void xcgn_unlock(int fd);

struct xcgn_gc;
/* The control programs (collector, rpf explain) over the pinned maps;
 * NULL with errno set (printed) on failure. */
struct xcgn_gc *xcgn_ctl_load(void);

struct attach_opts {
	const char *inside;
	const char *outside;
	int xdp_mode;		/* enum xcgn_xdp_mode */
	uint32_t sub_prefix;	/* network order */
	uint8_t sub_plen;
	uint32_t max_maps;
	uint32_t max_subs;
	uint8_t rpf_in, rpf_out;	/* enum xcgn_rpf_mode */
	uint32_t max_routes;	/* capacity of the reverse-path table */
	uint32_t max_addrs;	/* public addresses over all pools */
	uint8_t refusal_icmp;	/* enum xcgn_refusal_icmp */
	uint32_t switches;	/* XCGN_SW_* */
	uint32_t route_table;	/* xcgn's routes (announce.c); 0 = none */
	uint16_t mss_clamp;	/* TCP MSS clamp, 0 = off (auto: XCGN_SW_MSS_AUTO) */
	bool force;		/* attach despite the lint's errors */
};
/* The library takes no lock: the caller holds the configuration lock
 * (xcgn_lock) across each of these. */
int xcgn_attach_locked(const struct attach_opts *o);
int xcgn_tc_hook_in(int ifindex, int prog_fd, bool replace, bool *created);
/* One subscriber's share of the filtering table, which is as big as the
 * mapping table (@max_maps): a 64th (at least XCGN_SUB_PEERS_MIN), so that
 * no one subscriber fills it for everybody. */
uint32_t xcgn_sub_peers_share(uint32_t max_maps);
/* The PCP holds' table: a quarter of the mapping table (@max_maps), at
 * least XCGN_PCP_MIN: as the mappings, it grows with the instance. */
uint32_t xcgn_pcp_size(uint32_t max_maps);
void attach_opts_init(struct attach_opts *o);
/* The link's option table (lib/options.h), in its canonical order. */
extern const struct opt xcgn_link_opts[];
extern const size_t xcgn_link_nopts;
/* `link attach` arguments (or a configuration file's `link`) over *@o:
 * 0, or XCGN_EXIT_USAGE with the reason said. */
int attach_opts_parse(int argc, char **argv, struct attach_opts *o);
extern const char *const xcgn_xdp_mode_name[2];
/* What `link set` (and config apply, in place) may change of @o while
 * traffic flows: the switches, refusal-icmp, the reverse-path modes. */
int link_set(const struct xcgn_maps *m, const struct attach_opts *o);
/* The MSS clamp @o asks for, on devices of these MTUs: its number, or the
 * smaller MTU less 40 (IPv4 and TCP headers) for auto; 0 = off. */
uint16_t mss_clamp_of(const struct attach_opts *o, unsigned int mtu_in, unsigned int mtu_out);
#define XCGN_MSS_MIN 536	/* RFC 879's default: no host must take less */
#define XCGN_MSS_MAX 65495	/* 65535 less the headers */
/* The attach options of a running instance (devices by name, sizes from
 * the pinned maps, the live switches and modes). */
int link_running(const struct xcgn_maps *m, struct attach_opts *o, char *inside,
		 char *outside);
extern const char *const xcgn_refusal_name[XCGN_REFUSAL_MAX];
#define XCGN_DEF_SUBSCRIBERS "100.64.0.0/10"
struct xcgn_xdp;
/* Load the datapath over the maps pinned under @dir (loader.c says how). */
struct xcgn_xdp *xcgn_datapath_load(const char *dir, const struct xcgn_link_info *li,
				    uint32_t max_routes, uint32_t max_addrs,
				    const struct xcgn_maps *reuse);
/* What a datapath just loaded needs before its programs run (attach and
 * reload): the devmap's ports, the layout stamp. 0 or -errno (said). */
int xcgn_datapath_seed(struct xcgn_xdp *skel, const struct xcgn_link_info *li);
/* Pools and public addresses this instance has room for: its pinned
 * maps' sizes (a layout before 4 pinned 16 pools; max-addresses sizes the
 * addresses), never more than the compiled bounds. */
__u32 xcgn_npools(const struct xcgn_maps *m);
__u32 xcgn_naddrs(const struct xcgn_maps *m);
/* The size of the map pinned at @path (of @fd when >= 0); 0 if none. */
__u32 xcgn_pinned_max_entries_fd(const char *path, int fd);
#define xcgn_pinned_max_entries(path) xcgn_pinned_max_entries_fd(path, -1)
/* Bytes of the ring buffer @fd no consumer has read yet, or -errno. */
long xcgn_ring_unread(int fd);
/* The counters of the per-CPU xcgn_stats @fd, summed. 0 or -errno. */
int xcgn_stats_read(int fd, struct xcgn_stats *out);
/* Remove every pin in @dir, then the empty directories up to the root. */
void xcgn_unpin_all(const char *dir);
int xcgn_pin_pcp_prog(const char *dir, int prog_fd);
int xcgn_pcp_prog_open(void);
int xcgn_pcp_ctl(int prog_fd, struct xcgn_pcp_req *q);
/* The tc filters' identity: detach and reload touch exactly these. */
#define XCGN_TC_HANDLE	0x7863	/* "xc" */
#define XCGN_TC_PRIO	1
/* The inside's ingress filter: after the operator's own (they come first,
 * at the usual low numbers), and a number nobody else picks. */
#define XCGN_TC_PRIO_IN	0x7863
int xcgn_detach_locked(void);
/* Replace the running programs with this binary's, keeping the pinned
 * state (moved to this layout first when an older one is pinned). */
int xcgn_reload_locked(void);
/* The invariants of the pinned state (check.c): exit 1 on a violation. */
int xcgn_check(void);
struct xcgn_check_result {
	uint64_t maps, revs, subs, held, taken_unheld, unlogged, violations;
};
/* The invariants of @m (check.c says which), each violation said on
 * stderr (the first ten). @live: others write meanwhile, so a violation
 * counts only when still there 50 ms later; quiet (!@live) adds each
 * subscriber's mapping count. 0, or -ENOMEM. */
int xcgn_check_maps(const struct xcgn_maps *m, bool live, struct xcgn_check_result *r);

/* ---- forward.c --------------------------------------------------------- */
/* A static forward: public @paddr:@pport (host order) to @sub:@port. */
struct forward {
	uint32_t paddr, sub;	/* network order */
	uint16_t pport, port;	/* host order */
	uint8_t proto;		/* 6 or 17 */
};
/* "PUBLIC:PORT to SUBSCRIBER:PORT proto P" (@want_to), or "PUBLIC:PORT
 * proto P": 0, or XCGN_EXIT_USAGE with the reason said. */
int forward_parse(int argc, char **argv, struct forward *f, bool want_to);
/* "PUBLIC:PORT to SUBSCRIBER:PORT proto P", as forward_parse reads it. */
void forward_print(FILE *out, const struct forward *f);
/* Make it, or find it made: 0, or -errno with the reason said (a
 * collision: -EBUSY). */
int forward_add(const struct xcgn_maps *m, const struct forward *f);
/* End the forward of @f's public side: handed to the daemon, which ends
 * and logs it, when one runs (@daemon), else ended here. 0 or -errno
 * (said). */
int forward_del(const struct xcgn_maps *m, const struct forward *f, bool daemon);
/* Every forward held: *@out to free. 0 or -ENOMEM. */
int forward_list(const struct xcgn_maps *m, struct forward **out, size_t *n);

/* ---- pool.c ------------------------------------------------------------ */
#define XCGN_EXCL_MAX	32	/* exclusion prefixes a pool may have */
struct pool_opts {
	uint32_t prefix;	/* network order */
	uint8_t plen;
	uint16_t port_lo, port_hi, block_size, max_blocks;
	uint8_t filtering;
	uint8_t deterministic;	/* RFC 7422 for the subscribers in det_prefix */
	uint8_t parity;		/* RFC 4787 REQ-4 */
	uint32_t new_rate;	/* RFC 6888 REQ-5: new mappings a second per subscriber */
	uint32_t sub_burst;	/* new subscribers at once; 0 off, XCGN_SUB_BURST_AUTO */
	uint32_t sub_maps;	/* mappings a subscriber; 0 off, XCGN_SUB_MAPS_AUTO */
	uint32_t map_peers;	/* remotes a mapping; 0 off */
	uint16_t sub_refill_s;	/* seconds to earn sub_burst back */
	uint8_t det_plen;
	uint32_t det_prefix;	/* network order */
	uint32_t timeout[XCGN_TIMER_MAX];	/* seconds; 0 = default */
	/* Addresses of the prefix that are not the pool's (`exclude`): the
	 * fewest aligned prefixes, in order (excl_normalize). */
	uint8_t nexcl;
	struct pool_excl {
		uint32_t prefix;	/* network order */
		uint8_t plen;
	} excl[XCGN_EXCL_MAX];
	bool force;		/* add it even over an address of this host */
};
/* Is an address of this host in @o's pool (and not excluded)? 1 (said as
 * an error, with the ways out), 0 when none, or -errno. */
int pool_host_addr(const struct pool_opts *o);
/* Add ADDR/PLEN to @o's exclusions: 0, or -1 with the reason in @why (not
 * inside the pool, too many). */
int excl_add(struct pool_opts *o, uint32_t prefix, uint8_t plen, char *why, size_t len);
/* Is @addr (network order) excluded? */
bool excl_has(const struct pool_opts *o, uint32_t addr);
/* Rewrite the exclusions as the fewest aligned prefixes, in address
 * order, so two ways of saying the same compare equal. -1 (@why) when the
 * pool would keep no address or the result does not fit. */
int excl_normalize(struct pool_opts *o, char *why, size_t len);
/* Set or clear an address's drain (`xcgn pool drain ADDR`). */
int pool_addr_drain(const struct xcgn_maps *m, uint32_t addr, bool on);
/* @o's exclusions as the pinned addresses of pool @p say. */
void pool_excl_read(const struct xcgn_maps *m, const struct xcgn_pool *p, struct pool_opts *o);
/* A filtering mode's name: [0] endpoint-independent, [1] address-dependent. */
extern const char *const xcgn_filtering_name[2];
/* The name of the mode pool filtering @filtering gives protocol bit(s) @bit. */
const char *xcgn_filtering_text(uint8_t filtering, uint8_t bit);
void pool_opts_init(struct pool_opts *o);
/* The pool's option table (lib/options.h), in its canonical order. */
extern const struct opt *const xcgn_pool_opts;
extern const size_t xcgn_pool_nopts;
/* The options after `pool add PREFIX` (or a configuration file's `pool
 * PREFIX`) over *@o: 0, or XCGN_EXIT_USAGE with the reason said. */
int pool_opts_parse(int argc, char **argv, struct pool_opts *o);
void pool_from_opts(const struct pool_opts *o, struct xcgn_pool *p);
/* Can a few subscribers fill the mapping table every subscriber shares?
 * Said as a warning, with by how much (pool add, config check). */
void pool_fill_warn(uint32_t prefix, uint8_t plen, uint32_t sub_maps, uint32_t max_subs,
		    uint32_t max_maps);
void pool_opts_from(const struct xcgn_pool *p, struct pool_opts *o);
/* Can pool @p (planned) join the @n pools @others under the subscriber
 * range? 0, or -EINVAL/-EEXIST with the reason in @why. Pure: pool add
 * and the configuration file's check share it. */
int pool_conflict(const struct xcgn_pool *p, const struct xcgn_pool *others, size_t n,
		  uint32_t sub_prefix, uint8_t sub_plen, char *why, size_t len);
/* Same prefix, ports, block size and deterministic range: what pool set
 * may not change. */
bool pool_same_geometry(const struct xcgn_pool *a, const struct xcgn_pool *b);
/* The active pool PREFIX/PLEN into *@p: its id, or -ENOENT (said). */
int pool_find(const struct xcgn_maps *m, uint32_t prefix, uint8_t plen, struct xcgn_pool *p);
/* What a pool's options say together, before any map is touched: the
 * exclusions normalized (in *@o) and allowed. 0, or -1 with @why. */
int pool_opts_check(struct pool_opts *o, char *why, size_t len);
int pool_add(const struct xcgn_maps *m, const struct pool_opts *o);
/* Change a live pool's timers, limits, rate, filtering and parity. */
int pool_set(const struct xcgn_maps *m, const struct pool_opts *o);
int pool_del(const struct xcgn_maps *m, uint32_t prefix, uint8_t plen);
int bypass_add(const struct xcgn_maps *m, uint32_t prefix, uint8_t plen);
int bypass_del(const struct xcgn_maps *m, uint32_t prefix, uint8_t plen);


/* ---- rpf_sync.c: the reverse-path tables ------------------------------- */
struct xcgn_gc;
/* The datapath's reverse-path check (the xcgn_rpf_explain program of
 * @ctl) on query @q, filled in. 0, or -errno (-EPROTO: nonsense back). */
int rpf_explain_run(struct xcgn_gc *ctl, struct xcgn_rpf_query *q);
/* Bring xcgn_rpf4 and xcgn_rpfdev in step with the FIB; keeps the modes.
 * Returns 0 or -errno (printed unless @quiet). When the tables cannot
 * match the FIB (too many routes, no memory) the route part of the check
 * is suspended: the device entries carry XCGN_RPFD_NO_FIB until a sync
 * succeeds. */
struct rpf_sync_stats {
	size_t routes, added, changed, removed;
	/* A destination alone decides a next hop: no policy rules beyond the
	 * default three, no multipath and no TOS route (the next-hop cache
	 * may serve, user/nexthop.c). */
	bool nh_simple;
};
int rpf_sync(const struct xcgn_maps *m, struct rpf_sync_stats *st, bool quiet);
/* The same, for a caller that syncs again and again (the daemon): the
 * route tables are diffed only when the FIB's tables changed since the
 * sync that left *@digest. */
int rpf_sync_cached(const struct xcgn_maps *m, struct rpf_sync_stats *st, bool quiet,
		    uint64_t *digest);

#endif /* XCGN_DATAPATH_H */
