"""A next step for every finding: the Wireshark display filter that selects its frame, and the
``tshark`` and ``tcpcheck show`` commands, as the reports give them.

The commands are taken from the JSON report of a real run and run as a user would paste them:
by a POSIX shell, from the folder the analysis ran in. tshark must select exactly the
finding's frame with the filter, and ``tcpcheck show`` must draw the frame marked.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tcpcheck.report.nextstep import NextSteps, frame_filter, show_command, unreadable
from tcpcheck.result import ConnectionSummary, Finding, Severity

ROOT = Path(__file__).resolve().parents[1]
TCPCHECK = [sys.executable, "-m", "tcpcheck"]
FINDINGS_PER_CAPTURE = 6
"""Findings whose filter tshark checks per capture: the first of each rule, then more."""

needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None,
                                  reason="tshark is not installed (`make test` installs it)")


def analyze(*paths: str, cwd: Path = ROOT, stdin: bytes | None = None) -> dict:
    """The JSON report of ``tcpcheck analyze PATH...`` run in ``cwd``."""
    out = subprocess.run([*TCPCHECK, "analyze", "--format", "json", "--fail-on", "never",
                          *paths], cwd=cwd, input=stdin, capture_output=True, check=True)
    return json.loads(out.stdout)


def terminal(*args: str, cwd: Path = ROOT) -> str:
    """The terminal report of ``tcpcheck analyze ARGS...`` run in ``cwd`` (through a pipe)."""
    return subprocess.run([*TCPCHECK, "analyze", *args], cwd=cwd, capture_output=True,
                          text=True).stdout


def next_step_lines(report: str) -> list[str]:
    """The commands of the terminal report's ``look:`` and ``show:`` lines, in order."""
    return [line.split(": ", 1)[1] for line in report.splitlines()
            if line.startswith(("    look: ", "    show: "))]


def shell(command: str, cwd: Path) -> str:
    """``command`` run by ``sh`` as pasted, with this checkout's tcpcheck first on PATH."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    for name in ("NO_COLOR", "FORCE_COLOR", "COLUMNS"):
        env.pop(name, None)
    return subprocess.run(["sh", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True, check=True).stdout


def tshark_frames(command: str, cwd: Path = ROOT) -> list[int]:
    """The frame numbers tshark's command selects (its summary lines start with them)."""
    return [int(line.split()[0]) for line in shell(command, cwd).splitlines() if line.strip()]


def marked_frames(ladder: str) -> list[int]:
    """Frames of the rows ``tcpcheck show`` marks with ``▶`` (the legend line excluded)."""
    return [int(m.group(1)) for m in re.finditer(r"^▶\s+(\d+)\s", ladder, re.MULTILINE)]


def sample(findings: list[dict]) -> list[dict]:
    """The first finding of each rule, then the next ones, ``FINDINGS_PER_CAPTURE`` in all."""
    first = {f["rule"]: f for f in reversed(findings)}.values()
    rest = [f for f in findings if f not in first]
    return (sorted(first, key=findings.index) + rest)[:FINDINGS_PER_CAPTURE]


# -- the filter selects exactly the finding's frame ------------------------------------------


@needs_tshark
@pytest.mark.parametrize("capture", [
    "captures/linux/bulk-loss.pcap",  # IPv4
    "captures/linux/ipv6-bulk-loss.pcap",  # IPv6
    "captures/linux/time-wait-reuse.pcap",  # one four-tuple, two connections
    "captures/linux/reuse-challenge-ack.pcap",
    "captures/crafted/rst-out-of-window.pcap",
])
def test_tshark_with_a_findings_filter_selects_exactly_its_frame(capture):
    findings = analyze(capture)["findings"]
    assert findings
    for finding in sample(findings):
        command = f"tshark -r {capture} -Y {shlex.quote(finding['display_filter'])}"
        assert tshark_frames(command) == [finding["frame"]], finding


@needs_tshark
def test_the_terminal_reports_look_and_show_lines_run_as_pasted():
    capture = "captures/crafted/rst-out-of-window.pcap"
    look, show = next_step_lines(terminal(capture))
    assert look.startswith(f"tshark -r {capture} -Y 'ip.addr == 192.0.2.10 && ")
    assert tshark_frames(look) == [7]
    assert marked_frames(shell(show, ROOT)) == [7]


@needs_tshark
def test_the_filter_names_the_connections_four_tuple_not_wiresharks_stream_index():
    report = analyze("captures/linux/time-wait-reuse.pcap")
    [finding] = report["findings"]
    conn = report["connections"][finding["connection"]]
    assert "tcp.stream" not in finding["display_filter"]
    client_ip, client_port = conn["client"].rsplit(":", 1)
    assert finding["display_filter"].startswith(
        f"ip.addr == {client_ip} && tcp.port == {client_port} && ")
    assert finding["display_filter"].endswith(f" && frame.number == {finding['frame']}")


@needs_tshark
def test_on_another_capture_the_filter_selects_nothing_rather_than_a_wrong_packet():
    finding = analyze("captures/linux/time-wait-reuse.pcap")["findings"][0]
    other = f"tshark -r captures/linux/bulk-loss.pcap -Y '{finding['display_filter']}'"
    assert tshark_frames(other) == []


# -- the show command draws the frame -------------------------------------------------------


