// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: the rtnetlink readers (routes, rules, links, addresses, as
 * the reverse-path tables and the lint read them), fed captured dumps
 * (tests/fuzz/nl_capture.py) and their mutants; then what is built from
 * them: the derived facts, the table the datapath gets, the lint. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "net/rpf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpf_finding fs[32];
	struct rpf_lint_cfg c = { .inside = 2, .outside = 3, .sub_plen = 10 };
	struct rpf_entry *t = NULL;
	struct rpf_fib f;
	size_t n;
	void *buf;

	/* libmnl reads the messages where they are: aligned, as a socket
	 * buffer would be. */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	memset(&f, 0, sizeof(f));
	if (!rpf_fib_parse(&f, buf, size)) {
		rpf_fib_derive(&f);
		if (!rpf_table_build(&f, &t, &n))
			free(t);
		c.sub_prefix = htonl(0x64400000);	/* 100.64.0.0 */
		rpf_lint(&f, &c, fs, 32);
	}
	rpf_fib_free(&f);
	free(buf);
	return 0;
}
