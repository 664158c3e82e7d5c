// SPDX-License-Identifier: GPL-2.0
/* user/net/rpf_fib.c and user/net/rpf_lint.c without a kernel: the tables built from a
 * FIB (which route wins, merged or not) and the lint's findings. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>

#include "net/net.h"
#include "net/rpf.h"

static struct rpf_route routes[16];
static struct rpf_link links[4];
static struct rpf_addr addrs[4];
static struct rpf_fib fib;

static void route(uint32_t table, const char *prefix, uint8_t plen, uint8_t type, uint32_t metric,
		  int oif)
{
	struct rpf_route *r = &routes[fib.nroutes++];

	memset(r, 0, sizeof(*r));
	r->table = table;
	r->prefix = inet_addr(prefix);
	r->plen = plen;
	r->type = type;
	r->metric = metric;
	r->proto = RTPROT_KERNEL;
	r->seq = (uint32_t)(fib.nroutes - 1);
	if (oif)
		r->oif[r->nnh++] = (uint32_t)oif;
}

/* lo (1), in0 (2) 100.64.0.1/16, out0 (3) 203.0.113.1/24, default via out0. */
static void host(void)
{
	memset(&fib, 0, sizeof(fib));
	fib.routes = routes;
	fib.links = links;
	fib.addrs = addrs;
	links[0] = (struct rpf_link){ .ifindex = 1, .name = "lo", .flags = IFF_LOOPBACK,
				      .has_addr = true, .conf.forwarding = 1 };
	links[1] = (struct rpf_link){ .ifindex = 2, .name = "in0", .has_addr = true,
				      .conf.forwarding = 1, .conf.log_martians = 1 };
	links[2] = (struct rpf_link){ .ifindex = 3, .name = "out0", .has_addr = true,
				      .conf.forwarding = 1, .conf.log_martians = 1 };
	fib.nlinks = 3;
	addrs[0] = (struct rpf_addr){ .ifindex = 2, .addr = inet_addr("100.64.0.1"), .plen = 16 };
	addrs[1] = (struct rpf_addr){ .ifindex = 3, .addr = inet_addr("203.0.113.1"), .plen = 24 };
	fib.naddrs = 2;
	fib.all.forwarding = 1;
	fib.nrules = 3;	/* the three every namespace has */
	route(RT_TABLE_LOCAL, "100.64.0.1", 32, RTN_LOCAL, 0, 2);
	route(RT_TABLE_LOCAL, "127.0.0.0", 8, RTN_LOCAL, 0, 1);
	route(RT_TABLE_MAIN, "100.64.0.0", 16, RTN_UNICAST, 0, 2);
	route(RT_TABLE_MAIN, "203.0.113.0", 24, RTN_UNICAST, 0, 3);
	route(RT_TABLE_MAIN, "0.0.0.0", 0, RTN_UNICAST, 0, 3);
}

static const struct rpf_entry *find(const struct rpf_entry *e, size_t n, uint32_t slot,
				    const char *prefix, uint8_t plen)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (e[i].key.table == htonl(slot) && e[i].key.addr == inet_addr(prefix) &&
		    e[i].key.prefixlen == 32u + plen)
			return &e[i];
	return NULL;
}

TestSuite(rpf_table, .init = host);

Test(rpf_table, merged_without_rules_and_local_wins_a_tie)
{
	const struct rpf_entry *x;
	struct rpf_entry *e;
	size_t n;

	/* A main route with the same prefix as a local one. */
	route(RT_TABLE_MAIN, "100.64.0.1", 32, RTN_UNICAST, 0, 3);
	cr_assert_eq(rpf_table_build(&fib, &e, &n), 0);
	cr_assert_eq(n, 5, "five distinct prefixes (%zu)", n);
	x = find(e, n, XCGN_RPF_TB_MERGED, "100.64.0.1", 32);
	cr_assert(x, "local route in the merged slot");
	cr_assert_eq(x->val.type, RTN_LOCAL, "local wins the tie");
	cr_assert_eq(x->val.table, RT_TABLE_LOCAL);
	cr_assert_null(find(e, n, XCGN_RPF_TB_LOCAL, "127.0.0.0", 8), "no local slot when merged");
	for (size_t i = 1; i < n; i++)
		cr_assert_lt(memcmp(&e[i - 1].key, &e[i].key, sizeof(e[i].key)), 0, "sorted, unique");
	free(e);
}

