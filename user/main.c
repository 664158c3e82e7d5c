// SPDX-License-Identifier: GPL-2.0
/* xcgn: the control plane of the xcgn carrier-grade NAT44.
 * xcgn [OPTIONS] OBJECT { COMMAND | help }
 *
 * One dispatcher for every object: unique prefixes of objects and verbs
 * (as iproute2 accepts `ip l s`), `show` when no verb is given, help on
 * stdout with status 0 when asked for, one line naming an unknown word
 * (status 2), and the capability check. The objects' modules get the
 * verb spelled out in full. */
#include <string.h>
#include <unistd.h>

#include "xcgn.h"

/* Verbs of an object; NULL-terminated. An object without a list takes
 * options, not verbs (daemon). */
static const char *const link_verbs[] = { "attach", "detach", "reload", "check", "show", "set",
					  "abi", "help", NULL };
static const char *const pool_verbs[] = { "add",    "del",	   "set",  "show",
					  "drain",  "undrain", "bypass", "help", NULL };
static const char *const sub_verbs[] = { "show", "flush", "help", NULL };
static const char *const session_verbs[] = { "show", "flush", "help", NULL };
static const char *const stats_verbs[] = { "show", "reset", "help", NULL };
static const char *const log_verbs[] = { "who", "help", NULL };
static const char *const rpf_verbs[] = { "show", "explain", "lint", "mode", "sync", "help", NULL };
static const char *const config_verbs[] = { "check", "apply", "show", "help", NULL };

static const char *const log_open[] = { "who", NULL };
static const char *const link_open[] = { "abi", NULL };
static const char *const config_open[] = { "check", NULL };

static const struct object {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *const *verbs;
	const char *def_verb;	/* when none is given */
	const char *const *open;	/* verbs that need no capability (touch no
				 * pinned state) */
} objects[] = {
	{ "link", do_link, link_verbs, "show", link_open },
	{ "pool", do_pool, pool_verbs, "show", NULL },
	{ "subscriber", do_subscriber, sub_verbs, "show", NULL },
	{ "session", do_session, session_verbs, "show", NULL },
	{ "stats", do_stats, stats_verbs, "show", NULL },
	{ "log", do_log, log_verbs, NULL, log_open },
	{ "rpf", do_rpf, rpf_verbs, "show", NULL },
	{ "config", do_config, config_verbs, "show", config_open },
	{ "daemon", do_daemon, NULL, NULL, NULL },
};

static int usage(void)
{
	fprintf(usage_fp(),
		"Usage: xcgn [OPTIONS] OBJECT { COMMAND | help }\n"
		"OBJECT := { link | pool | subscriber | session | stats | log | rpf | config |\n"
		"            daemon }\n"
		"OPTIONS := { -j[son] | -p[retty] | -v[erbose] (repeat for more) | -V[ersion] |\n"
		"             -h[elp] }\n"
		"Objects and commands may be shortened to a unique prefix (xcgn po sh; l is\n"
		"link); a bare OBJECT shows. State lives in bpffs under %s, one instance per network\n"
		"namespace; the configuration file is %s (xcgn.conf(5)).\n",
		XCGN_PIN_ROOT, XCGN_DEF_CONFIG);
	return usage_status();
}

static size_t nverbs(const char *const *v)
{
	size_t n = 0;

	while (v[n])
		n++;
	return n;
}

/* Short flags, combined as in `-jp`, or one long one (a unique prefix of
 * --json, --pretty, --verbose, --version, --help). 0, the exit status of
 * a usage error, or -1 to stop with success (-V, -h). */
