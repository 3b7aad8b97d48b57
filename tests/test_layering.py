"""Which packages may import which.

The model, rules and engine are sans-I/O: they never import the terminal, CLI or capture UI,
and the engine never opens a capture (``tcpcheck.pipeline`` does).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "tcpcheck"

CORE = ["tcpcheck.model.connection", "tcpcheck.model.states", "tcpcheck.track",
        "tcpcheck.checks", "tcpcheck.engine", "tcpcheck.decode", "tcpcheck.model.seqnum"]

CAPTURE_READERS = ["tcpcheck.pipeline", "tcpcheck.sources", "tcpcheck.pcapng",
                   "tcpcheck.capture", "tcpcheck.inputs", "tcpcheck.live", "tcpcheck.foreign"]
"""The modules that open capture files, pipes and FIFOs."""


def _loaded_by(modules: list[str], watched: list[str]) -> list[str]:
    """Which of ``watched`` a fresh interpreter has loaded after importing ``modules``."""
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules) +
            f"print(sorted(m for m in {watched!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return ast.literal_eval(out.strip())


def test_core_modules_do_not_import_click_rich_or_pyshark():
    assert _loaded_by(CORE, ["click", "rich", "pyshark"]) == []


def test_the_engine_loads_no_capture_reader():
    assert _loaded_by(["tcpcheck.engine"], CAPTURE_READERS) == []


def test_the_engine_calls_no_open():
    tree = ast.parse((PACKAGE / "engine.py").read_text(encoding="utf-8"))
    calls = [node.func for node in ast.walk(tree) if isinstance(node, ast.Call)]
    names = {f.id if isinstance(f, ast.Name) else f.attr for f in calls
             if isinstance(f, ast.Name | ast.Attribute)}
    assert not {n for n in names if "open" in n.lower()}


def _imports(path: Path) -> set[str]:
    """The top-level names of the modules a source file imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_cli_package_imports_click():
    importers = {str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                 if "click" in _imports(path)}
    assert importers
    assert {p for p in importers if not p.startswith("cli/")} == set()
