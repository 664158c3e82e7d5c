/* SPDX-License-Identifier: GPL-2.0 */
/* The daemon's parts, shared among its files and no one else's:
 *   daemon.c    setup, the loop's sources and timers, teardown
 *   records.c   the rings' events -> NAT records -> every sink
 *   blocks.c    quarantine and the reconciles of the log and the blocks
 *   gc.c        the collector's walk over the mappings
 *   instance.c  one daemon an instance: the lock, systemd, the detach watch
 *   opts.c      the daemon's options */
#ifndef XCGN_DAEMON_INTERNAL_H
#define XCGN_DAEMON_INTERNAL_H

#include <sys/un.h>

#include "daemon/daemon.h"
#include "daemon/loop.h"
#include "daemon/pcp_server.h"

struct daemon {
	struct daemon_opts o;
	struct xcgn_maps m;
	struct xcgn_gc *gc;
	struct ring_buffer *rb;
	struct rpf_watch *rw;	/* route, address, device changes */
	struct nh_keeper *nh;	/* the next-hop cache's word, or NULL */
	struct loop loop;	/* its sources and timers (loop.h) */
	int t_rpf, t_dp;	/* the timers a route change brings forward */
	bool detached;		/* the instance went: the loop stopped for it */
	int lock;		/* the instance lock (instance_lock), or -1 */
	bool published;		/* the running configuration is in XCGN_RUN_DIR */
	bool rpf_failing;	/* the last sync failed (said once) */
	uint64_t rpf_digest;	/* what the route tables hold (rpf_sync_cached) */
	struct natlog log;
	struct xcgn_blkmap *bitmap;	/* the mmapped xcgn_blocks */
	size_t bitmap_len;
	struct xcgn_pool pools[XCGN_POOLS_MAX];
	__u32 npools, naddrs;	/* the instance's sizes (its pinned maps') */
	struct quarantine q;
	bool walking;
	uint64_t token;
	struct xcgn_tuple4 *keys;
	struct xcgn_map4 *vals;
	struct refusal_limit rl;
	uint64_t expired, released, passes;
	uint64_t events_lost_seen;	/* XCGN_STAT_EVENT_LOST at the last reconcile */
	uint64_t log_lost_seen;		/* records the log lost, at the last reconcile */
	bool reconcile_due;
	uint32_t abi_id;		/* the map id of our xcgn_abi: a detach or a
					 * new attach changes what is pinned there */
	char dir[256];
	struct announce_watch aw;	/* the routes follow the datapath */
	struct metrics_snap snap;	/* what scrapes read: taken every 5 s */
	unsigned int snap_age;		/* seconds since it was taken */
	struct xcgn_dstat ds;
	int notify_fd;			/* systemd's NOTIFY_SOCKET, or -1 */
	struct sockaddr_un notify_addr;
	socklen_t notify_len;
	uint64_t watchdog_ns;
	uint64_t pass_t0, pass_busy, pass_seen, pass_expired;	/* this pass */
	uint64_t last_pass_seen;	/* mappings the last full pass walked */
	bool pass_done;
	uint64_t rpf_routes, rpf_sync_ms;	/* the last good sync: its size, when */
	struct metrics_http *http;	/* GET /metrics, or NULL */
	struct ipfix_exporter ipfix;
	struct monitor_hub mon;
	struct record_sinks sinks;	/* where records go: the log, monitors, IPFIX */
	bool det_exported[XCGN_POOLS_MAX];	/* its static bindings sent (IPFIX) */
	bool det_logged[XCGN_POOLS_MAX];	/* its binding record in the NAT log */
	struct pcp_server *pcp;		/* `pcp`: the server, else NULL */
};

/* records.c */
/* Wall-clock ms of a CLOCK_MONOTONIC stamp from the datapath. */
uint64_t wall_ms(uint64_t mono);
/* One record to every sink (the node named in it). */
void record(struct daemon *d, const struct natlog_rec *r, uint64_t tag);
/* The rings' events: a ring_buffer_sample_fn. */
int on_event(void *ctx, void *data, size_t size);
/* The NAT log tells each record once it is in the file (natlog.on_written). */
void on_written(void *ctx, uint64_t tag);
void mark_last_record(struct daemon *d);
void flush_suppressed(struct daemon *d);
/* A deterministic pool's static bindings to the IPFIX collectors: how many. */
uint64_t ipfix_deterministic(struct daemon *d, const struct xcgn_pool *p);
/* The pools as pinned (and deterministic bindings logged, exported). */
int pools_refresh(struct daemon *d);
/* The tags natlog_write carries for xcgn_blklog. */
#define TAG_KEY_BITS	26
#define TAG_ALLOC	(1ULL << 62)
#define TAG_RELEASE	(2ULL << 62)
uint64_t tag_of(uint64_t kind, __be32 sub, __u32 key);

/* blocks.c */
void bit_clear(struct daemon *d, uint32_t idx, uint32_t blk);
uint64_t *owned_blocks(struct daemon *d);
void quarantine_process(struct daemon *d, uint64_t now);
int reconcile_quarantine(struct daemon *d, const uint64_t *owned);
void log_block(struct daemon *d, const char *event, __be32 sub, __u32 key, uint64_t ts_ms,
	       const char *reason);
int reconcile_log(struct daemon *d);
/* Every held block's allocation to the IPFIX collectors again: how many. */
uint64_t ipfix_interim(struct daemon *d);
void release_all_logged(struct daemon *d);

/* gc.c */
void gc_step(struct daemon *d);

/* instance.c */
int instance_lock(struct daemon *d);
uint32_t stamp_id(const char *dir);
void notify_setup(struct daemon *d);
void notify(struct daemon *d, const char *msg);
void dstat_publish(struct daemon *d);
void daemon_publish(struct daemon *d);
void daemon_unpublish(struct daemon *d);
uint64_t stat_sum(struct daemon *d, enum xcgn_stat which);

#endif /* XCGN_DAEMON_INTERNAL_H */
