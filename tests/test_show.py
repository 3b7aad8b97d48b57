"""`tcpcheck show`: one connection of a bundled capture drawn as a ladder in the terminal.

The ladders are snapshot-tested without colour at 100 and 80 columns against
``tests/golden/show-*.txt``; after an intended change regenerate them with::

    TCPCHECK_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_show.py

and review the diff. The other tests read the drawing the way a user does: which states are
written beside which frame's arrow, what is highlighted, what is collapsed.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text
from sample_results import assert_golden

from tcpcheck.pipeline import Job, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.report.ladder import build_ladder
from tcpcheck.report.ladder_view import render_ladder, wireshark_filter
from tcpcheck.report.terminal import SEVERITY_STYLE
from tcpcheck.result import Severity
from tcpcheck.timeline import Recording

ROOT = Path(__file__).resolve().parents[1]
CLOSE_SERVER_FIRST = "captures/linux/close-server-first.pcap"
SYN_ISN_CHANGED = "captures/crafted/syn-isn-changed.pcap"
BULK_LOSS = "captures/linux/bulk-loss.pcap"
SYN_RETRIES = "captures/linux/syn-retries.pcap"
ARP_BETWEEN = "captures/crafted/arp-between.pcap"


@pytest.fixture(autouse=True)
def _from_the_project_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Captures are named relative to the root, as the header prints them; the caller's shell
    must not choose colour or width."""
    monkeypatch.chdir(ROOT)
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)


def draw(capture: str, console: Console, *, connection: int | None = None,
         frame: int | None = None, full: bool = False) -> None:
    """Analyse ``capture`` as ``tcpcheck show`` does (linux profile) and draw on ``console``."""
    result = analyze_jobs([Job(capture, load_profile("linux"))],
                          Recording(connection=connection, frame=frame))
    [timeline] = result.timelines
    [summary] = [c for c in result.connections if c.id == timeline.connection]
    ladder = build_ladder(timeline, result.findings, full=full,
                          frames=() if frame is None else (frame,))
    render_ladder(ladder, summary, console, frame=frame)


def plain(capture: str, *, width: int = 100, connection: int | None = None,
          frame: int | None = None, full: bool = False) -> str:
    """The drawing without colour at ``width`` columns, trailing spaces stripped."""
    console = Console(file=io.StringIO(), width=width, no_color=True, record=True)
    draw(capture, console, connection=connection, frame=frame, full=full)
    return stripped(console.export_text())


def stripped(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


@dataclass
class Row:
    """One segment as drawn: the lines of its arrow and the annotations beside them."""

    gutter: str
    time: str
    arrow: list[str] = field(default_factory=list)
    client: list[str] = field(default_factory=list)
    server: list[str] = field(default_factory=list)

    @property
    def shaft(self) -> str:
        """The arrow's line itself (wrapped label lines are above it)."""
        [line] = [line for line in self.arrow if "▶" in line or "◀" in line]
        return line

    @property
    def client_text(self) -> str:
        return " ".join(self.client)

    @property
    def server_text(self) -> str:
        return " ".join(self.server)


_ROW_START = re.compile(r"^(.) +(\d+)  +(\d+\.\d+)  (.*)$")


def rows(text: str) -> dict[int, Row]:
    """The drawn segments by frame number, read back from the ladder's lines."""
    found: dict[int, Row] = {}
    current: Row | None = None
    for line in text.splitlines():
        if line.count("│") != 2 or "end of capture" in line:
            current = None
            continue
        left, arrow, right = line.split("│")
        start = _ROW_START.match(left)
        if start is not None:
            current = found[int(start[2])] = Row(start[1], start[3])
            left = start[4]
        elif current is None:
            continue
        current.arrow.append(arrow.strip())
        for side, text_ in ((current.client, left), (current.server, right)):
            if text_.strip():
                side.append(text_.strip())
    return found


def end_states(text: str) -> tuple[str, str]:
    """(client, server) written beside "end of capture" at the bottom of the ladder."""
    [line] = [line for line in text.splitlines() if "end of capture" in line]
    left, _, right = line.split("│")
    return left.strip(), right.strip()


def run_show(*args: str, columns: int = 100) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tcpcheck", "show", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NO_COLOR": "1",
                               "COLUMNS": str(columns)})


# -- snapshots -----------------------------------------------------------------------------


def test_snapshot_of_a_close_by_the_server_at_100_columns():
    assert_golden("show-close-server-first.txt", plain(CLOSE_SERVER_FIRST, connection=0))


def test_snapshot_of_an_error_finding_asked_for_by_frame_at_100_columns():
    assert_golden("show-syn-isn-changed-frame-2.txt", plain(SYN_ISN_CHANGED, frame=2))


