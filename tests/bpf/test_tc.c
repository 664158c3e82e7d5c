// SPDX-License-Identifier: GPL-2.0
/* The slow path: tc egress on the outside device translates what the kernel
 * forwarded, with the same core, and lets no subscriber source leave. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <linux/pkt_cls.h>
#include <string.h>

#include "env.h"

static uint8_t in[256], out[256];
static size_t inlen, outlen;

static int tc_run(const struct pkt_spec *s)
{
	inlen = pkt_build(in, sizeof(in), s);
	cr_assert(inlen, "built");
	outlen = sizeof(out);
	return env_run_tc(env.prog_tc, 0, in, inlen, out, &outlen);
}

TestSuite(tc, .init = env_setup_default, .fini = env_teardown);

Test(tc, snat_of_forwarded_packets_all_protocols)
{
	uint8_t protos[] = { 17, 6, 1 };
	unsigned int i;
	char why[128];

	for (i = 0; i < sizeof(protos); i++) {
		struct pkt_spec s = { .proto = protos[i], .sport = 1100, .dport = 80,
				      .payload = 40, .icmp_type = 8 };

		s.saddr = inet_addr(ENV_SUB1);
		s.daddr = inet_addr(ENV_S1);
		cr_assert_eq(tc_run(&s), TC_ACT_OK, "proto %u passes translated", protos[i]);
		cr_assert_eq(pkt_verify(out, outlen, why, sizeof(why)), 0, "proto %u: %s",
			     protos[i], why);
		cr_assert_eq((ntohl(pkt_saddr(out)) & 0xfffffffc), 0xC6336400u,
			     "proto %u: pool source", protos[i]);
		cr_assert_eq(pkt_sport(out), 1100, "proto %u: port kept", protos[i]);
	}
	cr_assert_eq(env_stat(XCGN_STAT_SNAT_TC), 3, "counted");
}

Test(tc, slow_path_and_fast_path_share_mappings)
{
	struct pkt_spec s = { .proto = 17, .sport = 7000, .dport = 53, .payload = 8 };
	uint8_t xout[256];
	size_t xl = sizeof(xout);
	uint32_t pub;
	uint16_t pp;

	s.saddr = inet_addr(ENV_SUB1);
	s.daddr = inet_addr(ENV_S1);
	cr_assert_eq(tc_run(&s), TC_ACT_OK, "first packet through the slow path");
	pub = pkt_saddr(out);
	pp = pkt_sport(out);
	cr_assert_eq(env_run(env.prog_in, env.ifin, in, inlen, xout, &xl), 2 + 2,
		     "next one at XDP (XDP_REDIRECT)");
	cr_assert_eq(pkt_saddr(xout), pub, "same address");
	cr_assert_eq(pkt_sport(xout), pp, "same port");
}

Test(tc, udp_zero_checksum_stays_zero)
{
	struct pkt_spec s = { .proto = 17, .sport = 1100, .dport = 53, .payload = 8 };

	s.saddr = inet_addr(ENV_SUB1);
	s.daddr = inet_addr(ENV_S1);
	s.udp_csum_zero = 1;
	cr_assert_eq(tc_run(&s), TC_ACT_OK, "translated");
	cr_assert_eq(pkt_l4_csum(out), 0, "no checksum stays none");
}

Test(tc, subscriber_source_never_leaves_untranslated)
{
	struct pkt_spec gre = { .proto = 47, .payload = 20 };
	struct pkt_spec frag = { .proto = 17, .sport = 1, .dport = 2, .payload = 8,
				 .frag_off = 0x0010 };	/* a later fragment, no first seen */
	struct pkt_spec err = { .proto = 1, .icmp_type = 3, .payload = 28 };
	struct pkt_spec reply = { .proto = 1, .icmp_type = 0, .sport = 9, .payload = 8 };

	gre.saddr = frag.saddr = err.saddr = reply.saddr = inet_addr(ENV_SUB1);
	gre.daddr = frag.daddr = err.daddr = reply.daddr = inet_addr(ENV_S1);
	cr_assert_eq(tc_run(&gre), TC_ACT_SHOT, "GRE from a subscriber");
	cr_assert_eq(tc_run(&frag), TC_ACT_SHOT, "a fragment from a subscriber");
	cr_assert_eq(tc_run(&err), TC_ACT_SHOT, "an ICMP error quoting garbage");
	cr_assert_eq(tc_run(&reply), TC_ACT_SHOT, "an echo reply from a subscriber");
	cr_assert_eq(env_drop(XCGN_DROP_UNTRANSLATED), 2, "GRE and echo reply: untranslatable");
	cr_assert_eq(env_drop(XCGN_DROP_FRAGMENT), 1, "fragment without its first");
	cr_assert_eq(env_drop(XCGN_DROP_BAD_IP), 1, "ICMP error quoting no IPv4 header");
}

Test(tc, other_sources_pass_untouched)
{
	struct pkt_spec s = { .proto = 6, .sport = 22, .dport = 5555, .payload = 8 };

	s.saddr = inet_addr("203.0.113.1");	/* the host itself */
	s.daddr = inet_addr(ENV_S1);
	cr_assert_eq(tc_run(&s), TC_ACT_OK, "passes");
	cr_assert_eq(memcmp(in, out, inlen), 0, "untouched");
}
