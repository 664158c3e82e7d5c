// SPDX-License-Identifier: GPL-2.0
/* Session lifecycle in the datapath: TCP state, the collector's programs
 * (expire with re-check, release with the DEAD handshake), deterministic
 * pools, refusal events. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <linux/bpf.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "env.h"

static uint8_t out[256];

/* A TCP segment with @flags: out from subscriber port @port to S1:443, or
 * in from @remote:443 to @pub:@pport. */
static int tcp_with(uint32_t remote, int outbound, uint8_t flags, uint16_t port, uint32_t pub,
		    uint16_t pport)
{
	struct pkt_spec s = { .proto = 6, .payload = 0 };
	uint8_t in[128];
	size_t len, l = sizeof(out);

	if (outbound) {
		s.saddr = ip(ENV_SUB1);
		s.sport = port;
		s.daddr = remote;
		s.dport = 443;
	} else {
		s.saddr = remote;
		s.sport = 443;
		s.daddr = pub;
		s.dport = pport;
	}
	len = pkt_build(in, sizeof(in), &s);
	in[pkt_l4_off(in) + 13] = flags;
	/* Flags changed: recompute the TCP checksum the way the builder would. */
	{
		size_t l4 = pkt_l4_off(in);
		uint8_t ph[12];

		memcpy(ph, in + pkt_l3_off(in) + 12, 8);
		ph[8] = 0;
		ph[9] = 6;
		ph[10] = 0;
		ph[11] = (uint8_t)(len - l4);
		in[l4 + 16] = in[l4 + 17] = 0;
		uint16_t c = pkt_csum(in + l4, len - l4, (uint16_t)~pkt_csum(ph, 12, 0));

		in[l4 + 16] = (uint8_t)(c >> 8);
		in[l4 + 17] = (uint8_t)c;
	}
	return env_run(outbound ? env.prog_in : env.prog_out, outbound ? env.ifin : env.ifout, in,
		       len, out, &l);
}

static int tcp(int outbound, uint8_t flags, uint16_t port, uint32_t pub, uint16_t pport)
{
	return tcp_with(ip(ENV_S1), outbound, flags, port, pub, pport);
}

static uint32_t tcp_state(uint16_t port)
{
	struct xcgn_tuple4 k = { .addr = ip(ENV_SUB1), .port = htons(port), .proto = 6 };
	struct xcgn_map4 v;

	cr_assert_eq(bpf_map_lookup_elem(env.maps.map4, &k, &v), 0, "mapping exists");
	return v.tcp;
}

TestSuite(lifecycle, .init = env_setup_default, .fini = env_teardown);

Test(lifecycle, tcp_state_follows_the_handshake_and_the_close)
{
	uint32_t pub;
	uint16_t pp;

	cr_assert_eq(tcp(1, 0x02, 2000, 0, 0), XDP_REDIRECT, "SYN out");
	pub = pkt_saddr(out);
	pp = pkt_sport(out);
	cr_assert(!xcgn_tcp_established(tcp_state(2000)), "SYN alone: transitory");
	cr_assert_eq(tcp(0, 0x12, 0, pub, pp), XDP_REDIRECT, "SYN-ACK in");
	cr_assert(xcgn_tcp_established(tcp_state(2000)), "SYN both ways: established");
	cr_assert_eq(tcp(1, 0x10, 2000, 0, 0), XDP_REDIRECT, "ACK out");
	cr_assert_eq(tcp(1, 0x11, 2000, 0, 0), XDP_REDIRECT, "FIN out");
	cr_assert(xcgn_tcp_established(tcp_state(2000)), "one FIN: still established");
	cr_assert_eq(tcp(0, 0x11, 0, pub, pp), XDP_REDIRECT, "FIN in");
	cr_assert(!xcgn_tcp_established(tcp_state(2000)), "FIN both ways: transitory");
	cr_assert_eq(tcp(1, 0x02, 2000, 0, 0), XDP_REDIRECT, "a new SYN on the same port");
	cr_assert_eq(tcp_state(2000) & (XCGN_MAP_PEER_ONE - 1) & ~XCGN_TCP_PEERS, XCGN_TCP_SYN_OUT,
		     "starts over");
	cr_assert_eq(XCGN_MAP_PEERS(tcp_state(2000)), 1, "its one remote still counted");
	cr_assert(tcp_state(2000) & XCGN_TCP_PEERS, "its peer noted");
	cr_assert_eq(tcp(0, 0x12, 0, pub, pp), XDP_REDIRECT, "SYN-ACK in");
	cr_assert_eq(tcp(0, 0x04, 0, pub, pp), XDP_REDIRECT, "RST in");
	cr_assert(!xcgn_tcp_established(tcp_state(2000)), "RST: transitory");
}

