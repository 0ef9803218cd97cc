"""ScamperFile reads what scamper wrote: every reference file, checked
against the JSON that scamper's own sc_warts2json printed (values, not text)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from conftest import TESTDATA, WARTS_FILES, json_lines
from vantage import (
    ScamperAddr,
    ScamperCycle,
    ScamperDealias,
    ScamperFile,
    ScamperHost,
    ScamperHostStop,
    ScamperHttp,
    ScamperHttpStop,
    ScamperList,
    ScamperNeighbourdisc,
    ScamperPing,
    ScamperPingStop,
    ScamperSniff,
    ScamperSniffStop,
    ScamperTrace,
    ScamperTraceStop,
    ScamperTracelb,
    ScamperUdpprobe,
)

UTC = dt.timezone.utc


def tv(d: dict) -> dt.datetime:
    return dt.datetime.fromtimestamp(0, UTC) + dt.timedelta(seconds=d["sec"], microseconds=d["usec"])


def ms(td: dt.timedelta) -> float:
    return round(td.total_seconds() * 1000, 3)


def pairs(name: str):
    """(object, reference JSON dict) for every object that has a JSON line."""
    objs = [o for o in ScamperFile(str(TESTDATA / name)) if not isinstance(o, ScamperList)]
    lines = json_lines(name)
    out = []
    it = iter(lines)
    for o in objs:
        if o.to_json() is None:
            continue
        ref = next(it, "end")
        if ref == "end" and name == "dealias-midar.warts":
            break  # sc_warts2json exits at the first MIDAR record (its bug 2)
        assert ref != "end", f"{name}: we produce more JSON lines than the reference"
        out.append((o, ref))
    assert next(it, "end") == "end", f"{name}: reference has more JSON lines than we produce"
    return out


@pytest.mark.parametrize("name", WARTS_FILES)
def test_to_dict_equals_reference_json(testdata, name):
    n = 0
    for o, ref in pairs(name):
        if ref is None:  # ping-ts line 2: sc_warts2json writes invalid JSON there
            continue
        assert o.to_dict() == ref
        n += 1
    assert n > 0


@pytest.mark.parametrize("name", WARTS_FILES)
def test_objects_in_file_order(testdata, name):
    objs = list(ScamperFile(str(testdata / name)))
    assert isinstance(objs[0], ScamperList)
    assert objs[0].name == "default" and objs[0].id == 0 and objs[0].descr == "default"
    assert isinstance(objs[1], ScamperCycle) and objs[1].id == 0
    assert isinstance(objs[-1], ScamperCycle)
    assert objs[-1].stop is not None and objs[-1].stop.microsecond == 999999
    assert objs[1].hostname == "vm"
    for o in objs[2:-1]:
        assert o.inst is None
        assert o.list == objs[0]
        assert o.cycle.id == 0
        assert o.start.tzinfo is UTC or o.start.utcoffset() == dt.timedelta(0)


def test_ping_properties(testdata):
    seen = 0
    for o, ref in pairs("ping.warts"):
        if not isinstance(o, ScamperPing):
            continue
        seen += 1
        assert isinstance(o.dst, ScamperAddr)
        assert o.dst == ref["dst"] and str(o.src) == ref["src"]
        assert o.start == tv(ref["start"])
        assert o.stop_reason_str == ref["stop_reason"]
        assert o.probe_count == ref["ping_sent"]
        assert o.probe_size == ref["probe_size"]
        assert o.userid == ref["userid"]
        assert o.probe_ttl == ref["ttl"] and o.probe_tos == ref["tos"]
        assert o.wait_timeout == dt.timedelta(seconds=ref["timeout"])
        if o.errmsg is not None:
            assert o.errmsg == ref["errmsg"]
        st = ref["statistics"]
        assert o.nreplies == st["replies"]
        if st["replies"]:
            assert ms(o.min_rtt) == st["min"] and ms(o.max_rtt) == st["max"]
            assert ms(o.avg_rtt) == st["avg"] and ms(o.stddev_rtt) == st["stddev"]
            assert round(o.nloss / o.probe_count, 2) == st["loss"]
        else:
            assert o.min_rtt is None and o.avg_rtt is None
        first = {}
        for r in ref["responses"]:
            first.setdefault(r["seq"], r)
        replies = list(o)
        assert [r.attempt - 1 for r in replies] == sorted(first)
        for r in replies:
            j = first[r.attempt - 1]
            assert r.src == j["from"] and r.reply_size == j["reply_size"]
            assert ms(r.rtt) == j["rtt"]
            assert r.tx == tv(j["tx"]) and r.rx == tv(j["rx"])
            assert r.reply_ttl == j.get("reply_ttl")
            if "reply_ipid" in j:
                assert r.reply_ipid == j["reply_ipid"]
            if "icmp_type" in j:
                assert (r.icmp_type, r.icmp_code) == (j["icmp_type"], j["icmp_code"])
            if "tcp_flags" in j:
                assert r.tcp_flags == j["tcp_flags"] and r.is_tcp()
            if "RR" in j:
                assert [str(a) for a in r.ip_rr] == j["RR"]
            assert o.reply(r.attempt - 1).rtt == r.rtt
        assert o.reply(10_000) is None
    assert seen == 32


def test_ping_enums_and_methods(testdata):
    pings = list(ScamperFile(str(testdata / "ping.warts"), filter_types=[ScamperPing]))
    err = pings[0]
    assert err.stop_reason == ScamperPingStop.Error and err.stop_reason.name == "Error"
    assert err.probe_count == 0 and err.min_rtt is None and list(err) == []
    done = pings[1]
    assert done.stop_reason is ScamperPingStop.Completed and done.stop_reason == 1
    assert done.is_icmp() and not done.is_tcp() and done.probe_sport is None
    assert callable(done.replies) and callable(done.reply)
    assert str(done) == done.to_text()
    assert str(done.reply(0)) == "84 bytes from 10.5.77.77, seq=0 ttl=59 time=20.211 ms"
    tcp = [p for p in pings if p.is_tcp()]
    assert tcp and all(p.probe_dport is not None and p.probe_icmp_sum is None for p in tcp)
    ts = [p for p in pings if any(r.ip_ts is not None for r in p)]
    assert ts
    ipts = next(r.ip_ts for r in ts[0] if r.ip_ts is not None)
    assert len(ipts) == 4 and ipts.has_addrs() and len(ipts.addrs()) == 4
    addr, stamp = next(iter(ipts))
    assert isinstance(addr, ScamperAddr) and isinstance(stamp, dt.timedelta)
    icmptime = [p for p in pings if p.is_icmp_time()]
    assert icmptime and icmptime[0].reply(0).icmp_tso is not None


def test_ping_text_matches_sc_warts2text(testdata):
    text = "".join(o.to_text() for o in ScamperFile(str(testdata / "ping.warts"), filter_types=[ScamperPing]))
    assert text == (testdata / "ping.warts.txt").read_text()


def test_trace_properties(testdata):
    seen = 0
    trace = None
    for o, ref in pairs("trace.warts"):
        if not isinstance(o, ScamperTrace):
            continue
        seen += 1
        trace = o
        assert o.dst == ref["dst"] and o.src == ref["src"]
        assert o.stop_reason_str == ref["stop_reason"].lower()
        assert o.stop_reason == getattr(ScamperTraceStop, {
            "completed": "Completed", "gaplimit": "GapLimit", "hoplimit": "HopLimit",
        }[o.stop_reason_str])
        assert o.stop_hop == ref["hop_count"] and o.probe_count == ref["probe_count"]
        assert o.hop_count >= o.stop_hop
        assert o.attempts == ref["attempts"] and o.firsthop == ref["firsthop"]
        assert o.probe_size == ref["probe_size"]
        assert o.wait_timeout == dt.timedelta(seconds=ref["wait"])
        first = {}
        for h in ref.get("hops", []):
            first.setdefault(h["probe_ttl"], h)
        hops = list(o.hops())
        assert len(hops) == o.stop_hop
        for i, h in enumerate(hops):
            j = first.get(i + 1)
            if j is None:
                assert h is None
                continue
            assert h.src == j["addr"] and h.probe_ttl == i + 1 and ms(h.rtt) == j["rtt"]
            assert h.attempt == j["probe_id"] and h.reply_ttl == j["reply_ttl"]
            assert h.icmp_type == j.get("icmp_type") and h.icmp_code == j.get("icmp_code")
            if "icmp_q_ttl" in j:
                assert h.icmp_q_ttl == j["icmp_q_ttl"] and h.is_icmp_q()
            assert o.hop(i).rtt == h.rtt
        assert set(map(str, o.addrs())) == {h["addr"] for h in ref.get("hops", [])}
    assert seen == 38
    with pytest.raises(ValueError):
        trace.hop(255)
    with pytest.raises(ValueError):
        trace.hop("1")
    assert callable(trace.hops)
    text = "".join(o.to_text() for o in ScamperFile(str(testdata / "trace.warts"), filter_types=[ScamperTrace]))
    assert text == (testdata / "trace.warts.txt").read_text()


def test_tracelb_properties(testdata):
    seen = 0
    for o, ref in pairs("tracelb.warts"):
        if not isinstance(o, ScamperTracelb):
            continue
        seen += 1
        assert o.dst == ref["dst"] and o.node_count == ref["nodec"] and o.link_count == ref["linkc"]
        assert o.probe_count == ref["probec"] and o.confidence == ref["confidence"]
        assert o.method.name.lower() == ref["method"].replace("-", "")
        by_addr = {str(n.src): n for n in o.nodes()}
        assert len(by_addr) == o.node_count
        for jn in ref["nodes"]:
            node = by_addr[jn["addr"]]
            assert node.link_count == jn["linkc"]
            links = list(node.links())
            assert all(link.near.src == node.src for link in links)
            if all(link.length == 1 for link in links):
                # scamper's JSON puts every one-hop link of a node in one list
                ours = sorted((str(link.far.src), link.probeset(0).probe_count) for link in links)
                theirs = sorted((h["addr"], len(h["probes"])) for jl in jn["links"] for h in jl)
                assert ours == theirs
                jprobes = [p for jl in jn["links"] for h in jl for p in h["probes"]]
                probes = [p for link in links for p in link.probeset(0)]
                assert sorted((p.ttl, p.attempt - 1, p.tx, p.reply_count) for p in probes) == sorted(
                    (jp["ttl"], jp["attempt"], tv(jp["tx"]), jp["replyc"]) for jp in jprobes
                )
    assert seen == 5
    text = "".join(o.to_text() for o in ScamperFile(str(testdata / "tracelb.warts"), filter_types=[ScamperTracelb]))
    assert text == (testdata / "tracelb.warts.txt").read_text()


def test_dealias_properties(testdata):
    seen = 0
    for o, ref in pairs("dealias.warts"):
        if not isinstance(o, ScamperDealias):
            continue
        seen += 1
        assert getattr(o, "is_" + ref["method"])()
        assert o.result_str == ref["result"]
        assert o.probedef_count == len(ref["probedefs"]) and o.probe_count == len(ref["probes"])
        assert o.has_aliases() is (ref["result"] == "aliases") and o.aliases() is None
        for pd, jd in zip(o.probedefs(), ref["probedefs"]):
            assert pd.method == jd["method"] and pd.ttl == jd["ttl"]
            assert str(pd.dst) == jd["dst"]
            assert str(pd).startswith("-P " + jd["method"])
        for p, jp in zip(o.probes(), ref["probes"]):
            assert p.seq == jp["seq"] and p.tx == tv(jp["tx"]) and p.reply_count == len(jp["replies"])
            for r, jr in zip(p.replies(), jp["replies"]):
                assert r.src == jr["src"] and r.rx == tv(jr["rx"]) and r.ttl == jr["ttl"]
        if o.is_mercator():
            assert o.wait_probe == o.wait_timeout  # the reference's quirk, kept
    assert seen == 13
    midar = [o for o in ScamperFile(str(testdata / "dealias-midar.warts"), filter_types=[ScamperDealias])]
    assert [m.is_midarest() for m in midar].count(True) == 1
    assert [m.is_midardisc() for m in midar].count(True) == 1
    est = next(m for m in midar if m.is_midarest())
    assert est.probedef_count == 6 and est.probe_count == 12 and est.wait_round is not None
    assert all(m.to_json() is None and m.to_dict() is None for m in midar)
    text = "".join(o.to_text() for o in ScamperFile(str(testdata / "dealias.warts"), filter_types=[ScamperDealias]))
    assert text == (testdata / "dealias.warts.txt").read_text()


def test_host_properties(testdata):
    seen = 0
    host = None
    for o, ref in pairs("host.warts"):
        if not isinstance(o, ScamperHost):
            continue
        seen += 1
        host = o
        assert o.dst == ref["dst"] and o.qname == ref["qname"]
        assert o.qtype == ref["qtype"] and o.qclass == ref["qclass"]
        assert o.stop_reason_str == ref["stop"].lower()
        assert o.wait_timeout == dt.timedelta(milliseconds=ref["wait"])
        answered = [q for q in ref["queries"] if "rx" in q]
        if not answered:
            assert o.rcode is None and o.rtt is None and o.ancount == 0 and list(o.ans()) == []
            assert o.stop_reason == ScamperHostStop.Timeout
            continue
        q = answered[0]
        assert o.rcode == q["rcode"] or o.rcode.upper() == q["rcode"].upper()
        assert o.ancount == q["ancount"] and o.nscount == q["nscount"] and o.arcount == q["arcount"]
        assert o.tx == tv(q["tx"]) and o.rx == tv(q["rx"]) and o.rtt == o.rx - o.tx
        for rr, jr in zip(o.ans(), q.get("an", [])):
            assert rr.name == jr["name"] and rr.ttl == jr["ttl"]
            assert str(rr).startswith(f'{jr["name"]} {jr["ttl"]} {jr["class"]} {jr["type"]} ')
            if jr["type"] in ("A", "AAAA"):
                assert rr.addr == jr["address"]
            if jr["type"] == "NS":
                assert rr.ns == jr["nsdname"]
        addrs = [rr for rr in q.get("an", []) if rr["type"] in ("A", "AAAA")]
        assert sorted(map(str, o.ans_addrs())) == sorted({a["address"] for a in addrs})
        nses = {rr["nsdname"] for rr in q.get("an", []) if rr["type"] == "NS"}
        assert set(o.ans_nses()) == nses
        assert len(list(o.ans(["a"]))) == len([a for a in addrs if a["type"] == "A"])
    assert seen == 27
    with pytest.raises(ValueError):
        host.ans(["nonsense"])
    with pytest.raises(ValueError):
        host.ans([1])


def test_udpprobe_properties(testdata):
    seen = 0
    for o, ref in pairs("udpprobe.warts"):
        if not isinstance(o, ScamperUdpprobe):
            continue
        seen += 1
        assert o.dst == ref["dst"] and o.dport == ref["dport"] and o.sport == ref["sport"]
        assert o.payload.hex() == ref["data"] and o.attempts == ref["probe_count"]
        assert o.probe_sent == ref["probe_sent"] and o.stop_reason_str == ref["stop_reason"]
        for p, jp in zip(o, ref["probes"]):
            assert p.sport == jp["sport"] and p.reply_count == jp["replyc"]
            for r, jr in zip(p, jp["replies"]):
                assert r.rx == tv(jr["rx"])
        assert len(list(o.replies())) == sum(p["replyc"] for p in ref["probes"])
    assert seen == 8


def test_neighbourdisc(testdata):
    nd = [o for o in ScamperFile(str(testdata / "mixed.warts.bz2")) if isinstance(o, ScamperNeighbourdisc)]
    assert len(nd) == 1
    ref = [j for j in json_lines("mixed.warts.bz2") if j and j["type"] == "neighbourdisc"][0]
    assert nd[0].inst is None and nd[0].to_dict() == ref
    assert str(nd[0].dst_mac) == ref["dst_mac"] and nd[0].ifname == "eth0"


def dump_blocks(name: str, head: str) -> list[str]:
    text = (TESTDATA / f"{name}.dump").read_text()
    return [b for b in re.split(r"\n(?=\S)", text) if b.startswith(head)]


def test_http_against_dump(testdata):
    objs = list(ScamperFile(str(testdata / "http.warts"), filter_types=[ScamperHttp]))
    blocks = dump_blocks("http.warts", "http from")
    assert len(objs) == len(blocks) == 7
    for o, b in zip(objs, blocks):
        assert o.to_json() is None
        m = re.search(r"sport: (\d+), dport: (\d+)", b)
        assert (o.sport, o.dport) == (int(m[1]), int(m[2]))
        assert f"url: {o.url}" in b
        assert f"stop: {o.stop_reason_str}" in b
        code = re.search(r"http-status-code: (\d+)", b)
        assert o.status_code == (int(code[1]) if code else None)
        if o.status_code:
            assert o.stop_reason == ScamperHttpStop.Completed
            assert o.response_hdrs is not None and "content-type" in o.response_hdrs
            assert o.response_hdr_byname("Content-Type") == o.response_hdrs["content-type"]
            assert o.transmit_hdr.startswith("GET ")
            bufs = list(o.bufs())
            assert len(bufs) == o.buf_count and bufs[0].is_tx() and bufs[0].is_hdr()
    big = [o for o in objs if o.url and o.url.endswith("/100k.txt")]
    assert big and big[0].response == b"x" * 100000


def test_sniff_against_dump(testdata):
    objs = list(ScamperFile(str(testdata / "sniff.warts"), filter_types=[ScamperSniff]))
    assert len(objs) == 2
    full = next(o for o in objs if o.pkt_count)
    assert full.stop_reason == ScamperSniffStop.LimitPktC and full.stop_reason_str == "limit-pktc"
    assert full.pkt_count == 6 == len(full) and full.icmp_id == 3131 and full.limit_pkt_count == 6
    assert full.limit_time == dt.timedelta(seconds=8) and full.src == "10.1.2.2"
    assert full.pkt(0).data[:4] == bytes.fromhex("45000054")
    assert len([p.rx for p in full]) == 6
    empty = next(o for o in objs if not o.pkt_count)
    assert empty.stop_reason_str == "limit-time" and empty.userid == 8


def test_compressed_files_read_the_same(testdata):
    for name in ("mixed.warts.gz", "mixed.warts.bz2", "mixed.warts.xz"):
        f = ScamperFile(str(testdata / name))
        assert f.filetype == "warts" and f.is_read() and not f.is_write()
        assert len([o for o in f]) > 5
        f.close()


@pytest.mark.parametrize("name", WARTS_FILES)
def test_text_matches_sc_warts2text(testdata, name):
    """to_text() of every ping, trace, tracelb and dealias equals sc_warts2text."""
    text = ""
    for o in ScamperFile(str(testdata / name)):
        if isinstance(o, (ScamperPing, ScamperTrace, ScamperTracelb, ScamperDealias)):
            text += o.to_text()
    assert text == (testdata / f"{name}.txt").read_text()


def test_host_record_data(testdata):
    hosts = list(ScamperFile(str(testdata / "host.warts"), filter_types=[ScamperHost]))
    soa = next(rr.soa for h in hosts for rr in h.ans() if rr.rtype == 6)
    assert (soa.mname, soa.rname, soa.serial, soa.minimum) == (
        "ns1.example.test", "hostmaster.example.test", 2026010101, 300)
    txts = {t.str(0) for h in hosts for t in h.ans_txts()}
    assert {"netns-topo test zone", "ns1.example.test", "ns2.example.test"} <= txts
    nsid = [h for h in hosts if any(rr.opt for rr in h.ars())]
    assert len(nsid) == 1
    opt = next(rr for rr in nsid[0].ars() if rr.opt)
    elem = next(iter(opt.opt))
    assert (elem.code, elem.code_num, elem.data) == ("NSID", 3, b"ns2")
    assert opt.udpsize == nsid[0].udpsize == 1232 and nsid[0].edns_version == 0
    assert [str(rr) for rr in nsid[0].ars(["a"])] == [
        str(rr) for rr in nsid[0].ars() if rr.rtype == 1]  # the filter is honoured
    ch = next(h for h in hosts if h.qclass == "CH" and h.rcode == "NoError")
    assert str(ch.an(0)).startswith(f"{ch.qname} 0 CH TXT \"")
    refused = [h for h in hosts if h.rcode == "Refused"]
    assert refused and all(h.rcode_num == 5 and h.ancount == 0 for h in refused)
    nx = [h for h in hosts if h.rcode == "NXDomain"]
    assert len(nx) == 2


def test_trace_pmtud(testdata):
    traces = [t for t in ScamperFile(str(testdata / "trace.warts"), filter_types=[ScamperTrace])]
    pm = [t for t in traces if t.pmtud is not None]
    assert len(pm) == 1
    assert (pm[0].pmtud.path_mtu, pm[0].pmtud.if_mtu, pm[0].pmtud.out_mtu) == (1500, 1500, 1500)
    assert list(pm[0].pmtud.notes()) == []
    assert all(t.pmtud is None for t in traces if t is not pm[0])
