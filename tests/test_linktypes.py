"""Link layers below IP, read from real captures: the bundled re-encapsulations of real Linux
captures (``captures/linktypes/``, made by ``scripts/make_linktypes.py``) report what their
Ethernet originals report, and field captures of every link type decode the TCP frames
Wireshark decodes."""

from __future__ import annotations

import dataclasses
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tcpcheck.decode import Decoder
from tcpcheck.pipeline import analyze_files
from tcpcheck.profiles import load_profile
from tcpcheck.result import AnalysisResult, Severity
from tcpcheck.sources import open_capture

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "captures" / "linktypes"
WILD = ROOT.parent / "shared" / "wild" / "dev"
LINUX = load_profile("linux")
TSHARK = shutil.which("tshark")


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_linktypes",
                                                  ROOT / "scripts" / "make_linktypes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make = _load_script()
CAPTURES = sorted(make.build_all())

# Field captures (../shared/wild/dev, with their sources in its index.json) tcpcheck refused
# before it read their link types: (file, link type, TCP segments Wireshark decodes).
FIELD = [
    ("pl__pcaps__4-byte_AS_numbers_Full_Support.cap", 104, 9),
    ("pl__pcaps__4-byte_AS_numbers_Mixed_Scenario.cap", 104, 4),
    ("pl__pcaps__PPP_TCP_compression.cap", 9, 6),
    ("pl__pcaps__bgp_med.pcapng.cap", 107, 1),
    ("pl__pcaps__no-advertise_community.pcapng.cap", 107, 2),
    ("tcpd__tests__arcnet-rfc1051-arp-icmp-http.pcap", 129, 14),
    ("tcpd__tests__ipoib.pcap", 242, 20),
    ("tcpd__tests__lspping-fec-ldp.pcap", 9, 3),
]
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed "
                                  "(make system-deps)")
needs_field = pytest.mark.skipif(not WILD.is_dir(), reason="../shared/wild/dev not present")


def _original(name: str) -> Path:
    return make.SOURCES["ipv6" if name.endswith("-ipv6.pcap") else "ipv4"]


def _without_input(result: AnalysisResult) -> tuple[list[object], list[object]]:
    """The result's connections and findings, with the capture's name left out."""
    return ([dataclasses.replace(c, input="") for c in result.connections],
            [dataclasses.replace(f, input="") for f in result.findings])


def _tcp_frames(path: Path) -> list[int]:
    """The frames tcpcheck decodes a TCP segment from."""
    decoder = Decoder()
    with open_capture(str(path)) as capture:
        return [seg.frame for seg in decoder.segments(capture.records())]


def _tshark_tcp_frames(path: Path) -> list[int]:
    out = subprocess.run([TSHARK, "-r", str(path), "-Y", "tcp", "-T", "fields", "-e",
                          "frame.number"], capture_output=True, text=True, check=True).stdout
    return [int(line) for line in out.split()]


def test_bundled_captures_are_what_the_script_writes() -> None:
    written = make.build_all()
    assert sorted(p.name for p in BUNDLED.glob("*.pcap")) == CAPTURES
    for name, data in written.items():
        assert (BUNDLED / name).read_bytes() == data, name


@pytest.mark.parametrize("name", CAPTURES)
def test_a_reencapsulated_capture_reports_what_its_ethernet_original_reports(name: str) -> None:
    result = analyze_files([str(BUNDLED / name)], LINUX)
    original = analyze_files([str(_original(name))], LINUX)
    assert _without_input(result) == _without_input(original)
    assert result.captures[0].skipped == {}


def test_the_ipv4_originals_injected_error_is_still_found_under_every_link() -> None:
    for name in CAPTURES:
        if name.endswith("-ipv4.pcap"):
            findings = analyze_files([str(BUNDLED / name)], LINUX).findings
            assert ("paws-timestamp-regression", 8) in [(f.rule, f.frame) for f in findings]


@needs_tshark
@pytest.mark.parametrize("name", CAPTURES)
def test_wireshark_decodes_the_same_tcp_frames_as_in_the_original(name: str) -> None:
    assert _tshark_tcp_frames(BUNDLED / name) == _tshark_tcp_frames(_original(name))
    assert _tcp_frames(BUNDLED / name) == _tshark_tcp_frames(BUNDLED / name)


@needs_field
@needs_tshark
@pytest.mark.parametrize(("name", "linktype", "segments"), FIELD,
                         ids=[name for name, _, _ in FIELD])
def test_a_field_capture_decodes_every_tcp_frame_wireshark_decodes(name: str, linktype: int,
                                                                   segments: int) -> None:
    path = WILD / name
    with open_capture(str(path)) as capture:
        list(capture.records())
        assert capture.link_types == {linktype}
    frames = _tcp_frames(path)
    assert len(frames) == segments
    assert frames == _tshark_tcp_frames(path)


@needs_field
@pytest.mark.parametrize("name", [name for name, _, _ in FIELD])
def test_a_field_capture_of_healthy_routers_draws_no_error_or_warning(name: str) -> None:
    findings = analyze_files([str(WILD / name)], LINUX).findings
    assert [(f.rule, f.frame) for f in findings if f.severity >= Severity.WARNING] == []


@needs_field
def test_van_jacobson_compressed_frames_are_counted_as_such_not_as_garbage() -> None:
    # 33 of the 43 frames are compressed TCP/IP headers (protocol 0x2D); the two sent
    # uncompressed (0x2F) carry a whole header and decode as TCP; 4 are LCP echoes.
    summary = analyze_files([str(WILD / "pl__pcaps__PPP_TCP_compression.cap")],
                            LINUX).captures[0]
    assert (summary.packets, summary.tcp_packets) == (43, 6)
    assert summary.skipped == {"vj-compressed": 33, "non-ip": 4}


@needs_field
def test_show_says_what_a_van_jacobson_compressed_frame_is() -> None:
    proc = subprocess.run([sys.executable, "-m", "tcpcheck", "show",
                           str(WILD / "pl__pcaps__PPP_TCP_compression.cap"), "--frame", "4"],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert "frame 4 is a TCP/IP header Van Jacobson compression shrank" in proc.stderr
