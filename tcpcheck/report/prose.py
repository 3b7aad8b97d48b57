"""Paragraphs of prose on a rich console: the rule explanations and the profile pages."""

from __future__ import annotations

import textwrap

from rich.console import Console
from rich.text import Text

INDENT = "  "
"""The indent of a section's body."""


def wrap(paragraph: str, console: Console, bold_prefix: str = "", indent: str = INDENT) -> Text:
    """A paragraph wrapped to the console width, every line indented by ``indent``.

    Wrapped here rather than by rich so that plain output carries no padding at line ends.
    """
    text = Text(textwrap.fill(paragraph, width=max(console.width, 40), initial_indent=indent,
                              subsequent_indent=indent, break_long_words=False,
                              break_on_hyphens=False))
    if bold_prefix:
        text.stylize("bold", len(indent), len(indent) + len(bold_prefix))
    return text


def section(console: Console, title: str, body: list[Text]) -> None:
    """A blank line, the underlined title, then the body's lines as they are."""
    console.print()
    console.print(Text(title, style="bold underline"))
    for text in body:
        console.print(text, soft_wrap=True)
