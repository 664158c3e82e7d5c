// SPDX-License-Identifier: GPL-2.0
/* xcgn daemon: the collector. It walks the mappings and expires what is
 * idle (gc.c), keeps released blocks in quarantine (blocks.c), drains the
 * datapath's events into the NAT log and the other sinks (records.c), keeps
 * the reverse-path tables and the announced routes in step, serves PCP,
 * metrics and monitors; and never stops forwarding by dying: the datapath
 * does not depend on it, and a restart resumes from the pinned maps.
 *
 * This file is the daemon's life: setup, one event loop (loop.h) over its
 * sources and timers, teardown. */
#include <errno.h>
#include <syslog.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon/internal.h"
#include "xcgn_gc.skel.h"

#define MS	1000000ULL	/* ns */

static volatile sig_atomic_t stop_flag, reopen_flag;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reopen_flag = 1;
	else
		stop_flag = 1;
}

/* ---- sources ------------------------------------------------------------- */

static void src_ring(void *ctx __unused)
{
	/* read each turn (daemon_turn): readiness only wakes the loop */
}

/* A route, address or device changed: the datapath may have stopped
 * working (look now), and the tables sync 50 ms from now, so that a burst
 * of updates (a routing daemon converging) costs one re-read. */
static void src_rpf_watch(void *ctx)
{
	struct daemon *d = ctx;

	if (!rpf_watch_changed(d->rw))
		return;
	loop_timer_soon(&d->loop, d->t_dp, 0);
	loop_timer_soon(&d->loop, d->t_rpf, xcgn_mono_ns() + 50 * MS);
}

static void src_http(void *ctx)
{
	metrics_http_run(ctx);
}

static void src_monitor(void *ctx)
{
	monitor_accept(ctx);
}

static void src_pcp(void *ctx)
{
	pcp_server_run(ctx);
}

/* Each turn, after the sources: events first, always, so that a long
 * collector step never starves the log; then what the sinks hold. */
static int daemon_turn(void *ctx, uint64_t now)
{
	struct daemon *d = ctx;
	int err;

	err = ring_buffer__consume(d->rb);
	if (err < 0 && err != -EINTR) {
		xcgn_err("read events: %s", strerror(-err));
		return err;
	}
	metrics_http_run(d->http);	/* its timeouts too */
	sinks_flush(&d->sinks, now);
	if (reopen_flag) {
		reopen_flag = 0;
		sinks_reopen(&d->sinks);
	}
	return 0;
}

/* ---- timers -------------------------------------------------------------- */

static uint64_t tm_gc(void *ctx, uint64_t now)
{
	struct daemon *d = ctx;

	if (!d->walking)
		pools_refresh(d);
	gc_step(d);
	return now + d->o.interval_ms * MS;
}

static uint64_t tm_quarantine(void *ctx, uint64_t now)
{
	struct daemon *d = ctx;

	quarantine_process(d, now);
	return now + (d->o.interval_ms / 4 + 1) * MS;
}

/* The announced routes follow the datapath: withdrawn when it stops
 * working, back when it works again. */
static uint64_t tm_datapath(void *ctx, uint64_t now)
{
	struct daemon *d = ctx;
	int r = announce_watch(&d->aw, &d->m, d->dir);

	if (r == 1)
		xcgn_logf(LOG_ERR, "xcgn daemon: the datapath stopped working (an XDP link "
				"detached, or a device gone or down): routes withdrawn\n");
	else if (r == 2)
		xcgn_logf(LOG_INFO, "xcgn daemon: the datapath works again: routes "
				"announced in table %u\n", d->aw.table);
	return now + 250 * MS;
}

/* The reverse-path tables, also every rpf-resync ms: accept_local and
 * route_localnet changes send no notification. Under the configuration
 * lock, or a `xcgn rpf mode` could be undone; when someone holds it, soon
 * again. */
