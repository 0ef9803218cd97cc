#!/bin/sh
# Captures real replies from the Linux kernel for vantage-wire's test vectors.
# Builds three network namespaces (host - router - target) of its own, sends a
# handful of probes between them only, writes the replies as raw bytes into
# testdata/kernel/, and removes the namespaces even on failure. Needs root.
# Run from crates/wire:  sh testdata/capture.sh
set -eu
tag="vw$$"
h="$tag-h"; r="$tag-r"; t="$tag-t"
cleanup() { for n in "$h" "$r" "$t"; do ip netns del "$n" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
for n in "$h" "$r" "$t"; do
  ip netns add "$n"; ip -n "$n" link set lo up
  # Before any link exists, so that link-local addresses skip DAD too.
  ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
      net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
done
ip link add "$tag-a" netns "$h" type veth peer name "$tag-b" netns "$r"
ip link add "$tag-c" netns "$r" type veth peer name "$tag-d" netns "$t"
ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip -n "$h" addr add 10.9.1.1/24 dev "$tag-a"; ip -n "$h" addr add fd09:1::1/64 dev "$tag-a" nodad
ip -n "$r" addr add 10.9.1.254/24 dev "$tag-b"; ip -n "$r" addr add fd09:1::fe/64 dev "$tag-b" nodad
ip -n "$r" addr add 10.9.2.254/24 dev "$tag-c"; ip -n "$r" addr add fd09:2::fe/64 dev "$tag-c" nodad
ip -n "$t" addr add 10.9.2.1/24 dev "$tag-d"; ip -n "$t" addr add fd09:2::1/64 dev "$tag-d" nodad
ip -n "$r" link set "$tag-c" mtu 1280; ip -n "$t" link set "$tag-d" mtu 1280
for x in "$h:$tag-a" "$r:$tag-b" "$r:$tag-c" "$t:$tag-d"; do ip -n "${x%%:*}" link set "${x#*:}" up; done
ip -n "$h" route add default via 10.9.1.254; ip -n "$h" -6 route add default via fd09:1::fe
ip -n "$t" route add default via 10.9.2.254; ip -n "$t" -6 route add default via fd09:2::fe
sleep 2
ip netns exec "$h" python3 "$(dirname "$0")/capture.py" "$tag-a" "$(dirname "$0")/kernel"
