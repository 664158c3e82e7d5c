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

#include "xcgn.h"

#define MONITOR_NAME	"xcgn-monitor"

static socklen_t monitor_addr(struct sockaddr_un *sa)
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

/* ---- the client: xcgn monitor ---------------------------------------------- */

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

/* No record's control characters reach a terminal: each becomes '?'. */
static void defang(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* A record, as the NAT log has it, in one line of text. */
static void print_event(const char *line)
{
	struct natlog_parsed r;
	char a[16], b[16];
	const char *t = strstr(line, "\"time\":\"");

	if (!natlog_parse(line, &r) && (!strcmp(r.event, "alloc") || !strcmp(r.event, "release"))) {
		printf("%.24s %-7s %s -> %s:%u-%u%s\n", t ? t + 8 : "", r.event,
		       ipv4_str(r.sub, a, sizeof(a)), ipv4_str(r.paddr, b, sizeof(b)), r.port_lo,
		       r.port_hi, strstr(line, "\"recovered\":true") ? " (recovered)" : "");
		return;
	}
	puts(line);	/* refusals, route changes, losses: as they are */
}

static int usage(void)
{
	fprintf(usage_fp(),
		"Usage: xcgn monitor [count N]\n"
		"       xcgn monitor help\n"
		"The events of this namespace's instance as the daemon sees them: block\n"
		"allocations and releases, refusals, reverse-path table changes; one a line,\n"
		"JSON with -j. Needs the daemon running; count N stops after N events.\n"
		"A monitor too slow to keep up is told how many it missed (monitor_lost).\n"
		"The daemon serves root and the members of its monitor-group only.\n");
	return usage_status();
}

static int do_monitor(int argc, char **argv)
{
	struct sockaddr_un sa;
	socklen_t len = monitor_addr(&sa);
	struct sigaction act = { .sa_handler = on_stop };
	uint32_t count = 0, seen = 0;
	char buf[1024];
	ssize_t n;
	int fd;

	for (; argc > 0; argc--, argv++) {
		if (!strcmp(*argv, "count")) {
			NEXT_ARG();
			if (arg_u32("count", *argv, 1, UINT32_MAX, &count))
				return XCGN_EXIT_USAGE;
		} else {
			xcgn_err("unknown argument \"%s\" to monitor; try \"xcgn monitor help\"",
				 *argv);
			return XCGN_EXIT_USAGE;
		}
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, len)) {
		xcgn_err("no xcgn daemon to monitor in this network namespace (%s)",
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return XCGN_EXIT_ERR;
	}
	{
		/* The daemon runs as root: anyone else holding the name is
		 * squatting it, and what it sends is nobody's record. */
		struct ucred cr;
		socklen_t cl = sizeof(cr);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) || cr.uid != 0) {
			xcgn_err("the monitor socket @%s is held by uid %d (pid %d), not by the "
				 "xcgn daemon: not reading it",
				 MONITOR_NAME, cl == sizeof(cr) ? (int)cr.uid : -1,
				 cl == sizeof(cr) ? (int)cr.pid : -1);
			close(fd);
			return XCGN_EXIT_ERR;
		}
	}
	sigaction(SIGINT, &act, NULL);
	sigaction(SIGTERM, &act, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (!stop && (!count || seen < count)) {
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* the daemon went away */
		buf[n] = '\0';
		defang(buf);
		if (strstr(buf, "\"event\":\"monitor_refused\"")) {
			xcgn_err("the daemon refused this monitor: %s", buf);
			close(fd);
			return XCGN_EXIT_ERR;
		}
		if (print_is_json())
			puts(buf);
		else
			print_event(buf);
		seen++;
	}
	close(fd);
	return XCGN_EXIT_OK;
}

const struct xcgn_object xcgn_obj_monitor = {
	.name = "monitor",
	.usage = usage,
	.fn = do_monitor,
};
