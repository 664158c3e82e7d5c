// SPDX-License-Identifier: GPL-2.0
/* xcgn link { attach | detach | show | help } */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <linux/rtnetlink.h>

#include "cli/cli.h"
#include "lib/options.h"
#include "net/rpf.h"

static int usage(void)
{
	FILE *f = usage_fp();
	struct attach_opts def;

	opts_synopsis(f, "Usage: xcgn link attach", xcgn_link_opts, xcgn_link_nopts);
	fprintf(f,
		"       xcgn link set KEY VALUE...\n"
		"       xcgn link detach\n"
		"       xcgn link reload\n"
		"       xcgn link check\n"
		"       xcgn link clean\n"
		"       xcgn link show\n"
		"       xcgn link abi [ layout ]\n"
		"       xcgn link help\n");
	attach_opts_init(&def);
	opts_print_defaults(f, xcgn_link_opts, xcgn_link_nopts, &def);
	fprintf(f,
		"max-mappings, max-subscribers, max-routes and max-addresses size the tables:\n"
		"max-routes is the routes of the main and local tables the reverse-path check\n"
		"holds; max-addresses the public addresses over all pools (at most %u; each\n"
		"costs 8.2 KiB of kernel memory, mostly the allocation times of its 1024\n"
		"possible blocks). refusal-icmp prohibited is 3/13 (RFC 5508),\n"
		"host-unreachable 3/1 (RFC 6888).\n"
		"mss-clamp lowers the MSS option of translated TCP SYNs and SYN-ACKs, both\n"
		"ways, to N (%u-%u), or with auto to the smaller MTU of the two devices\n"
		"less 40, taken when it is set: a second line of defence for path-MTU\n"
		"discovery where ICMP is filtered beyond the NAT (PPPoE access: 1452).\n"
		"set takes bypass-all, filtering, refusal-log, accounting, route-subscribers,\n"
		"refusal-icmp, rpf-inside, rpf-outside, route-table and mss-clamp, with\n"
		"effect from the next packet, sessions kept: bypass-all on hands\n"
		"every packet to the kernel untranslated (xcgn steps aside, its tc guard\n"
		"too); filtering endpoint-independent lets anyone reach every mapping,\n"
		"whatever its pool says; refusal-log off stops refusal records (block\n"
		"allocations and releases are always logged: the NAT log is the record);\n"
		"accounting on counts each subscriber's packets and bytes each way on the\n"
		"fast path (subscriber show; its cost is in make bench); route-subscribers on\n"
		"lets the outside reach subscriber addresses directly (routed subscribers:\n"
		"by default only translated traffic enters, and a packet from the outside to\n"
		"the subscriber range is dropped as not_translated_in, unless it comes from a\n"
		"bypass destination).\n"
		"route-table TABLE (a number, or none: the default) keeps in that routing\n"
		"table a blackhole route for each pool and the default route, protocol xcgn\n"
		"(%u), while the datapath is attached: what a routing daemon announces for\n"
		"this node (a cluster, xcgn.conf(5)). No rule points at the table.\n"
		"Attach runs `xcgn rpf lint` and refuses on an error unless told `force`.\n"
		"Reload replaces the running programs with this binary's, keeping every\n"
		"session; state pinned by an older layout is moved to this one first.\n"
		"check reads the state for broken invariants (mapping without reverse, port\n"
		"outside its subscriber's blocks, a block held twice or free under its\n"
		"holder); exit 1 on any.\n"
		"clean removes the pins of instances whose network namespace is gone (their\n"
		"devices went with it): never adopted by a namespace that gets its inode.\n"
		"abi prints the layout version and fingerprint this binary reads (layout:\n"
		"the whole layout, as tests/abi/ keeps it).\n",
		XCGN_PADDRS_MAX, XCGN_MSS_MIN, XCGN_MSS_MAX, XCGN_RTPROT);
	return usage_status();
}

