// SPDX-License-Identifier: GPL-2.0
/* The daemon's event loop (loop.h says its model). */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lib/lib.h"
#include "daemon/loop.h"

int loop_init(struct loop *l)
{
	memset(l, 0, sizeof(*l));
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0) {
		xcgn_err("epoll: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int loop_add_fd(struct loop *l, const char *name, int fd, loop_fd_fn fn, void *ctx)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)l->nsrc };

	if (l->nsrc == LOOP_SOURCES_MAX) {
		xcgn_err("poll %s: more than %d sources", name, LOOP_SOURCES_MAX);
		return -ENOSPC;
	}
	if (fd < 0 || epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev)) {
		int err = fd < 0 ? -EBADF : -errno;

		xcgn_err("poll %s: %s", name, strerror(-err));
		return err;
	}
	l->src[l->nsrc++] = (struct loop_source){ .name = name, .fd = fd, .fn = fn, .ctx = ctx };
	return 0;
}

int loop_add_timer(struct loop *l, const char *name, uint64_t due, loop_timer_fn fn, void *ctx)
{
	if (l->ntm == LOOP_TIMERS_MAX)
		return -ENOSPC;
	l->tm[l->ntm] = (struct loop_timer){ .name = name, .due = due, .fn = fn, .ctx = ctx };
	return l->ntm++;
}

void loop_timer_soon(struct loop *l, int t, uint64_t due)
{
	if (t >= 0 && t < l->ntm && l->tm[t].due > due)
		l->tm[t].due = due;
}

/* Until the first deadline, in ms rounded up, at most a second. */
static int loop_timeout(const struct loop *l, uint64_t now)
{
	uint64_t first = now + 1000000000ULL;

	for (int i = 0; i < l->ntm; i++)
		if (l->tm[i].due < first)
			first = l->tm[i].due;
	return first <= now ? 0 : (int)((first - now + 999999ULL) / 1000000ULL);
}

/* One turn: wait, the sources that are readable, the turn's work, the
 * timers that are due, in the order they were added. 0, 1 when a timer
 * stopped the loop, or -errno. */
static int loop_turn(struct loop *l)
{
	struct epoll_event evs[LOOP_SOURCES_MAX];
	uint64_t now = xcgn_mono_ns();
	int n, i;

	n = epoll_wait(l->ep, evs, LOOP_SOURCES_MAX, loop_timeout(l, now));
	if (n < 0 && errno != EINTR) {
		xcgn_err("wait for events: %s", strerror(errno));
		return -errno;
	}
	for (i = 0; i < n; i++)
		if (evs[i].data.u32 < (uint32_t)l->nsrc)
			l->src[evs[i].data.u32].fn(l->src[evs[i].data.u32].ctx);
	now = xcgn_mono_ns();
	if (l->each_turn && (n = l->each_turn(l->turn_ctx, now)))
		return n < 0 ? n : -EIO;
	for (i = 0; i < l->ntm; i++) {
		if (now < l->tm[i].due)
			continue;
		l->tm[i].due = l->tm[i].fn(l->tm[i].ctx, now);
		if (!l->tm[i].due) {
			l->stopped_by = l->tm[i].name;
			return 1;
		}
	}
	return 0;
}

int loop_run(struct loop *l, volatile sig_atomic_t *stop)
{
	int r = 0;

	while (!*stop && !r)
		r = loop_turn(l);
	return r < 0 ? r : 0;
}

void loop_close(struct loop *l)
{
	if (l->ep >= 0)
		close(l->ep);
	l->ep = -1;
}
