"""The stack profiles for people and scripts: ``tcpcheck profiles`` (every profile side by
side) and ``tcpcheck profiles NAME`` (one, with where its numbers come from), or JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tcpcheck.profiles import AUTO, Profile
from tcpcheck.report.prose import INDENT, wrap
from tcpcheck.wording import counted

AUTO_DESCRIPTION = ("each connection side gets the profile of the stack its own SYN or SYN-ACK "
                    "shows (its [[signature]] tables: linux, narrowed to linux-legacy by its "
                    "SYN schedule, windows, macos, bsd ...), rfc-bounds when it shows none, or "
                    "the one the configuration's [hosts] table pins to its address")
"""What ``--profile auto``, the default, does."""
_DERIVED_ROWS = ("SYN retransmissions at", "SYN give-up", "SYN-ACK retransmissions at",
                 "SYN-ACK give-up")


def profiles_json(profiles: Sequence[Profile], *, one: bool) -> str:
    """The profiles as JSON indented by 2: the object of the only one with ``one``, else an
    array."""
    docs = [profile_doc(p) for p in profiles]
    return json.dumps(docs[0] if one else docs, indent=2, ensure_ascii=False)


def profile_doc(profile: Profile) -> dict[str, object]:
    """A profile's values and derived schedules as JSON-ready fields (no limit is null)."""
    doc = {key: _finite_or_none(value) for key, value in profile.values().items()}
    doc.update(
        syn_retransmit_times=list(profile.syn_retransmit_times()),
        max_syn_transmissions=profile.max_syn_transmissions,
        syn_give_up=profile.syn_give_up,
        synack_retransmit_times=list(profile.synack_retransmit_times()),
        synack_give_up=profile.synack_give_up,
        signatures=[sig.doc() for sig in profile.signatures],
    )
    return doc


def _finite_or_none(value: object) -> object:
    # JSON has no infinity; an unbounded timer (rfc9293's fin_timeout) is written as null.
    if isinstance(value, float) and math.isinf(value):
        return None
    return value


def render_profiles(profiles: Sequence[Profile], console: Console) -> None:
    """Every profile in a column of one table, then a line describing each."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("", style="bold", no_wrap=True)
    for profile in profiles:
        table.add_column(profile.name, overflow="fold")
    for key in _value_keys():
        table.add_row(key, *(_format_field(p, key) for p in profiles))
    table.add_section()
    derived = [_derived(p) for p in profiles]
    for i, label in enumerate(_DERIVED_ROWS):
        table.add_row(label, *(values[i] for values in derived))
    table.add_row("stack signatures", *(str(len(p.signatures)) for p in profiles))
    console.print(table)
    console.print()
    descriptions = Table.grid(padding=(0, 2, 0, 0))
    descriptions.add_column(style="bold", no_wrap=True)
    descriptions.add_column()
    for profile in profiles:
        descriptions.add_row(profile.name, Text(profile.description))
    descriptions.add_row(f"{AUTO} (default)", Text(AUTO_DESCRIPTION))
    console.print(descriptions)
    console.print()
    console.print(Text("tcpcheck profiles NAME shows one profile and where its numbers come "
                       "from; analyze --profile NAME|FILE.toml selects one", style="dim"))


def render_profile(profile: Profile, console: Console) -> None:
    """One profile: its description, every value, the schedules it implies, its source."""
    console.print(Text(profile.name, "bold"))
    console.print(wrap(profile.description, console), soft_wrap=True)
    console.print()
    rows = [(key, _format_field(profile, key)) for key in _value_keys()]
    derived = list(zip(_DERIVED_ROWS, _derived(profile, with_count=True), strict=True))
    width = max(len(label) for label, _ in rows + derived)
    for label, value in [*rows, ("", ""), *derived]:
        line = Text(f"{INDENT}{label:<{width}}  {value}".rstrip())
        line.stylize("bold", 0, len(INDENT) + len(label))
        console.print(line, soft_wrap=True)
    console.print()
    if profile.signatures:
        _render_signatures(profile, console)
    console.print(wrap("source: " + profile.source, console, bold_prefix="source:"),
                  soft_wrap=True)


def _render_signatures(profile: Profile, console: Console) -> None:
    """The SYNs and SYN-ACKs that identify a host as running this profile, one a line."""
    console.print(Text.assemble(("stack signatures", "bold"), (
        " (a host whose SYN or SYN-ACK matches one runs this profile; the JSON output gives "
        "each one's source)", "dim")))
    width = max(len(sig.name) for sig in profile.signatures)
    for sig in profile.signatures:
        also = f"; or {', '.join(sig.also)}" if sig.also else ""
        line = Text(f"{INDENT}{sig.name:<{width}}  {sig.text()}{also}")
        line.stylize("bold", 0, len(INDENT) + len(sig.name))
        console.print(line, soft_wrap=True)
    console.print()


def _value_keys() -> list[str]:
    """The profile's timers and limits: every field but the name, the prose and the
    signatures."""
    return [key for key in Profile.__dataclass_fields__
            if key not in ("name", "description", "source", "signatures")]


def _derived(profile: Profile, with_count: bool = False) -> tuple[str, str, str, str]:
    """The schedules the profile implies, in the order of ``_DERIVED_ROWS``."""
    return (_format_times(profile.syn_retransmit_times(), with_count),
            _format_seconds(profile.syn_give_up),
            _format_times(profile.synack_retransmit_times(), with_count),
            _format_seconds(profile.synack_give_up))


def _format_field(profile: Profile, key: str) -> str:
    """A profile value as people read it: seconds with their unit, counts and words as they are."""
    value = getattr(profile, key)
    # The declared type, not the value's: a profile file may write a time as `time_wait = 15`.
    if key in ("syn_deadline", "syn_rst_rearm") and not value:
        return "none"
    if Profile.__dataclass_fields__[key].type == "float":
        return _format_seconds(value)
    return str(value)


def _format_seconds(value: float) -> str:
    return "no limit" if math.isinf(value) else f"{value:g} s"


def _format_times(times: tuple[float, ...], with_count: bool) -> str:
    """``1, 3, 7 s``, with ``(3 retransmissions)`` when ``with_count``."""
    if not times:
        return "none"
    text = ", ".join(f"{t:g}" for t in times) + " s"
    if with_count:
        text += f" ({counted(len(times), 'retransmission')})"
    return text
