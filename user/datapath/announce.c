// SPDX-License-Identifier: GPL-2.0
/* What this node offers to routing, as kernel routes of its own.
 *
 * With `route-table N`, xcgn keeps in table N one blackhole route per
 * active pool prefix (the public addresses it owns: the upstream must send
 * them here) and the default route (this node takes subscribers' traffic
 * to the internet), all with protocol XCGN_RTPROT. The table is never
 * looked up for forwarding here (no rule points at it); a routing daemon
 * learns it (BIRD's kernel protocol with `learn`) and announces it with
 * BGP. The routes come with the datapath and go with it: attach adds the
 * default route, pool add and del keep the prefixes, detach removes them
 * all. The kernel holds the state, so the table in use is read back from
 * it (the routes of our protocol) and nothing is pinned. The daemon may
 * die: forwarding and the announcement go on. While it runs it withdraws
 * the routes when the datapath stops working (an XDP link detached, a
 * device gone, down or without carrier) and puts them back when it works
 * again (announce_watch): a node draws no traffic it cannot serve. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "datapath/datapath.h"

#define ANNOUNCE_MAX (XCGN_POOLS_MAX + 1)

struct route {
	uint32_t table;
	uint32_t dst;		/* network order */
	uint8_t plen;
};

struct routes {
	struct route v[ANNOUNCE_MAX * 2];
	size_t n;
	bool overflow;
};

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = nl_payload(nlh, sizeof(*rtm));
	const struct nlattr *attr;
	struct routes *rs = data;
	struct route r = {};

	if (!rtm)
		return MNL_CB_ERROR;
	if (rtm->rtm_family != AF_INET || rtm->rtm_protocol != XCGN_RTPROT)
		return MNL_CB_OK;
	r.table = rtm->rtm_table;
	r.plen = rtm->rtm_dst_len;
	mnl_attr_for_each(attr, nlh, sizeof(*rtm)) {
		switch (mnl_attr_get_type(attr)) {
		case RTA_TABLE:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
				return MNL_CB_ERROR;
			r.table = mnl_attr_get_u32(attr);
			break;
		case RTA_DST:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
				return MNL_CB_ERROR;
			r.dst = mnl_attr_get_u32(attr);
			break;
		}
	}
	if (rs->n == ARRAY_SIZE(rs->v)) {
		rs->overflow = true;
		return MNL_CB_OK;
	}
	rs->v[rs->n++] = r;
	return MNL_CB_OK;
}

static int routes_read(struct routes *rs)
{
	struct rtmsg rtm = { .rtm_family = AF_INET };
	int err;

	memset(rs, 0, sizeof(*rs));
	err = nl_dump(RTM_GETROUTE, &rtm, sizeof(rtm), route_cb, rs);
	if (!err && rs->overflow)
		err = -E2BIG;
	return err;
}

static int route_change(uint16_t type, const struct route *r)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = type;
	if (type == RTM_NEWROUTE)
		nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = r->plen;
	rtm->rtm_table = r->table < 256 ? (uint8_t)r->table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = XCGN_RTPROT;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_BLACKHOLE;
	mnl_attr_put_u32(nlh, RTA_TABLE, r->table);
	if (r->plen)
		mnl_attr_put_u32(nlh, RTA_DST, r->dst);
	return nl_request(nlh);
}

int announce_table(uint32_t *table)
{
	struct routes rs;
	int err = routes_read(&rs);

	if (err)
		return err;
	*table = rs.n ? rs.v[0].table : 0;
	return 0;
}

static bool route_in(const struct route *v, size_t n, const struct route *r)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].table == r->table && v[i].dst == r->dst && v[i].plen == r->plen)
			return true;
	return false;
}

