#!/usr/bin/env bash
# Installs everything Vantage needs to build and test on a fresh Debian machine (run as root).
# Safe to run again: each step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pkg in iproute2 iptables iputils-ping tcpdump scamper nsd unbound nginx openssl dnsutils curl socat ethtool; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  apt-get update -qq
  # Packages such as nsd and nginx would start system-wide services on install; the testbed
  # runs its own copies inside namespaces, so keep the host's copies stopped.
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; Vantage needs a Rust toolchain (1.88 or newer)" >&2
  exit 1
fi
rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt clippy || true
