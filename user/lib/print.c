// SPDX-License-Identifier: GPL-2.0
/* Text and JSON output through one call per field, so the two formats cannot
 * diverge (the idea of iproute2's json_print; our own small writer). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <sys/stat.h>

#include "lib/lib.h"

#define DEPTH_MAX 16

int xcgn_verbose;

static struct {
	bool json;
	bool pretty;
	FILE *out;
	int depth;
	bool first[DEPTH_MAX];	/* no member written yet at this depth */
} pr = { .out = NULL };

void print_init(bool json, bool pretty, FILE *out)
{
	memset(&pr, 0, sizeof(pr));
	pr.json = json;
	pr.pretty = pretty;
	pr.out = out ? out : stdout;
	pr.first[0] = true;
}

bool print_is_json(void)
{
	return pr.json;
}

static FILE *out(void)
{
	return pr.out ? pr.out : stdout;
}

void print_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void indent(void)
{
	int i;

	if (!pr.pretty)
		return;
	fputc('\n', out());
	for (i = 0; i < pr.depth; i++)
		fputs("  ", out());
}

/* Separator and key before a JSON member; @key is NULL inside arrays. */
static void member(const char *key)
{
	if (!pr.first[pr.depth])
		fputc(',', out());
	pr.first[pr.depth] = false;
	indent();
	if (key) {
		print_json_str(out(), key);
		fputs(pr.pretty ? ": " : ":", out());
	}
}

static void open_(const char *key, char c)
{
	if (!pr.json)
		return;
	if (pr.depth > 0 || !pr.first[0])
		member(key);
	else
		pr.first[0] = false;
	fputc(c, out());
	if (pr.depth < DEPTH_MAX - 1)
		pr.depth++;
	pr.first[pr.depth] = true;
}

static void close_(char c)
{
	bool empty;

	if (!pr.json)
		return;
	empty = pr.first[pr.depth];
	if (pr.depth > 0)
		pr.depth--;
	if (!empty)
		indent();
	fputc(c, out());
	if (pr.depth == 0)
		fputc('\n', out());
}

void print_open_object(const char *key)
{
	open_(key, '{');
}

void print_close_object(void)
{
	close_('}');
}

void print_open_array(const char *key)
{
	open_(key, '[');
}

void print_close_array(void)
{
	close_(']');
}

/* The text format comes with each call, as in iproute2's print_*(): callers
 * pass literals or formats built from literals. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
void print_string(enum output_type t, const char *key, const char *fmt, const char *v)
{
	if (pr.json && (t & PRINT_JSON)) {
		member(key);
		print_json_str(out(), v);
	} else if (!pr.json && (t & PRINT_FP)) {
		fprintf(out(), fmt ? fmt : "%s", v);
	}
}

void print_u64(enum output_type t, const char *key, const char *fmt, uint64_t v)
{
	if (pr.json && (t & PRINT_JSON)) {
		member(key);
		fprintf(out(), "%llu", (unsigned long long)v);
	} else if (!pr.json && (t & PRINT_FP)) {
		fprintf(out(), fmt ? fmt : "%llu", (unsigned long long)v);
	}
}

void print_double(enum output_type t, const char *key, const char *fmt, double v)
{
	if (pr.json && (t & PRINT_JSON)) {
		member(key);
		fprintf(out(), "%.3f", v);
	} else if (!pr.json && (t & PRINT_FP)) {
		fprintf(out(), fmt ? fmt : "%.1f", v);
	}
}

#pragma GCC diagnostic pop

void print_bool(enum output_type t, const char *key, const char *text, bool v)
{
	if (pr.json && (t & PRINT_JSON)) {
		member(key);
		fputs(v ? "true" : "false", out());
	} else if (!pr.json && (t & PRINT_FP) && v && text) {
		fputs(text, out());
	}
}

void print_ipv4(enum output_type t, const char *key, const char *fmt, uint32_t addr_be)
{
	char buf[INET_ADDRSTRLEN];

	print_string(t, key, fmt, ipv4_str(addr_be, buf, sizeof(buf)));
}

void print_text(const char *fmt, ...)
{
	va_list ap;

	if (pr.json)
		return;
	va_start(ap, fmt);
	vfprintf(out(), fmt, ap);
	va_end(ap);
}

void print_nl(void)
{
	if (!pr.json)
		fputc('\n', out());
}

void print_finish(void)
{
	fflush(out());
}

const char *xcgn_err_where;

static bool help_asked;

void usage_asked(bool asked)
{
	help_asked = asked;
}

FILE *usage_fp(void)
{
	return help_asked ? stdout : stderr;
}

int usage_status(void)
{
	return help_asked ? XCGN_EXIT_OK : XCGN_EXIT_USAGE;
}

/* Is stderr the journal's stream? JOURNAL_STREAM is "DEV:INODE" of it,
 * inherited by children whose stderr may since have been redirected. */
static bool stderr_is_journal(void)
{
	static int known = -1;
	unsigned long long dev, ino;
	const char *js;
	struct stat st;

	if (known < 0) {
		js = getenv("JOURNAL_STREAM");
		known = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
			!fstat(STDERR_FILENO, &st) && st.st_dev == dev && st.st_ino == ino;
	}
	return known;
}

const char *xcgn_log_prefix(int prio)
{
	static const char *const pfx[] = { "<0>", "<1>", "<2>", "<3>",
					   "<4>", "<5>", "<6>", "<7>" };

	return stderr_is_journal() && prio >= 0 && prio <= 7 ? pfx[prio] : "";
}

void xcgn_logf(int prio, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	fputs(xcgn_log_prefix(prio), stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	errno = saved;
}

void xcgn_err(const char *fmt, ...)
{
	int saved = errno;	/* a caller returns -errno after saying it */
	char msg[512];
	size_t at = 0;
	va_list ap;

	if (xcgn_err_where)
		at = (size_t)snprintf(msg, sizeof(msg), "%s: ", xcgn_err_where) % sizeof(msg);
	va_start(ap, fmt);
	vsnprintf(msg + at, sizeof(msg) - at, fmt, ap);
	va_end(ap);
	if (pr.json) {
		/* A machine reading -j gets a machine-readable error too. */
		fputs("{\"error\":", stdout);
		print_json_str(stdout, msg);
		fputs("}\n", stdout);
		fflush(stdout);
	}
	fprintf(stderr, "%sxcgn: %s\n", xcgn_log_prefix(LOG_ERR), msg);
	errno = saved;
}

int invarg(const char *what, const char *arg)
{
	xcgn_err("invalid %s \"%s\"", what, arg);
	return XCGN_EXIT_USAGE;
}

int arg_u32(const char *what, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	if (!parse_u32(s, min, max, out))
		return 0;
	xcgn_err("invalid %s \"%s\" (must be %u..%u)", what, s, min, max);
	return XCGN_EXIT_USAGE;
}

