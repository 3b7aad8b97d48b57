"""Build ``docs/oracle-dev.md``: every field capture of ``../shared/oracle/dev`` side by side.

For each case (a capture from another engine's public test suite with its ``.expect.json``) the
document shows what that suite expects, what Wireshark flags, what tcpcheck says and, by hand,
whether the two agree and why a difference is right. The "tcpcheck says" part is never written by
hand: it is the summary of a real run, the findings of ``tcpcheck analyze --format json`` (the
same document, made in-process by ``render_json``) with the linux profile and no configuration.

The hand-written part lives in ``docs/oracle-dev.reasons.toml``, one table per case::

    [cases."zeek__tcp-syn-bad"]
    verdict = "agrees"
    written_for = '''errors: none | warnings: bad-checksum 1 | ...'''
    reason = '''Zeek ignores the segment for state, and so does tcpcheck ...'''

``written_for`` is the tcpcheck summary the reason was written against. When the model changes
and a case's summary moves, the reason may no longer hold: the script then refuses to write the
document and lists every such case ("reason written for X, tcpcheck now says Y: review"). Once a
reason is reviewed (and rewritten where needed), ``--accept CASE`` records the new summary as
the one it was written for.

Usage::

    python scripts/oracle_table.py                 # write docs/oracle-dev.md (make oracle-table)
    python scripts/oracle_table.py --check         # exit 1 if the document is out of date
    python scripts/oracle_table.py --accept CASE   # after reviewing CASE's reason
"""

from __future__ import annotations

import argparse
import enum
import json
import re
import sys
import tomllib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tcpcheck.pipeline import analyze_files
from tcpcheck.profiles import load_profile
from tcpcheck.report.jsondoc import render_json

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ORACLE = ROOT.parent / "shared" / "oracle" / "dev"
DOC = ROOT / "docs" / "oracle-dev.md"
REASONS = ROOT / "docs" / "oracle-dev.reasons.toml"
PROFILE = "linux"
SEVERITIES = ("error", "warning", "info")
# Info rules listing more runs of frames than this are shown as "first … last": the exact
# frames of a 50-frame duplicate-ACK storm say nothing a reader needs, and errors and warnings
# are always listed in full.
MAX_INFO_RUNS = 6


class Verdict(enum.Enum):
    """How tcpcheck's answer compares with the other engine's (and Wireshark's)."""

    AGREES = "agrees"
    RIGHT = "differs, tcpcheck right"
    ISSUE13 = "known model mistake, issue 13"
    OPEN = "known model mistake, not yet owned"


@dataclass(frozen=True, slots=True)
class Case:
    """One field capture and what its ``.expect.json`` says about it."""

    name: str
    capture: Path
    source_repo: str
    source_test: str
    expects: tuple[str, ...]
    notes: str
    rule_area: str
    wireshark_frames: int
    wireshark: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Reason:
    """The hand-written judgement of one case and the tcpcheck summary it was written for."""

    verdict: Verdict
    written_for: str
    text: str


@dataclass(frozen=True, slots=True)
class Says:
    """What tcpcheck says about one capture: the summary line and its findings per severity."""

    text: str
    counts: tuple[int, int, int]
    """Errors, warnings, infos."""


@dataclass(frozen=True, slots=True)
class Row:
    case: Case
    says: Says
    reason: Reason | None

    @property
    def stale(self) -> bool:
        return self.reason is None or self.reason.written_for != self.says.text


class ReasonsError(Exception):
    """The reasons file does not fit the cases (a reason missing, stale or for no case)."""


# --------------------------------------------------------------------------- inputs


