// SPDX-License-Identifier: GPL-2.0
/* user/sinks/natlog.c and the deterministic arithmetic of user/lib/parse.c. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sinks/sinks.h"

static void rec(FILE *f, uint64_t ms, const char *ev, const char *sub, const char *pub,
		uint16_t lo, uint16_t hi)
{
	struct natlog_rec r = { .ts_ms = ms, .event = ev, .port_lo = lo, .port_hi = hi };
	char line[512];

	r.sub = inet_addr(sub);
	r.paddr = inet_addr(pub);
	natlog_format(line, sizeof(line), &r);
	fprintf(f, "%s\n", line);
}

Test(natlog, format_then_parse_round_trips)
{
	struct natlog_rec r = { .ts_ms = 1795329505592ULL, .event = "alloc", .port_lo = 1024,
				.port_hi = 1535 };
	struct natlog_parsed p;
	char line[512];

	r.sub = inet_addr("100.64.1.2");
	r.paddr = inet_addr("198.51.100.9");
	natlog_format(line, sizeof(line), &r);
	cr_assert(strstr(line, "\"time\":\"2026-11-22T06:38:25.592Z\""), "UTC time: %s", line);
	cr_assert(!strstr(line, "203.0.113"), "no destination in a record");
	cr_assert_eq(natlog_parse(line, &p), 0, "parses: %s", line);
	cr_assert_eq(p.ts_ms, r.ts_ms, "ts");
	cr_assert_str_eq(p.event, "alloc", "event");
	cr_assert_eq(p.sub, r.sub, "subscriber");
	cr_assert_eq(p.paddr, r.paddr, "public");
	cr_assert(p.port_lo == 1024 && p.port_hi == 1535, "ports");
	cr_assert_neq(natlog_parse("{\"garbage\":1}", &p), 0, "junk refused");
	cr_assert_neq(natlog_parse("{\"ts_ms\":5,\"event\":\"alloc\",\"public\":\"1.2.3.4\","
				   "\"port_lo\":9,\"port_hi\":2}",
				   &p),
		      0, "reversed ports refused");
}

Test(natlog, who_follows_allocations_and_releases)
{
	char *buf = NULL;
	size_t len = 0;
	struct natlog_who w;
	FILE *f = open_memstream(&buf, &len);
	uint32_t pub = inet_addr("198.51.100.7");

	rec(f, 1000, "alloc", "100.64.0.1", "198.51.100.7", 40000, 40511);
	rec(f, 1500, "alloc", "100.64.0.9", "198.51.100.8", 40000, 40511);	/* other address */
	rec(f, 5000, "release", "100.64.0.1", "198.51.100.7", 40000, 40511);
	rec(f, 9000, "alloc", "100.64.0.2", "198.51.100.7", 40000, 40511);
	fclose(f);

#define WHO(at)                                                                            \
	do {                                                                               \
		FILE *g = fmemopen(buf, len, "r");                                         \
		cr_assert_eq(natlog_who(g, pub, 40123, at, &w), 0, "read");              \
		fclose(g);                                                                 \
	} while (0)
	WHO(999);
	cr_assert(!w.found, "nobody before the first allocation");
	WHO(1000);
	cr_assert(w.found && w.sub == inet_addr("100.64.0.1"), "first holder from its second");
	WHO(4999);
	cr_assert(w.found && w.sub == inet_addr("100.64.0.1"), "still the first holder");
	cr_assert_eq(w.since_ms, 1000, "since");
	WHO(6000);
	cr_assert(!w.found, "nobody in quarantine");
	cr_assert_eq(w.until_ms, 5000, "released at");
	WHO(9001);
	cr_assert(w.found && w.sub == inet_addr("100.64.0.2"), "the next holder");
	free(buf);
}

