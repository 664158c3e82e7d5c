// SPDX-License-Identifier: GPL-2.0
/* The packet fuzzer: mutations of valid packets through every program of
 * the datapath (XDP inside and outside, tc egress and ingress) with
 * BPF_PROG_TEST_RUN, against invariants that hold whatever the input:
 *
 *   A. nothing is translated that was not a valid IPv4 datagram (version,
 *      header length, total length, header checksum);
 *   B. a valid input that is translated gives valid checksums out (IPv4,
 *      TCP, UDP, ICMP, and the quoted datagram of an ICMP error);
 *   C. no subscriber address leaves the outside device in any position,
 *      outer or quoted: what XDP inside redirects to the internet, what
 *      XDP outside sends back out, what tc egress lets go;
 *   D. the tables stay consistent (xcgn_check_maps, quiet: every mapping
 *      has its reverse, every port lies in a block its subscriber holds,
 *      every held block is taken, each subscriber's count is right).
 *
 *   xcgn-pktfuzz [ITERATIONS [SEED]]     (defaults 1000000 and 1)
 *
 * The mutations: bit flips, random bytes, truncation, extension, the
 * header length, total length, fragment field, protocol and TTL, the quoted
 * datagram of errors, the Ethernet type; then, often, the IPv4 and L4
 * checksums made right again so the mutant reaches deeper. Fixed seeds:
 * a failure is found again by the same command. Exit 1 on a violation. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "lib/bpfenv.h"
#include "lib/pkt.h"

#define BUF 2048
#define SEEDS_MAX 64
#define CHECK_EVERY 50000
#define REPORT_MAX 8

enum where { IN_XDP, OUT_XDP, TC_EGRESS, TC_INGRESS, TC_INSIDE, WHERE_MAX };
static const char *const where_name[] = { "xdp-inside", "xdp-outside", "tc-egress",
					  "tc-ingress", "tc-inside-in" };

struct seed {
	enum where at;
	uint8_t b[BUF];
	size_t len;
	const char *what;
};

static struct bpfenv env;
static struct seed seeds[SEEDS_MAX];
static size_t nseeds;
static uint64_t rng;
static unsigned long violations, runs[WHERE_MAX], verdicts[WHERE_MAX][8], translated;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

static uint32_t rnd_below(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

/* ---- the frame, read defensively (a mutant can say anything) --------------- */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static size_t l3_of(const uint8_t *f, size_t len)
{
	if (len >= 18 && get16(f + 12) == 0x8100)
		return 18;
	return 14;
}

static bool is_ipv4(const uint8_t *f, size_t len)
{
	size_t l3 = l3_of(f, len);

	return len >= l3 + 20 && get16(f + l3 - 2) == 0x0800 && (f[l3] >> 4) == 4;
}

static size_t ihl_of(const uint8_t *f, size_t l3)
{
	return (size_t)(f[l3] & 0x0f) * 4;
}

/* Invariant A's "valid": what ip_rcv() would take. */
static bool ip_valid(const uint8_t *f, size_t len)
{
	size_t l3 = l3_of(f, len), ihl;
	uint16_t tot;

	if (!is_ipv4(f, len))
		return false;
	ihl = ihl_of(f, l3);
	tot = get16(f + l3 + 2);
	return ihl >= 20 && l3 + ihl <= len && tot >= ihl && l3 + tot <= len &&
	       pkt_csum(f + l3, ihl, 0) == 0;
}

static bool is_sub(uint32_t a_be)
{
	return (ntohl(a_be) & 0xffc00000u) == 0x64400000u;	/* 100.64.0.0/10 */
}

static uint32_t addr_at(const uint8_t *p)
{
	uint32_t a;

	memcpy(&a, p, 4);
	return a;
}

/* The quoted datagram of an ICMP error, or NULL. */
static const uint8_t *quoted(const uint8_t *f, size_t len)
{
	size_t l3 = l3_of(f, len), l4;

	/* A later fragment carries data, not an ICMP header. */
	if (!is_ipv4(f, len) || f[l3 + 9] != 1 || (get16(f + l3 + 6) & 0x1fff))
		return NULL;
	l4 = l3 + ihl_of(f, l3);
	if (l4 + 8 + 20 > len)
		return NULL;
	if (f[l4] != 3 && f[l4] != 11 && f[l4] != 12 && f[l4] != 4 && f[l4] != 5)
		return NULL;
	return f + l4 + 8;
}

