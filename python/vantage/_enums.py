"""The IntEnum classes of the API; values are scamper's wire and warts codes."""

from enum import IntEnum

__all__ = [
    "ScamperPingStop",
    "ScamperTraceStop",
    "ScamperHostStop",
    "ScamperHostType",
    "ScamperHttpStop",
    "ScamperHttpEchStatus",
    "ScamperUdpprobeStop",
    "ScamperSniffStop",
    "ScamperTracelbMethod",
    "ScamperOwampResult",
    "ScamperOwampSchedType",
]


class ScamperPingStop(IntEnum):
    """Why a ping stopped."""

    NoReason = 0
    Completed = 1
    Error = 2
    Halted = 3
    InProgress = 4


class ScamperTraceStop(IntEnum):
    """Why a traceroute stopped."""

    NoReason = 0
    Completed = 1
    Unreach = 2
    Icmp = 3
    Loop = 4
    GapLimit = 5
    Error = 6
    HopLimit = 7
    GSS = 8
    Halted = 9
    InProgress = 10


class ScamperHostStop(IntEnum):
    """Why a DNS measurement stopped."""

    NoReason = 0
    Completed = 1
    Timeout = 2
    Halted = 3
    Error = 4


class ScamperHostType(IntEnum):
    """DNS resource record types."""

    A = 1
    NS = 2
    CNAME = 5
    SOA = 6
    PTR = 12
    MX = 15
    TXT = 16
    AAAA = 28
    OPT = 41
    DS = 43
    SSHFP = 44
    RRSIG = 46
    NSEC = 47
    DNSKEY = 48
    SVCB = 64
    HTTPS = 65


class ScamperHttpStop(IntEnum):
    """Why an HTTP measurement stopped."""

    NoReason = 0
    Halted = 1
    NoConnection = 2
    Completed = 3
    Error = 4
    Timeout = 5
    Insecure = 6


class ScamperHttpEchStatus(IntEnum):
    """The outcome of Encrypted Client Hello in an HTTPS measurement."""

    NoStatus = 0
    Unknown = 1
    Failed = 2
    Success = 3
    Grease = 4
    GreaseEch = 5
    Backend = 6
    BadCall = 7
    NotTried = 8
    BadName = 9
    NotConfigured = 10
    FailedEch = 11
    FailedEchBadName = 12


class ScamperUdpprobeStop(IntEnum):
    """Why a udpprobe stopped."""

    NoReason = 0
    Completed = 1
    Halted = 2
    Error = 3


class ScamperSniffStop(IntEnum):
    """Why a packet capture stopped."""

    NoReason = 0
    Error = 1
    LimitTime = 2
    LimitPktC = 3
    Halted = 4


class ScamperTracelbMethod(IntEnum):
    """How an MDA traceroute probes."""

    UdpDport = 1
    IcmpEcho = 2
    UdpSport = 3
    TcpSport = 4
    TcpAckSport = 5


class ScamperOwampResult(IntEnum):
    """The outcome of an OWAMP measurement."""

    NoReason = 0
    Completed = 1
    Halted = 2
    Error = 3
    NoConn = 4
    NotAccepted = 5
    NoMode = 6
    Timeout = 7


class ScamperOwampSchedType(IntEnum):
    """How an OWAMP schedule spaces probes."""

    Fixed = 0
    Exponential = 1
