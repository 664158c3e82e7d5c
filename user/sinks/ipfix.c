// SPDX-License-Identifier: GPL-2.0
/* IPFIX export of NAT events (RFC 7011 framing, RFC 8158 information
 * elements) over UDP to the operator's collectors.
 *
 * Hand-written, not libfixbuf: what goes out is three fixed-length
 * templates and their records; the encoder is the 16-byte message header,
 * the set headers and big-endian fields, and it is checked by two decoders
 * nobody here wrote (libfixbuf's ipfixDump, nfdump's nfcapd). libfixbuf
 * would bring GLib and its own session and transport model into the
 * daemon's loop for that.
 *
 * The encoder (ipfix_*_rec, ipfix_msg_*) is pure: bytes into a buffer,
 * unit-tested. The exporter around it owns one UDP socket, sends each
 * message to every collector, and sends the templates at start and every
 * IPFIX_TEMPLATE_S seconds (RFC 7011 §8.4: over UDP they are resent). The
 * sequence number counts the data records sent before each message, per
 * observation domain (RFC 7011 §3.1). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sinks/sinks.h"

/* Information elements (IANA IPFIX registry; RFC 8158 §4). */
#define IE_SOURCE_IPV4			8
#define IE_POST_NAT_SOURCE_IPV4		225
#define IE_NAT_EVENT			230
#define IE_NAT_POOL_ID			283
#define IE_OBSERVATION_TIME_MS		323
#define IE_PORT_RANGE_START		361
#define IE_PORT_RANGE_END		362
#define IE_PORT_RANGE_STEP		363
#define IE_PORT_RANGE_NUM		364
#define IE_NAT_QUOTA_EXCEEDED		466
#define IE_MAX_ENTRIES_PER_USER		473

struct ie {
	uint16_t id, len;
};

/* The templates, by id (256 and up, RFC 7011 §3.4.1). */
static const struct ie tmpl_block[] = {
	{ IE_OBSERVATION_TIME_MS, 8 }, { IE_NAT_EVENT, 1 },	  { IE_SOURCE_IPV4, 4 },
	{ IE_POST_NAT_SOURCE_IPV4, 4 }, { IE_PORT_RANGE_START, 2 }, { IE_PORT_RANGE_END, 2 },
	{ IE_PORT_RANGE_STEP, 2 },	{ IE_PORT_RANGE_NUM, 2 },
};
static const struct ie tmpl_quota[] = {
	{ IE_OBSERVATION_TIME_MS, 8 }, { IE_NAT_EVENT, 1 }, { IE_NAT_QUOTA_EXCEEDED, 4 },
	{ IE_SOURCE_IPV4, 4 },	       { IE_MAX_ENTRIES_PER_USER, 4 },
};
/* RFC 8158 §4.1.3's "NAT Addresses Exhausted". */
static const struct ie tmpl_exhausted[] = {
	{ IE_OBSERVATION_TIME_MS, 8 },
	{ IE_NAT_EVENT, 1 },
	{ IE_NAT_POOL_ID, 4 },
};
static const struct {
	uint16_t id;
	const struct ie *ies;
	size_t n;
} templates[] = {
	{ IPFIX_TMPL_BLOCK, tmpl_block, ARRAY_SIZE(tmpl_block) },
	{ IPFIX_TMPL_QUOTA, tmpl_quota, ARRAY_SIZE(tmpl_quota) },
	{ IPFIX_TMPL_EXHAUSTED, tmpl_exhausted, ARRAY_SIZE(tmpl_exhausted) },
};

