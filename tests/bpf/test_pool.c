// SPDX-License-Identifier: GPL-2.0
/* Port-block allocation and its limits: exhaustion, full tables, filtering,
 * and first packets of many subscribers on two CPUs at once. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <criterion/criterion.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "env.h"

static int send_l4(int prog, int ifindex, uint8_t proto, uint32_t src, uint16_t sport,
		   uint32_t dst, uint16_t dport, uint8_t *out, size_t *outlen)
{
	struct pkt_spec s = { .proto = proto, .sport = sport, .dport = dport, .payload = 8 };
	uint8_t in[128];
	size_t len;

	s.saddr = src;
	s.daddr = dst;
	len = pkt_build(in, sizeof(in), &s);
	cr_assert(len, "built");
	return env_run(prog, ifindex, in, len, out, outlen);
}

static int send_udp(int prog, int ifindex, uint32_t src, uint16_t sport, uint32_t dst,
		    uint16_t dport, uint8_t *out, size_t *outlen)
{
	return send_l4(prog, ifindex, 17, src, sport, dst, dport, out, outlen);
}

/* Outbound UDP; a refusal answered with ICMP 3/13 counts as XDP_DROP here
 * (the packet itself is dropped; tests/bpf/test_icmp.c checks the answer). */
static int out_udp(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint8_t *out)
{
	size_t l = 256;
	int v = send_udp(env.prog_in, env.ifin, src, sport, dst, dport, out, &l);

	if (v == XDP_REDIRECT && out[pkt_l3_off(out) + 9] == 1)
		return XDP_DROP;
	return v;
}

/* One /32 with two blocks of 64 ports; one block per subscriber. */
static void setup_small(void)
{
	struct pool_opts o = bpfenv_pool("198.51.100.5", 32, 1024, 1151, 64, 1);

	env_setup(&o);
}

Test(pool, block_exhaustion_refuses_one_subscriber_not_another, .init = setup_small,
     .fini = env_teardown)
{
	uint8_t out[256];
	int i, v;

	for (i = 0; i < 64; i++) {
		v = out_udp(ip(ENV_SUB1), (uint16_t)(30000 + i), ip(ENV_S1), 53, out);
		cr_assert_eq(v, XDP_REDIRECT, "flow %d of 64 fits in the block", i);
	}
	v = out_udp(ip(ENV_SUB1), 31000, ip(ENV_S1), 53, out);
	cr_assert_eq(v, XDP_DROP, "65th flow refused: the subscriber may take no more blocks");
	cr_assert_eq(env_drop(XCGN_DROP_SUB_LIMIT), 1, "counted as subscriber limit");

	/* Existing flows go on, and the other subscriber gets the other block. */
	v = out_udp(ip(ENV_SUB1), 30005, ip(ENV_S2), 53, out);
	cr_assert_eq(v, XDP_REDIRECT, "an existing mapping still works");
	v = out_udp(ip(ENV_SUB2), 30000, ip(ENV_S1), 53, out);
	cr_assert_eq(v, XDP_REDIRECT, "another subscriber is unaffected");
	cr_assert(ntohs(*(uint16_t *)(out + pkt_l4_off(out))) >= 1088, "on the second block");

	/* A third subscriber finds no block at all. */
	v = out_udp(ip("100.64.0.4"), 30000, ip(ENV_S1), 53, out);
	cr_assert_eq(v, XDP_DROP, "no block left");
	cr_assert_eq(env_drop(XCGN_DROP_NO_POOL), 1, "counted as no pool");
	cr_assert_eq(env_count(env.maps.map4), 65, "no mapping was evicted or added");
}

static void setup_grow(void)
{
	struct pool_opts o = bpfenv_pool("198.51.100.5", 32, 1024, 1279, 64, 3);

	env_setup(&o);
}

Test(pool, subscriber_grows_blocks_on_one_address_up_to_the_limit, .init = setup_grow,
     .fini = env_teardown)
{
	struct xcgn_sub sub;
	uint32_t key = ip(ENV_SUB1);
	uint8_t out[256];
	int i, n = 0;

	for (i = 0; i < 3 * 64 + 10; i++)
		if (out_udp(key, (uint16_t)(20000 + i), ip(ENV_S1), 53, out) == XDP_REDIRECT)
			n++;
	cr_assert_eq(n, 3 * 64, "exactly three blocks' worth of ports");
	cr_assert_eq(bpf_map_lookup_elem(env.maps.subs, &key, &sub), 0, "subscriber entry");
	cr_assert(sub.blocks[0] && sub.blocks[1] && sub.blocks[2] && !sub.blocks[3],
		  "three blocks held");
	cr_assert_eq(sub.nmaps, 3 * 64, "mapping count");
	cr_assert_eq(env_stat(XCGN_STAT_BLOCK_NEW), 3, "three allocations");
}

