// SPDX-License-Identifier: GPL-2.0
/* The datapath through BPF_PROG_TEST_RUN: verdicts, output bytes (checksums
 * recomputed independently), counters and map contents. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <string.h>

#include <bpf/bpf.h>

#include "env.h"
#include "xcgn_csum.h"

#define BUF 512

static uint8_t in[BUF], out[BUF];
static size_t inlen, outlen;

static struct pkt_spec spec(uint8_t proto, const char *src, uint16_t sport, const char *dst,
			    uint16_t dport)
{
	struct pkt_spec s = { .proto = proto, .sport = sport, .dport = dport, .payload = 24 };

	s.saddr = ip(src);
	s.daddr = ip(dst);
	if (proto == 1)
		s.icmp_type = 8;
	return s;
}

static int run_spec(int prog, int ifindex, const struct pkt_spec *s)
{
	inlen = pkt_build(in, sizeof(in), s);
	cr_assert(inlen, "packet built");
	outlen = sizeof(out);
	return env_run(prog, ifindex, in, inlen, out, &outlen);
}

static int outbound(const struct pkt_spec *s)
{
	return run_spec(env.prog_in, env.ifin, s);
}

static int inbound(const struct pkt_spec *s)
{
	return run_spec(env.prog_out, env.ifout, s);
}

static void assert_csums(const char *what)
{
	char why[128];

	cr_assert_eq(pkt_verify(out, outlen, why, sizeof(why)), 0, "%s: %s", what, why);
}

static int in_pool(uint32_t a)
{
	return (ntohl(a) & 0xfffffffc) == 0xC6336400;	/* 198.51.100.0/30 */
}

TestSuite(xdp, .init = env_setup_default, .fini = env_teardown);

/* Out and back for one protocol: SNAT at the inside, DNAT of the reply. */
static void round_trip(uint8_t proto)
{
	struct pkt_spec s = spec(proto, ENV_SUB1, 1100, ENV_S1, 53), r;
	uint32_t pub;
	uint16_t pport;
	int v;

	v = outbound(&s);
	cr_assert_eq(v, XDP_REDIRECT, "outbound %u: verdict %d", proto, v);
	assert_csums("outbound");
	pub = pkt_saddr(out);
	pport = pkt_sport(out);
	cr_assert(in_pool(pub), "source is a pool address");
	cr_assert_eq(pkt_daddr(out), ip(ENV_S1), "destination untouched");
	cr_assert_eq(pport, 1100, "port 1100 lies in the first block (1024-1535) and is kept");
	cr_assert_eq(out[pkt_l3_off(out) + 8], 63, "TTL decremented");
	cr_assert_eq(memcmp(out, "\x02\x00\x00\x00\x00\x22", 6), 0, "next hop's MAC");
	cr_assert_eq(env_stat(XCGN_STAT_MAP_NEW), 1, "one mapping created");

	r = spec(proto, ENV_S1, 53, "0.0.0.0", pport);
	r.daddr = pub;
	if (proto == 1) {
		r.icmp_type = 0;
		r.sport = pport;
	}
	v = inbound(&r);
	cr_assert_eq(v, XDP_REDIRECT, "inbound %u: verdict %d", proto, v);
	assert_csums("inbound");
	cr_assert_eq(pkt_daddr(out), ip(ENV_SUB1), "destination back to the subscriber");
	cr_assert_eq(pkt_dport(out), 1100, "port back to the subscriber's");
	cr_assert_eq(pkt_saddr(out), ip(ENV_S1), "source untouched");
	cr_assert_eq(memcmp(out, "\x02\x00\x00\x00\x00\x33", 6), 0, "subscriber's MAC");
	cr_assert_eq(env_stat(XCGN_STAT_REDIRECT_IN), 1, "redirected in");
}

Test(xdp, udp_round_trip)
{
	round_trip(17);
}

Test(xdp, tcp_round_trip)
{
	round_trip(6);
}

Test(xdp, icmp_echo_round_trip)
{
	round_trip(1);
}

