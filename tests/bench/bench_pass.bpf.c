// SPDX-License-Identifier: GPL-2.0
/* Harness of the BPF_PROG_TEST_RUN figures.
 *
 * With `repeat`, the kernel runs a program over the same buffer again and
 * again without restoring it, and a NAT rewrites its input: the second run
 * would see a translated packet. So bench_restore copies the original frame
 * back before every run and tail-calls the program under test; the baseline
 * is the same restore followed by bench_pass, which does nothing, so the
 * difference is the cost of the program under test alone. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xcgn_abi.h"

#define BENCH_FRAME 60	/* 64-byte Ethernet frame without FCS */

struct frame {
	__u8 b[BENCH_FRAME];
};

/* The frame to restore, one a CPU of two (bench_restore; the two-CPU
 * figure runs a flow of its own on each). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct frame);
} bench_tmpl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} bench_next SEC(".maps");

SEC("xdp")
int bench_restore(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct frame *t;
	__u32 cpu = bpf_get_smp_processor_id() & 1;

	t = bpf_map_lookup_elem(&bench_tmpl, &cpu);
	if (!t || data + BENCH_FRAME > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(data, t->b, BENCH_FRAME);
	bpf_tail_call(ctx, &bench_next, 0);
	return XDP_ABORTED;
}

/* For the session-setup figures: each run a new flow. bench_vary_subs 0:
 * the same subscriber, a new source port each run (a mapping in the
 * subscriber's blocks); 1: a new subscriber each run too (its creation,
 * a block claimed, the allocation event). */
volatile const __u32 bench_vary_subs;
__u32 bench_seq;

SEC("xdp")
int bench_restore_new(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u8 *b = data;
	struct frame *t;
	__u32 zero = 0, n, sum = 0, i;

	t = bpf_map_lookup_elem(&bench_tmpl, &zero);
	if (!t || data + BENCH_FRAME > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(data, t->b, BENCH_FRAME);
	n = __sync_fetch_and_add(&bench_seq, 1);
	/* UDP source port (frame offset 34), checksum off (40). */
	b[34] = (__u8)((1024 + n % 60000) >> 8);
	b[35] = (__u8)(1024 + n % 60000);
	b[40] = b[41] = 0;
	if (bench_vary_subs) {
		/* Source 100.64.x.y from the run's number; the header checksum again. */
		b[28] = 100;
		b[29] = (__u8)(64 + ((n >> 16) & 0x3f));
		b[30] = (__u8)(n >> 8);
		b[31] = (__u8)(n | 1);
		b[24] = b[25] = 0;
		for (i = 0; i < 10; i++)
			sum += (__u32)(b[14 + 2 * i] << 8 | b[15 + 2 * i]);
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		b[24] = (__u8)(~sum >> 8);
		b[25] = (__u8)~sum;
	}
	bpf_tail_call(ctx, &bench_next, 0);
	return XDP_ABORTED;
}

/* The reference for session setup (issue 13 item 3): what no new mapping
 * can do without, a lookup that misses and an insert in each direction,
 * into hashes of xcgn_map4's and xcgn_rev4's shapes and of their capacity
 * (set before load). Tail-called after bench_restore_new, like xcgn. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct xcgn_tuple4);
	__type(value, struct xcgn_map4);
} bench_pair_fwd SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct xcgn_tuple4);
	__type(value, struct xcgn_rev4);
} bench_pair_rev SEC(".maps");

__u64 bench_pairs_made;

SEC("xdp")
int bench_pair(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct xcgn_tuple4 in = { .proto = 17 }, pub = { .proto = 17 };
	struct xcgn_map4 m = {};
	struct xcgn_rev4 r = {};
	__u8 *b = data;

	if (data + BENCH_FRAME > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(&in.addr, b + 26, 4);
	__builtin_memcpy(&in.port, b + 34, 2);
	if (bpf_map_lookup_elem(&bench_pair_fwd, &in))
		return XDP_ABORTED;	/* every run is a new flow */
	pub.addr = bpf_htonl(0xc6336401);	/* 198.51.100.1 */
	pub.port = in.port;
	m.paddr = pub.addr;
	m.pport = pub.port;
	r.saddr = in.addr;
	r.sport = in.port;
	if (bpf_map_update_elem(&bench_pair_rev, &pub, &r, BPF_NOEXIST) ||
	    bpf_map_update_elem(&bench_pair_fwd, &in, &m, BPF_NOEXIST))
		return XDP_ABORTED;
	__sync_fetch_and_add(&bench_pairs_made, 1);
	return XDP_PASS;
}

SEC("xdp")
int bench_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
