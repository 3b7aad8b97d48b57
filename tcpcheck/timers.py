"""Timers checked against the stack profile: SYN and SYN-ACK retransmission, the data RTO's
exponential backoff, the teardown timers (FIN_WAIT_2, a CLOSE_WAIT that never ends), and how
long a handshake's answer may take to reach the capture (``answer_pending``).

The functions read and update one ``Endpoint`` and return what they observed; they never look
at a clock but the packets'. Capture timestamps jitter, and kernels fire timers a little late,
so an interval matches its schedule within a ``Tolerance``: a fraction of it plus some slack.
The tolerances are rule parameters (rto-backoff-violation, syn-retries-exceeded).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tcpcheck.host_profiles import Basis
from tcpcheck.model import events as ev
from tcpcheck.model.endpoint import Endpoint
from tcpcheck.model.states import State
from tcpcheck.profiles import Profile

NS = 1e9
DUPLICATE_NS = 1_000_000
"""Copies of a segment closer than 1 ms are duplicated frames, not a timer: no stack's RTO
is that short (Linux's floor is 200 ms, FreeBSD's 30 ms)."""


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How far a measured interval may be from the expected one: ``ratio`` of it plus
    ``slack`` seconds."""

    ratio: float = 0.25
    slack: float = 0.05

    def matches(self, observed: float, expected: float) -> bool:
        """True when an interval is what the schedule says, within the tolerance."""
        return abs(observed - expected) <= expected * self.ratio + self.slack

    def earliest(self, expected: float) -> float:
        """The shortest interval that still matches ``expected``."""
        return expected * (1 - self.ratio) - self.slack

    def latest(self, expected: float) -> float:
        """The longest interval that still matches ``expected``."""
        return expected * (1 + self.ratio) + self.slack


@dataclass(frozen=True, slots=True)
class Timing:
    """The tolerances the timer checks apply, from the rules' parameters."""

    backoff: Tolerance = field(default_factory=Tolerance)
    """Retransmission intervals against the schedule (rto-backoff-violation)."""
    give_up: Tolerance = field(default_factory=Tolerance)
    """The last SYN against the profile's give-up time (syn-retries-exceeded)."""


DEFAULT_TIMING = Timing()

MAX_DEFERRED_TIMEOUTS = 255
"""Linux keeps a listener's TCP_DEFER_ACCEPT as a count of SYN-ACK timeouts in a u8
(secs_to_retrans in net/ipv4/tcp.c): no deferral outlasts 255 of them."""

_MAX_DOUBLINGS = 64
"""More doublings than any RTO schedule needs to reach its ceiling from a positive start;
``2.0 ** 1024`` would overflow, and a capture can show any number of retransmissions."""


def backed_off(initial: float, doublings: int, ceiling: float) -> float:
    """``initial`` doubled ``doublings`` times, at most ``ceiling`` (RFC 6298 §5.5)."""
    return min(initial * 2.0 ** min(doublings, _MAX_DOUBLINGS), ceiling)


def answer_pending(profile: Profile, first_ts: int, now: int | None) -> bool:
    """Did the capture stop following a handshake (at capture time ``now``; None: it went on)
    before the answer to its SYN or SYN-ACK, first sent at ``first_ts``, was due? Due is when
    the capture must show either the answer or the sender's retransmission, which shows that
    none came: one initial RTO later (the same bound serves a segment held for its wrong
    checksum, whose reply or retransmission decides it: ``Connection.finish``). RFC 6298 §2.1:
    "Until a round-trip time (RTT) measurement has been made for a segment sent between the
    sender and receiver, the sender SHOULD set RTO <- 1 second" (the profile's ``initial_rto``);
    a handshake's first segment never has one. Before then the end of the capture is no evidence
    that no answer came."""
    return now is not None and first_ts + round(profile.initial_rto * NS) > now


