package ckpt

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode/utf8"

	metadata "github.com/checkpoint-restore/checkpointctl/lib"
)

// Members every image has (the ecosystem layout requires config.dump,
// spec.dump and the checkpoint folder; ARCH requires dump.log to prove the
// dump). The names are checkpointctl's, which CRI-O and containerd use too.
const (
	memberConfigDump = metadata.ConfigDumpFile
	memberSpecDump   = metadata.SpecDumpFile
	memberDumpLog    = metadata.DumpLogFile
	memberCheckpoint = metadata.CheckpointDirectory
)

var requiredMembers = []Member{
	{Name: memberConfigDump, Type: TypeFile},
	{Name: memberSpecDump, Type: TypeFile},
	{Name: memberDumpLog, Type: TypeFile},
	{Name: memberCheckpoint, Type: TypeDir},
}

// Limits on member names.
const (
	maxMemberName      = 4096
	maxMemberComponent = 255
)

// check validates a decoded manifest; errors wrap ErrCorrupt.
func (m *Manifest) check() error {
	if err := m.checkHeader(); err != nil {
		return fmt.Errorf("%w: manifest: %w", ErrCorrupt, err)
	}
	if err := m.checkMembers(); err != nil {
		return fmt.Errorf("%w: manifest: %w", ErrCorrupt, err)
	}
	return nil
}

func (m *Manifest) checkHeader() error {
	switch {
	case m.FormatVersion == 0:
		return errors.New("formatVersion missing")
	case m.FormatVersion != FormatVersion:
		return fmt.Errorf("unsupported formatVersion %d (this ARCH reads %d)", m.FormatVersion, FormatVersion)
	case !validImageID(m.ImageID):
		return fmt.Errorf("imageID %s missing or malformed", echo(m.ImageID))
	case m.CheckpointedAt.IsZero():
		return errors.New("checkpointedAt missing")
	case m.Source.ContainerID == "":
		return errors.New("source.containerID missing")
	}
	if _, err := ParseKey(m.Key); err != nil {
		return fmt.Errorf("key: %w", err)
	}
	a := m.Archive
	switch {
	case a.Compression != CompressionZstd && a.Compression != CompressionNone:
		return fmt.Errorf("archive.compression %s is not %q or %q", echo(a.Compression), CompressionZstd, CompressionNone)
	case a.Name != archiveName(m.ImageID, a.Compression):
		return fmt.Errorf("archive.name %s is not %q", echo(a.Name), archiveName(m.ImageID, a.Compression))
	case a.Size <= 0:
		return fmt.Errorf("archive.size %d is not positive", a.Size)
	case !validCRC32C(a.CRC32C):
		return fmt.Errorf("archive.crc32c %s missing or malformed", echo(a.CRC32C))
	case m.Network.TCP != "" && m.Network.TCP != TCPClosed && m.Network.TCP != TCPEstablished:
		return fmt.Errorf("network.tcp %s is not %q or %q", echo(m.Network.TCP), TCPClosed, TCPEstablished)
	case m.HMAC != "" && !validSHA256(m.HMAC):
		return fmt.Errorf("hmac %s malformed", echo(m.HMAC))
	}
	return nil
}

func (m *Manifest) checkMembers() error {
	if len(m.Members) == 0 {
		return errors.New("no members")
	}
	seen := make(map[string]string, len(m.Members)) // name -> type
	for i, mem := range m.Members {
		if err := checkMemberName(mem.Name); err != nil {
			return fmt.Errorf("member %d %s: %w", i, echo(mem.Name), err)
		}
		if _, dup := seen[mem.Name]; dup {
			return fmt.Errorf("member %s listed twice", mem.Name)
		}
		if dir := path.Dir(mem.Name); dir != "." && seen[dir] != TypeDir {
			return fmt.Errorf("member %s: its folder %s is not listed before it", mem.Name, dir)
		}
		switch mem.Type {
		case TypeFile:
			if mem.Size < 0 || !validSHA256(mem.SHA256) {
				return fmt.Errorf("member %s: size %d or sha256 %s invalid", mem.Name, mem.Size, echo(mem.SHA256))
			}
		case TypeDir:
			if mem.Size != 0 || mem.SHA256 != "" {
				return fmt.Errorf("member %s: a folder has no size or sha256", mem.Name)
			}
		default:
			return fmt.Errorf("member %s: type %s is not %q or %q", mem.Name, echo(mem.Type), TypeFile, TypeDir)
		}
		seen[mem.Name] = mem.Type
	}
	for _, r := range requiredMembers {
		if t, ok := seen[r.Name]; !ok || t != r.Type {
			return fmt.Errorf("required %s member %s missing", r.Type, r.Name)
		}
	}
	return nil
}

// checkMemberName accepts a relative slash-separated path whose components
// are not empty, "." or "..", and hold no NUL, backslash or control
// character. Such a name can never leave the folder it is extracted into.
func checkMemberName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case len(name) > maxMemberName:
		return fmt.Errorf("name is %d bytes, max %d", len(name), maxMemberName)
	case !utf8.ValidString(name):
		return errors.New("name is not valid UTF-8")
	case strings.HasPrefix(name, "/"):
		return errors.New("absolute path")
	}
	for c := range strings.SplitSeq(name, "/") {
		switch {
		case c == "":
			return errors.New("empty path component (doubled or trailing \"/\")")
		case c == "." || c == "..":
			return fmt.Errorf("path component %q", c)
		case len(c) > maxMemberComponent:
			return fmt.Errorf("path component is %d bytes, max %d", len(c), maxMemberComponent)
		}
		for _, r := range c {
			if r == '\\' || r < 0x20 || r == 0x7f {
				return fmt.Errorf("character %q not allowed", r)
			}
		}
	}
	return nil
}

func validCRC32C(s string) bool { return validHex(s, 8) }

func validSHA256(s string) bool { return validHex(s, 64) }

// validHex reports whether s is n lowercase hex digits.
func validHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
