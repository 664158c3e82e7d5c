// SPDX-License-Identifier: GPL-2.0
/* xcgn-bench: the measuring half of `make bench` (scripts/bench.sh drives it).
 *
 *   xcgn-bench testrun [repeat N]
 *	ns per packet with BPF_PROG_TEST_RUN for an established-flow SNAT and
 *	DNAT packet, beside an XDP_PASS program, in the same run.
 *   xcgn-bench newflows
 *	ns per new session with BPF_PROG_TEST_RUN: a known subscriber's new
 *	mapping (endpoint-independent and address-dependent pools) and a new
 *	subscriber's first.
 *   xcgn-bench fwd sub NS dev DEV dst-mac MAC dst ADDR inet NS sink DEV
 *                  [packets N] [subs N] [ports N]
 *	forwarded packets per second: 64-byte UDP frames generated with live
 *	frames on the subscribers' device, counted by an XDP sink on the
 *	internet side. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_packet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/bpfenv.h"
#include "net/rpf.h"
#include "lib/pkt.h"
#include "bench_pass.skel.h"
#include "bench_gen.skel.h"
#include "bench_fwd.skel.h"
#include "sinks/sinks.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int pin_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* Average ns per run of @prog over the 60-byte frame @pkt, @repeat times,
 * with the frame restored before each run (see bench_pass.bpf.c). */
static int ns_per_pkt(struct bench_pass *h, int prog, int ifindex, const uint8_t *pkt,
		      unsigned int repeat, unsigned int *ns, unsigned int *verdict)
{
	uint8_t out[128];
	struct xdp_md ctx = { .data_end = 60, .ingress_ifindex = (__u32)ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = 60, .data_out = out,
		    .data_size_out = sizeof(out), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = repeat);
	__u32 zero = 0, one = 1;

	if (bpf_map_update_elem(bpf_map__fd(h->maps.bench_tmpl), &zero, pkt, 0) ||
	    bpf_map_update_elem(bpf_map__fd(h->maps.bench_tmpl), &one, pkt, 0) ||
	    bpf_map_update_elem(bpf_map__fd(h->maps.bench_next), &zero, &prog, 0) ||
	    bpf_prog_test_run_opts(bpf_program__fd(h->progs.bench_restore), &o))
		return -errno;
	*ns = o.duration;
	*verdict = o.retval;
	return 0;
}

/* Reverse-path check on, over the namespace's real FIB, or off (entries
 * without XCGN_RPFD_VALID: no check at all). */
static int rpf_set(struct bpfenv *e, int on)
{
	struct xcgn_rpf_dev d = { .ifindex = (__u32)e->ifin, .mode = XCGN_RPF_STRICT };
	__u32 k = XCGN_RPF_DEV_INSIDE;

	if (!on) {
		struct xcgn_rpf_dev off = {};

		if (bpf_map_update_elem(e->maps.rpfdev, &k, &off, 0))
			return -errno;
		k = XCGN_RPF_DEV_OUTSIDE;
		return bpf_map_update_elem(e->maps.rpfdev, &k, &off, 0) ? -errno : 0;
	}
	if (bpf_map_update_elem(e->maps.rpfdev, &k, &d, 0))
		return -errno;
	d = (struct xcgn_rpf_dev){ .ifindex = (__u32)e->ifout, .mode = XCGN_RPF_LOOSE };
	k = XCGN_RPF_DEV_OUTSIDE;
	if (bpf_map_update_elem(e->maps.rpfdev, &k, &d, 0))
		return -errno;
	return rpf_sync(&e->maps, NULL, false);
}

/* Per-subscriber accounting on or off (`link set accounting`). */
static int acct_set(struct bpfenv *e, int on)
{
	struct xcgn_state rs;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(e->maps.state, &zero, &rs))
		return -errno;
	rs.switches = on ? rs.switches | XCGN_SW_ACCOUNTING : rs.switches & ~XCGN_SW_ACCOUNTING;
	return bpf_map_update_elem(e->maps.state, &zero, &rs, 0) ? -errno : 0;
}

/* The next-hop cache on (as a running daemon would vouch for it, for an
 * hour: no daemon runs here) or off. */
static int nh_set(struct bpfenv *e, int on)
{
	struct xcgn_nhctl c = { .gen = 1 };
	__u32 zero = 0;

	if (on) {
		c.flags = XCGN_NHF_ON;
		c.until_ns = xcgn_mono_ns() + 3600ULL * 1000000000ULL;
	}
	return bpf_map_update_elem(e->maps.nhctl, &zero, &c, 0) ? -errno : 0;
}

/* The configurations an established flow is timed in, each a round's
 * SNAT and DNAT sample. "deployed" is what `xcgn link attach` and a running
 * daemon give: the reverse-path check on (strict inside, loose outside,
 * over this namespace's FIB), the next hop cached, accounting off. */
static const struct bench_conf {
	const char *name;
	int rpf, nh, acct;
} confs[] = {
	{ "deployed", 1, 1, 0 },
	{ "no_rpf", 0, 1, 0 },
	{ "no_cache", 1, 0, 0 },
	{ "accounting", 1, 1, 1 },
};
#define NCONFS (sizeof(confs) / sizeof(confs[0]))

static int conf_set(struct bpfenv *e, const struct bench_conf *c)
{
	return rpf_set(e, c->rpf) ?: nh_set(e, c->nh) ?: acct_set(e, c->acct);
}

