// SPDX-License-Identifier: GPL-2.0
/* The configuration file's reader and the diff that config apply runs:
 * pure, so every case is a string in and a struct or a plan out. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

static void parse_ok(const char *text, struct xcgn_config *c)
{
	cr_assert_eq(config_parse("t.conf", text, c), 0, "rejected:\n%s", text);
}

Test(config, statements_comments_and_continuations)
{
	struct xcgn_config c;

	parse_ok("# the instance\n"
		 "link inside in0 \\\n"
		 "     outside out0 max-mappings 4096   # trailing comment\n"
		 "\n"
		 "pool 198.51.100.0/28 max-blocks 4 udp-timeout 600 parity\n"
		 "pool 198.51.100.64/29 deterministic 100.64.0.0/24 max-blocks 1 ports 1024-65535\n"
		 "bypass 192.0.2.0/24\n"
		 "daemon gc-interval 500 log-file /tmp/x.log\n",
		 &c);
	cr_assert(c.has_link);
	cr_assert_str_eq(c.inside, "in0");
	cr_assert_str_eq(c.outside, "out0");
	cr_assert_eq(c.link.max_maps, 4096);
	cr_assert_eq(c.link.max_subs, XCGN_SUBS_MAX, "defaults fill the rest");
	cr_assert_eq(c.npools, 2);
	cr_assert_eq(c.pools[0].line, 5);
	cr_assert_eq(c.pools[0].o.max_blocks, 4);
	cr_assert_eq(c.pools[0].o.timeout[XCGN_TIMER_UDP], 600);
	cr_assert_eq(c.pools[0].o.sub_burst, 16 * 126 * 3 / 4, "the cap: 3/4 of the blocks");
	cr_assert_eq(c.pools[0].o.sub_refill_s, XCGN_DEF_SUB_REFILL);
	cr_assert_eq(c.pools[1].o.sub_burst, 0, "no cap on a deterministic pool");
	cr_assert_eq(c.pools[0].o.sub_maps, 2u * c.pools[0].o.max_blocks * c.pools[0].o.block_size,
		     "a subscriber's mappings: two protocols' worth of its ports");
	cr_assert_eq(c.pools[0].o.timeout[XCGN_TIMER_TCP_EST], XCGN_DEF_TCP_EST,
		     "defaults are written in");
	cr_assert(c.pools[0].o.parity);
	cr_assert(c.pools[1].o.deterministic);
	cr_assert_eq(c.nbypass, 1);
	cr_assert_eq(c.bypass[0].line, 7);
	cr_assert_eq(c.daemon_argc, 4);
	cr_assert_str_eq(c.daemon_argv[3], "/tmp/x.log");
	config_free(&c);
}

Test(config, every_error_named_with_its_line, .init = cr_redirect_stderr)
{
	struct xcgn_config c;
	char buf[4096] = "";
	FILE *f;

	cr_assert_eq(config_parse("t.conf",
				  "link inside a outside b max-subscribers 2\n"
				  "pool 198.51.100.0/28 ports 70-60\n"
				  "whatever\n"
				  "daemon bogus\n"
				  "link inside a outside b\n",
				  &c),
		     -EINVAL);
	config_free(&c);
	fflush(stderr);
	f = cr_get_redirected_stderr();
	cr_assert_neq(fread(buf, 1, sizeof(buf) - 1, f), 0);
	cr_assert(strstr(buf, "t.conf:1: invalid max-subscribers \"2\" (must be 16..4194304)"),
		  "%s", buf);
	cr_assert(strstr(buf, "t.conf:2: invalid port range"), "%s", buf);
	cr_assert(strstr(buf, "t.conf:3: unknown statement \"whatever\""), "%s", buf);
	cr_assert(strstr(buf, "t.conf:4: unknown argument \"bogus\" to daemon"), "%s", buf);
	cr_assert(strstr(buf, "t.conf:5: a second link statement (the first is on line 1)"), "%s",
		  buf);
}

Test(config, statements_that_clash, .init = cr_redirect_stderr)
{
	static const char *const bad[] = {
		"pool 198.51.100.0/28\n",	/* no link */
		"link inside a outside b\npool 198.51.100.0/28\npool 198.51.100.0/27\n",
		"link inside a outside b\npool 100.64.1.0/28\n",
		"link inside a outside b\npool 198.51.100.0/28\nbypass 198.51.100.0/24\n",
		"link inside a outside b\nbypass 192.0.2.0/24\nbypass 192.0.2.0/24\n",
		"link inside a outside b\npool 198.51.100.0/28 deterministic 100.64.0.0/16\n",
		"link inside a outside b subscribers 100.64.0.0/24\n"
		"pool 198.51.100.0/28 deterministic 100.65.0.0/24\n",
		"link inside a outside b\npool 10.0.0.0/15\n",
		"link inside a outside b\npool 198.51.100.0/28 udp-timeout 5\n",
		"link inside abcdefghijklmnopq outside b\n",
		"link inside a\n",
		"bypass\n",
		"link inside a outside b\npool 198.51.100.0/28 max-blocks 0\n",
	};
	struct xcgn_config c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cr_assert_eq(config_parse("t.conf", bad[i], &c), -EINVAL, "accepted:\n%s", bad[i]);
		config_free(&c);
	}
}

