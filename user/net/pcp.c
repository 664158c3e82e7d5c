// SPDX-License-Identifier: GPL-2.0
/* PCP (RFC 6887) and NAT-PMP (RFC 6886) requests read and answered. Only
 * the wire and the protocols' rules live here: what a mapping is, and
 * whether it may be made, is the backend's (user/pcp_server.c).
 *
 * Every request that is answered at all gets an answer that says why: a
 * PCP error response carries the request's own opcode data and options
 * back (RFC 6887 §7.2), a NAT-PMP one its header. */
#include <arpa/inet.h>
#include <string.h>

#include "net/net.h"
#include "net/pcp.h"

/* Error lifetimes (RFC 6887 §7.4: how long the client should take the
 * answer to hold): short for what may change soon, long for what will not. */
#define PCP_ERR_SHORT_S	30
#define PCP_ERR_LONG_S	1800

void pcp_config_default(struct pcp_config *c)
{
	c->min_lifetime_s = 120;
	c->max_lifetime_s = 86400;
	c->max_per_sub = 64;
	c->rate = 10;
	c->nthird_party = 0;
	c->share_pct = 25;
}

bool pcp_third_party_allowed(const struct pcp_config *c, __be32 client)
{
	uint32_t i;

	for (i = 0; i < c->nthird_party && i < PCP_THIRD_PARTY_MAX; i++)
		if ((client & prefix_mask_be(c->third_party[i].plen)) == c->third_party[i].prefix)
			return true;
	return false;
}

const char *pcp_result_name(int r)
{
	static const char *const names[PCP_RESULT_MAX] = {
		"success", "unsupp_version", "not_authorized", "malformed_request",
		"unsupp_opcode", "unsupp_option", "malformed_option", "network_failure",
		"no_resources", "unsupp_protocol", "user_ex_quota", "cannot_provide_external",
		"address_mismatch", "excessive_remote_peers",
	};

	return r >= 0 && r < PCP_RESULT_MAX ? names[r] : "unknown";
}

const char *xcgn_pcp_opname(__u8 opcode)
{
	switch (opcode) {
	case XCGN_PCP_OP_MAP:
		return "pcp";
	case XCGN_PCP_OP_PEER:
		return "pcp_peer";
	case XCGN_PCP_NATPMP:
		return "natpmp";
	case XCGN_PCP_OP_FORWARD:
		return "forward";
	default:
		return "unknown";
	}
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) in @p: 1 with the address
 * in @a (network order), 0 for all zeros (none, as either family writes
 * it: :: or ::ffff:0.0.0.0), -1 for anything else (IPv6: not ours). */
static int get_v4mapped(const uint8_t *p, __be32 *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t zero[16];

	*a = 0;
	if (!memcmp(p, zero, 16))
		return 0;
	if (memcmp(p, mapped, 12))
		return -1;
	memcpy(a, p + 12, 4);
	return *a ? 1 : 0;
}

static void put_v4mapped(uint8_t *p, __be32 a)
{
	memset(p, 0, 10);
	p[10] = p[11] = 0xff;
	memcpy(p + 12, &a, 4);
}

static uint32_t bound_lifetime(const struct pcp_config *c, uint32_t want)
{
	if (!want)
		return 0;
	if (want < c->min_lifetime_s)
		return c->min_lifetime_s;
	return want > c->max_lifetime_s ? c->max_lifetime_s : want;
}

/* ---- PCP ----------------------------------------------------------------- */

static bool pcp_err_long(int result)
{
	return result == PCP_UNSUPP_VERSION || result == PCP_NOT_AUTHORIZED ||
	       result == PCP_MALFORMED_REQUEST || result == PCP_UNSUPP_OPCODE ||
	       result == PCP_UNSUPP_OPTION || result == PCP_MALFORMED_OPTION ||
	       result == PCP_UNSUPP_PROTOCOL || result == PCP_ADDRESS_MISMATCH;
}