/* Any subscriber address, outer or quoted. */
static const char *sub_anywhere(const uint8_t *f, size_t len)
{
	size_t l3 = l3_of(f, len);
	const uint8_t *q;

	if (!is_ipv4(f, len))
		return NULL;
	if (is_sub(addr_at(f + l3 + 12)))
		return "outer source";
	if (is_sub(addr_at(f + l3 + 16)))
		return "outer destination";
	q = quoted(f, len);
	if (q && is_sub(addr_at(q + 12)))
		return "quoted source";
	if (q && is_sub(addr_at(q + 16)))
		return "quoted destination";
	return NULL;
}

/* Addresses or ports changed between in and out. */
static bool was_translated(const uint8_t *in, size_t inlen, const uint8_t *out, size_t outlen)
{
	size_t l3 = l3_of(in, inlen), l4;

	if (!is_ipv4(in, inlen) || !is_ipv4(out, outlen) || l3_of(out, outlen) != l3)
		return is_ipv4(out, outlen) && (!is_ipv4(in, inlen) || inlen != outlen ||
						memcmp(in, out, inlen));
	if (memcmp(in + l3 + 12, out + l3 + 12, 8))
		return true;
	l4 = l3 + ihl_of(in, l3);
	return l4 + 4 <= inlen && l4 + 4 <= outlen && memcmp(in + l4, out + l4, 4);
}

/* ---- making mutants reach deeper ------------------------------------------ */

static void fix_ip_csum(uint8_t *f, size_t len)
{
	size_t l3 = l3_of(f, len), ihl = ihl_of(f, l3);

	if (len < l3 + 20 || ihl < 20 || l3 + ihl > len)
		return;
	put16(f + l3 + 10, 0);
	put16(f + l3 + 10, pkt_csum(f + l3, ihl, 0));
}

static void fix_l4_csum(uint8_t *f, size_t len)
{
	size_t l3 = l3_of(f, len), ihl = ihl_of(f, l3), l4, l4len;
	uint16_t tot;
	uint32_t ps = 0;
	int off;

	if (len < l3 + 20 || ihl < 20 || l3 + ihl > len)
		return;
	tot = get16(f + l3 + 2);
	if (tot < ihl || l3 + tot > len || (get16(f + l3 + 6) & 0x3fff))
		return;
	l4 = l3 + ihl;
	l4len = tot - ihl;
	switch (f[l3 + 9]) {
	case 6:
		off = 16;
		break;
	case 17:
		off = 6;
		break;
	case 1:
		off = 2;
		break;
	default:
		return;
	}
	if (l4len < (size_t)off + 2)
		return;
	if (f[l3 + 9] != 1) {
		ps = (uint32_t)get16(f + l3 + 12) + get16(f + l3 + 14) + get16(f + l3 + 16) +
		     get16(f + l3 + 18) + f[l3 + 9] + (uint32_t)l4len;
	}
	put16(f + l4 + off, 0);
	put16(f + l4 + off, pkt_csum(f + l4, l4len, ps));
	if (f[l3 + 9] == 17 && !get16(f + l4 + off))
		put16(f + l4 + off, 0xffff);
}