def load_cases(oracle: Path) -> list[Case]:
    """Every case of the oracle folder, by name (a capture is ``.pcap`` or ``.pcapng``)."""
    cases = []
    for expect in sorted(oracle.glob("*.expect.json")):
        name = expect.name.removesuffix(".expect.json")
        (capture,) = [p for p in oracle.glob(f"{name}.pcap*") if p.suffix in (".pcap", ".pcapng")]
        data = json.loads(expect.read_text())
        ws = data["wireshark"]
        cases.append(Case(
            name=name, capture=capture, source_repo=data["source_repo"],
            source_test=data["source_test"], expects=tuple(data["expects"]),
            notes=data["notes"], rule_area=data["rule_area"],
            wireshark_frames=ws["flagged_frames"],
            wireshark=_merge_duplicate_acks(ws["messages"])))
    return cases


def _merge_duplicate_acks(messages: dict[str, int]) -> tuple[tuple[str, int], ...]:
    """Wireshark numbers each duplicate ACK (#1, #2, ...): one line for all of them."""
    dup = re.compile(r"Duplicate ACK \(#(\d+)\)")
    merged: dict[str, int] = {}
    highest = 0
    for message, count in messages.items():
        found = dup.fullmatch(message)
        if found:
            highest = max(highest, int(found[1]))
            message = "Duplicate ACK"
        merged[message] = merged.get(message, 0) + count
    if highest:
        numbers = "#1" if highest == 1 else f"#1 to #{highest}"
        merged[f"Duplicate ACK ({numbers})"] = merged.pop("Duplicate ACK")
    return tuple(sorted(merged.items(), key=lambda item: (-item[1], item[0])))


def load_reasons(path: Path) -> dict[str, Reason]:
    """The reasons file, by case name."""
    data = tomllib.loads(path.read_text()) if path.exists() else {}
    return {name: Reason(Verdict(entry["verdict"]), entry["written_for"].strip(),
                         entry["reason"].strip())
            for name, entry in data.get("cases", {}).items()}


# --------------------------------------------------------------------------- tcpcheck


def report_of(capture: Path) -> dict[str, Any]:
    """``tcpcheck analyze --isolated --format json CAPTURE``'s document, made in-process."""
    return json.loads(render_json(analyze_files([str(capture)], load_profile(PROFILE))))


def summarise(report: dict[str, Any]) -> Says:
    """What tcpcheck says, in one line: findings by severity and rule with their frames, then
    how the connections ended (client/server state and close kind)."""
    frames: dict[tuple[str, str], list[int]] = {}
    for finding in report["findings"]:
        frames.setdefault((finding["severity"], finding["rule"]), []).append(finding["frame"])
    parts = []
    for severity in SEVERITIES:
        rules = sorted((rule, found) for (sev, rule), found in frames.items() if sev == severity)
        listed = "; ".join(f"{rule} {_frames(found, severity)}" for rule, found in rules)
        parts.append(f"{severity}s: {listed or 'none'}")
    ends = Counter(f"{c['client_state']}/{c['server_state']} ({c['close']})"
                   for c in report["connections"])
    parts.append("ends: " + ", ".join(end + (f" x{n}" if n > 1 else "")
                                      for end, n in sorted(ends.items())))
    counts = report["summary"]["findings"]
    return Says(" | ".join(parts), tuple(counts[severity] for severity in SEVERITIES))


def _frames(found: Iterable[int], severity: str) -> str:
    """``2-11, 13`` (runs of consecutive frames); long info lists as ``x53: 94 ... 232``."""
    ordered = sorted(found)
    runs: list[list[int]] = []
    for frame in ordered:
        if runs and frame == runs[-1][-1] + 1:
            runs[-1].append(frame)
        else:
            runs.append([frame])
    if severity == "info" and len(runs) > MAX_INFO_RUNS:
        return f"x{len(ordered)}: {ordered[0]} ... {ordered[-1]}"
    text = ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)
    return f"x{len(ordered)}: {text}" if len(ordered) > 1 else text


def build_rows(cases: Sequence[Case], reasons: dict[str, Reason]) -> list[Row]:
    """Each case with tcpcheck's summary of it and its reason (None when it has none)."""
    unknown = sorted(set(reasons) - {c.name for c in cases})
    if unknown:
        raise ReasonsError("reasons for cases that are not in the oracle folder: "
                           + ", ".join(unknown))
    return [Row(case, summarise(report_of(case.capture)), reasons.get(case.name))
            for case in cases]


