// SPDX-License-Identifier: GPL-2.0
/* The daemon's options: defaults and the words that set them (the command
 * line, a configuration file's `daemon` statement). */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "daemon/daemon.h"
#include "lib/options.h"

void daemon_opts_init(struct daemon_opts *o)
{
	memset(o, 0, sizeof(*o));
	opts_defaults(xcgn_daemon_opts, xcgn_daemon_nopts, o);
	pcp_config_default(&o->pcp_cfg);	/* the pcp-* rows' defaults are its own */
	o->log_path = XCGN_DEF_NATLOG;
}

/* "MIN-MAX" seconds, 1 <= MIN <= MAX <= a week. */
static int parse_lifetimes(const char *s, uint32_t *lo, uint32_t *hi)
{
	char buf[32], *dash;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (!dash)
		return -1;
	*dash = '\0';
	if (parse_u32(buf, 1, 7 * 86400, lo) || parse_u32(dash + 1, 1, 7 * 86400, hi))
		return -1;
	return *lo > *hi ? -1 : 0;
}

static int log_file_parse(const struct opt *t __unused, const char *arg, void *obj)
{
	struct daemon_opts *o = obj;

	if (strlen(arg) >= sizeof(((struct natlog *)0)->path)) {
		xcgn_err("log-file \"%s\" is longer than %zu characters", arg,
			 sizeof(((struct natlog *)0)->path) - 1);
		return XCGN_EXIT_USAGE;
	}
	if (strcmp(arg, "none") && arg[0] != '/') {
		/* A daemon under systemd runs in /: a relative path would be
		 * taken from there, not from where the file was written. */
		xcgn_err("invalid log-file \"%s\" (an absolute path, or none)", arg);
		return XCGN_EXIT_USAGE;
	}
	o->log_path = strcmp(arg, "none") ? arg : NULL;
	return 0;
}

static int ipfix_parse(const struct opt *t __unused, const char *arg, void *obj)
{
	struct daemon_opts *o = obj;
	uint32_t a;
	uint16_t port;

	if (parse_addr_port(arg, &a, &port))
		return invarg("ipfix collector (ADDR:PORT, an IPv4 address)", arg);
	for (int i = 0; i < o->nipfix; i++)
		if (!strcmp(o->ipfix[i], arg)) {
			xcgn_err("ipfix collector %s given twice", arg);
			return XCGN_EXIT_USAGE;
		}
	if (o->nipfix == IPFIX_COLLECTORS_MAX) {
		xcgn_err("at most %d ipfix collectors", IPFIX_COLLECTORS_MAX);
		return XCGN_EXIT_USAGE;
	}
	o->ipfix[o->nipfix++] = arg;
	return 0;
}

static int metrics_parse(const struct opt *t __unused, const char *arg, void *obj)
{
	uint32_t a;
	uint16_t port;

	if (parse_addr_port(arg, &a, &port))
		return invarg("metrics (ADDR:PORT, an IPv4 address)", arg);
	((struct daemon_opts *)obj)->metrics = arg;
	return 0;
}

static int monitor_group_parse(const struct opt *t __unused, const char *arg, void *obj)
{
	if (!getgrnam(arg)) {
		xcgn_err("invalid monitor-group \"%s\" (no such group)", arg);
		return XCGN_EXIT_USAGE;
	}
	((struct daemon_opts *)obj)->monitor_group = arg;
	return 0;
}

static int third_party_parse(const struct opt *t __unused, const char *arg, void *obj)
{
	struct pcp_config *pc = &((struct daemon_opts *)obj)->pcp_cfg;
	uint32_t pfx;
	uint8_t plen;

	if (parse_prefix(arg, &pfx, &plen)) {
		xcgn_err("invalid pcp-third-party \"%s\" (the clients that may ask for another "
			 "subscriber: a prefix, a.b.c.d/len)", arg);
		return XCGN_EXIT_USAGE;
	}
	if (pc->nthird_party == PCP_THIRD_PARTY_MAX) {
		xcgn_err("pcp-third-party: at most %d prefixes", PCP_THIRD_PARTY_MAX);
		return XCGN_EXIT_USAGE;
	}
	pc->third_party[pc->nthird_party].prefix = pfx;
	pc->third_party[pc->nthird_party++].plen = plen;
	return 0;
}

static int lifetime_parse(const struct opt *t __unused, const char *arg, void *obj)
{
	struct pcp_config *pc = &((struct daemon_opts *)obj)->pcp_cfg;
	uint32_t lo, hi;

	if (parse_lifetimes(arg, &lo, &hi))
		return invarg("pcp-lifetime (MIN-MAX seconds, 1 to 604800)", arg);
	pc->min_lifetime_s = lo;
	pc->max_lifetime_s = hi;
	return 0;
}

static int log_file_print(const struct opt *t __unused, const void *obj, int i, char *buf,
			  size_t len)
{
	const char *path = ((const struct daemon_opts *)obj)->log_path;

	snprintf(buf, len, "%s", path ? path : "none");
	return !i;
}

static int ipfix_print(const struct opt *t __unused, const void *obj, int i, char *buf, size_t len)
{
	const struct daemon_opts *o = obj;

	if (i >= o->nipfix)
		return 0;
	snprintf(buf, len, "%s", o->ipfix[i]);
	return 1;
}

