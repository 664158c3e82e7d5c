// SPDX-License-Identifier: GPL-2.0
/* include/xcgn_csum.h (the code the datapath runs) against full
 * recomputation (tests/lib/pkt.c, RFC 1071 byte by byte). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "xcgn_csum.h"
#include "lib/pkt.h"

#define ROUNDS 1000000
#define WORDS_MAX 40

/* xorshift64*: fast and reproducible, so a failure can be replayed. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

/* Words as they sit in memory (network order bytes); word 0 is the
 * checksum. The last word is never changed and never zero, like the
 * version or protocol word of a real header: all-zero data is the one case
 * where +0 and -0 cannot be told apart, and no packet has it. */
static void fill(uint16_t *w, int n)
{
	int i;

	for (i = 1; i < n; i++)
		w[i] = (uint16_t)rnd();
	w[n - 1] |= htons(0x4000);
	w[0] = 0;
	w[0] = htons(pkt_csum(w, (size_t)n * 2, 0));
}

Test(csum, random_16bit_updates_match_full_recompute)
{
	uint16_t w[WORDS_MAX];
	int r;

	for (r = 0; r < ROUNDS; r++) {
		int n = 3 + (int)(rnd() % (WORDS_MAX - 3)), i = 1 + (int)(rnd() % (n - 2));
		uint16_t from, to, inc;

		fill(w, n);
		from = w[i];
		/* Mix in the special values that break naive implementations. */
		switch (rnd() % 8) {
		case 0:
			to = 0;
			break;
		case 1:
			to = 0xffff;
			break;
		default:
			to = (uint16_t)rnd();
		}
		w[i] = to;
		inc = xcgn_csum_update16(w[0], from, to);
		w[0] = 0;
		cr_assert_eq(inc, htons(pkt_csum(w, (size_t)n * 2, 0)),
			     "round %d: 16-bit update at word %d of %d gives 0x%04x", r, i, n, inc);
	}
}

Test(csum, random_32bit_updates_match_full_recompute)
{
	uint16_t w[WORDS_MAX];
	int r;

	for (r = 0; r < ROUNDS; r++) {
		/* The 32-bit field sits at an even word (an address, say). */
		int n = 4 + (int)(rnd() % (WORDS_MAX - 4)), i = 1 + (int)(rnd() % (n - 3));
		uint32_t from, to;
		uint16_t inc;

		fill(w, n);
		memcpy(&from, &w[i], 4);
		to = (rnd() % 8) ? rnd() : ((rnd() & 1) ? 0 : 0xffffffffu);
		memcpy(&w[i], &to, 4);
		inc = xcgn_csum_update32(w[0], from, to);
		w[0] = 0;
		cr_assert_eq(inc, htons(pkt_csum(w, (size_t)n * 2, 0)),
			     "round %d: 32-bit update at word %d of %d gives 0x%04x", r, i, n, inc);
	}
}

/* An address and a port changing together, folded once
 * (xcgn_csum_update48), as two updates would leave it and as recomputing
 * does: the address at an even word, the port at another word. */
Test(csum, random_address_and_port_updates_match_full_recompute)
{
	uint16_t w[WORDS_MAX];
	int r;

	for (r = 0; r < ROUNDS; r++) {
		int n = 6 + (int)(rnd() % (WORDS_MAX - 6)), i = 1 + (int)(rnd() % (n - 3)), j;
		uint32_t from, to;
		uint16_t pfrom, pto, inc;

		do
			j = 1 + (int)(rnd() % (n - 2));
		while (j == i || j == i + 1);
		fill(w, n);
		memcpy(&from, &w[i], 4);
		pfrom = w[j];
		to = (rnd() % 8) ? rnd() : ((rnd() & 1) ? 0 : 0xffffffffu);
		pto = (rnd() % 8) ? (uint16_t)rnd() : ((rnd() & 1) ? 0 : 0xffff);
		memcpy(&w[i], &to, 4);
		w[j] = pto;
		inc = xcgn_csum_update48(w[0], from, to, pfrom, pto);
		cr_assert_eq(inc, xcgn_csum_update16(xcgn_csum_update32(w[0], from, to), pfrom, pto),
			     "round %d: one fold and two differ", r);
		w[0] = 0;
		cr_assert_eq(inc, htons(pkt_csum(w, (size_t)n * 2, 0)),
			     "round %d: address at word %d, port at %d of %d: 0x%04x", r, i, j, n, inc);
	}
}

