package ckpt

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeKey(t *testing.T, data string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "image.key")
	must(t, os.WriteFile(p, []byte(data), mode))
	must(t, os.Chmod(p, mode))
	return p
}

func testSigner(t *testing.T, seed string) *Signer {
	t.Helper()
	s, err := LoadSigner(writeKey(t, strings.Repeat(seed, 32), 0o600))
	must(t, err)
	return s
}

func TestLoadSignerRefusesWeakKeyFiles(t *testing.T) {
	good := writeKey(t, strings.Repeat("k", 32), 0o600)
	link := filepath.Join(t.TempDir(), "link.key")
	must(t, os.Symlink(good, link))
	for _, tc := range []struct{ name, path, want string }{
		{"missing", filepath.Join(t.TempDir(), "none"), "no such file"},
		{"symlink", link, "too many levels"},
		{"readable by others", writeKey(t, strings.Repeat("k", 32), 0o644), "chmod 600"},
		{"too short", writeKey(t, "short", 0o600), "want 32 to 4096"},
		{"a folder", t.TempDir(), "not a regular file"},
	} {
		if _, err := LoadSigner(tc.path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := LoadSigner(good); err != nil {
		t.Fatal(err)
	}
}

// TestSignedStoreRestoresOnlyWhatItsKeySigned: a signing store signs every
// commit; a store with the same key accepts the image, one with another
// key or none refuses it; an unsigned image, a manifest changed after
// signing and a manifest copied from another key are all refused.
func TestSignedStoreRestoresOnlyWhatItsKeySigned(t *testing.T) {
	s := newTestStore(t).SignWith(testSigner(t, "a"))
	key, other := mustKey(t, "jobs/signed"), mustKey(t, "jobs/other")
	m := commit(t, s, key, makeStaging(t, stagingOpts{}), CompressionZstd)
	if !validSHA256(m.HMAC) {
		t.Fatalf("committed manifest has no signature: %q", m.HMAC)
	}
	img := current(t, s, key)
	must(t, img.Verify(context.Background()))
	img.Close()

	sameKey, _ := New(s.Root())
	sameKey.SignWith(testSigner(t, "a"))
	if img, err := sameKey.Current(key); err != nil {
		t.Fatalf("another node with the same key: %v", err)
	} else {
		img.Close()
	}
	otherKey, _ := New(s.Root())
	otherKey.SignWith(testSigner(t, "b"))
	if _, err := otherKey.Current(key); !errors.Is(err, ErrForged) {
		t.Fatalf("another key: err = %v, want ErrForged", err)
	}

	// A manifest rewritten after signing (an attacker recomputing the
	// members' checksums after changing the archive changes the manifest).
	path := filepath.Join(s.keyDir(key), manifestFile)
	data, err := os.ReadFile(path)
	must(t, err)
	var raw map[string]any
	must(t, json.Unmarshal(data, &raw))
	raw["process"] = map[string]any{"args": []string{"/evil"}}
	forged, _ := json.Marshal(raw)
	must(t, os.WriteFile(path, forged, 0o600))
	if _, err := s.Current(key); !errors.Is(err, ErrForged) {
		t.Fatalf("changed manifest: err = %v, want ErrForged", err)
	}

	// An unsigned image (committed by a node without the key).
	unsigned, _ := New(s.Root())
	commit(t, unsigned, other, makeStaging(t, stagingOpts{}), CompressionNone)
	if _, err := s.Current(other); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("unsigned image: err = %v, want ErrUnsigned", err)
	}

	entries, err := s.List(context.Background(), false)
	must(t, err)
	got := map[string]Status{}
	for _, e := range entries {
		got[e.Key.String()] = e.Status
	}
	if got[key.String()] != StatusForged || got[other.String()] != StatusUnsigned {
		t.Fatalf("List statuses %v", got)
	}
}

// TestSignedManifestCopiedToAnotherKeyIsRefused: a valid signed manifest
// and archive copied into another key's folder never restore there.
func TestSignedManifestCopiedToAnotherKeyIsRefused(t *testing.T) {
	s := newTestStore(t).SignWith(testSigner(t, "a"))
	from, to := mustKey(t, "jobs/a"), mustKey(t, "jobs/b")
	m := commit(t, s, from, makeStaging(t, stagingOpts{}), CompressionZstd)
	must(t, os.MkdirAll(s.keyDir(to), 0o700))
	for _, name := range []string{manifestFile, m.Archive.Name} {
		data, err := os.ReadFile(filepath.Join(s.keyDir(from), name))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(s.keyDir(to), name), data, 0o600))
	}
	if _, err := s.Current(to); !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrForged) {
		t.Fatalf("copied manifest: err = %v, want a refusal", err)
	}
}

// TestSignatureCoversTheFileAsWritten: the MAC is over the manifest file's
// bytes, so a member this version does not know (written by a newer ARCH)
// is covered and verifies, and changing it is a forgery.
func TestSignatureCoversTheFileAsWritten(t *testing.T) {
	signer := testSigner(t, "a")
	s := newTestStore(t).SignWith(signer)
	key := mustKey(t, "jobs/newer")
	m := commit(t, s, key, makeStaging(t, stagingOpts{}), CompressionNone)
	m.HMAC = ""
	unsigned, err := m.marshal()
	must(t, err)
	newer := strings.Replace(string(unsigned), "{\n", "{\n  \"future\": {\"x\": 1},\n", 1)
	write := func(body string) {
		mac := signer.mac([]byte(body))
		file := strings.TrimSuffix(body, closing) + macPrefix + mac + macSuffix
		must(t, os.WriteFile(filepath.Join(s.keyDir(key), manifestFile), []byte(file), 0o600))
	}
	write(newer)
	img, err := s.Current(key)
	if err != nil {
		t.Fatalf("a manifest with a member this version does not know: %v", err)
	}
	img.Close()
	path := filepath.Join(s.keyDir(key), manifestFile)
	data, _ := os.ReadFile(path)
	must(t, os.WriteFile(path, []byte(strings.Replace(string(data), `"x": 1`, `"x": 2`, 1)), 0o600))
	if _, err := s.Current(key); !errors.Is(err, ErrForged) {
		t.Fatalf("changed unknown member: err = %v, want ErrForged", err)
	}
}
