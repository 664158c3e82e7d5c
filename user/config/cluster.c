// SPDX-License-Identifier: GPL-2.0
/* A node of a cluster: the configuration file's cluster section, and the
 * BIRD 2 configuration it generates (xcgn cluster bird-config), so that the
 * node's routing never disagrees with its NAT.
 *
 *   cluster node ID as ASN [router-id ADDR] [table N]
 *   cluster peer ADDR as ASN { upstream | access }
 *   cluster bfd { interval MS multiplier N | off }
 *
 * What a node announces is what xcgn keeps in its route table while the
 * datapath is attached (announce.c): the pools to the upstream peers, the
 * default route to the access peers. BIRD learns both from the kernel, so
 * a detach, or the node going away, withdraws them; the daemon dying does
 * not. No protocol of our own: BGP, BFD and the kernel's routes. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "config/config.h"

static const char *const role_name[] = { [CLUSTER_UPSTREAM] = "upstream",
					 [CLUSTER_ACCESS] = "access" };

/* An AS number: 1 to 4294967294 (0 and 65535/4294967295 are reserved). */
static int arg_asn(const char *s, uint32_t *asn)
{
	if (parse_u32(s, 1, UINT32_MAX - 1, asn) || *asn == 23456 || *asn == 65535)
		return invarg("AS number (1 to 4294967294, not 23456 or 65535)", s);
	return 0;
}

static int node_statement(struct cluster_cfg *k, int argc, char **argv)
{
	if (argc < 1 || arg_u32("node", *argv, 1, XCGN_NODE_MAX, &k->node))
		return argc < 1 ? invarg("cluster node", "") : XCGN_EXIT_USAGE;
	for (argc--, argv++; argc > 0; argc--, argv++) {
		if (!strcmp(*argv, "as")) {
			NEXT_ARG();
			if (arg_asn(*argv, &k->asn))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "router-id")) {
			NEXT_ARG();
			if (parse_ipv4(*argv, &k->router_id) || !k->router_id)
				return invarg("router-id (an IPv4 address)", *argv);
		} else if (!strcmp(*argv, "table")) {
			NEXT_ARG();
			if (arg_u32("table", *argv, 1, UINT32_MAX, &k->table))
				return XCGN_EXIT_USAGE;
			if (k->table >= 253 && k->table <= 255)
				return invarg("table (253-255 are the kernel's)", *argv);
		} else {
			xcgn_err("unknown argument \"%s\" to cluster node", *argv);
			return XCGN_EXIT_USAGE;
		}
	}
	if (!k->asn) {
		xcgn_err("cluster node needs its AS number (as ASN)");
		return XCGN_EXIT_USAGE;
	}
	return 0;
}

static int peer_statement(struct cluster_cfg *k, int argc, char **argv, int line)
{
	struct cluster_peer *p;
	bool have_role = false;

	if (k->npeers == CLUSTER_PEERS_MAX) {
		xcgn_err("more than %d cluster peers", CLUSTER_PEERS_MAX);
		return XCGN_EXIT_USAGE;
	}
	p = &k->peer[k->npeers];
	memset(p, 0, sizeof(*p));
	if (argc < 1 || parse_ipv4(*argv, &p->addr) || !p->addr)
		return invarg("cluster peer address", argc < 1 ? "" : *argv);
	for (argc--, argv++; argc > 0; argc--, argv++) {
		if (!strcmp(*argv, "as")) {
			NEXT_ARG();
			if (arg_asn(*argv, &p->asn))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "upstream") || !strcmp(*argv, "access")) {
			p->role = **argv == 'u' ? CLUSTER_UPSTREAM : CLUSTER_ACCESS;
			have_role = true;
		} else {
			xcgn_err("unknown argument \"%s\" to cluster peer", *argv);
			return XCGN_EXIT_USAGE;
		}
	}
	if (!p->asn || !have_role) {
		xcgn_err("cluster peer needs as ASN and upstream or access");
		return XCGN_EXIT_USAGE;
	}
	p->line = line;
	k->npeers++;
	return 0;
}

