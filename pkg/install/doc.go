// Package install edits the container engines' configuration so that they
// run arch-wrapper as their runc: the runc options of a runtime in
// containerd's config.toml (BinaryName), and a runtime in Docker's
// daemon.json. Every edit is idempotent (a second run changes nothing and
// says so), keeps a backup of the original
// (<file>.arch-backup-<timestamp>) and replaces the file atomically with its
// mode and owner kept.
//
// config.toml is edited by a careful line-based editor, so that comments
// and layout survive: it understands table headers, dotted and quoted keys
// (" and '), comments, multi-line strings and arrays well enough to find
// the one table it edits, and it changes nothing else: every other line
// stays byte-identical. When the file defines the table in a way a line
// edit cannot handle safely (inline tables, dotted keys reaching into it),
// it refuses and says why. A real TOML parser (go-toml, linked by arch-hook
// only: arch-wrapper does not import this package) checks the editor
// independently: a file it rejects is not edited, and an edit is written
// only when the file read back means what the original meant with
// BinaryName set (tomlverify.go).
package install
