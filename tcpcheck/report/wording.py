"""How every report counts things in words: ``1 error``, ``2 errors``, ``14 info``."""

from __future__ import annotations


def plural_noun(count: int, noun: str, plural: str | None = None) -> str:
    """The noun for ``count`` of it (``plural`` when adding an s is wrong). ``info`` is a mass
    noun: ``14 info``, ``1 info finding``, ``2 info findings``."""
    if count == 1 or noun == "info":
        return noun
    return plural or noun + "s"


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``1,234 findings``: the count with thousands separators and its noun."""
    return f"{count:,} {plural_noun(count, noun, plural)}"
