// SPDX-License-Identifier: GPL-2.0
/* xcgn stats { show | reset | help } */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xcgn.h"

static int usage(void)
{
	fprintf(usage_fp(), "Usage: xcgn stats show\n"
			    "       xcgn stats metrics\n"
			    "       xcgn stats reset\n"
			    "       xcgn stats help\n"
			    "metrics prints the Prometheus text exposition (as `xcgn daemon metrics\n"
			    "ADDR:PORT` serves it, without the daemon's own figures): for a\n"
			    "textfile collector.\n");
	return usage_status();
}


static int do_stats_show(int argc __unused, char **argv __unused)
{
	struct xcgn_stats s = {};
	struct xcgn_dstat ds = {};
	struct xcgn_maps m;
	uint64_t total = 0;
	char fmt[64];
	__u32 zero = 0;
	int i, err, w = 5;

	if (xcgn_maps_open(&m))
		return XCGN_EXIT_ERR;
	err = xcgn_stats_read(m.stats, &s);
	if (bpf_map_lookup_elem(m.dstat, &zero, &ds))
		memset(&ds, 0, sizeof(ds));
	xcgn_maps_close(&m);
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
	for (i = 0; i < XCGN_STAT_MAX; i++) {
		snprintf(fmt, sizeof(fmt), "  %-*s %%llu\n", w, xcgn_stat_name[i]);
		print_u64(PRINT_ANY, xcgn_stat_name[i], fmt, s.stat[i]);
	}
	print_close_object();
	print_open_object("drops");
	print_text("drops:\n");
	for (i = 1; i < XCGN_DROP_MAX; i++) {
		snprintf(fmt, sizeof(fmt), "  %-*s %%llu\n", w, xcgn_drop_name[i]);
		print_u64(PRINT_ANY, xcgn_drop_name[i], fmt, s.drop[i]);
		total += s.drop[i];
	}
	print_close_object();
	snprintf(fmt, sizeof(fmt), "  %-*s %%llu\n", w, "total");
	print_u64(PRINT_ANY, "drops_total", fmt, total);
	/* What the daemon (the last one to run) did with the NAT log. */
	print_open_object("natlog");
	print_text("NAT log (daemon):\n");
	{
		const char *const name[] = { "written", "recovered", "lost", "queued",
					     "write_errors" };
		const uint64_t val[] = { ds.written, ds.recovered, ds.lost, ds.queued,
					 ds.write_errors };

		for (i = 0; i < (int)ARRAY_SIZE(name); i++) {
			snprintf(fmt, sizeof(fmt), "  %-*s %%llu\n", w, name[i]);
			print_u64(PRINT_ANY, name[i], fmt, val[i]);
		}
	}
	print_close_object();
	print_close_object();
	return XCGN_EXIT_OK;
}

static int do_stats_reset(int argc __unused, char **argv __unused)
{
	int ncpu = libbpf_num_possible_cpus(), err = 0;
	struct xcgn_stats *v;
	struct xcgn_maps m;
	__u32 zero = 0;

	if (ncpu <= 0) {
		xcgn_err("count CPUs: %s", strerror(-ncpu));
		return XCGN_EXIT_ERR;
	}
	if (xcgn_maps_open(&m))
		return XCGN_EXIT_ERR;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v || bpf_map_update_elem(m.stats, &zero, v, 0)) {
		err = v ? -errno : -ENOMEM;
		xcgn_err("reset counters: %s", strerror(-err));
	}
	free(v);
	xcgn_maps_close(&m);
	return err ? XCGN_EXIT_ERR : XCGN_EXIT_OK;
}

static int do_stats_metrics(int argc __unused, char **argv __unused)
{
	struct xcgn_maps m;
	int err;

	if (xcgn_maps_open(&m))
		return XCGN_EXIT_ERR;
	err = metrics_write(stdout, &m, NULL);
	xcgn_maps_close(&m);
	if (err)
		xcgn_err("read the state: %s", strerror(-err));
	return err ? XCGN_EXIT_ERR : XCGN_EXIT_OK;
}

const struct xcgn_object xcgn_obj_stats = {
	.name = "stats",
	.usage = usage,
	.def_verb = "show",
	.cmds = (const struct xcgn_cmd[]){
		{ "show", do_stats_show, CMD_NOARGS },
		{ "metrics", do_stats_metrics, CMD_NOARGS },
		{ "reset", do_stats_reset, CMD_NOARGS },
		{ NULL, NULL, 0 },
	},
};
