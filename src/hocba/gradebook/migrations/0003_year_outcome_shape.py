"""Stored year results take the one shape of `hocba.rules.outcome.to_json` (shape 1).

Before, `YearResult.data` held the command line's answer when the year was complete and only
`{"subjects": {code: …}}` while data was missing, subjects keyed by code (an order PostgreSQL's
jsonb does not keep). Now every row has every key, the circular, and the subjects as a list in
the class's order. Written against plain dicts so it does not depend on today's code; the
reverse step gives the old shapes back.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

SHAPE = 1
CIRCULARS = {"TH": "TT27", "GDTX": "TT43"}
BATCH = 500
LEARNING = ("hk1", "hk2", "year", "year_before_adjustment", "adjusted_for", "after_retake")


def _subject(code: str, old: dict[str, Any]) -> dict[str, Any]:
    exempt = old.get("year") == "M" or old.get("hk1") == "M"
    return {
        "code": code,
        "hk1": None if exempt else old.get("hk1"),
        "hk2": None if exempt else old.get("hk2"),
        "year": None if exempt else old.get("year"),
        "retake": None if exempt else old.get("retake"),
        "exempt": exempt,
        "level": old.get("level"),
        "test": old.get("test"),
    }


def to_shape_1(data: dict[str, Any], level: str, order: dict[str, int]) -> dict[str, Any]:
    if data.get("shape") == SHAPE:
        return data
    old_subjects = data.get("subjects") or {}
    codes = sorted(old_subjects, key=lambda code: order.get(code, len(order)))
    learning = data.get("learning") or {}
    conduct = data.get("conduct") or {}
    summer = data.get("summer") or {}
    return {
        "shape": SHAPE,
        "circular": CIRCULARS.get(level, "TT22"),
        "subjects": [_subject(code, old_subjects[code]) for code in codes],
        "outcome": data.get("outcome"),
        "learning": {key: learning.get(key) for key in LEARNING},
        "conduct": {key: conduct.get(key) for key in ("hk1", "hk2", "year", "after_summer")},
        "summer": {
            "training": bool(summer.get("training", False)),
            "retake_subjects": list(summer.get("retake_subjects") or []),
        },
        "result": data.get("result"),
        "completes_level": bool(data.get("completes_level", False)),
        "award": data.get("award"),
    }


def to_old_shape(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("shape") != SHAPE:
        return data
    primary = data["circular"] == "TT27"
    subjects: dict[str, Any] = {}
    for s in data["subjects"]:
        if primary:
            subjects[s["code"]] = {"level": s["level"], "test": s["test"]}
        elif s["exempt"]:
            subjects[s["code"]] = {"hk1": "M", "hk2": "M", "year": "M", "retake": None}
        else:
            subjects[s["code"]] = {k: s[k] for k in ("hk1", "hk2", "year", "retake")}
    if data["outcome"] is None:
        return {"subjects": subjects}
    ending = {k: data[k] for k in ("outcome", "completes_level", "award")}
    if primary:
        return {"result": data["result"], **ending, "subjects": subjects}
    kept = {k: data[k] for k in ("learning", "conduct", "summer")}
    return {"subjects": subjects, **kept, **ending}


def _convert(apps: Any, forward: bool) -> None:
    YearResult = apps.get_model("gradebook", "YearResult")
    ClassSubject = apps.get_model("gradebook", "ClassSubject")
    orders: dict[int, dict[str, int]] = {}
    for class_id, code in ClassSubject.objects.order_by(
        "class_group_id", "position", "subject_code"
    ).values_list("class_group_id", "subject_code"):
        order = orders.setdefault(class_id, {})
        order[code] = len(order)
    changed = []
    for result in YearResult.objects.select_related("class_group").order_by("pk").iterator():
        data = result.data or {}
        if forward:
            new = to_shape_1(data, result.class_group.level, orders.get(result.class_group_id, {}))
        else:
            new = to_old_shape(data)
        if new != data:
            result.data = new
            changed.append(result)
        if len(changed) >= BATCH:
            YearResult.objects.bulk_update(changed, ["data"])
            changed = []
    if changed:
        YearResult.objects.bulk_update(changed, ["data"])


def forward(apps: Any, schema_editor: Any) -> None:
    _convert(apps, forward=True)


def backward(apps: Any, schema_editor: Any) -> None:
    _convert(apps, forward=False)


class Migration(migrations.Migration):
    dependencies = [
        ("gradebook", "0002_promotion_decision"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
