// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: the PCP and NAT-PMP request reader (what any subscriber may
 * send to the daemon): every input answered or dropped, the answer within
 * its buffer and well formed, over a backend that grants or refuses by the
 * input's own first byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "net/pcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int verdict;

static int be_map(void *ctx, const struct pcp_ask *a, struct pcp_got *g)
{
	(void)ctx;
	if (a->lifetime && !a->port)
		__builtin_trap();	/* pcp.c lets no mapping of port 0 through */
	g->paddr = 0x0901a8c6;
	g->pport = a->want_port;
	g->lifetime = a->lifetime;
	return verdict;
}

static int be_addr(void *ctx, __be32 sub, __be32 *paddr)
{
	(void)ctx;
	*paddr = sub;
	return verdict;
}

static uint32_t be_epoch(void *ctx)
{
	(void)ctx;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pcp_backend be = { .map = be_map, .address = be_addr,
					       .epoch = be_epoch };
	static uint8_t resp[PCP_MAX_LEN];
	struct pcp_config c;
	uint8_t *req;
	size_t n;

	if (size < 1 || size > PCP_MAX_LEN + 64)
		return 0;
	verdict = data[0] % PCP_RESULT_MAX;
	pcp_config_default(&c);
	/* independent of the verdict's residue: every client, or none */
	c.nthird_party = (data[0] >> 4) & 1;
	c.third_party[0].prefix = 0;
	c.third_party[0].plen = 0;
	req = malloc(size - 1 ? size - 1 : 1);	/* exactly the input: ASan sees overreads */
	if (!req)
		return 0;
	memcpy(req, data + 1, size - 1);
	n = pcp_answer(&c, &be, 0x0201a8c0, req, size - 1, resp);
	if (n > PCP_MAX_LEN || (n && n < 8))
		__builtin_trap();
	if (n && req[0] == 2 && (resp[0] != 2 || !(resp[1] & 0x80)))
		__builtin_trap();
	free(req);
	return 0;
}
