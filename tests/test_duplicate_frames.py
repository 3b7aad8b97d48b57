"""Exact duplicate frames (a mirror port's copies) are one capture-artefact note per run of
copies, never fed to the model; real retransmissions and identical replies stay what they are.

The captures here are real Linux traffic from captures/linux with some frames copied exactly,
1 µs (or, where said, longer) behind their original, as a SPAN port delivers them.
"""

from __future__ import annotations

from pathlib import Path

import dpkt
import pytest

from tcpcheck.decode import Decoder
from tcpcheck.duplicates import RECENT, RecentFrames
from tcpcheck.pipeline import analyze_files
from tcpcheck.profiles import load_profile

ROOT = Path(__file__).resolve().parent.parent
LINUX_CAPTURES = ROOT / "captures" / "linux"
ORACLE = ROOT.parent / "shared" / "oracle" / "dev"
LINUX = load_profile("linux")


def read(path: Path) -> list[tuple[int, bytes]]:
    """(timestamp in µs, frame) of every record of a microsecond pcap."""
    with path.open("rb") as f:
        return [(round(ts * 1_000_000), bytes(buf)) for ts, buf in dpkt.pcap.Reader(f)]


def mirrored(source: Path, out: Path, copied: set[int], delay_us: int = 1) -> dict[int, int]:
    """Write ``source`` to ``out`` with an exact copy of each frame in ``copied`` ``delay_us``
    after it, in time order. Returns the new frame number of every original frame (the copy
    of frame n under -n)."""
    records = [(t, n, n, buf) for n, (t, buf) in enumerate(read(source), 1)]
    # A copy goes right behind its original, before later frames stamped the same µs.
    records += [(records[n - 1][0] + delay_us, n + 0.5, -n, records[n - 1][3])
                for n in copied]
    records.sort(key=lambda r: r[:2])
    with out.open("wb") as f:
        writer = dpkt.pcap.Writer(f, snaplen=262144, linktype=dpkt.pcap.DLT_EN10MB)
        for t, _, _, buf in records:
            writer.writepkt(buf, ts=t / 1_000_000)
    return {n: i for i, (_, _, n, _) in enumerate(records, 1)}


def findings(path: Path) -> list[tuple[str, int, int]]:
    """(rule, connection, frame) of every finding."""
    return sorted((f.rule, f.connection, f.frame)
                  for f in analyze_files([str(path)], LINUX).findings)


def without_copies(found: list[tuple[str, int, int]], where: dict[int, int]):
    """The findings other than duplicate-frame, with frames numbered as in the original."""
    back = {new: old for old, new in where.items()}
    return sorted((rule, conn, back[frame]) for rule, conn, frame in found
                  if rule != "duplicate-frame")


def test_copies_in_a_lossy_bulk_transfer_change_no_finding_but_add_a_note_each(tmp_path):
    # Every 40th frame of bulk-loss copied: data, SACKs, retransmissions, the close.
    source = LINUX_CAPTURES / "bulk-loss.pcap"
    copied = set(range(3, 1312, 40))
    where = mirrored(source, tmp_path / "mirrored.pcap", copied)
    found = findings(tmp_path / "mirrored.pcap")
    assert without_copies(found, where) == findings(source)
    assert [f for f in found if f[0] == "duplicate-frame"] == sorted(
        ("duplicate-frame", 0, where[-n]) for n in copied)


def test_copies_of_segments_in_a_row_are_one_note_counting_each_side(tmp_path):
    # Frames 1-4 (SYN, SYN-ACK, ACK, request) copied one after the other, then 6 alone.
    source = LINUX_CAPTURES / "close-client-first.pcap"
    where = mirrored(source, tmp_path / "mirrored.pcap", {1, 2, 3, 4, 6})
    result = analyze_files([str(tmp_path / "mirrored.pcap")], LINUX)
    run, single = [f for f in result.findings if f.rule == "duplicate-frame"]
    assert (run.frame, run.side, run.severity.label) == (where[-1], "client", "info")
    assert "4 frames were captured twice" in run.message
    assert "client 3, server 1" in run.message
    assert single.frame == where[-6] and "1 frame was captured twice" in single.message


def test_copies_stay_packets_of_their_connection_and_change_no_state(tmp_path):
    source = LINUX_CAPTURES / "close-client-first.pcap"
    mirrored(source, tmp_path / "mirrored.pcap", {1, 2, 3, 4, 6})
    conn = analyze_files([str(tmp_path / "mirrored.pcap")], LINUX).connections[0]
    original = analyze_files([str(source)], LINUX).connections[0]
    assert conn.packets == original.packets + 5
    assert (conn.client_state, conn.server_state) == (original.client_state,
                                                      original.server_state)