Test(xdp, eim_same_mapping_for_two_servers)
{
	struct pkt_spec a = spec(17, ENV_SUB1, 40000, ENV_S1, 3478);
	struct pkt_spec b = spec(17, ENV_SUB1, 40000, ENV_S2, 3478);
	uint32_t pa;
	uint16_t pp;

	cr_assert_eq(outbound(&a), XDP_REDIRECT, "to S1");
	pa = pkt_saddr(out);
	pp = pkt_sport(out);
	cr_assert_eq(outbound(&b), XDP_REDIRECT, "to S2");
	cr_assert_eq(pkt_saddr(out), pa, "same public address for S2");
	cr_assert_eq(pkt_sport(out), pp, "same public port for S2");
	cr_assert_eq(env_count(env.maps.map4), 1, "one mapping, not one per destination");
}

Test(xdp, paired_pooling_across_protocols)
{
	uint8_t protos[] = { 17, 6, 1, 17, 6 };
	uint32_t first = 0;
	unsigned int i;

	for (i = 0; i < sizeof(protos); i++) {
		struct pkt_spec s = spec(protos[i], ENV_SUB1, (uint16_t)(2000 + i), ENV_S1, 80);

		cr_assert_eq(outbound(&s), XDP_REDIRECT, "flow %u", i);
		if (!first)
			first = pkt_saddr(out);
		cr_assert_eq(pkt_saddr(out), first, "flow %u on the same pool address", i);
	}
}

Test(xdp, udp_zero_checksum_stays_zero_both_ways)
{
	struct pkt_spec s = spec(17, ENV_SUB1, 1200, ENV_S1, 53), r;

	s.udp_csum_zero = 1;
	cr_assert_eq(outbound(&s), XDP_REDIRECT, "out");
	cr_assert_eq(pkt_l4_csum(out), 0, "no checksum stays none outbound");
	assert_csums("outbound IP header");
	r = spec(17, ENV_S1, 53, ENV_S1, pkt_sport(out));
	r.daddr = pkt_saddr(out);
	r.udp_csum_zero = 1;
	cr_assert_eq(inbound(&r), XDP_REDIRECT, "in");
	cr_assert_eq(pkt_l4_csum(out), 0, "no checksum stays none inbound");
}

/* Issue 10 item 6: a datagram with IP options goes to the kernel, which
 * applies its own rules to them (a source route refused, a record route
 * filled in); the tc programs translate what it forwards, reading the
 * ports at ihl * 4. */
Test(xdp, ipv4_options_go_to_the_kernel_and_tc_translates)
{
	struct pkt_spec s = spec(6, ENV_SUB1, 1300, ENV_S1, 443);
	uint32_t pub;
	uint16_t pport;

	s.opt_words = 3;
	cr_assert_eq(outbound(&s), XDP_PASS, "out: to the kernel");
	cr_assert_eq(memcmp(out, in, inlen), 0, "untouched");
	cr_assert_eq(env_stat(XCGN_STAT_SLOW_OUT), 1, "counted as the slow path");
	cr_assert_eq(env_count(env.maps.map4), 0, "no mapping at XDP");
	outlen = sizeof(out);
	cr_assert_eq(env_run_tc(env.prog_tc, 0, in, inlen, out, &outlen), TC_ACT_OK,
		     "tc egress translates what the kernel forwards");
	assert_csums("with options, tc egress");
	cr_assert(in_pool(pkt_saddr(out)), "translated");
	cr_assert_eq(pkt_sport(out), 1300, "port read at ihl*4, kept");
	pub = pkt_saddr(out);
	pport = pkt_sport(out);

	/* The answer, with options too: XDP passes it, tc ingress translates. */
	s = spec(6, ENV_S1, 443, "0.0.0.0", pport);
	s.daddr = pub;
	s.opt_words = 1;
	cr_assert_eq(inbound(&s), XDP_PASS, "in: to the kernel");
	cr_assert_eq(memcmp(out, in, inlen), 0, "untouched at XDP");
	outlen = sizeof(out);
	cr_assert_eq(env_run_tc(env.prog_tc_in, env.ifout, in, inlen, out, &outlen), TC_ACT_OK,
		     "tc ingress translates");
	assert_csums("with options, tc ingress");
	cr_assert_eq(pkt_daddr(out), ip(ENV_SUB1), "to the subscriber");
	cr_assert_eq(pkt_dport(out), 1300, "its port");
	cr_assert_eq(env_stat(XCGN_STAT_DNAT_TC), 1, "counted");
}

