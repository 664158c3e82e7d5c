// SPDX-License-Identifier: GPL-2.0
/* Loader: where state lives (bpffs, per network namespace), loading the
 * skeleton, attaching XDP and tc, and undoing exactly that on detach. */
#include <errno.h>
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

#include "xcgn.h"
#include "rpf.h"
#include "xcgn_xdp.skel.h"
#include "xcgn_gc.skel.h"

#define XSTR(x) STR(x)
#define STR(x) #x


#define BPFFS "/sys/fs/bpf"

/* ---- libbpf log: quiet by default, the tail kept for a failed load ------ */

static char logbuf[64 * 1024];
static size_t loglen;

/* libbpf's format strings come from libbpf (a print callback's contract). */
static int __attribute__((format(printf, 2, 0)))
libbpf_print(enum libbpf_print_level lvl, const char *fmt, va_list ap)
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

static void print_log_tail(int lines)
{
	const char *p = logbuf + loglen;
	int n = 0;

	if (xcgn_verbose >= 1 || !loglen)
		return;	/* already printed, or nothing to print */
	while (p > logbuf && n <= lines)
		if (*--p == '\n')
			n++;
	fprintf(stderr, "xcgn: last lines of the libbpf/verifier log (-vv for all):\n%s", p);
}

/* ---- where state lives -------------------------------------------------- */

int xcgn_pin_dir(char *buf, size_t len)
{
	const char *env = getenv("XCGN_PIN_DIR");
	struct stat self, init;
	struct statfs sfs;

	if (statfs(BPFFS, &sfs) || sfs.f_type != BPF_FS_MAGIC) {
		xcgn_err("%s is not a bpf filesystem here, so xcgn's pinned state cannot be "
			 "found. `ip netns exec` remounts /sys and hides it: run xcgn with "
			 "`nsenter --net=/run/netns/NAME xcgn ...` instead; on a host without "
			 "bpffs, `mount -t bpf bpf /sys/fs/bpf`",
			 BPFFS);
		return -ENOENT;
	}
	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return 0;
	}
	if (stat("/proc/self/ns/net", &self)) {
		xcgn_err("cannot identify the network namespace: /proc/self/ns/net: %s",
			 strerror(errno));
		return -errno;
	}
	/* Each network namespace gets its own instance and state. */
	if (!stat("/proc/1/ns/net", &init) && init.st_ino == self.st_ino)
		snprintf(buf, len, "%s/v%d", XCGN_PIN_ROOT, XCGN_ABI_VERSION);
	else
		snprintf(buf, len, "%s/netns-%lu/v%d", XCGN_PIN_ROOT, (unsigned long)self.st_ino,
			 XCGN_ABI_VERSION);
	return 0;
}

int xcgn_mkdir_p(const char *path, unsigned int mode)
{
	char tmp[256];
	char *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

/* The pin root is root's alone (0700): on a bpffs of mode 1777 anyone may
 * make it first, then hold the lock forever or rename root's pins. One that
 * is not root's, or open to others, is refused, never used. */
static int pin_root_check(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (st.st_uid == 0 && !(st.st_mode & 077))
		return 0;
	xcgn_err("%s is owned by uid %u with mode %04o: not made by xcgn (root, 0700), so "
		 "not trusted with its state; when nothing of xcgn runs, remove it "
		 "(rm -r %s)",
		 XCGN_PIN_ROOT, (unsigned int)st.st_uid, (unsigned int)(st.st_mode & 07777),
		 XCGN_PIN_ROOT);
	return -EPERM;
}

/* The lock is held once per process: `config apply` holds it across the
 * attach, pool and reload steps that each take it too. */
static int lock_fd = -1;
static unsigned int lock_depth;

int xcgn_lock(void)
{
	int fd, err;

	if (lock_depth) {
		lock_depth++;
		return lock_fd;
	}
	err = xcgn_mkdir_p(XCGN_PIN_ROOT, 0700);
	if (err) {
		xcgn_err("create %s: %s", XCGN_PIN_ROOT, strerror(-err));
		return err;
	}
	fd = open(XCGN_PIN_ROOT, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ENOTDIR || errno == ELOOP)) {
		xcgn_err("%s is not a directory (a symbolic link?): not made by xcgn, so not "
			 "trusted with its state; when nothing of xcgn runs, remove it",
			 XCGN_PIN_ROOT);
		return -ENOTDIR;
	}
	if (fd >= 0 && (err = pin_root_check(fd))) {
		close(fd);
		return err;
	}
	if (fd < 0 || flock(fd, LOCK_EX)) {
		err = -errno;
		xcgn_err("lock %s: %s", XCGN_PIN_ROOT, strerror(errno));
		if (fd >= 0)
			close(fd);
		return err;
	}
	lock_fd = fd;
	lock_depth = 1;
	return fd;
}

