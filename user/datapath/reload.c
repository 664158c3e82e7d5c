// SPDX-License-Identifier: GPL-2.0
/* `xcgn link reload`: the running programs replaced with this binary's, the
 * pinned state kept, no subscriber losing a session.
 *
 * The new programs are loaded over the pinned maps first; only when that
 * worked are they switched in: bpf_link_update() on each device's XDP link
 * (atomic per device: the old program runs until the new one does) and
 * the tc filters replaced in place (same handle and priority). A failure
 * before the switch leaves everything as it was.
 *
 * When an older layout is pinned (.../v2 while this binary reads v3), the
 * state moves first: each map whose layout did not change is the same
 * object, pinned again under the new version; a map whose layout changed
 * is copied into its new form by the converter of that version step
 * (after the switch, for counters, so that no increment of the old
 * programs is lost); a map that is new starts empty, or seeded from the
 * state. Then the old version's pins go. A version with no migration here
 * is refused, and nothing is touched. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <syslog.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath/datapath.h"
#include "xcgn_xdp.skel.h"


/* ---- migrations from older layouts --------------------------------------- */

/* Counters are appended only: an older layout's @nstat counters and @ndrop
 * drop reasons are this one's first, copied by index, per CPU. */
static int convert_stats(int old_fd, int new_fd, int nstat, int ndrop)
{
	int ncpu = libbpf_num_possible_cpus();
	struct xcgn_stats *n;
	__u64 *o;
	__u32 zero = 0;
	int c, i, err = 0;

	if (ncpu <= 0)
		return -EINVAL;
	o = calloc((size_t)ncpu, (size_t)(nstat + ndrop) * sizeof(__u64));
	n = calloc((size_t)ncpu, sizeof(*n));
	if (!o || !n) {
		err = -ENOMEM;
		goto out;
	}
	if (bpf_map_lookup_elem(old_fd, &zero, o) || bpf_map_lookup_elem(new_fd, &zero, n)) {
		err = -errno;
		goto out;
	}
	for (c = 0; c < ncpu; c++) {
		struct xcgn_stats *ns = n + c;
		const __u64 *os = o + (size_t)c * (size_t)(nstat + ndrop);

		for (i = 0; i < nstat; i++)
			ns->stat[i] += os[i];
		for (i = 0; i < ndrop; i++)
			ns->drop[i] += os[nstat + i];
	}
	if (bpf_map_update_elem(new_fd, &zero, n, 0))
		err = -errno;
out:
	free(o);
	free(n);
	return err;
}

/* Version 2: 30 counters, 22 drop reasons (3 appended refusal_event_lost). */
static int convert_stats_v2(int old_fd, int new_fd)
{
	return convert_stats(old_fd, new_fd, 30, 22);
}

/* Versions 3 and 4: 31 counters, 22 drop reasons (5 appended
 * new_subscriber_rate). */
static int convert_stats_v4(int old_fd, int new_fd)
{
	return convert_stats(old_fd, new_fd, 31, 22);
}

/* Version 5: 31 counters, 23 drop reasons (6 appended subscriber_mappings
 * and mapping_peers). */
static int convert_stats_v5(int old_fd, int new_fd)
{
	return convert_stats(old_fd, new_fd, 31, 23);
}

/* Version 6: 31 counters, 25 drop reasons (7 appended the next-hop
 * cache's two). */
static int convert_stats_v6(int old_fd, int new_fd)
{
	return convert_stats(old_fd, new_fd, 31, 25);
}

/* Version 7: 33 counters, 25 drop reasons (8 appended two counters and
 * three drop reasons). */
static int convert_stats_v7(int old_fd, int new_fd)
{
	return convert_stats(old_fd, new_fd, 33, 25);
}

/* Versions 2 to 5: pools of 56 bytes; 6 appended the cap on a subscriber's
 * mappings, which a moved pool gets at its default (max-blocks x
 * block-size), as a pool added now would. Only userspace writes pools:
 * copied before the switch, exactly. */
