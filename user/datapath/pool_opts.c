// SPDX-License-Identifier: GPL-2.0
/* A pool's options: their defaults, the words that set them (`pool add`,
 * a configuration file's `pool`), their exclusions, and the pinned pool
 * they make and are read back from. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "datapath/datapath.h"

bool excl_has(const struct pool_opts *o, uint32_t addr)
{
	unsigned int i;

	for (i = 0; i < o->nexcl; i++)
		if (prefix_overlap(addr, 32, o->excl[i].prefix, o->excl[i].plen))
			return true;
	return false;
}

int excl_add(struct pool_opts *o, uint32_t prefix, uint8_t plen, char *why, size_t len)
{
	char a[16], b[16];

	if (plen < o->plen || !prefix_overlap(prefix, plen, o->prefix, o->plen)) {
		snprintf(why, len, "exclude %s/%u is not inside the pool %s/%u",
			 ipv4_str(prefix, a, sizeof(a)), plen, ipv4_str(o->prefix, b, sizeof(b)),
			 o->plen);
		return -1;
	}
	if (o->nexcl == XCGN_EXCL_MAX) {
		snprintf(why, len, "more than %u exclude prefixes", XCGN_EXCL_MAX);
		return -1;
	}
	o->excl[o->nexcl].prefix = prefix;
	o->excl[o->nexcl++].plen = plen;
	return 0;
}

int excl_normalize(struct pool_opts *o, char *why, size_t len)
{
	uint32_t n = o->plen >= 16 && o->plen <= 32 ? 1u << (32 - o->plen) : 0;
	uint32_t base = ntohl(o->prefix), i, kept = 0, size;
	struct pool_opts out = *o;
	uint8_t *ex;

	if (!o->nexcl)
		return 0;
	if (o->plen < 16 || o->plen > 32) {	/* pool_plan says why; no 1 << 32 here */
		snprintf(why, len, "pool prefix length must be 16..32");
		return -1;
	}
	ex = calloc(n, 1);
	if (!ex) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		ex[i] = excl_has(o, htonl(base + i));
		kept += !ex[i];
	}
	out.nexcl = 0;
	for (i = 0; i < n; i += size) {
		/* The largest aligned run of excluded addresses starting at i. */
		size = 1;
		if (!ex[i])
			continue;
		while (!(i & (size * 2 - 1)) && i + size * 2 <= n && !memchr(ex + i, 0, size * 2))
			size *= 2;
		if (out.nexcl == XCGN_EXCL_MAX) {
			snprintf(why, len, "the exclusions need more than %u prefixes", XCGN_EXCL_MAX);
			free(ex);
			return -1;
		}
		out.excl[out.nexcl].prefix = htonl(base + i);
		out.excl[out.nexcl++].plen = (uint8_t)(32 - __builtin_ctz(size));
	}
	free(ex);
	if (!kept) {
		snprintf(why, len, "the exclusions leave the pool no address");
		return -1;
	}
	*o = out;
	return 0;
}

const char *const xcgn_filtering_name[XCGN_FILTER_MAX] = {
	[XCGN_FILTER_EIF] = "endpoint-independent",
	[XCGN_FILTER_ADF] = "address-dependent",
};

/* A cap: "off" (0), "auto" (@autov; not taken when 0) or N in 1..@max.
 * 0, or the usage error said. */
static int cap_arg(const char *what, const char *arg, uint32_t autov, uint32_t max, uint32_t *out)
{
	if (!strcmp(arg, "off")) {
		*out = 0;
		return 0;
	}
	if (autov && !strcmp(arg, "auto")) {
		*out = autov;
		return 0;
	}
	return arg_u32(what, arg, 1, max, out);
}

void pool_opts_init(struct pool_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->port_lo = XCGN_DEF_PORT_LO;
	o->port_hi = XCGN_DEF_PORT_HI;
	o->block_size = XCGN_DEF_BLOCK_SIZE;
	o->max_blocks = XCGN_DEF_MAX_BLOCKS;
	o->filtering = XCGN_FILTER_EIF;
	o->sub_burst = XCGN_SUB_BURST_AUTO;
	o->sub_refill_s = XCGN_DEF_SUB_REFILL;
	o->sub_maps = XCGN_SUB_MAPS_AUTO;
	o->map_peers = XCGN_DEF_MAP_PEERS;
}

