// SPDX-License-Identifier: GPL-2.0
/* The configuration file (xcgn.conf(5)): the CLI's own grammar, one
 * statement a line, so what an operator types, diffs and generates is the
 * same language.
 *
 *   link inside DEV outside DEV [link attach options]
 *   pool PREFIX [pool add options]
 *   bypass PREFIX
 *   daemon [daemon options]
 *
 * '#' starts a comment (at the start of a word), a trailing '\' continues
 * a statement on the next line. Reading and checking are pure (text in,
 * struct out, errors with FILE:LINE); config_diff is pure (two configs in,
 * steps out); only config_running and config_apply touch the pins. */
#include <errno.h>
#include <syslog.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "config/config.h"
#include "net/rpf.h"

#define CONFIG_MAX_BYTES	(4u << 20)

void config_free(struct xcgn_config *c)
{
	free(c->text);
	free(c->tok);
	free(c->bypass);
	free(c->fwd);
	memset(c, 0, sizeof(*c));
}

static int tok_push(struct xcgn_config *c, char *t)
{
	if (c->ntok + 1 >= c->tokcap && xcgn_grow(&c->tok, &c->tokcap, c->ntok + 1, sizeof(*c->tok)))
		return -ENOMEM;
	c->tok[c->ntok++] = t;
	return 0;
}

static int bypass_push(struct xcgn_config *c, uint32_t prefix, uint8_t plen, int line)
{
	if (c->nbypass == c->bypcap &&
	    xcgn_grow(&c->bypass, &c->bypcap, c->nbypass, sizeof(*c->bypass)))
		return -ENOMEM;
	c->bypass[c->nbypass++] = (struct cfg_bypass){ .prefix = prefix, .plen = plen,
						       .line = line };
	return 0;
}

static int forward_push(struct xcgn_config *c, const struct forward *f, int line)
{
	if (c->nfwd == c->fwdcap && xcgn_grow(&c->fwd, &c->fwdcap, c->nfwd, sizeof(*c->fwd)))
		return -ENOMEM;
	c->fwd[c->nfwd++] = (struct cfg_forward){ .f = *f, .line = line };
	return 0;
}

/* One statement: @argv[0] names it. 0, or XCGN_EXIT_USAGE (said). */
static int statement(struct xcgn_config *c, int argc, char **argv, int line, size_t first_tok)
{
	uint32_t prefix;
	uint8_t plen;
	int ret;

	if (!strcmp(argv[0], "link")) {
		if (c->has_link) {
			xcgn_err("a second link statement (the first is on line %d)", c->link_line);
			return XCGN_EXIT_USAGE;
		}
		c->has_link = true;	/* even when wrong: a second one is said */
		c->link_line = line;
		attach_opts_init(&c->link);
		ret = attach_opts_parse(argc - 1, argv + 1, &c->link);
		if (ret)
			return ret;
		if (strlen(c->link.inside) >= IFNAMSIZ || strlen(c->link.outside) >= IFNAMSIZ) {
			xcgn_err("a device name is longer than %d characters", IFNAMSIZ - 1);
			return XCGN_EXIT_USAGE;
		}
		snprintf(c->inside, sizeof(c->inside), "%s", c->link.inside);
		snprintf(c->outside, sizeof(c->outside), "%s", c->link.outside);
		c->link.inside = c->inside;
		c->link.outside = c->outside;
	} else if (!strcmp(argv[0], "pool")) {
		struct cfg_pool *p;

		if (argc < 2) {
			xcgn_err("pool needs a PREFIX");
			return XCGN_EXIT_USAGE;
		}
		if (c->npools == XCGN_POOLS_MAX) {
			xcgn_err("more than %u pools", XCGN_POOLS_MAX);
			return XCGN_EXIT_USAGE;
		}
		p = &c->pools[c->npools];
		pool_opts_init(&p->o);
		if (parse_prefix(argv[1], &p->o.prefix, &p->o.plen))
			return invarg("pool prefix (a.b.c.d/len, host bits clear)", argv[1]);
		ret = pool_opts_parse(argc - 2, argv + 2, &p->o);
		if (ret)
			return ret;
		p->line = line;
		c->npools++;
	} else if (!strcmp(argv[0], "bypass")) {
		if (argc != 2) {
			xcgn_err("bypass takes exactly one PREFIX");
			return XCGN_EXIT_USAGE;
		}
		if (parse_prefix(argv[1], &prefix, &plen))
			return invarg("bypass prefix (a.b.c.d/len, host bits clear)", argv[1]);
		if (bypass_push(c, prefix, plen, line)) {
			xcgn_err("out of memory");
			return XCGN_EXIT_ERR;
		}
	} else if (!strcmp(argv[0], "forward")) {
		struct forward f;

		ret = forward_parse(argc - 1, argv + 1, &f, true);
		if (ret)
			return ret;
		if (forward_push(c, &f, line)) {
			xcgn_err("out of memory");
			return XCGN_EXIT_ERR;
		}
	} else if (!strcmp(argv[0], "daemon")) {
		if (c->has_daemon) {
			xcgn_err("a second daemon statement (the first is on line %d)",
				 c->daemon_line);
			return XCGN_EXIT_USAGE;
		}
		c->has_daemon = true;
		c->daemon_line = line;
		ret = daemon_args_check(argc - 1, argv + 1);
		if (ret)
			return ret;
		c->daemon_first = first_tok + 1;
		c->daemon_argc = argc - 1;
	} else if (!strcmp(argv[0], "cluster")) {
		return cluster_statement(c, argc, argv, line);
	} else {
		xcgn_err("unknown statement \"%s\" (link, pool, bypass, forward, daemon or cluster)",
			 argv[0]);
		return XCGN_EXIT_USAGE;
	}
	return 0;
}

