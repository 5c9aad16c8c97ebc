#!/usr/bin/env bash
# Checks the Windows artifacts of scripts/build-windows.sh (which it runs
# first), on Debian as root (CI: .ci/run):
#   1. exports: each plugin DLL exports plugin_version, plugin_want_major,
#      plugin_want_minor, plugin_register and plugin_describe;
#   2. imports: only Wireshark's own DLL names (libwireshark.dll,
#      libwiretap.dll, libwsutil.dll, glib-2.0-0.dll) besides Windows system
#      DLLs, and every symbol imported from them declared public
#      (WS_DLL_PUBLIC, GLIB_AVAILABLE…) in that version's headers; the C
#      helpers call no C stdio (tshark prints the drops table through its own);
#   3. the struct layout: asserted at compile time by the build (helpers_win32.h);
#   4. Wine: each DLL loaded by a host program with logging stand-in DLLs
#      (scripts/windows/wine/): registration, two dissections of frames with
#      PktMon comments and the fields they add, the drops table, a THROW caught;
#      the "PktMon ETL" file type registered with wiretap, and the bundled
#      captures/demikernel-PktMon.etl read through it (114 frames);
#   5. Wine: pktmon-analyzer.exe info, drops, diagnose --json and convert on
#      the bundled capture and the corpus (../shared/corpus, skipped with one
#      line when absent), output equal to the Linux build's, paths aside.
# Writes the tables and the runs to target/windows/report/ (docs/windows.md is
# made from them: scripts/windows/report.sh). Fails if any check fails.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
start=$SECONDS
say() { echo "test-windows: $*" >&2; }

bash scripts/build-windows.sh || { say "FAILED: scripts/build-windows.sh"; exit 1; }

dist=${PKTMON_WINDOWS_DIST:-$repo/dist/windows}
work=${CARGO_TARGET_DIR:-$repo/target}/windows
report=$work/report
rm -rf "$report"
mkdir -p "$report"
failed=()
fail() {
  say "FAILED: $*"
  failed+=("$1")
}

if ! command -v wine64 >/dev/null 2>&1 && [ ! -x /usr/lib/wine/wine64 ]; then
  say "installing wine64 (Debian's Wine 8, for the smoke tests)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wine64 >&2 ||
    { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wine64 >&2; }
fi
wine=$(command -v wine64 || echo /usr/lib/wine/wine64)
export WINEPREFIX=$work/wineprefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" DISPLAY=
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  say "making the Wine prefix $WINEPREFIX (once, about 20 s)"
  timeout 300 "$wine" wineboot --init >/dev/null 2>&1 || say "wineboot exited $?"
fi
# One wineserver for the whole run (a server exiting while the next program
# starts can leave that program hanging), stopped at the end.
wineserver=$(command -v wineserver || echo /usr/lib/wine/wineserver)
"$wineserver" -p 2>/dev/null
trap '"$wineserver" -k 2>/dev/null' EXIT
# Runs a Windows program under Wine with a time limit (2 minutes; the
# programs here take seconds), its output (stdout and stderr) into file $1.
# Killed (by the time limit, or by Wine itself: now and then a program
# started while Wine's services start or stop gets SIGKILL), it runs once
# more, saying so.
run_wine() {
  local out=$1 rc t0=$SECONDS
  shift
  timeout -s KILL 120 "$wine" "$@" >"$out" 2>&1
  rc=$?
  # Killed, or failed without a word (Wine itself, not the program, which
  # names what went wrong): said, and run once more.
  if [ "$rc" -eq 137 ] || { [ "$rc" -ne 0 ] && [ ! -s "$out" ]; }; then
    say "Wine: $* $([ "$rc" -eq 137 ] && echo "was killed after $((SECONDS - t0)) s" || echo "exited $rc with no output"); running it once more"
    timeout -s KILL 120 "$wine" "$@" >"$out" 2>&1
    rc=$?
  fi
  return "$rc"
}

# (Windows DLL names are case-insensitive: mingw's C objects import kernel32.dll, Rust's KERNEL32.dll.)
system_dlls='^([Kk][Ee][Rr][Nn][Ee][Ll]32|msvcrt|ntdll|USERENV|WS2_32|bcryptprimitives|api-ms-win-core-[a-z0-9-]+)\.dll$'
official_dlls='^(libwireshark|libwiretap|libwsutil)\.dll$|^glib-2\.0-0\.dll$'

