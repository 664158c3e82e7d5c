/* SPDX-License-Identifier: GPL-2.0 */
/* Option tables: one row per keyword, {name, kind, field, bounds, names},
 * and one walker for all of them. A table gives the parser of the command
 * line and of the configuration file (opts_parse), the canonical form
 * `config show` prints (opts_print), and the keyword lists the tests hold
 * the man pages and the completion to. The link's, the pool's and the
 * daemon's tables are their owners' (datapath/, daemon/); nothing here
 * knows them. */
#ifndef XCGN_LIB_OPTIONS_H
#define XCGN_LIB_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum opt_kind {
	OPT_STRING,	/* a word: the const char * at .off points to it */
	OPT_FLAG,	/* no value: the field is set to .set */
	OPT_UINT,	/* a number, .min to .max, into a field of .size bytes */
	OPT_NAME,	/* one of .names (indexed by value) into a field of .size */
	OPT_BIT,	/* .names[0] or [1]: bit .set of a uint32_t field, [1]
			 * setting it (clearing it with OPTF_INVERT) */
	OPT_PREFIX,	/* a.b.c.d/len: address (uint32_t) at .off, length (uint8_t) at .off2 */
	OPT_CUSTOM,	/* .parse and .print do it */
};

#define OPTF_BREAK	0x1	/* the canonical form starts a new line before it */
#define OPTF_HIDE	0x2	/* never printed (force, no-parity) */
#define OPTF_SEEN	0x4	/* sets the bool at .seen when given */
#define OPTF_INVERT	0x8	/* OPT_BIT: names[1] clears the bit */
#define OPTF_NOVALUE	0x10	/* OPT_CUSTOM: takes no value (.parse gets NULL) */
#define OPTF_NEEDED	0x20	/* the synopsis shows it without brackets */
#define OPTF_MANY	0x40	/* may be given more than once (synopsis: "...") */
#define OPTF_UNDOC	0x80	/* left out of the synopsis (no-parity) */
#define OPTF_NODEF	0x100	/* its default is not a value (node: none) */

struct opt {
	const char *name;
	enum opt_kind kind;
	size_t off, off2, seen;
	uint8_t size;		/* of the field: 1, 2 or 4 (OPT_UINT, OPT_NAME, OPT_FLAG) */
	uint32_t min, max;
	uint32_t set;		/* OPT_FLAG: the value; OPT_BIT: the bit */
	uint32_t def;		/* the default (a row with a field, not a flag) */
	const char *defs;	/* OPT_PREFIX: the default, as text */
	const char *const *names;	/* OPT_NAME, OPT_BIT; holes NULL */
	uint8_t nnames;
	/* In messages: `invalid WHAT "ARG"` (default the name), or with a
	 * hint `invalid NAME "ARG" (HINT)`. */
	const char *what, *hint;
	/* The value in the synopsis ("DEV", "S"); by default "{ a | b }" of
	 * the names, N for a number, PREFIX for a prefix. */
	const char *arg;
	unsigned int flags;	/* OPTF_* */
	/* OPT_CUSTOM: take @arg (NULL with OPTF_NOVALUE) into @obj: 0, or an
	 * exit status with the reason said. */
	int (*parse)(const struct opt *o, const char *arg, void *obj);
	/* OPT_CUSTOM: the value's text into @buf: 1, or 0 to print nothing.
	 * Several values: called with @i = 0, 1, ... until it returns 0. */
	int (*print)(const struct opt *o, const void *obj, int i, char *buf, size_t len);
};

/* An OPT_CUSTOM row's .print for a string field at .off (a row that
 * parses its own way but prints as OPT_STRING does: nothing when NULL). */
int opts_string_print(const struct opt *o, const void *obj, int i, char *buf, size_t len);

/* Take the keywords of @argc/@argv over @obj, by table @t (@n rows);
 * @object names the command in messages ("link": `unknown argument "X"
 * to link; try "xcgn link help"`). 0, or XCGN_EXIT_USAGE with the reason
 * said. */
int opts_parse(const struct opt *t, size_t n, const char *object, int argc, char **argv,
	       void *obj);
/* Every row's default into @obj (zeroed before): .def into its field,
 * .defs for a prefix; flags and custom rows without a field keep 0. */
void opts_defaults(const struct opt *t, size_t n, void *obj);
/* The row of keyword @name, or NULL. */
const struct opt *opts_find(const struct opt *t, size_t n, const char *name);
/* The canonical form of @obj: " NAME VALUE" for each row, a row with
 * OPTF_BREAK on a new line (" \\\n    "), OPTF_HIDE rows and rows whose
 * value is not there left out. */
void opts_print(FILE *f, const struct opt *t, size_t n, const void *obj);

/* As opts_print on one line, and only the rows whose value differs from
 * @def's (@def NULL: every row). */
void opts_print_changed(FILE *f, const struct opt *t, size_t n, const void *obj, const void *def);
/* The synopsis of a command taking table @t: @lead ("Usage: xcgn link
 * attach"), then "[NAME ARG]" for each row, wrapped within 80 columns
 * under the first (or under the lead's own first "[": "Usage: xcgn daemon
 * [config FILE]"), and a newline. */
void opts_synopsis(FILE *f, const char *lead, const struct opt *t, size_t n);
/* "Defaults: NAME VALUE, ...", wrapped within 80 columns, of the rows that
 * have a value in @defobj (opts_defaults' result), ending in ".\n". */
void opts_print_defaults(FILE *f, const struct opt *t, size_t n, const void *defobj);

#endif /* XCGN_LIB_OPTIONS_H */