Test(rpf_table, rules_split_the_tables)
{
	struct rpf_entry *e;
	size_t n;

	fib.custom_rules = true;
	cr_assert_eq(rpf_table_build(&fib, &e, &n), 0);
	cr_assert(find(e, n, XCGN_RPF_TB_LOCAL, "127.0.0.0", 8), "local slot");
	cr_assert(find(e, n, XCGN_RPF_TB_MAIN, "0.0.0.0", 0), "main slot");
	cr_assert_null(find(e, n, XCGN_RPF_TB_MAIN, "127.0.0.0", 8));
	cr_assert_eq(rpf_dev_flags(&fib, &links[1], false) & XCGN_RPFD_MERGED, 0);
	cr_assert(rpf_dev_flags(&fib, &links[1], false) & XCGN_RPFD_FULL_CHECK);
	free(e);
}

Test(rpf_table, lowest_metric_wins_and_tos_routes_are_left_out)
{
	const struct rpf_entry *x;
	struct rpf_entry *e;
	size_t n;

	route(RT_TABLE_MAIN, "192.0.2.0", 24, RTN_UNICAST, 200, 3);
	route(RT_TABLE_MAIN, "192.0.2.0", 24, RTN_UNICAST, 100, 2);
	route(RT_TABLE_MAIN, "198.51.100.0", 24, RTN_UNICAST, 0, 2);
	routes[fib.nroutes - 1].tos = 0x10;
	route(42, "198.18.0.0", 15, RTN_UNICAST, 0, 2);
	cr_assert_eq(rpf_table_build(&fib, &e, &n), 0);
	x = find(e, n, XCGN_RPF_TB_MERGED, "192.0.2.0", 24);
	cr_assert(x);
	cr_assert_eq(x->val.metric, 100);
	cr_assert_eq(x->val.oif[0], 2);
	cr_assert_null(find(e, n, XCGN_RPF_TB_MERGED, "198.51.100.0", 24), "TOS route left out");
	cr_assert_null(find(e, n, XCGN_RPF_TB_MERGED, "198.18.0.0", 15), "other tables left out");
	free(e);
}

/* Same prefix, same metric (one subnet on two devices): the kernel uses
 * the first in its list, which is the dump's order. */
Test(rpf_table, equal_metric_tie_goes_to_the_first)
{
	const struct rpf_entry *x;
	struct rpf_entry *e;
	size_t n;
	int i;

	for (i = 0; i < 6; i++) {
		route(RT_TABLE_MAIN, "192.0.2.0", 24, RTN_UNICAST, 0, 2 + (i & 1));
		routes[fib.nroutes - 1].seq = (uint32_t)(10 + i);
	}
	cr_assert_eq(rpf_table_build(&fib, &e, &n), 0);
	x = find(e, n, XCGN_RPF_TB_MERGED, "192.0.2.0", 24);
	cr_assert(x);
	cr_assert_eq(x->val.oif[0], 2, "the first one dumped");
	free(e);
}

Test(rpf_table, default_table_has_its_slot)
{
	const struct rpf_entry *x;
	struct rpf_entry *e;
	size_t n;

	route(RT_TABLE_DEFAULT, "0.0.0.0", 0, RTN_UNICAST, 0, 2);
	rpf_fib_derive(&fib);
	cr_assert_eq(rpf_table_build(&fib, &e, &n), 0);
	x = find(e, n, XCGN_RPF_TB_DEFAULT, "0.0.0.0", 0);
	cr_assert(x, "in the default slot");
	cr_assert_eq(x->val.oif[0], 2);
	x = find(e, n, XCGN_RPF_TB_MERGED, "0.0.0.0", 0);
	cr_assert(x && x->val.oif[0] == 3, "main's default untouched");
	cr_assert(rpf_dev_flags(&fib, &links[1], false) & XCGN_RPFD_DEFAULT_TB);
	free(e);
}

Test(rpf_table, device_flags_follow_the_kernel)
{
	uint16_t fl;

	fib.all.accept_local = 1;
	links[1].conf.route_localnet = 1;
	links[2].has_addr = false;
	fl = rpf_dev_flags(&fib, &links[1], false);
	cr_assert(fl & XCGN_RPFD_ACCEPT_LOCAL, "accept_local: all or device");
	cr_assert(fl & XCGN_RPFD_ROUTE_LOCALNET);
	cr_assert(fl & XCGN_RPFD_MERGED);
	cr_assert_eq(fl & XCGN_RPFD_FULL_CHECK, 0);
	cr_assert(rpf_dev_flags(&fib, &links[2], true) & XCGN_RPFD_NO_ADDR);
	cr_assert(rpf_dev_flags(&fib, &links[2], true) & XCGN_RPFD_OUTSIDE);
	cr_assert(rpf_dev_flags(&fib, &links[0], false) & XCGN_RPFD_LOOPBACK);
	fib.all.rp_filter = 1;
	links[1].conf.rp_filter = 2;
	cr_assert_eq(rpf_kernel_mode(&fib, &links[1]), 2, "rp_filter: the larger of all and device");
	/* A local route userspace added forces the full check. */
	route(RT_TABLE_LOCAL, "192.0.2.0", 24, RTN_LOCAL, 0, 1);
	routes[fib.nroutes - 1].proto = RTPROT_BOOT;
	rpf_fib_derive(&fib);
	cr_assert(rpf_dev_flags(&fib, &links[1], false) & XCGN_RPFD_FULL_CHECK);
}

