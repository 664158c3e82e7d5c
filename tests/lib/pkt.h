/* SPDX-License-Identifier: GPL-2.0 */
/* Crafted packets for the tests and the benchmark: build Ethernet/IPv4/L4
 * frames with correct checksums, and check a frame's checksums by full
 * recomputation (RFC 1071, byte by byte: independent of include/xcgn_csum.h,
 * which is what is under test). */
#ifndef XCGN_TEST_PKT_H
#define XCGN_TEST_PKT_H

#include <stddef.h>
#include <stdint.h>

struct pkt_spec {
	uint8_t proto;		/* 6, 17, 1, or anything else */
	uint32_t saddr, daddr;	/* network order */
	uint16_t sport, dport;	/* host order; for ICMP echo sport is the id */
	uint8_t icmp_type;	/* 8 request, 0 reply, 3/11 errors */
	uint8_t ttl;		/* 0 means 64 */
	uint8_t opt_words;	/* IPv4 option words (NOPs), 0..10 */
	uint8_t vlan;		/* add one 802.1Q tag */
	uint8_t udp_csum_zero;	/* send UDP without checksum */
	uint16_t frag_off;	/* host order: flags and offset field */
	uint16_t payload;	/* payload bytes (pattern filled) */
	uint16_t ethertype;	/* 0 means IPv4 */
};

/* Build the frame into @buf; returns its length, or 0 if @cap is short. */
size_t pkt_build(uint8_t *buf, size_t cap, const struct pkt_spec *s);

/* RFC 1071 checksum of @len bytes (the one's complement of the sum),
 * starting from the 32-bit partial sum @init. */
uint16_t pkt_csum(const void *data, size_t len, uint32_t init);

/* Offsets of a frame built by pkt_build. */
size_t pkt_l3_off(const uint8_t *frame);
size_t pkt_l4_off(const uint8_t *frame);

/* Recompute every checksum of @frame (IPv4 header, TCP/UDP with the
 * pseudo-header, ICMP) and return 0 when all agree with what is in the
 * frame; otherwise a non-zero code and a reason in @why. A UDP checksum of
 * 0 is accepted (none). */
int pkt_verify(const uint8_t *frame, size_t len, char *why, size_t whylen);

/* Build an ICMP error (@type/@code) from @src to @dst that quotes the first
 * @quote bytes of the IP datagram in frame @orig (a frame from pkt_build).
 * Returns the frame length, or 0. */
size_t pkt_icmp_error(uint8_t *buf, size_t cap, uint32_t src, uint32_t dst, uint8_t type,
		      uint8_t code, const uint8_t *orig, size_t quote);

/* Check what an ICMP error quotes: the quoted IPv4 header's checksum, and
 * the quoted TCP/UDP/ICMP checksum when the whole datagram is quoted. */
int pkt_verify_quoted(const uint8_t *frame, size_t len, char *why, size_t whylen);

/* The quoted datagram of an ICMP error frame: its addresses and ports. */
const uint8_t *pkt_quoted(const uint8_t *frame);

/* Field accessors, network order in, host order out where noted. */
uint32_t pkt_saddr(const uint8_t *frame);
uint32_t pkt_daddr(const uint8_t *frame);
uint16_t pkt_sport(const uint8_t *frame);	/* host order; ICMP: echo id */
uint16_t pkt_dport(const uint8_t *frame);	/* host order; ICMP: echo id */
uint16_t pkt_l4_csum(const uint8_t *frame);	/* as on the wire */

#endif /* XCGN_TEST_PKT_H */
