/* SPDX-License-Identifier: GPL-2.0 */
/* Reverse-path validation, what needs no datapath: the FIB read over
 * rtnetlink and the entries of the datapath's tables built from it
 * (rpf_fib.c), the names and the host lint (rpf_lint.c). The tables kept
 * in step and the explain query are the datapath's (datapath.h). */
#ifndef XCGN_RPF_USER_H
#define XCGN_RPF_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xcgn_abi.h"



/* IPv4 sysctls of a device (or of "all"), as the kernel keeps them. */
struct rpf_conf {
	int forwarding, rp_filter, accept_local, route_localnet, log_martians;
};

struct rpf_route {
	uint32_t table, metric;
	uint32_t prefix;	/* network order */
	uint8_t plen, type, tos, proto;
	uint8_t nnh;
	bool nh_more;		/* more nexthops than XCGN_RPF_NH_MAX */
	bool nh_obj;		/* a nexthop object (RTA_NH_ID): devices unknown */
	uint32_t seq;		/* order in the dump: the kernel's order of
				 * routes with the same prefix and metric */
	uint32_t oif[XCGN_RPF_NH_MAX];
};

struct rpf_link {
	int ifindex;
	char name[16];
	unsigned int flags;	/* IFF_* */
	bool has_addr;		/* at least one IPv4 address */
	struct rpf_conf conf;
};

struct rpf_addr {
	int ifindex;
	uint32_t addr;		/* network order */
	uint8_t plen;
};

struct rpf_fib {
	struct rpf_route *routes;
	size_t nroutes, caproutes;
	struct rpf_link *links;
	size_t nlinks, caplinks;
	struct rpf_addr *addrs;
	size_t naddrs, capaddrs;
	size_t nrules;
	bool custom_rules;	/* rules other than the three every namespace has */
	bool default_table;	/* table default (253) holds routes */
	bool custom_local;	/* local routes not made by the kernel */
	struct rpf_conf all;
};

/* One entry of xcgn_rpf4; @seq is its route's place in the dump. */
struct rpf_entry {
	struct xcgn_rpf_key key;
	struct xcgn_rpf_route val;
	uint32_t seq;
};

int rpf_fib_read(struct rpf_fib *f);
/* Read dump messages (routes, rules, links, addresses, any mix) from @buf
 * into @f, as rpf_fib_read does from the kernel: 0, or -EINVAL for a
 * message it cannot take. The fuzz target's way in. */
int rpf_fib_parse(struct rpf_fib *f, const void *buf, size_t len);
/* What follows from the dumps: custom rules and local routes, a default
 * table in use, devices with addresses. rpf_fib_read() calls it. */
void rpf_fib_derive(struct rpf_fib *f);
void rpf_fib_free(struct rpf_fib *f);
/* A destination alone decides a next hop (see struct rpf_sync_stats). */
bool rpf_fib_simple(const struct rpf_fib *f);
const struct rpf_link *rpf_link_by_index(const struct rpf_fib *f, int ifindex);
const struct rpf_link *rpf_link_by_name(const struct rpf_fib *f, const char *name);
/* The device's effective rp_filter: the larger of "all" and its own. */
int rpf_kernel_mode(const struct rpf_fib *f, const struct rpf_link *l);
/* XCGN_RPFD_* of a device. */
uint16_t rpf_dev_flags(const struct rpf_fib *f, const struct rpf_link *l, bool outside);
/* The entries of xcgn_rpf4 for this FIB, sorted by key. */
int rpf_table_build(const struct rpf_fib *f, struct rpf_entry **out, size_t *n);


/* A netlink subscription to what changes the tables. */
struct rpf_watch;
struct rpf_watch *rpf_watch_open(void);
int rpf_watch_fd(const struct rpf_watch *w);
/* Drain the socket; true when anything arrived (or was lost). */
bool rpf_watch_changed(struct rpf_watch *w);
void rpf_watch_close(struct rpf_watch *w);

extern const char *const xcgn_rpf_mode_name[XCGN_RPF_MODE_MAX];
extern const char *const xcgn_rpf_why_name[XCGN_RPFW_MAX];
const char *rpf_why_text(enum xcgn_rpf_why w);
int rpf_mode_parse(const char *s);
const char *rpf_rtn_name(uint8_t type);
const char *rpf_table_name(uint32_t table);

/* The lint: what on this host will make xcgn or the kernel drop what
 * should pass (or pass what should not), with the command that fixes it. */
enum rpf_severity { RPF_INFO, RPF_WARN, RPF_ERROR };
struct rpf_finding {
	enum rpf_severity severity;
	char code[32];		/* stable identifier, for scripts */
	char dev[16];		/* "" when not about one device */
	char what[320];		/* what is wrong and what will go wrong */
	char fix[200];		/* a command that fixes it, "" when none */
};
struct rpf_lint_cfg {
	int inside, outside;		/* ifindex */
	uint32_t sub_prefix;		/* network order */
	uint8_t sub_plen;
	uint8_t mode_in, mode_out;	/* xcgn's, enum xcgn_rpf_mode */
	const struct xcgn_pool *pools;
	size_t npools;
};
/* Fill up to @max findings; returns how many there are. */
size_t rpf_lint(const struct rpf_fib *f, const struct rpf_lint_cfg *c, struct rpf_finding *out,
		size_t max);
/* Print findings (text or JSON array); returns the number of errors. */
size_t rpf_lint_print(const struct rpf_finding *fs, size_t n, bool to_stderr);
/* Read this host's FIB, lint it and print the findings: the number of
 * errors, or -1 (printed) when the FIB cannot be read. */
long rpf_lint_host(const struct rpf_lint_cfg *c, bool to_stderr);

#endif /* XCGN_RPF_USER_H */
