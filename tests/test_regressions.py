"""Captures that once crashed tcpcheck go through every report without a traceback.

Each capture in ``tests/regressions/`` (its README says what it holds and what crashed) runs
through the real command line: ``tcpcheck analyze`` writing all seven formats at once, and
``tcpcheck show``. A crash is a traceback or an exit status other than 0 (clean) or 1 (findings).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from conftest import run_segments
from segments import Ladder

from tcpcheck.report.outputs import FORMATS

ROOT = Path(__file__).resolve().parent.parent
REGRESSIONS = ROOT / "tests" / "regressions"
CAPTURES = sorted(p for p in REGRESSIONS.iterdir() if p.suffix in (".pcap", ".pcapng"))
SCRIPT = ROOT / "scripts" / "make_regressions.py"


def _load_script() -> ModuleType:
    """Import the script as a module (``scripts/`` is not a package)."""
    spec = importlib.util.spec_from_file_location("make_regressions", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


make = _load_script()


def tcpcheck(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tcpcheck", *args], capture_output=True,
                          text=True, cwd=ROOT, check=False)


def assert_no_crash(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in (0, 1), proc.stderr


@pytest.mark.parametrize("regression", make.REGRESSIONS, ids=lambda r: r.name)
def test_the_script_still_writes_the_committed_capture(regression) -> None:
    suffix = ".pcap" if regression.tsresol is None else ".pcapng"
    committed = REGRESSIONS / f"{regression.name}{suffix}"
    assert make.build(regression) == committed.read_bytes()


def test_every_regression_capture_is_described_in_the_readme() -> None:
    readme = (REGRESSIONS / "README.md").read_text(encoding="utf-8")
    assert CAPTURES
    for capture in CAPTURES:
        assert f"`{capture.name}`" in readme


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.stem)
def test_a_capture_that_once_crashed_goes_through_every_format(capture: Path,
                                                                tmp_path: Path) -> None:
    formats = [f"--format={fmt}:{tmp_path / fmt}" for fmt in FORMATS]
    assert_no_crash(tcpcheck("analyze", str(capture), *formats))
    for fmt in FORMATS:
        assert (tmp_path / fmt).exists(), fmt  # (github's is empty without findings)
    json.loads((tmp_path / "json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.stem)
def test_a_capture_that_once_crashed_is_drawn_by_show(capture: Path) -> None:
    proc = tcpcheck("show", str(capture), "--connection", "0", "--no-color")
    assert_no_crash(proc)
    assert "end of capture" in proc.stdout


@pytest.mark.parametrize("name", ["wscale-15", "wscale-255"])
def test_a_window_scale_above_14_scales_windows_by_2_to_the_14(name: str) -> None:
    # RFC 7323 §2.3: the receiver "MUST use 14 instead of the specified value". The client's
    # ACKs carry a window field of 63: 63 << 14 = 1032192 (not 63 << 15 = 2064384).
    proc = tcpcheck("show", str(REGRESSIONS / f"{name}.pcap"), "--connection", "0",
                    "--no-color")
    assert "win=1032192" in proc.stdout
    assert "win=2064384" not in proc.stdout


def _findings(capture: Path) -> list[tuple[str, int, str]]:
    proc = tcpcheck("analyze", str(capture), "--format", "json")
    return [(f["rule"], f["frame"], f["side"]) for f in json.loads(proc.stdout)["findings"]]


@pytest.mark.parametrize(("name", "expected"), [
    ("wscale-15", [("window-scale-too-large", 1, "client")]),
    ("wscale-255", [("window-scale-too-large", 1, "client"),
                    ("window-scale-too-large", 2, "server")]),
])
def test_a_window_scale_above_14_is_one_warning_per_side_that_offered_it(
        name: str, expected: list[tuple[str, int, str]]) -> None:
    # RFC 7323 §2.3: the receiver "SHOULD log the error"; nothing else is wrong with the traffic.
    assert _findings(REGRESSIONS / f"{name}.pcap") == expected


def test_a_pcapng_clock_past_64_bit_nanoseconds_is_drawn_in_seconds() -> None:
    # Microsecond counts read as seconds: the second frame is 49 µs later in the source, so
    # 49 s later here, and the capture starts some 57 million years after 1970.
    proc = tcpcheck("show", str(REGRESSIONS / "pcapng-tsresol-seconds.pcapng"), "--frame", "2",
                    "--no-color")
    assert_no_crash(proc)
    assert "49.000000" in proc.stdout


def test_a_synack_retransmission_with_a_broken_option_list_changes_nothing() -> None:
    # The same capture without the broken SACK-permitted length: the broken copy is still a
    # retransmission (frame 5), and the negotiation of frames 1-2 stays in force.
    assert _findings(REGRESSIONS / "synack-sack-past-header.pcap") == _findings(
        ROOT / "captures" / "linux" / "synack-loss.pcap")


# The same two faults at the model's level, with segments built by hand.
SYN_OPTIONS = bytes.fromhex("020405b40402080a0001e240000000000103030a")  # MSS SACKOK TS NOP WS
TS = bytes.fromhex("0101080a0001e24100000000")


def _with(seg, options: bytes, win: int | None = None):
    return seg._replace(options=options, win=seg.win if win is None else win)


def test_the_model_keeps_the_negotiation_when_a_synack_retransmission_is_malformed() -> None:
    lad = Ladder()
    syn = lad.syn()
    synack = lad.synack()
    again = lad.synack(gap=1.0)
    broken = bytearray(SYN_OPTIONS)
    broken[5] = 40  # SACK-permitted's length runs past the option area
    ack = lad.ack()
    data = lad.data("c", 100)
    segments = [_with(syn, SYN_OPTIONS), _with(synack, SYN_OPTIONS),
                _with(again, bytes(broken)), _with(ack, TS), _with(data, TS)]
    analyzer = run_segments(segments)
    assert [f.rule for f in analyzer.findings if f.rule != "capture-ended-midstream"] == [
        "retransmission"]


def test_the_model_uses_a_shift_of_14_for_a_window_scale_option_of_255() -> None:
    shift_255 = SYN_OPTIONS[:-1] + b"\xff"
    lad = Ladder()
    segments = [_with(lad.syn(), shift_255), _with(lad.synack(), shift_255)]
    # The server's window field of 4 is 4 << 14 = 65,536 bytes (no shrink from the SYN-ACK's
    # 64,240): 70,000 bytes overrun it, where a shift of 255 would have taken them.
    segments.append(_with(lad.ack(), TS))
    segments.append(_with(lad.ack("s"), TS, win=4))
    segments.append(_with(lad.data("c", 70_000), TS))
    rules = {f.rule for f in run_segments(segments).findings}
    assert "data-beyond-window" in rules
