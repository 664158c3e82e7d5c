// SPDX-License-Identifier: GPL-2.0
/* xcgn_pcp_ctl: mappings made on a subscriber's request (PCP, NAT-PMP) by
 * the datapath's own creation, held by their lifetime, ended on request. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <linux/bpf.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "env.h"
#include "xcgn_gc.skel.h"

static struct xcgn_pcp_req ctl(uint8_t op, const char *sub, uint16_t port, uint8_t proto,
			       uint16_t want, uint8_t opcode)
{
	struct xcgn_pcp_req q = { .op = op, .want = want };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = &q, .data_size_in = sizeof(q),
		    .data_out = &q, .data_size_out = sizeof(q));

	q.in.addr = ip(sub);
	q.in.port = htons(port);
	q.in.proto = proto;
	q.ent.opcode = opcode;
	q.ent.lifetime_s = 120;
	q.ent.expires_ns = 1;
	memset(q.ent.nonce, 0xab, sizeof(q.ent.nonce));
	cr_assert_eq(bpf_prog_test_run_opts(bpf_program__fd(env.skel->progs.xcgn_pcp_ctl), &o), 0,
		     "run xcgn_pcp_ctl");
	cr_assert_eq(o.retval, XDP_PASS, "xcgn_pcp_ctl verdict %u", o.retval);
	return q;
}

static int udp(int prog, int ifindex, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
	       uint8_t *out)
{
	struct pkt_spec s = { .proto = 17, .sport = sport, .dport = dport, .payload = 8 };
	uint8_t in[128];
	size_t len, l = 256;

	s.saddr = src;
	s.daddr = dst;
	len = pkt_build(in, sizeof(in), &s);
	cr_assert(len, "built");
	return env_run(prog, ifindex, in, len, out, &l);
}

static void setup_adf(void)
{
	struct pool_opts o = bpfenv_pool("198.51.100.0", 30, 1024, 65535, 512, 4);

	o.filtering = XCGN_FILTER_ADF;
	env_setup(&o);
}

static struct xcgn_map4 map_of(const char *sub, uint16_t port, int *found)
{
	struct xcgn_tuple4 k = { .addr = ip(sub), .port = htons(port), .proto = 17 };
	struct xcgn_map4 m = {};

	*found = !bpf_map_lookup_elem(env.maps.map4, &k, &m);
	return m;
}

static uint32_t nmaps(const char *sub)
{
	__be32 a = ip(sub);
	struct xcgn_sub s;

	cr_assert_eq(bpf_map_lookup_elem(env.maps.subs, &a, &s), 0, "subscriber %s", sub);
	return s.nmaps;
}

Test(pcp, map_on_a_new_subscriber_is_open_to_every_remote_and_ends_whole,
     .init = setup_adf, .fini = env_teardown)
{
	struct xcgn_pcp_req q = ctl(XCGN_PCP_CTL_MAP, ENV_SUB1, 8080, 17, 0, XCGN_PCP_OP_MAP);
	struct xcgn_tuple4 rk = { .proto = 17 };
	struct xcgn_rev4 r;
	struct xcgn_pcp e;
	uint8_t out[256];
	int found;

	cr_assert_eq(q.result, XCGN_DROP_NONE, "mapped (%u)", q.result);
	cr_assert_eq(ntohl(q.ent.paddr) >> 2, ntohl(ip("198.51.100.0")) >> 2, "a pool address");
	cr_assert(ntohs(q.ent.pport) >= 1024, "a pool port");
	cr_assert(q.ent.flags & XCGN_PCPF_MADE, "made by the request");
	cr_assert(map_of(ENV_SUB1, 8080, &found).flags & XCGN_MAPF_PCP, "held");
	rk.addr = q.ent.paddr;
	rk.port = q.ent.pport;
	cr_assert_eq(bpf_map_lookup_elem(env.maps.rev4, &rk, &r), 0, "reverse entry");
	cr_assert_eq(r.flags, XCGN_MAPF_PCP, "explicit: no address-dependent filter");
	cr_assert_eq(bpf_map_lookup_elem(env.maps.pcp, &q.in, &e), 0, "lifetime recorded");
	cr_assert_eq(e.lifetime_s, 120);
	cr_assert_eq(nmaps(ENV_SUB1), 1, "counted in the subscriber's mappings");

	/* Nobody was ever contacted, and yet a remote gets in (ADF pool). */
	cr_assert_eq(udp(env.prog_out, env.ifout, ip(ENV_S2), 4000, q.ent.paddr,
			 ntohs(q.ent.pport), out),
		     XDP_REDIRECT, "inbound to the PCP mapping");
	cr_assert_eq(pkt_daddr(out), ip(ENV_SUB1), "to the subscriber");
	cr_assert_eq(pkt_dport(out), 8080, "on its port");

	/* Same request again: the same mapping (a renewal). */
	q = ctl(XCGN_PCP_CTL_MAP, ENV_SUB1, 8080, 17, 0, XCGN_PCP_OP_MAP);
	cr_assert_eq(q.result, XCGN_DROP_NONE);
	cr_assert_eq(q.ent.pport, rk.port, "renewal keeps the port");
	cr_assert_eq(nmaps(ENV_SUB1), 1, "still one mapping");

	ctl(XCGN_PCP_CTL_END, ENV_SUB1, 8080, 17, 0, 0);
	map_of(ENV_SUB1, 8080, &found);
	cr_assert(!found, "made by the request: gone with it");
	cr_assert_neq(bpf_map_lookup_elem(env.maps.rev4, &rk, &r), 0, "reverse entry gone");
	cr_assert_neq(bpf_map_lookup_elem(env.maps.pcp, &q.in, &e), 0, "lifetime gone");
	cr_assert_eq(nmaps(ENV_SUB1), 0, "count back to 0");
}

