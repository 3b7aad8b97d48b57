"""The crafted captures are exactly what ``scripts/craft_captures.py`` writes, and well formed.

Regenerating every scenario into a temporary folder must reproduce the committed files byte for
byte, so the captures in ``captures/crafted/`` provably come from the script (and a change to the
script that moves a frame cannot go unnoticed). Every capture has its sidecar and the reverse, and
every sidecar names frames that exist and hold a TCP segment.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import dpkt
import pytest

ROOT = Path(__file__).resolve().parent.parent
CRAFTED = ROOT / "captures" / "crafted"
SCRIPT = ROOT / "scripts" / "craft_captures.py"
REQUIRED_KEYS = {"description", "reference", "findings", "info"}


def _load_script() -> ModuleType:
    """Import the script as a module (``scripts/`` is not a package)."""
    spec = importlib.util.spec_from_file_location("craft_captures", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


craft = _load_script()
NAMES = sorted(craft.SCENARIOS)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every scenario (and the README) written afresh by the script's command line."""
    out = tmp_path_factory.mktemp("crafted")
    craft.main(["--out", str(out)])
    return out


def _frames(path: Path) -> list[bytes]:
    """Every record of a pcap file, in order."""
    with path.open("rb") as f:
        return [buf for _, buf in dpkt.pcap.Reader(f)]


def test_generated_file_set_matches_committed(regenerated: Path) -> None:
    committed = {p.name for p in CRAFTED.iterdir() if p.is_file()}
    assert committed == {p.name for p in regenerated.iterdir()}


@pytest.mark.parametrize("name", NAMES)
def test_capture_and_sidecar_are_byte_identical(regenerated: Path, name: str) -> None:
    for suffix in (".pcap", ".expect.json"):
        fresh = (regenerated / f"{name}{suffix}").read_bytes()
        assert (CRAFTED / f"{name}{suffix}").read_bytes() == fresh, (
            f"{name}{suffix} differs from what the script writes: run `make crafted`")


def test_readme_is_current(regenerated: Path) -> None:
    assert (CRAFTED / "README.md").read_text() == (regenerated / "README.md").read_text()


def test_only_writes_one_scenario(tmp_path: Path) -> None:
    craft.main(["--only", "seq-wrap", "--out", str(tmp_path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "README.md", "seq-wrap.expect.json", "seq-wrap.pcap"]
    assert (tmp_path / "seq-wrap.pcap").read_bytes() == (CRAFTED / "seq-wrap.pcap").read_bytes()


def test_every_capture_has_a_sidecar_and_back() -> None:
    pcaps = {p.name.removesuffix(".pcap") for p in CRAFTED.glob("*.pcap")}
    sidecars = {p.name.removesuffix(".expect.json") for p in CRAFTED.glob("*.expect.json")}
    assert pcaps == sidecars
    assert pcaps == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_sidecar_shape_and_frames(name: str) -> None:
    sidecar = json.loads((CRAFTED / f"{name}.expect.json").read_text(encoding="utf-8"))
    assert set(sidecar) == REQUIRED_KEYS
    assert isinstance(sidecar["description"], str) and sidecar["description"]
    assert isinstance(sidecar["reference"], str) and sidecar["reference"]
    frames = _frames(CRAFTED / f"{name}.pcap")
    for mark in sidecar["findings"] + sidecar["info"]:
        assert set(mark) == {"rule", "frame"}
        assert isinstance(mark["rule"], str) and mark["rule"]
        assert isinstance(mark["frame"], int) and 1 <= mark["frame"] <= len(frames)
        eth = dpkt.ethernet.Ethernet(frames[mark["frame"] - 1])
        assert isinstance(eth.data, dpkt.ip.IP) and isinstance(eth.data.data, dpkt.tcp.TCP), (
            f"{name}: frame {mark['frame']} ({mark['rule']}) is not a TCP segment")


TIME_GOES_BACK = {"capture-repeated"}
"""Scenarios whose capture time jumps back on purpose: a trace repeated in its file."""


@pytest.mark.parametrize("name", NAMES)
def test_capture_format(name: str) -> None:
    """Classic microsecond pcap, Ethernet, first frame at 2026-01-01T00:00:00Z, time never
    going backwards (but where that is the scenario)."""
    with (CRAFTED / f"{name}.pcap").open("rb") as f:
        reader = dpkt.pcap.Reader(f)
        assert reader.datalink() == dpkt.pcap.DLT_EN10MB
        times = [ts for ts, _ in reader]
    assert times[0] == 1767225600
    assert (times == sorted(times)) != (name in TIME_GOES_BACK)