def test_snapshot_of_an_error_finding_asked_for_by_frame_at_80_columns():
    assert_golden("show-syn-isn-changed-frame-2-80.txt",
                  plain(SYN_ISN_CHANGED, frame=2, width=80))


def test_snapshot_of_a_long_lossy_transfer_with_collapsed_middles_at_100_columns():
    assert_golden("show-bulk-loss.txt", plain(BULK_LOSS, connection=0))


def test_snapshot_of_a_long_lossy_transfer_at_80_columns():
    assert_golden("show-bulk-loss-80.txt", plain(BULK_LOSS, connection=0, width=80))


# -- what the ladder says ------------------------------------------------------------------


def test_ladder_starts_with_the_client_closed_and_the_server_listening():
    header, initial = plain(CLOSE_SERVER_FIRST, connection=0).splitlines()[6:8]
    assert header.split() == ["frame", "time", "client", "│", "│", "server"]
    assert initial.split() == ["CLOSED", "│", "│", "LISTEN"]


def test_ladder_shows_the_handshake_states_beside_syn_syn_ack_and_ack():
    drawn = rows(plain(CLOSE_SERVER_FIRST, connection=0))
    assert drawn[1].server_text == "LISTEN → SYN_RCVD"
    assert drawn[2].client_text == "SYN_SENT → ESTABLISHED"
    assert drawn[3].server_text == "SYN_RCVD → ESTABLISHED"


def test_ladder_shows_fin_wait_1_and_close_wait_where_the_server_sends_its_fin():
    drawn = rows(plain(CLOSE_SERVER_FIRST, connection=0))
    assert drawn[8].shaft.startswith("◀") and "FIN, ACK seq=53 ack=46" in drawn[8].shaft
    assert drawn[8].server_text == "ESTABLISHED → FIN_WAIT_1"
    assert drawn[8].client_text == "ESTABLISHED → CLOSE_WAIT"


def test_ladder_shows_close_wait_to_last_ack_and_time_wait_where_the_client_sends_its_fin():
    drawn = rows(plain(CLOSE_SERVER_FIRST, connection=0))
    assert drawn[9].server_text == "FIN_WAIT_1 → FIN_WAIT_2"
    assert drawn[10].client_text == "CLOSE_WAIT → LAST_ACK"
    assert drawn[10].server_text == "FIN_WAIT_2 → TIME_WAIT"
    assert drawn[11].client_text == "LAST_ACK → CLOSED"
    assert end_states(plain(CLOSE_SERVER_FIRST, connection=0)) == ("CLOSED", "TIME_WAIT")


def test_state_text_appears_only_where_the_state_changes():
    drawn = rows(plain(CLOSE_SERVER_FIRST, connection=0))
    for frame in (4, 5, 6, 7):
        assert drawn[frame].client == [] and drawn[frame].server == []


def test_state_changes_read_the_same_on_one_line_and_wrapped_at_80_columns():
    wide = rows(plain(CLOSE_SERVER_FIRST, connection=0, width=160))
    narrow = rows(plain(CLOSE_SERVER_FIRST, connection=0, width=80))
    assert wide[10].client == ["CLOSE_WAIT → LAST_ACK"]
    assert narrow[10].client == ["CLOSE_WAIT →", "LAST_ACK"]
    assert {f: (r.client_text, r.server_text) for f, r in wide.items()} == \
        {f: (r.client_text, r.server_text) for f, r in narrow.items()}


def test_arrows_point_from_sender_to_receiver_with_the_segment_label():
    drawn = rows(plain(CLOSE_SERVER_FIRST, connection=0))
    assert re.fullmatch(r"─+ SYN seq=0 len=0 win=64240 ─+▶", drawn[1].shaft)
    assert re.fullmatch(r"◀─+ SYN, ACK seq=0 ack=1 len=0 win=65160 ─+", drawn[2].shaft)


def test_the_frame_asked_for_is_marked_in_the_gutter_and_its_finding_beside_the_arrow():
    drawn = rows(plain(SYN_ISN_CHANGED, frame=2))
    assert drawn[2].gutter == "▶" and drawn[2].server_text == "✗ HS001"
    assert all(row.gutter == " " and not row.server_text.startswith("✗")
               for frame, row in drawn.items() if frame != 2)


def test_the_legend_names_the_markers_the_ladder_uses():
    assert "▶ frame 2 · ✗ error\n" in plain(SYN_ISN_CHANGED, frame=2)
    assert "▲ warning · ● info · ↻ retransmission\n" in plain(
        "captures/crafted/syn-retries-exceeded.pcap", connection=0)
    # Unanswered SYNs (half-open) are info: no warning marker to name.
    assert "\n● info · ↻ retransmission\n" in plain(SYN_RETRIES, connection=0)


