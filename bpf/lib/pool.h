/* SPDX-License-Identifier: GPL-2.0 */
/* Port-block allocation: which public address and which ports a subscriber
 * gets, decided in the datapath without a lock and without a round trip to
 * userspace.
 *
 * A block is claimed with an atomic fetch-or on the address's bitmap (the
 * old value says whether we won), a subscriber is made visible with a
 * BPF_NOEXIST insert, and a block is added to a subscriber with a
 * compare-and-swap on a free slot. Whoever loses a race gives its block
 * back, so two CPUs seeing a subscriber's first packets at once never both
 * allocate for it. */
#ifndef XCGN_POOL_H
#define XCGN_POOL_H

#include "maps.h"
#include "state.h"
#include "stats.h"

/* A well-mixed 32-bit hash (lowbias32), to spread subscribers over the
 * pool addresses. */
static __always_inline __u32 pool_hash32(__u32 x)
{
	x ^= x >> 16;
	x *= 0x7feb352d;
	x ^= x >> 15;
	x *= 0x846ca68b;
	x ^= x >> 16;
	return x;
}

/* Index of the lowest set bit of a non-zero word; BPF has no ctz. */
static __always_inline __u32 pool_ctz64(__u64 x)
{
	__u32 n = 0;

	if (!(x & 0xffffffffULL)) {
		n += 32;
		x >>= 32;
	}
	if (!(x & 0xffff)) {
		n += 16;
		x >>= 16;
	}
	if (!(x & 0xff)) {
		n += 8;
		x >>= 8;
	}
	if (!(x & 0xf)) {
		n += 4;
		x >>= 4;
	}
	if (!(x & 0x3)) {
		n += 2;
		x >>= 2;
	}
	if (!(x & 0x1))
		n += 1;
	return n;
}

/* When block @blk of address @idx was taken, written as it is claimed,
 * before any subscriber entry shows it: a record the daemon's reconcile
 * makes up after a lost event carries this time, never an older one. */
static __always_inline void pool_block_stamp(__u32 idx, __u32 blk)
{
	__u32 key = xcgn_blk_key(idx, blk);
	__u64 *ts = bpf_map_lookup_elem(&xcgn_blkts, &key);

	if (ts)
		*ts = bpf_ktime_get_coarse_ns();
}

/* Claim a free block of address @idx. Returns the block number, or -1 when
 * the address has none.
 *
 * A global (non-inlined) function: the verifier checks it once, on its own,
 * instead of once per call site and loop iteration of its callers, which
 * otherwise multiplies past the instruction limit. */
__noinline int pool_block_claim(__u32 idx)
{
	struct xcgn_blkmap *bm = bpf_map_lookup_elem(&xcgn_blocks, &idx);
	struct xcgn_stats *st = stats_get();
	int w, t;

	if (!bm || !st)
		return -1;
	for (w = 0; w < XCGN_BLK_WORDS; w++) {
		for (t = 0; t < XCGN_BLK_CLAIM_TRIES; t++) {
			__u64 v = bm->w[w], bit, old;
			__u32 b;

			if (v == ~0ULL)
				break;
			b = pool_ctz64(~v);
			bit = 1ULL << b;
			old = __sync_fetch_and_or(&bm->w[w], bit);
			if (!(old & bit)) {
				pool_block_stamp(idx, w * 64 + b);
				return w * 64 + b;
			}
			stats_inc(st, XCGN_STAT_BLOCK_RACE);
		}
	}
	return -1;
}

/* Claim block @blk of address @idx, that one: 0, or -1 when it is taken. */
static __always_inline int pool_block_claim_at(__u32 idx, __u32 blk)
{
	struct xcgn_blkmap *bm = bpf_map_lookup_elem(&xcgn_blocks, &idx);
	__u64 bit = 1ULL << (blk % 64);

	if (!bm || blk >= XCGN_BLKS_PER_ADDR_MAX)
		return -1;
	if (__sync_fetch_and_or(&bm->w[blk / 64], bit) & bit)
		return -1;
	pool_block_stamp(idx, blk);
	return 0;
}

