// SPDX-License-Identifier: GPL-2.0
/* xcgn daemon: the collector. It walks the mappings in bounded batches and
 * expires what the RFC timers say is idle, takes subscribers with no mapping
 * left out of service, keeps their blocks in quarantine before they can be
 * handed out again, drains the datapath's events into the NAT log, and
 * never stops forwarding by dying: the datapath does not depend on it, and a
 * restart resumes from the pinned maps.
 *
 * Removal goes through the xcgn_gc_* programs (bpf/xcgn_gc.bpf.c), which
 * re-check in the kernel that an entry is as idle as it was read, and count
 * the subscriber's mappings down atomically. */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xcgn.h"
#include "rpf.h"
#include "pcp_server.h"
#include "xcgn_gc.skel.h"

#define GC_BATCH_DEF	16384

struct daemon_opts {
	const char *log_path;
	bool use_syslog;
	uint32_t scale;		/* timers divided by this (tests) */
	uint32_t interval_ms;	/* between GC steps */
	uint32_t quarantine_s;
	uint32_t batch;		/* mappings examined per step */
	uint32_t refuse_per_s;	/* refusal records per second */
	uint32_t rpf_resync_ms;	/* full reverse-path re-read besides netlink */
	uint32_t sync_ms;	/* fdatasync of the NAT log at most this often */
	const char *metrics;	/* ADDR:PORT of the Prometheus endpoint, or NULL */
	const char *ipfix[IPFIX_COLLECTORS_MAX];	/* collectors, ADDR:PORT */
	int nipfix;
	uint32_t ipfix_domain;	/* observation domain id */
	bool ipfix_domain_set;	/* else the node's id */
	uint32_t node;		/* the cluster node id the NAT log names; 0 = none */
	bool pcp;		/* answer PCP and NAT-PMP on the inside */
	bool pcp_opts;		/* a pcp-* option was given */
	struct pcp_config pcp_cfg;
	const char *monitor_group;	/* may read the event stream besides root */
};

struct daemon {
	struct daemon_opts o;
	struct xcgn_maps m;
	struct xcgn_gc *gc;
	struct ring_buffer *rb;
	struct rpf_watch *rw;	/* route, address, device changes */
	struct nh_keeper *nh;	/* the next-hop cache's word, or NULL */
	int ep;			/* epoll over the ring buffer and rw */
	uint64_t rpf_due;	/* next reverse-path table sync */
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
	uint64_t dp_due;		/* its next look: every 250 ms, at once on a change */
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
	bool det_exported[XCGN_POOLS_MAX];	/* its static bindings sent (IPFIX) */
	bool det_logged[XCGN_POOLS_MAX];	/* its binding record in the NAT log */
	struct pcp_server *pcp;		/* `pcp`: the server, else NULL */
};

static volatile sig_atomic_t stop_flag, reopen_flag;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reopen_flag = 1;
	else
		stop_flag = 1;
}


/* Wall-clock ms of a CLOCK_MONOTONIC stamp from the datapath. */
static uint64_t wall_ms(uint64_t mono)
{
	struct timespec rt;
	uint64_t now_rt, now_mono = xcgn_mono_ns();

	clock_gettime(CLOCK_REALTIME, &rt);
	now_rt = (uint64_t)rt.tv_sec * 1000000000ULL + (uint64_t)rt.tv_nsec;
	return (now_rt - (now_mono - (mono < now_mono ? mono : now_mono))) / 1000000ULL;
}

static uint64_t mapping_timeout(const struct daemon *d, const struct xcgn_tuple4 *k,
				const struct xcgn_map4 *v)
{
	return mapping_timeout_ns(&d->pools[v->pool_id % XCGN_POOLS_MAX], k->proto, v->tcp,
				  d->o.scale);
}

/* RFC 7422 pools map subscribers by arithmetic and log nothing per
 * subscriber; the IPFIX collectors get each subscriber's static binding
 * (a port block allocation record) once per configuration: at start and
 * whenever a deterministic pool changes. */
static void ipfix_deterministic(struct daemon *d, const struct xcgn_pool *p)
{
	uint64_t n = 1ULL << (32 - p->det_plen), i, now = wall_ms(xcgn_mono_ns());
	uint32_t sub, paddr;
	uint16_t lo, hi;

	for (i = 0; i < n; i++) {
		sub = htonl(ntohl(p->det_prefix) + (uint32_t)i);
		if (det_forward(p, sub, &paddr, &lo, &hi))
			continue;
		ipfix_block(&d->ipfix, now, true, sub, paddr, lo, hi);
	}
	ipfix_flush(&d->ipfix);
}

static void record(struct daemon *d, const struct natlog_rec *r, uint64_t tag, int reason);

/* A deterministic pool's binding as one NAT log record (at start, when it
 * comes or changes: "deterministic"; when it goes: "deterministic_end"):
 * the log answers for it by arithmetic, on any node's log. */
static void log_deterministic(struct daemon *d, const struct xcgn_pool *p, bool on)
{
	struct natlog_rec r = { .event = on ? "deterministic" : "deterministic_end",
				.ts_ms = wall_ms(xcgn_mono_ns()), .paddr = p->prefix, .plen = p->plen,
				.sub = p->det_prefix, .det_plen = p->det_plen,
				.port_lo = p->port_lo, .port_hi = p->port_hi,
				.block_size = p->block_size, .blocks = p->max_blocks };

	record(d, &r, 0, 0);
}

static int pools_refresh(struct daemon *d)
{
	struct xcgn_pool p;
	__u32 id;
	bool det;

	for (id = 0; id < d->npools; id++) {
		if (bpf_map_lookup_elem(d->m.pools, &id, &p))
			return -errno;
		det = (p.flags & XCGN_POOLF_ACTIVE) && (p.flags & XCGN_POOLF_DETERMINISTIC);
		if (d->det_logged[id] && (!det || memcmp(&p, &d->pools[id], sizeof(p)))) {
			log_deterministic(d, &d->pools[id], false);
			d->det_logged[id] = false;
		}
		if (det && !d->det_logged[id]) {
			log_deterministic(d, &p, true);
			d->det_logged[id] = true;
		}
		if (d->o.nipfix && d->ipfix.fd >= 0 && (p.flags & XCGN_POOLF_ACTIVE) &&
		    (p.flags & XCGN_POOLF_DETERMINISTIC) &&
		    (!d->det_exported[id] || memcmp(&p, &d->pools[id], sizeof(p)))) {
			ipfix_deterministic(d, &p);
			d->det_exported[id] = true;
		}
		if (!(p.flags & XCGN_POOLF_ACTIVE))
			d->det_exported[id] = false;
		d->pools[id] = p;
	}
	return 0;
}

/* ---- the NAT log side ------------------------------------------------------ */

/* What a record does to xcgn_blklog once it is in the file: the tag of
 * natlog_write, told back by on_written. */
#define TAG_KEY_BITS	26
_Static_assert((uint64_t)XCGN_PADDRS_MAX * XCGN_BLKS_PER_ADDR_MAX <= 1u << TAG_KEY_BITS,
	       "a block key fits the tag's key bits");
_Static_assert(TAG_KEY_BITS + 32 <= 62, "the subscriber fits below the tag's kind");
#define TAG_ALLOC	(1ULL << 62)
#define TAG_RELEASE	(2ULL << 62)
static uint64_t tag_of(uint64_t kind, __be32 sub, __u32 key)
{
	return kind | (uint64_t)sub << TAG_KEY_BITS | key;
}

static void on_written(void *ctx, uint64_t tag)
{
	struct daemon *d = ctx;
	__u32 key = (__u32)(tag & ((1u << TAG_KEY_BITS) - 1));
	__be32 sub = (__be32)(tag >> TAG_KEY_BITS), held;

	if ((tag & (3ULL << 62)) == TAG_ALLOC) {
		if (bpf_map_update_elem(d->m.blklog, &key, &sub, 0))
			d->reconcile_due = true;	/* it will be written again, marked */
	} else if ((tag & (3ULL << 62)) == TAG_RELEASE) {
		if (!bpf_map_lookup_elem(d->m.blklog, &key, &held) && held == sub)
			bpf_map_delete_elem(d->m.blklog, &key);
	}
}

