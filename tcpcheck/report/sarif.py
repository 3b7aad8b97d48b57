"""The SARIF 2.1.0 report: findings for GitHub code scanning and other SARIF consumers.

One run. ``tool.driver.rules`` lists every catalog rule in catalog order, whatever the run
selected, so a rule's ``ruleIndex`` never changes between runs. Each capture file is an
artifact; each finding a result located in its capture file (``physicalLocation``, with no
``region``: a capture has no lines, and inventing ``startLine: 1`` would be a lie) and in its
connection and frame (``logicalLocations``). The finding's fingerprint, stable across
re-captures of the same traffic, is the result's ``partialFingerprints["tcpcheck/v1"]``.
Its next step (the Wireshark display filter selecting its frame and the ``tcpcheck show``
command) is in the result's ``properties``, named as in the JSON report.

What GitHub code scanning takes from the file (docs.github.com, "SARIF support for code
scanning"), and what this module does about it:

- ``shortDescription``, ``fullDescription`` (at most 1024 characters each) and ``help`` are
  shown on an alert: the catalog's summary, its "what" text, and what/why/causes/parameters.
- ``properties.tags`` filter alerts; a ``security`` tag (and ``security-severity``) would make
  them security alerts, which protocol conformance findings are not, so neither is set.
  ``problem.severity`` (error, warning, recommendation) follows the rule's default severity.
- Results without a ``region`` are accepted; the upload action then computes no
  ``primaryLocationLineHash``, the only partial fingerprint GitHub matches alerts by.
- A run with more than 25,000 results is rejected: the invocation then carries a warning.

Deterministic: the same result gives byte-identical text; the run's start time only appears
when ``timestamp`` is given.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import PurePath
from typing import Any, TextIO
from urllib.parse import quote

from tcpcheck.catalog import Catalog, ParamValue, RuleMeta, paragraphs
from tcpcheck.report.nextstep import InOrder, NextStep, NextSteps
from tcpcheck.result import (
    AnalysisResult,
    CaptureSummary,
    ConnectionSummary,
    Finding,
    Severity,
)
from tcpcheck.spill import on_disk

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
"""The schema URI GitHub's documentation gives for ``$schema``."""

SARIF_VERSION = "2.1.0"

FINGERPRINT_KEY = "tcpcheck/v1"
"""Key of the finding's fingerprint in ``partialFingerprints``; versioned as SARIF asks, so a
change of the hash can never be mistaken for the old one."""

DESCRIPTION_LIMIT = 1024
"""GitHub truncates rule descriptions longer than this."""

GITHUB_RESULT_LIMIT = 25_000
"""GitHub code scanning rejects a run with more results than this."""

FLOAT_DIGITS = 6

LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
"""SARIF result levels by severity; SARIF's ``note`` is tcpcheck's ``info``."""

PROBLEM_SEVERITY = {Severity.ERROR: "error", Severity.WARNING: "warning",
                    Severity.INFO: "recommendation"}
"""GitHub's ``problem.severity`` rule property by default severity."""

_SEMVER = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?")

ConnectionOf = Callable[[str, int], ConnectionSummary | None]
"""A listed connection by capture and id."""


def render_sarif(result: AnalysisResult, catalog: Catalog, *,
                 timestamp: str | None = None) -> str:
    """The SARIF log of ``result``: JSON indented by 2, ASCII only, ending in a newline.

    ``catalog`` supplies the rules; ``timestamp`` (ISO 8601 UTC, e.g. 2026-11-21T10:00:00Z)
    becomes the invocation's ``startTimeUtc``.
    """
    out = io.StringIO()
    write_sarif(result, catalog, out, timestamp=timestamp)
    return out.getvalue()


