// SPDX-License-Identifier: GPL-2.0
/* user/lib/print.c: one call per field, text and JSON. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

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
