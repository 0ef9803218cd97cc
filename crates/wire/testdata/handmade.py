"""Builds hand-made reply vectors with RFC 4884 extensions carrying an RFC 4950
MPLS label stack, from kernel-captured replies, independently of the Rust code
(run from crates/wire: python3 testdata/handmade.py)."""
import struct

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s > 0xffff:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

def mpls_ext():
    # Two entries: label 24000 exp 0 S=0 ttl 1; label 16 exp 7 S=1 ttl 255.
    e1 = struct.pack("!I", (24000 << 12) | (0 << 9) | (0 << 8) | 1)
    e2 = struct.pack("!I", (16 << 12) | (7 << 9) | (1 << 8) | 255)
    obj = struct.pack("!HBB", 4 + 8, 1, 1) + e1 + e2
    ext = struct.pack("!BBH", 0x20, 0, 0) + obj
    return ext[:2] + struct.pack("!H", csum(ext)) + ext[4:]

def v4(src_file, out, legacy=False):
    pkt = open(src_file, "rb").read()
    ip, icmp = pkt[:20], pkt[20:]
    quote = icmp[8:].ljust(128, b"\0")
    rest = bytearray(icmp[4:8])
    rest[1] = 0 if legacy else 128 // 4
    body = icmp[:2] + b"\0\0" + bytes(rest) + quote + mpls_ext()
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    hdr = bytearray(ip)
    hdr[2:4] = struct.pack("!H", 20 + len(body))
    hdr[10:12] = b"\0\0"
    hdr[10:12] = struct.pack("!H", csum(bytes(hdr)))
    open(out, "wb").write(bytes(hdr) + body)

def v6(src_file, out):
    pkt = open(src_file, "rb").read()
    ip, icmp = pkt[:40], pkt[40:]
    quote = icmp[8:].ljust(128, b"\0")
    body = icmp[:2] + b"\0\0" + bytes([128 // 8, 0, 0, 0]) + quote + mpls_ext()
    pseudo = ip[8:40] + struct.pack("!IxxxB", len(body), 58)
    body = body[:2] + struct.pack("!H", csum(pseudo + body)) + body[4:]
    hdr = bytearray(ip)
    hdr[4:6] = struct.pack("!H", len(body))
    open(out, "wb").write(bytes(hdr) + body)

v4("testdata/kernel/v4_udp_time_exceeded.bin", "testdata/handmade/v4_te_mpls.bin")
v4("testdata/kernel/v4_udp_time_exceeded.bin", "testdata/handmade/v4_te_mpls_legacy.bin", legacy=True)
v6("testdata/kernel/v6_udp_time_exceeded.bin", "testdata/handmade/v6_te_mpls.bin")
