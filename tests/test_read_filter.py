"""--filter: a tcpdump expression keeps exactly the frames ``tcpdump -r FILE -w - EXPR`` keeps.

Every comparison runs the real tcpdump and the real libpcap on real captures (the bundled Linux
ones, and the same packets re-framed for each link layer tcpcheck reads): the frames tcpdump
writes out are mapped back to their frame numbers in the input, and must be the frames the read
filter yields, numbered as in the whole file.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import formats as F
import pytest
from pcap_edit import records

from tcpcheck.inputs import is_capture
from tcpcheck.pipeline import Job, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.readfilter import FilterError, ReadFilter
from tcpcheck.result import AnalysisResult, ConnectionSummary, Finding
from tcpcheck.sources import CaptureError, open_capture

ROOT = Path(__file__).resolve().parent.parent
LINUX = sorted((ROOT / "captures" / "linux").glob("*.pcap"))
IPV4 = ROOT / "captures" / "linux" / "ci-run-1.pcap"  # six connections, two server ports
IPV6 = ROOT / "captures" / "linux" / "close-client-first-ipv6.pcap"

pytestmark = pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is missing")

EXPRESSIONS = [
    "port 8000",
    "port 8081",
    "host 192.0.2.1 and tcp[tcpflags] & tcp-syn != 0",
    "ip6",
    "ip6 and src port 8000",
    "tcp[tcpflags] & (tcp-fin|tcp-rst) != 0",
    "src host 192.0.2.2 and greater 200",
    "net 198.51.100.0/28 and not port 8080",
]


def tcpdump_frames(path: Path, expression: str) -> set[int]:
    """The frame numbers (in ``path``) of the records ``tcpdump -r path -w - expression``
    writes: its output is a subsequence of the input, matched record by record on their bytes
    (a filter decides on the bytes alone, so equal records are kept or dropped together)."""
    out = subprocess.run(["tcpdump", "-r", str(path), "-w", "-", expression],
                         capture_output=True, check=True).stdout
    kept = _frames(out)
    frames, i = set(), 0
    with open_capture(path) as capture:
        for number, _, _, data in capture.records():
            if i < len(kept) and kept[i] == data:
                frames.add(number)
                i += 1
    assert i == len(kept), "tcpdump wrote a record that is not in its input"
    return frames


def _frames(pcap: bytes) -> list[bytes]:
    """Each record's bytes, from a little-endian classic pcap as tcpdump writes it here."""
    pos, frames = 24, []
    while pos < len(pcap):
        caplen = struct.unpack_from("<I", pcap, pos + 8)[0]
        frames.append(pcap[pos + 16:pos + 16 + caplen])
        pos += 16 + caplen
    return frames


def filtered_frames(path: Path, expression: str) -> set[int]:
    with ReadFilter(expression) as read_filter, open_capture(path) as capture:
        return {frame for frame, _, _, _ in read_filter.apply(capture)}


@pytest.mark.parametrize("expression", EXPRESSIONS)
@pytest.mark.parametrize("path", LINUX, ids=lambda p: p.stem)
def test_the_filter_keeps_the_frames_tcpdump_keeps_in_every_bundled_capture(path, expression):
    assert filtered_frames(path, expression) == tcpdump_frames(path, expression)


SHARED = ROOT.parent / "shared"
WILD = sorted(path for folder in ("wild/dev", "oracle/dev") for path in (SHARED / folder).glob("*")
              if not path.name.endswith((".json", ".md")) and is_capture(str(path)))
WILD_EXPRESSIONS = ["tcp[tcpflags] & tcp-syn != 0", "port 80", "ip6", "vlan and tcp",
                    "net 10.0.0.0/8 or net 192.168.0.0/16"]
REFUSED = "refused"


def tcpdump_outcome(path: Path, expression: str) -> set[int] | str:
    """tcpdump's frames, or REFUSED when tcpdump refuses the expression for this file."""
    check = subprocess.run(["tcpdump", "-r", str(path), "-c", "1", "-w", "/dev/null",
                            expression], capture_output=True)
    return REFUSED if check.returncode else tcpdump_frames(path, expression)


def filtered_outcome(path: Path, expression: str) -> set[int] | str:
    try:
        return filtered_frames(path, expression)
    except FilterError:
        return REFUSED


