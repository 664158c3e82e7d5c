/* SPDX-License-Identifier: GPL-2.0 */
/* user/sinks: where the daemon's records and figures go: the NAT log, IPFIX,
 * `xcgn monitor`, the Prometheus exposition and its HTTP server. */
#ifndef XCGN_SINKS_H
#define XCGN_SINKS_H

#include <sys/socket.h>

#include "datapath/datapath.h"

/* ---- natlog.c: the NAT log ------------------------------------------- */
/* Records wait here, in order, while the log cannot be written (a full
 * disk); past this many the oldest waiting stay and new ones are lost
 * (counted), to be recovered from the tables by the daemon's reconcile. */
#define NATLOG_QUEUE_MAX	65536u

struct natlog_stats {
	uint64_t written, recovered, lost, write_errors;
	int last_errno;
};
struct natlog_qent {
	char *line;
	uint64_t tag;
};
struct natlog {
	int fd;
	char path[256];
	bool use_syslog;
	bool failing;		/* the last write failed (said once) */
	bool dirty;		/* written since the last fdatasync */
	bool torn;		/* a write cut short is in the file: next, a newline */
	uint32_t sync_ms;	/* fdatasync at most this often */
	uint64_t synced_ns;
	struct natlog_qent *q;	/* NATLOG_QUEUE_MAX, a ring */
	size_t qhead, qlen;
	/* Told of every record once it is in the file, with its tag. */
	void (*on_written)(void *ctx, uint64_t tag);
	void *ctx;
	struct natlog_stats st;
};
struct natlog_rec {
	uint64_t ts_ms;		/* wall clock, ms since the epoch */
	const char *event;	/* "alloc", "release", "refused", "refusals_suppressed" */
	uint32_t sub, paddr;	/* network order; 0 = absent */
	uint16_t port_lo, port_hi;
	const char *reason;	/* NULL = absent */
	uint64_t count;		/* 0 = absent */
	bool recovered;		/* made up from the tables after a loss */
	uint32_t node;		/* the cluster node that wrote it; 0 = absent */
	/* "deterministic" and "deterministic_end": an RFC 7422 pool's whole
	 * binding, so that the log alone answers for it by arithmetic:
	 * paddr/plen the pool, sub/det_plen its subscribers, the ports. */
	uint8_t plen, det_plen;
	uint16_t block_size, blocks;
	/* "pcp_map" and "pcp_end": a mapping a subscriber asked for, on the
	 * public port port_lo (= port_hi) */
	uint8_t proto;
	uint16_t inside_port;
	uint32_t lifetime;
	const char *via;	/* "pcp", "pcp_peer", "natpmp" */
	uint32_t client;	/* THIRD_PARTY: who asked; 0 = the subscriber */
	/* "refused": the drop reason (XCGN_DROP_*), and the subscriber's
	 * quota of blocks when known (IPFIX says both) */
	int drop;
	uint32_t quota;
};
struct natlog_parsed {
	uint64_t ts_ms;
	char event[24];
	uint32_t sub, paddr;
	uint16_t port_lo, port_hi;
	uint32_t node;
	uint16_t inside_port;		/* a pcp_map or pcp_end record's */
	uint8_t proto;
	char via[12];
	uint8_t plen, det_plen;		/* a deterministic record's */
	uint16_t block_size, blocks;
};
struct natlog_who {
	bool found;		/* held at the time asked */
	bool deterministic;	/* by arithmetic, from a deterministic record */
	uint32_t sub;
	uint32_t node;
	uint64_t since_ms, until_ms;
	uint16_t port_lo, port_hi;
	/* the port was a mapping the subscriber asked for (PCP, NAT-PMP) */
	bool pcp;
	uint8_t pcp_proto;
	uint16_t inside_port;
	uint64_t pcp_since_ms;
	char via[12];
};
/* Open (creating the directory, 0750, and the file, 0640) for appending. */
int natlog_open(struct natlog *l, const char *path, bool use_syslog, uint32_t sync_ms);
int natlog_reopen(struct natlog *l);
void natlog_close(struct natlog *l);
size_t natlog_format(char *buf, size_t len, const struct natlog_rec *r);
/* Write one record (one write(2)), or queue it behind earlier ones when
 * the file cannot take it: 0 written, 1 queued, -1 lost (queue full). */