Test(pcp, suggested_port_in_the_subscribers_block_is_honoured, .init = setup_adf,
     .fini = env_teardown)
{
	struct xcgn_pcp_req q = ctl(XCGN_PCP_CTL_MAP, ENV_SUB1, 5000, 17, 0, XCGN_PCP_OP_MAP);
	uint16_t base = (uint16_t)(1024 + (ntohs(q.ent.pport) - 1024) / 512 * 512), want;

	cr_assert_eq(q.result, XCGN_DROP_NONE);
	want = (uint16_t)(base + (ntohs(q.ent.pport) - base + 7) % 512);
	q = ctl(XCGN_PCP_CTL_MAP, ENV_SUB1, 5001, 17, want, XCGN_PCP_OP_MAP);
	cr_assert_eq(q.result, XCGN_DROP_NONE);
	cr_assert_eq(ntohs(q.ent.pport), want, "the suggested port, free in its block");
	/* The port now taken: the next one asking for it gets another. */
	q = ctl(XCGN_PCP_CTL_MAP, ENV_SUB1, 5002, 17, want, XCGN_PCP_OP_MAP);
	cr_assert_eq(q.result, XCGN_DROP_NONE);
	cr_assert_neq(ntohs(q.ent.pport), want, "taken: another port");
}

Test(pcp, traffic_mapping_made_explicit_returns_to_its_timers, .init = setup_adf,
     .fini = env_teardown)
{
	struct xcgn_tuple4 rk = { .proto = 17 };
	struct xcgn_gc *gc = bpfenv_load_gc(&env);
	struct xcgn_pcp_req q;
	struct xcgn_map4 m;
	struct xcgn_rev4 r;
	uint8_t out[256];
	int found;

	cr_assert(gc, "collector programs");
	cr_assert_eq(udp(env.prog_in, env.ifin, ip(ENV_SUB1), 6000, ip(ENV_S1), 53, out),
		     XDP_REDIRECT, "traffic makes the mapping");
	q = ctl(XCGN_PCP_CTL_MAP, ENV_SUB1, 6000, 17, 0, XCGN_PCP_OP_MAP);
	cr_assert_eq(q.result, XCGN_DROP_NONE);
	cr_assert_eq(q.ent.paddr, pkt_saddr(out), "the existing mapping");
	cr_assert_eq(q.ent.pport, htons(pkt_sport(out)), "its port");
	cr_assert(!(q.ent.flags & XCGN_PCPF_MADE), "not made by the request");

	/* The collector may not take a held mapping, idle or not. */
	m = map_of(ENV_SUB1, 6000, &found);
	{
		struct xcgn_gc_req g = { .key = q.in, .out_seen_ns = m.out_seen_ns };
		LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &g, .ctx_size_in = sizeof(g));

		rk.addr = q.ent.paddr;
		rk.port = q.ent.pport;
		cr_assert_eq(bpf_map_lookup_elem(env.maps.rev4, &rk, &r), 0);
		g.in_seen_ns = r.in_seen_ns;
		cr_assert_eq(bpf_prog_test_run_opts(bpf_program__fd(gc->progs.xcgn_gc_expire), &o), 0);
		cr_assert_eq(g.result, XCGN_GC_REFRESHED, "held: kept (%u)", g.result);
	}
	ctl(XCGN_PCP_CTL_EXPIRE, ENV_SUB1, 6000, 17, 0, 0);
	m = map_of(ENV_SUB1, 6000, &found);
	cr_assert(found, "the traffic's mapping stays");
	cr_assert_eq(m.flags, XCGN_MAPF_ADF, "no longer held");
	cr_assert_eq(bpf_map_lookup_elem(env.maps.rev4, &rk, &r), 0);
	cr_assert_eq(r.flags, XCGN_MAPF_ADF, "its pool's filtering again");
	cr_assert_eq(udp(env.prog_out, env.ifout, ip(ENV_S2), 4000, q.ent.paddr, ntohs(q.ent.pport), out),
		     XDP_DROP, "S2 filtered again");
	xcgn_gc__destroy(gc);
}

