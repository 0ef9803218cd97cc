"""Sends probes from the host namespace built by capture.sh and stores the
kernel's replies as raw packets (IPv4 with header from raw sockets; IPv6 from a
packet socket with the Ethernet header removed). Only addresses inside the
namespaces are used."""
import os, select, socket, struct, sys, time

IFACE, OUT = sys.argv[1], sys.argv[2]
T4, T6 = "10.9.2.1", "fd09:2::1"

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s > 0xffff:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

pkt = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
pkt.bind((IFACE, 0))

def drain():
    while select.select([pkt], [], [], 0)[0]:
        pkt.recv(65535)

def capture(want, timeout=1.0):
    """First incoming frame whose IP packet satisfies want(packet)."""
    end = time.time() + timeout
    seen = 0
    while time.time() < end:
        if not select.select([pkt], [], [], end - time.time())[0]:
            break
        frame, addr = pkt.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        ip = frame[14:]
        seen += 1
        if os.environ.get("VERBOSE"):
            print(addr, ip[:48].hex())
        if ip and want(ip):
            return ip
    raise SystemExit("no reply captured (%d frames seen)" % seen)

def save(name, b):
    with open(os.path.join(OUT, name + ".bin"), "wb") as f:
        f.write(b)
    print(name, len(b))

is4 = lambda proto: (lambda ip: ip[0] >> 4 == 4 and ip[9] == proto)
is6 = lambda nh: (lambda ip: ip[0] >> 4 == 6 and ip[6] == nh)

# IPv4 UDP probe with TTL 1: time exceeded from the router.
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("10.9.1.1", 40000))
drain(); u.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 1); u.sendto(b"\0" * 12, (T4, 33435))
save("v4_udp_time_exceeded", capture(is4(1)))
# TTL 64: port unreachable from the target.
drain(); u.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 64); u.sendto(b"\0" * 12, (T4, 33436))
save("v4_udp_port_unreachable", capture(is4(1)))
# Too big for the 1280-byte link with DF: fragmentation needed with the MTU.
u.setsockopt(socket.IPPROTO_IP, 10, 3)  # IP_MTU_DISCOVER = IP_PMTUDISC_PROBE
drain(); u.sendto(b"\0" * 1400, (T4, 33437))
save("v4_frag_needed", capture(is4(1)))

# ICMP echo, TTL 1 then 64; ICMP timestamp.
ic = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
def icmp(t, ident, seq, body):
    h = struct.pack("!BBHHH", t, 0, 0, ident, seq) + body
    return h[:2] + struct.pack("!H", csum(h)) + h[4:]
ic.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 1)
drain(); ic.sendto(icmp(8, 0x1234, 1, b"vantage!"), (T4, 0))
save("v4_echo_time_exceeded", capture(lambda ip: is4(1)(ip) and ip[20] == 11))
ic.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 64)
drain(); ic.sendto(icmp(8, 0x1234, 2, b"vantage!"), (T4, 0))
save("v4_echo_reply", capture(lambda ip: is4(1)(ip) and ip[20] == 0))
drain(); ic.sendto(icmp(13, 0x1234, 3, struct.pack("!III", 1000, 0, 0)), (T4, 0))
save("v4_timestamp_reply", capture(lambda ip: is4(1)(ip) and ip[20] == 14))

# TCP SYN to a closed port: RST+ACK from the target.
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setblocking(False)
drain(); s.connect_ex((T4, 81))
save("v4_tcp_rst", capture(is4(6)))
s.close()

# IPv6: UDP hop limit 1, port unreachable, packet too big; echo reply.
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u6.bind(("fd09:1::1", 40000))
u6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 1)
u6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, 0x20)
drain(); u6.sendto(b"\0" * 12, (T6, 33435))
save("v6_udp_time_exceeded", capture(lambda ip: is6(58)(ip) and ip[40] == 3))
u6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 64)
drain(); u6.sendto(b"\0" * 12, (T6, 33436))
save("v6_udp_port_unreachable", capture(lambda ip: is6(58)(ip) and ip[40] == 1))
u6.setsockopt(socket.IPPROTO_IPV6, 23, 3)  # IPV6_MTU_DISCOVER = IPV6_PMTUDISC_PROBE
drain(); u6.sendto(b"\0" * 1400, (T6, 33437))
save("v6_packet_too_big", capture(lambda ip: is6(58)(ip) and ip[40] == 2))
ic6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
drain(); ic6.sendto(struct.pack("!BBHHH", 128, 0, 0, 0x4321, 7) + b"vantage!", (T6, 0))
save("v6_echo_reply", capture(lambda ip: is6(58)(ip) and ip[40] == 129))
