"""The demo's grade book makes every outcome of the rules occur."""

from collections import Counter

import pytest

from hocba.gradebook.models import YearResult

pytestmark = pytest.mark.django_db


def test_every_outcome_occurs(demo):
    results = list(YearResult.objects.all())
    assert results and all(r.complete for r in results), [
        r.missing for r in results if not r.complete
    ]
    outcomes = Counter(r.outcome for r in results)
    awards = Counter(r.data.get("award") for r in results)
    assert {
        "PROMOTED",
        "PROMOTED_AFTER_SUMMER",
        "RETAINED",
        "COMPLETED",
        "PENDING_DECISION",
    } <= set(outcomes)
    assert {"HOC_SINH_XUAT_SAC", "HOC_SINH_GIOI", "HOC_SINH_TIEU_BIEU"} <= set(awards)
    secondary = [r.data for r in results if "learning" in r.data]
    assert any(d["learning"]["adjusted_for"] for d in secondary)
    assert any(d["learning"]["after_retake"] for d in secondary)
    assert any(d["summer"]["training"] and d["conduct"]["after_summer"] for d in secondary)
    primary = [r.data for r in results if "result" in r.data]
    assert any(d["result"] == "CHT" for d in primary)
