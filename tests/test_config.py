"""Project configuration: discovery, validation with helpful errors, per-path patterns, and the
layering of defaults < configuration < per-path tables < command line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tcpcheck.catalog import CatalogError, load_catalog
from tcpcheck.config import (
    Config,
    ConfigError,
    PathOverride,
    RuleOptions,
    Settings,
    discover_config,
    find_config,
    load_config,
    settings_for,
)
from tcpcheck.result import Severity
from tcpcheck.selection import RuleSelection, SelectionError

CATALOG = load_catalog()
ALL_SLUGS = frozenset(rule.slug for rule in CATALOG)
PARAMETRISED = {"rto-backoff-violation", "syn-retries-exceeded"}
DEFAULT_PARAMS = {"tolerance": 0.25, "slack": 0.05}
FLOOD_PARAMS = {"syn-flood": {"min_handshakes": 100, "window": 10.0}}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, name: str = "tcpcheck.toml") -> Config:
    return load_config(write(tmp_path / name, text), CATALOG)


def settings(config: Config, path: str = "capture.pcap",
             cli: RuleOptions | None = None) -> Settings:
    return settings_for(config, path, cli or RuleOptions(), CATALOG)


def error_of(path: Path) -> str:
    """The message of the ConfigError that loading ``path`` raises."""
    with pytest.raises(ConfigError) as error:
        load_config(path, CATALOG)
    return str(error.value)


def in_category(category: str) -> frozenset[str]:
    return frozenset(rule.slug for rule in CATALOG if rule.category == category)


# -- discovery -------------------------------------------------------------------------------


def test_config_in_a_parent_folder_is_found(tmp_path):
    config = write(tmp_path / "tcpcheck.toml", "")
    start = tmp_path / "captures" / "windows"
    start.mkdir(parents=True)
    assert find_config(start) == config


def test_nearer_config_beats_a_farther_one(tmp_path):
    write(tmp_path / "tcpcheck.toml", "")
    nearer = write(tmp_path / "captures" / "tcpcheck.toml", "")
    start = tmp_path / "captures" / "windows"
    start.mkdir()
    assert find_config(start) == nearer


def test_tcpcheck_toml_beats_pyproject_toml_in_the_same_folder(tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.tcpcheck]\nfail-on = 'warning'\n")
    own = write(tmp_path / "tcpcheck.toml", "")
    assert find_config(tmp_path) == own


def test_pyproject_toml_with_a_tool_tcpcheck_table_is_found(tmp_path):
    pyproject = write(tmp_path / "pyproject.toml", "[tool.tcpcheck]\nfail-on = 'warning'\n")
    config = discover_config(tmp_path, CATALOG)
    assert config.path == pyproject and config.fail_on == "warning"


def test_pyproject_toml_without_a_tool_tcpcheck_table_is_skipped(tmp_path):
    farther = write(tmp_path / "tcpcheck.toml", "")
    write(tmp_path / "project" / "pyproject.toml", "[tool.ruff]\nline-length = 100\n")
    assert find_config(tmp_path / "project") == farther


def test_an_empty_tcpcheck_toml_still_counts_and_stops_the_search(tmp_path):
    write(tmp_path / "tcpcheck.toml", "fail-on = 'never'\n")
    empty = write(tmp_path / "captures" / "tcpcheck.toml", "")
    config = discover_config(tmp_path / "captures", CATALOG)
    assert config.path == empty and config.fail_on is None


def test_a_broken_pyproject_toml_that_does_not_mention_tcpcheck_is_skipped(tmp_path):
    farther = write(tmp_path / "tcpcheck.toml", "")
    write(tmp_path / "project" / "pyproject.toml", "[tool.ruff\n")
    assert find_config(tmp_path / "project") == farther


def test_a_broken_pyproject_toml_that_configures_tcpcheck_is_an_error(tmp_path):
    pyproject = write(tmp_path / "pyproject.toml", "[tool.tcpcheck]\nselect = [HS]\n")
    with pytest.raises(ConfigError) as error:
        find_config(tmp_path)
    assert str(error.value).startswith(f"{pyproject}: invalid TOML: ")
    assert "line 2" in str(error.value)


def test_the_search_may_start_from_a_file(tmp_path):
    config = write(tmp_path / "tcpcheck.toml", "")
    capture = write(tmp_path / "captures" / "a.pcap", "")
    assert find_config(capture) == config


def test_without_a_config_the_defaults_apply_rooted_at_the_start(tmp_path):
    assert find_config(tmp_path) is None
    config = discover_config(tmp_path, CATALOG)
    assert config == Config(path=None, root=tmp_path, options=RuleOptions())
    assert settings(config) == Settings(
        profile="linux", rules=ALL_SLUGS,
        severity={rule.slug: rule.severity for rule in CATALOG},
        params={slug: DEFAULT_PARAMS for slug in PARAMETRISED} | FLOOD_PARAMS)


def test_a_config_is_rooted_at_its_own_folder(tmp_path):
    write(tmp_path / "tcpcheck.toml", "")
    start = tmp_path / "captures"
    start.mkdir()
    assert discover_config(start, CATALOG).root == tmp_path


# -- what a file may say ---------------------------------------------------------------------

FULL = """
profile = "windows"
fail-on = "warning"
select = ["handshake", "TM"]
extend-select = ["SQ001"]
ignore = ["HS001"]
baseline = "ci/baseline.json"

