"""Stack profiles: the timers and limits rules compare traffic against, as data in rules/profiles.

A profile is what a conformant stack of that kind does (Linux's TIME_WAIT is 60 s, RFC 9293's is
2*MSL = 240 s); rules never hard-code these numbers. A profile file a user writes is read as
untrusted (``tcpcheck.userfiles``): every key is checked against ``PROFILE_FIELDS``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from tcpcheck.signatures import Signature, parse_signatures
from tcpcheck.userfiles import (
    Field,
    Kind,
    UserFileError,
    check_fields,
    describe,
    expand_user,
    load_toml,
    parse_toml,
)

DEFAULT_PROFILE = "linux"
"""The base of a profile file that names none."""
AUTO = "auto"
"""The ``--profile`` (and default) that chooses a profile per connection side from its own SYN
or SYN-ACK (``tcpcheck.host_profiles``)."""
MAX_BASES = 8
"""Longest chain of profile files each naming the next as its ``base``."""


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
    initial_rto_source: str = "profile"
    """Where a side's SYN and SYN-ACK schedule starts: at ``initial_rto`` (``profile``), or
    at its own first retransmission interval, anywhere from ``rto_min`` to ``max_rto``
    (``observed``: a stack whose initial RTO is not known, RFC 6298 §2.1 and §5.7 allow 1 s
    or 3 s), then doubling from there."""
    syn_budget: str = "count"
    """How the SYN give-up is decided: ``count`` (after ``syn_retries`` + linear retransmissions)
    or ``time`` (Linux tcp_model_timeout: a time budget of (2^(syn_retries+1) - 1) initial RTOs;
    the linear timeouts then only change when the SYNs go out, not how long the attempt lasts)."""
    syn_deadline: float = 0.0
    """A connect deadline in seconds that ends the attempt before the retries run out
    (FreeBSD net.inet.tcp.keepinit, 75 s); 0 for none."""
    rto_min: float = 0.2
    """Lower bound of the data retransmission timeout (Linux tcp_rto_min; RFC 6298 says 1 s)."""
    syn_rst_rearm: float = 0.0
    """Seconds after which a side in SYN-SENT that answered an unacceptable ACK with RST (RFC
    9293 §3.10.7.3) sends its first SYN retransmission (Linux 5.10+ rearms its SYN timer to
    TCP_TIMEOUT_MIN, 2 jiffies); 0 when the SYN timer keeps running."""
    bare_third_ack: str = "accept"
    """What a listener does with the handshake's third segment when it is a bare ACK:
    ``accept`` it (RFC 9293 §3.10.7.4: SYN-RECEIVED enters ESTABLISHED), or ``defer`` the
    accept (Linux TCP_DEFER_ACCEPT: tcp_check_req drops a bare ACK while the deferral lasts,
    and the SYN-ACK timer keeps firing without resending until the deferral's last timeout,
    when the SYN-ACK goes out again for the peer to re-ACK)."""
    paws_window: int = 0
    """Ticks a TSval may lag the highest one seen before PAWS drops the segment (RFC 7323 §5.3
    has none; Linux's tcp_paws_discard allows TCP_PAWS_WINDOW = 1: segments of one TSO burst
    stamped a tick earlier can follow a retransmission stamped later)."""
    invalid_ratelimit: float = 0.0
    """Seconds a stack waits, per connection, between out-of-window ACKs and challenge ACKs
    (RFC 5961 §7's throttle; Linux tcp_invalid_ratelimit, 0.5 s, which exempts segments with
    data); 0 for none: every owed reply is sent."""
    challenge_ack_limit: int = 0
    """Challenge ACKs a host sends per second, over all its connections (Linux
    tcp_challenge_ack_limit); 0 for no limit. One capture cannot count a host-wide budget, so
    with a limit a missing challenge ACK is excused."""
    delayed_ack_max: float = 0.5
    """Seconds a receiver may delay an ACK (RFC 9293 §3.8.6.3: "MUST be less than 0.5
    seconds"; Linux TCP_DELACK_MAX 200 ms): with the round trip, how long a FIN may go
    unacknowledged before a segment that does not cover it shows the ACK withheld."""
    zero_window_fin: str = "drop"
    """What the stack does with a bare FIN at RCV.NXT into its zero window, which RFC 9293
    §3.10.7.4 makes unacceptable (SEG.LEN 1, RCV.WND 0): ``drop`` it (the RFC), or ``accept``
    it (Linux tcp_data_queue: "Some stacks are known to send bare FIN packets in a loop even if
    we send RWIN 0 in our ACK")."""
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
    signatures: tuple[Signature, ...] = ()
    """What the SYNs and SYN-ACKs of stacks running this profile look like (the file's
    ``[[signature]]`` tables; ``tcpcheck.fingerprint`` matches them)."""

    def __post_init__(self) -> None:
        if self.syn_budget not in ("count", "time"):
            raise ValueError(f"syn_budget must be 'count' or 'time', not {self.syn_budget!r}")
        if self.bare_third_ack not in ("accept", "defer"):
            raise ValueError("bare_third_ack must be 'accept' or 'defer', not "
                             f"{self.bare_third_ack!r}")
        if self.initial_rto_source not in ("profile", "observed"):
            raise ValueError("initial_rto_source must be 'profile' or 'observed', not "
                             f"{self.initial_rto_source!r}")
        if self.zero_window_fin not in ("drop", "accept"):
            raise ValueError("zero_window_fin must be 'drop' or 'accept', not "
                             f"{self.zero_window_fin!r}")

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
        """Every field but the signatures, in declaration order (for ``tcpcheck profiles``
        and reports)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__
                if name != "signatures"}


def _profiles_dir():
    return files("tcpcheck._catalog") / "profiles"


def profile_names() -> list[str]:
    """Names of the bundled profiles."""
    return sorted(p.name.removesuffix(".toml") for p in _profiles_dir().iterdir()
                  if p.name.endswith(".toml"))


PROFILE_FIELDS: dict[str, Field] = {
    "name": Field(Kind.TEXT),
    "description": Field(Kind.TEXT),
    "source": Field(Kind.TEXT),
    # Times: the longest real timer here is Windows' 240 s RTO ceiling; an hour leaves room
    # for tuned stacks while keeping every schedule and nanosecond product finite.
    "time_wait": Field(Kind.SECONDS, 0, 3600),
    "initial_rto": Field(Kind.SECONDS, 0.001, 3600),
    # Counts: Linux caps tcp_syn_retries (and the linear timeouts) at MAX_TCP_SYNCNT = 127,
    # tcp_synack_retries at 255; beyond them 2**retries overflows a float.
    "syn_retries": Field(Kind.COUNT, 0, 127),
    "syn_linear_timeouts": Field(Kind.COUNT, 0, 127),
    "synack_retries": Field(Kind.COUNT, 0, 255),
    "max_rto": Field(Kind.SECONDS, 0.001, 3600),
    "initial_rto_source": Field(Kind.CHOICE, choices=("profile", "observed")),
    "syn_budget": Field(Kind.CHOICE, choices=("count", "time")),
    "syn_deadline": Field(Kind.SECONDS, 0, 3600),
    "rto_min": Field(Kind.SECONDS, 0, 3600),
    "syn_rst_rearm": Field(Kind.SECONDS, 0, 3600),
    "bare_third_ack": Field(Kind.CHOICE, choices=("accept", "defer")),
    "paws_window": Field(Kind.COUNT, 0, 2**31 - 1),
    "invalid_ratelimit": Field(Kind.SECONDS, 0, 3600),
    "challenge_ack_limit": Field(Kind.COUNT, 0, 2**31 - 1),
    "delayed_ack_max": Field(Kind.SECONDS, 0, 3600),
    "zero_window_fin": Field(Kind.CHOICE, choices=("drop", "accept")),
    "fin_timeout": Field(Kind.SECONDS, 0, 3600, infinite=True),
    # tcpcheck's own threshold, not a stack timer: a day of CLOSE_WAIT is surely a stall.
    "close_wait_stall": Field(Kind.SECONDS, 0, 86400),
    # Windows takes KeepAliveTime in ms in a DWORD (49 days); Linux caps it at 32767 s.
    "keepalive_time": Field(Kind.SECONDS, 0, 86400 * 49),
    "keepalive_intvl": Field(Kind.SECONDS, 0, 86400),
    "keepalive_probes": Field(Kind.COUNT, 0, 255),
}
"""Every profile key with the type and range it may hold, checked on every profile read."""


def _from_mapping(data: dict[str, Any], origin: str,
                  inherited: tuple[Signature, ...] = ()) -> Profile:
    """The profile ``data`` describes; ``inherited`` are its base's signatures, kept unless
    ``data`` has ``[[signature]]`` tables of its own."""
    data = dict(data)
    tables = data.pop("signature", None)
    unknown = set(data) - set(PROFILE_FIELDS)
    if unknown:
        raise ProfileError(f"{origin}: unknown profile key(s): {', '.join(sorted(unknown))}")
    values = check_fields(data, PROFILE_FIELDS,
                          lambda message: ProfileError(f"{origin}: {message}"))
    if values.get("max_rto", 120.0) < values.get("initial_rto", 1.0):
        raise ProfileError(f"{origin}: max_rto ({values['max_rto']:g} s) is below initial_rto "
                           f"({values['initial_rto']:g} s)")
    if tables is not None:
        inherited = parse_signatures(tables, str(values.get("name", "")), origin,
                                     profile_names(), ProfileError)
    try:
        return Profile(**values, signatures=inherited)
    except (TypeError, ValueError) as exc:
        raise ProfileError(f"{origin}: {exc}") from None


def load_profile(name_or_path: str) -> Profile:
    """A bundled profile by name, or a TOML file whose keys override its ``base`` profile (a
    bundled name, or another .toml file relative to this one; ``linux`` when not given)."""
    return _load(name_or_path, ())


def _load(name_or_path: str, chain: tuple[Path, ...]) -> Profile:
    if name_or_path.endswith(".toml"):
        return _load_file(name_or_path, chain)
    # A name, never a path into or out of the bundled folder ("../../x" is not a profile).
    if name_or_path not in profile_names():
        raise ProfileError(f"unknown profile {name_or_path!r} "
                           f"(bundled: {', '.join(profile_names())}; or a path to a .toml file)")
    origin = f"profile {name_or_path}"
    try:
        text = (_profiles_dir() / f"{name_or_path}.toml").read_text(encoding="utf-8")
        data = parse_toml(origin, text)
    except UserFileError as exc:
        raise ProfileError(str(exc)) from None
    return _from_mapping(data, origin)


def _load_file(name: str, chain: tuple[Path, ...]) -> Profile:
    real = Path(os.path.realpath(name))
    if real in chain:
        cycle = " -> ".join(str(p) for p in (*chain, real))
        raise ProfileError(f"{name}: base names a file already read for this profile ({cycle})")
    if len(chain) >= MAX_BASES:
        raise ProfileError(f"{name}: more than {MAX_BASES} profile files, each the next's base")
    try:
        data = load_toml(name, what="profile file")
    except UserFileError as exc:
        raise ProfileError(str(exc)) from None
    base = _load(_base_of(name, data.pop("base", DEFAULT_PROFILE)), (*chain, real))
    merged = base.values()
    merged.update(data)
    if "name" not in data:
        merged["name"] = Path(name).stem
    return _from_mapping(merged, name, base.signatures)


def _base_of(name: str, base: object) -> str:
    """The ``base`` key as a profile name or a path; a relative path is taken from the folder
    of the file naming it, so the file means the same from any working directory."""
    if not isinstance(base, str) or not base.strip():
        raise ProfileError(f"{name}: base must be a profile name or a .toml file, not "
                           f"{describe(base)}")
    if not base.endswith(".toml"):
        return base
    try:
        return os.path.join(os.path.dirname(name), expand_user(f"{name}: base", base))
    except UserFileError as exc:
        raise ProfileError(str(exc)) from None
