// SPDX-License-Identifier: GPL-2.0
/* Reverse-path validation in the datapath, on tables rpf_sync() built from
 * this test namespace's real FIB (vin 100.64.0.1/16, vout 203.0.113.1/24,
 * default route via vout): verdicts and drop reasons of the XDP programs,
 * the explain program, the loopback rule, and route changes followed. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "env.h"
#include "net/rpf.h"

static uint8_t in[256], out[256];

static void sync_with(int mode_in, int mode_out)
{
	struct xcgn_rpf_dev d = { .ifindex = (__u32)env.ifin, .mode = (__u8)mode_in };
	struct rpf_sync_stats st;
	__u32 k = XCGN_RPF_DEV_INSIDE;

	cr_assert_eq(bpf_map_update_elem(env.maps.rpfdev, &k, &d, 0), 0);
	d = (struct xcgn_rpf_dev){ .ifindex = (__u32)env.ifout, .mode = (__u8)mode_out };
	k = XCGN_RPF_DEV_OUTSIDE;
	cr_assert_eq(bpf_map_update_elem(env.maps.rpfdev, &k, &d, 0), 0);
	cr_assert_eq(rpf_sync(&env.maps, &st, false), 0, "sync");
	cr_assert_gt(st.routes, 5, "the namespace's routes were read (%zu)", st.routes);
}

static void strict_loose(void)
{
	env_setup_default();
	sync_with(XCGN_RPF_STRICT, XCGN_RPF_LOOSE);
}

/* Run the inside (or outside) program on a UDP packet; the verdict. */
static int send_udp(int outside, const char *src, const char *dst)
{
	struct pkt_spec s = { .proto = 17, .sport = 1100, .dport = 53, .payload = 8 };
	size_t len, outlen = sizeof(out);

	s.saddr = ip(src);
	s.daddr = ip(dst);
	len = pkt_build(in, sizeof(in), &s);
	cr_assert(len);
	return env_run(outside ? env.prog_out : env.prog_in, outside ? env.ifout : env.ifin, in, len,
		       out, &outlen);
}

/* The packet is dropped for @reason (and only that reason moved). */
static void assert_dropped(int outside, const char *src, const char *dst, int reason)
{
	uint64_t before = env_drop(reason);
	int v = send_udp(outside, src, dst);

	cr_assert_eq(v, XDP_DROP, "%s -> %s: verdict %d", src, dst, v);
	cr_assert_eq(env_drop(reason), before + 1, "%s -> %s: counted as %s", src, dst,
		     xcgn_drop_name[reason]);
}

/* The reverse-path check let it through (whatever the NAT made of it). */
static int assert_passed(int outside, const char *src, const char *dst)
{
	uint64_t m = env_drop(XCGN_DROP_MARTIAN), r = env_drop(XCGN_DROP_RPF),
		 s = env_drop(XCGN_DROP_SPOOF);
	int v = send_udp(outside, src, dst);

	cr_assert_eq(env_drop(XCGN_DROP_MARTIAN) + env_drop(XCGN_DROP_RPF) +
			     env_drop(XCGN_DROP_SPOOF),
		     m + r + s, "%s -> %s: not refused by the reverse-path check", src, dst);
	return v;
}

TestSuite(rpf, .init = strict_loose, .fini = env_teardown);

Test(rpf, inside_strict)
{
	cr_assert_eq(assert_passed(0, ENV_SUB1, ENV_S1), XDP_REDIRECT, "a subscriber is translated");
	/* 192.0.2.0/24 is reached through vout: a spoof on the inside. */
	assert_dropped(0, "192.0.2.77", ENV_S1, XCGN_DROP_RPF);
	assert_dropped(0, "127.0.0.1", ENV_S1, XCGN_DROP_MARTIAN);
	assert_dropped(0, "224.0.0.5", ENV_S1, XCGN_DROP_MARTIAN);
	assert_dropped(0, "0.1.2.3", ENV_S1, XCGN_DROP_MARTIAN);
	/* This host's own address, accept_local off. */
	assert_dropped(0, "203.0.113.1", ENV_S1, XCGN_DROP_MARTIAN);
	/* The subnet's broadcast address: a broadcast route, no unicast. */
	assert_dropped(0, "100.64.255.255", ENV_S1, XCGN_DROP_MARTIAN);
	cr_assert_eq(env_stat(XCGN_STAT_MAP_NEW), 1, "no state for any refused packet");
}