/* Give back a block we claimed but could not use (a lost race). */
static __always_inline void pool_block_release(__u32 idx, __u32 blk)
{
	struct xcgn_blkmap *bm = bpf_map_lookup_elem(&xcgn_blocks, &idx);

	if (bm && blk < XCGN_BLKS_PER_ADDR_MAX)
		__sync_fetch_and_and(&bm->w[blk / 64], ~(1ULL << (blk % 64)));
}

/* Block @blk of address @idx went to @sub: tell the NAT log. */
static __always_inline void pool_alloc_event(struct xcgn_stats *st, __be32 sub, __be32 paddr,
					     const struct xcgn_pool *pool, __u32 blk)
{
	struct xcgn_event ev = {};

	ev.ts_ns = bpf_ktime_get_coarse_ns();
	ev.sub = sub;
	ev.paddr = paddr;
	ev.port_lo = pool->port_lo + blk * pool->block_size;
	ev.port_hi = ev.port_lo + pool->block_size - 1;
	ev.type = XCGN_EV_BLOCK_ALLOC;
	if (bpf_ringbuf_output(&xcgn_events, &ev, sizeof(ev), 0))
		stats_inc(st, XCGN_STAT_EVENT_LOST);
}

/* RFC 7422: a subscriber of a deterministic pool gets its blocks by
 * arithmetic on its address, nothing to choose and nothing to log:
 * subscriber number n (its offset in the pool's subscriber prefix) gets
 * address addr_first + n / per_addr and blocks (n % per_addr) * max_blocks
 * onwards, per_addr = nblocks / max_blocks. Userspace answers `xcgn log
 * who` with the inverse. Returns 0 with @fresh filled, 1 when no
 * deterministic pool serves @saddr, or -XCGN_DROP_*. */
static __always_inline int pool_sub_deterministic(__be32 saddr, struct xcgn_sub *fresh,
						  struct xcgn_pool **poolp)
{
	struct xcgn_pool *pool;
	__u32 id, n, per_addr, idx, first, i;

	for (id = 0; id < XCGN_POOLS_MAX; id++) {
		pool = bpf_map_lookup_elem(&xcgn_pools, &id);
		if (!pool || (pool->flags & (XCGN_POOLF_ACTIVE | XCGN_POOLF_DETERMINISTIC)) !=
				     (XCGN_POOLF_ACTIVE | XCGN_POOLF_DETERMINISTIC))
			continue;
		if (pool->det_plen > 32 || !pool->max_blocks || pool->max_blocks > XCGN_SUB_BLOCKS_MAX)
			continue;
		n = bpf_ntohl(saddr) - bpf_ntohl(pool->det_prefix);
		if (pool->det_plen && (n >> (32 - pool->det_plen)))
			continue;	/* not in this pool's subscriber prefix */
		per_addr = pool->nblocks / pool->max_blocks;
		if (!per_addr || n / per_addr >= pool->naddrs)
			return -XCGN_DROP_NO_POOL;
		idx = pool->addr_first + n / per_addr;
		first = (n % per_addr) * pool->max_blocks;
		for (i = 0; i < XCGN_SUB_BLOCKS_MAX; i++) {
			struct xcgn_blkmap *bm;
			__u32 b = first + i;

			if (i >= pool->max_blocks)
				break;
			bm = bpf_map_lookup_elem(&xcgn_blocks, &idx);
			if (!bm || b >= XCGN_BLKS_PER_ADDR_MAX)
				return -XCGN_DROP_NO_POOL;
			/* Ours by construction; the bit keeps the bitmap true. */
			__sync_fetch_and_or(&bm->w[b / 64], 1ULL << (b % 64));
			fresh->blocks[i] = b + 1;
		}
		fresh->addr_idx = idx;
		fresh->pool_id = (__u16)id;
		*poolp = pool;
		return 0;
	}
	return 1;
}

/* Is @err (-XCGN_DROP_*) a refusal of a new flow, one the pool's limits
 * made? Those are logged and answered with ICMP 3/13. */
