// SPDX-License-Identifier: GPL-2.0
/* The next-hop cache's keeper (issue 13 item 1): the daemon's word in
 * xcgn_nhctl, which the datapath's cache (bpf/lib/nexthop.h) serves by.
 *
 * A thread of its own, so that nothing the main loop does (a collector
 * pass over a million mappings, a slow disk under the NAT log) delays it:
 *   - every message from rtnetlink about routes, rules, addresses, links,
 *     neighbours or netconf moves the generation at once, which kills
 *     every cached next hop; a message other than a neighbour's also
 *     turns the cache off (a neighbour's leaves it on) until the main
 *     loop, having read the FIB again, says whether a destination alone
 *     still decides the next hop (no policy rules, no multipath, no TOS
 *     routes: rpf_fib_simple());
 *   - every NH_TICK_MS it renews the lease (XCGN_NH_LEASE_NS), so that a
 *     daemon that stops, however it stops, takes the cache with it within
 *     the lease: the datapath then asks the FIB for every packet, as it
 *     did before the cache.
 * A lost or truncated message (ENOBUFS) counts as a change. Neighbour
 * messages count only for IPv4 neighbours of the attached devices: the
 * only next hops the cache holds. */
#include <errno.h>
#include <syslog.h>
#include <pthread.h>
#include <signal.h>
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

#include "daemon/daemon.h"

#define NH_TICK_MS 25

struct nh_keeper {
	pthread_t th;
	bool running;
	int ctl_fd;		/* xcgn_nhctl */
	int stop_fd;		/* eventfd: the main loop says stop */
	struct mnl_socket *nl;
	int ifin, ifout;	/* the attached devices */
	uint32_t gen;
	uint64_t err_said_ns;	/* the last write failure said */
	/* The FIB's word, from the main loop: set with the change count it
	 * read the FIB after; the cache serves only while no other change
	 * came in since. */
	atomic_uint changes;	/* non-neighbour changes heard */
	atomic_uint simple_at;	/* changes + 1 when the FIB was last found simple, else 0 */
	atomic_ullong moved;	/* generations moved, for the metrics */
	atomic_bool alive;	/* the thread runs its loop */
};

static int nh_write(struct nh_keeper *k, bool on)
{
	struct xcgn_nhctl c = { .gen = k->gen };
	uint64_t now = xcgn_mono_ns();
	__u32 zero = 0;
	int err;

	if (on) {
		c.flags = XCGN_NHF_ON;
		c.until_ns = now + XCGN_NH_LEASE_NS;
	}
	if (!bpf_map_update_elem(k->ctl_fd, &zero, &c, 0))
		return 0;
	err = -errno;
	if (now - k->err_said_ns >= 10000000000ULL) {	/* once in 10 s */
		k->err_said_ns = now;
		xcgn_logf(LOG_WARNING, "xcgn daemon: next-hop cache: write xcgn_nhctl: %s (the lease "
				"runs out: the FIB answers)\n",
			strerror(-err));
	}
	return err;
}

/* Does message @h move the next hops? Neighbours only when IPv4 and on an
 * attached device. */
static bool nh_moves(const struct nh_keeper *k, const struct nlmsghdr *h, bool *fib)
{
	const struct ndmsg *nd;

	*fib = false;
	if (h->nlmsg_type != RTM_NEWNEIGH && h->nlmsg_type != RTM_DELNEIGH) {
		*fib = true;
		return true;
	}
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*nd)))
		return true;	/* cannot tell: assume it does */
	nd = mnl_nlmsg_get_payload(h);
	return nd->ndm_family == AF_INET &&
	       (!k->ifin || nd->ndm_ifindex == k->ifin || nd->ndm_ifindex == k->ifout);
}

static bool nh_on(struct nh_keeper *k)
{
	unsigned int at = atomic_load(&k->simple_at);

	return at && at == atomic_load(&k->changes) + 1;
}

/* A change heard: the generation moves and is written at once, before
 * anything else is read. A change to the FIB also takes the FIB's word
 * back (nh_on() is false until the main loop reads the FIB again), so the
 * cache goes off; a neighbour's leaves it on: the new generation alone
 * kills what was kept. */
static void nh_move(struct nh_keeper *k, bool fib)
{
	if (fib)
		atomic_fetch_add(&k->changes, 1);
	k->gen++;
	atomic_fetch_add(&k->moved, 1);
	nh_write(k, nh_on(k));
}

/* Read what rtnetlink sent; each message that moves next hops moves the
 * generation as it is read. */
static void nh_drain(struct nh_keeper *k)
{
	char buf[32768];
	ssize_t n;

	for (;;) {
		n = mnl_socket_recvfrom(k->nl, buf, sizeof(buf));
		if (n > 0) {
			const struct nlmsghdr *h = (const void *)buf;
			int left = (int)n;
			bool fib;

			for (; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left))
				if (nh_moves(k, h, &fib))
					nh_move(k, fib);
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			nh_move(k, true);	/* lost: anything may have moved */
			if (errno == ENOBUFS)
				continue;
		}
		return;
	}
}

static void *nh_run(void *arg)
{
	struct nh_keeper *k = arg;
	struct epoll_event ev = { .events = EPOLLIN }, evs[2];
	int ep = epoll_create1(EPOLL_CLOEXEC), n, i;
	bool stop = false;

	if (ep < 0)
		goto fail;
	ev.data.u32 = 0;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, mnl_socket_get_fd(k->nl), &ev))
		goto fail;
	ev.data.u32 = 1;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, k->stop_fd, &ev))
		goto fail;
	atomic_store(&k->alive, true);
	while (!stop) {
		n = epoll_wait(ep, evs, 2, NH_TICK_MS);
		if (n < 0 && errno != EINTR)
			goto fail;
		for (i = 0; i < n; i++) {
			if (evs[i].data.u32 == 1)
				stop = true;
			else
				nh_drain(k);
		}
		if (!stop)
			nh_write(k, nh_on(k));
	}
	goto out;
fail:
	xcgn_logf(LOG_WARNING, "xcgn daemon: next-hop cache: %s; the cache is off (the FIB answers)\n",
		strerror(errno));
out:
	atomic_store(&k->alive, false);
	if (ep >= 0)
		close(ep);
	nh_write(k, false);	/* however we leave: no word, no cache */
	return NULL;
}

struct nh_keeper *nh_keeper_start(int ctl_fd, int ifin, int ifout)
{
	struct nh_keeper *k = calloc(1, sizeof(*k));
	struct xcgn_nhctl cur = {};
	sigset_t all, old;
	__u32 zero = 0;
	int err;

	if (!k)
		return NULL;
	k->ctl_fd = ctl_fd;
	k->ifin = ifin;
	k->ifout = ifout;
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
	/* Signals are the main loop's: the thread starts with them blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&k->th, NULL, nh_run, k);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
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

bool nh_keeper_running(struct nh_keeper *k)
{
	return k && atomic_load(&k->alive);
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
