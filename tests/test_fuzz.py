"""The fuzz harness (``scripts/fuzz.py``): a bounded run inside the test suite, and the harness's
own promises -- a fixed seed makes the same inputs, and a crash or a hang is saved with its
traceback so it can be replayed.

``make fuzz`` runs the same loop for ten minutes with a new seed; this run is its first
``ITERATIONS`` inputs of seed ``SEED``, the same on every machine.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "fuzz.py"
SEED = 12
ITERATIONS = 400


def _load_script() -> ModuleType:
    """Import the script as a module (``scripts/`` is not a package), with its folder on the
    path for ``fuzz_inputs`` as when it runs."""
    sys.path.insert(0, str(SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("fuzz_harness", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


fuzz = _load_script()


def test_a_bounded_fuzz_run_of_every_reader_renderer_and_the_command_line_finds_no_crash(
        tmp_path: Path) -> None:
    stats = fuzz.fuzz(seed=SEED, iterations=ITERATIONS, crashes=tmp_path, log=lambda _: None)
    reports = "\n\n".join(p.read_text() for p in sorted(tmp_path.glob("*.txt")))
    assert not stats.crashes, reports
    assert stats.executions == ITERATIONS
    # The mutants reach every container and both outcomes: refused, and analysed and drawn.
    assert set(stats.containers) == {".pcap", ".pcapng", ".pcap.gz", ".pcapng.gz"}
    assert 0 < stats.refused < ITERATIONS // 2
    assert stats.connections > ITERATIONS


def test_an_iteration_of_a_seed_is_always_the_same_input() -> None:
    seeds = fuzz.load_seeds(fuzz.SEED_FOLDERS)
    seeds_bytes = [fuzz.write_pcap(s, nano=False, big_endian=False) for s in seeds[:5]]
    first = [fuzz.make_mutant(SEED, i, seeds, seeds_bytes) for i in range(20)]
    again = [fuzz.make_mutant(SEED, i, seeds, seeds_bytes) for i in range(20)]
    other = [fuzz.make_mutant(SEED + 1, i, seeds, seeds_bytes) for i in range(20)]
    assert first == again
    assert first != other
    assert len({data for data, _, _ in first}) == 20


def _reads_as_json(path: Path, *, cli: bool = False) -> int:
    """A target that crashes on every capture: capture bytes are not JSON."""
    json.loads(path.read_bytes())
    return 0


def test_a_crash_is_saved_once_per_signature_with_its_traceback_and_replay_line(
        tmp_path: Path) -> None:
    stats = fuzz.fuzz(seed=SEED, iterations=6, crashes=tmp_path, target=_reads_as_json,
                      log=lambda _: None)
    assert sum(stats.crashes.values()) == 6
    assert len(stats.saved) == len(stats.crashes) < 6
    saved = stats.saved[0]
    report = saved.with_name(saved.name.split(".")[0] + ".txt").read_text()
    assert "Traceback (most recent call last)" in report
    assert f"seed: {SEED}\n" in report
    assert f"replay: python scripts/fuzz.py --replay {saved}" in report
    iteration = int(report.split("iteration: ")[1].split("\n")[0])
    seeds = fuzz.load_seeds(fuzz.SEED_FOLDERS)
    seeds_bytes = [fuzz.write_pcap(s, nano=False, big_endian=False) for s in seeds
                   if len({r.linktype for r in s}) == 1]
    data, suffix, _ = fuzz.make_mutant(SEED, iteration, seeds, seeds_bytes)
    assert saved.read_bytes() == data
    assert saved.name.endswith(suffix)


def _never_returns(path: Path, *, cli: bool = False) -> int:
    while True:
        time.sleep(1)


def test_an_input_that_runs_past_the_time_limit_is_saved_as_a_hang(tmp_path: Path) -> None:
    stats = fuzz.fuzz(seed=SEED, iterations=1, crashes=tmp_path, target=_never_returns,
                      timeout=0.2, log=lambda _: None)
    [signature] = stats.crashes
    assert signature.startswith("Hang@")


def test_the_regression_captures_replay_cleanly_through_the_script() -> None:
    captures = sorted(str(p) for p in (ROOT / "tests" / "regressions").glob("*.pcap*"))
    proc = subprocess.run([sys.executable, str(SCRIPT), "--replay", *captures],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(": ok (") == len(captures)