static __always_inline int pool_is_refusal(int err)
{
	switch (-err) {
	case XCGN_DROP_NO_POOL:
	case XCGN_DROP_SUB_LIMIT:
	case XCGN_DROP_NO_PORT:
	case XCGN_DROP_SUB_FULL:
	case XCGN_DROP_MAP_FULL:
	case XCGN_DROP_PEER_FULL:
	case XCGN_DROP_SUB_RATE:
	case XCGN_DROP_NEW_SUB_RATE:
	case XCGN_DROP_SUB_MAPS:
	case XCGN_DROP_MAP_PEERS:
		return 1;
	}
	return 0;
}

/* A new flow of @saddr was refused with @err: tell the collector, at most
 * once per XCGN_REFUSAL_EV_NS per CPU, so a flood costs a counter, not the
 * ring buffer. */
static __always_inline void pool_refusal(struct xcgn_stats *st, __be32 saddr, int err)
{
	struct xcgn_event ev = {};
	struct xcgn_state *rs = state_get();
	__u64 now;

	if (!pool_is_refusal(err) || !rs || (rs->switches & XCGN_SW_REFUSAL_LOG_OFF))
		return;
	now = bpf_ktime_get_coarse_ns();
	if (!rlim_allow(XCGN_RLIM_EVENT, now, XCGN_REFUSAL_EV_NS)) {
		stats_inc(st, XCGN_STAT_REFUSAL_EV_LIMITED);
		return;
	}
	ev.ts_ns = now;
	ev.sub = saddr;
	ev.type = XCGN_EV_REFUSED;
	ev.reason = (__u8)-err;
	if (bpf_ringbuf_output(&xcgn_refusals, &ev, sizeof(ev), 0))
		stats_inc(st, XCGN_STAT_REFUSAL_EV_LOST);
}

/* What a new-subscriber bucket was filled for: the pool's addresses and
 * its cap. Another pool in the slot, or another cap, starts it anew. Never
 * 0, the tag of a bucket never used. */
static __always_inline __u32 pool_newsub_tag(const struct xcgn_pool *pool)
{
	__u32 h = pool_hash32(pool->addr_first ^ (pool->naddrs << 16) ^ bpf_ntohl(pool->prefix));

	h = pool_hash32(h ^ pool->sub_burst ^ ((__u32)pool->sub_refill_s << 20));
	return h ? h : 1;
}

/* May one more new subscriber land on @pool now? Its cap: an inside host
 * sending from thousands of spoofed subscriber addresses must not take the
 * whole pool, which it would hold until the mappings expire and the
 * quarantine ends (minutes). A token bucket of sub_burst subscribers,
 * earned back over sub_refill_s, shared by all CPUs.
 *
 * Nothing here depends on the clock's absolute value, which starts near
 * zero at boot: the bucket starts full (a CGN that has just rebooted is
 * when every subscriber comes back at once), and only time seen to pass
 * refills it. @now is read before the lock (no helper may run under it),
 * so another CPU may have refilled at a later reading meanwhile: then
 * nothing has elapsed for this one, and the bucket keeps the later mark.
 * Not inlined: the subscriber's creation has no stack to spare for it. */
static __noinline int pool_newsub_take(__u32 pid, const struct xcgn_pool *pool)
{
	struct xcgn_newsub *b;
	__u64 now, cap, cost, credit;
	__u32 tag;
	int ok;

	if (!pool->sub_burst)
		return 1;
	b = bpf_map_lookup_elem(&xcgn_newsub, &pid);
	if (!b)
		return 0;
	cap = (__u64)(pool->sub_refill_s ? pool->sub_refill_s : 1) * 1000000000ULL;
	cost = cap / pool->sub_burst;
	tag = pool_newsub_tag(pool);
	now = bpf_ktime_get_coarse_ns();
	bpf_spin_lock(&b->lock);
	if (b->tag != tag) {
		b->tag = tag;
		b->credit_ns = cap;
		b->last_ns = now;
	}
	credit = b->credit_ns;
	if (now > b->last_ns) {
		credit += now - b->last_ns;
		b->last_ns = now;
	}
	if (credit > cap)
		credit = cap;
	ok = credit >= cost;
	b->credit_ns = ok ? credit - cost : credit;
	bpf_spin_unlock(&b->lock);
	return ok;
}

