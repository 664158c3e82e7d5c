// SPDX-License-Identifier: GPL-2.0
/* The NAT log's index: `xcgn log who` answers from it instead of reading
 * every record. The text log stays the record; the index is what it says,
 * in SQLite (a well-kept embedded store: one file, transactions, B-trees,
 * no server), and can always be built again from it.
 *
 * Each record of a block (or a PCP port) is filed under its public
 * address and each 256-port bucket its range touches, by time: a
 * question reads, newest first, the records of its address's bucket at or
 * before its time until the allocation that answers it, and hands those
 * (with every deterministic binding) to the same rule a scan uses
 * (natlog_who_recs). So a question costs a few rows whatever the size of
 * the log.
 *
 * Files are known by their first line (a rotated file, renamed or
 * compressed, is the same file), and how far into them the index has
 * read; a file whose size and inode did not change since is not opened
 * at all. Each question first brings the index up to date with the files
 * it names (only what they gained), so it is never stale, and reads only
 * the records of those files: a rotation logrotate has deleted answers no
 * more (`log index` then drops its records), as a scan would not read it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "sinks/sinks.h"

#define BUCKET_SHIFT	8	/* 256 ports a bucket */

struct natindex {
	sqlite3 *db;
	sqlite3_stmt *ins_rec, *ins_cover, *get_src, *put_src, *get_file, *put_file,
		*q_bucket, *q_det, *put_cur;
	int64_t head;		/* the file being filed */
	char path[512];
};

static const char schema[] =
	"PRAGMA journal_mode = WAL;"
	"PRAGMA synchronous = NORMAL;"
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);"
	"INSERT OR IGNORE INTO meta VALUES ('format', '1');"
	/* One row a record, as natlog_parse reads it. */
	"CREATE TABLE IF NOT EXISTS rec (id INTEGER PRIMARY KEY, ts_ms INTEGER, event TEXT,"
	" sub INTEGER, paddr INTEGER, port_lo INTEGER, port_hi INTEGER, node INTEGER,"
	" inside_port INTEGER, proto INTEGER, via TEXT, plen INTEGER, det_plen INTEGER,"
	" block_size INTEGER, blocks INTEGER, src INTEGER);"
	"CREATE INDEX IF NOT EXISTS rec_det ON rec (block_size) WHERE block_size > 0;"
	/* The buckets a record's ports touch. */
	"CREATE TABLE IF NOT EXISTS cover (paddr INTEGER, bucket INTEGER, ts_ms INTEGER,"
	" rid INTEGER, PRIMARY KEY (paddr, bucket, ts_ms, rid)) WITHOUT ROWID;"
	/* A log file, by its first line: how many bytes of it are in. */
	"CREATE TABLE IF NOT EXISTS src (head INTEGER PRIMARY KEY, bytes INTEGER);"
	/* A path as last seen, to leave an unchanged file unopened. */
	"CREATE TABLE IF NOT EXISTS file (path TEXT PRIMARY KEY, dev INTEGER, ino INTEGER,"
	" size INTEGER, mtime_ns INTEGER, head INTEGER);"
	/* The files this question reads: only their records answer. */
	"CREATE TEMP TABLE cur (head INTEGER PRIMARY KEY);";

static const char rec_cols[] =
	"r.ts_ms, r.event, r.sub, r.paddr, r.port_lo, r.port_hi, r.node, r.inside_port,"
	" r.proto, r.via, r.plen, r.det_plen, r.block_size, r.blocks";

static int db_err(struct natindex *x, const char *what)
{
	xcgn_err("NAT log index %s: %s: %s", x->path, what, sqlite3_errmsg(x->db));
	return -EIO;
}

static int prepare(struct natindex *x, sqlite3_stmt **st, const char *sql)
{
	return sqlite3_prepare_v2(x->db, sql, -1, st, NULL) == SQLITE_OK ? 0 : db_err(x, sql);
}

struct natindex *natindex_open(const char *path)
{
	struct natindex *x = calloc(1, sizeof(*x));
	char q1[512], q2[512];
	int err;

