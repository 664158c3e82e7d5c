// SPDX-License-Identifier: GPL-2.0
/* rtnetlink over libmnl: ask the kernel about devices directly, in the
 * network namespace the process runs in. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <net/if.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "net/net.h"

#define NL_DUMP_BUF (64 * 1024)

/* libmnl's walk takes a message's length as an int: one of 2^31 bytes or
 * more turns negative, passes its bound check and sends the walk far past
 * the buffer (found by fuzz_netlink). The kernel never sends one; a buffer
 * from anywhere else is walked here first. */
bool nl_buf_ok(const void *buf, size_t len)
{
	const struct nlmsghdr *nlh;
	size_t off = 0;

	while (len - off >= sizeof(*nlh)) {
		nlh = (const void *)((const char *)buf + off);
		if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > len - off)
			return false;
		off += NLMSG_ALIGN(nlh->nlmsg_len);
		if (off > len)
			break;
	}
	return true;
}

const void *nl_payload(const struct nlmsghdr *nlh, size_t len)
{
	return mnl_nlmsg_get_payload_len(nlh) < len ? NULL : mnl_nlmsg_get_payload(nlh);
}

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	struct nl_link *l = data;

	if (mnl_attr_type_valid(attr, IFLA_MAX) < 0)
		return MNL_CB_OK;
	switch (mnl_attr_get_type(attr)) {
	case IFLA_IFNAME:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			return MNL_CB_ERROR;
		snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(attr));
		break;
	case IFLA_MTU:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		l->mtu = mnl_attr_get_u32(attr);
		break;
	}
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifm = nl_payload(nlh, sizeof(*ifm));
	struct nl_link *l = data;

	if (!ifm)
		return MNL_CB_ERROR;
	l->ifindex = ifm->ifi_index;
	l->flags = ifm->ifi_flags;
	return mnl_attr_parse(nlh, sizeof(*ifm), link_attr_cb, l);
}

static int nl_talk(struct nlmsghdr *nlh, char *buf, size_t len, mnl_cb_t cb, void *data);

int nl_link_get(const char *name, int ifindex, struct nl_link *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;

	if (name && strlen(name) >= IFNAMSIZ)
		return -ENODEV;
	memset(out, 0, sizeof(*out));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	/* The answer, then the acknowledgement that ends the conversation;
	 * an unknown name or index is answered with -ENODEV. */
	nlh->nlmsg_flags = NLM_F_ACK;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	else
		ifm->ifi_index = ifindex;
	return nl_talk(nlh, buf, sizeof(buf), link_cb, out);
}

int nl_ifaddr(const struct nlmsghdr *nlh, int *ifindex, uint32_t *addr_be, uint8_t *plen)
{
	const struct ifaddrmsg *ifa = nl_payload(nlh, sizeof(*ifa));
	const struct nlattr *attr;
	uint32_t local = 0, address = 0;
	bool have = false;

	if (!ifa)
		return -EINVAL;
	if (ifa->ifa_family != AF_INET)
		return 0;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
		int t = mnl_attr_get_type(attr);

		if (t != IFA_LOCAL && t != IFA_ADDRESS)
			continue;
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return -EINVAL;
		if (t == IFA_LOCAL)
			local = mnl_attr_get_u32(attr);
		else
			address = mnl_attr_get_u32(attr);
		have = true;
	}
	if (!have)
		return 0;
	/* IFA_LOCAL is this host's end (on a point-to-point device
	 * IFA_ADDRESS is the peer's); without it IFA_ADDRESS is both. */
	*addr_be = local ? local : address;
	*ifindex = (int)ifa->ifa_index;
	*plen = ifa->ifa_prefixlen;
	return 1;
}

/* Send @nlh (its flags set, NLM_F_REQUEST added) and read the answers
 * into @buf until the last (NLMSG_DONE, or the acknowledgement), running
 * @cb on each. 0, or -errno (the kernel's, for a refused request). */
