/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* TCP MSS clamping (`xcgn link set mss-clamp`), on a copy of a SYN's
 * options: shared by the datapath (XDP and tc copy the options out and
 * write the changed bytes back) and the unit tests, which hold it to full
 * recomputation. The second line of defence where ICMP is filtered beyond
 * the NAT: a host never sends a segment larger than the MSS its peer
 * announced, so a path-MTU black hole cannot swallow it. */
#ifndef XCGN_MSS_H
#define XCGN_MSS_H

#include <linux/types.h>

#include "xcgn_csum.h"

#define XCGN_TCP_OPT_MAX 40	/* TCP options, at most (a 60-byte header) */
#define XCGN_TCP_OPT_BUF 64	/* the copy: a power of two, so indexes can be masked */

/* Where the changed bytes of the options lie: @off and @len (4 or 8) are
 * whole 32-bit words, counted from the first option byte; @from and @to
 * are those words before and after (for a checksum the kernel updates). */
struct xcgn_mss_window {
	__u32 off, len;
	__u32 from[2], to[2];
};

/* Lower the MSS option in @opt (@olen bytes of options, a multiple of 4, at
 * most XCGN_TCP_OPT_MAX) to @clamp if it announces more, updating the TCP
 * checksum @csum (as it sits in the header) for it. 1 with @w set when it
 * changed, 0 when there was nothing to do: no MSS option, one at or below
 * the clamp, or options that do not parse (left as they are: the receiver
 * judges them). */
static __always_inline int xcgn_mss_clamp(__u8 *opt, __u32 olen, __u16 clamp, __u16 *csum,
					  struct xcgn_mss_window *w)
{
	__u32 i = 0, n, v, a;
	__u16 mss;

	if (olen > XCGN_TCP_OPT_MAX || (olen & 3))
		return 0;
	for (n = 0; n < XCGN_TCP_OPT_MAX; n++) {
		__u8 kind, len;

		if (i + 1 >= olen)
			return 0;
		kind = opt[i & (XCGN_TCP_OPT_BUF - 1)];
		if (kind == 0)		/* end of options */
			return 0;
		if (kind == 1) {	/* no-operation */
			i++;
			continue;
		}
		len = opt[(i + 1) & (XCGN_TCP_OPT_BUF - 1)];
		if (len < 2)
			return 0;
		if (kind == 2)
			break;
		i += len;
	}
	if (n == XCGN_TCP_OPT_MAX || opt[(i + 1) & (XCGN_TCP_OPT_BUF - 1)] != 4 || i + 4 > olen)
		return 0;
	v = (i + 2) & (XCGN_TCP_OPT_BUF - 1);	/* the value, network order */
	mss = (__u16)(opt[v] << 8 | opt[(v + 1) & (XCGN_TCP_OPT_BUF - 1)]);
	if (!clamp || mss <= clamp)
		return 0;
	/* The words holding the value: one, or two when it straddles them
	 * (both within the options: olen is a multiple of 4). */
	a = v & ~3u;
	if (a > XCGN_TCP_OPT_BUF - 8)	/* never (v < olen): for the verifier */
		return 0;
	w->off = a;
	w->len = (v & 3) == 3 ? 8 : 4;
	__builtin_memcpy(w->from, opt + a, 8);
	opt[v] = (__u8)(clamp >> 8);
	opt[(v + 1) & (XCGN_TCP_OPT_BUF - 1)] = (__u8)clamp;
	__builtin_memcpy(w->to, opt + a, 8);
	*csum = xcgn_csum_update32(*csum, w->from[0], w->to[0]);
	if (w->len == 8)
		*csum = xcgn_csum_update32(*csum, w->from[1], w->to[1]);
	return 1;
}

#endif /* XCGN_MSS_H */
