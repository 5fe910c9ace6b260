package wrapper

import "time"

// The stages a fault can be armed at.
const (
	faultCheckpointFrozen    = "checkpoint:frozen"    // container frozen, dump not started
	faultCheckpointDump      = "checkpoint:dump"      // while CRIU writes the dump
	faultCheckpointArchive   = "checkpoint:archive"   // while the archive is written
	faultCheckpointArchived  = "checkpoint:archived"  // archive renamed, manifest not yet
	faultCheckpointCommitted = "checkpoint:committed" // manifest renamed, container not stopped
	faultCheckpointStopped   = "checkpoint:stopped"   // container stopped, record not updated
	// faultCheckpointLinger does not kill the wrapper: the killed
	// container's init is seen alive for faultLingerWait, as a process in D
	// state on a network file system is.
	faultCheckpointLinger = "checkpoint:linger"
	faultRestoreUnpack    = "restore:unpack"  // while the image is unpacked
	faultRestoreApplied   = "restore:applied" // files applied, runc restore not started
	faultRestoreRunc      = "restore:runc"    // while runc restore runs
)

// faultLingerWait replaces exitWait under faultCheckpointLinger.
const faultLingerWait = 2 * time.Second
