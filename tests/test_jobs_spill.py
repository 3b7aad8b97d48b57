"""``--jobs`` with findings and rows written out (``tcpcheck.spill``): the shards hand what
they wrote out to the merge in files (``tcpcheck.handoff``), and the reports are still those
of one process holding everything in memory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tcpcheck.engine import RuleSetup, combine
from tcpcheck.handoff import Handoff, discard
from tcpcheck.merge import merge
from tcpcheck.parallel import analyze_in_processes
from tcpcheck.pipeline import Job, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.result import AnalysisResult
from tcpcheck.shards import ShardTask, run_shard
from tcpcheck.spill import SpillLimits, on_disk

ROOT = Path(__file__).resolve().parent.parent
LINUX = sorted((ROOT / "captures" / "linux").glob("*.pcap"))
FEW = SpillLimits(findings=3, connections=3)


def job(path: Path) -> Job:
    return Job(str(path), load_profile("linux"), RuleSetup())


def in_memory(path: Path, max_connections: int | None = None) -> AnalysisResult:
    return analyze_jobs([job(path)], None, max_connections, spill_after=None)


def handed_over(path: Path, count: int, max_connections: int | None = None) -> AnalysisResult:
    """``count`` shards run here in turn with FEW kept in memory, handing the rest over in
    files, merged (or the capture analysed whole the same way when the merge says so)."""
    parts = [run_shard(ShardTask(job(path), index, count, max_connections=max_connections,
                                 spill_after=FEW, hand_off=True))
             for index in range(count)]
    run = merge(parts) or merge([run_shard(ShardTask(
        job(path), 0, 1, max_connections=max_connections, spill_after=FEW, hand_off=True))])
    return combine([run])


@pytest.fixture
def temporary(tmp_path, monkeypatch) -> Path:
    """The temporary folder of the spill and hand-off files, to see what is left in it."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("count", [1, 2, 3])
def test_spilled_shards_handed_over_in_files_give_the_result_of_one_process_in_memory(
        count, temporary):
    for path in LINUX:
        assert handed_over(path, count).in_memory() == in_memory(path), path.name
        assert not [name for name in os.listdir(temporary) if name.startswith("tcpcheck-shard")]


def test_spilled_shards_with_few_connections_listed_fold_the_rest_as_one_process(temporary):
    for path in LINUX:
        assert handed_over(path, 2, 2).in_memory() == in_memory(path, 2), path.name


def test_a_shard_hands_its_findings_over_in_a_file_only_when_it_wrote_them_out(temporary):
    path = LINUX[0]
    spilled = run_shard(ShardTask(job(path), 0, 1, spill_after=FEW, hand_off=True))
    held = run_shard(ShardTask(job(path), 0, 1, hand_off=True))
    assert isinstance(spilled.findings, Handoff) and len(spilled.findings) > 3
    assert isinstance(held.findings, tuple)
    assert list(spilled.findings) == list(held.findings)
    assert not os.path.exists(spilled.findings.path)  # read once, then removed
    discard(spilled.connections)


def test_jobs_two_in_processes_with_findings_written_out_gives_the_report_of_one(temporary):
    paths = [LINUX[0]]
    runs = analyze_in_processes([job(path) for path in paths], 2, spill_after=FEW)
    result = combine(runs)
    assert on_disk(result.findings)
    assert result.in_memory() == in_memory(paths[0])
    del result, runs
    assert not [name for name in os.listdir(temporary) if name.startswith("tcpcheck-shard")]
