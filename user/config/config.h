/* SPDX-License-Identifier: GPL-2.0 */
/* user/config: the configuration file (xcgn.conf(5)): read, shown, diffed
 * and applied; its cluster section renders BIRD's (cluster.c). */
#ifndef XCGN_CONFIG_H
#define XCGN_CONFIG_H

#include "daemon/daemon.h"

/* ---- config.c: the configuration file (xcgn.conf(5)) --------------------- */
struct cfg_pool {
	struct pool_opts o;
	int line;
};
struct cfg_forward {
	struct forward f;
	int line;
};
struct cfg_bypass {
	uint32_t prefix;	/* network order */
	uint8_t plen;
	int line;
};
/* A configuration's cluster section (cluster.c). */
#define CLUSTER_PEERS_MAX 16
#define CLUSTER_TABLE_DEF 100
enum cluster_role { CLUSTER_UPSTREAM, CLUSTER_ACCESS };
struct cluster_peer {
	uint32_t addr;		/* network order */
	uint32_t asn;
	uint8_t role;		/* enum cluster_role */
	int line;
};
struct cluster_cfg {
	uint32_t node;		/* 0: no cluster section */
	int node_line;
	uint32_t asn, router_id, table;
	struct cluster_peer peer[CLUSTER_PEERS_MAX];
	size_t npeers;
	bool bfd;		/* on by default */
	uint32_t bfd_ms, bfd_mult;
};
struct xcgn_config;
/* One `cluster ...` statement (argv[0] is "cluster"): 0 or an exit status
 * with the reason said. */
int cluster_statement(struct xcgn_config *c, int argc, char **argv, int line);
/* The section against the rest of the file (the link's route-table
 * follows the node's table): the number of errors, each said. */
int cluster_validate(struct xcgn_config *c, char *where, size_t wlen);
/* The BIRD 2 configuration the section declares, to @f: an exit status
 * (an error said when the file has no cluster section). */
int cluster_bird_config(FILE *f, const struct xcgn_config *c);
/* The section in the file's form (config show). */
void cluster_print(FILE *f, const struct cluster_cfg *k);

struct xcgn_config {
	char name[256];		/* the file, for messages */
	struct cluster_cfg cluster;
	bool has_link, has_daemon;
	int link_line, daemon_line;
	struct attach_opts link;	/* inside, outside point at the names below */
	char inside[16], outside[16];
	struct cfg_pool pools[XCGN_POOLS_MAX];
	size_t npools;
	struct cfg_bypass *bypass;
	size_t nbypass, bypcap;
	struct cfg_forward *fwd;
	size_t nfwd, fwdcap;
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
/* The daemon and cluster statements of a daemon with options @o started
 * from @c (its cluster; @c zeroed: none), as the daemon publishes them: the
 * daemon line in its canonical form, the node left to the cluster
 * statement that gave it. malloc'd, or NULL with errno set. */
char *config_daemon_text(const struct xcgn_config *c, const struct daemon_opts *o);
/* The daemon options @c's daemon line gives (over the defaults and the
 * cluster's node): 0, or an exit status (said). */
int config_daemon_opts(const struct xcgn_config *c, struct daemon_opts *o);
/* The running instance as a configuration (no daemon statement). */
int config_running(const struct xcgn_maps *m, struct xcgn_config *c);
enum cstep_kind {
	CS_ATTACH,
	CS_LINK_SET,
	CS_POOL_SET,
	CS_BYPASS_DEL,
	CS_POOL_DEL,
	CS_POOL_ADD,
	CS_BYPASS_ADD,
	CS_FORWARD_DEL,
	CS_FORWARD_ADD,
};
extern const char *const cstep_name[];
struct cstep {
	enum cstep_kind kind;
	const struct pool_opts *from, *to;	/* pools: as running, as wanted */
	uint32_t prefix;			/* bypass */
	uint8_t plen;
	const struct forward *fwd;		/* forward */
};
struct config_plan {
	struct cstep *v;
	size_t n, cap;
	bool restart;		/* the link changes: detach, then all from nothing */
	char why[200];		/* what makes the restart needed */
};
/* The steps from @run (NULL: not attached) to @want, in the order they
 * are safe to take: link modes, pool changes in place, forward removals,
 * bypass removals, pool removals, pool additions, bypass additions,
 * forward additions. Pure. 0 or -ENOMEM. */
int config_diff(const struct xcgn_config *run, const struct xcgn_config *want,
		struct config_plan *p);
void config_plan_free(struct config_plan *p);
/* Bring this namespace's instance to @want, all or nothing; a change of
 * devices or table sizes only with @restart_ok. The caller holds the
 * configuration lock. An exit status. */
int config_apply_locked(const struct xcgn_config *want, bool restart_ok);
/* As config_apply_locked; with @dry_run, the plan printed there, one
 * command a line in the CLI's words, and nothing changed. */
int config_apply_plan_locked(const struct xcgn_config *want, bool restart_ok, FILE *dry_run);

#define XCGN_DEF_CONFIG "/etc/xcgn/xcgn.conf"

#endif /* XCGN_CONFIG_H */
