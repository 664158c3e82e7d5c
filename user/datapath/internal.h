/* SPDX-License-Identifier: GPL-2.0 */
/* What the datapath's files share among themselves and no one else:
 *   bpffs.c   the pin directory, its lock, instances, their removal
 *   maps.c    the pinned maps by the one list, and their sizes
 *   load.c    the objects loaded (sized by the list), the libbpf log
 *   attach.c  attach and detach
 *   reload.c  the running programs replaced, older layouts moved */
#ifndef XCGN_DATAPATH_INTERNAL_H
#define XCGN_DATAPATH_INTERNAL_H

#include <stdarg.h>

#include <bpf/libbpf.h>

#include "datapath/datapath.h"

/* The pins at @dir serve a namespace that is gone: say so, and how to
 * remove them. */
void xcgn_say_stale(const char *dir);
/* libbpf's print callback: quiet unless -v, the warnings kept. */
int xcgn_libbpf_print(enum libbpf_print_level lvl, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* The last @lines of what libbpf warned (the verifier's verdict). */
void xcgn_libbpf_log_tail(int lines);

#endif /* XCGN_DATAPATH_INTERNAL_H */
