// SPDX-License-Identifier: GPL-2.0
/* The daemon's PCP and NAT-PMP server (`xcgn daemon pcp`): UDP port 5351
 * on the inside device, RFC 6888 REQ-9.
 *
 * A request is heard only from a subscriber address, arriving on the
 * inside device (the socket is bound to it, and the arrival device is
 * checked again from IP_PKTINFO), passing the datapath's own reverse-path
 * check (the xcgn_rpf_explain program), and within its rate. The protocol
 * is pcp.c's; a mapping is made by the running datapath's own code (the
 * pinned xcgn_pcp_ctl program), so it is on the subscriber's public
 * address, inside its blocks, under its caps, like any other. Its lifetime
 * and nonce live in the pinned xcgn_pcp map: a restarted daemon carries
 * on. Each second the server ends what ran out, and counts who holds what
 * (the per-subscriber cap) from the same walk. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <syslog.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon/daemon.h"
#include "net/pcp.h"
#include "daemon/pcp_server.h"
#include "net/rpf.h"
#include "xcgn_gc.skel.h"

#define PCP_RX_BURST	64	/* requests read per wake-up */


/* ---- the NAT, for pcp.c ------------------------------------------------------ */

static bool is_sub(const struct pcp_server *s, __be32 a)
{
	return (a & prefix_mask_be(s->li.sub_plen)) == s->li.sub_prefix;
}

/* What the datapath's refusal means to a PCP client. */
static int result_of(__u32 drop)
{
	switch (drop) {
	case XCGN_DROP_NONE:
		return PCP_SUCCESS;
	case XCGN_DROP_SUB_LIMIT:
	case XCGN_DROP_NO_PORT:
	case XCGN_DROP_SUB_RATE:
	case XCGN_DROP_SUB_MAPS:
		return PCP_USER_EX_QUOTA;
	case XCGN_DROP_MAP_PEERS:
		return PCP_EXCESSIVE_REMOTE_PEERS;
	case XCGN_DROP_RPF:
	case XCGN_FWD_HELD:	/* the operator's forward */
		return PCP_NOT_AUTHORIZED;
	default:	/* no pool, tables full, the new-subscriber cap, a race */
		return PCP_NO_RESOURCES;
	}
}

static void log_pcp(struct pcp_server *s, const char *event, const struct xcgn_tuple4 *k,
		    const struct xcgn_pcp *e, __be32 paddr, __be16 pport)
{
	struct natlog_rec r = { .event = event, .sub = k->addr, .paddr = paddr };
	struct timespec rt;

	clock_gettime(CLOCK_REALTIME, &rt);
	r.ts_ms = (uint64_t)rt.tv_sec * 1000 + (uint64_t)rt.tv_nsec / 1000000;
	r.port_lo = r.port_hi = ntohs(pport);
	r.proto = k->proto;
	r.inside_port = ntohs(k->port);
	r.lifetime = e->lifetime_s;
	r.via = xcgn_pcp_opname(e->opcode);
	if (e->client != k->addr)
		r.client = e->client;
	if (s->record)
		s->record(s->record_ctx, &r);
}

/* A forward `xcgn forward add` made: its record (pcp_map, via forward),
 * once, marked in its entry. */
static void forward_logged(struct pcp_server *s, const struct xcgn_tuple4 *k, struct xcgn_pcp *e)
{
	struct xcgn_pcp now;

	if (e->flags & XCGN_PCPF_LOGGED)
		return;
	/* As it is now, not as the walk read it: a `forward del` since must
	 * not be written over. (Between this read and the write a del can
	 * still land; the del then ends the forward itself, unlogged.) */
	if (bpf_map_lookup_elem(s->m->pcp, k, &now) || now.opcode != XCGN_PCP_OP_FORWARD ||
	    now.expires_ns != XCGN_PCP_NEVER || (now.flags & XCGN_PCPF_LOGGED))
		return;
	now.flags |= XCGN_PCPF_LOGGED;
	if (bpf_map_update_elem(s->m->pcp, k, &now, BPF_EXIST))
		return;	/* gone meanwhile: nothing to log */
	log_pcp(s, "pcp_map", k, &now, now.paddr, now.pport);
}

