// SPDX-License-Identifier: GPL-2.0
/* Loading: the datapath object over the pinned maps (sized by the map
 * list's column), the control programs, the PCP program's pin, and the
 * libbpf log, quiet unless a load fails. */
#include <errno.h>
#include <syslog.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath/internal.h"
#include "xcgn_xdp.skel.h"
#include "xcgn_gc.skel.h"

/* ---- libbpf log: quiet by default, the tail kept for a failed load ------ */

static char logbuf[64 * 1024];
static size_t loglen;

/* libbpf's format strings come from libbpf (a print callback's contract). */
int __attribute__((format(printf, 2, 0)))
xcgn_libbpf_print(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	char line[4096];
	int n;

	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return 0;
	if ((lvl == LIBBPF_WARN && xcgn_verbose >= 1) || (lvl == LIBBPF_INFO && xcgn_verbose >= 1) ||
	    (lvl == LIBBPF_DEBUG && xcgn_verbose >= 2))
		fputs(line, stderr);
	if (lvl == LIBBPF_WARN) {
		size_t l = strlen(line);

		if (l >= sizeof(logbuf))
			l = sizeof(logbuf) - 1;
		if (loglen + l >= sizeof(logbuf)) {
			/* keep the tail: the verifier's verdict is at the end */
			size_t drop = loglen + l - sizeof(logbuf) + 1;

			memmove(logbuf, logbuf + drop, loglen - drop);
			loglen -= drop;
		}
		memcpy(logbuf + loglen, line, l);
		loglen += l;
		logbuf[loglen] = '\0';
	}
	return 0;
}

void xcgn_libbpf_log_tail(int lines)
{
	const char *p = logbuf + loglen;
	int n = 0;

	if (xcgn_verbose >= 1 || !loglen)
		return;	/* already printed, or nothing to print */
	while (p > logbuf && n <= lines)
		if (*--p == '\n')
			n++;
	xcgn_logf(LOG_ERR, "xcgn: last lines of the libbpf/verifier log (-vv for all):\n%s", p);
}
const void *xcgn_xdp_elf(size_t *len)
{
	return xcgn_xdp__elf_bytes(len);
}

/* The control programs (bpf/xcgn_gc.bpf.c) over the running instance's
 * maps, whatever their sizes. NULL with errno set and the reason printed. */
struct xcgn_gc *xcgn_ctl_load(void)
{
	char dir[256], path[512];
	struct xcgn_gc *gc;
	struct bpf_map *map;
	int err, fd;

	err = xcgn_pin_dir(dir, sizeof(dir));
	if (err) {
		errno = -err;
		return NULL;
	}
	gc = xcgn_gc__open();
	if (!gc) {
		err = -errno;
		xcgn_err("open the control programs: %s", strerror(-err));
		errno = -err;
		return NULL;
	}
	bpf_object__for_each_map(map, gc->obj) {
		bpf_map__set_pin_path(map, NULL);
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		if (bpf_map__is_internal(map) || !xcgn_map_is_pinned(bpf_map__name(map)))
			continue;	/* the control programs' own: a fresh one does */
		fd = bpf_obj_get(path);
		if (fd < 0) {
			err = -errno;
			xcgn_err("%s: %s: the pinned state is incomplete", path, strerror(-err));
			goto fail_quiet;
		}
		err = bpf_map__reuse_fd(map, fd);
		close(fd);
		if (err)
			goto fail;
	}
	err = xcgn_gc__load(gc);
	if (!err)
		return gc;
fail:
	xcgn_err("load the control programs: %s", strerror(-err));
fail_quiet:
	xcgn_gc__destroy(gc);
	errno = -err;
	return NULL;
}

/* Each pinned map's entries, from its SIZE in the list (XCGN_PINNED_MAPS). */
enum map_size { MS_FIXED, MS_MAPS, MS_PCP, MS_SUBS, MS_SUB_BLOCKS, MS_ADDRS, MS_ADDR_BLOCKS,
		MS_ROUTES };
