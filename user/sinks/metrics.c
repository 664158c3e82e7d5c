// SPDX-License-Identifier: GPL-2.0
/* The Prometheus text exposition (format 0.0.4) of an instance: every
 * counter of the datapath (drop reasons as a label), each pool's use,
 * each table's entries against its capacity, the daemon's own figures,
 * build information. Names in base units, `_total` on counters; labels
 * are bounded (pools, tables, reasons: no per-subscriber series).
 *
 * One writer serves `xcgn stats metrics` (for a textfile collector, and
 * the tests) and the daemon's HTTP endpoint (http.c), which adds what
 * only the daemon knows. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sinks/sinks.h"
#include "net/pcp.h"


static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(FILE *f, const char *name, const char *labels, double v)
{
	if (labels && *labels)
		fprintf(f, "%s{%s} %.17g\n", name, labels, v);
	else
		fprintf(f, "%s %.17g\n", name, v);
}

/* A table's fill: entries counted with batch lookups (a hash map keeps no
 * count the kernel gives out). -1 when the map cannot be walked. */
static long map_count(int fd, __u32 key_size, __u32 value_size)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	__u32 batch = 4096, count, in = 0, out = 0;
	void *keys, *vals;
	bool first = true;
	long n = 0;
	int err;

	if (!key_size || !value_size)
		return -1;
	keys = calloc(batch, key_size);
	vals = calloc(batch, value_size);
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -1;
	}
	do {
		count = batch;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &count, &bo);
		if (err && err != -ENOENT) {
			n = -1;
			break;
		}
		n += count;
		in = out;
		first = false;
	} while (!err);
	free(keys);
	free(vals);
	return n;
}

static __u32 map_value_size(int fd, __u32 *key_size)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	*key_size = 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	*key_size = info.key_size;
	return info.value_size;
}

/* Two families, each sample of one family together, as the format asks. */
static void tables(FILE *f, const struct table_use *t, size_t n)
{
	char lab[64];
	size_t i;

	family(f, "xcgn_table_entries", "gauge", "Entries in a table of the datapath.");
	for (i = 0; i < n; i++) {
		snprintf(lab, sizeof(lab), "table=\"%s\"", t[i].name);
		if (t[i].used >= 0)
			sample(f, "xcgn_table_entries", lab, (double)t[i].used);
	}
	family(f, "xcgn_table_capacity_entries", "gauge", "What a table of the datapath holds.");
	for (i = 0; i < n; i++) {
		snprintf(lab, sizeof(lab), "table=\"%s\"", t[i].name);
		sample(f, "xcgn_table_capacity_entries", lab, (double)t[i].capacity);
	}
}

/* Per pool: addresses (excluded ones are no pool's), drained, blocks in
 * all, taken in the bitmaps, held by subscribers; subscribers. */
static int pools_use(const struct xcgn_maps *m, const struct xcgn_pool *pools, __u32 npools,
		     struct pool_use *u, uint64_t *nsubs)
{
	__u32 naddrs = xcgn_naddrs(m), id, i, idx, b;