/* The TTL's decrement (xcgn_csum_ttl_dec) against recomputation, over
 * random IPv4 headers with every TTL from 1 to 255, and over headers
 * built so that the old checksum is 0x0000 (also sent as 0xFFFF, its
 * other form, which the add carries over), or so that the add reaches
 * 0xFFFF (the end-around carry's edges). */
static void ttl_dec_check(uint8_t h[20], int r)
{
	uint16_t inc, want;

	memcpy(&inc, h + 10, 2);
	inc = xcgn_csum_ttl_dec(inc);
	h[8]--;
	h[10] = h[11] = 0;
	want = htons(pkt_csum(h, 20, 0));
	cr_assert_eq(inc, want, "round %d: TTL %u -> 0x%04x, recomputed 0x%04x", r, h[8] + 1u, inc,
		     want);
	memcpy(h + 10, &want, 2);
}

static void ipv4_header(uint8_t h[20], uint8_t ttl)
{
	uint16_t c;
	int i;

	for (i = 0; i < 20; i++)
		h[i] = (uint8_t)rnd();
	h[0] = 0x45;
	h[8] = ttl;
	h[10] = h[11] = 0;
	c = htons(pkt_csum(h, 20, 0));
	memcpy(h + 10, &c, 2);
}

Test(csum, ttl_decrement_matches_full_recompute)
{
	unsigned int edges[2] = { 0, 0 };
	uint8_t h[20];
	int r;

	for (r = 0; r < ROUNDS; r++) {
		ipv4_header(h, (uint8_t)(1 + rnd() % 255));
		ttl_dec_check(h, r);
	}
	/* The edges: search headers whose checksum is 0x0000 (the add gives
	 * 0x0100 in network order) or 0xFEFF (the add reaches 0xFFFF, which
	 * must come out 0x0000). */
	for (r = 0; r < 50 * ROUNDS && !(edges[0] && edges[1]); r++) {
		uint16_t c;

		ipv4_header(h, (uint8_t)(2 + rnd() % 254));
		c = (uint16_t)(h[10] << 8 | h[11]);
		if (c != 0x0000 && c != 0xfeff)
			continue;
		edges[c == 0xfeff]++;
		if (c == 0x0000) {
			uint8_t neg[20];

			memcpy(neg, h, sizeof(neg));
			neg[10] = neg[11] = 0xff;	/* -0 for +0 */
			ttl_dec_check(neg, r);
		}
		ttl_dec_check(h, r);
	}
	cr_assert(edges[0] && edges[1], "edges not reached: 0x0000 %u, 0xFEFF %u", edges[0],
		  edges[1]);
}

/* RFC 1624 §5: m = 0x5555 -> 0x3285 with the rest summing to 0xCD7A. The
 * RFC 1141 form gives 0xFFFF here; recomputation, and eqn. 3, give 0x0000. */
Test(csum, rfc1624_example_gives_0x0000_not_0xffff)
{
	uint32_t sum = 0xCD7A + 0x5555;
	uint16_t hc = (uint16_t)~((sum & 0xffff) + (sum >> 16));

	cr_assert_eq(hc, 0xDD2F, "the example's starting checksum");
	cr_assert_eq(xcgn_csum_update16(htons(hc), htons(0x5555), htons(0x3285)), 0x0000,
		     "eqn. 3 must give +0 where the data sums to 0xFFFF");
}

/* A checksum field holding 0xFFFF (-0) and one holding 0x0000 are both
 * updated to what recomputation says. */
Test(csum, starting_from_negative_zero)
{
	uint16_t w[4] = { 0, htons(0x1234), htons(0xEDCB), 0 };

	/* 0x1234 + 0xEDCB = 0xFFFF: the checksum is 0x0000. */
	w[0] = htons(pkt_csum(w, sizeof(w), 0));
	cr_assert_eq(w[0], 0, "checksum of data summing to 0xFFFF");
	w[3] = htons(0x0001);
	cr_assert_eq(xcgn_csum_update16(w[0], 0, w[3]), htons(0xFFFE), "0x0000 updated by +1");
}

Test(csum, udp_zero_checksum_stays_zero)
{
	cr_assert_eq(xcgn_csum_udp_fixup(0, 0x1234), 0, "no checksum stays no checksum");
	cr_assert_eq(xcgn_csum_udp_fixup(0, 0), 0, "no checksum stays no checksum");
}

Test(csum, udp_computed_zero_is_sent_as_ffff)
{
	cr_assert_eq(xcgn_csum_udp_fixup(0xabcd, 0), 0xffff, "computed 0 goes out as 0xFFFF");
	cr_assert_eq(xcgn_csum_udp_fixup(0xabcd, 0x1234), 0x1234, "other values untouched");
}