def stale_messages(rows: Iterable[Row]) -> list[str]:
    """One line per row whose reason is missing or was written for another summary."""
    out = []
    for row in rows:
        if row.reason is None:
            out.append(f"{row.case.name}: no reason yet; tcpcheck says [{row.says.text}]")
        elif row.stale:
            out.append(f"{row.case.name}: reason written for [{row.reason.written_for}], "
                       f"tcpcheck now says [{row.says.text}]: review")
    return out


# --------------------------------------------------------------------------- the document

INTRO = """\
# Agreement with the field: `../shared/oracle/dev`

<!-- Generated by scripts/oracle_table.py (make oracle-table) from a real run of tcpcheck and
     docs/oracle-dev.reasons.toml. Edit the reasons file, never this one. -->

Each case below is a capture from another engine's public test suite (Arkime, PcapPlusPlus,
Suricata's suricata-verify, Zeek's btest), kept beside the project in `../shared/oracle/dev`
with an `.expect.json`: the source repository and test, what that suite asserts (`expects`),
notes on the packets, and the expert messages of Wireshark (TShark 4.0.17, default preferences)
on the frames it flags. Those engines do different jobs (session indexing, reassembly, IDS stream
events, connection logs), so "agreement" here means: where the other engine names a TCP
behaviour (an anomaly, a state, a gap, a retransmission), tcpcheck names the same one, and where
it reads the traffic as healthy or as a capture artefact, tcpcheck reports no error.

**How the table is made.** `scripts/oracle_table.py` runs every capture through tcpcheck
(profile `linux`, no configuration file: what
`tcpcheck analyze --isolated --profile linux --format json` prints) and summarises the findings
by severity and rule, with their frame numbers (Wireshark's
`frame.number`; `2-11` is a run, long info lists show first and last), and how each connection
ended (client/server state, close kind). Everything else in a case's section comes from its
`.expect.json`, except the verdict and the reason, which are written by hand in
`docs/oracle-dev.reasons.toml` after reading the packets (`tshark -r CASE.pcap -o
tcp.relative_sequence_numbers:FALSE`). A verdict is one of:

- **agrees**: tcpcheck reports what the other engine expects and what Wireshark flags, each in
  its own terms;
- **differs, tcpcheck right**: tcpcheck differs from the other engine or from Wireshark, and the
  reason says which RFC section (or which fact of the capture) makes tcpcheck's answer right;
- **known model mistake, issue 13**: tcpcheck is wrong today, and a strict xfail in
  `tests/test_model_false_alarms.py` (named in the reason) says what issue 13 changes;
- **known model mistake, not yet owned**: tcpcheck is wrong today and no test pins it yet.

**How it is checked.** Each reason stores the tcpcheck summary it was written for. When the
model changes and a summary moves, `make oracle-table` refuses to write the document and lists
the cases to review ("reason written for X, tcpcheck now says Y: review"); after review,
`python scripts/oracle_table.py --accept CASE` records the new summary. `tests/test_oracle_table.py`
fails when a reason is stale or this document differs from a fresh run (it is skipped when
`../shared/oracle/dev` is absent). `tests/test_oracle.py` separately requires no error on the
captures the field reads as healthy.

Regenerate: `make oracle-table` (or `.venv/bin/python scripts/oracle_table.py`).
"""


