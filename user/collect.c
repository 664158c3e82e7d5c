// SPDX-License-Identifier: GPL-2.0
/* The collector's pure decisions, apart from maps and files so that unit
 * tests drive them with a clock of their own. */
#include "xcgn.h"

bool refusal_admit(struct refusal_limit *rl, uint64_t now_ms)
{
	uint64_t sec = now_ms / 1000;

	if (sec != rl->sec) {
		rl->sec = sec;
		rl->in_sec = 0;
	}
	if (rl->in_sec >= rl->per_s) {
		rl->suppressed++;
		return false;
	}
	rl->in_sec++;
	return true;
}

uint64_t refusal_take_suppressed(struct refusal_limit *rl)
{
	uint64_t n = rl->suppressed;

	rl->suppressed = 0;
	return n;
}

uint64_t recovered_alloc_ns(uint64_t blkts_ns, uint64_t created_ns, bool first_block)
{
	/* The first block came with the subscriber's entry; a later one was
	 * stamped as it was claimed, before the entry showed it: a stamp
	 * older than the entry is a former holder's and is not used. */
	if (first_block || blkts_ns < created_ns)
		return created_ns;
	return blkts_ns;
}
