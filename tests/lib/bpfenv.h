/* SPDX-License-Identifier: GPL-2.0 */
/* A private network namespace with an inside and an outside device, static
 * neighbours so bpf_fib_lookup() completes, and the datapath loaded
 * (unpinned) with one pool: the fixture of the BPF_PROG_TEST_RUN tests and
 * of the benchmark. */
#ifndef XCGN_TEST_BPFENV_H
#define XCGN_TEST_BPFENV_H

#include <stddef.h>

#include "datapath/datapath.h"
#include "xcgn_xdp.skel.h"
#include "xcgn_gc.skel.h"

#define ENV_SUB1	"100.64.0.2"
#define ENV_SUB2	"100.64.0.3"
#define ENV_S1		"192.0.2.9"	/* behind the gateway */
#define ENV_S2		"192.0.2.10"
#define ENV_GW_MAC	"02:00:00:00:00:22"	/* next hop on the outside */
#define ENV_SUB_MAC	"02:00:00:00:00:33"	/* every subscriber */

#define BPFENV_PROGS_MAX	16

/* The verifier's statistics (BPF_LOG_STATS) of one program's load. */
struct bpfenv_vlog {
	const char *prog;
	char *log;
};

struct bpfenv {
	struct xcgn_xdp *skel;
	struct xcgn_maps maps;
	int ifin, ifout;
	int prog_in, prog_out, prog_tc, prog_tc_in, prog_tc_inside;
	struct bpfenv_vlog vlog[BPFENV_PROGS_MAX];	/* with bpfenv_verifier_stats */
	int nvlog;
};

/* Keep each program's verifier statistics (tests/bpf/test_verifier.c). */
extern int bpfenv_verifier_stats;
/* Ask for them on every program of @obj before it loads. */
int bpfenv_vlog_arm(struct bpfenv *e, struct bpf_object *obj);

/* Enter a new network namespace, build the devices, load and seed. Returns
 * 0, or -1 with the reason in @why. */
int bpfenv_setup(struct bpfenv *e, const struct pool_opts *pool, unsigned int max_maps, char *why,
		 size_t whylen);
void bpfenv_teardown(struct bpfenv *e);
/* Capacity of the reverse-path table for the next setup; 0: default. */
extern unsigned int bpfenv_rpf_max;
/* The collector's programs, on this environment's maps. */
struct xcgn_gc *bpfenv_load_gc(struct bpfenv *e);
/* The pool the tests use unless they say otherwise:
 * 198.51.100.0/30, ports 1024-65535, blocks of 512, 4 per subscriber. */
struct pool_opts bpfenv_default_pool(void);
/* A pool as `xcgn pool add PREFIX/PLEN ports LO-HI block-size BS max-blocks MB`. */
struct pool_opts bpfenv_pool(const char *prefix, uint8_t plen, uint16_t lo, uint16_t hi,
			     uint16_t bs, uint16_t mb);

#endif
