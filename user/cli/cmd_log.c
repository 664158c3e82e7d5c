// SPDX-License-Identifier: GPL-2.0
/* xcgn log { who ADDR:PORT [at TIME] [file PATH] | help }
 *
 * Who held a public address and port: for "now", from the live tables; for
 * a time, from the NAT log; for a deterministic pool, by arithmetic. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <glob.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cli/cli.h"

static int usage(void)
{
	fprintf(usage_fp(), "Usage: xcgn log who ADDR:PORT [at TIME] [file PATH]...\n"
			"       xcgn log who batch [file PATH]...\n"
			"       xcgn log help\n"
			"batch reads questions \"ADDR:PORT TIME\" from standard input, one a line,\n"
			"and answers each on a line of its own (an abuse desk's list); exit 1 when\n"
			"one of them has no answer.\n"
			"TIME := { YYYY-MM-DDTHH:MM:SS[Z] | \"YYYY-MM-DD HH:MM:SS\" | @UNIXSECONDS[.mmm] }, UTC.\n"
			"Without at, the answer comes from the live tables. Default file %s.\n"
			"file may be given again; a PATH that is a directory means every file in\n"
			"it, and one with * ? or [ is a pattern (quote it): the logs of a\n"
			"cluster's nodes answer together (each record names its node;\n"
			"deterministic pools answer from their binding records). Without file,\n"
			"the default log and its rotations beside it (%s-*, .gz or\n"
			"not) answer. Files compressed with gzip are read as they are.\n",
		XCGN_DEF_NATLOG, XCGN_DEF_NATLOG);
	return usage_status();
}

#define LOG_FILES_MAX 64

/* The records of one file, plain or gzip: 0, or an exit status (said). */
static int log_file_load(const char *path, struct natlog_parsed **recs, size_t *n)
{
	FILE *f = natlog_fopen(path);
	int err;

	if (!f) {
		xcgn_err("open NAT log %s: %s", path, strerror(errno));
		return XCGN_EXIT_ERR;
	}
	err = natlog_load(f, recs, n);
	fclose(f);
	if (err) {
		xcgn_err("read NAT log %s: %s", path, strerror(-err));
		return XCGN_EXIT_ERR;
	}
	return 0;
}

/* A file, or each regular file of a directory by name. */
static int log_path_load(const char *path, struct natlog_parsed **recs, size_t *n)
{
	struct dirent **ents = NULL;
	struct stat st;
	int k, nent, err = 0;

	if (stat(path, &st)) {
		xcgn_err("open NAT log %s: %s", path, strerror(errno));
		return XCGN_EXIT_ERR;
	}
	if (!S_ISDIR(st.st_mode))
		return log_file_load(path, recs, n);
	nent = scandir(path, &ents, NULL, alphasort);
	if (nent < 0) {
		xcgn_err("read directory %s: %s", path, strerror(errno));
		return XCGN_EXIT_ERR;
	}
	for (k = 0; k < nent; k++) {
		char file[PATH_MAX];

		snprintf(file, sizeof(file), "%s/%s", path, ents[k]->d_name);
		if (!err && !stat(file, &st) && S_ISREG(st.st_mode))	/* not ".", ".." */
			err = log_file_load(file, recs, n);
		free(ents[k]);
	}
	free(ents);
	return err;
}

/* The records of every log named, into one list: each PATH a file, a
 * directory or a glob pattern ("nat.log*": the live file and its rotated,
 * compressed ones). Without any, the default log and its rotations. 0, or
 * an exit status with the reason said. */
