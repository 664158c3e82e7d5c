// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "env.h"

struct bpfenv env;
unsigned int env_max_maps = 8192;

long env_uptime_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec;
}

uint32_t ip(const char *s)
{
	return inet_addr(s);
}

void env_setup(const struct pool_opts *pool)
{
	char why[256] = "";

	if (geteuid() != 0)
		cr_skip_test("BPF_PROG_TEST_RUN needs root (CAP_BPF, CAP_NET_ADMIN)");
	/* Criterion runs each test in its own process: the namespace dies
	 * with it, whatever happens. */
	cr_assert_eq(bpfenv_setup(&env, pool, env_max_maps, why, sizeof(why)), 0, "setup: %s",
		     why);
}

void env_setup_default(void)
{
	struct pool_opts o = bpfenv_default_pool();

	env_setup(&o);
}

void env_teardown(void)
{
	bpfenv_teardown(&env);
}

int env_run(int prog, int ifindex, const uint8_t *in, size_t len, uint8_t *out, size_t *outlen)
{
	struct xdp_md ctx = {};

	/* A tc program gets an skb's context, as if forwarded from the inside. */
	if (prog == env.prog_tc || prog == env.prog_tc_in || prog == env.prog_tc_inside)
		return env_run_tc(prog, ifindex, in, len, out, outlen);
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (__u32)len,
		    .data_out = out, .data_size_out = (__u32)*outlen, .repeat = 1);
	int err;

	if (ifindex) {
		ctx.data_end = (__u32)len;
		ctx.ingress_ifindex = (__u32)ifindex;
		o.ctx_in = &ctx;
		o.ctx_size_in = sizeof(ctx);
	}
	err = bpf_prog_test_run_opts(prog, &o);
	cr_assert_eq(err, 0, "test_run: %s", strerror(errno));
	*outlen = o.data_size_out;
	return (int)o.retval;
}

int env_run_tc(int prog, int ifindex, const uint8_t *in, size_t len, uint8_t *out, size_t *outlen)
{
	return env_run_tc_from(prog, ifindex, env.ifin, in, len, out, outlen);
}

int env_run_tc_from(int prog, int ifindex, int ingress, const uint8_t *in, size_t len,
		    uint8_t *out, size_t *outlen)
{
	struct __sk_buff ctx = { .ifindex = (__u32)ifindex, .ingress_ifindex = (__u32)ingress };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (__u32)len,
		    .data_out = out, .data_size_out = (__u32)*outlen, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	int err;

	err = bpf_prog_test_run_opts(prog, &o);
	cr_assert_eq(err, 0, "test_run: %s", strerror(errno));
	*outlen = o.data_size_out;
	return (int)o.retval;
}

static uint64_t stat_sum(int idx, int drop)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	struct xcgn_stats *v = calloc((size_t)ncpu, sizeof(*v));
	__u32 zero = 0;
	uint64_t s = 0;

	cr_assert(v, "calloc");
	cr_assert_eq(bpf_map_lookup_elem(env.maps.stats, &zero, v), 0, "stats");
	for (c = 0; c < ncpu; c++)
		s += drop ? v[c].drop[idx] : v[c].stat[idx];
	free(v);
	return s;
}

uint64_t env_stat(int idx)
{
	return stat_sum(idx, 0);
}

uint64_t env_drop(int idx)
{
	return stat_sum(idx, 1);
}

unsigned int env_count(int fd)
{
	uint8_t key[64], prev[64];
	unsigned int n = 0;
	void *p = NULL;

	while (!bpf_map_get_next_key(fd, p, key)) {
		n++;
		memcpy(prev, key, sizeof(key));
		p = prev;
	}
	return n;
}
