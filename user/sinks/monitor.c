// SPDX-License-Identifier: GPL-2.0
/* `xcgn monitor`: the instance's events as they happen, like `conntrack
 * -E` or `ip monitor`.
 *
 * The allocation ring buffer has one consumer, the daemon, and the NAT
 * log must see every event; so the daemon fans the records out: what it
 * writes to the log (allocations, releases, refusals, recovered records)
 * and the reverse-path table changes it makes go to each monitor as one
 * datagram. The socket is abstract ("@xcgn-monitor"), and abstract
 * sockets belong to a network namespace, as an xcgn instance does: a
 * monitor reaches its own namespace's daemon and no other. A monitor too
 * slow to keep up loses events, counted and said to it, and never holds
 * the daemon up.
 *
 * The records are the legal record (the log file is 0640), and an
 * abstract socket has no file mode: the daemon asks each peer who it is
 * (SO_PEERCRED) and serves only root and the members of the group the
 * operator names (monitor-group); any local user may bind the name while
 * no daemon holds it, so the client serves only from a root peer, and
 * never writes a record's control characters to a terminal. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sinks/sinks.h"


socklen_t monitor_addr(struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	/* sun_path[0] = '\0': the abstract namespace */
	memcpy(sa->sun_path + 1, MONITOR_NAME, strlen(MONITOR_NAME));
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(MONITOR_NAME));
}

int monitor_listen(struct monitor_hub *h)
{
	struct sockaddr_un sa;
	socklen_t len = monitor_addr(&sa);
	int i;

	for (i = 0; i < MONITOR_CLIENTS_MAX; i++)
		h->client[i] = -1;
	h->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (h->fd < 0)
		return -errno;
	if (bind(h->fd, (struct sockaddr *)&sa, len) || listen(h->fd, 8)) {
		int err = -errno;

		if (err == -EADDRINUSE)
			xcgn_err("monitor socket @%s is held by another process (another daemon of "
				 "this namespace, or a user squatting the name: ss -xlp | grep %s)",
				 MONITOR_NAME, MONITOR_NAME);
		else
			xcgn_err("monitor socket @%s: %s", MONITOR_NAME, strerror(-err));
		close(h->fd);
		h->fd = -1;
		return err;
	}
	return 0;
}

/* May the peer of @fd read the records: root, or a member of the
 * operator's group (its primary group, or one of its others)? */
static bool peer_allowed(const struct monitor_hub *h, int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	gid_t groups[256];
	socklen_t glen = sizeof(groups);
	size_t i;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) || len != sizeof(cr))
		return false;
	if (cr.uid == 0)
		return true;
	if (!h->group_set)
		return false;
	if (cr.gid == h->group)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen))
		return false;
	for (i = 0; i < glen / sizeof(gid_t); i++)
		if (groups[i] == h->group)
			return true;
	return false;
}

static void refuse(int fd, const char *why)
{
	char msg[160];
	int n = snprintf(msg, sizeof(msg), "{\"event\":\"monitor_refused\",\"reason\":\"%s\"}",
			 why);

	send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

void monitor_accept(struct monitor_hub *h)
{
	int fd, i;

	while ((fd = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		if (!peer_allowed(h, fd)) {
			refuse(fd, "not permitted: root or the daemon's monitor-group only");
			continue;
		}
		for (i = 0; i < MONITOR_CLIENTS_MAX && h->client[i] >= 0; i++)
			;
		if (i == MONITOR_CLIENTS_MAX) {
			refuse(fd, "too many monitors");
			continue;
		}
		h->client[i] = fd;
		h->lost[i] = 0;
	}
}

void monitor_send(struct monitor_hub *h, const char *line, size_t len)
{
	char note[96];
	int i, n;

	for (i = 0; i < MONITOR_CLIENTS_MAX; i++) {
		if (h->client[i] < 0)
			continue;
		/* What a slow monitor missed, said before it gets more. */
		if (h->lost[i]) {
			n = snprintf(note, sizeof(note), "{\"event\":\"monitor_lost\",\"count\":%llu}",
				     (unsigned long long)h->lost[i]);
			if (send(h->client[i], note, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n)
				h->lost[i] = 0;
		}
		if (h->lost[i]) {	/* still behind */
			h->lost[i]++;
			continue;
		}
		if (send(h->client[i], line, len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			h->lost[i]++;
			continue;
		}
		close(h->client[i]);	/* gone */
		h->client[i] = -1;
	}
}

void monitor_close(struct monitor_hub *h)
{
	int i;

	for (i = 0; i < MONITOR_CLIENTS_MAX; i++)
		if (h->client[i] >= 0)
			close(h->client[i]);
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
}

/* ---- the hub as a record sink ------------------------------------------------ */

static void monitor_sink_write(void *ctx, const struct natlog_rec *r, uint64_t tag __unused)
{
	char line[512];
	size_t n = natlog_format(line, sizeof(line), r);

	monitor_send(ctx, line, n < sizeof(line) ? n : sizeof(line) - 1);
}

struct record_sink monitor_sink(struct monitor_hub *h)
{
	return (struct record_sink){ .name = "monitor", .write = monitor_sink_write, .ctx = h };
}

void monitor_rpf(struct monitor_hub *h, uint64_t ts_ms, const struct rpf_sync_stats *st)
{
	char line[160];
	int n = snprintf(line, sizeof(line),
			 "{\"ts_ms\":%llu,\"event\":\"rpf\",\"routes\":%zu,\"added\":%zu,"
			 "\"changed\":%zu,\"removed\":%zu}",
			 (unsigned long long)ts_ms, st->routes, st->added, st->changed, st->removed);

	if (h->fd >= 0 && n > 0 && (size_t)n < sizeof(line))
		monitor_send(h, line, (size_t)n);
}
