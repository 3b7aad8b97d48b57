"""`tcpcheck analyze --stitch` reads a rotated capture set as the one capture it was cut from.

Every set here is cut from a bundled real capture by Wireshark's own editcap (by packet count
as `editcap -c` does, by time as `tcpdump -G` does), so the whole file is the reference: the
same connections, the same findings, only named by the file and frame number of the part
that holds them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tcpcheck.pipeline import Job, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.report.ladder import FileChange, build_ladder
from tcpcheck.report.seqgraph import sequence_graphs
from tcpcheck.sources import CaptureSet, open_capture
from tcpcheck.timeline import Recording

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
    return tcpcheck("analyze", *args, cwd=cwd)


def tcpcheck(*args: str | Path, cwd: Path = ROOT,
             columns: int = 80) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tcpcheck", *map(str, args)],
                          capture_output=True, text=True, timeout=GUARD,
                          env={**ENV, "COLUMNS": str(columns)}, cwd=cwd)


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


FRAME_REF = re.compile(
    r"(?P<lead>frames? |(?<=\d) and )(?P<number>\d+)(?: of (?P<file>\S+?\.pcap))?")
"""A frame a finding's text names: ``frame 3``, ``frame 3 of dump-02.pcap`` (another file of
the set), and the second of ``frames 3 and 5``."""


def frame_refs(finding: dict[str, Any]) -> list[tuple[str, int]]:
    """``(file, frame of that file)`` of every frame the finding's texts name."""
    return [(ref["file"] or finding["input"], int(ref["number"]))
            for field in ("message", "expected", "observed")
            for ref in FRAME_REF.finditer(finding[field])]


def as_whole(text: str, own: str, mapped: dict[str, int]) -> str:
    """``text`` with the frames it names numbered as in the whole capture (``own``: the
    file of the finding it is from)."""
    return FRAME_REF.sub(lambda ref: ref["lead"] + str(
        mapped[ref["file"] or own] + int(ref["number"])), text) if mapped else text


def whole_findings(doc: dict[str, Any], mapped: dict[str, int] | None = None) -> list[tuple]:
    """The findings as frames of the whole capture: set frames mapped back with ``mapped``,
    in the findings' places and in their texts."""
    mapped = mapped or {}
    return sorted((f["connection"], mapped.get(f["input"], 0) + f["frame"], f["rule"],
                   *(as_whole(f[field], f["input"], mapped)
                     for field in ("message", "expected", "observed")),
                   f["position"], f["fingerprint"]) for f in doc["findings"])


def frames_of(path: str | Path) -> list[bytes]:
    with open_capture(str(path)) as capture:
        return [data for _, _, _, data in capture.records()]


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


@pytest.mark.parametrize(("name", "records"), [
    ("bulk-loss.pcap", 50), ("ipv6-bulk-loss.pcap", 100), ("bulk-heavy-loss.pcap", 100),
    ("no-wscale.pcap", 100)])
def test_every_frame_a_findings_text_names_is_that_frame_of_the_file_it_names(
        tmp_path, name, records):
    parts = split(REAL / name, tmp_path / "parts", "-c", str(records))
    stitched = report("--stitch", *parts)
    whole = frames_of(REAL / name)
    files = {str(part): frames_of(part) for part in parts}
    mapped = offsets(stitched)
    named = [(f, ref) for f in stitched["findings"] for ref in frame_refs(f)]
    assert any(path != f["input"] for f, (path, _) in named), "no text names another file"
    for finding, (path, frame) in named:
        assert files[path][frame - 1] == whole[mapped[path] + frame - 1], (finding, path)


def test_a_findings_text_names_frames_of_its_own_file_by_number_alone(tmp_path):
    parts = split(REAL / "bulk-heavy-loss.pcap", tmp_path / "parts", "-c", "100")
    stitched = report("--stitch", *parts)
    refs = [(f["input"], ref["file"]) for f in stitched["findings"]
            for ref in FRAME_REF.finditer(f["message"])]
    assert any(named is None and own != str(parts[0]) for own, named in refs)
    assert not [(own, named) for own, named in refs if named == own]


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