/* What the statements say together: pools against each other, the
 * subscriber range and the bypass list; the address budget. */
static int config_validate(struct xcgn_config *c, char *where, size_t wlen)
{
	struct xcgn_pool planned[XCGN_POOLS_MAX] = {};
	char why[200], a[16], b[16];
	uint32_t naddrs = 0;
	size_t i, j;
	int errors = 0;

	if (!c->has_link) {
		snprintf(where, wlen, "%s", c->name);
		xcgn_err("no link statement: the file must say which devices xcgn serves");
		return 1;
	}
	for (i = 0; i < c->npools; i++) {
		struct cfg_pool *cp = &c->pools[i];

		snprintf(where, wlen, "%s:%d", c->name, cp->line);
		pool_from_opts(&cp->o, &planned[i]);
		if (pool_plan(&planned[i], why, sizeof(why)) ||
		    pool_opts_check(&cp->o, why, sizeof(why))) {
			xcgn_err("pool %s/%u: %s", ipv4_str(cp->o.prefix, a, sizeof(a)), cp->o.plen,
				 why);
			errors++;
			continue;
		}
		/* The defaults written in, so a diff compares like with like. */
		memcpy(cp->o.timeout, planned[i].timeout, sizeof(cp->o.timeout));
		cp->o.sub_burst = planned[i].sub_burst;
		cp->o.sub_refill_s = planned[i].sub_refill_s;
		cp->o.sub_maps = planned[i].sub_maps;
		cp->o.map_peers = planned[i].map_peers;
		if (pool_conflict(&planned[i], planned, i, c->link.sub_prefix, c->link.sub_plen, why,
				  sizeof(why))) {
			xcgn_err("%s", why);
			errors++;
		}
		naddrs += planned[i].naddrs;
	}
	if (naddrs > c->link.max_addrs) {
		snprintf(where, wlen, "%s:%d", c->name, c->link_line);
		xcgn_err("the pools hold %u addresses, more than max-addresses %u (at most %u)",
			 naddrs, c->link.max_addrs, XCGN_PADDRS_MAX);
		errors++;
	}
	for (i = 0; i < c->nbypass; i++) {
		const struct cfg_bypass *bp = &c->bypass[i];

		snprintf(where, wlen, "%s:%d", c->name, bp->line);
		if (prefix_overlap(bp->prefix, bp->plen, c->link.sub_prefix, c->link.sub_plen)) {
			xcgn_err("bypass %s/%u overlaps the subscriber range %s/%u",
				 ipv4_str(bp->prefix, a, sizeof(a)), bp->plen,
				 ipv4_str(c->link.sub_prefix, b, sizeof(b)), c->link.sub_plen);
			errors++;
		}
		for (j = 0; j < c->npools; j++)
			if (prefix_overlap(bp->prefix, bp->plen, c->pools[j].o.prefix,
					   c->pools[j].o.plen)) {
				xcgn_err("bypass %s/%u overlaps pool %s/%u (line %d)",
					 ipv4_str(bp->prefix, a, sizeof(a)), bp->plen,
					 ipv4_str(c->pools[j].o.prefix, b, sizeof(b)),
					 c->pools[j].o.plen, c->pools[j].line);
				errors++;
			}
		for (j = 0; j < i; j++)
			if (c->bypass[j].prefix == bp->prefix && c->bypass[j].plen == bp->plen) {
				xcgn_err("bypass %s/%u is already on line %d",
					 ipv4_str(bp->prefix, a, sizeof(a)), bp->plen,
					 c->bypass[j].line);
				errors++;
			}
	}
	for (i = 0; i < c->nfwd; i++) {
		const struct forward *f = &c->fwd[i].f;

		snprintf(where, wlen, "%s:%d", c->name, c->fwd[i].line);
		for (j = 0; j < c->npools; j++)
			if (prefix_overlap(f->paddr, 32, c->pools[j].o.prefix, c->pools[j].o.plen))
				break;
		if (j == c->npools) {
			xcgn_err("forward %s:%u: the address is in no pool of the file",
				 ipv4_str(f->paddr, a, sizeof(a)), f->pport);
			errors++;
		}
		if (!prefix_overlap(f->sub, 32, c->link.sub_prefix, c->link.sub_plen)) {
			xcgn_err("forward %s:%u: %s is no subscriber (%s/%u)",
				 ipv4_str(f->paddr, a, sizeof(a)), f->pport,
				 ipv4_str(f->sub, b, sizeof(b)),
				 ipv4_str(c->link.sub_prefix, why, sizeof(why)), c->link.sub_plen);
			errors++;
		}
		for (j = 0; j < i; j++) {
			const struct forward *g = &c->fwd[j].f;

			if (g->proto != f->proto)
				continue;
			if ((g->paddr == f->paddr && g->pport == f->pport) ||
			    (g->sub == f->sub && g->port == f->port)) {
				xcgn_err("forward %s:%u collides with line %d's",
					 ipv4_str(f->paddr, a, sizeof(a)), f->pport, c->fwd[j].line);
				errors++;
			}
		}
	}
	return errors + cluster_validate(c, where, wlen);
}

