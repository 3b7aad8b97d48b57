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
from dataclasses import replace
from pathlib import Path
from typing import Any

from tcpcheck.result import AnalysisResult, BaselineEntry, BaselineReport, Finding

BASELINE_VERSION = 1
"""Version of the file's shape."""

EPHEMERAL_START = 32768
"""The lowest port Linux hands out for outgoing connections (ip_local_port_range); Windows
and the BSDs start higher (49152). A server port below it was chosen by a program and names
the service across runs; one above it may be the OS's choice of the day."""

_FIELDS = ("input", "rule", "code", "side", "service", "position", "fingerprint", "count")


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
                      service=services.get((f.input, f.connection)), position=f.position,
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
    """The entries of a baseline file; ``BaselineError`` with one clear line when unusable."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        raise BaselineError(f"{path}: no such baseline file (record one with "
                            "--write-baseline)") from None
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{path}: not a tcpcheck baseline (invalid JSON: {exc})") from None
    if not isinstance(doc, dict) or doc.get("tool") != "tcpcheck" or "findings" not in doc:
        raise BaselineError(f"{path}: not a tcpcheck baseline")
    if doc.get("baseline") != BASELINE_VERSION:
        raise BaselineError(f"{path}: baseline version {doc.get('baseline')!r} is not "
                            f"supported (this tcpcheck reads version {BASELINE_VERSION})")
    try:
        return [_entry(row) for row in doc["findings"]]
    except (TypeError, KeyError, ValueError) as exc:
        raise BaselineError(f"{path}: malformed baseline entry ({exc})") from None


def apply_baseline(result: AnalysisResult, entries: list[BaselineEntry], path: str,
                   base_dir: Path) -> AnalysisResult:
    """``result`` without the findings ``entries`` accept, with a ``BaselineReport``.

    Entries for captures this run did not analyse are neither used nor reported as stale.
    """
    remaining: Counter[tuple[str, str]] = Counter()
    for e in entries:
        remaining[e.input, e.fingerprint] += e.count
    kept: list[Finding] = []
    for f in result.findings:
        key = (_relative(f.input, base_dir), f.fingerprint)
        if remaining[key] > 0:
            remaining[key] -= 1
        else:
            kept.append(f)
    analysed = {_relative(c.input, base_dir) for c in result.captures}
    stale: dict[tuple[str, str], BaselineEntry] = {}
    for e in entries:
        key = (e.input, e.fingerprint)
        if e.input in analysed and remaining[key] > 0 and key not in stale:
            stale[key] = replace(e, count=remaining[key])
    report = BaselineReport(path=path, suppressed=len(result.findings) - len(kept),
                            stale=tuple(stale.values()))
    return replace(result, findings=tuple(kept), baseline=report)


def _services(result: AnalysisResult) -> dict[tuple[str, int], int | None]:
    return {(c.input, c.id): service_port(_port(c.server)) for c in result.connections}


def _port(endpoint: str) -> int:
    """The port of ``ip:port`` or ``[v6]:port``."""
    return int(endpoint.rsplit(":", 1)[1])


def _relative(capture: str, base_dir: Path) -> str:
    """``capture`` relative to ``base_dir``, with forward slashes."""
    return Path(os.path.relpath(os.path.abspath(capture), base_dir)).as_posix()


def _entry(row: Any) -> BaselineEntry:
    values = {k: row[k] for k in _FIELDS}
    if not all(isinstance(values[k], str) for k in _FIELDS if k not in ("service", "count")):
        raise ValueError("text fields must be strings")
    if not isinstance(values["count"], int) or values["count"] < 1:
        raise ValueError("count must be a positive integer")
    if values["service"] is not None and not isinstance(values["service"], int):
        raise ValueError("service must be a port number or null")
    return BaselineEntry(**values)
