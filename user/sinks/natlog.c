// SPDX-License-Identifier: GPL-2.0
/* The NAT log: one JSON object per line, one line per block allocation or
 * release (RFC 6888 REQ-12: no destinations), plus refusals. Written by the
 * daemon to a file (reopened on SIGHUP, for logrotate) and/or syslog; read
 * back by `xcgn log who`.
 *
 *   {"time":"2026-11-22T06:40:01.123Z","ts_ms":1795241401123,"event":"alloc",
 *    "subscriber":"100.64.1.2","public":"198.51.100.9","port_lo":1024,"port_hi":1535}
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <limits.h>

#include <zlib.h>

#include "sinks/sinks.h"

/* The directory of @path, made with mode 0750 (the NAT log names
 * subscribers: not for everyone). */
static int mkdir_parent(const char *path)
{
	char dir[256], *p;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	return xcgn_mkdir_p(dir, 0750);
}

int natlog_open(struct natlog *l, const char *path, bool use_syslog, uint32_t sync_ms)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->use_syslog = use_syslog;
	l->sync_ms = sync_ms;
	if (use_syslog)
		openlog("xcgn", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	if (!path)
		return 0;
	snprintf(l->path, sizeof(l->path), "%s", path);
	return natlog_reopen(l);
}

int natlog_reopen(struct natlog *l)
{
	int fd, err;

	if (!l->path[0])
		return 0;
	err = mkdir_parent(l->path);
	if (err) {
		xcgn_err("create the directory of the NAT log %s: %s", l->path, strerror(-err));
		return err;
	}
	fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		err = -errno;
		xcgn_err("open NAT log %s: %s", l->path, strerror(-err));
		return err;
	}
	if (l->fd >= 0) {
		fdatasync(l->fd);
		close(l->fd);
	}
	l->fd = fd;
	return 0;
}

void natlog_close(struct natlog *l)
{
	size_t i;

	if (l->fd >= 0) {
		fdatasync(l->fd);
		close(l->fd);
	}
	l->fd = -1;
	for (i = 0; i < l->qlen; i++)
		free(l->q[(l->qhead + i) % NATLOG_QUEUE_MAX].line);
	free(l->q);
	l->q = NULL;
	l->qlen = 0;
	if (l->use_syslog)
		closelog();
}

/* One record, one write(2) with O_APPEND: a reader never sees half a line
 * from us, and a write cut short (the disk full) is taken back. */
static int write_line(struct natlog *l, const char *line)
{
	size_t len = strlen(line);
	off_t end;
	ssize_t n;

	if (l->fd < 0)
		return 0;
	if (l->torn) {	/* a line cut short could not be taken back: end it */
		if (write(l->fd, "\n", 1) != 1)
			return -errno;
		l->torn = false;
	}
	end = lseek(l->fd, 0, SEEK_END);
	n = write(l->fd, line, len);
	if (n == (ssize_t)len) {
		l->dirty = true;
		if (!l->sync_ms && fdatasync(l->fd))
			return -errno;	/* not known to be on disk: again */
		return 0;
	}
	if (n >= 0) {
		if (n > 0 && (end < 0 || ftruncate(l->fd, end)))
			l->torn = true;
		errno = ENOSPC;
	}
	return -errno;
}

static int try_write(struct natlog *l, const char *line, uint64_t tag)
{
	int err = write_line(l, line);

	if (err) {
		l->st.write_errors++;
		if (l->st.last_errno != -err || !l->failing)
			xcgn_err("write NAT log %s: %s; records are queued (at most %u) and "
				 "retried",
				 l->path, strerror(-err), NATLOG_QUEUE_MAX);
		l->st.last_errno = -err;
		l->failing = true;
		return err;
	}
	if (l->failing)
		xcgn_logf(LOG_INFO, "xcgn daemon: NAT log %s writable again\n", l->path);
	l->failing = false;
	l->st.written++;
	if (l->on_written)
		l->on_written(l->ctx, tag);
	return 0;
}

