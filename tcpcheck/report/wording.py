"""Wording the reports share beyond counting (``tcpcheck.wording`` counts)."""

from __future__ import annotations

from tcpcheck.result import FoldedConnections
from tcpcheck.wording import counted


def folded_note(folded: FoldedConnections) -> str:
    """``900,000 more connections counted but not listed (--max-connections): …``."""
    closes = ", ".join(f"{count:,} {kind}" for kind, count in folded.close.items())
    return (f"{counted(folded.connections, 'more connection')} without findings counted but "
            f"not listed (--max-connections): {counted(folded.packets, 'packet')}, "
            f"{folded.client_bytes:,} bytes client→server, {folded.server_bytes:,} bytes "
            f"server→client; {closes}")