static uint64_t tm_rpf(void *ctx, uint64_t now)
{
	struct daemon *d = ctx;
	struct rpf_sync_stats st;
	unsigned int seen;
	int cl = xcgn_trylock(), err;

	if (cl < 0)
		return now + 100 * MS;
	seen = nh_keeper_changes(d->nh);
	err = rpf_sync_cached(&d->m, &st, d->rpf_failing, &d->rpf_digest);
	nh_keeper_fib(d->nh, seen, st.nh_simple);
	if (!err) {
		d->rpf_routes = st.routes;
		d->rpf_sync_ms = wall_ms(xcgn_mono_ns());
		if (st.added + st.changed + st.removed)
			monitor_rpf(&d->mon, d->rpf_sync_ms, &st);
	}
	xcgn_unlock(cl);
	if (!err && d->rpf_failing)
		xcgn_logf(LOG_INFO, "xcgn daemon: reverse-path tables in step again\n");
	d->rpf_failing = err != 0;
	return now + d->o.rpf_resync_ms * MS;
}

static uint64_t tm_watchdog(void *ctx, uint64_t now)
{
	struct daemon *d = ctx;

	notify(d, "WATCHDOG=1");
	return now + d->watchdog_ns;
}

/* Once a second: the log's queue, losses to recover, PCP's sweep, the
 * metrics' snapshot, the report, and whether the instance is still
 * there (the loop stops when it is gone). */
static uint64_t tm_second(void *ctx, uint64_t now)
{
	struct daemon *d = ctx;
	uint64_t lost_ev = stat_sum(d, XCGN_STAT_EVENT_LOST);

	flush_suppressed(d);
	natlog_flush(&d->log);
	natlog_sync(&d->log, now, false);
	if (lost_ev != d->events_lost_seen || d->log.st.lost != d->log_lost_seen)
		d->reconcile_due = true;
	if (d->reconcile_due && !d->log.qlen) {
		d->events_lost_seen = lost_ev;
		d->log_lost_seen = d->log.st.lost;
		if (reconcile_log(d))
			d->reconcile_due = true;
	}
	if (d->pcp)
		pcp_server_sweep(d->pcp);
	/* The aggregates a scrape reads, taken here every 5 s in batches:
	 * scrapes, however many, walk nothing (metrics.c). */
	if (d->http && ++d->snap_age >= 5) {
		d->snap_age = 0;
		if (metrics_snapshot(&d->m, &d->snap))
			d->snap.valid = false;	/* the next scrape walks, as the CLI does */
	}
	dstat_publish(d);
	if (stamp_id(d->dir) != d->abi_id) {
		d->detached = true;
		return 0;
	}
	return now + 1000 * MS;
}

/* The IPFIX collectors get every held block again (ipfix-interim). */
static uint64_t tm_ipfix_interim(void *ctx, uint64_t now)
{
	struct daemon *d = ctx;

	ipfix_interim(d);
	return now + (uint64_t)d->o.ipfix_interim_s * 1000 * MS;
}

/* The loop's timers, in the order a turn runs them. */
static int timers_setup(struct daemon *d)
{
	int err = 0;

	err |= loop_add_timer(&d->loop, "gc", 0, tm_gc, d) < 0;
	err |= loop_add_timer(&d->loop, "quarantine", 0, tm_quarantine, d) < 0;
	err |= (d->t_dp = loop_add_timer(&d->loop, "datapath", 0, tm_datapath, d)) < 0;
	err |= (d->t_rpf = loop_add_timer(&d->loop, "rpf", 0, tm_rpf, d)) < 0;
	if (d->watchdog_ns)
		err |= loop_add_timer(&d->loop, "watchdog", 0, tm_watchdog, d) < 0;
	err |= loop_add_timer(&d->loop, "second", 0, tm_second, d) < 0;
	if (d->o.nipfix && d->o.ipfix_interim_s)
		err |= loop_add_timer(&d->loop, "ipfix-interim",
				      xcgn_mono_ns() + (uint64_t)d->o.ipfix_interim_s * 1000 * MS,
				      tm_ipfix_interim, d) < 0;
	return err ? -ENOSPC : 0;
}

/* ---- setup ----------------------------------------------------------------- */

