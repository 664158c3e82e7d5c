// SPDX-License-Identifier: GPL-2.0
/* Static port forwarding: a public address and port of the pool sent on
 * to a subscriber's port, for good (a business customer's server). The
 * datapath's own code makes it (xcgn_pcp_ctl, XCGN_PCP_CTL_FORWARD), as
 * it makes a PCP mapping: on the subscriber's own address (paired
 * pooling), in a block of its own, logged like every block; it is held in
 * xcgn_pcp with no lifetime (XCGN_PCP_OP_FORWARD), which the collector
 * never expires and PCP clients cannot touch. The daemon writes it to the
 * NAT log (pcp_map, via "forward") and ends it when `forward del` hands
 * it over, as `session flush` does with PCP mappings. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <syslog.h>

#include "datapath/internal.h"

static const char *fwd_why(__u32 result)
{
	switch (result) {
	case XCGN_FWD_NOT_POOL:
		return "the public address is in no pool";
	case XCGN_FWD_PORT_RANGE:
		return "the public port is outside its pool's ports";
	case XCGN_FWD_DRAINED:
		return "the public address is drained (no new subscriber lands on it)";
	case XCGN_FWD_OTHER_ADDR:
		return "the subscriber's public address is another (paired pooling)";
	case XCGN_FWD_BLOCK_TAKEN:
		return "the port's block is another subscriber's";
	case XCGN_FWD_NO_SLOT:
		return "the subscriber holds max-blocks blocks already, none with the port";
	case XCGN_FWD_NOT_ITS_BLOCK:
		return "the port is not in the subscriber's blocks (a deterministic pool)";
	case XCGN_FWD_PORT_TAKEN:
		return "the public port, or the subscriber's port, is another mapping's";
	case XCGN_FWD_HELD:
		return "the port is a forward";
	default:
		return result < XCGN_DROP_MAX ? xcgn_drop_name[result] : "refused";
	}
}

int forward_parse(int argc, char **argv, struct forward *f, bool want_to)
{
	uint32_t sub = 0;
	uint16_t port = 0;

	memset(f, 0, sizeof(*f));
	if (argc < 1 || parse_addr_port(argv[0], &f->paddr, &f->pport)) {
		xcgn_err("invalid public ADDR:PORT \"%s\"", argc ? argv[0] : "");
		return XCGN_EXIT_USAGE;
	}
	for (argc--, argv++; argc > 0; argc -= 2, argv += 2) {
		if (argc < 2) {
			xcgn_err("\"%s\" needs a value", argv[0]);
			return XCGN_EXIT_USAGE;
		}
		if (want_to && !strcmp(argv[0], "to")) {
			if (parse_addr_port(argv[1], &sub, &port)) {
				xcgn_err("invalid subscriber ADDR:PORT \"%s\"", argv[1]);
				return XCGN_EXIT_USAGE;
			}
		} else if (!strcmp(argv[0], "proto")) {
			if (!strcmp(argv[1], "tcp"))
				f->proto = 6;
			else if (!strcmp(argv[1], "udp"))
				f->proto = 17;
			else {
				xcgn_err("invalid proto \"%s\" (tcp or udp)", argv[1]);
				return XCGN_EXIT_USAGE;
			}
		} else {
			xcgn_err("unknown argument \"%s\" to forward", argv[0]);
			return XCGN_EXIT_USAGE;
		}
	}
	if ((want_to && !sub) || !f->proto) {
		xcgn_err("a forward needs %sproto { tcp | udp }", want_to ? "to SUBSCRIBER:PORT and " : "");
		return XCGN_EXIT_USAGE;
	}
	f->sub = sub;
	f->port = port;
	return 0;
}

void forward_print(FILE *out, const struct forward *f)
{
	char a[16], b[16];

	fprintf(out, "%s:%u to %s:%u proto %s", ipv4_str(f->paddr, a, sizeof(a)), f->pport,
		ipv4_str(f->sub, b, sizeof(b)), f->port, f->proto == 6 ? "tcp" : "udp");
}

int forward_add(const struct xcgn_maps *m, const struct forward *f)
{
	struct xcgn_pcp_req q = { .op = XCGN_PCP_CTL_FORWARD, .want = f->pport };
	struct xcgn_pcp cur;
	int prog, tries;

	q.in.addr = f->sub;
	q.in.port = htons(f->port);
	q.in.proto = f->proto;
	if (!bpf_map_lookup_elem(m->pcp, &q.in, &cur) && cur.opcode == XCGN_PCP_OP_FORWARD &&
	    (cur.paddr != f->paddr || ntohs(cur.pport) != f->pport)) {
		char a[16];

		xcgn_err("the subscriber's port is forwarded from %s:%u already (forward del it first)",
			 ipv4_str(cur.paddr, a, sizeof(a)), ntohs(cur.pport));
		return -EEXIST;
	}
	prog = xcgn_pcp_prog_open();
	if (prog < 0)
		return -errno;
	/* A race with the subscriber's own first packet: once more. */
	for (tries = 0; tries < 3; tries++) {
		q.result = 0;
		q.ent = (struct xcgn_pcp){ .expires_ns = XCGN_PCP_NEVER, .opcode = XCGN_PCP_OP_FORWARD,
					   .client = f->sub, .paddr = f->paddr };
		if (xcgn_pcp_ctl(prog, &q)) {
			int err = -errno;

			xcgn_err("run the datapath's mapping program: %s", strerror(errno));
			close(prog);
			return err;
		}
		if (q.result != XCGN_DROP_RACE)
			break;
	}
	close(prog);
	if (q.result) {
		char buf[128];

		snprintf(buf, sizeof(buf), "%s", fwd_why(q.result));
		if (q.result == XCGN_FWD_OTHER_ADDR) {
			struct xcgn_sub s;
			char a[16];

			if (!bpf_map_lookup_elem(m->subs, &f->sub, &s))
				snprintf(buf, sizeof(buf), "the subscriber is on %s (paired pooling)",
					 ipv4_str(s.paddr, a, sizeof(a)));
		}
		xcgn_err("forward %s:%u refused: %s", ipv4_str(f->paddr, (char[16]){ 0 }, 16), f->pport,
			 buf);
		return -EBUSY;
	}
	return 0;
}

