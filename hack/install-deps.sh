#!/usr/bin/env bash
# Installs everything ARCH's build, tests and demo need on a Debian 12 machine
# (see README "Install"): runc, containerd, iptables, nftables (to test
# undoing a CRIU nftables network lock), busybox-static, zstd,
# docker.io (dockerd for the Docker end-to-end test; not started here),
# iproute2 (network namespaces for the tests), a CRIU that passes `criu check`
# and dumps TCP sockets, checkpointctl, and the current stack (containerd 2.x,
# runc 1.5: hack/lib/stack.sh, built from Go modules into a private prefix,
# with libseccomp-dev and pkg-config). Idempotent: a second run only checks
# and returns in a few seconds.
#
# CRIU: Debian 12's CRIU 3.17 cannot handle kernels >= 6.13 ("Unexpected rt vDSO
# area bounds"), and CRIU < 4.2 cannot dump a TCP socket on kernels >= 6.16.
# When the system criu fails `criu check` or a trial dump of a listening TCP
# socket, CRIU (>= 4.2, from Debian $CRIU_SUITE) and the libraries it needs are
# taken with a private, download-only apt configuration (the system's apt
# never sees that suite) and unpacked into $ARCH_CRIU_PREFIX;
# /usr/local/sbin/criu then runs it through that prefix's own dynamic loader.
# A CRIU that still cannot dump a listening TCP socket is refused. When
# hardware breakpoints do not fire (common in VMs), CRIU's parasite cure hangs
# forever; a bounded trial dump detects that and the criu launcher then
# exports CRIU_FAULT=130 (CRIU's "no breakpoints" switch). See hack/lib/criu.sh.
set -euo pipefail

ARCH_CRIU_PREFIX=${ARCH_CRIU_PREFIX:-/opt/arch/criu}
CRIU_LAUNCHER=${CRIU_LAUNCHER:-/usr/local/sbin/criu}
CRIU_SUITE=${CRIU_SUITE:-forky}
CHECKPOINTCTL_VERSION=${CHECKPOINTCTL_VERSION:-v1.6.0}
APT_PACKAGES=(runc containerd iptables nftables busybox-static zstd gcc libc6-dev docker.io
  iproute2 libseccomp-dev pkg-config)
CRIU_PACKAGES=(criu libcompel1 libbsd0 libc6 libgnutls30t64 libnet9 libnftables1 libnl-3-200
  libprotobuf-c1 libuuid1 libmd0 libp11-kit0 libidn2-0 libunistring5 libtasn1-6
  libnettle8t64 libhogweed6t64 libgmp10 libmnl0 libnftnl11 libxtables12 libjansson4 libffi8)

# shellcheck source=hack/lib/criu.sh
. "$(dirname "$0")/lib/criu.sh"
# shellcheck source=hack/lib/stack.sh
. "$(dirname "$0")/lib/stack.sh"

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
  local prc=/usr/sbin/policy-rc.d
  if [ ! -e "$prc" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$prc"; chmod +x "$prc"
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  return 0
}

# criu_usable CRIU: passes `criu check` and dumps a listening TCP socket.
criu_usable() { criu_works "$1" && criu_dumps_tcp "$1"; }

install_criu() {
  local marker="$ARCH_CRIU_PREFIX.ok"
  if [ -x "$CRIU_LAUNCHER" ] && [ -f "$marker" ] && criu_usable "$CRIU_LAUNCHER"; then
    return 0
  fi
  local target
  if [ -x /usr/sbin/criu ] && criu_usable /usr/sbin/criu; then
    target=/usr/sbin/criu
  else
    local private="$ARCH_CRIU_PREFIX/usr/sbin/criu"
    write_launcher "$CRIU_LAUNCHER" private "$ARCH_CRIU_PREFIX" ""
    if ! { [ -x "$private" ] && criu_usable "$CRIU_LAUNCHER"; }; then
      install_private_criu "$CRIU_SUITE" "$ARCH_CRIU_PREFIX" "${CRIU_PACKAGES[@]}"
    fi
    target=private
  fi
  write_launcher "$CRIU_LAUNCHER" "$target" "$ARCH_CRIU_PREFIX" ""
  criu_works "$CRIU_LAUNCHER" || die "criu check fails: $("$CRIU_LAUNCHER" check 2>&1 | tail -3)"
  local rc=0
  breakpoints_work "$CRIU_LAUNCHER" || rc=$?
  case $rc in
    0) log "criu: hardware breakpoints work" ;;
    1) log "criu: hardware breakpoints do not fire here: running criu with CRIU_FAULT=130"
       write_launcher "$CRIU_LAUNCHER" "$target" "$ARCH_CRIU_PREFIX" 'export CRIU_FAULT=130' ;;
    *) write_launcher "$CRIU_LAUNCHER" "$target" "$ARCH_CRIU_PREFIX" 'export CRIU_FAULT=130'
       breakpoints_work "$CRIU_LAUNCHER" || die "criu cannot dump a process even with CRIU_FAULT=130" ;;
  esac
  require_criu_tcp "$CRIU_LAUNCHER"
  mkdir -p "$(dirname "$marker")"
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
install_current_stack
log "ok: $(runc --version | head -1); containerd $(containerd --version | awk '{print $3}'); $("$CRIU_LAUNCHER" --version | head -1)"
log "ok: current stack in $ARCH_CURRENT_STACK_PREFIX: $("$ARCH_CURRENT_STACK_PREFIX/bin/runc" --version | head -1); containerd $("$ARCH_CURRENT_STACK_PREFIX/bin/containerd" --version | awk '{print $3}')"
