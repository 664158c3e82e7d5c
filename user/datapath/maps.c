// SPDX-License-Identifier: GPL-2.0
/* The pinned maps: opened by the one list, closed, their sizes, and what
 * the CLI reads of them directly (the counters, the rings' backlog). */
#include <errno.h>
#include <stdio.h>
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

void xcgn_maps_none(struct xcgn_maps *m)
{
	int *fds = (int *)m;

	for (size_t i = 0; i < XCGN_NMAPS; i++)
		fds[i] = -1;
}

/* What the kernel charges map @fd ("memlock:" of its fdinfo), or 0. */
static uint64_t map_memlock(int fd)
{
	char path[64], line[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

uint64_t xcgn_maps_memlock(const struct xcgn_maps *m)
{
	const int *fds = (const int *)m;
	uint64_t sum = 0;

	for (size_t i = 0; i < XCGN_NMAPS; i++)
		if (fds[i] >= 0)
			sum += map_memlock(fds[i]);
	return sum;
}

int xcgn_maps_open_dir(struct xcgn_maps *m, const char *dir)
{
	int *fds = (int *)m, err, old;
	char path[512];
	size_t i;

	xcgn_maps_none(m);
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

int xcgn_maps_open(struct xcgn_maps *m)
{
	char dir[256];
	int err;

	err = xcgn_pin_dir(dir, sizeof(dir));
	if (err)
		return err;
	if (xcgn_instance_stale(dir)) {
		xcgn_say_stale(dir);
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

int xcgn_stats_read(int fd, struct xcgn_stats *out)
{
	int ncpu = libbpf_num_possible_cpus(), c, i;
	struct xcgn_stats *v;
	__u32 zero = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &zero, v)) {
		free(v);
		return -errno;
	}
	memset(out, 0, sizeof(*out));
	for (c = 0; c < ncpu; c++) {
		for (i = 0; i < XCGN_STAT_MAX; i++)
			out->stat[i] += v[c].stat[i];
		for (i = 0; i < XCGN_DROP_MAX; i++)
			out->drop[i] += v[c].drop[i];
	}
	free(v);
	return 0;
}