@pytest.mark.skipif(not WILD, reason="../shared/wild/dev and ../shared/oracle/dev not present")
@pytest.mark.parametrize("path", WILD, ids=lambda p: p.name)
def test_the_filter_keeps_the_frames_tcpdump_keeps_in_captures_from_the_wild(path):
    """pcapng files, Linux cooked and raw IP captures, VLANs, from many tools: wherever both
    tcpcheck and tcpdump read the file, they keep the same frames, or both refuse the
    expression for the file's link type ('vlan' on a Linux cooked capture)."""
    try:
        with open_capture(path):
            pass
    except CaptureError:  # a link type tcpcheck does not decode: nothing to compare
        pytest.skip("tcpcheck does not read this capture")
    for expression in WILD_EXPRESSIONS:
        assert filtered_outcome(path, expression) == tcpdump_outcome(path, expression), \
            expression


def test_the_comparison_can_tell_filters_apart():
    """The expressions above select different, non-empty sets somewhere: the agreement
    above is not two empty sets."""
    assert filtered_frames(IPV4, "port 8081") == {31, 32}
    assert 0 < len(filtered_frames(IPV4, EXPRESSIONS[2])) < len(records(IPV4)[1])
    assert filtered_frames(IPV6, "ip6") == set(range(1, len(records(IPV6)[1]) + 1))
    assert filtered_frames(IPV4, "ip6") == set()


def reframed(src: Path, link: str, out: Path, big_endian: bool = False) -> Path:
    """The packets of a real Ethernet capture, same timestamps, framed for another link layer
    (``formats.LINKS``: raw IP, Linux cooked v1/v2, BSD loopback, VLAN tags...), in a file of
    either byte order."""
    linktype, frame = F.LINKS[link]
    _, recs = records(src)
    packets = []
    for rec, eth in recs:
        sec, usec = int.from_bytes(rec[:4], "little"), int.from_bytes(rec[4:8], "little")
        packets.append((sec * 1_000_000_000 + usec * 1000, frame(eth[14:])))
    out.write_bytes(F.pcap(packets, linktype, big_endian=big_endian))
    return out


# libpcap on Linux does not know link type 14 (OpenBSD's DLT_RAW), so tcpdump cannot read it;
# it compiles no filter at all for the link types that prefix a direction byte (204-206) or for
# IP over InfiniBand (242), so tcpdump refuses every filter on them (as tcpcheck does, below).
UNFILTERABLE = ["ppp-with-dir", "chdlc-with-dir", "frelay-with-dir", "ipoib"]
LINKS = [link for link in F.LINKS if link != "raw-dlt14" and link not in UNFILTERABLE]
PORTABLE = ["port 8000", "host 192.0.2.1 and tcp[tcpflags] & tcp-syn != 0", "ip6",
            "ip and src port 8080"]


@pytest.mark.parametrize("expression", PORTABLE)
@pytest.mark.parametrize("big_endian", [False, True], ids=["le", "be"])
@pytest.mark.parametrize("link", LINKS)
@pytest.mark.parametrize("src", [IPV4, IPV6], ids=["ipv4", "ipv6"])
def test_the_filter_keeps_the_frames_tcpdump_keeps_on_every_link_type(tmp_path, src, link,
                                                                       big_endian, expression):
    """Both byte orders: a BSD loopback header's AF value is in the order of the host that
    wrote the file, and libpcap reads it that way (null-le in a big-endian file matches no
    'ip', as for tcpdump)."""
    path = reframed(src, link, tmp_path / f"{link}.pcap", big_endian)
    assert filtered_frames(path, expression) == tcpdump_frames(path, expression)


def test_one_filter_follows_the_byte_order_of_each_capture_it_reads(tmp_path):
    """BSD loopback in a little-endian file, then in a big-endian one, through one filter:
    the program compiled for the first file's order is not reused for the second."""
    little = reframed(IPV4, "null-le", tmp_path / "le.pcap")
    big = reframed(IPV4, "null-be", tmp_path / "be.pcap", big_endian=True)
    with ReadFilter("ip and port 8081") as read_filter:
        for path in (little, big):
            with open_capture(path) as capture:
                assert {r[0] for r in read_filter.apply(capture)} == {31, 32}


@pytest.mark.parametrize(("link", "expression"), [
    ("vlan", "vlan"), ("vlan", "vlan 100 and port 8080"), ("vlan", "vlan 101"),
    ("vlan", "port 8080"), ("qinq", "vlan 100 and vlan 101 and port 8081"),
    ("qinq", "vlan and ip"), ("ethernet", "vlan"),
])
def test_vlan_expressions_keep_the_frames_tcpdump_keeps(tmp_path, link, expression):
    path = reframed(IPV4, link, tmp_path / f"{link}.pcap")
    assert filtered_frames(path, expression) == tcpdump_frames(path, expression)