/* The subscriber entry for @saddr, created with its first block when it has
 * none. Returns 0 and sets @subp and @poolp, or -XCGN_DROP_*. */
static __always_inline int pool_sub_get(__be32 saddr, struct xcgn_stats *st,
					struct xcgn_sub **subp, struct xcgn_pool **poolp)
{
	struct xcgn_sub *sub = bpf_map_lookup_elem(&xcgn_subs, &saddr), *fresh;
	struct xcgn_probe *sc;
	struct xcgn_paddr *pa = 0;
	struct xcgn_pool *pool = 0;
	struct xcgn_state *rs;
	__u32 zero = 0, h, hwm, i, idx = 0, pid, stride;
	int blk = -1, err, capped = 0;

	if (sub)
		goto found;
	sc = bpf_map_lookup_elem(&xcgn_probe, &zero);
	if (!sc)
		return -XCGN_DROP_NO_POOL;
	fresh = &sc->fresh;
	__builtin_memset(fresh, 0, sizeof(*fresh));

	err = pool_sub_deterministic(saddr, fresh, &pool);
	if (err < 0)
		return err;
	if (!err) {
		pa = bpf_map_lookup_elem(&xcgn_paddr, &fresh->addr_idx);
		if (!pa || !pa->addr)
			return -XCGN_DROP_NO_POOL;
		idx = fresh->addr_idx;
		blk = -1;	/* nothing to give back on a lost race */
		goto publish;
	}

	rs = bpf_map_lookup_elem(&xcgn_state, &zero);
	if (!rs)
		return -XCGN_DROP_NO_POOL;
	hwm = rs->naddrs_hwm;
	if (!hwm || hwm > XCGN_PADDRS_MAX)
		return -XCGN_DROP_NO_POOL;
	/* The subscriber's address is a function of its own address, so it
	 * comes back to the same one while that has room. The probes are
	 * spread over the whole index space (a stride of hwm / probes), not
	 * consecutive: deterministic pools' slots lie in the same space, and
	 * a run of them must not hide the dynamic addresses from a probe
	 * that starts at its head. */
	h = pool_hash32(bpf_ntohl(saddr));
	stride = hwm / XCGN_ADDR_PROBES;
	if (!stride)
		stride = 1;
	for (i = 0; i < XCGN_ADDR_PROBES; i++) {
		idx = (h + i * stride) % hwm;
		pa = bpf_map_lookup_elem(&xcgn_paddr, &idx);
		if (!pa || !pa->addr || (pa->flags & (XCGN_PADDRF_DRAINED | XCGN_PADDRF_EXCLUDED)))
			continue;
		pid = pa->pool_id;
		pool = bpf_map_lookup_elem(&xcgn_pools, &pid);
		if (!pool || (pool->flags & (XCGN_POOLF_ACTIVE | XCGN_POOLF_DETERMINISTIC)) !=
				     XCGN_POOLF_ACTIVE)
			continue;
		if (!pool_newsub_take(pid, pool)) {
			capped = 1;
			continue;
		}
		blk = pool_block_claim(idx);
		if (blk >= 0)
			break;
	}
	if (blk < 0 || !pa || !pool)
		return capped ? -XCGN_DROP_NEW_SUB_RATE : -XCGN_DROP_NO_POOL;

