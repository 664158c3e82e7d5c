// SPDX-License-Identifier: GPL-2.0
/* ICMP errors both ways (RFC 5508 REQ-3..6, RFC 5382 REQ-9): the quoted
 * header is rewritten too and every checksum stays right; an error without
 * a mapping is dropped and none refreshes one. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <string.h>

#include <bpf/bpf.h>

#include "env.h"

static uint8_t sent[256], err[512], out[512];
static size_t sent_len, err_len, outlen;

static uint32_t qaddr(const uint8_t *f, int src)
{
	uint32_t a;

	memcpy(&a, pkt_quoted(f) + (src ? 12 : 16), 4);
	return a;
}

static uint16_t qport(const uint8_t *f, int src)
{
	const uint8_t *q = pkt_quoted(f), *l4 = q + (q[0] & 0xf) * 4;

	if (q[9] == 1)
		return (uint16_t)(l4[4] << 8 | l4[5]);
	return src ? (uint16_t)(l4[0] << 8 | l4[1]) : (uint16_t)(l4[2] << 8 | l4[3]);
}

/* A subscriber's packet, translated by the inside program into @sent. */
static void send_out(uint8_t proto, uint16_t sport)
{
	struct pkt_spec s = { .proto = proto, .sport = sport, .dport = 53, .payload = 20,
			      .icmp_type = 8 };
	uint8_t in[256];
	size_t len;

	s.saddr = ip(ENV_SUB1);
	s.daddr = ip(ENV_S1);
	len = pkt_build(in, sizeof(in), &s);
	sent_len = sizeof(sent);
	cr_assert_eq(env_run(env.prog_in, env.ifin, in, len, sent, &sent_len), XDP_REDIRECT,
		     "outbound translated");
}

static int run_err(int prog, int ifindex)
{
	outlen = sizeof(out);
	return env_run(prog, ifindex, err, err_len, out, &outlen);
}

static void check_all_csums(void)
{
	char why[128];

	cr_assert_eq(pkt_verify(out, outlen, why, sizeof(why)), 0, "outer: %s", why);
	cr_assert_eq(pkt_verify_quoted(out, outlen, why, sizeof(why)), 0, "quoted: %s", why);
}

TestSuite(icmp, .init = env_setup_default, .fini = env_teardown);

static void inbound_error(uint8_t proto, size_t quote, uint8_t type, uint8_t code)
{
	struct xcgn_tuple4 k = { .proto = proto };
	struct xcgn_rev4 before, after;
	uint32_t pub;

	send_out(proto, 1100);
	pub = pkt_saddr(sent);
	k.addr = pub;
	k.port = htons(pkt_sport(sent));
	cr_assert_eq(bpf_map_lookup_elem(env.maps.rev4, &k, &before), 0, "mapping");
	if (!quote)
		quote = sent_len - pkt_l3_off(sent);
	err_len = pkt_icmp_error(err, sizeof(err), ip("203.0.113.2"), pub, type, code, sent, quote);
	cr_assert(err_len, "error built");
	cr_assert_eq(run_err(env.prog_out, env.ifout), XDP_REDIRECT, "translated and forwarded");
	check_all_csums();
	cr_assert_eq(pkt_daddr(out), ip(ENV_SUB1), "outer destination: the subscriber");
	cr_assert_eq(pkt_saddr(out), ip("203.0.113.2"), "outer source untouched");
	cr_assert_eq(qaddr(out, 1), ip(ENV_SUB1), "quoted source: the subscriber");
	cr_assert_eq(qport(out, 1), 1100, "quoted source port: the subscriber's");
	cr_assert_eq(qaddr(out, 0), ip(ENV_S1), "quoted destination untouched");
	cr_assert_eq(out[pkt_l4_off(out)], type, "type unchanged");
	cr_assert_eq(out[pkt_l4_off(out) + 1], code, "code unchanged");
	cr_assert_eq(env_stat(XCGN_STAT_ICMP_ERR_IN), 1, "counted");
	cr_assert_eq(bpf_map_lookup_elem(env.maps.rev4, &k, &after), 0, "mapping kept");
	cr_assert_eq(after.in_seen_ns, before.in_seen_ns, "and not refreshed");
}

Test(icmp, frag_needed_for_udp_whole_datagram_quoted)
{
	inbound_error(17, 0, 3, 4);
}

Test(icmp, port_unreachable_for_tcp_28_bytes_quoted)
{
	inbound_error(6, 28, 3, 3);
}

