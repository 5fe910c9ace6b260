#!/usr/bin/env bash
# Installs everything ARCH's build, tests and demo need on a Debian 12 machine
# (see README "Install"): runc, containerd, iptables, nftables (to test
# undoing a CRIU nftables network lock), busybox-static, zstd,
# docker.io (dockerd for the Docker end-to-end test; not started here), a
# CRIU that passes `criu check`, and checkpointctl. Idempotent: a second run
# only checks and returns in a second or two.
#
# CRIU: Debian 12's CRIU 3.17 cannot handle kernels >= 6.13 ("Unexpected rt vDSO
# area bounds"). When the system criu fails `criu check`, CRIU 4.1 and the
# libraries it needs are taken from Debian 13 with a private, download-only apt
# configuration (the system's apt never sees trixie) and unpacked into
# $ARCH_CRIU_PREFIX; /usr/local/sbin/criu then runs it through that prefix's
# own dynamic loader. When hardware breakpoints do not fire (common in VMs),
# CRIU's parasite cure hangs forever; this script detects that with a bounded
# trial dump and makes the criu launcher export CRIU_FAULT=130 (CRIU's "no
# breakpoints" switch).
set -euo pipefail

ARCH_CRIU_PREFIX=${ARCH_CRIU_PREFIX:-/opt/arch/criu}
CRIU_LAUNCHER=${CRIU_LAUNCHER:-/usr/local/sbin/criu}
CHECKPOINTCTL_VERSION=${CHECKPOINTCTL_VERSION:-v1.6.0}
APT_PACKAGES=(runc containerd iptables nftables busybox-static zstd gcc libc6-dev docker.io)
CRIU_PACKAGES=(criu libbsd0 libc6 libgnutls30t64 libnet1 libnftables1 libnl-3-200
  libprotobuf-c1 libuuid1 libmd0 libp11-kit0 libidn2-0 libunistring5 libtasn1-6
  libnettle8t64 libhogweed6t64 libgmp10 libmnl0 libnftnl11 libxtables12 libjansson4 libffi8)

log() { printf 'install-deps: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/go/bin:$PATH

install_apt_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # policy-rc.d keeps the package scripts from starting a system containerd:
  # ARCH's tests run their own private instances.
  local prc=/usr/sbin/policy-rc.d created_prc=
  if [ ! -e "$prc" ]; then printf '#!/bin/sh\nexit 101\n' >"$prc"; chmod +x "$prc"; created_prc=1; fi
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  [ -n "$created_prc" ] && rm -f "$prc"
  return 0
}

criu_works() { timeout 60 "$1" check >/dev/null 2>&1; }