[severity]
HS002 = "info"
syn-retries-exceeded = "ERROR"

[rules.rto-backoff-violation]
tolerance = 1

[per-path."captures/bsd/**"]
profile = "profiles/bsd-lab.toml"
select = ["ALL"]
ignore = ["diagnostics"]
severity = { half-open = "error" }
rules.TM001 = { slack = 0.5 }
"""


def test_every_key_is_read_and_names_are_normalised_to_slugs(tmp_path):
    config = load(tmp_path, FULL)
    assert config.root == tmp_path
    assert config.fail_on == "warning"
    assert config.baseline == str(tmp_path / "ci" / "baseline.json")
    assert config.options == RuleOptions(
        selection=RuleSelection(select=("handshake", "TM"), extend_select=("SQ001",),
                                ignore=("HS001",)),
        profile="windows",
        severity={"synack-isn-changed": Severity.INFO, "syn-retries-exceeded": Severity.ERROR},
        params={"rto-backoff-violation": {"tolerance": 1.0}},
    )
    (override,) = config.per_path
    assert override.pattern == "captures/bsd/**"
    assert override.options == RuleOptions(
        selection=RuleSelection(select=("ALL",), ignore=("diagnostics",)),
        profile=str(tmp_path / "profiles" / "bsd-lab.toml"),
        severity={"half-open": Severity.ERROR},
        params={"syn-retries-exceeded": {"slack": 0.5}},
    )


def test_pyproject_toml_is_read_from_its_tool_tcpcheck_table(tmp_path):
    config = load(tmp_path, "[project]\nname = 'x'\n[tool.tcpcheck]\nselect = ['HS']\n",
                  name="pyproject.toml")
    assert config.options.selection == RuleSelection(select=("HS",))


def test_a_profile_name_is_kept_as_written_and_checked_later_by_the_profile_loader(tmp_path):
    assert load(tmp_path, "profile = 'no-such-stack'\n").options.profile == "no-such-stack"


def test_an_absolute_profile_file_stays_where_it_is(tmp_path):
    elsewhere = tmp_path.parent / "shared.toml"
    config = load(tmp_path, f"profile = '{elsewhere}'\n")
    assert config.options.profile == str(elsewhere)


def test_any_file_given_explicitly_is_read_from_its_top_level(tmp_path):
    config = load(tmp_path, "fail-on = 'info'\n", name="ci.toml")
    assert config.path == tmp_path / "ci.toml" and config.fail_on == "info"


# -- errors: every one names the file and the key, and suggests -------------------------------


@pytest.mark.parametrize(("text", "message"), [
    ("selct = ['HS']",
     "unknown key 'selct' at the top level (did you mean 'select'?)"),
    ("[tool.tcpcheck]\nselect = ['HS']",
     "unknown key 'tool' at the top level (this file takes the keys of [tool.tcpcheck] at its "
     "top level)"),
    ("colour = true",
     "unknown key 'colour' at the top level (keys: profile, select, extend-select, ignore, "
     "severity, rules, fail-on, baseline, per-path, hosts)"),
    ("select = 'HS,SQ001'",
     """select must be a list of strings, like ["HS", "SQ001"], not 'HS,SQ001'"""),
    ("ignore = ['HS', 1]",
     """ignore must be a list of strings, like ["HS", "SQ001"], not ['HS', 1]"""),
    ("extend-select = ['HZ']",
     "extend-select: unknown rule selector 'HZ' (did you mean 'HS'? see `tcpcheck rules`)"),
    ("select = ['handshak']",
     "select: unknown rule selector 'handshak' (did you mean 'handshake'?"),
    ("fail-on = 'errors'",
     "fail-on must be one of error, warning, info, never, not 'errors' (did you mean 'error'?)"),
    ("fail-on = 3",
     "fail-on must be one of error, warning, info, never, not 3"),
    ("profile = 7", "profile must be a profile name or a .toml file, not 7"),
    ("baseline = ''", "baseline must be a path (a string), not ''"),
    ("severity = 'error'",
     """severity must be a table of rules, like [severity] retransmission = "warning", """
     "not 'error'"),
    ("[severity]\nsyn-isn-chnaged = 'error'",
     "unknown rule 'syn-isn-chnaged' in [severity] (did you mean 'syn-isn-changed'? "
     "see `tcpcheck rules`)"),
    ("[severity]\nhs01 = 'error'",
     "unknown rule 'hs01' in [severity] (did you mean 'HS001'?"),
    ("[severity]\nhandshake = 'info'",
     "'handshake' in [severity] selects several rules; name one rule per key (a slug or a "
     "code)"),
    ("[severity]\nHS001 = 'err'",
     "severity.HS001 must be one of error, warning, info, not 'err' (did you mean 'error'?)"),
    ("[severity]\nHS001 = 'error'\nsyn-isn-changed = 'info'",
     "[severity] sets syn-isn-changed twice (as 'HS001' and 'syn-isn-changed')"),
    ("rules = []", "rules must be a table of rules, like [rules.rto-backoff-violation] "
                   "tolerance = 0.5, not []"),
    ("[rules]\nrto-backoff-violation = 0.5",
     "rules.rto-backoff-violation must be a table of parameters"),
    ("[rules.rto-backoff-violation]\ntolerence = 0.5",
     "unknown parameter 'tolerence' in [rules.rto-backoff-violation] (did you mean "
     "'tolerance'? parameters: slack, tolerance)"),
    ("[rules.TM003]\nmargin = 0.5",
     "unknown parameter 'margin' in [rules.TM003] (parameters: slack, tolerance)"),
    ("[rules.syn-isn-changed]\ntolerance = 0.5",
     "unknown parameter 'tolerance' in [rules.syn-isn-changed] (syn-isn-changed has no "
     "parameters)"),
    ("[rules.rto-backoff-violation]\ntolerance = 'loose'",
     "[rules.rto-backoff-violation] tolerance must be a number, not 'loose'"),
    ("[rules.rto-backoff-violation]\ntolerance = true",
     "[rules.rto-backoff-violation] tolerance must be a number, not True"),
    ("per-path = ['*.pcap']", "per-path must be a table of globs"),
    ("[per-path]\n'*.pcap' = 'windows'",
     """[per-path."*.pcap"] must be a table of options, not 'windows'"""),
    ("[per-path.'']\nprofile = 'windows'", """per-path."": empty per-path pattern"""),
    ("[per-path.'*.pcap']\nprofle = 'windows'",
     """unknown key 'profle' in [per-path."*.pcap"] (did you mean 'profile'?)"""),
    ("[per-path.'*.pcap']\nfail-on = 'warning'",
     """unknown key 'fail-on' in [per-path."*.pcap"] (set it at the top level: it applies """
     "to the whole run)"),
    ("[per-path.'*.pcap']\nselect = ['HZ']",
     """per-path."*.pcap".select: unknown rule selector 'HZ' (did you mean 'HS'?"""),
    ("""[per-path."x/**".rules.rto-backoff-violation]\ntolerence = 1""",
     """unknown parameter 'tolerence' in [per-path."x/**".rules.rto-backoff-violation] """
     "(did you mean 'tolerance'? parameters: slack, tolerance)"),
    ("[per-path.'*.pcap'.severity]\nHS001 = 'fatal'",
     """per-path."*.pcap".severity.HS001 must be one of error, warning, info, not 'fatal'"""),
    ("[per-path.'caps/[z-a]/**']\nprofile = 'bsd'",
     """per-path."caps/[z-a]/**": bad pattern (bad character range z-a)"""),
    ("baseline = '~nosuchuser/b.json'", "baseline: no user nosuchuser"),
    ("[per-path.'*.pcap']\nprofile = '~nosuchuser/p.toml'",
     """per-path."*.pcap".profile: no user nosuchuser"""),
    ("[rules.rto-backoff-violation]\ntolerance = inf",
     "[rules.rto-backoff-violation] tolerance must be a finite number, not inf"),
    ("[rules.rto-backoff-violation]\ntolerance = 1" + "0" * 399,
     "rules.rto-backoff-violation.tolerance: an integer of 400 digits is out of range"),
    ('profile = "lin\\u0000ux"', "profile: a string holds a NUL character"),
])
def test_an_invalid_config_is_an_error_naming_the_file_and_the_key(tmp_path, text, message):
    path = write(tmp_path / "tcpcheck.toml", text + "\n")
    assert error_of(path).startswith(f"{path}: {message}")


@pytest.mark.parametrize(("text", "message"), [
    ("[tool.tcpcheck]\nselct = ['HS']",
     "unknown key 'selct' in [tool.tcpcheck] (did you mean 'select'?)"),
    ("[tool.tcpcheck]\nselect = ['HZ']",
     "tool.tcpcheck.select: unknown rule selector 'HZ' (did you mean 'HS'?"),
    ("""[tool.tcpcheck.per-path."x/**".rules.rto-backoff-violation]\ntolerence = 1""",
     """unknown parameter 'tolerence' in [tool.tcpcheck.per-path."x/**".rules."""
     "rto-backoff-violation] (did you mean 'tolerance'? parameters: slack, tolerance)"),
    ("[tool]\ntcpcheck = 'strict'", "tool.tcpcheck must be a table, not 'strict'"),
    ("[tool.ruff]\nline-length = 100", "no [tool.tcpcheck] table"),
])
def test_errors_in_pyproject_toml_name_the_full_key_path(tmp_path, text, message):
    path = write(tmp_path / "pyproject.toml", text + "\n")
    assert error_of(path).startswith(f"{path}: {message}")


def test_invalid_toml_is_an_error_with_line_and_column(tmp_path):
    path = write(tmp_path / "tcpcheck.toml", 'profile = "linux"\nselect = [HS]\n')
    message = error_of(path)
    assert message.startswith(f"{path}: invalid TOML: ")
    assert message.endswith("(at line 2, column 11)")


def test_a_missing_config_file_is_an_error(tmp_path):
    assert error_of(tmp_path / "nope.toml") == f"{tmp_path / 'nope.toml'}: no such file"


def test_a_config_that_is_not_utf8_is_an_error(tmp_path):
    path = tmp_path / "tcpcheck.toml"
    path.write_bytes(b"profile = '\xff'\n")
    assert error_of(path) == f"{path}: is not UTF-8 text (byte 0xff at offset 11)"


def test_a_bad_glob_is_an_error_when_the_file_is_loaded_not_when_a_capture_is_matched(
        tmp_path):
    path = write(tmp_path / "tcpcheck.toml", "[per-path.'[z-a]']\nprofile = 'bsd'\n")
    assert "bad pattern" in error_of(path)


def test_discovery_refuses_a_tcpcheck_toml_that_is_not_a_regular_file(tmp_path):
    """Not skipped for a configuration further up: the user meant this one."""
    write(tmp_path / "pyproject.toml", "[tool.tcpcheck]\n")
    os.mkfifo(tmp_path / "tcpcheck.toml")
    with pytest.raises(ConfigError, match=r"is not a regular file \(a FIFO\)"):
        discover_config(tmp_path, CATALOG)


def test_a_configuration_path_may_start_with_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = load(tmp_path, "baseline = '~/b.json'\n")
    assert config.baseline == str(tmp_path / "home" / "b.json")


def test_the_rest_of_a_pyproject_toml_is_left_to_its_own_tools(tmp_path):
    """Only [tool.tcpcheck] is held to tcpcheck's limits: a long readme is not our business."""
    text = f'[project]\nreadme = {{text = "{"x" * 10_000}"}}\n[tool.tcpcheck]\nfail-on = "info"\n'
    assert load(tmp_path, text, name="pyproject.toml").fail_on == "info"


def test_discovery_reports_errors_of_the_file_it_finds(tmp_path):
    write(tmp_path / "tcpcheck.toml", "selct = []\n")
    with pytest.raises(ConfigError, match="did you mean 'select'"):
        discover_config(tmp_path / ".", CATALOG)


# -- per-path patterns -----------------------------------------------------------------------


@pytest.mark.parametrize(("pattern", "path", "expected"), [
    # Without a "/": a file or folder name at any depth.
    ("*.pcapng", "a.pcapng", True),
    ("*.pcapng", "deep/er/a.pcapng", True),
    ("*.pcapng", "a.pcap", False),
    ("windows-*", "captures/windows-2019.pcap", True),
    ("windows-*", "captures/windows-2019/x.pcap", True),
    ("windows", "captures/windows/x.pcap", True),
    ("windows", "captures/windows.pcap", False),
    ("?.pcap", "x/a.pcap", True),
    ("?.pcap", "x/ab.pcap", False),
    ("[ab].pcap", "x/b.pcap", True),
    ("[!ab].pcap", "x/b.pcap", False),
    ("[!ab].pcap", "x/c.pcap", True),
    # With a "/": the path from the config's folder.
    ("captures/*.pcap", "captures/a.pcap", True),
    ("captures/*.pcap", "captures/x/a.pcap", False),
    ("captures/*.pcap", "other/captures/a.pcap", False),
    ("/captures/*.pcap", "captures/a.pcap", True),
    ("captures/**", "captures/a.pcap", True),
    ("captures/**", "captures/x/y/a.pcap", True),
    ("captures/**/*.pcap", "captures/a.pcap", True),
    ("captures/**/*.pcap", "captures/x/y/a.pcap", True),
    ("captures/**/*.pcap", "captures/x/y/a.pcapng", False),
    ("**/bsd/*.pcap", "bsd/a.pcap", True),
    ("**/bsd/*.pcap", "x/y/bsd/a.pcap", True),
    ("captures/bsd", "captures/bsd/x/a.pcap", True),
    ("captures/bsd/", "captures/bsd/a.pcap", True),
    ("captures/bsd/", "captures/bsd", False),
    ("bsd/", "x/bsd/a.pcap", True),
    ("bsd/", "x/bsd", False),
    ("captures/*", "captures/x/a.pcap", True),
    ("c*s/a.pcap", "captures/a.pcap", True),
    ("c*s/a.pcap", "c/s/a.pcap", False),
    ("captures/a?pcap", "captures/a/pcap", False),
    ("captures/a.pcap", "captures/a.pcap", True),
    ("captures/a.pcap", "captures/aXpcap", False),
])
def test_per_path_patterns_match_like_gitignore(tmp_path, pattern, path, expected):
    override = PathOverride(pattern, RuleOptions())
    assert override.matches(str(tmp_path / path), tmp_path) is expected


def test_relative_input_paths_are_taken_from_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(write(tmp_path / "captures" / "bsd" / "a.pcap", "").parent)
    override = PathOverride("captures/bsd/*.pcap", RuleOptions())
    assert override.matches("a.pcap", tmp_path)
    assert override.matches("./a.pcap", tmp_path)
    assert not override.matches("../a.pcap", tmp_path)


def test_a_capture_outside_the_root_matches_only_by_file_name(tmp_path):
    root = tmp_path / "project"
    outside = str(tmp_path / "elsewhere" / "captures" / "a.pcapng")
    assert PathOverride("*.pcapng", RuleOptions()).matches(outside, root)
    assert not PathOverride("captures", RuleOptions()).matches(outside, root)
    assert not PathOverride("**/*.pcapng", RuleOptions()).matches(outside, root)
    assert not PathOverride("captures/", RuleOptions()).matches(outside, root)


def test_a_capture_reached_through_a_symbolic_link_still_matches(tmp_path):
    real = tmp_path / "project"
    write(real / "captures" / "a.pcap", "")
    link = tmp_path / "link"
    os.symlink(real, link)
    override = PathOverride("captures/*.pcap", RuleOptions())
    assert override.matches(str(link / "captures" / "a.pcap"), real)
    assert override.matches(str(real / "captures" / "a.pcap"), link)


# -- layering: defaults < config < per-path tables < command line -----------------------------

LAYERED = """
profile = "windows"
select = ["handshake", "timers"]
ignore = ["HS001"]

[severity]
half-open = "error"
concurrent-syn = "info"

[rules.rto-backoff-violation]
tolerance = 0.5
slack = 0.1

[per-path."bsd/**"]
profile = "bsd"
extend-select = ["SQ001"]
severity = { half-open = "info" }
rules.rto-backoff-violation = { tolerance = 2.0 }

[per-path."*.pcapng"]
ignore = ["TM"]
severity = { half-open = "warning", synack-bad-ack = "warning" }
"""


def test_the_top_level_applies_to_every_capture(tmp_path):
    result = settings(load(tmp_path, LAYERED), str(tmp_path / "x.pcap"))
    assert result.profile == "windows"
    assert result.rules == in_category("handshake") - {"syn-isn-changed"} | in_category("timers")
    assert result.severity["half-open"] == Severity.ERROR
    assert result.severity["concurrent-syn"] == Severity.INFO
    assert result.severity["handshake-bad-ack"] == Severity.ERROR  # the catalog's default
    assert result.params == {"rto-backoff-violation": {"tolerance": 0.5, "slack": 0.1},
                             "syn-retries-exceeded": DEFAULT_PARAMS} | FLOOD_PARAMS


def test_a_matching_per_path_table_overrides_the_top_level_key_by_key(tmp_path):
    result = settings(load(tmp_path, LAYERED), str(tmp_path / "bsd" / "lab" / "x.pcap"))
    assert result.profile == "bsd"
    assert "ack-unsent-data" in result.rules and "syn-isn-changed" not in result.rules
    assert result.severity["half-open"] == Severity.INFO
    assert result.severity["concurrent-syn"] == Severity.INFO
    assert result.params["rto-backoff-violation"] == {"tolerance": 2.0, "slack": 0.1}


def test_several_matching_per_path_tables_apply_in_file_order(tmp_path):
    result = settings(load(tmp_path, LAYERED), str(tmp_path / "bsd" / "x.pcapng"))
    assert result.profile == "bsd"
    assert result.rules == (in_category("handshake") - {"syn-isn-changed"}) | {"ack-unsent-data"}
    assert result.severity["half-open"] == Severity.WARNING
    assert result.severity["synack-bad-ack"] == Severity.WARNING


def test_the_command_line_wins_over_every_file_layer(tmp_path):
    cli = RuleOptions(selection=RuleSelection(select=("HS", "TM003")), profile="linux-legacy",
                      severity={"half-open": Severity.INFO},
                      params={"rto-backoff-violation": {"slack": 0.3}})
    result = settings(load(tmp_path, LAYERED), str(tmp_path / "bsd" / "x.pcapng"), cli)
    assert result.profile == "linux-legacy"
    assert result.rules == in_category("handshake") | {"rto-backoff-violation"}
    assert result.severity["half-open"] == Severity.INFO
    assert result.params["rto-backoff-violation"] == {"tolerance": 2.0, "slack": 0.3}


def test_settings_give_a_severity_for_every_enabled_rule_and_no_other(tmp_path):
    result = settings(load(tmp_path, "select = ['HS']\n[severity]\nSQ001 = 'info'\n"))
    assert set(result.severity) == result.rules == in_category("handshake")


def test_settings_give_every_parameter_even_of_disabled_rules(tmp_path):
    result = settings(load(tmp_path, "select = ['HS']\n"))
    assert result.params == {slug: DEFAULT_PARAMS for slug in PARAMETRISED} | FLOOD_PARAMS


def test_the_default_profile_applies_when_no_layer_names_one(tmp_path):
    config = load(tmp_path, "select = ['HS']\n")
    assert settings_for(config, "x.pcap", RuleOptions(), CATALOG,
                        default_profile="rfc9293").profile == "rfc9293"


def test_command_line_names_may_be_codes_and_are_checked(tmp_path):
    config = discover_config(tmp_path, CATALOG)
    cli = RuleOptions(severity={"HS005": Severity.ERROR}, params={"TM001": {"tolerance": 1}})
    result = settings(config, cli=cli)
    assert result.severity["half-open"] == Severity.ERROR
    assert result.params["syn-retries-exceeded"] == {"tolerance": 1.0, "slack": 0.05}
    with pytest.raises(CatalogError, match="no parameter 'tolerence'"):
        settings(config, cli=RuleOptions(params={"TM001": {"tolerence": 1}}))
    with pytest.raises(CatalogError, match="unknown rule"):
        settings(config, cli=RuleOptions(severity={"HS999": Severity.ERROR}))


def test_an_unknown_selector_on_the_command_line_is_a_selection_error(tmp_path):
    cli = RuleOptions(selection=RuleSelection(ignore=("HZ",)))
    with pytest.raises(SelectionError, match="did you mean 'HS'"):
        settings(discover_config(tmp_path, CATALOG), cli=cli)
