/* SPDX-License-Identifier: GPL-2.0 */
/* Packet parsing for XDP and tc alike (both give direct packet access
 * through data/data_end).
 *
 * Contract: every parse_* bounds-checks before it reads and fills the
 * cursor only on success. It returns 0 when the header is valid,
 * XCGN_NOT_OURS (> 0) when the packet is none of the NAT's business (not
 * IPv4, say), and -XCGN_DROP_* when the header is truncated or malformed.
 * A packet that does not parse completely is never translated. */
#ifndef XCGN_PARSE_H
#define XCGN_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xcgn_abi.h"
#include "xcgn_csum.h"

/* "Keep going, but this packet is not for translation." */
#define XCGN_NOT_OURS 1

#ifndef ETH_P_8021Q
#define ETH_P_8021Q 0x8100
#endif
#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

#define IP_MF_FLAG 0x2000	/* more fragments */
#define IP_OFFSET 0x1fff	/* fragment offset */

/* <linux/icmp.h> drags in libc headers through <linux/if.h>; the datapath
 * needs only the fixed part of an ICMP message. */
struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 id;		/* echo identifier, or unused for errors */
	__be16 sequence;
};

#define ICMP_ECHOREPLY		0
#define ICMP_DEST_UNREACH	3
#define ICMP_ECHO		8
#define ICMP_TIME_EXCEEDED	11
#define ICMP_PARAMETERPROB	12

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* L4 classes the NAT distinguishes. */
enum l4_class {
	L4_OTHER = 0,		/* another protocol: not translated */
	L4_TCP,
	L4_UDP,
	L4_ICMP_QUERY,		/* echo request/reply: the identifier is the port */
	L4_ICMP_ERROR,		/* carries an embedded header */
	L4_FRAGMENT,		/* a later IP fragment: no L4 header */
};

/* What the parser learned about a packet. Pointers are valid until the
 * packet is resized or a helper that may move it is called. */
struct pkt {
	void *data_end;
	struct ethhdr *eth;
	struct iphdr *ip;
	void *l4;
	__u16 l3_off;		/* from the start of the frame */
	__u16 l4_off;
	__u16 l4_len;		/* from the IP total length */
	__u8 vlan;		/* one 802.1Q/802.1AD tag seen */
	__u8 cls;		/* enum l4_class */
	__u8 icmp_type;
	__u8 tcp_flags;		/* TCP: the flags byte (FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10) */
	__u8 first_frag;	/* the first fragment of a fragmented datagram */
	__u8 _pad;
	__be16 *sport;		/* port or echo id (both point at the id for ICMP) */
	__be16 *dport;
	__sum16 *l4_csum;
};

/* Add the @n 32-bit words at @p to *@sum; @max, a constant, bounds the
 * loop for the verifier. 0, or -1 when the words run past @data_end. Words
 * summed in host order fold to the same one's complement sum (RFC 1071). */
static __always_inline int csum_words(const void *p, void *data_end, __u32 n, const __u32 max,
				      __u64 *sum)
{
	__u32 i;

	for (i = 0; i < max; i++) {
		const __u32 *wp = (const __u32 *)p + i;

		if (i >= n)
			break;
		/* Keep clang from folding the check into arithmetic on
		 * data_end, which the verifier refuses. */
		asm volatile("" : "+r"(wp));
		if ((void *)(wp + 1) > data_end)
			return -1;
		*sum += *wp;
	}
	return 0;
}

static __always_inline __u16 csum_fold64(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	return xcgn_csum_fold((__u32)s);
}

/* Does the IPv4 header's checksum check out? */
static __always_inline int ipv4_csum_ok(struct iphdr *ip, void *data_end, __u32 ihl)
{
	__u64 s = 0;

	return !csum_words(ip, data_end, ihl, 15, &s) && csum_fold64(s) == 0xffff;
}

/* The ICMP checksum over the whole message (RFC 5508 REQ-3: an error whose
 * checksum fails is dropped); the 1 to 3 bytes past the last word by hand.
 * Messages past XCGN_ICMP_CSUM_WORDS words are not believed (errors are
 * short: 576 bytes from Linux, RFC 1812). */