	memset(u, 0, sizeof(*u) * npools);
	for (id = 0; id < npools; id++) {
		const struct xcgn_pool *p = &pools[id];

		if (!(p->flags & XCGN_POOLF_ACTIVE))
			continue;
		for (i = 0; i < p->naddrs; i++) {
			struct xcgn_paddr pa;
			struct xcgn_blkmap bm;

			idx = p->addr_first + i;
			if (idx >= naddrs || bpf_map_lookup_elem(m->paddr, &idx, &pa) ||
			    (pa.flags & XCGN_PADDRF_EXCLUDED))
				continue;
			u[id].addrs++;
			u[id].drained += !!(pa.flags & XCGN_PADDRF_DRAINED);
			u[id].blocks += p->nblocks;
			if (bpf_map_lookup_elem(m->blocks, &idx, &bm))
				continue;
			for (b = 0; b < p->nblocks && b < XCGN_BLKS_PER_ADDR_MAX; b++)
				u[id].taken += (bm.w[b / 64] >> (b % 64)) & 1;
		}
	}
	/* The subscribers in batches: a million of them is a few hundred
	 * calls, not two million. */
	*nsubs = 0;
	{
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		enum { BATCH = 1024 };
		__be32 *keys = calloc(BATCH, sizeof(*keys));
		struct xcgn_sub *vals = calloc(BATCH, sizeof(*vals));
		__u32 token = 0, count, j;
		bool first = true;
		int err;

		if (!keys || !vals) {
			free(keys);
			free(vals);
			return -ENOMEM;
		}
		do {
			__u32 in = token;

			count = BATCH;
			err = bpf_map_lookup_batch(m->subs, first ? NULL : &in, &token, keys, vals,
						   &count, &bo);
			err = err ? -errno : 0;
			first = false;
			for (j = 0; j < count && (!err || err == -ENOENT); j++) {
				const struct xcgn_sub *sb = &vals[j];

				if (sb->pool_id >= npools)
					continue;
				(*nsubs)++;
				u[sb->pool_id].subs++;
				for (i = 0; i < XCGN_SUB_BLOCKS_MAX; i++)
					u[sb->pool_id].held += sb->blocks[i] != 0;
			}
		} while (!err);
		free(keys);
		free(vals);
		if (err != -ENOENT)
			return err;
	}
	return 0;
}

int metrics_snapshot(const struct xcgn_maps *m, struct metrics_snap *s)
{
	struct xcgn_pool pools[XCGN_POOLS_MAX] = {};
	__u32 npools = xcgn_npools(m), id, ks = 0, vs;
	int err;

	for (id = 0; id < npools; id++)
		if (bpf_map_lookup_elem(m->pools, &id, &pools[id]))
			memset(&pools[id], 0, sizeof(pools[id]));
	err = pools_use(m, pools, npools, s->use, &s->nsubs);
	if (err)
		return err;
	vs = map_value_size(m->peer4, &ks);
	s->peers = map_count(m->peer4, ks, vs);
	vs = map_value_size(m->frag4, &ks);
	s->frags = map_count(m->frag4, ks, vs);
	s->at_ms = xcgn_mono_ns() / 1000000ULL;
	s->valid = true;
	return 0;
}

void xcgn_tables(const struct xcgn_maps *m, const struct xcgn_link_info *li,
		 const struct metrics_daemon *md, uint64_t nsubs, struct table_use t[XCGN_TABLES])
{
	__u32 ks = 0, vs;

	/* Mappings: as the daemon's last full pass counted them when it runs
	 * (a scrape must not walk a million entries twice). */
	vs = map_value_size(m->map4, &ks);
	t[0] = (struct table_use){ "mappings",
				   md && md->maps_seen_valid ? (long)md->maps_seen
							     : map_count(m->map4, ks, vs),
				   li->max_maps };
	t[1] = (struct table_use){ "subscribers", (long)nsubs, li->max_subs };
	vs = map_value_size(m->peer4, &ks);
	t[2] = (struct table_use){ "peers",
				   md && md->snap ? md->snap->peers : map_count(m->peer4, ks, vs),
				   xcgn_pinned_max_entries_fd(NULL, m->peer4) };
	vs = map_value_size(m->frag4, &ks);
	t[3] = (struct table_use){ "fragments",
				   md && md->snap ? md->snap->frags : map_count(m->frag4, ks, vs),
				   xcgn_pinned_max_entries_fd(NULL, m->frag4) };
	t[4] = (struct table_use){ "routes", md && md->routes_valid ? (long)md->routes : -1,
				   xcgn_pinned_max_entries_fd(NULL, m->rpf4) };
	t[5] = (struct table_use){ "addresses", -1, xcgn_naddrs(m) };
	t[6] = (struct table_use){ "pools", -1, xcgn_npools(m) };
}