static void setup_tiny_tables(void)
{
	env_max_maps = 16;
	env_setup_default();
}

Test(pool, full_mapping_table_is_a_counted_refusal, .init = setup_tiny_tables,
     .fini = env_teardown)
{
	uint8_t out[256];
	int i, ok = 0;

	for (i = 0; i < 20; i++)
		if (out_udp(ip(ENV_SUB1), (uint16_t)(1024 + i), ip(ENV_S1), 53, out) ==
		    XDP_REDIRECT)
			ok++;
	cr_assert_eq(ok, 16, "the table holds 16 mappings");
	cr_assert_eq(env_drop(XCGN_DROP_MAP_FULL), 4, "the rest counted as table full");
	cr_assert_eq(out_udp(ip(ENV_SUB1), 1024, ip(ENV_S2), 53, out), XDP_REDIRECT,
		     "existing mappings keep working");
}

static void setup_adf(void)
{
	struct pool_opts o = bpfenv_pool("198.51.100.0", 30, 1024, 65535, 512, 4);

	o.filtering = XCGN_FILTER_ADF;
	env_setup(&o);
}

static int in_udp(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	uint8_t out[256];
	size_t l = sizeof(out);

	return send_udp(env.prog_out, env.ifout, src, sport, dst, dport, out, &l);
}

Test(pool, address_dependent_filtering, .init = setup_adf, .fini = env_teardown)
{
	uint8_t out[256];
	uint32_t pub;
	uint16_t pport;

	cr_assert_eq(out_udp(ip(ENV_SUB1), 5000, ip(ENV_S1), 3478, out), XDP_REDIRECT, "out");
	pub = pkt_saddr(out);
	pport = pkt_sport(out);
	cr_assert_eq(in_udp(ip(ENV_S1), 3478, pub, pport), XDP_REDIRECT, "S1 may answer");
	cr_assert_eq(in_udp(ip(ENV_S1), 9999, pub, pport), XDP_REDIRECT,
		     "S1 from another port too (address-dependent, not port-dependent)");
	cr_assert_eq(in_udp(ip(ENV_S2), 3478, pub, pport), XDP_DROP, "S2 was never contacted");
	cr_assert_eq(env_drop(XCGN_DROP_FILTERED), 1, "counted as filtered");
	cr_assert_eq(out_udp(ip(ENV_SUB1), 5000, ip(ENV_S2), 3478, out), XDP_REDIRECT, "to S2");
	cr_assert_eq(in_udp(ip(ENV_S2), 3478, pub, pport), XDP_REDIRECT, "now S2 may answer");
}

Test(pool, endpoint_independent_filtering_is_the_default, .init = env_setup_default,
     .fini = env_teardown)
{
	uint8_t out[256];

	cr_assert_eq(out_udp(ip(ENV_SUB1), 5000, ip(ENV_S1), 3478, out), XDP_REDIRECT, "out");
	cr_assert_eq(in_udp(ip(ENV_S2), 1, pkt_saddr(out), pkt_sport(out)), XDP_REDIRECT,
		     "any remote may reach an established mapping");
}

/* RFC 5382 REQ-3b: UDP filtered address-dependently, TCP (a SYN, here)
 * endpoint-independently, in one pool. */
static void setup_udp_adf(void)
{
	struct pool_opts o = bpfenv_pool("198.51.100.0", 30, 1024, 65535, 512, 4);

	o.filtering = XCGN_FILTER_ADF_UDP;
	env_setup(&o);
}

