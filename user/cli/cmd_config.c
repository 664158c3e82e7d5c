// SPDX-License-Identifier: GPL-2.0
/* xcgn config { check FILE | apply FILE [restart] | show | help } */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "cli/cli.h"

static int usage(void)
{
	fprintf(usage_fp(),
		"Usage: xcgn config check [FILE] [offline]\n"
		"       xcgn config apply [FILE] [restart] [dry-run]\n"
		"       xcgn config diff [FILE] [restart]\n"
		"       xcgn config show\n"
		"       xcgn config help\n"
		"FILE (default %s) declares the instance in the CLI's\n"
		"grammar, one statement a line (xcgn.conf(5)):\n"
		"  link inside DEV outside DEV [the options of xcgn link attach]\n"
		"  pool PREFIX [the options of xcgn pool add]\n"
		"  bypass PREFIX\n"
		"  forward PUBLIC:PORT to SUBSCRIBER:PORT proto { tcp | udp }\n"
		"  daemon [the options of xcgn daemon]\n"
		"check reads the whole file and touches nothing: every error with its line,\n"
		"exit 1 on any; offline leaves out what asks this host (the devices, its own\n"
		"addresses), to check a file for another. It warns of a log-file outside\n"
		"/var/log/xcgn (the unit's sandbox) and of metrics served beyond this host,\n"
		"and prints the capacity: subscribers at 1 block and at max-blocks, the\n"
		"tables, and the kernel memory of the instance running here.\n"
		"apply brings the instance to the file, all or nothing: attach when\n"
		"detached; modes, refusal-icmp and pool keys changed in place; pools and\n"
		"bypass prefixes added and removed. Devices, subscribers and table sizes\n"
		"need a re-attach that drops every session: only with `restart`. diff (or\n"
		"apply dry-run) prints what apply would do, one command a line in the CLI's\n"
		"words, and changes nothing.\n"
		"Applying the same file again changes nothing. The daemon and cluster\n"
		"statements are read by `xcgn daemon config FILE` when the daemon starts:\n"
		"apply says when they differ from the running daemon's (it needs a\n"
		"restart to take them). show prints the running instance in the file's\n"
		"form, the daemon's statements included: `config show > f; config apply f`\n"
		"changes nothing.\n",
		XCGN_DEF_CONFIG);
	return usage_status();
}

static bool on_dev(uint32_t addr __unused, int ifindex, const void *inside)
{
	return ifindex == *(const int *)inside;
}

/* The part of `check` that asks the host: the devices exist, and no
 * address of this host is in a pool or (but the inside device's own) in
 * the subscriber range, unless the statement says force. */
static int host_check(const struct xcgn_config *c)
{
	const char *dev[2] = { c->inside, c->outside };
	struct nl_link nl;
	char a[16], b[16];
	uint32_t addr;
	int i, ifindex, inside = 0, errors = 0;
	size_t k;

	for (i = 0; i < 2; i++) {
		if (nl_link_get(dev[i], 0, &nl)) {
			xcgn_err("%s:%d: %s device \"%s\" does not exist", c->name, c->link_line,
				 i ? "outside" : "inside", dev[i]);
			errors++;
		} else if (!i) {
			inside = nl.ifindex;
		}
	}
	if (!c->link.force && nl_addr_within(c->link.sub_prefix, c->link.sub_plen, on_dev,
					     &inside, &addr, &ifindex) > 0) {
		xcgn_err("%s:%d: subscribers %s/%u hold %s, an address of this host on %s, not "
			 "the inside device: its own traffic would be taken for a subscriber's "
			 "(say force to go ahead)",
			 c->name, c->link_line, ipv4_str(c->link.sub_prefix, a, sizeof(a)),
			 c->link.sub_plen, ipv4_str(addr, b, sizeof(b)),
			 nl_link_get(NULL, ifindex, &nl) ? "?" : nl.name);
		errors++;
	}
	for (k = 0; k < c->npools; k++) {
		char where[300];

		if (c->pools[k].o.force)
			continue;
		snprintf(where, sizeof(where), "%s:%d", c->name, c->pools[k].line);
		xcgn_err_where = where;
		errors += pool_host_addr(&c->pools[k].o) != 0;
		xcgn_err_where = NULL;
	}
	return errors;
}

/* What the daemon line asks that the shipped unit will not give: a log
 * outside its LogsDirectory (ProtectSystem=strict leaves the rest
 * read-only), metrics served beyond this host. Warnings: the count. */