for dll in "$dist"/pktmon-for-wireshark-*.dll; do
  minor=$(basename "$dll" .dll)
  minor=${minor#pktmon-for-wireshark-}
  dir=$work/$minor
  t0=$SECONDS
  ws_inc=$(sed -n 's/^ws_inc=//p' "$dir/paths" 2>/dev/null)
  glib_inc=$(sed -n 's/^glib_inc=//p' "$dir/paths" 2>/dev/null)
  objdump=$report/objdump-$minor.txt
  x86_64-w64-mingw32-objdump -p "$dll" >"$objdump"

  # 1. Exports.
  exports=$(awk '/^\[Ordinal\/Name Pointer\] Table/ { on = 1; next } on && /^\t\[/ { print $NF; next } on { on = 0 }' "$objdump")
  echo "$exports" >"$report/exports-$minor.txt"
  for want in plugin_version plugin_want_major plugin_want_minor plugin_register plugin_describe; do
    grep -qx "$want" <<<"$exports" || fail "exports-$minor" "$dll does not export $want"
  done

  # 2. Imports.
  awk '/DLL Name:/ { dll = $3; next } /^$/ { dll = "" } dll != "" && $1 ~ /^[0-9a-f]+$/ && NF >= 3 { print dll, $3 }' \
    "$objdump" >"$report/imports-$minor.txt"
  while read -r name; do
    if ! [[ $name =~ $official_dlls || $name =~ $system_dlls ]]; then
      fail "imports-$minor" "$dll imports from $name, neither a DLL Wireshark ships nor a Windows system DLL"
    fi
  done < <(awk '{ print $1 }' "$report/imports-$minor.txt" | sort -u)
  # Every Wireshark/GLib symbol declared public in this version's headers.
  awk -v re="$official_dlls" '$1 ~ re { print $2 }' "$report/imports-$minor.txt" | sort -u >"$report/ws-symbols-$minor.txt"
  n=$(wc -l <"$report/ws-symbols-$minor.txt")
  [ "$n" -gt 0 ] || fail "imports-$minor" "$dll imports nothing from Wireshark"
  not_public=$(perl -0777 -ne '
      BEGIN { open(my $s, "<", shift @ARGV) or die; local $/ = "\n"; @syms = map { chomp; $_ } <$s>; }
      $all .= $_;
      END {
        $all =~ s{/\*.*?\*/}{}gs;
        for my $sym (@syms) {
          print "$sym\n" unless $all =~ /\b(?:WS_DLL_PUBLIC|GLIB_AVAILABLE_IN_[A-Z0-9_]+|GLIB_VAR)\b[^;{}]*?\(?\b\Q$sym\E\)?\s*\(/s;
        }
      }' "$report/ws-symbols-$minor.txt" $(find "$ws_inc" "$glib_inc" -name '*.h'))
  if [ -n "$not_public" ]; then
    fail "imports-$minor" "imported but not declared public in Wireshark $minor's headers: $(echo $not_public)"
  fi
  stdio=$(x86_64-w64-mingw32-nm -u "$dir/helpers.a" | awk '{ print $2 }' |
    grep -E '^(__imp_)?(printf|fprintf|vfprintf|fputs|puts|fwrite|putchar|fflush|__iob_func|__acrt_iob_func)$')
  [ -z "$stdio" ] || fail "stdio-$minor" "the C helpers call C stdio: $stdio"
  say "Wireshark $minor: exports and imports checked ($n Wireshark/GLib symbols, all public)"

  # 4. Wine smoke test of the plugin.
  smoke=$dir/smoke
  rm -rf "$smoke"
  mkdir -p "$smoke"
  cflags=(-O1 -Wall -Werror -I scripts/windows/wine -I wireshark-sys/src -I "$dir/overlay" -I "$ws_inc" -I "$glib_inc")
  x86_64-w64-mingw32-gcc "${cflags[@]}" -DWS_BUILD_DLL -c scripts/windows/wine/standin.c -o "$smoke/standin.o" &&
    x86_64-w64-mingw32-gcc -O1 -Wall -Werror -c scripts/windows/wine/standin_glib.c -o "$smoke/standin_glib.o" || {
    fail "smoke-$minor" "the stand-ins do not compile against Wireshark $minor's headers"
    continue
  }
  ok=1
  for name in libwireshark libwiretap libwsutil glib-2.0-0; do
    def=$smoke/$name.def
    cp "$dist/def/$minor/$name.def" "$def"
    obj=$smoke/standin.o
    [ "$name" = glib-2.0-0 ] && obj=$smoke/standin_glib.o
    if [ "$name" = libwireshark ]; then
      printf '  %s\n' standin_run_registration standin_dissect standin_throw_on_add_item standin_catchers \
        standin_run_drops_table >>"$def"
    fi
    [ "$name" = libwiretap ] && echo "  standin_wtap_read_file" >>"$def"
    x86_64-w64-mingw32-gcc -shared -o "$smoke/$name.dll" "$obj" "$def" -Wl,--out-implib,"$smoke/$name.dll.a" || {
      fail "smoke-$minor" "the $name.dll stand-in does not link with what the plugin imports (see $def)"
      ok=0
    }
  done
  # (Every stand-in DLL exports the standin_* functions, dllexport in
  # standin.h, each with its own state: the host links libwireshark.dll's,
  # where the plugin registers its protocol, and looks up
  # standin_wtap_read_file in libwiretap.dll, where it registers its reader.)
  x86_64-w64-mingw32-gcc -shared -o "$smoke/bcryptprimitives.dll" scripts/windows/wine/bcryptprimitives.c -ladvapi32 &&
    x86_64-w64-mingw32-gcc "${cflags[@]}" -o "$smoke/host.exe" scripts/windows/wine/host.c "$smoke/libwireshark.dll.a" ||
    { fail "smoke-$minor" "the host does not build"; ok=0; }
  [ "$ok" = 1 ] || continue
  cp "$dll" "$smoke/pktmon.dll"
  cp captures/demikernel-PktMon.etl "$smoke/"
  log=$report/wine-plugin-$minor.txt
  # (msvcrt's stdout writes CRLF: the log keeps LF.)
  (cd "$smoke" && run_wine "$log.raw" host.exe pktmon.dll demikernel-PktMon.etl)
  rc=$?
  tr -d '\r' <"$log.raw" >"$log"
  expect() { # WHAT LINE-REGEX
    grep -qE "$2" "$log" || fail "smoke-$minor" "Wine run of $minor: no $1 (/$2/ in $log)"
  }
  [ "$rc" -eq 0 ] || fail "smoke-$minor" "host.exe exited $rc under Wine (log: $log)"
  major_v=${minor%%.*}
  minor_v=${minor#*.}
  expect "exports" "^exports plugin_version=0\.1\.0 plugin_want_major=$major_v plugin_want_minor=$minor_v plugin_describe=0x13$"
  expect "protocol" '^proto_register_protocol name=PktMon short=PktMon filter=pktmon$'
  fields=$(grep -c '^field pktmon\.' "$log")
  want_fields=$(sed -n 's/.*FIELDS: \[FieldDef; \([0-9]*\)\].*/\1/p' plugin/src/fields.rs)
  [ "$fields" -eq "$want_fields" ] && [ "$fields" -gt 20 ] ||
    fail "smoke-$minor" "Wine run of $minor: $fields fields registered, plugin/src/fields.rs has $want_fields"
  expect "subtree" '^proto_register_subtree_array count=1$'
  expect "drop expert" '^expert pktmon\.drop\.expert group=0x[0-9a-f]+ severity=0x[0-9a-f]+ summary="Packet dropped \(PktMon\)"$'
  expect "postdissector" '^register_postdissector proto=42$'
  expect "tap" '^register_tap pktmon$'
  expect "drops table" '^register_stat_tap_table_ui title="PktMon Drops" cli=pktmon,drops tap=pktmon fields=3$'
  expect "group id of frame 1" '^add pktmon\.group_id = 281474979721642$'
  expect "component of frame 1" '^add pktmon\.component_id = 74$'
  expect "direction of frame 1" '^add pktmon\.direction = "Tx"$'
  expect "drop flag of frame 2" '^add pktmon\.drop = true$'
  expect "drop reason of frame 2" '^add pktmon\.drop_reason = "Inspection drop"$'
  expect "drop reason code of frame 2" '^add pktmon\.drop_reason_code = 909$'
  expect "drop location of frame 2" '^add pktmon\.drop_location = 3758113136$'
  expect "drop expert of frame 2" '^expert pktmon\.drop\.expert ".*Inspection drop'
  expect "tap record of frame 2" '^tap_queue_packet tap=3 reason="Inspection drop"'
  expect "drops table total" '^drops table row 0: "Total" "" 1$'
  expect "drops table row" '^drops table row 1: "Inspection drop" ".*" 1$'
  expect "THROW without SEH unwinding" '^THROW .*Frame=0x0$'
  expect "a THROW caught by the helper" '^dissect frame 3 with a THROW \(returned [0-9]+\), catchers left: 0$'
  # The file reader: registered with wiretap, then the bundled ETL read through it.
  expect "file type" '^wtap_register_file_type_subtype description="PktMon ETL" name=pktmon_etl extension=etl blocks=3$'
  expect "open routine" '^wtap_register_open_info name="PktMon ETL" type=heuristic extensions=etl first=0$'
  expect "extension" '^wtap_register_file_type_extension name="PktMon ETL" capture=1 extensions=etl$'
  expect "the ETL opened" '^open demikernel-PktMon\.etl: mine err=0$'
  expect "per-packet encapsulation" '^file_type_subtype=77 file_encap=-1 '
  expect "an interface" '^interface 0: encap=[0-9]+ units=10000000 tsresol=7 '
  expect "frame 1" '^frame 1: .*packet_id=[1-9][0-9]* .*comment="PktGroupId '
  expect "every frame read" '^read 114 frames \([0-9]+ bytes\), [0-9]+ with a drop comment, [0-9]+ with a verdict; end err=0$'
  expect "seek_read" '^seek_read frame 1: the same bytes$'
  expect "the reader closed" '^closed$'
  expect "the end" '^done$'
  say "Wireshark $minor: Wine smoke test $([ "$rc" -eq 0 ] && echo ran || echo FAILED) in $((SECONDS - t0)) s ($(wc -l <"$log") lines: $log)"
done

# 5. pktmon-analyzer.exe under Wine against the Linux build.
t0=$SECONDS
linux=${CARGO_TARGET_DIR:-$repo/target}/release/pktmon-analyzer
say "building the Linux pktmon-analyzer to compare with (nothing to do when scripts/test.sh built it)"
nice -n 10 cargo build --release -p pktmon-analyzer --bin pktmon-analyzer >&2 || fail "exe" "the Linux build failed"
# Beside it, the bcryptprimitives.dll stand-in Wine 8 needs (see the smoke test).
exe_dir=$work/exe
mkdir -p "$exe_dir"
cp "$dist/pktmon-analyzer.exe" "$exe_dir/"
x86_64-w64-mingw32-gcc -shared -o "$exe_dir/bcryptprimitives.dll" scripts/windows/wine/bcryptprimitives.c -ladvapi32
exe=$exe_dir/pktmon-analyzer.exe
corpus=${PKTMON_CORPUS_DIR:-$repo/../shared/corpus}
inputs=("$repo/captures/demikernel-PktMon.etl" "$repo/captures/demikernel-PktMon.cap")
if [ -d "$corpus" ]; then
  for f in "$corpus"/*PktMon*.etl "$corpus"/*PktMon*.txt "$corpus"/*.pcapng "$corpus"/*.cap; do [ -f "$f" ] && inputs+=("$f"); done
else
  say "skipped: pktmon-analyzer.exe on the corpus: $corpus is absent (the bundled capture is still compared)"
fi
cmp_dir=$work/compare
rm -rf "$cmp_dir"
mkdir -p "$cmp_dir"
compared=0
n_input=0
for input in "${inputs[@]}"; do
  base=$(basename "$input")
  n_input=$((n_input + 1))
  # The input is given by a relative path from its folder, so both builds print the same name.
  for cmd in "info" "drops" "diagnose --json -" "convert -o OUT"; do
    tag=$n_input-$base.${cmd%% *}
    lin_out=$cmp_dir/$tag.linux
    win_out=$cmp_dir/$tag.wine
    # convert writes into $cmp_dir (never beside the input): the path it
    # prints is the one thing told apart, as OUT.
    read -r -a largs <<<"${cmd//OUT/$lin_out.pcapng}"
    read -r -a wargs <<<"${cmd//OUT/$win_out.pcapng}"
    (cd "$(dirname "$input")" && TZ=Asia/Kolkata "$linux" "${largs[0]}" "$base" "${largs[@]:1}") >"$lin_out.raw" 2>&1
    lrc=$?
    (cd "$(dirname "$input")" && TZ=Asia/Kolkata run_wine "$win_out.raw" "$exe" "${wargs[0]}" "$base" "${wargs[@]:1}")
    wrc=$?
    sed "s|$lin_out.pcapng|OUT|g" "$lin_out.raw" >"$lin_out"
    sed "s|$win_out.pcapng|OUT|g" "$win_out.raw" >"$win_out"
    compared=$((compared + 1))
    if [ "$lrc" != "$wrc" ]; then
      fail "exe" "pktmon-analyzer ${largs[0]} $base: exit $lrc on Linux, $wrc under Wine"
    elif ! cmp -s "$lin_out" "$win_out"; then
      fail "exe" "pktmon-analyzer ${largs[0]} $base: output differs (diff $lin_out $win_out)"
    elif [ "${largs[0]}" = convert ] && ! cmp -s "$lin_out.pcapng" "$win_out.pcapng"; then
      fail "exe" "pktmon-analyzer convert $base: the pcapng files differ ($lin_out.pcapng, $win_out.pcapng)"
    fi
  done
done
echo "${#inputs[@]} inputs, $compared runs compared" >"$report/exe-compare.txt"
say "pktmon-analyzer.exe under Wine: $compared runs on ${#inputs[@]} inputs compared with the Linux build in $((SECONDS - t0)) s"

# 6. install-plugin on Windows: the DLL for the Wireshark version named, found
# beside the program, goes to %APPDATA%\Wireshark\plugins\X.Y\epan\pktmon.dll;
# a DLL built for another version is refused.
t0=$SECONDS
cp "$dist"/pktmon-for-wireshark-*.dll "$exe_dir/"
appdata_plugins=$(find "$WINEPREFIX/drive_c/users" -maxdepth 4 -type d -path '*/AppData/Roaming' | head -n 1)/Wireshark/plugins
rm -rf "$appdata_plugins"
installed=0
for dll in "$dist"/pktmon-for-wireshark-*.dll; do
  v=$(basename "$dll" .dll)
  v=${v#pktmon-for-wireshark-}
  out=$report/install-plugin-$v.txt
  run_wine "$out.raw" "$exe" install-plugin --wireshark-version "$v"
  rc=$?
  tr -d '\r' <"$out.raw" >"$out"
  if [ "$rc" -ne 0 ] || ! grep -qE '^check with: "tshark" -G plugins \| findstr pktmon$' "$out" ||
    ! grep -qF "\\AppData\\Roaming\\Wireshark\\plugins\\$v\\epan\\pktmon.dll" "$out" ||
    ! cmp -s "$dll" "$appdata_plugins/$v/epan/pktmon.dll"; then
    fail "install-plugin" "install-plugin --wireshark-version $v under Wine did not put $(basename "$dll") in %APPDATA%\\Wireshark\\plugins\\$v\\epan (exit $rc, $out)"
  else
    installed=$((installed + 1))
  fi
done
other=$(ls "$dist"/pktmon-for-wireshark-*.dll | head -n 1)
(cd "$exe_dir" && run_wine "$report/install-plugin-refused.txt" "$exe" install-plugin --plugin "$(basename "$other")" --wireshark-version 9.9)
rc=$?
if [ "$rc" -ne 2 ] || ! grep -q "but Wireshark 9.9 is installed" "$report/install-plugin-refused.txt"; then
  fail "install-plugin" "install-plugin accepted a DLL built for another Wireshark (exit $rc, $report/install-plugin-refused.txt)"
fi
say "install-plugin under Wine: $installed versions installed into %APPDATA%, a mismatch refused, in $((SECONDS - t0)) s"

if [ "${#failed[@]}" -gt 0 ]; then
  say "FAILED checks: ${failed[*]} ($((SECONDS - start)) s)"
  exit 1
fi
say "all Windows checks passed ($((SECONDS - start)) s)"
