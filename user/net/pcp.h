/* SPDX-License-Identifier: GPL-2.0 */
/* The Port Control Protocol (RFC 6887) and NAT-PMP (RFC 6886): the wire
 * format and the rules of both, apart from the sockets and the tables
 * (pcp_server.c), so that a request can be answered in a unit test and
 * fuzzed. pcp_answer() reads one request and writes its response; what it
 * needs of the NAT it asks through struct pcp_backend. */
#ifndef XCGN_PCP_H
#define XCGN_PCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>

#define PCP_SERVER_PORT		5351	/* both protocols */
#define PCP_CLIENT_PORT		5350	/* ANNOUNCE goes to 224.0.0.1 there */
#define PCP_VERSION		2
#define NATPMP_VERSION		0
#define PCP_MAX_LEN		1100	/* RFC 6887 §7 */
#define PCP_HDR_LEN		24
#define PCP_MAP_LEN		36	/* MAP opcode data */
#define PCP_PEER_LEN		56	/* PEER opcode data */
#define PCP_R			0x80	/* the response bit */

/* RFC 6887 §7.4 result codes. */
enum pcp_result {
	PCP_SUCCESS = 0,
	PCP_UNSUPP_VERSION = 1,
	PCP_NOT_AUTHORIZED = 2,
	PCP_MALFORMED_REQUEST = 3,
	PCP_UNSUPP_OPCODE = 4,
	PCP_UNSUPP_OPTION = 5,
	PCP_MALFORMED_OPTION = 6,
	PCP_NETWORK_FAILURE = 7,
	PCP_NO_RESOURCES = 8,
	PCP_UNSUPP_PROTOCOL = 9,
	PCP_USER_EX_QUOTA = 10,
	PCP_CANNOT_PROVIDE_EXTERNAL = 11,
	PCP_ADDRESS_MISMATCH = 12,
	PCP_EXCESSIVE_REMOTE_PEERS = 13,
	PCP_RESULT_MAX
};

/* RFC 6887 §13 options. */
#define PCP_OPT_THIRD_PARTY	1
#define PCP_OPT_PREFER_FAILURE	2
#define PCP_OPT_FILTER		3

/* RFC 6886 §3.5 result codes. */
enum natpmp_result {
	NATPMP_SUCCESS = 0,
	NATPMP_UNSUPP_VERSION = 1,
	NATPMP_NOT_AUTHORIZED = 2,
	NATPMP_NETWORK_FAILURE = 3,
	NATPMP_NO_RESOURCES = 4,
	NATPMP_UNSUPP_OPCODE = 5,
};

/* The server's policy (`daemon pcp ...`). */
struct pcp_config {
	uint32_t min_lifetime_s;	/* shorter requests get this */
	uint32_t max_lifetime_s;	/* longer ones are cut to this */
	uint32_t max_per_sub;		/* PCP and NAT-PMP mappings a subscriber may hold */
	uint32_t rate;			/* requests a second per subscriber (burst: 2x) */
	/* The clients whose THIRD_PARTY requests are honoured (RFC 6887
	 * §13.1: a subscriber opening holes to another's ports); none by
	 * default: NOT_AUTHORIZED. */
#define PCP_THIRD_PARTY_MAX 8
	struct {
		__be32 prefix;
		uint8_t plen;
	} third_party[PCP_THIRD_PARTY_MAX];
	uint32_t nthird_party;
	uint32_t share_pct;		/* of all pool blocks, what subscribers PCP made
					 * and that carry no traffic may hold */
};
void pcp_config_default(struct pcp_config *c);
/* May @client make THIRD_PARTY requests? */
bool pcp_third_party_allowed(const struct pcp_config *c, __be32 client);

/* One mapping to make, renew or end, as the request put it. */
struct pcp_ask {
	uint8_t opcode;		/* XCGN_PCP_OP_MAP, _PEER, or XCGN_PCP_NATPMP */
	__be32 client;		/* the request's source */
	__be32 sub;		/* the internal address (THIRD_PARTY: not the client) */
	uint16_t port;		/* internal port, host order; 0 with lifetime 0: all */
	uint8_t proto;		/* 6 or 17; 0 with lifetime 0: all */
	uint16_t want_port;	/* suggested external port, 0: none */
	__be32 want_addr;	/* suggested external address, 0: none */
	bool prefer_failure;	/* PREFER_FAILURE: the suggestion or nothing */
	uint32_t lifetime;	/* granted (already bounded); 0: delete */
	uint8_t nonce[12];
	__be32 peer;		/* PEER */
	uint16_t peer_port;
};

/* What the NAT answers. */
struct pcp_got {
	__be32 paddr;
	uint16_t pport;		/* host order */
	uint32_t lifetime;	/* as granted (0 after a delete) */
};

/* The NAT, for the protocol. Each returns an enum pcp_result. */
struct pcp_backend {
	void *ctx;
	/* make or renew (lifetime > 0) or end (lifetime 0) a mapping */
	int (*map)(void *ctx, const struct pcp_ask *a, struct pcp_got *g);
	/* the public address a subscriber's mappings are on (NAT-PMP op 0) */
	int (*address)(void *ctx, __be32 sub, __be32 *paddr);
	uint32_t (*epoch)(void *ctx);	/* seconds since the mappings' state began */
};

/* Answer the request @req (@len bytes) that @src sent: the response goes
 * to @resp (at least PCP_MAX_LEN bytes); its length is returned, 0 when
 * the request is to be dropped without an answer (RFC 6887 §8.3: too
 * short to answer, or itself a response). */
size_t pcp_answer(const struct pcp_config *c, const struct pcp_backend *b, __be32 src,
		  const uint8_t *req, size_t len, uint8_t *resp);

/* The unsolicited ANNOUNCE a restarted server sends (RFC 6887 §14.1.3):
 * its length. */
size_t pcp_announce(uint32_t epoch, uint8_t *resp);

const char *pcp_result_name(int r);

/* The opcode's name ("map", "peer", "announce", "natpmp"...). */
const char *xcgn_pcp_opname(__u8 opcode);

/* What a PCP server did (pcp_server.c): the daemon's metrics. */
struct pcp_stats {
	uint64_t requests;		/* datagrams read */
	uint64_t refused_source;	/* not a subscriber, not the inside, or spoofed */
	uint64_t rate_limited;		/* over the per-subscriber rate: no answer */
	uint64_t dropped;		/* no answer due (too short, a response) */
	uint64_t result[PCP_RESULT_MAX];	/* PCP answers by result code */
#define NATPMP_RESULTS 6
	uint64_t natpmp_result[NATPMP_RESULTS];	/* NAT-PMP answers by result code */
	uint64_t send_errors;
	uint64_t made, ended, expired;	/* mappings */
	uint64_t held;			/* at the last sweep */
	uint64_t refused_share;		/* new subscribers past pcp-share */
	uint64_t delete_all_steps;	/* holds a delete-all looked at (the index's) */
};

#endif
