// SPDX-License-Identifier: GPL-2.0
/* Reverse-path validation, what needs no datapath: the names of its
 * modes and reasons, and the lint of this host's routing. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <linux/rtnetlink.h>
#include <net/if.h>

#include "lib/lib.h"
#include "net/rpf.h"

const char *const xcgn_rpf_mode_name[XCGN_RPF_MODE_MAX] = {
	[XCGN_RPF_OFF] = "off",
	[XCGN_RPF_STRICT] = "strict",
	[XCGN_RPF_LOOSE] = "loose",
};

int rpf_mode_parse(const char *s)
{
	int i;

	for (i = 0; i < XCGN_RPF_MODE_MAX; i++)
		if (!strcmp(s, xcgn_rpf_mode_name[i]))
			return i;
	return -1;
}

const char *const xcgn_rpf_why_name[XCGN_RPFW_MAX] = {
	[XCGN_RPFW_NONE] = "not_synced",
	[XCGN_RPFW_MARTIAN_BCAST] = "martian_broadcast",
	[XCGN_RPFW_MARTIAN_ZERONET] = "martian_zeronet",
	[XCGN_RPFW_MARTIAN_LOOPBACK] = "martian_loopback",
	[XCGN_RPFW_SPOOF_SUBSCRIBER] = "spoofed_subscriber",
	[XCGN_RPFW_SPOOF_POOL] = "spoofed_pool",
	[XCGN_RPFW_OFF_ACCEPT_LOCAL] = "off_accept_local",
	[XCGN_RPFW_OFF_LOCAL] = "off_local_source",
	[XCGN_RPFW_OFF] = "off",
	[XCGN_RPFW_NO_ROUTE] = "no_route",
	[XCGN_RPFW_NOT_UNICAST] = "not_unicast",
	[XCGN_RPFW_LOCAL_REFUSED] = "local_source",
	[XCGN_RPFW_DEV_MATCH] = "device_match",
	[XCGN_RPFW_LOOPBACK_LOCAL] = "loopback_local",
	[XCGN_RPFW_NO_ADDR] = "device_without_address",
	[XCGN_RPFW_OTHER_DEV] = "other_device",
	[XCGN_RPFW_ROUTED] = "routed",
	[XCGN_RPFW_MCAST_ZERONET] = "multicast_zeronet",
	[XCGN_RPFW_SUSPENDED] = "suspended",
};
_Static_assert(ARRAY_SIZE(xcgn_rpf_why_name) == XCGN_RPFW_MAX, "rpf rule names match enum");

const char *rpf_why_text(enum xcgn_rpf_why w)
{
	switch (w) {
	case XCGN_RPFW_NONE:
		return "the device's entry is not filled yet: nothing is checked";
	case XCGN_RPFW_MARTIAN_BCAST:
		return "a multicast or broadcast source is a martian";
	case XCGN_RPFW_MARTIAN_ZERONET:
		return "a 0.0.0.0/8 source is a martian";
	case XCGN_RPFW_MARTIAN_LOOPBACK:
		return "127.0.0.0/8 is a martian unless route_localnet is set";
	case XCGN_RPFW_SPOOF_SUBSCRIBER:
		return "a subscriber address cannot come from the outside";
	case XCGN_RPFW_SPOOF_POOL:
		return "a pool address cannot come from the outside";
	case XCGN_RPFW_OFF_ACCEPT_LOCAL:
		return "mode off and accept_local: no lookup";
	case XCGN_RPFW_OFF_LOCAL:
		return "mode off, but the source is an address of this host and accept_local is off";
	case XCGN_RPFW_OFF:
		return "mode off: any source that is not this host's";
	case XCGN_RPFW_NO_ROUTE:
		return "no usable route back to the source";
	case XCGN_RPFW_NOT_UNICAST:
		return "the route back is neither unicast nor local";
	case XCGN_RPFW_LOCAL_REFUSED:
		return "the source is an address of this host and accept_local is off";
	case XCGN_RPFW_DEV_MATCH:
		return "the route back leaves through the arrival device";
	case XCGN_RPFW_LOOPBACK_LOCAL:
		return "a local route, arriving on lo (the local route names the device the "
		       "address lives on, not lo)";
	case XCGN_RPFW_NO_ADDR:
		return "the route back leaves elsewhere and the arrival device has no address";
	case XCGN_RPFW_OTHER_DEV:
		return "strict: the route back leaves through another device";
	case XCGN_RPFW_ROUTED:
		return "there is a route back (through any device)";
	case XCGN_RPFW_MCAST_ZERONET:
		return "0.0.0.0 to link-local multicast is allowed (IGMP, DHCP-like)";
	case XCGN_RPFW_SUSPENDED:
		return "the tables could not follow the FIB: only the martian and spoof rules apply";
	default:
		return "?";
	}
}

const char *rpf_table_name(uint32_t table)
{
	switch (table) {
	case RT_TABLE_LOCAL:
		return "local";
	case RT_TABLE_MAIN:
		return "main";
	case RT_TABLE_DEFAULT:
		return "default";
	}
	return "?";
}

const char *rpf_rtn_name(uint8_t type)
{
	static const char *const n[] = {
		[RTN_UNSPEC] = "none",	      [RTN_UNICAST] = "unicast",
		[RTN_LOCAL] = "local",	      [RTN_BROADCAST] = "broadcast",
		[RTN_ANYCAST] = "anycast",    [RTN_MULTICAST] = "multicast",
		[RTN_BLACKHOLE] = "blackhole", [RTN_UNREACHABLE] = "unreachable",
		[RTN_PROHIBIT] = "prohibit",  [RTN_THROW] = "throw",
		[RTN_NAT] = "nat",	      [RTN_XRESOLVE] = "xresolve",
	};

	return type < ARRAY_SIZE(n) && n[type] ? n[type] : "?";
}

/* ---- lint ---------------------------------------------------------------- */