Test(pcp, peer_keeps_filtering_and_admits_its_peer, .init = setup_adf, .fini = env_teardown)
{
	struct xcgn_pcp_req q = { .op = XCGN_PCP_CTL_PEER };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = &q, .data_size_in = sizeof(q),
		    .data_out = &q, .data_size_out = sizeof(q));
	uint8_t out[256];

	q.in.addr = ip(ENV_SUB1);
	q.in.port = htons(7000);
	q.in.proto = 17;
	q.ent.opcode = XCGN_PCP_OP_PEER;
	q.ent.peer = ip(ENV_S1);
	q.ent.peer_port = htons(3478);
	cr_assert_eq(bpf_prog_test_run_opts(bpf_program__fd(env.skel->progs.xcgn_pcp_ctl), &o), 0);
	cr_assert_eq(q.result, XCGN_DROP_NONE);
	cr_assert_eq(udp(env.prog_out, env.ifout, ip(ENV_S1), 3478, q.ent.paddr, ntohs(q.ent.pport), out),
		     XDP_REDIRECT, "the peer gets in");
	cr_assert_eq(udp(env.prog_out, env.ifout, ip(ENV_S2), 3478, q.ent.paddr, ntohs(q.ent.pport), out),
		     XDP_DROP, "another remote does not");
}

