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

#define BENCH_FRAME 60	/* 64-byte Ethernet frame without FCS */

struct frame {
	__u8 b[BENCH_FRAME];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
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
	__u32 zero = 0;

	t = bpf_map_lookup_elem(&bench_tmpl, &zero);
	if (!t || data + BENCH_FRAME > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(data, t->b, BENCH_FRAME);
	bpf_tail_call(ctx, &bench_next, 0);
	return XDP_ABORTED;
}

SEC("xdp")
int bench_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
