"""An event's position (what baseline fingerprints are made of) names its POSITION fields."""

from __future__ import annotations

import dataclasses

from tcpcheck.model import events as ev

EVENTS = sorted((cls for cls in vars(ev).values()
                 if isinstance(cls, type) and issubclass(cls, ev.Event) and cls is not ev.Event),
                key=lambda cls: cls.__name__)


def test_every_event_position_is_name_equals_value_of_each_position_field_in_order():
    checked = 0
    for cls in EVENTS:
        if "position" in vars(cls):
            continue  # words its position itself
        values = {f.name: 7 * i + 1 for i, f in enumerate(dataclasses.fields(cls))}
        event = cls(**values)
        assert event.position() == " ".join(f"{name}={values[name]}" for name in cls.POSITION)
        checked += 1
    assert checked > 40  # every event the package exports


def test_a_duplicate_ack_is_placed_by_its_ack_and_count():
    assert ev.DuplicateAck(10, 0, "client", 5001, 2, 7).position() == "ack=5001 count=2"


def test_an_event_about_the_whole_connection_has_no_position():
    event = ev.CaptureEndedMidstream(10, 0, "client", "ESTABLISHED", "ESTABLISHED", 1.5)
    assert event.position() == ""