static uint64_t in_seen(uint32_t pub, uint16_t pport)
{
	struct xcgn_tuple4 rk = { .addr = pub, .port = htons(pport), .proto = 6 };
	struct xcgn_rev4 r;

	cr_assert_eq(bpf_map_lookup_elem(env.maps.rev4, &rk, &r), 0, "reverse entry");
	return r.in_seen_ns;
}

static void in_seen_set(uint32_t pub, uint16_t pport, uint64_t v)
{
	struct xcgn_tuple4 rk = { .addr = pub, .port = htons(pport), .proto = 6 };
	struct xcgn_rev4 r;

	cr_assert_eq(bpf_map_lookup_elem(env.maps.rev4, &rk, &r), 0, "reverse entry");
	r.in_seen_ns = v;
	cr_assert_eq(bpf_map_update_elem(env.maps.rev4, &rk, &r, 0), 0);
}

/* Issue 10 item 2: under endpoint-independent filtering anyone may send
 * to an established mapping, but only a host the subscriber sent to may
 * end it (RST, FIN) or keep it alive. */
Test(lifecycle, outsiders_move_no_tcp_state)
{
	uint32_t pub;
	uint16_t pp;

	cr_assert_eq(tcp(1, 0x02, 3000, 0, 0), XDP_REDIRECT, "SYN out to S1");
	pub = pkt_saddr(out);
	pp = pkt_sport(out);
	cr_assert_eq(tcp_with(ip(ENV_S2), 0, 0x02, 0, pub, pp), XDP_REDIRECT, "an outsider's SYN");
	cr_assert(!xcgn_tcp_established(tcp_state(3000)),
		  "does not make a half-open mapping established (the long timer)");
	cr_assert_eq(tcp(0, 0x12, 0, pub, pp), XDP_REDIRECT, "SYN-ACK in");
	cr_assert(xcgn_tcp_established(tcp_state(3000)), "established");

	cr_assert_eq(tcp_with(ip(ENV_S2), 0, 0x04, 0, pub, pp), XDP_REDIRECT,
		     "an outsider's RST goes through (endpoint-independent filtering)");
	cr_assert(xcgn_tcp_established(tcp_state(3000)), "but ends nothing");
	cr_assert_eq(tcp_with(ip(ENV_S2), 1, 0x04, 3000, 0, 0), XDP_REDIRECT,
		     "the subscriber's stack answers the stray segment with a RST");
	cr_assert(xcgn_tcp_established(tcp_state(3000)), "which ends nothing either");
	cr_assert_eq(tcp_with(ip(ENV_S2), 0, 0x11, 0, pub, pp), XDP_REDIRECT, "outsider's FIN");
	cr_assert(!(tcp_state(3000) & XCGN_TCP_FIN_IN), "not noted");

	in_seen_set(pub, pp, 1);
	cr_assert_eq(tcp_with(ip(ENV_S2), 0, 0x10, 0, pub, pp), XDP_REDIRECT, "outsider's ACK");
	cr_assert_eq(in_seen(pub, pp), 1, "keeps nothing alive");
	cr_assert_eq(tcp(0, 0x10, 0, pub, pp), XDP_REDIRECT, "the peer's ACK");
	cr_assert_gt(in_seen(pub, pp), 1, "keeps it alive");

	/* A host that connects in and is answered becomes a peer too. */
	cr_assert_eq(tcp_with(ip(ENV_S2), 0, 0x02, 0, pub, pp), XDP_REDIRECT, "S2's SYN in");
	cr_assert_eq(tcp_with(ip(ENV_S2), 1, 0x12, 3000, 0, 0), XDP_REDIRECT, "SYN-ACK to S2");
	cr_assert_eq(tcp_with(ip(ENV_S2), 0, 0x04, 0, pub, pp), XDP_REDIRECT, "S2's RST now");
	cr_assert(!xcgn_tcp_established(tcp_state(3000)), "ends it: transitory");
}

/* The subscriber at its share of the filtering table (tables of 1024: a
 * share of 256): a new connection's peer cannot be noted, and the mapping
 * keeps its gate all the same, so a stranger's RST still moves nothing
 * (before, a note that failed left the mapping ungated). */
