// SPDX-License-Identifier: GPL-2.0
/* user/net/pcp.c: PCP and NAT-PMP requests read, checked and answered, over a
 * backend that records what it was asked (the NAT itself is exercised in
 * tests/integration/test_pcp.sh). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "net/net.h"
#include "net/pcp.h"

struct fake {
	struct pcp_ask last;
	int calls, result;
};

static int fake_map(void *ctx, const struct pcp_ask *a, struct pcp_got *g)
{
	struct fake *f = ctx;

	f->last = *a;
	f->calls++;
	g->paddr = inet_addr("198.51.100.9");
	g->pport = a->want_port ? a->want_port : 40000;
	g->lifetime = a->lifetime;
	return f->result;
}

static int fake_addr(void *ctx, __be32 sub, __be32 *paddr)
{
	(void)ctx;
	(void)sub;
	*paddr = inet_addr("198.51.100.9");
	return PCP_SUCCESS;
}

static uint32_t fake_epoch(void *ctx)
{
	(void)ctx;
	return 77;
}

static struct fake fk;
static const struct pcp_backend be = { .ctx = &fk, .map = fake_map, .address = fake_addr,
				       .epoch = fake_epoch };
static struct pcp_config cfg;
static uint8_t req[PCP_MAX_LEN + 8], resp[PCP_MAX_LEN];

static void setup(void)
{
	memset(&fk, 0, sizeof(fk));
	memset(req, 0, sizeof(req));
	pcp_config_default(&cfg);
}

static void v4mapped(uint8_t *p, const char *a)
{
	p[10] = p[11] = 0xff;
	*(uint32_t *)(p + 12) = inet_addr(a);
}

/* A MAP request from 100.64.1.2: UDP 5000, lifetime @life. Its length. */
static size_t map_req(uint32_t life)
{
	req[0] = 2;
	req[1] = 1;
	*(uint32_t *)(req + 4) = htonl(life);
	v4mapped(req + 8, "100.64.1.2");
	memset(req + 24, 0x5a, 12);	/* nonce */
	req[36] = 17;
	*(uint16_t *)(req + 40) = htons(5000);
	return 24 + 36;
}

static size_t answer(size_t len)
{
	return pcp_answer(&cfg, &be, inet_addr("100.64.1.2"), req, len, resp);
}

TestSuite(pcp, .init = setup);

Test(pcp, map_success_fills_the_assigned_endpoint)
{
	size_t n = answer(map_req(3600));

	cr_assert_eq(n, 60, "response length");
	cr_assert_eq(resp[0], 2);
	cr_assert_eq(resp[1], 0x81, "R bit and MAP");
	cr_assert_eq(resp[3], PCP_SUCCESS);
	cr_assert_eq(ntohl(*(uint32_t *)(resp + 4)), 3600, "lifetime");
	cr_assert_eq(ntohl(*(uint32_t *)(resp + 8)), 77, "epoch");
	cr_assert_eq(memcmp(resp + 24, req + 24, 12), 0, "nonce echoed");
	cr_assert_eq(ntohs(*(uint16_t *)(resp + 42)), 40000, "assigned port");
	cr_assert_eq(*(uint32_t *)(resp + 56), inet_addr("198.51.100.9"), "assigned address");
	cr_assert_eq(resp[54], 0xff, "IPv4-mapped");
	cr_assert_eq(fk.last.port, 5000);
	cr_assert_eq(fk.last.proto, 17);
	cr_assert_eq(fk.last.sub, inet_addr("100.64.1.2"));
}

Test(pcp, lifetime_bounded_both_ways)
{
	cfg.min_lifetime_s = 120;
	cfg.max_lifetime_s = 7200;
	answer(map_req(5));
	cr_assert_eq(fk.last.lifetime, 120, "raised to the minimum");
	answer(map_req(99999));
	cr_assert_eq(fk.last.lifetime, 7200, "cut to the maximum");
	answer(map_req(0));
	cr_assert_eq(fk.last.lifetime, 0, "0 stays a delete");
}

