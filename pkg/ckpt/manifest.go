package ckpt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// FormatVersion is the manifest format this package writes and reads.
const FormatVersion = 1

// maxManifestSize bounds manifest.json (a few KiB in practice).
const maxManifestSize = 16 << 20

// Member types.
const (
	TypeFile = "file"
	TypeDir  = "dir"
)

// Manifest describes one complete image: where it came from, its archive,
// and every member of the archive in archive order. It is stored as
// manifest.json in the key folder.
type Manifest struct {
	FormatVersion  int       `json:"formatVersion"`
	ImageID        string    `json:"imageID"`
	Key            string    `json:"key"`
	Source         Source    `json:"source"`
	Image          ImageInfo `json:"image"`
	Process        Process   `json:"process"`
	CreatedAt      time.Time `json:"createdAt,omitzero"`
	CheckpointedAt time.Time `json:"checkpointedAt"`
	Archive        Archive   `json:"archive"`
	Members        []Member  `json:"members"`
	Capture        Capture   `json:"capture"`
	Network        Network   `json:"network,omitzero"`
	// HMAC is the signature of the manifest file's bytes without it (hex
	// HMAC-SHA256; see Signer), "" when the committing node signs nothing.
	HMAC string `json:"hmac,omitempty"`
}

// Source is the container the image was taken from.
type Source struct {
	Namespace   string `json:"namespace"`
	ContainerID string `json:"containerID"`
	Node        string `json:"node"`
	RuncRoot    string `json:"runcRoot"`
}

// ImageInfo is the container image the checkpointed container ran.
type ImageInfo struct {
	Reference      string `json:"reference"`
	RootfsIdentity string `json:"rootfsIdentity"`
}

// Process is the container's main process.
type Process struct {
	Args []string `json:"args"`
	// Terminal: the process had a console (runc --console-socket). CRIU
	// restores it onto a new pty only into a container that has one too.
	Terminal bool `json:"terminal,omitempty"`
}

// Archive is the archive file of an image.
type Archive struct {
	Name        string `json:"name"`        // file name in the key folder
	Compression string `json:"compression"` // "zstd" or "none"
	Size        int64  `json:"size"`        // bytes of the file
	// CRC32C (Castagnoli, hex) of the whole file: every byte, tar padding
	// included, is covered at hardware speed; the members' sha256 cover
	// the content. (A second sha256 pass over the archive cost 40% of a
	// commit's CPU.)
	CRC32C string `json:"crc32c"`
}

// Member is one entry of the archive.
type Member struct {
	Name   string `json:"name"` // slash-separated relative path, no trailing slash
	Type   string `json:"type"` // "file" or "dir"
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"` // files only
}

// Network says how the dump treated the container's network.
type Network struct {
	// TCP is how established TCP connections were dumped: TCPClosed
	// (without their state: they restore closed, and the restore needs
	// CRIU's tcp-close too), TCPEstablished (with it: the restore needs
	// --tcp-established) or "" (neither: the container held none).
	TCP string `json:"tcp,omitempty"`
}

// Values of Network.TCP.
const (
	TCPClosed      = "closed"
	TCPEstablished = "established"
)

// Capture says whether the container's files (writable layer) are part of
// the image, and why not when they are not.
type Capture struct {
	Files  bool   `json:"files"`
	Reason string `json:"reason,omitempty"`
}

// ParseManifest decodes and checks a manifest. It is strict: an unknown
// formatVersion, a missing field, an unsafe or duplicate member name, a
// member whose parent folder is not listed before it, or an archive name
// that is not "<imageID>.tar.zst" / "<imageID>.tar" is an error wrapping
// ErrCorrupt. Unknown fields are ignored.
func ParseManifest(data []byte) (*Manifest, error) {
	if len(data) > maxManifestSize {
		return nil, fmt.Errorf("%w: manifest is %d bytes, max %d", ErrCorrupt, len(data), maxManifestSize)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: manifest: %v", ErrCorrupt, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: manifest: data after the JSON object", ErrCorrupt)
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return &m, nil
}

// marshal encodes m as manifest.json.
func (m *Manifest) marshal() ([]byte, error) {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return append(data, '\n'), nil
}

// largestFile returns the size of the largest file member.
func (m *Manifest) largestFile() int64 {
	var n int64
	for _, mem := range m.Members {
		n = max(n, mem.Size)
	}
	return n
}
