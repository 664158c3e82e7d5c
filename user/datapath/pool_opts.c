// SPDX-License-Identifier: GPL-2.0
/* A pool's options: their defaults, the words that set them (`pool add`,
 * a configuration file's `pool`), their exclusions, and the pinned pool
 * they make and are read back from. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "datapath/datapath.h"
#include "lib/options.h"

bool excl_has(const struct pool_opts *o, uint32_t addr)
{
	unsigned int i;

	for (i = 0; i < o->nexcl; i++)
		if (prefix_overlap(addr, 32, o->excl[i].prefix, o->excl[i].plen))
			return true;
	return false;
}

int excl_add(struct pool_opts *o, uint32_t prefix, uint8_t plen, char *why, size_t len)
{
	char a[16], b[16];

	if (plen < o->plen || !prefix_overlap(prefix, plen, o->prefix, o->plen)) {
		snprintf(why, len, "exclude %s/%u is not inside the pool %s/%u",
			 ipv4_str(prefix, a, sizeof(a)), plen, ipv4_str(o->prefix, b, sizeof(b)),
			 o->plen);
		return -1;
	}
	if (o->nexcl == XCGN_EXCL_MAX) {
		snprintf(why, len, "more than %u exclude prefixes", XCGN_EXCL_MAX);
		return -1;
	}
	o->excl[o->nexcl].prefix = prefix;
	o->excl[o->nexcl++].plen = plen;
	return 0;
}

int excl_normalize(struct pool_opts *o, char *why, size_t len)
{
	uint32_t n = o->plen >= 16 && o->plen <= 32 ? 1u << (32 - o->plen) : 0;
	uint32_t base = ntohl(o->prefix), i, kept = 0, size;
	struct pool_opts out = *o;
	uint8_t *ex;

	if (!o->nexcl)
		return 0;
	if (o->plen < 16 || o->plen > 32) {	/* pool_plan says why; no 1 << 32 here */
		snprintf(why, len, "pool prefix length must be 16..32");
		return -1;
	}
	ex = calloc(n, 1);
	if (!ex) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		ex[i] = excl_has(o, htonl(base + i));
		kept += !ex[i];
	}
	out.nexcl = 0;
	for (i = 0; i < n; i += size) {
		/* The largest aligned run of excluded addresses starting at i. */
		size = 1;
		if (!ex[i])
			continue;
		while (!(i & (size * 2 - 1)) && i + size * 2 <= n && !memchr(ex + i, 0, size * 2))
			size *= 2;
		if (out.nexcl == XCGN_EXCL_MAX) {
			snprintf(why, len, "the exclusions need more than %u prefixes", XCGN_EXCL_MAX);
			free(ex);
			return -1;
		}
		out.excl[out.nexcl].prefix = htonl(base + i);
		out.excl[out.nexcl++].plen = (uint8_t)(32 - __builtin_ctz(size));
	}
	free(ex);
	if (!kept) {
		snprintf(why, len, "the exclusions leave the pool no address");
		return -1;
	}
	*o = out;
	return 0;
}

const char *const xcgn_filtering_name[2] = {
	"endpoint-independent",
	"address-dependent",
};

const char *xcgn_filtering_text(uint8_t filtering, uint8_t bit)
{
	return xcgn_filtering_name[!!(filtering & bit)];
}

void pool_opts_init(struct pool_opts *o)
{
	memset(o, 0, sizeof(*o));
	opts_defaults(xcgn_pool_opts, xcgn_pool_nopts, o);
	o->port_lo = XCGN_DEF_PORT_LO;
	o->port_hi = XCGN_DEF_PORT_HI;
	for (int t = 0; t < XCGN_TIMER_MAX; t++)
		o->timeout[t] = xcgn_timer_default[t];
}

static int ports_parse(const struct opt *t __unused, const char *arg, void *obj)
{
	struct pool_opts *o = obj;

	if (parse_port_range(arg, &o->port_lo, &o->port_hi))
		return invarg("port range (LO-HI within 1-65535)", arg);
	return 0;
}

static int ports_print(const struct opt *t __unused, const void *obj, int i, char *buf, size_t len)
{
	const struct pool_opts *o = obj;

	snprintf(buf, len, "%u-%u", o->port_lo, o->port_hi);
	return !i;
}

/* A cap (a uint32_t at t->off): "off" (0), "auto" (t->set; not taken when
 * 0) or N in 1..t->max. */
static int cap_parse(const struct opt *t, const char *arg, void *obj)
{
	uint32_t *out = (uint32_t *)((char *)obj + t->off);

	if (!strcmp(arg, "off")) {
		*out = 0;
		return 0;
	}
	if (t->set && !strcmp(arg, "auto")) {
		*out = t->set;
		return 0;
	}
	return arg_u32(t->what, arg, 1, t->max, out);
}

static int cap_print(const struct opt *t, const void *obj, int i, char *buf, size_t len)
{
	uint32_t v = *(const uint32_t *)((const char *)obj + t->off);

	if (v && v == t->set)
		snprintf(buf, len, "auto");
	else if (v)
		snprintf(buf, len, "%u", v);
	else
		snprintf(buf, len, "off");
	return !i;
}

