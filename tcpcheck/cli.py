"""The command line: ``tcpcheck analyze FILE...``, ``tcpcheck show FILE`` (one connection's
ladder diagram), and the catalog commands ``tcpcheck rules``, ``tcpcheck explain RULE`` and
``tcpcheck profiles [NAME]``.

Results go to stdout, errors and warnings to stderr. Exit codes (``ExitCode``) are public API:
0 nothing at or above ``--fail-on``, 1 findings at or above it, 2 usage, input or output error
(one line on stderr), 3 an internal error (a bug: one line, the traceback with ``--debug`` or
TCPCHECK_DEBUG=1), 130 SIGINT, 141 stdout closed early (``| head``, quietly), 143 SIGTERM.

Reports and baselines are never written over an input capture, and are written atomically
(``tcpcheck.writing``): a run that fails leaves the previous files as they were.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import shlex
import sys
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tcpcheck import __version__
from tcpcheck.baseline import BaselineError, apply_baseline, load_baseline, render_baseline
from tcpcheck.catalog import Catalog, CatalogError, RuleMeta, load_catalog, paragraphs
from tcpcheck.config import (
    Config,
    ConfigError,
    RuleOptions,
    discover_config,
    load_config,
    settings_for,
)
from tcpcheck.decode import Decoder
from tcpcheck.engine import Job, RuleSetup, analyze_jobs, combine
from tcpcheck.exits import DEBUG_ENV, ExitCode, Group, one_line, writing_stdout
from tcpcheck.fold import DEFAULT_MAX_CONNECTIONS
from tcpcheck.inputs import expand_inputs
from tcpcheck.live import (
    DEFAULT_IDLE_TIMEOUT,
    CaptureRequest,
    LiveError,
    LiveResult,
    LiveSession,
    list_interfaces,
)
from tcpcheck.profiles import (
    DEFAULT_PROFILE,
    Profile,
    ProfileError,
    load_profile,
    profile_names,
)
from tcpcheck.report import (
    render_github,
    render_html,
    render_junit,
    render_markdown,
    render_sarif,
    render_terminal,
    write_json,
)
from tcpcheck.report.csvdoc import render_csv
from tcpcheck.report.ladder import build_ladder
from tcpcheck.report.ladder_view import render_ladder
from tcpcheck.report.live_view import FindingLines, LiveView
from tcpcheck.report.outputs import FORMATS, Output, OutputError, plan_outputs
from tcpcheck.report.sarif import GITHUB_RESULT_LIMIT
from tcpcheck.report.terminal import SEVERITY_STYLE, render_failures
from tcpcheck.report.zeek import render_zeek
from tcpcheck.result import AnalysisResult, Severity
from tcpcheck.selection import RuleSelection, SelectionError, split_selectors
from tcpcheck.sources import CaptureError, open_capture
from tcpcheck.timeline import Recording
from tcpcheck.writing import StagedWrites, Target, WriteError, check_target, refuse_overwrites

FAIL_LEVELS = ("error", "warning", "info", "never")
COLOR_MODES = ("auto", "always", "never")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""Where the bundled captures live: rule examples are paths relative to it."""

_WIDE_OUTPUT = 160
"""Width of tables written to a pipe or file, so that one rule or one value stays on one line."""

_INDENT = "  "

_Command = Callable[..., None]


def exit_code(result: AnalysisResult, fail_on: str) -> ExitCode:
    """The exit status for ``result`` under ``--fail-on``."""
    if fail_on == "never":
        return ExitCode.OK
    threshold = Severity.parse(fail_on)
    if any(f.severity >= threshold for f in result.findings):
        return ExitCode.FINDINGS
    return ExitCode.OK


def _waiting_for_writer(name: str) -> None:
    click.echo(f"tcpcheck: {name}: waiting for a writer on this FIFO (Ctrl-C to stop)",
               err=True)


def _fail(message: str) -> None:
    click.echo(f"tcpcheck: error: {one_line(message)}", err=True)
    sys.exit(ExitCode.ERROR)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tcpcheck")
@click.option("--debug", is_flag=True, envvar=DEBUG_ENV, show_envvar=True,
              help="Print the traceback of an internal error (a bug in tcpcheck).")
def main(debug: bool) -> None:
    """Check that the TCP in packet captures follows the protocol, and explain where not."""
    # --debug is read by Group.invoke, which reports the exceptions of every command.


def _rule_options(func: _Command) -> _Command:
    """What decides the rules and the gate: shared by ``analyze`` and ``sniff``."""
    func = click.option("--fail-on", type=click.Choice(FAIL_LEVELS),
                        help="Exit with 1 when a finding at or above this severity exists. "
                             "[default: error]")(func)
    return _selection_options(func)


