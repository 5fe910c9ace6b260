package main

import (
	"bufio"
	"encoding/json"
	"os"
)

// eachLogLine calls fn with every JSON line of ARCH's log.
func eachLogLine(archLog string, fn func(m map[string]any)) {
	f, err := os.Open(archLog)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			fn(m)
		}
	}
}