int xcgn_trylock(void)
{
	int fd = open(XCGN_PIN_ROOT, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	if ((err = pin_root_check(fd))) {
		close(fd);
		return err;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

void xcgn_unlock(int fd)
{
	if (fd < 0)
		return;
	if (fd == lock_fd && lock_depth) {
		if (--lock_depth)
			return;
		lock_fd = -1;
	}
	close(fd);	/* drops the flock */
}

const void *xcgn_xdp_elf(size_t *len)
{
	return xcgn_xdp__elf_bytes(len);
}

/* The namespace's directory above the version's (the pin root, or its
 * netns-INODE): where other versions' pins would be. */
static void ns_dir_of(const char *dir, char *buf, size_t len)
{
	char *slash;

	snprintf(buf, len, "%s", dir);
	slash = strrchr(buf, '/');
	if (slash && slash[1] == 'v')
		*slash = '\0';
}

/* Another layout version's pins in this namespace: its number, or 0. */
int xcgn_pinned_version(const char *dir)
{
	char ns[256], path[768];
	struct dirent *de;
	struct stat st;
	int v, found = 0;
	DIR *d;

	ns_dir_of(dir, ns, sizeof(ns));
	d = opendir(ns);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (sscanf(de->d_name, "v%d", &v) != 1 || v == XCGN_ABI_VERSION)
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s", ns, de->d_name, XCGN_PIN_LINK_IN);
		if (!stat(path, &st))
			found = v;
	}
	closedir(d);
	return found;
}

int xcgn_maps_open_dir(struct xcgn_maps *m, const char *dir)
{
	int *fds = (int *)m, err, old;
	char path[512];
	size_t i;

	for (i = 0; i < XCGN_NMAPS; i++)
		fds[i] = -1;
	for (i = 0; i < XCGN_NMAPS; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, xcgn_map_names[i]);
		fds[i] = bpf_obj_get(path);
		if (fds[i] >= 0)
			continue;
		err = -errno;
		if (err == -ENOENT && !i && (old = xcgn_pinned_version(dir)))
			xcgn_err("xcgn state of layout abi %d is pinned in this network namespace; "
				 "this binary reads abi %d. Run `xcgn link reload` with this binary "
				 "to move the state to its layout, or use the binary that attached",
				 old, XCGN_ABI_VERSION);
		else if (err == -ENOENT && !i)
			xcgn_err("xcgn is not attached in this network namespace (no %s); "
				 "run `xcgn link attach inside DEV outside DEV` first",
				 path);
		else if (err == -ENOENT)
			xcgn_err("%s is missing: the pinned state is incomplete (a map was "
				 "removed by hand?); run `xcgn link detach` and attach again",
				 path);
		else if (err == -EPERM || err == -EACCES)
			xcgn_err("open %s: %s: xcgn needs CAP_BPF, CAP_NET_ADMIN and "
				 "CAP_SYS_ADMIN", path, strerror(-err));
		else
			xcgn_err("open %s: %s", path, strerror(-err));
		xcgn_maps_close(m);
		return err;
	}
	return 0;
}

static void say_stale(const char *dir);

int xcgn_maps_open(struct xcgn_maps *m)
{
	char dir[256];
	int err;

	err = xcgn_pin_dir(dir, sizeof(dir));
	if (err)
		return err;
	if (xcgn_instance_stale(dir)) {
		say_stale(dir);
		return -ESTALE;
	}
	err = xcgn_maps_open_dir(m, dir);
	if (err)
		return err;
	err = xcgn_abi_check(m->abi, dir);
	if (err)
		xcgn_maps_close(m);
	return err;
}

void xcgn_maps_close(struct xcgn_maps *m)
{
	int *fds = (int *)m;
	size_t i;

	for (i = 0; i < sizeof(*m) / sizeof(int); i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
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

/* ---- loading the datapath ------------------------------------------------ */

/* The size of the map pinned at @path, or of @fd when it is >= 0; 0 when
 * there is none. */
__u32 xcgn_pinned_max_entries_fd(const char *path, int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int own = fd < 0;

	if (own && (fd = bpf_obj_get(path)) < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.max_entries = 0;
	if (own)
		close(fd);
	return info.max_entries;
}

/* Open the datapath object, its constants from @li, and load it over the
 * maps pinned under @dir: a pinned map is reused (at its own size), a
 * missing one is made at the size @li says and pinned. @reuse, for a
 * migration, gives maps of another directory to reuse by name (-1: make
 * it). NULL with errno set and the reason (the verifier's log among it)
 * printed. */
__u32 xcgn_npools(const struct xcgn_maps *m)
{
	__u32 n = xcgn_pinned_max_entries_fd(NULL, m->pools);

	return n < XCGN_POOLS_MAX ? n : XCGN_POOLS_MAX;
}

__u32 xcgn_naddrs(const struct xcgn_maps *m)
{
	__u32 n = xcgn_pinned_max_entries_fd(NULL, m->paddr);

	return n < XCGN_PADDRS_MAX ? n : XCGN_PADDRS_MAX;
}

struct xcgn_xdp *xcgn_datapath_load(const char *dir, const struct xcgn_link_info *li,
				    uint32_t max_routes, uint32_t max_addrs,
				    const struct xcgn_maps *reuse)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	struct xcgn_xdp *skel;
	struct bpf_map *map;
	char path[512];
	int err = 0, i;

	libbpf_set_print(libbpf_print);
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
		fprintf(stderr, "xcgn: the inside device has no IPv4 address: refused "
				"subscribers get no ICMP, only a drop\n");
	if ((err = bpf_map__set_max_entries(skel->maps.xcgn_map4, li->max_maps)) ||
	    (err = bpf_map__set_max_entries(skel->maps.xcgn_rev4, li->max_maps)) ||
	    (err = bpf_map__set_max_entries(skel->maps.xcgn_peer4, li->max_maps)) ||
	    (err = bpf_map__set_max_entries(skel->maps.xcgn_pcp, xcgn_pcp_size(li->max_maps))) ||
	    (err = bpf_map__set_max_entries(skel->maps.xcgn_subs, li->max_subs)) ||
	    (err = bpf_map__set_max_entries(skel->maps.xcgn_full, li->max_subs)) ||
	    (err = bpf_map__set_max_entries(skel->maps.xcgn_acct, li->max_subs)) ||
	    (err = bpf_map__set_max_entries(skel->maps.xcgn_blklog,
					     li->max_subs * XCGN_SUB_BLOCKS_MAX)) ||
	    (err = bpf_map__set_max_entries(skel->maps.xcgn_rpf4, max_routes)) ||
	    (err = bpf_map__set_max_entries(skel->maps.xcgn_paddr, max_addrs)) ||
	    (err = bpf_map__set_max_entries(skel->maps.xcgn_pubidx, max_addrs)) ||
	    (err = bpf_map__set_max_entries(skel->maps.xcgn_blocks, max_addrs)) ||
	    (err = bpf_map__set_max_entries(skel->maps.xcgn_blkts,
					     max_addrs * XCGN_BLKS_PER_ADDR_MAX))) {
		xcgn_err("size the tables: %s", strerror(-err));
		goto fail;
	}
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
	print_log_tail(40);
fail:
	xcgn_xdp__destroy(skel);
	errno = -err;
	return NULL;
}

/* ---- attach / detach ----------------------------------------------------- */

static int link_pin(int prog_fd, int ifindex, int mode, const char *dir, const char *pin,
		    const char *dev)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo);
	char path[512];
	int fd, err;

	lo.flags = mode == XCGN_XDP_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &lo);
	if (fd < 0) {
		err = -errno;
		if (err == -EOPNOTSUPP || err == -EINVAL)
			xcgn_err("attach xdp on %s: %s: the driver has no native XDP; "
				 "use `xdp-mode generic`",
				 dev, strerror(-err));
		else if (err == -EBUSY || err == -EEXIST)
			xcgn_err("attach xdp on %s: %s: another XDP program is attached there",
				 dev, strerror(-err));
		else
			xcgn_err("attach xdp on %s: %s", dev, strerror(-err));
		return err;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, pin);
	if (bpf_obj_pin(fd, path)) {
		err = -errno;
		xcgn_err("pin %s: %s", path, strerror(-err));
		bpf_link_detach(fd);
		close(fd);
		return err;
	}
	close(fd);	/* the pin keeps it attached */
	return 0;
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

static void link_unpin(const char *dir, const char *pin)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, pin);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		if (bpf_link_detach(fd) && errno != ENOLINK && errno != EINVAL)
			xcgn_err("detach %s: %s", path, strerror(errno));
		close(fd);
	}
	unlink(path);
}

