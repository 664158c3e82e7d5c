/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Internet checksum arithmetic, shared by the datapath and userspace so the
 * same code that rewrites packets is unit-tested against full recomputation.
 *
 * Incremental updates follow RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), which
 * (unlike the RFC 1141 form) never turns a checksum that must be 0xFFFF
 * into 0x0000. All values are the 16-bit words exactly as they sit in the
 * packet: one's complement addition is byte-order independent (RFC 1071
 * §2(B)), so no byte swapping is needed on either side. The one exception
 * is xcgn_csum_ttl_dec(), which adds a constant: it is given per byte
 * order. */
#ifndef XCGN_CSUM_H
#define XCGN_CSUM_H

#include <linux/types.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* Fold a 32-bit one's complement accumulator to 16 bits (end-around carry). */
static __always_inline __u16 xcgn_csum_fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* Update checksum @hc for a 16-bit field changing from @from to @to. */
static __always_inline __u16 xcgn_csum_update16(__u16 hc, __u16 from, __u16 to)
{
	__u32 s = (__u16)~hc;

	s += (__u16)~from;
	s += to;
	return (__u16)~xcgn_csum_fold(s);
}

/* The unfolded sum ~@hc + ~m + m' for a 32-bit field (an address) going
 * from @from to @to: what the updates below fold. */
static __always_inline __u32 xcgn_csum_sum32(__u16 hc, __u32 from, __u32 to)
{
	__u32 s = (__u16)~hc;

	s += (__u16)~(from & 0xffff);
	s += (__u16)~(from >> 16);
	s += to & 0xffff;
	s += to >> 16;
	return s;
}

/* Update checksum @hc for a 32-bit field (an address) changing. */
static __always_inline __u16 xcgn_csum_update32(__u16 hc, __u32 from, __u32 to)
{
	return (__u16)~xcgn_csum_fold(xcgn_csum_sum32(hc, from, to));
}

/* Update checksum @hc for an address and a port changing together (a
 * NAT's rewrite of a TCP or UDP checksum): one fold for both. */
static __always_inline __u16 xcgn_csum_update48(__u16 hc, __u32 from, __u32 to, __u16 pfrom,
						__u16 pto)
{
	__u32 s = xcgn_csum_sum32(hc, from, to);

	s += (__u16)~pfrom;
	s += pto;
	return (__u16)~xcgn_csum_fold(s);
}

/* The IPv4 header checksum @hc after the TTL drops by one, as the kernel's
 * ip_decrease_ttl() computes it. The TTL is the high byte of its word, so
 * the word drops by 0x0100 and the checksum rises by as much, with
 * end-around carry: one add, no fold, and no read of the word just
 * written (a byte store then a 16-bit load of the same word stalls the
 * load). The add reaches 0xFFFF only where recomputation gives 0x0000:
 * a header's sum is never 0 (its version is not), so its checksum is
 * never 0xFFFF. */
#if !defined(__BYTE_ORDER__) || !defined(__ORDER_LITTLE_ENDIAN__)
#error "xcgn_csum.h: the compiler does not say its byte order"
#elif __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define XCGN_CSUM_TTL_ONE 0x0001	/* 0x0100 in network order, as loaded */
#else
#define XCGN_CSUM_TTL_ONE 0x0100
#endif
static __always_inline __u16 xcgn_csum_ttl_dec(__u16 hc)
{
	__u32 s = (__u32)hc + XCGN_CSUM_TTL_ONE;

	return (__u16)(s + (s >= 0xffff));
}

/* The TCP/UDP pseudo-header sum (RFC 793, 768), folded and not
 * complemented: what a sender that leaves the checksum to offload
 * (CHECKSUM_PARTIAL: a veth peer, a VM's virtio) writes in the checksum
 * field. A field that holds exactly this marks a partial checksum (a full
 * one matches only once in 65536, and that one merely takes the slow path
 * too). @proto and @len in network order, as the pseudo-header has them. */
static __always_inline __u16 xcgn_csum_pseudo(__u32 saddr, __u32 daddr, __u16 proto_be,
					      __u16 len_be)
{
	__u32 s = 0;

	s += saddr & 0xffff;
	s += saddr >> 16;
	s += daddr & 0xffff;
	s += daddr >> 16;
	s += proto_be;
	s += len_be;
	return xcgn_csum_fold(s);
}

/* UDP (RFC 768): a checksum of 0 means "none" and stays 0 whatever changed;
 * a computed 0 is sent as 0xFFFF. @old is the checksum before the update,
 * @updated the result of xcgn_csum_update*(). */
static __always_inline __u16 xcgn_csum_udp_fixup(__u16 old, __u16 updated)
{
	if (old == 0)
		return 0;
	return updated ? updated : 0xffff;
}

#endif /* XCGN_CSUM_H */
