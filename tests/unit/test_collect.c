// SPDX-License-Identifier: GPL-2.0
/* The collector's pure decisions (user/collect.c) on a clock of the test's
 * own, and the NAT log's queue (user/natlog.c) against a disk that is full
 * (/dev/full) and then is not. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xcgn.h"

Test(collect, refusal_limit_per_second_and_suppressed_count)
{
	struct refusal_limit rl = { .per_s = 3 };
	uint64_t t = 1795329505000ULL;
	int i, admitted = 0;

	for (i = 0; i < 10; i++)
		admitted += refusal_admit(&rl, t + (uint64_t)i);
	cr_assert_eq(admitted, 3, "three a second");
	cr_assert_eq(refusal_take_suppressed(&rl), 7, "the rest counted");
	cr_assert_eq(refusal_take_suppressed(&rl), 0, "taken once");
	cr_assert(refusal_admit(&rl, t + 1000), "the next second starts afresh");
}

Test(collect, recovered_time_is_never_a_former_holders)
{
	cr_assert_eq(recovered_alloc_ns(500, 900, true), 900, "first block: the entry's creation");
	cr_assert_eq(recovered_alloc_ns(500, 900, false), 900, "older stamp: not ours");
	cr_assert_eq(recovered_alloc_ns(1200, 900, false), 1200, "later block: its own stamp");
}

static uint64_t tags[8];
static int ntags;

static void written(void *ctx, uint64_t tag)
{
	(void)ctx;
	if (ntags < 8)
		tags[ntags++] = tag;
}

Test(collect, natlog_queues_on_a_full_disk_and_writes_in_order_after)
{
	struct natlog l;
	struct natlog_rec r = { .ts_ms = 1795329505592ULL, .event = "alloc", .sub = 0x01024064,
				.paddr = 0x096433c6, .port_lo = 1024, .port_hi = 1535 };
	char path[] = "/tmp/xcgn-natlog-XXXXXX", line[512];
	FILE *f;
	int fd, n = 0;

	cr_assert_eq(natlog_open(&l, "/dev/full", false, 1000), 0, "open");
	l.on_written = written;
	cr_assert_eq(natlog_write(&l, &r, 11), 1, "queued: the disk is full");
	r.event = "release";
	cr_assert_eq(natlog_write(&l, &r, 12), 1, "queued behind it");
	cr_assert_eq(l.st.write_errors, 1, "the failure counted once per try");
	cr_assert_eq(l.st.last_errno, ENOSPC, "and why");
	cr_assert_eq(natlog_flush(&l), -1, "still full");
	cr_assert_eq(ntags, 0, "nothing told written");

	fd = mkstemp(path);
	cr_assert_geq(fd, 0, "temp file");
	close(l.fd);
	l.fd = fd;	/* the space comes back */
	cr_assert_eq(natlog_flush(&l), 0, "written");
	cr_assert_eq(ntags, 2, "both told");
	cr_assert(tags[0] == 11 && tags[1] == 12, "in order");
	cr_assert_eq(l.st.written, 2, "counted");
	cr_assert_eq(l.st.lost, 0, "nothing lost");
	natlog_close(&l);

	f = fopen(path, "r");
	cr_assert(f, "read back");
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	unlink(path);
	cr_assert_eq(n, 2, "two whole lines");
}

/* Records recovered after a crash come after records of later times: who
 * answers by time, not by place in the file. */
Test(collect, who_reads_recovered_records_by_time)
{
	struct natlog_rec r = { .paddr = 0x096433c6, .port_lo = 1024, .port_hi = 1535 };
	char line[512];
	struct natlog_who w;
	FILE *f = tmpfile();

	cr_assert(f, "tmpfile");
	/* B got the block at 5000 (logged as it happened); A's allocation at
	 * 1000 and release at 3000 were lost and recovered later. */
	r.sub = 0x0b014064;
	r.ts_ms = 5000;
	r.event = "alloc";
	natlog_format(line, sizeof(line), &r);
	fprintf(f, "%s\n", line);
	r.sub = 0x0a014064;
	r.recovered = true;
	r.ts_ms = 1000;
	natlog_format(line, sizeof(line), &r);
	fprintf(f, "%s\n", line);
	r.ts_ms = 3000;
	r.event = "release";
	natlog_format(line, sizeof(line), &r);
	fprintf(f, "%s\n", line);

	rewind(f);
	cr_assert_eq(natlog_who(f, r.paddr, 1100, 2000, &w), 0, "read");
	cr_assert(w.found && w.sub == 0x0a014064, "A at 2000");
	rewind(f);
	cr_assert_eq(natlog_who(f, r.paddr, 1100, 4000, &w), 0, "read");
	cr_assert(!w.found && w.until_ms == 3000, "nobody at 4000: A released at 3000");
	rewind(f);
	cr_assert_eq(natlog_who(f, r.paddr, 1100, 6000, &w), 0, "read");
	cr_assert(w.found && w.sub == 0x0b014064, "B at 6000, though A's records come later");
	fclose(f);
}
