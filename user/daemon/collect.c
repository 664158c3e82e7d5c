// SPDX-License-Identifier: GPL-2.0
/* The collector's pure decisions, apart from maps and files so that unit
 * tests drive them with a clock of their own. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "daemon/daemon.h"

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

uint64_t mapping_timeout_ns(const struct xcgn_pool *p, uint8_t proto, uint32_t tcp, uint32_t scale)
{
	enum xcgn_timer t = XCGN_TIMER_UDP;
	uint64_t s;

	if (proto == 6)
		t = xcgn_tcp_established(tcp) ? XCGN_TIMER_TCP_EST : XCGN_TIMER_TCP_TRANS;
	else if (proto == 1)
		t = XCGN_TIMER_ICMP;
	s = p->timeout[t] ? p->timeout[t] : xcgn_timer_default[t];
	/* The datapath moves a last-seen stamp only when it is a second old
	 * (XCGN_TOUCH_NS), so a stamp may lag the last packet by up to that:
	 * allowed for here, so nothing goes before its timer. */
	return s * 1000000000ULL / (scale ? scale : 1) + XCGN_TOUCH_NS;
}

int quarantine_add(struct quarantine *q, uint32_t idx, uint32_t blk, uint64_t due_ns)
{
	if (q->head && q->head + q->n == q->cap) {
		memmove(q->v, q->v + q->head, q->n * sizeof(*q->v));
		q->head = 0;
	}
	if (q->n == q->cap && xcgn_grow(&q->v, &q->cap, q->n, sizeof(*q->v)))
		return -ENOMEM;
	/* In order of release: a later entry never leaves before an earlier
	 * one, so only the head is ever looked at. */
	if (q->n && due_ns < q->v[q->head + q->n - 1].due_ns)
		due_ns = q->v[q->head + q->n - 1].due_ns;
	q->v[q->head + q->n++] = (struct qentry){ .idx = idx, .blk = blk, .due_ns = due_ns };
	return 0;
}

bool quarantine_due(const struct quarantine *q, uint64_t now_ns)
{
	return q->n && q->v[q->head].due_ns <= now_ns;
}

size_t quarantine_pop_due(struct quarantine *q, uint64_t now_ns,
			  void (*fn)(void *ctx, uint32_t idx, uint32_t blk), void *ctx)
{
	size_t popped = 0;

	while (quarantine_due(q, now_ns)) {
		fn(ctx, q->v[q->head].idx, q->v[q->head].blk);
		q->head++;
		q->n--;
		popped++;
	}
	if (!q->n)
		q->head = 0;
	return popped;
}

void quarantine_free(struct quarantine *q)
{
	free(q->v);
	memset(q, 0, sizeof(*q));
}

static int by_key_held(const void *a, const void *b)
{
	const struct rc_held *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

static int by_key_logged(const void *a, const void *b)
{
	const struct rc_logged *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

size_t reconcile_plan(struct rc_held *held, size_t nh, struct rc_logged *logged, size_t nl,
		      uint64_t now_ns, void (*emit)(void *ctx, const struct rc_action *a), void *ctx)
{
	size_t i = 0, j = 0, n = 0;

	qsort(held, nh, sizeof(*held), by_key_held);
	qsort(logged, nl, sizeof(*logged), by_key_logged);
	while (i < nh || j < nl) {
		const struct rc_held *h = i < nh ? &held[i] : NULL;
		const struct rc_logged *l = j < nl ? &logged[j] : NULL;
		struct rc_action a = {};

		if (h && l && h->key == l->key) {
			i++, j++;
			if (h->sub == l->sub)
				continue;	/* in the log as it is */
			/* A former holder whose release was lost: it ended
			 * before the new holder took the block. */
			a = (struct rc_action){ .alloc = false, .sub = l->sub, .key = l->key,
						.ts_ns = h->alloc_ns > 1000000 ? h->alloc_ns - 1000000 : 0 };
			emit(ctx, &a);
			a = (struct rc_action){ .alloc = true, .sub = h->sub, .key = h->key,
						.ts_ns = h->alloc_ns };
			emit(ctx, &a);
			n += 2;
		} else if (h && (!l || h->key < l->key)) {
			i++;	/* held, and the log does not know */
			a = (struct rc_action){ .alloc = true, .sub = h->sub, .key = h->key,
						.ts_ns = h->alloc_ns };
			emit(ctx, &a);
			n++;
		} else {
			j++;	/* in the log as held, and nobody holds it */
			a = (struct rc_action){ .alloc = false, .sub = l->sub, .key = l->key,
						.ts_ns = now_ns };
			emit(ctx, &a);
			n++;
		}
	}
	return n;
}