/* A gauge of every active pool: the field at @off of its use. */
static void pool_gauge(FILE *f, const char *name, const char *help, const struct xcgn_pool *pools,
		       __u32 npools, const struct pool_use *use, size_t off)
{
	char lab[64], a[16];
	__u32 id;

	family(f, name, "gauge", help);
	for (id = 0; id < npools; id++) {
		if (!(pools[id].flags & XCGN_POOLF_ACTIVE))
			continue;
		snprintf(lab, sizeof(lab), "pool=\"%s/%u\"", ipv4_str(pools[id].prefix, a, sizeof(a)),
			 pools[id].plen);
		sample(f, name, lab, (double)*(const uint64_t *)((const char *)&use[id] + off));
	}
}

/* The PCP server's figures (`daemon pcp`). */
static void pcp_metrics(FILE *f, const struct pcp_stats *p)
{
	char label[48];
	int r;

	family(f, "xcgn_pcp_requests_total", "counter",
	       "PCP requests answered (by result code), and PCP and NAT-PMP requests not "
	       "answered: refused_source (not a subscriber on the inside, or a spoof), "
	       "rate_limited, dropped (nothing to answer).");
	for (r = 0; r < PCP_RESULT_MAX; r++) {
		snprintf(label, sizeof(label), "outcome=\"%s\"", pcp_result_name(r));
		sample(f, "xcgn_pcp_requests_total", label, (double)p->result[r]);
	}
	sample(f, "xcgn_pcp_requests_total", "outcome=\"refused_source\"",
	       (double)p->refused_source);
	sample(f, "xcgn_pcp_requests_total", "outcome=\"rate_limited\"", (double)p->rate_limited);
	sample(f, "xcgn_pcp_requests_total", "outcome=\"dropped\"", (double)p->dropped);
	family(f, "xcgn_pcp_share_refusals_total", "counter",
	       "Requests answered NO_RESOURCES because the subscribers requests made, with no "
	       "traffic of their own, hold pcp-share of the pools' blocks.");
	sample(f, "xcgn_pcp_share_refusals_total", NULL, (double)p->refused_share);
	family(f, "xcgn_pcp_delete_all_steps_total", "counter",
	       "Holds that requests to end all of a client's mappings looked at: what those "
	       "subscribers held, never the whole table.");
	sample(f, "xcgn_pcp_delete_all_steps_total", NULL, (double)p->delete_all_steps);
	{
		static const char *const np[NATPMP_RESULTS] = {
			"success", "unsupp_version", "not_authorized", "network_failure",
			"no_resources", "unsupp_opcode",
		};

		family(f, "xcgn_natpmp_requests_total", "counter",
		       "NAT-PMP requests answered, by result code.");
		for (r = 0; r < NATPMP_RESULTS; r++) {
			snprintf(label, sizeof(label), "outcome=\"%s\"", np[r]);
			sample(f, "xcgn_natpmp_requests_total", label, (double)p->natpmp_result[r]);
		}
	}
	family(f, "xcgn_pcp_mappings", "gauge", "Mappings held by a PCP or NAT-PMP lifetime.");
	sample(f, "xcgn_pcp_mappings", NULL, (double)p->held);
	family(f, "xcgn_pcp_mapping_events_total", "counter",
	       "PCP and NAT-PMP mappings: made by a request, ended (deleted by their client "
	       "or run out), of which expired (run out).");
	sample(f, "xcgn_pcp_mapping_events_total", "event=\"made\"", (double)p->made);
	sample(f, "xcgn_pcp_mapping_events_total", "event=\"ended\"", (double)p->ended);
	sample(f, "xcgn_pcp_mapping_events_total", "event=\"expired\"", (double)p->expired);
}

