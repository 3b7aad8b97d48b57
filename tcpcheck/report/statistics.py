"""``--statistics``: how many findings each rule gave, one line per rule, as ruff prints them.

``   603  CQ003  checksum-offload  info``: count, code, slug, severity, the most severe rules
first and the commonest first within a severity. Counts are of findings, a folded artefact
counting every finding it stands for, so the numbers are those a baseline would record.
"""

from __future__ import annotations

from typing import NamedTuple

from tcpcheck.result import AnalysisResult, Severity


class RuleCount(NamedTuple):
    """How many findings one rule gave at one severity."""

    code: str
    rule: str
    severity: Severity
    count: int


def rule_counts(result: AnalysisResult) -> list[RuleCount]:
    """Findings per rule and severity (a rule configured to another severity for some files
    gives a line per severity), most severe first, then by count, then by code."""
    counts: dict[tuple[str, str, Severity], int] = {}
    for finding in result.findings:
        key = (finding.code, finding.rule, finding.severity)
        counts[key] = counts.get(key, 0) + finding.count
    rows = [RuleCount(code, rule, severity, n) for (code, rule, severity), n in counts.items()]
    return sorted(rows, key=lambda r: (-r.severity, -r.count, r.code))


def render_statistics(result: AnalysisResult) -> str:
    """One aligned line per rule (nothing when there is no finding), plain text for a pipe:
    no colour, no trailing spaces."""
    rows = rule_counts(result)
    if not rows:
        return ""
    counts = [f"{row.count:,}" for row in rows]
    count_width = max(map(len, counts))
    code_width = max(len(row.code) for row in rows)
    rule_width = max(len(row.rule) for row in rows)
    return "".join(f"{count:>{count_width}}  {row.code:<{code_width}}  "
                   f"{row.rule:<{rule_width}}  {row.severity.label}\n"
                   for count, row in zip(counts, rows, strict=True))
