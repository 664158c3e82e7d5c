// SPDX-License-Identifier: GPL-2.0
/* The daemon's HTTP endpoint for Prometheus: GET /metrics, nothing else.
 *
 * libmicrohttpd (Debian's libmicrohttpd) parses HTTP: a well-kept parser
 * that bounds connections, per-client connections, request memory and
 * idle time, which a hand-written one would have to get right under a
 * fuzzer first. It runs in the daemon's own thread: MHD's epoll fd joins
 * the daemon's epoll, and MHD_run() is called when it is ready and on
 * each turn of the loop (for its timeouts), so a scrape reads the
 * daemon's figures without a lock. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "sinks/sinks.h"

#define HTTP_CONN_MAX		32	/* connections at once */
#define HTTP_CONN_PER_IP	8
#define HTTP_TIMEOUT_S		5	/* a client idle this long is dropped */
#define HTTP_MEM_LIMIT		(32 * 1024)	/* per connection: headers and all */

struct metrics_http {
	struct MHD_Daemon *mhd;
	int (*render)(void *ctx, FILE *f);
	void *ctx;
	uint64_t served, refused;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *text)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, "Allow", "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **state)
{
	struct metrics_http *h = cls;
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)version;
	(void)upload;
	(void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		h->refused++;
		*upload_size = 0;	/* a body, if any, is not read */
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n");
	}
	if (strcmp(url, "/metrics")) {
		h->refused++;
		return reply(c, MHD_HTTP_NOT_FOUND, "xcgn: metrics are at /metrics\n");
	}
	f = open_memstream(&buf, &len);
	if (!f)
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	if (h->render(h->ctx, f)) {
		fclose(f);
		free(buf);
		return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "xcgn: the state cannot be read\n");
	}
	if (fclose(f)) {
		free(buf);
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	h->served++;
	return ret;
}

struct metrics_http *metrics_http_start(const char *addr_port, int (*render)(void *ctx, FILE *f),
					void *ctx)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct metrics_http *h;
	uint16_t port;

	if (parse_addr_port(addr_port, &sa.sin_addr.s_addr, &port)) {
		xcgn_err("invalid metrics address \"%s\" (ADDR:PORT, an IPv4 address)", addr_port);
		errno = EINVAL;
		return NULL;
	}
	sa.sin_port = htons(port);
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->render = render;
	h->ctx = ctx;
	h->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, h,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_CONN_MAX,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)HTTP_CONN_PER_IP,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_TIMEOUT_S,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEM_LIMIT,
				  MHD_OPTION_END);
	if (!h->mhd) {
		int err = errno ? errno : EADDRINUSE;

		xcgn_err("serve metrics on %s: %s", addr_port, strerror(err));
		free(h);
		errno = err;
		return NULL;
	}
	return h;
}

int metrics_http_fd(const struct metrics_http *h)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);

	return i ? i->epoll_fd : -1;
}

void metrics_http_run(struct metrics_http *h)
{
	if (h)
		MHD_run(h->mhd);
}

void metrics_http_stop(struct metrics_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->mhd);
	free(h);
}
