"""Rule selection: selectors, specificity within a layer, and layers overriding each other."""

from __future__ import annotations

import pytest

from tcpcheck.catalog import load_catalog
from tcpcheck.selection import (
    RuleSelection,
    SelectionError,
    enabled_rules,
    parse_selector,
    split_selectors,
    validate_selector,
)

CATALOG = load_catalog()
CODES = {rule.slug: rule.code for rule in CATALOG}
ALL = frozenset(CODES.values())


def codes(*prefixes: str) -> set[str]:
    """Every code starting with one of ``prefixes``."""
    return {code for code in ALL if code.startswith(prefixes)}


def enabled(*layers: RuleSelection) -> set[str]:
    """The enabled rules, as codes (easier to read in a table than slugs)."""
    return {CODES[slug] for slug in enabled_rules(layers, CATALOG)}


def layer(select=None, extend_select=(), ignore=()) -> RuleSelection:
    return RuleSelection(select=select, extend_select=extend_select, ignore=ignore)


# -- selectors -------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected", "specificity"), [
    ("ALL", ALL, 0),
    ("all", ALL, 0),
    ("HS001", {"HS001"}, 10),
    ("hs001", {"HS001"}, 10),
    ("syn-isn-changed", {"HS001"}, 10),
    ("Syn-ISN-Changed", {"HS001"}, 10),
    ("HS", codes("HS"), 2),
    ("handshake", codes("HS"), 2),
    ("flow-control", codes("WN"), 2),
    ("HS0", codes("HS0"), 3),
    ("SQ00", codes("SQ00"), 4),
    (" TM ", codes("TM"), 2),
])
def test_a_selector_is_all_a_code_a_slug_a_category_or_a_code_prefix(text, expected,
                                                                      specificity):
    selector = parse_selector(text, CATALOG)
    assert {CODES[slug] for slug in selector.rules} == set(expected)
    assert selector.specificity == specificity


@pytest.mark.parametrize(("text", "suggestion"), [
    ("HZ", "'HS'"),
    ("handshak", "'handshake'"),
    ("syn-isn-chnaged", "'syn-isn-changed'"),
    ("flow_control", "'flow-control'"),
    ("HS0001", "'HS001'"),
])
def test_unknown_selector_is_an_error_that_suggests_a_close_one(text, suggestion):
    with pytest.raises(SelectionError) as error:
        validate_selector(text, CATALOG)
    message = str(error.value)
    assert f"unknown rule selector {text!r}" in message
    assert f"did you mean {suggestion}?" in message
    assert "tcpcheck rules" in message


def test_unknown_selector_without_a_close_name_just_points_at_the_rule_list():
    with pytest.raises(SelectionError, match=r"^unknown rule selector 'zzzzzz' \(see `tcpcheck "
                                             r"rules`\)$"):
        validate_selector("zzzzzz", CATALOG)


@pytest.mark.parametrize("text", ["H", "HS9", "HS0099", "XX", "XX001"])
def test_a_prefix_must_start_with_a_whole_area_and_name_some_rule(text):
    with pytest.raises(SelectionError, match="unknown rule selector"):
        validate_selector(text, CATALOG)


def test_empty_selector_is_an_error():
    with pytest.raises(SelectionError, match="empty rule selector"):
        validate_selector("  ", CATALOG)


def test_enabled_rules_rejects_an_unknown_selector_in_any_list():
    for bad in (layer(select=("HZ",)), layer(extend_select=("HZ",)), layer(ignore=("HZ",))):
        with pytest.raises(SelectionError, match="'HZ'"):
            enabled_rules([bad], CATALOG)


# -- one layer -------------------------------------------------------------------------------


@pytest.mark.parametrize(("selection", "expected"), [
    (layer(), ALL),
    (layer(select=("HS",)), codes("HS")),
    (layer(select=("HS",), ignore=("HS001",)), codes("HS") - {"HS001"}),
    (layer(select=("HS001",), ignore=("HS",)), {"HS001"}),
    (layer(select=("HS0",), ignore=("HS",)), codes("HS")),
    (layer(select=("HS",), ignore=("HS0",)), set()),
    (layer(select=("handshake",), ignore=("syn-isn-changed",)), codes("HS") - {"HS001"}),
    (layer(select=("ALL",), ignore=("ALL",)), set()),
    (layer(select=("handshake",), ignore=("HS",)), set()),
    (layer(select=("HS",), ignore=("handshake",)), set()),
    (layer(ignore=("ALL",), extend_select=("SQ001",)), {"SQ001"}),
    (layer(ignore=("DG",)), ALL - codes("DG")),
    (layer(select=()), set()),
    (layer(select=(), extend_select=("CL",)), codes("CL")),
    (layer(select=("HS",), extend_select=("SQ001",)), codes("HS") | {"SQ001"}),
    (layer(select=("hs", "Flags")), codes("HS", "FL")),
])
def test_within_a_layer_the_most_specific_selector_decides_and_ignore_wins_ties(selection,
                                                                                expected):
    assert enabled(selection) == set(expected)


# -- layers ----------------------------------------------------------------------------------


def test_no_layers_enable_every_rule():
    assert enabled() == ALL


def test_extend_select_on_the_command_line_adds_to_the_configs_select():
    config = layer(select=("handshake",))
    cli = layer(extend_select=("SQ001",))
    assert enabled(config, cli) == codes("HS") | {"SQ001"}


def test_select_on_the_command_line_resets_the_configs_ignore():
    config = layer(ignore=("HS001",))
    cli = layer(select=("HS",))
    assert enabled(config, cli) == codes("HS")


def test_select_on_the_command_line_replaces_the_configs_select():
    config = layer(select=("HS",), extend_select=("SQ",))
    cli = layer(select=("CL",))
    assert enabled(config, cli) == codes("CL")


def test_ignore_on_the_command_line_narrows_the_configs_select():
    config = layer(select=("HS",))
    cli = layer(ignore=("HS001",))
    assert enabled(config, cli) == codes("HS") - {"HS001"}


def test_a_later_extend_select_brings_back_a_rule_an_earlier_layer_ignored():
    config = layer(ignore=("DG",))
    per_path = layer(extend_select=("DG001",))
    assert enabled(config, per_path) == ALL - codes("DG") | {"DG001"}


def test_a_layer_without_select_keeps_what_it_does_not_name():
    config = layer(select=("HS", "SQ"))
    per_path = layer(ignore=("SQ002",), extend_select=("TM",))
    assert enabled(config, per_path) == codes("HS", "SQ", "TM") - {"SQ002"}


def test_a_later_ignore_all_disables_everything_the_earlier_layers_enabled():
    assert enabled(layer(select=("HS",)), layer(ignore=("ALL",))) == set()


# -- values from the command line ------------------------------------------------------------


def test_rule_selection_takes_lists_and_keeps_tuples():
    selection = RuleSelection(select=["HS"], extend_select=["SQ001"], ignore=["HS001"])
    assert selection == RuleSelection(select=("HS",), extend_select=("SQ001",),
                                      ignore=("HS001",))


def test_rule_selection_refuses_a_bare_string():
    with pytest.raises(TypeError, match="not the string 'HS,SQ'"):
        RuleSelection(select="HS,SQ")


def test_command_line_values_split_at_commas():
    assert split_selectors(["HS, SQ001", "flags", ",", ""]) == ("HS", "SQ001", "flags")
