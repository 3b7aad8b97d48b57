"""Serial-number arithmetic, especially at the 2**32 wrap."""

import pytest

from tcpcheck.model.seqnum import sdiff, seq_gt, seq_lt, unwrap

TOP = 2**32


@pytest.mark.parametrize(("a", "b", "diff"), [
    (10, 5, 5),
    (5, 10, -5),
    (3, TOP - 3, 6),  # 3 follows 2**32-3 across the wrap
    (TOP - 3, 3, -6),
    (0, TOP - 1, 1),
    (2**31 - 1, 0, 2**31 - 1),
    (2**31, 0, -(2**31)),  # exactly half way: RFC 1982 leaves it undefined; we say "before"
])
def test_signed_difference_is_wrap_aware(a, b, diff):
    assert sdiff(a, b) == diff


def test_comparisons_cross_the_wrap():
    assert seq_lt(TOP - 10, 5)
    assert seq_gt(5, TOP - 10)
    assert not seq_lt(5, TOP - 10)


def test_unwrap_keeps_counting_past_two_to_the_32():
    near = TOP - 100  # unwrapped position just below the wrap
    assert unwrap(50, near) == TOP + 50
    assert unwrap(TOP - 200, near) == TOP - 200


def test_unwrap_of_a_position_already_past_the_wrap():
    near = 3 * TOP + 10
    assert unwrap(5, near) == 3 * TOP + 5
    assert unwrap(TOP - 5, near) == 3 * TOP - 5
