"""ScamperAddr: parsing, equality and hashing (python-api §1.4, §2.8)."""

from __future__ import annotations

import copy
import pickle

import pytest

from vantage import ScamperAddr


def test_parse_and_text():
    a = ScamperAddr("192.0.2.1")
    assert str(a) == "192.0.2.1" and repr(a) == "ScamperAddr('192.0.2.1')"
    assert f"{a:<12}|" == "192.0.2.1   |"
    assert str(ScamperAddr("2001:DB8:0::1")) == "2001:db8::1"
    assert ScamperAddr(bytes([192, 0, 2, 1])) == a
    assert str(ScamperAddr(bytes(range(6)))) == "00:01:02:03:04:05"
    assert ScamperAddr(bytes(16)).is_ipv6()
    assert a.packed == bytes([192, 0, 2, 1])
    for bad in ("nonsense", "192.0.2.256", "", b"\x01\x02\x03"):
        with pytest.raises(ValueError, match="invalid address"):
            ScamperAddr(bad)
    with pytest.raises(TypeError):
        ScamperAddr(42)


def test_equality_and_hash():
    a, b = ScamperAddr("192.0.2.1"), ScamperAddr("192.0.2.1")
    assert a == b and hash(a) == hash(b) and a is not b
    d = {a: 1}
    assert d[b] == 1
    # Equal to the str, but hashed differently from it (kept from the reference).
    assert a == "192.0.2.1" and "192.0.2.1" == a
    assert hash(a) != hash("192.0.2.1")
    assert {"192.0.2.1": 1}.get(a) is None
    assert a != "192.0.2.2" and a != "junk" and a != 3
    assert ScamperAddr("::1") != ScamperAddr("0.0.0.1")


def test_order():
    addrs = [ScamperAddr(x) for x in ("::1", "10.0.0.2", "aa:bb:cc:dd:ee:ff", "10.0.0.1", "9.255.255.255")]
    assert [str(x) for x in sorted(addrs)] == ["9.255.255.255", "10.0.0.1", "10.0.0.2", "::1", "aa:bb:cc:dd:ee:ff"]
    assert ScamperAddr("10.0.0.1") < "10.0.0.2"
    with pytest.raises(TypeError):
        ScamperAddr("10.0.0.1") < "junk"  # noqa: B015


def test_pickle_and_copy():
    for text in ("192.0.2.1", "2001:db8::1", "00:11:22:33:44:55"):
        a = ScamperAddr(text)
        for proto in range(2, pickle.HIGHEST_PROTOCOL + 1):
            assert pickle.loads(pickle.dumps(a, protocol=proto)) == a
        assert copy.copy(a) == a and copy.deepcopy(a) == a
    state = ScamperAddr("192.0.2.1").__getstate__()
    assert state == {"type": 1, "addr": bytes([192, 0, 2, 1])}


@pytest.mark.parametrize(
    "text,linklocal,rfc1918,unicast,six4,reserved",
    [
        ("192.0.2.1", False, False, False, False, True),
        ("8.8.8.8", False, False, False, False, False),
        ("10.1.2.3", False, True, False, False, True),
        ("172.31.0.1", False, True, False, False, True),
        ("172.32.0.1", False, False, False, False, False),
        ("169.254.1.1", True, False, False, False, True),
        ("224.0.0.1", False, False, False, False, True),
        ("255.255.255.255", False, False, False, False, True),
        ("fe80::1", True, False, False, False, True),
        ("2001:db8::1", False, False, True, False, True),
        ("2002:c000:201::1", False, False, True, True, True),
        ("2600::1", False, False, True, False, False),
        ("::1", False, False, False, False, True),
    ],
)
def test_predicates(text, linklocal, rfc1918, unicast, six4, reserved):
    a = ScamperAddr(text)
    assert a.is_linklocal() is linklocal
    assert a.is_rfc1918() is rfc1918
    assert a.is_unicast() is unicast
    assert a.is_6to4() is six4
    assert a.is_reserved() is reserved
    assert a.is_ipv4() is ("." in text)
