// SPDX-License-Identifier: GPL-2.0
/* xcgn subscriber { show [ADDR] | help } */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli/cli.h"

static int usage(void)
{
	fprintf(usage_fp(), "Usage: xcgn subscriber show [ADDR | top N [by { ports | mappings }]]\n"
			    "       xcgn subscriber flush ADDR\n"
			    "       xcgn subscriber help\n"
			    "flush removes every mapping of the subscriber; the daemon then\n"
			    "releases its blocks (quarantine, release records) at its next pass.\n");
	return usage_status();
}

/* The subscriber's accounting, summed over CPUs: 0, or -1 when it has
 * none (accounting off, or not yet counted). */
static int acct_read(const struct xcgn_maps *m, __be32 addr, struct xcgn_acct *sum)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	struct xcgn_acct *v;
	int ret = -1;

	memset(sum, 0, sizeof(*sum));
	if (ncpu <= 0 || !(v = calloc((size_t)ncpu, sizeof(*v))))
		return -1;
	if (!bpf_map_lookup_elem(m->acct, &addr, v)) {
		for (c = 0; c < ncpu; c++) {
			sum->pkts_out += v[c].pkts_out;
			sum->bytes_out += v[c].bytes_out;
			sum->pkts_in += v[c].pkts_in;
			sum->bytes_in += v[c].bytes_in;
		}
		ret = 0;
	}
	free(v);
	return ret;
}

static void print_sub(const struct xcgn_maps *m, __be32 addr, const struct xcgn_sub *s)
{
	struct xcgn_acct acct;
	struct xcgn_pool p = {};
	__u32 id = s->pool_id;
	int i;

	bpf_map_lookup_elem(m->pools, &id, &p);
	print_open_object(NULL);
	print_ipv4(PRINT_ANY, "subscriber", "%s", addr);
	print_ipv4(PRINT_ANY, "public", "  public %s", s->paddr);
	print_u64(PRINT_ANY, "mappings", "  mappings %llu", s->nmaps & ~XCGN_SUB_DEAD);
	{
		uint64_t ports = 0;

		for (i = 0; i < XCGN_SUB_BLOCKS_MAX; i++)
			ports += s->blocks[i] ? p.block_size : 0;
		print_u64(PRINT_ANY, "ports", "  ports %llu", ports);
	}
	print_text("  blocks");
	print_open_array("blocks");
	for (i = 0; i < XCGN_SUB_BLOCKS_MAX; i++) {
		unsigned int lo;

		if (!s->blocks[i])
			continue;
		lo = p.port_lo + (s->blocks[i] - 1) * p.block_size;
		print_open_object(NULL);
		print_u64(PRINT_ANY, "port_lo", " %llu", lo);
		print_u64(PRINT_ANY, "port_hi", "-%llu", lo + p.block_size - 1);
		print_close_object();
	}
	print_close_array();
	if (!acct_read(m, addr, &acct)) {
		print_open_object("accounting");
		print_u64(PRINT_ANY, "packets_out", "  out %llu pkts", acct.pkts_out);
		print_u64(PRINT_ANY, "bytes_out", " %llu bytes", acct.bytes_out);
		print_u64(PRINT_ANY, "packets_in", "  in %llu pkts", acct.pkts_in);
		print_u64(PRINT_ANY, "bytes_in", " %llu bytes", acct.bytes_in);
		print_close_object();
	}
	print_nl();
	print_close_object();
}

struct ranked {
	__be32 addr;
	struct xcgn_sub s;
	uint64_t ports;
};

static int by_ports(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	return x->ports != y->ports ? (x->ports < y->ports ? 1 : -1)
				    : (x->s.nmaps < y->s.nmaps) - (x->s.nmaps > y->s.nmaps);
}

static int by_mappings(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	return x->s.nmaps != y->s.nmaps ? (x->s.nmaps < y->s.nmaps ? 1 : -1)
					: (x->ports < y->ports) - (x->ports > y->ports);
}