/* The response header over @resp; the rest of @resp is the caller's. */
static void pcp_header(uint8_t *resp, uint8_t opcode, int result, uint32_t lifetime,
		       uint32_t epoch)
{
	memset(resp, 0, PCP_HDR_LEN);
	resp[0] = PCP_VERSION;
	resp[1] = (uint8_t)(PCP_R | (opcode & 0x7f));
	resp[3] = (uint8_t)result;
	put32(resp + 4, lifetime);
	put32(resp + 8, epoch);
}

/* An error: the header, then the request's opcode data and options as
 * they came (RFC 6887 §7.2), whole 4-byte words up to the maximum. */
static size_t pcp_error(const struct pcp_backend *b, const uint8_t *req, size_t len,
			uint8_t *resp, int result)
{
	size_t body = len > PCP_HDR_LEN ? len - PCP_HDR_LEN : 0;

	if (body > PCP_MAX_LEN - PCP_HDR_LEN)
		body = PCP_MAX_LEN - PCP_HDR_LEN;
	body &= ~(size_t)3;
	pcp_header(resp, req[1], result, pcp_err_long(result) ? PCP_ERR_LONG_S : PCP_ERR_SHORT_S,
		   b->epoch(b->ctx));
	if (body)
		memcpy(resp + PCP_HDR_LEN, req + PCP_HDR_LEN, body);
	return PCP_HDR_LEN + body;
}

/* What the options said. */
struct pcp_opts {
	bool third_party, prefer_failure;
	__be32 third;
};

/* Walk the options from @off: each known one valid for @opcode, at most
 * once; an unknown mandatory one (code < 128) is refused, an unknown
 * optional one skipped (RFC 6887 §7.3). */
static int pcp_options(const uint8_t *req, size_t len, size_t off, uint8_t opcode,
		       struct pcp_opts *o)
{
	memset(o, 0, sizeof(*o));
	while (off < len) {
		uint8_t code;
		size_t olen;

		if (len - off < 4)
			return PCP_MALFORMED_OPTION;
		code = req[off];
		olen = get16(req + off + 2);
		if (olen > len - off - 4 || ((olen + 3) & ~(size_t)3) > len - off - 4)
			return PCP_MALFORMED_OPTION;
		switch (code) {
		case PCP_OPT_THIRD_PARTY: {
			int v4;

			if (olen != 16 || o->third_party)
				return PCP_MALFORMED_OPTION;
			v4 = get_v4mapped(req + off + 4, &o->third);
			if (v4 <= 0)	/* none given, or IPv6 on a NAT44 */
				return PCP_MALFORMED_OPTION;
			o->third_party = true;
			break;
		}
		case PCP_OPT_PREFER_FAILURE:
			if (olen != 0 || o->prefer_failure || opcode != XCGN_PCP_OP_MAP)
				return PCP_MALFORMED_OPTION;
			o->prefer_failure = true;
			break;
		default:
			/* FILTER (3) included: not offered; mandatory, so refused. */
			if (code < 128)
				return PCP_UNSUPP_OPTION;
			break;
		}
		off += 4 + ((olen + 3) & ~(size_t)3);
	}
	return PCP_SUCCESS;
}

/* MAP (RFC 6887 §11) and PEER (§12): the opcode data read, checked, the
 * backend asked, the answer written over a copy of the request. */
