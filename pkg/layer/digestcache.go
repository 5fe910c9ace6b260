package layer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/arch-ckpt/arch/pkg/atomicfile"
)

// DigestCache keeps layer digests in a node-local folder (ARCH's state_dir:
// a tmpfs, emptied at boot), one small file per layer folder. A read-only
// layer of an overlay snapshotter never changes once committed, and a new
// one is a new folder: the cache key is the folder's path with its device,
// inode and change time, so a folder removed and made again under the
// same name (a snapshotter that reuses ids, a containerd root wiped) is a
// new entry. A nil cache walks every time.
type DigestCache struct {
	Dir string
}

// StateCache is the digest cache in ARCH's state_dir.
func StateCache(stateDir string) *DigestCache {
	return &DigestCache{Dir: filepath.Join(stateDir, "layers")}
}

func (c *DigestCache) digest(dir string) (string, error) {
	// Docker's overlay2 names its layers through symlinks (l/XXXX): the
	// layer is the folder they lead to, as the engine set them up.
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	if c == nil || c.Dir == "" {
		return LayerDigest(dir)
	}
	key, err := cacheKey(dir)
	if err != nil {
		return "", err
	}
	entry := filepath.Join(c.Dir, key)
	if b, err := os.ReadFile(entry); err == nil && validDigest(strings.TrimSpace(string(b))) {
		return strings.TrimSpace(string(b)), nil
	}
	d, err := LayerDigest(dir)
	if err != nil {
		return "", err
	}
	// A cache that cannot be written only costs the next caller a walk.
	if os.MkdirAll(c.Dir, 0o700) == nil {
		atomicfile.WriteFile(entry, []byte(d+"\n"), 0o600)
	}
	return d, nil
}

// cacheKey names the cache entry of the layer folder dir.
func cacheKey(dir string) (string, error) {
	st, err := os.Lstat(dir)
	if err != nil {
		return "", err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok || !st.IsDir() {
		return "", fmt.Errorf("%s is not a folder", dir)
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%d\x00%d.%09d", filepath.Clean(dir), sys.Dev, sys.Ino, sys.Ctim.Sec, sys.Ctim.Nsec))
	return hex.EncodeToString(sum[:16]), nil
}

func validDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
