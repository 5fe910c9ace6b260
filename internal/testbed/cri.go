package testbed

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// CRI talks to an instance's CRI plugin (see WithCRI) as the kubelet does.
type CRI struct {
	rs cri.RuntimeServiceClient
}

// Pod is a pod sandbox and the configuration it was started with (the
// kubelet passes it again with every container).
type Pod struct {
	ID     string
	Config *cri.PodSandboxConfig
}

// CRI connects to the instance's CRI service; the connection is closed at
// the end of the test.
func (in *Instance) CRI(t testing.TB) *CRI {
	t.Helper()
	conn, err := grpc.NewClient("unix://"+in.Address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("testbed: CRI client: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return &CRI{rs: cri.NewRuntimeServiceClient(conn)}
}

// RunPod starts pod namespace/name on the host network, with its container
// logs under logDir.
func (c *CRI) RunPod(namespace, name, logDir string) (*Pod, error) {
	ctx, cancel := context.WithTimeout(context.Background(), CtrTimeout)
	defer cancel()
	cfg := &cri.PodSandboxConfig{
		Metadata:     &cri.PodSandboxMetadata{Name: name, Namespace: namespace, Uid: "uid-" + namespace + "-" + name},
		LogDirectory: logDir,
		Linux: &cri.LinuxPodSandboxConfig{SecurityContext: &cri.LinuxSandboxSecurityContext{
			NamespaceOptions: &cri.NamespaceOption{Network: cri.NamespaceMode_NODE}}},
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	resp, err := c.rs.RunPodSandbox(ctx, &cri.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		return nil, fmt.Errorf("RunPodSandbox %s/%s: %w", namespace, name, err)
	}
	return &Pod{ID: resp.PodSandboxId, Config: cfg}, nil
}

// StartContainer creates and starts container name (its attempt-th start in
// the pod, as the kubelet counts restarts) from image with env, and returns
// its id. Its log is <logDir>/<name>_<attempt>.log.
func (c *CRI) StartContainer(pod *Pod, name string, attempt int, image string, env map[string]string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), CtrTimeout)
	defer cancel()
	cfg := &cri.ContainerConfig{
		Metadata: &cri.ContainerMetadata{Name: name, Attempt: uint32(attempt)},
		Image:    &cri.ImageSpec{Image: image},
		LogPath:  name + "_" + strconv.Itoa(attempt) + ".log",
		Linux:    &cri.LinuxContainerConfig{},
	}
	for k, v := range env {
		cfg.Envs = append(cfg.Envs, &cri.KeyValue{Key: k, Value: []byte(v)})
	}
	created, err := c.rs.CreateContainer(ctx, &cri.CreateContainerRequest{PodSandboxId: pod.ID, Config: cfg, SandboxConfig: pod.Config})
	if err != nil {
		return "", fmt.Errorf("CreateContainer %s: %w", name, err)
	}
	if _, err := c.rs.StartContainer(ctx, &cri.StartContainerRequest{ContainerId: created.ContainerId}); err != nil {
		return "", fmt.Errorf("StartContainer %s: %w", name, err)
	}
	return created.ContainerId, nil
}

// ContainerState is the CRI state of a container, e.g. "CONTAINER_RUNNING"
// or "CONTAINER_EXITED".
func (c *CRI) ContainerState(id string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), CtrTimeout)
	defer cancel()
	st, err := c.rs.ContainerStatus(ctx, &cri.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		return "", err
	}
	return st.Status.State.String(), nil
}

// CRILogLines returns the content lines of a CRI container log
// ("<time> <stream> <F|P> <line>").
func CRILogLines(path string) ([]string, error) {
	data, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if f := strings.SplitN(l, " ", 4); len(f) == 4 {
			lines = append(lines, f[3])
		}
	}
	return lines, nil
}
