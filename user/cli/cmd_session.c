// SPDX-License-Identifier: GPL-2.0
/* xcgn session { show [FILTER] | flush [FILTER] | help }
 * FILTER := [subscriber ADDR] [public ADDR] [proto PROTO] [state STATE] */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cli/cli.h"
#include "xcgn_gc.skel.h"

static int usage(void)
{
	fprintf(usage_fp(),
		"Usage: xcgn session show [subscriber ADDR] [public ADDR] [proto PROTO]\n"
		"                         [state STATE]\n"
		"       xcgn session flush [subscriber ADDR] [public ADDR] [proto PROTO]\n"
		"                          [state STATE]\n"
		"       xcgn session help\n"
		"PROTO := { tcp | udp | icmp }   STATE := { established | transitory }\n"
		"show gives each mapping's age, idle time and time left before it expires.\n"
		"flush removes the mappings that match (all of them without a filter); the\n"
		"daemon then releases the blocks of subscribers left with none (quarantine,\n"
		"release records in the NAT log) at its next pass.\n");
	return usage_status();
}


static uint64_t secs_since(uint64_t now, uint64_t then)
{
	return now > then ? (now - then) / 1000000000ULL : 0;
}

struct sess_filter {
	uint32_t sub, pub;	/* network order; 0: any */
	uint8_t proto;		/* 0: any */
	int state;		/* -1 any, 1 established, 0 transitory (TCP only) */
};

static int filter_parse(int argc, char **argv, struct sess_filter *f)
{
	static const char *const states[] = { "transitory", "established" };

	f->sub = f->pub = 0;
	f->proto = 0;
	f->state = -1;
	for (; argc > 0; argc--, argv++) {
		if (!strcmp(*argv, "subscriber") || !strcmp(*argv, "public")) {
			uint32_t *a = **argv == 's' ? &f->sub : &f->pub;

			NEXT_ARG();
			if (parse_ipv4(*argv, a))
				return invarg("address", *argv);
		} else if (!strcmp(*argv, "proto")) {
			NEXT_ARG();
			if (!strcmp(*argv, "tcp"))
				f->proto = 6;
			else if (!strcmp(*argv, "udp"))
				f->proto = 17;
			else if (!strcmp(*argv, "icmp"))
				f->proto = 1;
			else
				return invarg("proto (tcp, udp or icmp)", *argv);
		} else if (!strcmp(*argv, "state")) {
			NEXT_ARG();
			f->state = prefix_match(*argv, states, 2);
			if (f->state < 0)
				return invarg("state (established or transitory)", *argv);
		} else {
			xcgn_err("unknown argument \"%s\" to session; try \"xcgn session help\"",
				 *argv);
			return XCGN_EXIT_USAGE;
		}
	}
	return 0;
}

static bool filter_match(const struct sess_filter *f, const struct xcgn_tuple4 *k,
			 const struct xcgn_map4 *v)
{
	if ((f->sub && k->addr != f->sub) || (f->pub && v->paddr != f->pub) ||
	    (f->proto && k->proto != f->proto))
		return false;
	if (f->state >= 0 && (k->proto != 6 || xcgn_tcp_established(v->tcp) != f->state))
		return false;
	return true;
}

/* The inbound half's last-seen stamp (TCP traffic either way keeps a
 * mapping alive, as the daemon counts it), or 0. */
static uint64_t in_seen(const struct xcgn_maps *m, const struct xcgn_tuple4 *k,
			const struct xcgn_map4 *v)
{
	struct xcgn_tuple4 rk = { .addr = v->paddr, .port = v->pport, .proto = k->proto };
	struct xcgn_rev4 r;

	return bpf_map_lookup_elem(m->rev4, &rk, &r) ? 0 : r.in_seen_ns;
}

