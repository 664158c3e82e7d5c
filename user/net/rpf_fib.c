// SPDX-License-Identifier: GPL-2.0
/* The kernel's FIB as the reverse-path check needs it, read over rtnetlink:
 * routes of every table, policy rules, devices with their IPv4 sysctls
 * (IFLA_INET_CONF), addresses; and the tables built from it for the
 * datapath (xcgn_rpf4). Reading and building are apart so the building,
 * pure, is unit-tested. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "net/net.h"
#include "net/rpf.h"

#define grow xcgn_grow

/* ---- routes ------------------------------------------------------------ */

static int route_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, RTA_MAX) < 0)
		return MNL_CB_OK;
	if ((type == RTA_DST || type == RTA_OIF || type == RTA_PRIORITY || type == RTA_TABLE ||
	     type == RTA_NH_ID) &&
	    mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
		return MNL_CB_ERROR;
	tb[type] = attr;
	return MNL_CB_OK;
}

static void route_add_nh(struct rpf_route *r, uint32_t oif)
{
	if (r->nnh < XCGN_RPF_NH_MAX)
		r->oif[r->nnh++] = oif;
	else
		r->nh_more = true;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = nl_payload(nlh, sizeof(*rtm));
	const struct nlattr *tb[RTA_MAX + 1] = {};
	struct rpf_fib *f = data;
	struct rpf_route *r;

	if (!rtm)
		return MNL_CB_ERROR;

	/* Dead routes (their device gone or down) the kernel's lookup
	 * skips; it falls back to a shorter prefix, and so does the trie
	 * without them. */
	if (rtm->rtm_family != AF_INET || (rtm->rtm_flags & (RTM_F_CLONED | RTNH_F_DEAD)) ||
	    rtm->rtm_src_len)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*rtm), route_attr, tb) < 0)
		return MNL_CB_ERROR;
	if (grow(&f->routes, &f->caproutes, f->nroutes, sizeof(*f->routes)))
		return MNL_CB_ERROR;
	r = &f->routes[f->nroutes++];
	memset(r, 0, sizeof(*r));
	r->table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	r->prefix = tb[RTA_DST] ? mnl_attr_get_u32(tb[RTA_DST]) : 0;
	r->plen = rtm->rtm_dst_len;
	r->type = rtm->rtm_type;
	r->tos = rtm->rtm_tos;
	r->proto = rtm->rtm_protocol;
	r->metric = tb[RTA_PRIORITY] ? mnl_attr_get_u32(tb[RTA_PRIORITY]) : 0;
	r->nh_obj = tb[RTA_NH_ID] != NULL;
	r->seq = (uint32_t)f->nroutes;
	if (tb[RTA_OIF])
		route_add_nh(r, mnl_attr_get_u32(tb[RTA_OIF]));
	if (tb[RTA_MULTIPATH]) {
		const char *p = mnl_attr_get_payload(tb[RTA_MULTIPATH]);
		size_t left = mnl_attr_get_payload_len(tb[RTA_MULTIPATH]), step;
		bool any = false;

		/* Not RTNH_OK/RTNH_NEXT on an int: a last nexthop whose length
		 * is not a multiple of 4 took the remainder below zero, which
		 * RTNH_OK's size_t comparison took for plenty (fuzz_netlink). */
		while (left >= sizeof(struct rtnexthop)) {
			const struct rtnexthop *nh = (const void *)p;

			if (nh->rtnh_len < sizeof(*nh) || nh->rtnh_len > left)
				break;
			if (!(nh->rtnh_flags & RTNH_F_DEAD)) {
				route_add_nh(r, (uint32_t)nh->rtnh_ifindex);
				any = true;
			}
			step = RTNH_ALIGN(nh->rtnh_len);
			if (step >= left)
				break;
			p += step;
			left -= step;
		}
		if (!any) {
			f->nroutes--;	/* every path dead */
			return MNL_CB_OK;
		}
	}
	return MNL_CB_OK;
}

