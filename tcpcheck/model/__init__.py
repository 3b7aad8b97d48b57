"""The reference model: one connection, two RFC 9293 endpoints, replayed segment by segment.

- ``states``: the RFC 9293 state table (§3.3.2) and ``step``, the only way a state changes.
- ``seqnum``: 32-bit sequence arithmetic, in one place.
- ``endpoint``: one side's TCB, as far as the capture reveals it.
- ``connection``: the two endpoints and the dispatch of each segment to them; its steps live in
  ``handshake`` (SYN, SYN-ACK), ``peer_options`` (options, PAWS), ``acks`` (ACK field, window),
  ``data`` (text, FIN) and ``reset`` (RST).
- ``arrival``: RFC 9293 §3.10.7's receive checks, one function a step.
- ``events``: what the model observed, for the rules to judge.

The model is sans-I/O: segments in, events out, no clock but the packets' timestamps.
"""