int config_parse(const char *name, const char *text, struct xcgn_config *c)
{
	char where[300];
	char *p, *line_end;
	int line = 0, stmt_line = 0, errors = 0;
	size_t first = 0;
	bool cont = false;

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->text = strdup(text);
	if (!c->text) {
		xcgn_err("out of memory");
		return -ENOMEM;
	}
	xcgn_err_where = where;
	for (p = c->text; *p || cont; p = line_end) {
		bool more = false;
		char *q, *w;

		line++;
		line_end = strchr(p, '\n');
		if (line_end)
			*line_end++ = '\0';
		else
			line_end = p + strlen(p);
		if (!cont) {
			first = c->ntok;
			stmt_line = line;
		}
		/* Words, up to a comment; a lone '\' at the end continues. */
		for (q = p;;) {
			q += strspn(q, " \t\r");
			if (!*q || *q == '#')
				break;
			w = q;
			q += strcspn(q, " \t\r");
			if (*q)
				*q++ = '\0';
			if (!strcmp(w, "\\") && !*(q + strspn(q, " \t\r"))) {
				more = true;
				break;
			}
			if (tok_push(c, w)) {
				xcgn_err_where = NULL;
				xcgn_err("out of memory");
				return -ENOMEM;
			}
		}
		{
			size_t n = c->ntok - first;

			/* "word\" also continues */
			if (!more && n && c->tok[c->ntok - 1][strlen(c->tok[c->ntok - 1]) - 1] ==
						  '\\') {
				char *t = c->tok[c->ntok - 1];

				t[strlen(t) - 1] = '\0';
				if (!*t)
					c->ntok--;
				more = true;
			}
		}
		cont = more && *line_end;
		if (cont)
			continue;
		if (c->ntok > first) {
			snprintf(where, sizeof(where), "%s:%d", name, stmt_line);
			c->tok[c->ntok] = NULL;
			if (statement(c, (int)(c->ntok - first), c->tok + first, stmt_line, first))
				errors++;
		}
		if (!*line_end)
			break;
	}
	if (!errors)
		errors = config_validate(c, where, sizeof(where));
	xcgn_err_where = NULL;
	if (c->has_daemon)
		c->daemon_argv = c->tok + c->daemon_first;
	return errors ? -EINVAL : 0;
}

