// SPDX-License-Identifier: GPL-2.0
/* Single-packet cases as a table: a packet, the program it meets, and what
 * must follow (the verdict, the drop reason or counter that moved, the
 * tables' change, whether the packet left untouched). Each row runs in a
 * fresh environment (a parameterized test), so rows do not lean on one
 * another; what needs a sequence of packets stays in test_xdp.c. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <string.h>

#include "env.h"

#define BUF 512
#define NONE (-1)	/* no drop reason or counter to check */

enum where { IN_XDP, OUT_XDP, TC_EGRESS };

/* What is done to the built packet before it runs. */
enum tweak {
	T_NONE,
	T_BAD_IP_CSUM,		/* the IPv4 header checksum flipped */
	T_UDP_LEN_PAST,		/* the UDP length past the datagram */
};

/* Arrays, not pointers: Criterion hands each row to a new process, where
 * the table's pointers would point nowhere. */
struct pkt_case {
	char name[48];
	enum where at;
	uint8_t proto;
	char src[16], dst[16];
	uint16_t sport, dport;
	uint8_t icmp_type, ttl, vlan;
	uint16_t payload, ethertype;
	enum tweak tweak;
	int verdict;
	int drop;		/* XCGN_DROP_* counted once, or NONE */
	int stat;		/* XCGN_STAT_* counted once, or NONE */
	int untouched;		/* the packet left as it came */
	unsigned int mappings;	/* mappings afterwards */
};

static struct pkt_case cases[] = {
	/* Not ours: passed, untouched, no state. */
	{ "gre_passes", IN_XDP, 47, ENV_SUB1, ENV_S1, .verdict = XDP_PASS, .drop = NONE,
	  .stat = XCGN_STAT_PASS, .untouched = 1 },
	{ "ipv6_passes", IN_XDP, 17, ENV_SUB1, ENV_S1, 1, 1, .ethertype = 0x86DD,
	  .verdict = XDP_PASS, .drop = NONE, .stat = XCGN_STAT_PASS, .untouched = 1 },
	{ "to_the_host_passes", IN_XDP, 17, ENV_SUB1, "100.64.0.1", 1600, 53,
	  .verdict = XDP_PASS, .drop = NONE, .stat = XCGN_STAT_PASS, .untouched = 1 },
	{ "subscriber_to_subscriber_passes", IN_XDP, 17, ENV_SUB1, ENV_SUB2, 1600, 53,
	  .verdict = XDP_PASS, .drop = NONE, .stat = XCGN_STAT_PASS, .untouched = 1 },
	{ "not_a_subscriber_passes", IN_XDP, 17, "192.0.2.7", ENV_S1, 1600, 53,
	  .verdict = XDP_PASS, .drop = NONE, .stat = XCGN_STAT_PASS, .untouched = 1 },
	{ "echo_reply_outwards_passes", IN_XDP, 1, ENV_SUB1, ENV_S1, 7, 7, .icmp_type = 0,
	  .verdict = XDP_PASS, .drop = NONE, .stat = XCGN_STAT_PASS, .untouched = 1 },
	{ "outside_to_the_host_passes", OUT_XDP, 6, ENV_S1, "203.0.113.1", 443, 5555,
	  .verdict = XDP_PASS, .drop = NONE, .stat = XCGN_STAT_PASS, .untouched = 1 },

	/* The kernel's business first: untranslated to the slow path. */
	{ "vlan_tagged_to_the_slow_path", IN_XDP, 17, ENV_SUB1, ENV_S1, 1800, 53, .vlan = 1,
	  .verdict = XDP_PASS, .drop = NONE, .stat = XCGN_STAT_SLOW_OUT, .untouched = 1 },
	{ "ttl_expiring_to_the_kernel", IN_XDP, 17, ENV_SUB1, ENV_S1, 1900, 53, .ttl = 1,
	  .verdict = XDP_PASS, .drop = NONE, .stat = XCGN_STAT_SLOW_OUT, .untouched = 1 },
	{ "no_neighbour_to_the_slow_path", IN_XDP, 17, ENV_SUB1, "203.0.113.77", 1950, 53,
	  .verdict = XDP_PASS, .drop = NONE, .stat = XCGN_STAT_SLOW_OUT, .untouched = 1 },