def write_sarif(result: AnalysisResult, catalog: Catalog, fp: TextIO, *,
                timestamp: str | None = None) -> None:
    """Write the log of ``render_sarif`` to ``fp``, each result as it is made: a result kept
    in a spill file (``tcpcheck.spill``) is read once, with its connections alongside."""
    rules = [_rule(rule) for rule in catalog]
    # A code the catalog does not know (a rule from a newer or patched tcpcheck) still gets a
    # descriptor, after the catalog's so that their indexes never move.
    known = {rule["id"] for rule in rules}
    unknown = sorted({(f.code, f.rule) for f in result.findings if f.code not in known})
    rules += [_unknown_rule(code, slug) for code, slug in dict(unknown).items()]
    rule_index = {rule["id"]: i for i, rule in enumerate(rules)}
    artifact_index: dict[str, int] = {}
    for capture in result.captures:
        artifact_index.setdefault(capture.input, len(artifact_index))
    if on_disk(result.connections):
        connections: ConnectionOf = InOrder(result.connections).get
    else:
        table = {(c.input, c.id): c for c in result.connections}
        connections = lambda path, conn_id: table.get((path, conn_id))  # noqa: E731
    run: dict[str, Any] = {
        "tool": {"driver": _driver(result.tool_version, rules)},
        "invocations": [_invocation(result, artifact_index, timestamp)],
        "artifacts": [_artifact(c, result.profile) for c in result.distinct_captures()],
        "results": _RESULTS,
    }
    if result.baseline is not None:
        run["properties"] = {"baseline": {
            "path": result.baseline.path,
            "suppressed": result.baseline.suppressed,
            "stale": [asdict(entry) for entry in result.baseline.stale],
        }}
    log = {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
    steps = NextSteps(result.connections, in_order=on_disk(result.connections))
    results = (_result(f, steps.of(f), rule_index, artifact_index, connections,
                       result.baseline is not None)
               for f in result.findings)
    _write(fp, log, results)


_RESULTS = "\0results"
"""Stands in for the results array in the indented document. Text from the result only ever
sits inside JSON strings, where its quotes are escaped, so ``"results": "\\u0000results"``
can only match this key."""


def _write(fp: TextIO, log: dict[str, Any], results: Iterable[dict[str, Any]]) -> None:
    """``log`` indented by 2, with each result on one line of its own, written as made.

    The indenting encoder is pure Python: on a capture with 100,000 findings it took longer
    than the analysis and wrote 1.3 kB per result. One line per result lets the C encoder do
    the bulk, and keeps the file readable and greppable (the same choice as ``jsondoc``).
    """
    head = json.dumps(log, indent=2, ensure_ascii=True, allow_nan=False)
    placeholder = '"results": ' + json.dumps(_RESULTS)
    encode = json.JSONEncoder(ensure_ascii=True, allow_nan=False,
                              separators=(", ", ": ")).encode
    indent = " " * 8  # runs[0].results[i]: three objects deep, one array more
    before, _, after = head.partition(placeholder)
    fp.write(before + '"results": ')
    sep = "[\n"
    for row in results:
        fp.write(sep + indent + encode(row))
        sep = ",\n"
    fp.write("[]" if sep == "[\n" else f"\n{indent[:-2]}]")
    fp.write(after + "\n")


def artifact_uri(path: str) -> str:
    """The input path as a URI reference: relative paths stay relative (GitHub resolves them
    from the repository root), absolute ones become ``file://`` URIs; both percent-encoded."""
    pure = PurePath(path)
    if pure.is_absolute():
        return pure.as_uri()
    return quote(pure.as_posix(), safe="/")


# -- tool ----------------------------------------------------------------------------------


def _driver(version: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    driver: dict[str, Any] = {"name": "tcpcheck", "version": version}
    if _SEMVER.fullmatch(version):
        driver["semanticVersion"] = version
    driver["rules"] = rules
    return driver


def _rule(rule: RuleMeta) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.slug,
        "shortDescription": {"text": _cap(rule.summary)},
        "fullDescription": {"text": _cap("\n\n".join(paragraphs(rule.what)))},
        "help": {"text": _help_text(rule), "markdown": _help_markdown(rule)},
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {
            "category": rule.category,
            "tags": ["tcp", rule.category],
            "reference": rule.reference,
            "problem.severity": PROBLEM_SEVERITY[rule.severity],
        },
    }


def _unknown_rule(code: str, slug: str) -> dict[str, Any]:
    text = f"{code} {slug}: a rule this version's catalog does not describe"
    return {"id": code, "name": slug, "shortDescription": {"text": text},
            "fullDescription": {"text": text}, "help": {"text": text},
            "properties": {"tags": ["tcp"]}}


def _cap(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """``text`` cut at a word boundary to fit ``limit`` characters, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + "…"


def _help_text(rule: RuleMeta) -> str:
    parts = [rule.summary, "What it checks:", *paragraphs(rule.what),
             "Why it matters:", *paragraphs(rule.why), "Usual causes:", *paragraphs(rule.causes)]
    if rule.parameters:
        parts.append(f"Parameters ([rules.{rule.slug}] in the configuration):")
        parts.append("\n".join(f"{p.name} = {_toml(p.default)}: {p.description}"
                               for p in rule.parameters))
    parts.append(f"Reference: {rule.reference}")
    return "\n\n".join(parts)


def _help_markdown(rule: RuleMeta) -> str:
    parts = [f"**{rule.summary}**", "#### What it checks", *paragraphs(rule.what),
             "#### Why it matters", *paragraphs(rule.why),
             "#### Usual causes", *paragraphs(rule.causes)]
    if rule.parameters:
        parts.append("#### Parameters")
        parts.append(f"Set in `[rules.{rule.slug}]` of `tcpcheck.toml` "
                     f"(`[tool.tcpcheck.rules.{rule.slug}]` in `pyproject.toml`).")
        rows = ["| parameter | default | description |", "| --- | --- | --- |"]
        rows += [f"| `{p.name}` | `{_toml(p.default)}` | {_table_cell(p.description)} |"
                 for p in rule.parameters]
        parts.append("\n".join(rows))
    parts.append(f"**Reference:** {rule.reference}")
    return "\n\n".join(parts)


def _table_cell(text: str) -> str:
    """Text that cannot end a Markdown table cell early."""
    return " ".join(text.split()).replace("|", "\\|")


def _toml(value: ParamValue) -> str:
    """A parameter's default as it is written in the configuration file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


# -- invocation and artifacts --------------------------------------------------------------


def _invocation(result: AnalysisResult, artifact_index: dict[str, int],
                timestamp: str | None) -> dict[str, Any]:
    notifications = [
        {
            "level": "warning",
            "message": {"text": f"{c.input}: {c.damage} (analysed up to there)"},
            "locations": [_physical(c.input, artifact_index)],
        }
        for c in result.captures if c.damage
    ]
    if len(result.findings) > GITHUB_RESULT_LIMIT:
        notifications.append({
            "level": "warning",
            "message": {"text": f"{len(result.findings):,} results: GitHub code scanning "
                                f"rejects a run of more than {GITHUB_RESULT_LIMIT:,} "
                                "(leave info findings out with --no-info, or --ignore rules)"},
        })
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    if timestamp is not None:
        invocation["startTimeUtc"] = timestamp
    return invocation



def _artifact(capture: CaptureSummary, run_profile: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "location": {"uri": artifact_uri(capture.input)},
        "roles": ["analysisTarget"],
        "properties": {
            "format": capture.format,
            "packets": capture.packets,
            "tcp_packets": capture.tcp_packets,
            "skipped": dict(sorted(capture.skipped.items())),
            "damage": capture.damage,
            "profile": capture.profile or run_profile,
        },
    }
    if capture.hosts:
        # --profile auto: the profile each host was judged by, and why (a forced profile's
        # reports stay byte-identical).
        out["properties"]["hosts"] = [asdict(host) for host in capture.hosts]
    return out


def _physical(path: str, artifact_index: dict[str, int]) -> dict[str, Any]:
    location: dict[str, Any] = {"uri": artifact_uri(path)}
    if path in artifact_index:
        location["index"] = artifact_index[path]
    return {"physicalLocation": {"artifactLocation": location}}


# -- results -------------------------------------------------------------------------------


def _result(finding: Finding, step: NextStep, rule_index: dict[str, int],
            artifact_index: dict[str, int], connections: ConnectionOf,
            baselined: bool) -> dict[str, Any]:
    conn = connections(*finding.connection_key)
    where = f"connection {finding.connection}"
    if conn is not None:
        where += f" ({conn.client} → {conn.server})"
    location = _physical(finding.input, artifact_index)
    location["logicalLocations"] = [{
        "name": f"frame {finding.frame}",
        "fullyQualifiedName": f"{where} / frame {finding.frame}",
    }]
    out: dict[str, Any] = {"ruleId": finding.code, "ruleIndex": rule_index[finding.code]}
    out["level"] = LEVEL[finding.severity]
    out["message"] = {"text": _message_text(finding)}
    out["locations"] = [location]
    if finding.fold is not None:
        # SARIF §3.27.25: "the number of times this result was observed"; the properties
        # below name the host and the first frames.
        out["occurrenceCount"] = finding.fold.count
    if finding.fingerprint:
        out["partialFingerprints"] = {FINGERPRINT_KEY: finding.fingerprint}
    if baselined:
        # Everything a baseline let through is, by definition, not in the baseline.
        out["baselineState"] = "new"
    out["properties"] = {
        "rule": finding.rule,
        "frame": finding.frame,
        "connection": finding.connection,
        "client": conn.client if conn is not None else "",
        "server": conn.server if conn is not None else "",
        "time": round(float(finding.time), FLOAT_DIGITS),
        "side": finding.side,
        "position": finding.position,
        "expected": finding.expected,
        "observed": finding.observed,
        "reference": finding.reference,
        # SARIF has no place for "how to look at it" in a capture, which has no lines: the
        # property bag carries the JSON report's next-step fields under the same names.
        "display_filter": step.display_filter,
        "show_command": step.show,
    }
    if finding.fold is not None:
        out["properties"]["fold"] = asdict(finding.fold)
    return out


def _message_text(finding: Finding) -> str:
    """The finding's message, then what was expected and observed (GitHub shows the first
    sentence where space is short, so the message comes first)."""
    message = finding.message.rstrip()
    if not message.endswith((".", "!", "?")):
        message += "."
    return f"{message} Expected: {finding.expected}; observed: {finding.observed}."