static int third_party_print(const struct opt *t __unused, const void *obj, int i, char *buf,
			     size_t len)
{
	const struct pcp_config *pc = &((const struct daemon_opts *)obj)->pcp_cfg;
	char a[16];

	if (i < 0 || (uint32_t)i >= pc->nthird_party)
		return 0;
	snprintf(buf, len, "%s/%u", ipv4_str(pc->third_party[i].prefix, a, sizeof(a)),
		 pc->third_party[i].plen);
	return 1;
}

static int lifetime_print(const struct opt *t __unused, const void *obj, int i, char *buf,
			  size_t len)
{
	const struct pcp_config *pc = &((const struct daemon_opts *)obj)->pcp_cfg;

	snprintf(buf, len, "%u-%u", pc->min_lifetime_s, pc->max_lifetime_s);
	return !i;
}

#define F(field) .off = offsetof(struct daemon_opts, field), \
		 .size = sizeof(((struct daemon_opts *)0)->field)
#define PCP_OPT .flags = OPTF_SEEN, .seen = offsetof(struct daemon_opts, pcp_opts)
#define CUSTOM(fn) OPT_CUSTOM, .parse = fn##_parse, .print = fn##_print

/* The daemon's options; `config FILE` is the CLI's (cmd_daemon.c). */
static const struct opt daemon_opt_rows[] = {
	{ "log-file", CUSTOM(log_file), .arg = "PATH" },
	{ "syslog", OPT_FLAG, F(use_syslog), .set = true },
	{ "log-sync", OPT_UINT, F(sync_ms), .min = 0, .max = 3600000, .def = 1000,
	  .arg = "MS", .what = "log-sync (ms)" },
	{ "gc-interval", OPT_UINT, F(interval_ms), .min = 10, .max = 60000, .def = 1000,
	  .arg = "MS", .what = "gc-interval (ms)" },
	{ "gc-batch", OPT_UINT, F(batch), .min = 16, .max = 1u << 20, .def = XCGN_GC_BATCH_DEF },
	{ "quarantine", OPT_UINT, F(quarantine_s), .min = 0, .max = 86400,
	  .def = XCGN_DEF_QUARANTINE, .arg = "S", .what = "quarantine (seconds)" },
	{ "refusal-rate", OPT_UINT, F(refuse_per_s), .min = 1, .max = 100000, .def = 100 },
	{ "rpf-resync", OPT_UINT, F(rpf_resync_ms), .min = 100, .max = 3600000, .def = 1000,
	  .arg = "MS", .what = "rpf-resync (ms)" },
	{ "metrics", OPT_CUSTOM, .parse = metrics_parse, .print = opts_string_print,
	  .off = offsetof(struct daemon_opts, metrics), .arg = "ADDR:PORT" },
	{ "ipfix", CUSTOM(ipfix), .arg = "ADDR:PORT", .flags = OPTF_MANY },
	{ "ipfix-interim", OPT_UINT, F(ipfix_interim_s), .min = 0, .max = 86400, .def = 0,
	  .arg = "S", .what = "ipfix-interim (seconds, 0: off)" },
	{ "ipfix-domain", OPT_UINT, F(ipfix_domain), .min = 0, .max = UINT32_MAX,
	  .flags = OPTF_SEEN | OPTF_NODEF, .seen = offsetof(struct daemon_opts, ipfix_domain_set) },
	{ "node", OPT_UINT, F(node), .min = 1, .max = XCGN_NODE_MAX, .flags = OPTF_NODEF },
	{ "pcp", OPT_FLAG, F(pcp), .set = true },
	{ "pcp-lifetime", CUSTOM(lifetime), .arg = "MIN-MAX", PCP_OPT },
	{ "pcp-mappings", OPT_UINT, F(pcp_cfg.max_per_sub), .min = 1, .max = XCGN_PCP_MAX,
	  PCP_OPT },
	{ "pcp-rate", OPT_UINT, F(pcp_cfg.rate), .min = 1, .max = 10000, PCP_OPT },
	{ "pcp-share", OPT_UINT, F(pcp_cfg.share_pct), .min = 1, .max = 100,
	  .arg = "PERCENT", .what = "pcp-share (percent of the pools' blocks)", PCP_OPT },
	{ "pcp-third-party", CUSTOM(third_party), .arg = "PREFIX",
	  .flags = OPTF_SEEN | OPTF_MANY, .seen = offsetof(struct daemon_opts, pcp_opts) },
	{ "monitor-group", OPT_CUSTOM, .parse = monitor_group_parse, .print = opts_string_print,
	  .off = offsetof(struct daemon_opts, monitor_group), .arg = "GROUP" },
	{ "time-scale", OPT_UINT, F(scale), .min = 1, .max = 10000, .def = 1 },
};
const struct opt *const xcgn_daemon_opts = daemon_opt_rows;
const size_t xcgn_daemon_nopts = ARRAY_SIZE(daemon_opt_rows);

#undef CUSTOM
#undef PCP_OPT
#undef F

int daemon_opts_parse(int argc, char **argv, struct daemon_opts *o)
{
	return opts_parse(xcgn_daemon_opts, xcgn_daemon_nopts, "daemon", argc, argv, o);
}

int daemon_args_check(int argc, char **argv)
{
	struct daemon_opts o;

	daemon_opts_init(&o);
	return daemon_opts_parse(argc, argv, &o);
}

void daemon_opts_print(FILE *f, const struct daemon_opts *o)
{
	struct daemon_opts def;

	daemon_opts_init(&def);
	fputs("daemon", f);
	opts_print_changed(f, xcgn_daemon_opts, xcgn_daemon_nopts, o, &def);
	fputc('\n', f);
}