struct lint {
	struct rpf_finding *out;
	size_t max, n;
};

static void __printf(5, 6) finding(struct lint *L, enum rpf_severity sev, const char *code, const char *dev,
		    const char *fmt, ...)
{
	struct rpf_finding *f;
	va_list ap;

	L->n++;
	if (L->n > L->max)
		return;
	f = &L->out[L->n - 1];
	memset(f, 0, sizeof(*f));
	f->severity = sev;
	snprintf(f->code, sizeof(f->code), "%s", code);
	snprintf(f->dev, sizeof(f->dev), "%s", dev ? dev : "");
	va_start(ap, fmt);
	vsnprintf(f->what, sizeof(f->what), fmt, ap);
	va_end(ap);
}

/* The fix of the finding just made. */
static void __printf(2, 3) finding_fix(struct lint *L, const char *fmt, ...)
{
	va_list ap;

	if (!L->n || L->n > L->max)
		return;
	va_start(ap, fmt);
	vsnprintf(L->out[L->n - 1].fix, sizeof(L->out[0].fix), fmt, ap);
	va_end(ap);
}

/* A sysctl fix that works whatever "all" says: for the OR-combined ones
 * both must be off, for rp_filter (the maximum) both must be at most it. */
static void fix_sysctl(struct lint *L, const char *dev, const char *key, int v, bool all_too)
{
	if (all_too)
		finding_fix(L, "sysctl -w net.ipv4.conf.all.%s=%d net.ipv4.conf.%s.%s=%d", key, v,
			    dev, key, v);
	else
		finding_fix(L, "sysctl -w net.ipv4.conf.%s.%s=%d", dev, key, v);
}

static bool within(uint32_t a_be, uint8_t alen, uint32_t in_be, uint8_t inlen)
{
	return alen >= inlen && ((a_be ^ in_be) & prefix_mask_be(inlen)) == 0;
}

static bool route_uses(const struct rpf_route *r, int ifindex)
{
	uint8_t i;

	for (i = 0; i < r->nnh; i++)
		if ((int)r->oif[i] == ifindex)
			return true;
	return false;
}

