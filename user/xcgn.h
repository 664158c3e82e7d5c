/* SPDX-License-Identifier: GPL-2.0 */
/* Declarations shared by the modules of the xcgn program. Everything but
 * main.c is built into libxcgn.a so the tests can call it. */
#ifndef XCGN_USER_H
#define XCGN_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "xcgn_abi.h"

#ifndef XCGN_VERSION
#define XCGN_VERSION "0.3.0"
#endif

/* Exit status: 0 success, 1 operation error, 2 usage error (xcgn.8). */
#define XCGN_EXIT_OK	0
#define XCGN_EXIT_ERR	1
#define XCGN_EXIT_USAGE	2

#define __printf(a, b) __attribute__((format(printf, a, b)))
#define ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))

/* Global options (main.c sets them). */
extern int xcgn_verbose;

/* ---- print.c: one call per field serves text and JSON ------------------ */
enum output_type {
	PRINT_FP = 1,	/* text only */
	PRINT_JSON = 2,	/* JSON only */
	PRINT_ANY = 3,	/* both */
};

void print_init(bool json, bool pretty, FILE *out);
bool print_is_json(void);
void print_open_object(const char *key);
void print_close_object(void);
void print_open_array(const char *key);
void print_close_array(void);
void print_string(enum output_type t, const char *key, const char *fmt, const char *v);
void print_u64(enum output_type t, const char *key, const char *fmt, uint64_t v);
/* JSON true/false; in text, @text when true. */
void print_bool(enum output_type t, const char *key, const char *text, bool v);
void print_ipv4(enum output_type t, const char *key, const char *fmt, uint32_t addr_be);
void print_text(const char *fmt, ...) __printf(1, 2);
void print_nl(void);
void print_finish(void);
/* Write @s as a JSON string literal (quotes included) to @f. */
void print_json_str(FILE *f, const char *s);

/* Errors: "xcgn: ..." on stderr, or {"error": "..."} on stdout with -j. */
void xcgn_err(const char *fmt, ...) __printf(1, 2);
/* Print `xcgn: invalid WHAT "ARG"` and return XCGN_EXIT_USAGE. */
int invarg(const char *what, const char *arg);
/* Parse @s into @out within @min..@max, or say `invalid WHAT "S" (must
 * be MIN..MAX)` and return XCGN_EXIT_USAGE. */
int arg_u32(const char *what, const char *s, uint32_t min, uint32_t max, uint32_t *out);
/* Where an error was found ("FILE:LINE"), put before every message while
 * set (the configuration file's reader sets it). */
extern const char *xcgn_err_where;
/* Usage text goes to stdout with status 0 when help was asked for, to
 * stderr with status 2 after a usage error. */
void usage_asked(bool asked);
FILE *usage_fp(void);
int usage_status(void);
/* @word as a unique prefix of one of the @n @names (stops at a NULL):
 * its index, -1 when none, -2 when ambiguous (an exact match wins). */
int prefix_match(const char *word, const char *const *names, size_t n);
/* The capabilities xcgn works with (CAP_BPF or CAP_SYS_ADMIN, and
 * CAP_NET_ADMIN): 0, or -EPERM with what is missing said for @what. */
int xcgn_need_caps(const char *what);

extern const char *const xcgn_stat_name[XCGN_STAT_MAX];
extern const char *const xcgn_drop_name[XCGN_DROP_MAX];
const char *xcgn_proto_name(uint8_t proto);

/* ---- parse.c: pure helpers --------------------------------------------- */
int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
int parse_ipv4(const char *s, uint32_t *addr_be);
/* "a.b.c.d/len" (or a bare address, /32). Host bits must be clear. */
int parse_prefix(const char *s, uint32_t *addr_be, uint8_t *plen);
/* "LO-HI" or a single port, 1..65535, LO <= HI. */
int parse_port_range(const char *s, uint16_t *lo, uint16_t *hi);
uint32_t prefix_mask_be(uint8_t plen);
bool prefix_overlap(uint32_t a_be, uint8_t alen, uint32_t b_be, uint8_t blen);
const char *ipv4_str(uint32_t addr_be, char *buf, size_t len);
/* Fill the derived fields of @p (nblocks) from port range and block size;
 * return 0, or -1 with a reason in @why. */
int pool_plan(struct xcgn_pool *p, char *why, size_t whylen);
/* RFC 7422 arithmetic of a deterministic pool: subscriber -> (public
 * address, ports lo..hi), and (public address, port) -> subscriber. Return
 * 0, or -1 when outside the pool. Mirrors pool_sub_deterministic() in
 * bpf/lib/pool.h. */
int det_forward(const struct xcgn_pool *p, uint32_t sub_be, uint32_t *paddr_be, uint16_t *lo,
		uint16_t *hi);
