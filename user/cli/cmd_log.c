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
#include <syslog.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cli/cli.h"

static int usage(void)
{
	fprintf(usage_fp(), "Usage: xcgn log who ADDR:PORT [at TIME] [file PATH]... [index PATH]\n"
			"       xcgn log who batch [file PATH]... [index PATH]\n"
			"       xcgn log index [file PATH]... [index PATH]\n"
			"       xcgn log help\n"
			"batch reads questions \"ADDR:PORT TIME\" from standard input, one a line,\n"
			"and answers each on a line of its own (an abuse desk's list); exit 1 when\n"
			"one of them has no answer.\n"
			"TIME := { YYYY-MM-DDTHH:MM:SS[.mmm][Z] | \"YYYY-MM-DD HH:MM:SS\" |\n"
			"         @UNIXSECONDS[.mmm] }, UTC.\n"
			"Without at, the answer comes from the live tables.\n"
			"Default file %s.\n"
			"file may be given again; a PATH that is a directory means every file in\n"
			"it, and one with * ? or [ is a pattern (quote it): the logs of a\n"
			"cluster's nodes answer together (each record names its node;\n"
			"deterministic pools answer from their binding records). Without file,\n"
			"the default log and its rotations beside it (%s-*, .gz or\n"
			"not) answer. Files compressed with gzip are read as they are.\n"
			"The answer comes from an index (SQLite), brought up to date with the\n"
			"logs first: without file, %s; with file, the\n"
			"one index names (none: read every record); only the logs read answer.\n"
			"index files what the logs hold that the index has not, and drops the\n"
			"records of files no longer among them (the rotation runs it). The text\n"
			"log stays the record: the index can be deleted and is built again.\n",
		XCGN_DEF_NATLOG, XCGN_DEF_NATLOG, XCGN_DEF_NATINDEX);
	return usage_status();
}

#define LOG_FILES_MAX 64

/* What is done with each log file: @fn on its path, 0 or an exit status
 * (said). */
struct log_each {
	int (*fn)(const char *path, void *ctx);
	void *ctx;
};

/* A file, or each regular file of a directory by name. */
static int log_path_each(const char *path, const struct log_each *e)
{
	struct dirent **ents = NULL;
	struct stat st;
	int k, nent, err = 0;

	if (stat(path, &st)) {
		xcgn_err("open NAT log %s: %s", path, strerror(errno));
		return XCGN_EXIT_ERR;
	}
	if (!S_ISDIR(st.st_mode))
		return e->fn(path, e->ctx);
	nent = scandir(path, &ents, NULL, alphasort);
	if (nent < 0) {
		xcgn_err("read directory %s: %s", path, strerror(errno));
		return XCGN_EXIT_ERR;
	}
	for (k = 0; k < nent; k++) {
		char file[PATH_MAX];

		snprintf(file, sizeof(file), "%s/%s", path, ents[k]->d_name);
		if (!err && !stat(file, &st) && S_ISREG(st.st_mode))	/* not ".", ".." */
			err = e->fn(file, e->ctx);
		free(ents[k]);
	}
	free(ents);
	return err;
}

/* Every log named: each PATH a file, a directory or a glob pattern
 * ("nat.log*": the live file and its rotated, compressed ones). Without
 * any, the default log and its rotations. 0, or an exit status with the
 * reason said. */
static int logs_each(const char *const *paths, int npaths, const struct log_each *e)
{
	int err = 0;

	if (!npaths) {
		/* The live log first: its absence is the error to report. */
		glob_t g;

		err = log_path_each(XCGN_DEF_NATLOG, e);
		if (!err && !glob(XCGN_DEF_NATLOG "[-.]*", 0, NULL, &g)) {
			for (size_t k = 0; !err && k < g.gl_pathc; k++)
				err = log_path_each(g.gl_pathv[k], e);
			globfree(&g);
		}
		return err;
	}
	for (int i = 0; !err && i < npaths; i++) {
		glob_t g;
		int gr;

		if (!strpbrk(paths[i], "*?[")) {
			err = log_path_each(paths[i], e);
			continue;
		}
		gr = glob(paths[i], 0, NULL, &g);
		if (gr) {
			xcgn_err("no NAT log matches %s", paths[i]);
			return XCGN_EXIT_ERR;
		}
		for (size_t k = 0; !err && k < g.gl_pathc; k++)
			err = log_path_each(g.gl_pathv[k], e);
		globfree(&g);
	}
	return err;
}

