//! Packets as bytes: IPv4/IPv6, ICMPv4/ICMPv6, UDP and TCP headers, ICMP quotes, RFC 4884/4950 extensions and checksums. No I/O.