Test(pcp, a_made_mapping_that_carried_traffic_outlives_its_lifetime, .init = setup_adf,
     .fini = env_teardown)
{
	struct xcgn_pcp_req q = ctl(XCGN_PCP_CTL_MAP, ENV_SUB1, 6100, 17, 0, XCGN_PCP_OP_MAP);
	struct xcgn_pcp e;
	uint8_t out[256];
	int found;

	cr_assert_eq(q.result, XCGN_DROP_NONE);
	cr_assert_eq(udp(env.prog_out, env.ifout, ip(ENV_S2), 4000, q.ent.paddr, ntohs(q.ent.pport),
			 out), XDP_REDIRECT, "used from outside");
	ctl(XCGN_PCP_CTL_EXPIRE, ENV_SUB1, 6100, 17, 0, 0);
	cr_assert(map_of(ENV_SUB1, 6100, &found).flags == XCGN_MAPF_ADF && found,
		  "its lifetime over, in use: back to its timers, not cut");
	cr_assert_neq(bpf_map_lookup_elem(env.maps.pcp, &q.in, &e), 0, "no longer held");

	q = ctl(XCGN_PCP_CTL_MAP, ENV_SUB1, 6101, 17, 0, XCGN_PCP_OP_MAP);
	ctl(XCGN_PCP_CTL_EXPIRE, ENV_SUB1, 6101, 17, 0, 0);
	map_of(ENV_SUB1, 6101, &found);
	cr_assert(!found, "unused: gone with its lifetime");
}

Test(pcp, peer_on_an_explicit_mapping_keeps_the_map, .init = setup_adf, .fini = env_teardown)
{
	struct xcgn_pcp_req q = ctl(XCGN_PCP_CTL_MAP, ENV_SUB1, 6200, 17, 0, XCGN_PCP_OP_MAP);
	struct xcgn_pcp e;

	cr_assert_eq(q.result, XCGN_DROP_NONE);
	q = ctl(XCGN_PCP_CTL_PEER, ENV_SUB1, 6200, 17, 0, XCGN_PCP_OP_PEER);
	cr_assert_eq(q.result, XCGN_DROP_NONE);
	cr_assert_eq(bpf_map_lookup_elem(env.maps.pcp, &q.in, &e), 0);
	cr_assert_eq(e.opcode, XCGN_PCP_OP_MAP, "the MAP still holds it");
	cr_assert_eq(e.pport, q.ent.pport, "the entry names its public port");
}

Test(pcp, refusal_is_the_datapaths_reason, .init = env_setup_default, .fini = env_teardown)
{
	struct xcgn_pcp_req q = ctl(XCGN_PCP_CTL_MAP, "192.0.2.9", 80, 17, 0, XCGN_PCP_OP_MAP);

	cr_assert_eq(q.result, XCGN_DROP_RPF, "a non-subscriber gets no mapping");
	q = ctl(XCGN_PCP_CTL_ADDR, ENV_SUB1, 0, 0, 0, 0);
	cr_assert_eq(q.result, XCGN_DROP_NONE, "a subscriber's address");
	cr_assert_eq(ntohl(q.ent.paddr) >> 2, ntohl(ip("198.51.100.0")) >> 2, "in the pool");
	cr_assert_eq(nmaps(ENV_SUB1), 0, "no mapping for it");
	cr_assert_eq(env_count(env.maps.pcp), 0, "nothing recorded");
}

/* ---- forwards: the operator's public port, on its block ---------------- */

static struct xcgn_pcp_req fwd(const char *sub, uint16_t port, const char *pub, uint16_t pport)
{
	struct xcgn_pcp_req q = { .op = XCGN_PCP_CTL_FORWARD, .want = pport };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = &q, .data_size_in = sizeof(q),
		    .data_out = &q, .data_size_out = sizeof(q));

	q.in.addr = ip(sub);
	q.in.port = htons(port);
	q.in.proto = 17;
	q.ent.opcode = XCGN_PCP_OP_FORWARD;
	q.ent.expires_ns = XCGN_PCP_NEVER;
	q.ent.paddr = ip(pub);
	cr_assert_eq(bpf_prog_test_run_opts(bpf_program__fd(env.skel->progs.xcgn_pcp_ctl), &o), 0,
		     "run xcgn_pcp_ctl");
	cr_assert_eq(o.retval, XDP_PASS, "xcgn_pcp_ctl verdict %u", o.retval);
	return q;
}