/* Truncate a valid frame at every length from the Ethernet header on: it
 * is never translated, never creates state, and is counted. */
static void truncation(uint8_t proto, int inside)
{
	struct pkt_spec s = inside ? spec(proto, ENV_SUB1, 1400, ENV_S1, 53)
				   : spec(proto, ENV_S1, 53, "198.51.100.1", 1400);
	uint8_t full[BUF];
	size_t flen, l;

	if (proto == 1 && !inside)
		s.icmp_type = 0;
	flen = pkt_build(full, sizeof(full), &s);
	for (l = 14; l < flen; l++) {
		int v;

		outlen = sizeof(out);
		v = env_run(inside ? env.prog_in : env.prog_out, inside ? env.ifin : env.ifout,
			    full, l, out, &outlen);
		cr_assert_eq(v, XDP_DROP, "proto %u cut at %zu of %zu: verdict %d", proto, l, flen,
			     v);
		cr_assert_eq(memcmp(out, full, l), 0, "cut at %zu: untouched", l);
	}
	cr_assert_eq(env_count(env.maps.map4), 0, "no mapping from a truncated packet");
	cr_assert_eq(env_count(env.maps.subs), 0, "no subscriber from a truncated packet");
	cr_assert_eq(env_drop(XCGN_DROP_TRUNCATED), flen - 14, "every cut counted as truncated");
}

Test(xdp, truncated_tcp_inside)
{
	truncation(6, 1);
}

Test(xdp, truncated_udp_inside)
{
	truncation(17, 1);
}

Test(xdp, truncated_icmp_inside)
{
	truncation(1, 1);
}

Test(xdp, truncated_udp_outside)
{
	truncation(17, 0);
}

/* Within the pools' range but no pool's (a gap between two pools): not
 * ours, whatever the packet. The established path looks the reverse
 * mapping up before the public-address index (issue 13 item 2); the index
 * still decides, before anything is refused, what is not ours. */
Test(xdp, a_gap_between_pools_is_not_ours)
{
	struct pool_opts second = bpfenv_pool("198.51.100.8", 30, 1024, 65535, 512, 4);
	struct pkt_spec s = spec(17, ENV_S1, 53, "198.51.100.5", 4444);

	cr_assert_eq(pool_add(&env.maps, &second), 0, "a second pool, leaving a gap");
	cr_assert_eq(inbound(&s), XDP_PASS, "unsolicited, to the gap: the host's business");
	cr_assert_eq(memcmp(out, in, inlen), 0, "untouched");
	inlen = pkt_build(in, sizeof(in), &s);
	in[pkt_l4_off(in) + 4] = 0x7f;	/* UDP length past the datagram */
	outlen = sizeof(out);
	cr_assert_eq(env_run(env.prog_out, env.ifout, in, inlen, out, &outlen), XDP_PASS,
		     "malformed, to the gap: the kernel's too");
	cr_assert_eq(env_drop(XCGN_DROP_BAD_L4) + env_drop(XCGN_DROP_NO_MAPPING), 0,
		     "nothing refused");
	cr_assert_eq(env_stat(XCGN_STAT_PASS), 2, "both passed");
	s.daddr = ip("198.51.100.9");
	cr_assert_eq(inbound(&s), XDP_DROP, "unsolicited, to the second pool: refused");
	cr_assert_eq(env_drop(XCGN_DROP_NO_MAPPING), 1, "counted");
}

/* Build fragment @off (in 8-byte units) of a UDP datagram of @total bytes;
 * the first carries the UDP header with the whole datagram's length. */
