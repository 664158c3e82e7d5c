// SPDX-License-Identifier: GPL-2.0
/* xcgn pool { add | del | show | help } */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "cli/cli.h"
#include "lib/options.h"

static int usage(void)
{
	FILE *f = usage_fp();
	struct pool_opts def;

	opts_synopsis(f, "Usage: xcgn pool add PREFIX", xcgn_pool_opts, xcgn_pool_nopts);
	fprintf(f,
		"       xcgn pool set PREFIX KEY VALUE...\n"
		"       xcgn pool del PREFIX\n"
		"       xcgn pool show [PREFIX [detail]]\n"
		"       xcgn pool drain ADDR\n"
		"       xcgn pool undrain ADDR\n"
		"       xcgn pool bypass { add | del } PREFIX\n"
		"       xcgn pool bypass show\n"
		"       xcgn pool help\n");
	pool_opts_init(&def);
	opts_print_defaults(f, xcgn_pool_opts, xcgn_pool_nopts, &def);
	fprintf(f,
		"The timers are not below %u/%u/%u/%u s, the RFC minimums. The block size\n"
		"must divide the port range.\n"
		"filtering sets every protocol's; udp-filtering, tcp-filtering and\n"
		"icmp-filtering (MODE as for filtering) set one protocol's, after it.\n"
		"Address-dependent lets in only hosts the mapping has sent to.\n"
		"set changes a live pool: max-blocks (non-deterministic), the filtering, parity,\n"
		"new-rate, sub-burst, sub-refill, sub-mappings, map-peers and the timers, for\n"
		"new mappings and blocks at once (timers at the daemon's next pass); ports,\n"
		"block-size and deterministic need del and add.\n"
		"exclude keeps addresses of the prefix out of the pool (not deterministic\n"
		"pools); it is part of what places the blocks, like ports. drain stops new\n"
		"subscribers landing on a public address (those on it keep it); undrain\n"
		"undoes it. sub-burst caps the new subscribers the pool takes at once (auto:\n"
		"3/4 of its blocks; none up to 256 blocks), earned back over sub-refill\n"
		"seconds: one inside host spoofing thousands of subscriber sources\n"
		"cannot take the pool; what passes the cap is refused and counted\n"
		"(new_subscriber_rate). sub-mappings caps the mappings one subscriber holds,\n"
		"all protocols together (auto: 2 x max-blocks x block-size), so no one fills\n"
		"the tables everybody shares; past it new flows are refused and counted\n"
		"(subscriber_mappings). pool add warns when fewer than 32 subscribers at it\n"
		"fill the mapping table. map-peers caps the remote hosts one mapping has in the\n"
		"filtering table: in an address-dependent pool a packet to one more is\n"
		"refused and counted (mapping_peers); a TCP peer past it is not noted.\n"
		"new-rate caps the new mappings a second of each subscriber (0: no cap).\n"
		"A pool holding an address of this host is refused (the host's\n"
		"own traffic to it would be taken for a subscriber's): exclude it, or force.\n"
		"A deterministic pool (RFC 7422) gives each subscriber of SUBSCRIBER-PREFIX\n"
		"exactly max-blocks blocks, computed from its address; nothing is logged per\n"
		"subscriber.\n",
		XCGN_MIN_UDP_TIMEOUT, XCGN_MIN_TCP_EST, XCGN_MIN_TCP_TRANS, XCGN_MIN_ICMP_TIMEOUT);
	return usage_status();
}

/* A pool's filtering as pool add takes it: "filtering MODE" when its
 * protocols agree, a mode for each when they do not. JSON has both: the
 * mode, or "per-protocol", and each protocol's. */
static void filtering_print(uint8_t f)
{
	static const struct {
		const char *key, *fmt;
		uint8_t bit;
	} proto[] = {
		{ "udp_filtering", "  udp-filtering %s", XCGN_FILTER_ADF_UDP },
		{ "tcp_filtering", "  tcp-filtering %s", XCGN_FILTER_ADF_TCP },
		{ "icmp_filtering", "  icmp-filtering %s", XCGN_FILTER_ADF_ICMP },
	};
	bool agree = f == XCGN_FILTER_EIF || f == XCGN_FILTER_ADF;

	print_string(agree ? PRINT_ANY : PRINT_JSON, "filtering", "  filtering %s",
		     agree ? xcgn_filtering_text(f, XCGN_FILTER_ADF) : "per-protocol");
	for (size_t i = 0; i < ARRAY_SIZE(proto); i++)
		print_string(agree ? PRINT_JSON : PRINT_ANY, proto[i].key, proto[i].fmt,
			     xcgn_filtering_text(f, proto[i].bit));
}