Test(pcp, forward_takes_its_block_for_a_new_subscriber_and_lets_everyone_in,
     .init = setup_adf, .fini = env_teardown)
{
	struct xcgn_pcp_req q = fwd(ENV_SUB1, 80, "198.51.100.2", 40123);
	__be32 a = ip(ENV_SUB1);
	uint8_t out[256];
	struct xcgn_sub s;
	int found;

	cr_assert_eq(q.result, XCGN_DROP_NONE, "forwarded (%u)", q.result);
	cr_assert_eq(q.ent.paddr, ip("198.51.100.2"), "on the address asked");
	cr_assert_eq(ntohs(q.ent.pport), 40123, "on the port asked");
	cr_assert_eq(bpf_map_lookup_elem(env.maps.subs, &a, &s), 0, "the subscriber made");
	cr_assert_eq(s.paddr, ip("198.51.100.2"), "on that address");
	cr_assert_eq(s.blocks[0], (40123 - 1024) / 512 + 1, "holding the port's block");
	cr_assert(map_of(ENV_SUB1, 80, &found).flags & XCGN_MAPF_PCP, "held");
	cr_assert_eq(udp(env.prog_out, env.ifout, ip(ENV_S2), 4000, ip("198.51.100.2"), 40123, out),
		     XDP_REDIRECT, "anyone gets in (an address-dependent pool)");
	cr_assert_eq(pkt_daddr(out), ip(ENV_SUB1), "to the subscriber");
	cr_assert_eq(pkt_dport(out), 80, "on its port");
	/* Its traffic out keeps the forward's port. */
	cr_assert_eq(udp(env.prog_in, env.ifin, ip(ENV_SUB1), 80, ip(ENV_S1), 5000, out),
		     XDP_REDIRECT, "out");
	cr_assert_eq(pkt_sport(out), 40123, "from the forward's port");
	/* Again: the same, nothing more taken. */
	q = fwd(ENV_SUB1, 80, "198.51.100.2", 40123);
	cr_assert_eq(q.result, XCGN_DROP_NONE, "again (%u)", q.result);
	cr_assert_eq(nmaps(ENV_SUB1), 1, "one mapping");
	/* A second forward in another block: a block more. */
	q = fwd(ENV_SUB1, 22, "198.51.100.2", 2222);
	cr_assert_eq(q.result, XCGN_DROP_NONE, "a second forward (%u)", q.result);
	cr_assert_eq(bpf_map_lookup_elem(env.maps.subs, &a, &s), 0);
	cr_assert_eq(s.blocks[1], (2222 - 1024) / 512 + 1, "its block added");
}

Test(pcp, forward_refused_where_it_collides, .init = setup_adf, .fini = env_teardown)
{
	uint8_t out[256];
	struct xcgn_pcp_req q;
	uint32_t pub;
	uint16_t pport;

	/* Subscriber 2 holds a block from its own traffic. */
	cr_assert_eq(udp(env.prog_in, env.ifin, ip(ENV_SUB2), 5000, ip(ENV_S1), 53, out), XDP_REDIRECT);
	pub = pkt_saddr(out);
	pport = pkt_sport(out);
	q = fwd(ENV_SUB1, 80, ENV_SUB1, 40000);
	cr_assert_eq(q.result, XCGN_FWD_NOT_POOL, "an address of no pool (%u)", q.result);
	q.ent.paddr = pub;
	{
		char a[16];

		inet_ntop(AF_INET, &pub, a, sizeof(a));
		q = fwd(ENV_SUB1, 80, a, pport);
		cr_assert_eq(q.result, XCGN_FWD_BLOCK_TAKEN, "another's block (%u)", q.result);
		q = fwd(ENV_SUB1, 80, a, 80);
		cr_assert_eq(q.result, XCGN_FWD_PORT_RANGE, "below the pool's ports (%u)", q.result);
		q = fwd(ENV_SUB2, 6000, a, pport);
		cr_assert_eq(q.result, XCGN_FWD_PORT_TAKEN, "its own port, another mapping's (%u)",
			     q.result);
		cr_assert_eq(nmaps(ENV_SUB2), 1, "nothing left behind");
	}
	q = fwd(ENV_SUB2, 6000, pub == ip("198.51.100.1") ? "198.51.100.2" : "198.51.100.1", 40000);
	cr_assert_eq(q.result, XCGN_FWD_OTHER_ADDR, "paired pooling: its own address only (%u)",
		     q.result);
}