static int nl_talk(struct nlmsghdr *nlh, char *buf, size_t len, mnl_cb_t cb, void *data)
{
	struct mnl_socket *nl;
	unsigned int seq, portid;
	ssize_t ret;
	int err = 0;

	nlh->nlmsg_flags |= NLM_F_REQUEST;
	nlh->nlmsg_seq = seq = (unsigned int)time(NULL);
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	for (;;) {
		ret = mnl_socket_recvfrom(nl, buf, len);
		if (ret < 0) {
			err = -errno;
			break;
		}
		if (!nl_buf_ok(buf, (size_t)ret)) {
			err = -EBADMSG;
			break;
		}
		errno = 0;
		ret = mnl_cb_run(buf, (size_t)ret, seq, portid, cb, data);
		if (ret <= MNL_CB_STOP) {
			if (ret < 0)
				err = errno ? -errno : -EIO;
			break;
		}
	}
out:
	mnl_socket_close(nl);
	return err;
}

/* Send a dump request (@type with the family header @hdr) and run @cb on
 * every answer, until NLMSG_DONE. Returns 0 or -errno. */
int nl_dump(uint16_t type, const void *hdr, size_t hdrlen, mnl_cb_t cb, void *data)
{
	struct nlmsghdr *nlh;
	char *buf;
	int err;

	/* A route dump message can be large; libmnl's buffer size is the
	 * kernel's page-sized minimum. */
	buf = malloc(NL_DUMP_BUF);
	if (!buf)
		return -ENOMEM;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_DUMP;
	memcpy(mnl_nlmsg_put_extra_header(nlh, hdrlen), hdr, hdrlen);
	err = nl_talk(nlh, buf, NL_DUMP_BUF, cb, data);
	free(buf);
	return err;
}

static bool other_dev(uint32_t addr __unused, int ifindex, const void *want)
{
	return ifindex != *(const int *)want;
}

/* The first address of the device: any address (0/0) not on another. */
int nl_addr_first(int ifindex, uint32_t *addr_be)
{
	int dev, ret = nl_addr_within(0, 0, other_dev, &ifindex, addr_be, &dev);

	return ret < 0 ? ret : ret ? 0 : -ENOENT;
}

/* Send one request @nlh (NLM_F_REQUEST | NLM_F_ACK are added to its
 * flags) and read the kernel's answer: 0 or the -errno it gave. */
int nl_request(struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];

	nlh->nlmsg_flags |= NLM_F_ACK;
	return nl_talk(nlh, buf, sizeof(buf), NULL, NULL);
}

struct addr_in_req {
	uint32_t prefix;
	uint8_t plen;
	bool (*skip)(uint32_t addr, int ifindex, const void *ctx);
	const void *ctx;
	uint32_t found;
	int ifindex;
};

static int addr_in_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_in_req *r = data;
	uint32_t addr;
	uint8_t plen;
	int ifindex, ret;

	if (r->found)
		return MNL_CB_OK;
	ret = nl_ifaddr(nlh, &ifindex, &addr, &plen);
	if (ret < 0)
		return MNL_CB_ERROR;
	if (ret && prefix_overlap(addr, 32, r->prefix, r->plen) &&
	    !(r->skip && r->skip(addr, ifindex, r->ctx))) {
		r->found = addr;
		r->ifindex = ifindex;
	}
	return MNL_CB_OK;
}

int nl_addr_within(uint32_t prefix, uint8_t plen,
		   bool (*skip)(uint32_t addr, int ifindex, const void *ctx), const void *ctx,
		   uint32_t *addr_be, int *ifindex)
{
	struct addr_in_req r = { .prefix = prefix, .plen = plen, .skip = skip, .ctx = ctx };
	struct ifaddrmsg ifa = { .ifa_family = AF_INET };
	int err = nl_dump(RTM_GETADDR, &ifa, sizeof(ifa), addr_in_cb, &r);

	if (err)
		return err;
	*addr_be = r.found;
	*ifindex = r.ifindex;
	return !!r.found;
}

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWTFILTER)
		(*(int *)data)++;
	return MNL_CB_OK;
}

int nl_tc_filters(int ifindex)
{
	static const __u32 mins[] = { TC_H_MIN_INGRESS, TC_H_MIN_EGRESS };
	int n = 0, err;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(mins); i++) {
		struct tcmsg t = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex,
				   .tcm_parent = TC_H_MAKE(TC_H_CLSACT, mins[i]) };

		err = nl_dump(RTM_GETTFILTER, &t, sizeof(t), count_cb, &n);
		if (err)
			return err;
	}
	return n;
}
