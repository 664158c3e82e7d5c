// SPDX-License-Identifier: GPL-2.0
/* xcgn subscriber { show [ADDR] | help } */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

#include "xcgn.h"

static int usage(void)
{
	fprintf(usage_fp(), "Usage: xcgn subscriber show [ADDR]\n"
			    "       xcgn subscriber flush ADDR\n"
			    "       xcgn subscriber help\n"
			    "flush removes every mapping of the subscriber; the daemon then\n"
			    "releases its blocks (quarantine, release records) at its next pass.\n");
	return usage_status();
}

static void print_sub(const struct xcgn_maps *m, __be32 addr, const struct xcgn_sub *s)
{
	struct xcgn_pool p = {};
	__u32 id = s->pool_id;
	int i;

	bpf_map_lookup_elem(m->pools, &id, &p);
	print_open_object(NULL);
	print_ipv4(PRINT_ANY, "subscriber", "%s", addr);
	print_ipv4(PRINT_ANY, "public", "  public %s", s->paddr);
	print_u64(PRINT_ANY, "mappings", "  mappings %llu", s->nmaps);
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
	print_nl();
	print_close_object();
}

static int do_subscriber_show(int argc, char **argv)
{
	struct xcgn_maps m;
	struct xcgn_sub s;
	__be32 key, *prev = NULL, want = 0;
	int err = 0;

	if (argc > 1) {
		xcgn_err("unexpected argument \"%s\"", argv[1]);
		return XCGN_EXIT_USAGE;
	}
	if (argc == 1 && parse_ipv4(*argv, &want))
		return invarg("subscriber address", *argv);
	if (xcgn_maps_open(&m))
		return XCGN_EXIT_ERR;
	if (want) {
		if (bpf_map_lookup_elem(m.subs, &want, &s)) {
			xcgn_err("subscriber %s holds no block", *argv);
			err = -ENOENT;
		} else {
			print_open_array(NULL);
			print_sub(&m, want, &s);
			print_close_array();
		}
		xcgn_maps_close(&m);
		return err ? XCGN_EXIT_ERR : XCGN_EXIT_OK;
	}
	print_open_array(NULL);
	while (!bpf_map_get_next_key(m.subs, prev, &key)) {
		/* An entry may go between next_key and lookup: skip it. */
		if (!bpf_map_lookup_elem(m.subs, &key, &s))
			print_sub(&m, key, &s);
		prev = &key;
	}
	print_close_array();
	xcgn_maps_close(&m);
	return XCGN_EXIT_OK;
}

/* subscriber flush ADDR: session flush subscriber ADDR. */
static int do_subscriber_flush(int argc, char **argv)
{
	char *fl[] = { "subscriber", argc == 1 ? argv[0] : NULL, NULL };
	uint32_t a;

	if (argc != 1 || parse_ipv4(argv[0], &a)) {
		xcgn_err("subscriber flush needs one subscriber ADDR");
		return XCGN_EXIT_USAGE;
	}
	return session_flush(2, fl);
}

const struct xcgn_object xcgn_obj_subscriber = {
	.name = "subscriber",
	.usage = usage,
	.def_verb = "show",
	.cmds = (const struct xcgn_cmd[]){
		{ "show", do_subscriber_show, 0 },
		{ "flush", do_subscriber_flush, 0 },
		{ NULL, NULL, 0 },
	},
};