Test(natlog, time_formats)
{
	uint64_t ms;

	cr_assert_eq(parse_time_ms("2026-11-17T21:14:00Z", &ms), 0, "ISO with Z");
	cr_assert_eq(ms, 1794950040000ULL, "value");
	cr_assert_eq(parse_time_ms("2026-11-17 21:14:00", &ms), 0, "with a space");
	cr_assert_eq(ms, 1794950040000ULL, "same value");
	cr_assert_eq(parse_time_ms("@1794950040", &ms), 0, "unix seconds");
	cr_assert_eq(ms, 1794950040000ULL, "same value");
	cr_assert_eq(parse_time_ms("@1794950040.25", &ms), 0, "fractions of a second");
	cr_assert_eq(ms, 1794950040250ULL, "ms");
	cr_assert_neq(parse_time_ms("@1794950040.2500", &ms), 0, "below ms refused");
	cr_assert_eq(parse_time_ms("2026-11-17T21:14:00.250Z", &ms), 0, "as the NAT log writes it");
	cr_assert_eq(ms, 1794950040250ULL, "its ms");
	cr_assert_neq(parse_time_ms("2026-11-17T21:14:00.Z", &ms), 0, "a dot and no digit");
	cr_assert_neq(parse_time_ms("@1794950040.", &ms), 0, "a dot and no digit, unix");
	cr_assert_neq(parse_time_ms("last tuesday", &ms), 0, "prose refused");
	cr_assert_neq(parse_time_ms("2026-11-17T21:14:00+02", &ms), 0, "offsets refused");
	/* Before 1970: refused, not wrapped to a time after every record. */
	cr_assert_neq(parse_time_ms("1969-12-31T23:59:59Z", &ms), 0, "before the epoch");
	cr_assert_neq(parse_time_ms("1900-01-01 00:00:00", &ms), 0, "long before");
	cr_assert_neq(parse_time_ms("@-1", &ms), 0, "negative seconds");
	cr_assert_eq(parse_time_ms("1970-01-01T00:00:00Z", &ms), 0, "the epoch itself");
	cr_assert_eq(ms, 0);
}

static struct xcgn_pool det_pool(const char *pool, uint8_t plen, const char *subs, uint8_t slen,
				 uint16_t bs, uint16_t mb)
{
	struct xcgn_pool p;

	memset(&p, 0, sizeof(p));
	p.prefix = inet_addr(pool);
	p.plen = plen;
	p.port_lo = 1024;
	p.port_hi = 65535;
	p.block_size = bs;
	p.max_blocks = mb;
	p.flags = XCGN_POOLF_DETERMINISTIC;
	p.det_prefix = inet_addr(subs);
	p.det_plen = slen;
	return p;
}

/* RFC 7422: forward and reverse are inverse over every subscriber. */
static void bijection(const char *pool, uint8_t plen, const char *subs, uint8_t slen,
		      uint16_t bs, uint16_t mb)
{
	struct xcgn_pool p = det_pool(pool, plen, subs, slen, bs, mb);
	uint32_t n, count = 1u << (32 - slen), sub, back, pa;
	uint16_t lo, hi, port;
	char why[160];

	cr_assert_eq(pool_plan(&p, why, sizeof(why)), 0, "plan: %s", why);
	for (n = 0; n < count; n++) {
		sub = htonl(ntohl(p.det_prefix) + n);
		cr_assert_eq(det_forward(&p, sub, &pa, &lo, &hi), 0, "forward %u", n);
		cr_assert_eq(hi - lo + 1, bs * mb, "share size");
		for (port = lo; port <= hi && port >= lo; port = (uint16_t)(port + bs / 2)) {
			cr_assert_eq(det_reverse(&p, pa, port, &back), 0, "reverse %u", n);
			cr_assert_eq(back, sub, "subscriber %u port %u comes back", n, port);
		}
	}
	cr_assert_neq(det_forward(&p, htonl(ntohl(p.det_prefix) + count), &pa, &lo, &hi), 0,
		      "outside the prefix");
}

Test(deterministic, bijective_over_a_22_into_a_30)
{
	bijection("198.51.100.0", 30, "100.64.0.0", 22, 64, 3);
}

Test(deterministic, bijective_over_a_24_into_a_32)
{
	bijection("198.51.100.9", 32, "100.64.8.0", 24, 128, 1);
}

Test(deterministic, plan_refuses_too_many_subscribers)
{
	/* 1024 subscribers, room for 4 x 63 */
	struct xcgn_pool p = det_pool("198.51.100.0", 30, "100.64.0.0", 22, 512, 2);
	char why[160];

	cr_assert_neq(pool_plan(&p, why, sizeof(why)), 0, "refused");
	cr_assert(strstr(why, "deterministic"), "says why: %s", why);
}

Test(pool_plan, timers_below_the_rfc_are_refused)
{
	struct xcgn_pool p = det_pool("198.51.100.0", 28, "100.64.0.0", 32, 512, 4);
	char why[160];

	p.flags = 0;	/* an ordinary pool */
	p.timeout[XCGN_TIMER_UDP] = 60;
	cr_assert_neq(pool_plan(&p, why, sizeof(why)), 0, "UDP 60 s refused");
	cr_assert(strstr(why, "udp-timeout"), "names the timer: %s", why);
	p.timeout[XCGN_TIMER_UDP] = 0;
	cr_assert_eq(pool_plan(&p, why, sizeof(why)), 0, "defaults");
	cr_assert_eq(p.timeout[XCGN_TIMER_TCP_EST], 7440, "2 h 4 min");
	cr_assert_eq(p.timeout[XCGN_TIMER_ICMP], 60, "60 s");
}

