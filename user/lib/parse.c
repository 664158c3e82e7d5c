// SPDX-License-Identifier: GPL-2.0
/* Pure helpers: numbers, addresses, prefixes, port ranges, pool arithmetic.
 * No I/O, so the unit tests exercise them directly. */
#define _GNU_SOURCE	/* strptime, timegm */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/lib.h"

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

const char *const xcgn_timer_name[XCGN_TIMER_MAX] = {
	[XCGN_TIMER_UDP] = XCGN_TIMER_NAME_UDP,
	[XCGN_TIMER_TCP_EST] = XCGN_TIMER_NAME_TCP_EST,
	[XCGN_TIMER_TCP_TRANS] = XCGN_TIMER_NAME_TCP_TRANS,
	[XCGN_TIMER_ICMP] = XCGN_TIMER_NAME_ICMP,
};
const uint32_t xcgn_timer_default[XCGN_TIMER_MAX] = {
	[XCGN_TIMER_UDP] = XCGN_DEF_UDP_TIMEOUT,
	[XCGN_TIMER_TCP_EST] = XCGN_DEF_TCP_EST,
	[XCGN_TIMER_TCP_TRANS] = XCGN_DEF_TCP_TRANS,
	[XCGN_TIMER_ICMP] = XCGN_DEF_ICMP_TIMEOUT,
};
const uint32_t xcgn_timer_min[XCGN_TIMER_MAX] = {
	[XCGN_TIMER_UDP] = XCGN_MIN_UDP_TIMEOUT,
	[XCGN_TIMER_TCP_EST] = XCGN_MIN_TCP_EST,
	[XCGN_TIMER_TCP_TRANS] = XCGN_MIN_TCP_TRANS,
	[XCGN_TIMER_ICMP] = XCGN_MIN_ICMP_TIMEOUT,
};

int pool_plan(struct xcgn_pool *p, char *why, size_t whylen)
{
	int t;

	uint32_t span, nblocks;

	/* A /16 is 65536 addresses, the most an instance holds (max-addresses):
	 * the two limits say the same. */
	if (p->plen < 16 || p->plen > 32) {
		snprintf(why, whylen, "pool prefix length must be 16..32 (a /16 is %u addresses, "
			 "the most max-addresses may be)", XCGN_PADDRS_MAX);
		return -1;
	}
	_Static_assert(1u << 16 == XCGN_PADDRS_MAX, "a /16 is the most addresses an instance holds");
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
	if (p->filtering & ~XCGN_FILTER_ADF) {
		snprintf(why, whylen, "unknown filtering %u", p->filtering);
		return -1;
	}
	for (t = 0; t < XCGN_TIMER_MAX; t++) {
		if (!p->timeout[t])
			p->timeout[t] = xcgn_timer_default[t];
		if (p->timeout[t] < xcgn_timer_min[t]) {
			snprintf(why, whylen, "%s %u is below the RFC minimum %u", xcgn_timer_name[t],
				 p->timeout[t], xcgn_timer_min[t]);
			return -1;
		}
	}
	p->nblocks = (uint16_t)nblocks;
	p->naddrs = 1u << (32 - p->plen);
	/* The cap on new subscribers: by default three quarters of the pool's
	 * blocks at once (a restart or a cluster failover brings most
	 * subscribers back at once: room for them, while a flood of spoofed
	 * ones leaves a quarter), earned back in sub_refill_s (the time such a
	 * flood would hold its blocks: the UDP timer and the quarantine). A
	 * pool of at most 256 blocks is a lab's: a cap would only slow its
	 * churn (one block earned back in minutes), so none. A deterministic
	 * pool hands out nothing to a newcomer: no cap. */
	if (p->flags & XCGN_POOLF_DETERMINISTIC) {
		p->sub_burst = 0;
	} else if (p->sub_burst == XCGN_SUB_BURST_AUTO) {
		uint64_t blocks = (uint64_t)p->naddrs * nblocks;

		p->sub_burst = blocks <= XCGN_SUB_BURST_FLOOR ? 0 : (uint32_t)(blocks * 3 / 4);
	}
	if (!p->sub_refill_s)
		p->sub_refill_s = XCGN_DEF_SUB_REFILL;
	/* Mappings a subscriber may hold, all protocols together: by default
	 * two protocols' worth of the ports of its blocks (without a cap,
	 * three, and a few subscribers fill the shared tables). Not one: a
	 * subscriber out of ports in one protocol would reach it at the same
	 * moment, and be told the cap rather than its port limit. */
	if (p->sub_maps == XCGN_SUB_MAPS_AUTO)
		p->sub_maps = 2u * p->max_blocks * p->block_size;
	if (p->flags & XCGN_POOLF_DETERMINISTIC) {
		uint64_t subs = 1ULL << (32 - p->det_plen), per_addr = nblocks / p->max_blocks;

		/* Every subscriber of the prefix gets max-blocks blocks, fixed. */
		if (subs > per_addr * p->naddrs) {
			snprintf(why, whylen,
				 "deterministic: %llu subscribers need %llu addresses at %llu "
				 "subscribers each, the pool has %u",
				 (unsigned long long)subs,
				 (unsigned long long)((subs + per_addr - 1) / per_addr),
				 (unsigned long long)per_addr, p->naddrs);
			return -1;
		}
	}
	return 0;
}

