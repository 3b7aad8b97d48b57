"""The model, rules and engine are sans-I/O: they never import the terminal, CLI or capture UI."""

from __future__ import annotations

import subprocess
import sys

CORE = ["tcpcheck.model.connection", "tcpcheck.model.states", "tcpcheck.track",
        "tcpcheck.checks", "tcpcheck.engine", "tcpcheck.decode", "tcpcheck.model.seqnum"]


def test_core_modules_do_not_import_click_rich_or_pyshark():
    code = ("import sys\n" + "".join(f"import {m}\n" for m in CORE) +
            "print(sorted(m for m in ('click', 'rich', 'pyshark') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
