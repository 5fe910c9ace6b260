# Shell helpers for a private containerd (sourced by demo.sh and bench.sh).
# Everything lives under $CTRD_DIR; the system containerd, if any, is not touched.

ctrd_start() { # $1: folder; extra env for the daemon in CTRD_ENV (array)
  CTRD_DIR=$1
  mkdir -p "$CTRD_DIR"/{root,state,runc,logs}
  CTRD_SOCK=$CTRD_DIR/state/containerd.sock
  cat >"$CTRD_DIR/config.toml" <<TOML
version = 2
root = "$CTRD_DIR/root"
state = "$CTRD_DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$CTRD_SOCK"
TOML
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${CTRD_ENV[@]}" \
    setsid containerd --config "$CTRD_DIR/config.toml" >"$CTRD_DIR/containerd.log" 2>&1 &
  CTRD_PID=$!
  local i
  for i in $(seq 100); do
    ctr -a "$CTRD_SOCK" version >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "containerd did not start; see $CTRD_DIR/containerd.log" >&2
  return 1
}

ctrd() { ctr -a "$CTRD_SOCK" -n "${CTRD_NS:-default}" "$@"; }

ctrd_stop() {
  [ -n "${CTRD_SOCK:-}" ] || return 0
  local id
  for id in $(ctrd task ls -q 2>/dev/null); do
    ctrd task kill -s KILL "$id" >/dev/null 2>&1 || true
    ctrd task resume "$id" >/dev/null 2>&1 || true
  done
  for id in $(ctrd task ls -q 2>/dev/null); do ctrd task rm -f "$id" >/dev/null 2>&1 || true; done
  for id in $(ctrd c ls -q 2>/dev/null); do ctrd c rm "$id" >/dev/null 2>&1 || true; done
  kill "$CTRD_PID" 2>/dev/null || true
  wait "$CTRD_PID" 2>/dev/null || true
  grep -s " $CTRD_DIR/" /proc/self/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  CTRD_SOCK=
}