def test_vlan_tagged_frames_are_selected_by_their_tag(tmp_path):
    path = reframed(IPV4, "qinq", tmp_path / "qinq.pcap")
    assert filtered_frames(path, "vlan 100 and vlan 101 and port 8081") == {31, 32}


def test_raw_ip_on_openbsd_link_type_14_is_filtered_as_raw_ip(tmp_path):
    """Link type 14 is DLT_RAW on OpenBSD; the decoder reads it as raw IP and so does the
    filter, although Linux's libpcap (and tcpdump) do not know the number."""
    openbsd = reframed(IPV4, "raw-dlt14", tmp_path / "raw14.pcap")
    raw = reframed(IPV4, "raw", tmp_path / "raw.pcap")
    for expression in PORTABLE:
        assert filtered_frames(openbsd, expression) == tcpdump_frames(raw, expression)


def test_each_interface_of_a_pcapng_is_filtered_by_its_own_link_type(tmp_path):
    """An Ethernet interface and a Linux cooked one in one pcapng (tcpdump refuses such a file):
    each record is matched by the program compiled for its interface, and frame numbers run
    over the whole file."""
    ether, sll = reframed(IPV4, "ethernet", tmp_path / "e.pcap"), \
        reframed(IPV4, "sll", tmp_path / "s.pcap")
    _, recs = records(ether)
    _, sll_recs = records(sll)
    blocks = [F.shb(), F.idb(1), F.idb(113)]
    for iface, these in ((0, recs), (1, sll_recs)):
        for rec, frame in these:
            units = int.from_bytes(rec[:4], "little") * 1_000_000 + \
                int.from_bytes(rec[4:8], "little")
            blocks.append(F.epb(iface, units, frame))
    both = tmp_path / "both.pcapng"
    both.write_bytes(b"".join(blocks))
    expression = "host 192.0.2.1 and tcp[tcpflags] & tcp-syn != 0"
    n = len(recs)
    expected = tcpdump_frames(ether, expression) | {
        n + frame for frame in tcpdump_frames(sll, expression)}
    assert filtered_frames(both, expression) == expected
    assert any(frame > n for frame in expected)


