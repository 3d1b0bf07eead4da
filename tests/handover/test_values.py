"""Every kind of value comes back from the export as it was stored, whatever it holds."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hocba.audit.models import AuditEvent
from hocba.gradebook.models import Assessment
from hocba.handover import tables
from hocba.records.models import Record

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def through_the_file(field: Any, value: Any) -> Any:
    line = tables.line_of({"value": tables.dump_value(field, value)})
    assert "\n" not in line  # one row per line, whatever the value
    return tables.load_value(field, json.loads(line)["value"])


@given(st.text())
def test_text_comes_back_as_it_was(text: str) -> None:
    field = AuditEvent._meta.get_field("summary")
    assert through_the_file(field, text) == text


@given(json_values)
def test_json_comes_back_as_it_was(value: Any) -> None:
    field = AuditEvent._meta.get_field("new")
    assert through_the_file(field, value) == value


@given(st.datetimes(timezones=st.just(dt.UTC)))
def test_times_come_back_as_the_same_instant(when: dt.datetime) -> None:
    field = AuditEvent._meta.get_field("at")
    assert through_the_file(field, when) == when


@given(st.decimals(min_value=0, max_value=10, places=1))
def test_scores_come_back_with_their_digits(score: Decimal) -> None:
    field = Assessment._meta.get_field("score")
    back = through_the_file(field, score)
    assert back == score and str(back) == str(score)


@given(st.uuids())
def test_record_ids_come_back(record_id: Any) -> None:
    field = Record._meta.get_field("record_id")
    assert through_the_file(field, record_id) == record_id