	/* Bad or unwanted: dropped, counted, no state. */
	{ "bad_ip_header_checksum", IN_XDP, 17, ENV_SUB1, ENV_S1, 1500, 53,
	  .tweak = T_BAD_IP_CSUM, .verdict = XDP_DROP, .drop = XCGN_DROP_BAD_IP_CSUM,
	  .stat = NONE },
	{ "udp_length_past_the_datagram", IN_XDP, 17, ENV_SUB1, ENV_S1, 1500, 53,
	  .tweak = T_UDP_LEN_PAST, .verdict = XDP_DROP, .drop = XCGN_DROP_BAD_L4, .stat = NONE },
	{ "icmp_error_quoting_garbage", OUT_XDP, 1, ENV_S1, "198.51.100.1", .icmp_type = 3,
	  .payload = 28, .verdict = XDP_DROP, .drop = XCGN_DROP_BAD_IP, .stat = NONE },
	{ "unsolicited_udp", OUT_XDP, 17, ENV_S1, "198.51.100.2", 53, 4444,
	  .verdict = XDP_DROP, .drop = XCGN_DROP_NO_MAPPING, .stat = NONE },
	{ "unsolicited_tcp", OUT_XDP, 6, ENV_S1, "198.51.100.2", 53, 22,
	  .verdict = XDP_DROP, .drop = XCGN_DROP_NO_MAPPING, .stat = NONE },
	{ "echo_request_to_a_pool_address", OUT_XDP, 1, ENV_S1, "198.51.100.2", 9, 9,
	  .icmp_type = 8, .verdict = XDP_DROP, .drop = XCGN_DROP_NO_MAPPING, .stat = NONE },
	{ "hairpin_to_an_unmapped_public_port", IN_XDP, 17, ENV_SUB2, "198.51.100.1", 1200,
	  4444, .verdict = XDP_DROP, .drop = XCGN_DROP_NO_MAPPING, .stat = NONE,
	  .mappings = 2 /* subscriber 1's, and the sender's: it did send */ },
	{ "hairpin_to_an_unmapped_public_port_in_tc", TC_EGRESS, 17, ENV_SUB2, "198.51.100.1",
	  1200, 4444, .verdict = TC_ACT_SHOT, .drop = XCGN_DROP_NO_MAPPING, .stat = NONE,
	  .mappings = 2 },
	{ "echo_request_to_a_pool_address_from_inside", IN_XDP, 1, ENV_SUB2, "198.51.100.1", 9,
	  9, .icmp_type = 8, .verdict = XDP_DROP, .drop = XCGN_DROP_NO_MAPPING, .stat = NONE },
	{ "pool_source_from_the_internet", OUT_XDP, 17, "198.51.100.2", "198.51.100.1", 53,
	  4444, .verdict = XDP_DROP, .drop = XCGN_DROP_SPOOF, .stat = NONE },
	{ "subscriber_source_from_the_internet", OUT_XDP, 17, ENV_SUB1, "198.51.100.1", 53,
	  4444, .verdict = XDP_DROP, .drop = XCGN_DROP_SPOOF, .stat = NONE },

	/* Translated. */
	{ "udp_out", IN_XDP, 17, ENV_SUB1, ENV_S1, 2000, 53, .verdict = XDP_REDIRECT,
	  .drop = NONE, .stat = XCGN_STAT_SNAT_XDP, .mappings = 1 },
	{ "udp_out_in_tc", TC_EGRESS, 17, ENV_SUB1, ENV_S1, 2000, 53, .verdict = TC_ACT_OK,
	  .drop = NONE, .stat = XCGN_STAT_SNAT_TC, .mappings = 1 },
};

ParameterizedTestParameters(cases, packet)
{
	return cr_make_param_array(struct pkt_case, cases, sizeof(cases) / sizeof(cases[0]));
}

static void tweak(uint8_t *f, enum tweak t)
{
	switch (t) {
	case T_NONE:
		break;
	case T_BAD_IP_CSUM:
		f[pkt_l3_off(f) + 10] ^= 0x55;
		break;
	case T_UDP_LEN_PAST:
		f[pkt_l4_off(f) + 4] = 0x7f;
		break;
	}
}

ParameterizedTest(struct pkt_case *c, cases, packet, .init = env_setup_default,
		  .fini = env_teardown)
{
	struct pkt_spec s = { .proto = c->proto, .sport = c->sport, .dport = c->dport,
			      .icmp_type = c->icmp_type, .ttl = c->ttl, .vlan = c->vlan,
			      .payload = c->payload ? c->payload : 24,
			      .ethertype = c->ethertype };
	uint8_t in[BUF], out[BUF];
	size_t inlen, outlen = sizeof(out);
	unsigned int i;
	int v;

	/* A subscriber-1 mapping to hairpin to (or not) comes first. */
	if (c->mappings && strstr(c->name, "hairpin")) {
		struct pkt_spec a = { .proto = 17, .sport = 1100, .dport = 53, .payload = 24 };

		a.saddr = ip(ENV_SUB1);
		a.daddr = ip(ENV_S1);
		inlen = pkt_build(in, sizeof(in), &a);
		cr_assert_eq(env_run(env.prog_in, env.ifin, in, inlen, out, &outlen), XDP_REDIRECT,
			     "%s: subscriber 1's mapping", c->name);
		outlen = sizeof(out);
	}
	s.saddr = ip(c->src);
	s.daddr = ip(c->dst);
	inlen = pkt_build(in, sizeof(in), &s);
	cr_assert(inlen, "%s: built", c->name);
	tweak(in, c->tweak);
	switch (c->at) {
	case IN_XDP:
		v = env_run(env.prog_in, env.ifin, in, inlen, out, &outlen);
		break;
	case OUT_XDP:
		v = env_run(env.prog_out, env.ifout, in, inlen, out, &outlen);
		break;
	default:
		v = env_run_tc(env.prog_tc, 0, in, inlen, out, &outlen);
		break;
	}
	cr_assert_eq(v, c->verdict, "%s: verdict %d, not %d", c->name, v, c->verdict);
	if (c->drop != NONE)
		cr_assert_eq(env_drop(c->drop), 1, "%s: drop reason %d counted once", c->name,
			     c->drop);
	for (i = 1; i < XCGN_DROP_MAX; i++)
		if ((int)i != c->drop)
			cr_assert_eq(env_drop((int)i), 0, "%s: no other drop reason (%u)", c->name, i);
	if (c->stat != NONE)
		cr_assert_eq(env_stat(c->stat), 1, "%s: counter %d moved once", c->name, c->stat);
	if (c->untouched) {
		cr_assert_eq(outlen, inlen, "%s: same length", c->name);
		cr_assert_eq(memcmp(out, in, inlen), 0, "%s: untouched", c->name);
	}
	cr_assert_eq(env_count(env.maps.map4), c->mappings, "%s: %u mappings, not %u", c->name,
		     env_count(env.maps.map4), c->mappings);
	if (!c->mappings)
		cr_assert_eq(env_count(env.maps.subs), 0, "%s: no subscriber", c->name);
}
