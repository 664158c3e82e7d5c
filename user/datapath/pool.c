// SPDX-License-Identifier: GPL-2.0
/* Pools in the pinned maps: add and delete, checked against each other and
 * the subscriber range. Ordering matters because the datapath reads these
 * maps while we write them: a pool's addresses and bitmaps are complete
 * before the pool is marked active, and it is inactive before they go. */
#include <arpa/inet.h>
#include <syslog.h>
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

#include "datapath/datapath.h"


static int pool_read(const struct xcgn_maps *m, __u32 id, struct xcgn_pool *p)
{
	if (bpf_map_lookup_elem(m->pools, &id, p)) {
		xcgn_err("read pool %u: %s", id, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Highest used address index + 1 and the span of the pool addresses,
 * published for the datapath. */
static int hwm_update(const struct xcgn_maps *m)
{
	struct xcgn_state rs = {};
	struct xcgn_paddr pa;
	__u32 zero = 0, i, n = xcgn_naddrs(m);

	if (bpf_map_lookup_elem(m->state, &zero, &rs))
		return -errno;
	rs.naddrs_hwm = 0;
	rs.paddr_min = UINT32_MAX;
	rs.paddr_max = 0;
	for (i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(m->paddr, &i, &pa) || !pa.addr)
			continue;
		rs.naddrs_hwm = i + 1;
		if (ntohl(pa.addr) < rs.paddr_min)
			rs.paddr_min = ntohl(pa.addr);
		if (ntohl(pa.addr) > rs.paddr_max)
			rs.paddr_max = ntohl(pa.addr);
	}
	if (bpf_map_update_elem(m->state, &zero, &rs, 0))
		return -errno;
	return 0;
}

static void addr_clear(const struct xcgn_maps *m, __u32 idx, __be32 addr)
{
	struct xcgn_paddr none = {};
	struct xcgn_blkmap full;

	memset(&full, 0xff, sizeof(full));
	bpf_map_delete_elem(m->pubidx, &addr);
	bpf_map_update_elem(m->paddr, &idx, &none, 0);
	bpf_map_update_elem(m->blocks, &idx, &full, 0);
}

int pool_conflict(const struct xcgn_pool *p, const struct xcgn_pool *others, size_t n,
		  uint32_t sub_prefix, uint8_t sub_plen, char *why, size_t len)
{
	char a[16], b[16];
	size_t i;

	if (prefix_overlap(p->prefix, p->plen, sub_prefix, sub_plen)) {
		snprintf(why, len, "pool %s/%u overlaps the subscriber range %s/%u",
			 ipv4_str(p->prefix, a, sizeof(a)), p->plen,
			 ipv4_str(sub_prefix, b, sizeof(b)), sub_plen);
		return -EINVAL;
	}
	if ((p->flags & XCGN_POOLF_DETERMINISTIC) &&
	    (p->det_plen < sub_plen ||
	     !prefix_overlap(p->det_prefix, p->det_plen, sub_prefix, sub_plen))) {
		snprintf(why, len,
			 "deterministic subscribers %s/%u are not inside the subscriber range %s/%u",
			 ipv4_str(p->det_prefix, a, sizeof(a)), p->det_plen,
			 ipv4_str(sub_prefix, b, sizeof(b)), sub_plen);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		const struct xcgn_pool *q = &others[i];

		if ((q->flags & XCGN_POOLF_DETERMINISTIC) &&
		    (p->flags & XCGN_POOLF_DETERMINISTIC) &&
		    prefix_overlap(p->det_prefix, p->det_plen, q->det_prefix, q->det_plen)) {
			snprintf(why, len, "deterministic subscribers %s/%u are already served by "
				 "pool %s/%u", ipv4_str(p->det_prefix, a, sizeof(a)), p->det_plen,
				 ipv4_str(q->prefix, b, sizeof(b)), q->plen);
			return -EEXIST;
		}
		if (prefix_overlap(p->prefix, p->plen, q->prefix, q->plen)) {
			snprintf(why, len, "pool %s/%u overlaps pool %s/%u",
				 ipv4_str(p->prefix, a, sizeof(a)), p->plen,
				 ipv4_str(q->prefix, b, sizeof(b)), q->plen);
			return -EEXIST;
		}
	}
	return 0;
}

/* The active pools (up to XCGN_POOLS_MAX into @out): how many, and the
 * first free id in *@free_id (XCGN_POOLS_MAX: none); -errno. */
static int pools_active(const struct xcgn_maps *m, struct xcgn_pool *out, __u32 *free_id)
{
	struct xcgn_pool q;
	__u32 id, npools = xcgn_npools(m);
	int n = 0, err;

	*free_id = XCGN_POOLS_MAX;
	for (id = 0; id < npools; id++) {
		err = pool_read(m, id, &q);
		if (err)
			return err;
		if (q.flags & XCGN_POOLF_ACTIVE)
			out[n++] = q;
		else if (*free_id == XCGN_POOLS_MAX)
			*free_id = id;
	}
	return n;
}

static bool excluded(uint32_t addr, int ifindex __unused, const void *o)
{
	return excl_has(o, addr);
}

int pool_host_addr(const struct pool_opts *o)
{
	struct nl_link l;
	char a[16], b[16];
	uint32_t addr;
	int ifindex, ret = nl_addr_within(o->prefix, o->plen, excluded, o, &addr, &ifindex);

	if (ret < 0)
		xcgn_err("read this host's addresses: %s", strerror(-ret));
	if (ret <= 0)
		return ret;
	ipv4_str(addr, a, sizeof(a));
	xcgn_err("pool %s/%u holds %s, an address of this host (on %s): its own traffic to it "
		 "would be taken for a subscriber's; leave it out (exclude %s) or say force",
		 ipv4_str(o->prefix, b, sizeof(b)), o->plen, a,
		 nl_link_get(NULL, ifindex, &l) ? "?" : l.name, a);
	return 1;
}

void pool_fill_warn(uint32_t prefix, uint8_t plen, uint32_t sub_maps, uint32_t max_subs,
		    uint32_t max_maps)
{
	uint64_t need = (uint64_t)max_subs * sub_maps, fill;
	char a[16];

	if (!max_maps)
		return;
	if (!sub_maps) {
		xcgn_logf(LOG_WARNING, "xcgn: warning: pool %s/%u has no sub-mappings cap: one "
				       "subscriber can fill the mapping table (%u) for everybody\n",
			  ipv4_str(prefix, a, sizeof(a)), plen, max_maps);
		return;
	}
	/* Every subscriber at its cap at once never happens: a table smaller
	 * than max-subscribers x the cap is how tables are sized. What the cap
	 * must prevent is a handful of subscribers (a few infected hosts)
	 * taking the table from everybody else. */
	fill = (max_maps + (uint64_t)sub_maps - 1) / sub_maps;
	if (need > max_maps && fill < XCGN_FILL_WARN_SUBS)
		xcgn_logf(LOG_WARNING, "xcgn: warning: pool %s/%u: %llu subscribers at their "
				       "sub-mappings cap (%u) fill the mapping table (%u) for "
				       "everybody: lower sub-mappings or raise max-mappings at "
				       "attach\n",
			  ipv4_str(prefix, a, sizeof(a)), plen, (unsigned long long)fill, sub_maps,
			  max_maps);
}

/* A pool over a bypass destination would translate what must not be. */
static int pool_bypass_overlap(const struct xcgn_maps *m, const struct xcgn_pool *p)
{
	struct xcgn_lpm4_key bk, *bprev = NULL;
	char a[16], b[16];

	while (!bpf_map_get_next_key(m->bypass, bprev, &bk)) {
		if (prefix_overlap(p->prefix, p->plen, bk.addr, (uint8_t)bk.prefixlen)) {
			xcgn_err("pool %s/%u overlaps bypass %s/%u", ipv4_str(p->prefix, a, sizeof(a)),
				 p->plen, ipv4_str(bk.addr, b, sizeof(b)), bk.prefixlen);
			return -EINVAL;
		}
		bprev = &bk;
	}
	return 0;
}

/* A contiguous run of @n free address slots: the first one's index, or
 * -errno (said). */
static int64_t addr_run(const struct xcgn_maps *m, __u32 n)
{
	__u32 naddrs = xcgn_naddrs(m), i, first = 0, run = 0;

	for (i = 0; i < naddrs && run < n; i++) {
		struct xcgn_paddr pa;

		if (bpf_map_lookup_elem(m->paddr, &i, &pa))
			return -errno;
		if (pa.addr) {
			run = 0;
			first = i + 1;
		} else {
			run++;
		}
	}
	if (run < n) {
		xcgn_err("no room for %u more pool addresses in a row (this instance holds "
			 "max-addresses %u; at most %u)", n, naddrs, XCGN_PADDRS_MAX);
		return -ENOSPC;
	}
	return first;
}

/* Pool @id's addresses into their slots from p->addr_first: the blocks
 * past the end taken, an excluded address all taken and out of the
 * inbound index. The number written; on a failure (said) *@err, with the
 * one that failed undone. */
static __u32 addrs_fill(const struct xcgn_maps *m, const struct xcgn_pool *p, const struct pool_opts *o,
			__u32 id, int *err)
{
	__u32 done;
	char a[16];

	for (done = 0; done < p->naddrs; done++) {
		struct xcgn_paddr pa = {};
		struct xcgn_blkmap bm;
		__u32 idx = p->addr_first + done, blk;

		memset(&bm, 0, sizeof(bm));
		/* Blocks past the end do not exist: mark them taken. */
		for (blk = p->nblocks; blk < XCGN_BLKS_PER_ADDR_MAX; blk++)
			bm.w[blk / 64] |= 1ULL << (blk % 64);
		pa.addr = htonl(ntohl(p->prefix) + done);
		pa.idx = idx;
		pa.pool_id = (__u16)id;
		/* Excluded: every block taken, and no inbound lookup finds it
		 * (its traffic is the host's, or another box's). */
		if (excl_has(o, pa.addr)) {
			memset(&bm, 0xff, sizeof(bm));
			pa.flags = XCGN_PADDRF_EXCLUDED;
		}
		if (bpf_map_update_elem(m->blocks, &idx, &bm, 0) ||
		    (!pa.flags && bpf_map_update_elem(m->pubidx, &pa.addr, &pa, BPF_NOEXIST)) ||
		    bpf_map_update_elem(m->paddr, &idx, &pa, 0)) {
			*err = -errno;
			xcgn_err("add pool address %s: %s", ipv4_str(pa.addr, a, sizeof(a)),
				 strerror(-*err));
			/* This one may be half written: undo it too. */
			addr_clear(m, idx, pa.addr);
			return done;
		}
	}
	*err = 0;
	return done;
}

int pool_add(const struct xcgn_maps *m, const struct pool_opts *opts)
{
	struct pool_opts ob = *opts, *o = &ob;
	struct xcgn_pool p, q, act[XCGN_POOLS_MAX] = {};
	struct xcgn_link_info li;
	char why[200], a[16];
	__u32 zero = 0, free_id, first, done = 0;
	int64_t run;
	int err, nact;

	pool_from_opts(o, &p);
	if (pool_plan(&p, why, sizeof(why)) || pool_opts_check(o, why, sizeof(why))) {
		xcgn_err("pool %s/%u: %s", ipv4_str(o->prefix, a, sizeof(a)), o->plen, why);
		return -EINVAL;
	}
	if (bpf_map_lookup_elem(m->link, &zero, &li)) {
		xcgn_err("read link state: %s", strerror(errno));
		return -errno;
	}
	if (!o->force && (err = pool_host_addr(o)))
		return err < 0 ? err : -EADDRINUSE;
	pool_fill_warn(p.prefix, p.plen, p.sub_maps, li.max_subs, li.max_maps);
	nact = pools_active(m, act, &free_id);
	if (nact < 0)
		return nact;
	err = pool_conflict(&p, act, (size_t)nact, li.sub_prefix, li.sub_plen, why, sizeof(why));
	if (err) {
		xcgn_err("%s", why);
		return err;
	}
	if (free_id == XCGN_POOLS_MAX) {
		xcgn_err("no room for another pool (this instance holds %u%s)", xcgn_npools(m),
			 xcgn_npools(m) < XCGN_POOLS_MAX ? "; an attach of this version holds "
							   XSTR(XCGN_POOLS_MAX) : "");
		return -ENOSPC;
	}
	err = pool_bypass_overlap(m, &p);
	if (err)
		return err;
	run = addr_run(m, p.naddrs);
	if (run < 0)
		return (int)run;
	p.addr_first = first = (__u32)run;
	done = addrs_fill(m, &p, o, free_id, &err);
	if (err)
		goto rollback;
	p.flags |= XCGN_POOLF_ACTIVE;
	if (bpf_map_update_elem(m->pools, &free_id, &p, 0)) {
		err = -errno;
		xcgn_err("add pool: %s", strerror(-err));
		goto rollback;
	}
	err = hwm_update(m);
	if (err) {
		xcgn_err("publish pool: %s", strerror(-err));
		goto rollback;
	}
	err = announce_refresh(m);	/* announced once it is served */
	if (err)
		goto rollback;
	return 0;
rollback:
	memset(&q, 0, sizeof(q));
	bpf_map_update_elem(m->pools, &free_id, &q, 0);
	while (done-- > 0)
		addr_clear(m, first + done, htonl(ntohl(p.prefix) + done));
	hwm_update(m);
	announce_refresh(m);
	return err;
}

int pool_del(const struct xcgn_maps *m, uint32_t prefix, uint8_t plen)
{
	struct xcgn_pool p, none = {};
	struct xcgn_sub sub;
	__be32 key, *prev = NULL;
	char a[16];
	__u32 id, i, users = 0, resting = 0;
	int ret;

	ret = pool_find(m, prefix, plen, &p);
	if (ret < 0)
		return ret;
	id = (__u32)ret;
	/* Inactive first, so no new subscriber lands on it while we count. */
	p.flags &= (__u8)~XCGN_POOLF_ACTIVE;
	if (bpf_map_update_elem(m->pools, &id, &p, 0))
		return -errno;
	while (!bpf_map_get_next_key(m->subs, prev, &key)) {
		if (!bpf_map_lookup_elem(m->subs, &key, &sub) && sub.pool_id == id)
			users++;
		prev = &key;
	}
	/* Blocks taken but held by nobody rest in the daemon's quarantine
	 * (RFC 6888 REQ-8): a pool added again on these addresses would hand
	 * them out at once. Wait for the quarantine to end. */
	for (i = 0; !users && i < p.naddrs; i++) {
		struct xcgn_blkmap bm;
		struct xcgn_paddr pa;
		__u32 idx = p.addr_first + i, b;

		/* An excluded address has every bit taken, by nobody. */
		if (bpf_map_lookup_elem(m->blocks, &idx, &bm) ||
		    (!bpf_map_lookup_elem(m->paddr, &idx, &pa) && (pa.flags & XCGN_PADDRF_EXCLUDED)))
			continue;
		for (b = 0; b < p.nblocks && b < XCGN_BLKS_PER_ADDR_MAX; b++)
			resting += (bm.w[b / 64] >> (b % 64)) & 1;
	}
	if (users || resting) {
		p.flags |= XCGN_POOLF_ACTIVE;
		if (bpf_map_update_elem(m->pools, &id, &p, 0))
			return -errno;
		if (users)
			xcgn_err("pool %s/%u is in use by %u subscriber(s); it can go once "
				 "their mappings have expired",
				 ipv4_str(prefix, a, sizeof(a)), plen, users);
		else
			xcgn_err("pool %s/%u has %u block(s) in quarantine (RFC 6888 REQ-8); "
				 "it can go once they are free (xcgn daemon frees them)",
				 ipv4_str(prefix, a, sizeof(a)), plen, resting);
		return -EBUSY;
	}
	for (i = 0; i < p.naddrs; i++)
		addr_clear(m, p.addr_first + i, htonl(ntohl(p.prefix) + i));
	if (bpf_map_update_elem(m->pools, &id, &none, 0))
		return -errno;
	ret = hwm_update(m);
	return ret ? ret : announce_refresh(m);
}

void pool_excl_read(const struct xcgn_maps *m, const struct xcgn_pool *p, struct pool_opts *o)
{
	char why[128];
	__u32 i, idx;

	o->nexcl = 0;
	for (i = 0; i < p->naddrs; i++) {
		struct xcgn_paddr pa;

		idx = p->addr_first + i;
		if (bpf_map_lookup_elem(m->paddr, &idx, &pa) || !(pa.flags & XCGN_PADDRF_EXCLUDED))
			continue;
		/* One at a time, folded as it fills (the pool had them fit). */
		if (o->nexcl == XCGN_EXCL_MAX && excl_normalize(o, why, sizeof(why)))
			break;
		excl_add(o, pa.addr, 32, why, sizeof(why));
	}
	excl_normalize(o, why, sizeof(why));
}

int pool_addr_drain(const struct xcgn_maps *m, uint32_t addr, bool on)
{
	struct xcgn_paddr pa;
	struct xcgn_pool p;
	__u32 id;
	char a[16];

	if (bpf_map_lookup_elem(m->pubidx, &addr, &pa)) {
		xcgn_err("%s is no address of a pool (or it is excluded)",
			 ipv4_str(addr, a, sizeof(a)));
		return -ENOENT;
	}
	id = pa.pool_id;
	if (!bpf_map_lookup_elem(m->pools, &id, &p) && (p.flags & XCGN_POOLF_DETERMINISTIC)) {
		xcgn_err("%s is in a deterministic pool, whose subscribers it serves by arithmetic: "
			 "it cannot be drained", ipv4_str(addr, a, sizeof(a)));
		return -EINVAL;
	}
	if (on)
		pa.flags |= XCGN_PADDRF_DRAINED;
	else
		pa.flags &= (__u16)~XCGN_PADDRF_DRAINED;
	/* The slot is what the datapath reads when it picks; the index copy
	 * says the same. */
	if (bpf_map_update_elem(m->paddr, &pa.idx, &pa, BPF_EXIST) ||
	    bpf_map_update_elem(m->pubidx, &addr, &pa, BPF_EXIST)) {
		int err = -errno;

		xcgn_err("drain %s: %s", ipv4_str(addr, a, sizeof(a)), strerror(-err));
		return err;
	}
	return 0;
}

/* The keys `pool set` may change while subscribers hold blocks: those
 * the datapath reads per packet or per new mapping, never the geometry
 * (prefix, ports, block size, deterministic range) that places blocks. */
bool pool_same_geometry(const struct xcgn_pool *a, const struct xcgn_pool *b)
{
	return a->prefix == b->prefix && a->plen == b->plen && a->port_lo == b->port_lo &&
	       a->port_hi == b->port_hi && a->block_size == b->block_size &&
	       (a->flags & XCGN_POOLF_DETERMINISTIC) == (b->flags & XCGN_POOLF_DETERMINISTIC) &&
	       (!(a->flags & XCGN_POOLF_DETERMINISTIC) ||
		(a->det_prefix == b->det_prefix && a->det_plen == b->det_plen &&
		 a->max_blocks == b->max_blocks));
}

int pool_find(const struct xcgn_maps *m, uint32_t prefix, uint8_t plen, struct xcgn_pool *p)
{
	__u32 id;
	char a[16];
	int err;

	for (id = 0; id < xcgn_npools(m); id++) {
		err = pool_read(m, id, p);
		if (err)
			return err;
		if ((p->flags & XCGN_POOLF_ACTIVE) && p->prefix == prefix && p->plen == plen)
			return (int)id;
	}
	xcgn_err("no pool %s/%u", ipv4_str(prefix, a, sizeof(a)), plen);
	return -ENOENT;
}

int pool_set(const struct xcgn_maps *m, const struct pool_opts *o)
{
	struct xcgn_pool cur, p;
	char why[200], a[16];
	__u32 id;
	int ret;

	ret = pool_find(m, o->prefix, o->plen, &cur);
	if (ret < 0)
		return ret;
	id = (__u32)ret;
	pool_from_opts(o, &p);
	if (pool_plan(&p, why, sizeof(why))) {
		xcgn_err("pool %s/%u: %s", ipv4_str(o->prefix, a, sizeof(a)), o->plen, why);
		return -EINVAL;
	}
	{
		struct pool_opts now, want = *o;

		pool_opts_from(&cur, &now);
		pool_excl_read(m, &cur, &now);
		if (excl_normalize(&want, why, sizeof(why)) || now.nexcl != want.nexcl ||
		    memcmp(now.excl, want.excl, sizeof(now.excl[0]) * now.nexcl)) {
			xcgn_err("pool %s/%u: exclude places the blocks too and cannot change in "
				 "place (pool drain ADDR stops new subscribers on one at once)",
				 ipv4_str(o->prefix, a, sizeof(a)), o->plen);
			return -EINVAL;
		}
	}
	if (!pool_same_geometry(&cur, &p)) {
		xcgn_err("pool %s/%u: ports, block-size and deterministic (with its max-blocks) "
			 "place the blocks and cannot change in place; delete the pool and add "
			 "it again",
			 ipv4_str(o->prefix, a, sizeof(a)), o->plen);
		return -EINVAL;
	}
	p.flags |= XCGN_POOLF_ACTIVE;
	p.addr_first = cur.addr_first;
	p.naddrs = cur.naddrs;
	/* One update of a 56-byte value: the datapath may read a mix of old
	 * and new fields for a moment, each of them valid on its own. */
	if (bpf_map_update_elem(m->pools, &id, &p, BPF_EXIST)) {
		int err = -errno;

		xcgn_err("set pool %s/%u: %s", ipv4_str(o->prefix, a, sizeof(a)), o->plen,
			 strerror(-err));
		return err;
	}
	return 0;
}

/* A bypass prefix may not cover a pool (replies would come to the pool) or
 * the subscribers (they are not the internet). */
/* Publish how many bypass prefixes there are: with none, the datapath
 * skips the trie. */
static int bypass_count(const struct xcgn_maps *m)
{
	struct xcgn_lpm4_key k, *prev = NULL;
	struct xcgn_state rs;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->state, &zero, &rs))
		return -errno;
	rs.nbypass = 0;
	while (!bpf_map_get_next_key(m->bypass, prev, &k)) {
		rs.nbypass++;
		prev = &k;
	}
	return bpf_map_update_elem(m->state, &zero, &rs, 0) ? -errno : 0;
}

