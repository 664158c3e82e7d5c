// SPDX-License-Identifier: GPL-2.0
/* Small system helpers: the datapath's clock, directories, growing arrays. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/lib.h"

/* The datapath stamps with bpf_ktime_get_coarse_ns(): CLOCK_MONOTONIC. */
uint64_t xcgn_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
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

int xcgn_grow(void *arr, size_t *cap, size_t n, size_t size)
{
	void **a = arr, *p;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	p = realloc(*a, ncap * size);
	if (!p) {
		errno = ENOMEM;
		return -1;
	}
	*a = p;
	*cap = ncap;
	return 0;
}
