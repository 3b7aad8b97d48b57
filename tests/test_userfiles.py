"""Reading user files safely and checking their keys against a table: the pieces the
configuration, profile and baseline loaders share (tests/test_hostile_user_files.py runs them
through the command line)."""

from __future__ import annotations

import math
import os
import tracemalloc
from pathlib import Path

import pytest

from tcpcheck.userfiles import (
    MAX_DEPTH,
    MAX_STRING,
    Field,
    Kind,
    UserFileError,
    check_fields,
    check_tree,
    describe,
    dotted,
    expand_user,
    parse_json,
    parse_toml,
    read_text,
)

SECONDS = Field(Kind.SECONDS, 0, 3600)
TIMER = Field(Kind.SECONDS, 0, 3600, infinite=True)
RETRIES = Field(Kind.COUNT, 0, 255)
PORT = Field(Kind.COUNT, 1, 65535, nullable=True)
BUDGET = Field(Kind.CHOICE, choices=("count", "time"))


def message(field: Field, value: object, key: str = "k") -> str:
    with pytest.raises(ValueError) as error:
        field.check(key, value)
    return str(error.value)


# -- the table's fields ----------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value", "kept"), [
    (SECONDS, 60, 60.0),
    (SECONDS, 0.5, 0.5),
    (SECONDS, 3600, 3600.0),
    (TIMER, math.inf, math.inf),
    (RETRIES, 0, 0),
    (RETRIES, 255, 255),
    (PORT, None, None),
    (PORT, 443, 443),
    (BUDGET, "time", "time"),
    (Field(Kind.TEXT), "", ""),
])
def test_a_value_in_range_is_kept_and_a_whole_number_of_seconds_becomes_a_float(
        field, value, kept):
    checked = field.check("k", value)
    assert checked == kept and type(checked) is type(kept)


@pytest.mark.parametrize(("field", "value", "expected"), [
    (SECONDS, "x", "k must be a number of seconds from 0 to 3600, not the string 'x'"),
    (SECONDS, True, "k must be a number of seconds from 0 to 3600, not true"),
    (SECONDS, math.inf, "k must be a number of seconds from 0 to 3600, not inf"),
    (SECONDS, math.nan, "k must be a number of seconds from 0 to 3600, not nan"),
    (SECONDS, 1e300, "k must be a number of seconds from 0 to 3600, not 1e+300"),
    (SECONDS, -1, "k must be a number of seconds from 0 to 3600, not -1"),
    (SECONDS, None, "k must be a number of seconds from 0 to 3600, not null"),
    (TIMER, -math.inf, "k must be a number of seconds from 0 to 3600, or inf for none, "
                       "not -inf"),
    (RETRIES, 2000, "k must be a whole number from 0 to 255, not 2000"),
    (RETRIES, 3.0, "k must be a whole number from 0 to 255, not 3.0"),
    (RETRIES, False, "k must be a whole number from 0 to 255, not false"),
    (RETRIES, 10**400, "k must be a whole number from 0 to 255, not an integer of 401 digits"),
    (PORT, "80", "k must be a whole number from 1 to 65535, or null, not the string '80'"),
    (PORT, 0, "k must be a whole number from 1 to 65535, or null, not 0"),
    (BUDGET, "sometimes", "k must be one of count, time, not the string 'sometimes'"),
    (BUDGET, 1, "k must be one of count, time, not 1"),
    (Field(Kind.TEXT), ["a"], "k must be a string, not a list"),
    (Field(Kind.TEXT), {}, "k must be a string, not a table"),
])
def test_a_value_of_the_wrong_type_or_out_of_range_names_key_expected_and_got(
        field, value, expected):
    assert message(field, value) == expected


def test_check_fields_names_the_full_key_path_and_raises_the_callers_error():
    class Mine(Exception):
        pass

    with pytest.raises(Mine, match=r"^f: findings\[3\]\.count must be a whole number"):
        check_fields({"count": True}, {"count": RETRIES}, lambda m: Mine(f"f: {m}"),
                     ("findings", 3))


@pytest.mark.parametrize(("parts", "expected"), [
    (("tool", "tcpcheck", "per-path", "caps/**", "profile"),
     'tool.tcpcheck.per-path."caps/**".profile'),
    (("findings", 3, "count"), "findings[3].count"),
    ((), ""),
])
def test_a_key_path_is_written_as_in_the_file(parts, expected):
    assert dotted(parts) == expected


