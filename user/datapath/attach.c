// SPDX-License-Identifier: GPL-2.0
/* Attach and detach: the devices checked, the datapath loaded and seeded,
 * XDP and tc hooked, the result recorded; and exactly that undone. */
#include <errno.h>
#include <syslog.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath/internal.h"
#include "xcgn_xdp.skel.h"

/* ---- attach / detach ----------------------------------------------------- */

static int link_pin(int prog_fd, int ifindex, int mode, const char *dir, const char *pin,
		    const char *dev)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo);
	char path[512];
	int fd, err;

	lo.flags = mode == XCGN_XDP_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &lo);
	if (fd < 0) {
		err = -errno;
		if (err == -EOPNOTSUPP || err == -EINVAL)
			xcgn_err("attach xdp on %s: %s: the driver has no native XDP; "
				 "use `xdp-mode generic`",
				 dev, strerror(-err));
		else if (err == -EBUSY || err == -EEXIST)
			xcgn_err("attach xdp on %s: %s: another XDP program is attached there",
				 dev, strerror(-err));
		else
			xcgn_err("attach xdp on %s: %s", dev, strerror(-err));
		return err;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, pin);
	if (bpf_obj_pin(fd, path)) {
		err = -errno;
		xcgn_err("pin %s: %s", path, strerror(-err));
		bpf_link_detach(fd);
		close(fd);
		return err;
	}
	close(fd);	/* the pin keeps it attached */
	return 0;
}

static void link_unpin(const char *dir, const char *pin)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, pin);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		if (bpf_link_detach(fd) && errno != ENOLINK && errno != EINVAL)
			xcgn_err("detach %s: %s", path, strerror(errno));
		close(fd);
	}
	unlink(path);
}

/* Put @prog_fd on the tc ingress of @ifindex (replacing xcgn's filter
 * there with @replace), making the clsact qdisc if there is none;
 * @created says whether this call made it. 0 or -errno. */
int xcgn_tc_hook_in(int ifindex, int prog_fd, bool replace, bool *created)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, tco, .handle = XCGN_TC_HANDLE, .priority = XCGN_TC_PRIO_IN,
		    .prog_fd = prog_fd, .flags = replace ? BPF_TC_F_REPLACE : 0);
	int err = bpf_tc_hook_create(&hook);

	if (err && err != -EEXIST)
		return err;
	*created = !err;
	err = bpf_tc_attach(&hook, &tco);
	if (err && *created) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
		*created = false;
	}
	return err;
}

static void tc_remove(int ifindex, __u32 prio, bool destroy_qdisc)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XCGN_TC_HANDLE, .priority = prio);

	bpf_tc_detach(&hook, &opts);
	hook.attach_point = BPF_TC_INGRESS;
	bpf_tc_detach(&hook, &opts);
	/* The clsact qdisc goes only if xcgn made it and nobody else's
	 * filter sits on it now. */
	if (destroy_qdisc && nl_tc_filters(ifindex) != 0) {
		xcgn_logf(LOG_INFO, "xcgn: keeping the clsact qdisc of ifindex %d: other filters "
				"use it\n", ifindex);
		destroy_qdisc = false;
	}
	if (destroy_qdisc) {
		/* Both points together make libbpf delete the clsact qdisc. */
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
}

/* An attach, in steps (validate, load, seed, hook, record), and what it
 * has done so far, which its one undo path reads. */
struct attach {
	const struct attach_opts *o;
	struct nl_link in, out;
	char dir[256];
	struct xcgn_link_info li;
	struct xcgn_xdp *skel;
	bool made_dir, in_linked, out_linked, tc_done, qdisc_created;
	bool tc_in_done, qdisc_in_created;
};

/* The devices, and what would make this fail or make the kernel drop what
 * xcgn passes: said before anything is touched. An exit status. */