/* The block a record names by public address and first port: its
 * xcgn_blk_key, or -1. */
static int64_t record_block(struct daemon *d, __be32 paddr, uint16_t port_lo)
{
	struct xcgn_paddr pa;
	const struct xcgn_pool *p;

	if (bpf_map_lookup_elem(d->m.pubidx, &paddr, &pa) || pa.pool_id >= XCGN_POOLS_MAX)
		return -1;
	p = &d->pools[pa.pool_id];
	if (!p->block_size || port_lo < p->port_lo || pa.idx >= d->naddrs)
		return -1;
	return xcgn_blk_key(pa.idx, (port_lo - p->port_lo) / p->block_size);
}

/* A daemon killed between writing a record and marking it in xcgn_blklog
 * left that one record unmarked, and it is the file's last (records are
 * marked one by one as they are written): mark it now, or reconcile would
 * write it a second time. */
static void mark_last_record(struct daemon *d)
{
	struct natlog_parsed r;
	int64_t key;
	__be32 held;

	struct xcgn_link_info li;
	__u32 zero = 0;

	/* A record from before this attach is of another instance. */
	if (!d->log.path[0] || natlog_tail(d->log.path, &r) || !r.paddr ||
	    bpf_map_lookup_elem(d->m.link, &zero, &li) || r.ts_ms < li.attached_unix * 1000 ||
	    (key = record_block(d, r.paddr, r.port_lo)) < 0)
		return;
	if (!strcmp(r.event, "alloc"))
		on_written(d, tag_of(TAG_ALLOC, r.sub, (__u32)key));
	else if (!strcmp(r.event, "release") && !bpf_map_lookup_elem(d->m.blklog, &key, &held) &&
		 held == r.sub)
		on_written(d, tag_of(TAG_RELEASE, r.sub, (__u32)key));
}

/* A record for the NAT log, and the same event for the IPFIX collectors:
 * every event the one gets, the other gets too (@reason: the refusal's). */
static void record(struct daemon *d, const struct natlog_rec *rec, uint64_t tag, int reason)
{
	struct natlog_rec nr = *rec, *r = &nr;

	nr.node = d->o.node;	/* every record names its node */
	natlog_write(&d->log, r, tag);
	if (d->mon.fd >= 0) {
		char line[512];
		size_t n = natlog_format(line, sizeof(line), r);

		monitor_send(&d->mon, line, n < sizeof(line) ? n : sizeof(line) - 1);
	}
	if (!d->o.nipfix)
		return;
	if (!strcmp(r->event, "alloc") || !strcmp(r->event, "release")) {
		ipfix_block(&d->ipfix, r->ts_ms, *r->event == 'a', r->sub, r->paddr, r->port_lo,
			    r->port_hi);
	} else if (!strcmp(r->event, "refused")) {
		struct xcgn_sub s;
		uint32_t max_blocks = 0;

		if (!bpf_map_lookup_elem(d->m.subs, &r->sub, &s) && s.pool_id < XCGN_POOLS_MAX)
			max_blocks = d->pools[s.pool_id].max_blocks;
		ipfix_refusal(&d->ipfix, r->ts_ms, r->sub, reason, max_blocks);
	}
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct daemon *d = ctx;
	const struct xcgn_event *ev = data;
	struct natlog_rec r = {};
	uint64_t tag = 0;
	int64_t key;
	__be32 held;

	if (size < sizeof(*ev))
		return 0;
	r.ts_ms = wall_ms(ev->ts_ns);
	r.sub = ev->sub;
	switch (ev->type) {
	case XCGN_EV_BLOCK_ALLOC:
		key = record_block(d, ev->paddr, ev->port_lo);
		if (key < 0) {
			pools_refresh(d);	/* a pool added since */
			key = record_block(d, ev->paddr, ev->port_lo);
		}
		/* Already in the log (a reconcile got there first). Not while
		 * records wait: a release of the same block by the same
		 * subscriber may be among them, its mark not yet gone. */
		if (key >= 0 && !d->log.qlen && !bpf_map_lookup_elem(d->m.blklog, &key, &held) &&
		    held == ev->sub)
			return 0;
		if (key >= 0)
			tag = tag_of(TAG_ALLOC, ev->sub, (__u32)key);
		r.event = "alloc";
		r.paddr = ev->paddr;
		r.port_lo = ev->port_lo;
		r.port_hi = ev->port_hi;
		break;
	case XCGN_EV_REFUSED:
		if (!refusal_admit(&d->rl, r.ts_ms))
			return 0;
		r.event = "refused";
		r.reason = ev->reason < XCGN_DROP_MAX ? xcgn_drop_name[ev->reason] : "unknown";
		break;
	default:
		return 0;
	}
	record(d, &r, tag, ev->type == XCGN_EV_REFUSED ? ev->reason : 0);
	return 0;
}

static void flush_suppressed(struct daemon *d)
{
	struct natlog_rec r = { .event = "refusals_suppressed" };

	r.count = refusal_take_suppressed(&d->rl);
	if (!r.count)
		return;
	r.ts_ms = wall_ms(xcgn_mono_ns());
	record(d, &r, 0, 0);	/* a count: no IPFIX event says it */
}

/* ---- blocks ------------------------------------------------------------------ */

static void bit_clear(struct daemon *d, uint32_t idx, uint32_t blk)
{
	if (idx >= d->naddrs || blk >= XCGN_BLKS_PER_ADDR_MAX)
		return;
	/* The datapath claims with an atomic or; we give back with an atomic and. */
	__atomic_fetch_and(&d->bitmap[idx].w[blk / 64], ~(1ULL << (blk % 64)), __ATOMIC_SEQ_CST);
}

static bool bit_test(const struct daemon *d, uint32_t idx, uint32_t blk)
{
	if (idx >= d->naddrs || blk >= XCGN_BLKS_PER_ADDR_MAX)
		return false;
	return (__atomic_load_n(&d->bitmap[idx].w[blk / 64], __ATOMIC_SEQ_CST) >> (blk % 64)) & 1;
}

/* Bitset of the blocks subscribers hold right now. */
static uint64_t *owned_blocks(struct daemon *d)
{
	uint64_t *owned = calloc((size_t)d->naddrs * XCGN_BLK_WORDS, sizeof(uint64_t));
	__be32 key, *prev = NULL;
	struct xcgn_sub s;
	int i;

	if (!owned)
		return NULL;
	while (!bpf_map_get_next_key(d->m.subs, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(d->m.subs, &key, &s) || s.addr_idx >= d->naddrs)
			continue;
		for (i = 0; i < XCGN_SUB_BLOCKS_MAX; i++) {
			uint32_t b = s.blocks[i] - 1;

			if (s.blocks[i] && b < XCGN_BLKS_PER_ADDR_MAX)
				owned[s.addr_idx * XCGN_BLK_WORDS + b / 64] |= 1ULL << (b % 64);
		}
	}
	return owned;
}

static bool is_owned(const uint64_t *owned, uint32_t idx, uint32_t blk)
{
	return (owned[idx * XCGN_BLK_WORDS + blk / 64] >> (blk % 64)) & 1;
}

struct qpop {
	struct daemon *d;
	const uint64_t *owned;	/* the blocks held as the quarantine pops */
};

static void quarantine_release(void *ctx, uint32_t idx, uint32_t blk)
{
	struct qpop *qp = ctx;

	if (!is_owned(qp->owned, idx, blk))
		bit_clear(qp->d, idx, blk);
}

/* Free the blocks whose quarantine is over, unless somebody holds one (a
 * block is never freed under a subscriber, whatever the list says). */
static void quarantine_process(struct daemon *d, uint64_t now)
{
	uint64_t *owned;

	if (!quarantine_due(&d->q, now))
		return;
	owned = owned_blocks(d);
	if (!owned)
		return;	/* try again next tick */
	quarantine_pop_due(&d->q, now, quarantine_release, &(struct qpop){ d, owned });
	free(owned);
}

/* After a restart: a taken block that nobody holds was released before the
 * crash and is resting; give it a full quarantine from now. */