int config_load(const char *path, struct xcgn_config *c)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t got = 0;
	int fd, err;

	memset(c, 0, sizeof(*c));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		err = -errno;
		xcgn_err("%s: %s", path, strerror(-err));
		if (fd >= 0)
			close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_BYTES) {
		xcgn_err("%s: %s", path,
			 S_ISREG(st.st_mode) ? "larger than 4 MiB" : "not a regular file");
		close(fd);
		return -EINVAL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		xcgn_err("out of memory");
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	if (strlen(buf) != got) {
		free(buf);
		xcgn_err("%s: a NUL byte in the file", path);
		return -EINVAL;
	}
	err = config_parse(path, buf, c);
	free(buf);
	return err;
}

/* ---- printing: the canonical form, every key spelled out ---------------- */

static void print_pool(FILE *f, const struct pool_opts *o)
{
	char a[16];

	fprintf(f, "pool %s/%u", ipv4_str(o->prefix, a, sizeof(a)), o->plen);
	opts_print(f, xcgn_pool_opts, xcgn_pool_nopts, o);
	fputc('\n', f);
}

void config_print(FILE *f, const struct xcgn_config *c)
{
	const struct attach_opts *l = &c->link;
	char a[16];
	size_t i;

	if (!c->has_link)
		return;
	fputs("link", f);
	opts_print(f, xcgn_link_opts, xcgn_link_nopts, l);
	fputc('\n', f);
	for (i = 0; i < c->npools; i++)
		print_pool(f, &c->pools[i].o);
	for (i = 0; i < c->nbypass; i++)
		fprintf(f, "bypass %s/%u\n", ipv4_str(c->bypass[i].prefix, a, sizeof(a)),
			c->bypass[i].plen);
	for (i = 0; i < c->nfwd; i++) {
		fputs("forward ", f);
		forward_print(f, &c->fwd[i].f);
		fputc('\n', f);
	}
	cluster_print(f, &c->cluster);
	if (c->has_daemon) {
		int k;

		fputs("daemon", f);
		for (k = 0; k < c->daemon_argc; k++)
			fprintf(f, " %s", c->daemon_argv[k]);
		fputc('\n', f);
	}
}

char *config_daemon_text(const struct xcgn_config *c, const struct daemon_opts *o)
{
	struct daemon_opts line = *o;
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	if (c->cluster.node && line.node == c->cluster.node)
		line.node = 0;
	daemon_opts_print(f, &line);
	cluster_print(f, &c->cluster);
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

int config_daemon_opts(const struct xcgn_config *c, struct daemon_opts *o)
{
	daemon_opts_init(o);
	o->node = c->cluster.node;
	return daemon_opts_parse(c->daemon_argc, c->daemon_argv, o);
}

/* ---- the running instance ------------------------------------------------ */

int config_running(const struct xcgn_maps *m, struct xcgn_config *c)
{
	struct xcgn_lpm4_key k, *prev = NULL;
	struct xcgn_pool p;
	__u32 id, npools = xcgn_npools(m);
	int err;

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "(running)");
	err = link_running(m, &c->link, c->inside, c->outside);
	if (err)
		return err;
	c->has_link = true;
	for (id = 0; id < npools && c->npools < XCGN_POOLS_MAX; id++) {
		if (bpf_map_lookup_elem(m->pools, &id, &p)) {
			err = -errno;
			xcgn_err("read pool %u: %s", id, strerror(-err));
			return err;
		}
		if (!(p.flags & XCGN_POOLF_ACTIVE))
			continue;
		pool_opts_from(&p, &c->pools[c->npools].o);
		pool_excl_read(m, &p, &c->pools[c->npools].o);
		c->npools++;
	}
	while (!bpf_map_get_next_key(m->bypass, prev, &k)) {
		if (bypass_push(c, k.addr, (uint8_t)k.prefixlen, 0)) {
			config_free(c);
			return -ENOMEM;
		}
		prev = &k;
	}
	{
		struct forward *fw;
		size_t n, i;

		err = forward_list(m, &fw, &n);
		for (i = 0; !err && i < n; i++)
			err = forward_push(c, &fw[i], 0);
		free(fw);
		if (err) {
			config_free(c);
			return -ENOMEM;
		}
	}
	return 0;
}

