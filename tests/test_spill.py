"""Findings and connections kept on disk (tcpcheck.spill) give the reports kept in memory.

A capture too big to hold has its findings and connection rows written out in sorted runs
beyond ``spill_after`` of each; here ``spill_after`` is set low so that every bundled real
capture takes that path, and every report must come out byte for byte as from memory.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from pcap_edit import with_connection_copies

from tcpcheck.artefacts import fold_artefacts
from tcpcheck.baseline import apply_baseline, baseline_entries
from tcpcheck.catalog import load_catalog
from tcpcheck.cli.run import USER_ERRORS
from tcpcheck.engine import RuleSetup
from tcpcheck.pipeline import Job, analyze_files, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.report.formats import REGISTRY, ReportSettings, Sink
from tcpcheck.report.jsondoc import render_json
from tcpcheck.report.plain import plain_console
from tcpcheck.result import AnalysisResult, Severity
from tcpcheck.sources import open_capture
from tcpcheck.spill import CHUNK, SortedSpill, SpillError, SpillLimits, on_disk
from tcpcheck.stitched import stitch_order
from tcpcheck.timeline import Recording

ROOT = Path(__file__).resolve().parent.parent
LINUX = sorted((ROOT / "captures" / "linux").glob("*.pcap"))
PROFILE = load_profile("linux")
CATALOG = load_catalog()


def spilled(paths: list[str], **options) -> AnalysisResult:
    """The analysis with at most 3 findings and 3 connections per capture kept in memory."""
    jobs = [Job(path, PROFILE, RuleSetup()) for path in paths]
    return analyze_jobs(jobs, spill_after=SpillLimits(findings=3, connections=3), **options)


def in_memory(paths: list[str], **options) -> AnalysisResult:
    jobs = [Job(path, PROFILE, RuleSetup()) for path in paths]
    return analyze_jobs(jobs, spill_after=None, **options)


def report(result: AnalysisResult, fmt: str) -> str:
    """The report of one format, as ``tcpcheck analyze`` writes it to a file."""
    out = io.StringIO()
    given = result if REGISTRY[fmt].streams else result.in_memory()
    REGISTRY[fmt].write(given, Sink(out, plain_console(out)),
                        ReportSettings(CATALOG, Severity.ERROR, "2026-12-05T00:00:00Z"))
    return out.getvalue()


@pytest.mark.parametrize("path", LINUX, ids=lambda p: p.stem)
def test_a_spilled_analysis_gives_every_report_byte_identical_on_every_bundled_capture(path):
    memory, disk = in_memory([str(path)]), spilled([str(path)])
    for fmt in REGISTRY:
        if fmt != "html":  # html: its own test, with the timelines it draws
            assert report(disk, fmt) == report(memory, fmt), fmt


def test_a_spilled_analysis_of_several_captures_gives_the_same_json_and_html():
    paths = [str(p) for p in LINUX[:12]]
    recording = Recording(all=False)
    memory = in_memory(paths, recording=recording)
    disk = spilled(paths, recording=recording)
    assert on_disk(disk.findings) and on_disk(disk.connections)
    assert render_json(disk) == render_json(memory)
    assert report(disk, "html") == report(memory, "html")


def test_spilled_connections_are_capped_and_folded_as_in_memory():
    paths = [str(p) for p in LINUX]
    memory = in_memory(paths, max_connections=2)
    disk = spilled(paths, max_connections=2)
    assert [c.folded for c in disk.captures] == [c.folded for c in memory.captures]
    assert any(c.folded is not None for c in disk.captures)
    assert render_json(disk) == render_json(memory)


def test_spilled_artefacts_fold_as_in_memory(tmp_path):
    path = str(with_connection_copies(ROOT / "captures" / "linux" / "offload.pcap",
                                      tmp_path / "three.pcap", 3))
    artefacts = CATALOG.artefacts()
    disk = fold_artefacts(spilled([path]), artefacts)
    memory = fold_artefacts(in_memory([path]), artefacts)
    assert on_disk(disk.findings) and any(f.fold is not None for f in disk.findings)
    assert render_json(disk) == render_json(memory)


def test_a_baseline_takes_the_same_findings_out_of_a_spilled_analysis(tmp_path):
    paths = [str(p) for p in LINUX[:8]]
    memory = in_memory(paths)
    accepted = baseline_entries(memory, tmp_path)[::2]
    kept_memory = apply_baseline(memory, accepted, "base.json", tmp_path)
    kept_disk = apply_baseline(spilled(paths), accepted, "base.json", tmp_path)
    assert on_disk(kept_disk.findings)
    assert kept_disk.baseline == kept_memory.baseline and kept_disk.baseline.suppressed
    assert render_json(kept_disk) == render_json(kept_memory)


def test_a_capture_under_the_limit_stays_in_memory_as_tuples():
    result = analyze_files([str(LINUX[0])], PROFILE)
    assert isinstance(result.findings, tuple) and isinstance(result.connections, tuple)


def test_the_spill_file_leaves_nothing_in_the_temporary_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = spilled([str(p) for p in LINUX[:4]])
    assert on_disk(result.findings)
    assert len(list(result.findings)) == len(result.findings)  # read while still in use
    assert os.listdir(tmp_path) == []


def test_a_sorted_spill_gives_what_sorted_gives_equal_keys_in_the_order_added():
    rng = random.Random(16)
    items = [(rng.randrange(50), n) for n in range(3 * CHUNK + 17)]
    store: SortedSpill[tuple[int, int]] = SortedSpill(key=lambda item: item[0], limit=500)
    store.extend(items)
    rows = store.rows()
    assert on_disk(rows) and len(rows) == len(items)
    assert list(rows) == list(rows) == sorted(items, key=lambda item: item[0])
    assert list(store.rows(lambda item: item[1] % 2)) == [
        item for item in sorted(items, key=lambda item: item[0]) if not item[1] % 2]


def test_a_missing_temporary_folder_is_one_clear_error(tmp_path, monkeypatch):
    missing = tmp_path / "gone"
    monkeypatch.setattr(tempfile, "tempdir", str(missing))
    with pytest.raises(SpillError, match=f"temporary file in {missing}: .*set TMPDIR"):
        spilled([str(LINUX[0])])
    assert SpillError in USER_ERRORS  # tcpcheck analyze: one line, exit status 2


@pytest.mark.skipif(shutil.which("editcap") is None,
                    reason="editcap (Wireshark's, from `make system-deps`) is not installed")
def test_a_stitched_set_beside_a_spilled_capture_gives_the_same_json_and_sarif(tmp_path):
    source = ROOT / "captures" / "linux" / "bulk-loss.pcap"
    subprocess.run(["editcap", "-F", "pcap", "-c", "400", str(source), str(tmp_path / "part")],
                   check=True)
    parts = stitch_order([str(p) for p in sorted(tmp_path.glob("part*"))], open_capture)
    other = str(LINUX[0])
    jobs = [Job(parts.paths[0], PROFILE, RuleSetup(), stitch=parts),
            Job(other, PROFILE, RuleSetup())]
    memory = analyze_jobs(jobs, spill_after=None)
    disk = analyze_jobs(jobs, spill_after=SpillLimits(findings=3, connections=3))
    assert on_disk(disk.findings)
    assert any(f.connection_input for f in disk.findings)  # a connection crosses a cut
    assert render_json(disk) == render_json(memory)
    assert report(disk, "sarif") == report(memory, "sarif")
