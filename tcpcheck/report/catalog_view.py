"""The rule catalog for people and scripts: ``tcpcheck rules`` (a table or JSON) and
``tcpcheck explain RULE`` (ruff's ``rule`` page: what, why, causes, parameters, example)."""

from __future__ import annotations

import dataclasses
import json
import shlex
from collections.abc import Sequence
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tcpcheck.catalog import RuleMeta, paragraphs
from tcpcheck.report.prose import INDENT, section, wrap
from tcpcheck.report.terminal import SEVERITY_STYLE
from tcpcheck.wording import counted

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
"""Where the bundled captures live: rule examples are paths relative to it."""


def render_rules(rules: Sequence[RuleMeta], console: Console) -> None:
    """The rules as a table (code, slug, severity, category, summary) and their count."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for name in ("code", "slug", "severity", "category"):
        table.add_column(name, no_wrap=True)
    table.add_column("summary", overflow="fold")
    for rule in rules:
        style = SEVERITY_STYLE[rule.severity]
        table.add_row(Text(rule.code, style=style), Text(rule.slug, style="bold"),
                      Text(rule.severity.label, style=style), Text(rule.category),
                      Text(rule.summary))
    console.print(table)
    console.print(Text(f"{counted(len(rules), 'rule')} · tcpcheck explain RULE for what each "
                       "checks, why it matters and a capture that shows it", style="dim"))


def rules_json(rules: Sequence[RuleMeta]) -> str:
    """The rules as a JSON array of their metadata, indented by 2."""
    return json.dumps([rule_doc(r) for r in rules], indent=2, ensure_ascii=False)


def rule_doc(rule: RuleMeta) -> dict[str, object]:
    """A rule's metadata as JSON-ready fields (the severity as its label)."""
    doc: dict[str, object] = {f.name: getattr(rule, f.name) for f in dataclasses.fields(rule)}
    doc["severity"] = rule.severity.label
    doc["parameters"] = [dataclasses.asdict(p) for p in rule.parameters]
    return doc


def render_explanation(rule: RuleMeta, console: Console) -> None:
    """One rule's page: heading, summary, what it checks, why it matters, usual causes,
    parameters and the bundled capture that shows it."""
    style = SEVERITY_STYLE[rule.severity]
    console.print(Text.assemble((rule.code, style), " ", (rule.slug, "bold"), " · ",
                                (rule.severity.label, style), f" · {rule.category}"),
                  soft_wrap=True)
    console.print(wrap(rule.summary, console, indent=""), soft_wrap=True)
    section(console, "What it checks", [wrap(p, console) for p in paragraphs(rule.what)])
    why = [wrap(p, console) for p in paragraphs(rule.why)]
    why.append(wrap("Reference: " + rule.reference, console, bold_prefix="Reference:"))
    section(console, "Why it matters", why)
    section(console, "Usual causes", [wrap(p, console) for p in paragraphs(rule.causes)])
    if rule.parameters:
        section(console, "Parameters", [
            wrap(f"{p.name} = {p.default!r}: {p.description}", console,
                 bold_prefix=f"{p.name} = {p.default!r}:") for p in rule.parameters]
            + [wrap(f"Set them in the configuration: [rules.{rule.slug}] in tcpcheck.toml, "
                    f"or [tool.tcpcheck.rules.{rule.slug}] in pyproject.toml.", console)])
    section(console, "Example", _example(rule))


def _example(rule: RuleMeta) -> list[Text]:
    """The bundled capture and the command that shows the rule on it, when it is installed
    (every rule has one: tests/test_captures.py checks that it triggers the rule)."""
    path = PROJECT_ROOT / rule.example
    if not path.is_file():
        return [Text(f"{INDENT}no bundled capture ({rule.example} is not in this "
                     "installation)", style="dim")]
    # The command must work from where the user stands: relative inside the tree, else absolute.
    shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
    return [Text(INDENT + rule.example),
            Text.assemble(INDENT, ("$ ", "dim"),
                          ("tcpcheck analyze " + shlex.quote(str(shown)), "bold"))]