int det_forward(const struct xcgn_pool *p, uint32_t sub_be, uint32_t *paddr_be, uint16_t *lo,
		uint16_t *hi)
{
	uint32_t n = ntohl(sub_be) - ntohl(p->det_prefix), per_addr;

	if (!(p->flags & XCGN_POOLF_DETERMINISTIC) || !p->max_blocks ||
	    (p->det_plen < 32 && (n >> (32 - p->det_plen))) || (p->det_plen == 32 && n))
		return -1;
	per_addr = p->nblocks / p->max_blocks;
	if (!per_addr || n / per_addr >= p->naddrs)
		return -1;
	*paddr_be = htonl(ntohl(p->prefix) + n / per_addr);
	*lo = (uint16_t)(p->port_lo + (n % per_addr) * p->max_blocks * p->block_size);
	*hi = (uint16_t)(*lo + p->max_blocks * p->block_size - 1);
	return 0;
}

int det_reverse(const struct xcgn_pool *p, uint32_t paddr_be, uint16_t port, uint32_t *sub_be)
{
	uint32_t a = ntohl(paddr_be) - ntohl(p->prefix), per_addr, n, span;

	if (!(p->flags & XCGN_POOLF_DETERMINISTIC) || !p->max_blocks || a >= p->naddrs ||
	    port < p->port_lo || port > p->port_hi)
		return -1;
	per_addr = p->nblocks / p->max_blocks;
	span = (uint32_t)p->max_blocks * p->block_size;
	if ((uint32_t)(port - p->port_lo) / span >= per_addr)
		return -1;	/* ports past the last whole subscriber share */
	n = a * per_addr + (uint32_t)(port - p->port_lo) / span;
	if (p->det_plen < 32 && (n >> (32 - p->det_plen)))
		return -1;
	if (p->det_plen == 32 && n)
		return -1;
	*sub_be = htonl(ntohl(p->det_prefix) + n);
	return 0;
}

int prefix_match(const char *word, const char *const *names, size_t n)
{
	size_t i, len = strlen(word);
	int found = -1;

	if (!len)
		return -1;
	for (i = 0; i < n && names[i]; i++) {
		if (!strcmp(word, names[i]))
			return (int)i;
		if (!strncmp(word, names[i], len))
			found = found == -1 ? (int)i : -2;
	}
	return found;
}

/* ---- pool exclusions: pure, over the pool's address offsets ------------- */

int parse_addr_port(const char *s, uint32_t *addr_be, uint16_t *port)
{
	char buf[32];
	const char *colon = strrchr(s, ':');
	uint32_t p;

	if (!colon || (size_t)(colon - s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, (size_t)(colon - s));
	buf[colon - s] = '\0';
	if (parse_ipv4(buf, addr_be) || parse_u32(colon + 1, 1, 65535, &p))
		return -1;
	*port = (uint16_t)p;
	return 0;
}

/* ".NNN" at *@p (1 to 3 digits, what the NAT log writes) into @ms, *@p
 * past it; nothing there is 0 ms. 0, or -1. */
static int frac_ms(const char **p, uint32_t *ms)
{
	uint32_t v = 0;
	int n = 0;

	*ms = 0;
	if (**p != '.')
		return 0;
	for ((*p)++; **p >= '0' && **p <= '9'; (*p)++, n++)
		if (n < 3)
			v = v * 10 + (uint32_t)(**p - '0');
		else
			return -1;
	if (!n)
		return -1;
	for (; n < 3; n++)
		v *= 10;
	*ms = v;
	return 0;
}

int parse_time_ms(const char *s, uint64_t *ms)
{
	const char *fmts[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S" };
	struct tm tm;
	const char *end;
	uint32_t v, frac;
	size_t i;

	if (s[0] == '@') {
		char secs[16];
		size_t n = strcspn(s + 1, ".");

		if (n == 0 || n >= sizeof(secs))
			return -1;
		memcpy(secs, s + 1, n);
		secs[n] = '\0';
		end = s + 1 + n;
		/* Up to milliseconds: "@1795329505.592". */
		if (parse_u32(secs, 0, UINT32_MAX, &v) || frac_ms(&end, &frac) || *end)
			return -1;
		*ms = (uint64_t)v * 1000 + frac;
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(fmts); i++) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, fmts[i], &tm);
		if (!end)
			continue;
		/* As the NAT log writes it: "2026-11-24T21:09:30.250Z". */
		if (frac_ms(&end, &frac))
			return -1;
		if (*end == 'Z')
			end++;
		if (*end)
			return -1;
		{
			time_t t = timegm(&tm);

			/* Before 1970 (or not a time): no record can be that
			 * old, and as unsigned it would wrap to the latest. */
			if (t < 0)
				return -1;
			*ms = (uint64_t)t * 1000 + frac;
		}
		return 0;
	}
	return -1;
}