/* A whole UDP datagram whose translated checksum computes to 0: the update
 * plus the fixup must produce 0xFFFF, which a receiver accepts. */
Test(csum, udp_translation_to_computed_zero)
{
	struct pkt_spec s = { .proto = 17, .sport = 5000, .dport = 53, .payload = 32 };
	uint8_t f[128], g[128];
	uint32_t new_addr = htonl(0xC6336401);	/* 198.51.100.1 */
	size_t len, l4;
	char why[64];
	int tries;

	s.daddr = htonl(0xCB007102);
	for (tries = 0; tries < 100000; tries++) {
		uint16_t c, inc;
		uint32_t old;

		s.saddr = htonl(0x64400000 | (rnd() & 0x3fffff));
		s.sport = (uint16_t)(1024 + rnd() % 60000);
		len = pkt_build(f, sizeof(f), &s);
		cr_assert(len, "built");
		l4 = pkt_l4_off(f);
		/* Recompute what the checksum would be after the rewrite. */
		memcpy(g, f, len);
		memcpy(&old, g + pkt_l3_off(g) + 12, 4);
		memcpy(g + pkt_l3_off(g) + 12, &new_addr, 4);
		g[pkt_l3_off(g) + 10] = g[pkt_l3_off(g) + 11] = 0;
		c = htons(pkt_csum(g + pkt_l3_off(g), 20, 0));
		memcpy(g + pkt_l3_off(g) + 10, &c, 2);
		g[l4 + 6] = g[l4 + 7] = 0;
		{
			uint8_t ph[12];

			memcpy(ph, g + pkt_l3_off(g) + 12, 8);
			ph[8] = 0;
			ph[9] = 17;
			ph[10] = g[l4 + 4];
			ph[11] = g[l4 + 5];
			c = pkt_csum(g + l4, len - l4,
				     (uint32_t)(uint16_t)~pkt_csum(ph, sizeof(ph), 0));
		}
		if (c != 0)
			continue;
		/* Found one: the incremental path must send 0xFFFF. */
		memcpy(&inc, f + l4 + 6, 2);
		inc = xcgn_csum_update32(inc, old, new_addr);
		inc = xcgn_csum_udp_fixup(1, inc);
		cr_assert_eq(inc, 0xffff, "computed zero must be sent as 0xFFFF, got 0x%04x", inc);
		memcpy(g + l4 + 6, &inc, 2);
		cr_assert_eq(pkt_verify(g, len, why, sizeof(why)), 0, "receiver accepts: %s", why);
		return;
	}
	cr_assert_fail("no datagram with a computed-zero checksum found in %d tries", tries);
}

/* A sender that leaves the checksum to offload writes the pseudo-header
 * sum in the field; completing it (the sum over the whole segment with
 * that field, complemented) must give the full checksum. So the field
 * xcgn_csum_pseudo computes is what a partial checksum holds, for every
 * address, length and protocol. */
Test(csum, pseudo_header_sum_is_what_offload_completes)
{
	uint8_t f[1600];
	char why[128];
	int i;

	srand(7);
	for (i = 0; i < 20000; i++) {
		struct pkt_spec s = { .proto = i % 2 ? 6 : 17, .sport = (uint16_t)rand(),
				      .dport = (uint16_t)rand(),
				      .payload = (uint16_t)(rand() % 1400) };
		size_t len, l3, l4, csum_off;
		uint16_t l4len, c;

		s.saddr = (uint32_t)rand() ^ ((uint32_t)rand() << 16);
		s.daddr = (uint32_t)rand() ^ ((uint32_t)rand() << 16);
		len = pkt_build(f, sizeof(f), &s);
		cr_assert(len, "built");
		l3 = pkt_l3_off(f);
		l4 = pkt_l4_off(f);
		l4len = (uint16_t)(len - l4);
		csum_off = l4 + (s.proto == 6 ? 16 : 6);
		c = xcgn_csum_pseudo(s.saddr, s.daddr, htons(s.proto), htons(l4len));
		memcpy(f + csum_off, &c, 2);
		/* What the offload does: sum the segment, complement. */
		c = pkt_csum(f + l4, l4len, 0);	/* a value: on the wire big-endian */
		if (s.proto == 17 && !c)
			c = 0xffff;
		c = htons(c);
		memcpy(f + csum_off, &c, 2);
		cr_assert_eq(pkt_verify(f, len, why, sizeof(why)), 0, "case %d: %s (l3 %zu)", i, why,
			     l3);
	}
}
