// SPDX-License-Identifier: GPL-2.0
/* xcgn stats { show | reset | help } */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli/cli.h"

static int usage(void)
{
	fprintf(usage_fp(), "Usage: xcgn stats show [interval S]\n"
			    "       xcgn stats metrics\n"
			    "       xcgn stats reset\n"
			    "       xcgn stats describe\n"
			    "       xcgn stats help\n"
			    "metrics prints the Prometheus text exposition (as `xcgn daemon metrics\n"
			    "ADDR:PORT` serves it, without the daemon's own figures): for a\n"
			    "textfile collector. show gives each table's entries against its\n"
			    "capacity beside the counters; with interval S, each counter's rate\n"
			    "over S seconds too (as `ip -s` does). describe says what each counter\n"
			    "and each drop reason counts.\n");
	return usage_status();
}


/* Subscribers in the table (a walk of at most max-subscribers keys). */
static uint64_t count_subs(int fd)
{
	__be32 key, *prev = NULL;
	uint64_t n = 0;

	while (!bpf_map_get_next_key(fd, prev, &key)) {
		prev = &key;
		n++;
	}
	return n;
}

/* A counter, and its rate over the interval when one was asked for (in
 * JSON, NAME_per_s, rounded to a whole number). */
static void counter(const char *name, int w, uint64_t v, uint64_t before, uint32_t secs)
{
	char fmt[64], key[64];
	double rate;

	snprintf(fmt, sizeof(fmt), "  %-*s %%llu", w, name);
	print_u64(PRINT_ANY, name, fmt, v);
	if (secs) {
		rate = (double)(v - before) / secs;
		snprintf(key, sizeof(key), "%s_per_s", name);
		print_text("  %.1f/s", rate);
		print_u64(PRINT_JSON, key, NULL, (uint64_t)(rate + 0.5));
	}
	print_text("\n");
}

/* Gauges beside the counters: each table against its capacity. */
static void stats_tables_print(const struct table_use *t, int w)
{
	char fmt[64];
	int i;

	print_open_object("tables");
	print_text("tables:\n");
	for (i = 0; i < XCGN_TABLES; i++) {
		print_open_object(t[i].name);
		snprintf(fmt, sizeof(fmt), "  %-*s ", w, t[i].name);
		print_text("%s", fmt);
		if (t[i].used >= 0) {
			print_u64(PRINT_ANY, "used", "%llu", (uint64_t)t[i].used);
			print_u64(PRINT_ANY, "capacity", " of %llu", t[i].capacity);
			print_text(" (%.1f%%)", t[i].capacity ? 100.0 * (double)t[i].used /
								 t[i].capacity : 0.0);
		} else {
			print_u64(PRINT_ANY, "capacity", "capacity %llu", t[i].capacity);
		}
		print_text("\n");
		print_close_object();
	}
	print_close_object();
}

/* What the daemon (the last one to run) did with the NAT log. */
static void stats_natlog_print(const struct xcgn_dstat *ds, int w)
{
	const char *const name[] = { "written", "recovered", "lost", "queued", "write_errors" };
	const uint64_t val[] = { ds->written, ds->recovered, ds->lost, ds->queued,
				 ds->write_errors };
	char fmt[64];

	print_open_object("natlog");
	print_text("NAT log (daemon):\n");
	for (size_t i = 0; i < ARRAY_SIZE(name); i++) {
		snprintf(fmt, sizeof(fmt), "  %-*s %%llu\n", w, name[i]);
		print_u64(PRINT_ANY, name[i], fmt, val[i]);
	}
	print_close_object();
}

