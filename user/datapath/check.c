// SPDX-License-Identifier: GPL-2.0
/* `xcgn link check`: the invariants of the pinned state, read as they are.
 *
 *   - every mapping has its reverse, and every reverse its mapping, each
 *     pointing at the other;
 *   - a mapping's public address is its subscriber's, and its public port
 *     lies in a block the subscriber holds;
 *   - every block a subscriber holds is taken in its address's bitmap, and
 *     no block is held by two subscribers;
 *   - (told, not a violation) blocks taken that nobody holds: resting in
 *     the daemon's quarantine, or leaked when no daemon has run for longer
 *     than the quarantine; held blocks the NAT log has no record of yet.
 *
 * Under traffic a mapping can be seen half made or half removed (the
 * datapath inserts the reverse first, the collector removes the forward
 * first): each violation is looked at twice, 50 ms apart, and counted only
 * when it is still there. */
#include <arpa/inet.h>
#include <syslog.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "datapath/datapath.h"

struct check {
	const struct xcgn_maps *m;
	bool live;			/* others may write meanwhile: look twice */
	__u32 npools, naddrs;
	struct xcgn_pool pools[XCGN_POOLS_MAX];
	__be32 *holder;			/* xcgn_blk_key -> subscriber */
	uint64_t maps, revs, subs, held, taken_unheld, unlogged, violations;
};

/* Under traffic, a second look 50 ms later before a violation counts. */
static int relook(const struct check *c)
{
	if (c->live)
		usleep(50000);
	return 1;
}