/* Every datapath counter, and the drops by reason. */
static void counters_write(FILE *f, const struct xcgn_stats *st)
{
	char name[96], lab[96];
	int i;

	for (i = 0; i < XCGN_STAT_MAX; i++) {
		snprintf(name, sizeof(name), "xcgn_%s_total", xcgn_stat_name[i]);
		family(f, name, "counter", xcgn_stat_help[i]);
		sample(f, name, NULL, (double)st->stat[i]);
	}
	family(f, "xcgn_drops_total", "counter", "Packets dropped, by reason.");
	for (i = 1; i < XCGN_DROP_MAX; i++) {
		snprintf(lab, sizeof(lab), "reason=\"%s\"", xcgn_drop_name[i]);
		sample(f, "xcgn_drops_total", lab, (double)st->drop[i]);
	}
}

/* Each active pool's addresses, blocks and subscribers. */
static void pools_write(FILE *f, const struct xcgn_pool *pools, __u32 npools,
			const struct pool_use *use)
{
	char lab[96], a[16];
	__u32 id;

	pool_gauge(f, "xcgn_pool_addresses", "Public addresses of the pool.", pools, npools, use,
		   offsetof(struct pool_use, addrs));
	pool_gauge(f, "xcgn_pool_addresses_drained",
		   "Public addresses of the pool no new subscriber lands on.", pools, npools, use,
		   offsetof(struct pool_use, drained));
	family(f, "xcgn_pool_blocks", "gauge",
	       "Port blocks of the pool: in use (held by a subscriber), quarantined (released, "
	       "resting), free.");
	for (id = 0; id < npools; id++) {
		const struct pool_use *u = &use[id];
		uint64_t quar = u->taken > u->held ? u->taken - u->held : 0;
		uint64_t busy = u->taken > u->held ? u->taken : u->held;

		if (!(pools[id].flags & XCGN_POOLF_ACTIVE))
			continue;
		ipv4_str(pools[id].prefix, a, sizeof(a));
		snprintf(lab, sizeof(lab), "pool=\"%s/%u\",state=\"in_use\"", a, pools[id].plen);
		sample(f, "xcgn_pool_blocks", lab, (double)u->held);
		snprintf(lab, sizeof(lab), "pool=\"%s/%u\",state=\"quarantined\"", a, pools[id].plen);
		sample(f, "xcgn_pool_blocks", lab, (double)quar);
		snprintf(lab, sizeof(lab), "pool=\"%s/%u\",state=\"free\"", a, pools[id].plen);
		sample(f, "xcgn_pool_blocks", lab, (double)(u->blocks > busy ? u->blocks - busy : 0));
	}
	pool_gauge(f, "xcgn_pool_subscribers", "Subscribers holding blocks of the pool.", pools,
		   npools, use, offsetof(struct pool_use, subs));
}