def test_a_ladder_numbers_every_segment_by_its_own_files_frame_and_shows_every_finding(
        tmp_path):
    parts = split(REAL / "bulk-loss.pcap", tmp_path / "parts", "-c", "200")
    job = Job(str(parts[0]), load_profile("linux"), stitch=CaptureSet(tuple(map(str, parts))))
    result = analyze_jobs([job], Recording(all=True))
    (timeline,) = result.timelines
    ladder = build_ladder(timeline, result.findings, full=True)
    whole = frames_of(REAL / "bulk-loss.pcap")
    files = {str(part): frames_of(part) for part in parts}
    starts = {c.input: sum(x.packets for x in result.captures[:i])
              for i, c in enumerate(result.captures)}
    assert [item.path for item in ladder.items if isinstance(item, FileChange)] == [
        str(part) for part in parts[1:]]
    current = str(parts[0])
    for item in ladder.items:
        if isinstance(item, FileChange):
            current = item.path
            continue
        path, frame = timeline.locate(item.step.frame)
        assert path == current and ladder.label(item.step.frame) == str(frame)
        assert files[path][frame - 1] == whole[starts[path] + frame - 1]
    drawn = {id(f) for row in ladder.rows for f in row.findings}
    assert len(drawn) == len(result.findings)
    assert {f.input for f in result.findings} > {str(parts[0])}


def test_the_sequence_graphs_mark_the_findings_of_every_file_as_the_whole_captures_do(
        tmp_path):
    parts = split(REAL / "bulk-loss.pcap", tmp_path / "parts", "-c", "200")
    profile = load_profile("linux")
    job = Job(str(parts[0]), profile, stitch=CaptureSet(tuple(map(str, parts))))
    stitched = analyze_jobs([job], Recording(all=True))
    whole = analyze_jobs([Job(str(REAL / "bulk-loss.pcap"), profile)], Recording(all=True))

    def marks(result):
        (timeline,) = result.timelines
        return [[(m.time, m.value, m.frame, m.code) for m in graph.marks]
                for graph in sequence_graphs(timeline, result.findings)]
    assert marks(stitched) == marks(whole)


def test_show_with_stitch_draws_the_connection_across_its_files(tmp_path):
    parts = split(REAL / "bulk-loss.pcap", tmp_path / "parts", "-c", "200")
    proc = tcpcheck("show", "--stitch", *parts, "--connection", "0", "--no-color",
                    columns=200)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == str(parts[0])
    dividers = [line.strip(" ═") for line in lines if "═" in line]
    assert dividers == [str(part) for part in parts[1:]]
    assert "end of capture" in proc.stdout
    for code in {f["code"] for f in report("--stitch", *parts)["findings"]}:
        assert code in proc.stdout


def test_show_takes_one_file_unless_stitched_and_no_frame_of_a_set(tmp_path):
    parts = split(REAL / "ci-run-1.pcap", tmp_path / "parts", "-c", "10")
    apart = tcpcheck("show", *parts, "--connection", "0")
    assert apart.returncode == 2 and "--stitch" in apart.stderr
    framed = tcpcheck("show", "--stitch", *parts, "--frame", "3")
    assert framed.returncode == 2 and "--connection N" in framed.stderr


def test_the_show_command_of_a_finding_in_a_later_file_runs_and_draws_its_connection(
        tmp_path):
    parts = split(REAL / "bulk-loss.pcap", tmp_path / "parts", "-c", "200")
    stitched = report("--stitch", *parts)
    finding = next(f for f in stitched["findings"] if f["input"] != str(parts[0]))
    command = finding["show_command"].split()
    assert command[:2] == ["tcpcheck", "show"]
    proc = tcpcheck(*command[1:], "--no-color")
    assert proc.returncode == 0, proc.stderr
    (row,) = stitched["connections"]
    assert f"client {row['client']} → server {row['server']}" in proc.stdout