/* Up to layout 8 a pool's filtering was one mode for every protocol, 1
 * address-dependent; from 9 it holds a bit per protocol. */
static uint8_t filtering_v8(uint8_t f)
{
	return f ? XCGN_FILTER_ADF : XCGN_FILTER_EIF;
}

/* Layouts 5 to 8: the same pool, its filtering one mode. */
static int prepare_pools_v8(int old_fd, int new_fd, const struct xcgn_link_info *li)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), id;

	(void)li;
	if (bpf_obj_get_info_by_fd(old_fd, &info, &len))
		return -errno;
	if (info.value_size != sizeof(struct xcgn_pool))
		return -EINVAL;
	for (id = 0; id < info.max_entries; id++) {
		struct xcgn_pool n;

		if (bpf_map_lookup_elem(old_fd, &id, &n))
			return -errno;
		n.filtering = filtering_v8(n.filtering);
		if (bpf_map_update_elem(new_fd, &id, &n, 0))
			return -errno;
	}
	return 0;
}

static int prepare_pools_v5(int old_fd, int new_fd, const struct xcgn_link_info *li)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), id;
	uint8_t old[56];

	(void)li;
	if (bpf_obj_get_info_by_fd(old_fd, &info, &len))
		return -errno;
	if (info.value_size != sizeof(old))
		return -EINVAL;
	for (id = 0; id < info.max_entries; id++) {
		struct xcgn_pool n = {};

		if (bpf_map_lookup_elem(old_fd, &id, old))
			return -errno;
		memcpy(&n, old, sizeof(old));
		if (n.flags & XCGN_POOLF_ACTIVE) {
			n.sub_maps = 2u * n.max_blocks * n.block_size;	/* as parse.c */
			n.map_peers = XCGN_DEF_MAP_PEERS;
		}
		n.filtering = filtering_v8(n.filtering);
		if (bpf_map_update_elem(new_fd, &id, &n, 0))
			return -errno;
	}
	return 0;
}

/* The blocks held when the state moves were logged by the older daemon
 * (the migration refuses while its ring holds unread events): xcgn_blklog,
 * new in version 3, starts out saying so, else the first reconcile would
 * write every one again, and xcgn_blkts gets the subscriber's creation,
 * the best time version 2 kept. Deterministic pools log nothing. */
static int seed_block_log(const struct xcgn_maps *m)
{
	__be32 key, *prev = NULL;
	struct xcgn_sub s;
	struct xcgn_pool p;
	__u32 id;
	int i;

	while (!bpf_map_get_next_key(m->subs, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(m->subs, &key, &s) || s.addr != key)
			continue;
		id = s.pool_id;
		if (bpf_map_lookup_elem(m->pools, &id, &p) || (p.flags & XCGN_POOLF_DETERMINISTIC))
			continue;
		for (i = 0; i < XCGN_SUB_BLOCKS_MAX; i++) {
			__u32 k;

			if (!s.blocks[i] || s.blocks[i] > XCGN_BLKS_PER_ADDR_MAX)
				continue;
			k = xcgn_blk_key(s.addr_idx, s.blocks[i] - 1);
			if (bpf_map_update_elem(m->blklog, &k, &key, 0) ||
			    bpf_map_update_elem(m->blkts, &k, &s.created_ns, 0))
				return -errno;
		}
	}
	return 0;
}


/* Before anything moves from version 2: its allocation events all read
 * (the seed takes the log as complete), and what its programs lost said. */
