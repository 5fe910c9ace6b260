package ckpt

import "errors"

// Sentinel errors for callers that branch with errors.Is. Errors returned by
// this package wrap them with the details (which key, which member, what).
var (
	// ErrBadKey: the key is not acceptable (see ParseKey).
	ErrBadKey = errors.New("invalid checkpoint key")
	// ErrNoImage: the key has no current image, or the image named is no
	// longer the current one.
	ErrNoImage = errors.New("no checkpoint image")
	// ErrCorrupt: the manifest or the archive is damaged, incomplete or does
	// not match; the image must not be restored.
	ErrCorrupt = errors.New("corrupt checkpoint image")
	// ErrDumpFailed: the dump to commit did not finish successfully
	// (dump.log lacks CRIU's success line).
	ErrDumpFailed = errors.New("checkpoint dump did not finish successfully")
	// ErrBusy: another process holds the key's lock (TryLock, GC).
	ErrBusy = errors.New("checkpoint key is busy")
)
