"""``tcpcheck analyze FILE...``: analyse capture files, write the reports, gate CI."""

from __future__ import annotations

import dataclasses
import os
import shlex
import sys
from datetime import UTC, datetime

import click

from tcpcheck.artefacts import fold_artefacts
from tcpcheck.baseline import apply_baseline, load_baseline, render_baseline
from tcpcheck.capture import CaptureError
from tcpcheck.cli.exits import ExitCode, writing_stdout
from tcpcheck.cli.options import filter_option, report_options, rule_options, stitch_option
from tcpcheck.cli.progress import reading_progress
from tcpcheck.cli.run import (
    USER_ERRORS,
    compile_filter,
    exit_code,
    fail,
    folder_of,
    prepare,
    report,
    targets,
    waiting_for_writer,
)
from tcpcheck.cluster import ClusterError, analyze_on_cluster
from tcpcheck.engine import combine
from tcpcheck.fold import DEFAULT_MAX_CONNECTIONS
from tcpcheck.inputs import expand_inputs, not_captures
from tcpcheck.parallel import MIN_SHARD_BYTES, analyze_in_processes
from tcpcheck.pipeline import Job, analyze_jobs
from tcpcheck.readfilter import ReadFilter
from tcpcheck.report.formats import REGISTRY, ReportSettings
from tcpcheck.report.outputs import Output, OutputError
from tcpcheck.report.statistics import render_statistics
from tcpcheck.result import AnalysisResult
from tcpcheck.sources import STDIN, open_capture
from tcpcheck.stitched import stitch_order
from tcpcheck.timeline import Recording
from tcpcheck.wording import counted
from tcpcheck.writing import StagedWrites, Target, refuse_overwrites

_DATED = [f.name for f in REGISTRY.values() if f.timestamp]
"""The formats ``--timestamp`` dates."""


@click.command(short_help="Analyse capture files.")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@stitch_option
@rule_options
@filter_option
@click.option("--baseline", "baseline_path", metavar="FILE",
              help="Report and fail only on findings this baseline does not accept.")
@click.option("--write-baseline", type=click.Path(), metavar="FILE",
              help="Record every finding of this run in FILE, to accept them (exits 0).")
@report_options
@click.option("--timestamp", is_flag=True,
              help=f"Put the run's start time into the {', '.join(_DATED[:-1])} and "
                   f"{_DATED[-1]} reports (they are byte-identical between runs without it).")
@click.option("--max-connections", type=click.IntRange(min=0), default=DEFAULT_MAX_CONNECTIONS,
              show_default=True, metavar="N",
              help="List at most N connections without a finding per capture; the rest are "
                   "counted in the report, not listed.")
@click.option("--jobs", "-j", "processes", type=click.IntRange(min=1), metavar="N",
              help="Analyse in N processes (default: one per core): a capture is split "
                   "among them by connection, several captures are spread over them. The "
                   "reports are those of --jobs 1.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run the shards on a Dask cluster: its scheduler's address "
                   "(tcp://HOST:8786), or local[:N] for a local cluster of N workers. Needs "
                   "pip install 'tcpcheck[dask]'.")
@click.option("--statistics", is_flag=True,
              help="Print only the number of findings per rule, one line each (reports given "
                   "a path are still written).")