int natlog_write(struct natlog *l, const struct natlog_rec *r, uint64_t tag);
/* Retry what is queued: 0 when nothing waits any more. */
int natlog_flush(struct natlog *l);
/* fdatasync when written to and sync_ms passed since the last (or @force). */
void natlog_sync(struct natlog *l, uint64_t now_ns, bool force);
int natlog_parse(const char *line, struct natlog_parsed *r);
/* Who held @paddr:@port at @at_ms, from the log in @f (read twice). */
int natlog_who(FILE *f, uint32_t paddr, uint16_t port, uint64_t at_ms, struct natlog_who *w);
/* The last whole record of the log file at @path: 0, or -errno. */
int natlog_tail(const char *path, struct natlog_parsed *r);
/* The block records (allocations, releases, deterministic bindings) of
 * the log in @f, for many questions, added to *@out (*@n of them; start
 * with NULL and 0; free it). Several logs (a cluster's) load into one.
 * 0 or -errno. */
int natlog_load(FILE *f, struct natlog_parsed **out, size_t *n);
/* A NAT log for reading: plain, or gzip-compressed (as logrotate leaves
 * it), told by its content. NULL with errno set. */
FILE *natlog_fopen(const char *path);
/* The same rule as natlog_who, over records natlog_load read. */
void natlog_who_recs(const struct natlog_parsed *r, size_t n, uint32_t paddr, uint16_t port,
		     uint64_t at_ms, struct natlog_who *w);



#define XCGN_DEF_NATLOG "/var/log/xcgn/nat.log"

/* ---- natindex.c: the NAT log's index (SQLite) ------------------------------ */
#define XCGN_DEF_NATINDEX "/var/lib/xcgn/natlog.sqlite"
struct natindex;
/* Open the index at @path, made if missing: NULL with the reason said. */
struct natindex *natindex_open(const char *path);
void natindex_close(struct natindex *x);
/* File what log @path (plain or gzip) holds that the index has not, its
 * count added to *@added: 0, or -errno with the reason said. */
int natindex_update(struct natindex *x, const char *path, uint64_t *added);
/* Drop the records of every file not updated since the index was opened
 * (gone, rotated away): their count in *@dropped. 0 or -errno. */
int natindex_prune(struct natindex *x, uint64_t *dropped);
/* The records natlog_who_recs needs to say who held @paddr:@port at
 * @at_ms: its bucket's, newest first down to the answering allocation,
 * and every deterministic binding. *@out to free. 0 or -errno. */
int natindex_records(struct natindex *x, uint32_t paddr, uint16_t port, uint64_t at_ms,
		     struct natlog_parsed **out, size_t *n);

/* ---- metrics.c: the Prometheus exposition -------------------------------- */
/* What only a running daemon knows; the rest comes from the pins. */
struct pcp_stats;
/* What a scrape would walk the tables for, as the daemon last took it: per
 * pool, its addresses and blocks (taken in the bitmaps, held by
 * subscribers) and subscribers; the subscribers, filtering and fragment
 * entries in all. */
struct pool_use {
	uint64_t addrs, drained, blocks, taken, held, subs;
};
struct metrics_snap {
	bool valid;
	uint64_t at_ms;			/* when (CLOCK_MONOTONIC) */
	uint64_t nsubs;
	long peers, frags;		/* -1: not known */
	struct pool_use use[XCGN_POOLS_MAX];
};
/* Take the snapshot: batch reads, no per-entry walk. 0 or -errno. */
int metrics_snapshot(const struct xcgn_maps *m, struct metrics_snap *s);

