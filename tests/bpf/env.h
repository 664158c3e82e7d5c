/* SPDX-License-Identifier: GPL-2.0 */
/* Criterion face of tests/lib/bpfenv.h for the BPF_PROG_TEST_RUN tests. */
#ifndef XCGN_TEST_BPF_ENV_H
#define XCGN_TEST_BPF_ENV_H

#include <stdint.h>

#include "lib/bpfenv.h"
#include "lib/pkt.h"

extern struct bpfenv env;
extern unsigned int env_max_maps;	/* table sizes for the next env_setup */

/* Set up the namespace and load; @pool as for `xcgn pool add`. */
void env_setup(const struct pool_opts *pool);
void env_teardown(void);
/* Default pool: 198.51.100.0/30, ports 1024-65535, blocks of 512, 4 per sub. */
void env_setup_default(void);

uint32_t ip(const char *s);
/* Seconds since boot (CLOCK_MONOTONIC, the BPF clock's base). */
long env_uptime_s(void);

/* Run @prog over @in (@len bytes); the output lands in @out (@outlen). For
 * XDP programs @ifindex is the arrival device. Returns the verdict. */
int env_run(int prog, int ifindex, const uint8_t *in, size_t len, uint8_t *out, size_t *outlen);

/* Run a tc program over @in as if it arrived on (or left) @ifindex, having
 * come in on the inside device (a packet the kernel forwarded from it). */
int env_run_tc(int prog, int ifindex, const uint8_t *in, size_t len, uint8_t *out, size_t *outlen);
/* ... having come in on @ingress. */
int env_run_tc_from(int prog, int ifindex, int ingress, const uint8_t *in, size_t len,
		    uint8_t *out, size_t *outlen);

/* Sum of a counter or drop reason over CPUs. */
uint64_t env_stat(int idx);
uint64_t env_drop(int idx);
/* Entries in a hash map. */
unsigned int env_count(int map_fd);

#endif
