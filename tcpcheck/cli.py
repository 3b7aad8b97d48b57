"""The command line: ``tcpcheck analyze FILE...``, and the catalog commands ``tcpcheck rules``,
``tcpcheck explain RULE`` and ``tcpcheck profiles [NAME]``.

Results go to stdout, errors and warnings to stderr. Exit codes (``ExitCode``) are public API:
0 nothing at or above ``--fail-on``, 1 findings at or above it, 2 usage or input error.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shlex
import sys
import textwrap
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tcpcheck import __version__
from tcpcheck.catalog import CatalogError, RuleMeta, load_catalog
from tcpcheck.engine import analyze_files
from tcpcheck.profiles import (
    DEFAULT_PROFILE,
    Profile,
    ProfileError,
    load_profile,
    profile_names,
)
from tcpcheck.report import render_terminal, write_json
from tcpcheck.report.terminal import SEVERITY_STYLE
from tcpcheck.result import AnalysisResult, Severity
from tcpcheck.sources import CaptureError


class ExitCode(IntEnum):
    """Process exit status."""

    OK = 0
    """Nothing at or above the fail level."""
    FINDINGS = 1
    """At least one finding at or above the fail level."""
    ERROR = 2
    """Usage or input error (one line on stderr)."""


FAIL_LEVELS = ("error", "warning", "info", "never")
COLOR_MODES = ("auto", "always", "never")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""Where the bundled captures live: rule examples are paths relative to it."""

_WIDE_OUTPUT = 160
"""Width of tables written to a pipe or file, so that one rule or one value stays on one line."""

_INDENT = "  "

_Command = Callable[..., None]


def exit_code(result: AnalysisResult, fail_on: str) -> ExitCode:
    """The exit status for ``result`` under ``--fail-on``."""
    if fail_on == "never":
        return ExitCode.OK
    threshold = Severity.parse(fail_on)
    if any(f.severity >= threshold for f in result.findings):
        return ExitCode.FINDINGS
    return ExitCode.OK


def _fail(message: str) -> None:
    click.echo(f"tcpcheck: error: {message}", err=True)
    sys.exit(ExitCode.ERROR)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tcpcheck")
def main() -> None:
    """Check that the TCP in packet captures follows the protocol, and explain where not."""


@main.command(short_help="Analyse capture files.")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--profile", "profile_name", default=DEFAULT_PROFILE, show_default=True,
              metavar="NAME|FILE.toml",
              help=f"Stack profile the timers are checked against ({', '.join(profile_names())})"
                   " or a TOML file overriding one.")
@click.option("--format", "fmt", type=click.Choice(["terminal", "json"]), default="terminal",
              show_default=True, help="Report format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to this file instead of stdout.")
@click.option("--fail-on", type=click.Choice(FAIL_LEVELS), default="error", show_default=True,
              help="Exit with 1 when a finding at or above this severity exists.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto",
              show_default=True, help="Colour in the terminal report (NO_COLOR is honoured).")
@click.option("--no-info", is_flag=True, help="Leave info findings out of the terminal report.")
def analyze(files: tuple[str, ...], profile_name: str, fmt: str, output: str | None,
            fail_on: str, color: str, no_info: bool) -> None:
    """Analyse capture files (pcap or pcapng, optionally gzip-compressed)."""
    try:
        profile = load_profile(profile_name)
        result = analyze_files(list(files), profile)
    except (CaptureError, ProfileError, CatalogError) as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        sys.exit(130)
    for capture in result.captures:
        if capture.damage:
            click.echo(f"tcpcheck: warning: {capture.input}: {capture.damage} "
                       f"(analysed up to there)", err=True)
    try:
        _write(result, fmt, output, color, no_info)
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror}")
    sys.exit(exit_code(result, fail_on))


def _write(result: AnalysisResult, fmt: str, output: str | None, color: str,
           no_info: bool) -> None:
    if fmt == "json":
        if output:
            with open(output, "w", encoding="utf-8") as fh:
                write_json(result, fh)
        else:
            write_json(result, sys.stdout)
        return
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            render_terminal(result, Console(file=fh, no_color=True, width=120),
                            show_info=not no_info)
        return
    render_terminal(result, _stdout_console(color), show_info=not no_info)


def _stdout_console(color: str, min_width: int = 0) -> Console:
    """A console on stdout: colour per ``--color`` and NO_COLOR, plain text when not a terminal.

    ``min_width`` widens the output when it goes to a pipe or a file (rich assumes 80 columns
    there), so that table rows stay greppable instead of wrapping.
    """
    force = {"always": True, "never": False}.get(color)
    console = Console(force_terminal=force, no_color=color == "never" or None)
    if not console.is_terminal:
        console.width = max(console.width, min_width)
    return console


def _color_option(func: _Command) -> _Command:
    return click.option("--color", type=click.Choice(COLOR_MODES), default="auto",
                        show_default=True,
                        help="Colour on a terminal (NO_COLOR is honoured).")(func)


