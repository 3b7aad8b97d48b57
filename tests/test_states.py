"""The RFC 9293 transition table, driven exhaustively."""

import itertools

import pytest

from tcpcheck.model.states import TRANSITIONS, Input, State, step


@pytest.mark.parametrize(("state", "event"), list(itertools.product(State, Input)))
def test_every_state_input_pair_yields_a_state_and_never_raises(state, event):
    nxt, legal = step(state, event)
    assert isinstance(nxt, State)
    assert legal == ((state, event) in TRANSITIONS)
    if not legal:
        assert nxt is state  # an observer keeps its state on an illegal input


@pytest.mark.parametrize(("path", "end"), [
    # RFC 9293 Figure 5 paths.
    ((State.CLOSED, Input.SEND_SYN, Input.RECV_SYN_ACK), State.ESTABLISHED),
    ((State.LISTEN, Input.RECV_SYN, Input.SEND_SYN_ACK, Input.RECV_ACK_OF_SYN),
     State.ESTABLISHED),
    ((State.CLOSED, Input.SEND_SYN, Input.RECV_SYN, Input.RECV_SYN_ACK), State.ESTABLISHED),
    ((State.ESTABLISHED, Input.SEND_FIN, Input.RECV_ACK_OF_FIN, Input.RECV_FIN),
     State.TIME_WAIT),
    ((State.ESTABLISHED, Input.SEND_FIN, Input.RECV_FIN, Input.RECV_ACK_OF_FIN),
     State.TIME_WAIT),
    ((State.ESTABLISHED, Input.RECV_FIN, Input.SEND_FIN, Input.RECV_ACK_OF_FIN), State.CLOSED),
    ((State.ESTABLISHED, Input.RECV_RST), State.CLOSED),
    ((State.SYN_SENT, Input.SEND_RST), State.CLOSED),
])
def test_rfc_paths_reach_the_rfc_state(path, end):
    state = path[0]
    for event in path[1:]:
        state, legal = step(state, event)
        assert legal
    assert state is end


def test_only_the_active_closer_enters_time_wait():
    passive = {s for (s, e), n in TRANSITIONS.items() if n is State.TIME_WAIT}
    assert passive <= {State.FIN_WAIT_2, State.CLOSING, State.TIME_WAIT}


def test_close_wait_cannot_receive_data_state_change_without_sending_fin():
    assert step(State.CLOSE_WAIT, Input.RECV_ACK_OF_FIN) == (State.CLOSE_WAIT, False)
