// SPDX-License-Identifier: GPL-2.0
/* The next-hop cache (bpf/lib/nexthop.h, issue 13 item 1): served only
 * while the daemon's word (xcgn_nhctl) holds, each entry only in its own
 * generation, never for a packet longer than its route's MTU; otherwise
 * the FIB answers, as without the cache. The daemon's side (moving the
 * generation on changes, renewing the lease) is tested in the integration
 * suite with real route and neighbour changes. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "env.h"

#define BUF 2048

static uint8_t in[BUF], out[BUF];
static size_t inlen, outlen;

TestSuite(nexthop, .init = env_setup_default, .fini = env_teardown);

/* The daemon's word: @on, a lease of @lease_ms from now (negative: run
 * out), generation @gen. */
static void vouch(int on, int lease_ms, uint32_t gen)
{
	struct xcgn_nhctl c = { .gen = gen, .flags = on ? XCGN_NHF_ON : 0 };
	__u32 zero = 0;

	c.until_ns = (uint64_t)((int64_t)xcgn_mono_ns() + (int64_t)lease_ms * 1000000LL);
	cr_assert_eq(bpf_map_update_elem(env.maps.nhctl, &zero, &c, 0), 0, "xcgn_nhctl");
}

static int out_udp(uint16_t sport, uint16_t payload)
{
	struct pkt_spec s = { .proto = 17, .sport = sport, .dport = 53, .payload = payload };

	s.saddr = ip(ENV_SUB1);
	s.daddr = ip(ENV_S1);
	inlen = pkt_build(in, sizeof(in), &s);
	cr_assert(inlen, "built");
	outlen = sizeof(out);
	return env_run(env.prog_in, env.ifin, in, inlen, out, &outlen);
}

static void assert_to_gateway(const char *mac, const char *what)
{
	uint8_t m[6];

	cr_assert_eq(sscanf(mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2], &m[3], &m[4],
			    &m[5]),
		     6);
	cr_assert_eq(memcmp(out, m, 6), 0, "%s: to %s", what, mac);
}

Test(nexthop, off_without_the_daemons_word)
{
	cr_assert_eq(out_udp(3000, 24), XDP_REDIRECT, "forwarded");
	cr_assert_eq(out_udp(3000, 24), XDP_REDIRECT, "forwarded");
	cr_assert_eq(env_stat(XCGN_STAT_NH_HIT) + env_stat(XCGN_STAT_NH_FILL), 0,
		     "xcgn_nhctl zero (no daemon ever vouched): the FIB every time");
	vouch(1, -10, 1);
	cr_assert_eq(out_udp(3000, 24), XDP_REDIRECT, "forwarded");
	cr_assert_eq(env_stat(XCGN_STAT_NH_HIT) + env_stat(XCGN_STAT_NH_FILL), 0,
		     "a lease run out: the FIB");
	vouch(0, 10000, 1);
	cr_assert_eq(out_udp(3000, 24), XDP_REDIRECT, "forwarded");
	cr_assert_eq(env_stat(XCGN_STAT_NH_HIT) + env_stat(XCGN_STAT_NH_FILL), 0,
		     "a FIB a destination alone does not decide: the FIB");
}