/* The scrape: the pins, and what only this daemon knows. */
static int metrics_render(void *ctx, FILE *f)
{
	struct daemon *d = ctx;
	struct metrics_daemon md = {
		.snap = d->snap.valid ? &d->snap : NULL,
		.started_unix = d->ds.started_unix,
		.passes = d->passes,
		.expired = d->expired,
		.released = d->released,
		.gc_end_unix_ms = d->ds.gc_end_unix_ms,
		.gc_wall_us = d->ds.gc_wall_us,
		.maps_seen = d->last_pass_seen,
		.maps_seen_valid = d->pass_done,
		.routes = d->rpf_routes,
		.routes_valid = d->rpf_sync_ms != 0,
		.rpf_failing = d->rpf_failing,
		.rpf_sync_unix_ms = d->rpf_sync_ms,
		.log = d->log.st,
		.queued = d->log.qlen,
		.pcp = d->pcp ? &d->pcp->st : NULL,
		.nh_moves = nh_keeper_moved(d->nh),
		.nh_running = nh_keeper_running(d->nh),
	};

	return metrics_write(f, &d->m, &md);
}

/* The maps, the control programs, the block bitmaps, the batch buffers. */
static int tables_setup(struct daemon *d)
{
	d->gc = xcgn_ctl_load();
	if (!d->gc)
		return -errno;
	d->npools = xcgn_npools(&d->m);
	d->naddrs = xcgn_naddrs(&d->m);
	d->bitmap_len = (size_t)d->naddrs * sizeof(struct xcgn_blkmap);
	d->bitmap = mmap(NULL, d->bitmap_len, PROT_READ | PROT_WRITE, MAP_SHARED, d->m.blocks, 0);
	if (d->bitmap == MAP_FAILED) {
		d->bitmap = NULL;
		xcgn_err("mmap the block bitmaps: %s", strerror(errno));
		return -errno;
	}
	d->keys = calloc(d->o.batch, sizeof(*d->keys));
	d->vals = calloc(d->o.batch, sizeof(*d->vals));
	return d->keys && d->vals ? 0 : -ENOMEM;
}

/* The NAT log (the first sink) and the rings that feed it. */
static int log_setup(struct daemon *d)
{
	struct record_sink k = natlog_sink(&d->log);
	int err;

	err = natlog_open(&d->log, d->o.log_path, d->o.use_syslog, d->o.sync_ms);
	if (err)
		return err;
	d->log.on_written = on_written;
	d->log.ctx = d;
	if (sinks_add(&d->sinks, &k))
		return -ENOSPC;
	d->rl.per_s = d->o.refuse_per_s;
	d->ds.pid = (__u32)getpid();
	d->ds.sync_ms = d->o.sync_ms;
	d->ds.started_unix = (uint64_t)time(NULL);
	snprintf(d->ds.log_path, sizeof(d->ds.log_path), "%s", d->o.log_path ? d->o.log_path : "");
	d->rb = ring_buffer__new(d->m.events, on_event, d, NULL);
	if (!d->rb || ring_buffer__add(d->rb, d->m.refusals, on_event, d)) {
		err = -errno;
		xcgn_err("open the event ring buffers: %s", strerror(-err));
		return err;
	}
	return loop_add_fd(&d->loop, "the event rings", ring_buffer__epoll_fd(d->rb), src_ring, d);
}

/* The log first (what the rings hold, then what they lost), then the
 * blocks: a block is quarantined only once its release is in. */
static int reconcile_setup(struct daemon *d)
{
	uint64_t *owned;
	int err = pools_refresh(d);

	if (err)
		return err;
	d->events_lost_seen = stat_sum(d, XCGN_STAT_EVENT_LOST);
	mark_last_record(d);
	err = reconcile_log(d);
	if (err)
		return err;
	owned = owned_blocks(d);
	if (!owned)
		return -ENOMEM;
	err = reconcile_quarantine(d, owned);
	free(owned);
	return err;
}

/* Follow the FIB: a netlink subscription. */
static int rpf_watch_setup(struct daemon *d)
{
	d->rw = rpf_watch_open();
	if (!d->rw) {
		xcgn_err("subscribe to route changes: %s", strerror(errno));
		return -errno;
	}
	return loop_add_fd(&d->loop, "route changes", rpf_watch_fd(d->rw), src_rpf_watch, d);
}

static int metrics_setup(struct daemon *d)
{
	int err;

	if (!d->o.metrics)
		return 0;
	d->http = metrics_http_start(d->o.metrics, metrics_render, d);
	if (!d->http)
		return -errno;
	err = loop_add_fd(&d->loop, "the metrics endpoint", metrics_http_fd(d->http), src_http,
			  d->http);
	if (err)
		return err;
	xcgn_logf(LOG_INFO, "xcgn daemon: metrics on http://%s/metrics\n", d->o.metrics);
	if (metrics_snapshot(&d->m, &d->snap))
		d->snap.valid = false;
	return 0;
}

