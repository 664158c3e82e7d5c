// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "lib/pkt.h"

#define ETH_HLEN 14

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint16_t pkt_csum(const void *data, size_t len, uint32_t init)
{
	const uint8_t *p = data;
	uint64_t s = init;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)(p[len - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

size_t pkt_l3_off(const uint8_t *frame)
{
	return get16(frame + 12) == 0x8100 ? ETH_HLEN + 4 : ETH_HLEN;
}

size_t pkt_l4_off(const uint8_t *frame)
{
	size_t l3 = pkt_l3_off(frame);

	return l3 + (size_t)(frame[l3] & 0xf) * 4;
}

/* Sum of the pseudo-header for an L4 length @l4len (host order words). */
static uint32_t pseudo_sum(const uint8_t *ip, uint16_t l4len)
{
	uint32_t s = 0;
	int i;

	for (i = 12; i < 20; i += 2)
		s += get16(ip + i);
	s += ip[9];
	s += l4len;
	return s;
}

size_t pkt_build(uint8_t *buf, size_t cap, const struct pkt_spec *s)
{
	size_t l3 = ETH_HLEN + (s->vlan ? 4 : 0), ihl = 20 + 4u * s->opt_words, l4hl;
	uint8_t *ip, *l4;
	size_t l4len, total, i;

	switch (s->proto) {
	case 6:
		l4hl = 20;
		break;
	case 17:
	case 1:
		l4hl = 8;
		break;
	default:
		l4hl = 0;
	}
	l4len = l4hl + s->payload;
	total = l3 + ihl + l4len;
	if (total > cap || s->opt_words > 10)
		return 0;
	memset(buf, 0, total);
	memcpy(buf, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	if (s->vlan) {
		put16(buf + 12, 0x8100);
		put16(buf + 14, 42);
		put16(buf + 16, s->ethertype ? s->ethertype : 0x0800);
	} else {
		put16(buf + 12, s->ethertype ? s->ethertype : 0x0800);
	}
	ip = buf + l3;
	ip[0] = (uint8_t)(0x40 | (ihl / 4));
	put16(ip + 2, (uint16_t)(ihl + l4len));
	put16(ip + 4, 0x1234);
	put16(ip + 6, s->frag_off);
	ip[8] = s->ttl ? s->ttl : 64;
	ip[9] = s->proto;
	memcpy(ip + 12, &s->saddr, 4);
	memcpy(ip + 16, &s->daddr, 4);
	for (i = 20; i < ihl; i++)
		ip[i] = 1;	/* NOP options */
	put16(ip + 10, pkt_csum(ip, ihl, 0));

	l4 = ip + ihl;
	for (i = 0; i < s->payload; i++)
		l4[l4hl + i] = (uint8_t)(i * 7 + 3);
	switch (s->proto) {
	case 6:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, 0x0102);
		l4[12] = 5 << 4;
		l4[13] = 0x02;	/* SYN */
		put16(l4 + 14, 65535);
		put16(l4 + 16, pkt_csum(l4, l4len, pseudo_sum(ip, (uint16_t)l4len)));
		break;
	case 17:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, (uint16_t)l4len);
		if (!s->udp_csum_zero) {
			uint16_t c = pkt_csum(l4, l4len, pseudo_sum(ip, (uint16_t)l4len));

			put16(l4 + 6, c ? c : 0xffff);
		}
		break;
	case 1:
		l4[0] = s->icmp_type;
		put16(l4 + 4, s->sport);
		put16(l4 + 6, 1);
		put16(l4 + 2, pkt_csum(l4, l4len, 0));
		break;
	}
	return total;
}

int pkt_verify(const uint8_t *frame, size_t len, char *why, size_t whylen)
{
	size_t l3 = pkt_l3_off(frame), l4off = pkt_l4_off(frame);
	const uint8_t *ip = frame + l3, *l4 = frame + l4off;
	size_t ihl = l4off - l3, l4len;

	if (len < l4off || get16(ip + 2) > len - l3) {
		snprintf(why, whylen, "frame too short");
		return 1;
	}
	l4len = get16(ip + 2) - ihl;
	if (pkt_csum(ip, ihl, 0) != 0) {
		snprintf(why, whylen, "IPv4 header checksum wrong (0x%04x)", get16(ip + 10));
		return 2;
	}
	if ((get16(ip + 6) & 0x3fff) != 0)
		return 0;	/* a fragment: no L4 checksum to check here */
	switch (ip[9]) {
	case 6:
		if (pkt_csum(l4, l4len, pseudo_sum(ip, (uint16_t)l4len)) != 0) {
			snprintf(why, whylen, "TCP checksum wrong (0x%04x)", get16(l4 + 16));
			return 3;
		}
		break;
	case 17:
		if (get16(l4 + 6) == 0)
			return 0;
		if (pkt_csum(l4, l4len, pseudo_sum(ip, (uint16_t)l4len)) != 0) {
			snprintf(why, whylen, "UDP checksum wrong (0x%04x)", get16(l4 + 6));
			return 4;
		}
		break;
	case 1:
		if (pkt_csum(l4, l4len, 0) != 0) {
			snprintf(why, whylen, "ICMP checksum wrong (0x%04x)", get16(l4 + 2));
			return 5;
		}
		break;
	}
	return 0;
}

uint32_t pkt_saddr(const uint8_t *frame)
{
	uint32_t a;

	memcpy(&a, frame + pkt_l3_off(frame) + 12, 4);
	return a;
}

uint32_t pkt_daddr(const uint8_t *frame)
{
	uint32_t a;

	memcpy(&a, frame + pkt_l3_off(frame) + 16, 4);
	return a;
}

static int is_icmp(const uint8_t *frame)
{
	return frame[pkt_l3_off(frame) + 9] == 1;
}

uint16_t pkt_sport(const uint8_t *frame)
{
	const uint8_t *l4 = frame + pkt_l4_off(frame);

	return is_icmp(frame) ? get16(l4 + 4) : get16(l4);
}

uint16_t pkt_dport(const uint8_t *frame)
{
	const uint8_t *l4 = frame + pkt_l4_off(frame);

	return is_icmp(frame) ? get16(l4 + 4) : get16(l4 + 2);
}

uint16_t pkt_l4_csum(const uint8_t *frame)
{
	const uint8_t *l4 = frame + pkt_l4_off(frame);

	switch (frame[pkt_l3_off(frame) + 9]) {
	case 6:
		return get16(l4 + 16);
	case 17:
		return get16(l4 + 6);
	default:
		return get16(l4 + 2);
	}
}

size_t pkt_icmp_error(uint8_t *buf, size_t cap, uint32_t src, uint32_t dst, uint8_t type,
		      uint8_t code, const uint8_t *orig, size_t quote)
{
	struct pkt_spec s = { .proto = 1, .icmp_type = type };
	const uint8_t *oip = orig + pkt_l3_off(orig);
	size_t len, l4;

	s.saddr = src;
	s.daddr = dst;
	s.payload = (uint16_t)quote;
	len = pkt_build(buf, cap, &s);
	if (!len)
		return 0;
	l4 = pkt_l4_off(buf);
	buf[l4 + 1] = code;
	memset(buf + l4 + 4, 0, 4);	/* unused / next-hop MTU */
	if (type == 3 && code == 4)
		put16(buf + l4 + 6, 1280);
	memcpy(buf + l4 + 8, oip, quote);
	buf[l4 + 2] = buf[l4 + 3] = 0;
	put16(buf + l4 + 2, pkt_csum(buf + l4, len - l4, 0));
	return len;
}

const uint8_t *pkt_quoted(const uint8_t *frame)
{
	return frame + pkt_l4_off(frame) + 8;
}

int pkt_verify_quoted(const uint8_t *frame, size_t len, char *why, size_t whylen)
{
	const uint8_t *qip = pkt_quoted(frame), *l4;
	size_t ihl = (size_t)(qip[0] & 0xf) * 4, avail = len - (size_t)(qip - frame), l4len;

	if (avail < ihl || pkt_csum(qip, ihl, 0) != 0) {
		snprintf(why, whylen, "quoted IPv4 header checksum wrong (0x%04x)", get16(qip + 10));
		return 1;
	}
	if (get16(qip + 2) != avail)
		return 0;	/* not all quoted: its L4 checksum cannot be checked */
	l4 = qip + ihl;
	l4len = avail - ihl;
	switch (qip[9]) {
	case 6:
	case 17:
		if (qip[9] == 17 && get16(l4 + 6) == 0)
			return 0;
		if (pkt_csum(l4, l4len, pseudo_sum(qip, (uint16_t)l4len)) != 0) {
			snprintf(why, whylen, "quoted L4 checksum wrong");
			return 2;
		}
		break;
	case 1:
		if (pkt_csum(l4, l4len, 0) != 0) {
			snprintf(why, whylen, "quoted ICMP checksum wrong");
			return 3;
		}
		break;
	}
	return 0;
}