static int do_session_show(struct cmd *cmd, int argc, char **argv)
{
	struct xcgn_tuple4 key, *prev = NULL;
	struct xcgn_pool pools[XCGN_POOLS_MAX] = {};
	struct sess_filter f;
	struct xcgn_map4 v;
	struct xcgn_pcp pe = {};
	const struct xcgn_maps *m;
	uint64_t now = xcgn_mono_ns(), n = 0;
	__u32 id;
	int ret;

	ret = filter_parse(argc, argv, &f);
	if (ret)
		return ret;
	if (!(m = cmd_maps(cmd)))
		return XCGN_EXIT_ERR;
	for (id = 0; id < xcgn_npools(m); id++)
		bpf_map_lookup_elem(m->pools, &id, &pools[id]);
	print_open_array(NULL);
	while (!bpf_map_get_next_key(m->map4, prev, &key)) {
		uint64_t seen, to, idle;

		prev = &key;
		if (bpf_map_lookup_elem(m->map4, &key, &v))
			continue;	/* gone meanwhile */
		if (!filter_match(&f, &key, &v))
			continue;
		n++;
		memset(&pe, 0, sizeof(pe));
		seen = v.out_seen_ns;
		if (key.proto == 6 && in_seen(m, &key, &v) > seen)
			seen = in_seen(m, &key, &v);
		idle = secs_since(now, seen);
		to = mapping_timeout_ns(&pools[v.pool_id % XCGN_POOLS_MAX], key.proto, v.tcp, 1) /
		     1000000000ULL;
		if ((v.flags & XCGN_MAPF_PCP) && !bpf_map_lookup_elem(m->pcp, &key, &pe))
			to = idle + (pe.expires_ns > now ? (pe.expires_ns - now) / 1000000000ULL : 0);
		print_open_object(NULL);
		print_string(PRINT_ANY, "proto", "%-4s", xcgn_proto_name(key.proto));
		print_ipv4(PRINT_ANY, "inside_addr", " %s", key.addr);
		print_u64(PRINT_ANY, "inside_port", ":%llu", ntohs(key.port));
		print_ipv4(PRINT_ANY, "public_addr", " -> %s", v.paddr);
		print_u64(PRINT_ANY, "public_port", ":%llu", ntohs(v.pport));
		print_u64(PRINT_ANY, "age_s", "  age %llus", secs_since(now, v.created_ns));
		print_u64(PRINT_ANY, "idle_s", "  idle %llus", idle);
		if ((v.flags & XCGN_MAPF_PCP) && pe.opcode == XCGN_PCP_OP_FORWARD)
			print_string(PRINT_FP, NULL, "  left %s", "forever");	/* JSON: no left_s */
		else
			print_u64(PRINT_ANY, "left_s", "  left %llus", to > idle ? to - idle : 0);
		if (key.proto == 6)
			print_string(PRINT_ANY, "tcp_state", "  %s",
				     xcgn_tcp_established(v.tcp) ? "established" : "transitory");
		if (v.flags & XCGN_MAPF_PCP) {	/* left_s above: its lifetime's */
			print_string(PRINT_ANY, "pcp", "  %s", xcgn_pcp_opname(pe.opcode));
			if (pe.opcode != XCGN_PCP_OP_FORWARD)
				print_u64(PRINT_ANY, "pcp_lifetime_s", " lifetime %llus", pe.lifetime_s);
			if (pe.client != key.addr)
				print_ipv4(PRINT_ANY, "pcp_client", " by %s", pe.client);
		}
		print_nl();
		print_close_object();
	}
	print_close_array();
	print_text("%llu mapping(s)\n", (unsigned long long)n);
	return XCGN_EXIT_OK;
}

/* Mappings held by a PCP lifetime: their lifetimes set to end now (0); the
 * daemon's PCP sweep ends them within a second, logged (pcp_end) as if
 * their client had deleted them, and the flush then removes what is left
 * like the rest. Waits up to 2.5 s for that; returns how many are still
 * held (no daemon runs). */
static size_t pcp_hand_to_daemon(const struct xcgn_maps *m, const struct xcgn_tuple4 *keys,
				 size_t n, size_t *gone)
{
	size_t i, held = 0, handed = 0;
	struct xcgn_map4 v;
	struct xcgn_pcp e;
	int t;

	for (i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(m->pcp, &keys[i], &e))
			continue;
		e.expires_ns = 0;
		if (!bpf_map_update_elem(m->pcp, &keys[i], &e, BPF_EXIST))
			handed++;
	}
	*gone = 0;
	if (!handed)
		return 0;
	for (t = 0; t < 50; t++) {
		for (i = 0, held = 0; i < n; i++)
			held += !bpf_map_lookup_elem(m->map4, &keys[i], &v) &&
				(v.flags & XCGN_MAPF_PCP);
		if (!held)
			break;
		usleep(50000);
	}
	/* The ones the daemon removed whole (made by their request). */
	for (i = 0; i < n; i++)
		*gone += !!bpf_map_lookup_elem(m->map4, &keys[i], &v);
	return held;
}

