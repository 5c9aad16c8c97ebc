#!/usr/bin/env bash
# Builds the seed corpus of the three fuzz targets from the bundled captures,
# into fuzz/corpus/<target>/ (git-ignored; libFuzzer grows the same folders).
# Idempotent: seed files are overwritten, inputs the fuzzer added are kept.
#
#   fuzz/seed.sh            # from anywhere; needs only stable cargo
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
corpus="$root/fuzz/corpus"
etl="$corpus/etl_reader"
pcap="$corpus/pcapng_reader"
text="$corpus/text_reader"
mkdir -p "$etl" "$pcap" "$text"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "== building pktmon-analyzer (main workspace, release)"
cargo build --release -p pktmon-analyzer
bin="$root/target/release/pktmon-analyzer"

echo "== real captures, their first buffers/blocks, tiny writer ETLs, classic pcap"
cargo run --quiet --release --manifest-path fuzz/Cargo.toml --example make_seeds -- captures "$corpus"

echo "== CLI conversions"
"$bin" convert captures/demikernel-PktMon.etl -o "$pcap/converted-real.pcapng" >/dev/null
for f in "$etl"/tiny-*.etl; do
    b="$(basename "$f" .etl)"
    # An ETL without packets converts to nothing, which is an error: skip it.
    "$bin" convert "$f" -o "$pcap/converted-$b.pcapng" >/dev/null 2>&1 || true
    "$bin" txt "$f" -o "$text/txt-$b.txt" >/dev/null 2>&1 || true
    "$bin" txt --utf16 "$f" -o "$text/txt-utf16-$b.txt" >/dev/null 2>&1 || true
done
# No packets, no lines: an empty seed is no use.
find "$text" -maxdepth 1 -name 'txt-*' -empty -delete

echo "== etl2txt text of the real capture (UTF-8 and UTF-16LE+BOM, in quarters under 16 KiB)"
"$bin" txt captures/demikernel-PktMon.etl -o "$tmp/real.txt"
"$bin" txt --utf16 captures/demikernel-PktMon.etl -o "$tmp/real-utf16.txt"
# The first 16 KiB of pktmon's own encoding, byte for byte (cut mid-line).
head -c 16384 "$tmp/real-utf16.txt" > "$text/real-utf16-head.txt"
lines=$(wc -l < "$tmp/real.txt")
split -l $(( (lines + 3) / 4 )) -d "$tmp/real.txt" "$tmp/part-"
for p in "$tmp"/part-*; do
    n="$(basename "$p")"
    cp "$p" "$text/real-utf8-$n.txt"
    { printf '\xff\xfe'; sed 's/$/\r/' "$p" | iconv -f UTF-8 -t UTF-16LE; } > "$text/real-utf16-$n.txt"
done

echo "== netsh trace text: the article's TCP/IP lines, in both encodings"
cp analyzer/tests/fixtures/diagnose-packet-loss.NetTrace.txt "$text/nettrace-utf8.txt"
{ printf '\xff\xfe'; sed 's/$/\r/' analyzer/tests/fixtures/diagnose-packet-loss.NetTrace.txt | iconv -f UTF-8 -t UTF-16LE; } \
    > "$text/nettrace-utf16.txt"

echo "== every kind of etl2txt line"
cat > "$text/every-kind.txt" <<'LINES'
[00]1864.06A4::2021-06-03 19:19:55.454004600 [MSNT_SystemTrace] Event: Header, ProviderVersion: 19042, NumberOfProcessors: 4, EventsLost: 0, StartTime: 132672017954540046, BuffersLost: 0, LogFileNameString: C:\a.etl
[03]2A8C.05B8::2021-06-03 19:20:11.122755300 [Microsoft-Windows-PktMon] Component 141, Type HTTP Protocol , Name http.sys, HTTP 
[00]2A8C.05B8::2021-06-03 19:20:11.123570200 [Microsoft-Windows-PktMon] Property: Component 15, PhysAddress  = 0x00FF3CDA169C 
[00]2A8C.05B8::2021-06-03 19:20:11.123570300 [Microsoft-Windows-PktMon] Property: Component 141, IP Address  = fe80::78ba:2ddc:6874:ea90 
[03]2A8C.05B8::2021-06-03 19:20:11.122760800 [Microsoft-Windows-PktMon] Drop Counters: Component 141, Direction In = Rx , Packets In 0, Bytes In 0, Direction Out = Tx , Packets Out 0, Bytes Out 0 
[03]2A8C.05B8::2021-06-03 19:20:11.122762400 [Microsoft-Windows-PktMon] Flow Counters: Component 141, Edge Upper, Edge Id 2, Direction In = Rx , Packets In 0, Bytes In 0, Direction Out = Tx , Packets Out 0, Bytes Out 0 
[10]3C28.4260::2026-05-31 13:14:22.805687800 [Microsoft-Windows-PktMon] Packet Filter 1, Name , MAC-1 0x000000000000, MAC-2 0x000000000000, EtherType 0, VlanId 0, IP-1 192.168.71.1, IP-2 0.0.0.0, Protocol 0, Port-1 0, Port-2 0, TCPFlags 0 
[02]0000.0000::2021-06-03 19:19:55.618793000 [Microsoft-Windows-PktMon] PktGroupId 5, PktNumber 1, Appearance 1, Direction Tx , Type Ethernet , Component 84, Edge 1, Filter 0, OriginalSize 54, LoggedSize 54 
	0x0000:  7085 c286 c720 0015 5d01 be1e 0800 4500
	0x0010:  0028 1c46 4000 4006 b1e6 c0a8 0001 c0a8
[30]0000.0000::2025-03-27 16:10:34.934020500 [Microsoft-Windows-PktMon] Drop: PktGroupId 8, PktNumber 1, Appearance 0, Direction Rx , Type IP , Component 49, Filter 1, DropReason INET: x , DropLocation 0xE000460A, OriginalSize 402, LoggedSize 148
[03]0000.0000::2024-11-05 10:00:02.000000000 [Microsoft-Windows-PktMon] 丢弃： PktGroupId 2、PktNumber 1、外观 0、方向 Rx 、类型 IP 、组件 101、筛选 0、DropReason 5 、DropLocation 0xE0004500、OriginalSize 52、LoggedSize 52 
[01]0000.0000::2025/03/27-16:12:13.966003800 [Microsoft-Windows-PktMon] PktGroupId 9, PktNumber 1, Appearance 2, Direction Rx , Type Ethernet , Component 12, Edge 1, Filter 0, OriginalSize 60, LoggedSize 60 
LINES
# UTF-16LE without BOM and CRLF: found by its zero high bytes.
sed 's/$/\r/' "$text/every-kind.txt" | iconv -f UTF-8 -t UTF-16LE > "$text/every-kind-utf16-nobom.txt"
# UTF-8 with BOM.
{ printf '\xef\xbb\xbf'; cat "$text/every-kind.txt"; } > "$text/every-kind-utf8-bom.txt"

for d in "$etl" "$pcap" "$text"; do
    printf '%-40s %3d files, %7d bytes\n' "${d#"$root"/}" "$(ls "$d" | wc -l)" "$(cat "$d"/* | wc -c)"
done