/* link set KEY VALUE...: the running instance's options with these. */
static int do_link_set(struct cmd *cmd, int argc, char **argv)
{
	const struct xcgn_maps *m;
	struct attach_opts cur, o;
	char in[16], out[16];
	int ret, i;

	if (argc < 2) {
		xcgn_err("link set needs KEY VALUE...; try \"xcgn link help\"");
		return XCGN_EXIT_USAGE;
	}
	/* Only what changes in place: refuse the rest by name. */
	for (i = 0; i < argc; i += 2) {
		static const char *const settable[] = {
			"bypass-all",  "filtering",   "refusal-log", "accounting",	  "refusal-icmp",
			"rpf-inside",  "rpf-outside", "route-table", "mss-clamp", "route-subscribers"
		};

		if (prefix_match(argv[i], settable, ARRAY_SIZE(settable)) < 0 ||
		    strcmp(argv[i], settable[prefix_match(argv[i], settable,
							   ARRAY_SIZE(settable))])) {
			xcgn_err("\"%s\" cannot be set on a running instance (bypass-all, filtering, "
				 "refusal-log, accounting, refusal-icmp, rpf-inside, rpf-outside, "
				 "route-table, mss-clamp, route-subscribers can; "
				 "the rest needs `xcgn config apply FILE restart`)",
				 argv[i]);
			return XCGN_EXIT_USAGE;
		}
	}
	m = cmd_maps(cmd);
	ret = !m || link_running(m, &cur, in, out) ? XCGN_EXIT_ERR : 0;
	if (!ret) {
		o = cur;
		ret = attach_opts_parse(argc, argv, &o);
	}
	if (!ret && link_set(m, &o))
		ret = XCGN_EXIT_ERR;
	return ret;
}

static int do_link_attach(struct cmd *cmd, int argc, char **argv)
{
	struct attach_opts o;
	int ret;

	attach_opts_init(&o);
	ret = attach_opts_parse(argc, argv, &o);
	return ret ? ret : cmd_lock(cmd) ? XCGN_EXIT_ERR : xcgn_attach_locked(&o);
}

/* What `link set` changes, as it takes it. */
static void link_live_print(const struct attach_opts *o)
{
	const struct attach_opts lo = *o;

	print_string(PRINT_ANY, "rpf_inside", "  rpf-inside %s", xcgn_rpf_mode_name[lo.rpf_in % XCGN_RPF_MODE_MAX]);
	print_string(PRINT_ANY, "rpf_outside", "  rpf-outside %s",
		     xcgn_rpf_mode_name[lo.rpf_out % XCGN_RPF_MODE_MAX]);
	print_string(PRINT_ANY, "refusal_icmp", "  refusal-icmp %s",
		     xcgn_refusal_name[lo.refusal_icmp % XCGN_REFUSAL_MAX]);
	if (lo.mss_clamp)
		print_u64(PRINT_ANY, "mss_clamp", "  mss-clamp %llu", lo.mss_clamp);
	else
		print_string(PRINT_ANY, "mss_clamp", "  mss-clamp %s", "off");
	print_bool(PRINT_JSON, "mss_clamp_auto", NULL, lo.switches & XCGN_SW_MSS_AUTO);
	if (lo.switches & XCGN_SW_MSS_AUTO)
		print_string(PRINT_FP, NULL, " (%s)", "auto");
	print_nl();
	print_string(PRINT_ANY, "bypass_all", "  bypass-all %s",
		     lo.switches & XCGN_SW_BYPASS_ALL ? "on" : "off");
	print_string(PRINT_ANY, "filtering", "  filtering %s",
		     lo.switches & XCGN_SW_FILTER_EIF ? "endpoint-independent" : "pool");
	print_string(PRINT_ANY, "refusal_log", "  refusal-log %s",
		     lo.switches & XCGN_SW_REFUSAL_LOG_OFF ? "off" : "on");
	print_string(PRINT_ANY, "accounting", "  accounting %s",
		     lo.switches & XCGN_SW_ACCOUNTING ? "on" : "off");
	print_string(PRINT_ANY, "route_subscribers", "  route-subscribers %s",
		     lo.switches & XCGN_SW_ROUTE_SUBS ? "on" : "off");
	print_nl();
	if (lo.route_table)
		print_u64(PRINT_ANY, "route_table", "  route-table %llu", lo.route_table);
	else
		print_string(PRINT_ANY, "route_table", "  route-table %s", "none");
	print_nl();
}