Test(pool, filtering_per_protocol, .init = setup_udp_adf, .fini = env_teardown)
{
	uint8_t out[256];
	size_t l = sizeof(out);
	uint32_t upub, tpub;
	uint16_t uport, tport;

	cr_assert_eq(out_udp(ip(ENV_SUB1), 5000, ip(ENV_S1), 3478, out), XDP_REDIRECT, "UDP out");
	upub = pkt_saddr(out);
	uport = pkt_sport(out);
	cr_assert_eq(send_l4(env.prog_in, env.ifin, 6, ip(ENV_SUB1), 5001, ip(ENV_S1), 80, out, &l),
		     XDP_REDIRECT, "TCP out");
	tpub = pkt_saddr(out);
	tport = pkt_sport(out);
	cr_assert_eq(in_udp(ip(ENV_S2), 3478, upub, uport), XDP_DROP,
		     "UDP: S2 was never contacted (address-dependent)");
	cr_assert_eq(env_drop(XCGN_DROP_FILTERED), 1, "counted as filtered");
	l = sizeof(out);
	cr_assert_eq(send_l4(env.prog_out, env.ifout, 6, ip(ENV_S2), 4000, tpub, tport, out, &l),
		     XDP_REDIRECT, "TCP: S2's SYN goes in (endpoint-independent)");
}

/* ---- two CPUs, same first packets ---------------------------------------- */

#define RACE_SUBS 1500

/* A first datagram of subscriber @saddr run on the inside program from a
 * thread (no Criterion assertion there): 0 with the verdict in @verdict
 * and the frame in @out, or an errno. */
static int thread_run(uint32_t saddr, uint8_t *out, size_t outlen, __u32 *verdict)
{
	struct pkt_spec s = { .proto = 17, .sport = 4000, .dport = 53, .payload = 8 };
	struct xdp_md ctx = {};
	uint8_t in[128];
	size_t len;

	s.saddr = saddr;
	s.daddr = inet_addr(ENV_S1);
	len = pkt_build(in, sizeof(in), &s);
	ctx.data_end = (__u32)len;
	ctx.ingress_ifindex = (__u32)env.ifin;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (__u32)len,
		    .data_out = out, .data_size_out = (__u32)outlen, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	if (bpf_prog_test_run_opts(env.prog_in, &o))
		return errno;
	*verdict = o.retval;
	return 0;
}

struct racer {
	int cpu;
	int redirects;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	cpu_set_t set;
	uint8_t out[256];
	int i;

	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return NULL;
	for (i = 0; i < RACE_SUBS; i++) {
		__u32 v;

		/* 100.64.1.0 + i */
		if (!thread_run(htonl(0x64400000 + 0x100 + (uint32_t)i), out, sizeof(out), &v) &&
		    v == XDP_REDIRECT)
			r->redirects++;
	}
	return NULL;
}

static void setup_race(void)
{
	struct pool_opts o = bpfenv_pool("198.51.100.0", 28, 1024, 65535, 512, 1);

	env_setup(&o);
}

Test(pool, concurrent_first_packets_never_double_allocate, .init = setup_race,
     .fini = env_teardown)
{
	struct racer r[2] = { { .cpu = 0 }, { .cpu = 1 } };
	pthread_t t[2];
	unsigned int bits = 0, subs = 0, idx, b;
	static uint8_t owner[XCGN_PADDRS_MAX][XCGN_BLKS_PER_ADDR_MAX];
	__be32 key, *prev = NULL;
	struct xcgn_sub sub;

	cr_assert_eq(pthread_create(&t[0], NULL, race, &r[0]), 0, "thread 0");
	cr_assert_eq(pthread_create(&t[1], NULL, race, &r[1]), 0, "thread 1");
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	cr_assert_eq(r[0].redirects, RACE_SUBS, "cpu 0 translated every packet");
	cr_assert_eq(r[1].redirects, RACE_SUBS, "cpu 1 translated every packet");

	/* Every subscriber holds one block, no block has two owners, and the
	 * bitmaps hold exactly the blocks subscribers hold. */
	memset(owner, 0, sizeof(owner));
	while (!bpf_map_get_next_key(env.maps.subs, prev, &key)) {
		cr_assert_eq(bpf_map_lookup_elem(env.maps.subs, &key, &sub), 0, "lookup");
		cr_assert(sub.blocks[0] && !sub.blocks[1], "exactly one block");
		cr_assert_eq(owner[sub.addr_idx][sub.blocks[0] - 1], 0,
			     "block %u of address %u allocated twice", sub.blocks[0] - 1,
			     sub.addr_idx);
		owner[sub.addr_idx][sub.blocks[0] - 1] = 1;
		cr_assert_eq(sub.nmaps, 1, "one mapping each, never two");
		subs++;
		prev = &key;
	}
	cr_assert_eq(subs, RACE_SUBS, "one entry per subscriber");
	for (idx = 0; idx < 16; idx++) {
		struct xcgn_blkmap bm;

		cr_assert_eq(bpf_map_lookup_elem(env.maps.blocks, &idx, &bm), 0, "bitmap");
		for (b = 0; b < 126; b++)
			if ((bm.w[b / 64] >> (b % 64)) & 1) {
				cr_assert(owner[idx][b], "block %u of %u marked but owned by none",
					  b, idx);
				bits++;
			}
	}
	cr_assert_eq(bits, subs, "no block leaked by a lost race");
	cr_assert_eq(env_count(env.maps.map4), RACE_SUBS, "one mapping per subscriber");
	cr_log_info("races lost and repaired: blocks %lu, mappings %lu",
		    (unsigned long)env_stat(XCGN_STAT_BLOCK_RACE),
		    (unsigned long)env_stat(XCGN_STAT_MAP_RACE));
}

