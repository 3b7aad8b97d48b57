"""Shell completion, as the README tells users to set it up: click's scripts for bash, zsh
and fish come out of the installed tcpcheck, and bash, given the script, completes commands,
options and option values."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent
"""Where the installed tcpcheck script is (the virtualenv's bin)."""

pytestmark = pytest.mark.skipif(not (BIN / "tcpcheck").exists(),
                                reason="tcpcheck is not installed beside this Python")


def source(shell: str) -> str:
    proc = subprocess.run(["tcpcheck"], capture_output=True, text=True, timeout=60,
                          env={"PATH": f"{BIN}:/usr/bin:/bin",
                               "_TCPCHECK_COMPLETE": f"{shell}_source"})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_readme_gives_the_setup_line_of_each_shell():
    for shell in ("bash", "zsh"):
        assert f'eval "$(_TCPCHECK_COMPLETE={shell}_source tcpcheck)"' in README
    assert ("_TCPCHECK_COMPLETE=fish_source tcpcheck > "
            "~/.config/fish/completions/tcpcheck.fish") in README


def test_each_shell_gets_a_script_that_registers_completion_for_tcpcheck():
    assert "complete -o nosort -F _tcpcheck_completion tcpcheck" in source("bash")
    assert source("zsh").startswith("#compdef tcpcheck")
    assert re.search(r"^complete .*--command tcpcheck", source("fish"), re.MULTILINE)


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize(("words", "expected"), [
    (["tcpcheck", "ana"], ["analyze"]),
    (["tcpcheck", "analyze", "--fail-on", ""], ["error", "warning", "info", "never"]),
    (["tcpcheck", "explain", "--co"], ["--color"]),
])
def test_bash_with_the_script_completes_commands_options_and_their_values(words, expected):
    script = (f'eval "$(_TCPCHECK_COMPLETE=bash_source tcpcheck)"\n'
              f"COMP_WORDS=({' '.join(repr(w) for w in words)})\n"
              f"COMP_CWORD={len(words) - 1}\n"
              "_tcpcheck_completion tcpcheck\n"
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True,
                          text=True, timeout=60,
                          env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": os.devnull})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == expected
