// SPDX-License-Identifier: GPL-2.0
/* Control-plane programs, run with BPF_PROG_RUN.
 *
 * The collector's hands in the kernel. `xcgn daemon` decides in userspace
 * what has expired; these programs, run with BPF_PROG_RUN, carry it out
 * with the atomics userspace does not have: re-check that the entry is as
 * idle as it was read, remove both halves of the mapping, count the
 * subscriber's mappings down, and take a subscriber with none out of
 * service so that a datapath racing with it backs off (XCGN_SUB_DEAD). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lib/maps.h"
#include "lib/gc.h"
#include "lib/rpf.h"

SEC("syscall")
int xcgn_gc_expire(struct xcgn_gc_req *req)
{
	struct xcgn_tuple4 key = req->key, rk = {};
	struct xcgn_map4 *m;
	struct xcgn_rev4 *r;

	m = bpf_map_lookup_elem(&xcgn_map4, &key);
	if (!m) {
		req->result = XCGN_GC_GONE;
		return 0;
	}
	rk.addr = m->paddr;
	rk.port = m->pport;
	rk.proto = key.proto;
	r = bpf_map_lookup_elem(&xcgn_rev4, &rk);
	/* Refreshed since the collector read it, or held by a PCP lifetime
	 * since: keep. */
	if (m->out_seen_ns != req->out_seen_ns || (r && r->in_seen_ns != req->in_seen_ns) ||
	    (m->flags & XCGN_MAPF_PCP)) {
		req->result = XCGN_GC_REFRESHED;
		return 0;
	}
	if (gc_map_remove(&key, &rk, &req->nmaps_left)) {
		req->result = XCGN_GC_GONE;
		return 0;
	}
	req->result = XCGN_GC_EXPIRED;
	return 0;
}

/* The collector's batch (struct xcgn_gc_work): written by the daemon into
 * this object's own .bss, gc_work_n of them, seen idle at gc_work_now. */
struct xcgn_gc_work gc_work[XCGN_GC_WORK_MAX];
__u32 gc_work_n;
__u64 gc_work_now;
__u64 gc_work_expired;	/* out: how many went */

/* As xcgn_gc_expire, for entry @i of the batch: still as idle as read
 * (its outbound stamp unmoved, not held by PCP since), and for TCP no
 * inbound segment within its timer either. */
static long gc_expire_one(__u32 i, void *ctx)
{
	struct xcgn_tuple4 key, rk = {};
	struct xcgn_gc_work *w;
	struct xcgn_map4 *m;
	struct xcgn_rev4 *r;
	__u64 now = gc_work_now;
	__u32 left;

	(void)ctx;
	if (i >= XCGN_GC_WORK_MAX)
		return 1;
	w = &gc_work[i];
	key = w->key;
	m = bpf_map_lookup_elem(&xcgn_map4, &key);
	if (!m || m->out_seen_ns != w->out_seen_ns || (m->flags & XCGN_MAPF_PCP))
		return 0;
	rk.addr = m->paddr;
	rk.port = m->pport;
	rk.proto = key.proto;
	r = bpf_map_lookup_elem(&xcgn_rev4, &rk);
	/* A stamp newer than the pass's clock was written since: alive. */
	if (key.proto == 6 && r && (r->in_seen_ns > now || now - r->in_seen_ns <= w->timeout_ns))
		return 0;
	if (!gc_map_remove(&key, &rk, &left))
		gc_work_expired++;
	return 0;
}

SEC("syscall")
int xcgn_gc_expire_batch(void *ctx)
{
	(void)ctx;
	gc_work_expired = 0;
	bpf_loop(gc_work_n < XCGN_GC_WORK_MAX ? gc_work_n : XCGN_GC_WORK_MAX, gc_expire_one, NULL,
		 0);
	return 0;
}

SEC("syscall")
int xcgn_gc_release(struct xcgn_gc_sub *req)
{
	__be32 addr = req->addr;
	struct xcgn_sub *sub = bpf_map_lookup_elem(&xcgn_subs, &addr);

	if (!sub || sub->addr != addr) {
		req->result = XCGN_GC_GONE;
		return 0;
	}
	/* From here a datapath that increments nmaps sees DEAD and backs off. */
	if (__sync_val_compare_and_swap(&sub->nmaps, 0, XCGN_SUB_DEAD) != 0) {
		req->result = XCGN_GC_BUSY;
		return 0;
	}
	__builtin_memcpy(&req->sub, sub, sizeof(req->sub));
	bpf_map_delete_elem(&xcgn_subs, &addr);
	bpf_map_delete_elem(&xcgn_full, &addr);
	req->result = XCGN_GC_EXPIRED;
	return 0;
}

SEC("syscall")
int xcgn_gc_peer_del(struct xcgn_gc_peer *req)
{
	struct xcgn_peer4_key k = req->key;
	struct xcgn_tuple4 in = {};
	struct xcgn_map4 *m;
	struct xcgn_rev4 *r;

	if (bpf_map_delete_elem(&xcgn_peer4, &k)) {
		req->result = XCGN_GC_GONE;
		return 0;
	}
	req->result = XCGN_GC_EXPIRED;
	r = bpf_map_lookup_elem(&xcgn_rev4, &k.pub);
	if (!r)
		return 0;
	in.addr = r->saddr;
	in.port = r->sport;
	in.proto = k.pub.proto;
	m = bpf_map_lookup_elem(&xcgn_map4, &in);
	/* The same public tuple may be a newer mapping's, which never
	 * counted this remote: never below zero. */
	if (m && m->paddr == k.pub.addr && m->pport == k.pub.port) {
		__u32 old = __sync_fetch_and_add(&m->tcp, -XCGN_MAP_PEER_ONE);
		struct xcgn_sub *sub;

		if (!XCGN_MAP_PEERS(old)) {
			__sync_fetch_and_add(&m->tcp, XCGN_MAP_PEER_ONE);
			return 0;
		}
		sub = bpf_map_lookup_elem(&xcgn_subs, &in.addr);
		if (sub && sub->addr == in.addr)
			sub_peers_sub(sub, 1);
	}
	return 0;
}

/* `xcgn rpf explain`: the datapath's reverse-path check (rpf.h) on one
 * source, saying which rule decided and which route matched. An XDP
 * program never attached anywhere: the query travels as the "packet" of
 * BPF_PROG_RUN and comes back filled in (a syscall program, sleepable,
 * may not read an LPM trie). */
SEC("xdp")
int xcgn_rpf_explain(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xcgn_rpf_query *q = data;
	struct xcgn_rpf_dev dev;
	struct rpf_trace tr = {};

	if ((void *)(q + 1) > data_end)
		return XDP_ABORTED;
	dev = q->dev;
	if (!(dev.flags & XCGN_RPFD_VALID)) {
		/* As rpf_check(): an entry not filled yet checks nothing. */
		q->verdict = XCGN_DROP_NONE;
		q->why = XCGN_RPFW_NONE;
		q->found = 0;
		return XDP_PASS;
	}
	q->verdict = (__u32)rpf_eval(&dev, q->saddr, q->daddr, q->sub_prefix, q->sub_mask,
				     state_get(), &tr);
	q->why = tr.why;
	q->found = tr.found;
	q->route = tr.route;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
