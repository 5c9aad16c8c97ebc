#!/usr/bin/env bash
# Prints, as Markdown, the export and import tables of the DLLs
# scripts/build-windows.sh built (read with x86_64-w64-mingw32-objdump -p):
# the tables of docs/windows.md come from here, pasted as printed.
# Usage: scripts/windows/doc-tables.sh [DIST] (default dist/windows)
set -euo pipefail
cd "$(dirname "$0")/../.."
dist=${1:-dist/windows}
dlls=("$dist"/pktmon-for-wireshark-*.dll)
tables() { # DLL → "dll symbol" lines of its import table
  x86_64-w64-mingw32-objdump -p "$1" |
    awk '/DLL Name:/ { dll = $3; next } /^$/ { dll = "" } dll != "" && $1 ~ /^[0-9a-f]+$/ && NF >= 3 { print dll, $3 }'
}
exports() {
  x86_64-w64-mingw32-objdump -p "$1" |
    awk '/^\[Ordinal\/Name Pointer\] Table/ { on = 1; next } on && /^\t\[/ { print $NF; next } on { on = 0 }'
}
versions=()
for d in "${dlls[@]}"; do
  v=$(basename "$d" .dll)
  versions+=("${v#pktmon-for-wireshark-}")
done
echo "#### Exports"
echo
echo "| symbol | $(printf '%s | ' "${versions[@]}")"
echo "|---|$(printf -- '---|%.0s' "${versions[@]}")"
for sym in $(for d in "${dlls[@]}"; do exports "$d"; done | sort -u); do
  row="| \`$sym\` |"
  for d in "${dlls[@]}"; do
    if exports "$d" | grep -qx "$sym"; then row+=" yes |"; else row+=" — |"; fi
  done
  echo "$row"
done
echo
echo "#### Imports from Wireshark and GLib"
echo
echo "| DLL | symbol | $(printf '%s | ' "${versions[@]}")"
echo "|---|---|$(printf -- '---|%.0s' "${versions[@]}")"
all=$(for d in "${dlls[@]}"; do tables "$d"; done | grep -E '^(libwireshark|libwiretap|libwsutil)\.dll |^glib-2\.0-0\.dll ' | sort -u)
while read -r dll sym; do
  row="| $dll | \`$sym\` |"
  for d in "${dlls[@]}"; do
    if tables "$d" | grep -qx "$dll $sym"; then row+=" yes |"; else row+=" — |"; fi
  done
  echo "$row"
done <<<"$all"
echo
echo "#### Imports from Windows (number of symbols)"
echo
echo "| DLL | $(printf '%s | ' "${versions[@]}")"
echo "|---|$(printf -- '---|%.0s' "${versions[@]}")"
for dll in $(for d in "${dlls[@]}"; do tables "$d"; done | awk '{ print $1 }' | grep -vE '^(libwireshark|libwiretap|libwsutil)\.dll$|^glib-2\.0-0\.dll$' | sort -u); do
  row="| $dll |"
  for d in "${dlls[@]}"; do row+=" $(tables "$d" | awk -v x="$dll" '$1 == x' | wc -l) |"; done
  echo "$row"
done
echo
echo "From msvcrt.dll: $(tables "${dlls[-1]}" | awk '$1 == "msvcrt.dll" { printf "%s`%s`", (n++ ? ", " : ""), $2 }')."