struct loaded {
	struct natlog_parsed *recs;
	size_t n;
};

/* The records of one file, plain or gzip, added to a struct loaded. */
static int log_file_load(const char *path, void *ctx)
{
	struct loaded *l = ctx;
	FILE *f = natlog_fopen(path);
	int err;

	if (!f) {
		xcgn_err("open NAT log %s: %s", path, strerror(errno));
		return XCGN_EXIT_ERR;
	}
	err = natlog_load(f, &l->recs, &l->n);
	fclose(f);
	if (err) {
		xcgn_err("read NAT log %s: %s", path, strerror(-err));
		return XCGN_EXIT_ERR;
	}
	return 0;
}

/* Every record of the logs named, into one list (a scan). */
static int logs_load(const char *const *paths, int npaths, struct natlog_parsed **recs,
		     size_t *n)
{
	struct loaded l = {};
	struct log_each e = { log_file_load, &l };
	int err = logs_each(paths, npaths, &e);

	*recs = l.recs;
	*n = l.n;
	return err;
}

struct indexed {
	struct natindex *x;
	uint64_t added;
	int files;
};

static int log_file_index(const char *path, void *ctx)
{
	struct indexed *ix = ctx;

	ix->files++;
	return natindex_update(ix->x, path, &ix->added) ? XCGN_EXIT_ERR : 0;
}

/* The index the question uses (`index PATH`, or by default the default
 * one for the default logs), brought up to date with the logs named: NULL
 * to scan instead (`index none`; the default one out of reach, said). *@rc
 * an exit status when a named index cannot be had. */
static struct natindex *index_for(const char *index, const char *const *paths, int npaths,
				  int *rc)
{
	struct indexed ix = {};
	struct log_each e = { log_file_index, &ix };
	bool dflt = !index;

	*rc = 0;
	if (index && !strcmp(index, "none"))
		return NULL;
	if (dflt) {
		if (npaths)
			return NULL;	/* other logs: an index of their own, if named */
		index = XCGN_DEF_NATINDEX;
		if (xcgn_mkdir_p("/var/lib/xcgn", 0750) || access("/var/lib/xcgn", W_OK)) {
			xcgn_logf(LOG_NOTICE, "xcgn: the NAT log index %s is out of reach (%s): "
					      "reading the whole log\n",
				  index, strerror(errno));
			return NULL;
		}
	}
	ix.x = natindex_open(index);
	if (!ix.x) {
		*rc = XCGN_EXIT_ERR;
		return NULL;
	}
	*rc = logs_each(paths, npaths, &e);
	if (*rc) {
		natindex_close(ix.x);
		return NULL;
	}
	return ix.x;
}

/* The records that answer @paddr:@port at @at: from the index, or the
 * list a scan loaded. */
static int who_records(struct natindex *x, const struct natlog_parsed *all, size_t nall,
		       uint32_t paddr, uint16_t port, uint64_t at, struct natlog_who *w)
{
	struct natlog_parsed *recs;
	size_t n;

	if (!x) {
		natlog_who_recs(all, nall, paddr, port, at, w);
		return 0;
	}
	if (natindex_records(x, paddr, port, at, &recs, &n))
		return XCGN_EXIT_ERR;
	natlog_who_recs(recs, n, paddr, port, at, w);
	free(recs);
	return 0;
}

/* `file PATH` (as often as given) or `index PATH` at @argv: 1 when it
 * was one (its value taken: skip one word more), 0 when not, -1 a usage
 * error (said). */