/* Put @prog_fd on the tc ingress of @ifindex (replacing xcgn's filter
 * there with @replace), making the clsact qdisc if there is none;
 * @created says whether this call made it. 0 or -errno. */
int xcgn_tc_hook_in(int ifindex, int prog_fd, bool replace, bool *created)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, tco, .handle = XCGN_TC_HANDLE, .priority = XCGN_TC_PRIO_IN,
		    .prog_fd = prog_fd, .flags = replace ? BPF_TC_F_REPLACE : 0);
	int err = bpf_tc_hook_create(&hook);

	if (err && err != -EEXIST)
		return err;
	*created = !err;
	err = bpf_tc_attach(&hook, &tco);
	if (err && *created) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
		*created = false;
	}
	return err;
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

static void tc_remove(int ifindex, __u32 prio, bool destroy_qdisc)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XCGN_TC_HANDLE, .priority = prio);

	bpf_tc_detach(&hook, &opts);
	hook.attach_point = BPF_TC_INGRESS;
	bpf_tc_detach(&hook, &opts);
	/* The clsact qdisc goes only if xcgn made it and nobody else's
	 * filter sits on it now. */
	if (destroy_qdisc && nl_tc_filters(ifindex) != 0) {
		fprintf(stderr, "xcgn: keeping the clsact qdisc of ifindex %d: other filters "
				"use it\n", ifindex);
		destroy_qdisc = false;
	}
	if (destroy_qdisc) {
		/* Both points together make libbpf delete the clsact qdisc. */
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
}

