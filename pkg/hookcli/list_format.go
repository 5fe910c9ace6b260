package hookcli

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// humanBytes renders n bytes in binary units: "512 B", "1.5 KiB", "12.3 MiB".
func humanBytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v := float64(n)
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB"}
	i := -1
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// humanAge renders a duration the way people read ages: "45s", "12m",
// "3h05m", "2d04h", "30d".
func humanAge(d time.Duration) string {
	switch {
	case d < 0:
		return "in the future"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	case d < 10*24*time.Hour:
		return fmt.Sprintf("%dd%02dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// safeText quotes s when it holds anything a terminal could interpret or
// that would break a table (spaces, control characters).
func safeText(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) < 0 {
		return s
	}
	return strconv.Quote(s)
}

// keyOfFolder is the key a store folder name stands for, for display.
func keyOfFolder(folder string) string {
	return safeText(strings.ReplaceAll(folder, "%2F", "/"))
}

// orDash is s, or "-" when s is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