/* ---- policy rules ------------------------------------------------------ */

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct fib_rule_hdr *frh = nl_payload(nlh, sizeof(*frh));
	struct rpf_fib *f = data;
	const struct nlattr *attr;
	uint32_t prio = 0, table;
	bool selector;

	if (!frh)
		return MNL_CB_ERROR;
	table = frh->table;
	selector = frh->src_len || frh->dst_len || frh->tos;

	if (frh->family != AF_INET)
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(*frh)) {
		switch (mnl_attr_get_type(attr)) {
		case FRA_PRIORITY:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
				return MNL_CB_ERROR;
			prio = mnl_attr_get_u32(attr);
			break;
		case FRA_TABLE:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
				return MNL_CB_ERROR;
			table = mnl_attr_get_u32(attr);
			break;
		case FRA_IIFNAME:
		case FRA_OIFNAME:
		case FRA_FWMARK:
		case FRA_UID_RANGE:
		case FRA_IP_PROTO:
		case FRA_SPORT_RANGE:
		case FRA_DPORT_RANGE:
		case FRA_L3MDEV:
			selector = true;
			break;
		}
	}
	f->nrules++;
	/* The three rules every namespace starts with; anything else, or one
	 * of them missing, is custom. (The kernel's flag also stays set
	 * after rules were changed and put back; that history is not in a
	 * dump.) */
	if (selector || frh->action != FR_ACT_TO_TBL ||
	    !((prio == 0 && table == RT_TABLE_LOCAL) || (prio == 32766 && table == RT_TABLE_MAIN) ||
	      (prio == 32767 && table == RT_TABLE_DEFAULT)))
		f->custom_rules = true;
	return MNL_CB_OK;
}

/* ---- devices ----------------------------------------------------------- */

/* IFLA_INET_CONF is the device's ipv4_devconf, u32 per IPV4_DEVCONF_* - 1. */
static void conf_from_array(struct rpf_conf *c, const uint32_t *v, size_t n)
{
#define CONF(field, id) \
	if ((size_t)(id) <= n) c->field = (int)v[(id) - 1]
	CONF(forwarding, IPV4_DEVCONF_FORWARDING);
	CONF(rp_filter, IPV4_DEVCONF_RP_FILTER);
	CONF(accept_local, IPV4_DEVCONF_ACCEPT_LOCAL);
	CONF(route_localnet, IPV4_DEVCONF_ROUTE_LOCALNET);
	CONF(log_martians, IPV4_DEVCONF_LOG_MARTIANS);
#undef CONF
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifm = nl_payload(nlh, sizeof(*ifm));
	struct rpf_fib *f = data;
	const struct nlattr *attr, *af, *c;
	struct rpf_link *l;

	if (!ifm)
		return MNL_CB_ERROR;

	if (grow(&f->links, &f->caplinks, f->nlinks, sizeof(*f->links)))
		return MNL_CB_ERROR;
	l = &f->links[f->nlinks++];
	memset(l, 0, sizeof(*l));
	l->ifindex = ifm->ifi_index;
	l->flags = ifm->ifi_flags;
	mnl_attr_for_each(attr, nlh, sizeof(*ifm)) {
		if (mnl_attr_get_type(attr) == IFLA_IFNAME &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(attr));
		if (mnl_attr_get_type(attr) != IFLA_AF_SPEC)
			continue;
		mnl_attr_for_each_nested(af, attr) {
			if (mnl_attr_get_type(af) != AF_INET)
				continue;
			mnl_attr_for_each_nested(c, af) {
				if (mnl_attr_get_type(c) != IFLA_INET_CONF)
					continue;
				conf_from_array(&l->conf, mnl_attr_get_payload(c),
						mnl_attr_get_payload_len(c) / 4);
			}
		}
	}
	return MNL_CB_OK;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rpf_fib *f = data;
	struct rpf_addr a;
	int ret = nl_ifaddr(nlh, &a.ifindex, &a.addr, &a.plen);

	if (ret <= 0)
		return ret < 0 ? MNL_CB_ERROR : MNL_CB_OK;
	if (grow(&f->addrs, &f->capaddrs, f->naddrs, sizeof(*f->addrs)))
		return MNL_CB_ERROR;
	f->addrs[f->naddrs++] = a;
	return MNL_CB_OK;
}

/* "all" has no device to carry it over rtnetlink (RTM_GETNETCONF has no
 * accept_local): the sysctl files, this namespace's. */
static int sysctl_all(const char *key)
{
	char path[128], buf[32];
	FILE *fp;
	int v = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/all/%s", key);
	fp = fopen(path, "r");
	if (!fp)
		return 0;
	if (fgets(buf, sizeof(buf), fp))
		v = atoi(buf);
	fclose(fp);
	return v;
}

void rpf_fib_derive(struct rpf_fib *f)
{
	size_t i, j;

	if (f->nrules != 3)
		f->custom_rules = true;
	for (i = 0; i < f->nroutes; i++) {
		/* Local routes userspace added (AnyIP and the like): the
		 * kernel then never takes the shortcut of mode off. (Its flag
		 * stays set once such a route was ever added; one since
		 * deleted is not in a dump.) */
		if (f->routes[i].type == RTN_LOCAL && f->routes[i].proto != RTPROT_KERNEL)
			f->custom_local = true;
		if (f->routes[i].table == RT_TABLE_DEFAULT)
			f->default_table = true;
	}
	for (i = 0; i < f->nlinks; i++)
		for (j = 0; j < f->naddrs; j++)
			if (f->addrs[j].ifindex == f->links[i].ifindex)
				f->links[i].has_addr = true;
}