static void json_samples(const char *name, const unsigned int *v, unsigned int n, int last)
{
	unsigned int i;

	printf("    \"%s\": [", name);
	for (i = 0; i < n; i++)
		printf("%s%u", i ? ", " : "", v[i]);
	printf("]%s\n", last ? "" : ",");
}

#define RUNS_MAX 64

/* @runs rounds; each round times, one after the other, the restore +
 * XDP_PASS baseline, the plain XDP forwarder, and SNAT and DNAT in every
 * configuration. Samples of one round are paired: scripts/bench-report.sh
 * takes a round's baseline from its own SNAT, so a slow round (this VM's
 * neighbours) moves both. Prints the raw samples as JSON. */
static int do_testrun(unsigned int repeat, unsigned int runs)
{
	struct pool_opts pool = bpfenv_default_pool();
	struct pkt_spec s = { .proto = 17, .sport = 1100, .dport = 53, .payload = 18 };
	struct pkt_spec r = { .proto = 17, .sport = 53, .payload = 18 };
	static unsigned int pass[RUNS_MAX], fwd[RUNS_MAX], snat[NCONFS][RUNS_MAX],
		dnat[NCONFS][RUNS_MAX];
	struct bench_pass *h = NULL;
	struct bench_fwd *f = NULL;
	uint8_t pkt[128], reply[128], out[128];
	unsigned int v = 0, round, c;
	struct bpfenv e;
	char why[256];
	int err;

	if (pin_cpu0())
		fprintf(stderr, "bench: cannot pin to CPU 0: %s\n", strerror(errno));
	if (bpfenv_setup(&e, &pool, 65536, why, sizeof(why))) {
		fprintf(stderr, "bench: %s\n", why);
		return 1;
	}
	h = bench_pass__open_and_load();
	f = bench_fwd__open_and_load();
	if (!h || !f) {
		fprintf(stderr, "bench: load the bench programs: %s\n", strerror(errno));
		err = -ENOENT;
		goto out;
	}
	s.saddr = inet_addr(ENV_SUB1);
	s.daddr = inet_addr(ENV_S1);
	if (pkt_build(pkt, sizeof(pkt), &s) != 60) {
		err = -EINVAL;
		goto out;
	}
	/* One run creates the mapping: what follows is an established flow.
	 * Its output gives the public tuple the reply goes to. */
	{
		struct xdp_md ctx = { .data_end = 60, .ingress_ifindex = (__u32)e.ifin };
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = 60,
			    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = 1);

		err = bpf_prog_test_run_opts(e.prog_in, &o) ? -errno : 0;
		if (!err && o.retval != XDP_REDIRECT)
			err = -EPROTO;
	}
	if (err)
		goto out;
	r.saddr = inet_addr(ENV_S1);
	r.daddr = pkt_saddr(out);
	r.dport = pkt_sport(out);
	pkt_build(reply, sizeof(reply), &r);

	for (round = 0; !err && round < runs; round++) {
		err = ns_per_pkt(h, bpf_program__fd(h->progs.bench_pass), e.ifin, pkt, repeat,
				 &pass[round], &v);
		if (!err && v != XDP_PASS)
			err = -EPROTO;
		err = err ?: ns_per_pkt(h, bpf_program__fd(f->progs.bench_fwd), e.ifin, pkt, repeat,
					&fwd[round], &v);
		if (!err && v != XDP_REDIRECT)
			err = -EPROTO;
		for (c = 0; !err && c < NCONFS; c++) {
			err = conf_set(&e, &confs[c]);
			err = err ?: ns_per_pkt(h, e.prog_in, e.ifin, pkt, repeat, &snat[c][round], &v);
			if (!err && v != XDP_REDIRECT)
				err = -EPROTO;
			err = err ?: ns_per_pkt(h, e.prog_out, e.ifout, reply, repeat, &dnat[c][round],
						&v);
			if (!err && v != XDP_REDIRECT)
				err = -EPROTO;
		}
	}
	if (err)
		goto out;
	printf("{\n  \"repeat\": %u,\n  \"runs\": %u,\n  \"ns\": {\n", repeat, runs);
	json_samples("pass", pass, runs, 0);
	json_samples("fwd", fwd, runs, 0);
	for (c = 0; c < NCONFS; c++) {
		char name[64];

		snprintf(name, sizeof(name), "snat_%s", confs[c].name);
		json_samples(name, snat[c], runs, 0);
		snprintf(name, sizeof(name), "dnat_%s", confs[c].name);
		json_samples(name, dnat[c], runs, c + 1 == NCONFS);
	}
	printf("  }\n}\n");
out:
	if (err)
		fprintf(stderr, "bench: test run failed: %s (verdict %u)\n", strerror(-err), v);
	bench_fwd__destroy(f);
	bench_pass__destroy(h);
	bpfenv_teardown(&e);
	return err ? 1 : 0;
}

/* ---- two CPUs at once --------------------------------------------------- */

/* One CPU's share of a two-CPU sample: its own flow's frame in its slot of
 * bench_tmpl, the same program, started together. */
struct cpu_run {
	struct bench_pass *h;
	int cpu, ifindex;
	unsigned int repeat, ns, verdict;
	int err;
	pthread_barrier_t *go;
};

