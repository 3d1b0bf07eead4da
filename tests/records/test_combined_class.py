"""A combined class (lớp ghép) at a satellite site: pupils of grades 1 and 2 taught together. Each
pupil's results, record and PDF follow the pupil's own grade and subjects."""

from __future__ import annotations

import subprocess

import pytest
from django.core.exceptions import ValidationError

from hocba.documents.services import read_pdf
from hocba.formats import parse
from hocba.gradebook.compute import students_of_subject
from hocba.gradebook.models import ClassSubject, YearResult
from hocba.organizations.models import ClassGroup, SchoolSite
from hocba.records.models import RecordVersion, State
from hocba.records.services import read_xml
from hocba.rules.catalogue import CATALOGUE, Level
from hocba.students.models import Enrolment
from tests.conftest import require_tool

pytestmark = pytest.mark.django_db

PRIMARY = "25000101"


def combined() -> ClassGroup:
    return ClassGroup.objects.get(school__code=PRIMARY, name="1+2 TĐ")


def test_the_demo_has_a_combined_class_of_grades_1_and_2_at_a_satellite_site(demo):
    class_group = combined()
    assert class_group.grades == (1, 2) and class_group.is_combined
    assert class_group.site is not None and class_group.site.name == "Điểm trường Thanh Đình"
    grades = sorted(e.grade for e in Enrolment.objects.filter(class_group=class_group))
    assert set(grades) == {1, 2}


def test_each_pupils_record_and_pdf_carry_the_pupils_own_grade(demo, tmp_path):
    class_group = combined()
    enrolments = Enrolment.objects.filter(class_group=class_group).select_related("student")
    assert enrolments.count() >= 4
    seen = set()
    for enrolment in enrolments:
        version = RecordVersion.objects.get(
            record__student=enrolment.student,
            record__class_group=class_group,
            state=State.ISSUED,
        )
        record = parse(read_xml(version))
        assert record.grade == enrolment.grade
        assert record.class_name == "1+2 TĐ"
        studied = {
            code
            for (level, code), subject in CATALOGUE.items()
            if level == Level.TH and enrolment.grade in subject.periods
        }
        assert {s.code for s in record.subjects} <= studied
        result = YearResult.objects.get(class_group=class_group, student=enrolment.student)
        assert result.complete
        if enrolment.grade in seen:
            continue
        seen.add(enrolment.grade)
        path = tmp_path / f"{enrolment.grade}.pdf"
        path.write_bytes(read_pdf(version.document))
        text = " ".join(
            subprocess.run(
                [require_tool("pdftotext"), "-raw", str(path), "-"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
        )
        assert f"1+2 TĐ (lớp {enrolment.grade})" in text
    assert seen == {1, 2}


def test_a_subject_one_grade_of_the_class_does_not_study_is_not_that_grades(demo):
    """Grade 3 studies Tiếng Anh, grade 2 does not: in a combined class of grades 2 and 3 the
    English grade book lists the grade-3 pupils only and refuses a grade-2 pupil's score."""
    from hocba.gradebook.models import Kind, Term
    from hocba.gradebook.services import CellChange, validate_assessments
    from tests.factories.database import student_in

    source = combined()
    class_group = ClassGroup(
        school=source.school, school_year=source.school_year, level=Level.TH, grade=2,
        combined_grades=[2, 3], name="2+3 TĐ", site=source.site,
    )  # fmt: skip
    class_group.full_clean()
    class_group.save()
    english = ClassSubject.from_catalogue(class_group, "NGOAI_NGU_1")
    english.save()
    younger, older = student_in(class_group, "Lò Văn Hai"), student_in(class_group, "Lò Thị Ba")
    Enrolment.objects.filter(class_group=class_group, student=younger).update(grade=2)
    Enrolment.objects.filter(class_group=class_group, student=older).update(grade=3)
    assert students_of_subject(english) == [older]
    errors, _ = validate_assessments(
        english, [CellChange(younger.pk, Term.HK2, Kind.LEVEL, 1, "T", "B7")]
    )
    assert errors == [f"B7: học sinh lớp 2 không học môn {english.name}"]


def test_a_combined_class_is_checked(demo):
    source = combined()
    bad = ClassGroup(
        school=source.school, school_year=source.school_year, level=Level.TH, grade=2,
        combined_grades=[2, 7], name="2+7",
    )  # fmt: skip
    with pytest.raises(ValidationError) as raised:
        bad.full_clean()
    assert "combined_grades" in raised.value.message_dict
    enrolment = Enrolment(class_group=source, student=Enrolment.objects.first().student)
    with pytest.raises(ValidationError) as raised:
        enrolment.clean()
    assert "grade" in raised.value.message_dict
    other = SchoolSite.objects.create(school_id=ClassGroup.objects.exclude(
        school=source.school).first().school_id, name="Điểm khác")  # fmt: skip
    source.site = other
    with pytest.raises(ValidationError) as raised:
        source.full_clean()
    assert "site" in raised.value.message_dict


def test_the_class_page_shows_the_site_and_each_pupils_grade(demo, login):
    page = login("ht.kimdong").get(f"/classes/{combined().pk}/").content.decode()
    assert "Lớp ghép các khối 1, 2" in page and "Điểm trường Thanh Đình" in page


def test_the_sector_database_export_of_a_combined_class_says_each_pupils_completion(demo):
    import io

    from openpyxl import load_workbook

    from hocba.gradebook import csdl

    sheet = load_workbook(io.BytesIO(csdl.results(combined()))).active
    headings = [c.value for c in sheet[4]]
    column = headings.index("Hoàn thành chương trình lớp học/tiểu học")
    completions = {row[column] for row in sheet.iter_rows(min_row=5, values_only=True)}
    assert completions == {"Hoàn thành chương trình lớp học"}
    assert sheet.max_row - 4 == Enrolment.objects.filter(class_group=combined()).count()