static void setup_parity(void)
{
	struct pool_opts o = bpfenv_pool("198.51.100.0", 30, 1024, 65535, 512, 4);

	o.parity = 1;
	env_setup(&o);
}

/* RFC 4787 REQ-4: even stays even, odd stays odd, when the port cannot be
 * kept as it is. */
Test(pool, parity_is_preserved_when_asked, .init = setup_parity, .fini = env_teardown)
{
	uint8_t out[256];
	int i;

	for (i = 0; i < 100; i++) {
		uint16_t sport = (uint16_t)(40000 + i);	/* outside the subscriber's block */

		cr_assert_eq(out_udp(ip(ENV_SUB1), sport, ip(ENV_S1), 53, out), XDP_REDIRECT,
			     "flow %d", i);
		cr_assert_eq(pkt_sport(out) & 1, sport & 1, "port %u from %u keeps parity",
			     pkt_sport(out), sport);
	}
}

static void setup_rate(void)
{
	struct pool_opts o = bpfenv_pool("198.51.100.0", 30, 1024, 65535, 512, 4);

	o.new_rate = 10;
	env_setup(&o);
}

/* RFC 6888 REQ-5: one subscriber opening flows as fast as it can is capped;
 * its existing flows and every other subscriber carry on. */
Test(pool, new_mapping_rate_capped_per_subscriber, .init = setup_rate, .fini = env_teardown)
{
	uint8_t out[256];
	int i, ok = 0;

	for (i = 0; i < 40; i++)
		ok += out_udp(ip(ENV_SUB1), (uint16_t)(20000 + i), ip(ENV_S1), 53, out) ==
		      XDP_REDIRECT;
	cr_assert(ok >= 10 && ok <= 12, "a burst of about one second's worth: %d", ok);
	cr_assert_eq(env_drop(XCGN_DROP_SUB_RATE), (uint64_t)(40 - ok), "the rest refused, counted");
	cr_assert_eq(out_udp(ip(ENV_SUB1), 20000, ip(ENV_S2), 53, out), XDP_REDIRECT,
		     "an existing mapping is not a new one");
	for (i = 0; i < 10; i++)
		cr_assert_eq(out_udp(ip(ENV_SUB2), (uint16_t)(20000 + i), ip(ENV_S1), 53, out),
			     XDP_REDIRECT, "another subscriber's flow %d", i);
	usleep(1100000);
	for (i = 0, ok = 0; i < 15; i++)
		ok += out_udp(ip(ENV_SUB1), (uint16_t)(21000 + i), ip(ENV_S1), 53, out) ==
		      XDP_REDIRECT;
	cr_assert(ok >= 10 && ok <= 12, "a second later, about ten more: %d", ok);
}

/* A dynamic /28 beside a deterministic /28: the address slots of the
 * deterministic pool lie in the index space a new subscriber's probe
 * walks, and the probe must still find the dynamic addresses (a run of
 * probes that only met deterministic slots refused ~1 in 32). */
static void setup_mixed(void)
{
	struct pool_opts o = bpfenv_pool("198.51.100.0", 28, 1024, 65535, 512, 1);
	struct pool_opts det = bpfenv_pool("198.51.100.16", 28, 1024, 65535, 512, 2);

	env_setup(&o);
	det.deterministic = 1;
	cr_assert_eq(parse_prefix("100.64.200.0/23", &det.det_prefix, &det.det_plen), 0);
	cr_assert_eq(pool_add(&env.maps, &det), 0, "the deterministic pool");
}

