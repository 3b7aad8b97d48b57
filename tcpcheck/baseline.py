"""Baselines: accept today's findings so that a CI gate fails only on new ones.

A finding is recognised across runs by its fingerprint: the rule, the side it is about (client
or server), the service port (when it is one a program chose, below the OS's ephemeral range)
and its position relative to the ISNs (``ack=5001``). Frame numbers, times, addresses, client
ports and ISNs are left out: they change every time the same test traffic is captured again.
Findings with equal fingerprints in one capture are counted, so a baseline that accepts two
of them reports the third.

The baseline file is JSON, one entry per line, sorted, so that it reviews well in a diff.
Capture paths in it are relative to the baseline file's folder: the same baseline works from
any working directory.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from tcpcheck.result import (
    RESULT_ROWS,
    AnalysisResult,
    BaselineEntry,
    BaselineReport,
    Finding,
)
from tcpcheck.spill import spooled
from tcpcheck.userfiles import (
    BASELINE_LIMIT,
    Field,
    Kind,
    UserFileError,
    check_fields,
    describe,
    load_json,
)

BASELINE_VERSION = 1
"""Version of the file's shape."""

EPHEMERAL_START = 32768
"""The lowest port Linux hands out for outgoing connections (ip_local_port_range); Windows
and the BSDs start higher (49152). A server port below it was chosen by a program and names
the service across runs; one above it may be the OS's choice of the day."""

ENTRY_FIELDS: dict[str, Field] = {
    "input": Field(Kind.TEXT),
    "rule": Field(Kind.TEXT),
    "code": Field(Kind.TEXT),
    "side": Field(Kind.TEXT),
    "service": Field(Kind.COUNT, 1, 65535, nullable=True),
    "position": Field(Kind.TEXT),
    "fingerprint": Field(Kind.TEXT),
    # No capture holds 2**32 findings; the bound keeps a hand-edited count meaningful.
    "count": Field(Kind.COUNT, 1, 2**32),
}
"""Every key of a baseline entry, in the file's order, with what it may hold."""
_FIELDS = tuple(ENTRY_FIELDS)


class BaselineError(ValueError):
    """A baseline file that cannot be read or is not a tcpcheck baseline."""


def service_port(port: int) -> int | None:
    """``port`` when it identifies a service across runs, else None."""
    return port if 0 < port < EPHEMERAL_START else None


def fingerprint(rule: str, side: str, service: int | None, position: str) -> str:
    """16 hex digits naming a finding across re-captures of the same traffic."""
    key = f"{rule}|{side}|{'' if service is None else service}|{position}"
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


def baseline_entries(result: AnalysisResult, base_dir: Path) -> list[BaselineEntry]:
    """The findings of ``result`` as baseline entries, paths relative to ``base_dir``."""
    services = _services(result)
    counts: Counter[tuple[str, str]] = Counter()
    first: dict[tuple[str, str], Finding] = {}
    for f in result.findings:
        key = (_relative(f.input, base_dir), f.fingerprint)
        counts[key] += 1
        first.setdefault(key, f)
    entries = [
        BaselineEntry(input=path, rule=f.rule, code=f.code, side=f.side,
                      service=services.get(f.connection_key), position=f.position,
                      fingerprint=f.fingerprint, count=counts[path, f.fingerprint])
        for (path, _), f in first.items()
    ]
    entries.sort(key=lambda e: (e.input, e.code, e.side, e.position, e.fingerprint))
    return entries


def render_baseline(result: AnalysisResult, base_dir: Path) -> str:
    """The baseline file recording every finding of ``result``."""
    rows = [json.dumps({k: getattr(e, k) for k in _FIELDS}, ensure_ascii=True)
            for e in baseline_entries(result, base_dir)]
    body = ",\n    ".join(rows)
    findings = f"[\n    {body}\n  ]" if rows else "[]"
    return ('{\n  "tool": "tcpcheck",\n'
            f'  "baseline": {BASELINE_VERSION},\n'
            f'  "findings": {findings}\n}}\n')