def test_retransmissions_are_marked_with_a_circular_arrow():
    drawn = rows(plain(SYN_RETRIES, connection=0))
    assert "↻" not in drawn[1].shaft
    assert all("↻ SYN seq=0" in drawn[frame].shaft for frame in (2, 3, 4, 5, 6))


def test_a_state_change_made_by_the_end_of_the_capture_is_written_at_the_bottom():
    assert end_states(plain(SYN_RETRIES, connection=0)) == ("SYN_SENT", "SYN_RCVD → LISTEN")


def test_findings_are_explained_after_the_ladder_as_in_the_terminal_report():
    text = plain(SYN_ISN_CHANGED, frame=2)
    explanation = text[text.index("HS001 syn-isn-changed · error · 1"):]
    assert "frame 2 · 1.000000 s · conn 0" in explanation
    assert "retransmitted its SYN 1.000 s after frame 1 with ISN 136095426" in explanation
    assert "expected:  seq 2915191912 (the ISN of the SYN in frame 1)" in explanation
    assert "observed:  seq 136095426" in explanation
    assert "reference: RFC 9293 §3.4.1, §3.8.1" in explanation


def test_a_connection_without_findings_says_so():
    assert plain(CLOSE_SERVER_FIRST, connection=0).endswith("\nno findings in this connection\n")


def test_the_header_names_capture_connection_endpoints_and_close():
    head = plain(CLOSE_SERVER_FIRST, connection=0).splitlines()[:5]
    assert head == [
        CLOSE_SERVER_FIRST,
        "connection 0 · close: fin",
        "client 192.0.2.1:55280 → server 192.0.2.2:8000",
        "Wireshark: ip.addr == 192.0.2.1 && tcp.port == 55280 && ip.addr == 192.0.2.2 && "
        "tcp.port == 8000 && frame.number in {1..11}",
        "11 segments in 501.0 ms · 45 bytes client→server, 52 server→client",
    ]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
@pytest.mark.parametrize("capture", ["captures/linux/time-wait-reuse.pcap", BULK_LOSS,
                                     "captures/linux/reuse-challenge-ack.pcap",
                                     "captures/linux/close-client-first-ipv6.pcap"])
def test_the_wireshark_filter_in_the_header_selects_the_connections_frames(capture):
    result = analyze_jobs([Job(capture, load_profile("linux"))])
    for summary in result.connections:
        frames = subprocess.run(
            ["tshark", "-r", capture, "-Y", wireshark_filter(summary), "-T", "fields",
             "-e", "frame.number"], capture_output=True, text=True, check=True).stdout.split()
        assert (frames[0], frames[-1]) == (str(summary.first_frame), str(summary.last_frame))
        assert len(frames) >= summary.packets


def test_a_long_connection_keeps_handshake_teardown_and_every_finding_and_collapses_the_rest():
    text = plain(BULK_LOSS, connection=0)
    drawn = rows(text)
    assert {1, 2, 3, 1308, 1309, 1310, 1311, 1312} <= set(drawn)
    assert "… 288 segments (frames 125-412, 0.7 ms), 218,648 bytes client→server, " \
           "0 retransmissions …" in text
    findings = analyze_jobs([Job(BULK_LOSS, load_profile("linux"))]).findings
    assert {f.frame for f in findings} <= set(drawn)
    assert len(drawn) < 200


def test_the_frame_asked_for_is_drawn_with_its_neighbours_even_in_an_uneventful_stretch():
    text = plain(BULK_LOSS, frame=300)
    drawn = rows(text)
    assert {299, 300, 301} <= set(drawn) and "frames 125-412" not in text
    marked = [line for line in text.splitlines() if line.startswith("▶ ")]
    assert " 300 " in marked[0] and marked[-1].startswith("▶ frame 300 ·")  # row, legend


def test_all_draws_every_segment():
    text = plain(BULK_LOSS, connection=0, full=True)
    assert set(rows(text)) == set(range(1, 1313)) and "segments (frames" not in text


def test_segments_with_info_findings_past_the_cap_are_counted_in_a_note():
    text = plain("captures/linux/ipv6-bulk-loss.pcap", connection=0)
    assert "109 more segments with info findings are in the collapsed stretches (--all draws " \
           "them)" in text


@pytest.mark.parametrize("width", [80, 100])
@pytest.mark.parametrize(("capture", "connection"), [
    (CLOSE_SERVER_FIRST, 0), (BULK_LOSS, 0), ("captures/linux/close-client-first-ipv6.pcap", 0),
    ("captures/crafted/midstream.pcap", 0), ("captures/linux/ci-run-1.pcap", 3)])
