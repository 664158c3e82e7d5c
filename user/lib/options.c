// SPDX-License-Identifier: GPL-2.0
/* The walker of option tables (options.h). */
#include <string.h>

#include <arpa/inet.h>

#include "lib/lib.h"
#include "lib/options.h"

static void field_set(void *obj, size_t off, uint8_t size, uint32_t v)
{
	char *p = (char *)obj + off;

	if (size == 1)
		*(uint8_t *)p = (uint8_t)v;
	else if (size == 2)
		*(uint16_t *)p = (uint16_t)v;
	else
		*(uint32_t *)p = v;
}

static uint32_t field_get(const void *obj, size_t off, uint8_t size)
{
	const char *p = (const char *)obj + off;

	if (size == 1)
		return *(const uint8_t *)p;
	if (size == 2)
		return *(const uint16_t *)p;
	return *(const uint32_t *)p;
}

/* @arg among the row's names: its index, or -1. */
static int name_of(const struct opt *o, const char *arg)
{
	for (int i = 0; i < o->nnames; i++)
		if (o->names[i] && !strcmp(arg, o->names[i]))
			return i;
	return -1;
}

static int bad_value(const struct opt *o, const char *arg)
{
	if (o->hint) {
		xcgn_err("invalid %s \"%s\" (%s)", o->name, arg, o->hint);
		return XCGN_EXIT_USAGE;
	}
	return invarg(o->what ? o->what : o->name, arg);
}

/* One row's value @arg into @obj: 0 or an exit status (said). */
static int opt_take(const struct opt *o, const char *arg, void *obj)
{
	uint32_t v, *word;
	int i;

	if (!arg && o->kind != OPT_FLAG && o->kind != OPT_CUSTOM)
		return XCGN_EXIT_USAGE;	/* opts_parse gives every valued row its word */
	switch (o->kind) {
	case OPT_STRING:
		*(const char **)((char *)obj + o->off) = arg;
		return 0;
	case OPT_FLAG:
		field_set(obj, o->off, o->size, o->set);
		return 0;
	case OPT_UINT:
		if (arg_u32(o->what ? o->what : o->name, arg, o->min, o->max, &v))
			return XCGN_EXIT_USAGE;
		field_set(obj, o->off, o->size, v);
		return 0;
	case OPT_NAME:
		i = name_of(o, arg);
		if (i < 0)
			return bad_value(o, arg);
		field_set(obj, o->off, o->size, (uint32_t)i);
		return 0;
	case OPT_BIT:
		i = name_of(o, arg);
		if (i < 0)
			return bad_value(o, arg);
		word = (uint32_t *)((char *)obj + o->off);
		if ((i != 0) != !!(o->flags & OPTF_INVERT))
			*word |= o->set;
		else
			*word &= ~o->set;
		return 0;
	case OPT_PREFIX:
		if (parse_prefix(arg, (uint32_t *)((char *)obj + o->off),
				 (uint8_t *)((char *)obj + o->off2)))
			return bad_value(o, arg);
		return 0;
	case OPT_CUSTOM:
		return o->parse(o, arg, obj);
	}
	return XCGN_EXIT_USAGE;
}

/* Does the row take a value after its keyword? */
static bool opt_valued(const struct opt *o)
{
	return o->kind != OPT_FLAG && !(o->flags & OPTF_NOVALUE);
}

void opts_defaults(const struct opt *t, size_t n, void *obj)
{
	for (size_t i = 0; i < n; i++) {
		const struct opt *o = &t[i];

		if (o->kind == OPT_PREFIX && o->defs)
			parse_prefix(o->defs, (uint32_t *)((char *)obj + o->off),
				     (uint8_t *)((char *)obj + o->off2));
		else if (o->kind != OPT_FLAG && o->kind != OPT_BIT && o->size)
			field_set(obj, o->off, o->size, o->def);
	}
}

const struct opt *opts_find(const struct opt *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, t[i].name))
			return &t[i];
	return NULL;
}

int opts_parse(const struct opt *t, size_t n, const char *object, int argc, char **argv,
	       void *obj)
{
	for (; argc > 0; argc--, argv++) {
		const struct opt *o = opts_find(t, n, *argv);
		const char *arg = NULL;
		int err;

		if (!o) {
			xcgn_err("unknown argument \"%s\" to %s; try \"xcgn %s help\"", *argv, object,
				 object);
			return XCGN_EXIT_USAGE;
		}
		if (opt_valued(o)) {
			NEXT_ARG();
			arg = *argv;
		}
		err = opt_take(o, arg, obj);
		if (err)
			return err;
		if (o->flags & OPTF_SEEN)
			*(bool *)((char *)obj + o->seen) = true;
	}
	return 0;
}

int opts_string_print(const struct opt *o, const void *obj, int i, char *buf, size_t len)
{
	const char *s = *(const char *const *)((const char *)obj + o->off);

	if (i || !s)
		return 0;
	snprintf(buf, len, "%s", s);
	return 1;
}

