package hookcli

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// ageUnit matches one number+unit segment of an age: Go's units plus d
// (24h) and w (7d).
var ageUnit = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h|d|w)`)

// parseAge parses a duration such as 90m, 36h, 7d, 2w or 1d12h. Days are
// 24 hours. "0" is zero; negative ages are refused.
func parseAge(s string) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var total time.Duration
	for rest := s; rest != ""; {
		m := ageUnit.FindStringSubmatch(rest)
		if m == nil {
			return 0, fmt.Errorf("%q is not a duration such as 90m, 36h or 7d", s)
		}
		rest = rest[len(m[0]):]
		var d time.Duration
		switch m[2] {
		case "d", "w":
			n, err := strconv.ParseFloat(m[1], 64)
			if err != nil {
				return 0, fmt.Errorf("%q: %w", s, err)
			}
			unit := 24 * time.Hour
			if m[2] == "w" {
				unit *= 7
			}
			if n*float64(unit) > float64(1<<62) {
				return 0, fmt.Errorf("%q is too long", s)
			}
			d = time.Duration(n * float64(unit))
		default:
			var err error
			if d, err = time.ParseDuration(m[0]); err != nil {
				return 0, fmt.Errorf("%q: %w", s, err)
			}
		}
		if total += d; total < 0 {
			return 0, fmt.Errorf("%q is too long", s)
		}
	}
	return total, nil
}

// formatAge renders d for people in the largest whole unit that fits
// ("7d", "36h", "90m"), else as Go does.
func formatAge(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}
