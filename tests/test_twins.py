"""One packet captured twice is one packet: a capture taken on both sides of a
sequence-rewriting firewall, and a whole trace repeated in one file, give the findings of one
copy plus one capture artefact; retransmissions stay retransmissions.

The captures are real Linux traffic (captures/linux/ci-run-1.pcap) edited by
scripts/craft_captures.py (``two_points``: the frames as a firewall that randomises the client's
sequence numbers forwards them, merged as mergecap does; ``capture_repeated``: the file twice),
bundled as captures/crafted/double-capture-point.pcap and capture-repeated.pcap; and two public
captures of ../shared/wild/dev that hold the same artefacts.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import dpkt
import pytest
from click.testing import CliRunner

from tcpcheck.artefacts import fold_artefacts
from tcpcheck.catalog import load_catalog
from tcpcheck.cli import main
from tcpcheck.decode import Decoder
from tcpcheck.pipeline import analyze_files
from tcpcheck.profiles import load_profile
from tcpcheck.segment import COPY_NONE, COPY_TWIN, Record
from tcpcheck.sources import open_capture
from tcpcheck.twins import Twins

ROOT = Path(__file__).resolve().parent.parent
CI_RUN = ROOT / "captures" / "linux" / "ci-run-1.pcap"
TWO_POINTS = ROOT / "captures" / "crafted" / "double-capture-point.pcap"
REPEATED = ROOT / "captures" / "crafted" / "capture-repeated.pcap"
WILD = ROOT.parent / "shared" / "wild" / "dev"
LINUX = load_profile("linux")
ARTEFACTS = {"double-capture-point", "capture-repeated"}


def _craft():
    """scripts/craft_captures.py as a module (``scripts/`` is not a package)."""
    spec = importlib.util.spec_from_file_location("craft_captures",
                                                  ROOT / "scripts" / "craft_captures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


craft = _craft()


def findings(path: Path):
    """The findings of ``path`` as a report shows them: artefacts folded per capture and host."""
    return fold_artefacts(analyze_files([str(path)], LINUX), load_catalog().artefacts()).findings


def protocol(found, renumber=lambda frame: frame):
    """(rule, connection, frame, side) of every finding but the twins' artefacts, frames
    numbered as ``renumber`` says."""
    return sorted((f.rule, f.connection, renumber(f.frame), f.side) for f in found
                  if f.rule not in ARTEFACTS)


@pytest.mark.skipif(shutil.which("mergecap") is None,
                    reason="mergecap not installed (make system-deps installs it with tshark)")
def test_a_capture_concatenated_with_itself_by_mergecap_is_the_bundled_repeat(tmp_path):
    doubled = tmp_path / "doubled.pcap"
    subprocess.run(["mergecap", "-a", "-F", "pcap", "-w", str(doubled), str(CI_RUN),
                    str(CI_RUN)], check=True)
    assert ([(f.rule, f.frame, f.message) for f in findings(doubled)]
            == [(f.rule, f.frame, f.message) for f in findings(REPEATED)])


@pytest.mark.parametrize(("path", "frame", "rule"), [(TWO_POINTS, 2, "double-capture-point"),
                                                     (REPEATED, 57, "capture-repeated")])
def test_the_set_aside_frames_are_drawn_in_their_connection_by_tcpcheck_show(path, frame, rule):
    shown = CliRunner().invoke(main, ["show", str(path), "--frame", str(frame)])
    assert shown.exit_code == 0, shown.output
    assert "connection 0" in shown.output and rule in shown.output


def records(path: Path) -> list[Record]:
    with open_capture(str(path)) as capture:
        return list(capture.records())


def where_in_two_points() -> dict[int, int]:
    """Frame numbers of the crafted two-point capture by ci-run-1's (copies under -n)."""
    return craft.two_points(craft.Capture(), CI_RUN)


