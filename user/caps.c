// SPDX-License-Identifier: GPL-2.0
/* What xcgn needs from the kernel is capabilities, not uid 0: a service
 * may run with exactly these (xcgn.service's CapabilityBoundingSet). */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include "xcgn.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static bool cap_has(const struct __user_cap_data_struct d[2], unsigned int cap)
{
	return (d[cap / 32].effective >> (cap % 32)) & 1;
}

int xcgn_need_caps(const char *what)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	const char *miss[2];
	int n = 0;

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d)) {
		xcgn_err("read this process's capabilities: %s", strerror(errno));
		return -errno;
	}
	if (!cap_has(d, CAP_BPF) && !cap_has(d, CAP_SYS_ADMIN))
		miss[n++] = "CAP_BPF (or CAP_SYS_ADMIN)";
	if (!cap_has(d, CAP_NET_ADMIN))
		miss[n++] = "CAP_NET_ADMIN";
	if (!n)
		return 0;
	xcgn_err("\"%s\" needs %s%s%s (run as root, or grant them: xcgn.service shows how)",
		 what, miss[0], n > 1 ? " and " : "", n > 1 ? miss[1] : "");
	return -EPERM;
}
