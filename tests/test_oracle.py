"""Agreement with the field: captures from other projects' public test suites.

The captures and what those suites expect live in ../shared/oracle/dev (beside the project).
Every one must analyse without a crash; where the field reads a capture as healthy or as
capture loss, tcpcheck must not report an error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tcpcheck.pipeline import analyze_files
from tcpcheck.profiles import load_profile

ORACLE = Path(__file__).resolve().parent.parent.parent / "shared" / "oracle" / "dev"
# Every capture, whatever its format: a case is a capture beside its .expect.json.
CAPTURES = (sorted(p for p in ORACLE.iterdir() if p.suffix in (".pcap", ".pcapng"))
            if ORACLE.is_dir() else [])

# Captures whose expectations say the traffic is healthy or only shows capture artefacts.
NO_ERRORS = {
    "arkime__no-syn-ack",  # the SYN-ACK is missing from the capture: capture loss
    "arkime__tcp-reassembly-synthetic",  # tuple reuse with an ISN beyond the old space; late SYN
    "pcapplusplus__unidirectional_tcp_stream_with_missing_packet",
    "suricata-verify__bug-3286-01-no-evasion",
    "suricata-verify__bug-3286-02-linux-evasion",  # injected FIN in SYN-SENT is dropped
    "suricata-verify__tcp-async-01",  # one direction captured
    "suricata-verify__tcp-fastopen-01",
    "zeek__tcp-missing-syn",
}


@pytest.mark.skipif(not CAPTURES, reason="../shared/oracle/dev not present")
@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.stem)
def test_field_capture_is_analysed_without_a_crash(path):
    result = analyze_files([str(path)], load_profile("linux"))
    assert result.captures[0].packets > 0
    if path.stem in NO_ERRORS:
        errors = [(f.rule, f.frame, f.message) for f in result.findings
                  if f.severity.label == "error"]
        assert errors == []