/* @fn on the pinned maps, under the configuration lock (CMD_LOCK): a
 * pool's options that do not hold together (-EINVAL) are a usage error. */
static int pool_change(struct cmd *cmd, int (*fn)(const struct xcgn_maps *m, const struct pool_opts *o),
		       const struct pool_opts *o)
{
	const struct xcgn_maps *m = cmd_maps(cmd);
	int err = m ? fn(m, o) : -ENOENT;

	return err == -EINVAL ? XCGN_EXIT_USAGE : err;
}

static int do_pool_add(struct cmd *cmd, int argc, char **argv)
{
	struct pool_opts o;
	int ret;

	pool_opts_init(&o);
	if (argc < 1) {
		xcgn_err("pool add needs a PREFIX; try \"xcgn pool help\"");
		return XCGN_EXIT_USAGE;
	}
	if (parse_prefix(*argv, &o.prefix, &o.plen))
		return invarg("pool prefix (a.b.c.d/len, host bits clear)", *argv);
	ret = pool_opts_parse(argc - 1, argv + 1, &o);
	return ret ? ret : pool_change(cmd, pool_add, &o);
}

/* pool { drain | undrain } ADDR */
static int pool_drain(struct cmd *cmd, int argc, char **argv, bool on)
{
	const struct xcgn_maps *m;
	uint32_t addr;

	if (argc != 1 || parse_ipv4(argv[0], &addr)) {
		xcgn_err("pool %s needs one public ADDR", on ? "drain" : "undrain");
		return XCGN_EXIT_USAGE;
	}
	m = cmd_maps(cmd);
	return m ? pool_addr_drain(m, addr, on) : -ENOENT;
}

/* pool set PREFIX KEY VALUE...: the pool as it is, with these keys. */
static int do_pool_set(struct cmd *cmd, int argc, char **argv)
{
	const struct xcgn_maps *m;
	struct xcgn_pool cur;
	struct pool_opts o;
	uint32_t prefix;
	uint8_t plen;
	int ret;

	if (argc < 2) {
		xcgn_err("pool set needs a PREFIX and KEY VALUE...; try \"xcgn pool help\"");
		return XCGN_EXIT_USAGE;
	}
	if (parse_prefix(*argv, &prefix, &plen))
		return invarg("pool prefix (a.b.c.d/len, host bits clear)", *argv);
	m = cmd_maps(cmd);
	if (!m || pool_find(m, prefix, plen, &cur) < 0)
		return XCGN_EXIT_ERR;
	pool_opts_from(&cur, &o);
	pool_excl_read(m, &cur, &o);
	ret = pool_opts_parse(argc - 1, argv + 1, &o);
	return ret ? ret : pool_change(cmd, pool_set, &o);
}

static int do_pool_del(struct cmd *cmd, int argc, char **argv)
{
	const struct xcgn_maps *m;
	uint32_t prefix;
	uint8_t plen;

	if (argc != 1) {
		xcgn_err("pool del needs exactly one PREFIX");
		return XCGN_EXIT_USAGE;
	}
	if (parse_prefix(*argv, &prefix, &plen))
		return invarg("pool prefix", *argv);
	m = cmd_maps(cmd);
	return m ? pool_del(m, prefix, plen) : -ENOENT;
}

/* Blocks held by subscribers, per address index (scan of xcgn_subs). */
static unsigned int *blocks_owned(const struct xcgn_maps *m)
{
	unsigned int *owned = calloc(xcgn_naddrs(m), sizeof(*owned));
	__be32 key, *prev = NULL;
	struct xcgn_sub s;
	int i;

	if (!owned)
		return NULL;
	while (!bpf_map_get_next_key(m->subs, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(m->subs, &key, &s) || s.addr_idx >= xcgn_naddrs(m))
			continue;
		for (i = 0; i < XCGN_SUB_BLOCKS_MAX; i++)
			owned[s.addr_idx] += s.blocks[i] != 0;
	}
	return owned;
}