static size_t frag(uint8_t *f, const char *src, uint16_t sport, const char *dst, uint16_t dport,
		   uint16_t id, uint16_t off, int more, uint16_t total)
{
	struct pkt_spec s = spec(17, src, sport, dst, dport);
	size_t len, l3;

	s.payload = 32;
	s.frag_off = (uint16_t)((more ? 0x2000 : 0) | off);
	if (off)
		s.proto = 99;	/* build a bare payload, then call it UDP */
	len = pkt_build(f, BUF, &s);
	l3 = pkt_l3_off(f);
	f[l3 + 4] = (uint8_t)(id >> 8);
	f[l3 + 5] = (uint8_t)id;
	f[l3 + 9] = 17;
	if (!off) {
		f[pkt_l4_off(f) + 4] = (uint8_t)(total >> 8);
		f[pkt_l4_off(f) + 5] = (uint8_t)total;
	}
	f[l3 + 10] = f[l3 + 11] = 0;
	{
		uint16_t c = pkt_csum(f + l3, 20, 0);

		f[l3 + 10] = (uint8_t)(c >> 8);
		f[l3 + 11] = (uint8_t)c;
	}
	return len;
}

static int run_frame(int prog, int ifindex, size_t len)
{
	inlen = len;
	outlen = sizeof(out);
	return env_run(prog, ifindex, in, inlen, out, &outlen);
}

/* RFC 4787 REQ-14: a fragmented datagram goes through both ways; the later
 * fragments follow the first. */
Test(xdp, fragmented_udp_both_ways)
{
	char pubs[INET_ADDRSTRLEN];
	uint32_t pub;
	uint16_t pport;

	cr_assert_eq(run_frame(env.prog_in, env.ifin,
			       frag(in, ENV_SUB1, 1100, ENV_S1, 53, 0x4242, 0, 1, 80)),
		     XDP_REDIRECT, "first fragment out");
	assert_csums("first fragment");
	pub = pkt_saddr(out);
	pport = pkt_sport(out);
	cr_assert(in_pool(pub), "translated");
	cr_assert_eq(run_frame(env.prog_in, env.ifin,
			       frag(in, ENV_SUB1, 0, ENV_S1, 0, 0x4242, 5, 0, 80)),
		     XDP_REDIRECT, "last fragment out");
	assert_csums("last fragment");
	cr_assert_eq(pkt_saddr(out), pub, "follows its first fragment");
	cr_assert_eq(memcmp(out + pkt_l3_off(out) + 20, in + pkt_l3_off(in) + 20, 32), 0,
		     "payload untouched");

	inet_ntop(AF_INET, &pub, pubs, sizeof(pubs));
	cr_assert_eq(run_frame(env.prog_out, env.ifout,
			       frag(in, ENV_S1, 53, pubs, pport, 0x5151, 0, 1, 80)),
		     XDP_REDIRECT, "first fragment in");
	assert_csums("first fragment in");
	cr_assert_eq(pkt_daddr(out), ip(ENV_SUB1), "to the subscriber");
	cr_assert_eq(pkt_dport(out), 1100, "its port");
	cr_assert_eq(run_frame(env.prog_out, env.ifout,
			       frag(in, ENV_S1, 0, pubs, 0, 0x5151, 5, 0, 80)),
		     XDP_REDIRECT, "last fragment in");
	assert_csums("last fragment in");
	cr_assert_eq(pkt_daddr(out), ip(ENV_SUB1), "follows its first fragment");
	cr_assert_eq(env_stat(XCGN_STAT_FRAG), 2, "counted both ways");
}