/* The file printed and read back is the same configuration. */
Test(config, printed_form_reads_back_the_same)
{
	struct xcgn_config a, b;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	parse_ok("link inside in0 outside out0 rpf-inside loose refusal-icmp none bypass-all on \\\n"
		 "     filtering endpoint-independent refusal-log off max-addresses 8192\n"
		 "pool 198.51.100.0/28 max-blocks 4 parity new-rate 20 filtering address-dependent \\\n"
		 "     exclude 198.51.100.0 exclude 198.51.100.15 exclude 198.51.100.8/30\n"
		 "pool 198.51.100.64/29 deterministic 100.64.0.0/24 max-blocks 1\n"
		 "bypass 192.0.2.0/24\n",
		 &a);
	f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	config_print(f, &a);
	fclose(f);
	parse_ok(buf, &b);
	cr_assert_eq(b.npools, a.npools);
	cr_assert_eq(memcmp(&a.pools[0].o, &b.pools[0].o, sizeof(a.pools[0].o)), 0);
	cr_assert_eq(memcmp(&a.pools[1].o, &b.pools[1].o, sizeof(a.pools[1].o)), 0);
	cr_assert_eq(b.link.rpf_in, XCGN_RPF_LOOSE);
	cr_assert_eq(b.link.refusal_icmp, XCGN_REFUSAL_SILENT);
	cr_assert_eq(b.link.switches,
		     XCGN_SW_BYPASS_ALL | XCGN_SW_FILTER_EIF | XCGN_SW_REFUSAL_LOG_OFF);
	cr_assert_eq(b.link.max_addrs, 8192);
	cr_assert_eq(b.pools[0].o.nexcl, 3);
	{
		struct config_plan p = {};

		cr_assert_eq(config_diff(&a, &b, &p), 0);
		cr_assert_eq(p.n, 0, "a printed configuration differs from itself by %zu", p.n);
		config_plan_free(&p);
	}
	free(buf);
	config_free(&a);
	config_free(&b);
}

static const char *kinds(const struct config_plan *p, char *buf, size_t len)
{
	size_t i, at = 0;

	buf[0] = '\0';
	for (i = 0; i < p->n && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? "," : "",
				       cstep_name[p->v[i].kind]);
	return buf;
}

Test(config, diff_orders_steps_safely)
{
	struct xcgn_config run, want;
	struct config_plan p = {};
	char buf[512];

	parse_ok("link inside a outside b\n"
		 "pool 198.51.100.0/28\n"
		 "pool 198.51.100.16/28\n"
		 "pool 198.51.100.32/28 ports 2048-65535 block-size 1024\n"
		 "bypass 192.0.2.0/24\n",
		 &run);
	/* .0 changes in place, .16 goes, .32 changes its ports (del, add),
	 * .48 is new, the bypass moves, rpf-inside changes. */
	parse_ok("link inside a outside b rpf-inside loose\n"
		 "pool 198.51.100.0/28 max-blocks 2 udp-timeout 900\n"
		 "pool 198.51.100.32/28\n"
		 "pool 198.51.100.48/28\n"
		 "bypass 192.0.2.0/25\n",
		 &want);
	cr_assert_eq(config_diff(&run, &want, &p), 0);
	cr_assert_not(p.restart);
	cr_assert_str_eq(kinds(&p, buf, sizeof(buf)),
			 "link set,pool set,bypass del,pool del,pool del,pool add,pool add,"
			 "bypass add");
	cr_assert_eq(p.v[3].from->prefix, run.pools[1].o.prefix);
	cr_assert_eq(p.v[5].to->prefix, want.pools[1].o.prefix);
	config_plan_free(&p);

	/* From nothing: attach, then everything. */
	cr_assert_eq(config_diff(NULL, &want, &p), 0);
	cr_assert_str_eq(kinds(&p, buf, sizeof(buf)),
			 "attach,pool add,pool add,pool add,bypass add");
	config_plan_free(&p);
	config_free(&want);

	/* A table size: a restart, said, and all from nothing. */
	parse_ok("link inside a outside b max-mappings 1024\npool 198.51.100.0/28\n", &want);
	cr_assert_eq(config_diff(&run, &want, &p), 0);
	cr_assert(p.restart);
	cr_assert(strstr(p.why, "max-mappings 262144 becomes 1024"), "%s", p.why);
	cr_assert_str_eq(kinds(&p, buf, sizeof(buf)), "attach,pool add");
	config_plan_free(&p);
	config_free(&want);
	config_free(&run);
}

/* Exclusions: the same addresses said two ways compare equal; the fewest
 * aligned prefixes; a pool left empty, or one out of the prefix, refused. */