int natlog_write(struct natlog *l, const struct natlog_rec *r, uint64_t tag)
{
	char line[512];
	size_t n = natlog_format(line, sizeof(line) - 1, r);

	line[n++] = '\n';
	line[n] = '\0';
	if (l->use_syslog) {
		line[n - 1] = '\0';
		syslog(LOG_INFO, "%s", line);
		line[n - 1] = '\n';
	}
	if (r->recovered)
		l->st.recovered++;
	/* Behind a queue, in order: never before what waits. */
	if (!l->qlen && !try_write(l, line, tag))
		return 0;
	if (l->qlen == NATLOG_QUEUE_MAX) {
		l->st.lost++;
		return -1;
	}
	if (!l->q && !(l->q = calloc(NATLOG_QUEUE_MAX, sizeof(*l->q)))) {
		l->st.lost++;
		return -1;
	}
	l->q[(l->qhead + l->qlen) % NATLOG_QUEUE_MAX].line = strdup(line);
	if (!l->q[(l->qhead + l->qlen) % NATLOG_QUEUE_MAX].line) {
		l->st.lost++;
		return -1;
	}
	l->q[(l->qhead + l->qlen) % NATLOG_QUEUE_MAX].tag = tag;
	l->qlen++;
	return 1;
}

int natlog_flush(struct natlog *l)
{
	while (l->qlen) {
		struct natlog_qent *e = &l->q[l->qhead];

		if (try_write(l, e->line, e->tag))
			return -1;
		free(e->line);
		e->line = NULL;
		l->qhead = (l->qhead + 1) % NATLOG_QUEUE_MAX;
		l->qlen--;
	}
	return 0;
}

void natlog_sync(struct natlog *l, uint64_t now_ns, bool force)
{
	if (l->fd < 0 || !l->dirty)
		return;
	if (!force && now_ns - l->synced_ns < (uint64_t)l->sync_ms * 1000000ULL)
		return;
	if (fdatasync(l->fd)) {
		l->st.write_errors++;
		l->st.last_errno = errno;
		return;
	}
	l->dirty = false;
	l->synced_ns = now_ns;
}