Test(pool, deterministic_addresses_do_not_hide_dynamic_ones, .init = setup_mixed,
     .fini = env_teardown)
{
	uint8_t out[256];
	char a[16];
	int i, v, refused = 0;

	for (i = 0; i < 1000; i++) {
		snprintf(a, sizeof(a), "100.64.%d.%d", 1 + i / 250, 1 + i % 250);
		v = out_udp(ip(a), 30000, ip(ENV_S1), 53, out);
		refused += v != XDP_REDIRECT;
	}
	cr_assert_eq(refused, 0, "%d of 1000 new subscribers refused with 2016 blocks free",
		     refused);
	cr_assert_eq(env_drop(XCGN_DROP_NO_POOL), 0);
}

static void acct_sum(uint32_t sub, struct xcgn_acct *sum)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	struct xcgn_acct v[ncpu];

	memset(sum, 0, sizeof(*sum));
	if (bpf_map_lookup_elem(env.maps.acct, &sub, v))
		return;
	for (c = 0; c < ncpu; c++) {
		sum->pkts_out += v[c].pkts_out;
		sum->bytes_out += v[c].bytes_out;
		sum->pkts_in += v[c].pkts_in;
		sum->bytes_in += v[c].bytes_in;
	}
}

static void switches(uint32_t sw)
{
	struct xcgn_state rs;
	__u32 zero = 0;

	cr_assert_eq(bpf_map_lookup_elem(env.maps.state, &zero, &rs), 0);
	rs.switches = sw;
	cr_assert_eq(bpf_map_update_elem(env.maps.state, &zero, &rs, 0), 0);
}

/* Accounting: off by default (nothing counted), on: each subscriber's
 * packets and bytes each way, frames as they came. */
Test(pool, per_subscriber_accounting, .init = env_setup_default, .fini = env_teardown)
{
	struct xcgn_acct a;
	uint8_t out[256];
	uint32_t pub;
	uint16_t pport;
	int i;

	cr_assert_eq(out_udp(ip(ENV_SUB1), 4000, ip(ENV_S1), 53, out), XDP_REDIRECT);
	pub = pkt_saddr(out);
	pport = pkt_sport(out);
	acct_sum(ip(ENV_SUB1), &a);
	cr_assert_eq(a.pkts_out + a.pkts_in, 0, "nothing counted while off");
	switches(XCGN_SW_ACCOUNTING);
	for (i = 0; i < 3; i++)
		cr_assert_eq(out_udp(ip(ENV_SUB1), 4000, ip(ENV_S1), 53, out), XDP_REDIRECT);
	for (i = 0; i < 2; i++)
		cr_assert_eq(in_udp(ip(ENV_S1), 53, pub, pport), XDP_REDIRECT);
	acct_sum(ip(ENV_SUB1), &a);
	cr_assert_eq(a.pkts_out, 3);
	cr_assert_eq(a.pkts_in, 2);
	cr_assert_eq(a.bytes_out, 3 * 50, "three 50-byte frames out");
	cr_assert_eq(a.bytes_in, 2 * 50, "two in");
	acct_sum(ip(ENV_SUB2), &a);
	cr_assert_eq(a.pkts_out, 0, "another subscriber has nothing");
	switches(0);
	cr_assert_eq(out_udp(ip(ENV_SUB1), 4000, ip(ENV_S1), 53, out), XDP_REDIRECT);
	acct_sum(ip(ENV_SUB1), &a);
	cr_assert_eq(a.pkts_out, 3, "off again: not counted");
}

/* Issue 10 item 1: new subscribers take a pool at most sub_burst at once,
 * earned back over sub_refill_s. Spoofed sources past the cap are refused
 * (counted as new_subscriber_rate) without a block; a subscriber that has
 * one is not affected. */
static void setup_capped(void)
{
	struct pool_opts o = bpfenv_pool("198.51.100.0", 30, 1024, 65535, 512, 4);

	o.sub_burst = 8;
	o.sub_refill_s = 3600;
	env_setup(&o);
}