Test(icmp, frag_needed_for_tcp_whole_segment_quoted)
{
	inbound_error(6, 0, 3, 4);
}

Test(icmp, time_exceeded_for_an_echo_request)
{
	inbound_error(1, 0, 11, 0);
}

Test(icmp, error_without_mapping_dropped)
{
	send_out(17, 1100);
	/* Quote a port nobody has. */
	sent[pkt_l4_off(sent)] ^= 0x40;
	err_len = pkt_icmp_error(err, sizeof(err), ip("203.0.113.2"), pkt_saddr(sent), 3, 3, sent,
				 28);
	cr_assert_eq(run_err(env.prog_out, env.ifout), XDP_DROP, "dropped");
	cr_assert_eq(env_drop(XCGN_DROP_NO_MAPPING), 1, "as no mapping");
}

Test(icmp, bad_quoted_ip_checksum_dropped)
{
	send_out(17, 1100);
	sent[pkt_l3_off(sent) + 10] ^= 0x11;
	err_len = pkt_icmp_error(err, sizeof(err), ip("203.0.113.2"), pkt_saddr(sent), 3, 3, sent,
				 28);
	cr_assert_eq(run_err(env.prog_out, env.ifout), XDP_DROP, "dropped");
	cr_assert_eq(env_drop(XCGN_DROP_BAD_IP_CSUM), 1, "as a bad checksum (REQ-3a)");
}

/* RFC 5508 REQ-3: an error whose own checksum fails is dropped, whichever
 * byte of the message is wrong (here: every byte of the quote in turn, so
 * the odd tail is covered too), in both directions and in tc. */
Test(icmp, bad_outer_icmp_checksum_dropped)
{
	size_t off, l4, i = 0;

	send_out(17, 1100);
	/* Messages of 4n + 1, 2 and 3 bytes, the frame ending right there:
	 * the tail is summed without reading past it. */
	for (size_t q = 29; q <= 31; q++) {
		err_len = pkt_icmp_error(err, sizeof(err), ip("203.0.113.2"), pkt_saddr(sent), 3, 3,
					 sent, q);
		cr_assert_eq(run_err(env.prog_out, env.ifout), XDP_REDIRECT, "intact, %zu: translated",
			     8 + q);
	}
	l4 = pkt_l4_off(err);
	for (off = l4 + 8; off < err_len; off++, i++) {
		err[off] ^= 0x5a;
		cr_assert_eq(run_err(env.prog_out, env.ifout), XDP_DROP, "byte %zu flipped", off);
		cr_assert_eq(env_drop(XCGN_DROP_BAD_ICMP_CSUM), i + 1, "counted (byte %zu)", off);
		err[off] ^= 0x5a;
	}
	cr_assert_eq(env_stat(XCGN_STAT_ICMP_ERR_IN), 3, "only the intact ones translated");
	/* A subscriber's errors of 4n + 1, 2 and 3 bytes, out at XDP and in
	 * tc, intact (nothing to translate them onto: no mapping, but no
	 * checksum drop either), then its checksum field itself wrong. */
	for (size_t q = 29; q <= 31; q++) {
		err_len = pkt_icmp_error(err, sizeof(err), ip(ENV_SUB1), ip(ENV_S1), 3, 3, sent, q);
		run_err(env.prog_in, env.ifin);
		run_err(env.prog_tc, 0);
		cr_assert_eq(env_drop(XCGN_DROP_BAD_ICMP_CSUM), i, "%zu bytes out: checksum good",
			     8 + q);
	}
	/* A subscriber's error, its checksum field itself wrong. */
	err_len = pkt_icmp_error(err, sizeof(err), ip(ENV_SUB1), ip(ENV_S1), 3, 3, sent, 28);
	err[pkt_l4_off(err) + 2] ^= 1;
	cr_assert_eq(run_err(env.prog_in, env.ifin), XDP_DROP, "outbound at XDP");
	cr_assert_eq(run_err(env.prog_tc, 0), TC_ACT_SHOT, "outbound in tc");
	cr_assert_eq(env_drop(XCGN_DROP_BAD_ICMP_CSUM), i + 2, "both counted");
	cr_assert_eq(env_stat(XCGN_STAT_ICMP_ERR_OUT), 0, "none translated");
}

