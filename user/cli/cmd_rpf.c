// SPDX-License-Identifier: GPL-2.0
/* xcgn rpf { show | explain | lint | mode | sync | help } */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli/cli.h"
#include "net/rpf.h"
#include "xcgn_gc.skel.h"

/* RFC 7600's IPv4 dummy address: the destination when none is given (only
 * broadcast, zero and loopback destinations change the verdict). */
#define RPF_DUMMY_DST 0xc0000008u

static int usage(void)
{
	fprintf(usage_fp(),
		"Usage: xcgn rpf show\n"
		"       xcgn rpf explain SRC dev DEV [to DST] [mode { strict | loose | off }]\n"
		"       xcgn rpf lint [inside DEV outside DEV [subscribers PREFIX]]\n"
		"       xcgn rpf mode { inside | outside } { strict | loose | off }\n"
		"       xcgn rpf sync\n"
		"       xcgn rpf help\n"
		"explain: whether the datapath accepts a packet from SRC arriving on DEV, and\n"
		"which rule and route decide (mode: the attached device's, else the kernel's\n"
		"rp_filter of DEV). lint exits 1 when it finds an error.\n");
	return usage_status();
}

static void print_route(const struct xcgn_rpf_route *r, const struct rpf_fib *f)
{
	uint8_t i;

	print_ipv4(PRINT_ANY, "prefix", "%s", r->prefix);
	print_u64(PRINT_ANY, "plen", "/%llu", r->plen);
	print_string(PRINT_ANY, "table", " table %s", rpf_table_name(r->table));
	print_string(PRINT_ANY, "type", " %s", rpf_rtn_name(r->type));
	print_u64(PRINT_ANY, "metric", " metric %llu", r->metric);
	print_open_array("dev");
	for (i = 0; i < r->nnh && i < XCGN_RPF_NH_MAX; i++) {
		const struct rpf_link *l = f ? rpf_link_by_index(f, (int)r->oif[i]) : NULL;

		print_string(PRINT_ANY, NULL, " dev %s", l ? l->name : "?");
	}
	print_close_array();
}

static void print_dev_flags(uint16_t fl)
{
	print_u64(PRINT_ANY, "accept_local", " accept_local %llu", !!(fl & XCGN_RPFD_ACCEPT_LOCAL));
	print_u64(PRINT_ANY, "route_localnet", " route_localnet %llu",
		  !!(fl & XCGN_RPFD_ROUTE_LOCALNET));
	if (fl & XCGN_RPFD_NO_ADDR)
		print_string(PRINT_ANY, "no_address", " %s", "no-address");
	if (fl & XCGN_RPFD_LOOPBACK)
		print_string(PRINT_ANY, "loopback", " %s", "loopback");
	if (fl & XCGN_RPFD_FULL_CHECK)
		print_string(PRINT_ANY, "full_check", " %s", "full-check");
	if (fl & XCGN_RPFD_NO_FIB)
		print_string(PRINT_ANY, "suspended", " %s", "SUSPENDED(tables lag the FIB)");
}

static int do_rpf_show(struct cmd *cmd, int argc __unused, char **argv __unused)
{
	struct xcgn_rpf_key k, next, *keys = NULL;
	struct xcgn_rpf_route r;
	const struct xcgn_maps *m;
	struct rpf_fib f;
	size_t n = 0, cap = 0, i;
	__u32 which;
	int ret = XCGN_EXIT_ERR, err;

	if (!(m = cmd_maps(cmd)))
		return XCGN_EXIT_ERR;
	err = rpf_fib_read(&f);
	if (err) {
		xcgn_err("read the devices over rtnetlink: %s", strerror(-err));
		goto out_maps;
	}
	for (k = (struct xcgn_rpf_key){}; !bpf_map_get_next_key(m->rpf4, n ? &k : NULL, &next);
	     k = next) {
		if (xcgn_grow(&keys, &cap, n, sizeof(*keys)))
			goto out;
		keys[n++] = next;
	}
	print_open_object(NULL);
	print_open_array("devices");
	for (which = XCGN_RPF_DEV_INSIDE; which <= XCGN_RPF_DEV_OUTSIDE; which++) {
		struct xcgn_rpf_dev d;
		const struct rpf_link *l;

		if (bpf_map_lookup_elem(m->rpfdev, &which, &d))
			goto out;
		l = rpf_link_by_index(&f, (int)d.ifindex);
		print_open_object(NULL);
		print_string(PRINT_ANY, "role", "%s", which == XCGN_RPF_DEV_INSIDE ? "inside" : "outside");
		print_string(PRINT_ANY, "dev", " %s", l ? l->name : "(gone)");
		print_string(PRINT_ANY, "mode", " mode %s",
			     d.mode < XCGN_RPF_MODE_MAX ? xcgn_rpf_mode_name[d.mode] : "?");
		print_dev_flags(d.flags);
		if (!(d.flags & XCGN_RPFD_VALID))
			print_string(PRINT_ANY, "state", " %s", "(not synced: checks nothing)");
		print_nl();
		print_close_object();
	}
	print_close_array();
	print_string(PRINT_ANY, "lookup", "lookup: %s\n",
		     f.custom_rules ? "local table, then main (policy rules present)"
				    : "local and main merged, as the kernel does");
	print_open_array("routes");
	for (i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(m->rpf4, &keys[i], &r))
			continue;	/* removed meanwhile */
		print_open_object(NULL);
		print_text("  ");
		print_route(&r, &f);
		print_nl();
		print_close_object();
	}
	print_close_array();
	print_close_object();
	ret = XCGN_EXIT_OK;
