/* SPDX-License-Identifier: GPL-2.0 */
/* The daemon's one event loop: a table of sources (a file descriptor, its
 * handler and context) and one list of deadlines (each timer says when it
 * is due next). It knows nothing of what the daemon does.
 *
 * Threading: the loop and everything it calls run on the daemon's main
 * thread. The one other thread is the next-hop cache's keeper
 * (nexthop.c), which shares nothing with the loop but its own struct,
 * behind atomics. Signal handlers only set flags the loop reads. */
#ifndef XCGN_DAEMON_LOOP_H
#define XCGN_DAEMON_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define LOOP_SOURCES_MAX	8
#define LOOP_TIMERS_MAX		8

/* A readable source. */
typedef void (*loop_fd_fn)(void *ctx);
/* A due timer: returns when it is due next (CLOCK_MONOTONIC ns), or 0 to
 * stop the loop. */
typedef uint64_t (*loop_timer_fn)(void *ctx, uint64_t now_ns);

struct loop_source {
	const char *name;
	int fd;
	loop_fd_fn fn;
	void *ctx;
};
struct loop_timer {
	const char *name;
	uint64_t due;		/* CLOCK_MONOTONIC ns */
	loop_timer_fn fn;
	void *ctx;
};
struct loop {
	int ep;			/* epoll over the sources */
	struct loop_source src[LOOP_SOURCES_MAX];
	int nsrc;
	struct loop_timer tm[LOOP_TIMERS_MAX];
	int ntm;
	/* After the sources of each turn, before the timers: nonzero (a
	 * -errno) stops the loop with it. */
	int (*each_turn)(void *ctx, uint64_t now_ns);
	void *turn_ctx;
	const char *stopped_by;	/* the timer that stopped it, or NULL */
};

/* 0, or -errno (said). */
int loop_init(struct loop *l);
/* 0, or -errno (said, naming @name). */
int loop_add_fd(struct loop *l, const char *name, int fd, loop_fd_fn fn, void *ctx);
/* The timer's index (for loop_timer_soon), or -ENOSPC. */
int loop_add_timer(struct loop *l, const char *name, uint64_t due, loop_timer_fn fn, void *ctx);
/* Bring timer @t forward to @due, if it is due later. */
void loop_timer_soon(struct loop *l, int t, uint64_t due);
/* Turn until *@stop is set or a timer stops it: 0, or -errno (said) when
 * waiting failed. */
int loop_run(struct loop *l, volatile sig_atomic_t *stop);
void loop_close(struct loop *l);

#endif /* XCGN_DAEMON_LOOP_H */
