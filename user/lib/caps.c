// SPDX-License-Identifier: GPL-2.0
/* What xcgn needs from the kernel is capabilities, not uid 0: a service
 * may run with exactly these (xcgn.service's CapabilityBoundingSet), and
 * the daemon keeps only what it uses once it is set up. libcap-ng does
 * the dropping: the well-kept library many daemons use for it. */
#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cap-ng.h>
#include <linux/capability.h>

#include "lib/lib.h"

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

int xcgn_caps_drop_to_runtime(void)
{
	static const int keep[] = { CAP_BPF, CAP_NET_ADMIN };
	bool have[2], setpcap;
	size_t i;
	int err;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	if (capng_get_caps_process())
		return -EIO;
	for (i = 0; i < ARRAY_SIZE(keep); i++)
		have[i] = capng_have_capability(CAPNG_EFFECTIVE, (unsigned int)keep[i]);
	/* The bounding set shrinks only with CAP_SETPCAP; a service without
	 * it has its own already (CapabilityBoundingSet). */
	setpcap = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
	capng_clear(CAPNG_SELECT_BOTH);
	for (i = 0; i < ARRAY_SIZE(keep); i++)
		if (have[i] && capng_update(CAPNG_ADD,
					    CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
					    (unsigned int)keep[i]))
			return -EINVAL;
	err = capng_apply(setpcap ? CAPNG_SELECT_BOTH : CAPNG_SELECT_CAPS);
	return err ? -EPERM : 0;
}