/* End the hold on @k (its entry @e), logged: @op is XCGN_PCP_CTL_END (its
 * client deleted it) or _EXPIRE (its lifetime ran out); @count: take it off
 * the subscriber's count (the sweep rebuilds the counts instead). 0 or
 * -errno. */
static int end_one(struct pcp_server *s, const struct xcgn_tuple4 *k, const struct xcgn_pcp *e,
		   __u8 op, bool count)
{
	struct xcgn_pcp_req q = { .in = *k, .op = op };
	uint32_t *n;

	if (xcgn_pcp_ctl(s->prog, &q))
		return -errno;
	log_pcp(s, "pcp_end", k, e, e->paddr, e->pport);
	n = count ? pcp_count_of(s, k->addr, false) : NULL;
	if (n && *n)
		(*n)--;
	s->st.ended++;
	return 0;
}

static void held_add(struct pcp_server *s, const struct xcgn_tuple4 *k)
{
	if (s->nheld == s->capheld &&
	    xcgn_grow(&s->held_keys, &s->capheld, s->nheld, sizeof(*s->held_keys)))
		return;	/* out of memory: the next sweep has it */
	s->held_keys[s->nheld++] = *k;
}

static int key_cmp(const void *a, const void *b)
{
	const struct xcgn_tuple4 *x = a, *y = b;
	__u32 p = ntohl(x->addr), q = ntohl(y->addr);

	return p < q ? -1 : p > q;
}

/* Call @fn on every hold key the index has for @sub: those of the sorted
 * part (a binary search to the first), then those added since. */
static void held_each(struct pcp_server *s, __be32 sub,
		      void (*fn)(struct pcp_server *, const struct xcgn_tuple4 *, void *), void *ctx)
{
	size_t lo = 0, hi = s->nheld_sorted, i;
	__u32 want = ntohl(sub);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ntohl(s->held_keys[mid].addr) < want)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < s->nheld_sorted && s->held_keys[i].addr == sub; i++)
		fn(s, &s->held_keys[i], ctx);
	for (i = s->nheld_sorted; i < s->nheld; i++)
		if (s->held_keys[i].addr == sub)
			fn(s, &s->held_keys[i], ctx);
}

struct delete_all {
	const struct pcp_ask *a;
	struct xcgn_tuple4 *del;
	size_t n, cap;
	bool nomem;
};

static void delete_pick(struct pcp_server *s, const struct xcgn_tuple4 *k, void *ctx)
{
	struct delete_all *da = ctx;
	bool natpmp = da->a->opcode == XCGN_PCP_NATPMP;
	struct xcgn_pcp e;
	size_t i;

	s->st.delete_all_steps++;
	if ((da->a->proto && k->proto != da->a->proto) || bpf_map_lookup_elem(s->m->pcp, k, &e) ||
	    e.opcode == XCGN_PCP_OP_FORWARD || (e.opcode == XCGN_PCP_NATPMP) != natpmp ||
	    (!natpmp && memcmp(e.nonce, da->a->nonce, sizeof(e.nonce))))
		return;
	for (i = 0; i < da->n; i++)	/* once, if the index has it twice */
		if (!memcmp(&da->del[i], k, sizeof(*k)))
			return;
	if (da->n == da->cap && xcgn_grow(&da->del, &da->cap, da->n, sizeof(*da->del))) {
		da->nomem = true;
		return;
	}
	da->del[da->n++] = *k;
}

/* Lifetime 0: the client's mapping, or all of them (port 0), ended. A
 * PCP client must show the nonce it made them with; NAT-PMP and PCP do
 * not end each other's. */