/* Blocks of an address that are taken (bits below nblocks). */
static unsigned int blocks_used(int fd, __u32 idx, unsigned int nblocks)
{
	struct xcgn_blkmap bm;
	unsigned int b, n = 0;

	if (bpf_map_lookup_elem(fd, &idx, &bm))
		return 0;
	for (b = 0; b < nblocks && b < XCGN_BLKS_PER_ADDR_MAX; b++)
		n += (bm.w[b / 64] >> (b % 64)) & 1;
	return n;
}

/* Each address of @p: blocks in use, quarantined, free; drained or
 * excluded. */
static void pool_detail(const struct xcgn_maps *m, const struct xcgn_pool *p,
			const unsigned int *owned)
{
	__u32 i, idx;

	print_open_array("addresses_detail");
	for (i = 0; i < p->naddrs; i++) {
		struct xcgn_paddr pa = {};
		unsigned int used, held;

		idx = p->addr_first + i;
		if (idx >= xcgn_naddrs(m) || bpf_map_lookup_elem(m->paddr, &idx, &pa))
			continue;
		used = blocks_used(m->blocks, idx, p->nblocks);
		held = owned[idx];
		print_open_object(NULL);
		print_ipv4(PRINT_ANY, "address", "    %-15s", htonl(ntohl(p->prefix) + i));
		if (pa.flags & XCGN_PADDRF_EXCLUDED) {
			print_string(PRINT_ANY, "state", "  %s", "excluded");
		} else {
			print_string(PRINT_ANY, "state", "  %-8s",
				     pa.flags & XCGN_PADDRF_DRAINED ? "drained" : "active");
			print_u64(PRINT_ANY, "in_use", "  in use %llu", held);
			print_u64(PRINT_ANY, "quarantined", "  quarantined %llu",
				  used > held ? used - held : 0);
			print_u64(PRINT_ANY, "free", "  free %llu",
				  p->nblocks - (used > held ? used : held));
		}
		print_nl();
		print_close_object();
	}
	print_close_array();
}

/* pool show [PREFIX [detail]]: every pool, or the one at PREFIX. */
/* A pool's options, as pool add takes them; its timers on a line of their
 * own. */
static void pool_options_print(const struct xcgn_pool *pp, const struct pool_opts *ex)
{
	const struct xcgn_pool p = *pp;
	int t;

	print_u64(PRINT_ANY, "port_lo", "  ports %llu", p.port_lo);
	print_u64(PRINT_ANY, "port_hi", "-%llu", p.port_hi);
	print_u64(PRINT_ANY, "block_size", "  block-size %llu", p.block_size);
	print_u64(PRINT_ANY, "max_blocks", "  max-blocks %llu", p.max_blocks);
	filtering_print(p.filtering);
	print_bool(PRINT_ANY, "parity", "  parity", p.flags & XCGN_POOLF_PARITY);
	print_u64(PRINT_ANY, "new_rate", "  new-rate %llu", p.new_rate);
	if (p.sub_burst)
		print_u64(PRINT_ANY, "sub_burst", "  sub-burst %llu", p.sub_burst);
	else
		print_string(PRINT_ANY, "sub_burst", "  sub-burst %s", "off");
	print_u64(PRINT_ANY, "sub_refill", "  sub-refill %llu", p.sub_refill_s);
	if (p.sub_maps)
		print_u64(PRINT_ANY, "sub_mappings", "  sub-mappings %llu", p.sub_maps);
	else
		print_string(PRINT_ANY, "sub_mappings", "  sub-mappings %s", "off");
	if (p.map_peers)
		print_u64(PRINT_ANY, "map_peers", "  map-peers %llu", p.map_peers);
	else
		print_string(PRINT_ANY, "map_peers", "  map-peers %s", "off");
	if (p.flags & XCGN_POOLF_DETERMINISTIC) {
		print_ipv4(PRINT_ANY, "deterministic", "  deterministic %s", p.det_prefix);
		print_u64(PRINT_ANY, "deterministic_plen", "/%llu", p.det_plen);
	}
	print_open_array("exclude");
	for (t = 0; t < ex->nexcl; t++) {
		char pfx[24], a[16];

		snprintf(pfx, sizeof(pfx), "%s/%u", ipv4_str(ex->excl[t].prefix, a, sizeof(a)),
			 ex->excl[t].plen);
		print_string(PRINT_ANY, NULL, "  exclude %s", pfx);
	}
	print_close_array();
	print_nl();
	print_text(" ");
	for (t = 0; t < XCGN_TIMER_MAX; t++) {
		char key[32], fmt[48];
		size_t k;

		snprintf(key, sizeof(key), "%s", xcgn_timer_name[t]);
		for (k = 0; key[k]; k++)
			key[k] = key[k] == '-' ? '_' : key[k];
		snprintf(fmt, sizeof(fmt), " %s %%llu", xcgn_timer_name[t]);
		print_u64(PRINT_ANY, key, fmt, p.timeout[t]);
	}
	print_nl();
}