void xcgn_unpin_all(const char *dir)
{
	char path[512];
	struct dirent *de;
	DIR *d = opendir(dir);
	char *slash;

	if (d) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	snprintf(path, sizeof(path), "%s", dir);
	while (strlen(path) > strlen(XCGN_PIN_ROOT) && !rmdir(path)) {
		slash = strrchr(path, '/');
		if (!slash)
			break;
		*slash = '\0';
	}
}

bool xcgn_attached_here(const char *dir)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, XCGN_PIN_LINK_IN);
	return !stat(path, &st);
}

/* Pins whose XDP link lost its device: the devices, and so the network
 * namespace, they served are gone. A new namespace can get a dead one's
 * inode, and with it the dead one's pin directory; this is how xcgn knows
 * not to adopt that state (or touch this namespace's devices by the dead
 * one's ifindexes). */
bool xcgn_instance_stale(const char *dir)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[512];
	int fd;
	bool stale;

	snprintf(path, sizeof(path), "%s/%s", dir, XCGN_PIN_LINK_IN);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return false;
	stale = !bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_LINK_TYPE_XDP &&
		!info.xdp.ifindex;
	close(fd);
	return stale;
}

static void say_stale(const char *dir)
{
	xcgn_err("the state pinned at %s belongs to a network namespace that no longer "
		 "exists (its devices are gone; this namespace may have its inode): "
		 "`xcgn link clean` removes it",
		 dir);
}

/* An attach, in steps (validate, load, seed, hook, record), and what it
 * has done so far, which its one undo path reads. */
