"""What a check receives besides its event, and what it returns."""

from __future__ import annotations

from dataclasses import dataclass

from tcpcheck.profiles import Profile


@dataclass(frozen=True, slots=True)
class Context:
    """The connection a finding belongs to, for messages that name its endpoints."""

    client: str
    server: str
    profile: Profile

    def name(self, side: str) -> str:
        """``client 192.0.2.10:40000``."""
        return f"{side} {self.client if side == 'client' else self.server}"

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