Test(rpf, outside_loose_and_spoofs)
{
	cr_assert_eq(assert_passed(0, ENV_SUB1, ENV_S1), XDP_REDIRECT);
	/* The reply comes back, loose accepts the internet. */
	assert_passed(1, ENV_S1, "198.51.100.1");
	assert_dropped(1, "100.64.0.9", "198.51.100.1", XCGN_DROP_SPOOF);
	assert_dropped(1, "198.51.100.2", "203.0.113.1", XCGN_DROP_SPOOF);
	/* Pool to pool too: xcgn turns hairpins around itself (issue 10
	 * item 4), so one coming back from the upstream is a spoof. */
	assert_dropped(1, "198.51.100.2", "198.51.100.1", XCGN_DROP_SPOOF);
	assert_dropped(1, "127.0.0.1", "198.51.100.1", XCGN_DROP_MARTIAN);
}

Test(rpf, off_checks_only_martians_and_local_sources)
{
	sync_with(XCGN_RPF_OFF, XCGN_RPF_OFF);
	assert_passed(0, "192.0.2.77", ENV_S1);
	assert_dropped(0, "203.0.113.1", ENV_S1, XCGN_DROP_MARTIAN);
	assert_dropped(0, "127.0.0.1", ENV_S1, XCGN_DROP_MARTIAN);
	cr_assert_eq(system("sysctl -qw net.ipv4.conf.all.accept_local=1"), 0);
	sync_with(XCGN_RPF_OFF, XCGN_RPF_OFF);
	assert_passed(0, "203.0.113.1", ENV_S1);
}

/* Route changes reach the datapath through rpf_sync(). */
Test(rpf, route_changes_followed)
{
	struct rpf_sync_stats st;

	assert_dropped(0, "192.0.2.77", ENV_S1, XCGN_DROP_RPF);
	cr_assert_eq(system("ip route add 192.0.2.64/26 dev vin"), 0);
	cr_assert_eq(rpf_sync(&env.maps, &st, false), 0);
	cr_assert_eq(st.added, 1, "one route added (%zu)", st.added);
	assert_passed(0, "192.0.2.77", ENV_S1);
	cr_assert_eq(system("ip route del 192.0.2.64/26 dev vin"), 0);
	cr_assert_eq(rpf_sync(&env.maps, &st, false), 0);
	cr_assert_eq(st.removed, 1, "one route removed (%zu)", st.removed);
	cr_assert_eq(st.added + st.changed, 0, "nothing else moved");
	assert_dropped(0, "192.0.2.77", ENV_S1, XCGN_DROP_RPF);
}

static struct xcgn_rpf_query explain(struct xcgn_gc *gc, uint32_t ifindex, uint8_t mode,
				     uint16_t flags, const char *src, const char *dst)
{
	struct xcgn_rpf_query q = {
		.dev = { .ifindex = ifindex, .mode = mode, .flags = flags },
		.saddr = ip(src),
		.daddr = ip(dst),
		.sub_prefix = ip("100.64.0.0"),
		.sub_mask = prefix_mask_be(10),
	};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = &q, .data_size_in = sizeof(q), .data_out = &q,
		    .data_size_out = sizeof(q), .repeat = 1);

	cr_assert_eq(bpf_prog_test_run_opts(bpf_program__fd(gc->progs.xcgn_rpf_explain), &o), 0);
	cr_assert_eq(o.retval, XDP_PASS);
	return q;
}

/* The seed case: source == destination == a local address arriving on lo,
 * strict, local sources allowed: accepted, because the local route names
 * vin, not lo. The same packet on a device without the address: dropped. */
Test(rpf, seed_case_loopback_local)
{
	struct xcgn_gc *gc = bpfenv_load_gc(&env);
	struct rpf_fib f;
	const struct rpf_link *lo, *vout;
	struct xcgn_rpf_query q;
	uint16_t fl;
	struct xcgn_rpf_dev d;
	__u32 k = XCGN_RPF_DEV_INSIDE;

	cr_assert(gc, "control programs load");
	cr_assert_eq(system("sysctl -qw net.ipv4.conf.all.accept_local=1"), 0);
	cr_assert_eq(rpf_fib_read(&f), 0);
	lo = rpf_link_by_name(&f, "lo");
	vout = rpf_link_by_name(&f, "vout");
	cr_assert(lo && vout);

	fl = rpf_dev_flags(&f, lo, false);
	cr_assert(fl & XCGN_RPFD_LOOPBACK);
	cr_assert(fl & XCGN_RPFD_ACCEPT_LOCAL);
	q = explain(gc, (uint32_t)lo->ifindex, XCGN_RPF_STRICT, fl, "100.64.0.1", "100.64.0.1");
	cr_assert_eq(q.verdict, XCGN_DROP_NONE, "accepted on lo (rule %s)", xcgn_rpf_why_name[q.why]);
	cr_assert_eq(q.why, XCGN_RPFW_LOOPBACK_LOCAL);
	cr_assert(q.found && q.route.type == 2 && q.route.plen == 32 && q.route.oif[0] == (uint32_t)env.ifin,
		  "matched the local route on vin");

	q = explain(gc, (uint32_t)vout->ifindex, XCGN_RPF_STRICT, rpf_dev_flags(&f, vout, false),
		    "100.64.0.1", "100.64.0.1");
	cr_assert_eq(q.verdict, XCGN_DROP_RPF, "dropped on vout (rule %s)", xcgn_rpf_why_name[q.why]);
	cr_assert_eq(q.why, XCGN_RPFW_OTHER_DEV);

	/* The XDP program itself, its inside entry pointed at lo and then at
	 * vout: the same verdicts. */
	d = (struct xcgn_rpf_dev){ .ifindex = (__u32)lo->ifindex, .mode = XCGN_RPF_STRICT, .flags = fl };
	cr_assert_eq(bpf_map_update_elem(env.maps.rpfdev, &k, &d, 0), 0);
	cr_assert_eq(assert_passed(0, "100.64.0.1", "100.64.0.1"), XDP_PASS);
	d.ifindex = (__u32)vout->ifindex;
	d.flags = rpf_dev_flags(&f, vout, false);
	cr_assert_eq(bpf_map_update_elem(env.maps.rpfdev, &k, &d, 0), 0);
	assert_dropped(0, "100.64.0.1", "100.64.0.1", XCGN_DROP_RPF);

	rpf_fib_free(&f);
	xcgn_gc__destroy(gc);
}

