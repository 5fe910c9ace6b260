//go:build !cgo

// Package fastpath is empty without cgo: every call takes the Go path,
// which gives the same results, only slower to start.
package fastpath