static int be_delete(struct pcp_server *s, const struct pcp_ask *a, struct pcp_got *g)
{
	struct xcgn_tuple4 k = { .addr = a->sub, .port = htons(a->port), .proto = a->proto };
	bool natpmp = a->opcode == XCGN_PCP_NATPMP;
	struct xcgn_pcp e;
	int err;

	g->lifetime = 0;
	g->pport = 0;
	if (a->port) {
		if (bpf_map_lookup_elem(s->m->pcp, &k, &e))
			return PCP_SUCCESS;	/* nothing to end */
		/* The operator's forward: no client's to end. */
		if (e.opcode == XCGN_PCP_OP_FORWARD || (e.opcode == XCGN_PCP_NATPMP) != natpmp ||
		    (!natpmp && memcmp(e.nonce, a->nonce, sizeof(e.nonce))))
			return PCP_NOT_AUTHORIZED;
		return end_one(s, &k, &e, XCGN_PCP_CTL_END, true) ? PCP_NETWORK_FAILURE : PCP_SUCCESS;
	}
	/* All of them: the subscriber's holds from the index (what it
	 * holds, not the table), picked first, then ended. */
	{
		struct delete_all da = { .a = a };
		size_t i;

		held_each(s, a->sub, delete_pick, &da);
		if (da.nomem) {
			free(da.del);
			return PCP_NO_RESOURCES;
		}
		for (i = 0, err = 0; i < da.n; i++)
			if (!bpf_map_lookup_elem(s->m->pcp, &da.del[i], &e) &&
			    end_one(s, &da.del[i], &e, XCGN_PCP_CTL_END, true))
				err = 1;
		free(da.del);
		return err ? PCP_NETWORK_FAILURE : PCP_SUCCESS;
	}
}

static int be_map(void *ctx, const struct pcp_ask *a, struct pcp_got *g)
{
	struct pcp_server *s = ctx;
	struct xcgn_tuple4 k = { .addr = a->sub, .port = htons(a->port), .proto = a->proto };
	struct xcgn_pcp_req q = { .in = k, .want = a->want_port };
	bool natpmp = a->opcode == XCGN_PCP_NATPMP, have, peer_again;
	struct xcgn_pcp cur;
	struct xcgn_sub sub;
	uint32_t *n, life = a->lifetime;
	bool absent, quiet;

	if (!is_sub(s, a->sub))	/* a THIRD_PARTY naming no subscriber */
		return PCP_NOT_AUTHORIZED;
	if (!a->lifetime)
		return be_delete(s, a, g);
	have = !bpf_map_lookup_elem(s->m->pcp, &k, &cur);
	/* A subscriber this request would make, or one that only holds what
	 * requests made: within pcp-share, and its hold no longer than its
	 * pool's UDP timer, what traffic from it would hold. */
	absent = bpf_map_lookup_elem(s->m->subs, &a->sub, &sub) || sub.addr != a->sub;
	quiet = absent || pcp_sub_quiet(s, a->sub, &sub);
	if (absent && !pcp_share_left(s)) {
		s->st.refused_share++;
		return PCP_NO_RESOURCES;
	}
	if (quiet && life > pcp_quiet_lifetime(s, absent ? NULL : &sub))
		life = pcp_quiet_lifetime(s, absent ? NULL : &sub);
	/* The same client's PEER for another remote of the same endpoint
	 * (its own nonce): the hold is renewed, its first nonce kept. */
	peer_again = have && a->opcode == XCGN_PCP_OP_PEER && cur.opcode == XCGN_PCP_OP_PEER &&
		     cur.client == a->client;
	if (have) {
		/* Someone else's: another protocol's, or (RFC 6887 §11.3)
		 * another nonce's. A PEER on a MAP's mapping changes nothing
		 * of the MAP's (its own nonce is its own). */
		if (cur.opcode == XCGN_PCP_OP_FORWARD || (cur.opcode == XCGN_PCP_NATPMP) != natpmp ||
		    (!natpmp && !(cur.opcode == XCGN_PCP_OP_MAP && a->opcode == XCGN_PCP_OP_PEER) &&
		     !peer_again && memcmp(cur.nonce, a->nonce, sizeof(cur.nonce))))
			return PCP_NOT_AUTHORIZED;
	} else {
		n = pcp_count_of(s, a->sub, false);
		if (n && *n >= s->cfg.max_per_sub)
			return PCP_USER_EX_QUOTA;
		/* On another address than the subscriber's: not here. */
		if (a->want_addr && a->prefer_failure &&
		    !bpf_map_lookup_elem(s->m->subs, &a->sub, &sub) && sub.addr == a->sub &&
		    sub.paddr != a->want_addr)
			return PCP_CANNOT_PROVIDE_EXTERNAL;
	}
	q.op = a->opcode == XCGN_PCP_OP_PEER ? XCGN_PCP_CTL_PEER : XCGN_PCP_CTL_MAP;
	q.ent.expires_ns = xcgn_mono_ns() + (uint64_t)life * 1000000000ULL;
	memcpy(q.ent.nonce, peer_again ? cur.nonce : a->nonce, sizeof(q.ent.nonce));
	q.ent.client = a->client;
	q.ent.peer = a->peer;
	q.ent.peer_port = htons(a->peer_port);
	q.ent.opcode = a->opcode;
	q.ent.lifetime_s = life;
	if (xcgn_pcp_ctl(s->prog, &q)) {
		xcgn_err("pcp: run the datapath's mapping program: %s", strerror(errno));
		return PCP_NETWORK_FAILURE;
	}
	if (q.result)
		return result_of(q.result);
	if (absent)
		pcp_quiet_add(s, a->sub);
	if (!have && a->prefer_failure &&
	    ((a->want_port && ntohs(q.ent.pport) != a->want_port) ||
	     (a->want_addr && q.ent.paddr != a->want_addr))) {
		struct xcgn_pcp_req e = { .in = k, .op = XCGN_PCP_CTL_END };

		if (xcgn_pcp_ctl(s->prog, &e))
			return PCP_NETWORK_FAILURE;
		return PCP_CANNOT_PROVIDE_EXTERNAL;
	}
	if (!have && (q.ent.opcode == a->opcode)) {
		held_add(s, &k);
		log_pcp(s, "pcp_map", &k, &q.ent, q.ent.paddr, q.ent.pport);
		n = pcp_count_of(s, a->sub, true);
		if (n)
			(*n)++;
		s->st.made++;
	}
	g->paddr = q.ent.paddr;
	g->pport = ntohs(q.ent.pport);
	g->lifetime = q.ent.opcode == a->opcode ? life
			: (uint32_t)(q.ent.expires_ns > xcgn_mono_ns() ?
				     (q.ent.expires_ns - xcgn_mono_ns()) / 1000000000ULL : 0);
	return PCP_SUCCESS;
}