Test(config, exclusions_normalized)
{
	struct pool_opts o = {}, p = {};
	char why[160];
	uint32_t a;
	int i;

	parse_prefix("198.51.100.0/28", &o.prefix, &o.plen);
	p = o;
	for (i = 4; i < 8; i++) {	/* .4 .5 .6 .7 one by one */
		parse_ipv4(i == 4 ? "198.51.100.4" : i == 5 ? "198.51.100.5" :
			   i == 6 ? "198.51.100.6" : "198.51.100.7", &a);
		cr_assert_eq(excl_add(&o, a, 32, why, sizeof(why)), 0);
	}
	parse_ipv4("198.51.100.9", &a);
	cr_assert_eq(excl_add(&o, a, 32, why, sizeof(why)), 0);
	cr_assert_eq(excl_normalize(&o, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(o.nexcl, 2, "one /30 and one /32, not %u", o.nexcl);
	cr_assert_eq(o.excl[0].plen, 30);
	parse_prefix("198.51.100.4/30", &a, &p.plen);
	cr_assert_eq(o.excl[0].prefix, a);
	cr_assert_eq(o.excl[1].plen, 32);
	cr_assert(excl_has(&o, htonl(ntohl(a) + 3)));
	cr_assert_not(excl_has(&o, htonl(ntohl(a) + 4)));

	p.plen = 28;
	parse_prefix("198.51.100.0/28", &a, &p.plen);
	cr_assert_neq(excl_add(&p, htonl(ntohl(a) + 16), 32, why, sizeof(why)), 0,
		      "an address outside the pool");
	cr_assert_eq(excl_add(&p, a, 28, why, sizeof(why)), 0);
	cr_assert_neq(excl_normalize(&p, why, sizeof(why)), 0, "a pool left with nothing");
	cr_assert(strstr(why, "no address"), "%s", why);
}

/* A NAT log path longer than the log's buffer is refused, not cut. */
Test(config, long_log_path_refused, .init = cr_redirect_stderr)
{
	char *argv[2], path[400];

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	argv[0] = "log-file";
	argv[1] = path;
	cr_assert_eq(daemon_args_check(2, argv), XCGN_EXIT_USAGE);
	path[200] = '\0';
	cr_assert_eq(daemon_args_check(2, argv), 0, "a path that fits");
}

Test(config, cluster_section_reads_and_checks, .init = cr_redirect_stderr)
{
	struct xcgn_config c;
	const char *base = "link inside in0 outside out0\npool 198.51.100.32/28\n";
	char text[1024];

	snprintf(text, sizeof(text),
		 "%scluster node 2 as 65002 router-id 192.0.2.18\n"
		 "cluster peer 203.0.113.17 as 65000 upstream\n"
		 "cluster peer 192.0.2.17 as 65100 access\n"
		 "cluster bfd interval 200 multiplier 4\n", base);
	parse_ok(text, &c);
	cr_assert_eq(c.cluster.node, 2);
	cr_assert_eq(c.cluster.asn, 65002);
	cr_assert_eq(c.cluster.npeers, 2);
	cr_assert_eq(c.cluster.peer[1].role, CLUSTER_ACCESS);
	cr_assert(c.cluster.bfd && c.cluster.bfd_ms == 200 && c.cluster.bfd_mult == 4);
	cr_assert_eq(c.link.route_table, CLUSTER_TABLE_DEF, "the link's routes are the node's");
	config_free(&c);

	/* Each of these is refused, with its line. */
	static const struct {
		const char *stmts, *msg;
	} bad[] = {
		{ "cluster peer 203.0.113.17 as 65000 upstream\n", "without a cluster node" },
		{ "cluster node 2 as 65002\n", "needs an upstream peer" },
		{ "cluster node 0 as 65002\n", "invalid node \"0\"" },
		{ "cluster node 2\n", "needs its AS number" },
		{ "cluster node 2 as 23456\n", "invalid AS number" },
		{ "cluster node 2 as 65002 table 254\n", "253-255 are the kernel's" },
		{ "cluster node 2 as 65002\ncluster peer 203.0.113.17 as 65000\n",
		  "needs as ASN and upstream or access" },
		{ "cluster node 2 as 65002\ncluster peer 203.0.113.17 as 65000 upstream\n"
		  "cluster peer 203.0.113.17 as 65001 upstream\n", "already on line 4" },
		{ "cluster node 2 as 65002\ncluster node 3 as 65003\n", "a second cluster node" },
		{ "cluster bfd interval 5\n", "invalid bfd interval" },
		{ "cluster frob\n", "unknown cluster statement" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text), "%s%s", base, bad[i].stmts);
		cr_assert_neq(config_parse("t.conf", text, &c), 0, "accepted:\n%s", text);
		config_free(&c);
	}
	fflush(stderr);
	{
		char err[8192] = "";
		FILE *f = cr_get_redirected_stderr();
		size_t n = fread(err, 1, sizeof(err) - 1, f);

		err[n] = '\0';
		for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
			cr_assert(strstr(err, bad[i].msg), "no \"%s\" in:\n%s", bad[i].msg, err);
	}
	/* The link's own route-table must agree with the node's. */
	snprintf(text, sizeof(text),
		 "link inside in0 outside out0 route-table 7\ncluster node 1 as 65001\n"
		 "cluster peer 203.0.113.9 as 65000 upstream\n");
	cr_assert_neq(config_parse("t.conf", text, &c), 0, "a second table accepted");
	config_free(&c);
}
