"""The JUnit XML report: a test suite per capture file, a test case per connection.

CI systems (GitLab, Jenkins, Azure Pipelines, GitHub test-report actions) read JUnit XML
without any plugin for tcpcheck, so a failing connection shows up as a failing test. A test
case fails when its connection has findings at or above ``fail_on``: one ``<failure>`` lists
them all; findings below the gate go to the test case's ``<system-out>``. A damaged capture
file adds a test case ``capture file`` with an ``<error>`` (the capture could not be read to
the end, which is not a finding about any connection). Connections counted but not listed
(``--max-connections``) are the suite's ``folded.*`` properties, not test cases. Each
finding ends with its next step: the ``tshark`` command whose display filter selects its
frame and the ``tcpcheck show`` command (``tcpcheck.report.nextstep``).

``classname`` is ``tcpcheck.`` and the input path with ``.`` turned into ``_`` and path
separators into ``.``: Jenkins splits a classname at its last dot into package and class, so
``captures/linux/bulk-loss.pcap`` groups as package ``tcpcheck.captures.linux``, class
``bulk-loss_pcap``; GitLab shows the classname as it is. The suite's name is the exact path.

Deterministic: times come from the capture (a suite's time is the span of its connections),
never from the clock; ``timestamp`` is written only when given.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from tcpcheck.report.nextstep import NextSteps
from tcpcheck.result import AnalysisResult, CaptureSummary, ConnectionSummary, Finding, Severity

CAPTURE_FILE_CASE = "capture file"
"""Name of the test case whose ``<error>`` says the capture file is damaged."""

OUTSIDE_CONNECTIONS_CASE = "findings outside any connection"
"""Name of the test case for findings whose connection the result does not list."""

_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 does not allow in a document, even escaped."""

_ConnectionKey = tuple[str, int]


def render_junit(result: AnalysisResult, fail_on: Severity | None, *,
                 timestamp: str | None = None) -> str:
    """The JUnit XML document of ``result``, with its XML declaration, ending in a newline.

    ``fail_on`` is the gate (None: ``--fail-on never``, nothing fails); ``timestamp`` (ISO
    8601) is written on each test suite when given.
    """
    conns_by_input: dict[str, list[ConnectionSummary]] = {}
    for conn in result.connections:
        conns_by_input.setdefault(conn.input, []).append(conn)
    findings: dict[_ConnectionKey, list[Finding]] = {}
    for finding in result.findings:
        findings.setdefault(finding.connection_key, []).append(finding)
    steps = NextSteps(result.connections)
    suites = [_suite(capture, conns_by_input.get(capture.input, []), findings, result,
                     fail_on, timestamp, steps)
              for capture in result.captures]
    root = ET.Element("testsuites", name="tcpcheck")
    for key in ("tests", "failures", "errors"):
        root.set(key, str(sum(int(suite.get(key, "0")) for suite in suites)))
    root.set("time", _seconds(sum(float(suite.get("time", "0")) for suite in suites)))
    root.extend(suites)
    ET.indent(root, space="  ")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            + ET.tostring(root, encoding="unicode") + "\n")


def classname(input_path: str) -> str:
    """The test cases' classname for a capture file (see the module docstring)."""
    dotted = _clean(input_path).replace(".", "_").replace("\\", "/")
    parts = [part for part in dotted.split("/") if part]
    return ".".join(["tcpcheck", *parts])


def _suite(capture: CaptureSummary, conns: list[ConnectionSummary],
           findings: dict[_ConnectionKey, list[Finding]], result: AnalysisResult,
           fail_on: Severity | None, timestamp: str | None, steps: NextSteps) -> ET.Element:
    cls = classname(capture.input)
    cases = []
    for conn in conns:
        case = ET.Element("testcase", classname=cls, name=_clean(_case_name(conn)),
                          time=_seconds(conn.end - conn.start))
        _add_findings(case, findings.pop((conn.input, conn.id), []), fail_on, steps)
        cases.append(case)
    if capture.damage:
        case = ET.Element("testcase", classname=cls, name=CAPTURE_FILE_CASE,
                          time=_seconds(0.0))
        error = ET.SubElement(case, "error", message=_clean(capture.damage),
                              type="capture damage")
        error.text = _clean(f"{capture.input}: {capture.damage}\nRecords before the damage "
                            "were analysed; the rest of the file was not read.\n")
        cases.append(case)
    # Findings about a connection the result does not list: kept, never dropped silently.
    ids = {conn.id for conn in conns}
    orphans = [f for (path, conn_id), fs in findings.items()
               if path == capture.input and conn_id not in ids for f in fs]
    if orphans:
        case = ET.Element("testcase", classname=cls, name=OUTSIDE_CONNECTIONS_CASE,
                          time=_seconds(0.0))
        _add_findings(case, orphans, fail_on, steps)
        cases.append(case)
    suite = ET.Element("testsuite", name=_clean(capture.input), tests=str(len(cases)),
                       failures=str(sum(case.find("failure") is not None for case in cases)),
                       errors=str(sum(case.find("error") is not None for case in cases)),
                       skipped="0", time=_seconds(max((c.end for c in conns), default=0.0)))
    if timestamp is not None:
        suite.set("timestamp", timestamp)
    properties = ET.SubElement(suite, "properties")
    for name, value in (("tool", f"tcpcheck {result.tool_version}"),
                        ("profile", capture.profile or result.profile),
                        ("format", capture.format),
                        ("packets", str(capture.packets)),
                        ("tcp_packets", str(capture.tcp_packets)),
                        *((f"skipped.{reason}", str(count))
                          for reason, count in sorted(capture.skipped.items())),
                        *_folded(capture),
                        *((f"host.{host.address}", host.summary()) for host in capture.hosts),
                        ("fail_on", fail_on.label if fail_on is not None else "never")):
        ET.SubElement(properties, "property", name=name, value=_clean(value))
    suite.extend(cases)
    return suite


