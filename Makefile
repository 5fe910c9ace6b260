# ARCH: checkpoint/restore for containers, as a runc wrapper.
# `make demo` runs ARCH's main job; `make test` runs every test (as root).

GO       ?= go
PREFIX   ?= /usr/local
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/arch-ckpt/arch/pkg/hookcli.Version=$(VERSION)
GOFLAGS_BUILD := -trimpath -ldflags "$(LDFLAGS)"
BIN      ?= bin
# TAGS adds build tags to arch-wrapper: the e2e test bed builds with
# TAGS=archfault (the fault points of docs/faults.md); what ships has none.
TAGS     ?=
export PATH := /usr/local/sbin:/usr/local/bin:/usr/local/go/bin:$(PATH)

comma := ,

.PHONY: all build install-deps test unit e2e e2e-debian e2e-current fuzz lint bench demo install clean

all: build

# arch-wrapper needs cgo for its pass-through fast path (pkg/fastpath),
# linked statically; osusergo,netgo keep glibc's NSS out of the static
# binary (archive/tar looks user names up). arch-hook is pure Go. Tests build
# through this target too (BIN=dir), so there is one recipe.
build:
	CGO_ENABLED=1 $(GO) build $(GOFLAGS_BUILD) -tags osusergo,netgo$(if $(TAGS),$(comma)$(TAGS)) -o $(BIN)/arch-wrapper ./cmd/arch-wrapper
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/arch-hook ./cmd/arch-hook

install-deps:
	hack/install-deps.sh

# Everything, as CI runs it: dependencies, build, vet, unit tests (fuzz seed
# corpora included), then the end-to-end suite on real containerd/runc/CRIU.
test: install-deps build lint unit e2e

# ARCH_TEST_REQUIRE_TOOLS: after install-deps, a unit test that needs an
# installed tool (checkpointctl, the CRIU launcher) fails without it.
unit:
	ARCH_TEST_REQUIRE_TOOLS=1 $(GO) test -count=1 -tags osusergo,netgo ./pkg/... ./cmd/... ./internal/... ./hack/lib/... ./hack/bench/...

# The end-to-end suite runs whole on both stacks (internal/testbed/stack.go):
# Debian 12's containerd 1.6 + runc 1.1, then containerd 2.4 + runc 1.5
# (hack/lib/stack.sh), both with the CRIU install-deps installs.
e2e: e2e-debian e2e-current
# One stack after the other (they share the machine's cgroups and CPUs).
.NOTPARALLEL:

e2e-debian e2e-current: e2e-%:
	ARCH_E2E=1 ARCH_E2E_STACK=$* $(GO) test -count=1 -timeout 25m -v ./e2e/

lint:
	@unformatted=$$(gofmt -l cmd pkg internal e2e hack); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted" >&2; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags archfault ./pkg/wrapper/

# Coverage-guided fuzzing beyond the committed seeds (not part of `test`).
fuzz:
	hack/fuzz.sh

bench: install-deps build
	hack/bench.sh

demo: install-deps build
	hack/demo.sh

# Installs the binaries to $(PREFIX)/bin, the sample configuration (only
# when /etc/arch/arch.conf is absent), the systemd units and ARCH's folders;
# DESTDIR stages it all under another root (packaging). See hack/install.sh.
install: build
	DESTDIR="$(DESTDIR)" BIN="$(BIN)" hack/install.sh "$(PREFIX)"

clean:
	rm -rf bin
