#!/usr/bin/env bash
# Installs ARCH on this node: `make install` runs it after `make build`.
#
#   hack/install.sh [PREFIX]        PREFIX defaults to /usr/local
#
# Environment: DESTDIR (staging root for packaging; nothing outside it is
# touched and systemd is not reloaded), BIN (folder of the built binaries,
# default bin).
#
# It installs arch-wrapper and arch-hook to $PREFIX/bin (atomically: a runc
# call during the install sees the old or the new binary), the sample
# configuration to /etc/arch/arch.conf only when there is none, the systemd
# units to /etc/systemd/system, and creates ARCH's folders (0700). Running
# it again changes nothing that is already in place. It does not edit
# containerd's or Docker's configuration and restarts nothing: it prints how.
set -euo pipefail

cd "$(dirname "$0")/.."
PREFIX=${1:-${PREFIX:-/usr/local}}
DESTDIR=${DESTDIR:-}
BIN=${BIN:-bin}
case $PREFIX in /*) ;; *) echo "install.sh: PREFIX must be absolute: $PREFIX" >&2; exit 2 ;; esac
PREFIX=${PREFIX%/}
BINDIR=$PREFIX/bin

say() { printf '  %-9s %s\n' "$1" "$2"; }

# put SRC DST MODE: replace DST by SRC atomically unless it is identical.
put() {
  local src=$1 dst=$2 mode=$3 tmp
  if [ -f "$dst" ] && cmp -s "$src" "$dst"; then
    chmod "$mode" "$dst"
    say unchanged "$dst"
    return
  fi
  install -d -m 0755 "$(dirname "$dst")"
  tmp=$(mktemp "$(dirname "$dst")/.$(basename "$dst").XXXXXX")
  install -m "$mode" "$src" "$tmp"
  mv -f "$tmp" "$dst"
  say installed "$dst"
}

for b in arch-wrapper arch-hook; do
  [ -x "$BIN/$b" ] || { echo "install.sh: $BIN/$b is missing: run make build (or make install)" >&2; exit 1; }
done

echo "ARCH: installing into ${DESTDIR:-/} (prefix $PREFIX)"
put "$BIN/arch-wrapper" "$DESTDIR$BINDIR/arch-wrapper" 0755
put "$BIN/arch-hook" "$DESTDIR$BINDIR/arch-hook" 0755

# The operator's configuration is never overwritten.
conf=$DESTDIR/etc/arch/arch.conf
if [ -e "$conf" ]; then
  say kept "$conf (existing; the current sample is hack/arch.conf)"
else
  install -d -m 0755 "$(dirname "$conf")"
  install -m 0644 hack/arch.conf "$conf"
  say installed "$conf"
fi

# systemd units, with the installed arch-hook path.
units_changed=0
unitdir=$DESTDIR/etc/systemd/system
units=(hack/systemd/arch-gc.service hack/systemd/arch-gc.timer)
[ -f hack/systemd/arch-spot-watcher.service ] && units+=(hack/systemd/arch-spot-watcher.service)
tmpunit=$(mktemp)
trap 'rm -f "$tmpunit"' EXIT
for u in "${units[@]}"; do
  sed "s|/usr/local/bin/arch-|$BINDIR/arch-|g" "$u" >"$tmpunit"
  dst=$unitdir/$(basename "$u")
  cmp -s "$tmpunit" "$dst" 2>/dev/null || units_changed=1
  put "$tmpunit" "$dst" 0644
done

# ARCH's folders: checkpoint images hold process memory, hence 0700.
install -d -m 0755 "$DESTDIR/var/lib/arch"
for d in /var/lib/arch/checkpoints /var/lib/arch/staging /var/log/arch; do
  install -d -m 0700 "$DESTDIR$d"
  chmod 0700 "$DESTDIR$d"
  say folder "$DESTDIR$d (0700)"
done

if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
  if [ "$units_changed" = 1 ]; then
    systemctl daemon-reload
    say systemd "daemon-reload done"
  fi
elif [ -n "$DESTDIR" ]; then
  say systemd "not reloaded (DESTDIR is set)"
else
  say systemd "not reloaded (systemd is not running)"
fi

wrapper=$BINDIR/arch-wrapper
cat <<MSG

Next steps (nothing was restarted):

* Clean the store daily:   systemctl enable --now arch-gc.timer
MSG
if [ -f hack/systemd/arch-spot-watcher.service ]; then
  echo "* On EC2 spot instances:  systemctl enable --now arch-spot-watcher.service"
fi
cat <<MSG

* containerd (Kubernetes pods through CRI): $BINDIR/arch-hook install --containerd
  does this edit, with a backup; or by hand:

    # /etc/containerd/config.toml (containerd 1.6/1.7, version = 2)
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      BinaryName = "$wrapper"

    # containerd 2.x (version = 3)
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
      BinaryName = "$wrapper"

  then: systemctl restart containerd
  For a single container: ctr run --runc-binary $wrapper ...

* Docker (and ECS, AWS Batch): $BINDIR/arch-hook install --docker --default
  does this edit, with a backup; or by hand in /etc/docker/daemon.json:

    {
      "runtimes": { "arch": { "path": "$wrapper" } },
      "default-runtime": "arch"
    }

  then: systemctl restart docker
MSG