static int parse_flags(const char *arg, bool *json, bool *pretty)
{
	static const char *const longs[] = { "json", "pretty", "verbose", "version", "help" };
	static const char letters[] = "jpvVh";
	char one[2] = "";
	const char *o = arg + 1;
	int i;

	if (*o == '-') {
		i = prefix_match(o + 1, longs, ARRAY_SIZE(longs));
		if (i < 0) {
			xcgn_err("%s option \"%s\"; try \"xcgn help\"",
				 i == -2 ? "ambiguous" : "unknown", arg);
			return XCGN_EXIT_USAGE;
		}
		one[0] = letters[i];
		o = one;
	} else if (prefix_match(o, longs, ARRAY_SIZE(longs)) >= 0 && strlen(o) > 1 &&
		   strspn(o, letters) != strlen(o)) {
		/* -json, -verbose: iproute2 takes single-dash words too */
		one[0] = letters[prefix_match(o, longs, ARRAY_SIZE(longs))];
		o = one;
	}
	if (!*o) {
		xcgn_err("unknown option \"%s\"; try \"xcgn help\"", arg);
		return XCGN_EXIT_USAGE;
	}
	for (; *o; o++) {
		switch (*o) {
		case 'j':
			*json = true;
			break;
		case 'p':
			*pretty = true;
			break;
		case 'v':
			xcgn_verbose++;
			break;
		case 'V':
			printf("xcgn %s abi %d fingerprint %016llx\n", xcgn_version,
			       XCGN_ABI_VERSION, (unsigned long long)xcgn_abi_fingerprint());
			return -1;
		case 'h':
			usage_asked(true);
			usage();
			return -1;
		default:
			xcgn_err("unknown option \"-%c\" in \"%s\"; try \"xcgn help\"", *o, arg);
			return XCGN_EXIT_USAGE;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	bool json = false, pretty = false;
	const struct object *ob;
	char *def[2];
	int i, ret;

	print_init(false, false, stdout);
	for (argc--, argv++; argc > 0 && argv[0][0] == '-'; argc--, argv++) {
		ret = parse_flags(argv[0], &json, &pretty);
		if (ret)
			return ret < 0 ? XCGN_EXIT_OK : ret;
	}
	print_init(json, pretty, stdout);
	if (argc < 1) {
		xcgn_err("no OBJECT given; try \"xcgn help\"");
		return XCGN_EXIT_USAGE;
	}
	if (!strcmp(argv[0], "help")) {
		usage_asked(true);
		return usage();
	}
	{
		const char *names[ARRAY_SIZE(objects)];

		for (i = 0; i < (int)ARRAY_SIZE(objects); i++)
			names[i] = objects[i].name;
		/* `l` is link, as in `ip l` (log is spelled out further). */
		i = !strcmp(argv[0], "l") ? 0 : prefix_match(argv[0], names, ARRAY_SIZE(objects));
	}
	if (i < 0) {
		xcgn_err("%s object \"%s\"; try \"xcgn help\"", i == -2 ? "ambiguous" : "unknown",
			 argv[0]);
		return XCGN_EXIT_USAGE;
	}
	ob = &objects[i];
	argc--;
	argv++;
	if (ob->verbs) {
		if (argc < 1 && ob->def_verb) {
			def[0] = (char *)ob->def_verb;
			def[1] = NULL;
			argv = def;
			argc = 1;
		} else if (argc < 1) {
			xcgn_err("%s needs a command; try \"xcgn %s help\"", ob->name, ob->name);
			return XCGN_EXIT_USAGE;
		}
		i = prefix_match(argv[0], ob->verbs, nverbs(ob->verbs));
		if (i < 0) {
			xcgn_err("%s command \"%s\" for %s; try \"xcgn %s help\"",
				 i == -2 ? "ambiguous" : "unknown", argv[0], ob->name, ob->name);
			return XCGN_EXIT_USAGE;
		}
		argv[0] = (char *)ob->verbs[i];
	}
	if (argc > 0 && !strcmp(argv[0], "help"))
		usage_asked(true);
	else if (!(ob->open && argc > 0 && prefix_match(argv[0], ob->open, nverbs(ob->open)) >= 0) &&
		 xcgn_need_caps(ob->name))
		return XCGN_EXIT_ERR;
	ret = ob->fn(argc, argv);
	print_finish();
	return ret;
}
