#!/usr/bin/env bash
# Records a real loss scenario between network namespaces into
# captures/recorded/<scenario>.pcap (see captures/recorded/README.md).
#
#   scripts/record/record.sh <scenario> [output.pcap]
#   scripts/record/record.sh all
#
# Needs root and Linux network namespaces; installs iproute2, nftables, tcpdump,
# iputils-ping, python3 and ethtool if missing. Every traffic loop is bounded in
# count and time; the namespaces are deleted afterwards.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
scenarios=(tcp-random-loss tcp-random-loss-receiver tcp-syn-dropped tcp-reset udp-closed-port pmtu-frag-needed pmtu-black-hole
  arp-unanswered ns-unanswered zero-window)

usage() {
  echo "usage: $0 <scenario|all> [output.pcap]" >&2
  echo "scenarios: ${scenarios[*]}" >&2
  exit 2
}

[ $# -ge 1 ] || usage
if [ "$1" = all ]; then
  for sc in "${scenarios[@]}"; do "$0" "$sc"; done
  exit 0
fi
scenario=$1
printf '%s\n' "${scenarios[@]}" | grep -qx "$scenario" || usage
out=${2:-"$root/captures/recorded/$scenario.pcap"}
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
[ "$(id -u)" -eq 0 ] || { echo "record: needs root (network namespaces)" >&2; exit 1; }

# shellcheck source=lib.sh
. "$here/lib.sh"
need_packages
lab_up
log "$scenario → $out"

case "$scenario" in
tcp-random-loss)
  # 3 % of the client's data segments dropped at random on the router; the
  # server's receive buffer is large so that duplicate ACKs trigger fast retransmits.
  nft_router "add rule inet lab forward ip saddr $C4 tcp dport 50100 tcp flags & (syn | fin | rst) == 0 \
    meta length > 200 numgen random mod 100 < 3 counter drop"
  tcp_sink "$NS_S" "$S4" 50100 1 8388608 0 0
  capture_start "$out"
  tcp_send "$NS_C" "$S4" 50100 3000000 10 0.5
  capture_stop "$out"
  ip netns exec "$NS_R" nft list ruleset | grep -o 'counter packets [0-9]*' | sed 's/^/record: dropped: /' >&2
  ;;

tcp-random-loss-receiver)
  # The same loss seen at the receiver (capture on the server's interface): the
  # dropped segments are holes there, and the retransmissions fill them.
  nft_router "add rule inet lab forward ip saddr $C4 tcp dport 50110 tcp flags & (syn | fin | rst) == 0 \
    meta length > 200 numgen random mod 100 < 3 counter drop"
  tcp_sink "$NS_S" "$S4" 50110 1 8388608 0 0
  capture_start "$out" "$NS_S" s0
  tcp_send "$NS_C" "$S4" 50110 2000000 10 0.5
  capture_stop "$out"
  ;;

tcp-syn-dropped)
  # Every SYN to port 50200 silently dropped: the client retries until its 5 s connect timeout.
  nft_router "add rule inet lab forward tcp dport 50200 tcp flags & (syn | ack) == syn counter drop"
  capture_start "$out"
  tcp_send "$NS_C" "$S4" 50200 1000 5
  capture_stop "$out"
  ;;

tcp-reset)
  # 1. The router rejects SYNs to port 50300 with a TCP reset (two attempts).
  # 2. A server on port 50301 aborts (SO_LINGER 0) 0.3 s after reading 20 kB: a RST mid-connection.
  nft_router "add rule inet lab forward tcp dport 50300 counter reject with tcp reset"
  tcp_sink "$NS_S" "$S4" 50301 1 0 0 20000
  capture_start "$out"
  tcp_send "$NS_C" "$S4" 50300 1000 2
  sleep 0.2
  tcp_send "$NS_C" "$S4" 50300 1000 2
  sleep 0.2
  tcp_send "$NS_C" "$S4" 50301 20000 3 1
  capture_stop "$out"
  ;;

udp-closed-port)
  # Datagrams to a port nobody listens on, IPv4 then IPv6: the server's kernel answers port unreachable.
  capture_start "$out"
  c python3 - "$S4" "$S6" <<'EOF'
import socket, sys, time
for addr in sys.argv[1:]:
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    for i in range(4):
        s.sendto(f"datagram {i} to a closed port".encode(), (addr, 50400 + i % 2))
        time.sleep(0.3)
    s.close()
EOF
  capture_stop "$out"
  ;;

pmtu-frag-needed)
  # The router's link to the server has MTU 1280 (the server's own end keeps 1500, so the
  # server still advertises MSS 1460): full-size segments from the client get ICMP
  # fragmentation needed (IPv4) / packet too big (IPv6), and TCP shrinks its segments.
  ip -n "$NS_R" link set r1 mtu 1280
  tcp_sink "$NS_S" "$S4" 50500 1 0 0 0
  tcp_sink "$NS_S" "$S6" 50501 1 0 0 0
  capture_start "$out"
  tcp_send "$NS_C" "$S4" 50500 60000 5 0.3
  tcp_send "$NS_C" "$S6" 50501 60000 5 0.3
  capture_stop "$out"
  ;;

pmtu-black-hole)
  # As pmtu-frag-needed, but the router drops the ICMP errors it generates: the
  # full-size segments vanish and are retransmitted in vain (IPv4 then IPv6, 3 s each).
  ip -n "$NS_R" link set r1 mtu 1280
  nft_router "add rule inet lab output icmp type destination-unreachable counter drop
add rule inet lab output icmpv6 type packet-too-big counter drop"
  tcp_sink "$NS_S" "$S4" 50600 1 0 0 0
  tcp_sink "$NS_S" "$S6" 50601 1 0 0 0
  capture_start "$out"
  tcp_send "$NS_C" "$S4" 50600 30000 3 3
  tcp_send "$NS_C" "$S6" 50601 30000 3 3
  capture_stop "$out"
  ;;

arp-unanswered)
  # One answered resolution (the router) for contrast, then pings to an address
  # on the link that nobody has: ARP requests without replies.
  c ip neigh flush dev c0
  capture_start "$out"
  c ping -c 1 -W 1 "$R4A" >/dev/null || true
  c ping -c 4 -i 1 -W 1 10.77.1.99 >/dev/null 2>&1 || true
  sleep 1.5
  capture_stop "$out"
  ;;

ns-unanswered)
  # The same over IPv6: neighbor solicitations for an address nobody has.
  c ip -6 neigh flush dev c0
  capture_start "$out"
  c ping -6 -c 1 -W 1 "$R6A" >/dev/null || true
  c ping -6 -c 4 -i 1 -W 1 fd77:1::99 >/dev/null 2>&1 || true
  sleep 1.5
  capture_stop "$out"
  ;;

zero-window)
  # A receiver with a small buffer that does not read for 2.5 s: its window
  # closes, the sender probes, then the receiver reads everything.
  tcp_sink "$NS_S" "$S4" 50700 1 16384 2.5 0
  capture_start "$out"
  tcp_send "$NS_C" "$S4" 50700 400000 8 0.3
  capture_stop "$out"
  ;;
esac

size=$(stat -c %s "$out")
log "$scenario: $size bytes"
if [ "$size" -ge 1048576 ]; then
  echo "record: $out is $size bytes (limit 1 MB)" >&2
  exit 1
fi
