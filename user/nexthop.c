// SPDX-License-Identifier: GPL-2.0
/* The next-hop cache's keeper (issue 13 item 1): the daemon's word in
 * xcgn_nhctl, which the datapath's cache (bpf/lib/nexthop.h) serves by.
 *
 * A thread of its own, so that nothing the main loop does (a collector
 * pass over a million mappings, a slow disk under the NAT log) delays it:
 *   - every message from rtnetlink about routes, rules, addresses, links,
 *     neighbours or netconf moves the generation at once, which kills
 *     every cached next hop; a message other than a neighbour's also
 *     turns the cache off until the main loop, having read the FIB again,
 *     says whether a destination alone still decides the next hop (no
 *     policy rules, no multipath, no TOS routes: rpf_fib_simple());
 *   - every NH_TICK_MS it renews the lease (XCGN_NH_LEASE_NS), so that a
 *     daemon that stops, however it stops, takes the cache with it within
 *     the lease: the datapath then asks the FIB for every packet, as it
 *     did before the cache.
 * A lost or truncated message (ENOBUFS) counts as a change. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "xcgn.h"

#define NH_TICK_MS 25

struct nh_keeper {
	pthread_t th;
	bool running;
	int ctl_fd;		/* xcgn_nhctl */
	int stop_fd;		/* eventfd: the main loop says stop */
	struct mnl_socket *nl;
	uint32_t gen;
	/* The FIB's word, from the main loop: set with the change count it
	 * read the FIB after; the cache serves only while no other change
	 * came in since. */
	atomic_uint changes;	/* non-neighbour changes heard */
	atomic_uint simple_at;	/* changes + 1 when the FIB was last found simple, else 0 */
	atomic_ullong moved;	/* generations moved, for the metrics */
};

static int nh_write(struct nh_keeper *k, bool on)
{
	struct xcgn_nhctl c = { .gen = k->gen };
	__u32 zero = 0;

	if (on) {
		c.flags = XCGN_NHF_ON;
		c.until_ns = xcgn_mono_ns() + XCGN_NH_LEASE_NS;
	}
	return bpf_map_update_elem(k->ctl_fd, &zero, &c, 0) ? -errno : 0;
}

static bool nh_on(struct nh_keeper *k)
{
	unsigned int at = atomic_load(&k->simple_at);

	return at && at == atomic_load(&k->changes) + 1;
}

/* Read what rtnetlink sent. True when anything did (or was lost). */
static bool nh_drain(struct nh_keeper *k)
{
	char buf[32768];
	bool any = false;
	ssize_t n;

	for (;;) {
		n = mnl_socket_recvfrom(k->nl, buf, sizeof(buf));
		if (n > 0) {
			const struct nlmsghdr *h = (const void *)buf;
			size_t left = (size_t)n;

			any = true;
			for (; mnl_nlmsg_ok(h, (int)left); h = mnl_nlmsg_next(h, (int *)&left))
				if (h->nlmsg_type != RTM_NEWNEIGH && h->nlmsg_type != RTM_DELNEIGH)
					atomic_fetch_add(&k->changes, 1);
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			any = true;
			atomic_fetch_add(&k->changes, 1);	/* lost: anything may have moved */
			if (errno == ENOBUFS)
				continue;
		}
		return any;
	}
}

static void *nh_run(void *arg)
{
	struct nh_keeper *k = arg;
	struct epoll_event ev = { .events = EPOLLIN }, evs[2];
	int ep = epoll_create1(EPOLL_CLOEXEC), n, i;
	bool stop = false;

	if (ep < 0)
		goto out;
	ev.data.u32 = 0;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, mnl_socket_get_fd(k->nl), &ev))
		goto out;
	ev.data.u32 = 1;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, k->stop_fd, &ev))
		goto out;
	while (!stop) {
		n = epoll_wait(ep, evs, 2, NH_TICK_MS);
		for (i = 0; i < n; i++) {
			if (evs[i].data.u32 == 1)
				stop = true;
			else if (nh_drain(k)) {
				k->gen++;
				atomic_fetch_add(&k->moved, 1);
			}
		}
		if (!stop && nh_write(k, nh_on(k)))
			fprintf(stderr, "xcgn daemon: next-hop cache: write xcgn_nhctl: %s\n",
				strerror(errno));
	}
out:
	if (ep >= 0)
		close(ep);
	nh_write(k, false);	/* however we leave: no word, no cache */
	return NULL;
}

struct nh_keeper *nh_keeper_start(int ctl_fd)
{
	struct nh_keeper *k = calloc(1, sizeof(*k));
	struct xcgn_nhctl cur = {};
	__u32 zero = 0;
	int err;

	if (!k)
		return NULL;
	k->ctl_fd = ctl_fd;
	k->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	k->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (k->stop_fd < 0 || !k->nl)
		goto fail;
	if (mnl_socket_bind(k->nl,
			    RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE |
				    (1u << (RTNLGRP_IPV4_RULE - 1)) |
				    (1u << (RTNLGRP_IPV4_NETCONF - 1)),
			    MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	/* Go on from the generation pinned (a restarted daemon): entries
	 * made before it must not come back to life at a generation it
	 * would reach again. */
	if (!bpf_map_lookup_elem(ctl_fd, &zero, &cur))
		k->gen = cur.gen + 1;
	if (nh_write(k, false))
		goto fail;
	err = pthread_create(&k->th, NULL, nh_run, k);
	if (err) {
		errno = err;
		goto fail;
	}
	k->running = true;
	return k;
fail:
	err = errno;
	nh_keeper_stop(k);
	errno = err;
	return NULL;
}

/* The main loop read the FIB after @changes_seen changes and found it
 * @simple (rpf_fib_simple()). */
void nh_keeper_fib(struct nh_keeper *k, unsigned int changes_seen, bool simple)
{
	if (k)
		atomic_store(&k->simple_at, simple ? changes_seen + 1 : 0);
}

/* How many non-neighbour changes the keeper has heard: read before the FIB
 * is, for nh_keeper_fib(). */
unsigned int nh_keeper_changes(struct nh_keeper *k)
{
	return k ? atomic_load(&k->changes) : 0;
}

uint64_t nh_keeper_moved(struct nh_keeper *k)
{
	return k ? atomic_load(&k->moved) : 0;
}

void nh_keeper_stop(struct nh_keeper *k)
{
	uint64_t one = 1;

	if (!k)
		return;
	if (k->running) {
		if (write(k->stop_fd, &one, sizeof(one)) != sizeof(one))
			pthread_cancel(k->th);
		pthread_join(k->th, NULL);
	}
	if (k->nl)
		mnl_socket_close(k->nl);
	if (k->stop_fd >= 0)
		close(k->stop_fd);
	free(k);
}