/* ---- lint ---------------------------------------------------------------- */

static struct rpf_finding fs[32];

static const struct rpf_finding *lint_find(const struct rpf_lint_cfg *c, const char *code)
{
	size_t n = rpf_lint(&fib, c, fs, 32), i;

	for (i = 0; i < n && i < 32; i++)
		if (!strcmp(fs[i].code, code))
			return &fs[i];
	return NULL;
}

static struct rpf_lint_cfg cfg(void)
{
	struct rpf_lint_cfg c = { .inside = 2, .outside = 3, .sub_plen = 10,
				  .mode_in = XCGN_RPF_STRICT, .mode_out = XCGN_RPF_LOOSE };

	c.sub_prefix = inet_addr("100.64.0.0");
	return c;
}

Test(rpf_table, lint_clean_host_has_no_error)
{
	struct rpf_lint_cfg c = cfg();
	size_t n = rpf_lint(&fib, &c, fs, 32), i;

	for (i = 0; i < n; i++)
		cr_assert_neq(fs[i].severity, RPF_ERROR, "unexpected error %s: %s", fs[i].code,
			      fs[i].what);
}

Test(rpf_table, lint_findings_with_fixes)
{
	struct rpf_lint_cfg c = cfg();
	struct xcgn_pool pool = { .prefix = inet_addr("198.51.100.0"), .plen = 28 };
	const struct rpf_finding *f;

	links[1].conf.forwarding = 0;
	f = lint_find(&c, "forwarding_off");
	cr_assert(f && f->severity == RPF_ERROR);
	cr_assert_str_eq(f->fix, "sysctl -w net.ipv4.conf.all.forwarding=1");

	addrs[fib.naddrs++] = (struct rpf_addr){ .ifindex = 3, .addr = inet_addr("198.51.100.5"),
						 .plen = 28 };
	c.pools = &pool;
	c.npools = 1;
	f = lint_find(&c, "pool_address_local");
	cr_assert(f && f->severity == RPF_ERROR);
	cr_assert_str_eq(f->fix, "ip addr del 198.51.100.5/28 dev out0");

	/* A subscriber range holding the host's own addresses: only the
	 * inside device's (the subscribers' gateway) may be there. */
	cr_assert_null(lint_find(&c, "subscriber_address_local"), "the inside's own is fine");
	c.sub_prefix = 0;
	c.sub_plen = 0;
	f = lint_find(&c, "subscriber_address_local");
	cr_assert(f && f->severity == RPF_ERROR, "subscribers 0.0.0.0/0 takes the host's");
	cr_assert(strstr(f->what, "203.0.113.1 (on out0)"), "names the address: %s", f->what);
	c = cfg();
	c.pools = &pool;
	c.npools = 1;

	/* Strict kernel rp_filter on the inside with a subscriber prefix
	 * routed elsewhere. */
	cr_assert_null(lint_find(&c, "kernel_rp_filter_strict"));
	route(RT_TABLE_MAIN, "100.65.0.0", 16, RTN_UNICAST, 0, 3);
	fib.all.rp_filter = 1;
	f = lint_find(&c, "kernel_rp_filter_strict");
	cr_assert(f && f->severity == RPF_ERROR);
	cr_assert_str_eq(f->fix, "sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.in0.rp_filter=2");

	c.mode_in = XCGN_RPF_OFF;
	f = lint_find(&c, "xcgn_rpf_off");
	cr_assert(f && f->severity == RPF_WARN);
	cr_assert_str_eq(f->fix, "xcgn rpf mode inside strict");

	fib.nroutes = 0;
	f = lint_find(&c, "subscribers_not_inside");
	cr_assert(f && f->severity == RPF_ERROR);
	cr_assert_str_eq(f->fix, "ip route add 100.64.0.0/10 dev in0");
}