/* A cluster: each node's log names the node; one who over all the logs
 * answers for dynamic blocks and, by arithmetic, for deterministic pools
 * split across the nodes by subscriber range. */
Test(natlog, who_over_a_cluster_of_logs)
{
	struct natlog_rec d1 = { .ts_ms = 1000, .event = "deterministic", .node = 1,
				 .plen = 30, .det_plen = 26, .port_lo = 1024, .port_hi = 65535,
				 .block_size = 1000, .blocks = 4 };
	struct natlog_rec d3 = d1, a = { .ts_ms = 2000, .event = "alloc", .node = 3,
					 .port_lo = 4096, .port_hi = 4607 };
	struct natlog_parsed *recs = NULL;
	struct natlog_who w;
	char line[512], *b1 = NULL, *b3 = NULL;
	size_t l1 = 0, l3 = 0, n = 0;
	FILE *f1 = open_memstream(&b1, &l1), *f3 = open_memstream(&b3, &l3);

	d1.paddr = inet_addr("198.51.100.16");
	d1.sub = inet_addr("100.64.0.0");
	d3.node = 3;
	d3.paddr = inet_addr("198.51.100.48");
	d3.sub = inet_addr("100.64.0.128");
	a.sub = inet_addr("100.64.0.70");
	a.paddr = inet_addr("198.51.100.60");
	natlog_format(line, sizeof(line), &d1);
	cr_assert(strstr(line, "\"node\":1") && strstr(line, "\"pool\":\"198.51.100.16/30\"") &&
		  strstr(line, "\"subscribers\":\"100.64.0.0/26\""), "%s", line);
	fprintf(f1, "%s\n", line);
	natlog_format(line, sizeof(line), &d3);
	fprintf(f3, "%s\n", line);
	natlog_format(line, sizeof(line), &a);
	fprintf(f3, "%s\n", line);
	d3.event = "deterministic_end";
	d3.ts_ms = 9000;
	natlog_format(line, sizeof(line), &d3);
	fprintf(f3, "%s\n", line);
	fclose(f1);
	fclose(f3);
	f1 = fmemopen(b1, l1, "r");
	f3 = fmemopen(b3, l3, "r");
	cr_assert_eq(natlog_load(f1, &recs, &n), 0);
	cr_assert_eq(natlog_load(f3, &recs, &n), 0, "a second log adds to the first");
	cr_assert_eq(n, 4);
	/* 16 subscribers an address (64 blocks of 1000, 4 each): port 9024
	 * of the second address is subscriber 16 + 2 of node 1's range. */
	natlog_who_recs(recs, n, inet_addr("198.51.100.17"), 9024, 5000, &w);
	cr_assert(w.found && w.deterministic && w.node == 1, "node 1 by arithmetic");
	cr_assert_eq(w.sub, inet_addr("100.64.0.18"));
	cr_assert(w.port_lo == 9024 && w.port_hi == 13023, "%u-%u", w.port_lo, w.port_hi);
	natlog_who_recs(recs, n, inet_addr("198.51.100.48"), 1024, 5000, &w);
	cr_assert(w.found && w.node == 3 && w.sub == inet_addr("100.64.0.128"), "node 3");
	natlog_who_recs(recs, n, inet_addr("198.51.100.48"), 1024, 9500, &w);
	cr_assert(!w.found, "the pool ended: no arithmetic after");
	natlog_who_recs(recs, n, inet_addr("198.51.100.17"), 9024, 500, &w);
	cr_assert(!w.found, "none before the binding existed");
	natlog_who_recs(recs, n, inet_addr("198.51.100.60"), 4100, 5000, &w);
	cr_assert(w.found && !w.deterministic && w.node == 3 && w.sub == a.sub,
		  "a dynamic block on node 3");
	fclose(f1);
	fclose(f3);
	free(b1);
	free(b3);
	free(recs);
}

/* xcgn-natlog(5) shows one sample line of each kind of record: each must be
 * what natlog_format writes for it, verbatim, and each key and event the
 * formatter writes must be described in the page. */