static int check_v2(const struct xcgn_maps *keep, const struct xcgn_maps *conv)
{
	long unread = xcgn_ring_unread(keep->events);
	int ncpu = libbpf_num_possible_cpus(), c;
	__u64 *o, lost = 0;
	__u32 zero = 0;

	if (unread < 0) {
		xcgn_err("read the layout-2 event ring: %s", strerror((int)-unread));
		return (int)unread;
	}
	if (unread > 0) {
		xcgn_err("the layout-2 event ring still holds %ld bytes of allocations no daemon "
			 "has written to the NAT log: run the layout-2 daemon until it has read them, "
			 "stop it, then reload; nothing was changed",
			 unread);
		return -EBUSY;
	}
	o = ncpu > 0 ? calloc((size_t)ncpu, (30 + 22) * sizeof(__u64)) : NULL;
	if (o && conv->stats >= 0 && !bpf_map_lookup_elem(conv->stats, &zero, o))
		for (c = 0; c < ncpu; c++)
			lost += o[(size_t)c * (30 + 22) + XCGN_STAT_EVENT_LOST];
	free(o);
	if (lost)
		xcgn_logf(LOG_WARNING, "xcgn: warning: layout 2 lost %llu allocation event(s) over its "
				"life; layout 2 kept no allocation times, so those records cannot be "
				"recovered\n",
			(unsigned long long)lost);
	return 0;
}

/* Layouts 2 and 3 had a 16-byte xcgn_state; 4 appends the runtime
 * switches (off) and the live refusal-icmp (what attach recorded). Only
 * userspace writes it, under the lock the reload holds: copied before the
 * switch, exactly. */
static int prepare_state_v3(int old_fd, int new_fd, const struct xcgn_link_info *li)
{
	struct {
		__u32 naddrs_hwm, nbypass, paddr_min, paddr_max;
	} o;
	struct xcgn_state n = {};
	__u32 zero = 0;

	if (bpf_map_lookup_elem(old_fd, &zero, &o))
		return -errno;
	n.naddrs_hwm = o.naddrs_hwm;
	n.nbypass = o.nbypass;
	n.paddr_min = o.paddr_min;
	n.paddr_max = o.paddr_max;
	n.refusal_icmp = li->refusal_icmp;
	return bpf_map_update_elem(new_fd, &zero, &n, 0) ? -errno : 0;
}

struct migration {
	int from;
	/* maps whose layout changed: converted after the switch (counters,
	 * which the old programs still move until then) */
	struct {
		const char *map;
		int (*convert)(int old_fd, int new_fd);
	} convert[4];
	/* maps whose layout changed that the new programs need from their
	 * first packet: converted before the switch (written by userspace
	 * only) */
	struct {
		const char *map;
		int (*convert)(int old_fd, int new_fd, const struct xcgn_link_info *li);
	} prepare[4];
	/* before anything changes: may the state move? */
	int (*check)(const struct xcgn_maps *keep, const struct xcgn_maps *conv);
	int (*seed)(const struct xcgn_maps *m);	/* new maps, before the switch */
};

static const struct migration migrations[] = {
	{ .from = 2,
	  .convert = { { XSTR(xcgn_stats), convert_stats_v2 } },
	  .prepare = { { XSTR(xcgn_state), prepare_state_v3 },
		       { XSTR(xcgn_pools), prepare_pools_v5 } },
	  .check = check_v2,
	  .seed = seed_block_log },
	/* 3: xcgn_state grew (4); xcgn_paddr's padding became its flags
	 * (always 0 before: reused as it is); a drop reason was appended (5). */
	{ .from = 3,
	  .convert = { { XSTR(xcgn_stats), convert_stats_v4 } },
	  .prepare = { { XSTR(xcgn_state), prepare_state_v3 },
		       { XSTR(xcgn_pools), prepare_pools_v5 } } },
	/* 4 to 5: a drop reason appended; xcgn_pool's padding became the cap
	 * on new subscribers (0 before: no cap, reused as it is; `pool set
	 * PREFIX sub-burst auto`, or applying the configuration, sets it). */
	{ .from = 4,
	  .convert = { { XSTR(xcgn_stats), convert_stats_v4 } },
	  .prepare = { { XSTR(xcgn_pools), prepare_pools_v5 } } },
	/* 5 to 6: xcgn_pcp is new (starts empty); mappings gained a flag
	 * (XCGN_MAPF_PCP, never set before) and TCP ones a bit
	 * (XCGN_TCP_PEERS: unset, their old rule holds); xcgn_pool grew the
	 * cap on a subscriber's mappings; a drop reason was appended. */
	{ .from = 5,
	  .convert = { { XSTR(xcgn_stats), convert_stats_v5 } },
	  .prepare = { { XSTR(xcgn_pools), prepare_pools_v5 } } },
	/* 6 to 7: xcgn_nhctl is new (starts zero: no cache until a daemon
	 * vouches for it); two counters were appended. */
	{ .from = 6,
	  .convert = { { XSTR(xcgn_stats), convert_stats_v6 } },
	  .prepare = { { XSTR(xcgn_pools), prepare_pools_v8 } } },
	/* 7 to 8: a counter and three drop reasons were appended; xcgn_state's
	 * padding became the MSS clamp (0 before: off, reused as it is), and
	 * xcgn_sub's the count of its filtering entries (0: a moved
	 * subscriber's count starts low, and is never taken below zero); the
	 * inside device gained a tc ingress program (the switch adds it). */
	{ .from = 7,
	  .convert = { { XSTR(xcgn_stats), convert_stats_v7 } },
	  .prepare = { { XSTR(xcgn_pools), prepare_pools_v8 } } },
	/* 8 to 9: a pool's filtering became a mode per protocol. */
	{ .from = 8,
	  .prepare = { { XSTR(xcgn_pools), prepare_pools_v8 } } },
};

