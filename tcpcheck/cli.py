"""The command line: ``tcpcheck analyze FILE...``.

Results go to stdout, errors and warnings to stderr. Exit codes (``ExitCode``) are public API:
0 nothing at or above ``--fail-on``, 1 findings at or above it, 2 usage or input error.
"""

from __future__ import annotations

import sys
from enum import IntEnum

import click
from rich.console import Console

from tcpcheck import __version__
from tcpcheck.catalog import CatalogError
from tcpcheck.engine import analyze_files
from tcpcheck.profiles import DEFAULT_PROFILE, ProfileError, load_profile, profile_names
from tcpcheck.report import render_terminal, write_json
from tcpcheck.result import AnalysisResult, Severity
from tcpcheck.sources import CaptureError


class ExitCode(IntEnum):
    """Process exit status."""

    OK = 0
    """Nothing at or above the fail level."""
    FINDINGS = 1
    """At least one finding at or above the fail level."""
    ERROR = 2
    """Usage or input error (one line on stderr)."""


FAIL_LEVELS = ("error", "warning", "info", "never")


def exit_code(result: AnalysisResult, fail_on: str) -> ExitCode:
    """The exit status for ``result`` under ``--fail-on``."""
    if fail_on == "never":
        return ExitCode.OK
    threshold = Severity.parse(fail_on)
    if any(f.severity >= threshold for f in result.findings):
        return ExitCode.FINDINGS
    return ExitCode.OK


def _fail(message: str) -> None:
    click.echo(f"tcpcheck: error: {message}", err=True)
    sys.exit(ExitCode.ERROR)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tcpcheck")
def main() -> None:
    """Check that the TCP in packet captures follows the protocol, and explain where not."""


@main.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--profile", "profile_name", default=DEFAULT_PROFILE, show_default=True,
              metavar="NAME|FILE.toml",
              help=f"Stack profile the timers are checked against ({', '.join(profile_names())})"
                   " or a TOML file overriding one.")
@click.option("--format", "fmt", type=click.Choice(["terminal", "json"]), default="terminal",
              show_default=True, help="Report format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to this file instead of stdout.")
@click.option("--fail-on", type=click.Choice(FAIL_LEVELS), default="error", show_default=True,
              help="Exit with 1 when a finding at or above this severity exists.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto",
              show_default=True, help="Colour in the terminal report (NO_COLOR is honoured).")
@click.option("--no-info", is_flag=True, help="Leave info findings out of the terminal report.")
def analyze(files: tuple[str, ...], profile_name: str, fmt: str, output: str | None,
            fail_on: str, color: str, no_info: bool) -> None:
    """Analyse capture files (pcap or pcapng, optionally gzip-compressed)."""
    try:
        profile = load_profile(profile_name)
        result = analyze_files(list(files), profile)
    except (CaptureError, ProfileError, CatalogError) as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        sys.exit(130)
    for capture in result.captures:
        if capture.damage:
            click.echo(f"tcpcheck: warning: {capture.input}: {capture.damage} "
                       f"(analysed up to there)", err=True)
    try:
        _write(result, fmt, output, color, no_info)
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror}")
    sys.exit(exit_code(result, fail_on))


def _write(result: AnalysisResult, fmt: str, output: str | None, color: str,
           no_info: bool) -> None:
    if fmt == "json":
        if output:
            with open(output, "w", encoding="utf-8") as fh:
                write_json(result, fh)
        else:
            write_json(result, sys.stdout)
        return
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            render_terminal(result, Console(file=fh, no_color=True, width=120),
                            show_info=not no_info)
        return
    force = {"always": True, "never": False}.get(color)
    console = Console(force_terminal=force, no_color=color == "never" or None)
    render_terminal(result, console, show_info=not no_info)
