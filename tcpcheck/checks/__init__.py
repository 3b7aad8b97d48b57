"""Rule logic: one small function per rule, turning a model event into an explanation.

Each check reads one kind of ``tcpcheck.events`` observation and says, in TCP terms, what was
expected and what the traffic did. Severity, code and documentation come from the catalog.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tcpcheck import events as ev
from tcpcheck.checks import close, flags, handshake, reset, sequence
from tcpcheck.checks.base import Context, Explanation


@dataclass(frozen=True, slots=True)
class Check:
    """A rule's logic: the event it reads and the function that explains it (or declines)."""

    slug: str
    event: type[ev.Event]
    explain: Callable[[ev.Event, Context], Explanation | None]


CHECKS: tuple[Check, ...] = (
    Check("syn-isn-changed", ev.SynIsnChanged, handshake.syn_isn_changed),
    Check("synack-isn-changed", ev.SynAckIsnChanged, handshake.synack_isn_changed),
    Check("synack-bad-ack", ev.SynAckBadAck, handshake.synack_bad_ack),
    Check("handshake-bad-ack", ev.HandshakeBadAck, handshake.handshake_bad_ack),
    Check("half-open", ev.HalfOpen, handshake.half_open),
    Check("handshake-incomplete", ev.HandshakeIncomplete, handshake.handshake_incomplete),
    Check("missing-ack-flag", ev.MissingAckFlag, flags.missing_ack_flag),
    Check("invalid-flag-combination", ev.InvalidFlags, flags.invalid_flag_combination),
    Check("ack-unsent-data", ev.AckOfUnsentData, sequence.ack_unsent_data),
    Check("ack-unseen-segment", ev.AckOfUnseenSegment, sequence.ack_unseen_segment),
    Check("retransmission", ev.Retransmission, sequence.retransmission),
    Check("data-after-fin", ev.DataAfterFin, close.data_after_fin),
    Check("fin-seq-changed", ev.FinSeqChanged, close.fin_seq_changed),
    Check("missing-time-wait", ev.ResetInTimeWait, close.reset_in_time_wait),
    Check("missing-time-wait", ev.TupleReopened, close.reopened_without_protection),
    Check("time-wait-reuse", ev.TupleReopened, close.time_wait_reuse),
    Check("connection-reset", ev.ConnectionReset, reset.connection_reset),
)

__all__ = ["CHECKS", "Check", "Context", "Explanation"]