static const struct migration *migration_from(int v)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(migrations); i++)
		if (migrations[i].from == v)
			return &migrations[i];
	return NULL;
}

static int (*converter(const struct migration *mg, const char *name))(int, int)
{
	size_t i;

	for (i = 0; mg && i < ARRAY_SIZE(mg->convert) && mg->convert[i].map; i++)
		if (!strcmp(mg->convert[i].map, name))
			return mg->convert[i].convert;
	return NULL;
}

static int (*preparer(const struct migration *mg,
		      const char *name))(int, int, const struct xcgn_link_info *)
{
	size_t i;

	for (i = 0; mg && i < ARRAY_SIZE(mg->prepare) && mg->prepare[i].map; i++)
		if (!strcmp(mg->prepare[i].map, name))
			return mg->prepare[i].convert;
	return NULL;
}

/* The old version's maps (by this version's names; -1 for a map it did
 * not have or whose layout changed) to be reused as they are. Refuses a
 * map that changed without a converter. */
static int old_maps_open(const char *old_dir, const struct migration *mg, struct xcgn_maps *keep,
			 struct xcgn_maps *conv)
{
	int *k = (int *)keep, *c = (int *)conv, i;
	char path[512];

	for (i = 0; i < XCGN_NMAPS; i++)
		k[i] = c[i] = -1;
	for (i = 0; i < XCGN_NMAPS; i++) {
		snprintf(path, sizeof(path), "%s/%s", old_dir, xcgn_map_names[i]);
		if (converter(mg, xcgn_map_names[i]) || preparer(mg, xcgn_map_names[i]))
			c[i] = bpf_obj_get(path);
		else
			k[i] = bpf_obj_get(path);
		if (k[i] < 0 && c[i] < 0 && errno != ENOENT) {
			xcgn_err("open %s: %s", path, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* ---- the switch ------------------------------------------------------------ */

/* The XDP link pinned as @pin under @old_dir gets @prog_fd, atomically for
 * its device; when the version changes it is pinned under @dir first, so
 * a failure leaves it as it was. 1 when switched, else -errno. */
static int link_switch(const char *old_dir, const char *dir, const char *pin, int prog_fd)
{
	char path[512], npath[512];
	bool pinned = false;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", old_dir, pin);
	snprintf(npath, sizeof(npath), "%s/%s", dir, pin);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = -errno;
		xcgn_err("open %s: %s", path, strerror(-err));
		return err;
	}
	if (strcmp(old_dir, dir)) {
		if (bpf_obj_pin(fd, npath)) {
			err = -errno;
			xcgn_err("pin %s: %s", npath, strerror(-err));
			close(fd);
			return err;
		}
		pinned = true;
	}
	if (bpf_link_update(fd, prog_fd, NULL)) {
		err = -errno;
		xcgn_err("replace the program of %s: %s", path, strerror(-err));
		if (pinned)
			unlink(npath);
	}
	close(fd);
	return err ? err : 1;
}

static int tc_switch(int ifindex, enum bpf_tc_attach_point where, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = XCGN_TC_HANDLE, .priority = XCGN_TC_PRIO,
		    .flags = BPF_TC_F_REPLACE, .prog_fd = prog_fd);
	int err = bpf_tc_attach(&hook, &o);

	if (err)
		xcgn_err("replace the tc %s program: %s",
			 where == BPF_TC_EGRESS ? "egress" : "ingress", strerror(-err));
	return err;
}

/* One reload: what it found, what it loaded, how far it got. */
struct reload {
	const char *dir;		/* this version's pins */
	char old_dir[256];		/* the pins it moves from (@dir when the same) */
	int old;			/* the older layout moved from, or 0 */
	const struct migration *mg;	/* its migration */
	struct xcgn_maps keep, conv;	/* its maps: reused as they are, converted */
	struct xcgn_link_info li;
	struct xcgn_xdp *skel;
	bool switched;			/* some programs are this binary's */
};

/* An older layout's daemon must not see its pins go: it would take that
 * for a detach and log every block it holds as released, while the
 * sessions live on. It is stopped first (SIGTERM: it flushes its log and
 * exits, releasing nothing); this version's daemon takes over the log.
 * 0 when none runs or it stopped, else -errno (said). */
static int old_daemon_stop(const char *old_dir, int old)
{
	char path[300];
	unsigned char val[256] = {};
	struct bpf_map_info info = {};
	__u32 zero = 0, len = sizeof(info), pid;
	int lock = open(old_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd, i;

	if (lock < 0)
		return 0;	/* nothing pinned there: no daemon either */
	if (!flock(lock, LOCK_EX | LOCK_NB)) {
		close(lock);	/* held by nobody: no daemon runs */
		return 0;
	}
	snprintf(path, sizeof(path), "%s/xcgn_dstat", old_dir);
	fd = bpf_obj_get(path);
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) || info.value_size > sizeof(val) ||
	    info.value_size < sizeof(pid) || bpf_map_lookup_elem(fd, &zero, val)) {
		xcgn_err("the daemon of layout abi %d runs but its pid cannot be read (%s): stop "
			 "it, then reload", old, strerror(errno));
		goto fail;
	}
	memcpy(&pid, val, sizeof(pid));	/* the first field in every layout */
	if (!pid || kill((pid_t)pid, SIGTERM)) {
		xcgn_err("cannot stop the daemon of layout abi %d (pid %u): %s; stop it, then "
			 "reload", old, pid, pid ? strerror(errno) : "no pid published");
		goto fail;
	}
	for (i = 0; i < 200 && flock(lock, LOCK_EX | LOCK_NB); i++)
		usleep(50000);
	if (i == 200) {
		xcgn_err("the daemon of layout abi %d (pid %u) did not stop in 10 s; nothing was "
			 "changed", old, pid);
		errno = ETIMEDOUT;
		goto fail;
	}
	xcgn_logf(LOG_NOTICE, "xcgn: stopped the daemon of layout abi %d (pid %u): start this "
			      "version's (systemctl restart xcgn)\n", old, pid);
	close(fd);
	close(lock);
	return 0;
fail:
	i = -errno;
	if (fd >= 0)
		close(fd);
	close(lock);
	return i ? i : -EIO;
}

/* What is pinned: this layout (its stamp checked) or an older one with a
 * migration (its maps opened and checked); what attach recorded. */
static int reload_open_old(struct reload *r)
{
	struct xcgn_maps m;
	__u32 zero = 0;
	int err, link_fd;

	snprintf(r->old_dir, sizeof(r->old_dir), "%s", r->dir);
	if (!xcgn_attached_here(r->dir)) {
		int old = xcgn_pinned_version(r->dir);

		if (!old) {
			xcgn_err("xcgn is not attached in this network namespace: nothing to "
				 "reload");
			return -ENOENT;
		}
		r->mg = migration_from(old);
		if (!r->mg) {
			xcgn_err("the state pinned here has layout abi %d, and this binary (abi "
				 "%d) knows no way to move it; nothing was changed",
				 old, XCGN_ABI_VERSION);
			return -EPROTO;
		}
		r->old = old;	/* from here on, a failure removes the new pins */
		snprintf(r->old_dir, sizeof(r->old_dir), "%.*s/v%d",
			 (int)(strrchr(r->dir, '/') - r->dir), r->dir, r->old);
		err = old_maps_open(r->old_dir, r->mg, &r->keep, &r->conv);
		if (!err && r->mg->check)
			err = r->mg->check(&r->keep, &r->conv);
		if (!err)
			err = old_daemon_stop(r->old_dir, r->old);
		if (err)
			return err;
		link_fd = r->keep.link;
	} else {
		/* Same version: the stamp must be this very layout. */
		err = xcgn_maps_open(&m);
		if (err)
			return err;
		link_fd = dup(m.link);
		xcgn_maps_close(&m);
	}
	err = link_fd < 0 || bpf_map_lookup_elem(link_fd, &zero, &r->li) ? -errno : 0;
	if (!r->old && link_fd >= 0)
		close(link_fd);
	if (err)
		xcgn_err("read what attach set up: %s", strerror(-err));
	return err;
}

/* This binary's datapath over the pins (an older layout's maps reused by
 * name), at the sizes pinned. */
static int reload_load(struct reload *r)
{
	char path[512];
	__u32 max_routes, max_addrs;

	snprintf(path, sizeof(path), "%s/%s", r->old_dir, XSTR(xcgn_rpf4));
	max_routes = xcgn_pinned_max_entries(path);
	snprintf(path, sizeof(path), "%s/%s", r->old_dir, XSTR(xcgn_paddr));
	max_addrs = xcgn_pinned_max_entries(path);
	r->skel = xcgn_datapath_load(r->dir, &r->li, max_routes, max_addrs,
				     r->old ? &r->keep : NULL);
	return r->skel ? 0 : -errno;
}

/* Everything the new programs need, before they run: the seed, and from
 * an older layout the link record and the maps they read from their
 * first packet. */
static int reload_prepare(struct reload *r)
{
	__u32 zero = 0;
	int err, i;

	err = xcgn_datapath_seed(r->skel, &r->li);
	if (err)
		return err;
	if (r->old && bpf_map_update_elem(bpf_map__fd(r->skel->maps.xcgn_link), &zero, &r->li, 0))
		err = -errno;
	if (!err && r->mg && r->mg->seed) {
		struct xcgn_maps nm;

		err = xcgn_maps_open_dir(&nm, r->dir);
		if (!err) {
			err = r->mg->seed(&nm);
			xcgn_maps_close(&nm);
		}
	}
	for (i = 0; !err && r->old && i < XCGN_NMAPS; i++) {
		int (*pv)(int, int, const struct xcgn_link_info *) =
			preparer(r->mg, xcgn_map_names[i]);
		struct bpf_map *map;

		if (!pv || ((int *)&r->conv)[i] < 0)
			continue;
		map = bpf_object__find_map_by_name(r->skel->obj, xcgn_map_names[i]);
		err = map ? pv(((int *)&r->conv)[i], bpf_map__fd(map), &r->li) : -ENOENT;
	}
	if (err)
		xcgn_err("prepare the new programs: %s", strerror(-err));
	return err;
}

/* The inside's ingress (hairpinning before routing): replaced, or new to
 * an instance attached before it existed. */
static int reload_switch_inside_in(struct reload *r)
{
	bool made = false;
	__u32 zero = 0;
	int err;

	err = xcgn_tc_hook_in((int)r->li.inside_ifindex,
			      bpf_program__fd(r->skel->progs.xcgn_tc_inside_in), true, &made);
	if (err) {
		xcgn_err("replace the tc ingress program of the inside: %s", strerror(-err));
		return err;
	}
	if (!made)
		return 0;
	r->li.flags |= XCGN_LINKF_QDISC_IN_CREATED;
	if (bpf_map_update_elem(bpf_map__fd(r->skel->maps.xcgn_link), &zero, &r->li, 0)) {
		err = -errno;
		xcgn_err("record the inside's qdisc: %s", strerror(-err));
	}
	return err;
}

/* The switch: per device atomic, XDP first (where the traffic is), then
 * tc, then the PCP program's pin. */
static int reload_switch(struct reload *r)
{
	struct xcgn_xdp *skel = r->skel;
	int out = (int)r->li.outside_ifindex, err;

	err = link_switch(r->old_dir, r->dir, XCGN_PIN_LINK_IN,
			  bpf_program__fd(skel->progs.xcgn_xdp_inside));
	if (err < 0)
		return err;
	r->switched = true;
	err = link_switch(r->old_dir, r->dir, XCGN_PIN_LINK_OUT,
			  bpf_program__fd(skel->progs.xcgn_xdp_outside));
	err = err < 0 ? err : 0;
	if (!err)
		err = tc_switch(out, BPF_TC_EGRESS, bpf_program__fd(skel->progs.xcgn_tc_outside));
	if (!err)
		err = tc_switch(out, BPF_TC_INGRESS, bpf_program__fd(skel->progs.xcgn_tc_outside_in));
	if (!err)
		err = reload_switch_inside_in(r);
	if (!err)
		err = xcgn_pin_pcp_prog(r->dir, bpf_program__fd(skel->progs.xcgn_pcp_ctl));
	return err;
}

/* The old programs are gone: what they counted moves now (counters only:
 * the switch stands), and the old layout's pins go. */
static void reload_convert(struct reload *r)
{
	for (int i = 0; r->old && i < XCGN_NMAPS; i++) {
		int (*cv)(int, int) = converter(r->mg, xcgn_map_names[i]);
		struct bpf_map *map;
		int err;

		if (!cv || ((int *)&r->conv)[i] < 0)
			continue;
		map = bpf_object__find_map_by_name(r->skel->obj, xcgn_map_names[i]);
		err = map ? cv(((int *)&r->conv)[i], bpf_map__fd(map)) : -ENOENT;
		if (err)
			xcgn_logf(LOG_WARNING, "xcgn: warning: %s not moved from abi %d: %s\n",
				xcgn_map_names[i], r->old, strerror(-err));
	}
	if (r->old) {
		xcgn_unpin_all(r->old_dir);
		xcgn_logf(LOG_INFO, "xcgn: state moved from layout abi %d to abi %d\n", r->old,
			XCGN_ABI_VERSION);
	}
}

/* open-old, load, prepare, switch, convert; one cleanup. */
static int reload_locked(const char *dir)
{
	struct reload r = { .dir = dir };
	int err;

	xcgn_maps_none(&r.keep);
	xcgn_maps_none(&r.conv);
	err = reload_open_old(&r);
	if (!err)
		err = reload_load(&r);
	if (!err)
		err = reload_prepare(&r);
	if (!err)
		err = reload_switch(&r);
	if (!err)
		reload_convert(&r);
	if (err && !r.switched && r.old)
		xcgn_unpin_all(dir);	/* the new version's pins only: the old ones hold */
	if (err && r.switched)
		xcgn_err("the reload stopped half way: some programs are this binary's; run "
			 "`xcgn link reload` again");
	xcgn_xdp__destroy(r.skel);
	xcgn_maps_close(&r.keep);
	xcgn_maps_close(&r.conv);
	return err;
}

int xcgn_reload_locked(void)
{
	char dir[256];

	if (xcgn_pin_dir(dir, sizeof(dir)))
		return XCGN_EXIT_ERR;
	return reload_locked(dir) ? XCGN_EXIT_ERR : XCGN_EXIT_OK;
}
