// SPDX-License-Identifier: GPL-2.0
/* xcgn session { show | help } */
#include <arpa/inet.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "xcgn.h"

static int usage(void)
{
	fprintf(usage_fp(), "Usage: xcgn session show\n"
			"       xcgn session help\n");
	return usage_status();
}

/* The datapath stamps with bpf_ktime_get_coarse_ns(): CLOCK_MONOTONIC. */
static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t secs_since(uint64_t now, uint64_t then)
{
	return now > then ? (now - then) / 1000000000ULL : 0;
}

static int do_session_show(void)
{
	struct xcgn_tuple4 key, *prev = NULL;
	struct xcgn_map4 v;
	struct xcgn_maps m;
	uint64_t now = mono_ns(), n = 0;

	if (xcgn_maps_open(&m))
		return XCGN_EXIT_ERR;
	print_open_array(NULL);
	while (!bpf_map_get_next_key(m.map4, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(m.map4, &key, &v))
			continue;	/* gone meanwhile */
		n++;
		print_open_object(NULL);
		print_string(PRINT_ANY, "proto", "%-4s", xcgn_proto_name(key.proto));
		print_ipv4(PRINT_ANY, "inside_addr", " %s", key.addr);
		print_u64(PRINT_ANY, "inside_port", ":%llu", ntohs(key.port));
		print_ipv4(PRINT_ANY, "public_addr", " -> %s", v.paddr);
		print_u64(PRINT_ANY, "public_port", ":%llu", ntohs(v.pport));
		print_u64(PRINT_ANY, "age_s", "  age %llus", secs_since(now, v.created_ns));
		print_u64(PRINT_ANY, "idle_s", "  idle %llus", secs_since(now, v.out_seen_ns));
		if (key.proto == 6)
			print_string(PRINT_ANY, "tcp_state", "  %s",
				     xcgn_tcp_established(v.tcp) ? "established" : "transitory");
		print_nl();
		print_close_object();
	}
	print_close_array();
	print_text("%llu mapping(s)\n", (unsigned long long)n);
	xcgn_maps_close(&m);
	return XCGN_EXIT_OK;
}

int do_session(int argc, char **argv)
{
	if (argc < 1 || !strcmp(*argv, "help"))
		return usage();
	if (argc > 1) {
		xcgn_err("unexpected argument \"%s\"", argv[1]);
		return usage();
	}
	if (!strcmp(*argv, "show"))
		return do_session_show();
	xcgn_err("unknown command \"%s\" for session", *argv);
	return usage();
}