static int reconcile_quarantine(struct daemon *d, const uint64_t *owned)
{
	uint64_t due = xcgn_mono_ns() + (uint64_t)d->o.quarantine_s * 1000000000ULL / d->o.scale;
	unsigned int n = 0, id, a, b;

	for (id = 0; id < d->npools; id++) {
		const struct xcgn_pool *p = &d->pools[id];

		if (!(p->flags & XCGN_POOLF_ACTIVE))
			continue;
		for (a = p->addr_first; a < p->addr_first + p->naddrs && a < d->naddrs; a++) {
			struct xcgn_paddr pa;

			/* An excluded address: all taken, by design, forever. */
			if (bpf_map_lookup_elem(d->m.paddr, &a, &pa) ||
			    (pa.flags & XCGN_PADDRF_EXCLUDED))
				continue;
			for (b = 0; b < p->nblocks; b++) {
				if (!bit_test(d, a, b) || is_owned(owned, a, b))
					continue;
				if (p->flags & XCGN_POOLF_DETERMINISTIC) {
					bit_clear(d, a, b);	/* nobody else can get it */
				} else if (quarantine_add(&d->q, a, b, due) == 0) {
					n++;
				}
			}
		}
	}
	if (n)
		fprintf(stderr, "xcgn daemon: %u block(s) taken but unheld: quarantined\n", n);
	return 0;
}

/* A record of block @key for @sub: recovered from the tables, or (with a
 * @reason) written for it. */
static void log_block(struct daemon *d, const char *event, __be32 sub, __u32 key, uint64_t ts_ms,
		      const char *reason)
{
	const struct xcgn_pool *p;
	struct xcgn_paddr pa;
	__u32 idx = key / XCGN_BLKS_PER_ADDR_MAX, blk = key % XCGN_BLKS_PER_ADDR_MAX;
	struct natlog_rec r = { .event = event, .sub = sub, .ts_ms = ts_ms, .recovered = !reason,
				.reason = reason };

	if (bpf_map_lookup_elem(d->m.paddr, &idx, &pa) || pa.pool_id >= XCGN_POOLS_MAX)
		return;
	p = &d->pools[pa.pool_id];
	r.paddr = pa.addr;
	r.port_lo = (uint16_t)(p->port_lo + blk * p->block_size);
	r.port_hi = (uint16_t)(r.port_lo + p->block_size - 1);
	record(d, &r, tag_of(*event == 'a' ? TAG_ALLOC : TAG_RELEASE, sub, key), 0);
}

/* The NAT log against the tables: every held block whose allocation the
 * log lacks (xcgn_blklog) gets its record, with the time it was really
 * taken, marked recovered; every logged block its holder no longer has
 * gets its release. Run at start and whenever a record was lost (the ring
 * full, the log queue full), when nothing waits in the queue: a queued
 * record is not lost, and would be written twice. */
static void reconcile_emit(void *ctx, const struct rc_action *a)
{
	log_block(ctx, a->alloc ? "alloc" : "release", a->sub, a->key, wall_ms(a->ts_ns), NULL);
}

static int reconcile_log(struct daemon *d)
{
	struct rc_held *held = NULL;
	struct rc_logged *logged = NULL;
	size_t nh = 0, caph = 0, nl = 0, capl = 0, n;
	__be32 key, *prev = NULL, who;
	__u32 k, *kprev = NULL;
	struct xcgn_sub s;
	uint64_t ts;
	int i, err = 0;

	ring_buffer__consume(d->rb);	/* what is there is no loss */
	if (d->log.qlen) {	/* records wait: they are no loss either */
		d->reconcile_due = true;
		return 0;
	}
	/* The tables: what is held, since when. */
	while (!err && !bpf_map_get_next_key(d->m.subs, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(d->m.subs, &key, &s) || s.addr_idx >= d->naddrs ||
		    s.addr != key || (s.nmaps & XCGN_SUB_DEAD) ||
		    (d->pools[s.pool_id % XCGN_POOLS_MAX].flags & XCGN_POOLF_DETERMINISTIC))
			continue;
		for (i = 0; i < XCGN_SUB_BLOCKS_MAX && !err; i++) {
			if (!s.blocks[i] || s.blocks[i] > XCGN_BLKS_PER_ADDR_MAX)
				continue;
			k = xcgn_blk_key(s.addr_idx, s.blocks[i] - 1);
			ts = 0;
			bpf_map_lookup_elem(d->m.blkts, &k, &ts);
			if (nh == caph && xcgn_grow(&held, &caph, nh, sizeof(*held)))
				err = -ENOMEM;
			else
				held[nh++] = (struct rc_held){ .key = k, .sub = key,
					.alloc_ns = recovered_alloc_ns(ts, s.created_ns, i == 0) };
		}
	}
	/* The log's marks: what it has as held. */
	while (!err && !bpf_map_get_next_key(d->m.blklog, kprev, &k)) {
		kprev = &k;
		if (bpf_map_lookup_elem(d->m.blklog, &k, &who))
			continue;
		if (nl == capl && xcgn_grow(&logged, &capl, nl, sizeof(*logged)))
			err = -ENOMEM;
		else
			logged[nl++] = (struct rc_logged){ .key = k, .sub = who };
	}
	n = err ? 0 : reconcile_plan(held, nh, logged, nl, xcgn_mono_ns(), reconcile_emit, d);
	free(held);
	free(logged);
	if (err)
		return err;
	if (n)
		fprintf(stderr, "xcgn daemon: %zu NAT log record(s) recovered from the tables\n", n);
	d->reconcile_due = false;
	return 0;
}

/* Every block the log has as held gets its release, now (the instance
 * was detached: nobody holds anything any more). */
static void release_all_logged(struct daemon *d)
{
	__u32 k, *kprev = NULL, (*rel)[2] = NULL;
	size_t n = 0, cap = 0, i;
	uint64_t now = wall_ms(xcgn_mono_ns());
	__be32 held;

	while (!bpf_map_get_next_key(d->m.blklog, kprev, &k)) {
		kprev = &k;
		if (bpf_map_lookup_elem(d->m.blklog, &k, &held))
			continue;
		if (n == cap && xcgn_grow(&rel, &cap, n, sizeof(*rel)))
			break;
		rel[n][0] = k;
		rel[n++][1] = held;
	}
	for (i = 0; i < n; i++)
		log_block(d, "release", rel[i][1], rel[i][0], now, "detached");
	free(rel);
}

/* ---- collecting ---------------------------------------------------------------- */

static int run_prog(int fd, void *ctx, size_t size)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = ctx, .ctx_size_in = (__u32)size);

	return bpf_prog_test_run_opts(fd, &o) ? -errno : 0;
}

static void release_sub(struct daemon *d, __be32 addr, uint64_t now)
{
	struct xcgn_gc_sub req = { .addr = addr };
	const struct xcgn_pool *p;
	int i;

	if (run_prog(bpf_program__fd(d->gc->progs.xcgn_gc_release), &req, sizeof(req)) ||
	    req.result != XCGN_GC_EXPIRED)
		return;
	d->released++;
	/* Its accounting goes with it (the table is sized like xcgn_subs). */
	bpf_map_delete_elem(d->m.acct, &addr);
	p = &d->pools[req.sub.pool_id % XCGN_POOLS_MAX];
	for (i = 0; i < XCGN_SUB_BLOCKS_MAX; i++) {
		struct natlog_rec r = { .event = "release" };
		uint32_t blk = req.sub.blocks[i] - 1;

		if (!req.sub.blocks[i])
			continue;
		if (p->flags & XCGN_POOLF_DETERMINISTIC) {
			bit_clear(d, req.sub.addr_idx, blk);
			continue;
		}
		r.ts_ms = wall_ms(now);
		r.sub = addr;
		r.paddr = req.sub.paddr;
		r.port_lo = (uint16_t)(p->port_lo + blk * p->block_size);
		r.port_hi = (uint16_t)(r.port_lo + p->block_size - 1);
		record(d, &r, tag_of(TAG_RELEASE, addr, xcgn_blk_key(req.sub.addr_idx, blk)), 0);
		if (quarantine_add(&d->q, req.sub.addr_idx, blk,
				   now + (uint64_t)d->o.quarantine_s * 1000000000ULL / d->o.scale))
			xcgn_err("quarantine: out of memory; block %u of address %u stays taken",
				 blk, req.sub.addr_idx);
	}
}

