"""``--format zeek``: a Zeek conn.log of the model's statistics (tcpcheck/report/zeek.py).

Zeek is not installed here: the header is checked against Zeek's documented ``Conn::Info``
fields, and the whole file against one hand-checked against the capture's frames.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pcap_edit import without_frames

from tcpcheck.pipeline import analyze_files
from tcpcheck.profiles import load_profile
from tcpcheck.report.zeek import conn_state, history, render_zeek

ROOT = Path(__file__).resolve().parent.parent
LINUX_CAPTURES = ROOT / "captures" / "linux"

# Zeek's Conn::Info fields with &log, in the order its ASCII writer puts them, and their
# types (docs.zeek.org, scripts/base/protocols/conn/main.zeek, Zeek 7: the fields without a
# package that adds more, such as mac-logging or vlan-logging).
ZEEK_CONN_FIELDS = [
    ("ts", "time"), ("uid", "string"), ("id.orig_h", "addr"), ("id.orig_p", "port"),
    ("id.resp_h", "addr"), ("id.resp_p", "port"), ("proto", "enum"), ("service", "string"),
    ("duration", "interval"), ("orig_bytes", "count"), ("resp_bytes", "count"),
    ("conn_state", "string"), ("local_orig", "bool"), ("local_resp", "bool"),
    ("missed_bytes", "count"), ("history", "string"), ("orig_pkts", "count"),
    ("orig_ip_bytes", "count"), ("resp_pkts", "count"), ("resp_ip_bytes", "count"),
    ("tunnel_parents", "set[string]"),
]
# tcpcheck's, after Zeek's (as mac-logging appends orig_l2_addr and resp_l2_addr).
PROFILE_FIELDS = [("orig_profile", "string"), ("resp_profile", "string")]
ZEEK_CONN_STATES = {"S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH",
                    "SH", "SHR", "OTH"}


def zeek_log(path: Path) -> str:
    return render_zeek(analyze_files([str(path)], load_profile("linux")))


def stats_of(path: Path):
    return [c.stats for c in analyze_files([str(path)], load_profile("linux")).connections]


def test_header_is_zeeks_with_its_documented_fields_and_types() -> None:
    lines = zeek_log(LINUX_CAPTURES / "close-client-first.pcap").splitlines()
    assert lines[0] == "#separator \\x09"
    assert lines[1:5] == ["#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-",
                          "#path\tconn"]
    assert lines[5].startswith("#open\t")
    fields = dict(line.split("\t", 1) for line in lines[6:8])
    assert fields["#fields"].split("\t") == [name for name, _ in
                                              ZEEK_CONN_FIELDS + PROFILE_FIELDS]
    assert fields["#types"].split("\t") == [kind for _, kind in
                                             ZEEK_CONN_FIELDS + PROFILE_FIELDS]
    assert lines[-1].startswith("#close\t")
    row = lines[8].split("\t")
    assert len(row) == len(ZEEK_CONN_FIELDS) + len(PROFILE_FIELDS)
    assert row[-2:] == ["linux", "linux"]


def test_conn_log_of_ci_run_matches_the_hand_checked_file() -> None:
    # tests/golden/ci-run-1.conn.log was checked against captures/linux/README.md's frames:
    # two FIN closes (the client's FIN first, then the service's), the service's RST-ACK
    # after the response (RSTR), a refused SYN (REJ), and two more FIN closes.
    out = subprocess.run([sys.executable, "-m", "tcpcheck", "analyze",
                          "captures/linux/ci-run-1.pcap", "--format", "zeek"],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout == (ROOT / "tests" / "golden" / "ci-run-1.conn.log").read_text()


@pytest.mark.parametrize(("capture", "state", "letters"), [
    ("close-client-first", "SF", "ShADadFf"),
    ("close-server-first", "SF", "ShADadfF"),
    ("rst-abort", "RSTO", "ShADadR"),
    ("refused", "REJ", "Sr"),
    ("syn-retries", "S0", "S"),
    ("close-wait-stall", "SF", "ShADadFf"),
])
def test_conn_state_and_history_follow_zeeks_rules(capture: str, state: str,
                                                    letters: str) -> None:
    stats = stats_of(LINUX_CAPTURES / f"{capture}.pcap")[0]
    assert conn_state(stats) in ZEEK_CONN_STATES
    assert (conn_state(stats), history(stats)) == (state, letters)


def test_midstream_traffic_without_syn_or_fin_is_oth(tmp_path: Path) -> None:
    # close-client-first without its handshake (1-3) and its close (8-11): data and ACKs only.
    cut = without_frames(LINUX_CAPTURES / "close-client-first.pcap", tmp_path / "mid.pcap",
                         {1, 2, 3, 8, 9, 10, 11})
    stats = stats_of(cut)[0]
    assert (conn_state(stats), history(stats)) == ("OTH", "DadA")


def test_ipv6_addresses_are_written_without_brackets() -> None:
    row = zeek_log(LINUX_CAPTURES / "close-client-first-ipv6.pcap").splitlines()[8].split("\t")
    assert row[2] == "2001:db8::1" and row[4] == "2001:db8::2"
    assert row[3].isdigit() and row[5] == "8000"