Test(pcp, refusals_carry_the_request_back)
{
	size_t n = map_req(60);

	req[36] = 1;	/* ICMP */
	cr_assert_eq(answer(n), n, "the request's length");
	cr_assert_eq(resp[3], PCP_UNSUPP_PROTOCOL);
	cr_assert_eq(resp[36], 1, "opcode data copied back");
	cr_assert_eq(fk.calls, 0, "the NAT was not asked");
	cr_assert_eq(ntohl(*(uint32_t *)(resp + 4)), 1800, "a long error");
}

Test(pcp, malformed_and_unsupported)
{
	size_t n = map_req(60);

	cr_assert_eq(answer(n + 2), n, "length not a multiple of 4: whole words back");
	cr_assert_eq(resp[3], PCP_MALFORMED_REQUEST);
	cr_assert_eq(answer(20), 24, "shorter than the header");
	cr_assert_eq(resp[3], PCP_MALFORMED_REQUEST);
	cr_assert_eq(answer(1104), 1100, "longer than 1100");
	cr_assert_eq(resp[3], PCP_MALFORMED_REQUEST);
	req[0] = 1;
	answer(n);
	cr_assert_eq(resp[3], PCP_UNSUPP_VERSION);
	cr_assert_eq(resp[0], 2, "answered in the version spoken");
	map_req(60);
	req[1] = 7;
	answer(n);
	cr_assert_eq(resp[3], PCP_UNSUPP_OPCODE);
	map_req(60);
	*(uint16_t *)(req + 40) = 0;	/* port 0 (all ports), lifetime 60 */
	answer(n);
	cr_assert_eq(resp[3], PCP_NOT_AUTHORIZED, "every port at once: not offered");
	map_req(0);
	req[36] = 0;	/* all protocols, lifetime 0: a delete, its port ignored */
	answer(n);
	cr_assert_eq(resp[3], PCP_SUCCESS);
	cr_assert_eq(fk.last.port, 0, "the port of protocol 0 is ignored");
	cr_assert_eq(answer(40), 40, "MAP shorter than its data");
	cr_assert_eq(resp[3], PCP_MALFORMED_REQUEST);
}

Test(pcp, responses_and_scraps_get_no_answer)
{
	size_t n = map_req(60);

	req[1] |= 0x80;
	cr_assert_eq(answer(n), 0, "a response is not answered");
	cr_assert_eq(answer(1), 0, "one byte");
	cr_assert_eq(fk.calls, 0);
}

Test(pcp, client_address_must_be_the_source)
{
	size_t n = map_req(60);

	v4mapped(req + 8, "100.64.1.3");
	answer(n);
	cr_assert_eq(resp[3], PCP_ADDRESS_MISMATCH);
}

Test(pcp, options)
{
	size_t n = map_req(60);

	/* PREFER_FAILURE: taken. */
	req[n] = 2;
	cr_assert_eq(answer(n + 4), n + 4);
	cr_assert_eq(resp[3], PCP_SUCCESS);
	cr_assert(fk.last.prefer_failure);
	/* Twice: malformed. */
	req[n + 4] = 2;
	answer(n + 8);
	cr_assert_eq(resp[3], PCP_MALFORMED_OPTION);
	/* Unknown mandatory: unsupported; unknown optional: skipped. */
	req[n] = 99;
	answer(n + 4);
	cr_assert_eq(resp[3], PCP_UNSUPP_OPTION);
	req[n] = 200;
	cr_assert_eq(answer(n + 4), n, "the skipped option is not in the answer");
	cr_assert_eq(resp[3], PCP_SUCCESS);
	/* An option longer than what is left. */
	req[n] = 200;
	*(uint16_t *)(req + n + 2) = htons(64);
	answer(n + 4);
	cr_assert_eq(resp[3], PCP_MALFORMED_OPTION);
}