static int be_address(void *ctx, __be32 addr, __be32 *paddr)
{
	struct pcp_server *s = ctx;
	struct xcgn_pcp_req q = { .in = { .addr = addr }, .op = XCGN_PCP_CTL_ADDR };
	struct xcgn_sub sub;

	if (!bpf_map_lookup_elem(s->m->subs, &addr, &sub) && sub.addr == addr) {
		*paddr = sub.paddr;
		return PCP_SUCCESS;
	}
	if (!pcp_share_left(s)) {	/* it would make a subscriber: pcp-share */
		s->st.refused_share++;
		return PCP_NO_RESOURCES;
	}
	if (xcgn_pcp_ctl(s->prog, &q))
		return PCP_NETWORK_FAILURE;
	*paddr = q.ent.paddr;
	if (!q.result)
		pcp_quiet_add(s, addr);
	return result_of(q.result);
}

/* Did @addr ask anything in the last @secs seconds (its rate slot says
 * so)? A subscriber made only to answer NAT-PMP's address question has no
 * mapping yet: the collector keeps it while its client is around. */
bool pcp_server_asked(const struct pcp_server *s, __be32 addr, uint32_t secs)
{
	const struct pcp_rate *r = &s->rl[pcp_slot_of(addr, PCP_RATE_SLOTS)];
	uint64_t now = xcgn_mono_ns();

	return s->fd >= 0 && r->addr == addr && now - r->last_ns < (uint64_t)secs * 1000000000ULL;
}

/* Seconds since this instance's state began (RFC 6887 §8.5): its attach,
 * on the monotonic clock (a step of the wall clock moves no epoch). A
 * reload keeps the state and the epoch; a new attach starts both. */
static uint32_t be_epoch(void *ctx)
{
	struct pcp_server *s = ctx;
	uint64_t at = s->li.attached_unix * 1000000000ULL - s->li.boot_offset_ns, now = xcgn_mono_ns();

	return now > at ? (uint32_t)((now - at) / 1000000000ULL) : 0;
}

/* ---- the socket ------------------------------------------------------------------ */

/* The datapath's reverse-path check of @src arriving on the inside, to
 * @dst: 0 when it passes. */
static __u32 rpf_verdict(struct pcp_server *s, __be32 src, __be32 dst)
{
	struct xcgn_rpf_query q = { .saddr = src, .daddr = dst, .sub_prefix = s->li.sub_prefix,
				    .sub_mask = prefix_mask_be(s->li.sub_plen) };
	__u32 which = XCGN_RPF_DEV_INSIDE;

	if (bpf_map_lookup_elem(s->m->rpfdev, &which, &q.dev) || rpf_explain_run(s->gc, &q))
		return XCGN_DROP_RPF;
	return q.verdict;
}