Test(pool, new_subscribers_capped_not_existing_ones, .init = setup_capped, .fini = env_teardown)
{
	uint8_t out[256];
	uint32_t s1 = ip(ENV_S1);
	int i, refused = 0;

	for (i = 0; i < 40; i++)
		if (out_udp(htonl(0x64410000u + (uint32_t)i), 5000, s1, 53, out) != XDP_REDIRECT)
			refused++;
	cr_assert_eq(env_count(env.maps.subs), 8, "the burst: 8 subscribers");
	cr_assert_eq(refused, 32, "the rest refused");
	cr_assert_eq(env_drop(XCGN_DROP_NEW_SUB_RATE), 32, "counted as the cap");
	cr_assert_eq(env_drop(XCGN_DROP_NO_POOL), 0, "not as an empty pool");
	/* The first subscriber opens more flows: no new subscriber, no cap. */
	for (i = 0; i < 20; i++)
		cr_assert_eq(out_udp(htonl(0x64410000u), (uint16_t)(6000 + i), s1, 53, out),
			     XDP_REDIRECT, "an existing subscriber's flow %d", i);
}

/* The cap starts full, whatever the clock reads: the coarse clock starts
 * near zero at boot, and a bucket that started empty would admit uptime /
 * cost subscribers, not its burst, for sub_refill seconds after boot, the
 * moment every subscriber comes back at once. */
static void setup_burst50(void)
{
	struct pool_opts o = bpfenv_pool("198.51.100.0", 28, 1024, 65535, 512, 1);

	o.sub_burst = 50;
	o.sub_refill_s = UINT16_MAX;	/* one subscriber earned back every 22 min */
	env_setup(&o);
}

Test(pool, new_subscriber_cap_starts_full_whatever_the_uptime, .init = setup_burst50,
     .fini = env_teardown)
{
	uint8_t out[256];
	int i, admitted = 0;

	for (i = 0; i < 60; i++)
		if (out_udp(htonl(0x64420000u + (uint32_t)i), 5000, ip(ENV_S1), 53, out) ==
		    XDP_REDIRECT)
			admitted++;
	cr_assert_eq(admitted, 50, "sub-burst 50 admits 50 of 60 new subscribers at once, "
				   "got %d (the host is up %ld s)", admitted, (long)env_uptime_s());
	cr_assert_eq(env_drop(XCGN_DROP_NEW_SUB_RATE), 10, "the other 10 counted as the cap");
}

/* Two CPUs at the bucket at once: each reads the clock before the lock,
 * so one may find a later reading there than its own. That is no time
 * elapsed, not a negative one taken unsigned (a full refill): together
 * they admit the burst, not more. */
#define CAP_RACE_PKTS 3000

struct cap_racer {
	int cpu;
	uint32_t base;
	int admitted;
	int err;
};

static void *cap_race(void *arg)
{
	struct cap_racer *r = arg;
	uint8_t out[256];
	cpu_set_t set;
	int i;

	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		r->err = errno;
		return NULL;
	}
	for (i = 0; i < CAP_RACE_PKTS; i++) {
		__u32 v;

		r->err = thread_run(htonl(r->base + (uint32_t)i), out, sizeof(out), &v);
		if (r->err)
			return NULL;
		if (v == XDP_REDIRECT && out[pkt_l3_off(out) + 9] != 1)
			r->admitted++;
	}
	return NULL;
}

Test(pool, new_subscriber_cap_holds_on_two_cpus_at_once, .init = setup_burst50,
     .fini = env_teardown)
{
	struct cap_racer r[2] = { { .cpu = 0, .base = 0x64500000u },
				  { .cpu = 1, .base = 0x64600000u } };
	pthread_t t[2];

	cr_assert_eq(pthread_create(&t[0], NULL, cap_race, &r[0]), 0, "thread 0");
	cr_assert_eq(pthread_create(&t[1], NULL, cap_race, &r[1]), 0, "thread 1");
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	cr_assert_eq(r[0].err, 0, "cpu 0: %s", strerror(r[0].err));
	cr_assert_eq(r[1].err, 0, "cpu 1: %s", strerror(r[1].err));
	cr_assert_eq(r[0].admitted + r[1].admitted, 50,
		     "sub-burst 50 on two CPUs at once admits 50 subscribers in all, got %d + %d",
		     r[0].admitted, r[1].admitted);
	cr_assert_eq(env_count(env.maps.subs), 50, "50 subscriber entries");
}

/* Issue 10 item 5: one subscriber may hold sub-mappings mappings, all
 * protocols together; past that it is refused and counted, and nobody
 * else is. */
static void setup_sub_maps(void)
{
	struct pool_opts o = bpfenv_default_pool();

	o.sub_maps = 5;
	env_setup(&o);
}