static int do_stats_show(struct cmd *cmd, int argc, char **argv)
{
	struct xcgn_stats s = {}, s0 = {};
	struct table_use t[XCGN_TABLES];
	struct xcgn_dstat ds = {};
	struct xcgn_link_info li;
	const struct xcgn_maps *m;
	uint64_t total = 0, nsubs;
	uint32_t interval = 0;
	char fmt[64];
	__u32 zero = 0;
	int i, err, w = 12;

	for (; argc > 0; argc--, argv++) {
		if (!strcmp(*argv, "interval")) {
			NEXT_ARG();
			if (arg_u32("interval (seconds)", *argv, 1, 3600, &interval))
				return XCGN_EXIT_USAGE;
		} else {
			xcgn_err("unknown argument \"%s\" to stats show; try \"xcgn stats help\"",
				 *argv);
			return XCGN_EXIT_USAGE;
		}
	}
	if (!(m = cmd_maps(cmd)))
		return XCGN_EXIT_ERR;
	err = xcgn_stats_read(m->stats, interval ? &s0 : &s);
	if (!err && interval) {
		sleep(interval);
		err = xcgn_stats_read(m->stats, &s);
	}
	if (!err)
		err = xcgn_link_read(m, &li);
	if (bpf_map_lookup_elem(m->dstat, &zero, &ds))
		memset(&ds, 0, sizeof(ds));
	if (!err) {
		nsubs = count_subs(m->subs);
		xcgn_tables(m, &li, NULL, nsubs, t);
	}
	if (err) {
		xcgn_err("read counters: %s", strerror(-err));
		return XCGN_EXIT_ERR;
	}
	/* One column for the values, past the longest name. */
	for (i = 0; i < XCGN_STAT_MAX; i++)
		if (xcgn_stat_name[i] && (int)strlen(xcgn_stat_name[i]) > w)
			w = (int)strlen(xcgn_stat_name[i]);
	for (i = 1; i < XCGN_DROP_MAX; i++)
		if (xcgn_drop_name[i] && (int)strlen(xcgn_drop_name[i]) > w)
			w = (int)strlen(xcgn_drop_name[i]);
	print_open_object(NULL);
	print_open_object("counters");
	print_text("counters:\n");
	for (i = 0; i < XCGN_STAT_MAX; i++)
		counter(xcgn_stat_name[i], w, s.stat[i], s0.stat[i], interval);
	print_close_object();
	print_open_object("drops");
	print_text("drops:\n");
	for (i = 1; i < XCGN_DROP_MAX; i++) {
		counter(xcgn_drop_name[i], w, s.drop[i], s0.drop[i], interval);
		total += s.drop[i];
	}
	print_close_object();
	snprintf(fmt, sizeof(fmt), "  %-*s %%llu\n", w, "total");
	print_u64(PRINT_ANY, "drops_total", fmt, total);
	stats_tables_print(t, w);
	stats_natlog_print(&ds, w);
	print_close_object();
	return XCGN_EXIT_OK;
}

static int do_stats_reset(struct cmd *cmd, int argc __unused, char **argv __unused)
{
	int ncpu = libbpf_num_possible_cpus(), err = 0;
	struct xcgn_stats *v;
	const struct xcgn_maps *m;
	__u32 zero = 0;

	if (ncpu <= 0) {
		xcgn_err("count CPUs: %s", strerror(-ncpu));
		return XCGN_EXIT_ERR;
	}
	if (!(m = cmd_maps(cmd)))
		return XCGN_EXIT_ERR;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v || bpf_map_update_elem(m->stats, &zero, v, 0)) {
		err = v ? -errno : -ENOMEM;
		xcgn_err("reset counters: %s", strerror(-err));
	}
	free(v);
	return err ? XCGN_EXIT_ERR : XCGN_EXIT_OK;
}

static int do_stats_metrics(struct cmd *cmd, int argc __unused, char **argv __unused)
{
	const struct xcgn_maps *m;
	int err;

	if (!(m = cmd_maps(cmd)))
		return XCGN_EXIT_ERR;
	err = metrics_write(stdout, m, NULL);
	if (err)
		xcgn_err("read the state: %s", strerror(-err));
	return err ? XCGN_EXIT_ERR : XCGN_EXIT_OK;
}

/* stats describe: every counter and drop reason with what it counts, from
 * the one list (xcgn_counters.h) the datapath, show and Prometheus use. */
static int do_stats_describe(struct cmd *cmd __unused, int argc __unused, char **argv __unused)
{
	print_open_array(NULL);
	for (int i = 0; i < XCGN_STAT_MAX + XCGN_DROP_MAX; i++) {
		bool drop = i >= XCGN_STAT_MAX;
		int k = drop ? i - XCGN_STAT_MAX : i;

		if (drop && !k)
			continue;	/* "none": no drop */
		print_open_object(NULL);
		print_string(PRINT_ANY, "kind", "%-8s", drop ? "drop" : "counter");
		print_string(PRINT_ANY, "name", " %s", drop ? xcgn_drop_name[k] : xcgn_stat_name[k]);
		print_string(PRINT_ANY, "help", ": %s", drop ? xcgn_drop_help[k] : xcgn_stat_help[k]);
		print_nl();
		print_close_object();
	}
	print_close_array();
	return XCGN_EXIT_OK;
}

const struct xcgn_object xcgn_obj_stats = {
	.name = "stats",
	.usage = usage,
	.def_verb = "show",
	.cmds = (const struct xcgn_cmd[]){
		{ "show", do_stats_show, 0 },
		{ "metrics", do_stats_metrics, CMD_NOARGS },
		{ "reset", do_stats_reset, CMD_NOARGS },
		{ "describe", do_stats_describe, CMD_NOARGS | CMD_OPEN },
		{ NULL, NULL, 0 },
	},
};