static bool forward_in(const struct xcgn_config *c, const struct forward *f)
{
	for (size_t i = 0; i < c->nfwd; i++) {
		const struct forward *g = &c->fwd[i].f;

		if (g->paddr == f->paddr && g->pport == f->pport && g->sub == f->sub &&
		    g->port == f->port && g->proto == f->proto)
			return true;
	}
	return false;
}

/* ---- the difference, as steps -------------------------------------------- */

static bool excl_same(const struct pool_opts *a, const struct pool_opts *b)
{
	return a->nexcl == b->nexcl && !memcmp(a->excl, b->excl, sizeof(a->excl[0]) * a->nexcl);
}

static bool pool_same(const struct pool_opts *a, const struct pool_opts *b)
{
	return excl_same(a, b) && a->prefix == b->prefix && a->plen == b->plen && a->port_lo == b->port_lo &&
	       a->port_hi == b->port_hi && a->block_size == b->block_size &&
	       a->max_blocks == b->max_blocks && a->filtering == b->filtering &&
	       a->deterministic == b->deterministic && a->parity == b->parity &&
	       a->new_rate == b->new_rate && a->det_plen == b->det_plen &&
	       a->sub_burst == b->sub_burst && a->sub_refill_s == b->sub_refill_s &&
	       a->sub_maps == b->sub_maps && a->map_peers == b->map_peers &&
	       a->det_prefix == b->det_prefix && !memcmp(a->timeout, b->timeout, sizeof(a->timeout));
}

static bool pool_settable(const struct pool_opts *a, const struct pool_opts *b)
{
	struct xcgn_pool pa, pb;

	pool_from_opts(a, &pa);
	pool_from_opts(b, &pb);
	return pool_same_geometry(&pa, &pb) && excl_same(a, b);
}

static const struct pool_opts *pool_in(const struct xcgn_config *c, uint32_t prefix, uint8_t plen)
{
	size_t i;

	for (i = 0; i < c->npools; i++)
		if (c->pools[i].o.prefix == prefix && c->pools[i].o.plen == plen)
			return &c->pools[i].o;
	return NULL;
}

static bool bypass_in(const struct xcgn_config *c, uint32_t prefix, uint8_t plen)
{
	size_t i;

	for (i = 0; i < c->nbypass; i++)
		if (c->bypass[i].prefix == prefix && c->bypass[i].plen == plen)
			return true;
	return false;
}

static int step(struct config_plan *p, enum cstep_kind kind, const struct pool_opts *from,
		const struct pool_opts *to, uint32_t prefix, uint8_t plen)
{
	if (p->n == p->cap && xcgn_grow(&p->v, &p->cap, p->n, sizeof(*p->v)))
		return -ENOMEM;
	p->v[p->n++] = (struct cstep){ .kind = kind, .from = from, .to = to, .prefix = prefix,
				       .plen = plen };
	return 0;
}

static int step_fwd(struct config_plan *p, enum cstep_kind kind, const struct forward *f)
{
	int err = step(p, kind, NULL, NULL, 0, 0);

	if (!err)
		p->v[p->n - 1].fwd = f;
	return err;
}