	if (!x) {
		xcgn_err("NAT log index: out of memory");
		return NULL;
	}
	snprintf(x->path, sizeof(x->path), "%s", path);
	if (sqlite3_open_v2(path, &x->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		db_err(x, "open");
		natindex_close(x);
		return NULL;
	}
	sqlite3_busy_timeout(x->db, 10000);	/* another `log who` updating it */
	if (sqlite3_exec(x->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		db_err(x, "create");
		natindex_close(x);
		return NULL;
	}
	snprintf(q1, sizeof(q1),
		 "SELECT %s FROM cover c JOIN rec r ON r.id = c.rid WHERE c.paddr = ?1 AND"
		 " c.bucket = ?2 AND c.ts_ms <= ?3 AND r.src IN (SELECT head FROM cur)"
		 " ORDER BY c.ts_ms DESC, c.rid DESC",
		 rec_cols);
	snprintf(q2, sizeof(q2),
		 "SELECT %s FROM rec r WHERE r.block_size > 0 AND r.src IN (SELECT head FROM cur)"
		 " ORDER BY r.id",
		 rec_cols);
	err = prepare(x, &x->ins_rec,
		      "INSERT INTO rec (ts_ms, event, sub, paddr, port_lo, port_hi, node,"
		      " inside_port, proto, via, plen, det_plen, block_size, blocks, src)"
		      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)") ||
	      prepare(x, &x->ins_cover, "INSERT OR IGNORE INTO cover VALUES (?, ?, ?, ?)") ||
	      prepare(x, &x->get_src, "SELECT bytes FROM src WHERE head = ?") ||
	      prepare(x, &x->put_src, "INSERT OR REPLACE INTO src VALUES (?, ?)") ||
	      prepare(x, &x->get_file,
		      "SELECT head FROM file WHERE path = ? AND dev = ? AND ino = ? AND size = ? AND"
		      " mtime_ns = ?") ||
	      prepare(x, &x->put_cur, "INSERT OR IGNORE INTO cur VALUES (?)") ||
	      prepare(x, &x->put_file, "INSERT OR REPLACE INTO file VALUES (?, ?, ?, ?, ?, ?)") ||
	      prepare(x, &x->q_bucket, q1) || prepare(x, &x->q_det, q2);
	if (err) {
		natindex_close(x);
		return NULL;
	}
	return x;
}

void natindex_close(struct natindex *x)
{
	if (!x)
		return;
	sqlite3_finalize(x->ins_rec);
	sqlite3_finalize(x->ins_cover);
	sqlite3_finalize(x->get_src);
	sqlite3_finalize(x->put_src);
	sqlite3_finalize(x->get_file);
	sqlite3_finalize(x->put_file);
	sqlite3_finalize(x->q_bucket);
	sqlite3_finalize(x->q_det);
	sqlite3_finalize(x->put_cur);
	sqlite3_close(x->db);
	free(x);
}

/* FNV-1a of a file's first line: its name in the index (63 bits: an
 * SQLite integer). */
static int64_t head_of(const char *line)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *line; line++)
		h = (h ^ (unsigned char)*line) * 0x100000001b3ULL;
	return (int64_t)(h >> 1);
}

static int step_done(struct natindex *x, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_err(x, what);
}

static int rec_insert(struct natindex *x, const struct natlog_parsed *r)
{
	sqlite3_stmt *s = x->ins_rec;
	int64_t id;
	int i = 1;

	sqlite3_bind_int64(s, i++, (int64_t)r->ts_ms);
	sqlite3_bind_text(s, i++, r->event, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, i++, r->sub);
	sqlite3_bind_int64(s, i++, r->paddr);
	sqlite3_bind_int(s, i++, r->port_lo);
	sqlite3_bind_int(s, i++, r->port_hi);
	sqlite3_bind_int64(s, i++, r->node);
	sqlite3_bind_int(s, i++, r->inside_port);
	sqlite3_bind_int(s, i++, r->proto);
	sqlite3_bind_text(s, i++, r->via, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, i++, r->plen);
	sqlite3_bind_int(s, i++, r->det_plen);
	sqlite3_bind_int(s, i++, r->block_size);
	sqlite3_bind_int(s, i++, r->blocks);
	sqlite3_bind_int64(s, i++, x->head);
	if (step_done(x, s, "insert a record"))
		return -EIO;
	if (r->block_size)	/* a deterministic binding: read whole, always */
		return 0;
	id = sqlite3_last_insert_rowid(x->db);
	for (uint32_t b = r->port_lo >> BUCKET_SHIFT; b <= (uint32_t)r->port_hi >> BUCKET_SHIFT; b++) {
		sqlite3_bind_int64(x->ins_cover, 1, r->paddr);
		sqlite3_bind_int(x->ins_cover, 2, (int)b);
		sqlite3_bind_int64(x->ins_cover, 3, (int64_t)r->ts_ms);
		sqlite3_bind_int64(x->ins_cover, 4, id);
		if (step_done(x, x->ins_cover, "insert a bucket"))
			return -EIO;
	}
	return 0;
}

/* The records of @f past its first @skip bytes (lines whole: a line the
 * daemon is still writing waits for the next update; a line that does
 * not parse, a NUL-filled tail after a crash say, is passed over, as the
 * scan passes over it); *@bytes where the index is then, *@added the
 * records filed. @first: the first line, read already. */
