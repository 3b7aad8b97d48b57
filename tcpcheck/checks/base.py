"""What a check receives besides its event, and what it returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

FrameNamer = Callable[[int, int], str]
"""``(frame, finding's frame) -> text``: how a message numbers a frame of a stitched set
(``tcpcheck.stitched.FrameNames.number``)."""


@dataclass(frozen=True, slots=True)
class Context:
    """The connection a finding belongs to, for messages that name its endpoints and frames.
    (No profile: each side has its own, and the events that need one carry it.)"""

    client: str
    server: str
    frames: FrameNamer | None = None
    """None: frames are numbered as read (one capture file); set for a stitched set."""

    def name(self, side: str) -> str:
        """``client 192.0.2.10:40000``."""
        return f"{side} {self.client if side == 'client' else self.server}"

    def frame(self, number: int, here: int) -> str:
        """How a message of a finding at frame ``here`` numbers frame ``number``: ``3``. In
        a stitched set, as the user finds it: its own file's number, with that file when it is
        not the finding's own (``3 of dump-02.pcap``)."""
        return str(number) if self.frames is None else self.frames(number, here)

    @staticmethod
    def peer(side: str) -> str:
        return "server" if side == "client" else "client"


@dataclass(frozen=True, slots=True)
class Explanation:
    """A finding's text; ``reference`` overrides the catalog's when more specific."""

    message: str
    expected: str
    observed: str
    reference: str | None = None