/* An address-dependent filtering entry outlives neither its mapping nor,
 * idle, the mapping's own timer (TCP counts inbound traffic too). The clock
 * is read here, not at the start of the pass: stamps written meanwhile are
 * newer than a stale "now" and would wrap. */
static bool peer_expired(struct daemon *d, const struct xcgn_peer4_key *pk)
{
	struct xcgn_rev4 rv;
	struct xcgn_map4 mv;
	struct xcgn_tuple4 k = {};
	uint64_t seen, now;

	if (bpf_map_lookup_elem(d->m.rev4, &pk->pub, &rv))
		return true;	/* the mapping is gone */
	k.addr = rv.saddr;
	k.port = rv.sport;
	k.proto = pk->pub.proto;
	if (bpf_map_lookup_elem(d->m.map4, &k, &mv))
		return true;
	if (mv.flags & XCGN_MAPF_PCP)
		return false;	/* a PEER's remote, held as long as its lifetime */
	if (bpf_map_lookup_elem(d->m.peer4, pk, &seen))
		return false;
	if (k.proto == 6 && rv.in_seen_ns > seen)
		seen = rv.in_seen_ns;
	now = xcgn_mono_ns();
	return seen < now && now - seen > mapping_timeout(d, &k, &mv);
}

/* A remote of a mapping removed, and counted off it, in the kernel. */
static void peer_del(struct daemon *d, const struct xcgn_peer4_key *pk)
{
	struct xcgn_gc_peer req = { .key = *pk };

	if (run_prog(bpf_program__fd(d->gc->progs.xcgn_gc_peer_del), &req, sizeof(req)))
		bpf_map_delete_elem(d->m.peer4, pk);	/* at least the entry */
}

/* End of a full pass: filtering entries of gone mappings, and subscribers
 * left with no mapping. */
static void end_of_pass(struct daemon *d)
{
	struct xcgn_peer4_key pk, *pprev = NULL, pdel;
	__be32 key, *prev = NULL, *gone = NULL;
	size_t ngone = 0, cap = 0, i;
	struct xcgn_sub s;
	bool have_del = false;
	uint64_t now;

	while (!bpf_map_get_next_key(d->m.peer4, pprev, &pk)) {
		if (have_del) {
			peer_del(d, &pdel);
			have_del = false;
		}
		if (peer_expired(d, &pk)) {
			pdel = pk;	/* delete after stepping past it */
			have_del = true;
		}
		pprev = &pk;
	}
	if (have_del)
		peer_del(d, &pdel);

	now = xcgn_mono_ns();
	while (!bpf_map_get_next_key(d->m.subs, prev, &key)) {
		prev = &key;
		/* Young subscribers get two GC periods to map their first flow;
		 * one whose NAT-PMP client asked for its address, as long as
		 * that client keeps asking (else each question would take a
		 * block and put it in quarantine). */
		if (bpf_map_lookup_elem(d->m.subs, &key, &s) || s.nmaps || s.created_ns >= now ||
		    now - s.created_ns < 2ULL * d->o.interval_ms * 1000000ULL ||
		    (d->pcp && pcp_server_asked(d->pcp, key, d->o.pcp_cfg.min_lifetime_s)))
			continue;
		if (ngone == cap) {
			__be32 *g = realloc(gone, (cap = cap ? cap * 2 : 256) * sizeof(*g));

			if (!g)
				break;
			gone = g;
		}
		gone[ngone++] = key;
	}
	for (i = 0; i < ngone; i++)
		release_sub(d, gone[i], xcgn_mono_ns());
	free(gone);
	d->passes++;
}

static void expire_one(struct daemon *d, const struct xcgn_tuple4 *k, const struct xcgn_map4 *v,
		       uint64_t now)
{
	struct xcgn_gc_req req = { .key = *k, .out_seen_ns = v->out_seen_ns };
	struct xcgn_tuple4 rk = { .addr = v->paddr, .port = v->pport, .proto = k->proto };
	uint64_t to = mapping_timeout(d, k, v);
	struct xcgn_rev4 r;

	/* Held by a PCP lifetime: the PCP server ends it, not its timer. */
	if ((v->flags & XCGN_MAPF_PCP) || now < v->out_seen_ns || now - v->out_seen_ns <= to)
		return;
	if (!bpf_map_lookup_elem(d->m.rev4, &rk, &r)) {
		req.in_seen_ns = r.in_seen_ns;
		/* TCP: traffic either way keeps a connection alive. */
		if (k->proto == 6 && now >= r.in_seen_ns && now - r.in_seen_ns <= to)
			return;
	}
	if (!run_prog(bpf_program__fd(d->gc->progs.xcgn_gc_expire), &req, sizeof(req)) &&
	    req.result == XCGN_GC_EXPIRED)
		d->expired++;
}

/* One bounded step of the walk over the mappings. */
static void gc_step(struct daemon *d)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	uint64_t in = d->token, now;
	__u32 count = d->o.batch, i;
	int err;

	err = bpf_map_lookup_batch(d->m.map4, d->walking ? &in : NULL, &d->token, d->keys, d->vals,
				   &count, &bo);
	if (err && err != -ENOENT) {
		xcgn_err("walk mappings: %s", strerror(-err));
		d->walking = false;
		return;
	}
	now = xcgn_mono_ns();
	if (!d->walking) {
		d->pass_t0 = now;
		d->pass_busy = d->pass_seen = 0;
		d->pass_expired = d->expired;
	}
	for (i = 0; i < count; i++)
		expire_one(d, &d->keys[i], &d->vals[i], now);
	d->pass_seen += count;
	d->walking = err != -ENOENT;
	if (!d->walking)
		end_of_pass(d);
	d->pass_busy += xcgn_mono_ns() - now;
	if (!d->walking) {
		d->ds.gc_end_unix_ms = wall_ms(xcgn_mono_ns());
		d->ds.gc_wall_us = (xcgn_mono_ns() - d->pass_t0) / 1000;
		d->last_pass_seen = d->pass_seen;
		d->pass_done = true;
	}
	if (!d->walking && xcgn_verbose && d->pass_seen)
		fprintf(stderr,
			"xcgn daemon: pass %llu: %llu mappings examined, %llu expired, %.3f s "
			"wall, %.3f s busy\n",
			(unsigned long long)d->passes, (unsigned long long)d->pass_seen,
			(unsigned long long)(d->expired - d->pass_expired),
			(double)(xcgn_mono_ns() - d->pass_t0) / 1e9, (double)d->pass_busy / 1e9);
}

/* ---- setup --------------------------------------------------------------------- */

/* Follow the FIB: a netlink subscription, and one epoll over it and the
 * event ring buffer so that either wakes the loop. */
static int rpf_watch_setup(struct daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN };

	d->rw = rpf_watch_open();
	if (!d->rw) {
		xcgn_err("subscribe to route changes: %s", strerror(errno));
		return -errno;
	}
	d->ep = epoll_create1(EPOLL_CLOEXEC);
	if (d->ep < 0) {
		xcgn_err("epoll: %s", strerror(errno));
		return -errno;
	}
	ev.data.u32 = 0;
	if (epoll_ctl(d->ep, EPOLL_CTL_ADD, ring_buffer__epoll_fd(d->rb), &ev))
		return -errno;
	ev.data.u32 = 1;
	if (epoll_ctl(d->ep, EPOLL_CTL_ADD, rpf_watch_fd(d->rw), &ev))
		return -errno;
	return 0;
}

/* The scrape: the pins, and what only this daemon knows. */
static int metrics_render(void *ctx, FILE *f)
{
	struct daemon *d = ctx;
	struct metrics_daemon md = {
		.snap = d->snap.valid ? &d->snap : NULL,
		.started_unix = d->ds.started_unix,
		.passes = d->passes,
		.expired = d->expired,
		.released = d->released,
		.gc_end_unix_ms = d->ds.gc_end_unix_ms,
		.gc_wall_us = d->ds.gc_wall_us,
		.maps_seen = d->last_pass_seen,
		.maps_seen_valid = d->pass_done,
		.routes = d->rpf_routes,
		.routes_valid = d->rpf_sync_ms != 0,
		.rpf_failing = d->rpf_failing,
		.rpf_sync_unix_ms = d->rpf_sync_ms,
		.log = d->log.st,
		.queued = d->log.qlen,
		.pcp = d->pcp ? &d->pcp->st : NULL,
		.nh_moves = nh_keeper_moved(d->nh),
		.nh_running = nh_keeper_running(d->nh),
	};

	return metrics_write(f, &d->m, &md);
}

