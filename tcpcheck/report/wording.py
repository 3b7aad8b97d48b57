"""How every report counts things in words: ``1 error``, ``2 errors``, ``14 info``."""

from __future__ import annotations

from tcpcheck.result import FoldedConnections


def plural_noun(count: int, noun: str, plural: str | None = None) -> str:
    """The noun for ``count`` of it (``plural`` when adding an s is wrong). ``info`` is a mass
    noun: ``14 info``, ``1 info finding``, ``2 info findings``."""
    if count == 1 or noun == "info":
        return noun
    return plural or noun + "s"


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``1,234 findings``: the count with thousands separators and its noun."""
    return f"{count:,} {plural_noun(count, noun, plural)}"


def folded_note(folded: FoldedConnections) -> str:
    """``900,000 more connections counted but not listed (--max-connections): …``."""
    closes = ", ".join(f"{count:,} {kind}" for kind, count in folded.close.items())
    return (f"{counted(folded.connections, 'more connection')} without findings counted but "
            f"not listed (--max-connections): {counted(folded.packets, 'packet')}, "
            f"{folded.client_bytes:,} bytes client→server, {folded.server_bytes:,} bytes "
            f"server→client; {closes}")
