#!/usr/bin/env bash
# Cross-builds the Windows (x86_64) artifacts on Debian 12 or later, or in
# WSL's Debian, as root, into dist/windows/:
#   pktmon-analyzer.exe
#   pktmon-for-wireshark-<major.minor>.dll   the Wireshark plugin, one per version
#   def/<major.minor>/*.def                  the symbols each plugin imports, per DLL
# for every Wireshark version it has headers for: the host's own (Debian 12:
# 4.0, from libwireshark-dev) and Debian 13's 4.4 and unstable's 4.6 from the
# version roots of scripts/test-wireshark-versions.sh (made here with the same
# code when absent: debootstrap, a few minutes each, once).
#
# How (docs/windows.md says why each step is needed):
#   1. Debian packages mingw-w64, clang (bindgen) and the rustup target
#      x86_64-pc-windows-gnu, installed when missing;
#   2. per version, an overlay include folder: GLib's glibconfig.h of that
#      root turned LLP64/G_OS_WIN32 (scripts/windows/glibconfig-win64.sed) and
#      a stand-in glib/gwin32.h;
#   3. import libraries for libwireshark.dll, libwiretap.dll, libwsutil.dll and
#      glib-2.0-0.dll (the names Wireshark's Windows builds ship), made with
#      dlltool from .def files listing what the version's Linux libraries
#      export (the same WS_DLL_PUBLIC / GLIB_AVAILABLE symbols); the linker takes
#      only what the plugin uses, and the plugin's own import table then gives
#      the minimal .def files written to dist/windows/def/ (derived, never
#      hand-kept);
#   4. the struct layout the plugin relies on as the Linux build of the same
#      headers sees it (scripts/windows/layout-expected.c), which the Windows
#      build of the C helper asserts at compile time (helpers_win32.h);
#   5. cargo build --target x86_64-pc-windows-gnu.
# scripts/test-windows.sh checks the result (imports, exports, Wine runs).
#
# Environment: PKTMON_WIRESHARK_SUITES (default "trixie sid"), PKTMON_ROOTS_CACHE,
# PKTMON_DEBIAN_MIRROR (as in scripts/test-wireshark-versions.sh);
# PKTMON_WINDOWS_DIST (default dist/windows).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
triple=x86_64-pc-windows-gnu
cache=${PKTMON_ROOTS_CACHE:-/var/cache/pktmon-analyzer/roots}
mirror=${PKTMON_DEBIAN_MIRROR:-http://deb.debian.org/debian}
read -r -a suites <<<"${PKTMON_WIRESHARK_SUITES:-trixie sid}"
dist=${PKTMON_WINDOWS_DIST:-$repo/dist/windows}
work=${CARGO_TARGET_DIR:-$repo/target}/windows
start=$SECONDS

say() { echo "build-windows: $*" >&2; }

# Debian packages, installed when missing (apt's own progress shown).
packages=(
  gcc-mingw-w64-x86-64-win32  # the C compiler and linker for the helpers, the DLL and the .exe
  binutils-mingw-w64-x86-64   # dlltool (import libraries) and objdump (import/export tables)
  mingw-w64-x86-64-dev        # the Windows C headers and runtime
  clang                       # bindgen
  libclang-dev                # bindgen
  libwireshark-dev            # the host's Wireshark headers (4.0 on Debian 12)
  libglib2.0-dev              # the host's GLib headers
  binutils                    # nm, for the exports of the version's Linux libraries
  gcc                         # the layout printer (scripts/windows/layout-expected.c)
  ca-certificates             # rustup
  curl                        # rustup
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  say "installing ${#missing[@]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update >&2
  ${SUDO:+$SUDO -E} apt-get install -y --no-install-recommends "${missing[@]}" >&2
else
  say "the ${#packages[@]} Debian packages needed are installed"
fi
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  say "no Rust toolchain found; installing one with rustup into ~/.cargo (about a minute)"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt >&2
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! rustup target list --installed 2>/dev/null | grep -qx "$triple"; then
  say "rustup target add $triple"
  rustup target add "$triple" >&2
else
  say "the Rust target $triple is installed"
fi

# The Wireshark versions to build for: "version root" lines, host first.
roots=()
if [ -f /usr/include/wireshark/ws_version.h ]; then
  roots+=(/)
fi
if [ "$(id -u)" -eq 0 ]; then
  source scripts/roots.sh
  for suite in "${suites[@]}"; do
    if ensure_root "$suite"; then roots+=("$cache/$suite"); fi
  done
else
  say "not root: the version roots cannot be made or entered; building only for the host's Wireshark"
fi
[ "${#roots[@]}" -gt 0 ] || { say "no Wireshark headers found (apt-get install libwireshark-dev)"; exit 1; }

# glibconfig.h of a root (multiarch folder).
glibconfig_of() {
  local f
  for f in "$1"/usr/lib/*/glib-2.0/include/glibconfig.h; do
    [ -f "$f" ] && { echo "$f"; return 0; }
  done
  return 1
}

# The Linux library of root $1 named $2 (libwireshark.so…): its real file.
linux_lib() {
  local f
  for f in "$1"/usr/lib/*/"$2"; do
    [ -e "$f" ] && { readlink -f "$f"; return 0; }
  done
  return 1
}

# Linux library stem → the DLL Wireshark's Windows build ships.
declare -A dll_of=([libwireshark]=libwireshark.dll [libwiretap]=libwiretap.dll [libwsutil]=libwsutil.dll
  [libglib-2.0]=glib-2.0-0.dll)
# … and the import library the link looks for (-llibwireshark finds libwireshark.dll.a; -lglib-2.0 glib-2.0.dll.a).
declare -A implib_of=([libwireshark]=libwireshark.dll.a [libwiretap]=libwiretap.dll.a
  [libwsutil]=libwsutil.dll.a [libglib-2.0]=glib-2.0.dll.a)

mkdir -p "$dist" "$work"
built=()
for root in "${roots[@]}"; do
  t0=$SECONDS
  ws_inc=$root/usr/include/wireshark
  [ "$root" = / ] && ws_inc=/usr/include/wireshark
  version=$(awk '/#define WIRESHARK_VERSION_(MAJOR|MINOR|MICRO) / { v = v (v == "" ? "" : ".") $3 } END { print v }' \
    "$ws_inc/ws_version.h")
  minor=$(echo "$version" | cut -d. -f1,2)
  dir=$work/$minor
  rm -rf "$dir"
  mkdir -p "$dir/overlay/glib" "$dir/lib" "$dir/layout" "$dir/def-all"
  say "Wireshark $version (headers in ${root%/}/usr/include): overlay headers, import libraries, layout"

  # 2. Overlay: the root's glibconfig.h made LLP64, and gwin32.h.
  gc=$(glibconfig_of "${root%/}") || { say "FAILED $version: no glibconfig.h in $root"; exit 1; }
  sed -f scripts/windows/glibconfig-win64.sed "$gc" >"$dir/overlay/glibconfig.h"
  for want in '^#define GLIB_SIZEOF_LONG   4$' '^#define G_OS_WIN32$' '^typedef unsigned long long gsize;$' \
    '^typedef signed long long gint64;$' '^typedef unsigned long long guintptr;$'; do
    grep -q "$want" "$dir/overlay/glibconfig.h" || {
      say "FAILED $version: $gc changed shape; scripts/windows/glibconfig-win64.sed did not produce: $want"
      exit 1
    }
  done
  cp scripts/windows/gwin32.h "$dir/overlay/glib/gwin32.h"
  printf 'ws_inc=%s\nglib_inc=%s\n' "$ws_inc" "${root%/}/usr/include/glib-2.0" >"$dir/paths"

  # 3. Import libraries from what the version's Linux libraries export.
  for stem in libwireshark libwiretap libwsutil libglib-2.0; do
    so=$(linux_lib "${root%/}" "$stem.so") || { say "FAILED $version: no $stem.so in $root"; exit 1; }
    def=$dir/def-all/$stem.def
    {
      echo "LIBRARY \"${dll_of[$stem]}\""
      echo "EXPORTS"
      # Functions as they are; data (D, B, R) marked DATA (reached only through __imp_).
      nm -D --defined-only "$so" | awk '$2 ~ /^[TtWi]$/ { print "  " $3 } $2 ~ /^[DdBbRrVv]$/ { print "  " $3 " DATA" }' |
        sed 's/@.*//' | sort -u
    } >"$def"
    x86_64-w64-mingw32-dlltool -d "$def" -D "${dll_of[$stem]}" -l "$dir/lib/${implib_of[$stem]}"
  done

  # 4. The layout the Linux build of these headers sees.
  gcc -Wall -o "$dir/layout/print" -I wireshark-sys/src -I "$ws_inc" -I "${root%/}/usr/include/glib-2.0" \
    -I "$(dirname "$gc")" scripts/windows/layout-expected.c
  "$dir/layout/print" >"$dir/layout/pktmon_layout_expected.h"

  # 5. The plugin.
  say "Wireshark $version: cargo build --release --target $triple -p pktmon-wireshark"
  WIRESHARK_SYS_INCLUDE="$dir/overlay:$ws_inc:${root%/}/usr/include/glib-2.0" \
    WIRESHARK_SYS_LIB_DIR="$dir/lib" \
    WIRESHARK_SYS_LAYOUT_EXPECTED="$dir/layout" \
    CARGO_PROFILE_RELEASE_DEBUG=0 \
    nice -n 10 cargo build --release --target "$triple" -p pktmon-wireshark --lib
  out=$dist/pktmon-for-wireshark-$minor.dll
  cp "${CARGO_TARGET_DIR:-$repo/target}/$triple/release/pktmon_wireshark.dll" "$out.partial"
  mv "$out.partial" "$out"
  # The C helpers as built for this version (scripts/test-windows.sh checks what they call).
  helpers=$(ls -t "${CARGO_TARGET_DIR:-$repo/target}"/$triple/release/build/wireshark-sys-*/out/libpktmon_wireshark_helpers.a | head -n 1)
  cp "$helpers" "$dir/helpers.a"

  # The .def files of what the plugin imports: from its own import table.
  rm -rf "$dist/def/$minor"
  mkdir -p "$dist/def/$minor"
  x86_64-w64-mingw32-objdump -p "$out" | awk '
    /DLL Name:/ { dll = $3; next }
    /^$/ { dll = "" }
    dll != "" && $1 ~ /^[0-9a-f]+$/ && NF >= 3 { print dll, $3 }' >"$dir/imports.txt"
  for stem in libwireshark libwiretap libwsutil libglib-2.0; do
    name=${dll_of[$stem]}
    {
      echo "; The symbols pktmon-for-wireshark-$minor.dll imports from $name (Wireshark $version),"
      echo "; from its import table (scripts/build-windows.sh)."
      echo "LIBRARY \"$name\""
      echo "EXPORTS"
      awk -v d="$name" '$1 == d { print "  " $2 }' "$dir/imports.txt" | sort
    } >"$dist/def/$minor/${name%.dll}.def"
  done
  n=$(awk '$1 ~ /^(libwireshark|libwiretap|libwsutil)\.dll$|^glib-2\.0-0\.dll$/' "$dir/imports.txt" | wc -l)
  say "Wireshark $version: $out ($(stat -c %s "$out") bytes, $n Wireshark/GLib imports) in $((SECONDS - t0)) s"
  built+=("$minor")
done

t0=$SECONDS
say "cargo build --release --target $triple -p pktmon-analyzer"
CARGO_PROFILE_RELEASE_DEBUG=0 nice -n 10 cargo build --release --target "$triple" -p pktmon-analyzer --bin pktmon-analyzer
cp "${CARGO_TARGET_DIR:-$repo/target}/$triple/release/pktmon-analyzer.exe" "$dist/pktmon-analyzer.exe.partial"
mv "$dist/pktmon-analyzer.exe.partial" "$dist/pktmon-analyzer.exe"
say "$dist/pktmon-analyzer.exe ($(stat -c %s "$dist/pktmon-analyzer.exe") bytes) in $((SECONDS - t0)) s"
say "built the plugin for Wireshark ${built[*]} and pktmon-analyzer.exe into $dist in $((SECONDS - start)) s"