out:
	free(keys);
	rpf_fib_free(&f);
out_maps:
	return ret;
}

/* rpf explain SRC dev DEV [to DST] [mode MODE]: 0, or a usage error said. */
static int explain_args(int argc, char **argv, uint32_t *src, uint32_t *dst, const char **devname,
			int *mode)
{
	if (argc < 1 || parse_ipv4(*argv, src))
		return argc < 1 ? usage() : invarg("source address", *argv);
	for (argc--, argv++; argc > 0; argc--, argv++) {
		if (!strcmp(*argv, "dev")) {
			NEXT_ARG();
			*devname = *argv;
		} else if (!strcmp(*argv, "to")) {
			NEXT_ARG();
			if (parse_ipv4(*argv, dst))
				return invarg("destination address", *argv);
		} else if (!strcmp(*argv, "mode")) {
			NEXT_ARG();
			*mode = rpf_mode_parse(*argv);
			if (*mode < 0)
				return invarg("mode (strict, loose or off)", *argv);
		} else {
			xcgn_err("unknown argument \"%s\" to rpf explain; try \"xcgn rpf help\"",
				 *argv);
			return XCGN_EXIT_USAGE;
		}
	}
	if (!*devname) {
		xcgn_err("rpf explain needs dev DEV");
		return XCGN_EXIT_USAGE;
	}
	return 0;
}

/* The check's answer for @q, on device @l (its @role). */
static void explain_print(const struct xcgn_rpf_query *pq, const struct rpf_fib *f,
			  const struct rpf_link *l, const char *role, uint32_t src, uint32_t dst)
{
	const struct xcgn_rpf_query q = *pq;

	print_open_object(NULL);
	print_ipv4(PRINT_ANY, "source", "%s", src);
	if (dst)
		print_ipv4(PRINT_ANY, "destination", " to %s", dst);
	print_string(PRINT_ANY, "dev", " dev %s", l->name);
	print_string(PRINT_ANY, "role", " (%s", role);
	print_string(PRINT_ANY, "mode", ", %s)", xcgn_rpf_mode_name[q.dev.mode]);
	print_string(PRINT_ANY, "verdict", ": %s", q.verdict ? "drop" : "accept");
	if (q.verdict)
		print_string(PRINT_ANY, "reason", " (%s)", xcgn_drop_name[q.verdict]);
	print_nl();
	print_string(PRINT_ANY, "rule", "  rule %s", xcgn_rpf_why_name[q.why]);
	print_string(PRINT_ANY, "why", ": %s", rpf_why_text(q.why));
	print_nl();
	if (q.found) {
		print_open_object("route");
		print_text("  route ");
		print_route(&q.route, f);
		print_close_object();
		print_nl();
	}
	print_close_object();
}