static void *cpu_run_fn(void *arg)
{
	struct cpu_run *c = arg;
	uint8_t out[128];
	struct xdp_md ctx = { .data_end = 60, .ingress_ifindex = (__u32)c->ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = out, .data_size_in = 60, .data_out = out,
		    .data_size_out = sizeof(out), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = c->repeat);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(c->cpu, &set);
	memset(out, 0, sizeof(out));	/* the restore writes the frame */
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set)) {
		c->err = -EINVAL;
		pthread_barrier_wait(c->go);
		return NULL;
	}
	pthread_barrier_wait(c->go);
	c->err = bpf_prog_test_run_opts(bpf_program__fd(c->h->progs.bench_restore), &o) ? -errno : 0;
	c->ns = o.duration;
	c->verdict = o.retval;
	return NULL;
}

/* An established flow on each of CPUs 0 and 1 at once (SNAT, as deployed),
 * against CPU 0 alone, @runs rounds: how the established path scales. A
 * real box spreads flows over its cores with RSS; each CPU here has a
 * subscriber of its own. Prints the raw samples as JSON. */
static int do_testrun2(unsigned int repeat, unsigned int runs)
{
	struct pool_opts pool = bpfenv_default_pool();
	static unsigned int one[RUNS_MAX], two[RUNS_MAX][2];
	struct pkt_spec s = { .proto = 17, .sport = 1100, .dport = 53, .payload = 18 };
	const char *subs[2] = { ENV_SUB1, ENV_SUB2 };
	uint8_t pkt[2][128];
	struct bench_pass *h = NULL;
	pthread_barrier_t go;
	unsigned int round, v = 0;
	struct bpfenv e;
	char why[256];
	__u32 zero = 0;
	int err = 0, i;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		fprintf(stderr, "bench: the two-CPU figure needs two CPUs\n");
		return 1;
	}
	if (bpfenv_setup(&e, &pool, 65536, why, sizeof(why))) {
		fprintf(stderr, "bench: %s\n", why);
		return 1;
	}
	h = bench_pass__open_and_load();
	if (!h) {
		fprintf(stderr, "bench: load the bench programs: %s\n", strerror(errno));
		bpfenv_teardown(&e);
		return 1;
	}
	err = conf_set(&e, &confs[0]);
	for (i = 0; !err && i < 2; i++) {
		uint8_t out[128];
		struct xdp_md ctx = { .data_end = 60, .ingress_ifindex = (__u32)e.ifin };
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt[i], .data_size_in = 60,
			    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = 1);

		s.saddr = inet_addr(subs[i]);
		s.daddr = inet_addr(ENV_S1);
		if (pkt_build(pkt[i], sizeof(pkt[i]), &s) != 60) {
			err = -EINVAL;
			break;
		}
		/* Its mapping made: what follows is an established flow. */
		err = bpf_prog_test_run_opts(e.prog_in, &o) ? -errno : 0;
		if (!err && o.retval != XDP_REDIRECT)
			err = -EPROTO;
	}
	err = err ?: (bpf_map_update_elem(bpf_map__fd(h->maps.bench_next), &zero, &e.prog_in, 0)
			      ? -errno : 0);
	if (!err && pthread_barrier_init(&go, NULL, 2))
		err = -ENOMEM;
	for (round = 0; !err && round < runs; round++) {
		struct cpu_run c[2];
		pthread_t t[2];

		if (pin_cpu0())
			err = -errno;
		err = err ?: ns_per_pkt(h, e.prog_in, e.ifin, pkt[0], repeat, &one[round], &v);
		if (!err && v != XDP_REDIRECT)
			err = -EPROTO;
		for (i = 0; !err && i < 2; i++) {
			__u32 k = (__u32)i;

			if (bpf_map_update_elem(bpf_map__fd(h->maps.bench_tmpl), &k, pkt[i], 0))
				err = -errno;
		}
		for (i = 0; !err && i < 2; i++) {
			c[i] = (struct cpu_run){ .h = h, .cpu = i, .ifindex = e.ifin, .repeat = repeat,
						 .go = &go };
			if (pthread_create(&t[i], NULL, cpu_run_fn, &c[i]))
				err = -EAGAIN;
		}
		if (err)	/* a thread may wait at the barrier: none was made, or both */
			break;
		for (i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		for (i = 0; !err && i < 2; i++) {
			err = c[i].err;
			v = c[i].verdict;
			if (!err && v != XDP_REDIRECT)
				err = -EPROTO;
			two[round][i] = c[i].ns;
		}
	}
	if (!err) {
		printf("{\n  \"repeat\": %u,\n  \"runs\": %u,\n", repeat, runs);
		json_samples("one_ns", one, runs, 0);
		printf("    \"two_ns\": [");
		for (round = 0; round < runs; round++)
			printf("%s[%u, %u]", round ? ", " : "", two[round][0], two[round][1]);
		printf("]\n}\n");
	} else {
		fprintf(stderr, "bench: two-CPU test run failed: %s (verdict %u)\n", strerror(-err), v);
	}
	bench_pass__destroy(h);
	bpfenv_teardown(&e);
	return err ? 1 : 0;
}

/* The mapping tables' capacity in the session-setup figures, xcgn's and
 * the insert pair's alike. */
#define NEWFLOW_CAPACITY 262144

/* Session setup: ns per new mapping, each run a new flow (see
 * bench_restore_new), @n runs, in a fresh environment with pool filtering
 * @filtering; @vary_subs: a new subscriber each run too; @pair: the
 * reference instead of xcgn (bench_pair: a lookup and two inserts). */
