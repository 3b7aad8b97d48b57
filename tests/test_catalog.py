"""The rule catalog and profiles as data: complete, consistent, shipped with the package."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tcpcheck.catalog import CatalogError, load_catalog
from tcpcheck.checks import CHECKS
from tcpcheck.profiles import ProfileError, load_profile, profile_names

ROOT = Path(__file__).resolve().parent.parent
ISSUE_2_RULES = {
    "syn-isn-changed", "synack-isn-changed", "synack-bad-ack", "handshake-bad-ack",
    "missing-ack-flag", "invalid-flag-combination", "ack-unsent-data", "data-after-fin",
    "fin-seq-changed", "missing-time-wait", "time-wait-reuse", "retransmission", "half-open",
    "handshake-incomplete", "connection-reset", "ack-unseen-segment",
}


def test_catalog_holds_every_required_rule():
    assert {r.slug for r in load_catalog()} >= ISSUE_2_RULES


def test_every_check_has_catalog_metadata_and_every_rule_has_a_check():
    slugs = {r.slug for r in load_catalog()}
    checked = {c.slug for c in CHECKS}
    assert checked == slugs


def test_codes_are_unique_and_name_their_area():
    rules = list(load_catalog())
    assert len({r.code for r in rules}) == len(rules)
    for rule in rules:
        assert re.fullmatch(r"[A-Z]{2}\d{3}", rule.code)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.slug)


def test_every_rule_explains_itself_with_a_reference():
    for rule in load_catalog():
        assert rule.summary and rule.what and rule.why and rule.causes
        assert "RFC" in rule.reference or "Capture" in rule.reference


def test_example_captures_exist():
    for rule in load_catalog():
        if rule.example:
            assert (ROOT / rule.example).is_file(), rule.example


def test_lookup_by_slug_or_code():
    catalog = load_catalog()
    assert catalog.get("HS001").slug == "syn-isn-changed"
    assert catalog.get("syn-isn-changed").code == "HS001"
    with pytest.raises(CatalogError):
        catalog.get("no-such-rule")


def test_bundled_profiles_load_with_their_time_wait():
    assert {"linux", "rfc9293"} <= set(profile_names())
    assert load_profile("linux").time_wait == 60
    assert load_profile("rfc9293").time_wait == 240


def test_linux_syn_schedule_counts_the_linear_timeouts():
    linux = load_profile("linux")
    assert linux.syn_schedule()[:7] == (1, 1, 1, 1, 1, 2, 4)
    assert linux.max_syn_transmissions == 11


def test_profile_file_overrides_a_base_profile(tmp_path):
    path = tmp_path / "short.toml"
    path.write_text('base = "linux"\ntime_wait = 15.0\n')
    profile = load_profile(str(path))
    assert profile.time_wait == 15 and profile.syn_retries == 6 and profile.name == "short"


def test_profile_file_with_an_unknown_key_is_an_error(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text("time_wiat = 15.0\n")
    with pytest.raises(ProfileError, match="time_wiat"):
        load_profile(str(path))


def test_wheel_ships_the_catalog_and_profiles(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True, timeout=300)
    (wheel,) = tmp_path.glob("tcpcheck-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "tcpcheck/_catalog/catalog/syn-isn-changed.toml" in names
    assert "tcpcheck/_catalog/profiles/linux.toml" in names


ISSUE_3_RULES = {
    "data-beyond-window", "seq-out-of-window", "window-shrink", "option-not-negotiated",
    "paws-timestamp-regression", "synack-options-unsolicited", "rst-out-of-window",
    "data-after-rst", "retransmission-data-mismatch", "close-wait-stall", "fin-wait-2-timeout",
    "syn-retries-exceeded", "synack-retries-exceeded", "rto-backoff-violation",
    "duplicate-ack", "out-of-order", "zero-window", "zero-window-probe", "keepalive",
    "fast-retransmission", "spurious-retransmission", "isn-weak",
}


def test_catalog_holds_every_rule_the_conformance_catalog_names():
    assert {r.slug for r in load_catalog()} >= ISSUE_3_RULES


def test_readme_lists_every_rule_with_its_code_and_severity():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for rule in load_catalog():
        assert f"| {rule.code} | `{rule.slug}` | {rule.severity.label} |" in readme, rule.slug


@pytest.mark.parametrize(("name", "suggestion"), [
    ("data-beyond-windw", "data-beyond-window"),
    ("syn-isn-chnaged", "syn-isn-changed"),
    ("hs01", "HS001"),
])
def test_an_unknown_rule_name_that_is_a_slip_suggests_the_rule_meant(name, suggestion):
    with pytest.raises(CatalogError) as error:
        load_catalog().get(name)
    assert str(error.value) == (f"unknown rule {name!r} (did you mean {suggestion!r}? "
                                "see `tcpcheck rules`)")


def test_an_unknown_rule_name_far_from_every_rule_suggests_nothing():
    with pytest.raises(CatalogError) as error:
        load_catalog().get("zzzzzz")
    assert str(error.value) == "unknown rule 'zzzzzz' (see `tcpcheck rules`)"