static int ipfix_setup(struct daemon *d)
{
	struct record_sink k = ipfix_sink(&d->ipfix);
	int i, err;

	if (!d->o.nipfix)
		return 0;
	err = ipfix_open(&d->ipfix, d->o.ipfix_domain_set ? d->o.ipfix_domain : d->o.node);
	for (i = 0; !err && i < d->o.nipfix; i++)
		err = ipfix_add_collector(&d->ipfix, d->o.ipfix[i]);
	if (!err && sinks_add(&d->sinks, &k))
		err = -ENOSPC;
	/* the deterministic bindings, now there is a socket */
	return err ? err : pools_refresh(d);
}

static void pcp_record(void *ctx, const struct natlog_rec *r)
{
	record(ctx, r, 0);
}

/* PCP: every daemon ends the lifetimes that ran out (a daemon started
 * without `pcp` too: what one with it left is never held forever); with
 * `pcp`, the server on the inside device, polled with the rest. */
static int pcp_setup(struct daemon *d)
{
	int err;

	d->pcp = calloc(1, sizeof(*d->pcp));
	if (!d->pcp)
		return -ENOMEM;
	d->pcp->cfg = d->o.pcp_cfg;
	d->pcp->record = pcp_record;
	d->pcp->record_ctx = d;
	err = pcp_server_init(d->pcp, &d->m, d->gc);
	if (err && !d->o.pcp) {	/* an instance older than PCP: nothing held */
		free(d->pcp);
		d->pcp = NULL;
		return 0;
	}
	if (!err && d->o.pcp)
		err = pcp_server_listen(d->pcp);
	if (!err && d->o.pcp)
		err = loop_add_fd(&d->loop, "the PCP socket", d->pcp->fd, src_pcp, d->pcp);
	return err;
}

/* Without it the daemon still does its work. */
static void monitor_setup(struct daemon *d)
{
	const struct group *g = d->o.monitor_group ? getgrnam(d->o.monitor_group) : NULL;
	struct record_sink k = monitor_sink(&d->mon);

	d->mon.group_set = g != NULL;
	d->mon.group = g ? g->gr_gid : 0;
	if (monitor_listen(&d->mon) ||
	    loop_add_fd(&d->loop, "the monitor socket", d->mon.fd, src_monitor, &d->mon) ||
	    sinks_add(&d->sinks, &k)) {
		xcgn_logf(LOG_WARNING, "xcgn daemon: no monitor socket: xcgn monitor will not work\n");
		monitor_close(&d->mon);
	}
}

/* The next-hop cache's keeper, the daemon's one other thread. */
static void nexthop_setup(struct daemon *d)
{
	struct xcgn_link_info li = {};

	xcgn_link_read(&d->m, &li);	/* unread (0): every neighbour counts */
	d->nh = nh_keeper_start(d->m.nhctl, (int)li.inside_ifindex, (int)li.outside_ifindex);
	if (!d->nh)
		xcgn_logf(LOG_WARNING, "xcgn daemon: warning: no next-hop cache (%s): every packet "
				"asks the FIB\n",
			strerror(errno));
}

/* Everything before the loop, in order; each step's failure said. */
static int daemon_setup(struct daemon *d)
{
	int err;

	notify_setup(d);
	if (xcgn_pin_dir(d->dir, sizeof(d->dir)) || xcgn_maps_open(&d->m))
		return -ENOENT;
	d->abi_id = stamp_id(d->dir);
	announce_watch_init(&d->aw);
	d->lock = instance_lock(d);
	if (d->lock < 0)
		return d->lock;
	libbpf_set_print(NULL);
	err = loop_init(&d->loop);
	if (!err)
		err = tables_setup(d);
	if (!err)
		err = log_setup(d);
	if (!err)
		err = reconcile_setup(d);
	if (!err)
		err = rpf_watch_setup(d);
	if (!err)
		err = metrics_setup(d);
	if (!err)
		err = ipfix_setup(d);
	if (!err)
		err = pcp_setup(d);
	if (!err)
		err = timers_setup(d);
	if (err)
		return err;
	monitor_setup(d);
	d->loop.each_turn = daemon_turn;
	d->loop.turn_ctx = d;
	/* Set up: from here on, only what the daemon uses (its thread too,
	 * started after this). It parses PCP from subscribers and HTTP. */
	err = xcgn_caps_drop_to_runtime();
	if (err)
		xcgn_logf(LOG_WARNING, "xcgn daemon: warning: could not drop capabilities: %s\n",
			strerror(-err));
	nexthop_setup(d);
	return 0;
}

