"""``tcpcheck sniff -i IFACE``: capture with dumpcap and analyse the TCP as it happens."""

from __future__ import annotations

import shlex
import sys

import click

from tcpcheck.artefacts import fold_artefacts
from tcpcheck.cli.console import stdout_console
from tcpcheck.cli.options import report_options, rule_options
from tcpcheck.cli.run import USER_ERRORS, Run, exit_code, fail, prepare, report, targets
from tcpcheck.engine import combine
from tcpcheck.live import DEFAULT_IDLE_TIMEOUT, CaptureRequest, LiveSession
from tcpcheck.live_status import LiveResult
from tcpcheck.report.formats import ReportSettings
from tcpcheck.report.live_view import FindingLines, LiveView
from tcpcheck.report.outputs import Output
from tcpcheck.result import Severity
from tcpcheck.wording import counted
from tcpcheck.writing import StagedWrites, Target, refuse_overwrites


@click.command(short_help="Analyse packets live, as they arrive on interfaces.")
@click.option("-i", "--interface", "interfaces", multiple=True, required=True, metavar="IFACE",
              help="Interface to capture on; repeat for several (tcpcheck interfaces lists "
                   "them).")
@click.option("--bpf", "--filter", "bpf", metavar="FILTER",
              help="Capture filter in libpcap syntax, applied in the kernel, e.g. "
                   "'tcp port 443' (--filter: the same language as analyze's).")
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
@rule_options
@report_options
def sniff(interfaces: tuple[str, ...], bpf: str | None, duration: float | None,
          count: int | None, write_path: str | None, idle_timeout: float,
          config_path: str | None, isolated: bool, profile_name: str | None,
          select: tuple[str, ...], extend_select: tuple[str, ...], ignore: tuple[str, ...],
          ignore_checksums: bool, fail_on: str | None, formats: tuple[str, ...],
          output: str | None, quiet: bool, color: str, no_color: bool, no_info: bool,
          html_all: bool, each_artefact: bool) -> None:
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
        run = prepare(config_path=config_path, isolated=isolated, profile_name=profile_name,
                      select=select, extend_select=extend_select, ignore=ignore,
                      ignore_checksums=ignore_checksums,
                      fail_on=fail_on, formats=formats, output=output, quiet=quiet)
        saved = ([] if write_path is None else
                 [Target(f"--write {shlex.quote(write_path)}", write_path)])
        refuse_overwrites(targets(run.outputs, output, *saved), inputs=())
        [job] = run.jobs([request.input_name])
    except USER_ERRORS as exc:
        fail(str(exc))
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
    except USER_ERRORS as exc:
        fail(str(exc))
    result = combine([(live.summary, live.analyzer)])
    if not each_artefact:
        # Findings already printed live stay as they were; the final reports fold them.
        result = fold_artefacts(result, run.catalog.artefacts(), keep_timelines=html_all)
    _capture_notes(live, write_path, quiet)
    settings = ReportSettings(run.catalog, run.threshold, html_all=html_all, quiet=quiet,
                              no_info=no_info)
    with StagedWrites() as staged:
        report(result, outputs, settings, staged, color=color)
        sys.exit(exit_code(result, run.level))


def _live_output(session: LiveSession, run: Run, outputs: list[Output], *, color: str,
                 quiet: bool, no_info: bool) -> LiveView | None:
    """Connect the session's findings to what shows them while the capture runs: the live
    view on a terminal (returned, to run around the capture), else one line per finding.

    With -q only the findings that fail the run are printed, and with --no-info none of the
    info ones; the lines go to stdout unless a machine-readable report is to go there.
    """
    console = stdout_console(color)
    shown = run.threshold if quiet else Severity.WARNING if no_info else Severity.INFO
    if console.is_terminal and not quiet:
        view = LiveView(console, session, session.request.input_name, min_severity=shown,
                        transient=any(o.path is None for o in outputs))
        session.on_finding = view.add
        return view
    if shown is not None:  # None: -q with --fail-on never, where nothing fails the run
        if any(o.path is None and o.format != "terminal" for o in outputs):
            console = stdout_console(color, stderr=True)
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
                   f"{counted(live.lost, 'packet')}{cause}; findings around the gaps may be "
                   "artefacts of the loss", err=True)
    if not quiet:
        rate = summary.packets / live.elapsed if live.elapsed else 0.0
        click.echo(f"tcpcheck: captured {counted(summary.packets, 'packet')} "
                   f"({summary.tcp_packets:,} TCP) on {summary.input.removeprefix('live:')} in "
                   f"{live.elapsed:.1f} s ({rate:,.0f}/s), {live.lost:,} lost", err=True)