/* Is mapping @k (@v) an operator's forward? */
static bool is_forward(const struct xcgn_maps *m, const struct xcgn_tuple4 *k,
		       const struct xcgn_map4 *v)
{
	struct xcgn_pcp e;

	return (v->flags & XCGN_MAPF_PCP) && !bpf_map_lookup_elem(m->pcp, k, &e) &&
	       e.opcode == XCGN_PCP_OP_FORWARD;
}

/* Remove the matching mappings through the collector's own program, so a
 * subscriber's mapping count and the reverse half go with each. */
int session_flush(struct cmd *cmd, int argc, char **argv)
{
	struct xcgn_tuple4 key, *prev = NULL, *keys = NULL;
	struct sess_filter f;
	struct xcgn_map4 v;
	const struct xcgn_maps *m;
	struct xcgn_gc *gc;
	size_t n = 0, cap = 0, i, flushed = 0, busy = 0, held = 0, forwards = 0;
	int ret;

	ret = filter_parse(argc, argv, &f);
	if (ret)
		return ret;
	if (!(m = cmd_maps(cmd)))
		return XCGN_EXIT_ERR;
	gc = xcgn_ctl_load();
	if (!gc) {
		return XCGN_EXIT_ERR;
	}
	ret = XCGN_EXIT_OK;
	/* The keys first: removing while walking would restart the walk. */
	while (!ret && !bpf_map_get_next_key(m->map4, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(m->map4, &key, &v) || !filter_match(&f, &key, &v))
			continue;
		if (is_forward(m, &key, &v)) {
			forwards++;	/* configuration: `forward del` ends it */
			continue;
		}
		if (n == cap && xcgn_grow(&keys, &cap, n, sizeof(*keys))) {
			xcgn_err("out of memory");
			ret = XCGN_EXIT_ERR;
			break;
		}
		keys[n++] = key;
	}
	if (!ret)
		held = pcp_hand_to_daemon(m, keys, n, &flushed);
	for (i = 0; !ret && i < n; i++) {
		int tries;

		if (!bpf_map_lookup_elem(m->map4, &keys[i], &v) && (v.flags & XCGN_MAPF_PCP))
			continue;	/* still held: counted above */
		for (tries = 0; tries < 8; tries++) {
			LIBBPF_OPTS(bpf_test_run_opts, o);
			struct xcgn_gc_req req = { .key = keys[i] };

			if (bpf_map_lookup_elem(m->map4, &keys[i], &v))
				break;	/* gone already */
			req.out_seen_ns = v.out_seen_ns;
			req.in_seen_ns = in_seen(m, &keys[i], &v);
			o.ctx_in = &req;
			o.ctx_size_in = sizeof(req);
			if (bpf_prog_test_run_opts(bpf_program__fd(gc->progs.xcgn_gc_expire), &o)) {
				xcgn_err("remove a mapping: %s", strerror(errno));
				ret = XCGN_EXIT_ERR;
				break;
			}
			if (req.result == XCGN_GC_EXPIRED) {
				flushed++;
				break;
			}
			if (req.result == XCGN_GC_GONE)
				break;
		}
		if (tries == 8)
			busy++;
	}
	print_open_object(NULL);
	print_u64(PRINT_ANY, "flushed", "%llu mapping(s) flushed", flushed);
	if (busy)
		print_u64(PRINT_ANY, "busy", ", %llu kept busy by traffic", busy);
	if (held)
		print_u64(PRINT_ANY, "pcp_held", ", %llu held by PCP and left to the daemon to end",
			  held);
	if (forwards)
		print_u64(PRINT_ANY, "forwards", ", %llu forward(s) kept (xcgn forward del)", forwards);
	print_nl();
	print_close_object();
	if (!ret && flushed && !xcgn_daemon_serves(m))
		xcgn_err("no daemon runs: the blocks of subscribers left without mappings are "
			 "released when one does");
	free(keys);
	xcgn_gc__destroy(gc);
	return ret;
}

const struct xcgn_object xcgn_obj_session = {
	.name = "session",
	.usage = usage,
	.def_verb = "show",
	.cmds = (const struct xcgn_cmd[]){
		{ "show", do_session_show, 0 },
		{ "flush", session_flush, CMD_LOCK },
		{ NULL, NULL, 0 },
	},
};