	fresh->addr_idx = idx;
	fresh->pool_id = pa->pool_id;
	fresh->blocks[0] = blk + 1;
publish:
	fresh->addr = saddr;
	fresh->paddr = pa->addr;
	fresh->created_ns = bpf_ktime_get_coarse_ns();
	err = bpf_map_update_elem(&xcgn_subs, &saddr, fresh, BPF_NOEXIST);
	if (err) {
		/* Another CPU created it first (-EEXIST) or the table is full. */
		if (blk >= 0)
			pool_block_release(idx, blk);
		if (err != -17 /* EEXIST */)
			return -XCGN_DROP_SUB_FULL;
		stats_inc(st, XCGN_STAT_BLOCK_RACE);
		sub = bpf_map_lookup_elem(&xcgn_subs, &saddr);
		if (!sub)
			return -XCGN_DROP_SUB_FULL;
		goto found;
	}
	stats_inc(st, XCGN_STAT_SUB_NEW);
	stats_inc(st, XCGN_STAT_BLOCK_NEW);
	if (blk >= 0)	/* deterministic pools log nothing per subscriber */
		pool_alloc_event(st, saddr, fresh->paddr, pool, blk);
	sub = bpf_map_lookup_elem(&xcgn_subs, &saddr);
	if (!sub)
		return -XCGN_DROP_SUB_FULL;
found:
	/* Being released by the collector right now: the next packet finds
	 * it gone and starts afresh. Not a refusal: no ICMP, no log. */
	if (sub->nmaps & XCGN_SUB_DEAD)
		return -XCGN_DROP_RACE;
	pid = sub->pool_id;
	pool = bpf_map_lookup_elem(&xcgn_pools, &pid);
	if (!pool || !pool->block_size)
		return -XCGN_DROP_NO_POOL;
	*subp = sub;
	*poolp = pool;
	return 0;
}

/* RFC 6888 REQ-5: at most pool->new_rate new mappings a second per
 * subscriber, with a burst of one second's worth. A token bucket in the
 * subscriber's entry; updates from two CPUs may race and lose a token
 * either way, so the cap holds to within a packet or two, which is what it
 * is for: one subscriber opening flows as fast as it can gets refused while
 * everybody else is unaffected. Returns 0 or -XCGN_DROP_SUB_RATE. */
static __always_inline int pool_sub_rate(struct xcgn_sub *sub, const struct xcgn_pool *pool,
					 __u64 now)
{
	__u64 elapsed, add;
	__u32 rate = pool->new_rate, tokens;

	if (!rate)
		return 0;
	if (!sub->rate_ns) {
		sub->rate_ns = now;
		sub->rate_tokens = rate;
	}
	/* @now is the packet's reading, taken before this; another CPU may
	 * have refilled since, at a later reading: nothing has elapsed then
	 * (a negative difference taken unsigned would refill the bucket). */
	elapsed = now > sub->rate_ns ? now - sub->rate_ns : 0;
	if (elapsed > 1000000000ULL)
		elapsed = 1000000000ULL;
	add = elapsed * rate / 1000000000ULL;
	tokens = sub->rate_tokens;
	if (add) {
		tokens = tokens + add > rate ? rate : tokens + (__u32)add;
		sub->rate_ns = now;
	}
	if (!tokens) {
		sub->rate_tokens = 0;
		return -XCGN_DROP_SUB_RATE;
	}
	sub->rate_tokens = tokens - 1;
	return 0;
}

/* Add one more block to @sub, on its own address. Returns the slot it went
 * into, or -1 when the subscriber may take no more or none is free. */
static __always_inline int pool_sub_grow(struct xcgn_sub *sub, const struct xcgn_pool *pool,
					 __be32 saddr, struct xcgn_stats *st)
{
	__u32 slot, max = pool->max_blocks;
	int blk;

	for (slot = 0; slot < XCGN_SUB_BLOCKS_MAX; slot++) {
		if (slot >= max)
			return -1;
		if (sub->blocks[slot])
			continue;
		blk = pool_block_claim(sub->addr_idx);
		if (blk < 0)
			return -1;
		if (__sync_val_compare_and_swap(&sub->blocks[slot], 0, blk + 1) != 0) {
			/* Another CPU filled this slot meanwhile: its block
			 * serves us too. */
			pool_block_release(sub->addr_idx, blk);
			stats_inc(st, XCGN_STAT_BLOCK_RACE);
			return slot;
		}
		stats_inc(st, XCGN_STAT_BLOCK_NEW);
		pool_alloc_event(st, saddr, sub->paddr, pool, blk);
		return slot;
	}
	return -1;
}

#endif /* XCGN_POOL_H */
