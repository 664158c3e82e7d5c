// SPDX-License-Identifier: GPL-2.0
/* The option tables (user/lib/options.h): every keyword documented and
 * completed, and the canonical form read back to what it was made from. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	cr_assert(f, "open %s (the tests run from the tree's top)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	cr_assert(buf && fread(buf, 1, (size_t)n, f) == (size_t)n, "read %s", path);
	fclose(f);
	return buf;
}

/* @word in @text, not as part of a longer keyword. */
static bool has_word(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = strstr(text, word); p; p = strstr(p + 1, word)) {
		char before = p == text ? ' ' : p[-1], after = p[n];

		if (!isalnum((unsigned char)before) && before != '-' &&
		    !isalnum((unsigned char)after) && after != '-')
			return true;
	}
	return false;
}

struct table {
	const char *object;
	const struct opt *t;
	size_t n;
};

static void tables(struct table out[3])
{
	out[0] = (struct table){ "link", xcgn_link_opts, xcgn_link_nopts };
	out[1] = (struct table){ "pool", xcgn_pool_opts, xcgn_pool_nopts };
	out[2] = (struct table){ "daemon", xcgn_daemon_opts, xcgn_daemon_nopts };
}

Test(options, every_keyword_in_the_man_page_and_the_completion)
{
	char *man = slurp("man/xcgn.8"), *comp = slurp("dist/xcgn.bash-completion");
	struct table tb[3];

	tables(tb);
	for (int k = 0; k < 3; k++)
		for (size_t i = 0; i < tb[k].n; i++) {
			const char *kw = tb[k].t[i].name;

			cr_expect(has_word(man, kw), "%s option \"%s\" is not in man/xcgn.8",
				  tb[k].object, kw);
			cr_expect(has_word(comp, kw),
				  "%s option \"%s\" is not in dist/xcgn.bash-completion",
				  tb[k].object, kw);
		}
	free(man);
	free(comp);
}

Test(options, keywords_unique_within_a_table)
{
	struct table tb[3];

	tables(tb);
	for (int k = 0; k < 3; k++)
		for (size_t i = 0; i < tb[k].n; i++)
			cr_expect_eq(opts_find(tb[k].t, tb[k].n, tb[k].t[i].name), &tb[k].t[i],
				     "%s option \"%s\" is in the table twice", tb[k].object,
				     tb[k].t[i].name);
}

/* Split @s at spaces (the canonical form less its line breaks) into @argv. */
static int words(char *s, char **argv, int max)
{
	int n = 0;

	for (char *w = strtok(s, " \\\n"); w && n < max; w = strtok(NULL, " \\\n"))
		argv[n++] = w;
	return n;
}

static char *printed(const struct opt *t, size_t n, const void *obj)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert(f);
	opts_print(f, t, n, obj);
	fclose(f);
	return buf;
}

Test(options, link_canonical_form_reads_back)
{
	char *argv[] = { "inside", "in0", "outside", "out0", "xdp-mode", "generic",
			 "subscribers", "100.64.0.0/16", "max-mappings", "4096",
			 "rpf-outside", "off", "refusal-icmp", "none", "refusal-log", "off",
			 "filtering", "endpoint-independent", "accounting", "on",
			 "route-table", "100", "mss-clamp", "auto" };
	struct attach_opts a, b;
	char *s1, *s2, *s3, *again[64];
	int n;

	attach_opts_init(&a);
	cr_assert_eq(attach_opts_parse(ARRAY_SIZE(argv), argv, &a), 0);
	cr_expect_eq(a.xdp_mode, XCGN_XDP_GENERIC);
	cr_expect(a.switches & XCGN_SW_REFUSAL_LOG_OFF, "refusal-log off sets its bit");
	cr_expect(a.switches & XCGN_SW_MSS_AUTO);
	s1 = printed(xcgn_link_opts, xcgn_link_nopts, &a);
	cr_expect(strstr(s1, " refusal-log off"), "printed: %s", s1);
	cr_expect(strstr(s1, " \\\n    mss-clamp auto"), "printed: %s", s1);
	s2 = strdup(s1);
	n = words(s2, again, 64);
	attach_opts_init(&b);
	cr_assert_eq(attach_opts_parse(n, again, &b), 0, "the canonical form parses: %s", s1);
	s3 = printed(xcgn_link_opts, xcgn_link_nopts, &b);	/* b points into s2 */
	cr_expect_str_eq(s3, s1, "read back, the form is the same");
	free(s1);
	free(s2);
	free(s3);
}

