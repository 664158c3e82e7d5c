# The tables of `make bench`, from build/bench.json (scripts/bench.sh).
# Every figure is the median [min–max] of its runs; a ratio or a difference
# is taken run by run (xcgn's run i against the reference's run i) and then
# summarised the same way. Run through scripts/bench-report.sh.

def fix(d):
  if . == null then "–"
  elif d == 0 then (round | tostring)
  else (. * pow(10; d) | round) as $x | ($x | fabs | tostring) as $s
    | ("0" * ((d + 1 - ($s | length)) | if . > 0 then . else 0 end)) as $z
    | (($z // "") + $s) as $p
    | (if $x < 0 then "-" else "" end) + $p[0:-d] + "." + $p[-d:]
  end;
# null for no samples (fix prints it as "–")
def med: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
  else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def stat(d): if length == 0 then "–"
  else "\(med | fix(d)) [\(min | fix(d))–\(max | fix(d))]" end;
def signed(d): if . >= 0 then "+" + fix(d) else fix(d) end;
def sstat(d): if length == 0 then "–"
  else "\(med | signed(d)) [\(min | signed(d))–\(max | signed(d))]" end;
# a[i] / b[i] and a[i] - b[i] for the runs both have
def ratio(a; b): [range(0; [(a | length), (b | length)] | min) as $i
  | if b[$i] == 0 then 0 else a[$i] / b[$i] end];
def diff(a; b): [range(0; [(a | length), (b | length)] | min) as $i | a[$i] - b[$i]];
def commas: tostring | if length > 3 then (.[0:-3] | commas) + "," + .[-3:] else . end;
def verdict(ok): if ok then "met" else "**missed**" end;
# a median against a bound, no samples being no verdict at all
def atmost(b): if . == null then "not measured" else verdict(. <= b) end;
def atleast(b): if . == null then "not measured" else verdict(. >= b) end;

# Forwarding samples of one path, in run order (not the setup passes).
def runs_of(p): [.samples[] | select(.path == p and (.setup | not))] | sort_by(.run);
def mpps: map(.m.received / .m.secs / 1e6);
def cpu_ns: map(if .m.received > 0 then .m.busy_ns / .m.received else 0 end);

. as $b
| ($b.testrun.ns) as $t
| ($b.forwarding.flows | commas) as $fl
| ($b.million.flows | commas) as $bl
| ($b.forwarding | runs_of("xcgn") | mpps) as $x4
| ($b.forwarding | runs_of("xdp_forwarder") | mpps) as $f4
| ($b.forwarding | runs_of("nftables") | mpps) as $n4
| ($b.forwarding | runs_of("routing") | mpps) as $r4
| ($b.million | runs_of("xcgn") | mpps) as $x1m
| ($b.million | runs_of("nftables") | mpps) as $n1m
| ($b.sessions | runs_of("xcgn") | map(.m.received / .m.secs)) as $xs
| ($b.sessions | runs_of("nftables") | map(.m.received / .m.secs)) as $ns
| ($b.memory.xcgn | (.map4.bytes + .rev4.bytes) / .map4.entries) as $bpm
| ($b.memory.conntrack | .object_bytes + 8 * .hashsize / .max) as $ctb
| [
  "Measured by `sudo make bench` (\($b.runs) runs a figure) on \($b.machine.cpus) vCPUs (\($b.machine.cpu)), Linux \($b.machine.kernel), \($b.machine.date), commit \($b.machine.commit). Each figure is the median [min–max] of its runs; ratios and differences are taken run by run, xcgn's run *i* against the reference's run *i*.",
  "",
  "**Targets**:",
  "",
  "| target | measured | |",
  "|---|---|---|",
  ( diff($t.snat_deployed; $t.pass) as $d
    | "| established SNAT (reverse-path check, next hop cached) ≤ XDP_PASS + 40 ns | +\($d | med | fix(0)) ns | \($d | med | atmost(40)) |" ),
  ( diff($t.dnat_deployed; $t.pass) as $d
    | "| established DNAT (same) ≤ XDP_PASS + 40 ns | +\($d | med | fix(0)) ns | \($d | med | atmost(40)) |" ),
  ( ratio($x4; $f4) as $r
    | "| \($fl) flows: ≥ 1.0x the plain XDP forwarder | \($r | med | fix(2))x | \($r | med | atleast(1.0)) |" ),
  ( ratio($x4; $n4) as $r
    | "| \($fl) flows: ≥ 3x nftables | \($r | med | fix(2))x | \($r | med | atleast(3)) |" ),
  ( ratio($x1m; $n1m) as $r
    | "| a million mappings: ≥ 6x nftables | \($r | med | fix(2))x | \($r | med | atleast(6)) |" ),
  ( ratio($x1m; $x4) as $r
    | "| a million mappings: ≥ 0.7x xcgn at \($fl) flows | \($r | med | fix(2))x | \($r | med | atleast(0.7)) |" ),
  ( ratio($xs; $ns) as $r
    | "| new sessions a second: ≥ 4x nftables | \($r | med | fix(2))x | \($r | med | atleast(4)) |" ),
  "| state a mapping, both directions: ≤ 128 bytes | \($bpm | fix(0)) bytes | \(verdict($bpm <= 128)) |",
  ( if $b.testrun2 == null then empty
    else [range(0; $b.testrun2.one_ns | length) as $i
          | (1 / $b.testrun2.two_ns[$i][0] + 1 / $b.testrun2.two_ns[$i][1]) * $b.testrun2.one_ns[$i]] as $r
    | "| established path on two CPUs at once: ≥ 1.9x one CPU (test-run, a flow each) | \($r | med | fix(2))x | \($r | med | atleast(1.9)) |"
    end ),
  ( if $b.log == null then empty
    else "| log who, one question, \($b.log.records | commas)-record log: ≤ 50 ms | \($b.log.one_ms | med | fix(0)) ms | \($b.log.one_ms | med | atmost(50)) |",
      "| log who, 1,000 questions, same log: ≤ 1 s | \($b.log.batch_ms | med / 1000 | fix(2)) s | \($b.log.batch_ms | med | atmost(1000)) |"
    end ),
  ( if $b.tcp == null then "| TCP: ≥ 0.9x nftables | not run (BENCH_TCP=0) | |"
    else $b.tcp.samples as $s
    | (["default", "wire"][] as $o | [1, 8][] as $n
      | ["native", "generic"][] as $m
      | ([$s[] | select(.offloads == $o and .streams == $n and .path == "xcgn_" + $m)] | sort_by(.run) | map(.gbps)) as $x
      | ([$s[] | select(.offloads == $o and .streams == $n and .path == "nftables")] | sort_by(.run) | map(.gbps)) as $y
      | ratio($x; $y) as $r
      | "| TCP, \(if $o == "wire" then "wire-sized segments" else "default offloads" end), \($n) stream\(if $n > 1 then "s" else "" end), \($m) XDP: ≥ 0.9x nftables | \($r | med | fix(2))x | \($r | med | atleast(0.9)) |")
    end ),
  "",
  "**Per packet in `BPF_PROG_TEST_RUN`** (`xcgn-bench testrun`: a 64-byte UDP frame of an established flow, repeat \($b.testrun.repeat), one CPU; each run restores the frame and tail-calls the program, and the baseline is the same restore followed by XDP_PASS):",
  "",
  "| program | ns/pkt | over XDP_PASS, ns | over the plain XDP forwarder, ns |",
  "|---|---|---|---|",
  "| XDP_PASS (baseline) | \($t.pass | stat(0)) | | |",
  "| plain XDP forwarder (fib lookup, MACs, redirect; no NAT) | \($t.fwd | stat(0)) | \(diff($t.fwd; $t.pass) | sstat(0)) | |",
  ( [["snat_deployed", "SNAT, as deployed: reverse-path check, next hop cached"],
     ["dnat_deployed", "DNAT, as deployed"],
     ["snat_no_rpf", "SNAT, reverse-path check off"],
     ["dnat_no_rpf", "DNAT, reverse-path check off"],
     ["snat_no_cache", "SNAT, next hop not cached (no daemon)"],
     ["dnat_no_cache", "DNAT, next hop not cached (no daemon)"],
     ["snat_accounting", "SNAT, per-subscriber accounting on"],
     ["dnat_accounting", "DNAT, per-subscriber accounting on"]][] as [$k, $what]
    | "| \($what) | \($t[$k] | stat(0)) | \(diff($t[$k]; $t.pass) | sstat(0)) | \(diff($t[$k]; $t.fwd) | sstat(0)) |" ),
  "",
  "**Session setup in `BPF_PROG_TEST_RUN`** (`xcgn-bench newflows`: each run a new UDP flow; the tables hold \($b.newflows.capacity | commas) mappings; the reference is the least any new mapping costs: a lookup that misses and one insert each way, into hashes of `xcgn_map4`'s and `xcgn_rev4`'s shapes and capacity, behind the same restore):",
  "",
  "| case | ns per new flow | x the insert pair |",
  "|---|---|---|",
  ( ($b.newflows.ns.insert_pair // []) as $pair
    | [["eif_1_8_of_ports", "a known subscriber's new mapping, 1/8 of its ports in use (endpoint-independent filtering)"],
     ["eif_nearly_all_ports", "the same, nearly all its ports in use"],
     ["adf_1_8_of_ports", "the same as the first, address-dependent filtering (a filtering entry too)"],
     ["eif_new_subscriber", "a new subscriber's first mapping (its entry, a block, the log event)"],
     ["insert_pair", "reference: a lookup and an insert pair, no NAT"]][] as [$k, $what]
    | "| \($what) | \($b.newflows.ns[$k] // [] | stat(0)) | \(if $k == "insert_pair" then "" else (ratio($b.newflows.ns[$k]; $pair) | stat(2)) + "x" end) |" ),
  "",
  "**Forwarding** (`xcgn-bench fwd`: 64-byte UDP generated with XDP live frames on the subscriber veth, counted by an XDP sink on the internet side; generator, NAT and sink pinned to one CPU; CPU is all CPUs' busy time over the packets received, generator and sink included, and for xcgn its daemon):",
  "",
  "| path | Mpps | CPU ns/pkt | xcgn's ratio to it |",
  "|---|---|---|---|",
  ( [["routing", "plain kernel routing, \($fl) flows", $r4],
     ["xdp_forwarder", "plain XDP forwarder, \($fl) flows", $f4],
     ["nftables", "nftables SNAT to the same pool, \($fl) flows", $n4],
     ["xcgn", "xcgn as deployed (its daemon running), \($fl) flows", $x4]][] as [$p, $what, $m]
    | "| \($what) | \($m | stat(2)) | \($b.forwarding | runs_of($p) | cpu_ns | stat(0)) | \(if $p == "xcgn" then "" else (ratio($x4; $m) | stat(2)) + "x" end) |" ),
  "| nftables SNAT, \($bl) flows | \($n1m | stat(2)) | \($b.million | runs_of("nftables") | cpu_ns | stat(0)) | \(ratio($x1m; $n1m) | stat(2))x |",
  "| xcgn as deployed, \($bl) live mappings | \($x1m | stat(2)) | \($b.million | runs_of("xcgn") | cpu_ns | stat(0)) | \(ratio($x1m; $x4) | stat(2))x its own \($fl)-flow rate |",
  "",
  "**New sessions a second** (every frame a new flow, \($b.sessions.flows_per_run | commas) a run, from empty state): xcgn \($xs | map(. / 1000) | stat(0))k, nftables \($ns | map(. / 1000) | stat(0))k, ratio \(ratio($xs; $ns) | stat(2))x. Sessions made per run: xcgn \([$b.sessions | runs_of("xcgn")[] | .made] | stat(0)), nftables \([$b.sessions | runs_of("nftables")[] | .made] | stat(0)).",
  "",
  "**State a mapping** (the maps' memory as the kernel accounts it, preallocated to capacity, over the capacity of \($b.memory.xcgn.map4.entries | commas)): xcgn \($bpm | fix(0)) bytes for both directions (`xcgn_map4` \($b.memory.xcgn.map4.bytes / $b.memory.xcgn.map4.entries | fix(0)), `xcgn_rev4` \($b.memory.xcgn.rev4.bytes / $b.memory.xcgn.rev4.entries | fix(0))); an address-dependent pool's filtering entry \($b.memory.xcgn.peer4.bytes / $b.memory.xcgn.peer4.entries | fix(0)) more per remote peer. Linux conntrack: \($ctb | fix(0)) bytes (its \($b.memory.conntrack.object_bytes)-byte slab object and the hash table's share).",
  "",
  ( if $b.log == null then empty
    else $b.log as $l
    | "**log who** (`scripts/bench-logwho.sh`: a \($l.records | commas)-record NAT log of a /26 churning over half a year, questions at random times and ports, \($l.answered) of the 1,000 held by someone; wall time of the command, index brought up to date first): one question \($l.one_ms | stat(0)) ms, 1,000 questions \($l.batch_ms | stat(0)) ms; reading every record instead (the reference, one run): \($l.scan_one_ms | commas) ms and \($l.scan_batch_ms | commas) ms, so \($l.scan_one_ms / ($l.one_ms | med) | fix(0))x and \($l.scan_batch_ms / ($l.batch_ms | med) | fix(0))x. The index: built in \($l.build_ms / 1000 | fix(1)) s, \($l.index_bytes / 1048576 | fix(0)) MiB; its answers are the scan's, every one.",
      "" end ),
  "**Collector**: one pass over \($b.collector.mappings | commas) expired mappings: \($b.collector.pass); \($b.collector.subscribers_left) subscribers left after it.",
  ( if $b.tcp == null then empty
    else $b.tcp as $c
    | "",
      "**TCP** (`make bench-tcp`'s runs: iperf3 \($c.secs) s; Gbit/s, and the median of the retransmissions):",
      "",
      "| end hosts' offloads | streams | plain routing | nftables SNAT | xcgn, native XDP | xcgn, generic XDP | xcgn / nftables, native; generic |",
      "|---|---|---|---|---|---|---|",
      (["default", "wire"][] as $o | [1, 8][] as $n
        | [("routing", "nftables", "xcgn_native", "xcgn_generic") as $p
          | [$c.samples[] | select(.offloads == $o and .streams == $n and .path == $p)] | sort_by(.run)] as [$rt, $nf, $xc, $xg]
        | "| \(if $o == "wire" then "wire-sized segments" else "default (TSO, checksum offload)" end) | \($n) | \($rt | map(.gbps) | stat(2)), \($rt | map(.retransmits) | med | fix(0)) retr. | \($nf | map(.gbps) | stat(2)), \($nf | map(.retransmits) | med | fix(0)) | \($xc | map(.gbps) | stat(2)), \($xc | map(.retransmits) | med | fix(0)) | \($xg | map(.gbps) | stat(2)), \($xg | map(.retransmits) | med | fix(0)) | \(ratio($xc | map(.gbps); $nf | map(.gbps)) | stat(2))x; \(ratio($xg | map(.gbps); $nf | map(.gbps)) | stat(2))x |")
    end )
] | .[]
