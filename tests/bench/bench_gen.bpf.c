// SPDX-License-Identifier: GPL-2.0
/* Traffic generator and sink of the forwarding benchmark.
 *
 * bench_gen runs under BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES on
 * the subscribers' device: every run rewrites the template into the next
 * flow (subscriber address and source port) and sends it with XDP_TX.
 * Live frames reuse pages without restoring them, and the NAT under test
 * rewrites the frame it forwards (addresses, ports, TTL, MACs), so each run
 * starts from a fresh copy of the template. bench_sink counts what reaches
 * the internet side and drops it. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xcgn_csum.h"

const volatile __u32 nsubs = 50;
const volatile __u32 nports = 20;
const volatile __u32 sub_base = 0x64400101;	/* 100.64.1.1, host order */
const volatile __u32 port_base = 10000;
/* A flood (xcgn-bench flood): the varying address is the destination (a
 * pool's nsubs addresses from sub_base), its port random; the source is
 * the template's. */
const volatile __u32 flood;

#define GEN_FRAME 60	/* 64-byte Ethernet frame without FCS */

struct frame {
	__u8 b[GEN_FRAME];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct frame);
} gen_tmpl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} gen_seq SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sink_count SEC(".maps");

/* The one's complement sum of an option-less IPv4 header, folded: 0xffff
 * when its checksum holds. */
static __always_inline __u16 ip_hdr_sum(const struct iphdr *ip)
{
	const __u16 *w = (const __u16 *)ip;
	__u32 s = 0, i;

	for (i = 0; i < sizeof(*ip) / 2; i++)
		s += w[i];
	return xcgn_csum_fold(s);
}

SEC("xdp")
int bench_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *uh = (void *)(ip + 1);
	struct frame *t;
	__u32 zero = 0;
	__u64 *seq, n;

	if (data + GEN_FRAME > data_end)
		return XDP_ABORTED;
	seq = bpf_map_lookup_elem(&gen_seq, &zero);
	t = bpf_map_lookup_elem(&gen_tmpl, &zero);
	if (!seq || !t || !nsubs || !nports)
		return XDP_ABORTED;
	__builtin_memcpy(data, t->b, GEN_FRAME);
	n = (*seq)++;
	if (flood) {
		ip->daddr = bpf_htonl(sub_base + (__u32)(n % nsubs));
		uh->dest = bpf_htons(1024 + (__u16)(bpf_get_prandom_u32() % 64512));
	} else {
		ip->saddr = bpf_htonl(sub_base + (__u32)(n % nsubs));
		uh->source = bpf_htons((__u16)(port_base + (n / nsubs) % nports));
	}
	uh->check = 0;	/* "no checksum": valid for UDP over IPv4 */
	ip->check = 0;
	ip->check = (__u16)~ip_hdr_sum(ip);
	return XDP_TX;
}

/* Counts the generator's frames (UDP to port 9), whatever the NAT made of
 * their addresses, when their IPv4 header checksum still holds (a path
 * that rewrote the header wrongly delivers nothing); drops everything, the
 * stray IPv6 and ARP of the namespace too (they are not counted). */
SEC("xdp")
int bench_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *uh = (void *)(ip + 1);
	__u32 zero = 0;
	__u64 *c;

	if ((void *)(uh + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_UDP || ip->ihl != 5 || uh->dest != bpf_htons(9))
		return XDP_DROP;
	if (ip_hdr_sum(ip) != 0xffff)
		return XDP_DROP;
	c = bpf_map_lookup_elem(&sink_count, &zero);
	if (c)
		(*c)++;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
