// SPDX-License-Identifier: GPL-2.0
/* The floor the NAT is measured against: a plain XDP IPv4 forwarder with no
 * NAT. It asks bpf_fib_lookup() where the packet goes, decrements the TTL,
 * writes the MACs and redirects; anything it cannot finish (not IPv4, TTL
 * running out, no neighbour, a packet over the MTU, options) goes to the
 * kernel. That is the least an XDP router does, so the NAT's cost is what
 * xcgn spends beyond it (issue 13: "at least 1.0x the plain XDP forwarder").
 *
 * It runs in BPF_PROG_TEST_RUN (tail-called by bench_restore) and attached
 * to the subscribers' device in the forwarding benchmark. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xcgn_csum.h"

#ifndef AF_INET
#define AF_INET 2
#endif

SEC("xdp")
int bench_fwd(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct bpf_fib_lookup fib = {};
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->ihl != 5 || ip->ttl <= 1)
		return XDP_PASS;
	fib.family = AF_INET;
	fib.tos = ip->tos;
	fib.l4_protocol = ip->protocol;
	fib.tot_len = bpf_ntohs(ip->tot_len);
	fib.ipv4_src = ip->saddr;
	fib.ipv4_dst = ip->daddr;
	fib.ifindex = ctx->ingress_ifindex;
	if (bpf_fib_lookup(ctx, &fib, sizeof(fib), 0) != BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_PASS;
	/* TTL down by one, with xcgn's arithmetic (the kernel's). */
	ip->check = xcgn_csum_ttl_dec(ip->check);
	ip->ttl--;
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	return (int)bpf_redirect(fib.ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