static int file_ingest(struct natindex *x, FILE *f, const char *first, int64_t skip, int64_t *bytes,
		       uint64_t *added)
{
	char *line = strdup(first);
	ssize_t len = line ? (ssize_t)strlen(line) : -1;
	size_t cap = (size_t)len + 1;	/* the buffer getline may grow (0: it would leak it) */
	int64_t at = 0;
	int err = 0;

	if (!line)
		return -ENOMEM;
	/* A plain file seeks past what the index has; a compressed one
	 * reads through it. */
	if (skip > len && !fseeko(f, skip, SEEK_SET)) {
		at = skip;
		free(line);
		line = NULL;
		len = getline(&line, &cap, f);
	}
	for (; len > 0; len = getline(&line, &cap, f)) {
		struct natlog_parsed r;

		if (line[len - 1] != '\n')
			break;	/* unfinished */
		at += len;
		if (at <= skip || (ssize_t)strlen(line) != len || natlog_parse(line, &r) || !r.paddr)
			continue;	/* in already; not a record; refusals name no block */
		if (rec_insert(x, &r)) {
			err = -EIO;
			break;
		}
		(*added)++;
	}
	free(line);
	if (!err && ferror(f))
		err = -EIO;
	*bytes = at > skip ? at : skip;
	return err;
}

static int head_current(struct natindex *x, int64_t head)
{
	sqlite3_bind_int64(x->put_cur, 1, head);
	return step_done(x, x->put_cur, "note the file read");
}

