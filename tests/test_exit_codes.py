"""Exit codes stay meaningful for CI: 1 means findings and nothing else. A failed stdout is
one line and 2, a closed pipe a quiet 141, Ctrl-C 130, SIGTERM 143, a bug 3 with one line (the
traceback with --debug or TCPCHECK_DEBUG=1), never click's "Aborted!" or a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import click
import pytest

from tcpcheck.cli.exits import ExitCode, Group, Terminated

ROOT = Path(__file__).resolve().parent.parent
CAPTURE = ROOT / "captures" / "linux" / "close-client-first.pcap"
VENV_TCPCHECK = Path(sys.executable).parent / "tcpcheck"
ENV = {"PATH": "/usr/bin:/bin", "NO_COLOR": "1"}
PCAP_HEADER = CAPTURE.read_bytes()[:24]


def tcpcheck(*args: object, stdout: int | None = subprocess.PIPE,
             env: dict[str, str] = ENV) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tcpcheck", *map(str, args)], stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=120, env=env)


# ---------------------------------------------------------------- stdout


@pytest.mark.parametrize("fmt", ["terminal", "json", "html"])
def test_a_full_stdout_is_one_line_and_exit_2(fmt):
    with open("/dev/full", "w") as full:
        proc = tcpcheck("analyze", CAPTURE, "--format", fmt, stdout=full.fileno())
    assert proc.returncode == ExitCode.ERROR
    assert proc.stderr == ("tcpcheck: error: cannot write the report to stdout: "
                           "No space left on device\n")


@pytest.mark.parametrize("args", [("rules",), ("explain", "HS001"), ("profiles", "linux"),
                                  ("show", CAPTURE, "--connection", "0")])
def test_a_full_stdout_is_one_line_for_every_command(args):
    with open("/dev/full", "w") as full:
        proc = tcpcheck(*args, stdout=full.fileno())
    assert proc.returncode == ExitCode.ERROR
    [line] = proc.stderr.splitlines()
    assert line.startswith("tcpcheck: error: cannot write the ")
    assert line.endswith(" to stdout: No space left on device")


@pytest.mark.parametrize("args", [("analyze", CAPTURE), ("analyze", CAPTURE, "--format", "json"),
                                  ("rules",)])
def test_a_closed_pipe_ends_quietly_with_141(args):
    # The reading end is closed before tcpcheck starts: its first write meets a closed pipe,
    # as `tcpcheck ... | head -1` does once head has its line.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = tcpcheck(*args, stdout=write_end)
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr) == (ExitCode.BROKEN_PIPE, "")


# ---------------------------------------------------------------- signals during the analysis


@pytest.mark.parametrize(("signum", "code", "line"), [
    (signal.SIGINT, ExitCode.INTERRUPTED, "tcpcheck: interrupted"),
    (signal.SIGTERM, ExitCode.TERMINATED, "tcpcheck: terminated"),
])
def test_a_signal_while_the_capture_is_read_exits_130_or_143(tmp_path, signum, code, line):
    fifo = tmp_path / "live.pcap"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-m", "tcpcheck", "analyze", str(fifo)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        # open() returns once tcpcheck opened the FIFO to read it: it is analysing, and will
        # wait for the packets after the header.
        with open(fifo, "wb") as writer:
            writer.write(PCAP_HEADER)
            writer.flush()
            proc.send_signal(signum)
            out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    # One assertion, so that a wrong exit code shows what tcpcheck said.
    assert (proc.returncode, out, err) == (code, "", line + "\n")


# ---------------------------------------------------------------- the group, in process


def group_raising(exc: BaseException) -> click.Group:
    """A real tcpcheck Group whose one command raises ``exc``."""
    @click.group(cls=Group)
    @click.option("--debug", is_flag=True)
    def cli(debug: bool) -> None:
        pass

    @cli.command()
    def boom() -> None:
        raise exc

    return cli


def run(group: click.Group, *args: str) -> int:
    with pytest.raises(SystemExit) as exit_info:
        group.main(list(args), prog_name="tcpcheck")
    return exit_info.value.code


def test_an_internal_error_is_one_line_and_exit_3(capsys, monkeypatch):
    monkeypatch.delenv("TCPCHECK_DEBUG", raising=False)
    assert run(group_raising(ValueError("bad\nthing")), "boom") == ExitCode.INTERNAL
    out, err = capsys.readouterr()
    assert out == ""
    assert err == ("tcpcheck: internal error: ValueError: bad thing (this is a bug in tcpcheck; "
                   "run again with --debug for the traceback)\n")


@pytest.mark.parametrize(("args", "env"), [(("--debug", "boom"), None), (("boom",), "1")])
def test_debug_prints_the_traceback_before_the_line(capsys, monkeypatch, args, env):
    monkeypatch.delenv("TCPCHECK_DEBUG", raising=False)
    if env is not None:
        monkeypatch.setenv("TCPCHECK_DEBUG", env)
    assert run(group_raising(KeyError("k")), *args) == ExitCode.INTERNAL
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert "raise exc" in err
    assert err.splitlines()[-1] == ("tcpcheck: internal error: KeyError: 'k' "
                                    "(this is a bug in tcpcheck)")


@pytest.mark.parametrize(("exc", "code", "line"), [
    (KeyboardInterrupt(), ExitCode.INTERRUPTED, "tcpcheck: interrupted\n"),
    (Terminated(), ExitCode.TERMINATED, "tcpcheck: terminated\n"),
    (BrokenPipeError(), ExitCode.BROKEN_PIPE, ""),
])
def test_interruptions_have_their_own_code_never_clicks_aborted_1(capsys, exc, code, line):
    assert run(group_raising(exc), "boom") == code
    assert capsys.readouterr().err == line


def test_a_usage_error_keeps_clicks_message_and_exit_2(capsys):
    assert run(group_raising(ValueError()), "boom", "--nope") == ExitCode.ERROR
    err = capsys.readouterr().err
    assert err.startswith("Usage: tcpcheck boom") and "Error: No such option" in err


def test_sys_exit_from_a_command_keeps_its_code(capsys):
    assert run(group_raising(SystemExit(1)), "boom") == ExitCode.FINDINGS


@pytest.mark.parametrize("argv", [[str(VENV_TCPCHECK)], [sys.executable, "-m", "tcpcheck"]],
                         ids=["console script", "python -m"])
def test_the_console_script_and_python_m_both_run_the_group(argv):
    if not Path(argv[0]).exists():
        pytest.skip(f"no tcpcheck console script beside {sys.executable}")
    proc = subprocess.run([*argv, "--version"], capture_output=True, text=True, timeout=60,
                          env=ENV)
    assert proc.returncode == 0 and proc.stdout.startswith("tcpcheck, version ")


@pytest.mark.parametrize("args", [("analyze", "no\nsuch.pcap"),
                                  ("analyze", "--baseline", "no\nbaseline.json", "x.pcap")])
def test_an_error_naming_a_path_with_a_newline_stays_one_line(args):
    done = tcpcheck(*args)
    assert done.returncode == ExitCode.ERROR
    assert done.stderr.count("\n") == 1 and "no\\n" in done.stderr