def syn_retransmitted(timing: Timing, a: Endpoint, frame: int, ts: int) -> list[ev.Event]:
    """A SYN retransmission (same ISN): is it on the side's profile's schedule and within
    its limit?

    Call before ``a.rtx.syns`` counts this transmission.
    """
    out: list[ev.Event] = []
    nth = a.rtx.syns  # the original was transmission 1, so this is retransmission number nth
    if nth == 1:
        _learn(a, (ts - a.rtx.last_syn_ts) / NS, frame, "SYN")
    expected, since = _syn_timeout(a.profile, a, nth)
    observed = (ts - since) / NS
    if expected is not None and not timing.backoff.matches(observed, expected) and not (
            _narrow(a, frame, "SYN", lambda p: _syn_fits(p, a, nth, ts, timing))) and not (
            _guessed(a) and _uncaptured(a.profile.syn_schedule(), nth - 1 + a.rtx.prior_syns,
                                        observed, timing)):
        out.append(ev.RtoBackoffViolation(frame, ts, a.role, "SYN", nth, expected,
                                          observed, a.rtx.last_syn_frame, a.profile,
                                          why=_why(a)))
    profile = _limits(a)
    elapsed = (ts - a.rtx.syn_ts) / NS
    limit = profile.max_syn_transmissions
    late = elapsed > timing.give_up.latest(profile.syn_give_up)
    if not a.rtx.syn_exceeded and (nth + 1 > limit or late):
        a.rtx.syn_exceeded = True
        out.append(ev.SynRetriesExceeded(frame, ts, a.role, "SYN", nth + 1, limit, elapsed,
                                         profile.syn_give_up, profile, _why(a)))
    return out


def _syn_timeout(profile: Profile, a: Endpoint, nth: int) -> tuple[float | None, int]:
    """The timeout before SYN retransmission ``nth`` under ``profile`` (None: past its
    schedule), and the transmission it runs from."""
    schedule = profile.syn_schedule()
    since = a.rtx.last_syn_ts
    # Timeouts the attempts a refusal ended had already backed off (``prior_syns``).
    timeout = nth - 1 + a.rtx.prior_syns
    expected = schedule[timeout] if timeout < len(schedule) else None
    if nth == 1 and profile.syn_rst_rearm and a.rtx.syn_rst_ts > since:
        # Linux, having answered an unacceptable ACK in SYN-SENT with RST before any SYN
        # retransmission, rearms its SYN timer to TCP_TIMEOUT_MIN ("Previous FIN/ACK or
        # RST/ACK might be ignored", tcp_rcv_synsent_state_process): the SYN goes out again
        # that soon after the RST. The timeouts after it keep the schedule.
        return profile.syn_rst_rearm, a.rtx.syn_rst_ts
    return expected, since


def _syn_fits(profile: Profile, a: Endpoint, nth: int, ts: int, timing: Timing) -> bool:
    expected, since = _syn_timeout(profile, a, nth)
    return expected is not None and timing.backoff.matches((ts - since) / NS, expected)


def _guessed(a: Endpoint) -> bool:
    """Was the side's profile read from the traffic (``--profile auto``), not given by the
    user (forced or pinned)? A given profile is the user's statement of the stack's timers."""
    return a.chosen is not None and a.chosen.basis in (Basis.SIGNATURE, Basis.UNKNOWN)


def _uncaptured(schedule: tuple[float, ...], timeout: int, observed: float,
                timing: Timing) -> bool:
    """Is an interval longer than the schedule's ``timeout``-th one what the schedule gives
    with transmissions the capture does not hold: earlier ones (a capture started after the
    first SYN: the first one captured is a retransmission, its next timeout a later one) or
    ones between (capture loss)? Then it is one or more consecutive timeouts from the
    ``timeout``-th on, and the capture cannot tell a late timer from a missed SYN."""
    for first in range(timeout, len(schedule)):
        total = 0.0
        for later in schedule[first:]:
            total += later
            if timing.backoff.matches(observed, total):
                return True
            if total > observed:
                break
    return False


def _narrow(a: Endpoint, frame: int, what: str, fits: Callable[[Profile], bool]) -> bool:
    """The side's schedule left its profile: does one of the candidates its signature left
    open (``SideProfile.candidates``) fit? Then that one is the side's profile from now on.

    Only a signature's candidates are tried: a stack the SYN told apart is not re-guessed
    from its timers, which a loss burst or a slow host can bend.
    """
    chosen = a.chosen
    if chosen is None:
        return False
    for candidate in chosen.candidates:
        if fits(candidate):
            a.judged_by(chosen.narrowed(candidate, frame, what))
            return True
    return False