/* What needs a re-attach: the first such difference, said in @why. */
static bool link_needs_restart(const struct attach_opts *r, const struct attach_opts *w,
			       char *why, size_t len)
{
	char a[16], b[16];

	if (strcmp(r->inside, w->inside) || strcmp(r->outside, w->outside))
		snprintf(why, len, "devices inside %s outside %s become inside %s outside %s",
			 r->inside, r->outside, w->inside, w->outside);
	else if (r->xdp_mode != w->xdp_mode)
		snprintf(why, len, "xdp-mode changes");
	else if (r->sub_prefix != w->sub_prefix || r->sub_plen != w->sub_plen)
		snprintf(why, len, "subscribers %s/%u become %s/%u",
			 ipv4_str(r->sub_prefix, a, sizeof(a)), r->sub_plen,
			 ipv4_str(w->sub_prefix, b, sizeof(b)), w->sub_plen);
	else if (r->max_maps != w->max_maps)
		snprintf(why, len, "max-mappings %u becomes %u", r->max_maps, w->max_maps);
	else if (r->max_subs != w->max_subs)
		snprintf(why, len, "max-subscribers %u becomes %u", r->max_subs, w->max_subs);
	else if (r->max_routes != w->max_routes)
		snprintf(why, len, "max-routes %u becomes %u", r->max_routes, w->max_routes);
	else if (r->max_addrs != w->max_addrs)
		snprintf(why, len, "max-addresses %u becomes %u", r->max_addrs, w->max_addrs);
	else
		return false;
	return true;
}

int config_diff(const struct xcgn_config *run, const struct xcgn_config *want,
		struct config_plan *p)
{
	const struct pool_opts *o;
	size_t i;
	int err = 0;

	p->n = 0;
	p->restart = false;
	p->why[0] = '\0';
	if (run && link_needs_restart(&run->link, &want->link, p->why, sizeof(p->why))) {
		p->restart = true;
		run = NULL;	/* from nothing, after a detach */
	}
	if (!run) {
		err = step(p, CS_ATTACH, NULL, NULL, 0, 0);
		for (i = 0; !err && i < want->npools; i++)
			err = step(p, CS_POOL_ADD, NULL, &want->pools[i].o, 0, 0);
		for (i = 0; !err && i < want->nbypass; i++)
			err = step(p, CS_BYPASS_ADD, NULL, NULL, want->bypass[i].prefix,
				   want->bypass[i].plen);
		for (i = 0; !err && i < want->nfwd; i++)
			err = step_fwd(p, CS_FORWARD_ADD, &want->fwd[i].f);
		return err;
	}
	if (run->link.rpf_in != want->link.rpf_in || run->link.rpf_out != want->link.rpf_out ||
	    run->link.refusal_icmp != want->link.refusal_icmp ||
	    run->link.switches != want->link.switches ||
	    run->link.route_table != want->link.route_table ||
	    (!(want->link.switches & XCGN_SW_MSS_AUTO) &&
	     run->link.mss_clamp != want->link.mss_clamp))
		err = step(p, CS_LINK_SET, NULL, NULL, 0, 0);
	for (i = 0; !err && i < want->npools; i++) {
		o = pool_in(run, want->pools[i].o.prefix, want->pools[i].o.plen);
		if (o && !pool_same(o, &want->pools[i].o) && pool_settable(o, &want->pools[i].o))
			err = step(p, CS_POOL_SET, o, &want->pools[i].o, 0, 0);
	}
	for (i = 0; !err && i < run->nfwd; i++)
		if (!forward_in(want, &run->fwd[i].f))
			err = step_fwd(p, CS_FORWARD_DEL, &run->fwd[i].f);
	for (i = 0; !err && i < run->nbypass; i++)
		if (!bypass_in(want, run->bypass[i].prefix, run->bypass[i].plen))
			err = step(p, CS_BYPASS_DEL, NULL, NULL, run->bypass[i].prefix,
				   run->bypass[i].plen);
	for (i = 0; !err && i < run->npools; i++) {
		o = pool_in(want, run->pools[i].o.prefix, run->pools[i].o.plen);
		if (!o || !pool_settable(&run->pools[i].o, o))
			err = step(p, CS_POOL_DEL, &run->pools[i].o, NULL, 0, 0);
	}
	for (i = 0; !err && i < want->npools; i++) {
		o = pool_in(run, want->pools[i].o.prefix, want->pools[i].o.plen);
		if (!o || !pool_settable(o, &want->pools[i].o))
			err = step(p, CS_POOL_ADD, o, &want->pools[i].o, 0, 0);
	}
	for (i = 0; !err && i < want->nbypass; i++)
		if (!bypass_in(run, want->bypass[i].prefix, want->bypass[i].plen))
			err = step(p, CS_BYPASS_ADD, NULL, NULL, want->bypass[i].prefix,
				   want->bypass[i].plen);
	for (i = 0; !err && i < want->nfwd; i++)
		if (!forward_in(run, &want->fwd[i].f))
			err = step_fwd(p, CS_FORWARD_ADD, &want->fwd[i].f);
	return err;
}

