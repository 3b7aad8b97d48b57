"""What every analysing command shares: the options settled into a ``Run`` before a packet is
read, the user errors that end it with one line and exit 2, and the reports written at the end.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import sys
from pathlib import Path
from typing import NoReturn

import click

from tcpcheck.baseline import BaselineError
from tcpcheck.catalog import Catalog, CatalogError, load_catalog
from tcpcheck.cli.console import report_console
from tcpcheck.cli.exits import ExitCode, one_line, writing_stdout
from tcpcheck.cluster import ClusterError
from tcpcheck.config import (
    Config,
    ConfigError,
    RuleOptions,
    discover_config,
    load_config,
    settings_for,
)
from tcpcheck.engine import RuleSetup
from tcpcheck.host_profiles import HostProfiles, Pin
from tcpcheck.live import LiveError
from tcpcheck.parallel import WorkerError
from tcpcheck.pipeline import Job
from tcpcheck.profiles import AUTO, Profile, ProfileError, load_profile
from tcpcheck.readfilter import FilterError, ReadFilter
from tcpcheck.report.formats import REGISTRY, ReportSettings, Sink
from tcpcheck.report.outputs import Output, OutputError, plan_outputs
from tcpcheck.report.plain import plain_console
from tcpcheck.report.sarif import GITHUB_RESULT_LIMIT
from tcpcheck.result import AnalysisResult, Severity
from tcpcheck.selection import RuleSelection, SelectionError, split_selectors
from tcpcheck.sources import CaptureError
from tcpcheck.spill import SpillError
from tcpcheck.timeline import Recording
from tcpcheck.writing import StagedWrites, Target, WriteError, check_target

USER_ERRORS = (CaptureError, ProfileError, CatalogError, ConfigError, SelectionError,
               BaselineError, OutputError, LiveError, WriteError, FilterError, SpillError,
               WorkerError, ClusterError)
"""Errors that are the input's or the user's, reported as one line with exit status 2."""

def fail(message: str) -> NoReturn:
    """End the run with ``message`` as one line on stderr and exit status 2."""
    click.echo(f"tcpcheck: error: {one_line(message)}", err=True)
    sys.exit(ExitCode.ERROR)


def exit_code(result: AnalysisResult, fail_on: str) -> ExitCode:
    """The exit status for ``result`` under ``--fail-on``."""
    if fail_on == "never":
        return ExitCode.OK
    threshold = Severity.parse(fail_on)
    if any(f.severity >= threshold for f in result.findings):
        return ExitCode.FINDINGS
    return ExitCode.OK


def waiting_for_writer(name: str) -> None:
    """Say on stderr that a FIFO input (standard input from a pipe too) has sent nothing yet.

    Worded for both: a named FIFO may have no writer at all, a pipe's writer (tcpdump
    buffering its output) may not have written yet.
    """
    click.echo(f"tcpcheck: {name}: waiting for a writer to send the capture (Ctrl-C to stop)",
               err=True)


def compile_filter(expression: str | None) -> ReadFilter | None:
    """``--filter EXPR`` compiled (FilterError when libpcap refuses it), or None without it.

    Called before any capture is opened, so that a bad expression costs no reading.
    """
    return None if expression is None else ReadFilter(expression)


@dataclasses.dataclass(frozen=True, slots=True)
class Run:
    """What a command that analyses settles before it reads a packet."""

    catalog: Catalog
    config: Config
    cli: RuleOptions
    """The rule options given on the command line."""
    level: str
    """The ``--fail-on`` level in force."""
    outputs: list[Output]
    ignore_checksums: bool = False

    @property
    def threshold(self) -> Severity | None:
        return None if self.level == "never" else Severity.parse(self.level)

    def recording(self, html_all: bool) -> Recording | None:
        """The timelines the reports draw: only the formats that draw timelines need any."""
        if not any(REGISTRY[out.format].timelines for out in self.outputs):
            return None
        return Recording(all=html_all)

    def jobs(self, inputs: list[str]) -> list[Job]:
        """Each input with the profile and rules its settings give; profiles read once each."""
        profiles: dict[str, Profile | HostProfiles] = {}
        jobs = []
        for path in inputs:
            settings = settings_for(self.config, path, self.cli, self.catalog,
                                    default_profile=AUTO)
            profile = profiles.get(settings.profile)
            if profile is None:
                profile = profiles[settings.profile] = self._profile(settings.profile)
            setup = RuleSetup(rules=settings.rules, severity=settings.severity,
                              params=settings.params,
                              verify_checksums=not self.ignore_checksums)
            jobs.append(Job(path, profile, setup))
        return jobs

    def _profile(self, name: str) -> Profile | HostProfiles:
        """Load a profile (``auto``: a profile per side, with the configuration's pins); one
        the configuration named is reported with the file's name."""
        try:
            if name == AUTO:
                return HostProfiles.bundled(tuple(
                    Pin(pin.network, load_profile(pin.profile)) for pin in self.config.hosts))
            return load_profile(name)
        except ProfileError as exc:
            if self.config.path is None or name == self.cli.profile:
                raise
            raise ProfileError(f"{self.config.path}: {exc}") from None


def prepare(*, config_path: str | None, isolated: bool, profile_name: str | None,
            select: tuple[str, ...], extend_select: tuple[str, ...], ignore: tuple[str, ...],
            fail_on: str | None, formats: tuple[str, ...], output: str | None,
            quiet: bool, ignore_checksums: bool = False) -> Run:
    """Outputs, catalog, configuration, rule selection and gate level from the options.

    Raises the errors ``USER_ERRORS`` lists.
    """
    outputs = plan_outputs(formats, output, quiet=quiet)
    catalog = load_catalog()
    config = _config(config_path, isolated, catalog)
    cli = RuleOptions(selection=RuleSelection(
        select=split_selectors(select) if select else None,
        extend_select=split_selectors(extend_select), ignore=split_selectors(ignore)),
        profile=profile_name)
    return Run(catalog, config, cli, fail_on or config.fail_on or "error", outputs,
               ignore_checksums)


def _config(path: str | None, isolated: bool, catalog: Catalog) -> Config:
    if isolated:
        return Config(path=None, root=Path.cwd(), options=RuleOptions())
    if path is not None:
        return load_config(Path(path), catalog)
    return discover_config(Path.cwd(), catalog)


def targets(outputs: list[Output], output: str | None, *extra: Target) -> list[Target]:
    """Every file the run will write, as the user named it, checked before anything is read:
    not a folder, in a folder that exists and can be written. Raises WriteError."""
    named = [Target(f"-o {shlex.quote(out.path)}" if out.path == output else
                    f"--format {shlex.quote(f'{out.format}:{out.path}')}", out.path)
             for out in outputs if out.path is not None]
    named.extend(extra)
    for target in named:
        check_target(target)
    return named


def folder_of(path: str) -> Path:
    """The folder a file named on the command line is in."""
    return Path(os.path.abspath(path)).parent


def report(result: AnalysisResult, outputs: list[Output], settings: ReportSettings,
           staged: StagedWrites, *, color: str) -> None:
    """Warn about damaged captures, print the report for stdout, stage the files, then put
    every file in place at once."""
    for capture in result.captures:
        if capture.damage:
            click.echo(f"tcpcheck: warning: {capture.input}: {capture.damage} "
                       f"(analysed up to there)", err=True)
    held: AnalysisResult | None = None  # made once, for the formats that do not stream
    for out in outputs:
        given = result
        if not REGISTRY[out.format].streams:
            given = held = held or result.in_memory()
        _emit(out, given, settings, staged, color=color)
    try:
        staged.commit()
    except OSError as exc:
        fail(f"cannot write {exc.filename2 or exc.filename}: {exc.strerror or exc}")


def _emit(out: Output, result: AnalysisResult, settings: ReportSettings,
          staged: StagedWrites, *, color: str) -> None:
    """Render one report to stdout, or to a file staged to replace its path."""
    if out.format == "sarif" and len(result.findings) > GITHUB_RESULT_LIMIT:
        click.echo(f"tcpcheck: warning: the SARIF report has {len(result.findings):,} "
                   f"results; GitHub code scanning rejects more than "
                   f"{GITHUB_RESULT_LIMIT:,} (leave info rules out, e.g. --ignore "
                   "diagnostics)", err=True)
    write = REGISTRY[out.format].write
    if out.path is None:
        with writing_stdout("the report"):
            write(result, Sink(sys.stdout, report_console(color)), settings)
        return
    try:
        with staged.open(out.path) as fh:
            # A file is not a terminal: plain lines, nothing wrapped at a width.
            write(result, Sink(fh, plain_console(fh)), settings)
    except OSError as exc:
        fail(f"cannot write {out.path}: {exc.strerror or exc}")