Test(pcp, third_party_only_when_allowed)
{
	size_t n = map_req(60);

	req[n] = 1;
	*(uint16_t *)(req + n + 2) = htons(16);
	v4mapped(req + n + 4, "100.64.1.9");
	answer(n + 20);
	cr_assert_eq(resp[3], PCP_NOT_AUTHORIZED, "not allowed by default");
	cfg.third_party[0].prefix = inet_addr("100.64.2.0");	/* another client's */
	cfg.third_party[0].plen = 24;
	cfg.nthird_party = 1;
	answer(n + 20);
	cr_assert_eq(resp[3], PCP_NOT_AUTHORIZED, "a client outside the list");
	cfg.third_party[1].prefix = inet_addr("100.64.1.2");	/* this one */
	cfg.third_party[1].plen = 32;
	cfg.nthird_party = 2;
	answer(n + 20);
	cr_assert_eq(resp[3], PCP_SUCCESS);
	cr_assert_eq(resp[n], 1, "THIRD_PARTY in the answer");
	cr_assert_eq(*(uint32_t *)(resp + n + 16), inet_addr("100.64.1.9"));
	cr_assert_eq(fk.last.sub, inet_addr("100.64.1.9"), "for the third party");
	cr_assert_eq(fk.last.client, inet_addr("100.64.1.2"), "asked by the client");
}

Test(pcp, peer_needs_a_remote)
{
	size_t n;

	map_req(60);
	req[1] = 2;
	n = 24 + 56;
	*(uint16_t *)(req + 60) = htons(3478);
	v4mapped(req + 64, "203.0.113.2");
	answer(n);
	cr_assert_eq(resp[3], PCP_SUCCESS);
	cr_assert_eq(fk.last.peer, inet_addr("203.0.113.2"));
	cr_assert_eq(fk.last.peer_port, 3478);
	memset(req + 64, 0, 16);
	answer(n);
	cr_assert_eq(resp[3], PCP_MALFORMED_REQUEST, "no remote address");
}

Test(pcp, announce)
{
	req[0] = 2;
	v4mapped(req + 8, "100.64.1.2");
	cr_assert_eq(answer(24), 24);
	cr_assert_eq(resp[1], 0x80);
	cr_assert_eq(resp[3], PCP_SUCCESS);
	cr_assert_eq(ntohl(*(uint32_t *)(resp + 4)), 0, "lifetime 0");
	cr_assert_eq(pcp_announce(5, resp), 24);
	cr_assert_eq(ntohl(*(uint32_t *)(resp + 8)), 5, "the unsolicited one's epoch");
}

Test(pcp, natpmp)
{
	req[0] = 0;
	req[1] = 0;
	cr_assert_eq(answer(2), 12, "public address response");
	cr_assert_eq(resp[1], 128);
	cr_assert_eq(*(uint32_t *)(resp + 8), inet_addr("198.51.100.9"));
	req[1] = 2;	/* TCP */
	*(uint16_t *)(req + 4) = htons(8080);
	*(uint16_t *)(req + 6) = htons(8080);
	*(uint32_t *)(req + 8) = htonl(7200);
	cr_assert_eq(answer(12), 16, "mapping response");
	cr_assert_eq(resp[1], 130);
	cr_assert_eq(ntohs(*(uint16_t *)(resp + 2)), NATPMP_SUCCESS);
	cr_assert_eq(ntohs(*(uint16_t *)(resp + 8)), 8080, "internal port");
	cr_assert_eq(ntohs(*(uint16_t *)(resp + 10)), 8080, "mapped port");
	cr_assert_eq(ntohl(*(uint32_t *)(resp + 12)), 7200);
	cr_assert_eq(fk.last.opcode, XCGN_PCP_NATPMP);
	cr_assert_eq(fk.last.proto, 6);
	fk.result = PCP_USER_EX_QUOTA;
	answer(12);
	cr_assert_eq(ntohs(*(uint16_t *)(resp + 2)), NATPMP_NO_RESOURCES, "out of resources");
	cr_assert_eq(ntohl(*(uint32_t *)(resp + 12)), 0);
	req[1] = 9;
	cr_assert_eq(answer(12), 8);
	cr_assert_eq(ntohs(*(uint16_t *)(resp + 2)), NATPMP_UNSUPP_OPCODE);
	req[1] = 1;
	cr_assert_eq(answer(6), 0, "a truncated mapping request");
}