def tcpdump_error(path: Path, expression: str) -> str:
    proc = subprocess.run(["tcpdump", "-r", str(path), "-w", "/dev/null", expression],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    return proc.stderr


def test_a_bad_expression_is_refused_with_libpcaps_message_as_tcpdump_prints_it():
    with pytest.raises(FilterError) as refused:
        ReadFilter("port 8000 and")
    message = str(refused.value)
    assert message == "invalid filter 'port 8000 and': can't parse filter expression: " \
                      "syntax error"
    assert message.split(": ", 1)[1] in tcpdump_error(IPV4, "port 8000 and")


def test_an_unknown_port_name_is_refused():
    with pytest.raises(FilterError, match="unknown port 'no-such-service'"):
        ReadFilter("port no-such-service")


def test_an_expression_with_a_nul_is_refused_rather_than_cut_short():
    with pytest.raises(FilterError, match="NUL"):
        ReadFilter("port 8000\0 or port 80")


def test_an_expression_the_link_type_cannot_answer_names_the_capture_and_link_type(tmp_path):
    """'vlan' is valid on Ethernet but not on Linux cooked captures: refused when the capture
    is opened, before any record is read, with libpcap's reason (tcpdump's too)."""
    sll = reframed(IPV4, "sll", tmp_path / "cooked.pcap")
    read_filter = ReadFilter("vlan")
    with open_capture(sll) as capture, pytest.raises(FilterError) as refused:
        read_filter.apply(capture)
    message = str(refused.value)
    assert message.startswith(f"{sll}: filter 'vlan' does not apply to link type 113 "
                              "(LINUX_SLL): ")
    assert message.rsplit(": ", 1)[1] in tcpdump_error(sll, "vlan")


@pytest.mark.parametrize("link", UNFILTERABLE)
def test_a_link_type_libpcap_cannot_filter_is_refused_as_tcpdump_refuses_it(tmp_path, link):
    path = reframed(IPV4, link, tmp_path / f"{link}.pcap")
    read_filter = ReadFilter("port 8000")
    with open_capture(path) as capture, pytest.raises(FilterError) as refused:
        read_filter.apply(capture)
    linktype = F.LINKS[link][0]
    message = str(refused.value)
    assert message.startswith(f"{path}: filter 'port 8000' does not apply to link type "
                              f"{linktype} ")
    assert message.rsplit(": ", 1)[1] in tcpdump_error(path, "port 8000")


@pytest.mark.parametrize("expression", ["inbound", "outbound and port 8080"])
def test_an_expression_only_some_link_types_answer_filters_captures_of_those(tmp_path,
                                                                            expression):
    """'inbound' means something on a Linux cooked capture (the packet type) and nothing on
    Ethernet read from a file: the expression is accepted, and applies where it can."""
    sll = reframed(IPV4, "sll", tmp_path / "cooked.pcap")
    assert filtered_frames(sll, expression) == tcpdump_frames(sll, expression)


def test_inbound_is_refused_on_a_file_as_tcpdump_r_refuses_it():
    with open_capture(IPV4) as capture, pytest.raises(FilterError, match="savefiles"):
        ReadFilter("inbound").apply(capture)


def test_records_of_a_link_type_tcpcheck_does_not_decode_pass_to_the_decoder(tmp_path):
    """DLT_USER0 (147) is not decoded, and libpcap cannot compile a port for it either: its
    records pass unfiltered, for the decoder to count as skipped as it does without a filter."""
    _, recs = records(IPV4)
    data = F.shb() + F.idb(1) + F.idb(147) + F.epb(0, 1, recs[0][1]) + \
        F.epb(1, 2, recs[1][1]) + F.epb(0, 3, recs[2][1])
    path = tmp_path / "mixed.pcapng"
    path.write_bytes(data)
    assert filtered_frames(path, "port 8080") == {1, 2, 3}
    assert filtered_frames(path, "port 9") == {2}


def test_a_closed_filter_cannot_be_applied():
    read_filter = ReadFilter("tcp")
    read_filter.close()
    with open_capture(IPV4) as capture, pytest.raises(ValueError, match="closed"):
        read_filter.apply(capture)


def tcpdump_kept(path: Path, expression: str, out: Path) -> tuple[Path, list[int]]:
    """tcpdump's filtered copy of ``path``, and the frame number in ``path`` of each of its
    frames (index 0 is its frame 1)."""
    subprocess.run(["tcpdump", "-r", str(path), "-w", str(out), expression],
                   capture_output=True, check=True)
    return out, sorted(tcpdump_frames(path, expression))


def analysis(path: Path, expression: str | None = None) -> AnalysisResult:
    job = Job(str(path), load_profile("linux"))
    if expression is None:
        return analyze_jobs([job])
    with ReadFilter(expression) as read_filter:
        return analyze_jobs([job], read_filter=read_filter)


@pytest.mark.parametrize(("name", "expression"), [
    ("ci-run-1", "port 8081"),
    ("ci-run-2", "host 192.0.2.1 and port 8080"),
    ("syn-flood", "net 198.51.100.0/28"),
    ("time-wait-reuse", "port 8000"),
    ("bulk-loss", "tcp"),
])
def test_analysing_with_a_filter_is_analysing_tcpdumps_output_with_the_files_frame_numbers(
        tmp_path, name, expression):
    """Connections and findings are those of an analysis of ``tcpdump -r F -w - EXPR``'s
    output, with every frame number that of the whole file and every time measured from the
    file's first frame, as Wireshark shows them."""
    path = ROOT / "captures" / "linux" / f"{name}.pcap"
    kept, original = tcpdump_kept(path, expression, tmp_path / "kept.pcap")
    ours, theirs = analysis(path, expression), analysis(kept)
    shift = theirs.captures[0].capture_start - ours.captures[0].capture_start
    assert ours.captures[0].packets == theirs.captures[0].packets == len(original)

    def connection(c: ConnectionSummary, frames: list[int] | None, offset: float) -> tuple:
        number = (lambda f: f) if frames is None else (lambda f: frames[f - 1])
        return (c.id, c.client, c.server, number(c.first_frame), number(c.last_frame),
                round(c.start + offset, 6), c.packets, c.client_bytes, c.server_bytes,
                c.client_state, c.server_state, c.close)

    def finding(f: Finding, frames: list[int] | None, offset: float) -> tuple:
        number = (lambda n: n) if frames is None else (lambda n: frames[n - 1])
        return (f.rule, f.severity, f.connection, number(f.frame), round(f.time + offset, 6),
                f.side, f.expected, f.observed)

    assert [connection(c, None, 0) for c in ours.connections] == \
        [connection(c, original, shift) for c in theirs.connections]
    assert [finding(f, None, 0) for f in ours.findings] == \
        [finding(f, original, shift) for f in theirs.findings]
    assert ours.connections


def test_a_filter_that_keeps_nothing_gives_an_empty_analysis():
    result = analysis(IPV4, "ip6")
    assert (result.captures[0].packets, result.connections, result.findings) == (0, (), ())
