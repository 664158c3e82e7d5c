// SPDX-License-Identifier: GPL-2.0
/* What a subscriber may hold and ask through PCP: its count of mappings
 * and its request rate (small open tables), and the quiet subscribers, made
 * by a request, with no traffic of their own, whose holds are short and
 * together bounded by pcp-share (pcp_server.h says why). */
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "daemon/pcp_server.h"

uint32_t pcp_slot_of(__be32 a, uint32_t n)
{
	uint32_t h = ntohl(a) * 2654435761u;

	return (h ^ (h >> 16)) % n;
}

/* ---- per-subscriber counts and rates: small open tables ------------------- */

/* The mappings each subscriber holds through PCP: rebuilt by every sweep,
 * moved by each request in between. Open addressing over twice the
 * entries there can be. */
uint32_t *pcp_count_of(struct pcp_server *s, __be32 sub, bool add)
{
	uint32_t i = pcp_slot_of(sub, PCP_COUNT_SLOTS), n;

	for (n = 0; n < PCP_COUNT_SLOTS; n++, i = (i + 1) % PCP_COUNT_SLOTS) {
		if (s->cnt[i].addr == sub)
			return &s->cnt[i].n;
		if (!s->cnt[i].addr) {
			if (!add)
				return NULL;
			s->cnt[i].addr = sub;
			s->cnt[i].n = 0;
			return &s->cnt[i].n;
		}
	}
	return NULL;
}

/* A token bucket per subscriber, in a table of slots. Addresses that
 * share a slot share its bucket: a slot taken over keeps its credit, so
 * two colliding addresses used in turn are limited together, not given a
 * fresh burst at each turn. An unused slot starts full. */
bool pcp_rate_ok(struct pcp_server *s, __be32 src, uint64_t now)
{
	struct pcp_rate *r = &s->rl[pcp_slot_of(src, PCP_RATE_SLOTS)];
	uint64_t burst = 2ULL * s->cfg.rate * 1000000000ULL, per = 1000000000ULL;

	if (!r->addr) {
		r->credit_ns = burst;
		r->last_ns = now;
	}
	r->addr = src;
	if (now < r->last_ns)	/* never refill from an older reading */
		now = r->last_ns;
	/* Three seconds refill more than the burst: no overflow, same result. */
	r->credit_ns += (now - r->last_ns < 3000000000ULL ? now - r->last_ns : 3000000000ULL) *
			s->cfg.rate;
	if (r->credit_ns > burst)
		r->credit_ns = burst;
	r->last_ns = now;
	if (r->credit_ns < per)
		return false;
	r->credit_ns -= per;
	return true;
}

/* ---- quiet subscribers: made by a request, no traffic of their own ---------- */

/* The subscriber's blocks. */
static uint32_t sub_blocks(const struct xcgn_sub *sub)
{
	uint32_t i, n = 0;

	for (i = 0; i < XCGN_SUB_BLOCKS_MAX; i++)
		n += sub->blocks[i] != 0;
	return n;
}

/* Is @addr's entry (@sub) quiet: every mapping it holds a PCP hold? */
bool pcp_sub_quiet(struct pcp_server *s, __be32 addr, const struct xcgn_sub *sub)
{
	uint32_t *n = pcp_count_of(s, addr, false);

	return (sub->nmaps & ~XCGN_SUB_DEAD) <= (n ? *n : 0);
}

/* How long a quiet subscriber's hold may be: its pool's UDP timer (the
 * shortest of them, for one not made yet). */
uint32_t pcp_quiet_lifetime(struct pcp_server *s, const struct xcgn_sub *sub)
{
	struct xcgn_pool p;
	__u32 id = sub ? sub->pool_id : 0;

	if (sub && !bpf_map_lookup_elem(s->m->pools, &id, &p) && p.timeout[XCGN_TIMER_UDP])
		return p.timeout[XCGN_TIMER_UDP];
	return s->udp_min_s ? s->udp_min_s : 300;
}

/* May a request make one more subscriber, within pcp-share? */
bool pcp_share_left(struct pcp_server *s)
{
	return !s->pool_blocks ||
	       (s->quiet_blocks + 1) * 100 <= (uint64_t)s->cfg.share_pct * s->pool_blocks;
}

void pcp_quiet_add(struct pcp_server *s, __be32 addr)
{
	if (s->nquiet == s->capquiet && xcgn_grow(&s->quiet, &s->capquiet, s->nquiet,
						  sizeof(*s->quiet)))
		return;	/* out of memory: counted again by the next sweep */
	s->quiet[s->nquiet++] = addr;
	s->quiet_blocks++;
}

static int addr_cmp(const void *a, const void *b)
{
	__u32 x = *(const __be32 *)a, y = *(const __be32 *)b;

	return x < y ? -1 : x > y;
}

/* Each sweep: the quiet subscribers anew, from those known and those that
 * hold mappings, keeping only the ones still there and still quiet; the
 * pools' blocks and shortest UDP timer. */
void pcp_quiet_sweep(struct pcp_server *s)
{
	struct xcgn_pool p;
	struct xcgn_sub sub;
	size_t i, n = 0;
	__u32 id;

	s->pool_blocks = 0;
	s->udp_min_s = 0;
	for (id = 0; id < XCGN_POOLS_MAX; id++) {
		if (bpf_map_lookup_elem(s->m->pools, &id, &p) || !(p.flags & XCGN_POOLF_ACTIVE))
			continue;
		s->pool_blocks += (uint64_t)p.naddrs * p.nblocks;
		if (p.timeout[XCGN_TIMER_UDP] &&
		    (!s->udp_min_s || p.timeout[XCGN_TIMER_UDP] < s->udp_min_s))
			s->udp_min_s = p.timeout[XCGN_TIMER_UDP];
	}
	for (i = 0; i < PCP_COUNT_SLOTS; i++)
		if (s->cnt[i].addr && s->cnt[i].n)
			pcp_quiet_add(s, s->cnt[i].addr);
	if (s->nquiet)
		qsort(s->quiet, s->nquiet, sizeof(*s->quiet), addr_cmp);
	s->quiet_blocks = 0;
	for (i = 0; i < s->nquiet; i++) {
		if (n && s->quiet[n - 1] == s->quiet[i])
			continue;	/* known and holding: once */
		if (bpf_map_lookup_elem(s->m->subs, &s->quiet[i], &sub) ||
		    sub.addr != s->quiet[i] || !pcp_sub_quiet(s, s->quiet[i], &sub))
			continue;	/* gone, or carries traffic of its own */
		s->quiet[n++] = s->quiet[i];
		s->quiet_blocks += sub_blocks(&sub);
	}
	s->nquiet = n;
}
