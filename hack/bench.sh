#!/usr/bin/env bash
# `make bench`: every ARCH benchmark next to its baseline, measured in the
# same run on this machine (shared, noisy machines: only ratios measured
# together mean anything), as one table. Run as root after `make build`.
#   MIB=256 RUNS=5   checkpoint/restore workload size and rounds
#   DRAIN_SMALL_N=200 many small containers drained (4 MiB each), then restored
#   QUICK=1          smaller sizes, fewer runs (a smoke run)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:/usr/local/sbin:$PATH
[ "$(id -u)" = 0 ] || { echo "bench: run as root (sudo make bench)" >&2; exit 1; }
MIB=${MIB:-256}; RUNS=${RUNS:-5}; PT_RUNS=${PT_RUNS:-400}; LAYER_MB=${LAYER_MB:-1024}
DRAIN_N=${DRAIN_N:-20}; DRAIN_MIB=${DRAIN_MIB:-64}; FP_FILES=${FP_FILES:-10000}
DRAIN_SMALL_N=${DRAIN_SMALL_N:-200}; DRAIN_SMALL_MIB=4
if [ "${QUICK:-0}" = 1 ]; then MIB=32; RUNS=2; PT_RUNS=60; LAYER_MB=64; DRAIN_N=4; DRAIN_MIB=16; DRAIN_SMALL_N=20; fi

go build -o bin/bench ./hack/bench
LOG=$(mktemp /tmp/arch-bench-XXXX.log)   # progress and per-phase details
echo "# details: $LOG"
echo "# ARCH benchmarks on $(hostname): $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# $(date -u +%FT%TZ); runc $(runc --version | awk 'NR==1{print $3}'), CRIU $(criu --version | awk 'NR==1{print $2}')"
echo
bin/bench passthrough -runs "$PT_RUNS" 2>>"$LOG"
for c in zstd none; do
  bin/bench ckpt -mib "$MIB" -runs "$RUNS" -compression "$c" 2>>"$LOG" | tail -n +3
done
bin/bench ckpt -mib "$MIB" -runs 1 -compression zstd -fill zero 2>>"$LOG" | grep '^image:'
SIZE_MB=$LAYER_MB RUNS=$RUNS hack/bench-layer.sh /var/tmp/arch-bench-layer 2>>"$LOG" | tee -a "$LOG" | grep '^|'
bin/bench drain -containers "$DRAIN_N" -mib "$DRAIN_MIB" 2>>"$LOG" | tail -n +3
bin/bench drain -containers "$DRAIN_SMALL_N" -mib "$DRAIN_SMALL_MIB" -sequential=false -restore 2>>"$LOG" | tail -n +3
bin/bench ctrckpt -mib "$MIB" -runs "$RUNS" 2>>"$LOG" | tail -n +3
bin/bench fingerprint -files "$FP_FILES" -runs "$RUNS" 2>>"$LOG" | tail -n +3
# Without podman this prints one line saying the row is skipped.
bin/bench podman -mib "$MIB" -runs "$RUNS" 2>>"$LOG" | sed '/^| benchmark (median)/,+1d'