int pool_opts_parse(int argc, char **argv, struct pool_opts *o)
{
	uint32_t v;

	for (; argc > 0; argc--, argv++) {
		if (!strcmp(*argv, "force")) {
			o->force = true;
		} else if (!strcmp(*argv, "ports")) {
			NEXT_ARG();
			if (parse_port_range(*argv, &o->port_lo, &o->port_hi))
				return invarg("port range (LO-HI within 1-65535)", *argv);
		} else if (!strcmp(*argv, "block-size")) {
			NEXT_ARG();
			if (arg_u32("block-size", *argv, XCGN_BLOCK_SIZE_MIN, 65535, &v))
				return XCGN_EXIT_USAGE;
			o->block_size = (uint16_t)v;
		} else if (!strcmp(*argv, "max-blocks")) {
			NEXT_ARG();
			if (arg_u32("max-blocks", *argv, 1, XCGN_SUB_BLOCKS_MAX, &v))
				return XCGN_EXIT_USAGE;
			o->max_blocks = (uint16_t)v;
		} else if (!strcmp(*argv, "filtering")) {
			NEXT_ARG();
			if (!strcmp(*argv, xcgn_filtering_name[XCGN_FILTER_EIF]))
				o->filtering = XCGN_FILTER_EIF;
			else if (!strcmp(*argv, xcgn_filtering_name[XCGN_FILTER_ADF]))
				o->filtering = XCGN_FILTER_ADF;
			else
				return invarg("filtering (endpoint-independent or address-dependent)",
					      *argv);
		} else if (!strcmp(*argv, "parity")) {
			o->parity = 1;
		} else if (!strcmp(*argv, "no-parity")) {
			o->parity = 0;
		} else if (!strcmp(*argv, "new-rate")) {
			NEXT_ARG();
			if (arg_u32("new-rate (new mappings a second per subscriber, 0: no cap)",
				    *argv, 0, 1000000, &v))
				return XCGN_EXIT_USAGE;
			o->new_rate = v;
		} else if (!strcmp(*argv, "sub-burst")) {
			NEXT_ARG();
			if (cap_arg("sub-burst (new subscribers at once; off, auto)", *argv,
				    XCGN_SUB_BURST_AUTO, XCGN_SUB_BURST_AUTO - 1, &o->sub_burst))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "sub-mappings")) {
			NEXT_ARG();
			if (cap_arg("sub-mappings (mappings a subscriber; off, auto)", *argv,
				    XCGN_SUB_MAPS_AUTO, XCGN_SUB_MAPS_AUTO - 1, &o->sub_maps))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "map-peers")) {
			NEXT_ARG();
			if (cap_arg("map-peers (remotes a mapping; off)", *argv, 0, XCGN_MAP_PEERS_MAX,
				    &o->map_peers))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "sub-refill")) {
			NEXT_ARG();
			/* The pinned field is 16 bits: 65535 s, about 18 hours. */
			if (arg_u32("sub-refill (seconds)", *argv, 1, UINT16_MAX, &v))
				return XCGN_EXIT_USAGE;
			o->sub_refill_s = (uint16_t)v;
		} else if (!strcmp(*argv, "exclude")) {
			uint32_t ex;
			uint8_t exlen;
			char why[160];

			NEXT_ARG();
			if (parse_prefix(*argv, &ex, &exlen))
				return invarg("exclude (an address or a prefix of the pool)", *argv);
			if (excl_add(o, ex, exlen, why, sizeof(why))) {
				xcgn_err("%s", why);
				return XCGN_EXIT_USAGE;
			}
		} else if (!strcmp(*argv, "deterministic")) {
			NEXT_ARG();
			if (parse_prefix(*argv, &o->det_prefix, &o->det_plen))
				return invarg("deterministic subscriber prefix", *argv);
			o->deterministic = 1;
		} else {
			int t;

			for (t = 0; t < XCGN_TIMER_MAX; t++)
				if (!strcmp(*argv, xcgn_timer_name[t]))
					break;
			if (t == XCGN_TIMER_MAX) {
				xcgn_err("unknown argument \"%s\" to pool; try \"xcgn pool help\"",
					 *argv);
				return XCGN_EXIT_USAGE;
			}
			NEXT_ARG();
			if (parse_u32(*argv, xcgn_timer_min[t], 1u << 24, &v)) {
				xcgn_err("invalid %s \"%s\" (must be %u..%u, not below the RFC minimum "
					 "%u)",
					 xcgn_timer_name[t], *argv, xcgn_timer_min[t], 1u << 24,
					 xcgn_timer_min[t]);
				return XCGN_EXIT_USAGE;
			}
			o->timeout[t] = v;
		}
	}
	return 0;
}

void pool_from_opts(const struct pool_opts *o, struct xcgn_pool *p)
{
	memset(p, 0, sizeof(*p));
	p->prefix = o->prefix;
	p->plen = o->plen;
	p->port_lo = o->port_lo;
	p->port_hi = o->port_hi;
	p->block_size = o->block_size;
	p->max_blocks = o->max_blocks;
	p->filtering = o->filtering;
	memcpy(p->timeout, o->timeout, sizeof(p->timeout));
	if (o->parity)
		p->flags |= XCGN_POOLF_PARITY;
	p->new_rate = o->new_rate;
	p->sub_burst = o->sub_burst;
	p->sub_refill_s = o->sub_refill_s;
	p->sub_maps = o->sub_maps;
	p->map_peers = o->map_peers;
	if (o->deterministic) {
		p->flags |= XCGN_POOLF_DETERMINISTIC;
		p->det_prefix = o->det_prefix;
		p->det_plen = o->det_plen;
	}
}

void pool_opts_from(const struct xcgn_pool *p, struct pool_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->prefix = p->prefix;
	o->plen = p->plen;
	o->port_lo = p->port_lo;
	o->port_hi = p->port_hi;
	o->block_size = p->block_size;
	o->max_blocks = p->max_blocks;
	o->filtering = p->filtering;
	memcpy(o->timeout, p->timeout, sizeof(o->timeout));
	o->parity = !!(p->flags & XCGN_POOLF_PARITY);
	o->new_rate = p->new_rate;
	o->sub_burst = p->sub_burst;
	o->sub_refill_s = p->sub_refill_s;
	o->sub_maps = p->sub_maps;
	o->map_peers = p->map_peers;
	if (p->flags & XCGN_POOLF_DETERMINISTIC) {
		o->deterministic = 1;
		o->det_prefix = p->det_prefix;
		o->det_plen = p->det_plen;
	}
}

int pool_opts_check(struct pool_opts *o, char *why, size_t len)
{
	if (o->nexcl && o->deterministic) {
		snprintf(why, len, "a deterministic pool cannot exclude addresses (its arithmetic "
			 "uses every one)");
		return -1;
	}
	return excl_normalize(o, why, len);
}
