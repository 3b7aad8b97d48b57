"""`tcpcheck rules`, `tcpcheck explain` and `tcpcheck profiles` as a user runs them."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tcpcheck import cli
from tcpcheck.catalog import load_catalog
from tcpcheck.profiles import profile_names
from tcpcheck.report import catalog_view

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("What it checks", "Why it matters", "Usual causes", "Example")


@pytest.fixture(autouse=True)
def _no_colour_overrides_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests pick colour themselves; the caller's shell must not."""
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli.main, list(args))


def strict_json(text: str) -> object:
    """JSON as any parser reads it: NaN and Infinity are not JSON."""
    def reject(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=reject)


# -- rules ---------------------------------------------------------------------------------


def test_rules_json_lists_every_catalog_rule_with_all_its_metadata():
    result = run("rules", "--format", "json")
    assert result.exit_code == 0
    doc = strict_json(result.stdout)
    assert [r["slug"] for r in doc] == [r.slug for r in load_catalog()]
    fields = {"code", "slug", "severity", "category", "summary", "reference", "what", "why",
              "causes", "example", "parameters", "artefact"}
    assert all(set(r) == fields for r in doc)
    backoff = next(r for r in doc if r["slug"] == "rto-backoff-violation")
    assert [(p["name"], p["default"]) for p in backoff["parameters"]] == [
        ("slack", 0.05), ("tolerance", 0.25)]
    assert {r["severity"] for r in doc} <= {"error", "warning", "info"}


def test_rules_table_lists_every_rule_on_one_line_with_code_slug_severity_and_category():
    result = run("rules")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    for rule in load_catalog():
        (line,) = [line for line in lines if line.startswith(rule.code + " ")]
        assert line.split()[1:4] == [rule.slug, rule.severity.label, rule.category]
        assert rule.summary in line


def test_rules_category_keeps_only_that_category_in_any_case():
    result = run("rules", "--category", "Timers", "--format", "json")
    assert result.exit_code == 0
    assert {r["category"] for r in strict_json(result.stdout)} == {"timers"}


def test_rules_unknown_category_exits_2_with_one_line_naming_the_categories():
    result = run("rules", "--category", "nonesuch")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "timers" in result.stderr


# -- explain -------------------------------------------------------------------------------


def test_explain_accepts_code_or_slug_in_any_case():
    outputs = {run("explain", name).stdout for name in ("HS001", "hs001", "syn-isn-changed",
                                                         "SYN-ISN-CHANGED")}
    (text,) = outputs
    assert text.startswith("HS001 syn-isn-changed · error · handshake\n")


@pytest.mark.parametrize("slug", [r.slug for r in load_catalog()])
def test_explain_prints_every_section_and_the_reference_of_each_rule(slug):
    rule = load_catalog().get(slug)
    result = run("explain", slug)
    assert result.exit_code == 0
    text = result.stdout
    positions = [text.index("\n" + section + "\n") for section in SECTIONS]
    assert positions == sorted(positions)
    flat = " ".join(text.split())
    assert rule.summary in flat and "Reference: " + rule.reference in flat


def test_explain_shows_the_bundled_capture_and_the_command_that_shows_the_rule(monkeypatch):
    monkeypatch.chdir(ROOT)
    text = run("explain", "syn-isn-changed").stdout
    example = text[text.index("\nExample\n"):]
    assert "captures/crafted/syn-isn-changed.pcap" in example
    assert "$ tcpcheck analyze captures/crafted/syn-isn-changed.pcap" in example


