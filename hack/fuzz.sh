#!/usr/bin/env bash
# `make fuzz`: coverage-guided fuzzing of every fuzz target in the
# repository (each `func FuzzXxx` of a _test.go file), one target after the
# other, FUZZTIME each. `make unit` only replays the committed seeds; this
# looks for new failing inputs. A target that finds one fails, and go test
# writes the input under the package's testdata/fuzz/FuzzXxx/, where every
# later `go test` replays it: commit it with the fix. Every target runs even
# after a failure; the script fails if any did.
#   FUZZTIME=30s    time per target (any -fuzztime value: 2m, 10000x)
#   FUZZ=regexp     only the targets whose name matches (e.g. FUZZ=Unpack)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-30s}
# The tags `make unit` and `make build` use, so the code fuzzed is the code
# shipped.
TAGS=osusergo,netgo

# "pkg/ckpt FuzzUnpack", one line per target, sorted.
targets=$(grep -rEo --include='*_test.go' --exclude-dir=.git '^func Fuzz[A-Za-z0-9_]*' . |
  sed -E 's|^\./(.*)/[^/]*:func (Fuzz.*)$|\1 \2|' | sort -u)
if [ -z "$targets" ]; then
  echo "fuzz: no fuzz targets found" >&2
  exit 1
fi

failed=()
ran=0
while read -r dir name; do
  if [ -n "${FUZZ:-}" ] && ! [[ $name =~ $FUZZ ]]; then
    continue
  fi
  ran=$((ran + 1))
  echo "=== $name (./$dir, $FUZZTIME)"
  # -run '^$': no ordinary tests, only the fuzz target (its seeds first).
  if ! "$GO" test -tags "$TAGS" -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" "./$dir"; then
    failed+=("$name (./$dir)")
  fi
done <<<"$targets"

if [ "$ran" = 0 ]; then
  echo "fuzz: no fuzz target matches FUZZ=$FUZZ" >&2
  exit 1
fi
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: ${#failed[@]} of $ran targets failed:" >&2
  printf '  %s\n' "${failed[@]}" >&2
  echo "fuzz: failing inputs are in each package's testdata/fuzz/<target>/ (rerun one with go test -run '<target>/<file>')" >&2
  exit 1
fi
echo "fuzz: $ran targets, no failure"
