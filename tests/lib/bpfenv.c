// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/bpfenv.h"

static int libbpf_warn_only(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	if (lvl == LIBBPF_WARN)
		vfprintf(stderr, fmt, ap);	/* the verifier log on failure */
	return 0;
}

struct pool_opts bpfenv_pool(const char *prefix, uint8_t plen, uint16_t lo, uint16_t hi,
			     uint16_t bs, uint16_t mb)
{
	struct pool_opts o = {
		.prefix = inet_addr(prefix),
		.plen = plen,
		.port_lo = lo,
		.port_hi = hi,
		.block_size = bs,
		.max_blocks = mb,
	};

	return o;
}

struct pool_opts bpfenv_default_pool(void)
{
	return bpfenv_pool("198.51.100.0", 30, 1024, 65535, 512, 4);
}

#define FAIL(...)                                                                          \
	do {                                                                               \
		snprintf(why, whylen, __VA_ARGS__);                                        \
		return -1;                                                                 \
	} while (0)

int bpfenv_setup(struct bpfenv *e, const struct pool_opts *pool, unsigned int max_maps, char *why,
		 size_t whylen)
{
	struct xcgn_link_info li = {};
	struct bpf_map *map;
	__u32 zero = 0, k, v;
	int err, i;

	memset(e, 0, sizeof(*e));
	if (unshare(CLONE_NEWNET))
		FAIL("unshare(CLONE_NEWNET): %s", strerror(errno));
	err = system("ip link add vin type veth peer name vinp && ip link add vout type veth peer name voutp"
		     " && ip link set lo up && ip link set vin up && ip link set vinp up"
		     " && ip link set vout up && ip link set voutp up"
		     " && ip addr add 100.64.0.1/16 dev vin && ip addr add 203.0.113.1/24 dev vout"
		     " && ip neigh add 203.0.113.2 lladdr " ENV_GW_MAC " dev vout nud permanent"
		     " && ip route add default via 203.0.113.2"
		     " && ip neigh add " ENV_SUB1 " lladdr " ENV_SUB_MAC " dev vin nud permanent"
		     " && ip neigh add " ENV_SUB2 " lladdr " ENV_SUB_MAC " dev vin nud permanent"
		     " && sysctl -qw net.ipv4.conf.all.forwarding=1");
	if (err)
		FAIL("building the namespace's devices failed (%d)", err);
	e->ifin = (int)if_nametoindex("vin");
	e->ifout = (int)if_nametoindex("vout");
	if (!e->ifin || !e->ifout)
		FAIL("devices missing");

	libbpf_set_print(libbpf_warn_only);
	e->skel = xcgn_xdp__open();
	if (!e->skel)
		FAIL("open skeleton: %s", strerror(errno));
	/* Unpinned: this state is the caller's own. */
	bpf_object__for_each_map(map, e->skel->obj)
		bpf_map__set_pin_path(map, NULL);
	e->skel->rodata->xcgn_cfg.inside_ifindex = (__u32)e->ifin;
	e->skel->rodata->xcgn_cfg.outside_ifindex = (__u32)e->ifout;
	e->skel->rodata->xcgn_cfg.sub_prefix = inet_addr("100.64.0.0");
	e->skel->rodata->xcgn_cfg.sub_mask = prefix_mask_be(10);
	e->skel->rodata->xcgn_cfg.inside_addr = inet_addr("100.64.0.1");
	e->skel->rodata->xcgn_cfg.sub_peers = xcgn_sub_peers_share(max_maps);
	if (bpf_map__set_max_entries(e->skel->maps.xcgn_map4, max_maps) ||
	    bpf_map__set_max_entries(e->skel->maps.xcgn_rev4, max_maps) ||
	    bpf_map__set_max_entries(e->skel->maps.xcgn_peer4, max_maps) ||
	    (bpfenv_rpf_max && bpf_map__set_max_entries(e->skel->maps.xcgn_rpf4, bpfenv_rpf_max)))
		FAIL("size maps");
	if (bpfenv_verifier_stats && bpfenv_vlog_arm(e, e->skel->obj))
		FAIL("verifier log buffers");
	err = xcgn_xdp__load(e->skel);
	if (err)
		FAIL("load: %s", strerror(-err));

	/* Every pinned map by its name, as xcgn_maps_open() has them. */
	for (i = 0; i < XCGN_NMAPS; i++) {
		struct bpf_map *mp = bpf_object__find_map_by_name(e->skel->obj, xcgn_map_names[i]);

		if (!mp)
			FAIL("map %s missing from the object", xcgn_map_names[i]);
		((int *)&e->maps)[i] = bpf_map__fd(mp);
	}
	k = XCGN_TX_INSIDE;
	v = (__u32)e->ifin;
	if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.xcgn_txport), &k, &v, 0))
		FAIL("devmap inside: %s", strerror(errno));
	k = XCGN_TX_OUTSIDE;
	v = (__u32)e->ifout;
	if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.xcgn_txport), &k, &v, 0))
		FAIL("devmap outside: %s", strerror(errno));
	li.inside_ifindex = (__u32)e->ifin;
	li.outside_ifindex = (__u32)e->ifout;
	li.sub_prefix = inet_addr("100.64.0.0");
	li.sub_plen = 10;
	if (bpf_map_update_elem(e->maps.link, &zero, &li, 0))
		FAIL("link info: %s", strerror(errno));
	if (pool_add(&e->maps, pool))
		FAIL("pool add");
	e->prog_in = bpf_program__fd(e->skel->progs.xcgn_xdp_inside);
	e->prog_out = bpf_program__fd(e->skel->progs.xcgn_xdp_outside);
	e->prog_tc = bpf_program__fd(e->skel->progs.xcgn_tc_outside);
	e->prog_tc_in = bpf_program__fd(e->skel->progs.xcgn_tc_outside_in);
	e->prog_tc_inside = bpf_program__fd(e->skel->progs.xcgn_tc_inside_in);
	return 0;
}

