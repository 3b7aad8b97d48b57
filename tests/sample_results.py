"""The fixed results every report golden file is rendered from, and the golden-file comparison.

``sample_result`` exercises every field a renderer formats: two captures (one damaged), an IPv4
and an IPv6 connection, findings of each severity with side, position and fingerprint. Its
variant ``sample_result_with_baseline`` adds what a baseline did to the run.

To regenerate the golden files after an intended change, run::

    TCPCHECK_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_report_*.py

and review the diff of ``tests/golden/`` before committing it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from tcpcheck.catalog import Catalog, RuleMeta, RuleParameter
from tcpcheck.pipeline import analyze_files
from tcpcheck.profiles import load_profile
from tcpcheck.result import (
    AnalysisResult,
    BaselineEntry,
    BaselineReport,
    CaptureSummary,
    ConnectionSummary,
    Finding,
    Severity,
)

GOLDEN = Path(__file__).parent / "golden"
REPO = Path(__file__).resolve().parents[1]
"""The project root: bundled captures are named relative to it, as a CI job would name them."""

BULK = "captures/linux/bulk-loss.pcap"
CRAFTED = "captures/crafted/syn-isn-changed.pcapng.gz"
BASELINE = "tcpcheck-baseline.json"

REAL_CAPTURES = (
    "captures/linux/bulk-loss.pcap",
    "captures/linux/rst-abort.pcap",
    "captures/crafted/rst-out-of-window.pcap",
    "captures/crafted/syn-retries-exceeded.pcap",
    "captures/crafted/window-shrink.pcap",
    "captures/crafted/missing-time-wait-rst.pcap",
)
"""Bundled captures with errors, warnings and info findings between them, for renderers to be
checked against a real analysis as well as against the hand-made sample."""


def assert_golden(name: str, text: str) -> None:
    """``text`` equals ``tests/golden/<name>`` exactly (TCPCHECK_UPDATE_GOLDEN=1 rewrites it)."""
    path = GOLDEN / name
    if os.environ.get("TCPCHECK_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), (
        f"{path} differs; if the change is intended, rerun with TCPCHECK_UPDATE_GOLDEN=1"
    )


def _finding(rule: str, code: str, severity: Severity, input_path: str, connection: int,
             frame: int, time: float, message: str, expected: str, observed: str,
             reference: str, side: str = "", position: str = "",
             fingerprint: str = "") -> Finding:
    return Finding(rule=rule, code=code, severity=severity, connection=connection, frame=frame,
                   time=time, message=message, expected=expected, observed=observed,
                   reference=reference, input=input_path, side=side, position=position,
                   fingerprint=fingerprint)


def retransmission(input_path: str, connection: int, frame: int) -> Finding:
    """An info finding of the kind that repeats hundreds of times in a lossy capture."""
    return _finding("retransmission", "SQ010", Severity.INFO, input_path, connection, frame,
                    frame / 1000, "data segment retransmitted",
                    "new data at SND.NXT 1449", "seq 1 already sent in frame 4",
                    "RFC 9293 §3.8.1", side="client", position=f"seq={frame * 1448 + 1}",
                    fingerprint=f"{frame:016x}")


def connection(input_path: str, id_: int, client: str = "10.0.0.1:51000",
               server: str = "10.0.0.2:80") -> ConnectionSummary:
    """A conformant connection that ended in a clean FIN exchange."""
    return ConnectionSummary(id=id_, client=client, server=server, first_frame=10 * id_ + 1,
                             last_frame=10 * id_ + 9, start=0.5 * id_, end=0.5 * id_ + 0.25,
                             packets=9, client_bytes=100, server_bytes=2000,
                             client_state="TIME_WAIT", server_state="CLOSED", close="fin",
                             midstream=False, input=input_path)


def error_finding(input_path: str, connection_id: int, frame: int) -> Finding:
    """An error finding (syn-isn-changed) at ``frame`` of one connection."""
    return _finding("syn-isn-changed", "HS001", Severity.ERROR, input_path, connection_id,
                    frame, frame / 1000,
                    "retransmitted SYN carries a different initial sequence number",
                    "seq 1000", "seq 2000", "RFC 9293 §3.4.1", side="client", position="seq=0",
                    fingerprint=f"{connection_id:08x}{frame:08x}")


def single_capture(connections: int, findings: tuple[Finding, ...] = (),
                input_path: str = BULK) -> AnalysisResult:
    """One undamaged capture with ``connections`` conformant connections and ``findings``."""
    capture = CaptureSummary(input=input_path, format="pcap", packets=9 * connections,
                             tcp_packets=9 * connections, profile="linux")
    return AnalysisResult(tool_version="0.1.0", profile="linux", captures=(capture,),
                          connections=tuple(connection(input_path, i)
                                            for i in range(connections)),
                          findings=findings)


def sample_result() -> AnalysisResult:
    """Two captures (one damaged), an IPv4 and an IPv6 connection, findings of each severity."""
    captures = (
        CaptureSummary(input=BULK, format="pcap", packets=1204, tcp_packets=1180,
                       skipped={"non-tcp": 20, "truncated": 4},
                       capture_start=1700000000.1234567, profile="linux"),
        CaptureSummary(input=CRAFTED, format="pcapng+gzip", packets=41, tcp_packets=38,
                       skipped={"non-ip": 2},
                       damage="truncated record at frame 41: 12 of 66 bytes",
                       capture_start=1700000100.0, profile="linux"),
    )
    connections = (
        ConnectionSummary(id=0, client="10.0.0.1:51000", server="10.0.0.2:80", first_frame=1,
                          last_frame=1190, start=0.0, end=3.2000004, packets=1150,
                          client_bytes=1_048_576, server_bytes=512, client_state="TIME_WAIT",
                          server_state="CLOSED", close="fin", midstream=False, input=BULK),
        ConnectionSummary(id=1, client="[2001:db8::1]:40000", server="[2001:db8::2]:443",
                          first_frame=5, last_frame=1204, start=0.0041, end=75.5, packets=30,
                          client_bytes=517, server_bytes=4096, client_state="CLOSED",
                          server_state="CLOSED", close="reset", midstream=True, input=BULK),
        ConnectionSummary(id=0, client="192.0.2.10:33000", server="198.51.100.5:22",
                          first_frame=1, last_frame=40, start=0.0, end=0.000412, packets=38,
                          client_bytes=0, server_bytes=0, client_state="SYN_SENT",
                          server_state="SYN_RECEIVED", close="incomplete", midstream=False,
                          input=CRAFTED),
    )
    findings = (
        retransmission(BULK, 0, 212),
        retransmission(BULK, 0, 480),
        _finding("window-shrunk", "WN003", Severity.WARNING, BULK, 1, 700, 12.5000001,
                 "the right edge of the receive window moved left",
                 "right edge >= 70144 (SND.UNA 4097 + SND.WND 66047)",
                 "right edge 65537 (ack 4097, window 61440)", "RFC 9293 §3.8.6",
                 side="server", position="ack=4097", fingerprint="5a17e0c3d2b1a098"),
        _finding("rst-out-of-window", "RS002", Severity.ERROR, BULK, 1, 1204, 75.5,
                 "RST with a sequence number outside the receive window was accepted",
                 "RCV.NXT 518 <= seq < 518 + RCV.WND 65535", "seq 99999999 [RST, ACK]",
                 "RFC 9293 §3.10.7.4", side="client", position="seq=99999482",
                 fingerprint="c0ffee0123456789"),
        _finding("syn-isn-changed", "HS001", Severity.ERROR, CRAFTED, 0, 3, 0.000205,
                 "retransmitted SYN carries a different initial sequence number",
                 "seq 1000 (ISN of the SYN in frame 1)", "seq 2000",
                 "RFC 9293 §3.4.1", side="client", position="seq=1",
                 fingerprint="0123456789abcdef"),
    )
    return AnalysisResult(tool_version="0.1.0", profile="linux", captures=captures,
                          connections=connections, findings=findings)


def sample_result_with_baseline() -> AnalysisResult:
    """``sample_result`` filtered by a baseline: 3 findings suppressed, one entry gone stale."""
    stale = BaselineEntry(input=BULK, rule="half-open", code="HS005", side="server",
                          service=80, position="seq=4097", fingerprint="fedcba9876543210",
                          count=2)
    baseline = BaselineReport(path=BASELINE, suppressed=3, stale=(stale,))
    return replace(sample_result(), baseline=baseline)


def truncated_copy(name: str, folder: Path, cut: int = 10) -> Path:
    """A copy of the bundled capture ``name`` in ``folder`` with its last ``cut`` bytes gone:
    reading it stops at a damaged record."""
    data = (REPO / name).read_bytes()
    path = folder / f"truncated-{Path(name).name}"
    path.write_bytes(data[:-cut])
    return path


def analyze_real(paths: Sequence[str | Path]) -> AnalysisResult:
    """The real analysis of ``paths`` with the linux profile, relative paths named from the
    project root as a CI job in the repository would name them."""
    with contextlib.chdir(REPO):
        return analyze_files([str(p) for p in paths], load_profile("linux"))


def sample_catalog() -> Catalog:
    """A fixed catalog of three of the sample's rules (the sample's SQ010 is left out on
    purpose), so golden files do not change whenever the bundled catalog's text does."""
    return Catalog((
        RuleMeta(code="HS001", slug="syn-isn-changed", severity=Severity.ERROR,
                 category="handshake",
                 summary="A retransmitted SYN carries a different initial sequence number",
                 reference="RFC 9293 §3.4.1",
                 what="A SYN for a four-tuple whose earlier SYN is still unanswered, with\n"
                      "another ISN.\n\nA new attempt after a RST is not flagged.",
                 why="Retransmissions of a segment carry its sequence number (RFC 9293\n"
                     "§3.4.1).", causes="Middleboxes rewriting sequence numbers.",
                 example="captures/crafted/syn-isn-changed.pcap"),
        RuleMeta(code="RS002", slug="rst-out-of-window", severity=Severity.ERROR,
                 category="reset", summary="A RST outside the receive window was accepted",
                 reference="RFC 9293 §3.10.7.4; RFC 5961 §3",
                 what="A RST whose sequence number is outside the window, after which the\n"
                      "receiver behaves as if reset.",
                 why="Out-of-window RSTs MUST be dropped | RFC 5961 <blind reset>.",
                 causes="Old stacks without RFC 5961 mitigations.", example=""),
        RuleMeta(code="WN003", slug="window-shrink", severity=Severity.WARNING,
                 category="flow-control", summary="The receive window's right edge moved left",
                 reference="RFC 9293 §3.8.6",
                 what="The right edge SND.UNA + SND.WND moved left: the receiver shrank the\n"
                      "window `tolerance` allows for.",
                 why="Shrinking the window is strongly discouraged (RFC 9293 §3.8.6).",
                 causes="Receive buffer autotuning bugs.", example="",
                 parameters=(RuleParameter("tolerance", 0, "Bytes | of slack allowed."),
                             RuleParameter("strict", False, "Flag every shrink."))),
    ))
