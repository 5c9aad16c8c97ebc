#!/usr/bin/env bash
# Installs what building and testing need, idempotently: Debian packages for
# the Wireshark plugin and tests, and a Rust toolchain if none is present.
# Run as root on Debian 12 or later (CI does); as another user it uses sudo.
# Says what it does on standard error; a second run installs nothing and
# prints one line.
set -euo pipefail

# The Debian packages, one per line with why: add to this list.
packages=(
  tshark           # the plugin's tests and the demo
  libwireshark-dev # the plugin's C API (headers and pkg-config file)
  libglib2.0-dev   # the plugin: glib headers Wireshark's include
  libclang-dev     # bindgen, for the plugin's bindings
  clang            # bindgen
  pkg-config       # finding Wireshark's headers
  valgrind         # the plugin's memory check (tests/tests/plugin_tshark.rs)
  chromium         # the HTML report renders without error (tests/tests/cli_html.rs)
  ca-certificates  # rustup and cargo over https
  curl             # rustup
  gcc              # linking
  wireshark-qt     # the plugin in the real Wireshark window (tests/tests/plugin_window.rs)
  xvfb             # a virtual display for that window
  xdotool          # driving its menus
  imagemagick      # its screenshots
  python3-venv     # the DuckDB venv of the Parquet export tests (scripts/duckdb-venv.sh)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]} (a minute or two on a fresh machine)" >&2
  export DEBIAN_FRONTEND=noninteractive
  echo "setup: apt-get update" >&2
  $SUDO apt-get update >&2
  echo "setup: apt-get install ${missing[*]}" >&2
  ${SUDO:+$SUDO -E} apt-get install -y --no-install-recommends "${missing[@]}" >&2
else
  echo "setup: the ${#packages[@]} Debian packages needed are installed" >&2
fi

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: no Rust toolchain found; installing one with rustup into ~/.cargo (about a minute)" >&2
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt >&2
  export PATH="$HOME/.cargo/bin:$PATH"
fi