int bypass_add(const struct xcgn_maps *m, uint32_t prefix, uint8_t plen)
{
	struct xcgn_lpm4_key k = { .prefixlen = plen, .addr = prefix };
	struct xcgn_link_info li;
	struct xcgn_pool q;
	char a[16], b[16];
	__u32 zero = 0, id;
	__u8 one = 1;

	if (bpf_map_lookup_elem(m->link, &zero, &li))
		return -errno;
	if (prefix_overlap(prefix, plen, li.sub_prefix, li.sub_plen)) {
		xcgn_err("bypass %s/%u overlaps the subscriber range %s/%u",
			 ipv4_str(prefix, a, sizeof(a)), plen, ipv4_str(li.sub_prefix, b, sizeof(b)),
			 li.sub_plen);
		return -EINVAL;
	}
	for (id = 0; id < xcgn_npools(m); id++) {
		if (bpf_map_lookup_elem(m->pools, &id, &q))
			return -errno;
		if ((q.flags & XCGN_POOLF_ACTIVE) && prefix_overlap(prefix, plen, q.prefix, q.plen)) {
			xcgn_err("bypass %s/%u overlaps pool %s/%u", ipv4_str(prefix, a, sizeof(a)),
				 plen, ipv4_str(q.prefix, b, sizeof(b)), q.plen);
			return -EINVAL;
		}
	}
	if (bpf_map_update_elem(m->bypass, &k, &one, BPF_NOEXIST)) {
		int err = -errno;

		xcgn_err("bypass %s/%u: %s", ipv4_str(prefix, a, sizeof(a)), plen,
			 err == -EEXIST ? "already there" :
			 err == -ENOSPC ? "the bypass list is full" : strerror(-err));
		return err;
	}
	return bypass_count(m);
}

int bypass_del(const struct xcgn_maps *m, uint32_t prefix, uint8_t plen)
{
	struct xcgn_lpm4_key k = { .prefixlen = plen, .addr = prefix };
	char a[16];

	if (bpf_map_delete_elem(m->bypass, &k)) {
		xcgn_err("no bypass %s/%u", ipv4_str(prefix, a, sizeof(a)), plen);
		return -errno;
	}
	return bypass_count(m);
}

int xcgn_link_read(const struct xcgn_maps *m, struct xcgn_link_info *li)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->link, &zero, li)) {
		int err = -errno;

		xcgn_err("read link state: %s", strerror(-err));
		return err;
	}
	return 0;
}