static void monitor_setup(struct daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 3 };
	const struct group *g = d->o.monitor_group ? getgrnam(d->o.monitor_group) : NULL;

	d->mon.group_set = g != NULL;
	d->mon.group = g ? g->gr_gid : 0;
	if (monitor_listen(&d->mon) ||
	    epoll_ctl(d->ep, EPOLL_CTL_ADD, d->mon.fd, &ev)) {
		fprintf(stderr, "xcgn daemon: no monitor socket: xcgn monitor will not work\n");
		monitor_close(&d->mon);
	}
}

static void pcp_record(void *ctx, const struct natlog_rec *r)
{
	record(ctx, r, 0, 0);
}

/* PCP: every daemon ends the lifetimes that ran out (a daemon started
 * without `pcp` too: what one with it left is never held forever); with
 * `pcp`, the server on the inside device, polled with the rest. */
static int pcp_setup(struct daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 4 };
	int err;

	d->pcp = calloc(1, sizeof(*d->pcp));
	if (!d->pcp)
		return -ENOMEM;
	d->pcp->cfg = d->o.pcp_cfg;
	d->pcp->record = pcp_record;
	d->pcp->record_ctx = d;
	err = pcp_server_init(d->pcp, &d->m, d->gc);
	if (err && !d->o.pcp) {	/* an instance older than PCP: nothing held */
		free(d->pcp);
		d->pcp = NULL;
		return 0;
	}
	if (!err && d->o.pcp)
		err = pcp_server_listen(d->pcp);
	if (!err && d->o.pcp && epoll_ctl(d->ep, EPOLL_CTL_ADD, d->pcp->fd, &ev)) {
		err = -errno;
		xcgn_err("poll the PCP socket: %s", strerror(-err));
	}
	return err;
}

static int ipfix_setup(struct daemon *d)
{
	int i, err;

	if (!d->o.nipfix)
		return 0;
	err = ipfix_open(&d->ipfix, d->o.ipfix_domain_set ? d->o.ipfix_domain : d->o.node);
	for (i = 0; !err && i < d->o.nipfix; i++)
		err = ipfix_add_collector(&d->ipfix, d->o.ipfix[i]);
	return err;
}

static int metrics_setup(struct daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 2 };
	int fd;

	if (!d->o.metrics)
		return 0;
	d->http = metrics_http_start(d->o.metrics, metrics_render, d);
	if (!d->http)
		return -errno;
	fd = metrics_http_fd(d->http);
	if (fd < 0 || epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev)) {
		xcgn_err("poll the metrics endpoint: %s", strerror(errno));
		return -EIO;
	}
	fprintf(stderr, "xcgn daemon: metrics on http://%s/metrics\n", d->o.metrics);
	return 0;
}

/* Wait up to @ms for events or FIB changes; handle the events. A change
 * brings the table sync forward to 50 ms from now: a burst of route
 * updates (a routing daemon converging) costs one re-read, not one each. */
static int daemon_wait(struct daemon *d, int ms)
{
	struct epoll_event evs[4];
	uint64_t now = xcgn_mono_ns();
	int n, i, err;

	if (d->rpf_due > now && d->rpf_due - now < (uint64_t)ms * 1000000ULL)
		ms = (int)((d->rpf_due - now) / 1000000ULL) + 1;
	n = epoll_wait(d->ep, evs, 4, ms);
	if (n < 0 && errno != EINTR) {
		xcgn_err("wait for events: %s", strerror(errno));
		return -errno;
	}
	for (i = 0; i < n; i++) {
		if (evs[i].data.u32 == 3)
			monitor_accept(&d->mon);
		if (evs[i].data.u32 == 4)
			pcp_server_run(d->pcp);
		if (evs[i].data.u32 == 1 && rpf_watch_changed(d->rw)) {
			d->dp_due = 0;	/* a device may have gone down */
			now = xcgn_mono_ns() + 50000000ULL;
			if (d->rpf_due > now)
				d->rpf_due = now;
		}
	}
	metrics_http_run(d->http);	/* its requests and its timeouts */
	ipfix_flush(&d->ipfix);		/* what the last turn recorded */
	err = ring_buffer__consume(d->rb);
	if (err < 0 && err != -EINTR) {
		xcgn_err("read events: %s", strerror(-err));
		return err;
	}
	return 0;
}

/* ---- the instance: one daemon, told to systemd, following attach -------- */

/* One daemon per instance: an flock on the version's pin directory, held
 * for life. The holder's PID is in xcgn_dstat. */
static int instance_lock(struct daemon *d)
{
	struct xcgn_dstat ds = {};
	__u32 zero = 0;
	int fd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), tries;

	if (fd < 0) {
		xcgn_err("open %s: %s", d->dir, strerror(errno));
		return -errno;
	}
	/* `xcgn link show` probes the lock for an instant: a few tries. */
	for (tries = 0; flock(fd, LOCK_EX | LOCK_NB) && errno == EWOULDBLOCK && tries < 10; tries++)
		usleep(20000);
	if (tries == 10) {
		int err = -EWOULDBLOCK;

		bpf_map_lookup_elem(d->m.dstat, &zero, &ds);
		close(fd);
		if (err == -EWOULDBLOCK) {
			xcgn_err("another xcgn daemon (pid %u) runs for this instance; one is "
				 "enough (it would split the NAT log)",
				 ds.pid);
			return -EEXIST;
		}
		xcgn_err("lock %s: %s", d->dir, strerror(-err));
		return err;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int err = -errno;

		xcgn_err("lock %s: %s", d->dir, strerror(-err));
		close(fd);
		return err;
	}
	return fd;	/* kept open: the lock lives as long as we do */
}

/* Is a daemon running for the instance under @dir? Its PID, or 0. */
uint32_t xcgn_daemon_pid(const char *dir, int dstat_fd)
{
	struct xcgn_dstat ds = {};
	__u32 zero = 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool held;

	if (fd < 0)
		return 0;
	held = flock(fd, LOCK_EX | LOCK_NB) && errno == EWOULDBLOCK;
	close(fd);
	if (!held || bpf_map_lookup_elem(dstat_fd, &zero, &ds))
		return 0;
	return ds.pid ? ds.pid : 1;
}

/* The id of the map pinned as the instance's stamp: it changes (or goes)
 * when the instance is detached or attached anew. */
static uint32_t stamp_id(const char *dir)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, xcgn_map_names[XCGN_MI_abi]);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.id = 0;
	close(fd);
	return info.id;
}

/* systemd's notification protocol (sd_notify(3)): one datagram to the
 * socket NOTIFY_SOCKET names; nothing when it is unset. */
static void notify_setup(struct daemon *d)
{
	const char *path = getenv("NOTIFY_SOCKET"), *wd = getenv("WATCHDOG_USEC");
	size_t len;

	d->notify_fd = -1;
	if (!path || (path[0] != '/' && path[0] != '@') ||
	    (len = strlen(path)) >= sizeof(d->notify_addr.sun_path))
		return;
	d->notify_addr.sun_family = AF_UNIX;
	memcpy(d->notify_addr.sun_path, path, len);
	if (path[0] == '@')
		d->notify_addr.sun_path[0] = '\0';	/* abstract namespace */
	d->notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	d->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (wd)
		d->watchdog_ns = strtoull(wd, NULL, 10) * 1000ULL / 2;	/* twice per period */
}

static void notify(struct daemon *d, const char *msg)
{
	if (d->notify_fd >= 0 &&
	    sendto(d->notify_fd, msg, strlen(msg), MSG_NOSIGNAL,
		   (const struct sockaddr *)&d->notify_addr, d->notify_len) < 0 &&
	    xcgn_verbose)
		fprintf(stderr, "xcgn daemon: notify systemd: %s\n", strerror(errno));
}

