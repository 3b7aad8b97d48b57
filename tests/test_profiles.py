"""Stack profiles: each bundled profile times SYNs and SYN-ACKs the way its stack does.

The expected schedules are the stacks' own (kernel sources, sysctl documentation, vendor
documentation cited in each profile's ``source``), written out here so that a change to a profile
or to the schedule arithmetic shows up as a changed number.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from tcpcheck import cli
from tcpcheck.profiles import (
    DEFAULT_PROFILE,
    MAX_BASES,
    PROFILE_FIELDS,
    Profile,
    ProfileError,
    load_profile,
    profile_names,
)

PROFILES = Path(__file__).resolve().parent.parent / "rules" / "profiles"
BUNDLED = ("bsd", "linux", "linux-legacy", "rfc9293", "windows")


def test_every_stack_has_a_bundled_profile_and_linux_is_the_default():
    assert set(profile_names()) >= set(BUNDLED)
    assert DEFAULT_PROFILE == "linux"


@pytest.mark.parametrize("name", BUNDLED)
def test_a_bundled_profile_is_named_after_its_file_and_cites_its_sources(name):
    profile = load_profile(name)
    assert profile.name == name
    assert profile.description and "\n" not in profile.description
    assert profile.source and "\n" not in profile.source


@pytest.mark.parametrize("name", BUNDLED)
def test_a_bundled_profile_sets_every_value_itself(name):
    """No profile silently inherits a Linux default from the dataclass (its stack signatures,
    the [[signature]] tables, are a list that may be empty)."""
    keys = tomllib.loads((PROFILES / f"{name}.toml").read_text(encoding="utf-8"))
    assert set(keys) - {"signature"} == set(Profile.__dataclass_fields__) - {"signatures"}


@pytest.mark.parametrize("name", BUNDLED)
def test_the_first_syn_retransmission_comes_one_initial_rto_after_the_syn(name):
    profile = load_profile(name)
    assert profile.syn_retransmit_times()[0] == profile.initial_rto
    assert profile.synack_retransmit_times()[0] == profile.initial_rto


@pytest.mark.parametrize("name", BUNDLED)
def test_keepalives_wait_at_least_two_hours_of_idleness(name):
    """RFC 9293 §3.8.4 (MUST-28) and RFC 1122 §4.2.3.6."""
    assert load_profile(name).keepalive_time >= 7200


def test_linux_gives_up_a_syn_after_ten_retransmissions_at_131_s():
    linux = load_profile("linux")
    assert linux.syn_retransmit_times() == (1, 2, 3, 4, 5, 7, 11, 19, 35, 67)
    assert linux.syn_give_up == 131
    assert linux.max_syn_transmissions == 11


def test_linux_retransmits_a_synack_five_times_and_drops_it_at_63_s():
    linux = load_profile("linux")
    assert linux.synack_retransmit_times() == (1, 3, 7, 15, 31)
    assert linux.synack_give_up == 63


def test_linux_legacy_retries_at_1_3_7_15_31_and_gives_up_at_63_s():
    legacy = load_profile("linux-legacy")
    assert legacy.syn_retransmit_times() == (1, 3, 7, 15, 31)
    assert legacy.syn_give_up == 63
    assert legacy.synack_retransmit_times() == (1, 3, 7, 15, 31)
    assert legacy.synack_give_up == 63


def test_linux_legacy_schedule_is_the_same_counted_or_timed():
    """With pure doubling, tcp_model_timeout's budget and a plain retry count agree."""
    legacy = load_profile("linux-legacy")
    counted = replace(legacy, syn_budget="count")
    assert counted.syn_retransmit_times() == legacy.syn_retransmit_times()
    assert counted.syn_give_up == legacy.syn_give_up


def test_rfc9293_retries_a_syn_for_at_least_three_minutes():
    """RFC 9293 §3.8.3: R2 for a SYN at least 3 minutes (MUST-23), RTO doubling up to 60 s."""
    rfc = load_profile("rfc9293")
    assert rfc.syn_retransmit_times() == (1, 3, 7, 15, 31, 63, 123)
    assert rfc.syn_give_up == 183 >= 180


def test_rfc9293_uses_the_rfc_6298_floor_and_never_times_out_fin_wait_2():
    rfc = load_profile("rfc9293")
    assert rfc.time_wait == 240 and rfc.rto_min == 1
    assert math.isinf(rfc.fin_timeout)


