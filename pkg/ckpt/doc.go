// Package ckpt is ARCH's checkpoint store: one folder per workload key that
// holds at most one complete checkpoint image, written so that a crash or a
// concurrent reader never sees half an image.
//
// An image is a single tar archive (zstd-compressed or plain) in the layout
// the container ecosystem already reads (config.dump, spec.dump, dump.log,
// stats-dump, checkpoint/, rootfs-diff.tar, ...; see checkpointctl), plus a
// manifest.json that names the archive and records the size and sha256 of
// the archive and of every member. The manifest is what makes an image
// current: it is replaced atomically and only after its archive is durable.
//
// A checkpoint's archive is written while CRIU dumps (BeginCommit): the
// archive starts with checkpoint/ and CRIU's pages files, streamed as CRIU
// appends to them, their tar headers patched once their size is known;
// the other members follow once the dump has ended. With zstd the archive
// is a sequence of frames, some of them stored (raw blocks): any zstd
// decoder reads it as one stream. Members may come in any order that lists
// a folder before what it holds; the manifest lists them in archive order.
//
// The store root may live on a shared filesystem (NFS, EFS): only plain
// files, rename(2) and flock(2) are used. Store layout:
//
//	<store>/                       0700
//	  <escaped key>/               0700, "/" in the key written as "%2F"
//	    .lock                      flock(2) file serialising writers of the key
//	    manifest.json              the current image
//	    <imageID>.tar.zst | .tar   the archive the manifest names
//	    .incoming-<imageID>.tar*   an archive being written (never valid)
//	    restored.json              the current image has been restored
//
// Names in the store root that start with "." are reserved for ARCH.
package ckpt