Test(nexthop, kept_served_and_dropped_with_its_generation)
{
	struct pkt_spec r = { .proto = 17, .sport = 53, .payload = 24 };
	struct xcgn_nh_key k = { .ifin = (__u32)env.ifin };
	struct xcgn_nh e;
	uint32_t pub;
	uint16_t pport;

	vouch(1, 10000, 7);
	cr_assert_eq(out_udp(3000, 24), XDP_REDIRECT, "first packet");
	cr_assert_eq(env_stat(XCGN_STAT_NH_FILL), 1, "the FIB's answer kept");
	k.dst = ip(ENV_S1);
	cr_assert_eq(bpf_map_lookup_elem(bpf_map__fd(env.skel->maps.xcgn_nh), &k, &e), 0, "entry");
	cr_assert_eq(e.gen, 7, "made in generation 7");
	cr_assert_eq(e.ifindex, (uint32_t)env.ifout, "leaves by the outside");
	cr_assert_eq(e.mtu, 1500, "the route's MTU, learned");
	pub = pkt_saddr(out);
	pport = pkt_sport(out);
	cr_assert_eq(out_udp(3000, 24), XDP_REDIRECT, "second packet");
	cr_assert_eq(env_stat(XCGN_STAT_NH_HIT), 1, "served from the cache");
	assert_to_gateway(ENV_GW_MAC, "cached");

	/* The route moves to another gateway: the cache does not know until
	 * the daemon, hearing of it, moves the generation. */
	cr_assert_eq(system("ip neigh add 203.0.113.3 lladdr 02:00:00:00:00:44 dev vout nud permanent"
			    " && ip route replace 192.0.2.0/24 via 203.0.113.3"),
		     0);
	vouch(1, 10000, 8);
	cr_assert_eq(out_udp(3000, 24), XDP_REDIRECT, "after the change");
	cr_assert_eq(env_stat(XCGN_STAT_NH_HIT), 1, "generation 7's entry is dead");
	cr_assert_eq(env_stat(XCGN_STAT_NH_FILL), 2, "the FIB asked again, its answer kept");
	assert_to_gateway("02:00:00:00:00:44", "the new route");
	cr_assert_eq(out_udp(3000, 24), XDP_REDIRECT, "and again");
	cr_assert_eq(env_stat(XCGN_STAT_NH_HIT), 2, "served");
	assert_to_gateway("02:00:00:00:00:44", "the new route, cached");

	/* Longer than the route's MTU: the FIB's answer (fragmentation
	 * needed: the kernel's business), not the cache's. */
	cr_assert_eq(out_udp(3000, 1500), XDP_PASS, "1528 bytes over a 1500-byte route: the kernel");
	cr_assert_eq(env_stat(XCGN_STAT_NH_HIT), 2, "not from the cache");
	cr_assert_eq(env_stat(XCGN_STAT_PASS), 1, "passed to the kernel");

	/* The other way: the reply's next hop, the subscriber's. */
	r.saddr = ip(ENV_S1);
	r.daddr = pub;
	r.dport = pport;
	inlen = pkt_build(in, sizeof(in), &r);
	outlen = sizeof(out);
	cr_assert_eq(env_run(env.prog_out, env.ifout, in, inlen, out, &outlen), XDP_REDIRECT, "in");
	outlen = sizeof(out);
	cr_assert_eq(env_run(env.prog_out, env.ifout, in, inlen, out, &outlen), XDP_REDIRECT, "in");
	cr_assert_eq(env_stat(XCGN_STAT_NH_HIT), 3, "the reply's next hop served too");
	cr_assert_eq(pkt_daddr(out), ip(ENV_SUB1), "to the subscriber");
	assert_to_gateway(ENV_SUB_MAC, "the subscriber's MAC");
}

/* A FIB that cannot answer (no route) is never cached: the next packet
 * asks again. */
Test(nexthop, no_answer_no_entry)
{
	vouch(1, 10000, 1);
	cr_assert_eq(system("ip route del default"), 0);
	cr_assert_eq(out_udp(3000, 24), XDP_PASS, "no route: the kernel's business");
	cr_assert_eq(env_stat(XCGN_STAT_NH_FILL), 0, "nothing kept");
	cr_assert_eq(system("ip route add default via 203.0.113.2"), 0);
	cr_assert_eq(out_udp(3000, 24), XDP_REDIRECT, "a route again: forwarded");
	cr_assert_eq(env_stat(XCGN_STAT_NH_FILL), 1, "kept now");
}

/* The MTU kept is the route's to the destination (here locked lower on the
 * gateway route), not the device's nor the gateway's own route's: a packet
 * over it gets the FIB's answer (fragmentation needed: the kernel's). */
Test(nexthop, the_routes_mtu_not_the_devices)
{
	struct xcgn_nh_key k = { .ifin = (__u32)env.ifin };
	struct xcgn_nh e;

	cr_assert_eq(system("ip route replace 192.0.2.0/24 via 203.0.113.2 mtu lock 1400"), 0);
	vouch(1, 10000, 3);
	cr_assert_eq(out_udp(3000, 24), XDP_REDIRECT, "forwarded");
	k.dst = ip(ENV_S1);
	cr_assert_eq(bpf_map_lookup_elem(bpf_map__fd(env.skel->maps.xcgn_nh), &k, &e), 0, "entry");
	cr_assert_eq(e.mtu, 1400, "the route's MTU (%u)", e.mtu);
	cr_assert_eq(e.key.dst, k.dst, "the entry names its key");
	cr_assert_eq(out_udp(3000, 1400 - 28), XDP_REDIRECT, "1400 bytes: cached");
	cr_assert_eq(env_stat(XCGN_STAT_NH_HIT), 1, "served");
	cr_assert_eq(out_udp(3000, 1400 - 27), XDP_PASS, "1401 bytes: the kernel's");
	cr_assert_eq(env_stat(XCGN_STAT_NH_HIT), 1, "not served");
}
