// Package deps pins the modules the packages under construction will use, so
// that parallel work does not race on go.mod. It is removed once every module
// listed is imported by real code.
package deps

import (
	_ "github.com/cyphar/filepath-securejoin"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/moby/sys/mountinfo"
	_ "github.com/opencontainers/runtime-spec/specs-go"
	_ "github.com/rs/zerolog"
	_ "github.com/spf13/pflag"
	_ "golang.org/x/sys/unix"
)
