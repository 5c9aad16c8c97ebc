# Shared helpers for scripts/record/record.sh: a three-namespace lab
#
#   client (c0) ── link A ── (r0) router (r1) ── link B ── (s0) server
#   10.77.1.2/24             10.77.1.1   10.77.2.1          10.77.2.2/24
#   fd77:1::2/64             fd77:1::1   fd77:2::1          fd77:2::2/64
#
# Private addresses exist only inside the namespaces, which are deleted on exit.
# Everything runs pinned to CPU 0 (veth plus two CPUs reorders packets), with
# offloads off (real segments and checksums on the wire, no GSO super-packets).
# The capture is taken on the client's interface (the server's for the
# receiver-side scenario) with tcpdump --immediate-mode,
# cut at 128 bytes like PktMon's default --pkt-size.

set -euo pipefail

LAB="pkrec$$"
NS_C="${LAB}-c"
NS_R="${LAB}-r"
NS_S="${LAB}-s"
C4=10.77.1.2 R4A=10.77.1.1 R4B=10.77.2.1 S4=10.77.2.2
C6=fd77:1::2 R6A=fd77:1::1 R6B=fd77:2::1 S6=fd77:2::2
SNAPLEN=128
TCPDUMP_PID=""

log() { echo "record: $*" >&2; }

need_packages() {
  local missing=() p
  for p in iproute2 nftables tcpdump iputils-ping python3 ethtool util-linux; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Runs a command in a namespace, pinned to CPU 0.
in_ns() { local ns=$1; shift; ip netns exec "$ns" taskset -c 0 "$@"; }
c() { in_ns "$NS_C" "$@"; }
r() { in_ns "$NS_R" "$@"; }
s() { in_ns "$NS_S" "$@"; }

cleanup() {
  set +e
  if [ -n "$TCPDUMP_PID" ] && kill -0 "$TCPDUMP_PID" 2>/dev/null; then
    kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" 2>/dev/null
  fi
  # Only what this lab started: processes inside its own namespaces.
  for ns in "$NS_C" "$NS_R" "$NS_S"; do
    if ip netns list | grep -qw "$ns"; then
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
      ip netns del "$ns"
    fi
  done
}

quiet_offloads() {
  local ns=$1 dev=$2
  ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
}

lab_up() {
  trap cleanup EXIT
  for ns in "$NS_C" "$NS_R" "$NS_S"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    # No duplicate address detection delays; no router solicitations noise.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
      net.ipv6.conf.default.router_solicitations=0 net.ipv6.conf.all.router_solicitations=0
  done
  ip link add c0 netns "$NS_C" type veth peer name r0 netns "$NS_R"
  ip link add r1 netns "$NS_R" type veth peer name s0 netns "$NS_S"
  ip -n "$NS_C" addr add "$C4/24" dev c0
  ip -n "$NS_C" addr add "$C6/64" dev c0 nodad
  ip -n "$NS_R" addr add "$R4A/24" dev r0
  ip -n "$NS_R" addr add "$R6A/64" dev r0 nodad
  ip -n "$NS_R" addr add "$R4B/24" dev r1
  ip -n "$NS_R" addr add "$R6B/64" dev r1 nodad
  ip -n "$NS_S" addr add "$S4/24" dev s0
  ip -n "$NS_S" addr add "$S6/64" dev s0 nodad
  for pair in "$NS_C c0" "$NS_R r0" "$NS_R r1" "$NS_S s0"; do
    set -- $pair
    quiet_offloads "$1" "$2"
    ip -n "$1" link set "$2" up
  done
  ip -n "$NS_C" route add default via "$R4A"
  ip -n "$NS_C" -6 route add default via "$R6A"
  ip -n "$NS_S" route add default via "$R4B"
  ip -n "$NS_S" -6 route add default via "$R6B"
  ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  # Resolve the router's neighbors now, so that the capture shows only the scenario.
  c ping -q -c 1 -W 1 "$R4A" >/dev/null
  c ping -q -c 1 -W 1 "$R6A" >/dev/null || true
  s ping -q -c 1 -W 1 "$R4B" >/dev/null
  s ping -q -c 1 -W 1 "$R6B" >/dev/null || true
  nft_router 'flush ruleset
table inet lab {
  chain forward { type filter hook forward priority 0; policy accept; }
  chain output { type filter hook output priority 0; policy accept; }
}'
}

# Loads nft rules into the router.
nft_router() { echo "$1" | ip netns exec "$NS_R" nft -f -; }

# Starts the capture (on the client's interface unless a namespace and device
# are given); waits until tcpdump listens.
capture_start() {
  local out=$1 ns=${2:-$NS_C} dev=${3:-c0}
  rm -f "$out"
  ip netns exec "$ns" taskset -c 0 tcpdump -i "$dev" -n -Z root --immediate-mode -s "$SNAPLEN" -U -w "$out" \
    2>"$out.log" &
  TCPDUMP_PID=$!
  local i
  for i in $(seq 1 50); do
    grep -q "listening on" "$out.log" 2>/dev/null && break
    sleep 0.1
  done
}

# Stops the capture after letting the last packets through.
capture_stop() {
  local out=$1
  sleep 0.5
  kill -INT "$TCPDUMP_PID"
  wait "$TCPDUMP_PID" 2>/dev/null || true
  TCPDUMP_PID=""
  grep -E "captured|dropped" "$out.log" >&2 || true
  rm -f "$out.log"
}

# A TCP sink: accepts one connection per `count`, reads (or not) and closes.
# Args: ns addr port count rcvbuf read_delay_s abort_after_bytes
tcp_sink() {
  local ns=$1 addr=$2 port=$3 count=$4 rcvbuf=$5 delay=$6 abort=$7
  in_ns "$ns" timeout 30 python3 - "$addr" "$port" "$count" "$rcvbuf" "$delay" "$abort" <<'EOF' &
import socket, struct, sys, time
addr, port, count, rcvbuf, delay, abort = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
srv = socket.socket(fam, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if rcvbuf:
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
srv.bind((addr, port))
srv.listen(4)
srv.settimeout(20)
for _ in range(count):
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        break
    conn.settimeout(20)
    if delay:
        time.sleep(delay)
    got = 0
    while True:
        try:
            b = conn.recv(65536)
        except (socket.timeout, ConnectionError):
            break
        if not b:
            break
        got += len(b)
        if abort and got >= abort:
            time.sleep(0.3)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            break
    conn.close()
EOF
  disown $!
  sleep 0.3
}

# Sends `bytes` to addr:port and closes; gives up after `limit` seconds.
# Args: ns addr port bytes limit_s [pause_s_before_close]
tcp_send() {
  local ns=$1 addr=$2 port=$3 bytes=$4 limit=$5 pause=${6:-0}
  in_ns "$ns" timeout $((limit + 5)) python3 - "$addr" "$port" "$bytes" "$limit" "$pause" <<'EOF' || true
import socket, sys, time
addr, port, total, limit, pause = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(limit)
try:
    s.connect((addr, port))
    chunk = bytes(range(256)) * 256
    sent, deadline = 0, time.monotonic() + limit
    while sent < total and time.monotonic() < deadline:
        sent += s.send(chunk[: min(len(chunk), total - sent)])
    time.sleep(pause)
except OSError as e:
    print(f"record: client: {e}", file=sys.stderr)
finally:
    s.close()
EOF
}
