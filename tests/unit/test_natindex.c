// SPDX-License-Identifier: GPL-2.0
/* user/sinks/natindex.c: the index answers every question as the scan of
 * the whole log does, stays current as the log grows, and knows a
 * rotated, compressed file for the one it read. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "sinks/sinks.h"

static char dir[] = "/tmp/xcgn-natindex.XXXXXX";

static void setup(void)
{
	cr_assert(mkdtemp(dir), "mkdtemp");
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* A churning pool of 4 addresses x 8 blocks of 320 ports (across the
 * index's 256-port buckets), 40 subscribers,
 * two nodes; some releases missing (a crash), some allocations written
 * late (recovered, out of time order), PCP ports, a deterministic pool. */
static void log_write(FILE *f, unsigned int seed, int nrec, uint64_t t0)
{
	uint32_t held[4][8] = {};	/* subscriber + 1 holding each block */
	uint64_t t = t0;
	char line[512];

	srandom(seed);
	for (int i = 0; i < nrec; i++) {
		int a = (int)(random() % 4), b = (int)(random() % 8), node = 1 + (int)(random() % 2);
		struct natlog_rec r = { .port_lo = (uint16_t)(1024 + b * 320),
					.port_hi = (uint16_t)(1024 + b * 320 + 319),
					.node = (uint32_t)node };

		t += 1 + (uint64_t)(random() % 5000);
		r.ts_ms = t;
		r.paddr = htonl(0xc6336400u + (uint32_t)a);	/* 198.51.100.a */
		if (held[a][b]) {
			r.event = "release";
			r.sub = held[a][b] - 1;
			held[a][b] = 0;
			if (random() % 10 == 0)
				continue;	/* lost */
		} else {
			r.event = "alloc";
			r.sub = htonl(0x64400000u + (uint32_t)(random() % 40));
			held[a][b] = r.sub + 1;
			if (random() % 12 == 0)
				r.ts_ms = t - 20000;	/* recovered, later than younger ones */
		}
		natlog_format(line, sizeof(line), &r);
		fprintf(f, "%s\n", line);
		if (!strcmp(r.event, "alloc") && random() % 4 == 0) {
			struct natlog_rec p = { .ts_ms = t + 1, .event = "pcp_map", .sub = r.sub,
						.paddr = r.paddr, .proto = 17,
						.inside_port = (uint16_t)(5000 + i), .lifetime = 60,
						.via = "pcp", .node = r.node };

			p.port_lo = p.port_hi = (uint16_t)(r.port_lo + random() % 320);
			natlog_format(line, sizeof(line), &p);
			fprintf(f, "%s\n", line);
		}
		if (i == nrec / 2) {	/* refusals name no block: left out */
			struct natlog_rec q = { .ts_ms = t, .event = "refused", .sub = r.sub,
						.reason = "subscriber_limit" };

			natlog_format(line, sizeof(line), &q);
			fprintf(f, "%s\n", line);
		}
	}
	{
		struct natlog_rec d = { .ts_ms = t0 + 5, .event = "deterministic", .plen = 30,
					.det_plen = 28, .port_lo = 1024, .port_hi = 65535,
					.block_size = 4032, .blocks = 1 };

		d.paddr = htonl(0xc6336440u);	/* 198.51.100.64/30 */
		d.sub = htonl(0x64410000u);	/* 100.65.0.0/28 */
		natlog_format(line, sizeof(line), &d);
		fprintf(f, "%s\n", line);
	}
}

static struct natlog_parsed *scan(const char *path, size_t *n)
{
	struct natlog_parsed *r = NULL;
	FILE *f = natlog_fopen(path);

	*n = 0;
	cr_assert(f, "open %s", path);
	cr_assert_eq(natlog_load(f, &r, n), 0, "load %s", path);
	fclose(f);
	return r;
}

