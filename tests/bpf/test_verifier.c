// SPDX-License-Identifier: GPL-2.0
/* Verifier headroom as a number (issue 13 item 5): every program loaded
 * as attach loads it (real rodata: zero constants would prune code the
 * kernel verifies in production), its verified instructions and its
 * deepest stack path measured, and a margin kept under both limits, so the
 * next feature does not meet the 512-byte wall by surprise.
 *
 * The kernel's log (BPF_LOG_STATS) gives each subprogram's own stack; the
 * deepest path is what the kernel checks (check_max_stack_depth): each frame
 * rounded up to 32 bytes, summed along bpf-to-bpf calls and callback
 * references, which this test follows in the program's translated
 * instructions. */
#include <criterion/criterion.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "env.h"

#define STACK_LIMIT	512
#define STACK_MARGIN	64		/* bytes kept free on the deepest path */
#define INSN_LIMIT	1000000
#define INSN_BUDGET	(INSN_LIMIT / 2)	/* verified instructions, at most */
#define SUBPROGS_MAX	64

struct prog_stats {
	unsigned long insns;
	int nsub;
	unsigned int depth[SUBPROGS_MAX];	/* each subprogram's own frame */
	__u32 start[SUBPROGS_MAX];		/* its first instruction */
	unsigned int worst;			/* the deepest path, rounded as the kernel does */
};

static int parse_log(const char *log, struct prog_stats *s)
{
	const char *p = strstr(log, "processed ");
	char *end;

	if (!p)
		return -1;
	s->insns = strtoul(p + 10, NULL, 10);
	p = strstr(log, "stack depth ");
	if (!p)
		return -1;
	p += 12;
	for (s->nsub = 0; s->nsub < SUBPROGS_MAX; s->nsub++) {
		s->depth[s->nsub] = (unsigned int)strtoul(p, &end, 10);
		if (end == p)
			return -1;
		p = end;
		if (*p != '+') {
			s->nsub++;
			return 0;
		}
		p++;
	}
	return -1;
}

static int sub_of(const struct prog_stats *s, __u32 insn)
{
	int i;

	for (i = s->nsub - 1; i >= 0; i--)
		if (insn >= s->start[i])
			return i;
	return 0;
}

static unsigned int frame(unsigned int depth)
{
	return ((depth ? depth : 1) + 31) & ~31u;
}

/* The deepest stack from subprogram @i down, as the kernel sums it. */
static unsigned int deepest(const struct prog_stats *s, const struct bpf_insn *in, __u32 n, int i,
			    int level)
{
	__u32 k, first = s->start[i], last = i + 1 < s->nsub ? s->start[i + 1] : n;
	unsigned int best = 0, d;

	cr_assert_lt(level, 16, "call chain deeper than the kernel allows");
	for (k = first; k < last; k++) {
		int callee;

		if (!((in[k].code == (BPF_JMP | BPF_CALL) && in[k].src_reg == BPF_PSEUDO_CALL) ||
		      (in[k].code == (BPF_LD | BPF_IMM | BPF_DW) &&
		       in[k].src_reg == BPF_PSEUDO_FUNC)))
			continue;
		/* A JITed program's dump has a call's subprogram index in imm
		 * and its relative offset in off; a callback reference keeps
		 * its offset in imm. */
		if (in[k].code == (BPF_JMP | BPF_CALL) && in[k].imm >= 0 && in[k].imm < s->nsub &&
		    sub_of(s, (__u32)((int)k + in[k].off + 1)) == in[k].imm)
			callee = in[k].imm;
		else
			callee = sub_of(s, (__u32)((int)k + in[k].imm + 1));
		if (callee == i)
			continue;
		d = deepest(s, in, n, callee, level + 1);
		if (d > best)
			best = d;
	}
	return frame(s->depth[i]) + best;
}

static void measure(int fd, const char *name, const char *log, struct prog_stats *s)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), nfunc, ninsn;
	struct bpf_func_info *fi;
	struct bpf_insn *insns;
	int i;

	cr_assert_eq(parse_log(log, s), 0, "%s: no statistics in the verifier log:\n%s", name, log);
	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0, "%s: prog info", name);
	nfunc = info.nr_func_info;
	ninsn = info.xlated_prog_len / sizeof(struct bpf_insn);
	cr_assert_eq((int)nfunc, s->nsub, "%s: %u functions, %d stack depths", name, nfunc,
		     s->nsub);
	fi = calloc(nfunc, sizeof(*fi));
	insns = calloc(ninsn, sizeof(*insns));
	cr_assert(fi && insns);
	memset(&info, 0, sizeof(info));
	info.nr_func_info = nfunc;
	info.func_info_rec_size = sizeof(*fi);
	info.func_info = (__u64)(unsigned long)fi;
	info.xlated_prog_len = ninsn * sizeof(*insns);
	info.xlated_prog_insns = (__u64)(unsigned long)insns;
	len = sizeof(info);
	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0, "%s: prog info", name);
	for (i = 0; i < s->nsub; i++)
		s->start[i] = fi[i].insn_off;
	s->worst = deepest(s, insns, ninsn, 0, 0);
	free(fi);
	free(insns);
}

static void report(struct bpf_object *obj)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, obj) {
		const char *name = bpf_program__name(p);
		struct prog_stats s = {};
		const char *log = NULL;
		int i;

		for (i = 0; i < env.nvlog; i++)
			if (!strcmp(env.vlog[i].prog, name))
				log = env.vlog[i].log;
		cr_assert(log, "%s: no verifier log kept", name);
		measure(bpf_program__fd(p), name, log, &s);
		printf("verifier: %-20s %7lu insns verified (%4.1f%% of the limit), deepest stack "
		       "%3u of %u bytes (headroom %3u); frames",
		       name, s.insns, 100.0 * (double)s.insns / INSN_LIMIT, s.worst, STACK_LIMIT,
		       STACK_LIMIT - s.worst);
		for (i = 0; i < s.nsub; i++)
			printf("%c%u", i ? '+' : ' ', s.depth[i]);
		printf("\n");
		cr_expect_leq(s.worst + STACK_MARGIN, STACK_LIMIT,
			      "%s: the deepest stack path is %u bytes: less than %u bytes of "
			      "headroom left (make room: per-CPU scratch, split subprograms)",
			      name, s.worst, STACK_MARGIN);
		cr_expect_leq(s.insns, INSN_BUDGET,
			      "%s: %lu instructions verified, over the budget of %u", name, s.insns,
			      INSN_BUDGET);
	}
}

static void setup_stats(void)
{
	bpfenv_verifier_stats = 1;
	env_setup_default();
}

Test(verifier, every_program_keeps_headroom, .init = setup_stats, .fini = env_teardown)
{
	struct xcgn_gc *gc = bpfenv_load_gc(&env);

	cr_assert(gc, "the control programs load");
	report(env.skel->obj);
	report(gc->obj);
	fflush(stdout);
	xcgn_gc__destroy(gc);
}