static void setup_small_tables(void)
{
	env_max_maps = 1024;
	env_setup_default();
	env_max_maps = 8192;
}

Test(lifecycle, gate_kept_when_the_peer_cannot_be_noted, .init = setup_small_tables,
     .fini = env_teardown)
{
	uint32_t pub, before;
	uint16_t pp;
	int i;

	for (i = 0; i < 256; i++)	/* SYNs to 256 remotes: the share */
		cr_assert_eq(tcp_with(htonl(0xc0000201u + (uint32_t)i), 1, 0x02,
				      (uint16_t)(4000 + i), 0, 0), XDP_REDIRECT, "SYN %d", i);
	cr_assert_eq(tcp(1, 0x02, 3000, 0, 0), XDP_REDIRECT, "one more connection goes");
	cr_assert(env_drop(XCGN_DROP_SUB_PEERS) == 0, "a TCP note that fails drops nothing");
	pub = pkt_saddr(out);
	pp = pkt_sport(out);
	before = tcp_state(3000);
	cr_assert(before & XCGN_TCP_PEERS, "the gate is closed, though its peer is not noted");
	cr_assert_eq(tcp_with(ip(ENV_S2), 0, 0x04, 0, pub, pp), XDP_REDIRECT, "a stranger's RST");
	cr_assert_eq(tcp_state(3000), before, "moves nothing");
}

/* A connection the subscriber accepts: the peer's SYN counts once the
 * subscriber answers it. */
Test(lifecycle, accepted_connection_is_established)
{
	struct xcgn_pcp_req q = { .op = XCGN_PCP_CTL_MAP };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = &q, .data_size_in = sizeof(q),
		    .data_out = &q, .data_size_out = sizeof(q));

	q.in.addr = ip(ENV_SUB1);
	q.in.port = htons(8080);
	q.in.proto = 6;
	q.ent.opcode = XCGN_PCP_OP_MAP;
	cr_assert_eq(bpf_prog_test_run_opts(bpf_program__fd(env.skel->progs.xcgn_pcp_ctl), &o), 0);
	cr_assert_eq(q.result, XCGN_DROP_NONE, "a port opened with PCP");
	cr_assert_eq(tcp_with(ip(ENV_S2), 0, 0x02, 0, q.ent.paddr, ntohs(q.ent.pport)), XDP_REDIRECT,
		     "S2 connects in");
	cr_assert(!xcgn_tcp_established(tcp_state(8080)), "not yet");
	cr_assert_eq(tcp_with(ip(ENV_S2), 1, 0x12, 8080, 0, 0), XDP_REDIRECT, "accepted");
	cr_assert(xcgn_tcp_established(tcp_state(8080)), "established");
	cr_assert_eq(tcp_with(ip(ENV_S1), 0, 0x04, 0, q.ent.paddr, ntohs(q.ent.pport)), XDP_REDIRECT,
		     "S1's RST");
	cr_assert(xcgn_tcp_established(tcp_state(8080)), "S1 is no peer of it");
}

static int udp_out(uint32_t src, uint16_t sport)
{
	struct pkt_spec s = { .proto = 17, .sport = sport, .dport = 53, .payload = 8 };
	uint8_t in[128];
	size_t len, l = sizeof(out);
	int v;

	s.saddr = src;
	s.daddr = ip(ENV_S1);
	len = pkt_build(in, sizeof(in), &s);
	v = env_run(env.prog_in, env.ifin, in, len, out, &l);
	/* Refused and answered with ICMP 3/13: the packet itself is dropped. */
	return v == XDP_REDIRECT && out[pkt_l3_off(out) + 9] == 1 ? XDP_DROP : v;
}

static int run_req(int fd, void *req, size_t size)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = req, .ctx_size_in = (__u32)size);

	return bpf_prog_test_run_opts(fd, &o);
}

