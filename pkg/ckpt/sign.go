package ckpt

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
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

// mac is the MAC of the bytes of a manifest file without its "hmac" member.
func (s *Signer) mac(unsigned []byte) string {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(macDomain))
	h.Write(unsigned)
	return hex.EncodeToString(h.Sum(nil))
}

// The signature is the last member of the manifest file, written exactly
// so: the signed bytes are the file with macPrefix...macSuffix replaced by
// its closing "\n}\n". The MAC covers the file as its writer wrote it,
// every member included, whichever of them the reader knows: nodes of
// different versions verify each other's images.
const (
	macPrefix = ",\n  \"hmac\": \""
	macSuffix = "\"\n}\n"
	closing   = "\n}\n"
)

// encode is m's manifest file: m.marshal(), signed with signer when it is
// not nil (m.HMAC is set to the signature).
func (m *Manifest) encode(signer *Signer) ([]byte, error) {
	m.HMAC = ""
	data, err := m.marshal()
	if err != nil || signer == nil {
		return data, err
	}
	if !bytes.HasSuffix(data, []byte(closing)) {
		return nil, fmt.Errorf("encode manifest: unexpected end %q", data[max(0, len(data)-8):])
	}
	m.HMAC = signer.mac(data)
	signed := append(bytes.TrimSuffix(data, []byte(closing)), macPrefix+m.HMAC+macSuffix...)
	return signed, nil
}

// unsignedBytes returns the bytes a manifest file's signature covers, and
// the signature, or ok false when the file does not end with one.
func unsignedBytes(raw []byte) (unsigned []byte, mac string, ok bool) {
	n := len(macPrefix) + 64 + len(macSuffix)
	if len(raw) < n || !bytes.HasSuffix(raw, []byte(macSuffix)) {
		return nil, "", false
	}
	tail := raw[len(raw)-n:]
	if !bytes.HasPrefix(tail, []byte(macPrefix)) {
		return nil, "", false
	}
	mac = string(tail[len(macPrefix) : len(macPrefix)+64])
	if !validSHA256(mac) {
		return nil, "", false
	}
	unsigned = append(append([]byte{}, raw[:len(raw)-n]...), closing...)
	return unsigned, mac, true
}

// check proves that the manifest file raw (read as m) was signed with s's
// key, as it is.
func (s *Signer) check(m *Manifest, raw []byte) error {
	if m.HMAC == "" {
		return fmt.Errorf("key %s: image %s: %w (this node requires image_hmac_key_file signatures)", m.Key, m.ImageID, ErrUnsigned)
	}
	unsigned, mac, ok := unsignedBytes(raw)
	if !ok || mac != m.HMAC || !hmac.Equal([]byte(s.mac(unsigned)), []byte(mac)) {
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