@pytest.mark.parametrize("capture", ["captures/crafted/rst-out-of-window.pcap",
                                     "captures/linux/ipv6-bulk-loss.pcap"])
def test_the_show_command_run_as_given_draws_the_findings_frame_marked(capture):
    finding = analyze(capture)["findings"][0]
    assert finding["show_command"] == f"tcpcheck show {capture} --frame {finding['frame']}"
    ladder = shell(finding["show_command"], ROOT)
    assert ladder.startswith(f"{capture}\n")
    assert marked_frames(ladder) == [finding["frame"]]


@needs_tshark
def test_paths_with_spaces_and_a_leading_dash_are_quoted_for_the_shell(tmp_path):
    (tmp_path / "my captures").mkdir()
    for name in ("my captures/it's a capture.pcap", "-dash.pcap"):
        shutil.copy(ROOT / "captures/crafted/rst-out-of-window.pcap", tmp_path / name)
    report = analyze("my captures/it's a capture.pcap", "--", "-dash.pcap", cwd=tmp_path)
    first, second = report["findings"]
    assert first["show_command"] == "tcpcheck show 'my captures/it'\"'\"'s a capture.pcap' " \
                                    "--frame 7"
    assert second["input"] == "-dash.pcap"
    assert second["show_command"] == "tcpcheck show ./-dash.pcap --frame 7"
    for name in ("my captures/it's a capture.pcap", "-dash.pcap"):
        look, show = next_step_lines(terminal("--", name, cwd=tmp_path))
        assert tshark_frames(look, tmp_path) == [7]
        assert marked_frames(shell(show, tmp_path)) == [7]


def test_a_path_that_starts_with_a_dash_is_not_taken_for_an_option():
    assert show_command("-x.pcap", 3) == "tcpcheck show ./-x.pcap --frame 3"
    assert show_command("/tmp/-x.pcap", 3) == "tcpcheck show /tmp/-x.pcap --frame 3"


def test_each_finding_of_a_multi_file_run_names_its_own_capture_as_given():
    report = analyze("captures/crafted/rst-out-of-window.pcap",
                     "captures/linux/reply-rst-in-window.pcap")
    commands = {f["input"]: f["show_command"] for f in report["findings"]}
    assert commands == {
        "captures/crafted/rst-out-of-window.pcap":
            "tcpcheck show captures/crafted/rst-out-of-window.pcap --frame 7",
        "captures/linux/reply-rst-in-window.pcap":
            "tcpcheck show captures/linux/reply-rst-in-window.pcap --frame 9",
    }


# -- no file to show -------------------------------------------------------------------------


def test_a_capture_read_from_standard_input_gets_the_filter_and_no_commands():
    data = (ROOT / "captures/crafted/rst-out-of-window.pcap").read_bytes()
    [finding] = analyze("/dev/stdin", stdin=data)["findings"]
    assert finding["show_command"] is None
    assert finding["display_filter"].endswith(" && frame.number == 7")


def test_the_terminal_report_says_why_a_capture_from_standard_input_has_no_show_command():
    data = (ROOT / "captures/crafted/rst-out-of-window.pcap").read_bytes()
    text = subprocess.run([*TCPCHECK, "analyze", "/dev/stdin"], cwd=ROOT, input=data,
                          capture_output=True).stdout.decode()
    lines = [line.strip() for line in text.splitlines()]
    assert "show: none, the capture came from standard input (save it to a file to look " \
           "again)" in lines
    assert any(line.startswith("filter: ip.addr == 192.0.2.10 && ") for line in lines)
    assert not any(line.startswith(("look: ", "show: tcpcheck")) for line in lines)


@pytest.mark.parametrize("path", ["-", "/dev/stdin", "/dev/fd/63", "/proc/self/fd/0",
                                  "live:eth0"])
def test_inputs_read_only_once_have_no_commands(path):
    step = NextSteps([]).of(_finding(path))
    assert (step.show, step.tshark) == (None, None)
    assert step.unavailable.startswith("none, ")
    assert step.display_filter == "frame.number == 5"


@pytest.mark.parametrize("path", ["captures/x.pcap", "/srv/pcaps/x.pcap", "-x.pcap",
                                  "live.pcap", "/dev/fd.pcap"])
def test_files_can_be_read_again(path):
    assert unreadable(path) == ""


def test_a_finding_of_a_listed_connection_gets_its_four_tuple():
    conn = ConnectionSummary(id=2, client="[2001:db8::1]:40000", server="[2001:db8::2]:443",
                             first_frame=1, last_frame=9, start=0, end=1, packets=9,
                             client_bytes=0, server_bytes=0, client_state="CLOSED",
                             server_state="CLOSED", close="fin", midstream=False,
                             input="a.pcap")
    step = NextSteps([conn]).of(_finding("a.pcap", connection=2))
    assert step.display_filter == ("ipv6.addr == 2001:db8::1 && tcp.port == 40000 && "
                                   "ipv6.addr == 2001:db8::2 && tcp.port == 443 && "
                                   "frame.number == 5")
    assert frame_filter("", 5) == "frame.number == 5"


def _finding(path: str, connection: int = 0) -> Finding:
    return Finding(rule="rst-out-of-window", code="RS002", severity=Severity.ERROR,
                   connection=connection, frame=5, time=0.0, message="m", expected="e",
                   observed="o", reference="RFC 9293", input=path)