/* @q questions at random: the index's answer is the scan's, field for field. */
static void compare(struct natindex *x, const struct natlog_parsed *all, size_t nall,
		    uint64_t t0, uint64_t span, int q)
{
	for (int i = 0; i < q; i++) {
		uint32_t paddr = htonl(0xc6336400u + (uint32_t)(random() % 5) +
				       (random() % 6 == 0 ? 0x40 : 0));
		uint16_t port = (uint16_t)(1000 + random() % 2700);
		uint64_t at = t0 + (uint64_t)random() % span;
		struct natlog_who a, b;
		struct natlog_parsed *r;
		size_t n;

		natlog_who_recs(all, nall, paddr, port, at, &a);
		cr_assert_eq(natindex_records(x, paddr, port, at, &r, &n), 0, "index query");
		natlog_who_recs(r, n, paddr, port, at, &b);
		free(r);
		cr_assert(!memcmp(&a, &b, sizeof(a)),
			  "question %d (%08x:%u at %llu): the scan says %s %08x since %llu, "
			  "the index %s %08x since %llu",
			  i, ntohl(paddr), port, (unsigned long long)at, a.found ? "held by" : "nobody",
			  ntohl(a.sub), (unsigned long long)a.since_ms, b.found ? "held by" : "nobody",
			  ntohl(b.sub), (unsigned long long)b.since_ms);
	}
}

Test(natindex, answers_as_the_scan_does, .init = setup, .fini = teardown)
{
	char log[256], db[256];
	uint64_t t0 = 1795554570000ULL, added = 0;
	struct natlog_parsed *all;
	struct natindex *x;
	size_t nall;
	FILE *f;

	path_of(log, sizeof(log), "nat.log");
	path_of(db, sizeof(db), "index.sqlite");
	f = fopen(log, "w");
	cr_assert(f);
	log_write(f, 7, 4000, t0);
	fclose(f);
	x = natindex_open(db);
	cr_assert(x, "open the index");
	cr_assert_eq(natindex_update(x, log, &added), 0, "update");
	all = scan(log, &nall);
	cr_assert_eq(added, nall, "every block record filed (%llu of %zu)",
		     (unsigned long long)added, nall);
	compare(x, all, nall, t0, 4000ULL * 2600, 3000);
	added = 0;
	cr_assert_eq(natindex_update(x, log, &added), 0, "update again");
	cr_assert_eq(added, 0, "an unchanged log adds nothing");
	free(all);
	natindex_close(x);
}