struct attach {
	const struct attach_opts *o;
	struct nl_link in, out;
	char dir[256];
	struct xcgn_link_info li;
	struct xcgn_xdp *skel;
	bool made_dir, in_linked, out_linked, tc_done, qdisc_created;
	bool tc_in_done, qdisc_in_created;
};

/* The devices, and what would make this fail or make the kernel drop what
 * xcgn passes: said before anything is touched. An exit status. */
static int attach_validate(struct attach *a)
{
	const struct attach_opts *o = a->o;
	int err;

	err = nl_link_get(o->inside, 0, &a->in);
	if (err) {
		xcgn_err("inside device \"%s\": %s", o->inside,
			 err == -ENODEV ? "no such device" : strerror(-err));
		return XCGN_EXIT_ERR;
	}
	err = nl_link_get(o->outside, 0, &a->out);
	if (err) {
		xcgn_err("outside device \"%s\": %s", o->outside,
			 err == -ENODEV ? "no such device" : strerror(-err));
		return XCGN_EXIT_ERR;
	}
	if (a->in.ifindex == a->out.ifindex) {
		xcgn_err("inside and outside are the same device (%s)", a->in.name);
		return XCGN_EXIT_USAGE;
	}
	{
		struct rpf_lint_cfg lc = {
			.inside = a->in.ifindex,
			.outside = a->out.ifindex,
			.sub_prefix = o->sub_prefix,
			.sub_plen = o->sub_plen,
			.mode_in = o->rpf_in,
			.mode_out = o->rpf_out,
		};
		long errors = rpf_lint_host(&lc, true);

		if (errors < 0)
			return XCGN_EXIT_ERR;
		if (errors && !o->force) {
			xcgn_err("refusing to attach: %ld error(s) above; fix them (or attach with "
				 "`force` to go ahead anyway)",
				 errors);
			return XCGN_EXIT_ERR;
		}
	}
	return xcgn_pin_dir(a->dir, sizeof(a->dir)) ? XCGN_EXIT_ERR : XCGN_EXIT_OK;
}

/* Nothing of xcgn here yet; the pin directory made, the datapath loaded
 * over it and the layout stamp written first (every command checks it). */
static int attach_load(struct attach *a)
{
	struct xcgn_abi_stamp stamp;
	__u32 zero = 0;
	int err, ov;

	if (xcgn_instance_stale(a->dir)) {
		say_stale(a->dir);
		return -ESTALE;
	}
	if (xcgn_attached_here(a->dir)) {
		xcgn_err("xcgn is already attached in this network namespace (%s); "
			 "run `xcgn link detach` first",
			 a->dir);
		return -EEXIST;
	}
	if ((ov = xcgn_pinned_version(a->dir))) {
		xcgn_err("xcgn of layout abi %d is attached in this network namespace: `xcgn link "
			 "reload` moves it to this binary's layout, `xcgn link detach` ends it",
			 ov);
		return -EEXIST;
	}
	err = xcgn_mkdir_p(a->dir, 0700);
	if (err) {
		xcgn_err("create %s: %s", a->dir, strerror(-err));
		return err;
	}
	a->made_dir = true;	/* from here on, a failure removes what it pinned */
	a->li.inside_ifindex = (__u32)a->in.ifindex;
	a->li.outside_ifindex = (__u32)a->out.ifindex;
	a->li.sub_prefix = a->o->sub_prefix;
	a->li.sub_plen = a->o->sub_plen;
	a->li.refusal_icmp = a->o->refusal_icmp;
	a->li.max_maps = a->o->max_maps;
	a->li.max_subs = a->o->max_subs;
	a->skel = xcgn_datapath_load(a->dir, &a->li, a->o->max_routes, a->o->max_addrs, NULL);
	if (!a->skel)
		return -errno;
	xcgn_abi_stamp_make(&stamp);
	if (!stamp.fingerprint ||
	    bpf_map_update_elem(bpf_map__fd(a->skel->maps.xcgn_abi), &zero, &stamp, 0)) {
		xcgn_err("write the layout stamp: %s", strerror(errno));
		return -EINVAL;
	}
	return 0;
}

