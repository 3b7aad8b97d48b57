"""Which profile judges each side of a connection: ``--profile auto``.

A side's stack is read from its own SYN or SYN-ACK in that connection (``tcpcheck.fingerprint``),
never from other connections: a NAT puts many stacks behind one address, and ``--jobs`` shards
by connection, so every shard must decide alike. A side with no SYN or SYN-ACK captured, or
one no signature matches, gets the RFC's bounds (``rules/profiles/rfc-bounds.toml``). A pin
from the configuration (``[hosts]``, an address or prefix, longest prefix first) beats both.
The timer checks then narrow a signature's candidates by the side's own schedule
(``tcpcheck.timers``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from tcpcheck.fingerprint import Fingerprints, StackMatch, signature_key
from tcpcheck.profiles import AUTO, Profile, load_profile, profile_names
from tcpcheck.segment import ACK, Segment

MATCHES_KEPT = 4096
"""Distinct SYN signatures whose match is remembered (a scan can send endless variants)."""
_UNMATCHED = object()

UNKNOWN = "rfc-bounds"
"""The bundled profile of a side whose stack is not known."""

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Basis(StrEnum):
    """Why a side has its profile."""

    FORCED = "forced"
    """``--profile NAME`` (or the configuration's ``profile``) for every side."""
    PINNED = "pinned"
    """The configuration's ``[hosts]`` table names the side's address or a prefix of it."""
    SIGNATURE = "signature"
    """Its SYN or SYN-ACK matched a stack signature."""
    UNKNOWN = "unknown"
    """No SYN or SYN-ACK of it in the connection, or no signature matched: the RFC's bounds."""


@dataclass(frozen=True, slots=True)
class SideProfile:
    """The profile one side of a connection is judged by, and the evidence for it."""

    profile: Profile
    basis: Basis
    label: str
    """What the side was taken for: ``Linux 3.x-6.x``, ``unknown stack``, ``pinned by
    192.0.2.0/24``."""
    evidence: str
    """What it rests on, in one line."""
    frame: int | None = None
    """The segment the evidence was read from (its SYN or SYN-ACK), if one."""
    candidates: tuple[Profile, ...] = ()
    """Profiles after ``profile`` the side's own retransmission schedule may still show it
    runs (``linux-legacy`` after ``linux``)."""
    what: str = ""
    """``SYN`` or ``SYN-ACK``: the segment read at ``frame``."""
    retries: Profile | None = None
    """The profile whose retransmission counts and give-up times apply, when not
    ``profile``'s. A signature tells the stack, not how it is configured: how often it
    retries a SYN or SYN-ACK is a setting (Linux tcp_syn_retries, Windows
    TcpMaxConnectRetransmissions, 2 by default on 2000/XP/2003, 3 on NT 4.0), and RFC 9293
    only bounds it from below (R2 for a SYN at least 3 minutes). So a side known by its
    signature gets the RFC's bounds for those, its stack's profile for everything else."""

    @property
    def limits(self) -> Profile:
        """The profile whose retry counts and give-up times judge the side."""
        return self.profile if self.retries is None else self.retries

    def why(self, role: str) -> str:
        """Why the side ``role`` has its profile, for a finding's message: ``client's SYN,
        frame 8: Windows Vista-10 / Server 2008-2016``; empty when one profile was forced."""
        if self.basis is Basis.FORCED:
            return ""
        if self.basis is Basis.PINNED:
            return f"{role} {self.label}"
        if self.frame is None:
            return f"{role}: {self.label}, {self.evidence}"
        return f"{role}'s {self.what}, frame {self.frame}: {self.label}"

    def narrowed(self, profile: Profile, frame: int, what: str) -> SideProfile:
        """The side runs ``profile`` (one of the candidates), as its ``what`` retransmission at
        ``frame`` showed; the candidates before it are out."""
        rest = self.candidates[self.candidates.index(profile) + 1:]
        return replace(self, profile=profile, candidates=rest,
                       evidence=f"{self.evidence}; its {what} retransmission (frame {frame}) "
                                f"fits {profile.name}, not {self.profile.name}")

    def learnt(self, initial_rto: float, frame: int, what: str) -> SideProfile:
        """The RFC's bounds with the initial RTO the side's first ``what`` retransmission
        (``frame``) showed."""
        return replace(self, profile=replace(self.profile, initial_rto=initial_rto),
                       evidence=f"{self.evidence}; initial RTO {initial_rto:.3g} s from its "
                                f"first {what} retransmission (frame {frame})")


@dataclass(frozen=True, slots=True)
class Pin:
    """A profile the configuration pins to an address or a prefix."""

    network: Network
    profile: Profile


class HostProfiles:
    """``--profile auto``: a profile per connection side, from its own SYN or SYN-ACK."""

    name = AUTO
    """What reports call the choice (a forced ``Profile`` has its own name there)."""

    def __init__(self, profiles: Mapping[str, Profile], pins: tuple[Pin, ...] = (),
                 fingerprints: Fingerprints | None = None) -> None:
        self._profiles = dict(profiles)
        self.unknown = self._profiles[UNKNOWN]
        """The RFC's bounds, for a side whose stack is not known."""
        # Longest prefix first: the first pin that holds an address is the one that applies.
        self._pins = tuple(sorted(pins, key=lambda pin: -pin.network.prefixlen))
        self._fingerprints = fingerprints or Fingerprints.bundled()
        # Made once: every connection's sides start from it.
        # Signature key -> what it matched (``_identify``); a few stacks, met many times.
        self._matches: dict[bytes, StackMatch | None] = {}
        self._unseen = SideProfile(self.unknown, Basis.UNKNOWN, "unknown stack",
                                   "no SYN or SYN-ACK of it in the connection")

    @classmethod
    def bundled(cls, pins: tuple[Pin, ...] = ()) -> HostProfiles:
        """Every bundled profile (a signature may name any), and ``pins``."""
        return cls({name: load_profile(name) for name in profile_names()}, pins)

    @property
    def longest_time_wait(self) -> float:
        """The longest TIME_WAIT a side may be given: how long a closed connection is kept."""
        profiles = (*self._profiles.values(), *(pin.profile for pin in self._pins))
        return max(profile.time_wait for profile in profiles)

    def unseen(self, address: bytes) -> SideProfile:
        """A side before (or without) its SYN or SYN-ACK: a pin, else the RFC's bounds."""
        pinned = self._pinned(address)
        return self._unseen if pinned is None else pinned

    def of_syn(self, seg: Segment) -> SideProfile:
        """The side that sent ``seg``, a SYN or SYN-ACK: a pin, else its signature's first
        candidate profile, else the RFC's bounds."""
        pinned = self._pinned(seg.src)
        if pinned is not None:
            return pinned
        what = "SYN-ACK" if seg.flags & ACK else "SYN"
        match = self._identify(seg)
        candidates = () if match is None else tuple(
            self._profiles[name] for name in match.profiles if name in self._profiles)
        if not candidates:
            return SideProfile(self.unknown, Basis.UNKNOWN, "unknown stack",
                               f"its {what} matched no stack signature", seg.frame, (), what)
        return SideProfile(candidates[0], Basis.SIGNATURE, match.label,
                           f"its {what}: {match.evidence}", seg.frame, candidates[1:], what,
                           self.unknown)

    def _identify(self, seg: Segment) -> StackMatch | None:
        """``Fingerprints.identify``, once per distinct signature (``signature_key``)."""
        key = signature_key(seg)
        if key is None:
            return self._fingerprints.identify(seg)
        match = self._matches.get(key, _UNMATCHED)
        if match is _UNMATCHED:
            match = self._fingerprints.identify(seg)
            if len(self._matches) < MATCHES_KEPT:
                self._matches[key] = match
        return match

    def _pinned(self, address: bytes) -> SideProfile | None:
        if not self._pins:
            return None
        ip = ipaddress.ip_address(address)
        for pin in self._pins:
            if ip.version == pin.network.version and ip in pin.network:
                return SideProfile(pin.profile, Basis.PINNED, f"pinned by {pin.network}",
                                   f"the configuration's [hosts] table: \"{pin.network}\" = "
                                   f"\"{pin.profile.name}\"")
        return None
