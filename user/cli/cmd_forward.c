// SPDX-License-Identifier: GPL-2.0
/* xcgn forward { add | del | show | help }: static port forwarding. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static int usage(void)
{
	fprintf(usage_fp(),
		"Usage: xcgn forward add PUBLIC:PORT to SUBSCRIBER:PORT proto { tcp | udp }\n"
		"       xcgn forward del PUBLIC:PORT proto { tcp | udp }\n"
		"       xcgn forward show\n"
		"       xcgn forward help\n"
		"add sends PUBLIC:PORT on to the subscriber's port, from anyone, for good (a\n"
		"server behind the NAT). PUBLIC must be the subscriber's own public address\n"
		"(paired pooling: the one it has, or any of a pool when it has none yet),\n"
		"and PORT's block becomes the subscriber's if it is free; refused when the\n"
		"block is another subscriber's, the port another mapping's, or the\n"
		"subscriber has max-blocks blocks without it. It is logged like a block\n"
		"(alloc) and as a mapping (pcp_map, via forward), outlives reloads, and\n"
		"ends with del (or a detach). Adding the same forward again changes\n"
		"nothing. A configuration file declares forwards with `forward`\n"
		"statements (xcgn.conf(5)).\n");
	return usage_status();
}

static int do_forward_add(struct cmd *cmd, int argc, char **argv)
{
	const struct xcgn_maps *m;
	struct forward f;
	int ret = forward_parse(argc, argv, &f, true);

	if (ret)
		return ret;
	if (!(m = cmd_maps(cmd)))
		return XCGN_EXIT_ERR;
	return forward_add(m, &f) ? XCGN_EXIT_ERR : XCGN_EXIT_OK;
}

static int do_forward_del(struct cmd *cmd, int argc, char **argv)
{
	const struct xcgn_maps *m;
	struct forward f;
	int ret = forward_parse(argc, argv, &f, false);

	if (ret)
		return ret;
	if (!(m = cmd_maps(cmd)))
		return XCGN_EXIT_ERR;
	return forward_del(m, &f, xcgn_daemon_serves(m)) ? XCGN_EXIT_ERR : XCGN_EXIT_OK;
}

static int do_forward_show(struct cmd *cmd, int argc __unused, char **argv __unused)
{
	const struct xcgn_maps *m;
	struct forward *f;
	size_t n, i;

	if (!(m = cmd_maps(cmd)))
		return XCGN_EXIT_ERR;
	if (forward_list(m, &f, &n)) {
		xcgn_err("out of memory");
		free(f);
		return XCGN_EXIT_ERR;
	}
	print_open_array(NULL);
	for (i = 0; i < n; i++) {
		print_open_object(NULL);
		print_ipv4(PRINT_ANY, "public", "%s", f[i].paddr);
		print_u64(PRINT_ANY, "public_port", ":%llu", f[i].pport);
		print_ipv4(PRINT_ANY, "subscriber", " to %s", f[i].sub);
		print_u64(PRINT_ANY, "port", ":%llu", f[i].port);
		print_string(PRINT_ANY, "proto", " proto %s", xcgn_proto_name(f[i].proto));
		print_nl();
		print_close_object();
	}
	print_close_array();
	free(f);
	return XCGN_EXIT_OK;
}

const struct xcgn_object xcgn_obj_forward = {
	.name = "forward",
	.usage = usage,
	.def_verb = "show",
	.cmds = (const struct xcgn_cmd[]){
		{ "add", do_forward_add, CMD_LOCK },
		{ "del", do_forward_del, CMD_LOCK },
		{ "show", do_forward_show, CMD_NOARGS },
		{ NULL, NULL, 0 },
	},
};