static int src_arg(int argc, char **argv, const char **files, int *nfiles, const char **index)
{
	bool file = !strcmp(*argv, "file");

	if (!file && strcmp(*argv, "index"))
		return 0;
	if (argc < 2) {
		xcgn_err("\"%s\" needs an argument", *argv);
		return -1;
	}
	if (!file) {
		*index = argv[1];
		return 1;
	}
	if (*nfiles == LOG_FILES_MAX) {
		xcgn_err("at most %d files", LOG_FILES_MAX);
		return -1;
	}
	files[(*nfiles)++] = argv[1];
	return 1;
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
	const char *index = NULL;
	struct natlog_parsed *recs = NULL;
	struct natindex *x;
	struct xcgn_maps m;
	struct natlog_who w;
	uint64_t at = 0;
	uint32_t paddr;
	uint16_t port;
	bool have_at = false;
	int found = 0, err, nfiles = 0, taken;
	size_t n = 0;

	if (argc < 1 || parse_addr_port(*argv, &paddr, &port))
		return argc < 1 ? usage() : invarg("public ADDR:PORT", *argv);
	for (argc--, argv++; argc > 0; argc--, argv++) {
		if (!strcmp(*argv, "at")) {
			NEXT_ARG();
			if (parse_time_ms(*argv, &at))
				return invarg("time", *argv);
			have_at = true;
		} else if ((taken = src_arg(argc, argv, files, &nfiles, &index))) {
			if (taken < 0)
				return XCGN_EXIT_USAGE;
			argc--;
			argv++;
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
	x = index_for(index, files, nfiles, &err);
	if (!x && !err)
		err = logs_load(files, nfiles, &recs, &n);
	if (!err)
		err = who_records(x, recs, n, paddr, port, at, &w);
	natindex_close(x);
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
	const char *files[LOG_FILES_MAX] = { XCGN_DEF_NATLOG }, *index = NULL;
	struct natlog_parsed *recs = NULL;
	struct natindex *x;
	char line[256], ep[64], when[64];
	size_t n = 0;
	int rc = XCGN_EXIT_OK, nfiles = 0, taken;

	for (; argc > 0; argc--, argv++) {
		if ((taken = src_arg(argc, argv, files, &nfiles, &index))) {
			if (taken < 0)
				return XCGN_EXIT_USAGE;
			argc--;
			argv++;
		} else {
			xcgn_err("unknown argument \"%s\" to log who batch", *argv);
			return XCGN_EXIT_USAGE;
		}
	}
	x = index_for(index, files, nfiles, &rc);
	if (!x && !rc)
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
		if (who_records(x, recs, n, paddr, port, at, &w)) {
			rc = XCGN_EXIT_ERR;
			break;
		}
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
	natindex_close(x);
	free(recs);
	return rc;
}

/* log index [file PATH]... [index PATH]: the index brought up to date
 * (logrotate's postrotate, a cron job), what it filed said. */
static int do_log_index(struct cmd *cmd __unused, int argc, char **argv)
{
	const char *files[LOG_FILES_MAX] = { XCGN_DEF_NATLOG }, *index = XCGN_DEF_NATINDEX;
	struct indexed ix = {};
	struct log_each e = { log_file_index, &ix };
	uint64_t dropped = 0;
	int nfiles = 0, rc, taken;

	for (; argc > 0; argc--, argv++) {
		if ((taken = src_arg(argc, argv, files, &nfiles, &index))) {
			if (taken < 0)
				return XCGN_EXIT_USAGE;
			argc--;
			argv++;
		} else {
			xcgn_err("unknown argument \"%s\" to log index", *argv);
			return XCGN_EXIT_USAGE;
		}
	}
	if (!strcmp(index, XCGN_DEF_NATINDEX) && xcgn_mkdir_p("/var/lib/xcgn", 0750)) {
		xcgn_err("create /var/lib/xcgn: %s", strerror(errno));
		return XCGN_EXIT_ERR;
	}
	ix.x = natindex_open(index);
	if (!ix.x)
		return XCGN_EXIT_ERR;
	rc = logs_each(files, nfiles, &e);
	/* What the logs no longer hold (a rotation deleted) answers no more. */
	if (!rc && natindex_prune(ix.x, &dropped))
		rc = XCGN_EXIT_ERR;
	natindex_close(ix.x);
	if (!rc) {
		print_open_object(NULL);
		print_string(PRINT_ANY, "index", "%s", index);
		print_u64(PRINT_ANY, "added", ": %llu record(s) added", ix.added);
		print_u64(PRINT_ANY, "files", " from %llu file(s)", (uint64_t)ix.files);
		print_u64(PRINT_ANY, "dropped", ", %llu of files gone dropped", dropped);
		print_nl();
		print_close_object();
	}
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
		{ "index", do_log_index, CMD_OPEN },
		{ NULL, NULL, 0 },
	},
};