def test_describe_never_spells_out_a_huge_number_or_a_long_string():
    assert describe(10**400) == "an integer of 401 digits"
    assert describe("x" * 100) == "a string"
    assert describe(None) == "null"


# -- the tree walk ---------------------------------------------------------------------------


def nested(levels: int) -> object:
    value: object = 1
    for _ in range(levels):
        value = [value]
    return value


def test_nesting_up_to_the_limit_is_accepted_and_one_more_level_is_not():
    check_tree("f", {"a": nested(MAX_DEPTH - 1)})
    with pytest.raises(UserFileError, match="nested too deeply at a"):
        check_tree("f", {"a": nested(MAX_DEPTH)})


def test_the_walk_does_not_recurse_where_the_parser_did_not():
    """A tree far deeper than Python's recursion limit is refused, not a RecursionError."""
    with pytest.raises(UserFileError, match="nested too deeply"):
        check_tree("f", nested(100_000))


def test_the_walk_takes_memory_for_its_depth_not_for_the_number_of_values():
    """A 16 MiB baseline can hold millions of values: the walk must not copy them all."""
    tree = {"a": [[0, "x"] for _ in range(200_000)]}
    tracemalloc.start()
    try:
        check_tree("f", tree)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024


def test_strings_are_bounded_and_free_of_nul_keys_included():
    check_tree("f", {"a": "x" * MAX_STRING})
    with pytest.raises(UserFileError, match="a string of 4,097 characters"):
        check_tree("f", {"a": "x" * (MAX_STRING + 1)})
    with pytest.raises(UserFileError, match=r"^f: a: a key holds a NUL character$"):
        check_tree("f", {"a": {"b\0": 1}})


def test_integers_are_64_bit():
    check_tree("f", {"a": [2**63 - 1, -(2**63)]})
    with pytest.raises(UserFileError, match=r"^f: a\[0\]: an integer of 19 digits is out"):
        check_tree("f", {"a": [2**63]})


def test_json_integers_beyond_python_own_limit_are_named_by_their_key():
    with pytest.raises(UserFileError, match=r"^f: a\[1\]: an integer of 5000 digits"):
        parse_json("f", '{"a": [1, ' + "9" * 5000 + "]}")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_that_python_would_read_but_is_not_json_is_refused(constant):
    with pytest.raises(UserFileError, match=f"{constant} is not a JSON number"):
        parse_json("f", f'{{"a": {constant}}}')


def test_toml_keeps_inf_for_the_tables_to_judge():
    assert parse_toml("f", "a = inf\n") == {"a": math.inf}


# -- reading ---------------------------------------------------------------------------------


def test_a_regular_file_is_read_whole(tmp_path: Path):
    path = tmp_path / "a.toml"
    path.write_text("a = 'é'\n", encoding="utf-8")
    assert read_text(path, limit=9, what="x") == "a = 'é'\n"


def test_a_file_one_byte_over_the_limit_is_refused_naming_the_limit(tmp_path: Path):
    path = tmp_path / "a.toml"
    path.write_bytes(b"#" * 1025)
    with pytest.raises(UserFileError, match=r"is larger than 1 KiB, the limit for a test file$"):
        read_text(path, limit=1024, what="test file")


def test_a_fifo_with_no_writer_is_refused_without_waiting(tmp_path: Path):
    path = tmp_path / "a.toml"
    os.mkfifo(path)
    with pytest.raises(UserFileError, match=r"is not a regular file \(a FIFO\)$"):
        read_text(path, limit=1024, what="x")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")
def test_a_device_is_refused_without_reading_it():
    with pytest.raises(UserFileError, match=r"^/dev/zero: is not a regular file \(a character"):
        read_text("/dev/zero", limit=1024, what="x")


def test_expanding_a_user_who_does_not_exist_names_the_user():
    with pytest.raises(UserFileError, match=r"^baseline: no user nosuchuser$"):
        expand_user("baseline", "~nosuchuser/b.json")
    assert expand_user("k", "plain/path") == "plain/path"


def test_a_path_with_a_control_character_is_refused_so_that_messages_stay_one_line():
    with pytest.raises(UserFileError, match=r"^k: a path must not hold control characters, "
                                            r"not 'a\\nb'$"):
        expand_user("k", "a\nb")