Test(icmp, short_quotes_never_translated)
{
	size_t q;

	send_out(17, 1100);
	for (q = 0; q < 28; q++) {
		err_len = pkt_icmp_error(err, sizeof(err), ip("203.0.113.2"), pkt_saddr(sent), 3, 3,
					 sent, q);
		cr_assert_eq(run_err(env.prog_out, env.ifout), XDP_DROP, "quote of %zu bytes", q);
		cr_assert_eq(memcmp(out, err, err_len), 0, "untouched");
	}
	cr_assert_eq(env_stat(XCGN_STAT_ICMP_ERR_IN), 0, "none translated");
}

/* A subscriber answers an inbound datagram with port unreachable. */
static void outbound_error(int prog, int ifindex, int verdict)
{
	struct pkt_spec r = { .proto = 17, .sport = 53, .payload = 20 };
	uint8_t in[256];
	size_t len;
	uint32_t pub;
	uint16_t pport;

	send_out(17, 1100);
	pub = pkt_saddr(sent);
	pport = pkt_sport(sent);
	r.saddr = ip(ENV_S1);
	r.daddr = pub;
	r.dport = pport;
	len = pkt_build(in, sizeof(in), &r);
	sent_len = sizeof(sent);
	cr_assert_eq(env_run(env.prog_out, env.ifout, in, len, sent, &sent_len), XDP_REDIRECT,
		     "inbound datagram delivered");
	err_len = pkt_icmp_error(err, sizeof(err), ip(ENV_SUB1), ip(ENV_S1), 3, 3, sent,
				 sent_len - pkt_l3_off(sent));
	cr_assert_eq(run_err(prog, ifindex), verdict, "error translated");
	check_all_csums();
	cr_assert_eq(pkt_saddr(out), pub, "outer source: the public address");
	cr_assert_eq(qaddr(out, 0), pub, "quoted destination: the public address");
	cr_assert_eq(qport(out, 0), pport, "quoted destination port: the public port");
	cr_assert_eq(qaddr(out, 1), ip(ENV_S1), "quoted source untouched");
	cr_assert_eq(env_stat(XCGN_STAT_ICMP_ERR_OUT), 1, "counted");
}

Test(icmp, subscriber_port_unreachable_at_xdp)
{
	outbound_error(env.prog_in, env.ifin, XDP_REDIRECT);
}

Test(icmp, subscriber_port_unreachable_at_tc)
{
	outbound_error(env.prog_tc, 0, TC_ACT_OK);
}

static void setup_one_block(void)
{
	struct pool_opts o = bpfenv_pool("198.51.100.5", 32, 1024, 1087, 64, 1);

	env_setup(&o);
}

/* RFC 6888 REQ-11(b), RFC 5508 REQ-8: a refused subscriber hears ICMP
 * "administratively prohibited" quoting its packet, at a bounded rate; no
 * existing mapping is touched. */
Test(icmp, refusal_answered_with_3_13, .init = setup_one_block, .fini = env_teardown)
{
	struct pkt_spec s = { .proto = 17, .dport = 53, .payload = 30 };
	uint8_t in[256];
	size_t len, l4;
	char why[128];
	int i, v;

	s.saddr = ip(ENV_SUB1);
	s.daddr = ip(ENV_S1);
	for (i = 0; i < 64; i++) {
		s.sport = (uint16_t)(20000 + i);
		len = pkt_build(in, sizeof(in), &s);
		outlen = sizeof(out);
		cr_assert_eq(env_run(env.prog_in, env.ifin, in, len, out, &outlen), XDP_REDIRECT,
			     "flow %d fits", i);
	}
	s.sport = 30000;
	len = pkt_build(in, sizeof(in), &s);
	outlen = sizeof(out);
	v = env_run(env.prog_in, env.ifin, in, len, out, &outlen);
	cr_assert_eq(v, XDP_REDIRECT, "refused: the error goes back out of the inside (verdict %d)",
		     v);
	cr_assert_eq(outlen, 14 + 20 + 8 + 20 + 8, "IPv4 + ICMP + quoted header and 8 bytes");
	cr_assert_eq(pkt_verify(out, outlen, why, sizeof(why)), 0, "checksums: %s", why);
	l4 = pkt_l4_off(out);
	cr_assert_eq(out[l4], 3, "destination unreachable");
	cr_assert_eq(out[l4 + 1], 13, "administratively prohibited");
	cr_assert_eq(pkt_saddr(out), ip("100.64.0.1"), "from the NAT's inside address");
	cr_assert_eq(pkt_daddr(out), ip(ENV_SUB1), "to the subscriber");
	cr_assert_eq(memcmp(out, in + 6, 6), 0, "to the subscriber's MAC");
	cr_assert_eq(memcmp(out + l4 + 8, in + 14, 20 + 8), 0, "quotes the refused packet");
	cr_assert_eq(env_stat(XCGN_STAT_ICMP_PROHIBITED), 1, "counted");
	cr_assert_eq(env_drop(XCGN_DROP_SUB_LIMIT), 1, "and the refusal too");
	outlen = sizeof(out);
	cr_assert_eq(env_run(env.prog_in, env.ifin, in, len, out, &outlen), XDP_DROP,
		     "a second one right after is only dropped (rate)");
	cr_assert_eq(env_count(env.maps.map4), 64, "no mapping evicted");
}

