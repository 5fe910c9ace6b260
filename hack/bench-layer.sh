#!/usr/bin/env bash
# Benchmark of pkg/layer (writable-layer capture/apply) against GNU tar.
#
# Usage, as root, from anywhere in the repository:
#   hack/bench-layer.sh [WORKDIR]          (default WORKDIR: /var/tmp/arch-bench-layer)
# Environment:
#   RUNS=7          runs per command (the median is reported)
#   SIZE_MB=1024    size of the writable layer
#   SMALL=10000     number of small files (1-64 KiB), the rest in 4 large files
#   DROP_CACHES=1   drop the page cache before every run (default: warm caches,
#                   after a warm-up run, the same for both tools)
# Needs: go, GNU tar, bc, mkfs.ext4 and loop devices, overlayfs; hyperfine if installed (else plain
# repeated runs).
#
# What it measures (same tree, same archive, same kind of target):
#   capture: Capture of overlay A's upperdir        vs  tar -cf x.tar -C upperdir .
#   apply:   Apply+Commit into a fresh overlay B    vs  tar -xf rootfs-diff.tar -C B
#            (B's upperdir on a freshly made ext4, see prep-apply below)
# and prints the medians and the ratios ours/tar (below 1.0: faster than GNU tar).
set -euo pipefail

W=${1:-/var/tmp/arch-bench-layer}
RUNS=${RUNS:-7}
SIZE_MB=${SIZE_MB:-1024}
SMALL=${SMALL:-10000}
REPO=$(cd "$(dirname "$0")/.." && pwd)
export PATH=/usr/local/go/bin:$PATH

[ "$(id -u)" = 0 ] || { echo "run as root (mounts overlays)" >&2; exit 1; }
case "$W" in /*/*) ;; *) echo "WORKDIR must be an absolute path below /: $W" >&2; exit 1 ;; esac

cleanup() {
	umount -l "$W/a/merged" 2>/dev/null || true
	umount -l "$W/b/merged" 2>/dev/null || true
	umount -l "$W/bfs" 2>/dev/null || true
}
trap cleanup EXIT
cleanup
rm -rf "$W"
mkdir -p "$W/lower/etc" "$W/out" "$W/tarout"
echo "image" >"$W/lower/etc/hostname"

echo "== building the test binary"
(cd "$REPO" && go test -c -o "$W/layer.test" ./pkg/layer)
BIN=$W/layer.test

mount_fresh() { # $1: a or b
	umount "$W/$1/merged" 2>/dev/null || true
	rm -rf "${W:?}/$1"
	mkdir -p "$W/$1/upper" "$W/$1/work" "$W/$1/merged"
	mount -t overlay overlay -o "lowerdir=$W/lower,upperdir=$W/$1/upper,workdir=$W/$1/work" "$W/$1/merged"
}

echo "== writing ${SIZE_MB} MiB ($SMALL small files + 4 large) into overlay A"
mount_fresh a
ARCH_BENCH_GEN=$W/a/merged ARCH_BENCH_SMALL=$SMALL ARCH_BENCH_MB=$SIZE_MB \
	"$BIN" -test.run '^TestGenerateBenchTree$' -test.count=1 >/dev/null
sync
du -sh "$W/a/upper"

PREP="sync"
if [ "${DROP_CACHES:-0}" = 1 ]; then PREP="sync; echo 3 >/proc/sys/vm/drop_caches"; fi

# one small script per command and per preparation
write() { printf '%s\n' "$2" >"$W/$1.sh"; }
write capture-ours "ARCH_BENCH_UPPER=$W/a/upper ARCH_BENCH_LOWER=$W/lower ARCH_BENCH_MERGED=$W/a/merged ARCH_BENCH_OUT=$W/out exec $BIN -test.run '^\$' -test.bench '^BenchmarkCapture\$' -test.benchtime 1x"
write capture-tar "exec tar -cf $W/tarout/x.tar -C $W/a/upper ."
write apply-ours "ARCH_BENCH_ROOTFS=$W/b/merged ARCH_BENCH_IN=$W/out exec $BIN -test.run '^\$' -test.bench '^BenchmarkApply\$' -test.benchtime 1x"
write apply-tar "exec tar -xf $W/out/rootfs-diff.tar -C $W/b/merged"
write prep-capture "rm -f $W/out/rootfs-diff.tar $W/tarout/x.tar; $PREP"
# Each apply run gets a fresh overlay B over the same lower layer, its
# upperdir on a freshly made ext4 (loop device): on a filesystem where
# thousands of files were just deleted, ext4's inode allocator spends
# most of the time skipping recently deleted inodes, for both tools alike,
# and the numbers would measure that.
BFS_MB=$((SIZE_MB * 2 + 1024))
write prep-apply "umount $W/b/merged 2>/dev/null; umount $W/bfs 2>/dev/null
rm -f $W/bfs.img; truncate -s ${BFS_MB}M $W/bfs.img
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 $W/bfs.img
mkdir -p $W/bfs $W/b/merged; mount -o loop $W/bfs.img $W/bfs; mkdir -p $W/bfs/upper $W/bfs/work
mount -t overlay overlay -o lowerdir=$W/lower,upperdir=$W/bfs/upper,workdir=$W/bfs/work $W/b/merged; $PREP"

# median of a list of seconds on stdin
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# measure NAME PREP: prints the median wall time (s) of $W/NAME.sh
measure() {
	local name=$1 prep=$2
	if command -v hyperfine >/dev/null; then
		hyperfine -N --style basic --warmup 1 --runs "$RUNS" --prepare "bash $W/$prep.sh" \
			--export-csv "$W/$name.csv" -n "$name" "bash $W/$name.sh" >&2
		awk -F, 'NR == 2 {print $4}' "$W/$name.csv"
	else
		local t
		bash "$W/$prep.sh"
		bash "$W/$name.sh" >/dev/null # warm-up
		for _ in $(seq "$RUNS"); do
			bash "$W/$prep.sh"
			t=$(date +%s.%N)
			bash "$W/$name.sh" >/dev/null
			echo "$(date +%s.%N) - $t" | bc -l
		done | median
	fi
}

echo "== capture ($RUNS runs each)"
c_ours=$(measure capture-ours prep-capture)
c_tar=$(measure capture-tar prep-capture)
bash "$W/capture-ours.sh" >/dev/null # the archive both apply from

echo "== apply ($RUNS runs each)"
a_ours=$(measure apply-ours prep-apply)
a_tar=$(measure apply-tar prep-apply)

printf '\n%-8s %12s %12s %8s\n' "" "ours (s)" "GNU tar (s)" "ratio"
printf "| %-52s | %9.3fs | %9.3fs | %6.2f | %-14s |\n" "capture ${SIZE_MB} MiB writable layer vs GNU tar -c" "$c_ours" "$c_tar" "$(echo "$c_ours / $c_tar" | bc -l)" "<= 1.0"
printf "| %-52s | %9.3fs | %9.3fs | %6.2f | %-14s |\n" "apply ${SIZE_MB} MiB writable layer vs GNU tar -x" "$a_ours" "$a_tar" "$(echo "$a_ours / $a_tar" | bc -l)" "<= 1.0"
