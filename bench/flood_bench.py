"""Time and peak memory of tcpcheck on floods of connections (``make bench-flood``).

Two captures, written once into bench/data/ (gitignored) by ``flood_capture.py`` from real
Linux frames, and kept for later runs:

1. ``syn-flood-1m.pcap``: 1,000,000 SYNs from 256 spoofed addresses x 3,907 ports to one
   server port, 50,000 a second, none answered: a million half-open connections;
2. ``open-200k.pcap``: 200,000 connections that open, send a request and its ACK, and are
   never closed: all of them open at the end of the capture.

Each runs as ``tcpcheck analyze FILE --format json -o REPORT`` in a child process; printed:
wall seconds, the child's peak RSS (``ru_maxrss`` from wait4(2), the figure ``/usr/bin/time
-v`` prints), the report's size, its connection rows and its findings by rule. Nothing here
asserts on time: the numbers are for people to read (bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import flood_capture

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
TCPCHECK = ROOT / ".venv" / "bin" / "tcpcheck"
CASES = {
    "syn-flood-1m": lambda path: flood_capture.write_syn_flood(path, 1_000_000),
    "open-200k": lambda path: flood_capture.write_open_connections(path, 200_000),
}


@dataclass(frozen=True, slots=True)
class Measured:
    seconds: float
    peak_rss_mb: float
    report_mb: float
    rows: int
    findings: Counter[str]


def ensure(name: str) -> Path:
    """The case's capture, written first if it is not there yet."""
    path = DATA / f"{name}.pcap"
    if not path.exists():
        started = time.perf_counter()
        partial = path.with_suffix(".partial")
        records = CASES[name](partial)
        partial.rename(path)
        print(f"wrote {path} ({records:,} packets, {path.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - started:.1f} s")
    return path


def rows_and_findings(report: Path) -> tuple[int, Counter[str]]:
    """Connection rows and findings by rule of a JSON report, read a line at a time (each row
    is one line) so that a big report costs this process little."""
    rows, rules, section = 0, Counter(), ""
    with open(report, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith('  "connections": ['):
                section = "connections"
            elif line.startswith('  "findings": ['):
                section = "findings"
            elif line.startswith("    {") and section == "connections":
                rows += 1
            elif line.startswith("    {") and section == "findings":
                rules[json.loads(line.strip().rstrip(","))["rule"]] += 1
    return rows, rules


def measure(capture: Path, extra: list[str]) -> Measured:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        argv = [str(TCPCHECK), "analyze", str(capture), "--format", "json", "-o", str(report),
                *extra]
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            raise RuntimeError(f"exit {code}: {proc.stderr.read().decode(errors='replace')}")
        proc.stderr.close()
        rows, rules = rows_and_findings(report)
        return Measured(seconds, usage.ru_maxrss / 1024, report.stat().st_size / 1e6, rows,
                        rules)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(CASES), help="run one case")
    parser.add_argument("tcpcheck_args", nargs="*", metavar="ARG",
                        help="more options for tcpcheck analyze (after --)")
    args = parser.parse_args(argv)
    if not TCPCHECK.exists():
        parser.error(f"{TCPCHECK} is missing: run `make venv`")
    print(f"{'capture':<14} {'seconds':>8} {'peak RSS MB':>12} {'report MB':>10} "
          f"{'rows':>8}  findings")
    for name in [args.only] if args.only else list(CASES):
        m = measure(ensure(name), args.tcpcheck_args)
        found = ", ".join(f"{rule} {n:,}" for rule, n in m.findings.most_common()) or "none"
        print(f"{name:<14} {m.seconds:>8.1f} {m.peak_rss_mb:>12.0f} {m.report_mb:>10.1f} "
              f"{m.rows:>8,}  {found}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
