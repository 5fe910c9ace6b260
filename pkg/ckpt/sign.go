package ckpt

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Errors of an image whose origin cannot be proven (see Signer).
var (
	// ErrUnsigned: the store's images must be signed and this one is not.
	ErrUnsigned = errors.New("checkpoint image is not signed")
	// ErrForged: the image's signature does not match its manifest: it was
	// changed, or signed with another key.
	ErrForged = errors.New("checkpoint image signature does not match")
)

// Limits on a signing key file.
const (
	minKeySize = 32
	maxKeySize = 4096
)

// macDomain starts the signed bytes, so that a manifest's MAC can never be
// taken for the MAC of anything else made with the same key.
const macDomain = "ARCH checkpoint manifest, HMAC-SHA256, v1\n"

// Signer signs manifests with an HMAC-SHA256 key the node operator holds,
// and checks them: the manifest's sha256 of every member proves an image is
// intact, the signature proves that a node holding the key wrote it. A
// store that others can write (a shared filesystem other tenants reach)
// then cannot make a node restore an image it did not commit: CRIU restores
// credentials, capabilities and seccomp state from image files.
type Signer struct{ key []byte }

// LoadSigner reads the key file path: a regular file (not a symlink) of
// 32 to 4096 bytes, owned by this user and readable by nobody else.
func LoadSigner(path string) (*Signer, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("image signing key: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("image signing key: %w", err)
	}
	sys, _ := st.Sys().(*unix.Stat_t)
	switch {
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("image signing key %s is not a regular file", path)
	case st.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("image signing key %s is accessible to group or others (mode %v): chmod 600 it", path, st.Mode().Perm())
	case sys != nil && int(sys.Uid) != os.Geteuid():
		return nil, fmt.Errorf("image signing key %s is owned by uid %d, not by uid %d", path, sys.Uid, os.Geteuid())
	case st.Size() < minKeySize || st.Size() > maxKeySize:
		return nil, fmt.Errorf("image signing key %s has %d bytes: want %d to %d (e.g. head -c 32 /dev/urandom)", path, st.Size(), minKeySize, maxKeySize)
	}
	key, err := io.ReadAll(io.LimitReader(f, maxKeySize+1))
	if err != nil {
		return nil, fmt.Errorf("image signing key: %w", err)
	}
	if len(key) < minKeySize {
		return nil, fmt.Errorf("image signing key %s: read %d bytes", path, len(key))
	}
	return &Signer{key: key}, nil
}

// sum is the MAC of m's canonical content: m as this package encodes it,
// with no MAC, so every field ARCH reads is covered and nothing else.
func (s *Signer) sum(m *Manifest) (string, error) {
	c := *m
	c.HMAC = ""
	data, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("encode manifest for its signature: %w", err)
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(macDomain))
	mac.Write(data)
	return hex.EncodeToString(mac.Sum(nil)), nil
}

// sign sets m's MAC.
func (s *Signer) sign(m *Manifest) error {
	sum, err := s.sum(m)
	m.HMAC = sum
	return err
}

// check proves that m was signed with s's key, as it is.
func (s *Signer) check(m *Manifest) error {
	if m.HMAC == "" {
		return fmt.Errorf("key %s: image %s: %w (this node requires image_hmac_key_file signatures)", m.Key, m.ImageID, ErrUnsigned)
	}
	want, err := s.sum(m)
	if err != nil {
		return err
	}
	if !hmac.Equal([]byte(want), []byte(m.HMAC)) {
		return fmt.Errorf("key %s: image %s: %w: changed since it was committed, or signed with another key", m.Key, m.ImageID, ErrForged)
	}
	return nil
}

// SignWith makes the store sign every manifest it commits with s and
// refuse (Current) every image s did not sign. nil turns signing off.
func (st *Store) SignWith(s *Signer) *Store {
	st.signer = s
	return st
}