static int new_flow_ns(int filtering, int vary_subs, int pair, unsigned int n, unsigned int *ns,
		       uint64_t *made)
{
	struct pool_opts pool = bpfenv_pool("198.51.100.0", 24, 1024, 65535, 512, 4);
	struct pkt_spec s = { .proto = 17, .sport = 1100, .dport = 53, .payload = 18 };
	struct bench_pass *h;
	struct bpfenv e;
	uint8_t pkt[128], out[128];
	struct xdp_md ctx = { .data_end = 60 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = 60, .data_out = out,
		    .data_size_out = sizeof(out), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = n);
	struct xcgn_stats st;
	char why[256];
	__u32 zero = 0;
	int err, prog;

	pool.filtering = (uint8_t)filtering;
	pool.sub_burst = 0;	/* the new-subscriber cap off: that is what is measured */
	pool.new_rate = 0;
	if (bpfenv_setup(&e, &pool, NEWFLOW_CAPACITY, why, sizeof(why))) {
		fprintf(stderr, "bench: %s\n", why);
		return -EINVAL;
	}
	h = bench_pass__open();
	if (!h) {
		bpfenv_teardown(&e);
		return -errno;
	}
	h->rodata->bench_vary_subs = (__u32)vary_subs;
	err = bpf_map__set_max_entries(h->maps.bench_pair_fwd, NEWFLOW_CAPACITY) ?:
	      bpf_map__set_max_entries(h->maps.bench_pair_rev, NEWFLOW_CAPACITY);
	err = err ?: (bench_pass__load(h) ? -errno : 0);
	s.saddr = inet_addr(ENV_SUB1);
	s.daddr = inet_addr(ENV_S1);
	if (!err && pkt_build(pkt, sizeof(pkt), &s) != 60)
		err = -EINVAL;
	prog = pair ? bpf_program__fd(h->progs.bench_pair) : e.prog_in;
	ctx.ingress_ifindex = (__u32)e.ifin;
	if (!err && (bpf_map_update_elem(bpf_map__fd(h->maps.bench_tmpl), &zero, pkt, 0) ||
		     bpf_map_update_elem(bpf_map__fd(h->maps.bench_next), &zero, &prog, 0) ||
		     bpf_prog_test_run_opts(bpf_program__fd(h->progs.bench_restore_new), &o)))
		err = -errno;
	if (!err) {
		*ns = o.duration;
		err = xcgn_stats_read(e.maps.stats, &st);
		*made = pair ? h->bss->bench_pairs_made : st.stat[XCGN_STAT_MAP_NEW];
	}
	bench_pass__destroy(h);
	bpfenv_teardown(&e);
	return err;
}

/* Where a new session's time goes: the same subscriber's new mapping, in
 * an endpoint-independent and an address-dependent pool (the filtering
 * entry), and a new subscriber's first (its creation, a block, the
 * event); beside them the insert pair that any new mapping costs at
 * least. @runs times each, as JSON samples. */
static int do_newflows(unsigned int runs)
{
	static const struct {
		const char *name;
		int filtering, vary_subs, pair;
		unsigned int n;
	} c[] = {
		{ "eif_1_8_of_ports", XCGN_FILTER_EIF, 0, 0, 256 },
		{ "eif_nearly_all_ports", XCGN_FILTER_EIF, 0, 0, 2000 },
		{ "adf_1_8_of_ports", XCGN_FILTER_ADF, 0, 0, 256 },
		{ "eif_new_subscriber", XCGN_FILTER_EIF, 1, 0, 2000 },
		{ "insert_pair", XCGN_FILTER_EIF, 0, 1, 256 },
	};
#define NCASES (sizeof(c) / sizeof(c[0]))
	static unsigned int ns[NCASES][RUNS_MAX];
	unsigned int i, r;
	uint64_t made = 0;
	int err;

	if (pin_cpu0())
		fprintf(stderr, "bench: cannot pin to CPU 0: %s\n", strerror(errno));
	/* Round by round, every case once a round, so that a case's run i
	 * and the pair's run i (paired in the report) are neighbours. */
	for (r = 0; r < runs; r++) {
		for (i = 0; i < NCASES; i++) {
			err = new_flow_ns(c[i].filtering, c[i].vary_subs, c[i].pair, c[i].n, &ns[i][r],
					  &made);
			if (err) {
				fprintf(stderr, "bench: new flows: %s\n", strerror(-err));
				return 1;
			}
			if (made != c[i].n) {
				fprintf(stderr, "bench: %s: %llu of %u runs made a mapping\n", c[i].name,
					(unsigned long long)made, c[i].n);
				return 1;
			}
		}
	}
	printf("{\n  \"runs\": %u,\n  \"capacity\": %u,\n  \"ns\": {\n", runs, NEWFLOW_CAPACITY);
	for (i = 0; i < NCASES; i++)
		json_samples(c[i].name, ns[i], runs, i + 1 == NCASES);
	printf("  }\n}\n");
	return 0;
}

static int enter_ns(const char *ns)
{
	char path[256];
	int fd, err = 0;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		err = -errno;
	if (fd >= 0)
		close(fd);
	if (err)
		fprintf(stderr, "bench: enter netns %s: %s\n", ns, strerror(-err));
	return err;
}

