"""One real capture, re-wrapped in every supported link type and container, analyses the same."""

from __future__ import annotations

from pathlib import Path

import dpkt
import pytest
from formats import LINKS, gz, pcap, pcapng

from tcpcheck.pipeline import analyze_files
from tcpcheck.profiles import load_profile

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "captures" / "crafted" / "ack-unsent-data.pcap",
           ROOT / "captures" / "linux" / "close-client-first-ipv6.pcap"]


def ip_packets(path: Path) -> list[tuple[int, bytes]]:
    """(timestamp_ns, IP packet) for every Ethernet frame of a classic pcap."""
    out = []
    with path.open("rb") as fh:
        for ts, frame in dpkt.pcap.Reader(fh):
            out.append((round(ts * 1e9 / 1000) * 1000, bytes(frame[14:])))
    return out


def outcome(path: Path):
    result = analyze_files([str(path)], load_profile("linux"))
    conns = [(c.client, c.server, c.first_frame, c.last_frame, c.client_state, c.server_state,
              c.close, c.packets) for c in result.connections]
    findings = [(f.rule, f.frame, f.message) for f in result.findings]
    return conns, findings, result.tcp_packets


CONTAINERS = {
    "pcap": lambda recs, lt: pcap(recs, lt),
    "pcap-ns-big-endian": lambda recs, lt: pcap(recs, lt, nanosecond=True, big_endian=True),
    "pcapng": lambda recs, lt: pcapng(recs, lt),
    "pcapng-ns-big-endian": lambda recs, lt: pcapng(recs, lt, tsresol=9, big_endian=True),
    "pcap-gzip": lambda recs, lt: gz(pcap(recs, lt)),
    "pcapng-gzip": lambda recs, lt: gz(pcapng(recs, lt)),
}


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
@pytest.mark.parametrize("link", sorted(LINKS))
def test_every_link_type_gives_the_same_analysis(tmp_path, source, link):
    expected = outcome(source)
    linktype, wrap = LINKS[link]
    path = tmp_path / f"{link}.pcap"
    path.write_bytes(pcap([(ts, wrap(ip)) for ts, ip in ip_packets(source)], linktype))
    assert outcome(path) == expected


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
@pytest.mark.parametrize("container", sorted(CONTAINERS))
def test_every_container_gives_the_same_analysis(tmp_path, source, container):
    expected = outcome(source)
    frames = [(ts, LINKS["ethernet"][1](ip)) for ts, ip in ip_packets(source)]
    path = tmp_path / f"capture.{container}"
    path.write_bytes(CONTAINERS[container](frames, 1))
    assert outcome(path) == expected