Test(lifecycle, expire_rechecks_and_removes_both_halves)
{
	struct xcgn_gc *gc = bpfenv_load_gc(&env);
	struct xcgn_tuple4 k = { .addr = ip(ENV_SUB1), .port = htons(3000), .proto = 17 };
	struct xcgn_gc_req req = { .key = k };
	struct xcgn_map4 v;
	struct xcgn_sub sub;
	int fd;

	cr_assert(gc, "collector programs load");
	fd = bpf_program__fd(gc->progs.xcgn_gc_expire);
	cr_assert_eq(udp_out(k.addr, 3000), XDP_REDIRECT, "mapping made");
	cr_assert_eq(udp_out(k.addr, 3001), XDP_REDIRECT, "second mapping");
	cr_assert_eq(bpf_map_lookup_elem(env.maps.map4, &k, &v), 0, "read");

	req.out_seen_ns = v.out_seen_ns - 1;	/* what a stale read would hold */
	cr_assert_eq(run_req(fd, &req, sizeof(req)), 0, "run");
	cr_assert_eq(req.result, XCGN_GC_REFRESHED, "refreshed since read: kept");
	cr_assert_eq(env_count(env.maps.map4), 2, "still there");

	req.out_seen_ns = v.out_seen_ns;
	cr_assert_eq(run_req(fd, &req, sizeof(req)), 0, "run");
	cr_assert_eq(req.result, XCGN_GC_EXPIRED, "expired");
	cr_assert_eq(req.nmaps_left, 1, "one mapping left to the subscriber");
	cr_assert_eq(env_count(env.maps.map4), 1, "forward half gone");
	cr_assert_eq(env_count(env.maps.rev4), 1, "reverse half gone");
	cr_assert_eq(bpf_map_lookup_elem(env.maps.subs, &k.addr, &sub), 0, "subscriber");
	cr_assert_eq(sub.nmaps, 1, "counted down");
	cr_assert_eq(run_req(fd, &req, sizeof(req)), 0, "run again");
	cr_assert_eq(req.result, XCGN_GC_GONE, "nothing to expire twice");
	xcgn_gc__destroy(gc);
}

Test(lifecycle, release_only_an_empty_subscriber_and_dead_means_dead)
{
	struct xcgn_gc *gc = bpfenv_load_gc(&env);
	struct xcgn_tuple4 k = { .addr = ip(ENV_SUB1), .port = htons(3000), .proto = 17 };
	struct xcgn_gc_req req = { .key = k };
	struct xcgn_gc_sub rel = { .addr = k.addr };
	struct xcgn_map4 v;
	struct xcgn_sub sub;

	cr_assert(gc, "collector programs load");
	cr_assert_eq(udp_out(k.addr, 3000), XDP_REDIRECT, "mapping made");
	cr_assert_eq(run_req(bpf_program__fd(gc->progs.xcgn_gc_release), &rel, sizeof(rel)), 0,
		     "run");
	cr_assert_eq(rel.result, XCGN_GC_BUSY, "a subscriber with a mapping stays");

	cr_assert_eq(bpf_map_lookup_elem(env.maps.map4, &k, &v), 0, "read");
	req.out_seen_ns = v.out_seen_ns;
	run_req(bpf_program__fd(gc->progs.xcgn_gc_expire), &req, sizeof(req));
	cr_assert_eq(req.result, XCGN_GC_EXPIRED, "expired");
	cr_assert_eq(run_req(bpf_program__fd(gc->progs.xcgn_gc_release), &rel, sizeof(rel)), 0,
		     "run");
	cr_assert_eq(rel.result, XCGN_GC_EXPIRED, "released");
	cr_assert(rel.sub.blocks[0], "hands back what it held");
	cr_assert_neq(bpf_map_lookup_elem(env.maps.subs, &k.addr, &sub), 0, "entry gone");

	/* A subscriber caught mid-release: the datapath backs off. */
	cr_assert_eq(udp_out(k.addr, 3000), XDP_REDIRECT, "a new subscriber entry");
	cr_assert_eq(bpf_map_lookup_elem(env.maps.subs, &k.addr, &sub), 0, "read");
	sub.nmaps = XCGN_SUB_DEAD;
	cr_assert_eq(bpf_map_update_elem(env.maps.subs, &k.addr, &sub, BPF_EXIST), 0, "mark");
	cr_assert_eq(udp_out(k.addr, 4000), XDP_DROP, "no new mapping on a dead subscriber");
	cr_assert_eq(env_count(env.maps.map4), 1, "only the old mapping");
	xcgn_gc__destroy(gc);
}

static void setup_deterministic(void)
{
	struct pool_opts o = bpfenv_pool("198.51.100.0", 30, 1024, 65535, 512, 2);

	o.deterministic = 1;
	o.det_prefix = inet_addr("100.64.0.0");
	o.det_plen = 26;
	env_setup(&o);
}