/* The instance's daemon, as it last published itself (xcgn_dstat). */
static void link_daemon_print(uint32_t pid, const struct xcgn_dstat *d)
{
	const struct xcgn_dstat ds = *d;
	char tbuf[32];
	time_t t;

	print_open_object("daemon");
	if (!pid) {
		print_string(PRINT_ANY, "state", "daemon %s", "not running");
		print_nl();
	} else {
		print_string(PRINT_ANY, "state", "daemon %s", "running");
		print_u64(PRINT_ANY, "pid", " pid %llu", pid);
		if (ds.gc_end_unix_ms) {
			t = (time_t)(ds.gc_end_unix_ms / 1000);
			strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
			print_string(PRINT_ANY, "last_gc_end", "  last GC pass ended %s", tbuf);
			print_u64(PRINT_ANY, "last_gc_ms", " after %llu ms", ds.gc_wall_us / 1000);
		}
		print_nl();
		print_string(PRINT_ANY, "log_file", "  NAT log %s", ds.log_path[0] ? ds.log_path
										  : "(syslog)");
		print_u64(PRINT_ANY, "written", "  records written %llu", ds.written);
		print_u64(PRINT_ANY, "recovered", " recovered %llu", ds.recovered);
		print_u64(PRINT_ANY, "lost", " lost %llu", ds.lost);
		print_u64(PRINT_ANY, "queued", " queued %llu", ds.queued);
		print_u64(PRINT_ANY, "write_errors", " write errors %llu", ds.write_errors);
		if (ds.last_errno)
			print_string(PRINT_ANY, "last_error", " (%s)", strerror(ds.last_errno));
		print_nl();
	}
	print_close_object();
}

static int do_link_show(struct cmd *cmd, int argc __unused, char **argv __unused)
{
	struct xcgn_link_info li;
	struct xcgn_dstat ds = {};
	struct attach_opts lo = { 0 };
	struct nl_link in, out;
	const struct xcgn_maps *m;
	char tbuf[32], dir[256], inb[16], outb[16];
	uint32_t pid = 0;
	__u32 zero = 0;
	time_t t;
	int err;

	/* Nothing attached is an empty answer, as `ip` gives for no match. */
	if (xcgn_pin_dir(dir, sizeof(dir)))
		return XCGN_EXIT_ERR;
	if (!xcgn_attached_here(dir) && !xcgn_pinned_version(dir)) {
		print_open_array(NULL);
		print_close_array();
		return XCGN_EXIT_OK;
	}
	m = cmd_maps(cmd);
	err = m ? 0 : -ENOENT;
	if (err)
		return XCGN_EXIT_ERR;
	err = bpf_map_lookup_elem(m->link, &zero, &li) ? -errno : link_running(m, &lo, inb, outb);
	if (!err) {
		pid = xcgn_daemon_pid(dir, m->dstat);
		if (bpf_map_lookup_elem(m->dstat, &zero, &ds))
			memset(&ds, 0, sizeof(ds));
	}
	if (err) {
		xcgn_err("read link state: %s", strerror(-err));
		return XCGN_EXIT_ERR;
	}
	if (nl_link_get(NULL, (int)li.inside_ifindex, &in))
		snprintf(in.name, sizeof(in.name), "(gone)");
	if (nl_link_get(NULL, (int)li.outside_ifindex, &out))
		snprintf(out.name, sizeof(out.name), "(gone)");
	t = (time_t)li.attached_unix;
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));

	print_open_array(NULL);
	print_open_object(NULL);
	print_string(PRINT_ANY, "inside", "inside %s", in.name);
	print_u64(PRINT_ANY, "inside_ifindex", " (%llu)", li.inside_ifindex);
	print_string(PRINT_ANY, "outside", "  outside %s", out.name);
	print_u64(PRINT_ANY, "outside_ifindex", " (%llu)", li.outside_ifindex);
	print_string(PRINT_ANY, "xdp_mode", "  xdp-mode %s",
		     xcgn_xdp_mode_name[li.xdp_mode == XCGN_XDP_GENERIC]);
	print_nl();
	print_ipv4(PRINT_ANY, "subscribers", "  subscribers %s", li.sub_prefix);
	print_u64(PRINT_ANY, "subscribers_plen", "/%llu", li.sub_plen);
	print_u64(PRINT_ANY, "max_mappings", "  max-mappings %llu", li.max_maps);
	print_u64(PRINT_ANY, "max_subscribers", "  max-subscribers %llu", li.max_subs);
	print_u64(PRINT_ANY, "max_addresses", "  max-addresses %llu", lo.max_addrs);
	print_u64(PRINT_ANY, "max_routes", "  max-routes %llu", lo.max_routes);
	print_nl();
	link_live_print(&lo);
	print_string(PRINT_ANY, "attached", "  attached %s", tbuf);
	print_nl();
	link_daemon_print(pid, &ds);
	print_close_object();
	print_close_array();
	return XCGN_EXIT_OK;
}

