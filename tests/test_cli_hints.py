"""What the command line says when a user slips or wonders what to do next.

Run as a user runs it: a real process, its stdout, stderr and exit status.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "captures" / "linux"
ENV = {"PATH": "/usr/bin:/bin", "NO_COLOR": "1"}


def tcpcheck(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tcpcheck", *args], capture_output=True,
                          text=True, timeout=120, env=ENV, cwd=cwd, stdin=subprocess.DEVNULL)


def test_explain_of_a_misspelt_rule_suggests_the_rule_meant():
    proc = tcpcheck("explain", "data-beyond-windw")
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == ("tcpcheck: error: unknown rule 'data-beyond-windw' (did you mean "
                           "'data-beyond-window'? see `tcpcheck rules`)\n")


def test_a_profile_file_that_does_not_exist_is_named_as_no_such_file(tmp_path):
    proc = tcpcheck("analyze", "--profile", "missing.toml", str(REAL / "refused.pcap"),
                    cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == "tcpcheck: error: missing.toml: no such file\n"


def test_a_profile_file_named_by_the_configuration_that_does_not_exist_is_no_such_file(
        tmp_path):
    (tmp_path / "tcpcheck.toml").write_text('profile = "strict.toml"\n')
    proc = tcpcheck("analyze", str(REAL / "refused.pcap"), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == (f"tcpcheck: error: {tmp_path / 'tcpcheck.toml'}: "
                           f"{tmp_path / 'strict.toml'}: no such file\n")