def test_every_ladder_line_fits_the_console_width(capture, connection, width):
    text = plain(capture, connection=connection, width=width)
    ladder = [line for line in text.splitlines() if "│" in line or "segments (frames" in line]
    assert ladder and max(len(line) for line in ladder) <= width


# -- colour --------------------------------------------------------------------------------


def _sgr(style: str) -> str:
    """The escape sequence a standard-colour terminal receives for ``style``."""
    out = io.StringIO()
    Console(file=out, force_terminal=True, color_system="standard").print(
        Text("x", style=style), end="")
    return out.getvalue().split("x")[0]


def coloured(capture: str, frame: int) -> str:
    """The drawing as a standard-colour terminal receives it, at 100 columns."""
    out = io.StringIO()
    draw(capture, Console(file=out, width=100, force_terminal=True, color_system="standard"),
         frame=frame)
    return out.getvalue()


def test_the_highlighted_row_carries_its_severity_colour():
    error = _sgr(SEVERITY_STYLE[Severity.ERROR])
    lines = coloured(SYN_ISN_CHANGED, frame=2).splitlines()
    [highlighted] = [line for line in lines if "HS001" in line and "SYN seq=0" in line]
    assert re.search(re.escape(error) + r"─+ SYN seq=0 len=0 win=64240 ─+▶", highlighted)
    assert error + "✗ HS001" in highlighted
    [first] = [line for line in lines if re.match(r"^ +1  ", line)]
    assert error not in first and "SYN seq=0" in first


def test_the_frame_asked_for_is_drawn_in_reverse():
    [row] = [line for line in coloured(SYN_ISN_CHANGED, frame=2).splitlines()
             if "HS001" in line and "SYN seq=0" in line]
    assert row.startswith(_sgr("reverse") + "▶")


# -- the command ---------------------------------------------------------------------------


def test_show_prints_the_ladder_and_exits_0_even_when_the_connection_has_errors():
    proc = run_show(SYN_ISN_CHANGED, "--frame", "2", "--isolated")
    assert proc.returncode == 0, proc.stderr
    assert stripped(proc.stdout) == (ROOT / "tests/golden/show-syn-isn-changed-frame-2.txt") \
        .read_text(encoding="utf-8")


def test_show_applies_the_configuration_like_analyze(tmp_path):
    config = tmp_path / "tcpcheck.toml"
    config.write_text('ignore = ["HS001"]\n')
    proc = run_show(SYN_ISN_CHANGED, "--frame", "2", "--config", str(config))
    assert proc.returncode == 0, proc.stderr
    assert "HS001" not in proc.stdout and "no findings in this connection" in proc.stdout


def test_show_draws_every_segment_with_all():
    proc = run_show(BULK_LOSS, "--connection", "0", "--all", "--isolated")
    assert proc.returncode == 0 and len(rows(proc.stdout)) == 1312


@pytest.mark.parametrize("args", [[], ["--connection", "0", "--frame", "1"]])
def test_show_needs_exactly_one_of_connection_and_frame(args):
    proc = run_show(CLOSE_SERVER_FIRST, *args)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "give one of --connection N and --frame F" in proc.stderr


@pytest.mark.parametrize(("capture", "args", "message"), [
    ("captures/linux/ci-run-1.pcap", ["--connection", "6"],
     "captures/linux/ci-run-1.pcap: no connection 6: the capture has connections 0-5"),
    (CLOSE_SERVER_FIRST, ["--connection", "1"],
     f"{CLOSE_SERVER_FIRST}: no connection 1: the capture has connection 0"),
    (CLOSE_SERVER_FIRST, ["--frame", "99"],
     f"{CLOSE_SERVER_FIRST}: frame 99: the capture has 11 frames"),
    (ARP_BETWEEN, ["--frame", "4"],
     f"{ARP_BETWEEN}: frame 4 is not an IP packet (ARP, LLDP or another link-layer protocol)"),
    (ARP_BETWEEN, ["--frame", "7"],
     f"{ARP_BETWEEN}: frame 7 is an IP packet but not TCP (UDP, ICMP or another protocol)"),
    ("README.md", ["--connection", "0"], "README.md: not a pcap or pcapng file"),
    ("nope.pcap", ["--connection", "0"], "nope.pcap: no such file"),
])
def test_show_reports_what_it_cannot_draw_in_one_line_with_exit_2(capture, args, message):
    proc = run_show(capture, *args, "--isolated")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(f"tcpcheck: error: {message}")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_a_frame_past_the_damage_of_a_truncated_capture_names_the_damage(tmp_path):
    data = (ROOT / "captures/linux/close-client-first.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:700])
    proc = run_show(str(cut), "--frame", "9")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(f"tcpcheck: error: {cut}: frame 9: the capture has 6 "
                                  "readable frames (file truncated in record 7")