static void dstat_publish(struct daemon *d)
{
	__u32 zero = 0;

	d->ds.written = d->log.st.written;
	d->ds.recovered = d->log.st.recovered;
	d->ds.lost = d->log.st.lost;
	d->ds.write_errors = d->log.st.write_errors;
	d->ds.queued = d->log.qlen;
	d->ds.last_errno = d->log.st.last_errno;
	bpf_map_update_elem(d->m.dstat, &zero, &d->ds, 0);
}

static uint64_t stat_sum(struct daemon *d, enum xcgn_stat which)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	struct xcgn_stats *v;
	uint64_t sum = 0;
	__u32 zero = 0;

	if (ncpu <= 0 || !(v = calloc((size_t)ncpu, sizeof(*v))))
		return 0;
	if (!bpf_map_lookup_elem(d->m.stats, &zero, v))
		for (c = 0; c < ncpu; c++)
			sum += v[c].stat[which];
	free(v);
	return sum;
}

/* Once a second: the log's queue, its sync, losses to recover, the
 * report, systemd, and whether the instance is still there. Returns
 * false when it is gone. */
static bool each_second(struct daemon *d, uint64_t now)
{
	uint64_t lost_ev = stat_sum(d, XCGN_STAT_EVENT_LOST);

	flush_suppressed(d);
	natlog_flush(&d->log);
	natlog_sync(&d->log, now, false);
	if (lost_ev != d->events_lost_seen || d->log.st.lost != d->log_lost_seen)
		d->reconcile_due = true;
	if (d->reconcile_due && !d->log.qlen) {
		d->events_lost_seen = lost_ev;
		d->log_lost_seen = d->log.st.lost;
		if (reconcile_log(d))
			d->reconcile_due = true;
	}
	if (d->pcp)
		pcp_server_sweep(d->pcp);
	/* The aggregates a scrape reads, taken here every 5 s in batches:
	 * scrapes, however many, walk nothing (metrics.c). */
	if (d->http && ++d->snap_age >= 5) {
		d->snap_age = 0;
		if (metrics_snapshot(&d->m, &d->snap))
			d->snap.valid = false;	/* the next scrape walks, as the CLI does */
	}
	dstat_publish(d);
	return stamp_id(d->dir) == d->abi_id;
}

static int daemon_run(struct daemon *d)
{
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t next_gc = 0, next_second = 0, next_watchdog = 0, *owned;
	int err, lock = -1;
	bool detached = false;

	notify_setup(d);
	if (xcgn_pin_dir(d->dir, sizeof(d->dir)) || xcgn_maps_open(&d->m))
		return XCGN_EXIT_ERR;
	d->abi_id = stamp_id(d->dir);
	announce_watch_init(&d->aw);
	lock = instance_lock(d);
	if (lock < 0) {
		err = lock;
		goto out;
	}
	libbpf_set_print(NULL);
	d->gc = xcgn_ctl_load();
	if (!d->gc) {
		err = -errno;
		goto out;
	}
	d->npools = xcgn_npools(&d->m);
	d->naddrs = xcgn_naddrs(&d->m);
	d->bitmap_len = (size_t)d->naddrs * sizeof(struct xcgn_blkmap);
	d->bitmap = mmap(NULL, d->bitmap_len, PROT_READ | PROT_WRITE, MAP_SHARED, d->m.blocks, 0);
	if (d->bitmap == MAP_FAILED) {
		d->bitmap = NULL;
		err = -errno;
		xcgn_err("mmap the block bitmaps: %s", strerror(-err));
		goto out;
	}
	d->keys = calloc(d->o.batch, sizeof(*d->keys));
	d->vals = calloc(d->o.batch, sizeof(*d->vals));
	if (!d->keys || !d->vals) {
		err = -ENOMEM;
		goto out;
	}
	err = natlog_open(&d->log, d->o.log_path, d->o.use_syslog, d->o.sync_ms);
	if (err)
		goto out;
	d->log.on_written = on_written;
	d->log.ctx = d;
	d->rl.per_s = d->o.refuse_per_s;
	d->ds.pid = (__u32)getpid();
	d->ds.sync_ms = d->o.sync_ms;
	d->ds.started_unix = (uint64_t)time(NULL);
	snprintf(d->ds.log_path, sizeof(d->ds.log_path), "%s", d->o.log_path ? d->o.log_path : "");
	d->rb = ring_buffer__new(d->m.events, on_event, d, NULL);
	if (!d->rb || ring_buffer__add(d->rb, d->m.refusals, on_event, d)) {
		err = d->rb ? -errno : -errno;
		xcgn_err("open the event ring buffers: %s", strerror(-err));
		goto out;
	}
	err = pools_refresh(d);
	if (err)
		goto out;
	/* The log first (what the rings hold, then what they lost), then
	 * the blocks: a block is quarantined only once its release is in. */
	d->events_lost_seen = stat_sum(d, XCGN_STAT_EVENT_LOST);
	mark_last_record(d);
	err = reconcile_log(d);
	owned = err ? NULL : owned_blocks(d);
	if (!err && !owned)
		err = -ENOMEM;
	if (!err) {
		err = reconcile_quarantine(d, owned);
		free(owned);
	}
	if (err)
		goto out;
	err = rpf_watch_setup(d);
	if (!err)
		err = metrics_setup(d);
	if (!err && d->http && metrics_snapshot(&d->m, &d->snap))
		d->snap.valid = false;
	if (!err)
		err = ipfix_setup(d);
	if (!err && d->o.nipfix)
		err = pools_refresh(d);	/* the deterministic bindings, now there is a socket */
	if (!err)
		err = pcp_setup(d);
	if (!err)
		monitor_setup(d);	/* without it the daemon still does its work */
	if (err)
		goto out;
	/* Set up: from here on, only what the daemon uses (its thread too,
	 * started after this). It parses PCP from subscribers and HTTP. */
	err = xcgn_caps_drop_to_runtime();
	if (err)
		fprintf(stderr, "xcgn daemon: warning: could not drop capabilities: %s\n",
			strerror(-err));
	{
		struct xcgn_link_info li = {};

		xcgn_link_read(&d->m, &li);	/* unread (0): every neighbour counts */
		d->nh = nh_keeper_start(d->m.nhctl, (int)li.inside_ifindex, (int)li.outside_ifindex);
		if (!d->nh)
			fprintf(stderr, "xcgn daemon: warning: no next-hop cache (%s): every packet "
					"asks the FIB\n",
				strerror(errno));
	}

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	fprintf(stderr, "xcgn daemon: pid %d, collecting every %u ms, %u mappings a step, time "
			"scale 1/%u, NAT log %s%s (fdatasync every %u ms)\n",
		getpid(), d->o.interval_ms, d->o.batch, d->o.scale,
		d->o.log_path ? d->o.log_path : "(none)", d->o.use_syslog ? " and syslog" : "",
		d->o.sync_ms);
	dstat_publish(d);
	notify(d, "READY=1\nSTATUS=collecting");

	while (!stop_flag) {
		uint64_t now;

		/* Events first, always: a long GC never starves the log. */
		err = daemon_wait(d, (int)d->o.interval_ms / 4 + 1);
		if (err)
			break;
		if (reopen_flag) {
			reopen_flag = 0;
			natlog_reopen(&d->log);
		}
		now = xcgn_mono_ns();
		if (now >= next_gc) {
			if (!d->walking)
				pools_refresh(d);
			gc_step(d);
			next_gc = now + (uint64_t)d->o.interval_ms * 1000000ULL;
		}
		quarantine_process(d, now);
		natlog_sync(&d->log, now, false);
		if (now >= d->dp_due) {
			int r = announce_watch(&d->aw, &d->m, d->dir);

			if (r == 1)
				fprintf(stderr, "xcgn daemon: the datapath stopped working (an XDP link "
						"detached, or a device gone or down): routes withdrawn\n");
			else if (r == 2)
				fprintf(stderr, "xcgn daemon: the datapath works again: routes "
						"announced in table %u\n", d->aw.table);
			d->dp_due = now + 250000000ULL;
		}
		if (now >= d->rpf_due) {
			/* Also every second: accept_local and route_localnet
			 * changes send no notification. */
			/* Under the configuration lock, or a `xcgn rpf mode`
			 * could be undone; when someone holds it, soon again. */
			int cl = xcgn_trylock();

			if (cl >= 0) {
				struct rpf_sync_stats sst;
				unsigned int seen = nh_keeper_changes(d->nh);
				int serr = rpf_sync_cached(&d->m, &sst, d->rpf_failing,
							   &d->rpf_digest);

				nh_keeper_fib(d->nh, seen, sst.nh_simple);

				if (!serr) {
					d->rpf_routes = sst.routes;
					d->rpf_sync_ms = wall_ms(xcgn_mono_ns());
				}
				if (!serr && d->mon.fd >= 0 &&
				    sst.added + sst.changed + sst.removed) {
					char line[160];
					int n = snprintf(line, sizeof(line),
							 "{\"ts_ms\":%llu,\"event\":\"rpf\","
							 "\"routes\":%zu,\"added\":%zu,\"changed\":"
							 "%zu,\"removed\":%zu}",
							 (unsigned long long)d->rpf_sync_ms,
							 sst.routes, sst.added, sst.changed,
							 sst.removed);

					monitor_send(&d->mon, line, (size_t)n);
				}

				xcgn_unlock(cl);
				if (!serr && d->rpf_failing)
					fprintf(stderr, "xcgn daemon: reverse-path tables in step again\n");
				d->rpf_failing = serr != 0;
				d->rpf_due = now + d->o.rpf_resync_ms * 1000000ULL;
			} else {
				d->rpf_due = now + 100000000ULL;
			}
		}
		if (d->watchdog_ns && now >= next_watchdog) {
			notify(d, "WATCHDOG=1");
			next_watchdog = now + d->watchdog_ns;
		}
		if (now >= next_second) {
			if (!each_second(d, now)) {
				detached = true;
				break;
			}
			next_second = now + 1000000000ULL;
		}
	}
	notify(d, "STOPPING=1");
	ring_buffer__consume(d->rb);
	if (detached) {
		/* The instance is gone, and with it every block it held: each
		 * gets its release now. A new attach gets a new daemon. */
		fprintf(stderr, "xcgn daemon: xcgn was detached (or attached anew) in this "
				"namespace; releasing what it held and exiting\n");
		release_all_logged(d);
	}
	flush_suppressed(d);
	natlog_flush(&d->log);
	natlog_sync(&d->log, xcgn_mono_ns(), true);
	if (!detached)
		dstat_publish(d);
	fprintf(stderr, "xcgn daemon: exiting; %llu mapping(s) expired, %llu subscriber(s) "
			"released, %zu block(s) still in quarantine, NAT log: %llu written, %llu "
			"recovered, %llu lost, %zu queued\n",
		(unsigned long long)d->expired, (unsigned long long)d->released, d->q.n,
		(unsigned long long)d->log.st.written, (unsigned long long)d->log.st.recovered,
		(unsigned long long)d->log.st.lost, d->log.qlen);
	err = d->log.qlen ? -EIO : 0;	/* records that never reached the file */
out:
	if (d->ep >= 0)
		close(d->ep);
	if (d->pcp) {
		pcp_server_close(d->pcp);
		free(d->pcp);
	}
	metrics_http_stop(d->http);
	if (d->o.nipfix)
		ipfix_close(&d->ipfix);
	monitor_close(&d->mon);
	nh_keeper_stop(d->nh);
	rpf_watch_close(d->rw);
	ring_buffer__free(d->rb);
	natlog_close(&d->log);
	if (d->bitmap)
		munmap(d->bitmap, d->bitmap_len);
	free(d->keys);
	free(d->vals);
	quarantine_free(&d->q);
	xcgn_gc__destroy(d->gc);
	xcgn_maps_close(&d->m);
	if (d->notify_fd >= 0)
		close(d->notify_fd);
	if (lock >= 0)
		close(lock);
	return err ? XCGN_EXIT_ERR : XCGN_EXIT_OK;
}