def test_both_sides_of_a_sequence_randomising_firewall_give_the_original_findings_and_one_note():
    where = where_in_two_points()
    back = {new: old for old, new in where.items()}
    found = findings(TWO_POINTS)
    assert protocol(found, back.__getitem__) == protocol(findings(CI_RUN))
    [note] = [f for f in found if f.rule == "double-capture-point"]
    assert note.frame == where[1] and note.side == "client" and note.severity.label == "info"
    assert note.fold is not None and note.fold.connections == 6  # every connection of ci-run-1
    assert f"client's sequence numbers offset by {craft.TWIN_OFFSET:#010x}" in note.message
    assert "server's by 0x00000000" in note.message
    assert f"frame {where[1]} kept, frame {where[-1]} set aside" in note.message
    assert "TTL 64 kept and 63 set aside" in note.message


def test_ipv6_twins_pair_on_the_syns_offset_and_then_every_segment_that_keeps_it(tmp_path):
    # IPv6 has no IP ID: the SYNs, whose sequence numbers differ by the firewall's offset,
    # start the connection's twins; every later segment, pure ACKs included, pairs by showing
    # that same offset.
    source = ROOT / "captures" / "linux" / "close-client-first-ipv6.pcap"
    cap = craft.Capture()
    craft.two_points(cap, source, client="2001:db8::1")
    path = tmp_path / "ipv6-two-points.pcap"
    path.write_bytes(cap.pcap_bytes())
    found = findings(path)
    assert protocol(found) == protocol(findings(source)) == []
    [note] = [f for f in found if f.rule == "double-capture-point"]
    frames = len(records(source))
    assert note.message.startswith(f"{frames} packets were captured twice")


def write_point(path: Path, **point: bool) -> None:
    """One capture point's file of the crafted two-point capture, stamped as the bundled one."""
    cap = craft.Capture()
    craft.two_points(cap, CI_RUN, **point)
    with path.open("wb") as f:
        writer = dpkt.pcap.Writer(f, snaplen=craft.SNAPLEN, linktype=dpkt.pcap.DLT_EN10MB)
        for t_us, frame in cap.frames:
            writer.writepkt(frame, ts=craft.EPOCH + Decimal(t_us) / 1_000_000)


@pytest.mark.skipif(shutil.which("mergecap") is None,
                    reason="mergecap not installed (make system-deps installs it with tshark)")
def test_the_two_points_merged_by_mergecap_give_what_the_bundled_capture_gives(tmp_path):
    write_point(tmp_path / "inside.pcap", outside=False)
    write_point(tmp_path / "outside.pcap", inside=False)
    merged = tmp_path / "merged.pcap"
    subprocess.run(["mergecap", "-F", "pcap", "-w", str(merged), str(tmp_path / "inside.pcap"),
                    str(tmp_path / "outside.pcap")], check=True)
    assert ([(f.rule, f.frame, f.message) for f in findings(merged)]
            == [(f.rule, f.frame, f.message) for f in findings(TWO_POINTS)])


def test_a_trace_repeated_in_its_file_gives_the_original_findings_and_one_note():
    found = findings(REPEATED)
    original = findings(CI_RUN)
    assert protocol(found) == protocol(original)
    [note] = [f for f in found if f.rule == "capture-repeated"]
    frames = len(records(CI_RUN))
    assert note.frame == frames + 1
    assert "it is frame 1 again" in note.message
    assert not [f for f in found if f.frame > frames and f.rule != "capture-repeated"]


def marked(segments) -> list[tuple[int, int]]:
    """(frame, copy mark) of what ``Twins.filter`` passes on."""
    return [(seg.frame, seg.copy) for seg in Twins().filter(iter(segments))]


def retransmitted(ack_moved: int) -> list:
    """ci-run-1's request (frame 4) and a copy of it 100 µs later with the same IP ID, sequence
    number and payload, as a stack that keeps the IP ID of a retransmission sends it (fast,
    on a LAN), its ACK ``ack_moved`` bytes further."""
    segments = list(Decoder().segments(records(CI_RUN)))
    request = next(seg for seg in segments if seg.frame == 4)
    again = request._replace(frame=5, ts=request.ts + 100_000,
                             ack=(request.ack + ack_moved) & 0xFFFFFFFF)
    return [request, again]