static int daemon_lint(const struct xcgn_config *c)
{
	static const char logs[] = "/var/log/xcgn/";
	struct daemon_opts o;
	int warnings = 0;

	if (!c->has_daemon || config_daemon_opts(c, &o))
		return 0;	/* config_load said what is wrong */
	if (o.log_path && strncmp(o.log_path, logs, sizeof(logs) - 1)) {
		xcgn_logf(LOG_WARNING, "xcgn: %s:%d: warning: log-file %s is outside %s, the only "
				       "log directory xcgn.service may write (ProtectSystem=strict)\n",
			  c->name, c->daemon_line, o.log_path, logs);
		warnings++;
	}
	if (o.metrics && strncmp(o.metrics, "127.", 4)) {
		xcgn_logf(LOG_WARNING, "xcgn: %s:%d: warning: metrics %s is served beyond this "
				       "host, to anyone who reaches it, without authentication: "
				       "bind a loopback address and let the scraper come through "
				       "a proxy or a tunnel\n",
			  c->name, c->daemon_line, o.metrics);
		warnings++;
	}
	return warnings;
}

/* Addresses of @o's prefix that are its (not excluded). */
static uint64_t pool_addrs(const struct pool_opts *o)
{
	uint64_t n = 1ULL << (32 - o->plen);

	for (size_t i = 0; i < o->nexcl; i++)
		n -= 1ULL << (32 - o->excl[i].plen);
	return n;
}

/* The running instance's kernel memory, when one of this layout runs
 * here: its tables' sizes and what the kernel charges them. */
static void capacity_memory(void)
{
	struct xcgn_link_info li;
	struct xcgn_maps m;
	char dir[256];

	xcgn_maps_none(&m);
	if (xcgn_pin_dir(dir, sizeof(dir)) || !xcgn_attached_here(dir) || xcgn_maps_open(&m) ||
	    xcgn_link_read(&m, &li)) {
		printf("  kernel memory: measured beside a running instance (none runs here)\n");
		xcgn_maps_close(&m);
		return;
	}
	printf("  kernel memory: %.1f MiB, the tables of the instance running here\n"
	       "    (max-mappings %u, max-subscribers %u)\n",
	       (double)xcgn_maps_memlock(&m) / (1 << 20), li.max_maps, li.max_subs);
	xcgn_maps_close(&m);
}

/* What the file's instance holds: subscribers each pool serves at one
 * block and at max-blocks, the tables, and what they cost. */
static void capacity_print(const struct xcgn_config *c, bool offline)
{
	uint64_t one = 0, most = 0;
	char a[16], b[16];

	printf("capacity of %s:\n", c->name);
	for (size_t i = 0; i < c->npools; i++) {
		const struct pool_opts *o = &c->pools[i].o;
		struct xcgn_pool p;
		char why[160];
		uint64_t addrs = pool_addrs(o), at1, atmax;

		pool_from_opts(o, &p);
		if (pool_plan(&p, why, sizeof(why)))
			continue;	/* config_load said why */
		if (o->deterministic) {
			at1 = atmax = 1ULL << (32 - o->det_plen);
			printf("  pool %s/%u: deterministic, %llu subscribers of %s/%u,\n"
			       "    %u block(s) of %u ports each\n",
			       ipv4_str(o->prefix, a, sizeof(a)), o->plen, (unsigned long long)at1,
			       ipv4_str(o->det_prefix, b, sizeof(b)), o->det_plen, p.max_blocks,
			       p.block_size);
		} else {
			at1 = addrs * p.nblocks;
			atmax = addrs * (p.nblocks / p.max_blocks);
			printf("  pool %s/%u: %llu address(es) x %u blocks of %u ports\n"
			       "    %llu subscribers at 1 block, %llu at max-blocks %u\n",
			       ipv4_str(o->prefix, a, sizeof(a)), o->plen, (unsigned long long)addrs,
			       p.nblocks, p.block_size, (unsigned long long)at1,
			       (unsigned long long)atmax, p.max_blocks);
		}
		one += at1;
		most += atmax;
	}
	printf("  all pools: %llu subscribers at 1 block, %llu at max-blocks\n",
	       (unsigned long long)one, (unsigned long long)most);
	printf("  subscriber table: %u%s\n", c->link.max_subs,
	       one > c->link.max_subs ? " (the limit: raise max-subscribers to serve more)" : "");
	printf("  mapping table: %u, %u a subscriber when %u are active\n",
	       c->link.max_maps, c->link.max_subs ? c->link.max_maps / c->link.max_subs : 0,
	       c->link.max_subs);
	if (!offline)
		capacity_memory();
}