Test(pcp, forward_is_no_clients_and_stays_as_it_was, .init = setup_adf, .fini = env_teardown)
{
	struct xcgn_pcp_req q = fwd(ENV_SUB1, 80, "198.51.100.2", 40123);
	struct xcgn_pcp e;
	uint8_t out[256];

	cr_assert_eq(q.result, XCGN_DROP_NONE, "forwarded (%u)", q.result);
	/* The daemon marks it logged; the same forward again keeps the mark. */
	cr_assert_eq(bpf_map_lookup_elem(env.maps.pcp, &q.in, &e), 0);
	e.flags |= XCGN_PCPF_LOGGED;
	cr_assert_eq(bpf_map_update_elem(env.maps.pcp, &q.in, &e, BPF_EXIST), 0);
	q = fwd(ENV_SUB1, 80, "198.51.100.2", 40123);
	cr_assert_eq(q.result, XCGN_DROP_NONE);
	cr_assert_eq(bpf_map_lookup_elem(env.maps.pcp, &q.in, &e), 0);
	cr_assert(e.flags & XCGN_PCPF_LOGGED, "still logged: not written to the log again");
	/* A client's MAP or PEER on it: refused; an end without the hand-over: none. */
	q = ctl(XCGN_PCP_CTL_MAP, ENV_SUB1, 80, 17, 0, XCGN_PCP_OP_MAP);
	cr_assert_eq(q.result, XCGN_FWD_HELD, "MAP over a forward (%u)", q.result);
	q = ctl(XCGN_PCP_CTL_EXPIRE, ENV_SUB1, 80, 17, 0, XCGN_PCP_OP_MAP);
	cr_assert_eq(bpf_map_lookup_elem(env.maps.pcp, &q.in, &e), 0, "an expiry does not end it");
	cr_assert_eq(e.opcode, XCGN_PCP_OP_FORWARD);
	/* `forward del` hands it over (lifetime 0): then it ends. */
	e.expires_ns = 0;
	cr_assert_eq(bpf_map_update_elem(env.maps.pcp, &q.in, &e, BPF_EXIST), 0);
	ctl(XCGN_PCP_CTL_END, ENV_SUB1, 80, 17, 0, XCGN_PCP_OP_MAP);
	cr_assert_neq(bpf_map_lookup_elem(env.maps.pcp, &q.in, &e), 0, "ended");
	cr_assert_eq(udp(env.prog_out, env.ifout, ip(ENV_S2), 4000, ip("198.51.100.2"), 40123, out),
		     XDP_DROP, "nothing comes in any more");
}

Test(pcp, forward_of_a_mapped_port_takes_nothing, .init = setup_adf, .fini = env_teardown)
{
	__be32 a = ip(ENV_SUB1);
	uint8_t out[256];
	struct xcgn_pcp_req q;
	struct xcgn_sub s;

	cr_assert_eq(udp(env.prog_in, env.ifin, ip(ENV_SUB1), 5060, ip(ENV_S1), 53, out), XDP_REDIRECT);
	q = fwd(ENV_SUB1, 5060, "198.51.100.2", 40123);
	cr_assert_eq(q.result, XCGN_FWD_PORT_TAKEN, "its port is mapped elsewhere (%u)", q.result);
	cr_assert_eq(bpf_map_lookup_elem(env.maps.subs, &a, &s), 0);
	cr_assert_eq(s.blocks[1], 0, "no block taken for it");
}
