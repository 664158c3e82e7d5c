// SPDX-License-Identifier: GPL-2.0
/* Reverse-path validation, the datapath's side: keep its tables in step
 * with the FIB, and ask its check (the explain program). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "datapath/datapath.h"
#include "net/rpf.h"
#include "xcgn_gc.skel.h"

/* ---- sync ---------------------------------------------------------------- */

/* The daemon syncs every second: a lasting failure is said once. */
#define say(quiet, ...)                         \
	do {                                    \
		if (!(quiet))                   \
			xcgn_err(__VA_ARGS__);  \
	} while (0)

static int key_in(const struct rpf_entry *e, size_t n, const struct xcgn_rpf_key *k)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = memcmp(&e[mid].key, k, sizeof(*k));

		if (!c)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* The keys of xcgn_rpf4 not in @e (sorted), and how many keys it holds. */
static int stale_keys(const struct xcgn_maps *m, const struct rpf_entry *e, size_t n,
		      struct xcgn_rpf_key **out, size_t *nstale, size_t *count)
{
	struct xcgn_rpf_key k, next, *stale = NULL;
	size_t cap = 0;

	*nstale = *count = 0;
	if (bpf_map_get_next_key(m->rpf4, NULL, &next)) {
		*out = NULL;
		return errno == ENOENT ? 0 : -errno;
	}
	do {
		k = next;
		(*count)++;
		if (key_in(e, n, &k))
			continue;
		if (xcgn_grow(&stale, &cap, *nstale, sizeof(*stale))) {
			free(stale);
			return -ENOMEM;
		}
		stale[(*nstale)++] = k;
	} while (!bpf_map_get_next_key(m->rpf4, &k, &next));
	*out = stale;
	return 0;
}

static int delete_keys(const struct xcgn_maps *m, const struct xcgn_rpf_key *k, size_t n,
		       struct rpf_sync_stats *st)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (bpf_map_delete_elem(m->rpf4, &k[i]) && errno != ENOENT)
			return -errno;
		st->removed++;
	}
	return 0;
}

/* Entries of @e that are new or changed, flagged in @todo; their count. */
static size_t changes(const struct xcgn_maps *m, const struct rpf_entry *e, size_t n, bool *todo,
		      struct rpf_sync_stats *st)
{
	struct xcgn_rpf_route cur;
	size_t i, nnew = 0;

	for (i = 0; i < n; i++) {
		/* An LPM lookup answers the longest match, maybe a shorter
		 * prefix: it is this entry only if the prefix agrees. */
		todo[i] = true;
		if (!bpf_map_lookup_elem(m->rpf4, &e[i].key, &cur) && cur.plen == e[i].val.plen &&
		    cur.prefix == e[i].val.prefix) {
			if (!memcmp(&cur, &e[i].val, sizeof(cur))) {
				todo[i] = false;
				continue;
			}
			st->changed++;
		} else {
			st->added++;
			nnew++;
		}
	}
	return nnew;
}

/* Add new and changed routes. Stale ones stay (the caller removes them
 * once the devices point at the new layout), unless the table would fill
 * up in between: then they go first. */
static int add_routes(const struct xcgn_maps *m, const struct rpf_entry *e, size_t n, uint32_t max,
		      struct rpf_sync_stats *st, bool quiet, struct xcgn_rpf_key **stale,
		      size_t *nstale)
{
	size_t i, count, nnew;
	bool *todo;
	int err;

	todo = calloc(n ? n : 1, sizeof(*todo));
	if (!todo)
		return -ENOMEM;
	err = stale_keys(m, e, n, stale, nstale, &count);
	if (err)
		goto out;
	nnew = changes(m, e, n, todo, st);
	/* >=: before 6.13 the kernel refuses even an in-place update of a
	 * full trie. */
	if (count + nnew >= max && *nstale) {
		err = delete_keys(m, *stale, *nstale, st);
		*nstale = 0;
		if (err)
			goto out;
	}
	for (i = 0; i < n; i++) {
		char a[16];

		if (!todo[i])
			continue;
		if (bpf_map_update_elem(m->rpf4, &e[i].key, &e[i].val, BPF_ANY)) {
			err = -errno;
			say(quiet, "reverse-path table: add %s/%u: %s",
			    ipv4_str(e[i].key.addr, a, sizeof(a)), e[i].val.plen, strerror(-err));
			goto out;
		}
	}
out:
	free(todo);
	return err;
}

/* Write a device's entry, keeping its mode: its flags from @f, or when
 * the tables lag the FIB (@no_fib) the same with XCGN_RPFD_NO_FIB; with
 * no FIB at all, the flags it had plus XCGN_RPFD_NO_FIB. */