/* What a pool holds: its addresses and blocks, in use and resting. */
struct pool_count {
	unsigned int used, held, excluded, drained;
};

static void pool_use_print(const struct xcgn_pool *p, const struct pool_count *c)
{
	unsigned int used = c->used, held = c->held, excluded = c->excluded, drained = c->drained;

	print_u64(PRINT_ANY, "addresses", "  addresses %llu", p->naddrs - excluded);
	if (drained)
		print_u64(PRINT_ANY, "drained", " (drained %llu)", drained);
	else
		print_u64(PRINT_JSON, "drained", NULL, 0);
	print_u64(PRINT_ANY, "blocks_per_address", "  blocks/address %llu", p->nblocks);
	print_u64(PRINT_ANY, "blocks_total", "  blocks %llu",
		  (uint64_t)p->nblocks * (p->naddrs - excluded));
	/* Taken but held by no subscriber: resting in quarantine. */
	print_u64(PRINT_ANY, "blocks_used", "  in use %llu", held);
	print_u64(PRINT_JSON, "blocks_taken", NULL, used);
	print_u64(PRINT_ANY, "blocks_quarantined", "  quarantined %llu",
		  used > held ? used - held : 0);
	print_u64(PRINT_ANY, "blocks_free", "  free %llu",
		  (uint64_t)p->nblocks * (p->naddrs - excluded) - (used > held ? used : held));
	/* In use and resting, of what the pool has. */
	{
		double all = (double)p->nblocks * (p->naddrs - excluded);

		print_double(PRINT_ANY, "utilisation_pct", "  utilisation %.1f%%",
			     all > 0 ? 100.0 * (used > held ? used : held) / all : 0.0);
	}
	print_nl();
}

