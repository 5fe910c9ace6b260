package ckpt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// dumpSuccess is the last line CRIU writes to a dump log when the dump
// succeeded: "(00.123456) Dumping finished successfully".
const dumpSuccess = "Dumping finished successfully"

// dumpLogTail is how much of the end of dump.log is kept to judge it.
const dumpLogTail = 4096

// checkDumpLog returns nil when tail (the end of a dump log) ends with
// CRIU's success line, trailing whitespace aside, and otherwise an error
// quoting the last line.
func checkDumpLog(tail []byte) error {
	tail = bytes.TrimRight(tail, " \t\r\n")
	last := tail[bytes.LastIndexByte(tail, '\n')+1:]
	if bytes.HasSuffix(last, []byte(dumpSuccess)) {
		return nil
	}
	if len(last) == 0 {
		return errors.New("dump.log is empty")
	}
	return fmt.Errorf("dump.log does not end with %q; its last line is %s", dumpSuccess, echo(string(last)))
}

// checkDumpLogFile checks the dump log at path; errors wrap ErrDumpFailed.
func checkDumpLogFile(path string) error {
	f, st, err := openRegular(path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrDumpFailed, err)
	}
	defer f.Close()
	off := max(st.Size()-dumpLogTail, 0)
	tail, err := io.ReadAll(io.NewSectionReader(f, off, st.Size()-off))
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if err := checkDumpLog(tail); err != nil {
		return fmt.Errorf("%w: %w", ErrDumpFailed, err)
	}
	return nil
}

// tailWriter keeps the last dumpLogTail bytes written to it.
type tailWriter struct{ b []byte }

func (t *tailWriter) Write(p []byte) (int, error) {
	if len(p) >= dumpLogTail {
		t.b = append(t.b[:0], p[len(p)-dumpLogTail:]...)
		return len(p), nil
	}
	if drop := len(t.b) + len(p) - dumpLogTail; drop > 0 {
		t.b = append(t.b[:0], t.b[drop:]...)
	}
	t.b = append(t.b, p...)
	return len(p), nil
}

var _ io.Writer = (*tailWriter)(nil)
