"""`tcpcheck analyze --stitch` reads a rotated capture set as the one capture it was cut from.

Every set here is cut from a bundled real capture by Wireshark's own editcap (by packet count
as `editcap -c` does, by time as `tcpdump -G` does), so the whole file is the reference: the
same connections, the same findings, only named by the file and frame number of the part
that holds them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tcpcheck.sources import open_capture

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "captures" / "linux"
ENV = {"PATH": "/usr/bin:/bin", "NO_COLOR": "1"}
ETHERNET = 1
GUARD = 120
"""Seconds after which a hung run fails the test (a guard, not an assertion on time)."""

pytestmark = pytest.mark.skipif(shutil.which("editcap") is None,
                                reason="editcap (Wireshark's, from `make system-deps`) is not "
                                       "installed")

SPLIT = {"bulk-loss.pcap": 200, "syn-flood.pcap": 37, "ci-run-1.pcap": 10,
         "rto-backoff.pcap": 50, "zero-window.pcap": 64, "ipv6-bulk-loss.pcap": 333}
"""Bundled captures and the records per part they are cut into: one connection crossing
every cut, a flood of handshakes, several short connections, timers, windows, IPv6."""


def analyze(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tcpcheck", "analyze", *map(str, args)],
                          capture_output=True, text=True, timeout=GUARD, env=ENV, cwd=cwd)


def report(*args: str | Path) -> dict[str, Any]:
    proc = analyze(*args, "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def split(capture: Path, folder: Path, *editcap: str) -> list[Path]:
    """``capture`` cut by editcap into ``folder`` (pcap unless ``editcap`` says otherwise)."""
    folder.mkdir(exist_ok=True)
    subprocess.run(["editcap", "-F", "pcap", *editcap, str(capture),
                    str(folder / "part.pcap")], check=True, capture_output=True)
    return sorted(folder.iterdir())


def offsets(doc: dict[str, Any]) -> dict[str, int]:
    """Each file of a stitched report: how many frames of the set come before it."""
    out, before = {}, 0
    for capture in doc["summary"]["captures"]:
        out[capture["input"]] = before
        before += capture["packets"]
    return out


def whole_findings(doc: dict[str, Any], mapped: dict[str, int] | None = None) -> list[tuple]:
    """The findings as frames of the whole capture: set frames mapped back with ``mapped``."""
    return sorted((f["connection"], (mapped or {}).get(f["input"], 0) + f["frame"], f["rule"],
                   f["message"], f["position"], f["fingerprint"]) for f in doc["findings"])


def whole_connections(doc: dict[str, Any], mapped: dict[str, int] | None = None) -> list[tuple]:
    out = []
    for c in doc["connections"]:
        before = (mapped or {}).get(c["input"], 0)
        out.append((c["id"], c["client"], c["server"], before + c["first_frame"],
                    before + c["last_frame"], c["packets"], c["client_bytes"],
                    c["server_bytes"], c["client_state"], c["server_state"], c["close"],
                    c["midstream"]))
    return sorted(out)


@pytest.mark.parametrize("name", sorted(SPLIT))
def test_a_capture_cut_by_editcap_gives_the_whole_captures_connections_and_findings(
        tmp_path, name):
    parts = split(REAL / name, tmp_path / "parts", "-c", str(SPLIT[name]))
    assert len(parts) > 1
    whole = report(REAL / name)
    stitched = report("--stitch", *parts)
    mapped = offsets(stitched)
    assert list(mapped) == [str(p) for p in parts]
    assert whole_connections(stitched, mapped) == whole_connections(whole)
    assert whole_findings(stitched, mapped) == whole_findings(whole)
    assert stitched["summary"]["packets"] == whole["summary"]["packets"]


def test_no_connection_is_picked_up_mid_stream_or_cut_off_at_a_cut(tmp_path):
    parts = split(REAL / "bulk-loss.pcap", tmp_path / "parts", "-c", "100")
    stitched = report("--stitch", *parts)
    apart = report(*parts)
    edges = {"capture-started-midstream", "capture-ended-midstream"}
    assert {f["rule"] for f in apart["findings"]} & edges
    assert not {f["rule"] for f in stitched["findings"]} & edges
    assert [c["midstream"] for c in stitched["connections"]] == [False]


def test_each_finding_names_its_own_file_and_frame_and_its_next_step_goes_there(tmp_path):
    parts = split(REAL / "bulk-loss.pcap", tmp_path / "parts", "-c", "200")
    stitched = report("--stitch", *parts)
    (row,) = stitched["connections"]
    assert row["input"] == str(parts[0])
    later = [f for f in stitched["findings"] if f["input"] != str(parts[0])]
    assert later
    for finding in later:
        assert finding["connection_input"] == str(parts[0])
        assert finding["show_command"] == (f"tcpcheck show {finding['input']} "
                                           f"--frame {finding['frame']}")
        assert finding["display_filter"].startswith("ip.addr == 192.0.2.1 && tcp.port == ")
        assert finding["display_filter"].endswith(f"frame.number == {finding['frame']}")


def test_the_files_are_read_in_the_order_of_their_first_timestamps_whatever_their_names(
        tmp_path):
    parts = split(REAL / "ci-run-1.pcap", tmp_path / "parts", "-c", "10")
    renamed = [part.rename(part.with_name(f"{len(parts) - i:02}.pcap"))
               for i, part in enumerate(parts)]
    stitched = report("--stitch", tmp_path / "parts")
    assert list(offsets(stitched)) == [str(p) for p in renamed]
    assert whole_findings(stitched, offsets(stitched)) == whole_findings(
        report(REAL / "ci-run-1.pcap"))


def test_a_time_rotated_set_like_tcpdump_G_makes_is_one_capture(tmp_path):
    parts = split(REAL / "rto-backoff.pcap", tmp_path / "parts", "-i", "1")
    assert len(parts) > 1
    stitched = report("--stitch", *parts)
    whole = report(REAL / "rto-backoff.pcap")
    assert whole_findings(stitched, offsets(stitched)) == whole_findings(whole)


def test_pcap_and_pcapng_parts_mix(tmp_path):
    parts = split(REAL / "bulk-loss.pcap", tmp_path / "parts", "-c", "400")
    subprocess.run(["editcap", "-F", "pcapng", str(parts[1]), str(tmp_path / "ng")],
                   check=True)
    parts[1].unlink()
    shutil.move(tmp_path / "ng", parts[1])
    stitched = report("--stitch", *parts)
    assert [c["format"] for c in stitched["summary"]["captures"]] == [
        "pcap", "pcapng", "pcap", "pcap"]
    assert whole_findings(stitched, offsets(stitched)) == whole_findings(
        report(REAL / "bulk-loss.pcap"))


def test_a_damaged_file_in_the_middle_is_read_up_to_its_damage_and_the_next_file_continues(
        tmp_path):
    parts = split(REAL / "bulk-loss.pcap", tmp_path / "parts", "-c", "400")
    data = parts[1].read_bytes()
    parts[1].write_bytes(data[:len(data) // 2])
    stitched = report("--stitch", *parts)
    captures = stitched["summary"]["captures"]
    assert captures[1]["damage"].startswith("file truncated in record")
    assert captures[0]["damage"] is None and captures[2]["damage"] is None
    assert [c["packets"] for c in captures][2:] == [400, 112]
    assert len(stitched["connections"]) == 1


def test_the_same_capture_twice_overlaps_itself_and_is_refused(tmp_path):
    copy = tmp_path / "copy.pcap"
    shutil.copy(REAL / "bulk-loss.pcap", copy)
    proc = analyze("--stitch", REAL / "bulk-loss.pcap", copy)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert "not one rotated capture" in proc.stderr and proc.stdout == ""


def test_a_folder_with_files_that_are_not_captures_says_so_in_one_line(tmp_path):
    parts = split(REAL / "ci-run-1.pcap", tmp_path / "parts", "-c", "10")
    (tmp_path / "parts" / "notes.txt").write_text("ring buffer of the CI runner\n")
    proc = analyze("--stitch", tmp_path / "parts", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == (f"tcpcheck: --stitch: left out 1 file that is not a capture: "
                           f"{tmp_path / 'parts' / 'notes.txt'}\n")
    assert len(json.loads(proc.stdout)["summary"]["captures"]) == len(parts)


def test_one_file_with_stitch_gives_the_same_report_as_without():
    plain = analyze(REAL / "bulk-loss.pcap", "--format", "json")
    stitched = analyze("--stitch", REAL / "bulk-loss.pcap", "--format", "json")
    assert stitched.stdout == plain.stdout
    assert stitched.returncode == plain.returncode


def test_standard_input_is_no_file_of_a_set(tmp_path):
    proc = analyze("--stitch", REAL / "bulk-loss.pcap", "-")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "standard input" in proc.stderr


def test_parts_of_different_link_types_mix(tmp_path):
    parts = split(REAL / "bulk-loss.pcap", tmp_path / "parts", "-c", "500")
    # The middle part as raw IP: its Ethernet headers cut off, its link type changed.
    subprocess.run(["editcap", "-C", "14", "-T", "rawip", str(parts[1]), str(tmp_path / "ip")],
                   check=True)
    shutil.move(tmp_path / "ip", parts[1])
    with open_capture(str(parts[1])) as raw:
        assert ETHERNET not in raw.link_types
    stitched = report("--stitch", *parts)
    whole = report(REAL / "bulk-loss.pcap")
    assert whole_findings(stitched, offsets(stitched)) == whole_findings(whole)
    assert whole_connections(stitched, offsets(stitched)) == whole_connections(whole)
