#!/usr/bin/env bash
# `make demo`: ARCH's main job, end to end, on a private containerd.
# A counter runs with ARCH_ENABLE=1; `ctr task checkpoint` stops it into
# ARCH's store; the task and container are removed; `ctr run` of the same
# container restores it and the count goes on where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/lib/containerd.sh
[ "$(id -u)" = 0 ] || { echo "demo: run as root (sudo make demo)" >&2; exit 1; }

DEMO=$(mktemp -d /tmp/arch-demo-XXXX)
trap 'ctrd_stop; rm -rf "$DEMO"' EXIT
cat >"$DEMO/arch.conf" <<CONF
log_file = $DEMO/arch.log
state_dir = $DEMO/state
store = $DEMO/store
staging_dir = $DEMO/staging
CONF
CTRD_ENV=(ARCH_CONFIG="$DEMO/arch.conf")
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
lastcount() { tail -n1 "$DEMO/counter.log"; }

say "starting a private containerd (state under $DEMO)"
ctrd_start "$DEMO/ctrd"
go run ./hack/mkimage -o "$DEMO/counter.tar"
ctrd image import "$DEMO/counter.tar" >/dev/null
IMG=docker.io/arch-test/shell-counter:latest
run() {
  ctrd run -d --runc-binary "$PWD/bin/arch-wrapper" --runc-root "$DEMO/ctrd/runc" \
    --env ARCH_ENABLE=1 --log-uri "file://$DEMO/counter.log" "$IMG" counter
}

say "ctr run: a counter with ARCH_ENABLE=1, printing 1, 2, 3... every 100 ms"
run
sleep 3
echo "count so far: $(lastcount)"

say "ctr task checkpoint counter  (ARCH commits the dump to its store, then stops the task)"
ctrd task checkpoint counter
ctrd task ls
STOPPED_AT=$(lastcount)
echo "the counter stopped at $STOPPED_AT"
ls -l "$DEMO/store"/*/
bin/arch-hook list --store "$DEMO/store" 2>/dev/null || true

say "ctr task rm; ctr container rm; ctr run again (same container): ARCH restores it"
ctrd task rm counter >/dev/null 2>&1 || true
ctrd container rm counter
run
sleep 2
ctrd task ls
FIRST=$(awk -v s="$STOPPED_AT" 'NR>s{print; exit}' "$DEMO/counter.log")
echo "after the restore the counter printed $FIRST next (stopped at $STOPPED_AT), now at $(lastcount)"
if [ "$FIRST" = "$((STOPPED_AT + 1))" ]; then
  say "the count continued: ARCH restored the container"
else
  say "the count did NOT continue (see $DEMO/arch.log)"; cat "$DEMO/arch.log"; exit 1
fi
grep -h '"msg":"create turned into restore"' "$DEMO/arch.log" | head -1