/* The tables the programs read, before any program runs: the devmap, the
 * runtime state (a re-attach over pinned state keeps what the pool and
 * bypass commands published), the link record and the reverse-path
 * tables. */
static int attach_seed(struct attach *a)
{
	struct xcgn_xdp *skel = a->skel;
	struct xcgn_state rs = {};
	__u32 zero = 0, k, v;
	int err;

	k = XCGN_TX_INSIDE;
	v = (__u32)a->in.ifindex;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xcgn_txport), &k, &v, 0)) {
		err = -errno;
		xcgn_err("devmap add %s: %s", a->in.name, strerror(-err));
		return err;
	}
	k = XCGN_TX_OUTSIDE;
	v = (__u32)a->out.ifindex;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xcgn_txport), &k, &v, 0)) {
		err = -errno;
		xcgn_err("devmap add %s: %s", a->out.name, strerror(-err));
		return err;
	}
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.xcgn_state), &zero, &rs)) {
		err = -errno;
		xcgn_err("state map: %s", strerror(-err));
		return err;
	}
	if (!rs.naddrs_hwm)
		rs.paddr_min = UINT32_MAX;
	rs.switches = a->o->switches;
	rs.refusal_icmp = a->o->refusal_icmp;
	rs.mss_clamp = mss_clamp_of(a->o, a->in.mtu, a->out.mtu);
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xcgn_state), &zero, &rs, 0)) {
		err = -errno;
		xcgn_err("state map: %s", strerror(-err));
		return err;
	}
	{
		struct xcgn_maps m = {
			.link = bpf_map__fd(skel->maps.xcgn_link),
			.rpf4 = bpf_map__fd(skel->maps.xcgn_rpf4),
			.rpfdev = bpf_map__fd(skel->maps.xcgn_rpfdev),
		};
		struct xcgn_rpf_dev d = { .ifindex = (__u32)a->in.ifindex, .mode = a->o->rpf_in };

		k = XCGN_RPF_DEV_INSIDE;
		if (bpf_map_update_elem(m.link, &zero, &a->li, 0) ||
		    bpf_map_update_elem(m.rpfdev, &k, &d, 0)) {
			err = -errno;
			xcgn_err("reverse-path device table: %s", strerror(-err));
			return err;
		}
		d = (struct xcgn_rpf_dev){ .ifindex = (__u32)a->out.ifindex, .mode = a->o->rpf_out };
		k = XCGN_RPF_DEV_OUTSIDE;
		if (bpf_map_update_elem(m.rpfdev, &k, &d, 0)) {
			err = -errno;
			xcgn_err("reverse-path device table: %s", strerror(-err));
			return err;
		}
		return rpf_sync(&m, NULL, false);
	}
}

/* The programs onto the devices: XDP on both (pinned links), tc egress
 * and ingress on the outside (ingress: fragments that come before their
 * first; the clsact qdisc has both points). */
static int attach_hook(struct attach *a)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, tco, .handle = XCGN_TC_HANDLE, .priority = XCGN_TC_PRIO);
	struct xcgn_xdp *skel = a->skel;
	int err;

	err = link_pin(bpf_program__fd(skel->progs.xcgn_xdp_inside), a->in.ifindex,
		       a->o->xdp_mode, a->dir, XCGN_PIN_LINK_IN, a->in.name);
	if (err)
		return err;
	a->in_linked = true;
	err = link_pin(bpf_program__fd(skel->progs.xcgn_xdp_outside), a->out.ifindex,
		       a->o->xdp_mode, a->dir, XCGN_PIN_LINK_OUT, a->out.name);
	if (err)
		return err;
	a->out_linked = true;

	hook.ifindex = a->out.ifindex;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		xcgn_err("create clsact qdisc on %s: %s", a->out.name, strerror(-err));
		return err;
	}
	a->qdisc_created = !err;
	tco.prog_fd = bpf_program__fd(skel->progs.xcgn_tc_outside);
	err = bpf_tc_attach(&hook, &tco);
	if (err) {
		xcgn_err("attach tc egress on %s: %s", a->out.name, strerror(-err));
		return err;
	}
	a->tc_done = true;
	hook.attach_point = BPF_TC_INGRESS;
	tco.prog_fd = bpf_program__fd(skel->progs.xcgn_tc_outside_in);
	tco.prog_id = 0;
	tco.flags = 0;
	err = bpf_tc_attach(&hook, &tco);
	if (err) {
		xcgn_err("attach tc ingress on %s: %s", a->out.name, strerror(-err));
		return err;
	}
	/* The inside's ingress: hairpinning before the routing decision. */
	err = xcgn_tc_hook_in(a->in.ifindex, bpf_program__fd(skel->progs.xcgn_tc_inside_in),
			      false, &a->qdisc_in_created);
	if (err)
		xcgn_err("attach tc ingress on %s: %s", a->in.name, strerror(-err));
	a->tc_in_done = !err;
	return err;
}

