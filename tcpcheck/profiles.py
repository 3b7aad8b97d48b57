"""Stack profiles: the timers and limits rules compare traffic against, as data in rules/profiles.

A profile is what a conformant stack of that kind does (Linux's TIME_WAIT is 60 s, RFC 9293's is
2*MSL = 240 s); rules never hard-code these numbers.
"""

from __future__ import annotations

import math
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
    """Where the numbers come from (kernel sysctls, RFC sections, vendor documentation)."""
    time_wait: float
    """Seconds an endpoint stays in TIME_WAIT (2*MSL)."""
    initial_rto: float
    """Retransmission timeout of a SYN or SYN-ACK, before any RTT is measured (RFC 6298 §2.1)."""
    syn_retries: int
    """SYN retransmissions before the connect attempt is abandoned (tcp_syn_retries)."""
    syn_linear_timeouts: int
    """Timeouts after the first that stay at the initial RTO before backoff doubles."""
    synack_retries: int
    """SYN-ACK retransmissions on timeout before the listener drops the request."""
    max_rto: float = 120.0
    """Ceiling of the exponential backoff (Linux TCP_RTO_MAX)."""
    syn_budget: str = "count"
    """How the SYN give-up is decided: ``count`` (after ``syn_retries`` + linear retransmissions)
    or ``time`` (Linux tcp_model_timeout: a time budget of (2^(syn_retries+1) - 1) initial RTOs;
    the linear timeouts then only change when the SYNs go out, not how long the attempt lasts)."""
    syn_deadline: float = 0.0
    """A connect deadline in seconds that ends the attempt before the retries run out
    (FreeBSD net.inet.tcp.keepinit, 75 s); 0 for none."""
    rto_min: float = 0.2
    """Lower bound of the data retransmission timeout (Linux tcp_rto_min; RFC 6298 says 1 s)."""
    fin_timeout: float = 60.0
    """Seconds an orphaned FIN_WAIT_2 socket waits for the peer's FIN (tcp_fin_timeout)."""
    close_wait_stall: float = 60.0
    """Seconds in CLOSE_WAIT, while the capture goes on, after which tcpcheck calls it a stall.
    No stack has this timer: it is the point where an application that never closes its socket
    is more likely than a slow one."""
    keepalive_time: float = 7200.0
    """Idle seconds before the first keepalive probe (RFC 1122 §4.2.3.6: at least 2 hours)."""
    keepalive_intvl: float = 75.0
    keepalive_probes: int = 9

    def __post_init__(self) -> None:
        if self.syn_budget not in ("count", "time"):
            raise ValueError(f"syn_budget must be 'count' or 'time', not {self.syn_budget!r}")

    def syn_schedule(self) -> tuple[float, ...]:
        """Successive SYN timeouts: the first ``syn_linear_timeouts + 1`` at the initial RTO,
        then doubling up to ``max_rto``. Long enough to cover every possible retransmission.

        Linux 6.x (tcp_syn_linear_timeouts = 4) times out at 1, 1, 1, 1, 1, 2, 4, 8, 16, 32 s.
        """
        out: list[float] = []
        rto = self.initial_rto
        for i in range(self.syn_retries + self.syn_linear_timeouts + 1):
            out.append(rto)
            if i >= self.syn_linear_timeouts:
                rto = min(rto * 2, self.max_rto)
        return tuple(out)

    def syn_retransmit_times(self) -> tuple[float, ...]:
        """Seconds after the first SYN at which each retransmission is due."""
        times: list[float] = []
        elapsed = 0.0
        budget = self._syn_time_budget()
        schedule = self.syn_schedule()
        limit = len(schedule) - 1 if budget is None else len(schedule)
        for timeout in schedule[:limit]:
            elapsed += timeout
            if (budget is not None and elapsed >= budget) or (
                    self.syn_deadline and elapsed >= self.syn_deadline):
                break
            times.append(elapsed)
        return tuple(times)

    def _syn_time_budget(self) -> float | None:
        """Linux's tcp_model_timeout for the SYN_SENT boundary, or None for a pure count."""
        if self.syn_budget != "time":
            return None
        thresh = max(int(math.log2(self.max_rto / self.initial_rto)), 0)
        if self.syn_retries <= thresh:
            return ((2 << self.syn_retries) - 1) * self.initial_rto
        return (((2 << thresh) - 1) * self.initial_rto
                + (self.syn_retries - thresh) * self.max_rto)

    @property
    def max_syn_transmissions(self) -> int:
        """The original SYN plus every retransmission the stack makes."""
        return 1 + len(self.syn_retransmit_times())

    @property
    def syn_give_up(self) -> float:
        """Seconds from the first SYN until the stack abandons the attempt."""
        times = self.syn_retransmit_times()
        schedule = self.syn_schedule()
        last = times[-1] if times else 0.0
        give_up = last + schedule[len(times)] if len(times) < len(schedule) else last
        return min(give_up, self.syn_deadline) if self.syn_deadline else give_up

    def synack_retransmit_times(self) -> tuple[float, ...]:
        """Seconds after the first SYN-ACK at which each timer-driven retransmission is due."""
        times: list[float] = []
        elapsed = 0.0
        for i in range(self.synack_retries):
            elapsed += min(self.initial_rto * 2**i, self.max_rto)
            times.append(elapsed)
        return tuple(times)

    @property
    def synack_give_up(self) -> float:
        """Seconds from the first SYN-ACK until the listener drops the half-open connection."""
        return sum(min(self.initial_rto * 2**i, self.max_rto)
                   for i in range(self.synack_retries + 1))

    def values(self) -> dict[str, object]:
        """Every field, in declaration order (for ``tcpcheck profiles`` and reports)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


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
    except (TypeError, ValueError) as exc:
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