/* Without entries (not synced yet) the check lets everything through:
 * attach syncs before the programs go live. */
Test(rpf, unsynced_checks_nothing, .init = env_setup_default, .fini = env_teardown)
{
	assert_passed(0, "192.0.2.77", ENV_S1);
}

/* A reverse-path table of 16 routes, for the capacity tests. */
static void small_table(void)
{
	bpfenv_rpf_max = 16;
	strict_loose();
	bpfenv_rpf_max = 0;
}

/* A full table: stale routes leave before new ones come, or the update
 * would not fit. */
Test(rpf, full_table_makes_room_first, .init = small_table, .fini = env_teardown)
{
	struct xcgn_rpf_route junk = { .type = 1 };
	struct xcgn_rpf_key k = { .prefixlen = 64, .table = htonl(7) };
	struct rpf_sync_stats st;
	uint32_t i, njunk = 0;

	for (i = 1; i < 64; i++) {
		k.addr = htonl(0x0a000000u + i);
		if (bpf_map_update_elem(env.maps.rpf4, &k, &junk, BPF_NOEXIST))
			break;
		njunk++;
	}
	cr_assert_gt(njunk, 0, "room for junk");
	cr_assert_neq(bpf_map_update_elem(env.maps.rpf4, &k, &junk, BPF_NOEXIST), 0, "table full");
	cr_assert_eq(system("ip route add 192.0.2.64/26 dev vin"), 0);
	cr_assert_eq(rpf_sync(&env.maps, &st, false), 0, "sync fits by removing stale first");
	cr_assert_eq(st.removed, njunk, "junk removed (%zu of %u)", st.removed, njunk);
	cr_assert_eq(st.added, 1);
	assert_passed(0, "192.0.2.77", ENV_S1);
	assert_dropped(0, "198.18.0.1", ENV_S1, XCGN_DROP_RPF);
}

/* More routes than the table holds: the check is suspended (a half FIB
 * would refuse good sources), and comes back once the FIB fits again. */
Test(rpf, too_many_routes_suspend_the_check, .init = small_table, .fini = env_teardown)
{
	char cmd[128];
	int i;

	assert_dropped(0, "198.18.0.1", ENV_S1, XCGN_DROP_RPF);
	for (i = 0; i < 12; i++) {
		snprintf(cmd, sizeof(cmd), "ip route add 198.19.%d.0/24 via 203.0.113.2", i);
		cr_assert_eq(system(cmd), 0);
	}
	cr_assert_eq(rpf_sync(&env.maps, NULL, true), -E2BIG);
	/* Not a subscriber: handed to the stack, no longer refused. */
	i = assert_passed(0, "198.18.0.1", ENV_S1);
	cr_assert_eq(i, XDP_PASS, "suspended: passed (verdict %d)", i);
	/* The rules that need no FIB go on. */
	assert_dropped(0, "127.0.0.1", ENV_S1, XCGN_DROP_MARTIAN);
	assert_dropped(1, "100.64.0.9", "198.51.100.1", XCGN_DROP_SPOOF);
	cr_assert_eq(system("ip route flush root 198.19.0.0/16"), 0);
	cr_assert_eq(rpf_sync(&env.maps, NULL, false), 0);
	assert_dropped(0, "198.18.0.1", ENV_S1, XCGN_DROP_RPF);
}
