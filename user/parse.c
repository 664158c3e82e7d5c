// SPDX-License-Identifier: GPL-2.0
/* Pure helpers: numbers, addresses, prefixes, port ranges, pool arithmetic.
 * No I/O, so the unit tests exercise them directly. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xcgn.h"

int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int parse_ipv4(const char *s, uint32_t *addr_be)
{
	struct in_addr a;

	/* inet_pton accepts only the full dotted quad, no shorthand. */
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*addr_be = a.s_addr;
	return 0;
}

uint32_t prefix_mask_be(uint8_t plen)
{
	if (plen == 0)
		return 0;
	if (plen >= 32)
		return 0xffffffffu;
	return htonl(~((1u << (32 - plen)) - 1));
}

int parse_prefix(const char *s, uint32_t *addr_be, uint8_t *plen)
{
	char buf[INET_ADDRSTRLEN + 4];
	const char *slash;
	uint32_t len = 32, a;

	if (!s || strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(s, '/');
	if (slash) {
		buf[slash - s] = '\0';
		if (parse_u32(slash + 1, 0, 32, &len))
			return -1;
	}
	if (parse_ipv4(buf, &a))
		return -1;
	if (a & ~prefix_mask_be((uint8_t)len))
		return -1;	/* host bits set: say what you mean */
	*addr_be = a;
	*plen = (uint8_t)len;
	return 0;
}

int parse_port_range(const char *s, uint16_t *lo, uint16_t *hi)
{
	char buf[16];
	const char *dash;
	uint32_t a, b;

	if (!s || strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	dash = strchr(s, '-');
	if (dash) {
		buf[dash - s] = '\0';
		if (parse_u32(buf, 1, 65535, &a) || parse_u32(dash + 1, 1, 65535, &b))
			return -1;
	} else {
		if (parse_u32(buf, 1, 65535, &a))
			return -1;
		b = a;
	}
	if (a > b)
		return -1;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

bool prefix_overlap(uint32_t a_be, uint8_t alen, uint32_t b_be, uint8_t blen)
{
	uint32_t m = prefix_mask_be(alen < blen ? alen : blen);

	return (a_be & m) == (b_be & m);
}

const char *ipv4_str(uint32_t addr_be, char *buf, size_t len)
{
	struct in_addr a = { .s_addr = addr_be };

	if (!inet_ntop(AF_INET, &a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

int pool_plan(struct xcgn_pool *p, char *why, size_t whylen)
{
	uint32_t span, nblocks;

	if (p->plen < 16 || p->plen > 32) {
		snprintf(why, whylen, "pool prefix length must be 16..32 (at most %u addresses)",
			 XCGN_PADDRS_MAX);
		return -1;
	}
	if ((1u << (32 - p->plen)) > XCGN_PADDRS_MAX) {
		snprintf(why, whylen, "a /%u holds more than %u addresses", p->plen,
			 XCGN_PADDRS_MAX);
		return -1;
	}
	if (!p->port_lo || p->port_lo > p->port_hi) {
		snprintf(why, whylen, "port range %u-%u is empty or starts at 0", p->port_lo,
			 p->port_hi);
		return -1;
	}
	if (p->block_size < XCGN_BLOCK_SIZE_MIN) {
		snprintf(why, whylen, "block size %u is below the minimum %u", p->block_size,
			 XCGN_BLOCK_SIZE_MIN);
		return -1;
	}
	span = (uint32_t)p->port_hi - p->port_lo + 1;
	if (span % p->block_size) {
		snprintf(why, whylen, "block size %u does not divide the %u ports of %u-%u",
			 p->block_size, span, p->port_lo, p->port_hi);
		return -1;
	}
	nblocks = span / p->block_size;
	if (nblocks > XCGN_BLKS_PER_ADDR_MAX) {
		snprintf(why, whylen, "%u blocks per address exceed the maximum %u", nblocks,
			 XCGN_BLKS_PER_ADDR_MAX);
		return -1;
	}
	if (!p->max_blocks || p->max_blocks > XCGN_SUB_BLOCKS_MAX) {
		snprintf(why, whylen, "max-blocks must be 1..%u", XCGN_SUB_BLOCKS_MAX);
		return -1;
	}
	if (p->max_blocks > nblocks) {
		snprintf(why, whylen, "max-blocks %u exceeds the %u blocks of an address",
			 p->max_blocks, nblocks);
		return -1;
	}
	if (p->filtering >= XCGN_FILTER_MAX) {
		snprintf(why, whylen, "unknown filtering %u", p->filtering);
		return -1;
	}
	p->nblocks = (uint16_t)nblocks;
	p->naddrs = 1u << (32 - p->plen);
	return 0;
}