static int sync_dev(const struct xcgn_maps *m, const struct rpf_fib *f, __u32 which, int ifindex,
		    bool no_fib)
{
	const struct rpf_link *l = f ? rpf_link_by_index(f, ifindex) : NULL;
	struct xcgn_rpf_dev d = {}, cur = {};

	if (bpf_map_lookup_elem(m->rpfdev, &which, &cur))
		return -errno;
	d.ifindex = (__u32)ifindex;
	d.mode = cur.mode;
	if (l)
		d.flags = rpf_dev_flags(f, l, which == XCGN_RPF_DEV_OUTSIDE);
	else if (!f)
		d.flags = cur.flags;
	/* else: the device is gone, the entry invalid, nothing arrives. */
	if (no_fib && d.flags)
		d.flags |= XCGN_RPFD_NO_FIB;
	if (!memcmp(&d, &cur, sizeof(d)))
		return 0;
	return bpf_map_update_elem(m->rpfdev, &which, &d, BPF_ANY) ? -errno : 0;
}

static uint32_t map_capacity(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return XCGN_RPF_ROUTES_MAX;
	return info.max_entries;
}

/* Order matters to a datapath reading all along: new routes, then the
 * devices' flags (which may switch layouts), then stale routes out. */
/* FNV-1a over the built entries: what the route tables should hold. */
static uint64_t entries_digest(const struct rpf_entry *e, size_t n)
{
	const unsigned char *b = (const void *)e;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n * sizeof(*e); i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h | 1;	/* 0 means "nothing synced yet" */
}

/* Does the destination alone decide the next hop in @f? */
bool rpf_fib_simple(const struct rpf_fib *f)
{
	size_t i;

	if (f->custom_rules)
		return false;
	for (i = 0; i < f->nroutes; i++)
		if (f->routes[i].nnh > 1 || f->routes[i].nh_more || f->routes[i].nh_obj ||
		    f->routes[i].tos)
			return false;
	return true;
}

int rpf_sync(const struct xcgn_maps *m, struct rpf_sync_stats *st, bool quiet)
{
	return rpf_sync_cached(m, st, quiet, NULL);
}

int rpf_sync_cached(const struct xcgn_maps *m, struct rpf_sync_stats *st, bool quiet,
		    uint64_t *digest)
{
	uint64_t want = 0;
	struct xcgn_rpf_key *stale = NULL;
	struct xcgn_link_info li;
	struct rpf_sync_stats dummy;
	struct rpf_entry *e = NULL;
	struct rpf_fib f;
	size_t n = 0, nstale = 0;
	uint32_t max;
	int err;

	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	err = xcgn_link_read(m, &li);
	if (err)
		return err;
	err = rpf_fib_read(&f);
	if (err) {
		say(quiet, "read the FIB over rtnetlink: %s", strerror(-err));
		sync_dev(m, NULL, XCGN_RPF_DEV_INSIDE, (int)li.inside_ifindex, true);
		sync_dev(m, NULL, XCGN_RPF_DEV_OUTSIDE, (int)li.outside_ifindex, true);
		return err;
	}
	st->nh_simple = rpf_fib_simple(&f);
	err = rpf_table_build(&f, &e, &n);
	if (err)
		goto suspend;
	st->routes = n;
	max = map_capacity(m->rpf4);
	if (n > max) {
		say(quiet, "the FIB has %zu routes in its local, main and default tables, more than "
			   "the %u the reverse-path table holds (attach with a larger max-routes)",
		    n, max);
		err = -E2BIG;
		goto suspend;
	}
	/* Unchanged since the last sync that succeeded: the tables are in
	 * step, only the devices' sysctls may have moved. */
	want = entries_digest(e, n);
	if (!digest || *digest != want) {
		if (digest)
			*digest = 0;
		err = add_routes(m, e, n, max, st, quiet, &stale, &nstale);
		if (err)
			goto suspend;
	}
	err = sync_dev(m, &f, XCGN_RPF_DEV_INSIDE, (int)li.inside_ifindex, false);
	if (!err)
		err = sync_dev(m, &f, XCGN_RPF_DEV_OUTSIDE, (int)li.outside_ifindex, false);
	if (!err)
		err = delete_keys(m, stale, nstale, st);
	if (err)
		say(quiet, "update the reverse-path tables: %s", strerror(-err));
	else if (digest)
		*digest = want;
	goto out;
suspend:
	/* Half a FIB would refuse good sources: its part of the check waits
	 * until a sync succeeds; the martian and spoof rules go on. */
	say(quiet, "reverse-path check of routes suspended: the tables do not match the FIB (%s)",
	    strerror(-err));
	sync_dev(m, &f, XCGN_RPF_DEV_INSIDE, (int)li.inside_ifindex, true);
	sync_dev(m, &f, XCGN_RPF_DEV_OUTSIDE, (int)li.outside_ifindex, true);
out:
	free(stale);
	free(e);
	rpf_fib_free(&f);
	return err;
}


int rpf_explain_run(struct xcgn_gc *ctl, struct xcgn_rpf_query *q)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = q, .data_size_in = sizeof(*q), .data_out = q,
		    .data_size_out = sizeof(*q), .repeat = 1);

	if (bpf_prog_test_run_opts(bpf_program__fd(ctl->progs.xcgn_rpf_explain), &o))
		return -errno;
	if (o.retval != XDP_PASS || q->verdict >= XCGN_DROP_MAX || q->why >= XCGN_RPFW_MAX)
		return -EPROTO;
	return 0;
}