def _why(a: Endpoint) -> str:
    return "" if a.chosen is None else a.chosen.why(a.role)


def _limits(a: Endpoint) -> Profile:
    """The profile whose SYN and SYN-ACK retry counts judge the side
    (``SideProfile.limits``)."""
    return a.profile if a.chosen is None else a.chosen.limits


def _learn(a: Endpoint, observed: float, frame: int, what: str) -> None:
    """A profile whose schedule starts at the side's own first retransmission interval
    (``initial_rto_source = "observed"``, the RFC's bounds) takes it as the initial RTO,
    kept between ``rto_min`` and ``max_rto``; the intervals after it must double from there
    (RFC 6298 §5.5)."""
    profile = a.profile
    if a.chosen is None or profile.initial_rto_source != "observed":
        return
    initial = min(max(observed, profile.rto_min), profile.max_rto)
    a.judged_by(a.chosen.learnt(initial, frame, what))


def synack_retransmitted(timing: Timing, a: Endpoint, peer_syn_ts: int, answer_ns: int,
                         frame: int, ts: int, *, held_ack: int = 0) -> list[ev.Event]:
    """A SYN-ACK retransmission (same ISN): an answer to the peer's SYN, or the timer's?

    Linux answers a retransmitted SYN at once and restarts its timer from there; only timer
    retransmissions count towards tcp_synack_retries, and each waits initial RTO << count.
    ``held_ack``: the frame of the peer's bare ACK of the SYN-ACK, when the peer has sent
    nothing else since, which a listener deferring accept (``Profile.bare_third_ack``) drops;
    0 for none. Call before ``a.rtx.synacks`` counts this transmission.
    """
    answering = ts - peer_syn_ts <= answer_ns
    if answering and peer_syn_ts > a.rtx.last_syn_ts:
        return []
    out: list[ev.Event] = []
    a.rtx.timer_synacks += 1
    nth = a.rtx.timer_synacks
    observed = (ts - a.rtx.last_syn_ts) / NS
    if nth == 1 and not answering:
        _learn(a, observed, frame, "SYN-ACK")
    expected = _synack_timeout(a.profile, nth)
    # A second copy right after the answer to the peer's SYN: the timer fired as that SYN
    # arrived, and its schedule ran from a SYN-ACK before the answer, which is not recorded
    # here. It counts towards the retries, but its interval says nothing about the timer.
    if not answering and not timing.backoff.matches(observed, expected):
        profile = a.profile
        silent = (_silent_timeouts(profile, timing, nth, observed)
                  if held_ack and profile.bare_third_ack == "defer" else None)
        if silent is not None:
            # The deferral's end: its timeouts fired without resending, and its last one
            # resends "to give last chance for data or ACK to create established socket"
            # (syn_ack_recalc). It is the last timeout the deferral allows, never one too many.
            a.rtx.timer_synacks += silent
            out.append(ev.AcceptDeferred(frame, ts, a.role, a.rtx.last_syn_frame, held_ack,
                                         observed, silent, a.rtx.timer_synacks, profile))
            return out
    if not answering and not timing.backoff.matches(observed, expected) and not _narrow(
            a, frame, "SYN-ACK",
            lambda p: timing.backoff.matches(observed, _synack_timeout(p, nth))):
        out.append(ev.RtoBackoffViolation(frame, ts, a.role, "SYN-ACK", nth, expected,
                                          observed, a.rtx.last_syn_frame, a.profile,
                                          why=_why(a)))
    profile = _limits(a)
    if not a.rtx.syn_exceeded and nth > profile.synack_retries:
        a.rtx.syn_exceeded = True
        out.append(ev.SynRetriesExceeded(frame, ts, a.role, "SYN-ACK", nth + 1,
                                         profile.synack_retries + 1, (ts - a.rtx.syn_ts) / NS,
                                         profile.synack_give_up, profile, _why(a)))
    return out


