// SPDX-License-Identifier: GPL-2.0
/* The record stream's fan-out: every record to every registered sink. */
#include <errno.h>

#include "sinks/sinks.h"

int sinks_add(struct record_sinks *s, const struct record_sink *k)
{
	if (s->n == XCGN_SINKS_MAX)
		return -ENOSPC;
	s->v[s->n++] = *k;
	return 0;
}

void sinks_write(const struct record_sinks *s, const struct natlog_rec *r, uint64_t tag)
{
	for (int i = 0; i < s->n; i++)
		s->v[i].write(s->v[i].ctx, r, tag);
}

void sinks_flush(const struct record_sinks *s, uint64_t now_ns)
{
	for (int i = 0; i < s->n; i++)
		if (s->v[i].flush)
			s->v[i].flush(s->v[i].ctx, now_ns);
}

void sinks_reopen(const struct record_sinks *s)
{
	for (int i = 0; i < s->n; i++)
		if (s->v[i].reopen)
			s->v[i].reopen(s->v[i].ctx);
}
