"""`pip install` builds a wheel that holds everything tcpcheck reads, without setuptools warnings.

The wheel is built for real, by pip and the setuptools pyproject.toml asks for, from a copy of
the sources (an in-tree build/ folder left by an earlier build could hide a missing file).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("tcpcheck", "rules")
"""The folders whose files the wheel holds: the package and its data (as tcpcheck._catalog)."""


def _source_files() -> list[Path]:
    return [path.relative_to(ROOT) for folder in SHIPPED for path in (ROOT / folder).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts]


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, set[str]]:
    """pip's output while building the wheel, and the names of the files in the wheel."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in SHIPPED:
        shutil.copytree(ROOT / folder, source / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--verbose",
                           "--wheel-dir", str(out), str(source)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [wheel] = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return proc.stdout + proc.stderr, set(archive.namelist())


def test_building_the_wheel_prints_no_package_would_be_ignored_warning(build):
    output, _ = build
    assert "Package would be ignored" not in output
    assert "absent from setuptools' `packages` configuration" not in output


def test_the_wheel_holds_every_module_rule_profile_and_report_asset(build):
    _, names = build
    expected = {("tcpcheck/_catalog" + str(path)[len("rules"):]) if path.parts[0] == "rules"
                else str(path) for path in _source_files()}
    assert expected - names == set()
    assert {"tcpcheck/_catalog/profiles/linux-legacy.toml",
            "tcpcheck/report/assets/report.js"} <= names
