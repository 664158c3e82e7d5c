// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "env.h"

struct env env;
unsigned int env_max_maps = 8192;

uint32_t ip(const char *s)
{
	return inet_addr(s);
}

static void sh(const char *cmd)
{
	int rc = system(cmd);

	cr_assert_eq(rc, 0, "command failed (%d): %s", rc, cmd);
}

static int quiet(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	if (lvl == LIBBPF_WARN)
		vfprintf(stderr, fmt, ap);	/* the verifier log on failure */
	return 0;
}

void env_setup(const struct pool_opts *pool)
{
	struct xcgn_link_info li = {};
	struct bpf_map *map;
	__u32 zero = 0, k, v;
	int err;

	if (geteuid() != 0)
		cr_skip_test("BPF_PROG_TEST_RUN needs root (CAP_BPF, CAP_NET_ADMIN)");
	/* Criterion runs each test in its own process: the namespace dies
	 * with it, whatever happens. */
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	sh("ip link add vin type veth peer name vinp && ip link add vout type veth peer name voutp"
	   " && ip link set lo up && ip link set vin up && ip link set vinp up"
	   " && ip link set vout up && ip link set voutp up"
	   " && ip addr add 100.64.0.1/16 dev vin && ip addr add 203.0.113.1/24 dev vout"
	   " && ip neigh add 203.0.113.2 lladdr " ENV_GW_MAC " dev vout nud permanent"
	   " && ip route add default via 203.0.113.2"
	   " && ip neigh add " ENV_SUB1 " lladdr " ENV_SUB_MAC " dev vin nud permanent"
	   " && ip neigh add " ENV_SUB2 " lladdr " ENV_SUB_MAC " dev vin nud permanent"
	   " && sysctl -qw net.ipv4.conf.all.forwarding=1");
	env.ifin = (int)if_nametoindex("vin");
	env.ifout = (int)if_nametoindex("vout");
	cr_assert(env.ifin && env.ifout, "devices exist");

	libbpf_set_print(quiet);
	env.skel = xcgn_xdp__open();
	cr_assert(env.skel, "open skeleton");
	/* Unpinned: this test's state is its own. */
	bpf_object__for_each_map(map, env.skel->obj)
		bpf_map__set_pin_path(map, NULL);
	env.skel->rodata->xcgn_cfg.inside_ifindex = (__u32)env.ifin;
	env.skel->rodata->xcgn_cfg.outside_ifindex = (__u32)env.ifout;
	env.skel->rodata->xcgn_cfg.sub_prefix = ip("100.64.0.0");
	env.skel->rodata->xcgn_cfg.sub_mask = prefix_mask_be(10);
	bpf_map__set_max_entries(env.skel->maps.XCGN_MAP_MAP4, env_max_maps);
	bpf_map__set_max_entries(env.skel->maps.XCGN_MAP_REV4, env_max_maps);
	bpf_map__set_max_entries(env.skel->maps.XCGN_MAP_PEER4, env_max_maps);
	err = xcgn_xdp__load(env.skel);
	cr_assert_eq(err, 0, "load: %s", strerror(-err));

	env.maps = (struct xcgn_maps){
		.map4 = bpf_map__fd(env.skel->maps.XCGN_MAP_MAP4),
		.rev4 = bpf_map__fd(env.skel->maps.XCGN_MAP_REV4),
		.subs = bpf_map__fd(env.skel->maps.XCGN_MAP_SUBS),
		.peer4 = bpf_map__fd(env.skel->maps.XCGN_MAP_PEER4),
		.pools = bpf_map__fd(env.skel->maps.XCGN_MAP_POOLS),
		.paddr = bpf_map__fd(env.skel->maps.XCGN_MAP_PADDR),
		.pubidx = bpf_map__fd(env.skel->maps.XCGN_MAP_PUBIDX),
		.blocks = bpf_map__fd(env.skel->maps.XCGN_MAP_BLOCKS),
		.state = bpf_map__fd(env.skel->maps.XCGN_MAP_STATE),
		.stats = bpf_map__fd(env.skel->maps.XCGN_MAP_STATS),
		.events = bpf_map__fd(env.skel->maps.XCGN_MAP_EVENTS),
		.link = bpf_map__fd(env.skel->maps.XCGN_MAP_LINK),
	};
	k = XCGN_TX_INSIDE;
	v = (__u32)env.ifin;
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(env.skel->maps.XCGN_MAP_TXPORT), &k, &v, 0),
		     0, "devmap inside");
	k = XCGN_TX_OUTSIDE;
	v = (__u32)env.ifout;
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(env.skel->maps.XCGN_MAP_TXPORT), &k, &v, 0),
		     0, "devmap outside");
	li.sub_prefix = ip("100.64.0.0");
	li.sub_plen = 10;
	cr_assert_eq(bpf_map_update_elem(env.maps.link, &zero, &li, 0), 0, "link info");
	cr_assert_eq(pool_add(&env.maps, pool), 0, "pool add");

	env.prog_in = bpf_program__fd(env.skel->progs.xcgn_xdp_inside);
	env.prog_out = bpf_program__fd(env.skel->progs.xcgn_xdp_outside);
	env.prog_tc = bpf_program__fd(env.skel->progs.xcgn_tc_outside);
}

void env_setup_default(void)
{
	struct pool_opts o = {
		.prefix = ip("198.51.100.0"),
		.plen = 30,
		.port_lo = 1024,
		.port_hi = 65535,
		.block_size = 512,
		.max_blocks = 4,
	};

	env_setup(&o);
}

void env_teardown(void)
{
	xcgn_xdp__destroy(env.skel);
	env.skel = NULL;
}

int env_run(int prog, int ifindex, const uint8_t *in, size_t len, uint8_t *out, size_t *outlen)
{
	struct xdp_md ctx = {};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (__u32)len,
		    .data_out = out, .data_size_out = (__u32)*outlen, .repeat = 1);
	int err;

	if (ifindex) {
		ctx.data_end = (__u32)len;
		ctx.ingress_ifindex = (__u32)ifindex;
		o.ctx_in = &ctx;
		o.ctx_size_in = sizeof(ctx);
	}
	err = bpf_prog_test_run_opts(prog, &o);
	cr_assert_eq(err, 0, "test_run: %s", strerror(errno));
	*outlen = o.data_size_out;
	return (int)o.retval;
}

static uint64_t stat_sum(int idx, int drop)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	struct xcgn_stats *v = calloc((size_t)ncpu, sizeof(*v));
	__u32 zero = 0;
	uint64_t s = 0;

	cr_assert(v, "calloc");
	cr_assert_eq(bpf_map_lookup_elem(env.maps.stats, &zero, v), 0, "stats");
	for (c = 0; c < ncpu; c++)
		s += drop ? v[c].drop[idx] : v[c].stat[idx];
	free(v);
	return s;
}

uint64_t env_stat(int idx)
{
	return stat_sum(idx, 0);
}

uint64_t env_drop(int idx)
{
	return stat_sum(idx, 1);
}

unsigned int env_count(int fd)
{
	uint8_t key[64], prev[64];
	unsigned int n = 0;
	void *p = NULL;

	while (!bpf_map_get_next_key(fd, p, key)) {
		n++;
		memcpy(prev, key, sizeof(key));
		p = prev;
	}
	return n;
}