/* What only the attach itself knows, now that it is done. */
static int attach_record(struct attach *a)
{
	struct timespec rt, mono;
	__u32 zero = 0;
	int err;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	a->li.xdp_mode = (__u8)a->o->xdp_mode;
	a->li.flags = (a->qdisc_created ? XCGN_LINKF_QDISC_CREATED : 0) |
		      (a->qdisc_in_created ? XCGN_LINKF_QDISC_IN_CREATED : 0);
	a->li.attached_unix = (__u64)rt.tv_sec;
	a->li.boot_offset_ns = (__u64)(rt.tv_sec - mono.tv_sec) * 1000000000ULL +
			       (__u64)(rt.tv_nsec - mono.tv_nsec);
	if (bpf_map_update_elem(bpf_map__fd(a->skel->maps.xcgn_link), &zero, &a->li, 0)) {
		err = -errno;
		xcgn_err("link map: %s", strerror(-err));
		return err;
	}
	return 0;
}

/* The one undo path: the devices as found, every pin of this attach gone. */
static void attach_undo(struct attach *a)
{
	if (!a->made_dir)
		return;
	if (a->tc_done || a->qdisc_created)
		tc_remove(a->out.ifindex, XCGN_TC_PRIO, a->qdisc_created);
	if (a->tc_in_done || a->qdisc_in_created)
		tc_remove(a->in.ifindex, XCGN_TC_PRIO_IN, a->qdisc_in_created);
	if (a->out_linked)
		link_unpin(a->dir, XCGN_PIN_LINK_OUT);
	if (a->in_linked)
		link_unpin(a->dir, XCGN_PIN_LINK_IN);
	xcgn_unpin_all(a->dir);
}

int xcgn_attach(const struct attach_opts *o)
{
	struct attach a = { .o = o };
	int ret, err, lock;

	ret = attach_validate(&a);
	if (ret)
		return ret;
	lock = xcgn_lock();
	if (lock < 0)
		return XCGN_EXIT_ERR;
	err = attach_load(&a);
	if (!err)
		err = attach_seed(&a);
	if (!err)
		err = attach_hook(&a);
	if (!err)
		err = attach_record(&a);
	if (!err)
		err = xcgn_pin_pcp_prog(a.dir, bpf_program__fd(a.skel->progs.xcgn_pcp_ctl));
	if (!err)	/* no pool yet: the default route; stale ones go */
		err = announce_sync(NULL, o->route_table);
	if (err)
		attach_undo(&a);
	xcgn_xdp__destroy(a.skel);
	xcgn_unlock(lock);
	return err ? XCGN_EXIT_ERR : XCGN_EXIT_OK;
}

/* Detach works on any layout, this binary's or another version's, and on
 * incomplete pins: it is the way out of every state. It reads only
 * xcgn_link, whose layout never changed. */
