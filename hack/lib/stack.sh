# The current container stack ARCH is tested on beside Debian 12's
# (containerd 1.6, runc 1.1): containerd 2.x and runc 1.5, built from their
# Go modules into a private prefix (sourced by install-deps.sh). The pins
# are here, and only here; bump them and rerun install-deps.
CURRENT_RUNC_VERSION=v1.5.3
CURRENT_CONTAINERD_VERSION=v2.4.2
# The test bed (internal/testbed/stack.go) reads the same variable.
ARCH_CURRENT_STACK_PREFIX=${ARCH_CURRENT_STACK_PREFIX:-/opt/arch/stack-current}

# install_current_stack builds runc and containerd (daemon, runc shim, ctr)
# at the pinned versions into $ARCH_CURRENT_STACK_PREFIX/bin, unless that build
# is there already (its stamp names the pins): a second run costs nothing.
install_current_stack() {
  local bin="$ARCH_CURRENT_STACK_PREFIX/bin" stamp="$ARCH_CURRENT_STACK_PREFIX/versions"
  local want="runc $CURRENT_RUNC_VERSION containerd $CURRENT_CONTAINERD_VERSION"
  if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && current_stack_works "$bin"; then
    return 0
  fi
  command -v go >/dev/null || die "go is needed to build the current stack (Go at /usr/local/go/bin)"
  log "building runc $CURRENT_RUNC_VERSION and containerd $CURRENT_CONTAINERD_VERSION into $ARCH_CURRENT_STACK_PREFIX (a few minutes, once)"
  rm -rf "$ARCH_CURRENT_STACK_PREFIX.new"
  mkdir -p "$ARCH_CURRENT_STACK_PREFIX.new/bin"
  local gobin="$ARCH_CURRENT_STACK_PREFIX.new/bin" rv=${CURRENT_RUNC_VERSION#v} cv=$CURRENT_CONTAINERD_VERSION
  # runc needs cgo and libseccomp (its seccomp tag), as distributions build it.
  GOBIN=$gobin CGO_ENABLED=1 GOFLAGS= go install -tags seccomp \
    -ldflags "-X main.version=$rv -X main.gitCommit=$CURRENT_RUNC_VERSION" \
    "github.com/opencontainers/runc@$CURRENT_RUNC_VERSION" >&2
  GOBIN=$gobin CGO_ENABLED=0 GOFLAGS= go install -tags no_btrfs \
    -ldflags "-X github.com/containerd/containerd/v2/version.Version=$cv" \
    "github.com/containerd/containerd/v2/cmd/containerd@$cv" \
    "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$cv" \
    "github.com/containerd/containerd/v2/cmd/ctr@$cv" >&2
  current_stack_works "$gobin" || die "the current stack built in $gobin does not run"
  echo "$want" >"$ARCH_CURRENT_STACK_PREFIX.new/versions"
  rm -rf "$ARCH_CURRENT_STACK_PREFIX"
  mv "$ARCH_CURRENT_STACK_PREFIX.new" "$ARCH_CURRENT_STACK_PREFIX"
}

current_stack_works() {
  local bin=$1
  "$bin/runc" --version >/dev/null 2>&1 && "$bin/containerd" --version >/dev/null 2>&1 &&
    "$bin/ctr" --version >/dev/null 2>&1 && [ -x "$bin/containerd-shim-runc-v2" ]
}
