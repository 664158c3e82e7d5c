// SPDX-License-Identifier: GPL-2.0
/* xcgn cluster: the BIRD configuration of a node (config/cluster.c). */
#include "cli/cli.h"

static int usage(void)
{
	fprintf(usage_fp(),
		"Usage: xcgn cluster bird-config [FILE]\n"
		"       xcgn cluster help\n"
		"bird-config prints the BIRD 2 configuration of the node FILE (default\n"
		"%s) declares in its cluster section (xcgn.conf(5)):\n"
		"  cluster node ID as ASN [router-id ADDR] [table N]\n"
		"  cluster peer ADDR as ASN { upstream | access }\n"
		"  cluster bfd { interval MS multiplier N | off }\n"
		"BIRD learns from kernel table N (default %u; the link's route-table) what\n"
		"xcgn keeps there while attached, and announces the pools to the upstream\n"
		"peers and the default route to the access peers, with BFD (default\n"
		"interval 100 multiplier 3). The NAT log names the node in every record.\n",
		XCGN_DEF_CONFIG, CLUSTER_TABLE_DEF);
	return usage_status();
}

static int do_bird_config(struct cmd *cmd __unused, int argc, char **argv)
{
	struct xcgn_config c;
	int ret;

	if (argc > 1) {
		xcgn_err("unexpected argument \"%s\" to cluster bird-config", argv[1]);
		return XCGN_EXIT_USAGE;
	}
	if (config_load(argc ? argv[0] : XCGN_DEF_CONFIG, &c))
		return XCGN_EXIT_ERR;
	ret = cluster_bird_config(stdout, &c);
	config_free(&c);
	return ret;
}

const struct xcgn_object xcgn_obj_cluster = {
	.name = "cluster",
	.usage = usage,
	.cmds = (const struct xcgn_cmd[]){
		{ "bird-config", do_bird_config, CMD_OPEN },
		{ NULL, NULL, 0 },
	},
};
