// SPDX-License-Identifier: GPL-2.0
/* The IPFIX encoder (RFC 7011 framing, RFC 8158 records), byte for byte;
 * the decoders' side is the integration test's. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "sinks/sinks.h"

static unsigned int get16(const uint8_t *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

Test(ipfix, header_sets_and_records)
{
	struct ipfix_msg m;
	size_t len, off, set_len;
	unsigned int sets = 0;

	ipfix_msg_start(&m, 7, 42, 1700000000);
	cr_assert_eq(ipfix_msg_templates(&m), 0);
	cr_assert_eq(ipfix_block_rec(&m, 1700000000123ULL, true, inet_addr("100.64.1.2"),
				     inet_addr("198.51.100.3"), 1024, 1535),
		     0);
	cr_assert_eq(ipfix_block_rec(&m, 1700000000124ULL, false, inet_addr("100.64.1.2"),
				     inet_addr("198.51.100.3"), 1024, 1535),
		     0);
	cr_assert_eq(ipfix_quota_rec(&m, 1700000000125ULL, inet_addr("100.64.1.9"),
				     IPFIX_QUOTA_PER_USER, 4),
		     0);
	len = ipfix_msg_finish(&m);
	cr_assert_eq(m.nrec, 3);
	cr_assert_eq(get16(m.buf), 10, "version");
	cr_assert_eq(get16(m.buf + 2), len, "message length");
	cr_assert_eq(get32(m.buf + 4), 1700000000u, "export time");
	cr_assert_eq(get32(m.buf + 8), 42u, "sequence");
	cr_assert_eq(get32(m.buf + 12), 7u, "observation domain");
	/* The sets tile the message exactly: templates, 256 with two
	 * records, 257 with one. */
	for (off = 16; off < len; off += set_len, sets++) {
		set_len = get16(m.buf + off + 2);
		cr_assert_geq(set_len, 4);
		if (sets == 0)
			cr_assert_eq(get16(m.buf + off), 2, "a template set first");
		if (sets == 1) {
			cr_assert_eq(get16(m.buf + off), IPFIX_TMPL_BLOCK);
			cr_assert_eq(set_len, 4 + 2 * 25, "two 25-byte block records");
			cr_assert_eq(m.buf[off + 4 + 8], IPFIX_NAT_PORT_BLOCK_ALLOC);
			cr_assert_eq(m.buf[off + 4 + 25 + 8], IPFIX_NAT_PORT_BLOCK_DEALLOC);
			cr_assert_eq(get16(m.buf + off + 4 + 17), 1024, "portRangeStart");
			cr_assert_eq(get16(m.buf + off + 4 + 19), 1535, "portRangeEnd");
			cr_assert_eq(get16(m.buf + off + 4 + 23), 512, "portRangeNumPorts");
		}
		if (sets == 2)
			cr_assert_eq(get16(m.buf + off), IPFIX_TMPL_QUOTA);
	}
	cr_assert_eq(off, len, "sets end where the message does");
	cr_assert_eq(sets, 3);
}

/* Records stop at the message's size, never past it. */
Test(ipfix, full_message_refuses)
{
	struct ipfix_msg m;
	int n = 0;

	ipfix_msg_start(&m, 0, 0, 0);
	while (!ipfix_block_rec(&m, 1, true, 1, 2, 3, 4))
		n++;
	cr_assert_eq(n, (IPFIX_MSG_MAX - 16 - 4) / 25, "%d records fitted", n);
	cr_assert_leq(ipfix_msg_finish(&m), IPFIX_MSG_MAX);
	cr_assert_eq(ipfix_exhausted_rec(&m, 1, 0), -1, "a new set does not fit either");
}