Test(xdp, later_fragment_without_its_first)
{
	/* From a subscriber nobody knows: no address to give it. */
	cr_assert_eq(run_frame(env.prog_in, env.ifin,
			       frag(in, ENV_SUB1, 0, ENV_S1, 0, 0x7777, 5, 0, 80)),
		     XDP_DROP, "inside: nothing to follow");
	cr_assert_eq(env_drop(XCGN_DROP_FRAGMENT), 1, "counted");
	/* From the internet: up to tc, which holds it for its first. */
	cr_assert_eq(run_frame(env.prog_out, env.ifout,
			       frag(in, ENV_S1, 0, "198.51.100.1", 0, 0x7777, 5, 0, 80)),
		     XDP_PASS, "outside: up to tc ingress");
	outlen = sizeof(out);
	cr_assert_eq(env_run_tc(env.prog_tc_in, env.ifout, in, inlen, out, &outlen), TC_ACT_SHOT,
		     "held");
	cr_assert_eq(env_stat(XCGN_STAT_FRAG_HELD), 1, "counted as held");
	cr_assert_eq(env_count(bpf_map__fd(env.skel->maps.xcgn_fragq)), 1, "in the queue");
	cr_assert_eq(env_count(env.maps.map4), 0, "no mapping");
}

/* RFC 4787 REQ-14, out of order: from a known subscriber a later fragment
 * needs only its subscriber's address; from the internet it waits in tc
 * ingress and goes on, translated, after its first fragment. */
Test(xdp, fragments_out_of_order_both_ways)
{
	struct pkt_spec s = spec(17, ENV_SUB1, 1100, ENV_S1, 53);
	char pubs[INET_ADDRSTRLEN];
	uint32_t pub;
	uint16_t pport;
	int i;

	cr_assert_eq(outbound(&s), XDP_REDIRECT, "the subscriber is known");
	pub = pkt_saddr(out);
	pport = pkt_sport(out);
	cr_assert_eq(run_frame(env.prog_in, env.ifin,
			       frag(in, ENV_SUB1, 0, ENV_S1, 0, 0x6161, 5, 0, 80)),
		     XDP_REDIRECT, "last fragment out, first");
	assert_csums("last fragment");
	cr_assert_eq(pkt_saddr(out), pub, "the subscriber's public address");
	cr_assert_eq(run_frame(env.prog_in, env.ifin,
			       frag(in, ENV_SUB1, 1100, ENV_S1, 53, 0x6161, 0, 1, 80)),
		     XDP_REDIRECT, "first fragment out, last");
	cr_assert_eq(pkt_saddr(out), pub);
	cr_assert_eq(pkt_sport(out), pport);

	inet_ntop(AF_INET, &pub, pubs, sizeof(pubs));
	for (i = 0; i < 2; i++) {
		cr_assert_eq(run_frame(env.prog_out, env.ifout,
				       frag(in, ENV_S1, 0, pubs, 0, 0x7171, (uint16_t)(5 + 4 * i),
					    i == 0, 80)),
			     XDP_PASS, "later fragment %d in, before the first: up to tc", i);
		outlen = sizeof(out);
		cr_assert_eq(env_run_tc(env.prog_tc_in, env.ifout, in, inlen, out, &outlen),
			     TC_ACT_SHOT, "held");
	}
	cr_assert_eq(env_stat(XCGN_STAT_FRAG_HELD), 2);
	cr_assert_eq(run_frame(env.prog_out, env.ifout,
			       frag(in, ENV_S1, 53, pubs, pport, 0x7171, 0, 1, 80)),
		     XDP_PASS, "the first fragment goes up to release them");
	outlen = sizeof(out);
	cr_assert_eq(env_run_tc(env.prog_tc_in, env.ifout, in, inlen, out, &outlen), TC_ACT_SHOT,
		     "the skb served as the buffer; the fragments went on as clones");
	cr_assert_eq(env_stat(XCGN_STAT_DNAT_TC), 1, "first fragment translated in tc");
	cr_assert_eq(env_stat(XCGN_STAT_FRAG_RELEASED), 2, "both released");
	cr_assert_eq(env_count(bpf_map__fd(env.skel->maps.xcgn_fragq)), 0, "queue empty");
	/* A straggler of the same datagram now follows at XDP. */
	cr_assert_eq(run_frame(env.prog_out, env.ifout,
			       frag(in, ENV_S1, 0, pubs, 0, 0x7171, 13, 0, 80)),
		     XDP_REDIRECT, "straggler translated at XDP");
	cr_assert_eq(pkt_daddr(out), ip(ENV_SUB1));
}

