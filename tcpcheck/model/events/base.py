"""The common shape of every observation the model makes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, ClassVar


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

    _position_text: ClassVar[str] = ""
    _position_values: ClassVar[Callable[[Any], tuple[Any, ...]] | None] = None

    def __init_subclass__(cls) -> None:
        # ``position`` is asked of every finding (64,140 on the bench capture): its text and
        # getter are made once per class, which halves its cost. (No ``super()`` call:
        # ``dataclass(slots=True)`` replaces this class, and the zero-argument form then
        # fails; ``object``'s does nothing.)
        names = cls.POSITION
        cls._position_text = " ".join(f"{name}={{}}" for name in names)
        if len(names) == 1:
            one = attrgetter(names[0])
            cls._position_values = staticmethod(lambda event: (one(event),))
        else:
            cls._position_values = attrgetter(*names) if names else None

    def position(self) -> str:
        """``name=value`` of each ``POSITION`` field, e.g. ``ack=5001`` (empty: none)."""
        values = self._position_values
        return "" if values is None else self._position_text.format(*values(self))
