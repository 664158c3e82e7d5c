// SPDX-License-Identifier: GPL-2.0
/* Where this namespace's state lives: the pin directory on bpffs, its
 * lock, the instances and their versions, and their removal. */
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

#include "datapath/internal.h"

#define BPFFS "/sys/fs/bpf"

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


int xcgn_lock(void)
{
	int fd, err;

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
	if (fd >= 0)
		close(fd);	/* drops the flock */
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

void xcgn_say_stale(const char *dir)
{
	xcgn_err("the state pinned at %s belongs to a network namespace that no longer "
		 "exists (its devices are gone; this namespace may have its inode): "
		 "`xcgn link clean` removes it",
		 dir);
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

int xcgn_clean_locked(void)
{
	char path[512], sub[768];
	struct dirent *de, *se;
	DIR *d, *sd;
	int n = 0;

	d = opendir(XCGN_PIN_ROOT);
	if (!d) {
		n = -errno;
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
	return n;
}