static const struct natlog_rec natlog_samples[] = {
	{ .ts_ms = 1795554570250ULL, .event = "alloc", .port_lo = 39936, .port_hi = 40447 },
	{ .ts_ms = 1795556823004ULL, .event = "release", .port_lo = 39936, .port_hi = 40447 },
	{ .ts_ms = 1795557000120ULL, .event = "release", .port_lo = 39936, .port_hi = 40447,
	  .reason = "detached" },
	{ .ts_ms = 1795554570250ULL, .event = "alloc", .port_lo = 39936, .port_hi = 40447,
	  .recovered = true },
	{ .ts_ms = 1795554571000ULL, .event = "alloc", .port_lo = 39936, .port_hi = 40447,
	  .node = 2 },
	{ .ts_ms = 1795554602311ULL, .event = "refused", .reason = "subscriber_limit" },
	{ .ts_ms = 1795554603000ULL, .event = "refusals_suppressed", .count = 37 },
	{ .ts_ms = 1795468800000ULL, .event = "deterministic", .plen = 26, .det_plen = 18,
	  .port_lo = 1024, .port_hi = 65535, .block_size = 252, .blocks = 1 },
	{ .ts_ms = 1795641200000ULL, .event = "deterministic_end", .plen = 26, .det_plen = 18,
	  .port_lo = 1024, .port_hi = 65535, .block_size = 252, .blocks = 1 },
	{ .ts_ms = 1795554700000ULL, .event = "pcp_map", .port_lo = 40200, .port_hi = 40200,
	  .proto = 6, .inside_port = 8080, .lifetime = 7200, .via = "pcp" },
	{ .ts_ms = 1795554701000ULL, .event = "pcp_map", .port_lo = 40201, .port_hi = 40201,
	  .proto = 17, .inside_port = 5060, .lifetime = 3600, .via = "pcp" },
	{ .ts_ms = 1795554702000ULL, .event = "pcp_map", .port_lo = 40202, .port_hi = 40202,
	  .proto = 17, .inside_port = 51413, .lifetime = 7200, .via = "natpmp" },
	{ .ts_ms = 1795558300000ULL, .event = "pcp_end", .port_lo = 40200, .port_hi = 40200,
	  .proto = 6, .inside_port = 8080, .lifetime = 7200, .via = "pcp" },
};

static char *file_read(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	int c;

	cr_assert(f, "open %s", path);
	m = open_memstream(&buf, &len);
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(f);
	fclose(m);
	return buf;
}

Test(natlog, the_man_page_samples_are_what_the_daemon_writes)
{
	char *page = file_read("man/xcgn-natlog.5"), *missing = NULL, line[512];
	size_t mlen = 0;
	FILE *m = open_memstream(&missing, &mlen);
	const char *keys[] = { "time", "ts_ms", "event", "subscriber", "public", "port_lo",
			       "port_hi", "reason", "count", "recovered", "node", "pool",
			       "subscribers", "block_size", "blocks", "proto", "inside_port",
			       "lifetime", "via", "client" };
	char want[600];

	for (size_t i = 0; i < sizeof(natlog_samples) / sizeof(natlog_samples[0]); i++) {
		struct natlog_rec r = natlog_samples[i];

		if (r.block_size) {
			r.paddr = inet_addr("198.51.100.64");
			r.sub = inet_addr("100.64.0.0");
		} else {
			r.sub = inet_addr("100.64.12.34");
			if (strcmp(r.event, "refused") && strcmp(r.event, "refusals_suppressed"))
				r.paddr = inet_addr("198.51.100.7");
			if (!strcmp(r.event, "refusals_suppressed"))
				r.sub = 0;
		}
		if (r.via && r.proto == 17 && !strcmp(r.via, "pcp"))
			r.client = inet_addr("100.64.12.40");	/* THIRD_PARTY */
		natlog_format(line, sizeof(line), &r);
		snprintf(want, sizeof(want), "\n%s\n", line);
		if (!strstr(page, want))
			fprintf(m, "%s\n", line);
	}
	fclose(m);
	cr_assert(!mlen, "man/xcgn-natlog.5 lacks these sample lines, as the formatter "
			 "writes them:\n%s", missing);
	for (size_t i = 0; i < sizeof(natlog_samples) / sizeof(natlog_samples[0]); i++) {
		snprintf(want, sizeof(want), ".B %s\n", natlog_samples[i].event);
		cr_assert(strstr(page, want), "event \"%s\" is not described in xcgn-natlog(5)",
			  natlog_samples[i].event);
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(want, sizeof(want), ".B %s\n", keys[i]);
		cr_assert(strstr(page, want), "key \"%s\" is not described in xcgn-natlog(5)",
			  keys[i]);
		snprintf(want, sizeof(want), "\"%s\":", keys[i]);
		cr_assert(strstr(page, want), "no sample line of xcgn-natlog(5) has \"%s\"", keys[i]);
	}
	free(missing);
	free(page);
}