def _selection_options(func: _Command) -> _Command:
    """What decides the rules: configuration, profile, selection (``show`` has these too)."""
    options = [
        # Not click.Path(dir_okay=False): a folder gets the loader's one line, not usage text.
        click.option("--config", "config_path", metavar="FILE",
                     help="Configuration file (default: tcpcheck.toml or [tool.tcpcheck] in "
                          "pyproject.toml, searched upward from the working directory)."),
        click.option("--isolated", is_flag=True, help="Ignore every configuration file."),
        click.option("--profile", "profile_name", metavar="NAME|FILE.toml",
                     help=f"Stack profile the timers are checked against "
                          f"({', '.join(profile_names())}) or a TOML file overriding one. "
                          f"[default: {DEFAULT_PROFILE}]"),
        click.option("--select", multiple=True, metavar="RULES",
                     help="Only these rules: codes (HS001), code prefixes (HS), slugs, "
                          "categories or ALL, comma-separated."),
        click.option("--extend-select", multiple=True, metavar="RULES",
                     help="Rules to enable on top of the selection."),
        click.option("--ignore", multiple=True, metavar="RULES", help="Rules to leave out."),
        click.option("--ignore-checksums", is_flag=True,
                     help="Take every segment as intact, whatever its TCP checksum (for "
                          "sanitised or address-rewritten traces; Zeek's -C)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _report_options(func: _Command) -> _Command:
    """Where the reports go and how they look: shared by ``analyze`` and ``sniff``."""
    options = [
        click.option("--format", "formats", multiple=True, metavar="FORMAT[:PATH]",
                     help=f"Report format ({', '.join(FORMATS)}), with the file to write it to; "
                          "repeat to write several. [default: terminal]"),
        click.option("-o", "--output", type=click.Path(),
                     help="Write the report given without a path to this file instead of "
                          "stdout."),
        click.option("-q", "--quiet", is_flag=True,
                     help="Print only the findings that fail the run, one line each."),
        click.option("--color", type=click.Choice(COLOR_MODES), default="auto",
                     show_default=True,
                     help="Colour in the terminal report (NO_COLOR is honoured)."),
        click.option("--no-color", is_flag=True, help="Same as --color never."),
        click.option("--no-info", is_flag=True,
                     help="Leave info findings out of the terminal report."),
        click.option("--html-all", is_flag=True,
                     help="Draw every connection in the html report, not only those with "
                          "findings (costs memory and file size on big captures)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@dataclasses.dataclass(frozen=True, slots=True)
class _Run:
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
        """The timelines the reports draw: only the html report draws any."""
        if not any(out.format == "html" for out in self.outputs):
            return None
        return Recording(all=html_all)

    def jobs(self, inputs: list[str]) -> list[Job]:
        return _jobs(inputs, self.config, self.cli, self.catalog,
                     verify_checksums=not self.ignore_checksums)


def _prepare(*, config_path: str | None, isolated: bool, profile_name: str | None,
             select: tuple[str, ...], extend_select: tuple[str, ...], ignore: tuple[str, ...],
             fail_on: str | None, formats: tuple[str, ...], output: str | None,
             quiet: bool, ignore_checksums: bool = False) -> _Run:
    """Outputs, catalog, configuration, rule selection and gate level from the options.

    Raises the errors ``_USER_ERRORS`` lists.
    """
    outputs = plan_outputs(formats, output, quiet=quiet)
    catalog = load_catalog()
    config = _config(config_path, isolated, catalog)
    cli = RuleOptions(selection=RuleSelection(
        select=split_selectors(select) if select else None,
        extend_select=split_selectors(extend_select), ignore=split_selectors(ignore)),
        profile=profile_name)
    return _Run(catalog, config, cli, fail_on or config.fail_on or "error", outputs,
                ignore_checksums)


_USER_ERRORS = (CaptureError, ProfileError, CatalogError, ConfigError, SelectionError,
                BaselineError, OutputError, LiveError, WriteError)
"""Errors that are the input's or the user's, reported as one line with exit status 2."""


def _targets(outputs: list[Output], output: str | None, *extra: Target) -> list[Target]:
    """Every file the run will write, as the user named it, checked before anything is read:
    not a folder, in a folder that exists and can be written. Raises WriteError."""
    targets = [Target(f"-o {shlex.quote(out.path)}" if out.path == output else
                      f"--format {shlex.quote(f'{out.format}:{out.path}')}", out.path)
               for out in outputs if out.path is not None]
    targets.extend(extra)
    for target in targets:
        check_target(target)
    return targets


def _report(result: AnalysisResult, run: _Run, outputs: list[Output], started: str | None,
            staged: StagedWrites, *, color: str, no_color: bool, quiet: bool, no_info: bool,
            html_all: bool) -> None:
    """Warn about damaged captures, print the report for stdout, stage the files, then put
    every file in place at once."""
    for capture in result.captures:
        if capture.damage:
            click.echo(f"tcpcheck: warning: {capture.input}: {capture.damage} "
                       f"(analysed up to there)", err=True)
    for out in outputs:
        _emit(out, result, run.catalog, run.threshold, started, staged,
              color="never" if no_color else color, quiet=quiet, no_info=no_info,
              html_all=html_all)
    try:
        staged.commit()
    except OSError as exc:
        _fail(f"cannot write {exc.filename2 or exc.filename}: {exc.strerror or exc}")


@main.command(short_help="Analyse capture files.")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@_rule_options
@click.option("--baseline", "baseline_path", metavar="FILE",
              help="Report and fail only on findings this baseline does not accept.")
@click.option("--write-baseline", type=click.Path(), metavar="FILE",
              help="Record every finding of this run in FILE, to accept them (exits 0).")
@_report_options
@click.option("--timestamp", is_flag=True,
              help="Put the run's start time into the json, junit, sarif and html reports "
                   "(they are byte-identical between runs without it).")
@click.option("--max-connections", type=click.IntRange(min=0), default=DEFAULT_MAX_CONNECTIONS,
              show_default=True, metavar="N",
              help="List at most N connections without a finding per capture; the rest are "
                   "counted in the report, not listed.")
def analyze(paths: tuple[str, ...], config_path: str | None, isolated: bool,
            profile_name: str | None, select: tuple[str, ...], extend_select: tuple[str, ...],
            ignore: tuple[str, ...], ignore_checksums: bool, fail_on: str | None,
            baseline_path: str | None, write_baseline: str | None,
            formats: tuple[str, ...], output: str | None,
            quiet: bool, color: str, no_color: bool, no_info: bool, html_all: bool,
            timestamp: bool, max_connections: int) -> None:
    """Analyse capture files (pcap or pcapng, optionally gzip-compressed).

    PATH is a capture file, a folder (searched recursively for captures, recognised by their
    content), or a quoted glob pattern such as 'artifacts/**/*.pcap*'.
    """
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if timestamp else None
    recorded: str | None = None
    try:
        run = _prepare(config_path=config_path, isolated=isolated, profile_name=profile_name,
                       select=select, extend_select=extend_select, ignore=ignore,
                       ignore_checksums=ignore_checksums,
                       fail_on=fail_on, formats=formats, output=output, quiet=quiet)
        baseline_target = [] if write_baseline is None else [
            Target(f"--write-baseline {shlex.quote(write_baseline)}", write_baseline)]
        targets = _targets(run.outputs, output, *baseline_target)
        baseline = baseline_path or (None if write_baseline else run.config.baseline)
        # Checked before the captures are read: a broken baseline must not cost an analysis.
        entries = load_baseline(baseline) if baseline is not None else []
        inputs = expand_inputs(paths)
        refuse_overwrites(targets, inputs)
        result = analyze_jobs(run.jobs(inputs), run.recording(html_all), max_connections,
                              on_wait=_waiting_for_writer)
        if write_baseline is not None:
            recorded = render_baseline(result, _folder_of(write_baseline))
            recorded_count = len(result.findings)  # before the old baseline takes some out
        if baseline is not None:
            result = apply_baseline(result, entries, baseline, _folder_of(baseline))
    except _USER_ERRORS as exc:
        _fail(str(exc))
    with StagedWrites() as staged:
        if recorded is not None:
            try:
                with staged.open(write_baseline) as fh:
                    fh.write(recorded)
            except OSError as exc:
                _fail(f"cannot write {write_baseline}: {exc.strerror or exc}")
        _report(result, run, run.outputs, started, staged, color=color, no_color=no_color,
                quiet=quiet, no_info=no_info, html_all=html_all)
        if write_baseline is not None:
            if not quiet:
                click.echo(f"tcpcheck: recorded {_count(recorded_count, 'finding')} in "
                           f"{write_baseline}", err=True)
            sys.exit(ExitCode.OK)
        sys.exit(exit_code(result, run.level))


def _config(path: str | None, isolated: bool, catalog: Catalog) -> Config:
    if isolated:
        return Config(path=None, root=Path.cwd(), options=RuleOptions())
    if path is not None:
        return load_config(Path(path), catalog)
    return discover_config(Path.cwd(), catalog)


def _jobs(files: list[str], config: Config, cli: RuleOptions, catalog: Catalog, *,
          verify_checksums: bool = True) -> list[Job]:
    """Each file with the profile and rules its settings give; profiles read once each."""
    profiles: dict[str, Profile] = {}
    jobs = []
    for path in files:
        settings = settings_for(config, path, cli, catalog, default_profile=DEFAULT_PROFILE)
        profile = profiles.get(settings.profile)
        if profile is None:
            try:
                profile = profiles[settings.profile] = load_profile(settings.profile)
            except ProfileError as exc:
                if config.path is None or settings.profile == cli.profile:
                    raise
                raise ProfileError(f"{config.path}: {exc}") from None
        setup = RuleSetup(rules=settings.rules, severity=settings.severity,
                          params=settings.params, verify_checksums=verify_checksums)
        jobs.append(Job(path, profile, setup))
    return jobs


def _folder_of(path: str) -> Path:
    return Path(os.path.abspath(path)).parent


def _emit(out: Output, result: AnalysisResult, catalog: Catalog, fail_on: Severity | None,
          started: str | None, staged: StagedWrites, *, color: str, quiet: bool,
          no_info: bool, html_all: bool) -> None:
    """Render one report to stdout, or to a file staged to replace its path."""
    if out.format == "sarif" and len(result.findings) > GITHUB_RESULT_LIMIT:
        click.echo(f"tcpcheck: warning: the SARIF report has {len(result.findings):,} "
                   f"results; GitHub code scanning rejects more than "
                   f"{GITHUB_RESULT_LIMIT:,} (leave info rules out, e.g. --ignore "
                   "diagnostics)", err=True)
    if out.path is None:
        with writing_stdout("the report"):
            if out.format == "terminal":
                _terminal(result, _stdout_console(color), fail_on, quiet=quiet,
                          no_info=no_info)
            else:
                _render(out.format, result, catalog, fail_on, started, sys.stdout,
                        html_all=html_all)
        return
    try:
        with staged.open(out.path) as fh:
            if out.format == "terminal":
                _terminal(result, Console(file=fh, no_color=True, width=120), fail_on,
                          quiet=quiet, no_info=no_info)
            else:
                _render(out.format, result, catalog, fail_on, started, fh,
                        html_all=html_all)
    except OSError as exc:
        _fail(f"cannot write {out.path}: {exc.strerror or exc}")


def _render(fmt: str, result: AnalysisResult, catalog: Catalog, fail_on: Severity | None,
            started: str | None, fh: TextIO, *, html_all: bool) -> None:
    """Write the report in ``fmt`` (any but terminal) to ``fh``."""
    if fmt == "json":
        write_json(result, fh)  # streamed: the document of a big capture is tens of megabytes
    elif fmt == "junit":
        fh.write(render_junit(result, fail_on, timestamp=started))
    elif fmt == "sarif":
        fh.write(render_sarif(result, catalog, timestamp=started))
    elif fmt == "github":
        fh.write(render_github(result))
    elif fmt == "html":
        fh.write(render_html(result, catalog, fail_on, all_connections=html_all,
                             timestamp=started))
    elif fmt == "csv":
        fh.write(render_csv(result))
    elif fmt == "zeek":
        fh.write(render_zeek(result))
    else:
        fh.write(render_markdown(result, fail_on))


def _terminal(result: AnalysisResult, console: Console, fail_on: Severity | None, *,
              quiet: bool, no_info: bool) -> None:
    if quiet:
        render_failures(result, console, fail_on)
    else:
        render_terminal(result, console, show_info=not no_info, fail_on=fail_on)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _stdout_console(color: str, min_width: int = 0, *, stderr: bool = False) -> Console:
    """A console on stdout (on stderr with ``stderr``): colour per ``--color`` and NO_COLOR,
    plain text when not a terminal.

    ``min_width`` widens the output when it goes to a pipe or a file (rich assumes 80 columns
    there), so that table rows stay greppable instead of wrapping.
    """
    force = {"always": True, "never": False}.get(color)
    # An explicit --color beats NO_COLOR; with "auto" rich reads NO_COLOR and FORCE_COLOR.
    no_color = {"always": False, "never": True}.get(color)
    console = _Console(force_terminal=force, no_color=no_color, stderr=stderr)
    if not console.is_terminal:
        console.width = max(console.width, min_width)
    return console


class _Console(Console):
    """A rich console that lets a closed pipe end the run as ExitCode.BROKEN_PIPE: rich's own
    handler exits with 1, which means findings."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def _printing(what: str) -> Callable[[_Command], _Command]:
    """For a command whose only output is what it prints: a failed write to stdout is one
    line naming ``what``, exit 2. (Its reading errors are user errors raised before.)"""
    def decorate(func: _Command) -> _Command:
        @functools.wraps(func)
        def command(*args: object, **kwargs: object) -> None:
            with writing_stdout(what):
                func(*args, **kwargs)
        return command
    return decorate


def _color_option(func: _Command) -> _Command:
    return click.option("--color", type=click.Choice(COLOR_MODES), default="auto",
                        show_default=True,
                        help="Colour on a terminal (NO_COLOR is honoured).")(func)


def _format_option(func: _Command) -> _Command:
    return click.option("--format", "fmt", type=click.Choice(["terminal", "json"]),
                        default="terminal", show_default=True, help="Output format.")(func)


# -- tcpcheck sniff / interfaces -----------------------------------------------------------


@main.command(short_help="Analyse packets live, as they arrive on interfaces.")
@click.option("-i", "--interface", "interfaces", multiple=True, required=True, metavar="IFACE",
              help="Interface to capture on; repeat for several (tcpcheck interfaces lists "
                   "them).")
@click.option("--bpf", metavar="FILTER",
              help="Capture filter in libpcap syntax, applied in the kernel, e.g. "
                   "'tcp port 443'.")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Stop after this many seconds. [default: until Ctrl-C]")
@click.option("--count", type=click.IntRange(min=1), metavar="N",
              help="Stop after N packets (all interfaces together).")
@click.option("--write", "write_path", type=click.Path(), metavar="FILE.pcapng",
              help="Save the captured packets, to analyse them again later with the same "
                   "frame numbers.")
@click.option("--idle-timeout", type=click.FloatRange(min=0, min_open=True),
              default=DEFAULT_IDLE_TIMEOUT, show_default=True, metavar="SECONDS",
              help="Finalise and forget connections silent this long (memory stays bounded "
                   "over hours).")
@_rule_options
@_report_options
def sniff(interfaces: tuple[str, ...], bpf: str | None, duration: float | None,
          count: int | None, write_path: str | None, idle_timeout: float,
          config_path: str | None, isolated: bool, profile_name: str | None,
          select: tuple[str, ...], extend_select: tuple[str, ...], ignore: tuple[str, ...],
          ignore_checksums: bool, fail_on: str | None, formats: tuple[str, ...],
          output: str | None, quiet: bool, color: str, no_color: bool, no_info: bool,
          html_all: bool) -> None:
    """Capture on network interfaces with dumpcap (Wireshark) and analyse the TCP as it
    happens, with the rules and reports of analyze.

    On a terminal a view updates in place: packets/s, open connections by state, findings as
    they happen. Elsewhere (or with -q) each finding is printed on one line when it happens.
    Ctrl-C, --duration or --count ends the capture: connections still open are reported as
    open, the report and exit status follow analyze's rules, and the --write file is complete.
    """
    request = CaptureRequest(tuple(interfaces), bpf=bpf, duration=duration, count=count,
                             write=write_path)
    color = "never" if no_color else color
    try:
        run = _prepare(config_path=config_path, isolated=isolated, profile_name=profile_name,
                       select=select, extend_select=extend_select, ignore=ignore,
                       ignore_checksums=ignore_checksums,
                       fail_on=fail_on, formats=formats, output=output, quiet=quiet)
        saved = ([] if write_path is None else
                 [Target(f"--write {shlex.quote(write_path)}", write_path)])
        refuse_overwrites(_targets(run.outputs, output, *saved), inputs=())
        [job] = run.jobs([request.input_name])
    except _USER_ERRORS as exc:
        _fail(str(exc))
    # With -q the lines printed as findings happen are the report: not printed twice.
    outputs = [o for o in run.outputs
               if not (quiet and o.format == "terminal" and o.path is None)]
    try:
        with LiveSession(request, job.profile, job.setup, idle_timeout=idle_timeout,
                         recording=run.recording(html_all)) as session:
            view = _live_output(session, run, outputs, color=color, quiet=quiet,
                                no_info=no_info)
            session.start()
            if view is None:
                click.echo(f"tcpcheck: capturing on {', '.join(interfaces)} (Ctrl-C to stop)",
                           err=True)
                live = session.run()
            else:
                with view:
                    live = session.run()
    except _USER_ERRORS as exc:
        _fail(str(exc))
    result = combine([(live.summary, live.analyzer)])
    _capture_notes(live, write_path, quiet)
    with StagedWrites() as staged:
        _report(result, run, outputs, None, staged, color=color, no_color=no_color,
                quiet=quiet, no_info=no_info, html_all=html_all)
        sys.exit(exit_code(result, run.level))


def _live_output(session: LiveSession, run: _Run, outputs: list[Output], *, color: str,
                 quiet: bool, no_info: bool) -> LiveView | None:
    """Connect the session's findings to what shows them while the capture runs: the live
    view on a terminal (returned, to run around the capture), else one line per finding.

    With -q only the findings that fail the run are printed, and with --no-info none of the
    info ones; the lines go to stdout unless a machine-readable report is to go there.
    """
    console = _stdout_console(color)
    shown = run.threshold if quiet else Severity.WARNING if no_info else Severity.INFO
    if console.is_terminal and not quiet:
        view = LiveView(console, session, session.request.input_name, min_severity=shown,
                        transient=any(o.path is None for o in outputs))
        session.on_finding = view.add
        return view
    if shown is not None:  # None: -q with --fail-on never, where nothing fails the run
        if any(o.path is None and o.format != "terminal" for o in outputs):
            console = _stdout_console(color, stderr=True)
        session.on_finding = FindingLines(console, shown).add
    return None


def _capture_notes(live: LiveResult, write_path: str | None, quiet: bool) -> None:
    """What the capture itself says, on stderr: how much it saw, and what it lost."""
    summary = live.summary
    if live.write_error is not None:
        click.echo(f"tcpcheck: warning: cannot write {write_path}: {live.write_error} (the "
                   "file ends there; the analysis went on)", err=True)
    if live.lost:
        kernel = sum(s.kernel_dropped for s in live.stats)
        cause = (" (the kernel's capture buffer overflowed: the analysis did not keep up)"
                 if kernel else "")
        click.echo(f"tcpcheck: warning: {summary.input}: the capture lost "
                   f"{_count(live.lost, 'packet')}{cause}; findings around the gaps may be "
                   "artefacts of the loss", err=True)
    if not quiet:
        rate = summary.packets / live.elapsed if live.elapsed else 0.0
        click.echo(f"tcpcheck: captured {_count(summary.packets, 'packet')} "
                   f"({summary.tcp_packets:,} TCP) on {summary.input.removeprefix('live:')} in "
                   f"{live.elapsed:.1f} s ({rate:,.0f}/s), {live.lost:,} lost", err=True)


@main.command(short_help="List the interfaces sniff can capture on.")
@_printing("the list")
def interfaces() -> None:
    """List the network interfaces dumpcap can capture on, one per line, with a description
    when there is one."""
    try:
        found = list_interfaces()
    except LiveError as exc:
        _fail(str(exc))
    width = max((len(i.name) for i in found), default=0)
    for interface in found:
        click.echo(f"{interface.name:<{width}}  {interface.description}".rstrip())


# -- tcpcheck show --------------------------------------------------------------------------


@main.command(short_help="Draw one connection as a ladder diagram.")
@click.argument("path", metavar="FILE")
@click.option("--connection", "connection_id", type=click.IntRange(min=0), metavar="N",
              help="The connection to draw: its id in analyze's report (numbered like "
                   "Wireshark's tcp.stream).")
@click.option("--frame", type=click.IntRange(min=1), metavar="F",
              help="Draw the connection frame F belongs to, with the frame marked.")
@click.option("--all", "full", is_flag=True,
              help="Draw every segment (long uneventful stretches are collapsed otherwise).")
@_selection_options
@_color_option
@click.option("--no-color", is_flag=True, help="Same as --color never.")
def show(path: str, connection_id: int | None, frame: int | None, full: bool,
         config_path: str | None, isolated: bool, profile_name: str | None,
         select: tuple[str, ...], extend_select: tuple[str, ...], ignore: tuple[str, ...],
         ignore_checksums: bool, color: str, no_color: bool) -> None:
    """Draw one connection of a capture file as a ladder diagram: each segment an arrow
    between client and server, each endpoint's state where it changes, the segments with
    findings highlighted, then the findings explained.

    Give the connection with --connection N, or any of its frames with --frame F. The
    configuration, profile and rule selection apply as for analyze, so the findings are
    analyze's. The exit status is 0 whatever the findings.
    """
    if (connection_id is None) == (frame is None):
        raise click.UsageError("give one of --connection N and --frame F")
    recording = Recording(connection=connection_id, frame=frame)
    try:
        run = _prepare(config_path=config_path, isolated=isolated, profile_name=profile_name,
                       select=select, extend_select=extend_select, ignore=ignore,
                       ignore_checksums=ignore_checksums,
                       fail_on=None, formats=(), output=None, quiet=False)
        result = analyze_jobs(run.jobs([path]), recording)
        if not result.timelines:
            _fail(_not_found(result, path, connection_id, frame))
    except _USER_ERRORS as exc:
        _fail(str(exc))
    [capture] = result.captures
    if capture.damage:
        click.echo(f"tcpcheck: warning: {path}: {capture.damage} (analysed up to there)",
                   err=True)
    [timeline] = result.timelines
    [summary] = [c for c in result.connections if c.id == timeline.connection]
    ladder = build_ladder(timeline, result.findings, full=full,
                          frames=() if frame is None else (frame,))
    with writing_stdout("the diagram"):
        render_ladder(ladder, summary,
                      _stdout_console("never" if no_color else color), frame=frame)


_NOT_TCP = {
    "non-ip": "is not an IP packet (ARP, LLDP or another link-layer protocol)",
    "non-tcp": "is an IP packet but not TCP (UDP, ICMP or another protocol)",
    "ip-fragment": "is TCP inside an IP fragment, which tcpcheck does not reassemble",
    "truncated": "is cut short by the capture: its headers are incomplete",
    "malformed": "has malformed headers",
}
"""What a frame that is no TCP segment is, by the decoder's reason for skipping it."""


def _not_found(result: AnalysisResult, path: str, connection_id: int | None,
               frame: int | None) -> str:
    """Why ``show`` has nothing to draw: the connection or frame asked for is not there."""
    if frame is None:
        ids = sorted(c.id for c in result.connections)
        if not ids:
            return f"{path}: no connection {connection_id}: the capture has no TCP connections"
        has = f"connection {ids[0]}" if len(ids) == 1 else f"connections {ids[0]}-{ids[-1]}"
        return f"{path}: no connection {connection_id}: the capture has {has}"
    [capture] = result.captures
    if frame > capture.packets:
        frames = _count(capture.packets, "readable frame" if capture.damage else "frame")
        damage = f" ({capture.damage})" if capture.damage else ""
        return f"{path}: frame {frame}: the capture has {frames}{damage}"
    return f"{path}: frame {frame} {_frame_kind(path, frame)}"


def _frame_kind(path: str, frame: int) -> str:
    """What a frame that is in no connection is, read again from the capture."""
    decoder = Decoder()
    with open_capture(path) as capture:
        for record in capture.records():
            if record[0] == frame:
                decoder.decode(record)
                break
    reason = next(iter(decoder.counters.skipped()), "")
    return _NOT_TCP.get(reason, "is not a TCP segment of any connection")


# -- tcpcheck rules / explain ------------------------------------------------------------


@main.command(short_help="List every rule.")
@click.option("--category", metavar="NAME", help="Only the rules of this category.")
@_format_option
@_color_option
@_printing("the list")
def rules(category: str | None, fmt: str, color: str) -> None:
    """List every rule: code, slug, severity, category and summary."""
    try:
        selected = list(load_catalog())
    except CatalogError as exc:
        _fail(str(exc))
    if category is not None:
        categories = sorted({r.category for r in selected})
        selected = [r for r in selected if r.category == category.strip().lower()]
        if not selected:
            _fail(f"unknown category {category!r} (categories: {', '.join(categories)})")
    if fmt == "json":
        click.echo(json.dumps([rule_doc(r) for r in selected], indent=2, ensure_ascii=False))
        return
    console = _stdout_console(color, _WIDE_OUTPUT)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for name in ("code", "slug", "severity", "category"):
        table.add_column(name, no_wrap=True)
    table.add_column("summary", overflow="fold")
    for rule in selected:
        style = SEVERITY_STYLE[rule.severity]
        table.add_row(Text(rule.code, style=style), Text(rule.slug, style="bold"),
                      Text(rule.severity.label, style=style), Text(rule.category),
                      Text(rule.summary))
    console.print(table)
    count = f"{len(selected)} rule" + ("" if len(selected) == 1 else "s")
    console.print(Text(f"{count} · tcpcheck explain RULE for what each checks, why it matters "
                       "and a capture that shows it", style="dim"))


def rule_doc(rule: RuleMeta) -> dict[str, object]:
    """A rule's metadata as JSON-ready fields (the severity as its label)."""
    doc: dict[str, object] = {f.name: getattr(rule, f.name) for f in dataclasses.fields(rule)}
    doc["severity"] = rule.severity.label
    doc["parameters"] = [dataclasses.asdict(p) for p in rule.parameters]
    return doc


@main.command(short_help="Explain a rule: what, why, causes, example.")
@click.argument("rule_name", metavar="RULE")
@_color_option
@_printing("the explanation")
def explain(rule_name: str, color: str) -> None:
    """Explain one rule (slug such as syn-isn-changed, or code such as HS001)."""
    try:
        rule = load_catalog().get(rule_name)
    except CatalogError as exc:
        _fail(str(exc))
    console = _stdout_console(color)
    style = SEVERITY_STYLE[rule.severity]
    console.print(Text.assemble((rule.code, style), " ", (rule.slug, "bold"), " · ",
                                (rule.severity.label, style), f" · {rule.category}"),
                  soft_wrap=True)
    console.print(_wrap(rule.summary, console, indent=""), soft_wrap=True)
    _section(console, "What it checks", [_wrap(p, console) for p in paragraphs(rule.what)])
    why = [_wrap(p, console) for p in paragraphs(rule.why)]
    why.append(_wrap("Reference: " + rule.reference, console, bold_prefix="Reference:"))
    _section(console, "Why it matters", why)
    _section(console, "Usual causes", [_wrap(p, console) for p in paragraphs(rule.causes)])
    if rule.parameters:
        _section(console, "Parameters", [
            _wrap(f"{p.name} = {p.default!r}: {p.description}", console,
                  bold_prefix=f"{p.name} = {p.default!r}:") for p in rule.parameters]
            + [_wrap(f"Set them in the configuration: [rules.{rule.slug}] in tcpcheck.toml, "
                     f"or [tool.tcpcheck.rules.{rule.slug}] in pyproject.toml.", console)])
    _section(console, "Example", _example(rule))


def _section(console: Console, title: str, body: list[Text]) -> None:
    console.print()
    console.print(Text(title, style="bold underline"))
    for text in body:
        console.print(text, soft_wrap=True)


def _wrap(paragraph: str, console: Console, bold_prefix: str = "", indent: str = _INDENT) -> Text:
    """A paragraph wrapped to the console width, every line indented by ``indent``.

    Wrapped here rather than by rich so that plain output carries no padding at line ends.
    """
    text = Text(textwrap.fill(paragraph, width=max(console.width, 40), initial_indent=indent,
                              subsequent_indent=indent, break_long_words=False,
                              break_on_hyphens=False))
    if bold_prefix:
        text.stylize("bold", len(indent), len(indent) + len(bold_prefix))
    return text


def _example(rule: RuleMeta) -> list[Text]:
    """The bundled capture and the command that shows the rule on it, when it is installed
    (every rule has one: tests/test_captures.py checks that it triggers the rule)."""
    path = PROJECT_ROOT / rule.example
    if not path.is_file():
        return [Text(f"{_INDENT}no bundled capture ({rule.example} is not in this "
                     "installation)", style="dim")]
    # The command must work from where the user stands: relative inside the tree, else absolute.
    shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
    return [Text(_INDENT + rule.example),
            Text.assemble(_INDENT, ("$ ", "dim"),
                          ("tcpcheck analyze " + shlex.quote(str(shown)), "bold"))]


# -- tcpcheck profiles -------------------------------------------------------------------


_DERIVED_ROWS = ("SYN retransmissions at", "SYN give-up", "SYN-ACK retransmissions at",
                 "SYN-ACK give-up")


@main.command(short_help="List the stack profiles, or show one.")
@click.argument("name", required=False, metavar="[NAME|FILE.toml]")
@_format_option
@_color_option
@_printing("the profiles")
def profiles(name: str | None, fmt: str, color: str) -> None:
    """List the stack profiles, or show one with its SYN and SYN-ACK schedules."""
    try:
        selected = [load_profile(name)] if name else [load_profile(n) for n in profile_names()]
    except ProfileError as exc:
        _fail(str(exc))
    if fmt == "json":
        docs = [profile_doc(p) for p in selected]
        click.echo(json.dumps(docs[0] if name else docs, indent=2, ensure_ascii=False))
        return
    if name:
        _print_profile(selected[0], _stdout_console(color))
    else:
        _print_profiles(selected, _stdout_console(color, _WIDE_OUTPUT))


def profile_doc(profile: Profile) -> dict[str, object]:
    """A profile's values and derived schedules as JSON-ready fields (no limit is null)."""
    doc = {key: _finite_or_none(value) for key, value in profile.values().items()}
    doc.update(
        syn_retransmit_times=list(profile.syn_retransmit_times()),
        max_syn_transmissions=profile.max_syn_transmissions,
        syn_give_up=profile.syn_give_up,
        synack_retransmit_times=list(profile.synack_retransmit_times()),
        synack_give_up=profile.synack_give_up,
    )
    return doc


def _finite_or_none(value: object) -> object:
    # JSON has no infinity; an unbounded timer (rfc9293's fin_timeout) is written as null.
    if isinstance(value, float) and math.isinf(value):
        return None
    return value


def _print_profiles(selected: list[Profile], console: Console) -> None:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("", style="bold", no_wrap=True)
    for profile in selected:
        default = " (default)" if profile.name == DEFAULT_PROFILE else ""
        table.add_column(profile.name + default, overflow="fold")
    for key in _value_keys():
        table.add_row(key, *(_format_field(p, key) for p in selected))
    table.add_section()
    derived = [_derived(p) for p in selected]
    for i, label in enumerate(_DERIVED_ROWS):
        table.add_row(label, *(values[i] for values in derived))
    console.print(table)
    console.print()
    descriptions = Table.grid(padding=(0, 2, 0, 0))
    descriptions.add_column(style="bold", no_wrap=True)
    descriptions.add_column()
    for profile in selected:
        descriptions.add_row(profile.name, Text(profile.description))
    console.print(descriptions)
    console.print()
    console.print(Text("tcpcheck profiles NAME shows one profile and where its numbers come "
                       "from; analyze --profile NAME|FILE.toml selects one", style="dim"))


def _print_profile(profile: Profile, console: Console) -> None:
    default = " (default)" if profile.name == DEFAULT_PROFILE else ""
    console.print(Text.assemble((profile.name, "bold"), default))
    console.print(_wrap(profile.description, console), soft_wrap=True)
    console.print()
    rows = [(key, _format_field(profile, key)) for key in _value_keys()]
    derived = list(zip(_DERIVED_ROWS, _derived(profile, counted=True), strict=True))
    width = max(len(label) for label, _ in rows + derived)
    for label, value in [*rows, ("", ""), *derived]:
        line = Text(f"{_INDENT}{label:<{width}}  {value}".rstrip())
        line.stylize("bold", 0, len(_INDENT) + len(label))
        console.print(line, soft_wrap=True)
    console.print()
    console.print(_wrap("source: " + profile.source, console, bold_prefix="source:"),
                  soft_wrap=True)


def _value_keys() -> list[str]:
    """The profile's timers and limits: every field but the name and the prose."""
    return [key for key in Profile.__dataclass_fields__
            if key not in ("name", "description", "source")]


def _derived(profile: Profile, counted: bool = False) -> tuple[str, str, str, str]:
    """The schedules the profile implies, in the order of ``_DERIVED_ROWS``."""
    return (_format_times(profile.syn_retransmit_times(), counted),
            _format_seconds(profile.syn_give_up),
            _format_times(profile.synack_retransmit_times(), counted),
            _format_seconds(profile.synack_give_up))


def _format_field(profile: Profile, key: str) -> str:
    """A profile value as people read it: seconds with their unit, counts and words as they are."""
    value = getattr(profile, key)
    # The declared type, not the value's: a profile file may write a time as `time_wait = 15`.
    if key in ("syn_deadline", "syn_rst_rearm") and not value:
        return "none"
    if Profile.__dataclass_fields__[key].type == "float":
        return _format_seconds(value)
    return str(value)


def _format_seconds(value: float) -> str:
    return "no limit" if math.isinf(value) else f"{value:g} s"


def _format_times(times: tuple[float, ...], counted: bool) -> str:
    """``1, 3, 7 s``, with ``(3 retransmissions)`` when ``counted``."""
    if not times:
        return "none"
    text = ", ".join(f"{t:g}" for t in times) + " s"
    if counted:
        text += f" ({len(times)} {'retransmission' if len(times) == 1 else 'retransmissions'})"
    return text
