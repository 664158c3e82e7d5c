/* SPDX-License-Identifier: GPL-2.0 */
/* user/daemon: the daemon (daemon.c says its threads and its loop), its
 * collector's decisions (collect.c), the next-hop keeper (nexthop.c) and
 * the PCP server (pcp_server.h). */
#ifndef XCGN_DAEMON_H
#define XCGN_DAEMON_H

#include "net/pcp.h"
#include "sinks/sinks.h"

/* ---- collect.c: the collector's pure decisions -------------------------- */
/* Refusal records a second, the rest counted and said once a second. */
struct refusal_limit {
	uint32_t per_s;
	uint64_t sec, in_sec, suppressed;
};
bool refusal_admit(struct refusal_limit *rl, uint64_t now_ms);
uint64_t refusal_take_suppressed(struct refusal_limit *rl);
/* The time a recovered allocation record carries: the block's stamp, or
 * the subscriber's creation when the stamp cannot be its own. */
uint64_t recovered_alloc_ns(uint64_t blkts_ns, uint64_t created_ns, bool first_block);
/* How long a mapping of @proto (TCP state @tcp) in pool @p may stay idle,
 * timers divided by @scale (tests). */

uint64_t mapping_timeout_ns(const struct xcgn_pool *p, uint8_t proto, uint32_t tcp, uint32_t scale);
/* Released blocks resting before they can be handed out again (RFC 6888
 * REQ-8), first in, first out. */
struct qentry {
	uint32_t idx, blk;
	uint64_t due_ns;
};
struct quarantine {
	struct qentry *v;
	size_t head, n, cap;
};
int quarantine_add(struct quarantine *q, uint32_t idx, uint32_t blk, uint64_t due_ns);
bool quarantine_due(const struct quarantine *q, uint64_t now_ns);
/* Hand every entry due by @now_ns to @fn, oldest first; how many. */
size_t quarantine_pop_due(struct quarantine *q, uint64_t now_ns,
			  void (*fn)(void *ctx, uint32_t idx, uint32_t blk), void *ctx);
void quarantine_free(struct quarantine *q);
/* The NAT log against the tables (the daemon's reconcile): what is held
 * (block key, holder, when taken) and what the log has as held (block
 * key, holder); @emit gets each record to write, a release of a former
 * holder before the new holder's allocation. Sorts both arrays; returns
 * how many records. */
struct rc_held {
	uint32_t key, sub;
	uint64_t alloc_ns;
};
struct rc_logged {
	uint32_t key, sub;
};
struct rc_action {
	bool alloc;		/* else a release */
	uint32_t sub, key;
	uint64_t ts_ns;		/* CLOCK_MONOTONIC, as the datapath's stamps */
};
size_t reconcile_plan(struct rc_held *held, size_t nh, struct rc_logged *logged, size_t nl,
		      uint64_t now_ns, void (*emit)(void *ctx, const struct rc_action *a), void *ctx);


/* The next-hop cache's keeper, a thread of the daemon (nexthop.c). */
struct nh_keeper;
struct nh_keeper *nh_keeper_start(int nhctl_fd, int ifin, int ifout);
unsigned int nh_keeper_changes(struct nh_keeper *k);
void nh_keeper_fib(struct nh_keeper *k, unsigned int changes_seen, bool simple);
uint64_t nh_keeper_moved(struct nh_keeper *k);
bool nh_keeper_running(struct nh_keeper *k);
void nh_keeper_stop(struct nh_keeper *k);

/* The PID of the daemon running for the instance under @dir, or 0. */
uint32_t xcgn_daemon_pid(const char *dir, int dstat_fd);
/* Does a daemon serve the instance of @m (this namespace's)? */
bool xcgn_daemon_serves(const struct xcgn_maps *m);
/* The daemon statement's options, checked (daemon.c). */
int daemon_args_check(int argc, char **argv);

/* ---- the daemon (daemon.c; opts.c its options) ------------------------- */
#define XCGN_GC_BATCH_DEF	16384	/* mappings a collector step examines */
#define XCGN_NODE_MAX		65535	/* a cluster node id, named in every record */
struct daemon_opts {
	const char *log_path;
	bool use_syslog;
	uint32_t scale;		/* timers divided by this (tests) */
	uint32_t interval_ms;	/* between GC steps */
	uint32_t quarantine_s;
	uint32_t ipfix_interim_s;	/* held blocks sent again this often, 0 off */
	uint32_t batch;		/* mappings examined per step */
	uint32_t refuse_per_s;	/* refusal records per second */
	uint32_t rpf_resync_ms;	/* full reverse-path re-read besides netlink */
	uint32_t sync_ms;	/* fdatasync of the NAT log at most this often */
	const char *metrics;	/* ADDR:PORT of the Prometheus endpoint, or NULL */
	const char *ipfix[IPFIX_COLLECTORS_MAX];	/* collectors, ADDR:PORT */
	int nipfix;
	uint32_t ipfix_domain;	/* observation domain id */
	bool ipfix_domain_set;	/* else the node's id */
	uint32_t node;		/* the cluster node id the NAT log names; 0 = none */
	bool pcp;		/* answer PCP and NAT-PMP on the inside */
	bool pcp_opts;		/* a pcp-* option was given */
	struct pcp_config pcp_cfg;
	const char *monitor_group;	/* may read the event stream besides root */
	/* The running configuration the daemon publishes (its daemon line,
	 * and a configuration file's cluster), or NULL: its daemon line. */
	const char *published;
};
void daemon_opts_init(struct daemon_opts *o);
/* The daemon's option table (lib/options.h). */
extern const struct opt *const xcgn_daemon_opts;
extern const size_t xcgn_daemon_nopts;
/* The daemon's options over *@o (`config FILE` is the CLI's): 0, or
 * XCGN_EXIT_USAGE with the reason said. */
int daemon_opts_parse(int argc, char **argv, struct daemon_opts *o);
/* The daemon line of @o in its canonical form: "daemon" and the options
 * that differ from the defaults, a newline. */
void daemon_opts_print(FILE *f, const struct daemon_opts *o);

/* The running configuration a daemon publishes while it runs: its daemon
 * line or o->published, in a file of the configuration's grammar under
 * XCGN_RUN_DIR named by the network namespace (`config show` reads it). */
#define XCGN_RUN_DIR "/run/xcgn"
int daemon_published_path(char *buf, size_t len);
/* The published statements of this namespace's daemon (malloc'd), or NULL
 * with errno ENOENT when no daemon runs. */
char *daemon_published_read(void);
/* Run the daemon for this namespace's instance until a signal stops it or
 * the instance goes: an exit status. */
int daemon_run(const struct daemon_opts *o);

#endif /* XCGN_DAEMON_H */