Test(options, pool_canonical_form_reads_back)
{
	char *argv[] = { "ports", "2000-3999", "block-size", "250", "parity", "sub-burst", "off",
			 "map-peers", "20", "exclude", "198.51.100.4/30", "exclude",
			 "198.51.100.9", "udp-timeout", "600", "deterministic", "100.64.1.0/26",
			 "sub-mappings", "auto", "tcp-established", "7440", "tcp-transitory", "240",
			 "icmp-timeout", "60" };
	struct pool_opts a, b;
	char *s1, *s2, *again[64];
	int n;

	pool_opts_init(&a);
	a.prefix = htonl(0xc6336400);
	a.plen = 28;
	cr_assert_eq(pool_opts_parse(ARRAY_SIZE(argv), argv, &a), 0);
	cr_expect_eq(a.nexcl, 2);
	cr_expect_eq(a.timeout[XCGN_TIMER_UDP], 600);
	s1 = printed(xcgn_pool_opts, xcgn_pool_nopts, &a);
	cr_expect(strstr(s1, " exclude 198.51.100.4/30 exclude 198.51.100.9"), "printed: %s", s1);
	cr_expect(strstr(s1, " \\\n    udp-timeout 600 tcp-established"), "printed: %s", s1);
	cr_expect(!strstr(s1, "force") && !strstr(s1, "no-parity"), "printed: %s", s1);
	cr_expect(strstr(s1, " sub-mappings auto"), "auto is said as auto: %s", s1);
	s2 = strdup(s1);
	n = words(s2, again, 64);
	pool_opts_init(&b);
	b.prefix = a.prefix;
	b.plen = a.plen;
	cr_assert_eq(pool_opts_parse(n, again, &b), 0, "the canonical form parses: %s", s1);
	free(s2);
	s2 = printed(xcgn_pool_opts, xcgn_pool_nopts, &b);
	cr_expect_str_eq(s2, s1, "read back, the form is the same");
	free(s1);
	free(s2);
}

Test(options, daemon_options_mark_what_was_given)
{
	char *argv[] = { "pcp-rate", "5", "ipfix-domain", "7", "syslog" };
	struct daemon_opts o;

	daemon_opts_init(&o);
	cr_assert_eq(daemon_opts_parse(ARRAY_SIZE(argv), argv, &o), 0);
	cr_expect(o.pcp_opts, "a pcp-* option is noted (it needs pcp)");
	cr_expect(o.ipfix_domain_set && o.ipfix_domain == 7);
	cr_expect(o.use_syslog && o.pcp_cfg.rate == 5);
	cr_expect(!o.pcp);
}

Test(options, defaults_come_from_the_tables)
{
	struct attach_opts a;
	struct pool_opts p;
	struct daemon_opts d;

	attach_opts_init(&a);
	cr_expect_eq(a.max_maps, XCGN_MAPS_MAX);
	cr_expect_eq(a.rpf_in, XCGN_RPF_STRICT);
	cr_expect_eq(a.rpf_out, XCGN_RPF_LOOSE);
	cr_expect_eq(a.sub_prefix, htonl(0x64400000), "subscribers 100.64.0.0/10 by default");
	cr_expect_eq(a.sub_plen, 10);
	pool_opts_init(&p);
	cr_expect_eq(p.block_size, XCGN_DEF_BLOCK_SIZE);
	cr_expect_eq(p.sub_maps, XCGN_SUB_MAPS_AUTO);
	cr_expect_eq(p.port_lo, XCGN_DEF_PORT_LO);
	daemon_opts_init(&d);
	cr_expect_eq(d.interval_ms, 1000);
	cr_expect_eq(d.batch, XCGN_GC_BATCH_DEF);
	cr_expect_eq(d.quarantine_s, XCGN_DEF_QUARANTINE);
	cr_expect_eq(d.scale, 1);
	cr_expect(d.pcp_cfg.rate > 0 && d.pcp_cfg.max_per_sub > 0,
		  "the pcp-* defaults are pcp_config_default's, not the table's 0");
	cr_expect_str_eq(d.log_path, XCGN_DEF_NATLOG);
}

/* The synopsis names every keyword but the undocumented, and it and the
 * defaults line keep within 80 columns. */
Test(options, synopsis_and_defaults_within_80_columns)
{
	struct table tb[3];
	struct daemon_opts d;
	struct attach_opts l;
	struct pool_opts p;
	const void *def[3] = { &l, &p, &d };

	attach_opts_init(&l);
	pool_opts_init(&p);
	daemon_opts_init(&d);
	tables(tb);
	for (int k = 0; k < 3; k++) {
		char *buf = NULL, *line, *save = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		cr_assert(f);
		opts_synopsis(f, "Usage: xcgn object verb", tb[k].t, tb[k].n);
		opts_print_defaults(f, tb[k].t, tb[k].n, def[k]);
		cr_assert(!fclose(f));
		for (size_t r = 0; r < tb[k].n; r++)
			cr_expect(tb[k].t[r].flags & OPTF_UNDOC || has_word(buf, tb[k].t[r].name),
				  "%s: \"%s\" is not in the synopsis:\n%s", tb[k].object,
				  tb[k].t[r].name, buf);
		cr_expect(strstr(buf, "\nDefaults: ") && buf[len - 2] == '.',
			  "%s: no defaults line:\n%s", tb[k].object, buf);
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			cr_expect(strlen(line) <= 80, "%s: a line of %zu columns: %s", tb[k].object,
				  strlen(line), line);
		free(buf);
	}
}
