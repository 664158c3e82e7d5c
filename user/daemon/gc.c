// SPDX-License-Identifier: GPL-2.0
/* The collector: it walks the mappings in bounded batches and expires
 * what the RFC timers say is idle, and takes subscribers with no mapping
 * left out of service, their blocks into quarantine.
 *
 * Removal goes through the xcgn_gc_* programs (bpf/xcgn_gc.bpf.c), which
 * re-check in the kernel that an entry is as idle as it was read, and count
 * the subscriber's mappings down atomically. */
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

static uint64_t mapping_timeout(const struct daemon *d, const struct xcgn_tuple4 *k,
				const struct xcgn_map4 *v)
{
	return mapping_timeout_ns(&d->pools[v->pool_id % XCGN_POOLS_MAX], k->proto, v->tcp,
				  d->o.scale);
}

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
		record(d, &r, tag_of(TAG_RELEASE, addr, xcgn_blk_key(req.sub.addr_idx, blk)));
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

/* The batch handed to the kernel: one BPF_PROG_RUN expires them all,
 * each re-checked there (its stamps, TCP's inbound one too). */
static void expire_flush(struct daemon *d, uint64_t now)
{
	struct xcgn_gc__bss *b = d->gc->bss;

	if (!b->gc_work_n)
		return;
	b->gc_work_now = now;
	if (!run_prog(bpf_program__fd(d->gc->progs.xcgn_gc_expire_batch), NULL, 0))
		d->expired += b->gc_work_expired;
	b->gc_work_n = 0;
}

/* A mapping idle by its outbound stamp goes into the batch. */
static void expire_one(struct daemon *d, const struct xcgn_tuple4 *k, const struct xcgn_map4 *v,
		       uint64_t now)
{
	struct xcgn_gc__bss *b = d->gc->bss;
	uint64_t to = mapping_timeout(d, k, v);

	/* Held by a PCP lifetime: the PCP server ends it, not its timer. */
	if ((v->flags & XCGN_MAPF_PCP) || now < v->out_seen_ns || now - v->out_seen_ns <= to)
		return;
	b->gc_work[b->gc_work_n++] = (struct xcgn_gc_work){ .key = *k,
							    .out_seen_ns = v->out_seen_ns,
							    .timeout_ns = to };
	if (b->gc_work_n == XCGN_GC_WORK_MAX)
		expire_flush(d, now);
}

/* One bounded step of the walk over the mappings. */
void gc_step(struct daemon *d)
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
	expire_flush(d, now);
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
		xcgn_logf(LOG_DEBUG,
			  "xcgn daemon: pass %llu: %llu mappings examined, %llu expired, %.3f s "
			  "wall, %.3f s busy\n",
			  (unsigned long long)d->passes, (unsigned long long)d->pass_seen,
			  (unsigned long long)(d->expired - d->pass_expired),
			  (double)(xcgn_mono_ns() - d->pass_t0) / 1e9, (double)d->pass_busy / 1e9);
}
