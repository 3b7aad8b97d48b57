"""`--filter EXPR` as a user runs it: analyze and show keep what tcpdump keeps, one line and
exit 2 for an expression libpcap refuses or a libpcap that is missing."""

from __future__ import annotations

import ctypes.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import formats as F
import pytest
from pcap_edit import records

ROOT = Path(__file__).resolve().parent.parent
CI_RUN = ROOT / "captures" / "linux" / "ci-run-1.pcap"  # six connections to ports 8080, 8081
ENV = {"PATH": "/usr/bin:/bin", "NO_COLOR": "1"}


def tcpcheck(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tcpcheck", *map(str, args)],
                          capture_output=True, text=True, timeout=120, env=ENV)


def test_analyze_reports_only_the_connections_the_filter_keeps_with_the_files_frame_numbers():
    proc = tcpcheck("analyze", "--format", "json", "--filter", "port 8081", CI_RUN)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["summary"]["packets"] == 2  # tcpdump -r ci-run-1.pcap port 8081: frames 31, 32
    (conn,) = doc["connections"]
    assert (conn["server"], conn["first_frame"], conn["last_frame"]) == \
        ("192.0.2.2:8081", 31, 32)
    assert {f["frame"] for f in doc["findings"]} <= {31, 32}


def test_analyze_without_filter_reads_every_connection():
    """The counterpart of the test above: the file has more than the filter keeps."""
    doc = json.loads(tcpcheck("analyze", "--format", "json", CI_RUN).stdout)
    assert len(doc["connections"]) == 6 and doc["summary"]["packets"] == 56


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_a_bad_expression_is_one_line_naming_libpcaps_error_and_exit_2():
    line = one_error_line(tcpcheck("analyze", "--filter", "port 8000 and", CI_RUN))
    assert line == ("tcpcheck: error: invalid filter 'port 8000 and': can't parse filter "
                    "expression: syntax error")


def test_a_bad_expression_is_refused_before_any_capture_is_read(tmp_path):
    """A missing file comes after the filter: the expression is checked first."""
    line = one_error_line(tcpcheck("analyze", "--filter", "portt 80", tmp_path / "none.pcap"))
    assert line.startswith("tcpcheck: error: invalid filter 'portt 80': ")


def test_an_expression_the_captures_link_type_cannot_answer_is_one_line_and_exit_2(tmp_path):
    raw = tmp_path / "raw.pcap"  # ci-run-1's packets as raw IP: no Ethernet header, no VLAN
    _, recs = records(CI_RUN)
    raw.write_bytes(F.pcap([(int.from_bytes(rec[:4], "little") * 1_000_000_000
                             + int.from_bytes(rec[4:8], "little") * 1000, frame[14:])
                            for rec, frame in recs], linktype=101))
    line = one_error_line(tcpcheck("analyze", "--filter", "vlan", raw))
    assert line == (f"tcpcheck: error: {raw}: filter 'vlan' does not apply to link type 101 "
                    "(RAW): no VLAN support for Raw IP")


def test_show_draws_the_connection_of_a_kept_frame():
    drawn = tcpcheck("show", CI_RUN, "--frame", "31", "--filter", "port 8081")
    assert drawn.returncode == 0, drawn.stderr
    assert "192.0.2.2:8081" in drawn.stdout


@pytest.mark.parametrize(("where", "says"), [
    (("--frame", "1"), "frame 1 is not kept by --filter 'port 8081'"),
    (("--frame", "57"), "frame 57: the capture has fewer than 57 frames"),
    (("--connection", "1"), "no connection 1: what --filter 'port 8081' keeps has connection 0"),
])
def test_show_says_what_the_filter_left_out(where, says):
    line = one_error_line(tcpcheck("show", CI_RUN, *where, "--filter", "port 8081"))
    assert line == f"tcpcheck: error: {CI_RUN}: {says}"


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("dumpcap") is None,
                    reason="a live capture needs root and dumpcap")
def test_show_on_standard_input_says_the_frame_is_in_no_connection_the_filter_keeps():
    """Standard input cannot be read again to tell a dropped frame from a non-TCP one."""
    proc = subprocess.run([sys.executable, "-m", "tcpcheck", "show", "-", "--frame", "1",
                           "--filter", "port 8081"], stdin=CI_RUN.open("rb"),
                          capture_output=True, text=True, timeout=120, env=ENV)
    line = one_error_line(proc)
    assert line == ("tcpcheck: error: -: frame 1 is in no connection --filter 'port 8081' "
                    "keeps")


def test_sniff_takes_filter_as_another_name_for_its_capture_filter():
    """Live, the expression goes to dumpcap, which compiles it with libpcap for the kernel
    (--bpf): a bad one is dumpcap's one line, as for --bpf."""
    line = one_error_line(tcpcheck("sniff", "-i", "lo", "--filter", "port 80 and",
                                   "--count", "1", "--duration", "5"))
    assert line.startswith("tcpcheck: error: invalid capture filter 'port 80 and': ")


def _libpcap_file() -> Path | None:
    name = ctypes.util.find_library("pcap")
    folders = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/lib")
    return next((Path(f) / name for f in folders if name and (Path(f) / name).exists()), None)


LIBPCAP = _libpcap_file()


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None or LIBPCAP is None,
                    reason="hiding libpcap needs root and unshare (a private mount namespace)")
def test_without_libpcap_filter_says_what_to_install_and_analyze_still_works():
    """libpcap hidden (an empty file bind-mounted over it, in a mount namespace of this test
    only): --filter is one line and exit 2; without --filter nothing needs libpcap."""

    def hidden(*args: str | Path) -> subprocess.CompletedProcess[str]:
        script = 'mount --bind /dev/null "$1" && shift && exec "$@"'
        return subprocess.run(["unshare", "--mount", "sh", "-c", script, "sh", str(LIBPCAP),
                               sys.executable, "-m", "tcpcheck", *map(str, args)],
                              capture_output=True, text=True, timeout=120, env=ENV)

    line = one_error_line(hidden("analyze", "--filter", "port 8081", CI_RUN))
    assert line.startswith("tcpcheck: error: --filter needs libpcap, which cannot be loaded (")
    assert line.endswith("file too short): apt-get install libpcap0.8 (it comes with tcpdump)")
    assert hidden("analyze", CI_RUN).returncode == 0
