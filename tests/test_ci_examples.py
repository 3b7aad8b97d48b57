"""The CI jobs in examples/ci/ are the README's, parse as YAML, and call tcpcheck with options
that exist."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tcpcheck import cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples" / "ci").glob("*.yml"))
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_there_is_a_github_and_a_gitlab_example():
    assert [p.name for p in EXAMPLES] == ["github-actions.yml", "gitlab-ci.yml"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_the_readme_embeds_the_example_verbatim(path: Path):
    assert f"```yaml\n{path.read_text(encoding='utf-8')}```" in README


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_the_example_is_valid_yaml(path: Path):
    assert isinstance(yaml.safe_load(path.read_text(encoding="utf-8")), dict)


def gate_commands(path: Path) -> list[list[str]]:
    """Every `tcpcheck analyze ...` command of the example, continuation lines joined and the
    optional baseline argument left out."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    commands = re.findall(r"^\s*(tcpcheck analyze .*?)(?:\|\||$)", text, re.MULTILINE)
    return [[w for w in shlex.split(c) if "baseline" not in w][2:] for c in commands]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_the_gate_command_of_the_example_runs_and_writes_its_reports(
        path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "artifacts").mkdir()
    shutil.copy(ROOT / "captures" / "linux" / "ci-run-1.pcap", "artifacts/traffic.pcap")
    commands = gate_commands(path)
    assert commands
    for args in commands:
        result = CliRunner().invoke(cli.main, ["analyze", *args])
        assert result.exit_code == 0, result.output
        for spec in args:
            if spec.count(":") == 1 and spec.split(":")[0] in ("junit", "sarif", "markdown"):
                assert (tmp_path / spec.split(":")[1]).stat().st_size > 0
