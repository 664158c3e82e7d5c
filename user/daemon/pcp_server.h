/* SPDX-License-Identifier: GPL-2.0 */
/* The daemon's PCP and NAT-PMP server (pcp_server.c). */
#ifndef XCGN_PCP_SERVER_H
#define XCGN_PCP_SERVER_H

#include "daemon/daemon.h"
#include "net/pcp.h"

#define PCP_COUNT_SLOTS	(2 * XCGN_PCP_MAX)	/* subscribers holding PCP mappings */
#define PCP_RATE_SLOTS	4096			/* subscribers rate-limited at once */

struct pcp_rate {
	__be32 addr;
	uint64_t credit_ns;	/* requests worth, in ns of the rate */
	uint64_t last_ns;
};


struct pcp_server {
	int fd;			/* UDP 5351 on the inside device; -1: off */
	int prog;		/* the running datapath's xcgn_pcp_ctl */
	const struct xcgn_maps *m;
	struct xcgn_gc *gc;	/* the reverse-path check (xcgn_rpf_explain) */
	struct pcp_config cfg;
	struct xcgn_link_info li;
	/* the NAT log's pcp_map and pcp_end records */
	void (*record)(void *ctx, const struct natlog_rec *r);
	void *record_ctx;
	struct pcp_stats st;
	struct {
		__be32 addr;
		uint32_t n;
	} cnt[PCP_COUNT_SLOTS];
	struct pcp_rate rl[PCP_RATE_SLOTS];
	/* Subscribers a request made (it had no entry) that carry no traffic
	 * of their own yet, "quiet": what they hold counts against pcp-share
	 * and their holds are short (their pool's UDP timer), so that
	 * requests from spoofed addresses cannot hold what traffic from them
	 * could not. Rebuilt by every sweep (with the quiet subscribers that
	 * hold mappings: a restarted daemon finds them again). */
	__be32 *quiet;
	size_t nquiet, capquiet;
	/* Every hold's key, sorted by subscriber at each sweep (and those made
	 * since appended): a delete-all costs what its subscriber holds, not
	 * a walk of the table. */
	struct xcgn_tuple4 *held_keys;
	size_t nheld, capheld, nheld_sorted;
	uint64_t quiet_blocks;	/* the blocks they hold */
	uint64_t pool_blocks;	/* every active pool's, at the last sweep */
	uint32_t udp_min_s;	/* the shortest UDP timer of the pools */
};

/* The program and the instance's facts; a first sweep. 0 or -errno. */
int pcp_server_init(struct pcp_server *s, const struct xcgn_maps *m, struct xcgn_gc *gc);
/* Listen and announce (`pcp`); @s->cfg set before. 0 or -errno. */
int pcp_server_listen(struct pcp_server *s);
/* Did @addr send a request in the last @secs seconds? */
bool pcp_server_asked(const struct pcp_server *s, __be32 addr, uint32_t secs);
void pcp_server_run(struct pcp_server *s);	/* the socket is readable */
void pcp_server_sweep(struct pcp_server *s);	/* each second */
void pcp_server_announce(struct pcp_server *s);
void pcp_server_close(struct pcp_server *s);

/* pcp_limits.c: what a subscriber may hold and ask. */
uint32_t pcp_slot_of(__be32 a, uint32_t n);
/* Its count of mappings (a slot made when @add), or NULL. */
uint32_t *pcp_count_of(struct pcp_server *s, __be32 sub, bool add);
/* Within its request rate at @now (ns)? */
bool pcp_rate_ok(struct pcp_server *s, __be32 src, uint64_t now);
/* Made by a request, no traffic of its own yet? */
bool pcp_sub_quiet(struct pcp_server *s, __be32 addr, const struct xcgn_sub *sub);
/* The longest hold a quiet subscriber gets: its pool's UDP timer. */
uint32_t pcp_quiet_lifetime(struct pcp_server *s, const struct xcgn_sub *sub);
/* The quiet subscribers' blocks below pcp-share of the pools'? */
bool pcp_share_left(struct pcp_server *s);
void pcp_quiet_add(struct pcp_server *s, __be32 addr);
/* The quiet list rebuilt from the tables (each sweep). */
void pcp_quiet_sweep(struct pcp_server *s);
#endif
