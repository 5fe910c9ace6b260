package layer

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Identity fingerprints the image a container runs from: a sha256 over the
// names, types, modes, sizes, mtimes and symlink targets of every entry of
// the read-only layers, in order. The same image unpacked on another node
// gives the same fingerprint (layers are unpacked with the tar headers'
// metadata); a different image, or a different version of it, does not.
// It reads directory entries and inodes only, never file contents.
func Identity(lower []string) (string, error) {
	h := sha256.New()
	var buf [8]byte
	num := func(v uint64) { binary.LittleEndian.PutUint64(buf[:], v); h.Write(buf[:]) }
	str := func(s string) { num(uint64(len(s))); h.Write([]byte(s)) }
	for i, dir := range lower {
		str(fmt.Sprintf("layer %d", i))
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			info, err := d.Info()
			if err != nil {
				return err
			}
			str(rel)
			num(uint64(info.Mode()))
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				num(uint64(st.Uid))
				num(uint64(st.Gid))
			}
			if info.Mode().IsRegular() {
				num(uint64(info.Size()))
				num(uint64(info.ModTime().UnixNano()))
			}
			if info.Mode()&os.ModeSymlink != 0 {
				t, err := os.Readlink(p)
				if err != nil {
					return err
				}
				str(t)
			}
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("fingerprint layer %s: %w", dir, err)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