/* One datagram: who sent it, where it came in, to which address. */
static void handle(struct pcp_server *s, const uint8_t *buf, size_t len,
		   const struct sockaddr_in *from, const struct in_pktinfo *pi)
{
	const struct pcp_backend be = { .ctx = s, .map = be_map, .address = be_address,
					.epoch = be_epoch };
	struct sockaddr_in to = *from;
	uint8_t resp[PCP_MAX_LEN];
	char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))] = {};
	struct iovec iov = { .iov_base = resp };
	struct msghdr mh = { .msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov,
			     .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	struct in_pktinfo *rpi;
	__be32 src = from->sin_addr.s_addr;
	size_t n;

	s->st.requests++;
	/* Only the inside device, only subscribers, only unicast to one of our
	 * addresses (the kernel's reply source is the address itself), only
	 * sources the datapath would take from there. */
	if ((__u32)pi->ipi_ifindex != s->li.inside_ifindex || !is_sub(s, src) ||
	    pi->ipi_addr.s_addr != pi->ipi_spec_dst.s_addr ||
	    rpf_verdict(s, src, pi->ipi_addr.s_addr)) {
		s->st.refused_source++;
		return;
	}
	if (!pcp_rate_ok(s, src, xcgn_mono_ns())) {
		s->st.rate_limited++;
		return;
	}
	n = pcp_answer(&s->cfg, &be, src, buf, len, resp);
	if (!n) {
		s->st.dropped++;
		return;
	}
	/* The result code: PCP's at byte 3, NAT-PMP's (16 bits) at 2-3. */
	if (resp[0] == NATPMP_VERSION)
		s->st.natpmp_result[resp[3] < NATPMP_RESULTS ? resp[3] : NATPMP_RESULTS - 1]++;
	else
		s->st.result[resp[3] < PCP_RESULT_MAX ? resp[3] : PCP_RESULT_MAX - 1]++;
	iov.iov_len = n;
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(*rpi));
	rpi = (struct in_pktinfo *)CMSG_DATA(cm);
	rpi->ipi_ifindex = 0;
	rpi->ipi_spec_dst = pi->ipi_addr;	/* from the address it asked */
	if (sendmsg(s->fd, &mh, MSG_DONTWAIT) < 0)
		s->st.send_errors++;
}

void pcp_server_run(struct pcp_server *s)
{
	int i;

	for (i = 0; s->fd >= 0 && i < PCP_RX_BURST; i++) {
		uint8_t buf[PCP_MAX_LEN + 4];
		char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct sockaddr_in from;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
				     .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		const struct in_pktinfo *pi = NULL;
		struct cmsghdr *cm;
		ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT);

		if (n < 0)
			break;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO)
				pi = (const struct in_pktinfo *)CMSG_DATA(cm);
		if (!pi || from.sin_family != AF_INET || (mh.msg_flags & MSG_TRUNC)) {
			s->st.dropped++;
			continue;
		}
		handle(s, buf, (size_t)n, &from, pi);
	}
}

/* Each second: holds whose lifetime ran out are ended, and the counts
 * made anew from the same walk (the table is the truth: a restarted
 * daemon, a flush, a mapping the collector could not keep). */