# install_private_criu unpacks Debian 13's CRIU and its libraries into the prefix.
install_private_criu() {
  local work; work=$(mktemp -d)
  mkdir -p "$work/lists/partial" "$work/debs"
  # Reuse the machine's own mirror and keyring lines, with the trixie suite.
  local uris signed
  uris=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  signed=$(awk '/^Signed-By:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  : "${uris:=http://deb.debian.org/debian}" "${signed:=/usr/share/keyrings/debian-archive-keyring.gpg}"
  printf 'Types: deb\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: %s\n' "$uris" "$signed" >"$work/trixie.sources"
  local opts=(-o "Dir::Etc::SourceList=$work/trixie.sources" -o Dir::Etc::SourceParts=/nonexistent
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::archives=$work/debs" -q)
  log "downloading CRIU 4.x from Debian 13 into a private prefix ($ARCH_CRIU_PREFIX)"
  apt-get "${opts[@]}" update >/dev/null
  (cd "$work/debs" && apt-get "${opts[@]}" download "${CRIU_PACKAGES[@]}" >/dev/null)
  rm -rf "$ARCH_CRIU_PREFIX.new"
  mkdir -p "$ARCH_CRIU_PREFIX.new"
  for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$ARCH_CRIU_PREFIX.new"; done
  rm -rf "$ARCH_CRIU_PREFIX" "$work"
  mv "$ARCH_CRIU_PREFIX.new" "$ARCH_CRIU_PREFIX"
}

# write_launcher writes the criu executable runc finds in PATH.
write_launcher() { # $1: target binary or "private"; $2: extra env line
  local tmp="$CRIU_LAUNCHER.tmp.$$"
  mkdir -p "$(dirname "$CRIU_LAUNCHER")"
  {
    echo '#!/bin/sh'
    echo '# Written by ARCH hack/install-deps.sh.'
    [ -n "$2" ] && echo "$2"
    if [ "$1" = private ]; then
      local lib="$ARCH_CRIU_PREFIX/usr/lib/x86_64-linux-gnu"
      echo "exec $lib/ld-linux-x86-64.so.2 --library-path $lib $ARCH_CRIU_PREFIX/usr/sbin/criu \"\$@\""
    else
      echo "exec $1 \"\$@\""
    fi
  } >"$tmp"
  chmod 0755 "$tmp"
  mv "$tmp" "$CRIU_LAUNCHER"
}

# breakpoints_work runs one bounded trial dump: where hardware breakpoints do
# not fire, CRIU hangs right after "Waiting for PID to trap".
breakpoints_work() {
  local dir; dir=$(mktemp -d)
  # The trial process is dumped and then killed by criu (no --leave-running);
  # it runs in its own session so the kill is silent.
  setsid -f sh -c 'echo $$ >"$0/pid"; exec sleep 300' "$dir" </dev/null >/dev/null 2>&1
  local pid rc=0 i
  for i in $(seq 50); do [ -s "$dir/pid" ] && break; sleep 0.1; done
  pid=$(cat "$dir/pid")
  env -u CRIU_FAULT timeout 20 "$CRIU_LAUNCHER" dump -t "$pid" -D "$dir" --shell-job -o dump.log >/dev/null 2>&1 || rc=$?
  kill -9 "$pid" 2>/dev/null || true
  if [ "$rc" = 124 ]; then rm -rf "$dir"; return 1; fi
  if [ "$rc" != 0 ]; then log "trial dump failed (rc=$rc):"; tail -5 "$dir/dump.log" >&2 || true; rm -rf "$dir"; return 2; fi
  rm -rf "$dir"
  return 0
}

install_criu() {
  local marker="$ARCH_CRIU_PREFIX.ok"
  if [ -x "$CRIU_LAUNCHER" ] && [ -f "$marker" ] && criu_works "$CRIU_LAUNCHER"; then
    return 0
  fi
  local target
  if [ -x /usr/sbin/criu ] && criu_works /usr/sbin/criu; then
    target=/usr/sbin/criu
  else
    [ -x "$ARCH_CRIU_PREFIX/usr/sbin/criu" ] || install_private_criu
    target=private
  fi
  write_launcher "$target" ""
  criu_works "$CRIU_LAUNCHER" || die "criu check fails: $("$CRIU_LAUNCHER" check 2>&1 | tail -3)"
  local rc=0
  breakpoints_work || rc=$?
  case $rc in
    0) log "criu: hardware breakpoints work" ;;
    1) log "criu: hardware breakpoints do not fire here: running criu with CRIU_FAULT=130"
       write_launcher "$target" 'export CRIU_FAULT=130' ;;
    *) write_launcher "$target" 'export CRIU_FAULT=130'
       breakpoints_work || die "criu cannot dump a process even with CRIU_FAULT=130" ;;
  esac
  date -u +%FT%TZ >"$marker"
  log "criu: $("$CRIU_LAUNCHER" --version | head -1)"
}

install_checkpointctl() {
  command -v checkpointctl >/dev/null 2>&1 && return 0
  log "installing checkpointctl $CHECKPOINTCTL_VERSION"
  GOBIN=/usr/local/bin GOFLAGS= go install "github.com/checkpoint-restore/checkpointctl@$CHECKPOINTCTL_VERSION"
}

install_apt_packages
install_criu
install_checkpointctl
log "ok: $(runc --version | head -1); containerd $(containerd --version | awk '{print $3}'); $("$CRIU_LAUNCHER" --version | head -1)"