Test(lifecycle, deterministic_pool_allocates_by_arithmetic_and_emits_nothing,
     .init = setup_deterministic, .fini = env_teardown)
{
	struct xcgn_pool p;
	struct ring_buffer *rb;
	uint32_t sub = ip(ENV_SUB2), pa, id = 0;
	uint16_t lo, hi, port;
	int i;

	cr_assert_eq(bpf_map_lookup_elem(env.maps.pools, &id, &p), 0, "pool");
	cr_assert_eq(det_forward(&p, sub, &pa, &lo, &hi), 0, "the arithmetic");
	for (i = 0; i < 20; i++) {
		cr_assert_eq(udp_out(sub, (uint16_t)(5000 + i)), XDP_REDIRECT, "flow %d", i);
		cr_assert_eq(pkt_saddr(out), pa, "the computed address");
		port = pkt_sport(out);
		cr_assert(port >= lo && port <= hi, "port %u in the computed range %u-%u", port, lo,
			  hi);
	}
	rb = ring_buffer__new(env.maps.events, NULL, NULL, NULL);
	cr_assert(rb, "ring buffer");
	cr_assert_eq(ring_buffer__consume(rb), 0, "no per-subscriber event");
	ring_buffer__free(rb);
}

static int count_ev(void *ctx, void *data, size_t size)
{
	const struct xcgn_event *ev = data;

	if (size >= sizeof(*ev) && ev->type == XCGN_EV_REFUSED)
		(*(int *)ctx)++;
	return 0;
}

static void setup_tiny(void)
{
	struct pool_opts o = bpfenv_pool("198.51.100.5", 32, 1024, 1087, 64, 1);

	env_setup(&o);
}

Test(lifecycle, refusals_are_events_at_a_bounded_rate, .init = setup_tiny, .fini = env_teardown)
{
	struct ring_buffer *rb;
	int i, refused = 0;

	for (i = 0; i < 64; i++)
		cr_assert_eq(udp_out(ip(ENV_SUB1), (uint16_t)(6000 + i)), XDP_REDIRECT, "fills");
	for (i = 0; i < 500; i++)
		cr_assert_eq(udp_out(ip(ENV_SUB1), (uint16_t)(7000 + i)), XDP_DROP, "refused");
	/* The allocations' ring holds the one allocation and no refusal:
	 * a flood of refusals never takes the NAT log's room. */
	rb = ring_buffer__new(env.maps.events, count_ev, &refused, NULL);
	cr_assert(rb, "ring buffer");
	cr_assert_eq(ring_buffer__consume(rb), 1, "one allocation event");
	ring_buffer__free(rb);
	cr_assert_eq(refused, 0, "no refusal among the allocations");
	rb = ring_buffer__new(env.maps.refusals, count_ev, &refused, NULL);
	cr_assert(rb, "ring buffer");
	ring_buffer__consume(rb);
	ring_buffer__free(rb);
	cr_assert_geq(refused, 1, "refusals reach the collector");
	cr_assert_lt(refused, 500, "but not one per packet");
	cr_assert_eq(env_stat(XCGN_STAT_REFUSAL_EV_LIMITED), (uint64_t)(500 - refused),
		     "what the limit held back is counted");
}

/* A subscriber at its limit is refused without a walk of all its ports on
 * every new flow, until the collector frees one; then the next finds it. */
Test(lifecycle, full_subscriber_refused_without_a_walk, .init = setup_tiny, .fini = env_teardown)
{
	struct xcgn_gc *gc = bpfenv_load_gc(&env);
	struct xcgn_tuple4 k = { .addr = ip(ENV_SUB1), .port = htons(6000), .proto = 17 };
	struct xcgn_gc_req req = { .key = k };
	struct xcgn_map4 v;
	int i;

	cr_assert(gc, "collector programs load");
	for (i = 0; i < 64; i++)
		cr_assert_eq(udp_out(ip(ENV_SUB1), (uint16_t)(6000 + i)), XDP_REDIRECT, "fills");
	cr_assert_neq(udp_out(ip(ENV_SUB1), 7000), XDP_REDIRECT, "refused");
	cr_assert_eq(env_stat(XCGN_STAT_FULL_HINT), 0, "after a walk");
	for (i = 1; i <= 10; i++)
		cr_assert_neq(udp_out(ip(ENV_SUB1), (uint16_t)(7000 + i)), XDP_REDIRECT, "refused");
	cr_assert_eq(env_stat(XCGN_STAT_FULL_HINT), 10, "the next ones without");
	cr_assert_eq(env_drop(XCGN_DROP_SUB_LIMIT), 11, "all counted as the limit");

	cr_assert_eq(bpf_map_lookup_elem(env.maps.map4, &k, &v), 0, "read");
	req.out_seen_ns = v.out_seen_ns;
	cr_assert_eq(run_req(bpf_program__fd(gc->progs.xcgn_gc_expire), &req, sizeof(req)), 0);
	cr_assert_eq(req.result, XCGN_GC_EXPIRED, "one port freed");
	cr_assert_eq(udp_out(ip(ENV_SUB1), 7100), XDP_REDIRECT, "found at once");
	cr_assert_eq(env_stat(XCGN_STAT_FULL_HINT), 10, "by a walk");
	xcgn_gc__destroy(gc);
}

