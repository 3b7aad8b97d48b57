"""How far reading a capture is: the hook a progress display is fed through.

The readers call it once per chunk they read (a megabyte), never once per record, so that
watching an analysis costs nothing measurable. It carries no display: ``tcpcheck.cli.progress``
draws the terminal's bar, and a parent process can as well be told its workers' positions.
"""

from __future__ import annotations

from typing import Protocol


class ReadProgress(Protocol):
    """Told how far the reading of one capture is."""

    def __call__(self, name: str, done: int, total: int | None, records: int) -> None:
        """``name`` (a file, or a stitched set) has had ``done`` of its ``total`` bytes read
        (None: a pipe, whose size is unknown) and ``records`` records yielded so far."""
