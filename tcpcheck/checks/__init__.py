"""Rule logic: one small function per rule, turning a model event into an explanation.

Each check reads one kind of ``tcpcheck.model.events`` observation and says, in TCP terms, what was
expected and what the traffic did. Severity, code and documentation come from the catalog.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tcpcheck.checks import (
    capture,
    close,
    diagnostics,
    flags,
    handshake,
    negotiation,
    replies,
    reset,
    sequence,
    timer,
    window,
)
from tcpcheck.checks.base import Context, Explanation
from tcpcheck.model import events as ev


@dataclass(frozen=True, slots=True)
class Check:
    """A rule's logic: the event it reads and the function that explains it (or declines)."""

    slug: str
    event: type[ev.Event]
    explain: Callable[[ev.Event, Context], Explanation | None]


CHECKS: tuple[Check, ...] = (
    Check("syn-isn-changed", ev.SynIsnChanged, handshake.syn_isn_changed),
    Check("synack-isn-changed", ev.SynAckIsnChanged, handshake.synack_isn_changed),
    Check("concurrent-syn", ev.ConcurrentSyn, handshake.concurrent_syn),
    Check("synack-bad-ack", ev.SynAckBadAck, handshake.synack_bad_ack),
    Check("handshake-bad-ack", ev.HandshakeBadAck, handshake.handshake_bad_ack),
    Check("half-open", ev.HalfOpen, handshake.half_open),
    Check("handshake-incomplete", ev.HandshakeIncomplete, handshake.handshake_incomplete),
    Check("syn-flood", ev.SynFlood, handshake.syn_flood),
    Check("unexpected-segment", ev.UnexpectedSegment, handshake.unexpected_segment),
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
    Check("data-beyond-window", ev.DataBeyondWindow, window.data_beyond_window),
    Check("seq-out-of-window", ev.SeqOutOfWindow, window.seq_out_of_window),
    Check("window-shrink", ev.WindowShrink, window.window_shrink),
    Check("option-not-negotiated", ev.OptionNotNegotiated, negotiation.option_not_negotiated),
    Check("paws-timestamp-regression", ev.PawsRegression,
          negotiation.paws_timestamp_regression),
    Check("synack-options-unsolicited", ev.SynAckOptionsUnsolicited,
          negotiation.synack_options_unsolicited),
    Check("window-scale-too-large", ev.WindowScaleTooLarge, negotiation.window_scale_too_large),
    Check("rst-out-of-window", ev.RstOutOfWindow, reset.rst_out_of_window),
    Check("rst-seq-not-exact", ev.RstNotExact, reset.rst_seq_not_exact),
    Check("data-after-rst", ev.DataAfterRst, reset.data_after_rst),
    Check("injected-segment", ev.InjectedSegment, reset.injected_segment),
    Check("challenge-ack-missing", ev.ReplyOwed, replies.challenge_ack_missing),
    Check("unacceptable-segment-not-acked", ev.ReplyOwed, replies.unacceptable_segment_not_acked),
    Check("reset-not-sent", ev.ReplyOwed, replies.reset_not_sent),
    Check("unacceptable-segment-accepted", ev.ReplyOwed, replies.unacceptable_segment_accepted),
    Check("wrong-reply", ev.ReplyOwed, replies.wrong_reply),
    Check("ack-withheld", ev.ReplyOwed, replies.ack_withheld),
    Check("retransmission-data-mismatch", ev.RetransmissionDataMismatch,
          sequence.retransmission_data_mismatch),
    Check("close-wait-stall", ev.CloseWaitStall, close.close_wait_stall),
    Check("fin-wait-2-timeout", ev.FinWait2Timeout, close.fin_wait_2_timeout),
    Check("syn-retries-exceeded", ev.SynRetriesExceeded, timer.syn_retries_exceeded),
    Check("synack-retries-exceeded", ev.SynRetriesExceeded, timer.synack_retries_exceeded),
    Check("rto-backoff-violation", ev.RtoBackoffViolation, timer.rto_backoff_violation),
    Check("duplicate-ack", ev.DuplicateAck, diagnostics.duplicate_ack),
    Check("out-of-order", ev.OutOfOrder, diagnostics.out_of_order),
    Check("zero-window", ev.ZeroWindow, diagnostics.zero_window),
    Check("zero-window-probe", ev.ZeroWindowProbe, diagnostics.zero_window_probe),
    Check("keepalive", ev.Keepalive, diagnostics.keepalive),
    Check("fast-retransmission", ev.FastRetransmission, diagnostics.fast_retransmission),
    Check("spurious-retransmission", ev.SpuriousRetransmission,
          diagnostics.spurious_retransmission),
    Check("deferred-accept", ev.AcceptDeferred, diagnostics.accept_deferred),
    Check("isn-weak", ev.IsnWeak, diagnostics.isn_weak),
    Check("oversized-segment", ev.OversizedSegment, capture.oversized_segment),
    Check("checksum-offload", ev.ChecksumOffload, capture.checksum_offload),
    Check("bad-checksum", ev.BadChecksum, capture.bad_checksum),
    Check("unusable-checksum", ev.UnusableChecksum, capture.unusable_checksum),
    Check("duplicate-frame", ev.DuplicateFrames, capture.duplicate_frames),
    Check("double-capture-point", ev.DoubleCapture, capture.double_capture),
    Check("capture-repeated", ev.CaptureRepeated, capture.capture_repeated),
    Check("capture-started-midstream", ev.CaptureStartedMidstream,
          capture.capture_started_midstream),
    Check("capture-ended-midstream", ev.CaptureEndedMidstream, capture.capture_ended_midstream),
)

__all__ = ["CHECKS", "Check", "Context", "Explanation"]
