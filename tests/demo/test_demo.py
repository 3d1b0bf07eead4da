"""The demo's grade book makes every outcome of the rules occur."""

from collections import Counter

import pytest

from hocba.gradebook.models import YearResult
from hocba.rules.labels import PrimaryResult

pytestmark = pytest.mark.django_db


def test_every_outcome_occurs(demo):
    results = list(YearResult.objects.all())
    assert results and all(r.complete for r in results), [
        r.missing for r in results if not r.complete
    ]
    outcomes = Counter(r.outcome for r in results)
    years = [r.year_outcome for r in results]
    awards = Counter(y.award for y in years)
    assert {
        "PROMOTED",
        "PROMOTED_AFTER_SUMMER",
        "RETAINED",
        "COMPLETED",
        "PENDING_DECISION",
    } <= set(outcomes)
    assert {"HOC_SINH_XUAT_SAC", "HOC_SINH_GIOI", "HOC_SINH_TIEU_BIEU"} <= set(awards)
    assert any(y.adjusted_for for y in years)
    assert any(y.learning_after_retake for y in years)
    assert any(y.summer_training and y.conduct_after_summer for y in years)
    assert any(y.primary_result is PrimaryResult.CHT for y in years)
