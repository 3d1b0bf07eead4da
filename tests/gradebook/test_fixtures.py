"""The fixture files (`tests/gradebook/fixtures/`, written by `make.py` from the demo the tests
build): vnEdu and SMAS grade books as a teacher has them (rows in another order, scores with
a comma, a dot or as numbers, the personal-ID column hidden) are recognised and hold exactly
what the grade book holds; the CSDL ngành results are what the export writes today."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from hocba.gradebook import csdl, foreign
from hocba.gradebook.management.commands.gradebook import assigned_teacher
from tests.factories.database import current_class
from tests.gradebook.fixtures.make import FILES, RESULTS

pytestmark = pytest.mark.django_db

HERE = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("name, layout, school, class_name, subject, term", FILES,
                         ids=[f[0] for f in FILES])  # fmt: skip
def test_each_grade_book_fixture_is_recognised_and_changes_nothing(
    demo, name, layout, school, class_name, subject, term
):
    class_group = current_class(class_name, school)
    planned = foreign.plan(
        (HERE / name).read_bytes(), class_group.school, class_group.school_year, name=name
    )
    assert planned.errors == []
    assert planned.layout is not None and planned.layout.key == layout
    assert planned.class_subject is not None and planned.class_subject.subject_code == subject
    assert (planned.term, planned.rows) == (term, class_group.enrolments.count())
    assert planned.differences == []
    assert foreign.apply(assigned_teacher(planned.class_subject), planned) == (0, 0)


def values(content: bytes) -> list[list[object]]:
    return [[c.value for c in row] for row in load_workbook(io.BytesIO(content)).active.iter_rows()]


@pytest.mark.parametrize("name, school, class_name", RESULTS, ids=[r[0] for r in RESULTS])
def test_each_results_fixture_is_what_the_export_writes(demo, name, school, class_name):
    exported = csdl.results(current_class(class_name, school))
    assert values(exported) == values((HERE / name).read_bytes())
