# CRIU checks and the private CRIU install (sourced by install-deps.sh; the
# functions are tested by hack/lib/criu_test.go).
#
# Two trial dumps tell whether a CRIU is usable here, beyond `criu check`:
# - breakpoints_work: where hardware breakpoints do not fire (common in VMs),
#   CRIU's parasite cure hangs forever right after "Waiting for PID to
#   trap"; CRIU_FAULT=130 (CRIU's "no breakpoints") avoids it.
# - criu_dumps_tcp: CRIU < 4.2 cannot dump any TCP socket, a listening one
#   included, on Linux >= 6.16 ("sockets: Can't get 1:16 opt: Operation not
#   supported": the kernel refuses SO_PASSCRED on inet sockets; CRIU issues
#   #2705, #2718), although `criu check` says "Looks good.".

log() { printf 'install-deps: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

criu_works() { timeout 60 "$1" check >/dev/null 2>&1; }

# trial_dump CRIU DIR ENV-LINE PROGRAM...: starts PROGRAM (in its own
# session, silent; it writes its pid to DIR/pid), dumps it with CRIU (which
# kills it) within 20 s, and returns CRIU's status (124: timed out). ENV-LINE
# is given to `env` (e.g. -u CRIU_FAULT, or CRIU_FAULT=130).
trial_dump() {
  local criu=$1 dir=$2 envline=$3 pid i rc=0
  shift 3
  setsid -f "$@" </dev/null >/dev/null 2>&1
  # a loaded machine may take seconds to start it; the programs end by
  # themselves (sleep 300) if it never shows up
  for i in $(seq 300); do [ -s "$dir/pid" ] && break; sleep 0.1; done
  pid=$(cat "$dir/pid" 2>/dev/null) || return 2
  # shellcheck disable=SC2086 # envline is one or two words on purpose
  env $envline timeout 20 "$criu" dump -t "$pid" -D "$dir" --shell-job -o dump.log >/dev/null 2>&1 || rc=$?
  kill -9 "$pid" 2>/dev/null || true
  return "$rc"
}

# breakpoints_work CRIU: 0 when a plain dump works, 1 when it hangs (no
# hardware breakpoints), 2 when it fails otherwise.
breakpoints_work() {
  local dir rc=0
  dir=$(mktemp -d)
  trial_dump "$1" "$dir" "-u CRIU_FAULT" sh -c 'echo $$ >"$0/pid"; exec sleep 300' "$dir" || rc=$?
  if [ "$rc" = 124 ]; then rm -rf "$dir"; return 1; fi
  if [ "$rc" != 0 ]; then log "trial dump failed (rc=$rc):"; tail -5 "$dir/dump.log" >&2 || true; rm -rf "$dir"; return 2; fi
  rm -rf "$dir"
  return 0
}

# criu_dumps_tcp CRIU: whether CRIU can dump a process that holds a
# listening TCP socket on 127.0.0.1 (perl is in every Debian: perl-base).
# It runs without hardware breakpoints, which works everywhere. On failure
# the end of CRIU's log is in CRIU_TCP_LOG.
criu_dumps_tcp() {
  local dir rc=0
  dir=$(mktemp -d)
  trial_dump "$1" "$dir" "CRIU_FAULT=130" perl -MIO::Socket::INET -e '
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1", LocalPort => 0, Proto => "tcp")
      or die "listen: $!";
    open(my $f, ">", "$ARGV[0]/pid") or die; print $f "$$\n"; close $f;
    sleep 300' "$dir" || rc=$?
  CRIU_TCP_LOG=$(grep -E 'Error|error' "$dir/dump.log" 2>/dev/null | tail -3 || true)
  rm -rf "$dir"
  return "$rc"
}

# require_criu_tcp CRIU: refuses (exits) a CRIU that cannot dump a TCP socket.
require_criu_tcp() {
  criu_dumps_tcp "$1" && return 0
  die "$1 ($("$1" --version 2>/dev/null | head -1)) cannot dump a listening TCP socket on this kernel ($(uname -r)); CRIU >= 4.2 is needed:
$CRIU_TCP_LOG"
}

# install_private_criu SUITE PREFIX PACKAGES...: unpacks CRIU and the
# libraries it needs from Debian's SUITE into PREFIX with a private,
# download-only apt configuration (the system's apt never sees SUITE).
install_private_criu() {
  local suite=$1 prefix=$2 work uris signed
  shift 2
  work=$(mktemp -d)
  mkdir -p "$work/lists/partial" "$work/debs"
  # Reuse the machine's own mirror and keyring lines, with the suite.
  uris=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  signed=$(awk '/^Signed-By:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  : "${uris:=http://deb.debian.org/debian}" "${signed:=/usr/share/keyrings/debian-archive-keyring.gpg}"
  printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' "$uris" "$suite" "$signed" >"$work/suite.sources"
  local opts=(-o "Dir::Etc::SourceList=$work/suite.sources" -o Dir::Etc::SourceParts=/nonexistent
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "Dir::Cache::archives=$work/debs" -q)
  mkdir -p "$work/cache"
  log "downloading CRIU from Debian $suite into a private prefix ($prefix)"
  apt-get "${opts[@]}" update >/dev/null
  (cd "$work/debs" && apt-get "${opts[@]}" download "$@" >/dev/null)
  rm -rf "$prefix.new"
  mkdir -p "$prefix.new"
  local deb
  for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$prefix.new"; done
  rm -rf "$prefix" "$work"
  mv "$prefix.new" "$prefix"
}

# write_launcher LAUNCHER TARGET PREFIX ENV-LINE: writes the criu executable
# runc finds in PATH; TARGET is a criu binary, or "private" for the one in
# PREFIX, run through that prefix's own dynamic loader.
write_launcher() {
  local launcher=$1 target=$2 prefix=$3 envline=$4 tmp
  tmp="$launcher.tmp.$$"
  mkdir -p "$(dirname "$launcher")"
  {
    echo '#!/bin/sh'
    echo '# Written by ARCH hack/install-deps.sh.'
    [ -n "$envline" ] && echo "$envline"
    if [ "$target" = private ]; then
      local lib="$prefix/usr/lib/x86_64-linux-gnu"
      echo "exec $lib/ld-linux-x86-64.so.2 --library-path $lib $prefix/usr/sbin/criu \"\$@\""
    else
      echo "exec $target \"\$@\""
    fi
  } >"$tmp"
  chmod 0755 "$tmp"
  mv "$tmp" "$launcher"
}