static int mac_of(const char *dev, uint8_t mac[6])
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM, 0), err = 0;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	if (fd >= 0)
		close(fd);
	return err;
}

static uint64_t sink_total(struct bench_gen *g)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	uint64_t *v = calloc((size_t)ncpu, sizeof(*v)), sum = 0;
	__u32 zero = 0;

	if (v && !bpf_map_lookup_elem(bpf_map__fd(g->maps.sink_count), &zero, v))
		for (c = 0; c < ncpu; c++)
			sum += v[c];
	free(v);
	return sum;
}

/* CPU time all CPUs spent busy since boot, in ns (/proc/stat's first line:
 * everything but idle and iowait). */
static int cpu_busy_ns(uint64_t *ns)
{
	unsigned long long v[8] = {};
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		return -errno;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8)
		return -EINVAL;
	*ns = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) * (1000000000ULL /
							    (uint64_t)sysconf(_SC_CLK_TCK));
	return 0;
}

/* A whole positive number for @what, or 0 after saying why. */
static unsigned int count_arg(const char *what, const char *v)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || end == v || !n || n > 1000000000UL) {
		fprintf(stderr, "bench: %s: \"%s\" is not a count from 1 to 10^9\n", what, v);
		return 0;
	}
	return (unsigned int)n;
}

/* Attach (@prog >= 0) or detach XDP on @dev inside netns @ns. */
static int xdp_in_ns(const char *ns, const char *dev, int prog)
{
	int ifi, err;

	if (enter_ns(ns))
		return -ENOENT;
	ifi = (int)if_nametoindex(dev);
	if (!ifi)
		return -ENODEV;
	/* Never over a program someone else attached (xcgn's, say). */
	err = prog >= 0 ? bpf_xdp_attach(ifi, prog, XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST,
					 NULL)
			: bpf_xdp_detach(ifi, XDP_FLAGS_DRV_MODE, NULL);
	if (err)
		fprintf(stderr, "bench: XDP on %s in %s: %s\n", dev, ns, strerror(-err));
	return err;
}

/* The generator's frames leave DEV (@gen_if) as fast as XDP live frames
 * go: BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES, the program
 * rewriting its template into the next flow and sending it with XDP_TX.
 * A kernel that refuses live frames (EPERM, as some VM kernels do) gets
 * the same frames from a packet socket instead: the program makes each
 * one (a plain test run, the next flow each time, on one CPU: its sequence
 * is per CPU), up to 65536 distinct frames sent round, and sendmmsg()
 * sends them, waiting when the device's queue is full, so none is lost to
 * the generator itself. Slower, so its rates measure the generator too:
 * *@how says which one ran. 0, or -1 with the reason said. */
#define GEN_RING_MAX 65536
#define GEN_BATCH 64

static int gen_sock_send(struct bench_gen *g, int gen_if, const uint8_t *pkt, size_t len,
			 unsigned int packets, const char *who)
{
	unsigned int ring = packets < GEN_RING_MAX ? packets : GEN_RING_MAX, i, sent = 0;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = gen_if };
	struct mmsghdr msg[GEN_BATCH];
	struct iovec iov[GEN_BATCH];
	uint8_t (*frames)[64];
	cpu_set_t one, was;
	int fd = -1, rc = -1, n;

	frames = calloc(ring, sizeof(*frames));
	if (!frames || sched_getaffinity(0, sizeof(was), &was)) {
		fprintf(stderr, "%s: generator memory: %s\n", who, strerror(errno));
		free(frames);
		return -1;
	}
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	if (sched_setaffinity(0, sizeof(one), &one)) {
		fprintf(stderr, "%s: pin the generator: %s\n", who, strerror(errno));
		goto out;
	}
	for (i = 0; i < ring; i++) {
		struct xdp_md ctx = { .data_end = (__u32)len, .ingress_ifindex = (__u32)gen_if };
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (__u32)len,
			    .data_out = frames[i], .data_size_out = sizeof(frames[i]),
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);

		if (bpf_prog_test_run_opts(bpf_program__fd(g->progs.bench_gen), &o) ||
		    o.retval != XDP_TX || o.data_size_out != len) {
			fprintf(stderr, "%s: make frame %u: %s (verdict %u)\n", who, i,
				strerror(errno), o.retval);
			goto out;
		}
	}
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		fprintf(stderr, "%s: packet socket on ifindex %d: %s\n", who, gen_if,
			strerror(errno));
		goto out;
	}
	memset(msg, 0, sizeof(msg));
	while (sent < packets) {
		unsigned int batch = packets - sent < GEN_BATCH ? packets - sent : GEN_BATCH;

		for (i = 0; i < batch; i++) {
			iov[i].iov_base = frames[(sent + i) % ring];
			iov[i].iov_len = len;
			msg[i].msg_hdr.msg_iov = &iov[i];
			msg[i].msg_hdr.msg_iovlen = 1;
		}
		n = sendmmsg(fd, msg, batch, 0);
		if (n < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
			fprintf(stderr, "%s: send: %s\n", who, strerror(errno));
			goto out;
		}
		if (n > 0)
			sent += (unsigned int)n;
		if (n < (int)batch)
			usleep(20);	/* the device's queue is full: let it drain */
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	sched_setaffinity(0, sizeof(was), &was);
	free(frames);
	return rc;
}