void config_plan_free(struct config_plan *p)
{
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* ---- applying ------------------------------------------------------------ */

/* Do (@undo false) or undo one step. 0 or -errno (said). */
static int step_run(const struct xcgn_maps *m, const struct cstep *s, const struct xcgn_config *run,
		    const struct xcgn_config *want, bool undo)
{
	switch (s->kind) {
	case CS_ATTACH:
		return 0;	/* done (and undone) by config_apply itself */
	case CS_LINK_SET:
		return link_set(m, undo ? &run->link : &want->link);
	case CS_POOL_SET:
		return pool_set(m, undo ? s->from : s->to);
	case CS_POOL_DEL:
		return undo ? pool_add(m, s->from) : pool_del(m, s->from->prefix, s->from->plen);
	case CS_POOL_ADD:
		return undo ? pool_del(m, s->to->prefix, s->to->plen) : pool_add(m, s->to);
	case CS_BYPASS_DEL:
		return undo ? bypass_add(m, s->prefix, s->plen) : bypass_del(m, s->prefix, s->plen);
	case CS_BYPASS_ADD:
		return undo ? bypass_del(m, s->prefix, s->plen) : bypass_add(m, s->prefix, s->plen);
	case CS_FORWARD_DEL:
		return undo ? forward_add(m, s->fwd) : forward_del(m, s->fwd, xcgn_daemon_serves(m));
	case CS_FORWARD_ADD:
		return undo ? forward_del(m, s->fwd, xcgn_daemon_serves(m)) : forward_add(m, s->fwd);
	}
	return -EINVAL;
}

const char *const cstep_name[] = {
	[CS_ATTACH] = "attach",		[CS_LINK_SET] = "link set",
	[CS_POOL_SET] = "pool set",	[CS_POOL_DEL] = "pool del",
	[CS_POOL_ADD] = "pool add",	[CS_BYPASS_DEL] = "bypass del",
	[CS_BYPASS_ADD] = "bypass add",	[CS_FORWARD_DEL] = "forward del",
	[CS_FORWARD_ADD] = "forward add",
};

static void step_say(const struct cstep *s)
{
	const struct pool_opts *o = s->to ? s->to : s->from;
	char a[16];

	if (!xcgn_verbose)
		return;
	if (o && s->kind >= CS_POOL_SET && s->kind <= CS_POOL_ADD)
		xcgn_logf(LOG_INFO, "xcgn: %s %s/%u\n", cstep_name[s->kind],
			ipv4_str(o->prefix, a, sizeof(a)), o->plen);
	else if (s->kind == CS_BYPASS_DEL || s->kind == CS_BYPASS_ADD)
		xcgn_logf(LOG_INFO, "xcgn: %s %s/%u\n", cstep_name[s->kind],
			ipv4_str(s->prefix, a, sizeof(a)), s->plen);
	else
		xcgn_logf(LOG_INFO, "xcgn: %s\n", cstep_name[s->kind]);
}

/* Step @s as the command that does it, in the CLI's (and the file's)
 * words: what `config diff` and `config apply dry-run` print. */
static void step_print(FILE *f, const struct cstep *s, const struct xcgn_config *run,
		       const struct xcgn_config *want, bool restart)
{
	const struct pool_opts *o = s->to ? s->to : s->from;
	char a[16];

	switch (s->kind) {
	case CS_ATTACH:
		if (restart)
			fputs("link detach\n", f);
		fputs("link attach", f);
		opts_print_changed(f, xcgn_link_opts, xcgn_link_nopts, &want->link, NULL);
		break;
	case CS_LINK_SET:
		fputs("link set", f);
		opts_print_changed(f, xcgn_link_opts, xcgn_link_nopts, &want->link, &run->link);
		break;
	case CS_POOL_SET:
		fprintf(f, "pool set %s/%u", ipv4_str(o->prefix, a, sizeof(a)), o->plen);
		opts_print_changed(f, xcgn_pool_opts, xcgn_pool_nopts, s->to, s->from);
		break;
	case CS_POOL_DEL:
		fprintf(f, "pool del %s/%u", ipv4_str(o->prefix, a, sizeof(a)), o->plen);
		break;
	case CS_POOL_ADD:
		fprintf(f, "pool add %s/%u", ipv4_str(o->prefix, a, sizeof(a)), o->plen);
		opts_print_changed(f, xcgn_pool_opts, xcgn_pool_nopts, s->to, NULL);
		break;
	case CS_BYPASS_DEL:
	case CS_BYPASS_ADD:
		fprintf(f, "pool bypass %s %s/%u", s->kind == CS_BYPASS_ADD ? "add" : "del",
			ipv4_str(s->prefix, a, sizeof(a)), s->plen);
		break;
	case CS_FORWARD_DEL:
		fprintf(f, "forward del %s:%u proto %s", ipv4_str(s->fwd->paddr, a, sizeof(a)),
			s->fwd->pport, s->fwd->proto == 6 ? "tcp" : "udp");
		break;
	case CS_FORWARD_ADD:
		fputs("forward add ", f);
		forward_print(f, s->fwd);
		break;
	}
	fputc('\n', f);
}

int config_apply_locked(const struct xcgn_config *want, bool restart_ok)
{
	return config_apply_plan_locked(want, restart_ok, NULL);
}

int config_apply_plan_locked(const struct xcgn_config *want, bool restart_ok, FILE *dry_run)
{
	struct xcgn_config run = {};
	struct config_plan plan = {};
	struct xcgn_maps m;
	bool attached, maps_open = false;
	char dir[256];
	size_t i, done = 0;
	int err, ret = XCGN_EXIT_ERR;

	memset(&m, -1, sizeof(m));	/* no map until opened */
	if (xcgn_pin_dir(dir, sizeof(dir)))
		return XCGN_EXIT_ERR;
	attached = xcgn_attached_here(dir);
	if (attached) {
		if (xcgn_maps_open(&m))
			goto out;
		maps_open = true;
		if (config_running(&m, &run))
			goto out;
	}
	if (config_diff(attached ? &run : NULL, want, &plan)) {
		xcgn_err("out of memory");
		goto out;
	}
	if (plan.restart && !restart_ok) {
		xcgn_err("%s: %s, which needs a re-attach that drops every session; nothing "
			 "changed (`xcgn config apply %s restart` does it)",
			 want->name, plan.why, want->name);
		goto out;
	}
	if (!plan.n || dry_run) {
		for (i = 0; i < plan.n; i++)
			step_print(dry_run, &plan.v[i], &run, want, plan.restart);
		ret = XCGN_EXIT_OK;
		goto out;
	}
	if (plan.v[0].kind == CS_ATTACH) {
		if (maps_open) {
			xcgn_maps_close(&m);
			maps_open = false;
		}
		if (plan.restart) {
			step_say(&plan.v[0]);
			if (xcgn_detach_locked())
				goto out;
		}
		if (xcgn_attach_locked(&want->link))
			goto out;
		if (xcgn_maps_open(&m)) {
			xcgn_detach_locked();
			goto out;
		}
		maps_open = true;
		done = 1;
	}
	for (i = done; i < plan.n; i++, done++) {
		step_say(&plan.v[i]);
		err = step_run(&m, &plan.v[i], &run, want, false);
		if (err)
			break;
	}
	if (done == plan.n) {
		ret = XCGN_EXIT_OK;
		goto out;
	}
	/* All or nothing: what was done is undone, last first. */
	if (plan.v[0].kind == CS_ATTACH) {
		xcgn_maps_close(&m);
		maps_open = false;
		xcgn_detach_locked();
		xcgn_err("%s: not applied; xcgn is detached again%s", want->name,
			 plan.restart ? " (the re-attach dropped the sessions; attach the "
					"previous configuration again)" : "");
		goto out;
	}
	err = 0;
	while (done-- > 0)
		if (step_run(&m, &plan.v[done], &run, want, true))
			err = -EIO;
	if (err)
		xcgn_err("%s: not applied, and some step could not be undone (see above)",
			 want->name);
	else
		xcgn_err("%s: not applied; the instance is as it was", want->name);
out:
	if (maps_open)
		xcgn_maps_close(&m);
	config_plan_free(&plan);
	config_free(&run);
	return ret;
}
