"""The per-host table of ``--profile auto``: which profile each host's connection sides were
judged by, and why, for the reports (``CaptureSummary.hosts``).

One row per host, profile and reason: a NAT's address can show several stacks, and one host
can be recognised in one connection and not in another (picked up mid-stream). A row's
evidence is the earliest frame's, so shards (``--jobs``) merge to the same table.
"""

from __future__ import annotations

from collections.abc import Iterable

from tcpcheck.host_profiles import Basis, SideProfile
from tcpcheck.result import HostProfile
from tcpcheck.segment import format_address

MAX_HOSTS = 65_536
"""Rows a capture's table keeps (memory stays bounded on a scan of a whole network); the
rest are left out."""

_Key = tuple[str, str, str, str]


class HostTable:
    """Rows accumulated as connections finish."""

    def __init__(self) -> None:
        self._rows: dict[_Key, HostProfile] = {}

    def add(self, address: bytes, side: SideProfile | None) -> None:
        """One connection side of the host at ``address``, judged as ``side`` says."""
        if side is None or side.basis is Basis.FORCED:
            return  # one profile for every side: nothing per host to tell
        row = HostProfile(format_address(address), side.profile.name, side.basis.value,
                          side.label, side.evidence, side.frame, 1)
        self._merge(row)

    def absorb(self, rows: Iterable[HostProfile]) -> None:
        """Another table's rows (a shard's)."""
        for row in rows:
            self._merge(row)

    def rows(self) -> tuple[HostProfile, ...]:
        """Every row, by address, then profile."""
        return tuple(sorted(self._rows.values(), key=_order))

    def _merge(self, row: HostProfile) -> None:
        key = (row.address, row.profile, row.basis, row.label)
        known = self._rows.get(key)
        if known is None:
            if len(self._rows) < MAX_HOSTS:
                self._rows[key] = row
            return
        first = row if _frame(row) < _frame(known) else known
        self._rows[key] = HostProfile(*key[:2], row.basis, row.label, first.evidence,
                                      first.frame, known.connections + row.connections)


def _frame(row: HostProfile) -> float:
    return float("inf") if row.frame is None else row.frame


def _order(row: HostProfile) -> tuple:
    return (row.address, row.profile, row.basis, row.label)
