"""Per-connection statistics the model measures while it replays real Linux captures
(``tcpcheck.model.stats``): RTT samples under Karn's rule or timestamp echoes, unique bytes,
retransmissions, windows and time in zero window.

Each test reads the expected figure from the capture's own packets (timestamps, window
fields), or crafts a retransmission into a real capture with ``pcap_edit``.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from pcap_edit import records, write_pcap

from tcpcheck.model.stats import ConnectionStats
from tcpcheck.pipeline import analyze_files
from tcpcheck.profiles import load_profile

LINUX_CAPTURES = Path(__file__).resolve().parent.parent / "captures" / "linux"
TSVAL = 54 + 4  # Ethernet 14 + IPv4 20 + TCP 20, then NOP, NOP, kind 8, length 10
TSECR = TSVAL + 4


def stats_of(path: Path, connection: int = 0) -> ConnectionStats:
    result = analyze_files([str(path)], load_profile("linux"))
    conn = next(c for c in result.connections if c.id == connection)
    assert conn.stats is not None
    return conn.stats


def frame_time(path: Path, frame: int) -> int:
    """A frame's capture time in microseconds (the bundled captures are microsecond pcaps)."""
    rec, _ = records(path)[1][frame - 1]
    seconds, micros = struct.unpack_from("<II", rec)
    return seconds * 1_000_000 + micros