def test_explain_gives_an_absolute_command_path_outside_the_project(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    text = run("explain", "HS001").stdout
    assert f"$ tcpcheck analyze {ROOT / 'captures/crafted/syn-isn-changed.pcap'}" in text


def test_explain_says_when_the_example_capture_is_not_installed(monkeypatch, tmp_path):
    monkeypatch.setattr(catalog_view, "PROJECT_ROOT", tmp_path)
    text = run("explain", "syn-isn-changed").stdout
    assert "no bundled capture (captures/crafted/syn-isn-changed.pcap is not in this" in text
    assert "tcpcheck analyze" not in text


def test_explain_unknown_rule_exits_2_with_one_line():
    result = run("explain", "no-such-rule")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == "tcpcheck: error: unknown rule 'no-such-rule' (see `tcpcheck rules`)\n"


def test_explain_writes_plain_text_when_not_a_terminal():
    result = run("explain", "data-beyond-window")
    assert "\x1b[" not in result.stdout
    assert all(line == line.rstrip() for line in result.stdout.splitlines())


def test_explain_color_always_and_never_are_obeyed():
    assert "\x1b[" in run("explain", "HS001", "--color", "always").stdout
    assert "\x1b[" not in run("explain", "HS001", "--color", "never").stdout


def test_explain_from_the_installed_command_in_another_directory(tmp_path):
    """The console script, run the way a user runs it: the printed command works as printed."""
    tcpcheck = shutil.which("tcpcheck", path=str(Path(sys.executable).parent))
    assert tcpcheck, "tcpcheck is not installed next to this Python (pip install -e .)"
    env = {"PATH": "/usr/bin:/bin"}
    proc = subprocess.run([tcpcheck, "explain", "syn-isn-changed"], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path, env=env)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("HS001 syn-isn-changed · error · handshake\n")
    assert "\x1b[" not in proc.stdout
    (command,) = [line.strip()[2:] for line in proc.stdout.splitlines()
                  if line.strip().startswith("$ ")]
    argv = shlex.split(command)
    assert argv[:2] == ["tcpcheck", "analyze"]
    analyzed = subprocess.run([tcpcheck, *argv[1:]], capture_output=True, text=True,
                              timeout=120, cwd=tmp_path, env=env)
    assert "HS001" in analyzed.stdout and "syn-isn-changed" in analyzed.stdout


# -- profiles ------------------------------------------------------------------------------


def test_profiles_lists_every_bundled_profile_with_its_values_and_schedules():
    result = run("profiles")
    assert result.exit_code == 0
    header = result.stdout.splitlines()[0].split()
    assert [name for name in header if name != "(default)"] == profile_names()
    # The default is auto (a profile per connection side), not one of these columns.
    assert "(default)" not in result.stdout.splitlines()[0]
    for row in ("time_wait", "syn_retries", "keepalive_probes", "SYN retransmissions at",
                "SYN give-up", "SYN-ACK retransmissions at", "SYN-ACK give-up"):
        assert any(line.startswith(row) for line in result.stdout.splitlines()), row


def test_profiles_json_lists_every_bundled_profile_with_its_schedules():
    result = run("profiles", "--format", "json")
    doc = strict_json(result.stdout)
    assert [p["name"] for p in doc] == profile_names()
    linux = doc[profile_names().index("linux")]
    assert linux["syn_retransmit_times"] == [1, 2, 3, 4, 5, 7, 11, 19, 35, 67]
    assert linux["syn_give_up"] == 131 and linux["max_syn_transmissions"] == 11
    assert linux["synack_retransmit_times"] == [1, 3, 7, 15, 31] and linux["synack_give_up"] == 63


def test_profiles_name_shows_its_values_schedules_and_sources():
    text = run("profiles", "linux").stdout
    assert text.startswith("linux\n")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert "time_wait 60 s" in lines and "rto_min 0.2 s" in lines
    assert "SYN retransmissions at 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 s (10 retransmissions)" in lines
    assert "SYN give-up 131 s" in lines
    assert "SYN-ACK retransmissions at 1, 3, 7, 15, 31 s (5 retransmissions)" in lines
    assert "SYN-ACK give-up 63 s" in lines
    assert "source: Linux 6.x sysctls" in text


def test_profiles_shows_an_unbounded_timer_as_no_limit_and_null_in_json():
    lines = [" ".join(line.split()) for line in run("profiles", "rfc9293").stdout.splitlines()]
    assert "fin_timeout no limit" in lines
    assert strict_json(run("profiles", "rfc9293", "--format", "json").stdout)["fin_timeout"] \
        is None


def test_profiles_accepts_a_profile_file(tmp_path):
    path = tmp_path / "slow.toml"
    path.write_text('base = "linux-legacy"\ninitial_rto = 3.0\n')
    doc = strict_json(run("profiles", str(path), "--format", "json").stdout)
    assert doc["name"] == "slow" and doc["syn_retransmit_times"] == [3, 9, 21, 45, 93]


def test_profiles_unknown_name_exits_2_with_one_line():
    result = run("profiles", "plan9")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "unknown profile 'plan9'" in result.stderr


def test_explain_lists_a_rules_parameters_with_defaults_and_where_to_set_them():
    result = run("explain", "rto-backoff-violation")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "tolerance = 0.25:" in text and "slack = 0.05:" in text
    assert "[rules.rto-backoff-violation]" in text
    assert "Parameters" not in run("explain", "HS001").stdout