static void mutate(uint8_t *f, size_t *len)
{
	static const uint8_t protos[] = { 1, 6, 17, 47, 0, 255, 4 };
	static const uint16_t frags[] = { 0, 0x2000, 0x4000, 0x0001, 0x2001, 0x1fff, 0x3fff };
	static const uint8_t ttls[] = { 0, 1, 2, 255 };
	size_t l3 = l3_of(f, *len);
	const uint8_t *q;
	int ops = 1 + (int)rnd_below(3), i;

	for (i = 0; i < ops; i++) {
		switch (rnd_below(12)) {
		case 0:	/* a bit, mostly in the headers */
			f[rnd_below((uint32_t)(*len < 96 ? *len : 96))] ^= (uint8_t)(1u << rnd_below(8));
			break;
		case 1:
			f[rnd_below((uint32_t)*len)] = (uint8_t)rnd();
			break;
		case 2:	/* truncated, never below an Ethernet header */
			*len = 14 + rnd_below((uint32_t)(*len - 14 + 1));
			break;
		case 3: {	/* longer: padding, or a datagram past its length */
			size_t add = 1 + rnd_below(64);

			if (*len + add > BUF)
				break;
			for (size_t k = 0; k < add; k++)
				f[*len + k] = (uint8_t)rnd();
			*len += add;
			break;
		}
		case 4:
			if (*len > l3)
				f[l3] = (uint8_t)((f[l3] & 0xf0) | rnd_below(16));
			break;
		case 5:
			if (*len >= l3 + 4)
				put16(f + l3 + 2, rnd_below(2) ? (uint16_t)rnd()
							      : (uint16_t)(*len - l3 + rnd_below(9) - 4));
			break;
		case 6:
			if (*len >= l3 + 8)
				put16(f + l3 + 6, frags[rnd_below(sizeof(frags) / sizeof(frags[0]))]);
			break;
		case 7:
			if (*len >= l3 + 10)
				f[l3 + 9] = protos[rnd_below(sizeof(protos))];
			break;
		case 8:
			if (*len >= l3 + 9)
				f[l3 + 8] = ttls[rnd_below(sizeof(ttls))];
			break;
		case 9:	/* the quoted datagram of an error */
			q = quoted(f, *len);
			if (q) {
				size_t at = (size_t)(q - f) + rnd_below(28);

				if (at < *len)
					f[at] ^= (uint8_t)(1u << rnd_below(8));
			}
			break;
		case 10:	/* the Ethernet type: VLAN, ARP, IPv6, ... */
			if (rnd_below(4) == 0)
				put16(f + 12, rnd_below(2) ? 0x8100 : (uint16_t)rnd());
			break;
		default:	/* the L4 header */
			if (*len > l3 + 20 + 4)
				f[l3 + ihl_of(f, l3) + rnd_below(20) < *len
					  ? l3 + ihl_of(f, l3) + rnd_below(20)
					  : *len - 1] ^= (uint8_t)(1u << rnd_below(8));
			break;
		}
		l3 = l3_of(f, *len);
	}
	if (rnd_below(10) < 7)
		fix_ip_csum(f, *len);
	if (rnd_below(10) < 5)
		fix_l4_csum(f, *len);
}

/* ---- running ------------------------------------------------------------------ */

static int run(enum where at, const uint8_t *in, size_t len, uint8_t *out, size_t *outlen)
{
	static const int *progs[] = { &env.prog_in, &env.prog_out, &env.prog_tc, &env.prog_tc_in,
				      &env.prog_tc_inside };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (__u32)len,
		    .data_out = out, .data_size_out = (__u32)*outlen, .repeat = 1);
	struct xdp_md xctx = {};
	struct __sk_buff sctx = {};

	if (at == IN_XDP || at == OUT_XDP) {
		xctx.data_end = (__u32)len;
		xctx.ingress_ifindex = (__u32)(at == IN_XDP ? env.ifin : env.ifout);
		o.ctx_in = &xctx;
		o.ctx_size_in = sizeof(xctx);
	} else {
		/* tc egress: forwarded from the inside, as the kernel does. */
		sctx.ifindex = (__u32)(at == TC_INGRESS ? env.ifout : at == TC_INSIDE ? env.ifin : 0);
		sctx.ingress_ifindex = (__u32)(at == TC_EGRESS || at == TC_INSIDE ? env.ifin : 0);
		o.ctx_in = &sctx;
		o.ctx_size_in = sizeof(sctx);
	}
	if (bpf_prog_test_run_opts(*progs[at], &o))
		return -errno;
	*outlen = o.data_size_out;
	return (int)o.retval;
}

static void hexdump(const char *what, const uint8_t *b, size_t len)
{
	size_t i;

	fprintf(stderr, "  %s (%zu bytes):", what, len);
	for (i = 0; i < len && i < 96; i++)
		fprintf(stderr, "%s%02x", i % 32 ? " " : "\n    ", b[i]);
	fprintf(stderr, "\n");
}

static void __attribute__((format(printf, 7, 8)))
violation(enum where at, int v, const uint8_t *in, size_t inlen, const uint8_t *out,
	  size_t outlen, const char *fmt, ...)
{
	va_list ap;

	if (violations++ >= REPORT_MAX)
		return;
	fprintf(stderr, "pktfuzz: %s, verdict %d: ", where_name[at], v);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	hexdump("in", in, inlen);
	if (out)
		hexdump("out", out, outlen);
}

