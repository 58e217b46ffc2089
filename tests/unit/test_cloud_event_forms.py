"""The one CloudEvent builder (hub.contract.cloudevents): the dict, the %-template and the SQL form come from one
envelope definition and give the same bytes (the SQL form against PostgreSQL: tests/integration/test_sql_events.py)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone

from hypothesis import given, settings, strategies as st

from hub.adapters.jsonutil import dumps
import pytest

from hub.contract.cloudevents import (
    ENVELOPE,
    cloud_event,
    cloud_event_format,
    cloud_event_template,
    event_ids,
    json_string,
    slot,
    sql_cloud_event,
)

texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
json_values = st.recursive(st.none() | st.booleans() | st.integers() | texts,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
                           max_leaves=8)
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc))


@settings(max_examples=300, deadline=None)
@given(type_=texts, source=texts, subject=texts, data=st.dictionaries(texts, json_values, max_size=4), now=times)
def test_the_template_filled_in_is_the_dict_written_as_canonical_json(type_, source, subject, data, now):
    event = cloud_event(type=type_, subject=subject, data=data, now=now, source=source)
    template = cloud_event_template(type=type_, now=now, source=source)
    assert template % (dumps(data), event["id"], json_string(subject)) == dumps(event)


@settings(max_examples=100, deadline=None)
@given(type_=texts, source=texts, now=times)
def test_the_sql_form_s_literal_parts_are_the_template_s(type_, source, now):
    expr, params = sql_cloud_event(type=type_, now=now, data_sql="d", subject_sql="s", source=source)
    template = cloud_event_template(type=type_, now=now, source=source)
    assert "%s".join(params[f"event_{i}"].replace("%", "%%") for i in range(4)) == template
    assert expr.count("CAST(:event_") == 4


def test_an_event_without_subject_has_no_subject_key_and_every_envelope_field_otherwise():
    now = datetime(2026, 11, 1, 8, tzinfo=timezone.utc)
    event = cloud_event(type="gov.registry.deadletter", subject=None, data={"reason": "x"}, now=now)
    assert "subject" not in event
    assert set(event) == {k for k, _ in ENVELOPE} - {"subject"}
    assert (event["specversion"], event["datacontenttype"], event["source"], event["time"]) == (
        "1.0", "application/json", "/gov/registry", "2026-11-01T08:00:00Z")
    assert uuid.UUID(event["id"]).version == 4
    assert list(json.loads(dumps(cloud_event(type="t", subject="s", data={}, now=now)))) == [k for k, _ in ENVELOPE]


def test_bulk_event_ids_are_version_4_uuids_and_differ():
    ids = [i for i, _ in zip(event_ids(block=8), range(40))]
    assert len(set(ids)) == 40
    for i in ids:
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", i)
        assert str(uuid.UUID(i)) == i and uuid.UUID(i).version == 4


kinds = st.sampled_from([k.value for k in __import__("hub.domain.vocabulary", fromlist=["MismatchKind"]).MismatchKind])


@settings(max_examples=300, deadline=None)
@given(kind=kinds, subject=texts, unit=st.one_of(st.just(""), texts), source=st.one_of(st.none(), texts),
       details=st.dictionaries(texts, json_values, max_size=4), causes=st.lists(texts, max_size=4), now=times)
def test_a_mismatch_opened_event_made_as_text_is_the_dict_path_s_bytes(kind, subject, unit, source, details, causes,
                                                                       now):
    """The connectors' hot path writes `gov.registry.mismatch.opened` from a template (no decode and re-encode of the
    details): the same bytes as the event built as a dict and written as canonical JSON."""
    from hub.contract.types import MISMATCH_OPENED
    from hub.service_layer.mismatches import PlainMismatch, mismatch_data, opened_event_json

    row = PlainMismatch(id=str(uuid.uuid4()), kind=kind, subject=subject, unit_code=unit, source=source, status="OPEN",
                        details=dumps(details), caused_by=dumps(sorted(set(causes))), detected_at=now, updated_at=now,
                        resolved_at=None)
    event = cloud_event(type=MISMATCH_OPENED, subject=subject, data=mismatch_data(row), now=now)
    made = opened_event_json(row, cloud_event_template(type=MISMATCH_OPENED, now=now), dumps(now), event["id"])
    assert made == dumps(event)
    assert json.loads(made)["data"]["details"] == details


@settings(max_examples=300, deadline=None)
@given(type_=texts, source=texts, subject=texts, data=st.dictionaries(texts, json_values, min_size=1, max_size=6), now=times,
       picks=st.lists(st.integers(0, 5), max_size=6, unique=True), fills=st.lists(json_values, min_size=6, max_size=6))
def test_the_format_filled_in_is_the_dict_written_as_canonical_json(type_, source, subject, data, now, picks, fills):
    """Any of the data's values may be a slot, whatever the other keys and values hold (braces, %, quotes…)."""
    keys = sorted(data)
    slotted = [keys[i] for i in picks if i < len(keys)]
    with_slots = {**data, **{k: slot(n) for n, k in enumerate(slotted)}}
    fmt = cloud_event_format(type=type_, now=now, source=source, data_json=dumps(with_slots), slots=len(slotted))
    filled = {**data, **{k: fills[n] for n, k in enumerate(slotted)}}
    event = cloud_event(type=type_, subject=subject, data=filled, now=now, source=source)
    assert fmt.format(event["id"], json_string(subject), *(dumps(fills[n]) for n in range(len(slotted)))) == dumps(event)


@pytest.mark.parametrize("data, slots", [
    ({"a": slot(0)}, 2),  # a slot missing: the builder dropped or transformed a value (bool(), .isoformat()…)
    ({"a": slot(0), "b": slot(0)}, 1),  # twice
    ({"a": slot(1)}, 1),  # numbered with a gap
    ({"a": bool(slot(0))}, 1),
    ({"a": slot(0).upper()}, 1),
])
def test_a_slot_that_is_not_there_once_is_refused(data, slots):
    with pytest.raises(ValueError, match="slot"):
        cloud_event_format(type="t", now=datetime(2026, 1, 1, tzinfo=timezone.utc), data_json=dumps(data), slots=slots)