unsigned int bpfenv_rpf_max;
int bpfenv_verifier_stats;

#define VLOG_SIZE	(64 * 1024)

int bpfenv_vlog_arm(struct bpfenv *e, struct bpf_object *obj)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, obj) {
		struct bpfenv_vlog *v;

		if (e->nvlog == BPFENV_PROGS_MAX)
			return -1;
		v = &e->vlog[e->nvlog];
		v->prog = bpf_program__name(p);
		v->log = calloc(1, VLOG_SIZE);
		if (!v->log || bpf_program__set_log_buf(p, v->log, VLOG_SIZE) ||
		    bpf_program__set_log_level(p, 4))	/* BPF_LOG_STATS */
			return -1;
		e->nvlog++;
	}
	return 0;
}

struct xcgn_gc *bpfenv_load_gc(struct bpfenv *e)
{
	struct xcgn_gc *gc = xcgn_gc__open();
	struct bpf_map *map, *same;

	if (!gc)
		return NULL;
	if (bpfenv_verifier_stats && bpfenv_vlog_arm(e, gc->obj))
		goto fail;
	bpf_object__for_each_map(map, gc->obj) {
		bpf_map__set_pin_path(map, NULL);
		/* Internal maps (.rodata) are named per object and stay apart. */
		same = bpf_object__find_map_by_name(e->skel->obj, bpf_map__name(map));
		if (same && bpf_map__reuse_fd(map, bpf_map__fd(same)))
			goto fail;
	}
	if (xcgn_gc__load(gc))
		goto fail;
	return gc;
fail:
	xcgn_gc__destroy(gc);
	return NULL;
}

void bpfenv_teardown(struct bpfenv *e)
{
	int i;

	for (i = 0; i < e->nvlog; i++)
		free(e->vlog[i].log);
	e->nvlog = 0;
	xcgn_xdp__destroy(e->skel);
	e->skel = NULL;
}