static const uint8_t map_size_of[XCGN_NMAPS] = {
#define X(f, size) [XCGN_MI_##f] = MS_##size,
	XCGN_PINNED_MAPS(X)
#undef X
};

static int datapath_size(struct xcgn_xdp *skel, const struct xcgn_link_info *li,
			 uint32_t max_routes, uint32_t max_addrs)
{
	const __u32 n[] = {
		[MS_MAPS] = li->max_maps,
		[MS_PCP] = xcgn_pcp_size(li->max_maps),
		[MS_SUBS] = li->max_subs,
		[MS_SUB_BLOCKS] = li->max_subs * XCGN_SUB_BLOCKS_MAX,
		[MS_ADDRS] = max_addrs,
		[MS_ADDR_BLOCKS] = max_addrs * XCGN_BLKS_PER_ADDR_MAX,
		[MS_ROUTES] = max_routes,
	};
	struct bpf_map *map;
	int err;

	for (int i = 0; i < XCGN_NMAPS; i++) {
		if (map_size_of[i] == MS_FIXED)
			continue;
		map = bpf_object__find_map_by_name(skel->obj, xcgn_map_names[i]);
		err = map ? bpf_map__set_max_entries(map, n[map_size_of[i]]) : -ENOENT;
		if (err) {
			xcgn_err("size the tables: %s: %s", xcgn_map_names[i], strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Open the datapath object, its constants from @li, and load it over the
 * maps pinned under @dir: a pinned map is reused (at its own size), a
 * missing one is made at the size @li says and pinned. @reuse, for a
 * migration, gives maps of another directory to reuse by name (-1: make
 * it). NULL with errno set and the reason (the verifier's log among it)
 * printed. */
struct xcgn_xdp *xcgn_datapath_load(const char *dir, const struct xcgn_link_info *li,
				    uint32_t max_routes, uint32_t max_addrs,
				    const struct xcgn_maps *reuse)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	struct xcgn_xdp *skel;
	struct bpf_map *map;
	char path[512];
	int err = 0, i;

	libbpf_set_print(xcgn_libbpf_print);
	oo.pin_root_path = dir;
	if (xcgn_verbose >= 2)
		oo.kernel_log_level = 1 | 2;
	skel = xcgn_xdp__open_opts(&oo);
	if (!skel) {
		err = -errno;
		xcgn_err("open the BPF object: %s", strerror(-err));
		errno = -err;
		return NULL;
	}
	skel->rodata->xcgn_cfg.inside_ifindex = li->inside_ifindex;
	skel->rodata->xcgn_cfg.outside_ifindex = li->outside_ifindex;
	skel->rodata->xcgn_cfg.sub_prefix = li->sub_prefix;
	skel->rodata->xcgn_cfg.sub_mask = prefix_mask_be(li->sub_plen);
	skel->rodata->xcgn_cfg.log_level = (__u32)xcgn_verbose;
	skel->rodata->xcgn_cfg.sub_peers = xcgn_sub_peers_share(li->max_maps);
	/* The source of the "administratively prohibited" errors the datapath
	 * sends to refused subscribers; without one, it only drops. */
	if (nl_addr_first((int)li->inside_ifindex, &skel->rodata->xcgn_cfg.inside_addr))
		xcgn_logf(LOG_INFO, "xcgn: the inside device has no IPv4 address: refused "
				"subscribers get no ICMP, only a drop\n");
	err = datapath_size(skel, li, max_routes, max_addrs);
	if (err)
		goto fail;
	/* What is pinned (or handed over) keeps its size: libbpf reuses a
	 * pinned map only when everything matches. */
	bpf_object__for_each_map(map, skel->obj) {
		int fd = -1;
		__u32 n;

		if (!xcgn_map_is_pinned(bpf_map__name(map)))
			continue;
		if (reuse)
			for (i = 0; i < XCGN_NMAPS; i++)
				if (!strcmp(xcgn_map_names[i], bpf_map__name(map)))
					fd = ((const int *)reuse)[i];
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		n = xcgn_pinned_max_entries_fd(path, fd);
		if (n && (err = bpf_map__set_max_entries(map, n))) {
			xcgn_err("size %s: %s", bpf_map__name(map), strerror(-err));
			goto fail;
		}
		if (fd >= 0 && (err = bpf_map__reuse_fd(map, fd))) {
			xcgn_err("reuse %s: %s", bpf_map__name(map), strerror(-err));
			goto fail;
		}
	}
	err = xcgn_xdp__load(skel);
	if (!err)
		return skel;
	if (err == -EPERM || err == -EACCES)
		xcgn_err("load the BPF programs: %s: xcgn needs CAP_BPF, CAP_NET_ADMIN and "
			 "CAP_SYS_ADMIN", strerror(-err));
	else if (err == -ENOMEM || err == -E2BIG)
		xcgn_err("load the BPF programs: %s: the tables do not fit; lower max-mappings, "
			 "max-subscribers or max-addresses", strerror(-err));
	else
		xcgn_err("load the BPF programs: %s (a map pinned under %s that does not match "
			 "this binary's layout?)", strerror(-err), dir);
	xcgn_libbpf_log_tail(40);
fail:
	xcgn_xdp__destroy(skel);
	errno = -err;
	return NULL;
}

/* The PCP program of the programs now running, pinned for the daemon:
 * under a new name first, then moved over the old pin, so the daemon
 * never finds none while attached. */
int xcgn_pin_pcp_prog(const char *dir, int prog_fd)
{
	char path[512], tmp[520];
	int err;

	snprintf(path, sizeof(path), "%s/%s", dir, XCGN_PIN_PROG_PCP);
	snprintf(tmp, sizeof(tmp), "%s_new", path);	/* bpffs takes no dots */
	unlink(tmp);
	if (bpf_obj_pin(prog_fd, tmp) || rename(tmp, path)) {
		err = -errno;
		xcgn_err("pin %s: %s", path, strerror(-err));
		unlink(tmp);
		return err;
	}
	return 0;
}

/* The pinned PCP program of this namespace's instance: an fd, or -errno. */
int xcgn_pcp_prog_open(void)
{
	char dir[256], path[512];
	int err = xcgn_pin_dir(dir, sizeof(dir)), fd;

	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/%s", dir, XCGN_PIN_PROG_PCP);
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

/* Run one request through it. 0, or -1 with errno set. */
int xcgn_pcp_ctl(int prog_fd, struct xcgn_pcp_req *q)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = q, .data_size_in = sizeof(*q), .data_out = q,
		    .data_size_out = sizeof(*q));

	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -1;
	if (o.retval != XDP_PASS) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

uint32_t xcgn_pcp_size(uint32_t max_maps)
{
	return max_maps / 4 > XCGN_PCP_MIN ? max_maps / 4 : XCGN_PCP_MIN;
}

uint32_t xcgn_sub_peers_share(uint32_t max_maps)
{
	uint32_t n = max_maps / 64;

	return n < XCGN_SUB_PEERS_MIN ? XCGN_SUB_PEERS_MIN : n > 65535 ? 65535 : n;
}

/* What a datapath just loaded needs before its programs run, the same for
 * attach and reload: the devmap's two ports, and the layout stamp every
 * command checks. 0, or -errno (said). */
int xcgn_datapath_seed(struct xcgn_xdp *skel, const struct xcgn_link_info *li)
{
	__u32 port[2] = { [XCGN_TX_INSIDE] = li->inside_ifindex,
			  [XCGN_TX_OUTSIDE] = li->outside_ifindex };
	struct xcgn_abi_stamp stamp;
	__u32 zero = 0, k;
	int err;

	for (k = 0; k < 2; k++)
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.xcgn_txport), &k, &port[k], 0)) {
			err = -errno;
			xcgn_err("devmap add ifindex %u: %s", port[k], strerror(-err));
			return err;
		}
	xcgn_abi_stamp_make(&stamp);
	if (!stamp.fingerprint ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.xcgn_abi), &zero, &stamp, 0)) {
		xcgn_err("write the layout stamp: %s", strerror(errno));
		return -EINVAL;
	}
	return 0;
}