struct metrics_daemon {
	const struct metrics_snap *snap;	/* the daemon's, or NULL: walk now */
	uint64_t started_unix;
	uint64_t passes, expired, released;
	uint64_t gc_end_unix_ms, gc_wall_us;
	uint64_t maps_seen;	/* mappings the last full pass walked */
	bool maps_seen_valid;
	uint64_t routes;	/* routes in the reverse-path tables */
	bool routes_valid, rpf_failing;
	uint64_t rpf_sync_unix_ms;
	struct natlog_stats log;
	uint64_t queued;
	const struct pcp_stats *pcp;	/* the PCP server's, or NULL */
	uint64_t nh_moves;	/* next-hop cache generations moved */
	bool nh_running;	/* the cache's keeper runs */
};
/* A table of the datapath: entries against capacity. */
struct table_use {
	const char *name;
	long used;		/* -1: not known here */
	__u32 capacity;
};
#define XCGN_TABLES	7
/* Every table's use (@nsubs: subscribers, counted by the caller). */
void xcgn_tables(const struct xcgn_maps *m, const struct xcgn_link_info *li,
		 const struct metrics_daemon *md, uint64_t nsubs, struct table_use t[XCGN_TABLES]);
/* The exposition of the instance behind @m (and the daemon's figures when
 * @md is given) to @f. 0 or -errno. */
int metrics_write(FILE *f, const struct xcgn_maps *m, const struct metrics_daemon *md);
/* http.c: GET /metrics on ADDR:PORT, @render writing the body. NULL with
 * errno set (said) when it cannot listen. Polled from the caller's loop:
 * add metrics_http_fd() to its epoll, call metrics_http_run() each turn. */
struct metrics_http;
struct metrics_http *metrics_http_start(const char *addr_port, int (*render)(void *ctx, FILE *f),
					void *ctx);
int metrics_http_fd(const struct metrics_http *h);
void metrics_http_run(struct metrics_http *h);
void metrics_http_stop(struct metrics_http *h);

/* ---- ipfix.c: NAT events to IPFIX collectors (RFC 7011, RFC 8158) -------- */
#define IPFIX_TMPL_BLOCK	256	/* port block allocation and de-allocation */
#define IPFIX_TMPL_QUOTA	257	/* quota exceeded */
#define IPFIX_TMPL_EXHAUSTED	258	/* addresses exhausted */
/* natEvent values (IANA "NAT Event Type") */
#define IPFIX_NAT_ADDRESSES_EXHAUSTED	3
#define IPFIX_NAT_PORTS_EXHAUSTED	12
#define IPFIX_NAT_QUOTA_EXCEEDED	13
#define IPFIX_NAT_PORT_BLOCK_ALLOC	16
#define IPFIX_NAT_PORT_BLOCK_DEALLOC	17
/* natQuotaExceededEvent values */
#define IPFIX_QUOTA_MAX_SESSIONS	1
#define IPFIX_QUOTA_PER_USER		3
#define IPFIX_COLLECTORS_MAX	4
#define IPFIX_TEMPLATE_S	60	/* templates resent this often (UDP) */
#define IPFIX_MSG_MAX		1400	/* a message fits one Ethernet frame */
struct ipfix_msg {
	uint8_t buf[IPFIX_MSG_MAX];
	size_t len, set;	/* bytes so far; offset of the open set (0: none) */
	uint16_t set_id;
	int nrec;		/* data records in the message */
};
/* The encoder, pure: a message with a header, the templates, records of
 * each; finish() writes the lengths and returns the message's size. The
 * record calls return -1 when the message is full. */
void ipfix_msg_start(struct ipfix_msg *m, uint32_t domain, uint32_t seq, uint32_t export_s);
int ipfix_msg_templates(struct ipfix_msg *m);
int ipfix_block_rec(struct ipfix_msg *m, uint64_t ts_ms, bool alloc, uint32_t sub_be,
		    uint32_t paddr_be, uint16_t lo, uint16_t hi);
int ipfix_quota_rec(struct ipfix_msg *m, uint64_t ts_ms, uint32_t sub_be, uint32_t kind,
		    uint32_t limit);
