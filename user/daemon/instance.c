// SPDX-License-Identifier: GPL-2.0
/* The instance's daemon: one at a time (a lock on the pin directory), its
 * state published for the CLI (xcgn_dstat), told to systemd, and watching
 * whether the instance it serves is still attached. */
#include <fcntl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon/internal.h"
#include "xcgn_gc.skel.h"

/* One daemon per instance: an flock on the version's pin directory, held
 * for life. The holder's PID is in xcgn_dstat. */
int instance_lock(struct daemon *d)
{
	struct xcgn_dstat ds = {};
	__u32 zero = 0;
	int fd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), tries;

	if (fd < 0) {
		xcgn_err("open %s: %s", d->dir, strerror(errno));
		return -errno;
	}
	/* `xcgn link show` probes the lock for an instant: a few tries. */
	for (tries = 0; flock(fd, LOCK_EX | LOCK_NB) && errno == EWOULDBLOCK && tries < 10; tries++)
		usleep(20000);
	if (tries == 10) {
		int err = -EWOULDBLOCK;

		bpf_map_lookup_elem(d->m.dstat, &zero, &ds);
		close(fd);
		if (err == -EWOULDBLOCK) {
			xcgn_err("another xcgn daemon (pid %u) runs for this instance; one is "
				 "enough (it would split the NAT log)",
				 ds.pid);
			return -EEXIST;
		}
		xcgn_err("lock %s: %s", d->dir, strerror(-err));
		return err;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int err = -errno;

		xcgn_err("lock %s: %s", d->dir, strerror(-err));
		close(fd);
		return err;
	}
	return fd;	/* kept open: the lock lives as long as we do */
}

/* Is a daemon running for the instance under @dir? Its PID, or 0. */
uint32_t xcgn_daemon_pid(const char *dir, int dstat_fd)
{
	struct xcgn_dstat ds = {};
	__u32 zero = 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool held;

	if (fd < 0)
		return 0;
	held = flock(fd, LOCK_EX | LOCK_NB) && errno == EWOULDBLOCK;
	close(fd);
	if (!held || bpf_map_lookup_elem(dstat_fd, &zero, &ds))
		return 0;
	return ds.pid ? ds.pid : 1;
}

bool xcgn_daemon_serves(const struct xcgn_maps *m)
{
	char dir[256];

	return !xcgn_pin_dir(dir, sizeof(dir)) && xcgn_daemon_pid(dir, m->dstat);
}

/* The id of the map pinned as the instance's stamp: it changes (or goes)
 * when the instance is detached or attached anew. */
uint32_t stamp_id(const char *dir)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, xcgn_map_names[XCGN_MI_abi]);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.id = 0;
	close(fd);
	return info.id;
}

/* systemd's notification protocol (sd_notify(3)): one datagram to the
 * socket NOTIFY_SOCKET names; nothing when it is unset. */
void notify_setup(struct daemon *d)
{
	const char *path = getenv("NOTIFY_SOCKET"), *wd = getenv("WATCHDOG_USEC");
	size_t len;

	d->notify_fd = -1;
	if (!path || (path[0] != '/' && path[0] != '@') ||
	    (len = strlen(path)) >= sizeof(d->notify_addr.sun_path))
		return;
	d->notify_addr.sun_family = AF_UNIX;
	memcpy(d->notify_addr.sun_path, path, len);
	if (path[0] == '@')
		d->notify_addr.sun_path[0] = '\0';	/* abstract namespace */
	d->notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	d->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (wd)
		d->watchdog_ns = strtoull(wd, NULL, 10) * 1000ULL / 2;	/* twice per period */
}

void notify(struct daemon *d, const char *msg)
{
	if (d->notify_fd >= 0 &&
	    sendto(d->notify_fd, msg, strlen(msg), MSG_NOSIGNAL,
		   (const struct sockaddr *)&d->notify_addr, d->notify_len) < 0 &&
	    xcgn_verbose)
		xcgn_logf(LOG_WARNING, "xcgn daemon: notify systemd: %s\n", strerror(errno));
}

void dstat_publish(struct daemon *d)
{
	__u32 zero = 0;

	d->ds.written = d->log.st.written;
	d->ds.recovered = d->log.st.recovered;
	d->ds.lost = d->log.st.lost;
	d->ds.write_errors = d->log.st.write_errors;
	d->ds.queued = d->log.qlen;
	d->ds.last_errno = d->log.st.last_errno;
	bpf_map_update_elem(d->m.dstat, &zero, &d->ds, 0);
}

uint64_t stat_sum(struct daemon *d, enum xcgn_stat which)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	struct xcgn_stats *v;
	uint64_t sum = 0;
	__u32 zero = 0;

	if (ncpu <= 0 || !(v = calloc((size_t)ncpu, sizeof(*v))))
		return 0;
	if (!bpf_map_lookup_elem(d->m.stats, &zero, v))
		for (c = 0; c < ncpu; c++)
			sum += v[c].stat[which];
	free(v);
	return sum;
}

int daemon_published_path(char *buf, size_t len)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st))
		return -errno;
	snprintf(buf, len, "%s/daemon-%llu.conf", XCGN_RUN_DIR, (unsigned long long)st.st_ino);
	return 0;
}

char *daemon_published_read(void)
{
	char path[128], *text = NULL;
	size_t len = 0;
	FILE *f;

	if (daemon_published_path(path, sizeof(path)))
		return NULL;
	f = fopen(path, "re");
	if (!f)
		return NULL;
	if (getdelim(&text, &len, '\0', f) < 0) {
		free(text);
		text = NULL;
	}
	fclose(f);
	return text;
}

/* The daemon's running configuration for `config show`: written whole
 * to a new file, then renamed over the old, so a reader sees one or the
 * other. A failure costs only that: said, not fatal. */
void daemon_publish(struct daemon *d)
{
	char path[128], tmp[160];
	FILE *f;

	if (daemon_published_path(path, sizeof(path)) || xcgn_mkdir_p(XCGN_RUN_DIR, 0755))
		goto fail;
	snprintf(tmp, sizeof(tmp), "%s.%d", path, getpid());
	f = fopen(tmp, "we");
	if (!f)
		goto fail;
	fprintf(f, "# the running daemon's configuration (pid %d); xcgn config show\n", getpid());
	if (d->o.published)
		fputs(d->o.published, f);
	else
		daemon_opts_print(f, &d->o);
	if (fclose(f) || rename(tmp, path)) {
		unlink(tmp);
		goto fail;
	}
	d->published = true;
	return;
fail:
	xcgn_logf(LOG_WARNING, "xcgn daemon: warning: cannot publish the running configuration "
			       "under %s (%s): config show will lack the daemon line\n",
		  XCGN_RUN_DIR, strerror(errno));
}

void daemon_unpublish(struct daemon *d)
{
	char path[128];

	if (d->published && !daemon_published_path(path, sizeof(path)))
		unlink(path);
}