static int gen_send(struct bench_gen *g, int gen_if, const uint8_t *pkt, size_t len,
		    unsigned int packets, const char *who, const char **how)
{
	struct xdp_md ctx = { .data_end = (__u32)len, .ingress_ifindex = (__u32)gen_if };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (__u32)len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = packets,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 64);

	*how = "xdp_live_frames";
	if (!bpf_prog_test_run_opts(bpf_program__fd(g->progs.bench_gen), &o))
		return 0;
	if (errno != EPERM && errno != EOPNOTSUPP) {
		fprintf(stderr, "%s: live frames: %s\n", who, strerror(errno));
		return -1;
	}
	*how = "packet_socket";
	return gen_sock_send(g, gen_if, pkt, len, packets, who);
}

/* Forwarded packets per second. The generator sends @packets 64-byte UDP
 * frames out of the subscribers' device, the flow of the n-th being
 * subscriber src + n % subs, source port port-base + (n / subs) % ports: with
 * packets = subs x ports every frame is a new flow (session setup), with
 * more they cycle (established flows). An XDP sink on the internet side
 * counts what arrives. `nat NS xdpfwd DEV` attaches the plain XDP forwarder
 * to DEV in NS for the run (the floor the NAT is compared with). Prints
 * JSON: sent, received, seconds, and the CPU time all CPUs were busy. */
static int do_fwd(int argc, char **argv)
{
	const char *sub_ns = NULL, *dev = NULL, *dst_mac = NULL, *dst = NULL, *inet_ns = NULL,
		   *sink_dev = NULL, *nat_ns = NULL, *fwd_dev = NULL, *src = "100.64.1.1";
	unsigned int packets = 2000000, nsubs = 50, nports = 20, port_base = 10000;
	struct pkt_spec s = { .proto = 17, .sport = 10000, .dport = 9, .payload = 18 };
	struct bench_gen *g;
	struct bench_fwd *f = NULL;
	uint8_t pkt[128], mac[6];
	int sink_if = 0, gen_if, err, rc = 1;
	uint64_t got, busy0 = 0, busy1 = 0;
	const char *how = "";
	double t0, t1;
	size_t len;

	for (; argc > 1; argc -= 2, argv += 2) {
		unsigned int *n = NULL;

		if (!strcmp(argv[0], "sub"))
			sub_ns = argv[1];
		else if (!strcmp(argv[0], "dev"))
			dev = argv[1];
		else if (!strcmp(argv[0], "dst-mac"))
			dst_mac = argv[1];
		else if (!strcmp(argv[0], "dst"))
			dst = argv[1];
		else if (!strcmp(argv[0], "inet"))
			inet_ns = argv[1];
		else if (!strcmp(argv[0], "sink"))
			sink_dev = argv[1];
		else if (!strcmp(argv[0], "nat"))
			nat_ns = argv[1];
		else if (!strcmp(argv[0], "xdpfwd"))
			fwd_dev = argv[1];
		else if (!strcmp(argv[0], "src"))
			src = argv[1];
		else if (!strcmp(argv[0], "packets"))
			n = &packets;
		else if (!strcmp(argv[0], "subs"))
			n = &nsubs;
		else if (!strcmp(argv[0], "ports"))
			n = &nports;
		else if (!strcmp(argv[0], "port-base"))
			n = &port_base;
		else
			break;
		if (n && !(*n = count_arg(argv[0], argv[1])))
			return 2;
	}
	if (argc || !sub_ns || !dev || !dst_mac || !dst || !inet_ns || !sink_dev ||
	    !nat_ns != !fwd_dev || port_base + nports > 65536 || inet_addr(src) == INADDR_NONE ||
	    inet_addr(dst) == INADDR_NONE) {
		fprintf(stderr, "usage: xcgn-bench fwd sub NS dev DEV dst-mac MAC dst ADDR inet NS "
				"sink DEV [nat NS xdpfwd DEV] [packets N] [src ADDR] [subs N] "
				"[ports N] [port-base N]\n");
		return 2;
	}
	if (pin_cpu0())
		fprintf(stderr, "bench: cannot pin to CPU 0: %s\n", strerror(errno));
	g = bench_gen__open();
	if (!g)
		return 1;
	g->rodata->nsubs = nsubs;
	g->rodata->nports = nports;
	g->rodata->port_base = port_base;
	g->rodata->sub_base = ntohl(inet_addr(src));
	if (bench_gen__load(g)) {
		fprintf(stderr, "bench: load generator: %s\n", strerror(errno));
		bench_gen__destroy(g);
		return 1;
	}
	if (fwd_dev) {
		f = bench_fwd__open_and_load();
		if (!f || xdp_in_ns(nat_ns, fwd_dev, bpf_program__fd(f->progs.bench_fwd))) {
			fprintf(stderr, "bench: the plain XDP forwarder on %s\n", fwd_dev);
			bench_fwd__destroy(f);
			f = NULL;	/* not ours to detach */
			goto out;
		}
	}
	if (enter_ns(inet_ns))
		goto out;
	sink_if = (int)if_nametoindex(sink_dev);
	err = sink_if ? bpf_xdp_attach(sink_if, bpf_program__fd(g->progs.bench_sink),
				       XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL)
		      : -ENODEV;
	if (err) {
		fprintf(stderr, "bench: attach sink on %s: %s\n", sink_dev, strerror(-err));
		sink_if = 0;
		goto out;
	}
	/* Attaching the sink changes its veth peer's features: a link change
	 * in the router's namespace, on which xcgn's daemon turns the
	 * next-hop cache off until it has read the FIB again (50 ms after the
	 * change, plus the read). The router settles before the clock starts. */
	usleep(300000);
	if (enter_ns(sub_ns))
		goto out;
	gen_if = (int)if_nametoindex(dev);
	if (!gen_if || mac_of(dev, mac)) {
		fprintf(stderr, "bench: device %s\n", dev);
		goto out;
	}
	s.saddr = inet_addr(src);
	s.daddr = inet_addr(dst);
	len = pkt_build(pkt, sizeof(pkt), &s);
	if (sscanf(dst_mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &pkt[0], &pkt[1], &pkt[2], &pkt[3],
		   &pkt[4], &pkt[5]) != 6) {
		fprintf(stderr, "bench: bad MAC %s\n", dst_mac);
		goto out;
	}
	memcpy(pkt + 6, mac, 6);
	if (len != 60 || bpf_map_update_elem(bpf_map__fd(g->maps.gen_tmpl), &(__u32){ 0 }, pkt, 0)) {
		fprintf(stderr, "bench: frame template\n");
		goto out;
	}
	err = cpu_busy_ns(&busy0);
	t0 = now_s();
	err = err ?: gen_send(g, gen_if, pkt, len, packets, "bench", &how);
	t1 = now_s();
	if (err)
		goto out;
	usleep(200000);	/* what is in flight lands */
	got = sink_total(g);
	if (cpu_busy_ns(&busy1))
		goto out;
	/* The 200 ms wait is idle but for the VM's noise: it counts in busy
	 * time, not in the packet rate's seconds. */
	printf("{\"sent\": %u, \"received\": %llu, \"secs\": %.6f, \"busy_ns\": %llu, "
	       "\"generator\": \"%s\"}\n",
	       packets, (unsigned long long)got, t1 - t0, (unsigned long long)(busy1 - busy0), how);
	rc = got ? 0 : 1;
out:
	if (sink_if && !enter_ns(inet_ns))
		bpf_xdp_detach(sink_if, XDP_FLAGS_DRV_MODE, NULL);
	if (f)
		xdp_in_ns(nat_ns, fwd_dev, -1);
	bench_fwd__destroy(f);
	bench_gen__destroy(g);
	return rc;
}