def load_baseline(path: str) -> list[BaselineEntry]:
    """The entries of a baseline file; ``BaselineError`` with one clear line when unusable
    (every entry's every field is checked, see ``ENTRY_FIELDS``)."""
    if not os.path.exists(path):
        raise BaselineError(f"{path}: no such baseline file (record one with "
                            "--write-baseline)")
    try:
        doc = load_json(path, what="baseline file", limit=BASELINE_LIMIT)
    except UserFileError as exc:
        raise BaselineError(str(exc)) from None
    if not isinstance(doc, dict) or doc.get("tool") != "tcpcheck" or "findings" not in doc:
        raise BaselineError(f"{path}: not a tcpcheck baseline")
    version = doc.get("baseline")
    if type(version) is not int or version != BASELINE_VERSION:
        raise BaselineError(f"{path}: baseline version {describe(version)} is not "
                            f"supported (this tcpcheck reads version {BASELINE_VERSION})")
    rows = doc["findings"]
    if not isinstance(rows, list):
        raise BaselineError(f"{path}: findings must be a list, not {describe(rows)}")
    return [_entry(path, index, row) for index, row in enumerate(rows)]


def apply_baseline(result: AnalysisResult, entries: list[BaselineEntry], path: str,
                   base_dir: Path) -> AnalysisResult:
    """``result`` without the findings ``entries`` accept, with a ``BaselineReport``.

    Entries for captures this run did not analyse are neither used nor reported as stale.
    """
    remaining: Counter[tuple[str, str]] = Counter()
    for e in entries:
        remaining[e.input, e.fingerprint] += e.count
    # Read once, kept as the result keeps its findings (in memory or in a spill file).
    kept = spooled(_unaccepted(result.findings, remaining, base_dir), result.findings,
                   RESULT_ROWS)
    analysed = {_relative(c.input, base_dir) for c in result.captures}
    stale: dict[tuple[str, str], BaselineEntry] = {}
    for e in entries:
        key = (e.input, e.fingerprint)
        if e.input in analysed and remaining[key] > 0 and key not in stale:
            stale[key] = replace(e, count=remaining[key])
    report = BaselineReport(path=path, suppressed=len(result.findings) - len(kept),
                            stale=tuple(stale.values()))
    return replace(result, findings=kept, baseline=report)


def _unaccepted(findings: Iterable[Finding], remaining: Counter[tuple[str, str]],
                base_dir: Path) -> Iterator[Finding]:
    """The findings the baseline's ``remaining`` counts do not accept, using them up."""
    for f in findings:
        key = (_relative(f.input, base_dir), f.fingerprint)
        if remaining[key] > 0:
            remaining[key] -= 1
        else:
            yield f


def _services(result: AnalysisResult) -> dict[tuple[str, int], int | None]:
    return {(c.input, c.id): service_port(_port(c.server)) for c in result.connections}


def _port(endpoint: str) -> int:
    """The port of ``ip:port`` or ``[v6]:port``."""
    return int(endpoint.rsplit(":", 1)[1])


def _relative(capture: str, base_dir: Path) -> str:
    """``capture`` relative to ``base_dir``, with forward slashes."""
    return Path(os.path.relpath(os.path.abspath(capture), base_dir)).as_posix()


def _entry(path: str, index: int, row: Any) -> BaselineEntry:
    where = f"findings[{index}]"
    if not isinstance(row, dict):
        raise BaselineError(f"{path}: {where} is a malformed baseline entry: "
                            f"{describe(row)}, not an object")
    missing = [k for k in _FIELDS if k not in row]
    if missing:
        raise BaselineError(f"{path}: {where} is a malformed baseline entry: missing "
                            f"{', '.join(missing)}")
    # Keys a later tcpcheck may add are left alone: the shape only grows within a version.
    values = check_fields({k: row[k] for k in _FIELDS}, ENTRY_FIELDS,
                          lambda message: BaselineError(f"{path}: {message}"),
                          ("findings", index))
    return BaselineEntry(**values)
