/* SPDX-License-Identifier: GPL-2.0 */
/* user/cli: the command line: main.c dispatches to one cmd_<object>.c per
 * object through the tables below. */
#ifndef XCGN_CLI_H
#define XCGN_CLI_H

#include "config/config.h"

/* ---- the command framework: main.c dispatches --------------------------- */
#define CMD_NOARGS	0x1	/* takes no argument: an extra one is a usage error */
#define CMD_OPEN	0x2	/* needs no capability (touches no pinned state) */
#define CMD_LOCK	0x4	/* runs under the configuration lock, taken before
				 * its maps are opened */

/* What the dispatcher holds for the verb running: the lock and the maps,
 * taken when the verb first asks (after it has read its arguments: a
 * usage error comes before any state), released when it returns. */
struct cmd {
	const char *object, *verb;
	unsigned int flags;
	int lock;		/* -1: not held */
	bool maps_open;
	struct xcgn_maps m;
};
/* The instance's pinned maps (under the lock first, for a CMD_LOCK verb):
 * NULL with the reason said. */
const struct xcgn_maps *cmd_maps(struct cmd *c);
/* Take the configuration lock now: 0, or -errno with the reason said. */
int cmd_lock(struct cmd *c);
/* Drop the lock before the verb returns (the daemon, which runs on). */
void cmd_unlock(struct cmd *c);

/* One verb of an object, and what it needs. @fn gets the arguments after
 * the verb, and returns 0, an exit status, or -errno (exit status 1; the
 * reason said). */
typedef int (*cmd_fn)(struct cmd *c, int argc, char **argv);
struct xcgn_cmd {
	const char *verb;
	cmd_fn fn;
	unsigned int flags;
};
/* An object: its usage text (on stdout with status 0 for `help`), its
 * verbs (ending with a NULL verb), the verb a bare object means; or,
 * without verbs, @fn taking the options itself (daemon). */
struct xcgn_object {
	const char *name;
	int (*usage)(void);
	const struct xcgn_cmd *cmds;
	cmd_fn fn;
	const char *def_verb;
};
extern const struct xcgn_object xcgn_obj_link, xcgn_obj_pool, xcgn_obj_subscriber,
	xcgn_obj_session, xcgn_obj_stats, xcgn_obj_log, xcgn_obj_rpf, xcgn_obj_config,
	xcgn_obj_daemon, xcgn_obj_monitor, xcgn_obj_cluster, xcgn_obj_forward;

/* session flush [FILTER] (subscriber flush is one). */
int session_flush(struct cmd *cmd, int argc, char **argv);

#endif /* XCGN_CLI_H */