static size_t pcp_map_peer(const struct pcp_config *c, const struct pcp_backend *b, __be32 src,
			   const uint8_t *req, size_t len, uint8_t *resp)
{
	uint8_t opcode = req[1] & 0x7f;
	size_t dlen = opcode == XCGN_PCP_OP_MAP ? PCP_MAP_LEN : PCP_PEER_LEN;
	const uint8_t *d = req + PCP_HDR_LEN;
	struct pcp_ask a = { .opcode = opcode, .client = src, .sub = src };
	struct pcp_got g = {};
	struct pcp_opts o;
	uint32_t want_life = get32(req + 4);
	size_t n;
	int r, v4;

	if (len < PCP_HDR_LEN + dlen)
		return pcp_error(b, req, len, resp, PCP_MALFORMED_REQUEST);
	r = pcp_options(req, len, PCP_HDR_LEN + dlen, opcode, &o);
	if (r)
		return pcp_error(b, req, len, resp, r);
	if (o.third_party) {
		if (!pcp_third_party_allowed(c, src))
			return pcp_error(b, req, len, resp, PCP_NOT_AUTHORIZED);
		a.sub = o.third;
	}
	memcpy(a.nonce, d, 12);
	a.proto = d[12];
	a.port = get16(d + 16);
	a.want_port = get16(d + 18);
	v4 = get_v4mapped(d + 20, &a.want_addr);
	a.prefer_failure = o.prefer_failure;
	a.lifetime = bound_lifetime(c, want_life);
	if (opcode == XCGN_PCP_OP_PEER) {
		/* Lifetime 0 ends what the PEER held, as a MAP's would. */
		a.peer_port = get16(d + 36);
		if (get_v4mapped(d + 40, &a.peer) <= 0 || !a.peer_port || !a.port)
			return pcp_error(b, req, len, resp, PCP_MALFORMED_REQUEST);
		if (a.proto != 6 && a.proto != 17)
			return pcp_error(b, req, len, resp, PCP_UNSUPP_PROTOCOL);
	} else {
		/* Protocol 0 is all of them, its port ignored (§11.1); only to
		 * delete. Port 0 is all ports: only to delete too, here. */
		if (!a.proto)
			a.port = 0;
		if (a.proto && a.proto != 6 && a.proto != 17)
			return pcp_error(b, req, len, resp, PCP_UNSUPP_PROTOCOL);
		if (!a.proto && want_life)
			return pcp_error(b, req, len, resp, PCP_UNSUPP_PROTOCOL);
		if (!a.port && want_life)	/* every port at once: not offered */
			return pcp_error(b, req, len, resp, PCP_NOT_AUTHORIZED);
	}
	if (v4 < 0) {	/* an IPv6 suggestion to a NAT44 */
		if (a.prefer_failure)
			return pcp_error(b, req, len, resp, PCP_CANNOT_PROVIDE_EXTERNAL);
		a.want_addr = 0;
	}
	r = b->map(b->ctx, &a, &g);
	if (r)
		return pcp_error(b, req, len, resp, r);
	/* Success: the opcode data with what was assigned, then the options
	 * that were acted on (RFC 6887 §7.3: not the ones skipped). */
	memcpy(resp + PCP_HDR_LEN, d, dlen);
	pcp_header(resp, opcode, PCP_SUCCESS, g.lifetime, b->epoch(b->ctx));
	put16(resp + PCP_HDR_LEN + 18, g.pport);
	put_v4mapped(resp + PCP_HDR_LEN + 20, g.paddr);
	n = PCP_HDR_LEN + dlen;
	if (o.third_party) {
		resp[n] = PCP_OPT_THIRD_PARTY;
		resp[n + 1] = 0;
		put16(resp + n + 2, 16);
		put_v4mapped(resp + n + 4, o.third);
		n += 20;
	}
	if (o.prefer_failure) {
		resp[n] = PCP_OPT_PREFER_FAILURE;
		resp[n + 1] = 0;
		put16(resp + n + 2, 0);
		n += 4;
	}
	return n;
}