int xcgn_detach(void)
{
	struct xcgn_link_info li = {};
	char dir[256], path[512];
	__u32 zero = 0;
	int err, lock, fd, v;

	err = xcgn_pin_dir(dir, sizeof(dir));
	if (err)
		return XCGN_EXIT_ERR;
	lock = xcgn_lock();
	if (lock < 0)
		return XCGN_EXIT_ERR;
	if (!xcgn_attached_here(dir) && (v = xcgn_pinned_version(dir))) {
		char *slash = strrchr(dir, '/');

		snprintf(slash + 1, sizeof(dir) - (size_t)(slash + 1 - dir), "v%d", v);
		fprintf(stderr, "xcgn: detaching the instance of layout abi %d\n", v);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, XCGN_PIN_LINK_IN);
	if (access(path, F_OK)) {
		xcgn_err("xcgn is not attached in this network namespace (no %s)", path);
		xcgn_unlock(lock);
		return XCGN_EXIT_ERR;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, xcgn_map_names[XCGN_MI_link]);
	fd = bpf_obj_get(path);
	if (fd < 0 || bpf_map_lookup_elem(fd, &zero, &li)) {
		xcgn_err("%s: %s: detaching XDP only; a tc filter (handle 0x%x) may stay on the "
			 "outside device", path, strerror(errno), XCGN_TC_HANDLE);
		memset(&li, 0, sizeof(li));
	}
	if (fd >= 0)
		close(fd);

	if (xcgn_instance_stale(dir)) {
		/* Its devices are gone; the ifindexes it noted may be this
		 * namespace's devices now: touch none, drop the pins. */
		fprintf(stderr, "xcgn: %s served a namespace that is gone: removing its pins "
				"only\n", dir);
		xcgn_unpin_all(dir);
		xcgn_unlock(lock);
		return XCGN_EXIT_OK;
	}
	/* Withdrawn first: no traffic is drawn here once it is not served. */
	announce_sync(NULL, 0);
	link_unpin(dir, XCGN_PIN_LINK_IN);
	link_unpin(dir, XCGN_PIN_LINK_OUT);
	if (li.outside_ifindex)
		tc_remove((int)li.outside_ifindex, XCGN_TC_PRIO, li.flags & XCGN_LINKF_QDISC_CREATED);
	if (li.inside_ifindex)	/* an instance of before the inside hook: nothing there */
		tc_remove((int)li.inside_ifindex, XCGN_TC_PRIO_IN,
			  li.flags & XCGN_LINKF_QDISC_IN_CREATED);
	xcgn_unpin_all(dir);
	xcgn_unlock(lock);
	return XCGN_EXIT_OK;
}

/* Bytes of the ring buffer @fd that no consumer has read yet (the
 * kernel's consumer and producer positions, on its first two pages). */
long xcgn_ring_unread(int fd)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned long *cons, *prod;
	long n;

	cons = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, 0);
	if (cons == MAP_FAILED)
		return -errno;
	prod = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, page);
	if (prod == MAP_FAILED) {
		n = -errno;
		munmap(cons, (size_t)page);
		return n;
	}
	n = (long)(__atomic_load_n(prod, __ATOMIC_ACQUIRE) - __atomic_load_n(cons, __ATOMIC_ACQUIRE));
	munmap(prod, (size_t)page);
	munmap(cons, (size_t)page);
	return n;
}

/* One version directory: removed when stale. 1 removed, 0 not. */
static int clean_one(const char *dir)
{
	if (!xcgn_instance_stale(dir))
		return 0;
	xcgn_unpin_all(dir);
	print_open_object(NULL);
	print_string(PRINT_ANY, "removed", "removed %s", dir);
	print_string(PRINT_ANY, "why", " (%s)", "its namespace is gone");
	print_nl();
	print_close_object();
	return 1;
}

int xcgn_clean(void)
{
	char path[512], sub[768];
	struct dirent *de, *se;
	DIR *d, *sd;
	int lock, n = 0;

	lock = xcgn_lock();
	if (lock < 0)
		return lock;
	d = opendir(XCGN_PIN_ROOT);
	if (!d) {
		n = -errno;
		xcgn_unlock(lock);
		return n;
	}
	print_open_array(NULL);
	while ((de = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s", XCGN_PIN_ROOT, de->d_name);
		if (de->d_name[0] == 'v') {
			n += clean_one(path);
			continue;
		}
		if (strncmp(de->d_name, "netns-", 6) || !(sd = opendir(path)))
			continue;
		while ((se = readdir(sd)))
			if (se->d_name[0] == 'v') {
				snprintf(sub, sizeof(sub), "%s/%s", path, se->d_name);
				n += clean_one(sub);
			}
		closedir(sd);
	}
	closedir(d);
	print_close_array();
	xcgn_unlock(lock);
	return n;
}
