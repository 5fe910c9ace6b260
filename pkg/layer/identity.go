package layer

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// IdentityPrefix starts a fingerprint made by Identity; LegacyIdentity's
// start with "sha256:".
const IdentityPrefix = "layers-sha256:"

// Identity fingerprints the image a container runs from: a sha256 over the
// digests of its read-only layers, in order (LayerDigest: names, types,
// modes, owners, sizes, mtimes and symlink targets of every entry). The
// same image unpacked on another node gives the same fingerprint (layers
// are unpacked with the tar headers' metadata); a different image, or a
// different version of it, does not. A layer's digest comes from cache
// when it has one for that very layer folder: the walk, 100-250 ms for a
// 16k-file image, is paid once per layer and node.
func Identity(lower []string, cache *DigestCache) (string, error) {
	h := sha256.New()
	for i, dir := range lower {
		d, err := cache.digest(dir)
		if err != nil {
			return "", fmt.Errorf("fingerprint layer %d %s: %w", i, dir, err)
		}
		fmt.Fprintf(h, "%d %s\n", i, d)
	}
	return IdentityPrefix + hex.EncodeToString(h.Sum(nil)), nil
}

// LayerDigest walks one layer folder and hashes what identifies its
// content: it reads directory entries and inodes only, never file contents.
func LayerDigest(dir string) (string, error) {
	h := sha256.New()
	if err := walkIdentity(h, dir); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// LegacyIdentity is the fingerprint of ARCH before per-layer digests: one
// sha256 over every layer's entries. Images committed then carry it; it is
// computed only to check one of them.
func LegacyIdentity(lower []string) (string, error) {
	h := sha256.New()
	for i, dir := range lower {
		writeString(h, fmt.Sprintf("layer %d", i))
		if err := walkIdentity(h, dir); err != nil {
			return "", fmt.Errorf("fingerprint layer %s: %w", dir, err)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// IsLegacyIdentity reports whether a recorded fingerprint is LegacyIdentity's.
func IsLegacyIdentity(fp string) bool {
	return strings.HasPrefix(fp, "sha256:")
}

func writeNum(h hash.Hash, v uint64) {
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], v)
	h.Write(buf[:])
}

func writeString(h hash.Hash, s string) {
	writeNum(h, uint64(len(s)))
	h.Write([]byte(s))
}

// walkIdentity hashes every entry of dir into h.
func walkIdentity(h hash.Hash, dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		writeString(h, rel)
		writeNum(h, uint64(info.Mode()))
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			writeNum(h, uint64(st.Uid))
			writeNum(h, uint64(st.Gid))
		}
		if info.Mode().IsRegular() {
			writeNum(h, uint64(info.Size()))
			writeNum(h, uint64(info.ModTime().UnixNano()))
		}
		if info.Mode()&os.ModeSymlink != 0 {
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			writeString(h, t)
		}
		return nil
	})
}
