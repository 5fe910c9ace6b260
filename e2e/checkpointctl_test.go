package e2e

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// checkpointctlSees runs `checkpointctl show` and `checkpointctl inspect
// --stats` on an archive ARCH wrote, as an operator would, and checks what
// they print: the CONTAINER and IMAGE columns hold container and image (""
// for an image the container's engine does not name), and CRIU's dump
// statistics are there.
func checkpointctlSees(t *testing.T, archive, container, image string) {
	t.Helper()
	show, err := exec.Command("checkpointctl", "show", archive).CombinedOutput()
	if err != nil {
		t.Fatalf("checkpointctl show: %v\n%s", err, show)
	}
	row := tableRow(t, string(show), "CONTAINER")
	if row["CONTAINER"] != container || row["IMAGE"] != image {
		t.Fatalf("checkpointctl show: CONTAINER %q, IMAGE %q; want %q, %q\n%s", row["CONTAINER"], row["IMAGE"], container, image, show)
	}
	stats, err := exec.Command("checkpointctl", "inspect", "--stats", archive).CombinedOutput()
	if err != nil {
		t.Fatalf("checkpointctl inspect --stats: %v\n%s", err, stats)
	}
	for _, want := range []string{"CRIU dump statistics", "Freezing time", "Pages written"} {
		if !strings.Contains(string(stats), want) {
			t.Fatalf("checkpointctl inspect --stats lacks %q:\n%s", want, stats)
		}
	}
}

// tableRow reads the first data row of a table checkpointctl prints (a
// header line holding firstColumn, a line of dashes, then rows, aligned in
// columns) into a map by column name.
func tableRow(t *testing.T, out, firstColumn string) map[string]string {
	t.Helper()
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(strings.TrimSpace(l), firstColumn) || i+2 >= len(lines) {
			continue
		}
		// Column names are words separated by one space; columns by more.
		var names []string
		var starts []int
		for _, m := range columnRe.FindAllStringIndex(l, -1) {
			names, starts = append(names, l[m[0]:m[1]]), append(starts, m[0])
		}
		data := lines[i+2]
		row := map[string]string{}
		for j, name := range names {
			end := len(data)
			if j+1 < len(starts) {
				end = min(starts[j+1], len(data))
			}
			if starts[j] < end {
				row[name] = strings.TrimSpace(data[starts[j]:end])
			} else {
				row[name] = ""
			}
		}
		return row
	}
	t.Fatalf("no table with a %s column in:\n%s", firstColumn, out)
	return nil
}

var columnRe = regexp.MustCompile(`\S+( \S+)*`)
