// SPDX-License-Identifier: GPL-2.0
/* `xcgn monitor`: the client of the daemon's event stream (sinks/monitor.c
 * says what it carries and who may read it). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/cli.h"

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

static int do_monitor(struct cmd *cmd __unused, int argc, char **argv)
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
