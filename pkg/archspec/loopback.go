package archspec

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// LoopbackStage is the hook stage of the loopback hook: runc runs
// createRuntime hooks of a restore at CRIU's "setup-namespaces"
// notification, with the pid of the restored root task, before any of the
// container's processes runs again.
const LoopbackStage = "createRuntime"

// RuncCreatesNetns reports whether runc creates the container's network
// namespace (a namespace entry without a path): only then is its loopback
// ARCH's to bring up after a restore. A namespace the orchestrator made and
// passes in by path (a pod's, Docker's bridge, ECS awsvpc) is not ARCH's
// to touch; a container without one shares the host's.
func RuncCreatesNetns(spec *specs.Spec) bool {
	if spec.Linux == nil {
		return false
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			return ns.Path == ""
		}
	}
	return false
}

// LoopbackHook is the hook that brings a restored container's loopback up
// (arch-hook loopback), given arch-hook's path and ARCH's configuration
// file ("" = the default).
func LoopbackHook(hookPath, configPath string) specs.Hook {
	args := []string{"arch-hook", "loopback"}
	if configPath != "" {
		args = append(args, "--config", configPath)
	}
	timeout := HookTimeout
	return specs.Hook{Path: hookPath, Args: args, Timeout: &timeout}
}