static bool leaves_outside(enum where at, int v, const uint8_t *out, size_t outlen)
{
	switch (at) {
	case IN_XDP:	/* redirected: to the internet unless to a subscriber */
		return v == XDP_REDIRECT && is_ipv4(out, outlen) &&
		       !is_sub(addr_at(out + l3_of(out, outlen) + 16));
	case OUT_XDP:
		return v == XDP_TX;
	case TC_EGRESS:
		return v == TC_ACT_OK;
	default:
		return false;
	}
}

static void one(enum where at, const uint8_t *in, size_t inlen)
{
	static uint8_t out[BUF + 256];
	size_t outlen = sizeof(out);
	char why[128];
	const char *where;
	int v;

	/* The kernel gives tc no IPv4 skb shorter than its header. */
	if (at >= TC_EGRESS && inlen < 14 + 20)
		return;
	v = run(at, in, inlen, out, &outlen);
	runs[at]++;
	if (v < 0 && !(at == TC_INSIDE && v == TC_ACT_UNSPEC)) {
		violation(at, v, in, inlen, NULL, 0, "test run failed: %s", strerror(-v));
		return;
	}
	if (v == TC_ACT_UNSPEC)	/* the inside's: not its own, on to the next filter */
		v = TC_ACT_OK;
	verdicts[at][v & 7]++;
	if (leaves_outside(at, v, out, outlen) && (where = sub_anywhere(out, outlen)))
		violation(at, v, in, inlen, out, outlen, "C: a subscriber address leaves the outside (%s)",
			  where);
	/* What goes on, translated: to the internet, or turned around to
	 * the inside (a hairpin: XDP_REDIRECT, or tc's TC_ACT_REDIRECT). */
	if (at >= TC_EGRESS ? v != TC_ACT_OK && v != TC_ACT_REDIRECT
						  : v != XDP_REDIRECT && v != XDP_TX)
		return;
	if (!was_translated(in, inlen, out, outlen))
		return;
	translated++;
	if (!ip_valid(in, inlen)) {
		violation(at, v, in, inlen, out, outlen, "A: translated an invalid IPv4 datagram");
		return;
	}
	if (!pkt_verify(in, inlen, why, sizeof(why)) && pkt_verify(out, outlen, why, sizeof(why)))
		violation(at, v, in, inlen, out, outlen, "B: valid in, translated with %s", why);
	if (quoted(in, inlen) && !pkt_verify_quoted(in, inlen, why, sizeof(why)) &&
	    quoted(out, outlen) && pkt_verify_quoted(out, outlen, why, sizeof(why)))
		violation(at, v, in, inlen, out, outlen, "B: valid quote in, translated with %s", why);
}

static void tables(unsigned long n)
{
	struct xcgn_check_result r;

	if (xcgn_check_maps(&env.maps, false, &r)) {
		fprintf(stderr, "pktfuzz: check: out of memory\n");
		violations++;
		return;
	}
	if (r.violations) {
		fprintf(stderr, "pktfuzz: D: %llu table violation(s) after %lu mutants\n",
			(unsigned long long)r.violations, n);
		violations += r.violations;
	}
}

/* ---- seeds -------------------------------------------------------------------- */

static struct seed *add(enum where at, const char *what)
{
	struct seed *s;

	if (nseeds == SEEDS_MAX) {
		fprintf(stderr, "pktfuzz: more than %d seeds\n", SEEDS_MAX);
		exit(2);
	}
	s = &seeds[nseeds++];

	s->at = at;
	s->what = what;
	return s;
}

static struct seed *build(enum where at, const char *what, const struct pkt_spec *ps)
{
	struct seed *s = add(at, what);

	s->len = pkt_build(s->b, sizeof(s->b), ps);
	return s;
}

static struct pkt_spec spec(uint8_t proto, const char *src, uint16_t sport, uint32_t dst,
			    uint16_t dport)
{
	struct pkt_spec s = { .proto = proto, .sport = sport, .dport = dport, .payload = 24,
			      .icmp_type = proto == 1 ? 8 : 0 };

	s.saddr = inet_addr(src);
	s.daddr = dst;
	return s;
}

