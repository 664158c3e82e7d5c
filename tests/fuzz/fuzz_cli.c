// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: the command line's and the configuration file's readers. The
 * input is words, one a line; its first byte picks the reader (attach,
 * pool, daemon options; a whole configuration file; addresses, prefixes,
 * ports and times one word at a time). Every reader must refuse what it
 * cannot take with an exit status, never crash or read out of bounds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define WORDS_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void words(char *text, int *argc, char **argv)
{
	char *save = NULL, *w;

	*argc = 0;
	for (w = strtok_r(text, "\n", &save); w && *argc < WORDS_MAX; w = strtok_r(NULL, "\n", &save))
		argv[(*argc)++] = w;
	argv[*argc] = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *argv[WORDS_MAX + 1];
	int argc, i;

	if (!size)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 5) {
	case 0: {
		struct attach_opts o;

		attach_opts_init(&o);
		words(text, &argc, argv);
		attach_opts_parse(argc, argv, &o);
		break;
	}
	case 1: {
		struct pool_opts o;
		char why[200];

		pool_opts_init(&o);
		words(text, &argc, argv);
		if (!pool_opts_parse(argc, argv, &o))
			excl_normalize(&o, why, sizeof(why));
		break;
	}
	case 2:
		words(text, &argc, argv);
		daemon_args_check(argc, argv);
		break;
	case 3: {
		struct xcgn_config c;

		config_parse("fuzz.conf", text, &c);
		config_free(&c);
		break;
	}
	default:
		words(text, &argc, argv);
		for (i = 0; i < argc; i++) {
			uint32_t a, u;
			uint16_t p, lo, hi;
			uint8_t plen;
			uint64_t ms;

			parse_ipv4(argv[i], &a);
			parse_prefix(argv[i], &a, &plen);
			parse_addr_port(argv[i], &a, &p);
			parse_port_range(argv[i], &lo, &hi);
			parse_time_ms(argv[i], &ms);
			parse_u32(argv[i], 0, UINT32_MAX, &u);
		}
	}
	free(text);
	return 0;
}
