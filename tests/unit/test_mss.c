// SPDX-License-Identifier: GPL-2.0
/* include/xcgn_mss.h (the MSS clamp the datapath runs) against full
 * recomputation: random option layouts around the MSS option (NOPs,
 * window scale, SACK permitted, timestamps, in any order), every offset
 * the value can sit at, and options the clamp must leave alone. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "xcgn_mss.h"
#include "lib/pkt.h"

static uint64_t rng_state = 0x243f6a8885a308d3ULL;
static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

/* A TCP segment: 20 bytes of header, @olen of options, 16 of payload;
 * its checksum over a pseudo-header, as a receiver checks it. */
struct seg {
	uint8_t b[20 + XCGN_TCP_OPT_MAX + 16];
	uint32_t olen;
};

static uint16_t seg_csum(const struct seg *s)
{
	uint8_t ph[12 + sizeof(s->b)];
	uint32_t len = 20 + s->olen + 16;

	memset(ph, 0, 12);
	ph[0] = 100, ph[1] = 64, ph[2] = 1, ph[3] = 2;	/* 100.64.1.2 */
	ph[4] = 203, ph[5] = 0, ph[6] = 113, ph[7] = 2;	/* 203.0.113.2 */
	ph[9] = 6;
	ph[10] = (uint8_t)(len >> 8), ph[11] = (uint8_t)len;
	memcpy(ph + 12, s->b, len);
	return pkt_csum(ph, 12 + len, 0);
}

/* Options with the MSS (@mss) after @pad NOPs and among other options;
 * the rest padded with NOPs and an end to a multiple of 4. */
static void seg_make(struct seg *s, uint16_t mss, uint32_t pad, int others)
{
	uint8_t *o = s->b + 20;
	uint32_t i = 0, k;
	uint16_t c;

	memset(s->b, 0, sizeof(s->b));
	s->b[0] = 0x9c, s->b[1] = 0x40, s->b[2] = 0x1b, s->b[3] = 0x58;	/* ports */
	for (k = 0; k < 4; k++)
		s->b[4 + k] = (uint8_t)rnd();
	s->b[13] = 0x02;	/* SYN */
	s->b[14] = 0xfa, s->b[15] = 0xf0;
	for (k = 0; k < pad; k++)
		o[i++] = 1;
	if (others & 1) {	/* SACK permitted */
		o[i++] = 4, o[i++] = 2;
	}
	o[i++] = 2, o[i++] = 4, o[i++] = (uint8_t)(mss >> 8), o[i++] = (uint8_t)mss;
	if (others & 2) {	/* timestamps */
		o[i++] = 8, o[i++] = 10;
		for (k = 0; k < 8; k++)
			o[i++] = (uint8_t)rnd();
	}
	if (others & 4) {	/* window scale */
		o[i++] = 1, o[i++] = 3, o[i++] = 3, o[i++] = 7;
	}
	while (i & 3)
		o[i++] = 0;
	s->olen = i;
	s->b[12] = (uint8_t)(((20 + i) / 4) << 4);
	for (k = 0; k < 16; k++)
		s->b[20 + i + k] = (uint8_t)rnd();
	c = htons(seg_csum(s));
	memcpy(s->b + 16, &c, 2);
}

static uint16_t seg_mss(const struct seg *s, uint32_t pad, int others)
{
	uint32_t at = pad + ((others & 1) ? 2 : 0) + 2;

	return (uint16_t)(s->b[20 + at] << 8 | s->b[20 + at + 1]);
}

Test(mss, clamp_matches_full_recompute_at_every_offset)
{
	uint32_t pad, round;
	int others;

	for (round = 0; round < 2000; round++)
		for (pad = 0; pad < 8; pad++)
			for (others = 0; others < 8; others++) {
				struct seg s;
				struct xcgn_mss_window w = { .off = 0, .len = 0 };
				uint16_t c, want;
				uint16_t mss = (uint16_t)(1400 + rnd() % 8000);
				uint16_t clamp = (uint16_t)(536 + rnd() % 1400);

				seg_make(&s, mss, pad, others);
				memcpy(&c, s.b + 16, 2);
				cr_assert_eq(xcgn_mss_clamp(s.b + 20, s.olen, clamp, &c, &w),
					     mss > clamp, "mss %u clamp %u pad %u", mss, clamp, pad);
				memcpy(s.b + 16, &c, 2);
				want = mss > clamp ? clamp : mss;
				cr_assert_eq(seg_mss(&s, pad, others), want, "the MSS now %u",
					     seg_mss(&s, pad, others));
				cr_assert_eq(seg_csum(&s), 0, "checksum holds (pad %u others %d)",
					     pad, others);
				cr_assert(mss <= clamp || (w.off % 4 == 0 && w.off + w.len <= s.olen),
					  "the window lies within the options");
			}
}

Test(mss, leaves_alone_what_it_must)
{
	struct seg s;
	struct xcgn_mss_window w;
	uint8_t before[sizeof(s.b)];
	uint16_t c;

	/* No MSS option: only a window scale and an end. */
	memset(&s, 0, sizeof(s));
	s.olen = 4;
	s.b[20] = 3, s.b[21] = 3, s.b[22] = 7, s.b[23] = 0;
	memcpy(before, s.b, sizeof(s.b));
	c = 0x1234;
	cr_assert_eq(xcgn_mss_clamp(s.b + 20, s.olen, 1300, &c, &w), 0, "no MSS option");
	cr_assert_eq(c, 0x1234, "checksum untouched");
	/* An option length of 0 or 1 would loop or overrun: stop. */
	s.b[20] = 5, s.b[21] = 0;
	cr_assert_eq(xcgn_mss_clamp(s.b + 20, s.olen, 1300, &c, &w), 0, "length 0");
	s.b[21] = 1;
	cr_assert_eq(xcgn_mss_clamp(s.b + 20, s.olen, 1300, &c, &w), 0, "length 1");
	/* An MSS option of the wrong length, or one cut off by the header. */
	s.b[20] = 2, s.b[21] = 6;
	cr_assert_eq(xcgn_mss_clamp(s.b + 20, s.olen, 1300, &c, &w), 0, "MSS of length 6");
	s.olen = 4;
	s.b[20] = 1, s.b[21] = 1, s.b[22] = 2, s.b[23] = 4;	/* value past olen */
	cr_assert_eq(xcgn_mss_clamp(s.b + 20, s.olen, 1300, &c, &w), 0, "value past the end");
	/* At or below the clamp, and a clamp of 0 (off). */
	seg_make(&s, 1300, 0, 0);
	memcpy(&c, s.b + 16, 2);
	cr_assert_eq(xcgn_mss_clamp(s.b + 20, s.olen, 1300, &c, &w), 0, "equal: nothing");
	cr_assert_eq(xcgn_mss_clamp(s.b + 20, s.olen, 0, &c, &w), 0, "off");
	/* Lengths that are not whole words or exceed a TCP header. */
	cr_assert_eq(xcgn_mss_clamp(s.b + 20, 6, 1000, &c, &w), 0, "6 bytes of options");
	cr_assert_eq(xcgn_mss_clamp(s.b + 20, 44, 1000, &c, &w), 0, "44 bytes of options");
}