/* filtering MODE: every protocol; udp-filtering, tcp-filtering and
 * icmp-filtering MODE: one (.set: its bits of pool_opts.filtering). In
 * the canonical form `filtering` stands for protocols that agree, the
 * three others for protocols that do not. */
static int filter_parse(const struct opt *t, const char *arg, void *obj)
{
	struct pool_opts *o = obj;

	if (!strcmp(arg, xcgn_filtering_name[1]))
		o->filtering |= (uint8_t)t->set;
	else if (!strcmp(arg, xcgn_filtering_name[0]))
		o->filtering &= (uint8_t)~t->set;
	else
		return invarg(t->what, arg);
	return 0;
}

static int filter_print(const struct opt *t, const void *obj, int i, char *buf, size_t len)
{
	const struct pool_opts *o = obj;
	bool agree = o->filtering == XCGN_FILTER_EIF || o->filtering == XCGN_FILTER_ADF;

	if (i || agree != (t->set == XCGN_FILTER_ADF))
		return 0;
	snprintf(buf, len, "%s", xcgn_filtering_text(o->filtering, (uint8_t)t->set));
	return 1;
}

static int det_parse(const struct opt *t __unused, const char *arg, void *obj)
{
	struct pool_opts *o = obj;

	if (parse_prefix(arg, &o->det_prefix, &o->det_plen))
		return invarg("deterministic subscriber prefix", arg);
	o->deterministic = 1;
	return 0;
}

static int det_print(const struct opt *t __unused, const void *obj, int i, char *buf, size_t len)
{
	const struct pool_opts *o = obj;
	char a[16];

	if (i || !o->deterministic)
		return 0;
	snprintf(buf, len, "%s/%u", ipv4_str(o->det_prefix, a, sizeof(a)), o->det_plen);
	return 1;
}

static int exclude_parse(const struct opt *t __unused, const char *arg, void *obj)
{
	struct pool_opts *o = obj;
	uint32_t ex;
	uint8_t exlen;
	char why[160];

	if (parse_prefix(arg, &ex, &exlen))
		return invarg("exclude (an address or a prefix of the pool)", arg);
	if (excl_add(o, ex, exlen, why, sizeof(why))) {
		xcgn_err("%s", why);
		return XCGN_EXIT_USAGE;
	}
	return 0;
}

/* Every exclusion, one a call; an address without its /32. */
static int exclude_print(const struct opt *t __unused, const void *obj, int i, char *buf,
			 size_t len)
{
	const struct pool_opts *o = obj;
	char a[16];

	if (i >= o->nexcl)
		return 0;
	if (o->excl[i].plen == 32)
		snprintf(buf, len, "%s", ipv4_str(o->excl[i].prefix, a, sizeof(a)));
	else
		snprintf(buf, len, "%s/%u", ipv4_str(o->excl[i].prefix, a, sizeof(a)),
			 o->excl[i].plen);
	return 1;
}

/* Timer t->set, in seconds: not below the RFC's minimum. */
static int timer_parse(const struct opt *t, const char *arg, void *obj)
{
	struct pool_opts *o = obj;
	uint32_t v;

	if (parse_u32(arg, xcgn_timer_min[t->set], 1u << 24, &v)) {
		xcgn_err("invalid %s \"%s\" (must be %u..%u, not below the RFC minimum %u)",
			 xcgn_timer_name[t->set], arg, xcgn_timer_min[t->set], 1u << 24,
			 xcgn_timer_min[t->set]);
		return XCGN_EXIT_USAGE;
	}
	o->timeout[t->set] = v;
	return 0;
}

static int timer_print(const struct opt *t, const void *obj, int i, char *buf, size_t len)
{
	snprintf(buf, len, "%u", ((const struct pool_opts *)obj)->timeout[t->set]);
	return !i;
}

#define F(field) .off = offsetof(struct pool_opts, field), \
		 .size = sizeof(((struct pool_opts *)0)->field)
#define CUSTOM(fn) OPT_CUSTOM, .parse = fn##_parse, .print = fn##_print
#define TIMER(t, fl) { XCGN_TIMER_NAME_##t, CUSTOM(timer), .set = XCGN_TIMER_##t, .arg = "S", \
		       .flags = fl }
#define FILTER(name, bits, metavar) { name, CUSTOM(filter), F(filtering), .set = XCGN_FILTER_##bits, \
		  .def = XCGN_FILTER_EIF, .names = xcgn_filtering_name, .nnames = 2, .arg = metavar, \
		  .what = name " (endpoint-independent or address-dependent)" }