def _format_option(func: _Command) -> _Command:
    return click.option("--format", "fmt", type=click.Choice(["terminal", "json"]),
                        default="terminal", show_default=True, help="Output format.")(func)


# -- tcpcheck rules / explain ------------------------------------------------------------


@main.command(short_help="List every rule.")
@click.option("--category", metavar="NAME", help="Only the rules of this category.")
@_format_option
@_color_option
def rules(category: str | None, fmt: str, color: str) -> None:
    """List every rule: code, slug, severity, category and summary."""
    try:
        selected = list(load_catalog())
    except CatalogError as exc:
        _fail(str(exc))
    if category is not None:
        categories = sorted({r.category for r in selected})
        selected = [r for r in selected if r.category == category.strip().lower()]
        if not selected:
            _fail(f"unknown category {category!r} (categories: {', '.join(categories)})")
    if fmt == "json":
        click.echo(json.dumps([rule_doc(r) for r in selected], indent=2, ensure_ascii=False))
        return
    console = _stdout_console(color, _WIDE_OUTPUT)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for name in ("code", "slug", "severity", "category"):
        table.add_column(name, no_wrap=True)
    table.add_column("summary", overflow="fold")
    for rule in selected:
        style = SEVERITY_STYLE[rule.severity]
        table.add_row(Text(rule.code, style=style), Text(rule.slug, style="bold"),
                      Text(rule.severity.label, style=style), Text(rule.category),
                      Text(rule.summary))
    console.print(table)
    count = f"{len(selected)} rule" + ("" if len(selected) == 1 else "s")
    console.print(Text(f"{count} · tcpcheck explain RULE for what each checks, why it matters "
                       "and a capture that shows it", style="dim"))


def rule_doc(rule: RuleMeta) -> dict[str, str]:
    """A rule's metadata as JSON-ready fields (the severity as its label)."""
    doc = {f.name: getattr(rule, f.name) for f in dataclasses.fields(rule)}
    doc["severity"] = rule.severity.label
    return doc


@main.command(short_help="Explain a rule: what, why, causes, example.")
@click.argument("rule_name", metavar="RULE")
@_color_option
def explain(rule_name: str, color: str) -> None:
    """Explain one rule (slug such as syn-isn-changed, or code such as HS001)."""
    try:
        rule = load_catalog().get(rule_name)
    except CatalogError as exc:
        _fail(str(exc))
    console = _stdout_console(color)
    style = SEVERITY_STYLE[rule.severity]
    console.print(Text.assemble((rule.code, style), " ", (rule.slug, "bold"), " · ",
                                (rule.severity.label, style), f" · {rule.category}"),
                  soft_wrap=True)
    console.print(_wrap(rule.summary, console, indent=""), soft_wrap=True)
    _section(console, "What it checks", [_wrap(p, console) for p in _paragraphs(rule.what)])
    why = [_wrap(p, console) for p in _paragraphs(rule.why)]
    why.append(_wrap("Reference: " + rule.reference, console, bold_prefix="Reference:"))
    _section(console, "Why it matters", why)
    _section(console, "Usual causes", [_wrap(p, console) for p in _paragraphs(rule.causes)])
    _section(console, "Example", _example(rule))


def _section(console: Console, title: str, body: list[Text]) -> None:
    console.print()
    console.print(Text(title, style="bold underline"))
    for text in body:
        console.print(text, soft_wrap=True)


def _paragraphs(text: str) -> list[str]:
    """The catalog's hard-wrapped text as paragraphs, to be wrapped again to the output width."""
    blocks = (" ".join(block.split()) for block in text.split("\n\n"))
    return [block for block in blocks if block]


def _wrap(paragraph: str, console: Console, bold_prefix: str = "", indent: str = _INDENT) -> Text:
    """A paragraph wrapped to the console width, every line indented by ``indent``.

    Wrapped here rather than by rich so that plain output carries no padding at line ends.
    """
    text = Text(textwrap.fill(paragraph, width=max(console.width, 40), initial_indent=indent,
                              subsequent_indent=indent, break_long_words=False,
                              break_on_hyphens=False))
    if bold_prefix:
        text.stylize("bold", len(indent), len(indent) + len(bold_prefix))
    return text


def _example(rule: RuleMeta) -> list[Text]:
    """The bundled capture and the command that shows the rule on it, when it is installed
    (every rule has one: tests/test_captures.py checks that it triggers the rule)."""
    path = PROJECT_ROOT / rule.example
    if not path.is_file():
        return [Text(f"{_INDENT}no bundled capture ({rule.example} is not in this "
                     "installation)", style="dim")]
    # The command must work from where the user stands: relative inside the tree, else absolute.
    shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
    return [Text(_INDENT + rule.example),
            Text.assemble(_INDENT, ("$ ", "dim"),
                          ("tcpcheck analyze " + shlex.quote(str(shown)), "bold"))]


# -- tcpcheck profiles -------------------------------------------------------------------


_DERIVED_ROWS = ("SYN retransmissions at", "SYN give-up", "SYN-ACK retransmissions at",
                 "SYN-ACK give-up")


