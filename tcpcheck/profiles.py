"""Stack profiles: the timers and limits rules compare traffic against, as data in rules/profiles.

A profile is what a conformant stack of that kind does (Linux's TIME_WAIT is 60 s, RFC 9293's is
2*MSL = 240 s); rules never hard-code these numbers.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

DEFAULT_PROFILE = "linux"


class ProfileError(ValueError):
    """An unknown profile name or an unreadable profile file."""


@dataclass(frozen=True, slots=True)
class Profile:
    """Timers and limits of one TCP stack."""

    name: str
    description: str
    source: str
    """Where the numbers come from (kernel sysctls, RFC sections)."""
    time_wait: float
    """Seconds an endpoint stays in TIME_WAIT (2*MSL)."""
    initial_rto: float
    syn_retries: int
    """SYN retransmissions before the connect attempt is abandoned (tcp_syn_retries)."""
    syn_linear_timeouts: int
    """Extra retransmissions at the initial RTO before backoff doubles (tcp_syn_linear_timeouts)."""
    synack_retries: int
    max_rto: float = 120.0

    def syn_schedule(self) -> tuple[float, ...]:
        """Timeouts between successive SYNs, the last one being the wait before giving up.

        Linux adds the linear timeouts to the retry count (tcp_write_timeout): with
        syn_retries 6 and 4 linear timeouts, 10 retransmissions at 1,1,1,1,1,2,4,8,16,32 s.
        """
        out: list[float] = []
        rto = self.initial_rto
        for i in range(self.syn_retries + self.syn_linear_timeouts + 1):
            out.append(rto)
            if i >= self.syn_linear_timeouts:
                rto = min(rto * 2, self.max_rto)
        return tuple(out)

    @property
    def max_syn_transmissions(self) -> int:
        """The original SYN plus every retransmission the stack makes."""
        return 1 + self.syn_retries + self.syn_linear_timeouts

    @property
    def syn_give_up(self) -> float:
        """Seconds from the first SYN until the stack abandons the attempt."""
        return sum(self.syn_schedule())

    @property
    def synack_give_up(self) -> float:
        """Seconds from the first SYN-ACK until the listener drops the half-open connection."""
        return sum(min(self.initial_rto * 2**i, self.max_rto)
                   for i in range(self.synack_retries + 1))


def _profiles_dir():
    return files("tcpcheck._catalog") / "profiles"


def profile_names() -> list[str]:
    """Names of the bundled profiles."""
    return sorted(p.name.removesuffix(".toml") for p in _profiles_dir().iterdir()
                  if p.name.endswith(".toml"))


def _from_mapping(data: dict, origin: str) -> Profile:
    fields = set(Profile.__dataclass_fields__)
    unknown = set(data) - fields
    if unknown:
        raise ProfileError(f"{origin}: unknown profile key(s): {', '.join(sorted(unknown))}")
    try:
        return Profile(**data)
    except TypeError as exc:
        raise ProfileError(f"{origin}: {exc}") from None


def load_profile(name_or_path: str) -> Profile:
    """A bundled profile by name, or a TOML file whose keys override its ``base`` profile."""
    path = Path(name_or_path)
    if name_or_path.endswith(".toml") and path.is_file():
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ProfileError(f"cannot read profile {name_or_path}: {exc}") from None
        base = load_profile(data.pop("base", DEFAULT_PROFILE))
        merged = {k: getattr(base, k) for k in Profile.__dataclass_fields__}
        merged.update(data)
        if "name" not in data:
            merged["name"] = path.stem
        return _from_mapping(merged, name_or_path)
    resource = _profiles_dir() / f"{name_or_path}.toml"
    if not resource.is_file():
        raise ProfileError(f"unknown profile {name_or_path!r} "
                           f"(bundled: {', '.join(profile_names())}; or a path to a .toml file)")
    return _from_mapping(tomllib.loads(resource.read_text()), f"profile {name_or_path}")
