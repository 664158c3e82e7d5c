// SPDX-License-Identifier: GPL-2.0
/* user/lib/print.c: one call per field, text and JSON. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <sys/stat.h>

#include "lib/lib.h"

static char *buf;
static size_t len;
static FILE *mem;

static void open_mem(bool json)
{
	mem = open_memstream(&buf, &len);
	cr_assert(mem, "memstream");
	print_init(json, false, mem);
}

static const char *close_mem(void)
{
	fclose(mem);
	return buf;
}

static void emit(void)
{
	print_open_array(NULL);
	print_open_object(NULL);
	print_ipv4(PRINT_ANY, "public", "public %s", inet_addr("198.51.100.7"));
	print_u64(PRINT_ANY, "port", " port %llu", 40123);
	print_string(PRINT_JSON, "note", NULL, "say \"hi\"\n");
	print_nl();
	print_close_object();
	print_open_object(NULL);
	print_u64(PRINT_ANY, "port", "port %llu", 1);
	print_nl();
	print_close_object();
	print_close_array();
}

Test(print, json_is_well_formed_and_escaped)
{
	open_mem(true);
	emit();
	cr_assert_str_eq(close_mem(),
			 "[{\"public\":\"198.51.100.7\",\"port\":40123,\"note\":\"say \\\"hi\\\"\\n\"},"
			 "{\"port\":1}]\n",
			 "JSON output");
	free(buf);
}

Test(print, text_uses_the_same_calls)
{
	open_mem(false);
	emit();
	cr_assert_str_eq(close_mem(), "public 198.51.100.7 port 40123\nport 1\n", "text output");
	free(buf);
}

Test(print, name_tables_are_complete)
{
	int i;

	for (i = 0; i < XCGN_STAT_MAX; i++)
		cr_assert(xcgn_stat_name[i] && *xcgn_stat_name[i], "stat %d has a name", i);
	for (i = 0; i < XCGN_DROP_MAX; i++)
		cr_assert(xcgn_drop_name[i] && *xcgn_drop_name[i], "drop %d has a name", i);
}

/* What xcgn_logf and xcgn_err wrote to stderr, with JOURNAL_STREAM naming
 * stderr's file (@journal) or another file. */
static char *stderr_lines(bool journal)
{
	char path[] = "/tmp/xcgn-logf-XXXXXX", other[] = "/tmp/xcgn-logf-XXXXXX", js[64];
	int fd = mkstemp(path), ofd = mkstemp(other), saved = dup(STDERR_FILENO);
	struct stat st;
	char *text = calloc(1, 256);

	cr_assert(fd >= 0 && ofd >= 0 && saved >= 0 && text, "temporary files");
	cr_assert(!fstat(journal ? fd : ofd, &st));
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	cr_assert(!setenv("JOURNAL_STREAM", js, 1));
	fflush(stderr);
	cr_assert(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
	xcgn_logf(LOG_WARNING, "xcgn daemon: a warning\n");
	xcgn_err("an error");
	fflush(stderr);
	cr_assert(dup2(saved, STDERR_FILENO) == STDERR_FILENO);
	cr_assert(pread(fd, text, 255, 0) > 0, "read back %s", path);
	unlink(path);
	unlink(other);
	close(fd);
	close(ofd);
	close(saved);
	return text;
}

Test(print, priority_prefixes_only_under_the_journal)
{
	char *text = stderr_lines(true);

	cr_expect_str_eq(text, "<4>xcgn daemon: a warning\n<3>xcgn: an error\n");
	free(text);
}

Test(print, no_prefixes_when_stderr_is_not_the_journal)
{
	char *text = stderr_lines(false);

	cr_expect_str_eq(text, "xcgn daemon: a warning\nxcgn: an error\n");
	free(text);
}
