// SPDX-License-Identifier: GPL-2.0
/* The names of the datapath's counters and drop reasons, and what each
 * counts: made from the one list of each (xcgn_counters.h). */
#include "lib/lib.h"

const char *const xcgn_stat_name[XCGN_STAT_MAX] = {
#define X(e, v, name, help) [XCGN_STAT_##e] = name,
	XCGN_STAT_LIST(X)
#undef X
};

const char *const xcgn_stat_help[XCGN_STAT_MAX] = {
#define X(e, v, name, help) [XCGN_STAT_##e] = help,
	XCGN_STAT_LIST(X)
#undef X
};

const char *const xcgn_drop_name[XCGN_DROP_MAX] = {
#define X(e, v, name, help) [XCGN_DROP_##e] = name,
	XCGN_DROP_LIST(X)
#undef X
};

const char *const xcgn_drop_help[XCGN_DROP_MAX] = {
#define X(e, v, name, help) [XCGN_DROP_##e] = help,
	XCGN_DROP_LIST(X)
#undef X
};

const char *xcgn_proto_name(uint8_t proto)
{
	switch (proto) {
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 1:
		return "icmp";
	}
	return "other";
}
