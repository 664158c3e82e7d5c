// SPDX-License-Identifier: GPL-2.0
/* The pinned layout as an ABI: its description, its fingerprint, and the
 * stamp that every command checks before it reads a pinned map.
 *
 * The description is made from the BTF of the datapath's own object (the
 * skeleton carries it), not from a list kept by hand: for every pinned map
 * (XCGN_PINNED_MAPS) its type, key and value sizes, flags and the full
 * layout of key and value types (members, offsets, sizes, arrays), and the
 * values of every enum of the ABI. A field that moves, a counter that is
 * inserted, a map that changes type, all change the text. tests/abi/
 * keeps the text of each released version: `make test` fails when the text
 * changes and XCGN_ABI_VERSION does not. The fingerprint is FNV-1a over
 * the text. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "datapath/datapath.h"


struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void __printf(2, 3) sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		if (xcgn_grow(&b->p, &b->cap, b->len + (size_t)n + 4096, 1)) {
			b->oom = true;
			return;
		}
	}
}

/* One type, recursively; a struct already described is named only. */
static void describe_type(struct sbuf *b, const struct btf *btf, __u32 id, int depth,
			  unsigned char *seen)
{
	const struct btf_type *t;
	const char *name;
	__u16 i;

	id = btf__resolve_type(btf, id) < 0 ? id : (__u32)btf__resolve_type(btf, id);
	t = btf__type_by_id(btf, id);
	if (!t || depth > 8) {
		sb_add(b, "?");
		return;
	}
	name = btf__name_by_offset(btf, t->name_off);
	switch (btf_kind(t)) {
	case BTF_KIND_INT:
		sb_add(b, "%s%u", (btf_int_encoding(t) & BTF_INT_SIGNED) ? "s" : "u",
		       btf_int_bits(t));
		break;
	case BTF_KIND_ENUM:
		sb_add(b, "enum %s:%u", name && *name ? name : "?", t->size);
		break;
	case BTF_KIND_ARRAY: {
		const struct btf_array *a = btf_array(t);

		describe_type(b, btf, a->type, depth + 1, seen);
		sb_add(b, "[%u]", a->nelems);
		break;
	}
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION: {
		const struct btf_member *m = btf_members(t);

		sb_add(b, "%s %s:%u", btf_is_union(t) ? "union" : "struct",
		       name && *name ? name : "?", t->size);
		if (id < 65536 && seen[id / 8] & (1u << (id % 8)))
			break;
		if (id < 65536)
			seen[id / 8] |= (unsigned char)(1u << (id % 8));
		sb_add(b, "{");
		for (i = 0; i < btf_vlen(t); i++, m++) {
			const char *mn = btf__name_by_offset(btf, m->name_off);

			sb_add(b, "%s%s@%u", i ? "," : "", mn && *mn ? mn : "?",
			       btf_member_bit_offset(t, i));
			if (btf_member_bitfield_size(t, i))
				sb_add(b, ":%ub", btf_member_bitfield_size(t, i));
			sb_add(b, "=");
			describe_type(b, btf, m->type, depth + 1, seen);
		}
		sb_add(b, "}");
		break;
	}
	case BTF_KIND_PTR:
		sb_add(b, "ptr");
		break;
	default:
		sb_add(b, "kind%u", btf_kind(t));
	}
}

static const struct btf_type *map_def_member(const struct btf *btf, const char *map,
					      const char *member, __u32 *type_id)
{
	const struct btf_type *sec, *var, *def;
	const struct btf_var_secinfo *vs;
	const struct btf_member *m;
	__s32 sid = btf__find_by_name_kind(btf, ".maps", BTF_KIND_DATASEC);
	__u16 i, j;

	if (sid < 0)
		return NULL;
	sec = btf__type_by_id(btf, (__u32)sid);
	vs = btf_var_secinfos(sec);
	for (i = 0; i < btf_vlen(sec); i++, vs++) {
		var = btf__type_by_id(btf, vs->type);
		if (!var || strcmp(btf__name_by_offset(btf, var->name_off), map))
			continue;
		def = btf__type_by_id(btf, btf__resolve_type(btf, var->type));
		if (!def || !btf_is_struct(def))
			return NULL;
		m = btf_members(def);
		for (j = 0; j < btf_vlen(def); j++, m++) {
			const struct btf_type *pt;

			if (strcmp(btf__name_by_offset(btf, m->name_off), member))
				continue;
			pt = btf__type_by_id(btf, m->type);	/* a pointer to the type */
			if (!pt || !btf_is_ptr(pt))
				return NULL;
			*type_id = pt->type;
			return btf__type_by_id(btf, pt->type);
		}
		return NULL;
	}
	return NULL;
}

/* The layout text of the object in @elf. NULL with errno set. */
const char *const xcgn_map_names[XCGN_NMAPS] = {
#define X(f, size) XSTR(xcgn_##f),
	XCGN_PINNED_MAPS(X)
#undef X
};
_Static_assert(sizeof(struct xcgn_maps) == XCGN_NMAPS * sizeof(int), "struct xcgn_maps is the list");

bool xcgn_map_is_pinned(const char *name)
{
	size_t i;

	for (i = 0; i < XCGN_NMAPS; i++)
		if (!strcmp(name, xcgn_map_names[i]))
			return true;
	return false;
}