@main.command(short_help="List the stack profiles, or show one.")
@click.argument("name", required=False, metavar="[NAME|FILE.toml]")
@_format_option
@_color_option
def profiles(name: str | None, fmt: str, color: str) -> None:
    """List the stack profiles, or show one with its SYN and SYN-ACK schedules."""
    try:
        selected = [load_profile(name)] if name else [load_profile(n) for n in profile_names()]
    except ProfileError as exc:
        _fail(str(exc))
    if fmt == "json":
        docs = [profile_doc(p) for p in selected]
        click.echo(json.dumps(docs[0] if name else docs, indent=2, ensure_ascii=False))
        return
    if name:
        _print_profile(selected[0], _stdout_console(color))
    else:
        _print_profiles(selected, _stdout_console(color, _WIDE_OUTPUT))


def profile_doc(profile: Profile) -> dict[str, object]:
    """A profile's values and derived schedules as JSON-ready fields (no limit is null)."""
    doc = {key: _finite_or_none(value) for key, value in profile.values().items()}
    doc.update(
        syn_retransmit_times=list(profile.syn_retransmit_times()),
        max_syn_transmissions=profile.max_syn_transmissions,
        syn_give_up=profile.syn_give_up,
        synack_retransmit_times=list(profile.synack_retransmit_times()),
        synack_give_up=profile.synack_give_up,
    )
    return doc


def _finite_or_none(value: object) -> object:
    # JSON has no infinity; an unbounded timer (rfc9293's fin_timeout) is written as null.
    if isinstance(value, float) and math.isinf(value):
        return None
    return value


def _print_profiles(selected: list[Profile], console: Console) -> None:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("", style="bold", no_wrap=True)
    for profile in selected:
        default = " (default)" if profile.name == DEFAULT_PROFILE else ""
        table.add_column(profile.name + default, overflow="fold")
    for key in _value_keys():
        table.add_row(key, *(_format_field(p, key) for p in selected))
    table.add_section()
    derived = [_derived(p) for p in selected]
    for i, label in enumerate(_DERIVED_ROWS):
        table.add_row(label, *(values[i] for values in derived))
    console.print(table)
    console.print()
    descriptions = Table.grid(padding=(0, 2, 0, 0))
    descriptions.add_column(style="bold", no_wrap=True)
    descriptions.add_column()
    for profile in selected:
        descriptions.add_row(profile.name, Text(profile.description))
    console.print(descriptions)
    console.print()
    console.print(Text("tcpcheck profiles NAME shows one profile and where its numbers come "
                       "from; analyze --profile NAME|FILE.toml selects one", style="dim"))


def _print_profile(profile: Profile, console: Console) -> None:
    default = " (default)" if profile.name == DEFAULT_PROFILE else ""
    console.print(Text.assemble((profile.name, "bold"), default))
    console.print(_wrap(profile.description, console), soft_wrap=True)
    console.print()
    rows = [(key, _format_field(profile, key)) for key in _value_keys()]
    derived = list(zip(_DERIVED_ROWS, _derived(profile, counted=True), strict=True))
    width = max(len(label) for label, _ in rows + derived)
    for label, value in [*rows, ("", ""), *derived]:
        line = Text(f"{_INDENT}{label:<{width}}  {value}".rstrip())
        line.stylize("bold", 0, len(_INDENT) + len(label))
        console.print(line, soft_wrap=True)
    console.print()
    console.print(_wrap("source: " + profile.source, console, bold_prefix="source:"),
                  soft_wrap=True)


def _value_keys() -> list[str]:
    """The profile's timers and limits: every field but the name and the prose."""
    return [key for key in Profile.__dataclass_fields__
            if key not in ("name", "description", "source")]


def _derived(profile: Profile, counted: bool = False) -> tuple[str, str, str, str]:
    """The schedules the profile implies, in the order of ``_DERIVED_ROWS``."""
    return (_format_times(profile.syn_retransmit_times(), counted),
            _format_seconds(profile.syn_give_up),
            _format_times(profile.synack_retransmit_times(), counted),
            _format_seconds(profile.synack_give_up))


def _format_field(profile: Profile, key: str) -> str:
    """A profile value as people read it: seconds with their unit, counts and words as they are."""
    value = getattr(profile, key)
    # The declared type, not the value's: a profile file may write a time as `time_wait = 15`.
    if key == "syn_deadline" and not value:
        return "none"
    if Profile.__dataclass_fields__[key].type == "float":
        return _format_seconds(value)
    return str(value)


def _format_seconds(value: float) -> str:
    return "no limit" if math.isinf(value) else f"{value:g} s"


def _format_times(times: tuple[float, ...], counted: bool) -> str:
    """``1, 3, 7 s``, with ``(3 retransmissions)`` when ``counted``."""
    if not times:
        return "none"
    text = ", ".join(f"{t:g}" for t in times) + " s"
    if counted:
        text += f" ({len(times)} {'retransmission' if len(times) == 1 else 'retransmissions'})"
    return text