static int usage(void)
{
	fprintf(usage_fp(),
		"Usage: xcgn daemon [config FILE] [log-file PATH] [syslog] [log-sync MS]\n"
		"                   [gc-interval MS] [gc-batch N] [quarantine S] [refusal-rate N]\n"
		"                   [rpf-resync MS] [metrics ADDR:PORT] [ipfix ADDR:PORT]...\n"
		"                   [ipfix-domain N] [node N] [pcp] [pcp-lifetime MIN-MAX]\n"
		"                   [pcp-mappings N] [pcp-rate N] [pcp-share PERCENT]\n"
		"                   [pcp-third-party PREFIX]...\n"
		"                   [monitor-group GROUP] [time-scale N]\n"
		"       xcgn daemon help\n"
		"config FILE applies the configuration file first (xcgn config apply FILE)\n"
		"and takes the options of its daemon line; options given here come after.\n"
		"Runs in the foreground until SIGTERM or SIGINT; SIGHUP reopens the log file.\n"
		"One daemon per instance; it exits when xcgn is detached. Under systemd\n"
		"(Type=notify) it reports readiness and keeps the watchdog.\n"
		"The log directory is made if missing (0750), the file is 0640, each record\n"
		"is one write; log-sync (default 1000) is the most time between fdatasyncs\n"
		"(0: after every record). Records the disk will not take wait in memory\n"
		"(at most 65536) and are retried; what is lost is recovered from the tables.\n"
		"Defaults: log-file %s, gc-interval 1000, gc-batch %u, quarantine %u,\n"
		"refusal-rate 100 (records a second), rpf-resync 1000 (ms between full\n"
		"re-reads of the FIB besides the netlink subscription: some sysctls send no\n"
		"notice). metrics serves the Prometheus text exposition at\n"
		"http://ADDR:PORT/metrics (xcgn stats metrics prints the same, less the\n"
		"daemon's own figures). ipfix sends every NAT event the log gets to the\n"
		"collector over UDP (RFC 7011/8158: port block allocation and de-allocation,\n"
		"quota exceeded, addresses exhausted; up to 4 collectors; templates every\n"
		"60 s; ipfix-domain is the observation domain, default the node's id, else 0).\n"
		"node N (1 to %u; in a configuration file, its cluster node) is written in\n"
		"every NAT log record: xcgn log who answers from the logs of all nodes.\n"
		"pcp answers the Port Control Protocol (RFC 6887: ANNOUNCE, MAP, PEER) and\n"
		"NAT-PMP (RFC 6886) on UDP port 5351 of the inside device, to subscribers\n"
		"that pass the reverse-path check: a mapping on the subscriber's public\n"
		"address and blocks, open to every remote, for the lifetime asked (bounded\n"
		"by pcp-lifetime, default 120-86400 s), logged (pcp_map, pcp_end). At most\n"
		"pcp-mappings (default 64) a subscriber, pcp-rate (default 10) requests a\n"
		"second from each (burst 2x); THIRD_PARTY only from the clients within a\n"
		"pcp-third-party prefix (up to 8), none by default.\n"
		"A subscriber a request makes (it had no entry), while it carries no traffic\n"
		"of its own, holds mappings no longer than its pool's UDP timer, and all such\n"
		"subscribers together at most pcp-share percent (default 25) of the pools'\n"
		"blocks: past it, NO_RESOURCES. Requests from spoofed sources then cannot\n"
		"hold the pool, and most of it stays for traffic.\n"
		"xcgn monitor is served to root, and to the members of monitor-group.\n"
		"time-scale divides every timer and the quarantine:\n"
		"for tests only.\n",
		XCGN_DEF_NATLOG, GC_BATCH_DEF, XCGN_DEF_QUARANTINE, XCGN_NODE_MAX);
	return usage_status();
}

static void daemon_opts_init(struct daemon_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->log_path = XCGN_DEF_NATLOG;
	o->scale = 1;
	o->interval_ms = 1000;
	o->quarantine_s = XCGN_DEF_QUARANTINE;
	o->batch = GC_BATCH_DEF;
	o->refuse_per_s = 100;
	o->rpf_resync_ms = 1000;
	o->sync_ms = 1000;
	pcp_config_default(&o->pcp_cfg);
}

