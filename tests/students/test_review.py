import json
import os
import subprocess
import sys
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from hocba.identity import ProblemCode
from hocba.students.services import review_students

pytestmark = pytest.mark.django_db


def test_review_reports_exactly_the_planted_problems(demo):
    found = Counter((p.student_code, p.problem.code) for p in review_students())
    assert found == Counter(demo.planted)
    assert {code for _, code in demo.planted} == {
        ProblemCode.NAME_NOT_NORMALIZED,
        ProblemCode.PERSONAL_ID_MISSING,
        ProblemCode.PERSONAL_ID_SEX,
        ProblemCode.PERSONAL_ID_BIRTH_YEAR,
        ProblemCode.FIELD_MISSING,
        ProblemCode.PERSONAL_ID_PROVINCE,
        ProblemCode.PERSONAL_ID_FORMAT,
        ProblemCode.PERSONAL_ID_DUPLICATE,
    }


def test_duplicate_is_found_from_one_school_alone(demo):
    found = review_students(school=demo.schools["gdtx"])
    duplicates = [p for p in found if p.problem.code == ProblemCode.PERSONAL_ID_DUPLICATE]
    assert len(duplicates) == 1
    assert "25000301" in duplicates[0].problem.message  # names where the other holder studies


def test_command_prints_json_lines(demo, capsys):
    call_command("students", "review", "--json", "--school", "25000201")
    lines = capsys.readouterr().out.strip().splitlines()
    rows = [json.loads(line) for line in lines]
    assert {row["code"] for row in rows} == {
        "PERSONAL_ID_SEX", "PERSONAL_ID_BIRTH_YEAR", "FIELD_MISSING"
    }  # fmt: skip
    assert all(row["school"] == "25000201" for row in rows)


def test_unknown_school_exits_2(demo):
    with pytest.raises(CommandError) as error:
        call_command("students", "review", "--school", "NOPE")
    assert error.value.returncode == 2 and "NOPE" in str(error.value)


def test_cli_in_a_fresh_data_directory(tmp_path):
    """The acceptance path: `hocba demo` then `hocba students review --json`, as processes."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["HOCBA_DATA_DIR"] = str(tmp_path)
    hocba = [sys.executable, "-m", "hocba.cli"]
    built = subprocess.run(
        [*hocba, "demo", "--students-per-school", "30"], env=env, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr
    # 30 students in each of the four schools, and the 8 pupils of the combined class
    assert "students" in built.stdout and "128" in built.stdout
    review = subprocess.run(
        [*hocba, "students", "review", "--json"], env=env, capture_output=True, text=True
    )
    assert review.returncode == 0, review.stderr
    rows = [json.loads(line) for line in review.stdout.splitlines()]
    assert Counter(row["code"] for row in rows) == Counter(
        {
            "NAME_NOT_NORMALIZED": 1, "PERSONAL_ID_MISSING": 1, "PERSONAL_ID_SEX": 1,
            "PERSONAL_ID_BIRTH_YEAR": 1, "FIELD_MISSING": 1, "PERSONAL_ID_PROVINCE": 1,
            "PERSONAL_ID_FORMAT": 1, "PERSONAL_ID_DUPLICATE": 2,
        }
    )  # fmt: skip
    again = subprocess.run([*hocba, "demo"], env=env, capture_output=True, text=True)
    assert again.returncode == 2 and "--reset" in again.stderr
