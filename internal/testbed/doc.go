// Package testbed is the end-to-end test bed of ARCH, used only by tests
// (the e2e package): test images built locally, private containerd daemons
// ("nodes"), ctr helpers, and the repository's binaries.
//
// # Running the end-to-end tests
//
// As root, on a machine prepared by hack/install-deps.sh (runc, containerd
// 1.6, ctr, iptables, busybox-static, gcc and a CRIU that passes
// `criu check`, launched through /usr/local/sbin/criu):
//
//	ARCH_E2E=1 go test ./e2e/ -v
//
// Go caches a passing result: add -count=1 to run the tests again against
// a changed system (go test only notices changes to Go files and to the
// environment variables the tests read). Without ARCH_E2E=1 (or CI=true)
// the tests skip. With it, every missing dependency fails the test
// (Require): CI never skips silently. Built images and compiled workloads
// are cached in $ARCH_E2E_CACHE (default /tmp/arch-e2e-cache); removing
// that folder is always safe. A failing test logs the tail of containerd's
// log, of ARCH's log and of any CRIU log still present.
//
// # What is in it
//
//   - BuildImage writes an OCI image layout tar (one gzip layer) from Go;
//     Instance.Import loads it with `ctr image import`. ShellCounterImage
//     (busybox shell loop) and CCounterImage (static C program, count in
//     memory) publish an increasing count in /tmp/count every 100 ms.
//   - Start runs a private containerd under /tmp/arch-e2e-NAME-XXXX (root,
//     state, socket, runc root, its own cgroup parent) with an extra daemon
//     environment (WithEnv: ARCH_CONFIG, ARCH_RUNC...), and tears everything
//     down when the test ends. Two instances run side by side.
//   - Instance helpers wrap ctr: Run, TaskStatus, WaitStatus, Exec, Kill,
//     DeleteTask (returns the exit status), Cleanup, ReadCount,
//     TaskCheckpoint, ContainerCheckpoint, Restore, RestoreTaskCheckpoint.
//   - Poll, Eventually and Holds are the only way tests wait: polls with a
//     deadline, never a fixed sleep used as synchronisation.
//   - Binaries builds cmd/arch-wrapper and cmd/arch-hook once per process.
//
// # containerd 1.6 / ctr facts the helpers encode
//
//   - `ctr task checkpoint ID` names its image
//     containerd.io/checkpoint/ID:MM-DD-YYYY-hh:mm:ss (one per second).
//     No ctr 1.6 command restores such an image: `ctr run` and `ctr task
//     start` have no --checkpoint, and `ctr container restore` fails with
//     "image name not found in index" because it reads the image name,
//     runtime and snapshotter from index annotations that only `ctr
//     container checkpoint` writes. RestoreTaskCheckpoint adds them.
//   - `ctr container checkpoint --task ID REF` + `ctr container restore
//     --live NEWID REF` is the native pair; restore has no --log-uri. Its
//     --rw does not work with `ctr container checkpoint --rw` ("media type
//     not found"), but does with a task checkpoint, which holds the rw layer.
//   - Every checkpoint writes the container's spec into the content store
//     and containerd 1.6 fails on an existing blob: while an earlier
//     checkpoint image of the same container exists, `ctr task checkpoint`
//     fails with "content sha256:...: already exists" (after CRIU dumped),
//     and `ctr container checkpoint` succeeds silently WITHOUT the task.
//     Remove the old image first (RemoveImages).
//   - The shim deletes its CRIU work folder after each dump; a failed
//     dump's log survives as BUNDLE/criu-dump.log until the task is deleted.
//   - `ctr task rm` of a task that exited non-zero exits 0 and prints the
//     status only as a warning ("exit with non-zero exit code N").
//   - `ctr task exec` exits with the process's exit code; it refuses a
//     paused task ("cannot exec in a paused state"): read /tmp/count through
//     Instance.Rootfs (ReadCountHost) while paused.
//   - ctr's default cgroup is /NAMESPACE/ID, shared by every containerd on
//     the machine: Run gives each instance its own cgroup parent.
//   - A PID 1 ignores SIGTERM without a handler: both counters trap it and
//     exit 143.
package testbed