/* The row's value as text: 1, or 0 when there is none to print. */
static int opt_text(const struct opt *o, const void *obj, int i, char *buf, size_t len)
{
	uint32_t v;

	if (o->kind == OPT_CUSTOM)
		return o->print ? o->print(o, obj, i, buf, len) : 0;
	if (i)
		return 0;
	switch (o->kind) {
	case OPT_STRING:
		return opts_string_print(o, obj, i, buf, len);
	case OPT_FLAG:
		buf[0] = '\0';
		return field_get(obj, o->off, o->size) == o->set;
	case OPT_UINT:
		snprintf(buf, len, "%u", field_get(obj, o->off, o->size));
		return 1;
	case OPT_NAME:
		v = field_get(obj, o->off, o->size);
		if (v >= o->nnames || !o->names[v])
			return 0;
		snprintf(buf, len, "%s", o->names[v]);
		return 1;
	case OPT_BIT:
		v = !!(*(const uint32_t *)((const char *)obj + o->off) & o->set) ^
		    !!(o->flags & OPTF_INVERT);
		snprintf(buf, len, "%s", o->names[v]);
		return 1;
	case OPT_PREFIX: {
		char a[16];

		snprintf(buf, len, "%s/%u",
			 ipv4_str(*(const uint32_t *)((const char *)obj + o->off), a, sizeof(a)),
			 *((const uint8_t *)obj + o->off2));
		return 1;
	}
	default:
		return 0;
	}
}

/* Do @a and @b give row @o the same values? */
static bool opt_same(const struct opt *o, const void *a, const void *b)
{
	char x[128], y[128];
	int i, ha, hb;

	for (i = 0;; i++) {
		ha = opt_text(o, a, i, x, sizeof(x));
		hb = opt_text(o, b, i, y, sizeof(y));
		if (ha != hb || (ha && strcmp(x, y)))
			return false;
		if (!ha)
			return true;
	}
}

static void print_rows(FILE *f, const struct opt *t, size_t n, const void *obj, const void *def,
		       bool breaks)
{
	char buf[128];

	for (size_t r = 0; r < n; r++) {
		const struct opt *o = &t[r];

		if (o->flags & OPTF_HIDE || (def && opt_same(o, obj, def)))
			continue;
		for (int i = 0; opt_text(o, obj, i, buf, sizeof(buf)); i++) {
			fputs(breaks && o->flags & OPTF_BREAK && !i ? " \\\n    " : " ", f);
			fputs(o->name, f);
			if (buf[0])
				fprintf(f, " %s", buf);
		}
	}
}

void opts_print(FILE *f, const struct opt *t, size_t n, const void *obj)
{
	print_rows(f, t, n, obj, NULL, true);
}

void opts_print_changed(FILE *f, const struct opt *t, size_t n, const void *obj, const void *def)
{
	print_rows(f, t, n, obj, def, false);
}

/* Words laid out within 80 columns: each after a space, or on a new line
 * indented by @indent when it would pass column 80. */
struct wrap {
	FILE *f;
	int col, indent;
	int reserve;	/* columns kept free after each word (its comma) */
};

static void wrap_word(struct wrap *w, const char *word)
{
	int len = (int)strlen(word);

	if (w->col + 1 + len + w->reserve > 80) {
		/* A word too long for the indent goes, with the rest, under
		 * the command's name. */
		if (w->indent + len > 80)
			w->indent = 7;
		fprintf(w->f, "\n%*s", w->indent, "");
		w->col = w->indent;
	} else {
		fputc(' ', w->f);
		w->col++;
	}
	fputs(word, w->f);
	w->col += len;
}

/* The value of row @o in the synopsis. */
static void opt_arg(const struct opt *o, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	if (o->arg) {
		snprintf(buf, len, "%s", o->arg);
	} else if (o->kind == OPT_NAME || o->kind == OPT_BIT) {
		at = (size_t)snprintf(buf, len, "{");
		for (int i = 0; i < o->nnames && at < len; i++)
			if (o->names[i])
				at += (size_t)snprintf(buf + at, len - at, "%s %s", at > 1 ? " |" : "",
						       o->names[i]);
		if (at < len)
			snprintf(buf + at, len - at, " }");
	} else if (o->kind == OPT_UINT) {
		snprintf(buf, len, "N");
	} else if (o->kind == OPT_PREFIX) {
		snprintf(buf, len, "PREFIX");
	} else if (opt_valued(o)) {
		snprintf(buf, len, "VALUE");
	}
}

void opts_synopsis(FILE *f, const char *lead, const struct opt *t, size_t n)
{
	const char *bracket = strchr(lead, '[');
	struct wrap w = { .f = f, .col = (int)strlen(lead),
			  .indent = bracket ? (int)(bracket - lead) : (int)strlen(lead) + 1 };
	char arg[160], item[224];

	fputs(lead, f);
	for (size_t r = 0; r < n; r++) {
		const struct opt *o = &t[r];
		bool needed = o->flags & OPTF_NEEDED;

		if (o->flags & OPTF_UNDOC)
			continue;
		opt_arg(o, arg, sizeof(arg));
		snprintf(item, sizeof(item), "%s%s%s%s%s%s", needed ? "" : "[", o->name,
			 arg[0] ? " " : "", arg, needed ? "" : "]",
			 o->flags & OPTF_MANY ? "..." : "");
		wrap_word(&w, item);
	}
	fputc('\n', f);
}

void opts_print_defaults(FILE *f, const struct opt *t, size_t n, const void *defobj)
{
	struct wrap w = { .f = f, .col = (int)strlen("Defaults:"), .reserve = 1 };
	char buf[128], item[192];
	bool first = true;

	fputs("Defaults:", f);
	for (size_t r = 0; r < n; r++) {
		const struct opt *o = &t[r];

		if (o->kind == OPT_FLAG || o->kind == OPT_STRING || (o->flags & (OPTF_UNDOC | OPTF_NODEF)) ||
		    !opt_text(o, defobj, 0, buf, sizeof(buf)))
			continue;
		/* Each item ends in its comma, the last in the full stop. */
		if (!first)
			fputc(',', f), w.col++;
		snprintf(item, sizeof(item), "%s %s", o->name, buf);
		wrap_word(&w, item);
		first = false;
	}
	fputs(".\n", f);
}