/* The forward's subscriber tuple and its hold, found from its public side. */
static int forward_find(const struct xcgn_maps *m, const struct forward *f, struct xcgn_tuple4 *k,
			struct xcgn_pcp *e)
{
	struct xcgn_tuple4 rk = { .addr = f->paddr, .port = htons(f->pport), .proto = f->proto };
	struct xcgn_rev4 r;

	if (bpf_map_lookup_elem(m->rev4, &rk, &r))
		return -ENOENT;
	*k = (struct xcgn_tuple4){ .addr = r.saddr, .port = r.sport, .proto = f->proto };
	if (bpf_map_lookup_elem(m->pcp, k, e) || e->opcode != XCGN_PCP_OP_FORWARD)
		return -ENOENT;
	return 0;
}

int forward_del(const struct xcgn_maps *m, const struct forward *f, bool daemon)
{
	struct xcgn_tuple4 k;
	struct xcgn_pcp e;
	int t;

	if (forward_find(m, f, &k, &e)) {
		xcgn_err("no forward of %s:%u proto %s", ipv4_str(f->paddr, (char[16]){ 0 }, 16),
			 f->pport, f->proto == 6 ? "tcp" : "udp");
		return -ENOENT;
	}
	/* To the daemon, which ends it and logs the end (pcp_end). */
	e.expires_ns = 0;
	if (bpf_map_update_elem(m->pcp, &k, &e, BPF_EXIST))
		return -errno;
	if (daemon) {
		for (t = 0; t < 200; t++) {	/* 10 s: its sweep, however busy */
			if (bpf_map_lookup_elem(m->pcp, &k, &e))
				return 0;
			if (e.expires_ns) {	/* its sweep wrote over the hand-over */
				e.expires_ns = 0;
				bpf_map_update_elem(m->pcp, &k, &e, BPF_EXIST);
			}
			usleep(50000);
		}
		xcgn_logf(LOG_NOTICE, "xcgn: handed to the daemon, which has not ended it yet\n");
		return 0;
	}
	{
		/* No daemon: ended here, and the log cannot say so. */
		struct xcgn_pcp_req q = { .in = k, .op = XCGN_PCP_CTL_END };
		int prog = xcgn_pcp_prog_open(), err = 0;

		if (prog < 0 || xcgn_pcp_ctl(prog, &q))
			err = -errno;
		if (prog >= 0)
			close(prog);
		if (err) {
			xcgn_err("end the forward: %s", strerror(-err));
			return err;
		}
		xcgn_logf(LOG_WARNING, "xcgn: no daemon ended it: ended here, and the NAT log does "
				       "not say so\n");
	}
	return 0;
}

int forward_list(const struct xcgn_maps *m, struct forward **out, size_t *n)
{
	struct xcgn_tuple4 key, *prev = NULL;
	size_t cap = 0;
	struct xcgn_pcp e;

	*out = NULL;
	*n = 0;
	while (!bpf_map_get_next_key(m->pcp, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(m->pcp, &key, &e) || e.opcode != XCGN_PCP_OP_FORWARD ||
		    !e.expires_ns)
			continue;
		if (*n == cap && xcgn_grow(out, &cap, *n, sizeof(**out)))
			return -ENOMEM;
		(*out)[(*n)++] = (struct forward){ .paddr = e.paddr, .pport = ntohs(e.pport),
						   .sub = key.addr, .port = ntohs(key.port),
						   .proto = key.proto };
	}
	return 0;
}
