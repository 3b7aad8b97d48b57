"""The common shape of every observation the model makes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class Event:
    """Common fields: the frame the observation is anchored to, its time, the side concerned."""

    frame: int
    ts: int
    side: str
    """``client`` or ``server``: the endpoint the observation is about (usually the sender)."""

    POSITION: ClassVar[tuple[str, ...]] = ()
    """The fields that place the observation in the connection in a way that survives
    re-capturing the same traffic: relative sequence numbers and the kind of segment, never
    frames, times, raw ISNs or window sizes (timing changes those). Baseline fingerprints are
    made of them; an event about the connection as a whole has none."""

    def position(self) -> str:
        """``name=value`` of each ``POSITION`` field, e.g. ``ack=5001`` (empty: none)."""
        return " ".join(f"{name}={getattr(self, name)}" for name in self.POSITION)