static void __printf(2, 3) violation(struct check *c, const char *fmt, ...)
{
	va_list ap;

	if (c->violations++ >= 10)
		return;
	xcgn_logf(LOG_WARNING, "xcgn: check: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A mapping and its reverse agree, on the subscriber's address, in one of
 * its blocks. NULL when so, else what is wrong. */
static const char *mapping_wrong(struct check *c, const struct xcgn_tuple4 *k,
				 const struct xcgn_map4 *v)
{
	struct xcgn_tuple4 rk = { .addr = v->paddr, .port = v->pport, .proto = k->proto };
	const struct xcgn_pool *p;
	struct xcgn_rev4 r;
	struct xcgn_sub s;
	uint32_t port = ntohs(v->pport), lo;
	int i;

	if (bpf_map_lookup_elem(c->m->rev4, &rk, &r))
		return "no reverse";
	if (r.saddr != k->addr || r.sport != k->port)
		return "its reverse points elsewhere";
	{
		struct xcgn_pcp e;

		if ((v->flags & XCGN_MAPF_PCP) && bpf_map_lookup_elem(c->m->pcp, k, &e))
			return "held by PCP with no lifetime recorded";
	}
	if (bpf_map_lookup_elem(c->m->subs, &k->addr, &s))
		return "no subscriber entry";
	if (s.paddr != v->paddr)
		return "not on its subscriber's public address";
	p = &c->pools[s.pool_id % XCGN_POOLS_MAX];
	if (k->proto == 1)
		return NULL;	/* echo identifiers come from the same blocks, but
				 * an identifier is no port of the range */
	for (i = 0; i < XCGN_SUB_BLOCKS_MAX; i++) {
		if (!s.blocks[i])
			continue;
		lo = p->port_lo + (s.blocks[i] - 1) * p->block_size;
		if (port >= lo && port < lo + p->block_size)
			return NULL;
	}
	return "its port is in no block its subscriber holds";
}

static void check_mappings(struct check *c)
{
	struct xcgn_tuple4 k, *prev = NULL;
	struct xcgn_map4 v;
	const char *why;

	while (!bpf_map_get_next_key(c->m->map4, prev, &k)) {
		prev = &k;
		if (bpf_map_lookup_elem(c->m->map4, &k, &v))
			continue;
		c->maps++;
		if (!mapping_wrong(c, &k, &v))
			continue;
		relook(c);	/* half made or half removed? */
		if (bpf_map_lookup_elem(c->m->map4, &k, &v) || !(why = mapping_wrong(c, &k, &v)))
			continue;
		{
			char a[16], b[16];

			violation(c, "mapping %s:%u/%u -> %s:%u: %s", ipv4_str(k.addr, a, sizeof(a)),
				  ntohs(k.port), k.proto, ipv4_str(v.paddr, b, sizeof(b)),
				  ntohs(v.pport), why);
		}
	}
}

static void check_reverses(struct check *c)
{
	struct xcgn_tuple4 k, *prev = NULL, fk = {};
	struct xcgn_rev4 r;
	struct xcgn_map4 v;
	char a[16];

	while (!bpf_map_get_next_key(c->m->rev4, prev, &k)) {
		prev = &k;
		if (bpf_map_lookup_elem(c->m->rev4, &k, &r))
			continue;
		c->revs++;
		fk.addr = r.saddr;
		fk.port = r.sport;
		fk.proto = k.proto;
		if (!bpf_map_lookup_elem(c->m->map4, &fk, &v) && v.paddr == k.addr && v.pport == k.port)
			continue;
		relook(c);
		if (bpf_map_lookup_elem(c->m->rev4, &k, &r) ||
		    (!bpf_map_lookup_elem(c->m->map4, &fk, &v) && v.paddr == k.addr &&
		     v.pport == k.port))
			continue;
		violation(c, "reverse %s:%u/%u has no mapping pointing at it",
			  ipv4_str(k.addr, a, sizeof(a)), ntohs(k.port), k.proto);
	}
}

/* Every PCP lifetime holds a mapping marked as held. */
static void check_pcp(struct check *c)
{
	struct xcgn_tuple4 k, *prev = NULL;
	struct xcgn_map4 v;
	struct xcgn_pcp e;
	char a[16];

	while (!bpf_map_get_next_key(c->m->pcp, prev, &k)) {
		prev = &k;
		if (bpf_map_lookup_elem(c->m->pcp, &k, &e) ||
		    (!bpf_map_lookup_elem(c->m->map4, &k, &v) && (v.flags & XCGN_MAPF_PCP)))
			continue;
		relook(c);
		if (bpf_map_lookup_elem(c->m->pcp, &k, &e) ||
		    (!bpf_map_lookup_elem(c->m->map4, &k, &v) && (v.flags & XCGN_MAPF_PCP)))
			continue;
		violation(c, "PCP lifetime of %s:%u/%u holds no mapping",
			  ipv4_str(k.addr, a, sizeof(a)), ntohs(k.port), k.proto);
	}
}

/* Does @addr hold block @blk of address @idx right now? */
static bool sub_holds(struct check *c, __be32 addr, __u32 idx, unsigned int blk)
{
	struct xcgn_sub s;
	int i;

	if (bpf_map_lookup_elem(c->m->subs, &addr, &s) || s.addr_idx != idx)
		return false;
	for (i = 0; i < XCGN_SUB_BLOCKS_MAX; i++)
		if (s.blocks[i] == blk + 1)
			return true;
	return false;
}

static bool bit_taken(struct check *c, __u32 idx, unsigned int blk)
{
	struct xcgn_blkmap bm;

	return !bpf_map_lookup_elem(c->m->blocks, &idx, &bm) && ((bm.w[blk / 64] >> (blk % 64)) & 1);
}

static void check_blocks(struct check *c)
{
	__be32 key, *prev = NULL, logged;
	struct xcgn_sub s;
	char a[16], b[16];
	__u32 idx, k;
	unsigned int id, blk;
	int i;

	while (!bpf_map_get_next_key(c->m->subs, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(c->m->subs, &key, &s) || s.addr_idx >= c->naddrs)
			continue;
		c->subs++;
		for (i = 0; i < XCGN_SUB_BLOCKS_MAX; i++) {
			if (!s.blocks[i] || s.blocks[i] > XCGN_BLKS_PER_ADDR_MAX)
				continue;
			blk = s.blocks[i] - 1;
			k = xcgn_blk_key(s.addr_idx, blk);
			idx = s.addr_idx;
			c->held++;
			/* Released and taken again under the walk? Looked at again. */
			if (c->holder[k] && c->holder[k] != key && relook(c) &&
			    sub_holds(c, key, idx, blk) && sub_holds(c, c->holder[k], idx, blk))
				violation(c, "block %u of address %u held by %s and %s", blk, idx,
					  ipv4_str(key, a, sizeof(a)),
					  ipv4_str(c->holder[k], b, sizeof(b)));
			c->holder[k] = key;
			if (!bit_taken(c, idx, blk) && relook(c) &&
			    sub_holds(c, key, idx, blk) && !bit_taken(c, idx, blk))
				violation(c, "block %u of address %u held by %s is free in the bitmap",
					  blk, idx, ipv4_str(key, a, sizeof(a)));
			if (!(c->pools[s.pool_id % XCGN_POOLS_MAX].flags & XCGN_POOLF_DETERMINISTIC) &&
			    (bpf_map_lookup_elem(c->m->blklog, &k, &logged) || logged != key))
				c->unlogged++;
		}
	}
	for (id = 0; id < c->npools; id++) {
		const struct xcgn_pool *p = &c->pools[id];

		if (!(p->flags & XCGN_POOLF_ACTIVE))
			continue;
		for (idx = p->addr_first; idx < p->addr_first + p->naddrs && idx < c->naddrs;
		     idx++) {
			struct xcgn_blkmap bm;
			struct xcgn_paddr pa;

			/* An excluded address has every block taken, by nobody. */
			if (bpf_map_lookup_elem(c->m->blocks, &idx, &bm) ||
			    bpf_map_lookup_elem(c->m->paddr, &idx, &pa) ||
			    (pa.flags & XCGN_PADDRF_EXCLUDED))
				continue;
			for (blk = 0; blk < p->nblocks; blk++)
				if (((bm.w[blk / 64] >> (blk % 64)) & 1) &&
				    !c->holder[xcgn_blk_key(idx, blk)])
					c->taken_unheld++;
		}
	}
}

static int addr_cmp(const void *a, const void *b)
{
	__be32 x = *(const __be32 *)a, y = *(const __be32 *)b;

	return x < y ? -1 : x > y;
}

/* Quiet state only (nothing else writes): each subscriber's count of
 * mappings is what the mapping table holds for it. */
static void check_counts(struct check *c)
{
	struct xcgn_tuple4 k, *prev = NULL;
	__be32 key, *kprev = NULL, *addrs = NULL;
	struct xcgn_sub s;
	size_t n = 0, cap = 0, lo, hi;
	char a[16];

	while (!bpf_map_get_next_key(c->m->map4, prev, &k)) {
		prev = &k;
		if (xcgn_grow(&addrs, &cap, n, sizeof(*addrs))) {
			violation(c, "out of memory counting mappings");
			free(addrs);
			return;
		}
		addrs[n++] = k.addr;
	}
	if (n)
		qsort(addrs, n, sizeof(*addrs), addr_cmp);
	while (!bpf_map_get_next_key(c->m->subs, kprev, &key)) {
		kprev = &key;
		if (bpf_map_lookup_elem(c->m->subs, &key, &s) || (s.nmaps & XCGN_SUB_DEAD))
			continue;
		for (lo = 0, hi = n; lo < hi;) {	/* the first >= key */
			size_t mid = (lo + hi) / 2;

			if (addrs[mid] < key)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (hi = lo; hi < n && addrs[hi] == key; hi++)
			;
		if (hi - lo != s.nmaps)
			violation(c, "subscriber %s counts %u mappings, the table holds %zu",
				  ipv4_str(key, a, sizeof(a)), s.nmaps, hi - lo);
	}
	free(addrs);
}

int xcgn_check_maps(const struct xcgn_maps *m, bool live, struct xcgn_check_result *r)
{
	struct check c = { .m = m, .live = live };
	__u32 id;

	c.npools = xcgn_npools(m);
	c.naddrs = xcgn_naddrs(m);
	c.holder = calloc((size_t)c.naddrs * XCGN_BLKS_PER_ADDR_MAX, sizeof(*c.holder));
	if (!c.holder)
		return -ENOMEM;
	for (id = 0; id < c.npools; id++)
		if (bpf_map_lookup_elem(m->pools, &id, &c.pools[id]))
			memset(&c.pools[id], 0, sizeof(c.pools[id]));
	check_blocks(&c);
	check_mappings(&c);
	check_reverses(&c);
	check_pcp(&c);
	if (!live)
		check_counts(&c);
	free(c.holder);
	*r = (struct xcgn_check_result){ .maps = c.maps, .revs = c.revs, .subs = c.subs,
					 .held = c.held, .taken_unheld = c.taken_unheld,
					 .unlogged = c.unlogged, .violations = c.violations };
	return 0;
}

int xcgn_check(void)
{
	struct xcgn_check_result c;
	struct xcgn_maps m;
	int err;

	if (xcgn_maps_open(&m))
		return XCGN_EXIT_ERR;
	err = xcgn_check_maps(&m, true, &c);
	xcgn_maps_close(&m);
	if (err) {
		xcgn_err("check: %s", strerror(-err));
		return XCGN_EXIT_ERR;
	}

	print_open_object(NULL);
	print_u64(PRINT_ANY, "mappings", "mappings %llu", c.maps);
	print_u64(PRINT_ANY, "reverses", "  reverses %llu", c.revs);
	print_u64(PRINT_ANY, "subscribers", "  subscribers %llu", c.subs);
	print_u64(PRINT_ANY, "blocks_held", "  blocks held %llu", c.held);
	print_nl();
	print_u64(PRINT_ANY, "blocks_taken_unheld", "taken but unheld (quarantine) %llu",
		  c.taken_unheld);
	print_u64(PRINT_ANY, "blocks_unlogged", "  held without a NAT log record %llu", c.unlogged);
	print_u64(PRINT_ANY, "violations", "  violations %llu", c.violations);
	print_nl();
	print_close_object();
	return c.violations ? XCGN_EXIT_ERR : XCGN_EXIT_OK;
}
