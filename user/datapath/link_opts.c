// SPDX-License-Identifier: GPL-2.0
/* The link's options: their defaults, names and the words that set them
 * (`link attach`, a configuration file's `link`). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <linux/rtnetlink.h>

#include "datapath/datapath.h"

void attach_opts_init(struct attach_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->xdp_mode = XCGN_XDP_NATIVE;
	o->max_maps = XCGN_MAPS_MAX;
	o->max_subs = XCGN_SUBS_MAX;
	o->rpf_in = XCGN_RPF_STRICT;
	o->rpf_out = XCGN_RPF_LOOSE;
	o->max_routes = XCGN_RPF_ROUTES_MAX;
	o->max_addrs = XCGN_ADDRS_DEF;
	parse_prefix(XCGN_DEF_SUBSCRIBERS, &o->sub_prefix, &o->sub_plen);
}

const char *const xcgn_xdp_mode_name[] = { [XCGN_XDP_NATIVE] = "native",
					   [XCGN_XDP_GENERIC] = "generic" };
const char *const xcgn_refusal_name[] = { [XCGN_REFUSAL_PROHIBITED] = "prohibited",
					  [XCGN_REFUSAL_HOST_UNREACH] = "host-unreachable",
					  [XCGN_REFUSAL_SILENT] = "none" };

/* A keyword among @names (a table indexed by value, holes NULL): its
 * value, or -1. */
static int name_lookup(const char *s, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (names[i] && !strcmp(s, names[i]))
			return (int)i;
	return -1;
}

static const char *const onoff[] = { "off", "on" };
static const char *const filter_sw[] = { "pool", "endpoint-independent" };

int attach_opts_parse(int argc, char **argv, struct attach_opts *o)
{
	int v;

	for (; argc > 0; argc--, argv++) {
		if (!strcmp(*argv, "inside")) {
			NEXT_ARG();
			o->inside = *argv;
		} else if (!strcmp(*argv, "outside")) {
			NEXT_ARG();
			o->outside = *argv;
		} else if (!strcmp(*argv, "xdp-mode")) {
			NEXT_ARG();
			v = name_lookup(*argv, xcgn_xdp_mode_name, 2);
			if (v < 0)
				return invarg("xdp-mode (native or generic)", *argv);
			o->xdp_mode = v;
		} else if (!strcmp(*argv, "subscribers")) {
			NEXT_ARG();
			if (parse_prefix(*argv, &o->sub_prefix, &o->sub_plen))
				return invarg("subscriber prefix (a.b.c.d/len, host bits clear)",
					      *argv);
		} else if (!strcmp(*argv, "max-mappings")) {
			NEXT_ARG();
			if (arg_u32("max-mappings", *argv, 16, 1u << 24, &o->max_maps))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "max-subscribers")) {
			NEXT_ARG();
			if (arg_u32("max-subscribers", *argv, 16, 1u << 22, &o->max_subs))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "rpf-inside") || !strcmp(*argv, "rpf-outside")) {
			bool inside = !strcmp(*argv, "rpf-inside");

			NEXT_ARG();
			v = rpf_mode_parse(*argv);
			if (v < 0)
				return invarg("rpf mode (strict, loose or off)", *argv);
			if (inside)
				o->rpf_in = (uint8_t)v;
			else
				o->rpf_out = (uint8_t)v;
		} else if (!strcmp(*argv, "max-addresses")) {
			NEXT_ARG();
			if (arg_u32("max-addresses", *argv, 16, XCGN_PADDRS_MAX, &o->max_addrs))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "max-routes")) {
			NEXT_ARG();
			if (arg_u32("max-routes", *argv, 16, 1u << 24, &o->max_routes))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "refusal-icmp")) {
			NEXT_ARG();
			v = name_lookup(*argv, xcgn_refusal_name, ARRAY_SIZE(xcgn_refusal_name));
			if (v < 0)
				return invarg("refusal-icmp (prohibited, host-unreachable or none)",
					      *argv);
			o->refusal_icmp = (uint8_t)v;
		} else if (!strcmp(*argv, "bypass-all") || !strcmp(*argv, "refusal-log") ||
			   !strcmp(*argv, "accounting") || !strcmp(*argv, "route-subscribers")) {
			uint32_t bit = **argv == 'b'			 ? XCGN_SW_BYPASS_ALL
				       : **argv == 'a'			 ? XCGN_SW_ACCOUNTING
				       : !strcmp(*argv, "route-subscribers") ? XCGN_SW_ROUTE_SUBS
									 : XCGN_SW_REFUSAL_LOG_OFF;
			const char *what = *argv;

			NEXT_ARG();
			v = name_lookup(*argv, onoff, 2);
			if (v < 0) {
				xcgn_err("invalid %s \"%s\" (on or off)", what, *argv);
				return XCGN_EXIT_USAGE;
			}
			/* refusal-log on is the bit clear */
			if (v == (bit != XCGN_SW_REFUSAL_LOG_OFF))
				o->switches |= bit;
			else
				o->switches &= ~bit;
		} else if (!strcmp(*argv, "filtering")) {
			NEXT_ARG();
			v = name_lookup(*argv, filter_sw, 2);
			if (v < 0)
				return invarg("filtering (pool or endpoint-independent)", *argv);
			if (v)
				o->switches |= XCGN_SW_FILTER_EIF;
			else
				o->switches &= ~(uint32_t)XCGN_SW_FILTER_EIF;
		} else if (!strcmp(*argv, "route-table")) {
			NEXT_ARG();
			if (!strcmp(*argv, "none"))
				o->route_table = 0;
			else if (parse_u32(*argv, 1, UINT32_MAX, &o->route_table) ||
				 (o->route_table >= RT_TABLE_DEFAULT &&
				  o->route_table <= RT_TABLE_LOCAL)) {
				xcgn_err("invalid route-table \"%s\" (1 to 4294967295 but not "
					 "253-255, which are the kernel's; or none)", *argv);
				return XCGN_EXIT_USAGE;
			}
		} else if (!strcmp(*argv, "mss-clamp")) {
			uint32_t mss;

			NEXT_ARG();
			o->switches &= ~(uint32_t)XCGN_SW_MSS_AUTO;
			if (!strcmp(*argv, "off")) {
				o->mss_clamp = 0;
			} else if (!strcmp(*argv, "auto")) {
				o->switches |= XCGN_SW_MSS_AUTO;
			} else if (parse_u32(*argv, XCGN_MSS_MIN, XCGN_MSS_MAX, &mss)) {
				xcgn_err("invalid mss-clamp \"%s\" (auto, off, or an MSS from %u to "
					 "%u)", *argv, XCGN_MSS_MIN, XCGN_MSS_MAX);
				return XCGN_EXIT_USAGE;
			} else {
				o->mss_clamp = (uint16_t)mss;
			}
		} else if (!strcmp(*argv, "force")) {
			o->force = true;
		} else {
			xcgn_err("unknown argument \"%s\" to link; try \"xcgn link help\"", *argv);
			return XCGN_EXIT_USAGE;
		}
	}
	if (!o->inside || !o->outside) {
		xcgn_err("link needs both inside DEV and outside DEV");
		return XCGN_EXIT_USAGE;
	}
	return 0;
}