def _silent_timeouts(profile: Profile, timing: Timing, nth: int,
                     observed: float) -> int | None:
    """How many SYN-ACK timeouts, from the ``nth`` on, fired without a SYN-ACK before the one
    that sent this copy ``observed`` seconds after the previous: the backed-off timeouts of
    a deferred accept add up to it. None when no such sum fits (a late timer)."""
    total = backed_off(profile.initial_rto, nth - 1, profile.max_rto)
    for silent in range(1, MAX_DEFERRED_TIMEOUTS + 1):
        total += backed_off(profile.initial_rto, nth - 1 + silent, profile.max_rto)
        if timing.backoff.matches(observed, total):
            return silent
        if timing.backoff.earliest(total) > observed:
            break
    return None


def _synack_timeout(profile: Profile, nth: int) -> float:
    """The timeout before timer-driven SYN-ACK retransmission ``nth``: doubling."""
    return backed_off(profile.initial_rto, nth - 1, profile.max_rto)


def data_retransmitted(timing: Timing, a: Endpoint, peer_last_ts: int, seq: int, frame: int,
                       ts: int) -> list[ev.Event]:
    """A retransmission of data at ``seq``: does a chain of timeouts back off (RFC 6298 §5.5)?

    Only a chain the timer alone can explain is judged: the same sequence number sent again
    while the peer sent nothing at all. From the third copy on, each interval must at least
    nearly double the one before (up to max_rto) and be no shorter than rto_min. The first two
    intervals are not judged: the first copy may be a tail loss probe (RFC 8985) sent well
    before the RTO, and the RTO then fires that much sooner after it (Linux counts it from the
    original transmission).
    """
    out: list[ev.Event] = []
    if ts - a.rtx.rto_ts < DUPLICATE_NS and a.rtx.rto_seq == seq:
        return out  # the same frame captured twice (two capture points), not a timer
    if a.rtx.rto_seq == seq and peer_last_ts < a.rtx.rto_ts:
        interval = ts - a.rtx.rto_ts
        previous = a.rtx.rto_interval
        a.rtx.rto_n += 1
        if previous is not None and a.rtx.rto_n > 2:
            profile = a.profile
            expected = min(2 * previous / NS, profile.max_rto)
            tolerance = timing.backoff
            floor = max(tolerance.earliest(expected), profile.rto_min * (1 - tolerance.ratio))
            if interval / NS < floor:
                out.append(ev.RtoBackoffViolation(frame, ts, a.role, "data", a.rtx.rto_n,
                                                  max(expected, profile.rto_min),
                                                  interval / NS, a.rtx.rto_frame,
                                                  profile, a.rel(seq), _why(a)))
        a.rtx.rto_interval = interval
    else:
        first = a.first_sent_at(seq)
        a.rtx.rto_seq = seq
        a.rtx.rto_n = 1
        a.rtx.rto_interval = ts - first if first is not None and peer_last_ts < first else None
    a.rtx.rto_ts = ts
    a.rtx.rto_frame = frame
    return out


def teardown(e: Endpoint, now: int, fin_frame: int | None) -> list[ev.Event]:
    """FIN_WAIT_2 and CLOSE_WAIT timers of one side, at capture time ``now``, against its
    profile."""
    out: list[ev.Event] = []
    if e.state is not State.CLOSE_WAIT and e.state is not State.FIN_WAIT_2:
        return out
    profile = e.profile
    clocks = e.ending()
    # A side the capture never saw (one-sided capture) may well have closed: nothing to judge.
    if e.state is State.CLOSE_WAIT and not clocks.cw_reported and e.sent_any:
        idle = (now - clocks.cw_since) / NS
        if idle > profile.close_wait_stall:
            clocks.cw_reported = True
            out.append(ev.CloseWaitStall(clocks.cw_frame, clocks.cw_since, e.role, idle,
                                         profile.close_wait_stall, fin_frame, profile))
    elif e.state is State.FIN_WAIT_2 and not clocks.fw2_reported:
        waited = (now - clocks.fw2_since) / NS
        if waited > profile.fin_timeout:
            clocks.fw2_reported = True
            out.append(ev.FinWait2Timeout(clocks.fw2_frame, clocks.fw2_since, e.role, waited,
                                          profile.fin_timeout, profile))
    return out
