#!/usr/bin/env bash
# Installs what building and testing need, idempotently: Debian packages for
# the Wireshark plugin and tests, and a Rust toolchain if none is present.
# Run as root on Debian 12 or later (CI does); as another user it uses sudo.
set -euo pipefail

packages=(tshark libwireshark-dev libglib2.0-dev libclang-dev clang pkg-config ca-certificates curl gcc wireshark-qt xvfb xdotool imagemagick)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  ${SUDO:+$SUDO -E} apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: no Rust toolchain found; installing one with rustup" >&2
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt >&2
  export PATH="$HOME/.cargo/bin:$PATH"
fi
