"""The RFC 9293 connection state machine as data (RFC 9293 §3.3.2, Figure 5).

Everything that moves an endpoint between states lives in ``TRANSITIONS``; both endpoints of a
connection run the same table, and the table does not know which role an endpoint plays.
Inputs are named by direction, as the endpoint experiences them: ``SEND_FIN`` when it sends a FIN,
``RECV_FIN`` when the peer's FIN reaches it.

An observer must not raise on an illegal (state, input) pair: ``step`` returns the fallback state
and ``legal=False``, and the model turns that into an observation.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    """RFC 9293 connection states."""

    CLOSED = "CLOSED"
    LISTEN = "LISTEN"
    SYN_SENT = "SYN_SENT"
    SYN_RCVD = "SYN_RCVD"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT_1 = "FIN_WAIT_1"
    FIN_WAIT_2 = "FIN_WAIT_2"
    CLOSE_WAIT = "CLOSE_WAIT"
    CLOSING = "CLOSING"
    LAST_ACK = "LAST_ACK"
    TIME_WAIT = "TIME_WAIT"


class Input(StrEnum):
    """What happens to one endpoint, named by direction."""

    SEND_SYN = "SEND_SYN"
    SEND_SYN_ACK = "SEND_SYN_ACK"
    SEND_FIN = "SEND_FIN"
    SEND_RST = "SEND_RST"
    RECV_SYN = "RECV_SYN"
    RECV_SYN_ACK = "RECV_SYN_ACK"
    RECV_ACK_OF_SYN = "RECV_ACK_OF_SYN"
    RECV_FIN = "RECV_FIN"
    RECV_ACK_OF_FIN = "RECV_ACK_OF_FIN"
    RECV_RST = "RECV_RST"
    # Not RFC 9293 events: the observer's corrections, when a receiver's own later segments
    # show that a segment seen at the capture point had not reached it (lost after the tap,
    # or still in flight when the receiver sent). Each takes back one RECV_ transition, so it
    # exists only from the state that transition enters.
    RETRACT_RECV_SYN = "RETRACT_RECV_SYN"
    RETRACT_RECV_FIN = "RETRACT_RECV_FIN"
    RETRACT_RECV_ACK_OF_SYN = "RETRACT_RECV_ACK_OF_SYN"


S, In = State, Input

# (state, input) -> next state. Retransmissions (SEND_SYN in SYN_SENT, SEND_FIN in FIN_WAIT_1,
# RECV_FIN in CLOSE_WAIT, ...) are listed as self-loops: they are legal and change nothing.
TRANSITIONS: dict[tuple[State, Input], State] = {
    # Opening (§3.5).
    (S.CLOSED, In.SEND_SYN): S.SYN_SENT,
    (S.LISTEN, In.SEND_SYN): S.SYN_SENT,
    (S.LISTEN, In.RECV_SYN): S.SYN_RCVD,
    (S.SYN_SENT, In.SEND_SYN): S.SYN_SENT,
    (S.SYN_SENT, In.RECV_SYN): S.SYN_RCVD,  # simultaneous open
    (S.SYN_SENT, In.RECV_SYN_ACK): S.ESTABLISHED,
    (S.SYN_SENT, In.SEND_FIN): S.CLOSED,  # §3.10.4 CLOSE in SYN-SENT: "Delete the TCB"
    (S.SYN_RCVD, In.SEND_SYN_ACK): S.SYN_RCVD,
    (S.SYN_RCVD, In.RECV_SYN): S.SYN_RCVD,  # the peer retransmitted its SYN
    # Simultaneous open in crossing order: the side assumed to be listening had sent its own
    # SYN before the peer's reached it; it sends SYN, then SYN-ACK, staying in SYN_RCVD.
    (S.SYN_RCVD, In.SEND_SYN): S.SYN_RCVD,
    (S.SYN_RCVD, In.RECV_ACK_OF_SYN): S.ESTABLISHED,
    (S.SYN_RCVD, In.RECV_SYN_ACK): S.ESTABLISHED,  # simultaneous open, the peer's SYN-ACK
    (S.SYN_RCVD, In.SEND_FIN): S.FIN_WAIT_1,
    (S.ESTABLISHED, In.SEND_SYN_ACK): S.ESTABLISHED,  # retransmitted SYN-ACK, its ACK was lost
    (S.ESTABLISHED, In.RECV_SYN_ACK): S.ESTABLISHED,  # the peer retransmitted its SYN-ACK
    (S.ESTABLISHED, In.RECV_SYN): S.ESTABLISHED,  # a retransmitted SYN; answered with an ACK
    # Closing (§3.6).
    (S.ESTABLISHED, In.SEND_FIN): S.FIN_WAIT_1,
    (S.ESTABLISHED, In.RECV_FIN): S.CLOSE_WAIT,
    (S.FIN_WAIT_1, In.SEND_FIN): S.FIN_WAIT_1,
    (S.FIN_WAIT_1, In.RECV_ACK_OF_FIN): S.FIN_WAIT_2,
    (S.FIN_WAIT_1, In.RECV_FIN): S.CLOSING,  # simultaneous close
    (S.FIN_WAIT_2, In.SEND_FIN): S.FIN_WAIT_2,  # the ACK of our FIN was seen, but lost later
    (S.FIN_WAIT_2, In.RECV_FIN): S.TIME_WAIT,
    (S.CLOSING, In.SEND_FIN): S.CLOSING,
    (S.CLOSING, In.RECV_FIN): S.CLOSING,
    (S.CLOSING, In.RECV_ACK_OF_FIN): S.TIME_WAIT,
    (S.CLOSE_WAIT, In.RECV_FIN): S.CLOSE_WAIT,
    (S.CLOSE_WAIT, In.SEND_FIN): S.LAST_ACK,
    (S.LAST_ACK, In.SEND_FIN): S.LAST_ACK,
    (S.LAST_ACK, In.RECV_FIN): S.LAST_ACK,
    (S.LAST_ACK, In.RECV_ACK_OF_FIN): S.CLOSED,
    (S.TIME_WAIT, In.SEND_FIN): S.TIME_WAIT,
    (S.TIME_WAIT, In.RECV_FIN): S.TIME_WAIT,  # the peer's FIN again: re-ACK, restart 2*MSL
    (S.TIME_WAIT, In.RECV_ACK_OF_FIN): S.TIME_WAIT,
    (S.CLOSED, In.RECV_ACK_OF_FIN): S.CLOSED,
    # Corrections (see ``Input``): nothing ever answered the SYN, so nothing shows it reached
    # the listener; the FIN's receiver sent its own FIN without having received this one.
    (S.SYN_RCVD, In.RETRACT_RECV_SYN): S.LISTEN,
    (S.CLOSE_WAIT, In.RETRACT_RECV_FIN): S.ESTABLISHED,
    # A listener deferring accept dropped the handshake's bare ACK (``Profile.bare_third_ack``),
    # as its SYN-ACK sent again shows: it stayed in SYN-RECEIVED.
    (S.ESTABLISHED, In.RETRACT_RECV_ACK_OF_SYN): S.SYN_RCVD,
}

# Any state ends in CLOSED on a reset it sends or accepts (§3.10.7).
for _state in State:
    TRANSITIONS[(_state, In.SEND_RST)] = S.CLOSED
    TRANSITIONS[(_state, In.RECV_RST)] = S.CLOSED

# States in which the endpoint has received the peer's SYN: it knows IRS and every segment it
# sends must carry ACK (§3.10.7.4).
SYNCHRONIZED = frozenset({
    S.SYN_RCVD, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT, S.CLOSING,
    S.LAST_ACK, S.TIME_WAIT,
})


def step(state: State, event: Input) -> tuple[State, bool]:
    """Apply ``event`` to ``state``: the next state and whether the pair is legal.

    An illegal pair leaves the state unchanged: the observer records it and replay goes on.
    """
    nxt = TRANSITIONS.get((state, event))
    if nxt is None:
        return state, False
    return nxt, True
