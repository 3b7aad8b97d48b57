"""Which connection instance a SYN belongs to: a retransmission, a simultaneous open, a new
attempt after a reset, or a new connection on a reused four-tuple (RFC 9293 §3.10.7, RFC 6191),
and the old instance a SYN's receiver still holds (``Instances._hold``).

A mixin of ``tcpcheck.track.Tracker``, whose state it reads and writes: the table of
connections, the held instances, the ISNs remembered for isn-weak.
"""

from __future__ import annotations

from tcpcheck.model import events as ev
from tcpcheck.model.connection import Connection
from tcpcheck.model.endpoint import Endpoint
from tcpcheck.model.seqnum import MASK, seq_gt
from tcpcheck.model.states import SYNCHRONIZED, State
from tcpcheck.options import parse_options
from tcpcheck.segment import ACK, RST, SYN, Segment


class Instances:
    """The instance steps of ``Tracker``: a mixin, whose state is ``Tracker``'s."""

    def _starts_new_instance(self, conn: Connection, seg: Segment, from_client: bool) -> bool:
        """A SYN on a known tuple: retransmission, simultaneous open, or a new connection?

        After an RST ended the instance (a refusal, or a reset of an opening or open
        connection) the SYN is a new attempt even with the same ISN, as Windows retries a
        refused connect() (Microsoft KB 175523): RFC 9293 §3.10.7.3 has the SYN-SENT side
        "enter the CLOSED state, delete the TCB", so the attempt after it is a new instance
        with its own id, whose SYN timer runs from its own SYN: never a retransmission
        measured from the old one, though a sender that kept its ISN kept its backoff too
        (``_open``). Wireshark keeps such SYNs in one ``tcp.stream`` and marks them as
        retransmissions.
        """
        conn.settle_suspect()
        sender = conn.client if from_client else conn.server
        if conn.close:
            # An RST ended this incarnation: a SYN opens a new one, even with the same ISN (a
            # SYN-SENT side that sent an RST keeps its ISN and retries, RFC 9293 §3.10.7.3).
            return True
        if seg.seq == sender.snd.isn or conn.holds_syn(seg, from_client):
            return False  # this connection's own SYN again (retransmitted, or seen late)
        if conn.done_at is not None:
            return True  # the old incarnation is over (closed or TIME_WAIT)
        if sender.snd.isn is None:
            # The side has not opened yet: simultaneous open if the peer's SYN is unanswered.
            peer = conn.server if from_client else conn.client
            return not (peer.state is State.SYN_SENT or peer.state is State.SYN_RCVD)
        if sender.state is State.SYN_SENT:
            # A new ISN: still the same attempt unless the stack would have given up by now.
            elapsed = (seg.ts - sender.rtx.syn_ts) / 1e9
            return (sender.rtx.syns >= sender.profile.max_syn_transmissions
                    or elapsed > sender.profile.syn_give_up)
        # A new ISN on a tuple past its handshake: the old one was abandoned, unless the
        # receiver still holds the attempt; then it drops the SYN with a challenge ACK (RFC
        # 9293 §3.10.7.4, RFC 5961 §4), and only a reset ends it.
        return (conn.server if from_client else conn.client).state is not State.SYN_RCVD

    def _open(self, seg: Segment, key: tuple, previous: Connection | None,
              conn_id: int | None = None) -> Connection:
        """A new connection opened by ``seg`` (numbered next, unless ``conn_id`` gives the
        number a lone SYN was given), in the table under both directions."""
        flags = seg.flags
        if flags & SYN and not flags & ACK:
            client_key, midstream = (seg.src, seg.sport), False
        elif flags & SYN:
            client_key, midstream = (seg.dst, seg.dport), False  # the SYN was not captured
        else:
            # Mid-stream: guess the server as the side with the lower port (services listen
            # on low ports, clients use ephemeral ones).
            lower_is_dst = seg.sport >= seg.dport
            client_key = (seg.src, seg.sport) if lower_is_dst else (seg.dst, seg.dport)
            midstream = True
        if conn_id is None:
            conn_id = self._next_id
            self._next_id += 1
        conn = Connection(conn_id, self.profile, client_key, midstream, seg, self.timing,
                          fast_path=self._fast_path, hosts=self.hosts)
        conn.watch_hosts = self._watch
        if previous is not None:
            self._check_reuse(previous, conn, seg)
            retried = self._retried(previous, seg)
            if retried is not None:
                # The same attempt's ISN again, after an RST ended the instance: not a weak
                # ISN shared by two connections (isn-weak). Its sender kept the SYN timer's
                # backoff: Windows, retrying a refused connect every 0.5 s, sends its next
                # unanswered SYN 3 << n s later, n its SYNs so far (wild/dev gnutella, port
                # 3781: SYNs at 0, 0.73 and 1.43 s, the first two refused, then 12.0 s after
                # the third).
                self._isns[(seg.src, seg.seq)] = conn_id
                conn.client.rtx.prior_syns = retried.rtx.syns + retried.rtx.prior_syns
            if not self._hold(previous, conn, seg):
                self._finalise(previous, seg.ts)
        reverse = (key[2], key[3], key[0], key[1])
        sent_by_client = client_key == (seg.src, seg.sport)
        self._table[key] = (conn, sent_by_client)
        self._table[reverse] = (conn, not sent_by_client)
        conn.keys = (key, reverse)
        return conn

    @staticmethod
    def _retried(previous: Connection, syn: Segment) -> Endpoint | None:
        """The side of ``previous``, which an RST ended, whose ISN ``syn`` repeats (None when
        it does not)."""
        sender = previous.client if previous.client_key == (syn.src, syn.sport) else (
            previous.server)
        return sender if previous.close and sender.snd.isn == syn.seq else None

    def _hold(self, old: Connection, new: Connection, syn: Segment) -> bool:
        """Keep ``old`` open beside ``new`` while the SYN's receiver still holds it?

        RFC 9293 §3.10.7.4 (with RFC 5961 §4): a SYN reaching a synchronized connection draws
        a challenge ACK from it, not a SYN-ACK, and the new attempt's SYN-SENT side answers
        that ACK with <SEQ=SEG.ACK><CTL=RST> (§3.10.7.3), which ends the old connection. Both
        belong to the old connection's sequence space, so ``old`` stays reachable until it is
        settled or the new attempt is answered (``_route_held``).
        """
        from_client = old.client_key == (syn.src, syn.sport)
        sender, receiver = (old.client, old.server) if from_client else (old.server, old.client)
        if old.done_at is not None or old.close or receiver.state not in SYNCHRONIZED:
            return False
        self._held[new.id] = old
        new.syn_to_older = True  # the SYN reached the old connection, not the listener
        # The receiver's ACK answering the SYN is owed, as to a probe: not a duplicate ACK.
        sender.rtx.probe = True
        old.challenged(syn, from_client)
        return True

    def _route_held(self, new: Connection, seg: Segment,
                    from_client: bool) -> tuple[Connection, bool]:
        """The instance a segment belongs to, on a tuple whose old instance is held."""
        old = self._held[new.id]
        if new.server.snd.isn is not None or old.done_at is not None or old.close:
            # Settled, or superseded by the new attempt's SYN-ACK: the old one is over.
            del self._held[new.id]
            new.syn_to_older = False
            self._finalise(old, seg.ts)
            return new, from_client
        old_from_client = old.client_key == (seg.src, seg.sport)
        if not from_client and not seg.flags & SYN:
            # The new attempt's server has not answered its SYN: what that side sends comes
            # from the old connection (a challenge ACK, a retransmission).
            return old, old_from_client
        if not seg.flags & (SYN | RST) and new.client.state is State.SYN_SENT:
            # SYN-SENT sends only SYNs and resets (RFC 9293 §3.10.7.3): anything else from
            # that side is the old connection's, which its host still holds (the SYN came from
            # a third party, or from a process that does not own the old connection).
            return old, old_from_client
        receiver = old.server if old_from_client else old.client
        if (seg.flags & RST and from_client and new.client.state is State.SYN_SENT
                and receiver.rcv.ack is not None and seg.seq == receiver.rcv.ack & MASK):
            # The new attempt's RST at SEG.ACK of the old connection's challenge ACK: its
            # receiver is the old connection, and its sender stays in SYN-SENT.
            new.client.rtx.syn_rst_ts = seg.ts
            (old.client if old_from_client else old.server).rtx.syn_rst_ts = seg.ts
            return old, old_from_client
        return new, from_client

    def _check_reuse(self, old: Connection, new: Connection, syn: Segment) -> None:
        """RFC 6191: reopening a tuple while a side is in TIME_WAIT needs proof of freshness."""
        tw = next((e for e in (old.client, old.server) if e.state is State.TIME_WAIT), None)
        if tw is None or tw.teardown is None or tw.teardown.tw_since is None:
            return
        since = (syn.ts - tw.teardown.tw_since) / 1e9
        if since >= tw.profile.time_wait:
            return
        sender = old.client if old.client_key == (syn.src, syn.sport) else old.server
        new_ts = parse_options(syn.options).tsval
        old_ts = sender.opts.ts_max
        final_seq = (sender.snd.max or 0) & 0xFFFFFFFF
        reasons = []
        if new_ts is not None and old_ts is not None and seq_gt(new_ts, old_ts):
            reasons.append(f"its TSval {new_ts} is newer than the old connection's {old_ts}")
        if sender.snd.max is not None and seq_gt(syn.seq, final_seq):
            reasons.append(f"its ISN {syn.seq} lies beyond the old connection's final "
                           f"sequence number {final_seq}")
        if reasons:
            reason = " and ".join(reasons)
        else:
            parts = [f"its ISN {syn.seq} is not beyond the old final sequence number {final_seq}"]
            if new_ts is None or old_ts is None:
                parts.append("timestamps were not in use on both connections")
            else:
                parts.append(f"its TSval {new_ts} is not newer than {old_ts}")
            reason = "; ".join(parts)
        new.events.append(ev.TupleReopened(
            syn.frame, syn.ts, "client", old.id, tw.role, since, tw.profile.time_wait,
            bool(reasons), reason, tw.profile))
