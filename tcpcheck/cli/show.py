"""``tcpcheck show FILE --connection N | --frame F``: one connection as a ladder diagram
(``tcpcheck show --stitch FILE... --connection N``: of a rotated capture set)."""

from __future__ import annotations

import dataclasses

import click

from tcpcheck.cli.console import stdout_console
from tcpcheck.cli.exits import writing_stdout
from tcpcheck.cli.options import (
    color_option,
    filter_option,
    no_color_option,
    selection_options,
    stitch_option,
)
from tcpcheck.cli.run import USER_ERRORS, compile_filter, fail, prepare
from tcpcheck.inputs import expand_inputs
from tcpcheck.pipeline import Job, analyze_jobs, kept_by, skip_reason
from tcpcheck.readfilter import ReadFilter
from tcpcheck.report.ladder import build_ladder
from tcpcheck.report.ladder_view import render_ladder
from tcpcheck.result import AnalysisResult
from tcpcheck.sources import STDIN, CaptureError, open_capture
from tcpcheck.stitched import stitch_order
from tcpcheck.timeline import Recording
from tcpcheck.wording import counted


@click.command(short_help="Draw one connection as a ladder diagram.")
@click.argument("paths", metavar="FILE...", nargs=-1, required=True)
@stitch_option
@click.option("--connection", "connection_id", type=click.IntRange(min=0), metavar="N",
              help="The connection to draw: its id in analyze's report (numbered like "
                   "Wireshark's tcp.stream).")
@click.option("--frame", type=click.IntRange(min=1), metavar="F",
              help="Draw the connection frame F belongs to, with the frame marked.")
@click.option("--all", "full", is_flag=True,
              help="Draw every segment (long uneventful stretches are collapsed otherwise).")
@selection_options
@filter_option
@color_option
@no_color_option
def show(paths: tuple[str, ...], stitch: bool, connection_id: int | None, frame: int | None,
         full: bool,
         config_path: str | None, isolated: bool, profile_name: str | None,
         select: tuple[str, ...], extend_select: tuple[str, ...], ignore: tuple[str, ...],
         ignore_checksums: bool, filter_expression: str | None, color: str,
         no_color: bool) -> None:
    """Draw one connection of a capture file as a ladder diagram: each segment an arrow
    between client and server, each endpoint's state where it changes, the segments with
    findings highlighted, then the findings explained.

    Give the connection with --connection N, or any of its frames with --frame F. FILE may be
    - for standard input. With --stitch, the files (or folders) are one rotated capture, as
    for analyze --stitch, and --connection N is the id analyze's report gives. The
    configuration, profile, rule selection and --filter apply as for analyze, so the findings
    are analyze's. The exit status is 0 whatever the findings.
    """
    if (connection_id is None) == (frame is None):
        raise click.UsageError("give one of --connection N and --frame F")
    if len(paths) > 1 and not stitch:
        raise click.UsageError("give one FILE, or the files of a rotated capture with --stitch")
    if stitch and frame is not None:
        raise click.UsageError("--stitch draws a connection by its id: give --connection N "
                               "(a frame number of the set would name no file)")
    path = paths[0]
    recording = Recording(connection=connection_id, frame=frame)
    try:
        run = prepare(config_path=config_path, isolated=isolated, profile_name=profile_name,
                      select=select, extend_select=extend_select, ignore=ignore,
                      ignore_checksums=ignore_checksums,
                      fail_on=None, formats=(), output=None, quiet=False)
        read_filter = compile_filter(filter_expression)
        jobs = _stitched(run.jobs(expand_inputs(paths))) if stitch else run.jobs([path])
        result = analyze_jobs(jobs, recording, read_filter=read_filter)
        if not result.timelines:
            fail(_not_found(result, path, connection_id, frame, read_filter))
    except USER_ERRORS as exc:
        fail(str(exc))
    for capture in result.captures:
        if capture.damage:
            click.echo(f"tcpcheck: warning: {capture.input}: {capture.damage} (analysed up to "
                       "there)", err=True)
    [timeline] = result.timelines
    [summary] = [c for c in result.connections if c.id == timeline.connection]
    ladder = build_ladder(timeline, result.findings, full=full,
                          frames=() if frame is None else (frame,))
    with writing_stdout("the diagram"):
        render_ladder(ladder, summary,
                      stdout_console("never" if no_color else color), frame=frame)


def _stitched(jobs: list[Job]) -> list[Job]:
    """The files as one job reading them as one capture, as ``analyze --stitch`` does."""
    if any(job.path == STDIN for job in jobs):
        raise CaptureError("--stitch reads rotated capture files: standard input cannot be "
                           "one of them")
    if len(jobs) < 2:
        return jobs
    files = stitch_order([job.path for job in jobs], open_capture)
    first = next(job for job in jobs if job.path == files.paths[0])
    return [dataclasses.replace(first, stitch=files)]


_NOT_TCP = {
    "non-ip": "is not an IP packet (ARP, LLDP or another link-layer protocol)",
    "non-tcp": "is an IP packet but not TCP (UDP, ICMP or another protocol)",
    "ip-fragment": "is TCP inside an IP fragment (or a later piece of a packet the link layer "
                   "split), which tcpcheck does not reassemble",
    "truncated": "is cut short by the capture: its headers are incomplete",
    "malformed": "has malformed headers",
    "vj-compressed": "is a TCP/IP header Van Jacobson compression shrank to a delta against "
                     "the PPP link's previous one (RFC 1144), which cannot be decoded alone",
}
"""What a frame that is no TCP segment is, by the decoder's reason for skipping it."""


def _not_found(result: AnalysisResult, path: str, connection_id: int | None,
               frame: int | None, read_filter: ReadFilter | None) -> str:
    """Why ``show`` has nothing to draw: the connection or frame asked for is not there (or
    not among the frames ``read_filter`` keeps)."""
    if frame is None:
        ids = sorted(c.id for c in result.connections)
        where = "the capture" if read_filter is None else \
            f"what --filter {read_filter.expression!r} keeps"
        if not ids:
            return f"{path}: no connection {connection_id}: {where} has no TCP connections"
        has = f"connection {ids[0]}" if len(ids) == 1 else f"connections {ids[0]}-{ids[-1]}"
        return f"{path}: no connection {connection_id}: {where} has {has}"
    [capture] = result.captures
    if read_filter is not None:  # the summary counts the kept frames only: ask the file
        expression = read_filter.expression
        if path == STDIN:  # gone once analysed: whether the filter kept it cannot be asked
            return f"{path}: frame {frame} is in no connection --filter {expression!r} keeps"
        verdict = kept_by(read_filter, path, frame)
        if verdict is None:
            return f"{path}: frame {frame}: the capture has fewer than {frame} frames"
        if not verdict:
            return f"{path}: frame {frame} is not kept by --filter {expression!r}"
    elif frame > capture.packets:
        frames = counted(capture.packets, "readable frame" if capture.damage else "frame")
        damage = f" ({capture.damage})" if capture.damage else ""
        return f"{path}: frame {frame}: the capture has {frames}{damage}"
    # Standard input is gone once analysed: what the frame is cannot be read again.
    reason = None if path == STDIN else skip_reason(path, frame)
    kind = _NOT_TCP.get(reason or "", "is not a TCP segment of any connection")
    return f"{path}: frame {frame} {kind}"
