"""``--jobs N``: a capture split among processes by connection reports exactly what one
process reports, byte for byte, in every format."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tcpcheck.cli import main
from tcpcheck.engine import RuleSetup, combine
from tcpcheck.fold import DEFAULT_MAX_CONNECTIONS
from tcpcheck.merge import merge
from tcpcheck.pipeline import Job, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.result import AnalysisResult
from tcpcheck.shards import ShardTask, run_shard
from tcpcheck.sources import CaptureError
from tcpcheck.timeline import Recording

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = sorted((ROOT / "captures").rglob("*.pcap*"))
SHARED = ROOT.parent / "shared"
SHARED_CAPTURES = sorted(path for path in [*(SHARED / "wild" / "dev").glob("*"),
                                            *(SHARED / "oracle" / "dev").glob("*")]
                         if path.suffix != ".json")
LINUX = ROOT / "captures" / "linux"
FORMATS = ("json", "sarif", "html", "csv")


def sharded(path: Path, count: int, *, recording: Recording | None = None,
            max_connections: int | None = DEFAULT_MAX_CONNECTIONS) -> AnalysisResult:
    """The result of ``count`` shards merged, each run here in turn (as a worker runs it),
    with the capture analysed again whole when the merge says so."""
    job = Job(str(path), load_profile("linux"), RuleSetup())
    parts = [run_shard(ShardTask(job, index, count, recording, max_connections))
             for index in range(count)]
    run = merge(parts) or merge([run_shard(ShardTask(job, 0, 1, recording, max_connections))])
    return combine([run])


def whole(path: Path, *, recording: Recording | None = None,
          max_connections: int | None = DEFAULT_MAX_CONNECTIONS) -> AnalysisResult:
    return analyze_jobs([Job(str(path), load_profile("linux"), RuleSetup())], recording,
                        max_connections)


def outcome(analysis: Callable[..., AnalysisResult], *args: object) -> AnalysisResult | str:
    """The result, or the one line that says why the capture cannot be read."""
    try:
        return analysis(*args)
    except CaptureError as exc:
        return str(exc)


def reports(tmp_path: Path, name: str, *args: str) -> dict[str, bytes]:
    """Every report of ``FORMATS`` for one ``tcpcheck analyze`` run."""
    out = tmp_path / name
    out.mkdir()
    formats = [arg for fmt in FORMATS for arg in ("--format", f"{fmt}:{out / fmt}")]
    result = CliRunner().invoke(main, ["analyze", *args, *formats])
    assert result.exit_code in (0, 1), result.output
    return {fmt: (out / fmt).read_bytes() for fmt in FORMATS}


@pytest.mark.parametrize("count", [2, 3])
def test_jobs_two_and_three_give_the_result_of_one_on_every_bundled_capture(count):
    for path in BUNDLED:
        assert sharded(path, count) == whole(path), path.name


@pytest.mark.skipif(not SHARED_CAPTURES, reason="../shared/wild/dev and oracle/dev not present")
@pytest.mark.parametrize("count", [2, 3])
def test_jobs_two_and_three_give_the_result_of_one_on_wild_and_oracle_captures(count):
    for path in SHARED_CAPTURES:
        assert outcome(sharded, path, count) == outcome(whole, path), path.name


@pytest.mark.parametrize("name", ["bulk-loss", "ipv6-bulk-loss", "syn-flood", "ci-run-1"])
def test_jobs_two_writes_the_same_json_sarif_html_and_csv_bytes_as_jobs_one(tmp_path, name):
    path = str(LINUX / f"{name}.pcap")
    one = reports(tmp_path, "one", path, "--jobs", "1")
    assert reports(tmp_path, "two", path, "--jobs", "2") == one
    assert reports(tmp_path, "three", path, "--jobs", "3") == one


def test_several_captures_spread_over_processes_give_the_same_report(tmp_path):
    paths = [str(path) for path in sorted(LINUX.glob("*.pcap"))[:6]]
    assert reports(tmp_path, "two", *paths, "--jobs", "2") == reports(
        tmp_path, "one", *paths, "--jobs", "1")


def test_a_capture_split_in_fewer_shards_than_processes_is_spread_and_split(tmp_path):
    paths = [str(LINUX / "bulk-loss.pcap"), str(LINUX / "ipv6-bulk-loss.pcap")]
    assert reports(tmp_path, "four", *paths, "--jobs", "4") == reports(
        tmp_path, "one", *paths, "--jobs", "1")


@pytest.mark.parametrize("cap", [0, 1, 5])
def test_the_lowest_ids_are_listed_over_the_whole_capture_whichever_shard_has_them(cap):
    path = LINUX / "syn-flood.pcap"
    expected = whole(path, max_connections=cap)
    assert expected.captures[0].folded is not None
    assert sharded(path, 3, max_connections=cap) == expected


def test_a_flood_split_among_shards_is_one_syn_flood_finding_as_in_one_process():
    path = LINUX / "syn-flood.pcap"
    expected = whole(path, max_connections=None)
    assert any(f.rule == "syn-flood" for f in expected.findings)
    assert sharded(path, 3, max_connections=None) == expected


def test_recorded_timelines_are_those_of_one_process():
    path = LINUX / "bulk-loss.pcap"
    recording = Recording(all=True)
    expected = whole(path, recording=recording)
    got = sharded(path, 2, recording=recording)
    assert [(t.connection, list(t.steps)) for t in got.timelines] == [
        (t.connection, list(t.steps)) for t in expected.timelines]
    assert got.findings == expected.findings


def test_connections_tied_by_a_host_isn_make_the_merge_ask_for_one_process():
    path = ROOT / "captures" / "crafted" / "isn-weak.pcap"
    job = Job(str(path), load_profile("linux"), RuleSetup())
    parts = [run_shard(ShardTask(job, index, 2)) for index in range(2)]
    assert merge(parts) is None
    assert sharded(path, 2) == whole(path)


def test_every_record_is_counted_once_over_the_shards():
    path = ROOT / "captures" / "crafted" / "arp-between.pcap"
    job = Job(str(path), load_profile("linux"), RuleSetup())
    parts = [run_shard(ShardTask(job, index, 3)) for index in range(3)]
    assert sum(part.summary.packets for part in parts) == whole(path).captures[0].packets
    assert parts[1].summary.skipped == parts[2].summary.skipped == {}


def test_a_filter_applies_in_every_process(tmp_path):
    path = str(LINUX / "bulk-loss.pcap")
    args = [path, "--filter", "tcp port 5201"]
    assert reports(tmp_path, "two", *args, "--jobs", "2") == reports(
        tmp_path, "one", *args, "--jobs", "1")


def test_a_capture_on_standard_input_is_analysed_in_this_process():
    def analyze(jobs: str) -> subprocess.CompletedProcess[bytes]:
        with (LINUX / "bulk-loss.pcap").open("rb") as capture:
            return subprocess.run([sys.executable, "-m", "tcpcheck", "analyze", "-",
                                   "--format", "json", "--jobs", jobs],
                                  stdin=capture, capture_output=True, check=False)
    one, two = analyze("1"), analyze("2")
    assert two.returncode == one.returncode
    assert two.stdout == one.stdout


def test_a_file_that_is_not_a_capture_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "notes.pcap"
    bad.write_text("not a capture\n")
    good = str(LINUX / "bulk-loss.pcap")
    result = CliRunner().invoke(main, ["analyze", good, str(bad), "--jobs", "2"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "notes.pcap" in result.output and "Traceback" not in result.output


def test_jobs_must_be_a_positive_count():
    result = CliRunner().invoke(main, ["analyze", str(LINUX / "bulk-loss.pcap"), "--jobs", "0"])
    assert result.exit_code == 2


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: the default is one process")
def test_the_default_jobs_give_the_report_of_one_process(tmp_path):
    path = str(LINUX / "bulk-loss.pcap")
    assert reports(tmp_path, "default", path) == reports(tmp_path, "one", path, "--jobs", "1")


def test_make_bench_times_one_process_and_one_per_core():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import run_bench
    finally:
        sys.path.remove(str(ROOT / "bench"))
    commands = dict(run_bench.commands(Path("x.pcap"), skip_tshark=True))
    assert commands["tcpcheck"][-2:] == ["--jobs", "1"]
    cores = os.cpu_count() or 1
    if cores > 1:
        assert commands[f"tcpcheck --jobs {cores}"][-2:] == ["--jobs", str(cores)]


@pytest.mark.skipif(shutil.which("editcap") is None, reason="editcap is not installed")
def test_a_stitched_set_gives_the_same_reports_with_jobs_two(tmp_path):
    parts = tmp_path / "parts"
    parts.mkdir()
    subprocess.run(["editcap", "-F", "pcap", "-c", "300", str(LINUX / "bulk-loss.pcap"),
                    str(parts / "cut.pcap")], check=True)
    args = ["--stitch", *sorted(str(path) for path in parts.iterdir())]
    assert reports(tmp_path, "two", *args, "--jobs", "2") == reports(
        tmp_path, "one", *args, "--jobs", "1")


def test_the_first_shard_tells_the_progress_hook_how_far_the_file_is_read():
    path = LINUX / "bulk-loss.pcap"
    told: list[tuple[str, int, int | None]] = []
    job = Job(str(path), load_profile("linux"), RuleSetup())
    run_shard(ShardTask(job, 0, 2), lambda name, done, total, records: told.append(
        (name, done, total)))
    assert told[-1] == (str(path), path.stat().st_size, path.stat().st_size)