Test(xdp, bypass_destinations_leave_untranslated)
{
	struct pkt_spec s = spec(17, ENV_SUB1, 2100, ENV_S1, 53);
	struct pkt_spec other = spec(17, ENV_SUB1, 2100, "192.0.2.200", 53);

	cr_assert_eq(bypass_add(&env.maps, ip("192.0.2.0"), 25), 0, "bypass added");
	cr_assert_eq(outbound(&s), XDP_PASS, "to the stack, untranslated");
	cr_assert_eq(memcmp(out, in, inlen), 0, "untouched");
	cr_assert_eq(env_run_tc(env.prog_tc, 0, in, inlen, out, &outlen), 0 /* TC_ACT_OK */,
		     "tc lets it leave");
	cr_assert_eq(memcmp(out, in, inlen), 0, "untouched by tc too");
	cr_assert_eq(env_stat(XCGN_STAT_BYPASS), 2, "counted at both");
	cr_assert_eq(outbound(&other), XDP_REDIRECT, "other destinations still translated");
	cr_assert_eq(env_count(env.maps.map4), 1, "one mapping, for the other destination");
	cr_assert_neq(bypass_add(&env.maps, ip("100.64.0.0"), 16), 0, "subscriber range refused");
	cr_assert_neq(bypass_add(&env.maps, ip("198.51.100.0"), 24), 0, "pool overlap refused");
	cr_assert_eq(bypass_del(&env.maps, ip("192.0.2.0"), 25), 0, "bypass removed");
	cr_assert_eq(outbound(&s), XDP_REDIRECT, "translated again");
}

/* RFC 4787 REQ-9 / RFC 5382 REQ-8: subscriber 2 reaches subscriber 1
 * through 1's public address and port and is seen with its own. */
static void hairpin(uint8_t proto)
{
	struct pkt_spec a = spec(proto, ENV_SUB1, 1100, ENV_S1, 53), b;
	uint32_t pub1;
	uint16_t port1;
	int v;

	cr_assert_eq(outbound(&a), XDP_REDIRECT, "subscriber 1 opens a mapping");
	pub1 = pkt_saddr(out);
	port1 = pkt_sport(out);
	b = spec(proto, ENV_SUB2, 1200, ENV_S1, port1);
	b.daddr = pub1;
	v = outbound(&b);
	cr_assert_eq(v, XDP_REDIRECT, "turned around at XDP (verdict %d)", v);
	assert_csums("hairpinned");
	cr_assert_eq(pkt_daddr(out), ip(ENV_SUB1), "delivered to subscriber 1");
	cr_assert_eq(pkt_dport(out), 1100, "at its own port");
	cr_assert(in_pool(pkt_saddr(out)), "from subscriber 2's public address");
	cr_assert_neq(pkt_sport(out), 0, "and public port");
	cr_assert_eq(memcmp(out, "\x02\x00\x00\x00\x00\x33", 6), 0, "to subscriber 1's MAC");
	cr_assert_eq(env_stat(XCGN_STAT_HAIRPIN), 1, "counted");
	cr_assert_eq(env_count(env.maps.map4), 2, "each subscriber has its mapping");
}

Test(xdp, hairpin_udp)
{
	hairpin(17);
}

Test(xdp, hairpin_tcp)
{
	hairpin(6);
}

/* Subscriber 1's mapping for UDP port 1100 (to S1): its public endpoint. */
static void sub1_mapping(uint8_t proto, uint32_t *pub, uint16_t *port)
{
	struct pkt_spec a = spec(proto, ENV_SUB1, 1100, ENV_S1, 53);

	cr_assert_eq(outbound(&a), XDP_REDIRECT, "subscriber 1 opens a mapping");
	*pub = pkt_saddr(out);
	*port = pkt_sport(out);
}