static int do_config_check(struct cmd *cmd __unused, int argc, char **argv)
{
	const char *path = XCGN_DEF_CONFIG;
	bool offline = false, named = false;
	struct xcgn_config c;
	int ret = XCGN_EXIT_OK;

	for (; argc > 0; argc--, argv++) {
		if (!strcmp(*argv, "offline")) {
			offline = true;
		} else if (!named) {
			path = *argv;
			named = true;
		} else {
			xcgn_err("unexpected argument \"%s\" to config check", *argv);
			return XCGN_EXIT_USAGE;
		}
	}
	if (config_load(path, &c) || (!offline && host_check(&c))) {
		ret = XCGN_EXIT_ERR;
	} else {
		/* The warnings apply would raise, and the daemon's. */
		for (size_t i = 0; i < c.npools; i++) {
			struct xcgn_pool p;
			char why[160];

			pool_from_opts(&c.pools[i].o, &p);
			if (!pool_plan(&p, why, sizeof(why)))
				pool_fill_warn(p.prefix, p.plen, p.sub_maps, c.link.max_subs,
					       c.link.max_maps);
		}
		daemon_lint(&c);
		capacity_print(&c, offline);
	}
	config_free(&c);
	return ret;
}

/* @text without its comment lines, in place. */
static char *statements(char *text)
{
	char *out = text, *line = text;

	while (*line) {
		char *end = line + strcspn(line, "\n");
		size_t n = (size_t)(end - line) + (*end == '\n');

		if (*line != '#') {
			memmove(out, line, n);
			out += n;
		}
		line += n;
	}
	*out = '\0';
	return text;
}

/* A daemon takes its options when it starts: after an apply, say so when
 * the file's daemon or cluster statements are not the running daemon's. */
static void daemon_line_check(const struct xcgn_config *c)
{
	char *running = daemon_published_read(), *wanted = NULL;
	struct daemon_opts o;

	if (!running)
		return;	/* no daemon: the file's line is read when one starts */
	if (!config_daemon_opts(c, &o))
		wanted = config_daemon_text(c, &o);
	if (wanted && strcmp(statements(running), wanted))
		xcgn_logf(LOG_NOTICE,
			  "xcgn: the running daemon keeps its own daemon and cluster statements "
			  "until it restarts (systemctl restart xcgn); it runs with\n%s"
			  "and the file says\n%s",
			  running, wanted);
	free(running);
	free(wanted);
}

static int config_apply_cmd(struct cmd *cmd, int argc, char **argv, bool dry_run)
{
	const char *path = XCGN_DEF_CONFIG;
	bool restart = false, named = false;
	struct xcgn_config c;
	int ret;

	for (; argc > 0; argc--, argv++) {
		if (!strcmp(*argv, "restart"))
			restart = true;
		else if (!strcmp(*argv, "dry-run"))
			dry_run = true;
		else if (!named) {
			path = *argv;
			named = true;
		} else {
			xcgn_err("unexpected argument \"%s\" to config apply", *argv);
			return XCGN_EXIT_USAGE;
		}
	}
	if (config_load(path, &c)) {
		config_free(&c);
		return XCGN_EXIT_ERR;
	}
	ret = cmd_lock(cmd) ? XCGN_EXIT_ERR
			    : config_apply_plan_locked(&c, restart, dry_run ? stdout : NULL);
	if (!ret)
		daemon_line_check(&c);
	config_free(&c);
	return ret;
}

static int do_config_apply(struct cmd *cmd, int argc, char **argv)
{
	return config_apply_cmd(cmd, argc, argv, false);
}

/* config diff FILE: config apply FILE dry-run. */
static int do_config_diff(struct cmd *cmd, int argc, char **argv)
{
	return config_apply_cmd(cmd, argc, argv, true);
}

static int do_config_show(struct cmd *cmd, int argc, char **argv)
{
	struct xcgn_config c;
	const struct xcgn_maps *m;
	char dir[256];
	int err;

	if (argc) {
		xcgn_err("unexpected argument \"%s\" to config show", argv[0]);
		return XCGN_EXIT_USAGE;
	}
	if (xcgn_pin_dir(dir, sizeof(dir)))
		return XCGN_EXIT_ERR;
	if (!xcgn_attached_here(dir))
		return XCGN_EXIT_OK;	/* nothing runs: an empty configuration */
	if (!(m = cmd_maps(cmd)))
		return XCGN_EXIT_ERR;
	err = config_running(m, &c);
	if (!err) {
		char *daemon = daemon_published_read();

		config_print(stdout, &c);
		if (daemon)
			fputs(statements(daemon), stdout);
		else
			puts("# no daemon runs for this instance: its daemon and cluster statements "
			     "are not known");
		free(daemon);
	}
	config_free(&c);
	return err ? XCGN_EXIT_ERR : XCGN_EXIT_OK;
}

const struct xcgn_object xcgn_obj_config = {
	.name = "config",
	.usage = usage,
	.def_verb = "show",
	.cmds = (const struct xcgn_cmd[]){
		{ "check", do_config_check, CMD_OPEN },
		{ "apply", do_config_apply, CMD_LOCK },
		{ "diff", do_config_diff, CMD_LOCK },
		{ "show", do_config_show, 0 },
		{ NULL, NULL, 0 },
	},
};
