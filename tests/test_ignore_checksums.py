"""--ignore-checksums (Zeek's -C): every segment is taken as intact, whatever its checksum."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pcap_edit import with_zero_checksums

from tcpcheck.decode import Decoder
from tcpcheck.segment import CSUM_UNCHECKED
from tcpcheck.sources import open_capture

ROOT = Path(__file__).resolve().parent.parent
CLOSE = ROOT / "captures" / "linux" / "close-client-first.pcap"


def tcpcheck(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tcpcheck", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def rules(*args: object) -> set[str]:
    done = tcpcheck("analyze", "--format", "json", *args)
    assert done.returncode in (0, 1), done.stderr
    return {f["rule"] for f in json.loads(done.stdout)["findings"]}


def test_a_decoder_that_ignores_checksums_judges_none():
    with open_capture(CLOSE) as capture:
        segments = list(Decoder(verify_checksums=False).segments(capture.records()))
    assert segments and {s.csum for s in segments} == {CSUM_UNCHECKED}


def test_a_sanitised_trace_with_zero_checksums_loses_no_segment_with_ignore_checksums(
        tmp_path):
    zeroed = with_zero_checksums(CLOSE, tmp_path / "sanitised.pcap")
    # Without the option the replies prove the checksums unusable (named once); with it,
    # every segment is intact from the start and nothing is said about checksums.
    assert rules(zeroed) == rules(CLOSE) - {"checksum-offload"} | {"unusable-checksum"}
    assert rules(zeroed, "--ignore-checksums") == rules(CLOSE) - {"checksum-offload"}


def test_show_takes_ignore_checksums_too(tmp_path):
    zeroed = with_zero_checksums(CLOSE, tmp_path / "sanitised.pcap")
    done = tcpcheck("show", zeroed, "--connection", "0", "--ignore-checksums", "--color",
                    "never")
    assert done.returncode == 0, done.stderr
    assert "bad-checksum" not in done.stdout and "TIME_WAIT" in done.stdout