static int attach_validate(struct attach *a)
{
	const struct attach_opts *o = a->o;
	int err;

	err = nl_link_get(o->inside, 0, &a->in);
	if (err) {
		xcgn_err("inside device \"%s\": %s", o->inside,
			 err == -ENODEV ? "no such device" : strerror(-err));
		return XCGN_EXIT_ERR;
	}
	err = nl_link_get(o->outside, 0, &a->out);
	if (err) {
		xcgn_err("outside device \"%s\": %s", o->outside,
			 err == -ENODEV ? "no such device" : strerror(-err));
		return XCGN_EXIT_ERR;
	}
	if (a->in.ifindex == a->out.ifindex) {
		xcgn_err("inside and outside are the same device (%s)", a->in.name);
		return XCGN_EXIT_USAGE;
	}
	{
		struct rpf_lint_cfg lc = {
			.inside = a->in.ifindex,
			.outside = a->out.ifindex,
			.sub_prefix = o->sub_prefix,
			.sub_plen = o->sub_plen,
			.mode_in = o->rpf_in,
			.mode_out = o->rpf_out,
		};
		long errors = rpf_lint_host(&lc, true);

		if (errors < 0)
			return XCGN_EXIT_ERR;
		if (errors && !o->force) {
			xcgn_err("refusing to attach: %ld error(s) above; fix them (or attach with "
				 "`force` to go ahead anyway)",
				 errors);
			return XCGN_EXIT_ERR;
		}
	}
	return xcgn_pin_dir(a->dir, sizeof(a->dir)) ? XCGN_EXIT_ERR : XCGN_EXIT_OK;
}

/* Nothing of xcgn here yet; the pin directory made, the datapath loaded
 * over it and the layout stamp written first (every command checks it). */
static int attach_load(struct attach *a)
{
	int err, ov;

	if (xcgn_instance_stale(a->dir)) {
		xcgn_say_stale(a->dir);
		return -ESTALE;
	}
	if (xcgn_attached_here(a->dir)) {
		xcgn_err("xcgn is already attached in this network namespace (%s); "
			 "run `xcgn link detach` first",
			 a->dir);
		return -EEXIST;
	}
	if ((ov = xcgn_pinned_version(a->dir))) {
		xcgn_err("xcgn of layout abi %d is attached in this network namespace: `xcgn link "
			 "reload` moves it to this binary's layout, `xcgn link detach` ends it",
			 ov);
		return -EEXIST;
	}
	err = xcgn_mkdir_p(a->dir, 0700);
	if (err) {
		xcgn_err("create %s: %s", a->dir, strerror(-err));
		return err;
	}
	a->made_dir = true;	/* from here on, a failure removes what it pinned */
	a->li.inside_ifindex = (__u32)a->in.ifindex;
	a->li.outside_ifindex = (__u32)a->out.ifindex;
	a->li.sub_prefix = a->o->sub_prefix;
	a->li.sub_plen = a->o->sub_plen;
	a->li.refusal_icmp = a->o->refusal_icmp;
	a->li.max_maps = a->o->max_maps;
	a->li.max_subs = a->o->max_subs;
	a->skel = xcgn_datapath_load(a->dir, &a->li, a->o->max_routes, a->o->max_addrs, NULL);
	if (!a->skel)
		return -errno;
	return xcgn_datapath_seed(a->skel, &a->li);
}

/* The tables the programs read, before any program runs: the devmap, the
 * runtime state (a re-attach over pinned state keeps what the pool and
 * bypass commands published), the link record and the reverse-path
 * tables. */
static int attach_seed(struct attach *a)
{
	struct xcgn_xdp *skel = a->skel;
	struct xcgn_state rs = {};
	__u32 zero = 0, k;
	int err;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.xcgn_state), &zero, &rs)) {
		err = -errno;
		xcgn_err("state map: %s", strerror(-err));
		return err;
	}
	if (!rs.naddrs_hwm)
		rs.paddr_min = UINT32_MAX;
	rs.switches = a->o->switches;
	rs.refusal_icmp = a->o->refusal_icmp;
	rs.mss_clamp = mss_clamp_of(a->o, a->in.mtu, a->out.mtu);
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xcgn_state), &zero, &rs, 0)) {
		err = -errno;
		xcgn_err("state map: %s", strerror(-err));
		return err;
	}
	{
		/* the maps the sync uses; the rest none (never fd 0, stdin) */
		struct xcgn_maps m;
		struct xcgn_rpf_dev d = { .ifindex = (__u32)a->in.ifindex, .mode = a->o->rpf_in };

		xcgn_maps_none(&m);
		m.link = bpf_map__fd(skel->maps.xcgn_link);
		m.rpf4 = bpf_map__fd(skel->maps.xcgn_rpf4);
		m.rpfdev = bpf_map__fd(skel->maps.xcgn_rpfdev);
		k = XCGN_RPF_DEV_INSIDE;
		if (bpf_map_update_elem(m.link, &zero, &a->li, 0) ||
		    bpf_map_update_elem(m.rpfdev, &k, &d, 0)) {
			err = -errno;
			xcgn_err("reverse-path device table: %s", strerror(-err));
			return err;
		}
		d = (struct xcgn_rpf_dev){ .ifindex = (__u32)a->out.ifindex, .mode = a->o->rpf_out };
		k = XCGN_RPF_DEV_OUTSIDE;
		if (bpf_map_update_elem(m.rpfdev, &k, &d, 0)) {
			err = -errno;
			xcgn_err("reverse-path device table: %s", strerror(-err));
			return err;
		}
		return rpf_sync(&m, NULL, false);
	}
}