/* The pool's options, in the order of their canonical form (config show). */
static const struct opt pool_opt_rows[] = {
	{ "ports", CUSTOM(ports), .arg = "LO-HI" },
	{ "block-size", OPT_UINT, F(block_size), .min = XCGN_BLOCK_SIZE_MIN, .max = 65535,
	  .def = XCGN_DEF_BLOCK_SIZE },
	{ "max-blocks", OPT_UINT, F(max_blocks), .min = 1, .max = XCGN_SUB_BLOCKS_MAX,
	  .def = XCGN_DEF_MAX_BLOCKS },
	FILTER("filtering", ADF, "{ endpoint-independent | address-dependent }"),
	FILTER("udp-filtering", ADF_UDP, "MODE"),
	FILTER("tcp-filtering", ADF_TCP, "MODE"),
	FILTER("icmp-filtering", ADF_ICMP, "MODE"),
	{ "parity", OPT_FLAG, F(parity), .set = 1 },
	{ "no-parity", OPT_FLAG, F(parity), .set = 0, .flags = OPTF_HIDE | OPTF_UNDOC },
	{ "new-rate", OPT_UINT, F(new_rate), .min = 0, .max = 1000000,
	  .what = "new-rate (new mappings a second per subscriber, 0: no cap)" },
	{ "sub-burst", CUSTOM(cap), F(sub_burst), .set = XCGN_SUB_BURST_AUTO, .def = XCGN_SUB_BURST_AUTO,
	  .max = XCGN_SUB_BURST_AUTO - 1, .arg = "{ N | auto | off }",
	  .what = "sub-burst (new subscribers at once; off, auto)" },
	/* The pinned field is 16 bits: 65535 s, about 18 hours. */
	{ "sub-refill", OPT_UINT, F(sub_refill_s), .min = 1, .max = UINT16_MAX,
	  .def = XCGN_DEF_SUB_REFILL, .arg = "S", .what = "sub-refill (seconds)" },
	{ "sub-mappings", CUSTOM(cap), F(sub_maps), .set = XCGN_SUB_MAPS_AUTO, .def = XCGN_SUB_MAPS_AUTO,
	  .max = XCGN_SUB_MAPS_AUTO - 1, .arg = "{ N | auto | off }",
	  .what = "sub-mappings (mappings a subscriber; off, auto)" },
	{ "map-peers", CUSTOM(cap), F(map_peers), .max = XCGN_MAP_PEERS_MAX, .def = XCGN_DEF_MAP_PEERS,
	  .arg = "{ N | off }", .what = "map-peers (remotes a mapping; off)" },
	{ "deterministic", CUSTOM(det), .arg = "SUBSCRIBER-PREFIX" },
	{ "exclude", CUSTOM(exclude), .arg = "ADDR|PREFIX", .flags = OPTF_MANY },
	TIMER(UDP, OPTF_BREAK),
	TIMER(TCP_EST, 0),
	TIMER(TCP_TRANS, 0),
	TIMER(ICMP, 0),
	{ "force", OPT_FLAG, F(force), .set = true, .flags = OPTF_HIDE },
};
const struct opt *const xcgn_pool_opts = pool_opt_rows;
const size_t xcgn_pool_nopts = ARRAY_SIZE(pool_opt_rows);

#undef TIMER
#undef FILTER
#undef CUSTOM
#undef F

int pool_opts_parse(int argc, char **argv, struct pool_opts *o)
{
	return opts_parse(xcgn_pool_opts, xcgn_pool_nopts, "pool", argc, argv, o);
}

/* What a pool's options and its pinned form share, field for field: both
 * copies below are made from this one list. */
#define POOL_SHARED(X)                                                              \
	X(prefix) X(plen) X(port_lo) X(port_hi) X(block_size) X(max_blocks) X(filtering) \
	X(timeout) X(new_rate) X(sub_burst) X(sub_refill_s) X(sub_maps) X(map_peers)
#define X(f) _Static_assert(sizeof(((struct pool_opts *)0)->f) ==                  \
				    sizeof(((struct xcgn_pool *)0)->f), #f " is the same field");
POOL_SHARED(X)
#undef X

void pool_from_opts(const struct pool_opts *o, struct xcgn_pool *p)
{
	memset(p, 0, sizeof(*p));
#define X(f) memcpy(&p->f, &o->f, sizeof(p->f));
	POOL_SHARED(X)
#undef X
	if (o->parity)
		p->flags |= XCGN_POOLF_PARITY;
	if (o->deterministic) {
		p->flags |= XCGN_POOLF_DETERMINISTIC;
		p->det_prefix = o->det_prefix;
		p->det_plen = o->det_plen;
	}
}

void pool_opts_from(const struct xcgn_pool *p, struct pool_opts *o)
{
	memset(o, 0, sizeof(*o));
#define X(f) memcpy(&o->f, &p->f, sizeof(o->f));
	POOL_SHARED(X)
#undef X
	o->parity = !!(p->flags & XCGN_POOLF_PARITY);
	if (p->flags & XCGN_POOLF_DETERMINISTIC) {
		o->deterministic = 1;
		o->det_prefix = p->det_prefix;
		o->det_plen = p->det_plen;
	}
}

int pool_opts_check(struct pool_opts *o, char *why, size_t len)
{
	if (o->nexcl && o->deterministic) {
		snprintf(why, len, "a deterministic pool cannot exclude addresses (its arithmetic "
			 "uses every one)");
		return -1;
	}
	return excl_normalize(o, why, len);
}