def test_windows_gives_up_a_syn_after_two_retransmissions_at_21_s():
    windows = load_profile("windows")
    assert windows.syn_retransmit_times() == (3, 9)
    assert windows.syn_give_up == 21
    assert windows.synack_retransmit_times() == (3, 9)
    assert windows.synack_give_up == 21


def test_windows_keeps_time_wait_two_minutes_and_probes_keepalives_every_second():
    windows = load_profile("windows")
    assert windows.time_wait == 120 and windows.rto_min == 0.3
    assert (windows.keepalive_time, windows.keepalive_intvl, windows.keepalive_probes) == \
        (7200, 1, 10)


def test_freebsd_doubles_syn_timeouts_and_retransmits_at_1_3_7_15_31_63_s():
    bsd = load_profile("bsd")
    assert bsd.syn_retransmit_times() == (1, 3, 7, 15, 31, 63)
    assert bsd.syn_give_up >= 75  # net.inet.tcp.keepinit ends the attempt at 75 s


def test_freebsd_syncache_retransmits_a_synack_three_times_and_drops_it_at_15_s():
    bsd = load_profile("bsd")
    assert bsd.synack_retransmit_times() == (1, 3, 7)
    assert bsd.synack_give_up == 15


def test_bsd_keeps_time_wait_for_2_msl_of_15_s_with_a_30_ms_rto_floor():
    bsd = load_profile("bsd")
    assert bsd.time_wait == 30 and bsd.rto_min == 0.03 and bsd.fin_timeout == 60
    assert (bsd.keepalive_time, bsd.keepalive_intvl, bsd.keepalive_probes) == (7200, 75, 8)


def test_a_profile_file_overrides_only_the_keys_it_sets_on_its_base(tmp_path):
    path = tmp_path / "win11.toml"
    path.write_text('base = "windows"\ninitial_rto = 1.0\nsyn_retries = 4\n')
    profile = load_profile(str(path))
    assert profile.name == "win11"
    assert profile.syn_retransmit_times() == (1, 3, 7, 15)
    assert profile.time_wait == 120 and profile.keepalive_probes == 10