/* The programs onto the devices: XDP on both (pinned links), tc egress
 * and ingress on the outside (ingress: fragments that come before their
 * first; the clsact qdisc has both points). */
static int attach_hook(struct attach *a)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, tco, .handle = XCGN_TC_HANDLE, .priority = XCGN_TC_PRIO);
	struct xcgn_xdp *skel = a->skel;
	int err;

	err = link_pin(bpf_program__fd(skel->progs.xcgn_xdp_inside), a->in.ifindex,
		       a->o->xdp_mode, a->dir, XCGN_PIN_LINK_IN, a->in.name);
	if (err)
		return err;
	a->in_linked = true;
	err = link_pin(bpf_program__fd(skel->progs.xcgn_xdp_outside), a->out.ifindex,
		       a->o->xdp_mode, a->dir, XCGN_PIN_LINK_OUT, a->out.name);
	if (err)
		return err;
	a->out_linked = true;

	hook.ifindex = a->out.ifindex;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		xcgn_err("create clsact qdisc on %s: %s", a->out.name, strerror(-err));
		return err;
	}
	a->qdisc_created = !err;
	tco.prog_fd = bpf_program__fd(skel->progs.xcgn_tc_outside);
	err = bpf_tc_attach(&hook, &tco);
	if (err) {
		xcgn_err("attach tc egress on %s: %s", a->out.name, strerror(-err));
		return err;
	}
	a->tc_done = true;
	hook.attach_point = BPF_TC_INGRESS;
	tco.prog_fd = bpf_program__fd(skel->progs.xcgn_tc_outside_in);
	tco.prog_id = 0;
	tco.flags = 0;
	err = bpf_tc_attach(&hook, &tco);
	if (err) {
		xcgn_err("attach tc ingress on %s: %s", a->out.name, strerror(-err));
		return err;
	}
	/* The inside's ingress: hairpinning before the routing decision. */
	err = xcgn_tc_hook_in(a->in.ifindex, bpf_program__fd(skel->progs.xcgn_tc_inside_in),
			      false, &a->qdisc_in_created);
	if (err)
		xcgn_err("attach tc ingress on %s: %s", a->in.name, strerror(-err));
	a->tc_in_done = !err;
	return err;
}

/* What only the attach itself knows, now that it is done. */
static int attach_record(struct attach *a)
{
	struct timespec rt, mono;
	__u32 zero = 0;
	int err;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	a->li.xdp_mode = (__u8)a->o->xdp_mode;
	a->li.flags = (a->qdisc_created ? XCGN_LINKF_QDISC_CREATED : 0) |
		      (a->qdisc_in_created ? XCGN_LINKF_QDISC_IN_CREATED : 0);
	a->li.attached_unix = (__u64)rt.tv_sec;
	a->li.boot_offset_ns = (__u64)(rt.tv_sec - mono.tv_sec) * 1000000000ULL +
			       (__u64)(rt.tv_nsec - mono.tv_nsec);
	if (bpf_map_update_elem(bpf_map__fd(a->skel->maps.xcgn_link), &zero, &a->li, 0)) {
		err = -errno;
		xcgn_err("link map: %s", strerror(-err));
		return err;
	}
	return 0;
}