static int logs_load(const char *const *paths, int npaths, struct natlog_parsed **recs,
		     size_t *n)
{
	int err = 0;

	*recs = NULL;
	*n = 0;
	if (!npaths) {
		/* The live log first: its absence is the error to report. */
		glob_t g;

		err = log_path_load(XCGN_DEF_NATLOG, recs, n);
		if (!err && !glob(XCGN_DEF_NATLOG "[-.]*", 0, NULL, &g)) {
			for (size_t k = 0; !err && k < g.gl_pathc; k++)
				err = log_path_load(g.gl_pathv[k], recs, n);
			globfree(&g);
		}
		return err;
	}
	for (int i = 0; !err && i < npaths; i++) {
		glob_t g;
		int gr;

		if (!strpbrk(paths[i], "*?[")) {
			err = log_path_load(paths[i], recs, n);
			continue;
		}
		gr = glob(paths[i], 0, NULL, &g);
		if (gr) {
			xcgn_err("no NAT log matches %s", paths[i]);
			return XCGN_EXIT_ERR;
		}
		for (size_t k = 0; !err && k < g.gl_pathc; k++)
			err = log_path_load(g.gl_pathv[k], recs, n);
		globfree(&g);
	}
	return err;
}

/* file PATH, as often as given: 0, or a usage exit status. */
static int file_arg(const char **paths, int *npaths, const char *path)
{
	if (*npaths == LOG_FILES_MAX) {
		xcgn_err("at most %d files", LOG_FILES_MAX);
		return XCGN_EXIT_USAGE;
	}
	paths[(*npaths)++] = path;
	return 0;
}

static void print_ms(const char *key, const char *fmt, uint64_t ms)
{
	char buf[32];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	print_string(PRINT_ANY, key, fmt, buf);
}

static void print_answer(const char *source, uint32_t paddr, uint16_t port, uint32_t sub,
			 uint16_t lo, uint16_t hi)
{
	print_ipv4(PRINT_ANY, "public", "%s", paddr);
	print_u64(PRINT_ANY, "port", ":%llu", port);
	print_ipv4(PRINT_ANY, "subscriber", " held by %s", sub);
	print_u64(PRINT_ANY, "port_lo", " (block %llu", lo);
	print_u64(PRINT_ANY, "port_hi", "-%llu", hi);
	print_string(PRINT_ANY, "source", ", from the %s)", source);
}

/* A port the subscriber asked for (PCP, NAT-PMP): its inside port. */
static void print_pcp(const struct natlog_who *w)
{
	if (!w->pcp)
		return;
	print_open_object("pcp");
	print_string(PRINT_ANY, "via", "; mapped by %s", w->via);
	print_u64(PRINT_ANY, "inside_port", " to inside port %llu", w->inside_port);
	print_ms("since", " since %s", w->pcp_since_ms);
	print_close_object();
}

/* A deterministic pool answers by arithmetic, at any time. */
static int who_deterministic(const struct xcgn_maps *m, uint32_t paddr, uint16_t port)
{
	struct xcgn_pool p;
	uint32_t id, sub, pa;
	uint16_t lo, hi;

	for (id = 0; id < xcgn_npools(m); id++) {
		if (bpf_map_lookup_elem(m->pools, &id, &p) || !(p.flags & XCGN_POOLF_ACTIVE) ||
		    !(p.flags & XCGN_POOLF_DETERMINISTIC) ||
		    !prefix_overlap(paddr, 32, p.prefix, p.plen))
			continue;
		if (det_reverse(&p, paddr, port, &sub) || det_forward(&p, sub, &pa, &lo, &hi))
			return 0;
		print_open_object(NULL);
		print_answer("deterministic arithmetic", paddr, port, sub, lo, hi);
		print_nl();
		print_close_object();
		return 1;
	}
	return 0;
}

