package ckpt

import (
	"errors"
	"strings"
	"testing"
)

func TestParseKeyAcceptsWorkloadNames(t *testing.T) {
	for _, raw := range []string{
		"default/c1",
		"k8s.io/ns/pod/ctr",
		"a1b2c3d4-e5f6-7890-abcd-ef1234567890:7", // AWS Batch array job
		"moby/3f1c_x+y=z@v1.2",
		"a",
		"a/b/c/d/e/f/g/h",
		strings.Repeat("x", MaxComponentLen),
	} {
		k, err := ParseKey(raw)
		if err != nil {
			t.Errorf("ParseKey(%q): %v", raw, err)
			continue
		}
		if k.String() != raw {
			t.Errorf("ParseKey(%q) = %q", raw, k)
		}
		back, err := keyFromFolder(k.Folder())
		if err != nil || back != k {
			t.Errorf("folder %q maps back to %q, %v", k.Folder(), back, err)
		}
	}
}

func TestParseKeyRejectsHostileKeys(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"", "empty key"},
		{".", "component 1"},
		{"..", "component 1"},
		{"../../etc", "component 1"},
		{"/etc", "component 1 \"\": is empty"},
		{"a//b", "component 2"},
		{"a/./b", "component 2"},
		{"a/", "component 2"},
		{".hidden", "must start with a letter or digit"},
		{"-x", "must start with a letter or digit"},
		{`a\b`, `character '\\'`},
		{"a\x00b", `character '\x00'`},
		{"a%2Fb", "character '%'"},
		{"a b", "character ' '"},
		{"ü", "must start"},
		{"a/b/c/d/e/f/g/h/i", "9 components"},
		{"work", "reserved"},
		{"WORK.", "reserved"},
		{"Checkpoint", "reserved"},
		{strings.Repeat("x", MaxComponentLen+1), "201 bytes"},
		{strings.Repeat("y", MaxKeyLen+1), "513 bytes"},
		{strings.Repeat("x", 200) + "/" + strings.Repeat("x", 100), "folder name would be 303 bytes"},
	} {
		_, err := ParseKey(tc.raw)
		if !errors.Is(err, ErrBadKey) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseKey(%.40q) = %v, want ErrBadKey mentioning %q", tc.raw, err, tc.want)
		}
		if err != nil && len(err.Error()) > 400 {
			t.Errorf("ParseKey(%.40q): message echoes too much: %d bytes", tc.raw, len(err.Error()))
		}
	}
}

func TestKeyFromFolderRejectsNonCanonicalNames(t *testing.T) {
	for _, name := range []string{"a%2F%2Fb", "%2Fa", ".lock", "a%2f b", "a%2Fb%2F"} {
		if _, err := keyFromFolder(name); err == nil {
			t.Errorf("keyFromFolder(%q) accepted", name)
		}
	}
}
