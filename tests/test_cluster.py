"""``--scheduler``: the shards of ``--jobs`` on a Dask cluster give the report of one process."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tcpcheck.cli import main
from tcpcheck.cluster import ClusterError, analyze_on_cluster, parse_local
from tcpcheck.engine import RuleSetup, combine
from tcpcheck.pipeline import Job, analyze_jobs
from tcpcheck.profiles import load_profile

distributed = pytest.importorskip("distributed", reason="Dask is not installed "
                                                        "(pip install 'tcpcheck[dask]')")

ROOT = Path(__file__).resolve().parent.parent
LINUX = ROOT / "captures" / "linux"
CAPTURES = [LINUX / "bulk-loss.pcap", LINUX / "syn-flood.pcap",
            ROOT / "captures" / "crafted" / "isn-weak.pcap"]


@pytest.fixture(scope="module")
def scheduler():
    """A cluster of 2 workers in this process (threads: process workers take seconds to
    start), reached through its scheduler's address as a remote one would be."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0",
                                  silence_logs=logging.ERROR) as cluster:
        yield cluster.scheduler_address


def jobs(*paths: Path) -> list[Job]:
    return [Job(str(path), load_profile("linux"), RuleSetup()) for path in paths]


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.stem)
def test_two_workers_give_the_result_of_one_process(scheduler, path):
    assert combine(analyze_on_cluster(jobs(path), scheduler)) == analyze_jobs(jobs(path))


def test_several_captures_on_the_cluster_give_the_result_of_one_process(scheduler):
    assert combine(analyze_on_cluster(jobs(*CAPTURES), scheduler)) == analyze_jobs(
        jobs(*CAPTURES))


def test_a_local_cluster_of_worker_processes_writes_the_same_json_bytes(tmp_path):
    path = str(LINUX / "bulk-loss.pcap")
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    CliRunner().invoke(main, ["analyze", path, "--jobs", "1", "--format", f"json:{one}"])
    result = CliRunner().invoke(main, ["analyze", path, "--scheduler", "local:2",
                                       "--format", f"json:{two}"])
    assert result.exit_code in (0, 1), result.output
    assert two.read_bytes() == one.read_bytes()


def test_local_takes_a_number_of_workers():
    assert parse_local("local:3") == 3
    assert parse_local("local") >= 1
    assert parse_local("tcp://10.0.0.1:8786") is None
    with pytest.raises(ClusterError, match="local:N"):
        parse_local("local:0")


@pytest.mark.parametrize("args", [["--scheduler", "scheduler-host"],
                                  ["--scheduler", "local:two"],
                                  ["--scheduler", "local", "--jobs", "2"]])
def test_a_scheduler_that_is_not_understood_is_one_line_and_exit_2(args):
    result = CliRunner().invoke(main, ["analyze", str(LINUX / "bulk-loss.pcap"), *args])
    assert result.exit_code == 2
    assert result.output.startswith("tcpcheck: error: ")
    assert "--scheduler" in result.output
    assert result.output.count("\n") == 1


def test_without_dask_the_scheduler_option_says_what_to_install():
    code = ("import sys; sys.modules['distributed'] = None; from tcpcheck.cli import main; "
            "main()")
    result = subprocess.run([sys.executable, "-c", code, "analyze",
                             str(LINUX / "bulk-loss.pcap"), "--scheduler", "local"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert result.stderr == ("tcpcheck: error: --scheduler needs Dask's distributed "
                             "scheduler: pip install 'tcpcheck[dask]'\n")