static int do_rpf_explain(struct cmd *cmd, int argc, char **argv)
{
	struct xcgn_rpf_query q = {};
	const char *devname = NULL;
	const struct rpf_link *l;
	struct xcgn_link_info li;
	struct xcgn_gc *ctl = NULL;
	const struct xcgn_maps *m;
	struct rpf_fib f;
	uint32_t src = 0, dst = 0;
	int mode = -1, ret = XCGN_EXIT_ERR, err;
	const char *role = "none";
	__u32 which;

	ret = explain_args(argc, argv, &src, &dst, &devname, &mode);
	if (ret)
		return ret;
	ret = XCGN_EXIT_ERR;
	if (!(m = cmd_maps(cmd)))
		return XCGN_EXIT_ERR;
	if (xcgn_link_read(m, &li))
		goto out_maps;
	err = rpf_fib_read(&f);
	if (err) {
		xcgn_err("read the FIB over rtnetlink: %s", strerror(-err));
		goto out_maps;
	}
	l = rpf_link_by_name(&f, devname);
	if (!l) {
		xcgn_err("device \"%s\": no such device", devname);
		goto out;
	}
	q.dev.ifindex = (__u32)l->ifindex;
	q.dev.flags = rpf_dev_flags(&f, l, (__u32)l->ifindex == li.outside_ifindex);
	if ((__u32)l->ifindex == li.inside_ifindex || (__u32)l->ifindex == li.outside_ifindex) {
		struct xcgn_rpf_dev d;

		which = (__u32)l->ifindex == li.inside_ifindex ? XCGN_RPF_DEV_INSIDE
							      : XCGN_RPF_DEV_OUTSIDE;
		role = which == XCGN_RPF_DEV_INSIDE ? "inside" : "outside";
		if (bpf_map_lookup_elem(m->rpfdev, &which, &d)) {
			xcgn_err("read the device's mode: %s", strerror(errno));
			goto out;
		}
		/* What the datapath uses, not what the sysctls say now. */
		q.dev = d;
	} else {
		q.dev.mode = (__u8)rpf_kernel_mode(&f, l);
	}
	if (mode >= 0)
		q.dev.mode = (__u8)mode;
	if (q.dev.mode >= XCGN_RPF_MODE_MAX)
		q.dev.mode = XCGN_RPF_LOOSE;	/* the kernel treats any other value as 2 */
	/* The check needs some destination; without `to` it is one that
	 * decides nothing (not local, not broadcast) and is not shown. */
	q.saddr = src;
	q.daddr = dst ? dst : htonl(RPF_DUMMY_DST);
	q.sub_prefix = li.sub_prefix;
	q.sub_mask = prefix_mask_be(li.sub_plen);

	libbpf_set_print(NULL);
	ctl = xcgn_ctl_load();
	if (!ctl)
		goto out;
	err = rpf_explain_run(ctl, &q);
	if (err) {
		xcgn_err("run the check: %s", err == -EPROTO ? "it returned nonsense" : strerror(-err));
		goto out;
	}

	explain_print(&q, &f, l, role, src, dst);
	ret = XCGN_EXIT_OK;
out:
	xcgn_gc__destroy(ctl);
	rpf_fib_free(&f);
out_maps:
	return ret;
}

/* The pools of a running instance, for the lint. */
static size_t read_pools(const struct xcgn_maps *m, struct xcgn_pool *out)
{
	size_t n = 0;
	__u32 i;

	for (i = 0; i < XCGN_POOLS_MAX; i++) {
		struct xcgn_pool p;

		if (!bpf_map_lookup_elem(m->pools, &i, &p) && (p.flags & XCGN_POOLF_ACTIVE))
			out[n++] = p;
	}
	return n;
}