def _folded(capture: CaptureSummary) -> list[tuple[str, str]]:
    """Properties for the connections counted but not listed (as test cases): none if all
    are listed."""
    folded = capture.folded
    if folded is None:
        return []
    return [("folded.connections", str(folded.connections)),
            ("folded.packets", str(folded.packets)),
            ("folded.client_bytes", str(folded.client_bytes)),
            ("folded.server_bytes", str(folded.server_bytes)),
            *((f"folded.close.{kind}", str(count)) for kind, count in folded.close.items())]


def _add_findings(case: ET.Element, findings: list[Finding], fail_on: Severity | None,
                  steps: NextSteps) -> None:
    """A ``<failure>`` listing the findings at or above ``fail_on``, the rest in
    ``<system-out>``."""
    failing: list[Finding] = []
    passing: list[Finding] = []
    for finding in findings:
        gated = fail_on is not None and finding.severity >= fail_on
        (failing if gated else passing).append(finding)
    if failing:
        failure = ET.SubElement(case, "failure",
                                message=_clean(_failure_message(failing, fail_on)),
                                type=_clean(_failure_type(failing)))
        failure.text = _clean(_blocks(failing, steps))
    if passing:
        ET.SubElement(case, "system-out").text = _clean(_blocks(passing, steps))


def _case_name(conn: ConnectionSummary) -> str:
    """``connection 3 192.0.2.1 → 192.0.2.2:8080``: without the client's port, which the OS
    picks anew each run, so that CI systems recognise the same test case run after run (GitLab
    compares test reports by name)."""
    client_address = conn.client.rsplit(":", 1)[0]
    return f"connection {conn.id} {client_address} → {conn.server}"


def _failure_message(failing: list[Finding], fail_on: Severity | None) -> str:
    """The worst finding (the first of the highest severity), and how many failed the case."""
    worst = max(failing, key=lambda f: f.severity)
    head = f"{worst.code} {worst.rule} at frame {worst.frame}: {worst.message}"
    if len(failing) == 1:
        return head
    gate = fail_on.label if fail_on is not None else "never"
    return f"{len(failing)} findings at or above {gate}; worst: {head}"


def _failure_type(failing: list[Finding]) -> str:
    """``CODE slug`` of each rule that failed the case, most severe first, then in order of
    first appearance."""
    ranked = sorted(failing, key=lambda f: -f.severity)  # stable: keeps the frame order
    return ", ".join(dict.fromkeys(f"{f.code} {f.rule}" for f in ranked))


def _blocks(findings: list[Finding], steps: NextSteps) -> str:
    """One block per finding, blank-line separated, for a human reading the CI page."""
    return "\n\n".join(_block(f, steps) for f in findings) + "\n"


def _block(f: Finding, steps: NextSteps) -> str:
    lines = [f"frame {f.frame} · {f.code} {f.rule} · {f.severity.label}", f.message]
    where = ", ".join(part for part in (f.side, f.position) if part)
    if where:
        lines.append(f"where:     {where}")
    lines += [f"expected:  {f.expected}", f"observed:  {f.observed}",
              f"reference: {f.reference}"]
    lines += [f"{label}:{' ' * (10 - len(label))}{value}"
              for label, value in steps.of(f).lines()]
    return "\n".join(lines)


def _seconds(value: float) -> str:
    return f"{max(float(value), 0.0):.6f}"


def _clean(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids, line ends as ``\\n``."""
    return _XML_INVALID.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
