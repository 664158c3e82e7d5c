// SPDX-License-Identifier: GPL-2.0
/* user/lib/parse.c: numbers, prefixes, port ranges, pool arithmetic. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "datapath/datapath.h"

Test(parse, u32_accepts_range_and_rejects_junk)
{
	uint32_t v;

	cr_assert_eq(parse_u32("512", 1, 65535, &v), 0, "512 parses");
	cr_assert_eq(v, 512, "value");
	cr_assert_neq(parse_u32("70000", 1, 65535, &v), 0, "above max");
	cr_assert_neq(parse_u32("0", 1, 65535, &v), 0, "below min");
	cr_assert_neq(parse_u32("12x", 0, 100, &v), 0, "trailing junk");
	cr_assert_neq(parse_u32("", 0, 100, &v), 0, "empty");
	cr_assert_neq(parse_u32("-1", 0, 100, &v), 0, "negative");
	cr_assert_neq(parse_u32("99999999999999999999", 0, 100, &v), 0, "overflow");
}

Test(parse, prefix_forms)
{
	uint32_t a;
	uint8_t l;

	cr_assert_eq(parse_prefix("198.51.100.0/26", &a, &l), 0, "a /26");
	cr_assert_eq(a, inet_addr("198.51.100.0"), "address");
	cr_assert_eq(l, 26, "length");
	cr_assert_eq(parse_prefix("198.51.100.7", &a, &l), 0, "a bare address");
	cr_assert_eq(l, 32, "bare means /32");
	cr_assert_neq(parse_prefix("198.51.100.1/26", &a, &l), 0, "host bits set");
	cr_assert_neq(parse_prefix("198.51.100.0/33", &a, &l), 0, "length 33");
	cr_assert_neq(parse_prefix("198.51.100/24", &a, &l), 0, "short form");
	cr_assert_neq(parse_prefix("300.1.1.0/24", &a, &l), 0, "octet 300");
	cr_assert_neq(parse_prefix("198.51.100.0/", &a, &l), 0, "empty length");
	cr_assert_neq(parse_prefix("", &a, &l), 0, "empty");
}

Test(parse, port_ranges)
{
	uint16_t lo, hi;

	cr_assert_eq(parse_port_range("1024-65535", &lo, &hi), 0, "full range");
	cr_assert(lo == 1024 && hi == 65535, "bounds");
	cr_assert_eq(parse_port_range("4000", &lo, &hi), 0, "single port");
	cr_assert(lo == 4000 && hi == 4000, "single port bounds");
	cr_assert_neq(parse_port_range("2000-1000", &lo, &hi), 0, "reversed");
	cr_assert_neq(parse_port_range("0-100", &lo, &hi), 0, "port 0");
	cr_assert_neq(parse_port_range("1-70000", &lo, &hi), 0, "above 65535");
	cr_assert_neq(parse_port_range("a-b", &lo, &hi), 0, "junk");
}

Test(parse, prefix_overlap_both_ways)
{
	cr_assert(prefix_overlap(inet_addr("100.64.0.0"), 10, inet_addr("100.64.5.0"), 24),
		  "a /24 inside the /10");
	cr_assert(prefix_overlap(inet_addr("100.64.5.0"), 24, inet_addr("100.64.0.0"), 10),
		  "symmetric");
	cr_assert(!prefix_overlap(inet_addr("198.51.100.0"), 26, inet_addr("198.51.100.64"), 26),
		  "neighbouring /26s");
	cr_assert(prefix_overlap(inet_addr("0.0.0.0"), 0, inet_addr("1.2.3.4"), 32),
		  "default route overlaps everything");
}

static struct xcgn_pool pool(uint8_t plen, uint16_t lo, uint16_t hi, uint16_t bs, uint16_t mb)
{
	struct xcgn_pool p;

	memset(&p, 0, sizeof(p));
	p.prefix = inet_addr("198.51.100.0");
	p.plen = plen;
	p.port_lo = lo;
	p.port_hi = hi;
	p.block_size = bs;
	p.max_blocks = mb;
	return p;
}

Test(pool_plan, design_example_has_126_blocks)
{
	struct xcgn_pool p = pool(26, 1024, 65535, 512, 4);
	char why[128];

	cr_assert_eq(pool_plan(&p, why, sizeof(why)), 0, "valid: %s", why);
	cr_assert_eq(p.nblocks, 126, "1024-65535 in 512-port blocks");
	cr_assert_eq(p.naddrs, 64, "a /26");
}

Test(pool_plan, block_size_must_divide_range)
{
	struct xcgn_pool p = pool(28, 1024, 65535, 1000, 4);
	char why[128];

	cr_assert_neq(pool_plan(&p, why, sizeof(why)), 0, "1000 does not divide 64512");
	cr_assert(strstr(why, "does not divide"), "reason says so: %s", why);
}

Test(pool_plan, limits)
{
	char why[128];
	struct xcgn_pool p;

	p = pool(28, 1024, 65535, 32, 4);
	cr_assert_neq(pool_plan(&p, why, sizeof(why)), 0, "block below the minimum");
	p = pool(28, 1024, 65535, 512, 9);
	cr_assert_neq(pool_plan(&p, why, sizeof(why)), 0, "max-blocks above %d",
		      XCGN_SUB_BLOCKS_MAX);
	p = pool(28, 1024, 1151, 64, 4);
	cr_assert_neq(pool_plan(&p, why, sizeof(why)), 0, "more max-blocks than blocks");
	p = pool(8, 1024, 65535, 512, 4);
	cr_assert_neq(pool_plan(&p, why, sizeof(why)), 0, "a /8 pool is too big");
	p = pool(32, 1024, 1087, 64, 1);
	cr_assert_eq(pool_plan(&p, why, sizeof(why)), 0, "one address, one block: %s", why);
	cr_assert_eq(p.nblocks, 1, "one block");
}

Test(parse, addr_port)
{
	uint32_t a;
	uint16_t p;

	cr_assert_eq(parse_addr_port("127.0.0.1:9800", &a, &p), 0);
	cr_assert_eq(p, 9800);
	cr_assert_eq(a, htonl(0x7f000001));
	cr_assert_neq(parse_addr_port("127.0.0.1", &a, &p), 0, "no port");
	cr_assert_neq(parse_addr_port("127.0.0.1:0", &a, &p), 0, "port 0");
	cr_assert_neq(parse_addr_port("127.0.0.1:65536", &a, &p), 0, "port too big");
	cr_assert_neq(parse_addr_port("localhost:80", &a, &p), 0, "a name");
	cr_assert_neq(parse_addr_port(":80", &a, &p), 0, "no address");
	cr_assert_neq(parse_addr_port("1.2.3.4:80x", &a, &p), 0, "trailing junk");
	cr_assert_neq(parse_addr_port("1111111111111111111111111111111111111:1", &a, &p), 0,
		      "too long");
}