/* Every kind of packet each program meets, valid; the inbound ones to the
 * public endpoints the outbound ones got. */
static int make_seeds(void)
{
	static const uint8_t protos[] = { 17, 6, 1 };
	uint32_t s1 = inet_addr(ENV_S1);
	uint8_t out[BUF];
	size_t i, outlen;
	int v;

	for (i = 0; i < sizeof(protos); i++) {
		struct pkt_spec s = spec(protos[i], ENV_SUB1, (uint16_t)(2000 + i), s1, 53);
		struct pkt_spec r;
		struct seed *o;

		o = build(IN_XDP, "outbound", &s);
		build(TC_EGRESS, "outbound, slow path", &s);
		s.opt_words = 2;
		build(IN_XDP, "outbound with options", &s);
		build(TC_EGRESS, "outbound with options, slow path", &s);
		s.opt_words = 0;
		s.frag_off = 0x2000;
		s.payload = 64;
		build(IN_XDP, "first fragment out", &s);
		s.frag_off = 0x0008;
		build(IN_XDP, "later fragment out", &s);
		s.frag_off = 0;
		s.payload = 24;
		s.ttl = 1;
		build(IN_XDP, "TTL 1 out", &s);
		s.ttl = 0;
		s.vlan = 1;
		build(IN_XDP, "VLAN out", &s);
		s.vlan = 0;

		/* Its public endpoint, for the inbound seeds. */
		outlen = sizeof(out);
		v = run(IN_XDP, o->b, o->len, out, &outlen);
		if (v != XDP_REDIRECT) {
			fprintf(stderr, "pktfuzz: seed %s (proto %u) not translated: %d\n",
				o->what, protos[i], v);
			return -1;
		}
		r = spec(protos[i], ENV_S1, 53, pkt_saddr(out), pkt_sport(out));
		if (protos[i] == 1) {
			r.icmp_type = 0;
			r.sport = pkt_sport(out);
		}
		build(OUT_XDP, "inbound", &r);
		r.opt_words = 1;
		build(OUT_XDP, "inbound with options", &r);
		build(TC_INGRESS, "inbound with options, tc", &r);
		r.opt_words = 0;
		r.frag_off = 0x2000;
		r.payload = 64;
		build(TC_INGRESS, "first fragment in, tc", &r);
		build(OUT_XDP, "first fragment in", &r);
		r.frag_off = 0x0008;
		build(OUT_XDP, "later fragment in", &r);
		build(TC_INGRESS, "later fragment in, tc", &r);
		/* A router's error about the translated packet, and a
		 * subscriber's about an inbound one. */
		{
			struct seed *e = add(OUT_XDP, "ICMP error in");

			e->len = pkt_icmp_error(e->b, sizeof(e->b), inet_addr("192.0.2.1"),
						pkt_saddr(out), 3, 3, out, 28);
			e = add(IN_XDP, "ICMP error out");
			r.frag_off = 0;
			r.payload = 24;
			r.daddr = inet_addr(ENV_SUB1);
			r.dport = (uint16_t)(2000 + i);
			outlen = pkt_build(out, sizeof(out), &r);
			e->len = pkt_icmp_error(e->b, sizeof(e->b), inet_addr(ENV_SUB1), s1, 3, 3,
						out, 28);
			e = add(TC_EGRESS, "ICMP error out, slow path");
			e->len = pkt_icmp_error(e->b, sizeof(e->b), inet_addr(ENV_SUB1), s1, 3, 3,
						out, 28);
		}
	}
	/* Hairpinning: subscriber 2 to subscriber 1's public endpoint (the
	 * first seed is subscriber 1's UDP, its mapping made above). */
	{
		struct pkt_spec s;

		outlen = sizeof(out);
		if (run(IN_XDP, seeds[0].b, seeds[0].len, out, &outlen) != XDP_REDIRECT)
			return -1;
		struct seed *e;
		uint8_t sent[BUF];
		size_t sentlen = sizeof(sent);

		s = spec(17, ENV_SUB2, 3000, pkt_saddr(out), pkt_sport(out));
		build(IN_XDP, "hairpin", &s);
		build(TC_EGRESS, "hairpin, slow path", &s);
		build(TC_INSIDE, "hairpin, before routing", &s);
		/* Its first fragment (leaving the note), a later one, and
		 * subscriber 1's port unreachable about it. */
		s.frag_off = 0x2000;
		build(IN_XDP, "hairpinned first fragment", &s);
		s.frag_off = 0x2000 | 5;
		s.proto = 99;
		e = build(IN_XDP, "hairpinned later fragment", &s);
		e->b[pkt_l3_off(e->b) + 9] = 17;	/* bare payload, called UDP */
		e = build(TC_EGRESS, "hairpinned later fragment, slow path", &s);
		e->b[pkt_l3_off(e->b) + 9] = 17;
		e = build(TC_INSIDE, "hairpinned later fragment, before routing", &s);
		e->b[pkt_l3_off(e->b) + 9] = 17;
		s = spec(17, ENV_SUB2, 3001, pkt_saddr(out), pkt_sport(out));
		sentlen = pkt_build(sent, sizeof(sent), &s);
		outlen = sizeof(out);
		/* (An address-dependent pool refuses the hairpin: subscriber 1
		 * never sent to subscriber 2's public address. No error then.) */
		if (run(IN_XDP, sent, sentlen, out, &outlen) == XDP_REDIRECT) {
			e = add(IN_XDP, "hairpinned error");
			e->len = pkt_icmp_error(e->b, sizeof(e->b), pkt_daddr(out), pkt_saddr(out),
						3, 3, out, 28);
			e = add(TC_EGRESS, "hairpinned error, slow path");
			e->len = pkt_icmp_error(e->b, sizeof(e->b), pkt_daddr(out), pkt_saddr(out),
						3, 3, out, 28);
			e = add(TC_INSIDE, "hairpinned error, before routing");
			e->len = pkt_icmp_error(e->b, sizeof(e->b), pkt_daddr(out), pkt_saddr(out),
						3, 3, out, 28);
		}
	}
	for (i = 0; i < nseeds; i++)
		if (!seeds[i].len) {
			fprintf(stderr, "pktfuzz: seed %zu (%s) not built\n", i, seeds[i].what);
			return -1;
		}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000000, i;
	struct pool_opts pool = bpfenv_default_pool();
	static uint8_t b[BUF];
	struct timespec t0, t1;
	char why[256];
	double secs;
	size_t len;
	int at;

	unsigned long long seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 1;

	rng = seed * 0x9E3779B97F4A7C15ULL + 1;
	/* Even seeds: an address-dependent pool, so the filtering table
	 * gets its share of mutants too. */
	if (seed % 2 == 0)
		pool.filtering = XCGN_FILTER_ADF;
	/* Small tables: the full-table paths get their share of mutants. */
	if (bpfenv_setup(&env, &pool, 4096, why, sizeof(why))) {
		fprintf(stderr, "pktfuzz: setup: %s\n", why);
		return 2;
	}
	if (make_seeds()) {
		bpfenv_teardown(&env);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		const struct seed *s = &seeds[rnd_below((uint32_t)nseeds)];

		memcpy(b, s->b, s->len);
		len = s->len;
		mutate(b, &len);
		/* Each mutant through the program it was meant for, and now
		 * and then through another one. */
		at = rnd_below(8) ? (int)s->at : (int)rnd_below(WHERE_MAX);
		one((enum where)at, b, len);
		if ((i + 1) % CHECK_EVERY == 0)
			tables(i + 1);
		if (violations > REPORT_MAX * 4)
			break;
	}
	tables(i);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("pktfuzz: %lu mutants of %zu seeds in %.1f s (seed %llu%s), %lu translated\n", i,
	       nseeds, secs, seed, seed % 2 ? "" : ", address-dependent pool", translated);
	for (at = 0; at < WHERE_MAX; at++)
		printf("  %-12s %8lu runs: pass/ok %lu, drop/shot %lu, tx %lu, redirect %lu\n",
		       where_name[at], runs[at], verdicts[at][at >= TC_EGRESS ? 0 : 2],
		       verdicts[at][at >= TC_EGRESS ? 2 : 1], at >= TC_EGRESS ? 0 : verdicts[at][3],
		       verdicts[at][at >= TC_EGRESS ? TC_ACT_REDIRECT : XDP_REDIRECT]);
	printf("pktfuzz: %lu violation(s)\n", violations);
	bpfenv_teardown(&env);
	return violations ? 1 : 0;
}
