"""The next step after a finding: the commands that take a reader to its frame.

Every finding names one frame of one connection, and every report says how to look at it:

- a Wireshark display filter that selects exactly that frame of that connection, for
  Wireshark's filter bar or ``tshark -Y``: the connection's four-tuple and
  ``frame.number == F``. Not ``tcp.stream eq N``: tcpcheck's connection ids part from
  Wireshark's stream indices where RFC 9293 sees a new incarnation of a four-tuple and Wireshark
  does not (README, "Frame numbers and connection ids"), while the four-tuple and the frame
  number mean the same to both. The four-tuple also makes the filter select nothing, rather
  than an unrelated packet, when it is run on another capture;
- ``tshark -r FILE -Y FILTER``, that filter run on the capture;
- ``tcpcheck show FILE --frame F``, the connection drawn as a ladder with the frame marked.

The commands name the capture as the user gave it (a relative path stays relative), quoted for
a POSIX shell. A capture read from standard input, a pipe or a live interface has no file to
read again: it gets no command, and ``NextStep.unavailable`` says why.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Collection, Iterator
from typing import NamedTuple

from tcpcheck.result import ConnectionKey, ConnectionSummary, Finding

STDIN_NAMES = frozenset({"-", "/dev/stdin"})
"""Input names that mean standard input."""

_DESCRIPTOR = re.compile(r"/(?:dev/fd|proc/self/fd|proc/\d+/fd)/\d+")
"""A file descriptor by name: a shell's process substitution ``<(...)`` or a pipe, read once."""

LIVE_PREFIX = "live:"
"""How ``tcpcheck sniff`` names its input (``live:eth0``)."""


class NextStep(NamedTuple):
    """How to look at a finding's frame (a tuple: a report may make 100,000 of them)."""

    display_filter: str
    """A Wireshark display filter selecting exactly the finding's frame (``tshark -Y``)."""
    tshark: str | None
    """``tshark -r FILE -Y FILTER``; None when the capture is no file to read again."""
    show: str | None
    """``tcpcheck show FILE --frame F``; None when the capture is no file to read again."""
    unavailable: str = ""
    """Why there are no commands, as a sentence that says what to do instead; empty when
    there are."""

    def lines(self) -> tuple[tuple[str, str], tuple[str, str]]:
        """What a text report prints, as ``(label, text)``: ``look`` (the tshark command) and
        ``show``; or, with no file to run them on, ``filter`` and why there is no command."""
        if self.tshark is None or self.show is None:
            return ("filter", self.display_filter), ("show", self.unavailable)
        return ("look", self.tshark), ("show", self.show)


def connection_filter(client: str, server: str) -> str:
    """A display filter for a connection's four-tuple, from its ``ip:port`` endpoints
    (``[addr]:port`` for IPv6)."""
    return f"{_endpoint_filter(client)} && {_endpoint_filter(server)}"


def frame_filter(connection: str, frame: int) -> str:
    """``connection`` (a ``connection_filter``; empty: none known) narrowed to ``frame``."""
    return f"{_filter_head(connection)}{frame}"


def show_command(path: str, frame: int) -> str:
    """``tcpcheck show PATH --frame F``, quoted for a POSIX shell."""
    return f"{show_prefix(path)} --frame {frame}"


def show_prefix(path: str) -> str:
    """``tcpcheck show PATH``: ``show_command`` up to the frame option."""
    return f"tcpcheck show {_shell_path(path)}"


def unreadable(path: str) -> str:
    """Why the capture ``path`` cannot be read a second time and what to do instead, or ``""``
    when it can: standard input, a pipe named by its file descriptor and a live capture are
    read once."""
    if path in STDIN_NAMES:
        return "none, the capture came from standard input (save it to a file to look again)"
    if _DESCRIPTOR.fullmatch(path):
        return "none, the capture came from a pipe (save it to a file to look again)"
    if path.startswith(LIVE_PREFIX):
        return "none, the capture was live (analyze the file sniff --write saved to look again)"
    return ""


