"""`tcpcheck analyze` as a CI gate: several inputs, configuration, selection, baselines,
several report files in one run, determinism, quiet and colour."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tcpcheck import cli

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "captures" / "linux"
CRAFTED = ROOT / "captures" / "crafted"
ISN = CRAFTED / "syn-isn-changed.pcap"  # one error: HS001 syn-isn-changed
SYN_RETRIES = CRAFTED / "syn-retries-exceeded.pcap"  # warnings, no error
HEALTHY = REAL / "close-client-first.pcap"


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli.main, [str(a) for a in args], env=env)


def doc(result: Result) -> dict:
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def rules_of(result: Result) -> set[str]:
    return {f["rule"] for f in doc(result)["findings"]}


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test runs in an empty folder, so no configuration file is found by accident."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- several inputs --------------------------------------------------------------------------


def test_a_folder_of_captures_gives_one_report_with_a_section_per_file(tmp_path: Path):
    shutil.copy(ISN, tmp_path / "a")
    (tmp_path / "sub").mkdir()
    shutil.copy(HEALTHY, tmp_path / "sub" / "b.pcap")
    (tmp_path / "sub" / "junit.xml").write_text("<testsuites/>")
    result = run("analyze", "--format", "json", ".")
    assert result.exit_code == 1
    assert [c["input"] for c in doc(result)["summary"]["captures"]] == ["./a", "./sub/b.pcap"]
    assert doc(result)["summary"]["captures"][0]["findings"]["error"] == 1


def test_a_quoted_glob_is_expanded_by_tcpcheck(tmp_path: Path):
    shutil.copy(HEALTHY, tmp_path / "one.pcap")
    shutil.copy(HEALTHY, tmp_path / "two.pcap")
    result = run("analyze", "--format", "json", "*.pcap")
    assert doc(result)["input"] == ["one.pcap", "two.pcap"]


def test_a_folder_without_captures_is_a_usage_error(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    result = run("analyze", "empty")
    assert result.exit_code == 2
    assert "no capture files" in result.stderr


# -- selection and fail level ----------------------------------------------------------------


def test_select_by_category_keeps_only_that_category():
    assert rules_of(run("analyze", "--format", "json", "--select", "timers", SYN_RETRIES)) <= {
        "syn-retries-exceeded", "rto-backoff-violation"}


def test_ignore_by_code_removes_the_rule_and_its_exit_code():
    result = run("analyze", "--ignore", "HS001", ISN)
    assert result.exit_code == 0
    assert "HS001" not in result.stdout


def test_select_and_ignore_take_code_prefixes_slugs_and_commas():
    everything = rules_of(run("analyze", "--format", "json", ISN))
    some = rules_of(run("analyze", "--format", "json", "--select", "HS,CQ",
                        "--ignore", "syn-isn-changed", ISN))
    assert "syn-isn-changed" in everything and "syn-isn-changed" not in some
    assert all(r in everything for r in some)


def test_extend_select_adds_to_a_selection():
    result = run("analyze", "--format", "json", "--select", "CQ", "--extend-select", "HS001",
                 ISN)
    assert "syn-isn-changed" in rules_of(result)


def test_an_unknown_selector_is_a_usage_error_with_a_suggestion():
    result = run("analyze", "--select", "HZ001", ISN)
    assert result.exit_code == 2
    assert "HZ001" in result.stderr and "did you mean" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("level", "code"), [("error", 0), ("warning", 1), ("info", 1),
                                             ("never", 0)])
def test_fail_on_sets_the_gate(level: str, code: int):
    assert run("analyze", "--profile", "linux", "--fail-on", level, SYN_RETRIES).exit_code == code


# -- configuration ---------------------------------------------------------------------------


def test_configuration_is_found_upward_from_the_working_directory(tmp_path: Path,
                                                                  monkeypatch):
    (tmp_path / "tcpcheck.toml").write_text('ignore = ["HS001"]\n')
    (tmp_path / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "deep" / "er")
    assert run("analyze", ISN).exit_code == 0


def test_pyproject_tool_table_configures_the_run(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n'
                                             '[tool.tcpcheck]\nfail-on = "warning"\n'
                                             'profile = "linux"\n')
    assert run("analyze", SYN_RETRIES).exit_code == 1


def test_command_line_flags_win_over_the_configuration(tmp_path: Path):
    (tmp_path / "tcpcheck.toml").write_text('fail-on = "warning"\nignore = ["HS001"]\n')
    assert run("analyze", "--fail-on", "error", SYN_RETRIES).exit_code == 0
    assert run("analyze", "--select", "ALL", ISN).exit_code == 1


def test_isolated_ignores_the_configuration(tmp_path: Path):
    (tmp_path / "tcpcheck.toml").write_text('ignore = ["HS001"]\n')
    assert run("analyze", ISN).exit_code == 0
    assert run("analyze", "--isolated", ISN).exit_code == 1


def test_config_option_names_the_file(tmp_path: Path):
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "gate.toml").write_text('ignore = ["HS001"]\n')
    assert run("analyze", "--config", "ci/gate.toml", ISN).exit_code == 0


def test_an_unknown_configuration_key_is_a_clear_error(tmp_path: Path):
    (tmp_path / "tcpcheck.toml").write_text('selct = ["HS"]\n')
    result = run("analyze", ISN)
    assert result.exit_code == 2
    assert "tcpcheck.toml" in result.stderr and "selct" in result.stderr
    assert "did you mean 'select'" in result.stderr


def test_severity_override_changes_the_finding_and_the_exit_code(tmp_path: Path):
    (tmp_path / "tcpcheck.toml").write_text('[severity]\nHS001 = "warning"\n')
    result = run("analyze", "--format", "json", ISN)
    assert result.exit_code == 0
    assert {f["severity"] for f in doc(result)["findings"]
            if f["rule"] == "syn-isn-changed"} == {"warning"}


def test_per_path_overrides_apply_to_matching_captures_only(tmp_path: Path):
    (tmp_path / "legacy").mkdir()
    shutil.copy(ISN, tmp_path / "legacy" / "old.pcap")
    shutil.copy(ISN, tmp_path / "new.pcap")
    (tmp_path / "tcpcheck.toml").write_text(
        '[per-path."legacy/**"]\nignore = ["HS001"]\nprofile = "windows"\n')
    report = doc(run("analyze", "--format", "json", "legacy", "new.pcap"))
    by_input = {c["input"]: c for c in report["summary"]["captures"]}
    assert by_input["legacy/old.pcap"]["findings"]["error"] == 0
    assert by_input["legacy/old.pcap"]["profile"] == "windows"
    assert by_input["new.pcap"]["findings"]["error"] == 1
    assert by_input["new.pcap"]["profile"] == "auto"


def test_rule_parameters_reach_the_timer_checks(tmp_path: Path):
    capture = CRAFTED / "rto-backoff-violation.pcap"
    strict = doc(run("analyze", "--format", "json", "--select", "TM003", capture))
    assert strict["findings"]
    (tmp_path / "tcpcheck.toml").write_text(
        "[rules.rto-backoff-violation]\ntolerance = 0.99\nslack = 100.0\n")
    loose = doc(run("analyze", "--format", "json", "--select", "TM003", capture))
    assert loose["findings"] == []


# -- baselines -------------------------------------------------------------------------------


def test_baseline_round_trip_on_two_real_captures_of_one_scenario(tmp_path: Path):
    shutil.copy(REAL / "ci-run-1.pcap", tmp_path / "traffic.pcap")
    recorded = run("analyze", "--fail-on", "info", "--write-baseline", "baseline.json",
                   "traffic.pcap")
    assert recorded.exit_code == 0, recorded.output
    assert "recorded" in recorded.stderr
    shutil.copy(REAL / "ci-run-2.pcap", tmp_path / "traffic.pcap")  # the next CI run
    assert run("analyze", "--fail-on", "info", "traffic.pcap").exit_code == 1
    gated = run("analyze", "--fail-on", "info", "--baseline", "baseline.json", "--format",
                "json", "traffic.pcap")
    assert gated.exit_code == 0
    report = doc(gated)
    assert report["findings"] == []
    assert report["summary"]["baseline"]["suppressed"] > 0
    assert report["summary"]["baseline"]["stale"] == []


def test_baseline_round_trip_gates_on_warnings_with_a_short_close_wait_profile(tmp_path: Path):
    # The scenario holds one socket in CLOSE_WAIT for 3 s: a warning under this profile.
    (tmp_path / "ci.toml").write_text('base = "linux"\nclose_wait_stall = 1.0\n')
    shutil.copy(REAL / "ci-run-1.pcap", tmp_path / "traffic.pcap")
    gate = ("analyze", "--profile", "ci.toml", "--fail-on", "warning", "traffic.pcap")
    first = run(*gate, "--format", "json")
    assert first.exit_code == 1
    assert "close-wait-stall" in rules_of(first)
    run(*gate, "--write-baseline", "baseline.json")
    shutil.copy(REAL / "ci-run-2.pcap", tmp_path / "traffic.pcap")
    assert run(*gate).exit_code == 1
    assert run(*gate, "--baseline", "baseline.json").exit_code == 0


def test_baseline_reports_new_findings_and_entries_that_no_longer_occur(tmp_path: Path):
    shutil.copy(REAL / "ci-run-1.pcap", tmp_path / "traffic.pcap")
    run("analyze", "--write-baseline", "baseline.json", "traffic.pcap")
    shutil.copy(ISN, tmp_path / "traffic.pcap")  # other traffic in the same place
    gated = run("analyze", "--baseline", "baseline.json", "traffic.pcap")
    assert gated.exit_code == 1
    assert "syn-isn-changed" in gated.stdout
    assert "no longer occur" in gated.stdout


def test_baseline_from_the_configuration_is_used(tmp_path: Path):
    shutil.copy(ISN, tmp_path / "traffic.pcap")
    run("analyze", "--write-baseline", "accepted.json", "traffic.pcap")
    (tmp_path / "tcpcheck.toml").write_text('baseline = "accepted.json"\n')
    assert run("analyze", "traffic.pcap").exit_code == 0


def test_a_missing_baseline_is_a_usage_error():
    result = run("analyze", "--baseline", "nope.json", HEALTHY)
    assert result.exit_code == 2
    assert "nope.json" in result.stderr


# -- formats and files -----------------------------------------------------------------------


def test_several_formats_in_one_run(tmp_path: Path):
    (tmp_path / "out").mkdir()
    result = run("analyze", "--format", "json:out/r.json", "--format", "sarif:r.sarif",
                 "--format", "junit:r.xml", "--format", "github:r.txt", "--format",
                 "markdown:r.md", ISN)
    assert result.exit_code == 1
    for name in ("out/r.json", "r.sarif", "r.xml", "r.txt", "r.md"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert "syn-isn-changed" in result.stdout  # the terminal report still goes to stdout


def test_output_option_writes_the_format_given_without_a_path(tmp_path: Path):
    result = run("analyze", "--format", "sarif", "-o", "r.sarif", ISN)
    assert result.stdout == ""
    assert json.loads((tmp_path / "r.sarif").read_text())["version"] == "2.1.0"


def test_two_formats_for_stdout_is_a_usage_error():
    result = run("analyze", "--format", "json", "--format", "sarif", ISN)
    assert result.exit_code == 2
    assert "stdout" in result.stderr


def test_an_unknown_format_is_a_usage_error():
    result = run("analyze", "--format", "xml:r.xml", ISN)
    assert result.exit_code == 2
    assert "unknown format 'xml'" in result.stderr


def test_same_input_and_config_give_byte_identical_reports(tmp_path: Path):
    formats = ("json", "junit", "sarif", "github", "markdown", "terminal")
    for attempt in ("a", "b"):
        run("analyze", *[x for f in formats for x in ("--format", f"{f}:{attempt}.{f}")],
            REAL / "bulk-loss.pcap", ISN)
    for f in formats:
        assert (tmp_path / f"a.{f}").read_bytes() == (tmp_path / f"b.{f}").read_bytes(), f


def test_the_run_time_is_only_written_when_asked(tmp_path: Path):
    run("analyze", "--format", "sarif:plain.sarif", "--format", "junit:plain.xml", ISN)
    run("analyze", "--timestamp", "--format", "sarif:stamped.sarif", "--format",
        "junit:stamped.xml", ISN)
    assert "startTimeUtc" not in (tmp_path / "plain.sarif").read_text()
    assert "timestamp=" not in (tmp_path / "plain.xml").read_text()
    assert "startTimeUtc" in (tmp_path / "stamped.sarif").read_text()
    assert "timestamp=" in (tmp_path / "stamped.xml").read_text()


# -- quiet and colour ------------------------------------------------------------------------


def test_quiet_prints_only_the_failing_findings_one_line_each():
    result = run("analyze", "-q", ISN, HEALTHY)
    lines = result.stdout.splitlines()
    assert result.exit_code == 1
    assert lines and all("HS001 syn-isn-changed" in line for line in lines)
    assert lines[0].startswith(f"{ISN}:")


def test_quiet_prints_nothing_when_nothing_fails():
    result = run("analyze", "--quiet", HEALTHY)
    assert result.exit_code == 0
    assert result.stdout == ""


RED = "\x1b[1;31m"  # how rich starts "bold red", the error style


def on_a_pipe(*args: str, env: dict[str, str] | None = None) -> str:
    """stdout of a real process whose stdout is a pipe, as in CI."""
    return subprocess.run([sys.executable, "-m", "tcpcheck", *args], capture_output=True,
                          text=True, timeout=60, env={"PATH": os.environ["PATH"], **(env or {})}
                          ).stdout


def on_a_terminal(*args: str, env: dict[str, str] | None = None) -> str:
    """stdout of a real process on a pseudo-terminal, as at a desk."""
    controller, terminal = pty.openpty()
    try:
        subprocess.run([sys.executable, "-m", "tcpcheck", *args], stdout=terminal,
                       stderr=subprocess.DEVNULL, timeout=60,
                       env={"PATH": os.environ["PATH"], "TERM": "xterm-256color",
                            "COLUMNS": "120", **(env or {})})
        os.close(terminal)
        chunks = []
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: everything written has been read
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(controller)
    return b"".join(chunks).decode(errors="replace")


def test_colour_on_a_terminal_and_none_on_a_pipe():
    assert RED in on_a_terminal("analyze", str(ISN))
    assert "\x1b[" not in on_a_pipe("analyze", str(ISN))


def test_no_color_environment_variable_is_honoured():
    assert RED not in on_a_terminal("analyze", str(ISN), env={"NO_COLOR": "1"})


def test_no_color_flag_beats_color_always():
    assert RED in on_a_pipe("analyze", "--color", "always", str(ISN))
    assert "\x1b[" not in on_a_pipe("analyze", "--color", "always", "--no-color", str(ISN))
    assert "\x1b[" not in on_a_terminal("analyze", "--no-color", str(ISN))


def test_the_readme_configuration_example_is_a_valid_configuration(tmp_path: Path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "tcpcheck.toml").write_text(example)
    (tmp_path / "windows").mkdir()
    shutil.copy(ISN, tmp_path / "windows" / "w.pcap")
    run("analyze", "--write-baseline", "tcpcheck-baseline.json", "windows")
    result = run("analyze", "--format", "json", "windows")
    assert result.exit_code == 0, result.output
    assert doc(result)["summary"]["captures"][0]["profile"] == "windows"


def test_an_unknown_profile_in_the_configuration_names_the_file(tmp_path: Path):
    (tmp_path / "tcpcheck.toml").write_text('[per-path."*.pcap"]\nprofile = "nosuch"\n')
    shutil.copy(ISN, tmp_path / "t.pcap")
    result = run("analyze", "t.pcap")
    assert result.exit_code == 2
    assert "tcpcheck.toml" in result.stderr and "nosuch" in result.stderr