static void lint_device(struct lint *L, const struct rpf_fib *f, const struct rpf_link *l,
			bool outside, int xmode)
{
	char sub[40];

	if (!l->conf.forwarding) {
		finding(L, RPF_ERROR, "forwarding_off", l->name,
			"IPv4 forwarding is off on %s: the kernel's FIB lookup refuses to "
			"forward, so xcgn translates nothing",
			l->name);
		finding_fix(L, "sysctl -w net.ipv4.conf.all.forwarding=1");
	}
	if (l->conf.accept_local || f->all.accept_local) {
		if (outside) {
			finding(L, RPF_WARN, "accept_local_outside", l->name,
				"accept_local is on for %s: packets from the internet claiming "
				"this host's own addresses are accepted (by the kernel and by "
				"xcgn, which follows it)",
				l->name);
			fix_sysctl(L, l->name, "accept_local", 0, f->all.accept_local);
		}
	}
	if (l->conf.route_localnet || f->all.route_localnet) {
		finding(L, RPF_WARN, "route_localnet", l->name,
			"route_localnet is on for %s: 127.0.0.0/8 sources arriving on it are no "
			"martians, for the kernel or for xcgn",
			l->name);
		fix_sysctl(L, l->name, "route_localnet", 0, f->all.route_localnet);
	}
	if (!l->conf.log_martians && !f->all.log_martians) {
		finding(L, RPF_INFO, "log_martians_off", l->name,
			"log_martians is off for %s: martians the kernel itself drops leave no "
			"trace (xcgn counts its own drops in `xcgn stats`)",
			l->name);
		finding_fix(L, "sysctl -w net.ipv4.conf.%s.log_martians=1", l->name);
	}
	if (xmode == XCGN_RPF_OFF) {
		snprintf(sub, sizeof(sub), "xcgn rpf mode %s %s", outside ? "outside" : "inside",
			 outside ? "loose" : "strict");
		finding(L, RPF_WARN, "xcgn_rpf_off", l->name,
			"xcgn checks no source on %s: %s", l->name,
			outside ? "spoofed sources from the internet reach subscribers"
				: "a subscriber can spoof any source and xcgn translates it");
	finding_fix(L, "%s", sub);
	}
}

/* Where the subscribers are routed: the main table's unicast routes
 * inside the subscriber range, through the inside (and the kernel's
 * rp_filter when part of it goes elsewhere). */
static void lint_subscriber_routes(struct lint *L, const struct rpf_fib *f,
				   const struct rpf_lint_cfg *c, const struct rpf_link *in)
{
	bool sub_inside = false, sub_elsewhere = false;
	char a[16];
	size_t i;

	for (i = 0; i < f->nroutes; i++) {
		const struct rpf_route *r = &f->routes[i];

		if (r->table != RT_TABLE_MAIN || r->type != RTN_UNICAST ||
		    !within(r->prefix, r->plen, c->sub_prefix, c->sub_plen))
			continue;
		if (route_uses(r, in->ifindex))
			sub_inside = true;
		else
			sub_elsewhere = true;
	}
	ipv4_str(c->sub_prefix, a, sizeof(a));
	if (!sub_inside) {
		finding(L, RPF_ERROR, "subscribers_not_inside", in->name,
			"no route leads into the subscriber range %s/%u through %s: replies "
			"cannot reach subscribers, and the strict check refuses them all",
			a, c->sub_plen, in->name);
		finding_fix(L, "ip route add %s/%u dev %s", a, c->sub_plen, in->name);
	}
	if (sub_elsewhere && rpf_kernel_mode(f, in) == XCGN_RPF_STRICT) {
		finding(L, RPF_ERROR, "kernel_rp_filter_strict", in->name,
			"the kernel's rp_filter is strict on %s, but part of the subscriber range "
			"%s/%u is routed through another device: packets xcgn hands to the "
			"stack (no neighbour yet, TTL 1, options) from those subscribers are "
			"dropped by the kernel",
			in->name, a, c->sub_plen);
		fix_sysctl(L, in->name, "rp_filter", 2, f->all.rp_filter == 1);
	}
}

/* The subscriber range must hold no address of this host but the inside
 * device's own (the subscribers' gateway): the host's traffic from one
 * would be taken for a subscriber's, and what comes back to it dropped as
 * a spoof (subscribers 0.0.0.0/0 takes the outside device's address, and
 * every reply to the host). */