def test_an_ipv6_copy_is_a_duplicate_frame_though_ipv6_has_no_ip_id(tmp_path):
    source = LINUX_CAPTURES / "close-client-first-ipv6.pcap"
    where = mirrored(source, tmp_path / "mirrored.pcap", {4, 5})
    found = findings(tmp_path / "mirrored.pcap")
    assert without_copies(found, where) == findings(source)
    assert [f for f in found if f[0] == "duplicate-frame"] == [
        ("duplicate-frame", 0, where[-4])]


def test_a_repeat_2_ms_later_is_a_retransmission_not_a_copy(tmp_path):
    # Linux gives every packet a new IP ID, so only a capture repeats one: but 2 ms is
    # beyond the 1 ms in which a copy follows its original, so the model sees it.
    source = LINUX_CAPTURES / "close-client-first.pcap"
    where = mirrored(source, tmp_path / "late.pcap", {4}, delay_us=2000)
    found = findings(tmp_path / "late.pcap")
    assert [f for f in found if f[2] == where[-4]] in (
        [("retransmission", 0, where[-4])], [("spurious-retransmission", 0, where[-4])])
    assert not [f for f in found if f[0] == "duplicate-frame"]


def test_healthy_retransmissions_of_bulk_loss_are_not_duplicate_frames():
    found = findings(LINUX_CAPTURES / "bulk-loss.pcap")
    assert [f for f in found if f[0] == "retransmission"]
    assert not [f for f in found if f[0] == "duplicate-frame"]


@pytest.mark.parametrize("name", ["synack-loss", "no-wscale"])
def test_identical_synacks_answering_a_retransmitted_syn_are_both_sent(name):
    # Frames 3 and 5 are byte for byte the same (IP ID 0, same TSval), 0.09 ms apart: the
    # server's timer fired, then the client's retransmitted SYN (frame 4) drew another.
    found = findings(LINUX_CAPTURES / f"{name}.pcap")
    assert not [f for f in found if f[0] == "duplicate-frame"]
    assert ("retransmission", 0, 5) in found


@pytest.mark.skipif(not ORACLE.is_dir(), reason="../shared/oracle/dev not present")
def test_identical_rsts_answering_several_segments_are_not_copies():
    # A macOS client with no connection answers the server's segments 24-26 with RSTs of IP
    # ID 0 and seq = their ACK: frames 28 and 29 are identical, 58 µs apart, both sent.
    path = ORACLE / "suricata-verify__tcp-fastopen-11-reject-syn-data.pcap"
    assert not [f for f in findings(path) if f[0] == "duplicate-frame"]


@pytest.mark.skipif(not ORACLE.is_dir(), reason="../shared/oracle/dev not present")
def test_zeeks_quadrupled_ssh_frames_are_one_run_of_copies_not_retransmissions():
    # Every frame of this trace is there four times, with the same timestamp and IP ID.
    found = findings(ORACLE / "zeek__tcp-ssh-dups.pcap")
    assert not [f for f in found if f[0] in ("retransmission", "duplicate-ack",
                                             "fast-retransmission")]
    assert [f for f in found if f[0] == "duplicate-frame"] == [("duplicate-frame", 0, 5)]


def test_memory_holds_a_bounded_number_of_recent_frames():
    with (LINUX_CAPTURES / "bulk-loss.pcap").open("rb") as f:
        records = [(n, int(ts * 1e9), 1, bytes(buf))
                   for n, (ts, buf) in enumerate(dpkt.pcap.Reader(f), 1)]
    decoder = Decoder()
    largest = 0
    for _ in decoder.segments(records):
        largest = max(largest, len(decoder.recent))
    assert len(records) > 2 * RECENT
    assert largest <= 2 * RECENT


def test_a_copy_captured_at_time_zero_is_still_a_copy():
    # A crafted or clock-less capture stamps frames at 0: the time is a time, not "unknown".
    with (LINUX_CAPTURES / "bulk-loss.pcap").open("rb") as f:
        first = bytes(next(iter(dpkt.pcap.Reader(f)))[1])
    seg, copy = Decoder().segments([(1, 0, 1, first), (2, 0, 1, first)])
    assert not seg.copy
    assert copy.copy
    recent = RecentFrames()
    assert not recent.is_copy(seg)
    assert recent.is_copy(copy)