static char *layout_of(const void *elf, size_t elf_len)
{
	const char *const *pinned = xcgn_map_names;
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "xcgn_abi");
	unsigned char *seen = calloc(65536 / 8, 1);
	struct sbuf b = {};
	struct bpf_object *obj;
	struct bpf_map *map;
	const struct btf *btf;
	size_t i;
	__u32 id, n;
	int err = 0;

	if (!seen)
		return NULL;
	libbpf_set_print(NULL);
	obj = bpf_object__open_mem(elf, elf_len, &oo);
	if (!obj) {
		err = -errno;
		free(seen);
		errno = -err;
		return NULL;
	}
	btf = bpf_object__btf(obj);
	sb_add(&b, "xcgn abi %d\n", XCGN_ABI_VERSION);
	for (i = 0; btf && i < XCGN_NMAPS; i++) {
		const char *kinds[] = { "key", "value" };
		size_t k;

		map = bpf_object__find_map_by_name(obj, pinned[i]);
		if (!map) {
			sb_add(&b, "map %s missing\n", pinned[i]);
			continue;
		}
		sb_add(&b, "map %s type %d key %u value %u flags %#x pinned %d\n", pinned[i],
		       bpf_map__type(map), bpf_map__key_size(map), bpf_map__value_size(map),
		       bpf_map__map_flags(map), !!bpf_map__pin_path(map));
		for (k = 0; k < ARRAY_SIZE(kinds); k++) {
			if (!map_def_member(btf, pinned[i], kinds[k], &id))
				continue;
			sb_add(&b, "  %s ", kinds[k]);
			describe_type(&b, btf, id, 0, seen);
			sb_add(&b, "\n");
		}
	}
	/* A pinned map missing from the list would escape every check. */
	bpf_object__for_each_map(map, obj) {
		bool listed = false;

		listed = xcgn_map_is_pinned(bpf_map__name(map));
		if (bpf_map__pin_path(map) && !listed)
			sb_add(&b, "map %s pinned but not in XCGN_PINNED_MAPS\n", bpf_map__name(map));
	}
	if (btf) {
		__s32 aid = btf__find_by_name_kind(btf, "xcgn_abi_anchor", BTF_KIND_STRUCT);

		sb_add(&b, "records ");
		if (aid > 0)
			describe_type(&b, btf, (__u32)aid, 0, seen);
		sb_add(&b, "\n");
	}
	n = btf ? btf__type_cnt(btf) : 0;
	for (id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const char *name = btf__name_by_offset(btf, t->name_off);
		const struct btf_enum *e;
		__u16 j;

		if (!btf_is_enum(t) || strncmp(name, "xcgn_", 5))
			continue;
		sb_add(&b, "enum %s", name);
		e = btf_enum(t);
		for (j = 0; j < btf_vlen(t); j++, e++)
			sb_add(&b, " %s=%d", btf__name_by_offset(btf, e->name_off), e->val);
		sb_add(&b, "\n");
	}
	bpf_object__close(obj);
	free(seen);
	if (!btf || b.oom) {
		free(b.p);
		errno = btf ? ENOMEM : ENOENT;
		return NULL;
	}
	return b.p;
}

const char *xcgn_abi_layout(void)
{
	static char *text;
	size_t len;
	const void *elf;

	if (!text) {
		elf = xcgn_xdp_elf(&len);
		text = layout_of(elf, len);
	}
	return text;
}

uint64_t xcgn_abi_fingerprint(void)
{
	static uint64_t h;
	const char *p = xcgn_abi_layout();

	if (!h && p) {
		h = 0xcbf29ce484222325ULL;
		for (; *p; p++)
			h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	}
	return h;
}

void xcgn_abi_stamp_make(struct xcgn_abi_stamp *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->magic, XCGN_ABI_MAGIC, sizeof(s->magic));
	s->version = XCGN_ABI_VERSION;
	s->fingerprint = xcgn_abi_fingerprint();
	snprintf(s->build, sizeof(s->build), "%s", xcgn_version);
}

int xcgn_abi_check(int stamp_fd, const char *dir)
{
	struct xcgn_abi_stamp s = {}, mine;
	__u32 zero = 0;

	xcgn_abi_stamp_make(&mine);
	if (!mine.fingerprint) {
		xcgn_err("cannot read this binary's own layout: %s", strerror(errno));
		return -EINVAL;
	}
	if (bpf_map_lookup_elem(stamp_fd, &zero, &s) || memcmp(s.magic, mine.magic, 8)) {
		xcgn_err("%s holds no layout stamp: it was not pinned by a complete `xcgn link "
			 "attach` of abi %d; run `xcgn link detach` and attach again",
			 dir, XCGN_ABI_VERSION);
		return -EINVAL;
	}
	if (s.version != mine.version || s.fingerprint != mine.fingerprint) {
		xcgn_err("the pinned state under %s has layout abi %u/%016llx (xcgn %.32s), this "
			 "binary reads abi %u/%016llx (xcgn %s): it would misread it. Run `xcgn "
			 "link reload` with this binary to move the state to its layout, or use "
			 "the binary that attached",
			 dir, s.version, (unsigned long long)s.fingerprint, s.build, mine.version,
			 (unsigned long long)mine.fingerprint, xcgn_version);
		return -EPROTO;
	}
	return 0;
}