/* RFC 5508 REQ-7: subscriber 2 answers a hairpinned datagram from
 * subscriber 1 with port unreachable; 1 gets it, about its own packet,
 * turned around by @prog (XDP inside, or tc egress after the kernel
 * forwarded it) with verdict @verdict: no upstream router involved. */
static void hairpinned_error(int prog, int ifindex, int verdict, int drop)
{
	struct pkt_spec a = { .proto = 17, .sport = 1100, .dport = 53, .payload = 20 };
	struct pkt_spec b = { .proto = 17, .sport = 1200, .payload = 20 };
	uint8_t in[256];
	size_t len;
	uint32_t pub1, pub2;
	uint16_t port2;

	a.saddr = ip(ENV_SUB2);
	a.daddr = ip(ENV_S1);
	len = pkt_build(in, sizeof(in), &a);
	sent_len = sizeof(sent);
	cr_assert_eq(env_run(env.prog_in, env.ifin, in, len, sent, &sent_len), XDP_REDIRECT,
		     "subscriber 2 has a mapping");
	pub2 = pkt_saddr(sent);
	port2 = pkt_sport(sent);
	b.saddr = ip(ENV_SUB1);
	b.daddr = pub2;
	b.dport = port2;
	len = pkt_build(in, sizeof(in), &b);
	sent_len = sizeof(sent);
	cr_assert_eq(env_run(env.prog_in, env.ifin, in, len, sent, &sent_len), XDP_REDIRECT,
		     "subscriber 1 -> subscriber 2, hairpinned");
	pub1 = pkt_saddr(sent);
	cr_assert_eq(pkt_daddr(sent), ip(ENV_SUB2), "delivered to subscriber 2");
	err_len = pkt_icmp_error(err, sizeof(err), ip(ENV_SUB2), pub1, 3, 3, sent,
				 sent_len - pkt_l3_off(sent));
	cr_assert_eq(run_err(prog, ifindex), verdict, "the error turns around");
	check_all_csums();
	cr_assert_eq(pkt_saddr(out), pub2, "from subscriber 2's public address");
	cr_assert_eq(pkt_daddr(out), ip(ENV_SUB1), "to subscriber 1 (REQ-7a: the quoted source)");
	cr_assert_eq(qaddr(out, 1), ip(ENV_SUB1), "quoting 1's own packet: its address");
	cr_assert_eq(qport(out, 1), 1200, "and port");
	cr_assert_eq(qaddr(out, 0), pub2, "to 2's public address");
	cr_assert_eq(qport(out, 0), port2, "and port");
	cr_assert_eq(env_stat(XCGN_STAT_HAIRPIN), 2, "both hairpins counted");
	cr_assert_eq(env_stat(XCGN_STAT_ICMP_ERR_OUT) + env_stat(XCGN_STAT_ICMP_ERR_IN), 0,
		     "never out to the internet and back");
	/* An error quoting a public endpoint that is nobody's: dropped. */
	sent[pkt_l4_off(sent)] = 0;
	sent[pkt_l4_off(sent) + 1] = 7;	/* subscriber 1's packet, from port 7 */
	err_len = pkt_icmp_error(err, sizeof(err), ip(ENV_SUB2), pub1, 3, 3, sent,
				 sent_len - pkt_l3_off(sent));
	cr_assert_eq(run_err(prog, ifindex), drop, "no mapping quoted: dropped");
	cr_assert_eq(env_drop(XCGN_DROP_NO_MAPPING), 1, "counted");
}

Test(icmp, hairpinned_error_turned_around_at_xdp)
{
	hairpinned_error(env.prog_in, env.ifin, XDP_REDIRECT, XDP_DROP);
}

Test(icmp, hairpinned_error_turned_around_in_tc)
{
	hairpinned_error(env.prog_tc, 0, 7 /* TC_ACT_REDIRECT */, 2 /* TC_ACT_SHOT */);
}