/* Issue 10 item 4: a hairpinned datagram's fragments turn around at XDP,
 * the later ones after the first; without its first, one is dropped (no
 * upstream router is asked to send it back). */
Test(xdp, hairpinned_fragments_turn_around)
{
	char pub1s[16];
	uint32_t pub1, pub2;
	uint16_t port1;
	struct in_addr a;

	sub1_mapping(17, &pub1, &port1);
	a.s_addr = pub1;
	snprintf(pub1s, sizeof(pub1s), "%s", inet_ntoa(a));
	cr_assert_eq(run_frame(env.prog_in, env.ifin,
			       frag(in, ENV_SUB2, 1200, pub1s, port1, 0x4343, 0, 1, 80)),
		     XDP_REDIRECT, "first fragment turned around");
	assert_csums("first fragment");
	cr_assert_eq(pkt_daddr(out), ip(ENV_SUB1), "to subscriber 1");
	cr_assert_eq(pkt_dport(out), 1100, "at its port");
	pub2 = pkt_saddr(out);
	cr_assert(in_pool(pub2), "from subscriber 2's public address");
	cr_assert_eq(run_frame(env.prog_in, env.ifin,
			       frag(in, ENV_SUB2, 0, pub1s, 0, 0x4343, 5, 0, 80)),
		     XDP_REDIRECT, "the last follows it");
	assert_csums("last fragment");
	cr_assert_eq(pkt_daddr(out), ip(ENV_SUB1), "to subscriber 1");
	cr_assert_eq(pkt_saddr(out), pub2, "from the same public address");
	cr_assert_eq(env_stat(XCGN_STAT_HAIRPIN), 2, "both at XDP");
	cr_assert_eq(run_frame(env.prog_in, env.ifin,
			       frag(in, ENV_SUB2, 0, pub1s, 0, 0x4444, 5, 0, 80)),
		     XDP_DROP, "a later fragment before its first: nowhere to go");
	cr_assert_eq(env_drop(XCGN_DROP_FRAGMENT), 1, "counted");
	cr_assert_eq(env_stat(XCGN_STAT_REDIRECT_OUT), 1, "nothing but subscriber 1's opening went out");
}

/* What XDP leaves to the kernel (here: no neighbour yet, IP options, a
 * checksum left to offload) reaches tc egress after routing, on its way
 * to the upstream: tc turns it around to the inside instead
 * (bpf_redirect_neigh), both translations done; a later fragment then
 * follows at XDP by the note tc left. */
Test(xdp, hairpin_in_tc_after_routing)
{
	char pub1s[16];
	uint32_t pub1, pub2;
	uint16_t port1;
	struct in_addr a;
	struct pkt_spec b;

	sub1_mapping(17, &pub1, &port1);
	a.s_addr = pub1;
	snprintf(pub1s, sizeof(pub1s), "%s", inet_ntoa(a));
	b = spec(17, ENV_SUB2, 1200, ENV_S1, port1);
	b.daddr = pub1;
	b.opt_words = 1;	/* XDP hands it to the kernel */
	cr_assert_eq(outbound(&b), XDP_PASS, "options: to the kernel");
	cr_assert_eq(run_spec(env.prog_tc, 0, &b), 7 /* TC_ACT_REDIRECT */, "turned to the inside");
	assert_csums("hairpinned in tc");
	cr_assert_eq(pkt_daddr(out), ip(ENV_SUB1), "to subscriber 1");
	cr_assert_eq(pkt_dport(out), 1100, "at its port");
	pub2 = pkt_saddr(out);
	cr_assert(in_pool(pub2), "from subscriber 2's public address");
	cr_assert_neq(pkt_sport(out), 1200, "and public port");

	cr_assert_eq(run_frame(env.prog_tc, 0, frag(in, ENV_SUB2, 1300, pub1s, port1, 0x4545, 0, 1, 80)),
		     7, "a first fragment in tc");
	cr_assert_eq(pkt_daddr(out), ip(ENV_SUB1), "to subscriber 1");
	cr_assert_eq(run_frame(env.prog_in, env.ifin,
			       frag(in, ENV_SUB2, 0, pub1s, 0, 0x4545, 5, 0, 80)),
		     XDP_REDIRECT, "its last at XDP, by tc's note");
	cr_assert_eq(pkt_daddr(out), ip(ENV_SUB1), "to subscriber 1");
	cr_assert_eq(pkt_saddr(out), pub2, "from subscriber 2's public address");
	cr_assert_eq(run_frame(env.prog_tc, 0, frag(in, ENV_SUB2, 0, pub1s, 0, 0x4646, 5, 0, 80)),
		     2 /* TC_ACT_SHOT */, "a later fragment before its first: dropped in tc too");

	b.sport = 1201;
	b.dport = 4444;	/* nobody's */
	cr_assert_eq(run_spec(env.prog_tc, 0, &b), 2 /* TC_ACT_SHOT */, "no mapping there");
	cr_assert_eq(env_stat(XCGN_STAT_HAIRPIN), 3, "counted");
}