/* The port held by a PCP or NAT-PMP lifetime now (TCP or UDP). */
static void who_live_pcp(const struct xcgn_maps *m, uint32_t paddr, uint16_t port)
{
	static const __u8 protos[] = { 6, 17 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(protos); i++) {
		struct xcgn_tuple4 rk = { .addr = paddr, .port = htons(port), .proto = protos[i] }, k;
		struct xcgn_rev4 r;
		struct xcgn_pcp e;

		if (bpf_map_lookup_elem(m->rev4, &rk, &r))
			continue;
		k = (struct xcgn_tuple4){ .addr = r.saddr, .port = r.sport, .proto = protos[i] };
		if (bpf_map_lookup_elem(m->pcp, &k, &e))
			continue;
		print_open_object("pcp");
		print_string(PRINT_ANY, "via", "; mapped by %s", xcgn_pcp_opname(e.opcode));
		print_string(PRINT_ANY, "proto", " (%s", xcgn_proto_name(protos[i]));
		print_u64(PRINT_ANY, "inside_port", ") to inside port %llu", ntohs(r.sport));
		print_u64(PRINT_ANY, "lifetime_s", ", lifetime %llu s", e.lifetime_s);
		print_close_object();
		return;
	}
}

static int who_live(const struct xcgn_maps *m, uint32_t paddr, uint16_t port)
{
	__be32 key, *prev = NULL;
	struct xcgn_sub s;
	struct xcgn_pool p;
	int i;

	while (!bpf_map_get_next_key(m->subs, prev, &key)) {
		__u32 id;

		prev = &key;
		if (bpf_map_lookup_elem(m->subs, &key, &s) || s.paddr != paddr)
			continue;
		id = s.pool_id;
		if (bpf_map_lookup_elem(m->pools, &id, &p))
			continue;
		for (i = 0; i < XCGN_SUB_BLOCKS_MAX; i++) {
			uint32_t lo = p.port_lo + (s.blocks[i] - 1) * p.block_size;

			if (!s.blocks[i] || port < lo || port > lo + p.block_size - 1)
				continue;
			print_open_object(NULL);
			print_answer("live tables", paddr, port, key, (uint16_t)lo,
				     (uint16_t)(lo + p.block_size - 1));
			who_live_pcp(m, paddr, port);
			print_nl();
			print_close_object();
			return 1;
		}
	}
	return 0;
}

static bool attached_here(void)
{
	char dir[256];

	return !xcgn_pin_dir(dir, sizeof(dir)) && xcgn_attached_here(dir);
}

static void print_node(uint32_t node)
{
	if (node)
		print_u64(PRINT_ANY, "node", " on node %llu", node);
}

static int log_who(int argc, char **argv)
{
	const char *files[LOG_FILES_MAX] = { XCGN_DEF_NATLOG }, *what = argc > 0 ? *argv : "";
	struct natlog_parsed *recs;
	struct xcgn_maps m;
	struct natlog_who w;
	uint64_t at = 0;
	uint32_t paddr;
	uint16_t port;
	bool have_at = false;
	int found = 0, err, nfiles = 0;
	size_t n;

	if (argc < 1 || parse_addr_port(*argv, &paddr, &port))
		return argc < 1 ? usage() : invarg("public ADDR:PORT", *argv);
	for (argc--, argv++; argc > 0; argc--, argv++) {
		if (!strcmp(*argv, "at")) {
			NEXT_ARG();
			if (parse_time_ms(*argv, &at))
				return invarg("time", *argv);
			have_at = true;
		} else if (!strcmp(*argv, "file")) {
			NEXT_ARG();
			if (file_arg(files, &nfiles, *argv))
				return XCGN_EXIT_USAGE;
		} else {
			xcgn_err("unknown argument \"%s\" to log who", *argv);
			return XCGN_EXIT_USAGE;
		}
	}
	/* Deterministic pools and the live tables need the running instance;
	 * the log alone answers for the past without it (a cluster's logs,
	 * read anywhere: nothing attached there is no error). */
	if ((!have_at || (geteuid() == 0 && attached_here())) && !xcgn_maps_open(&m)) {
		found = who_deterministic(&m, paddr, port);
		if (!found && !have_at)
			found = who_live(&m, paddr, port);
		xcgn_maps_close(&m);
	} else if (!have_at) {
		return XCGN_EXIT_ERR;
	}
	if (found)
		return XCGN_EXIT_OK;
	if (!have_at) {
		xcgn_err("nobody holds %s now", what);
		return XCGN_EXIT_ERR;
	}
	err = logs_load(files, nfiles, &recs, &n);
	if (!err)
		natlog_who_recs(recs, n, paddr, port, at, &w);
	free(recs);
	if (err)
		return err;
	if (!w.found) {
		xcgn_err("nobody held %s at that time according to %s%s", what, files[0],
			 nfiles > 1 ? " and the other logs" : "");
		return XCGN_EXIT_ERR;
	}
	print_open_object(NULL);
	print_answer(w.deterministic ? "NAT log, deterministic arithmetic" : "NAT log", paddr,
		     port, w.sub, w.port_lo, w.port_hi);
	print_ms("since", ", since %s", w.since_ms);
	print_node(w.node);
	print_pcp(&w);
	print_nl();
	print_close_object();
	return XCGN_EXIT_OK;
}