int det_reverse(const struct xcgn_pool *p, uint32_t paddr_be, uint16_t port, uint32_t *sub_be);

/* ---- nl.c: rtnetlink over libmnl --------------------------------------- */
struct nl_link {
	int ifindex;
	char name[16];
	unsigned int mtu;
	unsigned int flags;	/* IFF_* */
};
/* Look a device up by name (@name) or by index (@ifindex when name is
 * NULL). Returns 0, -ENODEV, or another -errno. */
int nl_link_get(const char *name, int ifindex, struct nl_link *out);
/* The first IPv4 address of a device: -ENOENT when it has none. */
int nl_addr_first(int ifindex, uint32_t *addr_be);
struct nlmsghdr;
/* An RTM_NEWADDR message's IPv4 address (this host's end), device and
 * prefix length: 1, 0 when it is no IPv4 address, or -EINVAL. */
int nl_ifaddr(const struct nlmsghdr *nlh, int *ifindex, uint32_t *addr_be, uint8_t *plen);
/* A dump request of @type with family header @hdr; @cb (a libmnl mnl_cb_t)
 * runs on every answer. Returns 0 or -errno. */
int nl_dump(uint16_t type, const void *hdr, size_t hdrlen,
	    int (*cb)(const struct nlmsghdr *nlh, void *data), void *data);

/* ---- loader.c: bpffs, skeleton, attach --------------------------------- */
/* Where this network namespace's state lives. Returns 0 or -errno with the
 * reason already printed. */
int xcgn_pin_dir(char *buf, size_t len);
/* `mkdir -p PATH` with @mode for what it makes: 0 or -errno. */
int xcgn_mkdir_p(const char *path, unsigned int mode);

/* One fd per pinned map, made from the one list (XCGN_PINNED_MAPS), in
 * its order; xcgn_map_names[] has their names in the same order. */
enum {
#define X(f) XCGN_MI_##f,
	XCGN_PINNED_MAPS(X)
#undef X
	XCGN_NMAPS
};
extern const char *const xcgn_map_names[XCGN_NMAPS];
bool xcgn_map_is_pinned(const char *name);
struct xcgn_maps {
#define X(f) int f;
	XCGN_PINNED_MAPS(X)
#undef X
};
/* Make room in *@arr (an array of *@cap elements of @size) for one more
 * than @n, doubling. 0, or -1 (ENOMEM) with *@arr left as it was. */
int xcgn_grow(void *arr, size_t *cap, size_t n, size_t size);
/* What `xcgn link attach` recorded; -errno (printed) when unreadable. */
struct xcgn_maps;
struct xcgn_link_info;
int xcgn_link_read(const struct xcgn_maps *m, struct xcgn_link_info *li);

/* Open the pinned maps of this namespace's instance and check their layout
 * stamp; -ENOENT (printed) if xcgn is not attached here, -EPROTO (printed,
 * naming both versions) if they were pinned by a binary of another layout. */
int xcgn_maps_open(struct xcgn_maps *m);
/* The same under @dir, without the stamp check (reload, migration). */
int xcgn_maps_open_dir(struct xcgn_maps *m, const char *dir);
/* Is this version attached under @dir (its XDP link pinned)? */
bool xcgn_attached_here(const char *dir);
/* Another layout version pinned in this namespace (its number), or 0. */
int xcgn_pinned_version(const char *dir);

/* ---- abi.c: the pinned layout as an ABI -------------------------------- */
/* The datapath object embedded in this binary (the skeleton's). */
const void *xcgn_xdp_elf(size_t *len);
/* This binary's layout, as text (tests/abi/ keeps each version's). NULL
 * with errno set when the embedded object cannot be read. */
const char *xcgn_abi_layout(void);
uint64_t xcgn_abi_fingerprint(void);
void xcgn_abi_stamp_make(struct xcgn_abi_stamp *s);
/* 0 when the stamp in @stamp_fd is this binary's layout; else the reason
 * printed, naming both layouts and what to do. */
int xcgn_abi_check(int stamp_fd, const char *dir);
void xcgn_maps_close(struct xcgn_maps *m);
/* Take the configuration lock (flock on the pin dir): one writer at a time. */
int xcgn_lock(void);
/* The same without waiting or printing: -EWOULDBLOCK when it is held. */
int xcgn_trylock(void);
void xcgn_unlock(int fd);

struct xcgn_gc;
/* The control programs (collector, rpf explain) over the pinned maps;
 * NULL with errno set (printed) on failure. */
struct xcgn_gc *xcgn_ctl_load(void);

