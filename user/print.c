// SPDX-License-Identifier: GPL-2.0
/* Text and JSON output through one call per field, so the two formats cannot
 * diverge (the idea of iproute2's json_print; our own small writer). */
#include <arpa/inet.h>
#include <stdarg.h>
#include <string.h>

#include "xcgn.h"

#define DEPTH_MAX 16

int xcgn_verbose;

static struct {
	bool json;
	bool pretty;
	FILE *out;
	int depth;
	bool first[DEPTH_MAX];	/* no member written yet at this depth */
} pr = { .out = NULL };

void print_init(bool json, bool pretty, FILE *out)
{
	memset(&pr, 0, sizeof(pr));
	pr.json = json;
	pr.pretty = pretty;
	pr.out = out ? out : stdout;
	pr.first[0] = true;
}

bool print_is_json(void)
{
	return pr.json;
}

static FILE *out(void)
{
	return pr.out ? pr.out : stdout;
}

void print_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void indent(void)
{
	int i;

	if (!pr.pretty)
		return;
	fputc('\n', out());
	for (i = 0; i < pr.depth; i++)
		fputs("  ", out());
}

/* Separator and key before a JSON member; @key is NULL inside arrays. */
static void member(const char *key)
{
	if (!pr.first[pr.depth])
		fputc(',', out());
	pr.first[pr.depth] = false;
	indent();
	if (key) {
		print_json_str(out(), key);
		fputs(pr.pretty ? ": " : ":", out());
	}
}

static void open_(const char *key, char c)
{
	if (!pr.json)
		return;
	if (pr.depth > 0 || !pr.first[0])
		member(key);
	else
		pr.first[0] = false;
	fputc(c, out());
	if (pr.depth < DEPTH_MAX - 1)
		pr.depth++;
	pr.first[pr.depth] = true;
}

static void close_(char c)
{
	bool empty;

	if (!pr.json)
		return;
	empty = pr.first[pr.depth];
	if (pr.depth > 0)
		pr.depth--;
	if (!empty)
		indent();
	fputc(c, out());
	if (pr.depth == 0)
		fputc('\n', out());
}

void print_open_object(const char *key)
{
	open_(key, '{');
}

void print_close_object(void)
{
	close_('}');
}

void print_open_array(const char *key)
{
	open_(key, '[');
}

void print_close_array(void)
{
	close_(']');
}

/* The text format comes with each call, as in iproute2's print_*(): callers
 * pass literals or formats built from literals. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
void print_string(enum output_type t, const char *key, const char *fmt, const char *v)
{
	if (pr.json && (t & PRINT_JSON)) {
		member(key);
		print_json_str(out(), v);
	} else if (!pr.json && (t & PRINT_FP)) {
		fprintf(out(), fmt ? fmt : "%s", v);
	}
}

void print_u64(enum output_type t, const char *key, const char *fmt, uint64_t v)
{
	if (pr.json && (t & PRINT_JSON)) {
		member(key);
		fprintf(out(), "%llu", (unsigned long long)v);
	} else if (!pr.json && (t & PRINT_FP)) {
		fprintf(out(), fmt ? fmt : "%llu", (unsigned long long)v);
	}
}

void print_double(enum output_type t, const char *key, const char *fmt, double v)
{
	if (pr.json && (t & PRINT_JSON)) {
		member(key);
		fprintf(out(), "%.3f", v);
	} else if (!pr.json && (t & PRINT_FP)) {
		fprintf(out(), fmt ? fmt : "%.1f", v);
	}
}

#pragma GCC diagnostic pop

void print_bool(enum output_type t, const char *key, const char *text, bool v)
{
	if (pr.json && (t & PRINT_JSON)) {
		member(key);
		fputs(v ? "true" : "false", out());
	} else if (!pr.json && (t & PRINT_FP) && v && text) {
		fputs(text, out());
	}
}

void print_ipv4(enum output_type t, const char *key, const char *fmt, uint32_t addr_be)
{
	char buf[INET_ADDRSTRLEN];

	print_string(t, key, fmt, ipv4_str(addr_be, buf, sizeof(buf)));
}

void print_text(const char *fmt, ...)
{
	va_list ap;

	if (pr.json)
		return;
	va_start(ap, fmt);
	vfprintf(out(), fmt, ap);
	va_end(ap);
}

void print_nl(void)
{
	if (!pr.json)
		fputc('\n', out());
}

void print_finish(void)
{
	fflush(out());
}

const char *xcgn_err_where;

static bool help_asked;

void usage_asked(bool asked)
{
	help_asked = asked;
}

FILE *usage_fp(void)
{
	return help_asked ? stdout : stderr;
}

int usage_status(void)
{
	return help_asked ? XCGN_EXIT_OK : XCGN_EXIT_USAGE;
}

void xcgn_err(const char *fmt, ...)
{
	char msg[512];
	size_t at = 0;
	va_list ap;

	if (xcgn_err_where)
		at = (size_t)snprintf(msg, sizeof(msg), "%s: ", xcgn_err_where) % sizeof(msg);
	va_start(ap, fmt);
	vsnprintf(msg + at, sizeof(msg) - at, fmt, ap);
	va_end(ap);
	if (pr.json) {
		/* A machine reading -j gets a machine-readable error too. */
		fputs("{\"error\":", stdout);
		print_json_str(stdout, msg);
		fputs("}\n", stdout);
		fflush(stdout);
	}
	fprintf(stderr, "xcgn: %s\n", msg);
}

int invarg(const char *what, const char *arg)
{
	xcgn_err("invalid %s \"%s\"", what, arg);
	return XCGN_EXIT_USAGE;
}