/* The one undo path: the devices as found, every pin of this attach gone. */
static void attach_undo(struct attach *a)
{
	if (!a->made_dir)
		return;
	if (a->tc_done || a->qdisc_created)
		tc_remove(a->out.ifindex, XCGN_TC_PRIO, a->qdisc_created);
	if (a->tc_in_done || a->qdisc_in_created)
		tc_remove(a->in.ifindex, XCGN_TC_PRIO_IN, a->qdisc_in_created);
	if (a->out_linked)
		link_unpin(a->dir, XCGN_PIN_LINK_OUT);
	if (a->in_linked)
		link_unpin(a->dir, XCGN_PIN_LINK_IN);
	xcgn_unpin_all(a->dir);
}

int xcgn_attach_locked(const struct attach_opts *o)
{
	struct attach a = { .o = o };
	int ret, err;

	ret = attach_validate(&a);
	if (ret)
		return ret;
	err = attach_load(&a);
	if (!err)
		err = attach_seed(&a);
	if (!err)
		err = attach_hook(&a);
	if (!err)
		err = attach_record(&a);
	if (!err)
		err = xcgn_pin_pcp_prog(a.dir, bpf_program__fd(a.skel->progs.xcgn_pcp_ctl));
	if (!err)	/* no pool yet: the default route; stale ones go */
		err = announce_sync(NULL, o->route_table);
	if (err)
		attach_undo(&a);
	xcgn_xdp__destroy(a.skel);
	return err ? XCGN_EXIT_ERR : XCGN_EXIT_OK;
}

/* Detach works on any layout, this binary's or another version's, and on
 * incomplete pins: it is the way out of every state. It reads only
 * xcgn_link, whose layout never changed. */
int xcgn_detach_locked(void)
{
	struct xcgn_link_info li = {};
	char dir[256], path[512];
	__u32 zero = 0;
	int err, fd, v;

	err = xcgn_pin_dir(dir, sizeof(dir));
	if (err)
		return XCGN_EXIT_ERR;
	if (!xcgn_attached_here(dir) && (v = xcgn_pinned_version(dir))) {
		char *slash = strrchr(dir, '/');

		snprintf(slash + 1, sizeof(dir) - (size_t)(slash + 1 - dir), "v%d", v);
		xcgn_logf(LOG_INFO, "xcgn: detaching the instance of layout abi %d\n", v);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, XCGN_PIN_LINK_IN);
	if (access(path, F_OK)) {
		xcgn_err("xcgn is not attached in this network namespace (no %s)", path);
		return XCGN_EXIT_ERR;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, xcgn_map_names[XCGN_MI_link]);
	fd = bpf_obj_get(path);
	if (fd < 0 || bpf_map_lookup_elem(fd, &zero, &li)) {
		xcgn_err("%s: %s: detaching XDP only; a tc filter (handle 0x%x) may stay on the "
			 "outside device", path, strerror(errno), XCGN_TC_HANDLE);
		memset(&li, 0, sizeof(li));
	}
	if (fd >= 0)
		close(fd);

	if (xcgn_instance_stale(dir)) {
		/* Its devices are gone; the ifindexes it noted may be this
		 * namespace's devices now: touch none, drop the pins. */
		xcgn_logf(LOG_INFO, "xcgn: %s served a namespace that is gone: removing its pins "
				"only\n", dir);
		xcgn_unpin_all(dir);
		return XCGN_EXIT_OK;
	}
	/* Withdrawn first: no traffic is drawn here once it is not served. */
	announce_sync(NULL, 0);
	link_unpin(dir, XCGN_PIN_LINK_IN);
	link_unpin(dir, XCGN_PIN_LINK_OUT);
	if (li.outside_ifindex)
		tc_remove((int)li.outside_ifindex, XCGN_TC_PRIO, li.flags & XCGN_LINKF_QDISC_CREATED);
	if (li.inside_ifindex)	/* an instance of before the inside hook: nothing there */
		tc_remove((int)li.inside_ifindex, XCGN_TC_PRIO_IN,
			  li.flags & XCGN_LINKF_QDISC_IN_CREATED);
	xcgn_unpin_all(dir);
	return XCGN_EXIT_OK;
}