class _Heads(NamedTuple):
    """A connection's next steps up to the frame number, which ends each of them."""

    filter: str
    tshark: str
    """Without the closing quote."""
    show: str
    unavailable: str


class NextSteps:
    """The next steps of a result's findings.

    A JSON report of a lossy capture has tens of thousands of findings, so everything but
    the frame number is made once per connection: the four-tuple filter, the quoted path,
    whether the capture can be read again.

    ``in_order``: the findings will be asked about in the order of ``connections`` (as a
    result keeps both), so the connections are read along with them, one at a time, and
    nothing is kept per connection: for a result too big to hold (``tcpcheck.spill``).
    """

    def __init__(self, connections: Collection[ConnectionSummary], *,
                 in_order: bool = False) -> None:
        self._rows: InOrder | None = None
        self._filters: dict[ConnectionKey, str] = {}
        if in_order:
            self._rows = InOrder(connections)
        else:
            self._filters = {(c.input, c.id): connection_filter(c.client, c.server)
                             for c in connections}
        self._heads: dict[tuple[str, ConnectionKey], _Heads] = {}

    def of(self, finding: Finding) -> NextStep:
        """The next step of ``finding`` (of one of the connections given), on the file and
        frame number the finding names."""
        # The connection's row may name another file of a stitched set than the finding.
        key = (finding.input, finding.connection_key)
        heads = self._heads.get(key)
        if heads is None:
            if self._rows is not None:
                self._heads.clear()  # in order: no finding of an earlier connection follows
            heads = self._heads[key] = self._make_heads(*key)
        frame = str(finding.frame)
        if heads.unavailable:
            return NextStep(heads.filter + frame, None, None, heads.unavailable)
        return NextStep(heads.filter + frame, f"{heads.tshark}{frame}'", heads.show + frame)

    def _make_heads(self, path: str, connection: ConnectionKey) -> _Heads:
        head = _filter_head(self._filter(connection))
        # Single quotes quote the filter exactly: it is addresses, ports, numbers and
        # operators, never a quote.
        return _Heads(head, f"tshark -r {_shell_path(path)} -Y '{head}",
                      f"{show_prefix(path)} --frame ", unreadable(path))


    def _filter(self, connection: ConnectionKey) -> str:
        """The connection's four-tuple filter; "" for a connection not given."""
        if self._rows is None:
            return self._filters.get(connection, "")
        row = self._rows.get(*connection)
        return "" if row is None else connection_filter(row.client, row.server)


class InOrder:
    """A result's connections looked up for its findings, in their order: read along with the
    findings, one at a time, rather than held in a table. Every finding's connection is
    listed, and both are ordered by capture, then connection id, so each look-up moves
    forward; one that does not (a stitched set's finding whose connection an earlier file
    names) reads the connections again from the start."""

    def __init__(self, connections: Collection[ConnectionSummary]) -> None:
        self._connections = connections
        self._rows: Iterator[ConnectionSummary] = iter(connections)
        self._last: ConnectionSummary | None = None

    def get(self, path: str, connection: int) -> ConnectionSummary | None:
        """The connection ``connection`` of capture ``path`` (None: not listed)."""
        last = self._last
        if last is not None and last.id == connection and last.input == path:
            return last
        for _ in range(2):
            for row in self._rows:
                if row.id == connection and row.input == path:
                    self._last = row
                    return row
            self._rows = iter(self._connections)
        return None


def _filter_head(connection: str) -> str:
    return f"{connection} && frame.number == " if connection else "frame.number == "


def _endpoint_filter(endpoint: str) -> str:
    address, _, port = endpoint.rpartition(":")
    if address.startswith("["):
        return f"ipv6.addr == {address[1:-1]} && tcp.port == {port}"
    return f"ip.addr == {address} && tcp.port == {port}"


def _shell_path(path: str) -> str:
    """``path`` as one shell word that no command takes for an option (``./-x.pcap``)."""
    return shlex.quote(f"./{path}" if path.startswith("-") else path)