static void lint_subscriber_addresses(struct lint *L, const struct rpf_fib *f,
				      const struct rpf_lint_cfg *c)
{
	char a[16], b[16];
	size_t j;

	ipv4_str(c->sub_prefix, a, sizeof(a));
	for (j = 0; j < f->naddrs; j++) {
		const struct rpf_link *l = rpf_link_by_index(f, f->addrs[j].ifindex);

		if (f->addrs[j].ifindex == c->inside ||
		    !within(f->addrs[j].addr, 32, c->sub_prefix, c->sub_plen))
			continue;
		ipv4_str(f->addrs[j].addr, b, sizeof(b));
		finding(L, RPF_ERROR, "subscriber_address_local", l ? l->name : "",
			"this host's address %s (on %s) lies in the subscriber range %s/%u: its "
			"own traffic from it would be taken for a subscriber's, and the replies "
			"dropped as spoofed",
			b, l ? l->name : "?", a, c->sub_plen);
		finding_fix(L, "a subscriber range without it (link attach subscribers PREFIX)");
	}
}

/* Pool addresses must not be this host's: the host would answer for
 * them, and a translated source would be its own (a martian). */
static void lint_pool_addresses(struct lint *L, const struct rpf_fib *f,
				const struct rpf_lint_cfg *c)
{
	char a[16], b[16];
	size_t i, j;

	for (i = 0; i < c->npools; i++) {
		const struct xcgn_pool *p = &c->pools[i];

		for (j = 0; j < f->naddrs; j++) {
			const struct rpf_link *l = rpf_link_by_index(f, f->addrs[j].ifindex);

			if (!within(f->addrs[j].addr, 32, p->prefix, p->plen))
				continue;
			ipv4_str(f->addrs[j].addr, a, sizeof(a));
			ipv4_str(p->prefix, b, sizeof(b));
			finding(L, RPF_ERROR, "pool_address_local", l ? l->name : "",
				"pool address %s (pool %s/%u) is configured on %s: the host "
				"claims traffic for it that belongs to subscribers, and "
				"translated packets carry a local source, a martian to the "
				"kernel",
				a, b, p->plen, l ? l->name : "?");
		finding_fix(L, "ip addr del %s/%u dev %s", a, f->addrs[j].plen,
				    l ? l->name : "?");
		}
	}
}

/* No subscriber source leaves a device but the outside: a unicast route
 * out of a third device (a backup uplink, a management LAN, a tunnel)
 * would carry subscribers' packets there untranslated. The datapath drops
 * those (wrong_device); the operator should know. */
static void lint_other_devices(struct lint *L, const struct rpf_fib *f,
			       const struct rpf_lint_cfg *c)
{
	char a[16];
	size_t i;

	for (i = 0; i < f->nroutes; i++) {
		const struct rpf_route *r = &f->routes[i];
		unsigned int k;

		if (r->table != RT_TABLE_MAIN || r->type != RTN_UNICAST ||
		    within(r->prefix, r->plen, c->sub_prefix, c->sub_plen))
			continue;
		for (k = 0; k < r->nnh && k < XCGN_RPF_NH_MAX; k++) {
			const struct rpf_link *l = rpf_link_by_index(f, (int)r->oif[k]);

			if (!r->oif[k] || (int)r->oif[k] == c->inside || (int)r->oif[k] == c->outside ||
			    (l && (l->flags & IFF_LOOPBACK)))
				continue;
			ipv4_str(r->prefix, a, sizeof(a));
			finding(L, RPF_WARN, "subscriber_route_elsewhere", l ? l->name : "",
				"route %s/%u leaves through %s, neither the inside nor the outside: "
				"subscribers' packets to it are dropped (wrong_device) rather than "
				"leave there with their own addresses",
				a, r->plen, l ? l->name : "?");
			break;
		}
	}
}

/* What the datapath's check cannot see as the kernel does: policy rules,
 * TOS routes, nexthop objects and routes of more nexthops than it keeps. */
