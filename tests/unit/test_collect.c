// SPDX-License-Identifier: GPL-2.0
/* The collector's pure decisions (user/daemon/collect.c) on a clock of the test's
 * own, and the NAT log's queue (user/sinks/natlog.c) against a disk that is full
 * (/dev/full) and then is not. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon.h"

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

	/* Batch answers (xcgn log who batch) follow the same rule. */
	{
		struct natlog_parsed *recs = NULL;
		size_t n = 0;
		uint64_t at[] = { 500, 2000, 4000, 6000 };
		struct natlog_who w2;
		size_t i;

		rewind(f);
		cr_assert_eq(natlog_load(f, &recs, &n), 0, "load");
		cr_assert_eq(n, 3, "three block records");
		for (i = 0; i < 4; i++) {
			rewind(f);
			natlog_who(f, r.paddr, 1100, at[i], &w);
			natlog_who_recs(recs, n, r.paddr, 1100, at[i], &w2);
			cr_assert(w.found == w2.found && w.sub == w2.sub && w.until_ms == w2.until_ms,
				  "the same answer at %llu", (unsigned long long)at[i]);
		}
		free(recs);
	}
	fclose(f);
}

static uint32_t popped[16];
static int npopped;

static void on_pop(void *ctx, uint32_t idx, uint32_t blk)
{
	(void)ctx;
	if (npopped < 16)
		popped[npopped++] = idx * 1000 + blk;
}

Test(collect, quarantine_first_in_first_out_on_a_test_clock)
{
	struct quarantine q = {};
	uint64_t t = 1000000000ULL, rest = 120000000000ULL;
	int i;

	for (i = 0; i < 5; i++)
		cr_assert_eq(quarantine_add(&q, 1, (uint32_t)i, t + (uint64_t)i * 1000 + rest), 0, "add");
	cr_assert_not(quarantine_due(&q, t + rest - 1), "nothing before its rest is over");
	cr_assert_eq(quarantine_pop_due(&q, t + rest + 2000, on_pop, NULL), 3, "three due");
	cr_assert(popped[0] == 1000 && popped[1] == 1001 && popped[2] == 1002, "oldest first");
	/* An entry added with an earlier due (a clock step) waits its turn. */
	cr_assert_eq(quarantine_add(&q, 2, 7, t), 0, "add");
	cr_assert_eq(quarantine_pop_due(&q, t + rest + 3000, on_pop, NULL), 1, "one more");
	cr_assert_eq(quarantine_pop_due(&q, t + rest + 4000, on_pop, NULL), 2, "then the rest");
	cr_assert_eq(popped[5], 2007, "the late one last");
	cr_assert_eq(q.n, 0, "empty");
	for (i = 0; i < 5000; i++)	/* grows and reuses its room */
		cr_assert_eq(quarantine_add(&q, 3, (uint32_t)i, t), 0, "add many");
	cr_assert_eq(q.n, 5000, "all kept");
	quarantine_free(&q);
}

Test(collect, mapping_timeouts_by_protocol_and_tcp_state)
{
	struct xcgn_pool p = {};
	uint32_t est = XCGN_TCP_SYN_OUT | XCGN_TCP_SYN_IN;

	cr_assert_eq(mapping_timeout_ns(&p, 17, 0, 1), 300ULL * 1000000000ULL + XCGN_TOUCH_NS, "UDP default");
	cr_assert_eq(mapping_timeout_ns(&p, 6, est, 1), 7440ULL * 1000000000ULL + XCGN_TOUCH_NS, "established");
	cr_assert_eq(mapping_timeout_ns(&p, 6, est | XCGN_TCP_RST, 1), 240ULL * 1000000000ULL + XCGN_TOUCH_NS, "after a RST");
	cr_assert_eq(mapping_timeout_ns(&p, 6, XCGN_TCP_SYN_OUT, 1), 240ULL * 1000000000ULL + XCGN_TOUCH_NS, "half open");
	cr_assert_eq(mapping_timeout_ns(&p, 1, 0, 100), 600000000ULL + XCGN_TOUCH_NS, "ICMP at 1/100");
	p.timeout[XCGN_TIMER_UDP] = 150;
	cr_assert_eq(mapping_timeout_ns(&p, 17, 0, 1), 150ULL * 1000000000ULL + XCGN_TOUCH_NS, "pool's own");
}

/* A daemon killed between a write and its mark reads the file's last whole
 * record back at start. */
Test(collect, natlog_tail_is_the_last_whole_record)
{
	char path[] = "/tmp/xcgn-tail-XXXXXX";
	struct natlog_parsed r;
	int fd = mkstemp(path);
	FILE *f;

	cr_assert_geq(fd, 0, "temp file");
	f = fdopen(fd, "w");
	fprintf(f, "{\"ts_ms\":1,\"event\":\"alloc\",\"subscriber\":\"100.64.1.2\","
		   "\"public\":\"198.51.100.9\",\"port_lo\":1024,\"port_hi\":1535}\n");
	fprintf(f, "{\"ts_ms\":2,\"event\":\"release\",\"subscriber\":\"100.64.1.2\","
		   "\"public\":\"198.51.100.9\",\"port_lo\":1024,\"port_hi\":1535}\n");
	fflush(f);
	cr_assert_eq(natlog_tail(path, &r), 0, "read");
	cr_assert_str_eq(r.event, "release", "the last one");
	cr_assert_eq(r.ts_ms, 2, "its time");
	fprintf(f, "{\"ts_ms\":3,\"event\":\"al");	/* torn: no newline */
	fflush(f);
	cr_assert_eq(natlog_tail(path, &r), 0, "read");
	cr_assert_eq(r.ts_ms, 2, "the last whole one");
	fclose(f);
	unlink(path);
	cr_assert_neq(natlog_tail(path, &r), 0, "no file");
}

static struct rc_action acts[16];
static int nacts;

static void record(void *ctx, const struct rc_action *a)
{
	(void)ctx;
	if (nacts < 16)
		acts[nacts++] = *a;
}

/* Held: block 5 by A since 100 (logged), block 7 by B since 300 (the log
 * has C there: C's release was lost, B's allocation too), block 9 by A
 * since 400 (unlogged). The log also has D on block 2, which nobody holds
 * (D's release lost). */
Test(collect, reconcile_plan_writes_what_the_log_lacks)
{
	struct rc_held held[] = { { 9, 0xA, 400 }, { 5, 0xA, 100 }, { 7, 0xB, 3000000 } };
	struct rc_logged logged[] = { { 7, 0xC }, { 2, 0xD }, { 5, 0xA } };
	uint64_t now = 9000000;

	nacts = 0;
	cr_assert_eq(reconcile_plan(held, 3, logged, 3, now, record, NULL), 4, "four records");
	cr_assert(!acts[0].alloc && acts[0].sub == 0xD && acts[0].key == 2 && acts[0].ts_ns == now,
		  "D released now");
	cr_assert(!acts[1].alloc && acts[1].sub == 0xC && acts[1].key == 7 &&
			  acts[1].ts_ns == 2000000,
		  "C released just before B took the block");
	cr_assert(acts[2].alloc && acts[2].sub == 0xB && acts[2].key == 7 && acts[2].ts_ns == 3000000,
		  "B's allocation at its real time");
	cr_assert(acts[3].alloc && acts[3].sub == 0xA && acts[3].key == 9 && acts[3].ts_ns == 400,
		  "A's second block");
	nacts = 0;
	cr_assert_eq(reconcile_plan(held, 0, logged, 0, now, record, NULL), 0, "nothing to do");
}
