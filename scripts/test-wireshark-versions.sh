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

source scripts/roots.sh

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
