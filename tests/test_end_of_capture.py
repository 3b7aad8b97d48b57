"""The end of a capture is not evidence: a handshake whose answer was due after the capture's
last segment is not judged (no ``half-open``, no ``handshake-incomplete``), while the same
handshake left unanswered as the capture goes on still is. A FIN or data the capture ends on
owes nothing either.

"Due" is one initial RTO after the first SYN (SYN-ACK): by then the capture shows the answer
or the sender's retransmission (RFC 6298 §2.1; ``tcpcheck.timers.answer_pending``). The
captures are real ones from captures/linux, cut (``pcap_edit.cut_after``), retimed or joined
as each test says.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pcap_edit import cut_after, joined, records, with_times, write_pcap
from test_jobs import sharded, whole

from tcpcheck.pipeline import analyze_capture, analyze_set
from tcpcheck.profiles import load_profile
from tcpcheck.shards import shard_of
from tcpcheck.stitched import CaptureSet

LINUX = Path(__file__).resolve().parent.parent / "captures" / "linux"
# A SYN to a port whose SYNs are dropped: retransmitted at +1.03, 2.05, 3.07, 4.10, 5.12 s.
SYN_RETRIES = LINUX / "syn-retries.pcap"
# 1 SYN, 2 SYN-ACK (lost after the tap), 3 its retransmission at +1.029 s, then the rest.
SYNACK_LOSS = LINUX / "synack-loss.pcap"
# 1-3 handshake, 4 request, 6 response, 8 the client's FIN, 9-11 the rest of the close.
CLOSE = LINUX / "close-client-first.pcap"


def findings(path: Path) -> list[tuple[str, int, int]]:
    """(rule, connection, frame) of every finding, as one process reports them."""
    _, analyzer = analyze_capture(str(path), load_profile("linux"))
    return sorted((f.rule, f.connection, f.frame) for f in analyzer.findings)


def test_a_syn_the_capture_ends_on_is_not_half_open(tmp_path):
    assert findings(cut_after(SYN_RETRIES, tmp_path / "syn.pcap", 1)) == []


def test_the_same_syn_left_unanswered_while_the_capture_goes_on_is_half_open(tmp_path):
    # Cut after the third retransmission, 3.07 s on: the first SYN's answer was due at 1 s.
    cut = cut_after(SYN_RETRIES, tmp_path / "syn-3s.pcap", 4)
    assert [f for f in findings(cut) if f[0] != "retransmission"] == [("half-open", 0, 1)]


@pytest.mark.parametrize(("last", "judged"), [(1.0, True), (0.999999, False)])
def test_half_open_is_judged_from_one_initial_rto_after_the_first_syn(tmp_path, last, judged):
    # The SYN and its first retransmission only, the retransmission (the capture's last
    # packet) moved to exactly the linux profile's initial RTO, or a microsecond before it.
    cut = with_times(cut_after(SYN_RETRIES, tmp_path / "two.pcap", 2), tmp_path / "at.pcap",
                     {2: last})
    assert (("half-open", 0, 1) in findings(cut)) is judged


def test_a_syn_ack_the_capture_ends_on_is_not_an_incomplete_handshake(tmp_path):
    assert findings(cut_after(SYNACK_LOSS, tmp_path / "synack.pcap", 2)) == []


def test_the_same_syn_ack_unacknowledged_while_the_capture_goes_on_is_incomplete(tmp_path):
    # Cut after the server's timer resent it (frame 3, +1.029 s): its ACK was due by then.
    cut = cut_after(SYNACK_LOSS, tmp_path / "synack-1s.pcap", 3)
    assert [f for f in findings(cut) if f[0] != "retransmission"] == [
        ("handshake-incomplete", 0, 2)]


@pytest.mark.parametrize("last", [4, 6, 8], ids=["request", "response", "fin"])
def test_data_or_a_fin_the_capture_ends_on_owes_no_ack_yet(tmp_path, last):
    cut = cut_after(CLOSE, tmp_path / "cut.pcap", last)
    assert findings(cut) == [("capture-ended-midstream", 0, last)]


def joined_capture(tmp_path: Path) -> Path:
    """A lone SYN (frame 1), then 2.5 s later another whole connection (frames 2-12)."""
    return joined(tmp_path / "joined.pcap", cut_after(SYN_RETRIES, tmp_path / "syn.pcap", 1),
                  CLOSE, after=2.5)


def test_the_end_is_the_whole_capture_s_last_segment_not_the_connection_s(tmp_path):
    assert findings(joined_capture(tmp_path)) == [("half-open", 0, 1)]


def test_every_shard_ends_the_capture_where_one_process_does(tmp_path):
    path = joined_capture(tmp_path)
    # Shards that put the SYN and the later connection in different processes, so the SYN's
    # shard sees none of the segments that show the capture went on.
    count = next(n for n in range(2, 9) if shard_of(
        bytes([192, 0, 2, 1]) + (55310).to_bytes(2, "big"),
        bytes([192, 0, 2, 2]) + (8000).to_bytes(2, "big"), n) != shard_of(
        bytes([192, 0, 2, 1]) + (55264).to_bytes(2, "big"),
        bytes([192, 0, 2, 2]) + (8000).to_bytes(2, "big"), n))
    one, split = whole(path), sharded(path, count)
    assert [f.rule for f in one.findings] == ["half-open"]
    assert split.findings == one.findings


def test_with_stitch_the_end_is_the_last_file_s_last_segment(tmp_path):
    # The joined capture cut in two as a ring buffer would: the SYN alone ends the first file.
    head, recs = records(joined_capture(tmp_path))
    first = write_pcap(tmp_path / "ring-1.pcap", head, recs[:1])
    second = write_pcap(tmp_path / "ring-2.pcap", head, recs[1:])
    parts = analyze_set(CaptureSet((str(first), str(second))), load_profile("linux"))
    assert [[f.rule for f in part.findings] for _, part in parts] == [["half-open"], []]
    assert findings(first) == []  # that file alone ends on the SYN