static void lint_limits(struct lint *L, const struct rpf_fib *f)
{
	char a[16];
	size_t i;

	if (f->custom_rules)
		finding(L, RPF_WARN, "policy_rules", NULL,
			"policy routing rules beyond the default three exist: xcgn checks "
			"sources against the main and local tables only, so its verdict may "
			"differ from the kernel's for sources the rules send elsewhere");
	for (i = 0; i < f->nroutes; i++) {
		const struct rpf_route *r = &f->routes[i];

		if (r->table != RT_TABLE_MAIN && r->table != RT_TABLE_LOCAL &&
		    r->table != RT_TABLE_DEFAULT)
			continue;
		if (r->tos) {
			ipv4_str(r->prefix, a, sizeof(a));
			finding(L, RPF_WARN, "tos_route", NULL,
				"route %s/%u tos 0x%02x: the reverse-path check looks routes up "
				"without a TOS and leaves it out, where the kernel may match it",
				a, r->plen, r->tos);
			continue;
		}
		if (!r->nh_more && !r->nh_obj)
			continue;
		ipv4_str(r->prefix, a, sizeof(a));
		finding(L, RPF_WARN, r->nh_obj ? "nexthop_object" : "too_many_nexthops", NULL,
			"route %s/%u %s: the strict check sees only the first %u devices of a "
			"route and none of a nexthop object",
			a, r->plen, r->nh_obj ? "uses a nexthop object" : "has more nexthops",
			XCGN_RPF_NH_MAX);
	}
}

size_t rpf_lint(const struct rpf_fib *f, const struct rpf_lint_cfg *c, struct rpf_finding *out,
		size_t max)
{
	const struct rpf_link *in = rpf_link_by_index(f, c->inside);
	const struct rpf_link *o = rpf_link_by_index(f, c->outside);
	struct lint L = { .out = out, .max = max };

	if (!in || !o) {
		finding(&L, RPF_ERROR, "no_device", NULL, "the %s device (ifindex %d) does not exist",
			in ? "outside" : "inside", in ? c->outside : c->inside);
		return L.n;
	}
	lint_device(&L, f, in, false, c->mode_in);
	lint_device(&L, f, o, true, c->mode_out);
	lint_subscriber_routes(&L, f, c, in);
	lint_subscriber_addresses(&L, f, c);
	lint_pool_addresses(&L, f, c);
	lint_other_devices(&L, f, c);
	lint_limits(&L, f);
	return L.n;
}

size_t rpf_lint_print(const struct rpf_finding *fs, size_t n, bool to_stderr)
{
	/* On stderr (attach) only what needs doing; `rpf lint` says all. */
	const enum rpf_severity min = to_stderr ? RPF_WARN : RPF_INFO;
	static const char *const sev[] = { "info", "warning", "error" };
	FILE *out = to_stderr ? stderr : stdout;
	size_t i, errors = 0;

	if (!to_stderr && print_is_json())
		print_open_array(NULL);
	for (i = 0; i < n; i++) {
		const struct rpf_finding *f = &fs[i];

		errors += f->severity == RPF_ERROR;
		if (f->severity < min)
			continue;
		if (!to_stderr && print_is_json()) {
			print_open_object(NULL);
			print_string(PRINT_JSON, "severity", NULL, sev[f->severity]);
			print_string(PRINT_JSON, "code", NULL, f->code);
			if (f->dev[0])
				print_string(PRINT_JSON, "dev", NULL, f->dev);
			print_string(PRINT_JSON, "what", NULL, f->what);
			if (f->fix[0])
				print_string(PRINT_JSON, "fix", NULL, f->fix);
			print_close_object();
			continue;
		}
		fprintf(out, "%s: %s [%s]\n", sev[f->severity], f->what, f->code);
		if (f->fix[0])
			fprintf(out, "  fix: %s\n", f->fix);
	}
	if (!to_stderr && print_is_json())
		print_close_array();
	return errors;
}

long rpf_lint_host(const struct rpf_lint_cfg *c, bool to_stderr)
{
	struct rpf_finding fs[64];
	struct rpf_fib f;
	size_t n;
	int err;

	err = rpf_fib_read(&f);
	if (err) {
		xcgn_err("read the FIB over rtnetlink: %s", strerror(-err));
		return -1;
	}
	n = rpf_lint(&f, c, fs, ARRAY_SIZE(fs));
	rpf_fib_free(&f);
	if (n > ARRAY_SIZE(fs))
		n = ARRAY_SIZE(fs);
	return (long)rpf_lint_print(fs, n, to_stderr);
}