/* Many questions against one reading of the log. */
static int do_log_who_batch(struct cmd *cmd __unused, int argc, char **argv)
{
	const char *files[LOG_FILES_MAX] = { XCGN_DEF_NATLOG };
	struct natlog_parsed *recs = NULL;
	char line[256], ep[64], when[64];
	size_t n = 0;
	int rc = XCGN_EXIT_OK, nfiles = 0;

	for (; argc > 0; argc--, argv++) {
		if (!strcmp(*argv, "file")) {
			NEXT_ARG();
			if (file_arg(files, &nfiles, *argv))
				return XCGN_EXIT_USAGE;
		} else {
			xcgn_err("unknown argument \"%s\" to log who batch", *argv);
			return XCGN_EXIT_USAGE;
		}
	}
	rc = logs_load(files, nfiles, &recs, &n);
	if (rc) {
		free(recs);
		return rc;
	}
	print_open_array(NULL);
	while (fgets(line, sizeof(line), stdin)) {
		struct natlog_who w;
		uint32_t paddr;
		uint16_t port;
		uint64_t at;

		if (sscanf(line, "%63s %63s", ep, when) != 2 || parse_addr_port(ep, &paddr, &port) ||
		    parse_time_ms(when, &at)) {
			xcgn_err("not a question (ADDR:PORT TIME): %s", line);
			rc = XCGN_EXIT_USAGE;
			break;
		}
		natlog_who_recs(recs, n, paddr, port, at, &w);
		print_open_object(NULL);
		print_string(PRINT_ANY, "question", "%s", ep);
		print_string(PRINT_ANY, "at", " at %s:", when);
		if (w.found) {
			print_ipv4(PRINT_ANY, "subscriber", " %s", w.sub);
			print_u64(PRINT_ANY, "port_lo", " (block %llu", w.port_lo);
			print_u64(PRINT_ANY, "port_hi", "-%llu", w.port_hi);
			print_ms("since", ", since %s", w.since_ms);
			print_node(w.node);
			print_pcp(&w);
			print_string(PRINT_FP, NULL, "%s", ")");
		} else {
			print_string(PRINT_ANY, "subscriber", " %s", "nobody");
			rc = XCGN_EXIT_ERR;
		}
		print_nl();
		print_close_object();
	}
	print_close_array();
	free(recs);
	return rc;
}

/* log who ADDR:PORT ..., or log who batch ... */
static int do_log_who(struct cmd *cmd, int argc, char **argv)
{
	if (argc > 0 && !strcmp(argv[0], "batch"))
		return do_log_who_batch(cmd, argc - 1, argv + 1);
	return log_who(argc, argv);
}

const struct xcgn_object xcgn_obj_log = {
	.name = "log",
	.usage = usage,
	.cmds = (const struct xcgn_cmd[]){
		{ "who", do_log_who, CMD_OPEN },
		{ NULL, NULL, 0 },
	},
};
