/* SPDX-License-Identifier: GPL-2.0 */
/* user/cli: the command line: main.c dispatches to one cmd_<object>.c per
 * object through the tables below. */
#ifndef XCGN_CLI_H
#define XCGN_CLI_H

#include "config/config.h"

/* ---- the command framework: main.c dispatches --------------------------- */
#define CMD_NOARGS	0x1	/* takes no argument: an extra one is a usage error */
#define CMD_OPEN	0x2	/* needs no capability (touches no pinned state) */
/* One verb of an object, and what it needs. @fn gets the arguments after
 * the verb. */
struct xcgn_cmd {
	const char *verb;
	int (*fn)(int argc, char **argv);
	unsigned int flags;
};
/* An object: its usage text (on stdout with status 0 for `help`), its
 * verbs (ending with a NULL verb), the verb a bare object means; or,
 * without verbs, @fn taking the options itself (daemon). */
struct xcgn_object {
	const char *name;
	int (*usage)(void);
	const struct xcgn_cmd *cmds;
	int (*fn)(int argc, char **argv);
	const char *def_verb;
};
extern const struct xcgn_object xcgn_obj_link, xcgn_obj_pool, xcgn_obj_subscriber,
	xcgn_obj_session, xcgn_obj_stats, xcgn_obj_log, xcgn_obj_rpf, xcgn_obj_config,
	xcgn_obj_daemon, xcgn_obj_monitor, xcgn_obj_cluster;



/* session flush [FILTER] (subscriber flush is one). */
int session_flush(int argc, char **argv);

#endif /* XCGN_CLI_H */
