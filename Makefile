# SPDX-License-Identifier: GPL-2.0
# xcgn: one Makefile, outputs in build/, quiet unless V=1.
#
#   make            build bpf objects, skeleton and the xcgn binary
#   make demo       namespaces + xcgn + real traffic, on its own defaults
#   make test       every test layer (unit, unit under ASan/UBSan, bpf, integration,
#                   the RFC conformance suite)
#   make bench      BPF_PROG_TEST_RUN and forwarding figures, xcgn beside nftables
#   make soak       an hour of churn with daemon kills and reloads (SOAK_SECONDS=N)

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps test test-unit test-unit-san test-bpf test-abi test-integration test-conformance \
	conformance-table demo bench soak check clean help

BUILD     ?= build
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
CLANG     ?= clang
BPFTOOL   ?= bpftool
CC        ?= gcc

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# clang's own and the system's include dirs, after ours (libbpf-bootstrap idea).
CLANG_BPF_SYS_INCLUDES := $(shell $(CLANG) -v -E - </dev/null 2>&1 | \
	sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
	-Wall -Wextra -Wshadow -Werror -Iinclude -Ibpf $(CLANG_BPF_SYS_INCLUDES)

WFLAGS := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
CFLAGS ?= -O2 -g
XCFLAGS := -std=gnu11 $(CFLAGS) $(WFLAGS) -Iinclude -I$(BUILD) -Iuser
LDLIBS := $(shell pkg-config --libs libbpf libmnl 2>/dev/null || echo -lbpf -lelf -lz -lmnl)
ifeq ($(SANITIZE),1)
XCFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif

HDRS     := $(wildcard include/*.h)
BPF_HDRS := $(wildcard bpf/lib/*.h) $(HDRS)
USER_HDRS := $(wildcard user/*.h) $(HDRS) $(BUILD)/xcgn_xdp.skel.h $(BUILD)/xcgn_gc.skel.h
LIB_SRCS := $(filter-out user/main.c,$(wildcard user/*.c))
LIB_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(LIB_SRCS))

all: $(BUILD)/xcgn

help:
	@sed -n 's/^#   //p' Makefile

# Fail early on a too-old libbpf: the project targets Debian's 1.1.
$(BUILD)/.libbpf-ok:
	$(Q)mkdir -p $(BUILD)
	$(Q)v=$$(pkg-config --modversion libbpf 2>/dev/null) || { echo "xcgn: libbpf not found; run scripts/deps.sh" >&2; exit 1; }; \
	case "$$v" in 0.*) echo "xcgn: libbpf $$v is too old (need >= 1.1)" >&2; exit 1;; esac
	$(Q)touch $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(BUILD)/.libbpf-ok
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(notdir $*) > $@

$(BUILD)/user/%.o: user/%.c $(USER_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(XCFLAGS) -c $< -o $@

$(BUILD)/libxcgn.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(BUILD)/xcgn: $(BUILD)/user/main.o $(BUILD)/libxcgn.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# ---- tests ------------------------------------------------------------------

UNIT_SRCS := $(wildcard tests/unit/*.c) tests/lib/pkt.c
BPFT_SRCS := $(wildcard tests/bpf/*.c) tests/lib/pkt.c tests/lib/bpfenv.c
TEST_LIBS := $(LDLIBS) -lcriterion -pthread

$(BUILD)/test-unit: $(UNIT_SRCS) $(BUILD)/libxcgn.a $(HDRS) $(wildcard tests/lib/*.h)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(XCFLAGS) -Itests $(LDFLAGS) -o $@ $(UNIT_SRCS) $(BUILD)/libxcgn.a $(TEST_LIBS)

$(BUILD)/test-bpf: $(BPFT_SRCS) $(BUILD)/libxcgn.a $(USER_HDRS) $(wildcard tests/lib/*.h)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(XCFLAGS) -Itests $(LDFLAGS) -o $@ $(BPFT_SRCS) $(BUILD)/libxcgn.a $(TEST_LIBS)

deps:
	$(Q)scripts/deps.sh

test: deps
	$(Q)$(MAKE) --no-print-directory all $(BUILD)/test-unit $(BUILD)/test-bpf
	$(Q)$(MAKE) --no-print-directory test-unit
	$(Q)$(MAKE) --no-print-directory test-unit-san
	$(Q)$(MAKE) --no-print-directory test-bpf
	$(Q)$(MAKE) --no-print-directory test-abi
	$(Q)$(MAKE) --no-print-directory test-integration
	$(Q)$(MAKE) --no-print-directory test-conformance

test-unit: $(BUILD)/test-unit
	$(Q)$(BUILD)/test-unit --jobs=2

# The same unit tests, built separately under AddressSanitizer and UBSan.
test-unit-san:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/san SANITIZE=1 $(BUILD)/san/test-unit
	$(Q)ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(BUILD)/san/test-unit --jobs=2

test-bpf: $(BUILD)/test-bpf $(BUILD)/xcgn
	$(Q)$(BUILD)/test-bpf --jobs=1

# The pinned layout against the one kept for its version (tests/abi/).
test-abi: $(BUILD)/xcgn
	$(Q)tests/abi/check.sh

# The last release of layout 2, built from git, for the live migration test.
ABI_V2_COMMIT := $(shell cat tests/abi/v2.commit)
$(BUILD)/abi-v2/xcgn:
	$(call msg,BUILD,$@ from $(ABI_V2_COMMIT))
	$(Q)rm -rf $(BUILD)/abi-v2 && mkdir -p $(BUILD)/abi-v2/src
	$(Q)git archive $(ABI_V2_COMMIT) | tar -x -C $(BUILD)/abi-v2/src
	$(Q)$(MAKE) --no-print-directory -C $(BUILD)/abi-v2/src BUILD=build all
	$(Q)cp $(BUILD)/abi-v2/src/build/xcgn $@

test-integration: $(BUILD)/xcgn $(BUILD)/abi-v2/xcgn
	$(Q)tests/integration/run.sh

# One test per RFC requirement; the README's table must be what it found.
test-conformance: $(BUILD)/xcgn
	$(Q)tests/conformance/run.sh $(BUILD)/conformance.tsv
	$(Q)tests/conformance/table.sh --check $(BUILD)/conformance.tsv

# Rewrite the README's table from the last run of the suite.
conformance-table:
	$(Q)tests/conformance/table.sh --write $(BUILD)/conformance.tsv

soak: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/integration/run.sh soak_durable_churn

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all $(BUILD)/xcgn-bench
	$(Q)scripts/bench.sh

$(BUILD)/xcgn-bench: tests/bench/bench.c tests/lib/pkt.c tests/lib/bpfenv.c $(BUILD)/libxcgn.a $(USER_HDRS) $(BUILD)/bench_pass.skel.h $(BUILD)/bench_gen.skel.h
	$(call msg,LINK,$@)
	$(Q)$(CC) $(XCFLAGS) -Itests $(LDFLAGS) -o $@ tests/bench/bench.c tests/lib/pkt.c tests/lib/bpfenv.c $(BUILD)/libxcgn.a $(LDLIBS)

$(BUILD)/bench_%.bpf.o: tests/bench/bench_%.bpf.c $(BPF_HDRS) | $(BUILD)/.libbpf-ok
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# Static checks: shellcheck on every script, the clang static analyzer on
# user/. The generated skeletons trip unix.Malloc (a false leak in bpftool's
# generated open code), so that one checker is off for the files that
# include them.
check: deps $(BUILD)/xcgn_xdp.skel.h $(BUILD)/xcgn_gc.skel.h
	$(Q)shellcheck -x -e SC1091,SC2034 -S warning scripts/*.sh tests/integration/*.sh tests/conformance/*.sh tests/abi/*.sh .ci/run
	$(Q)for f in user/*.c; do \
		x=; grep -q 'skel\.h' $$f && x="-Xanalyzer -analyzer-disable-checker=unix.Malloc"; \
		$(CLANG) --analyze -Xanalyzer -analyzer-werror $$x -std=gnu11 -Iinclude -Iuser \
			-isystem $(BUILD) -o /dev/null $$f || exit 1; \
	done
	@echo "check: shellcheck and the static analyzer found nothing"

clean:
	$(Q)rm -rf $(BUILD)
