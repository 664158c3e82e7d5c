// SPDX-License-Identifier: GPL-2.0
/* The record stream: the datapath's events (allocations from one ring,
 * refusals from the other) and what the daemon itself decides (releases,
 * recovered records, deterministic bindings, PCP mappings) become NAT
 * records, and every record goes to every sink (sinks.h). The NAT log
 * tells each one back once it is in the file, and xcgn_blklog marks it
 * then: what a crash loses, the reconcile (blocks.c) finds unmarked. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon/internal.h"
#include "xcgn_gc.skel.h"

/* Wall-clock ms of a CLOCK_MONOTONIC stamp from the datapath. */
uint64_t wall_ms(uint64_t mono)
{
	struct timespec rt;
	uint64_t now_rt, now_mono = xcgn_mono_ns();

	clock_gettime(CLOCK_REALTIME, &rt);
	now_rt = (uint64_t)rt.tv_sec * 1000000000ULL + (uint64_t)rt.tv_nsec;
	return (now_rt - (now_mono - (mono < now_mono ? mono : now_mono))) / 1000000ULL;
}

/* RFC 7422 pools map subscribers by arithmetic and log nothing per
 * subscriber; the IPFIX collectors get each subscriber's static binding
 * (a port block allocation record) once per configuration: at start and
 * whenever a deterministic pool changes. */
uint64_t ipfix_deterministic(struct daemon *d, const struct xcgn_pool *p)
{
	uint64_t n = 1ULL << (32 - p->det_plen), i, now = wall_ms(xcgn_mono_ns()), sent = 0;
	uint32_t sub, paddr;
	uint16_t lo, hi;

	for (i = 0; i < n; i++) {
		sub = htonl(ntohl(p->det_prefix) + (uint32_t)i);
		if (det_forward(p, sub, &paddr, &lo, &hi))
			continue;
		ipfix_block(&d->ipfix, now, true, sub, paddr, lo, hi);
		sent++;
	}
	ipfix_flush(&d->ipfix);
	return sent;
}

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

	record(d, &r, 0);
}

int pools_refresh(struct daemon *d)
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

/* What a record does to xcgn_blklog once it is in the file: the tag of
 * natlog_write, told back by on_written. */
_Static_assert((uint64_t)XCGN_PADDRS_MAX * XCGN_BLKS_PER_ADDR_MAX <= 1u << TAG_KEY_BITS,
	       "a block key fits the tag's key bits");
_Static_assert(TAG_KEY_BITS + 32 <= 62, "the subscriber fits below the tag's kind");
uint64_t tag_of(uint64_t kind, __be32 sub, __u32 key)
{
	return kind | (uint64_t)sub << TAG_KEY_BITS | key;
}

void on_written(void *ctx, uint64_t tag)
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
void mark_last_record(struct daemon *d)
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

/* A record to every sink: the NAT log, the monitors, the IPFIX
 * collectors each take what they say of it. */
void record(struct daemon *d, const struct natlog_rec *rec, uint64_t tag)
{
	struct natlog_rec r = *rec;

	r.node = d->o.node;	/* every record names its node */
	sinks_write(&d->sinks, &r, tag);
}

/* A refusal's quota for IPFIX: the subscriber's pool's blocks, 0 when
 * it has no entry. */
static uint32_t refusal_quota(struct daemon *d, __be32 sub)
{
	struct xcgn_sub s;

	if (!d->o.nipfix || bpf_map_lookup_elem(d->m.subs, &sub, &s) || s.pool_id >= XCGN_POOLS_MAX)
		return 0;
	return d->pools[s.pool_id].max_blocks;
}

int on_event(void *ctx, void *data, size_t size)
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
		r.drop = ev->reason;
		r.quota = refusal_quota(d, ev->sub);
		break;
	default:
		return 0;
	}
	record(d, &r, tag);
	return 0;
}

void flush_suppressed(struct daemon *d)
{
	struct natlog_rec r = { .event = "refusals_suppressed" };

	r.count = refusal_take_suppressed(&d->rl);
	if (!r.count)
		return;
	r.ts_ms = wall_ms(xcgn_mono_ns());
	record(d, &r, 0);	/* a count: no IPFIX event says it */
}
