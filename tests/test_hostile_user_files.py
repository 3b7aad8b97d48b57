"""Hostile user files through the real command line: whatever a configuration, profile or
baseline holds, tcpcheck prints one line naming the file (and the key), exits 2, and neither
hangs, nor reads without end, nor shows a traceback.

Every case runs ``python -m tcpcheck`` as a subprocess with a timeout, so a hang fails the test
instead of blocking the suite; FIFOs, folders, /dev/zero and /dev/urandom are the real things.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
CAPTURE = str(ROOT / "captures" / "linux" / "close-client-first.pcap")
HANG_LIMIT = 20
"""Seconds a case may take before it counts as a hang (each takes well under one)."""


class Case(NamedTuple):
    """A command to run and what its one line of stderr must say."""

    args: tuple[str, ...]
    file: str
    """The file the message must name, as given."""
    says: str
    """A fragment of the message: what is wrong, and the key where there is one."""
    cwd: Path | None = None
    """The working directory, for configurations found by discovery."""


def tcpcheck(args: tuple[str, ...], cwd: Path | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tcpcheck", *args], capture_output=True,
                          text=True, timeout=HANG_LIMIT, cwd=cwd,
                          env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1",
                               "HOME": str(cwd or ROOT)})


def write(path: Path, content: str | bytes) -> str:
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return str(path)


def fifo(path: Path) -> str:
    os.mkfifo(path)  # nobody ever opens it for writing: reading it would wait forever
    return str(path)


def folder(path: Path) -> str:
    path.mkdir()
    return str(path)


def sparse(path: Path, size: int) -> str:
    with open(path, "wb") as fh:
        fh.truncate(size)
    return str(path)


def deep_toml(levels: int) -> str:
    return "a = " + "[" * levels + "]" * levels + "\n"


def deep_json(levels: int) -> str:
    return "[" * levels + "]" * levels


# -- baselines -------------------------------------------------------------------------------

ENTRY = {"input": "cap.pcap", "rule": "retransmission", "code": "SQ010", "side": "client",
         "service": 80, "position": "seq=1", "fingerprint": "0123456789abcdef", "count": 1}


def baseline_doc(**changes: object) -> str:
    return json.dumps({"tool": "tcpcheck", "baseline": 1, "findings": [ENTRY | changes]})


def with_baseline(make: Callable[[Path], str], says: str) -> Callable[[Path], Case]:
    def case(tmp: Path) -> Case:
        path = make(tmp / "baseline.json")
        return Case(("analyze", "--isolated", "--baseline", path, CAPTURE), path, says)
    return case


def baseline_text(text: str, says: str) -> Callable[[Path], Case]:
    return with_baseline(lambda p: write(p, text), says)


BASELINES = {
    "a FIFO with no writer": with_baseline(fifo, "is not a regular file (a FIFO)"),
    "/dev/zero": with_baseline(lambda _: "/dev/zero",
                               "is not a regular file (a character device)"),
    "/dev/urandom": with_baseline(lambda _: "/dev/urandom",
                                  "is not a regular file (a character device)"),
    "a folder": with_baseline(folder, "is a folder"),
    "larger than 16 MiB": with_baseline(lambda p: sparse(p, 16 * 2**20 + 1),
                                        "is larger than 16 MiB, the limit for a baseline file"),
    "not UTF-8": with_baseline(lambda p: write(p, b'{"tool": "\xe9"}'),
                               "is not UTF-8 text (byte 0xe9 at offset 10)"),
    "a NUL byte": with_baseline(lambda p: write(p, b'{"tool": "tcpcheck"}\0'),
                                "NUL byte at offset 20"),
    "100,000 levels of nesting": baseline_text(deep_json(100_000), "nested too deeply"),
    "100 levels of nesting": baseline_text(
        baseline_doc(input=json.loads(deep_json(100))), "nested too deeply at findings[0].input"),
    "a 5,000-digit count": baseline_text(
        baseline_doc().replace('"count": 1', '"count": ' + "9" * 5000),
        "findings[0].count: an integer of 5000 digits is out of range"),
    "count true": baseline_text(baseline_doc(count=True),
                                "findings[0].count must be a whole number from 1 to "
                                "4294967296, not true"),
    "count 0": baseline_text(baseline_doc(count=0), "findings[0].count must be a whole number"),
    "count NaN": baseline_text(baseline_doc().replace('"count": 1', '"count": NaN'),
                               "NaN is not a JSON number"),
    "a fractional count": baseline_text(baseline_doc(count=1.5),
                                        "findings[0].count must be a whole number"),
    "service as text": baseline_text(baseline_doc(service="80"),
                                     "findings[0].service must be a whole number from 1 to "
                                     "65535, or null, not the string '80'"),
    "service 70000": baseline_text(baseline_doc(service=70000),
                                   "findings[0].service must be a whole number"),
    "input as a number": baseline_text(baseline_doc(input=7),
                                       "findings[0].input must be a string, not 7"),
    "a NUL in a string": baseline_text(baseline_doc(position="seq=\u0000"),
                                       "findings[0].position: a string holds a NUL character"),
    "a string of 5,000 characters": baseline_text(baseline_doc(rule="r" * 5000),
                                                  "findings[0].rule: a string of 5,000"),
    "an entry that is a list": baseline_text(
        json.dumps({"tool": "tcpcheck", "baseline": 1, "findings": [[1]]}),
        "findings[0] is a malformed baseline entry: a list, not an object"),
    "findings as a table": baseline_text(
        json.dumps({"tool": "tcpcheck", "baseline": 1, "findings": {}}),
        "findings must be a list, not a table"),
    "version true": baseline_text(
        json.dumps({"tool": "tcpcheck", "baseline": True, "findings": []}),
        "baseline version true is not supported"),
}


# -- configuration files ---------------------------------------------------------------------


def with_config(make: Callable[[Path], str], says: str) -> Callable[[Path], Case]:
    def case(tmp: Path) -> Case:
        path = make(tmp / "tcpcheck.toml")
        return Case(("analyze", "--config", path, CAPTURE), path, says)
    return case


def config_text(text: str | bytes, says: str) -> Callable[[Path], Case]:
    return with_config(lambda p: write(p, text), says)


def discovered(name: str, text: str, says: str) -> Callable[[Path], Case]:
    """A configuration found by discovery from the working directory, not named."""
    def case(tmp: Path) -> Case:
        path = write(tmp / name, text)
        return Case(("analyze", CAPTURE), path, says, cwd=tmp)
    return case


def discovered_fifo(tmp: Path) -> Case:
    path = fifo(tmp / "tcpcheck.toml")
    return Case(("analyze", CAPTURE), path, "is not a regular file (a FIFO)", cwd=tmp)


def shown_with_fifo(tmp: Path) -> Case:
    """``show`` reads the same configuration as ``analyze``, through the same loader."""
    path = fifo(tmp / "tcpcheck.toml")
    return Case(("show", CAPTURE, "--connection", "1", "--config", path), path,
                "is not a regular file (a FIFO)")


TOOL = "[tool.tcpcheck]\n"
HUGE = "1" + "0" * 399

CONFIGS = {
    "a FIFO with no writer": with_config(fifo, "is not a regular file (a FIFO)"),
    "/dev/zero": with_config(lambda _: "/dev/zero",
                             "is not a regular file (a character device)"),
    "/dev/urandom": with_config(lambda _: "/dev/urandom",
                                "is not a regular file (a character device)"),
    "a folder": with_config(folder, "is a folder, not a configuration file"),
    "larger than 1 MiB": with_config(lambda p: sparse(p, 2**20 + 1),
                                     "is larger than 1 MiB, the limit for a configuration file"),
    "not UTF-8": config_text(b"profile = 'linux\xff'\n", "is not UTF-8 text (byte 0xff"),
    "a NUL byte": config_text(b"profile = 'linux'\n\0", "NUL byte at offset 18"),
    "a NUL in a string": config_text('profile = "lin\\u0000ux"\n',
                                     "profile: a string holds a NUL character"),
    "a NUL in a key": config_text('[severity]\n"HS\\u0000" = "error"\n',
                                  "severity: a key holds a NUL character"),
    "100,000 levels of nesting": config_text(deep_toml(100_000), "nested too deeply"),
    "100 levels of nesting": config_text(deep_toml(100), "nested too deeply at a[0]"),
    "a bad glob range": config_text('[per-path."[z-a].pcap"]\nprofile = "bsd"\n',
                                    'per-path."[z-a].pcap": bad pattern (bad character '
                                    "range z-a)"),
    "~nosuchuser in the baseline": config_text(
        'baseline = "~nosuchuser/baseline.json"\n', "baseline: no user nosuchuser"),
    "~nosuchuser in a profile path": config_text(
        'profile = "~nosuchuser/p.toml"\n', "profile: no user nosuchuser"),
    "a newline in the baseline path": config_text(
        'baseline = "a\\nb.json"\n',
        "baseline: a path must not hold control characters, not 'a\\nb.json'"),
    "a 400-digit rule parameter": config_text(
        f"[rules.rto-backoff-violation]\ntolerance = {HUGE}\n",
        "rules.rto-backoff-violation.tolerance: an integer of 400 digits is out of range"),
    "a 5,000-digit rule parameter": config_text(
        "[rules.rto-backoff-violation]\ntolerance = " + "9" * 5000 + "\n",
        "an integer with thousands of digits"),
    "an infinite rule parameter": config_text(
        "[rules.rto-backoff-violation]\ntolerance = inf\n",
        "[rules.rto-backoff-violation] tolerance must be a finite number, not inf"),
    "a NaN rule parameter": config_text(
        "[rules.rto-backoff-violation]\nslack = nan\n",
        "[rules.rto-backoff-violation] slack must be a finite number, not nan"),
    "a string of 5,000 characters": config_text(f'select = ["{"H" * 5000}"]\n',
                                                "select[0]: a string of 5,000 characters"),
    "pyproject: a bad glob range": discovered(
        "pyproject.toml", TOOL + '[tool.tcpcheck.per-path."[z-a]"]\nprofile = "bsd"\n',
        'tool.tcpcheck.per-path."[z-a]": bad pattern'),
    "pyproject: a NUL in a string": discovered(
        "pyproject.toml", TOOL + 'fail-on = "error\\u0000"\n',
        "tool.tcpcheck.fail-on: a string holds a NUL character"),
    "pyproject: 100 levels of nesting": discovered(
        "pyproject.toml", TOOL + deep_toml(100), "nested too deeply at tool.tcpcheck.a"),
    "pyproject: 100,000 levels of nesting": discovered(
        "pyproject.toml", TOOL + deep_toml(100_000), "nested too deeply"),
    "pyproject: a 400-digit rule parameter": discovered(
        "pyproject.toml", f"[tool.tcpcheck.rules.TM003]\nslack = {HUGE}\n",
        "tool.tcpcheck.rules.TM003.slack: an integer of 400 digits"),
    "pyproject: ~nosuchuser": discovered(
        "pyproject.toml", TOOL + 'baseline = "~nosuchuser/b.json"\n', "no user nosuchuser"),
    "discovered tcpcheck.toml is a FIFO": discovered_fifo,
    "show --config a FIFO": shown_with_fifo,
}


# -- profile files ---------------------------------------------------------------------------


def with_profile(make: Callable[[Path], str], says: str, *,
                 command: str = "analyze") -> Callable[[Path], Case]:
    def case(tmp: Path) -> Case:
        path = make(tmp / "p.toml")
        args = ("profiles", path) if command == "profiles" else \
            ("analyze", "--isolated", "--profile", path, CAPTURE)
        return Case(args, path, says)
    return case


def profile_text(text: str | bytes, says: str, **kwargs: str) -> Callable[[Path], Case]:
    return with_profile(lambda p: write(p, text), says, **kwargs)


def profile_cycle(tmp: Path) -> Case:
    write(tmp / "a.toml", 'base = "b.toml"\n')
    path = write(tmp / "b.toml", 'base = "a.toml"\n')
    return Case(("analyze", "--isolated", "--profile", str(tmp / "a.toml"), CAPTURE), path,
                "base names a file already read for this profile")


def profile_from_config(tmp: Path) -> Case:
    profile = write(tmp / "p.toml", 'time_wait = "x"\n')
    config = write(tmp / "tcpcheck.toml", 'profile = "p.toml"\n')
    return Case(("analyze", "--config", config, CAPTURE), profile, "time_wait must be")


PROFILES = {
    "time_wait as text": profile_text(
        'time_wait = "x"\n',
        "time_wait must be a number of seconds from 0 to 3600, not the string 'x'"),
    "time_wait inf": profile_text("time_wait = inf\n", "time_wait must be a number of seconds "
                                                      "from 0 to 3600, not inf"),
    "time_wait nan": profile_text("time_wait = nan\n", "time_wait must be"),
    "time_wait 1e300": profile_text("time_wait = 1e300\n", "not 1e+300"),
    "a negative time": profile_text("rto_min = -0.2\n", "rto_min must be a number of seconds "
                                                        "from 0 to 3600, not -0.2"),
    "fin_timeout -inf": profile_text("fin_timeout = -inf\n",
                                     "fin_timeout must be a number of seconds from 0 to 3600, "
                                     "or inf for none, not -inf"),
    "syn_retries 128": profile_text("syn_retries = 128\n", "syn_retries must be a whole number "
                                                           "from 0 to 127, not 128"),
    "syn_retries 3.0": profile_text("syn_retries = 3.0\n", "syn_retries must be a whole number"),
    "keepalive_probes true": profile_text("keepalive_probes = true\n",
                                          "keepalive_probes must be a whole number from 0 to "
                                          "255, not true"),
    "max_rto below initial_rto": profile_text("initial_rto = 3.0\nmax_rto = 1.0\n",
                                              "max_rto (1 s) is below initial_rto (3 s)"),
    "a 400-digit count": profile_text(f"syn_retries = {HUGE}\n",
                                      "syn_retries: an integer of 400 digits is out of range"),
    "name as a number": profile_text("name = 5\n", "name must be a string, not 5"),
    "base 5": profile_text("base = 5\n", "base must be a profile name or a .toml file, not 5"),
    "base naming the file itself": profile_text('base = "p.toml"\n',
                                                "base names a file already read"),
    "base in a cycle of files": profile_cycle,
    "base with a newline": profile_text('base = "a\\nb.toml"\n',
                                        "base: a path must not hold control characters"),
    "base ~nosuchuser": profile_text('base = "~nosuchuser/p.toml"\n', "no user nosuchuser"),
    "not UTF-8": profile_text(b"name = '\xc3('\n", "is not UTF-8 text (byte 0xc3 at offset 8)"),
    "100,000 levels of nesting": profile_text(deep_toml(100_000), "nested too deeply"),
    "a FIFO with no writer": with_profile(fifo, "is not a regular file (a FIFO)"),
    "a folder": with_profile(folder, "is a folder, not a profile file"),
    "named by a configuration": profile_from_config,
    "profiles: synack_retries 2000": profile_text(
        "synack_retries = 2000\n", "synack_retries must be a whole number from 0 to 255, "
                                   "not 2000", command="profiles"),
    "profiles: time_wait inf": profile_text("time_wait = inf\n", "time_wait must be",
                                            command="profiles"),
    "profiles: a FIFO": with_profile(fifo, "is not a regular file (a FIFO)",
                                     command="profiles"),
}


CASES = {f"baseline: {k}": v for k, v in BASELINES.items()} \
    | {f"config: {k}": v for k, v in CONFIGS.items()} \
    | {f"profile: {k}": v for k, v in PROFILES.items()}


@pytest.mark.parametrize("make", CASES.values(), ids=CASES.keys())
def test_a_hostile_user_file_is_one_line_naming_it_and_exit_2(tmp_path, make):
    case = make(tmp_path)
    proc = tcpcheck(case.args, case.cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("tcpcheck: error: "), \
        proc.stderr
    assert case.file in proc.stderr
    assert case.says in proc.stderr
    assert proc.stdout == ""


def test_a_well_formed_profile_file_and_baseline_still_work(tmp_path):
    """The checks refuse what is wrong, not what is merely unusual: a profile with the RFC's
    unbounded FIN_WAIT_2, big but legal counts, and an empty baseline."""
    profile = write(tmp_path / "p.toml", 'base = "rfc9293"\nfin_timeout = inf\n'
                    "synack_retries = 255\nsyn_retries = 127\ntime_wait = 3600\n")
    baseline = write(tmp_path / "b.json", '{"tool": "tcpcheck", "baseline": 1, "findings": []}')
    proc = tcpcheck(("analyze", "--isolated", "--profile", profile, "--baseline", baseline,
                     CAPTURE), None)
    assert proc.returncode == 0, proc.stderr
    shown = tcpcheck(("profiles", "--format", "json", profile), None)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["synack_retries"] == 255


def test_a_broken_baseline_is_refused_before_any_capture_is_read(tmp_path):
    """The capture does not exist: the error is still the baseline's, so no analysis ran."""
    baseline = folder(tmp_path / "baseline.json")
    proc = tcpcheck(("analyze", "--isolated", "--baseline", baseline,
                     str(tmp_path / "missing.pcap")), None)
    assert proc.returncode == 2
    assert proc.stderr == f"tcpcheck: error: {baseline}: is a folder, not a baseline file\n"