Test(pool, subscriber_mapping_cap_refuses_only_that_subscriber, .init = setup_sub_maps,
     .fini = env_teardown)
{
	uint8_t out[256];
	int i;

	for (i = 0; i < 5; i++)
		cr_assert_eq(out_udp(ip(ENV_SUB1), (uint16_t)(6000 + i), ip(ENV_S1), 53, out),
			     XDP_REDIRECT, "mapping %d of 5", i + 1);
	cr_assert_eq(out_udp(ip(ENV_SUB1), 6005, ip(ENV_S1), 53, out), XDP_DROP, "the sixth");
	cr_assert_eq(env_drop(XCGN_DROP_SUB_MAPS), 1, "counted as subscriber_mappings");
	cr_assert_eq(out_udp(ip(ENV_SUB1), 6000, ip(ENV_S2), 53, out), XDP_REDIRECT,
		     "its existing mappings still work");
	cr_assert_eq(out_udp(ip(ENV_SUB2), 6000, ip(ENV_S1), 53, out), XDP_REDIRECT,
		     "another subscriber is untouched");
	cr_assert_eq(env_count(env.maps.map4), 6, "5 + 1 mappings");
}

/* Remote @i (0-253): 192.0.2.1 on, behind the environment's gateway. */
static uint32_t remote(int i)
{
	return htonl(0xc0000201u + (uint32_t)i);
}

/* One subscriber's share of the filtering table (a 64th of it, at least
 * 256): past it the subscriber's new remotes are refused and counted,
 * everybody else's are not. A full table is a counted drop too. */
static void setup_sub_peers(void)
{
	struct pool_opts o = bpfenv_default_pool();

	o.filtering = XCGN_FILTER_ADF;
	o.map_peers = 0;	/* no cap a mapping: the subscriber's alone */
	o.sub_maps = 0;
	env_max_maps = 1024;	/* filtering table 1024, a share of 256 */
	env_setup(&o);
	env_max_maps = 8192;
}

Test(pool, subscriber_share_of_the_filtering_table, .init = setup_sub_peers,
     .fini = env_teardown)
{
	struct xcgn_sub sub;
	uint8_t out[256];
	uint32_t a = ip(ENV_SUB1);
	int i, ok = 0;

	for (i = 0; i < 300; i++)	/* two mappings, 150 remotes each: 300 entries */
		ok += out_udp(a, (uint16_t)(6000 + i / 150), remote(i % 150), 53, out) ==
		      XDP_REDIRECT;
	cr_assert_eq(ok, 256, "its share: 256 remotes of 300, got %d", ok);
	cr_assert_eq(env_drop(XCGN_DROP_SUB_PEERS), 44, "the rest counted as subscriber_peers");
	cr_assert_eq(bpf_map_lookup_elem(env.maps.subs, &a, &sub), 0);
	cr_assert_eq(sub.npeers, 256, "the subscriber's count");
	cr_assert_eq(sub.pool_id, 0, "the word it shares: pool_id untouched");
	cr_assert_eq(out_udp(ip(ENV_SUB2), 6000, remote(0), 53, out), XDP_REDIRECT,
		     "another subscriber is untouched");
	/* Four more subscribers at their share: 5 x 256 > 1024, the table
	 * fills and the rest is counted as such. */
	for (i = 0; i < 4 * 256; i++)
		out_udp(htonl(0x64400010u + (uint32_t)(i / 256)), (uint16_t)(7000 + i % 256 / 128),
			remote(i % 128), 53, out);
	cr_assert_eq(env_count(env.maps.peer4), 1024, "the table full");
	cr_assert(env_drop(XCGN_DROP_PEER_FULL) > 0, "a full table counted as peer_full");
}

/* A first fragment of datagram @id from @src (UDP, more fragments). */
static int first_frag(uint32_t src, uint16_t id)
{
	struct pkt_spec ps = { .proto = 17, .sport = 5000, .dport = 53, .payload = 64,
			       .frag_off = 0x2000 };
	uint8_t in[256], out[256];
	size_t len, l3, outlen = sizeof(out);
	uint16_t c;

	ps.saddr = src;
	ps.daddr = inet_addr(ENV_S1);
	len = pkt_build(in, sizeof(in), &ps);
	cr_assert(len, "built");
	l3 = pkt_l3_off(in);
	in[l3 + 4] = (uint8_t)(id >> 8);
	in[l3 + 5] = (uint8_t)id;
	in[l3 + 10] = in[l3 + 11] = 0;
	c = htons(pkt_csum(in + l3, 20, 0));
	memcpy(in + l3 + 10, &c, 2);
	return env_run(env.prog_in, env.ifin, in, len, out, &outlen);
}