static size_t rec_len(uint16_t tmpl)
{
	size_t i, j, n = 0;

	for (i = 0; i < ARRAY_SIZE(templates); i++)
		if (templates[i].id == tmpl)
			for (j = 0; j < templates[i].n; j++)
				n += templates[i].ies[j].len;
	return n;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

void ipfix_msg_start(struct ipfix_msg *m, uint32_t domain, uint32_t seq, uint32_t export_s)
{
	memset(m, 0, sizeof(*m));
	put16(m->buf, 10);		/* version */
	put32(m->buf + 4, export_s);
	put32(m->buf + 8, seq);
	put32(m->buf + 12, domain);
	m->len = 16;
	m->set = 0;
}

/* Close the open set (its length), if any. */
static void set_close(struct ipfix_msg *m)
{
	if (m->set)
		put16(m->buf + m->set + 2, (uint16_t)(m->len - m->set));
	m->set = 0;
	m->set_id = 0;
}

int ipfix_msg_templates(struct ipfix_msg *m)
{
	size_t i, j, need = 4;

	for (i = 0; i < ARRAY_SIZE(templates); i++)
		need += 4 + 4 * templates[i].n;
	if (m->len + need > sizeof(m->buf))
		return -1;
	set_close(m);
	m->set = m->len;
	put16(m->buf + m->len, 2);	/* template set */
	m->len += 4;
	for (i = 0; i < ARRAY_SIZE(templates); i++) {
		put16(m->buf + m->len, templates[i].id);
		put16(m->buf + m->len + 2, (uint16_t)templates[i].n);
		m->len += 4;
		for (j = 0; j < templates[i].n; j++) {
			put16(m->buf + m->len, templates[i].ies[j].id);
			put16(m->buf + m->len + 2, templates[i].ies[j].len);
			m->len += 4;
		}
	}
	set_close(m);
	return 0;
}

/* Room for one record of @tmpl, in a data set of it (opened when the
 * last set is another): the record's place, or NULL when full. */
static uint8_t *rec_room(struct ipfix_msg *m, uint16_t tmpl)
{
	size_t need = rec_len(tmpl) + (m->set_id == tmpl ? 0 : 4);
	uint8_t *p;

	if (m->len + need > sizeof(m->buf))
		return NULL;
	if (m->set_id != tmpl) {
		set_close(m);
		m->set = m->len;
		m->set_id = tmpl;
		put16(m->buf + m->len, tmpl);
		m->len += 4;
	}
	p = m->buf + m->len;
	m->len += rec_len(tmpl);
	m->nrec++;
	return p;
}

int ipfix_block_rec(struct ipfix_msg *m, uint64_t ts_ms, bool alloc, uint32_t sub_be,
		    uint32_t paddr_be, uint16_t lo, uint16_t hi)
{
	uint8_t *p = rec_room(m, IPFIX_TMPL_BLOCK);

	if (!p)
		return -1;
	put64(p, ts_ms);
	p[8] = alloc ? IPFIX_NAT_PORT_BLOCK_ALLOC : IPFIX_NAT_PORT_BLOCK_DEALLOC;
	memcpy(p + 9, &sub_be, 4);
	memcpy(p + 13, &paddr_be, 4);
	put16(p + 17, lo);
	put16(p + 19, hi);
	put16(p + 21, 1);
	put16(p + 23, (uint16_t)(hi - lo + 1));
	return 0;
}

int ipfix_quota_rec(struct ipfix_msg *m, uint64_t ts_ms, uint32_t sub_be, uint32_t kind,
		    uint32_t limit)
{
	uint8_t *p = rec_room(m, IPFIX_TMPL_QUOTA);

	if (!p)
		return -1;
	put64(p, ts_ms);
	p[8] = IPFIX_NAT_QUOTA_EXCEEDED;
	put32(p + 9, kind);
	memcpy(p + 13, &sub_be, 4);
	put32(p + 17, limit);
	return 0;
}

int ipfix_exhausted_rec(struct ipfix_msg *m, uint64_t ts_ms, uint32_t pool_id)
{
	uint8_t *p = rec_room(m, IPFIX_TMPL_EXHAUSTED);

	if (!p)
		return -1;
	put64(p, ts_ms);
	p[8] = IPFIX_NAT_ADDRESSES_EXHAUSTED;
	put32(p + 9, pool_id);
	return 0;
}

size_t ipfix_msg_finish(struct ipfix_msg *m)
{
	set_close(m);
	put16(m->buf + 2, (uint16_t)m->len);
	return m->len;
}

/* ---- the exporter -------------------------------------------------------- */

int ipfix_open(struct ipfix_exporter *x, uint32_t domain)
{
	memset(x, 0, sizeof(*x));
	x->domain = domain;
	x->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (x->fd < 0) {
		xcgn_err("IPFIX socket: %s", strerror(errno));
		return -errno;
	}
	x->pending = false;
	return 0;
}

int ipfix_add_collector(struct ipfix_exporter *x, const char *addr_port)
{
	struct sockaddr_in *sa;
	uint16_t port;

	if (x->ncoll == IPFIX_COLLECTORS_MAX) {
		xcgn_err("at most %d IPFIX collectors", IPFIX_COLLECTORS_MAX);
		return -ENOSPC;
	}
	sa = &x->coll[x->ncoll];
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (parse_addr_port(addr_port, &sa->sin_addr.s_addr, &port)) {
		xcgn_err("invalid IPFIX collector \"%s\" (ADDR:PORT)", addr_port);
		return -EINVAL;
	}
	sa->sin_port = htons(port);
	x->ncoll++;
	return 0;
}

static void send_msg(struct ipfix_exporter *x)
{
	size_t len = ipfix_msg_finish(&x->msg);
	int i;

	for (i = 0; i < x->ncoll; i++)
		if (sendto(x->fd, x->msg.buf, len, 0, (struct sockaddr *)&x->coll[i],
			   sizeof(x->coll[i])) != (ssize_t)len)
			x->send_errors++;
	x->messages++;
	x->seq += (uint32_t)x->msg.nrec;	/* data records, templates not counted */
	x->records += (uint64_t)x->msg.nrec;
	x->pending = false;
}

/* A message open for records: templates first when they are due. */
static void msg_open(struct ipfix_exporter *x, uint64_t now_s)
{
	if (x->pending)
		return;
	ipfix_msg_start(&x->msg, x->domain, x->seq, (uint32_t)now_s);
	if (!x->tmpl_s || now_s - x->tmpl_s >= IPFIX_TEMPLATE_S) {
		ipfix_msg_templates(&x->msg);
		x->tmpl_s = now_s;
	}
	x->pending = true;
}

void ipfix_flush(struct ipfix_exporter *x)
{
	if (x->fd >= 0 && x->ncoll && x->pending)
		send_msg(x);
}

void ipfix_templates_now(struct ipfix_exporter *x)
{
	ipfix_flush(x);
	x->tmpl_s = 0;
}

/* One record through @put; a full message goes first. */
#define IPFIX_PUT(x, now_s, call)                                                      \
	do {                                                                           \
		if ((x)->fd < 0 || !(x)->ncoll)                                        \
			break;                                                         \
		msg_open(x, now_s);                                                    \
		if (call) {                                                            \
			send_msg(x);                                                   \
			msg_open(x, now_s);                                            \
			if (call)                                                      \
				(x)->dropped++;                                        \
		}                                                                      \
	} while (0)

void ipfix_block_at(struct ipfix_exporter *x, uint64_t now_ms, uint64_t ts_ms, bool alloc,
		    uint32_t sub_be, uint32_t paddr_be, uint16_t lo, uint16_t hi)
{
	IPFIX_PUT(x, now_ms / 1000,
		  ipfix_block_rec(&x->msg, ts_ms, alloc, sub_be, paddr_be, lo, hi));
}

void ipfix_block(struct ipfix_exporter *x, uint64_t ts_ms, bool alloc, uint32_t sub_be,
		 uint32_t paddr_be, uint16_t lo, uint16_t hi)
{
	ipfix_block_at(x, ts_ms, ts_ms, alloc, sub_be, paddr_be, lo, hi);
}

void ipfix_refusal(struct ipfix_exporter *x, uint64_t ts_ms, uint32_t sub_be, int reason,
		   uint32_t max_blocks)
{
	switch (reason) {
	case XCGN_DROP_SUB_LIMIT:	/* the subscriber's blocks, or their ports, */
	case XCGN_DROP_NO_PORT:		/* all taken: its quota (RFC 8158 4.1.6) */
	case XCGN_DROP_SUB_RATE:
	case XCGN_DROP_SUB_MAPS:
		IPFIX_PUT(x, ts_ms / 1000,
			  ipfix_quota_rec(&x->msg, ts_ms, sub_be, IPFIX_QUOTA_PER_USER,
					  max_blocks));
		break;
	case XCGN_DROP_NO_POOL:		/* no address has a free block */
	case XCGN_DROP_NEW_SUB_RATE:	/* none for a new subscriber now */
		IPFIX_PUT(x, ts_ms / 1000, ipfix_exhausted_rec(&x->msg, ts_ms, 0));
		break;
	case XCGN_DROP_MAP_FULL:
	case XCGN_DROP_SUB_FULL:
	case XCGN_DROP_PEER_FULL:
	case XCGN_DROP_MAP_PEERS:
		IPFIX_PUT(x, ts_ms / 1000,
			  ipfix_quota_rec(&x->msg, ts_ms, sub_be, IPFIX_QUOTA_MAX_SESSIONS, 0));
		break;
	default:
		break;
	}
}

void ipfix_close(struct ipfix_exporter *x)
{
	ipfix_flush(x);
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
}

/* ---- the exporter as a record sink: the events RFC 8158 has a template for -- */

static void ipfix_sink_write(void *ctx, const struct natlog_rec *r, uint64_t tag __unused)
{
	struct ipfix_exporter *x = ctx;

	if (!strcmp(r->event, "alloc") || !strcmp(r->event, "release"))
		ipfix_block(x, r->ts_ms, *r->event == 'a', r->sub, r->paddr, r->port_lo, r->port_hi);
	else if (!strcmp(r->event, "refused"))
		ipfix_refusal(x, r->ts_ms, r->sub, r->drop, r->quota);
}

static void ipfix_sink_flush(void *ctx, uint64_t now_ns __unused)
{
	ipfix_flush(ctx);
}

struct record_sink ipfix_sink(struct ipfix_exporter *x)
{
	return (struct record_sink){ .name = "ipfix", .write = ipfix_sink_write,
				     .flush = ipfix_sink_flush, .ctx = x };
}