/* "MIN-MAX" seconds, 1 <= MIN <= MAX <= a week. */
static int parse_lifetimes(const char *s, uint32_t *lo, uint32_t *hi)
{
	char buf[32], *dash;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (!dash)
		return -1;
	*dash = '\0';
	if (parse_u32(buf, 1, 7 * 86400, lo) || parse_u32(dash + 1, 1, 7 * 86400, hi))
		return -1;
	return *lo > *hi ? -1 : 0;
}

/* The daemon's options over *@o; `config FILE` is taken by do_daemon. */
static int daemon_opts_parse(int argc, char **argv, struct daemon_opts *o)
{
	for (; argc > 0; argc--, argv++) {
		if (!strcmp(*argv, "log-file")) {
			NEXT_ARG();
			if (strlen(*argv) >= sizeof(((struct natlog *)0)->path)) {
				xcgn_err("log-file \"%s\" is longer than %zu characters", *argv,
					 sizeof(((struct natlog *)0)->path) - 1);
				return XCGN_EXIT_USAGE;
			}
			o->log_path = strcmp(*argv, "none") ? *argv : NULL;
		} else if (!strcmp(*argv, "syslog")) {
			o->use_syslog = true;
		} else if (!strcmp(*argv, "ipfix")) {
			uint32_t a;
			uint16_t port;

			NEXT_ARG();
			if (parse_addr_port(*argv, &a, &port))
				return invarg("ipfix collector (ADDR:PORT, an IPv4 address)", *argv);
			if (o->nipfix == IPFIX_COLLECTORS_MAX) {
				xcgn_err("at most %d ipfix collectors", IPFIX_COLLECTORS_MAX);
				return XCGN_EXIT_USAGE;
			}
			o->ipfix[o->nipfix++] = *argv;
		} else if (!strcmp(*argv, "ipfix-domain")) {
			NEXT_ARG();
			if (arg_u32("ipfix-domain", *argv, 0, UINT32_MAX, &o->ipfix_domain))
				return XCGN_EXIT_USAGE;
			o->ipfix_domain_set = true;
		} else if (!strcmp(*argv, "metrics")) {
			uint32_t a;
			uint16_t port;

			NEXT_ARG();
			if (parse_addr_port(*argv, &a, &port))
				return invarg("metrics (ADDR:PORT, an IPv4 address)", *argv);
			o->metrics = *argv;
		} else if (!strcmp(*argv, "gc-interval")) {
			NEXT_ARG();
			if (arg_u32("gc-interval (ms)", *argv, 10, 60000, &o->interval_ms))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "gc-batch")) {
			NEXT_ARG();
			if (arg_u32("gc-batch", *argv, 16, 1u << 20, &o->batch))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "quarantine")) {
			NEXT_ARG();
			if (arg_u32("quarantine (seconds)", *argv, 0, 86400, &o->quarantine_s))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "rpf-resync")) {
			NEXT_ARG();
			if (arg_u32("rpf-resync (ms)", *argv, 100, 3600000, &o->rpf_resync_ms))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "log-sync")) {
			NEXT_ARG();
			if (arg_u32("log-sync (ms)", *argv, 0, 3600000, &o->sync_ms))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "refusal-rate")) {
			NEXT_ARG();
			if (arg_u32("refusal-rate", *argv, 1, 100000, &o->refuse_per_s))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "node")) {
			NEXT_ARG();
			if (arg_u32("node", *argv, 1, XCGN_NODE_MAX, &o->node))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "monitor-group")) {
			NEXT_ARG();
			if (!getgrnam(*argv)) {
				xcgn_err("invalid monitor-group \"%s\" (no such group)", *argv);
				return XCGN_EXIT_USAGE;
			}
			o->monitor_group = *argv;
		} else if (!strcmp(*argv, "pcp")) {
			o->pcp = true;
		} else if (!strcmp(*argv, "pcp-third-party")) {
			struct pcp_config *pc = &o->pcp_cfg;
			uint32_t pfx;
			uint8_t plen;

			NEXT_ARG();
			if (parse_prefix(*argv, &pfx, &plen)) {
				xcgn_err("invalid pcp-third-party \"%s\" (the clients that may ask for "
					 "another subscriber: a prefix, a.b.c.d/len)", *argv);
				return XCGN_EXIT_USAGE;
			}
			if (pc->nthird_party == PCP_THIRD_PARTY_MAX) {
				xcgn_err("pcp-third-party: at most %d prefixes", PCP_THIRD_PARTY_MAX);
				return XCGN_EXIT_USAGE;
			}
			pc->third_party[pc->nthird_party].prefix = pfx;
			pc->third_party[pc->nthird_party++].plen = plen;
			o->pcp_opts = true;
		} else if (!strcmp(*argv, "pcp-mappings")) {
			NEXT_ARG();
			if (arg_u32("pcp-mappings", *argv, 1, XCGN_PCP_MAX, &o->pcp_cfg.max_per_sub))
				return XCGN_EXIT_USAGE;
			o->pcp_opts = true;
		} else if (!strcmp(*argv, "pcp-rate")) {
			NEXT_ARG();
			if (arg_u32("pcp-rate", *argv, 1, 10000, &o->pcp_cfg.rate))
				return XCGN_EXIT_USAGE;
			o->pcp_opts = true;
		} else if (!strcmp(*argv, "pcp-share")) {
			NEXT_ARG();
			if (arg_u32("pcp-share (percent of the pools' blocks)", *argv, 1, 100,
				    &o->pcp_cfg.share_pct))
				return XCGN_EXIT_USAGE;
			o->pcp_opts = true;
		} else if (!strcmp(*argv, "pcp-lifetime")) {
			uint32_t lo, hi;

			NEXT_ARG();
			if (parse_lifetimes(*argv, &lo, &hi))
				return invarg("pcp-lifetime (MIN-MAX seconds, 1 to 604800)", *argv);
			o->pcp_cfg.min_lifetime_s = lo;
			o->pcp_cfg.max_lifetime_s = hi;
			o->pcp_opts = true;
		} else if (!strcmp(*argv, "time-scale")) {
			NEXT_ARG();
			if (arg_u32("time-scale", *argv, 1, 10000, &o->scale))
				return XCGN_EXIT_USAGE;
		} else {
			xcgn_err("unknown argument \"%s\" to daemon; try \"xcgn daemon help\"",
				 *argv);
			return XCGN_EXIT_USAGE;
		}
	}
	return 0;
}

int daemon_args_check(int argc, char **argv)
{
	struct daemon_opts o;

	daemon_opts_init(&o);
	return daemon_opts_parse(argc, argv, &o);
}

static int do_daemon(int argc, char **argv)
{
	static struct daemon d;
	static struct xcgn_config cfg;
	struct daemon_opts *o = &d.o;
	int ret;

	memset(&d, 0, sizeof(d));
	d.ep = -1;
	d.ipfix.fd = -1;
	d.mon.fd = -1;
	for (int i = 0; i < MONITOR_CLIENTS_MAX; i++)
		d.mon.client[i] = -1;
	daemon_opts_init(o);
	/* config FILE first: the file is applied, its daemon options are
	 * taken, and the command line's come after them. */
	if (argc > 1 && !strcmp(*argv, "config")) {
		if (config_load(argv[1], &cfg))
			return XCGN_EXIT_USAGE;
		ret = config_apply(&cfg, false);
		if (ret)
			return ret;
		o->node = cfg.cluster.node;
		ret = daemon_opts_parse(cfg.daemon_argc, cfg.daemon_argv, o);
		if (ret)
			return ret;
		argc -= 2;
		argv += 2;
	}
	ret = daemon_opts_parse(argc, argv, o);
	if (!ret && o->pcp_opts && !o->pcp) {
		xcgn_err("pcp-lifetime, pcp-mappings, pcp-rate and pcp-third-party need pcp");
		ret = XCGN_EXIT_USAGE;
	}
	return ret ? ret : daemon_run(&d);
}

const struct xcgn_object xcgn_obj_daemon = {
	.name = "daemon",
	.usage = usage,
	.fn = do_daemon,
};
