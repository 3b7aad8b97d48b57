"""Record how a real Linux listener opens a connection it defers (issue 17: attempts).

``defer-accept``: a listener with ``TCP_DEFER_ACCEPT`` drops the handshake's bare third ACK
(tcp_check_req: "While TCP_DEFER_ACCEPT is active, drop bare ACK"), lets its SYN-ACK timer
fire without resending while the deferral lasts, and resends the SYN-ACK at the deferral's
last timeout (syn_ack_recalc: "start to resend on end of deferring period to give last chance
for data or ACK to create established socket"); the client's ACK of that copy completes
accept. make_captures.py runs this scenario with its own (``make captures``;
``--only defer-accept`` redoes it).
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from make_captures import (
    ACK,
    PAUSE,
    PORT,
    REQUEST,
    RESPONSE,
    SYN,
    answer_then_await_fin,
    connect,
    expect,
    fins,
    handshake,
    kernel_counters,
    no_rst,
    read_tcp,
    recording,
    recv_exact,
    scenario,
    serve_one,
)
from netns import spawn

DEFER_SECONDS = 30
"""The listener's TCP_DEFER_ACCEPT. Linux turns it into SYN-ACK timeouts (secs_to_retrans:
the backed-off 1, 2, 4, 8, 16 s first add up to 31 s >= 30 s after the fifth), and resends
the SYN-ACK when the last of them fires, 31 s after the first."""
RESENT_AFTER = 31.0
IDLE = RESENT_AFTER + 1.5
"""How long the client waits after connect() before its request: past the resent SYN-ACK."""


@scenario("defer-accept")
def defer_accept(out: Path) -> str:
    """A listener with TCP_DEFER_ACCEPT 30 s; the client connects and sends nothing for
    ``IDLE`` s, then its request; the server answers and the client closes first. The bare
    third ACK is dropped (the server's TCPDeferAcceptDrop counter), the SYN-ACK goes out again
    31 s after the first, the client ACKs it again, and accept() returns only then."""
    with recording(out) as tb, tb.server.ns.listen(tb.server.ipv4, PORT) as listener:
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, DEFER_SECONDS)
        start = time.monotonic()
        accepted_at = []

        def server(conn: socket.socket) -> None:
            accepted_at.append(time.monotonic() - start)
            answer_then_await_fin(conn)

        task = spawn(serve_one, listener, server)
        with connect(tb) as sock:
            time.sleep(IDLE)
            sock.sendall(REQUEST)
            recv_exact(sock, len(RESPONSE))
            time.sleep(PAUSE)
        task.result()
        dropped = kernel_counters(tb.server.ns, ("TcpExt.TCPDeferAcceptDrop",))
    pkts = read_tcp(out)
    client = tb.client.ipv4
    no_rst(pkts)
    handshake(pkts, client)
    synacks = [p for p in pkts if p.has(SYN | ACK)]
    expect(len(synacks) == 2 and synacks[0].seq == synacks[1].seq,
           f"expected the SYN-ACK and one copy of it: frames {[p.frame for p in synacks]}")
    gap = synacks[1].ts - synacks[0].ts
    expect(abs(gap - RESENT_AFTER) < 1.0, f"the SYN-ACK came again after {gap:.2f} s")
    acks = [p for p in pkts if p.src == client and p.pure and p.ack == synacks[0].seg_end]
    expect(len(acks) == 2 and acks[0].frame < synacks[1].frame < acks[1].frame,
           "the client must ACK the SYN-ACK and its copy, with nothing else between")
    expect(dropped["TcpExt.TCPDeferAcceptDrop"] >= 1, f"no bare ACK dropped: {dropped}")
    expect(abs(accepted_at[0] - RESENT_AFTER) < 1.0,
           f"accept() returned after {accepted_at[0]:.2f} s, not when the copy was ACKed")
    return (f"SYN-ACK frames {synacks[0].frame} and {synacks[1].frame} (+{gap:.3f} s), bare "
            f"ACKs {acks[0].frame} and {acks[1].frame}; accept() after {accepted_at[0]:.2f} s; "
            f"TCPDeferAcceptDrop {dropped['TcpExt.TCPDeferAcceptDrop']}; client FIN frame "
            f"{fins(pkts)[0].frame}")