static int do_pool_show(struct cmd *cmd, int argc, char **argv)
{
	uint32_t only = 0;
	uint8_t only_len = 0;
	bool filter = argc > 0, detail = argc > 1 && !strcmp(argv[1], "detail");
	const struct xcgn_maps *m;
	struct xcgn_pool p;
	__u32 id, i;
	int err;

	unsigned int *owned;

	if (argc > 2 || (argc == 2 && !detail)) {
		xcgn_err("unexpected argument \"%s\" to pool show", argv[argc - 1]);
		return XCGN_EXIT_USAGE;
	}
	if (filter && parse_prefix(argv[0], &only, &only_len))
		return invarg("pool prefix (a.b.c.d/len, host bits clear)", argv[0]);
	m = cmd_maps(cmd);
	err = m ? 0 : -ENOENT;
	if (err)
		return XCGN_EXIT_ERR;
	owned = blocks_owned(m);
	if (!owned) {
		xcgn_err("out of memory");
		return XCGN_EXIT_ERR;
	}
	print_open_array(NULL);
	for (id = 0; id < xcgn_npools(m); id++) {
		unsigned int used = 0, held = 0, excluded = 0, drained = 0;
		struct pool_opts ex = {};
		struct xcgn_paddr pa;

		if (bpf_map_lookup_elem(m->pools, &id, &p)) {
			err = -errno;
			xcgn_err("read pool %u: %s", id, strerror(errno));
			break;
		}
		if (!(p.flags & XCGN_POOLF_ACTIVE) ||
		    (filter && (p.prefix != only || p.plen != only_len)))
			continue;
		for (i = 0; i < p.naddrs && p.addr_first + i < xcgn_naddrs(m); i++) {
			__u32 idx = p.addr_first + i;

			if (!bpf_map_lookup_elem(m->paddr, &idx, &pa) &&
			    (pa.flags & XCGN_PADDRF_EXCLUDED)) {
				excluded++;	/* its blocks are no pool's */
				continue;
			}
			drained += !!(pa.flags & XCGN_PADDRF_DRAINED);
			used += blocks_used(m->blocks, idx, p.nblocks);
			held += owned[idx];
		}
		ex.prefix = p.prefix;
		ex.plen = p.plen;
		pool_excl_read(m, &p, &ex);
		print_open_object(NULL);
		print_ipv4(PRINT_ANY, "prefix", "pool %s", p.prefix);
		print_u64(PRINT_ANY, "plen", "/%llu", p.plen);
		pool_options_print(&p, &ex);
		pool_use_print(&p, &(struct pool_count){ used, held, excluded, drained });
		if (detail)
			pool_detail(m, &p, owned);
		print_close_object();
	}
	print_close_array();
	free(owned);
	return err ? XCGN_EXIT_ERR : XCGN_EXIT_OK;
}

/* xcgn pool bypass { add PREFIX | del PREFIX | show } (RFC 6888 REQ-6) */
static int do_pool_bypass(struct cmd *cmd, int argc, char **argv)
{
	struct xcgn_lpm4_key k, *prev = NULL;
	const struct xcgn_maps *m;
	uint32_t prefix;
	uint8_t plen;
	int err;

	if (argc == 1 && !strcmp(*argv, "show")) {
		if (!(m = cmd_maps(cmd)))
			return XCGN_EXIT_ERR;
		print_open_array(NULL);
		while (!bpf_map_get_next_key(m->bypass, prev, &k)) {
			print_open_object(NULL);
			print_ipv4(PRINT_ANY, "prefix", "bypass %s", k.addr);
			print_u64(PRINT_ANY, "plen", "/%llu", k.prefixlen);
			print_nl();
			print_close_object();
			prev = &k;
		}
		print_close_array();
		return XCGN_EXIT_OK;
	}
	if (argc != 2 || (strcmp(argv[0], "add") && strcmp(argv[0], "del"))) {
		xcgn_err("pool bypass needs add PREFIX, del PREFIX or show");
		return XCGN_EXIT_USAGE;
	}
	if (parse_prefix(argv[1], &prefix, &plen))
		return invarg("bypass prefix (a.b.c.d/len, host bits clear)", argv[1]);
	if (cmd_lock(cmd) || !(m = cmd_maps(cmd)))	/* a change: under the lock */
		return XCGN_EXIT_ERR;
	err = !strcmp(argv[0], "add") ? bypass_add(m, prefix, plen) : bypass_del(m, prefix, plen);
	return err == -EINVAL ? XCGN_EXIT_USAGE : err;
}

static int do_pool_drain(struct cmd *cmd, int argc, char **argv)
{
	return pool_drain(cmd, argc, argv, true);
}

static int do_pool_undrain(struct cmd *cmd, int argc, char **argv)
{
	return pool_drain(cmd, argc, argv, false);
}

const struct xcgn_object xcgn_obj_pool = {
	.name = "pool",
	.usage = usage,
	.def_verb = "show",
	.cmds = (const struct xcgn_cmd[]){
		{ "add", do_pool_add, CMD_LOCK },
		{ "del", do_pool_del, CMD_LOCK },
		{ "set", do_pool_set, CMD_LOCK },
		{ "show", do_pool_show, 0 },
		{ "drain", do_pool_drain, CMD_LOCK },
		{ "undrain", do_pool_undrain, CMD_LOCK },
		{ "bypass", do_pool_bypass, 0 },
		{ NULL, NULL, 0 },
	},
};
