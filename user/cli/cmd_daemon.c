// SPDX-License-Identifier: GPL-2.0
/* xcgn daemon: its usage, and a configuration file applied before it runs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/options.h"

static int usage(void)
{
	FILE *f = usage_fp();
	struct daemon_opts def;

	opts_synopsis(f, "Usage: xcgn daemon [config FILE]", xcgn_daemon_opts, xcgn_daemon_nopts);
	fprintf(f, "       xcgn daemon help\n");
	daemon_opts_init(&def);
	opts_print_defaults(f, xcgn_daemon_opts, xcgn_daemon_nopts, &def);
	fprintf(f,
		"config FILE applies the configuration file first (xcgn config apply FILE)\n"
		"and takes the options of its daemon line; options given here come after.\n"
		"Runs in the foreground until SIGTERM or SIGINT; SIGHUP reopens the log file.\n"
		"One daemon per instance; it exits when xcgn is detached. Under systemd\n"
		"(Type=notify) it reports readiness and keeps the watchdog.\n"
		"The log directory is made if missing (0750), the file is 0640, each record\n"
		"is one write; log-sync is the most time between fdatasyncs (0: after every\n"
		"record). Records the disk will not take wait in memory (at most 65536) and\n"
		"are retried; what is lost is recovered from the tables. log-file none\n"
		"writes no file; syslog sends each record to syslog as well.\n"
		"gc-interval and gc-batch pace the collector: gc-batch mappings each\n"
		"gc-interval ms. quarantine holds a released block from another subscriber\n"
		"for that many seconds. refusal-rate caps the refusal records a second.\n"
		"rpf-resync is the ms between full re-reads of the FIB besides the netlink\n"
		"subscription (some sysctls send no notice). metrics serves the Prometheus\n"
		"text exposition at http://ADDR:PORT/metrics (xcgn stats metrics prints the\n"
		"same, less the daemon's own figures). ipfix sends every NAT event the log\n"
		"gets to the collector over UDP (RFC 7011/8158: port block allocation and\n"
		"de-allocation, quota exceeded, addresses exhausted; up to 4 collectors;\n"
		"templates every 60 s; ipfix-domain is the observation domain, default the\n"
		"node's id, else 0). UDP loses what a collector misses for good:\n"
		"ipfix-interim S sends every held block's allocation again each S seconds,\n"
		"with the time it was taken, and the deterministic bindings.\n"
		"node N (1 to %u; in a configuration file, its cluster node) is written in\n"
		"every NAT log record: xcgn log who answers from the logs of all nodes.\n"
		"pcp answers the Port Control Protocol (RFC 6887: ANNOUNCE, MAP, PEER) and\n"
		"NAT-PMP (RFC 6886) on UDP port 5351 of the inside device, to subscribers\n"
		"that pass the reverse-path check: a mapping on the subscriber's public\n"
		"address and blocks, open to every remote, for the lifetime asked (bounded\n"
		"by pcp-lifetime), logged (pcp_map, pcp_end). At most pcp-mappings a\n"
		"subscriber, pcp-rate requests a second from each (burst 2x);\n"
		"THIRD_PARTY only from the clients within a pcp-third-party prefix (up to\n"
		"8), none by default.\n"
		"A subscriber a request makes (it had no entry), while it carries no traffic\n"
		"of its own, holds mappings no longer than its pool's UDP timer, and all such\n"
		"subscribers together at most pcp-share percent of the pools' blocks: past\n"
		"it, NO_RESOURCES. Requests from spoofed sources then cannot hold the pool,\n"
		"and most of it stays for traffic.\n"
		"xcgn monitor is served to root, and to the members of monitor-group.\n"
		"time-scale divides every timer and the quarantine: for tests only.\n",
		XCGN_NODE_MAX);
	return usage_status();
}

static int do_daemon(struct cmd *cmd, int argc, char **argv)
{
	static struct xcgn_config cfg;
	static struct daemon_opts opts;
	struct daemon_opts *o = &opts;
	int ret;

	daemon_opts_init(o);
	/* config FILE first: the file is applied, its daemon options are
	 * taken, and the command line's come after them. */
	if (argc > 1 && !strcmp(*argv, "config")) {
		if (config_load(argv[1], &cfg))
			return XCGN_EXIT_USAGE;
		/* under the lock, dropped before the daemon runs on */
		ret = cmd_lock(cmd) ? XCGN_EXIT_ERR : config_apply_locked(&cfg, false);
		cmd_unlock(cmd);
		if (ret)
			return ret;
		ret = config_daemon_opts(&cfg, o);
		if (ret)
			return ret;
		argc -= 2;
		argv += 2;
	}
	ret = daemon_opts_parse(argc, argv, o);
	if (!ret && o->pcp_opts && !o->pcp) {
		xcgn_err("pcp-lifetime, pcp-mappings, pcp-rate and pcp-third-party need pcp");
		ret = XCGN_EXIT_USAGE;
	}
	if (!ret) {
		char *text = config_daemon_text(&cfg, o);

		if (!text) {
			xcgn_err("daemon: %s", strerror(errno));
			return XCGN_EXIT_ERR;
		}
		o->published = text;	/* for the daemon's life */
	}
	return ret ? ret : daemon_run(o);
}

const struct xcgn_object xcgn_obj_daemon = {
	.name = "daemon",
	.usage = usage,
	.fn = do_daemon,
};
