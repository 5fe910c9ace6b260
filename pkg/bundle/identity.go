package bundle

import (
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Container environment variables and annotations ARCH reads.
const (
	EnvCheckpointKey      = "ARCH_CHECKPOINT_KEY"
	EnvCheckpointHostPath = "ARCH_CHECKPOINT_HOST_PATH"
	EnvSharedFSHostPath   = "ARCH_SHAREDFS_HOST_PATH"
	EnvWorkdirPath        = "ARCH_WORKDIR_CONTAINER_PATH"
	EnvBatchJobID         = "AWS_BATCH_JOB_ID"

	AnnotationSandboxNamespace = "io.kubernetes.cri.sandbox-namespace"
	AnnotationSandboxName      = "io.kubernetes.cri.sandbox-name"
	AnnotationContainerName    = "io.kubernetes.cri.container-name"
	AnnotationImageName        = "io.kubernetes.cri.image-name"
)

// KeySource names where a checkpoint key came from.
type KeySource string

// The sources of a key, in order of precedence.
const (
	KeyFromEnv        KeySource = EnvCheckpointKey
	KeyFromBatch      KeySource = EnvBatchJobID
	KeyFromKubernetes KeySource = "kubernetes annotations"
	KeyFromContainer  KeySource = "containerd namespace/container id"
)

// RawKey returns the checkpoint key before validation: a stable identity of
// the workload, because the container id changes on every retry.
func RawKey(spec *specs.Spec, namespace, id string) (string, KeySource) {
	if v, ok := Getenv(spec, EnvCheckpointKey); ok && v != "" {
		return v, KeyFromEnv
	}
	if v, ok := Getenv(spec, EnvBatchJobID); ok && v != "" {
		return v, KeyFromBatch
	}
	if spec != nil {
		a := spec.Annotations
		ns, pod, ctr := a[AnnotationSandboxNamespace], a[AnnotationSandboxName], a[AnnotationContainerName]
		if ns != "" && pod != "" && ctr != "" {
			return ns + "/" + pod + "/" + ctr, KeyFromKubernetes
		}
	}
	if namespace == "" {
		namespace = "default"
	}
	return namespace + "/" + id, KeyFromContainer
}

// StoreSource names where a store path came from.
type StoreSource string

// The sources of a store path, in order of precedence.
const (
	StoreFromCheckpointEnv StoreSource = EnvCheckpointHostPath
	StoreFromSharedFS      StoreSource = EnvSharedFSHostPath + "/checkpoint"
	StoreFromConfig        StoreSource = "node configuration"
)

// StorePath returns the checkpoint store for the container. Paths from the
// container's environment must be absolute; a relative one is reported and
// the node default is used.
func StorePath(spec *specs.Spec, nodeDefault string) (string, StoreSource, error) {
	if v, ok := Getenv(spec, EnvCheckpointHostPath); ok && v != "" {
		if !filepath.IsAbs(v) {
			return nodeDefault, StoreFromConfig, errRelative(EnvCheckpointHostPath)
		}
		return filepath.Clean(v), StoreFromCheckpointEnv, nil
	}
	if v, ok := Getenv(spec, EnvSharedFSHostPath); ok && v != "" {
		if !filepath.IsAbs(v) {
			return nodeDefault, StoreFromConfig, errRelative(EnvSharedFSHostPath)
		}
		return filepath.Join(filepath.Clean(v), "checkpoint"), StoreFromSharedFS, nil
	}
	return nodeDefault, StoreFromConfig, nil
}

type relativePathError string

func (e relativePathError) Error() string {
	return string(e) + " must be an absolute host path; using the node's default store"
}

func errRelative(name string) error { return relativePathError(name) }
