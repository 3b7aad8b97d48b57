"""How tcpcheck counts things in words, everywhere it does: ``1 error``, ``2 errors``,
``14 info``, ``1 SYN``, ``3 SYNs``.

One helper for every message, report and command, so that no text says "1 checked segments".
It imports nothing of tcpcheck's: the rules' explanations (sans-I/O) use it as the reports do.
"""

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