/* ---- teardown -------------------------------------------------------------- */

/* What the loop leaves: the rings drained, the instance's blocks released
 * when it went, the log flushed. -EIO when records never reached it. */
static int daemon_finish(struct daemon *d)
{
	notify(d, "STOPPING=1");
	ring_buffer__consume(d->rb);
	if (d->detached) {
		/* The instance is gone, and with it every block it held: each
		 * gets its release now. A new attach gets a new daemon. */
		xcgn_logf(LOG_INFO, "xcgn daemon: xcgn was detached (or attached anew) in this "
				"namespace; releasing what it held and exiting\n");
		release_all_logged(d);
	}
	flush_suppressed(d);
	natlog_flush(&d->log);
	natlog_sync(&d->log, xcgn_mono_ns(), true);
	if (!d->detached)
		dstat_publish(d);
	xcgn_logf(LOG_INFO, "xcgn daemon: exiting; %llu mapping(s) expired, %llu subscriber(s) "
			"released, %zu block(s) still in quarantine, NAT log: %llu written, %llu "
			"recovered, %llu lost, %zu queued\n",
		(unsigned long long)d->expired, (unsigned long long)d->released, d->q.n,
		(unsigned long long)d->log.st.written, (unsigned long long)d->log.st.recovered,
		(unsigned long long)d->log.st.lost, d->log.qlen);
	return d->log.qlen ? -EIO : 0;
}

static void daemon_free(struct daemon *d)
{
	daemon_unpublish(d);
	loop_close(&d->loop);
	if (d->pcp) {
		pcp_server_close(d->pcp);
		free(d->pcp);
	}
	metrics_http_stop(d->http);
	if (d->o.nipfix)
		ipfix_close(&d->ipfix);
	monitor_close(&d->mon);
	nh_keeper_stop(d->nh);
	rpf_watch_close(d->rw);
	ring_buffer__free(d->rb);
	natlog_close(&d->log);
	if (d->bitmap)
		munmap(d->bitmap, d->bitmap_len);
	free(d->keys);
	free(d->vals);
	quarantine_free(&d->q);
	xcgn_gc__destroy(d->gc);
	xcgn_maps_close(&d->m);
	if (d->notify_fd >= 0)
		close(d->notify_fd);
	if (d->lock >= 0)
		close(d->lock);
	free(d);
}

/* ---- the daemon's life ------------------------------------------------------ */

int daemon_run(const struct daemon_opts *o)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct daemon *d = calloc(1, sizeof(*d));
	int err;

	if (!d) {
		xcgn_err("daemon: %s", strerror(ENOMEM));
		return XCGN_EXIT_ERR;
	}
	d->o = *o;
	d->loop.ep = d->lock = d->notify_fd = d->ipfix.fd = d->mon.fd = -1;
	xcgn_maps_none(&d->m);
	for (int i = 0; i < MONITOR_CLIENTS_MAX; i++)
		d->mon.client[i] = -1;
	err = daemon_setup(d);
	if (!err) {
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		xcgn_logf(LOG_INFO, "xcgn daemon: pid %d, collecting every %u ms, %u mappings a step, "
				"time scale 1/%u, NAT log %s%s (fdatasync every %u ms)\n",
			getpid(), d->o.interval_ms, d->o.batch, d->o.scale,
			d->o.log_path ? d->o.log_path : "(none)",
			d->o.use_syslog ? " and syslog" : "", d->o.sync_ms);
		dstat_publish(d);
		daemon_publish(d);
		notify(d, "READY=1\nSTATUS=collecting");
		err = loop_run(&d->loop, &stop_flag);
		if (daemon_finish(d))
			err = -EIO;	/* records that never reached the log */
	}
	daemon_free(d);
	return err ? XCGN_EXIT_ERR : XCGN_EXIT_OK;
}
