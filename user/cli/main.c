// SPDX-License-Identifier: GPL-2.0
/* xcgn: the control plane of the xcgn carrier-grade NAT44.
 * xcgn [OPTIONS] OBJECT { COMMAND | help }
 *
 * The one dispatcher: every object's module gives its verbs as a table
 * (struct xcgn_object), and here, once, are unique prefixes of objects
 * and verbs (as iproute2 accepts `ip l s`), `show` when no verb is given,
 * help on stdout with status 0 when asked for, one line naming an unknown
 * or ambiguous word (status 2), the extra-argument error of a verb that
 * takes none, and the capability check. */
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static const struct xcgn_object *const objects[] = {
	&xcgn_obj_link,	 &xcgn_obj_pool, &xcgn_obj_subscriber, &xcgn_obj_session, &xcgn_obj_stats,
	&xcgn_obj_log,	 &xcgn_obj_rpf,	 &xcgn_obj_config,     &xcgn_obj_daemon, &xcgn_obj_monitor,
	&xcgn_obj_cluster, &xcgn_obj_forward,
};

static int usage(void)
{
	fprintf(usage_fp(),
		"Usage: xcgn [OPTIONS] OBJECT { COMMAND | help }\n"
		"OBJECT := { link | pool | subscriber | session | stats | log | rpf | config |\n"
		"            daemon | monitor | cluster | forward }\n"
		"OPTIONS := { -j[son] | -p[retty] | -v[erbose] (repeat for more) | -V[ersion] |\n"
		"             -h[elp] }\n"
		"Objects and commands may be shortened to a unique prefix (xcgn po sh; l is\n"
		"link); a bare OBJECT shows. State lives in bpffs under %s, one instance per\n"
		"network namespace; the configuration file is %s (xcgn.conf(5)).\n",
		XCGN_PIN_ROOT, XCGN_DEF_CONFIG);
	return usage_status();
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

/* @word among @ob's verbs: the command, or NULL with the error said. */
static const struct xcgn_cmd *verb_find(const struct xcgn_object *ob, const char *word)
{
	const char *names[32];
	size_t n = 0;
	int i;

	while (ob->cmds[n].verb && n < ARRAY_SIZE(names)) {
		names[n] = ob->cmds[n].verb;
		n++;
	}
	i = prefix_match(word, names, n);
	if (i >= 0)
		return &ob->cmds[i];
	xcgn_err("%s command \"%s\" for %s; try \"xcgn %s help\"", i == -2 ? "ambiguous" : "unknown",
		 word, ob->name, ob->name);
	return NULL;
}

int cmd_lock(struct cmd *c)
{
	if (c->lock >= 0)
		return 0;
	c->lock = xcgn_lock();
	return c->lock < 0 ? c->lock : 0;
}

void cmd_unlock(struct cmd *c)
{
	xcgn_unlock(c->lock);
	c->lock = -1;
}

const struct xcgn_maps *cmd_maps(struct cmd *c)
{
	if (c->maps_open)
		return &c->m;
	if ((c->flags & CMD_LOCK) && cmd_lock(c))
		return NULL;
	if (xcgn_maps_open(&c->m))
		return NULL;
	c->maps_open = true;
	return &c->m;
}

/* The verb, with what it declared it needs (taken when it asks: cmd_maps,
 * cmd_lock), released after it; -errno becomes exit status 1. */
static int cmd_call(cmd_fn fn, const char *object, const char *verb, unsigned int flags,
		    int argc, char **argv)
{
	struct cmd c = { .object = object, .verb = verb, .flags = flags, .lock = -1 };
	int ret;

	xcgn_maps_none(&c.m);
	ret = fn(&c, argc, argv);
	if (c.maps_open)
		xcgn_maps_close(&c.m);
	cmd_unlock(&c);
	return ret < 0 ? XCGN_EXIT_ERR : ret;
}

/* The object's verb (or options), dispatched with what it needs checked. */
static int run(const struct xcgn_object *ob, int argc, char **argv)
{
	const struct xcgn_cmd *c;

	if (argc > 0 && !strcmp(argv[0], "help")) {
		usage_asked(true);
		return ob->usage();
	}
	if (!ob->cmds)
		return xcgn_need_caps(ob->name) ? XCGN_EXIT_ERR :
						  cmd_call(ob->fn, ob->name, NULL, 0, argc, argv);
	if (argc < 1 && !ob->def_verb) {
		xcgn_err("%s needs a command; try \"xcgn %s help\"", ob->name, ob->name);
		return XCGN_EXIT_USAGE;
	}
	c = verb_find(ob, argc > 0 ? argv[0] : ob->def_verb);
	if (!c)
		return XCGN_EXIT_USAGE;
	if (argc > 0) {
		argc--;
		argv++;
	}
	if ((c->flags & CMD_NOARGS) && argc > 0) {
		xcgn_err("unexpected argument \"%s\" to %s %s", argv[0], ob->name, c->verb);
		return XCGN_EXIT_USAGE;
	}
	if (!(c->flags & CMD_OPEN) && xcgn_need_caps(ob->name))
		return XCGN_EXIT_ERR;
	return cmd_call(c->fn, ob->name, c->verb, c->flags, argc, argv);
}

int main(int argc, char **argv)
{
	bool json = false, pretty = false;
	const char *names[ARRAY_SIZE(objects)];
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
	for (i = 0; i < (int)ARRAY_SIZE(objects); i++)
		names[i] = objects[i]->name;
	/* `l` is link, as in `ip l` (log is spelled out further). */
	i = !strcmp(argv[0], "l") ? 0 : prefix_match(argv[0], names, ARRAY_SIZE(objects));
	if (i < 0) {
		xcgn_err("%s object \"%s\"; try \"xcgn help\"", i == -2 ? "ambiguous" : "unknown",
			 argv[0]);
		return XCGN_EXIT_USAGE;
	}
	ret = run(objects[i], argc - 1, argv + 1);
	print_finish();
	return ret;
}
