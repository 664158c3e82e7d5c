// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: the NAT log reader (what `xcgn log who` trusts a log file
 * to be): every line parsed, the whole loaded, and who asked about the
 * first addresses and times it names. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sinks/sinks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct natlog_parsed *recs = NULL, r;
	struct natlog_who w;
	size_t n = 0, i;
	char *line;
	FILE *f;

	if (!size)
		return 0;
	line = malloc(size + 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	natlog_parse(line, &r);
	free(line);
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	if (!natlog_load(f, &recs, &n))
		for (i = 0; i < n && i < 8; i++)
			natlog_who_recs(recs, n, recs[i].paddr, recs[i].port_lo, recs[i].ts_ms, &w);
	free(recs);
	fclose(f);
	return 0;
}
