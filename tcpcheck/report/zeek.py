"""The Zeek report: a ``conn.log`` in Zeek's TSV format (``--format zeek``), for tools that
read Zeek logs (zeek-cut, Zeek's log parsers, Security Onion, pandas with a TSV reader).

The header is what Zeek's ASCII writer puts first (``#separator``, ``#set_separator``,
``#empty_field``, ``#unset_field``, ``#path``, ``#open``, ``#fields``, ``#types``) and the file
ends with ``#close``; the fields are the classic ``Conn::Info`` columns, then tcpcheck's two.
Zeek writes the wall clock into ``#open``/``#close``; here they are the capture's first and last
packet times, so the same capture gives the same file.

What Zeek derives from its own TCP analyzer comes here from tcpcheck's model:

- ``orig`` is tcpcheck's client (the sender of the first SYN, or of the first segment seen
  mid-stream); Zeek's "flipped" guess (``^``) is never made.
- ``history``: the first segment of each kind each side sent, in capture order, upper case
  for the client: ``S`` SYN, ``H`` SYN-ACK, ``A`` pure ACK, ``D`` payload, ``F`` FIN, ``R``
  RST, ``T`` a retransmission (as the model classified it), ``W`` a zero window. Zeek's ``C``
  (bad checksum), ``G`` (content gap), ``I``, ``Q`` and its repeated letters are not written.
- ``conn_state``: Zeek's rules (``Conn::conn_state``) over each side's Zeek endpoint state,
  taken from its history (``endpoint_state``).
- ``orig_bytes``/``resp_bytes``: payload by sequence numbers, as Zeek counts them;
  ``missed_bytes``: sequence space the capture never showed; ``orig_ip_bytes``,
  ``resp_ip_bytes``, ``service``, ``local_orig``, ``local_resp`` and ``tunnel_parents`` are
  unset (``-``): tcpcheck does not keep IP lengths, name services or know local networks.
- ``uid``: ``C`` and 17 base-62 digits of a hash of the capture path and connection id,
  stable across runs (Zeek's are random).

After Zeek's fields, as Zeek packages append theirs, ``orig_profile`` and ``resp_profile``: the
stack profile each side was judged by.
"""

from __future__ import annotations

import hashlib
import time
from enum import Enum

from tcpcheck.model.stats import ConnectionStats
from tcpcheck.result import AnalysisResult, ConnectionSummary

FIELDS = (
    ("ts", "time"), ("uid", "string"), ("id.orig_h", "addr"), ("id.orig_p", "port"),
    ("id.resp_h", "addr"), ("id.resp_p", "port"), ("proto", "enum"), ("service", "string"),
    ("duration", "interval"), ("orig_bytes", "count"), ("resp_bytes", "count"),
    ("conn_state", "string"), ("local_orig", "bool"), ("local_resp", "bool"),
    ("missed_bytes", "count"), ("history", "string"), ("orig_pkts", "count"),
    ("orig_ip_bytes", "count"), ("resp_pkts", "count"), ("resp_ip_bytes", "count"),
    ("tunnel_parents", "set[string]"),
)
"""Zeek's ``Conn::Info`` logged fields and their types, in Zeek's order."""
PROFILE_FIELDS = (("orig_profile", "string"), ("resp_profile", "string"))
"""What tcpcheck adds after Zeek's fields, as Zeek packages add theirs (mac-logging's
``orig_l2_addr``): the stack profile each side was judged by (``--profile auto``: its own)."""

UNSET = "-"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class ZeekEndpoint(Enum):
    """Zeek's TCP endpoint states (``TCP_INACTIVE`` …), as far as a history shows them."""

    INACTIVE = "inactive"
    SYN_SENT = "syn-sent"
    SYN_ACK_SENT = "syn-ack-sent"
    PARTIAL = "partial"
    ESTABLISHED = "established"
    CLOSED = "closed"
    RESET = "reset"


def render_zeek(result: AnalysisResult) -> str:
    """Every listed connection as one ``conn.log`` line, with Zeek's header and footer."""
    starts = {c.input: c.capture_start or 0.0 for c in result.captures}
    rows = [_row(conn, starts.get(conn.input, 0.0)) for conn in result.connections]
    first = min((starts.get(c.input, 0.0) + c.start for c in result.connections), default=0.0)
    last = max((starts.get(c.input, 0.0) + c.end for c in result.connections), default=first)
    head = [
        "#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)",
        f"#unset_field\t{UNSET}", "#path\tconn", f"#open\t{_stamp(first)}",
        "#fields\t" + "\t".join(name for name, _ in FIELDS + PROFILE_FIELDS),
        "#types\t" + "\t".join(kind for _, kind in FIELDS + PROFILE_FIELDS),
    ]
    return "\n".join([*head, *rows, f"#close\t{_stamp(last)}"]) + "\n"


