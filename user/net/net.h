/* SPDX-License-Identifier: GPL-2.0 */
/* user/net: rtnetlink over libmnl (nl.c). The reverse-path FIB and lint
 * (rpf.h) and the PCP codec (pcp.h) sit beside it. Nothing here touches
 * the datapath. */
#ifndef XCGN_NET_H
#define XCGN_NET_H

#include "lib/lib.h"

/* ---- nl.c: rtnetlink over libmnl --------------------------------------- */
struct nl_link {
	int ifindex;
	char name[16];
	unsigned int mtu;
	unsigned int flags;	/* IFF_* */
};
/* Look a device up by name (@name) or by index (@ifindex when name is
 * NULL). Returns 0, -ENODEV, or another -errno. */
int nl_link_get(const char *name, int ifindex, struct nl_link *out);
/* An address of this host inside PREFIX/PLEN that @skip (if any) does not
 * pass over: 1 with it and its device, 0 when none, or -errno. */
int nl_addr_within(uint32_t prefix, uint8_t plen,
		   bool (*skip)(uint32_t addr, int ifindex, const void *ctx), const void *ctx,
		   uint32_t *addr_be, int *ifindex);
/* The first IPv4 address of a device: -ENOENT when it has none. */
int nl_addr_first(int ifindex, uint32_t *addr_be);
struct nlmsghdr;
/* An RTM_NEWADDR message's IPv4 address (this host's end), device and
 * prefix length: 1, 0 when it is no IPv4 address, or -EINVAL. */
int nl_ifaddr(const struct nlmsghdr *nlh, int *ifindex, uint32_t *addr_be, uint8_t *plen);
/* A dump request of @type with family header @hdr; @cb (a libmnl mnl_cb_t)
 * runs on every answer. Returns 0 or -errno. */
int nl_dump(uint16_t type, const void *hdr, size_t hdrlen,
	    int (*cb)(const struct nlmsghdr *nlh, void *data), void *data);
/* The tc filters on a device's clsact qdisc, both directions: a count,
 * or -errno. */
int nl_tc_filters(int ifindex);
/* Every message of @buf lies within it (what libmnl's walk assumes). */
bool nl_buf_ok(const void *buf, size_t len);
/* A message's fixed header of @len bytes, or NULL when it is shorter. */
const void *nl_payload(const struct nlmsghdr *nlh, size_t len);
/* One request, acknowledged: 0 or the kernel's -errno. */
int nl_request(struct nlmsghdr *nlh);


#endif /* XCGN_NET_H */