def render(rows: Sequence[Row]) -> str:
    """The whole document."""
    out = [INTRO, "## Overview", "",
           "Wireshark: frames it flags. tcpcheck: findings by severity (error / warning / "
           "info).", "",
           "| case | area | Wireshark | tcpcheck E / W / I | verdict |",
           "| --- | --- | ---: | ---: | --- |"]
    for row in rows:
        assert row.reason is not None and not row.stale, row.case.name
        errors, warnings, infos = row.says.counts
        out.append(f"| [{row.case.name}](#{_anchor(row.case.name)}) | {row.case.rule_area} "
                   f"| {row.case.wireshark_frames} | {errors} / {warnings} / {infos} "
                   f"| {row.reason.verdict.value} |")
    out.append("")
    out.extend(_section(row) for row in rows)
    return "\n".join(out).rstrip("\n") + "\n"


def _anchor(name: str) -> str:
    """GitHub's heading anchor for a ``### `name` `` heading."""
    return re.sub(r"[^a-z0-9_ -]", "", name.lower()).replace(" ", "-")


def _section(row: Row) -> str:
    case = row.case
    expects = "\n".join(f"  - {line}" for line in case.expects)
    wireshark = ", ".join(f"`{m}` x{n}" for m, n in case.wireshark) or "nothing"
    says = "\n".join(f"  - {part}" for part in row.says.text.split(" | "))
    assert row.reason is not None
    return (f"### {case.name}\n\n"
            f"- **Source:** {case.source_repo}, `{case.source_test}` (area: {case.rule_area})\n"
            f"- **That suite expects:**\n{expects}\n"
            f"- **Notes:** {case.notes}\n"
            f"- **Wireshark** ({case.wireshark_frames} frames flagged): {wireshark}\n"
            f"- **tcpcheck says:**\n{says}\n"
            f"- **Verdict:** {row.reason.verdict.value}\n\n"
            f"{row.reason.text}\n")


# --------------------------------------------------------------------------- accepting


def accept(path: Path, rows: Sequence[Row], names: Iterable[str]) -> None:
    """Record each named case's current summary as the one its (reviewed) reason is for.

    Only the ``written_for`` string of those cases changes, in place, so the file's layout and
    comments stay as written."""
    text = path.read_text()
    by_name = {row.case.name: row for row in rows}
    for name in names:
        row = by_name.get(name)
        if row is None or row.reason is None:
            raise ReasonsError(f"{name}: no such case with a reason in {path.name}")
        header = f'[cases."{name}"]'
        start = text.index(header)
        end = text.find("\n[", start + len(header))
        end = len(text) if end < 0 else end
        old = f"written_for = '''{row.reason.written_for}'''"
        section = text[start:end]
        if old not in section:
            raise ReasonsError(f"{name}: write written_for as one line, {old[:40]}...")
        new = f"written_for = '''{row.says.text}'''"
        text = text[:start] + section.replace(old, new) + text[end:]
    path.write_text(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--oracle", type=Path, default=DEFAULT_ORACLE)
    parser.add_argument("--reasons", type=Path, default=REASONS)
    parser.add_argument("--out", type=Path, default=DOC)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the document is out of date; write nothing")
    parser.add_argument("--accept", nargs="+", metavar="CASE", default=(),
                        help="record the current summary of these reviewed cases")
    args = parser.parse_args(argv)
    if not args.oracle.is_dir():
        print(f"oracle_table: {args.oracle} is not a folder", file=sys.stderr)
        return 2
    try:
        rows = build_rows(load_cases(args.oracle), load_reasons(args.reasons))
        if args.accept:
            accept(args.reasons, rows, args.accept)
            rows = build_rows(load_cases(args.oracle), load_reasons(args.reasons))
    except ReasonsError as exc:
        print(f"oracle_table: {exc}", file=sys.stderr)
        return 1
    stale = stale_messages(rows)
    if stale:
        print(f"oracle_table: {len(stale)} case(s) to review in {args.reasons.name} "
              f"({args.out.name} left unchanged):", *stale, sep="\n", file=sys.stderr)
        return 1
    text = render(rows)
    if args.check:
        current = args.out.read_text() if args.out.exists() else ""
        if current != text:
            print(f"oracle_table: {args.out} is out of date: run make oracle-table",
                  file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text)
    print(f"wrote {args.out} ({len(rows)} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