def history(stats: ConnectionStats) -> str:
    """Zeek's history letters: each side's first segment of each kind, in capture order."""
    marks = [(frame, 0, letter) for frame, letter in stats.client.history]
    marks += [(frame, 1, letter.lower()) for frame, letter in stats.server.history]
    return "".join(letter for _, _, letter in sorted(marks, key=lambda m: m[:2]))


def endpoint_state(letters: str, peer_letters: str) -> ZeekEndpoint:
    """A side's Zeek endpoint state from its history letters (upper case) and its peer's."""
    if "R" in letters:
        return ZeekEndpoint.RESET
    if "F" in letters:
        return ZeekEndpoint.CLOSED
    if not letters:
        return ZeekEndpoint.INACTIVE
    if "H" in letters:
        # A SYN-ACK answering the peer's SYN: the responder's side of the handshake is done.
        return ZeekEndpoint.ESTABLISHED if "S" in peer_letters else ZeekEndpoint.SYN_ACK_SENT
    if "S" in letters:
        return ZeekEndpoint.ESTABLISHED if set(letters) - {"S"} else ZeekEndpoint.SYN_SENT
    return ZeekEndpoint.PARTIAL


def conn_state(stats: ConnectionStats) -> str:
    """Zeek's ``conn_state`` (S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR,
    OTH), by the rules of Zeek's ``Conn::conn_state`` over the two endpoint states."""
    orig = "".join(letter for _, letter in stats.client.history)
    resp = "".join(letter for _, letter in stats.server.history)
    os_, rs = endpoint_state(orig, resp), endpoint_state(resp, orig)
    o_inactive = os_ in (ZeekEndpoint.INACTIVE, ZeekEndpoint.PARTIAL)
    r_inactive = rs in (ZeekEndpoint.INACTIVE, ZeekEndpoint.PARTIAL)
    if rs is ZeekEndpoint.RESET:
        if os_ in (ZeekEndpoint.SYN_SENT, ZeekEndpoint.SYN_ACK_SENT) or (
                os_ is ZeekEndpoint.RESET and not stats.client.bytes and not stats.server.bytes):
            return "REJ"
        return "RSTRH" if o_inactive else "RSTR"
    if os_ is ZeekEndpoint.RESET:
        if r_inactive:
            # Zeek: the history matches /^?S[^HAFGIQ]*R.*/ (a SYN, then the reset).
            return "RSTOS0" if orig.startswith("S") and not set(orig[:orig.index("R")]) & set(
                "HAFGIQ") else "OTH"
        return "RSTO"
    if os_ is ZeekEndpoint.CLOSED and rs is ZeekEndpoint.CLOSED:
        return "SF"
    if os_ is ZeekEndpoint.CLOSED:
        return "SH" if r_inactive else "S2"
    if rs is ZeekEndpoint.CLOSED:
        return "SHR" if o_inactive else "S3"
    if os_ is ZeekEndpoint.SYN_SENT and rs is ZeekEndpoint.INACTIVE:
        return "S0"
    if os_ is ZeekEndpoint.ESTABLISHED and rs is ZeekEndpoint.ESTABLISHED:
        return "S1"
    return "OTH"


def uid(input_name: str, connection: int) -> str:
    """A Zeek-shaped connection uid, stable for the same capture path and connection id."""
    number = int.from_bytes(hashlib.sha256(f"{input_name}\0{connection}".encode()).digest()[:13])
    digits = []
    for _ in range(17):
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return "C" + "".join(digits)


def _row(conn: ConnectionSummary, capture_start: float) -> str:
    orig_h, orig_p = _split(conn.client)
    resp_h, resp_p = _split(conn.server)
    stats = conn.stats
    values = [
        f"{capture_start + conn.start:.6f}", uid(conn.input, conn.id), orig_h, orig_p,
        resp_h, resp_p, "tcp", UNSET, f"{conn.end - conn.start:.6f}",
    ]
    if stats is None:
        values += [UNSET] * (len(FIELDS) - len(values))
    else:
        c, s = stats.client, stats.server
        values += [
            str(c.bytes), str(s.bytes), conn_state(stats), UNSET, UNSET,
            str(c.missed_bytes + s.missed_bytes), history(stats) or UNSET, str(c.packets),
            UNSET, str(s.packets), UNSET, UNSET,
        ]
    values += [conn.client_profile or UNSET, conn.server_profile or UNSET]
    return "\t".join(values)


def _split(endpoint: str) -> tuple[str, str]:
    """``192.0.2.1:80`` or ``[2001:db8::1]:80`` to Zeek's address and port fields."""
    host, _, port = endpoint.rpartition(":")
    return host.strip("[]"), port


def _stamp(epoch: float) -> str:
    """Zeek's ``#open``/``#close`` format, in UTC; unset for a time no calendar holds (a
    damaged capture's record header can carry any 64-bit time)."""
    try:
        return time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(epoch))
    except (OverflowError, OSError, ValueError):
        return UNSET