struct attach_opts {
	const char *inside;
	const char *outside;
	int xdp_mode;		/* enum xcgn_xdp_mode */
	uint32_t sub_prefix;	/* network order */
	uint8_t sub_plen;
	uint32_t max_maps;
	uint32_t max_subs;
	uint8_t rpf_in, rpf_out;	/* enum xcgn_rpf_mode */
	uint32_t max_routes;	/* capacity of the reverse-path table */
	uint8_t refusal_icmp;	/* enum xcgn_refusal_icmp */
	bool force;		/* attach despite the lint's errors */
};
int xcgn_attach(const struct attach_opts *o);
void attach_opts_init(struct attach_opts *o);
/* `link attach` arguments (or a configuration file's `link`) over *@o:
 * 0, or XCGN_EXIT_USAGE with the reason said. */
int attach_opts_parse(int argc, char **argv, struct attach_opts *o);
extern const char *const xcgn_xdp_mode_name[2];
extern const char *const xcgn_refusal_name[XCGN_REFUSAL_MAX];
#define XCGN_DEF_SUBSCRIBERS "100.64.0.0/10"
struct xcgn_xdp;
/* Load the datapath over the maps pinned under @dir (loader.c says how). */
struct xcgn_xdp *xcgn_datapath_load(const char *dir, const struct xcgn_link_info *li,
				    uint32_t max_routes, const struct xcgn_maps *reuse);
/* The size of the map pinned at @path (of @fd when >= 0); 0 if none. */
__u32 xcgn_pinned_max_entries_fd(const char *path, int fd);
#define xcgn_pinned_max_entries(path) xcgn_pinned_max_entries_fd(path, -1)
/* Remove every pin in @dir, then the empty directories up to the root. */
void xcgn_unpin_all(const char *dir);
/* The tc filters' identity: detach and reload touch exactly these. */
#define XCGN_TC_HANDLE	0x7863	/* "xc" */
#define XCGN_TC_PRIO	1
int xcgn_detach(void);
/* Replace the running programs with this binary's, keeping the pinned
 * state (moved to this layout first when an older one is pinned). */
int xcgn_reload(void);
/* The invariants of the pinned state (check.c): exit 1 on a violation. */
int xcgn_check(void);

/* ---- pool.c ------------------------------------------------------------ */
struct pool_opts {
	uint32_t prefix;	/* network order */
	uint8_t plen;
	uint16_t port_lo, port_hi, block_size, max_blocks;
	uint8_t filtering;
	uint8_t deterministic;	/* RFC 7422 for the subscribers in det_prefix */
	uint8_t parity;		/* RFC 4787 REQ-4 */
	uint32_t new_rate;	/* RFC 6888 REQ-5: new mappings a second per subscriber */
	uint8_t det_plen;
	uint32_t det_prefix;	/* network order */
	uint32_t timeout[XCGN_TIMER_MAX];	/* seconds; 0 = default */
};
extern const char *const xcgn_timer_name[XCGN_TIMER_MAX];
extern const uint32_t xcgn_timer_default[XCGN_TIMER_MAX];
extern const uint32_t xcgn_timer_min[XCGN_TIMER_MAX];
void pool_opts_init(struct pool_opts *o);
/* The options after `pool add PREFIX` (or a configuration file's `pool
 * PREFIX`) over *@o: 0, or XCGN_EXIT_USAGE with the reason said. */
int pool_opts_parse(int argc, char **argv, struct pool_opts *o);
void pool_from_opts(const struct pool_opts *o, struct xcgn_pool *p);
void pool_opts_from(const struct xcgn_pool *p, struct pool_opts *o);
/* Can pool @p (planned) join the @n pools @others under the subscriber
 * range? 0, or -EINVAL/-EEXIST with the reason in @why. Pure: pool add
 * and the configuration file's check share it. */
int pool_conflict(const struct xcgn_pool *p, const struct xcgn_pool *others, size_t n,
		  uint32_t sub_prefix, uint8_t sub_plen, char *why, size_t len);
/* Same prefix, ports, block size and deterministic range: what pool set
 * may not change. */
bool pool_same_geometry(const struct xcgn_pool *a, const struct xcgn_pool *b);
/* The active pool PREFIX/PLEN into *@p: its id, or -ENOENT (said). */
int pool_find(const struct xcgn_maps *m, uint32_t prefix, uint8_t plen, struct xcgn_pool *p);
int pool_add(const struct xcgn_maps *m, const struct pool_opts *o);
/* Change a live pool's timers, limits, rate, filtering and parity. */
int pool_set(const struct xcgn_maps *m, const struct pool_opts *o);
int pool_del(const struct xcgn_maps *m, uint32_t prefix, uint8_t plen);
int bypass_add(const struct xcgn_maps *m, uint32_t prefix, uint8_t plen);
int bypass_del(const struct xcgn_maps *m, uint32_t prefix, uint8_t plen);

