"""The registry of report formats is what ``--format``, ``--help`` and the README offer, and
what it says of each format holds when the format is written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tcpcheck import cli
from tcpcheck.report.formats import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
REFUSED = ROOT / "captures" / "linux" / "refused.pcap"  # one connection, an RST answer


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli.main, [str(a) for a in args])


def test_the_readme_options_table_lists_every_format_in_registry_order():
    [row] = [line for line in README.splitlines()
             if line.startswith("| `--format FORMAT[:PATH]` |")]
    assert [name for name in re.findall(r"`(\w+)`", row) if name in REGISTRY] == list(REGISTRY)


def test_the_readme_says_where_each_format_shows_in_ci():
    section = README.split("### Reports and where they show", 1)[1].split("\n\n", 2)[1]
    rows = [line.split("|")[1].strip() for line in section.splitlines()[2:]]
    assert rows and sorted(rows) == sorted(f"`{name}`" for name in REGISTRY)


def test_analyze_help_lists_every_format():
    help_text = " ".join(run("analyze", "--help").stdout.split())
    assert f"Report format ({', '.join(REGISTRY)})" in help_text


def test_an_unregistered_format_is_refused_with_the_registered_ones():
    result = run("analyze", "--format", "xml", REFUSED)
    assert result.exit_code == 2
    assert f"(formats: {', '.join(REGISTRY)})" in result.stderr


@pytest.mark.parametrize("name", list(REGISTRY))
def test_a_format_changes_with_timestamp_exactly_when_the_registry_says_it_takes_one(
        name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    ext = REGISTRY[name].extension
    assert run("analyze", "--format", f"{name}:plain.{ext}", REFUSED).exit_code in (0, 1)
    assert run("analyze", "--timestamp", "--format", f"{name}:dated.{ext}",
               REFUSED).exit_code in (0, 1)
    plain, dated = (Path(f"{stem}.{ext}").read_text() for stem in ("plain", "dated"))
    assert (plain != dated) == REGISTRY[name].timestamp



def test_a_json_run_imports_no_renderer_of_a_file_format_it_does_not_write():
    # In a fresh interpreter: this one has imported every renderer already. The terminal
    # and sarif modules are not in the list: other commands' views and options use them.
    script = (
        "import runpy, sys\n"
        f"sys.argv = ['tcpcheck', 'analyze', {str(REFUSED)!r}, '--format', 'json', "
        "'-o', '/dev/null']\n"
        "try:\n"
        "    runpy.run_module('tcpcheck', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(m for m in sys.modules if m.startswith('tcpcheck.report.')))\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.split()
    renderers = {f"tcpcheck.report.{name}" for name in (
        "csvdoc", "github", "html", "junit", "markdown", "zeek")}
    assert "tcpcheck.report.jsondoc" in out
    assert renderers.isdisjoint(out)