/* subscriber show top N [by { ports | mappings }]: who holds the most. */
static int subscriber_top(struct cmd *cmd, int argc, char **argv)
{
	static const char *const keys[] = { "ports", "mappings" };
	struct ranked *r = NULL;
	size_t n = 0, cap = 0, i;
	__be32 key, *prev = NULL;
	struct xcgn_pool pools[XCGN_POOLS_MAX] = {};
	const struct xcgn_maps *m;
	uint32_t top;
	__u32 id;
	int by = 0, b;

	if (argc < 1) {
		xcgn_err("subscriber show top needs N");
		return XCGN_EXIT_USAGE;
	}
	if (arg_u32("top", argv[0], 1, 1u << 24, &top))
		return XCGN_EXIT_USAGE;
	if (argc == 3 && !strcmp(argv[1], "by"))
		by = prefix_match(argv[2], keys, 2);
	if ((argc != 1 && argc != 3) || by < 0 || (argc == 3 && strcmp(argv[1], "by"))) {
		xcgn_err("subscriber show top N [by ports|mappings]");
		return XCGN_EXIT_USAGE;
	}
	if (!(m = cmd_maps(cmd)))
		return XCGN_EXIT_ERR;
	for (id = 0; id < xcgn_npools(m); id++)
		bpf_map_lookup_elem(m->pools, &id, &pools[id]);
	while (!bpf_map_get_next_key(m->subs, prev, &key)) {
		prev = &key;
		if (n == cap && xcgn_grow(&r, &cap, n, sizeof(*r))) {
			xcgn_err("out of memory");
			free(r);
			return XCGN_EXIT_ERR;
		}
		if (bpf_map_lookup_elem(m->subs, &key, &r[n].s))
			continue;
		r[n].addr = key;
		r[n].ports = 0;
		for (b = 0; b < XCGN_SUB_BLOCKS_MAX; b++)
			r[n].ports += r[n].s.blocks[b] ? pools[r[n].s.pool_id % XCGN_POOLS_MAX].block_size
						       : 0;
		n++;
	}
	if (n)
		qsort(r, n, sizeof(*r), by ? by_mappings : by_ports);
	print_open_array(NULL);
	for (i = 0; i < n && i < top; i++)
		print_sub(m, r[i].addr, &r[i].s);
	print_close_array();
	free(r);
	return XCGN_EXIT_OK;
}

static int do_subscriber_show(struct cmd *cmd, int argc, char **argv)
{
	const struct xcgn_maps *m;
	struct xcgn_sub s;
	__be32 key, *prev = NULL, want = 0;
	int err = 0;

	if (argc > 0 && !strcmp(argv[0], "top"))
		return subscriber_top(cmd, argc - 1, argv + 1);
	if (argc > 1) {
		xcgn_err("unexpected argument \"%s\"", argv[1]);
		return XCGN_EXIT_USAGE;
	}
	if (argc == 1 && parse_ipv4(*argv, &want))
		return invarg("subscriber address", *argv);
	if (!(m = cmd_maps(cmd)))
		return XCGN_EXIT_ERR;
	if (want) {
		if (bpf_map_lookup_elem(m->subs, &want, &s)) {
			xcgn_err("subscriber %s holds no block", *argv);
			err = -ENOENT;
		} else {
			print_open_array(NULL);
			print_sub(m, want, &s);
			print_close_array();
		}
		return err ? XCGN_EXIT_ERR : XCGN_EXIT_OK;
	}
	print_open_array(NULL);
	while (!bpf_map_get_next_key(m->subs, prev, &key)) {
		/* An entry may go between next_key and lookup: skip it. */
		if (!bpf_map_lookup_elem(m->subs, &key, &s))
			print_sub(m, key, &s);
		prev = &key;
	}
	print_close_array();
	return XCGN_EXIT_OK;
}

/* subscriber flush ADDR: session flush subscriber ADDR. */
static int do_subscriber_flush(struct cmd *cmd, int argc, char **argv)
{
	char *fl[] = { "subscriber", argc == 1 ? argv[0] : NULL, NULL };
	uint32_t a;

	if (argc != 1 || parse_ipv4(argv[0], &a)) {
		xcgn_err("subscriber flush needs one subscriber ADDR");
		return XCGN_EXIT_USAGE;
	}
	return session_flush(cmd, 2, fl);
}

const struct xcgn_object xcgn_obj_subscriber = {
	.name = "subscriber",
	.usage = usage,
	.def_verb = "show",
	.cmds = (const struct xcgn_cmd[]){
		{ "show", do_subscriber_show, 0 },
		{ "flush", do_subscriber_flush, CMD_LOCK },
		{ NULL, NULL, 0 },
	},
};