/* ---- config.c: the configuration file (xcgn.conf(5)) --------------------- */
struct cfg_pool {
	struct pool_opts o;
	int line;
};
struct cfg_bypass {
	uint32_t prefix;	/* network order */
	uint8_t plen;
	int line;
};
struct xcgn_config {
	char name[256];		/* the file, for messages */
	bool has_link, has_daemon;
	int link_line, daemon_line;
	struct attach_opts link;	/* inside, outside point at the names below */
	char inside[16], outside[16];
	struct cfg_pool pools[XCGN_POOLS_MAX];
	size_t npools;
	struct cfg_bypass *bypass;
	size_t nbypass, bypcap;
	int daemon_argc;	/* the daemon statement's options */
	char **daemon_argv;
	size_t daemon_first;
	char *text;		/* the words point into this copy */
	char **tok;
	size_t ntok, tokcap;
};
/* Read @text (named @name in messages) completely: every error said with
 * NAME:LINE. 0, or -EINVAL when any. Touches nothing outside @c. */
int config_parse(const char *name, const char *text, struct xcgn_config *c);
int config_load(const char *path, struct xcgn_config *c);
void config_free(struct xcgn_config *c);
/* The canonical form, every key spelled out: config show prints it. */
void config_print(FILE *f, const struct xcgn_config *c);
/* The running instance as a configuration (no daemon statement). */
int config_running(const struct xcgn_maps *m, struct xcgn_config *c);
enum cstep_kind {
	CS_ATTACH,
	CS_RPF_IN,
	CS_RPF_OUT,
	CS_REFUSAL,
	CS_POOL_SET,
	CS_BYPASS_DEL,
	CS_POOL_DEL,
	CS_POOL_ADD,
	CS_BYPASS_ADD,
};
extern const char *const cstep_name[];
struct cstep {
	enum cstep_kind kind;
	const struct pool_opts *from, *to;	/* pools: as running, as wanted */
	uint32_t prefix;			/* bypass */
	uint8_t plen;
};
struct config_plan {
	struct cstep *v;
	size_t n, cap;
	bool restart;		/* the link changes: detach, then all from nothing */
	char why[200];		/* what makes the restart needed */
};
/* The steps from @run (NULL: not attached) to @want, in the order they
 * are safe to take: link modes, pool changes in place, bypass removals,
 * pool removals, pool additions, bypass additions. Pure. 0 or -ENOMEM. */
int config_diff(const struct xcgn_config *run, const struct xcgn_config *want,
		struct config_plan *p);
void config_plan_free(struct config_plan *p);
/* Bring this namespace's instance to @want, all or nothing; a change of
 * devices or table sizes only with @restart_ok. An exit status. */
int config_apply(const struct xcgn_config *want, bool restart_ok);
/* The daemon statement's options, checked (daemon.c). */
int daemon_args_check(int argc, char **argv);

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
};
struct natlog_parsed {
	uint64_t ts_ms;
	char event[24];
	uint32_t sub, paddr;
	uint16_t port_lo, port_hi;
};
struct natlog_who {
	bool found;		/* held at the time asked */
	uint32_t sub;
	uint64_t since_ms, until_ms;
	uint16_t port_lo, port_hi;
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
/* The block records (allocations, releases) of the log in @f, for many
 * questions: *@out to free. 0 or -errno. */
int natlog_load(FILE *f, struct natlog_parsed **out, size_t *n);
/* The same rule as natlog_who, over records natlog_load read. */
void natlog_who_recs(const struct natlog_parsed *r, size_t n, uint32_t paddr, uint16_t port,
		     uint64_t at_ms, struct natlog_who *w);
/* "2026-11-22T21:14:00[Z]", "2026-11-22 21:14:00" (UTC) or "@UNIXSECONDS". */
int parse_time_ms(const char *s, uint64_t *ms);

#define XCGN_DEF_NATLOG "/var/log/xcgn/nat.log"
#define XCGN_DEF_CONFIG "/etc/xcgn/xcgn.conf"

/* The PID of the daemon running for the instance under @dir, or 0. */
uint32_t xcgn_daemon_pid(const char *dir, int dstat_fd);

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

/* ---- cmd_*.c ----------------------------------------------------------- */
int do_link(int argc, char **argv);
int do_pool(int argc, char **argv);
int do_subscriber(int argc, char **argv);
int do_session(int argc, char **argv);
int do_stats(int argc, char **argv);
int do_log(int argc, char **argv);
int do_daemon(int argc, char **argv);
int do_rpf(int argc, char **argv);
int do_config(int argc, char **argv);

/* Argument walking, iproute2 style. */
#define NEXT_ARG()                                                                   \
	do {                                                                         \
		if (argc < 2) {                                                      \
			xcgn_err("\"%s\" needs an argument", *argv);                 \
			return XCGN_EXIT_USAGE;                                      \
		}                                                                    \
		argc--;                                                              \
		argv++;                                                              \
	} while (0)

#endif /* XCGN_USER_H */
