#!/usr/bin/env bash
# The Wireshark plugin on the Wireshark versions users run, beyond the host's
# (Debian 12: 4.0, tested by scripts/test.sh): for each Debian suite below it
#   1. makes (once, then reuses) a root filesystem with debootstrap
#      --variant=minbase holding that suite's tshark and libwireshark-dev,
#      cached under /var/cache/pktmon-analyzer/roots/<suite>;
#   2. builds the plugin on the host against that root's own headers
#      (WIRESHARK_SYS_SYSROOT: bindings and cfg(ws_minor) from the root, no
#      linking; tshark resolves libwireshark's symbols when it loads it);
#   3. runs the plugin's tshark integration suites (tests/tests/plugin_tshark.rs
#      and plugin_wiretap.rs, the file reader; the same assertions as on the
#      host) with every tshark inside the root
#      (chroot + setpriv), including tshark's own refusal of a plugin built for
#      another version.
# A suite whose root cannot be made is skipped with one line saying why; the
# script fails only if a suite that was made fails to build or to pass.
#
# Environment: PKTMON_WIRESHARK_SUITES (default "trixie sid"),
# PKTMON_ROOTS_CACHE (default /var/cache/pktmon-analyzer/roots),
# PKTMON_DEBIAN_MIRROR (default http://deb.debian.org/debian).
# Refresh a root (for example sid after a new Wireshark): rm -rf its folder.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

cache=${PKTMON_ROOTS_CACHE:-/var/cache/pktmon-analyzer/roots}
mirror=${PKTMON_DEBIAN_MIRROR:-http://deb.debian.org/debian}
read -r -a suites <<<"${PKTMON_WIRESHARK_SUITES:-trixie sid}"
target=$PWD/target/wireshark-versions
start=$SECONDS

say() { echo "wireshark-versions: $*"; }

if [ "$(id -u)" -ne 0 ]; then
  say "skipped every suite: making and entering root filesystems (debootstrap, chroot) needs root"
  exit 0
fi

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

declare -A version lib
made=()
failed=()
for suite in "${suites[@]}"; do
  t0=$SECONDS
  ensure_root "$suite" || continue
  root=$cache/$suite
  version[$suite]=$(root_version "$root")
  hv=$(header_version "$root")
  if [ -z "${version[$suite]}" ] || [ "${version[$suite]}" != "$hv" ]; then
    say "FAILED $suite: tshark in the root says '${version[$suite]}' but its headers say '$hv'"
    failed+=("$suite")
    continue
  fi
  say "$suite: Wireshark ${version[$suite]} in $root (ready in $((SECONDS - t0)) s)"
  made+=("$suite")
done

for suite in "${made[@]}"; do
  t0=$SECONDS
  minor=$(echo "${version[$suite]}" | cut -d. -f1,2)
  say "$suite: building the plugin against Wireshark ${version[$suite]}'s headers"
  if ! WIRESHARK_SYS_SYSROOT=$cache/$suite CARGO_TARGET_DIR=$target \
    cargo build --release -p pktmon-wireshark --lib; then
    say "FAILED $suite: the plugin does not build against Wireshark ${version[$suite]}'s headers"
    failed+=("$suite")
    continue
  fi
  lib[$suite]=$target/pktmon-for-wireshark-$minor.so
  cp "$target/release/libpktmon_wireshark.so" "${lib[$suite]}"
  say "$suite: built ${lib[$suite]} against Wireshark ${version[$suite]}'s headers in $((SECONDS - t0)) s"
done

tested=()
for suite in "${made[@]}"; do
  [ -n "${lib[$suite]:-}" ] || continue
  t0=$SECONDS
  root=$cache/$suite
  # A plugin really built for another Wireshark, for the refusal tests.
  # Another suite's plugin, else the host's (4.0, built by scripts/test.sh).
  foreign=""
  for other in "${made[@]}"; do
    if [ "$other" != "$suite" ] && [ -n "${lib[$other]:-}" ]; then
      foreign=${lib[$other]}
      break
    fi
  done
  if [ -z "$foreign" ] && [ -f target/release/libpktmon_wireshark.so ]; then
    foreign=$PWD/target/release/libpktmon_wireshark.so
  fi
  # What the issue asks to see: the root's own tshark listing the plugin built for it.
  show=$(mktemp -d "$root/tmp/pktmon-show.XXXXXX")
  minor=$(echo "${version[$suite]}" | cut -d. -f1,2)
  mkdir -p "$show/.local/lib/wireshark/plugins/$minor/epan"
  cp "${lib[$suite]}" "$show/.local/lib/wireshark/plugins/$minor/epan/pktmon.so"
  chmod -R a+rwX "$show"
  say "$suite: tshark -G plugins in the root:"
  chroot "$root" setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="/tmp/$(basename "$show")" \
    tshark -G plugins 2>/dev/null | grep pktmon || true
  rm -rf "$show"
  say "$suite: running tests/tests/plugin_tshark.rs and plugin_wiretap.rs with Wireshark ${version[$suite]}${foreign:+ (foreign plugin: $foreign)}"
  if PKTMON_TSHARK_ROOT=$root PKTMON_PLUGIN_LIB=${lib[$suite]} PKTMON_FOREIGN_PLUGIN_LIB=$foreign \
    cargo test --release -p pktmon-tests --test plugin_tshark --test plugin_wiretap -- --nocapture; then
    say "$suite: Wireshark ${version[$suite]} passed in $((SECONDS - t0)) s"
    tested+=("${version[$suite]} (Debian $suite)")
  else
    say "FAILED $suite: the integration suite failed on Wireshark ${version[$suite]}"
    failed+=("$suite")
  fi
done

host=$(tshark --version 2>/dev/null | head -n 1 | awk '{ v = $3; sub(/\.$/, "", v); print v }')
list=$(IFS=,; echo "${tested[*]}" | sed 's/,/, /g')
note=""
if [ -n "$host" ]; then note="; the host's $host is tested by scripts/test.sh"; fi
say "plugin tested here on Wireshark ${list:-(no other version)}$note ($((SECONDS - start)) s)"
if [ "${#failed[@]}" -gt 0 ]; then
  say "failed: ${failed[*]}"
  exit 1
fi
