// SPDX-License-Identifier: GPL-2.0
/* The blocks: released ones rest in quarantine before they can be handed
 * out again (RFC 6888 REQ-8); at start and after a loss, the NAT log and
 * the quarantine are reconciled with what the tables hold. */
#include <errno.h>
#include <syslog.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon/internal.h"
#include "xcgn_gc.skel.h"

void bit_clear(struct daemon *d, uint32_t idx, uint32_t blk)
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
uint64_t *owned_blocks(struct daemon *d)
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
void quarantine_process(struct daemon *d, uint64_t now)
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
int reconcile_quarantine(struct daemon *d, const uint64_t *owned)
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
		xcgn_logf(LOG_WARNING, "xcgn daemon: %u block(s) taken but unheld: quarantined\n", n);
	return 0;
}

/* A record of block @key for @sub: recovered from the tables, or (with a
 * @reason) written for it. */
void log_block(struct daemon *d, const char *event, __be32 sub, __u32 key, uint64_t ts_ms,
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
	record(d, &r, tag_of(*event == 'a' ? TAG_ALLOC : TAG_RELEASE, sub, key));
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

int reconcile_log(struct daemon *d)
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
		xcgn_logf(LOG_INFO, "xcgn daemon: %zu NAT log record(s) recovered from the tables\n", n);
	d->reconcile_due = false;
	return 0;
}

/* IPFIX over UDP loses for good what a collector misses (it was down, a
 * datagram dropped): every ipfix-interim seconds each held block's
 * allocation goes again, with the time it was taken, so a collector that
 * has it sees the same record twice and one that lost it has it now; and
 * each deterministic pool's bindings. Returns the records sent. */
uint64_t ipfix_interim(struct daemon *d)
{
	uint64_t now = wall_ms(xcgn_mono_ns()), n = 0, ts;
	__be32 key, *prev = NULL;
	struct xcgn_sub s;
	__u32 id, k;
	int i;

	ipfix_templates_now(&d->ipfix);
	while (!bpf_map_get_next_key(d->m.subs, prev, &key)) {
		const struct xcgn_pool *p;

		prev = &key;
		if (bpf_map_lookup_elem(d->m.subs, &key, &s) || s.addr != key ||
		    (s.nmaps & XCGN_SUB_DEAD))
			continue;
		p = &d->pools[s.pool_id % XCGN_POOLS_MAX];
		if (p->flags & XCGN_POOLF_DETERMINISTIC)
			continue;
		for (i = 0; i < XCGN_SUB_BLOCKS_MAX; i++) {
			uint16_t lo;

			if (!s.blocks[i] || s.blocks[i] > XCGN_BLKS_PER_ADDR_MAX)
				continue;
			k = xcgn_blk_key(s.addr_idx, s.blocks[i] - 1);
			ts = 0;
			bpf_map_lookup_elem(d->m.blkts, &k, &ts);
			lo = (uint16_t)(p->port_lo + (s.blocks[i] - 1) * p->block_size);
			ipfix_block_at(&d->ipfix, now,
				       wall_ms(recovered_alloc_ns(ts, s.created_ns, i == 0)), true,
				       key, s.paddr, lo, (uint16_t)(lo + p->block_size - 1));
			n++;
		}
	}
	for (id = 0; id < d->npools; id++) {
		const struct xcgn_pool *p = &d->pools[id];

		if ((p->flags & XCGN_POOLF_ACTIVE) && (p->flags & XCGN_POOLF_DETERMINISTIC))
			n += ipfix_deterministic(d, p);
	}
	ipfix_flush(&d->ipfix);
	return n;
}

/* Every block the log has as held gets its release, now (the instance
 * was detached: nobody holds anything any more). */
void release_all_logged(struct daemon *d)
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
