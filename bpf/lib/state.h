/* SPDX-License-Identifier: GPL-2.0 */
/* The runtime state (xcgn_state) and the cheap questions it answers. */
#ifndef XCGN_STATE_H
#define XCGN_STATE_H

#include <bpf/bpf_endian.h>

#include "maps.h"

/* An array entry, so the lookup is a few instructions the verifier
 * inlines; it spares the hash and trie lookups below for the packets that
 * cannot need them. */
static __always_inline struct xcgn_state *state_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&xcgn_state, &zero);
}

/* `xcgn link set filtering endpoint-independent`: address-dependent
 * mappings let anyone in while it is on (asked only for those). */
static __always_inline int state_filter_eif(void)
{
	struct xcgn_state *rs = state_get();

	return rs && (rs->switches & XCGN_SW_FILTER_EIF);
}

static const struct xcgn_acct acct_zero;

/* Per-subscriber accounting, called while `link set accounting on`: a
 * subprogram of its own, so its stack frame is not added to the deepest call chain of
 * the entry points (the allocation path). */
static __noinline __attribute__((unused)) int acct_add(__be32 sub, __u32 len, int out)
{
	struct xcgn_acct *a;

	/* The caller asked the switch (no call at all while it is off). */
	if (!sub)
		return 0;
	a = bpf_map_lookup_elem(&xcgn_acct, &sub);
	if (!a) {
		/* Another CPU may have made it meanwhile (EEXIST: fine); a
		 * full table leaves this subscriber uncounted. */
		bpf_map_update_elem(&xcgn_acct, &sub, &acct_zero, BPF_NOEXIST);
		a = bpf_map_lookup_elem(&xcgn_acct, &sub);
		if (!a)
			return 0;
	}
	if (out) {
		a->pkts_out++;
		a->bytes_out += len;
	} else {
		a->pkts_in++;
		a->bytes_in += len;
	}
	return 0;
}

/* RFC 6888 REQ-6: destinations the operator wants reached untranslated. */
static __always_inline int is_bypass(const struct xcgn_state *rs, __be32 dst)
{
	struct xcgn_lpm4_key k = { .prefixlen = 32, .addr = dst };

	if (!rs->nbypass)
		return 0;
	return bpf_map_lookup_elem(&xcgn_bypass, &k) != NULL;
}

/* Is @a within the range the pools' addresses span? */
static __always_inline int in_pool_range(const struct xcgn_state *rs, __be32 a)
{
	__u32 h = bpf_ntohl(a);

	return h >= rs->paddr_min && h <= rs->paddr_max;
}

/* Is @a one of the pools' addresses? A range check first: most packets go
 * to the internet, far from the pool. */
static __always_inline int is_pool_addr(const struct xcgn_state *rs, __be32 a)
{
	if (!in_pool_range(rs, a))
		return 0;
	return bpf_map_lookup_elem(&xcgn_pubidx, &a) != NULL;
}

#endif /* XCGN_STATE_H */