void pcp_server_sweep(struct pcp_server *s)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	struct xcgn_tuple4 keys[256];
	struct xcgn_pcp vals[256];
	uint64_t token = 0, now = xcgn_mono_ns();
	bool first = true;
	size_t held = 0;
	int err;

	if (s->prog < 0)
		return;
	/* A reload pins new programs: follow them (their own scratch and
	 * new-subscriber bucket are the running datapath's). */
	{
		int fd = xcgn_pcp_prog_open();

		if (fd >= 0) {
			close(s->prog);
			s->prog = fd;
		}
	}
	memset(s->cnt, 0, sizeof(s->cnt));
	s->nheld = s->nheld_sorted = 0;
	do {
		__u32 count = ARRAY_SIZE(keys), i;
		uint64_t in = token;

		err = bpf_map_lookup_batch(s->m->pcp, first ? NULL : &in, &token, keys, vals,
					   &count, &bo);
		first = false;
		if (err && err != -ENOENT) {
			xcgn_err("pcp: walk the held mappings: %s", strerror(-err));
			return;
		}
		for (i = 0; i < count; i++) {
			uint32_t *n;

			/* 0: ended by `xcgn session flush` (or a forward by
			 * `forward del`), as its client would. */
			if (vals[i].expires_ns <= now) {
				s->st.expired += vals[i].expires_ns != 0;
				end_one(s, &keys[i], &vals[i],
					vals[i].expires_ns ? XCGN_PCP_CTL_EXPIRE : XCGN_PCP_CTL_END,
					false);
				continue;
			}
			/* A forward: no client's quota, no client's to end;
			 * in the log once. */
			if (vals[i].opcode == XCGN_PCP_OP_FORWARD) {
				forward_logged(s, &keys[i], &vals[i]);
				continue;
			}
			n = pcp_count_of(s, keys[i].addr, true);
			if (n)
				(*n)++;
			held_add(s, &keys[i]);
			held++;
		}
	} while (!err);
	s->st.held = held;
	if (s->nheld)
		qsort(s->held_keys, s->nheld, sizeof(*s->held_keys), key_cmp);
	s->nheld_sorted = s->nheld;
	pcp_quiet_sweep(s);
}

/* The hands and the facts, without a socket: every daemon ends what ran
 * out (with `pcp` off too: what a daemon that had it left must not be held
 * forever). 0, or -errno when the program is not pinned. */
int pcp_server_init(struct pcp_server *s, const struct xcgn_maps *m, struct xcgn_gc *gc)
{
	s->m = m;
	s->gc = gc;
	s->fd = -1;
	s->prog = xcgn_pcp_prog_open();
	if (s->prog < 0)
		return s->prog;
	if (xcgn_link_read(m, &s->li)) {
		close(s->prog);
		s->prog = -1;
		return -ENOENT;
	}
	pcp_server_sweep(s);
	return 0;
}

int pcp_server_listen(struct pcp_server *s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(PCP_SERVER_PORT) };
	char ifname[IF_NAMESIZE];
	int one = 1, err;

	if (s->prog < 0) {
		xcgn_err("pcp: the datapath's mapping program (%s) is not pinned; `xcgn link "
			 "reload` pins it", XCGN_PIN_PROG_PCP);
		return -ENOENT;
	}
	if (!if_indextoname(s->li.inside_ifindex, ifname)) {
		err = -errno;
		xcgn_err("pcp: the inside device (ifindex %u): %s", s->li.inside_ifindex,
			 strerror(-err));
		return err;
	}
	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(s->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) ||
	    setsockopt(s->fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) ||
	    bind(s->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		xcgn_err("pcp: listen on UDP port %d of %s: %s", PCP_SERVER_PORT, ifname,
			 strerror(-err));
		if (s->fd >= 0)
			close(s->fd);
		s->fd = -1;
		return err;
	}
	xcgn_logf(LOG_INFO, "xcgn daemon: PCP and NAT-PMP on UDP port %d of %s; %zu mapping(s) held\n",
		PCP_SERVER_PORT, ifname, (size_t)s->st.held);
	pcp_server_announce(s);
	return 0;
}

/* RFC 6887 §14.1.3: a server that (re)starts tells the clients, which
 * then renew their mappings at once: an ANNOUNCE to 224.0.0.1:5350 out of
 * the inside device. */
void pcp_server_announce(struct pcp_server *s)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(PCP_CLIENT_PORT),
				  .sin_addr.s_addr = htonl(0xe0000001) };
	struct ip_mreqn mr = { .imr_ifindex = (int)s->li.inside_ifindex };
	uint8_t msg[PCP_HDR_LEN];
	size_t n = pcp_announce(be_epoch(s), msg);

	if (setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)) ||
	    sendto(s->fd, msg, n, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to)) < 0)
		s->st.send_errors++;
}

void pcp_server_close(struct pcp_server *s)
{
	free(s->quiet);
	s->quiet = NULL;
	s->nquiet = s->capquiet = 0;
	free(s->held_keys);
	s->held_keys = NULL;
	s->nheld = s->capheld = s->nheld_sorted = 0;
	if (s->fd >= 0)
		close(s->fd);
	if (s->prog >= 0)
		close(s->prog);
	s->fd = s->prog = -1;
}