/* The daemon's own figures, one sample a family. */
static void daemon_write(FILE *f, const struct metrics_daemon *md)
{
	const struct {
		const char *name, *type, *help;
		double v;
	} dm[] = {
		{ "xcgn_daemon_start_time_seconds", "gauge",
		  "When the daemon started (Unix time).", (double)md->started_unix },
		{ "xcgn_gc_passes_total", "counter",
		  "Full passes of the collector over the mappings.", (double)md->passes },
		{ "xcgn_gc_last_pass_end_time_seconds", "gauge",
		  "When the collector's last full pass ended (Unix time).",
		  (double)md->gc_end_unix_ms / 1e3 },
		{ "xcgn_gc_last_pass_duration_seconds", "gauge",
		  "How long the collector's last full pass took.", (double)md->gc_wall_us / 1e6 },
		{ "xcgn_mappings_expired_total", "counter", "Mappings the collector expired.",
		  (double)md->expired },
		{ "xcgn_blocks_released_total", "counter", "Port blocks released to quarantine.",
		  (double)md->released },
		{ "xcgn_natlog_write_errors_total", "counter", "NAT log writes that failed.",
		  (double)md->log.write_errors },
		{ "xcgn_natlog_queued_records", "gauge", "NAT log records waiting to be written.",
		  (double)md->queued },
		{ "xcgn_fib_sync_time_seconds", "gauge",
		  "When the reverse-path tables last matched the FIB (Unix time).",
		  (double)md->rpf_sync_unix_ms / 1e3 },
		{ "xcgn_fib_sync_failing", "gauge",
		  "1 while the reverse-path tables cannot follow the FIB.",
		  md->rpf_failing ? 1 : 0 },
		{ "xcgn_nexthop_generations_total", "counter",
		  "Times the next-hop cache was emptied by a route, rule, address, link, "
		  "neighbour or netconf change.",
		  (double)md->nh_moves },
		{ "xcgn_nexthop_keeper_running", "gauge",
		  "1 while the daemon keeps the next-hop cache (else the FIB answers every packet).",
		  md->nh_running ? 1 : 0 },
	};
	size_t k;

	for (k = 0; k < ARRAY_SIZE(dm); k++) {
		family(f, dm[k].name, dm[k].type, dm[k].help);
		sample(f, dm[k].name, NULL, dm[k].v);
	}
	family(f, "xcgn_natlog_records_total", "counter",
	       "NAT log records: written (recovered ones among them), recovered from the tables "
	       "after a loss, lost.");
	sample(f, "xcgn_natlog_records_total", "outcome=\"written\"", (double)md->log.written);
	sample(f, "xcgn_natlog_records_total", "outcome=\"recovered\"", (double)md->log.recovered);
	sample(f, "xcgn_natlog_records_total", "outcome=\"lost\"", (double)md->log.lost);
	if (md->pcp)
		pcp_metrics(f, md->pcp);
}

int metrics_write(FILE *f, const struct xcgn_maps *m, const struct metrics_daemon *md)
{
	struct xcgn_pool pools[XCGN_POOLS_MAX] = {};
	struct pool_use use[XCGN_POOLS_MAX];
	struct xcgn_link_info li;
	struct xcgn_stats st = {};
	char lab[96];
	__u32 npools = xcgn_npools(m), id;
	uint64_t nsubs;
	long ring;
	int err;

	err = xcgn_stats_read(m->stats, &st);
	if (!err)
		err = xcgn_link_read(m, &li);
	if (err)
		return err;
	for (id = 0; id < npools; id++)
		if (bpf_map_lookup_elem(m->pools, &id, &pools[id]))
			memset(&pools[id], 0, sizeof(pools[id]));
	/* The daemon's snapshot when it has one: a scrape walks nothing, so
	 * scrapes never hold up the NAT log or the collector. */
	if (md && md->snap) {
		memcpy(use, md->snap->use, sizeof(use));
		nsubs = md->snap->nsubs;
	} else {
		pools_use(m, pools, npools, use, &nsubs);
	}

	family(f, "xcgn_build_info", "gauge", "The xcgn build and the layout of its pinned state.");
	snprintf(lab, sizeof(lab), "version=\"%s\",abi=\"%d\"", xcgn_version, XCGN_ABI_VERSION);
	sample(f, "xcgn_build_info", lab, 1);

	counters_write(f, &st);
	pools_write(f, pools, npools, use);
	{
		struct table_use t[XCGN_TABLES];

		xcgn_tables(m, &li, md, nsubs, t);
		tables(f, t, XCGN_TABLES);
	}

	ring = xcgn_ring_unread(m->events);
	family(f, "xcgn_event_ring_fill_ratio", "gauge",
	       "Share of the allocation event ring buffer not yet read by the daemon.");
	sample(f, "xcgn_event_ring_fill_ratio", NULL,
	       ring < 0 ? 0 : (double)ring / XCGN_EVENTS_BYTES);

	if (md)
		daemon_write(f, md);
	return 0;
}