@pytest.mark.parametrize("ack_moved", [0, 1448], ids=["same-ack", "newer-ack"])
def test_a_retransmission_with_the_same_ip_id_is_not_a_twin(ack_moved):
    assert marked(retransmitted(ack_moved)) == [(4, COPY_NONE), (5, COPY_NONE)]


def test_the_same_segment_with_a_shifted_sequence_number_is_a_twin():
    request, again = retransmitted(0)
    twin = again._replace(seq=(request.seq + craft.TWIN_OFFSET) & 0xFFFFFFFF)
    assert marked([request, twin]) == [(4, COPY_NONE), (5, COPY_TWIN)]


def test_the_same_payload_sent_again_close_by_under_one_ip_id_is_not_a_twin():
    # As in ../shared/oracle/dev/arkime__tcp-reassembly-synthetic.pcap (frames 40 and 41): a
    # crafted trace gives every packet IP ID 1 and repeats a 16-byte payload 16 bytes on.
    request, again = retransmitted(0)
    nearby = again._replace(seq=(request.seq + len(request.payload)) & 0xFFFFFFFF)
    assert marked([request, nearby]) == [(4, COPY_NONE), (5, COPY_NONE)]


def test_ip_id_zero_alone_never_makes_twins():
    request, again = retransmitted(0)
    header = request.header[:4] + b"\0\0" + request.header[6:]
    first = request._replace(header=header)
    shifted = again._replace(header=header, seq=(request.seq + craft.TWIN_OFFSET) & 0xFFFFFFFF)
    assert marked([first, shifted]) == [(4, COPY_NONE), (5, COPY_NONE)]


@pytest.mark.skipif(not WILD.is_dir(), reason="../shared/wild/dev not present")
def test_packet_c_taken_across_a_pix_is_one_note_and_no_protocol_finding():
    # Verified with tshark: 10.10.0.2's packets are there twice (inside MAC 00:00:00:00:00:00,
    # outside 00:17:c5:84:27:c2, same IP ID and payload, both numbers shifted), the other
    # hosts' once, with the outside numbers: the outside copies are the ones to follow. Main
    # gave 227 errors (seq-out-of-window, synack-bad-ack, synack-isn-changed, ack-unsent-data,
    # fin-seq-changed).
    found = findings(WILD / "pl__pcaps__packet-c.cap")
    assert not [f for f in found if f.severity.label in ("error", "warning")]
    [note] = [f for f in found if f.rule == "double-capture-point"]
    assert note.frame == 1 and note.fold is not None and note.fold.connections == 10
    assert "frame 2 kept, frame 1 set aside" in note.message
    assert "retransmission" not in {f.rule for f in found}


@pytest.mark.skipif(not WILD.is_dir(), reason="../shared/wild/dev not present")
def test_ftp_crack_repeated_whole_is_one_note_and_no_zero_second_retransmission():
    # Verified with tshark: frames 9866-19730 are frames 1-9865 again, byte for byte, time
    # stamps from 0 again. Main gave 705 rto-backoff-violation warnings ("0.000 s after frame
    # 2") and 3 more window-shrink; what stays is the first copy's (1 rto-backoff-violation,
    # 3 window-shrink) and, for the last three SYNs, whose repeat main took for their
    # retransmissions, their stale checksums (bad-checksum).
    found = findings(WILD / "ppa__ppa1e__ftp-crack.pcap")
    [note] = [f for f in found if f.rule == "capture-repeated"]
    assert note.frame == 9866
    assert not [f for f in found if f.frame >= 9866 and f.rule != "capture-repeated"]
    warnings = sorted((f.rule, f.frame) for f in found if f.severity.label == "warning")
    assert [rule for rule, _ in warnings].count("rto-backoff-violation") == 1
    assert [rule for rule, _ in warnings].count("window-shrink") == 3
    assert not [f for f in found if f.severity.label == "error"]