def analyze(paths: tuple[str, ...], stitch: bool, config_path: str | None, isolated: bool,
            profile_name: str | None, select: tuple[str, ...], extend_select: tuple[str, ...],
            ignore: tuple[str, ...], ignore_checksums: bool, fail_on: str | None,
            baseline_path: str | None, write_baseline: str | None,
            formats: tuple[str, ...], output: str | None,
            quiet: bool, color: str, no_color: bool, no_info: bool, html_all: bool,
            each_artefact: bool, timestamp: bool, max_connections: int,
            statistics: bool, filter_expression: str | None, processes: int | None,
            scheduler: str | None) -> None:
    """Analyse capture files (pcap or pcapng, optionally gzip-compressed).

    PATH is a capture file, a folder (searched recursively for captures, recognised by their
    content), a quoted glob pattern such as 'artifacts/**/*.pcap*', or - for standard input
    (tcpdump -w - | tcpcheck analyze -). With --stitch, the files are the parts of one
    rotated capture (tcpdump -C/-G/-W, dumpcap -b ring buffers, editcap -c splits).
    """
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if timestamp else None
    recorded: str | None = None
    try:
        run = prepare(config_path=config_path, isolated=isolated, profile_name=profile_name,
                      select=select, extend_select=extend_select, ignore=ignore,
                      ignore_checksums=ignore_checksums,
                      fail_on=fail_on, formats=formats, output=output, quiet=quiet)
        # Compiled before the captures are read: a bad expression must not cost an analysis.
        read_filter = compile_filter(filter_expression)
        baseline_target = [] if write_baseline is None else [
            Target(f"--write-baseline {shlex.quote(write_baseline)}", write_baseline)]
        written = targets(run.outputs, output, *baseline_target)
        baseline = baseline_path or (None if write_baseline else run.config.baseline)
        # Checked before the captures are read: a broken baseline must not cost an analysis.
        entries = load_baseline(baseline) if baseline is not None else []
        inputs = expand_inputs(paths)
        refuse_overwrites(written, inputs)
        jobs = run.jobs(inputs)
        if stitch:
            jobs = _stitched(jobs, paths, quiet)
        result = _analysis(jobs, run.recording(html_all), max_connections, read_filter,
                           processes, scheduler, quiet)
        if write_baseline is not None:
            recorded = render_baseline(result, folder_of(write_baseline))
            recorded_count = len(result.findings)  # before the old baseline takes some out
        if baseline is not None:
            result = apply_baseline(result, entries, baseline, folder_of(baseline))
        outputs = _without_stdout(run.outputs) if statistics else run.outputs
        if not each_artefact:
            # After the baseline is recorded and applied: baselines keep every finding.
            result = fold_artefacts(result, run.catalog.artefacts(), keep_timelines=html_all)
    except USER_ERRORS as exc:
        fail(str(exc))
    settings = ReportSettings(run.catalog, run.threshold, started, html_all=html_all,
                              quiet=quiet, no_info=no_info)
    with StagedWrites() as staged:
        if recorded is not None:
            try:
                with staged.open(write_baseline) as fh:
                    fh.write(recorded)
            except OSError as exc:
                fail(f"cannot write {write_baseline}: {exc.strerror or exc}")
        report(result, outputs, settings, staged, color="never" if no_color else color)
        if statistics:
            with writing_stdout("the statistics"):
                sys.stdout.write(render_statistics(result))
        if write_baseline is not None:
            if not quiet:
                click.echo(f"tcpcheck: recorded {counted(recorded_count, 'finding')} in "
                           f"{write_baseline}", err=True)
            sys.exit(ExitCode.OK)
        sys.exit(exit_code(result, run.level))


def _analysis(jobs: list[Job], recording: Recording | None, max_connections: int,
              read_filter: ReadFilter | None, processes: int | None, scheduler: str | None,
              quiet: bool) -> AnalysisResult:
    """The captures analysed in one process, in ``processes`` (default: one per core), or on
    the Dask cluster ``scheduler`` names."""
    if scheduler is not None:
        if processes is not None:
            raise ClusterError("give --jobs or --scheduler, not both: the cluster's workers "
                               "are the jobs")
        return combine(analyze_on_cluster(jobs, scheduler, recording=recording,
                                          max_connections=max_connections,
                                          read_filter=read_filter, on_wait=waiting_for_writer))
    workers = processes or os.cpu_count() or 1
    with reading_progress(quiet) as progress:
        if workers == 1:
            return analyze_jobs(jobs, recording, max_connections, on_wait=waiting_for_writer,
                                read_filter=read_filter, progress=progress)
        # The default splits only captures big enough to gain from it.
        return combine(analyze_in_processes(
            jobs, workers, recording=recording, max_connections=max_connections,
            read_filter=read_filter, min_shard_bytes=0 if processes else MIN_SHARD_BYTES,
            on_wait=waiting_for_writer, progress=progress))


def _without_stdout(outputs: list[Output]) -> list[Output]:
    """The reports of a ``--statistics`` run: the statistics take the place of the terminal
    report on stdout. Raises OutputError for another format on stdout."""
    for out in outputs:
        if out.path is None and out.format != "terminal":
            raise OutputError(f"--statistics prints to stdout: give --format {out.format} a "
                              f"path, as in --format {out.format}:report.{out.format}")
    return [out for out in outputs if out.path is not None]


def _stitched(jobs: list[Job], paths: tuple[str, ...], quiet: bool) -> list[Job]:
    """``--stitch``: the inputs as one job reading them as one capture, with the settings of
    the file read first. Raises CaptureError for standard input, which is no file of a set."""
    if any(job.path == STDIN for job in jobs):
        raise CaptureError("--stitch reads rotated capture files: standard input cannot be "
                           "one of them")
    skipped = not_captures(paths)
    if skipped and not quiet:
        click.echo(f"tcpcheck: --stitch: left out {counted(len(skipped), 'file')} that "
                   f"{'is' if len(skipped) == 1 else 'are'} not a capture: "
                   f"{', '.join(skipped[:3])}{' ...' if len(skipped) > 3 else ''}", err=True)
    if len(jobs) < 2:
        return jobs
    files = stitch_order([job.path for job in jobs], open_capture)
    first = next(job for job in jobs if job.path == files.paths[0])
    return [dataclasses.replace(first, stitch=files)]