#define XCGN_ICMP_CSUM_WORDS 375
static __always_inline int icmp_csum_ok(void *msg, void *data_end, __u32 len)
{
	__u32 words = len / 4, rest = len & 3;
	__u64 s = 0;
	__u8 *t;

	if (words > XCGN_ICMP_CSUM_WORDS ||
	    csum_words(msg, data_end, words, XCGN_ICMP_CSUM_WORDS, &s))
		return 0;
	t = msg + words * 4;
	if (rest) {
		__u32 last = 0;

		/* Bytes past the message count as zeros (RFC 1071); the
		 * frame may end right after it. */
		asm volatile("" : "+r"(t));
		if ((void *)(t + 1) > data_end)
			return 0;
		((__u8 *)&last)[0] = t[0];
		if (rest > 1) {
			if ((void *)(t + 2) > data_end)
				return 0;
			((__u8 *)&last)[1] = t[1];
		}
		if (rest > 2) {
			if ((void *)(t + 3) > data_end)
				return 0;
			((__u8 *)&last)[2] = t[2];
		}
		s += last;
	}
	return csum_fold64(s) == 0xffff;
}

static __always_inline int parse_eth(struct pkt *p, void *data, void *data_end, __u16 *proto)
{
	struct ethhdr *eth = data;
	__u16 off = sizeof(*eth);
	__u16 h;

	if ((void *)(eth + 1) > data_end)
		return -XCGN_DROP_TRUNCATED;
	h = bpf_ntohs(eth->h_proto);
	if (h == ETH_P_8021Q || h == ETH_P_8021AD) {
		struct vlan_hdr *vh = (void *)(eth + 1);

		if ((void *)(vh + 1) > data_end)
			return -XCGN_DROP_TRUNCATED;
		h = bpf_ntohs(vh->proto);
		off += sizeof(*vh);
		p->vlan = 1;
	}
	p->data_end = data_end;
	p->eth = eth;
	p->l3_off = off;
	*proto = h;
	return 0;
}

/* @pkt_len is the whole packet's length from the Ethernet header: in XDP
 * all of it is at data..data_end; in tc only the headers need be linear
 * (the tc program pulls them), and the rest may sit in page fragments. */
static __always_inline int parse_ipv4(struct pkt *p, void *data, __u32 pkt_len)
{
	struct iphdr *ip = data + p->l3_off;
	void *data_end = p->data_end;
	__u32 ihl, tot;

	if ((void *)(ip + 1) > data_end)
		return -XCGN_DROP_TRUNCATED;
	ihl = ip->ihl;
	if (ip->version != 4 || ihl < 5)
		return -XCGN_DROP_BAD_IP;
	if ((void *)ip + ihl * 4 > data_end)
		return -XCGN_DROP_TRUNCATED;
	tot = bpf_ntohs(ip->tot_len);
	if (tot < ihl * 4)
		return -XCGN_DROP_BAD_IP;
	/* Frames may carry link padding after the datagram, never less. */
	if (p->l3_off + tot > pkt_len)
		return -XCGN_DROP_TRUNCATED;
	/* XDP runs before ip_rcv(), which would have checked this. */
	if (!ipv4_csum_ok(ip, data_end, ihl))
		return -XCGN_DROP_BAD_IP_CSUM;
	p->ip = ip;
	p->l4_off = p->l3_off + ihl * 4;
	p->l4_len = tot - ihl * 4;
	p->l4 = (void *)ip + ihl * 4;
	return 0;
}

/* Classify and bounds-check the L4 header. Only what is fully inside the
 * IP datagram counts as present. */