static int do_rpf_lint(struct cmd *cmd, int argc, char **argv)
{
	struct xcgn_pool pools[XCGN_POOLS_MAX];
	struct rpf_lint_cfg c = { .mode_in = XCGN_RPF_STRICT, .mode_out = XCGN_RPF_LOOSE };
	const char *in = NULL, *out = NULL, *sub = NULL;
	const struct xcgn_maps *m;
	struct nl_link l;
	long errors;

	for (; argc > 0; argc--, argv++) {
		if (!strcmp(*argv, "inside")) {
			NEXT_ARG();
			in = *argv;
		} else if (!strcmp(*argv, "outside")) {
			NEXT_ARG();
			out = *argv;
		} else if (!strcmp(*argv, "subscribers")) {
			NEXT_ARG();
			sub = *argv;
		} else {
			xcgn_err("unknown argument \"%s\" to rpf lint", *argv);
			return XCGN_EXIT_USAGE;
		}
	}
	if (!!in != !!out) {
		xcgn_err("rpf lint needs both inside DEV and outside DEV, or neither");
		return XCGN_EXIT_USAGE;
	}
	parse_prefix("100.64.0.0/10", &c.sub_prefix, &c.sub_plen);
	if (sub && parse_prefix(sub, &c.sub_prefix, &c.sub_plen))
		return invarg("subscriber prefix", sub);
	if (in) {
		if (nl_link_get(in, 0, &l)) {
			xcgn_err("inside device \"%s\": no such device", in);
			return XCGN_EXIT_ERR;
		}
		c.inside = l.ifindex;
		if (nl_link_get(out, 0, &l)) {
			xcgn_err("outside device \"%s\": no such device", out);
			return XCGN_EXIT_ERR;
		}
		c.outside = l.ifindex;
	} else {
		struct xcgn_link_info li;
		struct xcgn_rpf_dev d;
		__u32 which;

		if (!(m = cmd_maps(cmd)))
			return XCGN_EXIT_ERR;
		if (xcgn_link_read(m, &li)) {
			return XCGN_EXIT_ERR;
		}
		c.inside = (int)li.inside_ifindex;
		c.outside = (int)li.outside_ifindex;
		c.sub_prefix = li.sub_prefix;
		c.sub_plen = li.sub_plen;
		which = XCGN_RPF_DEV_INSIDE;
		if (!bpf_map_lookup_elem(m->rpfdev, &which, &d))
			c.mode_in = d.mode;
		which = XCGN_RPF_DEV_OUTSIDE;
		if (!bpf_map_lookup_elem(m->rpfdev, &which, &d))
			c.mode_out = d.mode;
		c.pools = pools;
		c.npools = read_pools(m, pools);
	}
	errors = rpf_lint_host(&c, false);
	if (errors < 0)
		return XCGN_EXIT_ERR;
	return errors ? XCGN_EXIT_ERR : XCGN_EXIT_OK;
}

static int do_rpf_mode(struct cmd *cmd, int argc, char **argv)
{
	struct xcgn_rpf_dev d;
	const struct xcgn_maps *m;
	__u32 which;
	int mode;

	if (argc != 2)
		return usage();
	if (!strcmp(argv[0], "inside"))
		which = XCGN_RPF_DEV_INSIDE;
	else if (!strcmp(argv[0], "outside"))
		which = XCGN_RPF_DEV_OUTSIDE;
	else
		return invarg("device (inside or outside)", argv[0]);
	mode = rpf_mode_parse(argv[1]);
	if (mode < 0)
		return invarg("mode (strict, loose or off)", argv[1]);
	if (!(m = cmd_maps(cmd)))
		return XCGN_EXIT_ERR;
	if (bpf_map_lookup_elem(m->rpfdev, &which, &d)) {
		xcgn_err("read the device's mode: %s", strerror(errno));
		return XCGN_EXIT_ERR;
	}
	d.mode = (__u8)mode;
	if (bpf_map_update_elem(m->rpfdev, &which, &d, BPF_EXIST)) {
		xcgn_err("set the device's mode: %s", strerror(errno));
		return XCGN_EXIT_ERR;
	}
	return XCGN_EXIT_OK;
}

static int do_rpf_sync(struct cmd *cmd, int argc __unused, char **argv __unused)
{
	struct rpf_sync_stats st;
	const struct xcgn_maps *m;
	int err;

	if (!(m = cmd_maps(cmd)))
		return XCGN_EXIT_ERR;
	err = rpf_sync(m, &st, false);
	if (err)
		return XCGN_EXIT_ERR;
	print_open_object(NULL);
	print_u64(PRINT_ANY, "routes", "%llu routes", st.routes);
	print_u64(PRINT_ANY, "added", ": %llu added", st.added);
	print_u64(PRINT_ANY, "changed", ", %llu changed", st.changed);
	print_u64(PRINT_ANY, "removed", ", %llu removed", st.removed);
	print_nl();
	print_close_object();
	return XCGN_EXIT_OK;
}

const struct xcgn_object xcgn_obj_rpf = {
	.name = "rpf",
	.usage = usage,
	.def_verb = "show",
	.cmds = (const struct xcgn_cmd[]){
		{ "show", do_rpf_show, CMD_NOARGS },
		{ "explain", do_rpf_explain, 0 },
		{ "lint", do_rpf_lint, 0 },
		{ "mode", do_rpf_mode, CMD_LOCK },
		{ "sync", do_rpf_sync, CMD_NOARGS | CMD_LOCK },
		{ NULL, NULL, 0 },
	},
};
