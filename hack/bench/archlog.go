package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"sort"
	"time"
)

// eachLogLine calls fn with every JSON line of ARCH's log.
func eachLogLine(archLog string, fn func(m map[string]any)) {
	eachLogLineFrom(archLog, 0, fn)
}

// eachLogLineFrom calls fn with every JSON line of ARCH's log from byte
// offset on (logSize before a step: the step's lines).
func eachLogLineFrom(archLog string, offset int64, fn func(m map[string]any)) {
	f, err := os.Open(archLog)
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			fn(m)
		}
	}
}

// logSize is the current size of ARCH's log.
func logSize(archLog string) int64 {
	st, err := os.Stat(archLog)
	if err != nil {
		return 0
	}
	return st.Size()
}

// phaseMedians returns, for the log lines whose message is msg and whose
// container is one of ids, the median of each phase ARCH timed (the
// "phases" object, in ms), in the order of their medians' sizes, largest
// (the total) first, and how many lines there were.
func phaseMedians(archLog, msg string, ids []string) (names []string, medians map[string]time.Duration, lines int) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	all := map[string][]time.Duration{}
	eachLogLine(archLog, func(m map[string]any) {
		if id, _ := m["id"].(string); m["msg"] != msg || !want[id] {
			return
		}
		lines++
		ph, _ := m["phases"].(map[string]any)
		for k, v := range ph {
			if _, nested := v.(map[string]any); !nested { // "archive": its own stages
				all[k] = append(all[k], ms(v))
			}
		}
	})
	medians = map[string]time.Duration{}
	for k, ds := range all {
		medians[k] = median(ds)
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return medians[names[i]] > medians[names[j]] })
	return names, medians, lines
}