size_t natlog_format(char *buf, size_t len, const struct natlog_rec *r)
{
	char a[16], b[16], tbuf[32];
	time_t secs = (time_t)(r->ts_ms / 1000);
	struct tm tm;
	int n;

	gmtime_r(&secs, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(buf, len, "{\"time\":\"%s.%03uZ\",\"ts_ms\":%llu,\"event\":\"%s\"", tbuf,
		     (unsigned int)(r->ts_ms % 1000), (unsigned long long)r->ts_ms, r->event);
	if (r->sub && !r->block_size)
		n += snprintf(buf + n, len - (size_t)n, ",\"subscriber\":\"%s\"",
			      ipv4_str(r->sub, a, sizeof(a)));
	if (r->node)
		n += snprintf(buf + n, len - (size_t)n, ",\"node\":%u", r->node);
	if (r->block_size)	/* a deterministic binding: a pool, not one address */
		n += snprintf(buf + n, len - (size_t)n,
			      ",\"pool\":\"%s/%u\",\"subscribers\":\"%s/%u\",\"port_lo\":%u,"
			      "\"port_hi\":%u,\"block_size\":%u,\"blocks\":%u",
			      ipv4_str(r->paddr, b, sizeof(b)), r->plen,
			      ipv4_str(r->sub, a, sizeof(a)), r->det_plen, r->port_lo, r->port_hi,
			      r->block_size, r->blocks);
	else if (r->paddr)
		n += snprintf(buf + n, len - (size_t)n,
			      ",\"public\":\"%s\",\"port_lo\":%u,\"port_hi\":%u",
			      ipv4_str(r->paddr, b, sizeof(b)), r->port_lo, r->port_hi);
	if (r->via) {	/* a PCP or NAT-PMP mapping: its public port is port_lo */
		n += snprintf(buf + n, len - (size_t)n,
			      ",\"proto\":\"%s\",\"inside_port\":%u,\"lifetime\":%u,\"via\":\"%s\"",
			      xcgn_proto_name(r->proto), r->inside_port, r->lifetime, r->via);
		if (r->client)
			n += snprintf(buf + n, len - (size_t)n, ",\"client\":\"%s\"",
				      ipv4_str(r->client, a, sizeof(a)));
	}
	if (r->reason)
		n += snprintf(buf + n, len - (size_t)n, ",\"reason\":\"%s\"", r->reason);
	if (r->count)
		n += snprintf(buf + n, len - (size_t)n, ",\"count\":%llu",
			      (unsigned long long)r->count);
	if (r->recovered)
		n += snprintf(buf + n, len - (size_t)n, ",\"recovered\":true");
	n += snprintf(buf + n, len - (size_t)n, "}");
	return (size_t)n;
}

/* Our own records only: find "key": and read what follows. */
static const char *field(const char *line, const char *key)
{
	char pat[48];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(line, pat);
	return p ? p + strlen(pat) : NULL;
}

static int field_u64(const char *line, const char *key, uint64_t *v)
{
	const char *p = field(line, key);
	char *end;

	if (!p)
		return -1;
	*v = strtoull(p, &end, 10);
	return end == p ? -1 : 0;
}

static int field_str(const char *line, const char *key, char *buf, size_t len)
{
	const char *p = field(line, key), *q;

	if (!p || *p != '"')
		return -1;
	q = strchr(++p, '"');
	if (!q || (size_t)(q - p) >= len)
		return -1;
	memcpy(buf, p, (size_t)(q - p));
	buf[q - p] = '\0';
	return 0;
}

static int field_ports(const char *line, struct natlog_parsed *r)
{
	uint64_t lo, hi;

	if (field_u64(line, "port_lo", &lo) || field_u64(line, "port_hi", &hi) || lo > 65535 ||
	    hi > 65535 || lo > hi)
		return -1;
	r->port_lo = (uint16_t)lo;
	r->port_hi = (uint16_t)hi;
	return 0;
}

/* A deterministic binding: the pool, its subscribers, the geometry. */
static int field_det(const char *line, struct natlog_parsed *r)
{
	char pool[24], subs[24];
	uint64_t bs, nb;

	if (field_str(line, "pool", pool, sizeof(pool)) ||
	    field_str(line, "subscribers", subs, sizeof(subs)) ||
	    parse_prefix(pool, &r->paddr, &r->plen) || parse_prefix(subs, &r->sub, &r->det_plen) ||
	    field_ports(line, r) || field_u64(line, "block_size", &bs) ||
	    field_u64(line, "blocks", &nb) || !bs || bs > 65535 || !nb || nb > 65535)
		return -1;
	r->block_size = (uint16_t)bs;
	r->blocks = (uint16_t)nb;
	return 0;
}

int natlog_parse(const char *line, struct natlog_parsed *r)
{
	char s[16], pub[16];
	uint64_t node = 0;

	memset(r, 0, sizeof(*r));
	if (field_u64(line, "ts_ms", &r->ts_ms) || field_str(line, "event", r->event,
							       sizeof(r->event)))
		return -1;
	if (field(line, "node") && (field_u64(line, "node", &node) || node > UINT32_MAX))
		return -1;
	r->node = (uint32_t)node;
	if (!strncmp(r->event, "deterministic", 13))
		return field_det(line, r);
	if (!field_str(line, "subscriber", s, sizeof(s)) && parse_ipv4(s, &r->sub))
		return -1;
	if (!field_str(line, "public", pub, sizeof(pub)) &&
	    (parse_ipv4(pub, &r->paddr) || field_ports(line, r)))
		return -1;
	if (!strncmp(r->event, "pcp_", 4)) {
		char proto[8];
		uint64_t ip;

		if (field_u64(line, "inside_port", &ip) || ip > 65535 ||
		    field_str(line, "via", r->via, sizeof(r->via)) ||
		    field_str(line, "proto", proto, sizeof(proto)))
			return -1;
		r->inside_port = (uint16_t)ip;
		r->proto = !strcmp(proto, "tcp") ? 6 : !strcmp(proto, "udp") ? 17 : 0;
	}
	return 0;
}

/* The pool a deterministic record describes, as det_forward takes it. */
static void det_pool(const struct natlog_parsed *r, struct xcgn_pool *p)
{
	memset(p, 0, sizeof(*p));
	p->prefix = r->paddr;
	p->plen = r->plen;
	p->flags = XCGN_POOLF_ACTIVE | XCGN_POOLF_DETERMINISTIC;
	p->det_prefix = r->sub;
	p->det_plen = r->det_plen;
	p->port_lo = r->port_lo;
	p->port_hi = r->port_hi;
	p->block_size = r->block_size;
	p->nblocks = (uint16_t)((r->port_hi - r->port_lo + 1u) / r->block_size);
	p->max_blocks = r->blocks;
	p->naddrs = r->plen ? 1u << (32 - r->plen) : 0;
}

/* The who rule, one record at a time, in two passes over the records:
 * first the latest allocation of the block at or before @at_ms (by time,
 * not by place: a record the daemon recovered after a crash comes later
 * than records of later times), then whether that subscriber released it
 * since, by @at_ms. */
static void who_step(struct natlog_who *w, const struct natlog_parsed *r, int pass,
		     uint32_t paddr, uint16_t port, uint64_t at_ms)
{
	if (r->block_size || r->paddr != paddr || r->ts_ms > at_ms)
		return;
	if (pass == 0) {
		if (strcmp(r->event, "alloc") || port < r->port_lo || port > r->port_hi ||
		    (w->found && r->ts_ms < w->since_ms))
			return;
		w->found = true;
		w->sub = r->sub;
		w->node = r->node;
		w->since_ms = r->ts_ms;
		w->port_lo = r->port_lo;
		w->port_hi = r->port_hi;
	} else if (w->found && !strcmp(r->event, "release") && r->sub == w->sub &&
		   r->node == w->node && r->port_lo == w->port_lo && r->ts_ms >= w->since_ms) {
		w->found = false;
		w->until_ms = r->ts_ms;
	}
}

/* Whether the port was, besides, a mapping the holder asked for: its
 * latest pcp_map by @at_ms, unless a pcp_end came after it by then. */
static void who_pcp(struct natlog_who *w, const struct natlog_parsed *r, int pass,
		    uint32_t paddr, uint16_t port, uint64_t at_ms)
{
	if (strncmp(r->event, "pcp_", 4) || r->paddr != paddr || r->port_lo != port ||
	    r->sub != w->sub || r->node != w->node || r->ts_ms > at_ms || r->ts_ms < w->since_ms)
		return;
	if (pass == 0 && !strcmp(r->event, "pcp_map") && (!w->pcp || r->ts_ms >= w->pcp_since_ms)) {
		w->pcp = true;
		w->pcp_since_ms = r->ts_ms;
		w->inside_port = r->inside_port;
		w->pcp_proto = r->proto;
		memcpy(w->via, r->via, sizeof(w->via));
	} else if (pass == 1 && !strcmp(r->event, "pcp_end") && r->ts_ms >= w->pcp_since_ms &&
		   r->proto == w->pcp_proto && r->inside_port == w->inside_port) {
		w->pcp = false;
	}
}

int natlog_who(FILE *f, uint32_t paddr, uint16_t port, uint64_t at_ms, struct natlog_who *w)
{
	struct natlog_parsed *r = NULL;
	size_t n = 0;
	int err = natlog_load(f, &r, &n);

	if (!err)
		natlog_who_recs(r, n, paddr, port, at_ms, w);
	free(r);
	return err;
}

/* A deterministic pool holding @paddr at @at_ms answers by arithmetic:
 * its latest binding record by then, unless that pool ended since. */
static bool who_det(const struct natlog_parsed *r, size_t n, uint32_t paddr, uint16_t port,
		    uint64_t at_ms, struct natlog_who *w)
{
	const struct natlog_parsed *best = NULL;
	struct xcgn_pool p;
	uint32_t pa;
	size_t i;

	for (i = 0; i < n; i++)
		if (r[i].block_size && r[i].ts_ms <= at_ms &&
		    prefix_overlap(paddr, 32, r[i].paddr, r[i].plen) &&
		    (!best || r[i].ts_ms >= best->ts_ms))
			best = &r[i];
	if (!best || strcmp(best->event, "deterministic"))
		return false;	/* none, or the latest says it ended */
	det_pool(best, &p);
	if (det_reverse(&p, paddr, port, &w->sub) ||
	    det_forward(&p, w->sub, &pa, &w->port_lo, &w->port_hi))
		return false;
	w->found = w->deterministic = true;
	w->node = best->node;
	w->since_ms = best->ts_ms;
	return true;
}

void natlog_who_recs(const struct natlog_parsed *r, size_t n, uint32_t paddr, uint16_t port,
		     uint64_t at_ms, struct natlog_who *w)
{
	size_t i;

	memset(w, 0, sizeof(*w));
	if (who_det(r, n, paddr, port, at_ms, w))
		return;
	for (i = 0; i < n; i++)
		who_step(w, &r[i], 0, paddr, port, at_ms);
	for (i = 0; w->found && i < n; i++)
		who_step(w, &r[i], 1, paddr, port, at_ms);
	for (i = 0; w->found && i < n; i++)
		who_pcp(w, &r[i], 0, paddr, port, at_ms);
	for (i = 0; w->pcp && i < n; i++)
		who_pcp(w, &r[i], 1, paddr, port, at_ms);
}

int natlog_tail(const char *path, struct natlog_parsed *r)
{
	char buf[4096], *end, *start;
	ssize_t n;
	off_t size;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || lseek(fd, size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0,
			       SEEK_SET) < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0) {
		close(fd);
		return -ENOENT;
	}
	close(fd);
	buf[n] = '\0';
	end = strrchr(buf, '\n');	/* a record ends with its newline */
	if (!end)
		return -ENOENT;
	*end = '\0';
	start = strrchr(buf, '\n');
	return natlog_parse(start ? start + 1 : buf, r) ? -EINVAL : 0;
}