/* xcgn-bench flood ns NS dev DEV dst-mac MAC src ADDR pool ADDR [addrs N]
 * [packets N]: UDP to random ports of N pool addresses from ADDR, sent out of
 * DEV (in NS) as fast as XDP live frames go. Nothing of it has a mapping:
 * xcgn must drop it all at XDP, create no state, and carry on. */
static int do_flood(int argc, char **argv)
{
	const char *ns = NULL, *dev = NULL, *dst_mac = NULL, *src = NULL, *pool = NULL;
	unsigned int packets = 2000000, naddrs = 4;
	struct pkt_spec s = { .proto = 17, .sport = 4444, .dport = 9, .payload = 18 };
	struct bench_gen *g;
	uint8_t pkt[128], mac[6];
	const char *how = "";
	int gen_if, err;
	double t0, t1;
	size_t len;

	for (; argc > 1; argc -= 2, argv += 2) {
		if (!strcmp(argv[0], "ns"))
			ns = argv[1];
		else if (!strcmp(argv[0], "dev"))
			dev = argv[1];
		else if (!strcmp(argv[0], "dst-mac"))
			dst_mac = argv[1];
		else if (!strcmp(argv[0], "src"))
			src = argv[1];
		else if (!strcmp(argv[0], "pool"))
			pool = argv[1];
		else if (!strcmp(argv[0], "addrs")) {
			if (!(naddrs = count_arg("addrs", argv[1])))
				return 2;
		} else if (!strcmp(argv[0], "packets")) {
			if (!(packets = count_arg("packets", argv[1])))
				return 2;
		} else
			break;
	}
	if (argc || !ns || !dev || !dst_mac || !src || !pool || inet_addr(src) == INADDR_NONE ||
	    inet_addr(pool) == INADDR_NONE) {
		fprintf(stderr, "usage: xcgn-bench flood ns NS dev DEV dst-mac MAC src ADDR pool ADDR "
				"[addrs N] [packets N]\n");
		return 2;
	}
	g = bench_gen__open();
	if (!g)
		return 1;
	g->rodata->flood = 1;
	g->rodata->nsubs = naddrs;
	g->rodata->nports = 1;
	g->rodata->sub_base = ntohl(inet_addr(pool));
	if (bench_gen__load(g)) {
		fprintf(stderr, "flood: load generator: %s\n", strerror(errno));
		bench_gen__destroy(g);
		return 1;
	}
	err = 1;
	if (enter_ns(ns))
		goto out;
	gen_if = (int)if_nametoindex(dev);
	if (!gen_if || mac_of(dev, mac)) {
		fprintf(stderr, "flood: device %s\n", dev);
		goto out;
	}
	s.saddr = inet_addr(src);
	s.daddr = inet_addr(pool);
	len = pkt_build(pkt, sizeof(pkt), &s);
	if (len != 60 || sscanf(dst_mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &pkt[0], &pkt[1], &pkt[2],
				&pkt[3], &pkt[4], &pkt[5]) != 6) {
		fprintf(stderr, "flood: frame template (MAC %s)\n", dst_mac);
		goto out;
	}
	memcpy(pkt + 6, mac, 6);
	if (bpf_map_update_elem(bpf_map__fd(g->maps.gen_tmpl), &(__u32){ 0 }, pkt, 0))
		goto out;
	t0 = now_s();
	if (gen_send(g, gen_if, pkt, len, packets, "flood", &how))
		goto out;
	t1 = now_s();
	printf("flood: %u packets to %u pool addresses in %.3f s: %.3f Mpps (%s)\n", packets,
	       naddrs, t1 - t0, (double)packets / (t1 - t0) / 1e6, how);
	err = 0;
out:
	bench_gen__destroy(g);
	return err;
}

