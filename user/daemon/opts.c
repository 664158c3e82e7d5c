// SPDX-License-Identifier: GPL-2.0
/* The daemon's options: defaults and the words that set them (the command
 * line, a configuration file's `daemon` statement). */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "daemon/daemon.h"

void daemon_opts_init(struct daemon_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->log_path = XCGN_DEF_NATLOG;
	o->scale = 1;
	o->interval_ms = 1000;
	o->quarantine_s = XCGN_DEF_QUARANTINE;
	o->batch = XCGN_GC_BATCH_DEF;
	o->refuse_per_s = 100;
	o->rpf_resync_ms = 1000;
	o->sync_ms = 1000;
	pcp_config_default(&o->pcp_cfg);
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

/* The daemon's options over *@o; `config FILE` is taken by do_daemon. */
int daemon_opts_parse(int argc, char **argv, struct daemon_opts *o)
{
	for (; argc > 0; argc--, argv++) {
		if (!strcmp(*argv, "log-file")) {
			NEXT_ARG();
			if (strlen(*argv) >= sizeof(((struct natlog *)0)->path)) {
				xcgn_err("log-file \"%s\" is longer than %zu characters", *argv,
					 sizeof(((struct natlog *)0)->path) - 1);
				return XCGN_EXIT_USAGE;
			}
			o->log_path = strcmp(*argv, "none") ? *argv : NULL;
		} else if (!strcmp(*argv, "syslog")) {
			o->use_syslog = true;
		} else if (!strcmp(*argv, "ipfix")) {
			uint32_t a;
			uint16_t port;

			NEXT_ARG();
			if (parse_addr_port(*argv, &a, &port))
				return invarg("ipfix collector (ADDR:PORT, an IPv4 address)", *argv);
			if (o->nipfix == IPFIX_COLLECTORS_MAX) {
				xcgn_err("at most %d ipfix collectors", IPFIX_COLLECTORS_MAX);
				return XCGN_EXIT_USAGE;
			}
			o->ipfix[o->nipfix++] = *argv;
		} else if (!strcmp(*argv, "ipfix-domain")) {
			NEXT_ARG();
			if (arg_u32("ipfix-domain", *argv, 0, UINT32_MAX, &o->ipfix_domain))
				return XCGN_EXIT_USAGE;
			o->ipfix_domain_set = true;
		} else if (!strcmp(*argv, "metrics")) {
			uint32_t a;
			uint16_t port;

			NEXT_ARG();
			if (parse_addr_port(*argv, &a, &port))
				return invarg("metrics (ADDR:PORT, an IPv4 address)", *argv);
			o->metrics = *argv;
		} else if (!strcmp(*argv, "gc-interval")) {
			NEXT_ARG();
			if (arg_u32("gc-interval (ms)", *argv, 10, 60000, &o->interval_ms))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "gc-batch")) {
			NEXT_ARG();
			if (arg_u32("gc-batch", *argv, 16, 1u << 20, &o->batch))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "quarantine")) {
			NEXT_ARG();
			if (arg_u32("quarantine (seconds)", *argv, 0, 86400, &o->quarantine_s))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "rpf-resync")) {
			NEXT_ARG();
			if (arg_u32("rpf-resync (ms)", *argv, 100, 3600000, &o->rpf_resync_ms))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "log-sync")) {
			NEXT_ARG();
			if (arg_u32("log-sync (ms)", *argv, 0, 3600000, &o->sync_ms))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "refusal-rate")) {
			NEXT_ARG();
			if (arg_u32("refusal-rate", *argv, 1, 100000, &o->refuse_per_s))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "node")) {
			NEXT_ARG();
			if (arg_u32("node", *argv, 1, XCGN_NODE_MAX, &o->node))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "monitor-group")) {
			NEXT_ARG();
			if (!getgrnam(*argv)) {
				xcgn_err("invalid monitor-group \"%s\" (no such group)", *argv);
				return XCGN_EXIT_USAGE;
			}
			o->monitor_group = *argv;
		} else if (!strcmp(*argv, "pcp")) {
			o->pcp = true;
		} else if (!strcmp(*argv, "pcp-third-party")) {
			struct pcp_config *pc = &o->pcp_cfg;
			uint32_t pfx;
			uint8_t plen;

			NEXT_ARG();
			if (parse_prefix(*argv, &pfx, &plen)) {
				xcgn_err("invalid pcp-third-party \"%s\" (the clients that may ask for "
					 "another subscriber: a prefix, a.b.c.d/len)", *argv);
				return XCGN_EXIT_USAGE;
			}
			if (pc->nthird_party == PCP_THIRD_PARTY_MAX) {
				xcgn_err("pcp-third-party: at most %d prefixes", PCP_THIRD_PARTY_MAX);
				return XCGN_EXIT_USAGE;
			}
			pc->third_party[pc->nthird_party].prefix = pfx;
			pc->third_party[pc->nthird_party++].plen = plen;
			o->pcp_opts = true;
		} else if (!strcmp(*argv, "pcp-mappings")) {
			NEXT_ARG();
			if (arg_u32("pcp-mappings", *argv, 1, XCGN_PCP_MAX, &o->pcp_cfg.max_per_sub))
				return XCGN_EXIT_USAGE;
			o->pcp_opts = true;
		} else if (!strcmp(*argv, "pcp-rate")) {
			NEXT_ARG();
			if (arg_u32("pcp-rate", *argv, 1, 10000, &o->pcp_cfg.rate))
				return XCGN_EXIT_USAGE;
			o->pcp_opts = true;
		} else if (!strcmp(*argv, "pcp-share")) {
			NEXT_ARG();
			if (arg_u32("pcp-share (percent of the pools' blocks)", *argv, 1, 100,
				    &o->pcp_cfg.share_pct))
				return XCGN_EXIT_USAGE;
			o->pcp_opts = true;
		} else if (!strcmp(*argv, "pcp-lifetime")) {
			uint32_t lo, hi;

			NEXT_ARG();
			if (parse_lifetimes(*argv, &lo, &hi))
				return invarg("pcp-lifetime (MIN-MAX seconds, 1 to 604800)", *argv);
			o->pcp_cfg.min_lifetime_s = lo;
			o->pcp_cfg.max_lifetime_s = hi;
			o->pcp_opts = true;
		} else if (!strcmp(*argv, "time-scale")) {
			NEXT_ARG();
			if (arg_u32("time-scale", *argv, 1, 10000, &o->scale))
				return XCGN_EXIT_USAGE;
		} else {
			xcgn_err("unknown argument \"%s\" to daemon; try \"xcgn daemon help\"",
				 *argv);
			return XCGN_EXIT_USAGE;
		}
	}
	return 0;
}

int daemon_args_check(int argc, char **argv)
{
	struct daemon_opts o;

	daemon_opts_init(&o);
	return daemon_opts_parse(argc, argv, &o);
}