int ipfix_exhausted_rec(struct ipfix_msg *m, uint64_t ts_ms, uint32_t pool_id);
size_t ipfix_msg_finish(struct ipfix_msg *m);
/* The exporter: one socket, up to IPFIX_COLLECTORS_MAX collectors. */
struct ipfix_exporter {
	int fd;
	struct sockaddr_in coll[IPFIX_COLLECTORS_MAX];
	int ncoll;
	uint32_t domain, seq;
	uint64_t tmpl_s;	/* when the templates last went out */
	struct ipfix_msg msg;
	bool pending;		/* msg is open */
	uint64_t messages, records, dropped, send_errors;
};
int ipfix_open(struct ipfix_exporter *x, uint32_t domain);
int ipfix_add_collector(struct ipfix_exporter *x, const char *addr_port);
void ipfix_block(struct ipfix_exporter *x, uint64_t ts_ms, bool alloc, uint32_t sub_be,
		 uint32_t paddr_be, uint16_t lo, uint16_t hi);
/* The same sent at @now_ms of an event at @ts_ms (an interim record:
 * the allocation again, with its own time). */
void ipfix_block_at(struct ipfix_exporter *x, uint64_t now_ms, uint64_t ts_ms, bool alloc,
		    uint32_t sub_be, uint32_t paddr_be, uint16_t lo, uint16_t hi);
/* A refusal as RFC 8158 says it: quota exceeded or addresses exhausted. */
void ipfix_refusal(struct ipfix_exporter *x, uint64_t ts_ms, uint32_t sub_be, int reason,
		   uint32_t max_blocks);
/* The templates go with the next message (records a collector that was
 * down must be able to read). */
void ipfix_templates_now(struct ipfix_exporter *x);
/* Send what is waiting (the daemon's loop, each turn). */
void ipfix_flush(struct ipfix_exporter *x);
void ipfix_close(struct ipfix_exporter *x);

/* ---- monitor.c: events fanned out to `xcgn monitor` ----------------------- */
#define MONITOR_NAME	"xcgn-monitor"	/* abstract */
#define MONITOR_CLIENTS_MAX	16
struct monitor_hub {
	int fd;				/* listening, abstract @xcgn-monitor */
	bool group_set;			/* besides root, members of @group may read */
	gid_t group;
	int client[MONITOR_CLIENTS_MAX];	/* -1: free */
	uint64_t lost[MONITOR_CLIENTS_MAX];	/* events a slow one missed */
};
struct sockaddr_un;
/* The hub's address (abstract @xcgn-monitor) into *@sa: its length. */
socklen_t monitor_addr(struct sockaddr_un *sa);
int monitor_listen(struct monitor_hub *h);
void monitor_accept(struct monitor_hub *h);
/* One event (a JSON object) to every monitor, never blocking. */
void monitor_send(struct monitor_hub *h, const char *line, size_t len);
/* A reverse-path table sync that changed something, as an event. */
void monitor_rpf(struct monitor_hub *h, uint64_t ts_ms, const struct rpf_sync_stats *st);
void monitor_close(struct monitor_hub *h);


/* ---- sink.c: one record stream, every output behind one interface ------- */
/* A record sink: the NAT log, the IPFIX exporter, the monitor hub each
 * make one (natlog_sink, ipfix_sink, monitor_sink); a new output is one
 * file that makes another. The daemon registers what it set up and hands
 * every record to all of them, in order. */
struct record_sink {
	const char *name;
	/* One record; @tag is the NAT log's mark (told back once written). */
	void (*write)(void *ctx, const struct natlog_rec *r, uint64_t tag);
	/* Each turn of the daemon's loop: send or sync what waits. */
	void (*flush)(void *ctx, uint64_t now_ns);
	/* SIGHUP: the files are reopened (logrotate). */
	void (*reopen)(void *ctx);
	void *ctx;
};
#define XCGN_SINKS_MAX	8
struct record_sinks {
	struct record_sink v[XCGN_SINKS_MAX];
	int n;
};
/* Register @k: 0, or -ENOSPC. */
int sinks_add(struct record_sinks *s, const struct record_sink *k);
void sinks_write(const struct record_sinks *s, const struct natlog_rec *r, uint64_t tag);
void sinks_flush(const struct record_sinks *s, uint64_t now_ns);
void sinks_reopen(const struct record_sinks *s);
struct record_sink natlog_sink(struct natlog *l);
struct record_sink ipfix_sink(struct ipfix_exporter *x);
struct record_sink monitor_sink(struct monitor_hub *h);

#endif /* XCGN_SINKS_H */
