"""Capture artefacts folded: one finding per capture, rule and host instead of one per
connection.

A capture taken on a host with checksum or segmentation offload gives every connection of
that host a ``checksum-offload`` and an ``oversized-segment`` finding: 600 of them for 300
connections of a loopback capture, burying the findings that matter. What the user needs to
know is that the host offloads (and how to turn it off, which the rule explains), once, as
``tshark -z expert`` groups its notes. So after the analysis (and after the baseline, which
keeps counting every finding) the findings of the rules the catalog marks ``artefact = true``
are folded: per capture file, rule and host, the first finding stays, carries a ``Fold``
(count, connections, first frames) and says so in its message; the others leave the result.
Connections whose only findings were artefacts lose their recorded timeline too, so the HTML
report draws no diagram for them.

This is a step on the finished result: every renderer shows the folded findings as it shows
any other, and the counts they print are those of the findings shown.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable

from tcpcheck.result import RESULT_ROWS, AnalysisResult, ConnectionSummary, Finding, Fold
from tcpcheck.spill import spooled
from tcpcheck.wording import counted

FRAMES_SHOWN = 5
"""Frames of the first folded findings a folded finding lists."""

_Key = tuple[str, str, str]
"""Capture file, rule slug, host."""


def fold_artefacts(result: AnalysisResult, artefacts: Collection[str], *,
                   keep_timelines: bool = False) -> AnalysisResult:
    """``result`` with the findings of the ``artefacts`` rules folded per capture and host.

    A host with a single finding of a rule keeps it as it is. Unless ``keep_timelines``
    (``--html-all`` draws every connection anyway), the timelines of connections whose every
    finding is an artefact are dropped.
    """
    if not any(f.rule in artefacts for f in result.findings):
        return result
    connections = {(c.input, c.id): c for c in result.connections}
    # Findings are named by their place in the result, not their identity: a result kept in
    # a spill file gives new objects on each reading.
    groups: dict[_Key, list[tuple[int, Finding]]] = {}
    for index, finding in enumerate(result.findings):
        if finding.rule in artefacts:
            key = (finding.input, finding.rule, _host(finding, connections))
            groups.setdefault(key, []).append((index, finding))
    firsts = {group[0][0]: (key[2], [f for _, f in group]) for key, group in groups.items()}
    findings = spooled((_folded(f, *firsts[index]) if index in firsts else f
                        for index, f in enumerate(result.findings)
                        if f.rule not in artefacts or index in firsts), result.findings,
                       RESULT_ROWS)
    timelines = result.timelines
    if not keep_timelines:
        quiet = _artefacts_only(result.findings, artefacts)
        timelines = tuple(t for t in timelines if (t.input, t.connection) not in quiet)
    return dataclasses.replace(result, findings=findings, timelines=timelines)


def _host(finding: Finding, connections: dict[tuple[str, int], ConnectionSummary]) -> str:
    """The address of the endpoint ``finding`` is about, without its port ("" if none)."""
    conn = connections.get(finding.connection_key)
    if conn is None or finding.side not in ("client", "server"):
        return ""
    endpoint = conn.client if finding.side == "client" else conn.server
    address = endpoint.rpartition(":")[0]
    return address[1:-1] if address.startswith("[") else address


def _folded(first: Finding, host: str, group: list[Finding]) -> Finding:
    """``first`` standing for the whole ``group`` (itself when the group is only ``first``)."""
    if len(group) == 1:
        return first
    frames = tuple(f.frame for f in group[:FRAMES_SHOWN])
    fold = Fold(host, len(group), len({f.connection for f in group}), frames)
    return dataclasses.replace(first, fold=fold, message=f"{fold_note(fold)}; the first: "
                                                        f"{first.message}")


def fold_note(fold: Fold) -> str:
    """``603 times on host 127.0.0.1 in 302 connections, first at frames 1, 2, 12, 13, 22``."""
    where = f" on host {fold.host}" if fold.host else ""
    frames = ", ".join(str(frame) for frame in fold.frames)
    more = ", …" if fold.count > len(fold.frames) else ""
    return (f"{counted(fold.count, 'time')}{where} in {counted(fold.connections, 'connection')}"
            f", first at frames {frames}{more}")


def _artefacts_only(findings: Iterable[Finding], artefacts: Collection[str]
                    ) -> set[tuple[str, int]]:
    """The connections (capture, id) whose findings are all artefacts."""
    other: set[tuple[str, int]] = set()
    only: set[tuple[str, int]] = set()
    for finding in findings:
        key = finding.connection_key
        (only if finding.rule in artefacts else other).add(key)
    return only - other