/* The collector's batch: one run expires every idle mapping handed to it,
 * each re-checked in the kernel: an outbound stamp moved since the read,
 * a PCP hold, or (TCP) an inbound segment within the timer keeps it. */
Test(lifecycle, expire_batch_rechecks_each_and_removes_the_idle)
{
	struct xcgn_gc *gc = bpfenv_load_gc(&env);
	struct xcgn_tuple4 u1 = { .addr = ip(ENV_SUB1), .port = htons(3000), .proto = 17 };
	struct xcgn_tuple4 u2 = u1, t1 = { .addr = ip(ENV_SUB1), .port = htons(2000), .proto = 6 };
	struct xcgn_map4 v1, v2, vt;
	uint64_t now;
	uint32_t pub;
	uint16_t pp;
	LIBBPF_OPTS(bpf_test_run_opts, o);

	cr_assert(gc, "collector programs load");
	u2.port = htons(3001);
	cr_assert_eq(udp_out(u1.addr, 3000), XDP_REDIRECT);
	cr_assert_eq(udp_out(u1.addr, 3001), XDP_REDIRECT);
	cr_assert_eq(tcp(1, 0x02, 2000, 0, 0), XDP_REDIRECT, "SYN out");
	pub = pkt_saddr(out);
	pp = pkt_sport(out);
	cr_assert_eq(bpf_map_lookup_elem(env.maps.map4, &u1, &v1), 0);
	cr_assert_eq(bpf_map_lookup_elem(env.maps.map4, &u2, &v2), 0);
	cr_assert_eq(bpf_map_lookup_elem(env.maps.map4, &t1, &vt), 0);
	now = vt.out_seen_ns + 1000000000000ULL;	/* far past every timer */
	in_seen_set(pub, pp, now - 1000);	/* an inbound segment just now */
	gc->bss->gc_work[0] = (struct xcgn_gc_work){ .key = u1, .out_seen_ns = v1.out_seen_ns,
						     .timeout_ns = 1 };
	gc->bss->gc_work[1] = (struct xcgn_gc_work){ .key = u2, .out_seen_ns = v2.out_seen_ns - 1,
						     .timeout_ns = 1 };	/* a stale read */
	gc->bss->gc_work[2] = (struct xcgn_gc_work){ .key = t1, .out_seen_ns = vt.out_seen_ns,
						     .timeout_ns = 240000000000ULL };
	gc->bss->gc_work_n = 3;
	gc->bss->gc_work_now = now;
	cr_assert_eq(bpf_prog_test_run_opts(bpf_program__fd(gc->progs.xcgn_gc_expire_batch), &o), 0,
		     "run");
	cr_assert_eq(gc->bss->gc_work_expired, 1, "one expired (%llu)",
		     (unsigned long long)gc->bss->gc_work_expired);
	cr_assert_neq(bpf_map_lookup_elem(env.maps.map4, &u1, &v1), 0, "the idle one gone");
	cr_assert_eq(bpf_map_lookup_elem(env.maps.map4, &u2, &v2), 0, "refreshed since read: kept");
	cr_assert_eq(bpf_map_lookup_elem(env.maps.map4, &t1, &vt), 0, "TCP with inbound: kept");
	/* The inbound segment long ago: the TCP mapping goes too. */
	in_seen_set(pub, pp, 1);
	gc->bss->gc_work[0] = gc->bss->gc_work[2];
	gc->bss->gc_work_n = 1;
	cr_assert_eq(bpf_prog_test_run_opts(bpf_program__fd(gc->progs.xcgn_gc_expire_batch), &o), 0);
	cr_assert_eq(gc->bss->gc_work_expired, 1, "the TCP mapping expired");
	cr_assert_eq(env_count(env.maps.map4), 1, "one mapping left");
	cr_assert_eq(env_count(env.maps.rev4), 1, "its reverse half only");
	xcgn_gc__destroy(gc);
}