int announce_sync(const struct xcgn_maps *m, uint32_t table)
{
	struct route want[ANNOUNCE_MAX];
	struct routes have;
	struct xcgn_pool p;
	size_t n = 0, i;
	char a[16];
	__u32 id;
	int err;

	if (table) {
		want[n++] = (struct route){ .table = table };
		for (id = 0; m && id < xcgn_npools(m); id++) {
			if (bpf_map_lookup_elem(m->pools, &id, &p)) {
				err = -errno;
				xcgn_err("read pool %u: %s", id, strerror(-err));
				return err;
			}
			if (p.flags & XCGN_POOLF_ACTIVE)
				want[n++] = (struct route){ .table = table, .dst = p.prefix,
							    .plen = p.plen };
		}
	}
	err = routes_read(&have);
	if (err) {
		xcgn_err("read xcgn's routes: %s", strerror(-err));
		return err;
	}
	/* New ones first: a move to another table never leaves nothing. */
	for (i = 0; i < n; i++) {
		if (route_in(have.v, have.n, &want[i]))
			continue;
		err = route_change(RTM_NEWROUTE, &want[i]);
		if (err) {
			xcgn_err("add route %s/%u to table %u: %s",
				 ipv4_str(want[i].dst, a, sizeof(a)), want[i].plen, table,
				 strerror(-err));
			return err;
		}
	}
	for (i = 0; i < have.n; i++) {
		if (route_in(want, n, &have.v[i]))
			continue;
		err = route_change(RTM_DELROUTE, &have.v[i]);
		if (err && err != -ESRCH) {
			xcgn_err("remove route %s/%u from table %u: %s",
				 ipv4_str(have.v[i].dst, a, sizeof(a)), have.v[i].plen,
				 have.v[i].table, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* The datapath works: both XDP links still attached (someone may detach
 * one), both devices there, up and with carrier. */
static bool datapath_works(const char *dir, const struct xcgn_link_info *li)
{
	static const char *const pins[] = { XCGN_PIN_LINK_IN, XCGN_PIN_LINK_OUT };
	const __u32 ifs[] = { li->inside_ifindex, li->outside_ifindex };
	struct nl_link l;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(pins); i++) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);
		char path[512];
		int fd, err;

		snprintf(path, sizeof(path), "%s/%s", dir, pins[i]);
		fd = bpf_obj_get(path);
		if (fd < 0)
			return false;
		err = bpf_obj_get_info_by_fd(fd, &info, &len);
		close(fd);
		if (err || info.type != BPF_LINK_TYPE_XDP || !info.xdp.ifindex)
			return false;
	}
	for (i = 0; i < ARRAY_SIZE(ifs); i++)
		if (nl_link_get(NULL, (int)ifs[i], &l) ||
		    (l.flags & (IFF_UP | IFF_RUNNING)) != (IFF_UP | IFF_RUNNING))
			return false;
	return true;
}

void announce_watch_init(struct announce_watch *w)
{
	w->working = true;
	w->table = 0;
}

int announce_watch(struct announce_watch *w, const struct xcgn_maps *m, const char *dir)
{
	struct xcgn_link_info li;
	bool ok;
	int lock, err = 0;

	if (xcgn_link_read(m, &li))
		return 0;
	ok = datapath_works(dir, &li);
	if (ok == w->working)
		return 0;
	/* Under the configuration lock, as every command changes the routes;
	 * when someone holds it, the next look. */
	lock = xcgn_trylock();
	if (lock < 0)
		return 0;
	if (!ok) {
		err = announce_table(&w->table);	/* what to put back later */
		if (!err && w->table)
			err = announce_sync(NULL, 0);
	} else if (w->table) {
		err = announce_sync(m, w->table);
	}
	xcgn_unlock(lock);
	if (err)
		return err;
	w->working = ok;
	return w->table ? (ok ? 2 : 1) : 0;
}

int announce_refresh(const struct xcgn_maps *m)
{
	uint32_t table;
	int err = announce_table(&table);

	if (err) {
		xcgn_err("read xcgn's routes: %s", strerror(-err));
		return err;
	}
	return table ? announce_sync(m, table) : 0;
}
