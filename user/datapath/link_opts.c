// SPDX-License-Identifier: GPL-2.0
/* The link's options: their defaults, names and the words that set them
 * (`link attach`, a configuration file's `link`). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <linux/rtnetlink.h>

#include "datapath/datapath.h"
#include "lib/options.h"

void attach_opts_init(struct attach_opts *o)
{
	memset(o, 0, sizeof(*o));
	opts_defaults(xcgn_link_opts, xcgn_link_nopts, o);
}

const char *const xcgn_xdp_mode_name[] = { [XCGN_XDP_NATIVE] = "native",
					   [XCGN_XDP_GENERIC] = "generic" };
const char *const xcgn_refusal_name[] = { [XCGN_REFUSAL_PROHIBITED] = "prohibited",
					  [XCGN_REFUSAL_HOST_UNREACH] = "host-unreachable",
					  [XCGN_REFUSAL_SILENT] = "none" };

static const char *const onoff[] = { "off", "on" };
static const char *const filter_sw[] = { "pool", "endpoint-independent" };

static int route_table_parse(const struct opt *t __unused, const char *arg, void *obj)
{
	struct attach_opts *o = obj;

	if (!strcmp(arg, "none")) {
		o->route_table = 0;
		return 0;
	}
	if (parse_u32(arg, 1, UINT32_MAX, &o->route_table) ||
	    (o->route_table >= RT_TABLE_DEFAULT && o->route_table <= RT_TABLE_LOCAL)) {
		xcgn_err("invalid route-table \"%s\" (1 to 4294967295 but not 253-255, which are "
			 "the kernel's; or none)", arg);
		return XCGN_EXIT_USAGE;
	}
	return 0;
}

static int route_table_print(const struct opt *t __unused, const void *obj, int i, char *buf,
			     size_t len)
{
	const struct attach_opts *o = obj;

	if (i || !o->route_table)
		return 0;
	snprintf(buf, len, "%u", o->route_table);
	return 1;
}

static int mss_parse(const struct opt *t __unused, const char *arg, void *obj)
{
	struct attach_opts *o = obj;
	uint32_t mss;

	o->switches &= ~(uint32_t)XCGN_SW_MSS_AUTO;
	if (!strcmp(arg, "off")) {
		o->mss_clamp = 0;
	} else if (!strcmp(arg, "auto")) {
		o->switches |= XCGN_SW_MSS_AUTO;
	} else if (parse_u32(arg, XCGN_MSS_MIN, XCGN_MSS_MAX, &mss)) {
		xcgn_err("invalid mss-clamp \"%s\" (auto, off, or an MSS from %u to %u)", arg,
			 XCGN_MSS_MIN, XCGN_MSS_MAX);
		return XCGN_EXIT_USAGE;
	} else {
		o->mss_clamp = (uint16_t)mss;
	}
	return 0;
}

static int mss_print(const struct opt *t __unused, const void *obj, int i, char *buf, size_t len)
{
	const struct attach_opts *o = obj;

	if (i || (!(o->switches & XCGN_SW_MSS_AUTO) && !o->mss_clamp))
		return 0;
	if (o->switches & XCGN_SW_MSS_AUTO)
		snprintf(buf, len, "auto");
	else
		snprintf(buf, len, "%u", o->mss_clamp);
	return 1;
}

#define F(field) .off = offsetof(struct attach_opts, field), \
		 .size = sizeof(((struct attach_opts *)0)->field)
#define SWITCH(kw, bit, fl) { kw, OPT_BIT, F(switches), .set = bit, .names = onoff, .nnames = 2, \
			      .hint = "on or off", .flags = fl }

/* The link's options, in the order of their canonical form (config show). */
const struct opt xcgn_link_opts[] = {
	{ "inside", OPT_STRING, F(inside), .arg = "DEV", .flags = OPTF_NEEDED },
	{ "outside", OPT_STRING, F(outside), .arg = "DEV", .flags = OPTF_NEEDED },
	{ "xdp-mode", OPT_NAME, F(xdp_mode), .names = xcgn_xdp_mode_name, .nnames = 2,
	  .def = XCGN_XDP_NATIVE, .what = "xdp-mode (native or generic)" },
	{ "subscribers", OPT_PREFIX, .off = offsetof(struct attach_opts, sub_prefix),
	  .off2 = offsetof(struct attach_opts, sub_plen), .defs = XCGN_DEF_SUBSCRIBERS,
	  .what = "subscriber prefix (a.b.c.d/len, host bits clear)" },
	{ "max-mappings", OPT_UINT, F(max_maps), .min = 16, .max = 1u << 24, .def = XCGN_MAPS_MAX,
	  .flags = OPTF_BREAK },
	{ "max-subscribers", OPT_UINT, F(max_subs), .min = 16, .max = 1u << 22,
	  .def = XCGN_SUBS_MAX },
	{ "max-routes", OPT_UINT, F(max_routes), .min = 16, .max = 1u << 24,
	  .def = XCGN_RPF_ROUTES_MAX },
	{ "max-addresses", OPT_UINT, F(max_addrs), .min = 16, .max = XCGN_PADDRS_MAX,
	  .def = XCGN_ADDRS_DEF },
	{ "rpf-inside", OPT_NAME, F(rpf_in), .names = xcgn_rpf_mode_name,
	  .nnames = XCGN_RPF_MODE_MAX, .def = XCGN_RPF_STRICT,
	  .what = "rpf mode (strict, loose or off)", .flags = OPTF_BREAK },
	{ "rpf-outside", OPT_NAME, F(rpf_out), .names = xcgn_rpf_mode_name,
	  .nnames = XCGN_RPF_MODE_MAX, .def = XCGN_RPF_LOOSE,
	  .what = "rpf mode (strict, loose or off)" },
	{ "refusal-icmp", OPT_NAME, F(refusal_icmp), .names = xcgn_refusal_name,
	  .nnames = XCGN_REFUSAL_MAX, .what = "refusal-icmp (prohibited, host-unreachable or none)" },
	SWITCH("bypass-all", XCGN_SW_BYPASS_ALL, OPTF_BREAK),
	{ "filtering", OPT_BIT, F(switches), .set = XCGN_SW_FILTER_EIF, .names = filter_sw,
	  .nnames = 2, .what = "filtering (pool or endpoint-independent)" },
	SWITCH("refusal-log", XCGN_SW_REFUSAL_LOG_OFF, OPTF_INVERT),
	SWITCH("accounting", XCGN_SW_ACCOUNTING, 0),
	SWITCH("route-subscribers", XCGN_SW_ROUTE_SUBS, OPTF_BREAK),
	{ "route-table", OPT_CUSTOM, .parse = route_table_parse,
	  .print = route_table_print, .arg = "{ TABLE | none }", .flags = OPTF_BREAK },
	{ "mss-clamp", OPT_CUSTOM, .parse = mss_parse, .print = mss_print,
	  .arg = "{ auto | N | off }", .flags = OPTF_BREAK },
	{ "force", OPT_FLAG, F(force), .set = true, .flags = OPTF_HIDE },
};
const size_t xcgn_link_nopts = ARRAY_SIZE(xcgn_link_opts);

#undef SWITCH
#undef F

int attach_opts_parse(int argc, char **argv, struct attach_opts *o)
{
	int err = opts_parse(xcgn_link_opts, xcgn_link_nopts, "link", argc, argv, o);

	if (err)
		return err;
	if (!o->inside || !o->outside) {
		xcgn_err("link needs both inside DEV and outside DEV");
		return XCGN_EXIT_USAGE;
	}
	return 0;
}