Test(natindex, follows_the_log_as_it_grows_and_rotates, .init = setup, .fini = teardown)
{
	char log[256], rot[256], gz[256], db[256], buf[4096];
	uint64_t t0 = 1795554570000ULL, added = 0;
	struct natlog_parsed *all, *more;
	struct natindex *x;
	size_t nall, nmore;
	gzFile z;
	FILE *f;
	size_t k;

	path_of(log, sizeof(log), "nat.log");
	path_of(rot, sizeof(rot), "nat.log.1");
	path_of(gz, sizeof(gz), "nat.log.2.gz");
	path_of(db, sizeof(db), "index.sqlite");
	f = fopen(log, "w");
	cr_assert(f);
	log_write(f, 11, 1500, t0);
	fputs("{\"time\":\"2026-11-24T21:09:30.250Z\",\"ts_ms\":17955", f);	/* being written */
	fclose(f);
	x = natindex_open(db);
	cr_assert(x);
	cr_assert_eq(natindex_update(x, log, &added), 0);
	all = scan(log, &nall);
	cr_assert_eq(added, nall, "what is whole, filed");
	/* The daemon finishes its line and writes more. */
	f = fopen(log, "a");
	cr_assert(f);
	fputs("4570250,\"event\":\"alloc\",\"subscriber\":\"100.64.0.99\",\"public\":\"198.51.100.3\","
	      "\"port_lo\":1024,\"port_hi\":1087}\n", f);
	log_write(f, 12, 500, t0 + 1500ULL * 2600);
	fclose(f);
	added = 0;
	cr_assert_eq(natindex_update(x, log, &added), 0);
	free(all);
	all = scan(log, &nall);
	cr_assert(added > 500, "the new records filed (%llu)", (unsigned long long)added);
	compare(x, all, nall, t0, 2000ULL * 2600, 1500);
	/* logrotate: renamed, then compressed; a new live file. */
	cr_assert_eq(rename(log, rot), 0);
	added = 0;
	cr_assert_eq(natindex_update(x, rot, &added), 0);
	cr_assert_eq(added, 0, "the renamed file is the one read (%llu added)",
		     (unsigned long long)added);
	f = fopen(rot, "r");
	z = gzopen(gz, "w");
	cr_assert(f && z);
	while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
		cr_assert_eq(gzwrite(z, buf, (unsigned int)k), (int)k);
	fclose(f);
	gzclose(z);
	unlink(rot);
	cr_assert_eq(natindex_update(x, gz, &added), 0);
	cr_assert_eq(added, 0, "the compressed file is the one read (%llu added)",
		     (unsigned long long)added);
	f = fopen(log, "w");
	cr_assert(f);
	log_write(f, 13, 300, t0 + 2100ULL * 2600);
	fclose(f);
	cr_assert_eq(natindex_update(x, log, &added), 0);
	more = scan(log, &nmore);
	cr_assert_eq(added, nmore, "the new live file filed");
	all = realloc(all, (nall + nmore) * sizeof(*all));
	cr_assert(all);
	memcpy(all + nall, more, nmore * sizeof(*more));
	compare(x, all, nall + nmore, t0, 2500ULL * 2600, 1500);
	free(more);
	free(all);
	natindex_close(x);
}

/* Only the files a question reads answer; prune drops the others'. */
Test(natindex, answers_from_the_files_read_only, .init = setup, .fini = teardown)
{
	char a[256], b[256], db[256];
	uint64_t t0 = 1795554570000ULL, added = 0, dropped = 0;
	struct natlog_parsed *all;
	struct natindex *x;
	size_t nall;
	FILE *f;

	path_of(a, sizeof(a), "a.log");
	path_of(b, sizeof(b), "b.log");
	path_of(db, sizeof(db), "index.sqlite");
	f = fopen(a, "w");
	cr_assert(f);
	log_write(f, 21, 400, t0);
	fclose(f);
	f = fopen(b, "w");
	cr_assert(f);
	log_write(f, 22, 400, t0 + 400ULL * 2600);
	fclose(f);
	x = natindex_open(db);
	cr_assert(x);
	cr_assert_eq(natindex_update(x, a, &added), 0);
	cr_assert_eq(natindex_update(x, b, &added), 0);
	natindex_close(x);
	/* b was rotated away: a new question reads a only. */
	unlink(b);
	x = natindex_open(db);
	cr_assert(x);
	cr_assert_eq(natindex_update(x, a, &added), 0);
	all = scan(a, &nall);
	/* Questions over b's time too: b's records would answer them. */
	compare(x, all, nall, t0, 800ULL * 2600, 1500);
	cr_assert_eq(natindex_prune(x, &dropped), 0, "prune");
	cr_assert(dropped > 300, "b's records dropped (%llu)", (unsigned long long)dropped);
	compare(x, all, nall, t0, 800ULL * 2600, 500);
	free(all);
	natindex_close(x);
}

Test(natindex, a_log_that_is_not_there_is_an_error, .init = setup, .fini = teardown)
{
	char db[256], log[256];
	uint64_t added = 0;
	struct natindex *x;

	path_of(db, sizeof(db), "index.sqlite");
	path_of(log, sizeof(log), "missing.log");
	x = natindex_open(db);
	cr_assert(x);
	cr_assert_neq(natindex_update(x, log, &added), 0, "a missing log");
	natindex_close(x);
	cr_assert_null(natindex_open("/nonexistent-dir/index.sqlite"), "an index it cannot make");
}