/* One message of a dump, to the reader of its kind. */
static int fib_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	switch (nlh->nlmsg_type) {
	case RTM_NEWROUTE:
		return route_cb(nlh, data);
	case RTM_NEWRULE:
		return rule_cb(nlh, data);
	case RTM_NEWLINK:
		return link_cb(nlh, data);
	case RTM_NEWADDR:
		return addr_cb(nlh, data);
	}
	return MNL_CB_OK;
}

int rpf_fib_parse(struct rpf_fib *f, const void *buf, size_t len)
{
	if (!nl_buf_ok(buf, len))
		return -EINVAL;
	return mnl_cb_run(buf, len, 0, 0, fib_msg_cb, f) < 0 ? -EINVAL : 0;
}

int rpf_fib_read(struct rpf_fib *f)
{
	struct rtmsg rtm = { .rtm_family = AF_INET };
	struct fib_rule_hdr frh = { .family = AF_INET };
	struct ifinfomsg ifm = { .ifi_family = AF_UNSPEC };
	struct ifaddrmsg ifa = { .ifa_family = AF_INET };
	int err;

	memset(f, 0, sizeof(*f));
	if ((err = nl_dump(RTM_GETROUTE, &rtm, sizeof(rtm), fib_msg_cb, f)) ||
	    (err = nl_dump(RTM_GETRULE, &frh, sizeof(frh), fib_msg_cb, f)) ||
	    (err = nl_dump(RTM_GETLINK, &ifm, sizeof(ifm), fib_msg_cb, f)) ||
	    (err = nl_dump(RTM_GETADDR, &ifa, sizeof(ifa), fib_msg_cb, f))) {
		rpf_fib_free(f);
		return err;
	}
	rpf_fib_derive(f);
	f->all.forwarding = sysctl_all("forwarding");
	f->all.rp_filter = sysctl_all("rp_filter");
	f->all.accept_local = sysctl_all("accept_local");
	f->all.route_localnet = sysctl_all("route_localnet");
	f->all.log_martians = sysctl_all("log_martians");
	return 0;
}

void rpf_fib_free(struct rpf_fib *f)
{
	free(f->routes);
	free(f->links);
	free(f->addrs);
	memset(f, 0, sizeof(*f));
}

const struct rpf_link *rpf_link_by_index(const struct rpf_fib *f, int ifindex)
{
	size_t i;

	for (i = 0; i < f->nlinks; i++)
		if (f->links[i].ifindex == ifindex)
			return &f->links[i];
	return NULL;
}

const struct rpf_link *rpf_link_by_name(const struct rpf_fib *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->nlinks; i++)
		if (!strcmp(f->links[i].name, name))
			return &f->links[i];
	return NULL;
}

/* ---- what the kernel makes of it ---------------------------------------- */

int rpf_kernel_mode(const struct rpf_fib *f, const struct rpf_link *l)
{
	return l->conf.rp_filter > f->all.rp_filter ? l->conf.rp_filter : f->all.rp_filter;
}

uint16_t rpf_dev_flags(const struct rpf_fib *f, const struct rpf_link *l, bool outside)
{
	uint16_t fl = XCGN_RPFD_VALID;

	if (f->all.accept_local || l->conf.accept_local)
		fl |= XCGN_RPFD_ACCEPT_LOCAL;
	if (f->all.route_localnet || l->conf.route_localnet)
		fl |= XCGN_RPFD_ROUTE_LOCALNET;
	if (!l->has_addr)
		fl |= XCGN_RPFD_NO_ADDR;
	if (l->flags & IFF_LOOPBACK)
		fl |= XCGN_RPFD_LOOPBACK;
	if (f->custom_rules || f->custom_local)
		fl |= XCGN_RPFD_FULL_CHECK;
	if (!f->custom_rules)
		fl |= XCGN_RPFD_MERGED;
	if (outside)
		fl |= XCGN_RPFD_OUTSIDE;
	if (f->default_table)
		fl |= XCGN_RPFD_DEFAULT_TB;
	return fl;
}

/* ---- the tables of xcgn_rpf4 -------------------------------------------- */