static int do_link_abi(struct cmd *cmd __unused, int argc, char **argv)
{
	const char *text = xcgn_abi_layout();
	char fp[24];

	if (!text) {
		xcgn_err("read this binary's layout: %s", strerror(errno));
		return XCGN_EXIT_ERR;
	}
	if (argc == 1 && !strcmp(*argv, "layout")) {
		fputs(text, stdout);
		return XCGN_EXIT_OK;
	}
	if (argc) {
		xcgn_err("unknown argument \"%s\" to link abi", *argv);
		return XCGN_EXIT_USAGE;
	}
	snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)xcgn_abi_fingerprint());
	print_open_object(NULL);
	print_string(PRINT_ANY, "version", "xcgn %s", xcgn_version);
	print_u64(PRINT_ANY, "abi", " abi %llu", XCGN_ABI_VERSION);
	print_string(PRINT_ANY, "fingerprint", " fingerprint %s", fp);
	print_nl();
	print_close_object();
	return XCGN_EXIT_OK;
}

static int do_link_detach(struct cmd *cmd, int argc __unused, char **argv __unused)
{
	return cmd_lock(cmd) ? XCGN_EXIT_ERR : xcgn_detach_locked();
}

static int do_link_reload(struct cmd *cmd, int argc __unused, char **argv __unused)
{
	return cmd_lock(cmd) ? XCGN_EXIT_ERR : xcgn_reload_locked();
}

static int do_link_check(struct cmd *cmd __unused, int argc __unused, char **argv __unused)
{
	return xcgn_check();
}

static int do_link_clean(struct cmd *cmd, int argc __unused, char **argv __unused)
{
	int n = cmd_lock(cmd) ? 0 : xcgn_clean_locked();

	if (cmd->lock < 0)
		return XCGN_EXIT_ERR;

	if (n < 0) {
		xcgn_err("clean %s: %s", XCGN_PIN_ROOT, strerror(-n));
		return XCGN_EXIT_ERR;
	}
	return XCGN_EXIT_OK;
}

const struct xcgn_object xcgn_obj_link = {
	.name = "link",
	.usage = usage,
	.def_verb = "show",
	.cmds = (const struct xcgn_cmd[]){
		{ "attach", do_link_attach, CMD_LOCK },
		{ "detach", do_link_detach, CMD_NOARGS | CMD_LOCK },
		{ "reload", do_link_reload, CMD_NOARGS | CMD_LOCK },
		{ "check", do_link_check, CMD_NOARGS },
		{ "clean", do_link_clean, CMD_NOARGS | CMD_LOCK },
		{ "show", do_link_show, CMD_NOARGS },
		{ "set", do_link_set, CMD_LOCK },
		{ "abi", do_link_abi, CMD_OPEN },
		{ NULL, NULL, 0 },
	},
};