def test_a_profile_file_may_name_itself(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('base = "bsd"\nname = "freebsd-tuned"\nfin_timeout = 10.0\n')
    profile = load_profile(str(path))
    assert profile.name == "freebsd-tuned" and profile.fin_timeout == 10


def test_a_profile_file_with_an_unknown_key_is_an_error_naming_the_key(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text('base = "linux"\nsyn_retires = 3\n')
    with pytest.raises(ProfileError, match="syn_retires"):
        load_profile(str(path))


def test_a_profile_file_with_a_bad_syn_budget_is_an_error(tmp_path):
    path = tmp_path / "budget.toml"
    path.write_text('syn_budget = "sometimes"\n')
    with pytest.raises(ProfileError, match="syn_budget"):
        load_profile(str(path))


def test_a_profile_file_on_an_unknown_base_is_an_error(tmp_path):
    path = tmp_path / "orphan.toml"
    path.write_text('base = "plan9"\n')
    with pytest.raises(ProfileError, match="plan9"):
        load_profile(str(path))


def test_an_unknown_profile_name_lists_the_bundled_ones():
    with pytest.raises(ProfileError) as info:
        load_profile("solaris")
    assert all(name in str(info.value) for name in BUNDLED)


def test_bsd_connect_deadline_ends_the_syn_attempt_at_75_s():
    bsd = load_profile("bsd")
    assert bsd.syn_retransmit_times() == (1, 3, 7, 15, 31, 63)
    assert bsd.syn_give_up == 75


# -- the validation table ------------------------------------------------------------------


def test_the_field_table_declares_every_profile_key_once():
    """Every value but the signatures, whose tables tcpcheck.signatures checks key by key."""
    assert list(PROFILE_FIELDS) == [key for key in Profile.__dataclass_fields__
                                    if key != "signatures"]


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_profile_fits_the_table(name):
    for key, value in load_profile(name).values().items():
        assert PROFILE_FIELDS[key].check(key, value) == value


def test_the_largest_values_the_table_allows_still_give_finite_schedules(tmp_path):
    """The bounds are there so that no accepted profile overflows a float: 2**255 does not."""
    path = tmp_path / "max.toml"
    path.write_text("initial_rto = 0.001\nmax_rto = 3600\nsyn_retries = 127\n"
                    "syn_linear_timeouts = 127\nsynack_retries = 255\n")
    profile = load_profile(str(path))
    assert math.isfinite(profile.syn_give_up) and math.isfinite(profile.synack_give_up)
    assert len(profile.synack_retransmit_times()) == 255


@pytest.mark.parametrize(("text", "message"), [
    ('time_wait = "x"',
     "time_wait must be a number of seconds from 0 to 3600, not the string 'x'"),
    ("time_wait = inf", "time_wait must be a number of seconds from 0 to 3600, not inf"),
    ("synack_retries = 2000", "synack_retries must be a whole number from 0 to 255, not 2000"),
    ("syn_retries = 128", "syn_retries must be a whole number from 0 to 127, not 128"),
    ("keepalive_probes = true", "keepalive_probes must be a whole number from 0 to 255, "
                                "not true"),
    ('syn_budget = "sometimes"', "syn_budget must be one of count, time, not the string "
                                 "'sometimes'"),
    ("initial_rto = 0", "initial_rto must be a number of seconds from 0.001 to 3600, not 0"),
    ("max_rto = 0.5\ninitial_rto = 1.0", "max_rto (0.5 s) is below initial_rto (1 s)"),
    ("base = 5", "base must be a profile name or a .toml file, not 5"),
    ("base = ''", "base must be a profile name or a .toml file, not the string ''"),
])
def test_a_bad_value_in_a_profile_file_names_the_file_the_key_and_what_it_must_be(
        tmp_path, text, message):
    path = tmp_path / "p.toml"
    path.write_text(text + "\n")
    with pytest.raises(ProfileError) as error:
        load_profile(str(path))
    assert str(error.value) == f"{path}: {message}"


def test_a_profile_file_may_build_on_another_one_named_relative_to_itself(tmp_path,
                                                                            monkeypatch):
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "base.toml").write_text('base = "windows"\nsyn_retries = 4\n')
    (tmp_path / "profiles" / "ci.toml").write_text('base = "base.toml"\ntime_wait = 5\n')
    monkeypatch.chdir(tmp_path)  # not the profiles' folder: "base.toml" is not found from here
    profile = load_profile("profiles/ci.toml")
    assert (profile.name, profile.syn_retries, profile.time_wait, profile.initial_rto) == \
        ("ci", 4, 5.0, 3.0)


def test_a_profile_file_that_is_its_own_base_is_an_error_not_a_recursion(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('base = "./p.toml"\n')
    with pytest.raises(ProfileError, match="base names a file already read for this profile"):
        load_profile(str(path))


def test_a_chain_of_base_files_is_bounded(tmp_path):
    for index in range(MAX_BASES + 1):
        (tmp_path / f"p{index}.toml").write_text(f'base = "p{index + 1}.toml"\n')
    (tmp_path / f"p{MAX_BASES + 1}.toml").write_text('base = "linux"\n')
    with pytest.raises(ProfileError, match=f"more than {MAX_BASES} profile files"):
        load_profile(str(tmp_path / "p0.toml"))


def test_linux_throttles_out_of_window_acks_per_socket_and_accepts_a_fin_into_a_zero_window():
    linux = load_profile("linux")
    assert (linux.invalid_ratelimit, linux.challenge_ack_limit, linux.zero_window_fin) == (
        0.5, 0, "accept")
    rfc = load_profile("rfc9293")
    assert (rfc.invalid_ratelimit, rfc.challenge_ack_limit, rfc.zero_window_fin) == (
        0.0, 0, "drop")
    assert load_profile("linux-legacy").challenge_ack_limit == 100


def test_a_profile_file_with_a_bad_zero_window_fin_is_an_error(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('zero_window_fin = "sometimes"\n')
    with pytest.raises(ProfileError, match="zero_window_fin"):
        load_profile(str(path))


# -- stack signatures ----------------------------------------------------------------------

GOOD_SIGNATURE = ('name = "Mine"\nsegment = "syn"\nttl = 64\nlayout = "mss,nop,ws"\n'
                  'source = "measured"\n')


@pytest.mark.parametrize(("table", "message"), [
    ("colour = 1", "signature[0]: unknown key(s): colour"),
    ('name = "x"', "signature[0]: missing key(s): segment, ttl, layout, source"),
    ('segment = "fin"', "signature[0].segment must be one of syn, synack, both, not the "
                        "string 'fin'"),
    ("ttl = 300", "signature[0].ttl must be a whole number from 1 to 255, not 300"),
    ('layout = "mss,bogus"', "signature[0].layout must be option names joined by commas (eol, "
                             "nop, mss, ws, sok, sack, ts, ?N), at most 40, not the string "
                             "'mss,bogus'"),
    ('layout = "eol,mss"', "signature[0].layout must be option names joined by commas (eol, "
                           "nop, mss, ws, sok, sack, ts, ?N), at most 40, not the string "
                           "'eol,mss'"),
    ('window = ["mss*0"]', "signature[0].window must be \"any\" or a list of windows "
                           "(1-65535, \"mss*N\" or \"mss*any\"), not a list"),
    ("wscale = 7", "signature[0].wscale must be \"any\" or a list of window scale shifts "
                   "(0-255), not 7"),
    ('quirks = ["odd"]', "signature[0].quirks must be a list of ts-zero, ecn, not a list"),
    ('also = ["solaris"]', "signature[0].also must be a list of bundled profile names, "
                           "not a list"),
    ('df = "yes"', "signature[0].df must be true or false, not the string 'yes'"),
])
def test_a_bad_signature_table_names_the_file_the_key_and_what_it_must_be(tmp_path, table,
                                                                          message):
    lines = dict(line.split(" = ", 1) for line in GOOD_SIGNATURE.splitlines())
    key, value = table.split(" = ", 1)
    lines[key] = value
    path = tmp_path / "p.toml"
    if message.startswith("signature[0]: missing"):
        lines = {key: value}
    path.write_text("[[signature]]\n" + "".join(f"{k} = {v}\n" for k, v in lines.items()))
    with pytest.raises(ProfileError) as error:
        load_profile(str(path))
    assert str(error.value) == f"{path}: {message}"


def test_signature_must_be_a_list_of_tables(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('signature = "linux"\n')
    with pytest.raises(ProfileError, match=r"signature must be a list of tables"):
        load_profile(str(path))


def test_a_profile_file_keeps_its_base_signatures_unless_it_has_its_own(tmp_path):
    inherits = tmp_path / "inherits.toml"
    inherits.write_text('base = "windows"\ninitial_rto = 1.0\n')
    own = tmp_path / "own.toml"
    own.write_text('base = "windows"\n[[signature]]\n' + GOOD_SIGNATURE)
    assert load_profile(str(inherits)).signatures == load_profile("windows").signatures
    (mine,) = load_profile(str(own)).signatures
    assert (mine.name, mine.profile, mine.layout) == ("Mine", "own", ("mss", "nop", "ws"))


def test_the_profiles_command_shows_the_signatures(tmp_path):
    text = CliRunner().invoke(cli.main, ["profiles", "macos", "--color", "never"]).output
    assert "stack signatures" in text
    assert "macOS / iOS" in text and "mss,nop,ws,nop,nop,ts,sok,eol; window 65535" in text
    doc = json.loads(CliRunner().invoke(cli.main, ["profiles", "linux", "--format", "json"]).output)
    assert doc["signatures"][0]["profiles"] == ["linux", "linux-legacy"]
    assert doc["signatures"][0]["layout"] == "mss,sok,ts,nop,ws"


def test_a_bad_signature_ends_the_profiles_command_with_one_line_and_exit_2(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text("[[signature]]\nttl = -1\n")
    result = CliRunner().invoke(cli.main, ["profiles", str(path)])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "signature[0]" in result.output


def test_macos_retransmits_its_syn_on_xnus_backoff_table_within_the_75_s_connect_limit():
    """xnu tcp_timer.c tcp_syn_backoff = {1, 1, 1, 1, 1, 2, 4, 8, 16, 32, ...} x 1 s, ended by
    tcp_keepinit (75 s); FreeBSD 13+ (bsd) doubles from the first timeout."""
    macos = load_profile("macos")
    assert macos.syn_retransmit_times() == (1, 2, 3, 4, 5, 7, 11, 19, 35, 67)
    assert macos.syn_give_up == 75
    assert load_profile("bsd").syn_retransmit_times() == (1, 3, 7, 15, 31, 63)