/* Issue 10 item 9: a checksum its sender left to offload (the field holds
 * the pseudo-header sum) is not XDP's to update: the packet goes to the
 * kernel untouched, both ways, and tc translates it with helpers that know
 * the skb's checksum state. */
static void make_partial(uint8_t *f, size_t len)
{
	size_t l3 = pkt_l3_off(f), l4 = pkt_l4_off(f);
	uint16_t l4len = (uint16_t)(len - l4), c;
	uint32_t sa, da;

	memcpy(&sa, f + l3 + 12, 4);
	memcpy(&da, f + l3 + 16, 4);
	c = xcgn_csum_pseudo(sa, da, htons(f[l3 + 9]), htons(l4len));
	memcpy(f + l4 + (f[l3 + 9] == 6 ? 16 : 6), &c, 2);
}

Test(xdp, partial_checksums_go_to_the_kernel)
{
	struct pkt_spec s = spec(6, ENV_SUB1, 1400, ENV_S1, 443);
	uint8_t frame[256];
	size_t len;
	uint32_t pub;
	uint16_t pport;

	len = pkt_build(frame, sizeof(frame), &s);
	make_partial(frame, len);
	memcpy(in, frame, len);
	outlen = sizeof(out);
	cr_assert_eq(env_run(env.prog_in, env.ifin, in, len, out, &outlen), XDP_PASS,
		     "out: to the kernel");
	cr_assert_eq(memcmp(out, in, len), 0, "untouched");
	cr_assert_eq(env_count(env.maps.map4), 0, "no mapping at XDP");
	outlen = sizeof(out);
	cr_assert_eq(env_run_tc(env.prog_tc, 0, in, len, out, &outlen), TC_ACT_OK, "tc egress");
	pub = pkt_saddr(out);
	pport = pkt_sport(out);
	cr_assert(in_pool(pub), "translated by tc");

	/* The answer, partial too: passed by XDP, translated by tc ingress. */
	s = spec(17, ENV_S1, 443, "0.0.0.0", pport);
	s.proto = 6;
	s.daddr = pub;
	len = pkt_build(frame, sizeof(frame), &s);
	make_partial(frame, len);
	memcpy(in, frame, len);
	outlen = sizeof(out);
	cr_assert_eq(env_run(env.prog_out, env.ifout, in, len, out, &outlen), XDP_PASS,
		     "in: to the kernel");
	cr_assert_eq(memcmp(out, in, len), 0, "untouched at XDP");
	outlen = sizeof(out);
	cr_assert_eq(env_run_tc(env.prog_tc_in, env.ifout, in, len, out, &outlen), TC_ACT_OK,
		     "tc ingress");
	cr_assert_eq(pkt_daddr(out), ip(ENV_SUB1), "to the subscriber");

	/* A full checksum still takes the fast path. */
	s = spec(6, ENV_SUB1, 1401, ENV_S1, 443);
	cr_assert_eq(outbound(&s), XDP_REDIRECT, "a full checksum: XDP");
}
