"""A SYN timer finding on a host that backs off exponentially points at --profile linux-legacy.

Linux 6.x keeps its first SYN timeouts linear (tcp_syn_linear_timeouts = 4: SYNs about 1 s
apart); older kernels, and most stacks, double every interval. Measured against the default
profile such a host gets rto-backoff-violation warnings that are the profile's mismatch, not
the host's fault: the finding says which profile fits. The captures are the real Linux SYN
retransmissions of captures/linux/syn-retries.pcap, retimed to the doubling schedule.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pcap_edit import with_times

from tcpcheck.checks.timer import LEGACY_HINT
from tcpcheck.engine import RuleSetup
from tcpcheck.pipeline import analyze_files
from tcpcheck.profiles import load_profile
from tcpcheck.result import Finding

SYN_RETRIES = Path(__file__).resolve().parent.parent / "captures" / "linux" / "syn-retries.pcap"
DOUBLING = {2: 1.0, 3: 3.0, 4: 7.0, 5: 15.0, 6: 31.0}
"""Frame -> seconds after the first SYN: Linux 3.x's 1, 3, 7, 15, 31 s."""
TIMER_RULES = frozenset({"rto-backoff-violation", "syn-retries-exceeded"})


def timer_findings(path: Path, profile: str) -> list[Finding]:
    result = analyze_files([str(path)], load_profile(profile), RuleSetup(rules=TIMER_RULES))
    return list(result.findings)


@pytest.fixture
def doubling(tmp_path: Path) -> Path:
    return with_times(SYN_RETRIES, tmp_path / "doubling.pcap", DOUBLING)


def test_syns_that_double_their_interval_suggest_linux_legacy_in_each_timer_warning(doubling):
    findings = timer_findings(doubling, "linux")
    assert [(f.rule, f.frame) for f in findings] == [
        ("rto-backoff-violation", 3), ("rto-backoff-violation", 4),
        ("rto-backoff-violation", 5), ("rto-backoff-violation", 6)]
    assert all(f.message.endswith(LEGACY_HINT) for f in findings)
    assert "--profile linux-legacy" in LEGACY_HINT


def test_the_suggested_profile_takes_the_same_syns_without_a_timer_finding(doubling):
    assert timer_findings(doubling, "linux-legacy") == []


def test_syns_off_every_schedule_get_the_warning_without_the_suggestion(tmp_path):
    erratic = with_times(SYN_RETRIES, tmp_path / "erratic.pcap",
                         {2: 1.0, 3: 1.3, 4: 1.6, 5: 6.0, 6: 6.3})
    findings = timer_findings(erratic, "linux")
    assert findings and all(f.rule == "rto-backoff-violation" for f in findings)
    assert not any(LEGACY_HINT in f.message for f in findings)


def test_an_interval_a_quarter_short_of_doubling_gets_no_suggestion(tmp_path):
    # 3 s where doubling gives 4 s: a Windows host's fixed 3 s timer, not an older Linux.
    windows_like = with_times(SYN_RETRIES, tmp_path / "three.pcap",
                              {2: 1.0, 3: 2.0, 4: 5.0, 5: 6.0, 6: 7.0})
    findings = timer_findings(windows_like, "linux")
    assert ("rto-backoff-violation", 4) in [(f.rule, f.frame) for f in findings]
    assert not any(LEGACY_HINT in f.message for f in findings)


def test_a_profile_that_already_doubles_never_suggests_another(tmp_path):
    # bsd doubles from the first timeout too: a finding under it is about the host.
    fast = with_times(SYN_RETRIES, tmp_path / "fast.pcap",
                      {2: 1.0, 3: 2.0, 4: 3.0, 5: 4.0, 6: 5.0})
    findings = timer_findings(fast, "linux-legacy")
    assert findings and not any(LEGACY_HINT in f.message for f in findings)


def test_giving_up_late_on_the_doubling_schedule_suggests_linux_legacy(tmp_path, doubling):
    # A linear-timeout profile with a count budget gives up after 9 s; the doubling host
    # sends its fifth SYN at 15 s.
    short = tmp_path / "short.toml"
    short.write_text('base = "linux"\nsyn_budget = "count"\nsyn_retries = 1\n')
    [finding] = [f for f in timer_findings(doubling, str(short))
                 if f.rule == "syn-retries-exceeded"]
    assert finding.frame == 5
    assert finding.message.endswith(LEGACY_HINT)