static ssize_t gz_read(void *cookie, char *buf, size_t size)
{
	int n = gzread(cookie, buf, size > INT_MAX ? INT_MAX : (unsigned int)size);

	if (n < 0)
		errno = EIO;
	return n;
}

static int gz_close(void *cookie)
{
	return gzclose(cookie) == Z_OK ? 0 : EOF;
}

FILE *natlog_fopen(const char *path)
{
	static const cookie_io_functions_t gz_io = { .read = gz_read, .close = gz_close };
	unsigned char magic[2];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	gzFile gz;
	FILE *f;

	if (fd < 0)
		return NULL;
	/* gzip's magic, whatever the name says: logrotate's dateext names. */
	if (pread(fd, magic, 2, 0) != 2 || magic[0] != 0x1f || magic[1] != 0x8b) {
		f = fdopen(fd, "r");
		if (!f)
			close(fd);
		return f;
	}
	gz = gzdopen(fd, "r");
	if (!gz) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	f = fopencookie(gz, "r", gz_io);
	if (!f) {
		gzclose(gz);
		errno = ENOMEM;
	}
	return f;
}

int natlog_load(FILE *f, struct natlog_parsed **out, size_t *n)
{
	struct natlog_parsed r, *v = *out;
	char line[1024];
	size_t cap = *n;	/* at least what is there: xcgn_grow doubles it */

	while (fgets(line, sizeof(line), f)) {
		if (natlog_parse(line, &r) || !r.paddr)
			continue;	/* refusals name no block */
		if (xcgn_grow(&v, &cap, *n, sizeof(*v))) {
			*out = v;
			return -ENOMEM;
		}
		v[(*n)++] = r;
	}
	*out = v;
	return ferror(f) ? -EIO : 0;
}

/* ---- the NAT log as a record sink ------------------------------------------ */

static void natlog_sink_write(void *ctx, const struct natlog_rec *r, uint64_t tag)
{
	natlog_write(ctx, r, tag);
}

static void natlog_sink_flush(void *ctx, uint64_t now_ns)
{
	natlog_sync(ctx, now_ns, false);
}

static void natlog_sink_reopen(void *ctx)
{
	natlog_reopen(ctx);
}

struct record_sink natlog_sink(struct natlog *l)
{
	return (struct record_sink){ .name = "natlog", .write = natlog_sink_write,
				     .flush = natlog_sink_flush, .reopen = natlog_sink_reopen,
				     .ctx = l };
}