int arg_u32(const char *what, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	if (!parse_u32(s, min, max, out))
		return 0;
	xcgn_err("invalid %s \"%s\" (must be %u..%u)", what, s, min, max);
	return XCGN_EXIT_USAGE;
}

const char *const xcgn_stat_name[XCGN_STAT_MAX] = {
	[XCGN_STAT_IN_RX] = "inside_rx",
	[XCGN_STAT_OUT_RX] = "outside_rx",
	[XCGN_STAT_SNAT_XDP] = "snat_xdp",
	[XCGN_STAT_DNAT_XDP] = "dnat_xdp",
	[XCGN_STAT_REDIRECT_OUT] = "redirect_out",
	[XCGN_STAT_REDIRECT_IN] = "redirect_in",
	[XCGN_STAT_SLOW_OUT] = "slow_path_out",
	[XCGN_STAT_SLOW_IN] = "slow_path_in",
	[XCGN_STAT_PASS] = "pass",
	[XCGN_STAT_TC_RX] = "tc_rx",
	[XCGN_STAT_SNAT_TC] = "snat_tc",
	[XCGN_STAT_DNAT_TC] = "dnat_tc",
	[XCGN_STAT_MAP_NEW] = "mapping_created",
	[XCGN_STAT_MAP_RACE] = "mapping_race",
	[XCGN_STAT_SUB_NEW] = "subscriber_created",
	[XCGN_STAT_BLOCK_NEW] = "block_allocated",
	[XCGN_STAT_BLOCK_RACE] = "block_race",
	[XCGN_STAT_EVENT_LOST] = "event_lost",
	[XCGN_STAT_ABORTED] = "aborted",
	[XCGN_STAT_SUB_DIED] = "subscriber_release_race",
	[XCGN_STAT_REFUSAL_EV_LIMITED] = "refusal_event_limited",
	[XCGN_STAT_ICMP_ERR_IN] = "icmp_error_in",
	[XCGN_STAT_ICMP_ERR_OUT] = "icmp_error_out",
	[XCGN_STAT_BYPASS] = "bypass",
	[XCGN_STAT_HAIRPIN] = "hairpin",
	[XCGN_STAT_ICMP_PROHIBITED] = "icmp_prohibited_sent",
	[XCGN_STAT_FRAG] = "fragment_translated",
	[XCGN_STAT_FRAG_HELD] = "fragment_held",
	[XCGN_STAT_FRAG_RELEASED] = "fragment_released",
	[XCGN_STAT_FULL_HINT] = "refusal_without_walk",
	[XCGN_STAT_REFUSAL_EV_LOST] = "refusal_event_lost",
	[XCGN_STAT_NH_HIT] = "nexthop_cached",
	[XCGN_STAT_NH_FILL] = "nexthop_kept",
	[XCGN_STAT_MSS_CLAMPED] = "mss_clamped",
	[XCGN_STAT_FRAG_CAPPED] = "fragment_share_capped",
};
_Static_assert(ARRAY_SIZE(xcgn_stat_name) == XCGN_STAT_MAX, "stat names match enum");

const char *const xcgn_drop_name[XCGN_DROP_MAX] = {
	[XCGN_DROP_NONE] = "none",
	[XCGN_DROP_TRUNCATED] = "truncated",
	[XCGN_DROP_BAD_IP] = "bad_ip",
	[XCGN_DROP_BAD_IP_CSUM] = "bad_ip_csum",
	[XCGN_DROP_BAD_L4] = "bad_l4",
	[XCGN_DROP_FRAGMENT] = "fragment_unknown",
	[XCGN_DROP_ICMP_ERROR] = "icmp_error_untranslatable",
	[XCGN_DROP_BAD_ICMP_CSUM] = "icmp_error_bad_checksum",
	[XCGN_DROP_NO_POOL] = "no_pool",
	[XCGN_DROP_SUB_LIMIT] = "subscriber_limit",
	[XCGN_DROP_NO_PORT] = "no_port",
	[XCGN_DROP_SUB_FULL] = "subscriber_table_full",
	[XCGN_DROP_MAP_FULL] = "mapping_table_full",
	[XCGN_DROP_PEER_FULL] = "filter_table_full",
	[XCGN_DROP_NO_MAPPING] = "no_mapping",
	[XCGN_DROP_FILTERED] = "filtered",
	[XCGN_DROP_UNTRANSLATED] = "untranslatable",
	[XCGN_DROP_SUB_RATE] = "subscriber_rate",
	[XCGN_DROP_RACE] = "transient_race",
	[XCGN_DROP_MARTIAN] = "martian_source",
	[XCGN_DROP_RPF] = "reverse_path",
	[XCGN_DROP_SPOOF] = "spoofed_source",
	[XCGN_DROP_NEW_SUB_RATE] = "new_subscriber_rate",
	[XCGN_DROP_SUB_MAPS] = "subscriber_mappings",
	[XCGN_DROP_MAP_PEERS] = "mapping_peers",
	[XCGN_DROP_NOT_TRANSLATED_IN] = "not_translated_in",
	[XCGN_DROP_WRONG_DEVICE] = "wrong_device",
	[XCGN_DROP_SUB_PEERS] = "subscriber_peers",
};
_Static_assert(ARRAY_SIZE(xcgn_drop_name) == XCGN_DROP_MAX, "drop names match enum");

const char *xcgn_proto_name(uint8_t proto)
{
	switch (proto) {
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 1:
		return "icmp";
	}
	return "other";
}