static int entry_cmp(const void *a, const void *b)
{
	const struct rpf_entry *x = a, *y = b;

	return memcmp(&x->key, &y->key, sizeof(x->key));
}

/* The slot of xcgn_rpf4 a route of kernel table @table goes in; -1: none. */
static int slot_of(uint32_t table, bool merged)
{
	switch (table) {
	case RT_TABLE_LOCAL:
		return merged ? XCGN_RPF_TB_MERGED : XCGN_RPF_TB_LOCAL;
	case RT_TABLE_MAIN:
		return merged ? XCGN_RPF_TB_MERGED : XCGN_RPF_TB_MAIN;
	case RT_TABLE_DEFAULT:
		return XCGN_RPF_TB_DEFAULT;
	}
	return -1;
}

/* Does @a beat @b for the same slot and prefix? Merged: a local route
 * wins (the kernel orders aliases by table id, local first); then the
 * lowest metric; then the first in the dump (the kernel's order). */
static bool beats(const struct rpf_entry *a, const struct rpf_entry *b)
{
	bool al = a->val.table == RT_TABLE_LOCAL, bl = b->val.table == RT_TABLE_LOCAL;

	if (al != bl)
		return al;
	if (a->val.metric != b->val.metric)
		return a->val.metric < b->val.metric;
	return a->seq < b->seq;
}

/* One entry per (slot, prefix): the route the kernel would pick. Routes
 * with a TOS are for lookups that carry one, which the check does not (the
 * lint says so). */
int rpf_table_build(const struct rpf_fib *f, struct rpf_entry **out, size_t *n)
{
	bool merged = !f->custom_rules;
	struct rpf_entry *e;
	size_t i, k = 0, w;

	e = calloc(f->nroutes ? f->nroutes : 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (i = 0; i < f->nroutes; i++) {
		const struct rpf_route *r = &f->routes[i];
		struct rpf_entry *x = &e[k];
		int slot = slot_of(r->table, merged);

		if (slot < 0 || r->tos || r->plen > 32)
			continue;
		memset(x, 0, sizeof(*x));
		x->key.prefixlen = 32 + r->plen;
		x->key.table = htonl((uint32_t)slot);
		x->key.addr = r->prefix & prefix_mask_be(r->plen);
		x->val.prefix = x->key.addr;
		x->val.plen = r->plen;
		x->val.type = r->type;
		x->val.table = r->table;
		x->val.metric = r->metric;
		x->val.nnh = r->nnh;
		x->val.flags = r->nh_more ? XCGN_RPFR_NH_MORE : 0;
		memcpy(x->val.oif, r->oif, sizeof(x->val.oif));
		x->seq = r->seq;
		k++;
	}
	qsort(e, k, sizeof(*e), entry_cmp);
	for (i = 0, w = 0; i < k; i++) {
		if (w && !entry_cmp(&e[w - 1], &e[i])) {
			if (beats(&e[i], &e[w - 1]))
				e[w - 1] = e[i];
			continue;
		}
		e[w++] = e[i];
	}
	*out = e;
	*n = w;
	return 0;
}

/* ---- following changes -------------------------------------------------- */

struct rpf_watch {
	struct mnl_socket *nl;
};

struct rpf_watch *rpf_watch_open(void)
{
	struct rpf_watch *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return NULL;
	w->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!w->nl)
		goto fail;
	/* Routes, addresses and devices change the tables; rules the lookup
	 * order; netconf carries rp_filter. (accept_local and route_localnet
	 * send nothing: the daemon also re-reads every second.) */
	if (mnl_socket_bind(w->nl,
			    RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE |
				    (1u << (RTNLGRP_IPV4_RULE - 1)) |
				    (1u << (RTNLGRP_IPV4_NETCONF - 1)),
			    MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	return w;
fail:
	err = errno;
	rpf_watch_close(w);
	errno = err;
	return NULL;
}

int rpf_watch_fd(const struct rpf_watch *w)
{
	return mnl_socket_get_fd(w->nl);
}

bool rpf_watch_changed(struct rpf_watch *w)
{
	char buf[32768];
	bool changed = false;
	ssize_t n;

	/* The content does not matter: any message means re-read, and so
	 * does any error but "nothing more" (a lost or truncated message). */
	for (;;) {
		n = mnl_socket_recvfrom(w->nl, buf, sizeof(buf));
		if (n > 0) {
			changed = true;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			changed = true;
			if (errno == ENOBUFS)
				continue;
		}
		return changed;
	}
}

void rpf_watch_close(struct rpf_watch *w)
{
	if (!w)
		return;
	if (w->nl)
		mnl_socket_close(w->nl);
	free(w);
}
