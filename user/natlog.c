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
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "xcgn.h"

int natlog_open(struct natlog *l, const char *path, bool use_syslog)
{
	memset(l, 0, sizeof(*l));
	l->use_syslog = use_syslog;
	if (use_syslog)
		openlog("xcgn", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	if (!path)
		return 0;
	snprintf(l->path, sizeof(l->path), "%s", path);
	return natlog_reopen(l);
}

int natlog_reopen(struct natlog *l)
{
	FILE *f;

	if (!l->path[0])
		return 0;
	f = fopen(l->path, "a");
	if (!f) {
		xcgn_err("open NAT log %s: %s", l->path, strerror(errno));
		return -errno;
	}
	setvbuf(f, NULL, _IOLBF, 0);	/* a record is on disk when the line is */
	if (l->f)
		fclose(l->f);
	l->f = f;
	return 0;
}

void natlog_close(struct natlog *l)
{
	if (l->f)
		fclose(l->f);
	l->f = NULL;
	if (l->use_syslog)
		closelog();
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
	if (r->sub)
		n += snprintf(buf + n, len - (size_t)n, ",\"subscriber\":\"%s\"",
			      ipv4_str(r->sub, a, sizeof(a)));
	if (r->paddr)
		n += snprintf(buf + n, len - (size_t)n,
			      ",\"public\":\"%s\",\"port_lo\":%u,\"port_hi\":%u",
			      ipv4_str(r->paddr, b, sizeof(b)), r->port_lo, r->port_hi);
	if (r->reason)
		n += snprintf(buf + n, len - (size_t)n, ",\"reason\":\"%s\"", r->reason);
	if (r->count)
		n += snprintf(buf + n, len - (size_t)n, ",\"count\":%llu",
			      (unsigned long long)r->count);
	n += snprintf(buf + n, len - (size_t)n, "}");
	return (size_t)n;
}

void natlog_write(struct natlog *l, const struct natlog_rec *r)
{
	char line[512];

	natlog_format(line, sizeof(line), r);
	if (l->f)
		fprintf(l->f, "%s\n", line);
	if (l->use_syslog)
		syslog(LOG_INFO, "%s", line);
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

int natlog_parse(const char *line, struct natlog_parsed *r)
{
	char s[16], pub[16];
	uint64_t lo = 0, hi = 0;

	memset(r, 0, sizeof(*r));
	if (field_u64(line, "ts_ms", &r->ts_ms) || field_str(line, "event", r->event,
							       sizeof(r->event)))
		return -1;
	if (!field_str(line, "subscriber", s, sizeof(s)) && parse_ipv4(s, &r->sub))
		return -1;
	if (!field_str(line, "public", pub, sizeof(pub))) {
		if (parse_ipv4(pub, &r->paddr) || field_u64(line, "port_lo", &lo) ||
		    field_u64(line, "port_hi", &hi) || lo > 65535 || hi > 65535 || lo > hi)
			return -1;
		r->port_lo = (uint16_t)lo;
		r->port_hi = (uint16_t)hi;
	}
	return 0;
}

int natlog_who(FILE *f, uint32_t paddr, uint16_t port, uint64_t at_ms, struct natlog_who *w)
{
	char line[1024];
	struct natlog_parsed r;

	memset(w, 0, sizeof(*w));
	/* The latest allocation of the block at or before @at_ms, unless a
	 * release of it by the same subscriber came after it, also by @at_ms. */
	while (fgets(line, sizeof(line), f)) {
		if (natlog_parse(line, &r) || r.paddr != paddr || port < r.port_lo ||
		    port > r.port_hi || r.ts_ms > at_ms)
			continue;
		if (!strcmp(r.event, "alloc")) {
			w->found = true;
			w->sub = r.sub;
			w->since_ms = r.ts_ms;
			w->until_ms = 0;
			w->port_lo = r.port_lo;
			w->port_hi = r.port_hi;
		} else if (!strcmp(r.event, "release") && w->found && r.sub == w->sub &&
			   r.port_lo == w->port_lo) {
			w->found = false;
			w->until_ms = r.ts_ms;
		}
	}
	return ferror(f) ? -EIO : 0;
}

int parse_time_ms(const char *s, uint64_t *ms)
{
	const char *fmts[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S" };
	struct tm tm;
	const char *end;
	uint32_t v;
	size_t i;

	if (s[0] == '@') {
		char secs[16];
		const char *dot = strchr(s, '.');
		uint32_t frac = 0;
		size_t n = dot ? (size_t)(dot - s - 1) : strlen(s + 1);

		if (n == 0 || n >= sizeof(secs))
			return -1;
		memcpy(secs, s + 1, n);
		secs[n] = '\0';
		if (parse_u32(secs, 0, UINT32_MAX, &v))
			return -1;
		/* Up to milliseconds: "@1795329505.592". */
		if (dot && (strlen(dot + 1) < 1 || strlen(dot + 1) > 3 ||
			    parse_u32(dot + 1, 0, 999, &frac)))
			return -1;
		if (dot)
			for (n = strlen(dot + 1); n < 3; n++)
				frac *= 10;
		*ms = (uint64_t)v * 1000 + frac;
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(fmts); i++) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, fmts[i], &tm);
		if (!end)
			continue;
		if (*end == 'Z')
			end++;
		if (*end)
			return -1;
		*ms = (uint64_t)timegm(&tm) * 1000;
		return 0;
	}
	return -1;
}