/* One subscriber's share of the fragment table (an LRU, bounded anyway):
 * at most a 64th of it a note's lifetime, so that one subscriber's flood
 * of first fragments cannot push everybody else's datagrams out. */
Test(pool, subscriber_share_of_the_fragment_table, .init = env_setup_default,
     .fini = env_teardown)
{
	int i;

	for (i = 0; i < XCGN_SUB_FRAGS + 44; i++)
		cr_assert_eq(first_frag(ip(ENV_SUB1), (uint16_t)(100 + i)), XDP_REDIRECT,
			     "a first fragment is translated whatever its note (%d)", i);
	cr_assert_eq(env_count(env.maps.frag4), XCGN_SUB_FRAGS, "its share noted: %u",
		     env_count(env.maps.frag4));
	cr_assert_eq(env_stat(XCGN_STAT_FRAG_CAPPED), 44, "the rest counted");
	cr_assert_eq(first_frag(ip(ENV_SUB2), 7), XDP_REDIRECT, "another subscriber");
	cr_assert_eq(env_count(env.maps.frag4), XCGN_SUB_FRAGS + 1, "is noted");
}

/* Issue 10 item 5: one mapping's remotes in the filtering table, up to the
 * pool's map-peers; the collector's removal of one counts it off. */
static void setup_map_peers(void)
{
	struct pool_opts o = bpfenv_default_pool();

	o.filtering = XCGN_FILTER_ADF;
	o.map_peers = 3;
	env_setup(&o);
}

Test(pool, mapping_remote_cap_in_the_filtering_table, .init = setup_map_peers,
     .fini = env_teardown)
{
	struct xcgn_tuple4 k = { .addr = ip(ENV_SUB1), .port = htons(6000), .proto = 17 };
	struct xcgn_gc *gc = bpfenv_load_gc(&env);
	struct xcgn_gc_peer req = {};
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &req, .ctx_size_in = sizeof(req));
	struct xcgn_map4 m;
	uint8_t out[256];
	int i;

	cr_assert(gc);
	for (i = 1; i <= 3; i++) {
		char r[16];

		snprintf(r, sizeof(r), "192.0.2.%d", 20 + i);
		cr_assert_eq(out_udp(ip(ENV_SUB1), 6000, ip(r), 53, out), XDP_REDIRECT, "remote %d", i);
	}
	cr_assert_eq(bpf_map_lookup_elem(env.maps.map4, &k, &m), 0);
	cr_assert_eq(XCGN_MAP_PEERS(m.tcp), 3, "three remotes counted");
	cr_assert_eq(out_udp(ip(ENV_SUB1), 6000, ip("192.0.2.99"), 53, out), XDP_DROP, "a fourth");
	cr_assert_eq(env_drop(XCGN_DROP_MAP_PEERS), 1, "counted as mapping_peers");
	cr_assert_eq(out_udp(ip(ENV_SUB1), 6000, ip("192.0.2.21"), 53, out), XDP_REDIRECT,
		     "a known remote still goes");
	cr_assert_eq(out_udp(ip(ENV_SUB1), 6001, ip("192.0.2.99"), 53, out), XDP_REDIRECT,
		     "another mapping has its own");
	cr_assert_eq(env_count(env.maps.peer4), 4);

	req.key.pub.addr = m.paddr;
	req.key.pub.port = m.pport;
	req.key.pub.proto = 17;
	req.key.raddr = ip("192.0.2.22");
	cr_assert_eq(bpf_prog_test_run_opts(bpf_program__fd(gc->progs.xcgn_gc_peer_del), &o), 0);
	cr_assert_eq(req.result, XCGN_GC_EXPIRED, "removed");
	cr_assert_eq(bpf_map_lookup_elem(env.maps.map4, &k, &m), 0);
	cr_assert_eq(XCGN_MAP_PEERS(m.tcp), 2, "counted off");
	cr_assert_eq(out_udp(ip(ENV_SUB1), 6000, ip("192.0.2.99"), 53, out), XDP_REDIRECT,
		     "room for the fourth now");
	xcgn_gc__destroy(gc);
}