static size_t pcp_request(const struct pcp_config *c, const struct pcp_backend *b, __be32 src,
			  const uint8_t *req, size_t len, uint8_t *resp)
{
	__be32 client;

	if (req[0] != PCP_VERSION) {
		/* Answered with the version we speak (RFC 6887 §9). */
		size_t n = pcp_error(b, req, len < PCP_HDR_LEN ? len : PCP_HDR_LEN, resp,
				     PCP_UNSUPP_VERSION);

		return n;
	}
	if (len < PCP_HDR_LEN || len > PCP_MAX_LEN || len % 4)
		return pcp_error(b, req, len < PCP_HDR_LEN ? len : len & ~(size_t)3, resp,
				 PCP_MALFORMED_REQUEST);
	/* The client's address as it saw it: another one means a NAT stands
	 * between it and us, and its mappings would be for nobody (§8.3). */
	if (get_v4mapped(req + 8, &client) <= 0 || client != src)
		return pcp_error(b, req, len, resp, PCP_ADDRESS_MISMATCH);
	switch (req[1] & 0x7f) {
	case XCGN_PCP_OP_ANNOUNCE:
		pcp_error(b, req, PCP_HDR_LEN, resp, PCP_SUCCESS);
		put32(resp + 4, 0);
		return PCP_HDR_LEN;
	case XCGN_PCP_OP_MAP:
	case XCGN_PCP_OP_PEER:
		return pcp_map_peer(c, b, src, req, len, resp);
	default:
		return pcp_error(b, req, len, resp, PCP_UNSUPP_OPCODE);
	}
}

size_t pcp_announce(uint32_t epoch, uint8_t *resp)
{
	pcp_header(resp, XCGN_PCP_OP_ANNOUNCE, PCP_SUCCESS, 0, epoch);
	return PCP_HDR_LEN;
}

/* ---- NAT-PMP ------------------------------------------------------------------ */

static int natpmp_result(int pcp)
{
	switch (pcp) {
	case PCP_SUCCESS:
		return NATPMP_SUCCESS;
	case PCP_NO_RESOURCES:
	case PCP_USER_EX_QUOTA:
	case PCP_CANNOT_PROVIDE_EXTERNAL:
		return NATPMP_NO_RESOURCES;
	case PCP_NETWORK_FAILURE:
		return NATPMP_NETWORK_FAILURE;
	default:
		return NATPMP_NOT_AUTHORIZED;
	}
}

static size_t natpmp_header(const struct pcp_backend *b, uint8_t *resp, uint8_t op, int result)
{
	resp[0] = NATPMP_VERSION;
	resp[1] = (uint8_t)(128 + op);
	put16(resp + 2, (uint16_t)result);
	put32(resp + 4, b->epoch(b->ctx));
	return 8;
}

/* RFC 6886 §3.2 (op 0: the public address) and §3.3 (1: UDP, 2: TCP). */
static size_t natpmp_request(const struct pcp_config *c, const struct pcp_backend *b, __be32 src,
			     const uint8_t *req, size_t len, uint8_t *resp)
{
	struct pcp_ask a = { .opcode = XCGN_PCP_NATPMP, .client = src, .sub = src };
	struct pcp_got g = {};
	uint8_t op = req[1];
	__be32 paddr = 0;
	int r;

	if (op >= 128)
		return 0;	/* a response: not for us */
	if (op == 0) {
		r = b->address(b->ctx, src, &paddr);
		natpmp_header(b, resp, 0, natpmp_result(r));
		memcpy(resp + 8, &paddr, 4);
		return 12;
	}
	if (op > 2)
		return natpmp_header(b, resp, op, NATPMP_UNSUPP_OPCODE);
	if (len < 12)
		return 0;	/* nothing to answer about */
	a.proto = op == 1 ? 17 : 6;
	a.port = get16(req + 4);
	a.want_port = get16(req + 6);
	a.lifetime = bound_lifetime(c, get32(req + 8));
	if (!a.port && a.lifetime)
		r = PCP_MALFORMED_REQUEST;
	else
		r = b->map(b->ctx, &a, &g);
	natpmp_header(b, resp, op, natpmp_result(r));
	put16(resp + 8, a.port);
	put16(resp + 10, r ? 0 : g.pport);
	put32(resp + 12, r ? 0 : g.lifetime);
	return 16;
}

size_t pcp_answer(const struct pcp_config *c, const struct pcp_backend *b, __be32 src,
		  const uint8_t *req, size_t len, uint8_t *resp)
{
	if (len < 2 || (req[1] & PCP_R))
		return 0;	/* too short to answer, or a response (§8.3) */
	if (req[0] == NATPMP_VERSION)
		return natpmp_request(c, b, src, req, len, resp);
	return pcp_request(c, b, src, req, len, resp);
}