static int bfd_statement(struct cluster_cfg *k, int argc, char **argv)
{
	if (argc == 1 && !strcmp(*argv, "off")) {
		k->bfd = false;
		return 0;
	}
	k->bfd = true;
	for (; argc > 0; argc--, argv++) {
		if (!strcmp(*argv, "interval")) {
			NEXT_ARG();
			if (arg_u32("bfd interval (ms)", *argv, 10, 10000, &k->bfd_ms))
				return XCGN_EXIT_USAGE;
		} else if (!strcmp(*argv, "multiplier")) {
			NEXT_ARG();
			if (arg_u32("bfd multiplier", *argv, 2, 255, &k->bfd_mult))
				return XCGN_EXIT_USAGE;
		} else {
			xcgn_err("unknown argument \"%s\" to cluster bfd", *argv);
			return XCGN_EXIT_USAGE;
		}
	}
	return 0;
}

int cluster_statement(struct xcgn_config *c, int argc, char **argv, int line)
{
	struct cluster_cfg *k = &c->cluster;

	if (!k->table) {	/* the defaults, at the first cluster statement */
		k->table = CLUSTER_TABLE_DEF;
		k->bfd = true;
		k->bfd_ms = 100;
		k->bfd_mult = 3;
	}
	if (argc < 2) {
		xcgn_err("cluster needs node, peer or bfd");
		return XCGN_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "node")) {
		if (k->node_line) {
			xcgn_err("a second cluster node statement (the first is on line %d)",
				 k->node_line);
			return XCGN_EXIT_USAGE;
		}
		k->node_line = line;
		return node_statement(k, argc - 2, argv + 2);
	}
	if (!strcmp(argv[1], "peer"))
		return peer_statement(k, argc - 2, argv + 2, line);
	if (!strcmp(argv[1], "bfd"))
		return bfd_statement(k, argc - 2, argv + 2);
	xcgn_err("unknown cluster statement \"%s\" (node, peer or bfd)", argv[1]);
	return XCGN_EXIT_USAGE;
}

int cluster_validate(struct xcgn_config *c, char *where, size_t wlen)
{
	struct cluster_cfg *k = &c->cluster;
	char a[16];
	size_t i, j;
	int errors = 0, up = 0;

	if (!k->table)
		return 0;	/* no cluster section */
	snprintf(where, wlen, "%s:%d", c->name, k->node_line ? k->node_line : c->link_line);
	if (!k->node_line) {
		xcgn_err("cluster statements without a cluster node statement");
		return 1;
	}
	if (c->link.route_table && c->link.route_table != k->table) {
		xcgn_err("the link's route-table %u is not the cluster node's table %u",
			 c->link.route_table, k->table);
		errors++;
	}
	c->link.route_table = k->table;	/* the node's routes are the link's */
	for (i = 0; i < k->npeers; i++) {
		snprintf(where, wlen, "%s:%d", c->name, k->peer[i].line);
		up += k->peer[i].role == CLUSTER_UPSTREAM;
		for (j = 0; j < i; j++)
			if (k->peer[j].addr == k->peer[i].addr) {
				xcgn_err("cluster peer %s is already on line %d",
					 ipv4_str(k->peer[i].addr, a, sizeof(a)), k->peer[j].line);
				errors++;
			}
	}
	if (!up) {
		snprintf(where, wlen, "%s:%d", c->name, k->node_line);
		xcgn_err("a cluster node needs an upstream peer: nobody would hear of its pools");
		errors++;
	}
	return errors;
}