/* natindex_update's work, inside its transaction. */
static int update_locked(struct natindex *x, const char *path, const struct stat *st,
			 uint64_t *added)
{
	int64_t skip = 0, bytes, mtime = (int64_t)st->st_mtim.tv_sec * 1000000000LL +
					  st->st_mtim.tv_nsec;
	char *first = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;
	int err;

	sqlite3_bind_text(x->get_file, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(x->get_file, 2, (int64_t)st->st_dev);
	sqlite3_bind_int64(x->get_file, 3, (int64_t)st->st_ino);
	sqlite3_bind_int64(x->get_file, 4, (int64_t)st->st_size);
	sqlite3_bind_int64(x->get_file, 5, mtime);
	err = sqlite3_step(x->get_file);
	x->head = err == SQLITE_ROW ? sqlite3_column_int64(x->get_file, 0) : 0;
	sqlite3_reset(x->get_file);
	if (err == SQLITE_ROW)	/* as it was: nothing new, and it answers */
		return head_current(x, x->head);
	f = natlog_fopen(path);
	if (!f) {
		err = -errno;
		xcgn_err("open NAT log %s: %s", path, strerror(errno));
		return err;
	}
	len = getline(&first, &cap, f);
	if (len <= 0 || first[len - 1] != '\n') {
		free(first);
		fclose(f);
		return 0;	/* no whole line yet: nothing to file it under */
	}
	x->head = head_of(first);
	sqlite3_bind_int64(x->get_src, 1, x->head);
	if (sqlite3_step(x->get_src) == SQLITE_ROW)
		skip = sqlite3_column_int64(x->get_src, 0);
	sqlite3_reset(x->get_src);
	err = file_ingest(x, f, first, skip, &bytes, added);
	free(first);
	fclose(f);
	if (err == -EIO && sqlite3_errcode(x->db) == SQLITE_OK)
		xcgn_err("read NAT log %s: %s", path, strerror(EIO));
	if (err)
		return err;
	sqlite3_bind_int64(x->put_src, 1, x->head);
	sqlite3_bind_int64(x->put_src, 2, bytes);
	sqlite3_bind_text(x->put_file, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(x->put_file, 2, (int64_t)st->st_dev);
	sqlite3_bind_int64(x->put_file, 3, (int64_t)st->st_ino);
	sqlite3_bind_int64(x->put_file, 4, (int64_t)st->st_size);
	sqlite3_bind_int64(x->put_file, 5, mtime);
	sqlite3_bind_int64(x->put_file, 6, x->head);
	return step_done(x, x->put_src, "note the file") ||
	       step_done(x, x->put_file, "note the path") || head_current(x, x->head) ? -EIO : 0;
}

int natindex_update(struct natindex *x, const char *path, uint64_t *added)
{
	struct stat st;
	int err;

	if (stat(path, &st)) {
		err = -errno;
		xcgn_err("open NAT log %s: %s", path, strerror(errno));
		return err;
	}
	/* IMMEDIATE: the reads that decide what to file are in the same
	 * transaction as the filing, so two updates (a question and the
	 * rotation's `log index`) never file the same lines twice. */
	if (sqlite3_exec(x->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_err(x, "begin");
	err = update_locked(x, path, &st, added);
	if (sqlite3_exec(x->db, err ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK && !err)
		err = db_err(x, "commit");
	return err;
}

int natindex_prune(struct natindex *x, uint64_t *dropped)
{
	static const char *const steps[] = {
		"DELETE FROM rec WHERE src NOT IN (SELECT head FROM cur)",
		"DELETE FROM cover WHERE rid NOT IN (SELECT id FROM rec)",
		"DELETE FROM src WHERE head NOT IN (SELECT head FROM cur)",
		"DELETE FROM file WHERE head NOT IN (SELECT head FROM cur)",
	};
	int err = 0;

	*dropped = 0;
	if (sqlite3_exec(x->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_err(x, "begin");
	for (size_t i = 0; !err && i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (i == 1 && !*dropped)
			continue;	/* nothing went: no walk of every bucket */
		if (sqlite3_exec(x->db, steps[i], NULL, NULL, NULL) != SQLITE_OK)
			err = db_err(x, "prune");
		else if (i == 0)
			*dropped = (uint64_t)sqlite3_changes(x->db);
	}
	if (sqlite3_exec(x->db, err ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK && !err)
		err = db_err(x, "commit");
	return err;
}

/* The rows of @s into *@out; with @to_alloc, newest first, only down to
 * the allocation of @port that answers. */
static int rows_take(struct natindex *x, sqlite3_stmt *s, bool to_alloc, uint16_t port,
		     struct natlog_parsed **out, size_t *n, size_t *cap)
{
	uint64_t stop_ms = 0;
	bool stop = false;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct natlog_parsed r = {};
		const unsigned char *t;

		r.ts_ms = (uint64_t)sqlite3_column_int64(s, 0);
		/* Past the answering allocation: older records cannot change
		 * the answer (those of its own millisecond still might). */
		if (stop && r.ts_ms < stop_ms)
			break;
		t = sqlite3_column_text(s, 1);
		snprintf(r.event, sizeof(r.event), "%s", t ? (const char *)t : "");
		r.sub = (uint32_t)sqlite3_column_int64(s, 2);
		r.paddr = (uint32_t)sqlite3_column_int64(s, 3);
		r.port_lo = (uint16_t)sqlite3_column_int(s, 4);
		r.port_hi = (uint16_t)sqlite3_column_int(s, 5);
		r.node = (uint32_t)sqlite3_column_int64(s, 6);
		r.inside_port = (uint16_t)sqlite3_column_int(s, 7);
		r.proto = (uint8_t)sqlite3_column_int(s, 8);
		t = sqlite3_column_text(s, 9);
		snprintf(r.via, sizeof(r.via), "%s", t ? (const char *)t : "");
		r.plen = (uint8_t)sqlite3_column_int(s, 10);
		r.det_plen = (uint8_t)sqlite3_column_int(s, 11);
		r.block_size = (uint16_t)sqlite3_column_int(s, 12);
		r.blocks = (uint16_t)sqlite3_column_int(s, 13);
		if (*n == *cap && xcgn_grow(out, cap, *n, sizeof(**out))) {
			sqlite3_reset(s);
			return -ENOMEM;
		}
		(*out)[(*n)++] = r;
		if (to_alloc && !stop && !strcmp(r.event, "alloc") && port >= r.port_lo &&
		    port <= r.port_hi) {
			stop = true;
			stop_ms = r.ts_ms;
		}
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_err(x, "read");
}

int natindex_records(struct natindex *x, uint32_t paddr, uint16_t port, uint64_t at_ms,
		     struct natlog_parsed **out, size_t *n)
{
	size_t cap = 0;
	int err;

	*out = NULL;
	*n = 0;
	sqlite3_bind_int64(x->q_bucket, 1, paddr);
	sqlite3_bind_int(x->q_bucket, 2, port >> BUCKET_SHIFT);
	sqlite3_bind_int64(x->q_bucket, 3, (int64_t)at_ms);
	err = rows_take(x, x->q_bucket, true, port, out, n, &cap);
	/* Oldest first, as the log has them: of two records of one
	 * millisecond, the rule takes the later one, as the scan does. */
	for (size_t i = 0; !err && i < *n / 2; i++) {
		struct natlog_parsed t = (*out)[i];

		(*out)[i] = (*out)[*n - 1 - i];
		(*out)[*n - 1 - i] = t;
	}
	if (!err)
		err = rows_take(x, x->q_det, false, port, out, n, &cap);
	return err;
}