/* natlog N FILE QUESTIONS Q: a NAT log of N records, as the daemon writes
 * them, of a /26 of 252 blocks an address churning over half a year
 * (each block taken and given back in turn, by subscribers of a /14), and
 * Q questions about it ("ADDR:PORT TIME", log who batch's), at random. */
static int do_natlog(uint64_t n, const char *path, uint64_t q, const char *qpath)
{
	enum { ADDRS = 64, BLOCKS = 252, BS = 256 };
	static uint32_t held[ADDRS * BLOCKS];
	const uint64_t t0 = 1779235200000ULL, span = 180ULL * 86400 * 1000;	/* 2026-05-20 */
	FILE *f = fopen(path, "w"), *qf = fopen(qpath, "w");
	char line[512];
	uint64_t i;

	if (!f || !qf) {
		fprintf(stderr, "xcgn-bench natlog: %s: %s\n", f ? qpath : path, strerror(errno));
		return 1;
	}
	srandom(42);
	for (i = 0; i < n; i++) {
		uint32_t k = (uint32_t)random() % (ADDRS * BLOCKS);
		struct natlog_rec r = { .ts_ms = t0 + i * span / n };

		r.paddr = htonl(0xc6336400u + k / BLOCKS);	/* 198.51.100.0/26 */
		r.port_lo = (uint16_t)(1024 + (k % BLOCKS) * BS);
		r.port_hi = (uint16_t)(r.port_lo + BS - 1);
		if (held[k]) {
			r.event = "release";
			r.sub = held[k];
			held[k] = 0;
		} else {
			r.event = "alloc";
			r.sub = htonl(0x64400000u + ((uint32_t)random() & 0x3ffff));	/* 100.64.0.0/14 */
			held[k] = r.sub;
		}
		natlog_format(line, sizeof(line), &r);
		fputs(line, f);
		fputc('\n', f);
	}
	for (i = 0; i < q; i++) {
		uint64_t at = t0 + (uint64_t)random() % span;

		fprintf(qf, "198.51.100.%u:%u @%llu.%03llu\n", (unsigned int)(random() % ADDRS),
			1024 + (unsigned int)(random() % (BLOCKS * BS)),
			(unsigned long long)(at / 1000), (unsigned long long)(at % 1000));
	}
	if (fclose(f) || fclose(qf)) {
		fprintf(stderr, "xcgn-bench natlog: write: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "testrun")) {
		unsigned int repeat = 1000000;

		unsigned int runs = 5;
		int i;

		for (i = 2; i + 1 < argc; i += 2) {
			unsigned int *n = !strcmp(argv[i], "repeat") ? &repeat
					  : !strcmp(argv[i], "runs") ? &runs : NULL;

			if (!n || !(*n = count_arg(argv[i], argv[i + 1])))
				break;
		}
		if (i != argc || runs > RUNS_MAX) {
			fprintf(stderr, "usage: xcgn-bench testrun [repeat N] [runs 1-%d]\n", RUNS_MAX);
			return 2;
		}
		return do_testrun(repeat, runs);
	}
	if (argc >= 2 && !strcmp(argv[1], "testrun2")) {
		unsigned int runs = argc == 4 && !strcmp(argv[2], "runs") ? count_arg("runs", argv[3])
									  : argc == 2 ? 5 : 0;

		if (!runs || runs > RUNS_MAX) {
			fprintf(stderr, "usage: xcgn-bench testrun2 [runs 1-%d]\n", RUNS_MAX);
			return 2;
		}
		return do_testrun2(1000000, runs);
	}
	if (argc >= 2 && !strcmp(argv[1], "newflows")) {
		unsigned int runs = argc == 4 && !strcmp(argv[2], "runs") ? count_arg("runs", argv[3])
									  : argc == 2 ? 5 : 0;

		if (!runs || runs > RUNS_MAX) {
			fprintf(stderr, "usage: xcgn-bench newflows [runs 1-%d]\n", RUNS_MAX);
			return 2;
		}
		return do_newflows(runs);
	}
	if (argc >= 2 && !strcmp(argv[1], "flood"))
		return do_flood(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "fwd"))
		return do_fwd(argc - 2, argv + 2);
	if (argc == 6 && !strcmp(argv[1], "natlog") && !strcmp(argv[4], "questions"))
		return do_natlog(strtoull(argv[2], NULL, 10), argv[3], strtoull(argv[5], NULL, 10),
				 "/dev/stdout");
	fprintf(stderr, "usage: xcgn-bench { testrun [repeat N] [runs N] | testrun2 [runs N] |"
			" newflows [runs N] | fwd ... |"
			" flood ... | natlog N FILE questions Q }\n");
	return 2;
}