void cluster_print(FILE *f, const struct cluster_cfg *k)
{
	char a[16];
	size_t i;

	if (!k->node)
		return;
	fprintf(f, "cluster node %u as %u", k->node, k->asn);
	if (k->router_id)
		fprintf(f, " router-id %s", ipv4_str(k->router_id, a, sizeof(a)));
	fprintf(f, " table %u\n", k->table);
	for (i = 0; i < k->npeers; i++)
		fprintf(f, "cluster peer %s as %u %s\n", ipv4_str(k->peer[i].addr, a, sizeof(a)),
			k->peer[i].asn, role_name[k->peer[i].role]);
	if (k->bfd)
		fprintf(f, "cluster bfd interval %u multiplier %u\n", k->bfd_ms, k->bfd_mult);
	else
		fputs("cluster bfd off\n", f);
}

/* ---- the BIRD configuration -------------------------------------------- */

/* BGP toward one peer: fast to notice a loss (BFD, else a 3 s hold time)
 * and fast to come back (BIRD's default waits are minutes). The upstream
 * hears the pools, the access side the default route; nothing is taken
 * from either: the node forwards by its own static routes. */
static void bird_peer(FILE *f, const struct cluster_cfg *k, const struct cluster_peer *p, int n)
{
	char a[16];

	fprintf(f,
		"protocol bgp %s%d {\n"
		"\tlocal as %u;\n"
		"\tneighbor %s as %u;\n"
		"\tbfd %s;\n"
		"\thold time 3;\n"
		"\tkeepalive time 1;\n"
		"\tconnect delay time 1;\n"
		"\tconnect retry time 2;\n"
		"\terror wait time 1, 4;\n"
		"\tipv4 {\n"
		"\t\ttable xcgn;\n"
		"\t\timport none;\n"
		"\t\texport where net %s 0.0.0.0/0;\n"
		"\t\tnext hop self;\n"
		"\t};\n"
		"}\n\n",
		role_name[p->role], n, k->asn, ipv4_str(p->addr, a, sizeof(a)), p->asn,
		k->bfd ? "on" : "off", p->role == CLUSTER_UPSTREAM ? "!=" : "=");
}

int cluster_bird_config(FILE *f, const struct xcgn_config *c)
{
	const struct cluster_cfg *k = &c->cluster;
	char a[16];
	size_t i;
	int n[2] = { 0, 0 };

	if (!k->node) {
		xcgn_err("%s has no cluster section (cluster node ID as ASN ...)", c->name);
		return XCGN_EXIT_ERR;
	}
	fprintf(f,
		"# BIRD 2 configuration of xcgn cluster node %u, made by\n"
		"# `xcgn cluster bird-config %s`: change that file, not this one.\n\n",
		k->node, c->name);
	if (k->router_id)
		fprintf(f, "router id %s;\n", ipv4_str(k->router_id, a, sizeof(a)));
	fprintf(f,
		"ipv4 table xcgn;\n\n"
		"protocol device {\n"
		"\tscan time 10;\n"
		"}\n\n"
		"# What this node offers, as xcgn keeps it in kernel table %u while its\n"
		"# datapath is attached: a blackhole route per pool, and the default route.\n"
		"protocol kernel xcgn_routes {\n"
		"\tkernel table %u;\n"
		"\tlearn;\n"
		"\tscan time 1;\n"
		"\tipv4 {\n"
		"\t\ttable xcgn;\n"
		"\t\timport all;\n"
		"\t\texport none;\n"
		"\t};\n"
		"}\n\n",
		k->table, k->table);
	if (k->bfd)
		fprintf(f,
			"protocol bfd {\n"
			"\tinterface \"*\" {\n"
			"\t\tmin rx interval %u ms;\n"
			"\t\tmin tx interval %u ms;\n"
			"\t\tmultiplier %u;\n"
			"\t};\n"
			"}\n\n",
			k->bfd_ms, k->bfd_ms, k->bfd_mult);
	for (i = 0; i < k->npeers; i++)
		bird_peer(f, k, &k->peer[i], ++n[k->peer[i].role]);
	return fflush(f) ? XCGN_EXIT_ERR : XCGN_EXIT_OK;
}
