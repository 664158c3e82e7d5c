// SPDX-License-Identifier: GPL-2.0
/* xcgn: the control plane of the xcgn carrier-grade NAT44.
 * xcgn [OPTIONS] OBJECT { COMMAND | help } */
#include <string.h>
#include <unistd.h>

#include "xcgn.h"

static const struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "link", do_link },	   { "pool", do_pool },	  { "subscriber", do_subscriber },
	{ "session", do_session }, { "stats", do_stats },	  { "log", do_log },
	{ "daemon", do_daemon },   { "rpf", do_rpf },
};

static int usage(void)
{
	fprintf(stderr,
		"Usage: xcgn [OPTIONS] OBJECT { COMMAND | help }\n"
		"OBJECT := { link | pool | subscriber | session | stats | log | rpf | daemon }\n"
		"OPTIONS := { -j[son] | -p[retty] | -v[erbose] (repeat for more) | -V[ersion] |\n"
		"             -h[elp] }\n"
		"State lives in bpffs under %s, one instance per network namespace.\n",
		XCGN_PIN_ROOT);
	return XCGN_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	bool json = false, pretty = false;
	size_t i;

	print_init(false, false, stdout);
	for (argc--, argv++; argc > 0 && argv[0][0] == '-'; argc--, argv++) {
		const char *o = argv[0] + (argv[0][1] == '-' ? 2 : 1);

		if (!strcmp(o, "j") || !strcmp(o, "json")) {
			json = true;
		} else if (!strcmp(o, "p") || !strcmp(o, "pretty")) {
			pretty = true;
		} else if (!strcmp(o, "v") || !strcmp(o, "verbose")) {
			xcgn_verbose++;
		} else if (!strcmp(o, "vv")) {
			xcgn_verbose += 2;
		} else if (!strcmp(o, "V") || !strcmp(o, "version")) {
			printf("xcgn %s abi %d fingerprint %016llx\n", XCGN_VERSION, XCGN_ABI_VERSION,
			       (unsigned long long)xcgn_abi_fingerprint());
			return XCGN_EXIT_OK;
		} else if (!strcmp(o, "h") || !strcmp(o, "help")) {
			usage();
			return XCGN_EXIT_OK;
		} else {
			xcgn_err("unknown option \"%s\"", argv[0]);
			return usage();
		}
	}
	print_init(json, pretty, stdout);
	if (argc < 1 || !strcmp(argv[0], "help"))
		return usage();
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (!strcmp(argv[0], cmds[i].name)) {
			int ret;

			if (geteuid() != 0 && strcmp(argc > 1 ? argv[1] : "help", "help")) {
				xcgn_err("xcgn needs root (CAP_BPF and CAP_NET_ADMIN) for \"%s\"",
					 argv[0]);
				return XCGN_EXIT_ERR;
			}
			ret = cmds[i].fn(argc - 1, argv + 1);
			print_finish();
			return ret;
		}
	}
	xcgn_err("unknown object \"%s\"", argv[0]);
	return usage();
}
