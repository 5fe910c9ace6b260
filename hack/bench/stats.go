package main

import (
	"fmt"
	"sort"
	"time"
)

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// row prints one result line: what, ARCH's median, the baseline's, the ratio, the target.
func row(what string, arch, base time.Duration, target string) {
	fmt.Printf("| %-64s | %10s | %10s | %6.2f | %-14s |\n", what, round(arch), round(base), float64(arch)/float64(base), target)
}

func header() {
	fmt.Printf("| %-64s | %10s | %10s | %6s | %-14s |\n", "benchmark (median)", "ARCH", "baseline", "ratio", "target")
	fmt.Printf("|%s|%s|%s|%s|%s|\n", dashes(66), dashes(12), dashes(12), dashes(8), dashes(16))
}

func dashes(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '-'
	}
	return string(b)
}

func round(d time.Duration) string {
	switch {
	case d > 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d > 100*time.Millisecond:
		return d.Round(time.Millisecond).String()
	default:
		return d.Round(10 * time.Microsecond).String()
	}
}