static __always_inline int parse_l4(struct pkt *p)
{
	void *l4 = p->l4;
	void *data_end = p->data_end;

	p->l4_csum = 0;
	if (p->ip->frag_off & bpf_htons(IP_OFFSET)) {
		p->cls = L4_FRAGMENT;
		return 0;
	}
	/* A first fragment has the L4 header; its length fields and its
	 * checksum speak of the whole datagram. */
	p->first_frag = !!(p->ip->frag_off & bpf_htons(IP_MF_FLAG));
	switch (p->ip->protocol) {
	case IPPROTO_TCP: {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end || p->l4_len < sizeof(*th))
			return -XCGN_DROP_TRUNCATED;
		if (th->doff < 5 || th->doff * 4 > p->l4_len)
			return -XCGN_DROP_BAD_L4;
		p->cls = L4_TCP;
		p->tcp_flags = ((__u8 *)th)[13];
		p->sport = &th->source;
		p->dport = &th->dest;
		p->l4_csum = &th->check;
		return 0;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = l4;
		__u16 ulen;

		if ((void *)(uh + 1) > data_end || p->l4_len < sizeof(*uh))
			return -XCGN_DROP_TRUNCATED;
		ulen = bpf_ntohs(uh->len);
		if (ulen < sizeof(*uh) || (p->first_frag ? ulen < p->l4_len : ulen > p->l4_len))
			return -XCGN_DROP_BAD_L4;
		p->cls = L4_UDP;
		p->sport = &uh->source;
		p->dport = &uh->dest;
		p->l4_csum = &uh->check;
		return 0;
	}
	case IPPROTO_ICMP: {
		struct icmphdr *ih = l4;

		if ((void *)(ih + 1) > data_end || p->l4_len < sizeof(*ih))
			return -XCGN_DROP_TRUNCATED;
		p->icmp_type = ih->type;
		p->l4_csum = &ih->checksum;
		switch (ih->type) {
		case ICMP_ECHO:
		case ICMP_ECHOREPLY:
			p->cls = L4_ICMP_QUERY;
			p->sport = &ih->id;
			p->dport = &ih->id;
			return 0;
		case ICMP_DEST_UNREACH:
		case ICMP_TIME_EXCEEDED:
		case ICMP_PARAMETERPROB:
			/* A first fragment holds only part of the message. */
			if (!p->first_frag && !icmp_csum_ok(ih, data_end, p->l4_len))
				return -XCGN_DROP_BAD_ICMP_CSUM;
			p->cls = L4_ICMP_ERROR;
			return 0;
		}
		p->cls = L4_OTHER;
		return 0;
	}
	}
	p->cls = L4_OTHER;
	return 0;
}

/* The packet an ICMP error quotes: its IP header and the first 8 bytes of
 * its L4 header (RFC 792), which hold the ports or the echo identifier. */
struct icmp_inner {
	struct iphdr *ip;
	__be16 *sport;		/* port or echo id (both point at the id for ICMP) */
	__be16 *dport;
	__sum16 *l4_csum;	/* NULL when not quoted (TCP's sits past 8 bytes) */
	__u8 proto;
	__u8 _pad[7];
};

/* Parse the quoted packet of an ICMP error (RFC 5508 REQ-3): a valid IPv4
 * header (checksum included, REQ-3a) with options skipped (REQ-3b), not a
 * non-first fragment, carrying TCP, UDP or an ICMP echo, whose first 8
 * bytes are present. The quoted L4 checksum is not validated (REQ-3c). */
static __always_inline int parse_icmp_inner(const struct pkt *p, struct icmp_inner *q)
{
	struct iphdr *iip = p->l4 + sizeof(struct icmphdr);
	void *data_end = p->data_end, *l4;
	__u32 ihl;

	if ((void *)(iip + 1) > data_end || p->l4_len < sizeof(struct icmphdr) + sizeof(*iip))
		return -XCGN_DROP_TRUNCATED;
	ihl = iip->ihl;
	if (iip->version != 4 || ihl < 5)
		return -XCGN_DROP_BAD_IP;
	if ((void *)iip + ihl * 4 + 8 > data_end ||
	    p->l4_len < sizeof(struct icmphdr) + ihl * 4 + 8)
		return -XCGN_DROP_TRUNCATED;
	if (!ipv4_csum_ok(iip, data_end, ihl))
		return -XCGN_DROP_BAD_IP_CSUM;
	if (iip->frag_off & bpf_htons(IP_OFFSET))
		return -XCGN_DROP_ICMP_ERROR;	/* no L4 header quoted */
	l4 = (void *)iip + ihl * 4;
	if ((void *)l4 + 8 > data_end)
		return -XCGN_DROP_TRUNCATED;
	q->ip = iip;
	q->proto = iip->protocol;
	q->l4_csum = 0;
	switch (iip->protocol) {
	case IPPROTO_TCP: {
		struct tcphdr *th = l4;

		q->sport = &th->source;
		q->dport = &th->dest;
		if ((void *)(th + 1) <= data_end &&
		    p->l4_len >= sizeof(struct icmphdr) + ihl * 4 + sizeof(*th))
			q->l4_csum = &th->check;
		return 0;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = l4;

		q->sport = &uh->source;
		q->dport = &uh->dest;
		q->l4_csum = &uh->check;
		return 0;
	}
	case IPPROTO_ICMP: {
		struct icmphdr *ih = l4;

		if (ih->type != ICMP_ECHO && ih->type != ICMP_ECHOREPLY)
			return -XCGN_DROP_ICMP_ERROR;
		q->sport = &ih->id;
		q->dport = &ih->id;
		q->l4_csum = &ih->checksum;
		return 0;
	}
	}
	return -XCGN_DROP_ICMP_ERROR;	/* a protocol we never translated */
}

#endif /* XCGN_PARSE_H */
