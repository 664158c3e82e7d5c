// SPDX-License-Identifier: GPL-2.0
/* What an attached instance is, read back from its pins, and the part of
 * it that changes while traffic flows (`xcgn link set`, config apply): the
 * runtime switches and refusal-icmp in xcgn_state, the reverse-path modes
 * in xcgn_rpfdev. Every program reads those per packet. */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

#include "datapath/datapath.h"
#include "net/rpf.h"

int link_running(const struct xcgn_maps *m, struct attach_opts *o, char *inside, char *outside)
{
	struct xcgn_link_info li;
	struct xcgn_state rs;
	struct xcgn_rpf_dev d;
	struct nl_link nl;
	__u32 zero = 0, which;
	int err;

	err = xcgn_link_read(m, &li);
	if (err)
		return err;
	if (bpf_map_lookup_elem(m->state, &zero, &rs)) {
		err = -errno;
		xcgn_err("read the runtime state: %s", strerror(-err));
		return err;
	}
	attach_opts_init(o);
	snprintf(inside, 16, "%s", nl_link_get(NULL, (int)li.inside_ifindex, &nl) ? "(gone)" : nl.name);
	snprintf(outside, 16, "%s",
		 nl_link_get(NULL, (int)li.outside_ifindex, &nl) ? "(gone)" : nl.name);
	o->inside = inside;
	o->outside = outside;
	o->xdp_mode = li.xdp_mode;
	o->sub_prefix = li.sub_prefix;
	o->sub_plen = li.sub_plen;
	o->max_maps = li.max_maps;
	o->max_subs = li.max_subs;
	o->max_routes = xcgn_pinned_max_entries_fd(NULL, m->rpf4);
	o->max_addrs = xcgn_naddrs(m);
	o->refusal_icmp = rs.refusal_icmp;
	o->switches = rs.switches;
	o->mss_clamp = rs.mss_clamp;
	err = announce_table(&o->route_table);
	if (err) {
		xcgn_err("read xcgn's routes: %s", strerror(-err));
		return err;
	}
	for (which = XCGN_RPF_DEV_INSIDE; which <= XCGN_RPF_DEV_OUTSIDE; which++) {
		if (bpf_map_lookup_elem(m->rpfdev, &which, &d)) {
			err = -errno;
			xcgn_err("read the reverse-path modes: %s", strerror(-err));
			return err;
		}
		if (which == XCGN_RPF_DEV_INSIDE)
			o->rpf_in = d.mode;
		else
			o->rpf_out = d.mode;
	}
	return 0;
}

static int rpf_mode_write(const struct xcgn_maps *m, __u32 which, uint8_t mode)
{
	struct xcgn_rpf_dev d;

	if (bpf_map_lookup_elem(m->rpfdev, &which, &d))
		return -errno;
	d.mode = mode;
	return bpf_map_update_elem(m->rpfdev, &which, &d, BPF_EXIST) ? -errno : 0;
}

uint16_t mss_clamp_of(const struct attach_opts *o, unsigned int mtu_in, unsigned int mtu_out)
{
	unsigned int mtu = mtu_in < mtu_out ? mtu_in : mtu_out;

	if (!(o->switches & XCGN_SW_MSS_AUTO))
		return o->mss_clamp;
	return mtu > XCGN_MSS_MIN + 40 ? (uint16_t)(mtu > XCGN_MSS_MAX + 40 ? XCGN_MSS_MAX : mtu - 40)
				       : XCGN_MSS_MIN;
}

/* The clamp @o asks for on the attached devices (auto reads their MTU). */
static int mss_clamp_resolve(const struct attach_opts *o, const struct xcgn_link_info *li,
			     uint16_t *mss)
{
	struct nl_link in, out;
	int err;

	if (!(o->switches & XCGN_SW_MSS_AUTO)) {
		*mss = o->mss_clamp;
		return 0;
	}
	err = nl_link_get(NULL, (int)li->inside_ifindex, &in);
	if (!err)
		err = nl_link_get(NULL, (int)li->outside_ifindex, &out);
	if (err) {
		xcgn_err("mss-clamp auto: read the devices' MTU: %s", strerror(-err));
		return err;
	}
	*mss = mss_clamp_of(o, in.mtu, out.mtu);
	return 0;
}

int link_set(const struct xcgn_maps *m, const struct attach_opts *o)
{
	struct xcgn_link_info li;
	struct xcgn_state rs;
	__u32 zero = 0;
	int err;

	if (o->refusal_icmp >= XCGN_REFUSAL_MAX || o->rpf_in >= XCGN_RPF_MODE_MAX ||
	    o->rpf_out >= XCGN_RPF_MODE_MAX) {
		xcgn_err("link set: a value out of its range");
		return -EINVAL;
	}
	if (bpf_map_lookup_elem(m->state, &zero, &rs) || xcgn_link_read(m, &li)) {
		err = -errno;
		xcgn_err("read the runtime state: %s", strerror(-err));
		return err;
	}
	err = mss_clamp_resolve(o, &li, &rs.mss_clamp);
	if (err)
		return err;
	rs.switches = o->switches;
	rs.refusal_icmp = o->refusal_icmp;
	li.refusal_icmp = o->refusal_icmp;	/* the record of what is set */
	err = bpf_map_update_elem(m->state, &zero, &rs, BPF_EXIST) ||
			      bpf_map_update_elem(m->link, &zero, &li, BPF_EXIST)
		      ? -errno
		      : 0;
	if (!err)
		err = rpf_mode_write(m, XCGN_RPF_DEV_INSIDE, o->rpf_in);
	if (!err)
		err = rpf_mode_write(m, XCGN_RPF_DEV_OUTSIDE, o->rpf_out);
	if (err) {
		xcgn_err("link set: %s", strerror(-err));
		return err;
	}
	return announce_sync(m, o->route_table);
}