def with_resent_copy(src: Path, out: Path, frame: int, at_us: int, *, tsval: int | None = None,
                     echo: tuple[int, int] | None = None) -> Path:
    """``src`` with a retransmission of ``frame`` recorded right after it, ``at_us``
    microseconds after the first copy: another IP ID (as a stack's retransmission has, so it
    is no capture duplicate) and, with ``tsval``, that TSval. ``echo`` = (frame, TSecr)
    rewrites a later frame's timestamp echo."""
    head, recs = records(src)
    rec, data = recs[frame - 1]
    seconds, micros = struct.unpack_from("<II", rec)
    total = seconds * 1_000_000 + micros + at_us
    copy = bytearray(data)
    copy[18:20] = struct.pack("!H", (struct.unpack_from("!H", data, 18)[0] + 1) & 0xFFFF)
    if tsval is not None:
        copy[TSVAL:TSVAL + 4] = struct.pack("!I", tsval)
    edited = list(recs)
    if echo is not None:
        number, tsecr = echo
        rec_e, data_e = edited[number - 1]
        data_e = data_e[:TSECR] + struct.pack("!I", tsecr) + data_e[TSECR + 4:]
        edited[number - 1] = (rec_e, data_e)
    new_rec = struct.pack("<II", total // 1_000_000, total % 1_000_000) + rec[8:]
    edited.insert(frame, (new_rec, bytes(copy)))
    return write_pcap(out, head, edited)


def test_zero_window_time_runs_from_the_first_zero_window_to_the_window_update() -> None:
    # zero-window.pcap: the server advertises window 0 at frame 9 (again at 11 and 14) and
    # opens it at 15 when its application starts reading (captures/linux/README.md).
    path = LINUX_CAPTURES / "zero-window.pcap"
    stats = stats_of(path)
    closed_us = frame_time(path, 15) - frame_time(path, 9)
    assert round(stats.server.zero_window * 1e6) == closed_us
    assert stats.client.zero_window == 0.0
    assert stats.server.max_window == 2896  # SO_RCVBUF 4096: window scale 0, 2896 at most


def test_unique_bytes_count_holes_the_retransmissions_filled() -> None:
    # bulk-loss.pcap: 1,000,000 bytes through a lossy router; the capture point sits behind
    # the loss, so lost segments show up only as their retransmissions filling holes.
    stats = stats_of(LINUX_CAPTURES / "bulk-loss.pcap")
    assert stats.client.bytes == 1_000_000
    assert stats.server.bytes == 17
    assert stats.client.missed_bytes == 0
    assert stats.client.throughput == pytest.approx(stats.client.bytes / stats.duration)


def test_retransmissions_are_those_the_model_classified() -> None:
    # rto-backoff.pcap: the client's RTO retransmissions through a blackout.
    stats = stats_of(LINUX_CAPTURES / "rto-backoff.pcap")
    assert stats.client.retransmitted_segments == 59
    assert stats.client.retransmitted_bytes > 0
    assert stats.server.retransmitted_segments == 0


def test_one_rtt_sample_per_round_trip_each_way_with_syn_and_fin_timed() -> None:
    # close-client-first.pcap: each side's SYN, data and FIN are each acknowledged once.
    path = LINUX_CAPTURES / "close-client-first.pcap"
    stats = stats_of(path)
    assert stats.timestamps
    assert (stats.client.rtt_samples, stats.server.rtt_samples) == (3, 3)
    # The request (frame 4) is acknowledged by frame 5 at once; the client's FIN (8) by the
    # server's delayed ACK (9), the largest sample.
    assert round(stats.client.rtt_max * 1e6) == frame_time(path, 9) - frame_time(path, 8)


def test_resent_timed_segment_still_gives_a_sample_when_the_echo_names_the_first_copy(
        tmp_path: Path) -> None:
    # RFC 7323 §4: the ACK echoes the first copy's TSval, so it answers the first copy.
    src = LINUX_CAPTURES / "close-client-first.pcap"
    plain = stats_of(src)
    edited = with_resent_copy(src, tmp_path / "resent.pcap", 4, 10, tsval=2667958222)
    stats = stats_of(edited)
    assert stats.client.rtt_samples == plain.client.rtt_samples
    assert stats.client.rtt_min == plain.client.rtt_min
    assert stats.client.retransmitted_segments == 1


def test_resent_timed_segment_gives_no_sample_when_the_echo_names_the_retransmission(
        tmp_path: Path) -> None:
    # The ACK (frame 5, now 6) echoes the retransmission's TSval: it may answer either copy.
    src = LINUX_CAPTURES / "close-client-first.pcap"
    plain = stats_of(src)
    edited = with_resent_copy(src, tmp_path / "resent.pcap", 4, 10, tsval=2667958222,
                              echo=(5, 2667958222))
    stats = stats_of(edited)
    assert stats.client.rtt_samples == plain.client.rtt_samples - 1


def test_karn_retransmitted_segment_gives_no_sample_without_timestamps(tmp_path: Path) -> None:
    # no-timestamps.pcap: frame 4 (the first 1460 bytes) is timed and acknowledged by frame 5.
    # Resent before that ACK, RFC 6298 §3 (Karn) forbids the sample.
    src = LINUX_CAPTURES / "no-timestamps.pcap"
    plain = stats_of(src)
    assert not plain.timestamps
    stats = stats_of(with_resent_copy(src, tmp_path / "resent.pcap", 4, 3))
    assert stats.client.rtt_samples == plain.client.rtt_samples - 1
    assert stats.client.retransmitted_segments == plain.client.retransmitted_segments + 1


def test_handshake_only_connection_has_its_syn_and_reset() -> None:
    # refused.pcap: a SYN answered by RST: nothing timed is acknowledged.
    stats = stats_of(LINUX_CAPTURES / "refused.pcap")
    assert (stats.client.packets, stats.server.packets) == (1, 1)
    assert stats.client.rtt_samples == 0 and stats.client.rtt_mean is None
    assert [letter for _, letter in stats.client.history] == ["S"]
    assert [letter for _, letter in stats.server.history] == ["R"]
    assert stats.client.max_window is None  # no window after a handshake


def test_history_marks_each_kind_once_in_capture_order() -> None:
    stats = stats_of(LINUX_CAPTURES / "close-client-first.pcap")
    assert stats.client.history == ((1, "S"), (3, "A"), (4, "D"), (8, "F"))
    assert stats.server.history == ((2, "H"), (5, "A"), (6, "D"), (10, "F"))
