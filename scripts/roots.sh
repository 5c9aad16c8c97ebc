# Root filesystems holding a Debian suite's tshark and Wireshark development
# files, made once with debootstrap and cached (sourced by
# scripts/test-wireshark-versions.sh and scripts/build-windows.sh).
# The caller sets `cache` (where roots live), `mirror`, and defines `say`.
# `ensure_root SUITE` makes or reuses $cache/SUITE; `root_version ROOT` and
# `header_version ROOT` read its Wireshark version from tshark and headers.

# Unmounts whatever debootstrap left mounted under a root being made.
unmount_under() {
  local dir=$1 m
  [ -d "$dir" ] || return 0
  dir=$(readlink -f "$dir")
  for m in $(awk -v d="$dir" 'index($2, d"/") == 1 { print $2 }' /proc/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
}
making=""
# (An `if`, not `&&`: a false test as the trap's last command would make the script exit 1.)
cleanup() {
  if [ -n "$making" ]; then unmount_under "$making"; fi
}
trap cleanup EXIT

# Says in one line why suite $1 is skipped ($2), keeps debootstrap's own log
# beside $3, and removes the half-made root.
give_up() {
  if [ -f "$making/debootstrap/debootstrap.log" ]; then cp "$making/debootstrap/debootstrap.log" "$3.debootstrap"; fi
  say "skipped $1: $2 (log: $3)"
  unmount_under "$making"
  rm -rf --one-file-system "$making"
  making=""
}

# Makes or reuses the root of suite $1; prints the reason and returns 1 if it cannot.
ensure_root() {
  local suite=$1 root=$cache/$1 log=$cache/$1.log free_mb reason
  if [ -f "$root/.pktmon-root-ready" ]; then
    return 0
  fi
  if ! command -v debootstrap >/dev/null 2>&1; then
    say "installing debootstrap" >&2
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null 2>&1; then
      apt-get update -qq >/dev/null 2>&1
      if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null 2>&1; then
        say "skipped $suite: debootstrap is not installed and apt-get install debootstrap failed"
        return 1
      fi
    fi
  fi
  mkdir -p "$cache" || { say "skipped $suite: cannot create $cache"; return 1; }
  free_mb=$(df -Pm "$cache" | awk 'NR == 2 { print $4 }')
  if [ "${free_mb:-0}" -lt 2048 ]; then
    say "skipped $suite: only ${free_mb} MB free in $cache; a root needs about 600 MB while being made (2 GB wanted)"
    return 1
  fi
  say "making the $suite root in $root (a few minutes, once; log: $log)" >&2
  making=$root.partial
  unmount_under "$making"
  rm -rf --one-file-system "$making"
  # The base system with debootstrap, then Wireshark with the root's own apt,
  # which resolves dependencies better than debootstrap --include.
  if ! debootstrap --variant=minbase "$suite" "$making" "$mirror" >"$log" 2>&1; then
    reason=$(grep -E '^E: ' "$log" | tail -n 1)
    give_up "$suite" "debootstrap $suite from $mirror failed: ${reason:-$(tail -n 1 "$log")}" "$log"
    return 1
  fi
  if ! mount -t proc proc "$making/proc"; then
    give_up "$suite" "cannot mount /proc in the $suite root" "$log"
    return 1
  fi
  if ! chroot "$making" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
    'apt-get -o Acquire::Check-Valid-Until=false update &&
     apt-get install -y --no-install-recommends tshark libwireshark-dev libglib2.0-dev' \
    >>"$log" 2>&1; then
    reason=$(grep -E '^(E|dpkg): ' "$log" | tail -n 1)
    give_up "$suite" "installing tshark and libwireshark-dev in the $suite root failed: ${reason:-$(tail -n 1 "$log")}" "$log"
    return 1
  fi
  unmount_under "$making"
  if [ ! -x "$making/usr/bin/tshark" ] || [ ! -f "$making/usr/include/wireshark/ws_version.h" ]; then
    give_up "$suite" "the root was made but has no tshark or Wireshark headers" "$log"
    return 1
  fi
  chroot "$making" apt-get clean >/dev/null 2>&1 || true
  touch "$making/.pktmon-root-ready"
  rm -rf --one-file-system "$root"
  mv "$making" "$root"
  making=""
  return 0
}

# "4.4.19" from the root's tshark.
root_version() {
  chroot "$1" tshark --version 2>/dev/null | head -n 1 | awk '{ v = $3; sub(/\.$/, "", v); print v }'
}

# "4.4.19" from the root's headers.
header_version() {
  awk '/#define WIRESHARK_VERSION_(MAJOR|MINOR|MICRO) / { v = v (v == "" ? "" : ".") $3 } END { print v }' \
    "$1/usr/include/wireshark/ws_version.h"
}

# Run as a script, `bash scripts/roots.sh SUITE…` (as .ci/run does while the
# tests build: debootstrap waits on the network, cargo on the CPU), it makes
# those roots and says so; the scripts that use them then find them ready.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -uo pipefail
  cache=${PKTMON_ROOTS_CACHE:-/var/cache/pktmon-analyzer/roots}
  mirror=${PKTMON_DEBIAN_MIRROR:-http://deb.debian.org/debian}
  say() { echo "roots: $*"; }
  if [ "$(id -u)" -ne 0 ]; then
    say "not made: debootstrap needs root (the scripts that use the roots say what they skip)"
    exit 0
  fi
  status=0
  for suite in "$@"; do
    t0=$SECONDS
    if ensure_root "$suite"; then
      say "$suite ready in $cache/$suite ($((SECONDS - t0)) s)"
    else
      status=1
    fi
  done
  exit "$status"
fi
